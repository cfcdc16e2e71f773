#!/usr/bin/env python3
"""Build models/pose_landmarker_full.task reproducibly from the mediapipe 0.10.14 wheel.

The mediapipe wheels up to 0.10.x ship the BlazePose *full* networks (Apache-2.0):
``mediapipe/modules/pose_detection/pose_detection.tflite`` and
``mediapipe/modules/pose_landmark/pose_landmark_full.tflite``. The Tasks ``PoseLandmarker``
wants them in a ``.task`` bundle (a zip of ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite``) and refuses float models without image
NormalizationOptions metadata. This script

1. downloads the mediapipe 0.10.14 wheel from PyPI (``pip download``; or takes ``--wheel``),
2. makes a throw-away virtualenv with that wheel, whose metadata writer still works
   (the writer in current mediapipe releases lacks its native module),
3. adds the input-image metadata (RGB, mean 0, std 255: pixels scaled to [0, 1]),
4. zips both models into the bundle with fixed timestamps, so the output is byte-identical
   on every run, and prints its sha256 (compare with models/README.md).

Usage:  python scripts/build_model.py [--wheel PATH] [--out models/pose_landmarker_full.task]
Needs network access to PyPI (only here, never at run time).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
MEMBERS = {
    "pose_detector.tflite": "mediapipe/modules/pose_detection/pose_detection.tflite",
    "pose_landmarks_detector.tflite": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
}
# Everything the 0.10.14 package needs to import its metadata writer (not its whole runtime).
WRITER_DEPS = ["flatbuffers", "absl-py", "attrs", "numpy<2", "protobuf<5", "matplotlib",
               "sounddevice", "opencv-contrib-python<4.11"]

INNER = r'''
import sys, zipfile
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw
from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils as mabu
from mediapipe.tasks.python.metadata.metadata_writers import writer_utils

def with_metadata(buf, name):
    w = mw.MetadataWriter.create(bytearray(buf)).add_general_info(name, "BlazePose (MediaPipe 0.10.14)")
    w.add_image_input(norm_mean=[0.0], norm_std=[255.0],
                      color_space_type=mw.MetadataWriter.color_space_types.RGB)
    for _ in writer_utils.get_output_tensor_names(bytearray(buf)):
        w.add_feature_output()
    return bytes(w.populate()[0])

out, *pairs = sys.argv[1:]
models = {}
for pair in pairs:
    member, path = pair.split("=", 1)
    models[member] = with_metadata(open(path, "rb").read(), member.rsplit(".", 1)[0])
with mabu.AlignZipFile(out, mode="w", alignment=mabu._ALIGNMENT) as zf:
    for member in sorted(models):
        zf.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), models[member])
'''


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help="a mediapipe 0.10.14 wheel already downloaded")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "models" / "pose_landmarker_full.task")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            "--python-version", "3.11", "--platform", "manylinux2014_x86_64",
                            f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(tmp)], check=True)
            wheel = next(tmp.glob("mediapipe-*.whl"))
        print(f"source wheel: {wheel.name} sha256 {sha256(wheel)}")
        extracted = {}
        with zipfile.ZipFile(wheel) as z:
            for member, src in MEMBERS.items():
                target = tmp / member
                target.write_bytes(z.read(src))
                extracted[member] = target
                print(f"  {src}: sha256 {sha256(target)}")
        env_dir = tmp / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        py = env_dir / "bin" / "python"
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-deps", str(wheel)], check=True)
        subprocess.run([*pip, *WRITER_DEPS], check=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(py), "-c", INNER, str(args.out),
                        *[f"{m}={p}" for m, p in extracted.items()]], check=True)
    print(f"wrote {args.out}: {args.out.stat().st_size} bytes, sha256 {sha256(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
