"""Self-checks for notebook 05 (super-resolution): pixel shuffle and one back-projection step."""
from __future__ import annotations

import numpy as np

from ..sr import back_projection_step, pixel_shuffle
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches

__all__ = ["check_pixel_shuffle", "check_back_projection_step"]

HINTS = {
    "5.1": "x[s*i + a, s*j + b] = h[a*s + b, i, j]: reshape h to (s, s, m, n), move the axes "
           "to (m, s, n, s) with transpose(2, 0, 3, 1), then reshape to (s*m, s*n).",
    "5.2": "residual = y - x_hat.reshape(m, s, n, s).mean(axis=(1, 3)); repeat each residual "
           "pixel s times along both axes (np.repeat) and add tau times it to x_hat.",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


def _shuffle_variants(h, s):
    c, m, n = h.shape
    return {
        "swap": ("channel a*s + b holds the offset (a, b) = (row, column) inside each block; "
                 "you used it as (column, row).",
                 h.reshape(s, s, m, n).transpose(2, 1, 3, 0).reshape(m * s, n * s)),
        "tiles": ("you laid the channels side by side as whole tiles (a mosaic of s × s "
                  "small images); pixel shuffle interleaves them, so that neighbouring "
                  "output pixels come from different channels.",
                  h.reshape(s, s, m, n).transpose(0, 2, 1, 3).reshape(m * s, n * s)),
        "channel_last": ("your reshape read the channels as the fastest-varying axis: move "
                         "the axes with transpose before the last reshape.",
                         h.reshape(m * s, n * s)),
    }


@exercise_check("5.1", success="your pixel shuffle matches torch's convention (F.pixel_shuffle).")
def check_pixel_shuffle(student_pixel_shuffle) -> str | None:
    """Check ``pixel_shuffle(h, s) -> x`` with ``x[s i + a, s j + b] = h[a s + b, i, j]``.

    Parameters
    ----------
    student_pixel_shuffle : callable
        ``(h, s)`` with ``h`` of shape ``(s², m, n)``; returns ``(s m, s n)``.

    Returns
    -------
    bool
        True for the reference answer (on non-square inputs, ``s = 2`` and ``3``).
    """
    rng = np.random.default_rng(5)
    for s, (m, n) in ((2, (3, 5)), (3, (4, 2))):
        h = rng.standard_normal((s * s, m, n))
        out = call_student(student_pixel_shuffle, h.copy(), s,
                           called_with=f"h of shape {h.shape}, s = {s}")
        if out is not None and np.shape(out) == (s * n, s * m):
            raise CheckFailure(f"for h of shape {h.shape} your image has shape "
                               f"{np.shape(out)}: rows come first, (s·m, s·n) = "
                               f"({s * m}, {s * n}).")
        x = as_result(out, shape=(s * m, s * n), what="pixel_shuffle(h, s)")
        if matches(x, pixel_shuffle(h, s), 1e-12):
            continue
        for message, variant in _shuffle_variants(h, s).values():
            if matches(x, variant, 1e-12):
                raise CheckFailure(f"with s = {s}: {message}")
        raise CheckFailure(f"with s = {s} and h of shape {h.shape} your image differs from "
                           "the reference: check that x[s*i + a, s*j + b] = h[a*s + b, i, j].")
    return "It has no parameters: the convolution before it does the learning."


def _bp_variants(x_hat, y, s, tau):
    m, n = y.shape
    average = x_hat.reshape(m, s, n, s).mean(axis=(1, 3))
    up = lambda r: np.repeat(np.repeat(r, s, axis=0), s, axis=1)  # noqa: E731
    return {
        "sign": ("the correction has the wrong sign: back-project y − A x̂, the error of the "
                 "simulated measurement, and add it.", x_hat + tau * up(average - y)),
        "no_tau": ("the step size tau is missing: x̂ + tau · P(y − A x̂).",
                   x_hat + up(y - average)),
        "adjoint": ("you used Aᵀ, which spreads each residual as r / s²; the back-projection "
                    "here is A⁺ = s² Aᵀ (each residual pixel repeated s × s times), so that "
                    "one step with tau = 1 makes A x̂ = y.",
                    x_hat + tau * up(y - average) / s ** 2),
        "decimate": ("A averages each s × s block (x̂.reshape(m, s, n, s).mean(axis=(1, 3))); "
                     "keeping one pixel per block (x̂[::s, ::s]) is another operator.",
                     x_hat + tau * up(y - x_hat[::s, ::s])),
    }


@exercise_check("5.2", success="one back-projection step matches the reference.")
def check_back_projection_step(student_step) -> str | None:
    """Check ``step(x_hat, y, s, tau) = x_hat + tau · A⁺(y − A x_hat)`` with ``A`` block
    averaging by ``s`` and ``A⁺`` pixel replication.

    Parameters
    ----------
    student_step : callable
        ``(x_hat, y, s, tau)``; returns an array of the shape of ``x_hat``.

    Returns
    -------
    bool
        True for the reference (on a non-square image, ``s = 2`` and ``4``, ``tau = 0.7``),
        and when one step with ``tau = 1`` gives ``A x̂ = y`` exactly.
    """
    rng = np.random.default_rng(52)
    tau = 0.7
    for s, (m, n) in ((2, (5, 7)), (4, (3, 4))):
        x_hat = rng.random((s * m, s * n))
        y = rng.random((m, n))
        out = call_student(student_step, x_hat.copy(), y.copy(), s, tau,
                           called_with=f"x_hat of shape {x_hat.shape}, y of shape {y.shape}, "
                                       f"s = {s}, tau = {tau}")
        got = as_result(out, shape=x_hat.shape, what="step(x_hat, y, s, tau)")
        reference = back_projection_step(x_hat, y, s, tau=tau, back="adjoint")
        if matches(got, reference, 1e-10):
            continue
        for message, variant in _bp_variants(x_hat, y, s, tau).values():
            if matches(got, variant, 1e-10):
                raise CheckFailure(f"with s = {s}: {message}")
        raise CheckFailure(f"with s = {s}, tau = {tau} your step differs from "
                           "x̂ + tau · A⁺(y − A x̂) (A: mean of each s × s block, "
                           "A⁺: repeat each pixel s × s times).")
    x_hat, y = rng.random((8, 12)), rng.random((2, 3))
    one = as_result(call_student(student_step, x_hat, y, 4, 1.0,
                                 called_with="tau = 1"), shape=(8, 12))
    misfit = float(np.abs(one.reshape(2, 4, 3, 4).mean(axis=(1, 3)) - y).max())
    return (f"With tau = 1 one step already fits the data (max |A x̂ − y| = {misfit:.0e}): "
            "A⁺ makes it a projection onto {x : A x = y}.")
