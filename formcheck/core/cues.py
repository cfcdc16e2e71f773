"""Cue rationing for live feedback: one cue at a time, tied to the rep that earned it.

Pure Python (no OpenCV, no I/O), shared by the live loop and the annotated-video writer.

Rules (DESIGN.md "Cues are ... rationed live (one at a time, with a cooldown)"):

* A finalised rep (``rep`` / ``partial`` event) earns at most **one** cue: its most important
  fault (major before minor, then the fault table's order) whose cue is not cooling down, leaving
  out the faults already cued while the rep happened.
* A fault cued while it happens (a ``fault`` event marked ``early``: a finish past neutral or a
  thrown lift, as soon as the trunk settles at the top) is a cue at once, not at the rep's end.
* The same cue text is not issued again within ``cooldown_s`` seconds of source time.
* One at a time: while a cue is on screen (``display_s``), a new cue waits in a single pending
  slot instead of talking over it. A pending cue from an older rep is replaced by a newer rep's
  cue, and a pending cue older than ``display_s`` is dropped (it would no longer match the rep).
* Set-up guidance (``view`` and ``tracking_lost`` events) goes through the same slot, with lower
  priority than a fault cue earned in the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable

from formcheck.core.faults import FAULT_IDS

GUIDANCE_KINDS = ("view", "tracking_lost")
_SEVERITY_RANK = {"major": 0, "minor": 1}


@dataclass(frozen=True)
class Cue:
    """One message for the athlete.

    Attributes:
        text: what to show / say.
        kind: ``"fault"`` (earned by a rep) or ``"view"`` (set-up guidance).
        t: source time (s) when it was issued (or offered, while pending).
        fault_id: the fault id for ``kind == "fault"``.
        rep: index of the rep that earned it, for ``kind == "fault"``.
    """

    text: str
    kind: str
    t: float
    fault_id: str | None = None
    rep: int | None = None

    def to_dict(self) -> dict:
        d = {"event": "cue", "t": round(self.t, 3), "message": self.text, "kind": self.kind}
        if self.fault_id is not None:
            d["id"] = self.fault_id
        if self.rep is not None:
            d["rep"] = self.rep
        return d


def _fault_order(f: dict) -> tuple[int, int]:
    fid = f.get("id", "")
    return (_SEVERITY_RANK.get(f.get("severity", "minor"), 2),
            FAULT_IDS.index(fid) if fid in FAULT_IDS else len(FAULT_IDS))


class CueRationer:
    """Turns analysis events into at most one cue at a time.

    Args:
        cooldown_s: the same cue text is not repeated within this many seconds (source time).
        display_s: how long an issued cue stays current (on screen), in seconds.

    Call :meth:`offer` once per processed frame, with that frame's events (possibly none), so a
    waiting cue is released as soon as the current one expires.
    """

    def __init__(self, cooldown_s: float = 4.0, display_s: float = 3.0) -> None:
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s: expected >= 0 seconds, got {cooldown_s}")
        if display_s <= 0:
            raise ValueError(f"display_s: expected > 0 seconds, got {display_s}")
        self.cooldown_s = cooldown_s
        self.display_s = display_s
        self._last_issued: dict[str, float] = {}
        self._current: Cue | None = None
        self._pending: Cue | None = None

    def reset(self) -> None:
        """Forget everything (cooldowns included)."""
        self._last_issued.clear()
        self._current = None
        self._pending = None

    def current(self, t: float) -> Cue | None:
        """The cue on screen at source time ``t`` (``None`` once ``display_s`` has passed)."""
        c = self._current
        if c is not None and t - c.t < self.display_s:
            return c
        return None

    def _cooling(self, text: str, t: float) -> bool:
        last = self._last_issued.get(text)
        return last is not None and t - last < self.cooldown_s

    def _candidates(self, events: Iterable, t: float) -> list[Cue]:
        faults: list[Cue] = []
        guidance: list[Cue] = []
        for ev in events:
            kind = getattr(ev, "kind", None)
            data = getattr(ev, "data", {}) or {}
            if kind == "fault" and data.get("early"):
                text = ev.message  # the fault's cue
                if text and not self._cooling(text, t):
                    faults.append(Cue(text, "fault", t, data.get("id"), data.get("rep")))
            elif kind in ("rep", "partial"):
                rep = data.get("rep") or {}
                early = set(data.get("cued_early") or ())
                for f in sorted(rep.get("faults", []), key=_fault_order):
                    if f.get("id") in early:
                        continue
                    text = f.get("cue") or f.get("id", "")
                    if text and not self._cooling(text, t):
                        faults.append(Cue(text, "fault", t, f.get("id"), rep.get("index")))
                        break
            elif kind in GUIDANCE_KINDS and ev.message and not self._cooling(ev.message, t):
                guidance.append(Cue(ev.message, "view", t))
        # The newest rep's cue first, then the newest guidance.
        return faults[::-1] + guidance[::-1]

    def final(self, events: Iterable, t: float) -> Cue | None:
        """The set is over: the cue for its last events (the last rep, finalised when the set
        ended), issued now whatever is on screen; cooldowns still hold."""
        self._current = None
        self._pending = None
        return self.offer(events, t)

    def offer(self, events: Iterable, t: float) -> Cue | None:
        """Feed one frame's events at source time ``t``; return the cue to issue now, if any."""
        cands = self._candidates(events, t)
        if cands:
            best = cands[0]
            p = self._pending
            # A newer candidate replaces the pending one unless that is a fault cue and the
            # candidate only guidance.
            if p is None or not (p.kind == "fault" and best.kind == "view"):
                self._pending = best
        p = self._pending
        if p is None:
            return None
        if t - p.t >= self.display_s:  # waited too long: no longer about the current rep
            self._pending = None
            return None
        if self.current(t) is not None or self._cooling(p.text, t):
            return None
        self._pending = None
        issued = Cue(p.text, p.kind, t, p.fault_id, p.rep)
        self._current = issued
        self._last_issued[issued.text] = t
        return issued
