"""Rep counting: a hysteresis state machine over the extension angle e(t), and rep metrics.

Zones (degrees of e): TOP is ``e >= -top_deg``; BOTTOM is ``e <= -bottom_deg``; between them a
dead band. **A rep is counted when the trunk arrives in TOP after having been in BOTTOM.** The
counter arms only after the trunk has stayed ``settle_s`` in one zone, which also tells whether
the set starts at the top (seated guide: lower, then lift) or at the bottom (prone guide: lift,
then lower). A dip of more than ``partial_min_dip_deg`` below the current top that comes back
without reaching BOTTOM is a *partial* rep: reported, not counted.

A counted rep is finalised (metrics measured) once its last phase is over: for sets that start
at the top, when the next lowering begins (the top hold is then known); for sets that start at
the bottom, when the following lowering has reached the bottom and the next lift begins.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from formcheck.config import RepConfig


class Phase(str, Enum):
    UNARMED = "unarmed"
    TOP = "top"
    LOWERING = "lowering"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class Segment:
    """Buffer indices (absolute sample numbers) of one rep, handed to :func:`measure`.

    ``kind`` is ``"counted"`` or ``"partial"``; ``order`` is ``"top"`` (lowering then lift) or
    ``"bottom"`` (lift then lowering). Each phase is given as (first, last) sample numbers.
    """

    kind: str
    order: str
    lowering: tuple[int, int]
    lifting: tuple[int, int]
    top: tuple[int, int]
    closed: bool = True  # False when the set ended before the rep's last phase did

    def shifted(self, i0: int) -> Segment:
        """The same segment with sample numbers counted from ``i0`` (for arrays starting there)."""
        return Segment(self.kind, self.order, (self.lowering[0] - i0, self.lowering[1] - i0),
                       (self.lifting[0] - i0, self.lifting[1] - i0),
                       (self.top[0] - i0, self.top[1] - i0), self.closed)


class RepStateMachine:
    """Consumes (sample number, t, e) and emits rep segments; knows nothing of pixels.

    ``update`` returns a list of events: ``("armed", start)``, ``("counted", n)`` when a rep is
    counted (live feedback can say so at once), ``("segment", Segment)`` when a rep or partial
    rep is complete and can be measured.
    """

    def __init__(self, cfg: RepConfig):
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        self.phase = Phase.UNARMED
        self.start: str | None = None
        self.count = 0
        self._zone: str | None = None
        self._zone_since = 0.0
        self._top_ref = -math.inf
        self._top_ref_i = -1
        self._top_since_i = -1
        self._exc_t = 0.0
        self._exc_min = math.inf
        self._exc_min_i = -1
        self._bottom_min = math.inf
        self._bottom_min_i = -1
        self._pending: dict | None = None
        self._recent: deque[tuple[float, float]] = deque()
        self.min_seen_i = 0  # earliest sample still needed

    def zone(self, e: float) -> str:
        if e >= -self.cfg.top_deg:
            return "top"
        if e <= -self.cfg.bottom_deg:
            return "bottom"
        return "mid"

    SETTLE_WINDOW_S = 0.25
    SETTLE_SPREAD_DEG = 1.5

    @property
    def pending(self) -> dict | None:
        """The counted rep still waiting for its last phase (its sample numbers), or None."""
        return self._pending

    def settled(self) -> bool:
        """True when e has moved less than 1.5° over the last 0.25 s (a plateau)."""
        return self._settled()

    def _settled(self) -> bool:
        """True when e has moved less than 1.5° over the last 0.25 s (a plateau)."""
        r = self._recent
        if len(r) < 2 or r[-1][0] - r[0][0] < 0.8 * self.SETTLE_WINDOW_S:
            return False
        es = [x[1] for x in r]
        return max(es) - min(es) < self.SETTLE_SPREAD_DEG

    def update(self, i: int, t: float, e: float) -> list[tuple]:
        z = self.zone(e)
        ev: list[tuple] = []
        self._recent.append((t, e))
        while self._recent and t - self._recent[0][0] > self.SETTLE_WINDOW_S:
            self._recent.popleft()
        if self.phase is Phase.UNARMED:
            if z != self._zone:
                self._zone, self._zone_since = z, t
                self.min_seen_i = i
            elif z != "mid" and t - self._zone_since >= self.cfg.settle_s:
                self.start = z
                ev.append(("armed", z))
                if z == "top":
                    self._enter_top(i, e)
                else:
                    self.phase = Phase.BOTTOM
                    self._bottom_min, self._bottom_min_i = e, i
                    self._exc_t = self._zone_since
            return ev

        if self.phase is Phase.TOP:
            if e > self._top_ref:
                self._top_ref, self._top_ref_i = e, i
            if z == "bottom" or e < self._top_ref - self.cfg.partial_min_dip_deg:
                ev += self._finalise_top_start(i)
                self.phase = Phase.LOWERING
                self._exc_t = t
                self._exc_min, self._exc_min_i = e, i
                self._exc_top = self._top_ref
                self._exc_top_since = self._top_since_i
                if z == "bottom":
                    self._enter_bottom(i, e)
            return ev

        if self.phase is Phase.LOWERING:
            if e < self._exc_min:
                self._exc_min, self._exc_min_i = e, i
            if z == "bottom":
                self._enter_bottom(i, e)
            elif (
                z == "top"
                and e >= self._exc_min + 0.75 * self.cfg.partial_min_dip_deg
                and self._settled()
            ):
                # Back at a still top without having reached the bottom: a partial rep.
                if t - self._exc_t >= 0.3:
                    seg = Segment("partial", "top", (self._exc_top_since, self._exc_min_i),
                                  (self._exc_min_i, i), (i, i))
                    ev.append(("segment", seg))
                self._enter_top(i, e)
            return ev

        # Phase.BOTTOM
        if e < self._bottom_min:
            self._bottom_min, self._bottom_min_i = e, i
        if self._pending is not None and self._pending["order"] == "bottom" and (
            e > self._bottom_min + self.cfg.partial_min_dip_deg
        ):
            ev += self._finalise_bottom_start(self._bottom_min_i, i)
        if z == "top":
            if t - self._exc_t >= self.cfg.min_rep_s:
                self.count += 1
                ev.append(("counted", self.count))
                lowering_from = self._exc_top_since if self.start == "top" else None
                self._pending = {
                    "order": self.start, "bottom_i": self._bottom_min_i,
                    "lowering_from": lowering_from, "top_since": i,
                }
            self._enter_top(i, e)
        return ev

    def _enter_top(self, i: int, e: float) -> None:
        self.phase = Phase.TOP
        self._top_ref, self._top_ref_i = e, i
        self._top_since_i = i
        if self._pending is None:
            self.min_seen_i = i

    def _enter_bottom(self, i: int, e: float) -> None:
        self.phase = Phase.BOTTOM
        self._bottom_min, self._bottom_min_i = e, i

    def _finalise_top_start(self, i_end: int, closed: bool = True) -> list[tuple]:
        p = self._pending
        if p is None or p["order"] != "top":
            return []
        self._pending = None
        seg = Segment("counted", "top", (p["lowering_from"], p["bottom_i"]),
                      (p["bottom_i"], i_end), (p["top_since"], i_end), closed)
        self.min_seen_i = max(0, self._top_since_i)
        return [("segment", seg)]

    def _finalise_bottom_start(self, bottom_i: int, i_end: int, closed: bool = True) -> list[tuple]:
        p = self._pending
        self._pending = None
        seg = Segment("counted", "bottom", (p["top_since"], bottom_i),
                      (p["bottom_i"], p["top_since"]), (p["top_since"], bottom_i), closed)
        self.min_seen_i = bottom_i
        return [("segment", seg)]

    def finish(self, i_last: int) -> list[tuple]:
        """End of the set: finalise a rep that is still waiting for its last phase."""
        p = self._pending
        if p is None:
            return []
        if p["order"] == "top":
            return self._finalise_top_start(i_last, closed=False)
        bottom_i = self._bottom_min_i if self.phase is Phase.BOTTOM else i_last
        return self._finalise_bottom_start(bottom_i, i_last, closed=self.phase is Phase.BOTTOM)


@dataclass(frozen=True)
class RepMetrics:
    """Measured values of one rep. Times in s from clip start, angles in deg, speeds in deg/s."""

    t_start: float
    t_bottom: float
    t_top: float
    t_end: float
    depth_deg: float
    peak_extension_deg: float
    peak_extension_t: float
    lowering_s: float
    lifting_s: float
    top_hold_s: float
    peak_lift_velocity_dps: float
    peak_lift_velocity_t: float
    peak_lower_velocity_dps: float
    smoothness: float


def _first(mask: np.ndarray, default: int) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else default


def _last(mask: np.ndarray, default: int) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[-1]) if idx.size else default


def log_dimensionless_jerk(t: np.ndarray, v: np.ndarray) -> float:
    """Log dimensionless jerk of a velocity profile (closer to 0 = smoother; min-jerk ≈ -6.3... ).

    Returns NaN for segments too short to differentiate twice.
    """
    if len(t) < 5:
        return float("nan")
    dur = float(t[-1] - t[0])
    vpk = float(np.max(np.abs(v)))
    if dur <= 0 or vpk <= 0:
        return float("nan")
    jerk = np.gradient(np.gradient(v, t), t)
    integral = float(np.sum(0.5 * (jerk[1:] ** 2 + jerk[:-1] ** 2) * np.diff(t)))
    return -math.log(max(integral * dur**3 / vpk**2, 1e-12))


PLATEAU_HALF_WINDOW_S = 0.07  # the top is read from a running median over ±0.07 s


def running_median(t: np.ndarray, x: np.ndarray, half_window_s: float) -> np.ndarray:
    """Centred running median of ``x`` over ±``half_window_s`` seconds of real time (NaNs skipped)."""
    out = np.empty_like(x, dtype=np.float64)
    lo = np.searchsorted(t, t - half_window_s, side="left")
    hi = np.searchsorted(t, t + half_window_s, side="right")
    for k in range(len(x)):
        w = x[lo[k] : hi[k]]
        w = w[np.isfinite(w)]
        out[k] = float(np.median(w)) if w.size else math.nan
    return out


def plateau_level(t: np.ndarray, x: np.ndarray) -> tuple[float, int, float]:
    """The top plateau of a noisy angle: (level, index, noise).

    The level is the highest value of a ±0.1 s running median, so one noisy sample cannot raise
    it; ``noise`` is the median absolute deviation of the samples from that median (deg).
    """
    if len(x) == 0 or not np.isfinite(x).any():
        return math.nan, 0, 0.0
    med = running_median(t, x, PLATEAU_HALF_WINDOW_S)
    k = int(np.nanargmax(med))
    resid = np.abs(x - med)
    noise = float(np.nanmedian(resid)) if np.isfinite(resid).any() else 0.0
    return float(med[k]), k, noise


def measure(
    seg: Segment, t: np.ndarray, e: np.ndarray, v: np.ndarray, phase_frac: float, hold_band: float
) -> RepMetrics:
    """Measure a rep from arrays of times, e and velocity indexed relative to the segment.

    Phase boundaries sit at ``phase_frac`` of each phase's range from its ends, so tempo does not
    depend on noise at the turning points.
    """
    lo0, lo1 = seg.lowering
    li0, li1 = seg.lifting
    to0, to1 = seg.top
    # Lowering: from the top level before it to the bottom.
    i_top_l = lo0 + int(np.argmax(e[lo0 : lo1 + 1]))
    i_bot_l = i_top_l + int(np.argmin(e[i_top_l : lo1 + 1]))
    top_before = float(np.max(e[lo0 : i_bot_l + 1]))
    # Lifting: from the bottom to the top level after it (the peak of the top stay).
    li_e = e[li0 : li1 + 1]
    i_bot = li0 + int(np.argmin(li_e))
    depth = float(min(e[i_bot], e[i_bot_l]))
    top_e = e[to0 : to1 + 1]
    tt = t[to0 : to1 + 1]
    # The finish is the top plateau, not the maximum of a noisy signal (noise inflates a maximum).
    peak, k_pk, noise = plateau_level(tt, top_e)
    i_pk = to0 + k_pk
    i_pk_lift = i_pk
    rom_lo = max(top_before - e[i_bot_l], 1e-6)
    s = lo0 + _last(e[lo0 : i_bot_l + 1] >= top_before - phase_frac * rom_lo, 0)
    le = s + _first(e[s : i_bot_l + 1] <= e[i_bot_l] + phase_frac * rom_lo, i_bot_l - s)
    rom_li = max(peak - e[i_bot], 1e-6)
    ls = i_bot + _last(e[i_bot : i_pk_lift + 1] <= e[i_bot] + phase_frac * rom_li, 0)
    lend = ls + _first(e[ls : i_pk_lift + 1] >= peak - phase_frac * rom_li, i_pk_lift - ls)
    # Top hold: time within the band of the plateau during the top stay; the band widens with the
    # landmark noise so that jitter does not cut a real hold into pieces.
    in_band = top_e >= peak - max(hold_band, 3.0 * noise)
    dt = np.diff(tt, append=tt[-1]) if len(tt) > 1 else np.zeros(1)
    hold = float(np.sum(dt[in_band[: len(dt)]]))
    lift_v = v[ls : lend + 1] if lend > ls else v[ls : ls + 1]
    i_vmax = ls + int(np.argmax(lift_v))
    lower_v = v[s : le + 1] if le > s else v[s : s + 1]
    if seg.order == "top":
        i_end = i_pk + _last(e[i_pk : to1 + 1] >= peak - phase_frac * rom_li, 0)
        t_start, t_end = t[s], t[i_end]
    else:
        t_start, t_end = t[ls], t[le]
    return RepMetrics(
        t_start=float(t_start), t_bottom=float(t[i_bot]), t_top=float(t[lend]),
        t_end=float(t_end), depth_deg=depth, peak_extension_deg=peak,
        peak_extension_t=float(t[i_pk]), lowering_s=float(t[le] - t[s]),
        lifting_s=float(t[lend] - t[ls]), top_hold_s=hold,
        peak_lift_velocity_dps=float(np.max(lift_v)),
        peak_lift_velocity_t=float(t[i_vmax]),
        peak_lower_velocity_dps=float(-np.min(lower_v)),
        smoothness=log_dimensionless_jerk(t[ls : lend + 1], v[ls : lend + 1]),
    )
