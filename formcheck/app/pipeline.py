"""Glue: clip file -> frames -> pose -> :class:`Analyzer` -> report. Used by every front end."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from collections.abc import Callable, Iterable

from formcheck.core.analysis import Analyzer, Event, SetResult
from formcheck.config import Config
from formcheck.errors import AnalysisError
from formcheck.media.pose import PoseEstimator
from formcheck.render.report import build_report
from formcheck.media.sources import ClipInfo, Frame, VideoSource

log = logging.getLogger(__name__)


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


FrameHook = Callable[[Frame, "object | None", Analyzer, list[Event]], None]


def analyze_frames(
    frames: Iterable[Frame], estimator: PoseEstimator, analyzer: Analyzer,
    on_frame: FrameHook | None = None, progress: Callable[[Frame], None] | None = None,
) -> list[Event]:
    """Run pose + analysis over ``frames``; ``on_frame`` sees each frame with its pose and events."""
    events: list[Event] = []
    for frame in frames:
        pose = estimator.detect(frame.image, frame.t_s)
        ev = analyzer.update(frame.t_s, pose)
        events.extend(ev)
        if on_frame is not None:
            on_frame(frame, pose, analyzer, ev)
        if progress is not None:
            progress(frame)
    return events


def analyze_clip(
    path: str | os.PathLike, config: Config, estimator: PoseEstimator | None = None,
    on_frame: FrameHook | None = None, progress: Callable[[Frame, ClipInfo], None] | None = None,
    include_frames: bool = True, require_person: bool = False,
) -> ClipAnalysis:
    """Analyse one clip. Pass ``estimator`` to reuse a loaded model across clips (batch).

    ``progress(frame, clip_info)`` is called after each analysed frame.

    Raises :class:`SourceError` for unreadable files and, with ``require_person``,
    :class:`AnalysisError` when no person or no usable side view was found.
    """
    own = estimator is None
    if own:
        pc = config.pose
        estimator = PoseEstimator(pc.model, pc.min_detection_confidence,
                                  pc.min_presence_confidence, pc.min_tracking_confidence)
    try:
        with VideoSource(path, config.pose.max_side_px, config.pose.max_fps) as src:
            analyzer = Analyzer(config)
            tick = (lambda fr: progress(fr, src.info)) if progress is not None else None
            events = analyze_frames(src, estimator, analyzer, on_frame, tick)
            info = src.info
            if src.truncated:
                analyzer.warnings.append(
                    f"Only {src.frames_read} of {info.n_frames} frames could be read: the file "
                    "looks truncated; results cover the part that was read."
                )
    finally:
        if own:
            estimator.close()
    result = analyzer.finish(refine=True)
    if require_person and result.frames_with_pose == 0:
        raise AnalysisError(no_person_message(path))
    report = build_report(result, info, config.digest(), include_frames,
                          extra={"config": config.to_dict()})
    return ClipAnalysis(info, result, events, report)
