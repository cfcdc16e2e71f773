"""File kinds by name suffix: the one list of video suffixes (pure: no OpenCV import, so
``formcheck batch`` can plan and ``formcheck eval`` can pair labels with clips cheaply)."""

from __future__ import annotations

VIDEO_SUFFIXES: tuple[str, ...] = (
    ".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
)
"""Video files formcheck looks for in folders, in order of preference (lower case)."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".m4a", ".aac", ".flac", ".ogg", ".opus"})

