"""Batch results that stay true: athletes from ``--athlete``, dates shown as recorded, a resume
key that holds the formcheck version and the model hash, and an index that counts like the
command. Fast tier: a fake per-clip task, no pose model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import formcheck
from formcheck.app import batch, history
from formcheck.app.cli import main
from formcheck.app.store import ResultStore
from formcheck.config import load_config

CALLS: list[str] = []


def fake_task(path: str, cfg, annotate_to=None) -> dict:
    """The "clip" is a text file ``reps=N`` (or ``bad``): a report without a pose model."""
    CALLS.append(Path(path).name)
    text = Path(path).read_text()
    if text.startswith("bad"):
        return {"status": "error", "error": f"{path}: cannot open", "seconds": 0.01}
    n = int(text.split("=")[1])
    reps = [{"index": i, "counted": True, "depth_deg": -40.0, "peak_extension_deg": 1.0,
             "lowering_s": 1.2, "lifting_s": 1.1, "top_hold_s": 0.3, "score": 100.0,
             "faults": []} for i in range(n)]
    return {"status": "ok", "seconds": 0.01, "report": {
        "schema": "formcheck.report/2", "formcheck_version": formcheck.__version__,
        "clip": {"path": path, "fps": 30.0, "n_frames": 90, "duration_s": 3.0},
        "summary": {"rep_count": n, "partial_reps": 0, "good_reps": n, "faults": {},
                    "score": 100.0 if n else None},
        "reps": reps}}


@pytest.fixture
def clips(tmp_path, monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(batch, "score_clip", fake_task)
    d = tmp_path / "clips"
    d.mkdir()
    (d / "a.mp4").write_text("reps=3")
    (d / "b.mp4").write_text("reps=2")
    return d


def test_batch_athlete_flag_reaches_history(clips, tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    assert main(["batch", str(clips), "--db", str(db), "--workers", "0", "--athlete", "Ana"]) == 0
    capsys.readouterr()
    assert main(["history", "--db", str(db), "--athlete", "Ana"]) == 0
    out = capsys.readouterr().out
    assert "No scored clips" not in out and "No clips" not in out
    line = next(x for x in out.splitlines() if " Ana " in x)
    assert re.search(r"\bAna\s+2\s+5\b", line), line  # 2 clips, 5 reps
    assert main(["history", "--db", str(db), "--athlete", "ana"]) == 0  # a name, in any case
    assert capsys.readouterr().out == out
    # a manifest's athlete column wins over --athlete for its rows
    m = tmp_path / "m.csv"
    m.write_text("path,athlete\nclips/a.mp4,Bo\n")
    batch.run_batch([str(m)], load_config(), db, workers=0, progress=False, athlete="Cy")
    with ResultStore(db) as st:
        assert {Path(r["path"]).name: r["athlete"] for r in st.clips()} == {"a.mp4": "Bo", "b.mp4": "Ana"}


def test_history_for_an_unknown_athlete_says_where_athletes_come_from(clips, tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    m = tmp_path / "m.csv"
    m.write_text("path,athlete\nclips/a.mp4,Bo\nclips/b.mp4,Cy\n")
    batch.run_batch([str(m)], load_config(), db, workers=0, progress=False)
    assert main(["history", "--db", str(db), "--athlete", "Ana"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"No clips for athlete 'Ana' in {db} (athletes: Bo, Cy). Athletes come from --athlete "
        f"or a manifest's athlete column. Score some with `formcheck batch CLIPS --db {db} "
        "--athlete Ana`.")
    assert history.no_history_message("x.db", "Ana", []).startswith(
        "No clips for athlete 'Ana' in x.db (no clip has an athlete).")


def test_date_only_values_are_shown_without_a_time(clips, tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    m = tmp_path / "m.csv"
    m.write_text("path,athlete,date\nclips/a.mp4,Ana,2025-01-06\nclips/b.mp4,Ana,2025-01-08\n")
    batch.run_batch([str(m)], load_config(), db, workers=0, progress=False)
    page = tmp_path / "h.html"
    assert main(["history", "--db", str(db), "--athlete", "Ana", "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^2025-01-06\s+Ana", out, re.M) and re.search(r"^2025-01-08\s+Ana", out, re.M)
    text = page.read_text()
    assert " 00:00" not in text  # neither in the table nor in the plot's tooltips
    assert '<td class="date" data-sort="2025-01-06T00:00:00">2025-01-06</td>' in text
    assert re.search(r"<title>2025-01-08 · [^<]*: score 100</title>", text)


@pytest.mark.parametrize("value,shown", [
    ("2025-01-06", "2025-01-06"), ("2025-01-06T17:45:00", "2025-01-06 17:45"),
    ("2025-01-06T17:45:00+01:00", "2025-01-06 16:45"), ("2025-01-06T00:00:00", "2025-01-06 00:00"),
    ("", "–"), (None, "–"), ("last week", "last week"),
])
def test_date_text(value, shown):
    from formcheck.render.html.values import date_text

    assert date_text(value) == shown


def test_resume_key_holds_the_formcheck_version_and_the_model_hash(clips, tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    cfg = load_config()
    run = lambda: batch.run_batch([str(clips / "a.mp4")], cfg, db, workers=0, progress=False)  # noqa: E731
    first = run()
    assert CALLS == ["a.mp4"] and first.analysed == 1
    CALLS.clear()
    again = run()  # same clip, same config, same version, same model: skipped
    assert CALLS == [] and again.skipped == 1 and again.analysed == 0
    old_version = formcheck.__version__
    monkeypatch.setattr(formcheck, "__version__", "99.0.0")
    upgraded = run()  # an upgrade re-scores instead of reusing the old result
    assert CALLS == ["a.mp4"] and upgraded.analysed == 1 and upgraded.skipped == 0
    with ResultStore(db) as st:
        versions = sorted(r["formcheck_version"] for r in st.clips())
        assert versions == sorted([old_version, "99.0.0"])  # both results kept, each labelled
        shas = {r["model_sha256"] for r in st.clips()}
    from formcheck.app.keys import analysis_key, model_sha256

    assert shas == {model_sha256("full")} and len(model_sha256("full")) == 64
    # the key moves with each of its three parts, and only with them
    base = analysis_key(cfg, "1.0", "a" * 64)
    assert base == analysis_key(load_config(), "1.0", "a" * 64)
    assert base != analysis_key(cfg, "1.1", "a" * 64)
    assert base != analysis_key(cfg, "1.0", "b" * 64)
    assert base != analysis_key(load_config(overrides={"reps": {"min_rep_s": 0.7}}), "1.0", "a" * 64)


def test_new_model_bytes_under_the_same_name_re_score(clips, tmp_path):
    """The key holds the model's sha256, not its name: a model file replaced in place (an
    upgraded bundle, a re-downloaded preset) re-scores; the same bytes do not."""
    import os

    from formcheck.media.models import bundled_model_path

    db = tmp_path / "r.sqlite"
    model = tmp_path / "pose.task"
    model.write_bytes(bundled_model_path().read_bytes())
    cfg = load_config(overrides={"pose": {"model": str(model)}})
    run = lambda: batch.run_batch([str(clips / "a.mp4")], cfg, db, workers=0, progress=False)  # noqa: E731
    run()
    CALLS.clear()
    os.utime(model, ns=(1, 1))  # touched, same bytes: same key
    run()
    assert CALLS == []
    model.write_bytes(bundled_model_path().read_bytes() + b"\0")  # still a valid zip
    run()
    assert CALLS == ["a.mp4"]


def _cards(index_html: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="k">([^<]*)</div><div class="v">([^<]*)</div>', index_html))


def test_index_counts_agree_with_the_command(clips, tmp_path, capsys):
    """`formcheck batch` over good clips, an undecodable one and an empty one: the index's cards
    carry the numbers of the command's closing line, under the same words."""
    (clips / "bad.mp4").write_text("bad bytes")
    (clips / "empty.mp4").write_text("")  # refused at planning: failed, never analysed
    out = tmp_path / "out"
    for _ in range(2):  # a fresh run, then a resumed one (everything already scored)
        assert main(["batch", str(clips), "--out", str(out), "--html", "--workers", "0"]) == 1
        line = capsys.readouterr().out.splitlines()[0]
        m = re.match(r"(\d+) clips: (\d+) ok, (\d+) failed \((\d+) analysed, (\d+) already scored,"
                     r" (\d+) unreadable\)", line)
        assert m, line
        clips_n, ok, failed, analysed, skipped, unreadable = m.groups()
        cards = _cards((out / "index.html").read_text())
        assert (cards["Clips"], cards["OK"], cards["Failed"]) == (clips_n, ok, failed)
        assert (cards["Analysed"], cards["Already scored"], cards["Unreadable"]) == (analysed, skipped, unreadable)
        assert int(analysed) + int(skipped) + int(unreadable) == int(clips_n)  # every clip in one
    assert (clips_n, ok, failed, analysed, skipped, unreadable) == ("4", "2", "2", "0", "3", "1")


def test_a_still_start_calibration_is_kept_with_the_athlete_and_used_for_later_clips(tmp_path, monkeypatch):
    """--calibrate start on one clip stores the athlete's neutral; that athlete's later clips are
    analysed with it (and other athletes' are not), unless the command sets a neutral itself."""
    seen: dict[str, tuple[float, str]] = {}

    def task(path: str, cfg, annotate_to=None) -> dict:
        res = fake_task(path, cfg, annotate_to)
        kc = cfg.kinematics
        seen[Path(path).name] = (kc.neutral_offset_deg, kc.calibrate)
        source = "start" if kc.calibrate == "start" else ("config" if kc.neutral_offset_deg else "none")
        res["report"]["scene"] = {"neutral_offset_deg": 4.25 if source == "start" else kc.neutral_offset_deg,
                                  "neutral_source": source}
        return res

    monkeypatch.setattr(batch, "score_clip", task)
    d = tmp_path / "clips"
    d.mkdir()
    for name, n in (("first.mp4", 3), ("later.mp4", 2), ("other.mp4", 4), ("given.mp4", 1)):
        (d / name).write_text(f"reps={n}")
    db = tmp_path / "r.sqlite"
    cfg = load_config()
    batch.run_batch([str(d / "first.mp4")], load_config(None, {"kinematics": {"calibrate": "start"}}),
                    db, workers=0, progress=False, athlete="Ana")
    with ResultStore(db) as st:
        assert st.athlete_neutral("Ana") == pytest.approx(4.25)
        assert st.athlete_neutral("Bo") is None
    batch.run_batch([str(d / "later.mp4")], cfg, db, workers=0, progress=False, athlete="Ana")
    batch.run_batch([str(d / "other.mp4")], cfg, db, workers=0, progress=False, athlete="Bo")
    batch.run_batch([str(d / "given.mp4")], load_config(None, {"kinematics": {"neutral_offset_deg": -2.0}}),
                    db, workers=0, progress=False, athlete="Ana")
    assert seen == {"first.mp4": (0.0, "start"), "later.mp4": (4.25, "off"),
                    "other.mp4": (0.0, "off"), "given.mp4": (-2.0, "off")}
    with ResultStore(db) as st:
        assert st.athlete_neutral("Ana") == pytest.approx(4.25)  # a given neutral is not stored


def test_calibrate_and_neutral_options_reach_the_config():
    from formcheck.app.cli import build_parser
    from formcheck.app.options import config_from_args

    args = build_parser().parse_args(["analyze", "x.mp4", "--calibrate", "start", "--neutral", "3.5"])
    cfg = config_from_args(args)
    assert (cfg.kinematics.calibrate, cfg.kinematics.neutral_offset_deg) == ("start", 3.5)
