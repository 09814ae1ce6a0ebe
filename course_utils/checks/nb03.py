"""Self-checks for notebook 03 (plug-and-play priors)."""
from __future__ import annotations

import numpy as np

from ..operators.basic import Blur
from ..pnp import admm_iteration, dpir_schedule, fft_data_step
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_fft_data_step", "check_admm_iteration", "check_dpir_schedule"]

HINTS = {
    "3.1": "in Fourier the normal equations are diagonal: x = ifft2((conj(h) * fft2(y) + "
           "beta * fft2(z)) / (abs(h)**2 + beta)), then take the real part.",
    "3.2": "x = data_step(v - u, beta); v_new = denoiser(x + u, sigma); "
           "u_new = u + x - v_new; return x, v_new, u_new.",
    "3.3": "sigmas = np.geomspace(sigma_start, sigma_n, num_iters); "
           "betas = lam * sigma_n**2 / sigmas**2.",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


def _fft_problem(shape=(16, 16), seed=0):
    """A blur with an asymmetric kernel (complex eigenvalues), so that forgetting the
    conjugate shows."""
    rng = np.random.default_rng(seed)
    kernel = rng.random((5, 5)) ** 2
    A = Blur(shape, kernel / kernel.sum())
    return A, rng.standard_normal(shape), rng.standard_normal(shape)


def _fft_advice(exc):
    text = str(exc)
    if "complex" in text and ("cast" in text or "real" in text):
        return ("The inverse FFT returns a complex array with a tiny imaginary part: return "
                "np.real(...) of it.")
    return None


@exercise_check("3.1", advice=_fft_advice,
                success="your data step solves (AᵀA + βI) x = Aᵀy + βz to round-off, for "
                        "every β.")
def check_fft_data_step(fft_data_step_fn) -> str | None:
    """Check ``fft_data_step(eigenvalues, y, z, beta) -> x`` for a circular blur.

    Parameters
    ----------
    fft_data_step_fn : callable
        The student's function: ``eigenvalues`` (M, N) complex (``Blur.eigenvalues``),
        ``y`` and ``z`` real (M, N), ``beta > 0``; returns the real ``x`` (M, N) that
        minimises ``½‖h ∗ x − y‖² + β/2 ‖x − z‖²``.

    Returns
    -------
    bool
        True when ``x`` matches the reference for β = 0.05, 1 and 20 (prints what is
        wrong otherwise; never raises).
    """
    A, y, z = _fft_problem()
    eig = A.eigenvalues
    for beta in (1.0, 0.05, 20.0):
        out = call_student(fft_data_step_fn, eig.copy(), y.copy(), z.copy(), beta,
                           called_with=f"beta = {beta} on a 16 x 16 blur")
        x = as_result(out, shape=(16, 16), what=f"fft_data_step(..., beta={beta})")
        reference = fft_data_step(eig, y, z, beta)
        if matches(x, reference, 1e-8):
            continue
        fy, fz = np.fft.fft2(y), np.fft.fft2(z)

        def real_ifft(num, den):
            return np.real(np.fft.ifft2(num / den))

        power = np.abs(eig) ** 2
        if matches(x, real_ifft(eig * fy + beta * fz, power + beta), 1e-8):
            raise CheckFailure("Aᵀ in Fourier multiplies by the complex conjugate of the "
                               "eigenvalues: use np.conj(h) * fft2(y), not h * fft2(y) "
                               "(this kernel is not symmetric, so it matters).")
        if matches(x, real_ifft(np.conj(eig) * fy, power + beta), 1e-8):
            raise CheckFailure("the pull towards z is missing: the right-hand side is "
                               "Aᵀy + βz, i.e. conj(h) * fft2(y) + beta * fft2(z).")
        if matches(x, real_ifft(np.conj(eig) * fy + beta * fz, np.abs(eig) + beta), 1e-8):
            raise CheckFailure("the denominator is |h|² + β (AᵀA has eigenvalues |h|²), "
                               "not |h| + β.")
        if matches(x, real_ifft(np.conj(eig) * fy + fz, power + beta), 1e-8):
            raise CheckFailure("multiply fft2(z) by beta: the right-hand side is Aᵀy + βz.")
        if matches(x, real_ifft(np.conj(eig) * fy + beta * fz, power + 1.0), 1e-8) \
                and beta != 1.0:
            raise CheckFailure("the denominator must use beta: |h|² + β, not |h|² + 1.")
        lhs = A.adjoint(A(x)) + beta * x
        rhs = A.adjoint(y) + beta * z
        raise CheckFailure(
            f"for beta = {beta} your x does not solve (AᵀA + βI) x = Aᵀy + βz: relative "
            f"residual {rel_error(lhs, rhs):.1e} (should be ~1e-15); it is "
            f"{rel_error(x, reference):.1e} away from the solution.")
    return None


def _linear_denoiser(x, sigma):
    """A linear shrinkage towards 0.5, so every intermediate value is predictable."""
    return 0.5 + (np.asarray(x) - 0.5) / (1.0 + sigma)


def _admm_advice(exc):
    text = str(exc)
    if "unpack" in text or "not iterable" in text:
        return "return three arrays, in this order: return x, v_new, u_new."
    return None


@exercise_check("3.2", advice=_admm_advice,
                success="data step, denoising step and dual update are all right.")
def check_admm_iteration(admm_iteration_fn) -> str | None:
    """Check ``admm_iteration(data_step, denoiser, v, u, beta, sigma) -> (x, v, u)``.

    Parameters
    ----------
    admm_iteration_fn : callable
        The student's function: one PnP-ADMM iteration in scaled form; ``data_step(z,
        beta)`` and ``denoiser(x, sigma)`` are callables, ``v`` and ``u`` arrays.

    Returns
    -------
    bool
        True when three consecutive iterations match the reference (prints what is
        wrong otherwise; never raises).
    """
    from ..pnp import make_data_step

    A, y, _ = _fft_problem(seed=1)
    step = make_data_step(A, y)
    beta, sigma = 0.4, 0.3
    rng = np.random.default_rng(2)
    v, u = rng.random((16, 16)), 0.1 * rng.standard_normal((16, 16))
    for k in range(3):
        out = call_student(admm_iteration_fn, step, _linear_denoiser, v.copy(), u.copy(),
                           beta, sigma, called_with=f"iteration {k + 1}")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            got = (f"a {type(out).__name__} of length {len(out)}"
                   if isinstance(out, (tuple, list)) else f"a {type(out).__name__}")
            raise CheckFailure(f"return the three arrays (x, v_new, u_new); got {got}.")
        x_s, v_s, u_s = (as_result(o, shape=(16, 16), what=f"admm_iteration(...)[{i}]")
                         for i, o in enumerate(out))
        x_r, v_r, u_r = admm_iteration(step, _linear_denoiser, v, u, beta, sigma)
        if not matches(x_s, x_r, 1e-8):
            if matches(x_s, step(v, beta), 1e-8):
                raise CheckFailure("the data step must be pulled towards v − u (the dual "
                                   "variable corrects the target), not towards v.")
            if matches(x_s, step(v + u, beta), 1e-8):
                raise CheckFailure("sign error in the data step: it is pulled towards v − u.")
            raise CheckFailure(f"x differs from data_step(v - u, beta) by "
                               f"{rel_error(x_s, x_r):.1e} (relative).")
        if not matches(v_s, v_r, 1e-8):
            if matches(v_s, _linear_denoiser(x_r, sigma), 1e-8):
                raise CheckFailure("denoise x + u, not x: the denoiser also sees the dual "
                                   "variable.")
            if matches(v_s, _linear_denoiser(x_r - u, sigma), 1e-8):
                raise CheckFailure("sign error: the denoiser input is x + u.")
            raise CheckFailure(f"v_new differs from denoiser(x + u, sigma) by "
                               f"{rel_error(v_s, v_r):.1e} (relative).")
        if not matches(u_s, u_r, 1e-8):
            if matches(u_s, u - x_r + v_r, 1e-8):
                raise CheckFailure("sign error in the dual update: u_new = u + x − v_new "
                                   "(it accumulates the residual x − v).")
            if matches(u_s, u + x_r - v, 1e-8):
                raise CheckFailure("the dual update uses the new v: u_new = u + x − v_new, "
                                   "not u + x − v (the v you were given).")
            if matches(u_s, x_r - v_r, 1e-8):
                raise CheckFailure("the dual variable accumulates: u_new = u + (x − v_new); "
                                   "you dropped the old u.")
            if matches(u_s, u, 1e-12):
                raise CheckFailure("u was not updated: that is HQS. ADMM adds the residual, "
                                   "u_new = u + x − v_new.")
            raise CheckFailure(f"u_new differs from u + x − v_new by {rel_error(u_s, u_r):.1e} "
                               "(relative).")
        v, u = v_r, u_r
    return None


@exercise_check("3.3", success="geometric decay of σ and the matching growth of β, as in DPIR.")
def check_dpir_schedule(schedule_fn) -> str | None:
    """Check ``schedule(num_iters, sigma_n, lam, sigma_start) -> (sigmas, betas)``.

    Parameters
    ----------
    schedule_fn : callable
        The student's function: ``sigmas`` decays geometrically from ``sigma_start`` to
        ``sigma_n`` over ``num_iters`` values and ``betas = lam * sigma_n**2 / sigmas**2``.

    Returns
    -------
    bool
        True when both arrays match the reference for two settings.
    """
    for num_iters, sigma_n, lam, sigma_start in ((8, 0.02, 0.23, 49 / 255), (5, 0.05, 0.5, 0.3)):
        out = call_student(schedule_fn, num_iters, sigma_n, lam, sigma_start,
                           called_with=f"num_iters={num_iters}, sigma_n={sigma_n}, "
                                       f"lam={lam}, sigma_start={sigma_start:.3g}")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise CheckFailure("return two arrays: (sigmas, betas).")
        sigmas = as_result(out[0], shape=(num_iters,), what="sigmas")
        betas = as_result(out[1], shape=(num_iters,), what="betas")
        ref_s, ref_b = dpir_schedule(num_iters, sigma_n, lam=lam, sigma_start=sigma_start)
        if not matches(sigmas, ref_s, 1e-8):
            if matches(sigmas, np.linspace(sigma_start, sigma_n, num_iters), 1e-8):
                raise CheckFailure("your sigmas decrease linearly; DPIR decays them "
                                   "geometrically (constant ratio): np.geomspace.")
            if matches(sigmas, ref_s[::-1], 1e-8):
                raise CheckFailure("your sigmas increase: start large (sigma_start) and end "
                                   "at the noise level sigma_n.")
            raise CheckFailure(f"sigmas differ from the geometric schedule by "
                               f"{rel_error(sigmas, ref_s):.1e} (relative); expected "
                               f"{np.array2string(ref_s, precision=4)}.")
        if not matches(betas, ref_b, 1e-8):
            if matches(betas, ref_s ** 2 / (lam * sigma_n ** 2), 1e-8):
                raise CheckFailure("betas are inverted: β = lam σ_n² / σ², so β grows as "
                                   "σ decays.")
            if matches(betas, lam * sigma_n / ref_s, 1e-8) or matches(betas, lam / ref_s ** 2,
                                                                      1e-8):
                raise CheckFailure("β = lam · σ_n² / σ_k²: both noise levels are squared "
                                   "(variances).")
            raise CheckFailure(f"betas differ from lam * sigma_n**2 / sigmas**2 by "
                               f"{rel_error(betas, ref_b):.1e} (relative).")
    return None
