"""Scene-cut detection: which frames of edited footage start a new shot.

Used by :class:`~formcheck.media.sources.VideoSource` to mark :attr:`Frame.cut`. Works on a
small thumbnail of each frame, so it costs little next to decoding.
"""

from __future__ import annotations

import cv2
import numpy as np


class SceneCutDetector:
    """Marks frames that start a new shot, from a 64x36 thumbnail of each frame.

    Two cheap statistics against the previous frame must both jump: the L1 distance (0-1) of
    hue-saturation histograms (insensitive to brightness flicker) and the mean absolute
    difference (0-1) of mean-removed grey thumbnails (insensitive to a global exposure change;
    motion inside a shot moves a few thumbnail pixels, a cut changes all of them). Each must
    exceed its absolute threshold and ``ratio`` times the median of the recent values, so
    steady camera motion does not trigger it.

    Args:
        hist_min: minimum histogram distance (0-1) of a cut.
        mad_min: minimum mean absolute grey difference (0-1) of a cut.
        ratio: how many times the recent median a cut must exceed.
        window: number of recent frames in the median.
    """

    SIZE = (64, 36)

    def __init__(self, hist_min: float = 0.25, mad_min: float = 0.08, ratio: float = 3.0,
                 window: int = 15) -> None:
        self.hist_min, self.mad_min, self.ratio, self.window = hist_min, mad_min, ratio, window
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: list[tuple[float, float]] = []
        self.last: tuple[float, float] = (0.0, 0.0)

    def _features(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        step = max(1, min(w // (2 * self.SIZE[0]), h // (2 * self.SIZE[1])))  # cheap pre-shrink
        thumb = cv2.resize(image[::step, ::step], self.SIZE, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 4], [0, 180, 0, 256]).ravel()
        hist /= max(float(hist.sum()), 1.0)
        grey = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        return hist, grey - grey.mean()

    def update(self, image: np.ndarray) -> bool:
        """Whether ``image`` starts a new shot (the first image does not)."""
        feat = self._features(image)
        prev, self._prev = self._prev, feat
        if prev is None:
            return False
        d_hist = 0.5 * float(np.abs(feat[0] - prev[0]).sum())
        mad = float(np.abs(feat[1] - prev[1]).mean())
        self.last = (d_hist, mad)
        recent = self._recent
        if recent:
            med_h = float(np.median([r[0] for r in recent]))
            med_m = float(np.median([r[1] for r in recent]))
        else:
            med_h = med_m = 0.0
        cut = (d_hist >= self.hist_min and mad >= self.mad_min
               and d_hist >= self.ratio * med_h and mad >= self.ratio * med_m)
        if cut:
            recent.clear()  # a new shot: its own motion statistics
        else:
            recent.append((d_hist, mad))
            del recent[: -self.window]
        return cut
