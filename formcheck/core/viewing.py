"""The view and the set-up, decided from the exercise itself (a part of :class:`Analyzer`).

Until the first rep, the profile, the facing and the view are re-decided on the latest
``view_check_s`` of bodies, so that walking in and mounting the machine (set-up) never fixes
them; while the legs move (walking, mounting, adjusting), the rep counter does not arm.

Getting off is not the set either. Once reps were counted, a body that moves like that (face
down: legs or hips leaving the pad; seated: legs and hips; a standing hinge: legs) and is still
away from its place ``leave_confirm_s`` later ends the set where it began to move: the rep under
way is closed with the samples before, and the samples since (held back meanwhile) are never
judged, so standing up is never read as a rep or a fault. Back in place, it was a landmark
wandering, and the held samples are judged as usual.
"""

from __future__ import annotations

import bisect
import logging
import math

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core import landmarks as L
from formcheck.core.events import Event, EventKind
from formcheck.core.reps import Phase

log = logging.getLogger(__name__)

MSG_SIDE_ON = "Turn side-on to the camera."
MSG_SET_ENDED = "Set finished: you got off the machine."


def _span(track) -> float:
    """How far the points of a ``(t, point)`` track lie from its newest one, at most (px)."""
    if len(track) < 2:
        return 0.0
    pts = np.array([p for _, p in track])
    return float(np.max(np.linalg.norm(pts - pts[-1], axis=1)))


class ViewSteps:
    """Mixin of :class:`~formcheck.core.analysis.Analyzer`: view decision and set-up."""

    def _remember(self, t: float, b: K.Body) -> list[Event]:
        """Keep the view window and the legs' recent positions; flag set-up while legs move,
        and end a set under way when they do."""
        events: list[Event] = []
        kc = self.cfg.kinematics
        self._window.append((t, b))
        while self._window and t - self._window[0][0] > kc.view_check_s:
            self._window.popleft()
        if min(b.visibility["knee"], b.visibility["ankle"]) >= kc.min_visibility:
            self._legs.append((t, (b.knee + b.ankle) / 2))
        self._hips.append((t, b.hip))
        for track in (self._legs, self._hips):
            while track and t - track[0][0] > kc.setup_leg_window_s:
                track.popleft()
        torso = float(np.linalg.norm(b.shoulder - b.hip)) or 1.0
        limit = kc.setup_leg_motion * torso
        events += self._leaving_check(t, b)
        legs_moved = _span(self._legs) > limit
        hips_moved = _span(self._hips) > limit
        # Getting off, once reps were counted. Face down, hips that travel like walking legs are
        # leaving the pad (off a 45° bench the feet stay on the plate while you stand up), and
        # so are legs. On a seat, standing up moves both; either landmark alone wanders for a
        # second or more when the trunk hides the legs at the bottom of a rep or tilts the pelvis
        # at the top. A standing hinge moves its hips by design: there, the legs.
        vf = self.view
        need_all = False
        if vf is not None and vf.profile != K.PRONE:
            if vf.leg_from_vertical_deg < kc.auto_leg_upright_deg:
                hips_moved = False
            else:
                need_all = True
        leaving = [tr for tr, moved in ((self._legs, legs_moved), (self._hips, hips_moved)) if moved]
        if need_all and not (legs_moved and hips_moved):
            leaving = []
        if leaving and self.machine.count > 0 and self._leaving is None:
            # Perhaps getting off: when the body began to move, and its place in the set.
            rest = [(tr is self._hips, self._place.get(tr is self._hips, tr[0][1])) for tr in leaving]
            self._leaving = (min(tr[0][0] for tr in leaving), rest, need_all, limit)
        elif not self.setting_up:
            # Still for setup_still_s: this is the body's place (not where a wandering landmark
            # or a move that came back left it).
            self._place[True] = b.hip
            if self._legs and self._legs[-1][0] == t:
                self._place[False] = self._legs[-1][1]
        if leaving or legs_moved:
            self._legs_moved_t = t
            # The prone leg line is the median of still legs: forget the moving ones (a
            # standing walk-in or the mount would skew it for seconds after).
            self._thighs.clear()
            self._thighs_w.clear()
            self.oblique.reset()
        # Set-up lasts until the legs (and, face down, the hips) have been still for setup_still_s.
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
        return events

    def _leaving_check(self, t: float, b: K.Body | None) -> list[Event]:
        """Decide a pending "getting off" ``leave_confirm_s`` after the body began to move: still
        away from where it was (by as much as it took to see it move), the set ended there; back
        in place, it was a landmark wandering (a leg hidden by the trunk at the bottom of a seated
        rep). ``b`` None: the person is gone, which ends the set too."""
        if self._leaving is None:
            return []
        t0, rest, need_all, limit = self._leaving
        if b is not None:
            if t - t0 < self.cfg.kinematics.leave_confirm_s:
                return []
            now = {True: b.hip, False: (b.knee + b.ankle) / 2}
            away = [bool(np.linalg.norm(now[is_hip] - p) > limit) for is_hip, p in rest]
            if not (all(away) if need_all else any(away)):
                self._leaving = None
                held, self._held = self._held, []
                return [ev for i, th, e in held for ev in self._judge(i, th, e)]
        return self._end_set(t0)

    def _end_set(self, t_end: float) -> list[Event]:
        """The body began to leave the machine at about ``t_end`` (the start of the window in
        which it moved) after reps were counted. Close the rep under way with the samples before
        ``t_end`` and start afresh; a new set arms once the body is still again."""
        self._leaving = None
        self._held.clear()  # getting off: never judged
        ts = self.buf.cols["t"]
        k = bisect.bisect_left(ts, t_end) - 1
        events: list[Event] = []
        if k >= 0:
            events = self._handle(self.machine.end_at(self.buf.base + k))
        self.machine.reset()
        self._ended_t = t_end
        log.info("set ended at %.2f s: getting off the machine", t_end)
        return events + [Event(EventKind.VIEW, t_end, MSG_SET_ENDED)]

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
        if not self.reps:  # a start under the wrong view was set-up: the set starts when it re-arms
            self._armed_t = None
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
