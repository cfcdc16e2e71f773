"""Typed contracts: the report dataclasses give today's JSON, and the published schema holds."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from conftest import VALIDATED, report_validator
from synth import RepScript, body_frames, run, script_set

from formcheck.core.events import ANALYSIS_KINDS, Event, EventKind, FaultId, Severity
from formcheck.core.faults import FAULT_IDS
from formcheck.core.schema import SCHEMA, FaultRecord, RepRecord, Report, Summary
from formcheck.core.types import ClipInfo
from formcheck.render.report import build_report

LIVE = {"ended": "end_of_file", "frames_processed": 420, "frames_dropped": 0, "processed_fps": 61.5,
        "latency_ms": {"p50": 15.0, "p95": 21.0, "max": 30.0, "n": 420}, "pace": "none"}
INFO = ClipInfo("clip.mp4", 29.97002997, 420, 14.014, 640, 480, 90)


@pytest.fixture(scope="module")
def result():
    reps = [RepScript(), RepScript(peak=14.0, jerky=True), RepScript(depth=-20.0)]
    t, e, neck, shift = script_set(reps)
    res, _ = run(body_frames(t, e, neck=neck, shift=shift))
    assert [(r.counted, [f.id for f in r.faults]) for r in res.reps] == [
        (True, []), (True, ["hyperextension"]), (False, ["partial_range"])]
    return res


def test_records_equal_the_core_records_json(result):
    assert result.reps and any(r.faults for r in result.reps)
    for rep in result.reps:
        assert RepRecord.from_rep(rep).to_dict() == rep.to_dict()
        for f in rep.faults:
            rec = FaultRecord.from_fault(f)
            assert rec.to_dict() == f.to_dict()
            assert isinstance(rec.id, FaultId) and isinstance(rec.severity, Severity)


def test_report_json_shape_and_key_order(result):
    rep = build_report(result, INFO, "d1g", True, extra={"config": {"a": 1}, "live": LIVE})
    assert list(rep) == ["schema", "formcheck_version", "clip", "profile", "facing", "config_digest",
                         "summary", "warnings", "reps", "frames", "scene", "config", "live"]
    assert rep["schema"] == SCHEMA == "formcheck.report/2"
    assert rep["clip"] == {"path": "clip.mp4", "fps": 29.97, "n_frames": 420, "duration_s": 14.014,
                           "width": 640, "height": 480, "rotation_deg": 90}
    s = rep["summary"]
    assert list(s["faults"]) == list(FAULT_IDS)
    assert s["rep_count"] == result.rep_count and s["partial_reps"] == result.partial_reps
    assert sum(s["faults"].values()) == sum(len(r.faults) for r in result.reps)
    assert len(rep["frames"]["t_s"]) == result.frames_total
    assert "frames" not in build_report(result, INFO, include_frames=False)
    json.dumps(rep, allow_nan=False)


def test_report_dataclasses_are_frozen(result):
    r = Report.build(result, INFO)
    with pytest.raises(AttributeError):
        r.profile = "prone"  # type: ignore[misc]
    assert Summary.from_result(result).fault_counts == r.to_dict()["summary"]["faults"]


def test_every_built_report_was_validated(result):
    before = VALIDATED["reports"]
    build_report(result, INFO)
    assert VALIDATED["reports"] == before + 1


@pytest.mark.parametrize("breakage, where", [
    (lambda d: d.update(schema="formcheck.render.report/1"), "schema"),
    (lambda d: d["summary"].pop("rep_count"), "rep_count"),
    (lambda d: d["reps"][0]["faults"].append({**d["reps"][1]["faults"][0], "id": "slouch"}), "slouch"),
    (lambda d: d["reps"][0].update(counted="yes"), "yes"),
    (lambda d: d["frames"]["visible"].append(0.5), "0.5"),
    (lambda d: d["summary"]["faults"].pop("neck_crank"), "neck_crank"),
])
def test_schema_rejects_broken_reports(result, breakage, where):
    good = build_report(result, INFO)
    validator = report_validator()
    validator.validate(good)
    bad = copy.deepcopy(good)
    breakage(bad)
    with pytest.raises(jsonschema.ValidationError, match=where):
        validator.validate(bad)


def test_enums_are_the_strings_of_the_json():
    assert tuple(f.value for f in FaultId) == FAULT_IDS
    assert json.dumps([EventKind.REP, Severity.MAJOR, FaultId.HIP_SHIFT]) == '["rep", "major", "hip_shift"]'
    assert f"{EventKind.VIEW_OK}" == str(EventKind.VIEW_OK) == "view_ok"
    assert EventKind.REP == "rep" and "rep" in {EventKind.REP}
    assert {k.value for k in ANALYSIS_KINDS} == {"view", "view_ok", "armed", "rep_counted", "rep",
                                                  "partial", "fault", "tracking_lost", "calibration"}


def test_event_kind_is_typed_and_checked():
    ev = Event("partial", 1.23456, "", {"rep": {"index": 1}})
    assert ev.kind is EventKind.PARTIAL
    assert ev.to_dict() == {"event": "partial", "t": 1.235, "message": "", "rep": {"index": 1}}
    with pytest.raises(ValueError):
        Event("bogus", 0.0)
    with pytest.raises(ValueError, match="analysis kind"):
        Event(EventKind.CUE, 0.0)  # a front-end line, not an analysis event


def test_analysis_emits_enum_kinds():
    t, e, _, _ = script_set([RepScript()])
    _, events = run(body_frames(t, e))
    assert [ev.kind for ev in events] == [EventKind.VIEW_OK, EventKind.ARMED, EventKind.REP_COUNTED]
    assert all(type(ev.kind) is EventKind for ev in events)
