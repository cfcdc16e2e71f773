"""``formcheck live``: rep counting, fault cues and an overlay from a webcam, while you train.

The session glue and the command. Per processed frame::

    CameraSource (app/camera.py: newest frame wins) -> Session (pose -> Analyzer)
      -> LiveSession as sink: CueRationer -> FormOverlay -> Window / recording / JSON lines

The analysis is the same :class:`~formcheck.app.session.Session` that ``formcheck analyze``
drives, so the same frames give the same report (``--pace none`` on a file: byte for byte).
Latency is measured per processed frame from the moment the frame was captured (camera) or
became due (file played in real time) to the moment its overlay was ready.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from formcheck.app.camera import (PACES, CameraSource, CapturedFrame, DeviceReader, FileReader,  # noqa: F401
                                  FrameReader, camera_help, open_reader)
from formcheck.app.live_ui import Speaker, Window
from formcheck.app.session import Session, Sink, Step, make_report
from formcheck.config import Config
from formcheck.core.analysis import SetResult
from formcheck.core.cues import Cue, CueRationer
from formcheck.core.events import EventKind
from formcheck.core.schema import Summary
from formcheck.core.types import ClipInfo
from formcheck.errors import FormcheckError, SourceError
from formcheck.render.annotate import FormOverlay, OverlayTracker
from formcheck.render.video import VideoAnnotator

log = logging.getLogger(__name__)

KEY_ESC = 27

ENDED_FILE = "end_of_file"
ENDED_LOST = "camera_lost"
ENDED_QUIT = "user_quit"
ENDED_INTERRUPT = "interrupted"


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
            self.analyzer.start_calibration(t)
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
        cal = self.analyzer.calibrator
        note = cal.notice(f.t_s)
        notes = [note] if note else []
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
        if final_events:  # its cue too: said at once, whatever is on screen (the set is over)
            cue = self.rationer.final(final_events, max(ev.t for ev in final_events))
            if cue is not None:
                self.cues.append(cue)
                self.emit(cue.to_dict())
                if self.speaker is not None:
                    self.speaker.say(cue.text)

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
keys (window):
  q or Esc  quit              r      new set
  c         calibrate neutral (hold still 2 s)
  space     pause / resume

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
    from formcheck.app.options import HelpFormatter, common_options

    p = sub.add_parser(
        "live", help="live webcam feedback: rep counter, angle dial and spoken cues",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter,
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
    if k == "armed":
        return f"Ready: the set starts at the {d.get('start', 'top')}"
    if k == "cue":
        return f"  >> {d.get('message')}"
    if k in ("view", "tracking_lost", "calibration", "view_ok", "reset"):
        return f"[{k}] {d.get('message')}"
    return None


def build_live_report(live: LiveResult, source: CameraSource, cfg: Config, pace: str) -> dict:
    """The ``formcheck.report/2`` dict of a live session (clip = the camera or file); the
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

            estimator = make_estimator(cfg.pose, workers=1)  # newest frame only: one at a time
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
