"""Camera roll from the scene (edge module: OpenCV).

A phone is rarely level, and the seated angle is measured from the true vertical. Gyms are full
of vertical structure (racks, door frames, machine uprights, wall corners) and level lines (the
floor, a seat): the long straight edges of a frame cluster around the image's vertical and
horizontal, turned by the camera's roll. The person is masked out first: a trunk or an arm is a
long straight edge too, and it leans with the exercise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from formcheck.media.sources import downscale

WORK_SIDE_PX = 640
NEAR_AXIS_DEG = 20.0  # edges within this of the image's vertical or horizontal are considered
AGREE_DEG = 1.5  # edges within this of the estimate count toward its confidence


@dataclass(frozen=True)
class RollEstimate:
    """The camera's roll in degrees (clockwise on screen, y down) and a confidence in [0, 1]:
    the length-weighted share of the considered edges that agree with it within 1.5°."""

    roll_deg: float
    confidence: float
    n_edges: int


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, 0.5 * cw[-1])])


def estimate_roll(image_bgr: np.ndarray, person_box: tuple[float, float, float, float] | None = None) -> RollEstimate:
    """Estimate the camera roll of one frame.

    Args:
        image_bgr: the frame (H, W, 3) uint8.
        person_box: (x0, y0, x1, y1) in pixels of the frame; that area (grown by 15 %) is ignored.
    """
    h, w = image_bgr.shape[:2]
    small = downscale(image_bgr, WORK_SIDE_PX)
    s = small.shape[1] / max(w, 1)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 40, 120)
    if person_box is not None:
        x0, y0, x1, y1 = (v * s for v in person_box)
        gx, gy = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        edges[max(0, int(y0 - gy)) : int(y1 + gy) + 1, max(0, int(x0 - gx)) : int(x1 + gx) + 1] = 0
    hs, ws = grey.shape
    segs = cv2.HoughLinesP(edges, 1, math.pi / 720, threshold=40,
                           minLineLength=int(0.12 * min(hs, ws)), maxLineGap=4)
    if segs is None:
        return RollEstimate(0.0, 0.0, 0)
    seg = np.asarray(segs, dtype=np.float64).reshape(-1, 4)
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    length = np.hypot(dx, dy)
    a = np.degrees(np.arctan2(dy, dx))
    vertical = np.abs(np.abs(a) - 90.0) < NEAR_AXIS_DEG
    if vertical.sum() < 3:
        return RollEstimate(0.0, 0.0, int(vertical.sum()))
    # Verticals of the scene meet in one vanishing point (far off when the camera is level in
    # pitch); the roll is the turn of the line from the image centre to it. Perspective from a
    # camera tilted up or down then does not bias the estimate, as a plain mean of angles would.
    cx, cy = ws / 2.0, hs / 2.0
    p0 = seg[vertical, :2] - (cx, cy)
    p1 = seg[vertical, 2:] - (cx, cy)
    lines = np.cross(np.c_[p0, np.ones(len(p0))], np.c_[p1, np.ones(len(p1))])
    lines /= np.linalg.norm(lines[:, :2], axis=1, keepdims=True)
    wv = length[vertical].copy()
    keep = np.ones(len(lines), bool)
    for _ in range(3):
        m = lines[keep] * wv[keep, None]
        vp = np.linalg.svd(m, full_matrices=False)[2][-1]
        # angle of each line against the direction to the vanishing point, at its midpoint
        mid = (p0 + p1) / 2
        to_vp = vp[:2][None, :] - mid * vp[2]
        d = p1 - p0
        resid = np.degrees(np.abs(np.arctan2(d[:, 0] * to_vp[:, 1] - d[:, 1] * to_vp[:, 0],
                                             (d * to_vp).sum(1))))
        resid = np.minimum(resid, 180 - resid)
        keep = resid < 2.0
        if keep.sum() < 3:
            break
    direction = vp[:2] if abs(vp[2]) < 1e-9 else vp[:2] / vp[2]
    if direction[1] < 0:
        direction = -direction
    roll = float(np.degrees(np.arctan2(-direction[0], direction[1])))
    agree = float(wv[keep].sum() / wv.sum()) if keep.any() else 0.0
    return RollEstimate(roll, agree, int(keep.sum()))


def combine(estimates: list[RollEstimate]) -> RollEstimate:
    """One estimate from several frames: the confidence-weighted median."""
    good = [e for e in estimates if e.n_edges > 0 and e.confidence > 0]
    if not good:
        return RollEstimate(0.0, 0.0, 0)
    x = np.array([e.roll_deg for e in good])
    w = np.array([e.confidence for e in good])
    r = _weighted_median(x, w)
    return RollEstimate(r, float(np.median(w)), int(sum(e.n_edges for e in good)))
