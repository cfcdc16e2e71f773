"""The report contract (``formcheck.report/2``) as frozen dataclasses.

:class:`Report` and its parts (:class:`ClipMeta`, :class:`RepRecord`, :class:`FaultRecord`,
:class:`Summary`, :class:`FrameSeries`) are built once from a
:class:`~formcheck.core.analysis.SetResult` by :meth:`Report.build`; ``to_dict()`` gives the
JSON object, key order included, that ``formcheck analyze --json`` writes. The published JSON
Schema is ``docs/report.schema.json``. Numbers are rounded as documented per field; values that
are not finite become ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck import __version__
from formcheck.core.events import FaultId, Severity
from formcheck.core.types import ClipInfo, Fault, Rep

if TYPE_CHECKING:
    from formcheck.core.analysis import SetResult

SCHEMA = "formcheck.report/2"
"""The report's ``schema`` value. Keys listed here are stable; new keys may be added."""


def _num(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def _r3(x: float) -> float:
    return round(float(x), 3)


@dataclass(frozen=True)
class ClipMeta:
    """``clip``: the analysed file (or camera). fps in Hz and duration in s, rounded to 3
    decimals (None when unknown or not finite); width/height in pixels of the upright frames."""

    path: str
    fps: float | None
    n_frames: int
    duration_s: float | None
    width: int
    height: int
    rotation_deg: int

    @classmethod
    def from_info(cls, clip: ClipInfo) -> ClipMeta:
        return cls(clip.path, _num(clip.fps), clip.n_frames, _num(clip.duration_s), clip.width,
                   clip.height, clip.rotation_deg)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "fps": self.fps, "n_frames": self.n_frames,
                "duration_s": self.duration_s, "width": self.width, "height": self.height,
                "rotation_deg": self.rotation_deg}


@dataclass(frozen=True)
class FaultRecord:
    """One fault of a rep: ``t`` (s, 3 decimals) where it shows most, ``value`` measured
    (3 decimals) against ``threshold``, both in ``unit`` (deg, s, deg/s, frac)."""

    id: FaultId
    t: float
    cue: str
    value: float
    threshold: float
    unit: str
    severity: Severity
    source: str

    @classmethod
    def from_fault(cls, f: Fault) -> FaultRecord:
        return cls(FaultId(f.id), _r3(f.t), f.cue, _r3(f.value), float(f.threshold), f.unit,
                   Severity(f.severity), f.source)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id.value, "t": self.t, "cue": self.cue, "value": self.value,
                "threshold": self.threshold, "unit": self.unit, "severity": self.severity.value,
                "source": self.source}


@dataclass(frozen=True)
class RepRecord:
    """One rep (``counted``) or partial rep. Times in s from clip start, angles in deg of the
    extension angle e (0 neutral, negative flexion), velocities in deg/s, ``hip_shift_frac`` in
    thigh lengths, ``score`` 0-100; every float rounded to 3 decimals."""

    index: int
    counted: bool
    t_start: float
    t_bottom: float
    t_top: float
    t_end: float
    depth_deg: float
    peak_extension_deg: float
    range_of_motion_deg: float
    lowering_s: float
    lifting_s: float
    top_hold_s: float
    peak_lift_velocity_dps: float
    peak_lower_velocity_dps: float
    hip_shift_frac: float
    neck_extension_deg: float
    score: float
    faults: tuple[FaultRecord, ...]
    untimed: tuple[str, ...] = ()

    @classmethod
    def from_rep(cls, r: Rep) -> RepRecord:
        return cls(
            r.index, r.counted, _r3(r.t_start), _r3(r.t_bottom), _r3(r.t_top), _r3(r.t_end),
            _r3(r.depth_deg), _r3(r.peak_extension_deg), _r3(r.range_of_motion_deg),
            _r3(r.lowering_s), _r3(r.lifting_s), _r3(r.top_hold_s),
            _r3(r.peak_lift_velocity_dps), _r3(r.peak_lower_velocity_dps),
            _r3(r.hip_shift_frac), _r3(r.neck_extension_deg), r.score,
            tuple(FaultRecord.from_fault(f) for f in r.faults), tuple(r.untimed),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "counted": self.counted, "t_start": self.t_start,
            "t_bottom": self.t_bottom, "t_top": self.t_top, "t_end": self.t_end,
            "depth_deg": self.depth_deg, "peak_extension_deg": self.peak_extension_deg,
            "range_of_motion_deg": self.range_of_motion_deg, "lowering_s": self.lowering_s,
            "lifting_s": self.lifting_s, "top_hold_s": self.top_hold_s,
            "peak_lift_velocity_dps": self.peak_lift_velocity_dps,
            "peak_lower_velocity_dps": self.peak_lower_velocity_dps,
            "hip_shift_frac": self.hip_shift_frac,
            "neck_extension_deg": self.neck_extension_deg, "score": self.score,
            "faults": [f.to_dict() for f in self.faults], "untimed": list(self.untimed),
        }


@dataclass(frozen=True)
class Summary:
    """``summary``: counted and partial reps, reps without faults, faults by id (every id of
    the fault table, 0 when absent, in table order), the set score (0-100, None without a
    counted rep) and frames analysed / with a pose."""

    rep_count: int
    partial_reps: int
    good_reps: int
    faults: tuple[tuple[str, int], ...]
    score: float | None
    frames_analysed: int
    frames_with_pose: int

    @classmethod
    def from_result(cls, result: SetResult) -> Summary:
        counts = {fid.value: 0 for fid in FaultId}
        counts.update(result.fault_counts())
        return cls(result.rep_count, result.partial_reps, result.good_reps, tuple(counts.items()),
                    result.score, result.frames_total, result.frames_with_pose)

    @property
    def fault_counts(self) -> dict[str, int]:
        return dict(self.faults)

    def to_dict(self) -> dict[str, Any]:
        return {"rep_count": self.rep_count, "partial_reps": self.partial_reps,
                "good_reps": self.good_reps, "faults": self.fault_counts, "score": self.score,
                "frames_analysed": self.frames_analysed, "frames_with_pose": self.frames_with_pose}


@dataclass(frozen=True)
class FrameSeries:
    """``frames``: one value per analysed frame. ``t_s`` (s, 3 decimals), ``extension_deg`` and
    ``hip_angle_deg`` (deg, 2 decimals), ``velocity_dps`` (deg/s, 1 decimal); None where nobody
    was tracked; ``visible`` whether the body was tracked; ``smoothing`` names the filter."""

    t_s: tuple[float | None, ...]
    extension_deg: tuple[float | None, ...]
    hip_angle_deg: tuple[float | None, ...]
    velocity_dps: tuple[float | None, ...]
    visible: tuple[bool, ...]
    smoothing: str

    @classmethod
    def from_series(cls, s: Mapping[str, Sequence[float]], smoothing: str) -> FrameSeries:
        def col(key: str, nd: int) -> tuple[float | None, ...]:
            return tuple(_num(v, nd) for v in s[key])

        return cls(col("t_s", 3), col("extension_deg", 2), col("hip_angle_deg", 2),
                   col("velocity_dps", 1),
                   tuple(bool(v) for v in np.asarray(s["visible"], dtype=bool)), smoothing)

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": list(self.t_s), "extension_deg": list(self.extension_deg),
                "hip_angle_deg": list(self.hip_angle_deg), "velocity_dps": list(self.velocity_dps),
                "visible": list(self.visible), "smoothing": self.smoothing}


@dataclass(frozen=True)
class Report:
    """The whole report. ``extra`` holds front-end keys written after the contract keys
    (``config``: the configuration used; ``live``: a live session's timing)."""

    clip: ClipMeta
    profile: str
    facing: str | None
    config_digest: str
    summary: Summary
    warnings: tuple[str, ...]
    reps: tuple[RepRecord, ...]
    frames: FrameSeries | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    schema: str = SCHEMA
    formcheck_version: str = __version__

    @classmethod
    def build(cls, result: SetResult, clip: ClipInfo, config_digest: str = "",
              include_frames: bool = True, extra: Mapping[str, Any] | None = None) -> Report:
        """The report of one analysed set."""
        frames = FrameSeries.from_series(result.series, result.smoothing) if include_frames else None
        return cls(
            clip=ClipMeta.from_info(clip), profile=result.profile, facing=result.facing,
            config_digest=config_digest, summary=Summary.from_result(result),
            warnings=tuple(result.warnings), reps=tuple(RepRecord.from_rep(r) for r in result.reps),
            frames=frames,
            extra=tuple((({"scene": result.scene} if result.scene else {}) | dict(extra or {})).items()),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": self.schema, "formcheck_version": self.formcheck_version,
            "clip": self.clip.to_dict(), "profile": self.profile, "facing": self.facing,
            "config_digest": self.config_digest, "summary": self.summary.to_dict(),
            "warnings": list(self.warnings), "reps": [r.to_dict() for r in self.reps],
        }
        if self.frames is not None:
            d["frames"] = self.frames.to_dict()
        d.update(self.extra)
        return d

