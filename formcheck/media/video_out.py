"""Annotated video out, through PyAV (FFmpeg's encoders bundled in the wheel).

``.mp4`` is H.264 (libx264, yuv420p, ``movflags=+faststart``): it plays in every browser and in
the HTML report. ``.webm`` is VP8 (VP9 on request, ``[video] webm_codec = "vp9"``). A path
without a suffix gets ``.mp4``.

Every file is written to a temporary name in the same folder and renamed into place only when
complete (:func:`atomic_output`), so Ctrl-C or a crash keeps a previous file byte-identical and
never leaves a partial file under the final name.

This module is the raw writer only (codec choice, :func:`atomic_output`, the encoding thread);
it draws nothing. :class:`formcheck.render.video.VideoAnnotator` composes the overlay with it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import queue
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import OutputError, VideoWriteError, os_error_reason

log = logging.getLogger(__name__)

# Codec names per container in order of preference (the historical fourcc names are kept as
# the keys users and configs know). WebM: VP8 by default (every browser plays it, and VP9 is
# several times slower to encode); `[video] webm_codec = "vp9"` asks for VP9.
WEBM_FOURCCS = {"vp8": ("VP80", "VP90"), "vp9": ("VP90", "VP80")}
FOURCCS: dict[str, tuple[str, ...]] = {".webm": WEBM_FOURCCS["vp8"], ".mp4": ("avc1",)}
DEFAULT_SUFFIX = ".mp4"


@dataclass(frozen=True)
class Encoding:
    """How one fourcc is written with PyAV.

    Attributes:
        fourcc: the name the rest of formcheck uses ("avc1", "VP80", "VP90").
        container: FFmpeg muxer name.
        codec: FFmpeg encoder name.
        options: encoder options for files (quality first, within a few ms per frame).
        realtime_options: encoder options for live recording (speed first).
        container_options: muxer options.
    """

    fourcc: str
    container: str
    codec: str
    options: tuple[tuple[str, str], ...]
    realtime_options: tuple[tuple[str, str], ...]
    container_options: tuple[tuple[str, str], ...] = ()


ENCODINGS: dict[str, Encoding] = {
    "avc1": Encoding("avc1", "mp4", "libx264",
                     (("preset", "veryfast"), ("crf", "23"), ("profile", "high")),
                     (("preset", "ultrafast"), ("tune", "zerolatency"), ("crf", "23")),
                     (("movflags", "+faststart"),)),
    # libvpx on 2 shared cores: its own threads make it erratic (15-170 ms per 640x480 frame
    # with others' load), one thread is a steady ~3-4 ms (VP8 "good", cpu-used 5, no look-ahead).
    "VP80": Encoding("VP80", "webm", "libvpx",
                     (("deadline", "good"), ("cpu-used", "5"), ("lag-in-frames", "0"),
                      ("auto-alt-ref", "0"), ("crf", "10"), ("b", "2M"), ("threads", "1")),
                     (("deadline", "realtime"), ("cpu-used", "8"), ("lag-in-frames", "0"),
                      ("crf", "10"), ("b", "2M"), ("threads", "1"))),
    "VP90": Encoding("VP90", "webm", "libvpx-vp9",
                     (("deadline", "realtime"), ("cpu-used", "8"), ("lag-in-frames", "0"),
                      ("crf", "33"), ("b", "0"), ("threads", "1")),
                     (("deadline", "realtime"), ("cpu-used", "8"), ("lag-in-frames", "0"),
                      ("crf", "33"), ("b", "0"), ("threads", "1"))),
}


# --------------------------------------------------------------------------- atomic output
_LIVE_TEMPS: set[str] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _remove_live_temps() -> None:  # a crash or an unhandled Ctrl-C: no stray partial files
    with _LIVE_LOCK:
        for tmp in list(_LIVE_TEMPS):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _LIVE_TEMPS.clear()


def prepare_output(path: str | os.PathLike) -> Path:
    """Check, before any work, that ``path`` can be written: its missing folders are created;
    a folder with its name, a file where one of its folders should be, or a folder that cannot
    be written is an :class:`OutputError` saying which."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"Cannot write {p}: a folder has that name. Give a file name.")
    for folder in reversed(p.parents):
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"Cannot write {p}: {folder} is a file, not a folder. Choose another output path.")
    folder = p.parent if str(p.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".check")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"Cannot write {p}: {os_error_reason(e)}. Choose another output path.") from e
    return p


class AtomicOutput:
    """A temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    ``tmp`` keeps ``path``'s suffix (so tools that guess the format from the name still
    work). :meth:`abort` deletes it; a process that exits without either deletes it at exit.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.",
                                       suffix=f".part{self.path.suffix}")
        except OSError as e:
            raise VideoWriteError(f"Cannot write {self.path}: {os_error_reason(e)}. Choose another output path.") from e
        os.close(fd)
        self.tmp = Path(tmp)
        self.done = False
        with _LIVE_LOCK:
            _LIVE_TEMPS.add(tmp)

    def _forget(self) -> None:
        with _LIVE_LOCK:
            _LIVE_TEMPS.discard(str(self.tmp))

    def commit(self) -> Path:
        """Rename the finished temporary file onto ``path`` (atomic on one file system)."""
        if self.done:
            return self.path
        self.done = True
        try:
            um = os.umask(0)  # mkstemp makes 0600 files; give outputs the usual permissions
            os.umask(um)
            os.chmod(self.tmp, 0o666 & ~um)
            os.replace(self.tmp, self.path)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            raise VideoWriteError(f"Cannot write {self.path}: {os_error_reason(e)}. Choose another output path.") from e
        finally:
            self._forget()
        return self.path

    def abort(self) -> None:
        """Delete the temporary file; ``path`` is left as it was."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)
        self._forget()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Write ``path`` through a temporary file in the same folder.

    Yields the temporary path to write; on a clean exit it is renamed onto ``path``, on any
    exception (``KeyboardInterrupt`` included) it is deleted and ``path`` keeps its previous
    content::

        with atomic_output("out.mp4") as tmp:
            write_video(tmp)
    """
    out = AtomicOutput(path)
    try:
        yield out.tmp
    except BaseException:
        out.abort()
        raise
    out.commit()


# --------------------------------------------------------------------------- codec choice
def _fourcc_candidates(path: Path, realtime: bool, webm_codec: str = "vp8") -> tuple[str, ...]:
    """Codec names (fourccs) to try for ``path``, in order of preference."""
    table = dict(FOURCCS)
    table[".webm"] = WEBM_FOURCCS["vp8" if realtime else webm_codec]
    suffix = path.suffix.lower()
    if suffix not in table:
        raise VideoWriteError(
            f"Cannot write {path}: expected a .webm or .mp4 file name, got '{suffix or 'no suffix'}'. "
            "Use .mp4 (H.264, plays in every browser and in the HTML report) or .webm."
        )
    return table[suffix]


def pick_fourcc(path: Path, candidates: Sequence[str]) -> str:
    """The first of ``candidates`` whose encoder this PyAV build has."""
    import av

    for fcc in candidates:
        enc = ENCODINGS.get(fcc)
        if enc is not None and enc.codec in av.codecs_available:
            return fcc
    raise VideoWriteError(
        f"This PyAV build cannot write {path.suffix} video (tried codecs {', '.join(candidates)}). "
        "Try the other format (.mp4 or .webm)."
    )


# --------------------------------------------------------------------------- encoding
class _WriterThread:
    """Encodes frames in a background thread, keeping real timing by repeating frames.

    Items are (image, t_s). The video is written at ``fps``; the frame shown at output time
    ``k / fps`` is the newest input frame whose time is <= that (so late/dropped frames are
    filled by holding the previous image, and the video keeps the source's clock).
    The file is written to ``out.tmp``; :meth:`close` commits or aborts it.
    """

    def __init__(self, out: AtomicOutput, fourcc: str, fps: float, size: tuple[int, int],
                 maxsize: int, realtime: bool = False) -> None:
        import av

        self.path, self.fourcc, self.fps = out.path, fourcc, fps
        # 4:2:0 needs even sizes: odd frames are scaled by one pixel.
        self.size = (max(2, size[0] - size[0] % 2), max(2, size[1] - size[1] % 2))
        self.written = 0
        self.error: BaseException | None = None
        self._out = out
        enc = ENCODINGS[fourcc]
        rate = Fraction(fps).limit_denominator(1001)
        try:
            self._container = av.open(str(out.tmp), "w", format=enc.container,
                                      options=dict(enc.container_options))
            stream = self._container.add_stream(enc.codec, rate=rate)
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            stream.options = dict(enc.realtime_options if realtime else enc.options)
            if enc.codec == "libx264":  # libvpx: one thread (see ENCODINGS)
                stream.thread_type = "AUTO"
        except (av.error.FFmpegError, OSError, ValueError) as e:
            out.abort()
            raise VideoWriteError(
                f"Could not open {self.path} for writing with {enc.codec} at "
                f"{self.size[0]}x{self.size[1]}, {fps:.2f} fps ({e}). Check the folder is "
                "writable, or try the other format (.mp4 / .webm)."
            ) from e
        self._stream = stream
        self._q: queue.Queue = queue.Queue(maxsize=maxsize)
        self._abort = threading.Event()
        self._t0: float | None = None
        self._thread = threading.Thread(target=self._loop, name="formcheck-video-writer", daemon=True)
        self._thread.start()

    def put(self, image: np.ndarray, t_s: float, block: bool = True) -> bool:
        if self.error is not None:
            raise VideoWriteError(f"Writing {self.path} failed: {self.error}") from self.error
        try:
            self._q.put((image, t_s), block=block)
            return True
        except queue.Full:
            return False

    def _encode(self, yuv: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self.written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.written += 1

    def _loop(self) -> None:
        last = None
        try:
            while not self._abort.is_set():
                item = self._q.get()
                if item is None:
                    break
                image, t = item
                if image.shape[1::-1] != self.size:
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
                yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
                if self._t0 is None:
                    self._t0 = t
                # Output frames due up to and including this input's time.
                target = int(math.floor((t - self._t0) * self.fps + 0.5)) + 1
                if last is not None:
                    while self.written < target - 1:  # hold the previous image over a gap
                        self._encode(last)
                if self.written < target:
                    self._encode(yuv)
                last = yuv
        except BaseException as e:  # surfaced to the caller on the next put()/close()
            self.error = e
            log.exception("video writer failed")
        finally:
            while True:  # drain so producers never block forever
                try:
                    self._q.get_nowait()
                except queue.Empty:
                    break

    def _stop_thread(self) -> None:
        if self._thread.is_alive():
            while True:
                try:
                    self._q.put(None, timeout=0.1)
                    break
                except queue.Full:
                    if not self._thread.is_alive():
                        break
            self._thread.join()

    def close(self) -> None:
        """Flush the encoder, finish the file and rename it into place."""
        self._stop_thread()
        try:
            if self.error is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        except Exception as e:
            self.error = self.error or e
        if self.error is not None:
            self._out.abort()
            raise VideoWriteError(f"Writing {self.path} failed: {self.error}") from self.error
        self._out.commit()

    def abort(self) -> None:
        """Stop at once and delete the partial file (the final path is not touched)."""
        self._abort.set()
        self._stop_thread()
        with contextlib.suppress(Exception):
            self._container.close()
        self._out.abort()
