"""Hand-written SVG charts for the HTML pages: the extension angle e(t), the angular velocity and
an athlete's score/reps history.

Each chart is built in code (the geometry is arithmetic, not layout) and returned as markup; every
text that reaches the SVG (labels, tooltips with cues and file names) goes through
:func:`~formcheck.render.html.values.esc`. Charts use a ``viewBox`` and no fixed size, so they
scale to the page.

Units: times in seconds, angles in degrees (signed extension angle e: 0 neutral, negative
flexion), angular velocities in degrees per second, scores 0-100.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup

from formcheck.render.html.values import Thresholds, date_text, esc, parse_date
from formcheck.render.html.values import fmt as _fmt
from formcheck.render.html.values import num as _num

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

    def svg(self, aria_label: str, defs: str = "", cls: str = "") -> Markup:
        """The chart as an ``<svg>`` element (trusted markup: every text in it was escaped)."""
        return Markup(
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


def extension_chart(report: Mapping[str, Any], th: Thresholds) -> Markup:
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


def velocity_chart(report: Mapping[str, Any], th: Thresholds) -> Markup | None:
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




def history_chart(rows: Sequence[Mapping[str, Any]]) -> Markup | None:
    """SVG line plot of set score (left axis, 0-100) and reps (right axis) over time."""
    pts = [(parse_date(r.get("date")), i, r) for i, r in enumerate(rows)]
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
    for x, (_, _, r), s, n in zip(xs, pts, scores, reps):
        when = date_text(r.get("date"), missing="undated")
        clip = Path(str(r.get("path") or "")).name
        if s is not None:
            p.add(f'<circle class="pt" cx="{p.X(x)}" cy="{p.Y(s)}" r="4.5"><title>'
                  f"{esc(when)} · {esc(clip)}: score {s:.0f}</title></circle>")
        if n is not None:
            p.add(f'<rect class="pt2" x="{round(p.X(x) - 3.5, 2)}" y="{round(p.Y(n / rhi * 100.0) - 3.5, 2)}" '
                  f'width="7" height="7"><title>{esc(when)} · {esc(clip)}: {n:g} reps</title></rect>')
    return p.svg("Set score and reps over time", cls="chart-h")


