"""The ``formcheck serve`` web application (FastAPI / Starlette).

Pages: ``/`` check a set (upload or record), ``/jobs/{id}`` progress, ``/clips/{id}`` report,
``/live`` browser camera, ``/history`` and ``/batch`` (the results store). JSON: ``POST
/api/upload``, ``GET /api/jobs/{id}``, ``GET /api/health``; WebSocket ``/ws/live``.

Every analysis call goes through :mod:`formcheck.web.engine`; uploads are analysed by the
:class:`~formcheck.web.jobs.WorkerPool`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from fastapi.templating import Jinja2Templates
from python_multipart.multipart import MultipartParser, parse_options_header

from formcheck import __version__
from formcheck.web import engine
from formcheck.web.jobs import JobStore, Paths, WorkerPool
from formcheck.web.safety import ACCEPTED, TokenGate, clean_athlete, display_name, sniff_video

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
LIVE_MAX_SIDE_PX = 480
#: A live session that receives no frame for this long (s) is ended (and its set recorded).
LIVE_IDLE_S = 60.0
#: Frame message: 4-byte sequence number (uint32 LE), 8-byte capture time (float64 LE, ms), JPEG.
FRAME_HEADER = struct.Struct("<Id")


@dataclass(frozen=True)
class Settings:
    """How the server runs.

    Attributes:
        paths: its folders and databases.
        cfg: the analysis configuration.
        token: access token required on every request (None: open, for loopback binds).
        max_upload_bytes: largest accepted upload (bytes).
        workers: uploads analysed at once (one pose model each).
        max_live: concurrent live sessions (default: the number of CPU cores).
        https: served over TLS (cookies get ``Secure``).
        worker_mode: ``"process"`` or ``"thread"`` (tests).
        max_queued: uploads waiting for an analyser before new ones are refused (503).
        live_idle_s: a live session without frames for this long (s) is ended.
        allowed_hosts: ``Host`` header values accepted (None: any). A loopback server without a
            token accepts only its own names, so a web page cannot reach it by DNS rebinding.
    """

    paths: Paths
    cfg: Any
    token: str | None = None
    max_upload_bytes: int = 500 * MB
    workers: int = 1
    max_live: int = field(default_factory=lambda: os.cpu_count() or 1)
    https: bool = False
    worker_mode: str = "process"
    allowed_hosts: tuple[str, ...] | None = None
    max_queued: int = 50
    live_idle_s: float = LIVE_IDLE_S


class UploadError(Exception):
    """A rejected upload: ``status`` is the HTTP status, the message is for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _MultipartSink:
    """Streams a multipart body: the ``clip`` part to a file under a generated name (counting
    bytes against the limit), small text fields to memory."""

    FIELD_MAX = 1000

    def __init__(self, tmp_path: Path, limit: int) -> None:
        self.tmp_path = tmp_path
        self.limit = limit
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self.too_big = False
        self.head = b""
        self._fh = None
        self._hname = b""
        self._hvalue = b""
        self._headers: dict[bytes, bytes] = {}
        self._part: str | None = None
        self._is_file = False
        self._buf = bytearray()

    def callbacks(self) -> dict[str, Callable]:
        return {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
            "on_header_field": self._hfield, "on_header_value": self._hval,
            "on_header_end": self._hend, "on_headers_finished": self._hdone,
        }

    def _begin(self) -> None:
        self._headers = {}
        self._part = None
        self._is_file = False
        self._buf = bytearray()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _hval(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _hend(self) -> None:
        self._headers[self._hname.lower()] = self._hvalue
        self._hname = self._hvalue = b""

    def _hdone(self) -> None:
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts and self._part == "clip" and self._fh is None:
            self._is_file = True
            self.filename = opts[b"filename"].decode("utf-8", "replace")
            self._fh = open(self.tmp_path, "wb")  # noqa: SIM115 (closed in close())

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.file_bytes += len(chunk)
            if len(self.head) < 64:
                self.head += chunk[: 64 - len(self.head)]
            if self.file_bytes > self.limit:
                self.too_big = True
                if self._fh is not None and not self._fh.closed:
                    self._fh.close()
                return
            if self._fh is not None and not self._fh.closed:
                self._fh.write(chunk)
        elif len(self._buf) < self.FIELD_MAX:
            self._buf += chunk[: self.FIELD_MAX - len(self._buf)]

    def _end(self) -> None:
        if self._is_file:
            if self._fh is not None and not self._fh.closed:
                self._fh.close()
        elif self._part:
            self.fields[self._part] = self._buf.decode("utf-8", "replace")

    def close(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._fh.close()


class LiveSlots:
    """At most ``n`` live sessions at once (each runs a pose model)."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self.active = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.n:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)


def _wants_json(request: Request) -> bool:
    return ("application/json" in request.headers.get("accept", "")
            or request.headers.get("x-requested-with", "").lower() == "xmlhttprequest")


def create_app(settings: Settings, pool: WorkerPool | None = None,
               live_factory: Callable[[], Any] | None = None) -> FastAPI:
    """The ASGI app. ``pool`` replaces the worker pool (tests: a thread pool with a fake task);
    ``live_factory()`` replaces :class:`~formcheck.web.engine.LiveEngine` construction."""
    paths = settings.paths
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    jobs = JobStore(paths.jobs)
    slots = LiveSlots(settings.max_live)
    make_live = live_factory or (lambda: engine.LiveEngine(settings.cfg))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        p = pool or WorkerPool(paths, settings.cfg, settings.workers, settings.worker_mode)
        p.start()
        app.state.pool = p
        try:
            yield
        finally:
            await asyncio.to_thread(p.close)

    app = FastAPI(title="formcheck", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.slots = slots
    app.state.jobs = jobs
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    limit_mb = settings.max_upload_bytes / MB
    limit_txt = f"{limit_mb:g} MB"

    def page(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        ctx.setdefault("active", "")
        return templates.TemplateResponse(request, name, {"version": __version__, **ctx},
                                          status_code=status)

    def message(request: Request, status: int, title: str, text: str,
                back: str = "/", back_label: str = "Try another clip") -> Response:
        if _wants_json(request):
            return JSONResponse({"error": text, "title": title}, status_code=status)
        return page(request, "message.html", status, title=title, text=text, back=back,
                    back_label=back_label)

    def wrap(html: str, active: str) -> HTMLResponse:
        """A page from the report renderers, with the app's navigation bar."""
        nav = templates.get_template("_nav.html").render(active=active)
        return HTMLResponse(html.replace("<main>", nav + "<main>", 1))

    # ------------------------------------------------------------------ pages
    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request):
        recent = await asyncio.to_thread(lambda: engine.stored_clips(paths.db)[-5:][::-1])
        return page(request, "index.html", active="check", limit_bytes=settings.max_upload_bytes,
                    limit_txt=limit_txt, accepted=ACCEPTED, recent=recent,
                    athletes=await asyncio.to_thread(engine.athletes, paths.db))

    @app.get("/api/health")
    async def health():
        return {"ok": True, "version": __version__, "jobs": jobs.counts(),
                "live_sessions": slots.active, "live_limit": slots.n,
                "workers_alive": app.state.pool.alive() if hasattr(app.state, "pool") else 0}

    @app.post("/api/upload")
    async def upload(request: Request):
        try:
            jid = await _receive_upload(request)
        except UploadError as e:
            titles = {400: "Nothing to analyse", 413: "File too big", 415: "Not a video",
                      503: "Server busy"}
            return message(request, e.status, titles.get(e.status, "Upload refused"), str(e))
        url = f"/jobs/{jid}"
        if _wants_json(request):
            return JSONResponse({"job": jid, "page": url, "status": f"/api/jobs/{jid}"}, status_code=202)
        return RedirectResponse(url, status_code=303)

    async def _receive_upload(request: Request) -> str:
        limit = settings.max_upload_bytes
        queued = jobs.counts()["queued"]
        if queued >= settings.max_queued:
            raise UploadError(503, f"The server already has {queued} clips waiting to be analysed. "
                                   "Try again in a few minutes.")
        ctype, opts = parse_options_header(request.headers.get("content-type", ""))
        if ctype != b"multipart/form-data" or b"boundary" not in opts:
            raise UploadError(400, "Send the clip as a form upload (multipart/form-data, field "
                                   "'clip'), as the page's form does.")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + MB:
            raise UploadError(413, f"The file is too big: this server accepts clips up to "
                                   f"{limit_txt} (set with --max-upload-mb). Trim the clip to the set, "
                                   "or film at a lower resolution.")
        tmp = paths.tmp / f"{uuid.uuid4().hex}.part"
        sink = _MultipartSink(tmp, limit)
        parser = MultipartParser(opts[b"boundary"], sink.callbacks())
        received = 0
        try:
            try:
                async for chunk in request.stream():
                    received += len(chunk)
                    if sink.too_big and received > 2 * limit + MB:
                        break  # stop reading a runaway body
                    if not sink.too_big or len(chunk) < 4 * MB:
                        parser.write(chunk)
                parser.finalize()
            except Exception as e:  # malformed multipart, client gone
                if not sink.too_big:
                    raise UploadError(400, "The upload was cut off or malformed; please try again.") from e
            finally:
                sink.close()
            if sink.too_big:
                raise UploadError(413, f"The file is too big: this server accepts clips up to "
                                       f"{limit_txt} (set with --max-upload-mb). Trim the clip to the "
                                       "set, or film at a lower resolution.")
            if sink.filename is None:
                raise UploadError(400, "No clip was attached. Choose a video file (or record one) "
                                       "and press Analyse.")
            name = display_name(sink.filename, "clip")
            if sink.file_bytes == 0:
                raise UploadError(400, f"“{name}” is empty (0 bytes). Was the recording or the "
                                       "copy interrupted? Choose the clip again.")
            suffix, kind = sniff_video(sink.head)
            if suffix is None:
                raise UploadError(415, f"“{name}” is {kind}, not a video. Upload a clip of the set: "
                                       f"{ACCEPTED}.")
            stored = f"{uuid.uuid4().hex}{suffix}"  # never a client path
            os.replace(tmp, paths.uploads / stored)
        finally:
            if tmp.exists():
                tmp.unlink()
        athlete = clean_athlete(sink.fields.get("athlete"))
        return await asyncio.to_thread(jobs.add, name, stored, athlete)

    @app.get("/api/jobs/{jid}")
    async def job_status(jid: str):
        job = jobs.get(jid) if jid.isalnum() else None
        if job is None:
            return JSONResponse({"error": "No such job."}, status_code=404)
        out = {k: job[k] for k in ("id", "name", "state", "progress", "error", "clip_id", "seconds")}
        out["ahead"] = jobs.position(jid)
        if job["state"] == "done":
            out["report"] = f"/clips/{job['clip_id']}"
        return out

    @app.get("/jobs/{jid}", response_class=HTMLResponse)
    async def job_page(request: Request, jid: str):
        job = jobs.get(jid) if jid.isalnum() else None
        if job is None:
            return message(request, 404, "No such upload",
                           "This upload is not known here (the link may be from another server).")
        if job["state"] == "done" and request.query_params.get("stay") is None:
            return RedirectResponse(f"/clips/{job['clip_id']}", status_code=303)
        return page(request, "job.html", active="check", job=job)

    @app.get("/clips/{clip_id}", response_class=HTMLResponse)
    async def clip_page(request: Request, clip_id: int):
        video = jobs.video_for_clip(clip_id)
        url = f"/clips/{clip_id}/video" if video and (paths.videos / video).exists() else None
        html = await asyncio.to_thread(engine.report_html, paths.db, clip_id, url)
        if html is None:
            return message(request, 404, "No such report",
                           "There is no scored clip with this number in the results store.",
                           back="/batch", back_label="All clips")
        return wrap(html, "batch")

    @app.get("/clips/{clip_id}/video")
    async def clip_video(clip_id: int):
        video = jobs.video_for_clip(clip_id)
        if not video:
            return Response("No annotated video for this clip.", status_code=404)
        path = (paths.videos / Path(video).name)
        if not path.is_file():
            return Response("The annotated video is missing.", status_code=404)
        return FileResponse(path, media_type="video/webm")

    @app.get("/live", response_class=HTMLResponse)
    async def live_page(request: Request):
        return page(request, "live.html", active="live", max_side=LIVE_MAX_SIDE_PX,
                    athletes=await asyncio.to_thread(engine.athletes, paths.db))

    @app.get("/history", response_class=HTMLResponse)
    async def history(request: Request, athlete: str | None = None):
        athlete = clean_athlete(athlete)
        html, n = await asyncio.to_thread(engine.history_html, paths.db, athlete)
        names = await asyncio.to_thread(engine.athletes, paths.db)
        picker = templates.get_template("_athlete_picker.html").render(athletes=names, athlete=athlete)
        return wrap(html.replace("</header>", "</header>" + picker, 1), "history")

    SORTS = {"date": lambda r: (r["date"] or "", r["updated_at"] or 0),
             "name": lambda r: (r["path"] or "").lower(),
             "reps": lambda r: r["rep_count"] if r["rep_count"] is not None else -1,
             "score": lambda r: r["score"] if r["score"] is not None else -1.0,
             "athlete": lambda r: (r["athlete"] or "").lower()}

    @app.get("/batch", response_class=HTMLResponse)
    async def batch(request: Request, sort: str = "date", order: str = "desc"):
        rows = await asyncio.to_thread(engine.stored_clips, paths.db)
        key = SORTS.get(sort, SORTS["date"])
        rows.sort(key=key, reverse=order != "asc")
        page_rows = [dict(r, report_html=f"/clips/{r['id']}" if r["status"] == "ok" else None,
                          path=r["path"] + (f" · {r['athlete']}" if r["athlete"] else ""))
                     for r in rows]
        html = await asyncio.to_thread(engine.batch_html, page_rows, "Results store")
        sorter = templates.get_template("_batch_sort.html").render(
            sort=sort if sort in SORTS else "date", order="asc" if order == "asc" else "desc",
            sorts=list(SORTS), db=str(paths.db))
        return wrap(html.replace("</header>", "</header>" + sorter, 1), "batch")

    # ------------------------------------------------------------------ live
    @app.websocket("/ws/live")
    async def live_ws(ws: WebSocket):
        origin = ws.headers.get("origin")
        if origin and urlsplit(origin).netloc != ws.headers.get("host"):
            await ws.close(code=1008, reason="cross-origin connection refused")
            return
        await ws.accept()
        if not slots.acquire():
            await ws.send_json({"type": "busy", "message": (
                f"The server is busy: {slots.n} live session{'s' if slots.n != 1 else ''} already "
                "running (one per CPU core). Try again when one ends, or record the set with your "
                "camera and upload it on Check a set.")})
            await ws.close(code=1013)
            return
        athlete = clean_athlete(ws.query_params.get("athlete"))
        session_id = uuid.uuid4().hex
        eng = None
        try:
            try:
                eng = await asyncio.to_thread(make_live)
            except Exception as e:
                log.exception("live session could not start")
                await ws.send_json({"type": "error", "message": f"The pose model could not be loaded: {e}"})
                await ws.close(code=1011)
                return
            await ws.send_json({"type": "hello", "session": session_id, "max_side": LIVE_MAX_SIDE_PX,
                                "zones": eng.zones()})
            await _live_loop(ws, eng, session_id, athlete)
        finally:
            try:
                if eng is not None:
                    await asyncio.to_thread(eng.close)
            finally:
                slots.release()  # even when the task is cancelled while closing

    async def _live_loop(ws: WebSocket, eng, session_id: str, athlete: str | None) -> None:
        latest: list[bytes | None] = [None]
        wake = asyncio.Event()
        state = {"open": True, "stop": False, "dropped": 0, "t0": None, "frames": 0}

        async def receiver() -> None:
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        break
                    if msg.get("bytes") is not None:
                        if latest[0] is not None:
                            state["dropped"] += 1  # stale: the newest frame wins
                        latest[0] = msg["bytes"]
                        wake.set()
                    elif msg.get("text"):
                        try:
                            cmd = json.loads(msg["text"]).get("cmd")
                        except (ValueError, AttributeError):
                            continue
                        if cmd == "stop":
                            state["stop"] = True
                            wake.set()
                        if cmd == "reset":
                            latest[0] = b"reset"
                            wake.set()
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                state["open"] = False
                wake.set()

        recv = asyncio.create_task(receiver())
        try:
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=settings.live_idle_s)
                except asyncio.TimeoutError:
                    if state["open"]:
                        await ws.send_json({"type": "error", "message": (
                            f"No camera frames for {settings.live_idle_s:g} s, so the set was ended "
                            "and saved. Press Start camera to begin a new one.")})
                    state["stop"] = True
                    break
                wake.clear()
                data, latest[0] = latest[0], None
                if data == b"reset":
                    await asyncio.to_thread(eng.reset)
                    await ws.send_json({"type": "reset"})
                    continue
                if data is not None and len(data) > FRAME_HEADER.size:
                    seq, t_ms = FRAME_HEADER.unpack_from(data)
                    if state["t0"] is None:
                        state["t0"] = t_ms
                    t_s = (t_ms - state["t0"]) / 1000.0
                    out = await asyncio.to_thread(_live_frame, eng, data[FRAME_HEADER.size:], t_s)
                    out["seq"] = seq
                    out["dropped"] = state["dropped"]
                    state["frames"] += 1
                    if state["open"]:
                        await ws.send_json(out)
                if state["stop"] or not state["open"]:
                    break
        finally:
            recv.cancel()
            report, clip_id = await asyncio.to_thread(eng.finish, paths.db, session_id, athlete)
            if state["open"] or state["stop"]:
                try:
                    await ws.send_json({
                        "type": "summary", "clip_id": clip_id,
                        "report": f"/clips/{clip_id}" if clip_id is not None else None,
                        "reps": report["summary"]["rep_count"],
                        "faults": engine.report_fault_ids(report),
                        "frames": state["frames"], "dropped": state["dropped"]})
                    await ws.close()
                except Exception:
                    pass

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    if settings.token:
        app.add_middleware(TokenGate, token=settings.token, secure_cookie=settings.https)
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    return app


def _live_frame(eng, jpeg: bytes, t_s: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    image = engine.decode_jpeg(jpeg)
    if image is None:
        return {"type": "frame_error", "message": "A camera frame could not be decoded; skipping it."}
    out = eng.process(image, t_s)
    out["server_ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
    return out
