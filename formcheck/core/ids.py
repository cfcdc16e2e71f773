"""Canonical identifiers shared by the configuration and the core (imports nothing).

:mod:`formcheck.config` validates ``faults.disabled`` against :data:`FAULT_IDS`, and
:mod:`formcheck.core.faults` registers one rule per id; keeping the tuple here lets both import it
without a cycle (core -> config -> core).
"""

from __future__ import annotations

FAULT_IDS: tuple[str, ...] = (
    "hyperextension", "jerky_lift", "fast_descent", "no_top_pause",
    "partial_range", "excessive_depth", "hip_shift", "neck_crank",
)
