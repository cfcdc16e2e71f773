"""Faster mode: analyse at most N frames per second (``pose.max_fps``) against every frame.

For every labelled clip it runs the full analysis (decode + pose model + Analyzer + report)
at every frame and at each ``--hz`` value, and prints the wall-clock speed-up and what changed:
rep count, faults found (by id) and extension-angle MAE against the labels.

    python benchmarks/stride.py ../shared/synthetic ../shared/real
    python benchmarks/stride.py sample_videos --hz 15 20 --json stride.json
    python benchmarks/stride.py ../shared/synthetic --landmarks /tmp/lmcache   # analysis only, no timing

Reports of each run can be kept with ``--save-reports DIR`` (DIR/hz<N>/<clip>.json; hz0 = every
frame), e.g. to score them again with ``formcheck eval PATH --reports DIR/hz0``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from formcheck.config import load_config
from formcheck.app.evaluate import collect, load_truth, public, report_from_landmarks, score_clip, totals
from formcheck.render.report import write_json


def fault_diff(base: list[str], other: list[str]) -> str:
    """Fault ids gained (+) and lost (-) against the every-frame run, e.g. ``+jerky_lift -hip_shift``."""
    a, b = Counter(base), Counter(other)
    plus = b - a
    minus = a - b
    out = [f"+{k}" + (f"×{n}" if n > 1 else "") for k, n in sorted(plus.items())]
    out += [f"-{k}" + (f"×{n}" if n > 1 else "") for k, n in sorted(minus.items())]
    return " ".join(out) or "same"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="label files, clips or folders (as for formcheck eval)")
    ap.add_argument("--hz", type=float, nargs="+", default=[15.0, 20.0], help="max_fps values to compare (default 15 20)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="time each rate this many times, alternating rates, and keep the median (default 1)")
    ap.add_argument("--config", help="TOML config")
    ap.add_argument("--landmarks", metavar="DIR", help="replay cached landmarks (no decode/model: no speed figures)")
    ap.add_argument("--save-reports", metavar="DIR", help="write reports to DIR/hz<N>/<clip>.json")
    ap.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    args = ap.parse_args(argv)

    from formcheck.app.pipeline import analyze_clip

    rates = [0.0] + [h for h in args.hz if h > 0]
    items = collect(args.paths)
    rows: list[dict] = []
    scored: dict[float, list[dict]] = {h: [] for h in rates}
    secs: dict[float, float] = {h: 0.0 for h in rates}
    for k, (label, clip) in enumerate(items, 1):
        truth = load_truth(label)
        name = label.stem
        row: dict = {"name": name, "runs": {}}
        times: dict[float, list[float]] = {h: [] for h in rates}
        reports: dict[float, dict] = {}
        for rep_i in range(max(1, args.repeats)):
            order = rates if rep_i % 2 == 0 else rates[::-1]
            for hz in order:
                cfg = load_config(args.config, {"pose": {"max_fps": hz}})
                t0 = time.perf_counter()
                if args.landmarks:
                    reports[hz] = report_from_landmarks(Path(args.landmarks) / f"{name}.npz", cfg, str(clip or label))
                elif clip is None:
                    break
                else:
                    reports[hz] = analyze_clip(clip, cfg).report
                times[hz].append(time.perf_counter() - t0)
        if not reports:
            print(f"skip {name}: no clip next to the label", file=sys.stderr)
            continue
        for hz in rates:
            report = reports[hz]
            dt = statistics.median(times[hz])
            if args.save_reports:
                write_json(report, Path(args.save_reports) / f"hz{hz:g}" / f"{name}.json")
            sc = score_clip(report, truth)
            sc["name"] = name
            scored[hz].append(sc)
            secs[hz] += dt
            row["fps"] = report["clip"]["fps"]
            row["runs"][hz] = {
                "seconds": dt, "frames": report["summary"]["frames_analysed"],
                "reps": sc["found_reps"], "partial": sc["partial_found"], "expected": sc["expected_reps"],
                "mae": (sc["angle"] or {}).get("mae"), "faults": sc["faults_found"],
            }
            print(f"[{k}/{len(items)}] {name} max_fps={hz:g}: {dt:.1f} s, "
                  f"{row['runs'][hz]['frames']} frames", file=sys.stderr, flush=True)
        if row["runs"]:
            rows.append(row)

    timing = not args.landmarks
    print()
    print(f"{'clip':<33} {'fps':>5} | {'every frame':>17} | " +
          " | ".join(f"{'max_fps ' + format(h, 'g'):<45}" for h in rates[1:]))
    print(f"{'':<33} {'':>5} | {'s':>5} {'reps':>5} {'MAE°':>5} | " +
          " | ".join(f"{'Hz':>4} {'×':>5} {'reps':>5} {'MAE°':>5} {'faults vs every frame':<21}" for _ in rates[1:]))
    for row in rows:
        b = row["runs"][0.0]
        line = (f"{row['name']:<33} {row['fps']:>5.1f} | {b['seconds'] if timing else float('nan'):>5.1f} "
                f"{b['reps']:>2}/{b['expected']:<2} {_f(b['mae']):>5} | ")
        parts = []
        for h in rates[1:]:
            r = row["runs"].get(h)
            if r is None:
                parts.append(f"{'-':>45}")
                continue
            sp = b["seconds"] / r["seconds"] if timing and r["seconds"] > 0 else float("nan")
            eff = row["fps"] * r["frames"] / max(b["frames"], 1)
            parts.append(f"{eff:>4.1f} {sp:>5.2f} {r['reps']:>2}/{r['expected']:<2} {_f(r['mae']):>5} "
                         f"{fault_diff(b['faults'], r['faults']):<21}")
        print(line + " | ".join(parts))
    print()
    summary = {}
    for h in rates:
        tot = totals(scored[h])
        speed = secs[0.0] / secs[h] if timing and secs[h] > 0 else None
        summary[h] = {"seconds": secs[h], "speedup": speed, **public(tot)}
        fm = tot["faults_micro"]
        print(f"max_fps {h:>4g}: {secs[h]:7.1f} s total" + (f" (×{speed:.2f})" if speed else "") +
              f", exact count {_pct(tot['exact_count'])}, angle MAE {_f(tot['angle_mae'])}°, "
              f"fault micro P/R/F1 {_f(fm['precision'], 2)}/{_f(fm['recall'], 2)}/{_f(fm['f1'], 2)}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"rates": rates, "timing": timing, "clips": public(rows), "summary": public(summary)},
            indent=1, default=str) + "\n")
    return 0


def _f(v, nd: int = 2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"


if __name__ == "__main__":
    sys.exit(main())
