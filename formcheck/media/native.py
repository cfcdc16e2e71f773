"""Keep native libraries' log lines (MediaPipe's glog, FFmpeg) off the user's terminal."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading

log = logging.getLogger("formcheck")


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence MediaPipe's native (C++) log lines on fd 2 unless debug logging is on."""
    if log.isEnabledFor(logging.DEBUG) or os.environ.get("FORMCHECK_NATIVE_LOGS") == "1":
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


# glog/absl line prefix, e.g. "W0000 00:00:1700000000.123456   12345 landmark_projection_calculator.cc:81] ..."
NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} [\d:.]+\s+\d+\s+\S+:\d+\]"
    rb"|INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog)"
)


class NativeLogFilter:
    """Drop MediaPipe's native log lines written to fd 2 inside ``with`` blocks, keep the rest.

    Unlike :func:`quiet_native_stderr` (which sends fd 2 to /dev/null), fd 2 goes to a
    temporary file for the duration of the block; afterwards every line that is not a native
    log line (glog/absl prefix, see :data:`NATIVE_LINE`) is copied to the real stderr. So a
    warning that another thread (the decoding thread) logs while the model runs is delayed by
    at most one frame, never lost. The cost is a few system calls per block (~20 us).
    With debug logging or ``FORMCHECK_NATIVE_LOGS=1`` nothing is filtered.
    """

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.enabled = not (log.isEnabledFor(logging.DEBUG)
                            or os.environ.get("FORMCHECK_NATIVE_LOGS") == "1")
        self._fd: int | None = None
        self._saved: int | None = None
        self.dropped = 0

    def _capture_fd(self) -> int:
        if self._fd is None:
            f = tempfile.TemporaryFile()
            self._fd = os.dup(f.fileno())
            f.close()
        return self._fd

    def __enter__(self) -> NativeLogFilter:
        if not self.enabled:
            return self
        self._lock.acquire()
        try:
            fd = self._capture_fd()
            sys.stderr.flush()
            self._saved = os.dup(2)
            os.dup2(fd, 2)
        except OSError:
            self._restore()
            self.enabled = False
        return self

    def _restore(self) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = None
        if self._lock.locked():
            self._lock.release()

    def __exit__(self, *exc) -> None:
        if not self.enabled or self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        self._restore()
        fd = self._fd
        size = os.fstat(fd).st_size
        if not size:
            return
        os.lseek(fd, 0, os.SEEK_SET)
        data = b""
        while len(data) < size:
            chunk = os.read(fd, size - len(data))
            if not chunk:
                break
            data += chunk
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        keep = []
        for line in data.splitlines(keepends=True):
            if NATIVE_LINE.match(line):
                self.dropped += 1
            else:
                keep.append(line)
        if keep:
            try:
                os.write(2, b"".join(keep))
            except OSError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            self.close()
        except Exception:
            pass
