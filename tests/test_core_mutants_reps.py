"""Fast pure-numpy tests written against the mutants that survived mutation testing of
``formcheck/core/reps.py``, ``faults.py`` and ``measures.py`` (benchmarks/mutation.md): each pins
a behaviour the docstrings promise, with exact values where the arithmetic is exact."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from formcheck.core import faults
from formcheck.core.measures import RepMeasures
from formcheck.core.reps import RepMetrics, RepStateMachine, Segment
from test_reps_machine import R, TOP, drive, hold, seq, top_rep

DT = 0.01  # 100 Hz samples


def metrics(**kw) -> RepMetrics:
    base = dict(t_start=1.0, t_bottom=2.1, t_top=3.2, t_end=4.0, depth_deg=-50.0, peak_extension_deg=0.0,
                peak_extension_t=3.5, lowering_s=0.9, lifting_s=0.9, top_hold_s=0.7,
                peak_lift_velocity_dps=60.0, peak_lift_velocity_t=2.6, peak_lower_velocity_dps=60.0)
    base.update(kw)
    return RepMetrics(**base)


# ----------------------------------------------------------------------------- measures: hip shift
def top_start_arrays(slide_px: float = 0.0, jitter_px: float = 0.0, top: float = 0.0) -> dict[str, np.ndarray]:
    """One rep of a set starting at the top, 100 Hz: a 1 s hold at ``top`` (samples 0-99), a 1 s
    lowering to -50° (100-199), 0.2 s at the bottom (200-219), a 1 s lift (220-319), a 0.8 s top
    hold (320-399). The hip slides by ``slide_px`` at the bottom; the samples far from the top
    (the whole bottom half of the rep) carry a wild hip position that must never be read.
    ``jitter_px`` alternates ±jitter on x, sample by sample (a median of an even count is exact)."""
    e = np.concatenate([np.full(100, top), np.linspace(top, -50.0, 101)[1:], np.full(20, -50.0),
                        np.linspace(-50.0, top, 101)[1:], np.full(80, top)])
    n = len(e)
    hip_x = np.where(np.arange(n) < 200, 100.0, 100.0 + slide_px)
    hip_x = hip_x + jitter_px * (-1.0) ** np.arange(n)
    hip_x[np.abs(e - top) > 20.0] = 900.0
    return dict(t=np.arange(n) * DT, e=e, hip_x=hip_x, hip_y=np.full(n, 50.0), thigh=np.full(n, 200.0),
                neck=np.zeros(n), e3d=np.full(n, np.nan))


REL = Segment("counted", "top", (100, 210), (210, 399), (320, 399))


def test_hip_shift_first_rep_of_a_top_start_set_is_read_against_the_hold_before_it():
    """No jitter: the slide is the distance between the hip medians, / thigh (10 px / 200 px)."""
    a = top_start_arrays(slide_px=10.0)
    assert RepMeasures(5.0).hip_shift(a, metrics(), REL, REL) == pytest.approx(0.05, abs=1e-12)


def test_hip_shift_matches_the_sets_top_level_not_zero():
    """The reference level is the hold's median e (here +6°); the hip is read only within 4° of it."""
    a = top_start_arrays(slide_px=10.0, top=6.0)
    a["hip_x"][(a["e"] < 2.0) & (a["e"] > -14.0)] = 500.0  # 4-20° under the top: not the top level
    assert RepMeasures(5.0).hip_shift(a, metrics(), REL, REL) == pytest.approx(0.05, abs=1e-12)


def test_hip_shift_reads_only_samples_strictly_within_4_deg_of_the_top():
    """A plateau exactly 4° under the top level is not at the top level (and outweighs the top
    samples, so reading it would move the median)."""
    a = top_start_arrays(slide_px=10.0)
    a["e"][250:310] = -4.0
    a["hip_x"][250:310] = 500.0
    assert RepMeasures(5.0).hip_shift(a, metrics(), REL, REL) == pytest.approx(0.05, abs=1e-12)


def test_hip_shift_compares_each_rep_with_the_previous_one():
    rm = RepMeasures(5.0)
    assert rm.hip_shift(top_start_arrays(slide_px=10.0), metrics(), REL, REL) == pytest.approx(0.05)
    # the next rep: the hip stays where the previous rep left it, then slides 20 px more
    same = top_start_arrays(slide_px=10.0)
    same["hip_x"][:200] = np.where(same["hip_x"][:200] == 900.0, 900.0, 110.0)
    assert rm.hip_shift(same, metrics(), REL, REL) == pytest.approx(0.0, abs=1e-12)
    more = top_start_arrays(slide_px=30.0)
    assert rm.hip_shift(more, metrics(), REL, REL) == pytest.approx(0.10, abs=1e-12)
    rm.reset()  # a new set: the first rep has no previous one unless the set starts at the top
    bottom_seg = Segment("counted", "bottom", (320, 399), (210, 320), (320, 399))
    assert rm.hip_shift(more, metrics(), REL, bottom_seg) == 0.0
    assert rm.hip_shift(top_start_arrays(slide_px=50.0), metrics(), REL, bottom_seg) == pytest.approx(0.10)


def test_hip_shift_takes_off_2_5_standard_errors_of_the_jitter():
    """±2 px alternating jitter: successive differences are 4 px, σ = 1.4826·4/√2 px; each median
    has a standard error of 1.2533·σ/√n (n = 80 hold samples, and the top samples of the rep)."""
    jit, slide = 2.0, 10.0
    a = top_start_arrays(slide_px=slide, jitter_px=jit)
    n_now = int(np.sum(np.abs(a["e"][210:400]) < 4.0))
    assert n_now % 2 == 0  # medians of an even count of ±jit: exactly the centre
    sigma = 1.4826 * 2 * jit / math.sqrt(2.0)
    se = math.hypot(1.2533 * sigma / math.sqrt(80), 1.2533 * sigma / math.sqrt(n_now))
    want = (slide - 2.5 * se) / 200.0
    assert RepMeasures(5.0).hip_shift(a, metrics(), REL, REL) == pytest.approx(want, rel=1e-9)
    # a still hip under the same jitter: no shift (never negative)
    assert RepMeasures(5.0).hip_shift(top_start_arrays(jitter_px=jit), metrics(), REL, REL) == 0.0


def test_hip_shift_with_a_short_window_uses_the_sets_jitter():
    """A window of fewer than 5 top samples adds no jitter estimate of its own, but its median is
    still only as good as the set's jitter allows (σ from the earlier windows, / √n)."""
    jit = 2.0
    rm = RepMeasures(5.0)
    rm.hip_shift(top_start_arrays(slide_px=0.0, jitter_px=jit), metrics(), REL, REL)
    assert len(rm._jitter) == 2
    b = top_start_arrays(slide_px=20.0, jitter_px=0.0)
    b["e"][214:400] = -30.0  # the rep ends short of the top: only samples 210-213 are near it
    b["e"][210:214] = 0.0
    b["hip_x"][210:214] = 120.0
    got = rm.hip_shift(b, metrics(), REL, REL)
    assert len(rm._jitter) == 2
    sigma = 1.4826 * 2 * jit / math.sqrt(2.0)
    se = math.hypot(1.2533 * sigma / math.sqrt(4), rm._ref_se)
    assert rm._ref_se == pytest.approx(1.2533 * sigma / math.sqrt(4))
    n_prev = int(np.sum(np.abs(top_start_arrays()["e"][210:400]) < 4.0))
    se = math.hypot(1.2533 * sigma / math.sqrt(4), 1.2533 * sigma / math.sqrt(n_prev))
    assert got == pytest.approx((20.0 - 2.5 * se) / 200.0, rel=1e-9)


def test_hip_shift_without_any_top_sample_keeps_the_reference():
    rm = RepMeasures(5.0)
    rm.hip_shift(top_start_arrays(slide_px=0.0), metrics(), REL, REL)
    low = top_start_arrays(slide_px=40.0)
    low["e"][200:400] = -30.0  # never back near the top
    assert rm.hip_shift(low, metrics(), REL, REL) == 0.0
    assert rm.hip_shift(top_start_arrays(slide_px=10.0), metrics(), REL, REL) == pytest.approx(0.05)


# ----------------------------------------------------------------------------- measures: neck
def neck_arrays(crank: float) -> dict[str, np.ndarray]:
    """Usual carriage 3°. From sample 309 (e = -5.0° exactly, on the lift) the head is tipped back
    by ``crank``, then during the top hold (samples 320-399) by crank + 0.1°/sample more. Samples
    300-308 (e -9.5° to -5.5°) crank wildly by 90°."""
    a = top_start_arrays()
    a["neck"] = np.full(len(a["e"]), 3.0)
    a["neck"][300:309] = 3.0 + 90.0
    a["neck"][309:320] = 3.0 + crank
    a["neck"][320:400] = 3.0 + crank + 0.1 * np.arange(80)
    return a


def test_neck_extension_is_the_median_over_the_hold_against_the_usual_carriage():
    rm = RepMeasures(5.0)
    rm.neck_top.extend([3.0] * 20)
    m = metrics(t_top=3.0, depth_deg=-50.0, peak_extension_deg=0.0)  # k0 = sample 300
    a = neck_arrays(10.0)
    assert a["e"][309] == -5.0 and a["e"][308] < -5.0
    val, t = rm.neck_extension(a, m, REL)
    # the band is max(5°, 10 % of the 50° range) = 5°: samples 309-399 (91) count, 300-308 do
    # not; their median is the 46th value: 11 at +10°, then the ramp's 35th (+3.4°, sample 354)
    assert val == pytest.approx(10.0 + 3.4, abs=1e-9)
    assert t == pytest.approx(3.54, abs=1e-9)


def test_neck_extension_hold_band_widens_with_the_range():
    """A 100° range widens the band to 10°: all of samples 300-399 count (the 9 wild ones too):
    the median of 100 values is then between the ramp's 39th and 40th (+3.8°, +3.9°)."""
    rm = RepMeasures(5.0)
    rm.neck_top.extend([3.0] * 20)
    m = metrics(t_top=3.0, depth_deg=-100.0, peak_extension_deg=0.0)
    assert rm.neck_extension(neck_arrays(10.0), m, REL)[0] == pytest.approx(10.0 + 3.85, abs=1e-9)


def test_neck_extension_needs_three_seen_samples_and_a_baseline():
    m = metrics(t_top=3.0)
    a = neck_arrays(10.0)
    assert RepMeasures(5.0).neck_extension(a, m, REL) == (0.0, 3.0)  # no baseline yet
    rm = RepMeasures(5.0)
    rm.neck_top.append(3.0)
    a["neck"][300:397] = np.nan  # three samples seen
    assert rm.neck_extension(a, m, REL)[0] == pytest.approx(10.0 + 7.8, abs=1e-9)
    a["neck"][397] = np.nan  # two
    assert rm.neck_extension(a, m, REL) == (0.0, 3.0)


# ----------------------------------------------------------------------------- the athlete's own range
def _segments(out):
    return [ev[1] for _, _, ev in out if ev[0] == "segment"]


def _run(*depths, full_first: int = 0):
    """A set starting at the top: ``full_first`` full reps to -40°, then dips to ``depths``."""
    parts = [hold(TOP, 1.0)] + [top_rep(depth=-40.0)] * full_first + [top_rep(depth=d) for d in depths]
    m, out = drive(seq(*parts))
    out += [(None, None, ev) for ev in m.finish(10_000)]
    return m, out


def test_typical_range_before_any_rep_is_nan_without_a_numpy_warning():
    m = RepStateMachine(R)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(m.typical_range())


def test_own_range_dips_of_exactly_min_range_deg_count():
    """'at least min_range_deg deep': a dip of exactly that range is a rep."""
    m, out = _run(*[-R.min_range_deg] * 4)
    assert m.count == 4 and m.own_range_count == 4
    assert m.typical_range() == R.min_range_deg


def test_a_dip_of_exactly_own_range_frac_of_the_typical_range_counts():
    """Two full reps (range 40°) then a dip of exactly own_range_frac·40° (24°): 'at least' counts."""
    d = R.own_range_frac * 40.0
    assert d >= R.min_range_deg
    m, out = _run(-d, full_first=2)
    assert m.count == 3 and m.own_range_count == 1
    assert [s.kind for s in _segments(out)] == ["counted"] * 3
    assert list(m.ranges) == [40.0, 40.0, d]


def test_a_dip_just_under_own_range_frac_of_the_typical_range_is_a_partial():
    d = R.own_range_frac * 40.0 - 0.5
    m, out = _run(-d, full_first=2)
    assert m.count == 2 and [s.kind for s in _segments(out)] == ["counted", "counted", "partial"]


def test_two_first_dips_match_at_exactly_own_range_frac():
    """The second of two first short dips 'of the same size': exactly own_range_frac of the larger."""
    big = 25.0
    small = R.own_range_frac * big
    assert small >= R.min_range_deg
    m, out = _run(-big, -small)
    assert m.count == 2 and m.own_range_count == 2
    assert sorted(m.ranges) == [small, big]


def test_unequal_first_dips_leave_the_later_one_waiting_for_its_match():
    """28° then 16° (16 < 0.6·28): the 28° dip is a partial; the 16° one waits, and the next 16°
    dip matches it: both count then, together."""
    assert 16.0 < R.own_range_frac * 28.0
    m, out = _run(-28.0, -16.0, -16.0)
    segs = _segments(out)
    assert [s.kind for s in segs] == ["partial", "counted", "counted"]
    assert m.count == 2 and m.own_range_count == 2
    counted_t = [t for _, t, ev in out if ev[0] == "counted"]
    assert len(counted_t) == 2 and counted_t[0] == counted_t[1]
    m, out = _run(-28.0, -16.0)  # no match: both partials, nothing counted
    assert m.count == 0 and [s.kind for s in _segments(out)] == ["partial", "partial"]


def test_partial_and_own_range_segments_say_lowering_then_lift():
    m, out = _run(-20.0, -20.0, -20.0, -10.0)
    segs = _segments(out)
    assert [s.kind for s in segs] == ["counted", "counted", "counted", "partial"]
    assert all(s.order == "top" for s in segs)
    # the first rep's lowering starts where the set's first top stay began (sample 0)
    assert segs[0].lowering[0] == 0
    for s in segs:
        assert s.lowering[0] < s.lowering[1] == s.lifting[0] < s.lifting[1]


def test_a_waiting_short_dip_keeps_its_samples_in_the_buffer():
    """min_seen_i (the earliest sample still needed) stays at the waiting dip's first sample."""
    m, out = drive(seq(hold(TOP, 1.0), top_rep(depth=-20.0), hold(TOP, 1.0)))
    assert m.count == 0 and m._provisional is not None
    assert m.min_seen_i == m._provisional["lowering_from"] == 0
    m, out = drive(seq(hold(TOP, 1.0), top_rep(depth=-10.0), hold(TOP, 1.0)))  # a partial: nothing waits
    assert m._provisional is None and m.min_seen_i > 100


def test_hip_shift_a_window_of_five_top_samples_gives_a_jitter_estimate():
    """From 5 top samples on, a window estimates the landmark jitter itself (here ±2 px
    alternating: σ = 1.4826·4/√2 px), and its median's standard error is 1.2533·σ/√5."""
    b = top_start_arrays(jitter_px=2.0)
    b["e"][200:400] = -30.0
    b["e"][210:215] = 0.0  # five samples at the top level
    b["hip_x"][210:215] = 100.0 + 2.0 * (-1.0) ** np.arange(5)
    rm = RepMeasures(5.0)
    bottom_seg = Segment("counted", "bottom", (320, 399), (210, 320), (320, 399))
    assert rm.hip_shift(b, metrics(), REL, bottom_seg) == 0.0  # first rep of a bottom-start set
    sigma = 1.4826 * 4.0 / math.sqrt(2.0)
    assert rm._ref_se == pytest.approx(1.2533 * sigma / math.sqrt(5), rel=1e-9)


# ----------------------------------------------------------------------------- faults: registration
def test_rule_registers_its_check_with_severity_cue_and_source(monkeypatch):
    monkeypatch.setitem(faults.RULES, "neck_crank", faults.RULES["neck_crank"])

    def check(c, cfg):
        return faults.RuleHit(7.0, 5.0, "deg", 1.25)

    assert faults.rule("neck_crank", "minor", "a cue", "a source")(check) is check
    r = faults.RULES["neck_crank"]
    assert (r.id, r.severity, r.cue, r.source, r.check) == ("neck_crank", "minor", "a cue", "a source", check)
    f = r(None, None)
    assert (f.id, f.t, f.value, f.threshold, f.unit, f.severity, f.cue, f.source) == (
        "neck_crank", 1.25, 7.0, 5.0, "deg", "minor", "a cue", "a source")


def test_rule_rejects_an_id_outside_the_fault_table():
    with pytest.raises(ValueError, match="expected one of .*got 'no_such_fault'"):
        faults.rule("no_such_fault", "minor", "cue", "source")
    assert "no_such_fault" not in faults.RULES
