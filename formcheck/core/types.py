"""Frozen records handed between pipeline stages. Units are in every docstring."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.core.landmarks import N_LANDMARKS


@dataclass(frozen=True)
class PoseFrame:
    """One detected pose in one video frame.

    Attributes:
        t_s: frame time in seconds from the start of the source (container timestamp).
        xy: (33, 2) float64 landmark positions in **pixels** (x right, y down).
        visibility: (33,) float64 in [0, 1], MediaPipe's visibility score.
        z: (33,) float64 relative depth (MediaPipe units, smaller = nearer the camera).
        world: optional (33, 3) float64 world landmarks in metres (hip-centred).
        image_wh: (width, height) of the analysed image in pixels.
    """

    t_s: float
    xy: np.ndarray
    visibility: np.ndarray
    z: np.ndarray | None = None
    world: np.ndarray | None = None
    image_wh: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        vis = np.asarray(self.visibility, dtype=np.float64)
        if xy.shape != (N_LANDMARKS, 2):
            raise ValueError(f"PoseFrame.xy: expected shape (33, 2), got {xy.shape}")
        if vis.shape != (N_LANDMARKS,):
            raise ValueError(f"PoseFrame.visibility: expected shape (33,), got {vis.shape}")
        if not np.isfinite(self.t_s):
            raise ValueError(f"PoseFrame.t_s: expected a finite time in seconds, got {self.t_s}")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "visibility", vis)
        if self.z is not None:
            object.__setattr__(self, "z", np.asarray(self.z, dtype=np.float64).reshape(N_LANDMARKS))
        if self.world is not None:
            world = np.asarray(self.world, dtype=np.float64)
            if world.shape != (N_LANDMARKS, 3):
                raise ValueError(f"PoseFrame.world: expected shape (33, 3), got {world.shape}")
            object.__setattr__(self, "world", world)

    def mirrored(self) -> PoseFrame:
        """The same pose in a horizontally flipped image (x -> width - x, left/right kept)."""
        w = self.image_wh[0]
        xy = self.xy.copy()
        xy[:, 0] = w - xy[:, 0]
        return PoseFrame(self.t_s, xy, self.visibility, self.z, self.world, self.image_wh)


@dataclass(frozen=True)
class Fault:
    """A fault found in a rep (or in the set, for set-level rules).

    Attributes:
        id: fault id from the fault table (e.g. ``"hyperextension"``).
        t: time in seconds from clip start where the fault shows most.
        value: the measured value, in the unit of ``threshold``.
        threshold: the rule's threshold that ``value`` crossed.
        unit: unit of value and threshold (``"deg"``, ``"s"``, ``"deg/s"``, ``"frac"``).
        severity: ``"major"`` or ``"minor"``.
        cue: short positive instruction from the exercise guides.
        source: the guide sentence the cue traces to.
    """

    id: str
    t: float
    value: float
    threshold: float
    unit: str
    severity: str
    cue: str
    source: str = ""

    def to_dict(self) -> dict:
        return {
            "id": self.id, "t": round(self.t, 3), "cue": self.cue,
            "value": round(float(self.value), 3), "threshold": float(self.threshold),
            "unit": self.unit, "severity": self.severity, "source": self.source,
        }


@dataclass(frozen=True)
class Rep:
    """One lift (counted) or one dip that never reached the bottom zone (partial).

    Times are seconds from clip start; angles are the signed extension angle e in degrees
    (0 neutral, negative flexion); velocities in degrees per second.
    """

    index: int
    counted: bool
    t_start: float
    t_bottom: float
    t_top: float
    t_end: float
    depth_deg: float
    peak_extension_deg: float
    lowering_s: float
    lifting_s: float
    top_hold_s: float
    peak_lift_velocity_dps: float
    peak_lower_velocity_dps: float
    hip_shift_frac: float
    neck_extension_deg: float
    faults: tuple[Fault, ...] = field(default_factory=tuple)
    #: phases the set ended before they were over ("lowering", "top_hold"): their times are
    #: what was seen, not judged by the rules, and shown as "–"
    untimed: tuple[str, ...] = ()

    @property
    def range_of_motion_deg(self) -> float:
        return self.peak_extension_deg - self.depth_deg

    @property
    def score(self) -> float:
        """0-100: 100 minus 35 per major and 15 per minor fault."""
        penalty = sum(35 if f.severity == "major" else 15 for f in self.faults)
        return float(max(0, 100 - penalty))

    def to_dict(self) -> dict:
        r = lambda v: round(float(v), 3)  # noqa: E731
        return {
            "index": self.index, "counted": self.counted,
            "t_start": r(self.t_start), "t_bottom": r(self.t_bottom), "t_top": r(self.t_top),
            "t_end": r(self.t_end), "depth_deg": r(self.depth_deg),
            "peak_extension_deg": r(self.peak_extension_deg),
            "range_of_motion_deg": r(self.range_of_motion_deg),
            "lowering_s": r(self.lowering_s), "lifting_s": r(self.lifting_s),
            "top_hold_s": r(self.top_hold_s),
            "peak_lift_velocity_dps": r(self.peak_lift_velocity_dps),
            "peak_lower_velocity_dps": r(self.peak_lower_velocity_dps),
            "hip_shift_frac": r(self.hip_shift_frac),
            "neck_extension_deg": r(self.neck_extension_deg),
            "score": self.score, "faults": [f.to_dict() for f in self.faults],
            "untimed": list(self.untimed),
        }


@dataclass(frozen=True)
class ClipInfo:
    """Container facts of a clip (or a camera session).

    Attributes:
        path: the file.
        fps: average frame rate (frames/s) announced by the container (0 when unknown).
        n_frames: frame count announced by the container (0 when unknown).
        duration_s: duration (s) announced by the container (0 when unknown).
        width, height: size (px) of the upright (rotated) frames before any downscale or crop.
        rotation_deg: clockwise rotation (deg, 0/90/180/270) applied from the display matrix.
        rotation_probe: extra clockwise rotation (deg) found by looking at the person
            (:func:`formcheck.media.orientation.probe_rotation`) when the file carries no
            rotation metadata but was filmed turned; ``None`` when not probed.
        crop: content box ``(x, y, w, h)`` in upright pixels when pillarbox/letterbox bars were
            cropped away, else ``None``.
    """

    path: str
    fps: float
    n_frames: int
    duration_s: float
    width: int
    height: int
    rotation_deg: int
    rotation_probe: int | None = None
    crop: tuple[int, int, int, int] | None = None
