"""Keep native libraries' log lines (MediaPipe's glog, FFmpeg) off the user's terminal."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

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
