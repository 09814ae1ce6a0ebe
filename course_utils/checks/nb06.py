"""Self-checks for notebook 06 (deep image prior): the overfit, stopping, the masked loss, the widget."""
from __future__ import annotations

import numbers

import numpy as np

from ..dip import discrepancy_stop, masked_loss
from ._base import (CheckFailure, answer_check, call_student, exercise_check, judge_best,
                    judge_choice, register_exercise)

__all__ = ["check_overfit_reading", "check_discrepancy_stop", "check_masked_loss",
           "check_peak_prediction", "check_best_iteration"]

register_exercise(
    "6.1", "interpret",
    task="Look at the two panels of the denoising fit and set why_it_falls to the letter "
         "(\"a\", \"b\" or \"c\") of the statement that explains why the PSNR falls after "
         "its peak.",
    hints=["Read the right panel first: what does the misfit do after the peak, and where is "
           "it compared with the dotted line at σ²?",
           "A fit that diverged would have a growing misfit; a network that could not produce "
           "the image would stall above σ². Which of these does the right panel show?",
           "The misfit keeps going down, straight through σ²: what is left for the network "
           "to fit below that level, once the image is there?"])

register_exercise(
    "6.2", "implement",
    task="Write discrepancy_stop(losses, sigma, tau): return the index of the first "
         "iteration whose misfit losses[k] is at most tau times sigma squared, as a Python "
         "int, or None if no iteration gets there.",
    hints=["Compare the whole array with the threshold at once: which iterations are below "
           "it?",
           "np.flatnonzero of a boolean array lists the indices where it is True; the rule "
           "wants the first of them, and <= (not <).",
           "below = np.flatnonzero(losses <= tau * sigma**2); return the first element as an "
           "int when below is not empty, else None."])

register_exercise(
    "6.3", "implement",
    task="Write masked_loss(y, x_hat, mask): the squared error between y and x_hat counted "
         "on the observed pixels only (mask 1), summed over pixels with no normalisation.",
    hints=["The mask is 1 on observed pixels and 0 on missing ones: multiplying by it removes "
           "the missing pixels from any sum.",
           "Mask both images (or their difference), then square and sum; return one float.",
           "float(np.sum((mask * y − mask * x_hat) ** 2))."])

register_exercise(
    "6.4", "predict",
    task="Before scrubbing the widget, predict where the best iteration (the PSNR peak) of "
         "the fit with no missing pixel lies at σ = 0.2 compared with σ = 0.05: set "
         "peak_with_more_noise to \"a\", \"b\" or \"c\".",
    hints=["The network reproduces structure first and noise later; what changes when there "
           "is more noise to reproduce?",
           "At σ = 0.2 the noise is four times stronger: how soon does the network's slow fit "
           "of the noise start to cost more than the detail it still adds?",
           "Compare the peak of section 2 (σ = 0.1) with the curve at σ = 0.05 and σ = 0.2 "
           "in the widget: the peak moves in one direction as σ grows."])

register_exercise(
    "6.5", "experiment",
    task="With the widget's update at 25 % missing pixels and σ = 0.05, find the stored "
         "iteration whose iterate has the highest PSNR, and set best_iteration to it.",
    hints=["Call update(ratio=0.25, sigma=0.05, iteration=k) and read numbers[\"psnr\"]; "
           "the iterations you can ask for are the slider's values.",
           "Loop over the slider's iterations (0, 5, 10, …, 399) and keep the one with the "
           "largest PSNR.",
           "best = max(iterations, key=lambda k: update(ratio=0.25, sigma=0.05, "
           "iteration=k)[\"psnr\"])."])


def _as_number(value, what: str) -> float:
    if value is None:
        raise CheckFailure(f"{what} returned None: did you forget the `return` statement?")
    if value is Ellipsis:
        raise CheckFailure(f"{what} returned `...`: replace the placeholder by your answer.")
    if type(value).__module__.startswith("torch") and hasattr(value, "item"):
        value = value.item()
    arr = np.asarray(value)
    if arr.ndim != 0 or not np.issubdtype(arr.dtype, np.number):
        raise CheckFailure(f"{what} returned {type(value).__name__} of shape {arr.shape}, "
                           "expected one number: sum the squared residuals.")
    return float(arr)


def _loss_variants(y, x_hat, mask):
    r = mask * (y - x_hat)
    n_obs = mask.sum()
    return {
        "no_mask": (np.sum((y - x_hat) ** 2),
                    "you summed over every pixel: multiply the residual by the mask, so "
                    "missing pixels (mask 0) do not count."),
        "inverted": (np.sum(((1 - mask) * (y - x_hat)) ** 2),
                     "you summed over the missing pixels: mask is 1 where a pixel is "
                     "observed, 0 where it is missing."),
        "one_side": (np.sum((mask * y - x_hat) ** 2),
                     "only y was masked: the network output must be masked too, "
                     "m ⊙ y − m ⊙ Ψ(z; w), or the missing pixels are pulled towards 0."),
        "norm": (np.sqrt(np.sum(r ** 2)),
                 "you returned the norm ‖m ⊙ (y − x̂)‖; the loss is its square."),
        "mean_all": (np.mean(r ** 2),
                     "you averaged over all pixels; the loss of the lecture is the sum."),
        "mean_obs": (np.sum(r ** 2) / n_obs,
                     "you divided by the number of observed pixels; the loss of the "
                     "lecture is the plain sum (the library's fit rescales it, not this "
                     "function)."),
        "abs": (np.sum(np.abs(r)), "you summed absolute values (ℓ1); square the residuals."),
        "half": (0.5 * np.sum(r ** 2), "you included a factor 1/2; the loss has none."),
    }


@exercise_check("6.3", success="your masked loss matches ‖m ⊙ y − m ⊙ x̂‖² on observed and "
                        "missing pixels alike.")
def check_masked_loss(loss_fn) -> str | None:
    """Check ``loss_fn(y, x_hat, mask) -> float``, the inpainting data term.

    Parameters
    ----------
    loss_fn : callable
        The student's function; ``y``, ``x_hat`` and ``mask`` are (M, N) arrays, ``mask``
        1 on observed pixels and 0 on missing ones.

    Returns
    -------
    bool
        True when the result equals :func:`course_utils.dip.masked_loss` (relative error
        ≤ 1e-9) on a random non-square example and when values of ``y`` under the mask do
        not change it; prints what is wrong otherwise.
    """
    rng = np.random.default_rng(6)
    shape = (12, 17)
    y = rng.random(shape)
    x_hat = rng.random(shape)
    mask = (rng.random(shape) > 0.4).astype(np.float64)
    got = _as_number(call_student(loss_fn, y.copy(), x_hat.copy(), mask.copy(),
                                  called_with="y, x_hat, mask of shape (12, 17)"),
                     "loss_fn(y, x_hat, mask)")
    ref = masked_loss(y, x_hat, mask)
    if abs(got - ref) > 1e-9 * ref:
        for value, message in _loss_variants(y, x_hat, mask).values():
            if abs(got - value) <= 1e-9 * abs(value):
                raise CheckFailure(message)
        raise CheckFailure(f"you returned {got:.6g}, the masked loss is {ref:.6g}. It is "
                           "Σ over pixels of (mask · (y − x_hat))².")
    y_changed = y + 10.0 * (1 - mask)
    again = _as_number(call_student(loss_fn, y_changed, x_hat.copy(), mask.copy(),
                                    called_with="y changed on missing pixels"),
                       "loss_fn(y, x_hat, mask)")
    if abs(again - ref) > 1e-9 * ref:
        raise CheckFailure("changing y on the missing pixels changed your loss: those "
                           "pixels must not count at all.")
    return None


def _first(indices):
    return int(indices[0]) if indices.size else None


#: Classic mistakes: a function of ``(losses, sigma, tau)`` and what to say about it.
_STOP_MISTAKES = [
    (lambda l, s, t: (lambda b: int(b[-1]) if b.size else None)(np.flatnonzero(l <= t * s**2)),
     "you returned the last iteration below the threshold; the rule stops at the first."),
    (lambda l, s, t: _first(np.flatnonzero(l < t * s ** 2)),
     "a misfit exactly equal to τσ² already satisfies the rule: use <=, not <."),
    (lambda l, s, t: _first(np.flatnonzero(l <= t * s)),
     "the misfit is a mean squared residual: compare it with τ σ², not τ σ."),
    (lambda l, s, t: _first(np.flatnonzero(l <= s ** 2)),
     "you forgot the factor tau: the threshold is tau * sigma**2."),
    (lambda l, s, t: (lambda k: None if k is None else k + 1)(
        _first(np.flatnonzero(l <= t * s ** 2))),
     "your index is one too large: iterations are counted from 0, as in losses[k]."),
    (lambda l, s, t: (lambda k: None if k is None else k - 1)(
        _first(np.flatnonzero(l <= t * s ** 2))),
     "your index is one too small: return k such that losses[k] itself is below."),
]


@exercise_check("6.2", success="your discrepancy rule stops where the misfit first reaches τσ².")
def check_discrepancy_stop(stop_fn) -> str | None:
    """Check ``stop_fn(losses, sigma, tau) -> int or None``, the discrepancy principle.

    Parameters
    ----------
    stop_fn : callable
        The student's function: ``losses`` a 1-D array of mean squared residuals, ``sigma``
        the noise level, ``tau`` the safety factor; returns the first index ``k`` with
        ``losses[k] <= tau * sigma**2``, or None.

    Returns
    -------
    bool
        True when it agrees with :func:`course_utils.dip.discrepancy_stop` on a
        non-monotone curve, on a value exactly at the threshold and on a curve that never
        gets there; prints what is wrong otherwise.
    """
    k = np.arange(60)
    wiggly = 0.02 + 0.1 * np.exp(-k / 8.0) + 0.004 * np.sin(1.3 * k)
    exact = np.array([0.05, 0.04, 0.03125, 0.035, 0.02, 0.01])  # 0.03125 = 0.5 * 0.25**2
    cases = [(wiggly, 0.15, 1.0), (exact, 0.25, 0.5), (wiggly, 0.1, 1.0),
             (wiggly, 0.12, 1.3)]
    answers = []
    for losses, sigma, tau in cases:
        got = call_student(stop_fn, losses.copy(), sigma, tau,
                           called_with=f"{losses.size} losses, sigma={sigma}, tau={tau}")
        if got is Ellipsis:
            raise CheckFailure("your function returned `...`: replace the placeholder.")
        if got is not None and (isinstance(got, (bool, np.bool_))
                                or not isinstance(got, (numbers.Integral, np.integer))):
            raise CheckFailure(f"return an integer index (or None), got "
                               f"{type(got).__name__}.")
        answers.append(None if got is None else int(got))
    expected = [discrepancy_stop(*case) for case in cases]
    if answers == expected:
        return None
    for mistake, message in _STOP_MISTAKES:
        if answers == [mistake(*case) for case in cases]:
            raise CheckFailure(message)
    for (losses, sigma, tau), got, want in zip(cases, answers, expected):
        if got == want:
            continue
        if want is None:
            raise CheckFailure(f"the misfit never reaches τσ² = {tau * sigma**2:.4g} "
                               f"(its minimum is {losses.min():.4g}), so the rule never "
                               f"fires: return None, not {got!r}.")
        if got is None:
            raise CheckFailure(f"you returned None, but losses[{want}] = "
                               f"{losses[want]:.4g} <= τσ² = {tau * sigma**2:.4g}.")
        raise CheckFailure(f"you returned {got}; the first k with losses[k] <= "
                           f"τσ² = {tau * sigma**2:.4g} is {want}.")
    return None


# -- exercises answered by a value (judged on the shipped widget snapshots) ---------------------
def _snapshots():
    """The shipped fits of the notebook's widget (``python -m course_utils.train
    dip-snapshots``) and the index of each (ratio, σ)."""
    from ..train.dip import RATIOS, SIGMAS
    from ..widgets.nb06 import load_snapshots

    return load_snapshots(), RATIOS.index, SIGMAS.index


@answer_check("6.1")
def check_overfit_reading(answer):
    """Judge why the PSNR of DIP denoising falls after its peak (a multiple choice):
    ``"a"`` Adam's step is too large and the fit diverges; ``"b"`` the network fits the
    noise, its misfit going below σ²; ``"c"`` the network cannot produce the clean image.
    The facts are read from the shipped fit of the same setting (camera 64², σ = 0.1,
    nothing missing) and the noise-free one."""
    data, ri, si = _snapshots()
    i, j, j0 = ri(0.0), si(0.1), si(0.0)
    loss, curve = data["loss"][i, j] / 0.1 ** 2, data["psnr"][i, j]
    peak = int(data["stop_peak"][i, j])
    clean_best = float(data["psnr"][i, j0].max())
    facts = (f"In the widget's shipped fit of the same image and noise (400 iterations) the "
             f"misfit/σ² is {loss[peak]:.2f} at the peak "
             f"(iteration {peak}, {curve[peak]:.2f} dB) and {loss[-1]:.2f} at iteration "
             f"{curve.size - 1} ({curve[-1]:.2f} dB).")
    options = {
        "a": (False, f"a diverging fit would see its misfit grow; here it keeps falling. "
                     f"{facts} The optimiser does its job too well, not badly."),
        "b": (True, f"{facts} Below σ² the fit can only get closer to y by reproducing its "
                    "noise: the iterate moves from the clean image towards the noisy one, and "
                    "its PSNR falls back towards that of y. Stopping early is the "
                    "regularisation."),
        "c": (False, f"the same network fitted to the noise-free image reaches "
                     f"{clean_best:.2f} dB, and here it already reached {curve[peak]:.2f} dB "
                     f"at the peak: it can produce the image. {facts} What it adds after the "
                     "peak is the noise."),
    }
    return judge_choice(answer, options)


@answer_check("6.4")
def check_peak_prediction(answer):
    """Judge the prediction of where the PSNR peak lies at σ = 0.2 compared with
    σ = 0.05 (nothing missing): ``"a"`` earlier, ``"b"`` about the same (within 10 %),
    ``"c"`` later. Read from the shipped fits."""
    data, ri, si = _snapshots()
    i = ri(0.0)
    peaks = {s: int(data["stop_peak"][i, si(s)]) for s in (0.05, 0.1, 0.2)}
    heights = {s: float(data["psnr"][i, si(s), peaks[s]]) for s in peaks}
    lo, hi = peaks[0.2], peaks[0.05]
    same = abs(lo - hi) <= 0.1 * max(lo, hi)
    truth = "b" if same else ("a" if lo < hi else "c")
    listing = ", ".join(f"σ = {s:g}: iteration {peaks[s]} ({heights[s]:.2f} dB)" for s in peaks)
    why = (f"The shipped fits peak at {listing}. The network reproduces the image's structure "
           "first, at a pace that hardly depends on the noise, and the noise more slowly; the "
           "stronger the noise, the sooner the noise it has taken up outweighs the detail it "
           "still adds, so the best iteration comes earlier, and it is lower.")
    names = {"a": "earlier", "b": "at about the same iteration", "c": "later"}
    options = {letter: (letter == truth,
                        ("right: " if letter == truth else f"not {names[letter]}: ")
                        + f"at σ = 0.2 the peak comes {names[truth]}. {why}")
               for letter in names}
    return judge_choice(answer, options)


@answer_check("6.5")
def check_best_iteration(answer):
    """Judge the stored iteration found by scrubbing the widget at 25 % missing pixels
    and σ = 0.05: correct when its PSNR is within 0.3 dB of the best stored iterate's.
    The scores are read from the shipped PSNR curve."""
    from ..train.dip import SNAPSHOT_ITERS

    if isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(answer, bool) \
            and float(answer) not in SNAPSHOT_ITERS and 0 <= float(answer) <= SNAPSHOT_ITERS[-1]:
        raise CheckFailure(f"best_iteration must be one of the slider's iterations "
                           f"{SNAPSHOT_ITERS}, got {answer!r}.")
    data, ri, si = _snapshots()
    i, j = ri(0.25), si(0.05)
    curve = data["psnr"][i, j]
    scores = {k: float(curve[k]) for k in SNAPSHOT_ITERS}
    peak, disc = int(data["stop_peak"][i, j]), int(data["stop_discrepancy"][i, j])
    why = (f"The full curve (every iteration) peaks at {peak} with {curve[peak]:.2f} dB, between "
           "two stored snapshots; before the peak the image is still forming, after it the "
           f"noise comes in (iteration {SNAPSHOT_ITERS[-1]}: {curve[-1]:.2f} dB). The "
           "discrepancy rule, which does not see the clean image, stopped at "
           + (f"{disc} ({curve[disc]:.2f} dB)." if disc >= 0 else "no iteration."))
    return judge_best(answer, scores, why=why, what="iteration", tolerance=0.3, unit=" dB",
                      fmt=".4g")
