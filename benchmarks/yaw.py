"""Benchmark: the extension angle's error against camera yaw (issue #10, point 5).

    python benchmarks/yaw.py [--cache DIR] [--labels DIR] [--real DIR] [--seeds N] [--yaws 0,10,...]

Part 1, the independent generator (tests/skeleton.py, pure numpy): a standard set (clean,
hyperextension, fast descent, jerky lift, clean) for three set-ups (seated; prone on a 45° bench;
prone with level legs, like the rendered clips) and both facings, seen at each camera yaw, with MediaPipe-like landmark bias and 1 px of seeded landmark noise, fed frame by
frame to ``Analyzer(Config())``. For each yaw it prints:

* ``2D``: the analyser's per-frame angle (``res.series["raw"]``: offset-corrected, not smoothed)
  against the posed truth: MAE and bias (deg) over the frames where it has a value, and the share
  of frames that have one;
* ``W``: the angle from the world landmarks (``PoseFrame.world``), computed *here* by
  :func:`world_extension_deg` for both profiles (the analyser keeps a world angle only for prone
  and only in its trimmed sample buffer, not in ``res.series``);
* ``e3d``: the analyser's own prone world angle (captured from its sample buffer as it is
  appended; includes its -3.0° offset), prone only;
* ``F``: prone, the mean of ``2D`` and ``e3d``, a candidate fusion;
* ``Y``: the 2-D angle de-projected with the camera yaw estimated from the world landmarks
  (:func:`yaw_corrected_deg`), another candidate;
* the rep count against the script and the view message with the defaults; the count and the
  reps whose faults differ from the script's with the frontal check off; the profile ``auto``
  picks.

The generator's world landmarks are its exact 3-D geometry (plus 4 mm of noise per 1 px);
MediaPipe's are much noisier, which part 2 shows.

Part 2, MediaPipe's own output on the rendered clips (``../shared/synthetic``), replayed from a
cache of landmarks (``--cache``, one ``<clip>.npz`` per clip with t, xy, vis, z, world, n, wh, and
``roll.json`` beside the folder with the scene-roll estimate per clip). Each clip's angles are
scored against its label ``extension_3d_deg`` (the body's own angle). Skipped when the cache is
absent (it is a development artefact, not committed).

Part 3, the real clips in the same cache (labels in ``--real``, internal footage): only their view
note, the shoulder ratio the frontal check uses, the refusal and the count, since they carry no
per-frame angle. Skipped when the folder or the cache is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the independent generator lives with the tests

from formcheck.config import Config  # noqa: E402
from formcheck.core import landmarks as L  # noqa: E402
from formcheck.core.analysis import Analyzer  # noqa: E402
from formcheck.core.viewing import MSG_SIDE_ON  # noqa: E402

KINDS = ["clean", "hyperextension", "fast_descent", "jerky_lift", "clean"]
YAWS = (0, 10, 20, 30, 35, 40, 45, 50, 60)
SEATED, PRONE = "seated", "prone"


# ----------------------------------------------------------------------------- angles
def _mid(w: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    return (w[..., pair[0], :] + w[..., pair[1], :]) / 2


def world_extension_deg(profile: str, world: np.ndarray) -> np.ndarray:
    """e from world landmarks (n, 33, 3) (metres, any rigid frame), deg, per frame.

    The trunk (hip→shoulder midpoints) and the thigh line extended (knee→hip midpoints), both
    projected on the body's sagittal plane (normal: the hip axis), signed about that axis so that
    the trunk tipping toward the back is positive. Prone: e is that angle. Seated: the thighs lie
    level on the seat, so e = angle − 90° (trunk from the vertical, assuming level thighs).
    """
    w = np.asarray(world, dtype=np.float64)
    sh, hp, kn = _mid(w, L.SHOULDER), _mid(w, L.HIP), _mid(w, L.KNEE)
    axis = w[..., L.LEFT_HIP, :] - w[..., L.RIGHT_HIP, :]
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-9)
    thigh, trunk = hp - kn, sh - hp
    thigh = thigh - np.sum(thigh * axis, -1, keepdims=True) * axis
    trunk = trunk - np.sum(trunk * axis, -1, keepdims=True) * axis
    ang = -np.degrees(np.arctan2(np.sum(np.cross(thigh, trunk) * axis, -1), np.sum(thigh * trunk, -1)))
    if profile == PRONE:
        return ang
    # Seated: the extended thigh points backward and the upright trunk is 90° clockwise from it
    # (seen with the front to the right); leaning back turns the trunk toward the extended thigh.
    return ang + 90.0


def world_yaw_deg(world: np.ndarray) -> np.ndarray:
    """|yaw| (deg) of the camera from a side view, per frame: the body's left-right axis (hips and
    shoulders) against the camera's depth axis, in the horizontal (x-z) plane of the world frame."""
    w = np.asarray(world, dtype=np.float64)
    ax = (w[..., L.LEFT_HIP, :] - w[..., L.RIGHT_HIP, :]) + (w[..., L.LEFT_SHOULDER, :] - w[..., L.RIGHT_SHOULDER, :])
    return np.degrees(np.arctan2(np.abs(ax[..., 0]), np.abs(ax[..., 2])))


def _seg_angle(v: np.ndarray) -> np.ndarray:
    """Angle of image vectors (n, 2) (y down) from the image's +x axis, counter-clockwise, deg."""
    return np.degrees(np.arctan2(-v[..., 1], v[..., 0]))


def _deproject(phi_deg: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Undo a yaw foreshortening of the horizontal component: tan φ = tan φ' · cos(yaw)."""
    p = np.radians(phi_deg)
    return np.degrees(np.arctan2(np.sin(p), np.cos(p) / math.cos(math.radians(yaw_deg))))


def yaw_corrected_deg(profile: str, xy: np.ndarray, front_sign: np.ndarray | float, yaw_deg: float,
                      roll_deg: float, offset_deg: float) -> np.ndarray:
    """e from the 2-D landmarks (n, 33, 2), with each segment de-projected for the camera yaw.

    A sagittal segment at angle φ from the horizontal appears at φ' with tan φ' = tan φ / cos(yaw)
    (orthographic, level camera). Prone uses the median leg line. The image is first turned level (``roll_deg``, clockwise on
    screen), mirrored so the body faces +x, then trunk and thigh are de-projected. ``offset_deg``
    is the analyser's landmark offset for the profile (added, as the analyser does).
    """
    xy = np.asarray(xy, dtype=np.float64)
    r = math.radians(-roll_deg)
    c, s = math.cos(r), math.sin(r)

    def level(v: np.ndarray) -> np.ndarray:
        out = np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)
        out[..., 0] *= front_sign
        return out

    sh, hp, kn = _mid(xy, L.SHOULDER), _mid(xy, L.HIP), _mid(xy, L.KNEE)
    trunk = _deproject(_seg_angle(level(sh - hp)), yaw_deg)
    if profile == SEATED:
        # Trunk from the vertical; facing +x, leaning back (toward -x) is positive.
        return trunk - 90.0 + offset_deg
    # The leg line extended past the hip; the legs are fixed in a prone set, so (as the analyser
    # does) the median over the frames is used.
    leg = float(np.nanmedian(_deproject(_seg_angle(level(hp - kn)), yaw_deg)))
    # Prone: facing +x the head is at +x; a rise above the leg line turns the trunk counter-clockwise.
    return (trunk - leg + 180.0) % 360.0 - 180.0 + offset_deg


# ----------------------------------------------------------------------------- part 1
# Machine set-ups: name, profile, prone bench angle (deg above horizontal; the generator's default
# is a 45° bench, the rendered clips' prone apparatus is level).
SETUPS = (("seated", SEATED, 45.0), ("prone 45°", PRONE, 45.0), ("prone level", PRONE, 0.0))


@dataclass(frozen=True)
class Row:
    """One cell's figures (angles in deg; nan where there is nothing to score)."""

    setup: str
    facing: str
    yaw: float
    mae2d: float
    bias2d: float
    cover: float  # share of frames with a 2-D value
    maew: float
    biasw: float
    mae3d: float  # the analyser's own prone world angle
    maef: float  # prone: the mean of the 2-D and the analyser's world angle
    maey: float  # the yaw-corrected 2-D angle
    yaw_est: float  # median yaw estimated from the world landmarks
    reps: int  # counted with the default configuration
    reps_forced: int  # counted with the frontal check off and the profile given
    faults_off: int  # reps (counted or partial) whose faults differ from the script's, same run
    reps_expected: int
    ratio: float  # the analyser's shoulder-width / torso ratio behind the frontal decision
    refused: str  # the view message of the default run ("" = not refused)
    auto: str  # the profile ``auto`` picks with the frontal check off


def _stats(err: np.ndarray) -> tuple[float, float]:
    err = err[np.isfinite(err)]
    if err.size == 0:
        return math.nan, math.nan
    return float(np.mean(np.abs(err))), float(np.mean(err))


def _capture_e3d(an: Analyzer) -> dict[float, float]:
    """Record the analyser's world angle as each sample is appended (its buffer is trimmed)."""
    got: dict[float, float] = {}
    append = an.buf.append

    def spy(**values: float) -> int:
        got[float(values["t"])] = float(values["e3d"])
        return append(**values)

    an.buf.append = spy  # type: ignore[method-assign]
    return got


def _refusal(warnings: list[str]) -> str:
    for msg in warnings:
        if msg == MSG_SIDE_ON:
            return "side-on"
    return warnings[0][:24] if warnings else ""


def _world_and_fused(e3d: dict[float, float], ts: np.ndarray, raw: np.ndarray,
                     truth) -> tuple[float, float, float]:
    """MAE and bias of the analyser's world angle, and MAE of the mean of it and the 2-D angle
    on the frames that have both (nan when the analyser kept no world angle)."""
    t3 = np.array(sorted(e3d))
    v3 = np.array([e3d[t] for t in t3])
    if not t3.size or not np.isfinite(v3).any():
        return math.nan, math.nan, math.nan
    mae3d, bias3d = _stats(v3 - truth(t3))
    r2 = {round(float(t), 6): float(r) for t, r in zip(ts, raw) if math.isfinite(r)}
    both = [(t, (r2[round(t, 6)] + v) / 2) for t, v in zip(t3, v3) if round(t, 6) in r2 and math.isfinite(v)]
    fused = np.array([f for _, f in both])
    maef, _ = _stats(fused - truth(np.array([t for t, _ in both]))) if both else (math.nan, math.nan)
    return mae3d, bias3d, maef


def run_generator(setup: str, facing: str, yaw: float, seed: int, noise_px: float = 1.0) -> Row:
    """One set at one yaw, analysed three times: with the defaults (count, refusal, ratio); with
    the frontal check off and the profile given (the angles, measured past today's refusal too);
    and with the frontal check off and ``auto`` profile (which profile it picks)."""
    from dataclasses import replace

    from skeleton import Bias, Camera, Posture, Scene, frame_times, render, standard_set, true_e

    from formcheck.core.analysis import LANDMARK_OFFSET_DEG

    _, profile, bench = next(s for s in SETUPS if s[0] == setup)
    script = standard_set(profile, KINDS, seed=seed)
    script = replace(script, posture=Posture(profile, bench_deg=bench))
    times = frame_times(script.duration, 30.0)
    scene = Scene(camera=Camera(facing=facing, yaw_deg=yaw), noise_px=noise_px, seed=seed, bias=Bias())
    frames = render(script, times, scene)

    def analyse(frontal_ratio: float | None, given: str | None) -> tuple[Analyzer, dict[float, float]]:
        cfg = Config()
        if frontal_ratio is not None:
            cfg.kinematics.frontal_ratio = frontal_ratio
        if given is not None:
            cfg.kinematics.profile = given
        an = Analyzer(cfg)
        e3d = _capture_e3d(an)
        for t, fr in zip(times, frames):
            an.update(float(t), fr)
        return an, e3d

    an_default, _ = analyse(None, None)
    res_default = an_default.finish()
    an_auto, _ = analyse(5.0, None)
    auto = an_auto.finish().profile
    an, e3d = analyse(5.0, profile)  # 5.0: never frontal
    res = an.finish()
    got = [sorted(f.id for f in r.faults) for r in res.reps]
    want = script.expected_faults()
    faults_off = sum(a != b for a, b in zip(got, want)) + abs(len(got) - len(want))
    ts = res.series["t_s"]
    raw = res.series["raw"]
    ok = np.isfinite(raw)
    mae2d, bias2d = _stats(raw[ok] - true_e(script, ts[ok]))
    world = np.array([fr.world for fr in frames])
    truth = true_e(script, times)
    maew, biasw = _stats(world_extension_deg(profile, world) - truth)
    mae3d, _, maef = _world_and_fused(e3d, ts, raw, lambda t: true_e(script, t))
    yaw_est = float(np.median(world_yaw_deg(world)))
    xy = np.array([fr.xy for fr in frames])
    sign = 1.0 if facing == "right" else -1.0
    ey = yaw_corrected_deg(profile, xy, sign, yaw_est, 0.0, LANDMARK_OFFSET_DEG[profile])
    maey, _ = _stats(ey - truth)
    ratio = an_default.view.shoulder_ratio if an_default.view is not None else math.nan
    return Row(setup, facing, yaw, mae2d, bias2d, float(ok.mean()), maew, biasw, mae3d, maef, maey, yaw_est,
               res_default.rep_count, res.rep_count, faults_off, script.rep_count, ratio,
               _refusal(res_default.warnings), auto)


def _f(x: float, fmt: str = "5.1f") -> str:
    return format(x, fmt) if math.isfinite(x) else " " * (int(fmt.split(".")[0]) - 1) + "–"


def _merge(runs: list[Row]) -> Row:
    """Seeds of one cell: angle figures averaged, the worst counts, every message and profile."""
    def avg(k: str) -> float:
        v = [getattr(x, k) for x in runs if math.isfinite(getattr(x, k))]
        return float(np.mean(v)) if v else math.nan

    r = runs[0]
    return Row(r.setup, r.facing, r.yaw, avg("mae2d"), avg("bias2d"), avg("cover"), avg("maew"), avg("biasw"),
               avg("mae3d"), avg("maef"), avg("maey"), avg("yaw_est"), min(x.reps for x in runs),
               min(x.reps_forced for x in runs), max(x.faults_off for x in runs), r.reps_expected, avg("ratio"),
               ",".join(sorted({x.refused for x in runs if x.refused})),
               ",".join(sorted({x.auto for x in runs})))


def part1(yaws: tuple[float, ...], seeds: int) -> list[Row]:
    print("## Part 1: independent generator (tests/skeleton.py), Bias(), 1 px noise, "
          f"seeds 0..{seeds - 1} averaged, 30 fps\n")
    print("2D = analyser series['raw'] (with the oblique correction of core.oblique) vs the "
          "posed e; W = world-landmark angle (this script); "
          "e3d = the analyser's prone world angle; F = the mean of 2D and e3d (prone); Y = 2-D de-projected by the yaw estimated from "
          "the world landmarks (yaw est). MAE / bias in deg; cover = share of frames with a 2-D "
          "value. Angles, reps* and bad* (reps whose faults differ from the script's, worst seed) "
          "with the frontal check off (frontal_ratio 5.0) and the profile given, so they are "
          "measured past today's refusal; reps (worst seed), ratio (shoulder "
          f"width / torso; refused above {Config().kinematics.frontal_ratio:g}) and refused with the defaults; auto = the profile "
          "`auto` picks with the frontal check off.\n")
    print("| set-up | facing | yaw | 2D MAE | 2D bias | cover | W MAE | W bias | e3d MAE | F MAE | Y MAE "
          "| yaw est | reps | reps* | bad* | ratio | refused | auto |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    rows = []
    for setup, _, _ in SETUPS:
        for facing in ("right", "left"):
            for yaw in yaws:
                r = _merge([run_generator(setup, facing, yaw, s) for s in range(seeds)])
                rows.append(r)
                print(f"| {setup} | {facing} | {yaw:.0f} | {_f(r.mae2d)} | {_f(r.bias2d, '+5.1f')} | "
                      f"{r.cover:.2f} | {_f(r.maew)} | {_f(r.biasw, '+5.1f')} | {_f(r.mae3d)} | {_f(r.maef)} | "
                      f"{_f(r.maey)} | {_f(r.yaw_est, '4.0f')} | {r.reps}/{r.reps_expected} | {r.reps_forced} | {r.faults_off} | "
                      f"{_f(r.ratio, '4.2f')} | {r.refused or '–'} | {r.auto} |", flush=True)
    return rows


# ----------------------------------------------------------------------------- part 2
def world_vertical_deg(world: np.ndarray) -> np.ndarray:
    """Seated e from world landmarks against the world frame's up (-y), not the thigh: the trunk
    and up both projected on the sagittal plane, signed as :func:`world_extension_deg`."""
    w = np.asarray(world, dtype=np.float64)
    axis = w[..., L.LEFT_HIP, :] - w[..., L.RIGHT_HIP, :]
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-9)
    trunk = _mid(w, L.SHOULDER) - _mid(w, L.HIP)
    up = np.broadcast_to(np.array([0.0, -1.0, 0.0]), trunk.shape)
    trunk = trunk - np.sum(trunk * axis, -1, keepdims=True) * axis
    up = up - np.sum(up * axis, -1, keepdims=True) * axis
    return -np.degrees(np.arctan2(np.sum(np.cross(up, trunk) * axis, -1), np.sum(up * trunk, -1)))


def _cached_clips(cache: Path, labels: Path) -> tuple[list[Path], dict]:
    """The cached clips that have a label in ``labels``, and the scene rolls (roll.json beside the
    cache, if any)."""
    clips = sorted(p for p in cache.glob("*.npz") if (labels / f"{p.stem}.json").is_file())
    roll_file = cache.parent / "roll.json"
    return clips, json.loads(roll_file.read_text()) if roll_file.is_file() else {}


def part2(cache: Path, labels: Path) -> None:
    clips, rolls = _cached_clips(cache, labels)
    if not clips:
        print(f"\n## Part 2: skipped (no cached clip in {cache} with a label in {labels})")
        return
    print(f"\n## Part 2: MediaPipe landmarks of the rendered clips (cache {cache}), "
          "against the label extension_3d_deg\n")
    print("Default configuration; the scene roll from roll.json applied as the Session does. "
          "2D = analyser series['raw']; W = world-landmark angle (this script, per-frame thigh), "
          "W sd = its MAE once its own mean bias is removed; Wv = seated only, the trunk against the "
          "world frame's up instead of the thigh; e3d = the analyser's prone world angle (median "
          "thigh, -3.0° offset); F = prone only, the mean of 2D and e3d; Y = 2-D de-projected by "
          "the yaw estimated from the world landmarks (yaw est, median over the clip), Y* = by the "
          "label's yaw; ratio = the analyser's shoulder width / torso (frontal above "
          f"{Config().kinematics.frontal_ratio:g}). MAE / bias in deg over the frames where the "
          "angle has a value (Y, Y* and F "
          "on the frames 2D has).\n")
    print("| clip | yaw | roll | 2D MAE | 2D bias | W MAE | W bias | W sd | Wv MAE | e3d MAE | e3d bias "
          "| F MAE | Y MAE | Y* MAE | yaw est | ratio | reps | refused |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for clip in clips:
        print(_clip_row(clip, labels, rolls), flush=True)


def _replay(clip: Path, rolls: dict):
    """Replay one cached clip through a fresh Analyzer, as ``update_many`` does, with the camera
    roll of the cache. Returns (the cache, the analyser, its captured e3d list, the result, the
    pose used in each frame)."""
    from formcheck.core.types import PoseFrame

    d = np.load(clip)
    w, h = (int(v) for v in d["wh"])
    an = Analyzer(Config())
    e3d = _capture_e3d(an)
    rr = rolls.get(clip.stem)
    if rr and an.cfg.kinematics.estimate_roll:
        an.set_camera_roll(float(rr[0]), float(rr[1]))
    used: list = []
    for k in range(len(d["t"])):
        t = float(d["t"][k])
        cands = [PoseFrame(t, d["xy"][k, j], d["vis"][k, j], d["z"][k, j], d["world"][k, j], (w, h))
                 for j in range(int(d["n"][k]))]
        p = an.pick_exerciser(t, cands)  # what update_many does, keeping the pose it used
        used.append(p)
        an.update(t, p)
    return d, an, e3d, an.finish(refine=True), used


def _clip_row(clip: Path, labels: Path, rolls: dict) -> str:
    """One table row for one cached clip (see :func:`part2`)."""
    from formcheck.core.analysis import LANDMARK_OFFSET_DEG

    lab = json.loads((labels / f"{clip.stem}.json").read_text())
    profile = lab["profile"]
    d, an, e3d, res, used = _replay(clip, rolls)
    lt = np.asarray(lab["frames"]["t_s"], dtype=np.float64)
    l3 = np.asarray(lab["frames"]["extension_3d_deg"], dtype=np.float64)

    def truth(t: np.ndarray) -> np.ndarray:
        return np.interp(t, lt, l3)

    ts, raw = res.series["t_s"], res.series["raw"]
    ok = np.isfinite(raw)
    t2 = np.round(ts[ok], 6)
    mae2d, bias2d = _stats(raw[ok] - truth(ts[ok]))
    seen = [(k, p) for k, p in enumerate(used) if p is not None and p.world is not None]
    tw = np.array([float(d["t"][k]) for k, _ in seen])
    world = np.array([p.world for _, p in seen])
    ew = world_extension_deg(profile, world)
    maew, biasw = _stats(ew - truth(tw))
    sdw, _ = _stats(ew - truth(tw) - biasw)
    maewv = _stats(world_vertical_deg(world) - truth(tw))[0] if profile == SEATED else math.nan
    mae3d, bias3d, maef = _world_and_fused(e3d, ts, raw, truth)
    yaw_est = float(np.median(world_yaw_deg(world)))
    xy = np.array([p.xy for _, p in seen])
    sign = 1.0 if lab["facing"] == "right" else -1.0
    keep = np.isin(np.round(tw, 6), t2)
    ratio = an.view.shoulder_ratio if an.view is not None else math.nan

    def y_mae(yaw: float) -> float:
        ey = yaw_corrected_deg(profile, xy, sign, yaw, an.camera_roll_deg, LANDMARK_OFFSET_DEG[profile])
        return _stats(ey[keep] - truth(tw[keep]))[0]

    return (f"| {clip.stem} | {lab['camera_yaw_deg']:+.0f} | {lab['camera_roll_deg']:+.0f} | "
          f"{_f(mae2d)} | {_f(bias2d, '+5.1f')} | {_f(maew)} | {_f(biasw, '+5.1f')} | {_f(sdw)} | "
          f"{_f(maewv)} | {_f(mae3d)} | {_f(bias3d, '+5.1f')} | {_f(maef)} | {_f(y_mae(yaw_est))} | "
          f"{_f(y_mae(abs(float(lab['camera_yaw_deg']))))} | {_f(yaw_est, '4.0f')} | "
          f"{_f(ratio, '4.2f')} | {res.rep_count}/{lab['expected_rep_count']} | "
          f"{_refusal(res.warnings) or '–'} |")


def part3(cache: Path, real: Path) -> None:
    """The real clips in the cache: no per-frame truth, only the view note, so the shoulder ratio
    the frontal check uses, the refusal and the count show where real views fall."""

    clips, rolls = _cached_clips(cache, real)
    if not clips:
        print(f"\n## Part 3: skipped (no cached clip with a label in {real})")
        return
    print(f"\n## Part 3: MediaPipe landmarks of the real clips (cache {cache}): view note, "
          "shoulder ratio, refusal and count with the defaults\n")
    print("slope = the analyser's 2-D angle regressed on its world angle e3d (prone clips; 1.0 = "
          "the same range, above 1 = the 2-D angle magnified), 2D − e3d = their mean difference (deg).\n")
    print("| clip | view (label) | ratio | profile | reps | refused | slope | 2D − e3d |")
    print("|---|---|---:|---|---:|---|---:|---:|")
    for clip in clips:
        lab = json.loads((real / f"{clip.stem}.json").read_text())
        d, an, e3d, res, _ = _replay(clip, rolls)
        ratio = an.view.shoulder_ratio if an.view is not None else math.nan
        r2 = {round(float(t), 6): float(v) for t, v in zip(res.series["t_s"], res.series["raw"]) if math.isfinite(v)}
        both = np.array([(r2[round(t, 6)], v) for t, v in e3d.items() if round(t, 6) in r2 and math.isfinite(v)])
        slope = diff = math.nan
        if len(both) >= 30:
            slope = float(np.polyfit(both[:, 1], both[:, 0], 1)[0])
            diff = float(np.mean(both[:, 0] - both[:, 1]))
        print(f"| {clip.stem} | {lab.get('view', '?')} | {_f(ratio, '4.2f')} | {res.profile} | "
              f"{res.rep_count}/{lab['expected_rep_count']} | {_refusal(res.warnings) or '–'} | "
              f"{_f(slope, '4.2f')} | {_f(diff, '+5.1f')} |", flush=True)


def _shared() -> Path:
    """../shared from the checkout (or from the folder that holds a worktree)."""
    for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if p.is_dir():
            return p
    return ROOT.parent / "shared"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/multi"),
                    help="folder of cached MediaPipe landmarks <clip>.npz (part 2 is skipped if absent)")
    ap.add_argument("--labels", type=Path, default=_shared() / "synthetic",
                    help="folder of the rendered clips' labels <clip>.json")
    ap.add_argument("--real", type=Path, default=_shared() / "real",
                    help="folder of the real clips' labels (part 3; skipped if absent)")
    ap.add_argument("--seeds", type=int, default=2, help="generator seeds per cell (averaged)")
    ap.add_argument("--yaws", default=",".join(str(y) for y in YAWS), help="camera yaws (deg), comma-separated")
    ap.add_argument("--skip-generator", action="store_true", help="parts 2 and 3 only")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if not a.skip_generator:
        part1(tuple(float(y) for y in a.yaws.split(",")), a.seeds)
    if a.cache.is_dir():
        part2(a.cache, a.labels)
        if a.real.is_dir():
            part3(a.cache, a.real)
    else:
        print(f"\n## Part 2: skipped (no landmark cache at {a.cache})")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
