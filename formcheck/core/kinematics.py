"""Kinematics: from landmarks in pixels to the signed extension angle e and friends.

Conventions (DESIGN.md, written down once here):

* Image coordinates: x right, y down, pixels. Angles in degrees.
* Hip angle θ: angle at the hip between hip→shoulder and hip→knee, 0-180°.
* Extension angle e: 0 at neutral, negative in flexion (torso toward the body's front),
  positive past neutral.

  - ``seated``: neutral = torso vertical. e = signed angle of hip→shoulder from image-up,
    negative toward the front (the side of the knees, face and toes).
  - ``prone``: neutral = torso in line with the legs. e = signed angle of hip→shoulder from the
    thigh line extended (knee→hip), negative toward the floor (the body's front faces down).

  The sign comes from the body, never from the image, so a mirrored clip gives the same e.
* Joints are the visibility-weighted mean of the left and right landmarks (an estimate of the
  midpoint of the two joint centres, which is what a side view measures).

Everything here is pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.core import landmarks as L
from formcheck.core.types import PoseFrame

SEATED, PRONE = "seated", "prone"


@dataclass(frozen=True)
class Body:
    """Joint positions of one frame in pixels (each (2,) float64) and their visibility (0-1)."""

    shoulder: np.ndarray
    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    ear: np.ndarray
    nose: np.ndarray
    heel: np.ndarray
    toe: np.ndarray
    visibility: dict[str, float]
    shoulder_width_px: float
    world: np.ndarray | None = None  # (33, 3) metres, hip-centred (MediaPipe world landmarks)


def _pair(frame: PoseFrame, pair: tuple[int, int]) -> tuple[np.ndarray, float]:
    v = frame.visibility[list(pair)]
    w = np.clip(v, 1e-3, None) ** 2
    p = (frame.xy[list(pair)] * w[:, None]).sum(axis=0) / w.sum()
    return p, float(v.max())


def body_from_frame(frame: PoseFrame) -> Body:
    """Combine left/right landmarks of ``frame`` into one side-view body."""
    parts = {}
    vis = {}
    for name, pair in (
        ("shoulder", L.SHOULDER), ("hip", L.HIP), ("knee", L.KNEE), ("ankle", L.ANKLE),
        ("ear", L.EAR), ("heel", L.HEEL), ("toe", L.FOOT_INDEX),
    ):
        parts[name], vis[name] = _pair(frame, pair)
    parts["nose"] = frame.xy[L.NOSE].copy()
    vis["nose"] = float(frame.visibility[L.NOSE])
    sw = float(np.linalg.norm(frame.xy[L.LEFT_SHOULDER] - frame.xy[L.RIGHT_SHOULDER]))
    return Body(visibility=vis, shoulder_width_px=sw, world=frame.world, **parts)


def signed_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed angle from vector(s) a to b in image coordinates (positive = clockwise on screen)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = (a * b).sum(axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def hip_angle_deg(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """θ: the unsigned angle at the hip between hip→shoulder and hip→knee, degrees 0-180."""
    return np.abs(signed_angle_deg(np.asarray(shoulder) - hip, np.asarray(knee) - hip))


UP = np.array([0.0, -1.0])
DOWN = np.array([0.0, 1.0])


def extension_deg(
    profile: str, front_sign: float, shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray,
    floor_side: float = 0.0,
) -> np.ndarray:
    """Signed extension angle e (degrees) for one frame or arrays of frames.

    ``front_sign`` is +1 when the body's front (knees, face) is toward +x in the image, -1
    toward -x. It matters for ``seated`` only. ``prone`` flexes toward the floor: the floor's
    side of the thigh line (knee→hip) is ``floor_side`` (+1: ``thigh × v > 0`` for a vector
    ``v`` toward the floor, see :func:`floor_side_from_face`), or, when it is 0, image-down's.
    """
    trunk = np.asarray(shoulder, dtype=np.float64) - hip
    if profile == SEATED:
        return -front_sign * signed_angle_deg(UP, trunk)
    if profile == PRONE:
        thigh = np.asarray(hip, dtype=np.float64) - knee
        a = signed_angle_deg(thigh, trunk)
        if floor_side:
            down_side = 1.0 if floor_side > 0 else -1.0
        else:
            down_side = np.sign(thigh[..., 0] * DOWN[1] - thigh[..., 1] * DOWN[0])
            down_side = np.where(down_side == 0, 1.0, down_side)
        return -down_side * a
    raise ValueError(f"profile: expected 'seated' or 'prone', got {profile!r}")


def neck_angle_deg(front_sign: float, shoulder, hip, ear, nose) -> np.ndarray:
    """Head carriage: signed angle of the head's ear→nose line from the trunk line, degrees.

    Positive = head tipped back (chin up, toward the body's back). The head's own axis moves
    one-for-one with a head tilt, unlike the shoulder→ear line whose ear sits near the pivot.
    Compare against the person's own starting carriage, not against zero.
    """
    trunk = np.asarray(shoulder, dtype=np.float64) - hip
    head = np.asarray(nose, dtype=np.float64) - ear
    return -front_sign * signed_angle_deg(trunk, head)


def floor_side_from_face(bodies: list[Body], min_visibility: float = 0.5,
                         leg_upright_deg: float = 25.0) -> float:
    """Which side of the thigh line (knee→hip) the floor is on in a face-down set, from the face:
    +1 or -1 (the sign of ``thigh × v`` for a vector ``v`` toward the floor), 0 when the face was
    seen in fewer than 3 bodies lying on the bench (a thigh more than ``leg_upright_deg`` from
    image-up or image-down: someone standing beside the bench faces forward, not the floor).

    Face-down means the front of the body, the face with it, toward the floor, whichever way the
    camera is turned, so the nose lies on the floor's side of the ear. On the renders and the real
    45° benches the face agreed with image-down in 84-100 % of frames and in the median of every
    clip; a picture turned 90° is where they part.
    """
    votes = []
    for b in bodies:
        if min(b.visibility["nose"], b.visibility["ear"], b.visibility["knee"]) < min_visibility:
            continue
        thigh, face = b.hip - b.knee, b.nose - b.ear
        tilt = float(abs(signed_angle_deg(UP, thigh)))
        if min(tilt, 180.0 - tilt) <= leg_upright_deg:
            continue
        votes.append(float(np.sign(thigh[0] * face[1] - thigh[1] * face[0])))
    if len(votes) < 3:
        return 0.0
    m = float(np.median(votes))
    return 0.0 if m == 0 else (1.0 if m > 0 else -1.0)


@dataclass(frozen=True)
class ViewFacts:
    """What the first seconds of a set say about the view (decided once per set)."""

    profile: str
    front_sign: float  # +1: the front of the body is toward +x (facing right)
    frontal: bool
    shoulder_ratio: float
    knee_angle_deg: float
    leg_from_vertical_deg: float  # the hip→ankle line from image-up (deg, median)
    floor_side: float = 0.0  # prone: the floor's side of the thigh line from the face (0: image-down)

    @property
    def facing(self) -> str:
        return "right" if self.front_sign > 0 else "left"


def decide_view(
    bodies: list[Body], requested_profile: str, frontal_ratio: float,
    knee_bent_deg: float = 135.0, leg_upright_deg: float = 25.0, min_visibility: float = 0.5,
) -> ViewFacts:
    """Choose profile (if ``auto``), facing and frontal-ness from a few seconds of bodies.

    ``auto``: a knee bent more than ``knee_bent_deg`` (seated on a machine) or a leg (the
    hip→ankle line) within ``leg_upright_deg`` of vertical (standing hip hinge) gives
    ``seated``; near-straight legs that are not upright give ``prone``. The whole leg, not the
    thigh: a standing hinge keeps the feet under the hips even when its knees bend (hinges
    filmed side-on: median 5–8° from vertical), while a 45° bench keeps the legs near 45°, so a
    camera rolled by 10° still leaves 10° on either side of the default 25°. Knees hidden by a
    pad (knee and ankle seen, at ``min_visibility``, in fewer than a third of the frames or
    fewer than 3) give ``seated``: the prone angle needs the thigh line. ``floor_side`` (prone)
    comes from :func:`floor_side_from_face`.
    """
    if not bodies:
        raise ValueError("decide_view: expected at least one body, got none")
    sh = np.array([b.shoulder for b in bodies])
    hip = np.array([b.hip for b in bodies])
    torso = np.linalg.norm(sh - hip, axis=1)
    ratio = float(np.median([b.shoulder_width_px for b in bodies] / np.maximum(torso, 1e-6)))
    legs = [b for b in bodies if min(b.visibility["knee"], b.visibility["ankle"]) >= min_visibility]
    knees_seen = len(legs) >= max(3, len(bodies) // 3)
    if knees_seen:
        k_hip = np.array([b.hip for b in legs])
        knee = np.array([b.knee for b in legs])
        ankle = np.array([b.ankle for b in legs])
        knee_angle = float(np.median(np.abs(signed_angle_deg(k_hip - knee, ankle - knee))))
        leg_vert = float(np.median(np.abs(signed_angle_deg(UP, k_hip - ankle))))
    else:
        knee_angle, leg_vert = math.nan, math.nan
    bent = knees_seen and knee_angle < knee_bent_deg
    if requested_profile in (SEATED, PRONE):
        profile = requested_profile
    elif not knees_seen or bent or leg_vert < leg_upright_deg:
        profile = SEATED  # knee bent on a seat, standing (hip hinge), or legs hidden by the pads
    else:
        profile = PRONE  # legs near straight and not vertical: torso in line with the legs
    # Facing: votes of the knees (seated), the face and the toes, weighted by their lever.
    votes = 0.0
    for b in bodies:
        scale = max(float(np.linalg.norm(b.shoulder - b.hip)), 1e-6)
        if profile == SEATED and bent and b.visibility["knee"] >= min_visibility:
            votes += 2.0 * (b.knee[0] - b.hip[0]) / scale
        votes += (b.nose[0] - b.ear[0]) / scale * min(b.visibility["nose"], b.visibility["ear"])
        votes += (b.toe[0] - b.heel[0]) / scale * min(b.visibility["toe"], b.visibility["heel"])
        if profile == PRONE:
            votes += (b.shoulder[0] - b.hip[0]) / scale  # the head end is the front of the set
    front_sign = 1.0 if votes >= 0 else -1.0
    floor = floor_side_from_face(bodies, min_visibility, leg_upright_deg) if profile == PRONE else 0.0
    return ViewFacts(profile, front_sign, ratio > frontal_ratio, ratio, knee_angle, leg_vert, floor)


def rotate_deg(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate image vector(s) ``v`` by ``deg`` degrees (positive = clockwise on screen, y down)."""
    r = math.radians(deg)
    c, s_ = math.cos(r), math.sin(r)
    v = np.asarray(v, dtype=np.float64)
    return np.stack([c * v[..., 0] - s_ * v[..., 1], s_ * v[..., 0] + c * v[..., 1]], axis=-1)


def world_prone_extension_deg(world: np.ndarray, thigh_world: np.ndarray | None = None) -> float:
    """Prone e from MediaPipe's world landmarks (metres, view-invariant up to the model's error).

    The trunk (hip→shoulder midpoints) against the thigh line extended (knee→hip), both projected
    on the body's sagittal plane (normal: the left-right hip axis); positive above the leg line.
    ``thigh_world`` replaces the per-frame thigh (legs are fixed in a prone set).
    """
    w = np.asarray(world, dtype=np.float64)
    sh = (w[L.LEFT_SHOULDER] + w[L.RIGHT_SHOULDER]) / 2
    hp = (w[L.LEFT_HIP] + w[L.RIGHT_HIP]) / 2
    kn = (w[L.LEFT_KNEE] + w[L.RIGHT_KNEE]) / 2
    axis = w[L.LEFT_HIP] - w[L.RIGHT_HIP]
    n = float(np.linalg.norm(axis))
    if n < 1e-6:
        return math.nan
    axis = axis / n
    thigh = hp - kn if thigh_world is None else np.asarray(thigh_world, dtype=np.float64)
    trunk = sh - hp
    thigh = thigh - thigh.dot(axis) * axis
    trunk = trunk - trunk.dot(axis) * axis
    ang = math.degrees(math.atan2(float(np.cross(thigh, trunk).dot(axis)), float(thigh.dot(trunk))))
    return -ang  # about the left-pointing hip axis a rise is negative: flip to DESIGN's sign


class OneEuroFilter:
    """Causal One Euro filter (Casiez et al., 2012) with real time steps.

    Args:
        min_cutoff_hz: cut-off when the signal is still; lower = smoother, more lag.
        beta: how fast the cut-off rises with speed (per unit of the signal per second).
        d_cutoff_hz: cut-off of the speed estimate.
    """

    def __init__(self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float = 1.0):
        if min_cutoff_hz <= 0:
            raise ValueError(f"min_cutoff_hz: expected > 0, got {min_cutoff_hz}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff_hz, beta, d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._x: float | None = None
        self._dx = 0.0
        self._t = 0.0

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: float) -> float:
        if self._x is None:
            self._x, self._t = x, t
            return x
        dt = t - self._t
        if dt <= 0:
            return self._x
        self._t = t
        dx = (x - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        return self._x


class LowPass:
    """First-order causal low-pass with real time steps (cut-off in Hz)."""

    def __init__(self, cutoff_hz: float):
        self.cutoff = cutoff_hz
        self._y: float | None = None
        self._t = 0.0

    def reset(self) -> None:
        self._y = None

    def __call__(self, t: float, x: float) -> float:
        if self._y is None:
            self._y, self._t = x, t
            return x
        dt = t - self._t
        self._t = t
        if dt <= 0:
            return self._y
        a = 1.0 / (1.0 + 1.0 / (2 * math.pi * self.cutoff * dt))
        self._y = a * x + (1 - a) * self._y
        return self._y


def butterworth_zero_phase(t: np.ndarray, x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Offline zero-phase 2nd-order Butterworth low-pass (forward-backward), resampling-free.

    Uses the median frame interval of ``t`` for the filter design; NaNs are left in place and
    split the signal into independently filtered runs.
    """
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    if len(x) < 4:
        return out
    dt = float(np.median(np.diff(t)))
    if dt <= 0:
        return out
    fs = 1.0 / dt
    wc = math.tan(math.pi * min(cutoff_hz, 0.45 * fs) / fs)
    k1 = math.sqrt(2) * wc
    k2 = wc * wc
    a0 = 1 + k1 + k2
    b = np.array([k2, 2 * k2, k2]) / a0
    a = np.array([1.0, 2 * (k2 - 1) / a0, (1 - k1 + k2) / a0])
    finite = np.isfinite(x)
    idx = np.flatnonzero(finite)
    if idx.size == 0:
        return out
    splits = np.flatnonzero(np.diff(idx) > 1) + 1
    for run in np.split(idx, splits):
        if run.size >= 7:
            out[run] = _filtfilt(b, a, x[run])
    return out


def _lfilter(b: np.ndarray, a: np.ndarray, x: np.ndarray, y0: float) -> np.ndarray:
    y = np.empty_like(x)
    x1 = x2 = x[0]
    y1 = y2 = y0
    for i, xi in enumerate(x):
        yi = b[0] * xi + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
        x2, x1, y2, y1 = x1, xi, y1, yi
        y[i] = yi
    return y


def _filtfilt(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    pad = min(len(x) - 1, 15)
    ext = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]])
    y = _lfilter(b, a, ext, ext[0])
    y = _lfilter(b, a, y[::-1], y[-1])[::-1]
    return y[pad : pad + len(x)]
