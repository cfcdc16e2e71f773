"""Neutral calibration (core, pure): hold still -> the mean angle, or a clear failure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.core.calibration import Calibration, NeutralCalibrator


def feed(cal: NeutralCalibrator, t0: float, values, fps: float = 30.0):
    """Feed ``values`` at ``fps`` from ``t0``; return the first result (or None)."""
    for k, e in enumerate(values):
        res = cal.update(t0 + k / fps, e)
        if res is not None:
            return res
    return None


def test_inactive_until_started():
    cal = NeutralCalibrator()
    assert not cal.active and cal.update(1.0, 3.0) is None and cal.message is None


def test_steady_hold_gives_the_mean_angle():
    cal = NeutralCalibrator(duration_s=2.0, max_sd_deg=3.0)
    cal.start(10.0)
    assert cal.active and "hold neutral still for 2 s" in cal.message
    rng = np.random.default_rng(0)
    values = 4.0 + rng.normal(0, 0.5, 90)
    res = feed(cal, 10.0, values)
    assert isinstance(res, Calibration) and res.ok
    used = values[:61]  # t = 10.0 .. 12.0 s inclusive at 30 fps
    assert res.neutral_e_deg == pytest.approx(float(used.mean()), abs=1e-12)
    assert res.sd_deg == pytest.approx(float(used.std()), abs=1e-12)
    assert res.t == pytest.approx(12.0)
    assert cal.neutral_e_deg == res.neutral_e_deg and not cal.active
    d = res.to_dict(applied_offset_deg=1.234)
    assert d == {"event": "calibration", "t": 12.0, "ok": True,
                 "neutral_e_deg": round(res.neutral_e_deg, 2), "sd_deg": round(res.sd_deg, 2),
                 "message": res.message, "applied_offset_deg": 1.23}
    assert res.message.startswith(f"Neutral reads e = {res.neutral_e_deg:+.1f} deg")


def test_moving_during_the_hold_is_refused():
    cal = NeutralCalibrator(duration_s=1.0, max_sd_deg=3.0)
    cal.start(0.0)
    res = feed(cal, 0.0, np.linspace(-20, 20, 40))
    assert res is not None and not res.ok
    assert res.sd_deg > 3.0 and "hold still" in res.message
    assert cal.neutral_e_deg is None  # nothing applied
    assert "applied_offset_deg" not in res.to_dict()


def test_the_holds_result_is_shown_for_a_few_seconds_not_for_good():
    cal = NeutralCalibrator(duration_s=1.0, max_sd_deg=3.0)
    assert cal.notice(0.0) is None
    cal.start(0.0)
    assert cal.notice(0.5).startswith("Calibrating: hold neutral still")
    res = feed(cal, 0.0, np.linspace(-20, 20, 40))
    assert cal.notice(res.t + 4.9) == res.message and "Press c again" in res.message
    assert cal.notice(res.t + cal.NOTICE_S) is None
    cal.start(20.0)
    feed(cal, 20.0, np.linspace(-20, 20, 40))
    cal.clear_notice()  # a new set (the live r key)
    assert cal.notice(21.5) is None


def test_not_tracked_is_a_failure_without_numbers():
    cal = NeutralCalibrator(duration_s=1.0)
    cal.start(0.0)
    res = feed(cal, 0.0, [None] * 20 + [math.nan] * 20)
    assert res == Calibration(res.t, False, res.message)
    assert "not tracked" in res.message
    assert res.to_dict() == {"event": "calibration", "t": round(res.t, 3), "ok": False,
                             "message": res.message}


def test_bad_arguments():
    with pytest.raises(ValueError, match="duration_s"):
        NeutralCalibrator(duration_s=0)
    with pytest.raises(ValueError, match="max_sd_deg"):
        NeutralCalibrator(max_sd_deg=-1)


# --------------------------------------------------------------------------- calibration in the core
def _leaning_set(lean_deg: float):
    """A seated set by someone whose upright reads ``lean_deg`` (posture, camera, landmarks)."""
    from synth import RepScript, body_frames, script_set

    t, e, _, _ = script_set([RepScript(), RepScript(), RepScript()], start=0.0)
    return body_frames(t, e + lean_deg, "seated", "right", noise_px=0.5, seed=2)


def _run(frames, **kin):
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    cfg = Config()
    for k, v in kin.items():
        setattr(cfg.kinematics, k, v)
    an = Analyzer(cfg)
    events = []
    for f in frames:
        events += an.update(f.t_s, f)
    return an, an.finish(), events


def test_uncalibrated_lean_reads_as_hyperextension():
    _, res, _ = _run(_leaning_set(13.0))
    assert res.rep_count == 3
    assert all("hyperextension" in [f.id for f in r.faults] for r in res.counted)


def test_calibrate_start_takes_the_still_start_as_neutral():
    an, res, events = _run(_leaning_set(13.0), calibrate="start")
    assert res.rep_count == 3
    assert not any(r.faults for r in res.reps)
    cal = [ev for ev in events if ev.kind == "calibration"]
    assert len(cal) == 1 and cal[0].data["ok"] is True
    assert cal[0].data["neutral_e_deg"] == pytest.approx(13.0, abs=1.5)
    assert an.neutral_offset == pytest.approx(13.0, abs=1.5)
    assert cal[0].t < res.reps[0].t_start  # before the first rep
    assert res.scene["neutral_source"] == "start"  # the report says where neutral came from
    assert res.scene["neutral_offset_deg"] == pytest.approx(an.neutral_offset, abs=1e-3)


def test_stored_neutral_offset_is_applied_from_the_config():
    an, res, _ = _run(_leaning_set(13.0), neutral_offset_deg=13.0)
    assert an.neutral_offset == 13.0
    assert (res.scene["neutral_source"], res.scene["neutral_offset_deg"]) == ("config", 13.0)
    assert res.rep_count == 3 and not any(r.faults for r in res.reps)


def test_live_key_calibration_is_owned_by_the_core():
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    frames = _leaning_set(13.0)
    an = Analyzer(Config())
    events = []
    for f in frames:
        if f.t_s == pytest.approx(0.1, abs=0.02):
            an.start_calibration(f.t_s)  # what the live 'c' key does
        events += an.update(f.t_s, f)
    cal = [ev for ev in events if ev.kind == "calibration"]
    assert len(cal) == 1 and cal[0].data["applied_offset_deg"] == pytest.approx(13.0, abs=1.5)
