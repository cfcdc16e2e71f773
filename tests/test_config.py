"""Fast tier: configuration defaults, TOML overrides and validation messages."""

from __future__ import annotations

import pytest

from formcheck.config import Config, ConfigError, default_toml, load_config, merge

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib


def test_defaults_are_valid_and_documented():
    cfg = load_config()
    assert cfg.faults.max_extension_deg == 10.0
    text = default_toml()
    data = tomllib.loads(text)
    assert merge(Config(), data).to_dict() == cfg.to_dict()  # the printed file round-trips
    assert "# hyperextension (seated): the finish leans back past upright by more than this (deg)" in text


def test_toml_file_overrides_defaults(tmp_path):
    p = tmp_path / "fc.toml"
    p.write_text("[faults]\nmax_extension_deg = 12\n[kinematics]\nprofile = 'prone'\n")
    cfg = load_config(p)
    assert cfg.faults.max_extension_deg == 12.0 and isinstance(cfg.faults.max_extension_deg, float)
    assert cfg.kinematics.profile == "prone"
    # Overrides from the command line win over the file; defaults are never mutated.
    cfg2 = load_config(p, {"faults": {"max_extension_deg": 15.0}})
    assert cfg2.faults.max_extension_deg == 15.0
    assert Config().faults.max_extension_deg == 10.0


@pytest.mark.parametrize("data,message", [
    ({"faults": {"max_extension_deg": -1}}, "faults.max_extension_deg: expected a value >= 0.0, got -1"),
    ({"faults": {"max_extension_deg": "ten"}}, "faults.max_extension_deg: expected a number, got 'ten'"),
    ({"faults": {"max_extention_deg": 5}}, "unknown key faults.max_extention_deg (did you mean faults.max_extension_deg?): expected one of"),
    ({"fault": {}}, "unknown section [fault]: expected one of"),
    ({"kinematics": {"profile": "standing"}}, "kinematics.profile: expected one of auto, seated, prone, got 'standing'"),
    ({"reps": {"top_deg": 40, "bottom_deg": 30}}, "reps.top_deg must be smaller than reps.bottom_deg"),
    ({"pose": {"max_side_px": 1.5}}, "pose.max_side_px: expected an integer, got 1.5"),
    ({"faults": {"disabled": "hyperextension"}}, "faults.disabled: expected a list, got 'hyperextension'"),
    ({"faults": {"disabled": "neck_crank"}}, """--set 'faults.disabled=["neck_crank"]' on the command line"""),
    ({"faults": {"disabled": [1]}}, "faults.disabled: expected a list of strings"),
    ({"live": {"cue_cooldown_s": True}}, "live.cue_cooldown_s: expected a number, got True"),
    ({"video": {"webm_codec": "h265"}}, "video.webm_codec: expected one of vp8, vp9, got 'h265'"),
])
def test_invalid_values_are_rejected_with_expected_and_got(data, message):
    with pytest.raises(ConfigError) as e:
        merge(Config(), data)
    assert message in str(e.value)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[faults\nmax = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_digest_changes_with_analysis_settings_only():
    a = Config()
    b = merge(a, {"faults": {"max_extension_deg": 11.0}})
    c = merge(a, {"live": {"cue_cooldown_s": 9.0}})
    assert a.digest() != b.digest()
    assert a.digest() == c.digest()


def test_webm_codec_choice_reaches_the_video_writer():
    from pathlib import Path

    from formcheck.media.video_out import _fourcc_candidates

    cfg = merge(Config(), {"video": {"webm_codec": "vp9"}})
    assert _fourcc_candidates(Path("a.webm"), False, cfg.video.webm_codec)[0] == "VP90"
    assert _fourcc_candidates(Path("a.webm"), False, Config().video.webm_codec)[0] == "VP80"
    assert _fourcc_candidates(Path("a.webm"), True, "vp9")[0] == "VP80"  # live: the fast one
    assert cfg.digest() == Config().digest()  # output format only: batch results stay valid


@pytest.mark.parametrize("section,key", [
    ("faults", "max_extension_deg"), ("pose", "max_fps"), ("kinematics", "smoothing_beta"),
    ("reps", "top_deg"), ("live", "cue_cooldown_s"),
])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(section, key, bad):
    # NaN passes every range comparison, so `max_extension_deg = nan` once switched the
    # hyperextension fault off without a word.
    with pytest.raises(ConfigError) as e:
        merge(Config(), {section: {key: bad}})
    assert str(e.value) == f"{section}.{key}: expected a finite number, got {bad!r}"


def test_nan_in_a_toml_file_is_refused(tmp_path):
    p = tmp_path / "fc.toml"
    p.write_text("[faults]\nmax_extension_deg = nan\n")
    with pytest.raises(ConfigError, match=r"faults\.max_extension_deg: expected a finite number, got nan"):
        load_config(p)


@pytest.mark.parametrize("flag", ["nan", "inf", "-inf"])
def test_max_fps_flag_is_validated_like_the_file(flag, capsys):
    from formcheck.app.cli import main

    assert main(["analyze", "missing.mp4", f"--max-fps={flag}"]) != 0
    err = capsys.readouterr().err
    assert f"pose.max_fps: expected a finite number, got {float(flag)!r}" in err


def test_unknown_fault_id_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError) as e:
        merge(Config(), {"faults": {"disabled": ["no_top_pause", "hyperextensoin"]}})
    msg = str(e.value)
    assert msg.startswith("faults.disabled: expected fault ids from hyperextension, jerky_lift,")
    assert msg.endswith("got 'hyperextensoin' (did you mean 'hyperextension'?)")
    with pytest.raises(ConfigError) as e:
        merge(Config(), {"faults": {"disabled": ["banana"]}})
    assert str(e.value).endswith("got 'banana'")  # no far-fetched suggestion


def test_every_fault_id_can_be_disabled():
    from formcheck.core import faults, ids

    assert set(ids.FAULT_IDS) == set(faults.FAULT_IDS)  # the rules and the config agree
    FAULT_IDS = faults.FAULT_IDS

    cfg = merge(Config(), {"faults": {"disabled": list(FAULT_IDS)}})
    assert cfg.faults.disabled == list(FAULT_IDS)


def test_finite_float_flag_type():
    import argparse

    from formcheck.config import finite_float

    p = argparse.ArgumentParser(exit_on_error=False)
    p.add_argument("--lost-after", type=finite_float)
    assert p.parse_args(["--lost-after", "2.5"]).lost_after == 2.5
    for bad in ("nan", "inf", "-inf", "two"):
        with pytest.raises(argparse.ArgumentError, match="expected a (finite )?number, got"):
            p.parse_args([f"--lost-after={bad}"])
