"""How much an oblique camera magnifies the prone angle (pure Python).

A camera turned off the side view foreshortens the body's forward axis and not its vertical one,
so the 2-D angle of a trunk moving against level legs swings wider than the body does: at 30° of
yaw its range is ~1.18× the body's, at 35° ~1.24× (the independent generator,
``benchmarks/yaw.md``). MediaPipe's world landmarks are three-dimensional and do not foreshorten,
but they are noisier per frame and carry a bias of their own on each body. Their *range* is
steadier than their value: :class:`ObliqueMagnification` regresses the set's 2-D angle on the
world angle, and the slope tells how much the view magnifies the 2-D angle. Side views give
slopes within ±0.03 of 1 on MediaPipe's output (renders and real clips); the slope beyond a dead
band is undone, so the 2-D angle keeps its per-frame precision and loses the magnification.
"""

from __future__ import annotations

import math


class ObliqueMagnification:
    """The factor (≥ 1) by which the view magnifies the prone 2-D angle, from the set so far.

    Args:
        deadband: slopes up to ``1 + deadband`` count as a side view (factor 1); above it the
            factor moves toward ``slope - deadband``. ``1`` or more turns the correction off.
        min_span_s: seconds of frames with both angles needed before the slope is trusted.
        min_spread_deg: the world angle's standard deviation needed (the trunk must have moved
            through a good part of a rep; a still trunk gives no slope).
        max_rate_per_s: how fast the factor may change (per second), so that a new estimate
            never steps the angle (a step would read as a fast movement): 0.2/s moves an angle
            of -70° by at most 14°/s, below the 20°/s a top hold tolerates.
        max_factor: the factor's cap (views past ~45° of yaw are refused as not side-on anyway).
    """

    def __init__(self, deadband: float, min_span_s: float = 1.0, min_spread_deg: float = 10.0,
                 max_rate_per_s: float = 0.2, max_factor: float = 1.5) -> None:
        self.deadband = deadband
        self.min_span_s = min_span_s
        self.min_spread_deg = min_spread_deg
        self.max_rate_per_s = max_rate_per_s
        self.max_factor = max_factor
        self.factor = 1.0
        self.reset()

    def reset(self) -> None:
        """Forget the frames so far (new set-up, new view, scene cut). The factor is kept and
        moves back toward 1 at the rate limit, so that forgetting never steps the angle."""
        self._n = 0
        self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._t0 = self._t = math.nan  # the first and the last frame offered (s)

    def target(self) -> float:
        """The factor the frames so far ask for (1 until enough span and spread)."""
        n = self._n
        if self.deadband >= 1.0 or n < 2 or self._t - self._t0 < self.min_span_s:
            return 1.0
        mx, my = self._sx / n, self._sy / n
        var = self._sxx / n - mx * mx
        if var < self.min_spread_deg ** 2:
            return 1.0
        slope = (self._sxy / n - mx * my) / var
        return min(self.max_factor, max(1.0, slope - self.deadband))

    def offer(self, t: float, e2d: float, e_world: float) -> float:
        """Add one frame's 2-D and world angles (deg) at time ``t`` (s); returns the updated
        :attr:`factor`, moved toward :meth:`target` at most ``max_rate_per_s``."""
        if not (math.isfinite(e2d) and math.isfinite(e_world)):
            return self.factor
        if self._n == 0:
            self._t0 = self._t = t
        dt = max(0.0, t - self._t)
        self._t = t
        self._n += 1
        self._sx += e_world
        self._sy += e2d
        self._sxx += e_world * e_world
        self._sxy += e_world * e2d
        step = self.max_rate_per_s * dt
        self.factor = min(self.factor + step, max(self.factor - step, self.target()))
        return self.factor
