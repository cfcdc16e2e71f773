"""Neutral calibration (live 'c' key): hold still in neutral; the mean angle measured becomes
the analyser's neutral offset. Pure numpy; the live front end only feeds it and applies it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.core.events import EventKind


@dataclass(frozen=True)
class Calibration:
    """The outcome of one calibration.

    Attributes:
        t: time (s, source clock) when the hold ended.
        ok: the person was tracked and held still enough.
        message: what to tell the person.
        neutral_e_deg: mean extension angle e over the hold (deg), None when not tracked.
        sd_deg: standard deviation of e over the hold (deg), None when not tracked.
    """

    t: float
    ok: bool
    message: str
    neutral_e_deg: float | None = None
    sd_deg: float | None = None

    def to_dict(self, applied_offset_deg: float | None = None) -> dict:
        """The ``calibration`` JSON line (``applied_offset_deg``: the offset now in force)."""
        d: dict = {"event": EventKind.CALIBRATION.value, "t": round(self.t, 3), "ok": self.ok}
        if self.neutral_e_deg is not None:
            d["neutral_e_deg"] = round(self.neutral_e_deg, 2)
            d["sd_deg"] = round(float(self.sd_deg or 0.0), 2)
        d["message"] = self.message
        if applied_offset_deg is not None:
            d["applied_offset_deg"] = round(applied_offset_deg, 2)
        return d


class NeutralCalibrator:
    """Hold neutral still for ``duration_s`` seconds; reports the mean e (deg) measured.

    A steady result (standard deviation at most ``max_sd_deg`` degrees, at least
    ``min_samples`` tracked frames) becomes the analyser's neutral offset
    (``Analyzer.set_neutral_offset``): from then on e reads 0 where the person held still.
    """

    def __init__(self, duration_s: float = 2.0, max_sd_deg: float = 3.0, min_samples: int = 5) -> None:
        if not duration_s > 0:
            raise ValueError(f"duration_s: expected > 0 seconds, got {duration_s}")
        if not max_sd_deg >= 0:
            raise ValueError(f"max_sd_deg: expected >= 0 degrees, got {max_sd_deg}")
        self.duration_s = duration_s
        self.max_sd_deg = max_sd_deg
        self.min_samples = min_samples
        self._t0: float | None = None
        self._values: list[float] = []
        self.message: str | None = None
        self._message_t: float | None = None  # when the hold's result was said
        self.neutral_e_deg: float | None = None

    NOTICE_S = 5.0  # how long the hold's result stays on screen

    def notice(self, t: float) -> str | None:
        """What to show at time ``t`` (s): the instruction during the hold, then its result for
        :attr:`NOTICE_S` seconds (a failed hold's "press c again" does not stay for good)."""
        if self._t0 is not None:
            return self.message
        if self._message_t is not None and 0.0 <= t - self._message_t < self.NOTICE_S:
            return self.message
        return None

    def clear_notice(self) -> None:
        """Forget the last message (a new set: the live r key)."""
        if self._t0 is None:
            self.message, self._message_t = None, None

    @property
    def active(self) -> bool:
        return self._t0 is not None

    def start(self, t: float) -> None:
        """Start a hold at time ``t`` (s)."""
        self._t0, self._values = t, []
        self.message = f"Calibrating: hold neutral still for {self.duration_s:.0f} s"

    def update(self, t: float, e: float | None) -> Calibration | None:
        """Feed the current e (deg; None: not tracked) at ``t`` (s); the result when the hold ends."""
        if self._t0 is None:
            return None
        if e is not None and math.isfinite(e):
            self._values.append(e)
        if t - self._t0 < self.duration_s:
            return None
        self._t0 = None
        self._message_t = t
        v = np.asarray(self._values)
        if len(v) < self.min_samples:
            self.message = "Calibration failed: you were not tracked. Step into view and press c again."
            return Calibration(t, False, self.message)
        mean, sd = float(v.mean()), float(v.std())
        ok = sd <= self.max_sd_deg
        if ok:
            self.neutral_e_deg = mean
            self.message = f"Neutral reads e = {mean:+.1f} deg (sd {sd:.1f})"
        else:
            self.message = f"Calibration: hold still (moved {sd:.0f} deg). Press c again."
        return Calibration(t, ok, self.message, mean, sd)
