"""Benchmark: `formcheck serve` in headless Chromium.

1. Live: capture->overlay latency. Chromium's fake camera plays a sample clip (converted to .y4m);
   each frame is dated when the camera delivered it (requestVideoFrameCallback's captureTime,
   else its presentation time) and again when the server's answer has been drawn on the overlay
   (``latency_ms``); ``grab_to_overlay_ms`` counts from the page grabbing the frame instead. One frame is in flight at a time: frames the camera
   delivers meanwhile are never captured (dropped, not queued), so the latency cannot grow.
2. Upload: the same clip (15 s) uploaded through the Check-a-set page; time from pressing
   Analyse to the report page being loaded (upload + queue + analysis + annotated video).

    python benchmarks/serve_latency.py [CLIP] [--live-seconds 30] [--runs-upload 1] [--json OUT]

Needs the web extra, Playwright (python) and Chromium (/usr/bin/chromium or FORMCHECK_CHROMIUM).
Results depend on the CPU and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serve_harness import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, PHONE, Server, percentile, write_y4m,
)


def stats_ms(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50), 1),
            "p95": round(percentile(values, 95), 1), "max": round(max(values), 1)}


def bench_live(pw, server: Server, clip: Path, seconds: float, tmp: Path) -> dict:
    y4m = tmp / "clip.y4m"
    n_frames, fps = write_y4m(clip, y4m)
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}"])
    try:
        page = b.new_page(viewport=PHONE)
        page.goto(server.url + "/live")
        page.click("#start")
        page.wait_for_function("window.formcheckLive.connected", timeout=60_000)
        page.wait_for_timeout(2000)  # warm-up: model's first frames
        page.evaluate("window.formcheckLive.latencies = []; window.formcheckLive.serverMs = [];"
                      "window.formcheckLive.grabLatencies = [];"
                      "window.formcheckLive.t0 = performance.now(); window.formcheckLive.answered0 = "
                      "window.formcheckLive.answered;")
        page.wait_for_timeout(seconds * 1000)
        s = page.evaluate("window.formcheckLive")
        wall_s = (page.evaluate("performance.now()") - s["t0"]) / 1000.0
        answered = s["answered"] - s["answered0"]
        return {
            "clip_fps": fps, "camera_frames_in_window": round(fps * wall_s),
            "frames_answered": answered, "answered_fps": round(answered / wall_s, 1),
            "frames_not_captured": max(0, round(fps * wall_s) - answered),
            "server_dropped": s["dropped"],
            "latency_ms": stats_ms(s["latencies"]), "grab_to_overlay_ms": stats_ms(s["grabLatencies"]),
            "server_ms": stats_ms(s["serverMs"]),
            "reps_seen": s["reps"],
        }
    finally:
        b.close()


def bench_upload(pw, server: Server, clip: Path, runs: int) -> dict:
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    times = []
    try:
        for _ in range(runs):
            page = b.new_page(viewport=PHONE)
            page.goto(server.url + "/")
            page.set_input_files("#clip", str(clip))
            t0 = time.perf_counter()
            page.click("#go")
            page.wait_for_url("**/clips/*", timeout=600_000)
            page.wait_for_selector("#formcheck-report", state="attached")
            times.append(time.perf_counter() - t0)
            reps = json.loads(page.locator("#formcheck-report").text_content())["summary"]["rep_count"]
            page.close()
    finally:
        b.close()
    return {"runs": runs, "seconds": [round(t, 2) for t in times],
            "median_s": round(sorted(times)[len(times) // 2], 2), "reps": reps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_videos" / "dev01_seated_r.mp4"))
    ap.add_argument("--live-seconds", type=float, default=30.0)
    ap.add_argument("--runs-upload", type=int, default=1)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    clip = Path(args.clip)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        tmp = Path(tmp)
        server = Server(tmp / "data").start()
        try:
            live = bench_live(pw, server, clip, args.live_seconds, tmp)
            upload = bench_upload(pw, server, clip, args.runs_upload) if args.runs_upload else None
        finally:
            server.stop()
    out = {"clip": clip.name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "platform": platform.platform()},
           "live": live, "upload_to_report": upload}
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    lat = live["latency_ms"]
    print(f"\nlive capture->overlay: p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms over "
          f"{lat.get('n')} frames ({live['answered_fps']} fps answered, camera {live['clip_fps']:g} fps: "
          f"{live['frames_not_captured']} frames not captured, {live['server_dropped']} dropped on the server)",
          file=sys.stderr)
    if upload:
        print(f"upload-to-report ({clip.name}): median {upload['median_s']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
