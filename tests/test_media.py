"""The media edge: PyAV decoding, the annotated-video writer, atomic outputs, overlay text.

Fast tier: synthetic frames and the sample clips' decoding (no pose model).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from formcheck.config import load_config
from formcheck.errors import VideoWriteError
from formcheck.media import sources
from formcheck.media.sources import VideoSource
from formcheck.media.video_out import atomic_output
from formcheck.render import annotate
from formcheck.render.video import VideoAnnotator


def synthetic(n: int, size=(160, 120), fps: float = 10.0):
    """(t_s, BGR image) pairs: a bright square moving right on a dark background."""
    w, h = size
    out = []
    for k in range(n):
        img = np.full((h, w, 3), 30, np.uint8)
        x = 5 + 4 * k
        cv2.rectangle(img, (x, 40), (x + 20, 60), (200, 220, 240), -1)
        out.append((k / fps, img))
    return out


def probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        return {"codec": s.codec_context.name, "pix_fmt": s.codec_context.pix_fmt,
                "size": (s.codec_context.width, s.codec_context.height), "n": len(frames),
                "times": [f.time for f in frames], "format": c.format.name}


# --------------------------------------------------------------------------- writing
def test_mp4_is_h264_yuv420p_with_faststart(tmp_path):
    out = tmp_path / "a.mp4"
    with VideoAnnotator(out, load_config(), fps=10.0) as va:
        for t, img in synthetic(12):
            va.write(img, t)
    p = probe(out)
    assert p["codec"] == "h264" and p["pix_fmt"] == "yuv420p"
    assert p["size"] == (160, 120) and p["n"] == 12
    assert np.allclose(p["times"], np.arange(12) / 10.0, atol=1e-3)
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # +faststart: index before the media
    assert [q.name for q in tmp_path.iterdir()] == ["a.mp4"]


@pytest.mark.parametrize("codec,expect", [("vp8", "vp8"), ("vp9", "vp9")])
def test_webm_by_suffix(tmp_path, codec, expect):
    from formcheck.config import Config, merge

    cfg = merge(Config(), {"video": {"webm_codec": codec}})
    out = tmp_path / "a.webm"
    with VideoAnnotator(out, cfg, fps=10.0) as va:
        for t, img in synthetic(8):
            va.write(img, t)
    p = probe(out)
    assert p["codec"] == expect and p["n"] == 8 and p["format"].startswith("matroska")


def test_no_suffix_defaults_to_mp4(tmp_path):
    va = VideoAnnotator(tmp_path / "clip_annotated", load_config(), fps=10.0)
    assert va.path == tmp_path / "clip_annotated.mp4" and va.fourcc == "avc1"
    va.close()


def test_odd_sized_frames_are_written(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoAnnotator(out, load_config(), fps=10.0) as va:
        for t, img in synthetic(5, size=(161, 121)):
            va.write(img, t)
    assert probe(out)["size"] == (160, 120)


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(KeyboardInterrupt):
        with VideoAnnotator(out, load_config(), fps=10.0) as va:
            for t, img in synthetic(40):
                va.write(img, t)
                if t > 1.0:
                    raise KeyboardInterrupt
    assert out.read_bytes() == b"previous video"
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]


def test_close_during_an_exception_discards_the_partial_video(tmp_path):
    """The CLI closes the annotator in a ``finally:``; after Ctrl-C that must not commit."""
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous video")
    va = VideoAnnotator(out, load_config(), fps=10.0)
    with pytest.raises(KeyboardInterrupt):
        try:
            for t, img in synthetic(20):
                va.write(img, t)
            raise KeyboardInterrupt
        finally:
            va.close()
    assert out.read_bytes() == b"previous video"
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]


def test_atomic_output(tmp_path):
    target = tmp_path / "r.bin"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not target.exists()
        tmp.write_bytes(b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"one"
    assert [q.name for q in tmp_path.iterdir()] == ["r.bin"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    um = os.umask(0)
    os.umask(um)
    return um


def test_unwritable_folder_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(VideoWriteError, match="permission denied"):
            with VideoAnnotator(ro / "a.mp4", load_config(), fps=10.0) as va:
                for t, img in synthetic(3):
                    va.write(img, t)
    finally:
        ro.chmod(0o700)


# --------------------------------------------------------------------------- overlay text
@pytest.mark.parametrize("label,scale,th", [("PAST NEUTRAL", 0.45, 1), ("top prone", 0.6, 2),
                                           ("REPS 12", 1.3, 3)])
def test_outlined_text_is_not_doubled(label, scale, th):
    """The fill of outlined text covers the same columns as the text drawn alone, and the
    outline adds at most its own width on the right (a thicker outline stroke used to shift
    every glyph: 'PAST NEUTRALL')."""
    bg = np.full((80, 400, 3), 128, np.uint8)
    plain, outlined = bg.copy(), bg.copy()
    w_plain = annotate._text(plain, label, (10, 50), scale, annotate.WHITE, th, outline=False)
    w_out = annotate._text(outlined, label, (10, 50), scale, annotate.WHITE, th, outline=True)
    assert w_plain == w_out
    bright = lambda im: (im > 200).all(axis=2)  # the white fill
    inked = lambda im: (np.abs(im.astype(int) - 128) > 20).any(axis=2)  # anything drawn
    fill_plain = np.flatnonzero(bright(plain).any(axis=0))
    fill_out = np.flatnonzero(bright(outlined).any(axis=0))
    assert abs(fill_out[0] - fill_plain[0]) <= 1 and abs(fill_out[-1] - fill_plain[-1]) <= 1
    ink_plain = np.flatnonzero(inked(plain).any(axis=0))
    ink_out = np.flatnonzero(inked(outlined).any(axis=0))
    assert ink_out[-1] - ink_plain[-1] <= annotate.OUTLINE_PX + 1
    assert ink_plain[0] - ink_out[0] <= annotate.OUTLINE_PX + 1
    # And the outline is there: dark pixels right next to the fill.
    assert (outlined < 60).all(axis=2).sum() > 0.3 * bright(outlined).sum()


def test_outlined_text_clipped_at_the_image_edge():
    img = np.full((30, 60, 3), 128, np.uint8)
    annotate._text(img, "PAST NEUTRAL", (40, 10), 0.8, annotate.WHITE, 2)  # mostly outside
    assert (img > 200).all(axis=2).any()


# --------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("profile,limit", [("seated", 10.0), ("prone", 25.0)])
def test_the_dial_turns_red_past_the_profiles_hyperextension_limit(profile, limit):
    """The video's dial judges a finish as the fault rule does: a face-down finish of +13°
    (a slight arch, seed 000) is the top, not 'PAST NEUTRAL'."""
    from formcheck.config import Config

    cfg = Config()
    assert (cfg.faults.max_extension_deg, cfg.faults.prone_max_extension_deg) == (10.0, 25.0)
    g = annotate.ExtensionGaugeAnnotator(cfg.reps, cfg.faults)
    red = [(a, b) for a, b, col in g.zones(profile) if col == annotate.RED]
    assert red == [(limit, max(40.0, limit + 20.0))]
    assert g.zone_name(13.0, profile) == ("PAST NEUTRAL" if profile == "seated" else "TOP")
    assert g.zone_name(limit + 0.5, profile) == "PAST NEUTRAL"
    assert g.zone_name(limit, profile) == "TOP"


def test_decoding_matches_opencv_timestamps_and_pixels():
    clip = SAMPLES / "dev01_seated_r.mp4"
    cap = cv2.VideoCapture(str(clip))
    ref = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        ref.append((cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, img))
    with VideoSource(clip) as src:
        got = [(f.t_s, f.image) for f in src]
        info = src.info
    assert len(got) == len(ref) == info.n_frames
    assert np.allclose([t for t, _ in got], [t for t, _ in ref], atol=1e-6)
    diff = np.abs(got[len(got) // 2][1].astype(int) - ref[len(ref) // 2][1].astype(int))
    assert diff.mean() < 2.0  # same picture (colour conversion may differ by a level)


def test_max_fps_decimation_keeps_container_times():
    clip = SAMPLES / "dev01_seated_r.mp4"
    with VideoSource(clip, max_fps=10) as src:
        t = np.array([f.t_s for f in src])
    assert np.allclose(np.diff(t), 0.1, atol=0.02)


def test_stopping_early_releases_the_decoder():
    clip = SAMPLES / "dev01_seated_r.mp4"
    import threading

    before = threading.active_count()
    with VideoSource(clip, prefetch=3) as src:
        for k, _ in enumerate(src):
            if k == 5:
                break
    assert threading.active_count() == before


# --------------------------------------------------------------------------- e2e: players, Ctrl-C
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _annotated_sample(out: Path, seconds: float = 1.5) -> int:
    """Write the overlay-drawn first ``seconds`` of a sample clip to ``out``; return frames."""
    from formcheck.render.annotate import FormOverlay, OverlayState

    cfg = load_config()
    overlay = FormOverlay(cfg)
    n = 0
    with VideoSource(SAMPLES / "dev01_seated_r.mp4") as src, \
            VideoAnnotator(out, cfg, fps=src.info.fps) as va:
        for fr in src:
            if fr.t_s > seconds:
                break
            st = OverlayState(t_s=fr.t_s, rep_count=1, phase="top", last_e=-5.0, profile="seated")
            va.write(overlay.annotate(fr.image, st), fr.t_s)
            n += 1
    return n


@pytest.mark.e2e
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
@pytest.mark.parametrize("name", ["annotated.mp4", "annotated.webm"])
def test_annotated_video_plays_in_headless_chromium(tmp_path, name):
    import functools
    import http.server
    import threading

    playwright = pytest.importorskip("playwright.sync_api")
    n = _annotated_sample(tmp_path / name)
    (tmp_path / "index.html").write_text(
        f'<video id="v" src="{name}" preload="metadata" muted></video>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            meta = page.evaluate("""() => new Promise((resolve) => {
                const v = document.getElementById('v');
                const done = () => resolve({duration: v.duration, width: v.videoWidth,
                                            height: v.videoHeight, error: v.error && v.error.code});
                if (v.readyState >= 1) done();
                v.addEventListener('loadedmetadata', done);
                v.addEventListener('error', done);
                setTimeout(done, 15000);
            })""")
            browser.close()
    finally:
        server.shutdown()
    assert meta["error"] is None, meta
    assert meta["width"] == 640 and meta["height"] == 480
    assert meta["duration"] == pytest.approx(n / 30.0, abs=0.1)


def analyze_until_writing(folder: Path, sample: str, *options: str):
    """Start ``formcheck analyze`` on a sample clip (cwd ``folder``) and return once its
    annotated video is being written (the temporary file beside it exists): the process and
    when it started."""
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", "analyze", str(SAMPLES / sample), *options],
                            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and proc.poll() is None:
        if any(p.name.startswith(".") and ".part" in p.name for p in folder.iterdir()):
            break
        time.sleep(0.02)
    return proc, t0


@pytest.mark.e2e
def test_sigint_during_annotate_keeps_the_previous_video(tmp_path):
    import signal
    import time

    out = tmp_path / "out.mp4"
    previous = b"\x00\x00\x00\x18ftypmp42 a previous annotated video"
    out.write_bytes(previous)
    proc, t0 = analyze_until_writing(tmp_path, "dev03_prone_r.mp4", "--annotate", str(out), "-q")
    # Interrupt once the video is being written (its temporary file exists), ~1.5 s in.
    time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
    assert proc.poll() is None, "the analysis ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert out.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"], "a partial file was left behind"


@pytest.mark.e2e
@pytest.mark.parametrize("after_s", [1.0, 2.5, 4.0])
def test_a_doubled_sigint_while_writing_every_output_stops_cleanly(tmp_path, after_s):
    """``timeout -s INT`` signals the command and then its process group: two SIGINTs at once.
    Before the interrupt waited for a safe point between frames, one of them could land inside
    the video writer's queue or a generator's clean-up, and analyze hung (5 of 46 runs), crashed
    or printed a traceback. Now: exit 130 at once, the previous outputs as they were, nothing
    else left behind, and one line on stderr."""
    import signal
    import subprocess
    import time

    outs = {name: tmp_path / name for name in ("o.json", "o.csv", "o.html", "o.mp4")}
    for name, p in outs.items():
        p.write_bytes(f"previous {name}".encode())
    proc, _ = analyze_until_writing(
        tmp_path, "dev01_seated_r.mp4", "-q", "--json", str(outs["o.json"]), "--csv", str(outs["o.csv"]),
        "--html", str(outs["o.html"]), "--annotate", str(outs["o.mp4"]))
    time.sleep(after_s)
    assert proc.poll() is None, "the analysis ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("analyze hung after SIGINT")
    assert proc.returncode == 130, err.decode()
    for name, p in outs.items():
        assert p.read_bytes() == f"previous {name}".encode(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outs), "a partial file was left behind"
    lines = [ln for ln in err.decode().splitlines() if ln.strip()]
    assert lines[-1] == "formcheck: interrupted"
    assert all("Traceback" not in ln and "Exception ignored" not in ln for ln in lines), lines


# --------------------------------------------------------------------------- native logs, people
NATIVE = ("W0000 00:00:1700000000.123456   4242 landmark_projection_calculator.cc:81] Using "
          "NORM_RECT without IMAGE_DIMENSIONS is only supported for the square ROI.\n")


def _run_py(code: str, *args: str):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("FORMCHECK_NATIVE_LOGS", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_native_log_filter_drops_native_lines_and_keeps_the_rest():
    out = _run_py(
        "import os, sys\n"
        "from formcheck.media.native import NativeLogFilter\n"
        "f = NativeLogFilter()\n"
        "for k in range(3):\n"
        "    with f:\n"
        f"        os.write(2, {NATIVE.encode()!r})\n"
        "        print('kept line', k, file=sys.stderr)\n"
        "print('dropped', f.dropped)\n")
    assert out.returncode == 0, out.stderr
    assert "landmark_projection" not in out.stderr
    assert out.stderr.splitlines() == ["kept line 0", "kept line 1", "kept line 2"]
    assert out.stdout.strip() == "dropped 3"


def test_native_log_filter_blocks_overlapping_in_two_threads():
    """Two pose models in parallel: fd 2 stays captured until the last block closes, the lines
    of a block that closes while another is open come out at once, nothing is lost."""
    out = _run_py(
        "import os, sys, threading\n"
        "from formcheck.media.native import NativeLogFilter\n"
        "ino = os.fstat(2).st_ino\n"
        "fa, fb = NativeLogFilter(), NativeLogFilter()\n"
        "a_in, b_done = threading.Event(), threading.Event()\n"
        "def a():\n"
        "    with fa:\n"
        "        a_in.set()\n"
        f"        os.write(2, {NATIVE.encode()!r})\n"
        "        b_done.wait(30)\n"
        "        print('kept a', file=sys.stderr)\n"
        "def b():\n"
        "    a_in.wait(30)\n"
        "    with fb:\n"
        f"        os.write(2, {NATIVE.encode()!r})\n"
        "        print('kept b', file=sys.stderr)\n"
        "    print('b closed, still captured', os.fstat(2).st_ino != ino)\n"
        "    b_done.set()\n"
        "ts = [threading.Thread(target=a), threading.Thread(target=b)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print('dropped', fa.dropped + fb.dropped, 'restored', os.fstat(2).st_ino == ino)\n")
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == ["kept b", "kept a"]
    assert out.stdout.splitlines() == ["b closed, still captured True", "dropped 2 restored True"]


@pytest.mark.e2e
def test_no_native_warning_on_a_clip_without_a_person(tmp_path):
    """The model runs on a blank clip in a subprocess; MediaPipe's C++ log lines (also when
    logged later than the first frames, simulated by writing one on every inference) never
    reach stderr, while a warning logged by another thread during inference does."""
    clip = tmp_path / "blank.mp4"
    with av.open(str(clip), "w") as c:
        st = c.add_stream("libx264", rate=30)
        st.width, st.height, st.pix_fmt = 320, 240, "yuv420p"
        for k in range(45):
            f = av.VideoFrame.from_ndarray(np.full((240, 320, 3), 60 + k, np.uint8), format="bgr24")
            f.pts = k
            for p in st.encode(f):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    code = (
        "import logging, os, sys, threading\n"
        "from formcheck.media.pose import PoseEstimator\n"
        "from formcheck.media.sources import VideoSource\n"
        "est = PoseEstimator()\n"
        "real = est._landmarker.detect_for_video\n"
        "def noisy(img, ms):\n"
        f"    os.write(2, {NATIVE.encode()!r})\n"
        "    if 1000 <= ms < 1034:\n"
        "        t = threading.Thread(target=lambda: logging.warning('python warning kept'))\n"
        "        t.start(); t.join()\n"
        "    return real(img, ms)\n"
        "if sys.argv[2] == 'inject':\n"
        "    est._landmarker.detect_for_video = noisy\n"
        "n = found = 0\n"
        "with VideoSource(sys.argv[1]) as src:\n"
        "    for fr in src:\n"
        "        n += 1\n"
        "        found += est.detect(fr.image, fr.t_s) is not None\n"
        "est.close()\n"
        "print(n, found)\n")
    for mode in ("plain", "inject"):
        out = _run_py(code, str(clip), mode)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["45", "0"]
        assert "landmark_projection_calculator" not in out.stderr
        assert ".cc:" not in out.stderr, out.stderr
        if mode == "inject":
            assert "python warning kept" in out.stderr


@pytest.mark.e2e
def test_detect_all_finds_two_people():
    from formcheck.media.pose import PoseEstimator

    with VideoSource(SAMPLES / "dev01_seated_r.mp4") as src:
        frames = [fr for _, fr in zip(range(10), src)]
    with PoseEstimator(num_poses=3) as multi, PoseEstimator() as single:
        for fr in frames:
            two = np.hstack([fr.image, cv2.flip(fr.image, 1)])  # the athlete and a mirror image
            people = multi.detect_all(two, fr.t_s)
            one = single.detect_all(two, fr.t_s)
        assert len(people) == 2 and len(one) == 1
        hips_x = sorted(float(p.xy[23:25, 0].mean()) for p in people)
        assert hips_x[0] < 640 < hips_x[1]  # one person in each half
        assert multi.detect(two, frames[-1].t_s + 0.04) is not None
    with pytest.raises(ValueError, match="num_poses: expected an integer >= 1, got 0"):
        PoseEstimator(num_poses=0)


def paste_person(images, donor: np.ndarray, start_s: float, fps: float = 30.0):
    """``donor`` (a picture of another person, taller than the exerciser) slid in from the left
    edge over 3 s from ``start_s``, next to the exerciser, and out again over the next 3 s."""
    ph, pw = donor.shape[:2]
    for k, im in enumerate(images):
        t = k / fps - start_s
        if not 0.0 <= t < 6.0:
            yield im
            continue
        x = round(-pw + min(t, 6.0 - t) / 3.0 * (pw + 10))
        x0, x1 = max(x, 0), min(x + pw, im.shape[1])
        out = im.copy()
        if x1 > x0:
            out[im.shape[0] - ph :, x0:x1] = donor[:, x0 - x : x1 - x]
        yield out


@pytest.mark.e2e
def test_a_taller_person_beside_the_exerciser_neither_takes_over_nor_mixes_in(tmp_path):
    """A second person pasted beside the exerciser of a sample clip (another clip's athlete,
    1.1x as tall, during reps 1 and 2): the reps and faults of the clip as labelled. Without the
    second look with the other person hidden, the exerciser's hip landmark drifted 50 px toward
    them and rep 2 was lost."""
    from formcheck.app.session import Session

    clip = SAMPLES / "dev01_seated_r.mp4"
    label = json.loads(clip.with_suffix(".json").read_text())
    donor = clip_images(SAMPLES / "dev02_seated_l.mp4", 0, 0.05)[0][40:450, 150:380]
    donor = cv2.resize(donor, None, fx=1.1, fy=1.1)
    p = encode_clip(tmp_path / "two.mp4", paste_person(clip_images(clip), donor, start_s=4.0))
    with Session(load_config()) as s, VideoSource(p) as src:
        s.run(src)
        res = s.finish()
    assert [sorted(f.id for f in r.faults) for r in res.reps] == [sorted(r["faults"]) for r in label["reps"]]
    assert res.rep_count == label["expected_rep_count"]
    assert s.second_looks > 0


def test_hide_people_fills_the_others_outside_the_kept_box():
    from formcheck.media.pose import hide_people

    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 100:] = 200  # mean colour 100
    out = hide_people(img, [np.array([-10.0, 10.0, 120.0, 50.0])], keep=np.array([90.0, 0.0, 200.0, 100.0]))
    assert (out[10:50, 0:90] == 100).all()  # hidden, clipped at the image's edge
    assert (out[10:50, 90:120] == img[10:50, 90:120]).all()  # inside the kept box: untouched
    assert (out[50:, :90] == 0).all() and (out[:10, :90] == 0).all()
    assert (img[10:50, 0:90] == 0).all()  # the input is not changed


# --------------------------------------------------------------------------- scene cuts
def encode_clip(path: Path, images, fps: float = 30.0) -> Path:
    """Write BGR images as H.264 (PyAV), ``fps`` frames per second."""
    images = iter(images)
    first = next(images)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"preset": "ultrafast", "crf": "18"}
        k = 0
        for img in _chain(first, images):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            f.pts = k
            k += 1
            for p in st.encode(f):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    return path


def _chain(first, rest):
    yield first
    yield from rest


def clip_images(path: Path, start_s: float = 0.0, end_s: float = 1e9):
    with VideoSource(path, prefetch=0, detect_cuts=False) as src:
        return [fr.image for fr in src if start_s <= fr.t_s <= end_s]


@pytest.mark.parametrize("a,b", [("dev01_seated_r", "dev03_prone_r"),
                                 ("dev02_seated_l", "dev01_seated_r")])
def test_one_cut_at_the_join_of_two_clips(tmp_path, a, b):
    first = clip_images(SAMPLES / f"{a}.mp4", 0, 4.0)
    second = clip_images(SAMPLES / f"{b}.mp4", 2.0, 6.0)
    p = encode_clip(tmp_path / "edited.mp4", first + second)
    with VideoSource(p) as src:
        cuts = [fr.index for fr in src if fr.cut]
    assert cuts == [len(first)]


@pytest.mark.parametrize("clip", sorted(SAMPLES.glob("*.mp4")), ids=lambda c: c.stem)
def test_no_cut_in_a_single_shot(clip):
    with VideoSource(clip) as src:
        cuts = [fr.index for fr in src if fr.cut]
    assert cuts == []


def test_no_cut_on_light_flicker_or_a_fast_pan(tmp_path):
    imgs = clip_images(SAMPLES / "dev01_seated_r.mp4", 0, 3.0)
    flicker = [np.clip(im.astype(int) + (25 if k % 7 == 3 else 0), 0, 255).astype(np.uint8)
               for k, im in enumerate(imgs)]
    pan = [np.roll(im, 12 * k, axis=1) for k, im in enumerate(imgs)]  # 12 px/frame
    for name, seq in (("flicker", flicker), ("pan", pan)):
        p = encode_clip(tmp_path / f"{name}.mp4", seq)
        with VideoSource(p) as src:
            assert [fr.index for fr in src if fr.cut] == [], name


@pytest.mark.e2e
@pytest.mark.parametrize("cut", ["after the set", "at the bottom of rep 3"])
def test_an_edited_clip_is_counted_shot_by_shot_and_never_across_the_cut(tmp_path, cut):
    """Two sample clips joined as an editor would: the reps and faults of each shot as labelled,
    two spans, one cut at the join. Cut at the bottom of a rep, that rep is not counted. The
    second shot (another person, facing the other way) is judged against its own head carriage,
    not the first shot's."""
    from formcheck.app.pipeline import analyze_clip

    la, lb = (json.loads((SAMPLES / f"{n}.json").read_text()) for n in ("dev01_seated_r", "dev02_seated_l"))
    kept = la["reps"] if cut == "after the set" else la["reps"][:2]
    cut_t = la["duration_s"] if cut == "after the set" else la["reps"][2]["t_bottom"]
    first = clip_images(SAMPLES / "dev01_seated_r.mp4", 0, cut_t)
    second = clip_images(SAMPLES / "dev02_seated_l.mp4")
    report = analyze_clip(encode_clip(tmp_path / "edited.mp4", first + second), load_config()).report
    join = len(first) / 30.0
    assert all(r["counted"] for r in report["reps"])
    assert [sorted(f["id"] for f in r["faults"]) for r in report["reps"]] == \
        [sorted(r["faults"]) for r in kept + lb["reps"]]
    assert report["scene"]["cuts_s"] == [pytest.approx(join, abs=0.04)]
    (a0, a1), (b0, b1) = report["scene"]["spans_s"]
    assert a0 == 0.0 and a1 < b0 == pytest.approx(join, abs=0.04)
    assert b1 == pytest.approx(join + lb["duration_s"], abs=0.1)
    assert all(r["t_end"] <= join or r["t_start"] >= join for r in report["reps"])
    assert report["scene"]["span_views"] == [{"profile": "seated", "facing": "right"},
                                             {"profile": "seated", "facing": "left"}]


# --------------------------------------------------------------------------- orientation, bars
def _reps(path: Path) -> int:
    from formcheck.app.pipeline import analyze_clip

    return analyze_clip(path, load_config(), include_frames=False).report["summary"]["rep_count"]


@pytest.mark.e2e
@pytest.mark.parametrize("turn", [90, 270])
def test_turned_clip_without_metadata_is_analysed_upright(tmp_path, turn):
    from formcheck.media.sources import rotate_cw

    clip = SAMPLES / "dev02_seated_l.mp4"
    label = __import__("json").loads(clip.with_suffix(".json").read_text())
    p = encode_clip(tmp_path / "turned.mp4", (rotate_cw(im, turn) for im in clip_images(clip)))
    with VideoSource(p) as src:
        assert src.info.rotation_deg == 0  # no metadata
        assert src.info.rotation_probe == (360 - turn) % 360
        assert next(iter(src)).image.shape[:2] == (480, 640)
    from formcheck.app.pipeline import analyze_clip

    rep = analyze_clip(p, load_config(), include_frames=False).report
    assert rep["summary"]["rep_count"] == label["expected_rep_count"]
    assert any(f"analysed turned {(360 - turn) % 360}° clockwise" in w for w in rep["warnings"])


@pytest.mark.e2e
def test_upright_clips_stay_upright():
    for clip in sorted(SAMPLES.glob("*.mp4")):
        with VideoSource(clip) as src:
            assert src.info.rotation_probe == 0, clip.name


def pillarbox(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` in the centre of a ``width``-wide canvas whose sides hold a blurred, scaled
    copy of it (as phone editors export a portrait video in a landscape frame)."""
    h, w = image.shape[:2]
    bg = cv2.resize(image, (width, round(h * width / w)))
    y0 = (bg.shape[0] - h) // 2
    bg = cv2.GaussianBlur(bg[y0 : y0 + h], (0, 0), 18)
    x0 = (width - w) // 2
    bg[:, x0 : x0 + w] = image
    return bg


@pytest.mark.e2e
def test_blurred_pillarbox_is_cropped(tmp_path):
    clip = SAMPLES / "dev01_seated_r.mp4"
    label = __import__("json").loads(clip.with_suffix(".json").read_text())
    p = encode_clip(tmp_path / "pillar.mp4", (pillarbox(im, 1000) for im in clip_images(clip)))
    with VideoSource(p) as src:
        x, y, w, h = src.info.crop
        first = next(iter(src))
    assert abs(x - 180) <= 4 and abs(w - 640) <= 8 and y == 0 and h == 480
    assert first.image.shape[1] == w
    assert _reps(p) == label["expected_rep_count"]


def test_no_crop_without_bars():
    from formcheck.media import orientation

    for clip in sorted(SAMPLES.glob("*.mp4")):
        assert orientation.find_content_box(sources.sample_frames(clip)) is None, clip.name


def test_black_letterbox_is_found_and_flat_wall_and_floor_are_not():
    from formcheck.media import orientation

    imgs = clip_images(SAMPLES / "dev03_prone_r.mp4", 0, 1.0)[::10]
    boxed = [cv2.copyMakeBorder(im, 60, 60, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0)) for im in imgs]
    x, y, w, h = orientation.find_content_box(boxed)
    assert (x, w) == (0, 640) and abs(y - 60) <= 3 and abs(h - 480) <= 6
    # Plain wall above and floor below of different heights: not bars.
    uneven = [cv2.copyMakeBorder(im, 70, 40, 0, 0, cv2.BORDER_CONSTANT, value=(200, 200, 200))
              for im in imgs]
    assert orientation.find_content_box(uneven) is None


# --------------------------------------------------------------------------- phones' and editors' files
def _write(path: Path, n: int = 60, fps: int = 30, codec: str = "libx264", size=(160, 120),
           pts=None, sar=None, options=None) -> Path:
    """A clip of ``n`` frames of :func:`synthetic` pictures; ``pts`` (in 1/fps units) for
    variable frame rates, ``sar`` for non-square pixels, ``options`` for the encoder."""
    with av.open(str(path), "w") as c:
        st = c.add_stream(codec, rate=fps)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"preset": "ultrafast", **(options or {})} if codec == "libx264" else (options or {})
        if sar is not None:
            st.codec_context.sample_aspect_ratio = Fraction(sar)
        for k, (_, img) in enumerate(synthetic(n, size, fps)):
            f = av.VideoFrame.from_ndarray(img, format="bgr24")
            f.pts = k if pts is None else pts[k]
            for p in st.encode(f):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    return path


def test_non_square_pixels_are_stretched_to_the_display_aspect(tmp_path):
    """An anamorphic clip (stored 160x120, pixels twice as wide as tall) is seen as 320x120:
    angles are measured on the picture as it is meant to look."""
    p = _write(tmp_path / "sar.mp4", sar="2/1")
    with VideoSource(p, prefetch=0) as src:
        assert (src.info.width, src.info.height) == (320, 120)
        images = [f.image for f in src]
    assert {im.shape for im in images} == {(120, 320, 3)}
    square = [img for _, img in synthetic(60)]
    # the square moves 4 px a frame stored, 8 px displayed
    cols = [np.flatnonzero(im[50, :, 0] > 150) for im in (images[10], images[20])]
    ref = [np.flatnonzero(im[50, :, 0] > 150) for im in (square[10], square[20])]
    assert cols[1][0] - cols[0][0] == pytest.approx(2 * (ref[1][0] - ref[0][0]), abs=2)


def test_times_of_an_avi_with_b_frames_follow_the_nominal_rate(tmp_path):
    """H.264 with B-frames in AVI: the container has no presentation times, FFmpeg's guesses
    come in decode order (1, 4, 3, 5, 2, ...), so they are replaced by the constant rate."""
    p = _write(tmp_path / "b.avi", n=90, options={"bf": "3", "crf": "23"})
    with av.open(str(p)) as c:
        raw = [f.pts for f in c.decode(c.streams.video[0])]
    assert raw != sorted(raw)  # the problem is there
    with VideoSource(p, prefetch=0) as src:
        t = np.array([f.t_s for f in src])
    steps = np.diff(t)[10:]
    assert np.allclose(steps, 1 / 30, atol=1e-3) and len(t) == 90


def test_a_variable_rate_webm_is_whole_and_a_cut_matroska_is_truncated(tmp_path):
    """WebM and Matroska announce no frame count: a variable-rate clip (a phone's camera slowing
    down) is read whole, not "truncated"; one whose data stops early is."""
    pts = [k if k < 30 else 30 + 3 * (k - 30) for k in range(60)]  # 30 fps, then 10 fps
    p = _write(tmp_path / "vfr.webm", codec="libvpx", pts=pts, options={"deadline": "realtime"})
    with VideoSource(p, prefetch=0) as src:
        n = sum(1 for _ in src)
        assert not src.truncated and n == 60
        assert src.info.n_frames == 60 and src.info.duration_s == pytest.approx((117 + 1) / 30, abs=0.01)
    whole = _write(tmp_path / "whole.mkv", n=150)
    cut = tmp_path / "cut.mkv"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with VideoSource(cut, prefetch=0) as src:
        sum(1 for _ in src)
        assert src.truncated
    from formcheck.app.session import truncation_warning

    assert truncation_warning(src).startswith("Only ") and "looks truncated" in truncation_warning(src)


def test_a_start_offset_is_not_counted_in_the_clip_length(tmp_path):
    """Matroska counts the start offset in its duration (MP4 does not): a clip starting at 3.5 s
    lasts as long as its frames, and is not "truncated"."""
    p = _write(tmp_path / "late.mkv", n=60, pts=[105 + k for k in range(60)])
    with VideoSource(p, prefetch=0) as src:
        t = [f.t_s for f in src]
        assert t[0] == 0.0 and not src.truncated
        assert src.info.duration_s == pytest.approx(2.0, abs=0.04)


def test_a_picture_found_turned_is_said_in_the_report():
    from types import SimpleNamespace

    from formcheck.app.session import probe_turn_note

    turned = SimpleNamespace(info=SimpleNamespace(rotation_probe=90))
    assert "analysed turned 90° clockwise" in probe_turn_note(turned)
    assert probe_turn_note(SimpleNamespace(info=SimpleNamespace(rotation_probe=0))) is None
