"""Benchmark: `formcheck live` on a sample clip played as a camera (real-time pacing, no window).

Prints capture->overlay latency (p50/p95/max), processed frames per second, frames dropped, and
the reps found, for one or more runs:

    python benchmarks/live_latency.py [CLIP] [--runs N] [--record OUT.webm]

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
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_videos" / "dev01_seated_r.mp4"))
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--record", default=None, help="also record the annotated video (measures its cost)")
    a = ap.parse_args(argv)
    clip = Path(a.clip)
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
