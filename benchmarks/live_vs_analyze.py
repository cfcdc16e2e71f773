"""Live at real-time pace vs analyze: the same reps and fault ids per rep on each clip?

    python benchmarks/live_vs_analyze.py [CLIP...]   (default: sample_videos/*.mp4)

Runs `formcheck analyze CLIP --json` and `formcheck live --camera CLIP --no-window` (the file
played as a camera at its real rate, frames dropped when processing falls behind) and prints
both rep lists, whether they agree, and live's dropped frames and latency.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reps_of(report_reps: list[dict]) -> list[tuple[bool, list[str]]]:
    return [(r["counted"], sorted(f["id"] for f in r["faults"])) for r in report_reps]


def main() -> int:
    clips = [Path(c) for c in sys.argv[1:]] or sorted((ROOT / "sample_videos").glob("*.mp4"))
    agree = 0
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            out_json = Path(tmp) / "a.json"
            subprocess.run([sys.executable, "-m", "formcheck", "analyze", str(clip), "-q",
                            "--json", str(out_json)], check=True)
            analyzed = reps_of(json.loads(out_json.read_text())["reps"])
            live = subprocess.run([sys.executable, "-m", "formcheck", "live", "--camera", str(clip),
                                   "--no-window"], capture_output=True, text=True, check=True)
            events = [json.loads(line) for line in live.stdout.splitlines() if line.startswith("{")]
            lived = reps_of([e["rep"] for e in events if e["event"] in ("rep", "partial")])
            summary = next(e for e in events if e["event"] == "summary")
            same = lived == analyzed
            agree += same
            print(f"{clip.name}: analyze {analyzed}")
            print(f"{'':{len(clip.name)}}  live    {lived} -> {'same' if same else 'DIFFERENT'}; "
                  f"dropped {summary.get('frames_dropped')}, latency {summary.get('latency_ms')}")
    print(f"{agree}/{len(clips)} clips agree")
    return 0 if agree == len(clips) else 1


if __name__ == "__main__":
    sys.exit(main())
