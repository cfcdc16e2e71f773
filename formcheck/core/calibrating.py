"""Neutral calibration inside the analyser (a part of :class:`Analyzer`): the live 'c' key,
``calibrate = "start"`` (the still second at the top before the first rep) and a stored offset.
"""

from __future__ import annotations

import numpy as np

from formcheck.core.calibration import Calibration
from formcheck.core.events import Event, EventKind
from formcheck.core.reps import Phase


class CalibrationSteps:
    """Mixin of :class:`~formcheck.core.analysis.Analyzer`: calibrations and their events."""

    CALIBRATE_S = 2.0  # live 'c' key: hold neutral this long
    CALIBRATE_MAX_SD_DEG = 3.0
    AUTO_CALIBRATE_S = 1.0  # calibrate = "start": the still hold at the top before the first rep

    def start_calibration(self, t_s: float) -> None:
        """Start a neutral calibration at ``t_s`` (live 'c' key): hold neutral still for 2 s;
        the angle held becomes neutral (an :data:`EventKind.CALIBRATION` event says so)."""
        self.calibrator.start(t_s)

    def _calibrate(self, t: float) -> list[Event]:
        """Feed the calibration in progress; apply its result when the hold ends."""
        cal = self.calibrator.update(t, self.last_e)
        if cal is None:
            return []
        return self._apply_calibration(cal, t, "live")

    def _apply_calibration(self, cal: Calibration, t: float, source: str) -> list[Event]:
        """Make a successful calibration's angle the new neutral; one CALIBRATION event."""
        offset = None
        if cal.ok and cal.neutral_e_deg is not None:
            # e already has the previous calibration removed: add it back.
            offset = self._neutral_offset + cal.neutral_e_deg
            self.set_neutral_offset(offset)
            self.neutral_source = source
            self.machine.reset()  # the zones move with neutral: arm again
        self.calibration = cal
        d = cal.to_dict(applied_offset_deg=offset)
        return [Event(EventKind.CALIBRATION, t, cal.message,
                      {k: v for k, v in d.items() if k not in ("event", "t", "message")})]

    def _auto_calibration(self, t: float) -> list[Event]:
        """calibrate = "start": the first still second at the top, before any rep, is neutral."""
        if not self._auto_calibrate or self.machine.count > 0:
            return []
        if self.machine.phase is not Phase.TOP or not self.machine.settled():
            return []
        i1 = self.buf.next_index - 1
        a = self.buf.arrays(max(self.buf.base, i1 - 400), i1)
        hold = a["t"] >= t - self.AUTO_CALIBRATE_S
        e = a["e"][hold]
        if a["t"][hold][0] > t - 0.9 * self.AUTO_CALIBRATE_S or np.ptp(e) > 3.0:
            return []  # not yet a whole still second
        self._auto_calibrate = False
        cal = Calibration(t, True, f"Neutral from the still start: e = {float(np.mean(e)):+.1f} deg",
                          float(np.mean(e)), float(np.std(e)))
        return self._apply_calibration(cal, t, "start")
