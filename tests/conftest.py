import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SAMPLES = ROOT / "sample_videos"
SHARED = ROOT.parent / "shared"
