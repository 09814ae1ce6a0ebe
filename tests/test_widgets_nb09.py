"""Tests of the notebook 09 widget: wavelet shrinkage with Haar, 5/3 and the learned lifting."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import inn, widgets
from course_utils.metrics import psnr
from course_utils.widgets import nb09

NAME = "nb09_lifting"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_and_exported():
    assert widgets.WIDGET_KINDS[NAME] == "closed-form"
    assert "lifting_widget" in widgets.__all__
    assert nb09.WIDGET_SIGMAS_255[0] == 0 and nb09.FACTORS[0] == 0.0


def test_update_numbers_come_from_the_library(built):
    widget, update = built
    numbers = update(sigma=25 / 255, factor=2.0, transform="haar")
    x, y = nb09.observation(25 / 255)
    ref = inn.wavelet_denoise(y, 25 / 255, "haar", rule="fixed", factor=2.0, levels=nb09.LEVELS)
    assert numbers["psnr"] == pytest.approx(psnr(x, ref), abs=0.01)
    np.testing.assert_allclose(widget.demo.im_x.get_array(), np.clip(ref, 0, 1), atol=1e-12)
    bayes = inn.wavelet_denoise(y, 25 / 255, "haar", rule="bayes", levels=nb09.LEVELS)
    assert numbers["reference_psnr"] == pytest.approx(psnr(x, bayes), abs=0.01)
    assert numbers["noisy_psnr"] == pytest.approx(psnr(x, y), abs=0.01)
    assert numbers["best_psnr"] >= numbers["psnr"]
    curve, _ = nb09.psnr_curve(25 / 255, "haar")
    assert numbers["best_factor"] == nb09.FACTORS[int(np.argmax(curve))]


def test_threshold_trades_noise_for_blur(built):
    _, update = built
    low = update(sigma=25 / 255, factor=0.0, transform="legall53")
    best = update(sigma=25 / 255, factor=1.5, transform="legall53")
    high = update(sigma=25 / 255, factor=5.0, transform="legall53")
    assert low["psnr"] == pytest.approx(low["noisy_psnr"], abs=1e-6)     # nothing shrunk
    assert best["psnr"] > high["psnr"] > low["psnr"]


def test_extreme_settings_give_messages(built):
    _, update = built
    clean = update(sigma=0.0, factor=5.0, transform="legall53")
    assert "No noise" in clean["message"] and clean["max_error"] < 1e-12
    assert "Threshold 0" in update(sigma=50 / 255, factor=0.0, transform="haar")["message"]
    assert "5σ" in update(sigma=50 / 255, factor=5.0, transform="haar")["message"]
    assert "message" not in update(sigma=15 / 255, factor=2.0, transform="haar")


def test_learned_transform_gives_a_picture_or_a_message(built):
    _, update = built
    numbers = update(sigma=25 / 255, factor=2.0, transform="learned")
    if nb09.learned_available():
        assert "psnr" in numbers and numbers["reference_psnr"] > numbers["noisy_psnr"]
        # the full network (learned thresholds, detail networks) beats its plain threshold
        assert numbers["reference_psnr"] > numbers["best_psnr"]
    else:
        assert "python -m course_utils.train winnet" in numbers["message"]
    for sigma in (0.0, 50 / 255):
        for factor in (0.0, 5.0):
            out = update(sigma=sigma, factor=factor, transform="learned")
            assert "psnr" in out or "max_error" in out or "message" in out


def test_bad_settings_name_the_control(built):
    _, update = built
    with pytest.raises(ValueError, match="sigma must be one of"):
        update(sigma=0.3)
    with pytest.raises(ValueError, match="factor must be in"):
        update(factor=6.0)
    with pytest.raises(ValueError, match="transform must be one of"):
        update(transform="db4")
    with pytest.raises(ValueError, match="Unknown transform"):
        nb09.denoise_with(0.1, 1.0, "db4")
    with pytest.raises(ValueError, match="factor must be >= 0"):
        nb09.denoise_with(0.1, -1.0, "haar")
