"""Self-checks for notebook 11 (X-ray separation): the naive split's edges, the coupled soft-threshold, the lost constant, the best exclusion weight."""
from __future__ import annotations

import numpy as np

from .. import xray_separation as xs
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, register_exercise)

__all__ = ["check_naive_overlap", "check_coupled_threshold", "check_lost_constant",
           "check_best_mu"]

register_exercise(
    "11.1", "predict",
    task="Before running the next cell, predict the edge overlap (xs.edge_overlap, between 0 "
         "and 1) of the two layers estimated by the naive method, and set naive_overlap to "
         "it.",
    hints=["What are x̂₁ and x̂₂ for the naive method, compared with each other?",
           "Both are x / 2: the same image. What is the cosine between a vector and itself?",
           "Identical edge maps give an overlap of exactly 1."])

register_exercise(
    "11.2", "implement",
    task="Write coupled_threshold(w1, w2, mu): shrink each coefficient of w1 by mu times the "
         "magnitude of w2 at the same place, and each coefficient of w2 by mu times that of "
         "w1 (soft-thresholds, both from the values before the step); return the pair.",
    hints=["A soft-threshold with threshold t keeps the sign and moves the magnitude towards "
           "zero by t, stopping at zero: sign(w) · max(|w| − t, 0). Here t is an array.",
           "The threshold of w1 is mu * |w2| and that of w2 is mu * |w1|. Compute both from "
           "the inputs, before replacing either.",
           "a1, a2 = np.abs(w1), np.abs(w2); return (np.sign(w1) * np.maximum(a1 - mu * a2, "
           "0), np.sign(w2) * np.maximum(a2 - mu * a1, 0))."])

register_exercise(
    "11.3", "interpret",
    task="Set what_fixes_c to the letter of the statement that says what, in the sparse "
         "method of this notebook, decides how the smooth part (the constant c) of the "
         "mixture is shared between the two layers.",
    hints=["Adding c to x̂₁ and removing it from x̂₂ leaves x̂₁ + x̂₂, hence the data term, "
           "unchanged. Which other term of the objective sees a constant?",
           "The dictionary's atoms and the Haar detail bands are blind to constants: they "
           "only see the details. Which input of the method knows how bright layer 1 is?",
           "The low-pass part of x̂₁ is taken from the regression on the photograph; x̂₂ gets "
           "the rest."])

register_exercise(
    "11.4", "experiment",
    task="With the widget's update at λ = 0.01, find the exclusion weight μ among the "
         "slider's values (nb11.MU_LEVELS) that gives the highest mean PSNR of the two "
         "layers, and set best_mu to it.",
    hints=["update(mu=m, lam=0.01) returns numbers[\"psnr\"], the mean PSNR of x̂₁ and x̂₂.",
           "Loop over nb11.MU_LEVELS and keep the value with the largest numbers[\"psnr\"].",
           "best_mu = max(nb11.MU_LEVELS, key=lambda m: update(mu=m, lam=0.01)[\"psnr\"])."])


# -- 11.1 the naive split's edges ------------------------------------------------------------------
@answer_check("11.1")
def check_naive_overlap(answer, mixture=None):
    """Judge the predicted edge overlap of the naive estimates (both x / 2): exactly 1."""
    m = xs.heldout_mixtures(1, size=32)[0] if mixture is None else mixture
    x1, x2 = xs.separate(m["mixture"], m["visible"], "naive")
    actual = xs.edge_overlap(x1, x2)
    why = ("The naive method returns x / 2 twice: two identical images have identical edge "
           "maps, and the cosine of a vector with itself is 1. Every edge of the mixture is "
           "in both layers — the opposite of what the exclusion term asks for.")
    ok, text = judge_number(answer, actual, why=why, abs_tol=0.02, fmt=".3f")
    if not ok and 0.0 <= float(answer) <= 0.6:
        text += (" A low overlap would mean that the two estimates have different edges; "
                 "the naive split cannot tell edges apart at all.")
    return ok, text


# -- 11.2 the coupled soft-threshold -----------------------------------------------------------
@exercise_check("11.2", success="your coupled threshold matches "
                                "xray_separation.coupled_soft_threshold.")
def check_coupled_threshold(coupled_threshold) -> str | None:
    """Check ``coupled_threshold(w1, w2, mu)`` against
    :func:`course_utils.xray_separation.coupled_soft_threshold` on seeded coefficients."""
    rng = np.random.default_rng(111)
    w1, w2 = rng.normal(0, 1, (6, 7)), rng.normal(0, 1, (6, 7))
    mu = 0.7
    ref1, ref2 = xs.coupled_soft_threshold(w1, w2, mu)
    got = call_student(coupled_threshold, w1.copy(), w2.copy(), mu,
                       called_with="two 6×7 arrays and mu = 0.7")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailure("coupled_threshold must return a pair (w1_new, w2_new), got "
                           f"{type(got).__name__}.")
    g1 = as_result(got[0], shape=w1.shape, what="the first array you return")
    g2 = as_result(got[1], shape=w2.shape, what="the second array you return")
    if np.allclose(g1, ref1) and np.allclose(g2, ref2):
        kept = float(np.mean((ref1 != 0) & (ref2 != 0)))
        return (f"With mu = 0.7, {kept:.0%} of the places keep a nonzero coefficient in both "
                "arrays; the others keep at most one.")
    if np.allclose(g1, ref1):
        seq = np.sign(w2) * np.maximum(np.abs(w2) - mu * np.abs(ref1), 0)
        if np.allclose(g2, seq):
            raise CheckFailure("your w1 is right, but w2 was shrunk by the new w1: compute "
                               "both thresholds from the inputs, before replacing either.")
    plain = (np.sign(w1) * np.maximum(np.abs(w1) - mu, 0),
             np.sign(w2) * np.maximum(np.abs(w2) - mu, 0))
    if np.allclose(g1, plain[0]) and np.allclose(g2, plain[1]):
        raise CheckFailure("you soft-thresholded by mu itself; the threshold of each "
                           "coefficient is mu times the magnitude of the other array's.")
    mags = (np.maximum(np.abs(w1) - mu * np.abs(w2), 0),
            np.maximum(np.abs(w2) - mu * np.abs(w1), 0))
    if np.allclose(g1, mags[0]) and np.allclose(g2, mags[1]):
        raise CheckFailure("your coefficients lost their sign: multiply the shrunk "
                           "magnitude by np.sign(w).")
    if np.allclose(g1, ref2) and np.allclose(g2, ref1):
        raise CheckFailure("you returned the two arrays in the wrong order: (w1_new, "
                           "w2_new).")
    hard = (w1 * (np.abs(w1) > mu * np.abs(w2)), w2 * (np.abs(w2) > mu * np.abs(w1)))
    if np.allclose(g1, hard[0]) and np.allclose(g2, hard[1]):
        raise CheckFailure("you kept or zeroed each coefficient (a hard threshold); a soft "
                           "threshold also moves the kept ones towards zero by the "
                           "threshold.")
    k = np.unravel_index(int(np.argmax(np.abs(g1 - ref1) + np.abs(g2 - ref2))), w1.shape)
    raise CheckFailure(f"at index {tuple(int(i) for i in k)}, w1 = {w1[k]:.3f} and w2 = "
                       f"{w2[k]:.3f}: expected ({ref1[k]:.3f}, {ref2[k]:.3f}), got "
                       f"({g1[k]:.3f}, {g2[k]:.3f}).")


# -- 11.3 what fixes the constant -----------------------------------------------------------------
@answer_check("11.3")
def check_lost_constant(answer):
    """Judge what decides the split of the smooth part (a multiple choice)."""
    m = xs.heldout_mixtures(1, size=32)[0]
    base = xs.separate(m["mixture"], m["visible"], "sparse", num_iters=10)
    shifted = xs.separate(m["mixture"] + 0.2, m["visible"], "sparse", num_iters=10)
    moved = float(np.mean(shifted[1] - base[1]))
    facts = (f"Adding 0.2 to the mixture moves x̂₂ by {moved:.3f} on average and x̂₁ by "
             f"{float(np.mean(shifted[0] - base[0])):.3f}: the constant goes to the layer "
             "without side information.")
    options = {
        "a": (False, "the ℓ1 norm acts on the codes of the details; the smooth part is not "
                     "coded (the dictionary's atoms see only details). " + facts),
        "b": (True, "the side information: the smooth part of x̂₁ is the regression's "
                    "prediction from the photograph, and x̂₂ takes the rest of the "
                    "mixture. Without it nothing in the objective sees a constant. " + facts),
        "c": (False, "the exclusion term compares Haar detail coefficients, which are zero "
                     "for a constant image; it cannot see c. " + facts),
        "d": (False, "the data term sees only x̂₁ + x̂₂, which a constant moved from one "
                     "layer to the other leaves unchanged. " + facts),
    }
    return judge_choice(answer, options)


# -- 11.4 the best exclusion weight ---------------------------------------------------------------
@answer_check("11.4")
def check_best_mu(answer, lam: float = 0.01):
    """Judge the μ found with the widget against the best mean PSNR over
    :data:`course_utils.widgets.nb11.MU_LEVELS` at ``lam`` (within 0.02 dB)."""
    from ..widgets import nb11

    scores = {mu: nb11.solve(mu, lam)["quality"]["psnr"] for mu in nb11.MU_LEVELS}
    if isinstance(answer, (bool, np.bool_)) or not isinstance(
            answer, (int, float, np.integer, np.floating)):
        raise CheckFailure(f"best_mu must be one of the slider's values {nb11.MU_LEVELS}, "
                           f"got {type(answer).__name__} {answer!r}.")
    if float(answer) not in [float(v) for v in nb11.MU_LEVELS]:
        raise CheckFailure(f"best_mu must be one of the slider's values {nb11.MU_LEVELS}, "
                           f"got {answer!r}.")
    overlaps = ", ".join(f"{mu:g}: {nb11.solve(mu, lam)['quality']['overlap']:.2f}"
                         for mu in nb11.MU_LEVELS)
    why = (f"Edge overlap by μ: {overlaps}. A little exclusion removes the ghost edges that "
           "each layer borrows from the other; too much also removes true edges where both "
           "layers really have one, and the PSNR falls again.")
    return judge_best(float(answer), scores, why=why, tolerance=0.02, unit=" dB",
                      what="μ", fmt=".3g")
