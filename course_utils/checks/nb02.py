"""Self-checks for notebook 02 (regularisers: Tikhonov, TV, wavelet sparsity)."""
from __future__ import annotations

import numpy as np

from ..operators.base import MatrixOperator
from ..operators.basic import Gradient
from ..priors import soft_threshold as _soft_threshold
from ..data import add_noise, load_image
from ..metrics import psnr
from ..operators.basic import Blur
from ..regparam import TikhonovSpectrum, discrepancy_principle, gcv, l_curve
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, matches, register_exercise,
                    rel_error)

__all__ = ["check_tikhonov_fft", "check_lcurve_reading", "check_lam_factor",
           "check_gradient_adjoint", "check_soft_threshold", "check_ista_step",
           "check_best_lam_tv"]

register_exercise(
    "2.1", "implement",
    task="Write tikhonov_fft(y, eigenvalues, lam) returning the real Tikhonov solution "
         "x_lam of a circular blur, frequency by frequency, from the eigenvalues (the "
         "fft2 of the kernel).",
    hints=["In the Fourier basis A is diagonal: the normal equations (AᵀA + λI) x = Aᵀy "
           "become one scalar equation per frequency. What are the Fourier "
           "multipliers of Aᵀ and of AᵀA?",
           "Aᵀ multiplies by conj(ĥ), AᵀA by |ĥ|²: x̂ = conj(ĥ) ŷ / (|ĥ|² + λ). Go to Fourier "
           "with np.fft.fft2 and back with np.fft.ifft2.",
           "numerator = np.conj(eigenvalues) * np.fft.fft2(y); return the real part of "
           "np.fft.ifft2(numerator / (np.abs(eigenvalues) ** 2 + lam))."])
register_exercise(
    "2.2", "interpret",
    task="Read the L-curve figure together with the printed PSNRs and decide which "
         "statement it supports; set lcurve_answer to the letter of your choice.",
    hints=["Find each marker on the curve: which branch (steep or flat) is it on, and "
           "which λ and PSNR does the table give it?",
           "On the steep branch a smaller λ barely lowers the residual but inflates ‖x_λ‖: "
           "that growth is amplified noise.",
           "Compare the corner's λ and PSNR with the oracle's, and with the discrepancy "
           "principle's: which one sits far from the best?"])
register_exercise(
    "2.3", "predict",
    task="Before running the next cell, predict by what factor the λ chosen by the "
         "discrepancy principle changes when the noise level doubles (σ = 0.01 → 0.02, "
         "same image and blur); set lam_factor_prediction to your factor.",
    hints=["The discrepancy principle solves ‖Ax_λ − y‖ = σ√M: doubling σ doubles the "
           "target residual. How fast does the residual grow with λ?",
           "Doubling σ also doubles the noise left in the residual, at every λ. Only the "
           "image's own part of the residual, ‖Ax − A x_λ‖ for noise-free data, depends on λ "
           "and not on σ: it has to make up the rest.",
           "The noise part doubles by itself and the image's part grows roughly in "
           "proportion to λ near λ_dp: expect a factor near 2, not the 4 that λ ∝ σ² "
           "would give."])
register_exercise(
    "2.4", "implement",
    task="Write gradient_adjoint(p) for p of shape (2, M, N), returning ∇ᵀp of shape "
         "(M, N) for the forward-difference gradient with zero last row and column "
         "(course_utils.operators.Gradient); it must pass the dot test.",
    hints=["Each entry of ∇x is a difference of two pixels; the adjoint sends each entry "
           "of p back to those two pixels, with the signs of the difference.",
           "p[0, i, j] (for i < M−1) comes from x[i+1, j] − x[i, j]: it adds −p[0, i, j] "
           "at (i, j) and +p[0, i, j] at (i+1, j); the same along columns with p[1]. The "
           "last row of p[0] and last column of p[1] contribute nothing.",
           "out = zeros; out[:-1, :] -= p[0, :-1, :]; out[1:, :] += p[0, :-1, :]; then "
           "the same with p[1, :, :-1] on out[:, :-1] and out[:, 1:]."])
register_exercise(
    "2.5", "implement",
    task="Write soft_threshold_mine(x, thresh), the proximal map of thresh·‖·‖₁, for "
         "real arrays of any shape, without modifying x.",
    hints=["The problem separates entry by entry: minimise ½(u − z)² + t|u| for one "
           "number z. What happens when |z| ≤ t, and when |z| > t?",
           "Small entries (|x| ≤ thresh) become 0; the others move towards 0 by thresh, "
           "keeping their sign.",
           "np.sign(x) * np.maximum(np.abs(x) - thresh, 0.0)."])
register_exercise(
    "2.6", "implement",
    task="Write ista_step(x, y, A, lam, tau) returning one ISTA step for "
         "½‖Ax − y‖² + lam‖x‖₁, with the operator A applied as A(x) and its adjoint as "
         "A.adjoint(r).",
    hints=["ISTA is a proximal-gradient method: a gradient step on the smooth term, then "
           "the prox of the non-smooth one.",
           "The gradient of ½‖Ax − y‖² is Aᵀ(Ax − y); the prox of tau·lam·‖·‖₁ is "
           "soft-thresholding at lam·tau.",
           "z = x - tau * A.adjoint(A(x) - y), then return soft_threshold(z, lam * tau)."])
register_exercise(
    "2.7", "experiment",
    task="With the widget's update(regulariser=\"tv\", sigma=0.05, lam=...), try the λ "
         "of the slider and find the one with the best PSNR; set best_lam_tv to it.",
    hints=["At σ = 0.02 the printed example used λ = 1e-3. With more noise, should λ be "
           "larger or smaller?",
           "Loop over the slider's values, from course_utils.widgets.nb02 import LAMS, "
           "and print update(regulariser=\"tv\", sigma=0.05, lam=lam)[\"psnr\"] for "
           "each.",
           "The PSNR rises, peaks and falls as λ grows: the best λ at σ = 0.05 is larger "
           "than at σ = 0.01; pick the peak of your printed list."])

#: The deblurring problem of notebook 02 (section 1), rebuilt by the value checks.
NOTEBOOK_IMAGE, NOTEBOOK_SIZE, NOTEBOOK_SIGMA = "camera", 128, 0.01


def _fourier_problem(shape=(16, 20), seed=0):
    """A non-symmetric real kernel (so that conj(ĥ) ≠ ĥ), its eigenvalues and data."""
    rng = np.random.default_rng(seed)
    kernel = np.zeros(shape)
    kernel[:3, :2] = rng.random((3, 2))
    kernel /= kernel.sum()
    eig = np.fft.fft2(kernel)
    x = rng.random(shape)
    y = np.real(np.fft.ifft2(eig * np.fft.fft2(x))) + 0.01 * rng.standard_normal(shape)
    return eig, y


def _tikhonov_reference(y, eig, lam, *, conj=True, power=2, lam_power=1):
    num = (np.conj(eig) if conj else eig) * np.fft.fft2(y)
    return np.real(np.fft.ifft2(num / (np.abs(eig) ** power + lam ** lam_power)))


@exercise_check("2.1", success="your Fourier-domain Tikhonov filter is right.")
def check_tikhonov_fft(tikhonov_fft) -> str | None:
    """Check ``tikhonov_fft(y, eigenvalues, lam) -> x_hat`` for a circular blur.

    Parameters
    ----------
    tikhonov_fft : callable
        The student's function: ``y`` of shape (M, N), ``eigenvalues`` the ``fft2`` of
        the blur kernel (complex, shape (M, N)), ``lam > 0``; returns the real minimiser
        of ``½‖Ax − y‖² + ½ lam ‖x‖²``.

    Returns
    -------
    bool
        True when the result matches the closed form for a non-symmetric kernel and two
        values of ``lam``; prints what is wrong otherwise (never raises).
    """
    eig, y = _fourier_problem()
    for lam in (0.05, 1e-3):
        out = call_student(tikhonov_fft, y.copy(), eig.copy(), lam,
                           called_with=f"y of shape {y.shape} and lam = {lam}")
        x_hat = as_result(out, shape=y.shape, what=f"tikhonov_fft(y, eigenvalues, {lam})")
        reference = _tikhonov_reference(y, eig, lam)
        if matches(x_hat, reference, 1e-8):
            continue
        if matches(x_hat, _tikhonov_reference(y, eig, lam, conj=False), 1e-8):
            raise CheckFailure(
                "you multiplied by the eigenvalues instead of their complex conjugate. "
                "A^T is the blur with the flipped kernel, i.e. multiplication by "
                "conj(eigenvalues) in Fourier (with a symmetric kernel you would not "
                "notice the difference).")
        if matches(x_hat, _tikhonov_reference(y, eig, lam, power=1), 1e-8):
            raise CheckFailure("the denominator must be |h|^2 + lam (np.abs(eigenvalues)**2),"
                               " the eigenvalues of A^T A + lam I; you used |h| + lam.")
        if matches(x_hat, _tikhonov_reference(y, eig, lam, lam_power=2), 1e-8):
            raise CheckFailure("you added lam**2 to the denominator; the normal equations "
                               "(A^T A + lam I) x = A^T y add lam itself.")
        if matches(x_hat, _tikhonov_reference(y, eig, 0.0), 1e-6):
            raise CheckFailure("lam has no effect in your answer: add it to the "
                               "denominator, |h|^2 + lam.")
        raise CheckFailure(
            f"for lam = {lam} your x_hat differs from the Tikhonov solution by "
            f"{rel_error(x_hat, reference):.1e} (relative). Solve (A^T A + lam I) x = A^T y "
            "frequency by frequency: x_hat = F^-1[conj(h) F(y) / (|h|^2 + lam)].")
    return None


def _gradient_adjoint_advice(exc):
    text = str(exc)
    if "index" in text or "shape" in text or "broadcast" in text:
        return ("p has shape (2, M, N): p[0] holds the differences along rows and p[1] "
                "along columns; the result has shape (M, N).")
    return None


@exercise_check("2.4", advice=_gradient_adjoint_advice,
                success="your adjoint passes the dot test to round-off.")
def check_gradient_adjoint(gradient_adjoint) -> str | None:
    """Check ``gradient_adjoint(p) -> ∇ᵀp`` for the forward-difference gradient.

    Parameters
    ----------
    gradient_adjoint : callable
        The student's function: ``p`` of shape (2, M, N); returns an array of shape
        (M, N). The gradient is :class:`course_utils.operators.Gradient` (forward
        differences, zero on the last row/column).

    Returns
    -------
    bool
        True when ``<∇x, p> = <x, ∇ᵀp>`` to 1e-10 on random arrays; prints what is wrong
        otherwise — the dot-test error and the likely cause (never raises).
    """
    shape = (9, 11)
    grad = Gradient(shape)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    p = rng.standard_normal((2, *shape))
    out = call_student(gradient_adjoint, p.copy(), called_with="p of shape (2, 9, 11)")
    if out is not None and np.shape(out) == (2, *shape):
        raise CheckFailure("your result has shape (2, 9, 11); the adjoint maps the pair of "
                           "difference images back to one image of shape (9, 11): add the "
                           "row and column contributions.")
    adj = as_result(out, shape=shape, what="gradient_adjoint(p)")
    lhs = float(np.sum(grad(x) * p))
    rhs = float(np.sum(x * adj))
    dot_error = abs(lhs - rhs) / (np.linalg.norm(grad(x)) * np.linalg.norm(p))
    reference = grad.adjoint(p)
    if dot_error <= 1e-10 and matches(adj, reference, 1e-10):
        return None
    head = f"your adjoint fails the dot test <grad x, p> = <x, adj p> by {dot_error:.1e}"
    if matches(adj, -reference, 1e-10):
        raise CheckFailure(f"{head}: the sign is flipped. You computed the divergence; the "
                           "adjoint of the gradient is minus the divergence.")
    interior = (slice(1, -1), slice(1, -1))
    if matches(adj[interior], reference[interior], 1e-10):
        raise CheckFailure(
            f"{head}, but it is right away from the image border: check the boundary. "
            "(grad x)[0] is zero on the last row (and (grad x)[1] on the last column), so "
            "p[0, -1, :] and p[1, :, -1] must not contribute; np.roll wraps around and is "
            "the adjoint of a periodic gradient, not of this one.")
    if matches(adj, grad.adjoint(p[::-1]), 1e-10):
        raise CheckFailure(f"{head}: p[0] and p[1] are swapped. p[0] holds differences "
                           "along rows (axis 0), p[1] along columns (axis 1).")
    raise CheckFailure(f"{head} (should be ~1e-16). Each difference x[i+1, j] - x[i, j] "
                       "sends p[0, i, j] back with a minus sign to (i, j) and a plus sign "
                       "to (i+1, j).")


@exercise_check("2.5", success="your soft-thresholding is the prox of "
                                                 "thresh * ||.||_1.")
def check_soft_threshold(soft_threshold) -> str | None:
    """Check ``soft_threshold(x, thresh)``, the proximal map of ``thresh ‖·‖₁``.

    Parameters
    ----------
    soft_threshold : callable
        The student's function: real ``x`` of any shape, ``thresh >= 0``; returns an
        array of the same shape and must not modify ``x``.

    Returns
    -------
    bool
        True when it matches :func:`course_utils.priors.soft_threshold` on a vector with
        values on both sides of ±thresh and on a random image; prints what is wrong
        otherwise (never raises).
    """
    x = np.array([-3.0, -1.5, -1.0, -0.4, 0.0, 0.3, 1.0, 1.2, 2.5])
    thresh = 1.0
    original = x.copy()
    out = call_student(soft_threshold, x, thresh, called_with="x = " + np.array2string(x)
                       + ", thresh = 1")
    if not np.array_equal(x, original):
        raise CheckFailure("your function modified its input x in place; work on a copy "
                           "(np.sign(x) * np.maximum(...) creates a new array).")
    result = as_result(out, shape=x.shape, what="soft_threshold(x, 1.0)")
    reference = _soft_threshold(x, thresh)
    if not matches(result, reference, 1e-12):
        hard = np.where(np.abs(x) > thresh, x, 0.0)
        if matches(result, hard, 1e-12):
            raise CheckFailure("this is hard thresholding: the values above the threshold "
                               "must also shrink towards 0 by thresh (3.0 -> 2.0).")
        if matches(result, np.maximum(np.abs(x) - thresh, 0.0), 1e-12):
            raise CheckFailure("the sign is lost (-3.0 gave 2.0, expected -2.0): multiply "
                               "by np.sign(x).")
        if matches(result, np.maximum(x - thresh, 0.0), 1e-12):
            raise CheckFailure("negative values are set to 0: shrink the magnitude "
                               "|x| - thresh and keep the sign (-3.0 -> -2.0).")
        if matches(result, np.clip(x, -thresh, thresh), 1e-12):
            raise CheckFailure("you clipped x to [-thresh, thresh]; soft-thresholding does "
                               "the opposite: small values (|x| <= thresh) become 0, large "
                               "ones shrink by thresh.")
        wrong = np.flatnonzero(~np.isclose(result, reference))
        i = int(wrong[0])
        raise CheckFailure(f"soft_threshold({x[i]:g}, 1.0) gave {result[i]:g}, expected "
                           f"{reference[i]:g}: S(x) = sign(x) max(|x| - thresh, 0).")
    image = np.random.default_rng(4).standard_normal((6, 7))
    out = call_student(soft_threshold, image.copy(), 0.5, called_with="a (6, 7) array")
    result = as_result(out, shape=image.shape, what="soft_threshold(image, 0.5)")
    if not matches(result, _soft_threshold(image, 0.5), 1e-12):
        raise CheckFailure("right on the vector, wrong on a 2-D array with thresh = 0.5: "
                           "use element-wise numpy operations (no loops over one axis, "
                           "no hard-coded threshold).")
    return None


def _ista_advice(exc):
    if "must have shape" in str(exc):
        return ("A(x) maps x to the measurement space and A.adjoint(r) maps a residual "
                "r = A(x) - y back to the space of x: the gradient is A.adjoint(A(x) - y).")
    return None


@exercise_check("2.6", advice=_ista_advice,
                success="your ISTA step matches the reference.")
def check_ista_step(ista_step) -> str | None:
    """Check ``ista_step(x, y, A, lam, tau)``, one proximal-gradient step for
    ``½‖Ax − y‖² + lam ‖x‖₁``.

    Parameters
    ----------
    ista_step : callable
        The student's function: ``A`` a linear operator (``A(x)``, ``A.adjoint(r)``),
        ``x`` of shape ``A.in_shape``, ``y`` of shape ``A.out_shape``; returns
        ``S_{lam·tau}(x − tau Aᵀ(Ax − y))``.

    Returns
    -------
    bool
        True when the step equals the reference on a random 12 × 8 operator; prints what
        is wrong otherwise (never raises).
    """
    rng = np.random.default_rng(5)
    A = MatrixOperator(rng.standard_normal((12, 8)) / np.sqrt(12))
    x = rng.standard_normal(8)
    y = rng.standard_normal(12)
    lam, tau = 0.3, 0.5
    out = call_student(ista_step, x.copy(), y.copy(), A, lam, tau,
                       called_with="a (12, 8) operator A, lam = 0.3, tau = 0.5")
    step = as_result(out, shape=x.shape, what="ista_step(x, y, A, lam, tau)")

    def candidate(grad_sign=1.0, thresh=lam * tau, hard=False):
        z = x - grad_sign * tau * A.adjoint(A(x) - y)
        return np.where(np.abs(z) > thresh, z, 0.0) if hard else _soft_threshold(z, thresh)

    reference = candidate()
    if matches(step, reference, 1e-10):
        return None
    if matches(step, candidate(thresh=lam), 1e-10):
        raise CheckFailure("you thresholded at lam; the prox of tau * lam * ||.||_1 "
                           "thresholds at lam * tau.")
    if matches(step, candidate(grad_sign=-1.0), 1e-10):
        raise CheckFailure("the gradient step goes uphill: z = x - tau * A^T (A x - y) "
                           "(minus sign, residual A x - y).")
    if matches(step, x - tau * A.adjoint(A(x) - y), 1e-10):
        raise CheckFailure("the gradient step is right, but the soft-thresholding with "
                           "lam * tau is missing.")
    if matches(step, candidate(hard=True), 1e-10):
        raise CheckFailure("you used hard thresholding; ISTA uses the soft threshold, the "
                           "prox of the l1 norm.")
    raise CheckFailure(f"your step differs from the reference by "
                       f"{rel_error(step, reference):.1e} (relative). One ISTA step is "
                       "S_(lam tau)(x - tau A^T (A x - y)).")


# -- the value exercises (interpret, predict, experiment) on the notebook's own problem ---------
def _notebook_problem(sigma: float):
    """The image, blur and data of notebook 02 (section 1) at noise level sigma."""
    x = load_image(NOTEBOOK_IMAGE, size=NOTEBOOK_SIZE)
    blur = Blur(x.shape, "gaussian", kernel_size=9, kernel_sigma=1.5)
    return x, blur, add_noise(blur(x), sigma, seed=0)


def lcurve_choices(sigma: float = NOTEBOOK_SIGMA) -> dict:
    """λ and PSNR of each rule of section 3 (L-curve corner, discrepancy, GCV, oracle on
    the notebook's grid of 200 values), with the residual and solution norms at each."""
    x, blur, y = _notebook_problem(sigma)
    spectrum = TikhonovSpectrum(blur, y)
    lams = np.logspace(-5, 0, 200)
    oracle = float(lams[np.argmax([psnr(x, spectrum.solve(lam)) for lam in lams])])
    choices = {"corner": float(l_curve(spectrum).corner_lam),
               "discrepancy": float(discrepancy_principle(spectrum, sigma=sigma)),
               "gcv": float(gcv(spectrum).lam), "oracle": oracle}
    out = {}
    for name, lam in choices.items():
        out[name] = {"lam": lam, "psnr": float(psnr(x, spectrum.solve(lam))),
                     "residual": float(spectrum.residual_norms(lam)[0]),
                     "norm": float(spectrum.solution_norms(lam)[0])}
    return out


def check_lcurve_reading_options() -> dict:
    """The options of exercise 2.2, each explained with the notebook's own numbers."""
    c = lcurve_choices()
    corner, dp, gcv_, best = c["corner"], c["discrepancy"], c["gcv"], c["oracle"]
    return {
        "a": (False, f"maximum curvature is a property of the curve, not of the image: the "
                     f"corner picks λ = {corner['lam']:.1e} with PSNR {corner['psnr']:.2f} dB, "
                     f"{best['psnr'] - corner['psnr']:.1f} dB below the oracle "
                     f"(λ = {best['lam']:.1e}, {best['psnr']:.2f} dB). Here it is the worst "
                     "of the three rules."),
        "b": (True, f"the corner (λ = {corner['lam']:.1e}) sits up the steep branch, where "
                    f"‖x_λ‖ = {corner['norm']:.1f} against {best['norm']:.1f} at the oracle "
                    f"for almost the same residual ({corner['residual']:.2f} vs "
                    f"{best['residual']:.2f}): the extra norm is amplified noise, and its "
                    f"PSNR is {corner['psnr']:.2f} dB. The discrepancy principle "
                    f"(λ = {dp['lam']:.1e}, {dp['psnr']:.2f} dB) lands next to the oracle "
                    f"(λ = {best['lam']:.1e}, {best['psnr']:.2f} dB)."),
        "c": (False, f"GCV (λ = {gcv_['lam']:.1e}) and the discrepancy principle "
                     f"(λ = {dp['lam']:.1e}) differ by a factor "
                     f"{dp['lam'] / gcv_['lam']:.1f}, not by orders of magnitude; the rule "
                     f"far from the others is the corner, a factor "
                     f"{dp['lam'] / corner['lam']:.0f} below the discrepancy choice."),
        "d": (False, f"the residual grows with λ (from {corner['residual']:.2f} at the "
                     f"corner to {dp['residual']:.2f} at the discrepancy choice): a larger λ "
                     "fits the data less and smooths more — the flat branch on the right. "
                     "The norm ‖x_λ‖ is what falls."),
    }


@answer_check("2.2")
def check_lcurve_reading(lcurve_answer):
    """Judge the reading of the L-curve figure (exercise 2.2, multiple choice a–d).

    Parameters
    ----------
    lcurve_answer : str
        One letter.

    Returns
    -------
    bool
        True for the option saying that the corner regularises too weakly here; every
        option prints its explanation with the notebook's λ and PSNR.
    """
    return judge_choice(lcurve_answer, check_lcurve_reading_options())


def discrepancy_lams(sigmas=(NOTEBOOK_SIGMA, 2 * NOTEBOOK_SIGMA)) -> dict:
    """The discrepancy-principle λ of Tikhonov on the notebook's problem for each σ."""
    out = {}
    for sigma in sigmas:
        _, blur, y = _notebook_problem(sigma)
        out[float(sigma)] = float(discrepancy_principle(TikhonovSpectrum(blur, y),
                                                        sigma=sigma))
    return out


@answer_check("2.3")
def check_lam_factor(lam_factor_prediction):
    """Judge a prediction of ``λ_dp(2σ) / λ_dp(σ)`` for Tikhonov (exercise 2.3).

    Parameters
    ----------
    lam_factor_prediction : float
        The predicted factor.

    Returns
    -------
    bool
        True within 30 % of the factor computed here; prints why, whatever the answer.
    """
    sigma = NOTEBOOK_SIGMA
    lams = discrepancy_lams((sigma, 2 * sigma))
    lam1, lam2 = lams[sigma], lams[2 * sigma]
    actual = lam2 / lam1
    # the residual at the old λ for the noisier data, and the noise-free part of it
    x, blur, y2 = _notebook_problem(2 * sigma)
    r_old = float(TikhonovSpectrum(blur, y2).residual_norms(lam1)[0])
    clean = TikhonovSpectrum(blur, blur(x))
    c1, c2 = (float(clean.residual_norms(v)[0]) for v in (lam1, lam2))
    target = 2 * sigma * np.sqrt(y2.size)
    why = (f"λ_dp goes from {lam1:.2e} (σ = {sigma:g}) to {lam2:.2e} (σ = {2 * sigma:g}). The "
           f"rule sets ‖Ax_λ − y‖ = σ√M, and doubling σ doubles the target "
           f"({target:.2f}) but also the noise left in the residual: at the old λ the "
           f"noisier data already leave a residual of {r_old:.2f}. The rest comes from the "
           f"image's own part of the residual, ‖Ax − A x_λ(Ax)‖, which here grows about in "
           f"proportion to λ ({c1:.2f} → {c2:.2f}); hence a factor near 2.")
    correct, text = judge_number(lam_factor_prediction, actual, rel_tol=0.3, why=why,
                                 what="lam_factor_prediction", fmt=".2f")
    value = float(lam_factor_prediction)  # a number: judge_number has checked it
    if not correct:
        if value <= 1:
            text += (" More noise needs more regularisation, never less: a factor of 1 or "
                     "below would fit the noisier data more closely than their noise.")
        elif abs(value - 4) <= 0.5:
            text += (" A factor 4 is what λ = σ²/σ_x² (the weight of a Gaussian prior, the "
                     "Wiener filter) would give; the discrepancy principle is a different "
                     "rule and scales differently here.")
    return correct, text


EXPERIMENT_SIGMA = 0.05


def tv_widget_scores(sigma: float = EXPERIMENT_SIGMA) -> dict:
    """PSNR of the widget's TV reconstruction for every positive λ of its slider, with
    the widget's data (seed 0) and solver (:func:`regularisation_path`)."""
    from ..widgets.nb02 import LAMS, regularisation_path
    x, blur, y = _notebook_problem(sigma)
    lams = [lam for lam in LAMS if lam > 0]
    sols = regularisation_path(blur, y, "tv", lams)
    return {float(lam): round(float(psnr(x, sols[lam])), 2) for lam in lams}


@answer_check("2.7")
def check_best_lam_tv(best_lam_tv):
    """Judge the λ found with the widget for TV at σ = 0.05 (exercise 2.7).

    Parameters
    ----------
    best_lam_tv : float
        One of the slider's values (the nearest one is used).

    Returns
    -------
    bool
        True when its PSNR is within 0.25 dB of the best on the slider's grid (computed
        here with the widget's solver); prints how far and why.
    """
    scores = tv_widget_scores(EXPERIMENT_SIGMA)
    low = tv_widget_scores(NOTEBOOK_SIGMA)
    best_lam = max(scores, key=scores.get)
    best_low = max(low, key=low.get)
    value = float(best_lam_tv) if isinstance(best_lam_tv, (int, float, np.integer,
                                                           np.floating)) else None
    side = ""
    if value is not None and value > 0:
        if value < best_lam / 1.5:
            side = ("Below the best λ the noise comes back as speckle: TV does not "
                    "penalise it enough. ")
        elif value > best_lam * 1.5:
            side = ("Above the best λ TV flattens the image into a cartoon: texture and "
                    "small contrasts are lost. ")
    why = (f"{side}At σ = {EXPERIMENT_SIGMA:g} the best λ of the slider is {best_lam:.1e}; "
           f"at σ = {NOTEBOOK_SIGMA:g} it is {best_low:.1e}: noisier data need a stronger "
           "prior, because the data term alone can no longer tell noise from detail.")
    return judge_best(best_lam_tv, scores, why=why, what="your λ", tolerance=0.25,
                      unit=" dB", fmt=".3g")
