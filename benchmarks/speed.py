"""Speed side by side on a 720p 60 fps clip and a 640x480 clip: decode, decode + model, analyze.

The 720p 60 fps clip is made at run time from a sample clip (upscaled to 1280x720, each frame
shown twice at 60 fps, H.264 through PyAV) in a temporary folder; nothing is committed. For each
clip the modes run ``--repeats`` times, alternating (so load from other processes hits them
alike), and the medians are reported in ms per frame and frames per second:

- ``decode``: :class:`VideoSource` frames in the caller's thread (no prefetch, no cut marks,
  no orientation/bars probe)
- ``decode+model``: the same plus :meth:`PoseEstimator.detect` per frame, one after the other:
  the "decode + model loop" the issue measures against
- ``analyze``: :func:`analyze_clip` (orientation/bars probe on the first 1.5 s, prefetching
  decode with cut marks, model, :class:`Analyzer`, report) on the same loaded model, so that
  model loading (timed apart, like the probe's shared model) is not in the per-frame figure

``analyze / (decode+model)`` is the throughput ratio (frames/s of analyze ÷ frames/s of the
decode + model loop, one model). Above 1.0 the prefetch thread hides decoding behind the model,
and the pool of ``pose.workers`` models finds several frames' poses at once, on the other core.

Before and after: one line times one model alone with today's settings against 0.1's
(``num_poses`` 1, tracked in VIDEO mode); another times ``analyze`` of each clip both ways,
alternating, in wall time and in CPU time (all threads).

    python benchmarks/speed.py                          # dev01_seated_r.mp4 -> 720p60 + 640x480
    python benchmarks/speed.py CLIP --repeats 7 --seconds 8 --json speed.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The plain decode + model loop: decoding in the caller's thread, no cut marks, no probing.
SERIAL = {"prefetch": 0, "detect_cuts": False, "probe_rotation": False, "crop_bars": False}


def rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports ru_maxrss in KiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20


def make_720p60(src: Path, dst: Path, seconds: float) -> Path:
    """Re-encode the first ``seconds`` of ``src`` as 1280x720 H.264 at 60 fps (each frame twice)."""
    import av
    import cv2

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        st = out.add_stream("libx264", rate=Fraction(60))
        st.width, st.height, st.pix_fmt = 1280, 720, "yuv420p"
        st.options = {"preset": "veryfast", "crf": "20"}
        k = 0
        for fr in inp.decode(video=0):
            if fr.time is not None and fr.time > seconds:
                break
            img = cv2.resize(fr.to_ndarray(format="bgr24"), (1280, 720), interpolation=cv2.INTER_CUBIC)
            yuv = cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420)
            for _ in range(2):
                f = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                f.pts = k
                k += 1
                for p in st.encode(f):
                    out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return dst


def cut_clip(src: Path, dst: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``src``, re-encoded as H.264 at its own size and rate."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ins = inp.streams.video[0]
        st = out.add_stream("libx264", rate=ins.average_rate)
        st.width, st.height, st.pix_fmt = ins.codec_context.width, ins.codec_context.height, "yuv420p"
        st.options = {"preset": "veryfast", "crf": "20"}
        for k, fr in enumerate(inp.decode(ins)):
            if fr.time is not None and fr.time > seconds:
                break
            f = av.VideoFrame.from_ndarray(fr.to_ndarray(format="yuv420p"), format="yuv420p")
            f.pts = k
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return dst


def bench_clip(clip: Path, cfg, est, repeats: int) -> dict:
    from formcheck.app.pipeline import analyze_clip
    from formcheck.media.sources import VideoSource

    pc = cfg.pose

    def decode() -> int:
        n = 0
        with VideoSource(clip, pc.max_side_px, pc.max_fps, **SERIAL) as src:
            for _ in src:
                n += 1
        return n

    def decode_model() -> int:
        est.new_stream()
        n = 0
        with VideoSource(clip, pc.max_side_px, pc.max_fps, **SERIAL) as src:
            for fr in src:
                est.detect(fr.image, fr.t_s)
                n += 1
        return n

    def analyze() -> int:
        est.new_stream()
        res = analyze_clip(clip, cfg, estimator=est)
        return res.report["summary"]["frames_analysed"]

    modes = {"decode": decode, "decode+model": decode_model, "analyze": analyze}
    decode_model()  # untimed warm-up: page in the clip, settle the model
    analyze()  # and load the model analyze shares for the orientation probe
    times: dict[str, list[float]] = {m: [] for m in modes}
    frames: dict[str, int] = {}
    ratios = []
    for r in range(repeats):
        for name, fn in modes.items():
            t = time.perf_counter()
            n = fn()
            times[name].append(time.perf_counter() - t)
            frames[name] = n
            print(f"{clip.name} run {r + 1}/{repeats} {name:<13} {n} frames {times[name][-1]:.2f} s",
                  file=sys.stderr, flush=True)
        ratios.append(times["decode+model"][-1] / times["analyze"][-1])
    with VideoSource(clip, 0, **SERIAL) as src:
        info = src.info
    med = {m: statistics.median(v) for m, v in times.items()}
    return {
        "clip": str(clip), "size": f"{info.width}x{info.height}", "fps": info.fps,
        "frames": frames, "seconds": times,
        "ms_per_frame": {m: 1000.0 * med[m] / max(frames[m], 1) for m in modes},
        "frames_per_s": {m: frames[m] / med[m] for m in modes},
        "ratio": (frames["analyze"] / med["analyze"]) / (frames["decode+model"] / med["decode+model"]),
        "ratio_per_pair": ratios,
        "ratio_median_of_pairs": statistics.median(ratios),
    }


OLD_POSE = {"num_poses": 1, "tracking": True, "workers": 1}  # formcheck 0.1's pose model settings


def bench_num_poses(clip: Path, cfg, n_frames: int, repeats: int) -> dict:
    """Model time per frame, one model, same frames, alternating: 0.1's settings (one person,
    VIDEO mode: tracked, detected only when lost) against today's (three people, IMAGE mode: the
    pose found afresh in every frame)."""
    from dataclasses import replace

    from formcheck.media.pose import make_estimator
    from formcheck.media.sources import VideoSource

    pc = cfg.pose
    with VideoSource(clip, pc.max_side_px, 0, **SERIAL) as src:
        frames = [fr for _, fr in zip(range(n_frames), src)]
    ests = {"0.1": make_estimator(replace(pc, **OLD_POSE)), "now": make_estimator(replace(pc, workers=1))}
    t: dict[str, list[float]] = {k: [] for k in ests}
    for _ in range(repeats):
        for k, est in ests.items():
            est.new_stream()
            a = time.perf_counter()
            for fr in frames:
                est.detect_all(fr.image, fr.t_s)
            t[k].append((time.perf_counter() - a) / len(frames))
    for est in ests.values():
        est.close()
    med = {k: statistics.median(v) for k, v in t.items()}
    return {"frames": len(frames), "ms_per_frame": {k: 1000 * m for k, m in med.items()},
            "slowdown_now_vs_0.1": med["now"] / med["0.1"]}


def cpu_s() -> float:
    """CPU time of this process so far, every thread (s)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_before_after(clip: Path, cfg, repeats: int) -> dict:
    """``analyze`` of one clip with 0.1's pose settings and with today's (a pool of
    ``pose.workers`` models), alternating runs: wall time and CPU time per frame."""
    from dataclasses import replace

    from formcheck.app.pipeline import analyze_clip
    from formcheck.media.pose import make_estimator

    pcs = {"0.1": replace(cfg.pose, **OLD_POSE), "now": cfg.pose}
    ests = {k: make_estimator(pc) for k, pc in pcs.items()}
    cfgs = {k: replace(cfg, pose=pc) for k, pc in pcs.items()}
    wall: dict[str, list[float]] = {k: [] for k in ests}
    cpu: dict[str, list[float]] = {k: [] for k in ests}
    frames = 0
    for k, est in ests.items():  # untimed warm-up
        analyze_clip(clip, cfgs[k], estimator=est)
    for r in range(repeats):
        for k, est in ests.items():
            est.new_stream()
            a, c = time.perf_counter(), cpu_s()
            res = analyze_clip(clip, cfgs[k], estimator=est)
            wall[k].append(time.perf_counter() - a)
            cpu[k].append(cpu_s() - c)
            frames = res.report["summary"]["frames_analysed"]
            print(f"{clip.name} before/after run {r + 1}/{repeats} {k:<4} {wall[k][-1]:.2f} s",
                  file=sys.stderr, flush=True)
    for est in ests.values():
        est.close()
    ms = {k: 1000 * statistics.median(v) / frames for k, v in wall.items()}
    cpu_ms = {k: 1000 * statistics.median(v) / frames for k, v in cpu.items()}
    return {"clip": str(clip), "frames": frames, "workers": cfg.pose.workers,
            "wall_ms_per_frame": ms, "cpu_ms_per_frame": cpu_ms,
            "wall_ratio_now_vs_0.1": ms["now"] / ms["0.1"], "cpu_ratio_now_vs_0.1": cpu_ms["now"] / cpu_ms["0.1"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_videos" / "dev01_seated_r.mp4"),
                    help="source clip (640x480); the 720p60 clip is made from it")
    ap.add_argument("--repeats", type=int, default=5, help="runs per mode (default 5)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="length of the clips timed (default 5 s: 150 frames at 30 fps, 300 at 60)")
    ap.add_argument("--max-fps", type=float, default=0.0, help="pose.max_fps (default 0 = every frame)")
    ap.add_argument("--no-num-poses", dest="num_poses", action="store_false",
                    help="skip the num_poses=3 vs 1 line")
    ap.add_argument("--config", help="TOML config")
    ap.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    args = ap.parse_args(argv)

    from formcheck.config import load_config
    from formcheck.media.pose import make_estimator

    cfg = load_config(args.config, {"pose": {"max_fps": args.max_fps}})
    pc = cfg.pose
    src = Path(args.clip)
    t0 = time.perf_counter()
    est = make_estimator(pc)
    load_s = time.perf_counter() - t0
    results = []
    with tempfile.TemporaryDirectory(prefix="formcheck-speed-") as tmp:
        hd = make_720p60(src, Path(tmp) / "hd720p60.mp4", args.seconds)
        sd = cut_clip(src, Path(tmp) / "sd640x480.mp4", args.seconds)
        for clip in (hd, sd):
            results.append(bench_clip(clip, cfg, est, args.repeats))
        est.close()
        poses = bench_num_poses(sd, cfg, 60, args.repeats) if args.num_poses else None
        before_after = [bench_before_after(c, cfg, args.repeats) for c in (hd, sd)]
    peak = rss_mb()

    print(f"\nsource {src.name}, first {args.seconds:g} s; max_fps {pc.max_fps:g}; median of "
          f"{args.repeats} alternating runs per clip; model load {load_s:.2f} s (not included)")
    print(f"{'clip':<18} {'frames':>6} {'decode':>17} {'decode+model':>17} {'analyze':>17} "
          f"{'ratio':>6} {'pairs':>6}")
    for r in results:
        def cell(m: str, r=r) -> str:
            return f"{r['ms_per_frame'][m]:6.2f} ms {r['frames_per_s'][m]:4.0f}/s"

        label = f"{r['size']} {r['fps']:.0f} fps"
        print(f"{label:<18} {r['frames']['analyze']:>6} {cell('decode'):>17} {cell('decode+model'):>17} "
              f"{cell('analyze'):>17} {r['ratio']:>6.3f} {r['ratio_median_of_pairs']:>6.3f}")
    print("ratio = analyze frames/s ÷ (decode + model loop) frames/s, from the medians; pairs = "
          "median of the ratios of each decode+model run and the analyze run right after it "
          "(robust to load that drifts between runs). Per pair: "
          + "; ".join(f"{Path(r['clip']).stem} " + " ".join(f"{x:.3f}" for x in r["ratio_per_pair"])
                      for r in results))
    if poses:
        print(f"one model alone, {poses['frames']} frames of the 640x480 clip: today's settings "
              f"(num_poses 3, IMAGE mode) {poses['ms_per_frame']['now']:.2f} vs 0.1's (num_poses 1, "
              f"VIDEO mode) {poses['ms_per_frame']['0.1']:.2f} ms/frame, x{poses['slowdown_now_vs_0.1']:.2f}")
    for b in before_after:
        w, c = b["wall_ms_per_frame"], b["cpu_ms_per_frame"]
        print(f"analyze {Path(b['clip']).stem}: now ({b['workers']} pose workers) {w['now']:.2f} ms/frame "
              f"wall, {c['now']:.2f} CPU; 0.1's pose settings {w['0.1']:.2f} wall, {c['0.1']:.2f} CPU; "
              f"wall x{b['wall_ratio_now_vs_0.1']:.3f}, CPU x{b['cpu_ratio_now_vs_0.1']:.3f}")
    print(f"peak RSS {peak:.0f} MB (ru_maxrss, whole process)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "source": str(src), "seconds": args.seconds, "repeats": args.repeats,
            "max_fps": pc.max_fps, "model_load_s": load_s, "clips": results,
            "num_poses": poses, "before_after": before_after, "peak_rss_mb": peak,
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
