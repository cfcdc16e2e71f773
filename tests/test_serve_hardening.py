"""``formcheck serve`` hardening (fast tier): cross-site requests, the data-folder lock, the
queue limit under concurrency, identical uploads, live timestamps and frame sizes, error pages.

Same fixtures as tests/test_serve.py (thread workers, a fake analysis task, no pose model).
"""
# ruff: noqa: F811  (the make_client fixture is imported from test_serve, then requested by name)

from __future__ import annotations

import asyncio
import json

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


# ---------------------------------------------------------------------------- one server per folder
def _running_job(data):
    from formcheck.web.jobs import JobStore, Paths

    paths = Paths.under(data)
    jobs = JobStore(paths.jobs)
    jid = jobs.add("a.mp4", "x.mp4")
    assert jobs.claim("w0")["id"] == jid
    return paths, jobs, jid


def test_second_server_on_the_same_data_folder_exits_touching_nothing(tmp_path, capsys):
    from formcheck.app.cli import main
    from formcheck.web.jobs import DataLock

    paths, jobs, jid = _running_job(tmp_path / "data")
    part = paths.videos / f".{jid}.webm.abc.part.webm"
    part.write_bytes(b"x")
    with DataLock(paths.data) as held:
        assert held.acquire()
        assert main(["serve", "--data", str(paths.data), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert f"another formcheck serve is using {paths.data}; stop it or choose another --data" in err
    assert "http://" not in err
    assert jobs.get(jid)["state"] == "running" and part.exists()  # untouched


def test_data_lock_is_exclusive_and_released(tmp_path):
    from formcheck.web.jobs import DataLock

    a, b = DataLock(tmp_path), DataLock(tmp_path)
    assert a.acquire()
    assert not b.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_port_in_use_is_said_before_any_address_is_printed(tmp_path, capsys):
    import socket

    from formcheck.app.cli import main
    from formcheck.web.jobs import DataLock

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--data", str(tmp_path / "d"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} is in use; choose another with --port" in err
    assert "http://" not in err
    assert DataLock(tmp_path / "d").acquire()  # released on the way out


def test_start_up_removes_half_written_files_and_failed_uploads(make_client, tmp_path):
    from formcheck.web.jobs import Paths

    paths = Paths.under(tmp_path / "data")
    stale = [paths.videos / ".0123.webm.k2j3.part.webm", paths.tmp / "abcd.part"]
    for f in stale:
        f.write_bytes(b"half")
    keep = paths.videos / "0123.webm"
    keep.write_bytes(b"done")
    c = make_client()  # same data folder: the pool's start-up cleans it
    assert not any(f.exists() for f in stale) and keep.exists()
    r = upload(c, "nobody.mp4", MP4_HEAD + b"NOBODY" + b"\0" * 100)
    assert wait_done(c, r.json()["job"])["state"] == "error"
    assert list(c.paths.uploads.iterdir()) == []  # nothing refers to a failed job's clip
    r = upload(c, "ok.mp4", MP4_HEAD + b"\0" * 100)
    assert wait_done(c, r.json()["job"])["state"] == "done"
    assert len(list(c.paths.uploads.iterdir())) == 1  # a scored clip's upload is kept


# ---------------------------------------------------------------------------- queue limit
def test_queue_limit_holds_for_concurrent_uploads(tmp_path):
    """Uploads still being received count against the queue: two slow bodies fill a queue of
    two, so a third upload is refused before either body has arrived."""
    import httpx

    from formcheck.web.app import Settings, create_app
    from formcheck.web.engine import load_serve_config
    from formcheck.web.jobs import Paths

    paths = Paths.under(tmp_path / "data")
    app = create_app(Settings(paths=paths, cfg=load_serve_config(), worker_mode="thread",
                              max_queued=2))  # no lifespan here: no worker takes jobs
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"clip\"; "
            f"filename=\"a.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode() + MP4_HEAD
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"content-type": f"multipart/form-data; boundary={boundary}",
               "accept": "application/json"}

    async def scenario():
        release = asyncio.Event()
        started = [asyncio.Event(), asyncio.Event()]

        def slow_body(i):
            async def gen():
                yield head
                started[i].set()
                await release.wait()
                yield tail
            return gen()

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            slow = [asyncio.create_task(client.post("/api/upload", content=slow_body(i),
                                                    headers=headers)) for i in range(2)]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started)), 10)
            third = await client.post("/api/upload", content=head + tail, headers=headers)
            release.set()
            firsts = await asyncio.gather(*slow)
            after = await client.get("/api/health")
        return third, firsts, after

    third, firsts, after = asyncio.run(scenario())
    assert third.status_code == 503, third.text
    assert [r.status_code for r in firsts] == [202, 202]
    assert after.json()["jobs"]["queued"] == 2


# ---------------------------------------------------------------------------- identical uploads
def test_identical_uploads_by_other_athletes_or_names_are_their_own_sets(tmp_path, monkeypatch):
    """The same bytes uploaded for Sam, then Kim, then under another name: three rows, each
    with its own athlete and name; the same upload again re-scores its row (no duplicate)."""
    from types import SimpleNamespace

    from test_serve import fake_report

    from formcheck.app import pipeline
    from formcheck.app.store import ResultStore
    from formcheck.web import engine

    def fake_analyze(path, cfg, **kw):
        return SimpleNamespace(result=SimpleNamespace(frames_with_pose=10),
                               report=fake_report("x", 3, {}))

    monkeypatch.setattr(pipeline, "analyze_clip", fake_analyze)
    clip = tmp_path / "stored.mp4"
    clip.write_bytes(MP4_HEAD + b"\0" * 100)
    db = tmp_path / "s.sqlite"
    cfg = engine.load_serve_config()
    ids = [engine.analyze_upload(clip, cfg, db, display_name=name, athlete=who).clip_id
           for name, who in (("set.mp4", "Sam"), ("set.mp4", "Kim"), ("other.mp4", "Kim"),
                             ("set.mp4", "Sam"))]
    assert len(set(ids[:3])) == 3 and ids[3] == ids[0]
    with ResultStore(db) as store:
        rows = {r["id"]: (r["path"], r["athlete"]) for r in store.clips()}
    assert rows == {ids[0]: ("set.mp4", "Sam"), ids[1]: ("set.mp4", "Kim"),
                    ids[2]: ("other.mp4", "Kim")}


def test_identical_failed_uploads_are_their_own_rows(tmp_path):
    from formcheck.app.store import ResultStore
    from formcheck.errors import AnalysisError
    from formcheck.web import engine

    class NoModel:
        def new_stream(self):
            pass

    clip = tmp_path / "junk.mp4"
    clip.write_bytes(MP4_HEAD + b"\0" * 100)  # an MP4 head, nothing decodable
    db = tmp_path / "s.sqlite"
    for who in ("Sam", "Kim"):
        with pytest.raises(AnalysisError):
            engine.analyze_upload(clip, engine.load_serve_config(), db, display_name=f"{who}.mp4",
                                  athlete=who, estimator=NoModel())
    with ResultStore(db) as store:
        assert sorted((r["path"], r["athlete"], r["status"]) for r in store.clips()) == [
            ("Kim.mp4", "Kim", "error"), ("Sam.mp4", "Sam", "error")]


# ---------------------------------------------------------------------------- live status line
def test_rep_status_line_numbers_counted_reps_as_the_counter_and_names_faults():
    from formcheck.core.ids import FAULT_IDS, fault_name
    from formcheck.render.annotate import OverlayTracker, describe_rep
    from formcheck.web.engine import load_serve_config

    assert describe_rep({"index": 10, "counted": False,
                         "faults": [{"id": "partial_range"}]}) == ("partial rep: partial range", False)
    assert describe_rep({"index": 3, "counted": True, "faults": [{"id": "no_top_pause"}]}, 2) == (
        "rep 2: no pause at the top", False)
    assert all(fault_name(f) and "_" not in fault_name(f) for f in FAULT_IDS)

    from types import SimpleNamespace

    from formcheck.core.events import Event

    analyzer = SimpleNamespace(rep_count=0, phase="top", last_e=0.0, profile="seated")
    tracker = OverlayTracker(load_serve_config())
    seen = []
    for t, (index, counted) in enumerate(((1, True), (2, False), (3, True))):  # rep, partial, rep
        rep = {"index": index, "counted": counted, "score": 100, "faults": []}
        ev = Event("rep" if counted else "partial", float(t), "", {"rep": rep})
        analyzer.rep_count += counted
        state, _ = tracker.update(float(t), None, analyzer, [ev])
        seen.append(state.last_rep)
    assert seen == ["rep 1: good (100)", "partial rep: good (100)", "rep 2: good (100)"]
    tracker.reset()
    ev = Event("rep", 9.0, "", {"rep": {"index": 4, "counted": True, "score": 100, "faults": []}})
    assert tracker.update(9.0, None, analyzer, [ev])[0].last_rep == "rep 1: good (100)"


# ---------------------------------------------------------------------------- live frames
def _live_client(make_client):
    from test_serve import FakeLive

    FakeLive.instances.clear()
    return make_client(live_factory=FakeLive)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), -5.0, 1e300])
def test_live_frame_with_an_unusable_time_stamp_is_skipped(make_client, bad):
    from test_serve import frame_msg

    c = _live_client(make_client)
    with c.websocket_connect("/ws/live") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_bytes(frame_msg(1, bad))
        m = ws.receive_json()
        assert m["type"] == "frame_error" and m["seq"] == 1 and "time stamp" in m["message"]
        ws.send_bytes(frame_msg(2, 1000.0))
        assert ws.receive_json()["type"] == "frame"
        ws.send_bytes(frame_msg(3, bad))
        assert ws.receive_json()["type"] == "frame_error"
        ws.send_text(json.dumps({"cmd": "stop"}))
        s = ws.receive_json()
        assert s["type"] == "summary" and s["frames"] == 3


def test_live_time_never_runs_backwards_far_and_a_jump_is_a_new_time_base(make_client):
    from test_serve import frame_msg

    c = _live_client(make_client)
    with c.websocket_connect("/ws/live") as ws:
        assert ws.receive_json()["type"] == "hello"
        times = []
        for seq, t_ms in enumerate((1000.0, 1033.0, 1010.0, 2500.0, 1200.0, 5e6, 5e6 + 33.0,
                                    1e16), 1):
            ws.send_bytes(frame_msg(seq, t_ms))
            m = ws.receive_json()
            times.append(m.get("t") if m["type"] == "frame" else m["type"])
        ws.send_text(json.dumps({"cmd": "stop"}))
        assert ws.receive_json()["type"] == "summary"
    assert times[:4] == [0.0, 0.033, 0.01, 1.5]  # a little jitter back is the engine's to smooth
    assert times[4] == "frame_error"  # 1.3 s before the latest frame
    # 5000 s later (tab in the background): the set goes on 1 s after the last frame, a gap the
    # core does not bridge (max_gap_s 0.3 s), so no rep is counted across the absence
    assert times[5] == pytest.approx(2.5) and times[6] == pytest.approx(2.533)
    assert times[7] == "frame_error"  # beyond any performance.now() value


def test_jpeg_size_is_read_without_decoding():
    import cv2
    import numpy as np

    from formcheck.web.engine import jpeg_size

    for w, h in ((64, 48), (33, 170)):
        ok, buf = cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8))
        assert jpeg_size(buf.tobytes()) == (w, h)
        ok, buf = cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8),
                               [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
        assert jpeg_size(buf.tobytes()) == (w, h)
        ok, buf = cv2.imencode(".png", np.zeros((h, w, 3), np.uint8))
        assert jpeg_size(buf.tobytes()) == (w, h)
    assert jpeg_size(b"not a jpeg") is None and jpeg_size(b"\xff\xd8\xff") is None


def _huge_jpeg_header(w: int, h: int) -> bytes:
    """The first bytes of a baseline JPEG claiming w×h (no image data: never decodable)."""
    sof = b"\xff\xc0" + (17).to_bytes(2, "big") + b"\x08" + h.to_bytes(2, "big") + w.to_bytes(2, "big")
    return b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\x03" + b"\x00" * 9


def test_live_frame_too_large_is_refused_before_decoding(make_client, monkeypatch):
    from test_serve import frame_msg

    from formcheck.web import engine

    decoded = []
    real = engine.decode_jpeg
    monkeypatch.setattr(engine, "decode_jpeg", lambda data: decoded.append(len(data)) or real(data))
    c = _live_client(make_client)
    with c.websocket_connect("/ws/live") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_bytes(frame_msg(1, 10.0, _huge_jpeg_header(8000, 8000)))
        m = ws.receive_json()
        assert m["type"] == "frame_error" and "8000×8000" in m["message"]
        assert decoded == []
        ws.send_bytes(frame_msg(2, 20.0))
        assert ws.receive_json()["type"] == "frame" and len(decoded) == 1
        ws.send_text(json.dumps({"cmd": "stop"}))
        assert ws.receive_json()["type"] == "summary"


# ---------------------------------------------------------------------------- pages and errors
def _stored_clip(c) -> int:
    r = upload(c, "set.mp4", MP4_HEAD + b"\0" * 100, athlete="Sam")
    return wait_done(c, r.json()["job"])["clip_id"]


@pytest.mark.parametrize("path", ["/clips/99999999999999999999999", "/clips/9223372036854775808",
                                  "/clips/99999999999999999999999/video", "/clips/0",
                                  "/clips/-3", "/clips/123456"])
def test_unknown_or_huge_clip_numbers_are_404(make_client, path):
    c = make_client()
    r = c.get(path)
    assert r.status_code == 404, r.text


def test_error_pages_for_browsers_and_json_for_scripts(make_client):
    c = make_client()
    html = {"Accept": "text/html"}
    for path, status, text in (("/clips/abc", 404, "No such report"),
                               ("/no/such/page", 404, "Page not found"),
                               ("/clips/abc/video", 404, "No such report")):
        r = c.get(path, headers=html)
        assert r.status_code == status and text in r.text and 'class="fc-nav"' in r.text, path
    r = c.get("/api/nothing-here", headers=html)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = c.get("/clips/abc", headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.json()["detail"]
    r = c.put("/", headers=html)
    assert r.status_code == 405 and "Not available this way" in r.text


def test_head_is_answered_like_get_without_a_body(make_client):
    c = make_client()
    clip = _stored_clip(c)
    for path in ("/", "/live", "/batch", "/history", f"/clips/{clip}", "/api/health",
                 "/static/live.js", "/favicon.ico"):
        g, h = c.get(path), c.head(path)
        assert h.status_code == g.status_code == 200, path
        assert h.content == b"" and h.headers["content-type"] == g.headers["content-type"], path
    assert c.head("/clips/999").status_code == 404


def test_favicon_and_report_downloads(make_client):
    c = make_client()
    assert c.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in c.get("/").text and 'rel="icon"' in c.get("/batch").text
    clip = _stored_clip(c)
    page = c.get(f"/clips/{clip}").text
    assert f'href="/clips/{clip}/report.json"' in page and f'href="/clips/{clip}/reps.csv"' in page
    j = c.get(f"/clips/{clip}/report.json")
    assert j.status_code == 200 and j.json()["summary"]["rep_count"] == 3
    assert "attachment" in j.headers["content-disposition"]
    csv = c.get(f"/clips/{clip}/reps.csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("index,")
    assert c.get("/clips/424242/reps.csv").status_code == 404
    assert '<label for="order">' in c.get("/batch").text


# ---------------------------------------------------------------------------- token cookie, TLS key
def test_token_cookie_is_named_with_the_port(make_client):
    from formcheck.web.safety import token_cookie

    c = make_client(token="tok-a")
    r = c.get("/?token=tok-a", follow_redirects=False)
    assert r.headers["set-cookie"].startswith(f"{token_cookie(80)}=tok-a;")
    assert c.get("/").status_code == 200
    # another server's cookie (another port on this host) does not let you in, nor replace ours
    c.cookies.clear()
    c.cookies.set(token_cookie(8001), "tok-a")
    assert c.get("/").status_code == 403
    assert token_cookie(8000) != token_cookie(8001)


def test_tls_key_is_private_from_its_creation(tmp_path, monkeypatch):
    import os
    import stat

    from formcheck.web import make_certificate

    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)  # no fixing it up afterwards
    old = os.umask(0o022)
    try:
        cert, key = make_certificate(tmp_path / "tls", ["localhost", "127.0.0.1"])
    finally:
        os.umask(old)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key.read_text()


def test_private_file_is_created_0600_even_over_an_open_one(tmp_path):
    """The writer of the `cryptography` path (not installed everywhere, so tested on its own)."""
    import os
    import stat

    from formcheck.web import _private_file

    key = tmp_path / "key.pem"
    key.write_text("old")
    key.chmod(0o644)
    old = os.umask(0o022)
    try:
        with _private_file(key) as f:
            assert stat.S_IMODE(os.fstat(f.fileno()).st_mode) == 0o600  # before any byte
            f.write(b"secret")
    finally:
        os.umask(old)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.read_bytes() == b"secret"
