"""Self-checks for notebook 02 (regularisers: Tikhonov, TV, wavelet sparsity)."""
from __future__ import annotations

import numpy as np

from ..operators.base import MatrixOperator
from ..operators.basic import Gradient
from ..priors import soft_threshold as _soft_threshold
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_tikhonov_fft", "check_gradient_adjoint", "check_soft_threshold",
           "check_ista_step"]

HINTS = {
    "2.1": "transform y with np.fft.fft2, multiply by np.conj(eigenvalues), divide by "
           "|eigenvalues|^2 + lam, transform back with np.fft.ifft2 and keep the real part.",
    "2.2": "undo each forward difference: the entry p[0, i, j] (i < M-1) is subtracted at "
           "(i, j) and added at (i+1, j); the same along columns with p[1].",
    "2.3": "entries with |x| <= thresh become 0, the others move towards 0 by thresh "
           "(np.sign, np.abs and np.maximum work element-wise).",
    "2.4": "a gradient step on the data term, z = x - tau * A.adjoint(A(x) - y), then "
           "soft-thresholding with threshold lam * tau.",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


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


@exercise_check("2.2", advice=_gradient_adjoint_advice,
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


@exercise_check("2.3", success="your soft-thresholding is the prox of "
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


@exercise_check("2.4", advice=_ista_advice,
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
