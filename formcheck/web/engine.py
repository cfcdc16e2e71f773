"""The one adapter between the web app and formcheck's analysis.

Every call into the analysis (pose model, analysis session, cue rationing, clip pipeline,
annotated video, report, results store) made by ``formcheck serve`` goes through this module.
Like every other front end, it drives the project's one
:class:`~formcheck.app.session.Session` (the only frame loop and report builder).

Two entry points:

* :func:`analyze_upload` — one uploaded clip, the same call ``formcheck analyze --annotate``
  makes (:func:`formcheck.app.pipeline.analyze_clip`, a ``Session`` over the file, with a
  :class:`VideoAnnotator` as ``on_frame``), then one :class:`ClipRecord` in the store, as
  ``formcheck batch`` writes it.
* :class:`LiveEngine` — one browser camera session: JPEG in, per-frame state out, as
  ``formcheck live`` computes it (:meth:`Session.step` per frame, then :class:`CueRationer`
  via :class:`OverlayTracker`); :meth:`LiveEngine.finish` closes the set, builds its report
  with :meth:`Session.report` and scores it into the same store.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.config import Config, load_config
from formcheck.errors import AnalysisError, FormcheckError

log = logging.getLogger(__name__)

#: Progress callback: fraction done in [0, 1].
ProgressFn = Callable[[float], None]


def load_serve_config(path: str | os.PathLike | None = None, profile: str | None = None) -> Config:
    """The analysis configuration of the server (a TOML file over the defaults, optional profile)."""
    over: dict[str, dict] = {}
    if profile:
        over["kinematics"] = {"profile": profile}
    return load_config(path, over)


def make_estimator(cfg: Config, workers: int | None = None):
    """A loaded pose model (one per worker or live session), from the one factory
    :func:`formcheck.media.pose.make_estimator` (``workers`` overrides ``pose.workers``). Close
    it when done."""
    from formcheck.media import pose

    return pose.make_estimator(cfg.pose, workers)


def today() -> str:
    """The session date stored with a set: local date, ISO ``YYYY-MM-DD``."""
    return datetime.now().astimezone().date().isoformat()


def file_hash(path: str | os.PathLike) -> str:
    from formcheck.app.store import file_sha256

    return file_sha256(path)


def upload_key(content_sha: str, athlete: str | None, name: str) -> str:
    """The store key (``content_hash`` column) of an upload: its bytes' sha256 *and* who and
    what it was uploaded as.

    The store keeps one row per key (re-scoring replaces it, which is what makes ``formcheck
    batch`` resumable). Keyed on the bytes alone, the same clip uploaded for two athletes, or
    under two names, would be one row moved to the last upload's athlete. With this key a
    re-upload of the same clip by the same athlete under the same name re-scores its row, and
    anything else is its own set. ``upload:`` keeps these keys apart from a batch's plain file
    hashes and a live set's ``live:`` keys."""
    who = hashlib.sha256(f"{athlete or ''}\0{name}".encode()).hexdigest()[:16]
    return f"upload:{content_sha}:{who}"


def open_store(db: str | os.PathLike):
    """The results store (same file and schema as ``formcheck batch`` / ``history``)."""
    from formcheck.app.store import ResultStore

    return ResultStore(db)


# --------------------------------------------------------------------------------- uploads
@dataclass(frozen=True)
class UploadResult:
    """The outcome of analysing one upload.

    Attributes:
        clip_id: the row id in the results store.
        rep_count: counted reps.
        fault_ids: sorted ids of the faults found (each once).
        seconds: analysis wall time (s).
        video: the annotated video file, or None when it could not be written.
    """

    clip_id: int
    rep_count: int
    fault_ids: tuple[str, ...]
    seconds: float
    video: str | None


def analyze_upload(path: str | os.PathLike, cfg: Config, db: str | os.PathLike, *,
                   display_name: str, video_out: str | os.PathLike | None = None,
                   athlete: str | None = None, date: str | None = None,
                   estimator=None, progress: ProgressFn | None = None) -> UploadResult:
    """Analyse an uploaded clip as ``formcheck analyze CLIP --annotate OUT`` does, and record it.

    ``display_name`` replaces the stored path in the report (the client's file name, shown
    escaped; never used as a path). Raises :class:`FormcheckError` with a message for the user
    when the file cannot be read or shows nobody (an ``error`` row is recorded too, as
    ``formcheck batch`` does).
    """
    from formcheck.app.pipeline import analyze_clip, no_person_message
    from formcheck.app.store import ClipRecord

    t0 = time.perf_counter()
    content_hash = upload_key(file_hash(path), athlete, display_name)
    size = os.path.getsize(path)
    annot = None
    if video_out is not None:
        from formcheck.render.video import VideoAnnotator

        try:
            annot = VideoAnnotator(video_out, cfg)
        except FormcheckError as e:  # no video, but still the report
            log.warning("annotated video disabled: %s", e)
            annot = None

    def tick(frame, info) -> None:
        if progress is not None and info.n_frames:
            progress(min(1.0, (frame.index + 1) / info.n_frames))

    if estimator is not None:
        estimator.new_stream()
    err: str | None = None
    res = None
    try:
        try:
            res = analyze_clip(path, cfg, estimator=estimator,
                               on_frame=annot.on_frame if annot is not None else None,
                               progress=tick, require_person=False)
        finally:
            if annot is not None:
                annot.close()
        if res.result.frames_with_pose == 0:
            err = no_person_message(display_name)
    except FormcheckError as e:
        err = str(e).replace(os.fspath(path), display_name)
    seconds = time.perf_counter() - t0
    with open_store(db) as store:
        if err is not None:
            store.record(ClipRecord(display_name, content_hash, cfg.digest(), "error", size=size,
                                    error=err, timings=seconds, athlete=athlete,
                                    date=date or today()))
            raise AnalysisError(err)
        report = res.report
        report["clip"]["path"] = display_name
        clip_id = store.record(ClipRecord(
            display_name, content_hash, cfg.digest(), "ok", size=size, report=report,
            timings=seconds, athlete=athlete, date=date or today()))
    video = str(video_out) if annot is not None and Path(video_out).exists() else None
    return UploadResult(clip_id, report["summary"]["rep_count"], report_fault_ids(report),
                        seconds, video)


def report_fault_ids(report: dict[str, Any]) -> tuple[str, ...]:
    """Sorted ids of the faults a report found (each once)."""
    return tuple(sorted(k for k, v in (report.get("summary", {}).get("faults") or {}).items() if v))


# --------------------------------------------------------------------------------- store pages
def report_html(db: str | os.PathLike, clip_id: int, video_url: str | None) -> str | None:
    """The stored clip's report page (the ``formcheck analyze --html`` renderer), or None."""
    from formcheck.render.html_report import render_html_report

    with open_store(db) as store:
        report = store.report(clip_id)
    if report is None:
        return None
    return render_html_report(report, video_url=video_url,
                              video_type="video/webm" if video_url else None)


def stored_report(db: str | os.PathLike, clip_id: int) -> dict[str, Any] | None:
    """The stored report (``formcheck.report/2`` dict) of a clip, or None."""
    with open_store(db) as store:
        return store.report(clip_id)


def reps_csv(report: dict[str, Any]) -> str:
    """One CSV row per rep, as ``formcheck analyze --csv`` writes it."""
    from formcheck.render.report import reps_csv as csv_text

    return csv_text(report)


def stored_clips(db: str | os.PathLike) -> list[dict[str, Any]]:
    """Every clip of the store as a plain dict (id, path, status, athlete, date, rep_count,
    partial_reps, score, error, faults {id: n}, content_hash, updated_at)."""
    import json

    out = []
    with open_store(db) as store:
        for row in store.clips():
            faults: dict[str, int] = {}
            if row["status"] == "ok" and row["report_json"]:
                faults = {k: v for k, v in json.loads(row["report_json"])["summary"]["faults"].items() if v}
            out.append({k: row[k] for k in ("id", "path", "status", "athlete", "date", "rep_count",
                                            "partial_reps", "score", "error", "content_hash",
                                            "updated_at")} | {"faults": faults})
    return out


def history_html(db: str | os.PathLike, athlete: str | None) -> tuple[str, int]:
    """The history page of ``athlete`` (None: everyone) and its number of sessions."""
    from formcheck.app.history import history_rows
    from formcheck.render.html_report import render_history_html

    with open_store(db) as store:
        rows = history_rows(store, athlete)
    page_rows = [dict(r, rep_count=r["reps"],
                      path=f"{r['clips']} clip{'s' if r['clips'] != 1 else ''}"
                           + (f" ({r['athlete']})" if r["athlete"] and not athlete else ""))
                 for r in rows]
    return render_history_html(page_rows, athlete=athlete), len(rows)


def batch_html(rows: list[dict[str, Any]], title: str) -> str:
    """The store browser page (the ``formcheck batch --html`` index renderer)."""
    from formcheck.render.html_report import render_index_html

    return render_index_html(rows, title=title)


def athletes(db: str | os.PathLike) -> list[str]:
    names = {r["athlete"] for r in stored_clips(db) if r["athlete"]}
    return sorted(names)


# --------------------------------------------------------------------------------- live
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a JPEG from its frame header (SOF marker), without decoding it;
    PNG from its IHDR; None when neither is found (the decoder then decides)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in _SOF:
            if i + 9 > n:
                return None
            h = int.from_bytes(data[i + 5:i + 7], "big")
            w = int.from_bytes(data[i + 7:i + 9], "big")
            return w, h
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        i += 2 + length
    return None


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """A BGR image from JPEG/PNG/WebP bytes, or None when they do not decode. Check
    :func:`jpeg_size` first: this decodes at full size."""
    import cv2

    if not data:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img if img is not None and img.size else None


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class LiveFrame:
    """One decoded browser camera frame, as a :class:`~formcheck.app.session.Session` takes it.

    Attributes:
        index: frames of this session before it.
        t_s: capture time (s) since the session's first frame, strictly increasing.
        image: the BGR image (H x W x 3, uint8).
    """

    index: int
    t_s: float
    image: np.ndarray


class LiveEngine:
    """One live browser session: a :class:`~formcheck.app.session.Session` (pose model +
    streaming analysis), fed one frame at a time, and rationed cues over it.

    Args:
        cfg: analysis configuration.
        estimator: a pose estimator (``detect(image_bgr, t_s)``), kept open; ``None`` lets the
            session load the configured model and close it in :meth:`close`.
    """

    def __init__(self, cfg: Config, estimator=None) -> None:
        from formcheck.app.session import Session
        from formcheck.core.cues import CueRationer
        from formcheck.render.annotate import ExtensionGaugeAnnotator, OverlayTracker

        self.cfg = cfg
        own = estimator is None
        if own:  # frames arrive one at a time: one model (a pool would idle)
            estimator = make_estimator(cfg, workers=1)
        self.session = Session(cfg, estimator, keep_series=True, owns_estimator=own)
        self.analyzer = self.session.analyzer
        self.rationer = CueRationer(cfg.live.cue_cooldown_s, cfg.live.cue_display_s)
        self.tracker = OverlayTracker(cfg, self.rationer)
        self._gauge = ExtensionGaugeAnnotator(cfg.reps, cfg.faults)
        self.armed = False
        self.frames = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.frame_wh = (0, 0)
        self.cues: list[str] = []
        self._profile_sent: object = ()

    @property
    def estimator(self):
        """The session's pose estimator (None after :meth:`close`)."""
        return self.session.estimator

    def zones(self) -> list[dict[str, Any]]:
        """The dial's arcs for the current profile: ``[{from, to, color}]`` (deg, CSS rgb)."""
        out = []
        for lo, hi, bgr in self._gauge.zones(self.analyzer.profile):
            b, g, r = bgr
            out.append({"from": lo, "to": hi, "color": f"rgb({r},{g},{b})"})
        return out

    def process(self, image: np.ndarray, t_s: float) -> dict[str, Any]:
        """Analyse one frame taken at ``t_s`` (s, increasing); return the page's state."""
        if self.last_t is not None and t_s <= self.last_t:
            t_s = self.last_t + 1e-3
        if self.first_t is None:
            self.first_t = t_s
        self.last_t = t_s
        h, w = image.shape[:2]
        self.frame_wh = (w, h)
        step = self.session.step(LiveFrame(self.frames, t_s, image))
        self.frames += 1
        pose, events = step.pose, step.events
        state, issued = self.tracker.update(t_s, pose, self.analyzer, events)
        kinds = [ev.kind for ev in events]
        if "armed" in kinds:
            self.armed = True
        if issued is not None:
            self.cues.append(issued.text)
        out: dict[str, Any] = {
            "type": "frame",
            "t": round(t_s, 3),
            "landmarks": None if pose is None else [
                [round(float(x) / w, 4), round(float(y) / h, 4), round(float(v), 2)]
                for (x, y), v in zip(pose.xy, pose.visibility)],
            "e": _r(state.last_e),
            "reps": state.rep_count,
            "phase": state.phase,
            "armed": self.armed,
            "profile": state.profile,
            "facing": state.facing,
            "cue": state.cue.text if state.cue is not None else None,
            "cue_kind": state.cue.kind if state.cue is not None else None,
            "say": issued.text if issued is not None else None,
            "guidance": state.guidance,
            "last_rep": state.last_rep,
            "last_rep_ok": state.last_rep_ok,
            "events": kinds,
        }
        if self._profile_sent != state.profile:
            self._profile_sent = state.profile
            out["zones"] = self.zones()
        return out

    def reset(self) -> None:
        """Start a new set (keep the view decision), as ``formcheck live``'s r key does."""
        self.analyzer.reset_set()
        self.tracker.reset()
        self.armed = False

    def finish(self, db: str | os.PathLike | None, session_id: str, athlete: str | None = None
               ) -> tuple[dict[str, Any], int | None]:
        """End the set: its report, and its clip id in the store (None when nobody was seen
        or ``db`` is None). Idempotent: a second call returns the same report."""
        from formcheck.app.store import ClipRecord
        from formcheck.core.types import ClipInfo

        result = self.session.finish()
        dur = (self.last_t - self.first_t) if self.first_t is not None and self.last_t is not None else 0.0
        fps = self.frames / dur if dur > 0 else 0.0
        name = f"live {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M')}"
        info = ClipInfo(name, float(fps), self.frames, float(dur), *self.frame_wh, 0)
        report = self.session.report(info, include_frames=True,
                                     extra={"live": {"source": "browser", "session": session_id}})
        clip_id = None
        if db is not None and result.frames_with_pose > 0:
            content_hash = "live:" + hashlib.sha256(session_id.encode()).hexdigest()
            with open_store(db) as store:
                clip_id = store.record(ClipRecord(
                    name, content_hash, self.cfg.digest(), "ok", report=report,
                    timings=dur, athlete=athlete, date=today()))
        return report, clip_id

    def close(self) -> None:
        """Release the pose model if the session loaded it (idempotent)."""
        self.session.close()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
