"""Batch throughput: clips per minute with 1 and 2 local workers and with Ray, same clips.

    python benchmarks/batch_throughput.py [CLIPS...] [--copies N] [--max-fps HZ] [--no-ray] [--v01]

Each engine scores the same clips into a fresh database (nothing skipped). The clips are
copied ``--copies`` times under other names with one appended byte, so each copy has its own
content hash and is really analysed. Wall time includes worker start-up and model loading
(that is what a user waits for); the per-clip analysis time is reported separately.

``--v01`` adds, in the same run, 2 local workers with 0.1's pose settings (one person, VIDEO-mode
tracking: ``pose.num_poses = 1``, ``pose.tracking = true``), and the ratio of the two. With every
core busy, a batch pays the CPU time of the per-frame detector the defaults run; this is the
figure for it. (Reps may differ: the defaults' landmarks are not 0.1's.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from formcheck.app import batch
from formcheck.config import load_config
from formcheck.app.store import ResultStore

ROOT = Path(__file__).resolve().parent.parent


def make_clips(src: list[Path], copies: int, into: Path) -> list[Path]:
    out = []
    for k in range(copies):
        for p in src:
            dst = into / f"{p.stem}_{k}{p.suffix}"
            shutil.copy(p, dst)
            if k:  # a distinct content hash per copy (MP4 demuxers ignore trailing bytes)
                with open(dst, "ab") as f:
                    f.write(bytes([k]))
            out.append(dst)
    return out


def run_one(label: str, clips: list[Path], cfg, workers: int, engine: str, tmp: Path) -> dict:
    db = tmp / f"{label}.sqlite"
    t0 = time.perf_counter()
    res = batch.run_batch([str(c) for c in clips], cfg, db, workers=workers, engine=engine,
                          progress=False)
    wall = time.perf_counter() - t0
    with ResultStore(db) as st:
        per_clip = [r["timings"] for r in st.clips(status="ok")]
        reps = [r["rep_count"] for r in st.clips(status="ok")]
    assert res.n_error == 0, [r["error"] for r in res.rows if r["error"]]
    return {"label": label, "clips": len(clips), "wall_s": wall,
            "clips_per_min": 60.0 * len(clips) / wall,
            "median_clip_s": statistics.median(per_clip), "total_reps": sum(reps)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", help="clips (default: sample_videos/*.mp4)")
    ap.add_argument("--copies", type=int, default=1, help="score each clip this many times")
    ap.add_argument("--max-fps", type=float, default=0.0, help="pose.max_fps (0 = every frame)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    ap.add_argument("--v01", action="store_true",
                    help="also 2 local workers with 0.1's pose settings (num_poses 1, tracking)")
    args = ap.parse_args(argv)
    src = [Path(c) for c in args.clips] or sorted((ROOT / "sample_videos").glob("*.mp4"))
    cfg = load_config(overrides={"pose": {"max_fps": args.max_fps}})
    runs = [("local-1", 1, "local"), ("local-2", 2, "local")]
    if not args.no_ray:
        try:
            batch.import_ray()
            runs.append(("ray-2", 2, "ray"))
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"ray: skipped ({e})", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="fc-bench-") as d:
        tmp = Path(d)
        (tmp / "clips").mkdir()
        clips = make_clips(src, args.copies, tmp / "clips")
        results = [run_one(label, clips, cfg, w, eng, tmp) for label, w, eng in runs]
        v01 = None
        if args.v01:
            old = load_config(overrides={"pose": {"max_fps": args.max_fps, "num_poses": 1,
                                                  "tracking": True}})
            v01 = run_one("0.1-pose-2", clips, old, 2, "local", tmp)
    print(f"{len(clips)} clips, pose.max_fps={args.max_fps or 'all frames'}")
    print(f"{'engine':<10} {'wall s':>8} {'clips/min':>10} {'median clip s':>14} {'reps':>5}")
    for r in results:
        print(f"{r['label']:<10} {r['wall_s']:8.1f} {r['clips_per_min']:10.2f} "
              f"{r['median_clip_s']:14.1f} {r['total_reps']:5d}")
    if v01 is not None:
        r = v01
        print(f"{r['label']:<10} {r['wall_s']:8.1f} {r['clips_per_min']:10.2f} "
              f"{r['median_clip_s']:14.1f} {r['total_reps']:5d}")
        today = next(x for x in results if x["label"] == "local-2")
        print(f"local-2 against 0.1's pose settings: clips/min x{today['clips_per_min'] / r['clips_per_min']:.3f}")
    reps = {r["total_reps"] for r in results}
    if len(reps) != 1:
        print(f"WARNING: engines disagree on the rep total: {reps}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
