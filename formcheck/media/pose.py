"""Pose estimation with MediaPipe Tasks ``PoseLandmarker`` (edge module).

:class:`PoseEstimator` turns a BGR frame and its time into a :class:`PoseFrame` in pixels, or
``None`` when no person is found. VIDEO mode (tracking between frames, strictly increasing
timestamps) is used for files and for the live loop's latest-frame-wins capture.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck.errors import ModelError
from formcheck.media.models import resolve_model
from formcheck.media.native import quiet_native_stderr
from formcheck.core.types import PoseFrame

if TYPE_CHECKING:
    from formcheck.config import PoseConfig

log = logging.getLogger(__name__)

# MediaPipe's C++ side logs to stderr through glog; keep it to errors unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class PoseEstimator:
    """A MediaPipe PoseLandmarker in VIDEO mode.

    Args:
        model: ``None``/``"full"`` (bundled), ``"lite"``/``"heavy"`` (fetched on request) or a
            path to a ``.task`` bundle.
        min_detection_confidence, min_presence_confidence, min_tracking_confidence: MediaPipe
            thresholds in [0, 1].
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        self.model_path: Path = resolve_model(model)
        import mediapipe as mp  # imported here so that the core never needs it
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        opts = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=1,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            with quiet_native_stderr():
                self._landmarker = vision.PoseLandmarker.create_from_options(opts)
                # The first inference logs a few native warnings too; run it here, silenced.
                self._landmarker.detect_for_video(
                    mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)), 0
                )
        except Exception as e:  # mediapipe raises RuntimeError/ValueError with C++ text
            raise ModelError(f"MediaPipe could not load the pose model {self.model_path}: {e}") from e
        self._last_ms = 0
        self._offset_ms = 0
        self._quiet_frames = 2

    def new_stream(self) -> None:
        """Start an unrelated stream (next clip of a batch) on the same loaded model.

        VIDEO mode needs increasing timestamps and tracks the pose from frame to frame; a blank
        frame drops the track, so the next clip starts from detection exactly as with a fresh
        landmarker, and its timestamps continue after a gap.
        """
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
            lm.close()

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            self.close()
        except Exception:
            pass

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """Landmarks of the most prominent person in ``image_bgr`` at time ``t_s`` (seconds)."""
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator.detect() called after close()")
        h, w = image_bgr.shape[:2]
        ms = max(self._offset_ms + int(round(t_s * 1000.0)), self._last_ms + 1)
        if self._quiet_frames > 0:  # the first real frames log native warnings once
            self._quiet_frames -= 1
            with quiet_native_stderr():
                result = self._detect_ms(image_bgr, ms)
        else:
            result = self._detect_ms(image_bgr, ms)
        if not result.pose_landmarks:
            return None
        lms = result.pose_landmarks[0]
        arr = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in lms], dtype=np.float64)
        world = None
        if result.pose_world_landmarks:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]])
        xy = arr[:, :2] * (w, h)  # normalised -> pixels before any angle
        return PoseFrame(t_s, xy, arr[:, 3], arr[:, 2], world, (w, h))

    def _detect_ms(self, image_bgr: np.ndarray, ms: int):
        mp = self._mp
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        self._last_ms = ms
        return self._landmarker.detect_for_video(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), ms
        )


def make_estimator(pose: PoseConfig) -> PoseEstimator:
    """The configured pose model (``config.pose``): the one place a :class:`PoseEstimator` is built."""
    return PoseEstimator(pose.model, pose.min_detection_confidence, pose.min_presence_confidence,
                         pose.min_tracking_confidence)
