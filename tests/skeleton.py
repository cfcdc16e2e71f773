"""An independent landmark generator for tests: a posed 3-D skeleton seen by a pinhole camera.

This module shares no angle code with formcheck. It imports only the BlazePose landmark
*indices* (formcheck.core.landmarks) and the PoseFrame record; every rotation, joint placement
and projection is written here with numpy. Its truth is the joint angles it posed, so a
convention or sign error in formcheck's kinematics shows up as a wrong e, a wrong count or a
wrong fault.

World frame (metres): X horizontal, toward the body's front in the seated posture (the head end
of a prone set); Y up (against gravity); Z = X × Y, the person's **right** (their left is -Z).
All body angles live in the sagittal X-Y plane; positive rotation is counter-clockwise seen
from +Z, which tips a segment backward (posterior).

Truth angles (degrees):
* ``seated`` (lever machine, thighs horizontal on a seat, knees ~90°): e = angle of the trunk
  axis (hip-joint-centre midpoint → shoulder-joint-centre midpoint) from the true vertical;
  positive = leaning back.
* ``prone`` (45° bench or horizontal apparatus, straight legs fixed): e = angle of the trunk
  axis from the leg line extended past the hip; positive = above the leg line (arched).
* ``standing`` hip hinge: e as seated (torso upright = 0), legs straight and vertical.
* neck: head tipped back (chin up) relative to the head's normal carriage on the trunk.

The camera orbits the hip: ``facing`` right puts the body's front toward +x in the image; yaw
turns the camera toward the body's front (0 = pure side view), pitch raises it to look down,
roll turns it about its optical axis. Noise is specified in pixels at 640 px image width.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.core import landmarks as L
from formcheck.core.types import PoseFrame

N = L.N_LANDMARKS
X, Y, Z = np.eye(3)

# BlazePose indices not named in formcheck.core.landmarks (MediaPipe's documented order).
LEFT_EYE_INNER, LEFT_EYE, LEFT_EYE_OUTER = 1, 2, 3
RIGHT_EYE_INNER, RIGHT_EYE, RIGHT_EYE_OUTER = 4, 5, 6
MOUTH_LEFT, MOUTH_RIGHT = 9, 10
LEFT_PINKY, RIGHT_PINKY, LEFT_INDEX, RIGHT_INDEX, LEFT_THUMB, RIGHT_THUMB = 17, 18, 19, 20, 21, 22
PAIRS = [(LEFT_EYE_INNER, RIGHT_EYE_INNER), (LEFT_EYE, RIGHT_EYE), (LEFT_EYE_OUTER, RIGHT_EYE_OUTER),
         (L.LEFT_EAR, L.RIGHT_EAR), (MOUTH_LEFT, MOUTH_RIGHT), (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
         (L.LEFT_ELBOW, L.RIGHT_ELBOW), (L.LEFT_WRIST, L.RIGHT_WRIST), (LEFT_PINKY, RIGHT_PINKY),
         (LEFT_INDEX, RIGHT_INDEX), (LEFT_THUMB, RIGHT_THUMB), (L.LEFT_HIP, L.RIGHT_HIP),
         (L.LEFT_KNEE, L.RIGHT_KNEE), (L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_HEEL, L.RIGHT_HEEL),
         (L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)]


# ----------------------------------------------------------------------------- geometry
def rot_z(deg: float) -> np.ndarray:
    """3x3 rotation about +Z by ``deg`` (counter-clockwise in the X-Y plane seen from +Z)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_axis(axis: np.ndarray, deg: float) -> np.ndarray:
    """3x3 rotation about a unit ``axis`` by ``deg`` (right-hand rule; Rodrigues)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    a = math.radians(deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * kx @ kx


def sagittal(deg: float) -> np.ndarray:
    """Unit vector in the X-Y plane at ``deg`` counter-clockwise from +X."""
    a = math.radians(deg)
    return np.array([math.cos(a), math.sin(a), 0.0])


def front_of(u: np.ndarray) -> np.ndarray:
    """The anterior direction of a segment pointing along ``u`` (u turned 90° clockwise)."""
    return rot_z(-90.0) @ u


@dataclass(frozen=True)
class Anthro:
    """Body dimensions in metres (an adult of about 1.75 m; joint centres, not skin)."""

    hip_half_width: float = 0.09
    shoulder_half_width: float = 0.19
    knee_half_width: float = 0.10
    trunk: float = 0.50  # hip-joint midpoint to shoulder-joint midpoint
    thigh: float = 0.44
    shank: float = 0.43
    upper_arm: float = 0.29


@dataclass(frozen=True)
class Bias:
    """MediaPipe-like landmark placement: on the body's outline, not the joint centre (m).

    Shoulder landmarks sit toward the back, hip landmarks toward the front, knee landmarks on the
    kneecap. The default magnitudes reproduce the bias measured on the rendered development
    clips before correction (benchmarks/ACCURACY.md: +3.4° seated, +2.3° prone): here
    atan(0.03 / 0.50) = +3.4° on the trunk, and the knee's 1 cm extra toward the front turns
    the thigh line by -1.3° (prone ≈ +2.1°).
    """

    shoulder_back_m: float = 0.02
    hip_front_m: float = 0.01
    knee_front_m: float = 0.02


# ----------------------------------------------------------------------------- posing
SEATED, PRONE, STANDING = "seated", "prone", "standing"


@dataclass(frozen=True)
class Posture:
    """How the person is set up on the machine (angles in degrees)."""

    profile: str = SEATED
    knee_deg: float = 90.0  # seated: interior knee angle
    bench_deg: float = 45.0  # prone: leg line above horizontal (45° bench; 0 = horizontal)
    hip_height_m: float = 0.5


def pose_skeleton(
    posture: Posture, e_deg: float, neck_deg: float = 0.0, shift_frac: float = 0.0,
    anthro: Anthro = Anthro(), bias: Bias | None = None, stride_deg: float = 0.0,
) -> np.ndarray:
    """(33, 3) world positions (m) of the skeleton with trunk angle ``e_deg`` (see module doc).

    ``shift_frac``: the whole body slid along the thigh/pad by this fraction of thigh length.
    ``stride_deg``: standing only, legs swung ± this much (a walking step).
    """
    a = anthro
    prof = posture.profile
    if prof == SEATED:
        neutral, leg = 90.0, None
        thigh_dir = X.copy()
        hip_c = np.array([0.0, posture.hip_height_m, 0.0])
    elif prof == STANDING:
        neutral = 90.0
        thigh_dir = -Y.copy()
        hip_c = np.array([0.0, a.thigh + a.shank + 0.06, 0.0])
    elif prof == PRONE:
        neutral = posture.bench_deg  # the leg line, from the feet up through the hip
        leg = sagittal(posture.bench_deg)
        thigh_dir = -leg
        hip_c = np.array([0.0, 0.95, 0.0])
    else:
        raise ValueError(f"posture.profile: expected seated, prone or standing, got {prof!r}")
    slide = thigh_dir if prof != STANDING else X
    hip_c = hip_c + shift_frac * a.thigh * slide
    u = sagittal(neutral + e_deg)  # trunk axis
    f = front_of(u)
    P = np.zeros((N, 3))
    # Pelvis and shoulder girdle. Person's left is -Z.
    P[L.LEFT_HIP] = hip_c - a.hip_half_width * Z
    P[L.RIGHT_HIP] = hip_c + a.hip_half_width * Z
    sh_c = hip_c + a.trunk * u  # shoulder joints sit ~5 cm in front of the spine (spine not drawn)
    P[L.LEFT_SHOULDER] = sh_c - a.shoulder_half_width * Z
    P[L.RIGHT_SHOULDER] = sh_c + a.shoulder_half_width * Z
    # Head: pivots at the top of the neck, behind and above the shoulder joints.
    pivot = sh_c + 0.07 * u - 0.03 * f
    hu = rot_z(neck_deg) @ u  # tipping back = counter-clockwise, like leaning back
    hf = front_of(hu)
    ear_c = pivot + 0.12 * hu + 0.01 * hf
    P[L.LEFT_EAR], P[L.RIGHT_EAR] = ear_c - 0.075 * Z, ear_c + 0.075 * Z
    P[L.NOSE] = ear_c + 0.10 * hf - 0.01 * hu
    eye_c = ear_c + 0.085 * hf + 0.03 * hu
    for (li, ri), w in zip(PAIRS[:3], (0.015, 0.032, 0.048)):
        P[li], P[ri] = eye_c - w * Z, eye_c + w * Z
    mouth = ear_c + 0.09 * hf - 0.05 * hu
    P[MOUTH_LEFT], P[MOUTH_RIGHT] = mouth - 0.025 * Z, mouth + 0.025 * Z
    # Arms crossed on the chest: elbows low in front, each hand on the opposite shoulder.
    for side, (el, wr, pk, ix, th) in ((-1, (L.LEFT_ELBOW, L.LEFT_WRIST, LEFT_PINKY, LEFT_INDEX, LEFT_THUMB)),
                                       (1, (L.RIGHT_ELBOW, L.RIGHT_WRIST, RIGHT_PINKY, RIGHT_INDEX, RIGHT_THUMB))):
        P[el] = sh_c - 0.24 * u + 0.14 * f + side * 0.15 * Z
        P[wr] = sh_c - 0.06 * u + 0.11 * f - side * 0.10 * Z
        P[pk] = P[wr] + 0.02 * u - side * 0.05 * Z
        P[ix] = P[wr] + 0.04 * u - side * 0.06 * Z + 0.01 * f
        P[th] = P[wr] + 0.03 * u - side * 0.03 * Z + 0.02 * f
    # Legs.
    for side, (hp, kn, an, he, to) in ((-1, (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX)),
                                       (1, (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX))):
        if prof == SEATED:
            td = thigh_dir
            sd = rot_z(-(180.0 - posture.knee_deg)) @ td  # shank turned down from the thigh
            foot = rot_z(90.0) @ sd
        elif prof == STANDING:
            swing = side * stride_deg
            td = rot_z(swing) @ thigh_dir
            sd = td
            foot = X.copy()
        else:
            td = sd = thigh_dir
            foot = front_of(leg)  # toes point to the body's front (down the platform)
        knee = P[hp] + a.thigh * td + side * (a.knee_half_width - a.hip_half_width) * Z
        ankle = knee + a.shank * sd
        P[kn], P[an] = knee, ankle
        P[he] = ankle + 0.05 * sd - 0.05 * foot
        P[to] = ankle + 0.06 * sd + 0.15 * foot
    if prof == STANDING:
        P = balanced(P)
    if bias is not None:
        P = apply_bias(P, u, f, thigh_dir, posture, bias)
    return P


# Segment masses (fraction of the body) and their centres as joint midpoints (Winter,
# Biomechanics and Motor Control of Human Movement, table 4.1), for balance.
_SEGMENTS = (
    ((L.LEFT_EAR, L.RIGHT_EAR), 0.081),
    ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP), 0.497),
    ((L.LEFT_SHOULDER, L.LEFT_ELBOW), 0.028), ((L.RIGHT_SHOULDER, L.RIGHT_ELBOW), 0.028),
    ((L.LEFT_ELBOW, L.LEFT_WRIST), 0.022), ((L.RIGHT_ELBOW, L.RIGHT_WRIST), 0.022),
    ((L.LEFT_HIP, L.LEFT_KNEE), 0.1), ((L.RIGHT_HIP, L.RIGHT_KNEE), 0.1),
    ((L.LEFT_KNEE, L.LEFT_ANKLE), 0.0465), ((L.RIGHT_KNEE, L.RIGHT_ANKLE), 0.0465),
    ((L.LEFT_HEEL, L.LEFT_FOOT_INDEX), 0.0145), ((L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX), 0.0145),
)


def balanced(P: np.ndarray) -> np.ndarray:
    """A standing skeleton moved to keep its centre of mass over the ankles, as people do: the
    feet stay, the hips go back as the trunk leans, the legs tilt from the ankles (each point
    moves in proportion to its height above the ankles, up to the hips' height)."""
    ankle = 0.5 * (P[L.LEFT_ANKLE] + P[L.RIGHT_ANKLE])
    hip_h = 0.5 * (P[L.LEFT_HIP, 1] + P[L.RIGHT_HIP, 1]) - ankle[1]
    share = np.clip((P[:, 1] - ankle[1]) / hip_h, 0.0, 1.0)
    share[[L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]] = 0.0
    P = P.copy()
    for _ in range(6):  # moving the body moves its centre of mass less than the hips: iterate
        com = sum(w * P[list(idx)].mean(axis=0) for idx, w in _SEGMENTS) / sum(w for _, w in _SEGMENTS)
        P[:, 0] -= (com[0] - ankle[0]) * share
    return P


HEAD = [L.NOSE, LEFT_EYE_INNER, LEFT_EYE, LEFT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE,
        RIGHT_EYE_OUTER, L.LEFT_EAR, L.RIGHT_EAR, MOUTH_LEFT, MOUTH_RIGHT]
TRUNK = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST,
         L.RIGHT_WRIST, LEFT_PINKY, RIGHT_PINKY, LEFT_INDEX, RIGHT_INDEX, LEFT_THUMB, RIGHT_THUMB]


def pose_batch(posture: Posture, e_deg: np.ndarray, neck_deg: np.ndarray, shift_frac: np.ndarray,
               anthro: Anthro = Anthro(), bias: Bias | None = None) -> np.ndarray:
    """(n, 33, 3) skeletons, the same as ``pose_skeleton`` frame by frame, computed as rigid
    motions: the trunk (with the hips' biased landmarks) turns about the hip axis by e, the head
    about its pivot by the neck angle, the legs stay, and everything slides with the shift."""
    if posture.profile == STANDING:
        return np.stack([pose_skeleton(posture, a, b, c, anthro, bias)
                         for a, b, c in zip(e_deg, neck_deg, shift_frac)])
    P0 = pose_skeleton(posture, 0.0, 0.0, 0.0, anthro, bias)
    hip_c = 0.5 * (pose_skeleton(posture, 0.0, anthro=anthro)[L.LEFT_HIP]
                   + pose_skeleton(posture, 0.0, anthro=anthro)[L.RIGHT_HIP])
    u0 = sagittal(90.0 if posture.profile == SEATED else posture.bench_deg)
    sh_c = hip_c + anthro.trunk * u0
    pivot0 = sh_c + 0.07 * u0 - 0.03 * front_of(u0)
    slide = X if posture.profile == SEATED else sagittal(posture.bench_deg + 180.0)

    def rz(deg: np.ndarray) -> np.ndarray:
        a = np.radians(np.asarray(deg, dtype=np.float64))
        c, s = np.cos(a), np.sin(a)
        R = np.zeros((a.size, 3, 3))
        R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = c, -s, s, c, 1.0
        return R

    Re, Rn = rz(e_deg), rz(neck_deg)
    n = Re.shape[0]
    P = np.broadcast_to(P0, (n, N, 3)).copy()
    moving = TRUNK + (list(L.HIP) if bias is not None else [])
    P[:, moving] = hip_c + np.einsum("nij,kj->nki", Re, P0[moving] - hip_c)
    head_local = np.einsum("nij,kj->nki", Rn, P0[HEAD] - pivot0) + (pivot0 - hip_c)
    P[:, HEAD] = hip_c + np.einsum("nij,nkj->nki", Re, head_local)
    P += (np.asarray(shift_frac, dtype=np.float64) * anthro.thigh)[:, None, None] * slide
    return P


def apply_bias(P: np.ndarray, u: np.ndarray, f: np.ndarray, thigh_dir: np.ndarray,
               posture: Posture, bias: Bias) -> np.ndarray:
    """Move shoulder/hip/knee landmarks from the joint centres to the body's outline."""
    J = P  # joint centres
    P = P.copy()
    for i in L.SHOULDER:
        P[i] = J[i] - bias.shoulder_back_m * f
    for i in L.HIP:
        P[i] = J[i] + bias.hip_front_m * f
    for k, h, an in ((L.LEFT_KNEE, L.LEFT_HIP, L.LEFT_ANKLE), (L.RIGHT_KNEE, L.RIGHT_HIP, L.RIGHT_ANKLE)):
        to_hip = J[h] - J[k]
        to_ankle = J[an] - J[k]
        out = -(to_hip / np.linalg.norm(to_hip) + to_ankle / np.linalg.norm(to_ankle))
        if np.linalg.norm(out) < 0.3:  # straight leg: the kneecap faces the leg's front
            out = front_of(-thigh_dir) if posture.profile == PRONE else X
        P[k] = J[k] + bias.knee_front_m * out / np.linalg.norm(out)
    return P


# ----------------------------------------------------------------------------- camera
@dataclass(frozen=True)
class Camera:
    """A pinhole camera orbiting the subject's hip (angles in degrees, distances in metres)."""

    facing: str = "right"  # where the body's front appears in the image
    yaw_deg: float = 0.0  # 0 = pure side view; >0 turns the camera toward the body's front
    pitch_deg: float = 0.0  # >0 camera above, looking down
    roll_deg: float = 0.0  # >0: the scene appears turned clockwise on screen
    distance_m: float = 2.6
    hfov_deg: float = 60.0
    image_wh: tuple[int, int] = (640, 480)
    target: tuple[float, float, float] = (0.15, 0.75, 0.0)  # the point the camera looks at

    @property
    def focal_px(self) -> float:
        return 0.5 * self.image_wh[0] / math.tan(math.radians(self.hfov_deg) / 2)

    def rotation(self) -> np.ndarray:
        """Rows = camera axes (x right, y down, z forward) in world coordinates."""
        return _rotation(self)

    def _rotation(self) -> np.ndarray:
        if self.facing not in ("right", "left"):
            raise ValueError(f"facing: expected 'right' or 'left', got {self.facing!r}")
        s = 1.0 if self.facing == "right" else -1.0
        # Side view: from the person's right (+Z) for facing right, from the left for facing left.
        cx, cy, cz = s * X, -Y, -s * Z
        R = np.stack([cx, cy, cz])  # world -> camera
        # Yaw: orbit about the vertical toward the body's front (+X).
        Ryaw = rot_axis(Y, s * self.yaw_deg)
        # Pitch: orbit upward about the camera's horizontal axis (after yaw), looking down.
        R = R @ Ryaw.T
        Rp = rot_axis(R[0], -self.pitch_deg)
        R = R @ Rp.T
        # Roll about the optical axis.
        Rr = rot_axis(np.array([0.0, 0.0, 1.0]), self.roll_deg)
        return Rr @ R

    def position(self, R: np.ndarray) -> np.ndarray:
        return np.asarray(self.target) - self.distance_m * R[2]

    def project(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (n, 2) and camera-frame points (n, 3) of world points ``P`` (n, 3)."""
        R = self.rotation()
        pc = (P - _position(self)) @ R.T
        if np.any(pc[:, 2] <= 0.05):
            raise ValueError("project: a point is behind the camera; move the camera back")
        f = self.focal_px
        w, h = self.image_wh
        uv = np.stack([f * pc[:, 0] / pc[:, 2] + w / 2, f * pc[:, 1] / pc[:, 2] + h / 2], axis=1)
        return uv, pc


@functools.lru_cache(maxsize=64)
def _rotation(cam: Camera) -> np.ndarray:
    return cam._rotation()


@functools.lru_cache(maxsize=64)
def _position(cam: Camera) -> np.ndarray:
    return cam.position(_rotation(cam))


# ----------------------------------------------------------------------------- motion scripts
def minjerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk position profile 0→1 over tau in [0, 1]."""
    tau = np.clip(tau, 0.0, 1.0)
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def abrupt(tau: np.ndarray) -> np.ndarray:
    """0→1 with its peak velocity at the very start (a thrown lift)."""
    tau = np.clip(tau, 0.0, 1.0)
    return 1 - (1 - tau) ** 2


def linear(tau: np.ndarray) -> np.ndarray:
    return np.clip(tau, 0.0, 1.0)


SHAPES = {"minjerk": minjerk, "abrupt": abrupt, "linear": linear}


@dataclass(frozen=True)
class Seg:
    """One piece of a scripted signal: from ``v0`` to ``v1`` over [t0, t1] with ``shape``."""

    t0: float
    t1: float
    v0: float
    v1: float
    shape: str = "minjerk"


class Track:
    """A piecewise signal of time (hold the last value after the end, the first before)."""

    def __init__(self, start: float = 0.0):
        self.segs: list[Seg] = []
        self.t = 0.0
        self.v = start

    def go(self, v1: float, dur: float, shape: str = "minjerk") -> Track:
        self.segs.append(Seg(self.t, self.t + max(dur, 1e-6), self.v, v1, shape))
        self.t += max(dur, 1e-6)
        self.v = v1
        return self

    def hold(self, dur: float) -> Track:
        return self.go(self.v, dur, "linear")

    def at(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.full(t.shape, self.segs[0].v0 if self.segs else self.v)
        for s in self.segs:
            m = t >= s.t0
            tau = (t[m] - s.t0) / (s.t1 - s.t0)
            out[m] = s.v0 + (s.v1 - s.v0) * SHAPES[s.shape](tau)
        return out


@dataclass(frozen=True)
class RepSpec:
    """One scripted rep (angles in deg of e, times in s). ``faults``: the ids it carries by design."""

    depth: float = -48.0
    peak: float = 0.0
    lowering_s: float = 1.6
    lifting_s: float = 1.4
    top_hold_s: float = 0.9
    bottom_hold_s: float = 0.25
    lift_shape: str = "minjerk"
    lower_shape: str = "minjerk"
    neck_crank_deg: float = 0.0
    hip_shift_frac: float = 0.0
    partial: bool = False  # a dip that is meant not to count
    faults: tuple[str, ...] = ()


def normal_finish(profile: str, rng: np.random.Generator) -> float:
    """A normal finish: seated within ±2° of upright; prone 4–16° past the leg line (seed 000)."""
    return float(rng.uniform(4.0, 16.0)) if profile == PRONE else float(rng.uniform(-2.0, 2.0))


def variant(kind: str, profile: str, rng: np.random.Generator, depth: float = -48.0) -> RepSpec:
    """A rep of ``kind``: clean, or a fault variant with its values drawn in the labelled ranges."""
    fin = normal_finish(profile, rng)
    base = RepSpec(depth=depth + float(rng.uniform(-3, 3)), peak=fin)
    if kind == "clean":
        return base
    if kind == "hyperextension":
        lo, hi = (30.0, 40.0) if profile == PRONE else (16.0, 26.0)
        return replace(base, peak=float(rng.uniform(lo, hi)), lifting_s=1.6, faults=("hyperextension",))
    if kind == "jerky_lift":
        return replace(base, lifting_s=float(rng.uniform(0.38, 0.55)), lift_shape="abrupt",
                       faults=("jerky_lift",))
    if kind == "fast_descent":
        return replace(base, lowering_s=float(rng.uniform(0.38, 0.55)), faults=("fast_descent",))
    if kind == "partial":
        return replace(base, depth=fin - float(rng.uniform(9.0, 14.0)), lowering_s=0.9,
                       lifting_s=0.9, partial=True, faults=("partial_range",))
    if kind == "neck_crank":
        return replace(base, neck_crank_deg=float(rng.uniform(27.0, 34.0)), faults=("neck_crank",))
    if kind == "hip_shift":
        return replace(base, hip_shift_frac=float(rng.uniform(0.12, 0.15)), faults=("hip_shift",))
    raise ValueError(f"variant: unknown kind {kind!r}")


@dataclass(frozen=True)
class RepTruth:
    """Labels of one scripted rep (times in s from clip start)."""

    counted: bool
    faults: tuple[str, ...]
    t_leave_top: float  # the trunk starts leaving the top (lowering start)
    t_bottom: float  # arrival at the depth
    t_leave_bottom: float  # lift starts
    t_arrive_top: float  # lift ends (at the peak)
    depth: float
    peak: float
    neck_crank_deg: float = 0.0


@dataclass
class SetScript:
    """Scripted e(t), neck(t), hip shift(t) of one set, with per-rep labels."""

    posture: Posture
    e: Track
    neck: Track
    shift: Track
    reps: list[RepTruth]
    t_set: float  # when the set proper begins (after any walk-in/mount)
    duration: float

    @property
    def rep_count(self) -> int:
        return sum(r.counted for r in self.reps)

    def expected_faults(self) -> list[list[str]]:
        """Fault ids per reported rep (counted and partial), in order."""
        return [sorted(r.faults) for r in self.reps]


def make_set(posture: Posture, reps: list[RepSpec], start: str = "top", lead_s: float = 2.0,
             tail_s: float = 1.5, t0: float = 0.0, start_level: float | None = None) -> SetScript:
    """Script a set. ``start``: "top" (lower, then lift) or "bottom" (hang, lift, then lower)."""
    if start not in ("top", "bottom"):
        raise ValueError(f"start: expected 'top' or 'bottom', got {start!r}")
    lvl = (reps[0].depth if start == "bottom" else 0.0) if start_level is None else start_level
    e, neck, sh = Track(lvl), Track(0.0), Track(0.0)
    for tr in (e, neck, sh):
        tr.hold(t0 + lead_s)
    truths: list[RepTruth] = []
    shift = 0.0

    def lower(r: RepSpec) -> tuple[float, float]:
        ta = e.t
        neck.go(0.0, min(0.4, r.lowering_s))
        neck.hold(r.lowering_s - min(0.4, r.lowering_s))
        e.go(r.depth, r.lowering_s, r.lower_shape)
        return ta, e.t

    def lift(r: RepSpec) -> tuple[float, float]:
        ta = e.t
        e.go(r.peak, r.lifting_s, r.lift_shape)
        neck.hold(0.6 * r.lifting_s)
        neck.go(r.neck_crank_deg, 0.4 * r.lifting_s)
        return ta, e.t

    for k, r in enumerate(reps):
        if r.hip_shift_frac:
            shift += r.hip_shift_frac
        if start == "top" or r.partial:
            sync = e.t
            a0, a1 = lower(r)
            e.hold(r.bottom_hold_s)
            neck.hold(r.bottom_hold_s)
            b0, b1 = lift(r)
            sh.hold(sync - sh.t).go(shift, b1 - a0)
            e.hold(r.top_hold_s)
            neck.hold(r.top_hold_s)
            truths.append(RepTruth(not r.partial, r.faults, a0, a1, b0, b1, r.depth, r.peak,
                                   r.neck_crank_deg))
        else:
            if k > 0 and e.v > r.depth + 1:  # previous rep ended at the top (after a partial)
                lower(r)
                e.hold(r.bottom_hold_s)
                neck.hold(r.bottom_hold_s)
            sync = e.t
            b0, b1 = lift(r)
            e.hold(r.top_hold_s)
            neck.hold(r.top_hold_s)
            a0, a1 = lower(r)
            sh.hold(sync - sh.t).go(shift, a1 - b0)
            e.hold(r.bottom_hold_s + 0.5)
            neck.hold(r.bottom_hold_s + 0.5)
            truths.append(RepTruth(True, r.faults, a0, a1, b0, b1, r.depth, r.peak, r.neck_crank_deg))
    e.hold(tail_s)
    neck.hold(tail_s)
    sh.hold(e.t - sh.t)
    return SetScript(posture, e, neck, sh, truths, t0, e.t)


# ----------------------------------------------------------------------------- frame times
def frame_times(duration: float, fps: float = 30.0, variable: bool = False, seed: int = 0) -> np.ndarray:
    """Frame times (s). ``variable``: intervals jitter ±35 % and 3 % of frames are dropped."""
    if not variable:
        return np.arange(0.0, duration, 1.0 / fps)
    rng = np.random.default_rng(seed + 1000)
    dts = (1.0 / fps) * rng.uniform(0.65, 1.35, int(duration * fps * 1.5) + 10)
    dts = np.where(rng.random(dts.size) < 0.03, dts * 3, dts)
    t = np.cumsum(np.concatenate([[0.0], dts]))
    return t[t < duration]


# ----------------------------------------------------------------------------- rendering
@dataclass(frozen=True)
class Scene:
    """Everything about the camera and the estimator's errors (noise in px at 640 px width)."""

    camera: Camera = field(default_factory=Camera)
    noise_px: float = 0.0
    seed: int = 0
    bias: Bias | None = None
    far_visibility: float = 0.85
    far_drop_frac: float = 0.0  # fraction of frames whose far-side joints drop to low visibility
    dropout_frac: float = 0.0  # fraction of frames with no pose at all (in runs of 1-4 frames)
    pad_occlusion: bool = False  # knees and thighs hidden behind the machine's pad
    walk_in_s: float = 0.0  # walk into view (standing) before the set, then mount/sit down
    mount_s: float = 1.5
    walk_out_s: float = 0.0  # after the set's script: dismount/stand up (mount_s), walk out of view
    bystander_t: float | None = None  # a second person crosses in front of the camera from then
    bystander_s: float = 3.0
    world: bool = True  # also give MediaPipe-like world landmarks (metres, hip-centred)


def _standing_walk(posture: Posture, t: float, x0: float, x1: float, dur: float) -> np.ndarray:
    """A person walking from x0 to x1 (m, along X) in ``dur`` s, standing upright."""
    x = x0 + (x1 - x0) * min(max(t / dur, 0.0), 1.0)
    stride = 18.0 * math.sin(2 * math.pi * 1.8 * t) if t < dur else 0.0
    P = pose_skeleton(Posture(STANDING), 0.0, stride_deg=stride)
    return P + np.array([x, 0.0, 0.0])


def _frame(scene: Scene, t: float, P: np.ndarray, rng: np.random.Generator,
           far_low: bool = False) -> PoseFrame:
    cam = scene.camera
    uv, pc = cam.project(P)
    w, h = cam.image_wh
    vis = np.full(N, 0.99)
    for li, ri in PAIRS:
        far = li if pc[li, 2] > pc[ri, 2] else ri
        if abs(pc[li, 2] - pc[ri, 2]) > 0.02:
            vis[far] = 0.2 if far_low else scene.far_visibility
    out = (uv[:, 0] < 0) | (uv[:, 0] > w) | (uv[:, 1] < 0) | (uv[:, 1] > h)
    vis[out] = 0.05
    if scene.noise_px:
        uv = uv + rng.normal(0.0, scene.noise_px * w / 640.0, uv.shape)
    hip_c = 0.5 * (pc[L.LEFT_HIP] + pc[L.RIGHT_HIP])
    z = (pc[:, 2] - hip_c[2]) * cam.focal_px / hip_c[2] / w
    world = None
    if scene.world:
        world = pc - hip_c + rng.normal(0.0, 0.004 * max(scene.noise_px, 0.25), pc.shape)
    return PoseFrame(float(t), uv, vis, z, world, (w, h))


def render(script: SetScript, times: np.ndarray, scene: Scene = Scene()) -> list[PoseFrame | None]:
    """What a single-person pose estimator would output for each frame time (None = nobody)."""
    rng = np.random.default_rng(scene.seed)
    frames: list[PoseFrame | None] = []
    e, neck, sh = script.e.at(times), script.neck.at(times), script.shift.at(times)
    set_start = pose_skeleton(script.posture, float(e[0]), bias=scene.bias)
    stand_at_machine = _standing_walk(script.posture, 1e9, 0.0, -0.35, 1.0)
    drop = np.zeros(len(times), dtype=bool)
    if scene.dropout_frac:
        k = 0
        while k < len(times):
            if rng.random() < scene.dropout_frac / 2.5:
                n = int(rng.integers(1, 5))
                drop[k:k + n] = True
                k += n + 1
            k += 1
    far_low = rng.random(len(times)) < scene.far_drop_frac
    posed = pose_batch(script.posture, e, neck, sh, bias=scene.bias)
    set_end = pose_skeleton(script.posture, float(script.e.at(np.array([script.duration]))[0]),
                            bias=scene.bias)
    pad_wander = np.cumsum(rng.normal(0.0, 0.004, (len(times), 2)), axis=0)
    for k, t in enumerate(times):
        if drop[k]:
            frames.append(None)
            continue
        walk_end = scene.walk_in_s
        u = t - script.duration  # time since the set's script ended
        if scene.walk_out_s and u >= scene.mount_s:  # walking out of view
            P = _standing_walk(script.posture, u - scene.mount_s, -0.35, 2.6, scene.walk_out_s)
        elif scene.walk_out_s and u >= 0.0:  # getting off the machine / standing up
            w = float(minjerk(np.array(u / scene.mount_s)))
            P = (1 - w) * set_end + w * stand_at_machine
        elif t < walk_end:  # walking in from out of view
            P = _standing_walk(script.posture, t, -2.6, -0.35, walk_end)
        elif t < walk_end + scene.mount_s and scene.walk_in_s:  # sitting down / mounting
            w = float(minjerk(np.array((t - walk_end) / scene.mount_s)))
            P = (1 - w) * stand_at_machine + w * set_start
        else:
            P = posed[k]
        fr = _frame(scene, t, P, rng, bool(far_low[k]))
        if scene.pad_occlusion and t >= walk_end + (scene.mount_s if scene.walk_in_s else 0.0):
            # The pad hides knees and thighs: low visibility, landmark guessed off the joint.
            xy = fr.xy.copy()
            vis = fr.visibility.copy()
            f = scene.camera.focal_px / scene.camera.distance_m
            for kn in L.KNEE:
                xy[kn] += f * (np.array([0.06, -0.05]) + pad_wander[k])
                vis[kn] = 0.25
            fr = PoseFrame(fr.t_s, xy, vis, fr.z, fr.world, fr.image_wh)
        if scene.bystander_t is not None and scene.bystander_t <= t < scene.bystander_t + scene.bystander_s:
            # A passer-by nearer the camera: a single-person estimator often locks onto them.
            s = 1.0 if scene.camera.facing == "right" else -1.0
            B = _standing_walk(script.posture, t - scene.bystander_t, -2.2, 2.6, scene.bystander_s)
            B = B + np.array([0.0, 0.0, s * 1.0])
            crossing = abs(float(B[L.LEFT_HIP, 0])) < 0.9
            if crossing and rng.random() < 0.7:
                fr = _frame(scene, t, B, rng)
        frames.append(fr)
    return frames


def true_e(script: SetScript, times: np.ndarray) -> np.ndarray:
    """The posed trunk angle at ``times`` (deg)."""
    return script.e.at(times)


def standard_set(profile: str, kinds: list[str], seed: int = 0, start: str = "top",
                 depth: float = -48.0, **kw) -> SetScript:
    """A set of reps of the given kinds (``variant``), values drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    posture = Posture(profile)
    return make_set(posture, [variant(k, profile, rng, depth) for k in kinds], start=start, **kw)
