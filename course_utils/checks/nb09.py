"""Self-checks for notebook 09 (invertible networks by lifting): Haar and 5/3 steps, energy, INN, shrinkage, the widget."""
from __future__ import annotations

import numpy as np

from ..inn import shrink_details
from ..lifting import energy_compaction, lift_axis, unlift_axis, wavelet_forward
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, register_exercise)

__all__ = ["check_haar_lifting", "check_legall53_step", "check_energy_prediction",
           "check_inn_reading", "check_shrink_details", "check_best_threshold"]

register_exercise(
    "9.1", "implement",
    task="Write haar_forward(x), which turns a 1-D signal of even length into its Haar "
         "lifting coefficients (s, d), and haar_inverse(s, d), which gives the signal back "
         "exactly.",
    hints=["Split first: the even samples x[0::2] and the odd samples x[1::2]. Haar's "
           "predictor of an odd sample is its left even neighbour.",
           "Forward: the detail is the prediction error of the odd samples, the coarse "
           "sample adds half of it to the even one. Inverse: undo the two steps in reverse "
           "order, then interleave.",
           "d = x_o − x_e; s = x_e + d / 2. Back: x_e = s − d / 2; x_o = d + x_e; "
           "x = np.empty(2 * len(s)); x[0::2] = x_e; x[1::2] = x_o."])

register_exercise(
    "9.2", "implement",
    task="Write legall53_step(x): one LeGall 5/3 predict and update step of a 1-D signal of "
         "even length with periodic boundaries, returning (s, d).",
    hints=["The 5/3 predictor of an odd sample is the mean of its two even neighbours; the "
           "update uses the two detail samples on either side of an even sample.",
           "Periodic boundaries: the right neighbour of the last even sample is the first "
           "one, np.roll(x_e, -1); the left detail of the first even sample is the last "
           "detail, np.roll(d, 1).",
           "d = x_o − (x_e + np.roll(x_e, -1)) / 2; s = x_e + (np.roll(d, 1) + d) / 4."])

register_exercise(
    "9.3", "predict",
    task="Before running the next cell, predict the fraction of the energy of camera "
         "(128×128) that the coarse band of a 4-level Haar transform holds, a number between "
         "0 and 1, and set energy_fraction to it.",
    hints=["The coarse band of 4 levels has (128 / 16)² = 64 coefficients out of 16384: "
           "1/256 of them. Is the energy spread evenly over the coefficients?",
           "The coarse band holds local means over 16×16 blocks, on the orthonormal scale. "
           "The energy of an image with values in [0, 1] is dominated by its mean brightness; "
           "the details are differences between neighbours.",
           "Compare ‖mean · ones‖² with ‖x‖² for a typical photograph: the coarse band keeps "
           "the mean and the slow variations, so expect far more than 1/256, close to 1."])

register_exercise(
    "9.4", "interpret",
    task="Set why_exact to the letter of the statement that explains why the lifting network "
         "with random weights inverts exactly while the auto-encoder of the same size does "
         "not.",
    hints=["Both networks are untrained and have about the same number of weights, and both "
           "codes hold as many numbers as the image has pixels. What is left to tell them "
           "apart?",
           "Look at how the inverse of a lifting step is computed: which values does it feed "
           "to P and U, and does it ever need to invert P or U themselves?",
           "x_e = s − U(d) re-evaluates U on d, which it has; x_o = d + P(x_e) re-evaluates P "
           "on x_e, which it has just recovered. An auto-encoder's decoder has no such "
           "relation to its encoder."])

register_exercise(
    "9.5", "implement",
    task="Write shrink(coeffs, t): soft-threshold every detail band of a wavelet "
         "decomposition [coarse, (H, V, D), ...] at t, leave the coarse band unchanged, and "
         "return a decomposition of the same layout.",
    hints=["Soft thresholding moves each coefficient towards 0 by t and sets to 0 those "
           "smaller than t in magnitude. The coarse band is coeffs[0]; each later item is a "
           "tuple of three bands.",
           "For one band b: np.sign(b) * np.maximum(np.abs(b) − t, 0). Keep the list/tuple "
           "structure: a new list whose first item is the coarse band.",
           "[coeffs[0]] + [tuple(np.sign(b) * np.maximum(np.abs(b) − t, 0) for b in bands) "
           "for bands in coeffs[1:]]."])

register_exercise(
    "9.6", "experiment",
    task="With the widget's update at σ = 25/255 and the 5/3 transform, find the threshold "
         "factor (t / σ, a slider value) that gives the highest PSNR, and set best_factor to "
         "it.",
    hints=["Call update(sigma=25/255, factor=f, transform=\"legall53\") and read "
           "numbers[\"psnr\"]; the slider moves in steps of 0.25 from 0 to 5.",
           "Loop over f = 0, 0.25, …, 5 and keep the factor with the largest PSNR.",
           "best = max(np.arange(0, 5.01, 0.25), key=lambda f: update(sigma=25/255, "
           "factor=float(f), transform=\"legall53\")[\"psnr\"])."])


# -- 9.1 the Haar lifting pair --------------------------------------------------------------
def _pair(value, what):
    if value is None:
        raise CheckFailure(f"{what} returned None: did you forget the `return` statement?")
    if value is Ellipsis:
        raise CheckFailure(f"{what} returned `...`: replace the placeholder by your answer.")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailure(f"{what} must return a pair (s, d), got "
                           f"{type(value).__name__}"
                           + (f" of length {len(value)}" if isinstance(value, (tuple, list))
                              else "") + ".")
    return value


def _diagnose_haar(x, s, d):
    x_e, x_o = x[0::2], x[1::2]
    d_ref, s_ref = x_o - x_e, (x_e + x_o) / 2
    if s.shape != s_ref.shape or d.shape != d_ref.shape:
        return None
    if np.allclose(s, d_ref) and np.allclose(d, s_ref):
        return "you returned (d, s): return the coarse samples first, (s, d)."
    if np.allclose(np.abs(d), np.abs(d_ref) / np.sqrt(2)) and np.allclose(s, s_ref * np.sqrt(2)):
        return ("you returned the orthonormal Haar bands (with √2). The lifting coefficients "
                "are not normalised: d = x_o − x_e and s = x_e + d/2; the notebook rescales "
                "them later.")
    if np.allclose(d, -d_ref):
        return ("your detail has the wrong sign (or even and odd samples are swapped): "
                "d = x_o − P(x_e), the odd sample x[1::2] minus its prediction from x[0::2].")
    if np.allclose(d, d_ref) and np.allclose(s, x_o):
        return ("your coarse sample adds all of d, which just copies x_o. The update adds "
                "half of it, so that s is the pairwise mean.")
    if np.allclose(d, d_ref) and np.allclose(s, x_e):
        return "you left out the update: s = x_e + U(d) with U(d) = d / 2."
    return None


@exercise_check("9.1", success="your Haar lifting pair matches the library and inverts "
                               "exactly.")
def check_haar_lifting(haar_forward, haar_inverse=None) -> str | None:
    """Check ``haar_forward(x) -> (s, d)`` and ``haar_inverse(s, d) -> x`` (1-D Haar
    lifting, ``d = x_o − x_e``, ``s = x_e + d/2``) against
    :func:`course_utils.lifting.lift_axis` and :func:`~course_utils.lifting.unlift_axis`
    with ``scheme="haar"`` on a random signal, and the round trip on a second one."""
    if not callable(haar_inverse):
        raise CheckFailure("pass both functions: check_haar_lifting(haar_forward, "
                           "haar_inverse).")
    rng = np.random.default_rng(91)
    x = rng.standard_normal(16)
    s_ref, d_ref = lift_axis(x, "haar", axis=0)
    s, d = _pair(call_student(haar_forward, x.copy(), called_with="a signal of length 16"),
                 "haar_forward(x)")
    s = as_result(s, what="haar_forward's s")
    d = as_result(d, what="haar_forward's d")
    if s.shape != (8,) or d.shape != (8,):
        raise CheckFailure(f"s and d must each have half the length of x (8), got shapes "
                           f"{s.shape} and {d.shape}.")
    if not (np.allclose(s, s_ref, atol=1e-12) and np.allclose(d, d_ref, atol=1e-12)):
        message = _diagnose_haar(x, s, d)
        if message:
            raise CheckFailure(message)
        raise CheckFailure("haar_forward does not match the library's Haar lifting "
                           f"(largest difference {max(np.abs(s - s_ref).max(), np.abs(d - d_ref).max()):.3g}): "
                           "d = x_o − P(x_e) with P(x_e) = x_e, then s = x_e + U(d).")
    back = as_result(call_student(haar_inverse, s_ref.copy(), d_ref.copy(),
                                  called_with="the library's (s, d) of a length-16 signal"),
                     what="haar_inverse(s, d)")
    if back.shape != x.shape:
        raise CheckFailure(f"haar_inverse must return a signal of length 16, got shape "
                           f"{back.shape}.")
    if not np.allclose(back, x, atol=1e-12):
        ref = unlift_axis(s_ref, d_ref, "haar", axis=0)
        if np.allclose(np.sort(back), np.sort(ref)):
            raise CheckFailure("haar_inverse has the right values in the wrong places: "
                               "interleave them, x[0::2] = x_e and x[1::2] = x_o (not "
                               "concatenate).")
        if np.allclose(back[0::2], x[0::2]):
            raise CheckFailure("the even samples come back, the odd ones do not: x_o = d + "
                               "P(x_e), the detail plus the same prediction as in the "
                               "forward step.")
        raise CheckFailure("haar_inverse(haar_forward(x)) is not x: undo the update first "
                           "(x_e = s − U(d)), then the predict (x_o = d + P(x_e)).")
    y = rng.integers(0, 256, 32).astype(float)
    s2, d2 = _pair(call_student(haar_forward, y.copy(), called_with="a signal of length 32"),
                   "haar_forward(x)")
    again = as_result(call_student(haar_inverse, as_result(s2), as_result(d2),
                                   called_with="your own (s, d) of a length-32 signal"),
                      what="haar_inverse(s, d)")
    if again.shape != y.shape or not np.allclose(again, y, atol=1e-10):
        raise CheckFailure("the round trip fails on a signal of length 32: does your code "
                           "assume a length?")
    return None


# -- 9.2 one 5/3 step ---------------------------------------------------------------------------
def _diagnose_53(x, s, d):
    x_e, x_o = x[0::2], x[1::2]
    right = np.roll(x_e, -1)
    d_ok = x_o - (x_e + right) / 2
    variants = [
        (x_o - (x_e + np.roll(x_e, 1)) / 2, None,
         "your predictor uses the even sample on the left, x_e[n−1]; the neighbours of "
         "x[2n+1] are x[2n] = x_e[n] and x[2n+2] = x_e[n+1]: np.roll(x_e, -1)."),
        (x_o - x_e, None,
         "your predictor is Haar's (the left neighbour only); 5/3 predicts x[2n+1] by the "
         "mean of both even neighbours."),
        (x_o - np.concatenate([(x_e[:-1] + x_e[1:]) / 2, x_e[-1:]]), None,
         "the last prediction is not periodic: its right neighbour is the first even "
         "sample, x_e[0] (np.roll wraps around)."),
        (d_ok, x_e + (d_ok + np.roll(d_ok, -1)) / 4,
         "your update uses d[n] and d[n+1]; the details beside x[2n] are d[n−1] (from "
         "x[2n−1]) and d[n]: np.roll(d, 1)."),
        (d_ok, x_e + (np.roll(d_ok, 1) + d_ok) / 2,
         "your update adds half the sum of the two details; 5/3 adds a quarter, "
         "(d[n−1] + d[n]) / 4, which keeps the mean of the signal."),
        (d_ok, x_e + d_ok / 2,
         "your update is Haar's (d/2); 5/3 uses both neighbouring details, "
         "(d[n−1] + d[n]) / 4."),
        (d_ok, x_e,
         "you left out the update: s = x_e + U(d)."),
    ]
    for d_ref, s_ref, message in variants:
        if np.allclose(d, d_ref) and (s_ref is None or np.allclose(s, s_ref)):
            return message
    if np.allclose(d, -d_ok):
        return "your detail has the wrong sign: d = x_o − P(x_e)."
    return None


@exercise_check("9.2", success="your 5/3 predict and update step matches the library.")
def check_legall53_step(step_fn) -> str | None:
    """Check ``step_fn(x) -> (s, d)``, one LeGall 5/3 lifting step of a 1-D periodic signal
    (``d = x_o − (x_e + x_e[n+1]) / 2``, ``s = x_e + (d[n−1] + d[n]) / 4``), against
    :func:`course_utils.lifting.lift_axis` with ``scheme="legall53"`` on a random signal
    and a ramp (whose interior details are zero)."""
    rng = np.random.default_rng(92)
    for x, label in ((rng.standard_normal(20), "a random signal of length 20"),
                     (np.arange(12.0), "the ramp 0, 1, …, 11")):
        s_ref, d_ref = lift_axis(x, "legall53", axis=0)
        s, d = _pair(call_student(step_fn, x.copy(), called_with=label), "legall53_step(x)")
        s = as_result(s, what="legall53_step's s")
        d = as_result(d, what="legall53_step's d")
        if s.shape != s_ref.shape or d.shape != d_ref.shape:
            raise CheckFailure(f"for {label}, s and d must each have length {s_ref.size}, "
                               f"got shapes {s.shape} and {d.shape}.")
        if np.allclose(s, s_ref, atol=1e-12) and np.allclose(d, d_ref, atol=1e-12):
            continue
        if np.allclose(s, d_ref) and np.allclose(d, s_ref):
            raise CheckFailure("you returned (d, s): return the coarse samples first.")
        message = _diagnose_53(x, s, d)
        if message:
            raise CheckFailure(message)
        raise CheckFailure(f"for {label} your step differs from the library's (largest "
                           f"difference {max(np.abs(s - s_ref).max(), np.abs(d - d_ref).max()):.3g}).")
    return "On the ramp every detail but the wrap-around one is 0: 5/3 predicts linear " \
           "signals exactly."


# -- 9.3 predict the energy of the coarse band -----------------------------------------------------
def _energy_facts():
    from ..data import load_image

    x = load_image("camera", 128)
    coeffs = wavelet_forward(x, "haar", 4)
    fraction = energy_compaction(coeffs)
    mean_part = float(x.mean() ** 2 * x.size / np.sum(x ** 2))
    return fraction, mean_part, coeffs[0].size, x.size


@answer_check("9.3")
def check_energy_prediction(answer):
    """Judge the predicted fraction of camera's energy (128², 4-level Haar) in the coarse
    band against :func:`course_utils.lifting.energy_compaction` (within 0.05)."""
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer,
                                                                       np.floating)):
        raise CheckFailure(f"energy_fraction must be a number between 0 and 1, got "
                           f"{type(answer).__name__} {answer!r}.")
    if not 0 <= float(answer) <= 1:
        raise CheckFailure(f"energy_fraction is a fraction, between 0 and 1, got {answer!r}.")
    fraction, mean_part, n_coarse, n = _energy_facts()
    why = (f"The coarse band holds {n_coarse} of the {n} coefficients (1/{n // n_coarse}), yet "
           f"{fraction:.1%} of the energy: the mean brightness alone accounts for "
           f"{mean_part:.1%} of ‖x‖², and the coarse band keeps it with the slow variations. "
           "The details are differences of neighbouring values, small almost everywhere "
           "except at edges.")
    if float(answer) <= 2.0 / (n // n_coarse):
        why += " A share proportional to the number of coefficients would be right for " \
               "white noise, not for an image."
    return judge_number(answer, fraction, why=why, abs_tol=0.05, fmt=".3f")


# -- 9.4 why the INN inverts ----------------------------------------------------------------------
@answer_check("9.4")
def check_inn_reading(answer):
    """Judge why the random-weight lifting INN inverts exactly and the auto-encoder does not
    (a multiple choice); sizes and errors are recomputed with
    :func:`course_utils.inn.reconstruction_errors`."""
    from ..data import load_image
    from ..inn import reconstruction_errors

    r = reconstruction_errors(load_image("camera", 64), levels=2)
    facts = (f"Here the INN has {r['inn_params']:,} weights and the auto-encoder "
             f"{r['ae_params']:,}; both codes hold {r['inn_code_size']:,} numbers for "
             f"{64 * 64:,} pixels; the round-trip errors are {r['inn_error']:.1e} and "
             f"{r['ae_error']:.2f}.")
    options = {
        "a": (False, "the sizes are the same by construction, so size cannot be the reason. "
                     + facts),
        "b": (True, "the inverse of a lifting step re-evaluates the same P and U on values it "
                    "already has (U on the stored d, P on the recovered x_e) and subtracts "
                    "what the forward step added; P and U are never inverted, so any "
                    "weights, even random ones, give back x up to round-off. " + facts),
        "c": (False, "the auto-encoder's code is as large as the image, so nothing has to be "
                     "lost; its decoder is simply unrelated to its encoder. " + facts),
        "d": (False, "neither network was trained: both have random weights. Exactness "
                     "comes from the structure, not from training. " + facts),
    }
    return judge_choice(answer, options)


# -- 9.5 the detail shrinkage -----------------------------------------------------------------------
def _layout(value, like):
    if value is None:
        raise CheckFailure("shrink returned None: did you forget the `return` statement?")
    if value is Ellipsis:
        raise CheckFailure("shrink returned `...`: replace the placeholder by your answer.")
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)) \
            or len(value) != len(like):
        raise CheckFailure(f"return a list like the input: the coarse band, then one tuple of "
                           f"three bands per level ({len(like)} items), got "
                           f"{type(value).__name__}.")
    out = [as_result(value[0], shape=like[0].shape, what="the coarse band you returned")]
    for j, (bands, ref) in enumerate(zip(value[1:], like[1:]), start=1):
        if isinstance(bands, np.ndarray) or not isinstance(bands, (list, tuple)) \
                or len(bands) != 3:
            raise CheckFailure(f"item {j} of your result must be a tuple of three bands "
                               f"(H, V, D).")
        out.append(tuple(as_result(b, shape=r.shape, what=f"band {k} of level item {j}")
                         for k, (b, r) in enumerate(zip(bands, ref))))
    return out


def _flat(coeffs):
    return np.concatenate([np.ravel(coeffs[0])] + [np.ravel(b) for bands in coeffs[1:]
                                                    for b in bands])


@exercise_check("9.5", success="your shrinkage matches the library's: details soft-"
                               "thresholded, the coarse band untouched.")
def check_shrink_details(shrink_fn) -> str | None:
    """Check ``shrink_fn(coeffs, t)`` against :func:`course_utils.inn.shrink_details` on a
    random two-level decomposition, and that ``coeffs`` is not modified."""
    rng = np.random.default_rng(95)
    coeffs = [rng.standard_normal((4, 4)) + 3.0,
              tuple(rng.standard_normal((4, 4)) for _ in range(3)),
              tuple(rng.standard_normal((8, 8)) for _ in range(3))]
    t = 0.7
    saved = [coeffs[0].copy()] + [tuple(b.copy() for b in bands) for bands in coeffs[1:]]
    got = _layout(call_student(shrink_fn, coeffs, t,
                               called_with="a 2-level decomposition and t = 0.7"), saved)
    if not np.array_equal(_flat(coeffs), _flat(saved)):
        raise CheckFailure("your function changed the input coefficients in place: build new "
                           "arrays, the caller may still need the noisy ones.")
    ref = shrink_details(saved, t)
    if np.allclose(_flat(got), _flat(ref), atol=1e-12):
        return None
    details_got, details_ref = _flat([np.zeros(0)] + got[1:]), _flat([np.zeros(0)] + ref[1:])
    raw = _flat([np.zeros(0)] + saved[1:])
    coarse_ok = np.allclose(got[0], saved[0])
    if not coarse_ok and np.allclose(got[0], np.sign(saved[0]) * np.maximum(
            np.abs(saved[0]) - t, 0)):
        raise CheckFailure("you thresholded the coarse band too: it carries the image's "
                           "local means, not noise-sized details, and must pass unchanged.")
    if not coarse_ok:
        raise CheckFailure("the coarse band must be returned unchanged.")
    if np.allclose(details_got, np.where(np.abs(raw) > t, raw, 0.0)):
        raise CheckFailure("you used hard thresholding (keep or kill); soft thresholding "
                           "also moves the surviving coefficients towards 0 by t.")
    if np.allclose(details_got, np.maximum(raw - t, 0.0)):
        raise CheckFailure("negative coefficients must shrink towards 0 too: use the sign "
                           "and the magnitude, sign(c) · max(|c| − t, 0).")
    if np.allclose(details_got, np.sign(raw) * np.maximum(np.abs(raw) - t / 2, 0.0)) or \
            np.allclose(details_got, np.sign(raw) * np.maximum(np.abs(raw) - 2 * t, 0.0)):
        raise CheckFailure("your threshold is off by a factor 2: shrink by t itself.")
    if np.allclose(details_got, raw):
        raise CheckFailure("the detail bands came back unchanged: threshold each of them.")
    wrong = int(np.sum(~np.isclose(details_got, details_ref)))
    raise CheckFailure(f"{wrong} detail coefficients differ from sign(c) · max(|c| − t, 0); "
                       "are all three bands of every level thresholded?")


# -- 9.6 the best threshold in the widget ----------------------------------------------------------
@answer_check("9.6")
def check_best_threshold(answer):
    """Judge the threshold factor found with the widget (σ = 25/255, 5/3) against the PSNR of
    every slider value, computed by :func:`course_utils.widgets.nb09.psnr_curve`; correct
    within 0.1 dB of the best."""
    from ..widgets.nb09 import FACTORS, psnr_curve

    sigma = 25 / 255
    curve, bayes = psnr_curve(sigma, "legall53")
    scores = dict(zip(FACTORS, (float(c) for c in curve)))
    universal = float(sigma * np.sqrt(2 * np.log(128 * 128)) / sigma)
    why = (f"BayesShrink, which picks a threshold per band from the data, reaches "
           f"{bayes:.2f} dB. The universal threshold √(2 log n)·σ = {universal:.2f}σ is made "
           "to remove all the noise with high probability, and removes much of the image "
           "with it; the best single factor is lower, a compromise between leaving noise "
           "(small t) and erasing edges and texture (large t).")
    return judge_best(answer, scores, why=why, what="factor", tolerance=0.1, unit=" dB",
                      fmt=".3g")
