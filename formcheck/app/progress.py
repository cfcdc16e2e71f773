"""A dependency-free progress bar on stderr (drawn only on a terminal unless forced)."""

from __future__ import annotations

import os
import sys
import time


class Progress:
    """``Progress(total, label)``; call ``advance(n)`` or ``set(value)``; ``close()`` at the end.

    On a terminal it redraws one line at most 10 times a second with rate and ETA; elsewhere
    (CI, pipes) it stays silent unless ``FORMCHECK_PROGRESS=1``.
    """

    def __init__(self, total: float, label: str = "", unit: str = "", enabled: bool | None = None,
                 stream=None) -> None:
        self.total = max(float(total), 0.0)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() or os.environ.get("FORMCHECK_PROGRESS") == "1"
        self.enabled = enabled
        self.value = 0.0
        self.extra = ""
        self._t0 = time.monotonic()
        self._last_draw = 0.0

    def set(self, value: float, extra: str = "") -> None:
        self.value = value
        if extra:
            self.extra = extra
        self._draw()

    def advance(self, n: float = 1.0, extra: str = "") -> None:
        self.set(self.value + n, extra)

    def _draw(self, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        elapsed = now - self._t0
        frac = min(self.value / self.total, 1.0) if self.total else 0.0
        width = 28
        bar = "█" * int(frac * width) + "·" * (width - int(frac * width))
        eta = (elapsed / frac - elapsed) if frac > 0 else float("nan")
        eta_s = f"ETA {eta:4.0f}s" if eta == eta and not final else f"{elapsed:5.1f}s"
        total = f"{self.value:.0f}/{self.total:.0f}{self.unit}" if self.total else f"{self.value:.0f}"
        self.stream.write(f"\r{self.label} {bar} {frac * 100:3.0f}% {total} {eta_s} {self.extra}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(final=True)
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
