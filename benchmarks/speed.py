"""Speed of one clip: decode only, decode + pose model, full analysis, analysis core alone.

Each mode runs ``--repeats`` times, the modes alternating (so load from other processes hits
them alike), and the medians are reported in ms per frame and frames per second:

- ``decode``: :class:`VideoSource` frames (container timestamps, downscaled to ``max_side_px``)
- ``decode+model``: the same plus :meth:`PoseEstimator.detect` per frame
- ``full``: :func:`analyze_clip` (decode + model + :class:`Analyzer` + report) on the same loaded
  model, so that model loading (timed apart) is not in the per-frame figure
- ``core``: :class:`Analyzer` + report over the poses of an untimed warm-up decode+model run (no video, no model)

``full / (decode+model)`` is the throughput ratio (frames/s of full analysis ÷ frames/s of decode +
model): 1.0 means the analysis costs nothing next to the model. Peak memory: the process's
``ru_maxrss`` after the runs and, in one extra untimed full run, the Python-side peak from
``tracemalloc``.

    python benchmarks/speed.py                          # sample_videos/dev01_seated_r.mp4
    python benchmarks/speed.py CLIP --repeats 5 --max-fps 15 --json speed.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports ru_maxrss in KiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_videos" / "dev01_seated_r.mp4"))
    ap.add_argument("--repeats", type=int, default=3, help="runs per mode (default 3)")
    ap.add_argument("--max-fps", type=float, default=0.0, help="pose.max_fps for every mode (default 0 = every frame)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the untimed decode+model run before the timed runs")
    ap.add_argument("--config", help="TOML config")
    ap.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    args = ap.parse_args(argv)

    from formcheck.core.analysis import Analyzer
    from formcheck.config import load_config
    from formcheck.app.pipeline import analyze_clip
    from formcheck.media.pose import make_estimator
    from formcheck.render.report import build_report
    from formcheck.media.sources import VideoSource

    cfg = load_config(args.config, {"pose": {"max_fps": args.max_fps}})
    pc = cfg.pose
    clip = Path(args.clip)
    t0 = time.perf_counter()
    est = make_estimator(pc)
    load_s = time.perf_counter() - t0
    poses: list = []

    def decode() -> int:
        n = 0
        with VideoSource(clip, pc.max_side_px, pc.max_fps) as src:
            for _ in src:
                n += 1
        return n

    def decode_model() -> int:
        est.new_stream()
        keep = not poses
        n = 0
        with VideoSource(clip, pc.max_side_px, pc.max_fps) as src:
            for fr in src:
                p = est.detect(fr.image, fr.t_s)
                if keep:
                    poses.append((fr.t_s, p))
                n += 1
            info = src.info
        if keep:
            poses.append(info)
        return n

    def full() -> int:
        est.new_stream()
        res = analyze_clip(clip, cfg, estimator=est)
        return res.report["summary"]["frames_analysed"]

    def core() -> int:
        *frames, info = poses
        an = Analyzer(cfg)
        for t, p in frames:
            an.update(t, p)
        build_report(an.finish(), info, cfg.digest(), True)
        return len(frames)

    modes = {"decode": decode, "decode+model": decode_model, "full": full, "core": core}
    if args.warmup:  # untimed: page in the clip and the model, record the poses for "core"
        decode_model()
    times: dict[str, list[float]] = {m: [] for m in modes}
    frames: dict[str, int] = {}
    for r in range(args.repeats):
        for name, fn in modes.items():
            t = time.perf_counter()
            n = fn()
            times[name].append(time.perf_counter() - t)
            frames[name] = n
            print(f"run {r + 1}/{args.repeats} {name:<13} {n} frames {times[name][-1]:.2f} s",
                  file=sys.stderr, flush=True)
    peak_rss = rss_mb()

    # Side by side in one run: time each stage of every frame of a full analysis. Run-to-run
    # variance of the pose model (a few %) dwarfs the analysis cost, so this is the stable ratio.
    stage = {"decode": 0.0, "model": 0.0, "analysis": 0.0}
    in_loop_ratios = []
    for _ in range(args.repeats):
        est.new_stream()
        an = Analyzer(cfg)
        st = dict.fromkeys(stage, 0.0)
        with VideoSource(clip, pc.max_side_px, pc.max_fps) as src:
            it = iter(src)
            while True:
                a = time.perf_counter()
                fr = next(it, None)
                b = time.perf_counter()
                if fr is None:
                    break
                p = est.detect(fr.image, fr.t_s)
                c = time.perf_counter()
                an.update(fr.t_s, p)
                d = time.perf_counter()
                st["decode"] += b - a
                st["model"] += c - b
                st["analysis"] += d - c
            info = src.info
        t = time.perf_counter()
        build_report(an.finish(), info, cfg.digest(), True)
        st["analysis"] += time.perf_counter() - t
        base = st["decode"] + st["model"]
        in_loop_ratios.append(base / (base + st["analysis"]))
        for k in stage:
            stage[k] += st[k] / args.repeats

    tracemalloc.start()
    est.new_stream()
    analyze_clip(clip, cfg, estimator=est)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est.close()

    med = {m: statistics.median(v) for m, v in times.items()}
    ms = {m: 1000.0 * med[m] / max(frames[m], 1) for m in modes}
    fps = {m: frames[m] / med[m] if med[m] > 0 else float("nan") for m in modes}
    ratio = fps["full"] / fps["decode+model"]
    print(f"\n{clip.name}: {frames['full']} frames analysed, max_fps {pc.max_fps:g}, "
          f"median of {args.repeats} alternating runs; model load {load_s:.2f} s (not included)")
    print(f"{'mode':<14} {'ms/frame':>9} {'frames/s':>9}   runs (s)")
    for m in modes:
        print(f"{m:<14} {ms[m]:>9.2f} {fps[m]:>9.1f}   " + " ".join(f"{v:.2f}" for v in times[m]))
    print(f"throughput full / (decode+model): {ratio:.3f}  "
          f"(analysis + report add {ms['full'] - ms['decode+model']:+.2f} ms/frame; core alone {ms['core']:.2f} ms/frame)")
    n_full = max(frames["full"], 1)
    print(f"side by side in one run (mean of {args.repeats}): decode {1000 * stage['decode'] / n_full:.2f}, "
          f"model {1000 * stage['model'] / n_full:.2f}, analysis + report {1000 * stage['analysis'] / n_full:.2f} ms/frame; "
          f"throughput full / (decode+model) = {statistics.median(in_loop_ratios):.3f}")
    print(f"peak RSS {peak_rss:.0f} MB (ru_maxrss, whole process); Python-side peak of one full run "
          f"{py_peak / 2**20:.1f} MB (tracemalloc)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "clip": str(clip), "frames": frames, "repeats": args.repeats, "max_fps": pc.max_fps,
            "model_load_s": load_s, "seconds": times, "median_ms_per_frame": ms, "fps": fps,
            "throughput_ratio_full_vs_decode_model": ratio, "peak_rss_mb": peak_rss,
            "python_peak_mb": py_peak / 2**20,
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
