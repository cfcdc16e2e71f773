"""Overlays drawn on video frames (edge module: OpenCV drawing).

Drawing follows the supervision pattern: each annotator is a small object whose
``annotate(frame_bgr, state) -> frame_bgr`` draws one thing; :class:`FormOverlay` composes them.
What to draw comes in an :class:`OverlayState`, gathered from the :class:`~formcheck.core.analysis.
Analyzer` by :class:`OverlayTracker` (which also rations cues with
:class:`~formcheck.core.cues.CueRationer`). Nothing here changes the analysis.

The annotated video (these overlays written to a file) is :class:`formcheck.render.video.
VideoAnnotator`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from formcheck.config import Config, FaultConfig, RepConfig
from formcheck.core.cues import Cue, CueRationer
from formcheck.core.faults import hyperextension_limit
from formcheck.core.ids import fault_name
from formcheck.core.landmarks import SKELETON
from formcheck.core.types import PoseFrame

log = logging.getLogger(__name__)

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


def describe_rep(rep: dict, number: int | None = None) -> tuple[str, bool]:
    """A one-line summary of a rep dict (``Rep.to_dict()``) and whether it was clean.

    ``number``: the rep's place among the *counted* reps (what the rep counter shows; a rep's
    ``index`` also counts the partial ones). A partial rep is called "partial rep", unnumbered.
    Faults are named readably (:func:`~formcheck.core.ids.fault_name`)."""
    faults = [fault_name(f["id"]) for f in rep.get("faults", [])]
    if rep.get("counted"):
        kind = f"rep {number if number is not None else rep.get('index')}"
    else:
        kind = "partial rep"
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
        self._counted = 0  # counted reps finalised: the number the rep counter shows

    def reset(self) -> None:
        self.guidance = None
        self.last_rep = None
        self.last_rep_ok = True
        self._counted = 0

    def update(self, t_s: float, pose: PoseFrame | None, analyzer, events: Sequence,
               notes: Iterable[str] = ()) -> tuple[OverlayState, Cue | None]:
        """Digest one frame's events; return the overlay state and the cue issued now, if any."""
        for ev in events:
            if ev.kind in ("view", "tracking_lost"):
                self.guidance = ev.message
            elif ev.kind in ("view_ok", "armed", "rep_counted"):
                self.guidance = None
            elif ev.kind in ("rep", "partial"):
                rep = ev.data.get("rep", {})
                if rep.get("counted"):
                    self._counted += 1
                self.last_rep, self.last_rep_ok = describe_rep(rep, self._counted)
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


OUTLINE_PX = 1  # width (px) of the dark outline around overlay text


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color=WHITE,
          thickness: int = 1, outline: bool = True) -> int:
    """Draw ASCII text with a dark outline; return its width in pixels.

    The outline is the fill's own stroke (same font thickness, so the same glyph advances)
    dilated by :data:`OUTLINE_PX`: drawing it with a thicker stroke would widen every glyph's
    advance in OpenCV 5 and the letters would show twice ("PAST NEUTRALL").
    """
    text = ascii_text(text)
    org = (int(org[0]), int(org[1]))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    if outline:
        pad = thickness + OUTLINE_PX + 2
        x0, y0 = org[0] - pad, org[1] - th - pad
        x1, y1 = org[0] + tw + pad, org[1] + base + pad
        H, W = img.shape[:2]
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if cx1 > cx0 and cy1 > cy0:
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.putText(mask, text, (org[0] - x0, org[1] - y0), FONT, scale, 255, thickness,
                        cv2.LINE_AA)
            k = 2 * OUTLINE_PX + 1
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
            m = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            roi = img[cy0:cy1, cx0:cx1]
            keep = (255 - m.astype(np.uint16))[..., None]
            roi[:] = ((roi.astype(np.uint16) * keep + 127) // 255).astype(np.uint8)  # black, AA
    cv2.putText(img, text, org, FONT, scale, color, thickness, cv2.LINE_AA)
    return tw


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
    hyperextension (past the profile's limit, :func:`~formcheck.core.faults.hyperextension_limit`)
    red, and beyond the profile's depth limit orange.
    """

    def __init__(self, reps: RepConfig, faults: FaultConfig) -> None:
        self.top = reps.top_deg
        self.bottom = reps.bottom_deg
        self.faults = faults
        self.depth_limit = {"seated": faults.seated_max_flexion_deg,
                            "prone": faults.prone_max_flexion_deg}

    def max_ext(self, profile: str | None) -> float:
        """The profile's hyperextension limit (deg), as the fault rule judges it."""
        return hyperextension_limit(self.faults, profile)

    def e_max(self, profile: str | None) -> float:
        return max(40.0, self.max_ext(profile) + 20.0)

    def e_min(self, profile: str | None) -> float:
        limit = self.depth_limit.get(profile or "", 0.0)
        return -min(170.0, max(100.0, self.bottom + 20.0, limit + 15.0))

    def zones(self, profile: str | None) -> list[tuple[float, float, tuple[int, int, int]]]:
        """(e_from, e_to, colour) arcs, deg."""
        lo = self.e_min(profile)
        z = [(lo, -self.bottom, BLUE), (-self.bottom, -self.top, GREY),
             (-self.top, self.max_ext(profile), GREEN), (self.max_ext(profile), self.e_max(profile), RED)]
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

    def zone_name(self, e: float, profile: str | None = None) -> str:
        if e > self.max_ext(profile):
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
        max_ext = self.max_ext(state.profile)
        for e, lab in ((0.0, "0"), (-self.top, None), (-self.bottom, None), (max_ext, None)):
            a = math.radians(self.screen_angle(e, state.facing))
            p0 = (cx + (r - th) * math.cos(a), cy + (r - th) * math.sin(a))
            p1 = (cx + (r + th) * math.cos(a), cy + (r + th) * math.sin(a))
            cv2.line(frame, _pt(p0), _pt(p1), WHITE, max(1, round(2 * s)) if lab else 1, cv2.LINE_AA)
        nw = cv2.getTextSize("neutral", FONT, 0.4 * s, 1)[0][0]
        _text(frame, "neutral", (cx - nw // 2, cy - r - th - int(4 * s)), 0.4 * s, WHITE)
        e = state.last_e
        if e is not None and math.isfinite(e):
            ec = float(np.clip(e, self.e_min(state.profile), self.e_max(state.profile)))
            a = math.radians(self.screen_angle(ec, state.facing))
            tip = (cx + (r - 2 * th) * math.cos(a), cy + (r - 2 * th) * math.sin(a))
            col = RED if e > max_ext else (GREEN if e >= -self.top else (BLUE if e <= -self.bottom else WHITE))
            cv2.line(frame, (cx, cy), _pt(tip), col, max(2, round(3 * s)), cv2.LINE_AA)
            cv2.circle(frame, (cx, cy), max(3, round(5 * s)), col, -1, cv2.LINE_AA)
            label = f"e {e:+.0f} deg"
            zn = self.zone_name(e, state.profile)
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


def status_line(state: OverlayState) -> str:
    """The counter's first line: "Setting up" until the set starts, then "READY" and the rep
    phase, with the machine profile once decided."""
    status = (f"READY - {state.phase}" if state.phase != "unarmed"
              else "Setting up - hold still in position")
    return f"{status}   {state.profile or ''}".rstrip()


class CounterAnnotator:
    """Rep count, phase, profile, the last rep's verdict, guidance and status notes (top-left)."""

    def annotate(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        s = _scale(frame)
        pad = int(round(10 * s))
        lines: list[tuple[str, float, tuple[int, int, int]]] = [
            (status_line(state), 0.5, GREEN if state.phase != "unarmed" else WHITE),
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
