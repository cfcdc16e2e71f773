"""The streaming analysis core shared by ``analyze``, ``live`` and ``batch``.

:class:`Analyzer` takes one pose per frame (or ``None`` when no person was found, so time still
advances) and returns events; :meth:`Analyzer.finish` closes the set and returns a
:class:`SetResult`. It is causal: the same frames give the same reps and faults whichever front
end feeds them. Pure numpy; no OpenCV, MediaPipe or file I/O here.
"""

from __future__ import annotations

import logging
import math
from collections import deque

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core.calibration import Calibration, NeutralCalibrator
from formcheck.config import Config
from formcheck.core.events import Event, EventKind
from formcheck.core.faults import RepContext, evaluate
from formcheck.core.calibrating import CalibrationSteps
from formcheck.core.early import EarlyFaultSteps
from formcheck.core.measures import RepMeasures
from formcheck.core.viewing import MSG_SIDE_ON, ViewSteps  # noqa: F401 (MSG_SIDE_ON re-exported)
from formcheck.core.reps import Phase, RepStateMachine, Segment, measure
from formcheck.core.setresult import SampleBuffer, SetResult
from formcheck.core.scenes import SceneSteps
from formcheck.core.oblique import ObliqueMagnification
from formcheck.core.tracking import ExerciserTrack
from formcheck.core.upright import BalanceCheck
from formcheck.core.types import Fault, PoseFrame, Rep

log = logging.getLogger(__name__)

# Offset between the landmark-based trunk angle and the joint-centre trunk angle, per profile
# (deg). MediaPipe's shoulder and hip landmarks sit on the body's outline, not on the joint
# centres; measured as the median bias on the synthetic development set (benchmarks/ACCURACY.md).
LANDMARK_OFFSET_DEG = {K.SEATED: -4.7, K.PRONE: -1.3}
# The same for the prone angle from MediaPipe's world landmarks (deg).
LANDMARK_OFFSET_3D_DEG = -3.0

MSG_NO_PERSON = "No one in view — step into the frame, side-on to the camera."
MSG_STEP_BACK = "Step back so hips and knees are in view."
MSG_NO_REPS = (
    "No rep found: the trunk never went from the top to the bottom zone and back "
    "(is the clip a whole set, and the profile right?)."
)


class Analyzer(ViewSteps, CalibrationSteps, EarlyFaultSteps, SceneSteps):
    """Frames in, rep and fault events out.

    Args:
        config: a validated :class:`Config`.
        keep_series: keep the per-frame series (t, e, θ, velocity, visible) for reports. Live
            sessions of unbounded length may switch it off.
    """

    def __init__(self, config: Config, keep_series: bool = True) -> None:
        self.cfg = config.validate()
        self.keep_series = keep_series
        kc = self.cfg.kinematics
        self._euro = K.OneEuroFilter(kc.smoothing_min_cutoff_hz, kc.smoothing_beta)
        self._vel_lp = K.LowPass(kc.velocity_cutoff_hz)
        self.machine = RepStateMachine(self.cfg.reps)
        self.buf = SampleBuffer()
        self.view: K.ViewFacts | None = None
        self._pending_bodies: list[tuple[float, K.Body]] = []
        self._last_seen_t: float | None = None
        self._intervals: deque[float] = deque(maxlen=15)  # recent frame spacings (s)
        self._tracking = False
        self._prev: tuple[float, float] | None = None  # (t, e smoothed)
        self.measures = RepMeasures(self.cfg.faults.top_hold_band_deg)
        self._neutral_offset = 0.0
        self.final_events: list[Event] = []
        self._rep_index = 0
        self.reps: list[Rep] = []
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self.frames_total = 0
        self.frames_with_pose = 0
        self.last_e: float | None = None
        self.last_body: K.Body | None = None
        self._series: dict[str, list[float]] = {
            k: [] for k in ("t_s", "extension_deg", "hip_angle_deg", "velocity_dps", "visible", "raw")
        }
        self._gap_start: int | None = None
        # View decided on a rolling window, revisited until the set starts (set-up is not the set).
        self._window: deque[tuple[float, K.Body]] = deque()
        self._decided_t = -math.inf
        # Legs: fixed in a set (rollers, seat, planted feet); they move while getting into position.
        self._legs: deque[tuple[float, np.ndarray]] = deque()
        self._hips: deque[tuple[float, np.ndarray]] = deque()
        self.setting_up = True
        self._legs_moved_t = -math.inf
        self._thighs: deque[np.ndarray] = deque(maxlen=240)  # recent unit thigh vectors (prone)
        self._thighs_w: deque[np.ndarray] = deque(maxlen=240)  # the same from world landmarks
        self.camera_roll_deg = float(self.cfg.kinematics.camera_roll_deg)
        self.camera_roll_confidence: float | None = None
        self._early: dict[int, set[str]] = {}  # rep's first top sample -> fault ids cued early
        self._spans: list[tuple[float, float]] = []
        self._span_views: list[tuple[str | None, str | None]] = []  # (profile, facing) of each span
        self._span_reps0 = 0  # reps counted before the current span
        self.exerciser = ExerciserTrack()
        self._span_start: float | None = None
        self._last_t: float | None = None
        self._cuts: list[float] = []
        self._armed_t: float | None = None
        self._ended_t: float | None = None  # the last set ended by getting off the machine
        self._rep_view: K.ViewFacts | None = None  # the view the last rep was counted in
        # Perhaps getting off: (when the body began to move, [(hip?, where it was)], must all
        # stay away to confirm it, how far is away (px)).
        self._leaving: tuple[float, list[tuple[bool, np.ndarray]], bool, float] | None = None
        self._held: list[tuple[int, float, float]] = []  # samples (i, t, e) held meanwhile
        self._place: dict[bool, np.ndarray] = {}  # hip (True) and legs where they rest in the set
        self.calibrator = NeutralCalibrator(self.CALIBRATE_S, self.CALIBRATE_MAX_SD_DEG)
        self.calibration: Calibration | None = None  # the last one that finished
        self._auto_calibrate = self.cfg.kinematics.calibrate == "start"
        self._own_range_depths: list[float] = []  # reps counted over the set's own range (deg)
        self.oblique = ObliqueMagnification(kc.prone_oblique_deadband)
        # A "standing hinge" out of balance is a face-down set filmed turned 90° (core.upright).
        self.balance = BalanceCheck(max_lead=kc.turned_max_lead, leg_upright_deg=kc.auto_leg_upright_deg,
                                    min_visibility=kc.min_visibility)
        self.neutral_source = "none"  # none, config, start (the still start) or live (c key)
        if self.cfg.kinematics.neutral_offset_deg:
            self._neutral_offset = float(self.cfg.kinematics.neutral_offset_deg)
            self.neutral_source = "config"

    # ------------------------------------------------------------------ public API
    @property
    def rep_count(self) -> int:
        return self.machine.count

    @property
    def phase(self) -> str:
        return self.machine.phase.value

    @property
    def profile(self) -> str | None:
        return self.view.profile if self.view else None

    def update(self, t_s: float, pose: PoseFrame | None) -> list[Event]:
        """Feed the pose of the frame at ``t_s`` seconds (``None``: nobody found)."""
        self.frames_total += 1
        if self._span_start is None:
            self._span_start = t_s
        elif t_s > self._last_t:
            self._intervals.append(t_s - self._last_t)
        self._last_t = t_s
        events: list[Event] = []
        body = K.body_from_frame(pose) if pose is not None else None
        if body is not None and not self.exerciser.same_person(t_s, body):
            # Someone else (a bystander in front): the exerciser is hidden, not gone. Bridge it
            # for as long as the track is kept, without resetting the set.
            self._unseen_sample(t_s)
            return events
        if body is not None:
            kc = self.cfg.kinematics
            seen = min(body.visibility[j] for j in ("shoulder", "hip"))
            if seen < kc.min_visibility:
                events += self._warn(t_s, MSG_STEP_BACK)
                body = None
        if body is None:
            events += self._missing(t_s, pose is None)
            return events
        self.frames_with_pose += 1
        if self._tracking and self._last_seen_t is not None and self._gap_too_long(
                self._last_seen_t, t_s, back=True):
            # A long gap with no frames in it (a stalled camera, a jump in the clip's times):
            # the same break as a long run of frames without the person.
            events += self._break_track()
        self._last_seen_t = t_s
        self._tracking = True
        self.last_body = body
        events += self._remember(t_s, body)
        if self.view is None or self.view.frontal:
            events += self._decide_view(t_s, body)
            if self.view is None or self.view.frontal:
                return events
            for tp, bp in self._pending_bodies:
                events += self._process(tp, bp)
            self._pending_bodies.clear()
            return events
        if self.machine.count == 0 and self.machine.phase is not Phase.TOP:
            events += self._recheck_view(t_s)  # no rep yet: the set may not have started
        return events + self._process(t_s, body)

    def update_many(self, t_s: float, poses: list[PoseFrame]) -> list[Event]:
        """Feed every person found in the frame (a multi-person pose model); the exerciser's
        track is followed and the others are ignored."""
        return self.update(t_s, self.pick_exerciser(t_s, poses))

    def pick_exerciser(self, t_s: float, poses: list[PoseFrame]) -> PoseFrame | None:
        """The pose among ``poses`` that continues the exerciser's track (see :mod:`tracking`)."""
        return self.exerciser.pick(t_s, poses)


    def set_camera_roll(self, deg: float, confidence: float | None = None) -> None:
        """The camera's roll (deg, clockwise on screen), estimated from the scene by the edge.

        The seated angle is measured from the true vertical: image-up turned by the roll.
        """
        if not math.isfinite(deg) or abs(deg) > 45:
            raise ValueError(f"camera roll: expected a finite angle within ±45°, got {deg}")
        self.camera_roll_deg = float(deg)
        self.camera_roll_confidence = confidence

    def finish(self, refine: bool = False) -> SetResult:
        """Close the set: finalise a rep still waiting for its last phase.

        With ``refine`` (offline analysis), the per-frame series of e and its velocity are
        recomputed with zero-phase smoothing (no lag); reps and faults stay those of the causal
        core, so every front end reports the same reps for the same frames.
        """
        # The clip ended while the body was moving off: decide by where it is now.
        self.final_events = self._leaving_check(math.inf, self.last_body)
        self.final_events += self._handle(self.machine.finish(self.buf.next_index - 1))
        if self.view is None and self.frames_with_pose == 0:
            self._warn_once(MSG_NO_PERSON)
        elif self.view is not None and not self.view.frontal and not self.reps:
            self._warn_once(MSG_NO_REPS)
        if self._own_range_depths:
            depth = float(np.median(self._own_range_depths))
            self._warn_once(
                f"Counted over your own range: {len(self._own_range_depths)} rep(s) went down "
                f"about {depth:.0f}° "
                f"(short of the {self.cfg.reps.bottom_deg:g}° bottom zone) and were counted as "
                f"the set's consistent range. To hold the set to a depth, set "
                f"reps.min_range_deg to it.")
        turned = self.balance.finding()
        if turned is not None:
            way = "clockwise" if turned.turn_deg == 90 else "anticlockwise"
            self._warn_once(
                f"The picture looks turned on its side: at the bottom of the reps the body's centre "
                f"of mass is {turned.balance:.1f} torso lengths in front of the feet, which no "
                f"standing person holds, so this is a face-down set filmed with the camera turned. "
                f"Turn the video 90° {way} and analyse it again.")
        for tp, _ in self._pending_bodies:  # a view never decided: keep the frames' times
            self._series_append(tp, math.nan, math.nan, math.nan, 0.0)
        self._pending_bodies.clear()
        series = {k: np.asarray(v, dtype=np.float64) for k, v in self._series.items()}
        # Frames held back while the view was being decided are replayed late: restore time order.
        order = np.argsort(series["t_s"], kind="stable")
        series = {k: v[order] for k, v in series.items()}
        if len(series["visible"]):
            series["visible"] = series["visible"].astype(bool)
        smoothing = "causal one-euro"
        if refine and len(series["t_s"]) >= 7:
            cutoff = self.cfg.kinematics.offline_cutoff_hz
            e_zp = K.butterworth_zero_phase(series["t_s"], series["raw"], cutoff)
            ok = np.isfinite(e_zp)
            series["extension_deg"] = np.where(ok, e_zp, series["extension_deg"])
            with np.errstate(invalid="ignore", divide="ignore"):
                series["velocity_dps"] = np.where(ok, np.gradient(e_zp, series["t_s"]), np.nan)
            smoothing = f"zero-phase butterworth {cutoff:g} Hz"
        # The set's view: the one its reps were counted in (after getting off the machine the
        # view is decided again on whoever stands there).
        vf = self._rep_view or self.view
        return SetResult(
            profile=vf.profile if vf else self.cfg.kinematics.profile,
            facing=vf.facing if vf else None,
            reps=list(self.reps), warnings=list(self.warnings), series=series,
            frames_total=self.frames_total, frames_with_pose=self.frames_with_pose,
            smoothing=smoothing, scene=self.scene(), turned=turned,
        )

    def set_neutral_offset(self, deg: float) -> None:
        """Calibrated neutral (live 'c' key): ``deg`` is subtracted from every following e."""
        if not math.isfinite(deg) or abs(deg) > 45:
            raise ValueError(f"neutral offset: expected a finite angle within ±45°, got {deg}")
        self._neutral_offset = float(deg)
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None

    @property
    def neutral_offset(self) -> float:
        return self._neutral_offset

    def reset_set(self) -> None:
        """Start a new set (live 'r' key): keep the view decision, clear reps and filters."""
        self.machine.reset()
        self.reps.clear()
        self._span_reps0 = 0
        self._leaving = None
        self._held.clear()
        self._own_range_depths.clear()
        self._rep_index = 0
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        self.measures.reset()
        self.calibrator.clear_notice()
        self._armed_t = None  # the report's set start is the new set's

    # ------------------------------------------------------------------ internals
    def _warn(self, t: float, msg: str) -> list[Event]:
        if msg in self._warned:
            return []
        self._warn_once(msg)
        return [Event(EventKind.VIEW, t, msg)]

    def _warn_once(self, msg: str) -> None:
        if msg not in self._warned:
            self._warned.add(msg)
            self.warnings.append(msg)

    def _series_append(self, t, e, theta, v, visible, raw=math.nan) -> None:
        if self.keep_series:
            s = self._series
            s["t_s"].append(t)
            s["extension_deg"].append(e)
            s["hip_angle_deg"].append(theta)
            s["velocity_dps"].append(v)
            s["visible"].append(visible)
            s["raw"].append(raw)

    def _unseen_sample(self, t: float) -> None:
        """A frame without the exerciser: an empty sample, and the start of a gap to fill."""
        self._series_append(t, math.nan, math.nan, math.nan, 0.0)
        if self.keep_series and self._gap_start is None and self.view is not None:
            self._gap_start = len(self._series["t_s"]) - 1

    def _break_track(self) -> list[Event]:
        """Unseen for too long to bridge: close what the rep machine holds and start afresh, so
        that nothing is counted across the gap (gone while getting off: the set ended where
        the body began to move)."""
        self._tracking = False
        events = self._leaving_check(self._last_t, None)
        events += self._handle(self.machine.finish(self.buf.next_index - 1))
        self.machine.reset()
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        return events

    def _missing(self, t: float, nobody: bool) -> list[Event]:
        events: list[Event] = []
        self._unseen_sample(t)
        if self._tracking and self._last_seen_t is not None:
            if self._gap_too_long(self._last_seen_t, t, back=False):
                events += self._break_track()
                msg = MSG_NO_PERSON if nobody else MSG_STEP_BACK
                events.append(Event(EventKind.TRACKING_LOST, t, msg))
        elif (self._last_seen_t is None and nobody and self._span_start is not None
              and t - self._span_start >= self.cfg.kinematics.no_person_warn_s):
            events += self._warn(t, MSG_NO_PERSON)
        return events

    def _process(self, t: float, b: K.Body) -> list[Event]:
        vf = self.view
        assert vf is not None
        if vf.profile == K.SEATED:
            if self.cfg.kinematics.profile == "auto":
                self.balance.offer(b)
            # From the true vertical: undo the camera's roll before measuring from image-up.
            trunk = K.rotate_deg(b.shoulder - b.hip, -self.camera_roll_deg)
            e_raw = float(K.extension_deg(vf.profile, vf.front_sign, b.hip + trunk, b.hip, b.knee))
            e3d = math.nan
        else:
            if not self._thighs:
                return self._warn(t, MSG_STEP_BACK)  # the leg line has not been seen yet
            # The legs are fixed in a prone set: the median thigh line is steadier than any frame's.
            thigh = np.median(np.array(self._thighs), axis=0)
            e_raw = float(K.extension_deg(vf.profile, vf.front_sign, b.shoulder, b.hip, b.hip - thigh,
                                          vf.floor_side))
            e3d = math.nan
            if b.world is not None:
                tw = np.median(np.array(self._thighs_w), axis=0) if self._thighs_w else None
                e3d = K.world_prone_extension_deg(b.world, tw) + LANDMARK_OFFSET_3D_DEG
        e_raw += LANDMARK_OFFSET_DEG[vf.profile] - self._neutral_offset
        if math.isfinite(e3d):
            # An oblique camera magnifies the 2-D prone angle; the world angle's range does not.
            if not self.setting_up:
                self.oblique.offer(t, e_raw, e3d - self._neutral_offset)
            e_raw /= self.oblique.factor
        w3 = self.cfg.kinematics.prone_world_weight
        if w3 and math.isfinite(e3d):
            # Oblique views magnify the 2-D prone angle; the world landmarks' angle does not
            # foreshorten (benchmarks/yaw.md): a weighted mean of the two.
            e_raw = (1.0 - w3) * e_raw + w3 * (e3d - self._neutral_offset)
        theta = float(K.hip_angle_deg(b.shoulder, b.hip, b.knee))
        if self._prev is not None and t <= self._prev[0]:
            return []
        e = self._euro(t, e_raw)
        if self._prev is None:
            v_raw = 0.0
        else:
            v_raw = (e - self._prev[1]) / (t - self._prev[0])
        v = self._vel_lp(t, v_raw)
        self._prev = (t, e)
        self.last_e = e
        head_seen = min(b.visibility["ear"], b.visibility["nose"]) >= self.cfg.kinematics.min_visibility
        neck = float(K.neck_angle_deg(vf.front_sign, b.shoulder, b.hip, b.ear, b.nose)) if head_seen else math.nan
        thigh = float(np.linalg.norm(b.hip - b.knee))
        self._fill_gap(t, e, theta, e_raw)
        self._series_append(t, e, theta, v, 1.0, e_raw)
        i = self.buf.append(t=t, e=e, raw=e_raw, hip_x=b.hip[0], hip_y=b.hip[1], thigh=thigh, neck=neck, e3d=e3d)
        if self.setting_up and (self.machine.phase is Phase.UNARMED
                                or (vf.profile == K.PRONE and self.machine.count == 0)):
            # Getting into position (the legs moved): the set has not started. Prone, the leg
            # line the angle is measured from moved too, so a set armed before the first rep
            # starts again; a set under way is not reset by a foot shuffle.
            self.machine.reset()
        if self.machine.phase is Phase.TOP or self.machine.phase is Phase.UNARMED:
            if e >= -self.cfg.reps.top_deg and math.isfinite(neck):
                self.measures.neck_top.append(neck)
        if self._leaving is not None:
            # Perhaps getting off: hold the samples back until that is decided (viewing).
            self._held.append((i, t, e))
            events = []
        else:
            events = self._judge(i, t, e)
        if self.calibrator.active:
            events += self._calibrate(t)
        elif self._auto_calibrate:
            events += self._auto_calibration(t)
        self.buf.trim_before(max(0, self.machine.min_seen_i - 10))
        return events

    def _judge(self, i: int, t: float, e: float) -> list[Event]:
        """The rep machine and the early cues on sample ``i``."""
        return self._handle(self.machine.update(i, t, e)) + self._early_faults(i, t)

    def _gap_too_long(self, t_seen: float, t: float, back: bool) -> bool:
        """Has the person gone unseen since the sighting at ``t_seen`` for more than
        ``max_gap_s``? Unseen time is the missing frames' worth, so that a gap means the same
        at 10 fps as at 60: at a frame without the person ``t - t_seen``; at the frame where they
        are ``back``, one usual frame spacing less (two frames apart is no gap at all)."""
        limit = self.cfg.kinematics.max_gap_s
        unseen = t - t_seen - 1e-9  # (float rounding: 9 frames at 30 fps are 0.3 s)
        if unseen <= limit or not back or not self._intervals:
            return unseen > limit
        return unseen - float(np.median(self._intervals)) > limit

    def _fill_gap(self, t: float, e: float, theta: float, raw: float) -> None:
        """Linearly fill a short gap in the per-frame series (never across a long one)."""
        gs = self._gap_start
        self._gap_start = None
        if gs is None or not self.keep_series:
            return
        s = self._series
        if gs == 0 or not s["visible"][gs - 1]:
            return
        t0 = s["t_s"][gs - 1]
        if self._gap_too_long(t0, t, back=True):
            return
        e0, th0, r0 = s["extension_deg"][gs - 1], s["hip_angle_deg"][gs - 1], s["raw"][gs - 1]
        for k in range(gs, len(s["t_s"])):
            w = (s["t_s"][k] - t0) / (t - t0)
            s["extension_deg"][k] = e0 + w * (e - e0)
            s["hip_angle_deg"][k] = th0 + w * (theta - th0)
            s["raw"][k] = r0 + w * (raw - r0)

    def _handle(self, raw: list[tuple]) -> list[Event]:
        events: list[Event] = []
        for ev in raw:
            kind = ev[0]
            t = self.buf.cols["t"][-1] if len(self.buf) else 0.0
            if kind == "armed":
                if self._armed_t is None:
                    self._armed_t = t
                events.append(Event(EventKind.ARMED, t, f"ready — set starts at the {ev[1]}", {"start": ev[1]}))
            elif kind == "counted":
                events.append(Event(EventKind.REP_COUNTED, t, f"rep {ev[1]}", {"count": ev[1]}))
            elif kind == "segment":
                rep = self._build_rep(ev[1])
                self.reps.append(rep)
                kind_name = EventKind.REP if rep.counted else EventKind.PARTIAL
                cued = self._early.pop(ev[1].top[0], set()) if rep.counted else set()
                events.append(Event(kind_name, rep.t_end, "", {"rep": rep.to_dict(), "cued_early": sorted(cued)}))
                for f in rep.faults:
                    if f.id not in cued:  # already cued while it happened
                        events.append(Event(EventKind.FAULT, f.t, f.cue, {"id": f.id, "rep": rep.index}))
        return events

    def _build_rep(self, seg: Segment) -> Rep:
        cfg = self.cfg
        i0 = min(seg.lowering[0], seg.lifting[0], seg.top[0])
        i1 = max(seg.lowering[1], seg.lifting[1], seg.top[1])
        a = self.buf.arrays(i0, i1)
        rel = seg.shifted(i0)
        m = measure(rel, a["t"], a["raw"], cfg.reps.phase_frac, cfg.faults.top_hold_band_deg,
                    cfg.reps.measure_smoothing_s, cfg.faults.top_hold_still_dps)
        counted = seg.kind == "counted"
        if seg.own_range:
            self._own_range_depths.append(-m.depth_deg)  # for the set's note (finish)
        shift = self.measures.hip_shift(a, m, rel, seg) if counted else 0.0
        neck_ext, neck_t_pk = self.measures.neck_extension(a, m, rel)
        lowering_done = seg.closed or seg.order == "top"
        ctx = RepContext(
            metrics=m, profile=self.profile or "seated", counted=counted,
            hip_shift_frac=shift, hip_shift_t=m.t_top,
            neck_extension_deg=neck_ext, neck_extension_t=neck_t_pk,
            bottom_deg=cfg.reps.bottom_deg, closed=seg.closed,
            peak_extension_3d_deg=self.measures.peak_3d(a, rel),
            lowering_done=lowering_done,
        )
        faults: tuple[Fault, ...] = evaluate(ctx, cfg.faults)
        self._rep_index += 1
        self._rep_view = self.view
        return Rep(
            index=self._rep_index, counted=counted, t_start=m.t_start, t_bottom=m.t_bottom,
            t_top=m.t_top, t_end=m.t_end, depth_deg=m.depth_deg,
            peak_extension_deg=m.peak_extension_deg, lowering_s=m.lowering_s,
            lifting_s=m.lifting_s, top_hold_s=m.top_hold_s,
            peak_lift_velocity_dps=m.peak_lift_velocity_dps,
            peak_lower_velocity_dps=m.peak_lower_velocity_dps,
            hip_shift_frac=shift, neck_extension_deg=neck_ext, faults=faults,
            untimed=("lowering",) * (not lowering_done) + ("top_hold",) * (not seg.closed),
        )
