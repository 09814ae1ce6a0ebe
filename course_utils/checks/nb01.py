"""Self-checks for notebook 01 (least squares and ill-posedness)."""
from __future__ import annotations

import contextlib
import sys

import numpy as np

from ..data import add_noise, signal_1d
from ..illposed import compute_svd, filter_error_curve, picard_coefficients, svd_filter
from ..operators.basic import deconvolution_matrix
from ._base import (CheckFailure, StudentError, answer_check, as_result, call_student,
                    exercise_check, judge_best, judge_choice, judge_number, matches, register_exercise,
                    rel_error)

__all__ = ["check_normal_equations", "check_pseudo_inverse", "check_kappa_normal",
           "check_picard_reading", "check_tsvd", "check_best_truncation"]

register_exercise(
    "1.1", "implement",
    task="Write normal_equations(A, y) returning the least-squares solution x_hat of a "
         "matrix A with full column rank, by solving the normal equations (no inverse, no "
         "np.linalg.lstsq).",
    hints=["Set the gradient of ½‖Ax − y‖² to zero: which square linear system do you get?",
           "The system is (AᵀA) x = Aᵀy; np.linalg.solve(M, b) solves M x = b without "
           "forming M⁻¹.",
           "Build M = A.T @ A and b = A.T @ y, then return np.linalg.solve(M, b)."])
register_exercise(
    "1.2", "implement",
    task="Write pseudo_inverse(A, rcond=1e-10) returning the matrix A+ of shape (N, M) "
         "built from the thin SVD of A, with singular values at or below rcond * s[0] "
         "counted as zero.",
    hints=["A = U diag(s) Vᵀ; A+ undoes each factor in the opposite order. Which factors "
           "are orthogonal, and what is the inverse of an orthogonal matrix?",
           "A+ = V diag(1/s) Uᵀ over the kept singular values only: the others contribute "
           "nothing (their 1/s is replaced by 0). Use full_matrices=False so the shapes "
           "match.",
           "U, s, Vt = np.linalg.svd(A, full_matrices=False); keep = s > rcond * s[0]; "
           "then Vt[keep].T @ np.diag(1 / s[keep]) @ U[:, keep].T."])
register_exercise(
    "1.3", "predict",
    task="Before running the next cell, predict the condition number kappa(AᵀA) of the "
         "matrix of the normal equations, knowing kappa(A) printed above; set "
         "kappa_normal_prediction to your number.",
    hints=["The singular values of AᵀA are related to those of A: write AᵀA with the SVD "
           "A = U diag(s) Vᵀ.",
           "AᵀA = V diag(s²) Vᵀ: its singular values are the squares s_i².",
           "kappa(AᵀA) = s_1² / s_R² = kappa(A)²; square the number printed above."])
register_exercise(
    "1.4", "interpret",
    task="Look at the Picard plot: what happens at the index where the blue coefficients "
         "|u_iᵀy| stop falling and flatten out? Set picard_answer to the letter of your "
         "choice.",
    hints=["Compare the level where the blue dots flatten with the dashed line.",
           "The noise n adds a coefficient u_iᵀn of size about σ in every direction i, "
           "whatever s_i is; the signal part s_i (v_iᵀx) keeps shrinking.",
           "Past that index the blue dots are mostly noise, so dividing them by s_i only "
           "amplifies noise: look for the option that says so."])
register_exercise(
    "1.5", "implement",
    task="Write tsvd(U, s, Vt, y, k) returning the truncated-SVD solution x_k that keeps "
         "the k largest singular values (all zeros for k = 0).",
    hints=["x_k is a sum over i < k of a coefficient times a right singular vector. Which "
           "coefficient?",
           "The coefficient of v_i is (u_iᵀy) / s_i; the u_i are the columns of U, the v_i "
           "the rows of Vt.",
           "coefficients = U[:, :k].T @ y / s[:k], then return Vt[:k].T @ coefficients."])
register_exercise(
    "1.6", "predict",
    task="Before running the next cell, predict the truncation k with the smallest relative "
         "error at sigma = 3e-3, from the best k at sigma = 1e-2 and at sigma = 1e-3 (both "
         "printed above), and set best_k_experiment to it.",
    hints=["Less noise means the noise-free coefficients s_i |v_iᵀx| stay above the noise "
           "level for more indices i: more components are worth keeping. So the best k at "
           "σ = 3e-3 lies between the two printed ones.",
           "On the Picard plot the coefficients decay roughly geometrically, so what matters "
           "is log σ: 3e-3 is about halfway between 1e-2 and 1e-3 on a log scale. The best k "
           "also depends on the exact coefficients near the crossing, so aim for the middle "
           "of the range, a little towards the larger noise.",
           "Halfway between 44 and 66 is 55; the coefficients around i = 50 are close to the "
           "noise level, so a guess in the low fifties is reasonable."])

#: The forward problem of notebook 01 (section 1), rebuilt by the value checks.
NOTEBOOK_N, NOTEBOOK_KERNEL_SIGMA = 128, 2.0


class _ForbiddenCall(Exception):
    """Raised in place of a library routine that an exercise asks not to use."""

    def __init__(self, name):
        super().__init__(f"{name} is not allowed in this exercise")
        self.name = name


def _code_names(code) -> set:
    """Every global and attribute name a function's code (and its nested code) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


@contextlib.contextmanager
def _forbid(*names):
    """Replace ``numpy.linalg.<name>`` (and ``scipy.linalg.<name>`` when scipy is loaded)
    by a function raising :class:`_ForbiddenCall` while the student's code runs; the
    originals are restored on exit, whatever happens."""
    modules = [np.linalg] + [sys.modules[m] for m in ("scipy.linalg",) if m in sys.modules]
    saved = []
    try:
        for module in modules:
            for name in names:
                if hasattr(module, name):
                    saved.append((module, name, getattr(module, name)))

                    def forbidden(*args, _name=f"{module.__name__}.{name}", **kwargs):
                        raise _ForbiddenCall(_name)

                    setattr(module, name, forbidden)
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def _call_without(fn, names, why, *args, called_with=""):
    """Call the student's function with the library routines ``names`` forbidden: a
    call to one of them (or a reference to one by name in the function's code) is a
    :class:`CheckFailure` saying ``why`` it is not allowed."""
    code = getattr(fn, "__code__", None)
    used = sorted(_code_names(code) & set(names)) if code is not None else []
    if used:
        raise CheckFailure(f"your function uses {used[0]}, which this exercise asks you "
                           f"not to call: {why}")
    try:
        with _forbid(*names):
            return call_student(fn, *args, called_with=called_with)
    except StudentError as err:
        if isinstance(err.original, _ForbiddenCall):
            raise CheckFailure(f"your function calls {err.original.name}, which this "
                               f"exercise asks you not to use: {why}") from None
        raise


def _random_problem(m, n, rank=None, seed=0, decay=None):
    """A random (m, n) matrix with known SVD (orthonormal factors, chosen values)."""
    rng = np.random.default_rng(seed)
    r = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = np.linspace(3.0, 0.5, r) if decay is None else decay ** np.arange(r)
    if rank is not None:
        s[rank:] = 0.0
    return U @ np.diag(s) @ V.T, (U, s, V.T)


def _normal_advice(exc):
    if "square" in str(exc):
        return ("A has shape (12, 5): it is not square, so A^{-1} does not exist. The "
                "5 x 5 matrix A^T A is invertible: solve A^T A x = A^T y.")
    return None


@exercise_check("1.1", advice=_normal_advice,
                success="the residual is orthogonal to every column of A.")
def check_normal_equations(normal_equations) -> str | None:
    """Check ``normal_equations(A, y) -> x_hat``, the least-squares solution.

    Parameters
    ----------
    normal_equations : callable
        The student's function: ``A`` of shape (M, N) with M >= N and full column
        rank, ``y`` of shape (M,), returns ``x_hat`` of shape (N,).

    Returns
    -------
    bool
        True when ``A^T (A x_hat - y) = 0`` on a test problem; prints what is wrong
        otherwise (never raises).
    """
    A, _ = _random_problem(12, 5, seed=1)
    rng = np.random.default_rng(2)
    y = rng.standard_normal(12)
    out = _call_without(normal_equations, ("lstsq", "pinv"),
                        "the point is to solve the normal equations AᵀA x = Aᵀy yourself "
                        "(np.linalg.solve is fine).", A.copy(), y.copy(),
                        called_with="A of shape (12, 5) and y of shape (12,)")
    x_hat = as_result(out, what="normal_equations(A, y)")
    if x_hat.shape == (12,):
        raise CheckFailure("x_hat has one entry per row of A (shape (12,)); it needs one "
                           "per column (shape (5,)): the unknown is x, not y.")
    if x_hat.shape != (5,):
        raise CheckFailure(f"x_hat must have shape (5,) for A of shape (12, 5), got "
                           f"{x_hat.shape}")
    reference = np.linalg.lstsq(A, y, rcond=None)[0]
    if matches(x_hat, reference, 1e-8):
        return None
    if matches(x_hat, A.T @ y, 1e-8):
        raise CheckFailure("you returned A^T y, the right-hand side. Solve "
                           "A^T A x = A^T y for x (np.linalg.solve(A.T @ A, A.T @ y)).")
    gradient = A.T @ (A @ x_hat - y)
    size = np.linalg.norm(A.T @ y)
    raise CheckFailure(
        f"the normal equations are not satisfied: ||A^T (A x_hat - y)|| / ||A^T y|| = "
        f"{np.linalg.norm(gradient) / size:.1e} (should be ~1e-15). At the least-squares "
        f"solution the residual A x_hat - y is orthogonal to every column of A; your "
        f"x_hat is {rel_error(x_hat, reference):.1e} away from it (relative).")


def _pinv_advice(exc):
    text = str(exc)
    if "matmul" in text or "shapes" in text or "broadcast" in text:
        return ("With np.linalg.svd(A) the default full_matrices=True gives a square U "
                "that does not match s: use np.linalg.svd(A, full_matrices=False).")
    if "square" in text:
        return "np.linalg.inv needs a square matrix; build A+ from the SVD instead."
    return None


@exercise_check("1.2", advice=_pinv_advice,
                success="your A+ satisfies the four Penrose conditions on tall, wide and "
                        "rank-deficient matrices.")
def check_pseudo_inverse(pseudo_inverse) -> str | None:
    """Check ``pseudo_inverse(A, rcond=1e-10) -> A_plus`` built from the SVD.

    Parameters
    ----------
    pseudo_inverse : callable
        The student's function: ``A`` of shape (M, N), returns ``A_plus`` of shape
        (N, M); singular values below ``rcond * s_max`` count as zero.

    Returns
    -------
    bool
        True when the result equals ``np.linalg.pinv`` on a tall, a wide and a
        rank-deficient matrix; prints what is wrong otherwise (never raises).
    """
    cases = [("a tall (7, 4) matrix", *_random_problem(7, 4, seed=3)),
             ("a wide (4, 6) matrix", *_random_problem(4, 6, seed=4)),
             ("a rank-2 (6, 5) matrix", *_random_problem(6, 5, rank=2, seed=5))]
    for label, A, (U, s, Vt) in cases:
        m, n = A.shape
        out = _call_without(pseudo_inverse, ("pinv", "lstsq"),
                            "they compute the pseudo-inverse for you, and the exercise is "
                            "to build A+ = V diag(1/s) Uᵀ from the SVD (np.linalg.svd is "
                            "the one routine to use).", A.copy(), called_with=label)
        if out is not None and np.shape(out) == (m, n) and m != n:
            raise CheckFailure(
                f"for {label} your A+ has shape {(m, n)}; it must be {(n, m)} because "
                "A+ maps measurements back to images: A+ = V diag(1/s) U^T (V first).")
        rank_deficient = "rank" in label
        try:
            A_plus = as_result(out, shape=(n, m), what="pseudo_inverse(A)")
        except CheckFailure as failure:
            if rank_deficient and "NaN or inf" in str(failure):
                raise CheckFailure(
                    f"on {label} your A+ contains inf/NaN: its zero singular values were "
                    "inverted. Set 1/s_i to 0 for s_i <= rcond * s[0].") from None
            raise
        keep = s > 1e-10 * s[0]
        reference = Vt[keep].T @ np.diag(1 / s[keep]) @ U[:, keep].T
        if matches(A_plus, reference, 1e-6):
            continue
        if matches(A_plus, Vt.T @ np.diag(s) @ U.T, 1e-6):
            raise CheckFailure("you multiplied by the singular values: the pseudo-inverse "
                               "divides by them, A+ = V diag(1/s_i) U^T.")
        if rank_deficient and np.max(np.abs(A_plus)) > 1e6 * np.max(np.abs(reference)):
            raise CheckFailure(
                f"on {label} your A+ has entries as large as {np.max(np.abs(A_plus)):.1e}: "
                "round-off singular values (about 1e-16) were inverted. Treat "
                "s_i <= rcond * s[0] as exactly zero (1/s_i replaced by 0).")
        penrose = rel_error(A @ A_plus @ A, A)
        raise CheckFailure(
            f"on {label} your A+ differs from the pseudo-inverse by "
            f"{rel_error(A_plus, reference):.1e} "
            f"(relative); ||A A+ A - A|| / ||A|| = {penrose:.1e} should be ~1e-15. Check "
            "which factor is transposed: A = U diag(s) Vt, so A+ = Vt.T diag(1/s) U.T.")
    return None


def _tsvd_advice(exc):
    text = str(exc)
    if "matmul" in text or "shapes" in text or "broadcast" in text:
        return ("The coefficients u_i^T y use U (y has M entries: U[:, :k].T @ y) and the "
                "solution is built from the rows of Vt (Vt[:k].T @ ...).")
    return None


@exercise_check("1.5", advice=_tsvd_advice,
                success="your TSVD matches the reference for every k.")
def check_tsvd(tsvd) -> str | None:
    """Check ``tsvd(U, s, Vt, y, k) -> x_k``, the truncated-SVD solution.

    Parameters
    ----------
    tsvd : callable
        The student's function: the thin SVD of A (``U`` (M, R), ``s`` (R,)
        non-increasing, ``Vt`` (R, N)), ``y`` of shape (M,), ``k`` in ``0..R``; returns
        ``x_k`` of shape (N,) built from the ``k`` largest singular values.

    Returns
    -------
    bool
        True when ``x_k`` equals the reference for k = 0, 1, 3 and R on a test problem;
        prints what is wrong otherwise (never raises).
    """
    A, (U, s, Vt) = _random_problem(9, 6, seed=6, decay=0.5)
    y = np.random.default_rng(7).standard_normal(9)
    r = s.shape[0]
    svd = (U, s, Vt)
    for k in (3, 1, r, 0):
        out = call_student(tsvd, U.copy(), s.copy(), Vt.copy(), y.copy(), k,
                           called_with=f"k = {k} (U (9, 6), s (6,), Vt (6, 6), y (9,))")
        x_k = as_result(out, what=f"tsvd(U, s, Vt, y, k={k})")
        if x_k.shape == (9,):
            raise CheckFailure("x_k has one entry per measurement (shape (9,)); the "
                               "solution lives in the span of the right singular vectors, "
                               "rows of Vt, with shape (6,).")
        if x_k.shape != (6,):
            raise CheckFailure(f"x_k must have shape (6,), got {x_k.shape}")
        reference = svd_filter(svd, y, "tsvd", k=k)
        if matches(x_k, reference, 1e-8):
            continue
        if k == 0:
            raise CheckFailure("with k = 0 no singular value is kept, so x_k must be all "
                               f"zeros; yours has norm {np.linalg.norm(x_k):.2g}.")
        if k + 1 <= r and matches(x_k, svd_filter(svd, y, "tsvd", k=k + 1), 1e-8):
            raise CheckFailure(f"for k = {k} you kept {k + 1} components: keep exactly the "
                               f"first k, s[:k] (indices 0 to k-1).")
        if matches(x_k, svd_filter(svd, y, "tsvd", k=k - 1), 1e-8):
            raise CheckFailure(f"for k = {k} you kept only {k - 1} components: s[:k] has k "
                               "entries (indices 0 to k-1).")
        smallest = Vt[r - k:].T @ ((U[:, r - k:].T @ y) / s[r - k:])
        if matches(x_k, smallest, 1e-8):
            raise CheckFailure("you kept the k smallest singular values: s is sorted in "
                               "decreasing order, so the k largest are s[:k].")
        multiplied = Vt[:k].T @ ((U[:, :k].T @ y) * s[:k])
        if matches(x_k, multiplied, 1e-8):
            raise CheckFailure("you multiplied the coefficients u_i^T y by s_i; TSVD divides "
                               "by them: x_k = sum_i (u_i^T y / s_i) v_i.")
        raise CheckFailure(f"for k = {k} your x_k differs from the TSVD solution by "
                           f"{rel_error(x_k, reference):.1e} (relative). Expected "
                           "x_k = sum_(i<k) (u_i^T y / s_i) v_i.")
    return None


# -- the value exercises (predict, interpret, experiment) on the notebook's own problem ---------
def _notebook_problem(sigma: float):
    """The blur, signal, data and SVD of notebook 01 (section 1) at noise level sigma."""
    A = deconvolution_matrix(NOTEBOOK_N, NOTEBOOK_KERNEL_SIGMA)
    x = signal_1d(NOTEBOOK_N)
    y = add_noise(A @ x, sigma, seed=0)
    return A, x, y, compute_svd(A)


def _last_informative_index(svd, x, sigma: float) -> int:
    """The last index i (1-based) whose noise-free coefficient |u_iᵀ A x| = s_i |v_iᵀ x|
    is still at least sigma: beyond it the noise dominates every coefficient."""
    U, s, Vt = svd
    clean = np.abs(s * (Vt @ x))
    above = np.flatnonzero(clean >= sigma)
    return int(above[-1]) + 1 if above.size else 0


@answer_check("1.3")
def check_kappa_normal(kappa_normal_prediction):
    """Judge a prediction of ``kappa(AᵀA)`` for the blur of notebook 01.

    Parameters
    ----------
    kappa_normal_prediction : float
        The student's number.

    Returns
    -------
    bool
        True within a factor 10 of ``kappa(A)²`` (computed from the SVD of ``A``);
        prints why the squared condition number matters, whatever the answer.
    """
    A, _, _, (U, s, Vt) = _notebook_problem(0.0)
    kappa = float(s[0] / s[-1])
    actual = kappa ** 2
    computed = float(np.linalg.cond(A.T @ A))
    eps = float(np.finfo(float).eps)
    why = (f"AᵀA = V diag(s²) Vᵀ, so its singular values are the squares s_i² and "
           f"kappa(AᵀA) = kappa(A)² = ({kappa:.2e})² = {actual:.2e}. That is beyond "
           f"1/eps = {1 / eps:.1e}: solving the normal equations of this blur in double "
           f"precision loses every digit, while the SVD route works with A itself "
           f"(kappa {kappa:.1e}). Even measuring it fails: np.linalg.cond(A.T @ A) gives "
           f"{computed:.1e}, because the smallest s_i² (about {s[-1] ** 2:.0e}) are below the "
           f"round-off of the formed matrix (about {eps * s[0] ** 2:.0e}).")
    value = float(kappa_normal_prediction) if isinstance(
        kappa_normal_prediction, (int, float, np.integer, np.floating)) and not isinstance(
        kappa_normal_prediction, bool) else None
    correct, text = judge_number(kappa_normal_prediction, actual, factor=10.0, why=why,
                                 what="kappa_normal_prediction")
    if not correct and value is not None and value > 0:
        if max(value / kappa, kappa / value) <= 10:
            text += (" Your number is about kappa(A) itself: forming AᵀA does not keep the "
                     "conditioning, it squares it.")
        elif value < kappa:
            text += (" Your number is smaller than kappa(A): multiplying A by Aᵀ never "
                     "improves the conditioning, it squares every singular value.")
    return correct, text


def check_picard_reading_options(sigma: float = 1e-2) -> dict:
    """The options of exercise 1.4, each with its explanation quoting the notebook's own
    numbers (computed here from the library)."""
    A, x, y, svd = _notebook_problem(sigma)
    U, s, Vt = svd
    coeffs, _ = picard_coefficients(U, s, y)
    last = _last_informative_index(svd, x, sigma)
    beyond = float(np.median(coeffs[last:])) if last < s.size else float("nan")
    hidden = float(np.linalg.norm(Vt[last:] @ x) / np.linalg.norm(x))
    clean_tail = float(np.abs(s[-1] * (Vt[-1] @ x)))
    return {
        "a": (False, f"the singular values do not stop: the black curve keeps falling, from "
                     f"s_{last} = {s[last - 1]:.1e} to s_{s.size} = {s[-1]:.1e}. What "
                     "flattens is the data coefficients |u_iᵀy|, not s_i."),
        "b": (True, f"beyond i ≈ {last} the noise-free coefficients s_i |v_iᵀx| are below "
                    f"σ = {sigma:g}, so |u_iᵀy| is mostly the noise u_iᵀn (median "
                    f"{beyond:.1e} there, of the order of σ). Dividing noise by ever "
                    "smaller s_i makes the red ratios grow like σ / s_i: those components carry no "
                    "information about x and must not be inverted (TSVD cuts them)."),
        "c": (False, f"x does have components there: the part of x along v_i for "
                     f"i > {last} is {hidden:.0%} of ‖x‖. The noise-free coefficients keep "
                     f"falling (down to {clean_tail:.0e} at i = {s.size}); they are not zero "
                     "but hidden under the noise floor σ, which is why they cannot be "
                     "recovered."),
        "d": (False, f"round-off is about 1e-16 × ‖y‖, some 14 orders of magnitude below "
                     f"the floor at σ = {sigma:g}. The floor is the noise: it moves with σ "
                     "(try the widget at σ = 1e-4), round-off does not."),
    }


@answer_check("1.4")
def check_picard_reading(picard_answer):
    """Judge the reading of the Picard plot (exercise 1.4, multiple choice a–d).

    Parameters
    ----------
    picard_answer : str
        One letter.

    Returns
    -------
    bool
        True for the option that names the noise floor; every option prints its own
        explanation, with the notebook's numbers.
    """
    return judge_choice(picard_answer, check_picard_reading_options())


EXPERIMENT_SIGMA = 3e-3


@answer_check("1.6")
def check_best_truncation(best_k_experiment):
    """Judge the predicted best truncation index at σ = 3e-3 (exercise 1.6).

    Parameters
    ----------
    best_k_experiment : int
        The student's k, 1 to 128.

    Returns
    -------
    bool
        True when its relative error is within 5 % of the best one over every k
        (computed here from the library, with the widget's data); prints how far it is
        and why.
    """
    if isinstance(best_k_experiment, (float, np.floating)) and \
            float(best_k_experiment).is_integer():
        best_k_experiment = int(best_k_experiment)
    if isinstance(best_k_experiment, bool) or not isinstance(best_k_experiment,
                                                             (int, np.integer)):
        raise CheckFailure(f"best_k_experiment must be a whole number k from 1 to "
                           f"{NOTEBOOK_N}, got {best_k_experiment!r}.")
    if not 1 <= best_k_experiment <= NOTEBOOK_N:
        raise CheckFailure(f"k must be between 1 and {NOTEBOOK_N}, got "
                           f"{best_k_experiment}.")
    sigma = EXPERIMENT_SIGMA
    _, x, y, svd = _notebook_problem(sigma)
    ks = np.arange(1, NOTEBOOK_N + 1)
    errors = filter_error_curve(svd, y, x, "tsvd", ks=ks)
    best = int(ks[np.argmin(errors)])
    last = _last_informative_index(svd, x, sigma)
    k = int(best_k_experiment)
    if k < best:
        side = ("Below the best k the reconstruction throws away components that still "
                "carry signal and comes out too smooth (regularisation error).")
    elif k > best:
        side = ("Above the best k the extra components are mostly noise divided by small "
                "s_i (perturbation error).")
    else:
        side = "That is the best k."
    why = (f"{side} At σ = {sigma:g} the noise-free coefficients s_i |v_iᵀx| stay above σ "
           f"up to about i = {last}, and the best k ({best}) sits near that point of the "
           f"Picard plot; with σ = 1e-2 both were lower (best k 44): less noise, more "
           "components worth keeping.")
    scores = {int(kk): float(e) for kk, e in zip(ks, errors)}
    return judge_best(k, scores, why=why, what="your k", higher_is_better=False,
                      tolerance=0.05 * float(errors.min()), fmt=".3g")
