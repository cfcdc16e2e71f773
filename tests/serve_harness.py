"""Helpers to run ``formcheck serve`` in a subprocess and drive it with Playwright's Chromium.

Shared by tests/test_serve_browser.py and benchmarks/serve_latency.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("FORMCHECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--mute-audio"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``formcheck serve`` on a free loopback port, in its own process (group)."""

    def __init__(self, data: Path, *args: str, port: int | None = None) -> None:
        self.data = Path(data)
        self.args = list(args)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.data.parent / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0, token: str | None = None) -> Server:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.data.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "formcheck", "serve", "--data", str(self.data), "--port",
             str(self.port), *self.args], env=env, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True)
        logf.close()
        t_end = time.monotonic() + timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        while time.monotonic() < t_end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"formcheck serve exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                req = urllib.request.Request(self.url + "/api/health", headers=headers)
                with urllib.request.urlopen(req, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"formcheck serve did not answer within {timeout_s} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL the server (its workers notice and exit): a crash, not a shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def write_y4m(src: Path, out: Path, max_side: int = 480) -> tuple[int, float]:
    """Convert a clip to a raw .y4m file (Chromium's fake camera input). Returns (frames, fps)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = 0
    with open(out, "wb") as f:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            h, w = img.shape[:2]
            k = min(1.0, max_side / max(h, w))
            img = cv2.resize(img, (int(round(w * k / 2)) * 2, int(round(h * k / 2)) * 2),
                             interpolation=cv2.INTER_AREA)
            if n == 0:
                num = int(round(fps * 1000))
                f.write(f"YUV4MPEG2 W{img.shape[1]} H{img.shape[0]} F{num}:1000 Ip A1:1 C420jpeg\n".encode())
            f.write(b"FRAME\n")
            f.write(np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420)).tobytes())
            n += 1
    cap.release()
    return n, fps


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None
