"""Benchmark: peak memory of ``analyze`` on a 640x480 clip and the same frames at 4K (memory against
resolution; ``benchmarks/memory.py`` measures it against clip length).

    python benchmarks/memory_resolution.py                 # ~30 s
    python benchmarks/memory_resolution.py --seconds 4 --start 1.0

Two seconds of the bundled sample clip are written at 640x480 and upscaled to 3840x2880 (4K,
4:3) into a temporary folder; nothing is committed. Each configuration analyses each clip in a
fresh Python process (:func:`formcheck.app.pipeline.analyze_clip`, the orientation probe
included) and reports that process's own peak resident memory (``VmHWM``), side by side:

- the defaults (``pose.workers`` 2: a pool of two models, one of which also probes the
  orientation);
- ``pose.workers = 1``;
- 4K with ``pose.max_side_px = 0`` (no downscale before the model), which
  ``tests/test_hardening.py::test_4k_clip_memory_stays_bounded`` must catch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "formcheck" / "data" / "dev01_seated_r.mp4"

CHILD = """
import re, sys
from formcheck.config import load_config
from formcheck.app.pipeline import analyze_clip
cfg = load_config()
cfg.pose.workers = int(sys.argv[2])
cfg.pose.max_side_px = int(sys.argv[3])
a = analyze_clip(sys.argv[1], cfg)
kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))
print(a.report['summary']['frames_analysed'], kb // 1024)
"""


def write_clips(folder: Path, start_s: float, seconds: float) -> dict[str, Path]:
    """The sample's frames in [start_s, start_s + seconds] at 640x480 and at 3840x2880."""
    cap = cv2.VideoCapture(str(CLIP))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out = {"640x480": folder / "vga.mp4", "3840x2880": folder / "uhd.mp4"}
    writers = {name: cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                     tuple(int(v) for v in name.split("x")))
               for name, p in out.items()}
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
        if start_s <= t <= start_s + seconds:
            for name, w in writers.items():
                size = tuple(int(v) for v in name.split("x"))
                w.write(frame if frame.shape[1::-1] == size else cv2.resize(frame, size))
    cap.release()
    for w in writers.values():
        w.release()
    return out


def peak(path: Path, workers: int, max_side_px: int) -> tuple[int, int]:
    """(frames analysed, peak MB) of one analysis in a fresh process."""
    r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(workers), str(max_side_px)],
                       capture_output=True, text=True, timeout=900)
    if r.returncode:
        raise SystemExit(f"analysis of {path.name} failed:\n{r.stderr[-2000:]}")
    n, mb = map(int, r.stdout.split())
    return n, mb


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", type=float, default=2.5, help="start of the excerpt in the sample (s)")
    p.add_argument("--seconds", type=float, default=2.0, help="length of the excerpt (s)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        clips = write_clips(Path(d), args.start, args.seconds)
        rows = [("defaults (pose.workers 2)", 2, 1280, list(clips)),
                ("pose.workers 1", 1, 1280, list(clips)),
                ("no downscale (pose.max_side_px 0)", 2, 0, ["3840x2880"])]
        print(f"source {CLIP.name}, {args.seconds:g} s from {args.start:g} s; peak resident "
              "memory (VmHWM) of one analyze_clip process, MB\n")
        print("| configuration | 640x480 | 3840x2880 | 4K - 640x480 |")
        print("|---|---:|---:|---:|")
        for label, workers, side, sizes in rows:
            got = {s: peak(clips[s], workers, side) for s in sizes}
            frames = {n for n, _ in got.values()}
            if len(frames) != 1:
                raise SystemExit(f"{label}: the clips gave different frame counts {frames}")
            small = got.get("640x480", (0, None))[1]
            big = got["3840x2880"][1]
            diff = "–" if small is None else f"{big - small:+d}"
            print(f"| {label} | {'–' if small is None else small} | {big} | {diff} |")
        print(f"\n({frames.pop()} frames per clip; {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
