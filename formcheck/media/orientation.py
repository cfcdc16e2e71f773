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


_CV_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _rotate(image: np.ndarray, deg: int) -> np.ndarray:
    """``image`` turned clockwise by ``deg`` (0, 90, 180 or 270)."""
    deg %= 360
    return image if deg == 0 else cv2.rotate(image, _CV_ROTATE[deg])


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 1e-9 else np.zeros(2)


def _turn(v: np.ndarray, deg: int) -> np.ndarray:
    """Image-plane vector ``v`` (x right, y down) after turning the picture clockwise by ``deg``."""
    for _ in range((deg // 90) % 4):
        v = np.array([-v[1], v[0]])
    return v


def gravity_score(pose, deg: int) -> float:
    """How plausible the body's posture is (-1..1) once the picture is turned clockwise by
    ``deg``: the best of three readings, each a mean of terms in [-1, 1] (image y grows
    downwards):

    - standing: trunk up (hip -> shoulder), legs down (hip -> ankle);
    - seated: trunk up, thighs level, shins down (knee -> ankle);
    - lying (a prone set at neutral): trunk level, thighs level.

    Some turned pictures are plausible too and cannot be told apart from the skeleton alone: a
    prone body turned 90 deg reads as standing, a standing one as lying. A seated body turned
    90 deg (trunk level, thighs vertical) or any upright body turned 180 deg reads as none of
    them, which is what :func:`probe_rotation` relies on.
    """
    xy = pose.xy
    mid = lambda a, b: 0.5 * (xy[a] + xy[b])  # noqa: E731
    sh, hip, knee, ankle = mid(11, 12), mid(23, 24), mid(25, 26), mid(27, 28)
    trunk = _unit(_turn(sh - hip, deg))
    thigh = _unit(_turn(knee - hip, deg))
    shin = _unit(_turn(ankle - knee, deg))
    legs = _unit(_turn(ankle - hip, deg))
    standing = (-trunk[1] + legs[1]) / 2.0
    seated = (-trunk[1] + (1.0 - abs(thigh[1])) + shin[1]) / 3.0
    lying = ((1.0 - abs(trunk[1])) + (1.0 - abs(thigh[1]))) / 2.0
    return float(max(standing, seated, lying))


def _poses(frames: Sequence[np.ndarray], estimator, deg: int) -> list:
    """The poses found in ``frames`` turned clockwise by ``deg``, frames without one left out.

    The frames are still images for the posture vote, not the analysed stream: one fresh
    stream on the model, placeholder times 0.5 s apart. Nothing here reaches the Analyzer (the
    frame loop is ``Session.step``; ``tests/test_architecture.py`` checks it).
    """
    estimator.new_stream()
    found = (estimator.detect(_rotate(image, deg), 0.5 * k) for k, image in enumerate(frames))
    return [pose for pose in found if pose is not None]


def score_rotations(poses: Sequence, base: int = 0) -> dict[int, float]:
    """Mean :func:`gravity_score` per clockwise rotation of the original picture, from poses
    found in the picture turned by ``base``."""
    return {deg: float(np.mean([gravity_score(p, (deg - base) % 360) for p in poses]))
            for deg in ROTATIONS}


def probe_rotation(frames: Sequence[np.ndarray], estimator, keep: float = 0.6,
                   accept: float = 0.8, gain: float = 0.3) -> tuple[int, float]:
    """The clockwise rotation (deg) that makes the person in ``frames`` upright, and a
    confidence in [0, 1].

    The pose model finds the person in the frames as they are; when it finds nobody, in the
    frames turned 90/180/270 deg (detection rate × mean visibility of the key joints weighs
    the result). Which way is up comes from the anatomy, not from visibility: MediaPipe aligns
    its crop with the body, so it finds people lying, turned or upside down about as well as
    upright ones, with the same visibility. Each rotation of the landmarks gets the
    :func:`gravity_score` of its posture (standing, seated or lying).

    The picture is kept as it is when its posture is plausible (score >= ``keep``): turning
    footage that was right would ruin it, and a prone body turned 90 deg cannot be told from
    a standing one. Another rotation is chosen only when it scores >= ``accept``, at least
    ``gain`` above rotation 0 and ``gain`` above every other rotation (a seated athlete filmed
    turned 90 deg, anyone upside down); a straight body that fits two rotations is left alone.
    The confidence is the best score's lead over the runner-up, clipped to [0, 1].
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
    vis = float(np.mean([np.mean(p.visibility[list(KEY_JOINTS)]) for p in poses]))
    scores = score_rotations(poses, base)
    log.debug("orientation scores %s (detection rate %.2f, visibility %.2f)",
              {k: round(v, 3) for k, v in scores.items()}, rate, vis)
    best = max(scores, key=scores.get)
    ranked = sorted(scores.values(), reverse=True)
    conf = float(np.clip((ranked[0] - ranked[1]) * rate * vis, 0.0, 1.0))
    if scores[0] >= keep or best == 0:
        return 0, float(np.clip((scores[0] - max(v for k, v in scores.items() if k != 0)) * rate * vis + 0.5, 0.0, 1.0))
    if ranked[1] > ranked[0] - gain:  # two rotations fit about as well: a straight body
        log.info("orientation: the picture may be turned, but the posture fits %s alike; "
                 "kept as it is", sorted(k for k, v in scores.items() if v > ranked[0] - gain))
        return 0, 0.0
    if scores[best] >= accept and scores[best] >= scores[0] + gain and rate * vis >= 0.3:
        return best, conf
    return 0, conf


_SHARED = None
_SHARED_LOCK = threading.Lock()


def _close_shared() -> None:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            est, _SHARED = _SHARED, None
            est.close()


def shared_estimator():
    """A pose model kept for probing (loaded once per process)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            from formcheck.config import PoseConfig
            from formcheck.media.pose import make_estimator

            _SHARED = make_estimator(PoseConfig(), workers=1)
            # Close it before mediapipe's own executor shuts down at exit (threading's exit hooks
            # run newest first and before atexit's), or its __del__ prints a traceback.
            threading._register_atexit(_close_shared)
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
    if abs(side_a - side_b) > max(4, 0.015 * n):  # bars are centred (a wall or floor is not)
        return None
    # The bars themselves must be clearly flatter than the picture.
    if max(smooth[: max(1, a - 2)].mean(), smooth[min(n - 1, b + 2):].mean()) > 0.25 * ref:
        return None
    # The 5-tap smoothing and the 3x3 Laplacian spread the seam by ~3 px outwards.
    return a + 3, b - 3


def find_content_box(frames: Sequence[np.ndarray], ratio: float = 0.5,
                     min_frac: float = 0.04) -> tuple[int, int, int, int] | None:
    """The content box ``(x, y, w, h)`` (px) of frames with pillarbox or letterbox bars, or
    ``None``.

    Bars are side bands (each at least ``min_frac`` of the width or height, the two as wide
    as each other within 1.5 %, as an export centres the picture) whose fine detail (mean
    absolute Laplacian over the sampled frames) is below ``ratio`` of the picture's centre
    and below 0.25 of it on average: black bars, or
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
    if cols is not None and not _straight_seams(frames, cols, axis=1):
        cols = None
    if rows is not None and not _straight_seams(frames, rows, axis=0):
        rows = None
    if cols is None and rows is None:
        return None
    x0, x1 = cols if cols is not None else (0, w)
    y0, y1 = rows if rows is not None else (0, h)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


SEAM_STEP = 4.0  # grey levels across a bar's inner edge
SEAM_SHARE = 0.35  # of the rows (or columns) along it


def _straight_seams(frames: Sequence[np.ndarray], span: tuple[int, int], axis: int) -> bool:
    """Whether both inner edges of the bars are straight seams running the whole picture:
    an export pastes the picture over its bars, so the edge is a step along the full height
    (pillarbox) or width (letterbox). Plain walls at both sides of a scene have no such seam."""
    a, b = int(span[0]), int(span[1])
    shares = []
    for f in frames:
        g = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if axis == 0:
            g = g.T
        n = g.shape[1]
        if not (2 <= a < n - 2 and 2 <= b < n - 2):
            return False
        left = np.abs(g[:, a] - g[:, a - 2]) > SEAM_STEP
        right = np.abs(g[:, b - 1] - g[:, b + 1]) > SEAM_STEP
        shares.append(min(left.mean(), right.mean()))
    return float(np.median(shares)) >= SEAM_SHARE
