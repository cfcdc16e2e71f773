"""Look at the first seconds of a clip: is the camera turned, are there bars around the picture?

:func:`probe_rotation` finds footage filmed turned 90/180/270 deg without rotation metadata by
running the pose model on a few frames in each of the four rotations. :func:`find_content_box`
finds pillarbox/letterbox bars, black or filled with a blurred copy of the picture (as phone
apps export a portrait video in a landscape frame), from their lack of fine detail.
:class:`~formcheck.media.sources.VideoSource` applies both before the frames reach the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import cv2
import numpy as np

log = logging.getLogger(__name__)

ROTATIONS = (0, 90, 180, 270)
# MediaPipe landmark indices.
NOSE, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE = 0, 11, 12, 23, 24, 25, 26
KEY_JOINTS = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE)


def sample_frames(source, seconds: float = 3.0, count: int = 5, max_side_px: int = 640) -> list[np.ndarray]:
    """Up to ``count`` upright BGR frames evenly spread over the first ``seconds`` of a video.

    ``source`` is a :class:`~formcheck.media.sources.VideoSource` (its file is opened again,
    so its own iteration is not disturbed; its metadata rotation is applied) or a path.
    """
    from formcheck.media.sources import VideoSource

    path = source.path if isinstance(source, VideoSource) else source
    src = VideoSource(path, max_side_px, prefetch=0, detect_cuts=False, probe_rotation=False,
                      crop_bars=False)
    frames = []
    try:
        for fr in src:
            if fr.t_s > seconds:
                break
            frames.append(fr.image)
    finally:
        src.close()
    if len(frames) <= count:
        return frames
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in idx]


def _rotate(image: np.ndarray, deg: int) -> np.ndarray:
    from formcheck.media.sources import rotate_cw

    return rotate_cw(image, deg)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 1e-9 else np.zeros(2)


def _turn(v: np.ndarray, deg: int) -> np.ndarray:
    """Image-plane vector ``v`` (x right, y down) after turning the picture clockwise by ``deg``."""
    for _ in range((deg // 90) % 4):
        v = np.array([-v[1], v[0]])
    return v


def gravity_score(pose, deg: int) -> float:
    """How upright the body looks (0-3) once the picture is turned clockwise by ``deg``.

    Two readings of the lever back extension at its usual start, the higher one counts:

    - seated: trunk pointing up (hip -> shoulder), shins pointing up (ankle -> knee) and thighs
      level;
    - prone: face turned down (ears -> nose), trunk and legs level.

    A seated athlete turned 90 deg looks prone but with the face sideways or the thighs
    vertical; a prone athlete turned 90 deg looks standing (thighs vertical), so each
    rotation scores lower than the upright picture. Image y grows downwards.
    """
    xy = pose.xy
    mid = lambda a, b: 0.5 * (xy[a] + xy[b])  # noqa: E731
    sh, hip, knee, ankle = mid(11, 12), mid(23, 24), mid(25, 26), mid(27, 28)
    ear, nose = mid(7, 8), xy[0]
    trunk = _unit(_turn(sh - hip, deg))
    shin = _unit(_turn(knee - ankle, deg))
    thigh = _unit(_turn(knee - hip, deg))
    face = _unit(_turn(nose - ear, deg))
    legs = _unit(_turn(ankle - hip, deg))
    seated = -trunk[1] - shin[1] + (1.0 - abs(thigh[1]))
    prone = face[1] + (1.0 - abs(trunk[1])) + (1.0 - abs(legs[1]))
    return float(max(seated, prone))


def _poses(frames: Sequence[np.ndarray], estimator, deg: int) -> list:
    estimator.new_stream()
    out = []
    for k, image in enumerate(frames):
        pose = estimator.detect(_rotate(image, deg), k * 0.5)
        if pose is not None:
            out.append(pose)
    return out


def score_rotations(poses: Sequence, base: int = 0) -> dict[int, float]:
    """Mean :func:`gravity_score` (weighted by the key joints' visibility) per clockwise
    rotation of the original picture, from poses found in the picture turned by ``base``."""
    scores = {}
    for deg in ROTATIONS:
        vals = [gravity_score(p, (deg - base) % 360) * float(np.mean(p.visibility[list(KEY_JOINTS)]))
                for p in poses]
        scores[deg] = float(np.mean(vals)) if vals else 0.0
    return scores


def probe_rotation(frames: Sequence[np.ndarray], estimator, margin: float = 1.2) -> tuple[int, float]:
    """The clockwise rotation (deg) that makes the person in ``frames`` upright, and a
    confidence in [0, 1].

    The pose model finds the person in the frames as they are (MediaPipe aligns its crop
    with the body, so it finds people lying or upside down about as well as upright ones and
    its visibility scores cannot tell the rotations apart); when it finds nobody, it tries
    the frames turned 90/180/270 deg. Detection rate × mean visibility says whether a person
    is there; the anatomy says which way is up: each rotation of the landmarks is scored by
    :func:`gravity_score` (trunk up and shins down for a seated set, face down and body level
    for a prone one). Rotation 0 is kept unless another scores ``margin`` times higher; the
    confidence is ``1 - second best / best``.
    """
    if not frames:
        return 0, 0.0
    base, poses = 0, _poses(frames, estimator, 0)
    if not poses:
        for deg in ROTATIONS[1:]:
            poses = _poses(frames, estimator, deg)
            if poses:
                base = deg
                break
    if not poses:
        return 0, 0.0
    rate = len(poses) / len(frames)
    scores = {k: v * rate for k, v in score_rotations(poses, base).items()}
    log.debug("orientation scores %s", {k: round(v, 3) for k, v in scores.items()})
    best = max(scores, key=scores.get)
    ranked = sorted(scores.values(), reverse=True)
    conf = 0.0 if ranked[0] <= 0 else max(0.0, 1.0 - max(ranked[1], 0.0) / ranked[0])
    if best != 0 and scores[best] > 0 and scores[best] >= margin * max(scores[0], 0.0):
        return best, conf
    return 0, conf


_SHARED = None
_SHARED_LOCK = threading.Lock()


def shared_estimator():
    """A pose model kept for probing (loaded once per process)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            from formcheck.media.pose import PoseEstimator

            _SHARED = PoseEstimator()
        return _SHARED


# --------------------------------------------------------------------------- bars
def _detail_profile(frames: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """Mean absolute Laplacian (fine detail) per column (axis=0) or row (axis=1)."""
    acc = None
    for im in frames:
        g = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY).astype(np.float32)
        lap = np.abs(cv2.Laplacian(g, cv2.CV_32F, ksize=3))
        prof = lap.mean(axis=axis)
        acc = prof if acc is None else acc + prof
    return acc / len(frames)


def _bars(profile: np.ndarray, ratio: float, min_frac: float) -> tuple[int, int] | None:
    """(start, end) of the detailed middle of a 1-D detail profile, or None without bars."""
    n = len(profile)
    smooth = np.convolve(profile, np.ones(5) / 5, mode="same")
    mid = smooth[int(0.35 * n): int(0.65 * n)]
    ref = float(np.median(mid))
    if ref <= 0:
        return None
    detailed = smooth >= ratio * ref
    idx = np.flatnonzero(detailed)
    if len(idx) == 0:
        return None
    a, b = int(idx[0]), int(idx[-1]) + 1
    side_a, side_b = a, n - b
    if min(side_a, side_b) < min_frac * n:  # bars come in pairs of similar width
        return None
    if abs(side_a - side_b) > 0.1 * n:
        return None
    # The bars themselves must be clearly flatter than the picture.
    if max(smooth[: max(1, a - 2)].mean(), smooth[min(n - 1, b + 2):].mean()) > 0.35 * ref:
        return None
    # The 5-tap smoothing and the 3x3 Laplacian spread the seam by ~3 px outwards.
    return a + 3, b - 3


def find_content_box(frames: Sequence[np.ndarray], ratio: float = 0.5,
                     min_frac: float = 0.04) -> tuple[int, int, int, int] | None:
    """The content box ``(x, y, w, h)`` (px) of frames with pillarbox or letterbox bars, or
    ``None``.

    Bars are side bands (each at least ``min_frac`` of the width or height, the two of
    similar width) whose fine detail (mean absolute Laplacian over the sampled frames) is
    below ``ratio`` of the picture's centre and below 0.35 of it on average: black bars, or
    a blurred, scaled copy of the picture as phone editors make.
    """
    if not frames:
        return None
    h, w = frames[0].shape[:2]
    if min(h, w) < 32:  # too small to tell bars from picture
        return None
    cols = _bars(_detail_profile(frames, 0), ratio, min_frac)
    rows = _bars(_detail_profile(frames, 1), ratio, min_frac)
    if cols is None and rows is None:
        return None
    x0, x1 = cols if cols is not None else (0, w)
    y0, y1 = rows if rows is not None else (0, h)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)
