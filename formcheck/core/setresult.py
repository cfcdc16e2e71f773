"""What one set gives: :class:`SetResult`, and the per-sample buffer the analyser keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.core.types import Rep
from formcheck.core.upright import TurnedPicture


@dataclass
class SetResult:
    """Everything the analysis found in one set (one clip or one live session)."""

    profile: str
    facing: str | None
    reps: list[Rep]
    warnings: list[str]
    series: dict[str, np.ndarray]
    frames_total: int
    frames_with_pose: int
    smoothing: str = "causal one-euro"  # how series["extension_deg"] was smoothed
    scene: dict = field(default_factory=dict)  # camera roll, set start, analysed spans and cuts
    turned: TurnedPicture | None = None  # the picture looked turned 90° (core.upright)

    @property
    def counted(self) -> list[Rep]:
        return [r for r in self.reps if r.counted]

    @property
    def rep_count(self) -> int:
        return len(self.counted)

    @property
    def partial_reps(self) -> int:
        return sum(not r.counted for r in self.reps)

    def fault_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reps:
            for f in r.faults:
                out[f.id] = out.get(f.id, 0) + 1
        return out

    @property
    def score(self) -> float | None:
        reps = self.counted
        if not reps:
            return None
        partial_penalty = 5.0 * self.partial_reps
        return round(max(0.0, float(np.mean([r.score for r in reps])) - partial_penalty), 1)

    @property
    def good_reps(self) -> int:
        return sum(1 for r in self.counted if not r.faults)


class SampleBuffer:
    """Growable per-sample arrays addressed by absolute sample number, trimmed from the front."""

    NAMES = ("t", "e", "raw", "hip_x", "hip_y", "thigh", "neck", "e3d")

    def __init__(self) -> None:
        self.base = 0
        self.cols: dict[str, list[float]] = {n: [] for n in self.NAMES}

    def __len__(self) -> int:
        return len(self.cols["t"])

    @property
    def next_index(self) -> int:
        return self.base + len(self)

    def append(self, **values: float) -> int:
        for n in self.NAMES:
            self.cols[n].append(values[n])
        return self.next_index - 1

    def arrays(self, i0: int, i1: int) -> dict[str, np.ndarray]:
        a, b = i0 - self.base, i1 - self.base + 1
        return {n: np.asarray(c[a:b], dtype=np.float64) for n, c in self.cols.items()}

    def trim_before(self, i: int) -> None:
        k = i - self.base
        if k > 2000:  # amortise: drop in large chunks
            for c in self.cols.values():
                del c[:k]
            self.base = i
