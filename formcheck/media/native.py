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
    temporary file while any block is open; at the end of each block the complete lines written
    so far that are not native log lines (glog/absl prefix, see :data:`NATIVE_LINE`) are copied
    to the real stderr. So a warning that another thread (the decoding thread) logs while the
    model runs is delayed by at most one frame, never lost. The cost is a few system calls per
    block (~20 us). With debug logging or ``FORMCHECK_NATIVE_LOGS=1`` nothing is filtered.

    Blocks may overlap in several threads (pose models running in parallel): fd 2 is redirected
    when the first opens and restored when the last closes; the redirection, the capture file and
    the read position are shared by every filter of the process.
    """

    _lock = threading.Lock()  # guards the shared state below
    _depth = 0  # blocks open in any thread
    _fd: int | None = None  # the capture file (shared, kept for the process)
    _saved: int | None = None  # the real stderr while fd 2 is redirected
    _pos = 0  # bytes of the capture file already handled

    def __init__(self) -> None:
        self.enabled = not (log.isEnabledFor(logging.DEBUG)
                            or os.environ.get("FORMCHECK_NATIVE_LOGS") == "1")
        self._open = 0  # this filter's blocks open (it may be entered by several threads)
        self.dropped = 0

    @classmethod
    def _capture_fd(cls) -> int:
        if cls._fd is None:
            f = tempfile.TemporaryFile()
            cls._fd = os.dup(f.fileno())
            f.close()
        return cls._fd

    def __enter__(self) -> NativeLogFilter:
        if not self.enabled:
            return self
        cls = NativeLogFilter
        with cls._lock:
            if cls._depth == 0:
                try:
                    fd = cls._capture_fd()
                    sys.stderr.flush()
                    cls._saved = os.dup(2)
                    os.dup2(fd, 2)
                except OSError:
                    if cls._saved is not None:
                        os.close(cls._saved)
                        cls._saved = None
                    self.enabled = False
                    return self
            cls._depth += 1
            self._open += 1
        return self

    def __exit__(self, *exc) -> None:
        cls = NativeLogFilter
        with cls._lock:
            if not self.enabled or self._open == 0:
                return
            self._open -= 1
            cls._depth -= 1
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            last = cls._depth == 0
            data = cls._take(last)
            out = cls._saved
            if last:
                os.dup2(cls._saved, 2)
                os.close(cls._saved)
                cls._saved = None
                out = 2
            keep = []
            for line in data.splitlines(keepends=True):
                if NATIVE_LINE.match(line):
                    self.dropped += 1
                else:
                    keep.append(line)
            if keep:
                try:
                    os.write(out, b"".join(keep))
                except OSError:
                    pass

    @classmethod
    def _take(cls, everything: bool) -> bytes:
        """The captured bytes not yet handled: complete lines only while other blocks are open
        (their threads may be mid-line), everything (and an emptied file) when none is."""
        fd = cls._fd
        size = os.fstat(fd).st_size
        data = b""
        while cls._pos + len(data) < size:
            chunk = os.pread(fd, size - cls._pos - len(data), cls._pos + len(data))
            if not chunk:
                break
            data += chunk
        if everything:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            cls._pos = 0
            return data
        end = data.rfind(b"\n") + 1
        cls._pos += end
        return data[:end]

    def close(self) -> None:
        """Nothing to release: the capture file is shared and kept for the process."""
