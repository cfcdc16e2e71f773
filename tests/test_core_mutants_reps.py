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
from formcheck.core.reps import (
    RepMetrics, RepStateMachine, Segment, _first, _last, _level, _run_around, crossing_time, plateau_level, running_median,
    sample_noise, smooth,
)
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
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no median of an empty baseline
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


# ----------------------------------------------------------------------------- reps: signal helpers
def _gauss_reference(t, x, sigma):
    """smooth()'s definition, sample by sample: weights exp(-d²/2) for |d| ≤ 3 (d = Δt/σ),
    renormalised (the kernel is cut at the ends)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        d = np.abs(t - t[i]) / sigma
        w = np.where(d <= 3.0, np.exp(-0.5 * d * d), 0.0)
        out[i] = np.sum(w * x) / np.sum(w)
    return out


def test_smooth_is_a_cut_gaussian_over_real_time_on_irregular_frames():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.008, 0.04, 120))
    x = np.sin(3.0 * t) * 20.0 + rng.normal(0.0, 2.0, len(t))
    np.testing.assert_allclose(smooth(t, x, 0.03), _gauss_reference(t, x, 0.03), rtol=0, atol=1e-9)
    np.testing.assert_allclose(smooth(t, x, 0.05), _gauss_reference(t, x, 0.05), rtol=0, atol=1e-9)


def test_smooth_at_exactly_three_sigma_and_on_short_or_frozen_input():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # σ = 1/3 s: neighbours at exactly 3σ still count
    x = np.array([0.0, 0.0, 9.0, 0.0, 0.0])
    w = math.exp(-4.5)
    got = smooth(t, x, 1.0 / 3.0)
    assert got[1] == pytest.approx(9.0 * w / (1 + 2 * w), rel=1e-12)
    assert got[0] == 0.0 and got[2] == pytest.approx(9.0 / (1 + 2 * w), rel=1e-12)
    two = np.array([1.0, 5.0])
    out = smooth(np.array([0.0, 0.01]), two, 0.03)  # fewer than 3 samples: unchanged, a copy
    np.testing.assert_array_equal(out, two)
    assert out is not two
    three = smooth(np.array([0.0, 0.01, 0.02]), np.array([0.0, 3.0, 0.0]), 0.01)
    assert three[1] < 3.0
    same_t = smooth(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]), 0.03)  # no time step: all one instant
    np.testing.assert_allclose(same_t, 2.5)


def test_sample_noise_is_the_robust_sigma_of_second_differences():
    x = np.array([0.0, 1.0] * 10)  # second differences ±2: white noise of σ 2/√6·1.4826
    assert sample_noise(x) == pytest.approx(1.4826 * 2.0 / math.sqrt(6.0), rel=1e-12)
    y = x.copy()
    y[7] += 100.0  # one outlier does not move a median
    assert sample_noise(y) == pytest.approx(sample_noise(x), rel=1e-12)
    assert sample_noise(np.linspace(0.0, 30.0, 50)) == pytest.approx(0.0, abs=1e-12)  # a ramp
    assert sample_noise(np.array([0.0, 5.0])) == 0.0
    assert sample_noise(np.array([0.0, 5.0, 0.0])) == pytest.approx(1.4826 * 10.0 / math.sqrt(6.0))


def test_crossing_time_on_a_falling_segment_and_between_any_two_samples():
    t = np.array([2.0, 2.5, 3.0, 3.5])
    x = np.array([10.0, 6.0, 2.0, -2.0])
    assert crossing_time(t, x, 0, 1, 9.0) == pytest.approx(2.125, abs=1e-12)
    assert crossing_time(t, x, 1, 3, 0.0) == pytest.approx(2.5 + 0.75 * 1.0, abs=1e-12)
    assert crossing_time(t, x, 2, 2, 5.0) == 3.0  # one sample: its time
    assert crossing_time(t, x, 0, 3, 100.0) == 2.0 and crossing_time(t, x, 0, 3, -100.0) == 3.5


def test_run_around_finds_the_run_to_both_ends():
    m = np.array([True, True, False, True, True, True, False, True])
    assert _run_around(m, 0) == (0, 1) and _run_around(m, 1) == (0, 1)
    assert _run_around(m, 4) == (3, 5) and _run_around(m, 3) == (3, 5) and _run_around(m, 5) == (3, 5)
    assert _run_around(m, 7) == (7, 7)
    assert _run_around(np.ones(4, bool), 2) == (0, 3)


def test_level_is_the_median_of_the_raw_samples_of_the_turn_within_the_band():
    e = np.array([0.0, 8.0, 9.5, 10.0, 9.0, 9.5, 3.0, 10.0])  # the turn at k = 3: samples 2-5
    raw = np.array([100.0, 100.0, 1.0, 2.0, 4.0, 7.0, 100.0, 100.0])
    assert _level(e, raw, 3, 1.0) == pytest.approx(3.0)  # median of 1, 2, 4, 7 (9.0 is exactly 1.0 off)
    assert _level(e, raw, 3, 0.5) == pytest.approx(1.5)  # the run is samples 2-3 (5 is cut off by 4)
    assert _level(e, raw, 3, 2.0) == pytest.approx(4.0)  # samples 1-5


def test_running_median_is_centred_inclusive_and_skips_nans():
    t = np.arange(8.0)
    x = np.array([1.0, 9.0, 2.0, np.nan, 4.0, 8.0, 3.0, 7.0])
    got = running_median(t, x, 1.0)  # samples k-1..k+1, both ends included
    want = [np.median([1, 9]), 2.0, np.median([9, 2]), 3.0, 6.0, 4.0, 7.0, 5.0]
    np.testing.assert_allclose(got, want)
    assert got.dtype == np.float64
    assert math.isnan(running_median(t[:2], np.array([np.nan, np.nan]), 1.0)[0])
    ints = running_median(t[:3], np.array([1, 2, 4]), 1.0)  # integer input: float output
    np.testing.assert_allclose(ints, [1.5, 2.0, 3.0])


def test_plateau_level_ignores_a_spike_and_reports_the_noise():
    t = np.arange(60) * DT
    x = np.full(60, 5.0)
    x[30:45] = 12.0  # a 0.15 s plateau
    x[10] = 40.0  # a one-frame spike
    x[::4] += 1.0  # every fourth sample 1° high
    level, k, noise = plateau_level(t, x)
    assert level == pytest.approx(12.0)
    assert 30 <= k <= 44
    assert noise == pytest.approx(0.0)
    y = 5.0 + np.tile([1.0, -1.0, 0.0], 20)  # +1, -1, 0 around 5: every window's median is 5
    lv, k2, nz = plateau_level(t, y)
    assert lv == pytest.approx(5.0) and nz == pytest.approx(1.0)
    lvl, kk, nn = plateau_level(t[:0], x[:0])
    assert math.isnan(lvl) and (kk, nn) == (0, 0.0)
    lvl, kk, nn = plateau_level(t[:3], np.full(3, np.nan))
    assert math.isnan(lvl) and (kk, nn) == (0, 0.0)


def test_smooth_takes_integer_angles_and_sigma_zero_without_warnings():
    t = np.arange(10) * 0.01
    ints = np.array([0, 0, 0, 0, 10, 0, 0, 0, 0, 0])
    out = smooth(t, ints, 0.01)
    assert out.dtype == np.float64 and 0.0 < out[4] < 10.0 and out[3] > 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # σ = 0 is 'no smoothing', not a division by zero
        np.testing.assert_array_equal(smooth(t, ints.astype(float), 0.0), ints)


def test_first_and_last_fall_back_to_the_default_on_an_empty_mask():
    none = np.zeros(4, dtype=bool)
    assert _first(none, 7) == 7 and _last(none, 9) == 9
    m = np.array([False, True, True, False])
    assert _first(m, 7) == 1 and _last(m, 9) == 2


def test_hip_shift_first_rep_at_the_start_of_the_buffer_becomes_the_reference():
    """A top-start set whose first lowering begins on the buffer's first sample has no hold to
    read: that rep's own top samples (at the default 0° level) become the reference."""
    rm = RepMeasures(5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no median of an empty hold
        assert rm.hip_shift(top_start_arrays(slide_px=10.0), metrics(t_start=0.0), REL, REL) == 0.0
    assert rm.hip_shift(top_start_arrays(slide_px=30.0), metrics(), REL, REL) == pytest.approx(0.10, abs=1e-12)


def test_hip_shift_without_any_jitter_estimate_takes_nothing_off():
    """Only windows of fewer than 5 top samples so far: no jitter estimate, no margin."""
    rm = RepMeasures(5.0)
    bottom_seg = Segment("counted", "bottom", (320, 399), (210, 320), (320, 399))
    for slide, want in ((0.0, 0.0), (10.0, 0.05)):
        b = top_start_arrays(slide_px=slide)
        b["e"][200:400] = -30.0
        b["e"][210:214] = 0.0  # four samples at the top level
        b["hip_x"][210:214] = 100.0 + slide
        assert rm.hip_shift(b, metrics(), REL, bottom_seg) == pytest.approx(want, abs=1e-12)
    assert rm._jitter == [] and rm._ref_se == 0.0


def test_smooth_with_a_repeated_frame_time():
    """Two frames with one timestamp (variable frame rate): the shortest *positive* step sets the
    kernel's reach, and the result is still the cut Gaussian."""
    t = np.array([0.0, 0.01, 0.02, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08])
    x = np.array([0.0, 1.0, 4.0, 2.0, 8.0, 3.0, 5.0, 9.0, 1.0, 0.0])
    np.testing.assert_allclose(smooth(t, x, 0.015), _gauss_reference(t, x, 0.015), rtol=0, atol=1e-12)


def test_running_median_of_an_unseen_window_is_nan_without_a_warning_and_one_sample_is_a_plateau():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = running_median(np.arange(4.0), np.array([np.nan, np.nan, 3.0, np.nan]), 0.5)
    assert math.isnan(got[0]) and math.isnan(got[1]) and got[2] == 3.0 and math.isnan(got[3])
    assert plateau_level(np.array([2.0]), np.array([7.5])) == (7.5, 0, 0.0)


def test_hip_shift_of_a_bottom_start_set_reads_the_hip_within_4_deg_of_neutral():
    """No hold before the first rep: the set's top level is neutral (0°); a finish at -3.5° is
    within 4° of it."""
    rm = RepMeasures(5.0)
    bottom_seg = Segment("counted", "bottom", (320, 399), (210, 320), (320, 399))
    assert rm.hip_shift(top_start_arrays(top=-3.5), metrics(), REL, bottom_seg) == 0.0
    assert rm.hip_shift(top_start_arrays(slide_px=10.0, top=-3.5), metrics(), REL, bottom_seg) == pytest.approx(0.05)


def test_peak_3d_is_the_plateau_of_the_world_angle_over_the_top_stay():
    a = top_start_arrays()
    a["e3d"][320:400] = 10.0 + 0.1 * np.arange(80)  # still rising at the end of the top stay
    a["e3d"][200] = 80.0  # outside the top stay: never read
    # the highest ±0.07 s running median is the last sample's: the median of samples 392/393-399
    # (the window's edge falls on a sample), 17.55 or 17.6; without sample 399 it would be ≤ 17.5
    assert RepMeasures.peak_3d(a, REL) == pytest.approx(17.6, abs=0.055)
    a["e3d"][:] = np.nan
    a["e3d"][[330, 331, 332]] = 13.0  # three world-landmark readings: enough
    assert RepMeasures.peak_3d(a, REL) == pytest.approx(13.0)
    a["e3d"][332] = np.nan  # two: not enough
    assert math.isnan(RepMeasures.peak_3d(a, REL))


def test_segment_shifted_counts_every_sample_number_from_i0():
    s = Segment("partial", "bottom", (10, 20), (21, 35), (36, 50), closed=False)
    assert s.shifted(7) == Segment("partial", "bottom", (3, 13), (14, 28), (29, 43), closed=False)
    assert s.shifted(0) == s
