"""``formcheck eval``: measure the analysis against labelled clips (issue #3).

For every clip it compares a report (``formcheck.report/1``) with the clip's truth labels
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
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Sequence

import numpy as np

from formcheck.errors import FormcheckError, SourceError
from formcheck.media.formats import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

TRUTH_SCHEMA = "formcheck.truth/1"
EVAL_SCHEMA = "formcheck.eval/1"

MIN_IOU = 0.2
"""Found and labelled reps match when their [t_start, t_end] intervals overlap by at least this
intersection-over-union (plus a preference for the same kind: counted vs partial)."""


# --------------------------------------------------------------------------- pure scoring
def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time intervals (s); 0 when they do not overlap."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match_reps(
    found: Sequence[dict], labelled: Sequence[dict], min_iou: float = MIN_IOU
) -> list[tuple[int | None, int | None]]:
    """One-to-one matching of found reps to labelled reps by time overlap.

    Both lists hold rep dicts with ``t_start``, ``t_end`` (s) and ``counted``; partial reps
    (``counted`` false) are included and preferably matched to partial reps. Greedy on
    IoU + 0.25 for the same kind, pairs below ``min_iou`` IoU never match.

    Returns (found index | None, labelled index | None) pairs: matched pairs, then unmatched
    found reps (None, ...) and unmatched labelled reps, sorted by time.
    """
    cands = []
    for i, f in enumerate(found):
        for j, lab in enumerate(labelled):
            iou = interval_iou((f["t_start"], f["t_end"]), (lab["t_start"], lab["t_end"]))
            if iou >= min_iou and iou > 0:
                same = bool(f.get("counted", True)) == bool(lab.get("counted", True))
                cands.append((iou + 0.25 * same, i, j))
    cands.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_f: set[int] = set()
    used_l: set[int] = set()
    pairs: list[tuple[int | None, int | None]] = []
    for _, i, j in cands:
        if i in used_f or j in used_l:
            continue
        used_f.add(i)
        used_l.add(j)
        pairs.append((i, j))
    pairs += [(i, None) for i in range(len(found)) if i not in used_f]
    pairs += [(None, j) for j in range(len(labelled)) if j not in used_l]

    def t(p):
        i, j = p
        return found[i]["t_start"] if i is not None else labelled[j]["t_start"]

    return sorted(pairs, key=t)


def _fault_ids(rep: dict | None) -> set[str]:
    """Fault ids of a rep dict: report reps hold dicts with ``id``, labels hold plain ids."""
    if rep is None:
        return set()
    return {f["id"] if isinstance(f, dict) else str(f) for f in rep.get("faults", [])}


@dataclass
class FaultTally:
    """True positives, false positives and false negatives of one fault id (counted per rep)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: FaultTally) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """F1 = 2TP / (2TP + FP + FN); None when the id was neither labelled nor found."""
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": _r(self.precision),
                "recall": _r(self.recall), "f1": _r(self.f1)}


def fault_table(
    found: Sequence[dict], labelled: Sequence[dict], pairs: Iterable[tuple[int | None, int | None]]
) -> tuple[dict[str, FaultTally], list[str], dict[str, int]]:
    """Per-fault tallies over matched reps, a list of mismatches, and clean-rep figures.

    A fault on a found rep with no labelled counterpart is a false positive; a labelled fault
    on a rep nobody found is a false negative. Clean reps are labelled reps with ``faults == []``;
    ``clean`` returns {"reps": n clean labelled reps, "flagged": how many of them got a fault,
    "faults": faults found on them}.
    """
    tallies: dict[str, FaultTally] = {}
    mism: list[str] = []
    clean = {"reps": 0, "flagged": 0, "faults": 0}
    for i, j in pairs:
        f = found[i] if i is not None else None
        lab = labelled[j] if j is not None else None
        fs, ls = _fault_ids(f), _fault_ids(lab)
        for fid in fs | ls:
            t = tallies.setdefault(fid, FaultTally())
            if fid in fs and fid in ls:
                t.tp += 1
            elif fid in fs:
                t.fp += 1
            else:
                t.fn += 1
        if lab is not None and not ls:
            clean["reps"] += 1
            clean["faults"] += len(fs)
            clean["flagged"] += bool(fs)
        name = _rep_name(f, lab)
        if f is None:
            mism.append(f"{name}: not found" + (f" (labelled {', '.join(sorted(ls))})" if ls else ""))
            continue
        if lab is None:
            mism.append(f"{name}: no labelled rep" + (f" (found {', '.join(sorted(fs))})" if fs else ""))
            continue
        if bool(f.get("counted", True)) != bool(lab.get("counted", True)):
            mism.append(f"{name}: found {'counted' if f.get('counted', True) else 'partial'}, "
                        f"labelled {'counted' if lab.get('counted', True) else 'partial'}")
        for fid in sorted(ls - fs):
            mism.append(f"{name}: missed {fid}")
        for fid in sorted(fs - ls):
            mism.append(f"{name}: extra {fid}")
    return tallies, mism, clean


def _rep_name(found: dict | None, lab: dict | None) -> str:
    if lab is not None:
        return f"rep {lab.get('index', '?')}" + ("" if lab.get("counted", True) else "p")
    assert found is not None
    return f"found rep {found.get('index', '?')}" + ("" if found.get("counted", True) else "p") + \
        f" @{found['t_start']:.1f}s"


def angle_error(report: dict, truth: dict) -> dict[str, Any] | None:
    """Extension-angle error of the report against the per-frame labels (deg).

    The label (``frames.t_s``, ``frames.extension_deg``) is interpolated linearly at the
    report's frame times; frames where the report has no value (None/NaN) or that lie outside
    the labelled time span are left out. Returns {"mae", "bias" (mean report - label), "rmse",
    "max", "n"} or None when either side has no per-frame series.
    """
    lf = truth.get("frames") or {}
    rf = report.get("frames") or {}
    if not lf.get("t_s") or not lf.get("extension_deg") or not rf.get("t_s"):
        return None
    lt = np.asarray(lf["t_s"], dtype=np.float64)
    le = np.asarray([np.nan if v is None else v for v in lf["extension_deg"]], dtype=np.float64)
    ok_l = np.isfinite(lt) & np.isfinite(le)
    lt, le = lt[ok_l], le[ok_l]
    rt = np.asarray(rf["t_s"], dtype=np.float64)
    re = np.asarray([np.nan if v is None else v for v in rf.get("extension_deg", [])], dtype=np.float64)
    if lt.size < 2 or re.size != rt.size:
        return None
    keep = np.isfinite(re) & np.isfinite(rt) & (rt >= lt[0]) & (rt <= lt[-1])
    if not keep.any():
        return {"mae": None, "bias": None, "rmse": None, "max": None, "n": 0}
    d = re[keep] - np.interp(rt[keep], lt, le)
    return {"mae": float(np.mean(np.abs(d))), "bias": float(np.mean(d)),
            "rmse": float(np.sqrt(np.mean(d * d))), "max": float(np.max(np.abs(d))),
            "n": int(keep.sum())}


def score_clip(report: dict, truth: dict, min_iou: float = MIN_IOU) -> dict[str, Any]:
    """Everything measured for one clip (a JSON-ready dict; tallies under ``_tallies``)."""
    summary = report.get("summary", {})
    found_reps = list(report.get("reps", []))
    found = int(summary.get("rep_count", sum(bool(r.get("counted", True)) for r in found_reps)))
    expected = int(truth["expected_rep_count"])
    out: dict[str, Any] = {
        "name": truth.get("name") or Path(str(report.get("clip", {}).get("path", "?"))).stem,
        "profile_expected": truth.get("profile"), "profile_found": report.get("profile"),
        "expected_reps": expected, "found_reps": found, "count_error": found - expected,
        "partial_found": int(summary.get("partial_reps", sum(not r.get("counted", True) for r in found_reps))),
        "angle": angle_error(report, truth),
        "warnings": list(report.get("warnings", [])),
    }
    labelled = truth.get("reps")
    if labelled is None:  # count-only labels (real footage)
        out.update(rep_labels=False, faults=None, mismatches=[], clean=None, _tallies={})
        out["faults_found"] = sorted(f for r in found_reps for f in _fault_ids(r))
        return out
    out["partial_expected"] = sum(not r.get("counted", True) for r in labelled)
    pairs = match_reps(found_reps, labelled, min_iou)
    tallies, mism, clean = fault_table(found_reps, labelled, pairs)
    out.update(
        rep_labels=True,
        pairs=[[i, j] for i, j in pairs],
        faults={k: v.to_dict() for k, v in sorted(tallies.items())},
        faults_found=sorted(f for r in found_reps for f in _fault_ids(r)),
        faults_labelled=sorted(f for r in labelled for f in _fault_ids(r)),
        mismatches=mism, clean=clean, _tallies=tallies,
    )
    return out


def totals(clips: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Set-level figures over scored clips (see :func:`score_clip`)."""
    n = len(clips)
    errs = [c["count_error"] for c in clips]
    maes = [c["angle"]["mae"] for c in clips if c.get("angle") and c["angle"]["mae"] is not None]
    biases = [c["angle"]["bias"] for c in clips if c.get("angle") and c["angle"]["bias"] is not None]
    tallies: dict[str, FaultTally] = {}
    clean = {"reps": 0, "flagged": 0, "faults": 0}
    for c in clips:
        for fid, t in c.get("_tallies", {}).items():
            tallies.setdefault(fid, FaultTally()).add(t)
        if c.get("clean"):
            for k in clean:
                clean[k] += c["clean"][k]
    all_t = FaultTally()
    for t in tallies.values():
        all_t.add(t)
    return {
        "clips": n,
        "exact_count": sum(e == 0 for e in errs) / n if n else None,
        "off_by_one": sum(abs(e) == 1 for e in errs) / n if n else None,
        "count_mae": float(np.mean(np.abs(errs))) if n else None,
        "clips_with_angles": len(maes),
        "angle_mae": float(np.mean(maes)) if maes else None,
        "angle_bias": float(np.mean(biases)) if biases else None,
        "clips_with_rep_labels": sum(bool(c.get("rep_labels")) for c in clips),
        "faults": {k: v.to_dict() for k, v in sorted(tallies.items())},
        "faults_micro": all_t.to_dict(),
        "clean_reps": clean,
        "_tallies": tallies,
    }


def check_gates(
    tot: dict[str, Any], min_exact_count: float | None = None, max_angle_mae: float | None = None,
    min_fault_f1: float | None = None, fault_ids: Sequence[str] | None = None,
) -> list[str]:
    """Missed gates as readable lines (empty = all passed).

    ``min_fault_f1`` applies to each id of ``fault_ids`` (default: every labelled fault id); an
    id that was neither labelled nor found has no F1 and misses the gate (the set cannot show it).
    """
    missed: list[str] = []
    if min_exact_count is not None:
        v = tot.get("exact_count")
        if v is None or v < min_exact_count:
            missed.append(f"exact rep count share {_fmt(v, '.2f')} < --min-exact-count {min_exact_count:g}")
    if max_angle_mae is not None:
        v = tot.get("angle_mae")
        if v is None:
            missed.append("angle MAE: no clip has per-frame angle labels (--max-angle-mae given)")
        elif v > max_angle_mae:
            missed.append(f"angle MAE {v:.2f}° > --max-angle-mae {max_angle_mae:g}°")
    if min_fault_f1 is not None:
        tallies: dict[str, FaultTally] = tot.get("_tallies", {})
        ids = list(fault_ids) if fault_ids else sorted(k for k, t in tallies.items() if t.tp + t.fn)
        if not ids:
            missed.append("fault F1: no clip has per-rep fault labels (--min-fault-f1 given)")
        for fid in ids:
            f1 = tallies[fid].f1 if fid in tallies else None
            if f1 is None:
                missed.append(f"{fid}: neither labelled nor found, F1 undefined (--min-fault-f1 {min_fault_f1:g})")
            elif f1 < min_fault_f1:
                missed.append(f"{fid}: F1 {f1:.2f} < --min-fault-f1 {min_fault_f1:g}")
    return missed


def _r(v: float | None, nd: int = 3) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), nd)


def _fmt(v: float | None, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


# --------------------------------------------------------------------------- text output
def format_table(clips: Sequence[dict[str, Any]], tot: dict[str, Any]) -> str:
    """The per-clip table, the per-fault table and the totals as text."""
    w = max([len(c["name"]) for c in clips] + [4])
    head = f"{'clip':<{w}}  prof  exp found  MAE°  bias°  faults found / labelled"
    lines = [head, "-" * len(head)]
    for c in clips:
        a = c.get("angle") or {}
        prof = (c.get("profile_found") or "?")[:2]
        if c.get("profile_expected") and c["profile_expected"] != c.get("profile_found"):
            prof += "!"
        exp = f"{c['expected_reps']}" + (f"+{c['partial_expected']}p" if c.get("partial_expected") else "")
        fnd = f"{c['found_reps']}" + (f"+{c['partial_found']}p" if c.get("partial_found") else "")
        mark = " " if c["count_error"] == 0 else "*"
        ff = compact_ids(c.get("faults_found") or [])
        fl = compact_ids(c.get("faults_labelled") or []) if c.get("rep_labels") else "(no rep labels)"
        lines.append(
            f"{c['name']:<{w}}  {prof:<4} {exp:>4} {fnd:>4}{mark} {_fmt(a.get('mae'), '5.2f'):>5} "
            f"{_fmt(a.get('bias'), '+6.2f'):>6}  {ff} / {fl}"
        )
        for m in c.get("mismatches", []):
            lines.append(f"{'':<{w}}    - {m}")
        if c.get("error"):
            lines.append(f"{'':<{w}}    ! {c['error']}")
    lines.append("")
    if tot["faults"]:
        lines.append("fault            TP  FP  FN  precision  recall    F1")
        for fid, t in tot["faults"].items():
            lines.append(f"{fid:<15} {t['tp']:>3} {t['fp']:>3} {t['fn']:>3}  {_fmt(t['precision'], '9.2f'):>9}"
                         f"  {_fmt(t['recall'], '6.2f'):>6}  {_fmt(t['f1'], '4.2f'):>4}")
        m = tot["faults_micro"]
        lines.append(f"{'all (micro)':<15} {m['tp']:>3} {m['fp']:>3} {m['fn']:>3}  {_fmt(m['precision'], '9.2f'):>9}"
                     f"  {_fmt(m['recall'], '6.2f'):>6}  {_fmt(m['f1'], '4.2f'):>4}")
        cl = tot["clean_reps"]
        lines.append(f"clean labelled reps: {cl['reps']}, flagged {cl['flagged']} ({cl['faults']} faults)")
        lines.append("")
    lines.append(
        f"{tot['clips']} clips: exact count {_fmt(tot['exact_count'], '.0%')}, off by one "
        f"{_fmt(tot['off_by_one'], '.0%')}, mean |count error| {_fmt(tot['count_mae'], '.2f')}; "
        f"angle MAE {_fmt(tot['angle_mae'], '.2f')}° (bias {_fmt(tot['angle_bias'], '+.2f')}°) over "
        f"{tot['clips_with_angles']} clips with angle labels"
    )
    return "\n".join(lines)


def compact_ids(ids: Sequence[str]) -> str:
    """``["a", "a", "b"]`` -> ``"a×2,b"``; ``"-"`` when empty."""
    from collections import Counter

    c = Counter(ids)
    return ",".join(k + (f"×{n}" if n > 1 else "") for k, n in sorted(c.items())) or "-"


def public(d: Any) -> Any:
    """``d`` without private (``_``-prefixed) keys, JSON-ready (NaN -> None)."""
    if isinstance(d, dict):
        return {k: public(v) for k, v in d.items() if not str(k).startswith("_")}
    if isinstance(d, list | tuple):
        return [public(v) for v in d]
    if isinstance(d, float):
        return _r(d, 4)
    return d


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
    replay = PoseReplay(track.poses, track.info.fps, hz if hz != track.max_fps else 0.0)
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
    hook = (lambda frame, pose, analyzer, events: poses.append((frame.t_s, pose))) if keep_track else None
    res = analyze_clip(clip, cfg, on_frame=hook, include_frames=True)
    return res.report, (PoseTrack(poses, res.info, cfg.pose.max_fps) if keep_track else None)


# --------------------------------------------------------------------------- CLI
def _parse_set(items: Sequence[str]) -> dict[str, dict]:
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


def add_parser(sub) -> None:
    from formcheck.app.options import common_options

    p = sub.add_parser(
        "eval", aliases=["evaluate"], help="measure reps, angles and faults against labelled clips",
        description="Score the analysis on labelled clips (formcheck.truth/1 label files): rep "
                    "count, extension-angle MAE and bias, per-fault precision/recall/F1. Exits 1 "
                    "when a --min-*/--max-* gate is missed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  formcheck eval sample_videos\n"
               "  formcheck eval ../shared/synthetic --json eval.json\n"
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
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. faults.max_extension_deg=12 (repeatable)")
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
    return key.strip(), [_parse_set([f"{key}={v}"])[key.split(".")[0]][key.split(".", 1)[1]]
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
    if args.set:
        cfg = merge(cfg, _parse_set(args.set), origin="--set")
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
