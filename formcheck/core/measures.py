"""Per-rep measures beyond the angle: hip slide along the pad and head carriage (pure numpy).

:class:`RepMeasures` keeps what they need across the reps of one set: the hip position at the
set's top level, and the head's usual carriage at the top.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from formcheck.core.reps import RepMetrics, Segment, plateau_level


class RepMeasures:
    """Hip shift and neck extension of each rep of a set (see the methods for units)."""

    HIP_MATCH_DEG = 4.0
    REF_HOLD_S = 0.8

    def __init__(self, hold_band_deg: float) -> None:
        self.hold_band_deg = hold_band_deg
        self.neck_top: deque[float] = deque(maxlen=900)
        self.reset()

    def reset(self) -> None:
        """A new set: no reference hip yet."""
        self._ref_hip: np.ndarray | None = None
        self._top_level = 0.0

    def _hip_at_top_level(self, a: dict[str, np.ndarray], i0: int, i1: int) -> np.ndarray | None:
        """Median hip position over samples i0..i1 whose e is within 4° of the set's top level."""
        e = a["e"][i0 : i1 + 1]
        sel = np.abs(e - self._top_level) < self.HIP_MATCH_DEG
        if not sel.any():
            return None
        return np.array([np.median(a["hip_x"][i0 : i1 + 1][sel]), np.median(a["hip_y"][i0 : i1 + 1][sel])])

    def hip_shift(self, a: dict[str, np.ndarray], m: RepMetrics, rel: Segment, seg: Segment) -> float:
        """Hip slide since the previous rep, as a fraction of thigh length.

        The hip is taken where the trunk passes the set's top level, and compared with the same
        point of the previous rep: matching the trunk angle cancels the landmark's own drift with
        trunk pose (the hip landmark moves a few % of thigh length between flexion and arch).
        """
        thigh = float(np.median(a["thigh"])) or 1.0
        if self._ref_hip is None and seg.order == "top":
            # First rep of a set that starts at the top: the still hold before it is the reference.
            k0 = int(np.searchsorted(a["t"], m.t_start - self.REF_HOLD_S))
            k1 = int(np.searchsorted(a["t"], m.t_start))
            if k1 > k0:
                self._top_level = float(np.median(a["e"][k0:k1]))
                self._ref_hip = self._hip_at_top_level(a, k0, k1 - 1)
        hip_now = self._hip_at_top_level(a, int(np.searchsorted(a["t"], m.t_bottom)), rel.top[1])
        shift = 0.0
        if hip_now is not None:
            if self._ref_hip is not None:
                shift = float(np.linalg.norm(hip_now - self._ref_hip)) / thigh
            self._ref_hip = hip_now
        return shift

    def neck_extension(self, a: dict[str, np.ndarray], m: RepMetrics, rel: Segment) -> tuple[float, float]:
        """Head tipped back during the top hold against the usual carriage (deg, and its time).

        The baseline is the median carriage over the set's top samples; frames where the head is
        not seen are skipped, and the median over the hold makes a held crank count while one
        flickering landmark does not.
        """
        base = float(np.median(self.neck_top)) if self.neck_top else math.nan
        k0 = int(np.searchsorted(a["t"], m.t_top))
        neck = a["neck"][k0 : rel.top[1] + 1] - base
        t = a["t"][k0 : rel.top[1] + 1]
        band = max(self.hold_band_deg, 0.1 * (m.peak_extension_deg - m.depth_deg))
        ok = np.isfinite(neck) & (a["e"][k0 : rel.top[1] + 1] >= m.peak_extension_deg - band)
        if ok.sum() < 3:
            return 0.0, m.t_top
        value = float(np.median(neck[ok]))
        return value, float(t[ok][int(np.argmin(np.abs(neck[ok] - value)))])

    @staticmethod
    def peak_3d(a: dict[str, np.ndarray], rel: Segment) -> float:
        """The finish read from the world-landmark angle, on the same top plateau (deg)."""
        e3 = a["e3d"][rel.top[0] : rel.top[1] + 1]
        if np.isfinite(e3).sum() < 3:
            return math.nan
        return plateau_level(a["t"][rel.top[0] : rel.top[1] + 1], e3)[0]
