"""Benchmark: `formcheck live` on a sample clip played as a camera (real-time pacing, no window).

Prints capture->overlay latency (p50/p95/max), processed frames per second, frames dropped, and
the reps found, for one or more runs:

    python benchmarks/live_latency.py [CLIP] [--runs N] [--record OUT.webm]

With ``--cue-timing`` it also prints, for every labelled hyperextension and jerky lift of the
labelled clips given (default: the sample clips), how long after the trunk reached the top
(the label's ``t_top``) the live cue for it came, in the clip's own time, plus the
capture->overlay p95 of that run (the wall-clock delay on top of it):

    python benchmarks/live_latency.py --cue-timing [CLIP ...]

The clip plays at its real rate; a frame that arrives while the previous one is still being
processed replaces it (latest frame wins), so a slow machine shows up as dropped frames, not as
growing latency. Results depend on the CPU and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_lines(clip: Path, extra: list[str]) -> list[dict]:
    """Every JSON line `formcheck live --no-window` prints for ``clip``."""
    from formcheck.app import live
    from formcheck.app.cli import build_parser

    args = build_parser().parse_args(["live", "--camera", str(clip), "--no-window", *extra])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        live.run(args)
    return [json.loads(x) for x in buf.getvalue().splitlines() if x.startswith("{")]


EARLY_FAULTS = ("hyperextension", "jerky_lift")


def cue_timing(clips: list[Path]) -> int:
    """Delay (clip time) from reaching the top to the live cue, per labelled early fault."""
    worst = 0.0
    for clip in clips:
        label = json.loads(clip.with_suffix(".json").read_text())
        lines = run_lines(clip, [])
        p95 = lines[-1]["latency_ms"]["p95"]
        # the cue itself (what the window shows and --speak says), not the analysis event
        faults = [x for x in lines if x.get("event") == "cue" and x.get("id") in EARLY_FAULTS]
        for rep in label.get("reps", []):
            for fid in set(rep.get("faults", [])) & set(EARLY_FAULTS):
                after = [f["t"] for f in faults if f["id"] == fid and f["t"] >= rep["t_bottom"]]
                if not after:
                    print(f"{clip.name} rep {rep['index']} {fid}: NO CUE")
                    worst = float("inf")
                    continue
                delay = min(after) - rep["t_top"]
                worst = max(worst, delay)
                print(f"{clip.name} rep {rep['index']} {fid}: cue {delay:+.2f} s after the top "
                      f"(+ capture->overlay p95 {p95} ms)")
    print(f"worst: {worst:+.2f} s")
    return 0


def run_once(clip: Path, record: str | None) -> dict:
    from formcheck.app import live
    from formcheck.app.cli import build_parser

    argv = ["live", "--camera", str(clip), "--no-window"]
    if record:
        argv += ["--record", record]
    args = build_parser().parse_args(argv)
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        rc = live.run(args)
    wall = time.perf_counter() - t0
    lines = [json.loads(x) for x in buf.getvalue().splitlines() if x.startswith("{")]
    summary = lines[-1]
    summary["rc"] = rc
    summary["wall_s"] = round(wall, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="*", default=[str(ROOT / "sample_videos" / "dev01_seated_r.mp4")])
    ap.add_argument("--cue-timing", action="store_true",
                    help="time the live cues of labelled hyperextensions and jerky lifts")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--record", default=None, help="also record the annotated video (measures its cost)")
    a = ap.parse_args(argv)
    if a.cue_timing:
        given = [Path(c) for c in a.clip if Path(c).with_suffix(".json").is_file()]
        return cue_timing(given if a.clip != ap.get_default("clip") else
                          sorted((ROOT / "sample_videos").glob("*.mp4")))
    clip = Path(a.clip[0])
    print(f"clip {clip.name}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"load avg {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    for i in range(a.runs):
        s = run_once(clip, a.record)
        lat = s["latency_ms"]
        print(f"run {i + 1}: latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms; "
              f"processed {s['frames_processed']} frames at {s['processed_fps']} fps; "
              f"dropped {s['frames_dropped']}; reps {s['rep_count']}; wall {s['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
