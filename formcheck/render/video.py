"""The annotated video: the overlay drawn on every analysed frame, written by the media writer.

:class:`VideoAnnotator` is the ``on_frame`` hook used by ``formcheck analyze --annotate OUT`` and
by ``formcheck live --record OUT``: it draws the overlay (:mod:`formcheck.render.annotate`) on
every analysed frame and writes the video through :mod:`formcheck.media.video_out` at the
source's real timing (frames carry container/camera times; a frame that arrives late, e.g. after
live frame dropping, is held so the video keeps real time). The file appears only when complete
(:func:`~formcheck.media.video_out.atomic_output`).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

from formcheck.config import Config
from formcheck.errors import OutputError, VideoWriteError
from formcheck.media.video_out import (DEFAULT_SUFFIX, ENCODINGS, AtomicOutput, _fourcc_candidates,
                                       _WriterThread, pick_fourcc, prepare_output)
from formcheck.render.annotate import FormOverlay, OverlayTracker

log = logging.getLogger(__name__)


class VideoAnnotator:
    """Draw the overlay on each analysed frame and write the annotated video.

    Args:
        out_path: ``.mp4`` (H.264, the default when the name has no suffix) or ``.webm``
            (VP8; VP9 with ``config.video.webm_codec = "vp9"``).
        config: the analysis configuration (zone limits for the gauge, cue timings).
        fps: output frame rate; ``None`` estimates it from the first frames' source times.
        realtime: live recording: fast encoder settings (VP8 for .webm) and frames dropped from
            the recording rather than slowing the caller when the encoder falls behind.
        overlay, tracker: share the live loop's overlay objects (optional).

    Use as ``on_frame(frame, pose, analyzer, events)`` hook (see
    :func:`formcheck.app.pipeline.analyze_clip`), or call :meth:`write` with ready-drawn images;
    always :meth:`close` (or use as a context manager). The file appears under ``out_path`` only
    when :meth:`close` completes; closing while an exception propagates (Ctrl-C, a crash)
    discards the partial video and keeps any previous file.
    """

    FPS_PROBE_FRAMES = 15

    def __init__(self, out_path: str | os.PathLike, config: Config, fps: float | None = None,
                 realtime: bool = False, overlay=None, tracker=None) -> None:
        path = Path(out_path)
        if not path.suffix and not path.is_dir():
            path = path.with_name(path.name + DEFAULT_SUFFIX)
        self.path = path
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps: expected a positive frame rate, got {fps}")
        if self.path.is_dir():
            raise VideoWriteError(f"Cannot write {self.path}: it is a folder; give a file name ending .mp4 or .webm.")
        self.fourcc = pick_fourcc(
            self.path, _fourcc_candidates(self.path, realtime, config.video.webm_codec))
        try:
            prepare_output(self.path)  # a missing folder is made, as for the other outputs
        except OutputError as e:
            raise VideoWriteError(str(e)) from e
        self.fps = fps
        self.realtime = realtime
        self.overlay = overlay or FormOverlay(config)
        self.tracker = tracker or OverlayTracker(config)
        self._pending: list[tuple[np.ndarray, float]] = []
        self._writer: _WriterThread | None = None
        self._out: AtomicOutput | None = None
        self.dropped = 0
        self.closed = False
        log.info("annotated video %s: codec %s", self.path, ENCODINGS[self.fourcc].codec)

    def __enter__(self) -> VideoAnnotator:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    @property
    def frames_written(self) -> int:
        return self._writer.written if self._writer is not None else 0

    def on_frame(self, frame, pose, analyzer, events) -> None:
        """Hook for :func:`~formcheck.app.pipeline.analyze_frames`: draw and write one frame."""
        state, _ = self.tracker.update(frame.t_s, pose, analyzer, events)
        self.write(self.overlay.annotate(frame.image, state), frame.t_s)

    def write(self, image: np.ndarray, t_s: float) -> None:
        """Queue an already annotated BGR image taken at source time ``t_s`` (s)."""
        if self.closed:
            raise VideoWriteError(f"{self.path}: write() after close()")
        if self._writer is None:
            self._pending.append((image, t_s))
            if self.fps is None and len(self._pending) < self.FPS_PROBE_FRAMES:
                return
            self._open()
            return
        if not self._writer.put(image, t_s, block=not self.realtime):
            self.dropped += 1

    def _estimate_fps(self) -> float:
        ts = np.array([t for _, t in self._pending])
        dt = np.diff(ts)
        dt = dt[dt > 0]
        if len(dt) == 0:
            return 30.0
        return float(np.clip(1.0 / np.median(dt), 1.0, 240.0))

    def _open(self) -> None:
        fps = self.fps or self._estimate_fps()
        self.fps = fps
        h, w = self._pending[0][0].shape[:2]
        self._out = AtomicOutput(self.path)
        self._writer = _WriterThread(self._out, self.fourcc, fps, (w, h),
                                     maxsize=8 if self.realtime else 32, realtime=self.realtime)
        pending, self._pending = self._pending, []
        for image, t in pending:
            self._writer.put(image, t)

    def abort(self) -> None:
        """Stop writing and discard the partial video; a previous file at the path is kept."""
        if self.closed:
            return
        self.closed = True
        self._pending = []
        if self._writer is not None:
            self._writer.abort()
            log.warning("%s: interrupted; the partial annotated video was discarded", self.path)

    def close(self) -> None:
        """Flush and finalise the file (idempotent).

        Called while an exception propagates (e.g. from a ``finally:`` after Ctrl-C), it
        discards the partial video instead, like :meth:`abort`.
        """
        if self.closed:
            return
        if sys.exc_info()[0] is not None:
            self.abort()
            return
        self.closed = True
        if self._writer is None and self._pending:
            self._open()
        if self._writer is None:
            log.warning("%s: no frames were analysed, so no annotated video was written", self.path)
            return
        self._writer.close()
        if self.dropped:
            log.warning("%s: %d frames were left out of the recording (encoder too slow)",
                        self.path, self.dropped)
