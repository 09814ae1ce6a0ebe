"""Tests of the notebook 08 widget: views × dose × λ for sparse-view CT."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import widgets
from course_utils.ct_learned import ct_phantom, fbp_views, simulate_sinogram
from course_utils.metrics import psnr
from course_utils.widgets.nb08 import (DOSE_OPTIONS, LAM_OPTIONS, VIEW_OPTIONS,
                                       CTSparseViewDemo, tv_iterations)

NAME = "nb08_ct_sparse_view"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_as_an_iterative_widget():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "ct_sparse_view_widget" in widgets.__all__
    # Every view count divides 180, so each view set is a subset of the 180 views.
    assert all(180 % k == 0 for k in VIEW_OPTIONS)
    assert VIEW_OPTIONS[0] == 1 and 0.0 in LAM_OPTIONS and math.isinf(DOSE_OPTIONS[-1])


def test_sinogram_subsets_equal_a_direct_simulation(built):
    demo = built[0].demo
    x_fine, _ = ct_phantom("shepp_logan", 64)
    # Keeping every 5th of 180 views is the same as simulating 36 views.
    np.testing.assert_allclose(demo.sinogram(36, math.inf), simulate_sinogram(x_fine, 36),
                               rtol=0, atol=1e-12)
    assert demo.sinogram(1, 1e4).shape == (64, 1)


def test_numbers_match_the_library(built):
    widget, update = built
    numbers = update(views=18, I0=math.inf, lam=0.05)
    demo = widget.demo
    y = demo.sinogram(18, math.inf)
    assert numbers["psnr_fbp"] == pytest.approx(psnr(demo.x, fbp_views(y)), abs=0.01)
    assert numbers["tv_iterations"] == tv_iterations(18) == 20
    # 20 PDHG iterations from the FBP already beat it by far at 18 views (measured
    # +9 dB on Shepp–Logan); 3 dB is a floor that a broken TV step cannot reach.
    assert numbers["psnr_tv"] > numbers["psnr_fbp"] + 3.0
    assert tv_iterations(180) == 10


def test_extreme_settings_give_a_picture_and_a_message(built):
    widget, update = built
    one = update(views=1, I0=1e3, lam=0.0)
    assert "One view" in one["message"] and "λ = 0" in one["message"]
    assert np.all(np.isfinite(widget.demo.im_tv.get_array()))
    clean = update(views=180, I0=math.inf, lam=0.4)
    assert "Noise-free" in clean["message"]
    assert widget.demo.im_y.get_array().shape == (64, 180)
    plain = update(views=36, I0=1e5, lam=0.05)
    assert "message" not in plain


def test_more_dose_and_more_views_help_fbp(built):
    _, update = built
    assert update(views=60, I0=1e3, lam=0.05)["psnr_fbp"] < \
        update(views=60, I0=1e6, lam=0.05)["psnr_fbp"]
    assert update(views=9, I0=1e6, lam=0.05)["psnr_fbp"] < \
        update(views=90, I0=1e6, lam=0.05)["psnr_fbp"]


def test_bad_settings_are_rejected_with_the_control_name(built):
    _, update = built
    with pytest.raises(ValueError, match="views must be one of"):
        update(views=0)
    with pytest.raises(ValueError, match="I0 must be one of"):
        update(I0=-1.0)
    with pytest.raises(ValueError, match="lam must be one of"):
        update(lam=-0.1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        CTSparseViewDemo(seed=-1)
    with pytest.raises(ValueError, match="source must be a seed or 'shepp_logan'"):
        CTSparseViewDemo(source="camera")


def test_numpy_side_imports_without_torch():
    import subprocess
    import sys
    code = ("import sys, course_utils.ct_learned, course_utils.widgets.nb08, "
            "course_utils.checks.nb08; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
