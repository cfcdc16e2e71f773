"""How ``formcheck serve`` runs: its :class:`Settings` and the size unit used in limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from formcheck.web.jobs import Paths

MB = 1024 * 1024
#: A live session that receives no frame for this long (s) is ended (and its set recorded).
LIVE_IDLE_S = 60.0


@dataclass(frozen=True)
class Settings:
    """How the server runs.

    Attributes:
        paths: its folders and databases.
        cfg: the analysis configuration.
        token: access token required on every request (None: open, for loopback binds).
        max_upload_bytes: largest accepted upload (bytes).
        workers: uploads analysed at once (one pose model each).
        max_live: concurrent live sessions (default: the number of CPU cores).
        https: served over TLS (cookies get ``Secure``).
        worker_mode: ``"process"`` or ``"thread"`` (tests).
        max_queued: uploads waiting for an analyser before new ones are refused (503).
        live_idle_s: a live session without frames for this long (s) is ended.
        allowed_hosts: ``Host`` header values accepted (None: any). A loopback server without a
            token accepts only its own names, so a web page cannot reach it by DNS rebinding.
    """

    paths: Paths
    cfg: Any
    token: str | None = None
    max_upload_bytes: int = 500 * MB
    workers: int = 1
    max_live: int = field(default_factory=lambda: os.cpu_count() or 1)
    https: bool = False
    worker_mode: str = "process"
    allowed_hosts: tuple[str, ...] | None = None
    max_queued: int = 50
    live_idle_s: float = LIVE_IDLE_S
