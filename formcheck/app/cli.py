"""The ``formcheck`` command line.

Subcommands live next to the front ends they drive; each module exposes
``add_parser(subparsers)``, which registers a parser whose ``func`` runs the command.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from formcheck import __version__
from formcheck.app.options import CommandParser, HelpFormatter, common_options, config_from_args
from formcheck.config import default_toml
from formcheck.errors import AnalysisError, FormcheckError, OutputError

log = logging.getLogger("formcheck")

# Front-end modules that add subcommands (in --help order).
COMMAND_MODULES = (
    "formcheck.app.cli",
    "formcheck.app.evaluate",
    "formcheck.app.live",
    "formcheck.app.batch",
    "formcheck.app.history",
    "formcheck.web",
)

EPILOG = """\
examples:
  formcheck                                  analyse the bundled sample clip
  formcheck analyze my_set.mp4               reps, faults and cues of one clip
  formcheck analyze my_set.mp4 --json r.json --csv reps.csv
  formcheck config > formcheck.toml          write the defaults, edit, then --config formcheck.toml

Film side-on, whole body in view (hips, knees and shoulders), camera still.
"""


ANALYZE_EPILOG = """\
examples:
  formcheck analyze my_set.mp4                      reps, faults and cues, printed
  formcheck analyze my_set.mp4 --json r.json --csv reps.csv
  formcheck analyze my_set.mp4 --annotate out.mp4 --html report.html
  formcheck analyze phone.mov --profile prone --max-fps 15

Film side-on, whole body in view (hips, knees and shoulders), camera still. The JSON report
follows docs/report.schema.json (formcheck.report/2).

Exit status: 0 analysed; 2 the clip or an option cannot be used (the message says why and
what to do); 3 the clip was read but no person was found; 130 stopped with Ctrl-C (nothing
written, existing files kept).
"""

HISTORY_EPILOG = """\
examples:
  formcheck history --db results/formcheck.sqlite
  formcheck history --db results/formcheck.sqlite --athlete Ana --html ana.html
"""
"""Examples for ``formcheck history`` (its module registers the parser; the CLI adds these)."""


def sample_clip() -> Path:
    """The bundled sample clip (package data: formcheck/data/, also in an installed wheel)."""
    from formcheck.media.samples import bundled_sample

    return bundled_sample()


def add_parser(sub) -> None:
    p = sub.add_parser(
        "analyze", aliases=["analyse"], help="analyse a recorded clip: reps, faults, cues",
        description="Analyse one recorded set: counts reps, measures depth, tempo and peak "
                    "extension, flags faults and prints the cue for each.",
        epilog=ANALYZE_EPILOG, formatter_class=HelpFormatter,
    )
    p.add_argument("clip", nargs="?", help="video file (default: the bundled sample clip)")
    common_options(p)
    p.add_argument("--json", metavar="OUT", help="write the JSON report (schema formcheck.report/2)")
    p.add_argument("--csv", metavar="OUT", help="write one CSV row per rep")
    p.add_argument("--max-fps", type=float, default=None, metavar="HZ",
                   help="analyse at most HZ frames per second (0 = every frame)")
    p.add_argument("--annotate", metavar="OUT", help="write an annotated video (.webm or .mp4)")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML report with plots")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run_analyze)

    c = sub.add_parser("config", help="print the default configuration as commented TOML",
                       description="Print every setting with its default and unit, as a TOML "
                                   "file you can edit and pass with --config.",
                       epilog="examples:\n"
                              "  formcheck config > my.toml            (edit, then:)\n"
                              "  formcheck analyze clip.mp4 --config my.toml\n"
                              "  formcheck analyze clip.mp4 --set faults.max_extension_deg=12   (one setting)",
                       formatter_class=HelpFormatter)
    c.set_defaults(func=lambda args: print(default_toml()) or 0)


def run_analyze(args: argparse.Namespace) -> int:
    from formcheck.app.interrupt import SafeInterrupt
    from formcheck.app.pipeline import analyze_clip, no_person_message
    from formcheck.app.progress import Progress
    from formcheck.render.report import format_summary, write_csv, write_json
    from formcheck.media.sources import check_video_path
    from formcheck.media.video_out import prepare_output

    cfg = config_from_args(args)
    no_clip = args.clip is None
    clip = Path(args.clip) if args.clip else sample_clip()
    check_video_path(clip)
    # Outputs are checked before the work, not after it.
    outputs = [o for o in (args.json, args.csv, args.html, args.annotate) if o]
    for out in outputs:
        if Path(out).resolve() == clip.resolve():
            raise OutputError(f"{out} is the clip being analysed: choose another output path.")
    if len({Path(o).resolve() for o in outputs}) < len(outputs):
        raise OutputError(f"Two outputs have the same path ({', '.join(outputs)}): give each its own.")
    for out in (args.json, args.csv, args.html):  # the annotated video checks its own (codec, folder)
        if out:
            prepare_output(out)
    hooks = []
    annot = None
    if args.annotate:
        from formcheck.render.video import VideoAnnotator

        annot = VideoAnnotator(args.annotate, cfg)
        hooks.append(annot.on_frame)
    # Ctrl-C stops between frames, never inside the video writer's queue or a native call.
    with SafeInterrupt() as safe:
        bar = None

        def progress(frame, info) -> None:
            nonlocal bar
            safe.check()  # between frames: the place to stop on Ctrl-C
            if bar is None:
                if info.duration_s <= 5 or args.quiet:
                    return
                bar = Progress(info.n_frames, label=f"analysing {clip.name}", unit=" frames")
            bar.set(frame.index + 1)

        on_frame = (lambda *a: [h(*a) for h in hooks]) if hooks else None
        try:
            res = analyze_clip(clip, cfg, on_frame=on_frame, progress=progress)
            if res.result.turned is not None and annot is not None:
                # Found turned on its side: the annotated video of that pass is not worth keeping.
                from formcheck.app.pipeline import analyze_turned
                from formcheck.render.video import VideoAnnotator

                annot.abort()
                annot = VideoAnnotator(args.annotate, cfg)
                res = analyze_turned(clip, cfg, res, progress=progress, on_frame=annot.on_frame)
            safe.check()  # the last chance to stop: from here on every output is written
        finally:
            if bar is not None:
                bar.close()
            if annot is not None:
                annot.close()
        report = res.report
        if args.json:
            write_json(report, args.json)
        if args.csv:
            write_csv(report, args.csv)
        if args.html:
            from formcheck.render.html_report import write_html_report

            write_html_report(report, args.html, video=args.annotate)
    if not args.quiet:
        print(format_summary(report))
    if res.result.frames_with_pose == 0:
        raise AnalysisError(no_person_message(clip.name)
                            + (" The report was written anyway." if args.json else ""))
    if not args.quiet:
        written = [x for x in (args.json, args.csv, args.annotate, args.html) if x]
        if written:
            print("\nwrote: " + ", ".join(written))
        if no_clip:
            print(
                "\nThat was the bundled sample. Next:\n"
                "  formcheck analyze YOUR_CLIP.mp4 --json report.json   (film side-on, whole body in view)\n"
                "  formcheck live --camera 0                             (cues while you train)\n"
                "  formcheck batch FOLDER --out results/                 (score many clips)\n"
                "  formcheck --help                                      (everything else)"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="formcheck",
        description="Camera-based form checker for the lever back extension: counts reps, "
                    "flags hyperextension, jerky lifts and other faults, and tells you what to fix.",
        epilog=EPILOG, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"formcheck {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        mod.add_parser(sub)
    history = sub.choices.get("history")
    if history is not None and not history.epilog:
        history.epilog = HISTORY_EPILOG
    return parser


def suggest_command(word: str, commands: Iterable[str]) -> str | None:
    """The command ``word`` is probably a typo of, or None (``difflib``, similarity >= 0.6)."""
    close = difflib.get_close_matches(word, sorted(commands), n=1, cutoff=0.6)
    return close[0] if close else None


def _first_word(argv: list[str]) -> str | None:
    """The first argument when it is a bare word (no option before it, so not an option's value)."""
    for a in argv:
        if a in ("-v", "-vv", "-vvv", "--verbose"):
            continue
        return None if a.startswith("-") else a
    return None


def error_log_path() -> Path:
    from formcheck.media.models import cache_dir

    return cache_dir() / "last-error.log"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    words = [a for a in argv if not a.startswith("-")]
    if not any(a in ("-h", "--help", "--version") for a in argv) and (not words or words[0] not in commands):
        first = _first_word(argv)
        if first is not None and not Path(first).suffix and not Path(first).exists():
            meant = suggest_command(first, commands)
            if meant is not None:  # `formcheck anlyze x.mp4`: not a clip, a typo
                print(f"formcheck: error: unknown command '{first}' — did you mean '{meant}'? "
                      "(see `formcheck --help`)", file=sys.stderr)
                return 2
        # `formcheck`, `formcheck clip.mp4`, `formcheck -q`: analyse (the bundled sample by default)
        argv = ["analyze", *argv]
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except FormcheckError as e:
        print(f"formcheck: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("formcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # unexpected: short message, full log on disk
        path = error_log_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(traceback.format_exc())
            where = f"The full log is in {path}."
        except OSError:
            where = ""
        print(f"formcheck: unexpected error: {type(e).__name__}: {e}. {where} "
              "Please report it with that file.", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
