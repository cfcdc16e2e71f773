"""Following the exerciser: bystanders, several people, scene cuts (pure core, no model)."""

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.analysis import Analyzer
from formcheck.core.types import PoseFrame
from synth import RepScript, body_frames, script_set


def bystander(f: PoseFrame, dx: float = 260.0, scale: float = 1.0) -> PoseFrame:
    """Another person: the same skeleton moved ``dx`` px along the image and scaled."""
    c = f.xy.mean(axis=0)
    xy = (f.xy - c) * scale + c + (dx, 0.0)
    return PoseFrame(f.t_s, xy, f.visibility, f.z, None, f.image_wh)


def three_reps():
    t, e, neck, shift = script_set([RepScript(), RepScript(), RepScript()])
    return body_frames(t, e, "seated", "right", noise_px=0.5, seed=4)


def feed(frames, an=None):
    an = an or Analyzer(Config())
    for f in frames:
        an.update(f.t_s, f)
    return an.finish()


def test_a_bystander_crossing_neither_takes_over_nor_resets_the_count():
    frames = three_reps()
    n = len(frames)
    assert feed(frames).rep_count == 3
    # A single-person model returns the bystander for 0.6 s in the middle of the second rep.
    crossed = [bystander(f) if 0.45 * n <= k < 0.45 * n + 18 else f for k, f in enumerate(frames)]
    res = feed(crossed)
    assert res.rep_count == 3
    assert not any(r.faults for r in res.reps)


def test_a_bystander_far_away_is_another_person_even_at_the_same_place():
    frames = three_reps()
    smaller = [bystander(f, dx=0.0, scale=0.4) if 40 <= k < 52 else f for k, f in enumerate(frames)]
    assert feed(smaller).rep_count == 3


def test_the_exerciser_is_picked_among_several_people():
    frames = three_reps()
    an = Analyzer(Config())
    for k, f in enumerate(frames):
        people = [bystander(f, dx=-300.0 + 4.0 * k, scale=1.1), f]  # a taller walker, listed first
        if k % 7 == 0:
            people.reverse()
        if k < 3:
            people = [f]  # the exerciser is alone in the first frames: the track starts there
        an.update_many(f.t_s, people)
    assert an.finish().rep_count == 3


def test_a_scene_cut_never_counts_across_and_reports_the_spans():
    frames = three_reps()
    n = len(frames)
    an = Analyzer(Config())
    cut_k = int(0.5 * n)  # in the middle of the second rep
    for k, f in enumerate(frames):
        if k == cut_k:
            an.scene_cut(f.t_s)
        an.update(f.t_s, f)
    res = an.finish()
    spans = res.scene["spans_s"]
    assert len(spans) == 2 and res.scene["cuts_s"] == [pytest.approx(frames[cut_k].t_s, abs=1e-3)]
    assert res.scene["span_views"] == [{"profile": "seated", "facing": "right"}] * 2
    assert spans[0][1] < spans[1][0]
    cut_t = frames[cut_k].t_s
    for r in res.reps:  # no rep straddles the cut
        assert r.t_end <= cut_t or r.t_start >= cut_t, (r.t_start, r.t_end, cut_t)
    # rep 2 was cut during its lowering: the new shot starts near its bottom, so only its lift
    # (a set that starts at the bottom) is seen after the cut
    assert sum(r.counted for r in res.reps if r.t_end <= cut_t) == 1


def test_scene_reports_roll_and_set_start():
    an = Analyzer(Config())
    an.set_camera_roll(-3.0, 0.8)
    res = feed(three_reps(), an)
    assert res.scene["camera_roll_deg"] == -3.0 and res.scene["camera_roll_confidence"] == 0.8
    assert 0.0 < res.scene["set_started_s"] < res.reps[0].t_bottom
    assert np.isfinite(res.scene["spans_s"][0]).all()


@pytest.mark.parametrize("how", ["scene_cut", "reset_set"])
def test_a_new_shot_or_set_takes_its_own_head_carriage(how):
    """The neck baseline is the set's own usual head carriage. After a cut (another shot, maybe
    another person) or a new set, a head carried 25° further back throughout is that set's
    normal, not a neck crank on every rep; a crank of 30° past it in the new set still is."""
    t, e, _, _ = script_set([RepScript(), RepScript(), RepScript()])
    first = body_frames(t, e, "seated", "right", noise_px=0.5, seed=4)
    neck = np.full_like(e, 25.0)
    top_of_rep_3 = (t > t[-1] - 3.0) & (e > -3.0)  # the last rep's finish and hold
    neck[top_of_rep_3] += 30.0
    second = body_frames(t, e, "seated", "right", neck=neck, noise_px=0.5, seed=5)
    t1 = first[-1].t_s + 1.0 / 30.0
    an = Analyzer(Config())
    for f in first:
        an.update(f.t_s, f)
    if how == "scene_cut":
        an.scene_cut(t1)
    else:
        an.reset_set()
    for f in second:
        an.update(t1 + f.t_s, PoseFrame(t1 + f.t_s, f.xy, f.visibility, f.z, None, f.image_wh))
    res = an.finish()
    new = [r for r in res.reps if r.t_start >= t1]
    assert [r.counted for r in new] == [True] * 3
    assert [sorted(f.id for f in r.faults) for r in new] == [[], [], ["neck_crank"]]


def test_a_second_look_is_asked_for_only_when_someone_is_close_or_the_track_is_missed():
    """``ExerciserTrack.plan``: the pick, and a second look's plan (None: no need)."""
    from formcheck.core import kinematics as K
    from formcheck.core.tracking import ExerciserTrack, pose_box

    f = three_reps()[0]  # torso 110 px, hip at (300, 300)
    tr = ExerciserTrack()
    assert tr.plan(0.0, [f])[1] is None  # no track yet
    assert tr.same_person(0.0, K.body_from_frame(f))
    b = K.body_from_frame(f)
    joints = np.array([b.shoulder, b.hip, b.knee, b.ankle, b.ear, b.nose, b.heel, b.toe])
    torso = float(np.linalg.norm(b.shoulder - b.hip))
    keep = np.concatenate([joints.min(0) - 0.35 * torso, joints.max(0) + 0.35 * torso])
    assert tr.plan(0.1, [f])[1] is None  # alone
    far = bystander(f, dx=keep[2] - keep[0] + torso + 60)  # a torso length and more away
    assert tr.plan(0.1, [f, far])[1] is None
    close = bystander(f, dx=keep[2] - keep[0] + torso - 60)
    assert tr.plan(0.1, [close, f])[0] is f  # the pick: the one who continues the track
    keep_box, hide = tr.plan(0.1, [f, close])[1]
    np.testing.assert_allclose(keep_box, keep, atol=1e-6)
    assert len(hide) == 1
    np.testing.assert_allclose(hide[0], pose_box(close), atol=1e-9)
    # the pick does not continue the track (the exerciser was missed): hide everyone found
    keep_box, hide = tr.plan(0.1, [far])[1]
    assert len(hide) == 1 and np.allclose(hide[0], pose_box(far))
    # a track not seen for longer than it is kept: nothing to look for
    assert tr.plan(0.0 + tr.KEEP_S + 0.01, [f, close])[1] is None
    # the second look's pick is taken only when it continues the track
    assert tr.second_look(0.1, far, [close, f]) is f
    assert tr.second_look(0.1, f, [far]) is f
    assert tr.second_look(0.1, far, []) is far



def test_pose_box_is_the_landmarks_extent_padded_by_a_share_of_its_longer_side():
    from formcheck.core.tracking import pose_box

    xy = np.zeros((33, 2))
    xy[:, 0] = np.linspace(100.0, 300.0, 33)  # 200 px wide
    xy[:, 1] = np.linspace(50.0, 150.0, 33)  # 100 px tall
    p = PoseFrame(0.0, xy, np.ones(33), np.zeros(33), None, (640, 480))
    np.testing.assert_allclose(pose_box(p), [80.0, 30.0, 320.0, 170.0])  # 0.1 x 200 px
    np.testing.assert_allclose(pose_box(p, pad=0.0), [100.0, 50.0, 300.0, 150.0])


def test_a_second_look_on_either_side_and_only_while_the_track_is_kept():
    from formcheck.core import kinematics as K
    from formcheck.core.tracking import ExerciserTrack

    f = three_reps()[0]
    tr = ExerciserTrack()
    assert tr.same_person(5.0, K.body_from_frame(f))
    w = tr.box[2] - tr.box[0]
    torso = tr.track[1]
    assert tr.plan(5.1, [])[1] is None  # nobody found: nothing to compare
    for side in (-1.0, 1.0):  # within a torso length on the left as on the right
        close = bystander(f, dx=side * (w + torso - 60))
        assert tr.plan(5.1, [f, close])[1] is not None, side
        far = bystander(f, dx=side * (w + torso + 60))
        assert tr.plan(5.1, [f, far])[1] is None, side
    h = tr.box[3] - tr.box[1]
    for side in (-1.0, 1.0):  # and above or below
        close = PoseFrame(f.t_s, f.xy + (0.0, side * (h + torso - 60)), f.visibility, f.z, None, f.image_wh)
        assert tr.plan(5.1, [f, close])[1] is not None, side
        far = PoseFrame(f.t_s, f.xy + (0.0, side * (h + torso + 60)), f.visibility, f.z, None, f.image_wh)
        assert tr.plan(5.1, [f, far])[1] is None, side
    # kept for KEEP_S after the last sighting (at 5 s), not longer
    assert tr.plan(5.0 + tr.KEEP_S - 0.01, [f, close])[1] is not None
    assert tr.plan(5.0 + tr.KEEP_S + 0.01, [f, close])[1] is None


def test_each_span_reports_the_view_its_reps_were_counted_in():
    """An edited clip of a seated athlete facing right, then a face-down one facing left: each
    shot is decided again and the report says which view each span was counted in."""
    t, e, _, _ = script_set([RepScript(), RepScript()])
    first = body_frames(t, e, "seated", "right", noise_px=0.5, seed=4)
    t2, e2, _, _ = script_set([RepScript(depth=-60.0), RepScript(depth=-60.0)])
    second = body_frames(t2, e2, "prone", "left", noise_px=0.5, seed=5)
    t1 = first[-1].t_s + 1.0 / 30.0
    an = Analyzer(Config())
    for f in first:
        an.update(f.t_s, f)
    an.scene_cut(t1)
    for f in second:
        an.update(t1 + f.t_s, PoseFrame(t1 + f.t_s, f.xy, f.visibility, f.z, None, f.image_wh))
    res = an.finish()
    assert res.rep_count == 4
    assert res.scene["span_views"] == [{"profile": "seated", "facing": "right"},
                                       {"profile": "prone", "facing": "left"}]
    assert (res.profile, res.facing) == ("prone", "left")  # the last reps' view
