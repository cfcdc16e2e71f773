"""Rep counting: a hysteresis state machine over the extension angle e(t), and rep metrics.

Zones (degrees of e): TOP is ``e >= -top_deg``; BOTTOM is ``e <= -bottom_deg``; between them a
dead band. **A rep is counted when the trunk arrives in TOP after having been in BOTTOM.** The
counter arms only after the trunk has stayed ``settle_s`` in one zone, which also tells whether
the set starts at the top (seated guide: lower, then lift) or at the bottom (prone guide: lift,
then lower). A dip of more than ``partial_min_dip_deg`` below the current top that comes back
without reaching BOTTOM is a rep over **the athlete's own range** when it is at least
``min_range_deg`` and ``own_range_frac`` of the set's typical range (seed 001: "Use a smaller
range if your lower back feels pinchy"), else a *partial* rep: reported, not counted.

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
    own_range: bool = False  # counted over the set's own range, short of BOTTOM

    def shifted(self, i0: int) -> Segment:
        """The same segment with sample numbers counted from ``i0`` (for arrays starting there)."""
        return Segment(self.kind, self.order, (self.lowering[0] - i0, self.lowering[1] - i0),
                       (self.lifting[0] - i0, self.lifting[1] - i0),
                       (self.top[0] - i0, self.top[1] - i0), self.closed, self.own_range)


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
        self._zone_peak = (-math.inf, -1)  # highest e (and its sample) since the zone was entered
        self._top_ref = -math.inf
        self._top_ref_i = -1
        self._top_since_i = -1
        self._exc_t = 0.0
        self._exc_min = math.inf
        self._exc_min_i = -1
        self._bottom_min = math.inf
        self._bottom_min_i = -1
        self._pending: dict | None = None
        self._provisional: dict | None = None  # a first short dip, counted once a second matches it
        self.ranges: deque[float] = deque(maxlen=5)  # ranges of the last counted reps (deg)
        self.own_range_count = 0  # reps counted over the set's own range (short of BOTTOM)
        self._recent: deque[tuple[float, float]] = deque()
        self.min_seen_i = 0  # earliest sample still needed

    def zone(self, e: float) -> str:
        if e >= -self.cfg.top_deg:
            return "top"
        if e <= -self.cfg.bottom_deg:
            return "bottom"
        return "mid"

    @property
    def pending(self) -> dict | None:
        """The counted rep still waiting for its last phase (its sample numbers), or None."""
        return self._pending

    def settled(self) -> bool:
        """True when e has moved less than ``settle_spread_deg`` over the last ``settle_window_s``
        (a plateau)."""
        return self._settled()

    def _settled(self) -> bool:
        r = self._recent
        if len(r) < 2 or r[-1][0] - r[0][0] < 0.8 * self.cfg.settle_window_s:
            return False
        es = [x[1] for x in r]
        return max(es) - min(es) < self.cfg.settle_spread_deg

    def update(self, i: int, t: float, e: float) -> list[tuple]:
        z = self.zone(e)
        ev: list[tuple] = []
        self._recent.append((t, e))
        while self._recent and t - self._recent[0][0] > self.cfg.settle_window_s:
            self._recent.popleft()
        if self.phase is Phase.UNARMED:
            if z != self._zone:
                self._zone, self._zone_since = z, t
                self.min_seen_i = i
                self._zone_peak = (e, i)
            elif e > self._zone_peak[0]:
                self._zone_peak = (e, i)
            if z == self._zone and z != "mid" and t - self._zone_since >= self.cfg.settle_s:
                self.start = z
                ev.append(("armed", z))
                if z == "top":
                    # The top stay began when the zone was entered, and its reference is the
                    # highest e since: the first lowering may already be under way.
                    self._enter_top(self.min_seen_i, e)
                    self._top_ref, self._top_ref_i = self._zone_peak
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
                if self._provisional is not None and self._provisional["top_end"] is None:
                    self._provisional["top_end"] = i
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
                # Back at a still top without having reached the bottom: a rep over the set's own
                # range, or a partial rep.
                if t - self._exc_t >= self.cfg.partial_min_s:
                    ev += self._short_dip(i, e)
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
                ev += self._drop_provisional()
                lowering_from = self._exc_top_since if self.start == "top" else None
                ev += self._count(self._bottom_min_i, lowering_from, i)
                if self.start == "top":
                    self.ranges.append(self._exc_top - self._bottom_min)
            self._enter_top(i, e)
        return ev

    def _count(self, bottom_i: int, lowering_from: int | None, top_since: int,
               own_range: bool = False) -> list[tuple]:
        self.count += 1
        self._pending = {
            "order": self.start, "bottom_i": bottom_i,
            "lowering_from": lowering_from, "top_since": top_since, "own_range": own_range,
        }
        return [("counted", self.count)]

    def typical_range(self) -> float:
        """The set's own range: the median range of its last (up to 5) counted reps, deg (NaN
        before the first)."""
        return float(np.median(self.ranges)) if self.ranges else math.nan

    def _short_dip(self, i: int, e: float) -> list[tuple]:
        """A dip from the top that came back without reaching BOTTOM (the trunk is at the top
        again, at sample ``i`` and angle ``e``).

        Its range is the lift's: from the bottom of the dip to the top it came back to (a dip from
        one arched finish is not a full rep). It is a rep over the set's own range when it is at
        least ``min_range_deg`` deep and at least ``own_range_frac`` of the set's typical range;
        the first such dip of a set waits for a second of the same size (it is counted then, both
        at once); otherwise, and in sets that start at the bottom, it is a partial rep."""
        cfg = self.cfg
        rng = e - self._exc_min
        dip = {"lowering_from": self._exc_top_since, "bottom_i": self._exc_min_i, "top_since": i,
               "top_end": None, "range": rng}
        typical = self.typical_range()
        if self.start != "top" or rng < cfg.min_range_deg or (
            math.isfinite(typical) and rng < cfg.own_range_frac * typical
        ):
            return self._partial(dip)
        if math.isfinite(typical):
            self.own_range_count += 1
            self.ranges.append(rng)
            return self._count(dip["bottom_i"], dip["lowering_from"], i, own_range=True)
        prov = self._provisional
        self._provisional = None
        if prov is None:
            self._provisional = dip
            return []
        if min(rng, prov["range"]) < cfg.own_range_frac * max(rng, prov["range"]):
            self._provisional = dip  # not the same size: the earlier one was a partial
            return self._partial(prov)
        # Two dips of the same size: the set's own range. Count the first, then this one.
        ev = self._count(prov["bottom_i"], prov["lowering_from"], prov["top_since"], own_range=True)
        ev += self._finalise_top_start(prov["top_end"])
        self.own_range_count += 2
        self.ranges.extend((prov["range"], rng))
        return ev + self._count(dip["bottom_i"], dip["lowering_from"], i, own_range=True)

    def _partial(self, dip: dict) -> list[tuple]:
        end = dip["top_since"]
        return [("segment", Segment("partial", "top", (dip["lowering_from"], dip["bottom_i"]),
                                    (dip["bottom_i"], end), (end, end)))]

    def _drop_provisional(self) -> list[tuple]:
        """A waiting short dip that no second one matched is a partial rep after all."""
        prov, self._provisional = self._provisional, None
        return self._partial(prov) if prov is not None else []

    def _enter_top(self, i: int, e: float) -> None:
        self.phase = Phase.TOP
        self._top_ref, self._top_ref_i = e, i
        self._top_since_i = i
        if self._pending is None:
            self.min_seen_i = self._keep_provisional(i)

    def _keep_provisional(self, i: int) -> int:
        """The earliest sample still needed: ``i``, or a waiting short dip's first sample."""
        prov = self._provisional
        return i if prov is None else min(i, prov["lowering_from"])

    def _enter_bottom(self, i: int, e: float) -> None:
        self.phase = Phase.BOTTOM
        self._bottom_min, self._bottom_min_i = e, i

    def _finalise_top_start(self, i_end: int, closed: bool = True) -> list[tuple]:
        p = self._pending
        if p is None or p["order"] != "top":
            return []
        self._pending = None
        i_end = max(i_end, p["top_since"])  # a set ended early never ends a rep before its top
        seg = Segment("counted", "top", (p["lowering_from"], p["bottom_i"]),
                      (p["bottom_i"], i_end), (p["top_since"], i_end), closed, p["own_range"])
        self.min_seen_i = self._keep_provisional(max(0, self._top_since_i))
        return [("segment", seg)]

    def _finalise_bottom_start(self, bottom_i: int, i_end: int, closed: bool = True) -> list[tuple]:
        p = self._pending
        self._pending = None
        seg = Segment("counted", "bottom", (p["top_since"], bottom_i),
                      (p["bottom_i"], p["top_since"]), (p["top_since"], bottom_i), closed)
        self.min_seen_i = bottom_i
        return [("segment", seg)]

    def end_at(self, i_last: int) -> list[tuple]:
        """The set ended at sample ``i_last`` (the athlete got off; later samples are not the
        set): a rep that reached its bottom after it is dropped, one under way is finalised."""
        p = self._pending
        if p is not None and p["bottom_i"] > i_last:
            self._pending = None
        return self.finish(i_last)

    def finish(self, i_last: int) -> list[tuple]:
        """End of the set: finalise a rep that is still waiting for its last phase."""
        p = self._pending
        if p is None:
            return self._drop_provisional()
        if p["order"] == "top":
            return self._finalise_top_start(i_last, closed=False) + self._drop_provisional()
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


def _first(mask: np.ndarray, default: int) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else default


def _last(mask: np.ndarray, default: int) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[-1]) if idx.size else default


def _run_around(mask: np.ndarray, k: int) -> tuple[int, int]:
    """First and last index of the run of True in ``mask`` that contains index ``k``."""
    lo = k
    while lo > 0 and mask[lo - 1]:
        lo -= 1
    hi = k
    while hi < len(mask) - 1 and mask[hi + 1]:
        hi += 1
    return lo, hi


def smooth(t: np.ndarray, x: np.ndarray, sigma_s: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of ``x`` over real time (σ = ``sigma_s`` seconds).

    Works on irregular frame times; at the ends the kernel is cut and renormalised, so the last
    samples of a rep still being watched are smoothed from one side only (no lag, more noise).
    """
    x = np.asarray(x, dtype=np.float64)
    if sigma_s <= 0 or len(x) < 3:
        return x.copy()
    steps = np.diff(t)
    dt_min = float(np.min(steps[steps > 0])) if np.any(steps > 0) else sigma_s
    reach = min(len(x) - 1, int(3.0 * sigma_s / dt_min) + 1, 64)  # samples within 3 σ
    num, den = x.copy(), np.ones_like(x)
    for k in range(1, reach + 1):  # O(n·reach): long top holds stay cheap
        d = (t[k:] - t[:-k]) / sigma_s
        w = np.where(d <= 3.0, np.exp(-0.5 * d * d), 0.0)
        num[k:] += w * x[:-k]
        den[k:] += w
        num[:-k] += w * x[k:]
        den[:-k] += w
    return num / den


def sample_noise(x: np.ndarray) -> float:
    """σ of the frame-to-frame noise of ``x`` from its second differences (a smooth movement
    barely has any at video rates; white noise has σ·√6): 1.4826 × their median / √6."""
    if len(x) < 3:
        return 0.0
    return 1.4826 * float(np.median(np.abs(np.diff(x, 2)))) / math.sqrt(6.0)


def crossing_time(t: np.ndarray, x: np.ndarray, i: int, j: int, level: float) -> float:
    """Time at which the straight line from sample ``i`` to sample ``j`` crosses ``level``.

    Phase boundaries fall between frames; interpolating them keeps tempo from being quantised to
    whole frames (a 0.40 s lift at 30 fps is not read as 0.367 s or 0.433 s).
    """
    if i == j or x[j] == x[i]:
        return float(t[j])
    w = min(1.0, max(0.0, (level - x[i]) / (x[j] - x[i])))
    return float(t[i] + w * (t[j] - t[i]))


LEVEL_BAND_MIN_DEG = 0.5  # the finish and the bottom: median of the samples this close to them
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

    The level is the highest value of a ±0.07 s running median, so one noisy sample cannot raise
    it; ``noise`` is the median absolute deviation of the samples from that median (deg).
    """
    if len(x) == 0 or not np.isfinite(x).any():
        return math.nan, 0, 0.0
    med = running_median(t, x, PLATEAU_HALF_WINDOW_S)
    k = int(np.nanargmax(med))
    resid = np.abs(x - med)
    noise = float(np.nanmedian(resid)) if np.isfinite(resid).any() else 0.0
    return float(med[k]), k, noise


def _level(e: np.ndarray, e_raw: np.ndarray, k: int, band: float) -> float:
    """The level of the turning point at sample ``k`` of the smoothed angle ``e``: the median of the
    raw samples of the run around ``k`` within ``band`` of it (a top if e[k] is a maximum there,
    a bottom if a minimum). The extreme of a noisy signal sits on the tail of its noise; the
    median of the samples at the turn does not."""
    near = np.abs(e - e[k]) <= band
    lo, hi = _run_around(near, k)
    return float(np.median(e_raw[lo : hi + 1]))


def measure(
    seg: Segment, t: np.ndarray, e_raw: np.ndarray, phase_frac: float, hold_band: float,
    smooth_s: float = 0.03, still_dps: float = math.inf,
) -> RepMetrics:
    """Measure a rep from its times and unfiltered angles, indexed relative to the segment.

    The rep is over (or its last phase is) when it is measured, so the angle is smoothed without
    lag (:func:`smooth`, σ = ``smooth_s``) and the velocity is the derivative of a copy smoothed
    twice as much (a derivative amplifies noise). Turning points (the top before the lowering,
    the bottoms, the finish) are read as levels, not extremes (:func:`_level`). Phase boundaries
    sit at ``phase_frac`` of each phase's range from its ends, so tempo does not depend on noise
    at the turning points, and their times are interpolated between frames.

    Top hold: the time of the top stay spent within ``hold_band`` of the finish (at least 2 σ of
    the landmark noise) while moving slower than ``still_dps``: a slow creep at the top is a pause;
    a turn-around is not, however long it lingers near the finish.
    """
    e = smooth(t, e_raw, smooth_s)
    v = np.gradient(smooth(t, e_raw, 2.0 * smooth_s), t) if len(e) > 1 else np.zeros_like(e)
    noise = sample_noise(e_raw)
    level_band = max(LEVEL_BAND_MIN_DEG, 2.0 * noise)
    lo0, lo1 = seg.lowering
    li0, li1 = seg.lifting
    to0, to1 = seg.top
    # Lowering: from the top level before it to the bottom.
    i_top_l = lo0 + int(np.argmax(e[lo0 : lo1 + 1]))
    i_bot_l = i_top_l + int(np.argmin(e[i_top_l : lo1 + 1]))
    top_before = _level(e, e_raw, lo0 + int(np.argmax(e[lo0 : i_bot_l + 1])), level_band)
    bottom_l = _level(e, e_raw, i_bot_l, level_band)
    # Lifting: from the bottom to the finish (the top plateau of the top stay, not the maximum
    # of a noisy signal: the highest ±0.07 s running median, then its level).
    i_bot = li0 + int(np.argmin(e[li0 : li1 + 1]))
    bottom = _level(e, e_raw, i_bot, level_band)
    depth = min(bottom, bottom_l)
    top_e = e[to0 : to1 + 1]
    tt = t[to0 : to1 + 1]
    i_pk = to0 + plateau_level(tt, top_e)[1]
    peak = _level(e, e_raw, i_pk, level_band)
    rom_lo = max(top_before - bottom_l, 1e-6)
    lvl_lo_start = top_before - phase_frac * rom_lo
    lvl_lo_end = bottom_l + phase_frac * rom_lo
    s = lo0 + _last(e[lo0 : i_bot_l + 1] >= lvl_lo_start, 0)
    le = s + _first(e[s : i_bot_l + 1] <= lvl_lo_end, i_bot_l - s)
    rom_li = max(peak - bottom, 1e-6)
    lvl_li_start = bottom + phase_frac * rom_li
    lvl_li_end = peak - phase_frac * rom_li
    ls = i_bot + _last(e[i_bot : i_pk + 1] <= lvl_li_start, 0)
    lend = ls + _first(e[ls : i_pk + 1] >= lvl_li_end, i_pk - ls)
    t_lo_start = crossing_time(t, e, s, min(s + 1, i_bot_l), lvl_lo_start)
    t_lo_end = crossing_time(t, e, max(le - 1, s), le, lvl_lo_end)
    t_li_start = crossing_time(t, e, ls, min(ls + 1, i_pk), lvl_li_start)
    t_li_end = crossing_time(t, e, max(lend - 1, ls), lend, lvl_li_end)
    band = max(hold_band, 2.0 * noise)
    in_hold = (top_e >= peak - band) & (np.abs(v[to0 : to1 + 1]) <= still_dps)
    dt = np.diff(tt, append=tt[-1]) if len(tt) > 1 else np.zeros(1)
    hold = float(np.sum(dt[in_hold[: len(dt)]]))
    lift_v = v[ls : lend + 1] if lend > ls else v[ls : ls + 1]
    i_vmax = ls + int(np.argmax(lift_v))
    lower_v = v[s : le + 1] if le > s else v[s : s + 1]
    if seg.order == "top":
        i_end = i_pk + _last(e[i_pk : to1 + 1] >= lvl_li_end, 0)
        t_start = t_lo_start
        t_end = crossing_time(t, e, i_end, min(i_end + 1, to1), lvl_li_end)
    else:
        t_start, t_end = t_li_start, t_lo_end
    return RepMetrics(
        t_start=t_start, t_bottom=float(t[i_bot]), t_top=t_li_end,
        t_end=t_end, depth_deg=depth, peak_extension_deg=peak,
        peak_extension_t=float(t[i_pk]), lowering_s=t_lo_end - t_lo_start,
        lifting_s=t_li_end - t_li_start, top_hold_s=hold,
        peak_lift_velocity_dps=float(np.max(lift_v)),
        peak_lift_velocity_t=float(t[i_vmax]),
        peak_lower_velocity_dps=float(-np.min(lower_v)),
    )
