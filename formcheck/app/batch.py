"""``formcheck batch``: score many clips into a results store that survives interruption.

The driver (this process) expands the inputs (files, folders, globs, CSV manifests), hashes each
clip, skips those already scored with the same content and configuration, and hands the rest
to an engine: a local process pool (one pose model per worker, reused for every clip) or Ray
tasks. Results come back to the driver, which alone writes the SQLite store — one transaction
per clip — and the optional per-clip JSON reports, summary CSV and HTML index.

Kill it at any moment and run the same command again: finished clips are skipped, the
interrupted ones are redone, nothing is duplicated.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.app.batch_engines import (MAX_RETRIES, RAY_INSTALL_HINT, StopFlag, TaskFn,  # noqa: F401
                                         import_ray, run_inline, run_local, run_ray, score_clip,
                                         worker_estimator)
from formcheck.app.batch_inputs import (ClipJob, _missing_hash, collect_inputs, plan_jobs,  # noqa: F401
                                        read_manifest)
from formcheck.app.store import DEFAULT_DB_NAME, ClipRecord, ResultStore, model_sha256
from formcheck.config import Config
from formcheck.errors import FormcheckError, OutputError, os_error_reason

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """What a batch run did. ``rows`` has one summary dict per input clip (input order)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    unreadable: int = 0  # missing, empty or unreadable files: failed without being analysed
    interrupted: str = ""
    seconds: float = 0.0
    db: Path | None = None

    @property
    def n_error(self) -> int:
        return sum(r["status"] == "error" for r in self.rows)


def summary_row(job: ClipJob, row, out: Path | None) -> dict[str, Any]:
    """One summary CSV row (dict) for an input clip and its store row (or None = pending)."""
    from formcheck.core.faults import FAULT_IDS

    d: dict[str, Any] = {"path": str(job.path), "status": "pending", "reps": "", "partial_reps": "",
                         "score": "", "error": "", "warnings": "", "athlete": job.athlete or "",
                         "date": job.date or ""}
    for f in FAULT_IDS:
        d[f"fault_{f}"] = ""
    if row is not None:
        d.update(status=row["status"], error=row["error"] or "",
                 athlete=row["athlete"] or "", date=row["date"] or "")
        if row["status"] == "ok":
            rep = json.loads(row["report_json"])
            s = rep["summary"]
            d.update(reps=s["rep_count"], partial_reps=s["partial_reps"],
                     score="" if s["score"] is None else s["score"],
                     warnings=" | ".join(rep.get("warnings") or ()))
            for f in FAULT_IDS:
                d[f"fault_{f}"] = s["faults"].get(f, 0)
    if out is not None and d["status"] == "ok":
        d["report"] = f"{job.name}.json"
        if job.annotate_to and Path(job.annotate_to).exists():
            d["video"] = Path(job.annotate_to).name
    return d


def write_summary_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    from formcheck.core.faults import FAULT_IDS
    from formcheck.render.report import atomic_write

    cols = ["path", "status", "reps", "partial_reps", *(f"fault_{f}" for f in FAULT_IDS),
            "score", "error", "warnings", "athlete", "date", "report"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in cols})
    return atomic_write(path, buf.getvalue())


def _annotate_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("formcheck.render.video") is not None


def _keep_calibration(store: ResultStore, job: ClipJob, report: dict | None) -> None:
    """A neutral calibrated from the clip's still start is the athlete's from now on."""
    scene = (report or {}).get("scene") or {}
    if job.athlete and scene.get("neutral_source") == "start" and scene.get("neutral_offset_deg") is not None:
        store.set_athlete_neutral(job.athlete, float(scene["neutral_offset_deg"]),
                                  f"batch: still start of {os.path.abspath(job.path)}")
        log.info("%s: neutral %+.1f° stored for athlete %s", job.path,
                 scene["neutral_offset_deg"], job.athlete)


def run_batch(
    inputs: Iterable[str], cfg: Config, db: str | os.PathLike, out: str | os.PathLike | None = None,
    workers: int = 2, engine: str = "local", address: str | None = None,
    retry_failed: bool = False, annotate: bool = False, html: bool = False,
    task: TaskFn | None = None, stop: StopFlag | None = None, progress: bool | None = None,
    athlete: str | None = None,
) -> BatchResult:
    """Score ``inputs`` into the store ``db`` (see module docstring). Returns a :class:`BatchResult`.

    ``workers=0`` (or ``engine="inline"``) analyses in this process, serially. ``task`` replaces
    :func:`score_clip` (tests use a fake one). ``stop`` lets a caller interrupt the run.
    ``athlete`` is recorded for every clip whose manifest row names none.
    """
    from formcheck.app.progress import Progress
    from formcheck.render.report import write_json

    t_start = time.perf_counter()
    stop = stop or StopFlag()
    out_dir = Path(out) if out is not None else None
    if (annotate or html) and out_dir is None:
        raise FormcheckError("--annotate and --html write into the output folder: add --out DIR.")
    if engine not in ("local", "ray", "inline"):
        raise FormcheckError(f"--engine: expected local or ray, got {engine!r}")
    if engine == "ray":
        import_ray()  # fail fast with the install hint, before hashing anything
    if annotate and not _annotate_available():
        log.warning("--annotate: formcheck.render.video is not available in this version; "
                    "no annotated videos will be written")
        annotate = False

    jobs = collect_inputs(list(inputs))
    for job in jobs:
        job.athlete = job.athlete or athlete
    result = BatchResult(db=Path(db))
    store = ResultStore(db)
    try:
        plan_jobs(jobs, cfg, store.athlete_neutral)
        todo: list[ClipJob] = []
        primary: dict[tuple[str, str], ClipJob] = {}
        for job in jobs:
            if annotate and not job.missing:
                job.annotate_to = str(out_dir / f"{job.name}.annotated.mp4")
            key = (job.content_hash, job.config_hash)
            if job.missing:
                old = store.lookup(*key)
                if old is None or retry_failed or old["error"] != job.missing:
                    job.clip_id = store.record(ClipRecord(
                        os.path.abspath(job.path), job.content_hash, job.config_hash, "error",
                        error=job.missing, athlete=job.athlete, date=job.date))
                result.failed += 1
                result.unreadable += 1
                continue
            if store.lookup(_missing_hash(job.path), job.config_hash) is not None:
                store.delete(_missing_hash(job.path), job.config_hash)  # the file is back
            if key in primary:  # same bytes under another name: scored once
                result.skipped += 1
                continue
            primary[key] = job
            old = store.lookup(*key)
            needs_video = bool(job.annotate_to) and not Path(job.annotate_to).exists()
            if old is not None and (old["status"] == "ok" or not retry_failed) and not needs_video:
                job.clip_id = old["id"]
                if (job.athlete and job.athlete != old["athlete"]) or (
                        job.date and job.date != old["date"]):
                    store.update_meta(old["id"], job.athlete, job.date)
                result.skipped += 1
                continue
            todo.append(job)
        if out_dir is not None:
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(f"Cannot write to --out {out_dir}: {os_error_reason(e)}. "
                                  "Choose another folder.") from e
        log.info("%d clips: %d to analyse, %d already in %s", len(jobs), len(todo),
                 len(jobs) - len(todo), db)

        if todo:
            if task is not None and engine != "ray":
                engine = "inline" if workers <= 0 or engine == "inline" else engine
            if engine == "local" and workers <= 0:
                engine = "inline"
            fn = task or score_clip
            if engine == "inline":
                runner = run_inline(todo, fn, stop)
            elif engine == "local":
                runner = run_local(todo, min(workers, len(todo)), stop, fn)
            else:
                runner = run_ray(todo, workers, stop, address, fn)
            bar = Progress(len(todo), label="batch", unit=" clips", enabled=progress)
            try:
                for job, res in runner:
                    ok = res.get("status") == "ok"
                    report = res.get("report") if ok else None
                    if report is not None:
                        report["clip"]["path"] = os.path.abspath(job.path)
                    rec = ClipRecord(
                        path=os.path.abspath(job.path), content_hash=job.content_hash,
                        config_hash=job.config_hash, status="ok" if ok else "error",
                        size=job.size, report=report,
                        error=None if ok else (res.get("error") or "unknown error"),
                        timings=res.get("seconds"), athlete=job.athlete, date=job.date,
                        model_sha256=model_sha256(job.cfg.pose.model),
                    )
                    job.clip_id = store.record(rec)  # one transaction: the clip and its reps
                    _keep_calibration(store, job, report)
                    result.analysed += 1
                    if not ok:
                        result.failed += 1
                        log.warning("%s: %s", job.path, rec.error)
                    if out_dir is not None and report is not None:
                        write_json(report, out_dir / f"{job.name}.json")
                    bar.advance(1, extra=f"{result.failed} failed" if result.failed else "")
                    if not bar.enabled:
                        log.info("[%d/%d] %s: %s", result.analysed, len(todo), job.path.name,
                                 f"{report['summary']['rep_count']} reps" if ok else rec.error)
            finally:
                close = getattr(runner, "close", None)
                if close is not None:
                    close()
                bar.close()
            if stop.stop.is_set():
                result.interrupted = stop.signal_name or "stop"

        # Summary rows from the store (skipped clips included), per-clip JSON for skipped ones.
        for job in jobs:
            row = store.lookup(job.content_hash, job.config_hash)
            if out_dir is not None and row is not None and row["status"] == "ok":
                jp = out_dir / f"{job.name}.json"
                if not jp.exists():
                    rep = json.loads(row["report_json"])
                    rep["clip"]["path"] = os.path.abspath(job.path)
                    write_json(rep, jp)
            result.rows.append(summary_row(job, row, out_dir))
    finally:
        store.close()

    if out_dir is not None:
        write_summary_csv(result.rows, out_dir / "summary.csv")
        if html:
            _write_html(result.rows, jobs, out_dir,
                        {"analysed": result.analysed, "skipped": result.skipped, "unreadable": result.unreadable})
    result.seconds = time.perf_counter() - t_start
    return result


def _write_html(rows: list[dict[str, Any]], jobs: list[ClipJob], out_dir: Path,
                run: dict[str, int] | None = None) -> None:
    """Per-clip HTML reports and DIR/index.html."""
    from formcheck.core.faults import FAULT_IDS
    from formcheck.render.html import write_html_report, write_index_html

    page_rows = []
    for row, job in zip(rows, jobs):
        r = dict(row)
        r["rep_count"] = row["reps"] if row["reps"] != "" else None
        r["partial_reps"] = row["partial_reps"] if row["partial_reps"] != "" else None
        r["score"] = row["score"] if row["score"] != "" else None
        r["faults"] = {f: row[f"fault_{f}"] for f in FAULT_IDS if row.get(f"fault_{f}")}
        if row["status"] == "ok" and row.get("report"):
            page = out_dir / f"{job.name}.html"
            try:
                rep = json.loads((out_dir / row["report"]).read_text(encoding="utf-8"))
                video = out_dir / row["video"] if row.get("video") else None
                write_html_report(rep, page, video=video)
                r["report_html"] = page.name
            except Exception as e:  # noqa: BLE001 - one page must not fail the batch
                log.warning("%s: no HTML report (%s)", job.path, e)
        page_rows.append(r)
    write_index_html(page_rows, out_dir / "index.html", run=run)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    from formcheck.app.options import HelpFormatter, common_options

    p = sub.add_parser(
        "batch", help="score many clips into a results database (resumable)",
        description="Score many clips: files, folders (recursive), globs or a CSV manifest "
                    "(columns path[,athlete,date,profile]). Results go to a SQLite database; "
                    "clips already scored with the same content and settings are skipped, so an "
                    "interrupted batch resumes where it stopped.",
        formatter_class=HelpFormatter,
        epilog="examples:\n"
               "  formcheck batch clips/ --out results/            per-clip JSON + summary.csv\n"
               "  formcheck batch sessions.csv --workers 4         manifest with athlete/date\n"
               "  formcheck batch clips/ --engine ray --address auto   on a Ray cluster\n"
               "  formcheck export --db results/formcheck.sqlite --csv all.csv",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video file, folder, glob (quoted) or .csv manifest")
    p.add_argument("--out", metavar="DIR", help="write per-clip JSON reports and summary.csv here")
    p.add_argument("--db", metavar="FILE",
                   help=f"results database (default: {DEFAULT_DB_NAME} in --out, else here)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel workers (default: number of CPUs; 0 = in this process)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local process pool (default) or Ray (pip install 'formcheck[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster: auto or ray://HOST:10001 (default: start a local Ray)")
    common_options(p)
    p.add_argument("--max-fps", type=float, default=None, metavar="HZ",
                   help="analyse at most HZ frames per second (0 = every frame; 15 is ×2.3-2.5 "
                        "faster on 60 fps clips, see the README's batch section)")
    p.add_argument("--athlete", metavar="NAME",
                   help="record NAME as the athlete of every clip (a manifest's athlete column "
                        "wins for its rows); `formcheck history --athlete NAME` then finds them")
    p.add_argument("--retry-failed", action="store_true", help="re-analyse clips stored as errors")
    p.add_argument("--annotate", action="store_true", help="also write annotated videos into --out")
    p.add_argument("--html", action="store_true", help="also write --out/index.html")
    p.set_defaults(func=run)

    e = sub.add_parser("export", help="export a batch results database to CSV or JSON",
                       description="Export every clip of a results database: CSV (one row per "
                                   "clip, fault counts by id) or JSON (clips with their reps).",
                       formatter_class=HelpFormatter,
                       epilog="examples:\n"
                              "  formcheck export --db results/formcheck.sqlite --csv clips.csv\n"
                              "  formcheck export --db results/formcheck.sqlite --json clips.json\n"
                              "\nThe JSON holds each clip's report (docs/report.schema.json).")
    e.add_argument("--db", metavar="FILE", default=DEFAULT_DB_NAME,
                   help=f"results database (default: ./{DEFAULT_DB_NAME})")
    g = e.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="OUT", help="write one row per clip")
    g.add_argument("--json", metavar="OUT", help="write clips with their reps")
    e.set_defaults(func=run_export)


def default_db(out: str | None) -> Path:
    return (Path(out) if out else Path.cwd()) / DEFAULT_DB_NAME


def _resume_command(args: argparse.Namespace, db: Path) -> str:
    """The command that carries on this batch: every option that decides the analysis (a
    setting left out would analyse the rest differently, and the store would keep both)."""
    cmd = ["formcheck", "batch", *args.inputs, "--db", str(db)]
    for opt in ("out", "workers", "engine", "address", "profile", "config", "model", "athlete",
                "calibrate", "neutral", "max_fps"):
        v = getattr(args, opt, None)
        if v is not None and not (opt == "engine" and v == "local"):
            cmd += [f"--{opt.replace('_', '-')}", f"{v:g}" if isinstance(v, float) else str(v)]
    for item in getattr(args, "set", None) or ():
        cmd += ["--set", item]
    for flag in ("annotate", "html"):
        if getattr(args, flag, False):
            cmd.append(f"--{flag}")
    return shlex.join(cmd)


def run(args: argparse.Namespace) -> int:
    from formcheck.app.options import config_from_args

    cfg = config_from_args(args)
    db = Path(args.db) if args.db else default_db(args.out)
    workers = args.workers
    if workers is None:
        workers = 0 if args.engine == "ray" and args.address else (os.cpu_count() or 1)
    if workers < 0:
        raise FormcheckError(f"--workers: expected 0 or more, got {workers}")

    stop = StopFlag()

    def on_signal(signum, frame):
        name = signal.Signals(signum).name
        stop.signal_name = name
        if signum == signal.SIGINT and not stop.stop.is_set():
            stop.stop.set()
            print(f"\nformcheck: {name}: finishing the clips in progress (Ctrl-C again to stop "
                  "now)...", file=sys.stderr)
        else:
            stop.stop.set()
            stop.abort.set()
            raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            res = run_batch(args.inputs, cfg, db, args.out, workers, args.engine, args.address,
                            args.retry_failed, args.annotate, args.html, stop=stop,
                            athlete=args.athlete)
        except KeyboardInterrupt:
            print(f"formcheck: stopped ({stop.signal_name or 'interrupt'}). Finished clips are "
                  f"saved in {db}. Resume with:\n  {_resume_command(args, db)}", file=sys.stderr)
            return 130
    finally:
        for s, h in old.items():
            signal.signal(s, h)

    ok = sum(r["status"] == "ok" for r in res.rows)
    n_err = res.n_error
    pending = sum(r["status"] == "pending" for r in res.rows)
    n = len(res.rows)
    print(f"{n} clip{'s' if n != 1 else ''}: {ok} ok, {n_err} failed"
          + (f", {pending} not done" if pending else "")
          + f" ({res.analysed} analysed, {res.skipped} already scored"
          + (f", {res.unreadable} unreadable" if res.unreadable else "") + f") in {res.seconds:.1f} s")
    warned = [r for r in res.rows if r["status"] == "ok" and r.get("warnings")]
    for r in warned[:5]:
        print(f"  ! {Path(r['path']).name}: {r['warnings']}")
    if len(warned) > 5:
        print(f"  ! ... and {len(warned) - 5} more clips with warnings (the warnings column of "
              "summary.csv, or `formcheck export`)")
    print(f"results: {db}" + (f", {Path(args.out) / 'summary.csv'}" if args.out else ""))
    if res.interrupted and pending:
        print(f"formcheck: stopped ({res.interrupted}). Finished clips are saved. Resume with:\n"
              f"  {_resume_command(args, db)}", file=sys.stderr)
        return 130
    if n_err:
        print(f"{n_err} clip{'s' if n_err != 1 else ''} failed (see the error column of "
              f"`formcheck export --db {shlex.quote(str(db))} --csv errors.csv`"
              + (" or summary.csv" if args.out else "") + "). After fixing them, retry with:\n  "
              + _resume_command(args, db) + " --retry-failed", file=sys.stderr)
        return 1
    return 0


def run_export(args: argparse.Namespace) -> int:
    with ResultStore(args.db, readonly=True) as store:
        if args.csv:
            store.export_csv(args.csv)
            target = args.csv
        else:
            store.export_json(args.json)
            target = args.json
        c = store.counts()
    print(f"wrote {target}: {c['ok'] + c['error']} clips ({c['ok']} ok, {c['error']} errors)")
    return 0
