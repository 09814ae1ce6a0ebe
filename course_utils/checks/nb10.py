"""Self-checks for notebook 10 (diffusion and INDIGO): Tweedie, the DDPM step, INDIGO's correction, ζ."""
from __future__ import annotations

import numpy as np

from .. import diffusion as D
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, register_exercise)

__all__ = ["check_sigma_prediction", "check_tweedie", "check_ddpm_step",
           "check_indigo_correction", "check_best_zeta", "check_stand_in_reading"]

register_exercise(
    "10.1", "predict",
    task="Before running the next cell, predict the noise level sigma of x_T / sqrt(alpha_bar_T) "
         "at the last step T = 1000 of the linear schedule (images in [-1, 1]) and set "
         "sigma_T to it.",
    hints=["β_t grows linearly from 1e-4 to 0.02, so ᾱ_T = Π(1 − β_t) is tiny. Its logarithm "
           "is Σ log(1 − β_t) ≈ −Σ β_t.",
           "Σ β_t over 1000 steps is 1000 × the mean β, about 1000 × 0.01 = 10, so "
           "ᾱ_T ≈ e^{−10}. Then σ = √((1 − ᾱ)/ᾱ).",
           "σ_T ≈ √(1/ᾱ_T) = e^{5} ≈ 150: two orders of magnitude above the images' own "
           "spread."])

register_exercise(
    "10.2", "implement",
    task="Write tweedie_x0(x_t, eps, alpha_bar), the prediction of x_0 from the noisy x_t and "
         "the predicted noise eps at a time whose cumulative product is alpha_bar.",
    hints=["Start from the forward process x_t = √ᾱ x_0 + √(1 − ᾱ) ε and solve it for x_0.",
           "Subtract the noise term, then divide by the signal's factor.",
           "(x_t − √(1 − ᾱ) · eps) / √ᾱ."])

register_exercise(
    "10.3", "implement",
    task="Write ddpm_step(x_t, x0, alpha_bar_t, alpha_bar_prev, z), one ancestral DDPM step "
         "from time t to the previous time of the schedule: the posterior mean of x_{t-1} "
         "given x_t and x0, plus its standard deviation times z.",
    hints=["Between the two times, α_t = ᾱ_t / ᾱ_{t−1} and β_t = 1 − α_t (this also holds "
           "for a respaced schedule with fewer steps).",
           "The mean mixes x_t with weight √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) and x0 with weight "
           "√ᾱ_{t−1} β_t / (1 − ᾱ_t); the variance is β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).",
           "a = ab_t / ab_s; b = 1 − a; mean = np.sqrt(a) * (1 − ab_s) / (1 − ab_t) * x_t + "
           "np.sqrt(ab_s) * b / (1 − ab_t) * x0; return mean + np.sqrt(b * (1 − ab_s) / "
           "(1 − ab_t)) * z."])

register_exercise(
    "10.4", "implement",
    task="Write indigo_x0_hat(inn, x0, y), lines 6 and 7 of INDIGO: split the model's "
         "estimate x0 (a tensor (B, 1, 32, 32)) by the INN, keep its details, and invert the "
         "INN with the measurement y (B, 1, m, n) in place of the coarse band.",
    hints=["inn(x0) returns the pair (c, details); inn.inverse(c, details) undoes it.",
           "The coarse band of an INN is on its own scale: inn.scale times the measurement "
           "(4 for the ×4 Haar INN, 1 for the learned one).",
           "_, details = inn(x0); return inn.inverse(y * inn.scale, details)."])

register_exercise(
    "10.5", "experiment",
    task="With the widget's update at noise sigma 0.05 and 25 steps, find the step size zeta "
         "(one of the slider's values) that gives INDIGO the highest PSNR, and set best_zeta "
         "to it.",
    hints=["Call update(sigma_n=0.05, zeta=z, steps=25) for each z of the slider and read "
           "numbers[\"psnr\"].",
           "The slider's values are in course_utils.widgets.nb10.ZETAS; keep the one with "
           "the largest PSNR.",
           "best_zeta = max(ZETAS, key=lambda z: update(sigma_n=0.05, zeta=z, "
           "steps=25)[\"psnr\"])."])

register_exercise(
    "10.6", "interpret",
    task="Set why_stand_in to the letter of the statement that explains why INDIGO with the "
         "Haar INN (the block-mean stand-in) does worse on the non-linear degradation than "
         "with the learned INN.",
    hints=["Both runs use the same prior, the same steps and the same y. Only f_φ differs: "
           "what does its coarse band compute in each case?",
           "INDIGO replaces the coarse band of x_{0,t} by y. If the coarse band is a block "
           "mean, what is it being set to?",
           "The measurement went through a blur and a saturating response; a block mean of "
           "the image is not that, so replacing it by y pulls x_{0,t} towards a wrong image."])


# -- 10.1 ----------------------------------------------------------------------------------------
@answer_check("10.1")
def check_sigma_prediction(answer):
    """Judge the predicted σ at t = T of the linear schedule (within a factor 2)."""
    ab = D.noise_schedule("linear")
    actual = float(D.sigma_from_alpha_bar(ab[-1]))
    why = (f"ᾱ_T = {ab[-1]:.2e}, so x_T/√ᾱ_T = x_0 + σ n with σ = {actual:.0f}: the image "
           "(values in [-1, 1]) is buried under noise a hundred times larger, which is why "
           "x_T is drawn as pure N(0, I). Halfway, at t = 500, σ is "
           f"{float(D.sigma_from_alpha_bar(ab[499])):.2f}.")
    return judge_number(answer, actual, why=why, factor=2.0, fmt=".3g")


# -- 10.2 ----------------------------------------------------------------------------------------
@exercise_check("10.2", success="your Tweedie estimate matches course_utils.diffusion."
                                "x0_from_eps.")
def check_tweedie(fn) -> str | None:
    """Check ``fn(x_t, eps, alpha_bar)`` against :func:`course_utils.diffusion.x0_from_eps`."""
    rng = np.random.default_rng(102)
    x0, eps = rng.uniform(-1, 1, (2, 8, 8))
    ab = 0.35
    x_t = D.forward_noise(x0, ab, eps)
    got = as_result(call_student(fn, x_t.copy(), eps.copy(), ab,
                                 called_with="x_t, eps of shape (8, 8), alpha_bar = 0.35"),
                    shape=x0.shape, what="tweedie_x0")
    if np.allclose(got, x0, atol=1e-10):
        return None
    if np.allclose(got, (x_t - (1 - ab) * eps) / ab):
        raise CheckFailure("you used ᾱ and 1 − ᾱ without square roots: the forward process "
                           "scales x_0 by √ᾱ and the noise by √(1 − ᾱ).")
    if np.allclose(got, x_t - np.sqrt(1 - ab) * eps):
        raise CheckFailure("you removed the noise but did not divide by √ᾱ.")
    if np.allclose(got, (x_t + np.sqrt(1 - ab) * eps) / np.sqrt(ab)):
        raise CheckFailure("the noise term has the wrong sign: subtract √(1 − ᾱ)·eps.")
    raise CheckFailure(f"your estimate differs from x_0 (largest difference "
                       f"{np.abs(got - x0).max():.3g}); solve x_t = √ᾱ x_0 + √(1 − ᾱ) ε "
                       "for x_0.")


# -- 10.3 ----------------------------------------------------------------------------------------
@exercise_check("10.3", success="your DDPM step matches course_utils.diffusion.posterior_step.")
def check_ddpm_step(fn) -> str | None:
    """Check ``fn(x_t, x0, alpha_bar_t, alpha_bar_prev, z)`` against
    :func:`course_utils.diffusion.posterior_step`, with z = 0 (the mean) and random z."""
    rng = np.random.default_rng(103)
    x_t, x0, z = rng.standard_normal((3, 8, 8))
    ab_t, ab_s = 0.4, 0.7
    mean = D.posterior_step(x_t, x0, ab_t, ab_s)
    got0 = as_result(call_student(fn, x_t.copy(), x0.copy(), ab_t, ab_s, np.zeros_like(z),
                                  called_with="z = 0 (the posterior mean)"),
                     shape=x0.shape, what="ddpm_step")
    if not np.allclose(got0, mean, atol=1e-10):
        if np.allclose(got0, np.sqrt(ab_s) * x0 + np.sqrt(1 - ab_s) * D.eps_from_x0(x_t, x0, ab_t)):
            raise CheckFailure("that is DDIM's deterministic step (x0 re-noised with the "
                               "predicted ε); DDPM's ancestral step uses the posterior mean "
                               "of x_{t−1} given x_t and x_0.")
        if np.allclose(got0, x0):
            raise CheckFailure("you returned x0: the step mixes x_t and x0.")
        raise CheckFailure(f"with z = 0 your step differs from the posterior mean (largest "
                           f"difference {np.abs(got0 - mean).max():.3g}); check the weights "
                           "of x_t and x0, with α_t = ᾱ_t/ᾱ_{t−1}.")
    got = as_result(call_student(fn, x_t.copy(), x0.copy(), ab_t, ab_s, z.copy(),
                                 called_with="a random z"), shape=x0.shape, what="ddpm_step")
    want = D.posterior_step(x_t, x0, ab_t, ab_s, z)
    if np.allclose(got, want, atol=1e-10):
        return None
    beta = 1 - ab_t / ab_s
    if np.allclose(got, mean + np.sqrt(beta) * z):
        raise CheckFailure("your noise has standard deviation √β_t (DDPM's simpler choice "
                           "σ_t² = β_t); use the posterior's β_t (1 − ᾱ_{t−1})/(1 − ᾱ_t).")
    if np.allclose(got, mean + beta * (1 - ab_s) / (1 - ab_t) * z):
        raise CheckFailure("you multiplied z by the variance: use its square root.")
    raise CheckFailure("the mean is right but the noise term is not: add "
                       "√(β_t (1 − ᾱ_{t−1})/(1 − ᾱ_t)) · z.")


# -- 10.4 ----------------------------------------------------------------------------------------
@exercise_check("10.4", success="your x̂_{0,t} matches INDIGO's: the measurement as the coarse "
                                "band, the model's details.")
def check_indigo_correction(fn) -> str | None:
    """Check ``fn(inn, x0, y)`` against ``inn.inverse(y * inn.scale, inn(x0)[1])`` for the ×4
    Haar INN and the learned INN of the non-linear task."""
    import torch

    rng = np.random.default_rng(104)
    for task in ("sr4", "nonlinear"):
        inn = D.load_indigo_inn(task)
        x = D.heldout_images(2, seed=104)
        x0 = torch.from_numpy(np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1)[:, None]).float()
        y = torch.from_numpy(D.degrade(x, task)[:, None]).float()
        with torch.no_grad():
            want = inn.inverse(y * inn.scale, inn(x0)[1])
            got = call_student(fn, inn, x0.clone(), y.clone(),
                               called_with=f"the {task} INN, x0 (2, 1, 32, 32), y "
                                           f"{tuple(y.shape)}")
        got = as_result(got, shape=tuple(want.shape), what="indigo_x0_hat")
        want = want.numpy()
        if np.allclose(got, want, atol=1e-5):
            continue
        with torch.no_grad():
            unscaled = inn.inverse(y, inn(x0)[1]).numpy()
            back = inn.inverse(*inn(x0)).numpy()
        if task == "sr4" and np.allclose(got, unscaled, atol=1e-5):
            raise CheckFailure("for the Haar INN the coarse band is 4 × the block means: "
                               "multiply y by inn.scale before inverting.")
        if np.allclose(got, back, atol=1e-5):
            raise CheckFailure("you inverted the INN with its own coarse band, which gives x0 "
                               "back: put the measurement y in its place.")
        raise CheckFailure(f"for the {task} INN your x̂_0 differs from "
                           f"inn.inverse(y · inn.scale, details) (largest difference "
                           f"{np.abs(got - want).max():.3g}).")
    return None


# -- 10.5 ----------------------------------------------------------------------------------------
@answer_check("10.5")
def check_best_zeta(answer):
    """Judge ζ found with the widget (σ = 0.05, 25 steps) against the PSNR of every slider
    value in the shipped runs; correct within 0.2 dB of the best."""
    from ..widgets.nb10 import ZETAS, zeta_curve

    scores = dict(zip(ZETAS, zeta_curve(0.05, 25)))
    why = ("With ζ too small the measurement barely steers the sampler, and the result is a "
           "plausible phantom that does not match y; too large, each correction overshoots "
           "and amplifies the measurement's noise. The best ζ depends on the noise and the "
           "number of steps: fewer steps need larger corrections each.")
    return judge_best(answer, scores, why=why, what="zeta", tolerance=0.2, unit=" dB",
                      fmt=".3g")


# -- 10.6 ----------------------------------------------------------------------------------------
@answer_check("10.6")
def check_stand_in_reading(answer):
    """Judge why INDIGO with the Haar stand-in fails on the non-linear degradation."""
    options = {
        "a": (False, "the prior is the same network in both runs, trained once on the phantoms; "
                     "INDIGO never retrains it, whatever the degradation."),
        "b": (True, "INDIGO sets the coarse band of x_{0,t} to y. With the Haar INN that band "
                    "is the 2×2 block mean, so the sampler is pushed towards an image whose "
                    "block means equal y — but y is a blurred, saturated measurement, darker "
                    "contrasts in the bright regions. The learned INN's coarse band reproduces "
                    "the degradation itself, so equating it to y asks for the right thing."),
        "c": (False, "both runs make the same number of steps and network evaluations; the "
                     "difference comes from what the correction asks for, not from its cost."),
        "d": (False, "neither INDIGO run uses the degradation's gradient: that is DPS. INDIGO "
                     "only needs the INN, which is its advantage when the degradation is "
                     "unknown or not differentiable."),
    }
    return judge_choice(answer, options)
