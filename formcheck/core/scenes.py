"""The footage itself (a part of :class:`Analyzer`): scene cuts in edited clips, and what the
report says about the scene — the camera roll, when the set started, the spans analysed."""

from __future__ import annotations

from formcheck.core.events import Event, EventKind


class SceneSteps:
    """Mixin of :class:`~formcheck.core.analysis.Analyzer`: scene cuts and the scene summary."""

    def scene(self) -> dict:
        """What the analysis found about the footage: the camera's roll (deg, with the
        confidence of its estimate), when the set started (s) and when the last set ended by getting
        off the machine (s; None when the clip ends during the set), the scene cuts (s) and the spans
        of time analysed between them (never counted across) with the profile and facing of
        each (the view its reps were counted in); the athlete's neutral offset (deg,
        subtracted from e) and where it came from (none, config, start, live)."""
        spans = [list(sp) for sp in self._spans]
        views = list(self._span_views)
        if self._span_start is not None and self._last_t is not None:
            spans.append([self._span_start, self._last_t])
            views.append(self._span_view())
        r = lambda v: None if v is None else round(float(v), 3)  # noqa: E731
        return {
            "camera_roll_deg": r(self.camera_roll_deg),
            "camera_roll_confidence": r(self.camera_roll_confidence),
            "set_started_s": r(self._armed_t),
            "set_ended_s": r(self._ended_t),
            "cuts_s": [r(c) for c in self._cuts],
            "spans_s": [[r(a), r(b)] for a, b in spans],
            "span_views": [{"profile": p, "facing": f} for p, f in views],
            "neutral_offset_deg": r(self._neutral_offset),
            "neutral_source": self.neutral_source,
        }

    def _span_view(self) -> tuple[str | None, str | None]:
        """(profile, facing) of the span under way: the view its reps were counted in, else the
        view decided so far (None, None before any)."""
        vf = self._rep_view if len(self.reps) > self._span_reps0 else self.view
        return (vf.profile, vf.facing) if vf is not None else (None, None)

    def scene_cut(self, t_s: float) -> list[Event]:
        """The footage cut to another shot at ``t_s``: close the set so far (never count across
        a cut), and decide the view, the legs and the set-up again from the new shot."""
        events = self._handle(self.machine.finish(self.buf.next_index - 1))
        if self._span_start is not None and self._last_t is not None:
            self._spans.append((self._span_start, self._last_t))
            self._span_views.append(self._span_view())
        self._span_start = None
        self._span_reps0 = len(self.reps)
        self._cuts.append(float(t_s))
        self.machine.reset()
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        self.measures.reset()
        self._tracking = False
        self.view = None
        self._pending_bodies.clear()
        self._window.clear()
        self._legs.clear()
        self._hips.clear()
        self._leaving = None
        self._held.clear()
        self._place.clear()
        self._thighs.clear()
        self._thighs_w.clear()
        self.oblique.reset()
        self._legs_moved_t = t_s
        return events + [Event(EventKind.VIEW, t_s, "Scene cut: a new shot starts here.")]
