"""Is the picture upright? The balance of a standing hinge (pure numpy).

A face-down set on a level bench filmed with the camera turned 90° looks, joint for joint, like
a standing hip hinge: legs vertical, the trunk swinging between in line with the legs and
square to them. The skeleton alone cannot tell them apart (see
:func:`formcheck.media.orientation.gravity_score`), but balance can. A standing person keeps the
body's centre of mass over the feet: as the trunk leans forward the hips go back. Hinges filmed
side-on keep it within about 0.1 torso lengths of the ankles at the bottom of each rep; a prone
body turned upright has it 0.4 torso lengths or more in front of them, with the hips straight
above the ankles, a posture no standing person holds.

:class:`BalanceCheck` takes the bodies of a "standing" set (straight legs near vertical) at
deep trunk lean and says, once enough were seen, whether they stand in balance; when they do
not, the picture is turned, and gravity pulls the way the trunk hangs at the bottom, which gives
the clockwise turn that makes it upright.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from formcheck.core import kinematics as K

# Segment mass fractions (Winter, Biomechanics and Motor Control of Human Movement, table 4.1),
# placed on the joints a side view gives: head at the ear/nose, trunk with the arms at its middle,
# thighs, shanks and feet.
_HEAD, _TRUNK_ARMS, _THIGHS, _SHANKS, _FEET = 0.081, 0.497 + 0.1, 0.2, 0.093, 0.029


@dataclass(frozen=True)
class TurnedPicture:
    """The finding: ``turn_deg`` (90 or 270) turns the picture clockwise upright; ``balance``
    is the median centre-of-mass lead over the ankles at depth (torso lengths); ``frames`` the
    deep frames it rests on."""

    turn_deg: int
    balance: float
    frames: int


def balance(b: K.Body) -> tuple[float, float, float]:
    """(centre-of-mass lead over the ankles in torso lengths, toward where the trunk leans;
    the trunk's lean from image-up in deg, unsigned; the trunk's x direction, +1 or -1)."""
    trunk = b.shoulder - b.hip
    torso = float(np.hypot(*trunk))
    if torso <= 1e-6:
        return np.nan, np.nan, 0.0
    head = (b.ear + b.nose) / 2.0
    parts = ((head, _HEAD), ((b.shoulder + b.hip) / 2.0, _TRUNK_ARMS), ((b.hip + b.knee) / 2.0, _THIGHS),
             ((b.knee + b.ankle) / 2.0, _SHANKS), (b.ankle, _FEET))
    com_x = sum(p[0] * w for p, w in parts) / sum(w for _, w in parts)
    side = 1.0 if trunk[0] >= 0 else -1.0
    lean = float(abs(K.signed_angle_deg(K.UP, trunk)))
    return float((com_x - b.ankle[0]) * side / torso), lean, side


class BalanceCheck:
    """Collects the balance of standing bodies at deep trunk lean (see the module docstring).

    Args:
        max_lead: a median lead of the centre of mass over the ankles above this (torso
            lengths) is out of balance.
        min_frames: deep frames needed before judging.
        deep_deg: trunk lean from image-up (deg) that counts as deep.
        leg_upright_deg: legs (hip→ankle) within this of vertical count as standing.
        knee_straight_deg: knees straighter than this count as standing (not seated).
        min_visibility: joints seen above this visibility count.
    """

    def __init__(self, max_lead: float = 0.3, min_frames: int = 10, deep_deg: float = 45.0,
                 leg_upright_deg: float = 25.0, knee_straight_deg: float = 150.0,
                 min_visibility: float = 0.5) -> None:
        self.max_lead = max_lead
        self.min_frames = min_frames
        self.deep_deg = deep_deg
        self.leg_upright_deg = leg_upright_deg
        self.knee_straight_deg = knee_straight_deg
        self.min_visibility = min_visibility
        # the latest deep frames (a live session may stand and hinge for an hour)
        self.leads: deque[float] = deque(maxlen=self.KEEP)
        self.sides: deque[float] = deque(maxlen=self.KEEP)

    KEEP = 900  # deep frames kept for the median

    def offer(self, b: K.Body) -> None:
        """One body of the set; kept when it stands on straight legs with the trunk leaning deep."""
        if min(b.visibility[j] for j in ("shoulder", "hip", "knee", "ankle")) < self.min_visibility:
            return
        leg = float(abs(K.signed_angle_deg(K.UP, b.hip - b.ankle)))
        knee = float(K.hip_angle_deg(b.hip, b.knee, b.ankle))
        if leg >= self.leg_upright_deg or knee < self.knee_straight_deg:
            return
        lead, lean, side = balance(b)
        if np.isfinite(lead) and lean >= self.deep_deg:
            self.leads.append(lead)
            self.sides.append(side)

    def finding(self) -> TurnedPicture | None:
        """The turned picture, or ``None`` (in balance, or too few deep frames)."""
        if len(self.leads) < self.min_frames:
            return None
        lead = float(np.median(self.leads))
        if lead <= self.max_lead:
            return None
        # Gravity pulls the way the trunk hangs at depth: +x (right) turns to image-down with a
        # quarter turn clockwise, -x with three.
        turn = 90 if float(np.median(self.sides)) > 0 else 270
        return TurnedPicture(turn, lead, len(self.leads))
