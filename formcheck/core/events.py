"""Typed event contracts: event kinds, fault ids, severities, and the :class:`Event` record.

The enums are ``str``-valued, so they compare equal to, hash like and serialise to JSON as the
plain strings front ends and reports have always used (``"rep"``, ``"major"``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class _StrEnum(str, Enum):
    """A ``str`` enum whose ``str()`` and ``format()`` give the value (as ``enum.StrEnum``)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class EventKind(_StrEnum):
    """The ``event`` field of an event (and of each ``formcheck live --no-window`` JSON line)."""

    # From the analysis core (:class:`formcheck.core.analysis.Analyzer`).
    VIEW = "view"  # set-up guidance (message)
    VIEW_OK = "view_ok"  # profile and facing decided
    ARMED = "armed"  # the rep counter settled in a zone and counts from now
    REP_COUNTED = "rep_counted"  # back at the top: count + 1
    REP = "rep"  # a finalised counted rep with its faults (data["rep"])
    PARTIAL = "partial"  # a finalised partial rep
    FAULT = "fault"  # one fault of a finalised rep (message = cue)
    TRACKING_LOST = "tracking_lost"  # nobody tracked for longer than max_gap_s
    # From the live front end.
    CUE = "cue"  # a rationed cue for the athlete
    CALIBRATION = "calibration"  # neutral calibration result
    RESET = "reset"  # 'r': a new set
    SUMMARY = "summary"  # the last line: the set's summary


ANALYSIS_KINDS = frozenset({EventKind.VIEW, EventKind.VIEW_OK, EventKind.ARMED,
                            EventKind.REP_COUNTED, EventKind.REP, EventKind.PARTIAL,
                            EventKind.FAULT, EventKind.TRACKING_LOST, EventKind.CALIBRATION})
"""The kinds :class:`Event` may carry (the others are front-end JSON lines)."""


class Severity(_StrEnum):
    """How much a fault costs a rep's score (major 35 points, minor 15)."""

    MAJOR = "major"
    MINOR = "minor"


class FaultId(_StrEnum):
    """The fault table, in its order (see :mod:`formcheck.core.faults`)."""

    HYPEREXTENSION = "hyperextension"
    JERKY_LIFT = "jerky_lift"
    FAST_DESCENT = "fast_descent"
    NO_TOP_PAUSE = "no_top_pause"
    PARTIAL_RANGE = "partial_range"
    EXCESSIVE_DEPTH = "excessive_depth"
    HIP_SHIFT = "hip_shift"
    NECK_CRANK = "neck_crank"


@dataclass(frozen=True)
class Event:
    """Something a front end may show or log.

    Attributes:
        kind: one of :data:`ANALYSIS_KINDS` (a plain string is converted; unknown kinds raise).
        t: source time (s) the event refers to.
        message: text for people (guidance, cue), may be empty.
        data: kind-specific fields merged into the JSON (``rep``: the rep dict, ``count``...).

    Cues for people are rationed from these by :mod:`formcheck.core.cues`.
    """

    kind: EventKind
    t: float
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = EventKind(self.kind)
        if kind not in ANALYSIS_KINDS:
            raise ValueError(f"Event.kind: expected an analysis kind ({', '.join(sorted(ANALYSIS_KINDS))}), "
                             f"got {kind.value!r}")
        object.__setattr__(self, "kind", kind)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind.value, "t": round(self.t, 3), "message": self.message, **self.data}
