"""The versioned JSON report (``formcheck.report/2``) and the per-rep CSV.

The report's structure is :class:`formcheck.core.schema.Report` (published as
``docs/report.schema.json``); the keys listed there are stable, other keys may be added.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


from formcheck.core.analysis import SetResult
from formcheck.errors import OutputError, os_error_reason
from formcheck.core.schema import SCHEMA, Report  # noqa: F401  (SCHEMA re-exported)
from formcheck.core.types import ClipInfo


def build_report(
    result: SetResult, clip: ClipInfo, config_digest: str = "", include_frames: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dictionary for one analysed clip (:class:`~formcheck.core.schema.Report`)."""
    return Report.build(result, clip, config_digest, include_frames, extra).to_dict()


CSV_COLUMNS = (
    "index", "counted", "t_start", "t_bottom", "t_top", "t_end", "depth_deg",
    "peak_extension_deg", "range_of_motion_deg", "lowering_s", "lifting_s", "top_hold_s",
    "peak_lift_velocity_dps", "peak_lower_velocity_dps", "hip_shift_frac",
    "neck_extension_deg", "score", "faults", "cues",
)


def reps_csv(report: dict[str, Any]) -> str:
    """One row per rep (partial reps included, ``counted`` = 0; booleans are 1/0)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in report["reps"]:
        # booleans as 1/0, like `formcheck export` (a spreadsheet sums them; no Python literals)
        untimed = {f"{k}_s" for k in r.get("untimed") or ()}  # not timed: an empty cell
        row = ["" if c in untimed else r.get(c, "") for c in CSV_COLUMNS[:-2]]
        row = [int(v) if isinstance(v, bool) else v for v in row]
        row.append(";".join(f["id"] for f in r["faults"]))
        row.append(" | ".join(f["cue"] for f in r["faults"]))
        w.writerow(row)
    return buf.getvalue()


def atomic_write(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (no half-written files).

    Raises :class:`OutputError` with the reason (permission, full disk, a folder in the way).
    """
    p = Path(path)
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_dir():
            raise IsADirectoryError(21, "is a folder", str(p))
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
        um = os.umask(0)  # mkstemp makes 0600 files; give outputs the usual permissions
        os.umask(um)
        os.chmod(p, 0o666 & ~um)
    except OSError as e:
        raise OutputError(f"Cannot write {p}: {os_error_reason(e)}. Choose another output path.") from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return p


def write_json(report: dict[str, Any], path: str | os.PathLike) -> Path:
    return atomic_write(path, json.dumps(report, indent=1, allow_nan=False) + "\n")


def write_csv(report: dict[str, Any], path: str | os.PathLike) -> Path:
    return atomic_write(path, reps_csv(report))


NEUTRAL_SOURCES = {"config": "set by --neutral or the config", "start": "the first still second",
                   "live": "the c key"}


def scene_facts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """What the analysis found about the footage, as (label, text) pairs for people to read:
    the set's start and end, the camera roll, the shots of an edited clip and the athlete's
    neutral. Shared by the text summary and the HTML report."""
    scene = report.get("scene") or {}
    facts: list[tuple[str, str]] = []
    start, end = scene.get("set_started_s"), scene.get("set_ended_s")
    if start is not None:
        facts.append(("Set", f"{start:.1f} s to " + (f"{end:.1f} s (got off the machine)"
                                                      if end is not None else "the end of the clip")))
    roll, conf = scene.get("camera_roll_deg") or 0.0, scene.get("camera_roll_confidence")
    if conf is not None:
        facts.append(("Camera roll", f"{roll:+.1f}° (confidence {conf:.2f})"
                      + (", corrected" if abs(roll) >= 0.05 else ", level")))
    elif "camera_roll_confidence" in scene:  # (older reports have no roll at all)
        facts.append(("Camera roll", "not measured from the scene; "
                      + (f"{roll:+.1f}° as configured" if roll else "taken as level")))
    spans, views = scene.get("spans_s") or [], scene.get("span_views") or []
    if len(spans) > 1:  # an edited clip: each shot was decided and counted on its own
        facts.append(("Shots", "; ".join(
            f"{a:.1f}–{b:.1f} s {v.get('profile') or 'no view'}"
            + (f", facing {v['facing']}" if v.get("facing") else "")
            for (a, b), v in zip(spans, views))))
    src = scene.get("neutral_source")
    if src in NEUTRAL_SOURCES and scene.get("neutral_offset_deg") is not None:
        facts.append(("Athlete's neutral",
                      f"{scene['neutral_offset_deg']:+.1f}° ({NEUTRAL_SOURCES[src]}), subtracted from every angle"))
    return facts


def _num(v: Any, spec: str) -> str:
    return format(v, spec) if isinstance(v, (int, float)) else "?"


def format_summary(report: dict[str, Any]) -> str:
    """A readable text summary: reps with depth, tempo, faults and cues; the set score."""
    s = report["summary"]
    clip = report["clip"]
    ts = [t for t in (report.get("frames") or {}).get("t_s") or [] if t is not None]
    read_s = ts[-1] + 1.0 / clip["fps"] if ts and clip.get("fps") else None
    read = (f" ({read_s:.1f} s read)" if read_s is not None and clip.get("duration_s")
            and read_s < 0.9 * clip["duration_s"] else "")
    lines = [
        f"{Path(clip['path']).name}: {_num(clip.get('duration_s'), '.1f')} s{read}, {clip['width']}x{clip['height']}, "
        f"profile {report['profile']}" + (f", facing {report['facing']}" if report.get("facing") else ""),
        f"Reps: {s['rep_count']}" + (f" (+{s['partial_reps']} partial)" if s["partial_reps"] else "")
        + f", good reps {s['good_reps']}/{s['rep_count']}"
        + (f", set score {s['score']:.0f}/100" if s["score"] is not None else ""),
    ]
    lines += [f"  {label.lower()}: {text}" for label, text in scene_facts(report)]
    for w in report.get("warnings", []):
        lines.append(f"  ! {w}")
    if report["reps"]:
        lines.append("")
        lines.append("  rep  depth  peak   lower  lift   hold   lift speed  faults")
    for r in report["reps"]:
        tag = f"{r['index']:>3}" + (" " if r["counted"] else "p")
        untimed = r.get("untimed") or ()
        lower, hold = (f"{'–':>5} " if k in untimed else f"{r[k + '_s']:>5.2f}s"
                       for k in ("lowering", "top_hold"))
        lines.append(
            f"  {tag} {r['depth_deg']:>5.0f}° {r['peak_extension_deg']:>+4.0f}° "
            f"{lower} {r['lifting_s']:>5.2f}s {hold} "
            f"{r['peak_lift_velocity_dps']:>6.0f}°/s   "
            + (", ".join(f["id"] for f in r["faults"]) or "-")
        )
        for f in r["faults"]:
            lines.append(f"         → {f['cue']}  ({f['id']}: {f['value']:.2f} vs {f['threshold']:g} {f['unit']} at {f['t']:.1f} s)")
    if any(not r["counted"] for r in report["reps"]):
        lines.append("  (p = partial rep: a dip that did not reach the bottom zone; not counted)")
    if any(r.get("untimed") for r in report["reps"]):
        lines.append("  (– = not timed: the set ended, or the person was lost, before that phase was over)")
    return "\n".join(lines)
