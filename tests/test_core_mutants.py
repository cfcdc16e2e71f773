"""Fast pure-core checks of what the docstrings and DESIGN.md promise (mutation testing, #12).

Each test pins a documented behaviour of formcheck/core with exact geometry or the published
formula (One Euro, first-order low-pass, Butterworth magnitude), so that a mutant of the code
that changes what the docstring promises fails here. Pure numpy, no pose model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.core import kinematics as K
from formcheck.core import landmarks as L
from formcheck.core.types import PoseFrame


def polar(deg_from_up: float, length: float = 1.0) -> np.ndarray:
    """An image vector ``deg_from_up`` degrees clockwise on screen from image-up (y down)."""
    r = math.radians(deg_from_up)
    return np.array([math.sin(r), -math.cos(r)]) * length


# --- angles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("deg", [-170.0, -90.0, -12.5, 0.0, 33.0, 90.0, 179.0])
def test_signed_angle_is_clockwise_on_screen_and_rotate_inverts_it(deg):
    for a in ([3.0, 0.0], [0.0, -2.0], [-1.0, 1.0]):
        b = K.rotate_deg(np.array(a), deg)
        assert float(K.signed_angle_deg(a, b)) == pytest.approx(deg, abs=1e-9)
        assert np.linalg.norm(b) == pytest.approx(np.linalg.norm(a), rel=1e-12)
    # image-up to image-right is a clockwise quarter turn on screen (y down)
    assert float(K.signed_angle_deg([0, -1], [1, 0])) == pytest.approx(90.0, abs=1e-12)
    assert K.rotate_deg(np.array([1.0, 0.0]), 90.0) == pytest.approx(np.array([0.0, 1.0]), abs=1e-12)


def test_signed_angle_and_rotate_work_on_arrays():
    a = np.array([[1.0, 0.0], [0.0, -1.0], [2.0, 2.0]])
    degs = np.array([10.0, -45.0, 120.0])
    b = np.array([K.rotate_deg(v, d) for v, d in zip(a, degs)])
    assert K.signed_angle_deg(a, b) == pytest.approx(degs, abs=1e-9)
    assert K.rotate_deg(a, 30.0) == pytest.approx(np.array([K.rotate_deg(v, 30.0) for v in a]))


@pytest.mark.parametrize("theta", [30.0, 90.0, 135.0, 180.0])
def test_hip_angle_is_unsigned_zero_to_180(theta):
    hip = np.array([200.0, 300.0])
    knee = hip + polar(90.0, 120.0)  # thigh toward +x
    for sign in (1, -1):  # the shoulder on either side of the thigh gives the same θ
        shoulder = hip + polar(90.0 - sign * theta, 150.0)
        assert float(K.hip_angle_deg(shoulder, hip, knee)) == pytest.approx(theta, abs=1e-9)


@pytest.mark.parametrize("lean", [-25.0, -5.0, 0.0, 8.0, 30.0])
def test_seated_extension_sign_comes_from_the_body_not_the_image(lean):
    """seated: e = angle of hip→shoulder from image-up, negative toward the front."""
    hip = np.array([320.0, 400.0])
    knee = hip + np.array([110.0, 5.0])
    # facing right (front toward +x): leaning forward (flexion, lean < 0) moves the shoulder +x
    sh = hip + polar(-lean, 180.0)
    assert float(K.extension_deg(K.SEATED, 1.0, sh, hip, knee)) == pytest.approx(lean, abs=1e-9)
    # the same body mirrored (facing left) gives the same e
    m = lambda p: np.array([640.0 - p[0], p[1]])  # noqa: E731
    assert float(K.extension_deg(K.SEATED, -1.0, m(sh), m(hip), m(knee))) == pytest.approx(
        lean, abs=1e-9)


@pytest.mark.parametrize("thigh_tilt", [0.0, 12.0, -20.0])
@pytest.mark.parametrize("lift", [-15.0, 0.0, 10.0, 40.0])
def test_prone_extension_from_the_thigh_line_positive_away_from_the_floor(lift, thigh_tilt):
    """prone: e = angle of hip→shoulder from the thigh line extended, negative toward the floor."""
    hip = np.array([300.0, 400.0])
    along = polar(90.0 - thigh_tilt)  # knee→hip direction, head toward +x, tilted head-up
    knee = hip - 150.0 * along
    # "away from the floor" = counter-clockwise on screen for a head-right body (y down)
    sh = hip + 160.0 * K.rotate_deg(along, -lift)
    assert float(K.extension_deg(K.PRONE, 1.0, sh, hip, knee)) == pytest.approx(lift, abs=1e-9)
    # mirrored body, and front_sign does not matter for prone
    m = lambda p: np.array([640.0 - p[0], p[1]])  # noqa: E731
    for fs in (1.0, -1.0):
        assert float(K.extension_deg(K.PRONE, fs, m(sh), m(hip), m(knee))) == pytest.approx(
            lift, abs=1e-9)


def test_prone_extension_with_a_vertical_thigh_keeps_the_angle_magnitude():
    hip = np.array([300.0, 400.0])
    knee = hip + np.array([0.0, -150.0])  # thigh hanging straight down: gravity gives no side
    sh = hip + 160.0 * K.rotate_deg(np.array([0.0, 1.0]), 25.0)
    assert abs(float(K.extension_deg(K.PRONE, 1.0, sh, hip, knee))) == pytest.approx(25.0, abs=1e-9)


def test_extension_on_arrays_and_unknown_profile():
    hip = np.zeros((3, 2))
    sh = np.array([polar(-a, 100.0) for a in (-10.0, 0.0, 20.0)])
    knee = np.array([[100.0, 0.0]] * 3)
    assert K.extension_deg(K.SEATED, 1.0, sh, hip, knee) == pytest.approx([-10.0, 0.0, 20.0])
    with pytest.raises(ValueError, match="expected 'seated' or 'prone', got 'auto'"):
        K.extension_deg("auto", 1.0, sh[0], hip[0], knee[0])


@pytest.mark.parametrize("front", [1.0, -1.0])
def test_neck_angle_grows_by_the_head_tilt_back(front):
    hip = np.array([300.0, 400.0])
    sh = hip + np.array([0.0, -180.0])
    ear = sh + np.array([0.0, -40.0])
    fwd = np.array([front, 0.0])  # the face looks toward the front
    base = float(K.neck_angle_deg(front, sh, hip, ear, ear + 20.0 * fwd))
    # chin up = the ear→nose line turns toward the back (up on screen, then backwards)
    for tilt in (5.0, 15.0, -10.0):
        nose = ear + 20.0 * K.rotate_deg(fwd, -front * tilt)
        got = float(K.neck_angle_deg(front, sh, hip, ear, nose))
        assert got - base == pytest.approx(tilt, abs=1e-9)
    assert base == pytest.approx(-90.0, abs=1e-9)  # face perpendicular to an upright trunk


# --- body from a frame -------------------------------------------------------------------


def frame_with(points: dict[int, tuple[float, float]], vis: dict[int, float] | None = None,
               world: np.ndarray | None = None) -> PoseFrame:
    xy = np.zeros((33, 2))
    v = np.ones(33)
    for i, p in points.items():
        xy[i] = p
    for i, x in (vis or {}).items():
        v[i] = x
    return PoseFrame(0.5, xy, v, None, world, (640, 480))


def test_body_joints_are_visibility_weighted_means_of_left_and_right():
    pts = {L.LEFT_SHOULDER: (100.0, 50.0), L.RIGHT_SHOULDER: (130.0, 90.0),
           L.LEFT_HIP: (110.0, 250.0), L.RIGHT_HIP: (150.0, 250.0),
           L.LEFT_KNEE: (200.0, 260.0), L.RIGHT_KNEE: (240.0, 270.0),
           L.NOSE: (140.0, 20.0)}
    # shoulders equally visible: the midpoint; left hip unseen: the right hip; knees: between
    vis = {L.LEFT_SHOULDER: 0.8, L.RIGHT_SHOULDER: 0.8, L.LEFT_HIP: 0.0, L.RIGHT_HIP: 0.9,
           L.LEFT_KNEE: 0.9, L.RIGHT_KNEE: 0.3, L.NOSE: 0.7}
    world = np.arange(99, dtype=float).reshape(33, 3)
    b = K.body_from_frame(frame_with(pts, vis, world))
    assert b.shoulder == pytest.approx([115.0, 70.0])
    assert b.hip == pytest.approx([150.0, 250.0], abs=0.01)
    assert 200.0 < b.knee[0] < 220.0 and 260.0 < b.knee[1] < 265.0  # nearer the more visible
    assert b.visibility["shoulder"] == 0.8 and b.visibility["hip"] == 0.9
    assert b.visibility["knee"] == 0.9 and b.visibility["nose"] == 0.7
    assert b.nose == pytest.approx([140.0, 20.0])
    assert b.shoulder_width_px == pytest.approx(50.0)
    assert b.world is not None and b.world[5, 1] == 16.0
    # both sides unseen: still a finite midpoint, visibility 0
    b0 = K.body_from_frame(frame_with(pts, {L.LEFT_HIP: 0.0, L.RIGHT_HIP: 0.0}))
    assert b0.hip == pytest.approx([130.0, 250.0]) and b0.visibility["hip"] == 0.0


# --- the view decision ----------------------------------------------------------------------


def body(knee_deg: float = 90.0, thigh_deg: float = 90.0, facing: float = 1.0, *,
         knee_vis: float = 1.0, ankle_vis: float = 1.0, face_vis: float = 1.0,
         foot_vis: float = 1.0, trunk_deg: float = 0.0, shoulder_width: float = 30.0,
         x0: float = 320.0) -> K.Body:
    """A side-view body: thigh ``thigh_deg`` from image-up toward the front, knee angle
    ``knee_deg`` (180 = straight leg), trunk ``trunk_deg`` from image-up toward the front;
    ``facing`` +1 = front toward +x; a negative ``thigh_deg`` points the legs backwards (prone).
    Torso 150 px."""
    f = facing
    mx = lambda v: np.array([f * v[0], v[1]])  # noqa: E731
    hip = np.array([x0, 300.0])
    thigh = polar(thigh_deg, 120.0)  # hip→knee
    knee = hip + mx(thigh)
    shank = K.rotate_deg(-thigh, -knee_deg) / 120.0 * 110.0  # knee→ankle
    ankle = knee + mx(shank)
    shoulder = hip + mx(polar(trunk_deg, 150.0))
    ear = shoulder + mx(np.array([0.0, -30.0]))
    vis = {"shoulder": 1.0, "hip": 1.0, "knee": knee_vis, "ankle": ankle_vis,
           "ear": face_vis, "nose": face_vis, "heel": foot_vis, "toe": foot_vis}
    return K.Body(shoulder=shoulder, hip=hip, knee=knee, ankle=ankle, ear=ear,
                  nose=ear + mx(np.array([15.0, 3.0])), heel=ankle + mx(np.array([-5.0, 8.0])),
                  toe=ankle + mx(np.array([25.0, 8.0])), visibility=vis,
                  shoulder_width_px=shoulder_width)


def test_body_helper_has_the_asked_knee_and_thigh_angles():
    b = body(knee_deg=100.0, thigh_deg=80.0, facing=-1.0)
    assert float(K.hip_angle_deg(b.hip, b.knee, b.ankle)) == pytest.approx(100.0, abs=1e-9)
    assert abs(float(K.signed_angle_deg(K.UP, b.knee - b.hip))) == pytest.approx(80.0, abs=1e-9)


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_view_seated_machine_knee_bent(facing):
    v = K.decide_view([body(95.0, 85.0, facing) for _ in range(6)], "auto", frontal_ratio=0.5)
    assert v.profile == K.SEATED and v.front_sign == facing
    assert v.facing == ("right" if facing > 0 else "left")
    assert v.knee_angle_deg == pytest.approx(95.0, abs=1e-9)
    # leg_from_vertical is the angle of the ankle→hip line from image-up
    b = body(95.0, 85.0, facing)
    leg = np.degrees(np.arctan2(abs(b.hip[0] - b.ankle[0]), b.ankle[1] - b.hip[1]))
    assert v.leg_from_vertical_deg == pytest.approx(leg, abs=1e-9)
    assert v.shoulder_ratio == pytest.approx(30.0 / 150.0) and v.frontal is False


@pytest.mark.parametrize("knee, want", [(134.5, K.SEATED), (135.5, K.PRONE)])
def test_view_knee_bent_boundary_with_the_default_threshold(knee, want):
    # thigh 100° from image-up toward the front, 80° from vertical: not a standing hinge
    v = K.decide_view([body(knee, 100.0) for _ in range(4)], "auto", 0.5)
    assert v.profile == want and v.knee_angle_deg == pytest.approx(knee, abs=1e-9)


@pytest.mark.parametrize("leg_from_vertical, want", [(24.5, K.SEATED), (25.5, K.PRONE)])
def test_view_standing_hinge_boundary(leg_from_vertical, want):
    # straight legs, the ankle→hip line ``leg_from_vertical`` from image-up (a standing hinge)
    v = K.decide_view([body(180.0, 180.0 - leg_from_vertical) for _ in range(4)], "auto", 0.5)
    assert v.leg_from_vertical_deg == pytest.approx(leg_from_vertical, abs=1e-9)
    assert v.profile == want


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_view_standing_hinge_is_the_whole_leg_not_the_thigh(facing):
    # knees bent to 140° (not a seat) with the thigh 35° from vertical but the foot under the
    # hip: a standing hinge (seated meaning); the same thigh on a straight leg is a 45° bench
    bent = body(140.0, 145.0, facing)
    leg = np.degrees(np.arctan2(abs(bent.hip[0] - bent.ankle[0]), bent.ankle[1] - bent.hip[1]))
    assert leg < 25.0
    assert K.decide_view([bent] * 4, "auto", 0.5).profile == K.SEATED
    assert K.decide_view([body(180.0, 145.0, facing)] * 4, "auto", 0.5).profile == K.PRONE


def test_view_thresholds_are_arguments():
    bodies = [body(120.0, 100.0) for _ in range(4)]
    assert K.decide_view(bodies, "auto", 0.5).profile == K.SEATED
    assert K.decide_view(bodies, "auto", 0.5, knee_bent_deg=110.0).profile == K.PRONE
    hinge = [body(180.0, 160.0) for _ in range(4)]  # 20° from vertical
    assert K.decide_view(hinge, "auto", 0.5).profile == K.SEATED
    assert K.decide_view(hinge, "auto", 0.5, leg_upright_deg=15.0).profile == K.PRONE


def test_view_knees_hidden_by_the_pad_give_seated_and_no_leg_angles():
    straight = [body(175.0, 95.0, knee_vis=0.2) for _ in range(9)]
    v = K.decide_view(straight, "auto", 0.5)
    assert v.profile == K.SEATED and math.isnan(v.knee_angle_deg)
    assert math.isnan(v.leg_from_vertical_deg)
    # the ankle counts too; visibility exactly at min_visibility counts as seen
    assert K.decide_view([body(175.0, 95.0, ankle_vis=0.4)] * 9, "auto", 0.5).profile == K.SEATED
    assert K.decide_view([body(175.0, 95.0, knee_vis=0.5)] * 9, "auto", 0.5).profile == K.PRONE
    assert K.decide_view([body(175.0, 95.0, knee_vis=0.6)] * 9, "auto", 0.5,
                         min_visibility=0.7).profile == K.SEATED
    # legs seen in only two frames of two are not enough to call it prone
    assert K.decide_view([body(175.0, 95.0)] * 2, "auto", 0.5).profile == K.SEATED


def test_view_legs_seen_in_most_frames_are_used():
    seen = [body(175.0, 95.0) for _ in range(8)]
    hidden = [body(175.0, 95.0, knee_vis=0.1) for _ in range(4)]
    v = K.decide_view(seen + hidden, "auto", 0.5)
    assert v.profile == K.PRONE and v.knee_angle_deg == pytest.approx(175.0, abs=1e-9)
    v = K.decide_view(seen[:2] + hidden * 2, "auto", 0.5)
    assert v.profile == K.SEATED and math.isnan(v.knee_angle_deg)


@pytest.mark.parametrize("requested", [K.SEATED, K.PRONE])
def test_view_requested_profile_is_kept(requested):
    for b in (body(90.0, 90.0), body(178.0, 95.0), body(178.0, 95.0, knee_vis=0.0)):
        assert K.decide_view([b] * 4, requested, 0.5).profile == requested


def test_view_frontal_ratio_is_the_median_shoulder_width_over_torso():
    bodies = [body(shoulder_width=w) for w in (60.0, 90.0, 120.0, 200.0, 75.0)]
    v = K.decide_view(bodies, "auto", frontal_ratio=0.55)
    assert v.shoulder_ratio == pytest.approx(90.0 / 150.0) and v.frontal is True
    assert K.decide_view(bodies, "auto", frontal_ratio=0.6).frontal is False  # not above


def test_view_needs_bodies():
    with pytest.raises(ValueError, match="^decide_view: expected at least one body, got none$"):
        K.decide_view([], "auto", 0.5)


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_facing_votes_seated_knees_alone(facing):
    """Face and feet unseen: the bent knees (in front of the hip on a seat) give the facing."""
    for x0 in (320.0, 1000.0):  # anywhere in the image
        b = body(95.0, 85.0, facing, face_vis=0.0, foot_vis=0.0, x0=x0)
        assert K.decide_view([b] * 4, "auto", 0.5).front_sign == facing
    # with the knees unseen too there is no vote at all: facing right by default
    b = body(95.0, 85.0, facing, face_vis=0.0, foot_vis=0.0, knee_vis=0.0)
    assert K.decide_view([b] * 4, "seated", 0.5).front_sign == 1.0


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_facing_votes_face_and_toes_weighted_by_visibility(facing):
    # prone-like straight legs, knees hidden (no knee vote), trunk upright: face and toes vote
    face = body(178.0, 95.0, facing, foot_vis=0.0, knee_vis=0.0)
    toes = body(178.0, 95.0, facing, face_vis=0.0, knee_vis=0.0)
    assert K.decide_view([face] * 4, "seated", 0.5).front_sign == facing
    assert K.decide_view([toes] * 4, "seated", 0.5).front_sign == facing
    # a well-seen face outvotes feet pointing the other way that are barely seen
    other = body(178.0, 95.0, -facing, face_vis=0.0, foot_vis=0.05, knee_vis=0.0)
    seen = body(178.0, 95.0, facing, foot_vis=0.0, knee_vis=0.0)
    assert K.decide_view([seen, other, seen, other], "seated", 0.5).front_sign == facing


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_facing_prone_the_head_end_is_the_front(facing):
    # lying prone, head toward ``facing``: trunk 80° from image-up, legs backwards
    b = body(178.0, -95.0, facing, trunk_deg=80.0, face_vis=0.0, foot_vis=0.0)
    v = K.decide_view([b] * 4, "auto", 0.5)
    assert v.profile == K.PRONE and v.front_sign == facing
    # the knee vote belongs to a bent seated knee only: a prone knee does not vote
    assert K.decide_view([b] * 4, "seated", 0.5).front_sign == 1.0


# --- prone angle from the world landmarks ---------------------------------------------------


def prone_world(lift_deg: float, lateral: float = 0.0, turn_deg: float = 25.0) -> np.ndarray:
    """World landmarks (metres, y down) of a prone body with the trunk raised ``lift_deg`` above
    the leg line; the body lies turned ``turn_deg`` about the vertical (head along (cos, 0, sin)),
    its hips off the origin; ``lateral`` moves the shoulders and knees along the hip axis."""
    r = math.radians(turn_deg)
    head = np.array([math.cos(r), 0.0, math.sin(r)])  # head-ward, horizontal
    down = np.array([0.0, 1.0, 0.0])
    left = np.cross(head, down)  # the body's left (right-handed: left = up x front, front = down)
    hip = np.array([0.3, -0.2, 1.7])
    w = np.zeros((33, 3))
    w[L.LEFT_HIP], w[L.RIGHT_HIP] = hip + 0.15 * left, hip - 0.15 * left
    kn = hip - 0.45 * head - 0.5 * lateral * left
    w[L.LEFT_KNEE], w[L.RIGHT_KNEE] = kn + 0.12 * left, kn - 0.12 * left
    a = math.radians(lift_deg)
    sh = hip + 0.5 * (math.cos(a) * head - math.sin(a) * down) + lateral * left
    w[L.LEFT_SHOULDER], w[L.RIGHT_SHOULDER] = sh + 0.2 * left, sh - 0.2 * left
    return w


@pytest.mark.parametrize("lift", [-20.0, 0.0, 12.0, 35.0])
def test_world_prone_extension_positive_above_the_leg_line(lift):
    for turn in (0.0, 25.0, 180.0):
        w = prone_world(lift, turn_deg=turn)
        assert K.world_prone_extension_deg(w) == pytest.approx(lift, abs=1e-9)
        # shoulders and knees shifted sideways: off the sagittal plane, it does not count
        w = prone_world(lift, lateral=0.1, turn_deg=turn)
        assert K.world_prone_extension_deg(w) == pytest.approx(lift, abs=1e-9)
        assert K.world_prone_extension_deg(w.tolist()) == pytest.approx(lift, abs=1e-9)


def test_world_prone_thigh_override_and_degenerate_hips():
    w = prone_world(10.0, lateral=0.05, turn_deg=0.0)
    # the fixed thigh of the set, 5° head-down from the horizontal leg line: e reads 15°;
    # its component along the hip axis (the body's left) is dropped
    r = math.radians(5.0)
    left = np.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    thigh = [math.cos(r), math.sin(r), 0.0] + 0.3 * left
    assert K.world_prone_extension_deg(w, thigh) == pytest.approx(15.0, abs=1e-9)
    assert K.world_prone_extension_deg(w, tuple(thigh)) == pytest.approx(15.0, abs=1e-9)
    w[L.RIGHT_HIP] = w[L.LEFT_HIP] + 5e-7  # hips on top of each other: no sagittal plane
    assert math.isnan(K.world_prone_extension_deg(w))
    w[L.RIGHT_HIP] = w[L.LEFT_HIP] + 2e-6  # 2 µm apart is still a (tiny) axis
    assert not math.isnan(K.world_prone_extension_deg(w))


# --- filters --------------------------------------------------------------------------------


def one_euro_reference(ts, xs, min_cutoff, beta, d_cutoff):
    """Casiez et al. 2012: exponential smoothing with alpha = 1 / (1 + tau / dt),
    tau = 1 / (2 pi f_c), f_c = min_cutoff + beta * |filtered speed|."""
    alpha = lambda fc, dt: 1.0 / (1.0 + 1.0 / (2 * math.pi * fc * dt))  # noqa: E731
    out, x_hat, dx_hat = [xs[0]], xs[0], 0.0
    for i in range(1, len(xs)):
        dt = ts[i] - ts[i - 1]
        dx = (xs[i] - x_hat) / dt
        dx_hat = dx_hat + alpha(d_cutoff, dt) * (dx - dx_hat)
        a = alpha(min_cutoff + beta * abs(dx_hat), dt)
        x_hat = x_hat + a * (xs[i] - x_hat)
        out.append(x_hat)
    return np.array(out)


@pytest.mark.parametrize("beta, d_cutoff", [(0.0, 1.0), (0.05, 1.0), (0.3, 2.5)])
def test_one_euro_matches_the_published_filter_with_real_time_steps(beta, d_cutoff):
    rng = np.random.default_rng(3)
    ts = np.cumsum(rng.uniform(1 / 60, 1 / 20, 40))  # variable frame rate
    xs = 30.0 * np.sin(ts * 3.0) + rng.normal(0, 2.0, ts.size)
    f = K.OneEuroFilter(1.2, beta, d_cutoff)
    got = np.array([f(t, x) for t, x in zip(ts, xs)])
    assert got == pytest.approx(one_euro_reference(ts, xs, 1.2, beta, d_cutoff), abs=1e-9)


def test_one_euro_defaults_repeats_and_reset():
    f = K.OneEuroFilter(1.0, 0.1)  # d_cutoff 1 Hz by default
    assert f(2.0, 10.0) == 10.0  # the first sample passes through
    y1 = f(2.1, 20.0)
    assert y1 == pytest.approx(one_euro_reference([2.0, 2.1], [10.0, 20.0], 1.0, 0.1, 1.0)[1])
    assert f(2.1, 500.0) == y1 and f(2.05, -500.0) == y1  # no time step: the last output
    ref = one_euro_reference([2.0, 2.1, 2.2], [10.0, 20.0, 25.0], 1.0, 0.1, 1.0)
    assert f(2.2, 25.0) == pytest.approx(ref[2], abs=1e-12)
    f.reset()
    assert f(9.0, -3.0) == -3.0
    assert f(9.1, -3.0) == -3.0
    with pytest.raises(ValueError, match="min_cutoff_hz: expected > 0, got 0"):
        K.OneEuroFilter(0, 0.1)


def test_low_pass_first_order_step_with_real_time_steps():
    lp = K.LowPass(2.0)
    assert lp(1.0, 5.0) == 5.0
    y, prev = 5.0, 1.0
    for t in (1.05, 1.15, 1.17):
        dt, prev = t - prev, t
        a = 1.0 / (1.0 + 1.0 / (2 * math.pi * 2.0 * dt))
        y = y + a * (15.0 - y)
        assert lp(t, 15.0) == pytest.approx(y, abs=1e-12)
    assert lp(1.17, 99.0) == pytest.approx(y, abs=1e-12)  # a repeated time keeps the output
    lp.reset()
    assert lp(3.0, -2.0) == -2.0


def butter_gain(f_hz, fc_hz, fs_hz):
    """|H|² of a bilinear (pre-warped) 2nd-order Butterworth: the zero-phase (forward-backward)
    magnitude."""
    return 1.0 / (1.0 + (math.tan(math.pi * f_hz / fs_hz) / math.tan(math.pi * fc_hz / fs_hz)) ** 4)


@pytest.mark.parametrize("f_hz, fc_hz", [(0.5, 2.0), (2.0, 2.0), (4.0, 2.0), (7.5, 20.0), (7.5, 100.0)])
def test_butterworth_zero_phase_gain_and_no_lag(f_hz, fc_hz):
    fs = 30.0
    t = np.arange(600) / fs
    x = np.sin(2 * math.pi * f_hz * t + 0.3)
    y = K.butterworth_zero_phase(t, x, fc_hz)
    g = butter_gain(f_hz, min(fc_hz, 0.45 * fs), fs)  # the cut-off is capped at 0.45 fs
    mid = slice(200, 400)  # away from the ends: no phase shift, exact gain
    assert y[mid] == pytest.approx(g * x[mid], abs=2e-4)


def test_butterworth_keeps_constants_and_lines_to_the_ends():
    t = np.arange(90) / 30.0
    assert K.butterworth_zero_phase(t, np.full(90, 7.5), 2.0) == pytest.approx(7.5, abs=1e-12)
    line = 3.0 - 12.0 * t  # 0.4 per sample
    y = K.butterworth_zero_phase(t, line, 2.0)
    # the odd extension at both ends continues the line: no end effect beyond a few 1e-3
    assert y == pytest.approx(line, abs=5e-3)
    assert y[20:70] == pytest.approx(line[20:70], abs=5e-5)


def test_butterworth_nan_gaps_short_runs_and_short_input():
    t = np.arange(40) / 30.0
    x = np.sin(2 * math.pi * 6.0 * t)  # above a 1.5 Hz cut-off
    x[10] = np.nan
    x[15] = np.nan  # a 4-sample run between the gaps
    y = K.butterworth_zero_phase(t, x, 1.5)
    assert np.isnan(y[10]) and np.isnan(y[15])
    assert y[11:15] == pytest.approx(x[11:15], abs=0)  # too short to filter: left as measured
    assert np.all(np.abs(y[20:35]) < 0.3)  # long runs are filtered
    ref = x.copy()
    ref[16:] = K.butterworth_zero_phase(t[16:], x[16:], 1.5)
    assert y[16:] == pytest.approx(ref[16:], abs=1e-12)  # runs are filtered independently
    assert K.butterworth_zero_phase(t[:3], x[:3], 1.5) == pytest.approx(x[:3])
    assert K.butterworth_zero_phase(np.zeros(10), x[:10], 1.5) == pytest.approx(x[:10])
    assert np.isnan(K.butterworth_zero_phase(t[:6], np.full(6, np.nan), 1.5)).all()
    seven = x[20:27].copy()
    assert not np.allclose(K.butterworth_zero_phase(t[:7], seven, 1.5), seven)


# --- following the exerciser ----------------------------------------------------------------


def person(hip_x: float, torso: float = 150.0, leg_x: float = 0.0, t: float = 0.0) -> PoseFrame:
    """A side-on person with the hip at (hip_x, 300) px and a torso ``torso`` px long."""
    pts = {}
    for lft, rgt, p in ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER, (hip_x, 300.0 - torso)),
                        (L.LEFT_HIP, L.RIGHT_HIP, (hip_x, 300.0)),
                        (L.LEFT_KNEE, L.RIGHT_KNEE, (hip_x + 100.0 + leg_x, 300.0)),
                        (L.LEFT_ANKLE, L.RIGHT_ANKLE, (hip_x + 100.0 + leg_x, 400.0))):
        pts[lft], pts[rgt] = p, p
    f = frame_with(pts)
    return PoseFrame(t, f.xy, f.visibility, None, None, f.image_wh)


def test_track_continues_the_nearest_hip_then_the_largest_without_a_track():
    from formcheck.core.tracking import ExerciserTrack

    tr = ExerciserTrack()
    assert tr.pick(0.0, []) is None
    small, big = person(500.0, torso=100.0), person(100.0, torso=160.0)
    assert tr.pick(0.0, [small, big]) is big  # no track yet: the largest person
    assert tr.same_person(10.0, K.body_from_frame(small))  # the track starts on the first body
    assert tr.track[0] == pytest.approx([500.0, 300.0]) and tr.track[1:] == (100.0, 10.0)
    near = person(530.0, torso=100.0)
    assert tr.pick(10.5, [big, near]) is near  # the track: nearest hip, whatever the size
    assert tr.pick(11.0, [big, near]) is near  # still kept at exactly KEEP_S
    assert tr.pick(11.01, [near, big]) is big  # lost longer than KEEP_S: the largest again


@pytest.mark.parametrize("dx, torso, t, same", [
    (89.0, 150.0, 0.5, True), (91.0, 150.0, 0.5, False),  # JUMP 0.6 torso lengths = 90 px
    (0.0, 239.0, 0.5, True), (0.0, 241.0, 0.5, False),  # SCALE 1.6 longer = 240 px
    (0.0, 94.0, 0.5, True), (0.0, 93.0, 0.5, False),  # or shorter: 150 / 1.6 = 93.75 px
    (300.0, 60.0, 1.0, False), (300.0, 60.0, 1.05, True),  # not seen for > KEEP_S: taken up
])
def test_same_person_jump_scale_and_keep_limits(dx, torso, t, same):
    from formcheck.core.tracking import ExerciserTrack

    tr = ExerciserTrack()
    t0 = 10.0  # the track starts at 10 s: limits count from when it was last seen
    assert tr.same_person(t0, K.body_from_frame(person(200.0)))
    other = K.body_from_frame(person(200.0 + dx, torso=torso))
    assert tr.same_person(t0 + t, other) is same
    # a refused body leaves the track as it was; an accepted one moves it
    want = (200.0 + dx, torso, t0 + t) if same else (200.0, 150.0, t0)
    assert tr.track[0] == pytest.approx([want[0], 300.0]) and tr.track[1:] == pytest.approx(want[1:])


def leaning(hip_x: float, lean_deg: float, torso: float = 150.0) -> PoseFrame:
    """``person`` with the trunk turned ``lean_deg`` clockwise on screen from upright, about the hip."""
    f = person(hip_x, torso=torso)
    a = np.radians(lean_deg)
    xy = f.xy.copy()
    for j in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER):
        xy[j] = (hip_x + torso * np.sin(a), 300.0 - torso * np.cos(a))
    return PoseFrame(f.t_s, xy, f.visibility, None, None, f.image_wh)


@pytest.mark.parametrize("lean, dt, same", [
    (29.0, 0.0, True), (31.0, 0.0, False),  # TURN_DEG 30 between two frames at the same time
    (49.0, 0.05, True), (51.0, 0.05, False),  # + TURN_DPS 400 deg/s x 0.05 s = 50 deg
    (-49.0, 0.05, True), (-51.0, 0.05, False),  # either way round
    (120.0, 1.01, True),  # not seen for longer than KEEP_S: anyone may take the track up
])
def test_same_person_refuses_a_trunk_turned_faster_than_a_lift(lean, dt, same):
    from formcheck.core.tracking import ExerciserTrack

    tr = ExerciserTrack()
    assert tr.same_person(10.0, K.body_from_frame(leaning(200.0, 80.0)))  # leaning far forward
    assert tr.trunk_dir == pytest.approx([np.sin(np.radians(80.0)), -np.cos(np.radians(80.0))])
    other = K.body_from_frame(leaning(200.0, 80.0 + lean))  # the same hip: only the trunk differs
    assert tr.continues(10.0 + dt, other) is same
    assert tr.same_person(10.0 + dt, other) is same
    assert tr.track[2] == (10.0 + dt if same else 10.0)


def test_pick_skips_a_passer_by_whose_hip_is_nearer():
    """A standing passer-by crossing a lying exerciser: the nearer hip is not taken when its
    trunk is upright and the exerciser's is level."""
    from formcheck.core.tracking import ExerciserTrack

    tr = ExerciserTrack()
    lying = leaning(200.0, 90.0)
    assert tr.same_person(0.0, K.body_from_frame(lying))
    passer, exerciser = leaning(201.0, 0.0), leaning(230.0, 95.0)
    assert tr.pick(0.033, [passer, exerciser]) is exerciser
    assert tr.pick(0.033, [passer]) is passer  # nobody fits: the nearest, which same_person refuses
    assert not tr.same_person(0.033, K.body_from_frame(passer))
    # among bodies that fit, the hip nearest the track's (200 px): 15 px beats 30 px either side
    near, far = leaning(215.0, 92.0), leaning(170.0, 88.0)
    assert tr.pick(0.033, [far, near]) is near and tr.pick(0.033, [near, far]) is near


def test_same_person_refuses_a_collapsed_torso():
    from formcheck.core.tracking import ExerciserTrack

    tr = ExerciserTrack()
    assert not tr.same_person(0.0, K.body_from_frame(person(200.0, torso=0.0)))
    assert tr.track is None


# --- frame decimation -----------------------------------------------------------------------


def kept(dec, ts):
    out = []
    for t in ts:
        if dec.wants(t):
            dec.taken(t)
            out.append(round(t, 6))
    return out


def test_decimator_keeps_every_frame_at_zero_and_halves_60_to_30():
    from formcheck.core.sampling import FrameDecimator

    ts = [k / 60.0 for k in range(12)]
    assert kept(FrameDecimator(0, 60.0), ts) == [round(t, 6) for t in ts]
    assert kept(FrameDecimator(30.0, 60.0), ts) == [round(k / 60.0, 6) for k in range(0, 12, 2)]
    # jitter of a few ms around the exact divisor does not drop every other frame
    jit = [t + (0.003 if k % 2 else -0.003) for k, t in enumerate(ts)]
    assert len(kept(FrameDecimator(30.0, 60.0), jit)) == 6
    # the slack is a quarter of the nominal interval (unknown rate: 30 fps)
    assert FrameDecimator(10.0, 0.0).slack == pytest.approx(0.25 / 30.0)
    assert FrameDecimator(10.0, 50.0).slack == pytest.approx(0.005)
    assert FrameDecimator(10.0, 50.0).min_dt == pytest.approx(0.1)
    assert FrameDecimator(10.0, 0.5).slack == pytest.approx(0.5)  # a slow known rate is kept
    # below 1 Hz is still a rate: one frame every 2 s
    assert kept(FrameDecimator(0.5, 30.0), [k / 30.0 for k in range(150)]) == [0.0, 2.0, 4.0]


def test_decimator_boundary_and_bad_rates():
    from formcheck.core.sampling import FrameDecimator

    d = FrameDecimator(10.0, 40.0)  # min_dt 0.1 s, slack 1/160 s
    assert d.wants(-5.0)  # nothing kept yet
    d.taken(1.0)
    assert not d.wants(1.0 + 0.1 - 1 / 160 - 1e-9)
    assert d.wants(1.0 + 0.1 - 1 / 160 + 1e-9)
    d = FrameDecimator(4.0, 8.0)  # 1/4 s minus 1/32 s, exact in binary: "at least" is inclusive
    d.taken(1.0)
    assert d.wants(1.21875) and not d.wants(1.2187499)
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="max_fps: expected a finite rate >= 0 Hz"):
            FrameDecimator(bad, 30.0)


# --- records and events ---------------------------------------------------------------------


def test_pose_frame_checks_shapes_and_time_and_mirrors():
    xy = np.arange(66, dtype=float).reshape(33, 2)
    f = PoseFrame(1.5, xy.tolist(), [0.5] * 33, list(range(33)), np.zeros((33, 3)), (640, 480))
    assert f.xy.dtype == np.float64 and f.visibility.dtype == np.float64
    assert f.z.shape == (33,) and f.world.shape == (33, 3)
    m = f.mirrored()
    assert m.xy[:, 0] == pytest.approx(640.0 - xy[:, 0]) and m.xy[:, 1] == pytest.approx(xy[:, 1])
    assert m.t_s == 1.5 and m.image_wh == (640, 480) and m.visibility == pytest.approx(f.visibility)
    assert m.z == pytest.approx(f.z) and m.world == pytest.approx(f.world)
    assert f.xy[3, 0] == 6.0  # the original is untouched
    with pytest.raises(ValueError, match=r"xy: expected shape \(33, 2\), got \(32, 2\)"):
        PoseFrame(0.0, xy[:32], np.ones(33))
    with pytest.raises(ValueError, match=r"visibility: expected shape \(33,\), got \(33, 1\)"):
        PoseFrame(0.0, xy, np.ones((33, 1)))
    with pytest.raises(ValueError, match="t_s: expected a finite time in seconds, got nan"):
        PoseFrame(math.nan, xy, np.ones(33))
    with pytest.raises(ValueError, match=r"world: expected shape \(33, 3\), got \(33, 2\)"):
        PoseFrame(0.0, xy, np.ones(33), None, np.zeros((33, 2)))


def test_rep_score_range_and_dicts():
    from formcheck.core.types import Fault, Rep

    major = Fault("hyperextension", 1.23456, 17.66666, 15.0, "deg", "major", "Stop at neutral.",
                  "guide")
    minor = Fault("neck_crank", 2.0, 22.0, 20, "deg", "minor", "Chin tucked.")
    kw = dict(index=2, counted=True, t_start=1.00049, t_bottom=2.0, t_top=3.0, t_end=3.5,
              depth_deg=-38.12345, peak_extension_deg=4.5, lowering_s=1.0, lifting_s=1.0,
              top_hold_s=0.5, peak_lift_velocity_dps=80.0, peak_lower_velocity_dps=-70.0,
              hip_shift_frac=0.05, neck_extension_deg=3.0)
    assert Rep(**kw).score == 100.0
    assert Rep(**kw, faults=(major,)).score == 65.0 and Rep(**kw, faults=(minor,)).score == 85.0
    assert Rep(**kw, faults=(major, major, major)).score == 0.0  # never below zero
    r = Rep(**kw, faults=(major, minor))
    assert r.score == 50.0 and r.range_of_motion_deg == pytest.approx(42.62345)
    d = r.to_dict()
    assert d["t_start"] == 1.0 and d["depth_deg"] == -38.123 and d["range_of_motion_deg"] == 42.623
    assert d["score"] == 50.0 and d["index"] == 2 and d["counted"] is True
    assert list(d) == ["index", "counted", "t_start", "t_bottom", "t_top", "t_end", "depth_deg",
                       "peak_extension_deg", "range_of_motion_deg", "lowering_s", "lifting_s",
                       "top_hold_s", "peak_lift_velocity_dps", "peak_lower_velocity_dps",
                       "hip_shift_frac", "neck_extension_deg", "score", "faults", "untimed"]
    assert d["untimed"] == []
    assert d["faults"][0] == {"id": "hyperextension", "t": 1.235, "cue": "Stop at neutral.",
                              "value": 17.667, "threshold": 15.0, "unit": "deg",
                              "severity": "major", "source": "guide"}
    assert d["faults"][1]["source"] == "" and isinstance(d["faults"][1]["threshold"], float)


def test_events_are_typed_strings():
    from formcheck.core.events import ANALYSIS_KINDS, Event, EventKind, FaultId, Severity

    e = Event("rep_counted", 1.23456, "", {"count": 3})
    assert e.kind is EventKind.REP_COUNTED and e.kind == "rep_counted"
    assert e.to_dict() == {"event": "rep_counted", "t": 1.235, "message": "", "count": 3}
    assert str(Severity.MAJOR) == "major" and f"{FaultId.NECK_CRANK:>12}" == "  neck_crank"
    assert EventKind.CUE not in ANALYSIS_KINDS and EventKind.CALIBRATION in ANALYSIS_KINDS
    kinds = "armed, calibration, fault, partial, rep, rep_counted, tracking_lost, view, view_ok"
    with pytest.raises(ValueError, match=rf"expected an analysis kind \({kinds}\), got 'cue'"):
        Event("cue", 0.0)
    assert Event(EventKind.VIEW, 0.0).message == "" and Event(EventKind.VIEW, 0.0).data == {}


# --- neutral calibration --------------------------------------------------------------------


def test_calibration_hold_ends_at_exactly_duration_with_min_samples():
    from formcheck.core.calibration import NeutralCalibrator

    cal = NeutralCalibrator(duration_s=1.0, max_sd_deg=1.0, min_samples=3)
    cal.start(5.0)
    assert cal.message == "Calibrating: hold neutral still for 1 s"
    assert cal.update(5.0, 2.0) is None and cal.update(5.5, None) is None
    assert cal.update(5.99, 4.0) is None and cal.active
    res = cal.update(6.0, 3.0)  # 1.0 s after the start: the hold ends, this sample included
    assert res.ok and res.t == 6.0 and res.neutral_e_deg == pytest.approx(3.0)
    assert res.sd_deg == pytest.approx(math.sqrt(2 / 3)) and not cal.active
    assert cal.message == "Neutral reads e = +3.0 deg (sd 0.8)"
    assert cal.update(6.5, 3.0) is None  # over: inactive until started again
    # one sample short of min_samples is "not tracked"
    cal.start(10.0)
    assert cal.update(10.2, 1.0) is None and cal.update(10.4, math.inf) is None
    res = cal.update(11.0, 1.5)
    assert not res.ok and res.neutral_e_deg is None and res.sd_deg is None
    assert cal.message == ("Calibration failed: you were not tracked. Step into view and press "
                           "c again.")
    assert cal.neutral_e_deg == pytest.approx(3.0)  # the last good result is kept


def test_calibration_sd_limit_is_inclusive_and_start_forgets_old_samples():
    from formcheck.core.calibration import NeutralCalibrator

    cal = NeutralCalibrator(duration_s=0.5, max_sd_deg=2.0, min_samples=2)
    cal.start(0.0)
    cal.update(0.1, 100.0)
    cal.start(1.0)  # a new hold: the 100° sample is gone
    cal.update(1.1, -2.0)
    res = cal.update(1.5, 2.0)  # sd exactly 2.0
    assert res.ok and res.neutral_e_deg == 0.0 and res.sd_deg == 2.0
    cal.start(2.0)
    cal.update(2.1, -2.5)
    res = cal.update(2.5, 2.5)
    assert not res.ok and res.sd_deg == 2.5 and cal.neutral_e_deg == 0.0
    assert res.message == "Calibration: hold still (moved 2 deg). Press c again."
    d = res.to_dict(applied_offset_deg=0.0)
    assert d["neutral_e_deg"] == 0.0 and d["sd_deg"] == 2.5 and d["applied_offset_deg"] == 0.0
    assert list(d) == ["event", "t", "ok", "neutral_e_deg", "sd_deg", "message",
                       "applied_offset_deg"]
    assert NeutralCalibrator(max_sd_deg=0.0).max_sd_deg == 0.0  # zero is allowed
    with pytest.raises(ValueError, match="duration_s: expected > 0 seconds, got nan"):
        NeutralCalibrator(duration_s=math.nan)
    with pytest.raises(ValueError, match="max_sd_deg: expected >= 0 degrees, got nan"):
        NeutralCalibrator(max_sd_deg=math.nan)


def test_calibration_defaults():
    from formcheck.core.calibration import Calibration, NeutralCalibrator

    cal = NeutralCalibrator()
    assert (cal.duration_s, cal.max_sd_deg, cal.min_samples) == (2.0, 3.0, 5)
    assert cal.message is None and cal.neutral_e_deg is None
    c = Calibration(1.23456, True, "m", 1.23456, None)
    assert c.to_dict() == {"event": "calibration", "t": 1.235, "ok": True, "neutral_e_deg": 1.23,
                           "sd_deg": 0.0, "message": "m"}


# --- cue rationing --------------------------------------------------------------------------


def rep_ev(index: int, t: float, faults, kind: str = "rep"):
    """A finalised-rep event whose faults are (id, severity[, cue]) tuples."""
    from formcheck.core.events import Event

    fs = [{"id": f[0], "severity": f[1], **({"cue": f[2]} if len(f) > 2 else {})} for f in faults]
    return Event(kind, t, "", {"rep": {"index": index, "faults": fs}})


def test_cue_order_major_first_then_the_fault_table():
    from formcheck.core.cues import CueRationer

    r = CueRationer(cooldown_s=0.0, display_s=0.5)
    table = [("neck_crank", "major", "Chin"), ("hyperextension", "minor", "Stop"),
             ("jerky_lift", "major", "Smooth")]
    c = r.offer([rep_ev(1, 0.0, table)], 0.0)
    assert (c.text, c.kind, c.fault_id, c.rep, c.t) == ("Smooth", "fault", "jerky_lift", 1, 0.0)
    # a fault id outside the table comes after the table's ids of the same severity
    assert r.offer([rep_ev(2, 1.0, [("mystery", "minor", "M"), ("hip_shift", "minor", "H")],
                           "partial")], 1.0).text == "H"
    # an unknown severity ranks after minor
    assert r.offer([rep_ev(3, 2.0, [("hyperextension", "weird", "W"), ("neck_crank", "minor", "N")])],
                   2.0).text == "N"
    assert r.offer([rep_ev(3, 2.5, [("mystery", "major", "M"), ("neck_crank", "minor", "N")])],
                   2.5).text == "M"
    # no severity at all counts as minor; no cue text: the fault id is said
    c = r.offer([rep_ev(4, 3.0, [("hip_shift", "minor")])], 3.0)
    assert c.text == "hip_shift" and c.fault_id == "hip_shift" and c.rep == 4
    from formcheck.core.events import Event
    ev = Event("rep", 4.0, "", {"rep": {"index": 5, "faults": [
        {"id": "neck_crank", "severity": "minor", "cue": "N"}, {"id": "hyperextension", "cue": "S"}]}})
    assert r.offer([ev], 4.0).text == "S"  # both minor; hyperextension comes first in the table
    # a fault with neither cue nor id has nothing to say: the next one is said
    ev = Event("rep", 5.0, "", {"rep": {"index": 6, "faults": [
        {"severity": "major"}, {"id": "neck_crank", "severity": "minor", "cue": "N"}]}})
    assert r.offer([ev], 5.0).text == "N"


def test_cue_ignores_reps_without_faults_and_events_without_data():
    from formcheck.core.cues import CueRationer
    from formcheck.core.events import Event

    r = CueRationer(cooldown_s=1.0, display_s=0.5)
    assert r.offer([Event("rep", 0.0), rep_ev(1, 0.0, []), Event("rep_counted", 0.0, "x"),
                    Event("view", 0.0, "")], 0.0) is None
    assert r.current(0.0) is None
    assert r.offer([Event("partial", 0.1, "", {"rep": None})], 0.1) is None


def test_cue_newest_rep_first_and_fault_before_guidance_in_one_frame():
    from formcheck.core.cues import CueRationer
    from formcheck.core.events import Event

    r = CueRationer(cooldown_s=0.0, display_s=1.0)
    evs = [Event("view", 0.0, "Turn side-on."), rep_ev(1, 0.0, [("jerky_lift", "major", "A")]),
           Event("tracking_lost", 0.0, "Step back."), rep_ev(2, 0.0, [("neck_crank", "minor", "B")])]
    assert r.offer(evs, 0.0).text == "B"  # the newest rep's cue, not the guidance
    r2 = CueRationer(cooldown_s=0.0, display_s=1.0)
    g = r2.offer([Event("view", 0.0, "Turn side-on."), Event("tracking_lost", 0.0, "Step back.")],
                 0.0)
    assert (g.text, g.kind, g.fault_id, g.rep) == ("Step back.", "view", None, None)


def test_cue_display_and_cooldown_boundaries():
    from formcheck.core.cues import CueRationer
    from formcheck.core.events import Event

    r = CueRationer(cooldown_s=2.0, display_s=1.0)
    c = r.offer([rep_ev(1, 10.0, [("jerky_lift", "major", "A")])], 10.0)
    assert r.current(10.999) is c and r.current(11.0) is None  # on screen for display_s
    # guidance cools down like a fault cue, by its text
    assert r.offer([Event("view", 11.0, "Turn side-on.")], 11.0).text == "Turn side-on."
    assert r.offer([Event("view", 12.5, "Turn side-on.")], 12.5) is None  # 1.5 s < cooldown
    assert r.offer([rep_ev(2, 11.9, [("jerky_lift", "major", "A")])], 11.9) is None
    c = r.offer([rep_ev(3, 12.0, [("jerky_lift", "major", "A")])], 12.0)  # exactly 2.0 s later
    assert c is not None and c.rep == 3 and c.t == 12.0
    assert CueRationer().cooldown_s == 4.0 and CueRationer().display_s == 3.0  # the defaults
    r.reset()  # forgets the current cue and the cooldowns
    assert r.current(12.1) is None
    assert r.offer([rep_ev(4, 12.1, [("jerky_lift", "major", "A")])], 12.1).rep == 4


def test_cue_pending_is_issued_with_the_release_time_and_dropped_at_display_s():
    from formcheck.core.cues import CueRationer

    r = CueRationer(cooldown_s=0.0, display_s=1.0)
    r.offer([rep_ev(1, 0.0, [("jerky_lift", "major", "A")])], 0.0)
    assert r.offer([rep_ev(2, 0.2, [("neck_crank", "minor", "B")])], 0.2) is None  # waits
    c = r.offer([], 1.0)
    assert (c.text, c.rep, c.t) == ("B", 2, 1.0)  # issued at release, not at the offer
    assert r.current(1.5) is c
    r = CueRationer(cooldown_s=0.0, display_s=1.0)
    r.offer([rep_ev(1, 0.0, [("jerky_lift", "major", "A")])], 0.0)
    r.offer([rep_ev(2, 0.0, [("neck_crank", "minor", "B")])], 0.0)
    assert r.offer([], 1.0) is None  # pending for exactly display_s: dropped
    assert r.offer([], 1.1) is None



# --- the set's result and the sample buffer -------------------------------------------------


def a_rep(index: int, counted: bool, severities: tuple[str, ...] = ()):
    from formcheck.core.types import Fault, Rep

    faults = tuple(Fault(f"f{k}" if s != "neck" else "neck_crank", 1.0, 1.0, 1.0, "deg",
                         "minor" if s == "neck" else s, "cue") for k, s in enumerate(severities))
    return Rep(index, counted, 0.0, 1.0, 2.0, 3.0, -40.0, 0.0, 1.0, 1.0, 0.3, 60.0, -60.0,
               0.0, 0.0, faults)


def test_set_result_counts_and_score():
    from formcheck.core.setresult import SetResult

    reps = [a_rep(1, True), a_rep(2, True, ("major",)), a_rep(3, False, ("neck",)),
            a_rep(4, True, ("minor", "neck"))]
    s = SetResult("seated", "right", reps, [], {}, 100, 90)
    assert s.rep_count == 3 and [r.index for r in s.counted] == [1, 2, 4]
    assert s.partial_reps == 1 and s.good_reps == 1
    assert s.fault_counts() == {"f0": 2, "neck_crank": 2}
    # mean of 100, 65, 70 = 78.33, minus 5 per partial rep, one decimal
    assert s.score == 73.3
    assert s.smoothing == "causal one-euro" and s.scene == {}
    assert SetResult("seated", None, [a_rep(1, False)], [], {}, 0, 0).score is None
    worst = [a_rep(k, True, ("major", "major", "major")) for k in range(2)]
    assert SetResult("prone", "left", worst + [a_rep(9, False)], [], {}, 0, 0).score == 0.0


def test_sample_buffer_absolute_indices_and_trim():
    from formcheck.core.setresult import SampleBuffer

    b = SampleBuffer()
    assert len(b) == 0 and b.next_index == 0
    row = dict.fromkeys(SampleBuffer.NAMES, 0.0)
    for k in range(2105):
        assert b.append(**{**row, "t": k / 30.0, "e": float(k)}) == k
    a = b.arrays(10, 12)
    assert a["e"] == pytest.approx([10.0, 11.0, 12.0]) and a["t"].dtype == np.float64
    assert set(a) == set(SampleBuffer.NAMES)
    b.trim_before(2000)  # small trims are put off (amortised)
    assert b.base == 0 and len(b) == 2105
    b.trim_before(2002)
    assert b.base == 2002 and len(b) == 103 and b.next_index == 2105
    assert b.arrays(2002, 2003)["e"] == pytest.approx([2002.0, 2003.0])
    assert b.arrays(2100, 2104)["e"] == pytest.approx([2100.0, 2101.0, 2102.0, 2103.0, 2104.0])
    assert b.append(**row) == 2105
    for k in range(2106, 4200):
        b.append(**{**row, "e": float(k)})
    b.trim_before(4100)  # a second trim counts from the new base
    assert b.base == 4100 and len(b) == 100
    assert b.arrays(4100, 4101)["e"] == pytest.approx([4100.0, 4101.0])


# --- the view and the set-up, decided from the exercise (viewing.py) ------------------------


def still_frames(t0: float, t1: float, e: float = -22.0, facing: str = "right",
                 profile: str = "seated", shoulder_width_px: float = 6.0) -> list[PoseFrame]:
    """Still frames at 30 fps; e = -22° is between the zones, so the counter never arms."""
    from synth import body_frames

    t = np.arange(round(t0 * 30), round(t1 * 30)) / 30.0
    return body_frames(t, np.full(t.size, e), profile, facing,
                       shoulder_width_px=shoulder_width_px)


def feed_events(an, frames):
    out = []
    for f in frames:
        out += [(f.t_s, ev) for ev in an.update(f.t_s, f)]
    return out


@pytest.mark.parametrize("profile, facing", [("seated", "right"), ("seated", "left"),
                                             ("prone", "left"), ("prone", "right")])
def test_view_decided_after_view_check_s_of_bodies(profile, facing):
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    evs = feed_events(an, still_frames(0.0, 1.5, facing=facing, profile=profile))
    ok = [(t, ev) for t, ev in evs if ev.kind == "view_ok"]
    assert len(ok) == 1 and ok[0][0] == pytest.approx(1.0)  # view_check_s = 1 s after the first
    assert ok[0][1].t == ok[0][0]
    assert ok[0][1].message == f"{profile} profile, facing {facing}"
    assert ok[0][1].data == {"profile": profile, "facing": facing}
    assert an.profile == profile and an.view.facing == facing


def test_frontal_view_is_refused_and_half_the_window_kept():
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer
    from formcheck.core.viewing import MSG_SIDE_ON

    an = Analyzer(Config())
    frontal = still_frames(0.0, 1.2, shoulder_width_px=90.0)  # 90 / 110 px torso > 0.45
    evs = feed_events(an, frontal)
    assert [(round(ev.t, 3), ev.kind, ev.message) for _, ev in evs] == [(1.0, "view", MSG_SIDE_ON)]
    assert an.view.frontal and an.warnings == [MSG_SIDE_ON]
    # turning side-on: decided again once the kept half plus the new frames span view_check_s
    evs = feed_events(an, still_frames(1.2, 3.0))
    ok = [t for t, ev in evs if ev.kind == "view_ok"]
    assert len(ok) == 1 and 1.9 < ok[0] < 2.6
    assert not an.view.frontal and an.profile == "seated"
    res = an.finish()
    assert res.series["t_s"].size == 90 and np.all(np.diff(res.series["t_s"]) > 0)
    # frames seen while the view was frontal are not analysed: no angle, not visible
    assert np.isnan(res.series["extension_deg"][:30]).all()
    assert np.isnan(res.series["hip_angle_deg"][:30]).all()
    assert not np.any(res.series["visible"][:30]) and np.all(res.series["visible"][30:])


def test_view_rechecked_until_the_set_starts():
    """Re-decided every view_recheck_s (0.5 s) on the last view_check_s (1 s), before a rep."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    frames = still_frames(0.0, 1.4) + still_frames(1.4, 3.0, facing="left")
    evs = [ev for _, ev in feed_events(an, frames) if ev.kind == "view_ok"]
    # 1.5 s: the last second is mostly facing right (no change); 2.0 s: mostly left
    assert [(round(ev.t, 3), ev.message, ev.data) for ev in evs] == [
        (1.0, "seated profile, facing right", {"profile": "seated", "facing": "right"}),
        (2.0, "seated profile, facing left", {"profile": "seated", "facing": "left"})]
    assert an.view.facing == "left"


def test_the_set_starts_when_it_arms_again_under_a_re_decided_view():
    """Armed while the view was still the set-up's (a person mounting a bench looks seated),
    then the view changes before any rep: that start was set-up, and the report's set start is
    the second arming (real06 armed at 1.9 s while mounting; the set starts at 4.6 s)."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    frames = still_frames(0.0, 2.6, e=0.0, profile="prone") + still_frames(2.6, 6.0, e=0.0)
    evs = [(round(ev.t, 3), ev.kind) for _, ev in feed_events(an, frames) if ev.kind in ("armed", "view_ok")]
    assert [k for _, k in evs] == ["view_ok", "armed", "view_ok", "armed"]
    assert an.profile == "seated" and an.scene()["set_started_s"] == evs[3][0] > evs[2][0]


def test_view_recheck_warns_when_the_person_turns_frontal():
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer
    from formcheck.core.viewing import MSG_SIDE_ON

    an = Analyzer(Config())
    frames = still_frames(0.0, 1.4) + still_frames(1.4, 3.0, shoulder_width_px=90.0)
    evs = [ev for _, ev in feed_events(an, frames) if ev.kind == "view"]
    assert [(round(ev.t, 3), ev.message) for ev in evs] == [(2.0, MSG_SIDE_ON)]
    assert an.view.frontal and an.warnings == [MSG_SIDE_ON]


@pytest.mark.parametrize("check_s", [1.0, 2.0])
def test_view_recheck_after_a_gap_waits_for_enough_new_bodies(check_s):
    """Seated, nobody for 2.5 s, then prone: re-decided once 0.8 view_check_s of the new
    bodies are in the window, not on the first one."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    cfg = Config()
    cfg.kinematics.view_check_s = check_s
    an = Analyzer(cfg)
    evs = feed_events(an, still_frames(0.0, 3.0))
    for k in range(90, 165):
        an.update(k / 30.0, None)
    evs += feed_events(an, still_frames(5.5, 8.0, profile="prone"))
    ok = [(round(ev.t, 3), ev.message) for _, ev in evs if ev.kind == "view_ok"]
    assert ok[0] == (check_s, "seated profile, facing right")
    assert len(ok) == 2 and ok[1][1] == "prone profile, facing right"
    assert 5.5 + 0.8 * check_s - 0.01 < ok[1][0] < 5.5 + 0.8 * check_s + 0.04


def move_legs(frames, dx_px: float):
    """The same frames with the knees and ankles moved ``dx_px`` along x."""
    out = []
    for f in frames:
        xy = f.xy.copy()
        for i in (*L.KNEE, *L.ANKLE):
            xy[i, 0] += dx_px
        out.append(PoseFrame(f.t_s, xy, f.visibility, f.z, f.world, f.image_wh))
    return out


@pytest.mark.parametrize("move, setting_up", [(0.25, False), (0.35, True)])
def test_set_up_lasts_until_the_legs_are_still_for_a_second(move, setting_up):
    """Legs moving more than setup_leg_motion (0.3) torso lengths within 0.5 s = set-up."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    torso = 110.0
    feed_events(an, still_frames(0.0, 2.0))
    assert an.setting_up is False  # still from the start
    feed_events(an, move_legs(still_frames(2.0, 2.1), move * torso))
    assert an.setting_up is setting_up
    # the 0.5 s leg window sees the move until 2.47 s; set-up lasts 1 s beyond that
    feed_events(an, move_legs(still_frames(2.1, 3.44), move * torso))
    assert an.setting_up is setting_up
    feed_events(an, move_legs(still_frames(3.44, 3.5), move * torso))
    assert an.setting_up is False


def test_cue_guidance_cooling_down_does_not_displace_a_waiting_cue():
    from formcheck.core.cues import CueRationer
    from formcheck.core.events import Event

    r = CueRationer(cooldown_s=5.0, display_s=1.0)
    assert r.offer([Event("view", 0.0, "A")], 0.0).text == "A"
    assert r.offer([Event("tracking_lost", 0.5, "B")], 0.5) is None  # waits for A
    assert r.offer([Event("view", 0.6, "A")], 0.6) is None  # A is cooling: not a candidate
    c = r.offer([], 1.0)
    assert c is not None and c.text == "B" and c.t == 1.0


def test_set_up_is_seen_at_a_low_analysed_rate():
    """At 3 frames/s the 0.5 s leg window holds two samples: a move between them is set-up."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    frames = still_frames(0.0, 4.0)[::10]  # 3 fps
    feed_events(an, frames[:9])
    assert an.setting_up is False
    feed_events(an, move_legs(frames[9:10], 0.5 * 110.0))
    assert an.setting_up is True


def test_view_uses_the_configured_min_visibility():
    """Knees seen at visibility 0.3 count when kinematics.min_visibility is 0.2: prone."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    cfg = Config()
    cfg.kinematics.min_visibility = 0.2
    an = Analyzer(cfg)
    frames = []
    for f in still_frames(0.0, 1.5, profile="prone"):
        v = f.visibility.copy()
        v[[*L.KNEE, *L.ANKLE]] = 0.3
        frames.append(PoseFrame(f.t_s, f.xy, v, f.z, f.world, f.image_wh))
    feed_events(an, frames)
    assert an.profile == "prone"
    an = Analyzer(Config())  # at the default 0.5 the same knees are hidden: seated
    feed_events(an, frames)
    assert an.profile == "seated"


def test_scene_cut_closes_the_span_and_decides_the_view_again():
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    feed_events(an, still_frames(0.0, 2.0))
    evs = an.scene_cut(2.0)
    assert [(ev.kind, ev.t, ev.message) for ev in evs][-1] == (
        "view", 2.0, "Scene cut: a new shot starts here.")
    assert an.view is None
    assert an.scene_cut(2.0)[-1].t == 2.0  # a second cut at once adds no empty span
    sc = an.scene()
    assert sc["cuts_s"] == [2.0, 2.0] and sc["spans_s"] == [[0.0, 1.967]]
    assert sc["camera_roll_deg"] == 0.0 and sc["set_started_s"] is None
    evs = feed_events(an, still_frames(2.0, 3.5))
    ok = [(round(ev.t, 3), ev.message) for _, ev in evs if ev.kind == "view_ok"]
    assert ok == [(3.0, "seated profile, facing right")]  # view_check_s after the new shot
    assert an.scene()["spans_s"] == [[0.0, 1.967], [2.0, 3.467]]


def test_pose_frame_converts_integers_and_lists_to_float_arrays():
    xy = np.arange(66).reshape(33, 2)  # integer pixels
    f = PoseFrame(0.0, xy, [1] * 33, [[k] for k in range(33)], np.ones((33, 3), int).tolist())
    assert f.xy.dtype == np.float64 and f.visibility.dtype == np.float64
    assert f.z.shape == (33,) and f.z.dtype == np.float64  # a (33, 1) column is flattened
    assert isinstance(f.world, np.ndarray) and f.world.dtype == np.float64
    assert f.world.shape == (33, 3)


# --- calibration inside the Analyzer (calibrating.py) ---------------------------------------


def test_live_calibration_event_and_offset():
    """'c' key: hold 2 s; a good hold becomes the neutral offset, one CALIBRATION event."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    an = Analyzer(Config())
    feed_events(an, still_frames(0.0, 1.5, e=6.0))
    an.start_calibration(1.5)
    evs = [ev for _, ev in feed_events(an, still_frames(1.5, 4.0, e=6.0)) if ev.kind == "calibration"]
    assert len(evs) == 1
    ev = evs[0]
    assert ev.t == pytest.approx(3.5) and ev.message == an.calibration.message
    assert ev.message.startswith("Neutral reads e = +6.0 deg")
    assert set(ev.data) == {"ok", "neutral_e_deg", "sd_deg", "applied_offset_deg"}
    assert ev.data["ok"] is True and ev.data["applied_offset_deg"] == pytest.approx(6.0, abs=0.05)
    assert an.neutral_offset == pytest.approx(6.0, abs=0.05) and an.calibration.ok
    # a second hold while moving fails: no offset applied, the old one kept
    an.start_calibration(4.0)
    from synth import body_frames
    t = np.arange(120, 190) / 30.0
    moving = body_frames(t, np.linspace(6.0, 30.0, t.size), "seated", "right")
    evs = [ev for _, ev in feed_events(an, moving) if ev.kind == "calibration"]
    assert len(evs) == 1 and evs[0].data["ok"] is False
    assert "applied_offset_deg" not in evs[0].data and evs[0].data["neutral_e_deg"] > 5.0
    assert an.neutral_offset == pytest.approx(6.0, abs=0.05) and not an.calibration.ok


def test_start_calibration_event_carries_mean_and_sd():
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    cfg = Config()
    cfg.kinematics.calibrate = "start"
    an = Analyzer(cfg)
    evs = [ev for _, ev in feed_events(an, still_frames(0.0, 4.0, e=8.0)) if ev.kind == "calibration"]
    assert len(evs) == 1
    assert evs[0].message == "Neutral from the still start: e = +8.0 deg"
    assert evs[0].data["sd_deg"] == pytest.approx(0.0, abs=0.05)
    assert evs[0].data["neutral_e_deg"] == pytest.approx(8.0, abs=0.05)
    assert an.calibration.sd_deg == pytest.approx(0.0, abs=0.05)


# --- early cues (early.py) ------------------------------------------------------------------


def test_finish_past_neutral_is_cued_once_on_the_plateau_before_the_rep_is_final():
    from synth import RepScript, body_frames, script_set

    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer

    t, e, _, _ = script_set([RepScript(peak=18.0, top_hold_s=1.5), RepScript(top_hold_s=1.0)])
    an = Analyzer(Config())
    evs = feed_events(an, body_frames(t, e, "seated", "right"))
    res = an.finish()
    early = [ev for _, ev in evs if ev.kind == "fault"]
    assert len(early) == 1  # once, for the rep that leaned back 18° (limit 10°); not for rep 2
    ev = early[0]
    assert ev.data == {"id": "hyperextension", "rep": 1, "early": True}
    assert ev.message == next(f.cue for f in res.reps[0].faults if f.id == "hyperextension")
    assert res.reps[0].t_top < ev.t < res.reps[0].t_end  # on the plateau, before it is final
    final = [tt for tt, x in evs if x.kind == "rep" and x.data["rep"]["index"] == 1]
    assert final and ev.t < final[0]
    assert [f.id for f in res.reps[1].faults] == []
