"""Notebook 07 widget: every control at both ends gives numbers or a message, and the
numbers agree with the library."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import mri_recon as R
from course_utils.widgets import WIDGET_KINDS, WIDGETS, sweep_params
from course_utils.widgets.nb07 import UndersamplingDemo, undersampling_widget

NAME = "nb07_undersampling"


@pytest.fixture(scope="module")
def demo():
    """A small widget (48 × 48, few iterations) so the sweep is quick."""
    widget, update = undersampling_widget(size=48, tv_iters=10, wavelet_iters=10, nufft_iters=3)
    return widget, update


def test_registered():
    assert WIDGETS[NAME] is undersampling_widget
    assert WIDGET_KINDS[NAME] == "iterative"
    params = sweep_params(NAME)
    # both ends of every control, and acceleration 1 and 16 for every pattern
    for pattern in R.ARTEFACTS:
        assert {"pattern": pattern, "acceleration": 1} in [
            {k: p[k] for k in ("pattern", "acceleration")} for p in params]
    assert any(p["sigma"] == 0.0 for p in params) and any(p["sigma"] == 0.1 for p in params)
    assert any(p["center_fraction"] == 1.0 for p in params)


def test_sweep_gives_numbers_or_messages(demo):
    widget, update = demo
    for params in sweep_params(NAME):
        out = update(**params)
        assert isinstance(out, dict)
        assert np.isfinite(out["psnr_zero_filled"]) and np.isfinite(out["psnr_cs"])
        if params["acceleration"] == 1:
            assert "R = 1" in out["message"]
        if params["center_fraction"] == 1.0 and params["pattern"] in (
                "cartesian_regular", "variable_density") and params["acceleration"] > 1:
            assert "using" in out["message"]


def test_numbers_match_the_library(demo):
    widget, update = demo
    out = update(pattern="variable_density", acceleration=4, center_fraction=0.08,
                 sigma=0.0, cs="cs_tv")
    x = R.test_image("mri_slice", 48)
    mask = R.sampling("variable_density", (48, 48), 4, 0.08)
    y = R.measure(x, mask)
    assert out["psnr_zero_filled"] == round(R.quality(x, R.reconstruct(y, mask,
                                                                       "zero_filled"))["psnr"], 2)
    x_cs = R.cs_tv(y, mask, R.default_lam("cs_tv"), num_iters=10)
    assert out["psnr_cs"] == round(R.quality(x, x_cs)["psnr"], 2)
    assert out["samples"] == int(mask.sum())
    assert out["psnr_cs"] > out["psnr_zero_filled"]
    full = update(pattern="cartesian_regular", acceleration=1, center_fraction=0.08,
                  sigma=0.0, cs="cs_tv")
    assert full["psnr_zero_filled"] > 100          # nothing missing: exact
    regular = update(pattern="cartesian_regular", acceleration=4, center_fraction=0.01,
                     sigma=0.0, cs="cs_tv")
    assert "coherent" in regular["message"]


def test_figure_updates(demo):
    widget, update = demo
    update(pattern="spiral", acceleration=8, center_fraction=0.04, sigma=0.03,
           cs="cs_wavelet")
    assert widget.figure is widget.demo.figure
    assert "spiral" in widget.demo.titles[0].get_text()
    assert widget.demo.im_mask.get_array().shape == (48, 48)


def test_bad_settings():
    widget, update = undersampling_widget(size=32, tv_iters=2, wavelet_iters=2, nufft_iters=1)
    with pytest.raises(ValueError, match="acceleration must be one of"):
        update(acceleration=0.5)
    with pytest.raises(ValueError, match="pattern must be one of"):
        update(pattern="rosette")
    with pytest.raises(TypeError, match="unknown control"):
        update(lam=1.0)
    with pytest.raises(ValueError, match="size must be a multiple of 8"):
        UndersamplingDemo(size=50)
    with pytest.raises(ValueError, match="Unknown image"):
        UndersamplingDemo(image="camera")
