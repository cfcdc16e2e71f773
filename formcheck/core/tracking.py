"""Following the exerciser, not whoever is most prominent (pure numpy).

A single-person pose model returns the most prominent person, so a bystander walking in front
of the camera can replace the exerciser for a moment; a multi-person model returns everyone.
:class:`ExerciserTrack` keeps the exerciser's hip position and torso size and tells whether a
pose continues that track.
"""

from __future__ import annotations

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core.types import PoseFrame


class ExerciserTrack:
    """The exerciser's track: hip (px), torso length (px) and when it was last seen (s)."""

    def __init__(self) -> None:
        self.track: tuple[np.ndarray, float, float] | None = None

    def pick(self, t_s: float, poses: list[PoseFrame]) -> PoseFrame | None:
        """The pose that continues the exerciser's track (nearest hip, similar size); with no
        track yet, the person whose legs are stillest relative to their size, then the largest."""
        if not poses:
            return None
        bodies = [K.body_from_frame(p) for p in poses]
        if self.track is not None and t_s - self.track[2] <= self.KEEP_S:
            hip, torso, _ = self.track
            cost = [float(np.linalg.norm(b.hip - hip)) / torso for b in bodies]
            return poses[int(np.argmin(cost))]
        size = [float(np.linalg.norm(b.shoulder - b.hip)) for b in bodies]
        return poses[int(np.argmax(size))]

    KEEP_S = 1.0  # a track not seen for longer may be taken up by whoever is in view
    JUMP = 0.6  # a hip further than this many torso lengths from the track: another person
    SCALE = 1.6  # a torso this many times longer or shorter: another person

    def same_person(self, t: float, b: K.Body) -> bool:
        """Whether ``b`` continues the exerciser's track (single-person models return whoever is
        most prominent: a bystander crossing in front must neither take over nor reset the set)."""
        torso = float(np.linalg.norm(b.shoulder - b.hip))
        if torso <= 1e-6:
            return False
        tr = self.track
        if tr is not None and t - tr[2] <= self.KEEP_S:
            hip, t_torso, _ = tr
            jump = float(np.linalg.norm(b.hip - hip)) / t_torso
            scale = max(torso / t_torso, t_torso / torso)
            if jump > self.JUMP or scale > self.SCALE:
                return False
        self.track = (b.hip.copy(), torso, t)
        return True
