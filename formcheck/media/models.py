"""Locate the pose model bundle. Nothing is downloaded unless the user asks for it.

``full`` (the default) is the bundle shipped in ``models/`` and installed with the package.
``lite`` and ``heavy`` are Google's official bundles, fetched on request into the user cache
(``$XDG_CACHE_HOME/formcheck``): downloaded to a temporary file, checked, then renamed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from formcheck.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_NAME = "pose_landmarker_full.task"
BUNDLE_MEMBERS = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{v}/float16/latest/pose_landmarker_{v}.task"
)
PRESETS = ("full", "lite", "heavy")


def bundled_model_path() -> Path:
    """Path of the model shipped with formcheck.

    In a checkout (or an editable install) it is ``models/`` beside the package; an installed
    wheel carries the same folder as ``formcheck/models/``.
    """
    pkg = Path(__file__).resolve().parent.parent  # the formcheck package
    candidates = (pkg.parent / "models" / BUNDLED_NAME, pkg / "models" / BUNDLED_NAME)
    for p in candidates:
        if p.is_file():
            return p
    return candidates[0]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "formcheck"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_bundle(path: Path) -> Path:
    """Raise :class:`ModelError` unless ``path`` is a readable PoseLandmarker ``.task`` bundle."""
    if not path.is_file():
        raise ModelError(
            f"Pose model not found: {path}. Reinstall formcheck, rebuild it with "
            "`python scripts/build_model.py`, or pass --model PATH to a .task bundle."
        )
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelError(f"{path} is not a valid .task bundle ({e}). Pass another --model.") from e
    if not BUNDLE_MEMBERS <= names:
        raise ModelError(
            f"{path} is not a PoseLandmarker bundle: it lacks {sorted(BUNDLE_MEMBERS - names)}."
        )
    return path


def fetch_official(variant: str, timeout_s: float = 30.0) -> Path:
    """Download Google's official ``lite``/``heavy`` bundle into the cache (only on request)."""
    dest = cache_dir() / f"pose_landmarker_{variant}.task"
    if dest.is_file():
        return check_bundle(dest)
    url = OFFICIAL_URL.format(v=variant)
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s to %s", url, dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        check_bundle(Path(tmp))
        digest = sha256_of(Path(tmp))
        os.replace(tmp, dest)
        (dest.parent / (dest.name + ".sha256")).write_text(digest + "\n")
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise ModelError(
            f"Could not download the {variant} pose model from {url} ({e}). You seem to be "
            "offline: use the bundled model (omit --model) or pass --model PATH to a local "
            ".task file."
        ) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_model(spec: str | os.PathLike | None) -> Path:
    """Turn ``--model`` (``None``/``full``, ``lite``, ``heavy`` or a path) into a bundle path."""
    if spec is None or str(spec) == "full":
        return check_bundle(bundled_model_path())
    if str(spec) in ("lite", "heavy"):
        path = fetch_official(str(spec))
        sidecar = path.parent / (path.name + ".sha256")
        if sidecar.is_file() and sidecar.read_text().strip() != sha256_of(path):
            raise ModelError(
                f"{path} does not match the hash recorded when it was downloaded; "
                "delete it and fetch it again."
            )
        return path
    return check_bundle(Path(spec))
