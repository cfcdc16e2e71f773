"""The HTML pages of ``formcheck serve``: check a set (``/``), upload progress (``/jobs/{id}``),
a clip's report (``/clips/{id}`` and its annotated video), the live camera page (``/live``),
``/history`` and ``/batch`` (the results store); and :class:`Views`, the page renderer the
other routes share for their error pages."""

from __future__ import annotations

import asyncio
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
