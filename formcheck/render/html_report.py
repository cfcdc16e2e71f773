"""Self-contained HTML pages: one clip's report, a batch index and an athlete's history.

Every page is a single file that opens offline: inline CSS, inline hand-written SVG charts and a
few lines of inline JavaScript (sorting, seeking the video). Nothing is fetched from a network.

Every string that comes from the user or the file system (file names, paths, athlete names,
error messages, cues) goes through :func:`esc` (``html.escape(..., quote=True)``), and JSON
placed inside ``<script>`` goes through :func:`script_json`, so a clip called
``<script>alert(1)</script>.mp4`` is shown as text.

Units: times in seconds, angles in degrees (signed extension angle e: 0 neutral, negative
flexion), angular velocities in degrees per second, scores 0-100.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

from formcheck.config import Config
from formcheck.render.report import atomic_write

log = logging.getLogger(__name__)

__all__ = [
    "write_html_report", "write_index_html", "write_history_html",
    "render_html_report", "render_index_html", "render_history_html",
    "esc", "script_json", "Thresholds",
]


# --------------------------------------------------------------------------- escaping helpers


def esc(value: Any) -> str:
    """HTML-escape ``value`` (as text) for element content *and* quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(obj: Any) -> str:
    """``obj`` as JSON that is safe inside ``<script>``: ``<``, ``>``, ``&`` and the JS line
    separators are written as ``\\uXXXX`` escapes, so no ``</script>`` can close the element."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def _url(path: str | os.PathLike) -> str:
    """A relative URL for a local path (percent-encoded, so ``:`` cannot start a scheme)."""
    return quote(Path(path).as_posix(), safe="/")


def _rel_url(target: str | os.PathLike, page: Path) -> str:
    """URL of ``target`` relative to the directory that holds the HTML ``page``."""
    t = Path(target).resolve()
    try:
        return _url(os.path.relpath(t, page.resolve().parent))
    except ValueError:  # different drive on Windows: an absolute file URL is all we can do
        return t.as_uri()


def _num(v: Any) -> float | None:
    """``v`` as a finite float, or None (missing, null, NaN, not a number)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fmt(v: Any, nd: int = 1, unit: str = "", signed: bool = False) -> str:
    """Number with ``nd`` decimals and a unit, or an en dash when missing."""
    f = _num(v)
    if f is None:
        return "–"
    if round(f, nd) == 0:
        f = 0.0  # no "-0"
    return f"{f:+.{nd}f}{unit}" if signed else f"{f:.{nd}f}{unit}"


def _sort_key(v: Any) -> str:
    """The ``data-sort`` value of a table cell: a plain number when numeric, else the text."""
    f = _num(v)
    return "" if v is None else (repr(f) if f is not None else str(v))


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Thresholds:
    """The lines and bands drawn on the e(t) and velocity charts (degrees, degrees/second)."""

    top_deg: float
    bottom_deg: float
    max_extension_deg: float
    max_lift_velocity_dps: float

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Thresholds:
        """Read from ``report["config"]`` (``Config.to_dict()`` layout) when present, falling
        back to the :class:`formcheck.config.Config` defaults key by key."""
        d = Config()
        cfg = report.get("config") if isinstance(report.get("config"), Mapping) else {}
        reps = cfg.get("reps") if isinstance(cfg.get("reps"), Mapping) else {}
        faults = cfg.get("faults") if isinstance(cfg.get("faults"), Mapping) else {}

        def pick(section: Mapping[str, Any], key: str, default: float) -> float:
            v = _num(section.get(key))
            return default if v is None else v

        return cls(
            top_deg=pick(reps, "top_deg", d.reps.top_deg),
            bottom_deg=pick(reps, "bottom_deg", d.reps.bottom_deg),
            max_extension_deg=pick(faults, "max_extension_deg", d.faults.max_extension_deg),
            max_lift_velocity_dps=pick(faults, "max_lift_velocity_dps",
                                       d.faults.max_lift_velocity_dps),
        )


# --------------------------------------------------------------------------- page shell

CSS = """
:root{--bg:#fff;--fg:#1c2430;--muted:#5d6878;--card:#f4f6f9;--line:#d9dee6;--accent:#1f6feb;
--good:#1a7f37;--warn:#b35900;--bad:#c62828;--curve:#1f4fd1;--top:#2e9e5b;--bottom:#d97706;
--rep:#1f6feb;--partial:#b35900;--hyper:#c62828;--grid:#e4e8ee}
@media (prefers-color-scheme:dark){:root{--bg:#12161c;--fg:#e6eaf0;--muted:#9aa5b4;--card:#1b212a;
--line:#2c3542;--accent:#58a6ff;--good:#3fb950;--warn:#e3a03a;--bad:#ff6b6b;--curve:#79a8ff;
--top:#3fb950;--bottom:#e3a03a;--rep:#58a6ff;--partial:#e3a03a;--hyper:#ff6b6b;--grid:#262e39}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.45rem;margin:.2em 0 .1em;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.6em 0 .5em}
.sub{color:var(--muted);margin:0 0 1em;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px}
.card{background:var(--card);border-radius:10px;padding:10px 12px}
.card .k{font-size:.8rem;color:var(--muted)}
.card .v{font-size:1.5rem;font-weight:650;font-variant-numeric:tabular-nums}
.score-good{color:var(--good)}.score-mid{color:var(--warn)}.score-bad{color:var(--bad)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:.6em 0 0;padding:0;list-style:none}
.chip{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:2px 10px;
font-size:.85rem}
.chip b{font-variant-numeric:tabular-nums}
.warnings{border-left:4px solid var(--warn);padding:.4em .8em;background:var(--card)}
.chart{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);
border-radius:10px;padding:4px}
.chart svg{display:block;width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem;color:var(--muted);
margin:.5em 0 0;padding:0;list-style:none}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;
border-radius:2px}
.tablewrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92rem;font-variant-numeric:tabular-nums}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--card);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right}
td.date{white-space:nowrap}
tr.partial td{color:var(--muted);font-style:italic}
tr[data-t]{cursor:pointer}
tr[data-t]:hover td{background:var(--card)}
ul.faults{margin:0;padding:0;list-style:none}
ul.faults li{margin:0 0 4px}
.sev-major{color:var(--bad);font-weight:600}.sev-minor{color:var(--warn);font-weight:600}
.status-ok{color:var(--good)}.status-error,.status-failed{color:var(--bad)}
.status-skipped{color:var(--muted)}
th.sortable{cursor:pointer;user-select:none}
th.sortable::after{content:" \\2195";color:var(--muted);font-size:.8em}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
video{display:block;width:100%;max-height:65vh;background:#000;border-radius:10px}
.err{color:var(--bad);overflow-wrap:anywhere;min-width:12em}
.hint{display:none;color:var(--muted);font-size:.85rem;margin:.3em 0 0}
a{color:var(--accent)}
footer{color:var(--muted);font-size:.8rem;margin:2em 0 1em}
svg text{fill:var(--muted);font:13px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .curve{fill:none;stroke:var(--curve);stroke-width:2;stroke-linejoin:round}
svg .curve2{fill:none;stroke:var(--warn);stroke-width:2;stroke-linejoin:round}
svg .band-top{fill:var(--top);opacity:.12}svg .band-bottom{fill:var(--bottom);opacity:.13}
svg .rep{fill:var(--rep);opacity:.10}svg .rep-partial{fill:url(#hatch);opacity:.9}
svg .hatch-line{stroke:var(--partial);stroke-width:2;opacity:.35}
svg .rep-edge{stroke:var(--rep);stroke-width:1;opacity:.45}
svg .neutral{stroke:var(--fg);stroke-width:1.3}
svg .hyper{stroke:var(--hyper);stroke-width:1.3;stroke-dasharray:6 4}
svg .zone-edge{stroke:var(--muted);stroke-width:1;stroke-dasharray:2 3}
svg .replabel{fill:var(--rep);font-weight:700}svg .replabel-partial{fill:var(--partial);font-weight:700}
svg .mk-major{fill:var(--bad);stroke:var(--bg);stroke-width:1.5}
svg .mk-minor{fill:var(--warn);stroke:var(--bg);stroke-width:1.5}
svg .mk{cursor:pointer}
svg .pt{fill:var(--curve)}svg .pt2{fill:var(--warn)}
svg .lbl-hyper{fill:var(--hyper)}
@media (max-width:600px){
main{padding:12px}
.chart svg{min-width:540px}
svg text{font-size:16px}
table.reps thead{display:none}
table.reps,table.reps tbody{display:block}
table.reps tr{display:grid;grid-template-columns:1fr 1fr;column-gap:18px;
border:1px solid var(--line);border-radius:10px;margin:0 0 10px;padding:6px 10px}
table.reps td{display:flex;justify-content:space-between;gap:12px;border:0;padding:3px 0;
text-align:right}
table.reps td::before{content:attr(data-label);color:var(--muted);text-align:left;font-style:normal}
table.reps td.faults-cell{display:block;text-align:left;grid-column:1/-1}
.hint{display:block}
table.reps td.faults-cell::before{display:block}
}
"""

SORT_JS = """
(function(){
  var coll = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function val(td){ return td ? (td.hasAttribute("data-sort") ? td.getAttribute("data-sort") : td.textContent.trim()) : ""; }
  document.querySelectorAll("table.sortable").forEach(function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, col){
      th.classList.add("sortable");
      th.tabIndex = 0;
      function go(){
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function(h){ h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = val(a.cells[col]), y = val(b.cells[col]);
          if (x === "" && y === "") return 0;
          if (x === "") return 1;   /* blanks last either way */
          if (y === "") return -1;
          var nx = Number(x), ny = Number(y), r;
          if (!isNaN(nx) && !isNaN(ny)) r = nx - ny; else r = coll.compare(x, y);
          return asc ? r : -r;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function(e){ if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  });
})();
"""

SEEK_JS = """
(function(){
  var v = document.getElementById("clip-video");
  if (!v) return;
  function seek(t){
    t = parseFloat(t);
    if (isNaN(t)) return;
    v.currentTime = Math.max(0, t);
    v.scrollIntoView({behavior: "smooth", block: "center"});
  }
  document.querySelectorAll("[data-t]").forEach(function(el){
    el.addEventListener("click", function(){ seek(el.getAttribute("data-t")); });
  });
})();
"""


def _page(title: str, body: str, scripts: Sequence[str] = ()) -> str:
    """A complete HTML document; ``title`` must already be escaped."""
    js = "".join(f"<script>{s}</script>\n" for s in scripts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"formcheck\">\n"
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n{js}</body>\n</html>\n"
    )


def _score_class(score: Any) -> str:
    s = _num(score)
    if s is None:
        return ""
    return "score-good" if s >= 80 else "score-mid" if s >= 50 else "score-bad"


# --------------------------------------------------------------------------- SVG charting


def _nice_step(span: float, target: int) -> float:
    """A 1/2/5 x 10^k tick step giving about ``target`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _ticks(lo: float, hi: float, target: int) -> list[float]:
    step = _nice_step(hi - lo, target)
    start = math.ceil(lo / step - 1e-9) * step
    out = []
    v = start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _tick_label(v: float) -> str:
    return f"{v:g}" if abs(v - round(v)) > 1e-9 else f"{int(round(v))}"


class _Plot:
    """Maps data coordinates to an SVG viewBox with margins; collects SVG elements."""

    def __init__(self, width: float, height: float, x0: float, x1: float, y0: float, y1: float,
                 margin: tuple[float, float, float, float] = (12, 14, 36, 58)) -> None:
        self.w, self.h = width, height
        self.mt, self.mr, self.mb, self.ml = margin
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1.0)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1.0)
        self.parts: list[str] = []

    @property
    def left(self) -> float:
        return self.ml

    @property
    def right(self) -> float:
        return self.w - self.mr

    @property
    def top(self) -> float:
        return self.mt

    @property
    def bottom(self) -> float:
        return self.h - self.mb

    def X(self, x: float) -> float:
        return round(self.left + (x - self.x0) / (self.x1 - self.x0) * (self.right - self.left), 2)

    def Y(self, y: float) -> float:
        y = min(max(y, self.y0), self.y1)
        return round(self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top), 2)

    def add(self, s: str) -> None:
        self.parts.append(s)

    def hband(self, ya: float, yb: float, cls: str, title: str = "") -> None:
        lo, hi = max(min(ya, yb), self.y0), min(max(ya, yb), self.y1)
        if hi <= lo:
            return
        t = f"<title>{esc(title)}</title>" if title else ""
        self.add(f'<rect class="{cls}" x="{self.left}" y="{self.Y(hi)}" '
                 f'width="{round(self.right - self.left, 2)}" height="{round(self.Y(lo) - self.Y(hi), 2)}">{t}</rect>')

    def hline(self, y: float, cls: str) -> None:
        if self.y0 <= y <= self.y1:
            self.add(f'<line class="{cls}" x1="{self.left}" x2="{self.right}" y1="{self.Y(y)}" y2="{self.Y(y)}"/>')

    def grid_and_axes(self, xlabel: str, ylabel: str, yticks: Iterable[float] | None = None,
                      xticks: Iterable[float] | None = None, xfmt=_tick_label, yfmt=_tick_label,
                      right_axis: tuple[list[float], float, float, str] | None = None) -> None:
        """Grid lines, tick labels and axis titles (labels must be plain ASCII/escaped)."""
        for v in (yticks if yticks is not None else _ticks(self.y0, self.y1, 6)):
            y = self.Y(v)
            self.add(f'<line class="grid" x1="{self.left}" x2="{self.right}" y1="{y}" y2="{y}"/>')
            self.add(f'<text x="{self.left - 6}" y="{y + 4}" text-anchor="end">{esc(yfmt(v))}</text>')
        for v in (xticks if xticks is not None else _ticks(self.x0, self.x1, 8)):
            x = self.X(v)
            self.add(f'<line class="grid" x1="{x}" x2="{x}" y1="{self.top}" y2="{self.bottom}"/>')
            self.add(f'<text x="{x}" y="{self.bottom + 17}" text-anchor="middle">{esc(xfmt(v))}</text>')
        self.add(f'<rect fill="none" class="axis" x="{self.left}" y="{self.top}" '
                 f'width="{round(self.right - self.left, 2)}" height="{round(self.bottom - self.top, 2)}"/>')
        self.add(f'<text x="{(self.left + self.right) / 2}" y="{self.h - 3}" text-anchor="middle">{esc(xlabel)}</text>')
        cy = (self.top + self.bottom) / 2
        self.add(f'<text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">{esc(ylabel)}</text>')
        if right_axis is not None:
            ticks, lo, hi, label = right_axis
            for v in ticks:
                y = self.bottom - (v - lo) / ((hi - lo) or 1.0) * (self.bottom - self.top)
                self.add(f'<text x="{self.right + 6}" y="{round(y + 4, 2)}">{esc(_tick_label(v))}</text>')
            rx = self.w - 10
            self.add(f'<text x="{rx}" y="{cy}" text-anchor="middle" transform="rotate(90 {rx} {cy})">{esc(label)}</text>')

    def path(self, xs: Sequence[float | None], ys: Sequence[float | None], cls: str,
             max_points: int = 2400) -> None:
        """A polyline broken at missing values (None = gap); long series are decimated
        with min/max per pixel-sized bucket so peaks survive."""
        segs: list[list[tuple[float, float]]] = []
        cur: list[tuple[float, float]] = []
        for x, y in zip(xs, ys):
            fx, fy = _num(x), _num(y)
            if fx is None or fy is None:
                if cur:
                    segs.append(cur)
                cur = []
            else:
                cur.append((fx, fy))
        if cur:
            segs.append(cur)
        total = sum(len(s) for s in segs)
        d: list[str] = []
        for seg in segs:
            if total > max_points and len(seg) > 4:
                seg = _decimate(seg, max(2, int(len(seg) * max_points / total)))
            if len(seg) == 1:  # an isolated sample: a tiny horizontal stroke keeps it visible
                x, y = self.X(seg[0][0]), self.Y(seg[0][1])
                d.append(f"M{x - 1.5},{y}h3")
                continue
            d.append("M" + "L".join(f"{self.X(x)},{self.Y(y)}" for x, y in seg))
        if d:
            self.add(f'<path class="{cls}" d="{"".join(d)}"/>')

    def svg(self, aria_label: str, defs: str = "", cls: str = "") -> str:
        return (
            f'<svg class="{cls}" viewBox="0 0 {self.w} {self.h}" '
            f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{esc(aria_label)}">'
            f"<title>{esc(aria_label)}</title>{defs}{''.join(self.parts)}</svg>"
        )


def _decimate(seg: list[tuple[float, float]], buckets: int) -> list[tuple[float, float]]:
    """Keep the first, the min and the max of each of ``buckets`` runs, in time order."""
    n = len(seg)
    size = max(1, math.ceil(n / max(1, buckets // 2)))
    out: list[tuple[float, float]] = []
    for i in range(0, n, size):
        chunk = seg[i:i + size]
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({chunk[0], lo, hi}, key=lambda p: p[0]))
    if out[-1] != seg[-1]:
        out.append(seg[-1])
    return out


def _interp(ts: Sequence[Any], ys: Sequence[Any], t: float) -> float | None:
    """The series value nearest in time to ``t`` (None if that sample is a gap)."""
    best, best_d = None, math.inf
    for x, y in zip(ts, ys):
        fx = _num(x)
        if fx is None:
            continue
        dd = abs(fx - t)
        if dd < best_d:
            best, best_d = y, dd
    return _num(best)


def extension_chart(report: Mapping[str, Any], th: Thresholds) -> str:
    """SVG of e(t) with zone bands, neutral and hyperextension lines, rep shading and faults."""
    frames = report.get("frames") or {}
    ts = list(frames.get("t_s") or [])
    es = list(frames.get("extension_deg") or [])
    reps = list(report.get("reps") or [])
    vals = [v for v in (_num(e) for e in es) if v is not None]
    tvals = [v for v in (_num(t) for t in ts) if v is not None]
    t_end = max(tvals + [_num(report.get("clip", {}).get("duration_s")) or 0.0]
                + [_num(r.get("t_end")) or 0.0 for r in reps] + [0.0])
    lo = min(vals + [-th.bottom_deg - 10.0])
    hi = max(vals + [th.max_extension_deg + 5.0])
    step = 10.0 if hi - lo <= 120 else 20.0
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    p = _Plot(720, 320, 0.0, max(t_end, 1.0), lo, hi)
    p.hband(-th.top_deg, hi, "band-top", f"TOP zone: e above -{th.top_deg:g}°")
    p.hband(lo, -th.bottom_deg, "band-bottom", f"BOTTOM zone: e below -{th.bottom_deg:g}°")
    p.grid_and_axes("time (s)", "extension e (°)", yticks=_ticks(lo, hi, 7))
    for r in reps:
        a, b = _num(r.get("t_start")), _num(r.get("t_end"))
        if a is None or b is None:
            continue
        counted = bool(r.get("counted"))
        x0, x1 = p.X(a), p.X(max(b, a))
        label = f"Rep {r.get('index')}" + ("" if counted else " (partial, not counted)")
        p.add(f'<rect class="{"rep" if counted else "rep-partial"}" x="{x0}" y="{p.top}" '
              f'width="{round(max(x1 - x0, 1.0), 2)}" height="{round(p.bottom - p.top, 2)}">'
              f"<title>{esc(label)}: {a:.1f}–{b:.1f} s</title></rect>")
        p.add(f'<line class="rep-edge" x1="{x0}" x2="{x0}" y1="{p.top}" y2="{p.bottom}"/>')
        p.add(f'<text class="{"replabel" if counted else "replabel-partial"}" x="{round((x0 + x1) / 2, 2)}" '
              f'y="{p.top + 15}" text-anchor="middle">{esc(r.get("index"))}{"" if counted else "p"}</text>')
    p.hline(-th.top_deg, "zone-edge")
    p.hline(-th.bottom_deg, "zone-edge")
    p.hline(0.0, "neutral")
    p.hline(th.max_extension_deg, "hyper")
    if p.y0 <= th.max_extension_deg <= p.y1:
        p.add(f'<text class="lbl-hyper" x="{p.right - 4}" y="{p.Y(th.max_extension_deg) - 4}" '
              f'text-anchor="end">hyperextension +{th.max_extension_deg:g}°</text>')
    p.add(f'<text x="{p.right - 4}" y="{p.Y(0.0) - 4}" text-anchor="end">neutral 0°</text>')
    p.path(ts, es, "curve")
    for r in reps:
        for f in r.get("faults") or []:
            t = _num(f.get("t"))
            if t is None:
                continue
            e = _interp(ts, es, t)
            y = p.Y(e) if e is not None else p.top + 26
            sev = "major" if f.get("severity") == "major" else "minor"
            tip = (f"Rep {r.get('index')} · {f.get('id')} ({sev}) at {t:.1f} s: {f.get('cue', '')} "
                   f"[{_fmt(f.get('value'), 2)} vs {_fmt(f.get('threshold'), 2)} {f.get('unit', '')}]")
            x = p.X(t)
            p.add(f'<g class="mk" data-t="{t:.3f}"><title>{esc(tip)}</title>'
                  f'<path class="mk-{sev}" d="M{x},{round(y - 7, 2)}L{round(x + 6, 2)},{y}'
                  f'L{x},{round(y + 7, 2)}L{round(x - 6, 2)},{y}Z"/></g>')
    defs = ('<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><line class="hatch-line" x1="0" y1="0" x2="0" y2="8"/>'
            "</pattern></defs>")
    return p.svg("Extension angle over time with reps, zones and faults", defs, "chart-e")


def velocity_chart(report: Mapping[str, Any], th: Thresholds) -> str | None:
    """SVG of the angular velocity de/dt with the jerky-lift limit, or None without data."""
    frames = report.get("frames") or {}
    ts = list(frames.get("t_s") or [])
    vs = list(frames.get("velocity_dps") or [])
    vals = [v for v in (_num(x) for x in vs) if v is not None]
    if not vals:
        return None
    tvals = [v for v in (_num(t) for t in ts) if v is not None]
    t_end = max(tvals + [_num(report.get("clip", {}).get("duration_s")) or 0.0, 1.0])
    lim = th.max_lift_velocity_dps
    lo = min(vals + [0.0])
    hi = max(vals + [lim * 1.05])
    step = _nice_step(hi - lo, 4)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    p = _Plot(720, 190, 0.0, t_end, lo, hi)
    p.grid_and_axes("time (s)", "velocity (°/s)", yticks=_ticks(lo, hi, 4))
    for r in report.get("reps") or []:
        a, b = _num(r.get("t_start")), _num(r.get("t_end"))
        if a is not None and b is not None:
            x0, x1 = p.X(a), p.X(max(a, b))
            p.add(f'<rect class="{"rep" if r.get("counted") else "rep-partial"}" x="{x0}" y="{p.top}" '
                  f'width="{round(max(x1 - x0, 1.0), 2)}" height="{round(p.bottom - p.top, 2)}"/>')
    p.hline(0.0, "neutral")
    p.hline(lim, "hyper")
    p.add(f'<text class="lbl-hyper" x="{p.right - 4}" y="{p.Y(lim) - 4}" text-anchor="end">'
          f"jerky lift +{lim:g}°/s</text>")
    p.path(ts, vs, "curve")
    return p.svg("Angular velocity of the trunk over time", cls="chart-v")


# --------------------------------------------------------------------------- clip report

REP_COLUMNS = (
    ("Rep", ""), ("Counted", ""), ("Depth", "n"), ("Peak ext.", "n"), ("Lowering", "n"),
    ("Lifting", "n"), ("Top hold", "n"), ("Peak lift vel.", "n"), ("Score", "n"),
    ("Faults and cues", ""),
)


def _rep_row(r: Mapping[str, Any], seekable: bool) -> str:
    counted = bool(r.get("counted"))
    faults = r.get("faults") or []
    if faults:
        items = []
        for f in faults:
            sev = "major" if f.get("severity") == "major" else "minor"
            items.append(
                f'<li><span class="sev-{sev}">{esc(f.get("id"))}</span> '
                f'<span class="at">({_fmt(f.get("t"), 1, " s")})</span> — {esc(f.get("cue"))}</li>')
        fcell = f'<ul class="faults">{"".join(items)}</ul>'
    else:
        fcell = "—"
    t0 = _num(r.get("t_start"))
    attrs = f' data-t="{t0:.3f}" title="Play this rep"' if seekable and t0 is not None else ""
    cls = "" if counted else ' class="partial"'
    values = [
        (esc(r.get("index")), ""),
        ("yes" if counted else "partial", ""),
        (_fmt(r.get("depth_deg"), 0, "°"), "n"),
        (_fmt(r.get("peak_extension_deg"), 0, "°", signed=True), "n"),
        (_fmt(r.get("lowering_s"), 2, " s"), "n"),
        (_fmt(r.get("lifting_s"), 2, " s"), "n"),
        (_fmt(r.get("top_hold_s"), 2, " s"), "n"),
        (_fmt(r.get("peak_lift_velocity_dps"), 0, "°/s"), "n"),
        (_fmt(r.get("score"), 0), f"n {_score_class(r.get('score'))}".strip()),
        (fcell, "faults-cell"),
    ]
    cells = [f'<td class="{c}" data-label="{esc(label)}">{v}</td>' if c else
             f'<td data-label="{esc(label)}">{v}</td>'
             for (label, _), (v, c) in zip(REP_COLUMNS, values)]
    return f"<tr{cls}{attrs}>{''.join(cells)}</tr>"


def render_html_report(report: Mapping[str, Any], video_url: str | None = None,
                       video_type: str | None = None) -> str:
    """The HTML text of one clip's report. ``video_url`` must be a URL relative to the page."""
    clip = report.get("clip") or {}
    summary = report.get("summary") or {}
    reps = list(report.get("reps") or [])
    th = Thresholds.from_report(report)
    name = Path(str(clip.get("path") or "clip")).name
    score = summary.get("score")
    faults = summary.get("faults") or {}
    if not isinstance(faults, Mapping):
        faults = {}

    cards = [
        ("Set score", f'<span class="{_score_class(score)}">{_fmt(score, 0)}</span>'
                      + ("<small>/100</small>" if _num(score) is not None else "")),
        ("Reps", esc(summary.get("rep_count", 0))),
        ("Partial reps", esc(summary.get("partial_reps", 0))),
        ("Good reps", f"{esc(summary.get('good_reps', 0))}/{esc(summary.get('rep_count', 0))}"),
    ]
    cards_html = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div></div>'
                         for k, v in cards)
    found = [(k, v) for k, v in faults.items() if _num(v)]
    chips = ("".join(f'<li class="chip">{esc(k)} <b>×{esc(v)}</b></li>' for k, v in found)
             if found else '<li class="chip">no faults</li>')
    res = f"{esc(clip.get('width', '?'))}×{esc(clip.get('height', '?'))}"
    facts = [
        ("File", f'<span title="{esc(clip.get("path"))}">{esc(name)}</span>'),
        ("Duration", _fmt(clip.get("duration_s"), 1, " s")),
        ("Resolution", res),
        ("Frame rate", _fmt(clip.get("fps"), 1, " fps")),
        ("Profile", esc(report.get("profile") or "–")),
        ("Facing", esc(report.get("facing") or "–")),
    ]
    if summary.get("frames_analysed") is not None:
        facts.append(("Frames with a pose",
                      f"{esc(summary.get('frames_with_pose'))} of {esc(summary.get('frames_analysed'))}"))
    facts_html = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)

    warnings = report.get("warnings") or []
    warn_html = ("<div class=\"warnings\"><ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings)
                 + "</ul></div>") if warnings else ""

    if (report.get("frames") or {}).get("t_s"):
        echart = extension_chart(report, th)
        legend = (
            '<ul class="legend">'
            '<li><i style="background:var(--curve)"></i>extension e(t)</li>'
            f'<li><i style="background:var(--top);opacity:.35"></i>TOP zone (e &gt; −{th.top_deg:g}°)</li>'
            f'<li><i style="background:var(--bottom);opacity:.4"></i>BOTTOM zone (e &lt; −{th.bottom_deg:g}°)</li>'
            '<li><i style="background:var(--rep);opacity:.3"></i>counted rep</li>'
            '<li><i style="background:repeating-linear-gradient(45deg,var(--partial) 0 2px,transparent 2px 6px)">'
            "</i>partial rep</li>"
            f'<li><i style="background:var(--hyper);height:2px"></i>hyperextension limit (+{th.max_extension_deg:g}°)</li>'
            '<li><i style="background:var(--bad);border-radius:50%;width:10px"></i>fault (hover or tap for the cue)</li>'
            "</ul>")
        vchart = velocity_chart(report, th)
        charts = (f'<h2>Trunk angle</h2><div class="chart">{echart}</div>'
                  '<p class="hint">Swipe a chart sideways to see the whole set.</p>'
                  f'{legend}'
                  + (f'<h2>Angular velocity</h2><div class="chart">{vchart}</div>'
                     '<p class="sub">Positive = lifting. Peaks above the dashed line are thrown, '
                     "not lifted.</p>" if vchart else ""))
    else:
        charts = ('<h2>Trunk angle</h2><p class="sub">This report has no per-frame series '
                  "(it was written without frames), so there is no chart.</p>")

    head = "".join(f'<th class="{c}" scope="col">{h}</th>' for h, c in REP_COLUMNS)
    rows = "".join(_rep_row(r, video_url is not None) for r in reps)
    no_reps = "" if reps else '<p class="sub">No reps were found in this clip.</p>'
    table = (
        '<h2>Reps</h2><div class="tablewrap"><table id="reps" class="reps">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{no_reps}"
        + ('<p class="sub">Tap a row to play that rep.</p>' if video_url and reps else "")
    )

    if video_url:
        typ = f' type="{esc(video_type)}"' if video_type else ""
        video_html = (
            '<h2>Annotated video</h2><video id="clip-video" controls preload="metadata" playsinline>'
            f'<source src="{esc(video_url)}"{typ}>'
            f'Your browser cannot play this video; open <a href="{esc(video_url)}">the file</a> directly.'
            "</video>")
    else:
        video_html = ""

    embedded = {k: report.get(k) for k in ("schema", "formcheck_version", "clip", "profile",
                                            "facing", "summary", "warnings", "reps")}
    body = (
        f"<header><h1>{esc(name)}</h1>"
        f'<p class="sub">Lever back extension · formcheck {esc(report.get("formcheck_version", ""))}</p>'
        "</header>"
        f'<section class="cards">{cards_html}</section>'
        f'<ul class="chips" aria-label="faults by id">{chips}</ul>'
        f"{warn_html}{video_html}{charts}{table}"
        f'<h2>Clip</h2><dl class="facts">{facts_html}</dl>'
        f'<footer>Report schema {esc(report.get("schema", ""))} · config {esc(report.get("config_digest", ""))}'
        "</footer>"
        f'<script type="application/json" id="formcheck-report">{script_json(embedded)}</script>'
    )
    return _page(f"{esc(name)} — formcheck report", body, [SEEK_JS] if video_url else [])


VIDEO_TYPES = {".webm": "video/webm", ".mp4": "video/mp4", ".m4v": "video/mp4",
               ".ogv": "video/ogg", ".mov": "video/quicktime"}


def write_html_report(report: Mapping[str, Any], out_path: str | os.PathLike,
                      video: str | os.PathLike | None = None) -> Path:
    """Write one clip's self-contained HTML report to ``out_path``.

    ``video`` (optional) is the annotated video; the page embeds it with a ``<video>`` element
    whose ``src`` is the path relative to the HTML file, so keep the two files together.
    """
    out = Path(out_path)
    url = typ = None
    if video is not None:
        vp = Path(video)
        if not vp.exists():
            log.warning("annotated video %s does not exist (yet); the report links to it anyway", vp)
        url = _rel_url(vp, out)
        typ = VIDEO_TYPES.get(vp.suffix.lower())
    return atomic_write(out, render_html_report(report, url, typ))


# --------------------------------------------------------------------------- batch index


def _count_td(v: Any) -> str:
    """A right-aligned, numerically sortable cell for a count (en dash when missing)."""
    return f'<td class="n" data-sort="{esc(_sort_key(v))}">{esc("–" if v is None else v)}</td>'


def _score_td(score: Any) -> str:
    """A right-aligned, coloured, numerically sortable cell for a 0-100 score."""
    return (f'<td class="n {_score_class(score)}" data-sort="{esc(_sort_key(score))}">'
            f"{_fmt(score, 0)}</td>")


def _faults_cell(faults: Any) -> tuple[str, str]:
    """(html, sort key) for a faults value: a dict id → count or a preformatted string."""
    if isinstance(faults, Mapping):
        items = [(k, v) for k, v in faults.items() if _num(v)]
        total = sum(_num(v) or 0 for _, v in items)
        if not items:
            return "—", "0"
        return ", ".join(f"{esc(k)} ×{esc(v)}" for k, v in items), repr(float(total))
    if faults is None or faults == "":
        return "—", ""
    return esc(faults), str(faults)


def render_index_html(rows: Sequence[Mapping[str, Any]], title: str = "formcheck batch") -> str:
    """The HTML text of a batch index: one sortable row per clip."""
    heads = (("Clip", ""), ("Status", ""), ("Reps", "n"), ("Partial", "n"), ("Faults", ""),
             ("Score", "n"), ("Error", ""))
    body_rows = []
    n_ok = n_err = 0
    scores: list[float] = []
    total_reps = 0
    for row in rows:
        path = str(row.get("path") or "")
        name = Path(path).name or path
        status = str(row.get("status") or "")
        n_ok += status == "ok"
        n_err += status in ("error", "failed")
        total_reps += int(_num(row.get("rep_count")) or 0)
        if _num(row.get("score")) is not None:
            scores.append(float(_num(row.get("score"))))
        link = row.get("report_html")
        name_html = (f'<a href="{esc(_url(link))}">{esc(name)}</a>' if link else esc(name))
        fhtml, fkey = _faults_cell(row.get("faults"))
        score = row.get("score")
        status_cls = "status-" + "".join(c for c in status.lower() if c.isalnum())
        body_rows.append(
            "<tr>"
            f'<td data-sort="{esc(name)}" title="{esc(path)}">{name_html}</td>'
            f'<td class="{esc(status_cls)}">{esc(status)}</td>'
            f"{_count_td(row.get('rep_count'))}{_count_td(row.get('partial_reps'))}"
            f'<td data-sort="{esc(fkey)}">{fhtml}</td>'
            f"{_score_td(score)}"
            f'<td class="err">{esc(row.get("error") or "")}</td>'
            "</tr>")
    mean = f"{sum(scores) / len(scores):.0f}" if scores else "–"
    cards = [("Clips", len(rows)), ("Analysed", n_ok), ("Errors", n_err), ("Reps", total_reps),
             ("Mean score", mean)]
    cards_html = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{esc(v)}</div></div>'
                         for k, v in cards)
    head = "".join(f'<th class="{c}" scope="col">{h}</th>' for h, c in heads)
    body = (
        f"<header><h1>{esc(title)}</h1>"
        '<p class="sub">Click a column heading to sort; click a clip to open its report.</p></header>'
        f'<section class="cards">{cards_html}</section>'
        '<h2>Clips</h2><div class="tablewrap"><table id="clips" class="sortable">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table></div>"
        + ("" if rows else '<p class="sub">No clips.</p>')
    )
    return _page(esc(title), body, [SORT_JS])


def write_index_html(rows: Sequence[Mapping[str, Any]], out_path: str | os.PathLike,
                     title: str = "formcheck batch") -> Path:
    """Write the batch index page. Row keys: path, status, rep_count, partial_reps, faults
    (dict id → count or str), score, error, report_html (optional link relative to the page)."""
    return atomic_write(out_path, render_index_html(rows, title))


# --------------------------------------------------------------------------- history


def _parse_date(s: Any) -> datetime | None:
    """An ISO date/datetime as a naive UTC datetime, or None."""
    if not s:
        return None
    try:
        d = datetime.fromisoformat(str(s).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(timezone.utc).replace(tzinfo=None)
    return d


def history_chart(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """SVG line plot of set score (left axis, 0-100) and reps (right axis) over time."""
    pts = [(_parse_date(r.get("date")), i, r) for i, r in enumerate(rows)]
    if not pts:
        return None
    # oldest first, undated sessions last in the order given (the table's order)
    pts.sort(key=lambda p: (p[0] is None, p[0] or datetime.min, p[1]))
    dated = all(d is not None for d, _, _ in pts)
    if dated:
        t0 = pts[0][0]
        xs = [(d - t0).total_seconds() / 86400.0 for d, _, _ in pts]
    else:
        xs = [float(i) for i in range(len(pts))]
    x0, x1 = (xs[0], xs[-1]) if xs[-1] > xs[0] else (xs[0] - 0.5, xs[0] + 0.5)
    pad = (x1 - x0) * 0.03
    x0, x1 = x0 - pad, x1 + pad
    reps = [_num(r.get("rep_count")) for _, _, r in pts]
    rmax = max([v for v in reps if v is not None] + [1.0])
    rstep = _nice_step(rmax, 4)
    rhi = max(rstep, math.ceil(rmax / rstep) * rstep)
    p = _Plot(720, 280, x0, x1, 0.0, 100.0, margin=(12, 44, 36, 48))
    if dated:
        span = x1 - x0
        xt = _ticks(x0, x1, 6)
        if span >= 2:
            xt = [v for v in xt if abs(v - round(v)) < 1e-9]

        def xfmt(v: float) -> str:
            from datetime import timedelta
            d = t0 + timedelta(days=v)
            return d.strftime("%d %b") if span >= 2 else d.strftime("%d %b %H:%M")
        xlabel = "date"
    else:
        xt = [v for v in _ticks(x0, x1, 8) if abs(v - round(v)) < 1e-9]

        def xfmt(v: float) -> str:
            return f"#{int(round(v)) + 1}"
        xlabel = "session"
    rt = _ticks(0.0, rhi, 4)
    p.grid_and_axes(xlabel, "set score", yticks=[0, 20, 40, 60, 80, 100], xticks=xt, xfmt=xfmt,
                    right_axis=(rt, 0.0, rhi, "reps"))
    scores = [_num(r.get("score")) for _, _, r in pts]
    p.path(xs, scores, "curve")
    # reps are drawn on the score scale after mapping 0..rhi onto 0..100
    p.path(xs, [None if v is None else v / rhi * 100.0 for v in reps], "curve2")
    for x, (d, _, r), s, n in zip(xs, pts, scores, reps):
        when = d.strftime("%Y-%m-%d %H:%M") if d else (r.get("date") or "undated")
        clip = Path(str(r.get("path") or "")).name
        if s is not None:
            p.add(f'<circle class="pt" cx="{p.X(x)}" cy="{p.Y(s)}" r="4.5"><title>'
                  f"{esc(when)} · {esc(clip)}: score {s:.0f}</title></circle>")
        if n is not None:
            p.add(f'<rect class="pt2" x="{round(p.X(x) - 3.5, 2)}" y="{round(p.Y(n / rhi * 100.0) - 3.5, 2)}" '
                  f'width="7" height="7"><title>{esc(when)} · {esc(clip)}: {n:g} reps</title></rect>')
    return p.svg("Set score and reps over time", cls="chart-h")


def render_history_html(rows: Sequence[Mapping[str, Any]], athlete: str | None = None) -> str:
    """The HTML text of an athlete's history: a score/reps plot and a sortable table."""
    title = f"{athlete} — formcheck history" if athlete else "formcheck history"
    order = sorted(range(len(rows)), key=lambda i: (_parse_date(rows[i].get("date")) is None,
                                                    _parse_date(rows[i].get("date")) or datetime.min, i))
    trs = []
    for i in order:
        r = rows[i]
        d = _parse_date(r.get("date"))
        date_txt = (d.strftime("%Y-%m-%d %H:%M") if d else (str(r.get("date")) if r.get("date") else "–"))
        path = str(r.get("path") or "")
        fhtml, fkey = _faults_cell(r.get("faults"))
        score = r.get("score")
        trs.append(
            "<tr>"
            f'<td class="date" data-sort="{esc(d.isoformat() if d else "")}">{esc(date_txt)}</td>'
            f'<td data-sort="{esc(Path(path).name)}" title="{esc(path)}">'
            f"{esc(Path(path).name or path)}</td>"
            f"{_count_td(r.get('rep_count'))}{_score_td(score)}"
            f'<td data-sort="{esc(fkey)}">{fhtml}</td>'
            "</tr>")
    chart = history_chart(rows)
    legend = ('<ul class="legend"><li><i style="background:var(--curve)"></i>set score (left axis)</li>'
              '<li><i style="background:var(--warn)"></i>reps (right axis)</li></ul>')
    heads = (("Date", ""), ("Clip", ""), ("Reps", "n"), ("Score", "n"), ("Faults", ""))
    head = "".join(f'<th class="{c}" scope="col">{h}</th>' for h, c in heads)
    body = (
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="sub">{len(rows)} session{"s" if len(rows) != 1 else ""}</p></header>'
        + (f'<h2>Progress</h2><div class="chart">{chart}</div>{legend}' if chart else
           '<p class="sub">No sessions yet.</p>')
        + '<h2>Sessions</h2><div class="tablewrap"><table id="history" class="sortable">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(trs)}</tbody></table></div>"
    )
    return _page(esc(title), body, [SORT_JS])


def write_history_html(rows: Sequence[Mapping[str, Any]], out_path: str | os.PathLike,
                       athlete: str | None = None) -> Path:
    """Write an athlete's history page. Row keys: date (ISO string or None), path, rep_count,
    score, faults (dict id → count or str)."""
    return atomic_write(out_path, render_history_html(rows, athlete))
