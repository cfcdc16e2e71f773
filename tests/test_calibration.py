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
