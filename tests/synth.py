"""Synthetic side-view landmark sequences with a scripted extension angle e(t).

A stick figure whose trunk follows e(t) exactly (by the definitions in formcheck.core.kinematics),
so tests know the true reps and faults. Pure numpy; no model, no video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core import landmarks as L
from formcheck.core.analysis import LANDMARK_OFFSET_DEG
from formcheck.core.types import PoseFrame

FPS = 30.0


def rotate(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate v clockwise on screen (image coordinates, y down) by deg."""
    a = np.radians(deg)
    return np.array([v[0] * np.cos(a) - v[1] * np.sin(a), v[0] * np.sin(a) + v[1] * np.cos(a)])


def minjerk(n: int) -> np.ndarray:
    tau = np.linspace(0, 1, n)
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


@dataclass
class RepScript:
    """One scripted rep of a top-start set (angles in deg, times in s)."""

    depth: float = -45.0
    peak: float = 0.0
    lowering_s: float = 1.5
    lifting_s: float = 1.2
    top_hold_s: float = 0.6
    bottom_pause_s: float = 0.15
    jerky: bool = False  # velocity jumps to its peak at the start of the lift
    neck_crank_deg: float = 0.0
    hip_shift_frac: float = 0.0  # slide of the whole body during this rep, / thigh length
    bounce: bool = False  # no hold: reverse at the top at full speed (linear profile)


def script_set(reps: list[RepScript], lead_s: float = 2.0, tail_s: float = 1.0, start: float = 0.0,
               fps: float = FPS):
    """e(t), neck(t), shift(t) arrays of a top-start set; returns (t, e, neck, shift)."""
    dt = 1.0 / fps
    e = [start] * int(lead_s * fps)
    neck = [0.0] * len(e)
    shift = [0.0] * len(e)
    cur, sh = start, 0.0
    for r in reps:
        n = max(2, int(round(r.lowering_s * fps)))
        prof = np.linspace(0, 1, n) if r.bounce else minjerk(n)
        seg = cur + (r.depth - cur) * prof
        e += list(seg)
        neck += [0.0] * n
        shift += list(sh + np.linspace(0, r.hip_shift_frac / 2, n))
        sh += r.hip_shift_frac / 2
        k = int(r.bottom_pause_s * fps)
        e += [r.depth] * k
        neck += [0.0] * k
        shift += [sh] * k
        n = max(2, int(round(r.lifting_s * fps)))
        if r.jerky:
            tau = np.linspace(0, 1, n)
            prof = 1 - (1 - tau) ** 2  # velocity jumps to max at the start, then decays
        elif r.bounce:
            prof = np.linspace(0, 1, n)
        else:
            prof = minjerk(n)
        e += list(r.depth + (r.peak - r.depth) * prof)
        neck += list(np.where(prof > 0.7, r.neck_crank_deg, 0.0))
        shift += list(sh + np.linspace(0, r.hip_shift_frac / 2, n))
        sh += r.hip_shift_frac / 2
        k = int(r.top_hold_s * fps)
        e += [r.peak] * k
        neck += [r.neck_crank_deg] * k
        shift += [sh] * k
        cur = r.peak
        if r.peak != start:  # come back to neutral before the next rep
            n = int(0.5 * fps)
            e += list(r.peak + (start - r.peak) * minjerk(n))
            neck += [0.0] * n
            shift += [sh] * n
            cur = start
    k = int(tail_s * fps)
    e += [cur] * k
    neck += [0.0] * k
    shift += [sh] * k
    t = np.arange(len(e)) * dt
    return t, np.array(e), np.array(neck), np.array(shift)


def body_frames(
    t: np.ndarray, e: np.ndarray, profile: str = "seated", facing: str = "right",
    neck: np.ndarray | None = None, shift: np.ndarray | None = None, noise_px: float = 0.0,
    shoulder_width_px: float = 6.0, seed: int = 0, true_angle: bool = True,
    size: tuple[int, int] = (640, 480),
) -> list[PoseFrame]:
    """PoseFrames of a stick figure whose extension angle (as formcheck reads it) is e(t).

    With ``true_angle`` the landmark offset the analyser corrects for is pre-applied, so the
    analyser's e equals the scripted e.
    """
    rng = np.random.default_rng(seed)
    f = 1.0 if facing == "right" else -1.0
    thigh, shin, trunk_len = 90.0, 90.0, 110.0
    neck = np.zeros_like(e) if neck is None else neck
    shift = np.zeros_like(e) if shift is None else shift
    off = LANDMARK_OFFSET_DEG[profile] if true_angle else 0.0
    frames = []
    for k, tk in enumerate(t):
        ek = e[k] - off
        if profile == "seated":
            hip = np.array([300.0, 300.0]) + f * np.array([shift[k] * thigh, 0.0])
            knee = hip + f * np.array([thigh, 0.0])
            ankle = knee + np.array([0.0, shin])
            trunk = rotate(np.array([0.0, -1.0]), -ek * f)
            toe, heel = ankle + f * np.array([18.0, 0.0]), ankle - f * np.array([5.0, 0.0])
        else:
            hip = np.array([330.0, 260.0]) + f * np.array([shift[k] * thigh, 0.0])
            knee = hip - f * np.array([thigh, 0.0])
            ankle = knee - f * np.array([shin, 0.0])
            trunk = rotate(np.array([f, 0.0]), -ek * f)
            toe, heel = ankle + np.array([0.0, 15.0]), ankle - np.array([0.0, 4.0])
        shoulder = hip + trunk_len * trunk
        ear = shoulder + 25.0 * trunk
        head = rotate(trunk, f * (90.0 - neck[k]))
        nose = ear + 20.0 * head
        xy = np.zeros((L.N_LANDMARKS, 2))
        xy[:] = shoulder
        for pair, p in ((L.SHOULDER, shoulder), (L.HIP, hip), (L.KNEE, knee), (L.ANKLE, ankle),
                        (L.EAR, ear), (L.HEEL, heel), (L.FOOT_INDEX, toe)):
            xy[pair[0]] = p
            xy[pair[1]] = p
        xy[L.NOSE] = nose
        xy[L.LEFT_SHOULDER, 0] -= shoulder_width_px / 2
        xy[L.RIGHT_SHOULDER, 0] += shoulder_width_px / 2
        if noise_px:
            xy = xy + rng.normal(0, noise_px, xy.shape)
        frames.append(PoseFrame(float(tk), xy, np.full(L.N_LANDMARKS, 0.99), np.zeros(L.N_LANDMARKS),
                                None, size))
    return frames


def run(frames, cfg=None, drop: set[int] | None = None):
    """Feed frames (None where index in ``drop``) through a fresh Analyzer; return (result, events)."""
    from formcheck.core.analysis import Analyzer
    from formcheck.config import Config

    an = Analyzer(cfg or Config())
    events = []
    for k, fr in enumerate(frames):
        events += an.update(fr.t_s, None if drop and k in drop else fr)
    return an.finish(), events


def fault_ids(result) -> list[list[str]]:
    return [[f.id for f in r.faults] for r in result.reps]
