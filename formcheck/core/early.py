"""Cues while the rep happens (a part of :class:`Analyzer`): a thrown lift or a finish past
neutral is cued as soon as the trunk settles on the top plateau, not when the rep is finalised.
"""

from __future__ import annotations

from formcheck.core.events import Event, EventKind
from formcheck.core.faults import RepContext, evaluate
from formcheck.core.reps import Phase, Segment, measure


class EarlyFaultSteps:
    """Mixin of :class:`~formcheck.core.analysis.Analyzer`: early fault events."""

    EARLY_RULES = ("hyperextension", "jerky_lift")

    def _early_faults(self, i: int, t: float) -> list[Event]:
        """Cue a thrown lift or a finish past neutral while it happens, not when the rep is
        finalised (for a set that starts at the bottom, that is after the next lowering).

        Checked once per counted rep, as soon as the trunk has settled on the top plateau; the
        rep's final faults are still decided on the whole rep when it is finalised.
        """
        p = self.machine.pending
        key = p["top_since"] if p is not None else None  # a rep's first sample at the top
        if p is None or key in self._early or self.machine.phase is not Phase.TOP:
            return []
        if not self.machine.settled():
            return []
        self._early[key] = set()
        lo0 = p["lowering_from"] if p["lowering_from"] is not None else p["bottom_i"]
        seg = Segment("counted", p["order"], (lo0, p["bottom_i"]), (p["bottom_i"], p["top_since"]),
                      (p["top_since"], i))
        i0 = min(lo0, p["bottom_i"])
        a = self.buf.arrays(i0, i)
        rel = seg.shifted(i0)
        cfg = self.cfg
        m = measure(rel, a["t"], a["raw"], cfg.reps.phase_frac, cfg.faults.top_hold_band_deg,
                    cfg.reps.measure_smoothing_s, cfg.faults.top_hold_still_dps)
        ctx = RepContext(metrics=m, profile=self.profile or "seated", counted=True,
                         hip_shift_frac=0.0, hip_shift_t=m.t_top, neck_extension_deg=0.0,
                         neck_extension_t=m.t_top, bottom_deg=cfg.reps.bottom_deg,
                         closed=False, peak_extension_3d_deg=self.measures.peak_3d(a, rel))
        events = []
        for f in evaluate(ctx, cfg.faults):
            if f.id in self.EARLY_RULES:
                self._early[key].add(f.id)
                events.append(Event(EventKind.FAULT, t, f.cue, {"id": f.id, "rep": self._rep_index + 1, "early": True}))
        return events
