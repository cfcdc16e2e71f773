"""Scoring for ``formcheck eval``: pure functions over report and label dicts.

Rep count, extension-angle error against per-frame labels, and per-fault precision / recall / F1
over reps matched by time overlap (:func:`score_clip`, :func:`match_reps`, :func:`angle_error`,
:func:`fault_table`, :func:`totals`, :func:`check_gates`), and their text table. No files, video
or model here; :mod:`formcheck.app.evaluate` is the command around them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MIN_IOU = 0.2
"""Found and labelled reps match when their [t_start, t_end] intervals overlap by at least this
intersection-over-union (plus a preference for the same kind: counted vs partial)."""


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

    The label (``frames.t_s`` and ``frames.extension_3d_deg``, the body's own angle, or
    ``frames.extension_deg`` when a label file has no 3-D angle) is interpolated linearly at the
    report's frame times; frames where the report has no value (None/NaN) or that lie outside
    the labelled time span are left out. Returns {"mae", "bias" (mean report - label), "rmse",
    "max", "n"} or None when either side has no per-frame series.
    """
    lf = truth.get("frames") or {}
    rf = report.get("frames") or {}
    key = "extension_3d_deg" if lf.get("extension_3d_deg") else "extension_deg"  # the body's angle
    if not lf.get("t_s") or not lf.get(key) or not rf.get("t_s"):
        return None
    lt = np.asarray(lf["t_s"], dtype=np.float64)
    le = np.asarray([np.nan if v is None else v for v in lf[key]], dtype=np.float64)
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
