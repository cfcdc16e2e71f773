"""``formcheck eval``: pure scoring on hand-made report / label dicts (fast), and the CLI end to end.

The fast tier needs no model and no video. The e2e tier runs the real pose model on the bundled
sample clips once (module fixture) and checks the gates the current core passes; the gate values
are the ones the lead may tighten as tuning improves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formcheck.app import evaluate as ev
from formcheck.app.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"


def rep(t0, t1, faults=(), counted=True, index=1, found=True):
    """A rep dict: found reps carry fault dicts (report schema), labelled reps plain ids."""
    fl = [{"id": f} for f in faults] if found else list(faults)
    return {"index": index, "t_start": t0, "t_end": t1, "counted": counted, "faults": fl}


def report(reps, frames=None, profile="seated"):
    r = {"schema": "formcheck.report/2", "clip": {"path": "x.mp4"}, "profile": profile,
         "summary": {"rep_count": sum(x["counted"] for x in reps),
                     "partial_reps": sum(not x["counted"] for x in reps)},
         "warnings": [], "reps": reps}
    if frames is not None:
        r["frames"] = frames
    return r


def truth(reps=None, expected=None, frames=None, name="clip"):
    t = {"schema": ev.TRUTH_SCHEMA, "name": name, "profile": "seated",
         "expected_rep_count": expected if expected is not None else sum(r["counted"] for r in reps or [])}
    if reps is not None:
        t["reps"] = reps
    if frames is not None:
        t["frames"] = frames
    return t


# --------------------------------------------------------------------------- interval matching
@pytest.mark.parametrize("a, b, iou", [
    ((0, 2), (1, 3), 1 / 3),
    ((0, 2), (0, 2), 1.0),
    ((0, 1), (1, 2), 0.0),
    ((0, 1), (2, 3), 0.0),
    ((0, 4), (1, 2), 0.25),
])
def test_interval_iou(a, b, iou):
    assert ev.interval_iou(a, b) == pytest.approx(iou)


def test_match_reps_pairs_by_overlap_and_reports_unmatched():
    found = [rep(0.2, 3.1, index=1), rep(3.1, 6.0, index=2), rep(20, 22, index=3)]
    lab = [rep(0, 3, found=False, index=1), rep(3, 6, found=False, index=2),
           rep(6, 9, found=False, index=3)]
    pairs = ev.match_reps(found, lab)
    assert (0, 0) in pairs and (1, 1) in pairs
    assert (None, 2) in pairs  # labelled rep 3 was not found
    assert (2, None) in pairs  # found rep 3 has no label
    assert len(pairs) == 4


def test_match_reps_is_one_to_one_and_prefers_same_kind():
    # One found partial rep overlapping a labelled counted rep a little more than a labelled
    # partial rep: the same-kind preference pairs partial with partial.
    found = [rep(4.0, 6.2, counted=False)]
    lab = [rep(3.0, 5.6, found=False), rep(5.2, 6.5, counted=False, found=False, index=2)]
    assert ev.interval_iou((4.0, 6.2), (3.0, 5.6)) > ev.interval_iou((4.0, 6.2), (5.2, 6.5))
    pairs = ev.match_reps(found, lab)
    assert (0, 1) in pairs and (None, 0) in pairs


def test_match_reps_ignores_tiny_overlaps():
    pairs = ev.match_reps([rep(0, 10)], [rep(9.5, 12, found=False)])
    assert sorted(pairs, key=str) == sorted([(0, None), (None, 0)], key=str)


# --------------------------------------------------------------------------- P / R / F1
def test_fault_tally_figures():
    t = ev.FaultTally(tp=3, fp=1, fn=2)
    assert t.precision == pytest.approx(0.75)
    assert t.recall == pytest.approx(0.6)
    assert t.f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    empty = ev.FaultTally()
    assert empty.precision is None and empty.recall is None and empty.f1 is None
    only_fp = ev.FaultTally(fp=2)
    assert only_fp.precision == 0.0 and only_fp.recall is None and only_fp.f1 == 0.0


def test_fault_table_counts_tp_fp_fn_and_clean_reps():
    found = [rep(0, 3, ["hyperextension", "no_top_pause"]), rep(3, 6, []), rep(6, 9, ["jerky_lift"])]
    lab = [rep(0, 3, ["hyperextension"], found=False), rep(3, 6, ["jerky_lift"], found=False, index=2),
           rep(6, 9, [], found=False, index=3)]
    pairs = ev.match_reps(found, lab)
    tallies, mism, clean = ev.fault_table(found, lab, pairs)
    assert (tallies["hyperextension"].tp, tallies["hyperextension"].fp, tallies["hyperextension"].fn) == (1, 0, 0)
    assert (tallies["no_top_pause"].tp, tallies["no_top_pause"].fp) == (0, 1)
    # jerky_lift labelled on rep 2, found on rep 3: one miss and one false alarm, not a hit.
    assert (tallies["jerky_lift"].tp, tallies["jerky_lift"].fp, tallies["jerky_lift"].fn) == (0, 1, 1)
    assert clean == {"reps": 1, "flagged": 1, "faults": 1}
    assert "rep 2: missed jerky_lift" in mism
    assert "rep 3: extra jerky_lift" in mism
    assert "rep 1: extra no_top_pause" in mism


def test_unmatched_reps_count_their_faults_as_misses_and_false_alarms():
    found = [rep(20, 23, ["fast_descent"])]
    lab = [rep(0, 3, ["partial_range"], counted=False, found=False)]
    tallies, mism, clean = ev.fault_table(found, lab, ev.match_reps(found, lab))
    assert tallies["partial_range"].fn == 1 and tallies["fast_descent"].fp == 1
    assert any("not found" in m for m in mism) and any("no labelled rep" in m for m in mism)
    assert clean["reps"] == 0


def test_kind_mismatch_is_listed():
    found = [rep(0, 3, counted=True)]
    lab = [rep(0, 3, counted=False, found=False)]
    _, mism, _ = ev.fault_table(found, lab, ev.match_reps(found, lab))
    assert mism == ["rep 1p: found counted, labelled partial"]


# --------------------------------------------------------------------------- angles
def test_angle_error_interpolates_labels_at_report_times():
    lab = {"t_s": [0.0, 1.0, 2.0], "extension_deg": [0.0, -10.0, -20.0]}
    # Report frames at half-steps: label there is -5, -15; report reads 2 deg too high, with a
    # missing value (None) and a frame outside the labelled span, both left out.
    rep_frames = {"t_s": [0.5, 1.0, 1.5, 2.5], "extension_deg": [-3.0, None, -13.0, 50.0]}
    a = ev.angle_error(report([], rep_frames), truth([], frames=lab))
    assert a["n"] == 2
    assert a["mae"] == pytest.approx(2.0)
    assert a["bias"] == pytest.approx(2.0)


def test_angle_error_bias_has_sign_and_mae_does_not():
    lab = {"t_s": [0, 1, 2, 3], "extension_deg": [0, 0, 0, 0]}
    a = ev.angle_error(report([], {"t_s": [0, 1, 2, 3], "extension_deg": [1, -1, 3, -3]}),
                       truth([], frames=lab))
    assert a["mae"] == pytest.approx(2.0) and a["bias"] == pytest.approx(0.0)
    assert a["rmse"] == pytest.approx((20 / 4) ** 0.5) and a["max"] == pytest.approx(3.0)


def test_angle_error_none_without_series():
    assert ev.angle_error(report([]), truth([])) is None
    assert ev.angle_error(report([], {"t_s": [0, 1], "extension_deg": [0, 0]}), truth(expected=3)) is None


# --------------------------------------------------------------------------- clips, totals, gates
def test_count_only_labels_score_the_count_only():
    sc = ev.score_clip(report([rep(0, 3), rep(3, 6, ["jerky_lift"])]), truth(expected=3))
    assert (sc["expected_reps"], sc["found_reps"], sc["count_error"]) == (3, 2, -1)
    assert sc["rep_labels"] is False and sc["faults"] is None and sc["angle"] is None
    assert sc["faults_found"] == ["jerky_lift"]


def test_totals_and_gates():
    lab_frames = {"t_s": [0, 10], "extension_deg": [0, 0]}
    good = ev.score_clip(
        report([rep(0, 3, ["hyperextension"]), rep(3, 6)], {"t_s": [1, 2], "extension_deg": [1, 1]}),
        truth([rep(0, 3, ["hyperextension"], found=False), rep(3, 6, found=False)], frames=lab_frames))
    off = ev.score_clip(
        report([rep(0, 3), rep(3, 6), rep(6, 9, ["hyperextension"])], {"t_s": [1, 2], "extension_deg": [-3, -3]}),
        truth([rep(0, 3, found=False), rep(3, 6, found=False)], frames=lab_frames))
    real = ev.score_clip(report([rep(0, 3)]), truth(expected=3))
    tot = ev.totals([good, off, real])
    assert tot["exact_count"] == pytest.approx(1 / 3)
    assert tot["off_by_one"] == pytest.approx(1 / 3)
    assert tot["count_mae"] == pytest.approx((0 + 1 + 2) / 3)
    assert tot["angle_mae"] == pytest.approx(2.0) and tot["clips_with_angles"] == 2
    assert tot["angle_bias"] == pytest.approx(-1.0)
    h = tot["faults"]["hyperextension"]
    assert (h["tp"], h["fp"], h["fn"]) == (1, 1, 0) and h["f1"] == pytest.approx(2 / 3, abs=1e-3)
    assert tot["clean_reps"] == {"reps": 3, "flagged": 0, "faults": 0}

    assert ev.check_gates(tot) == []
    missed = ev.check_gates(tot, min_exact_count=0.5, max_angle_mae=1.5, min_fault_f1=0.9)
    assert len(missed) == 3
    assert any("--min-exact-count" in m for m in missed)
    assert any("--max-angle-mae" in m for m in missed)
    assert any(m.startswith("hyperextension: F1 0.67") for m in missed)
    assert ev.check_gates(tot, min_exact_count=0.3, max_angle_mae=2.0, min_fault_f1=0.6) == []
    # An id the set cannot show fails its gate rather than passing silently.
    assert any("neck_crank" in m for m in ev.check_gates(tot, min_fault_f1=0.5, fault_ids=["neck_crank"]))


def test_format_table_lists_clips_mismatches_and_totals():
    sc = ev.score_clip(report([rep(0, 3, ["fast_descent"])]), truth([rep(0, 3, found=False)], name="c1"))
    text = ev.format_table([sc], ev.totals([sc]))
    assert "c1" in text and "rep 1: extra fast_descent" in text
    assert "exact count 100%" in text and "fast_descent" in text


# --------------------------------------------------------------------------- inputs and CLI (no model)
def _write(p: Path, d: dict) -> Path:
    p.write_text(json.dumps(d))
    return p


def test_load_truth_rejects_other_files(tmp_path):
    with pytest.raises(ev.SourceError, match="expected schema"):
        ev.load_truth(_write(tmp_path / "r.json", {"schema": "formcheck.report/2"}))
    with pytest.raises(ev.SourceError, match="expected_rep_count"):
        ev.load_truth(_write(tmp_path / "t.json", {"schema": ev.TRUTH_SCHEMA}))
    t = ev.load_truth(_write(tmp_path / "ok.json", {"schema": ev.TRUTH_SCHEMA, "expected_rep_count": 2}))
    assert t["name"] == "ok"


def test_collect_folders_clips_and_labels(tmp_path):
    _write(tmp_path / "a.json", truth(expected=1))
    (tmp_path / "a.mp4").write_bytes(b"x")
    _write(tmp_path / "b.json", truth(expected=2))
    _write(tmp_path / "notes.json", {"something": "else"})
    got = ev.collect([tmp_path])
    assert [(j.name, c.name if c else None) for j, c in got] == [("a.json", "a.mp4"), ("b.json", None)]
    assert ev.collect([tmp_path / "a.mp4"]) == [(tmp_path / "a.json", tmp_path / "a.mp4")]
    (tmp_path / "lonely.mp4").write_bytes(b"x")
    with pytest.raises(ev.SourceError, match="no label file"):
        ev.collect([tmp_path / "lonely.mp4"])


def test_cli_scores_existing_reports_and_gates(tmp_path, capsys):
    labels, reports = tmp_path / "labels", tmp_path / "reports"
    labels.mkdir()
    reports.mkdir()
    _write(labels / "c1.json", truth([rep(0, 3, ["hyperextension"], found=False)], name="c1"))
    _write(labels / "c2.json", truth(expected=2, name="c2"))
    _write(reports / "c1.json", report([rep(0.1, 3, ["hyperextension"])]))
    _write(reports / "c2.json", report([rep(0, 3), rep(3, 6)]))
    out = tmp_path / "eval.json"
    rc = main(["eval", str(labels), "--reports", str(reports), "--json", str(out),
               "--min-exact-count", "1", "--min-fault-f1", "1"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "all gates passed" in text
    doc = json.loads(out.read_text())
    assert doc["schema"] == ev.EVAL_SCHEMA and doc["gates_missed"] == []
    assert [c["name"] for c in doc["clips"]] == ["c1", "c2"]
    assert doc["totals"]["faults"]["hyperextension"]["f1"] == 1.0

    _write(reports / "c2.json", report([rep(0, 3)]))
    rc = main(["eval", str(labels), "--reports", str(reports), "--min-exact-count", "1"])
    text = capsys.readouterr().out
    assert rc == 1
    assert "GATE MISSED: exact rep count share 0.50 < --min-exact-count 1" in text


def test_cli_missing_report_is_a_user_error(tmp_path, capsys):
    _write(tmp_path / "c1.json", truth(expected=1, name="c1"))
    rc = main(["eval", str(tmp_path / "c1.json"), "--reports", str(tmp_path / "none")])
    assert rc == 2
    assert "no report" in capsys.readouterr().err


def test_set_overrides_parse_values():
    from formcheck.app.options import parse_set

    assert parse_set(["faults.max_extension_deg=12", "kinematics.profile=seated",
                          "faults.disabled=[\"no_top_pause\"]"]) == {
        "faults": {"max_extension_deg": 12, "disabled": ["no_top_pause"]},
        "kinematics": {"profile": "seated"},
    }
    with pytest.raises(ev.FormcheckError, match="section.key=value"):
        parse_set(["max_extension_deg=12"])


def test_sweep_values_parse_and_reject_reports(tmp_path, capsys):
    assert ev._sweep_values("faults.min_lifting_s=0.5,0.6, 0.7") == ("faults.min_lifting_s", [0.5, 0.6, 0.7])
    with pytest.raises(ev.FormcheckError, match="v1,v2"):
        ev._sweep_values("faults.min_lifting_s")
    _write(tmp_path / "c1.json", truth(expected=1, name="c1"))
    rc = main(["eval", str(tmp_path), "--reports", str(tmp_path), "--sweep", "faults.min_lifting_s=0.5,0.6"])
    assert rc == 2 and "--sweep" in capsys.readouterr().err


def test_track_replay_honours_max_fps():
    from formcheck.config import load_config
    from formcheck.media.sources import ClipInfo

    info = ClipInfo("x.mp4", 30.0, 60, 2.0, 640, 480, 0)
    track = ev.PoseTrack([(k / 30.0, None) for k in range(60)], info)
    every = ev.report_from_track(track, load_config())
    assert every["summary"]["frames_analysed"] == 60 and every["summary"]["rep_count"] == 0
    half = ev.report_from_track(track, load_config(None, {"pose": {"max_fps": 15.0}}))
    assert half["summary"]["frames_analysed"] == 30
    assert len(half["frames"]["t_s"]) == 30
    strided = ev.PoseTrack(track.poses[::2], info, max_fps=15.0)
    with pytest.raises(ev.FormcheckError, match="cannot be replayed"):
        ev.report_from_track(strided, load_config())


def test_a_replayed_track_keeps_the_recorded_cuts_and_camera_roll():
    """Replays (eval --sweep) have no images: the scene cuts and the camera roll the recorded
    run took from them come with the track; a cut on a frame a lower rate skips moves to the
    next frame kept."""
    from formcheck.config import load_config
    from formcheck.media.sources import ClipInfo

    info = ClipInfo("x.mp4", 30.0, 60, 2.0, 640, 480, 0)
    rolls = [None] * 5 + [(-6.0, 0.9)] * 55
    track = ev.PoseTrack([(k / 30.0, None) for k in range(60)], info, cuts=frozenset({31}), rolls=rolls)
    every = ev.report_from_track(track, load_config())["scene"]
    assert every["cuts_s"] == [round(31 / 30.0, 3)]
    assert (every["camera_roll_deg"], every["camera_roll_confidence"]) == (-6.0, 0.9)
    half = ev.report_from_track(track, load_config(None, {"pose": {"max_fps": 15.0}}))["scene"]
    assert half["cuts_s"] == [round(32 / 30.0, 3)]
    plain = ev.report_from_track(ev.PoseTrack(track.poses, info), load_config())["scene"]
    assert plain["cuts_s"] == [] and plain["camera_roll_confidence"] is None


# --------------------------------------------------------------------------- e2e: real model
@pytest.fixture(scope="module")
def sample_eval(tmp_path_factory):
    """One model run over the bundled samples: exit code, output, eval JSON and reports."""
    if not list(SAMPLES.glob("*.json")):
        pytest.skip("sample_videos/ has no label files")
    d = tmp_path_factory.mktemp("eval")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["eval", str(SAMPLES), "--json", str(d / "eval.json"), "--save-reports", str(d / "reports"),
                   "--min-exact-count", "1.0", "--max-angle-mae", "5", "--min-fault-f1", "1.0",
                   "--fault-ids", "hyperextension,jerky_lift"])
    return rc, buf.getvalue(), json.loads((d / "eval.json").read_text()), d / "reports"


@pytest.mark.e2e
def test_e2e_sample_videos_pass_the_gates(sample_eval):
    rc, text, doc, _ = sample_eval
    assert rc == 0, text
    n = len(list(SAMPLES.glob("*.json")))
    assert doc["totals"]["clips"] == n and doc["totals"]["exact_count"] == 1.0
    assert doc["totals"]["angle_mae"] < 5
    for c in doc["clips"]:
        lab = json.loads((SAMPLES / f"{c['name']}.json").read_text())
        assert c["expected_reps"] == lab["expected_rep_count"] == c["found_reps"]


@pytest.mark.e2e
def test_e2e_reports_rescored_with_a_tight_gate_fail(sample_eval, capsys):
    _, _, doc, reports = sample_eval
    rc = main(["eval", str(SAMPLES), "--reports", str(reports), "--max-angle-mae", "0.01"])
    text = capsys.readouterr().out
    assert rc == 1 and "GATE MISSED: angle MAE" in text
    # Same reports, same figures as the model run.
    assert f"angle MAE {doc['totals']['angle_mae']:.2f}°" in text


@pytest.mark.e2e
def test_e2e_every_sweep_value_gives_the_figures_of_a_plain_run(sample_eval, tmp_path):
    """The second and later values of a sweep replay the first run's poses; they keep its camera
    roll (dev02 is filmed 6° off level), so the same setting gives the same figures."""
    _, _, doc, _ = sample_eval
    [plain] = [c for c in doc["clips"] if c["name"] == "dev02_seated_l"]
    out = tmp_path / "sweep.json"
    rc = main(["eval", str(SAMPLES / "dev02_seated_l.json"), "--sweep", "faults.min_lifting_s=0.5,0.5",
               "--json", str(out), "-q"])
    assert rc == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["clips"][0]["angle"] for r in rows] == [plain["angle"]] * 2
    assert [r["clips"][0]["found_reps"] for r in rows] == [plain["found_reps"]] * 2
