"""The HTML pages of ``formcheck serve``: check a set (``/``), upload progress (``/jobs/{id}``),
a clip's report (``/clips/{id}`` and its annotated video), the live camera page (``/live``),
``/history`` and ``/batch`` (the results store); and :class:`Views`, the page renderer the
other routes share for their error pages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from formcheck import __version__
from formcheck.web import engine
from formcheck.web.jobs import JobStore
from formcheck.web.live_socket import LIVE_MAX_SIDE_PX
from formcheck.web.safety import ACCEPTED, clean_athlete
from formcheck.web.settings import MB, Settings

HERE = Path(__file__).resolve().parent

#: Sort keys of the ``/batch`` table (``?sort=``).
#: Largest id SQLite stores (INTEGER): anything else in a URL is an unknown clip, not a crash.
MAX_ID = 2**63 - 1

#: The app's icon (inline SVG), for pages and ``/favicon.ico``.
FAVICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
               '<rect width="32" height="32" rx="6" fill="#14202b"/>'
               '<path d="M7 22 L16 12 L25 16" stroke="#4fc3f7" stroke-width="3.5" fill="none" '
               'stroke-linecap="round" stroke-linejoin="round"/>'
               '<circle cx="16" cy="12" r="3" fill="#fff"/></svg>')
FAVICON_LINK = ('<link rel="icon" href="data:image/svg+xml,'
                + FAVICON_SVG.replace('"', "'").replace("#", "%23").replace("<", "%3C")
                .replace(">", "%3E") + '">')

SORTS = {"date": lambda r: (r["date"] or "", r["updated_at"] or 0),
         "name": lambda r: (r["path"] or "").lower(),
         "reps": lambda r: r["rep_count"] if r["rep_count"] is not None else -1,
         "score": lambda r: r["score"] if r["score"] is not None else -1.0,
         "athlete": lambda r: (r["athlete"] or "").lower()}


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (``Accept`` or an XHR) rather than a page."""
    return ("application/json" in request.headers.get("accept", "")
            or request.headers.get("x-requested-with", "").lower() == "xmlhttprequest")


class Views:
    """Renders the app's templates (autoescaped) and its error messages."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html

    def page(self, request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        ctx.setdefault("active", "")
        ctx.setdefault("favicon", FAVICON_LINK)
        return self.templates.TemplateResponse(request, name, {"version": __version__, **ctx},
                                               status_code=status)

    def message(self, request: Request, status: int, title: str, text: str,
                back: str = "/", back_label: str = "Try another clip") -> Response:
        """An error as JSON (for scripts) or as a page with a way back."""
        if wants_json(request):
            return JSONResponse({"error": text, "title": title}, status_code=status)
        return self.page(request, "message.html", status, title=title, text=text, back=back,
                         back_label=back_label)

    def wrap(self, html: str, active: str) -> HTMLResponse:
        """A page from the report renderers, with the app's navigation bar."""
        nav = self.templates.get_template("_nav.html").render(active=active)
        html = html.replace("</head>", FAVICON_LINK + "</head>", 1)
        return HTMLResponse(html.replace("<main>", nav + "<main>", 1))

    def fragment(self, name: str, **ctx) -> str:
        return self.templates.get_template(name).render(**ctx)


def add_page_routes(app: FastAPI, settings: Settings, jobs: JobStore, views: Views) -> None:
    """Register the HTML pages on ``app``."""
    paths = settings.paths
    page, message, wrap = views.page, views.message, views.wrap
    limit_txt = f"{settings.max_upload_bytes / MB:g} MB"

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request):
        recent = await asyncio.to_thread(lambda: engine.stored_clips(paths.db)[-5:][::-1])
        return page(request, "index.html", active="check", limit_bytes=settings.max_upload_bytes,
                    limit_txt=limit_txt, accepted=ACCEPTED, recent=recent,
                    athletes=await asyncio.to_thread(engine.athletes, paths.db))

    @app.get("/jobs/{jid}", response_class=HTMLResponse)
    async def job_page(request: Request, jid: str):
        job = jobs.get(jid) if jid.isalnum() else None
        if job is None:
            return message(request, 404, "No such upload",
                           "This upload is not known here (the link may be from another server).")
        if job["state"] == "done" and request.query_params.get("stay") is None:
            return RedirectResponse(f"/clips/{job['clip_id']}", status_code=303)
        return page(request, "job.html", active="check", job=job)

    def no_report(request: Request) -> Response:
        return message(request, 404, "No such report",
                       "There is no scored clip with this number in the results store.",
                       back="/batch", back_label="All clips")

    @app.get("/clips/{clip_id}", response_class=HTMLResponse)
    async def clip_page(request: Request, clip_id: int):
        if not 0 < clip_id <= MAX_ID:
            return no_report(request)
        video = jobs.video_for_clip(clip_id)
        url = f"/clips/{clip_id}/video" if video and (paths.videos / video).exists() else None
        html = await asyncio.to_thread(engine.report_html, paths.db, clip_id, url)
        if html is None:
            return no_report(request)
        links = views.fragment("_downloads.html", clip_id=clip_id)
        return wrap(html.replace("</header>", "</header>" + links, 1), "batch")

    async def download(request: Request, clip_id: int, body, media_type: str, filename: str):
        """A stored report as a file: ``body(report)`` is its text."""
        report = (await asyncio.to_thread(engine.stored_report, paths.db, clip_id)
                  if 0 < clip_id <= MAX_ID else None)
        if report is None:
            return no_report(request)
        return Response(body(report), media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @app.get("/clips/{clip_id}/report.json")
    async def clip_json(request: Request, clip_id: int):
        return await download(request, clip_id,
                              lambda r: json.dumps(r, indent=1, allow_nan=False) + "\n",
                              "application/json", f"formcheck-{clip_id}.json")

    @app.get("/clips/{clip_id}/reps.csv")
    async def clip_csv(request: Request, clip_id: int):
        return await download(request, clip_id, engine.reps_csv, "text/csv; charset=utf-8",
                              f"formcheck-{clip_id}-reps.csv")

    @app.get("/favicon.ico")
    async def favicon():
        return Response(FAVICON_SVG, media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/clips/{clip_id}/video")
    async def clip_video(clip_id: int):
        if not 0 < clip_id <= MAX_ID:
            return Response("No annotated video for this clip.", status_code=404)
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
        picker = views.fragment("_athlete_picker.html", athletes=names, athlete=athlete)
        return wrap(html.replace("</header>", "</header>" + picker, 1), "history")

    @app.get("/batch", response_class=HTMLResponse)
    async def batch(request: Request, sort: str = "date", order: str = "desc"):
        rows = await asyncio.to_thread(engine.stored_clips, paths.db)
        key = SORTS.get(sort, SORTS["date"])
        rows.sort(key=key, reverse=order != "asc")
        page_rows = [dict(r, report_html=f"/clips/{r['id']}" if r["status"] == "ok" else None,
                          path=r["path"] + (f" · {r['athlete']}" if r["athlete"] else ""))
                     for r in rows]
        html = await asyncio.to_thread(engine.batch_html, page_rows, "Results store")
        sorter = views.fragment(
            "_batch_sort.html", sort=sort if sort in SORTS else "date",
            order="asc" if order == "asc" else "desc", sorts=list(SORTS), db=str(paths.db))
        return wrap(html.replace("</header>", "</header>" + sorter, 1), "batch")


def add_error_pages(app: FastAPI, views: Views) -> None:
    """Errors the routes do not handle themselves (unknown page, wrong method, a malformed id)
    as the app's message page for browsers; JSON for ``/api/`` and clients that ask for it."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def for_browser(request: Request) -> bool:
        return not request.url.path.startswith("/api/") and not wants_json(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not for_browser(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        if exc.status_code == 404:
            return views.message(request, 404, "Page not found",
                                 "There is no page at this address. Check a set, or look in "
                                 "History and Batch.", back="/", back_label="Check a set")
        if exc.status_code == 405:
            return views.message(request, 405, "Not available this way",
                                 "This address does not answer this kind of request. Start from "
                                 "the home page.", back="/", back_label="Check a set")
        return views.message(request, exc.status_code, "Request refused", str(exc.detail),
                             back="/", back_label="Check a set")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        if not for_browser(request):
            return JSONResponse({"detail": jsonable(exc.errors())}, status_code=422)
        if request.url.path.startswith("/clips/"):  # /clips/abc: not a clip number
            return views.message(request, 404, "No such report",
                                 "There is no scored clip with this number in the results store.",
                                 back="/batch", back_label="All clips")
        return views.message(request, 400, "Bad request",
                             "This address has a value the server does not understand.",
                             back="/", back_label="Check a set")


def jsonable(errors) -> list:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors)
