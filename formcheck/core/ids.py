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

#: Readable names of the fault ids, for people (status lines, live summaries).
FAULT_NAMES: dict[str, str] = {
    "hyperextension": "hyperextension", "jerky_lift": "jerky lift",
    "fast_descent": "fast descent", "no_top_pause": "no pause at the top",
    "partial_range": "partial range", "excessive_depth": "too deep", "hip_shift": "hip shift",
    "neck_crank": "neck cranked",
}


def fault_name(fault_id: str) -> str:
    """The readable name of a fault id (the id with spaces for one this table lacks)."""
    return FAULT_NAMES.get(fault_id, fault_id.replace("_", " "))
