"""The live front end's own edges: the on-screen window (OpenCV) and spoken cues (a local
text-to-speech program in a subprocess)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np

from formcheck.errors import FormcheckError
from formcheck.media.native import quiet_native_stderr

log = logging.getLogger(__name__)


class Speaker:
    """Speak cues with a local TTS (espeak-ng or espeak), without blocking the loop.

    A new cue replaces one still being spoken. If no TTS is installed, :attr:`available` is
    False and :meth:`say` does nothing.
    """

    def __init__(self, exe: str | None = None, words_per_min: int = 165) -> None:
        self.exe = exe or shutil.which("espeak-ng") or shutil.which("espeak")
        self.wpm = words_per_min
        self._proc: subprocess.Popen | None = None

    @property
    def available(self) -> bool:
        return self.exe is not None

    def say(self, text: str) -> None:
        if not self.exe:
            return
        self._stop_current()
        try:
            self._proc = subprocess.Popen([self.exe, "-s", str(self.wpm), text],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        except OSError as e:
            log.warning("speech disabled: %s failed (%s)", self.exe, e)
            self.exe = None

    def _stop_current(self) -> None:
        p = self._proc
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                p.kill()
        self._proc = None

    def close(self) -> None:
        self._stop_current()


class Window:
    """The on-screen window (cv2.imshow). Raises FormcheckError when there is no display."""

    def __init__(self, title: str = "formcheck live") -> None:
        self.title = title
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise FormcheckError(
                "No display available for the live window (DISPLAY is not set). "
                "Run `formcheck live --no-window` to get the reps and cues as JSON lines, "
                "optionally with --record OUT.webm and --speak."
            )
        self._sized = False
        try:
            with quiet_native_stderr():  # Qt complains about fonts it does not need
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        except cv2.error as e:
            raise FormcheckError(
                f"Cannot open a window ({e}). Run `formcheck live --no-window` instead."
            ) from e

    def show(self, image: np.ndarray) -> int:
        """Show ``image``; return the key pressed (-1 for none)."""
        if not self._sized:  # a resizable window opens small: start at the frame's own size
            h, w = image.shape[:2]
            cv2.resizeWindow(self.title, w, h)
            self._sized = True
        with quiet_native_stderr():
            cv2.imshow(self.title, image)
        return self.poll()

    def poll(self) -> int:
        """The key pressed since the last call (-1 for none)."""
        k = cv2.waitKey(1)
        return -1 if k < 0 else k & 0xFF

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
