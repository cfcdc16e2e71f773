"""A face-down set filmed with the camera turned 90° reads as a standing hinge: balance tells them
apart (formcheck.core.upright). Fast tier: the independent generator; e2e: a sample clip turned."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from skeleton import Bias, Camera, Posture, RepSpec, Scene, frame_times, make_set, render

from formcheck.config import Config
from formcheck.core import kinematics as K
from formcheck.core.analysis import Analyzer
from formcheck.core.types import PoseFrame
from formcheck.core.upright import BalanceCheck, balance

ROOT = Path(__file__).resolve().parent.parent


def turned(fr: PoseFrame, way: str) -> PoseFrame:
    """The frame as a camera turned 90° ``way`` (clockwise / anticlockwise) would have seen it."""
    w, h = fr.image_wh
    x, y = fr.xy[:, 0], fr.xy[:, 1]
    xy = np.c_[y, w - x] if way == "anticlockwise" else np.c_[h - y, x]
    return PoseFrame(fr.t_s, xy, fr.visibility, fr.z, fr.world, (h, w))


def run(posture: Posture, facing: str = "right", way: str | None = None, depth: float = -65.0):
    reps = [RepSpec(depth=depth, peak=6.0 if posture.profile == "prone" else 0.0) for _ in range(3)]
    script = make_set(posture, reps)
    times = frame_times(script.duration, 30.0)
    an = Analyzer(Config())
    for t, fr in zip(times, render(script, times, Scene(camera=Camera(facing=facing), bias=Bias()))):
        an.update(float(t), fr if fr is None or way is None else turned(fr, way))
    return an.finish()


@pytest.mark.parametrize("facing, way, turn", [("right", "anticlockwise", 90), ("left", "clockwise", 270)])
def test_a_level_prone_set_turned_head_up_is_found_turned(facing, way, turn):
    res = run(Posture("prone", bench_deg=0.0), facing, way)
    assert res.profile == "seated"  # as filmed it reads as a standing hinge ...
    assert res.turned is not None and res.turned.turn_deg == turn  # ... out of balance
    assert res.turned.balance > 0.35 and res.turned.frames >= 10
    assert any(w.startswith("The picture looks turned on its side") for w in res.warnings)
    way_back = "clockwise" if turn == 90 else "anticlockwise"
    assert any(f"Turn the video 90° {way_back}" in w for w in res.warnings)


@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("posture", [Posture("standing"), Posture("prone", bench_deg=0.0),
                                     Posture("prone", bench_deg=45.0), Posture("seated")],
                         ids=["standing", "prone-level", "prone-45", "seated"])
def test_upright_sets_are_not_found_turned(posture, facing):
    res = run(posture, facing)
    assert res.turned is None and res.rep_count == 3
    assert not any("turned on its side" in w for w in res.warnings)


@pytest.mark.parametrize("way", ["anticlockwise", "clockwise"])
@pytest.mark.parametrize("facing", ["right", "left"])
def test_a_45_degree_bench_turned_is_measured_as_filmed_upright(way, facing):
    """Turned 90°, a 45° bench's legs are still 45° from vertical: not a standing body, nothing
    to find; the prone angle takes the floor's side from the face, not from image-down, so the
    reps read as they do upright."""
    want = run(Posture("prone", bench_deg=45.0), facing, depth=-48.0)
    res = run(Posture("prone", bench_deg=45.0), facing, way, depth=-48.0)
    assert res.turned is None and res.profile == "prone" and res.rep_count == want.rep_count == 3
    for a, b in zip(res.reps, want.reps):
        assert a.depth_deg == pytest.approx(b.depth_deg, abs=1.0)
        assert a.peak_extension_deg == pytest.approx(b.peak_extension_deg, abs=1.0)


def _body(hip_x: float, lean_deg: float, side: float = 1.0) -> K.Body:
    """Straight legs standing at x = 100 px (ankle) up to the hip at ``hip_x``, y 300; a 100 px
    torso leaning ``lean_deg`` from upright toward ``side``; head 20 px beyond the shoulder."""
    a = np.radians(lean_deg)
    hip = np.array([hip_x, 300.0])
    sh = hip + 100.0 * np.array([side * np.sin(a), -np.cos(a)])
    head = sh + (sh - hip) * 0.2
    ankle, knee = np.array([100.0, 500.0]), np.array([(hip_x + 100.0) / 2, 400.0])
    vis = dict.fromkeys(("shoulder", "hip", "knee", "ankle", "ear", "nose", "heel", "toe"), 1.0)
    return K.Body(shoulder=sh, hip=hip, knee=knee, ankle=ankle, ear=head, nose=head, heel=ankle,
                  toe=ankle, visibility=vis, shoulder_width_px=10.0)


def test_balance_is_the_mass_weighted_lead_over_the_ankles():
    # hips above the ankles, trunk square to the legs: head 120 px out, trunk centre 50, knee 0
    lead, lean, side = balance(_body(100.0, 90.0))
    want = (0.081 * 120.0 + 0.597 * 50.0) / (0.081 + 0.597 + 0.2 + 0.093 + 0.029) / 100.0
    assert lead == pytest.approx(want, abs=1e-9) and lean == pytest.approx(90.0) and side == 1.0
    # facing the other way: the same lead, toward the other side
    lead2, _, side2 = balance(_body(100.0, 90.0, side=-1.0))
    assert lead2 == pytest.approx(want, abs=1e-9) and side2 == -1.0


@pytest.mark.parametrize("hip_x, n, lean, found", [
    (100.0, 10, 90.0, True),   # hips over the ankles, trunk level: out of balance
    (100.0, 9, 90.0, False),   # too few deep frames to judge
    (100.0, 10, 44.0, False),  # not deep enough (45°)
    (55.0, 10, 90.0, False),   # hips back by 0.45 torso: a hinge in balance
])
def test_balance_check_needs_deep_straight_leg_frames_out_of_balance(hip_x, n, lean, found):
    bc = BalanceCheck()
    for _ in range(n):
        bc.offer(_body(hip_x, lean))
    f = bc.finding()
    assert (f is not None) is found
    if found:
        assert f.turn_deg == 90 and f.frames == n


def test_balance_check_boundary_and_bent_knees():
    # lead 0.3957 (see above) against max_lead on either side of it
    bc = BalanceCheck(max_lead=0.40)
    for _ in range(10):
        bc.offer(_body(100.0, 90.0))
    assert bc.finding() is None
    bc = BalanceCheck(max_lead=0.39)
    for _ in range(10):
        bc.offer(_body(100.0, 90.0, side=-1.0))
    assert bc.finding().turn_deg == 270
    bent = _body(100.0, 90.0)
    bent = K.Body(**{**bent.__dict__, "knee": np.array([160.0, 400.0])})  # knee bent ~113°
    bc = BalanceCheck()
    for _ in range(20):
        bc.offer(bent)
    assert len(bc.leads) == 0


@pytest.mark.e2e
def test_a_prone_sample_turned_on_its_side_is_analysed_upright(tmp_path):
    """dev03 (a level prone bench) turned anticlockwise reads as a standing body out of balance;
    analyze finds it and analyses it upright: the reps and faults of the clip as filmed."""
    import av
    import cv2

    from formcheck.app.pipeline import analyze_clip

    src = ROOT / "sample_videos" / "dev03_prone_r.mp4"
    clip = tmp_path / "turned.mp4"
    with av.open(str(src)) as inp, av.open(str(clip), "w") as out:
        st = out.add_stream("libx264", rate=Fraction(30))
        st.pix_fmt, st.options = "yuv420p", {"crf": "20", "preset": "veryfast"}
        for k, fr in enumerate(inp.decode(video=0)):
            img = cv2.rotate(fr.to_ndarray(format="bgr24"), cv2.ROTATE_90_COUNTERCLOCKWISE)
            if k == 0:
                st.height, st.width = img.shape[:2]
            f = av.VideoFrame.from_ndarray(img, format="bgr24")
            f.pts = k
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    cfg = Config()
    upright = analyze_clip(src, cfg).report
    got = analyze_clip(clip, cfg).report
    labels = json.loads(src.with_suffix(".json").read_text())
    assert got["summary"]["rep_count"] == upright["summary"]["rep_count"] == labels["expected_rep_count"]
    assert got["profile"] == "prone"
    assert any(w.startswith("The picture was turned on its side") for w in got["warnings"])
    assert not any(w.startswith("The picture looked turned") for w in got["warnings"])  # said once
    faults = lambda rep: sorted({f["id"] for r in rep["reps"] for f in r["faults"]})  # noqa: E731
    assert faults(got) == faults(upright)
    for a, b in zip(got["reps"], upright["reps"]):
        assert a["depth_deg"] == pytest.approx(b["depth_deg"], abs=3.0)
        assert a["peak_extension_deg"] == pytest.approx(b["peak_extension_deg"], abs=3.0)


def test_floor_side_from_the_face():
    b = _body(300.0, 0.0)  # thigh (knee→hip) = (100, -100) px: lying on a 45° bench
    thigh = b.hip - b.knee
    down = K.Body(**{**b.__dict__, "ear": np.array([0.0, 0.0]), "nose": np.array([0.0, 10.0])})
    up = K.Body(**{**b.__dict__, "ear": np.array([0.0, 0.0]), "nose": np.array([0.0, -10.0])})
    side_down = float(np.sign(thigh[0] * 10.0))  # thigh × (0, 10)
    assert K.floor_side_from_face([down] * 3) == side_down != 0
    assert K.floor_side_from_face([up] * 3) == -side_down
    assert K.floor_side_from_face([down] * 2) == 0.0  # too few faces
    assert K.floor_side_from_face([down] * 3 + [up] * 2) == side_down  # the median
    hidden = K.Body(**{**down.__dict__, "visibility": {**down.visibility, "nose": 0.4}})
    assert K.floor_side_from_face([hidden] * 5) == 0.0
    standing = _body(160.0, 0.0)  # thigh 16.7° from vertical: someone standing faces forward
    standing = K.Body(**{**standing.__dict__, "ear": np.array([0.0, 0.0]), "nose": np.array([0.0, 10.0])})
    assert K.floor_side_from_face([standing] * 5) == 0.0
    assert K.floor_side_from_face([standing] * 5, leg_upright_deg=15.0) != 0.0
    # image-down's side when none is given, the face's when it is
    e0 = K.extension_deg("prone", 1.0, b.shoulder, b.hip, b.knee)
    assert K.extension_deg("prone", 1.0, b.shoulder, b.hip, b.knee, floor_side=side_down) == pytest.approx(e0)
    assert K.extension_deg("prone", 1.0, b.shoulder, b.hip, b.knee, floor_side=-side_down) == pytest.approx(-e0)
