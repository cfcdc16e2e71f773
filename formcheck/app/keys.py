"""What makes a stored batch result reusable: content hashes and the analysis key.

A clip's result is reused only when its bytes (:func:`file_sha256`) and its *analysis key*
(:func:`analysis_key`: settings + formcheck version + pose model sha256) both match.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from formcheck.config import Config


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk_bytes)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


_MODEL_SHA: dict[tuple[str, int, int], str] = {}


def model_sha256(spec: str | os.PathLike | None) -> str:
    """sha256 of the pose model ``spec`` (``full``/``lite``/``heavy`` or a path) resolves to.

    Cached per (path, size, mtime), so a batch hashes the bundle once. Raises
    :class:`~formcheck.errors.ModelError` as :func:`~formcheck.media.models.resolve_model` does.
    """
    from formcheck.media.models import resolve_model

    path = resolve_model(spec)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MODEL_SHA:
        _MODEL_SHA[key] = file_sha256(path)
    return _MODEL_SHA[key]


def analysis_key(cfg: Config, version: str | None = None, model_sha: str | None = None) -> str:
    """The resume key of a clip's result (16 hex digits): the analysis settings
    (:meth:`Config.digest`), the formcheck ``version`` (default: the running one) and the pose
    model's sha256 (default: :func:`model_sha256` of ``cfg.pose.model``). Any change re-scores."""
    import formcheck

    parts = {
        "config": cfg.digest(),
        "formcheck_version": formcheck.__version__ if version is None else version,
        "model_sha256": model_sha256(cfg.pose.model) if model_sha is None else model_sha,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
