"""The live camera WebSocket ``/ws/live``: browser frames in, pose, zones and rep events out.

The browser sends binary frame messages (:data:`FRAME_HEADER` then a JPEG) and JSON commands
(``stop``, ``reset``). Only the newest frame is analysed: frames that arrive while one is being
processed replace each other. Each session runs its own pose model, so :class:`LiveSlots` caps
how many run at once. When the session ends its set is recorded in the results store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import struct
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from formcheck.core.ids import fault_name
from formcheck.web import engine
from formcheck.web.safety import clean_athlete, foreign_origin

if TYPE_CHECKING:
    from formcheck.web.settings import Settings

log = logging.getLogger(__name__)

#: Longer side (px) the browser shrinks camera frames to before sending them.
LIVE_MAX_SIDE_PX = 480
#: Frame message: 4-byte sequence number (uint32 LE), 8-byte capture time (float64 LE, ms), JPEG.
FRAME_HEADER = struct.Struct("<Id")
#: Largest frame side (px) decoded; the page sends LIVE_MAX_SIDE_PX, anything far larger is
#: refused before it is decoded (an 8000×8000 JPEG would take 190 MB).
MAX_FRAME_SIDE_PX = 4096


class LiveSlots:
    """At most ``n`` live sessions at once (each runs a pose model)."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self.active = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.n:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)


def add_live_route(app: FastAPI, settings: Settings, slots: LiveSlots,
                   make_live: Callable[[], Any]) -> None:
    """Register ``/ws/live`` on ``app``; ``make_live()`` builds a session's engine."""
    paths = settings.paths

    @app.websocket("/ws/live")
    async def live_ws(ws: WebSocket):
        if foreign_origin(dict(ws.headers), ws.url.scheme) is not None:
            await ws.close(code=1008, reason="cross-origin connection refused")
            return
        await ws.accept()
        if not slots.acquire():
            await ws.send_json({"type": "busy", "message": (
                f"The server is busy: {slots.n} live session{'s' if slots.n != 1 else ''} already "
                "running (one per CPU core). Try again when one ends, or record the set with your "
                "camera and upload it on Check a set.")})
            await ws.close(code=1013)
            return
        athlete = clean_athlete(ws.query_params.get("athlete"))
        session_id = uuid.uuid4().hex
        eng = None
        try:
            try:
                eng = await asyncio.to_thread(make_live)
            except Exception as e:
                log.exception("live session could not start")
                await ws.send_json({"type": "error", "message": f"The pose model could not be loaded: {e}"})
                await ws.close(code=1011)
                return
            await ws.send_json({"type": "hello", "session": session_id, "max_side": LIVE_MAX_SIDE_PX,
                                "zones": eng.zones()})
            await _live_loop(ws, eng, session_id, athlete)
        finally:
            try:
                if eng is not None:
                    await asyncio.to_thread(eng.close)
            finally:
                slots.release()  # even when the task is cancelled while closing

    async def _live_loop(ws: WebSocket, eng, session_id: str, athlete: str | None) -> None:
        latest: list[bytes | None] = [None]
        wake = asyncio.Event()
        state = {"open": True, "stop": False, "dropped": 0, "t0": None, "last_ms": None,
                 "frames": 0}

        async def receiver() -> None:
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        break
                    if msg.get("bytes") is not None:
                        if latest[0] is not None:
                            state["dropped"] += 1  # stale: the newest frame wins
                        latest[0] = msg["bytes"]
                        wake.set()
                    elif msg.get("text"):
                        try:
                            cmd = json.loads(msg["text"]).get("cmd")
                        except (ValueError, AttributeError):
                            continue
                        if cmd == "stop":
                            state["stop"] = True
                            wake.set()
                        if cmd == "reset":
                            latest[0] = b"reset"
                            wake.set()
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                state["open"] = False
                wake.set()

        recv = asyncio.create_task(receiver())
        try:
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=settings.live_idle_s)
                except asyncio.TimeoutError:
                    if state["open"]:
                        await ws.send_json({"type": "error", "message": (
                            f"No camera frames for {settings.live_idle_s:g} s, so the set was ended "
                            "and saved. Press Start camera to begin a new one.")})
                    state["stop"] = True
                    break
                wake.clear()
                data, latest[0] = latest[0], None
                if data == b"reset":
                    await asyncio.to_thread(eng.reset)
                    await ws.send_json({"type": "reset"})
                    continue
                if data is not None and len(data) > FRAME_HEADER.size:
                    seq, t_ms = FRAME_HEADER.unpack_from(data)
                    t_s, why = _frame_time(state, t_ms)
                    if t_s is None:
                        out = {"type": "frame_error", "message": why}
                    else:
                        out = await asyncio.to_thread(_live_frame, eng, data[FRAME_HEADER.size:], t_s)
                    out["seq"] = seq
                    out["dropped"] = state["dropped"]
                    state["frames"] += 1
                    if state["open"]:
                        await ws.send_json(out)
                if state["stop"] or not state["open"]:
                    break
        finally:
            recv.cancel()
            report, clip_id = await asyncio.to_thread(eng.finish, paths.db, session_id, athlete)
            if state["open"] or state["stop"]:
                faults = engine.report_fault_ids(report)
                try:
                    await ws.send_json({
                        "type": "summary", "clip_id": clip_id,
                        "report": f"/clips/{clip_id}" if clip_id is not None else None,
                        "reps": report["summary"]["rep_count"],
                        "faults": list(faults),
                        "fault_names": [fault_name(f) for f in faults],
                        "frames": state["frames"], "dropped": state["dropped"]})
                    await ws.close()
                except Exception:
                    pass


#: Frame times (ms) the browser sends are ``performance.now()`` values: at most this large.
MAX_FRAME_MS = 1e15
#: A frame dated this much (ms) before the previous one is refused (small jitter is tolerated).
MAX_BACKWARDS_MS = 1000.0
#: A frame dated this much (ms) after the previous one starts a new time base (the tab was in
#: the background, the clock jumped): the set goes on after a short gap.
MAX_GAP_MS = 10_000.0
#: Where a new time base puts the frame after the previous one (ms): longer than the gaps the
#: core bridges (``kinematics.max_gap_s``, 0.3 s), so no rep is counted across the absence.
RESUME_GAP_MS = 1000.0


def _frame_time(state: dict[str, Any], t_ms: float) -> tuple[float | None, str]:
    """The session time (s) of a frame the client dated ``t_ms``, or ``(None, why)`` when the
    date is unusable (not finite, negative, absurd, or well before the previous frame)."""
    if not math.isfinite(t_ms) or not 0.0 <= t_ms <= MAX_FRAME_MS:
        return None, "A camera frame had an invalid time stamp; skipping it."
    last = state["last_ms"]
    if last is not None and t_ms < last - MAX_BACKWARDS_MS:
        return None, "A camera frame was dated before the previous one; skipping it."
    if state["t0"] is None:
        state["t0"] = t_ms
    elif t_ms > last + MAX_GAP_MS:  # new time base, right after the previous frame
        state["t0"] += t_ms - last - RESUME_GAP_MS
    state["last_ms"] = t_ms if last is None else max(last, t_ms)
    return (t_ms - state["t0"]) / 1000.0, ""


def _live_frame(eng, jpeg: bytes, t_s: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    size = engine.jpeg_size(jpeg)
    if size is not None and (size[0] > MAX_FRAME_SIDE_PX or size[1] > MAX_FRAME_SIDE_PX):
        return {"type": "frame_error", "message": (
            f"A camera frame of {size[0]}×{size[1]} pixels is larger than this server accepts "
            f"({MAX_FRAME_SIDE_PX}×{MAX_FRAME_SIDE_PX}); skipping it.")}
    image = engine.decode_jpeg(jpeg)
    if image is None:
        return {"type": "frame_error", "message": "A camera frame could not be decoded; skipping it."}
    out = eng.process(image, t_s)
    out["server_ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
    return out
