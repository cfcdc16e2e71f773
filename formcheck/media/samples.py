"""The sample clip shipped inside the package (``formcheck/data/``), for the no-argument demo.

``formcheck`` with no clip analyses it, from a checkout as from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from formcheck.errors import FormcheckError

SAMPLE_NAME = "dev01_seated_r.mp4"


def data_dir() -> Path:
    """The package's data folder (a real folder in a checkout and in an installed wheel)."""
    return Path(__file__).resolve().parent.parent / "data"


def bundled_sample() -> Path:
    """Path of the bundled sample clip (its label is the ``.json`` beside it).

    Raises :class:`FormcheckError` when the package was installed without its data.
    """
    p = data_dir() / SAMPLE_NAME
    if p.is_file():
        return p
    raise FormcheckError(
        f"No bundled sample clip found (expected {p}; the package was installed without its "
        "data). Run `formcheck analyze YOUR_CLIP.mp4`, or reinstall formcheck."
    )
