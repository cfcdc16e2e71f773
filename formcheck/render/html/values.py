"""Value formatting shared by the HTML pages and their SVG charts.

Numbers become text here (decimals, units, an en dash for missing values), dates are parsed, and
the chart thresholds are read from a report. Nothing in this module writes markup except
:func:`esc` (for the SVG builders) and :func:`script_json` (JSON safe inside ``<script>``).

Units: times in seconds, angles in degrees, angular velocities in degrees per second, scores
0-100.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from formcheck.config import Config
from formcheck.core.faults import hyperextension_limit


def esc(value: Any) -> str:
    """HTML-escape ``value`` (as text) for element content *and* quoted attributes."""
    return str(escape("" if value is None else str(value)))


def script_json(obj: Any) -> Markup:
    """``obj`` as JSON that is safe inside ``<script>``: ``<``, ``>``, ``&`` and the JS line
    separators are written as ``\\uXXXX`` escapes, so no ``</script>`` can close the element."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return Markup(text)


def url(path: str | os.PathLike) -> str:
    """A relative URL for a local path (percent-encoded, so ``:`` cannot start a scheme)."""
    return quote(Path(path).as_posix(), safe="/")


def rel_url(target: str | os.PathLike, page: Path) -> str:
    """URL of ``target`` relative to the directory that holds the HTML ``page``."""
    t = Path(target).resolve()
    try:
        return url(os.path.relpath(t, page.resolve().parent))
    except ValueError:  # different drive on Windows: an absolute file URL is all we can do
        return t.as_uri()


def num(v: Any) -> float | None:
    """``v`` as a finite float, or None (missing, null, NaN, not a number)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt(v: Any, nd: int = 1, unit: str = "", signed: bool = False) -> str:
    """Number with ``nd`` decimals and a unit, or an en dash when missing."""
    f = num(v)
    if f is None:
        return "–"
    if round(f, nd) == 0:
        f = 0.0  # no "-0"
    return f"{f:+.{nd}f}{unit}" if signed else f"{f:.{nd}f}{unit}"


def sort_key(v: Any) -> str:
    """The ``data-sort`` value of a table cell: a plain number when numeric, else the text."""
    f = num(v)
    return "" if v is None else (repr(f) if f is not None else str(v))


def score_class(score: Any) -> str:
    """CSS class of a 0-100 score: good (>= 80), mid (>= 50) or bad; empty when missing."""
    s = num(score)
    if s is None:
        return ""
    return "score-good" if s >= 80 else "score-mid" if s >= 50 else "score-bad"


def parse_date(s: Any) -> datetime | None:
    """An ISO date/datetime as a naive UTC datetime, or None."""
    if not s:
        return None
    try:
        d = datetime.fromisoformat(str(s).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(timezone.utc).replace(tzinfo=None)
    return d


def date_text(value: Any, missing: str = "–") -> str:
    """A session date as shown: a date-only value (``2025-01-06``) stays a date, a date-time is
    ``YYYY-MM-DD HH:MM`` (UTC); unparsable text is shown as given, ``missing`` when empty."""
    d = parse_date(value)
    if d is None:
        return str(value) if value else missing
    if len(str(value).strip()) == 10:  # YYYY-MM-DD: no time of day was recorded
        return d.strftime("%Y-%m-%d")
    return d.strftime("%Y-%m-%d %H:%M")


def faults_text(faults: Any) -> tuple[str, str]:
    """(text, sort key) for a faults value: a dict id → count or a preformatted string."""
    if isinstance(faults, Mapping):
        items = [(k, v) for k, v in faults.items() if num(v)]
        if not items:
            return "—", "0"
        total = sum(num(v) or 0 for _, v in items)
        return ", ".join(f"{k} ×{v}" for k, v in items), repr(float(total))
    if faults is None or faults == "":
        return "—", ""
    return str(faults), str(faults)


@dataclass(frozen=True)
class Thresholds:
    """The lines and bands drawn on the e(t) and velocity charts (degrees, degrees/second)."""

    top_deg: float
    bottom_deg: float
    max_extension_deg: float
    max_lift_velocity_dps: float

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Thresholds:
        """Read from ``report["config"]`` (``Config.to_dict()`` layout) when present, falling
        back to the :class:`formcheck.config.Config` defaults key by key."""
        d = Config()
        cfg = report.get("config") if isinstance(report.get("config"), Mapping) else {}
        reps = cfg.get("reps") if isinstance(cfg.get("reps"), Mapping) else {}
        faults = cfg.get("faults") if isinstance(cfg.get("faults"), Mapping) else {}

        def pick(section: Mapping[str, Any], key: str, default: float) -> float:
            v = num(section.get(key))
            return default if v is None else v

        return cls(
            top_deg=pick(reps, "top_deg", d.reps.top_deg),
            bottom_deg=pick(reps, "bottom_deg", d.reps.bottom_deg),
            max_extension_deg=hyperextension_limit(replace(
                d.faults, max_extension_deg=pick(faults, "max_extension_deg", d.faults.max_extension_deg),
                prone_max_extension_deg=pick(faults, "prone_max_extension_deg",
                                             d.faults.prone_max_extension_deg)),
                report.get("profile")),
            max_lift_velocity_dps=pick(faults, "max_lift_velocity_dps",
                                       d.faults.max_lift_velocity_dps),
        )
