"""Benchmark: the camera roll estimated from the scene (media/roll.py) against the labels.

    python benchmarks/roll.py [FOLDER ...]      (default: ../shared/synthetic ../shared/real)

For every clip: the roll the Session would apply (its RollProbe over the first second of frames
with a person), its confidence, and the label's ``camera_roll_deg`` where there is one. The
estimate is clockwise on screen; the renders' labels use the opposite sign, so the error printed
is estimate + label.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Sink:
    roll = None

    def set_camera_roll(self, deg: float, conf: float | None) -> None:
        self.roll = (deg, conf)


def main(argv: list[str]) -> int:
    from formcheck.config import PoseConfig
    from formcheck.app.session import RollProbe
    from formcheck.media.pose import make_estimator
    from formcheck.media.sources import VideoSource

    folders = [Path(a) for a in argv] or [ROOT.parent / "shared" / "synthetic", ROOT.parent / "shared" / "real"]
    est = make_estimator(PoseConfig(num_poses=1))
    errs = []
    for clip in sorted(p for f in folders for p in f.glob("*.mp4")):
        label = json.loads(clip.with_suffix(".json").read_text()) if clip.with_suffix(".json").is_file() else {}
        probe, sink = RollProbe(), _Sink()
        est.new_stream()
        with VideoSource(clip) as src:
            for fr in src:
                probe.offer(fr, est.detect(fr.image, fr.t_s), sink)
                if probe.done or fr.t_s > 3.0:
                    break
        r, c = sink.roll if sink.roll else (0.0, 0.0)
        lab = label.get("camera_roll_deg")
        line = f"{clip.stem:42s} roll {r:+5.1f}° confidence {c:.2f}"
        if lab is not None:
            errs.append(abs(r + lab))
            line += f"   label {lab:+4.1f}°  error {r + lab:+4.1f}°"
        print(line)
    if errs:
        print(f"labelled clips: {len(errs)}, max |error| {max(errs):.2f}°, mean {sum(errs) / len(errs):.2f}°")
    est.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
