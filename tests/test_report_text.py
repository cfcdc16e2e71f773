"""What a user reads in a report: no internal references (issue #14)."""

from formcheck.core.faults import RULES


def test_fault_sources_name_the_guide_not_an_internal_seed_file():
    for rule in RULES.values():
        assert "seed" not in rule.source.lower(), rule.id
        assert "guide)" in rule.source, rule.id


def _summary_report(n_read: int, n_frames: int = 348, fps: float = 30.0) -> dict:
    return {
        "clip": {"path": "/x/clip.mp4", "fps": fps, "n_frames": n_frames, "duration_s": n_frames / fps,
                 "width": 640, "height": 480},
        "profile": "seated", "facing": "left", "warnings": [], "reps": [],
        "summary": {"rep_count": 0, "partial_reps": 0, "good_reps": 0, "score": None},
        "frames": {"t_s": [k / fps for k in range(n_read)]},
    }


def test_the_summary_says_how_much_of_a_truncated_clip_was_read():
    from formcheck.render.report import format_summary

    assert format_summary(_summary_report(87)).splitlines()[0] == \
        "clip.mp4: 11.6 s (2.9 s read), 640x480, profile seated, facing left"
    # a whole clip (or one read to within 10 %) says nothing more
    assert format_summary(_summary_report(348)).splitlines()[0] == \
        "clip.mp4: 11.6 s, 640x480, profile seated, facing left"
    assert "read" not in format_summary(_summary_report(320)).splitlines()[0]


def test_the_summary_lists_the_shots_of_an_edited_clip():
    from formcheck.render.report import format_summary

    r = _summary_report(348)
    r["scene"] = {"spans_s": [[0.0, 11.9], [11.933, 23.5]],
                  "span_views": [{"profile": "seated", "facing": "right"},
                                 {"profile": "prone", "facing": None}]}
    assert format_summary(r).splitlines()[2] == \
        "  shots: 0.0–11.9 s seated, facing right; 11.9–23.5 s prone"
    r["scene"] = {"spans_s": [[0.0, 11.6]], "span_views": [{"profile": "seated", "facing": "left"}]}
    assert "shots" not in format_summary(r)


def _rep(index: int, untimed: list[str]) -> dict:
    return {"index": index, "counted": True, "depth_deg": -57.0, "peak_extension_deg": -8.0,
            "lowering_s": -0.0, "lifting_s": 0.91, "top_hold_s": 0.64, "peak_lift_velocity_dps": 70.0,
            "faults": [], "untimed": untimed}


def test_a_phase_cut_short_reads_as_a_dash_not_as_a_time():
    """A set that starts at the bottom and ends (or loses the person) during a rep's top stay:
    its lowering and hold were never over, so no "-0.00s" lowering that reads as a drop."""
    from formcheck.render.report import format_summary, reps_csv

    r = _summary_report(348)
    r["reps"] = [_rep(1, []), _rep(2, ["lowering", "top_hold"])]
    lines = format_summary(r).splitlines()
    assert lines[-3].startswith("    1    -57°   -8° -0.00s  0.91s  0.64s")
    assert lines[-2].startswith("    2    -57°   -8°     –   0.91s     –      70°/s")
    assert lines[-1] == "  (– = not timed: the set ended, or the person was lost, before that phase was over)"
    rows = [line.split(",") for line in reps_csv(r).splitlines()]
    col = {name: k for k, name in enumerate(rows[0])}
    assert [(row[col["lowering_s"]], row[col["top_hold_s"]]) for row in rows[1:]] == [
        ("-0.0", "0.64"), ("", "")]


def test_the_summary_says_what_was_found_about_the_footage():
    from formcheck.render.report import format_summary

    r = _summary_report(348)
    r["scene"] = {"camera_roll_deg": -5.929, "camera_roll_confidence": 1.0, "set_started_s": 2.4,
                  "set_ended_s": 10.5, "cuts_s": [], "spans_s": [[0.0, 11.6]],
                  "span_views": [{"profile": "seated", "facing": "left"}],
                  "neutral_offset_deg": 2.25, "neutral_source": "start"}
    assert format_summary(r).splitlines()[2:5] == [
        "  set: 2.4 s to 10.5 s (got off the machine)",
        "  camera roll: -5.9° (confidence 1.00), corrected",
        "  athlete's neutral: +2.2° (the first still second), subtracted from every angle",
    ]
    r["scene"].update(set_ended_s=None, camera_roll_deg=0.0, camera_roll_confidence=None,
                      neutral_source="none")
    assert format_summary(r).splitlines()[2:4] == [
        "  set: 2.4 s to the end of the clip",
        "  camera roll: not measured from the scene; taken as level",
    ]
    r["scene"]["camera_roll_deg"] = 3.0  # kinematics.camera_roll_deg, no estimate
    assert "  camera roll: not measured from the scene; +3.0° as configured" in format_summary(r)
    assert "neutral" not in format_summary(r)
