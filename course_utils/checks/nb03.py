"""Self-checks for notebook 03 (plug-and-play priors)."""
from __future__ import annotations

import functools

import numpy as np

from ..operators.basic import Blur
from ..pnp import admm_iteration, dpir_schedule, fft_data_step
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, matches, register_exercise, rel_error)

__all__ = ["check_fft_data_step", "check_admm_iteration", "check_dpir_schedule",
           "check_schedule_reading", "check_least_gain", "check_best_beta"]

register_exercise(
    "3.1", "implement",
    task="Write fft_data_step(eigenvalues, y, z, beta) returning the real image x that "
         "minimises ½‖h ∗ x − y‖² + β/2 ‖x − z‖² for the circular blur whose 2-D DFT is "
         "eigenvalues.",
    hints=["Write the normal equations (AᵀA + βI) x = Aᵀy + βz and ask what each matrix "
           "becomes in the Fourier domain.",
           "A multiplies each Fourier coefficient by h; Aᵀ multiplies it by the complex "
           "conjugate of h, so AᵀA multiplies it by |h|². The system is then solved by one "
           "division per frequency.",
           "Numerator conj(h)·fft2(y) + β·fft2(z), denominator |h|² + β; come back with "
           "ifft2 and keep the real part."])
register_exercise(
    "3.2", "implement",
    task="Write admm_iteration(data_step, denoiser, v, u, beta, sigma) performing one "
         "PnP-ADMM iteration in scaled form and returning (x, v_new, u_new).",
    hints=["There are three updates, in the order of the equations above: the data step, "
           "the denoiser, the dual variable.",
           "The data step is pulled towards v corrected by the dual variable, and the "
           "denoiser sees x corrected by it too; the signs are opposite.",
           "x = data_step(v − u, β); v_new = denoiser(x + u, σ); u_new adds the new "
           "disagreement x − v_new to u."])
register_exercise(
    "3.3", "implement",
    task="Write schedule(num_iters, sigma_n, lam, sigma_start) returning (sigmas, betas): "
         "the DPIR denoiser levels and the penalties that match them.",
    hints=["The levels decay geometrically: a constant ratio between consecutive values, "
           "first sigma_start, last sigma_n.",
           "numpy has a function that spaces values evenly on a log scale between two end "
           "points; β_k comes from σ_k through the formula of section 4.",
           "np.geomspace(sigma_start, sigma_n, num_iters) for the sigmas; the betas are "
           "lam times the noise variance divided by each σ_k²."])
register_exercise(
    "3.4", "interpret",
    task="Read the PSNR-per-iteration curves of the constant levels and of the DPIR "
         "schedule, and set reading to the letter of the statement they support.",
    hints=["Compare the curves at two moments: after 4 iterations and after 12.",
           "Which curve is on top at iteration 4? Which at iteration 12? Does the 40/255 "
           "curve rise or fall?",
           "The schedule is behind the tuned constant for most of the run and ahead of "
           "every constant at the end; pick the statement that says both."])
register_exercise(
    "3.5", "predict",
    task="Before running the table, predict for which task PnP-HQS with the learned "
         "denoiser will gain the fewest dB over its own observation, and set "
         "least_gain to its letter.",
    hints=["The gain is PSNR(reconstruction) − PSNR(observation): think about both "
           "terms, how good the observation already is and how much is left to recover.",
           "Inpainting's observation has 70 % of its pixels at zero; a pixel-replicated "
           "low-resolution image is already a fair, blocky picture.",
           "The task whose observation keeps the fewest measured values per pixel, yet "
           "already looks like a coarse version of the image, leaves the prior the least "
           "to gain."])
register_exercise(
    "3.6", "experiment",
    task="With the widget's update, on deblurring at noise σ_n = 0.05 with the learned "
         "denoiser, find the constant penalty β that gives the best PSNR after the "
         "widget's six iterations, and store it in best_beta.",
    hints=["Call update(sigma_n=0.05, denoiser=\"learned\", task=\"deblur\", beta=...) "
           "for several β and read the \"psnr\" it returns.",
           "Space the β values on a log scale over the slider's range, 1e-4 to 1, e.g. "
           "with np.geomspace, then refine around the best.",
           "Keep the PSNR of each β in a dict and take the β with the largest one: "
           "max(scores, key=scores.get)."])


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


# -- thinking exercises: the truth is computed here, from the library, once per session ------
_SIGMA_N = 0.01          # the notebook's noise level
_LEVELS = (40, 10, 3)    # constant denoiser levels of section 6, in units of 1/255


def _schedule_curves() -> dict:
    """PSNR per iteration of PnP-HQS (learned denoiser, inpainting of the 96 × 96 camera)
    with each constant level of section 6 and with the DPIR schedule, 12 iterations
    (cached by the library: free when the notebook has run the same comparison)."""
    from ..data import load_image
    from ..pnp import schedule_comparison

    result = schedule_comparison(load_image("camera", 96), "inpainting", levels=_LEVELS,
                                 sigma_n=_SIGMA_N, num_iters=12)
    return {**{int(level): curve for level, curve in result["constant"].items()},
            "dpir": result["dpir"]}


@answer_check("3.4")
def check_schedule_reading(reading):
    """Judge exercise 3.4: the letter of the statement the schedule curves support.

    Parameters
    ----------
    reading : str
        One of ``"a"``, ``"b"``, ``"c"``, ``"d"``.

    Returns
    -------
    bool
        True for the statement the curves (recomputed here) support; prints why, and
        for a wrong letter what it misreads. Never raises.
    """
    c = _schedule_curves()
    dpir = c["dpir"]
    constants = np.stack([c[level] for level in _LEVELS])
    best_final = int(np.argmax(constants[:, -1]))
    best_level = _LEVELS[best_final]
    ahead = dpir >= constants.max(axis=0)
    # the first iteration from which the schedule stays ahead of every constant
    behind = np.nonzero(~ahead)[0]
    overtakes = int(behind[-1]) + 2 if behind.size else 1
    ends_on_top = bool(ahead[-1])
    slow_start = bool(dpir[3] < constants[:, 3].max())
    large, small = c[max(_LEVELS)], c[min(_LEVELS)]
    summary = (f"After 4 iterations the schedule is at {dpir[3]:.2f} dB against "
               f"{constants[:, 3].max():.2f} dB for the best constant; after 12 at "
               f"{dpir[-1]:.2f} dB against {constants[:, -1].max():.2f} dB "
               f"(σ = {best_level}/255).")
    options = {
        "a": (not slow_start,
              f"the schedule is not ahead early: it stays below the best constant until "
              f"iteration {overtakes}. {summary} Its first levels are large (49/255) and "
              "over-smooth, as the 40/255 constant does; it gains only once σ has decayed."),
        "b": (slow_start and ends_on_top,
              f"{summary} The large first levels over-smooth, so the schedule starts "
              f"slowly and overtakes every constant only at iteration {overtakes}; it ends "
              "on top because its last levels reach σ_n, and nobody had to tune a constant "
              "σ for this task and this noise."
              if slow_start and ends_on_top else
              f"the curves recomputed here do not show that. {summary}"),
        "c": (bool(large[-1] > large[0] + 0.5),
              f"the {max(_LEVELS)}/255 curve falls from {large[0]:.2f} to {large[-1]:.2f} "
              "dB: with a constant small β the iteration settles at the fixed point of a "
              "problem whose prior is too strong, and more iterations only get closer to "
              "that over-smoothed image."),
        "d": (bool(small[-1] >= constants[:, -1].max()),
              f"the smallest level, {min(_LEVELS)}/255, ends at {small[-1]:.2f} dB, below "
              f"{best_level}/255 at {constants[best_final, -1]:.2f} dB: with a weak "
              "denoiser (large β) each iteration moves the holes only a little from their "
              "initial fill, so it improves slowly."),
    }
    return judge_choice(reading, options)


@functools.lru_cache(maxsize=1)
def _task_gains() -> dict:
    """``task -> (PSNR of the observation, PSNR of PnP-HQS learned)`` for the table of
    section 8 (96 × 96 camera, σ_n = 0.01, 8 iterations)."""
    from ..data import load_image
    from ..pnp import TASK_NAMES, run_benchmark_table

    table = run_benchmark_table(load_image("camera", 96), denoisers=("learned",),
                                tasks=TASK_NAMES, sigma_n=_SIGMA_N, num_iters=8)
    rows = {row[0]: row for row in table["rows"]}
    observation = next(row for name, row in rows.items() if "observation" in name)
    learned = next(row for name, row in rows.items() if "learned" in name)
    return {task: (float(observation[1 + 3 * k]), float(learned[1 + 3 * k]))
            for k, task in enumerate(TASK_NAMES)}


_TASK_LETTERS = {"a": "deblur", "b": "inpainting", "c": "sr2", "d": "sr4"}
_TASK_LABELS = {"deblur": "deblurring", "inpainting": "inpainting",
                "sr2": "×2 super-resolution", "sr4": "×4 super-resolution"}
_TASK_REASONS = {
    "deblur": "A Gaussian blur attenuates the high frequencies without destroying all of "
              "them, so the data step recovers much of the detail and the prior mainly "
              "removes noise and ringing.",
    "inpainting": "Its observation has 70 % of its pixels at zero, a very low baseline; the "
                  "30 % observed pixels are exact (up to noise) and spread over the whole "
                  "image, so the prior can fill the holes from close neighbours.",
    "sr2": "Three of every four values are unknown, but each known block average pins "
           "down a 2 × 2 patch; the pixel-replicated observation is already close.",
    "sr4": "Fifteen of every sixteen values are unknown and the pixel-replicated "
           "observation is already a fair coarse picture; the prior can only guess "
           "plausible detail inside each 4 × 4 block, and guesses score little in PSNR.",
}


@answer_check("3.5")
def check_least_gain(least_gain):
    """Judge exercise 3.5: the task on which PnP-HQS (learned) gains the fewest dB.

    Parameters
    ----------
    least_gain : str
        ``"a"`` deblurring, ``"b"`` inpainting, ``"c"`` ×2 or ``"d"`` ×4
        super-resolution.

    Returns
    -------
    bool
        True for the task with the smallest gain in the table (recomputed here); prints
        the gains and why. Never raises.
    """
    gains = {task: rec - obs for task, (obs, rec) in _task_gains().items()}
    least = min(gains, key=gains.get)
    ranking = ", ".join(f"{_TASK_LABELS[t]} {gains[t]:+.2f} dB"
                        for t in sorted(gains, key=gains.get))
    options = {}
    for letter, task in _TASK_LETTERS.items():
        obs, rec = _task_gains()[task]
        head = (f"{_TASK_LABELS[task]} goes from {obs:.2f} to {rec:.2f} dB, a gain of "
                f"{gains[task]:.2f} dB")
        if task == least:
            text = f"{head}, the smallest of the four. {_TASK_REASONS[task]}"
        else:
            text = (f"{head}; the smallest gain is {_TASK_LABELS[least]}'s "
                    f"({gains[least]:.2f} dB). {_TASK_REASONS[task]}")
        options[letter] = (task == least, f"{text} (Gains, smallest first: {ranking}.)")
    return judge_choice(least_gain, options)


_BETA_GRID = tuple(float(b) for b in np.geomspace(1e-4, 1.0, 13))
_EXPERIMENT = {"sigma_n": 0.05, "denoiser": "learned", "task": "deblur"}


@functools.lru_cache(maxsize=1)
def _beta_scores() -> dict:
    """PSNR of the widget's computation (six HQS iterations at constant β) for every β of
    a third-of-a-decade grid over the slider's range (the widget's computation, cached)."""
    from ..widgets.nb03 import constant_beta_run

    return {beta: (run["psnr"], run["sigma_d"])
            for beta, run in ((b, constant_beta_run(beta=b, **_EXPERIMENT))
                              for b in _BETA_GRID)}


@answer_check("3.6")
def check_best_beta(best_beta):
    """Judge exercise 3.6: the constant β with the best PSNR in the widget (deblurring,
    σ_n = 0.05, learned denoiser).

    Parameters
    ----------
    best_beta : float
        A penalty in the slider's range [1e-4, 1].

    Returns
    -------
    bool
        True when ``best_beta`` scores within 0.3 dB of the best β of a
        grid (a third of a decade apart, recomputed here); prints both and why. Never
        raises.
    """
    table = _beta_scores()
    scores = {beta: p for beta, (p, _) in table.items()}
    best = max(scores, key=scores.get)
    sigma_best = table[best][1]
    sigma_n = _EXPERIMENT["sigma_n"]
    value = float(best_beta) if isinstance(best_beta, (int, float, np.integer, np.floating)) \
        and not isinstance(best_beta, bool) else None
    if value is not None and np.isfinite(value) and value < best / 3:
        from ..pnp import DPIR_LAM

        cap = DPIR_LAM * sigma_n ** 2 / (55 / 255) ** 2
        direction = ("Your β is too small: the denoiser gets a level σ_d = √(λσ_n²/β) far "
                     f"above the noise and smooths away edges (below β ≈ {cap:.3f} the "
                     "learned denoiser is even capped at 55/255, the top of its training "
                     "range). ")
    elif value is not None and np.isfinite(value) and value > best * 3:
        direction = ("Your β is too large: the data step trusts the blurred, noisy data and "
                     "the denoiser, at a level below the noise, removes too little of the "
                     "noise that deblurring amplified. ")
    else:
        direction = ""
    why = (f"{direction}At the best β the denoiser works at σ_d = {sigma_best:.3f}, "
           f"{sigma_best / sigma_n:.1f} times the noise σ_n = {sigma_n}: with a constant β "
           "and only six iterations it must also remove the noise that the inversion of "
           "the blur amplifies, so the best level sits above σ_n.")
    return judge_best(best_beta, scores, why=why, what="your β", tolerance=0.3, unit=" dB",
                      fmt=".4g")
