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
    task = checks.exercise_task(check.exercise)
    assert printed.startswith(f"Exercise {check.exercise} is not done yet: {task}")
    assert f'checks.hint("{check.exercise}")' in printed and len(task) > 20


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


def test_exercise_numbers_and_kinds_match_the_notebooks():
    """Notebooks 01 and 02 carry exactly the exercises registered for them, without the
    old single-string hints in their metadata; each implement check above is one of
    them."""
    import nbformat
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "solutions"
    found = []
    for name in ("01_least_squares.ipynb", "02_regularisers.ipynb"):
        for cell in nbformat.read(root / name, as_version=4).cells:
            course = cell.metadata.get("course", {})
            if "exercise" in course:
                assert "hint" not in course, course
                found.append(course["exercise"])
    registered = sorted((e for e in checks.EXERCISES if e.split(".")[0] in ("1", "2")),
                        key=lambda e: tuple(map(int, e.split("."))))
    assert found == registered
    implement = {e for e in found if checks.EXERCISES[e].kind == "implement"}
    assert {check.exercise for check, _, _ in CASES.values()} == implement
    thinking = {checks.EXERCISES[e].kind for e in found} - {"implement"}
    assert thinking == {"predict", "interpret", "experiment"}


# -- forbidden shortcuts ------------------------------------------------------------------------
@pytest.mark.parametrize("shortcut", [
    lambda A, rcond=1e-10: np.linalg.pinv(A, rcond=rcond),
    lambda A, rcond=1e-10: np.linalg.lstsq(A, np.eye(A.shape[0]), rcond=rcond)[0],
])
def test_pseudo_inverse_rejects_pinv_and_lstsq(shortcut, capsys):
    result, printed = _run(checks.check_pseudo_inverse, shortcut, capsys)
    assert result is False
    assert "not to" in printed and "from the SVD" in printed
    assert ("np.linalg.pinv" in printed or "pinv" in printed) or "lstsq" in printed
    # the numpy functions are restored afterwards
    A = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(np.linalg.pinv(A) @ A, np.eye(2), atol=1e-12)
    assert np.linalg.lstsq(A, np.ones(3), rcond=None)[0].shape == (2,)


def test_pseudo_inverse_rejects_a_hidden_pinv_call(capsys):
    """pinv reached through a helper (not named in the student's own code) is caught at
    run time by the patched function."""
    def helper(A):
        return np.linalg.pinv(A)

    result, printed = _run(checks.check_pseudo_inverse, lambda A, rcond=1e-10: helper(A),
                           capsys)
    assert result is False and "calls numpy.linalg.pinv" in printed


def test_normal_equations_rejects_lstsq(capsys):
    result, printed = _run(checks.check_normal_equations,
                           lambda A, y: np.linalg.lstsq(A, y, rcond=None)[0], capsys)
    assert result is False and "lstsq" in printed and "normal equations" in printed


def test_forbidden_functions_are_restored_when_the_student_crashes(capsys):
    original = np.linalg.pinv

    def crash(A, rcond=1e-10):
        raise RuntimeError("boom")

    result, printed = _run(checks.check_pseudo_inverse, crash, capsys)
    assert result is False and "RuntimeError" in printed
    assert np.linalg.pinv is original


# -- value exercises: predict, interpret, experiment ----------------------------------------
def _answer(check, answer, capsys):
    result = check(answer)
    printed = capsys.readouterr().out
    assert isinstance(result, bool) and "Traceback" not in printed
    return result, printed


VALUE_CASES = {
    # check: (right answers, [(wrong answer, words the explanation must contain)])
    "kappa_normal": (checks.check_kappa_normal, [3.13e16, 1e16, 1e17], [
        (1.77e8, "about kappa(A) itself"),
        (3.5e8, "squares it"),
        (1.3e4, "smaller than kappa(A)"),
        (1e30, "a factor"),
    ]),
    "picard_reading": (checks.check_picard_reading, ["b", "B", "(b)"], [
        ("a", "singular values do not stop"),
        ("c", "x does have components there"),
        ("d", "round-off"),
    ]),
    "best_truncation": (checks.check_best_truncation, [52, 52.0, 50], [
        (44, "Below the best k"),
        (66, "Above the best k"),
        (128, "perturbation error"),
    ]),
    "lcurve_reading": (checks.check_lcurve_reading, ["b"], [
        ("a", "maximum curvature is a property of the curve"),
        ("c", "not by orders of magnitude"),
        ("d", "the residual grows with λ"),
    ]),
    "lam_factor": (checks.check_lam_factor, [2.0, 1.95, 2.3], [
        (4.0, "Wiener"),
        (1.0, "More noise needs more regularisation"),
        (0.5, "never less"),
        (8.0, "away"),
    ]),
    "best_lam_tv": (checks.check_best_lam_tv, [1e-2, 0.01], [
        (1e-3, "Below the best λ"),
        (3.2e-2, "Above the best λ"),
        (1.0, "cartoon"),
    ]),
}


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_value_check_accepts_the_right_answer(name, capsys):
    check, rights, _ = VALUE_CASES[name]
    for right in rights:
        result, printed = _answer(check, right, capsys)
        assert result is True, printed
        assert printed.startswith(f"✓ Exercise {check.exercise}:"), printed


@pytest.mark.parametrize("name,index", [(n, i) for n in sorted(VALUE_CASES)
                                        for i in range(len(VALUE_CASES[n][1]))])
def test_value_check_explains_a_typical_wrong_answer(name, index, capsys):
    check, _, wrongs = VALUE_CASES[name]
    answer, words = wrongs[index]
    result, printed = _answer(check, answer, capsys)
    assert result is False
    assert printed.startswith(f"✗ Exercise {check.exercise}:"), printed
    assert words in printed, f"expected {words!r} in: {printed}"


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_value_check_not_done_and_malformed(name, capsys):
    check, _, _ = VALUE_CASES[name]
    for todo in (None, ...):
        result, printed = _answer(check, todo, capsys)
        assert result is False
        assert printed.startswith(f"Exercise {check.exercise} is not done yet:")
    for malformed in ("zz", [1, 2], float("nan"), -3, True, {"a": 1}):
        result, printed = _answer(check, malformed, capsys)
        assert result is False
        assert printed.startswith(f"✗ Exercise {check.exercise}:"), (malformed, printed)
        assert "could not run" not in printed, (malformed, printed)


def test_value_checks_compute_their_truth_from_the_library():
    """The experiment checks score the same runs the widgets show."""
    from course_utils.checks import nb01, nb02
    from course_utils.widgets import regulariser_widget, tsvd_widget
    _, update = tsvd_widget()
    assert update(sigma=nb01.EXPERIMENT_SIGMA, k=1)["best_k"] == 52
    _, update = regulariser_widget()
    scores = nb02.tv_widget_scores()
    for lam in (1e-3, 1e-2, 1e-1):
        key = min(scores, key=lambda k: abs(np.log(k / lam)))
        assert update(regulariser="tv", sigma=nb02.EXPERIMENT_SIGMA, lam=key)["psnr"] \
            == pytest.approx(scores[key], abs=0.01)
    choices = nb02.lcurve_choices()
    assert choices["corner"]["psnr"] < choices["gcv"]["psnr"] < choices["discrepancy"]["psnr"]
    lams = nb02.discrepancy_lams()
    assert 1.5 < lams[0.02] / lams[0.01] < 2.5


def test_the_library_soft_threshold_agrees_with_the_reference_answer():
    x = np.linspace(-2, 2, 41)
    np.testing.assert_array_equal(soft_threshold(x, 0.7), my_soft_threshold(x, 0.7))
