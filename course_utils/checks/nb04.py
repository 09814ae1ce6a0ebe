"""Self-checks for notebook 04 (unrolled optimisation): one ISTA step, one LISTA layer."""
from __future__ import annotations

import numpy as np

from ..unrolled import ista_step as _ista_step
from ..unrolled import lista_layer as _lista_layer
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_sparse_ista_step", "check_lista_layer"]

HINTS = {
    "4.1": "v = x - tau * D.T @ (D @ x - y); return np.sign(v) * np.maximum(np.abs(v) - "
           "tau * lam, 0).",
    "4.2": "v = W_e @ y + S @ z; return np.sign(v) * np.maximum(np.abs(v) - theta, 0).",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


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
