"""Tests of the notebook 03 widget: noise × β × denoiser for PnP-HQS."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import widgets
from course_utils.metrics import psnr
from course_utils.pnp import DPIR_LAM, SIGMA_FLOOR, initial_estimate, make_task, pnp_hqs
from course_utils.widgets.nb03 import NOISE_LEVELS, PnPDemo, _fast_tv

NAME = "nb03_pnp"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_as_an_iterative_widget():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "pnp_widget" in widgets.__all__
    assert NOISE_LEVELS[0] == 0.0
    sweep = widgets.sweep_params(NAME)
    assert {p["denoiser"] for p in sweep} == {"tv", "learned", "identity"}
    assert {p["task"] for p in sweep} == {"deblur", "inpainting", "sr2"}


def test_identity_numbers_match_the_library(built):
    widget, update = built
    demo = widget.demo
    numbers = update(sigma_n=0.02, beta=0.01, denoiser="identity", task="deblur")
    task = make_task("deblur", demo.x, sigma_n=0.02, seed=0)
    x_hat, _ = pnp_hqs(task.A, task.y, "identity", sigma_n=0.02, beta=0.01,
                       num_iters=demo.num_iters, x0=initial_estimate(task.A, task.y))
    assert numbers["psnr"] == pytest.approx(psnr(demo.x, np.clip(x_hat, 0, 1)), abs=0.01)
    assert numbers["psnr_observation"] == pytest.approx(psnr(demo.x, task.y), abs=0.01)
    # σ_d = sqrt(lam σ_n² / β), the level the denoiser would receive
    assert numbers["sigma_denoiser"] == pytest.approx(np.sqrt(DPIR_LAM * 0.02 ** 2 / 0.01))
    assert "least squares" in numbers["message"]
    # the figure shows the estimate that was returned
    np.testing.assert_allclose(demo.im_est.get_array(), np.clip(x_hat, 0, 1))


@pytest.mark.parametrize("task", ["deblur", "inpainting", "sr2"])
def test_tv_beats_the_observation_at_the_default_beta(built, task):
    _, update = built
    numbers = update(sigma_n=0.02, beta=0.01, denoiser="tv", task=task)
    # measured gains: +3.8 dB (deblur), +16 dB (inpainting), +0.7 dB (x2)
    assert numbers["psnr"] > numbers["psnr_observation"] + 0.3


def test_beta_extremes_over_smooth_or_keep_the_noise(built):
    _, update = built
    mid = update(sigma_n=0.02, beta=0.01, denoiser="tv", task="deblur")
    small = update(sigma_n=0.02, beta=1e-4, denoiser="tv", task="deblur")
    large = update(sigma_n=0.02, beta=1.0, denoiser="tv", task="deblur")
    assert "over-smoothed" in small["message"]
    assert "noise stays" in large["message"]
    # the middle of the range is better than both ends (measured 26.7 vs 18.3 and 25.4 dB)
    assert mid["psnr"] > small["psnr"] + 3 and mid["psnr"] > large["psnr"]


def test_noise_free_setting_uses_the_floor(built):
    _, update = built
    numbers = update(sigma_n=0.0, beta=0.01, denoiser="tv", task="deblur")
    assert "1/255" in numbers["message"]
    assert numbers["sigma_denoiser"] == pytest.approx(np.sqrt(DPIR_LAM * SIGMA_FLOOR ** 2
                                                              / 0.01))


def test_learned_denoiser_level_is_capped_at_its_training_range(built):
    pytest.importorskip("torch")
    from course_utils.weights import registry

    if "denoiser" not in registry():
        pytest.skip("the learned denoiser's weights are not shipped yet")
    widget, update = built
    numbers = update(sigma_n=0.1, beta=1e-4, denoiser="learned", task="deblur")
    assert numbers["sigma_denoiser"] == pytest.approx(55 / 255)
    assert "capped" in numbers["message"]
    assert np.all(np.isfinite(widget.demo.im_est.get_array()))


def test_fast_tv_is_close_to_the_library_tv():
    from course_utils.data import add_noise, load_image
    from course_utils.denoisers import denoise

    y = add_noise(load_image("camera", 64), 0.05, seed=1)
    fast, ref = _fast_tv(y, 0.05), denoise(np.clip(y, 0, 1), 0.05, "tv")
    # 40 iterations of Chambolle's algorithm: within 0.02 of the converged TV denoiser
    # (measured 0.016 at this weight), far below the noise level 0.05
    assert np.abs(fast - ref).max() < 0.03
    np.testing.assert_array_equal(_fast_tv(y, 0.0), np.clip(y, 0, 1))


def test_artists_are_updated_in_place(built):
    widget, update = built
    demo = widget.demo
    ids = (id(demo.im_obs), id(demo.im_est), id(demo.line_psnr))
    n_axes = len(widget.figure.axes)
    update(sigma_n=0.05, beta=0.1, denoiser="tv", task="sr2")
    assert ids == (id(demo.im_obs), id(demo.im_est), id(demo.line_psnr))
    assert len(widget.figure.axes) == n_axes
    assert len(demo.line_psnr.get_ydata()) == demo.num_iters


def test_demo_validates_its_options():
    with pytest.raises(ValueError, match="num_iters"):
        PnPDemo(num_iters=0)
    with pytest.raises(ValueError, match="Unknown image name"):
        PnPDemo(image="lena")
    with pytest.raises(TypeError, match="seed"):
        PnPDemo(seed=0.5)


def test_update_rejects_bad_parameters(built):
    _, update = built
    with pytest.raises(ValueError, match="beta"):
        update(beta=0.0)
    with pytest.raises(ValueError, match="denoiser"):
        update(denoiser="bm3d")
    with pytest.raises(TypeError, match="unknown control"):
        update(lam=0.1)


def test_constant_beta_run_is_what_update_computes(built):
    from course_utils.widgets.nb03 import constant_beta_run

    _, update = built
    params = dict(sigma_n=0.05, beta=0.1, denoiser="learned", task="deblur")
    numbers = update(**params)
    run = constant_beta_run(**params)
    assert numbers["psnr"] == pytest.approx(run["psnr"], abs=0.005)
    assert numbers["sigma_denoiser"] == pytest.approx(run["sigma_d"])
    assert constant_beta_run(**params) is run                # cached for the session
    small = constant_beta_run(sigma_n=0.05, beta=1e-3, denoiser="learned", task="deblur")
    assert small["clamped"] and small["sigma_d"] == pytest.approx(55 / 255)
    assert small["psnr"] < run["psnr"] - 5                   # over-smoothed (measured 9.5 vs 26.0)


def test_constant_beta_run_rejects_bad_parameters():
    from course_utils.widgets.nb03 import constant_beta_run

    with pytest.raises(ValueError, match="denoiser"):
        constant_beta_run(sigma_n=0.05, beta=0.1, denoiser="bm3d", task="deblur")
    with pytest.raises(ValueError, match="task"):
        constant_beta_run(sigma_n=0.05, beta=0.1, denoiser="tv", task="sr4")
    with pytest.raises(ValueError, match="beta"):
        constant_beta_run(sigma_n=0.05, beta=0.0, denoiser="tv", task="deblur")
