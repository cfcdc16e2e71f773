"""The command line itself: typo suggestions, wrapped help with examples (no model runs)."""

from __future__ import annotations

import pytest

from formcheck.app.cli import build_parser, main


def _help(monkeypatch, command: str, columns: int = 60) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return sub[command].format_help()


@pytest.mark.parametrize("typo, meant", [("anlyze", "analyze"), ("bacth", "batch"),
                                         ("histroy", "history"), ("exprot", "export")])
def test_a_mistyped_command_gets_a_suggestion(typo, meant, capsys):
    rc = main([typo, "x.mp4"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"unknown command '{typo}' — did you mean '{meant}'?" in err
    assert "Traceback" not in err


def test_a_clip_is_not_taken_for_a_typo(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lve").write_bytes(b"")  # an existing file named like a typo of 'live'
    rc = main(["lve"])
    err = capsys.readouterr().err
    assert rc == 2 and "did you mean" not in err and "empty (0 bytes)" in err
    rc = main(["nothing_like_a_command.mp4"])
    err = capsys.readouterr().err
    assert "did you mean" not in err and "No such file" in err


def test_options_before_the_clip_are_not_taken_for_commands(capsys):
    # `--model lite` is an option value, not a typo of `live`.
    rc = main(["--model", "lite", "missing.mp4"])
    err = capsys.readouterr().err
    assert "did you mean" not in err and "No such file: missing.mp4" in err and rc == 2


@pytest.mark.parametrize("command", ["analyze", "live", "batch", "eval", "export", "history", "config"])
def test_help_is_wrapped_to_the_terminal(command, monkeypatch):
    text = _help(monkeypatch, command, 60)
    long = [line for line in text.splitlines()
            if len(line) > 60 and not line.lstrip().startswith("formcheck ")]
    assert long == []


@pytest.mark.parametrize("command", ["analyze", "export", "history"])
def test_examples_epilog(command, monkeypatch):
    text = _help(monkeypatch, command, 100)
    assert "\nexamples:\n" in text
    after = text.split("\nexamples:\n", 1)[1].splitlines()
    assert any(line.startswith(f"  formcheck {command}") for line in after), after


def test_wrapping_keeps_paragraphs_lists_and_example_blocks(monkeypatch):
    text = _help(monkeypatch, "live", 70)
    lines = text.splitlines()
    # Headings stay on their own line, bullets stay one per item, paragraphs stay apart.
    assert "Placing the camera:" in lines
    bullets = [ln for ln in lines if ln.startswith("  * ")]
    assert len(bullets) == 3
    i = lines.index("Placing the camera:")
    assert lines[i - 1] == ""
    # Example lines are kept verbatim (copyable), even when longer than the terminal.
    assert "  formcheck live --camera 1 --speak            second webcam, cues spoken (needs espeak-ng)" in lines
    # A prose paragraph is re-flowed: its words run on across the original line breaks.
    assert any("Start in your set-up position and hold still" in ln for ln in lines)
    assert all(len(ln) <= 70 for ln in lines if not ln.startswith("  formcheck "))


@pytest.mark.parametrize("command", [["analyze", "clip.mp4"], ["batch", "clips/"], ["live"],
                                     ["eval", "labels/"]])
def test_every_analysing_command_takes_set_overrides(command):
    from formcheck.app.cli import build_parser
    from formcheck.app.options import config_from_args

    args = build_parser().parse_args([*command, "--set", "faults.max_extension_deg=12",
                                      "--set", "reps.top_deg=14.5", "--profile", "prone"])
    cfg = config_from_args(args)
    assert (cfg.faults.max_extension_deg, cfg.reps.top_deg, cfg.kinematics.profile) == (12.0, 14.5, "prone")


def test_set_names_the_key_it_does_not_know_and_the_one_meant():
    from formcheck.app.cli import build_parser
    from formcheck.app.options import config_from_args
    from formcheck.errors import ConfigError

    args = build_parser().parse_args(["analyze", "c.mp4", "--set", "faults.max_extention_deg=3"])
    with pytest.raises(ConfigError, match=r"did you mean faults\.max_extension_deg\?"):
        config_from_args(args)


def test_batch_takes_max_fps():
    from formcheck.app.cli import build_parser
    from formcheck.app.options import config_from_args

    args = build_parser().parse_args(["batch", "clips/", "--max-fps", "15"])
    assert config_from_args(args).pose.max_fps == 15.0
