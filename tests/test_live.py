"""formcheck live: cue rationing, latest-frame-wins capture, camera loss, and equality with analyze.

Fast tier: synthetic events / synthetic frames and fake pose estimators (no model).
e2e tier: the real pose model on the sample clips.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.app import live
from formcheck.core.analysis import Event
from formcheck.render.annotate import FormOverlay, OverlayState, ascii_text
from formcheck.render.video import VideoAnnotator
from formcheck.app.cli import build_parser
from formcheck.config import load_config
from formcheck.core.cues import Cue, CueRationer
from formcheck.errors import FormcheckError, SourceError, VideoWriteError

ROOT = Path(__file__).resolve().parent.parent
CLIPS = sorted((ROOT / "sample_videos").glob("*.mp4"))


# --------------------------------------------------------------------------- helpers
def rep_event(index: int, t: float, faults: list[tuple[str, str]], counted: bool = True) -> Event:
    """A 'rep' event as the Analyzer emits it; faults = [(id, severity)]."""
    fl = [{"id": fid, "severity": sev, "cue": f"cue {fid}"} for fid, sev in faults]
    return Event("rep" if counted else "partial", t, "",
                 {"rep": {"index": index, "counted": counted, "faults": fl, "score": 100}})


def live_args(*argv: str):
    return build_parser().parse_args(["live", *argv])


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class ListReader:
    """A fake FrameReader over in-memory frames; ``kind`` "file" ends, "camera" then fails."""

    def __init__(self, frames: list[tuple[float, np.ndarray]], kind: str = "file", fps: float = 30.0,
                 delay_s: float = 0.0):
        self.frames = list(frames)
        self.kind = kind
        self.fps = fps
        self.description = f"fake {kind}"
        self.delay_s = delay_s
        self.closed = False
        self.i = 0

    def read(self):
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.i >= len(self.frames):
            return None
        self.i += 1
        return self.frames[self.i - 1]

    def close(self):
        self.closed = True


class NoPose:
    """Fake estimator: nobody in view (optionally slow)."""

    def __init__(self, sleep_s: float = 0.0):
        self.sleep_s = sleep_s
        self.closed = False
        self.calls = 0

    def detect(self, image, t_s):
        self.calls += 1
        if self.sleep_s:
            time.sleep(self.sleep_s)
        return None

    def close(self):
        self.closed = True


def synthetic_frames(n: int, fps: float = 30.0, wh=(160, 120)) -> list[tuple[float, np.ndarray]]:
    w, h = wh
    return [(i / fps, np.full((h, w, 3), (i * 7) % 255, np.uint8)) for i in range(n)]


# --------------------------------------------------------------------------- cue rationing (fast)
def test_one_cue_per_rep_major_fault_first():
    r = CueRationer(cooldown_s=4.0, display_s=3.0)
    cue = r.offer([rep_event(1, 5.0, [("fast_descent", "minor"), ("hyperextension", "major")])], 5.0)
    assert cue is not None and cue.fault_id == "hyperextension" and cue.rep == 1
    assert r.offer([], 5.1) is None  # the rep's other fault is not issued as a second cue
    assert r.current(5.1) == cue and r.current(8.1) is None


def test_a_fault_seen_while_it_happens_is_cued_at_once_and_not_again_at_the_rep_end():
    r = CueRationer(cooldown_s=0.0, display_s=1.0)
    early = Event("fault", 9.7, "cue hyperextension", {"id": "hyperextension", "rep": 2, "early": True})
    late = Event("fault", 9.2, "cue no_top_pause", {"id": "no_top_pause", "rep": 2})  # not early
    cue = r.offer([early, late], 9.7)
    assert cue is not None and (cue.kind, cue.fault_id, cue.rep, cue.t, cue.text) == \
        ("fault", "hyperextension", 2, 9.7, "cue hyperextension")
    # At the rep's end its other fault is the cue; the one cued early is not said twice.
    done = rep_event(2, 10.8, [("hyperextension", "major"), ("no_top_pause", "minor")])
    done.data["cued_early"] = ["hyperextension"]
    c2 = r.offer([done], 10.8)
    assert c2 is not None and (c2.fault_id, c2.rep) == ("no_top_pause", 2)
    only = rep_event(3, 14.0, [("hyperextension", "major")])
    only.data["cued_early"] = ["hyperextension"]
    assert r.offer([only], 14.0) is None and r.offer([], 14.5) is None
    # an early cue keeps the cooldown like any other: not said again 2 s later
    slow = CueRationer(cooldown_s=4.0, display_s=1.0)
    assert slow.offer([early], 9.7) is not None
    again = Event("fault", 11.7, "cue hyperextension", {"id": "hyperextension", "rep": 3, "early": True})
    assert slow.offer([again], 11.7) is None and slow.offer([], 12.0) is None
    # a cooling early cue does not push out a cue waiting for the screen
    wait = CueRationer(cooldown_s=4.0, display_s=1.0)
    assert wait.offer([early], 9.7) is not None
    assert wait.offer([rep_event(2, 10.2, [("fast_descent", "minor")])], 10.2) is None  # screen busy
    assert wait.offer([again], 10.4) is None
    assert wait.offer([], 10.7).fault_id == "fast_descent"
    # and a guidance message does not replace an early fault cue waiting for the screen
    busy = CueRationer(cooldown_s=0.0, display_s=1.0)
    busy.offer([rep_event(1, 9.0, [("fast_descent", "minor")])], 9.0)
    busy.offer([early], 9.7)
    busy.offer([Event("view", 9.8, "Turn side-on to the camera.")], 9.8)
    assert busy.offer([], 10.0).fault_id == "hyperextension"


def test_the_last_reps_cue_is_given_when_the_set_ends_even_over_a_current_cue():
    r = CueRationer(cooldown_s=4.0, display_s=3.0)
    assert r.offer([rep_event(2, 7.0, [("jerky_lift", "major")])], 7.0) is not None
    last = r.final([rep_event(3, 8.3, [("fast_descent", "minor")])], 8.3)
    assert last is not None and (last.fault_id, last.rep, last.t) == ("fast_descent", 3, 8.3)
    assert r.final([rep_event(4, 9.0, [("fast_descent", "minor")])], 9.0) is None  # cooling down


def test_the_window_and_the_console_say_ready_once_the_set_starts():
    from formcheck.render.annotate import status_line

    assert status_line(OverlayState(phase="unarmed")) == "Setting up - hold still in position"
    assert status_line(OverlayState(phase="lowering", profile="prone")) == "READY - lowering   prone"
    assert live._human({"event": "armed", "t": 1.2, "message": "ready — set starts at the top",
                        "start": "top"}) == "Ready: the set starts at the top"


def test_same_cue_not_repeated_within_cooldown():
    r = CueRationer(cooldown_s=4.0, display_s=1.0)
    assert r.offer([rep_event(1, 10.0, [("hyperextension", "major")])], 10.0).fault_id == "hyperextension"
    # Rep 2 has the same fault 2 s later: still cooling down -> its next fault instead.
    c2 = r.offer([rep_event(2, 12.0, [("hyperextension", "major"), ("no_top_pause", "minor")])], 12.0)
    assert c2 is not None and c2.fault_id == "no_top_pause" and c2.rep == 2
    # Rep 3 only has the cooling cue -> nothing.
    assert r.offer([rep_event(3, 13.0, [("hyperextension", "major")])], 13.0) is None
    # After the cooldown it may be said again.
    c4 = r.offer([rep_event(4, 14.5, [("hyperextension", "major")])], 14.5)
    assert c4 is not None and c4.fault_id == "hyperextension" and c4.rep == 4


def test_one_at_a_time_guidance_waits_for_the_current_cue():
    r = CueRationer(cooldown_s=4.0, display_s=3.0)
    assert r.offer([rep_event(1, 0.0, [("jerky_lift", "major")])], 0.0) is not None
    assert r.offer([Event("view", 1.0, "Turn side-on to the camera.")], 1.0) is None
    assert r.offer([], 2.9) is None
    g = r.offer([], 3.0)
    assert g is not None and g.kind == "view" and g.text == "Turn side-on to the camera."


def test_pending_cue_replaced_by_newer_rep_and_not_by_guidance():
    r = CueRationer(cooldown_s=0.0, display_s=3.0)
    r.offer([rep_event(1, 0.0, [("jerky_lift", "major")])], 0.0)
    assert r.offer([rep_event(2, 1.0, [("fast_descent", "minor")])], 1.0) is None
    assert r.offer([rep_event(3, 2.0, [("neck_crank", "minor")])], 2.0) is None
    assert r.offer([Event("view", 2.5, "Step back so hips and knees are in view.")], 2.5) is None
    c = r.offer([], 3.0)
    assert c is not None and c.rep == 3 and c.fault_id == "neck_crank"


def test_stale_pending_cue_is_dropped():
    r = CueRationer(cooldown_s=0.0, display_s=1.0)
    r.offer([rep_event(1, 0.0, [("jerky_lift", "major")])], 0.0)
    r.offer([rep_event(2, 0.5, [("fast_descent", "minor")])], 0.5)
    assert r.offer([], 1.6) is None  # waited 1.1 s > display_s: no longer about rep 2


def test_rationer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="cooldown_s"):
        CueRationer(cooldown_s=-1)
    with pytest.raises(ValueError, match="display_s"):
        CueRationer(display_s=0)


def test_cue_to_dict():
    d = Cue("Lower slowly.", "fault", 3.21234, "fast_descent", 2).to_dict()
    assert d == {"event": "cue", "t": 3.212, "message": "Lower slowly.", "kind": "fault",
                 "id": "fast_descent", "rep": 2}


# --------------------------------------------------------------------------- capture (fast)
def test_pace_none_delivers_every_frame_in_order():
    frames = synthetic_frames(40)
    src = live.CameraSource(ListReader(frames), pace="none").start()
    got = []
    while not src.finished:
        f = src.latest(0.2)
        if f is not None:
            got.append(f.t_s)
            time.sleep(0.002)  # a slow consumer must not lose frames in this mode
    src.close()
    assert got == [t for t, _ in frames]
    assert src.dropped == 0 and src.status == "ended"


def test_realtime_file_drops_frames_for_a_slow_consumer():
    frames = synthetic_frames(30, fps=60.0)  # 0.5 s
    src = live.CameraSource(ListReader(frames), pace="realtime").start()
    got = 0
    t0 = time.perf_counter()
    while not src.finished:
        f = src.latest(0.2)
        if f is not None:
            got += 1
            time.sleep(0.05)  # 20 fps consumer, 60 fps source
    src.close()
    assert src.dropped > 0
    assert got + src.dropped == 30
    assert time.perf_counter() - t0 < 2.0  # played at its real rate, not blocked by the consumer


def test_camera_that_stops_is_declared_lost():
    reader = ListReader(synthetic_frames(5), kind="camera")
    src = live.CameraSource(reader, pace="realtime", lost_after_s=0.2).start()
    deadline = time.perf_counter() + 5
    while not src.finished and time.perf_counter() < deadline:
        src.latest(0.05)
    src.close()
    assert src.status == "lost" and reader.closed


def test_open_reader_messages(tmp_path):
    with pytest.raises(SourceError, match="--camera 1"):
        live.open_reader("97")
    with pytest.raises(SourceError, match="no such file"):
        live.open_reader(str(tmp_path / "missing.mp4"))


# --------------------------------------------------------------------------- session (fast, fake pose)
def test_no_display_tells_the_user_to_use_no_window(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    est = NoPose()
    reader = ListReader(synthetic_frames(3))
    with pytest.raises(FormcheckError, match="--no-window"):
        live.run(live_args("--camera", "x"), estimator_factory=lambda cfg: est, reader=reader)
    assert reader.closed  # released on the error path too


def test_nobody_in_view_gives_guidance_cue_and_summary(capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)  # no TTS installed
    est = NoPose()
    reader = ListReader(synthetic_frames(60))
    rc = live.run(live_args("--no-window", "--pace", "none", "--speak"),
                  estimator_factory=lambda cfg: est, reader=reader)
    out, err = capsys.readouterr()
    assert rc == 0 and est.closed and reader.closed
    events = json_lines(out)
    kinds = [e["event"] for e in events]
    assert "view" in kinds
    cues = [e for e in events if e["event"] == "cue"]
    assert len(cues) == 1 and cues[0]["kind"] == "view" and "No one in view" in cues[0]["message"]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["rep_count"] == 0
    assert summary["frames_processed"] == 60 and summary["frames_dropped"] == 0
    assert summary["latency_ms"]["n"] == 60 and summary["latency_ms"]["p50"] is not None
    assert err.count("no text-to-speech program found") == 1
    assert "p95" in err


def test_slow_pose_stage_drops_frames_with_fake_pose(capsys):
    est = NoPose(sleep_s=0.04)
    reader = ListReader(synthetic_frames(45, fps=30.0))  # 1.5 s at 30 fps, ~25 fps processing max
    rc = live.run(live_args("--no-window"), estimator_factory=lambda cfg: est, reader=reader)
    summary = json_lines(capsys.readouterr().out)[-1]
    assert rc == 0
    assert summary["frames_dropped"] > 0
    assert summary["frames_processed"] + summary["frames_dropped"] == 45
    assert summary["latency_ms"]["p95"] < 500


# --------------------------------------------------------------------------- annotate (fast)
def test_overlay_draws_on_a_copy():
    cfg = load_config()
    frame = np.zeros((240, 320, 3), np.uint8)
    st = OverlayState(t_s=1.0, rep_count=2, phase="top", last_e=-20.0, profile="seated", facing="right",
                      cue=Cue("Finish tall — stop at neutral.", "fault", 1.0), guidance=None)
    out = FormOverlay(cfg).annotate(frame, st)
    assert out.shape == frame.shape and not frame.any() and out.any()
    # the banner occupies the bottom rows in the fault colour
    assert out[-20:, 160].mean() > 50


def test_ascii_text():
    assert ascii_text("Finish tall — 10°") == "Finish tall - 10 deg"


@pytest.mark.parametrize("suffix,fourccs", [(".mp4", {"avc1", "h264", "mp4v", "FMP4", "MP4V"}),
                                            (".webm", {"VP90", "VP80"})])
def test_video_annotator_keeps_real_timing(tmp_path, suffix, fourccs):
    out = tmp_path / f"a{suffix}"
    frames = [f for f in synthetic_frames(20, fps=10.0) if not 1.0 <= f[0] < 1.5]  # a 0.5 s gap
    with VideoAnnotator(out, load_config(), fps=10.0) as va:
        for t, img in frames:
            va.write(img, t)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 20  # gap filled by holding the previous frame
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (160, 120)
    assert int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode() in fourccs


def test_video_annotator_rejects_bad_paths(tmp_path):
    with pytest.raises(VideoWriteError, match=".webm or .mp4"):
        VideoAnnotator(tmp_path / "a.avi", load_config())
    (tmp_path / "afile").write_text("x")
    with pytest.raises(VideoWriteError, match="afile is a file, not a folder"):
        VideoAnnotator(tmp_path / "afile" / "a.mp4", load_config())
    # a missing folder is made, as for the JSON, CSV and HTML outputs
    VideoAnnotator(tmp_path / "new" / "sub" / "a.mp4", load_config()).abort()
    assert (tmp_path / "new" / "sub").is_dir() and not any((tmp_path / "new" / "sub").iterdir())


# --------------------------------------------------------------------------- e2e (real model)
def _rep_signature(reps: list[dict]) -> list[tuple]:
    return [(r["index"], r["counted"], tuple(sorted(f["id"] for f in r["faults"]))) for r in reps]


# live == analyze, report byte for byte: tests/test_session.py::test_live_pace_none_report_equals_analyze


@pytest.mark.e2e
def test_slowed_pose_drops_frames_instead_of_lagging(tmp_path, capsys, monkeypatch):
    from formcheck.media.pose import PoseEstimator

    clip = tmp_path / "short.mp4"  # the first 3 s of a sample clip
    cap = cv2.VideoCapture(str(CLIPS[0]))
    wr = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(90):
        ok, img = cap.read()
        assert ok
        wr.write(img)
    wr.release()
    cap.release()
    real_detect, real_detect_all = PoseEstimator.detect, PoseEstimator.detect_all

    def slow_detect(self, image, t_s):
        time.sleep(0.1)
        return real_detect(self, image, t_s)

    def slow_detect_all(self, image, t_s):  # num_poses > 1 (the default) goes through this one
        time.sleep(0.1)
        return real_detect_all(self, image, t_s)

    monkeypatch.setattr(PoseEstimator, "detect", slow_detect)
    monkeypatch.setattr(PoseEstimator, "detect_all", slow_detect_all)
    rc = live.run(live_args("--camera", str(clip), "--no-window"))
    summary = json_lines(capsys.readouterr().out)[-1]
    assert rc == 0 and summary["ended"] == "end_of_file"
    assert summary["frames_dropped"] > 0
    assert summary["frames_processed"] + summary["frames_dropped"] == 90
    # Queueing 90 frames at >= 0.1 s each would reach ~6 s of lag; dropping keeps it near one frame.
    assert summary["latency_ms"]["p95"] < 1000


@pytest.mark.e2e
def test_live_cues_a_thrown_lift_as_it_happens_and_the_last_reps_fault_at_the_end(capsys):
    """dev02: rep 2 is thrown, rep 3 lowered fast (the clip ends during its top hold)."""
    clip = ROOT / "sample_videos" / "dev02_seated_l.mp4"
    label = json.loads(clip.with_suffix(".json").read_text())
    rc = live.run(live_args("--camera", str(clip), "--no-window", "--pace", "none"))
    lines = json_lines(capsys.readouterr().out)
    assert rc == 0
    cues = [(c.get("id"), c.get("rep"), c["t"]) for c in lines if c["event"] == "cue" and c.get("id")]
    [(_, rep, t)] = [c for c in cues if c[0] == "jerky_lift"]
    assert rep == 2 and 0.0 <= t - label["reps"][1]["t_top"] <= 0.5
    assert ("fast_descent", 3) in [(i, r) for i, r, _ in cues]  # the last rep, cued at the end
    assert [i for i, _, _ in cues].count("jerky_lift") == 1  # not said again at the rep's end


@pytest.mark.e2e
def test_camera_lost_mid_set_keeps_summary_and_writes_report(tmp_path, capsys):
    from formcheck.media.sources import VideoSource

    with VideoSource(CLIPS[0]) as src:  # a "camera" that dies after ~9.5 s (two reps in)
        frames = [(f.t_s, f.image) for f in src if f.t_s < 9.6]
    reader = ListReader(frames, kind="camera")
    report = tmp_path / "set.json"
    record = tmp_path / "set.mp4"
    rc = live.run(live_args("--no-window", "--pace", "none", "--lost-after", "0.3",
                            "--report", str(report), "--record", str(record)), reader=reader)
    out, err = capsys.readouterr()
    summary = json_lines(out)[-1]
    assert rc == 2 and "stopped delivering frames" in err
    assert summary["event"] == "summary" and summary["ended"] == "camera_lost"
    assert summary["rep_count"] >= 1 and summary["frames_processed"] == len(frames)
    data = json.loads(report.read_text())
    assert data["schema"] == "formcheck.report/2"
    assert data["summary"]["rep_count"] == summary["rep_count"]
    assert data["clip"]["path"] == "camera:fake camera"
    assert data["live"]["ended"] == "camera_lost"
    assert reader.closed
    cap = cv2.VideoCapture(str(record))
    assert cap.isOpened() and cap.get(cv2.CAP_PROP_FRAME_COUNT) > 0


XVFB = shutil.which("Xvfb")


@pytest.mark.e2e
@pytest.mark.skipif(XVFB is None or shutil.which("xdotool") is None,
                    reason="Xvfb and xdotool are not installed (apt-get install xvfb xdotool)")
def test_live_window_on_a_virtual_display(tmp_path):
    """The real OpenCV window on Xvfb: it opens, shows the overlay, and 'q' ends the set."""
    import os
    import subprocess
    import sys
    import time

    display = ":87"
    xvfb = subprocess.Popen([XVFB, display, "-screen", "0", "1280x800x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=display)
        report = tmp_path / "live.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "formcheck", "live", "--camera",
             str(ROOT / "sample_videos" / "dev01_seated_r.mp4"), "--report", str(report)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        shot = ROOT / "test-artifacts" / "live_window.png"
        wid: list[str] = []
        deadline = time.time() + 60
        while not wid and time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            wid = subprocess.run(["xdotool", "search", "--name", "formcheck"], env=env,
                                 capture_output=True, text=True).stdout.split()
        assert wid, "no formcheck window appeared on the display"
        time.sleep(4.0)  # a few seconds of the set on screen
        if shutil.which("import"):
            shot.parent.mkdir(exist_ok=True)
            subprocess.run(["import", "-display", display, "-window", "root", str(shot)],
                           capture_output=True, timeout=20)
        for key, pause in (("c", 2.6), ("r", 0.5), ("space", 0.5), ("space", 0.5), ("q", 0)):
            subprocess.run(["xdotool", "key", "--window", wid[0], key], env=env, timeout=10)
            time.sleep(pause)
        out, err = proc.communicate(timeout=120)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    rep = json.loads(report.read_text())
    assert rep["schema"] == "formcheck.report/2"
    assert "latency capture->overlay" in out
    assert "[calibration]" in out  # 'c': hold-still calibration ran (and reported its result)
    assert "[reset]" in out  # 'r': a new set


def _fake_tts(tmp_path) -> tuple[Path, Path]:
    """An executable named espeak-ng that appends the text it is asked to say to a file."""
    said = tmp_path / "said.txt"
    exe = tmp_path / "bin" / "espeak-ng"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> "{said}"\n')
    exe.chmod(0o755)
    return exe, said


def test_speaker_says_each_cue_without_blocking(tmp_path):
    exe, said = _fake_tts(tmp_path)
    sp = live.Speaker(exe=str(exe))
    assert sp.available
    t0 = time.perf_counter()
    sp.say("Lower slowly, under control.")
    assert time.perf_counter() - t0 < 0.5  # the loop never waits for speech
    sp._proc.wait(timeout=5)
    sp.close()
    assert said.read_text().strip() == "Lower slowly, under control."


@pytest.mark.e2e
def test_speak_flag_speaks_the_cues(tmp_path):
    """`formcheck live --speak` hands every cue it shows to the TTS engine on PATH."""
    import os
    import subprocess
    import sys

    exe, said = _fake_tts(tmp_path)
    env = dict(os.environ, PATH=f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run(
        [sys.executable, "-m", "formcheck", "live", "--camera",
         str(ROOT / "sample_videos" / "dev01_seated_r.mp4"), "--no-window", "--speak",
         "--pace", "none"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cue_events = [c for c in json_lines(out.stdout) if c["event"] == "cue"]
    cues = [c["message"] for c in cue_events]
    assert "Finish tall — stop at neutral, don't lean back past it." in cues
    # shown and said while it happens (#11: within 0.5 s of reaching the top), not at the rep's end
    label = json.loads((ROOT / "sample_videos" / "dev01_seated_r.json").read_text())
    [hyper] = [c for c in cue_events if c.get("id") == "hyperextension"]
    assert hyper["rep"] == 2 and 0.0 <= hyper["t"] - label["reps"][1]["t_top"] <= 0.5
    time.sleep(0.5)
    assert "Finish tall — stop at neutral, don't lean back past it." in said.read_text().splitlines()
