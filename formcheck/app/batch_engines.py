"""``formcheck batch`` engines: the per-clip task (:func:`score_clip`, in worker processes)
and the engines that run it — serially, in a local process pool, or as Ray tasks — each
yielding ``(job, result dict)`` as clips finish.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from formcheck.app.batch_inputs import ClipJob
from formcheck.config import Config
from formcheck.errors import FormcheckError

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # a clip whose worker crashed / was lost is retried this often, then an error row
RAY_INSTALL_HINT = "Ray is not installed: install with pip install 'formcheck[ray]'"

TaskFn = Callable[[str, Config, "str | None"], dict]


# --------------------------------------------------------------------------------------------
# The per-clip task (runs in worker processes / Ray workers)
# --------------------------------------------------------------------------------------------
_ESTIMATOR: Any = None
_ESTIMATOR_KEY: tuple | None = None
# Pose models per worker process when several clips run side by side (None: pose.workers).
_POSE_WORKERS: int | None = None


def _pose_key(cfg: Config, workers: int) -> tuple:
    pc = cfg.pose
    return (pc.model, pc.min_detection_confidence, pc.min_presence_confidence,
            pc.min_tracking_confidence, pc.num_poses, pc.tracking, workers)


def worker_estimator(cfg: Config):
    """This process's pose estimator (created once, reused for every clip with the same model)."""
    global _ESTIMATOR, _ESTIMATOR_KEY
    key = _pose_key(cfg, cfg.pose.workers if _POSE_WORKERS is None else _POSE_WORKERS)
    if _ESTIMATOR is None or _ESTIMATOR_KEY != key:
        from formcheck.media.pose import make_estimator

        if _ESTIMATOR is not None:
            _ESTIMATOR.close()
            _ESTIMATOR = None
        _ESTIMATOR = make_estimator(cfg.pose, _POSE_WORKERS)
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
            from formcheck.render.video import VideoAnnotator

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


def _init_worker(cfg: Config, log_level: int, pose_workers: int | None = None) -> None:
    """Process-pool initializer: Ctrl-C goes to the driver only; load the model once.

    ``pose_workers``: pose models per process (1 when several clips already run side by side:
    the cores are taken by the clips, and a pool per process would only add memory)."""
    global _POSE_WORKERS
    _POSE_WORKERS = pose_workers
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
                                   initargs=(base_cfg, logging.getLogger().level,
                                             1 if workers > 1 else None))

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


def _one_core_task(task: TaskFn, path: str, cfg: Config, annotate_to: str | None) -> dict:
    """``task`` in a Ray worker: one CPU is reserved for it, so one pose model, not a pool."""
    global _POSE_WORKERS
    _POSE_WORKERS = 1
    return task(path, cfg, annotate_to)


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
        remote = ray.remote(num_cpus=1, max_retries=max_retries)(_one_core_task)
        queue = deque(jobs)
        inflight: dict[Any, ClipJob] = {}
        while inflight or (queue and not stop.stop.is_set()):
            while queue and not stop.stop.is_set() and len(inflight) < 2 * max(1, workers):
                job = queue.popleft()
                inflight[remote.remote(task, str(job.path), job.cfg, job.annotate_to)] = job
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
