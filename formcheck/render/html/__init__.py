"""Self-contained HTML pages: one clip's report, a batch index and an athlete's history.

Every page is a single file that opens offline: inline CSS, inline SVG charts
(:mod:`~formcheck.render.html.charts`) and a few lines of inline JavaScript (sorting, seeking the
video). Nothing is fetched from a network.

The pages are Jinja2 templates (``templates/*.html.j2``, sharing ``base.html.j2``) rendered with
autoescaping on and :class:`jinja2.StrictUndefined`: every string from the user or the file system
(file names, paths, athlete names, error messages, cues) is escaped by the template engine, so a
clip called ``<script>alert(1)</script>.mp4`` is shown as text, and a misspelt template variable
is an error rather than an empty cell. The Python side only builds plain values (numbers already
formatted as text) and the SVG charts, whose texts are escaped where they are built.

Units: times in seconds, angles in degrees (signed extension angle e: 0 neutral, negative
flexion), angular velocities in degrees per second, scores 0-100.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from formcheck.render.html.charts import extension_chart, history_chart, velocity_chart
from formcheck.render.html.values import (
    Thresholds, date_text, esc, faults_text, fmt, num, parse_date, rel_url, score_class,
    script_json, sort_key, url,
)
from formcheck.render.report import atomic_write, scene_facts

log = logging.getLogger(__name__)

__all__ = [
    "write_html_report", "write_index_html", "write_history_html",
    "render_html_report", "render_index_html", "render_history_html",
    "esc", "script_json", "Thresholds", "SCORE_HELP", "ENV",
]

#: How the scores are computed (core/types.py ``Rep.score``, core/analysis.py ``SetResult.score``);
#: shown in the report's footer and as the tooltip of the set score.
SCORE_HELP = (
    "Scores: each counted rep starts at 100 and loses 35 per major and 15 per minor fault "
    "(never below 0). The set score is the mean of the counted reps' scores minus 5 per partial "
    "rep (never below 0); a set without a counted rep has no score."
)

ENV = Environment(
    loader=PackageLoader("formcheck.render.html", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "j2"),
                                 default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENV.filters["g"] = lambda v: f"{v:g}"
ENV.globals["zip"] = zip

VIDEO_TYPES = {".webm": "video/webm", ".mp4": "video/mp4", ".m4v": "video/mp4",
               ".ogv": "video/ogg", ".mov": "video/quicktime"}

REP_COLUMNS = (
    ("Rep", ""), ("Counted", ""), ("Depth", "n"), ("Peak ext.", "n"), ("Lowering", "n"),
    ("Lifting", "n"), ("Top hold", "n"), ("Peak lift vel.", "n"), ("Score", "n"),
    ("Faults and cues", ""),
)


def _render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


# --------------------------------------------------------------------------- clip report


def _rep_view(r: Mapping[str, Any], seekable: bool) -> dict[str, Any]:
    counted = bool(r.get("counted"))
    untimed = r.get("untimed") or ()  # phases cut short: a dash, not a time
    t0 = num(r.get("t_start"))
    return {
        "counted": counted,
        "seek_t": f"{t0:.3f}" if seekable and t0 is not None else None,
        "cells": [
            ("" if r.get("index") is None else str(r.get("index")), ""),
            ("yes" if counted else "partial", ""),
            (fmt(r.get("depth_deg"), 0, "°"), "n"),
            (fmt(r.get("peak_extension_deg"), 0, "°", signed=True), "n"),
            (fmt(None if "lowering" in untimed else r.get("lowering_s"), 2, " s"), "n"),
            (fmt(r.get("lifting_s"), 2, " s"), "n"),
            (fmt(None if "top_hold" in untimed else r.get("top_hold_s"), 2, " s"), "n"),
            (fmt(r.get("peak_lift_velocity_dps"), 0, "°/s"), "n"),
            (fmt(r.get("score"), 0), f"n {score_class(r.get('score'))}".strip()),
        ],
        "faults": [
            {"id": f.get("id"), "cue": f.get("cue"), "at": fmt(f.get("t"), 1, " s"),
             "severity": "major" if f.get("severity") == "major" else "minor"}
            for f in r.get("faults") or []
        ],
    }


def report_context(report: Mapping[str, Any], video_url: str | None = None,
                   video_type: str | None = None) -> dict[str, Any]:
    """The values ``report.html.j2`` shows for one clip's report dict."""
    clip = report.get("clip") or {}
    summary = report.get("summary") or {}
    reps = list(report.get("reps") or [])
    th = Thresholds.from_report(report)
    name = Path(str(clip.get("path") or "clip")).name
    score = summary.get("score")
    faults = summary.get("faults") or {}
    if not isinstance(faults, Mapping):
        faults = {}
    facts: list[tuple[str, str, str | None]] = [
        ("File", name, str(clip.get("path"))),
        ("Duration", fmt(clip.get("duration_s"), 1, " s"), None),
        ("Resolution", f"{clip.get('width', '?')}×{clip.get('height', '?')}", None),
        ("Frame rate", fmt(clip.get("fps"), 1, " fps"), None),
        ("Profile", str(report.get("profile") or "–"), None),
        ("Facing", str(report.get("facing") or "–"), None),
    ]
    facts += [(label, text, None) for label, text in scene_facts(report)]
    if summary.get("frames_analysed") is not None:
        facts.append(("Frames with a pose",
                      f"{summary.get('frames_with_pose')} of {summary.get('frames_analysed')}", None))
    has_frames = bool((report.get("frames") or {}).get("t_s"))
    embedded = {k: report.get(k) for k in ("schema", "formcheck_version", "clip", "profile",
                                            "facing", "summary", "warnings", "reps")}
    return {
        "name": name,
        "formcheck_version": report.get("formcheck_version", ""),
        "schema": report.get("schema", ""),
        "config_digest": report.get("config_digest", ""),
        "score_text": fmt(score, 0),
        "score_cls": score_class(score),
        "has_score": num(score) is not None,
        "score_help": SCORE_HELP,
        "rep_count": summary.get("rep_count", 0),
        "partial_reps": summary.get("partial_reps", 0),
        "good_reps": summary.get("good_reps", 0),
        "chips": [(k, v) for k, v in faults.items() if num(v)],
        "facts": facts,
        "warnings": list(report.get("warnings") or []),
        "th": th,
        "echart": extension_chart(report, th) if has_frames else None,
        "vchart": velocity_chart(report, th) if has_frames else None,
        "columns": REP_COLUMNS,
        "rows": [_rep_view(r, video_url is not None) for r in reps],
        "video_url": video_url,
        "video_type": video_type,
        "embedded": script_json(embedded),
        "scripts": ["seek.js"] if video_url else [],
    }


def render_html_report(report: Mapping[str, Any], video_url: str | None = None,
                       video_type: str | None = None) -> str:
    """The HTML text of one clip's report. ``video_url`` must be a URL relative to the page."""
    return _render("report.html.j2", **report_context(report, video_url, video_type))


def write_html_report(report: Mapping[str, Any], out_path: str | os.PathLike,
                      video: str | os.PathLike | None = None) -> Path:
    """Write one clip's self-contained HTML report to ``out_path``.

    ``video`` (optional) is the annotated video; the page embeds it with a ``<video>`` element
    whose ``src`` is the path relative to the HTML file, so keep the two files together.
    """
    out = Path(out_path)
    link = typ = None
    if video is not None:
        vp = Path(video)
        if not vp.exists():
            log.warning("annotated video %s does not exist (yet); the report links to it anyway", vp)
        link = rel_url(vp, out)
        typ = VIDEO_TYPES.get(vp.suffix.lower())
    return atomic_write(out, render_html_report(report, link, typ))


# --------------------------------------------------------------------------- batch index


def _count(v: Any) -> tuple[str, str]:
    """(text, sort key) of a count: an en dash when missing."""
    return ("–" if v is None else str(v)), sort_key(v)


def index_context(rows: Sequence[Mapping[str, Any]], title: str,
                  run: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The values ``index.html.j2`` shows for batch rows (see :func:`write_index_html`).

    The cards use the words of ``formcheck batch``'s closing line, "N clips: A ok, B failed,
    C not done (D analysed, E already scored, F unreadable)": ok/failed/not done count the rows by
    status, and analysed/already scored/unreadable (this run's work, from ``run``) appear only when
    given (unreadable only when some were: missing or unreadable files, never analysed)."""
    views = []
    n_ok = n_err = n_pending = total_reps = 0
    scores: list[float] = []
    for row in rows:
        path = str(row.get("path") or "")
        status = str(row.get("status") or "")
        n_ok += status == "ok"
        n_err += status in ("error", "failed")
        n_pending += status == "pending"
        total_reps += int(num(row.get("rep_count")) or 0)
        score = row.get("score")
        if num(score) is not None:
            scores.append(float(num(score)))
        link = row.get("report_html")
        ftext, fkey = faults_text(row.get("faults"))
        d = parse_date(row.get("date"))
        views.append({
            "path": path, "name": Path(path).name or path,
            "link": url(link) if link else None,
            "status": status,
            "status_cls": "status-" + "".join(c for c in status.lower() if c.isalnum()),
            "reps": _count(row.get("rep_count")), "partial": _count(row.get("partial_reps")),
            "faults": ftext, "faults_key": fkey,
            "score": fmt(score, 0), "score_cls": score_class(score), "score_key": sort_key(score),
            "error": str(row.get("error") or ""),
            "athlete": str(row.get("athlete") or ""),
            "date": date_text(row.get("date")), "date_key": d.isoformat() if d else "",
        })
    show_athlete = any(v["athlete"] for v in views)
    show_date = any(v["date_key"] for v in views)
    columns = [("Clip", ""), ("Status", ""), ("Reps", "n"), ("Partial", "n"), ("Faults", ""),
               ("Score", "n"), ("Error", "")]
    columns += [("Athlete", "")] * show_athlete + [("Date", "")] * show_date
    mean = f"{sum(scores) / len(scores):.0f}" if scores else "–"
    return {
        "title": title, "rows": views, "columns": columns,
        "show_athlete": show_athlete, "show_date": show_date,
        "cards": [("Clips", len(rows)), ("OK", n_ok), ("Failed", n_err)]
                 + [("Not done", n_pending)] * bool(n_pending)
                 + ([("Analysed", run.get("analysed", 0)), ("Already scored", run.get("skipped", 0))]
                    + ([("Unreadable", run["unreadable"])] if run.get("unreadable") else [])
                    if run is not None else [])
                 + [("Reps", total_reps), ("Mean score", mean)],
        "scripts": ["sort.js"],
    }


def render_index_html(rows: Sequence[Mapping[str, Any]], title: str = "formcheck batch",
                      run: Mapping[str, int] | None = None) -> str:
    """The HTML text of a batch index: one sortable row per clip."""
    return _render("index.html.j2", **index_context(rows, title, run))


def write_index_html(rows: Sequence[Mapping[str, Any]], out_path: str | os.PathLike,
                     title: str = "formcheck batch", run: Mapping[str, int] | None = None) -> Path:
    """Write the batch index page. Row keys: path, status (ok, error, pending), rep_count,
    partial_reps, faults (dict id → count or str), score, error, report_html (optional link
    relative to the page), athlete and date (optional; shown as columns when any row has one).
    ``run`` (optional): ``{"analysed": n, "skipped": n, "unreadable": n}``, this run's work, as the command
    prints it."""
    return atomic_write(out_path, render_index_html(rows, title, run))


# --------------------------------------------------------------------------- history




def history_context(rows: Sequence[Mapping[str, Any]], athlete: str | None) -> dict[str, Any]:
    """The values ``history.html.j2`` shows (oldest session first, undated last)."""
    order = sorted(range(len(rows)), key=lambda i: (parse_date(rows[i].get("date")) is None,
                                                    parse_date(rows[i].get("date")) or datetime.min, i))
    views = []
    for i in order:
        r = rows[i]
        d = parse_date(r.get("date"))
        path = str(r.get("path") or "")
        ftext, fkey = faults_text(r.get("faults"))
        reps, reps_key = _count(r.get("rep_count"))
        score = r.get("score")
        views.append({
            "date": date_text(r.get("date")), "date_key": d.isoformat() if d else "",
            "path": path, "name": Path(path).name or path,
            "reps": reps, "reps_key": reps_key,
            "score": fmt(score, 0), "score_cls": score_class(score), "score_key": sort_key(score),
            "faults": ftext, "faults_key": fkey,
        })
    return {
        "title": f"{athlete} — formcheck history" if athlete else "formcheck history",
        "rows": views, "chart": history_chart(rows),
        "columns": [("Date", ""), ("Clip", ""), ("Reps", "n"), ("Score", "n"), ("Faults", "")],
        "scripts": ["sort.js"],
    }


def render_history_html(rows: Sequence[Mapping[str, Any]], athlete: str | None = None) -> str:
    """The HTML text of an athlete's history: a score/reps plot and a sortable table."""
    return _render("history.html.j2", **history_context(rows, athlete))


def write_history_html(rows: Sequence[Mapping[str, Any]], out_path: str | os.PathLike,
                       athlete: str | None = None) -> Path:
    """Write an athlete's history page. Row keys: date (ISO string or None), path, rep_count,
    score, faults (dict id → count or str)."""
    return atomic_write(out_path, render_history_html(rows, athlete))
