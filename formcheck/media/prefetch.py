"""A background thread that runs an iterator a few items ahead of its consumer.

:class:`~formcheck.media.sources.VideoSource` decodes in one, so decoding overlaps the pose
model on another core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator


class Prefetch:
    """Runs an iterator in a daemon thread, ``depth`` items ahead of the consumer.

    Exceptions raised by the iterator are re-raised in the consumer. :meth:`stop` ends the
    thread early (the consumer stopped reading).
    """

    _END = object()

    def __init__(self, it: Iterator, depth: int, name: str) -> None:
        self._it = it
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._it:
                if not self._put(("item", item)):
                    return
        except BaseException as e:  # handed to the consumer
            self._put(("error", e))
            return
        self._put(("end", None))

    def __iter__(self) -> Iterator:
        while True:
            kind, val = self._q.get()
            if kind == "item":
                yield val
            elif kind == "error":
                raise val
            else:
                return

    def stop(self) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5.0)
