"""Memory against clip length: the full analysis must not grow with the clip.

Builds clips of 10 s, 1 min and 10 min by repeating a sample clip (cv2.VideoWriter, mp4v, the
sample's resolution and frame rate, in a temporary folder), runs the full analysis
(:func:`analyze_clip`: decode + pose model + Analyzer + report with the per-frame series) on each
in a fresh subprocess, and prints each run's peak RSS (``ru_maxrss``). Passes (exit 0) when the
longest clip's peak is within ``--tolerance`` (default 10 %) of the shortest clip's peak.

    python benchmarks/memory.py                       # 10 s, 1 min, 10 min; every frame (~10 min on 2 cores)
    python benchmarks/memory.py --quick               # 10 s, 1 min, 3 min
    python benchmarks/memory.py --long-max-fps 10     # analyse the 10-min clip at 10 frames/s (say so when quoting)

The 10-minute clip at every frame is about 18,000 frames × ~30 ms ≈ 9-10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_clip(src: Path, out: Path, seconds: float) -> int:
    """Write ``seconds`` of ``src`` repeated end to end to ``out`` (mp4v); returns frames written."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    need = int(round(seconds * fps))
    vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not vw.isOpened():
        raise RuntimeError(f"cv2.VideoWriter cannot write {out} (mp4v)")
    n = 0
    try:
        while n < need:
            cap = cv2.VideoCapture(str(src))
            while n < need:
                ok, img = cap.read()
                if not ok:
                    break
                vw.write(img)
                n += 1
            cap.release()
    finally:
        vw.release()
    return n


def child(clip: str, max_fps: float) -> int:
    """Analyse one clip and print one JSON line with peak RSS (MB), time, frames and reps."""
    from formcheck.config import load_config
    from formcheck.app.pipeline import analyze_clip

    cfg = load_config(None, {"pose": {"max_fps": max_fps}})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t = time.perf_counter()
    rep = analyze_clip(clip, cfg).report
    dt = time.perf_counter() - t
    print(json.dumps({
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_after_import_mb": before, "seconds": dt,
        "frames": rep["summary"]["frames_analysed"], "reps": rep["summary"]["rep_count"],
        "report_frames": len(rep.get("frames", {}).get("t_s", [])),
    }))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", default=str(ROOT / "sample_videos" / "dev01_seated_r.mp4"))
    ap.add_argument("--quick", action="store_true", help="10 s, 1 min, 3 min instead of 10 s, 1 min, 10 min")
    ap.add_argument("--lengths", type=float, nargs="+", help="clip lengths in seconds (overrides --quick)")
    ap.add_argument("--long-max-fps", type=float, default=0.0,
                    help="pose.max_fps for the longest clip only (0 = every frame, the default)")
    ap.add_argument("--tolerance", type=float, default=0.10, help="allowed growth of peak RSS (default 0.10)")
    ap.add_argument("--keep", metavar="DIR", help="write the clips to DIR and keep them")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--child", metavar="CLIP", help=argparse.SUPPRESS)
    ap.add_argument("--max-fps", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.max_fps)

    lengths = args.lengths or ([10, 60, 180] if args.quick else [10, 60, 600])
    tmp = None
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="formcheck-mem-")
        folder = Path(tmp.name)
    rows = []
    try:
        for k, secs in enumerate(lengths):
            clip = folder / f"repeat_{secs:g}s.mp4"
            if not clip.exists():
                t = time.perf_counter()
                n = make_clip(Path(args.clip), clip, secs)
                print(f"wrote {clip.name}: {n} frames in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
            hz = args.long_max_fps if k == len(lengths) - 1 else 0.0
            out = subprocess.run([sys.executable, __file__, "--child", str(clip), "--max-fps", str(hz)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 2
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r.update(length_s=secs, max_fps=hz)
            rows.append(r)
            print(f"{secs:>6g} s clip: peak RSS {r['peak_rss_mb']:.0f} MB, {r['frames']} frames in "
                  f"{r['seconds']:.0f} s, {r['reps']} reps", file=sys.stderr, flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()

    base = rows[0]["peak_rss_mb"]
    print(f"\nclip {Path(args.clip).name} repeated; full analysis in a fresh process per length")
    print(f"{'length':>8} {'max_fps':>7} {'frames':>7} {'reps':>5} {'seconds':>8} {'peak RSS MB':>11} {'vs first':>8}")
    for r in rows:
        print(f"{r['length_s']:>7g}s {r['max_fps'] or 'all':>7} {r['frames']:>7} {r['reps']:>5} "
              f"{r['seconds']:>8.1f} {r['peak_rss_mb']:>11.0f} {r['peak_rss_mb'] / base - 1:>+8.1%}")
    growth = rows[-1]["peak_rss_mb"] / base - 1
    ok = growth <= args.tolerance
    print(f"{'PASS' if ok else 'FAIL'}: peak RSS of the {rows[-1]['length_s']:g}-s clip is {growth:+.1%} "
          f"against the {rows[0]['length_s']:g}-s clip (limit +{args.tolerance:.0%})")
    if args.json:
        Path(args.json).write_text(json.dumps({"clip": args.clip, "rows": rows, "growth": growth, "pass": ok}, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
