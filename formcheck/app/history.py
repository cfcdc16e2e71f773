"""``formcheck history``: progress over time from a batch results database.

One row per session (athlete + date): clips, reps, partial reps, good reps, mean score and
fault counts. ``--html OUT`` writes a page with a score plot.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
from pathlib import Path
from typing import Any

from formcheck.app.store import DEFAULT_DB_NAME, ResultStore
from formcheck.render.html.values import date_text

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
        (date_text(r["date"], missing="-"), r["athlete"] or "-", str(r["clips"]), str(r["reps"]),
         str(r["partial_reps"]), str(r["good_reps"]),
         "-" if r["score"] is None else f"{r['score']:.1f}", _faults_text(r["faults"]) or "none")
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body)])


def write_history(rows: list[dict[str, Any]], path: str | os.PathLike, title: str,
                  athlete: str | None = None) -> Path:
    """The history page (:func:`formcheck.render.html.write_history_html`)."""
    from formcheck.render.html import write_history_html

    page_rows = [dict(r, rep_count=r["reps"],
                      path=f"{r['clips']} clip{'s' if r['clips'] != 1 else ''}"
                           + (f" ({r['athlete']})" if r["athlete"] and not athlete else ""))
                 for r in rows]
    return write_history_html(page_rows, path, athlete=athlete)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "history", help="progress over time from a batch results database",
        description="Per session (athlete and date): reps, partial reps, good reps, score and "
                    "faults, from the database `formcheck batch` writes.",
    )
    p.add_argument("--db", metavar="FILE", default=DEFAULT_DB_NAME,
                   help=f"results database (default: ./{DEFAULT_DB_NAME})")
    p.add_argument("--athlete", metavar="NAME",
                   help="only this athlete's sessions (athletes are set with `formcheck batch "
                        "--athlete NAME` or a manifest's athlete column; any case: ana finds Ana)")
    p.add_argument("--html", metavar="OUT", help="also write an HTML page with a score plot")
    p.set_defaults(func=run)


ATHLETE_SOURCES = "Athletes come from --athlete or a manifest's athlete column."


def no_history_message(db: str | os.PathLike, athlete: str | None, athletes: list[str]) -> str:
    """What ``formcheck history`` says when nothing matches: which athletes the database does
    have, and how a clip gets an athlete (``formcheck batch --athlete`` or a manifest)."""
    if athlete is None:
        return (f"No scored clips in {db}. Score some with "
                f"`formcheck batch CLIPS --db {db} --athlete NAME`.")
    known = f"athletes: {', '.join(athletes)}" if athletes else "no clip has an athlete"
    return (f"No clips for athlete {athlete!r} in {db} ({known}). {ATHLETE_SOURCES} "
            f"Score some with `formcheck batch CLIPS --db {db} --athlete {shlex.quote(athlete)}`.")


def run(args: argparse.Namespace) -> int:
    with ResultStore(args.db, readonly=True) as store:
        rows = history_rows(store, args.athlete)
        athletes = store.athletes() if not rows and args.athlete is not None else []
    if not rows:
        print(no_history_message(args.db, args.athlete, athletes))
        return 0
    print(format_table(rows))
    if args.html:
        title = "formcheck history" + (f" — {args.athlete}" if args.athlete else "")
        write_history(rows, args.html, title, args.athlete)
        print(f"\nwrote: {args.html}")
    return 0
