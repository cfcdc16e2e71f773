"""``formcheck serve`` hardening (fast tier): cross-site requests, the data-folder lock, the
queue limit under concurrency, identical uploads, live timestamps and frame sizes, error pages.

Same fixtures as tests/test_serve.py (thread workers, a fake analysis task, no pose model).
"""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from test_serve import MP4_HEAD, FakeTask, make_client, upload, wait_done  # noqa: E402,F401

from formcheck.web.safety import foreign_origin  # noqa: E402


# ---------------------------------------------------------------------------- CSRF
@pytest.mark.parametrize("headers, refused", [
    ({}, False),  # curl, scripts
    ({"origin": "http://testserver"}, False),
    ({"origin": "http://testserver:80"}, False),
    ({"origin": "http://evil.example"}, True),
    ({"origin": "http://testserver:9999"}, True),
    ({"origin": "https://testserver"}, True),
    ({"origin": "null"}, True),
    ({"origin": "null", "sec-fetch-site": "same-origin"}, False),
    ({"sec-fetch-site": "cross-site"}, True),
    ({"sec-fetch-site": "same-site"}, True),
    ({"sec-fetch-site": "same-origin", "origin": "http://testserver"}, False),
    ({"sec-fetch-site": "none"}, False),
])
def test_foreign_origin(headers, refused):
    assert (foreign_origin({"host": "testserver", **headers}, "http") is not None) == refused


def test_foreign_origin_websocket_schemes():
    assert foreign_origin({"host": "h:8000", "origin": "http://h:8000"}, "ws") is None
    assert foreign_origin({"host": "h:8000", "origin": "https://h:8000"}, "wss") is None
    assert foreign_origin({"host": "h:8000", "origin": "http://h:8001"}, "ws") is not None


def test_cross_site_upload_is_refused_without_a_token(make_client):
    c = make_client()
    files = {"clip": ("a.mp4", MP4_HEAD + b"\0" * 100, "video/mp4")}
    for headers in ({"Origin": "http://127.0.0.2:9999"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null", "Sec-Fetch-Site": "cross-site"}):
        r = c.post("/api/upload", files=files, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (headers, r.status_code)
        assert "another site" in r.text
    assert c.get("/api/health").json()["jobs"]["queued"] == 0
    assert not list(c.paths.uploads.iterdir())
    # the app's own page (same origin) still uploads
    r = c.post("/api/upload", files=files, follow_redirects=False,
               headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin",
                        "Accept": "application/json"})
    assert r.status_code == 202, r.text
    # and reading is not affected (a GET from anywhere is harmless)
    assert c.get("/api/health", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_cross_site_websocket_is_refused(make_client):
    from starlette.websockets import WebSocketDisconnect

    c = make_client()
    with pytest.raises(WebSocketDisconnect):
        with c.websocket_connect("/ws/live", headers={"Origin": "http://evil.example"}) as ws:
            ws.receive_json()
