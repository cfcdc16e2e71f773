"""Checks of a video path before it is opened, and the message when opening fails.

Each error says what is wrong with the file and what to do about it.
"""

from __future__ import annotations

import os
from pathlib import Path

from formcheck.errors import SourceError
from formcheck.media.formats import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


def check_video_path(path: str | os.PathLike) -> Path:
    """Raise :class:`SourceError` with a helpful message unless ``path`` is a readable file."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"No such file: {p}. Check the path (quote it if it contains spaces).")
    if p.is_dir():
        raise SourceError(
            f"{p} is a folder, not a video. Pass one clip, or use `formcheck batch {p}` "
            "to score every clip in it."
        )
    if p.stat().st_size == 0:
        raise SourceError(f"{p} is empty (0 bytes). Was the copy or download interrupted?")
    if not os.access(p, os.R_OK):
        raise SourceError(f"{p} cannot be read: permission denied.")
    if p.suffix.lower() in IMAGE_SUFFIXES:
        raise SourceError(f"{p} is a still image; formcheck needs a video of the set (MP4, MOV, WebM...).")
    if p.suffix.lower() in AUDIO_SUFFIXES:
        raise SourceError(f"{p} is an audio file; formcheck needs a video of the set (MP4, MOV, WebM...).")
    return p


def open_error(path: Path, e: Exception | None = None) -> SourceError:
    """The :class:`SourceError` for a file that cannot be opened (or decoded) as a video."""
    video = path.suffix.lower() in VIDEO_SUFFIXES
    hint = ("the file may be truncated or use a codec that cannot be decoded" if video
            else "it does not look like a video file")
    reason = (getattr(e, "strerror", None) or str(e)) if e is not None else ""
    detail = f" ({reason})" if reason else ""
    todo = ("If it was copied or downloaded, copy it again in full; otherwise re-export it as "
            "H.264 MP4." if video else "Re-export it as H.264 MP4 and try again.")
    return SourceError(f"Cannot open {path} as a video: {hint}{detail}. {todo}")
