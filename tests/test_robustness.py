"""Robustness matrix: the streaming core on sets from the independent generator (tests/skeleton.py).

Each cell renders one scripted set through a pinhole camera with one kind of trouble (landmark
noise, camera roll / yaw / pitch, a pad hiding the knees, a walk-in and mount, getting off the
machine and walking out at the end, a bystander,
frame rate, where the set starts, short range, dropouts) and asserts the exact rep count and the
faults of every rep: each labelled fault found, no fault on a clean rep. Pure numpy, no pose
model. Cells the current code cannot meet are ``xfail(strict=True)`` with the issue that will lift
them; none is skipped, so a fix turns its cell into an XPASS failure until the mark is removed.

Held-out end-to-end subset: the defaults (thresholds, landmark offset) were tuned on
``../shared/synthetic`` dev01–dev04 (and the real clips). **dev05, dev06, dev07 and dev08** are the
held-out subset: no default may be tuned on them, and the end-to-end test that checks the
defaults on unseen clips runs on exactly those four.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from skeleton import (
    Bias, Camera, Posture, RepSpec, Scene, SetScript, frame_times, make_set, normal_finish,
    render, standard_set, true_e,
)

from formcheck.config import Config
from formcheck.core.analysis import Analyzer

KINDS = ["clean", "hyperextension", "fast_descent", "jerky_lift", "clean"]
PROFILES = ("seated", "prone")


@dataclass(frozen=True)
class Cell:
    """One matrix cell: the trouble applied to a standard set."""

    profile: str
    noise_px: float = 0.0
    seed: int = 0
    facing: str = "right"
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    fps: float = 30.0
    variable_fps: bool = False
    start: str = "top"
    pad: bool = False
    walk_in: bool = False
    walk_out: bool = False
    bystander: bool = False
    dropouts: bool = False
    short_range: bool = False

    def script(self) -> SetScript:
        if self.short_range:
            rng = np.random.default_rng(self.seed)
            fin = normal_finish(self.profile, rng)
            reps = [RepSpec(depth=fin - 20.0, peak=fin, lowering_s=1.3, lifting_s=1.1, top_hold_s=0.7)
                    for _ in range(10)]
            return make_set(Posture(self.profile), reps, start=self.start)
        t0 = 4.5 if self.walk_in else 0.0
        return standard_set(self.profile, KINDS, seed=self.seed, start=self.start, t0=t0)

    def scene(self) -> Scene:
        cam = Camera(facing=self.facing, yaw_deg=self.yaw, pitch_deg=self.pitch, roll_deg=self.roll)
        return Scene(
            camera=cam, noise_px=self.noise_px, seed=self.seed, bias=Bias(),
            pad_occlusion=self.pad, walk_in_s=3.0 if self.walk_in else 0.0,
            walk_out_s=3.0 if self.walk_out else 0.0,
            bystander_t=7.0 if self.bystander else None,
            dropout_frac=0.05 if self.dropouts else 0.0,
            far_drop_frac=0.3 if self.dropouts else 0.0,
        )

    def run(self):
        script = self.script()
        scene = self.scene()
        # Getting off (mount_s) and walking out of view play after the set's script.
        after = scene.mount_s + scene.walk_out_s if self.walk_out else 0.0
        times = frame_times(script.duration + after, self.fps, self.variable_fps, self.seed)
        an = Analyzer(Config())
        for t, fr in zip(times, render(script, times, scene)):
            an.update(float(t), fr)
        return script, an.finish()


def _cells() -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for p in PROFILES:
        for n in (0, 1, 2):
            cells[f"{p}-noise{n}px"] = Cell(p, noise_px=n)
        for n in (3, 4, 5, 6):
            for s in range(5):
                cells[f"{p}-noise{n}px-seed{s}"] = Cell(p, noise_px=n, seed=s)
        for r in (-10, 10):
            cells[f"{p}-roll{r:+d}"] = Cell(p, roll=r)
        for y in (0, 15, 30, 45):
            cells[f"{p}-yaw{y}"] = Cell(p, yaw=y)
        for pt in (-15, 15):
            cells[f"{p}-pitch{pt:+d}"] = Cell(p, pitch=pt)
        cells[f"{p}-pad-occlusion"] = Cell(p, pad=True)
        cells[f"{p}-walk-in"] = Cell(p, walk_in=True)
        cells[f"{p}-walk-out"] = Cell(p, walk_out=True)
        cells[f"{p}-walk-in-and-out-noise3px"] = Cell(p, walk_in=True, walk_out=True, noise_px=3.0)
        cells[f"{p}-bystander"] = Cell(p, bystander=True)
        for f in (24, 30, 60, 120):
            cells[f"{p}-{f}fps"] = Cell(p, fps=f)
        cells[f"{p}-variable-fps"] = Cell(p, variable_fps=True)
        for st in ("top", "bottom"):
            cells[f"{p}-starts-at-{st}"] = Cell(p, start=st, seed=11)
        cells[f"{p}-facing-left"] = Cell(p, facing="left")
        cells[f"{p}-dropouts-and-far-side"] = Cell(p, dropouts=True, noise_px=1.0)
        cells[f"{p}-short-range"] = Cell(p, short_range=True)
    return cells


CELLS = _cells()

# Cells the current core fails, with the reason (found by running every cell without marks).
_NOISE = ("6 px of landmark noise (beyond the 4 px the measures are built for; real clips show "
          "2.5-3 px) still gives a false no_top_pause or swaps a rep's faults (issue #11)")
XFAIL: dict[str, str] = {
    **{f"seated-noise6px-seed{s}": _NOISE for s in (2, 3)},
    "prone-noise6px-seed1": _NOISE,
    "seated-roll-10": ("the true vertical comes from the scene image (media/roll.py), which landmarks "
                       "alone do not carry (issue #10)"),
    "prone-pad-occlusion": ("knees hidden all along: the prone leg line is never seen, and hip, "
                            "ankle and trunk alone cannot tell a 45° bench from a seated machine "
                            "(both legs read 35-45° from vertical) (issue #10)"),
}


def _params():
    out = []
    for name, cell in CELLS.items():
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else []
        out.append(pytest.param(cell, id=name, marks=marks))
    return out


@pytest.mark.parametrize("cell", _params())
def test_matrix_cell(cell: Cell):
    script, res = cell.run()
    got = [sorted(f.id for f in r.faults) for r in res.reps]
    assert (res.rep_count, got) == (script.rep_count, script.expected_faults())
    assert res.profile == cell.profile
    assert res.facing == cell.facing
    own_range_notes = [w for w in res.warnings if w.startswith("Counted over your own range")]
    assert len(own_range_notes) == (1 if cell.short_range else 0)


NOISE_SWEEP_PX = (0, 1, 2, 3, 4, 5, 6)
NOISE_SWEEP_SEEDS = range(5)
CLEAN_REPS = [i for i, kind in enumerate(KINDS) if kind == "clean"]


@pytest.mark.parametrize("px", NOISE_SWEEP_PX)
@pytest.mark.parametrize("profile", PROFILES)
def test_noise_sweep_keeps_counts_and_clean_reps(profile, px):
    """Issue #11's sweep, as stated: 0-6 px of landmark jitter at 640 px, 5 seeds each, keeps
    every rep count exact, and up to 4 px adds no fault to a clean rep and invents no partial rep
    (the matrix cells above also ask for every labelled fault; three 6 px cells fail that
    stricter test, and at 6 px one seated seed invents a partial: `benchmarks/noise.py`).
    Real clips show 2.5-3 px."""
    for seed in NOISE_SWEEP_SEEDS:
        script, res = Cell(profile, noise_px=float(px), seed=seed).run()
        assert res.rep_count == script.rep_count == len(KINDS), f"seed {seed}"
        if px <= 4:
            assert res.partial_reps == 0, f"seed {seed}: a partial rep was invented"
            flagged = {i: sorted(f.id for f in res.reps[i].faults) for i in CLEAN_REPS}
            assert flagged == {i: [] for i in CLEAN_REPS}, f"seed {seed}"


@pytest.mark.parametrize("profile", PROFILES)
def test_mirrored_view_gives_the_same_angles_and_reps(profile):
    """Facing left and facing right (the camera on the other side) measure the same body."""
    cells = [Cell(profile, facing=f) for f in ("right", "left")]
    (s, a), (_, b) = (c.run() for c in cells)
    assert (a.facing, b.facing) == ("right", "left")
    ea, eb = a.series["extension_deg"], b.series["extension_deg"]
    np.testing.assert_allclose(ea, eb, atol=1e-6)
    assert [r.to_dict() for r in a.reps] == [r.to_dict() for r in b.reps]
    # And they are the posed angle (the MediaPipe-like bias is corrected by the analyser).
    ok = np.isfinite(a.series["raw"])
    err = a.series["raw"][ok] - true_e(s, a.series["t_s"][ok])
    # The generator's MediaPipe-like bias is a model (+3.4° seated, +2.1° prone); the offsets the
    # analyser corrects were measured on MediaPipe's own output on renders (+4.7°, +1.3°), so up
    # to ~1.3° of the error is the difference between the two, not the analyser's.
    assert abs(float(np.median(err))) < 1.5
    assert float(np.max(np.abs(err))) < 2.5


@pytest.mark.parametrize("profile", PROFILES)
def test_generator_left_and_right_joints_are_apart_in_depth(profile):
    """The generator itself: a side view sees the near side nearer, and both hips apart in 3-D."""
    script = standard_set(profile, ["clean"])
    t = np.array([1.0])
    fr = render(script, t, Scene(bias=None))[0]
    assert fr is not None and fr.world is not None
    hips = fr.world[[23, 24]]
    assert np.linalg.norm(hips[0] - hips[1]) == pytest.approx(0.18, abs=0.01)
    assert abs(hips[0, 2] - hips[1, 2]) == pytest.approx(0.18, abs=0.01)  # camera looks across
    sh = fr.world[[11, 12]]
    assert np.linalg.norm(sh[0] - sh[1]) == pytest.approx(0.38, abs=0.01)


def test_cell_names_are_unique_and_cover_the_matrix():
    assert len(CELLS) == len(set(CELLS))
    assert set(XFAIL) <= set(CELLS)
    assert replace(CELLS["seated-noise0px"], noise_px=0.0) == CELLS["seated-noise0px"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("bias", [None, Bias()])
def test_generator_batch_posing_equals_frame_by_frame(profile, bias):
    from skeleton import pose_batch, pose_skeleton

    e = np.array([-60.0, -20.0, 0.0, 12.5, 35.0])
    neck = np.array([0.0, 5.0, 30.0, -10.0, 0.0])
    shift = np.array([0.0, 0.05, 0.13, 0.0, -0.02])
    posture = Posture(profile)
    batch = pose_batch(posture, e, neck, shift, bias=bias)
    for k in range(len(e)):
        np.testing.assert_allclose(batch[k], pose_skeleton(posture, e[k], neck[k], shift[k], bias=bias),
                                   atol=1e-12)


@pytest.mark.parametrize("profile", PROFILES)
def test_walk_in_with_the_profile_given(profile):
    """With the profile given (not auto) the view is decided while the person still walks in;
    the leg line, the face's floor side and the rep machine must still wait for the set."""
    cell = Cell(profile, walk_in=True)
    script = cell.script()
    cfg = Config()
    cfg.kinematics.profile = profile
    times = frame_times(script.duration, cell.fps)
    an = Analyzer(cfg)
    for t, fr in zip(times, render(script, times, cell.scene())):
        an.update(float(t), fr)
    res = an.finish()
    got = [sorted(f.id for f in r.faults) for r in res.reps]
    assert (res.rep_count, got) == (script.rep_count, script.expected_faults())


@pytest.mark.parametrize("profile", PROFILES)
def test_getting_off_the_machine_ends_the_set_where_the_legs_or_hips_start_to_move(profile):
    """DESIGN, set-up: getting off is not the set. The last rep ends where the body started to
    leave the machine (within the 0.5 s window the motion is measured over), the report says
    when the set ended, and the set keeps its own profile and facing after the view is decided
    again on the person walking away."""
    cell = Cell(profile, walk_out=True, facing="left")
    script, res = cell.run()
    assert res.rep_count == script.rep_count
    end = res.scene["set_ended_s"]
    assert script.duration - 0.1 <= end <= script.duration + 0.6
    assert res.reps[-1].t_end <= end
    assert (res.profile, res.facing) == (profile, "left")
    # without getting off, the set runs to the end of the clip
    _, stay = Cell(profile, facing="left").run()
    assert stay.scene["set_ended_s"] is None


def test_prone_world_weight_mixes_the_world_angle_into_the_prone_angle():
    """`kinematics.prone_world_weight` w: the prone angle is (1 - w) x the 2-D angle + w x the
    world-landmark angle, frame by frame (the generator carries world landmarks)."""
    cell = Cell("prone", yaw=30.0)
    script = cell.script()
    times = frame_times(script.duration, cell.fps)
    frames = render(script, times, cell.scene())
    raws = {}
    for w in (0.0, 0.5, 1.0):
        cfg = Config()
        cfg.kinematics.prone_world_weight = w
        an = Analyzer(cfg)
        for t, fr in zip(times, frames):
            an.update(float(t), fr)
        res = an.finish()
        raws[w] = res.series["raw"]
        assert res.rep_count == script.rep_count
    ok = np.isfinite(raws[0.0]) & np.isfinite(raws[1.0])
    assert ok.sum() > 100
    assert np.abs(raws[1.0][ok] - raws[0.0][ok]).max() > 1.0  # the two angles differ at 30° yaw
    np.testing.assert_allclose(raws[0.5][ok], 0.5 * (raws[0.0][ok] + raws[1.0][ok]), atol=1e-9)
    # and the world angle is the nearer to the posed one at 30° of yaw (benchmarks/yaw.md)
    truth = true_e(script, times)[: len(raws[0.0])][ok]
    assert np.mean(np.abs(raws[1.0][ok] - truth)) < np.mean(np.abs(raws[0.0][ok] - truth))
