"""``formcheck serve`` in a real browser (Playwright + Debian's Chromium).

e2e tests run the real pose model: an upload through the page gives the same reps and fault ids
as ``formcheck analyze``; the live page with Chromium's fake camera (a sample clip as .y4m)
counts the clip's labelled reps; a server killed mid-analysis finishes the upload after a
restart. The bad-input and token tests do not run the model (no e2e mark).
Screenshots (phone 390×844, desktop 1280×800) go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

from serve_harness import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, ROOT, Server, chromium_available, percentile,
    write_y4m,
)

if not chromium_available():
    pytest.skip(f"Chromium not found at {CHROMIUM}", allow_module_level=True)

SAMPLE = ROOT / "sample_videos" / "dev01_seated_r.mp4"
LABEL = json.loads(SAMPLE.with_suffix(".json").read_text())
ARTIFACTS = ROOT / "test-artifacts"
LIMIT_MB = 2  # the sample clip is 0.8 MB


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"serve-{name}.png"), full_page=True)


def get_json(url: str, token: str | None = None) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serve") / "data", "--max-upload-mb", str(LIMIT_MB)).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pw():
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw):
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def analyze_report(tmp_path_factory):
    """`formcheck analyze` on the sample clip (the reference the web app must equal)."""
    out = tmp_path_factory.mktemp("analyze") / "r.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "formcheck", "analyze", str(SAMPLE), "--json", str(out), "-q"],
                   check=True, env=env, timeout=600)
    return json.loads(out.read_text())


def fault_ids(report: dict) -> list[str]:
    return sorted(k for k, v in report["summary"]["faults"].items() if v)


# ------------------------------------------------------------------------------ upload (e2e)
@pytest.mark.e2e
def test_upload_in_the_browser_equals_formcheck_analyze(server, browser, analyze_report):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server.url + "/")
    assert page.locator("#clip").get_attribute("accept") == "video/*"
    assert page.locator("#clip").get_attribute("capture") is not None
    shot(page, "check-phone")
    page.set_input_files("#clip", str(SAMPLE))
    page.fill("#athlete", "Sam")
    page.click("#go")
    page.wait_for_selector("#bar-wrap:not([hidden])")
    page.wait_for_function("document.getElementById('bar-text').textContent.startsWith('Analysing')",
                           timeout=120_000)
    shot(page, "progress-phone")
    page.wait_for_url("**/clips/*", timeout=300_000)
    page.wait_for_selector("#formcheck-report", state="attached")
    shot(page, "report-phone")
    embedded = json.loads(page.locator("#formcheck-report").text_content())
    cards = {page.locator(".card .k").nth(i).text_content(): page.locator(".card .v").nth(i).text_content()
             for i in range(page.locator(".card").count())}
    chips = page.locator("ul.chips li").all_text_contents()

    want_reps = analyze_report["summary"]["rep_count"]
    want_faults = fault_ids(analyze_report)
    assert want_reps == LABEL["expected_rep_count"]  # the reference itself is right
    assert int(cards["Reps"]) == want_reps
    assert embedded["summary"]["rep_count"] == want_reps
    assert fault_ids(embedded) == want_faults
    assert sorted(c.split(" ×")[0].strip() for c in chips if "×" in c) == want_faults
    assert [r.get("faults") and [f["id"] for f in r["faults"]] for r in embedded["reps"]] == \
           [r.get("faults") and [f["id"] for f in r["faults"]] for r in analyze_report["reps"]]
    # the annotated video plays from the server
    src = page.locator("#clip-video source").get_attribute("src")
    assert src.endswith("/video")
    status, ctype = page.evaluate(
        "u => fetch(u, {headers: {Range: 'bytes=0-15'}}).then(r => [r.status, r.headers.get('content-type')])", src)
    assert (status, ctype) == (206, "video/webm")  # seekable
    ctx.close()

    desk = browser.new_page(viewport=DESKTOP)
    desk.goto(server.url + src.rsplit("/video", 1)[0])
    shot(desk, "report-desktop")
    desk.goto(server.url + "/batch")
    assert "dev01_seated_r.mp4" in desk.content()
    shot(desk, "batch-desktop")
    desk.goto(server.url + "/history?athlete=Sam")
    assert "Sam — formcheck history" in desk.content()
    shot(desk, "history-desktop")
    desk.goto(server.url + "/")
    shot(desk, "check-desktop")
    desk.close()


# ------------------------------------------------------------------------------ bad input
def _expect_error(page, server, name: str, payload: bytes, text: str, shot_name: str | None = None):
    page.goto(server.url + "/")
    page.set_input_files("#clip", {"name": name, "mimeType": "video/mp4", "buffer": payload})
    page.click("#go")
    err = page.locator("#error")
    err.wait_for(state="visible", timeout=20_000)
    assert text in err.text_content()
    if shot_name:
        shot(page, shot_name)
    assert get_json(server.url + "/api/health")["ok"] is True  # still serving


def test_bad_uploads_get_clear_messages_and_the_server_keeps_serving(server, browser):
    page = browser.new_page(viewport=PHONE)
    _expect_error(page, server, "notes.mp4", b"these are my training notes\n" * 20,
                  "“notes.mp4” is a text file, not a video.", "error-text-phone")
    _expect_error(page, server, "photo.mp4", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 100,
                  "is a JPEG image, not a video")
    _expect_error(page, server, "empty.mp4", b"", "is empty (0 bytes)")
    _expect_error(page, server, "huge.mp4", b"\x00" * ((LIMIT_MB + 1) * 1024 * 1024),
                  f"accepts clips up to {LIMIT_MB} MB")
    # the same refusals from the server itself (a client without the page's checks)
    req = page.request
    big = b"\x00\x00\x00\x20ftypisom" + b"\x00" * ((LIMIT_MB + 1) * 1024 * 1024)
    for name, data, status, text in [
        ("empty.mp4", b"", 400, "is empty (0 bytes)"),
        ("huge.mp4", big, 413, f"accepts clips up to {LIMIT_MB} MB"),
        ("notes.mp4", b"hello\n" * 50, 415, "is a text file, not a video"),
    ]:
        r = req.post(server.url + "/api/upload", headers={"Accept": "application/json"},
                     multipart={"clip": {"name": name, "mimeType": "video/mp4", "buffer": data}})
        assert r.status == status and text in r.json()["error"], (name, r.status, r.text())
    # a refusal as a page (no JavaScript client)
    r = req.post(server.url + "/api/upload",
                 multipart={"clip": {"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"hi\n"}})
    assert r.status == 415 and "is a text file, not a video" in r.text()
    page.set_content(r.text())
    shot(page, "error-page-phone")
    # a path-traversal name is only ever a label
    traversal = req.post(server.url + "/api/upload", headers={"Accept": "application/json"},
                         multipart={"clip": {"name": "../../etc/passwd.mp4", "mimeType": "video/mp4",
                                             "buffer": b"\x00\x00\x00\x20ftypisom" + b"\x00" * 64}})
    assert traversal.status == 202
    job = get_json(server.url + traversal.json()["status"])
    assert job["name"] == "passwd.mp4"
    stored = [p.name for p in (server.data / "uploads").iterdir()]
    assert "passwd.mp4" not in stored and all(len(Path(n).stem) == 32 for n in stored)
    assert not (server.data.parent / "etc").exists()
    # that "video" is garbage: a clear error on its job page, server still up
    t_end = time.monotonic() + 120
    while job["state"] not in ("done", "error") and time.monotonic() < t_end:
        time.sleep(0.3)
        job = get_json(server.url + traversal.json()["status"])
    assert job["state"] == "error" and job["error"]
    page.goto(server.url + traversal.json()["page"])
    assert page.locator("#error").is_visible()
    assert get_json(server.url + "/api/health")["ok"] is True
    page.close()


def test_progress_polling_stops_on_a_reply_without_a_state(server, browser):
    """A status reply that is not a job's progress (the token page, an unknown job) ends the
    polling with a message on the upload page and the job page, instead of polling forever."""
    page = browser.new_page(viewport=PHONE)
    calls = []

    def denied(route):
        calls.append(route.request.url)
        route.fulfill(status=403, content_type="text/html", body="<h1>Access token needed</h1>")

    page.route("**/api/jobs/*", denied)
    page.goto(server.url + "/")
    page.set_input_files("#clip", {"name": "a.mp4", "mimeType": "video/mp4",
                                   "buffer": b"\x00\x00\x00\x20ftypisom" + b"\x00" * 64})
    page.click("#go")
    err = page.locator("#error")
    err.wait_for(state="visible", timeout=20_000)
    assert "access token" in err.text_content()
    assert len(calls) == 1  # asked once, then stopped
    page.unroute("**/api/jobs/*")
    page.route("**/api/jobs/*", lambda route: route.fulfill(
        status=404, content_type="application/json", body=json.dumps({"error": "No such job."})))
    r = page.request.post(server.url + "/api/upload", headers={"Accept": "application/json"},
                          multipart={"clip": {"name": "b.mp4", "mimeType": "video/mp4",
                                              "buffer": b"\x00\x00\x00\x20ftypisom" + b"\x00" * 64}})
    page.goto(server.url + r.json()["page"] + "?stay=1")
    err = page.locator("#error")
    err.wait_for(state="visible", timeout=20_000)
    assert err.text_content() == "No such job."
    page.close()


def test_token_required_on_a_gated_server(tmp_path, browser):
    s = Server(tmp_path / "data", "--token", "tok-123").start(token="tok-123")
    try:
        page = browser.new_page(viewport=PHONE)
        r = page.goto(s.url + "/")
        assert r.status == 403 and "Access token needed" in page.content()
        shot(page, "token-needed-phone")
        r = page.request.post(s.url + "/api/upload", multipart={
            "clip": {"name": "a.mp4", "mimeType": "video/mp4", "buffer": b"\x00\x00\x00\x20ftypisom"}})
        assert r.status == 403
        assert list((s.data / "uploads").iterdir()) == []
        r = page.goto(s.url + "/?token=tok-123")
        assert r.status == 200 and page.url == s.url + "/"  # token moved to a cookie
        assert page.locator("h1").first.text_content() == "Check a set"
        assert page.goto(s.url + "/batch").status == 200
        page.close()
    finally:
        s.stop()


def test_camera_refused_shows_what_to_do(server, pw):
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + ["--use-fake-device-for-media-stream",
                                                                          "--deny-permission-prompts"])
    try:
        page = b.new_page(viewport=PHONE)
        page.goto(server.url + "/live")
        page.click("#start")
        err = page.locator("#error")
        err.wait_for(state="visible", timeout=20_000)
        assert "Camera permission was refused" in err.text_content()
        shot(page, "live-refused-phone")
        assert get_json(server.url + "/api/health")["ok"] is True
    finally:
        b.close()


def test_live_page_starts_a_new_set_after_finish_without_a_reload(server, pw):
    """Finish set ends the session: the camera stops, Ready goes, Start camera comes back and
    starts a second session on the same page. (Chromium's fake camera shows no person, so no
    reps; the pose model loads, but nothing is timed.)"""
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    try:
        page = b.new_page(viewport=PHONE)
        page.goto(server.url + "/live")
        for _ in range(2):
            page.click("#start")
            page.wait_for_function("window.formcheckLive.connected && window.formcheckLive.answered > 0",
                                   timeout=60_000)
            assert page.locator("#intro").is_hidden()
            assert page.locator("#stop").is_enabled() and page.locator("#reset").is_enabled()
            page.click("#stop")
            page.wait_for_function("window.formcheckLive.summary !== null", timeout=30_000)
            page.locator("#start").wait_for(state="visible", timeout=10_000)
            assert page.locator("#start").is_enabled()
            assert page.locator("#ready").is_hidden()
            assert page.locator("#stop").is_disabled() and page.locator("#reset").is_disabled()
            assert page.locator("#summary").is_visible() and page.locator("#error").is_hidden()
            page.evaluate("window.formcheckLive.connected = false; window.formcheckLive.answered = 0")
        assert page.evaluate("document.querySelector('video').srcObject") is None  # camera off
    finally:
        b.close()


# ------------------------------------------------------------------------------ live (e2e)
@pytest.mark.e2e
def test_live_page_with_fake_camera_counts_the_reps(server, pw, tmp_path):
    y4m = tmp_path / "clip.y4m"
    write_y4m(SAMPLE, y4m)
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}", "--autoplay-policy=no-user-gesture-required"])
    try:
        page = b.new_page(viewport=PHONE)
        page.goto(server.url + "/live")
        page.fill("#athlete", "Live Tester")
        page.click("#start")
        page.wait_for_function("window.formcheckLive.connected", timeout=60_000)
        want = LABEL["expected_rep_count"]
        page.wait_for_function("window.formcheckLive.armed", timeout=60_000)
        assert page.locator("#ready").is_visible()
        # Chromium loops the file: stop once the count is reached (one pass is ~15 s)
        page.wait_for_function(f"window.formcheckLive.reps >= {want}", timeout=120_000)
        shot(page, "live-phone")
        stats = page.evaluate("window.formcheckLive")
        assert stats["reps"] == want
        assert page.locator("#reps").text_content() == str(want)
        lat = stats["latencies"]
        print(f"\nlive: {len(lat)} frames answered, latency p50 {percentile(lat, 50):.0f} ms, "
              f"p95 {percentile(lat, 95):.0f} ms, server p50 {percentile(stats['serverMs'], 50):.0f} ms")
        page.click("#stop")
        page.wait_for_function("window.formcheckLive.summary !== null", timeout=30_000)
        summary = page.evaluate("window.formcheckLive.summary")
        assert summary["reps"] >= want and summary["report"]
        # the live set is in the same store as uploads
        page.goto(server.url + "/history?athlete=Live%20Tester")
        assert "1 session" in page.content()
        page.goto(server.url + summary["report"])
        assert page.locator("#formcheck-report").count() == 1
        desk = b.new_page(viewport=DESKTOP)
        desk.goto(server.url + "/live")
        shot(desk, "live-desktop-intro")
        desk.close()
    finally:
        b.close()


# ------------------------------------------------------------------------------ restart (e2e)
@pytest.mark.e2e
def test_upload_interrupted_by_a_crash_is_finished_after_restart(tmp_path, browser, analyze_report):
    data = tmp_path / "data"
    s = Server(data).start()
    page = browser.new_page(viewport=DESKTOP)
    r = page.request.post(s.url + "/api/upload", headers={"Accept": "application/json"},
                          multipart={"clip": {"name": "set.mp4", "mimeType": "video/mp4",
                                              "buffer": SAMPLE.read_bytes()}})
    assert r.status == 202
    status_url = r.json()["status"]
    t_end = time.monotonic() + 120
    job = get_json(s.url + status_url)
    while not (job["state"] == "running" and job["progress"] >= 0.15) and time.monotonic() < t_end:
        time.sleep(0.2)
        job = get_json(s.url + status_url)
    assert job["state"] == "running"
    s.kill()  # the server dies mid-analysis
    time.sleep(1.5)  # its worker notices and exits
    s2 = Server(data, port=s.port).start()
    try:
        page.goto(s2.url + r.json()["page"])
        page.wait_for_url("**/clips/*", timeout=300_000)
        embedded = json.loads(page.locator("#formcheck-report").text_content())
        assert embedded["summary"]["rep_count"] == analyze_report["summary"]["rep_count"]
        assert fault_ids(embedded) == fault_ids(analyze_report)
        import sqlite3

        with sqlite3.connect(data / "jobs.sqlite") as c:
            attempts = c.execute("SELECT attempts FROM jobs").fetchall()
        assert attempts == [(2,)]
    finally:
        page.close()
        s2.stop()


@pytest.mark.e2e
def test_clip_with_nobody_in_it_says_so(server, browser, tmp_path):
    import cv2
    import numpy as np

    clip = tmp_path / "empty gym.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 15.0, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(30):  # 2 s of an empty, slightly noisy room
        w.write(np.clip(120 + rng.normal(0, 6, (240, 320, 3)), 0, 255).astype(np.uint8))
    w.release()
    page = browser.new_page(viewport=PHONE)
    page.goto(server.url + "/")
    page.set_input_files("#clip", str(clip))
    page.click("#go")
    err = page.locator("#error")
    err.wait_for(state="visible", timeout=180_000)
    assert err.text_content().startswith("No person was found in empty gym.mp4.")
    shot(page, "error-nobody-phone")
    assert get_json(server.url + "/api/health")["ok"] is True
    page.close()
