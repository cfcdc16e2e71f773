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
import datetime as _dt
import glob
import hashlib
import io
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable, Iterator

from formcheck.config import PROFILES, Config, merge
from formcheck.errors import ConfigError, FormcheckError, SourceError
from formcheck.app.store import DEFAULT_DB_NAME, ClipRecord, ResultStore, file_sha256
from formcheck.media.formats import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # a clip whose worker crashed / was lost is retried this often, then an error row
RAY_INSTALL_HINT = "Ray is not installed: install with pip install 'formcheck[ray]'"

TaskFn = Callable[[str, Config, "str | None"], dict]


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
@dataclass
class ClipJob:
    """One input clip and what the driver learns about it while planning."""

    path: Path
    athlete: str | None = None
    date: str | None = None
    profile: str | None = None
    source: str = ""  # the argument or manifest line it came from (for messages)
    cfg: Config | None = None
    config_hash: str = ""
    content_hash: str = ""
    size: int | None = None
    missing: str | None = None  # why the file cannot be read, if it cannot
    name: str = ""  # output file stem in --out
    attempts: int = 0
    annotate_to: str | None = None
    clip_id: int | None = None


def _has_glob(s: str) -> bool:
    return any(ch in s for ch in "*?[")


def _folder_clips(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES:
                out.append(Path(root) / f)
    return out


def read_manifest(path: str | os.PathLike) -> list[ClipJob]:
    """Clips listed in a CSV manifest: a ``path`` column and optional ``athlete``, ``date``,
    ``profile``. Relative paths are relative to the manifest's folder; a path may be a folder
    or a glob (its clips inherit the row's athlete/date/profile)."""
    mpath = Path(path)
    base = mpath.parent
    try:
        text = mpath.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise FormcheckError(f"Cannot read the manifest {mpath}: {e}") from e
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise FormcheckError(f"{mpath} is empty: expected a CSV with a 'path' column.")
    cols = {c.strip().lower(): c for c in reader.fieldnames if c}
    if "path" not in cols:
        raise FormcheckError(
            f"{mpath}: no 'path' column (found {', '.join(reader.fieldnames)}). "
            "A manifest needs a header: path,athlete,date,profile (only path is required)."
        )
    jobs: list[ClipJob] = []
    for line_no, row in enumerate(reader, start=2):
        def get(k: str, row: dict = row) -> str:
            return (row.get(cols[k]) or "").strip() if k in cols else ""

        p = get("path")
        if not p or p.startswith("#"):
            continue
        profile = get("profile") or None
        if profile is not None and profile not in PROFILES:
            raise ConfigError(
                f"{mpath}, line {line_no}: profile expected one of {', '.join(PROFILES)}, "
                f"got {profile!r}"
            )
        date = get("date") or None
        if date is not None:
            try:
                date = _dt.date.fromisoformat(date[:10]).isoformat()
            except ValueError:
                raise FormcheckError(
                    f"{mpath}, line {line_no}: date expected YYYY-MM-DD, got {date!r}"
                ) from None
        full = Path(p).expanduser()
        if not full.is_absolute():
            full = base / full
        meta = dict(athlete=get("athlete") or None, date=date, profile=profile,
                    source=f"{mpath}:{line_no}")
        for clip in _expand_one(str(full)) or [full]:
            jobs.append(ClipJob(clip, **meta))
    return jobs


def _expand_one(arg: str) -> list[Path]:
    p = Path(arg).expanduser()
    if p.is_dir():
        return _folder_clips(p)
    if p.is_file() or not _has_glob(arg):
        return [p]
    out: list[Path] = []
    for m in sorted(glob.glob(str(p), recursive=True)):
        mp_ = Path(m)
        if mp_.is_dir():
            out.extend(_folder_clips(mp_))
        elif mp_.suffix.lower() in VIDEO_SUFFIXES:
            out.append(mp_)
    return out


def collect_inputs(inputs: Iterable[str]) -> list[ClipJob]:
    """Expand files, folders (recursive, video suffixes), globs and ``.csv`` manifests.

    Returns one job per distinct clip path, in a stable order. A path that does not exist is
    kept (it becomes an error row); a glob or folder that matches nothing raises."""
    jobs: list[ClipJob] = []
    for arg in inputs:
        p = Path(arg).expanduser()
        if p.suffix.lower() == ".csv" and p.is_file():
            jobs.extend(read_manifest(p))
            continue
        found = _expand_one(arg)
        if not found and (p.is_dir() or _has_glob(arg)):
            raise FormcheckError(
                f"No video clips in {arg} (looked for {', '.join(VIDEO_SUFFIXES)}). "
                "Check the folder or pattern (quote globs so the shell does not expand them)."
            )
        jobs.extend(ClipJob(f, source=arg) for f in found)
    seen: dict[str, ClipJob] = {}
    for j in jobs:
        key = os.path.normcase(os.path.abspath(j.path))
        seen.setdefault(key, j)  # the first mention of a clip wins (with its metadata)
    if not seen:
        raise FormcheckError("No clips to score. Pass video files, folders, globs or a CSV manifest.")
    return list(seen.values())


# --------------------------------------------------------------------------------------------
# The per-clip task (runs in worker processes / Ray workers)
# --------------------------------------------------------------------------------------------
_ESTIMATOR: Any = None
_ESTIMATOR_KEY: tuple | None = None


def _pose_key(cfg: Config) -> tuple:
    pc = cfg.pose
    return (pc.model, pc.min_detection_confidence, pc.min_presence_confidence,
            pc.min_tracking_confidence)


def worker_estimator(cfg: Config):
    """This process's pose estimator (created once, reused for every clip with the same model)."""
    global _ESTIMATOR, _ESTIMATOR_KEY
    key = _pose_key(cfg)
    if _ESTIMATOR is None or _ESTIMATOR_KEY != key:
        from formcheck.media.pose import make_estimator

        if _ESTIMATOR is not None:
            _ESTIMATOR.close()
            _ESTIMATOR = None
        _ESTIMATOR = make_estimator(cfg.pose)
        _ESTIMATOR_KEY = key
    return _ESTIMATOR


def score_clip(path: str, cfg: Config, annotate_to: str | None = None, estimator=None) -> dict:
    """Analyse one clip; never raises for a bad clip.

    Returns ``{"status": "ok", "report": {...}, "seconds": s}`` or
    ``{"status": "error", "error": message, "error_type": name, "seconds": s}``.
    """
    from formcheck.app.pipeline import analyze_clip

    t0 = time.perf_counter()
    annot = None
    try:
        est = estimator if estimator is not None else worker_estimator(cfg)
        est.new_stream()
        on_frame = None
        if annotate_to:
            from formcheck.render.annotate import VideoAnnotator

            annot = VideoAnnotator(annotate_to, cfg)
            on_frame = annot.on_frame
        try:
            res = analyze_clip(path, cfg, estimator=est, on_frame=on_frame, require_person=True)
        finally:
            if annot is not None:
                annot.close()
        return {"status": "ok", "report": res.report, "seconds": time.perf_counter() - t0}
    except FormcheckError as e:
        msg = str(e)
        e_type = type(e).__name__
    except Exception as e:  # a bad clip must never stop the batch
        log.debug("unexpected error on %s", path, exc_info=True)
        msg = f"{path}: unexpected error {type(e).__name__}: {e}"
        e_type = type(e).__name__
    return {"status": "error", "error": msg, "error_type": e_type,
            "seconds": time.perf_counter() - t0}


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:  # the driver died (e.g. kill -9): do not linger as an orphan
            os._exit(1)


def _quiet_native_logs() -> None:
    """Send this worker's fd 2 (FFmpeg / MediaPipe C++ log lines) to /dev/null; Python's own
    ``sys.stderr`` keeps the real stderr. ``FORMCHECK_NATIVE_LOGS=1`` keeps them."""
    if os.environ.get("FORMCHECK_NATIVE_LOGS") == "1":
        return
    try:
        saved = os.dup(2)
        sys.stderr.flush()
        sys.stderr = os.fdopen(saved, "w", buffering=1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no usable stderr: nothing to quieten
        pass


def _init_worker(cfg: Config, log_level: int) -> None:
    """Process-pool initializer: Ctrl-C goes to the driver only; load the model once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_level > logging.DEBUG:
        _quiet_native_logs()
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s[%(process)d]: %(message)s")
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        worker_estimator(cfg)
    except FormcheckError as e:  # reported per clip by score_clip
        log.error("%s", e)


def _error(msg: str, seconds: float | None = None) -> dict:
    return {"status": "error", "error": msg, "error_type": "FormcheckError", "seconds": seconds}


# --------------------------------------------------------------------------------------------
# Engines: each yields (job, result dict) as clips finish
# --------------------------------------------------------------------------------------------
class StopFlag:
    """Set by signal handlers: ``stop`` = submit nothing more; ``abort`` = drop running work."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.signal_name = ""


def run_inline(jobs: list[ClipJob], task: TaskFn, stop: StopFlag) -> Iterator[tuple[ClipJob, dict]]:
    """Serial, in this process (``--workers 0``; also used by tests with a fake task)."""
    for job in jobs:
        if stop.stop.is_set():
            return
        yield job, task(str(job.path), job.cfg, job.annotate_to)


def run_local(jobs: list[ClipJob], workers: int, stop: StopFlag, task: TaskFn = score_clip,
              max_retries: int = MAX_RETRIES) -> Iterator[tuple[ClipJob, dict]]:
    """A spawn-context process pool; each worker holds one pose model for all its clips."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")  # mediapipe starts threads: never fork a process using it
    base_cfg = jobs[0].cfg

    def make_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(base_cfg, logging.getLogger().level))

    queue = deque(jobs)
    inflight: dict[Any, ClipJob] = {}
    pool = make_pool()
    try:
        while inflight or (queue and not stop.stop.is_set()):
            # Keep only `workers` clips submitted (the pool queues one more itself), so that a
            # stop request leaves little already-dispatched work to wait for.
            while queue and not stop.stop.is_set() and len(inflight) < workers:
                job = queue.popleft()
                inflight[pool.submit(task, str(job.path), job.cfg, job.annotate_to)] = job
            if stop.stop.is_set():  # drop what has not started; let running clips finish
                for fut in [f for f in inflight if f.cancel()]:
                    inflight.pop(fut)
            if stop.abort.is_set():
                return
            if not inflight:
                break
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                job = inflight.pop(fut)
                if fut.cancelled():
                    continue
                try:
                    res = fut.result()
                except Exception as e:  # BrokenProcessPool: a worker died (crash, OOM kill)
                    broken = broken or isinstance(e, BrokenProcessPool)
                    job.attempts += 1
                    if job.attempts <= max_retries and not stop.stop.is_set():
                        log.warning("%s: worker failed (%s); retrying (%d/%d)",
                                    job.path, type(e).__name__, job.attempts, max_retries)
                        queue.appendleft(job)
                        continue
                    res = _error(f"the worker process died while analysing this clip "
                                 f"({type(e).__name__}: {e}) after {job.attempts} attempts")
                yield job, res
            if broken:
                for job in list(inflight.values()):
                    job.attempts += 1
                    queue.appendleft(job)
                inflight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = make_pool()
    finally:
        if inflight or stop.abort.is_set():
            procs = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
        else:
            pool.shutdown(wait=True)


def import_ray():
    """Import Ray (an optional extra) or raise a FormcheckError saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise FormcheckError(RAY_INSTALL_HINT) from e
    return ray


def run_ray(jobs: list[ClipJob], workers: int, stop: StopFlag, address: str | None = None,
            task: TaskFn = score_clip, max_retries: int = MAX_RETRIES) -> Iterator[tuple[ClipJob, dict]]:
    """The same per-clip task as Ray tasks; results flow back here.

    Without ``address`` a local Ray instance is started with ``num_cpus=workers``. Each Ray
    worker process keeps one pose model (module-level cache in :func:`worker_estimator`).
    A task whose worker crashed or was lost is retried ``max_retries`` times by Ray, then
    recorded as an error.
    """
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        kw: dict[str, Any] = dict(ignore_reinit_error=True, log_to_driver=False,
                                  logging_level=logging.WARNING)
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, **kw)
        started = True
    try:
        if address and not workers:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, max_retries=max_retries)(task)
        queue = deque(jobs)
        inflight: dict[Any, ClipJob] = {}
        while inflight or (queue and not stop.stop.is_set()):
            while queue and not stop.stop.is_set() and len(inflight) < 2 * max(1, workers):
                job = queue.popleft()
                inflight[remote.remote(str(job.path), job.cfg, job.annotate_to)] = job
            if stop.abort.is_set():
                for ref in inflight:
                    ray.cancel(ref, force=True)
                return
            if not inflight:
                break
            done, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
            for ref in done:
                job = inflight.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except ray.exceptions.RayError as e:
                    res = _error(f"the Ray task failed after {max_retries} retries "
                                 f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
                yield job, res
    finally:
        if started:
            ray.shutdown()


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
    interrupted: str = ""
    seconds: float = 0.0
    db: Path | None = None

    @property
    def n_error(self) -> int:
        return sum(r["status"] == "error" for r in self.rows)


def _file_date(p: Path) -> str | None:
    try:
        return _dt.date.fromtimestamp(p.stat().st_mtime).isoformat()
    except OSError:
        return None


def _missing_hash(path: Path) -> str:
    return "missing:" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()


def plan_jobs(jobs: list[ClipJob], base_cfg: Config) -> None:
    """Attach each job's configuration (manifest profile over ``base_cfg``) and content hash."""
    cfgs: dict[str | None, Config] = {None: base_cfg}
    names: dict[str, int] = {}
    for job in jobs:
        if job.profile not in cfgs:
            cfgs[job.profile] = merge(base_cfg, {"kinematics": {"profile": job.profile}},
                                      origin=job.source or "manifest")
        job.cfg = cfgs[job.profile]
        job.config_hash = job.cfg.digest()
        try:
            from formcheck.media.sources import check_video_path  # noqa: WPS433 (cv2 import is fine here)

            check_video_path(job.path)
            job.size = job.path.stat().st_size
            job.content_hash = file_sha256(job.path)
        except (SourceError, OSError) as e:
            job.missing = str(e)
            job.content_hash = _missing_hash(job.path)
        if job.date is None and job.missing is None:
            job.date = _file_date(job.path)
        stem = job.path.stem
        n = names.get(stem, 0)
        names[stem] = n + 1
        job.name = stem if n == 0 else f"{stem}-{job.content_hash[-8:] if job.missing else job.content_hash[:8]}"


def summary_row(job: ClipJob, row, out: Path | None) -> dict[str, Any]:
    """One summary CSV row (dict) for an input clip and its store row (or None = pending)."""
    from formcheck.core.faults import FAULT_IDS

    d: dict[str, Any] = {"path": str(job.path), "status": "pending", "reps": "", "partial_reps": "",
                         "score": "", "error": "", "athlete": job.athlete or "",
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
                     score="" if s["score"] is None else s["score"])
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
            "score", "error", "athlete", "date", "report"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in cols})
    return atomic_write(path, buf.getvalue())


def _annotate_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("formcheck.render.annotate") is not None


def run_batch(
    inputs: Iterable[str], cfg: Config, db: str | os.PathLike, out: str | os.PathLike | None = None,
    workers: int = 2, engine: str = "local", address: str | None = None,
    retry_failed: bool = False, annotate: bool = False, html: bool = False,
    task: TaskFn | None = None, stop: StopFlag | None = None, progress: bool | None = None,
) -> BatchResult:
    """Score ``inputs`` into the store ``db`` (see module docstring). Returns a :class:`BatchResult`.

    ``workers=0`` (or ``engine="inline"``) analyses in this process, serially. ``task`` replaces
    :func:`score_clip` (tests use a fake one). ``stop`` lets a caller interrupt the run.
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
        log.warning("--annotate: formcheck.render.annotate is not available in this version; "
                    "no annotated videos will be written")
        annotate = False

    jobs = collect_inputs(list(inputs))
    plan_jobs(jobs, cfg)
    result = BatchResult(db=Path(db))
    store = ResultStore(db)
    try:
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
            out_dir.mkdir(parents=True, exist_ok=True)
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
                    )
                    job.clip_id = store.record(rec)  # one transaction: the clip and its reps
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
            _write_html(result.rows, jobs, out_dir)
    result.seconds = time.perf_counter() - t_start
    return result


def _write_html(rows: list[dict[str, Any]], jobs: list[ClipJob], out_dir: Path) -> None:
    """Per-clip HTML reports and DIR/index.html."""
    from formcheck.core.faults import FAULT_IDS
    from formcheck.render.html_report import write_html_report, write_index_html

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
    write_index_html(page_rows, out_dir / "index.html")


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    from formcheck.app.options import common_options

    p = sub.add_parser(
        "batch", help="score many clips into a results database (resumable)",
        description="Score many clips: files, folders (recursive), globs or a CSV manifest "
                    "(columns path[,athlete,date,profile]). Results go to a SQLite database; "
                    "clips already scored with the same content and settings are skipped, so an "
                    "interrupted batch resumes where it stopped.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    p.add_argument("--retry-failed", action="store_true", help="re-analyse clips stored as errors")
    p.add_argument("--annotate", action="store_true", help="also write annotated videos into --out")
    p.add_argument("--html", action="store_true", help="also write --out/index.html")
    p.set_defaults(func=run)

    e = sub.add_parser("export", help="export a batch results database to CSV or JSON",
                       description="Export every clip of a results database: CSV (one row per "
                                   "clip, fault counts by id) or JSON (clips with their reps).")
    e.add_argument("--db", metavar="FILE", default=DEFAULT_DB_NAME,
                   help=f"results database (default: ./{DEFAULT_DB_NAME})")
    g = e.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="OUT", help="write one row per clip")
    g.add_argument("--json", metavar="OUT", help="write clips with their reps")
    e.set_defaults(func=run_export)


def default_db(out: str | None) -> Path:
    return (Path(out) if out else Path.cwd()) / DEFAULT_DB_NAME


def _resume_command(args: argparse.Namespace, db: Path) -> str:
    cmd = ["formcheck", "batch", *args.inputs, "--db", str(db)]
    for opt in ("out", "workers", "engine", "address", "profile", "config", "model"):
        v = getattr(args, opt, None)
        if v is not None and not (opt == "engine" and v == "local"):
            cmd += [f"--{opt}", str(v)]
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
                            args.retry_failed, args.annotate, args.html, stop=stop)
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
    print(f"{len(res.rows)} clips: {ok} ok, {n_err} failed"
          + (f", {pending} not done" if pending else "")
          + f" ({res.analysed} analysed, {res.skipped} already scored) in {res.seconds:.1f} s")
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
