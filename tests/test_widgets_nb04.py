"""Tests of the notebook 04 widget: layers/iterations × λ for ISTA, FISTA and LISTA."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import unrolled as u
from course_utils import widgets
from course_utils.widgets.nb04 import (ITERATIONS, LAMS, LISTA_LAYERS, ListaDemo, lista_forward,
                                       lista_numpy_params)

NAME = "nb04_lista"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME](num_samples=40)


def test_registered_as_an_iterative_widget():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "lista_widget" in widgets.__all__
    sweep = widgets.sweep_params(NAME)
    assert {p["lam"] for p in sweep} >= {0.0, max(LAMS)}
    assert {p["num_iters"] for p in sweep} >= {1, ITERATIONS[-1]}


def test_every_setting_gives_numbers_and_no_exception(built):
    _, update = built
    for params in widgets.sweep_params(NAME):
        numbers = update(**params)
        for key in ("ista_nmse_db", "fista_nmse_db", "lista_nmse_db"):
            assert math.isfinite(numbers[key]), (params, key)
        assert numbers["lista_layers"] in LISTA_LAYERS


def test_numbers_match_the_library(built):
    widget, update = built
    demo = widget.demo
    numbers = update(num_iters=8, lam=0.1)
    ista = u.ista_sparse_coding(demo.D, demo.y, 0.1, num_iters=8, x_ref=demo.x)
    fista = u.fista_sparse_coding(demo.D, demo.y, 0.1, num_iters=8, x_ref=demo.x)
    assert numbers["ista_nmse_db"] == pytest.approx(10 * np.log10(ista.history["nmse"][-1]))
    assert numbers["fista_nmse_db"] == pytest.approx(10 * np.log10(fista.history["nmse"][-1]))
    # the code drawn is the ISTA iterate of the chosen signal after 8 iterations
    np.testing.assert_allclose(demo.pts_ista.get_ydata(), ista.x_hat[demo.sample], atol=1e-12)
    assert numbers["lista_layers"] == 8


def test_lista_numbers_match_the_network(built):
    widget, update = built
    demo = widget.demo
    W_e, S, theta, trained = lista_numpy_params(16)
    z = lista_forward(demo.y, W_e, S, theta)
    numbers = update(num_iters=16, lam=u.LISTA_SETTINGS["lam"])
    assert numbers["lista_nmse_db"] == pytest.approx(10 * np.log10(u.nmse(z, demo.x)))
    if trained:
        # a trained LISTA-16 beats 16 ISTA iterations at its training λ by far (measured
        # more than 10 dB on the test split)
        assert numbers["lista_nmse_db"] < numbers["ista_nmse_db"] - 5
        assert "message" not in numbers


def test_untrained_parameters_are_ista():
    demo_params = lista_numpy_params(3)  # no 3-layer network is shipped: ISTA weights
    W_e, S, theta, trained = demo_params
    assert not trained
    p = u.lista_problem("test", 5)
    z = lista_forward(p.y, W_e, S, theta)
    np.testing.assert_allclose(z, u.ista_sparse_coding(p.D, p.y, u.LISTA_SETTINGS["lam"],
                                                       num_iters=3).x_hat, atol=1e-12)


def test_degenerate_settings_explain_themselves(built):
    _, update = built
    assert "no sparsity prior" in update(num_iters=64, lam=0.0)["message"]
    assert "trained for λ" in update(num_iters=64, lam=0.5)["message"]


def test_fista_beats_ista_and_curves_are_cached(built):
    widget, update = built
    numbers = update(num_iters=64, lam=0.02)
    # FISTA's acceleration is visible at 64 iterations (measured 8 dB on these signals)
    assert numbers["fista_nmse_db"] < numbers["ista_nmse_db"] - 2
    cached = widget.demo._curves[0.02]
    update(num_iters=2, lam=0.02)
    assert widget.demo._curves[0.02] is cached


def test_bad_settings_are_rejected(built):
    _, update = built
    with pytest.raises(ValueError, match="num_iters must be one of"):
        update(num_iters=3)
    with pytest.raises(TypeError, match="unknown control"):
        update(layers=4)
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        ListaDemo(num_samples=0)


def test_sparse_coding_curves_are_the_widget_s_and_cached(built):
    from course_utils.widgets.nb04 import sparse_coding_curves

    widget, update = built
    numbers = update(num_iters=512, lam=0.01)
    curves = sparse_coding_curves(0.01, num_samples=widget.demo.num_samples)
    assert widget.demo._curves[0.01] is curves
    assert numbers["fista_nmse_db"] == pytest.approx(10 * math.log10(curves["fista"][-1]))
    assert len(curves["ista"]) == ITERATIONS[-1] and set(curves["ista_codes"]) == set(ITERATIONS)
    assert sparse_coding_curves(0.01, num_samples=widget.demo.num_samples) is curves
    assert sparse_coding_curves(0.01) is not curves          # the default is 100 signals
    with pytest.raises(ValueError, match="lam"):
        sparse_coding_curves(-0.1)
