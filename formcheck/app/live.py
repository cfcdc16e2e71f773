"""``formcheck live``: rep counting, fault cues and an overlay from a webcam, while you train.

Edge module (OpenCV capture, window, keyboard, TTS subprocess). The analysis is the same
streaming :class:`~formcheck.core.analysis.Analyzer` that ``formcheck analyze`` uses, so the same
movement gives the same reps and faults.

Pipeline, per processed frame::

    capture thread (latest frame wins) -> PoseEstimator.detect -> Analyzer.update
      -> CueRationer (one cue at a time, cooldown) -> FormOverlay -> window / recording / JSON

Capture: :class:`CameraSource` runs a thread that keeps only the newest frame; the processing
loop always takes the newest and never queues, so when processing is slower than the camera,
frames are *dropped* rather than lag accumulating. A video FILE can stand in for a camera: with
``pace="realtime"`` it is played at its real rate (wall clock paced by container timestamps)
and frames whose time passed while processing was busy are dropped; with ``pace="none"`` every
frame is processed, as fast as possible (for tests and offline checks: the result then equals
``formcheck analyze`` on the same file).

Latency is measured per processed frame from the moment the frame was captured (camera) or
became due (file played in real time) to the moment its overlay was ready.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from formcheck.app.session import Session, Sink, Step, make_report
from formcheck.core.analysis import SetResult
from formcheck.core.calibration import NeutralCalibrator
from formcheck.render.annotate import FormOverlay, OverlayTracker, VideoAnnotator
from formcheck.config import Config
from formcheck.core.cues import Cue, CueRationer
from formcheck.errors import FormcheckError, SourceError
from formcheck.core.events import EventKind
from formcheck.core.schema import Summary
from formcheck.media.native import quiet_native_stderr
from formcheck.core.types import ClipInfo
from formcheck.media.sources import VideoSource, check_video_path, downscale

log = logging.getLogger(__name__)

PACES = ("realtime", "none")
KEY_ESC = 27

ENDED_FILE = "end_of_file"
ENDED_LOST = "camera_lost"
ENDED_QUIT = "user_quit"
ENDED_INTERRUPT = "interrupted"


# --------------------------------------------------------------------------- readers
class FrameReader(Protocol):
    """Where frames come from. ``read()`` returns ``(t_s, image_bgr)`` or ``None``.

    For ``kind == "file"``, ``None`` is the normal end; for ``kind == "camera"`` it is a failed
    read (the source retries, and declares the camera lost after a while).
    """

    kind: str
    description: str
    fps: float

    def read(self) -> tuple[float, np.ndarray] | None: ...

    def close(self) -> None: ...


class FileReader:
    """A video file as a camera: frames and container times from :class:`VideoSource`
    (exactly the frames ``formcheck analyze`` sees)."""

    kind = "file"

    def __init__(self, path: str | os.PathLike, max_side_px: int = 1280, max_fps: float = 0.0):
        self.video = VideoSource(path, max_side_px, max_fps)
        self.info = self.video.info
        self.fps = self.info.fps
        self.description = str(path)
        self._it = iter(self.video)

    def read(self) -> tuple[float, np.ndarray] | None:
        try:
            fr = next(self._it)
        except StopIteration:
            return None
        return fr.t_s, fr.image

    def close(self) -> None:
        self.video.close()


def _video_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*")) if sys.platform.startswith("linux") else []


def camera_help(tried: str) -> str:
    devs = _video_devices()
    found = (f" Video devices on this machine: {', '.join(devs)}." if devs
             else " No /dev/video* device exists on this machine." if sys.platform.startswith("linux") else "")
    return (f"Cannot open camera {tried}: no camera there, or another program is using it.{found} "
            "Pick another with --camera 1, a device path such as --camera /dev/video2, a stream URL "
            "(rtsp://..., http://...), or a recorded file (--camera my_set.mp4).")


class DeviceReader:
    """A camera by index, device path or stream URL (cv2.VideoCapture).

    Frame time is the capture wall clock (s) since the first frame was read.
    """

    kind = "camera"

    def __init__(self, spec: int | str, max_side_px: int = 1280,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.description = f"index {spec}" if isinstance(spec, int) else str(spec)
        with quiet_native_stderr():
            cap = cv2.VideoCapture(spec)
        if not cap.isOpened():
            cap.release()
            raise SourceError(camera_help(self.description))
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.max_side_px = max_side_px
        self._clock = clock
        self._t0: float | None = None

    def read(self) -> tuple[float, np.ndarray] | None:
        try:
            ok, image = self._cap.read()
        except cv2.error as e:
            log.warning("camera read failed: %s", e)
            return None
        now = self._clock()
        if not ok or image is None:
            return None
        if self._t0 is None:
            self._t0 = now
        return now - self._t0, downscale(image, self.max_side_px)

    def close(self) -> None:
        self._cap.release()


def open_reader(spec: str, max_side_px: int = 1280, max_fps: float = 0.0) -> FrameReader:
    """Open ``--camera SPEC``: an index ("0"), a device path, a URL, or a video file."""
    spec = str(spec).strip()
    if spec.isdigit():
        return DeviceReader(int(spec), max_side_px)
    if "://" in spec:
        return DeviceReader(spec, max_side_px)
    if spec.startswith("/dev/"):
        if not Path(spec).exists():
            raise SourceError(camera_help(spec))
        return DeviceReader(spec, max_side_px)
    p = Path(spec)
    if not p.exists():
        raise SourceError(
            f"--camera {spec}: no such file, and not a camera index, device or URL. "
            "Use --camera 0 (first webcam), --camera /dev/video0, an rtsp:// or http:// URL, "
            "or the path of a video file."
        )
    check_video_path(p)
    return FileReader(p, max_side_px, max_fps)


# --------------------------------------------------------------------------- capture thread
@dataclass(frozen=True)
class CapturedFrame:
    """A frame handed to the processing loop.

    Attributes:
        index: number of frames the source delivered before this one.
        t_s: source time (s): container time for files, capture clock for cameras.
        image: BGR uint8 (H, W, 3).
        t_avail: ``clock()`` time when it was captured (camera) or became due (paced file).
    """

    index: int
    t_s: float
    image: np.ndarray
    t_avail: float


class CameraSource:
    """Latest-frame-wins capture on a background thread.

    Args:
        reader: a :class:`FrameReader` (file, device, or a test double).
        pace: ``"realtime"``: a file is played at its real rate and frames the processing loop
            did not take in time are dropped (cameras always behave like this);
            ``"none"``: the reader waits until the previous frame was taken (no dropping; for
            files in tests: do not use with a real camera, which would deliver stale frames).
        lost_after_s: a camera that delivers no frame for this long (s) is declared lost.
        clock: monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, reader: FrameReader, pace: str = "realtime", lost_after_s: float = 2.0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if pace not in PACES:
            raise ValueError(f"pace: expected one of {', '.join(PACES)}, got {pace!r}")
        if not lost_after_s > 0:
            raise ValueError(f"lost_after_s: expected > 0 seconds, got {lost_after_s}")
        self.reader = reader
        self.pace = pace
        self.lost_after_s = lost_after_s
        self.clock = clock
        self.status = "new"  # new | running | ended | lost | error
        self.error: BaseException | None = None
        self.captured = 0
        self.dropped = 0
        self.last_capture: float | None = None
        self.frame_wh: tuple[int, int] = (0, 0)
        self._slot: CapturedFrame | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def kind(self) -> str:
        return self.reader.kind

    def start(self) -> CameraSource:
        self.status = "running"
        self._started = self.clock()
        self._thread = threading.Thread(target=self._run, name="formcheck-capture", daemon=True)
        self._thread.start()
        return self

    def _publish(self, t_s: float, image: np.ndarray, t_avail: float) -> None:
        with self._cond:
            if self._slot is not None:
                self.dropped += 1  # the processing loop was busy: newest frame wins
            self._slot = CapturedFrame(self.captured, t_s, image, t_avail)
            self.frame_wh = (int(image.shape[1]), int(image.shape[0]))
            self.captured += 1
            self.last_capture = t_avail
            self._cond.notify_all()

    def _finish(self, status: str) -> None:
        with self._cond:
            if self.status == "running":
                self.status = status
            self._cond.notify_all()

    def _run(self) -> None:
        paced_file = self.reader.kind == "file" and self.pace == "realtime"
        wall0 = t_first = None
        last_ok = self.clock()
        try:
            while not self._stop.is_set():
                if self.pace == "none":
                    with self._cond:
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait(0.1)
                    if self._stop.is_set():
                        break
                got = self.reader.read()
                now = self.clock()
                if got is None:
                    if self.reader.kind == "file":
                        self._finish("ended")
                        return
                    if now - last_ok > self.lost_after_s:
                        log.warning("camera %s: no frame for %.1f s", self.reader.description, now - last_ok)
                        self._finish("lost")
                        return
                    self._stop.wait(0.01)
                    continue
                last_ok = now
                t_s, image = got
                t_avail = now
                if paced_file:
                    if wall0 is None:
                        wall0, t_first = now, t_s
                    due = wall0 + (t_s - t_first)
                    if due > now and self._stop.wait(due - now):
                        break
                    t_avail = due
                self._publish(t_s, image, t_avail)
        except BaseException as e:  # reported to the processing loop
            self.error = e
            self._finish("error")
            return
        self._finish("ended")

    def latest(self, timeout: float = 0.1) -> CapturedFrame | None:
        """Take the newest frame (waiting up to ``timeout`` s); ``None`` if none arrived."""
        with self._cond:
            if self._slot is None and self.status == "running":
                self._cond.wait(timeout)
            f, self._slot = self._slot, None
            self._cond.notify_all()
            return f

    @property
    def finished(self) -> bool:
        """The capture thread stopped and the last frame was taken."""
        with self._cond:
            return self.status not in ("new", "running") and self._slot is None

    def close(self) -> None:
        """Stop the thread and release the reader (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():  # a camera read blocked in the driver
                log.warning("capture thread did not stop within 5 s")
        try:
            self.reader.close()
        except Exception:  # pragma: no cover - release must not mask the real error
            log.exception("releasing the camera failed")


# --------------------------------------------------------------------------- helpers
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


def latency_stats(latencies_s: list[float]) -> dict:
    """p50/p95/max of capture->overlay latencies, in milliseconds."""
    if not latencies_s:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    a = np.asarray(latencies_s) * 1000.0
    return {"p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "max": round(float(a.max()), 1), "n": int(len(a))}


# --------------------------------------------------------------------------- session
@dataclass
class LiveResult:
    """The outcome of one live session."""

    result: SetResult
    ended: str
    frames_processed: int
    frames_dropped: int
    latencies_s: list[float]
    wall_s: float
    first_t: float | None
    last_t: float | None
    cues: list[Cue] = field(default_factory=list)

    @property
    def processed_fps(self) -> float:
        return self.frames_processed / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict:
        r = self.result
        s = Summary.from_result(r)  # the report's summary, same counts
        return {
            "event": EventKind.SUMMARY.value, "t": round(self.last_t or 0.0, 3), "ended": self.ended,
            "rep_count": s.rep_count, "partial_reps": s.partial_reps, "good_reps": s.good_reps,
            "faults": s.fault_counts, "score": s.score, "profile": r.profile, "facing": r.facing,
            "frames_processed": self.frames_processed, "frames_dropped": self.frames_dropped,
            "processed_fps": round(self.processed_fps, 1), "latency_ms": latency_stats(self.latencies_s),
            "warnings": list(r.warnings),
        }


Emit = Callable[[dict], None]


class LiveSession(Sink):
    """The live front end over a :class:`~formcheck.app.session.Session`: the newest camera
    frame -> pose -> analysis -> cues -> overlay -> window / recording / JSON lines.

    Args:
        config: analysis configuration.
        source: a started-or-not :class:`CameraSource`.
        estimator: object with ``detect(image_bgr, t_s) -> PoseFrame | None`` (not closed here).
        emit: receives each event as a dict (analysis events, cues, calibration).
        window: optional :class:`Window` (keys q/Esc quit, r reset set, c calibrate, space pause).
        recorder: optional :class:`VideoAnnotator` receiving the annotated frames.
        speaker: optional :class:`Speaker` for the cues.
        keep_series: keep the per-frame series (needed for --report frames).
        startup_timeout_s: how long (s) a camera may take to deliver its first frame.
    """

    def __init__(self, config: Config, source: CameraSource, estimator, emit: Emit | None = None,
                 window: Window | None = None, recorder: VideoAnnotator | None = None,
                 speaker: Speaker | None = None, keep_series: bool = True,
                 startup_timeout_s: float = 8.0) -> None:
        self.cfg = config
        self.source = source
        self.emit = emit or (lambda d: None)
        self.window = window
        self.recorder = recorder
        self.speaker = speaker
        self.startup_timeout_s = startup_timeout_s
        self.session = Session(config, estimator, [self], keep_series=keep_series)
        self.analyzer = self.session.analyzer
        self.rationer = CueRationer(config.live.cue_cooldown_s, config.live.cue_display_s)
        self.tracker = OverlayTracker(config, self.rationer)
        self.overlay = FormOverlay(config)
        self.calibrator = NeutralCalibrator()
        self.paused = False
        self.cues: list[Cue] = []
        self.processed = 0
        self.latencies: list[float] = []
        self._dropped_paused = 0
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._ended = ENDED_FILE

    def _handle_key(self, key: int, t: float) -> bool:
        """Apply a key press; return False to quit."""
        if key in (ord("q"), ord("Q"), KEY_ESC):
            return False
        if key in (ord("r"), ord("R")):
            self.analyzer.reset_set()
            self.tracker.reset()
            self.emit({"event": "reset", "t": round(t, 3), "message": "new set"})
        elif key in (ord("c"), ord("C")):
            self.calibrator.start(t)
        elif key == ord(" "):
            self.paused = not self.paused
        return True

    def run(self) -> LiveResult:
        src = self.source
        if src.status == "new":
            src.start()
        t_start = src.clock()
        try:
            self.session.run(self._frames())
        except KeyboardInterrupt:
            self._ended = ENDED_INTERRUPT
        wall = src.clock() - t_start
        video = getattr(src.reader, "video", None)  # a file played as a camera
        if video is not None:
            self.session.note_source(video)
        result = self.session.finish()  # the last rep's events reach on_finish
        return LiveResult(result, self._ended, self.processed,
                          max(0, src.dropped - self._dropped_paused), self.latencies, wall,
                          self._first_t, self._last_t, list(self.cues))

    # ------------------------------------------------------------------ the source side
    def _frames(self) -> Iterator[CapturedFrame]:
        """The newest frames to analyse; waits, detects a lost camera, handles pause and keys."""
        src = self.source
        clock = src.clock
        last_frame_clock = clock()
        while True:
            f = src.latest(timeout=0.05)
            now = clock()
            if f is None:
                if src.status == "error" and src.error is not None:
                    raise src.error
                if src.finished:
                    self._ended = ENDED_FILE if src.status == "ended" and src.kind == "file" else ENDED_LOST
                    return
                if src.kind != "file":
                    waited = now - last_frame_clock
                    limit = src.lost_after_s if self.processed else max(src.lost_after_s, self.startup_timeout_s)
                    if waited > limit:
                        self._ended = ENDED_LOST
                        return
                if self.window is not None and not self._handle_key(self.window.poll(), self._last_t or 0.0):
                    self._ended = ENDED_QUIT
                    return
                continue
            last_frame_clock = now
            if self.paused:
                d0 = src.dropped
                img = self.overlay.annotate(f.image, self._paused_state(f.t_s))
                key = self.window.show(img) if self.window is not None else -1
                if key >= 0 and not self._handle_key(key, f.t_s):
                    self._ended = ENDED_QUIT
                    return
                self._dropped_paused += src.dropped - d0 + 1
                continue
            if self._first_t is None:
                self._first_t = f.t_s
            self._last_t = f.t_s
            yield f

    # ------------------------------------------------------------------ the sink side
    def on_step(self, step: Step) -> None:
        """Events, calibration, cue, overlay, recording and window for one analysed frame."""
        f, pose, events = step.frame, step.pose, step.events
        for ev in events:
            self.emit(ev.to_dict())
        cal = self.calibrator.update(f.t_s, self.analyzer.last_e if pose is not None else None)
        if cal is not None:
            offset = None
            if cal.ok and cal.neutral_e_deg is not None:
                # e already has the previous calibration removed: add it back.
                offset = self.analyzer.neutral_offset + cal.neutral_e_deg
                self.analyzer.set_neutral_offset(offset)
            self.emit(cal.to_dict(applied_offset_deg=offset))
        notes = [self.calibrator.message] if self.calibrator.message else []
        state, cue = self.tracker.update(f.t_s, pose, self.analyzer, events, notes)
        if cue is not None:
            self.cues.append(cue)
            self.emit(cue.to_dict())
            if self.speaker is not None:
                self.speaker.say(cue.text)
        image = self.overlay.annotate(f.image, state)
        self.latencies.append(self.source.clock() - f.t_avail)  # overlay ready
        self.processed += 1
        if self.recorder is not None:
            self.recorder.write(image, f.t_s)
        if self.window is not None:
            key = self.window.show(image)
            if key >= 0 and not self._handle_key(key, f.t_s):
                self._ended = ENDED_QUIT
                self.session.stop()

    def on_finish(self, result: SetResult, final_events) -> None:
        for ev in final_events:  # the last rep, finalised when the set ended
            self.emit(ev.to_dict())

    def _paused_state(self, t_s: float):
        state, _ = self.tracker.update(t_s, None, self.analyzer, [], ["PAUSED - space to resume"])
        return state


# --------------------------------------------------------------------------- CLI
DESCRIPTION = """\
Live feedback while you train: counts reps, shows the trunk angle on a dial, and gives one
coaching cue at a time (on screen, and spoken with --speak).

Placing the camera:
  * side-on to the machine (you are seen in profile, not from the front or at an angle),
  * about 2-3 m away, at roughly hip height, held still (tripod, shelf),
  * your whole body in the frame for the whole rep: head, shoulders, hips, knees and feet.
Start in your set-up position and hold still for a second: formcheck checks the view
("Turn side-on to the camera", "Step back so hips and knees are in view") and decides the
machine profile and which way you face; then every lift back to the top counts one rep.
"""

EPILOG = """\
keys (window): q or Esc quit   r new set   c calibrate neutral (hold still 2 s)   space pause

examples:
  formcheck live                               webcam 0, window with overlay
  formcheck live --camera 1 --speak            second webcam, cues spoken (needs espeak-ng)
  formcheck live --record set.webm --report set.json
  formcheck live --camera clip.mp4 --no-window     replay a clip as if it were a camera
  formcheck live --no-window | jq -c 'select(.event=="cue")'

--no-window prints one JSON object per line on stdout: "view" (set-up guidance), "view_ok",
"armed", "rep_counted", "rep" / "partial" (the rep with its faults), "fault", "cue", and at the
end {"event": "summary", ...} with rep_count, partial_reps, faults by id, score, frames dropped
and capture-to-overlay latency (ms). Exit status: 0 at the end of the set (q, Ctrl-C, end of a
file), 2 when the camera cannot be opened or stops delivering frames (the set so far is still
summarised and --report written).
"""


def add_parser(sub) -> None:
    from formcheck.app.options import common_options

    p = sub.add_parser(
        "live", help="live webcam feedback: rep counter, angle dial and spoken cues",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--camera", default="0", metavar="0|DEVICE|URL|FILE",
                   help="camera index (0 = first webcam, default), device path (/dev/video2), "
                        "stream URL (rtsp://, http://), or a video file played as if it were a camera")
    common_options(p)
    p.add_argument("--record", metavar="OUT", help="save the annotated video (.webm or .mp4)")
    p.add_argument("--report", metavar="OUT.json", help="write the set's JSON report when the session ends")
    p.add_argument("--no-window", action="store_true",
                   help="no window: print events as JSON lines on stdout (for scripts and headless use)")
    p.add_argument("--speak", action="store_true", help="speak the cues (espeak-ng or espeak must be installed)")
    p.add_argument("--pace", choices=PACES, default="realtime",
                   help="for a FILE: realtime (default) plays it at its real rate and drops frames when "
                        "processing falls behind, like a camera; none processes every frame as fast as "
                        "possible (gives exactly `formcheck analyze`'s result; not for real cameras)")
    p.add_argument("--lost-after", type=float, default=2.0, metavar="S",
                   help="end the set when the camera delivers no frame for S seconds (default 2)")
    p.set_defaults(func=run)


def _human(d: dict) -> str | None:
    k = d.get("event")
    if k == "rep_counted":
        return f"rep {d.get('count')}"
    if k in ("rep", "partial"):
        rep = d.get("rep", {})
        faults = ", ".join(f["id"] for f in rep.get("faults", [])) or "good"
        return f"  {'rep' if k == 'rep' else 'partial'} {rep.get('index')}: {faults}"
    if k == "cue":
        return f"  >> {d.get('message')}"
    if k in ("view", "tracking_lost", "calibration", "view_ok", "reset"):
        return f"[{k}] {d.get('message')}"
    return None


def build_live_report(live: LiveResult, source: CameraSource, cfg: Config, pace: str) -> dict:
    """The ``formcheck.report/1`` dict of a live session (clip = the camera or file); the
    ``live`` key holds the session's timing (the only part that differs from ``analyze``)."""
    reader = source.reader
    video = getattr(reader, "video", None)
    if video is not None:
        info = video.info
    else:
        dur = (live.last_t - live.first_t) if live.first_t is not None and live.last_t is not None else 0.0
        fps = reader.fps or (live.frames_processed / dur if dur > 0 else 0.0)
        info = ClipInfo(f"camera:{reader.description}", float(fps), source.captured, float(dur),
                        *source.frame_wh, 0)
    extra = {"live": {k: v for k, v in live.summary().items() if k in (
        "ended", "frames_processed", "frames_dropped", "processed_fps", "latency_ms")} | {"pace": pace}}
    return make_report(live.result, info, cfg, include_frames=True, extra=extra)


def run(args: argparse.Namespace, estimator_factory=None, reader: FrameReader | None = None) -> int:
    """``formcheck live``. ``estimator_factory`` / ``reader`` are test seams."""
    from formcheck.app.options import config_from_args
    from formcheck.render.report import format_summary, write_json

    cfg = config_from_args(args)
    json_mode = bool(args.no_window)
    out = sys.stdout

    def emit(d: dict) -> None:
        if json_mode:
            out.write(json.dumps(d) + "\n")
            out.flush()
        else:
            line = _human(d)
            if line:
                print(line, flush=True)

    window = recorder = speaker = estimator = source = None
    try:
        if reader is None:
            reader = open_reader(args.camera, cfg.pose.max_side_px, cfg.pose.max_fps)
        source = CameraSource(reader, pace=args.pace, lost_after_s=args.lost_after)
        if not json_mode:
            window = Window()
        if args.record:
            fps = reader.fps if reader.fps and reader.fps > 0 else 30.0
            recorder = VideoAnnotator(args.record, cfg, fps=fps, realtime=args.pace == "realtime")
        if args.speak:
            speaker = Speaker()
            if not speaker.available:
                print("formcheck: --speak: no text-to-speech program found (install espeak-ng, e.g. "
                      "`sudo apt install espeak-ng`); continuing without speech.", file=sys.stderr)
                speaker = None
        if estimator_factory is None:
            from formcheck.media.pose import make_estimator

            estimator = make_estimator(cfg.pose)
        else:
            estimator = estimator_factory(cfg)
        session = LiveSession(cfg, source, estimator, emit=emit, window=window, recorder=recorder,
                              speaker=speaker, keep_series=True)
        live = session.run()
    finally:
        # Release camera, model, recording, speech and window on every exit path.
        close_error: FormcheckError | None = None
        for obj in (source, estimator, recorder, speaker, window):
            if obj is not None:
                try:
                    obj.close()
                except FormcheckError as e:
                    close_error = close_error or e
                except Exception:
                    log.exception("cleanup of %s failed", type(obj).__name__)
        if close_error is not None and sys.exc_info()[0] is None:
            raise close_error

    if live.frames_processed == 0 and live.ended == ENDED_LOST:
        raise SourceError(f"Camera {reader.description} opened but delivered no frames. "
                          + camera_help(reader.description).split(": ", 1)[1])
    summary = live.summary()
    lat = summary["latency_ms"]
    lat_line = (f"latency capture->overlay p50 {lat['p50']} ms, p95 {lat['p95']} ms; "
                f"{live.frames_processed} frames processed ({summary['processed_fps']} fps), "
                f"{live.frames_dropped} dropped")
    report = None
    if args.report or not json_mode:
        report = build_live_report(live, source, cfg, args.pace)
    if args.report:
        write_json(report, args.report)
    if json_mode:
        emit(summary)
        print(lat_line, file=sys.stderr)
    else:
        print()
        print(format_summary(report))
        print(lat_line)
        if args.record:
            print(f"wrote: {args.record}")
    if args.report and not json_mode:
        print(f"wrote: {args.report}")
    if live.ended == ENDED_LOST:
        print(f"formcheck: camera {reader.description} stopped delivering frames; the set so far is "
              "summarised above. Check the cable/connection, or pick another with --camera.",
              file=sys.stderr)
        return SourceError.exit_code
    return 0
