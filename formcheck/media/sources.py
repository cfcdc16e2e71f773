"""Frame sources: video files decoded with PyAV, with the container's exact timestamps.

This is an edge module: it imports PyAV and OpenCV and touches files. Frames carry the
container's presentation time (``pts * time_base``, from the stream's start), not
``index / fps``, so variable-frame-rate clips keep their real timing. Phone videos are turned
upright from their display-matrix side data. Decoding uses FFmpeg's frame/slice threads and runs
in a prefetch thread (:mod:`~formcheck.media.prefetch`), so it overlaps the pose model on another
core. Shot changes are marked by :mod:`~formcheck.media.cuts`; paths are checked by
:mod:`~formcheck.media.file_checks`.

Cameras stay on OpenCV (see :mod:`formcheck.app.live`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from formcheck.core.sampling import FrameDecimator
from formcheck.core.types import ClipInfo
from formcheck.errors import FormcheckError, SourceError
from formcheck.media.cuts import SceneCutDetector
from formcheck.media.file_checks import check_video_path, open_error
from formcheck.media.formats import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES  # noqa: F401
from formcheck.media.prefetch import Prefetch

# Re-exported: front ends check a path before opening it; the detector is tested from here.
__all__ = ["Frame", "SceneCutDetector", "VideoSource", "check_video_path", "downscale",
           "rotate_cw", "sample_frames"]

log = logging.getLogger(__name__)


# Clockwise rotation (deg) -> the OpenCV rotation that makes the frame upright.
_CV_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class Frame:
    """A decoded frame.

    Attributes:
        index: position of the frame in the stream (0-based, counting frames skipped by
            ``max_fps`` decimation).
        t_s: presentation time (s) from the start of the stream.
        image: BGR uint8 (H, W, 3), upright, downscaled to ``max_side_px``.
        cut: True when this frame starts a new shot (edited footage); the first frame is not a
            cut.
    """

    index: int
    t_s: float
    image: np.ndarray
    cut: bool = False


def downscale(image: np.ndarray, max_side_px: int) -> np.ndarray:
    """``image`` shrunk (area interpolation) so its longer side is at most ``max_side_px``
    pixels; unchanged when it already fits or ``max_side_px`` is 0."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if max_side_px and longest > max_side_px:
        s = max_side_px / longest
        return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return image


def rotate_cw(image: np.ndarray, deg: int) -> np.ndarray:
    """``image`` turned clockwise by ``deg`` (0, 90, 180 or 270)."""
    deg %= 360
    return image if deg == 0 else cv2.rotate(image, _CV_ROTATE[deg])


def sample_frames(source, seconds: float = 3.0, count: int = 5, max_side_px: int = 640) -> list[np.ndarray]:
    """Up to ``count`` upright BGR frames evenly spread over the first ``seconds`` of a video.

    ``source`` is a :class:`VideoSource` (its file is opened again,
    so its own iteration is not disturbed; its metadata rotation is applied) or a path.
    """
    path = source.path if isinstance(source, VideoSource) else source
    src = VideoSource(path, max_side_px, prefetch=0, detect_cuts=False, probe_rotation=False,
                      crop_bars=False)
    frames = []
    try:
        for fr in src:
            if fr.t_s > seconds:
                break
            frames.append(fr.image)
    finally:
        src.close()
    if len(frames) <= count:
        return frames
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in idx]


class VideoSource:
    """Iterate the frames of a video file with container timestamps.

    Args:
        path: the video file.
        max_side_px: frames whose longer side exceeds this are downscaled (keeps memory and
            pose time bounded on 4K input); ``0`` keeps the full size.
        max_fps: analyse at most this many frames per second (frames in between are decoded
            but not converted to images); ``0`` analyses every frame.
        prefetch: frames decoded ahead in a background thread (``0``: decode in the caller's
            thread).
        detect_cuts: mark frames that start a new shot (:attr:`Frame.cut`).
        probe_rotation: detect footage filmed turned 90/180/270 deg without rotation
            metadata (:func:`formcheck.media.orientation.probe_rotation`, on the first 1.5 s)
            and turn it upright: ``True`` (default) uses a pose model shared by the process,
            loaded on first use; a :class:`~formcheck.media.pose.PoseEstimator` uses that one;
            ``False`` does not probe. Files with rotation metadata are not probed.
        crop_bars: detect pillarbox/letterbox bars (black or a blurred copy of the picture) in
            the first 1.5 s and crop the frames to the content box (default on).
        turn_deg: turn every frame this much clockwise (90, 180 or 270) instead of probing:
            the analysis found the picture turned (:mod:`formcheck.core.upright`).

    Use as a context manager; iterating yields :class:`Frame`.
    """

    PROBE_FRAMES = 3

    def __init__(self, path: str | os.PathLike, max_side_px: int = 1280, max_fps: float = 0.0,
                 prefetch: int = 4, detect_cuts: bool = True, probe_rotation=True,
                 crop_bars: bool = True, turn_deg: int | None = None):
        if turn_deg is not None and turn_deg not in (90, 180, 270):
            raise ValueError(f"turn_deg: expected 90, 180 or 270, got {turn_deg!r}")
        if max_side_px < 0:
            raise ValueError(f"max_side_px: expected >= 0, got {max_side_px}")
        if not max_fps >= 0:  # also refuses NaN
            raise ValueError(f"max_fps: expected >= 0, got {max_fps}")
        if prefetch < 0:
            raise ValueError(f"prefetch: expected >= 0, got {prefetch}")
        self.path = check_video_path(path)
        self.max_side_px = max_side_px
        self.max_fps = max_fps
        self.prefetch = prefetch
        self.detect_cuts = detect_cuts
        self._container = None
        self._stream = None
        self._first = None  # the first decoded av.VideoFrame, read at open time
        self._prefetcher: Prefetch | None = None
        self._extra_rot = 0
        self._sar = 1.0  # the pixel aspect ratio (width of a pixel over its height)
        self._crop: tuple[int, int, int, int] | None = None
        self.frames_read = 0
        self.read_s = 0.0  # the span (s) of the frames read, once the file has been read
        self.truncated = False
        self.info = self._open()
        if turn_deg is not None:
            probe_rotation = False
        if probe_rotation or crop_bars:
            self._probe(probe_rotation, crop_bars)
        if turn_deg is not None:  # the caller's turn, not a finding of the probe (which is skipped)
            self._extra_rot = turn_deg

    # ------------------------------------------------------------------ opening
    def _open(self) -> ClipInfo:
        import av

        try:
            container = av.open(str(self.path), "r", metadata_errors="ignore")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as e:
            raise open_error(self.path, e) from e
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.path} has no video stream (audio only?). Pass a video clip.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        self._container, self._stream = container, stream
        n = max(0, int(stream.frames or 0))
        if n == 1:
            self.close()
            raise SourceError(
                f"{self.path} holds a single frame (a still image?); formcheck needs a video of the set."
            )
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        if n == 0 and duration > 0 and fps > 0:
            n = int(round(duration * fps))
        self._frames = self._decode_frames()
        try:
            self._first = next(self._frames, None)
        except SourceError:
            self.close()
            raise
        if self._first is None:
            self.close()
            raise SourceError(
                f"{self.path}: no frame could be decoded. The file may be truncated or corrupt; "
                "re-export it as H.264 MP4."
            )
        rot = int(round(-(self._first.rotation or 0))) % 360
        rot = rot if rot in _CV_ROTATE else 0
        sar = stream.sample_aspect_ratio
        # Non-square pixels (anamorphic video): frames are stretched to the display's aspect
        # before anything measures an angle in them.
        self._sar = float(sar) if sar and 0.2 < float(sar) < 5.0 else 1.0
        w, h = self._display_size(self._first)
        if rot in (90, 270):
            w, h = h, w
        if w <= 0 or h <= 0:
            self.close()
            raise SourceError(f"{self.path} has no video stream (audio only?). Pass a video clip.")
        self._rot = rot
        return ClipInfo(str(self.path), fps, n, duration, w, h, rot)

    def _decode_frames(self):
        """Decoded av.VideoFrames; stops (marking the file truncated) on a demux/decode error."""
        import av

        container, stream = self._container, self._stream
        # No fd-2 redirection here: this runs in the prefetch thread, and PyAV keeps FFmpeg's
        # own log quiet by default.
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError as e:  # one bad packet: skip it
                    log.warning("%s: a packet could not be decoded (%s); skipped", self.path, e)
                    continue
                yield from frames
        except (av.error.FFmpegError, OSError) as e:
            if self._first is None:
                raise open_error(self.path, e) from e
            self.truncated = True
            log.warning("%s: reading stopped early (%s); the file may be truncated", self.path, e)

    def _probe(self, estimator, crop_bars: bool) -> None:
        """Look at the first seconds for bars and a turned camera; record them in ``info``."""
        from dataclasses import replace

        from formcheck.media import orientation

        sample = sample_frames(self, seconds=1.5, count=self.PROBE_FRAMES)
        if crop_bars and sample:
            box = orientation.find_content_box(sample)
            if box is not None:
                sh, sw = sample[0].shape[:2]  # sample frames are downscaled
                W, H = self.info.width, self.info.height
                bx, by, bw, bh = box
                x0, x1 = (0, W) if bw >= sw else (round(bx * W / sw), round((bx + bw) * W / sw))
                y0, y1 = (0, H) if bh >= sh else (round(by * H / sh), round((by + bh) * H / sh))
                x, y, w, h = x0, y0, (x1 - x0) - (x1 - x0) % 2, (y1 - y0) - (y1 - y0) % 2
                self._crop = (x, y, w, h)
                sample = [im[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] for im in sample]
                log.info("%s: bars around the picture; analysing the box x=%d y=%d %dx%d",
                         self.path, x, y, w, h)
        probed = None
        if estimator and sample and self._rot == 0:  # metadata, when present, is trusted
            try:
                est = orientation.shared_estimator() if estimator is True else estimator
                probed, conf = orientation.probe_rotation(sample, est)
            except FormcheckError as e:  # e.g. the bundled model is missing: analyse as is
                log.warning("%s: orientation probe skipped (%s)", self.path, e)
                probed, conf = 0, 0.0
            if probed:
                log.warning("%s: the picture looks turned (no rotation metadata); analysing it "
                            "rotated %d deg clockwise (confidence %.2f)", self.path, probed, conf)
            self._extra_rot = probed
        self.info = replace(self.info, rotation_probe=probed, crop=self._crop)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.stop()
            self._prefetcher = None
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # pragma: no cover - closing a broken container
                pass
            self._container = None

    # ------------------------------------------------------------------ frames
    def _display_size(self, frame) -> tuple[int, int]:
        """(w, h) of a decoded frame as it is meant to be seen: its width times the pixel
        aspect ratio (even, for 4:2:0)."""
        w, h = frame.width, frame.height
        if self._sar != 1.0:
            w = max(2, 2 * round(w * self._sar / 2))
        return w, h

    def _target_size(self, w: int, h: int) -> tuple[int, int]:
        """Decoded (un-rotated) size after the max_side_px downscale."""
        longest = max(h, w)
        if self.max_side_px and longest > self.max_side_px:
            s = self.max_side_px / longest
            return max(1, round(w * s)), max(1, round(h * s))
        return w, h

    @staticmethod
    def _bgr(frame, size: tuple[int, int] | None = None) -> np.ndarray:
        """BGR array of an av.VideoFrame, optionally scaled to ``size`` (w, h).

        4:2:0 frames are scaled in YUV by swscale and converted by OpenCV, which is several
        times faster than swscale's own RGB path.
        """
        w, h = frame.width, frame.height
        if frame.format.name == "yuv420p" and w % 2 == 0 and h % 2 == 0 and (
                size is None or (size[0] % 2 == 0 and size[1] % 2 == 0)):
            if size is not None and size != (w, h):
                frame = frame.reformat(size[0], size[1], format="yuv420p", interpolation="AREA")
            return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
        if size is not None and size != (w, h):
            return frame.reformat(size[0], size[1], format="bgr24", interpolation="AREA").to_ndarray()
        return frame.to_ndarray(format="bgr24")

    def to_image(self, frame) -> np.ndarray:
        """BGR upright image of an av.VideoFrame, cropped and downscaled."""
        crop = self._crop
        disp = self._display_size(frame)
        if crop is None:
            size = self._target_size(*disp)
            return rotate_cw(self._bgr(frame, size), (self._rot + self._extra_rot) % 360)
        image = rotate_cw(self._bgr(frame, disp if self._sar != 1.0 else None), self._rot)
        x, y, cw, ch = crop
        image = image[y : y + ch, x : x + cw]
        tw, th = self._target_size(cw, ch)
        if (tw, th) != (cw, ch):
            image = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)
        return rotate_cw(np.ascontiguousarray(image), self._extra_rot)

    BACKWARDS_MAX = 2  # container times going backwards this often: use the nominal rate

    def _expected_span(self, start: float | None) -> float | None:
        """How long the file says the clip lasts (s), or None. Containers disagree on whether
        their duration counts the start offset (MP4: no; Matroska: yes), so the shorter reading
        is taken: a check for files cut short must never fire on a whole one."""
        d = self.info.duration_s
        if not d or d <= 0:
            return None  # e.g. a browser's MediaRecorder WebM: no duration at all
        spans = [d] + ([d - start] if start and d - start > 0 else [])
        return min(spans)

    @staticmethod
    def _time(frame) -> float | None:
        """Presentation time (s) of an av.VideoFrame: ``pts * time_base``, or None."""
        if frame.pts is None or frame.time_base is None:
            return None
        return float(frame.pts * frame.time_base)

    def _generate(self) -> Iterator[Frame]:
        fps = self.info.fps if self.info.fps > 0 else 30.0
        stream = self._stream
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        start0 = start
        last_t = -np.inf
        backwards = 0  # container times that went backwards (B-frames in AVI): then the nominal rate
        keep = FrameDecimator(self.max_fps, fps)
        cuts = SceneCutDetector() if self.detect_cuts else None
        index = 0
        decoded = 0
        frames = self._frames
        pending, self._first = self._first, None
        while True:
            frame = pending if pending is not None else next(frames, None)
            pending = None
            if frame is None:
                break
            t = self._time(frame)
            if t is not None:
                if start is None:
                    start = t
                t -= start
                if t < last_t:
                    backwards += 1
            if backwards >= self.BACKWARDS_MAX:
                # The container's times are not presentation times (AVI has none: FFmpeg
                # guesses them in decode order, so B-frames scramble them); AVI is constant-rate.
                t = None
            if t is None or not np.isfinite(t) or t <= last_t:
                # No usable timestamp: fall back to the nominal rate.
                t = max(index / fps, last_t + 1e-3)
            last_t = t
            index += 1
            self.frames_read = index
            if not keep.wants(t):
                continue
            try:
                image = self.to_image(frame)
            except (ValueError, RuntimeError) as e:
                log.warning("%s: frame %d could not be converted (%s); skipped", self.path, index - 1, e)
                continue
            keep.taken(t)
            decoded += 1
            cut = cuts.update(image) if cuts is not None else False
            yield Frame(index - 1, float(t), image, cut)
        self.frames_read = index
        if index == 1:
            raise SourceError(
                f"{self.path} holds a single frame (a still image?); formcheck needs a video of the set."
            )
        if decoded == 0:
            raise SourceError(
                f"{self.path}: no frame could be decoded. The file may be truncated or corrupt; "
                "re-export it as H.264 MP4."
            )
        read_s = last_t + 1.0 / fps  # the span of the frames read
        self.read_s = read_s
        expected_s = self._expected_span(start0)
        if expected_s is not None and expected_s > 1.0 and read_s < 0.9 * expected_s:
            self.truncated = True  # (a file whose data stops without a decoding error)
        if not self.truncated:  # what was read is the clip: its real length and frame count
            from dataclasses import replace

            self.info = replace(self.info, n_frames=index, duration_s=round(read_s, 3))
        if self.truncated:  # the result's warnings say so to the user (truncation_warning)
            log.info(
                "%s: only %d frames (%.1f s) could be read; it may be truncated (still "
                "downloading or copied partly). Results cover the part read.",
                self.path, index, read_s,
            )

    def __iter__(self) -> Iterator[Frame]:
        if self._container is None:
            raise SourceError(f"{self.path}: the source is closed.")
        if self._prefetcher is not None or getattr(self, "_iterated", False):
            raise SourceError(f"{self.path}: a VideoSource can be iterated once; open it again.")
        self._iterated = True
        gen = self._generate()
        if not self.prefetch:
            yield from gen
            return
        self._prefetcher = Prefetch(gen, self.prefetch, "formcheck-decode")
        try:
            yield from self._prefetcher
        finally:
            if self._prefetcher is not None:
                self._prefetcher.stop()
                self._prefetcher = None
