"""Following the exerciser, not whoever is most prominent (pure numpy).

A single-person pose model returns the most prominent person, so a bystander walking in front
of the camera can replace the exerciser for a moment; a multi-person model returns everyone.
:class:`ExerciserTrack` keeps the exerciser's hip position, torso size and trunk direction and
tells whether a pose continues that track. The trunk direction matters when a passer-by's hip
crosses the exerciser's in the picture: a standing passer-by's trunk is upright while a lying or
leaning exerciser's is not, and no trunk turns faster than a lift does.
"""

from __future__ import annotations

import numpy as np

from formcheck.core import kinematics as K
from formcheck.core.types import PoseFrame


class ExerciserTrack:
    """The exerciser's track: hip (px), torso length (px), when it was last seen (s) and the
    trunk's direction."""

    def __init__(self) -> None:
        self.track: tuple[np.ndarray, float, float] | None = None
        self.trunk_dir: np.ndarray | None = None  # unit hip -> shoulder vector of the track (px)

    def pick(self, t_s: float, poses: list[PoseFrame]) -> PoseFrame | None:
        """The pose that continues the exerciser's track: the nearest hip among the poses that
        :meth:`continues` accepts (else the nearest hip, which :meth:`same_person` then refuses);
        with no track kept, the largest person (longest torso)."""
        if not poses:
            return None
        bodies = [K.body_from_frame(p) for p in poses]
        if self.track is not None and t_s - self.track[2] <= self.KEEP_S:
            hip, torso, _ = self.track
            cost = [float(np.linalg.norm(b.hip - hip)) / torso + (0.0 if self.continues(t_s, b) else 1e6)
                    for b in bodies]
            return poses[int(np.argmin(cost))]
        size = [float(np.linalg.norm(b.shoulder - b.hip)) for b in bodies]
        return poses[int(np.argmax(size))]

    KEEP_S = 1.0  # a track not seen for longer may be taken up by whoever is in view
    JUMP = 0.6  # a hip further than this many torso lengths from the track: another person
    SCALE = 1.6  # a torso this many times longer or shorter: another person
    TURN_DEG = 30.0  # a trunk turned further than this (deg) from the track's: another person ...
    TURN_DPS = 400.0  # ... plus this many deg per second since the track was last seen (a lift)

    def continues(self, t: float, b: K.Body) -> bool:
        """Whether ``b`` may continue the track at ``t`` (s): a real torso and, while the track is
        kept, a hip within ``JUMP`` torso lengths, a torso within ``SCALE`` and a trunk turned
        by at most ``TURN_DEG`` + ``TURN_DPS`` per second since the track was last seen."""
        torso = float(np.linalg.norm(b.shoulder - b.hip))
        if torso <= 1e-6:
            return False
        tr = self.track
        if tr is None or t - tr[2] > self.KEEP_S:
            return True
        hip, t_torso, _ = tr
        jump = float(np.linalg.norm(b.hip - hip)) / t_torso
        scale = max(torso / t_torso, t_torso / torso)
        if jump > self.JUMP or scale > self.SCALE:
            return False
        # the track and its trunk direction are set together (same_person)
        turn = float(np.degrees(np.arccos(np.clip((b.shoulder - b.hip) / torso @ self.trunk_dir, -1.0, 1.0))))
        return turn <= self.TURN_DEG + self.TURN_DPS * (t - tr[2])

    def same_person(self, t: float, b: K.Body) -> bool:
        """Whether ``b`` continues the exerciser's track (single-person models return whoever is
        most prominent: a bystander crossing in front must neither take over nor reset the set);
        if so, the track moves to ``b``."""
        if not self.continues(t, b):
            return False
        torso = float(np.linalg.norm(b.shoulder - b.hip))
        self.track = (b.hip.copy(), torso, t)
        self.trunk_dir = (b.shoulder - b.hip) / torso
        return True
