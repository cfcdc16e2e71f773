"""Command-line pieces every front end shares: the analysis options, the configuration they
build, and the help formatter. Front ends import this module, never :mod:`formcheck.app.cli`
(which imports them)."""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Sequence

from formcheck.config import PROFILES, Config, load_config, merge
from formcheck.errors import FormcheckError


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
    p.add_argument("--calibrate", choices=("off", "start"), default=None,
                   help="the athlete's own neutral: start = the first still second at the top, "
                        "before the first rep, reads 0 (batch keeps it with --athlete's profile and "
                        "uses it for that athlete's later clips); off (default)")
    p.add_argument("--neutral", metavar="DEG", type=float, default=None,
                   help="the athlete's neutral offset in degrees, subtracted from every angle "
                        "(e.g. from an earlier calibration)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. faults.max_extension_deg=12 (repeatable; "
                        "`formcheck config` lists them all)")


def parse_set(items: Sequence[str]) -> dict[str, dict]:
    """``section.key=value`` overrides (value parsed as TOML, else a string)."""
    from formcheck.config import tomllib  # tomllib, or tomli on Python 3.10

    over: dict[str, dict] = {}
    for it in items:
        key, sep, val = it.partition("=")
        sect, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise FormcheckError(f"--set {it!r}: expected section.key=value, e.g. faults.max_extension_deg=12")
        try:
            v = tomllib.loads(f"v = {val.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            v = val.strip()
        over.setdefault(sect, {})[name] = v
    return over


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration of a command: defaults, ``--config FILE``, then ``--profile``,
    ``--model``, ``--max-fps``, ``--calibrate`` and ``--neutral``, then each ``--set``."""
    over: dict[str, dict] = {}
    if getattr(args, "profile", None):
        over.setdefault("kinematics", {})["profile"] = args.profile
    if getattr(args, "model", None):
        over.setdefault("pose", {})["model"] = args.model
    if getattr(args, "max_fps", None) is not None:
        over.setdefault("pose", {})["max_fps"] = float(args.max_fps)
    if getattr(args, "calibrate", None):
        over.setdefault("kinematics", {})["calibrate"] = args.calibrate
    if getattr(args, "neutral", None) is not None:
        over.setdefault("kinematics", {})["neutral_offset_deg"] = float(args.neutral)
    cfg = load_config(getattr(args, "config", None), over)
    if getattr(args, "set", None):
        cfg = merge(cfg, parse_set(args.set), origin="--set")
    return cfg


_BULLET = re.compile(r"^(\s+)([*-]|\d+\.)\s+")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps descriptions and epilogs to the terminal while keeping their layout.

    * Blank lines separate paragraphs; a paragraph of unindented lines is re-flowed.
    * An unindented line ending in ``:`` is a heading and stays on its own line.
    * Indented bullet items (``* ``, ``- ``, ``1. ``) wrap under their own text.
    * Other indented lines (example commands) are kept verbatim, so they stay copyable.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        width = max(width, 20)
        out: list[str] = []
        para: list[str] = []

        def flush() -> None:
            if para:
                out.extend(textwrap.wrap(" ".join(para), width, initial_indent=indent,
                                         subsequent_indent=indent, break_on_hyphens=False))
                para.clear()

        for line in text.splitlines():
            stripped = line.strip()
            if not stripped:
                flush()
                out.append("")
            elif line[0].isspace():
                flush()
                m = _BULLET.match(line)
                if m:
                    hang = " " * len(m.group(0))
                    out.extend(textwrap.wrap(line[m.end():].strip(), width,
                                             initial_indent=indent + m.group(0),
                                             subsequent_indent=indent + hang,
                                             break_on_hyphens=False))
                else:
                    out.append(indent + line.rstrip())
            elif stripped.endswith(":"):
                flush()
                out.append(indent + stripped)
            else:
                para.append(stripped)
        flush()
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)


class CommandParser(argparse.ArgumentParser):
    """The parser of every subcommand: always the wrapping :class:`HelpFormatter`."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)
