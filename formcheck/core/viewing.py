"""The view and the set-up, decided from the exercise itself (a part of :class:`Analyzer`).

Until the first rep, the profile, the facing and the view are re-decided on the latest
``view_check_s`` of bodies, so that walking in and mounting the machine (set-up) never fixes
them; while the legs move (walking, mounting, adjusting), the rep counter does not arm.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core import landmarks as L
from formcheck.core.events import Event, EventKind
from formcheck.core.reps import Phase

log = logging.getLogger(__name__)

MSG_SIDE_ON = "Turn side-on to the camera."


class ViewSteps:
    """Mixin of :class:`~formcheck.core.analysis.Analyzer`: view decision and set-up."""

    def _remember(self, t: float, b: K.Body) -> None:
        """Keep the view window and the legs' recent positions; flag set-up while legs move."""
        kc = self.cfg.kinematics
        self._window.append((t, b))
        while self._window and t - self._window[0][0] > kc.view_check_s:
            self._window.popleft()
        if min(b.visibility["knee"], b.visibility["ankle"]) >= kc.min_visibility:
            self._legs.append((t, (b.knee + b.ankle) / 2))
        while self._legs and t - self._legs[0][0] > kc.setup_leg_window_s:
            self._legs.popleft()
        torso = float(np.linalg.norm(b.shoulder - b.hip)) or 1.0
        if len(self._legs) >= 2:
            pts = np.array([p for _, p in self._legs])
            span = float(np.max(np.linalg.norm(pts - pts[-1], axis=1)))
            if span > kc.setup_leg_motion * torso:
                self._legs_moved_t = t
                # The prone leg line is the median of still legs: forget the moving ones (a
                # standing walk-in or the mount would skew it for seconds after).
                self._thighs.clear()
                self._thighs_w.clear()
                self.oblique.reset()
        # Set-up lasts until the legs have been still for setup_still_s.
        self.setting_up = t - self._legs_moved_t < kc.setup_still_s
        if b.visibility["knee"] >= kc.min_visibility:
            th = b.hip - b.knee
            n = float(np.linalg.norm(th))
            if n > 1e-6:
                self._thighs.append(th / n)
            if b.world is not None:
                w = b.world
                tw = (w[L.LEFT_HIP] + w[L.RIGHT_HIP]) / 2 - (w[L.LEFT_KNEE] + w[L.RIGHT_KNEE]) / 2
                self._thighs_w.append(tw)

    def _view_from(self, bodies: list[K.Body]) -> K.ViewFacts:
        kc = self.cfg.kinematics
        return K.decide_view(bodies, kc.profile, kc.frontal_ratio, kc.auto_knee_bent_deg,
                             kc.auto_leg_upright_deg, kc.min_visibility)

    def _recheck_view(self, t: float) -> list[Event]:
        """Until a set starts, re-decide the view on the latest window; switch when it changed."""
        kc = self.cfg.kinematics
        if t - self._decided_t < kc.view_recheck_s or not self._window:
            return []
        if t - self._window[0][0] < 0.8 * kc.view_check_s:
            return []
        self._decided_t = t
        vf = self._view_from([b for _, b in self._window])
        old = self.view
        facts = lambda v: (v.profile, v.front_sign, v.frontal, v.floor_side)  # noqa: E731
        if old is not None and facts(vf) == facts(old):
            return []
        if old is not None and self.machine.phase is not Phase.UNARMED and vf.profile == old.profile:
            return []  # armed: only a change of machine restarts (the facing vote wobbles mid-rep)
        self.view = vf
        self.oblique.reset()
        self.machine.reset()
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        if vf.frontal:
            return self._warn(t, MSG_SIDE_ON)
        log.info("view re-decided: profile=%s facing=%s", vf.profile, vf.facing)
        return [Event("view_ok", t, f"{vf.profile} profile, facing {vf.facing}",
                      {"profile": vf.profile, "facing": vf.facing})]

    def _decide_view(self, t: float, body: K.Body) -> list[Event]:
        kc = self.cfg.kinematics
        self._pending_bodies.append((t, body))
        t0 = self._pending_bodies[0][0]
        if t - t0 < kc.view_check_s:
            return []
        vf = self._view_from([b for _, b in self._pending_bodies])
        self._decided_t = t
        if vf.frontal:
            keep = len(self._pending_bodies) // 2
            for tp, _ in self._pending_bodies[:keep]:
                self._series_append(tp, math.nan, math.nan, math.nan, 0.0)
            self._pending_bodies = self._pending_bodies[keep:]
            self.view = vf
            return self._warn(t, MSG_SIDE_ON)
        self.view = vf
        log.info("view: profile=%s facing=%s shoulder ratio %.2f", vf.profile, vf.facing, vf.shoulder_ratio)
        return [Event(EventKind.VIEW_OK, t, f"{vf.profile} profile, facing {vf.facing}",
                      {"profile": vf.profile, "facing": vf.facing})]
