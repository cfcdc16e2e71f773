"""The media edge: PyAV decoding, the annotated-video writer, atomic outputs, overlay text.

Fast tier: synthetic frames and the sample clips' decoding (no pose model).
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from formcheck.config import load_config
from formcheck.errors import VideoWriteError
from formcheck.media.sources import VideoSource
from formcheck.media.video_out import VideoAnnotator, atomic_output
from formcheck.render import annotate


def synthetic(n: int, size=(160, 120), fps: float = 10.0):
    """(t_s, BGR image) pairs: a bright square moving right on a dark background."""
    w, h = size
    out = []
    for k in range(n):
        img = np.full((h, w, 3), 30, np.uint8)
        x = 5 + 4 * k
        cv2.rectangle(img, (x, 40), (x + 20, 60), (200, 220, 240), -1)
        out.append((k / fps, img))
    return out


def probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        return {"codec": s.codec_context.name, "pix_fmt": s.codec_context.pix_fmt,
                "size": (s.codec_context.width, s.codec_context.height), "n": len(frames),
                "times": [f.time for f in frames], "format": c.format.name}


# --------------------------------------------------------------------------- writing
def test_mp4_is_h264_yuv420p_with_faststart(tmp_path):
    out = tmp_path / "a.mp4"
    with VideoAnnotator(out, load_config(), fps=10.0) as va:
        for t, img in synthetic(12):
            va.write(img, t)
    p = probe(out)
    assert p["codec"] == "h264" and p["pix_fmt"] == "yuv420p"
    assert p["size"] == (160, 120) and p["n"] == 12
    assert np.allclose(p["times"], np.arange(12) / 10.0, atol=1e-3)
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # +faststart: index before the media
    assert [q.name for q in tmp_path.iterdir()] == ["a.mp4"]


@pytest.mark.parametrize("codec,expect", [("vp8", "vp8"), ("vp9", "vp9")])
def test_webm_by_suffix(tmp_path, codec, expect):
    from formcheck.config import Config, merge

    cfg = merge(Config(), {"video": {"webm_codec": codec}})
    out = tmp_path / "a.webm"
    with VideoAnnotator(out, cfg, fps=10.0) as va:
        for t, img in synthetic(8):
            va.write(img, t)
    p = probe(out)
    assert p["codec"] == expect and p["n"] == 8 and p["format"].startswith("matroska")


def test_no_suffix_defaults_to_mp4(tmp_path):
    va = VideoAnnotator(tmp_path / "clip_annotated", load_config(), fps=10.0)
    assert va.path == tmp_path / "clip_annotated.mp4" and va.fourcc == "avc1"
    va.close()


def test_odd_sized_frames_are_written(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoAnnotator(out, load_config(), fps=10.0) as va:
        for t, img in synthetic(5, size=(161, 121)):
            va.write(img, t)
    assert probe(out)["size"] == (160, 120)


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(KeyboardInterrupt):
        with VideoAnnotator(out, load_config(), fps=10.0) as va:
            for t, img in synthetic(40):
                va.write(img, t)
                if t > 1.0:
                    raise KeyboardInterrupt
    assert out.read_bytes() == b"previous video"
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]


def test_close_during_an_exception_discards_the_partial_video(tmp_path):
    """The CLI closes the annotator in a ``finally:``; after Ctrl-C that must not commit."""
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous video")
    va = VideoAnnotator(out, load_config(), fps=10.0)
    with pytest.raises(KeyboardInterrupt):
        try:
            for t, img in synthetic(20):
                va.write(img, t)
            raise KeyboardInterrupt
        finally:
            va.close()
    assert out.read_bytes() == b"previous video"
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]


def test_atomic_output(tmp_path):
    target = tmp_path / "r.bin"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not target.exists()
        tmp.write_bytes(b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"one"
    assert [q.name for q in tmp_path.iterdir()] == ["r.bin"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    um = os.umask(0)
    os.umask(um)
    return um


def test_unwritable_folder_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(VideoWriteError, match="permission denied"):
            with VideoAnnotator(ro / "a.mp4", load_config(), fps=10.0) as va:
                for t, img in synthetic(3):
                    va.write(img, t)
    finally:
        ro.chmod(0o700)


# --------------------------------------------------------------------------- overlay text
@pytest.mark.parametrize("label,scale,th", [("PAST NEUTRAL", 0.45, 1), ("top prone", 0.6, 2),
                                           ("REPS 12", 1.3, 3)])
def test_outlined_text_is_not_doubled(label, scale, th):
    """The fill of outlined text covers the same columns as the text drawn alone, and the
    outline adds at most its own width on the right (a thicker outline stroke used to shift
    every glyph: 'PAST NEUTRALL')."""
    bg = np.full((80, 400, 3), 128, np.uint8)
    plain, outlined = bg.copy(), bg.copy()
    w_plain = annotate._text(plain, label, (10, 50), scale, annotate.WHITE, th, outline=False)
    w_out = annotate._text(outlined, label, (10, 50), scale, annotate.WHITE, th, outline=True)
    assert w_plain == w_out
    bright = lambda im: (im > 200).all(axis=2)  # the white fill
    inked = lambda im: (np.abs(im.astype(int) - 128) > 20).any(axis=2)  # anything drawn
    fill_plain = np.flatnonzero(bright(plain).any(axis=0))
    fill_out = np.flatnonzero(bright(outlined).any(axis=0))
    assert abs(fill_out[0] - fill_plain[0]) <= 1 and abs(fill_out[-1] - fill_plain[-1]) <= 1
    ink_plain = np.flatnonzero(inked(plain).any(axis=0))
    ink_out = np.flatnonzero(inked(outlined).any(axis=0))
    assert ink_out[-1] - ink_plain[-1] <= annotate.OUTLINE_PX + 1
    assert ink_plain[0] - ink_out[0] <= annotate.OUTLINE_PX + 1
    # And the outline is there: dark pixels right next to the fill.
    assert (outlined < 60).all(axis=2).sum() > 0.3 * bright(outlined).sum()


def test_outlined_text_clipped_at_the_image_edge():
    img = np.full((30, 60, 3), 128, np.uint8)
    annotate._text(img, "PAST NEUTRAL", (40, 10), 0.8, annotate.WHITE, 2)  # mostly outside
    assert (img > 200).all(axis=2).any()


# --------------------------------------------------------------------------- decoding
def test_decoding_matches_opencv_timestamps_and_pixels():
    clip = SAMPLES / "dev01_seated_r.mp4"
    cap = cv2.VideoCapture(str(clip))
    ref = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        ref.append((cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, img))
    with VideoSource(clip) as src:
        got = [(f.t_s, f.image) for f in src]
        info = src.info
    assert len(got) == len(ref) == info.n_frames
    assert np.allclose([t for t, _ in got], [t for t, _ in ref], atol=1e-6)
    diff = np.abs(got[len(got) // 2][1].astype(int) - ref[len(ref) // 2][1].astype(int))
    assert diff.mean() < 2.0  # same picture (colour conversion may differ by a level)


def test_max_fps_decimation_keeps_container_times():
    clip = SAMPLES / "dev01_seated_r.mp4"
    with VideoSource(clip, max_fps=10) as src:
        t = np.array([f.t_s for f in src])
    assert np.allclose(np.diff(t), 0.1, atol=0.02)


def test_stopping_early_releases_the_decoder():
    clip = SAMPLES / "dev01_seated_r.mp4"
    import threading

    before = threading.active_count()
    with VideoSource(clip, prefetch=3) as src:
        for k, _ in enumerate(src):
            if k == 5:
                break
    assert threading.active_count() == before
