"""The wheel carries the pose model and the sample clip with its label, so that
``pip install formcheck && formcheck`` runs the demo from any folder.

How the install test stays honest and fast: the wheel is built from this checkout with
``pip wheel --no-deps``, then installed with ``pip install --no-deps`` into a *plain* venv
(no ``--system-site-packages``, so no formcheck from the development environment is
visible). Only the large third-party dependencies (mediapipe, PyAV, numpy, OpenCV) are
borrowed from the running interpreter's site-packages through a ``.pth`` line appended
*after* the venv's own site-packages; ``.pth`` files of that borrowed folder are not
processed, so an editable install of formcheck there stays invisible. The test checks that
``formcheck`` is imported from the fresh venv before running the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = out.glob("formcheck-*.whl")
    return whl


@pytest.mark.e2e
def test_wheel_carries_model_sample_and_label(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "formcheck/data/dev01_seated_r.mp4" in names
    assert "formcheck/data/dev01_seated_r.json" in names
    assert "formcheck/models/pose_landmarker_full.task" in names
    assert "formcheck/media/video_out.py" in names
    with zipfile.ZipFile(wheel) as z:
        label = json.loads(z.read("formcheck/data/dev01_seated_r.json"))
        assert z.getinfo("formcheck/data/dev01_seated_r.mp4").file_size == \
            (ROOT / "formcheck" / "data" / "dev01_seated_r.mp4").stat().st_size
    assert label["expected_rep_count"] >= 1
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [ln for ln in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
                if ln.startswith("Requires-Dist:")]
    assert any(r.startswith("Requires-Dist: av>=12") for r in requires)


@pytest.mark.e2e
def test_installed_wheel_runs_the_bundled_demo_from_another_folder(wheel, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                        "--no-index", str(wheel)], capture_output=True, text=True, timeout=600,
                       env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    (site / "zz_borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(py), "-c", "import formcheck, cv2, av, mediapipe; print(formcheck.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    run = subprocess.run([str(venv / "bin" / "formcheck"), "--json", "r.json"], cwd=elsewhere,
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "That was the bundled sample" in run.stdout
    report = json.loads((elsewhere / "r.json").read_text())
    label = json.loads((ROOT / "formcheck" / "data" / "dev01_seated_r.json").read_text())
    assert report["summary"]["rep_count"] == label["expected_rep_count"]
    assert Path(report["clip"]["path"]).is_relative_to(venv)
