"""Compatibility name for :mod:`formcheck.render.html` (the HTML pages now live in a package
with Jinja2 templates and a separate chart module)."""

from formcheck.render.html import (  # noqa: F401
    ENV, SCORE_HELP, Thresholds, esc, render_history_html, render_html_report,
    render_index_html, script_json, write_history_html, write_html_report, write_index_html,
)
from formcheck.render.html.charts import (  # noqa: F401
    extension_chart, history_chart, velocity_chart,
)

__all__ = [
    "write_html_report", "write_index_html", "write_history_html",
    "render_html_report", "render_index_html", "render_history_html",
    "esc", "script_json", "Thresholds",
]
