"""The SQLite results store: one-transaction upserts, WAL readers, export, schema version."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest

from formcheck.errors import FormcheckError
from formcheck.app.store import SCHEMA_VERSION, ClipRecord, ResultStore, file_sha256


def fake_report(path: str, faults_per_rep: list[list[str]], partial: int = 0) -> dict:
    reps = []
    for i, ids in enumerate(faults_per_rep):
        reps.append({"index": i, "counted": True, "depth_deg": -40.0 - i, "peak_extension_deg": 2.0,
                     "lowering_s": 1.5, "lifting_s": 1.2, "top_hold_s": 0.4,
                     "score": 100.0 - 10 * len(ids),
                     "faults": [{"id": f, "t": 1.0, "cue": "cue"} for f in ids]})
    for _ in range(partial):
        reps.append({"index": len(reps), "counted": False, "depth_deg": -20.0,
                     "peak_extension_deg": 0.0, "lowering_s": 1.0, "lifting_s": 1.0,
                     "top_hold_s": 0.3, "score": None,
                     "faults": [{"id": "partial_range", "t": 2.0, "cue": "cue"}]})
    counts: dict[str, int] = {}
    for r in reps:
        for f in r["faults"]:
            counts[f["id"]] = counts.get(f["id"], 0) + 1
    return {
        "schema": "formcheck.report/2",
        "clip": {"path": path, "fps": 30.0, "n_frames": 300, "duration_s": 10.0},
        "summary": {"rep_count": len(faults_per_rep), "partial_reps": partial,
                    "good_reps": sum(not ids for ids in faults_per_rep), "faults": counts,
                    "score": 90.0 if faults_per_rep else None},
        "reps": reps,
    }


def ok_record(h="a" * 64, cfg="c1", faults=([], ["hyperextension"]), **kw) -> ClipRecord:
    return ClipRecord(path=f"/clips/{h[:4]}.mp4", content_hash=h, config_hash=cfg, status="ok",
                      size=123, report=fake_report(f"/clips/{h[:4]}.mp4", list(faults)),
                      timings=1.5, **kw)


def test_schema_wal_and_version(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        assert st.schema_version == SCHEMA_VERSION == 2
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        assert st.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    # reopening keeps one version row
    with ResultStore(tmp_path / "r.sqlite") as st:
        assert st.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1


def test_record_upsert_replaces_reps_without_duplicates(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        cid = st.record(ok_record(faults=([], ["hyperextension"], ["jerky_lift", "neck_crank"])))
        assert [r["faults"] for r in st.reps(cid)] == ["", "hyperextension", "jerky_lift;neck_crank"]
        cid2 = st.record(ok_record(faults=([],), athlete="ann"))
        assert cid2 == cid
        assert st.conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 1
        assert len(st.reps(cid)) == 1
        row = st.lookup("a" * 64, "c1")
        assert row["rep_count"] == 1 and row["athlete"] == "ann" and row["status"] == "ok"
        # same content, another config -> a second row
        st.record(ok_record(cfg="c2"))
        assert st.conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 2
        assert st.lookup("a" * 64, "c3") is None


def test_record_is_one_transaction(tmp_path):
    """A failure while writing the reps leaves neither the clip row nor any rep."""
    with ResultStore(tmp_path / "r.sqlite") as st:
        rec = ok_record(faults=([], []))
        rec.report["reps"][1]["index"] = 0  # violates UNIQUE(clip_id, idx) on the second rep
        with pytest.raises(sqlite3.IntegrityError):
            st.record(rec)
        assert st.conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 0
        assert st.conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0] == 0
        # an existing clip stays as it was when its update fails
        cid = st.record(ok_record(faults=([], [], [])))
        bad = ok_record(faults=([],))
        bad.report["reps"].append(dict(bad.report["reps"][0]))
        with pytest.raises(sqlite3.IntegrityError):
            st.record(bad)
        assert len(st.reps(cid)) == 3
        assert st.lookup("a" * 64, "c1")["rep_count"] == 3


def test_reader_sees_committed_state_while_writer_holds_transaction(tmp_path):
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as w, ResultStore(db, readonly=True) as r:
        w.record(ok_record(h="b" * 64))
        with w.transaction() as c:
            c.execute("DELETE FROM reps")
            # WAL: the reader is not blocked and sees the last committed state
            assert r.conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0] == 2
        assert r.conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0] == 0


def test_error_records_and_counts(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        cid = st.record(ClipRecord("/x.mp4", "d" * 64, "c1", "error", error="Cannot open /x.mp4"))
        assert st.reps(cid) == []
        assert st.counts() == {"ok": 0, "error": 1}
        st.record(ok_record(h="d" * 64))  # a retried clip becomes ok in place
        assert st.counts() == {"ok": 1, "error": 0}
        assert st.lookup("d" * 64, "c1")["error"] is None
    with pytest.raises(ValueError):
        ClipRecord("/x.mp4", "e", "c", "ok")  # ok without a report
    with pytest.raises(ValueError):
        ClipRecord("/x.mp4", "e", "c", "maybe", error="?")


def test_export_csv_and_json(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        st.record(ok_record(h="a" * 64, faults=(["hyperextension"], ["hyperextension", "jerky_lift"])))
        st.record(ClipRecord("/bad.mp4", "f" * 64, "c1", "error", error="no person"))
        st.export_csv(tmp_path / "o.csv")
        st.export_json(tmp_path / "o.json")
    rows = list(csv.DictReader(open(tmp_path / "o.csv")))
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert rows[0]["fault_hyperextension"] == "2" and rows[0]["fault_jerky_lift"] == "1"
    assert rows[0]["rep_count"] == "2" and rows[1]["error"] == "no person"
    data = json.loads((tmp_path / "o.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert [r["faults"] for r in data["clips"][0]["reps"]] == [["hyperextension"],
                                                               ["hyperextension", "jerky_lift"]]


def test_not_a_database_and_missing(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(FormcheckError, match="not a usable"):
        ResultStore(junk)
    with pytest.raises(FormcheckError, match="No results database"):
        ResultStore(tmp_path / "none.sqlite", readonly=True)


def test_file_sha256(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    assert file_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --------------------------------------------------------------------------- schema 2


V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE clips (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, content_hash TEXT NOT NULL, size INTEGER,
    duration_s REAL, fps REAL, status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT, config_hash TEXT NOT NULL, report_json TEXT, timings REAL, athlete TEXT,
    date TEXT, rep_count INTEGER, partial_reps INTEGER, score REAL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (content_hash, config_hash));
CREATE TABLE reps (
    id INTEGER PRIMARY KEY, clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, counted INTEGER NOT NULL, depth_deg REAL, peak_extension_deg REAL,
    lowering_s REAL, lifting_s REAL, top_hold_s REAL, score REAL,
    faults TEXT NOT NULL DEFAULT '', UNIQUE (clip_id, idx));
CREATE INDEX clips_athlete_date ON clips (athlete, date);
INSERT INTO schema_version VALUES (1, 1700000000.0);
INSERT INTO clips (path, content_hash, config_hash, status, report_json, athlete, date,
    rep_count, score, created_at, updated_at)
    VALUES ('/old.mp4', 'h1', 'oldkey', 'ok', '{"summary": {}}', 'Ana', '2025-01-06', 3, 80.0,
    1700000000.0, 1700000000.0);
"""


def test_a_schema_1_database_is_migrated_in_place(tmp_path):
    db = tmp_path / "v1.sqlite"
    con = sqlite3.connect(db)
    con.executescript(V1_SCHEMA)
    con.close()
    with ResultStore(db, readonly=True) as st:  # `history`/`export` on an old file: upgraded
        assert st.schema_version == 2
        assert [d["formcheck_version"] for d in st.iter_export()] == [None]
    with ResultStore(db) as st:
        assert st.schema_version == 2
        old = st.clips()[0]
        assert (old["path"], old["athlete"], old["score"]) == ("/old.mp4", "Ana", 80.0)
        assert old["formcheck_version"] is None and old["model_sha256"] is None
        st.set_athlete_neutral("Ana", 3.5, "test")  # the new table exists
        cid = st.record(ok_record(h="n" * 64, model_sha256="m" * 64))
        new = st.conn.execute("SELECT * FROM clips WHERE id = ?", (cid,)).fetchone()
        assert new["model_sha256"] == "m" * 64 and new["formcheck_version"]
    with ResultStore(db) as st:  # reopening does not migrate twice
        assert [r[0] for r in st.conn.execute("SELECT version FROM schema_version")] == [1, 2]
    with ResultStore(db, readonly=True) as st:
        assert st.athlete_neutral("Ana") == 3.5


def test_athlete_neutral_offsets(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        assert st.athlete_neutral("Ana") is None
        st.set_athlete_neutral("Ana", -4.25, "clip a.mp4")
        assert st.athlete_neutral("Ana") == -4.25
        prof = st.athlete_profile("Ana")
        assert prof["source"] == "clip a.mp4"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prof["calibrated_at"])
        st.set_athlete_neutral("Ana", 2.0, "live")  # recalibration replaces, one row per name
        assert st.athlete_neutral("Ana") == 2.0 and st.athlete_profile("Ana")["source"] == "live"
        assert st.conn.execute("SELECT COUNT(*) FROM athletes").fetchone()[0] == 1
        assert st.athlete_neutral("Bo") is None
        for bad, msg in ((float("nan"), "expected a finite number, got nan"),
                         (float("inf"), "expected a finite number, got inf"),
                         (120.0, "expected a value within ±90 deg, got 120.0"),
                         ("3", "expected a finite number, got '3'")):
            with pytest.raises(ValueError, match=re.escape(msg)):
                st.set_athlete_neutral("Ana", bad, "x")
        with pytest.raises(ValueError, match="athlete name: expected a non-empty string"):
            st.set_athlete_neutral(" ", 1.0, "x")
        assert st.athlete_neutral("Ana") == 2.0  # refused values change nothing


def test_export_csv_has_iso_times_and_no_python_literals(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        st.record(ok_record(h="a" * 64, athlete="Ana", date="2025-01-06"))
        st.record(ClipRecord("/bad.mp4", "f" * 64, "c1", "error", error="no person"))
        st.conn.execute("UPDATE clips SET created_at = 1736155800.25, updated_at = 1736159400.0")
        st.export_csv(tmp_path / "o.csv")
    text = (tmp_path / "o.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["created_at"] == "2025-01-06T09:30:00Z"
    assert rows[0]["updated_at"] == "2025-01-06T10:30:00Z"
    assert rows[0]["date"] == "2025-01-06" and rows[0]["athlete"] == "Ana"
    assert rows[1]["score"] == "" and rows[1]["rep_count"] == ""
    for r in rows:
        for k, v in r.items():
            assert v not in ("True", "False", "None"), (k, v)
            assert not re.fullmatch(r"1\d{9}(\.\d+)?", v), (k, v)  # no raw epoch seconds


def test_rep_csv_writes_booleans_as_1_and_0():
    from formcheck.render.report import reps_csv

    rep = fake_report("/a.mp4", [[]], partial=1)
    rows = list(csv.DictReader(io.StringIO(reps_csv(rep))))
    assert [r["counted"] for r in rows] == ["1", "0"]
    assert not any(v in ("True", "False") for r in rows for v in r.values())
