"""Self-checks for notebook 06 (deep image prior): the masked loss and the discrepancy stop."""
from __future__ import annotations

import numbers

import numpy as np

from ..dip import discrepancy_stop, masked_loss
from ._base import register_exercise, CheckFailure, call_student, exercise_check

__all__ = ["check_masked_loss", "check_discrepancy_stop"]

HINTS = {
    "6.1": "return np.sum((mask * y - mask * x_hat) ** 2): the squared residual, summed "
           "over the observed pixels only.",
    "6.2": "below = np.flatnonzero(losses <= tau * sigma**2); return int(below[0]) if "
           "below.size else None.",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


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


@exercise_check("6.1", success="your masked loss matches ‖m ⊙ y − m ⊙ x̂‖² on observed and "
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
