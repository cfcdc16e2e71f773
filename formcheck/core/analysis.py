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
from dataclasses import dataclass, field

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core import landmarks as L
from formcheck.core.calibration import Calibration, NeutralCalibrator
from formcheck.config import Config
from formcheck.core.events import Event, EventKind
from formcheck.core.faults import RepContext, evaluate
from formcheck.core.reps import Phase, RepMetrics, RepStateMachine, Segment, measure, plateau_level
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
MSG_SIDE_ON = "Turn side-on to the camera."
MSG_NO_REPS = (
    "No rep found: the trunk never went from the top to the bottom zone and back "
    "(is the clip a whole set, and the profile right?)."
)


@dataclass
class SetResult:
    """Everything the analysis found in one set (one clip or one live session)."""

    profile: str
    facing: str | None
    reps: list[Rep]
    warnings: list[str]
    series: dict[str, np.ndarray]
    frames_total: int
    frames_with_pose: int
    smoothing: str = "causal one-euro"  # how series["extension_deg"] was smoothed
    scene: dict = field(default_factory=dict)  # camera roll, set start, analysed spans and cuts

    @property
    def counted(self) -> list[Rep]:
        return [r for r in self.reps if r.counted]

    @property
    def rep_count(self) -> int:
        return len(self.counted)

    @property
    def partial_reps(self) -> int:
        return sum(not r.counted for r in self.reps)

    def fault_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reps:
            for f in r.faults:
                out[f.id] = out.get(f.id, 0) + 1
        return out

    @property
    def score(self) -> float | None:
        reps = self.counted
        if not reps:
            return None
        partial_penalty = 5.0 * self.partial_reps
        return round(max(0.0, float(np.mean([r.score for r in reps])) - partial_penalty), 1)

    @property
    def good_reps(self) -> int:
        return sum(1 for r in self.counted if not r.faults)


class _Buffer:
    """Growable per-sample arrays addressed by absolute sample number, trimmed from the front."""

    NAMES = ("t", "e", "v", "hip_x", "hip_y", "thigh", "neck", "e3d")

    def __init__(self) -> None:
        self.base = 0
        self.cols: dict[str, list[float]] = {n: [] for n in self.NAMES}

    def __len__(self) -> int:
        return len(self.cols["t"])

    @property
    def next_index(self) -> int:
        return self.base + len(self)

    def append(self, **values: float) -> int:
        for n in self.NAMES:
            self.cols[n].append(values[n])
        return self.next_index - 1

    def arrays(self, i0: int, i1: int) -> dict[str, np.ndarray]:
        a, b = i0 - self.base, i1 - self.base + 1
        return {n: np.asarray(c[a:b], dtype=np.float64) for n, c in self.cols.items()}

    def trim_before(self, i: int) -> None:
        k = i - self.base
        if k > 2000:  # amortise: drop in large chunks
            for c in self.cols.values():
                del c[:k]
            self.base = i


class Analyzer:
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
        self.buf = _Buffer()
        self.view: K.ViewFacts | None = None
        self._pending_bodies: list[tuple[float, K.Body]] = []
        self._last_seen_t: float | None = None
        self._tracking = False
        self._prev: tuple[float, float] | None = None  # (t, e smoothed)
        self._neck_top: deque[float] = deque(maxlen=900)
        self._ref_hip: np.ndarray | None = None
        self._top_level = 0.0
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
        self.setting_up = True
        self._legs_moved_t = -math.inf
        self._thighs: deque[np.ndarray] = deque(maxlen=240)  # recent unit thigh vectors (prone)
        self._thighs_w: deque[np.ndarray] = deque(maxlen=240)  # the same from world landmarks
        self.camera_roll_deg = float(self.cfg.kinematics.camera_roll_deg)
        self.camera_roll_confidence: float | None = None
        self._early: dict[int, set[str]] = {}  # rep's first top sample -> fault ids cued early
        self._spans: list[tuple[float, float]] = []
        self._track: tuple[np.ndarray, float, float] | None = None  # exerciser: hip px, torso px, t
        self._span_start: float | None = None
        self._last_t: float | None = None
        self._cuts: list[float] = []
        self._armed_t: float | None = None
        self.calibrator = NeutralCalibrator(self.CALIBRATE_S, self.CALIBRATE_MAX_SD_DEG)
        self.calibration: Calibration | None = None  # the last one that finished
        self._auto_calibrate = self.cfg.kinematics.calibrate == "start"
        if self.cfg.kinematics.neutral_offset_deg:
            self._neutral_offset = float(self.cfg.kinematics.neutral_offset_deg)

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
        self._last_t = t_s
        events: list[Event] = []
        body = K.body_from_frame(pose) if pose is not None else None
        if body is not None and not self._same_person(t_s, body):
            # Someone else (a bystander in front): the exerciser is hidden, not gone. Bridge it
            # for as long as the track is kept, without resetting the set.
            self._series_append(t_s, math.nan, math.nan, math.nan, 0.0)
            if self.keep_series and self._gap_start is None and self.view is not None:
                self._gap_start = len(self._series["t_s"]) - 1
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
        self._last_seen_t = t_s
        self._tracking = True
        self.last_body = body
        self._remember(t_s, body)
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
        """The pose that continues the exerciser's track (nearest hip, similar size); with no
        track yet, the person whose legs are stillest relative to their size, then the largest."""
        if not poses:
            return None
        bodies = [K.body_from_frame(p) for p in poses]
        if self._track is not None and t_s - self._track[2] <= self.TRACK_KEEP_S:
            hip, torso, _ = self._track
            cost = [float(np.linalg.norm(b.hip - hip)) / torso for b in bodies]
            return poses[int(np.argmin(cost))]
        size = [float(np.linalg.norm(b.shoulder - b.hip)) for b in bodies]
        return poses[int(np.argmax(size))]

    TRACK_KEEP_S = 1.0  # a track not seen for longer may be taken up by whoever is in view
    TRACK_JUMP = 0.6  # a hip further than this many torso lengths from the track: another person
    TRACK_SCALE = 1.6  # a torso this many times longer or shorter: another person

    def _same_person(self, t: float, b: K.Body) -> bool:
        """Whether ``b`` continues the exerciser's track (single-person models return whoever is
        most prominent: a bystander crossing in front must neither take over nor reset the set)."""
        torso = float(np.linalg.norm(b.shoulder - b.hip))
        if torso <= 1e-6:
            return False
        tr = self._track
        if tr is not None and t - tr[2] <= self.TRACK_KEEP_S:
            hip, t_torso, _ = tr
            jump = float(np.linalg.norm(b.hip - hip)) / t_torso
            scale = max(torso / t_torso, t_torso / torso)
            if jump > self.TRACK_JUMP or scale > self.TRACK_SCALE:
                return False
        self._track = (b.hip.copy(), torso, t)
        return True

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
        self.final_events = self._handle(self.machine.finish(self.buf.next_index - 1))
        if self.view is None and self.frames_with_pose == 0:
            self._warn_once(MSG_NO_PERSON)
        elif self.view is not None and not self.view.frontal and not self.reps:
            self._warn_once(MSG_NO_REPS)
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
        return SetResult(
            profile=self.profile or self.cfg.kinematics.profile,
            facing=self.view.facing if self.view else None,
            reps=list(self.reps), warnings=list(self.warnings), series=series,
            frames_total=self.frames_total, frames_with_pose=self.frames_with_pose,
            smoothing=smoothing, scene=self.scene(),
        )

    def scene(self) -> dict:
        """What the analysis found about the footage: the camera's roll (deg, with the
        confidence of its estimate), when the set started (s), the scene cuts (s) and the spans
        of time analysed between them (never counted across)."""
        spans = [list(sp) for sp in self._spans]
        if self._span_start is not None and self._last_t is not None:
            spans.append([self._span_start, self._last_t])
        r = lambda v: None if v is None else round(float(v), 3)  # noqa: E731
        return {
            "camera_roll_deg": r(self.camera_roll_deg),
            "camera_roll_confidence": r(self.camera_roll_confidence),
            "set_started_s": r(self._armed_t),
            "cuts_s": [r(c) for c in self._cuts],
            "spans_s": [[r(a), r(b)] for a, b in spans],
        }

    def scene_cut(self, t_s: float) -> list[Event]:
        """The footage cut to another shot at ``t_s``: close the set so far (never count across
        a cut), and decide the view, the legs and the set-up again from the new shot."""
        if self._span_start is not None and self._last_t is not None:
            self._spans.append((self._span_start, self._last_t))
        self._span_start = None
        self._cuts.append(float(t_s))
        events = self._handle(self.machine.finish(self.buf.next_index - 1))
        self.machine.reset()
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        self._ref_hip = None
        self._tracking = False
        self.view = None
        self._pending_bodies.clear()
        self._window.clear()
        self._legs.clear()
        self._thighs.clear()
        self._thighs_w.clear()
        self._legs_moved_t = t_s
        return events + [Event(EventKind.VIEW, t_s, "Scene cut: a new shot starts here.")]

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
        offset = None
        if cal.ok and cal.neutral_e_deg is not None:
            # e already has the previous calibration removed: add it back.
            offset = self._neutral_offset + cal.neutral_e_deg
            self.set_neutral_offset(offset)
            self.machine.reset()  # the zones move with neutral: arm again
        self.calibration = cal
        d = cal.to_dict(applied_offset_deg=offset)
        return [Event(EventKind.CALIBRATION, t, cal.message, {k: v for k, v in d.items() if k not in ("event", "t", "message")})]

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
        offset = self._neutral_offset + float(np.mean(e))
        self.set_neutral_offset(offset)
        self.machine.reset()
        self.calibration = cal
        d = cal.to_dict(applied_offset_deg=offset)
        return [Event(EventKind.CALIBRATION, t, cal.message, {k: v for k, v in d.items() if k not in ("event", "t", "message")})]

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
        self._rep_index = 0
        self._euro.reset()
        self._vel_lp.reset()
        self._prev = None
        self._ref_hip = None

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

    def _missing(self, t: float, nobody: bool) -> list[Event]:
        events: list[Event] = []
        self._series_append(t, math.nan, math.nan, math.nan, 0.0)
        if self.keep_series and self._gap_start is None and self.view is not None:
            self._gap_start = len(self._series["t_s"]) - 1
        if self._tracking and self._last_seen_t is not None:
            if t - self._last_seen_t > self.cfg.kinematics.max_gap_s:
                # Too long to bridge: never count across it.
                self._tracking = False
                events += self._handle(self.machine.finish(self.buf.next_index - 1))
                self.machine.reset()
                self._euro.reset()
                self._vel_lp.reset()
                self._prev = None
                msg = MSG_NO_PERSON if nobody else MSG_STEP_BACK
                events.append(Event(EventKind.TRACKING_LOST, t, msg))
        elif self._last_seen_t is None and nobody and self.frames_total > 15:
            events += self._warn(t, MSG_NO_PERSON)
        return events

    LEG_WINDOW_S = 0.5
    SETUP_STILL_S = 1.0

    def _remember(self, t: float, b: K.Body) -> None:
        """Keep the view window and the legs' recent positions; flag set-up while legs move."""
        kc = self.cfg.kinematics
        self._window.append((t, b))
        while self._window and t - self._window[0][0] > kc.view_check_s:
            self._window.popleft()
        if min(b.visibility["knee"], b.visibility["ankle"]) >= kc.min_visibility:
            self._legs.append((t, (b.knee + b.ankle) / 2))
        while self._legs and t - self._legs[0][0] > self.LEG_WINDOW_S:
            self._legs.popleft()
        torso = float(np.linalg.norm(b.shoulder - b.hip)) or 1.0
        if len(self._legs) >= 2:
            pts = np.array([p for _, p in self._legs])
            span = float(np.max(np.linalg.norm(pts - pts[-1], axis=1)))
            if span > kc.setup_leg_motion * torso:
                self._legs_moved_t = t
        # Set-up lasts until the legs have been still for a whole second.
        self.setting_up = t - self._legs_moved_t < self.SETUP_STILL_S
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
                             kc.auto_thigh_upright_deg, kc.min_visibility)

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
        if old is not None and (vf.profile, vf.front_sign, vf.frontal) == (old.profile, old.front_sign, old.frontal):
            return []
        if old is not None and self.machine.phase is not Phase.UNARMED and vf.profile == old.profile:
            return []  # armed: only a change of machine restarts (the facing vote wobbles mid-rep)
        self.view = vf
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

    def _process(self, t: float, b: K.Body) -> list[Event]:
        vf = self.view
        assert vf is not None
        if vf.profile == K.SEATED:
            # From the true vertical: undo the camera's roll before measuring from image-up.
            trunk = K.rotate_deg(b.shoulder - b.hip, -self.camera_roll_deg)
            e_raw = float(K.extension_deg(vf.profile, vf.front_sign, b.hip + trunk, b.hip, b.knee))
            e3d = math.nan
        else:
            if not self._thighs:
                return self._warn(t, MSG_STEP_BACK)  # the leg line has not been seen yet
            # The legs are fixed in a prone set: the median thigh line is steadier than any frame's.
            thigh = np.median(np.array(self._thighs), axis=0)
            e_raw = float(K.extension_deg(vf.profile, vf.front_sign, b.shoulder, b.hip, b.hip - thigh))
            e3d = math.nan
            if b.world is not None:
                tw = np.median(np.array(self._thighs_w), axis=0) if self._thighs_w else None
                e3d = K.world_prone_extension_deg(b.world, tw) + LANDMARK_OFFSET_3D_DEG
        e_raw += LANDMARK_OFFSET_DEG[vf.profile] - self._neutral_offset
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
        i = self.buf.append(t=t, e=e, v=v, hip_x=b.hip[0], hip_y=b.hip[1], thigh=thigh, neck=neck, e3d=e3d)
        if self.machine.phase is Phase.UNARMED and self.setting_up:
            self.machine.reset()  # getting into position: the set has not started
        if self.machine.phase is Phase.TOP or self.machine.phase is Phase.UNARMED:
            if e >= -self.cfg.reps.top_deg and math.isfinite(neck):
                self._neck_top.append(neck)
        events = self._handle(self.machine.update(i, t, e))
        events += self._early_faults(i, t)
        if self.calibrator.active:
            events += self._calibrate(t)
        elif self._auto_calibrate:
            events += self._auto_calibration(t)
        self.buf.trim_before(max(0, self.machine.min_seen_i - 10))
        return events

    EARLY_RULES = ("hyperextension", "jerky_lift")

    def _early_faults(self, i: int, t: float) -> list[Event]:
        """Cue a thrown lift or a finish past neutral while it happens, not when the rep is
        finalised (for a set that starts at the bottom, that is after the next lowering).

        Checked once per counted rep, as soon as the trunk has settled on the top plateau; the
        rep's final faults are still decided on the whole rep when it is finalised.
        """
        p = self.machine.pending
        n = self.machine.count
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
        rel = Segment(seg.kind, seg.order, (seg.lowering[0] - i0, seg.lowering[1] - i0),
                      (seg.lifting[0] - i0, seg.lifting[1] - i0), (seg.top[0] - i0, seg.top[1] - i0))
        cfg = self.cfg
        m = measure(rel, a["t"], a["e"], a["v"], cfg.reps.phase_frac, cfg.faults.top_hold_band_deg)
        ctx = RepContext(metrics=m, profile=self.profile or "seated", counted=True,
                         hip_shift_frac=0.0, hip_shift_t=m.t_top, neck_extension_deg=0.0,
                         neck_extension_t=m.t_top, bottom_deg=cfg.reps.bottom_deg,
                         closed=False, peak_extension_3d_deg=self._peak_3d(a, rel))
        events = []
        for f in evaluate(ctx, cfg.faults):
            if f.id in self.EARLY_RULES:
                self._early[key].add(f.id)
                events.append(Event(EventKind.FAULT, t, f.cue, {"id": f.id, "rep": n, "early": True}))
        return events

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
        if t - t0 > self.cfg.kinematics.max_gap_s:
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
                events.append(Event(kind_name, rep.t_end, "", {"rep": rep.to_dict()}))
                cued = self._early.pop(ev[1].top[0], set()) if rep.counted else set()
                for f in rep.faults:
                    if f.id not in cued:  # already cued while it happened
                        events.append(Event(EventKind.FAULT, f.t, f.cue, {"id": f.id, "rep": rep.index}))
        return events

    HIP_MATCH_DEG = 4.0
    REF_HOLD_S = 0.8

    def _hip_at_top_level(self, a: dict[str, np.ndarray], i0: int, i1: int) -> np.ndarray | None:
        """Median hip position over samples i0..i1 whose e is within 4° of the set's top level."""
        e = a["e"][i0 : i1 + 1]
        sel = np.abs(e - self._top_level) < self.HIP_MATCH_DEG
        if not sel.any():
            return None
        return np.array([np.median(a["hip_x"][i0 : i1 + 1][sel]), np.median(a["hip_y"][i0 : i1 + 1][sel])])

    def _hip_shift(self, a: dict[str, np.ndarray], m: RepMetrics, rel: Segment, seg: Segment) -> float:
        """Hip slide since the previous rep, as a fraction of thigh length.

        The hip is taken where the trunk passes the set's top level, and compared with the same
        point of the previous rep: matching the trunk angle cancels the landmark's own drift with
        trunk pose (the hip landmark moves a few % of thigh length between flexion and arch).
        """
        thigh = float(np.median(a["thigh"])) or 1.0
        if self._ref_hip is None and seg.order == "top":
            # First rep of a set that starts at the top: the still hold before it is the reference.
            k0 = int(np.searchsorted(a["t"], m.t_start - self.REF_HOLD_S))
            k1 = int(np.searchsorted(a["t"], m.t_start))
            if k1 > k0:
                self._top_level = float(np.median(a["e"][k0:k1]))
                self._ref_hip = self._hip_at_top_level(a, k0, k1 - 1)
        hip_now = self._hip_at_top_level(a, int(np.searchsorted(a["t"], m.t_bottom)), rel.top[1])
        shift = 0.0
        if hip_now is not None:
            if self._ref_hip is not None:
                shift = float(np.linalg.norm(hip_now - self._ref_hip)) / thigh
            self._ref_hip = hip_now
        return shift

    def _neck_extension(self, a: dict[str, np.ndarray], m: RepMetrics, rel: Segment) -> tuple[float, float]:
        """Head tipped back during the top hold against the usual carriage (deg, and its time).

        The baseline is the median carriage over the set's top samples; frames where the head is
        not seen are skipped, and the median over the hold makes a held crank count while one
        flickering landmark does not.
        """
        base = float(np.median(self._neck_top)) if self._neck_top else math.nan
        k0 = int(np.searchsorted(a["t"], m.t_top))
        neck = a["neck"][k0 : rel.top[1] + 1] - base
        t = a["t"][k0 : rel.top[1] + 1]
        band = max(self.cfg.faults.top_hold_band_deg, 0.1 * (m.peak_extension_deg - m.depth_deg))
        ok = np.isfinite(neck) & (a["e"][k0 : rel.top[1] + 1] >= m.peak_extension_deg - band)
        if ok.sum() < 3:
            return 0.0, m.t_top
        value = float(np.median(neck[ok]))
        return value, float(t[ok][int(np.argmin(np.abs(neck[ok] - value)))])

    @staticmethod
    def _peak_3d(a: dict[str, np.ndarray], rel: Segment) -> float:
        """The finish read from the world-landmark angle, on the same top plateau (deg)."""
        e3 = a["e3d"][rel.top[0] : rel.top[1] + 1]
        if np.isfinite(e3).sum() < 3:
            return math.nan
        return plateau_level(a["t"][rel.top[0] : rel.top[1] + 1], e3)[0]

    def _build_rep(self, seg: Segment) -> Rep:
        cfg = self.cfg
        i0 = min(seg.lowering[0], seg.lifting[0], seg.top[0])
        i1 = max(seg.lowering[1], seg.lifting[1], seg.top[1])
        a = self.buf.arrays(i0, i1)
        rel = Segment(seg.kind, seg.order,
                      (seg.lowering[0] - i0, seg.lowering[1] - i0),
                      (seg.lifting[0] - i0, seg.lifting[1] - i0),
                      (seg.top[0] - i0, seg.top[1] - i0))
        m = measure(rel, a["t"], a["e"], a["v"], cfg.reps.phase_frac, cfg.faults.top_hold_band_deg)
        counted = seg.kind == "counted"
        shift = self._hip_shift(a, m, rel, seg) if counted else 0.0
        neck_ext, neck_t_pk = self._neck_extension(a, m, rel)
        ctx = RepContext(
            metrics=m, profile=self.profile or "seated", counted=counted,
            hip_shift_frac=shift, hip_shift_t=m.t_top,
            neck_extension_deg=neck_ext, neck_extension_t=neck_t_pk,
            bottom_deg=cfg.reps.bottom_deg, closed=seg.closed,
            peak_extension_3d_deg=self._peak_3d(a, rel),
        )
        faults: tuple[Fault, ...] = evaluate(ctx, cfg.faults)
        self._rep_index += 1
        return Rep(
            index=self._rep_index, counted=counted, t_start=m.t_start, t_bottom=m.t_bottom,
            t_top=m.t_top, t_end=m.t_end, depth_deg=m.depth_deg,
            peak_extension_deg=m.peak_extension_deg, lowering_s=m.lowering_s,
            lifting_s=m.lifting_s, top_hold_s=m.top_hold_s,
            peak_lift_velocity_dps=m.peak_lift_velocity_dps,
            peak_lower_velocity_dps=m.peak_lower_velocity_dps, smoothness=m.smoothness,
            hip_shift_frac=shift, neck_extension_deg=neck_ext, faults=faults,
        )
