"""One analysis session: frames -> pose -> :class:`Analyzer` -> sinks, and one report.

Every front end drives a :class:`Session`; they differ only in what feeds it and who listens::

    source frames ──> estimator.detect ──> Analyzer.update ──> events ──> sinks (each frame)
                                                    finish(refine) ──> make_report (once)

* ``formcheck analyze`` / ``batch``: a :class:`~formcheck.media.sources.VideoSource`
  (:func:`formcheck.app.pipeline.analyze_clip`), sinks = progress bar, annotated video.
* ``formcheck live``: the newest camera frame (:class:`formcheck.app.live.LiveSession`),
  sinks = cues, overlay, window, recording, JSON lines.
* ``formcheck eval`` replays: a recorded pose track (:class:`PoseReplay`) instead of a model.

The frame loop (:meth:`Session.run`) and the report (:func:`make_report`) are written only here,
so the same frames give the same report, byte for byte, whichever front end fed them.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from formcheck.config import Config
from formcheck.core.analysis import Analyzer, Event, SetResult
from formcheck.core.sampling import FrameDecimator
from formcheck.core.types import ClipInfo, PoseFrame

log = logging.getLogger(__name__)


class SourceFrame(Protocol):
    """What a source yields: ``index`` (frames before it), ``t_s`` (s) and a BGR ``image``
    (``None`` for pose replays). Extra attributes (live: ``t_avail``) reach the sinks."""

    index: int
    t_s: float
    image: Any


class PoseDetector(Protocol):
    """``detect(image_bgr, t_s) -> PoseFrame | None`` (the pose model, or a replay)."""

    def detect(self, image: Any, t_s: float) -> PoseFrame | None: ...


@dataclass(frozen=True)
class Step:
    """One analysed frame, as every sink sees it.

    Attributes:
        frame: the source frame as it was given (``t_s`` in seconds, ``image`` BGR or None).
        pose: the detected pose in pixels, or None when nobody was found.
        events: the analysis events of this frame (often none).
        analyzer: the live :class:`Analyzer` (rep count, phase, last angle); sinks only read it.
    """

    frame: Any
    pose: PoseFrame | None
    events: list[Event]
    analyzer: Analyzer

    @property
    def t_s(self) -> float:
        """Source time of the frame (s)."""
        return self.frame.t_s

    @property
    def image(self) -> Any:
        return self.frame.image


class Sink:
    """Something that listens to a session. Override what you need; the defaults do nothing."""

    def on_step(self, step: Step) -> None:
        """Called after each analysed frame, in order."""

    def on_finish(self, result: SetResult, final_events: Sequence[Event]) -> None:
        """Called once when the set is closed; ``final_events`` finalise the last rep."""


class CallbackSink(Sink):
    """A sink from plain functions: ``on_step(step)`` and ``on_finish(result, final_events)``."""

    def __init__(self, on_step: Callable[[Step], None] | None = None,
                 on_finish: Callable[[SetResult, Sequence[Event]], None] | None = None) -> None:
        self._step = on_step
        self._finish = on_finish

    def on_step(self, step: Step) -> None:
        if self._step is not None:
            self._step(step)

    def on_finish(self, result: SetResult, final_events: Sequence[Event]) -> None:
        if self._finish is not None:
            self._finish(result, final_events)


FrameHook = Callable[[Any, "PoseFrame | None", Analyzer, list[Event]], None]


class FrameHookSink(Sink):
    """Adapts a ``hook(frame, pose, analyzer, events)`` function (e.g.
    :meth:`formcheck.render.video.VideoAnnotator.on_frame`) to a sink."""

    def __init__(self, hook: FrameHook) -> None:
        self.hook = hook

    def on_step(self, step: Step) -> None:
        self.hook(step.frame, step.pose, step.analyzer, step.events)


class RollProbe:
    """Estimates the camera roll from the first second of frames with a person in view and
    hands it to the analyzer before the view is decided (the seated angle needs true vertical).

    Five frames, 0.2 s apart. A replay without images (eval's pose tracks) gets the roll the
    recorded run had at each frame instead.
    """

    FRAMES = 5
    EVERY_S = 0.2
    MIN_CONFIDENCE = 0.5

    def __init__(self) -> None:
        self.estimates: list = []
        self._next_t = -math.inf
        self.done = False

    def offer(self, frame: SourceFrame, pose: PoseFrame | None, analyzer: Analyzer) -> None:
        recorded = getattr(frame, "roll", None)  # a replay: the roll the recorded run had here
        if recorded is not None:
            analyzer.set_camera_roll(*recorded)
            return
        image = getattr(frame, "image", None)
        if image is None or pose is None or frame.t_s < self._next_t:
            return
        from formcheck.media.roll import combine, estimate_roll

        xy = pose.xy
        box = (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))
        self.estimates.append(estimate_roll(image, box))
        self._next_t = frame.t_s + self.EVERY_S
        est = combine(self.estimates)
        if est.confidence >= self.MIN_CONFIDENCE and abs(est.roll_deg) <= 20.0:
            analyzer.set_camera_roll(est.roll_deg, est.confidence)
        self.done = len(self.estimates) >= self.FRAMES


class Session:
    """Source frames in, events to sinks, one :class:`SetResult` and report out.

    Args:
        config: the analysis configuration.
        estimator: the pose model (or a :class:`PoseReplay`); ``None`` loads the configured
            model (:func:`formcheck.media.pose.make_estimator`) and closes it in :meth:`close`.
            A passed estimator belongs to the caller (batch reuses one for many clips), unless
            ``owns_estimator``.
        sinks: listeners, called in order for every frame.
        keep_series: keep the per-frame series for the report (see :class:`Analyzer`).

    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, config: Config, estimator: PoseDetector | None = None,
                 sinks: Iterable[Sink] = (), keep_series: bool = True,
                 owns_estimator: bool = False) -> None:
        self.config = config
        self._own_estimator = estimator is None or owns_estimator
        if estimator is None:
            from formcheck.media.pose import make_estimator

            estimator = make_estimator(config.pose)
        self.estimator = estimator
        self.analyzer = Analyzer(config, keep_series=keep_series)
        self.sinks: list[Sink] = list(sinks)
        self.events: list[Event] = []
        self.frames_analysed = 0
        self.second_looks = 0  # frames detected again with the other people hidden
        self.result: SetResult | None = None
        self._stop = False
        self._roll = RollProbe() if config.kinematics.estimate_roll else None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the pose model if this session loaded it (idempotent)."""
        if self._own_estimator and self.estimator is not None:
            close = getattr(self.estimator, "close", None)
            self.estimator = None  # type: ignore[assignment]
            if close is not None:
                close()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the frame being analysed (a sink may call it)."""
        self._stop = True

    def step(self, frame: SourceFrame, poses: list[PoseFrame] | None = None) -> Step:
        """Analyse one frame: pose, analysis, then every sink.

        ``poses``: the pose model's people in this frame, when :meth:`run` already had them
        detected (a pool of models running ahead); ``None`` runs the model here.
        """
        if self.result is not None:
            raise RuntimeError("Session.step() after finish(): start a new Session for a new set")
        if getattr(frame, "cut", False):
            # A new shot: the pose tracker and the set start again (never count across a cut).
            self.events.extend(self.analyzer.scene_cut(frame.t_s))
            new_stream = getattr(self.estimator, "new_stream", None)
            if new_stream is not None:
                new_stream()
        several = self.config.pose.num_poses > 1
        if poses is None and several and hasattr(self.estimator, "detect_all"):
            poses = self.estimator.detect_all(frame.image, frame.t_s)
        if poses is None:
            pose = self.estimator.detect(frame.image, frame.t_s)
        elif several:  # follow the exerciser's track, ignore the others
            pose = self._pick_exerciser(frame, poses)
        else:
            pose = poses[0] if poses else None
        if self._roll is not None and not self._roll.done:
            self._roll.offer(frame, pose, self.analyzer)
        events = self.analyzer.update(frame.t_s, pose)
        self.events.extend(events)
        self.frames_analysed += 1
        st = Step(frame, pose, events, self.analyzer)
        for sink in self.sinks:
            sink.on_step(st)
        return st

    def _pick_exerciser(self, frame: SourceFrame, poses: list[PoseFrame]) -> PoseFrame | None:
        """The exerciser among ``poses``. Someone close to them, or no one continuing their
        track: detect again with the others hidden outside the place the exerciser was last
        seen (:meth:`ExerciserTrack.plan`). IMAGE-mode models only: a VIDEO-mode model would
        take the second look for the next frame."""
        track = self.analyzer.exerciser
        picked, how = track.plan(frame.t_s, poses)
        if how is None or getattr(self.estimator, "tracking", True):
            return picked
        from formcheck.media.pose import hide_people

        keep, others = how
        again = self.estimator.detect_all(hide_people(frame.image, others, keep), frame.t_s)
        self.second_looks += 1
        return track.second_look(frame.t_s, picked, again)

    def run(self, frames: Iterable[SourceFrame]) -> int:
        """The frame loop: analyse ``frames`` until they end or :meth:`stop` is called.

        Returns the number of frames analysed by this call.
        """
        submit = getattr(self.estimator, "submit", None)
        if submit is not None:
            return self._run_ahead(frames, submit)
        n = 0
        for frame in frames:
            self.step(frame)
            n += 1
            if self._stop:
                break
        return n

    def _run_ahead(self, frames: Iterable[SourceFrame], submit: Callable) -> int:
        """The frame loop with a pool of pose models (:class:`PoseEstimatorPool`): the next
        frames' poses are being found while this one is analysed; frames are still analysed one
        by one, in order, so the result is the one :meth:`step` alone gives."""
        depth = int(getattr(self.estimator, "workers", 1)) + 1
        ahead: deque = deque()
        n = 0

        def analyse_until(left: int) -> None:  # the oldest frames, down to `left` in flight
            nonlocal n
            while len(ahead) > left and not self._stop:
                f, fut = ahead.popleft()
                self.step(f, fut.result())
                n += 1

        try:
            for frame in frames:
                ahead.append((frame, submit(frame.image, frame.t_s)))
                analyse_until(depth)
                if self._stop:
                    return n
            analyse_until(0)
            return n
        finally:
            for _, fut in ahead:
                fut.cancel()

    def warn(self, message: str) -> None:
        """Add a warning to the set's result (before :meth:`finish`)."""
        if message not in self.analyzer.warnings:
            self.analyzer.warnings.append(message)

    def note_source(self, source: Any) -> None:
        """Carry a source's own findings (a truncated file, a picture found turned without
        rotation metadata) into the result's warnings."""
        for msg in (truncation_warning(source), probe_turn_note(source)):
            if msg:
                self.warn(msg)

    def finish(self) -> SetResult:
        """Close the set (offline refinement of the per-frame series, as for every front end)
        and tell the sinks. Idempotent."""
        if self.result is None:
            self.result = self.analyzer.finish(refine=True)
            for sink in self.sinks:
                sink.on_finish(self.result, list(self.analyzer.final_events))
        return self.result

    def report(self, clip: ClipInfo, include_frames: bool = True,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The set's ``formcheck.report/2`` dict (closes the set if needed)."""
        return make_report(self.finish(), clip, self.config, include_frames, extra)


def make_report(result: SetResult, clip: ClipInfo, config: Config, include_frames: bool = True,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one place a report is built: the result, the clip, the configuration (digest and
    values) and front-end ``extra`` keys (live timing) after them."""
    from formcheck.render.report import build_report

    return build_report(result, clip, config.digest(), include_frames,
                        extra={"config": config.to_dict(), **(extra or {})})


def probe_turn_note(source: Any) -> str | None:
    """The note for a picture the source found turned (no rotation metadata), else None."""
    deg = getattr(getattr(source, "info", None), "rotation_probe", None)
    if not deg:
        return None
    return (f"The picture looked turned (no rotation metadata in the file); it was analysed "
            f"turned {deg}° clockwise. If that is wrong, re-export the clip upright.")


def truncation_warning(source: Any) -> str | None:
    """The warning for a video source that ended early (``truncated``), else None."""
    if not getattr(source, "truncated", False):
        return None
    n = source.info.n_frames
    read = (f"{source.frames_read} of {n} frames" if n > source.frames_read else
            f"{getattr(source, 'read_s', 0.0):.1f} s of the {source.info.duration_s:.1f} s announced")
    return (f"Only {read} could be read: the file looks truncated; results cover the part that "
            "was read.")


# --------------------------------------------------------------------------- pose replays
@dataclass(frozen=True)
class ReplayFrame:
    """A frame of a pose replay: no image, the pose was recorded earlier."""

    index: int
    t_s: float
    pose: PoseFrame | None
    image: None = None
    cut: bool = False  # the recorded run saw a scene cut here (or on a frame skipped since)
    roll: tuple[float, float | None] | None = None  # the camera roll (deg, confidence) it had


class PoseReplay:
    """Recorded ``(t_s, PoseFrame | None)`` pairs as a source *and* its pose detector.

    ``max_fps`` keeps the frames a :class:`~formcheck.media.sources.VideoSource` with that
    ``pose.max_fps`` would have analysed (same :class:`FrameDecimator`), ``0`` keeps all.
    Pass it as the session's ``estimator`` and iterate :meth:`frames`.
    """

    def __init__(self, poses: Sequence[tuple[float, PoseFrame | None]], nominal_fps: float,
                 max_fps: float = 0.0, cuts: Collection[int] = (),
                 rolls: Sequence[tuple[float, float | None] | None] | None = None) -> None:
        self.poses = poses
        self.nominal_fps = nominal_fps
        self.max_fps = max_fps
        self.cuts = frozenset(cuts)  # indices into poses of the frames after a scene cut
        self.rolls = rolls  # per pose: the recorded run's camera roll then, or None
        self._current: ReplayFrame | None = None

    def frames(self) -> Iterator[ReplayFrame]:
        keep = FrameDecimator(self.max_fps, self.nominal_fps)
        cut = False
        for k, (t, pose) in enumerate(self.poses):
            cut = cut or k in self.cuts
            if not keep.wants(t):
                continue
            keep.taken(t)
            roll = self.rolls[k] if self.rolls is not None else None
            self._current = ReplayFrame(k, float(t), pose, cut=cut, roll=roll)
            cut = False
            yield self._current

    def detect(self, image: Any, t_s: float) -> PoseFrame | None:
        cur = self._current
        if cur is None or not math.isclose(cur.t_s, t_s, abs_tol=1e-9):
            raise RuntimeError(f"PoseReplay.detect: no recorded pose at t={t_s} s; iterate frames()")
        return cur.pose
