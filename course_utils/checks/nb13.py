"""Self-checks for notebook 13 (light-field microscopy): views, the dot test, one RL step, crosstalk, RL's best iteration."""
from __future__ import annotations

import numpy as np

from ..operators import make_operator
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_best, judge_choice, judge_number, register_exercise)

__all__ = ["check_views", "check_dot_test_prediction", "check_rl_step",
           "check_crosstalk_reading", "check_rl_iterations"]

register_exercise(
    "13.1", "implement",
    task="Write to_views(y, pitch): the sensor image y (P·L, P·L) as its views, an array "
         "(P, P, L, L) whose [u, v] is the image made of pixel (u, v) of every lenslet.",
    hints=["Pixel (u, v) of lenslet (i, j) is y[pitch * i + u, pitch * j + v]. Which "
           "reshape splits a row index into (lenslet, pixel within the lenslet)?",
           "y.reshape(L, pitch, L, pitch) has axes (i, u, j, v); put u and v first.",
           "L = y.shape[0] // pitch; return y.reshape(L, pitch, L, pitch).transpose(1, 3, 0, 2)."])

register_exercise(
    "13.2", "predict",
    task="Before running the dot test, predict the relative error "
         "|⟨Hx, y⟩ − ⟨x, Hᵀy⟩| / "
         "(‖Hx‖ ‖y‖) of the microscope's H and its adjoint for random x and y, and set "
         "dot_error to it (a number; the order of magnitude is what counts).",
    hints=["Is the adjoint an approximation (like a back-projection that only resembles "
           "the transpose), or the exact transpose of the same FFT products?",
           "Hᵀ multiplies by the conjugate transposes of the same per-frequency matrices: "
           "the only errors are those of floating-point arithmetic.",
           "Double precision rounds at about 1e-16; sums over many terms give a few times "
           "that."])

register_exercise(
    "13.3", "implement",
    task="Write rl_step(x, y, H): one Richardson–Lucy iteration for the operator H (with "
         "H(x) and H.adjoint(y)), the volume x and the counts y.",
    hints=["Richardson–Lucy multiplies x by a correction: the back-projection of the ratio "
           "of the measured to the predicted counts, divided by the back-projection of ones.",
           "ratio = y / H(x) (guard against 0 with np.maximum(H(x), 1e-12)); the correction is "
           "H.adjoint(ratio) / H.adjoint(np.ones_like(y)).",
           "return x * H.adjoint(y / np.maximum(H(x), 1e-12)) / H.adjoint(np.ones_like(y))."])

register_exercise(
    "13.4", "interpret",
    task="Set why_crosstalk to the letter of the statement that explains why the RL-8 "
         "traces of two close neurons are correlated although the neurons fire "
         "independently.",
    hints=["The true traces of a pair are nearly uncorrelated (the table prints them). So "
           "the correlation comes from the reconstruction, not from the neurons.",
           "Where does RL-8 put the light of one neuron? Look at the RL volumes: how far "
           "does a neuron spread, across depths in particular?",
           "A neuron's trace is a weighted mean over its own sphere: if the reconstruction "
           "spreads the neighbour's light into that sphere, the neighbour's spikes show up "
           "in it."])

register_exercise(
    "13.5", "experiment",
    task="With the widget's update at 20 photons per unit, find the number of Richardson–Lucy "
         "iterations (one of nb13.RL_ITERATIONS) with the highest volume PSNR, and set "
         "best_iterations to it.",
    hints=["update(photons=20, iterations=k)[\"psnr_rl\"] gives the PSNR of RL after k "
           "iterations; the depth and layers do not change it.",
           "Loop over nb13.RL_ITERATIONS and keep the k with the largest psnr_rl.",
           "best_iterations = max(nb13.RL_ITERATIONS, key=lambda k: update(photons=20, "
           "iterations=k)[\"psnr_rl\"])."])


# -- 13.1 the views ------------------------------------------------------------------------
@exercise_check("13.1", success="your views match LightField.views.")
def check_views(to_views) -> str | None:
    """Check ``to_views(y, pitch)`` against :meth:`LightField.views` on a numbered sensor
    image of 4 × 4 lenslets of 5 × 5 pixels."""
    op = make_operator("lightfield")
    y = np.arange(np.prod(op.out_shape), dtype=float).reshape(op.out_shape)
    ref = op.views(y)
    got = as_result(call_student(to_views, y.copy(), op.pitch,
                                 called_with="a 20×20 sensor image and pitch = 5"),
                    what="to_views(y, 5)")
    P, L = op.pitch, op.lenslets
    if np.array_equal(got, ref):
        return ("View [0, 0] is the image made of the top-left pixel of every lenslet: one "
                "sample per lenslet, a picture of the scene seen from one direction.")
    if got.shape == (L, L, P, P) and np.array_equal(
            got, y.reshape(L, P, L, P).transpose(0, 2, 1, 3)):
        raise CheckFailure("you returned the lenslet images (lenslet first, then pixel): "
                           "the views put the pixel indices (u, v) first.")
    if got.shape == ref.shape and np.array_equal(
            got, y.reshape(P, L, P, L).transpose(0, 2, 1, 3)):
        raise CheckFailure("your reshape splits a row index as (pixel, lenslet); rows run "
                           "lenslet by lenslet, so it is (lenslet, pixel): "
                           "y.reshape(L, pitch, L, pitch).")
    if got.shape != ref.shape:
        raise CheckFailure(f"the views of a {y.shape} sensor with pitch {P} have shape "
                           f"{ref.shape} (pixel u, pixel v, lenslet row, lenslet column), "
                           f"got {got.shape}.")
    if np.array_equal(got, ref.transpose(1, 0, 2, 3)) or np.array_equal(
            got, ref.transpose(0, 1, 3, 2)):
        raise CheckFailure("two axes are swapped: views[u, v, i, j] = y[pitch·i + u, "
                           "pitch·j + v].")
    raise CheckFailure("views[u, v, i, j] must be y[pitch·i + u, pitch·j + v]; your array "
                       "differs.")


# -- 13.2 the dot test ---------------------------------------------------------------------
@answer_check("13.2")
def check_dot_test_prediction(answer):
    """Judge the predicted dot-test error of the microscope against the measured one
    (within a factor 100: the order of magnitude)."""
    from .. import lfm

    actual = max(lfm.microscope().adjointness_test(seed=s) for s in (0, 1))
    value = float(answer) if isinstance(answer, (int, float, np.floating)) else None
    why = ("Hᵀ multiplies by the conjugate transposes of the same per-frequency matrices as "
           "H and uses the same FFTs, so it is the exact adjoint: what remains is double-"
           "precision round-off (about 1e-16 per operation).")
    if value is not None and value <= 0:
        raise CheckFailure("dot_error must be a positive number (a relative error).")
    ok, text = judge_number(answer, actual, why=why, factor=100, fmt=".1e")
    if not ok and value is not None and value > 1e-8:
        text += (" An error of that size would mean an approximate adjoint — like a "
                 "back-projection written independently of the projector.")
    return ok, text


# -- 13.3 one Richardson–Lucy step ---------------------------------------------------------
@exercise_check("13.3", success="your step matches the course's Richardson–Lucy.")
def check_rl_step(rl_step) -> str | None:
    """Check ``rl_step(x, y, H)`` on the registry's small light-field operator scaled by
    0.5 (so that ``Hᵀ1 ≠ 1``) against ``x ⊙ Hᵀ(y / Hx) / Hᵀ1``."""
    H = 0.5 * make_operator("lightfield")
    rng = np.random.default_rng(131)
    x = rng.uniform(0.5, 1.5, H.in_shape)
    y = rng.poisson(20 * H(rng.uniform(0, 1, H.in_shape))).astype(float)
    ones = H.adjoint(np.ones(H.out_shape))
    hx = np.maximum(H(x), 1e-12)
    ref = x * H.adjoint(y / hx) / ones
    got = as_result(call_student(rl_step, x.copy(), y.copy(), H,
                                 called_with="a 3×8×8 volume, 20×20 counts and H"),
                    shape=H.in_shape, what="rl_step(x, y, H)")
    if np.allclose(got, ref, rtol=1e-8, atol=1e-12):
        return "Each step keeps x ≥ 0 and the total Σ (Hᵀ1) ⊙ x equal to Σ y."
    variants = [
        (x * H.adjoint(y / hx), "divide by Hᵀ1 = H.adjoint(np.ones_like(y)): without it "
                                "the step is only right for an operator whose columns sum to 1."),
        (H.adjoint(y / hx) / ones, "multiply the correction by x: RL is multiplicative, "
                                   "x_new = x ⊙ correction."),
        (x * H.adjoint(hx / np.maximum(y, 1e-12)) / ones, "the ratio is measured over "
                                                          "predicted, y / Hx, not Hx / y."),
        (x - H.adjoint(hx - y), "that is a gradient (Landweber) step; RL multiplies x by "
                                "Hᵀ(y / Hx) / Hᵀ1."),
        (x * H.adjoint(y) / H.adjoint(hx), "the ratio is taken before back-projecting: "
                                           "Hᵀ(y / Hx), not Hᵀy / HᵀHx."),
    ]
    for value, message in variants:
        if np.allclose(got, value, rtol=1e-8, atol=1e-12):
            raise CheckFailure(message)
    raise CheckFailure(f"your step differs from x ⊙ Hᵀ(y / Hx) / Hᵀ1 (largest difference "
                       f"{np.max(np.abs(got - ref)):.3g}).")


# -- 13.4 crosstalk ------------------------------------------------------------------------
@answer_check("13.4")
def check_crosstalk_reading(answer):
    """Judge the explanation of the correlation between the RL-8 traces of close neurons
    (a multiple choice)."""
    options = {
        "a": (False, "the spike trains are drawn independently for every neuron (seeded "
                     "Poisson processes): the true traces of a pair are nearly uncorrelated, "
                     "as the table shows. The correlation is made by the reconstruction."),
        "b": (True, "the reconstruction leaves each neuron blurred — most of all across "
                    "depth, where the light field resolves least — so part of a neuron's "
                    "light lands in its neighbour's sphere, and the neighbour's trace carries "
                    "its spikes: the correlation grows. A sparse reconstruction can err the "
                    "other way too: when it explains the shared light by one neuron only, "
                    "the neighbour's trace dips as the first one fires, and the correlation "
                    "falls below the true one. Both are crosstalk."),
        "c": (False, "the Poisson noise is independent from pixel to pixel and from frame to "
                     "frame: it adds uncorrelated fluctuations, which lower correlations "
                     "rather than create them."),
        "d": (False, "the slow decay of the calcium response smooths each trace in time, "
                     "but it is applied to each neuron's own spikes: it cannot make two "
                     "independent neurons' traces correlate."),
    }
    return judge_choice(answer, options)


# -- 13.5 RL's best iteration --------------------------------------------------------------
@answer_check("13.5")
def check_rl_iterations(answer):
    """Judge the RL iterations with the best volume PSNR at 20 photons per unit against
    :func:`course_utils.widgets.nb13.level_scores` (within 0.05 dB of the best)."""
    from ..widgets.nb13 import RL_ITERATIONS, level_scores

    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, np.integer)) \
            or int(answer) not in RL_ITERATIONS:
        raise CheckFailure(f"best_iterations must be one of the slider's values "
                           f"{RL_ITERATIONS}, got {answer!r}.")
    scores = {k: level_scores(20, "rl", k)["psnr"] for k in RL_ITERATIONS}
    table = ", ".join(f"{k}: {scores[k]:.2f}" for k in RL_ITERATIONS)
    why = (f"Volume PSNR of RL at 20 photons per unit by iterations: {table} dB. RL "
           "semi-converges: the first iterations recover the neurons, later ones fit the "
           "Poisson noise, and the PSNR falls again.")
    return judge_best(int(answer), scores, why=why, what="best_iterations", tolerance=0.05,
                      unit=" dB", fmt=".4g")
