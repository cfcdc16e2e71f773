"""Camera roll from the scene's verticals (formcheck.media.roll) and its use by the core."""

import math

import cv2
import numpy as np
import pytest

from formcheck.media.roll import combine, estimate_roll


def gym_scene(roll_deg: float, person: bool = False, pitch_px: float = 0.0) -> np.ndarray:
    """Uprights and a floor line, then the whole image turned by ``roll_deg`` as a tilted phone
    would (OpenCV's positive angle = counter-clockwise on screen). ``pitch_px`` makes the
    uprights converge toward a vanishing point below the frame, as a camera tilted down sees them."""
    h, w = 720, 1280
    img = np.full((h, w, 3), 90, np.uint8)
    for x in range(80, w, 140):
        lean = (x - w / 2) * pitch_px / 1000.0
        cv2.line(img, (int(x - lean), 0), (int(x + lean), h), (220, 220, 220), 4)
    cv2.line(img, (0, 600), (w, 600), (30, 30, 30), 5)
    if person:  # a long leaning edge where the person is: must be ignored
        cv2.line(img, (560, 150), (760, 560), (250, 250, 250), 9)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), roll_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("roll", [-8.0, -3.0, 0.0, 4.0, 10.0])
def test_roll_of_a_turned_scene(roll):
    est = estimate_roll(gym_scene(roll))
    assert est.roll_deg == pytest.approx(-roll, abs=0.4)  # clockwise on screen is positive
    assert est.confidence > 0.8


def test_converging_uprights_do_not_bias_the_roll():
    est = estimate_roll(gym_scene(5.0, pitch_px=80.0))
    assert est.roll_deg == pytest.approx(-5.0, abs=0.5)


def test_the_person_is_masked_out():
    img = gym_scene(0.0, person=True)
    assert estimate_roll(img, person_box=(540, 130, 780, 580)).roll_deg == pytest.approx(0.0, abs=0.4)


def test_no_structure_gives_no_confidence():
    est = estimate_roll(np.full((480, 640, 3), 100, np.uint8))
    assert est.confidence == 0.0 and est.roll_deg == 0.0
    assert combine([est]).confidence == 0.0


def test_seated_angle_is_measured_from_true_vertical():
    """A trunk upright in the world, seen by a camera rolled 6°, reads 0 after the correction."""
    from formcheck.config import Config
    from formcheck.core.analysis import Analyzer
    from formcheck.core.kinematics import SEATED, extension_deg, rotate_deg

    trunk_img = rotate_deg(np.array([0.0, -100.0]), 6.0)  # the image turned 6° clockwise
    raw = float(extension_deg(SEATED, 1.0, trunk_img, np.zeros(2), np.array([50.0, 0.0])))
    assert abs(raw) == pytest.approx(6.0, abs=1e-6)
    corrected = rotate_deg(trunk_img, -6.0)
    assert float(extension_deg(SEATED, 1.0, corrected, np.zeros(2), np.array([50.0, 0.0]))) == pytest.approx(0.0, abs=1e-9)
    an = Analyzer(Config())
    an.set_camera_roll(6.0, 0.9)
    assert (an.camera_roll_deg, an.camera_roll_confidence) == (6.0, 0.9)
    with pytest.raises(ValueError, match="expected a finite angle"):
        an.set_camera_roll(math.nan)
