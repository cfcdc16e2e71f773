"""The one Session: its frame loop, sinks, pose replays, and live == analyze on every sample clip.

Fast tier: fake pose detectors (no model). e2e tier: one real pose model shared by every clip.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import report_validator
from synth import RepScript, body_frames, script_set

from formcheck.app import live
from formcheck.app.cli import build_parser
from formcheck.app.session import CallbackSink, PoseReplay, Session, Sink
from formcheck.config import load_config
from formcheck.core.analysis import Analyzer
from formcheck.core.types import ClipInfo

ROOT = Path(__file__).resolve().parent.parent
CLIPS = sorted((ROOT / "sample_videos").glob("*.mp4"))


class Replayed:
    """A fake pose model: the recorded pose of each frame time, counting its calls."""

    def __init__(self, poses):
        self.by_t = dict(poses)
        self.calls = 0
        self.closed = False

    def detect(self, image, t_s):
        self.calls += 1
        return self.by_t[t_s]

    def close(self):
        self.closed = True


class Frame:
    def __init__(self, index, t_s):
        self.index, self.t_s, self.image = index, t_s, None


def _poses():
    t, e, _, _ = script_set([RepScript(), RepScript(), RepScript()])
    return [(fr.t_s, fr) for fr in body_frames(t, e)]


def test_session_loop_equals_a_hand_written_loop_and_calls_sinks_in_order():
    poses = _poses()
    cfg = load_config()
    ref = Analyzer(cfg)
    ref_events = []
    for t, p in poses:
        ref_events += ref.update(t, p)
    want = ref.finish(refine=True)

    seen: list[tuple[str, float]] = []
    finals = []

    class Recorder(Sink):
        def on_step(self, step):
            seen.append(("a", step.t_s))

        def on_finish(self, result, final_events):
            finals.append((result.rep_count, len(final_events)))

    est = Replayed(poses)
    second = CallbackSink(on_step=lambda st: seen.append(("b", st.t_s)))
    with Session(cfg, est, [Recorder(), second]) as s:
        n = s.run(Frame(k, t) for k, (t, _) in enumerate(poses))
        got = s.finish()
    assert n == len(poses) == est.calls
    assert not est.closed  # a passed estimator belongs to the caller
    assert seen[:4] == [("a", poses[0][0]), ("b", poses[0][0]), ("a", poses[1][0]), ("b", poses[1][0])]
    assert len(seen) == 2 * len(poses)
    assert got.rep_count == want.rep_count == 3
    assert [r.to_dict() for r in got.reps] == [r.to_dict() for r in want.reps]
    assert [e.to_dict() for e in s.events] == [e.to_dict() for e in ref_events]
    assert np.array_equal(got.series["extension_deg"], want.series["extension_deg"], equal_nan=True)
    assert got.smoothing.startswith("zero-phase")  # every front end gets the offline refinement
    assert finals == [(3, len(ref.final_events))]
    assert s.finish() is got  # idempotent: sinks told once
    assert len(finals) == 1


def test_stop_ends_the_loop_after_the_current_frame():
    poses = _poses()
    cfg = load_config()
    s = Session(cfg, Replayed(poses))
    s.sinks.append(CallbackSink(on_step=lambda st: s.stop() if st.frame.index == 9 else None))
    assert s.run(Frame(k, t) for k, (t, _) in enumerate(poses)) == 10
    assert s.analyzer.frames_total == 10


class ShuffledPool(Replayed):
    """A fake pool of pose models (``submit``): each frame's poses are found in another thread
    after a delay that makes later frames finish first; records how far ahead it was asked."""

    workers = 2

    def __init__(self, poses):
        super().__init__(poses)
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(3)
        self.submitted: list[float] = []
        self.futures: list = []

    def detect_all(self, image, t_s):
        p = self.detect(image, t_s)
        return [] if p is None else [p]

    def submit(self, image, t_s):
        import time

        k = len(self.submitted)
        self.submitted.append(t_s)

        def job():
            time.sleep(0.004 if k % 3 == 0 else 0.0)  # every third frame is slowest
            return self.detect_all(image, t_s)

        fut = self.pool.submit(job)
        self.futures.append(fut)
        return fut


def test_a_pool_of_models_runs_ahead_and_gives_the_same_result_in_order():
    poses = _poses()
    cfg = load_config()
    with Session(cfg, Replayed(poses)) as s:
        s.run(Frame(k, t) for k, (t, _) in enumerate(poses))
        want = s.finish()
    pool = ShuffledPool(poses)
    order = []
    with Session(cfg, pool, [CallbackSink(on_step=lambda st: order.append(st.t_s))]) as s:
        n = s.run(Frame(k, t) for k, (t, _) in enumerate(poses))
        got = s.finish()
    assert n == len(poses) and order == [t for t, _ in poses]  # analysed one by one, in order
    assert [r.to_dict() for r in got.reps] == [r.to_dict() for r in want.reps]
    assert np.array_equal(got.series["extension_deg"], want.series["extension_deg"], equal_nan=True)


def test_a_pool_stops_after_the_current_frame_and_cancels_what_ran_ahead():
    poses = _poses()
    pool = ShuffledPool(poses)
    s = Session(load_config(), pool)
    s.sinks.append(CallbackSink(on_step=lambda st: s.stop() if st.frame.index == 9 else None))
    assert s.run(Frame(k, t) for k, (t, _) in enumerate(poses)) == 10
    assert s.analyzer.frames_total == 10
    # workers + 1 frames in flight at most: frames 10-12 were asked for, no more
    assert pool.submitted == [t for t, _ in poses[:13]]
    pool.pool.shutdown(wait=True)
    assert all(f.done() for f in pool.futures)


def test_step_after_finish_is_refused():
    poses = _poses()
    s = Session(load_config(), Replayed(poses))
    s.finish()
    with pytest.raises(RuntimeError, match="new Session"):
        s.step(Frame(0, poses[0][0]))


def test_report_holds_the_config_and_extra_keys_after_it():
    poses = _poses()
    cfg = load_config()
    info = ClipInfo("synthetic.mp4", 30.0, len(poses), len(poses) / 30.0, 640, 480, 0)
    with Session(cfg, Replayed(poses)) as s:
        s.run(Frame(k, t) for k, (t, _) in enumerate(poses))
        rep = s.report(info, extra={"live": {"ended": "end_of_file", "frames_processed": 1, "frames_dropped": 0,
                                            "processed_fps": 1.0, "latency_ms": {}, "pace": "none"}})
    assert rep["config"] == cfg.to_dict() and rep["config_digest"] == cfg.digest()
    assert list(rep)[-2:] == ["config", "live"]
    assert rep["summary"]["rep_count"] == 3


def test_pose_replay_decimates_like_the_video_source():
    poses = [(k / 30.0, None) for k in range(60)]
    replay = PoseReplay(poses, 30.0, max_fps=10.0)
    kept = [f.t_s for f in replay.frames()]
    assert kept == pytest.approx([k / 10.0 for k in range(20)], abs=1e-12)
    assert [f.t_s for f in PoseReplay(poses, 30.0).frames()] == [t for t, _ in poses]


def test_pose_replay_refuses_a_time_it_did_not_yield():
    replay = PoseReplay([(0.0, None), (0.1, None)], 10.0)
    next(iter(replay.frames()))
    with pytest.raises(RuntimeError, match="no recorded pose"):
        replay.detect(None, 0.1)


# --------------------------------------------------------------------------- e2e (real model)
@pytest.fixture(scope="module")
def shared_estimator():
    from formcheck.media.pose import make_estimator

    est = make_estimator(load_config().pose)
    yield est
    est.close()


@pytest.mark.e2e
def test_a_pool_of_image_mode_models_gives_the_report_of_one_video_mode_model():
    """`pose.tracking = false` with 2 workers (the default) == 1 worker == VIDEO mode with
    num_poses 3, byte for byte, on the bundled sample clip."""
    from dataclasses import replace

    from formcheck.app.pipeline import analyze_clip
    from formcheck.media.pose import PoseEstimatorPool, make_estimator

    clip = ROOT / "formcheck" / "data" / "dev01_seated_r.mp4"
    cfg = load_config()
    reports = {}
    for name, pc, workers in (("pool", cfg.pose, None), ("one", cfg.pose, 1),
                              ("video", replace(cfg.pose, tracking=True), None)):
        with make_estimator(pc, workers) as est:
            assert isinstance(est, PoseEstimatorPool) is (name == "pool")
            rep = analyze_clip(str(clip), cfg, estimator=est).report
        rep.pop("config", None), rep.pop("config_digest", None)
        reports[name] = json.dumps(rep, sort_keys=True)
    assert json.loads(reports["pool"])["summary"]["rep_count"] == 3
    assert reports["pool"] == reports["one"] == reports["video"]


class Recorded:
    """Live's pose model: replays the poses the shared model found for the same frame times,
    and checks that live hands it the very same images analyze did.

    (Reusing one MediaPipe landmarker across streams with ``new_stream()`` is close to, but not
    bit-identical with, a fresh one, so the model runs once per clip and live replays it.)
    """

    def __init__(self, poses: dict, digests: dict):
        self.poses, self.digests = poses, digests
        self.calls = 0

    def detect(self, image, t_s):
        self.calls += 1
        assert hashlib.sha1(image.tobytes()).hexdigest() == self.digests[t_s], f"image at {t_s} s differs"
        return self.poses[t_s]

    def close(self):
        pass


@pytest.mark.e2e
@pytest.mark.parametrize("clip", CLIPS, ids=[c.stem for c in CLIPS])
def test_live_pace_none_report_equals_analyze(clip, shared_estimator, tmp_path, capsys):
    """`live --camera CLIP --pace none --report R` == `analyze CLIP --json A` but for `live`."""
    from formcheck.app.pipeline import analyze_clip
    from formcheck.render.report import write_json

    poses, digests = {}, {}

    def record(frame, pose, analyzer, events):
        poses[frame.t_s] = pose
        digests[frame.t_s] = hashlib.sha1(frame.image.tobytes()).hexdigest()

    shared_estimator.new_stream()
    want = analyze_clip(str(clip), load_config(), estimator=shared_estimator, on_frame=record).report
    a_path, r_path = tmp_path / "a.json", tmp_path / "r.json"
    write_json(want, a_path)
    args = build_parser().parse_args(["live", "--camera", str(clip), "--pace", "none",
                                      "--no-window", "--report", str(r_path)])
    model = Recorded(poses, digests)
    rc = live.run(args, estimator_factory=lambda cfg: model)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert rc == 0 and model.calls == len(poses)
    got = json.loads(r_path.read_text())
    timing = got.pop("live")
    assert timing["pace"] == "none" and timing["ended"] == "end_of_file"
    assert timing["frames_dropped"] == 0 and timing["frames_processed"] == want["summary"]["frames_analysed"]
    assert json.dumps(got, indent=1) + "\n" == a_path.read_text()  # byte for byte
    summary = lines[-1]
    assert summary["event"] == "summary"
    for k in ("rep_count", "partial_reps", "good_reps", "faults", "score"):
        assert summary[k] == want["summary"][k], k
    live_reps = [e["rep"] for e in lines if e["event"] in ("rep", "partial")]
    assert live_reps == want["reps"]


@pytest.mark.e2e
def test_live_and_analyze_commands_write_equal_reports(tmp_path):
    """The commands themselves, each with its own fresh model, on one clip."""
    import subprocess
    import sys

    clip = str(CLIPS[0])
    a, r = tmp_path / "A.json", tmp_path / "R.json"
    for argv in (["analyze", clip, "--json", str(a), "-q"],
                 ["live", "--camera", clip, "--pace", "none", "--no-window", "--report", str(r)]):
        out = subprocess.run([sys.executable, "-m", "formcheck", *argv], capture_output=True,
                             text=True, timeout=300, cwd=ROOT)
        assert out.returncode == 0, out.stderr
    got = json.loads(r.read_text())
    report_validator().validate(got)  # written in another process
    del got["live"]
    assert json.dumps(got, indent=1) + "\n" == a.read_text()
