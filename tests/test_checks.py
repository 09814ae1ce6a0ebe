"""Tests of the exercise self-checks (course_utils.checks): right, wrong, unfinished."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.priors import soft_threshold


def _todo(*args, **kwargs):
    raise NotImplementedError("Exercise N.M: the student has not written this yet")


def _run(check, fn, capsys):
    """Run a check; it must return a bool and never raise. Returns (result, printed)."""
    result = check(fn)
    printed = capsys.readouterr().out
    assert isinstance(result, bool)
    return result, printed


# -- reference answers ---------------------------------------------------------------------
def normal_equations(A, y):
    return np.linalg.solve(A.T @ A, A.T @ y)


def pseudo_inverse(A, rcond=1e-10):
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > rcond * s[0]
    return Vt[keep].T @ np.diag(1 / s[keep]) @ U[:, keep].T


def tsvd(U, s, Vt, y, k):
    return Vt[:k].T @ (U[:, :k].T @ y / s[:k])


def tikhonov_fft(y, eig, lam):
    return np.real(np.fft.ifft2(np.conj(eig) * np.fft.fft2(y) / (np.abs(eig) ** 2 + lam)))


def gradient_adjoint(p):
    out = np.zeros(p.shape[1:])
    out[:-1] -= p[0, :-1]
    out[1:] += p[0, :-1]
    out[:, :-1] -= p[1, :, :-1]
    out[:, 1:] += p[1, :, :-1]
    return out


def my_soft_threshold(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def ista_step(x, y, A, lam, tau):
    return my_soft_threshold(x - tau * A.adjoint(A(x) - y), lam * tau)


# (check, right answer, [(typical wrong answer, words the explanation must contain)])
CASES = {
    "normal_equations": (checks.check_normal_equations, normal_equations, [
        (lambda A, y: A.T @ y, "you returned A^T y"),
        (lambda A, y: np.linalg.inv(A) @ y, "not square"),
        (lambda A, y: y, "one entry per row of A"),
        (lambda A, y: np.linalg.solve(A.T @ A + np.eye(A.shape[1]), A.T @ y),
         "normal equations are not satisfied"),
    ]),
    "pseudo_inverse": (checks.check_pseudo_inverse, pseudo_inverse, [
        (lambda A, rcond=1e-10: pseudo_inverse(A, rcond).T, "must be (4, 7)"),
        (lambda A, rcond=1e-10: np.linalg.svd(A)[2].T @ np.diag(1 / np.linalg.svd(A)[1])
         @ np.linalg.svd(A)[0].T, "full_matrices=False"),
        (lambda A, rcond=1e-10: (lambda U, s, Vt: Vt.T @ np.diag(1 / s) @ U.T)(
            *np.linalg.svd(A, full_matrices=False)), "round-off singular values"),
        (lambda A, rcond=1e-10: (lambda U, s, Vt: Vt.T @ np.diag(s) @ U.T)(
            *np.linalg.svd(A, full_matrices=False)), "you multiplied by the singular values"),
    ]),
    "tsvd": (checks.check_tsvd, tsvd, [
        (lambda U, s, Vt, y, k: tsvd(U, s, Vt, y, min(k + 1, len(s))), "you kept"),
        (lambda U, s, Vt, y, k: Vt[len(s) - k:].T @ (U[:, len(s) - k:].T @ y / s[len(s) - k:]),
         "k smallest singular values"),
        (lambda U, s, Vt, y, k: Vt[:k].T @ (U[:, :k].T @ y * s[:k]), "multiplied"),
        (lambda U, s, Vt, y, k: U[:, :k] @ (Vt[:k] @ y / s[:k]), "rows of Vt"),
        (lambda U, s, Vt, y, k: None, "forget the `return`"),
    ]),
    "tikhonov_fft": (checks.check_tikhonov_fft, tikhonov_fft, [
        (lambda y, h, lam: np.real(np.fft.ifft2(h * np.fft.fft2(y) / (np.abs(h) ** 2 + lam))),
         "complex conjugate"),
        (lambda y, h, lam: np.real(np.fft.ifft2(np.conj(h) * np.fft.fft2(y)
                                                / (np.abs(h) + lam))), "|h|^2 + lam"),
        (lambda y, h, lam: np.real(np.fft.ifft2(np.conj(h) * np.fft.fft2(y)
                                                / (np.abs(h) ** 2 + lam ** 2))), "lam**2"),
        (lambda y, h, lam: np.fft.ifft2(np.conj(h) * np.fft.fft2(y) / (np.abs(h) ** 2 + lam)),
         "np.real"),
    ]),
    "gradient_adjoint": (checks.check_gradient_adjoint, gradient_adjoint, [
        (lambda p: -gradient_adjoint(p), "fails the dot test"),
        (lambda p: -gradient_adjoint(p), "sign is flipped"),
        (lambda p: (np.roll(p[0], 1, 0) - p[0]) + (np.roll(p[1], 1, 1) - p[1]),
         "check the boundary"),
        (lambda p: gradient_adjoint(p[::-1]), "swapped"),
        (lambda p: p, "shape (2, 9, 11)"),
    ]),
    "soft_threshold": (checks.check_soft_threshold, my_soft_threshold, [
        (lambda x, t: np.where(np.abs(x) > t, x, 0.0), "hard thresholding"),
        (lambda x, t: np.maximum(np.abs(x) - t, 0.0), "sign is lost"),
        (lambda x, t: np.maximum(x - t, 0.0), "negative values"),
        (lambda x, t: np.clip(x, -t, t), "clipped"),
        (lambda x, t: np.sign(x) * np.maximum(np.abs(x) - 1.0, 0.0), "2-D array"),
    ]),
    "ista_step": (checks.check_ista_step, ista_step, [
        (lambda x, y, A, lam, tau: my_soft_threshold(x - tau * A.adjoint(A(x) - y), lam),
         "thresholded at lam"),
        (lambda x, y, A, lam, tau: my_soft_threshold(x + tau * A.adjoint(A(x) - y), lam * tau),
         "uphill"),
        (lambda x, y, A, lam, tau: x - tau * A.adjoint(A(x) - y), "soft-thresholding with"),
        (lambda x, y, A, lam, tau: my_soft_threshold(x - tau * A(A(x) - y), lam * tau),
         "A.adjoint(r)"),
    ]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_answer_passes(name, capsys):
    check, right, _ = CASES[name]
    result, printed = _run(check, right, capsys)
    assert result is True, printed
    assert printed.startswith("✓ Exercise")


@pytest.mark.parametrize("name,index", [(n, i) for n in sorted(CASES)
                                        for i in range(len(CASES[n][2]))])
def test_typical_mistake_is_explained(name, index, capsys):
    check, _, wrong = CASES[name]
    fn, words = wrong[index]
    result, printed = _run(check, fn, capsys)
    assert result is False
    assert printed.startswith("✗ Exercise"), printed
    assert words in printed, f"expected {words!r} in: {printed}"
    assert "Traceback" not in printed


@pytest.mark.parametrize("name", sorted(CASES))
def test_unfinished_exercise_prints_the_hint(name, capsys):
    check, _, _ = CASES[name]
    result, printed = _run(check, _todo, capsys)
    assert result is False
    assert printed.startswith(f"Exercise {check.exercise} is not done yet: {check.hint}")
    assert len(check.hint) > 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_never_raises(name, capsys):
    """Not a function, a crash inside, a string or a NaN returned: all explained."""
    check, _, _ = CASES[name]

    def crash(*args):
        raise ZeroDivisionError("division by zero")

    def returns_text(*args):
        return "an answer"

    def returns_nan(*args):
        return np.full(np.shape(args[0])[-1:] if np.ndim(args[0]) == 1 else np.shape(args[0]),
                       np.nan)

    result, printed = _run(check, 42, capsys)
    assert not result and "pass your function itself" in printed and "an int" in printed
    result, printed = _run(check, crash, capsys)
    assert not result and "your function raised ZeroDivisionError" in printed
    result, printed = _run(check, returns_text, capsys)
    assert not result and "expected a numeric array" in printed
    result, _ = _run(check, returns_nan, capsys)
    assert not result


def test_exercise_numbers_and_hints_match_the_notebooks():
    import nbformat
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "solutions"
    found = {}
    for name in ("01_least_squares.ipynb", "02_regularisers.ipynb"):
        for cell in nbformat.read(root / name, as_version=4).cells:
            course = cell.metadata.get("course", {})
            if "exercise" in course:
                found[course["exercise"]] = course["hint"]
    by_number = {check.exercise: check.hint for check, _, _ in CASES.values()}
    assert found == by_number


def test_the_library_soft_threshold_agrees_with_the_reference_answer():
    x = np.linspace(-2, 2, 41)
    np.testing.assert_array_equal(soft_threshold(x, 0.7), my_soft_threshold(x, 0.7))
