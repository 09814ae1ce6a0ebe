"""Tests of the notebook 05 widget: scale × noise × framework for super-resolution."""
from __future__ import annotations

import pytest

from course_utils import sr, weights, widgets
from course_utils.widgets.nb05 import SIGMA_OPTIONS, SuperResolutionDemo

NAME = "nb05_super_resolution"


def _have_nets():
    return all(f"sr_{f}" in weights.registry() for f in sr.LEARNED_FRAMEWORKS)


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_as_an_iterative_widget():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "super_resolution_widget" in widgets.__all__
    assert SIGMA_OPTIONS[0] == 0


def test_numbers_match_the_library(built):
    widget, update = built
    numbers = update(scale=2, sigma=5, framework="ibp")
    x = widget.demo.x
    y = sr.degrade(x, 2, 5 / 255, seed=0)
    expected = sr.evaluate(x, sr.reconstruct(y, "ibp", 2, sigma=5 / 255), 2)
    assert numbers["psnr"] == pytest.approx(expected["psnr"], abs=0.01)
    assert numbers["psnr_bicubic"] == pytest.approx(
        sr.evaluate(x, sr.reconstruct(y, "bicubic", 2), 2)["psnr"], abs=0.01)
    assert "early stopping" in numbers["message"]


def test_learned_framework_at_x2_shows_bicubic_and_says_why(built):
    _, update = built
    numbers = update(scale=2, sigma=0, framework="post")
    assert "trained for ×4 only" in numbers["message"]
    assert numbers["psnr"] == numbers["psnr_bicubic"]


def test_learned_framework_beats_bicubic_at_x4(built):
    if not _have_nets():
        pytest.skip("weights not built")
    _, update = built
    for framework in sr.LEARNED_FRAMEWORKS:
        numbers = update(scale=4, sigma=0, framework=framework)
        # On the 128² camera crop every network gains well over 0.5 dB (see bench_sr).
        assert numbers["psnr"] > numbers["psnr_bicubic"] + 0.5, (framework, numbers)
        assert "message" not in numbers
    assert "beyond the networks' training range" in update(
        scale=4, sigma=20, framework="dbpn")["message"]


def test_bad_settings_are_rejected_with_the_control_name(built):
    _, update = built
    with pytest.raises(ValueError, match="scale must be one of"):
        update(scale=3)
    with pytest.raises(ValueError, match="sigma must be one of"):
        update(sigma=-1)
    with pytest.raises(ValueError, match="framework must be one of"):
        update(framework="srgan")
    with pytest.raises(ValueError, match="Unknown image"):
        SuperResolutionDemo(image="astronaut")
    with pytest.raises(ValueError, match="size must be a multiple of 8"):
        SuperResolutionDemo(size=100)
