"""Bad input, tried on purpose. The corpus is generated here; nothing large is committed.

Each case states the expected behaviour: an error message and exit status, or a warning and a
(partial) report. No Python traceback may reach the user for an expected problem.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import struct
import wave

import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from formcheck.app.cli import main
from formcheck.errors import ModelError, OutputError
from formcheck.render.report import atomic_write
from formcheck.media.sources import VideoSource

CLIP = SAMPLES / "dev01_seated_r.mp4"
LABEL = json.loads(CLIP.with_suffix(".json").read_text())


def cli(capsys, *argv):
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def write_clip(path, frames, fps=30.0, fourcc="mp4v"):
    """Write frames (any iterable of same-size BGR images) as a video; returns the path."""
    vw = None
    for f in frames:
        if vw is None:
            h, w = f.shape[:2]
            vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
            assert vw.isOpened()
        vw.write(f)
    vw.release()
    return path


def sample_frames(start_s=0.0, end_s=None, scale=1.0):
    cap = cv2.VideoCapture(str(CLIP))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
        if t < start_s or (end_s is not None and t > end_s):
            continue
        out.append(cv2.resize(f, None, fx=scale, fy=scale) if scale != 1 else f)
    cap.release()
    return out


# ------------------------------------------------------------------ files that are not videos
@pytest.mark.parametrize("make,expect", [
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: p.write_text("this is not a video\n"), "Cannot open"),
    (lambda p: p.mkdir(), "is a folder, not a video"),
    (lambda p: None, "No such file"),
])
def test_unusable_paths(tmp_path, capsys, make, expect):
    p = tmp_path / "clip.mp4"
    make(p)
    code, out, err = cli(capsys, "analyze", p)
    assert code == 2
    assert expect in err


def test_image_file(tmp_path, capsys):
    p = tmp_path / "photo.png"
    cv2.imwrite(str(p), np.full((64, 64, 3), 128, np.uint8))
    code, _, err = cli(capsys, "analyze", p)
    assert code == 2 and "still image" in err
    renamed = tmp_path / "photo.mp4"  # an image with a video's name
    shutil.copy(p, renamed)
    code, _, err = cli(capsys, "analyze", renamed)
    assert code == 2 and "single frame" in err


def test_audio_file(tmp_path, capsys):
    p = tmp_path / "voice.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    code, _, err = cli(capsys, "analyze", p)
    assert code == 2 and "audio file" in err
    renamed = tmp_path / "voice.mp4"
    shutil.copy(p, renamed)
    code, _, err = cli(capsys, "analyze", renamed)
    assert code == 2 and ("no video stream" in err or "Cannot open" in err)


@pytest.mark.e2e  # runs the pose model on half the sample clip
def test_truncated_file_gives_a_partial_report_and_a_warning(tmp_path, capsys):
    data = CLIP.read_bytes()
    p = tmp_path / "downloading.mp4"
    p.write_bytes(data[: len(data) // 2])
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json)
    assert code == 0
    rep = json.loads(out_json.read_text())
    assert any("truncated" in w for w in rep["warnings"])
    assert 0 < len(rep["frames"]["t_s"]) < LABEL["n_frames"]


def test_truncated_without_index_is_an_error(tmp_path, capsys):
    src = write_clip(tmp_path / "whole.mp4", sample_frames(0, 1.0))  # mp4v: index at the end
    p = tmp_path / "cut.mp4"
    p.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    code, _, err = cli(capsys, "analyze", p)
    assert code == 2 and "truncated" in err


# ------------------------------------------------------------------ odd videos
@pytest.mark.e2e
def test_one_by_one_video_finds_nobody(tmp_path, capsys):
    p = write_clip(tmp_path / "tiny.avi", [np.full((1, 1, 3), v, np.uint8) for v in range(0, 250, 5)],
                   fourcc="MJPG")
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json)
    assert code == 3 and "No person was found" in err
    assert json.loads(out_json.read_text())["summary"]["rep_count"] == 0  # the report is kept


@pytest.mark.e2e
def test_clip_with_no_person(tmp_path, capsys):
    frames = [np.full((240, 320, 3), (40 + k, 90, 160), np.uint8) for k in range(60)]
    p = write_clip(tmp_path / "wall.mp4", frames)
    code, out, err = cli(capsys, "analyze", p)
    assert code == 3 and "No person was found" in err and "side-on" in err


def test_4k_frames_are_downscaled_before_the_model(tmp_path):
    frames = [cv2.resize(f, (3840, 2880)) for f in sample_frames(0, 0.3)]
    p = write_clip(tmp_path / "uhd.mp4", frames)
    with VideoSource(p) as src:
        shapes = {fr.image.shape for fr in src}
        assert (src.info.width, src.info.height) == (3840, 2880)
    assert shapes == {(960, 1280, 3)}


@pytest.mark.e2e
def test_4k_clip_memory_stays_bounded(tmp_path):
    """A 4K clip is analysed with about the memory of the same clip at 640x480: frames are
    downscaled before the model, so only FFmpeg's decoder buffers grow with the picture.

    Both peaks are measured side by side in this run (a machine's absolute figures vary). On the
    development machine: 640x480 peaks at ~370 MB, 4K at ~560 MB, and 4K without the downscale
    (``pose.max_side_px = 0``) at ~1060 MB.
    """
    import subprocess
    import sys

    small = sample_frames(2.5, 4.5)
    clips = {"vga": write_clip(tmp_path / "vga.mp4", small),
             "uhd": write_clip(tmp_path / "uhd.mp4", (cv2.resize(f, (3840, 2880)) for f in small))}
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across fork/exec).
    code = (
        "import re, sys\n"
        "from formcheck.config import load_config\n"
        "from formcheck.app.pipeline import analyze_clip\n"
        "a = analyze_clip(sys.argv[1], load_config())\n"
        "kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(a.report['summary']['frames_analysed'], kb // 1024)\n"
    )
    peak = {}
    for name, p in clips.items():
        out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr
        n, peak[name] = map(int, out.stdout.split())
        assert n == len(small)
    assert peak["uhd"] - peak["vga"] < 300, f"peak RSS {peak} MB"


def rotate_tkhd(data: bytes, degrees: int) -> bytes:
    """Set the video track's display matrix (as phones do) to a rotation."""
    d = bytearray(data)
    i = d.find(b"tkhd")
    version = d[i + 4]
    off = i + 8 + (8 if version == 0 else 16) + 8 + (4 if version == 0 else 8) + 8 + 8
    a, b = {90: (0, 0x10000), 270: (0, -0x10000), 180: (-0x10000, 0)}[degrees]
    d[off : off + 36] = struct.pack(">9i", a, b, 0, -b, a, 0, 0, 0, 0x40000000)
    return bytes(d)


def test_phone_rotation_metadata_is_honoured(tmp_path):
    src = write_clip(tmp_path / "land.mp4", sample_frames(0, 0.5))
    p = tmp_path / "portrait.mp4"
    p.write_bytes(rotate_tkhd(src.read_bytes(), 90))
    with VideoSource(p) as s:
        first = next(iter(s))
        assert s.info.rotation_deg == 90
        assert (s.info.width, s.info.height) == (480, 640)
        assert first.image.shape[:2] == (640, 480)


def test_timestamps_come_from_the_container(tmp_path):
    p = write_clip(tmp_path / "pal.mp4", sample_frames(0, 1.0), fps=25.0)
    with VideoSource(p) as s:
        t = [fr.t_s for fr in s]
    assert np.allclose(np.diff(t), 0.04, atol=1e-3)  # 25 fps, not an assumed 30


@pytest.mark.e2e
def test_clip_shorter_than_one_rep(tmp_path, capsys):
    p = write_clip(tmp_path / "short.mp4", sample_frames(0, 2.5))
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json)
    assert code == 0
    rep = json.loads(out_json.read_text())
    assert rep["summary"]["rep_count"] == 0
    assert any(w.startswith("No rep found") for w in rep["warnings"])


@pytest.mark.e2e
def test_person_leaving_mid_rep(tmp_path, capsys):
    frames = sample_frames()
    first_bottom = LABEL["reps"][0]["t_bottom"]
    k0, k1 = int((first_bottom - 0.8) * 30), int((first_bottom + 0.8) * 30)
    wall = np.full_like(frames[0], 90)
    frames = [wall if k0 <= k < k1 else f for k, f in enumerate(frames)]
    p = write_clip(tmp_path / "left.mp4", frames)
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json)
    assert code == 0
    rep = json.loads(out_json.read_text())
    # The rep whose bottom was not seen is not counted; the others are.
    assert rep["summary"]["rep_count"] == LABEL["expected_rep_count"] - 1
    vis = np.array(rep["frames"]["visible"])
    assert not vis[k0 + 5 : k1 - 5].any()


@pytest.mark.e2e
def test_two_people_side_by_side(tmp_path, capsys):
    a = sample_frames()
    frames = [np.hstack([f, cv2.flip(f, 1)]) for f in a]  # two people, mirrored
    p = write_clip(tmp_path / "two.mp4", frames)
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json)
    assert code == 0
    rep = json.loads(out_json.read_text())
    # One of the two is followed (the same set, mirrored): same rep count and faults.
    assert rep["summary"]["rep_count"] == LABEL["expected_rep_count"]
    assert rep["summary"]["faults"]["hyperextension"] == 1


@pytest.mark.e2e
def test_path_with_spaces_and_non_ascii(tmp_path, capsys):
    d = tmp_path / "séance d'entraînement — Ana"
    d.mkdir()
    p = d / "série 1 (lever).mp4"
    shutil.copy(SAMPLES / "dev02_seated_l.mp4", p)
    out_json = d / "rapport é.json"
    code, out, err = cli(capsys, "analyze", p, "--json", out_json, "-q")
    assert code == 0
    assert json.loads(out_json.read_text())["clip"]["path"] == str(p)


# ------------------------------------------------------------------ config files
@pytest.mark.parametrize("text,expect", [
    ("[faults]\nmax_extention_deg = 5\n", "unknown key faults.max_extention_deg"),
    ("[faults]\nmax_extension_deg = 'ten'\n", "expected a number, got 'ten'"),
    ("[faults]\nmax_extension_deg = -3\n", "expected a value >= 0.0, got -3"),
    ("[faults\n", "not valid TOML"),
])
def test_bad_config_files(tmp_path, capsys, text, expect):
    cfg = tmp_path / "fc.toml"
    cfg.write_text(text)
    code, _, err = cli(capsys, "analyze", CLIP, "--config", cfg)
    assert code == 2 and expect in err


# ------------------------------------------------------------------ outputs
def test_output_into_a_file_instead_of_a_folder(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="Cannot write"):
        atomic_write(blocker / "r.json", "{}")


@pytest.mark.parametrize("err,reason", [
    (errno.EACCES, "permission denied"), (errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
])
def test_write_errors_are_explained_and_leave_no_partial_file(tmp_path, monkeypatch, err, reason):
    target = tmp_path / "r.json"
    target.write_text("previous report")

    def failing_replace(src, dst):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match=reason):
        atomic_write(target, "{new}")
    assert target.read_text() == "previous report"  # nothing lost
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind


@pytest.mark.e2e
def test_full_disk_during_analyze_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import formcheck.render.report as report

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, _):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report.os, "fdopen", lambda fd, *a, **k: Full(real_fdopen(fd, *a, **k)))
    code, out, err = cli(capsys, "analyze", SAMPLES / "dev02_seated_l.mp4", "--json", tmp_path / "r.json")
    assert code == 2 and "the disk is full" in err


# ------------------------------------------------------------------ model and network
def test_missing_or_corrupt_model(tmp_path, capsys):
    bad = tmp_path / "broken.task"
    bad.write_bytes(b"PK\x03\x04 nonsense")
    code, _, err = cli(capsys, "analyze", CLIP, "--model", bad)
    assert code == 2 and "not a valid .task bundle" in err
    code, _, err = cli(capsys, "analyze", CLIP, "--model", tmp_path / "none.task")
    assert code == 2 and "Pose model not found" in err


def test_optional_model_download_fails_clearly_offline(tmp_path, monkeypatch):
    from formcheck.media import models
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def no_network(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(models.urllib.request, "urlopen", no_network)
    with pytest.raises(ModelError, match="You seem to be offline"):
        models.resolve_model("lite")
    assert not list((tmp_path / "formcheck").glob("*.part"))  # no half-downloaded file


@pytest.mark.e2e
def test_analyze_works_with_the_network_blocked(tmp_path, capsys, monkeypatch):
    def blocked(*a, **k):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket, "socket", blocked)
    monkeypatch.setattr(socket, "create_connection", blocked)
    code, out, err = cli(capsys, "analyze", SAMPLES / "dev02_seated_l.mp4", "-q", "--json", tmp_path / "r.json")
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["rep_count"] == 3


def test_unexpected_errors_print_one_line_and_keep_the_log(tmp_path, capsys, monkeypatch):
    import formcheck.app.cli as cli_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def boom(args):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cli_mod, "run_analyze", boom)
    code = main(["analyze", str(CLIP)])  # main() builds the parser, which binds the patched function
    err = capsys.readouterr().err
    assert code == 1
    assert "unexpected error: RuntimeError: simulated bug" in err
    assert "Traceback" in (tmp_path / "formcheck" / "last-error.log").read_text()


@pytest.mark.parametrize("make, out, message", [
    (lambda d: (d / "afile").write_text("x"), "afile/r.html", "afile is a file, not a folder"),
    (lambda d: (d / "folder").mkdir(), "folder", "a folder has that name"),
    (lambda d: None, "CLIP", "is the clip being analysed"),
    (lambda d: None, "r.json", "Two outputs have the same path"),
])
def test_a_bad_output_path_is_refused_before_the_analysis(tmp_path, make, out, message, capsys,
                                                          monkeypatch):
    """Checked before the pose model runs: the user is not kept waiting for a path that was
    never going to work, and the clip itself is never overwritten."""
    import formcheck.media.pose as pose

    def no_model(*a, **k):
        raise AssertionError("the pose model was loaded before the output paths were checked")

    monkeypatch.setattr(pose, "make_estimator", no_model)
    monkeypatch.setattr(pose, "PoseEstimator", no_model)
    clip = tmp_path / "clip.mp4"
    shutil.copy(CLIP, clip)
    before = clip.read_bytes()
    make(tmp_path)
    target = str(clip) if out == "CLIP" else str(tmp_path / out)
    flag = "--html" if target.endswith(".html") else "--json"
    twice = ["--csv", target] if "same path" in message else []
    assert main(["analyze", str(clip), flag, target, *twice, "-q"]) == 2
    assert message in capsys.readouterr().err
    assert clip.read_bytes() == before
