"""Overlays drawn on video frames, and the annotated-video writer (edge module: OpenCV).

Drawing follows the supervision pattern: each annotator is a small object whose
``annotate(frame_bgr, state) -> frame_bgr`` draws one thing; :class:`FormOverlay` composes them.
What to draw comes in an :class:`OverlayState`, gathered from the :class:`~formcheck.core.analysis.
Analyzer` by :class:`OverlayTracker` (which also rations cues with
:class:`~formcheck.core.cues.CueRationer`). Nothing here changes the analysis.

:class:`VideoAnnotator` is the ``on_frame`` hook used by ``formcheck analyze --annotate OUT`` and
by ``formcheck live --record OUT``: it draws the overlay on every analysed frame and writes the
video at the source's real timing (frames carry container/camera times; a frame that arrives
late, e.g. after live frame dropping, is held so the video keeps real time).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from formcheck.config import Config, FaultConfig, RepConfig
from formcheck.core.cues import Cue, CueRationer
from formcheck.core.landmarks import SKELETON
from formcheck.errors import VideoWriteError  # noqa: F401  (re-exported)
from formcheck.media.native import quiet_native_stderr
from formcheck.core.types import PoseFrame

log = logging.getLogger(__name__)

# fourcc candidates per container, in order of preference. VP9 is what the issue asks for;
# note it encodes at ~120-180 ms per 640x480 frame with this OpenCV build (writer options
# cannot be passed), VP8 at ~15 ms, so real-time recording prefers VP8.
# WebM: VP8 by default (every browser plays it, like VP9, and OpenCV's VP9 encoder is ~10x
# slower: minutes for a 15 s clip on 2 cores); `[video] webm_codec = "vp9"` asks for VP9.
WEBM_FOURCCS = {"vp8": ("VP80", "VP90"), "vp9": ("VP90", "VP80")}
FOURCCS: dict[str, tuple[str, ...]] = {".webm": WEBM_FOURCCS["vp8"], ".mp4": ("avc1", "mp4v")}

# Colours (BGR).
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREEN = (80, 200, 80)
GREY = (150, 150, 150)
BLUE = (220, 150, 50)
RED = (60, 60, 235)
ORANGE = (0, 140, 255)
YELLOW = (0, 215, 255)
CYAN = (230, 210, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX

_ASCII = {"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "°": " deg", "…": "..."}




def ascii_text(s: str) -> str:
    """``s`` with the typography OpenCV's Hershey fonts cannot draw replaced by ASCII."""
    for k, v in _ASCII.items():
        s = s.replace(k, v)
    return s.encode("ascii", "replace").decode("ascii")


# --------------------------------------------------------------------------- state
@dataclass
class OverlayState:
    """Everything the overlay shows for one frame.

    Attributes:
        t_s: frame time (s, source clock).
        rep_count: counted reps so far.
        phase: rep state machine phase ("unarmed", "top", "lowering", "bottom").
        last_e: smoothed extension angle e (deg, 0 neutral, negative flexion), or None.
        profile: "seated" / "prone" once decided, else None.
        facing: "left" / "right" once decided, else None (the gauge's needle turns that way).
        pose: the frame's pose (pixels), or None when nobody was found.
        trunk: (shoulder, hip, knee) pixel points of the side-view body, or None.
        cue: the cue on screen (text, kind, time), or None.
        guidance: the current set-up message (until the view is OK), or None.
        last_rep: one line about the last finalised rep, or None.
        notes: extra status lines (paused, calibration, latency...).
    """

    t_s: float = 0.0
    rep_count: int = 0
    phase: str = "unarmed"
    last_e: float | None = None
    profile: str | None = None
    facing: str | None = None
    pose: PoseFrame | None = None
    trunk: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    cue: Cue | None = None
    guidance: str | None = None
    last_rep: str | None = None
    last_rep_ok: bool = True
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_analyzer(cls, analyzer, t_s: float, pose: PoseFrame | None, **kw) -> OverlayState:
        """Read the live state of an :class:`~formcheck.core.analysis.Analyzer`."""
        view = getattr(analyzer, "view", None)
        body = getattr(analyzer, "last_body", None)
        trunk = None
        if body is not None and pose is not None:
            trunk = (body.shoulder, body.hip, body.knee)
        return cls(
            t_s=t_s, rep_count=analyzer.rep_count, phase=analyzer.phase,
            last_e=analyzer.last_e if pose is not None else None,
            profile=analyzer.profile, facing=view.facing if view is not None else None,
            pose=pose, trunk=trunk, **kw,
        )


def describe_rep(rep: dict) -> tuple[str, bool]:
    """A one-line summary of a rep dict (``Rep.to_dict()``) and whether it was clean."""
    faults = [f["id"] for f in rep.get("faults", [])]
    kind = f"rep {rep.get('index')}" if rep.get("counted") else f"partial {rep.get('index')}"
    if faults:
        return f"{kind}: {', '.join(faults)}", False
    return f"{kind}: good ({rep.get('score', 100):.0f})", True


class OverlayTracker:
    """Keeps what the overlay needs across frames: the rationed cue, guidance, last rep.

    Args:
        config: the analysis :class:`Config` (``live.cue_cooldown_s``, ``live.cue_display_s``).
        rationer: share a :class:`CueRationer` with the caller (live speaks the same cues).
    """

    def __init__(self, config: Config, rationer: CueRationer | None = None) -> None:
        self.rationer = rationer or CueRationer(config.live.cue_cooldown_s, config.live.cue_display_s)
        self.guidance: str | None = None
        self.last_rep: str | None = None
        self.last_rep_ok = True

    def reset(self) -> None:
        self.guidance = None
        self.last_rep = None
        self.last_rep_ok = True

    def update(self, t_s: float, pose: PoseFrame | None, analyzer, events: Sequence,
               notes: Iterable[str] = ()) -> tuple[OverlayState, Cue | None]:
        """Digest one frame's events; return the overlay state and the cue issued now, if any."""
        for ev in events:
            if ev.kind in ("view", "tracking_lost"):
                self.guidance = ev.message
            elif ev.kind in ("view_ok", "armed", "rep_counted"):
                self.guidance = None
            elif ev.kind in ("rep", "partial"):
                self.last_rep, self.last_rep_ok = describe_rep(ev.data.get("rep", {}))
        issued = self.rationer.offer(events, t_s)
        state = OverlayState.from_analyzer(
            analyzer, t_s, pose, cue=self.rationer.current(t_s), guidance=self.guidance,
            last_rep=self.last_rep, last_rep_ok=self.last_rep_ok, notes=list(notes),
        )
        return state, issued


# --------------------------------------------------------------------------- drawing helpers
def _scale(img: np.ndarray) -> float:
    return max(0.5, min(img.shape[:2]) / 480.0)


def _box(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color=BLACK, alpha: float = 0.55) -> None:
    """Fill a semi-transparent rectangle (clipped to the image) in place."""
    h, w = img.shape[:2]
    x0, x1 = max(0, int(x0)), min(w, int(x1))
    y0, y1 = max(0, int(y0)), min(h, int(y1))
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    overlay = np.empty_like(roi)
    overlay[:] = color
    cv2.addWeighted(overlay, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color=WHITE,
          thickness: int = 1, outline: bool = True) -> int:
    """Draw ASCII text with a dark outline; return its width in pixels."""
    text = ascii_text(text)
    org = (int(org[0]), int(org[1]))
    if outline:
        cv2.putText(img, text, org, FONT, scale, BLACK, thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, color, thickness, cv2.LINE_AA)
    return cv2.getTextSize(text, FONT, scale, thickness)[0][0]


def _wrap(text: str, max_w: int, scale: float, thickness: int) -> list[str]:
    words, lines, cur = ascii_text(text).split(), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if cur and cv2.getTextSize(trial, FONT, scale, thickness)[0][0] > max_w:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


# --------------------------------------------------------------------------- annotators
class SkeletonAnnotator:
    """The detected landmarks (formcheck.core.landmarks.SKELETON) and the trunk/thigh lines measured.

    Args:
        min_visibility: landmarks below this MediaPipe visibility (0-1) are not drawn.
    """

    def __init__(self, min_visibility: float = 0.5, color=WHITE, trunk_color=CYAN) -> None:
        self.min_visibility = min_visibility
        self.color = color
        self.trunk_color = trunk_color

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        pose = state.pose
        if pose is None:
            return frame
        s = _scale(frame)
        th = max(1, round(2 * s))
        vis = pose.visibility >= self.min_visibility
        for a, b in SKELETON:
            if vis[a] and vis[b]:
                cv2.line(frame, _pt(pose.xy[a]), _pt(pose.xy[b]), self.color, th, cv2.LINE_AA)
        for i in np.flatnonzero(vis):
            cv2.circle(frame, _pt(pose.xy[i]), max(2, round(3 * s)), self.color, -1, cv2.LINE_AA)
        if state.trunk is not None:
            sh, hip, knee = (_pt(p) for p in state.trunk)
            cv2.line(frame, sh, hip, self.trunk_color, th + 2, cv2.LINE_AA)
            cv2.line(frame, hip, knee, self.trunk_color, th + 1, cv2.LINE_AA)
            cv2.circle(frame, hip, max(4, round(6 * s)), self.trunk_color, -1, cv2.LINE_AA)
        return frame


class ExtensionGaugeAnnotator:
    """A dial of the extension angle e: neutral (0) points up; the needle turns toward the
    side the athlete faces as they flex forward.

    Arc colours: BOTTOM zone (e <= -bottom_deg) blue, dead band grey, TOP zone green,
    hyperextension (e > max_extension_deg) red, and beyond the profile's depth limit orange.
    """

    def __init__(self, reps: RepConfig, faults: FaultConfig) -> None:
        self.top = reps.top_deg
        self.bottom = reps.bottom_deg
        self.max_ext = faults.max_extension_deg
        self.depth_limit = {"seated": faults.seated_max_flexion_deg,
                            "prone": faults.prone_max_flexion_deg}
        self.e_max = max(40.0, self.max_ext + 20.0)

    def e_min(self, profile: str | None) -> float:
        limit = self.depth_limit.get(profile or "", 0.0)
        return -min(170.0, max(100.0, self.bottom + 20.0, limit + 15.0))

    def zones(self, profile: str | None) -> list[tuple[float, float, tuple[int, int, int]]]:
        """(e_from, e_to, colour) arcs, deg."""
        lo = self.e_min(profile)
        z = [(lo, -self.bottom, BLUE), (-self.bottom, -self.top, GREY),
             (-self.top, self.max_ext, GREEN), (self.max_ext, self.e_max, RED)]
        limit = self.depth_limit.get(profile or "")
        if limit is not None and -limit > lo:
            z.insert(0, (lo, -limit, ORANGE))
            z[1] = (-limit, -self.bottom, BLUE)
        return z

    @staticmethod
    def screen_angle(e: float, facing: str | None) -> float:
        """cv2 ellipse angle (deg, clockwise from +x) of the needle for e (deg)."""
        side = -1.0 if facing == "left" else 1.0
        return -90.0 - side * e

    def zone_name(self, e: float) -> str:
        if e > self.max_ext:
            return "PAST NEUTRAL"
        if e >= -self.top:
            return "TOP"
        if e <= -self.bottom:
            return "BOTTOM"
        return ""

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        h, w = frame.shape[:2]
        s = _scale(frame)
        r = int(round(58 * s))
        pad = int(round(10 * s))
        th = max(3, round(7 * s))
        cx, cy = w - r - 2 * pad, pad + r + th + int(20 * s)
        _box(frame, cx - r - 2 * pad, pad, cx + r + 2 * pad, cy + int(0.2 * r) + int(44 * s))
        for e0, e1, col in self.zones(state.profile):
            a0, a1 = self.screen_angle(e0, state.facing), self.screen_angle(e1, state.facing)
            cv2.ellipse(frame, (cx, cy), (r, r), 0, min(a0, a1), max(a0, a1), col, th, cv2.LINE_AA)
        # Ticks: neutral, zone limits.
        for e, lab in ((0.0, "0"), (-self.top, None), (-self.bottom, None), (self.max_ext, None)):
            a = math.radians(self.screen_angle(e, state.facing))
            p0 = (cx + (r - th) * math.cos(a), cy + (r - th) * math.sin(a))
            p1 = (cx + (r + th) * math.cos(a), cy + (r + th) * math.sin(a))
            cv2.line(frame, _pt(p0), _pt(p1), WHITE, max(1, round(2 * s)) if lab else 1, cv2.LINE_AA)
        nw = cv2.getTextSize("neutral", FONT, 0.4 * s, 1)[0][0]
        _text(frame, "neutral", (cx - nw // 2, cy - r - th - int(4 * s)), 0.4 * s, WHITE)
        e = state.last_e
        if e is not None and math.isfinite(e):
            ec = float(np.clip(e, self.e_min(state.profile), self.e_max))
            a = math.radians(self.screen_angle(ec, state.facing))
            tip = (cx + (r - 2 * th) * math.cos(a), cy + (r - 2 * th) * math.sin(a))
            col = RED if e > self.max_ext else (GREEN if e >= -self.top else (BLUE if e <= -self.bottom else WHITE))
            cv2.line(frame, (cx, cy), _pt(tip), col, max(2, round(3 * s)), cv2.LINE_AA)
            cv2.circle(frame, (cx, cy), max(3, round(5 * s)), col, -1, cv2.LINE_AA)
            label = f"e {e:+.0f} deg"
            zn = self.zone_name(e)
        else:
            cv2.circle(frame, (cx, cy), max(3, round(5 * s)), GREY, -1, cv2.LINE_AA)
            label, zn, col = "e --", "", GREY
        tw = cv2.getTextSize(label, FONT, 0.6 * s, max(1, round(1.5 * s)))[0][0]
        _text(frame, label, (cx - tw // 2, cy + int(0.2 * r) + int(18 * s)), 0.6 * s, WHITE,
              max(1, round(1.5 * s)))
        if zn:
            zw = cv2.getTextSize(zn, FONT, 0.45 * s, 1)[0][0]
            _text(frame, zn, (cx - zw // 2, cy + int(0.2 * r) + int(36 * s)), 0.45 * s, col)
        return frame


class CounterAnnotator:
    """Rep count, phase, profile, the last rep's verdict, guidance and status notes (top-left)."""

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        s = _scale(frame)
        pad = int(round(10 * s))
        lines: list[tuple[str, float, tuple[int, int, int]]] = [
            (f"{state.phase}   {state.profile or 'profile ?'}", 0.5, WHITE),
        ]
        if state.last_rep:
            lines.append((state.last_rep, 0.5, GREEN if state.last_rep_ok else ORANGE))
        if state.guidance:
            lines.append((state.guidance, 0.5, YELLOW))
        lines += [(n, 0.45, CYAN) for n in state.notes]
        big = 1.3 * s
        big_th = max(2, round(3 * s))
        widths = [cv2.getTextSize(ascii_text(t), FONT, sc * s, 1)[0][0] for t, sc, _ in lines]
        head = f"REPS {state.rep_count}"
        hw, hh = cv2.getTextSize(head, FONT, big, big_th)[0]
        max_w = int(frame.shape[1] * 0.62)
        box_w = min(max_w, max([hw, *widths]) + 2 * pad)
        line_h = int(22 * s)
        y = pad + hh + pad
        _box(frame, pad, pad, pad + box_w, y + line_h * len(lines) + pad // 2)
        _text(frame, head, (2 * pad, y - pad // 2), big, WHITE, big_th)
        for text, sc, col in lines:
            y += line_h
            # Crop long lines to the box rather than drawing past it.
            t = ascii_text(text)
            while len(t) > 4 and cv2.getTextSize(t, FONT, sc * s, 1)[0][0] > box_w - 2 * pad:
                t = t[:-4] + "..."
            _text(frame, t, (2 * pad, y - int(6 * s)), sc * s, col)
        return frame


class BannerAnnotator:
    """The current cue across the bottom of the frame: orange for faults, yellow for set-up."""

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        cue = state.cue
        if cue is None:
            return frame
        h, w = frame.shape[:2]
        s = _scale(frame)
        sc, th = 0.75 * s, max(1, round(2 * s))
        pad = int(round(12 * s))
        lines = _wrap(cue.text, w - 4 * pad, sc, th)[:3]
        lh = cv2.getTextSize("Ag", FONT, sc, th)[0][1] + int(12 * s)
        y0 = h - pad - lh * len(lines) - pad
        color = ORANGE if cue.kind == "fault" else YELLOW
        _box(frame, pad, y0, w - pad, h - pad, color, alpha=0.8)
        text_col = WHITE if cue.kind == "fault" else BLACK
        y = y0 + pad // 2
        for line in lines:
            y += lh
            tw = cv2.getTextSize(line, FONT, sc, th)[0][0]
            _text(frame, line, ((w - tw) // 2, y - int(6 * s)), sc, text_col, th, outline=False)
        return frame


class FormOverlay:
    """All annotators in drawing order: skeleton, gauge, counter, banner.

    ``annotate`` draws on a copy and returns it; the input frame is not modified.
    """

    def __init__(self, config: Config) -> None:
        self.annotators = [
            SkeletonAnnotator(config.kinematics.min_visibility),
            ExtensionGaugeAnnotator(config.reps, config.faults),
            CounterAnnotator(),
            BannerAnnotator(),
        ]

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        out = frame.copy()
        for a in self.annotators:
            out = a.annotate(out, state)
        return out


# --------------------------------------------------------------------------- video writing
def _fourcc_candidates(path: Path, realtime: bool, webm_codec: str = "vp8") -> tuple[str, ...]:
    table = dict(FOURCCS)
    table[".webm"] = WEBM_FOURCCS["vp8" if realtime else webm_codec]
    suffix = path.suffix.lower()
    if suffix not in table:
        raise VideoWriteError(
            f"Cannot write {path}: expected a .webm or .mp4 file name, got '{suffix or 'no suffix'}'. "
            "Use .webm (plays in browsers and in the HTML report) or .mp4."
        )
    return table[suffix]


def _try_open(path: Path, fourcc: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter | None:
    with quiet_native_stderr():
        wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), size)
    if wr.isOpened():
        return wr
    wr.release()
    return None


_PROBED: dict[tuple[str, tuple[str, ...]], str] = {}


def pick_fourcc(path: Path, candidates: Sequence[str]) -> str:
    """The first fourcc of ``candidates`` that this OpenCV build can write into ``path``'s
    container (probed once per process on a tiny temporary file in the same folder)."""
    key = (path.suffix.lower(), tuple(candidates))
    if key in _PROBED:
        return _PROBED[key]
    folder = path.parent if str(path.parent) else Path(".")
    for fcc in candidates:
        fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=folder, prefix=".formcheck-probe-")
        os.close(fd)
        try:
            wr = _try_open(Path(tmp), fcc, 30.0, (64, 64))
            if wr is not None:
                wr.write(np.zeros((64, 64, 3), np.uint8))
                wr.release()
                _PROBED[key] = fcc
                return fcc
        finally:
            try:
                os.remove(tmp)
            except OSError:
                pass
    raise VideoWriteError(
        f"This OpenCV build cannot write {path.suffix} video (tried codecs {', '.join(candidates)}). "
        "Try the other format (.webm or .mp4)."
    )


class _WriterThread:
    """Encodes frames in a background thread, keeping real timing by repeating frames.

    Items are (image, t_s). The video is written at ``fps``; the frame shown at output time
    ``k / fps`` is the newest input frame whose time is <= that (so late/dropped frames are
    filled by holding the previous image, and the video keeps the source's clock).
    """

    def __init__(self, path: Path, fourcc: str, fps: float, size: tuple[int, int], maxsize: int) -> None:
        self.path, self.fourcc, self.fps, self.size = path, fourcc, fps, size
        self.written = 0
        self.error: BaseException | None = None
        wr = _try_open(path, fourcc, fps, size)
        if wr is None:
            raise VideoWriteError(
                f"OpenCV could not open {path} for writing with codec {fourcc} at {size[0]}x{size[1]}, "
                f"{fps:.2f} fps. Check the folder is writable, or try the other format (.webm / .mp4)."
            )
        self._writer = wr
        self._q: queue.Queue = queue.Queue(maxsize=maxsize)
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

    def _loop(self) -> None:
        last = None
        try:
            while True:
                item = self._q.get()
                if item is None:
                    break
                image, t = item
                if image.shape[1::-1] != self.size:
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
                if self._t0 is None:
                    self._t0 = t
                # Output frames due up to and including this input's time.
                target = int(math.floor((t - self._t0) * self.fps + 0.5)) + 1
                if last is not None:
                    while self.written < target - 1:  # hold the previous image over a gap
                        self._writer.write(last)
                        self.written += 1
                if self.written < target:
                    self._writer.write(image)
                    self.written += 1
                last = image
        except BaseException as e:  # surfaced to the caller on the next put()/close()
            self.error = e
            log.exception("video writer failed")
            while True:  # drain so producers never block forever
                try:
                    if self._q.get_nowait() is None:
                        break
                except queue.Empty:
                    break

    def close(self) -> None:
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()
        self._writer.release()
        if self.error is not None:
            raise VideoWriteError(f"Writing {self.path} failed: {self.error}") from self.error


class VideoAnnotator:
    """Draw the overlay on each analysed frame and write the annotated video.

    Args:
        out_path: ``.webm`` (VP9, VP8 as fallback) or ``.mp4`` (H.264 'avc1' when this OpenCV
            build can write it, else MPEG-4 'mp4v').
        config: the analysis configuration (zone limits for the gauge, cue timings).
        fps: output frame rate; ``None`` estimates it from the first frames' source times.
        realtime: live recording: prefer fast codecs (VP8 for .webm) and drop frames from the
            recording rather than slowing the caller when the encoder falls behind.
        overlay, tracker: share the live loop's overlay objects (optional).

    Use as ``on_frame(frame, pose, analyzer, events)`` hook (see
    :func:`formcheck.app.pipeline.analyze_clip`), or call :meth:`write` with ready-drawn images;
    always :meth:`close` (or use as a context manager).
    """

    FPS_PROBE_FRAMES = 15

    def __init__(self, out_path: str | os.PathLike, config: Config, fps: float | None = None,
                 realtime: bool = False, overlay: FormOverlay | None = None,
                 tracker: OverlayTracker | None = None) -> None:
        self.path = Path(out_path)
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps: expected a positive frame rate, got {fps}")
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise VideoWriteError(f"Cannot write {self.path}: the folder {folder} does not exist.")
        if self.path.is_dir():
            raise VideoWriteError(f"Cannot write {self.path}: it is a folder; give a file name ending .webm or .mp4.")
        self.fourcc = pick_fourcc(
            self.path, _fourcc_candidates(self.path, realtime, config.video.webm_codec))
        self.fps = fps
        self.realtime = realtime
        self.overlay = overlay or FormOverlay(config)
        self.tracker = tracker or OverlayTracker(config)
        self._pending: list[tuple[np.ndarray, float]] = []
        self._writer: _WriterThread | None = None
        self.dropped = 0
        self.closed = False
        log.info("annotated video %s: codec %s", self.path, self.fourcc)

    def __enter__(self) -> VideoAnnotator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def frames_written(self) -> int:
        return self._writer.written if self._writer is not None else 0

    def on_frame(self, frame, pose, analyzer, events) -> None:
        """Hook for :func:`~formcheck.app.pipeline.analyze_frames`: draw and write one frame."""
        state, _ = self.tracker.update(frame.t_s, pose, analyzer, events)
        self.write(self.overlay.annotate(frame.image, state), frame.t_s)

    def write(self, image: np.ndarray, t_s: float) -> None:
        """Queue an already annotated BGR image taken at source time ``t_s`` (s)."""
        if self.closed:
            raise VideoWriteError(f"{self.path}: write() after close()")
        if self._writer is None:
            self._pending.append((image, t_s))
            if self.fps is None and len(self._pending) < self.FPS_PROBE_FRAMES:
                return
            self._open()
            return
        if not self._writer.put(image, t_s, block=not self.realtime):
            self.dropped += 1

    def _estimate_fps(self) -> float:
        ts = np.array([t for _, t in self._pending])
        dt = np.diff(ts)
        dt = dt[dt > 0]
        if len(dt) == 0:
            return 30.0
        return float(np.clip(1.0 / np.median(dt), 1.0, 240.0))

    def _open(self) -> None:
        fps = self.fps or self._estimate_fps()
        self.fps = fps
        h, w = self._pending[0][0].shape[:2]
        self._writer = _WriterThread(self.path, self.fourcc, fps, (w, h),
                                     maxsize=8 if self.realtime else 32)
        pending, self._pending = self._pending, []
        for image, t in pending:
            self._writer.put(image, t)

    def close(self) -> None:
        """Flush and finalise the file (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self._writer is None and self._pending:
            self._open()
        if self._writer is None:
            log.warning("%s: no frames were analysed, so no annotated video was written", self.path)
            return
        self._writer.close()
        if self.dropped:
            log.warning("%s: %d frames were left out of the recording (encoder too slow)",
                        self.path, self.dropped)
