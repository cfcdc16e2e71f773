"""Command-line pieces every front end shares: the analysis options, the configuration they
build, and the help formatter. Front ends import this module, never :mod:`formcheck.app.cli`
(which imports them)."""

from __future__ import annotations

import argparse

from formcheck.config import PROFILES, Config, load_config


def common_options(p: argparse.ArgumentParser) -> None:
    """Options every analysing subcommand takes."""
    p.add_argument("--profile", choices=PROFILES, default=None,
                   help="machine profile: seated (lever machine, neutral = torso vertical), prone "
                        "(face-down with ankle rollers, neutral = torso in line with the legs) or "
                        "auto (from the body's geometry; default)")
    p.add_argument("--config", metavar="FILE", help="TOML file overriding the defaults (see `formcheck config`)")
    p.add_argument("--model", metavar="full|lite|heavy|PATH", default=None,
                   help="pose model: the bundled full model (default), lite/heavy (downloaded on "
                        "request from Google, needs a network), or a .task file")


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration of a command: defaults, ``--config FILE``, then ``--profile``,
    ``--model`` and ``--max-fps``."""
    over: dict[str, dict] = {}
    if getattr(args, "profile", None):
        over.setdefault("kinematics", {})["profile"] = args.profile
    if getattr(args, "model", None):
        over.setdefault("pose", {})["model"] = args.model
    if getattr(args, "max_fps", None) is not None:
        over.setdefault("pose", {})["max_fps"] = float(args.max_fps)
    return load_config(getattr(args, "config", None), over)
