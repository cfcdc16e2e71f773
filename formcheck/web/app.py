"""The ``formcheck serve`` web application (FastAPI / Starlette): :func:`create_app` builds it.

Pages: ``/`` check a set (upload or record), ``/jobs/{id}`` progress, ``/clips/{id}`` report,
``/live`` browser camera, ``/history`` and ``/batch`` (the results store). JSON: ``POST
/api/upload``, ``GET /api/jobs/{id}``, ``GET /api/health``; WebSocket ``/ws/live``.

The routes live by responsibility: :mod:`~formcheck.web.pages` (HTML),
:mod:`~formcheck.web.api` (upload and JSON), :mod:`~formcheck.web.live_socket` (the live
camera) and :mod:`~formcheck.web.middleware` (security headers, token gate, trusted hosts). Every
analysis call goes through :mod:`formcheck.web.engine`; uploads are analysed by the
:class:`~formcheck.web.jobs.WorkerPool`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from formcheck import __version__
from formcheck.web import engine
from formcheck.web.api import UploadError, add_api_routes
from formcheck.web.jobs import JobStore, WorkerPool
from formcheck.web.live_socket import FRAME_HEADER, LIVE_MAX_SIDE_PX, LiveSlots, add_live_route
from formcheck.web.pages import Views, add_error_pages, add_page_routes
from formcheck.web.middleware import protect
from formcheck.web.settings import LIVE_IDLE_S, MB, Settings

__all__ = ["FRAME_HEADER", "LIVE_IDLE_S", "LIVE_MAX_SIDE_PX", "MB", "LiveSlots", "Settings",
           "UploadError", "create_app"]

HERE = Path(__file__).resolve().parent


def create_app(settings: Settings, pool: WorkerPool | None = None,
               live_factory: Callable[[], Any] | None = None) -> FastAPI:
    """The ASGI app. ``pool`` replaces the worker pool (tests: a thread pool with a fake task);
    ``live_factory()`` replaces :class:`~formcheck.web.engine.LiveEngine` construction."""
    paths = settings.paths
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

    views = Views()
    add_page_routes(app, settings, jobs, views)
    add_error_pages(app, views)
    add_api_routes(app, settings, jobs, slots, views)
    add_live_route(app, settings, slots, make_live)
    protect(app, token=settings.token, secure_cookie=settings.https,
            allowed_hosts=settings.allowed_hosts)
    return app
