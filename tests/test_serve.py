"""``formcheck serve`` without a browser and without the pose model (fast tier).

The worker pool runs in threads with a fake task that records a known report, so the routes,
the job queue, the store wiring and the safety checks are tested in milliseconds. The real
analysis in a real browser is in tests/test_serve_browser.py (e2e).
"""

from __future__ import annotations

import json
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from formcheck.app.store import ClipRecord, ResultStore  # noqa: E402
from formcheck.errors import AnalysisError  # noqa: E402
from formcheck.web import is_loopback, make_certificate  # noqa: E402
from formcheck.web.app import FRAME_HEADER, MB, Settings, create_app  # noqa: E402
from formcheck.web.engine import load_serve_config  # noqa: E402
from formcheck.web.jobs import MAX_ATTEMPTS, JobStore, Paths, WorkerPool  # noqa: E402
from formcheck.web.safety import TOKEN_COOKIE, clean_athlete, display_name, sniff_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_videos" / "dev01_seated_r.mp4"
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def fake_report(name: str, reps: int, faults: dict[str, int]) -> dict:
    return {
        "schema": "formcheck.report/2", "formcheck_version": "test",
        "clip": {"path": name, "fps": 30.0, "n_frames": 300, "duration_s": 10.0, "width": 640,
                 "height": 480, "rotation_deg": 0},
        "profile": "seated", "facing": "right", "config_digest": "test",
        "summary": {"rep_count": reps, "partial_reps": 0, "good_reps": reps - sum(faults.values()),
                    "faults": faults, "score": 80.0, "frames_analysed": 300, "frames_with_pose": 300},
        "warnings": [], "reps": [],
    }


class FakeTask:
    """Stands in for the pose model: 'analyses' a clip in a few steps and records a report.

    A file whose first bytes carry ``NOBODY`` fails like a clip with nobody in it.
    """

    def __init__(self, reps: int = 3, block: threading.Event | None = None) -> None:
        self.reps = reps
        self.block = block
        self.seen: list[dict] = []

    def __call__(self, job, paths, progress):
        self.seen.append(job)
        data = (paths.uploads / job["file"]).read_bytes()
        for i in range(4):
            progress(i / 4)
            if self.block is not None:
                self.block.wait(5)
        if b"NOBODY" in data[:200]:
            raise AnalysisError(f"No person was found in {job['name']}. Film the whole body side-on, in good light.")
        with ResultStore(paths.db) as store:
            clip_id = store.record(ClipRecord(
                job["name"], f"h-{job['id']}", "cfg", "ok",
                report=fake_report(job["name"], self.reps, {"hyperextension": 1}),
                athlete=job["athlete"], date="2026-11-23"))
        return clip_id, None


@pytest.fixture()
def make_client(tmp_path):
    clients = []

    def make(token: str | None = None, limit_mb: float = 2.0, max_live: int = 2, task=None,
             live_factory=None, allowed_hosts=None, **kw):
        paths = Paths.under(tmp_path / "data")
        settings = Settings(paths=paths, cfg=load_serve_config(), token=token,
                            max_upload_bytes=int(limit_mb * MB), max_live=max_live,
                            worker_mode="thread", allowed_hosts=allowed_hosts, **kw)
        task = task or FakeTask()
        pool = WorkerPool(paths, settings.cfg, 1, "thread", task=task)
        app = create_app(settings, pool=pool, live_factory=live_factory)
        c = TestClient(app)
        c.__enter__()
        c.task = task
        c.paths = paths
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def upload(client, name: str, data: bytes, athlete: str | None = None, json_: bool = True):
    files = {"clip": (name, data, "video/mp4")}
    headers = {"Accept": "application/json"} if json_ else {}
    return client.post("/api/upload", files=files, data={"athlete": athlete} if athlete else None,
                       headers=headers, follow_redirects=False)


def wait_done(client, jid: str, timeout_s: float = 10.0) -> dict:
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        s = client.get(f"/api/jobs/{jid}").json()
        if s["state"] in ("done", "error"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"job {jid} not finished after {timeout_s} s: {s}")


# ---------------------------------------------------------------------------- safety helpers
@pytest.mark.parametrize("head, suffix, kind", [
    (MP4_HEAD, ".mp4", "an MP4 video"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", ".mov", "a QuickTime movie"),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", ".mov", "a QuickTime movie"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm", ".webm", "a WebM video"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", ".mkv", "a Matroska video"),
    (b"RIFF\x00\x10\x00\x00AVI LIST", ".avi", "an AVI video"),
    (b"RIFF\x00\x10\x00\x00WAVEfmt ", None, "a WAV audio file"),
    (b"hello, this is not a video\n", None, "a text file"),
    (b"\x89PNG\r\n\x1a\n", None, "a PNG image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", None, "a JPEG image"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", None, "a HEIC/AVIF still image"),
    (b"", None, "an empty file (0 bytes)"),
    (bytes(range(200, 256)), None, "not a video format formcheck knows"),
])
def test_sniff_video_decides_from_the_bytes(head, suffix, kind):
    assert sniff_video(head) == (suffix, kind)


def test_sniff_video_real_sample_clip():
    assert sniff_video(SAMPLE.read_bytes()[:64])[0] == ".mp4"


@pytest.mark.parametrize("given, shown", [
    ("../../etc/passwd.mp4", "passwd.mp4"),
    ("C:\\Users\\me\\Videos\\set 1.mov", "set 1.mov"),
    ("<img src=x onerror=alert(1)>.mp4", "img src=x onerror=alert(1).mp4"),
    ("..", "clip"),
    ("", "clip"),
    ("a\x00b\x1fc.mp4", "abc.mp4"),
    (".hidden.mp4", "hidden.mp4"),
])
def test_display_name_keeps_only_a_harmless_base_name(given, shown):
    assert display_name(given, "clip") == shown


def test_display_name_is_shortened():
    out = display_name("x" * 300 + ".mp4")
    assert len(out) == 80 and out.endswith("….mp4")


def test_clean_athlete():
    assert clean_athlete("  Sam\x00 ") == "Sam"
    assert clean_athlete("   ") is None
    assert clean_athlete(None) is None
    assert len(clean_athlete("a" * 100)) == 60


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


# ---------------------------------------------------------------------------- uploads
def test_upload_analyse_report_and_store(make_client):
    c = make_client()
    r = upload(c, "my set.mp4", SAMPLE.read_bytes()[:4096], athlete="Sam")
    assert r.status_code == 202, r.text
    jid = r.json()["job"]
    s = wait_done(c, jid)
    assert s["state"] == "done" and s["report"] == f"/clips/{s['clip_id']}"
    page = c.get(s["report"])
    assert page.status_code == 200
    assert "my set.mp4" in page.text and 'class="fc-nav"' in page.text
    # the job page of a finished job goes to the report
    assert c.get(f"/jobs/{jid}", follow_redirects=False).headers["location"] == s["report"]
    # stored under a generated name, with the sniffed suffix
    stored = list(c.paths.uploads.iterdir())
    assert len(stored) == 1 and stored[0].suffix == ".mp4" and len(stored[0].stem) == 32
    assert c.task.seen[0]["athlete"] == "Sam"
    # one store: what `formcheck history` reads
    with ResultStore(c.paths.db, readonly=True) as store:
        rows = store.clips(status="ok", athlete="Sam")
    assert [r["rep_count"] for r in rows] == [3]


def test_upload_without_javascript_redirects_to_the_job_page(make_client):
    c = make_client()
    r = upload(c, "a.mp4", MP4_HEAD + b"\x00" * 100, json_=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    jid = r.headers["location"].rsplit("/", 1)[1]
    wait_done(c, jid)


def test_text_file_renamed_mp4_is_refused(make_client):
    c = make_client()
    r = upload(c, "notes.mp4", b"just some notes\nnot a video\n" * 10)
    assert r.status_code == 415
    assert r.json()["error"].startswith("“notes.mp4” is a text file, not a video.")
    html = upload(c, "notes.mp4", b"plain text", json_=False)
    assert html.status_code == 415 and "is a text file, not a video" in html.text
    assert list(c.paths.uploads.iterdir()) == [] and list(c.paths.tmp.iterdir()) == []


def test_empty_file_is_refused(make_client):
    c = make_client()
    r = upload(c, "empty.mp4", b"")
    assert r.status_code == 400 and "is empty (0 bytes)" in r.json()["error"]


def test_too_big_is_refused_with_413_and_nothing_kept(make_client):
    c = make_client(limit_mb=1.0)
    r = upload(c, "big.mp4", MP4_HEAD + b"\x00" * int(1.5 * MB))
    assert r.status_code == 413
    assert "accepts clips up to 1 MB" in r.json()["error"]
    assert list(c.paths.uploads.iterdir()) == [] and list(c.paths.tmp.iterdir()) == []
    # just under the limit is fine
    ok = upload(c, "fits.mp4", MP4_HEAD + b"\x00" * (MB - len(MP4_HEAD)))
    assert ok.status_code == 202


def test_missing_file_field_and_wrong_encoding(make_client):
    c = make_client()
    r = c.post("/api/upload", data={"athlete": "x"}, files={"other": ("a.txt", b"x")},
               headers={"Accept": "application/json"})
    assert r.status_code == 400 and "No clip was attached" in r.json()["error"]
    r = c.post("/api/upload", content=b"\x00" * 10, headers={"Content-Type": "video/mp4",
                                                             "Accept": "application/json"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]


def test_path_traversal_name_is_never_used_as_a_path(make_client, tmp_path):
    c = make_client()
    r = upload(c, "../../etc/passwd.mp4", MP4_HEAD + b"\x00" * 64)
    assert r.status_code == 202
    s = wait_done(c, r.json()["job"])
    assert s["name"] == "passwd.mp4"
    assert not (tmp_path / "etc").exists() and not (c.paths.data.parent / "passwd.mp4").exists()
    assert all(len(p.stem) == 32 for p in c.paths.uploads.iterdir())
    # a job id that is not a hex id is not looked up
    assert c.get("/api/jobs/..%2F..%2Fetc").status_code == 404


def test_client_strings_are_escaped(make_client):
    c = make_client()
    evil = "<script>alert(1)</script>"
    r = upload(c, evil + ".mp4", MP4_HEAD + b"\x00" * 64, athlete=evil)
    s = wait_done(c, r.json()["job"])
    for url in ("/", s["report"], "/batch", "/history", "/history?athlete=" + evil,
                f"/jobs/{r.json()['job']}?stay=1"):
        page = c.get(url)
        assert page.status_code == 200, url
        assert "<script>alert(1)" not in page.text, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in c.get("/batch").text


def test_nobody_in_the_clip_gives_a_clear_error_and_the_server_keeps_serving(make_client):
    c = make_client()
    r = upload(c, "empty_gym.mp4", MP4_HEAD + b"NOBODY" + b"\x00" * 64)
    s = wait_done(c, r.json()["job"])
    assert s["state"] == "error" and s["error"].startswith("No person was found in empty_gym.mp4")
    page = c.get(f"/jobs/{r.json()['job']}")
    assert "No person was found in empty_gym.mp4" in page.text
    ok = upload(c, "next.mp4", MP4_HEAD + b"\x00" * 64)
    assert wait_done(c, ok.json()["job"])["state"] == "done"
    assert c.get("/api/health").json()["jobs"] == {"queued": 0, "running": 0, "done": 1, "error": 1}


def test_unknown_pages_are_clear(make_client):
    c = make_client()
    assert "No such report" in c.get("/clips/999").text
    assert c.get("/clips/999").status_code == 404
    assert c.get("/jobs/abc123").status_code == 404


def test_other_requests_are_served_while_an_upload_is_analysed(make_client):
    gate = threading.Event()
    c = make_client(task=FakeTask(block=gate))
    r = upload(c, "slow.mp4", MP4_HEAD + b"\x00" * 64)
    jid = r.json()["job"]
    t_end = time.monotonic() + 5
    while c.get(f"/api/jobs/{jid}").json()["state"] != "running" and time.monotonic() < t_end:
        time.sleep(0.02)
    t0 = time.perf_counter()
    for url in ("/", "/live", "/batch", "/history", "/api/health"):
        assert c.get(url).status_code == 200
    assert time.perf_counter() - t0 < 2.0
    assert c.get(f"/api/jobs/{jid}").json()["state"] == "running"
    gate.set()
    assert wait_done(c, jid)["state"] == "done"


# ---------------------------------------------------------------------------- history / batch
def test_history_and_batch_pages_read_the_store(make_client):
    c = make_client()
    with ResultStore(c.paths.db) as store:
        for i, (who, day, reps, score) in enumerate([("Ann", "2026-11-01", 5, 70.0),
                                                     ("Ann", "2026-11-08", 8, 90.0),
                                                     ("Bob", "2026-11-02", 2, 50.0)]):
            rep = fake_report(f"set{i}.mp4", reps, {})
            rep["summary"]["score"] = score
            store.record(ClipRecord(f"set{i}.mp4", f"h{i}", "cfg", "ok", report=rep,
                                    athlete=who, date=day))
    h = c.get("/history?athlete=Ann").text
    assert "Ann — formcheck history" in h and "2 sessions" in h and "<svg" in h
    assert '<option value="Bob"' in h
    b = c.get("/batch?sort=score&order=asc").text
    assert b.index("set2.mp4") < b.index("set0.mp4") < b.index("set1.mp4")
    b = c.get("/batch?sort=score&order=desc").text
    assert b.index("set1.mp4") < b.index("set0.mp4") < b.index("set2.mp4")
    assert 'href="/clips/1"' in b


# ---------------------------------------------------------------------------- job queue
def test_interrupted_job_is_retried_at_the_next_start(tmp_path):
    paths = Paths.under(tmp_path / "d")
    (paths.uploads / "a" ).with_suffix(".mp4").write_bytes(MP4_HEAD)
    jobs = JobStore(paths.jobs)
    jid = jobs.add("a.mp4", "a.mp4")
    assert jobs.claim("old-worker")["id"] == jid  # the server dies here, mid-analysis
    assert jobs.get(jid)["state"] == "running"
    task = FakeTask()
    pool = WorkerPool(paths, None, 1, "thread", task=task).start()
    try:
        t_end = time.monotonic() + 5
        while jobs.get(jid)["state"] != "done" and time.monotonic() < t_end:
            time.sleep(0.02)
    finally:
        pool.close()
    job = jobs.get(jid)
    assert job["state"] == "done" and job["attempts"] == 2 and job["clip_id"] == 1
    jobs.close()


def test_a_clip_that_keeps_killing_the_analysis_is_given_up(tmp_path):
    paths = Paths.under(tmp_path / "d")
    jobs = JobStore(paths.jobs)
    jid = jobs.add("bad.mp4", "bad.mp4")
    for _ in range(MAX_ATTEMPTS):
        assert jobs.claim("w")["id"] == jid
        jobs.requeue_interrupted()
    job = jobs.get(jid)
    assert job["state"] == "error" and f"interrupted {MAX_ATTEMPTS} times" in job["error"]
    jobs.close()


def test_claim_never_hands_a_job_out_twice(tmp_path):
    paths = Paths.under(tmp_path / "d")
    stores = [JobStore(paths.jobs) for _ in range(4)]
    ids = {stores[0].add(f"{i}.mp4", f"{i}.mp4") for i in range(20)}
    got: list[str] = []
    lock = threading.Lock()

    def grab(s):
        while (j := s.claim("w")) is not None:
            with lock:
                got.append(j["id"])

    threads = [threading.Thread(target=grab, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)
    for s in stores:
        s.close()


# ---------------------------------------------------------------------------- token gate
def test_token_is_required_when_set(make_client):
    c = make_client(token="s3cret-token")
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 403 and "Access token needed" in r.text
    assert c.get("/?token=wrong", follow_redirects=False).status_code == 403
    assert c.get("/api/health").status_code == 403
    assert upload(c, "a.mp4", MP4_HEAD).status_code == 403
    assert list(c.paths.uploads.iterdir()) == []
    r = c.get("/batch?token=s3cret-token&sort=score", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/batch?sort=score"
    assert f"{TOKEN_COOKIE}_80=s3cret-token" in r.headers["set-cookie"]  # testserver:80
    assert "HttpOnly" in r.headers["set-cookie"]
    assert c.get("/batch").status_code == 200  # the cookie now
    c.cookies.clear()
    assert c.get("/api/health", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert c.get("/api/health").status_code == 403
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect("/ws/live"):
        pass
    assert e.value.code == 1008


# ---------------------------------------------------------------------------- live
class FakeLive:
    """A LiveEngine double: counts a rep every 3 frames, arms on the first."""

    instances: list = []

    def __init__(self) -> None:
        self.frames = 0
        self.closed = False
        self.finished = None
        FakeLive.instances.append(self)

    def zones(self):
        return [{"from": -100, "to": -30, "color": "rgb(0,0,255)"}]

    def process(self, image, t_s):
        self.frames += 1
        return {"type": "frame", "t": t_s, "landmarks": None, "e": -10.0, "reps": self.frames // 3,
                "phase": "top", "armed": True, "cue": None, "say": None, "shape": list(image.shape)}

    def reset(self):
        self.frames = 0

    def finish(self, db, session_id, athlete):
        self.finished = (session_id, athlete)
        return fake_report("live", self.frames // 3, {}), 7

    def close(self):
        self.closed = True


def frame_msg(seq: int, t_ms: float, payload: bytes | None = None) -> bytes:
    if payload is None:
        import cv2

        ok, buf = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))
        payload = buf.tobytes()
    return FRAME_HEADER.pack(seq, t_ms) + payload


def wait_until_no_live_sessions(client, timeout_s: float = 5.0) -> int:
    """The server winds a live session up after the socket closes; poll until it has (or time out)."""
    t_end = time.monotonic() + timeout_s
    n = client.get("/api/health").json()["live_sessions"]
    while n and time.monotonic() < t_end:
        time.sleep(0.02)
        n = client.get("/api/health").json()["live_sessions"]
    return n


def test_live_websocket_round_trip(make_client):
    FakeLive.instances.clear()
    c = make_client(live_factory=FakeLive)
    with c.websocket_connect("/ws/live?athlete=Ann") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["zones"][0]["to"] == -30
        for i in range(6):
            ws.send_bytes(frame_msg(i + 1, 1000.0 + 33.3 * i))
            m = ws.receive_json()
            assert m["seq"] == i + 1 and m["reps"] == (i + 1) // 3
            assert m["shape"] == [48, 64, 3] and abs(m["t"] - 0.0333 * i) < 1e-3
        ws.send_bytes(frame_msg(7, 1300.0, b"not a jpeg"))
        bad = ws.receive_json()
        assert bad["type"] == "frame_error" and bad["seq"] == 7
        ws.send_text(json.dumps({"cmd": "stop"}))
        s = ws.receive_json()
        assert s == {"type": "summary", "clip_id": 7, "report": "/clips/7", "reps": 2, "faults": [],
                     "fault_names": [], "frames": 7, "dropped": 0}
    # The server closes the engine after the socket, then frees the session's slot: wait for
    # the slot before looking at the engine (asserting at once raced the server under load).
    assert wait_until_no_live_sessions(c) == 0
    eng = FakeLive.instances[0]
    assert eng.finished[1] == "Ann" and eng.closed


def test_live_sessions_are_capped_with_a_busy_message(make_client):
    c = make_client(max_live=1, live_factory=FakeLive)
    with c.websocket_connect("/ws/live") as first:
        assert first.receive_json()["type"] == "hello"
        with c.websocket_connect("/ws/live") as second:
            m = second.receive_json()
            assert m["type"] == "busy" and "busy" in m["message"] and "1 live session" in m["message"]
    # the slot is free again once the first session has been wound up
    wait_until_no_live_sessions(c)
    with c.websocket_connect("/ws/live") as third:
        assert third.receive_json()["type"] == "hello"


def test_live_server_processes_only_the_newest_frame():
    """Frames that arrive while one is processed are replaced, never queued."""
    import asyncio

    from formcheck.web import app as web_app

    class Slow(FakeLive):
        def process(self, image, t_s):
            time.sleep(0.2)
            return super().process(image, t_s)

    paths_holder = {}

    async def main(tmp):
        paths = Paths.under(tmp)
        paths_holder["p"] = paths
        settings = Settings(paths=paths, cfg=load_serve_config(), worker_mode="thread")
        app = web_app.create_app(settings, pool=WorkerPool(paths, None, 1, "thread", task=FakeTask()),
                                 live_factory=Slow)
        import httpx  # noqa: F401  (TestClient's transport is sync; drive the ASGI app directly)

        sent: list[dict] = []
        inbox: asyncio.Queue = asyncio.Queue()
        for i in range(5):  # a burst of 5 frames, then stop
            await inbox.put({"type": "websocket.receive", "bytes": frame_msg(i + 1, 100.0 * i)})
        await inbox.put({"type": "websocket.receive", "text": json.dumps({"cmd": "stop"})})
        connected = False
        summary_sent = asyncio.Event()

        async def receive():
            nonlocal connected
            if not connected:
                connected = True
                return {"type": "websocket.connect"}
            if inbox.empty():  # the client hangs up once it has the summary
                await summary_sent.wait()
                return {"type": "websocket.disconnect", "code": 1000}
            return await inbox.get()

        async def send(msg):
            sent.append(msg)
            if '"summary"' in (msg.get("text") or ""):
                summary_sent.set()

        scope = {"type": "websocket", "path": "/ws/live", "raw_path": b"/ws/live", "query_string": b"",
                 "headers": [], "scheme": "ws", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
                 "root_path": "", "subprotocols": [], "app": app, "asgi": {"version": "3.0"}}
        await app.router(scope, receive, send)
        return [json.loads(m["text"]) for m in sent if m.get("type") == "websocket.send"]

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = asyncio.run(main(tmp))
    frames = [m for m in out if m["type"] == "frame"]
    summary = [m for m in out if m["type"] == "summary"]
    assert out[0]["type"] == "hello"
    # all 5 arrive at once: the first is processed, the rest replaced by the newest
    assert len(frames) < 5 and frames[-1]["seq"] == 5
    assert summary and summary[0]["dropped"] == 5 - len(frames)


def test_self_signed_certificate(tmp_path):
    import ssl

    cert, key = make_certificate(tmp_path / "tls", ["localhost", "127.0.0.1", "192.168.1.20"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)  # a usable pair
    info = ssl._ssl._test_decode_cert(str(cert))
    sans = {v for _, v in info["subjectAltName"]}
    assert {"localhost", "127.0.0.1", "192.168.1.20"} <= sans
    mtime = cert.stat().st_mtime_ns
    make_certificate(tmp_path / "tls", ["192.168.1.20", "127.0.0.1", "localhost"])
    assert cert.stat().st_mtime_ns == mtime  # reused for the same hosts
    assert struct  # (imported for the frame header tests)


def test_loopback_server_refuses_foreign_host_names_and_origins(make_client):
    """DNS rebinding (evil.example resolving to 127.0.0.1) and cross-site WebSockets."""
    c = make_client(allowed_hosts=("127.0.0.1", "localhost", "testserver"), live_factory=FakeLive)
    assert c.get("/", headers={"Host": "evil.example:8000"}).status_code == 400
    r = c.get("/")
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect(
            "/ws/live", headers={"Origin": "http://evil.example"}):
        pass
    assert e.value.code == 1008
    with c.websocket_connect("/ws/live", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_upload_queue_is_bounded(make_client):
    gate = threading.Event()
    c = make_client(task=FakeTask(block=gate), max_queued=2)
    ids = [upload(c, "0.mp4", MP4_HEAD).json()["job"]]
    t_end = time.monotonic() + 5
    while c.get(f"/api/jobs/{ids[0]}").json()["state"] != "running" and time.monotonic() < t_end:
        time.sleep(0.02)
    ids += [upload(c, f"{i}.mp4", MP4_HEAD + bytes([i]) * 64).json()["job"] for i in (1, 2)]
    r = upload(c, "one-too-many.mp4", MP4_HEAD)
    assert r.status_code == 503 and "2 clips waiting" in r.json()["error"]
    gate.set()
    for jid in ids:
        assert wait_done(c, jid)["state"] == "done"


def test_idle_live_session_is_ended_and_saved(make_client):
    FakeLive.instances.clear()
    c = make_client(live_factory=FakeLive, live_idle_s=0.3)
    with c.websocket_connect("/ws/live") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_bytes(frame_msg(1, 0.0))
        assert ws.receive_json()["seq"] == 1
        m = ws.receive_json()  # then nothing for 0.3 s
        assert m["type"] == "error" and "No camera frames for 0.3 s" in m["message"]
        assert ws.receive_json()["type"] == "summary"
    assert FakeLive.instances[0].finished is not None


def test_several_serve_workers_build_one_pose_model_each(monkeypatch, tmp_path):
    """Several analysis workers already share the cores: each builds one pose model, not a pool
    of ``pose.workers``; a lone worker builds the configured pool."""
    from types import SimpleNamespace

    from formcheck.web import engine, jobs

    made = []
    monkeypatch.setattr(engine, "make_estimator", lambda cfg, workers=None: made.append(workers) or object())
    monkeypatch.setattr(engine, "analyze_upload",
                        lambda *a, **kw: SimpleNamespace(clip_id=1, video=None))
    paths = Paths.under(tmp_path / "data")
    job = {"file": "a.mp4", "name": "a.mp4", "id": "j1", "athlete": None}
    for n, want in ((2, 1), (1, None)):
        task = jobs.AnalyzeTask(None, WorkerPool(paths, None, n, "thread")._pose_workers())
        task(job, paths, lambda f: None)
        task(job, paths, lambda f: None)  # the model is kept for the next job
        assert made[-1] == want
    assert made == [1, None]
