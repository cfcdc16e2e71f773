"""The batch results store: one SQLite file that survives interruption (edge module).

Three tables: ``clips`` (one row per clip content and analysis key), ``reps`` (one row per rep
of an ``ok`` clip) and ``athletes`` (per-athlete calibration: the neutral offset in degrees).

A clip's ``config_hash`` is its *analysis key* (:func:`analysis_key`): a digest of the
analysis settings, the formcheck version and the pose model's sha256. Upgrading formcheck or
swapping the model therefore changes the key, and a resumed batch re-scores the clip instead of
reusing a result the new code would not give. ``formcheck_version`` and ``model_sha256`` are
also stored in plain text for provenance. Each clip's results are written in ONE transaction
(:meth:`ResultStore.record`), so a process killed at any moment leaves either the old state
or the new clip with all its reps — never a half-written clip — and the ``UNIQUE
(content_hash, config_hash)`` key prevents duplicates when a batch is resumed.

The database runs in WAL mode so that ``formcheck history`` or ``formcheck export`` can read
it while a batch is writing; a busy timeout makes short lock waits invisible.
"""

from __future__ import annotations

import json
import logging
import os
import math
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formcheck.app.export import iso_utc
from formcheck.app.keys import analysis_key, file_sha256, model_sha256  # noqa: F401 (re-exported)
from formcheck.errors import FormcheckError, OutputError, os_error_reason

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 30_000
DEFAULT_DB_NAME = "formcheck.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER NOT NULL,
    applied_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS clips (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    size          INTEGER,
    duration_s    REAL,
    fps           REAL,
    status        TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error         TEXT,
    config_hash   TEXT NOT NULL,
    report_json   TEXT,
    timings       REAL,
    athlete       TEXT,
    date          TEXT,
    rep_count     INTEGER,
    partial_reps  INTEGER,
    score         REAL,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    formcheck_version TEXT,
    model_sha256  TEXT,
    UNIQUE (content_hash, config_hash)
);
CREATE TABLE IF NOT EXISTS reps (
    id                  INTEGER PRIMARY KEY,
    clip_id             INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    idx                 INTEGER NOT NULL,
    counted             INTEGER NOT NULL,
    depth_deg           REAL,
    peak_extension_deg  REAL,
    lowering_s          REAL,
    lifting_s           REAL,
    top_hold_s          REAL,
    score               REAL,
    faults              TEXT NOT NULL DEFAULT '',
    UNIQUE (clip_id, idx)
);
CREATE INDEX IF NOT EXISTS clips_athlete_date ON clips (athlete, date);
CREATE TABLE IF NOT EXISTS athletes (
    name                TEXT PRIMARY KEY,
    neutral_offset_deg  REAL,
    calibrated_at       TEXT,
    source              TEXT
);
"""

# Schema upgrades, applied in order to a database written by an older formcheck. Each entry is
# (version it produces, statements). Columns are added, never dropped, so an old row stays
# readable; its old analysis key simply no longer matches and the clip is re-scored.
_MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2, (
        "ALTER TABLE clips ADD COLUMN formcheck_version TEXT",
        "ALTER TABLE clips ADD COLUMN model_sha256 TEXT",
    )),
)

@dataclass
class ClipRecord:
    """What the driver knows about one clip before and after analysing it.

    ``report`` is the ``formcheck.report/2`` dict for ``status == "ok"``; ``error`` the message
    for ``status == "error"``; ``timings`` the analysis wall time in seconds.
    """

    path: str
    content_hash: str
    config_hash: str
    status: str
    size: int | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    timings: float | None = None
    athlete: str | None = None
    date: str | None = None
    duration_s: float | None = None
    fps: float | None = None
    formcheck_version: str | None = None  # default: the report's, else the running formcheck's
    model_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.formcheck_version is None:
            import formcheck

            self.formcheck_version = (self.report or {}).get("formcheck_version") or formcheck.__version__
        if self.status not in ("ok", "error"):
            raise ValueError(f"status: expected 'ok' or 'error', got {self.status!r}")
        if self.status == "ok" and self.report is None:
            raise ValueError("status 'ok' needs a report")


class ResultStore:
    """A batch results database at ``path`` (created with its schema if missing).

    Use as a context manager or call :meth:`close`. Not shared across processes as an object:
    each process opens its own (SQLite handles the locking).
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise FormcheckError(
                f"No results database at {self.path}. Run `formcheck batch CLIPS --db {self.path}` "
                "first, or pass --db with the right file."
            )
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(f"Cannot write the results database {self.path}: "
                                  f"{os_error_reason(e)}. Choose another --out or --db.") from e
            if not os.access(self.path.parent, os.W_OK) or (
                    self.path.exists() and not os.access(self.path, os.W_OK)):  # SQLite: "unable to open"
                raise OutputError(f"Cannot write the results database {self.path}: it or its "
                                  "folder is read-only. Choose another --out or --db (export and "
                                  "history can still read it).")
        try:
            self.conn = self._connect(readonly)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("%s: WAL mode unavailable (journal_mode=%s); readers may wait "
                                "while a batch writes", self.path, mode)
                # WAL + NORMAL: a committed clip survives a process kill; only an OS crash
                # may lose the last commits (never corrupts).
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            else:
                self._check_version()
        except sqlite3.DatabaseError as e:
            raise FormcheckError(
                f"{self.path} is not a usable formcheck results database ({e}). "
                "Pass another --db file, or move this one away to start afresh."
            ) from e

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        """Open the database; for reading only, also from a read-only folder (a WAL database
        there cannot make its shared-memory file, so it is opened as immutable: nothing can
        be writing it)."""
        timeout = BUSY_TIMEOUT_MS / 1000.0
        self.read_only_storage = readonly and not (
            os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        if not self.read_only_storage:  # (reading may still upgrade an old file in place)
            return sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if os.access(self.path.parent, os.W_OK):
                raise
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout,
                                   isolation_level=None)

    # -- schema -----------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.transaction():
            has_version = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            version = (self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
                       if has_version else None)
            if version is not None and version > SCHEMA_VERSION:
                raise FormcheckError(
                    f"{self.path} was written by a newer formcheck (schema {version}, this one "
                    f"reads {SCHEMA_VERSION}). Upgrade formcheck or use another --db file."
                )
            if version is not None:  # an older database: bring its tables up to date first
                for target, statements in _MIGRATIONS:
                    if version < target:
                        for stmt in statements:
                            self.conn.execute(stmt)
                        log.info("%s: schema %d -> %d", self.path, version, target)
            for stmt in _SCHEMA.split(";"):  # new tables and indexes (IF NOT EXISTS)
                if stmt.strip():
                    self.conn.execute(stmt)
            if version is None or version < SCHEMA_VERSION:
                self.conn.execute("INSERT INTO schema_version VALUES (?, ?)",
                                  (SCHEMA_VERSION, time.time()))

    def _check_version(self) -> None:
        try:
            version = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        except sqlite3.OperationalError as e:
            raise FormcheckError(f"{self.path} is not a formcheck results database ({e}).") from e
        if version is None or version > SCHEMA_VERSION:
            raise FormcheckError(f"{self.path}: unsupported schema version {version}.")
        if version < SCHEMA_VERSION:  # written by an older formcheck: upgrade it in place
            if self.read_only_storage:
                raise FormcheckError(f"{self.path} was written by an older formcheck (schema "
                                     f"{version}) and is on read-only storage, so it cannot be "
                                     "upgraded: copy it to a writable folder first.")
            self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    # -- transactions -----------------------------------------------------------------------
    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            # IMMEDIATE: take the write lock now, so the busy timeout applies up front.
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            if exc_type is None:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute("ROLLBACK")

    def transaction(self) -> _Tx:
        """``with store.transaction():`` — all statements inside commit together or not at all."""
        return ResultStore._Tx(self.conn)

    # -- writing ----------------------------------------------------------------------------
    def record(self, rec: ClipRecord) -> int:
        """Insert or replace the results of one clip (clip row + its reps) in one transaction.

        Returns the clip id. An existing row with the same (content_hash, config_hash) is
        updated in place (its old reps replaced), so re-running never duplicates a clip.
        """
        now = time.time()
        rep_rows: list[tuple] = []
        rep_count = partial = score = None
        report_json = None
        duration_s, fps = rec.duration_s, rec.fps
        if rec.report is not None:
            rep_rows = [
                (
                    int(r.get("index", i)), int(bool(r.get("counted"))), r.get("depth_deg"),
                    r.get("peak_extension_deg"), r.get("lowering_s"), r.get("lifting_s"),
                    r.get("top_hold_s"), r.get("score"),
                    ";".join(f["id"] for f in r.get("faults", [])),
                )
                for i, r in enumerate(rec.report.get("reps", []))
            ]
            summ = rec.report.get("summary", {})
            rep_count, partial, score = summ.get("rep_count"), summ.get("partial_reps"), summ.get("score")
            clip = rec.report.get("clip", {})
            duration_s = clip.get("duration_s", duration_s)
            fps = clip.get("fps", fps)
            report_json = json.dumps(rec.report, allow_nan=False, separators=(",", ":"))
        with self.transaction() as c:
            clip_id = c.execute(
                """
                INSERT INTO clips (path, content_hash, size, duration_s, fps, status, error,
                    config_hash, report_json, timings, athlete, date, rep_count, partial_reps,
                    score, created_at, updated_at, formcheck_version, model_sha256)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (content_hash, config_hash) DO UPDATE SET
                    path = excluded.path, size = excluded.size, duration_s = excluded.duration_s,
                    fps = excluded.fps, status = excluded.status, error = excluded.error,
                    report_json = excluded.report_json, timings = excluded.timings,
                    athlete = COALESCE(excluded.athlete, clips.athlete),
                    date = COALESCE(excluded.date, clips.date),
                    rep_count = excluded.rep_count, partial_reps = excluded.partial_reps,
                    score = excluded.score, updated_at = excluded.updated_at,
                    formcheck_version = excluded.formcheck_version,
                    model_sha256 = excluded.model_sha256
                RETURNING id
                """,
                (rec.path, rec.content_hash, rec.size, duration_s, fps, rec.status, rec.error,
                 rec.config_hash, report_json, rec.timings, rec.athlete, rec.date, rep_count,
                 partial, score, now, now, rec.formcheck_version, rec.model_sha256),
            ).fetchone()[0]
            c.execute("DELETE FROM reps WHERE clip_id = ?", (clip_id,))
            c.executemany(
                """INSERT INTO reps (clip_id, idx, counted, depth_deg, peak_extension_deg,
                   lowering_s, lifting_s, top_hold_s, score, faults)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [(clip_id, *row) for row in rep_rows],
            )
        return int(clip_id)

    def update_meta(self, clip_id: int, athlete: str | None, date: str | None) -> None:
        """Set athlete/date of a stored clip (a manifest may label clips after scoring)."""
        with self.transaction() as c:
            c.execute(
                "UPDATE clips SET athlete = COALESCE(?, athlete), date = COALESCE(?, date), "
                "updated_at = ? WHERE id = ?", (athlete, date, time.time(), clip_id),
            )

    def delete(self, content_hash: str, config_hash: str) -> bool:
        """Remove one clip row and its reps (e.g. a stale 'file missing' error). True if found."""
        with self.transaction() as c:
            row = c.execute("SELECT id FROM clips WHERE content_hash = ? AND config_hash = ?",
                            (content_hash, config_hash)).fetchone()
            if row is not None:
                c.execute("DELETE FROM reps WHERE clip_id = ?", (row[0],))
                c.execute("DELETE FROM clips WHERE id = ?", (row[0],))
        return row is not None

    # -- reading ----------------------------------------------------------------------------
    def lookup(self, content_hash: str, config_hash: str) -> sqlite3.Row | None:
        """The stored row for this clip content and configuration, or None."""
        return self.conn.execute(
            "SELECT * FROM clips WHERE content_hash = ? AND config_hash = ?",
            (content_hash, config_hash),
        ).fetchone()

    def report(self, clip_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT report_json FROM clips WHERE id = ?", (clip_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def clips(self, status: str | None = None, athlete: str | None = None) -> list[sqlite3.Row]:
        q = "SELECT * FROM clips WHERE 1=1"
        args: list[Any] = []
        if status:
            q += " AND status = ?"
            args.append(status)
        if athlete is not None:
            q += " AND athlete = ? COLLATE NOCASE"  # "ana" finds Ana's clips
            args.append(athlete)
        return self.conn.execute(q + " ORDER BY date, path, id", args).fetchall()

    def athletes(self, status: str | None = "ok") -> list[str]:
        """Distinct athlete names of the stored clips (``status`` ones; None = any), sorted."""
        q = "SELECT DISTINCT athlete FROM clips WHERE athlete IS NOT NULL AND athlete != ''"
        args: list[Any] = []
        if status:
            q += " AND status = ?"
            args.append(status)
        return [r[0] for r in self.conn.execute(q + " ORDER BY athlete", args).fetchall()]

    # -- athlete profiles -------------------------------------------------------------------
    def athlete_neutral(self, name: str) -> float | None:
        """The athlete's calibrated neutral offset (deg, subtracted from the measured extension angle),
        or None when ``name`` has no calibration."""
        row = self.conn.execute("SELECT neutral_offset_deg FROM athletes WHERE name = ?",
                                (name,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def set_athlete_neutral(self, name: str, deg: float, source: str) -> None:
        """Record (or replace) ``name``'s neutral offset ``deg`` (degrees, finite, within
        ±90) with ``source`` (what it was measured from, e.g. a clip path or ``live``) and the
        time of calibration (ISO 8601 UTC)."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"athlete name: expected a non-empty string, got {name!r}")
        if isinstance(deg, bool) or not isinstance(deg, (int, float)) or not math.isfinite(deg):
            raise ValueError(f"neutral_offset_deg: expected a finite number, got {deg!r}")
        if not -90.0 <= deg <= 90.0:
            raise ValueError(f"neutral_offset_deg: expected a value within ±90 deg, got {deg!r}")
        with self.transaction() as c:
            c.execute(
                """INSERT INTO athletes (name, neutral_offset_deg, calibrated_at, source)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET neutral_offset_deg = excluded.neutral_offset_deg,
                       calibrated_at = excluded.calibrated_at, source = excluded.source""",
                (name, float(deg), iso_utc(time.time()), source),
            )

    def athlete_profile(self, name: str) -> dict[str, Any] | None:
        """``{name, neutral_offset_deg, calibrated_at, source}`` or None."""
        row = self.conn.execute("SELECT * FROM athletes WHERE name = ?", (name,)).fetchone()
        return dict(row) if row is not None else None

    def reps(self, clip_id: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM reps WHERE clip_id = ? ORDER BY idx", (clip_id,)
        ).fetchall()

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM clips GROUP BY status").fetchall()
        out = {"ok": 0, "error": 0}
        out.update({r[0]: r[1] for r in rows})
        return out

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    # -- export (formcheck.app.export) -----------------------------------------------------
    def iter_export(self) -> Iterator[dict[str, Any]]:
        """One dict per clip (see :func:`formcheck.app.export.iter_export`)."""
        from formcheck.app.export import iter_export

        return iter_export(self)

    def export_json(self, path: str | os.PathLike) -> Path:
        """Every clip with its reps as JSON (see :func:`formcheck.app.export.export_json`)."""
        from formcheck.app.export import export_json

        return export_json(self, path)

    def export_csv(self, path: str | os.PathLike) -> Path:
        """One CSV row per clip (see :func:`formcheck.app.export.export_csv`)."""
        from formcheck.app.export import export_csv

        return export_csv(self, path)

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            self.conn = None  # type: ignore[assignment]
            conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
