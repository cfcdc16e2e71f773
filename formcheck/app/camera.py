"""Frames for ``formcheck live``: cameras, streams and files as cameras, and the
latest-frame-wins capture thread.

Edge module (OpenCV capture). :class:`CameraSource` runs a thread that keeps only the newest
frame; the processing loop always takes the newest and never queues, so when processing is
slower than the camera, frames are *dropped* rather than lag accumulating. A video FILE can
stand in for a camera: with ``pace="realtime"`` it is played at its real rate (wall clock paced
by container timestamps) and frames whose time passed while processing was busy are dropped;
with ``pace="none"`` every frame is processed, as fast as possible (for tests and offline
checks: the result then equals ``formcheck analyze`` on the same file).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from formcheck.errors import SourceError
from formcheck.media.native import quiet_native_stderr
from formcheck.media.sources import VideoSource, check_video_path, downscale

log = logging.getLogger(__name__)

PACES = ("realtime", "none")


# --------------------------------------------------------------------------- readers
class FrameReader(Protocol):
    """Where frames come from. ``read()`` returns ``(t_s, image_bgr)`` or ``None``.

    For ``kind == "file"``, ``None`` is the normal end; for ``kind == "camera"`` it is a failed
    read (the source retries, and declares the camera lost after a while).
    """

    kind: str
    description: str
    fps: float

    def read(self) -> tuple[float, np.ndarray] | None: ...

    def close(self) -> None: ...


class FileReader:
    """A video file as a camera: frames and container times from :class:`VideoSource`
    (exactly the frames ``formcheck analyze`` sees)."""

    kind = "file"

    def __init__(self, path: str | os.PathLike, max_side_px: int = 1280, max_fps: float = 0.0):
        self.video = VideoSource(path, max_side_px, max_fps)
        self.info = self.video.info
        self.fps = self.info.fps
        self.description = str(path)
        self._it = iter(self.video)

    def read(self) -> tuple[float, np.ndarray] | None:
        try:
            fr = next(self._it)
        except StopIteration:
            return None
        return fr.t_s, fr.image

    def close(self) -> None:
        self.video.close()


def _video_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*")) if sys.platform.startswith("linux") else []


def camera_help(tried: str) -> str:
    devs = _video_devices()
    found = (f" Video devices on this machine: {', '.join(devs)}." if devs
             else " No /dev/video* device exists on this machine." if sys.platform.startswith("linux") else "")
    return (f"Cannot open camera {tried}: no camera there, or another program is using it.{found} "
            "Pick another with --camera 1, a device path such as --camera /dev/video2, a stream URL "
            "(rtsp://..., http://...), or a recorded file (--camera my_set.mp4).")


class DeviceReader:
    """A camera by index, device path or stream URL (cv2.VideoCapture).

    Frame time is the capture wall clock (s) since the first frame was read.
    """

    kind = "camera"

    def __init__(self, spec: int | str, max_side_px: int = 1280,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.description = f"index {spec}" if isinstance(spec, int) else str(spec)
        with quiet_native_stderr():
            cap = cv2.VideoCapture(spec)
        if not cap.isOpened():
            cap.release()
            raise SourceError(camera_help(self.description))
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.max_side_px = max_side_px
        self._clock = clock
        self._t0: float | None = None

    def read(self) -> tuple[float, np.ndarray] | None:
        try:
            ok, image = self._cap.read()
        except cv2.error as e:
            log.warning("camera read failed: %s", e)
            return None
        now = self._clock()
        if not ok or image is None:
            return None
        if self._t0 is None:
            self._t0 = now
        return now - self._t0, downscale(image, self.max_side_px)

    def close(self) -> None:
        self._cap.release()


def open_reader(spec: str, max_side_px: int = 1280, max_fps: float = 0.0) -> FrameReader:
    """Open ``--camera SPEC``: an index ("0"), a device path, a URL, or a video file."""
    spec = str(spec).strip()
    if spec.isdigit():
        return DeviceReader(int(spec), max_side_px)
    if "://" in spec:
        return DeviceReader(spec, max_side_px)
    if spec.startswith("/dev/"):
        if not Path(spec).exists():
            raise SourceError(camera_help(spec))
        return DeviceReader(spec, max_side_px)
    p = Path(spec)
    if not p.exists():
        raise SourceError(
            f"--camera {spec}: no such file, and not a camera index, device or URL. "
            "Use --camera 0 (first webcam), --camera /dev/video0, an rtsp:// or http:// URL, "
            "or the path of a video file."
        )
    check_video_path(p)
    return FileReader(p, max_side_px, max_fps)


# --------------------------------------------------------------------------- capture thread
@dataclass(frozen=True)
class CapturedFrame:
    """A frame handed to the processing loop.

    Attributes:
        index: number of frames the source delivered before this one.
        t_s: source time (s): container time for files, capture clock for cameras.
        image: BGR uint8 (H, W, 3).
        t_avail: ``clock()`` time when it was captured (camera) or became due (paced file).
    """

    index: int
    t_s: float
    image: np.ndarray
    t_avail: float


class CameraSource:
    """Latest-frame-wins capture on a background thread.

    Args:
        reader: a :class:`FrameReader` (file, device, or a test double).
        pace: ``"realtime"``: a file is played at its real rate and frames the processing loop
            did not take in time are dropped (cameras always behave like this);
            ``"none"``: the reader waits until the previous frame was taken (no dropping; for
            files in tests: do not use with a real camera, which would deliver stale frames).
        lost_after_s: a camera that delivers no frame for this long (s) is declared lost.
        clock: monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, reader: FrameReader, pace: str = "realtime", lost_after_s: float = 2.0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if pace not in PACES:
            raise ValueError(f"pace: expected one of {', '.join(PACES)}, got {pace!r}")
        if not lost_after_s > 0:
            raise ValueError(f"lost_after_s: expected > 0 seconds, got {lost_after_s}")
        self.reader = reader
        self.pace = pace
        self.lost_after_s = lost_after_s
        self.clock = clock
        self.status = "new"  # new | running | ended | lost | error
        self.error: BaseException | None = None
        self.captured = 0
        self.dropped = 0
        self.last_capture: float | None = None
        self.frame_wh: tuple[int, int] = (0, 0)
        self._slot: CapturedFrame | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def kind(self) -> str:
        return self.reader.kind

    def start(self) -> CameraSource:
        self.status = "running"
        self._started = self.clock()
        self._thread = threading.Thread(target=self._run, name="formcheck-capture", daemon=True)
        self._thread.start()
        return self

    def _publish(self, t_s: float, image: np.ndarray, t_avail: float) -> None:
        with self._cond:
            if self._slot is not None:
                self.dropped += 1  # the processing loop was busy: newest frame wins
            self._slot = CapturedFrame(self.captured, t_s, image, t_avail)
            self.frame_wh = (int(image.shape[1]), int(image.shape[0]))
            self.captured += 1
            self.last_capture = t_avail
            self._cond.notify_all()

    def _finish(self, status: str) -> None:
        with self._cond:
            if self.status == "running":
                self.status = status
            self._cond.notify_all()

    def _run(self) -> None:
        paced_file = self.reader.kind == "file" and self.pace == "realtime"
        wall0 = t_first = None
        last_ok = self.clock()
        try:
            while not self._stop.is_set():
                if self.pace == "none":
                    with self._cond:
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait(0.1)
                    if self._stop.is_set():
                        break
                got = self.reader.read()
                now = self.clock()
                if got is None:
                    if self.reader.kind == "file":
                        self._finish("ended")
                        return
                    if now - last_ok > self.lost_after_s:
                        log.warning("camera %s: no frame for %.1f s", self.reader.description, now - last_ok)
                        self._finish("lost")
                        return
                    self._stop.wait(0.01)
                    continue
                last_ok = now
                t_s, image = got
                t_avail = now
                if paced_file:
                    if wall0 is None:
                        wall0, t_first = now, t_s
                    due = wall0 + (t_s - t_first)
                    if due > now and self._stop.wait(due - now):
                        break
                    t_avail = due
                self._publish(t_s, image, t_avail)
        except BaseException as e:  # reported to the processing loop
            self.error = e
            self._finish("error")
            return
        self._finish("ended")

    def latest(self, timeout: float = 0.1) -> CapturedFrame | None:
        """Take the newest frame (waiting up to ``timeout`` s); ``None`` if none arrived."""
        with self._cond:
            if self._slot is None and self.status == "running":
                self._cond.wait(timeout)
            f, self._slot = self._slot, None
            self._cond.notify_all()
            return f

    @property
    def finished(self) -> bool:
        """The capture thread stopped and the last frame was taken."""
        with self._cond:
            return self.status not in ("new", "running") and self._slot is None

    def close(self) -> None:
        """Stop the thread and release the reader (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():  # a camera read blocked in the driver
                log.warning("capture thread did not stop within 5 s")
        try:
            self.reader.close()
        except Exception:  # pragma: no cover - release must not mask the real error
            log.exception("releasing the camera failed")
