"""Fast checks of what the streaming Analyzer (``core/analysis.py``) and the report contract
(``core/schema.py``) promise (mutation testing, #12).

Each test pins a behaviour a docstring, the README or DESIGN.md states: tracking gaps bridged up
to ``max_gap_s`` and never counted across, the warnings before a set, the guards of the live
keys, a new set after ``reset_set``, the offline refinement of the series, and the report's
rounding and keys. The Analyzer is fed synthetic ``PoseFrame``s (``tests/synth.py``); pure
numpy, no pose model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from synth import RepScript, body_frames, run, script_set

from formcheck.config import Config
from formcheck.core import landmarks as L
from formcheck.core.analysis import MSG_NO_PERSON, MSG_NO_REPS, MSG_STEP_BACK, Analyzer
from formcheck.core.events import FaultId
from formcheck.core.schema import SCHEMA, ClipMeta, FrameSeries, Report, Summary
from formcheck.core.setresult import SetResult
from formcheck.core.types import ClipInfo, Fault, PoseFrame, Rep
from formcheck.core.viewing import MSG_SET_ENDED

# --- the report contract (schema.py) --------------------------------------------------------


def a_rep(index: int = 1, counted: bool = True, faults: tuple[Fault, ...] = ()) -> Rep:
    return Rep(index, counted, 1.00049, 2.5, 3.0, 4.25, -40.12345, 2.0004, 1.5, 1.2, 0.6,
               80.0, -60.0, 0.01, 3.0, faults)


def a_result(reps: list[Rep], series: dict | None = None, scene: dict | None = None,
             facing: str | None = "left") -> SetResult:
    s = series if series is not None else {
        "t_s": np.array([0.0, 1 / 3, 2 / 3]), "extension_deg": np.array([-1.23456, math.nan, 5.006]),
        "hip_angle_deg": np.array([100.0049, math.inf, 91.237]),
        "velocity_dps": np.array([12.3456, -math.inf, 0.04]), "visible": np.array([1.0, 0.0, 1.0])}
    return SetResult("seated", facing, reps, ["w1"], s, 3, 2, "causal one-euro", scene or {})


CLIP = ClipInfo("c.mp4", 29.9996, 420, 14.01449, 640, 480, 90)


def test_clip_meta_rounds_to_3_decimals_and_non_finite_is_null():
    assert ClipMeta.from_info(CLIP).to_dict() == {
        "path": "c.mp4", "fps": 30.0, "n_frames": 420, "duration_s": 14.014, "width": 640,
        "height": 480, "rotation_deg": 90}
    for bad in (math.nan, math.inf, -math.inf, None):
        meta = ClipMeta.from_info(ClipInfo("c.mp4", bad, 0, bad, 1, 1, 0))
        assert meta.fps is None and meta.duration_s is None


def test_frame_series_rounding_per_field_and_null_where_not_finite():
    fs = FrameSeries.from_series(a_result([]).series, "causal one-euro")
    # t_s 3 decimals, angles 2, velocity 1; NaN and ±inf become None
    assert fs.t_s == (0.0, 0.333, 0.667)
    assert fs.extension_deg == (-1.23, None, 5.01)
    assert fs.hip_angle_deg == (100.0, None, 91.24)
    assert fs.velocity_dps == (12.3, None, 0.0)
    assert fs.visible == (True, False, True) and fs.smoothing == "causal one-euro"
    assert all(type(v) is bool for v in fs.visible)


def test_report_build_defaults_keys_and_summary():
    fault = Fault("hyperextension", 3.21, 14.0, 10.0, "deg", "major", "Stop in line.", "guide")
    res = a_result([a_rep(1, True, (fault,)), a_rep(2, True), a_rep(3, False)])
    d = Report.build(res, CLIP).to_dict()
    assert d["schema"] == SCHEMA and d["config_digest"] == ""  # no digest given: empty
    assert d["profile"] == "seated" and d["facing"] == "left" and d["warnings"] == ["w1"]
    assert "frames" in d and d["frames"]["t_s"] == [0.0, 0.333, 0.667]  # frames by default
    assert "scene" not in d  # a result without a scene adds no scene key
    s = d["summary"]
    # (100 - 35) and 100 for the counted reps: mean 82.5, minus 5 for the partial
    assert s["score"] == 77.5 and s["rep_count"] == 2 and s["partial_reps"] == 1
    assert s["good_reps"] == 1 and s["frames_analysed"] == 3 and s["frames_with_pose"] == 2
    assert list(s["faults"]) == [f.value for f in FaultId]
    assert s["faults"]["hyperextension"] == 1 and sum(s["faults"].values()) == 1
    assert Summary.from_result(res).score == 77.5
    d2 = Report.build(a_result([], facing=None, scene={"cuts_s": []}), CLIP, "abc",
                      include_frames=False, extra={"config": {"a": 1}}).to_dict()
    assert d2["facing"] is None and d2["config_digest"] == "abc" and "frames" not in d2
    assert d2["summary"]["score"] is None
    assert list(d2)[-2:] == ["scene", "config"] and d2["scene"] == {"cuts_s": []}


# --- tracking gaps and the warnings before a set (analysis.py: update, _missing) -------------


def feed(an: Analyzer, frames, poses=None) -> list:
    """Feed ``frames`` (PoseFrames, or times with ``None`` for nobody); return the events."""
    out = []
    for f in frames:
        out += an.update(f, None) if isinstance(f, float) else an.update(f.t_s, f)
    return out


def still(t: np.ndarray, e: float = -22.0, **kw) -> list[PoseFrame]:
    """Still frames at the times ``t`` (e = -22°: between the zones, the counter never arms)."""
    return body_frames(np.asarray(t, dtype=float), np.full(len(t), e), **kw)


def hidden(frames: list[PoseFrame], vis: float = 0.2) -> list[PoseFrame]:
    """The same frames with the shoulders and hips barely seen (hips out of the frame)."""
    out = []
    for f in frames:
        v = f.visibility.copy()
        v[:] = vis
        out.append(PoseFrame(f.t_s, f.xy, v, f.z, f.world, f.image_wh))
    return out


def brief(events) -> list[tuple]:
    return [(ev.kind.value, ev.t, ev.message) for ev in events]


def test_no_person_warned_once_no_person_warn_s_after_the_start():
    """'No one in view' once nobody has been seen for no_person_warn_s (0.5 s) from the clip's
    own start (here 10 s), at that frame, once."""
    an = Analyzer(Config())
    evs = feed(an, [10.0 + k / 32 for k in range(64)])
    assert brief(evs) == [("view", 10.5, MSG_NO_PERSON)]
    assert an.warnings == [MSG_NO_PERSON] and an.frames_total == 64 and an.frames_with_pose == 0
    res = an.finish()
    assert res.warnings == [MSG_NO_PERSON] and res.reps == []
    assert res.frames_total == 64 and res.frames_with_pose == 0
    assert np.isnan(res.series["extension_deg"]).all() and not res.series["visible"].any()


def test_hips_out_of_view_from_the_start_is_step_back_not_no_person():
    """A body whose shoulders/hips are seen below min_visibility: 'Step back …' once, at once;
    not 'No one in view' (someone is there) however long it lasts."""
    an = Analyzer(Config())
    evs = feed(an, hidden(still(np.arange(48) / 32 + 3.0)))
    assert brief(evs) == [("view", 3.0, MSG_STEP_BACK)]
    assert an.warnings == [MSG_STEP_BACK] and an.frames_with_pose == 0 and an.view is None


@pytest.mark.parametrize("nobody", [True, False])
def test_tracking_lost_only_after_more_than_max_gap_s(nobody):
    """Gaps up to max_gap_s (inclusive) are bridged; a longer one loses the track once, with
    'No one in view' (nobody found) or 'Step back …' (hips not seen)."""
    cfg = Config()
    cfg.kinematics.max_gap_s = 0.25
    an = Analyzer(cfg)
    feed(an, still(np.arange(65) / 32))  # seen until 2.0 s; the view is decided at 1.0 s
    assert an.view is not None and not an.view.frontal
    gap = [2.0 + k / 32 for k in range(1, 20)]
    frames = gap if nobody else hidden(still(gap))
    evs = [ev for ev in feed(an, frames) if ev.kind != "view"]
    msg = MSG_NO_PERSON if nobody else MSG_STEP_BACK
    assert brief(evs) == [("tracking_lost", 2.0 + 9 / 32, msg)]  # 0.25 s bridged, 0.28 s not
    assert an.warnings == ([] if nobody else [MSG_STEP_BACK])
    # seen again: a new track; losing it again is reported again
    feed(an, still(np.arange(3, 41) / 32 + 3.0))  # seen until 4.25 s
    evs = feed(an, [4.25 + k / 32 for k in range(1, 12)])
    assert brief(evs) == [("tracking_lost", 4.25 + 9 / 32, MSG_NO_PERSON)]


@pytest.mark.parametrize("skipped_s, counted", [(0.3, 2), (0.4, 1)])
def test_a_long_gap_with_no_frames_in_it_is_never_counted_across(skipped_s, counted):
    """A stalled camera or a jump in a clip's times delivers no frame without the person, only
    a later frame with them. DESIGN: never count across a gap longer than max_gap_s (0.3 s):
    the rep under way at the jump is dropped, as for a run of frames without the person."""
    t, e, _, _ = script_set([RepScript(), RepScript()])
    frames = body_frames(t, e)
    k = int(np.argmin(e[: len(e) // 2]))  # the first rep's bottom
    n = round(skipped_s * 30)  # frames that never arrive
    kept = frames[:k] + frames[k + n:]
    an = Analyzer(Config())
    evs = feed(an, kept)
    res = an.finish()
    assert sum(r.counted for r in res.reps) == counted
    assert not any(ev.kind.value == "tracking_lost" for ev in evs)  # the person is in view


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_a_gap_is_the_missing_frames_worth_of_time_at_any_frame_rate(fps):
    """0.3 s without the person is bridged at 10 fps (3 frames) as at 30 fps (9 frames); one
    frame more is not."""
    for missing, kept_reps in ((round(0.3 * fps), 2), (round(0.3 * fps) + 1, 1)):
        t, e, _, _ = script_set([RepScript(), RepScript()], fps=fps)
        frames = body_frames(t, e)
        k = int(np.argmin(e[: len(e) // 2]))
        fed = [float(f.t_s) if k <= i < k + missing else f for i, f in enumerate(frames)]
        an = Analyzer(Config())
        feed(an, fed)
        assert sum(r.counted for r in an.finish().reps) == kept_reps, (fps, missing)


# --- closing the set (finish) -----------------------------------------------------------------


def test_finish_warns_no_person_only_when_nobody_was_ever_seen():
    an = Analyzer(Config())
    feed(an, [k / 30 for k in range(9)])  # 0.27 s: too short for the warning while it runs
    assert an.warnings == []
    assert an.finish().warnings == [MSG_NO_PERSON]


def test_finish_without_a_decided_view_warns_nothing():
    """Bodies seen for less than view_check_s: no view, but someone was there; not 'No one in
    view', and not 'No rep found' (that needs a side view)."""
    an = Analyzer(Config())
    feed(an, still(np.arange(15) / 30))
    assert an.view is None and an.frames_with_pose == 15
    res = an.finish()
    assert res.warnings == [] and res.reps == [] and res.profile == "auto" and res.facing is None
    assert res.frames_total == 15 and res.frames_with_pose == 15
    assert np.isnan(res.series["extension_deg"]).all() and not res.series["visible"].any()
    assert res.series["t_s"] == pytest.approx(np.arange(15) / 30)


def test_finish_side_view_without_reps_warns_no_reps():
    an = Analyzer(Config())
    feed(an, still(np.arange(60) / 30))
    res = an.finish()
    assert res.warnings == [MSG_NO_REPS] and res.profile == "seated" and res.facing == "right"
    # the series: float arrays, one value per frame, ``visible`` as booleans
    assert set(res.series) == {"t_s", "extension_deg", "hip_angle_deg", "velocity_dps", "visible",
                               "raw"}
    assert res.series["visible"].dtype == bool and res.series["visible"].all()
    assert all(res.series[k].dtype == np.float64 and res.series[k].size == 60
               for k in res.series if k != "visible")


@pytest.mark.parametrize("how", ["finish", "tracking_lost"])
def test_a_top_stay_cut_short_ends_at_the_last_sample_seen(how):
    """A counted rep still in its top stay when the set ends (finish) or the exerciser is lost:
    the rep is closed with the top stay ending at the last sample seen (its hold included). Its
    lowering was seen whole: a 0.6 s lowering is still a fast descent (min 1 s)."""
    t, e, _, _ = script_set([RepScript(top_hold_s=1.0, lowering_s=0.6)], tail_s=0.0)
    an = Analyzer(Config())
    evs = feed(an, body_frames(t, e))
    last = float(t[-1])
    assert an.rep_count == 1 and an.reps == [] and not any(ev.kind == "rep" for ev in evs)
    if how == "finish":
        res = an.finish()
        reps = res.reps
        evs = an.final_events
    else:
        evs = feed(an, [last + k / 30 for k in range(1, 12)])
        reps = an.reps
    assert [ev.kind.value for ev in evs][:1] == ["rep"] and len(reps) == 1
    r = reps[0]
    assert r.counted and r.t_end == pytest.approx(last, abs=1e-9)
    assert r.top_hold_s > 1.0  # the scripted 1 s plateau is all in the hold
    assert [f.id for f in r.faults] == ["fast_descent"]


# --- the live keys' guards, and a new set ----------------------------------------------------


@pytest.mark.parametrize("setter, what", [("set_camera_roll", "camera roll"),
                                          ("set_neutral_offset", "neutral offset")])
def test_roll_and_neutral_accept_up_to_45_deg_and_refuse_the_rest(setter, what):
    an = Analyzer(Config())
    for ok in (45.0, -45.0, 0.0, 44.5):
        getattr(an, setter)(ok)
    for bad in (45.5, -46.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=rf"^{what}: expected a finite angle within ±45°, got {bad}$"):
            getattr(an, setter)(bad)
    assert an.camera_roll_deg == 44.5 if setter == "set_camera_roll" else an.neutral_offset == 44.5


def test_camera_roll_is_kept_with_its_confidence_and_in_the_scene():
    an = Analyzer(Config())
    an.set_camera_roll(-7.25, 0.8)
    assert an.camera_roll_deg == -7.25 and an.camera_roll_confidence == 0.8
    sc = an.scene()
    assert sc["camera_roll_deg"] == -7.25 and sc["camera_roll_confidence"] == 0.8


def test_reset_set_starts_a_new_set_numbered_from_one_with_the_view_kept():
    """'r' key: reps and filters cleared, the view decision kept; the next rep is rep 1."""
    t, e, _, _ = script_set([RepScript(), RepScript()])
    frames = body_frames(t, e)
    an = Analyzer(Config())
    feed(an, frames)
    assert an.rep_count == 2 and [r.index for r in an.reps] == [1]  # rep 2 still in its top stay
    view = an.view
    an.reset_set()
    assert an.rep_count == 0 and an.reps == [] and an.view is view
    t2 = t + t[-1] + 1 / 30
    evs = feed(an, body_frames(t2, e)[: int(0.7 * len(t))])  # the first rep of the new set
    res = an.finish()
    assert [r.index for r in res.reps] == [1] and res.reps[0].counted
    assert [ev.data["count"] for ev in evs if ev.kind == "rep_counted"] == [1]
    assert res.reps[0].t_start > t2[0]  # nothing of the old set is measured in it
    assert an.scene()["set_started_s"] >= t2[0]  # the new set's start, not the old one's


# --- the per-frame series: short gaps filled, offline refinement (_fill_gap, finish) ---------


def lowering_frames(t0: float = 0.0) -> tuple[np.ndarray, list[PoseFrame]]:
    """Times every 1/32 s (exact in binary): still at -5° for 1.5 s, then a curved lowering."""
    t = t0 + np.arange(96) / 32
    e = np.where(t - t0 < 1.5, -5.0, -5.0 - 40.0 * np.sin(np.clip(t - t0 - 1.5, 0, 1.5)) ** 2)
    return t, body_frames(t, e)


@pytest.mark.parametrize("n, filled", [(8, True), (9, False)])
def test_a_gap_up_to_max_gap_s_is_filled_linearly_between_the_samples_around_it(n, filled):
    """DESIGN: fill gaps up to max_gap_s (here 0.25 s, inclusive), never across longer ones. A
    gap is the missing frames' worth of time: 8 frames at 32 fps (0.25 s) are filled, 9 are not.
    The filled samples lie on the straight line (in time) from the last sample before the gap
    to the first one after it; those two and everything before are left as measured."""
    cfg = Config()
    cfg.kinematics.max_gap_s = 0.25
    t, frames = lowering_frames()
    k0 = 64  # 2.0 s, during the lowering
    # n frames missing between the last seen (k0 - 1) and the next
    drop = set(range(k0, k0 + n))
    full = Analyzer(cfg)
    feed(full, frames)
    ref = full.finish().series
    an = Analyzer(cfg)
    feed(an, [float(f.t_s) if k in drop else f for k, f in enumerate(frames)])
    s = an.finish().series
    before = slice(0, k0)
    for key in ("extension_deg", "hip_angle_deg", "raw"):
        assert s[key][before] == pytest.approx(ref[key][before], abs=1e-12)  # causal
    assert not s["visible"][k0:k0 + n].any() and s["visible"][k0 + n]
    if not filled:
        assert np.isnan(s["extension_deg"][k0:k0 + n]).all()
        return
    a, b = k0 - 1, k0 + n
    w = (t[k0:k0 + n] - t[a]) / (t[b] - t[a])
    for key in ("extension_deg", "hip_angle_deg", "raw"):
        line = s[key][a] + w * (s[key][b] - s[key][a])
        assert s[key][k0:k0 + n] == pytest.approx(line, abs=1e-9)
    # the sample after the gap is the raw angle as measured (the filter did not see the gap)
    assert s["raw"][b] == pytest.approx(ref["raw"][b], abs=1e-9)
    assert np.ptp(s["extension_deg"][a:b + 1]) > 2.0  # the line spans a real change of e


def test_a_gap_at_the_start_of_the_series_is_not_filled():
    """Nothing was seen before it: there is no sample to draw the line from."""
    t, frames = lowering_frames()
    an = Analyzer(Config())
    feed(an, [float(f.t_s) if k < 5 else f for k, f in enumerate(frames)])
    s = an.finish().series
    assert np.isnan(s["extension_deg"][:5]).all() and np.isfinite(s["extension_deg"][5:]).all()


@pytest.mark.parametrize("cutoff", [4.0, 2.5])
def test_refine_recomputes_the_series_zero_phase_from_the_raw_angle(cutoff):
    """finish(refine=True): e is the zero-phase Butterworth of the raw e at offline_cutoff_hz,
    the velocity its time derivative; reps stay those of the causal core."""
    from formcheck.core.kinematics import butterworth_zero_phase

    cfg = Config()
    cfg.kinematics.offline_cutoff_hz = cutoff
    t, frames = lowering_frames()
    frames = [float(f.t_s) if k < 5 else f for k, f in enumerate(frames)]  # nobody at first
    an = Analyzer(cfg)
    feed(an, frames)
    causal = {k: v.copy() for k, v in an.finish().series.items()}
    an = Analyzer(cfg)
    feed(an, frames)
    res = an.finish(refine=True)
    s = res.series
    assert res.smoothing == f"zero-phase butterworth {cutoff:g} Hz"
    ok = np.isfinite(s["raw"])
    want = butterworth_zero_phase(s["t_s"], s["raw"], cutoff)
    assert ok.sum() == 91 and s["extension_deg"][ok] == pytest.approx(want[ok], abs=1e-9)
    assert s["velocity_dps"][ok] == pytest.approx(np.gradient(want, s["t_s"])[ok], abs=1e-9, nan_ok=True)
    assert np.isfinite(s["velocity_dps"][ok][1:]).all()
    # frames without a body keep their (NaN) values
    assert np.isnan(s["extension_deg"][~ok]).all() and np.isnan(s["velocity_dps"][~ok]).all()
    assert s["hip_angle_deg"][ok] == pytest.approx(causal["hip_angle_deg"][ok], abs=1e-12)
    assert not np.allclose(s["extension_deg"][ok], causal["extension_deg"][ok], atol=0.05)


@pytest.mark.parametrize("n, refined", [(6, False), (7, True)])
def test_refine_needs_seven_samples(n, refined):
    """The zero-phase filter needs 7 samples (its start-up pad); fewer keep the causal series."""
    an = Analyzer(Config())
    feed(an, [k / 30 for k in range(n)])
    res = an.finish(refine=True)
    assert res.series["t_s"].size == n
    assert res.smoothing == ("zero-phase butterworth 4 Hz" if refined else "causal one-euro")


def test_reps_over_the_sets_own_range_are_noted_with_their_median_depth():
    """Reps counted over the set's own range (short of BOTTOM) are named in one warning: how
    many, their median depth (not the mean) and the bottom zone they missed."""
    cfg = Config()
    cfg.reps.bottom_deg = 32.5
    t, e, _, _ = script_set([RepScript(depth=-20.0), RepScript(depth=-21.0),
                             RepScript(depth=-27.0)])
    an = Analyzer(cfg)
    feed(an, body_frames(t, e))
    res = an.finish()
    assert [r.counted for r in res.reps] == [True, True, True]
    assert res.warnings == [
        "Counted over your own range: 3 rep(s) went down about 21° (short of the 32.5° bottom "
        "zone) and were counted as the set's consistent range. To hold the set to a depth, set "
        "reps.min_range_deg to it."]


# --- what the angle is measured from (_process) ----------------------------------------------


def turned(frames: list[PoseFrame], deg: float) -> list[PoseFrame]:
    """Every landmark turned ``deg`` clockwise on screen about (320, 240): the true vertical
    then points along image-up turned ``deg`` clockwise, the roll ``set_camera_roll`` takes."""
    a = math.radians(deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c = np.array([320.0, 240.0])
    return [PoseFrame(f.t_s, (f.xy - c) @ rot.T + c, f.visibility, f.z, f.world, f.image_wh)
            for f in frames]


@pytest.mark.parametrize("roll", [8.0, -12.0])
def test_seated_angle_is_measured_from_the_true_vertical_given_the_camera_roll(roll):
    """set_camera_roll: the seated e is measured from image-up turned by the roll, so a rolled
    camera with its roll given reads the same e as a level one; without it, e is off by the roll."""
    t, e, _, _ = script_set([RepScript()])
    frames = body_frames(t, e)
    level = Analyzer(Config())
    feed(level, frames)
    ref = level.finish().series
    an = Analyzer(Config())
    an.set_camera_roll(roll)
    feed(an, turned(frames, roll))
    s = an.finish().series
    assert s["raw"] == pytest.approx(ref["raw"], abs=1e-6)
    assert s["hip_angle_deg"] == pytest.approx(ref["hip_angle_deg"], abs=1e-6)
    plain = Analyzer(Config())
    feed(plain, turned(frames, roll))
    s = plain.finish().series
    ok = np.isfinite(s["raw"])
    # facing right, the front is +x: a clockwise roll tips image-up toward the front (flexion)
    assert s["raw"][ok] - ref["raw"][ok] == pytest.approx(np.full(ok.sum(), -roll), abs=1e-6)


@pytest.mark.parametrize("profile", ["seated", "prone"])
def test_neutral_offset_is_subtracted_from_every_e(profile):
    cfg = Config()
    cfg.kinematics.neutral_offset_deg = 6.5
    t, e, _, _ = script_set([RepScript()])
    frames = body_frames(t, e, profile)
    an = Analyzer(Config())
    feed(an, frames)
    ref = an.finish().series
    an = Analyzer(cfg)
    feed(an, frames)
    res = an.finish()
    assert res.series["raw"] == pytest.approx(ref["raw"] - 6.5, abs=1e-9, nan_ok=True)
    assert res.series["extension_deg"] == pytest.approx(ref["extension_deg"] - 6.5, abs=1e-6,
                                                       nan_ok=True)
    assert res.scene["neutral_offset_deg"] == 6.5 and res.scene["neutral_source"] == "config"


# --- the events (_handle) --------------------------------------------------------------------


def timed_events(an: Analyzer, frames) -> list[tuple[float, object]]:
    out = []
    for f in frames:
        out += [(f.t_s, ev) for ev in an.update(f.t_s, f)]
    return out


@pytest.mark.parametrize("start, e0", [("top", 0.0), ("bottom", -45.0)])
def test_armed_event_names_the_zone_the_set_starts_in(start, e0):
    """Armed settle_s (0.4 s) into the first zone, on a frame held back until the view was
    decided (1.0 s): the event carries the sample's time; the scene keeps the first arming."""
    t, e, _, _ = script_set([RepScript()], start=e0, lead_s=1.5)
    an = Analyzer(Config())
    evs = timed_events(an, body_frames(t, e))
    armed = [(tf, ev) for tf, ev in evs if ev.kind == "armed"]
    assert len(armed) == 1
    tf, ev = armed[0]
    assert tf == 1.0 and ev.t == 0.4 and ev.message == f"ready — set starts at the {start}"
    assert ev.data == {"start": start}
    assert an.scene()["set_started_s"] == 0.4
    # lost and armed again later: the set still started at 0.4 s
    feed(an, [float(t[-1]) + k / 30 for k in range(1, 15)])
    t2 = t[-1] + 0.5 + t
    evs = timed_events(an, body_frames(t2, e))
    assert [ev.kind.value for _, ev in evs].count("armed") == 1
    assert an.scene()["set_started_s"] == 0.4


def test_event_stream_of_a_set_with_a_fault_and_a_partial():
    """rep_counted carries the time of the frame that counted it; a finalised rep is a ``rep``
    (counted) or ``partial`` event at the rep's end with the rep's dict; each of its faults
    follows as a ``fault`` event at the fault's time with its cue, id and rep index (a fault
    already cued early is not repeated)."""
    t, e, _, _ = script_set([RepScript(peak=16.0), RepScript(depth=-22.0), RepScript()])
    an = Analyzer(Config())
    evs = timed_events(an, body_frames(t, e))
    res = an.finish()
    counted = [(tf, ev) for tf, ev in evs if ev.kind == "rep_counted"]
    assert [(ev.message, ev.data) for _, ev in counted] == [("rep 1", {"count": 1}),
                                                            ("rep 2", {"count": 2})]
    assert all(ev.t == tf for tf, ev in counted)
    finals = [ev for _, ev in evs if ev.kind in ("rep", "partial", "fault")] + an.final_events
    early = [ev for ev in finals if ev.data.get("early")]
    assert [(ev.data["id"], ev.data["rep"]) for ev in early] == [("hyperextension", 1)]
    want = []
    for r in res.reps:
        early = ["hyperextension"] if r.index == 1 else []
        want.append(("rep" if r.counted else "partial", r.t_end, "",
                     {"rep": r.to_dict(), "cued_early": early}))
        want += [("fault", f.t, f.cue, {"id": f.id, "rep": r.index}) for f in r.faults
                 if not (f.id == "hyperextension" and r.index == 1)]
    assert [(ev.kind.value, ev.t, ev.message, ev.data) for ev in finals
            if not ev.data.get("early")] == want
    assert [r.index for r in res.reps] == [1, 2, 3]
    assert [(r.counted, [f.id for f in r.faults]) for r in res.reps] == [
        (True, ["hyperextension"]), (False, ["partial_range"]), (True, [])]
    assert res.reps[1].hip_shift_frac == 0.0  # not measured on a partial rep
    pr = res.reps[1].faults[0]  # the dip's depth against the BOTTOM zone it missed
    assert pr.threshold == 30.0 and pr.value == pytest.approx(22.0, abs=0.3) and pr.unit == "deg"


@pytest.mark.parametrize("world_finish, fires", [(None, True), (29.5, True), (27.0, False)])
def test_prone_finish_from_world_landmarks_has_its_own_offset(world_finish, fires):
    """Prone, the 2-D finish arches 30° past the leg line (limit 25°). Where world landmarks
    give a view-invariant finish too, both must be past the limit; the world angle is read with
    its own landmark offset (LANDMARK_OFFSET_3D_DEG = -3°): 29.5° reads 26.5 (fault), 27° reads
    24 (none)."""
    from test_core_mutants import prone_world

    from formcheck.core.analysis import LANDMARK_OFFSET_3D_DEG

    assert LANDMARK_OFFSET_3D_DEG == -3.0
    t, e, _, _ = script_set([RepScript(peak=30.0, top_hold_s=1.0), RepScript()])
    frames = body_frames(t, e, "prone")
    if world_finish is not None:
        frames = [PoseFrame(f.t_s, f.xy, f.visibility, f.z, prone_world(ek + world_finish - 30.0),
                            f.image_wh) for f, ek in zip(frames, e)]
    an = Analyzer(Config())
    feed(an, frames)
    res = an.finish()
    assert res.profile == "prone" and res.reps[0].peak_extension_deg == pytest.approx(30.0, abs=0.3)
    assert ("hyperextension" in [f.id for f in res.reps[0].faults]) is fires


@pytest.mark.parametrize("ends_in_lowering", [True, False])
def test_a_bottom_start_set_ending_during_its_last_lowering_has_no_tempo_fault(ends_in_lowering):
    """Bottom-start set: the rep's lowering is its last phase. A 0.5 s drop back to the bottom
    is a fast descent (min 1 s) when it was seen to the end; when the clip ends during it, the
    lowering was not timed and no tempo fault is given."""
    t, e, _, _ = script_set([RepScript(peak=0.0)], start=-45.0, lead_s=1.0, tail_s=1.0)
    if ends_in_lowering:
        k = int(np.argmax((t > 4.0) & (e <= -20.0)))  # 0.2 s into the drop back
        t, e = t[:k], e[:k]
    an = Analyzer(Config())
    feed(an, body_frames(t, e))
    assert an.phase == ("lowering" if ends_in_lowering else "bottom")
    res = an.finish()
    assert [r.counted for r in res.reps] == [True]
    assert res.reps[0].lowering_s < 0.5
    assert [f.id for f in res.reps[0].faults] == ([] if ends_in_lowering else ["fast_descent"])
    # the report says which phases it could not time (shown as a dash, not as a time)
    assert res.reps[0].untimed == (("lowering", "top_hold") if ends_in_lowering else ())


def test_a_set_ending_in_a_reps_top_stay_leaves_its_hold_untimed():
    t, e, _, _ = script_set([RepScript(), RepScript(top_hold_s=2.0)], tail_s=0.0)
    k = int(np.argmax(t > t[-1] - 1.0))  # the clip ends 1 s into the last top stay
    an = Analyzer(Config())
    feed(an, body_frames(t[:k], e[:k]))
    res = an.finish()
    assert [r.untimed for r in res.reps] == [(), ("top_hold",)]
    assert "no_top_pause" not in [f.id for f in res.reps[1].faults]


def test_analyzer_without_series_gives_the_same_reps_and_an_empty_series():
    """keep_series=False (unbounded live sessions): no per-frame series, same reps and faults,
    gaps included."""
    t, e, _, _ = script_set([RepScript(peak=16.0), RepScript()])
    frames = body_frames(t, e)
    frames = [float(f.t_s) if 95 <= k < 100 else f for k, f in enumerate(frames)]
    full = Analyzer(Config())
    feed(full, frames)
    want = full.finish()
    an = Analyzer(Config(), keep_series=False)
    feed(an, frames)
    res = an.finish(refine=True)
    assert [r.to_dict() for r in res.reps] == [r.to_dict() for r in want.reps]
    assert all(v.size == 0 for v in res.series.values()) and res.smoothing == "causal one-euro"
    assert want.series["t_s"].size == len(frames)


def test_a_fresh_analyzer():
    an = Analyzer(Config())
    assert (an.rep_count, an.phase, an.profile, an.view, an.last_e) == (0, "unarmed", None, None, None)
    assert an.calibration is None and an.neutral_source == "none" and an.neutral_offset == 0.0
    assert an.setting_up is True and an.warnings == [] and an.reps == []
    assert an.last_body is None and an.final_events == []  # read by the overlay before a body
    assert an.camera_roll_deg == 0.0 and an.camera_roll_confidence is None
    assert an.scene() == {"camera_roll_deg": 0.0, "camera_roll_confidence": None,
                          "set_started_s": None, "set_ended_s": None, "cuts_s": [], "spans_s": [],
                          "span_views": [],
                          "neutral_offset_deg": 0.0, "neutral_source": "none"}
    cfg = Config()
    cfg.kinematics.camera_roll_deg = -4.0
    assert Analyzer(cfg).camera_roll_deg == -4.0


def test_the_view_is_kept_once_the_counter_is_armed_and_during_the_set():
    """The view is re-decided only before the set. Armed at the top, frames that look frontal
    do not switch it (only a change of machine would); once a rep was counted, neither do
    they. Legs that jump to another machine's place end the set instead (getting off): the
    counted rep stays, and so do the set's profile and facing."""
    an = Analyzer(Config())
    feed(an, still(np.arange(90) / 30, e=0.0))
    assert an.phase == "top" and an.scene()["set_started_s"] == 0.4
    evs = feed(an, still(np.arange(90, 150) / 30, e=0.0, shoulder_width_px=90.0))
    assert [ev for ev in evs if ev.kind in ("view", "view_ok")] == [] and not an.view.frontal
    # mid-set: rep 1 counted, the frames from its top hold on look frontal: the view is kept
    t, e, _, _ = script_set([RepScript(), RepScript()])
    k = int(np.argmax(t > 5.3))
    an = Analyzer(Config())
    evs = feed(an, body_frames(t, e)[:k] + body_frames(t[k:], e[k:], shoulder_width_px=90.0))
    assert an.rep_count == 2 and an.profile == "seated" and not an.view.frontal
    assert [ev.kind.value for ev in evs].count("view_ok") == 1
    # ... and from there the body lies prone: the legs moved, the set ended after rep 1
    an = Analyzer(Config())
    evs = feed(an, body_frames(t, e)[:k] + body_frames(t, np.zeros_like(e), "prone")[k:])
    res = an.finish()
    assert [r.counted for r in res.reps] == [True]
    assert (res.profile, res.facing) == ("seated", "right")
    assert t[k - 1] - 0.5 <= res.scene["set_ended_s"] <= t[k]
    assert ("view", MSG_SET_ENDED) in [(ev.kind.value, ev.message) for ev in evs]


def _moved(frames, dx) -> list[PoseFrame]:
    """The same frames with the whole body moved by ``dx[k]`` px along x (angles unchanged)."""
    return [PoseFrame(f.t_s, f.xy + [float(d), 0.0], f.visibility, f.z, f.world, f.image_wh)
            for f, d in zip(frames, dx)]


@pytest.mark.parametrize("profile", ["seated", "prone"])
def test_a_body_that_moves_and_comes_back_does_not_end_the_set(profile):
    """Legs and hips 50 px away (more than 0.3 torso lengths) for half a second in the first
    rep's top hold, then back: a landmark wandering, not getting off. The set goes on, and the
    samples held back meanwhile are judged: the same reps and faults as without it."""
    t, e, _, _ = script_set([RepScript(), RepScript()])
    frames = body_frames(t, e, profile)
    k = int(np.argmax(t > 5.3))
    dx = np.where((t >= t[k]) & (t < t[k] + 0.5), 50.0, 0.0)
    res, _ = run(_moved(frames, dx))
    ref, _ = run(frames)
    assert res.scene["set_ended_s"] is None and res.rep_count == ref.rep_count == 2
    assert [r.to_dict() for r in res.reps] == [r.to_dict() for r in ref.reps]


@pytest.mark.parametrize("profile, ended", [("seated", False), ("prone", True)])
def test_one_of_legs_and_hips_staying_away_ends_a_prone_set_only(profile, ended):
    """The whole body moves 50 px in the first rep's top hold; half a second later the legs
    come back and the rest stays. Face down hips off their place on the pad are getting off;
    seated it takes legs and hips (either alone wanders when the trunk hides it)."""
    t, e, _, _ = script_set([RepScript(), RepScript()])
    frames = body_frames(t, e, profile)
    k = int(np.argmax(t > 5.3))
    legs = list(L.KNEE) + list(L.ANKLE) + list(L.HEEL) + list(L.FOOT_INDEX)
    out = []
    for f, tk in zip(frames, t):
        xy = f.xy.copy()
        if tk >= t[k]:
            xy += [50.0, 0.0]
            if tk >= t[k] + 0.5:
                xy[legs] -= [50.0, 0.0]  # the legs are back, hips and trunk stay away
        out.append(PoseFrame(f.t_s, xy, f.visibility, f.z, f.world, f.image_wh))
    res, _ = run(out)
    assert (res.scene["set_ended_s"] is not None) == ended
    assert res.rep_count == (1 if ended else 2)


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("gone", [None, 0.4, 1.6])
def test_getting_off_ends_the_set_where_the_body_began_to_move(gone, profile):
    """From the second rep's top the body walks off (400 px in 1.5 s), then is gone ``gone`` s
    after it set off (before the second that confirms getting off, or after it), or the clip
    ends with it standing there: the set ended at the start of the 0.5 s window the motion was
    seen in, both reps stay, and nothing after it is judged; the last rep ends at the last
    sample before it."""
    t, e, _, _ = script_set([RepScript(), RepScript()], tail_s=3.0)
    top2 = 5.3 + 3.3  # inside the second rep's top hold
    frames = body_frames(t, e, profile)
    walk = np.clip((t - top2) / 1.5, 0.0, 1.0) * 400.0
    moved = _moved(frames, walk)
    if gone is not None:
        moved = [f if tk < top2 + gone else float(tk) for f, tk in zip(moved, t)]
    an = Analyzer(Config())
    evs = feed(an, moved)
    res = an.finish()
    assert res.rep_count == 2 and all(not r.faults for r in res.reps)
    end = res.scene["set_ended_s"]
    assert top2 - 0.5 <= end <= top2 + 0.2
    assert res.reps[-1].t_end == pytest.approx(t[t < end - 1e-9][-1], abs=1e-9)
    assert ("view", end, MSG_SET_ENDED) in [(ev.kind.value, round(ev.t, 3), ev.message)
                                            for ev in evs + an.final_events]


def test_a_bystander_in_front_is_an_unseen_sample_at_its_time():
    """Someone else in front (the hip jumps by more than a torso): the exerciser is hidden, not
    gone — the frame is an empty sample at its own time, the track and the set go on."""
    frames = still(np.arange(60) / 30, e=0.0)
    t = np.arange(60, 66) / 30
    other = body_frames(t, np.zeros(6))
    other = [PoseFrame(f.t_s, f.xy + [250.0, 0.0], f.visibility, f.z, f.world, f.image_wh)
             for f in other]
    an = Analyzer(Config())
    feed(an, frames)
    last = an.last_body
    assert last is not None and last.hip == pytest.approx([300.0, 300.0], abs=1e-9)
    evs = feed(an, other + still(np.arange(66, 90) / 30, e=0.0))
    assert [ev for ev in evs if ev.kind in ("tracking_lost", "view", "view_ok")] == []
    res = an.finish()
    assert res.series["t_s"] == pytest.approx(np.arange(90) / 30, abs=1e-12)
    assert not res.series["visible"][60:66].any() and res.series["visible"][66:].all()
    assert res.frames_with_pose == 84 and an.phase == "top"


def test_causal_velocity_follows_a_steady_lowering():
    """velocity_dps: the time derivative of the smoothed e (deg/s), causal: 0 while still, the
    ramp's -10°/s once the filters have settled on a steady lowering."""
    t = np.arange(150) / 30
    e = np.where(t < 1.5, -5.0, -5.0 - 10.0 * (t - 1.5))
    an = Analyzer(Config())
    feed(an, body_frames(t, e))
    s = an.finish().series
    assert s["velocity_dps"][5:45] == pytest.approx(np.zeros(40), abs=1e-9)
    assert s["velocity_dps"][120:] == pytest.approx(np.full(30, -10.0), abs=0.3)
    assert an.last_e == pytest.approx(s["extension_deg"][-1], abs=1e-12)


def test_prone_without_a_leg_line_warns_step_back_at_the_first_analysed_sample():
    """Prone asked for, knees never seen: no leg line to measure from. 'Step back …' once, at
    the time of the first sample analysed (0.0 s, replayed when the view is decided at 1.0 s)."""
    cfg = Config()
    cfg.kinematics.profile = "prone"
    frames = []
    for f in still(np.arange(60) / 30, e=0.0, profile="prone"):
        v = f.visibility.copy()
        v[[*L.KNEE, *L.ANKLE]] = 0.1
        frames.append(PoseFrame(f.t_s, f.xy, v, f.z, f.world, f.image_wh))
    an = Analyzer(cfg)
    evs = feed(an, frames)
    assert brief([ev for ev in evs if ev.kind == "view"]) == [("view", 0.0, MSG_STEP_BACK)]
    assert an.warnings == [MSG_STEP_BACK] and an.profile == "prone" and an.buf.next_index == 0


def test_a_frame_with_the_time_of_the_previous_one_is_skipped():
    """Time stamps must increase: a repeated one adds no sample (and no velocity from a zero
    time step); the frame still counts as seen."""
    frames = still(np.arange(60) / 30, e=-10.0)
    an = Analyzer(Config())
    feed(an, frames[:45])
    n = an.buf.next_index
    assert an.update(frames[44].t_s, frames[44]) == []
    assert an.buf.next_index == n and an.frames_total == 46
    feed(an, frames[45:])
    v = an.finish().series["velocity_dps"]
    assert np.isfinite(v).all() and np.abs(v).max() < 1e-9


def test_prone_world_finish_is_read_against_the_sets_median_thigh_line():
    """The legs are fixed in a prone set: the world-landmark finish is measured from the median
    thigh line of the set, so a knee the model misplaces during the finish (8° off the line)
    does not move it: a 27° world finish reads 24° (no fault) either way."""
    from test_core_mutants import prone_world

    t, e, _, _ = script_set([RepScript(peak=30.0, top_hold_s=1.0), RepScript()])
    frames = []
    for f, ek in zip(body_frames(t, e, "prone"), e):
        w = prone_world(ek - 3.0)
        if ek > 20.0:  # the finish: both knees placed 8° higher about the hips
            hip = (w[L.LEFT_HIP] + w[L.RIGHT_HIP]) / 2
            for j in L.KNEE:
                d = w[j] - hip
                w[j] = hip + np.array([d[0], d[1] - 0.45 * math.tan(math.radians(8.0)), d[2]])
        frames.append(PoseFrame(f.t_s, f.xy, f.visibility, f.z, w, f.image_wh))
    from formcheck.core.kinematics import world_prone_extension_deg as w3d

    assert w3d(frames[np.argmax(e)].world) == pytest.approx(35.0, abs=0.5)  # per frame: 32 > 25
    an = Analyzer(Config())
    feed(an, frames)
    res = an.finish()
    assert res.reps[0].peak_extension_deg == pytest.approx(30.0, abs=0.3)
    assert "hyperextension" not in [f.id for f in res.reps[0].faults]


def test_two_short_gaps_around_a_single_seen_frame_are_both_filled():
    t, frames = lowering_frames()
    drop = {60, 61, 63, 64}  # 62 alone is seen between them
    an = Analyzer(Config())
    feed(an, [float(f.t_s) if k in drop else f for k, f in enumerate(frames)])
    s = an.finish().series
    for a, b in ((59, 62), (62, 65)):
        w = (t[a + 1:b] - t[a]) / (t[b] - t[a])
        line = s["extension_deg"][a] + w * (s["extension_deg"][b] - s["extension_deg"][a])
        assert s["extension_deg"][a + 1:b] == pytest.approx(line, abs=1e-9)
    assert list(s["visible"][59:66]) == [True, False, False, True, False, False, True]


@pytest.mark.parametrize("closed", [True, False])
def test_no_top_pause_only_when_the_top_stay_was_seen_to_its_end(closed):
    """A 0.1 s top stay between two bounced (constant-speed) reps is a missing pause (min hold
    0.25 s); the same stay cut short by the end of the clip was not timed: no fault."""
    t, e, _, _ = script_set([RepScript(top_hold_s=0.1, bounce=True), RepScript(bounce=True)])
    if not closed:
        k = int(np.argmax(t > 4.85 + 0.1))  # the lift ends at 4.85 s; 0.1 s of its stay
        t, e = t[:k], e[:k]
    an = Analyzer(Config())
    feed(an, body_frames(t, e))
    res = an.finish()
    assert res.reps[0].counted and res.reps[0].top_hold_s < 0.25
    assert ("no_top_pause" in [f.id for f in res.reps[0].faults]) is closed


def test_hip_shift_is_measured_between_counted_reps_only():
    """A partial dip has no hip shift of its own (0); a slide of 0.3 thigh lengths during it is
    seen against the last counted rep, on the next counted one (limit 0.045: a fault there)."""
    t, e, neck, shift = script_set([RepScript(), RepScript(depth=-22.0, hip_shift_frac=0.3),
                                    RepScript()])
    an = Analyzer(Config())
    feed(an, body_frames(t, e, neck=neck, shift=shift))
    res = an.finish()
    assert [(r.counted, [f.id for f in r.faults]) for r in res.reps] == [
        (True, []), (False, ["partial_range"]), (True, ["hip_shift"])]
    assert res.reps[1].hip_shift_frac == 0.0
    assert res.reps[2].hip_shift_frac == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize("head_seen", [True, False])
def test_the_neck_is_measured_only_while_ear_and_nose_are_seen(head_seen):
    """A 30° chin-up at the finish is a neck crank when the head is seen; with the ear and nose
    below min_visibility there is no neck angle to judge: no fault, neck extension 0."""
    t, e, neck, shift = script_set([RepScript(neck_crank_deg=30.0), RepScript()])
    frames = body_frames(t, e, neck=neck, shift=shift)
    if not head_seen:
        frames = [PoseFrame(f.t_s, f.xy, np.where(np.isin(np.arange(L.N_LANDMARKS),
                                                          [*L.EAR, L.NOSE]), 0.1, f.visibility),
                            f.z, f.world, f.image_wh) for f in frames]
    an = Analyzer(Config())
    feed(an, frames)
    r = an.finish().reps[0]
    assert ("neck_crank" in [f.id for f in r.faults]) is head_seen
    assert (r.neck_extension_deg > 20.0) if head_seen else r.neck_extension_deg == 0.0


def test_a_set_longer_than_the_buffer_trim_keeps_every_reps_samples():
    """The per-sample buffer is trimmed from the front in long sets (chunks of 2000 samples)
    behind the earliest sample the rep counter still needs: 22 identical reps over 2900 samples
    all measure the same."""
    t, e, _, _ = script_set([RepScript(top_hold_s=1.5)] * 22)
    an = Analyzer(Config())
    feed(an, body_frames(t, e))
    res = an.finish()
    assert t.size > 2900 and an.buf.base > 2000  # trimmed at least once
    assert res.rep_count == 22
    first = res.reps[0]
    for r in res.reps[1:21]:
        assert r.depth_deg == pytest.approx(first.depth_deg, abs=1e-6)
        assert r.lowering_s == pytest.approx(first.lowering_s, abs=1e-6)
        assert r.top_hold_s == pytest.approx(first.top_hold_s, abs=1e-6)
        assert [f.id for f in r.faults] == []
