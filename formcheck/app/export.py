"""``formcheck export``: a results database as CSV (one row per clip) or JSON (clips with reps).

CSV conventions: times are ISO 8601 UTC (``2025-01-06T09:30:00Z``), ``date`` is as recorded
(``YYYY-MM-DD`` or an ISO date-time), booleans are ``1``/``0``, missing values are empty cells,
and ``timings`` is the analysis wall time in seconds.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ResultStore = Any  # formcheck.app.store.ResultStore; not imported: the store imports this module

CLIP_EXPORT_COLUMNS = (
    "id", "path", "content_hash", "size", "duration_s", "fps", "status", "error", "config_hash",
    "timings", "athlete", "date", "rep_count", "partial_reps", "score", "created_at", "updated_at",
    "formcheck_version", "model_sha256",
)

#: Columns holding a Unix time in the database; exports write them as ISO 8601 UTC.
_EPOCH_COLUMNS = ("created_at", "updated_at")


def iso_utc(epoch_s: float | None) -> str:
    """A Unix time (s) as ISO 8601 UTC to the second, e.g. ``2025-01-06T09:30:00Z``."""
    if epoch_s is None or not math.isfinite(epoch_s):
        return ""
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_cell(value: Any) -> str:
    """How the CSV exports write a value: booleans as ``1``/``0``, missing as empty, else str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def iter_export(store: ResultStore) -> Iterator[dict[str, Any]]:
    """One dict per clip (the columns of :data:`CLIP_EXPORT_COLUMNS`, faults by id, reps)."""
    for row in store.conn.execute("SELECT * FROM clips ORDER BY id").fetchall():
        d = {k: row[k] for k in CLIP_EXPORT_COLUMNS}
        faults: dict[str, int] = {}
        reps = []
        for r in store.reps(row["id"]):
            ids = [f for f in r["faults"].split(";") if f]
            for f in ids:
                faults[f] = faults.get(f, 0) + 1
            reps.append({
                "index": r["idx"], "counted": bool(r["counted"]), "depth_deg": r["depth_deg"],
                "peak_extension_deg": r["peak_extension_deg"], "lowering_s": r["lowering_s"],
                "lifting_s": r["lifting_s"], "top_hold_s": r["top_hold_s"],
                "score": r["score"], "faults": ids,
            })
        d["faults"] = faults
        d["reps"] = reps
        yield d


def export_json(store: ResultStore, path: str | os.PathLike) -> Path:
    """Every clip with its reps (schema ``formcheck.store-export/1``; times as stored)."""
    from formcheck.render.report import atomic_write

    data = {"schema": "formcheck.store-export/1", "schema_version": store.schema_version,
            "clips": list(iter_export(store))}
    return atomic_write(path, json.dumps(data, indent=1) + "\n")


def export_csv(store: ResultStore, path: str | os.PathLike) -> Path:
    """One row per clip: the clip columns, then one count column per fault id.

    Times (``created_at``, ``updated_at``) are ISO 8601 UTC (``2025-01-06T09:30:00Z``),
    ``date`` is as recorded (``YYYY-MM-DD`` or an ISO date-time), booleans are ``1``/``0``,
    missing values are empty cells; ``timings`` is the analysis wall time in seconds."""
    from formcheck.core.faults import FAULT_IDS
    from formcheck.render.report import atomic_write

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CLIP_EXPORT_COLUMNS, *(f"fault_{f}" for f in FAULT_IDS)])
    for d in iter_export(store):
        cells = {k: iso_utc(d[k]) if k in _EPOCH_COLUMNS else csv_cell(d[k])
                 for k in CLIP_EXPORT_COLUMNS}
        w.writerow([*(cells[k] for k in CLIP_EXPORT_COLUMNS),
                    *(csv_cell(d["faults"].get(f, 0)) if d.get("status") == "ok" else ""
                      for f in FAULT_IDS)])  # a clip that failed has no fault counts
    return atomic_write(path, buf.getvalue())
