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
) -> ClipAnalysis:
    """Analyse one clip. Pass ``estimator`` to reuse a loaded model across clips (batch: call
    its ``new_stream()`` first).

    ``on_frame(frame, pose, analyzer, events)`` and ``progress(frame, clip_info)`` are called
    after each analysed frame, after ``sinks``.

    Raises :class:`SourceError` for unreadable files and, with ``require_person``,
    :class:`AnalysisError` when no person or no usable side view was found.
    """
    with VideoSource(path, config.pose.max_side_px, config.pose.max_fps) as src:
        all_sinks = list(sinks)
        if on_frame is not None:
            all_sinks.append(FrameHookSink(on_frame))
        if progress is not None:
            all_sinks.append(_Progress(progress, src.info))
        with Session(config, estimator, all_sinks) as session:
            session.run(src)
            session.note_source(src)
            result = session.finish()
    if require_person and result.frames_with_pose == 0:
        raise AnalysisError(no_person_message(path))
    report = session.report(src.info, include_frames)
    return ClipAnalysis(src.info, result, session.events, report)
