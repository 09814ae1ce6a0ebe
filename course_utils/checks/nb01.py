"""Self-checks for notebook 01 (least squares and ill-posedness)."""
from __future__ import annotations

import numpy as np

from ..illposed import svd_filter
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_normal_equations", "check_pseudo_inverse", "check_tsvd"]

HINTS = {
    "1.1": "solve the linear system (A^T A) x = A^T y; np.linalg.solve(M, b) solves M x = b.",
    "1.2": "take the thin SVD, np.linalg.svd(A, full_matrices=False); invert the singular "
           "values above rcond * s[0], use 0 for the others; assemble V diag(1/s) U^T "
           "(V = Vt.T).",
    "1.3": "project y on the first k left singular vectors (U[:, :k].T @ y), divide by "
           "s[:k], and combine the first k right singular vectors (the rows Vt[:k]).",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


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
    out = call_student(normal_equations, A.copy(), y.copy(),
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
        out = call_student(pseudo_inverse, A.copy(), called_with=label)
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


@exercise_check("1.3", advice=_tsvd_advice,
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
