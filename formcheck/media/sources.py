"""Frame sources: video files (and cameras, for the live front end) with real timestamps.

This is an edge module: it imports OpenCV and touches files. Frames carry the container's
presentation time (``CAP_PROP_POS_MSEC``), not ``index / fps``, so variable-frame-rate clips
keep their real timing. Phone videos are turned upright from their rotation metadata.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import cv2
import numpy as np

from formcheck.core.sampling import FrameDecimator
from formcheck.core.types import ClipInfo  # noqa: F401  (re-exported: moved to the core)
from formcheck.errors import SourceError
from formcheck.media.formats import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES  # noqa: F401
from formcheck.media.native import quiet_native_stderr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """A decoded frame: ``image`` is BGR uint8 (H, W, 3); ``t_s`` seconds from source start."""

    index: int
    t_s: float
    image: np.ndarray


def downscale(image: np.ndarray, max_side_px: int) -> np.ndarray:
    """``image`` shrunk (area interpolation) so its longer side is at most ``max_side_px``
    pixels; unchanged when it already fits or ``max_side_px`` is 0."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if max_side_px and longest > max_side_px:
        s = max_side_px / longest
        return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return image


def check_video_path(path: str | os.PathLike) -> Path:
    """Raise :class:`SourceError` with a helpful message unless ``path`` is a readable file."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"No such file: {p}. Check the path (quote it if it contains spaces).")
    if p.is_dir():
        raise SourceError(
            f"{p} is a folder, not a video. Pass one clip, or use `formcheck batch {p}` "
            "to score every clip in it."
        )
    if p.stat().st_size == 0:
        raise SourceError(f"{p} is empty (0 bytes). Was the copy or download interrupted?")
    if not os.access(p, os.R_OK):
        raise SourceError(f"{p} cannot be read: permission denied.")
    if p.suffix.lower() in IMAGE_SUFFIXES:
        raise SourceError(f"{p} is a still image; formcheck needs a video of the set (MP4, MOV, WebM...).")
    if p.suffix.lower() in AUDIO_SUFFIXES:
        raise SourceError(f"{p} is an audio file; formcheck needs a video of the set (MP4, MOV, WebM...).")
    return p


class VideoSource:
    """Iterate the frames of a video file with container timestamps.

    Args:
        path: the video file.
        max_side_px: frames whose longer side exceeds this are downscaled (keeps memory and
            pose time bounded on 4K input); ``0`` keeps the full size.
        max_fps: analyse at most this many frames per second (frames in between are grabbed
            but not decoded to images); ``0`` analyses every frame.

    Use as a context manager; iterating yields :class:`Frame`.
    """

    def __init__(self, path: str | os.PathLike, max_side_px: int = 1280, max_fps: float = 0.0):
        if max_side_px < 0:
            raise ValueError(f"max_side_px: expected >= 0, got {max_side_px}")
        if max_fps < 0:
            raise ValueError(f"max_fps: expected >= 0, got {max_fps}")
        self.path = check_video_path(path)
        self.max_side_px = max_side_px
        self.max_fps = max_fps
        self._cap: cv2.VideoCapture | None = None
        self.frames_read = 0
        self.truncated = False
        self.info = self._open()

    def _open(self) -> ClipInfo:
        with quiet_native_stderr():
            cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            hint = (
                "it does not look like a video file"
                if self.path.suffix.lower() not in VIDEO_SUFFIXES
                else "the file may be truncated or use a codec OpenCV cannot decode"
            )
            raise SourceError(
                f"Cannot open {self.path} as a video: {hint}. "
                "Re-export it as H.264 MP4 and try again."
            )
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))  # <0: unknown
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        rot = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        if w <= 0 or h <= 0:
            cap.release()
            raise SourceError(f"{self.path} has no video stream (audio only?). Pass a video clip.")
        if 0 < n <= 1:
            cap.release()
            raise SourceError(f"{self.path} holds a single frame (a still image?); formcheck needs a video of the set.")
        # With CAP_PROP_ORIENTATION_AUTO the reported size is already the upright one.
        self._cap = cap
        duration = n / fps if fps > 0 and n > 0 else 0.0
        return ClipInfo(str(self.path), fps, n, duration, w, h, rot)

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _scale(self, image: np.ndarray) -> np.ndarray:
        return downscale(image, self.max_side_px)

    def __iter__(self) -> Iterator[Frame]:
        cap = self._cap
        if cap is None:
            raise SourceError(f"{self.path}: the source is closed.")
        fps = self.info.fps if self.info.fps > 0 else 30.0
        last_t = -np.inf
        keep = FrameDecimator(self.max_fps, self.info.fps)
        index = 0
        decoded = 0
        while True:
            if not cap.grab():
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not np.isfinite(t) or t <= last_t:
                # Some containers give no usable timestamps; fall back to the nominal rate.
                t = max(index / fps, last_t + 1e-3)
            last_t = t
            index += 1
            if not keep.wants(t):
                continue
            ok, image = cap.retrieve()
            if not ok or image is None:
                log.warning("%s: frame %d could not be decoded; skipped", self.path, index - 1)
                continue
            keep.taken(t)
            decoded += 1
            yield Frame(index - 1, float(t), self._scale(image))
        if decoded == 0:
            raise SourceError(
                f"{self.path}: no frame could be decoded. The file may be truncated or corrupt; "
                "re-export it as H.264 MP4."
            )
        self.frames_read = index
        if index == 1:
            raise SourceError(
                f"{self.path} holds a single frame (a still image?); formcheck needs a video of the set."
            )
        expected = self.info.n_frames
        if expected > 30 and index < 0.9 * expected:
            self.truncated = True
            log.warning(
                "%s: only %d of the %d frames the file announces could be read; it may be "
                "truncated (still downloading or copied partly). Results cover the part read.",
                self.path, index, expected,
            )
