"""Ctrl-C at a safe point.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be: inside a queue's
``put`` between adding a frame and waking the video writer, in a generator's clean-up, or while
a native decoder or pose model is running. Each of those can leave a thread waiting forever or
crash the interpreter at exit. While files are being written, :class:`SafeInterrupt` notes the
first Ctrl-C and raises it at the next :meth:`SafeInterrupt.check` (between frames), so the
frame loop, the pose models and the video writer unwind the ordinary way. A second Ctrl-C a
moment later (``AGAIN_S``) raises at once; one that comes with the first (``timeout -s INT``
signals the command and then its whole process group) is the same Ctrl-C.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType


class SafeInterrupt:
    """Context manager: defer the first SIGINT to :meth:`check`. Outside the main thread (where
    signal handlers cannot be set) it does nothing and Ctrl-C behaves as usual."""

    AGAIN_S = 0.5  # a second SIGINT at least this long after the first stops at once

    def __init__(self) -> None:
        self.pending = False
        self._first = 0.0
        self._old = None

    def __enter__(self) -> SafeInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if not self.pending:
            self.pending, self._first = True, now
        elif now - self._first >= self.AGAIN_S:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since entering."""
        if self.pending:
            raise KeyboardInterrupt
