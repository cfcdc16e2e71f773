"""Frame decimation (``pose.max_fps``): which frames of a stream are analysed.

Pure Python, shared by the video source (frames in between are grabbed but not decoded) and by
pose-track replays (``formcheck eval --sweep``), so both keep exactly the same frames.
"""

from __future__ import annotations

import math


class FrameDecimator:
    """Keep at most ``max_fps`` frames per second of a stream of nominal rate ``nominal_fps``.

    A frame at time ``t`` (s) is kept when at least ``1 / max_fps`` seconds passed since the
    last kept frame, minus a quarter of the nominal frame interval (so timestamp jitter does not
    drop every other frame at an exact divisor of the rate).

    Args:
        max_fps: the most frames per second to keep (Hz); ``0`` keeps every frame.
        nominal_fps: the stream's nominal rate (Hz); ``<= 0`` (unknown) counts as 30.
    """

    def __init__(self, max_fps: float, nominal_fps: float) -> None:
        if not (max_fps >= 0 and math.isfinite(max_fps)):
            raise ValueError(f"max_fps: expected a finite rate >= 0 Hz, got {max_fps}")
        self.min_dt = 1.0 / max_fps if max_fps > 0 else 0.0
        fps = nominal_fps if nominal_fps > 0 else 30.0
        self.slack = 0.25 / fps
        self._last = -math.inf

    def wants(self, t_s: float) -> bool:
        """Whether the frame at ``t_s`` (s) is due (call :meth:`taken` once it was used)."""
        return not self.min_dt or not (t_s - self._last < self.min_dt - self.slack)

    def taken(self, t_s: float) -> None:
        """Record that the frame at ``t_s`` (s) was kept."""
        self._last = t_s
