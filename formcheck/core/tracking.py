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
        self.box: np.ndarray | None = None  # where the track was last seen: x0, y0, x1, y1 (px)

    def pick(self, t_s: float, poses: list[PoseFrame]) -> PoseFrame | None:
        """The pose that continues the exerciser's track: the nearest hip among the poses that
        :meth:`continues` accepts (else the nearest hip, which :meth:`same_person` then refuses);
        with no track kept, the largest person (longest torso)."""
        return self._pick(t_s, poses)[0]

    def _pick(self, t_s: float, poses: list[PoseFrame]) -> tuple[PoseFrame | None, bool]:
        """:meth:`pick`, and whether the pose picked continues the track (True with no track kept)."""
        if not poses:
            return None, False
        bodies = [K.body_from_frame(p) for p in poses]
        if self.track is not None and t_s - self.track[2] <= self.KEEP_S:
            hip, torso, _ = self.track
            ok = [self.continues(t_s, b) for b in bodies]
            cost = [float(np.linalg.norm(b.hip - hip)) / torso + (0.0 if c else 1e6) for b, c in zip(bodies, ok)]
            k = int(np.argmin(cost))
            return poses[k], ok[k]
        size = [float(np.linalg.norm(b.shoulder - b.hip)) for b in bodies]
        return poses[int(np.argmax(size))], True

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
        joints = np.array([b.shoulder, b.hip, b.knee, b.ankle, b.ear, b.nose, b.heel, b.toe])
        pad = self.BOX_PAD * torso  # hands, the top of the head
        self.box = np.concatenate([joints.min(axis=0) - pad, joints.max(axis=0) + pad])
        return True

    BOX_PAD = 0.35  # the last sighting's box: its joints, padded by this many torso lengths

    def plan(self, t: float, poses: list[PoseFrame]
             ) -> tuple[PoseFrame | None, tuple[np.ndarray, list[np.ndarray]] | None]:
        """The :meth:`pick` among ``poses`` (everyone found at ``t``), and whether to look for the
        exerciser again with the other people hidden, and how: the box of the last sighting, to
        keep, and the boxes of the people to hide (px: x0, y0, x1, y1). Yes while the track is
        kept and either the pick does not continue it or someone else is within ``NEAR`` torso
        lengths of that box: a person detector can miss someone close to another person, and
        the landmarks of two people side by side mix. ``None``: no need."""
        picked, continues = self._pick(t, poses)
        tr = self.track
        if picked is None or tr is None or self.box is None or t - tr[2] > self.KEEP_S:
            return picked, None
        others = [pose_box(p) for p in poses if not continues or p is not picked]
        near = self.NEAR * tr[1]
        x0, y0, x1, y1 = self.box + (-near, -near, near, near)
        close = [b for b in others if b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0]
        return picked, ((self.box.copy(), others) if not continues or close else None)

    def second_look(self, t: float, picked: PoseFrame | None, again: list[PoseFrame]) -> PoseFrame | None:
        """The pick of a second look (``again``: everyone found with the others hidden) when it
        continues the track, else the first look's ``picked``."""
        best, continues = self._pick(t, again)
        return best if best is not None and continues else picked

    NEAR = 1.0  # someone within this many torso lengths of the last sighting's box is close


def pose_box(pose: PoseFrame, pad: float = 0.1) -> np.ndarray:
    """The box of all of a pose's landmarks (px: x0, y0, x1, y1), padded by ``pad`` times its
    longer side."""
    lo, hi = pose.xy.min(axis=0), pose.xy.max(axis=0)
    d = pad * float(np.max(hi - lo))
    return np.concatenate([lo - d, hi + d])
