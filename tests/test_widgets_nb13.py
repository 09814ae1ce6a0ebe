"""Tests of the notebook 13 widget: depth × photons × RL iterations × network layers."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import lfm, widgets
from course_utils.widgets import nb13

NAME = "nb13_lfm"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_and_exported():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "lfm_widget" in widgets.__all__
    assert nb13.PHOTON_LEVELS[0] == 20 and nb13.RL_ITERATIONS[-1] == 32


def test_numbers_come_from_the_library(built):
    widget, update = built
    numbers = update(depth=-8.0, photons=200, iterations=8, layers=6)
    op = lfm.microscope()
    sc = nb13.scene()
    y = lfm.simulate_light_field(op, sc["x"], photons=200.0, seed=nb13.SEED + 2)
    assert numbers["counts"] == int(y.sum())
    rl8 = lfm.reconstruct(y, "rl", photons=200.0)
    assert numbers["psnr_rl"] == pytest.approx(lfm.volume_psnr(sc["x"], rl8, 1.0), abs=0.01)
    net = lfm.reconstruct(y, "network", photons=200.0)
    assert numbers["psnr_network"] == pytest.approx(lfm.volume_psnr(sc["x"], net, 1.0),
                                                    abs=0.01)
    d = lfm.DEPTHS.index(-8.0)
    np.testing.assert_allclose(widget.demo.images[1].get_array(), rl8[d], rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_allclose(widget.demo.images[0].get_array(), sc["x"][d])
    # the trained network is better than RL-8 here
    assert numbers["psnr_network"] > numbers["psnr_rl"] + 2


def test_more_layers_help_and_noise_hurts(built):
    _, update = built
    assert update(layers=6)["psnr_network"] > update(layers=0)["psnr_network"] + 2
    assert update(photons=5000)["psnr_network"] > update(photons=20)["psnr_network"]


def test_messages_at_the_ends(built):
    _, update = built
    assert "native focal plane" in update(depth=0.0)["message"]
    assert "speckles" in update(depth=8.0, photons=20, iterations=32)["message"]
    assert "regularised inverse" in update(depth=8.0, layers=0)["message"]
    assert "message" not in update(depth=8.0, photons=200, iterations=8, layers=6)


def test_level_scores_rejects_bad_arguments():
    with pytest.raises(ValueError, match="photons"):
        nb13.level_scores(30, "rl", 8)
    with pytest.raises(ValueError, match="step"):
        nb13.level_scores(20, "rl", 3)
    with pytest.raises(ValueError, match="method"):
        nb13.level_scores(20, "fista", 3)
