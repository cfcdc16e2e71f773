"""``formcheck batch`` inputs: files, folders, globs and CSV manifests become
:class:`ClipJob` s, each with its configuration and content hash (the resume key).

Pure planning: no OpenCV or model import, so a large batch plans quickly.
"""

from __future__ import annotations

from collections.abc import Callable

import csv
import datetime as _dt
import glob
import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from formcheck.app.store import analysis_key
from formcheck.app.store import file_sha256
from formcheck.config import PROFILES, Config, merge
from formcheck.errors import ConfigError, FormcheckError, SourceError
from formcheck.media.formats import VIDEO_SUFFIXES


@dataclass
class ClipJob:
    """One input clip and what the driver learns about it while planning."""

    path: Path
    athlete: str | None = None
    date: str | None = None
    profile: str | None = None
    source: str = ""  # the argument or manifest line it came from (for messages)
    cfg: Config | None = None
    config_hash: str = ""
    content_hash: str = ""
    size: int | None = None
    missing: str | None = None  # why the file cannot be read, if it cannot
    name: str = ""  # output file stem in --out
    attempts: int = 0
    annotate_to: str | None = None
    clip_id: int | None = None


def _has_glob(s: str) -> bool:
    return any(ch in s for ch in "*?[")


def _folder_clips(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES:
                out.append(Path(root) / f)
    return out


def read_manifest(path: str | os.PathLike) -> list[ClipJob]:
    """Clips listed in a CSV manifest: a ``path`` column and optional ``athlete``, ``date``,
    ``profile``. Relative paths are relative to the manifest's folder; a path may be a folder
    or a glob (its clips inherit the row's athlete/date/profile)."""
    mpath = Path(path)
    base = mpath.parent
    try:
        text = mpath.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise FormcheckError(f"Cannot read the manifest {mpath}: {e}") from e
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise FormcheckError(f"{mpath} is empty: expected a CSV with a 'path' column.")
    cols = {c.strip().lower(): c for c in reader.fieldnames if c}
    if "path" not in cols:
        raise FormcheckError(
            f"{mpath}: no 'path' column (found {', '.join(reader.fieldnames)}). "
            "A manifest needs a header: path,athlete,date,profile (only path is required)."
        )
    jobs: list[ClipJob] = []
    for line_no, row in enumerate(reader, start=2):
        def get(k: str, row: dict = row) -> str:
            return (row.get(cols[k]) or "").strip() if k in cols else ""

        p = get("path")
        if not p or p.startswith("#"):
            continue
        profile = get("profile") or None
        if profile is not None and profile not in PROFILES:
            raise ConfigError(
                f"{mpath}, line {line_no}: profile expected one of {', '.join(PROFILES)}, "
                f"got {profile!r}"
            )
        date = get("date") or None
        if date is not None:
            try:
                date = _dt.date.fromisoformat(date[:10]).isoformat()
            except ValueError:
                raise FormcheckError(
                    f"{mpath}, line {line_no}: date expected YYYY-MM-DD, got {date!r}"
                ) from None
        full = Path(p).expanduser()
        if not full.is_absolute():
            full = base / full
        meta = dict(athlete=get("athlete") or None, date=date, profile=profile,
                    source=f"{mpath}:{line_no}")
        for clip in _expand_one(str(full)) or [full]:
            jobs.append(ClipJob(clip, **meta))
    return jobs


def _expand_one(arg: str) -> list[Path]:
    p = Path(arg).expanduser()
    if p.is_dir():
        return _folder_clips(p)
    if p.is_file() or not _has_glob(arg):
        return [p]
    out: list[Path] = []
    for m in sorted(glob.glob(str(p), recursive=True)):
        mp_ = Path(m)
        if mp_.is_dir():
            out.extend(_folder_clips(mp_))
        elif mp_.suffix.lower() in VIDEO_SUFFIXES:
            out.append(mp_)
    return out


def collect_inputs(inputs: Iterable[str]) -> list[ClipJob]:
    """Expand files, folders (recursive, video suffixes), globs and ``.csv`` manifests.

    Returns one job per distinct clip path, in a stable order. A path that does not exist is
    kept (it becomes an error row); a glob or folder that matches nothing raises."""
    jobs: list[ClipJob] = []
    for arg in inputs:
        p = Path(arg).expanduser()
        if p.suffix.lower() == ".csv" and p.is_file():
            jobs.extend(read_manifest(p))
            continue
        found = _expand_one(arg)
        if not found and (p.is_dir() or _has_glob(arg)):
            raise FormcheckError(
                f"No video clips in {arg} (looked for {', '.join(VIDEO_SUFFIXES)}). "
                "Check the folder or pattern (quote globs so the shell does not expand them)."
            )
        jobs.extend(ClipJob(f, source=arg) for f in found)
    seen: dict[str, ClipJob] = {}
    for j in jobs:
        key = os.path.normcase(os.path.abspath(j.path))
        seen.setdefault(key, j)  # the first mention of a clip wins (with its metadata)
    if not seen:
        raise FormcheckError("No clips to score. Pass video files, folders, globs or a CSV manifest.")
    return list(seen.values())


def _file_date(p: Path) -> str | None:
    try:
        return _dt.date.fromtimestamp(p.stat().st_mtime).isoformat()
    except OSError:
        return None


def _missing_hash(path: Path) -> str:
    return "missing:" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()


def plan_jobs(jobs: list[ClipJob], base_cfg: Config,
              neutral_of: Callable[[str], float | None] | None = None) -> None:
    """Attach each job's configuration and content hash.

    The configuration is ``base_cfg`` with the manifest row's profile, and, for a clip whose
    athlete has a stored calibration (``neutral_of(name)``, deg), that neutral offset, unless
    ``base_cfg`` sets a neutral itself or calibrates from the clip's still start.
    """
    cfgs: dict[tuple[str | None, float | None], Config] = {}
    names: dict[str, int] = {}
    kc = base_cfg.kinematics
    use_stored = neutral_of is not None and not kc.neutral_offset_deg and kc.calibrate == "off"
    for job in jobs:
        neutral = neutral_of(job.athlete) if use_stored and job.athlete else None
        key = (job.profile, neutral)
        if key not in cfgs:
            over: dict = {}
            if job.profile is not None:
                over["profile"] = job.profile
            if neutral is not None:
                over["neutral_offset_deg"] = neutral
            cfgs[key] = merge(base_cfg, {"kinematics": over}, origin=job.source or "manifest") \
                if over else base_cfg
        job.cfg = cfgs[key]
        job.config_hash = analysis_key(job.cfg)  # settings + formcheck version + model sha256
        try:
            from formcheck.media.sources import check_video_path  # noqa: WPS433 (cv2 import is fine here)

            check_video_path(job.path)
            job.size = job.path.stat().st_size
            job.content_hash = file_sha256(job.path)
        except (SourceError, OSError) as e:
            job.missing = str(e)
            job.content_hash = _missing_hash(job.path)
        if job.date is None and job.missing is None:
            job.date = _file_date(job.path)
        stem = job.path.stem
        n = names.get(stem, 0)
        names[stem] = n + 1
        job.name = stem if n == 0 else f"{stem}-{job.content_hash[-8:] if job.missing else job.content_hash[:8]}"
