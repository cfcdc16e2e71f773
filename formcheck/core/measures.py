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
        self.reset()

    def reset(self) -> None:
        """A new set (or a new shot): no reference hip and no head carriage yet."""
        self.neck_top: deque[float] = deque(maxlen=900)  # head carriage at the top (deg)
        self._ref_hip: np.ndarray | None = None
        self._ref_se = 0.0
        self._top_level = 0.0
        self._jitter: list[float] = []  # hip landmark jitter per window (px)

    def _hip_at_top_level(self, a: dict[str, np.ndarray], i0: int, i1: int) -> tuple[np.ndarray, float] | None:
        """Median hip position over samples i0..i1 whose e is within 4° of the set's top level,
        and the standard error of that median (px, the larger of the two axes)."""
        e = a["e"][i0 : i1 + 1]
        sel = np.abs(e - self._top_level) < self.HIP_MATCH_DEG
        if not sel.any():
            return None
        xy = np.stack([a["hip_x"][i0 : i1 + 1][sel], a["hip_y"][i0 : i1 + 1][sel]], axis=1)
        n = len(xy)
        if n >= 5:
            # Landmark jitter from successive differences (a slow slide barely moves them).
            d = np.abs(np.diff(xy, axis=0))
            self._jitter.append(float(np.max(1.4826 * np.median(d, axis=0) / math.sqrt(2.0))))
        # The median of n samples has a standard error of 1.2533 σ / √n; σ is the set's typical
        # jitter, so that a window of a few samples does not pass for a precise one.
        sigma = float(np.median(self._jitter)) if self._jitter else 0.0
        return np.median(xy, axis=0), 1.2533 * sigma / math.sqrt(n)

    def hip_shift(self, a: dict[str, np.ndarray], m: RepMetrics, rel: Segment, seg: Segment) -> float:
        """Hip slide since the previous rep, as a fraction of thigh length.

        The hip is taken where the trunk passes the set's top level, and compared with the same
        point of the previous rep: matching the trunk angle cancels the landmark's own drift with
        trunk pose (the hip landmark moves a few % of thigh length between flexion and arch).
        Only the part of the slide that landmark jitter cannot explain counts: 2.5 standard
        errors of the difference of the two medians are taken off (on a still hip, jitter alone
        stays under that 95 % of the time).
        """
        thigh = float(np.median(a["thigh"])) or 1.0
        if self._ref_hip is None and seg.order == "top":
            # First rep of a set that starts at the top: the still hold before it is the reference.
            k0 = int(np.searchsorted(a["t"], m.t_start - self.REF_HOLD_S))
            k1 = int(np.searchsorted(a["t"], m.t_start))
            if k1 > k0:
                self._top_level = float(np.median(a["e"][k0:k1]))
                ref = self._hip_at_top_level(a, k0, k1 - 1)
                if ref is not None:
                    self._ref_hip, self._ref_se = ref
        now = self._hip_at_top_level(a, int(np.searchsorted(a["t"], m.t_bottom)), rel.top[1])
        shift = 0.0
        if now is not None:
            hip_now, se_now = now
            if self._ref_hip is not None:
                slide = float(np.linalg.norm(hip_now - self._ref_hip))
                shift = max(0.0, slide - 2.5 * math.hypot(se_now, self._ref_se)) / thigh
            self._ref_hip, self._ref_se = hip_now, se_now
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
