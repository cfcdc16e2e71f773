"""Typed configuration: documented defaults -> TOML file -> CLI flags.

Every value has a unit in its name or docstring. :func:`load_config` merges a TOML file over the
defaults on a fresh copy and rejects unknown keys, wrong types and out-of-range values with
"expected X, got Y". ``formcheck config`` prints the defaults as a commented TOML file.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from formcheck.core.ids import FAULT_IDS
from formcheck.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILES = ("auto", "seated", "prone")


def _f(default, doc: str, lo: float | None = None, hi: float | None = None, choices=None):
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi, "choices": choices})


@dataclass
class PoseConfig:
    model: str = _f("full", "pose model: full (bundled), lite or heavy (fetched on request), or a .task path")
    min_detection_confidence: float = _f(0.5, "MediaPipe pose detection confidence, 0-1", 0.0, 1.0)
    min_presence_confidence: float = _f(0.5, "MediaPipe pose presence confidence, 0-1", 0.0, 1.0)
    min_tracking_confidence: float = _f(0.5, "MediaPipe tracking confidence, 0-1", 0.0, 1.0)
    max_side_px: int = _f(1280, "downscale frames whose longer side exceeds this (0 = never)", 0, 10000)
    max_fps: float = _f(0.0, "offline: analyse at most this many frames per second (0 = every frame)", 0.0, 1000.0)
    num_poses: int = _f(3, "people detected per frame: the exerciser is picked by their track (3: the pose is found afresh in every frame, steadier landmarks on real clips; 1 with tracking: faster per frame, the most prominent person)", 1, 10)
    tracking: bool = _f(False, "MediaPipe VIDEO mode, the pose tracked from frame to frame (with num_poses > 1 MediaPipe re-detects every frame anyway and gives the same landmarks as without; false: IMAGE mode, every frame on its own, so that workers can run frames in parallel)")
    workers: int = _f(2, "without tracking: pose models finding the poses of this many frames at once (the same poses as one model, on more cores)", 1, 16)


@dataclass
class KinematicsConfig:
    profile: str = _f("auto", "machine profile: auto, seated (neutral = torso vertical) or prone (neutral = torso in line with the legs)", choices=PROFILES)
    min_visibility: float = _f(0.5, "a joint counts as seen at or above this MediaPipe visibility, 0-1", 0.0, 1.0)
    max_gap_s: float = _f(0.3, "bridge tracking gaps up to this long (s: the missing frames' worth of time); longer gaps reset the rep counter and are never counted across", 0.0, 5.0)
    smoothing_min_cutoff_hz: float = _f(1.5, "One Euro filter minimum cut-off (Hz) for the extension angle", 0.01, 100.0)
    smoothing_beta: float = _f(0.02, "One Euro filter speed coefficient (1/deg): higher follows fast moves with less lag", 0.0, 10.0)
    velocity_cutoff_hz: float = _f(4.0, "low-pass cut-off (Hz) of the angular velocity", 0.1, 100.0)
    offline_cutoff_hz: float = _f(4.0, "offline reports: zero-phase Butterworth cut-off (Hz) of the per-frame angle series", 0.1, 100.0)
    frontal_ratio: float = _f(0.62, "view check: shoulder width / torso length above this means a frontal view (0.62: the independent generator reads 0.56-0.57 at 45 deg of yaw and 0.76 or more head-on; benchmarks/yaw.md)", 0.0, 5.0)
    view_check_s: float = _f(1.0, "seconds of tracked frames used to decide the profile, facing and view", 0.1, 30.0)
    view_recheck_s: float = _f(0.5, "until a set starts, re-decide profile, facing and view this often (s) on the last view_check_s", 0.05, 30.0)
    auto_knee_bent_deg: float = _f(135.0, "auto profile: a knee angle below this (deg) means seated on a machine", 60.0, 180.0)
    turned_max_lead: float = _f(0.3, "auto profile, standing on straight legs: a centre of mass leading the ankles by more than this many torso lengths at deep trunk lean is out of balance, so the picture is turned 90 deg (standing hinges: 0.05-0.1; a face-down set on its side: 0.45)", 0.0, 5.0)
    prone_oblique_deadband: float = _f(0.05, "prone: when the 2-D angle's range over the set exceeds the world landmarks' range by more than this fraction (a camera turned off the side view magnifies it), the excess is undone (1 = never; benchmarks/yaw.md)", 0.0, 1.0)
    prone_world_weight: float = _f(0.0, "prone: weight of MediaPipe's world-landmark angle in the extension angle, against the 2-D angle (0 = 2-D only; benchmarks/yaw.md)", 0.0, 1.0)
    auto_leg_upright_deg: float = _f(25.0, "auto profile: a leg (hip to ankle) within this many deg of vertical means standing (hip hinge, seated meaning)", 0.0, 90.0)
    setup_leg_motion: float = _f(0.3, "set-up: legs moving more than this many torso lengths within setup_leg_window_s = still getting into position (the counter does not arm)", 0.01, 10.0)
    setup_leg_window_s: float = _f(0.5, "set-up: the window (s) over which leg motion is measured", 0.05, 10.0)
    setup_still_s: float = _f(1.0, "set-up ends when the legs have been still this long (s)", 0.0, 30.0)
    leave_confirm_s: float = _f(1.0, "getting off: after reps were counted, legs (face down also hips) that moved as in set-up and are still that far from their place this long after (s) end the set where they began to move; a landmark that wanders and comes back does not", 0.1, 10.0)
    no_person_warn_s: float = _f(0.5, "warn 'no one in view' when nobody has been seen this long (s) from the start", 0.0, 60.0)
    neutral_offset_deg: float = _f(0.0, "your own neutral (deg): subtracted from every e; set by calibration (live c key, calibrate = \"start\", or an athlete's stored profile)", -45.0, 45.0)
    calibrate: str = _f("off", "calibrate neutral: off, or start (the first still hold at the top, 1 s, before the first rep becomes neutral)", choices=("off", "start"))
    camera_roll_deg: float = _f(0.0, "camera roll (deg, clockwise on screen) when known; the seated angle is measured from the true vertical", -45.0, 45.0)
    estimate_roll: bool = field(default=True, metadata={"doc": "estimate the camera roll from the scene's vertical structure (files and live)"})


@dataclass
class RepConfig:
    top_deg: float = _f(15.0, "TOP zone: e above -top_deg (deg of flexion from neutral)", 0.0, 90.0)
    bottom_deg: float = _f(30.0, "BOTTOM zone: e below -bottom_deg (deg of flexion); a dip that never gets there is a partial rep", 1.0, 150.0)
    partial_min_dip_deg: float = _f(6.0, "a dip from the top larger than this (deg) that misses the bottom zone is a partial rep", 0.5, 90.0)
    min_range_deg: float = _f(15.0, "the athlete's own range: a dip that misses BOTTOM still counts as a rep when it is at least this deep (deg) ...", 1.0, 90.0)
    own_range_frac: float = _f(0.6, "... and at least this fraction of the set's typical range (the median of its last 5 reps); the first short dip waits for a second of the same size", 0.1, 1.0)
    settle_window_s: float = _f(0.25, "the trunk is 'settled' (on a plateau) when it moved less than settle_spread_deg over this long (s)", 0.05, 5.0)
    settle_spread_deg: float = _f(1.5, "... and this spread of e (deg)", 0.1, 30.0)
    partial_min_s: float = _f(0.3, "a dip from the top shorter than this (s) is jitter, not a partial rep", 0.0, 10.0)
    min_rep_s: float = _f(0.6, "shortest rep counted (s), leaving the top to arriving back", 0.0, 30.0)
    settle_s: float = _f(0.4, "the trunk must stay in one zone this long (s) before the counter arms", 0.0, 10.0)
    phase_frac: float = _f(0.05, "phase boundaries: fraction of the range of motion from its ends (for tempo)", 0.0, 0.4)
    measure_smoothing_s: float = _f(0.03, "per-rep measures: zero-phase Gaussian smoothing of the angle, sigma in s (0 = none)", 0.0, 0.5)


@dataclass
class FaultConfig:
    max_extension_deg: float = _f(10.0, "hyperextension (seated): the finish leans back past upright by more than this (deg)", 0.0, 90.0)
    prone_max_extension_deg: float = _f(25.0, "hyperextension (prone): the finish arches past the leg line by more than this (deg); a slight arch (0-16 deg) is the guide's normal finish", 0.0, 90.0)
    max_lift_velocity_dps: float = _f(180.0, "jerky_lift: peak lifting angular velocity above this (deg/s)", 1.0, 2000.0)
    min_lifting_s: float = _f(0.5, "jerky_lift: lift faster than this (s, timed from 5 % to 95 % of its range)", 0.0, 30.0)
    min_lowering_s: float = _f(0.6, "fast_descent: lowering faster than this (s, timed from 5 % to 95 % of its range)", 0.0, 30.0)
    min_top_hold_s: float = _f(0.25, "no_top_pause: time held still (top_hold_still_dps) within top_hold_band_deg of the finish below this (s)", 0.0, 30.0)
    top_hold_still_dps: float = _f(20.0, "no_top_pause: the trunk counts as holding only while it moves slower than this (deg/s)", 0.1, 1000.0)
    top_hold_band_deg: float = _f(5.0, "no_top_pause: 'at the top' = within this many deg of the finish (widened to 2 sigma of the landmark noise)", 0.1, 45.0)
    seated_max_flexion_deg: float = _f(65.0, "excessive_depth (seated): flexion beyond this (deg)", 1.0, 180.0)
    prone_max_flexion_deg: float = _f(100.0, "excessive_depth (prone): flexion beyond this (deg)", 1.0, 180.0)
    max_hip_shift_frac: float = _f(0.045, "hip_shift: hip slide since the previous rep / thigh length above this", 0.0, 2.0)
    max_neck_extension_deg: float = _f(20.0, "neck_crank: head tipped back from its starting carriage by more than this (deg)", 0.0, 90.0)
    disabled: list = field(default_factory=list, metadata={
        "doc": "fault ids to switch off, e.g. [\"no_top_pause\"]; ids: " + ", ".join(FAULT_IDS),
        "ids": FAULT_IDS,
    })


@dataclass
class LiveConfig:
    cue_cooldown_s: float = _f(4.0, "the same cue is not repeated within this many seconds", 0.0, 600.0)
    cue_display_s: float = _f(3.0, "how long a cue stays on screen (s)", 0.1, 60.0)


@dataclass
class VideoConfig:
    webm_codec: str = _f("vp8", "annotated .webm videos: vp8 or vp9 (smaller files); .mp4 is H.264", choices=("vp8", "vp9"))


@dataclass
class Config:
    pose: PoseConfig = field(default_factory=PoseConfig)
    kinematics: KinematicsConfig = field(default_factory=KinematicsConfig)
    reps: RepConfig = field(default_factory=RepConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    video: VideoConfig = field(default_factory=VideoConfig)

    def validate(self) -> Config:
        for section in fields(self):
            obj = getattr(self, section.name)
            for f in fields(obj):
                _check(f"{section.name}.{f.name}", getattr(obj, f.name), f)
        if self.reps.top_deg >= self.reps.bottom_deg:
            raise ConfigError(
                f"reps.top_deg must be smaller than reps.bottom_deg (a dead band between them): "
                f"expected < {self.reps.bottom_deg}, got {self.reps.top_deg}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Stable hash of the analysis-relevant settings (batch stores skip clips by it)."""
        d = self.to_dict()
        d.pop("live", None)
        d.pop("video", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _type_name(t) -> str:
    return {float: "a number", int: "an integer", str: "a string", list: "a list", bool: "true/false"}.get(t, str(t))


def _check(name: str, value: Any, f: dataclasses.Field) -> None:
    t = type(f.default) if f.default is not dataclasses.MISSING else list
    if t is list and isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: expected a list of strings, got {value!r}")
    if t is list and isinstance(value, str):
        raise ConfigError(f"{name}: expected a list, got {value!r} (a string). Write it as a list: "
                          f"--set '{name}=[\"{value}\"]' on the command line, "
                          f"{name.rpartition('.')[2]} = [\"{value}\"] in a TOML file")
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, t) or isinstance(value, bool) != (t is bool):
        raise ConfigError(f"{name}: expected {_type_name(t)}, got {value!r} ({type(value).__name__})")
    if t is float and not math.isfinite(value):
        # NaN slips through every comparison (nan > hi is False), so a NaN threshold would
        # silently switch its fault off; inf is as meaningless for a threshold.
        raise ConfigError(f"{name}: expected a finite number, got {value!r}")
    md = f.metadata
    if md.get("ids") is not None:
        for v in value:
            if v not in md["ids"]:
                near = difflib.get_close_matches(v, md["ids"], n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ConfigError(
                    f"{name}: expected fault ids from {', '.join(md['ids'])}, got {v!r}{hint}"
                )
    if md.get("choices") and value not in md["choices"]:
        raise ConfigError(f"{name}: expected one of {', '.join(md['choices'])}, got {value!r}")
    if md.get("lo") is not None and value < md["lo"]:
        raise ConfigError(f"{name}: expected a value >= {md['lo']}, got {value!r}")
    if md.get("hi") is not None and value > md["hi"]:
        raise ConfigError(f"{name}: expected a value <= {md['hi']}, got {value!r}")


def finite_float(text: str) -> float:
    """``argparse`` type for a number flag that is not a config key (e.g. ``live --lost-after``):
    refuses NaN and ±inf with the same words as the config ("expected a finite number, got nan")."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def merge(cfg: Config, data: dict[str, Any], origin: str = "config") -> Config:
    """A new Config with ``data`` ({section: {key: value}}) merged over ``cfg``."""
    new = dataclasses.replace(
        cfg, **{s.name: dataclasses.replace(getattr(cfg, s.name)) for s in fields(cfg)}
    )
    sections = {s.name: s for s in fields(new)}
    for sname, values in data.items():
        if sname not in sections:
            raise ConfigError(
                f"{origin}: unknown section [{sname}]: expected one of {', '.join(sections)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{sname}] expected a table of keys, got {values!r}")
        obj = getattr(new, sname)
        known = {f.name: f for f in fields(obj)}
        for key, value in values.items():
            if key not in known:
                near = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {sname}.{near[0]}?)" if near else ""
                raise ConfigError(
                    f"{origin}: unknown key {sname}.{key}{hint}: expected one of {', '.join(known)}"
                )
            _check(f"{sname}.{key}", value, known[key])
            if isinstance(known[key].default, float):
                value = float(value)
            setattr(obj, key, value)
    return new.validate()


def load_config(path: str | Path | None = None, overrides: dict[str, dict] | None = None) -> Config:
    """Defaults, then the TOML file at ``path``, then ``overrides`` (from CLI flags)."""
    cfg = Config()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"Config file not found: {p}. `formcheck config > {p.name}` writes one.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: not valid TOML ({e})") from e
        cfg = merge(cfg, data, origin=str(p))
    if overrides:
        cfg = merge(cfg, overrides, origin="command line")
    return cfg.validate()


def default_toml() -> str:
    """The defaults as a commented TOML file."""
    lines = ["# formcheck configuration. Every key is optional; the values shown are the defaults.", ""]
    cfg = Config()
    for section in fields(cfg):
        lines.append(f"[{section.name}]")
        obj = getattr(cfg, section.name)
        for f in fields(obj):
            lines.append(f"# {f.metadata['doc']}")
            v = getattr(obj, f.name)
            lines.append(f"{f.name} = {json.dumps(v)}")
        lines.append("")
    return "\n".join(lines)
