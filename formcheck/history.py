"""``formcheck history``: progress over time from a batch results database.

One row per session (athlete + date): clips, reps, partial reps, good reps, mean score and
fault counts. ``--html OUT`` writes a page with a score plot.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from formcheck.store import DEFAULT_DB_NAME, ResultStore

log = logging.getLogger(__name__)


def history_rows(store: ResultStore, athlete: str | None = None) -> list[dict[str, Any]]:
    """Sessions in date order: ``{date, athlete, clips, reps, partial_reps, good_reps, score,
    faults: {id: count}}``. ``score`` is the rep-weighted mean of the clip scores (0-100) or
    None. A clip scored under several configurations counts once (its latest result)."""
    latest: dict[str, Any] = {}
    for row in store.clips(status="ok", athlete=athlete):
        prev = latest.get(row["content_hash"])
        if prev is None or row["updated_at"] >= prev["updated_at"]:
            latest[row["content_hash"]] = row
    sessions: dict[tuple[str, str], dict[str, Any]] = {}
    for row in latest.values():
        key = (row["date"] or "", row["athlete"] or "")
        s = sessions.setdefault(key, {
            "date": key[0], "athlete": key[1], "clips": 0, "reps": 0, "partial_reps": 0,
            "good_reps": 0, "faults": {}, "_score_sum": 0.0, "_score_n": 0,
        })
        summ = json.loads(row["report_json"])["summary"]
        s["clips"] += 1
        s["reps"] += summ["rep_count"]
        s["partial_reps"] += summ["partial_reps"]
        s["good_reps"] += summ["good_reps"]
        for fid, n in summ["faults"].items():
            if n:
                s["faults"][fid] = s["faults"].get(fid, 0) + n
        if summ["score"] is not None and summ["rep_count"]:
            s["_score_sum"] += summ["score"] * summ["rep_count"]
            s["_score_n"] += summ["rep_count"]
    out = []
    for key in sorted(sessions):
        s = sessions[key]
        n = s.pop("_score_n")
        total = s.pop("_score_sum")
        s["score"] = round(total / n, 1) if n else None
        out.append(s)
    return out


def _faults_text(faults: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(faults.items(), key=lambda kv: (-kv[1], kv[0])))


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`history_rows`."""
    head = ("date", "athlete", "clips", "reps", "partial", "good", "score", "faults")
    body = [
        (r["date"] or "-", r["athlete"] or "-", str(r["clips"]), str(r["reps"]),
         str(r["partial_reps"]), str(r["good_reps"]),
         "-" if r["score"] is None else f"{r['score']:.1f}", _faults_text(r["faults"]) or "none")
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body)])


def _svg_plot(rows: list[dict[str, Any]], width: int = 640, height: int = 240) -> str:
    """An inline SVG line plot of the session score (0-100) over sessions."""
    pts = [(i, r["score"]) for i, r in enumerate(rows) if r["score"] is not None]
    ml, mr, mt, mb = 40, 10, 10, 40
    w, h = width - ml - mr, height - mt - mb
    n = max(len(rows) - 1, 1)
    x = lambda i: ml + (w * i / n if len(rows) > 1 else w / 2)  # noqa: E731
    y = lambda v: mt + h * (1 - max(0.0, min(100.0, v)) / 100.0)  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="Score per session">']
    for v in (0, 50, 100):
        parts.append(f'<line x1="{ml}" x2="{ml + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{ml - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{v}</text>')
    if pts:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts)
        parts.append(f'<polyline fill="none" stroke="#2a6" stroke-width="2" points="{path}"/>')
        for i, v in pts:
            label = html.escape(f"{rows[i]['date']} {rows[i]['athlete']}: {v}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#2a6">'
                         f"<title>{label}</title></circle>")
    step = max(1, math.ceil(len(rows) / 8))
    for i in range(0, len(rows), step):
        parts.append(f'<text x="{x(i):.1f}" y="{mt + h + 18}" text-anchor="middle" font-size="11">'
                     f"{html.escape(rows[i]['date'] or '-')}</text>")
    parts.append("</svg>")
    return "".join(parts)


def history_html(rows: list[dict[str, Any]], title: str = "formcheck history") -> str:
    """A minimal self-contained page: score plot + session table (all text HTML-escaped)."""
    e = html.escape
    trs = "\n".join(
        "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in (
            r["date"] or "-", r["athlete"] or "-", r["clips"], r["reps"], r["partial_reps"],
            r["good_reps"], "-" if r["score"] is None else f"{r['score']:.1f}",
            _faults_text(r["faults"]) or "none")) + "</tr>"
        for r in rows
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}}</style>
</head><body>
<h1>{e(title)}</h1>
<h2>Score per session (0-100)</h2>
{_svg_plot(rows)}
<h2>Sessions</h2>
<table><thead><tr><th>date</th><th>athlete</th><th>clips</th><th>reps</th><th>partial</th>
<th>good</th><th>score</th><th>faults</th></tr></thead>
<tbody>
{trs}
</tbody></table>
</body></html>
"""


def write_history(rows: list[dict[str, Any]], path: str | os.PathLike, title: str,
                  athlete: str | None = None) -> Path:
    """``formcheck.html_report.write_history_html`` when available, else :func:`history_html`."""
    try:
        from formcheck import html_report
    except ModuleNotFoundError:
        html_report = None
    fn = getattr(html_report, "write_history_html", None)
    if fn is not None:
        page_rows = [dict(r, rep_count=r["reps"],
                          path=f"{r['clips']} clip{'s' if r['clips'] != 1 else ''}"
                               + (f" ({r['athlete']})" if r["athlete"] and not athlete else ""))
                     for r in rows]
        fn(page_rows, path, athlete=athlete)
        return Path(path)
    from formcheck.report import atomic_write

    return atomic_write(path, history_html(rows, title))


def add_parser(sub) -> None:
    p = sub.add_parser(
        "history", help="progress over time from a batch results database",
        description="Per session (athlete and date): reps, partial reps, good reps, score and "
                    "faults, from the database `formcheck batch` writes.",
    )
    p.add_argument("--db", metavar="FILE", default=DEFAULT_DB_NAME,
                   help=f"results database (default: ./{DEFAULT_DB_NAME})")
    p.add_argument("--athlete", metavar="NAME", help="only this athlete's sessions")
    p.add_argument("--html", metavar="OUT", help="also write an HTML page with a score plot")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with ResultStore(args.db, readonly=True) as store:
        rows = history_rows(store, args.athlete)
    if not rows:
        who = f" for athlete {args.athlete!r}" if args.athlete else ""
        print(f"No scored clips{who} in {args.db}. Score some with `formcheck batch CLIPS --db {args.db}`.")
        return 0
    print(format_table(rows))
    if args.html:
        title = "formcheck history" + (f" — {args.athlete}" if args.athlete else "")
        write_history(rows, args.html, title, args.athlete)
        print(f"\nwrote: {args.html}")
    return 0
