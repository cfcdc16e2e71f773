"""A clip file through a :class:`~formcheck.app.session.Session` (``analyze``, ``batch``, ``eval``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from formcheck.app.session import FrameHook, FrameHookSink, PoseDetector, Session, Sink, Step
from formcheck.config import Config
from formcheck.core.analysis import Event, SetResult
from formcheck.core.types import ClipInfo
from formcheck.errors import AnalysisError
from formcheck.media.sources import Frame, VideoSource


def no_person_message(path: str | os.PathLike) -> str:
    """What to tell the user when no frame of a clip showed a person."""
    return f"No person was found in {os.fspath(path)}. Film the whole body side-on, in good light."


@dataclass
class ClipAnalysis:
    """The outcome of analysing one clip."""

    info: ClipInfo
    result: SetResult
    events: list[Event]
    report: dict


class _Progress(Sink):
    def __init__(self, fn: Callable[[Frame, ClipInfo], None], info: ClipInfo) -> None:
        self.fn, self.info = fn, info

    def on_step(self, step: Step) -> None:
        self.fn(step.frame, self.info)


def analyze_clip(
    path: str | os.PathLike, config: Config, estimator: PoseDetector | None = None,
    on_frame: FrameHook | None = None, progress: Callable[[Frame, ClipInfo], None] | None = None,
    include_frames: bool = True, require_person: bool = False, sinks: Iterable[Sink] = (),
    turn_deg: int | None = None,
) -> ClipAnalysis:
    """Analyse one clip. Pass ``estimator`` to reuse a loaded model across clips (batch: call
    its ``new_stream()`` first).

    ``on_frame(frame, pose, analyzer, events)`` and ``progress(frame, clip_info)`` are called
    after each analysed frame, after ``sinks``. ``turn_deg`` turns every frame clockwise
    (90/180/270) instead of probing the orientation.

    When the analysis finds the picture turned on its side (``result.turned``: a face-down set
    that reads as a standing body out of balance, :mod:`formcheck.core.upright`) and nothing but
    ``progress`` watched the frames, the clip is analysed again, turned upright; with
    ``on_frame`` or ``sinks`` the caller decides (they saw the frames once already), and the
    result keeps the finding and its warning.

    Raises :class:`SourceError` for unreadable files and, with ``require_person``,
    :class:`AnalysisError` when no person or no usable side view was found.
    """
    sinks = list(sinks)
    if estimator is None:  # one model for the orientation probe and both passes
        with _own_estimator(config) as own:
            return analyze_clip(path, config, own, on_frame, progress, include_frames,
                                require_person, sinks, turn_deg)
    res = _analyze(path, config, estimator, on_frame, progress, include_frames, sinks, turn_deg)
    if res.result.turned is not None and turn_deg is None and on_frame is None and not sinks:
        res = analyze_turned(path, config, res, estimator, progress, include_frames)
    if require_person and res.result.frames_with_pose == 0:
        raise AnalysisError(no_person_message(path))
    return res


def turned_note(turn_deg: int) -> str:
    """The warning of a clip analysed again turned upright."""
    way = "clockwise" if turn_deg == 90 else "anticlockwise"
    return (f"The picture was turned on its side (a face-down set that read as a standing body "
            f"out of balance); analysed turned 90° {way}.")


def analyze_turned(path: str | os.PathLike, config: Config, first: ClipAnalysis,
                   estimator: PoseDetector | None = None,
                   progress: Callable[[Frame, ClipInfo], None] | None = None,
                   include_frames: bool = True, on_frame: FrameHook | None = None) -> ClipAnalysis:
    """Analyse ``path`` again turned by ``first.result.turned``; keep the first analysis when the
    turned picture is found turned too (the finding was wrong)."""
    turn = first.result.turned.turn_deg
    if estimator is None:
        with _own_estimator(config) as own:
            return analyze_turned(path, config, first, own, progress, include_frames, on_frame)
    res = _analyze(path, config, estimator, on_frame, progress, include_frames, [], turn,
                   notes=[turned_note(turn)])
    return first if res.result.turned is not None else res


def _own_estimator(config: Config) -> PoseDetector:
    from formcheck.media.pose import make_estimator

    return make_estimator(config.pose)


def _analyze(path, config: Config, estimator: PoseDetector, on_frame, progress, include_frames: bool,
             sinks: list[Sink], turn_deg: int | None, notes: Iterable[str] = ()) -> ClipAnalysis:
    # A pose model (it has streams) also probes the orientation: one model less in memory.
    new_stream = getattr(estimator, "new_stream", None)
    with VideoSource(path, config.pose.max_side_px, config.pose.max_fps, turn_deg=turn_deg,
                     probe_rotation=estimator if new_stream else True) as src:
        if new_stream:
            new_stream()  # the clip's frames, after the probe's stills (VIDEO mode)
        all_sinks = list(sinks)
        if on_frame is not None:
            all_sinks.append(FrameHookSink(on_frame))
        if progress is not None:
            all_sinks.append(_Progress(progress, src.info))
        with Session(config, estimator, all_sinks) as session:
            session.run(src)
            session.note_source(src)
            for note in notes:
                session.warn(note)
            result = session.finish()
    report = session.report(src.info, include_frames)
    return ClipAnalysis(src.info, result, session.events, report)
