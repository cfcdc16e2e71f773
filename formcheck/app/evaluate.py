"""``formcheck eval``: measure the analysis against labelled clips (issue #3).

For every clip it compares a report (``formcheck.report/2``) with the clip's truth labels
(``formcheck.truth/1``): rep count, extension-angle error against the per-frame labels, and
per-fault precision / recall / F1 over reps matched by time overlap. Gates (``--min-*`` /
``--max-*``) make the command exit 1 when missed, so CI can run it.

The scoring is in pure functions over report and label dicts (:func:`score_clip`,
:func:`match_reps`, :func:`angle_error`, :func:`fault_table`, :func:`totals`,
:func:`check_gates`); only :func:`run` and the report producers touch files, video or the model.

Label files with only ``profile`` and ``expected_rep_count`` (real footage) are valid: their
clips count for the rep-count totals only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np

from formcheck.app.eval_scoring import (MIN_IOU, FaultTally, _fmt, angle_error, check_gates,  # noqa: F401
                                       compact_ids, fault_table, format_table, interval_iou,
                                       match_reps, public, score_clip, totals)
from formcheck.errors import FormcheckError, SourceError
from formcheck.media.formats import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

TRUTH_SCHEMA = "formcheck.truth/1"
EVAL_SCHEMA = "formcheck.eval/1"


# --------------------------------------------------------------------------- inputs
def load_truth(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a ``formcheck.truth/1`` label file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceError(f"{p}: cannot read the label file ({e}).") from e
    if not isinstance(data, dict) or data.get("schema") != TRUTH_SCHEMA:
        raise SourceError(f"{p}: not a label file: expected schema {TRUTH_SCHEMA!r}, "
                          f"got {data.get('schema') if isinstance(data, dict) else type(data).__name__!r}.")
    if not isinstance(data.get("expected_rep_count"), int):
        raise SourceError(f"{p}: expected_rep_count: expected an integer, got {data.get('expected_rep_count')!r}.")
    data.setdefault("name", p.stem)
    return data


def _is_truth(p: Path) -> bool:
    try:
        with open(p, encoding="utf-8") as f:
            head = f.read(300)
        return TRUTH_SCHEMA in head or json.loads(p.read_text(encoding="utf-8")).get("schema") == TRUTH_SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def collect(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, Path | None]]:
    """(label file, clip or None) pairs from label files, clips and folders, in name order.

    A clip's label is the ``.json`` of the same stem; a label's clip is the video of the same
    stem (None when there is none: only ``--reports`` / ``--landmarks`` can then score it).
    """
    out: dict[Path, Path | None] = {}

    def clip_for(label: Path) -> Path | None:
        for suf in VIDEO_SUFFIXES:
            for s in (suf, suf.upper()):
                c = label.with_suffix(s)
                if c.is_file():
                    return c
        return None

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [j for j in sorted(p.glob("*.json")) if _is_truth(j)]
            if not found:
                raise SourceError(f"{p}: no label files ({TRUTH_SCHEMA} .json) in this folder.")
            for j in found:
                out[j] = clip_for(j)
        elif p.suffix.lower() == ".json":
            if not p.is_file():
                raise SourceError(f"No such label file: {p}.")
            out[p] = clip_for(p)
        elif p.is_file():
            j = p.with_suffix(".json")
            if not j.is_file():
                raise SourceError(f"{p}: no label file {j.name} next to it. Write one with "
                                  f'{{"schema": "{TRUTH_SCHEMA}", "profile": ..., "expected_rep_count": N}}.')
            out[j] = p
        else:
            raise SourceError(f"No such file or folder: {p}.")
    return sorted(out.items(), key=lambda kv: kv[0].stem)


# --------------------------------------------------------------------------- report producers
@dataclass
class PoseTrack:
    """The poses of one clip (``(t_s, PoseFrame | None)`` per analysed frame) and its ClipInfo.

    Poses depend only on the video and the pose settings, so one track can be replayed through
    the :class:`~formcheck.core.analysis.Analyzer` under many analysis settings (threshold sweeps).
    """

    poses: list
    info: Any
    max_fps: float = 0.0
    cuts: frozenset = frozenset()  # indices into poses of the frames after a scene cut
    rolls: list | None = None  # per pose: the camera roll (deg, confidence) the run had, or None


def report_from_track(track: PoseTrack, cfg) -> dict[str, Any]:
    """Replay a :class:`PoseTrack` through a :class:`~formcheck.app.session.Session` and build
    the report.

    Honours ``cfg.pose.max_fps`` the way :class:`~formcheck.media.sources.VideoSource` does (a track
    recorded at every frame can be replayed at a lower rate, not the reverse).
    """
    from formcheck.app.session import PoseReplay, Session

    hz = cfg.pose.max_fps
    if track.max_fps and (hz == 0 or hz > track.max_fps):
        raise FormcheckError(f"a pose track recorded at max_fps {track.max_fps:g} cannot be replayed at {hz:g}")
    replay = PoseReplay(track.poses, track.info.fps, hz if hz != track.max_fps else 0.0,
                        track.cuts, track.rolls)
    with Session(cfg, replay) as session:
        session.run(replay.frames())
        return session.report(track.info)


def track_from_landmarks(npz: str | os.PathLike, cfg, clip_path: str = "") -> PoseTrack:
    """A :class:`PoseTrack` from a landmark cache (``t``, ``xy`` (n,33,2) px, ``vis``, ``z``,
    ``ok``, ``wh``), as written by ``scripts/cache_landmarks.py``."""
    from formcheck.core.types import ClipInfo, PoseFrame

    d = np.load(npz)
    t, xy, vis, ok = d["t"], d["xy"], d["vis"], d["ok"].astype(bool)
    z = d["z"] if "z" in d.files else None
    w, h = (int(v) for v in d["wh"])
    fps = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 30.0
    s = min(1.0, cfg.pose.max_side_px / max(w, h)) if cfg.pose.max_side_px else 1.0
    wh = (round(w * s), round(h * s))
    poses = [(float(t[k]), PoseFrame(float(t[k]), xy[k], vis[k], None if z is None else z[k], None, wh)
              if ok[k] else None) for k in range(t.size)]
    info = ClipInfo(clip_path or str(npz), fps, int(t.size), t.size / fps, w, h, 0)
    return PoseTrack(poses, info)


def report_from_landmarks(npz: str | os.PathLike, cfg, clip_path: str = "") -> dict[str, Any]:
    """Replay a landmark cache through the Analyzer (a development shortcut: no video, no model)."""
    return report_from_track(track_from_landmarks(npz, cfg, clip_path), cfg)


def report_from_video(clip: Path, cfg, keep_track: bool = False) -> tuple[dict[str, Any], PoseTrack | None]:
    """Analyse ``clip`` with the real pose model (:func:`formcheck.app.pipeline.analyze_clip`);
    with ``keep_track`` also return its poses for replays."""
    from formcheck.app.pipeline import analyze_clip

    poses: list = []
    cuts: set[int] = set()
    rolls: list = []

    def keep(frame, pose, analyzer, events) -> None:
        # What the images gave besides the poses: scene cuts and the camera roll in effect.
        if getattr(frame, "cut", False):
            cuts.add(len(poses))
        poses.append((frame.t_s, pose))
        conf = analyzer.camera_roll_confidence
        rolls.append(None if conf is None else (analyzer.camera_roll_deg, conf))

    res = analyze_clip(clip, cfg, on_frame=keep if keep_track else None, include_frames=True)
    track = PoseTrack(poses, res.info, cfg.pose.max_fps, frozenset(cuts), rolls) if keep_track else None
    return res.report, track


# --------------------------------------------------------------------------- CLI
def add_parser(sub) -> None:
    from formcheck.app.options import HelpFormatter, common_options

    p = sub.add_parser(
        "eval", aliases=["evaluate"], help="measure reps, angles and faults against labelled clips",
        description="Score the analysis on labelled clips (formcheck.truth/1 label files): rep "
                    "count, extension-angle MAE and bias, per-fault precision/recall/F1. Exits 1 "
                    "when a --min-*/--max-* gate is missed.",
        formatter_class=HelpFormatter,
        epilog="examples:\n"
               "  formcheck eval sample_videos\n"
               "  formcheck eval labelled_clips/ --json eval.json\n"
               "  formcheck eval sample_videos --min-exact-count 1 --max-angle-mae 5 \\\n"
               "      --min-fault-f1 1 --fault-ids hyperextension,jerky_lift\n"
               "  formcheck eval clips/ --set faults.max_extension_deg=12   (try a threshold)\n"
               "  formcheck eval clips/ --sweep faults.min_lifting_s=0.5,0.6,0.7 --fault-ids jerky_lift",
    )
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="label files (.json), clips (label = same name .json) or folders")
    common_options(p)
    p.add_argument("--reports", metavar="DIR", help="score existing reports DIR/<name>.json instead of analysing")
    p.add_argument("--save-reports", metavar="DIR", help="also write each clip's report to DIR/<name>.json")
    p.add_argument("--json", metavar="OUT", help="write every figure as JSON (schema formcheck.eval/1)")
    p.add_argument("--max-fps", type=float, default=None, metavar="HZ",
                   help="analyse at most HZ frames per second (0 = every frame)")
    p.add_argument("--min-exact-count", type=float, metavar="F", help="gate: share of clips with the exact rep count >= F")
    p.add_argument("--max-angle-mae", type=float, metavar="DEG", help="gate: mean extension-angle MAE <= DEG")
    p.add_argument("--min-fault-f1", type=float, metavar="F", help="gate: F1 of each fault id in --fault-ids >= F")
    p.add_argument("--fault-ids", metavar="ID,...", help="fault ids for --min-fault-f1 (default: every labelled id)")
    p.add_argument("--sweep", metavar="SECTION.KEY=V1,V2,...",
                   help="try several values of one setting: one line of totals per value (poses are "
                        "computed once and replayed, so each extra value costs seconds)")
    p.add_argument("--landmarks", metavar="DIR", help=argparse.SUPPRESS)  # dev: replay DIR/<name>.npz
    p.add_argument("--quiet", "-q", action="store_true", help="print only the totals and missed gates")
    p.set_defaults(func=run)


def _sweep_values(spec: str) -> tuple[str, list]:
    """``section.key=v1,v2,...`` -> (``section.key``, [v1, v2, ...]) with TOML-parsed values."""
    key, sep, vals = spec.partition("=")
    if not sep or "." not in key or not vals:
        raise FormcheckError(f"--sweep {spec!r}: expected section.key=v1,v2,..., e.g. faults.max_extension_deg=8,10,12")
    from formcheck.app.options import parse_set

    return key.strip(), [parse_set([f"{key}={v}"])[key.split(".")[0]][key.split(".", 1)[1]]
                         for v in vals.split(",") if v.strip()]


def score_all(items, cfg, args, tracks: dict[str, PoseTrack] | None = None, log_progress: bool = True) -> list[dict]:
    """Score every (label, clip) of ``items`` under ``cfg``; ``tracks`` caches poses by clip name."""
    clips: list[dict[str, Any]] = []
    for k, (label, clip) in enumerate(items, 1):
        truth = load_truth(label)
        name = label.stem
        tc = time.perf_counter()
        if args.reports:
            rp = Path(args.reports) / f"{name}.json"
            if not rp.is_file():
                raise SourceError(f"--reports: no report {rp}. Analyse the clip first "
                                  f"(formcheck analyze CLIP --json {rp}) or drop --reports.")
            report = json.loads(rp.read_text(encoding="utf-8"))
        elif tracks is not None and name in tracks:
            report = report_from_track(tracks[name], cfg)
        elif args.landmarks:
            npz = Path(args.landmarks) / f"{name}.npz"
            if not npz.is_file():
                raise SourceError(f"--landmarks: no landmark cache {npz}.")
            track = track_from_landmarks(npz, cfg, str(clip or label))
            if tracks is not None:
                tracks[name] = track
            report = report_from_track(track, cfg)
        else:
            if clip is None:
                raise SourceError(f"{label}: no clip of the same name next to it (.mp4, .mov, ...); "
                                  "pass --reports DIR to score existing reports.")
            if log_progress and not args.quiet:
                print(f"[{k}/{len(items)}] analysing {clip.name} ...", file=sys.stderr, flush=True)
            report, track = report_from_video(clip, cfg, keep_track=tracks is not None)
            if tracks is not None and track is not None:
                tracks[name] = track
        if args.save_reports:
            from formcheck.render.report import write_json

            write_json(report, Path(args.save_reports) / f"{name}.json")
        sc = score_clip(report, truth)
        sc["name"] = name
        sc["seconds"] = round(time.perf_counter() - tc, 2)
        clips.append(sc)
    return clips


def sweep_line(value: Any, tot: dict[str, Any], fault_ids: Sequence[str] | None) -> str:
    """One line of a sweep: count, angle and per-fault F1 figures."""
    ids = list(fault_ids) if fault_ids else sorted(tot["faults"])
    f1s = " ".join(f"{fid}={_fmt(tot['faults'].get(fid, {}).get('f1'), '.2f')}" for fid in ids)
    m = tot["faults_micro"]
    return (f"{str(value):>10}  exact {_fmt(tot['exact_count'], '.0%'):>4}  |err| {_fmt(tot['count_mae'], '.2f')}  "
            f"MAE {_fmt(tot['angle_mae'], '.2f')}°  F1 micro {_fmt(m['f1'], '.2f')} (FP {m['fp']}, FN {m['fn']})  "
            f"clean flagged {tot['clean_reps']['flagged']}/{tot['clean_reps']['reps']}  {f1s}")


def run(args: argparse.Namespace) -> int:
    from formcheck.app.options import config_from_args
    from formcheck.config import merge

    cfg = config_from_args(args)
    fault_ids = [s.strip() for s in args.fault_ids.split(",") if s.strip()] if args.fault_ids else None
    if fault_ids:
        from formcheck.core.faults import FAULT_IDS

        bad = [f for f in fault_ids if f not in FAULT_IDS]
        if bad:
            raise FormcheckError(f"--fault-ids: unknown id {', '.join(bad)}: expected some of {', '.join(FAULT_IDS)}")
    items = collect(args.paths)
    t0 = time.perf_counter()

    if args.sweep:
        if args.reports:
            raise FormcheckError("--sweep re-analyses the clips under each value; it cannot use --reports.")
        key, values = _sweep_values(args.sweep)
        sect, name = key.split(".", 1)
        if sect == "pose" and not (args.reports or args.landmarks):
            log.info("sweeping a pose setting: every value re-runs the model")
        tracks: dict[str, PoseTrack] | None = None if sect == "pose" and not args.landmarks else {}
        print(f"sweep {key} over {len(items)} clips (each line: the totals under that value)")
        rows = []
        for v in values:
            c = merge(cfg, {sect: {name: v}}, origin="--sweep")
            clips = score_all(items, c, args, tracks, log_progress=v == values[0])
            tot = totals(clips)
            missed = check_gates(tot, args.min_exact_count, args.max_angle_mae, args.min_fault_f1, fault_ids)
            print(sweep_line(v, tot, fault_ids) + ("  gates missed" if missed else ""), flush=True)
            rows.append({"value": v, "totals": public(tot), "gates_missed": missed, "clips": public(clips)})
        if args.json:
            from formcheck.render.report import atomic_write

            atomic_write(args.json, json.dumps({"schema": EVAL_SCHEMA, "sweep": key, "rows": rows,
                                                "seconds": round(time.perf_counter() - t0, 2)},
                                               indent=1, allow_nan=False) + "\n")
        return 0

    clips = score_all(items, cfg, args)
    tot = totals(clips)
    missed = check_gates(tot, args.min_exact_count, args.max_angle_mae, args.min_fault_f1, fault_ids)
    text = format_table(clips, tot)
    if args.quiet:
        text = text.splitlines()[-1]
    print(text)
    if args.json:
        from formcheck.render.report import atomic_write

        doc = {
            "schema": EVAL_SCHEMA, "config_digest": cfg.digest(), "config": cfg.to_dict(),
            "source": "reports" if args.reports else "landmarks" if args.landmarks else "video",
            "seconds": round(time.perf_counter() - t0, 2),
            "clips": public(clips), "totals": public(tot), "gates_missed": missed,
        }
        atomic_write(args.json, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    for m in missed:
        print(f"GATE MISSED: {m}")
    if missed:
        return 1
    gates = [g for g in ("min_exact_count", "max_angle_mae", "min_fault_f1") if getattr(args, g) is not None]
    if gates:
        print("all gates passed: " + ", ".join("--" + g.replace("_", "-") for g in gates))
    return 0
