"""Pin DESIGN.md's rules: when a rep counts, the minimum rep, every fault's boundary, auto profile.

Trajectories come from the independent generator (tests/skeleton.py) with MediaPipe-like landmark
bias switched on, so the analyser's landmark correction is part of what is tested. Every
threshold is read from ``Config()``, so these tests follow changed defaults; what they pin is the
*meaning* of each rule (DESIGN.md), at the threshold ± a small margin.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from skeleton import (
    Bias, Camera, Posture, RepSpec, RepTruth, Scene, SetScript, Track, frame_times, make_set,
    render,
)

from formcheck.config import Config
from formcheck.core.analysis import Analyzer
from formcheck.core.faults import RULES, RepContext, evaluate
from formcheck.core.reps import RepMetrics

CFG = Config()
R, F = CFG.reps, CFG.faults
MJ_5_95 = 0.6215  # fraction of a minimum-jerk move spent between 5 % and 95 % of its range
MJ_PEAK_V = 1.875  # peak velocity of a minimum-jerk move = 1.875 * range / duration
BIAS_SCENE = Scene(bias=Bias())


def run(script: SetScript, scene: Scene = BIAS_SCENE, fps: float = 30.0, cfg: Config | None = None):
    times = frame_times(script.duration, fps)
    an = Analyzer(cfg or Config())
    events = []
    for t, fr in zip(times, render(script, times, scene)):
        events += an.update(float(t), fr)
    return an.finish(), events


def ids(rep) -> list[str]:
    return sorted(f.id for f in rep.faults)


def script_from(e: Track, profile: str = "seated", neck: Track | None = None,
                shift: Track | None = None) -> SetScript:
    neck = neck or Track(0.0).hold(e.t)
    shift = shift or Track(0.0).hold(e.t)
    return SetScript(Posture(profile), e, neck, shift, [], 0.0, e.t)


def crossing(track: Track, t0: float, t1: float, level: float, rising: bool) -> float:
    """First time in [t0, t1] when the scripted e crosses ``level`` (1 ms resolution)."""
    t = np.arange(t0, t1, 0.001)
    e = track.at(t)
    hit = np.flatnonzero(e >= level if rising else e <= level)
    assert hit.size, f"the script never crosses {level}° in [{t0}, {t1}]"
    return float(t[hit[0]])


def counted_times(events) -> list[float]:
    return [ev.t for ev in events if ev.kind == "rep_counted"]


# ----------------------------------------------------------------------------- counting
def slow_lift_set(profile: str, n: int = 3) -> tuple[Track, list[tuple[float, float, float]]]:
    """Top-start reps whose lift crawls through the dead band for 1.2 s.

    Returns the track and per rep (t leaving -bottom_deg, t crossing -top_deg, lift start).
    """
    top = 0.0 if profile == "seated" else 6.0
    e = Track(top).hold(2.0)
    marks = []
    for _ in range(n):
        e.go(-(R.bottom_deg + 20), 1.5).hold(0.3)
        t_lift = e.t
        e.go(-(R.bottom_deg + 1.0), 0.35)
        e.go(-(R.top_deg - 1.0), 1.2, "linear")
        e.go(top, 0.35).hold(1.2)
        t_bot = crossing(e, t_lift, e.t, -R.bottom_deg, rising=True)
        t_top = crossing(e, t_lift, e.t, -R.top_deg, rising=True)
        marks.append((t_bot, t_top, t_lift))
    e.hold(1.0)
    return e, marks


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("facing", ["right", "left"])
def test_rep_counts_on_arrival_at_top_not_on_leaving_bottom(profile, facing):
    e, marks = slow_lift_set(profile)
    res, events = run(script_from(e, profile), Scene(camera=Camera(facing=facing), bias=Bias()))
    got = counted_times(events)
    assert len(got) == len(marks) == res.rep_count
    for t_ev, (t_bot, t_top, _) in zip(got, marks):
        # within 0.25 s after the posed crossing of the TOP threshold (filter lag, and the ~1°
        # between the generator's bias model and the measured offset), and >= 0.8 s after BOTTOM
        assert t_top - 0.02 <= t_ev <= t_top + 0.25, (t_ev, t_top)
        assert t_ev - t_bot >= 0.8, (t_ev, t_bot)


@pytest.mark.parametrize("profile", ["seated", "prone"])
def test_rep_counts_on_arrival_at_top_in_a_set_starting_at_the_bottom(profile):
    """Prone guide: hang, lift, lower. The count comes on arrival at TOP, not at the next bottom."""
    top = 0.0 if profile == "seated" else 6.0
    bottom = -(R.bottom_deg + 20)
    e = Track(bottom).hold(2.0)
    tops = []
    for _ in range(3):
        t_lift = e.t
        e.go(-(R.bottom_deg + 1.0), 0.35).go(-(R.top_deg - 1.0), 1.2, "linear").go(top, 0.35)
        tops.append(crossing(e, t_lift, e.t, -R.top_deg, rising=True))
        e.hold(1.0).go(bottom, 1.5).hold(1.0)
    res, events = run(script_from(e, profile))
    got = counted_times(events)
    assert res.rep_count == 3 and len(got) == 3
    for t_ev, t_top in zip(got, tops):
        # within 0.25 s after the posed crossing of the TOP threshold (filter lag, and the ~1°
        # between the generator's bias model and the measured offset), and >= 0.8 s after BOTTOM
        assert t_top - 0.02 <= t_ev <= t_top + 0.25, (t_ev, t_top)


def bounce_set(rep_s: float, depth: float) -> Track:
    """Normal rep, a V-shaped bounce whose time from leaving the top (6° down) to arriving back
    at -top_deg is ``rep_s`` (script truth), normal rep."""
    e = Track(0.0).hold(2.0)
    e.go(-48, 1.5).hold(0.3).go(0.0, 1.4).hold(1.0)
    # Minimum-jerk down and up with equal durations d: solve the crossing times numerically.
    probe = Track(0.0).go(depth, 1.0).go(0.0, 1.0)
    t_leave = crossing(probe, 0.0, 1.0, -R.partial_min_dip_deg, rising=False)
    t_back = crossing(probe, 1.0, 2.0, -R.top_deg, rising=True)
    d = rep_s / (t_back - t_leave)
    e.go(depth, d).go(0.0, d).hold(1.2)
    e.go(-48, 1.5).hold(0.3).go(0.0, 1.4).hold(1.5)
    return e


@pytest.mark.parametrize("margin_s,counted", [(-0.15, False), (0.15, True)])
def test_minimum_rep_duration(margin_s, counted):
    depth = -(R.bottom_deg + 25)
    res, _ = run(script_from(bounce_set(R.min_rep_s + margin_s, depth)))
    assert res.rep_count == (3 if counted else 2)


# ----------------------------------------------------------------------------- rules, unit level
def metrics(**kw) -> RepMetrics:
    base = dict(t_start=1.0, t_bottom=2.5, t_top=4.0, t_end=5.0, depth_deg=-45.0,
                peak_extension_deg=0.0, peak_extension_t=4.2, lowering_s=1.5, lifting_s=1.4,
                top_hold_s=1.0, peak_lift_velocity_dps=60.0, peak_lift_velocity_t=3.3,
                peak_lower_velocity_dps=50.0)
    base.update(kw)
    return RepMetrics(**base)


def ctx(m: RepMetrics | None = None, **kw) -> RepContext:
    base = dict(metrics=m or metrics(), profile="seated", counted=True, hip_shift_frac=0.0,
                hip_shift_t=4.0, neck_extension_deg=0.0, neck_extension_t=4.2,
                bottom_deg=R.bottom_deg, closed=True)
    base.update(kw)
    names = {f.name for f in dataclasses.fields(RepContext)}
    return RepContext(**{k: v for k, v in base.items() if k in names})


def fired(c: RepContext, cfg=F) -> list[str]:
    return [f.id for f in evaluate(c, cfg)]


def hyper_limit(profile: str) -> float:
    return float(getattr(F, f"{profile}_max_extension_deg", F.max_extension_deg))


def test_a_clean_rep_has_no_fault():
    assert fired(ctx()) == []
    assert fired(ctx(profile="prone")) == []


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("d,fires", [(-0.5, False), (0.5, True)])
def test_hyperextension_boundary(profile, d, fires):
    c = ctx(metrics(peak_extension_deg=hyper_limit(profile) + d), profile=profile)
    assert ("hyperextension" in fired(c)) is fires


@pytest.mark.parametrize("d,fires", [(-2.0, False), (2.0, True)])
def test_jerky_lift_velocity_boundary(d, fires):
    m = metrics(peak_lift_velocity_dps=F.max_lift_velocity_dps + d, lifting_s=F.min_lifting_s + 0.5)
    out = evaluate(ctx(m), F)
    assert ("jerky_lift" in [f.id for f in out]) is fires
    if fires:
        f = next(f for f in out if f.id == "jerky_lift")
        assert f.unit == "deg/s" and f.value == pytest.approx(F.max_lift_velocity_dps + d)


@pytest.mark.parametrize("d,fires", [(-0.03, True), (0.03, False)])
def test_jerky_lift_duration_boundary(d, fires):
    m = metrics(lifting_s=F.min_lifting_s + d, peak_lift_velocity_dps=0.5 * F.max_lift_velocity_dps)
    out = evaluate(ctx(m), F)
    assert ("jerky_lift" in [f.id for f in out]) is fires
    if fires:
        f = next(f for f in out if f.id == "jerky_lift")
        assert f.unit == "s" and f.value == pytest.approx(F.min_lifting_s + d)


@pytest.mark.parametrize("d,fires", [(-0.03, True), (0.03, False)])
def test_fast_descent_boundary(d, fires):
    assert ("fast_descent" in fired(ctx(metrics(lowering_s=F.min_lowering_s + d)))) is fires


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("d,short", [(-0.03, True), (0.03, False)])
def test_no_top_pause_boundary_and_closed(closed, d, short):
    c = ctx(metrics(top_hold_s=F.min_top_hold_s + d), closed=closed)
    assert ("no_top_pause" in fired(c)) is (short and closed)


@pytest.mark.parametrize("counted", [True, False])
def test_partial_range_only_on_uncounted_dips(counted):
    c = ctx(metrics(depth_deg=-12.0), counted=counted)
    assert ("partial_range" in fired(c)) is (not counted)


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("d,fires", [(-1.0, False), (1.0, True)])
def test_excessive_depth_boundary(profile, d, fires):
    limit = F.seated_max_flexion_deg if profile == "seated" else F.prone_max_flexion_deg
    c = ctx(metrics(depth_deg=-(limit + d)), profile=profile)
    assert ("excessive_depth" in fired(c)) is fires


@pytest.mark.parametrize("d,fires", [(-0.005, False), (0.005, True)])
def test_hip_shift_boundary(d, fires):
    assert ("hip_shift" in fired(ctx(hip_shift_frac=F.max_hip_shift_frac + d))) is fires


@pytest.mark.parametrize("d,fires", [(-0.5, False), (0.5, True)])
def test_neck_crank_boundary(d, fires):
    assert ("neck_crank" in fired(ctx(neck_extension_deg=F.max_neck_extension_deg + d))) is fires


@pytest.mark.parametrize("fid", sorted(RULES))
def test_rules_stay_silent_on_uncounted_reps_except_partial(fid):
    m = metrics(peak_extension_deg=60.0, lifting_s=0.1, lowering_s=0.1, top_hold_s=0.0,
                peak_lift_velocity_dps=900.0, depth_deg=-170.0)
    c = ctx(m, counted=False, hip_shift_frac=1.0, neck_extension_deg=80.0)
    assert (RULES[fid](c, F) is not None) is (fid == "partial_range")


def test_disabled_rule_is_skipped():
    cfg = dataclasses.replace(F, disabled=["hyperextension"])
    c = ctx(metrics(peak_extension_deg=hyper_limit("seated") + 20))
    assert "hyperextension" in fired(c) and "hyperextension" not in fired(c, cfg)
    c2 = ctx(metrics(peak_extension_deg=hyper_limit("seated") + 20, lowering_s=0.1))
    assert fired(c2, cfg) == ["fast_descent"]  # the other rules still run


def test_fault_records_value_threshold_and_time():
    m = metrics(peak_extension_deg=hyper_limit("seated") + 7, peak_extension_t=4.4)
    f = next(f for f in evaluate(ctx(m), F) if f.id == "hyperextension")
    assert (f.value, f.threshold, f.unit, f.t) == (hyper_limit("seated") + 7, hyper_limit("seated"), "deg", 4.4)
    assert f.severity == "major" and f.cue


# ----------------------------------------------------------------------------- rules, end to end
def three(rep: RepSpec, profile: str = "seated", start: str = "top", **kw) -> SetScript:
    """clean, ``rep``, clean — so the middle rep is always closed and has neighbours."""
    top = 0.0 if profile == "seated" else 6.0
    clean = RepSpec(peak=top)
    return make_set(Posture(profile), [clean, rep, clean], start=start, **kw)


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("d,fires", [(-2.5, False), (2.5, True)])
def test_e2e_hyperextension_boundary(profile, d, fires):
    peak = hyper_limit(profile) + d
    res, _ = run(three(RepSpec(peak=peak, lifting_s=1.8, top_hold_s=1.2), profile))
    assert res.rep_count == 3
    assert [ids(r) for r in res.reps] == [[], ["hyperextension"] if fires else [], []]


def test_e2e_jerky_lift_by_velocity_with_a_long_lift():
    """Slow start, thrown middle, slow finish: lift time is long, peak velocity is not."""
    depth = -(R.bottom_deg + 25)
    rom = -depth
    fast = 0.8 * rom
    fast_s = MJ_PEAK_V * fast / (1.8 * F.max_lift_velocity_dps)  # truth peak: 1.8 x the limit
    slow_s = F.min_lifting_s + 0.3
    e = Track(0.0).hold(2.0)
    e.go(-48, 1.5).hold(0.3).go(0.0, 1.4).hold(1.0)
    e.go(depth, 1.6).hold(0.3)
    t0 = e.t
    e.go(depth + 0.1 * rom, slow_s, "linear").go(depth + 0.9 * rom, fast_s).go(0.0, slow_s, "linear")
    t1 = e.t
    e.hold(1.0).go(-48, 1.5).hold(0.3).go(0.0, 1.4).hold(1.5)
    lift_5_95 = crossing(e, t0, t1, -0.05 * rom, True) - crossing(e, t0, t1, depth + 0.05 * rom, True)
    assert lift_5_95 > F.min_lifting_s + 0.3
    res, _ = run(script_from(e))
    assert res.rep_count == 3
    assert [ids(r) for r in res.reps] == [[], ["jerky_lift"], []]
    f = res.reps[1].faults[0]
    assert f.unit == "deg/s" and f.value > F.max_lift_velocity_dps
    assert res.reps[1].lifting_s >= F.min_lifting_s


def test_e2e_jerky_lift_by_duration_at_low_velocity():
    """A short, small lift: too quick in time, while its peak velocity stays under the limit."""
    depth = -(R.bottom_deg + 8)
    lift_s = 0.65 * F.min_lifting_s / MJ_5_95  # 5-95 % time = 0.65 x the limit
    assert MJ_PEAK_V * -depth / lift_s < 0.85 * F.max_lift_velocity_dps
    res, _ = run(three(RepSpec(depth=depth, lifting_s=lift_s, top_hold_s=1.2)))
    assert res.rep_count == 3
    assert [ids(r) for r in res.reps] == [[], ["jerky_lift"], []]
    f = res.reps[1].faults[0]
    assert f.unit == "s" and f.value < F.min_lifting_s


@pytest.mark.parametrize("factor,fires", [(0.65, True), (1.5, False)])
def test_e2e_jerky_lift_duration_boundary_side(factor, fires):
    depth = -(R.bottom_deg + 8)
    lift_s = factor * F.min_lifting_s / MJ_5_95
    res, _ = run(three(RepSpec(depth=depth, lifting_s=lift_s, top_hold_s=1.2)))
    assert res.rep_count == 3
    assert ("jerky_lift" in ids(res.reps[1])) is fires


@pytest.mark.parametrize("start", ["top", "bottom"])
@pytest.mark.parametrize("factor,fires", [(0.7, True), (1.4, False)])
def test_e2e_fast_descent(start, factor, fires):
    low_s = factor * F.min_lowering_s / MJ_5_95
    res, _ = run(three(RepSpec(lowering_s=low_s), start=start))
    assert res.rep_count == 3
    assert ("fast_descent" in ids(res.reps[1])) is fires
    assert ids(res.reps[0]) == [] and ids(res.reps[2]) == []


def bounce_top_set(last_bounce: bool) -> Track:
    """Rep 2 turns at the top without a pause (linear in and out); the last rep too if asked."""
    e = Track(0.0).hold(2.0)
    e.go(-48, 1.5).hold(0.3).go(0.0, 1.4).hold(1.0)
    e.go(-48, 1.5).hold(0.3).go(0.0, 1.0, "linear").go(-48, 1.5, "linear").hold(0.3)
    if last_bounce:
        e.go(0.0, 1.0, "linear").hold(0.05)
    else:
        e.go(0.0, 1.4).hold(F.min_top_hold_s + 1.0)
    return e


@pytest.mark.parametrize("last_bounce", [True, False])
def test_e2e_no_top_pause_only_on_closed_reps(last_bounce):
    """A rep whose top is cut off by the end of the clip has no measurable hold: no fault."""
    res, _ = run(script_from(bounce_top_set(last_bounce)))
    assert res.rep_count == 3
    assert [("no_top_pause" in ids(r)) for r in res.reps] == [False, True, False]


@pytest.mark.parametrize("extra_s,fires", [(-0.15, True), (0.3, False)])
def test_e2e_top_hold_boundary(extra_s, fires):
    hold = max(F.min_top_hold_s + extra_s, 0.0)
    e = Track(0.0).hold(2.0)
    for _ in range(3):
        e.go(-48, 1.5, "linear").hold(0.3).go(0.0, 1.0, "linear").hold(hold)
    e.go(-48, 1.5, "linear").hold(0.3).go(0.0, 1.4).hold(1.5)
    res, _ = run(script_from(e))
    assert res.rep_count == 4
    assert [("no_top_pause" in ids(r)) for r in res.reps[:3]] == [fires] * 3


@pytest.mark.parametrize("profile", ["seated", "prone"])
def test_e2e_partial_dip_is_reported_not_counted(profile):
    top = 0.0 if profile == "seated" else 6.0
    dip = RepSpec(depth=top - 12.0, peak=top, lowering_s=0.9, lifting_s=0.9, partial=True)
    script = three(dip, profile)
    res, _ = run(script)
    assert res.rep_count == 2
    assert [(r.counted, ids(r)) for r in res.reps] == [(True, []), (False, ["partial_range"]), (True, [])]


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("frac,fires", [(0.13, True), (None, False)])
def test_e2e_hip_shift(profile, frac, fires):
    frac = 0.4 * F.max_hip_shift_frac if frac is None else frac
    top = 0.0 if profile == "seated" else 6.0
    res, _ = run(three(RepSpec(peak=top, hip_shift_frac=frac), profile))
    assert res.rep_count == 3
    assert [ids(r) for r in res.reps] == [[], ["hip_shift"] if fires else [], []]


@pytest.mark.parametrize("profile", ["seated", "prone"])
@pytest.mark.parametrize("d,fires", [(-6.0, False), (6.0, True)])
def test_e2e_neck_crank_boundary(profile, d, fires):
    top = 0.0 if profile == "seated" else 6.0
    res, _ = run(three(RepSpec(peak=top, neck_crank_deg=F.max_neck_extension_deg + d), profile))
    assert res.rep_count == 3
    assert [ids(r) for r in res.reps] == [[], ["neck_crank"] if fires else [], []]


def test_e2e_truth_labels_of_a_set_match():
    """Sanity of the labels themselves: each scripted rep's times are ordered and inside the clip."""
    s = three(RepSpec(peak=0.0))
    for r in s.reps:
        assert isinstance(r, RepTruth)
        assert r.t_leave_top < r.t_bottom <= r.t_leave_bottom < r.t_arrive_top < s.duration


# ----------------------------------------------------------------------------- auto profile
@pytest.mark.parametrize("posture,expected", [
    (Posture("seated", knee_deg=90.0), "seated"),
    (Posture("seated", knee_deg=122.0), "seated"),  # knee still clearly bent
    (Posture("prone", bench_deg=0.0), "prone"),  # straight legs, horizontal apparatus
    (Posture("prone", bench_deg=45.0), "prone"),
    (Posture("standing"), "seated"),  # hip hinge: torso upright is neutral
])
@pytest.mark.parametrize("facing", ["right", "left"])
def test_auto_profile_from_the_exercise(posture, expected, facing):
    top = 0.0 if expected == "seated" else 6.0
    reps = [RepSpec(peak=top), RepSpec(peak=top), RepSpec(peak=top)]
    script = make_set(posture, reps)
    res, _ = run(script, Scene(camera=Camera(facing=facing), bias=Bias()))
    assert res.profile == expected
    assert res.facing == facing
    assert res.rep_count == 3


@pytest.mark.parametrize("knee_deg,expected", [(112.0, "seated"), (160.0, "prone")])
def test_auto_profile_knee_boundary_both_sides(knee_deg, expected):
    """Knee angle near DESIGN's 'bent' vs 'near straight' boundary, on both sides of it."""
    res, _ = run(make_set(Posture("seated", knee_deg=knee_deg), [RepSpec(), RepSpec()]))
    assert res.profile == expected


def test_every_fault_carries_its_rules_cue_source_and_severity():
    m = metrics(peak_extension_deg=60.0, lifting_s=0.1, lowering_s=0.1, top_hold_s=0.0,
                peak_lift_velocity_dps=900.0, depth_deg=-170.0)
    out = evaluate(ctx(m, hip_shift_frac=1.0, neck_extension_deg=80.0), F)
    assert [f.id for f in out] == [fid for fid in RULES if fid != "partial_range"]
    for f in out:
        rule = RULES[f.id]
        assert (f.cue, f.source, f.severity) == (rule.cue, rule.source, rule.severity)
        assert f.cue and f.source and f.severity in ("major", "minor")
