#!/usr/bin/env python3
"""Dev tool: run the pose model over clips once and cache the landmarks as .npz.

The cache replays through the analysis core in seconds (`formcheck eval --landmarks DIR`),
which makes tuning thresholds fast. Keys: t (n,), xy (n, 33, 2) pixels, vis (n, 33),
z (n, 33), ok (n,) bool (False: no person), wh (width, height).

Usage: python scripts/cache_landmarks.py OUT_DIR CLIP...
"""

import sys
from pathlib import Path

import numpy as np

from formcheck.config import load_config
from formcheck.media.pose import make_estimator
from formcheck.media.sources import VideoSource


def cache(clip: str, out: Path) -> None:
    t, xy, vis, z, ok = [], [], [], [], []
    with VideoSource(clip) as src, make_estimator(load_config().pose) as pe:
        for fr in src:
            p = pe.detect(fr.image, fr.t_s)
            t.append(fr.t_s)
            ok.append(p is not None)
            xy.append(p.xy if p else np.full((33, 2), np.nan))
            vis.append(p.visibility if p else np.zeros(33))
            z.append(p.z if p else np.zeros(33))
        wh = (src.info.width, src.info.height)
    np.savez(out / (Path(clip).stem + ".npz"), t=np.array(t), xy=np.array(xy), vis=np.array(vis),
             z=np.array(z), ok=np.array(ok), wh=np.array(wh))
    print(clip, len(t), sum(ok), flush=True)


if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for c in sys.argv[2:]:
        cache(c, out_dir)
