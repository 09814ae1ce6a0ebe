"""Self-checks for notebook 04 (unrolled optimisation): one ISTA step, one LISTA layer."""
from __future__ import annotations

import functools

import numpy as np

from ..unrolled import ista_step as _ista_step
from ..unrolled import lista_layer as _lista_layer
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, matches, register_exercise,
                    rel_error)

__all__ = ["check_sparse_ista_step", "check_lista_layer", "check_lista_worth",
           "check_threshold_reading", "check_best_lambda"]

register_exercise(
    "4.1", "implement",
    task="Write ista_step(D, y, x, lam, tau) returning one ISTA iteration for the LASSO: "
         "a gradient step on ½‖y − Dx‖² followed by soft thresholding, for one signal y "
         "(m,) and one code x (n,).",
    hints=["Two parts: first the gradient step of size tau on the data term, then the "
           "proximal map of tau·lam‖·‖₁ applied to its result.",
           "The gradient of ½‖y − Dx‖² is Dᵀ(Dx − y); soft thresholding at t keeps the "
           "sign of each entry and shrinks its magnitude by t, stopping at zero.",
           "v = x − tau·Dᵀ(Dx − y), then sign(v)·max(|v| − tau·lam, 0) with np.sign, "
           "np.abs and np.maximum."])
register_exercise(
    "4.2", "implement",
    task="Write lista_layer(y, z, W_e, S, theta) returning one LISTA layer's output code "
         "(shape (n,)) for a threshold theta that is a number or one value per atom.",
    hints=["A layer is a linear part followed by the shrinkage non-linearity h_θ.",
           "The linear part adds the filtered signal (W_e applied to y) and the feedback "
           "(S applied to the previous code z); numpy broadcasting handles either kind of "
           "theta.",
           "v = W_e @ y + S @ z, then sign(v)·max(|v| − theta, 0)."])
register_exercise(
    "4.3", "predict",
    task="Before running the next cell, predict how many ISTA iterations it takes to reach "
         "the error of the 16-layer LISTA, and store the number in ista_iterations.",
    hints=["Look at the ISTA curve above: how many iterations does ISTA need to gain each "
           "few dB, and how much better than ISTA-16 could 16 trained layers plausibly be?",
           "Gregor & LeCun reported that LISTA gains about an order of magnitude in cost "
           "over ISTA.",
           "An order of magnitude on 16 layers is on the order of 10 × 16; ISTA reaches "
           "−18 dB after about 160 iterations."])
register_exercise(
    "4.4", "interpret",
    task="Read the plot of the learned thresholds θ_t of LISTA-16 against ISTA's τλ and "
         "set reading to the letter of the statement it supports.",
    hints=["Two facts are on the plot: how θ_1 compares with τλ, and how θ_t changes "
           "with the layer t.",
           "A large threshold zeroes every coefficient below it; what does that do to the "
           "code in the first layers, and what do the later, smaller thresholds let "
           "through?",
           "Continuation: start with a strong threshold that keeps only the largest "
           "coefficients, then lower it to refine. Which statement says that?"])
register_exercise(
    "4.5", "experiment",
    task="With the widget's update at 512 iterations, find the λ of the slider for which "
         "FISTA comes closest to the true codes, and store it in best_lam.",
    hints=["Call update(num_iters=512, lam=...) for each value of the slider and read "
           "\"fista_nmse_db\" (lower is better).",
           "The slider's values are in course_utils.widgets.nb04.LAMS; loop over them and "
           "keep the error of each.",
           "Store the errors in a dict keyed by λ and take min(errors, key=errors.get)."])


def _soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def _problem(seed, m=6, n=10):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, n))
    D /= np.linalg.norm(D, axis=0)
    return D, rng.standard_normal(m), rng.standard_normal(n)


def _shape_advice(exc):
    text = str(exc)
    if "matmul" in text or "shapes" in text or "broadcast" in text or "aligned" in text:
        return ("D has shape (m, n): D @ x is a signal of length m, and D.T @ r brings a "
                "residual of length m back to a code of length n.")
    return None


@exercise_check("4.1", advice=_shape_advice,
                success="your step is a gradient step on ½‖y − Dx‖² followed by soft "
                        "thresholding at tau·lam.")
def check_sparse_ista_step(ista_step) -> str | None:
    """Check ``ista_step(D, y, x, lam, tau) -> x_new``, one ISTA iteration.

    Parameters
    ----------
    ista_step : callable
        The student's function: ``D`` (m, n), ``y`` (m,), ``x`` (n,), ``lam >= 0``,
        ``tau > 0``; returns ``S_{tau lam}(x − tau Dᵀ(Dx − y))`` of shape (n,).

    Returns
    -------
    bool
        True when the result equals :func:`course_utils.unrolled.ista_step` on two test
        problems (one with ``lam = 0``); prints what is wrong otherwise (never raises).
    """
    for seed, lam, tau in ((1, 0.3, 0.2), (2, 0.0, 0.1)):
        D, y, x = _problem(seed)
        m, n = D.shape
        out = call_student(ista_step, D.copy(), y.copy(), x.copy(), lam, tau,
                           called_with=f"D of shape {D.shape}, lam = {lam}, tau = {tau}")
        x_new = as_result(out, what="ista_step(D, y, x, lam, tau)")
        if x_new.shape == (m,):
            raise CheckFailure(f"your result has shape ({m},), the shape of y; the new code "
                               f"has one entry per atom, shape ({n},).")
        if x_new.shape != (n,):
            raise CheckFailure(f"the result must have shape ({n},), got {x_new.shape}")
        reference = _ista_step(D, y, x, lam, tau)
        if matches(x_new, reference, 1e-10):
            continue
        grad = D.T @ (D @ x - y)
        v = x - tau * grad
        t = tau * lam
        wrong = [
            (_soft(x + tau * grad, t), "the gradient step goes the wrong way: subtract "
             "tau * D.T @ (D @ x - y) (descend), do not add it."),
            (_soft(v, lam), "you thresholded at lam; the prox of tau·lam‖x‖₁ thresholds at "
             "tau * lam."),
            (_soft(x - grad, t), "the gradient is not scaled by the step: use "
             "x - tau * D.T @ (D @ x - y)."),
            (v * (np.abs(v) > t), "that is hard thresholding (small entries set to zero, the "
             "others kept); soft thresholding also shrinks the survivors by tau * lam."),
            (np.maximum(v - t, 0.0), "you used max(v - tau*lam, 0), which kills every "
             "negative coefficient: soft thresholding is sign(v) * max(|v| - tau*lam, 0)."),
            (v, "you returned the gradient step without the soft thresholding."),
        ]
        for candidate, message in wrong:
            if matches(x_new, candidate, 1e-10):
                raise CheckFailure(message)
        raise CheckFailure(f"with lam = {lam}, tau = {tau} your x_new differs from one ISTA "
                           f"step by {rel_error(x_new, reference):.1e} (relative). Expected "
                           "S_(tau lam)(x - tau D^T (D x - y)).")
    return None


def _layer_advice(exc):
    text = str(exc)
    if "matmul" in text or "shapes" in text or "broadcast" in text or "aligned" in text:
        return ("W_e has shape (n, m), so W_e @ y is a code of length n; S has shape "
                "(n, n) and multiplies the previous code z.")
    return None


@exercise_check("4.2", advice=_layer_advice,
                success="your layer computes h_theta(W_e y + S z), with a scalar or a "
                        "per-atom threshold.")
def check_lista_layer(lista_layer) -> str | None:
    """Check ``lista_layer(y, z, W_e, S, theta) -> z_new``, one LISTA layer.

    Parameters
    ----------
    lista_layer : callable
        The student's function: ``y`` (m,), ``z`` (n,), ``W_e`` (n, m), ``S`` (n, n),
        ``theta`` a number or an array of shape (n,); returns
        ``S_theta(W_e y + S z)`` of shape (n,).

    Returns
    -------
    bool
        True when the result equals :func:`course_utils.unrolled.lista_layer` for a scalar
        and for a per-atom threshold; prints what is wrong otherwise (never raises).
    """
    rng = np.random.default_rng(4)
    m, n = 6, 10
    y, z = rng.standard_normal(m), rng.standard_normal(n)
    W_e = 0.4 * rng.standard_normal((n, m))
    S = 0.3 * rng.standard_normal((n, n))  # not symmetric: S and S.T differ
    for theta in (0.2, np.linspace(0.05, 0.5, n)):
        kind = "a scalar theta" if np.ndim(theta) == 0 else "a per-atom theta of shape (10,)"
        out = call_student(lista_layer, y.copy(), z.copy(), W_e.copy(), S.copy(),
                           np.copy(theta) if np.ndim(theta) else theta,
                           called_with=f"{kind} (y (6,), z (10,), W_e (10, 6), S (10, 10))")
        z_new = as_result(out, what="lista_layer(y, z, W_e, S, theta)")
        if z_new.shape != (n,):
            raise CheckFailure(f"the result must have shape ({n},) like z, got {z_new.shape}")
        reference = _lista_layer(y, z, W_e, S, theta)
        if matches(z_new, reference, 1e-10):
            continue
        b, v = W_e @ y, W_e @ y + S @ z
        wrong = [
            (_soft(b + S.T @ z, theta), "you multiplied z by S.T: the layer uses S @ z."),
            (_soft(S @ z, theta), "the input term W_e @ y is missing: every layer adds "
             "b = W_e @ y to S @ z."),
            (_soft(b, theta), "the feedback term S @ z is missing: v = W_e @ y + S @ z."),
            (np.maximum(v - theta, 0.0), "you used max(v - theta, 0), which kills negative "
             "codes: soft thresholding is sign(v) * max(|v| - theta, 0)."),
            (v, "you returned W_e @ y + S @ z without the soft thresholding."),
            (v * (np.abs(v) > theta), "that is hard thresholding; soft thresholding also "
             "shrinks the survivors by theta."),
        ]
        for candidate, message in wrong:
            if matches(z_new, candidate, 1e-10):
                raise CheckFailure(message)
        raise CheckFailure(f"with {kind} your z_new differs from the layer output by "
                           f"{rel_error(z_new, reference):.1e} (relative). Expected "
                           "sign(v) * max(|v| - theta, 0) with v = W_e @ y + S @ z.")
    return None


# -- thinking exercises: the truth is computed here, from the library, once per session ------
@functools.lru_cache(maxsize=1)
def _lista_facts() -> dict:
    """Errors of the shipped LISTA networks and the ISTA/FISTA iterations that match them,
    on the notebook's 500 held-out signals, against the exact LASSO solutions."""
    import torch

    from .. import unrolled
    from ..nets.unrolled import load_lista

    lam = unrolled.LISTA_SETTINGS["lam"]
    test = unrolled.lista_problem("test", num_samples=500)
    D, y = test.D, test.y
    tau = 1.0 / np.linalg.norm(D, 2) ** 2
    z_star = unrolled.lasso_solution(D, y, lam, tol=1e-8)
    facts = {"lam": lam, "tau": tau, "nmse": {}}
    for T in (4, 8, 16):
        net = load_lista(T)
        with torch.no_grad():
            z = net(torch.from_numpy(y).float()).double().numpy()
        facts["nmse"][T] = unrolled.nmse(z, z_star)
        if T == 16:
            facts["theta"] = np.asarray(net.numpy_params()["theta"], dtype=float).ravel()
    err = facts["nmse"][16]
    facts["ista_to_match"] = unrolled.iterations_to_match(err, D, y, lam, z_star,
                                                          max_iters=5000)
    facts["fista_to_match"] = unrolled.iterations_to_match(err, D, y, lam, z_star,
                                                           method="fista")
    ista = unrolled.ista_sparse_coding(D, y, lam, num_iters=16, x_ref=z_star)
    facts["ista16"] = float(ista.history["nmse"][-1])
    # ISTA with LISTA's first threshold at every iteration: the LASSO of a larger λ
    lam_big = float(facts["theta"][0]) / tau
    big = unrolled.ista_sparse_coding(D, y, lam_big, num_iters=100, x_ref=z_star)
    facts["big_threshold"] = (lam_big, float(big.history["nmse"][-1]),
                              float(np.mean(np.count_nonzero(big.x_hat, axis=1))),
                              float(np.mean(np.count_nonzero(z_star, axis=1))))
    return facts


def _db(value: float) -> float:
    return float(10 * np.log10(value))


@answer_check("4.3")
def check_lista_worth(ista_iterations):
    """Judge exercise 4.3: a prediction of the ISTA iterations worth 16 LISTA layers.

    Parameters
    ----------
    ista_iterations : int or float
        The predicted number of ISTA iterations (at least 1).

    Returns
    -------
    bool
        True within a factor 2 of the count measured here (the shipped LISTA-16 on the
        500 held-out signals); prints the measured counts and why. Never raises.
    """
    if isinstance(ista_iterations, (int, float, np.integer, np.floating)) \
            and not isinstance(ista_iterations, bool) and ista_iterations < 1:
        raise CheckFailure(f"a number of iterations is at least 1, got {ista_iterations!r}.")
    f = _lista_facts()
    k, k_fista = f["ista_to_match"], f["fista_to_match"]
    why = (f"The 16 learned layers reach {_db(f['nmse'][16]):.1f} dB of error to z*, where "
           f"16 ISTA iterations are at {_db(f['ista16']):.1f} dB; ISTA needs {k} "
           f"iterations and FISTA {k_fista} to get there. A layer costs about as much as "
           f"an iteration, so training bought a factor of about {k / 16:.0f} over ISTA: "
           "W_e, S and the decreasing thresholds are fitted to this dictionary and to "
           "codes like these, which ISTA's fixed, worst-case step cannot exploit.")
    return judge_number(ista_iterations, float(k), why=why, factor=2.0,
                        what="your prediction", fmt=".0f")


@answer_check("4.4")
def check_threshold_reading(reading):
    """Judge exercise 4.4: the letter of the statement the learned thresholds support.

    Parameters
    ----------
    reading : str
        One of ``"a"``, ``"b"``, ``"c"``, ``"d"``.

    Returns
    -------
    bool
        True for the statement the thresholds of the shipped LISTA-16 support (read
        here); prints why, and what a wrong letter misreads. Never raises.
    """
    f = _lista_facts()
    theta, tau_lam = f["theta"], f["tau"] * f["lam"]
    first, last = theta[0] / tau_lam, theta[-1] / tau_lam
    decreasing = bool(np.all(np.diff(theta) < 0))
    lam_big, err_big, nnz_big, nnz_star = f["big_threshold"]
    depth = ", ".join(f"T = {T}: {_db(e):.1f} dB" for T, e in f["nmse"].items())
    facts = (f"θ_1 is {first:.0f} times τλ and θ_16 {last:.1f} times"
             + (", decreasing at every layer." if decreasing else "."))
    options = {
        "a": (False,
              f"a fixed λ does not describe LISTA: its W_e and S are learned too, and its "
              f"thresholds change with the layer. {facts} The training target is z*, and "
              f"the 16-layer network's error to it is {_db(f['nmse'][16]):.1f} dB, so its "
              f"codes are not those of a larger λ. ISTA with LISTA's first threshold at "
              f"every iteration (λ = {lam_big:.2f}) would keep {nnz_big:.0f} non-zeros "
              f"instead of z*'s {nnz_star:.0f} and stay at {_db(err_big):.1f} dB from z*."),
        "b": (first > 3 and last < first / 3,
              f"{facts} The first layers zero everything but the largest coefficients, "
              "which are the most likely to be in the support; the later, smaller "
              "thresholds let the smaller ones in and refine the values. It is the "
              "continuation idea (start with a large threshold, lower it) that ISTA, with "
              "its single τλ, cannot follow; LISTA learned the schedule from data."
              if first > 3 and last < first / 3 else
              f"the shipped network's thresholds do not show that: {facts}"),
        "c": (False,
              f"small thresholds do not mean idle layers: the late layers refine the "
              f"values of the coefficients that survived. Depth keeps paying — the shipped "
              f"networks reach {depth} of error to z*."),
        "d": (False,
              f"the thresholds are learned, not noise estimates: the noise σ = 0.01 is the "
              f"same in every layer while θ_t falls by a factor {first / last:.0f}. What "
              "changes from layer to layer is how much of the code is already right, not "
              "the noise in y."),
    }
    return judge_choice(reading, options)


def _lambda_errors() -> dict:
    """``λ -> (FISTA, ISTA) NMSE in dB to the true codes after 512 iterations``, on the
    widget's 100 held-out signals, for every λ of the widget's slider (the widget's own
    computation, cached: free once the slider has visited every λ)."""
    from ..widgets.nb04 import LAMS, sparse_coding_curves

    out = {}
    for lam in LAMS:
        curves = sparse_coding_curves(lam)
        out[float(lam)] = (_db(curves["fista"][-1]), _db(curves["ista"][-1]))
    return out


@answer_check("4.5")
def check_best_lambda(best_lam):
    """Judge exercise 4.5: the λ of the widget's slider for which FISTA, after 512
    iterations, comes closest to the true codes.

    Parameters
    ----------
    best_lam : float
        One of the slider's values (:data:`course_utils.widgets.nb04.LAMS`).

    Returns
    -------
    bool
        True when ``best_lam`` is within 0.5 dB of the best λ (recomputed here); prints
        both and why. Never raises.
    """
    errors = _lambda_errors()
    fista = {lam: e[0] for lam, e in errors.items()}
    best = min(fista, key=fista.get)
    ista = {lam: e[1] for lam, e in errors.items()}
    ista_best = min(ista, key=ista.get)
    why = (f"Too small a λ lets noise and spurious atoms in (at λ = 0 there is no "
           f"sparsity at all: {fista[0.0]:.1f} dB, a dense least-squares code); too large a "
           f"λ shrinks every coefficient and drops small ones (λ = {max(fista):g}: "
           f"{fista[max(fista)]:.1f} dB). FISTA has practically converged after 512 iterations, so its "
           f"error is the LASSO's, best at λ = {best:g}. ISTA, still far from converged at "
           f"small λ, prefers λ = {ista_best:g} ({ista[ista_best]:.1f} dB; at λ = {best:g} "
           f"it is at {ista[best]:.1f} dB): the best λ depends on the iteration budget "
           "too.")
    return judge_best(best_lam, fista, why=why, what="your λ", higher_is_better=False,
                      tolerance=0.5, unit=" dB", fmt=".4g")
