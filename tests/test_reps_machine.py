"""The rep state machine and rep measurement on their own (no landmarks): DESIGN's counting rules
at sample resolution. Thresholds come from ``Config().reps``, so the tests follow the defaults."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.reps import Phase, RepStateMachine, Segment, crossing_time, measure, smooth

R = Config().reps
DT = 0.01  # 100 Hz samples


def drive(es, t0: float = 0.0, m: RepStateMachine | None = None):
    """Feed e samples at 100 Hz; return the machine and [(i, t, event)]."""
    m = m or RepStateMachine(R)
    out = []
    for i, e in enumerate(es):
        t = t0 + i * DT
        for ev in m.update(i, t, float(e)):
            out.append((i, t, ev))
    return m, out


def ramp(a: float, b: float, s: float) -> np.ndarray:
    n = max(int(round(s / DT)), 1)
    return a + (b - a) * np.arange(1, n + 1) / n


def hold(v: float, s: float) -> np.ndarray:
    return np.full(int(round(s / DT)), float(v))


def seq(*parts) -> np.ndarray:
    return np.concatenate(parts)


TOP, BOT = 0.0, -(R.bottom_deg + 15)


@pytest.mark.parametrize("e,zone", [
    (-R.top_deg, "top"), (-R.top_deg - 1e-6, "mid"), (-R.bottom_deg + 1e-6, "mid"),
    (-R.bottom_deg, "bottom"), (0.0, "top"), (-R.bottom_deg - 20, "bottom"),
])
def test_zone_boundaries(e, zone):
    assert RepStateMachine(R).zone(e) == zone


@pytest.mark.parametrize("level,start", [(TOP, "top"), (BOT, "bottom")])
def test_arms_after_settling_in_a_zone(level, start):
    m, ev = drive(hold(level, R.settle_s + 0.2))
    armed = [(t, e) for _, t, e in ev if e[0] == "armed"]
    assert len(armed) == 1 and armed[0][1] == ("armed", start)
    assert armed[0][0] == pytest.approx(R.settle_s, abs=1.5 * DT)
    assert m.start == start
    assert m.phase is (Phase.TOP if start == "top" else Phase.BOTTOM)


def test_never_arms_in_the_dead_band():
    m, ev = drive(hold(-(R.top_deg + R.bottom_deg) / 2, 3.0))
    assert ev == [] and m.phase is Phase.UNARMED


def test_zone_change_restarts_the_settle_clock():
    es = seq(hold(TOP, 0.7 * R.settle_s), hold(-(R.top_deg + 2), 0.05), hold(TOP, 0.7 * R.settle_s))
    m, ev = drive(es)
    assert ev == [] and m.phase is Phase.UNARMED


def top_rep(lower_s=1.2, lift_s=1.2, hold_s=0.8, depth=BOT):
    return seq(ramp(TOP, depth, lower_s), hold(depth, 0.2), ramp(depth, TOP, lift_s), hold(TOP, hold_s))


def test_top_start_counts_on_arrival_and_segments_on_next_lowering():
    es = seq(hold(TOP, 1.0), top_rep(), top_rep())
    m, ev = drive(es)
    counted = [(i, e) for i, _, e in ev if e[0] == "counted"]
    assert [e for _, e in counted] == [("counted", 1), ("counted", 2)]
    for i, _ in counted:  # the first sample back in TOP, not earlier nor later
        assert es[i] >= -R.top_deg and es[i - 1] < -R.top_deg
    segs = [(i, e[1]) for i, _, e in ev if e[0] == "segment"]
    assert len(segs) == 1  # the second rep waits for its top hold to end
    i_seg, s = segs[0]
    assert s.kind == "counted" and s.order == "top" and s.closed
    assert s.lifting[1] == s.top[1] == i_seg and s.top[0] == counted[0][0]
    assert es[s.lowering[1]] == pytest.approx(BOT) and s.lifting[0] == s.lowering[1]
    assert es[s.lowering[1] - 1] > BOT  # the first sample of the flat bottom
    assert es[s.lowering[0]] == TOP
    fin = m.finish(len(es) - 1)
    assert len(fin) == 1 and fin[0][1].closed is False and fin[0][1].top[1] == len(es) - 1
    assert m.finish(len(es) - 1) == []


def test_end_at_drops_a_rep_whose_bottom_came_after_the_set_ended():
    """Getting off: the set ended at sample i. A rep counted from a bottom after i (standing up
    read as a lowering and a lift) is dropped; one whose bottom came before is finalised there,
    its top never ending before it began."""
    es = seq(hold(TOP, 1.0), top_rep(), top_rep())
    m, ev = drive(es)
    segs = [e[1] for _, _, e in ev if e[0] == "segment"]
    assert len(segs) == 1
    second_bottom = int(np.flatnonzero(es <= BOT)[-1])  # the pending rep's bottom is before it
    assert m.end_at(second_bottom - 200) == []  # ended before that rep's bottom: dropped
    assert m.finish(len(es) - 1) == []
    m2, _ = drive(es)
    fin = m2.end_at(second_bottom + 10)  # ended after its bottom, before its top: kept
    assert len(fin) == 1 and fin[0][1].kind == "counted" and not fin[0][1].closed
    assert fin[0][1].top[1] >= fin[0][1].top[0]


def test_bottom_start_counts_on_arrival_at_top_and_segments_after_the_next_bottom():
    rep = seq(ramp(BOT, TOP, 1.2), hold(TOP, 0.8), ramp(TOP, BOT, 1.2), hold(BOT, 0.6))
    es = seq(hold(BOT, 1.0), rep, rep, ramp(BOT, BOT + 20, 0.5))
    m, ev = drive(es)
    counted = [i for i, _, e in ev if e[0] == "counted"]
    assert len(counted) == 2
    for i in counted:
        assert es[i] >= -R.top_deg and es[i - 1] < -R.top_deg
    segs = [e[1] for _, _, e in ev if e[0] == "segment"]
    assert len(segs) == 2 and all(s.order == "bottom" and s.closed for s in segs)
    s = segs[0]
    assert s.lifting[1] == counted[0] and es[s.lowering[1]] == pytest.approx(BOT)
    assert s.top == (counted[0], s.lowering[1])


def test_bottom_start_rep_unfinished_at_the_end_is_not_closed():
    es = seq(hold(BOT, 1.0), ramp(BOT, TOP, 1.2), hold(TOP, 0.8), ramp(TOP, -R.top_deg - 5, 0.3))
    m, ev = drive(es)
    assert [e for _, _, e in ev if e[0] == "counted"] == [("counted", 1)]
    fin = m.finish(len(es) - 1)
    assert len(fin) == 1 and fin[0][1].closed is False and fin[0][1].order == "bottom"
    assert fin[0][1].lowering[1] == len(es) - 1  # no bottom yet: the rep runs to the end


def test_bottom_start_rep_finished_in_the_bottom_is_closed_at_finish():
    es = seq(hold(BOT, 1.0), ramp(BOT, TOP, 1.2), hold(TOP, 0.8), ramp(TOP, BOT, 1.0),
             ramp(BOT, BOT + 0.5 * R.partial_min_dip_deg, 0.3))
    m, _ = drive(es)
    fin = m.finish(len(es) - 1)
    assert len(fin) == 1 and fin[0][1].closed is True
    assert es[fin[0][1].lowering[1]] == pytest.approx(BOT)  # the bottom, not the last sample
    assert fin[0][1].lowering[1] < len(es) - 1


@pytest.mark.parametrize("margin_s,counted", [(-0.1, False), (0.1, True)])
def test_minimum_rep_time_from_leaving_top_to_arriving_back(margin_s, counted):
    """The rep clock starts when the trunk leaves TOP (first sample partial_min_dip below it)."""
    total = R.min_rep_s + margin_s
    half = total / 2
    # Leave at once (first lowering sample is a full dip below the top), arrive at TOP after `total`.
    down = ramp(TOP - R.partial_min_dip_deg - 1, BOT, half)
    up = ramp(BOT, -R.top_deg, half)
    es = seq(hold(TOP, 1.0), down, up[:-1], hold(-R.top_deg, 0.5))
    m, ev = drive(es)
    assert (m.count == 1) is counted


def test_partial_dip_is_a_segment_and_not_a_count():
    dip = R.partial_min_dip_deg + 4
    es = seq(hold(TOP, 1.0), ramp(TOP, TOP - dip, 0.6), hold(TOP - dip, 0.2), ramp(TOP - dip, TOP, 0.6),
             hold(TOP, 1.0))
    m, ev = drive(es)
    segs = [e[1] for _, _, e in ev if e[0] == "segment"]
    assert m.count == 0 and len(segs) == 1 and segs[0].kind == "partial"
    s = segs[0]
    assert es[s.lowering[1]] == pytest.approx(TOP - dip) and es[s.lowering[1] - 1] > TOP - dip
    assert m.phase is Phase.TOP


def test_small_wobble_is_not_a_partial():
    dip = R.partial_min_dip_deg - 1.5
    es = seq(hold(TOP, 1.0), ramp(TOP, TOP - dip, 0.6), ramp(TOP - dip, TOP, 0.6), hold(TOP, 1.0))
    m, ev = drive(es)
    assert [e for _, _, e in ev if e[0] != "armed"] == [] and m.phase is Phase.TOP


def test_partial_needs_a_still_top_before_it_is_reported():
    """Back in TOP but still moving: not yet a partial (it may continue into a full rep)."""
    dip = R.partial_min_dip_deg + 4
    es = seq(hold(TOP, 1.0), ramp(TOP, TOP - dip, 0.6), ramp(TOP - dip, TOP + 3, 0.6))
    m, ev = drive(es)
    assert [e for _, _, e in ev if e[0] == "segment"] == [] and m.phase is Phase.LOWERING
    m, ev = drive(seq(es, hold(TOP + 3, 0.5)))
    assert [e[1].kind for _, _, e in ev if e[0] == "segment"] == ["partial"]


def test_settled_window():
    m = RepStateMachine(R)
    assert not m._settled()
    for i in range(30):
        m.update(i, i * DT, 0.0)
    assert m._settled()
    m.update(30, 0.30, R.settle_spread_deg + 0.1)
    assert not m._settled()
    m2 = RepStateMachine(R)
    for i in range(15):  # only 0.14 s of samples (late in a clip): too short to call still
        m2.update(i, 5.0 + i * DT, 0.0)
    assert not m2._settled()


def test_settled_at_a_low_frame_rate_and_at_the_spread_limit():
    m = RepStateMachine(R)  # two samples 0.24 s apart (about 4 fps) span enough time
    m.update(0, 3.0, 0.0)
    m.update(1, 3.24, 0.5)
    assert m._settled()
    m = RepStateMachine(R)  # a spread of exactly settle_spread_deg is not still
    for i in range(25):
        m.update(i, 3.0 + i * DT, 0.0 if i % 2 else R.settle_spread_deg)
    assert not m._settled()


def test_reset_clears_the_count_and_arming():
    m, _ = drive(seq(hold(TOP, 1.0), top_rep()))
    assert m.count == 1
    m.reset()
    assert (m.count, m.phase, m.start) == (0, Phase.UNARMED, None)
    assert m.finish(10) == []


# ----------------------------------------------------------------------------- measure
def test_measure_tempo_depth_peak_hold_and_velocity():
    """Linear moves: lowering 1.0 s, lifting 2.0 s, a 0.5 s still top; phase_frac trims the ends."""
    pf, band = 0.05, 1.5
    es = seq(hold(0.0, 0.5), ramp(0.0, -50.0, 1.0), hold(-50.0, 0.3), ramp(-50.0, 10.0, 2.0),
             hold(10.0, 0.5), ramp(10.0, -20.0, 0.5))
    t = np.arange(len(es)) * DT
    i_bot0 = 50 + 100 - 1
    i_bot1 = i_bot0 + 30
    i_top = i_bot1 + 200
    i_end = i_top + 50 + 20
    seg = Segment("counted", "top", (0, i_bot1), (i_bot1, i_end), (i_top, i_end))
    m = measure(seg, t, es, pf, band, smooth_s=0.0)
    assert m.depth_deg == pytest.approx(-50.0)
    assert m.peak_extension_deg == pytest.approx(10.0)
    assert m.lowering_s == pytest.approx(0.9, abs=0.005)
    assert m.lifting_s == pytest.approx(1.8, abs=0.005)
    assert m.t_bottom == pytest.approx(t[i_bot1], abs=0.011)
    assert m.t_top == pytest.approx(t[i_bot1] + 1.9, abs=0.02)
    assert m.t_start == pytest.approx(0.5 + 0.05, abs=0.02)
    assert m.top_hold_s == pytest.approx(0.5 + 2 * band / 60.0, abs=0.03)
    assert m.peak_lift_velocity_dps == pytest.approx(30.0, rel=0.02)
    assert m.peak_lower_velocity_dps == pytest.approx(50.0, rel=0.02)
    assert m.peak_extension_t == pytest.approx(t[i_top], abs=0.6)
    assert t[i_bot1] < m.peak_lift_velocity_t < m.t_top
    assert m.t_end >= t[i_top] + 0.4


def test_measure_bottom_order_times_the_rep_from_lift_to_lowering_end():
    es = seq(hold(-50.0, 0.5), ramp(-50.0, 0.0, 1.0), hold(0.0, 0.6), ramp(0.0, -50.0, 1.0), hold(-50.0, 0.4))
    t = np.arange(len(es)) * DT
    i_top = 150
    i_bot = 150 + 60 + 100 - 1
    seg = Segment("counted", "bottom", (i_top, i_bot), (0, i_top), (i_top, i_bot))
    m = measure(seg, t, es, 0.05, 1.5, smooth_s=0.0)
    assert m.t_start == pytest.approx(0.5 + 0.05, abs=0.02)
    assert m.t_end == pytest.approx(t[i_bot] - 0.05, abs=0.02)
    assert m.lifting_s == pytest.approx(0.9, abs=0.02)
    assert m.lowering_s == pytest.approx(0.9, abs=0.02)


def test_measure_with_the_bottom_at_the_segment_edge():
    """As the state machine hands it: lowering ends at its (strict) minimum, the lift starts there."""
    es = seq(hold(0.0, 0.5), ramp(0.0, -50.0, 1.0), ramp(-50.0, 0.0, 1.0)[1:], hold(0.0, 0.6))
    t = np.arange(len(es)) * DT
    i_min = int(np.argmin(es))
    i_top = i_min + 99
    seg = Segment("counted", "top", (0, i_min), (i_min, len(es) - 1), (i_top - 1, len(es) - 1))
    m = measure(seg, t, es, 0.05, 1.5, smooth_s=0.0)
    assert es[i_min] == -50.0 and m.depth_deg == pytest.approx(-50.0, abs=0.5)  # the samples at a V's tip
    assert m.t_bottom == pytest.approx(t[i_min], abs=1e-9)
    assert m.lowering_s == pytest.approx(0.90, abs=0.005)
    assert m.lifting_s == pytest.approx(0.90, abs=0.015)
    assert m.t_start == pytest.approx(0.54, abs=0.005)


@pytest.mark.parametrize("level,phase", [(TOP, Phase.TOP), (BOT, Phase.BOTTOM)])
def test_phase_is_set_on_the_arming_sample(level, phase):
    m = RepStateMachine(R)
    for i in range(200):
        if any(ev[0] == "armed" for ev in m.update(i, i * DT, level)):
            break
    assert m.phase is phase and m.start == ("top" if phase is Phase.TOP else "bottom")


def test_arms_exactly_when_settle_s_has_passed():
    m = RepStateMachine(R)
    half = R.settle_s / 2  # samples at 0, settle_s / 2, settle_s (exact in binary)
    evs = [m.update(k, k * half, TOP) for k in range(3)]
    assert evs[0] == evs[1] == [] and evs[2] == [("armed", "top")]


def test_a_rep_of_exactly_min_rep_s_counts():
    m = RepStateMachine(R)
    t0 = next(b for b in (0.0, 1.0, 2.0, 4.0, 0.5) if (b + R.min_rep_s) - b == R.min_rep_s)
    for k in range(60):
        m.update(k, t0 - 1.2 + k * 0.01, TOP)
    m.update(60, t0, TOP - R.partial_min_dip_deg - 1)  # leaves the top at t0
    m.update(61, t0 + 0.5 * R.min_rep_s, BOT)
    ev = m.update(62, t0 + R.min_rep_s, TOP)
    assert ("counted", 1) in ev


# ----------------------------------------------------------------------------- measure: timing and noise
def _cosine_rep(fps: float, lift_s: float, t0: float = 0.0):
    """A rep sampled at ``fps``: 1 s top, a 1.2 s lowering to -50°, 0.4 s bottom, a cosine lift of
    ``lift_s`` to +5°, a 1 s top hold, then the next lowering; every phase a half cosine."""
    def half_cos(tau, a, b):
        return a + (b - a) * 0.5 * (1 - np.cos(np.pi * np.clip(tau, 0, 1)))
    knots = [0.0, 1.0, 2.2, 2.6, 2.6 + lift_s, 3.6 + lift_s, 4.8 + lift_s]
    t = t0 + np.arange(0.0, knots[-1], 1.0 / fps)
    x = t - t0
    e = np.select(
        [x < knots[1], x < knots[2], x < knots[3], x < knots[4], x < knots[5]],
        [np.zeros_like(x), half_cos((x - knots[1]) / 1.2, 0.0, -50.0), np.full_like(x, -50.0),
         half_cos((x - knots[3]) / lift_s, -50.0, 5.0), np.full_like(x, 5.0)],
        half_cos((x - knots[5]) / 1.2, 5.0, -30.0))
    i_bot = int(np.searchsorted(x, knots[2] + 0.2))
    i_top = int(np.searchsorted(x, knots[4]))
    seg = Segment("counted", "top", (0, i_bot), (i_bot, len(t) - 1), (i_top, len(t) - 1))
    return t, e, seg


def _cos_frac_time(frac: float) -> float:
    """Fraction of a half-cosine move's duration at which it has covered ``frac`` of its range."""
    return float(np.arccos(1 - 2 * frac) / np.pi)


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_lift_time_is_interpolated_between_frames(fps):
    """5 %→95 % of a 0.40 s cosine lift lasts 0.40·(t(0.95) − t(0.05)); read to 8 ms at any frame
    rate, where whole frames would quantise it to 1/fps (42 ms at 24 fps)."""
    t, e, seg = _cosine_rep(fps, 0.40, t0=7.0)
    m = measure(seg, t, e, 0.05, 1.5, smooth_s=0.0)
    want = 0.40 * (_cos_frac_time(0.95) - _cos_frac_time(0.05))
    assert m.lifting_s == pytest.approx(want, abs=0.008)  # a frame is 17-42 ms
    assert m.lowering_s == pytest.approx(1.2 * (_cos_frac_time(0.95) - _cos_frac_time(0.05)), abs=0.008)
    assert m.t_top == pytest.approx(7.0 + 2.6 + 0.40 * _cos_frac_time(0.95), abs=0.008)


def test_crossing_time_interpolates_and_clamps():
    t = np.array([1.0, 1.1])
    x = np.array([0.0, 10.0])
    assert crossing_time(t, x, 0, 1, 2.5) == pytest.approx(1.025)
    assert crossing_time(t, x, 0, 1, 20.0) == pytest.approx(1.1)  # past the segment: its end
    assert crossing_time(t, x, 0, 1, -5.0) == pytest.approx(1.0)
    assert crossing_time(t, np.array([3.0, 3.0]), 0, 1, 3.0) == pytest.approx(1.1)


def test_smooth_is_zero_phase_and_keeps_a_line():
    t = np.arange(0.0, 3.0, 1 / 30)
    line = 4.0 * t - 2.0
    np.testing.assert_allclose(smooth(t, line, 0.06)[10:-10], line[10:-10], atol=0.02)
    step = np.where(t < 1.5, 0.0, 10.0)
    s = smooth(t, step, 0.06)
    # symmetric about the step: no lag (a causal filter would cross 5 at t > 1.5 + its lag)
    k = int(np.argmin(np.abs(s - 5.0)))
    assert abs(t[k] - 1.5) < 0.03
    np.testing.assert_array_equal(smooth(t, step, 0.0), step)


@pytest.mark.parametrize("seed", range(5))
def test_measures_hold_under_real_clip_noise(seed):
    """2.5° of white angle noise per frame at 30 fps (what ~4 px of landmark jitter gives on a
    150 px trunk): tempo within 0.1 s, the finish within 1.5°, and a 1 s hold still a hold."""
    t, e, seg = _cosine_rep(30.0, 0.40)
    rng = np.random.default_rng(seed)
    noisy = e + rng.normal(0.0, 2.5, len(e))
    clean = measure(seg, t, e, 0.05, 1.5, smooth_s=0.0)
    m = measure(seg, t, noisy, 0.05, 1.5)
    assert m.lifting_s == pytest.approx(clean.lifting_s, abs=0.1)
    assert m.lowering_s == pytest.approx(clean.lowering_s, abs=0.1)
    assert m.peak_extension_deg == pytest.approx(5.0, abs=1.5)
    assert m.depth_deg == pytest.approx(-50.0, abs=2.0)
    assert m.top_hold_s > 0.7
    peak_v = 55.0 * np.pi / 2 / 0.40  # a half-cosine's peak speed: range·π / (2·duration)
    assert m.peak_lift_velocity_dps == pytest.approx(peak_v, rel=0.25)  # smoothed twice: a little low


# ----------------------------------------------------------------------------- the athlete's own range
def _kinds(out):
    return [ev[1].kind for _, _, ev in out if ev[0] == "segment"]


def _counted_at(out):
    return [t for _, t, ev in out if ev[0] == "counted"]


def test_a_consistent_short_range_set_counts_every_rep():
    """Seed 001: 'Use a smaller range if your lower back feels pinchy at the bottom.' Ten 20° dips
    (BOTTOM is 30°) are ten reps; the first is counted when the second shows the set's range."""
    m, out = drive(seq(hold(TOP, 1.0), *[top_rep(depth=-20.0) for _ in range(10)]))
    m.finish(10_000)
    assert m.count == 10
    assert m.own_range_count == 10
    assert m.typical_range() == pytest.approx(20.0, abs=0.5)
    times = _counted_at(out)
    assert times[0] == times[1]  # counted together, once the second dip matched the first
    assert _kinds(out).count("partial") == 0


def test_a_short_dip_in_a_full_range_set_is_a_partial():
    m, out = drive(seq(hold(TOP, 1.0), top_rep(), top_rep(), top_rep(depth=-20.0), top_rep()))
    assert m.count == 3
    assert _kinds(out) == ["counted", "counted", "partial"]  # the 4th rep is still waiting
    assert m.own_range_count == 0


def test_a_lone_first_short_dip_then_full_reps_is_a_partial():
    m, out = drive(seq(hold(TOP, 1.0), top_rep(depth=-20.0), top_rep(), top_rep()))
    out += [(None, None, ev) for ev in m.finish(10_000)]
    assert m.count == 2
    assert _kinds(out) == ["partial", "counted", "counted"]


@pytest.mark.parametrize("depth,counted", [(-(R.min_range_deg - 1.0), False), (-(R.min_range_deg + 1.0), True)])
def test_own_range_needs_the_stated_minimum_amplitude(depth, counted):
    m, out = drive(seq(hold(TOP, 1.0), *[top_rep(depth=depth) for _ in range(4)]))
    m.finish(10_000)
    assert m.count == (4 if counted else 0)


def test_two_short_dips_of_different_size_are_not_a_range():
    """20° then 10° deep: not the same size (10 < 0.6 × 20), so the first is a partial."""
    m, out = drive(seq(hold(TOP, 1.0), top_rep(depth=-20.0), top_rep(depth=-10.0)))
    out += [(None, None, ev) for ev in m.finish(10_000)]
    assert m.count == 0
    assert _kinds(out) == ["partial", "partial"]


def test_own_range_reps_are_measured_like_full_ones():
    m, out = drive(seq(hold(TOP, 1.0), *[top_rep(depth=-20.0) for _ in range(3)]))
    out += [(None, None, ev) for ev in m.finish(10_000)]
    segs = [ev[1] for _, _, ev in out if ev[0] == "segment"]
    assert [s.kind for s in segs] == ["counted"] * 3
    # consecutive reps tile: each lowering starts where the previous rep's top stay began, and
    # that top stay ends when the next lowering is seen
    for a, b in zip(segs, segs[1:]):
        assert b.lowering[0] == a.top[0] < a.top[1] < b.lowering[1]
    assert all(s.lowering[1] == s.lifting[0] < s.top[0] for s in segs)
