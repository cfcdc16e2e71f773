"""The JSON API of ``formcheck serve``: ``POST /api/upload`` (the clip streamed to disk, checked
and queued for the :class:`~formcheck.web.jobs.WorkerPool`), ``GET /api/jobs/{id}`` and
``GET /api/health``."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from python_multipart.multipart import MultipartParser, parse_options_header

from formcheck import __version__
from formcheck.web.jobs import JobStore
from formcheck.web.live_socket import LiveSlots
from formcheck.web.pages import Views, wants_json
from formcheck.web.safety import ACCEPTED, clean_athlete, display_name, sniff_video
from formcheck.web.settings import MB, Settings


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


def add_api_routes(app: FastAPI, settings: Settings, jobs: JobStore, slots: LiveSlots,
                   views: Views) -> None:
    """Register the JSON endpoints on ``app`` (the worker pool is ``app.state.pool``)."""
    paths = settings.paths
    limit_txt = f"{settings.max_upload_bytes / MB:g} MB"

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
            return views.message(request, e.status, titles.get(e.status, "Upload refused"), str(e))
        url = f"/jobs/{jid}"
        if wants_json(request):
            return JSONResponse({"job": jid, "page": url, "status": f"/api/jobs/{jid}"}, status_code=202)
        return RedirectResponse(url, status_code=303)

    receiving = [0]  # uploads being received: queue places reserved before their body is read

    async def _receive_upload(request: Request) -> str:
        # Check and reserve in one step (no await between): concurrent uploads cannot all see
        # a free place in the queue before any of them is added to it.
        queued = jobs.counts()["queued"] + receiving[0]
        if queued >= settings.max_queued:
            raise UploadError(503, f"The server already has {queued} clips waiting to be analysed. "
                                   "Try again in a few minutes.")
        receiving[0] += 1
        try:
            return await _receive_reserved(request)
        finally:
            receiving[0] -= 1  # added to the queue (counted there now) or refused

    async def _receive_reserved(request: Request) -> str:
        limit = settings.max_upload_bytes
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
