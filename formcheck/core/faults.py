"""Fault rules: small, registered, individually testable, with unit-named thresholds.

Each rule reads one measured rep (:class:`RepContext`) and the :class:`FaultConfig`, and returns
a :class:`Fault` or ``None``. Every cue is a short positive instruction, and ``source`` records
the sentence of the exercise guides (shared/seeds) it comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple
from collections.abc import Callable

from formcheck.config import FaultConfig
from formcheck.core.reps import RepMetrics
from formcheck.core.types import Fault

FAULT_IDS = (
    "hyperextension", "jerky_lift", "fast_descent", "no_top_pause",
    "partial_range", "excessive_depth", "hip_shift", "neck_crank",
)


@dataclass(frozen=True)
class RepContext:
    """What a rule may look at: the rep's metrics plus set-level measurements."""

    metrics: RepMetrics
    profile: str
    counted: bool
    hip_shift_frac: float  # hip slide during this rep / thigh length
    hip_shift_t: float
    neck_extension_deg: float  # head tipped back from the starting carriage, deg
    neck_extension_t: float
    bottom_deg: float  # the rep counter's BOTTOM zone, deg of flexion
    closed: bool = True  # False: the set ended during the rep's last phase (hold not timed)
    peak_extension_3d_deg: float = float("nan")  # the finish from world landmarks (prone), deg
    lowering_done: bool = True  # False: the set ended during this rep's lowering (not timed)


class RuleHit(NamedTuple):
    """What a rule measured when its fault is present."""

    value: float  # the measured value, in ``unit``
    threshold: float  # the threshold it crossed, in ``unit``
    unit: str  # "deg", "s", "deg/s" or "frac"
    t: float  # time (s from the clip start) where the fault shows most


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    cue: str
    source: str
    check: Callable[[RepContext, FaultConfig], RuleHit | None]
    """returns a :class:`RuleHit` when the fault is present, else ``None``."""

    def __call__(self, ctx: RepContext, cfg: FaultConfig) -> Fault | None:
        hit = self.check(ctx, cfg)
        if hit is None:
            return None
        return Fault(self.id, hit.t, hit.value, hit.threshold, hit.unit, self.severity, self.cue,
                     self.source)


RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, cue: str, source: str):
    """Register a fault rule under ``id``."""
    if id not in FAULT_IDS:
        raise ValueError(f"rule id: expected one of {FAULT_IDS}, got {id!r}")

    def wrap(fn):
        RULES[id] = Rule(id, severity, cue, source, fn)
        return fn

    return wrap


def hyperextension_limit(cfg: FaultConfig, profile: str | None) -> float:
    """The finish past neutral that is hyperextension (deg) for ``profile``: the seated machine's
    target is upright (seed 001), the face-down one a slight arch (seed 000)."""
    return cfg.prone_max_extension_deg if profile == "prone" else cfg.max_extension_deg


@rule(
    "hyperextension", "major",
    "Finish tall — stop at neutral, don't lean back past it.",
    "Stop short of leaning back past neutral or jamming the low back into hyperextension "
    "(lever machine guide); Avoid arching your back excessively during the exercise (face-down back extension guide).",
)
def _hyperextension(c: RepContext, cfg: FaultConfig):
    """Seated: leaning back past upright. Prone: arching well beyond the slight arch the guide
    asks for. Off the side view the 2-D angle is magnified (prone), so where world landmarks give
    a view-invariant finish too, both must be past the limit."""
    m = c.metrics
    limit = hyperextension_limit(cfg, c.profile)
    if not c.counted or m.peak_extension_deg <= limit:
        return None
    if c.profile == "prone" and math.isfinite(c.peak_extension_3d_deg) and c.peak_extension_3d_deg <= limit:
        return None
    return RuleHit(m.peak_extension_deg, limit, "deg", m.peak_extension_t)


@rule(
    "jerky_lift", "major",
    "Lift smoothly — don't throw your torso up from the bottom.",
    "Do not throw your torso upward from the bottom. A smooth start protects the spine "
    "(lever machine guide); Focus on using your lower back muscles ... rather than relying on momentum (face-down back extension guide).",
)
def _jerky_lift(c: RepContext, cfg: FaultConfig):
    m = c.metrics
    if not c.counted:
        return None
    if m.peak_lift_velocity_dps > cfg.max_lift_velocity_dps:
        return RuleHit(m.peak_lift_velocity_dps, cfg.max_lift_velocity_dps, "deg/s", m.peak_lift_velocity_t)
    if m.lifting_s < cfg.min_lifting_s:
        return RuleHit(m.lifting_s, cfg.min_lifting_s, "s", m.peak_lift_velocity_t)
    return None


@rule(
    "fast_descent", "minor",
    "Lower slowly, under control.",
    "Lower your upper body back down in a controlled manner to the starting position (face-down back extension guide); "
    "Lower your chest and shoulders forward in a slow, controlled arc (lever machine guide).",
)
def _fast_descent(c: RepContext, cfg: FaultConfig):
    m = c.metrics
    if c.counted and c.lowering_done and m.lowering_s < cfg.min_lowering_s:
        return RuleHit(m.lowering_s, cfg.min_lowering_s, "s", m.t_start)
    return None


@rule(
    "no_top_pause", "minor",
    "Pause briefly at the top and squeeze.",
    "Hold the contracted position for a brief moment while focusing on squeezing your lower back "
    "muscles (face-down back extension guide); Choose a load that lets you pause briefly at the top (lever machine guide).",
)
def _no_top_pause(c: RepContext, cfg: FaultConfig):
    m = c.metrics
    if c.counted and c.closed and m.top_hold_s < cfg.min_top_hold_s:
        return RuleHit(m.top_hold_s, cfg.min_top_hold_s, "s", m.t_top)
    return None


@rule(
    "partial_range", "minor",
    "Go a little deeper — use the full range you can control.",
    "Lower your chest and shoulders forward ... until you reach the bottom of the range you can "
    "own (lever machine guide).",
)
def _partial_range(c: RepContext, cfg: FaultConfig):
    m = c.metrics
    if not c.counted:
        return RuleHit(-m.depth_deg, c.bottom_deg, "deg", m.t_bottom)
    return None


@rule(
    "excessive_depth", "minor",
    "Stop before your back rounds hard at the bottom.",
    "Lower ... until you reach the bottom of the range you can own without collapsing into a hard "
    "round back (lever machine guide).",
)
def _excessive_depth(c: RepContext, cfg: FaultConfig):
    m = c.metrics
    limit = cfg.seated_max_flexion_deg if c.profile == "seated" else cfg.prone_max_flexion_deg
    if c.counted and -m.depth_deg > limit:
        return RuleHit(-m.depth_deg, limit, "deg", m.t_bottom)
    return None


@rule(
    "hip_shift", "minor",
    "Keep your hips pinned to the pad.",
    "Sit so your hips stay pinned to the seat ... If your pelvis can slide ..., the rep turns "
    "into a body shift instead of a back extension (lever machine guide).",
)
def _hip_shift(c: RepContext, cfg: FaultConfig):
    if c.counted and c.hip_shift_frac > cfg.max_hip_shift_frac:
        return RuleHit(c.hip_shift_frac, cfg.max_hip_shift_frac, "frac", c.hip_shift_t)
    return None


@rule(
    "neck_crank", "minor",
    "Keep your neck long — chin slightly tucked.",
    "Keep your chin slightly tucked so the neck stays long (lever machine guide); Think about lifting through "
    "the chest ... not just cranking the neck (lever machine guide).",
)
def _neck_crank(c: RepContext, cfg: FaultConfig):
    if c.counted and c.neck_extension_deg > cfg.max_neck_extension_deg:
        return RuleHit(c.neck_extension_deg, cfg.max_neck_extension_deg, "deg", c.neck_extension_t)
    return None


def evaluate(ctx: RepContext, cfg: FaultConfig) -> tuple[Fault, ...]:
    """All faults of one rep, in the order of the fault table, skipping disabled rules."""
    out = []
    for fid in FAULT_IDS:
        if fid in cfg.disabled:
            continue
        f = RULES[fid](ctx, cfg)
        if f is not None:
            out.append(f)
    return tuple(out)
