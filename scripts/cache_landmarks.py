"""Dev tool: run the pose model over clips once and cache the landmarks as .npz."""
import sys, numpy as np
from pathlib import Path
from formcheck.sources import VideoSource
from formcheck.pose import PoseEstimator

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
for clip in sys.argv[2:]:
    t, xy, vis, z, ok = [], [], [], [], []
    with VideoSource(clip) as src, PoseEstimator() as pe:
        for fr in src:
            p = pe.detect(fr.image, fr.t_s)
            t.append(fr.t_s); ok.append(p is not None)
            xy.append(p.xy if p else np.full((33, 2), np.nan)); vis.append(p.visibility if p else np.zeros(33)); z.append(p.z if p else np.zeros(33))
        wh = (src.info.width, src.info.height)
    np.savez(out / (Path(clip).stem + ".npz"), t=np.array(t), xy=np.array(xy), vis=np.array(vis), z=np.array(z), ok=np.array(ok), wh=np.array(wh))
    print(clip, len(t), sum(ok), flush=True)
