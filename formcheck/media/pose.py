"""Pose estimation with MediaPipe Tasks ``PoseLandmarker`` (edge module).

:class:`PoseEstimator` turns a BGR frame and its time into a :class:`PoseFrame` in pixels, or
``None`` when no person is found. By default (``pose.tracking = false``, ``num_poses = 3``) each
frame is analysed on its own (IMAGE mode), and :class:`PoseEstimatorPool` runs several frames
at once; VIDEO mode (tracking between frames, strictly increasing timestamps) is the option.

With ``num_poses > 1`` :meth:`PoseEstimator.detect_all` returns every person found (for
choosing the exerciser among several people); :meth:`PoseEstimator.detect` keeps returning one.
MediaPipe's native log lines (e.g. ``landmark_projection_calculator.cc:81`` on a clip with no
person) are filtered out of stderr on every inference (:class:`NativeLogFilter`).
"""

from __future__ import annotations

import logging
import os
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.errors import ModelError
from formcheck.media.models import resolve_model
from formcheck.core.types import PoseFrame
from formcheck.media.native import NativeLogFilter, quiet_native_stderr

if TYPE_CHECKING:
    from formcheck.config import PoseConfig

log = logging.getLogger(__name__)

# MediaPipe's C++ side logs to stderr through glog; keep it to errors unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class PoseEstimator:
    """A MediaPipe PoseLandmarker, in VIDEO mode (``tracking``) or IMAGE mode.

    VIDEO mode tracks the pose from the last frame's landmarks and detects only when it lost
    it, or, with ``num_poses > 1``, when fewer people are tracked than asked for: with one
    person in view it then detects in every frame, and its landmarks equal IMAGE mode's (checked
    on the renders: identical to the last bit). IMAGE mode finds the pose in each frame on its
    own, so frames can go to several models at once (:class:`PoseEstimatorPool`).

    Args:
        model: ``None``/``"full"`` (bundled), ``"lite"``/``"heavy"`` (fetched on request) or a
            path to a ``.task`` bundle.
        min_detection_confidence, min_presence_confidence, min_tracking_confidence: MediaPipe
            thresholds in [0, 1].
        num_poses: most people detected per frame (>= 1); see :meth:`detect_all`.
        tracking: VIDEO mode (``True``) or IMAGE mode.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        num_poses: int = 1,
        tracking: bool = True,
    ) -> None:
        if not (isinstance(num_poses, int) and num_poses >= 1):
            raise ValueError(f"num_poses: expected an integer >= 1, got {num_poses!r}")
        self.num_poses = num_poses
        self.tracking = tracking
        self.model_path: Path = resolve_model(model)
        import mediapipe as mp  # imported here so that the core never needs it
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        opts = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if tracking else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            with quiet_native_stderr():
                self._landmarker = vision.PoseLandmarker.create_from_options(opts)
                # The first inference logs a few native warnings too; run it here, silenced.
                blank = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))
                if tracking:
                    self._landmarker.detect_for_video(blank, 0)
                else:
                    self._landmarker.detect(blank)
        except Exception as e:  # mediapipe raises RuntimeError/ValueError with C++ text
            raise ModelError(f"MediaPipe could not load the pose model {self.model_path}: {e}") from e
        self._last_ms = 0
        self._offset_ms = 0
        self._filter = NativeLogFilter()

    def new_stream(self) -> None:
        """Start an unrelated stream (next clip of a batch) on the same loaded model.

        VIDEO mode needs increasing timestamps and tracks the pose from frame to frame; a blank
        frame drops the track, so the next clip starts from detection exactly as with a fresh
        landmarker, and its timestamps continue after a gap.
        """
        if not self.tracking:
            return  # IMAGE mode keeps no state between frames
        self._offset_ms = self._last_ms + 1000
        self._detect_ms(np.zeros((64, 64, 3), np.uint8), self._offset_ms)
        self._offset_ms += 1000

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        lm = getattr(self, "_landmarker", None)
        if lm is not None:
            self._landmarker = None
            with quiet_native_stderr():
                lm.close()
            filt = getattr(self, "_filter", None)
            if filt is not None:
                filt.close()

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            self.close()
        except Exception:
            pass

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """Landmarks of the most prominent person in ``image_bgr`` at time ``t_s`` (seconds).

        With ``num_poses > 1`` this is the first of :meth:`detect_all` (MediaPipe's order).
        """
        poses = self.detect_all(image_bgr, t_s)
        return poses[0] if poses else None

    def detect_all(self, image_bgr: np.ndarray, t_s: float) -> list[PoseFrame]:
        """Landmarks of every person found (at most ``num_poses``), in pixels; may be empty."""
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator.detect() called after close()")
        h, w = image_bgr.shape[:2]
        ms = max(self._offset_ms + int(round(t_s * 1000.0)), self._last_ms + 1)
        result = self._detect_ms(image_bgr, ms)
        out = []
        worlds = result.pose_world_landmarks or []
        for k, lms in enumerate(result.pose_landmarks or []):
            arr = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in lms], dtype=np.float64)
            world = None
            if k < len(worlds):
                world = np.array([(p.x, p.y, p.z) for p in worlds[k]])
            xy = arr[:, :2] * (w, h)  # normalised -> pixels before any angle
            out.append(PoseFrame(t_s, xy, arr[:, 3], arr[:, 2], world, (w, h)))
        return out

    def _detect_ms(self, image_bgr: np.ndarray, ms: int):
        mp = self._mp
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)  # ~10x faster than a [..., ::-1] copy
        self._last_ms = ms
        with self._filter:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            if not self.tracking:
                return self._landmarker.detect(image)
            return self._landmarker.detect_for_video(image, ms)


class PoseEstimatorPool:
    """Several IMAGE-mode pose models, one frame each at a time: frames analysed in parallel.

    IMAGE mode keeps nothing from one frame to the next, so a frame's landmarks are the same
    whichever model of the pool analyses it and in whatever order: ``workers`` models give the
    poses one gives, on up to ``workers`` cores. :meth:`submit` queues a frame and returns a
    future of its poses (what :meth:`PoseEstimator.detect_all` returns); the synchronous
    :meth:`detect_all` / :meth:`detect` run in the caller's thread.
    """

    def __init__(self, workers: int, model: str | os.PathLike | None = None,
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, num_poses: int = 1) -> None:
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
        self.workers = workers
        self.num_poses = num_poses
        self.tracking = False
        self._free: queue.SimpleQueue[PoseEstimator] = queue.SimpleQueue()
        self._models: list[PoseEstimator] = []
        try:
            for _ in range(workers):
                m = PoseEstimator(model, min_detection_confidence, min_presence_confidence,
                                  min_tracking_confidence, num_poses=num_poses, tracking=False)
                self._models.append(m)
                self._free.put(m)
        except BaseException:
            self.close()
            raise
        self.model_path: Path = self._models[0].model_path
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="formcheck-pose")

    def detect_all(self, image_bgr: np.ndarray, t_s: float) -> list[PoseFrame]:
        """Landmarks of every person found (at most ``num_poses``), in pixels; may be empty."""
        if not self._models:
            raise RuntimeError("PoseEstimatorPool.detect_all() called after close()")
        m = self._free.get()
        try:
            return m.detect_all(image_bgr, t_s)
        finally:
            self._free.put(m)

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """The first person of :meth:`detect_all` (MediaPipe's order), or ``None``."""
        poses = self.detect_all(image_bgr, t_s)
        return poses[0] if poses else None

    def submit(self, image_bgr: np.ndarray, t_s: float) -> Future:
        """Queue a frame; the future's result is :meth:`detect_all` of it."""
        return self._pool.submit(self.detect_all, image_bgr, t_s)

    def new_stream(self) -> None:
        """Nothing to reset: IMAGE mode tracks nothing between frames."""

    def __enter__(self) -> PoseEstimatorPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self._pool = None
            pool.shutdown(wait=True, cancel_futures=True)
        models, self._models = list(getattr(self, "_models", [])), []
        for m in models:
            m.close()


def hide_people(image_bgr: np.ndarray, boxes: Sequence[np.ndarray], keep: np.ndarray) -> np.ndarray:
    """A copy of ``image_bgr`` with the ``boxes`` (px: x0, y0, x1, y1) filled with the image's
    mean colour, except inside ``keep``: the people in view hidden from the person detector,
    the place where the exerciser was last seen left as it is."""
    h, w = image_bgr.shape[:2]
    lim = np.array([w, h, w, h])
    hide = np.zeros((h, w), bool)
    for b in boxes:
        x0, y0, x1, y1 = np.clip(np.round(b), 0, lim).astype(int)
        hide[y0:y1, x0:x1] = True
    x0, y0, x1, y1 = np.clip(np.round(keep), 0, lim).astype(int)
    hide[y0:y1, x0:x1] = False
    out = image_bgr.copy()
    out[hide] = image_bgr.reshape(-1, image_bgr.shape[-1]).mean(axis=0).astype(image_bgr.dtype)
    return out


def make_estimator(pose: PoseConfig, workers: int | None = None) -> PoseEstimator | PoseEstimatorPool:
    """The configured pose model (``config.pose``): the one place a pose model is built.

    Without tracking, ``pose.workers`` > 1 gives a :class:`PoseEstimatorPool` (the same poses,
    frames in parallel). ``workers`` overrides ``pose.workers`` where a pool would only add
    memory: frames that arrive one at a time (live), or several clips already sharing the cores
    (batch and serve workers). The configuration itself, and so the report, is left as it is."""
    workers = pose.workers if workers is None else workers
    if not pose.tracking and workers > 1:
        return PoseEstimatorPool(workers, pose.model, pose.min_detection_confidence,
                                 pose.min_presence_confidence, pose.min_tracking_confidence,
                                 num_poses=pose.num_poses)
    return PoseEstimator(pose.model, pose.min_detection_confidence, pose.min_presence_confidence,
                         pose.min_tracking_confidence, num_poses=pose.num_poses,
                         tracking=pose.tracking)
