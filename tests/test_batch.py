"""``formcheck batch`` / ``export`` / ``history``.

Fast tier: a fake per-clip task (no pose model) drives the planning, skipping, retry, manifest
and output logic. e2e tier: the real model on sample_videos/ (process pool, SIGKILL + resume, Ray).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formcheck.app import batch
from formcheck.app.cli import main
from formcheck.config import load_config
from formcheck.errors import ConfigError, FormcheckError
from formcheck.app.store import ResultStore

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"
FORMCHECK = Path(sys.executable).parent / "formcheck"


# --- a fake task: the "clip" is a text file "reps=N faults=a,b" or "bad ..." ------------------
CALLS: list[str] = []


def fake_task(path: str, cfg, annotate_to=None) -> dict:
    CALLS.append(path)
    text = Path(path).read_text()
    if text.startswith("bad"):
        return {"status": "error", "error": f"{path}: no person was found", "seconds": 0.01}
    kv = dict(part.split("=") for part in text.split())
    n = int(kv["reps"])
    ids = [f for f in kv.get("faults", "").split(",") if f]
    reps = [{"index": i, "counted": True, "depth_deg": -40.0, "peak_extension_deg": 1.0,
             "lowering_s": 1.2, "lifting_s": 1.1, "top_hold_s": 0.3, "score": 90.0,
             "faults": [{"id": f, "t": 0.5, "cue": "c"} for f in (ids if i == 0 else [])]}
            for i in range(n)]
    return {"status": "ok", "seconds": 0.01, "report": {
        "schema": "formcheck.report/2",
        "warnings": [kv["warn"].replace("_", " ")] if "warn" in kv else [],
        "clip": {"path": path, "fps": 30.0, "n_frames": 90, "duration_s": 3.0},
        "summary": {"rep_count": n, "partial_reps": 0, "good_reps": n - bool(ids),
                    "faults": {f: 1 for f in ids}, "score": 90.0 if n else None},
        "reps": reps}}


@pytest.fixture
def clips(tmp_path):
    CALLS.clear()
    d = tmp_path / "clips"
    (d / "sub").mkdir(parents=True)
    (d / "a.mp4").write_text("reps=3 faults=hyperextension")
    (d / "sub" / "b.mov").write_text("reps=2")
    (d / "sub" / "copy_of_a.mp4").write_text("reps=3 faults=hyperextension")  # same bytes as a
    (d / "bad.mp4").write_text("bad clip")
    (d / "notes.txt").write_text("not a video")
    return d


def run_fake(inputs, db, cfg=None, **kw):
    return batch.run_batch([str(i) for i in inputs], cfg or load_config(), db, task=fake_task,
                           workers=0, progress=False, **kw)


def store_rows(db) -> list[tuple]:
    with ResultStore(db) as st:
        return [(r["path"], r["status"], r["rep_count"]) for r in st.clips()]


# --- inputs --------------------------------------------------------------------------------
def test_collect_inputs_folder_glob_dedupe(clips):
    jobs = batch.collect_inputs([str(clips), str(clips / "a.mp4"), str(clips / "sub" / "*.mov")])
    names = [j.path.name for j in jobs]
    assert sorted(names) == ["a.mp4", "b.mov", "bad.mp4", "copy_of_a.mp4"]  # no .txt, no repeats
    with pytest.raises(FormcheckError, match="No video clips"):
        batch.collect_inputs([str(clips / "*.avi")])
    missing = batch.collect_inputs([str(clips / "gone.mp4")])
    assert missing[0].path.name == "gone.mp4"  # kept: it becomes an error row


def test_manifest_parsing(clips, tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("Path,athlete,date,profile\n"
                 "clips/a.mp4,Ann,2024-03-01,seated\n"
                 f"{clips / 'sub' / 'b.mov'},Bob,,\n"
                 "\n"
                 "clips/sub,Cy,2024-03-02,prone\n")
    jobs = batch.collect_inputs([str(m)])  # first row naming a clip wins
    by = {j.path.name: j for j in jobs}
    assert len(jobs) == 3
    assert by["a.mp4"].path == clips / "a.mp4"  # relative to the manifest's folder
    assert (by["a.mp4"].athlete, by["a.mp4"].date, by["a.mp4"].profile) == ("Ann", "2024-03-01", "seated")
    assert (by["b.mov"].athlete, by["b.mov"].date, by["b.mov"].profile) == ("Bob", None, None)
    assert by["copy_of_a.mp4"].athlete == "Cy" and by["copy_of_a.mp4"].profile == "prone"
    bad = tmp_path / "bad.csv"
    bad.write_text("path,profile\nclips/a.mp4,sideways\n")
    with pytest.raises(ConfigError, match="line 2"):
        batch.read_manifest(bad)
    bad.write_text("file,athlete\nclips/a.mp4,Ann\n")
    with pytest.raises(FormcheckError, match="no 'path' column"):
        batch.read_manifest(bad)
    bad.write_text("path,date\nclips/a.mp4,03/01/2024\n")
    with pytest.raises(FormcheckError, match="YYYY-MM-DD"):
        batch.read_manifest(bad)


# --- driver with the fake task ------------------------------------------------------------
def test_skip_by_content_and_config_hash(clips, tmp_path):
    db = tmp_path / "r.sqlite"
    res = run_fake([clips], db)
    # copy_of_a has a's bytes: analysed once; bad.mp4 -> error row
    assert sorted(Path(p).name for p in CALLS) == ["a.mp4", "b.mov", "bad.mp4"]
    assert res.analysed == 3 and res.n_error == 1
    by = {Path(r["path"]).name: r for r in res.rows}
    assert by["copy_of_a.mp4"]["reps"] == by["a.mp4"]["reps"] == 3
    assert by["bad.mp4"]["status"] == "error" and "no person" in by["bad.mp4"]["error"]
    assert len(store_rows(db)) == 3

    CALLS.clear()
    res2 = run_fake([clips], db)
    assert CALLS == [] and res2.analysed == 0 and res2.skipped == 4
    assert [r["status"] for r in res2.rows] == [r["status"] for r in res.rows]

    # a changed file (new content hash) and a changed config are analysed again
    (clips / "sub" / "b.mov").write_text("reps=4")
    run_fake([clips], db)
    assert [Path(p).name for p in CALLS] == ["b.mov"]
    CALLS.clear()
    cfg = load_config(overrides={"reps": {"min_rep_s": 0.7}})
    run_fake([clips / "a.mp4"], db, cfg=cfg)
    assert [Path(p).name for p in CALLS] == ["a.mp4"]
    assert len(store_rows(db)) == 5  # a (2 configs), b (2 contents), bad


def test_retry_failed(clips, tmp_path):
    db = tmp_path / "r.sqlite"
    run_fake([clips], db)
    CALLS.clear()
    run_fake([clips], db)
    assert CALLS == []  # errors are not retried by default
    (clips / "bad.mp4").write_text("bad clip")  # same bytes: still the same row
    res = run_fake([clips], db, retry_failed=True)
    assert [Path(p).name for p in CALLS] == ["bad.mp4"] and res.analysed == 1
    with ResultStore(db) as st:
        assert st.counts() == {"ok": 2, "error": 1}


def test_missing_file_is_an_error_row_then_resolved(clips, tmp_path):
    db = tmp_path / "r.sqlite"
    gone = clips / "later.mp4"
    res = run_fake([gone], db)
    assert res.rows[0]["status"] == "error" and "No such file" in res.rows[0]["error"]
    gone.write_text("reps=1")
    res = run_fake([gone], db)
    assert res.rows[0]["status"] == "ok"
    assert [s for _, s, _ in store_rows(db)] == ["ok"]  # the stale 'missing' row is gone


def test_out_dir_reports_summary_and_html(clips, tmp_path, monkeypatch, caplog):
    out = tmp_path / "out"
    db = out / "formcheck.sqlite"
    run_fake([clips], db, out=out, html=True)
    index = (out / "index.html").read_text()
    assert index.count("<tr") == 1 + 4  # header + one row per clip
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert {Path(r["path"]).name: r["status"] for r in rows} == {
        "a.mp4": "ok", "bad.mp4": "error", "b.mov": "ok", "copy_of_a.mp4": "ok"}
    a = next(r for r in rows if r["path"].endswith("/a.mp4"))
    assert a["reps"] == "3" and a["fault_hyperextension"] == "1" and a["fault_jerky_lift"] == "0"
    for name in ("a", "b", "copy_of_a"):
        rep = json.loads((out / f"{name}.json").read_text())
        assert rep["schema"] == "formcheck.report/2" and rep["clip"]["path"].endswith(name + Path(rep["clip"]["path"]).suffix)
    # resume with the JSON of a skipped clip deleted: it is rewritten from the store
    (out / "b.json").unlink()
    run_fake([clips], db, out=out, html=True)
    assert (out / "b.json").exists()


def test_cli_exit_status_and_export(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "score_clip", fake_task)
    db = tmp_path / "r.sqlite"
    assert main(["batch", str(clips / "a.mp4"), str(clips / "sub"), "--db", str(db), "--workers", "0"]) == 0
    assert main(["batch", str(clips), "--db", str(db), "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "1 clip failed" in err and "--retry-failed" in err
    assert main(["export", "--db", str(db), "--csv", str(tmp_path / "e.csv")]) == 0
    assert len(list(csv.DictReader(open(tmp_path / "e.csv")))) == 3
    assert main(["export", "--db", str(db), "--json", str(tmp_path / "e.json")]) == 0
    assert len(json.loads((tmp_path / "e.json").read_text())["clips"]) == 3
    assert main(["export", "--db", str(tmp_path / "none.sqlite"), "--csv", "x.csv"]) == 2


def test_a_read_only_output_folder_is_a_clear_error_and_keeps_the_store(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "score_clip", fake_task)
    out = tmp_path / "out"
    assert main(["batch", str(clips / "a.mp4"), "--out", str(out), "--workers", "0"]) == 0
    before = (out / "formcheck.sqlite").read_bytes()
    capsys.readouterr()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) in (out, out / "formcheck.sqlite")
                        and mode == os.W_OK else real_access(p, mode, **kw))
    assert main(["batch", str(clips), "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "Choose another --out or --db" in err and "unexpected" not in err
    assert (out / "formcheck.sqlite").read_bytes() == before
    # reading it is fine
    assert main(["export", "--db", str(out / "formcheck.sqlite"), "--csv", str(tmp_path / "e.csv")]) == 0


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_export_and_history_read_a_store_on_a_read_only_mount(clips, tmp_path, monkeypatch):
    """A WAL store on read-only storage (a mounted share, a backup disk) can still be read."""
    monkeypatch.setattr(batch, "score_clip", fake_task)
    out = tmp_path / "store"
    assert main(["batch", str(clips / "a.mp4"), "--out", str(out), "--workers", "0"]) == 0
    db = out / "formcheck.sqlite"
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    script = (f"mount --bind -o ro {out} {out} || exit 77; "
              f"{sys.executable} -m formcheck export --db {db} --csv {tmp_path / 'e.csv'} && "
              f"{sys.executable} -m formcheck history --db {db}")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if r.returncode == 77 or "unshare failed" in r.stderr or "Operation not permitted" in r.stderr:
        pytest.skip(f"no read-only bind mount here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    assert len(list(csv.DictReader(open(tmp_path / "e.csv")))) == 1


def test_the_closing_line_adds_up_and_warnings_are_not_hidden(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "score_clip", fake_task)
    d = tmp_path / "clips"
    d.mkdir()
    (d / "one.mp4").write_text("reps=2")
    assert main(["batch", str(d / "one.mp4"), "--db", str(tmp_path / "a.sqlite"), "--workers", "0"]) == 0
    assert capsys.readouterr().out.startswith("1 clip: 1 ok, 0 failed (1 analysed, 0 already scored) in ")
    (d / "cut.mp4").write_text("reps=0 warn=Only_127_of_460_frames_could_be_read")
    (d / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["batch", str(d), "--out", str(out), "--workers", "0"]) == 1
    text = capsys.readouterr().out
    assert text.startswith("3 clips: 2 ok, 1 failed (2 analysed, 0 already scored, 1 unreadable) in ")
    assert "  ! cut.mp4: Only 127 of 460 frames could be read" in text
    rows = {Path(r["path"]).name: r for r in csv.DictReader(open(out / "summary.csv"))}
    assert rows["cut.mp4"]["warnings"] == "Only 127 of 460 frames could be read"
    assert rows["one.mp4"]["warnings"] == "" and rows["empty.mp4"]["status"] == "error"
    assert main(["export", "--db", str(out / "formcheck.sqlite"), "--csv", str(tmp_path / "e.csv")]) == 0
    exported = {Path(r["path"]).name: r for r in csv.DictReader(open(tmp_path / "e.csv"))}
    assert exported["empty.mp4"]["fault_hyperextension"] == ""  # failed: no counts, not zeros
    assert exported["one.mp4"]["fault_hyperextension"] == "0"


def test_the_resume_command_repeats_every_setting_of_the_analysis(tmp_path):
    """The command printed after Ctrl-C or failures must analyse the rest as the first run did:
    parsed again, it gives the same options (a dropped --set or --max-fps stored a second row
    per clip under other settings)."""
    import shlex

    from formcheck.app.cli import build_parser

    argv = ["batch", "clips dir/", "b.mp4", "--out", str(tmp_path / "r"), "--workers", "1",
            "--profile", "prone", "--model", "full", "--athlete", "Ana", "--calibrate", "start",
            "--neutral", "2.5", "--max-fps", "10", "--set", "faults.max_extension_deg=12",
            "--set", 'faults.disabled=["neck_crank"]', "--annotate", "--html"]
    first = build_parser().parse_args(argv)
    cmd = shlex.split(batch._resume_command(first, tmp_path / "r" / "formcheck.sqlite"))
    assert cmd[:2] == ["formcheck", "batch"]
    again = build_parser().parse_args(cmd[1:])
    keep = {k: v for k, v in vars(first).items() if k not in ("db", "func")}
    assert {k: getattr(again, k) for k in keep} == keep
    assert again.db == str(tmp_path / "r" / "formcheck.sqlite")


def test_stop_flag_keeps_finished_work(clips, tmp_path):
    stop = batch.StopFlag()
    db = tmp_path / "r.sqlite"

    def task(path, cfg, annotate_to=None):
        stop.stop.set()  # "Ctrl-C" arrives while the first clip runs
        return fake_task(path, cfg)

    res = batch.run_batch([str(clips)], load_config(), db, task=task, workers=0, stop=stop,
                          progress=False)
    assert res.interrupted and res.analysed == 1
    assert sum(r["status"] == "pending" for r in res.rows) >= 2
    assert len(store_rows(db)) == 1
    res = run_fake([clips], db)  # resume
    assert res.analysed == 2 and not res.interrupted


def test_ray_missing_gives_install_hint(monkeypatch, clips, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(FormcheckError, match=r"pip install 'formcheck\[ray\]'"):
        batch.run_batch([str(clips)], load_config(), tmp_path / "r.sqlite", engine="ray")


def test_history_table_and_html_escaping(clips, tmp_path, monkeypatch, capsys):
    from formcheck.app import history
    m = tmp_path / "m.csv"
    m.write_text("path,athlete,date\nclips/a.mp4,<b>Ann</b>,2024-03-01\n"
                 "clips/sub/b.mov,<b>Ann</b>,2024-03-08\nclips/bad.mp4,<b>Ann</b>,2024-03-08\n")
    db = tmp_path / "r.sqlite"
    run_fake([m], db)
    with ResultStore(db) as st:
        rows = history.history_rows(st, "<b>Ann</b>")
    assert [(r["date"], r["reps"], r["faults"]) for r in rows] == [
        ("2024-03-01", 3, {"hyperextension": 1}), ("2024-03-08", 2, {})]
    out = tmp_path / "h.html"
    assert main(["history", "--db", str(db), "--athlete", "<b>Ann</b>", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2024-03-01" in text and "hyperextension×1" in text
    page = out.read_text()
    assert "<b>Ann</b>" not in page and "&lt;b&gt;Ann&lt;/b&gt;" in page
    assert "<svg" in page


# --- e2e: the real pose model -------------------------------------------------------------
def _fast_config(tmp_path, fps: float = 10.0) -> Path:
    p = tmp_path / "fast.toml"
    p.write_text(f"[pose]\nmax_fps = {fps}\n")
    return p


def _clip_facts(db) -> dict:
    """content hash -> (rep_count, per-rep fault ids) of every ok clip; checks consistency."""
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    dup = con.execute("SELECT content_hash, config_hash, COUNT(*) FROM clips "
                      "GROUP BY 1, 2 HAVING COUNT(*) > 1").fetchall()
    assert dup == []
    orphans = con.execute("SELECT COUNT(*) FROM reps WHERE clip_id NOT IN (SELECT id FROM clips)")
    assert orphans.fetchone()[0] == 0
    facts = {}
    for cid, h, status, rj in con.execute("SELECT id, content_hash, status, report_json FROM clips"):
        assert status == "ok"
        rep = json.loads(rj)
        rows = con.execute("SELECT faults FROM reps WHERE clip_id = ? ORDER BY idx", (cid,)).fetchall()
        assert len(rows) == len(rep["reps"])  # never a clip without all its reps
        facts[h] = (rep["summary"]["rep_count"], [r[0] for r in rows])
    con.close()
    return facts


@pytest.mark.e2e
def test_batch_matches_analyze_clip(tmp_path):
    from formcheck.app.pipeline import analyze_clip

    cfg_file = _fast_config(tmp_path, 15.0)
    out = tmp_path / "out"
    r = subprocess.run([str(FORMCHECK), "batch", str(SAMPLES), "--out", str(out), "--workers", "2",
                        "--config", str(cfg_file)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = {Path(row["path"]).name: row for row in csv.DictReader(open(out / "summary.csv"))}
    assert len(rows) == 4
    cfg = load_config(cfg_file)
    for clip in sorted(SAMPLES.glob("*.mp4")):
        want = analyze_clip(clip, cfg).report
        got = json.loads((out / f"{clip.stem}.json").read_text())
        assert int(rows[clip.name]["reps"]) == want["summary"]["rep_count"], clip.name
        assert [[f["id"] for f in r["faults"]] for r in got["reps"]] == \
               [[f["id"] for f in r["faults"]] for r in want["reps"]], clip.name


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_sigkill_and_resume_equals_uninterrupted_run(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("dev01_seated_r.mp4", "dev04_prone_l.mp4"):
        shutil.copy(SAMPLES / name, clips / name)
    shutil.copy(SAMPLES / "dev01_seated_r.mp4", clips / "same_as_dev01.mp4")
    cfg_file = _fast_config(tmp_path, 8.0)

    def cmd(db):
        return [str(FORMCHECK), "batch", str(clips), "--db", str(db), "--workers", "2",
                "--config", str(cfg_file)]

    t0 = time.monotonic()
    ref = subprocess.run(cmd(tmp_path / "ref.sqlite"), capture_output=True, text=True, timeout=600)
    t_ref = time.monotonic() - t0
    assert ref.returncode == 0, ref.stderr
    want = _clip_facts(tmp_path / "ref.sqlite")
    assert len(want) == 2

    seed = int(os.environ.get("FORMCHECK_KILL_SEED", "1234"))
    rng = random.Random(seed)
    db = tmp_path / "killed.sqlite"
    done_at_kill = []

    def n_done() -> int:
        try:
            with sqlite3.connect(db, timeout=5) as con:
                return con.execute("SELECT COUNT(*) FROM clips").fetchone()[0]
        except sqlite3.Error:  # not created yet
            return 0

    # kill 1: early (start-up / first clip); kill 2: just after a clip was committed;
    # kill 3: at a random moment.
    for k in range(3):
        proc = subprocess.Popen(cmd(db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if k == 1:
            before = n_done()
            deadline = time.monotonic() + t_ref * 2
            while n_done() <= before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            time.sleep(rng.uniform(0.1, 0.4) * t_ref if k == 0 else rng.uniform(0.3, 0.9) * t_ref)
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15  # orphaned workers notice and exit
        while time.monotonic() < deadline and any(map(_running, kids)):
            time.sleep(0.2)
        assert not [kid for kid in kids if _running(kid)], \
            f"workers left behind after kill -9 (seed {seed})"
        done_at_kill.append(len(_clip_facts(db)) if db.exists() else 0)  # consistent at every kill
    fin = subprocess.run(cmd(db), capture_output=True, text=True, timeout=600)
    assert fin.returncode == 0, fin.stderr
    assert _clip_facts(db) == want, f"seed {seed}"
    assert min(done_at_kill) < len(want), f"no kill interrupted the batch: {done_at_kill}"


@pytest.mark.e2e
def test_ray_engine_local_instance(tmp_path):
    pytest.importorskip("ray")
    from formcheck.app.pipeline import analyze_clip

    clip = SAMPLES / "dev02_seated_l.mp4"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[:4000])
    cfg = load_config(_fast_config(tmp_path, 8.0))
    db = tmp_path / "ray.sqlite"
    res = batch.run_batch([str(clip), str(broken)], cfg, db, workers=2, engine="ray", progress=False)
    by = {Path(r["path"]).name: r for r in res.rows}
    assert by["broken.mp4"]["status"] == "error" and "Cannot open" in by["broken.mp4"]["error"]
    assert by[clip.name]["reps"] == analyze_clip(clip, cfg).result.rep_count
    # resume: nothing to do, no Ray start needed
    again = batch.run_batch([str(clip), str(broken)], cfg, db, workers=2, engine="ray", progress=False)
    assert again.analysed == 0 and again.skipped == 2


def test_html_with_the_real_html_report_module(clips, tmp_path, capsys):
    html_report = pytest.importorskip("formcheck.render.html_report")
    if not hasattr(html_report, "write_index_html") or not hasattr(html_report, "write_history_html"):
        pytest.skip("this html_report has no batch/history pages")
    m = tmp_path / "m.csv"
    m.write_text("path,athlete,date\nclips/a.mp4,<i>Zoe</i>,2024-05-01\nclips/bad.mp4,<i>Zoe</i>,2024-05-02\n")
    out = tmp_path / "out"
    run_fake([m], out / "formcheck.sqlite", out=out, html=True)
    index = (out / "index.html").read_text()
    assert "a.mp4" in index and "bad.mp4" in index and "<i>Zoe</i>" not in index
    page = tmp_path / "h.html"
    assert main(["history", "--db", str(out / "formcheck.sqlite"), "--athlete", "<i>Zoe</i>",
                 "--html", str(page)]) == 0
    text = page.read_text()
    assert "2024-05-01" in text and "<i>Zoe</i>" not in text


def test_parallel_batch_workers_load_one_pose_model_each(monkeypatch):
    """With several clips side by side, each worker process builds one pose model, not a pool
    of ``pose.workers`` (the cores are taken by the clips); alone, the configured pool."""
    from formcheck.app import batch_engines as be
    from formcheck.config import Config
    from formcheck.media import pose

    built = []

    class Fake:
        def __init__(self, pc, workers=None):
            built.append(workers)

        def close(self):
            pass

    monkeypatch.setattr(pose, "make_estimator", Fake)
    monkeypatch.setattr(be, "_ESTIMATOR", None)
    monkeypatch.setattr(be, "_ESTIMATOR_KEY", None)
    cfg = Config()
    assert cfg.pose.workers == 2
    monkeypatch.setattr(be, "_POSE_WORKERS", 1)
    be.worker_estimator(cfg)
    be.worker_estimator(cfg)  # kept: the same model for the next clip
    monkeypatch.setattr(be, "_POSE_WORKERS", None)
    be.worker_estimator(cfg)
    assert built == [1, None]  # the override, then the configured pose.workers
    assert cfg.pose.workers == 2  # the clip's own config (and its report) is untouched


def test_a_ray_task_builds_one_pose_model(monkeypatch):
    """Ray reserves one CPU per task: its worker keeps one model, not a pool of pose.workers."""
    from formcheck.app import batch_engines as be
    from formcheck.config import Config

    monkeypatch.setattr(be, "_POSE_WORKERS", None)
    seen = []

    def task(path, cfg, annotate_to):
        seen.append((path, annotate_to, be._POSE_WORKERS))
        return {"status": "ok"}

    assert be._one_core_task(task, "a.mp4", Config(), None) == {"status": "ok"}
    assert seen == [("a.mp4", None, 1)]
