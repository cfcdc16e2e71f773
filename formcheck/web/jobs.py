"""Persistent upload jobs and the bounded worker pool that analyses them.

The job table lives in ``DATA/jobs.sqlite`` (WAL, one transaction per state change), so:

* a restart loses nothing finished: finished jobs point at their row in the results store;
* a job that was ``running`` when the server died is put back in the queue at the next start
  (:meth:`JobStore.requeue_interrupted`); after :data:`MAX_ATTEMPTS` interrupted attempts it is
  failed with a message instead of crashing the workers forever.

Workers claim the oldest queued job (``BEGIN IMMEDIATE``: never twice), load one pose model per
worker (lazily, on the first job) and report progress in the job row, which the status
endpoint reads. ``mode="process"`` (the server) runs each worker in its own process, so a
crash in a native decoder cannot take the server down; ``mode="thread"`` runs them in threads
(tests, with a fake task).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
POLL_S = 0.25
PROGRESS_EVERY_S = 0.25
STATES = ("queued", "running", "done", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    file         TEXT NOT NULL,
    athlete      TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'error')),
    progress     REAL NOT NULL DEFAULT 0,
    error        TEXT,
    clip_id      INTEGER,
    video        TEXT,
    worker       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    seconds      REAL,
    created_at   REAL NOT NULL,
    started_at   REAL,
    finished_at  REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
CREATE INDEX IF NOT EXISTS jobs_clip ON jobs (clip_id);
"""


class JobStore:
    """The job table (``DATA/jobs.sqlite``). One object per thread/process."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                self.conn.execute(stmt)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.conn.close()

    def _tx(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.conn.execute(sql, args)

    def add(self, name: str, file: str, athlete: str | None = None) -> str:
        """Queue an upload stored as ``file`` (a generated name); returns the job id."""
        jid = uuid.uuid4().hex
        self._tx("INSERT INTO jobs (id, name, file, athlete, state, created_at) "
                 "VALUES (?, ?, ?, ?, 'queued', ?)", (jid, name, file, athlete, time.time()))
        return jid

    def get(self, jid: str) -> dict[str, Any] | None:
        row = self._tx("SELECT * FROM jobs WHERE id = ?", (jid,)).fetchone()
        return dict(row) if row is not None else None

    def claim(self, worker: str) -> dict[str, Any] | None:
        """Take the oldest queued job (atomically), mark it running; None when the queue is empty."""
        with self._lock:
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            try:
                row = c.execute("SELECT id FROM jobs WHERE state = 'queued' "
                                "ORDER BY created_at LIMIT 1").fetchone()
                if row is None:
                    c.execute("COMMIT")
                    return None
                c.execute("UPDATE jobs SET state = 'running', worker = ?, started_at = ?, "
                          "attempts = attempts + 1, progress = 0 WHERE id = ?",
                          (worker, time.time(), row[0]))
                job = dict(c.execute("SELECT * FROM jobs WHERE id = ?", (row[0],)).fetchone())
                c.execute("COMMIT")
                return job
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def set_progress(self, jid: str, frac: float) -> None:
        self._tx("UPDATE jobs SET progress = ? WHERE id = ? AND state = 'running'",
                 (max(0.0, min(1.0, float(frac))), jid))

    def done(self, jid: str, clip_id: int, video: str | None, seconds: float) -> None:
        self._tx("UPDATE jobs SET state = 'done', progress = 1, clip_id = ?, video = ?, "
                 "seconds = ?, finished_at = ?, error = NULL WHERE id = ?",
                 (clip_id, video, seconds, time.time(), jid))

    def fail(self, jid: str, message: str) -> None:
        self._tx("UPDATE jobs SET state = 'error', error = ?, finished_at = ? WHERE id = ?",
                 (message, time.time(), jid))

    def _requeue(self, where: str, args: tuple, why: str) -> int:
        rows = self._tx(f"SELECT id, attempts FROM jobs WHERE state = 'running' AND {where}",
                        args).fetchall()
        for r in rows:
            if r["attempts"] >= MAX_ATTEMPTS:
                self.fail(r["id"], f"The analysis was interrupted {r['attempts']} times ({why}); "
                                   "giving up on this clip. Try converting it to MP4 and upload it again.")
            else:
                self._tx("UPDATE jobs SET state = 'queued', progress = 0, worker = NULL "
                         "WHERE id = ?", (r["id"],))
        return len(rows)

    def requeue_interrupted(self) -> int:
        """At start-up: jobs left ``running`` by a server that died go back in the queue."""
        n = self._requeue("1 = 1", (), "the server stopped while analysing it")
        if n:
            log.info("%d interrupted upload(s) put back in the queue", n)
        return n

    def requeue_worker(self, worker: str) -> int:
        """A worker died: its running job goes back in the queue (or fails after retries)."""
        return self._requeue("worker = ?", (worker,), "the analysis process crashed")

    def video_for_clip(self, clip_id: int) -> str | None:
        if not 0 < clip_id <= 2**63 - 1:  # beyond SQLite's INTEGER: no such clip
            return None
        row = self._tx("SELECT video FROM jobs WHERE clip_id = ? AND video IS NOT NULL "
                       "ORDER BY finished_at DESC LIMIT 1", (clip_id,)).fetchone()
        return row[0] if row is not None else None

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for s, n in self._tx("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall():
            out[s] = n
        return out

    def position(self, jid: str) -> int:
        """How many queued jobs are ahead of ``jid`` (0 when it is next or not queued)."""
        row = self._tx("SELECT created_at FROM jobs WHERE id = ? AND state = 'queued'", (jid,)).fetchone()
        if row is None:
            return 0
        return int(self._tx("SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND created_at < ?",
                            (row[0],)).fetchone()[0])


# ------------------------------------------------------------------------------ the data folder
LOCK_NAME = ".lock"


class DataLock:
    """An exclusive lock on a data folder (``DIR/.lock``), held while one server uses it.

    :meth:`acquire` returns False at once when another process holds it. POSIX: ``flock``
    (released by the OS when the process dies, even by ``kill -9``); Windows: ``msvcrt.locking``
    on the file's first byte (likewise released with the process).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fh = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 (kept open while the lock is held)
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()  # closing the file releases the lock on both systems

    def __enter__(self) -> DataLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def remove_stale_parts(paths: Paths) -> int:
    """Delete what an interrupted server left half-written: uploads being received
    (``tmp/*.part``) and annotated videos being written (``videos/.*.part*``). Call at start-up
    only, with the data folder locked (nothing else is writing). Returns how many were removed."""
    n = 0
    for pattern_dir, pattern in ((paths.tmp, "*.part*"), (paths.videos, ".*.part*"),
                                 (paths.uploads, "*.part*")):
        for f in pattern_dir.glob(pattern):
            try:
                if f.is_file():
                    f.unlink()
                    n += 1
            except OSError as e:
                log.warning("could not remove %s: %s", f, e)
    if n:
        log.info("removed %d half-written file(s) left by an interrupted server", n)
    return n


def discard_upload(paths: Paths, job: dict) -> None:
    """Delete a failed job's uploaded clip (nothing refers to it any more)."""
    try:
        (paths.uploads / Path(job["file"]).name).unlink(missing_ok=True)
    except OSError as e:
        log.warning("could not remove the upload of failed job %s: %s", job["id"], e)


# ------------------------------------------------------------------------------ the task
#: ``task(job, paths, progress) -> (clip_id, video or None)``; raises FormcheckError for a bad clip.
Task = Callable[[dict, "Paths", Callable[[float], None]], tuple[int, "str | None"]]


@dataclass(frozen=True)
class Paths:
    """Where the server keeps its files (all under ``--data DIR``).

    Attributes:
        data: the data folder.
        db: the results store (SQLite, shared with ``formcheck batch`` / ``history``).
        jobs: the job table (SQLite).
        uploads: uploaded clips, under generated names.
        videos: annotated videos, named by job id.
        tmp: partial uploads being received.
    """

    data: Path
    db: Path
    jobs: Path
    uploads: Path
    videos: Path
    tmp: Path

    @classmethod
    def under(cls, data: str | os.PathLike, db: str | os.PathLike | None = None) -> Paths:
        d = Path(data).resolve()
        p = cls(d, Path(db).resolve() if db else d / "formcheck.sqlite", d / "jobs.sqlite",
                d / "uploads", d / "videos", d / "tmp")
        for folder in (p.data, p.uploads, p.videos, p.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        return p


class AnalyzeTask:
    """The real task: :func:`formcheck.web.engine.analyze_upload` with this worker's model.

    ``pose_workers`` overrides ``pose.workers`` (1 when several workers already share the
    cores: a pool of models per worker would only add memory)."""

    def __init__(self, cfg, pose_workers: int | None = None) -> None:
        self.cfg = cfg
        self.pose_workers = pose_workers
        self.estimator = None

    def __call__(self, job: dict, paths: Paths, progress: Callable[[float], None]):
        from formcheck.web import engine

        if self.estimator is None:
            self.estimator = engine.make_estimator(self.cfg, self.pose_workers)  # kept for every job
        res = engine.analyze_upload(
            paths.uploads / job["file"], self.cfg, paths.db, display_name=job["name"],
            video_out=paths.videos / f"{job['id']}.webm", athlete=job["athlete"],
            estimator=self.estimator, progress=progress)
        return res.clip_id, (Path(res.video).name if res.video else None)

    def close(self) -> None:
        if self.estimator is not None:
            self.estimator.close()
            self.estimator = None


def worker_loop(name: str, paths: Paths, task: Task, stop: threading.Event | Any) -> None:
    """Claim and run jobs until ``stop`` is set."""
    from formcheck.errors import FormcheckError

    jobs = JobStore(paths.jobs)
    try:
        while not stop.is_set():
            job = jobs.claim(name)
            if job is None:
                stop.wait(POLL_S)
                continue
            log.info("worker %s: analysing job %s", name, job["id"])
            t0 = time.perf_counter()
            last = [0.0]

            def progress(frac: float, jid: str = job["id"], last: list[float] = last) -> None:
                now = time.perf_counter()
                if now - last[0] >= PROGRESS_EVERY_S:
                    last[0] = now
                    jobs.set_progress(jid, frac)

            try:
                clip_id, video = task(job, paths, progress)
            except FormcheckError as e:
                jobs.fail(job["id"], str(e))
                discard_upload(paths, job)
            except Exception as e:  # a bad clip must never stop the worker
                log.exception("job %s failed", job["id"])
                jobs.fail(job["id"], f"Unexpected error while analysing the clip: "
                                     f"{type(e).__name__}: {e}")
                discard_upload(paths, job)
            else:
                jobs.done(job["id"], clip_id, video, time.perf_counter() - t0)
    finally:
        close = getattr(task, "close", None)
        if close is not None:
            close()
        jobs.close()


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:  # the server died (kill -9): do not linger
            os._exit(1)


def _process_main(name: str, paths: Paths, cfg, stop, log_level: int,
                  pose_workers: int | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server
    logging.basicConfig(level=log_level, format=f"%(levelname)s %(name)s[{name}]: %(message)s")
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    worker_loop(name, paths, AnalyzeTask(cfg, pose_workers), stop)


class WorkerPool:
    """``workers`` analysers working through the job table.

    Args:
        paths: the server's folders.
        cfg: the analysis configuration.
        workers: how many clips are analysed at once (one pose model each when several;
            alone, the configured ``pose.workers``).
        mode: ``"process"`` (default) or ``"thread"``.
        task: the task for thread mode (default: :class:`AnalyzeTask`).
    """

    def __init__(self, paths: Paths, cfg, workers: int = 1, mode: str = "process",
                 task: Task | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers: expected >= 1, got {workers}")
        if mode not in ("process", "thread"):
            raise ValueError(f"mode: expected 'process' or 'thread', got {mode!r}")
        self.paths = paths
        self.cfg = cfg
        self.workers = workers
        self.mode = mode
        self.task = task
        self._procs: dict[str, Any] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stop: Any = None
        self._monitor: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self) -> WorkerPool:
        """Clean what an interrupted server left (half-written files, jobs left ``running``),
        then start the workers. The data folder must be this server's (:class:`DataLock`)."""
        remove_stale_parts(self.paths)
        jobs = JobStore(self.paths.jobs)
        try:
            jobs.requeue_interrupted()
        finally:
            jobs.close()
        if self.mode == "process":
            ctx = mp.get_context("spawn")
            self._ctx = ctx
            self._stop = ctx.Event()
            for i in range(self.workers):
                self._spawn(f"w{i}")
            self._monitor = threading.Thread(target=self._watch, name="formcheck-pool", daemon=True)
            self._monitor.start()
        else:
            self._stop = threading.Event()
            for i in range(self.workers):
                name = f"t{i}"
                task = self.task or AnalyzeTask(self.cfg, self._pose_workers())
                t = threading.Thread(target=worker_loop, args=(name, self.paths, task, self._stop),
                                     name=f"formcheck-worker-{name}", daemon=True)
                t.start()
                self._threads[name] = t
        return self

    def _pose_workers(self) -> int | None:
        return 1 if self.workers > 1 else None

    def _spawn(self, name: str) -> None:
        p = self._ctx.Process(target=_process_main, name=f"formcheck-worker-{name}",
                              args=(name, self.paths, self.cfg, self._stop,
                                    logging.getLogger().getEffectiveLevel(), self._pose_workers()),
                              daemon=True)
        p.start()
        self._procs[name] = p

    def _watch(self) -> None:
        """Restart a worker process that died, and requeue its job."""
        while not self._closing.wait(1.0):
            for name, p in list(self._procs.items()):
                if not p.is_alive() and not self._closing.is_set():
                    log.warning("analysis worker %s exited (code %s); restarting it", name, p.exitcode)
                    jobs = JobStore(self.paths.jobs)
                    try:
                        jobs.requeue_worker(name)
                    finally:
                        jobs.close()
                    self._spawn(name)

    def alive(self) -> int:
        if self.mode == "process":
            return sum(p.is_alive() for p in self._procs.values())
        return sum(t.is_alive() for t in self._threads.values())

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the workers. A job still running stays ``running`` and is retried at next start."""
        self._closing.set()
        if self._stop is not None:
            self._stop.set()
        for p in self._procs.values():
            p.join(timeout_s)
            if p.is_alive():
                p.terminate()
                p.join(2.0)
        for t in self._threads.values():
            t.join(timeout_s)
        # Drop the last references to the shared Event so its semaphores are released now.
        self._procs.clear()
        self._stop = None
