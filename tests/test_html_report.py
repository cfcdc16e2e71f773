"""HTML pages (issue #6): the clip report, the batch index and the history page.

Fast tier: synthetic reports (no model, no browser) checked by parsing the HTML.
Browser tier: headless Chromium driven by Playwright (skips when either is missing):
the page loads without console errors, the charts have a size, the rep table matches the
report, the index sorts, and the embedded annotated video plays.
Screenshots go to ``test-artifacts/`` (git-ignored) for a human look.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLES
from synth import RepScript, body_frames, run, script_set

from formcheck.config import Config
from formcheck.render.html_report import (
    Thresholds, script_json, write_history_html, write_html_report, write_index_html,
)
from formcheck.render.report import build_report
from formcheck.media.sources import ClipInfo

EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
EVIL_ATTR = 'x" onmouseover="alert(2)'  # tries to break out of a quoted attribute
ARTIFACTS = ROOT / "test-artifacts"


# --------------------------------------------------------------------------- helpers


class _Tables(HTMLParser):
    """Collects, per table id: header texts, and body rows as (attrs, [cell text])."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.scripts: list[tuple[dict, str]] = []
        self._table: str | None = None
        self._in_body = False
        self._row: tuple[dict, list[str]] | None = None
        self._cell: list[str] | None = None
        self._script: tuple[dict, list[str]] | None = None
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id", f"t{len(self.tables)}")
            self.tables[self._table] = {"head": [], "rows": []}
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "script":
            self._script = (a, [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            key = "rows" if self._in_body else "head"
            if key == "head":
                self.tables[self._table]["head"] = self._row[1]
            else:
                self.tables[self._table]["rows"].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None
        elif tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._script is not None:
            self._script[1].append(data)


def parse(text: str) -> _Tables:
    p = _Tables()
    p.feed(text)
    p.close()
    return p


def assert_offline(text: str) -> None:
    """No network references at all: no http(s) URLs, no protocol-relative src/href/url()."""
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*//""", text, re.I)
    assert not re.search(r"""url\(\s*["']?\s*//""", text, re.I)
    assert "@import" not in text


def assert_no_injection(text: str) -> None:
    """The evil strings only ever appear escaped."""
    assert EVIL not in text
    assert "<script>alert" not in text.replace("\\u003c", "")
    assert 'onmouseover="alert' not in text
    assert "<img src=x" not in text
    doc = parse(text)
    # the only <script> elements are ours: sort/seek code and the embedded JSON
    for attrs, body in doc.scripts:
        assert "alert(" not in body or attrs.get("type") == "application/json"
    assert not any(k.startswith("on") for _, a in doc.tags for k in a)


def synthetic_report(path: str = f"clips/{EVIL}.mp4") -> dict:
    """A report from the real analysis core on a scripted stick figure: one partial rep,
    one hyperextended rep, one clean rep; with a tracking gap to exercise null samples."""
    reps = [RepScript(depth=-11), RepScript(peak=18), RepScript()]
    t, e, neck, shift = script_set(reps)
    frames = body_frames(t, e, "seated", "right", neck=neck, shift=shift)
    gap = set(range(len(frames) - 25, len(frames) - 5))  # 0.67 s without a person near the end
    result, _ = run(frames, drop=gap)
    info = ClipInfo(path, 30.0, len(frames), round(float(t[-1]) + 1 / 30, 3), 640, 480, 0)
    report = build_report(result, info, Config().digest(), include_frames=True)
    # a cue carrying markup, as a custom rule or translation might produce
    for r in report["reps"]:
        for f in r["faults"]:
            f["cue"] = f["cue"] + " <img src=x onerror=alert(3)> & more"
    return report


@pytest.fixture(scope="module")
def report() -> dict:
    r = synthetic_report()
    # the synthetic set must exercise what the page draws; details are not pinned here
    assert r["summary"]["partial_reps"] >= 1 and r["summary"]["rep_count"] >= 1
    assert any(r2["faults"] for r2 in r["reps"])
    assert any(v is None for v in r["frames"]["extension_deg"])
    return r


def make_webm(path: Path, n_frames: int = 30, fps: float = 2.0, size=(160, 120)) -> Path:
    """A short VP9 WebM of shifting colour (15 s at 2 fps: longer than the synthetic set)."""
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP90"), fps, size)
    if not w.isOpened():
        pytest.skip("this OpenCV build cannot write VP9 WebM")
    for i in range(n_frames):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:] = ((i * 8) % 256, 255 - (i * 8) % 256, (i * 37) % 256)
        w.write(img)
    w.release()
    assert path.stat().st_size > 0
    return path


INDEX_ROWS = [
    dict(path="batch/clip10.mp4", status="ok", rep_count=10, partial_reps=1,
         faults={"hyperextension": 2, "fast_descent": 0}, score=71.5, error=None,
         report_html="clip10.html"),
    dict(path="batch/clip2.mp4", status="ok", rep_count=3, partial_reps=0, faults={}, score=95.0,
         error=None, report_html="javascript:alert(1)"),
    dict(path=f"batch/{EVIL}.mp4", status="error", rep_count=None, partial_reps=None, faults=None,
         score=None, error=f"cannot open {EVIL} <img src=x onerror=alert(4)>"),
    dict(path=f"batch/{EVIL_ATTR}.mp4", status="ok", rep_count=5, partial_reps=2,
         faults="fast_descent x3", score=40.0, error=""),
    dict(path="batch/clip1.mp4", status="skipped", rep_count=0, partial_reps=0, faults={},
         score=None, error=None, report_html=f"{EVIL}.html"),
]

HISTORY_ROWS = [
    dict(date="2026-11-05T10:00:00Z", path="s2.mp4", rep_count=10, score=72.0,
         faults={"fast_descent": 1}),
    dict(date="2026-11-01T10:00:00", path=f"{EVIL}.mp4", rep_count=8, score=60.0,
         faults={"fast_descent": 3}),
    dict(date="2026-11-12", path="s3.mp4", rep_count=12, score=88.0, faults={}),
    dict(date=None, path="undated.mp4", rep_count=4, score=None, faults="hip_shift x1"),
]


# --------------------------------------------------------------------------- fast tier


def test_rep_table_has_one_row_per_rep(report, tmp_path):
    text = write_html_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    doc = parse(text)
    rows = doc.tables["reps"]["rows"]
    assert len(rows) == len(report["reps"])
    assert [r[1][0] for r in rows] == [str(r["index"]) for r in report["reps"]]
    partial_rows = [r for r in rows if r[0].get("class") == "partial"]
    assert len(partial_rows) == report["summary"]["partial_reps"]
    # each fault id and its cue are in the row of its rep
    for (_, cells), rep in zip(rows, report["reps"]):
        for f in rep["faults"]:
            assert f["id"] in cells[-1] and f["cue"].split(" <img")[0] in cells[-1]
    head = doc.tables["reps"]["head"]
    for col in ("Rep", "Counted", "Depth", "Peak ext.", "Lowering", "Lifting", "Top hold",
                "Peak lift vel.", "Score", "Faults and cues"):
        assert col in head


def test_report_summary_and_embedded_json(report, tmp_path):
    text = write_html_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    doc = parse(text)
    blobs = [b for a, b in doc.scripts if a.get("id") == "formcheck-report"]
    assert len(blobs) == 1
    data = json.loads(blobs[0])
    assert data["clip"]["path"] == report["clip"]["path"]  # round-trips the evil name
    assert data["summary"] == report["summary"]
    assert len(data["reps"]) == len(report["reps"])
    s = report["summary"]
    assert f'{s["score"]:.0f}' in text
    for fid, n in s["faults"].items():
        if n:
            assert f"{fid} <b>×{n}</b>" in text
    for fact in ("640×480", "30.0 fps", "seated", "right"):
        assert fact in text


def test_malicious_names_are_escaped_everywhere(report, tmp_path):
    r = copy.deepcopy(report)
    r["clip"]["path"] = f"{EVIL_ATTR}{EVIL}.mp4"
    r["warnings"] = [f"warning {EVIL}"]
    pages = [
        write_html_report(r, tmp_path / "r.html").read_text(encoding="utf-8"),
        write_html_report(report, tmp_path / "r2.html").read_text(encoding="utf-8"),
        write_index_html(INDEX_ROWS, tmp_path / "index.html").read_text(encoding="utf-8"),
        write_history_html(HISTORY_ROWS, tmp_path / "h.html", athlete=EVIL).read_text(encoding="utf-8"),
    ]
    for text in pages:
        assert_no_injection(text)
        assert EVIL_ESCAPED in text
    # the attribute-breaking name is inert: its quote is escaped inside the title attribute
    # (Jinja2's autoescape, via markupsafe, writes the quote as &#34;)
    assert "x&#34; onmouseover=&#34;alert(2)" in pages[0]
    assert any(a.get("title") == r["clip"]["path"] for _, a in parse(pages[0]).tags)
    # the cue's markup is shown as text in the rep table
    assert "&lt;img src=x onerror=alert(3)&gt; &amp; more" in pages[1]
    # javascript: links from report_html cannot form a scheme
    assert 'href="javascript:' not in pages[2]
    assert 'href="javascript%3Aalert%281%29"' in pages[2]


def test_hostile_clip_athlete_and_cue_are_text_on_all_three_pages(report, tmp_path):
    """A hostile string as clip name, athlete and cue is shown as text on the report, the batch
    index and the history page, and never becomes an element."""
    # a file name cannot hold "/", so the <script> goes in the folder and an <img> in the name
    name = "<img src=x onerror=alert(5)>.mp4"
    r = copy.deepcopy(report)
    r["clip"]["path"] = f"{EVIL}/{name}"
    for rep in r["reps"]:
        for f in rep["faults"]:
            f["cue"] = EVIL
    rows = [dict(path=f"{EVIL}/{name}", status="ok", rep_count=3, partial_reps=0,
                 faults={"hyperextension": 1}, score=80.0, error=None, athlete=EVIL,
                 date="2025-01-06")]
    report_page = write_html_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    index_page = write_index_html(rows, tmp_path / "i.html").read_text(encoding="utf-8")
    hist_page = write_history_html([dict(rows[0], athlete=None)], tmp_path / "h.html",
                                   athlete=EVIL).read_text(encoding="utf-8")
    for text in (report_page, index_page, hist_page):
        assert_no_injection(text)
        assert EVIL_ESCAPED in text
    doc = parse(report_page)
    assert any(a.get("title") == f"{EVIL}/{name}" for _, a in doc.tags)
    assert "&lt;img src=x onerror=alert(5)&gt;.mp4</h1>" in report_page
    cues = [cells[-1] for _, cells in doc.tables["reps"]["rows"] if cells[-1] != "—"]
    assert cues and all(EVIL in c for c in cues)  # the cue reads as the literal text
    idx = parse(index_page).tables["clips"]
    assert idx["head"][-2:] == ["Athlete", "Date"]
    assert idx["rows"][0][1][0] == name and idx["rows"][0][1][-2] == EVIL
    assert f"<title>{EVIL_ESCAPED} — formcheck history</title>" in hist_page
    assert parse(hist_page).tables["history"]["rows"][0][1][1] == name


def test_pages_come_from_strict_autoescaping_templates_that_ship_in_the_wheel():
    import jinja2

    from formcheck.render import html as pages

    env = pages.ENV
    for name in ("base.html.j2", "report.html.j2", "index.html.j2", "history.html.j2"):
        assert env.autoescape(name) is True, name
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("index.html.j2").render(title="t")  # a missing value is an error
    # the package and every template file are declared for the wheel
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover
        import tomli as tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(d.startswith("jinja2") for d in meta["project"]["dependencies"])
    assert "formcheck.render.html" in meta["tool"]["setuptools"]["packages"]
    globs = meta["tool"]["setuptools"]["package-data"]["formcheck.render.html"]
    pkg = Path(pages.__file__).parent
    files = [p for p in (pkg / "templates").iterdir() if p.is_file()]
    assert len(files) >= 4
    for f in files:
        assert any(f.relative_to(pkg).match(g) for g in globs), f
    # no module of the HTML renderer is a 900-line monolith again
    for mod in pkg.glob("*.py"):
        assert len(mod.read_text().splitlines()) <= 400, mod


def test_score_formula_is_documented_on_the_page_and_matches_the_core(report, tmp_path):
    """The footer and the set-score tooltip state the formula, and the formula as written
    reproduces the scores the analysis computed for this set."""
    from markupsafe import escape

    from formcheck.render.html import SCORE_HELP

    text = write_html_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<footer>\n<p>{escape(SCORE_HELP)}</p>" in text
    assert f'<div class="card" title="{escape(SCORE_HELP)}"><div class="k">Set score</div>' in text
    for words in ("loses 35 per major and 15 per minor fault", "mean of the counted reps",
                  "minus 5 per partial rep"):
        assert words in SCORE_HELP
    # the formula, as the page states it
    counted = [r for r in report["reps"] if r["counted"]]
    for r in counted:
        major = sum(f["severity"] == "major" for f in r["faults"])
        minor = sum(f["severity"] != "major" for f in r["faults"])
        assert r["score"] == max(0, 100 - 35 * major - 15 * minor)
    partial = sum(not r["counted"] for r in report["reps"])
    assert partial >= 1 and any(r["faults"] for r in counted)  # every term is exercised
    expected = max(0.0, sum(r["score"] for r in counted) / len(counted) - 5 * partial)
    assert report["summary"]["score"] == pytest.approx(expected, abs=0.05)


def test_script_json_cannot_close_the_script_element():
    s = script_json({"a": "</script><script>alert(1)</script>", "b": "x & y \u2028"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><script>alert(1)</script>", "b": "x & y \u2028"}


def test_pages_are_self_contained(report, tmp_path):
    make_webm(tmp_path / "v.webm", n_frames=4)
    for text in (
        write_html_report(report, tmp_path / "r.html", video=tmp_path / "v.webm").read_text(encoding="utf-8"),
        write_index_html(INDEX_ROWS, tmp_path / "i.html").read_text(encoding="utf-8"),
        write_history_html(HISTORY_ROWS, tmp_path / "h.html").read_text(encoding="utf-8"),
    ):
        assert_offline(text)
        assert "<style>" in text and "<link" not in text
        assert not re.search(r"<script[^>]*\bsrc=", text)


def test_extension_chart_draws_zones_reps_gaps_and_faults(report, tmp_path):
    text = write_html_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
    assert len(svgs) == 2  # e(t) and angular velocity
    e_svg = next(s for s in svgs if 'class="chart-e"' in s)
    assert 'viewBox="0 0 ' in e_svg and "width=" not in e_svg.split(">", 1)[0]
    d = Config()
    assert f"TOP zone: e above -{d.reps.top_deg:g}°" in e_svg
    assert f"BOTTOM zone: e below -{d.reps.bottom_deg:g}°" in e_svg
    assert f"hyperextension +{d.faults.max_extension_deg:g}°" in e_svg
    assert e_svg.count('class="neutral"') == 1 and e_svg.count('class="hyper"') == 1
    n_counted = report["summary"]["rep_count"]
    assert e_svg.count('<rect class="rep"') == n_counted
    assert e_svg.count('<rect class="rep-partial"') == report["summary"]["partial_reps"]
    n_faults = sum(len(r["faults"]) for r in report["reps"])
    assert e_svg.count('<g class="mk"') == n_faults
    # each fault marker carries its cue as a tooltip
    for r in report["reps"]:
        for f in r["faults"]:
            assert f"Rep {r['index']} · {f['id']}" in e_svg
    # the null samples split the curve into more than one sub-path
    curve = re.search(r'<path class="curve" d="([^"]+)"', e_svg).group(1)
    assert curve.count("M") >= 2


def test_thresholds_come_from_the_report_config(report, tmp_path):
    r = copy.deepcopy(report)
    r["config"] = {"reps": {"top_deg": 12.0, "bottom_deg": 35.0},
                   "faults": {"max_extension_deg": 8.0}}
    th = Thresholds.from_report(r)
    assert (th.top_deg, th.bottom_deg, th.max_extension_deg) == (12.0, 35.0, 8.0)
    assert th.max_lift_velocity_dps == Config().faults.max_lift_velocity_dps
    text = write_html_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "TOP zone: e above -12°" in text and "BOTTOM zone: e below -35°" in text
    assert "hyperextension +8°" in text
    d = Thresholds.from_report({})
    c = Config()
    assert (d.top_deg, d.bottom_deg, d.max_extension_deg) == (
        c.reps.top_deg, c.reps.bottom_deg, c.faults.max_extension_deg)


def test_video_is_linked_relative_to_the_page(report, tmp_path):
    (tmp_path / "videos").mkdir()
    vid = make_webm(tmp_path / "videos" / "my set.webm", n_frames=4)
    out = tmp_path / "pages" / "r.html"
    text = write_html_report(report, out, video=str(vid)).read_text(encoding="utf-8")
    assert '<video id="clip-video" controls' in text
    assert '<source src="../videos/my%20set.webm" type="video/webm">' in text
    assert (out.parent / "../videos/my set.webm").resolve() == vid.resolve()
    text2 = write_html_report(report, tmp_path / "r2.html", video=None).read_text(encoding="utf-8")
    assert "<video" not in text2


def test_report_without_frames_or_reps_still_renders(tmp_path):
    info = ClipInfo("empty.mp4", 30.0, 0, 0.0, 640, 480, 0)
    t, e, _, _ = script_set([], lead_s=1.0, tail_s=0.0)
    result, _ = run(body_frames(t, e))
    r = build_report(result, info, "", include_frames=False)
    text = write_html_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    doc = parse(text)
    assert doc.tables["reps"]["rows"] == []
    assert "no per-frame series" in text and "No reps were found" in text
    assert "<svg" not in text


def test_index_page_rows_links_and_faults(tmp_path):
    text = write_index_html(INDEX_ROWS, tmp_path / "index.html").read_text(encoding="utf-8")
    doc = parse(text)
    rows = doc.tables["clips"]["rows"]
    assert len(rows) == len(INDEX_ROWS)
    assert doc.tables["clips"]["head"][:7] == [
        "Clip", "Status", "Reps", "Partial", "Faults", "Score", "Error"]
    assert rows[0][1][:6] == ["clip10.mp4", "ok", "10", "1", "hyperextension ×2", "72"]
    assert 'href="clip10.html"' in text
    assert rows[2][1][1] == "error" and "cannot open <script>" in rows[2][1][6]
    assert rows[3][1][4] == "fast_descent x3"
    assert "class=\"sortable\"" in text and "<script>" in text
    empty = write_index_html([], tmp_path / "empty.html").read_text(encoding="utf-8")
    assert parse(empty).tables["clips"]["rows"] == [] and "No clips." in empty


def test_history_page_table_and_plot(tmp_path):
    text = write_history_html(HISTORY_ROWS, tmp_path / "h.html", athlete="Ann").read_text(encoding="utf-8")
    doc = parse(text)
    rows = doc.tables["history"]["rows"]
    assert len(rows) == len(HISTORY_ROWS)
    # oldest first, undated last
    assert [r[1][1] for r in rows][-1] == "undated.mp4"
    assert rows[0][1][0].startswith("2026-11-01") and rows[1][1][0].startswith("2026-11-05")
    assert "<title>Ann — formcheck history</title>" in text
    svg = re.search(r"<svg\b.*?</svg>", text, re.S).group(0)
    assert svg.count('<circle class="pt"') == sum(r["score"] is not None for r in HISTORY_ROWS)
    assert svg.count('<rect class="pt2"') == len(HISTORY_ROWS)
    assert 'class="curve"' in svg and 'class="curve2"' in svg
    # the plot runs oldest to newest like the table, undated sessions last
    circles = re.findall(r'<circle class="pt" cx="([\d.]+)"[^>]*><title>([^<]*)</title>', svg)
    xs = [float(x) for x, _ in circles]
    assert xs == sorted(xs) and circles[0][1].startswith("2026-11-01")
    assert "undated.mp4" in re.findall(r'<rect class="pt2"[^>]*><title>([^<]*)</title>', svg)[-1]
    empty = write_history_html([], tmp_path / "e.html").read_text(encoding="utf-8")
    assert "No sessions yet." in empty and "<svg" not in empty


# --------------------------------------------------------------------------- browser tier

CHROMIUM = os.environ.get("FORMCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class _Page:
    """A page with its console errors, uncaught exceptions and dialogs recorded."""

    def __init__(self, browser, width: int, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: Path):
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.page.close()


def check_report_page(browser, html: Path, n_reps: int, shot: str | None = None,
                      expect_video: bool = True) -> None:
    """Load the report at a phone and a wide width and check what a person would see."""
    for width, tag in ((390, "phone"), (1280, "wide")):
        p = _Page(browser, width, 844 if tag == "phone" else 900)
        page = p.open(html)
        box = page.locator("svg.chart-e").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, box
        assert page.locator("svg.chart-e path.curve").count() == 1
        assert page.locator("#reps tbody tr").count() == n_reps
        embedded = page.evaluate(
            "() => JSON.parse(document.getElementById('formcheck-report').textContent).reps.length")
        assert embedded == n_reps
        # the page itself never scrolls sideways (charts and tables scroll inside their box)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{tag}: page is {overflow}px wider than the viewport"
        if expect_video:
            page.wait_for_function(
                "() => { const v = document.getElementById('clip-video');"
                " return v && (v.readyState >= 2 || v.error); }", timeout=15000)
            state = page.evaluate(
                "() => { const v = document.getElementById('clip-video');"
                " return {rs: v.readyState, d: v.duration, err: v.error && v.error.code,"
                " w: v.videoWidth}; }")
            assert state["err"] is None, state
            assert state["rs"] >= 2 and state["d"] > 0 and state["w"] > 0, state
        if shot:
            ARTIFACTS.mkdir(exist_ok=True)
            name = f"{shot}.png" if tag == "wide" else f"{shot}_{tag}.png"
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        assert not p.errors, p.errors
        assert not p.dialogs, p.dialogs
        assert all(u.startswith(("file:", "data:", "about:")) for u in p.requests), p.requests
        p.close()


def test_report_in_browser(browser, report, tmp_path):
    vid = make_webm(tmp_path / "annotated.webm")
    html = write_html_report(report, tmp_path / "report.html", video=vid)
    check_report_page(browser, html, len(report["reps"]), shot="html_report")

    # clicking a rep row seeks the video to the rep's start
    p = _Page(browser, 1280)
    page = p.open(html)
    page.wait_for_function("() => document.getElementById('clip-video').readyState >= 1",
                           timeout=15000)
    last = report["reps"][-1]
    page.locator("#reps tbody tr").nth(len(report["reps"]) - 1).click()
    t = page.evaluate("() => document.getElementById('clip-video').currentTime")
    assert t == pytest.approx(last["t_start"], abs=0.6)
    # the fault markers carry tooltips
    titles = page.locator("svg.chart-e g.mk title").all_text_contents()
    assert len(titles) == sum(len(r["faults"]) for r in report["reps"])
    assert all("<img src=x" in s for s in titles)  # the cue's markup is text, not an element
    assert page.locator("img").count() == 0
    assert not p.errors and not p.dialogs
    p.close()


def _column(page, table: str, col: int) -> list[str]:
    return page.evaluate(
        f"() => Array.from(document.querySelectorAll('#{table} tbody tr'))"
        f".map(r => r.cells[{col}].textContent.trim())")


def test_index_sorts_in_browser(browser, tmp_path):
    html = write_index_html(INDEX_ROWS, tmp_path / "index.html")
    p = _Page(browser, 1280)
    page = p.open(html)
    before = _column(page, "clips", 0)
    page.locator("#clips thead th", has_text="Score").click()
    scores = _column(page, "clips", 5)
    assert scores == ["40", "72", "95", "–", "–"]  # numeric ascending, blanks last
    page.locator("#clips thead th", has_text="Score").click()
    assert _column(page, "clips", 5) == ["95", "72", "40", "–", "–"]
    assert page.locator("#clips thead th", has_text="Score").get_attribute("aria-sort") == "descending"
    page.locator("#clips thead th", has_text="Reps").click()
    assert _column(page, "clips", 2) == ["0", "3", "5", "10", "–"]
    page.locator("#clips thead th", has_text="Clip").click()
    names = _column(page, "clips", 0)
    assert names != before
    # numeric-aware names: clip1 < clip2 < clip10
    ordered = [n for n in names if n.startswith("clip")]
    assert ordered == ["clip1.mp4", "clip2.mp4", "clip10.mp4"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html_index.png"), full_page=True)
    assert not p.errors and not p.dialogs
    p.close()


def test_history_in_browser(browser, tmp_path):
    html = write_history_html(HISTORY_ROWS, tmp_path / "history.html", athlete=EVIL)
    p = _Page(browser, 390, 844)
    page = p.open(html)
    box = page.locator("svg.chart-h").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 80
    assert page.locator("#history tbody tr").count() == len(HISTORY_ROWS)
    assert EVIL in page.locator("h1").text_content()  # shown as text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html_history_phone.png"), full_page=True)
    assert not p.errors and not p.dialogs
    p.close()


# --------------------------------------------------------------------------- end to end


@pytest.mark.e2e
@pytest.mark.parametrize("clip", sorted(SAMPLES.glob("*.mp4")), ids=lambda c: c.stem)
def test_cli_analyze_writes_html(clip, tmp_path, request):
    """`formcheck analyze CLIP --annotate out.webm --html out.html` on every sample clip."""
    from formcheck.app.cli import main

    out = tmp_path / "out"
    # Every frame: the rep table must equal the JSON report of the same run (and the labels).
    args = ["analyze", str(clip), "--html", str(out / "report.html"), "--json",
            str(out / "report.json"), "--quiet", "--annotate", str(out / "annotated.webm")]
    annotate = True
    out.mkdir()
    assert main(args) == 0
    rep = json.loads((out / "report.json").read_text())
    text = (out / "report.html").read_text(encoding="utf-8")
    doc = parse(text)
    assert len(doc.tables["reps"]["rows"]) == len(rep["reps"])
    label = json.loads(clip.with_suffix(".json").read_text())
    assert rep["summary"]["rep_count"] == label["expected_rep_count"]
    assert clip.name in text
    assert_offline(text)
    if annotate:
        assert '<source src="annotated.webm" type="video/webm">' in text
        assert (out / "annotated.webm").stat().st_size > 0
    else:
        assert "<video" not in text
    if Path(CHROMIUM).exists() and importlib.util.find_spec("playwright") is not None:
        b = request.getfixturevalue("browser")
        check_report_page(b, out / "report.html", len(rep["reps"]),
                          shot=f"html_report_{clip.stem}", expect_video=annotate)


@pytest.mark.parametrize("profile,key", [("seated", "max_extension_deg"), ("prone", "prone_max_extension_deg")])
def test_the_hyperextension_line_is_the_profiles_limit(report, tmp_path, profile, key):
    """A face-down finish may arch slightly (seed 000): the line drawn is the limit the fault
    rule judged the reps by, not the seated machine's."""
    r = copy.deepcopy(report)
    r["profile"] = profile
    r["config"] = {"faults": {"max_extension_deg": 11.0, "prone_max_extension_deg": 27.0}}
    want = r["config"]["faults"][key]
    assert Thresholds.from_report(r).max_extension_deg == want
    text = write_html_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"hyperextension +{want:g}°" in text and f"hyperextension limit (+{want:g}°)" in text
    other = 38.0 - want  # 27 or 11: the other profile's limit is drawn nowhere
    assert f"+{other:g}°" not in text
