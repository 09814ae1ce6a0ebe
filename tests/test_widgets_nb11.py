"""Tests of the notebook 11 widget: the sparse separation of a held-out mixture, μ × λ."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import widgets, xray_separation as xs
from course_utils.widgets import nb11

NAME = "nb11_xray_separation"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_and_exported():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "xray_separation_widget" in widgets.__all__
    assert nb11.MU_LEVELS[0] == 0 and nb11.LAM_LEVELS[0] == 0


def test_update_numbers_come_from_the_library(built):
    widget, update = built
    numbers = update(mu=0.5, lam=0.03)
    m = nb11.mixture()
    x1, x2 = xs.separate(m["mixture"], m["visible"], "sparse", mu=0.5, lam=0.03,
                         num_iters=nb11.NUM_ITERS)
    q = xs.layer_quality(m["x1"], m["x2"], x1, x2)
    assert numbers["psnr_x1"] == pytest.approx(q["psnr_x1"], abs=0.01)
    assert numbers["psnr_x2"] == pytest.approx(q["psnr_x2"], abs=0.01)
    assert numbers["overlap"] == pytest.approx(q["overlap"], abs=1e-3)
    np.testing.assert_allclose(widget.demo.images[1].get_array(), x2)


def test_exclusion_lowers_the_overlap(built):
    _, update = built
    overlaps = [update(mu=mu, lam=0.01)["overlap"] for mu in (0.0, 0.3, 0.8)]
    assert overlaps[0] > overlaps[1] > overlaps[2]


def test_extreme_settings_give_messages(built):
    _, update = built
    assert "no exclusion" in update(mu=0.0)["message"]
    assert "not sparse" in update(lam=0.0)["message"]
    assert "message" not in update(mu=0.3, lam=0.01)
    out = update(mu=nb11.MU_LEVELS[-1], lam=nb11.LAM_LEVELS[-1])
    assert np.isfinite(out["psnr"])


def test_bad_settings_name_the_control(built):
    _, update = built
    with pytest.raises(ValueError, match="mu must be one of"):
        update(mu=0.25)
    with pytest.raises(ValueError, match="lam must be one of"):
        update(lam=-1.0)
    with pytest.raises(ValueError, match="mu must be one of"):
        nb11.solve(0.25, 0.01)
