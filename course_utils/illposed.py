"""SVD tools for ill-posed least squares: filter factors, TSVD/Tikhonov, Picard plot, condition."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar

__all__ = [
    "SVD", "compute_svd", "filter_factors", "svd_filter", "picard_coefficients",
    "condition_number", "naive_inverse", "noise_blowup", "filter_error_curve", "plot_picard",
]

_METHODS = ("tsvd", "tikhonov")


class SVD(NamedTuple):
    """A thin singular value decomposition ``A = U diag(s) Vt``.

    Attributes
    ----------
    U : ndarray of shape (M, R)
        Left singular vectors ``u_i`` as columns.
    s : ndarray of shape (R,)
        Singular values, non-increasing, ``R = min(M, N)``.
    Vt : ndarray of shape (R, N)
        Right singular vectors ``v_i`` as rows.
    """

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray


def _as_matrix(A, name="A") -> np.ndarray:
    """A 2-D array from an ndarray or a small LinearOperator acting on vectors."""
    if hasattr(A, "to_matrix") and hasattr(A, "in_shape"):
        if len(A.in_shape) != 1 or len(A.out_shape) != 1:
            raise ValueError(f"{name} must act on 1-D vectors, got an operator with "
                             f"in_shape {A.in_shape} and out_shape {A.out_shape}")
        A = A.to_matrix()
    mat = as_array(A, name, ndim=2)
    if mat.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {mat.shape}")
    return mat


def compute_svd(A) -> SVD:
    """Thin SVD of a matrix, as the named triple ``(U, s, Vt)``.

    Parameters
    ----------
    A : ndarray of shape (M, N) or LinearOperator on vectors
        The forward matrix (an operator is converted with ``to_matrix()``).

    Returns
    -------
    SVD
        ``(U, s, Vt)`` with ``A = U @ np.diag(s) @ Vt``; unpacks like a tuple.

    Notes
    -----
    :math:`A = \\sum_{i=1}^{R} s_i u_i v_i^T` with :math:`s_1 \\ge \\dots \\ge s_R \\ge 0`.
    """
    mat = _as_matrix(A)
    U, s, Vt = np.linalg.svd(mat, full_matrices=False)
    return SVD(U, s, Vt)


def _as_svd(A_or_svd, name="A") -> SVD:
    """Accept a matrix, an operator or an existing ``(U, s, Vt)`` triple."""
    if isinstance(A_or_svd, tuple):
        if len(A_or_svd) != 3:
            raise ValueError(f"{name} must be a matrix or a (U, s, Vt) triple, "
                             f"got a tuple of length {len(A_or_svd)}")
        U = as_array(A_or_svd[0], "U", ndim=2)
        s = as_array(A_or_svd[1], "s", ndim=1, allow_complex=False, dtype=np.float64)
        Vt = as_array(A_or_svd[2], "Vt", ndim=2)
        r = s.shape[0]
        if U.shape[1] != r or Vt.shape[0] != r:
            raise ValueError(f"U, s, Vt do not match: U has {U.shape[1]} columns, s has "
                             f"{r} values, Vt has {Vt.shape[0]} rows")
        if np.any(s < 0):
            raise ValueError("s must be non-negative singular values")
        if r > 1 and np.any(np.diff(s) > 1e-12 * max(s[0], np.finfo(float).tiny)):
            raise ValueError("s must be sorted in non-increasing order")
        return SVD(U, s, Vt)
    return compute_svd(A_or_svd) if not isinstance(A_or_svd, SVD) else A_or_svd


def filter_factors(s, method: str = "tsvd", *, k: int | None = None,
                   lam: float | None = None) -> np.ndarray:
    """Filter factors ``phi_i`` of a spectral regularisation method.

    Parameters
    ----------
    s : ndarray of shape (R,)
        Singular values, non-increasing.
    method : {"tsvd", "tikhonov"}
        Truncated SVD (needs ``k``) or Tikhonov (needs ``lam``).
    k : int, optional
        Truncation index, ``0 <= k <= R``: the ``k`` largest singular values are kept.
    lam : float, optional
        Tikhonov weight ``lam >= 0``.

    Returns
    -------
    ndarray of shape (R,)
        ``phi_i`` in [0, 1].

    Notes
    -----
    A filtered solution is :math:`\\hat x = \\sum_i \\phi_i \\frac{u_i^T y}{s_i} v_i`.

    - TSVD: :math:`\\phi_i = 1` for :math:`i \\le k`, else 0.
    - Tikhonov, minimiser of :math:`\\tfrac12\\|Ax-y\\|^2 + \\tfrac{\\lambda}{2}\\|x\\|^2`:
      :math:`\\phi_i = s_i^2 / (s_i^2 + \\lambda)`.

    A zero singular value always gets :math:`\\phi_i = 0` (its component is not
    observed at all), so ``lam = 0`` gives the pseudo-inverse.

    References
    ----------
    P. C. Hansen, *Discrete Inverse Problems: Insight and Algorithms*, SIAM, 2010, §4.
    """
    s = as_array(s, "s", ndim=1, allow_complex=False, dtype=np.float64)
    if np.any(s < 0):
        raise ValueError("s must be non-negative singular values")
    method = check_choice(method, "method", _METHODS)
    if method == "tsvd":
        if k is None:
            raise ValueError("method='tsvd' needs the truncation index k")
        if lam is not None:
            raise ValueError("method='tsvd' takes k, not lam")
        k = check_int(k, "k", low=0, high=s.shape[0])
        phi = np.zeros_like(s)
        phi[:k] = 1.0
        phi[s == 0] = 0.0
        return phi
    if lam is None:
        raise ValueError("method='tikhonov' needs the regularisation weight lam")
    if k is not None:
        raise ValueError("method='tikhonov' takes lam, not k")
    lam = check_scalar(lam, "lam", low=0.0)
    s2 = s ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(s > 0, s2 / (s2 + lam), 0.0)
    return phi


def svd_filter(A, y, method: str = "tsvd", *, k: int | None = None,
               lam: float | None = None) -> np.ndarray:
    """Spectrally filtered least-squares solution (TSVD or Tikhonov) through the SVD.

    Parameters
    ----------
    A : ndarray of shape (M, N), LinearOperator on vectors, or (U, s, Vt)
        The forward matrix or its thin SVD (pass the SVD when solving many times).
    y : ndarray of shape (M,)
        The measurement.
    method : {"tsvd", "tikhonov"}
        Which filter (see :func:`filter_factors`).
    k : int, optional
        TSVD truncation index, ``0 <= k <= min(M, N)``.
    lam : float, optional
        Tikhonov weight, ``lam >= 0``.

    Returns
    -------
    x_hat : ndarray of shape (N,)
        :math:`\\hat x = \\sum_i \\phi_i \\frac{u_i^T y}{s_i} v_i`.

    Notes
    -----
    With ``k = R`` (or ``lam = 0``) this is the pseudo-inverse solution
    :math:`A^{+} y`, the minimum-norm least-squares solution.

    References
    ----------
    P. C. Hansen, *Discrete Inverse Problems: Insight and Algorithms*, SIAM, 2010.
    """
    U, s, Vt = _as_svd(A)
    y = as_array(y, "y", ndim=1, shape=(U.shape[0],))
    phi = filter_factors(s, method, k=k, lam=lam)
    coeffs = U.conj().T @ y
    keep = phi > 0
    scaled = np.zeros_like(coeffs)
    scaled[keep] = phi[keep] * coeffs[keep] / s[keep]
    return Vt.conj().T @ scaled


def picard_coefficients(U, s, y) -> tuple[np.ndarray, np.ndarray]:
    """The two curves of the Picard plot: ``|u_i^T y|`` and ``|u_i^T y| / s_i``.

    Parameters
    ----------
    U : ndarray of shape (M, R)
        Left singular vectors as columns.
    s : ndarray of shape (R,)
        Singular values.
    y : ndarray of shape (M,)
        The measurement.

    Returns
    -------
    coeffs : ndarray of shape (R,)
        :math:`|u_i^T y|`.
    ratios : ndarray of shape (R,)
        :math:`|u_i^T y| / s_i` (``inf`` where ``s_i = 0``).

    Notes
    -----
    The discrete Picard condition holds when :math:`|u_i^T y|` decays faster than
    :math:`s_i`; the noise coefficients level off at about :math:`\\sigma`, and from
    that index on the ratios grow: those components must be filtered out.

    References
    ----------
    P. C. Hansen, "The discrete Picard condition for discrete ill-posed problems",
    BIT 30 (1990) 658–672.
    """
    U = as_array(U, "U", ndim=2)
    s = as_array(s, "s", ndim=1, allow_complex=False, dtype=np.float64)
    if U.shape[1] != s.shape[0]:
        raise ValueError(f"U has {U.shape[1]} columns but s has {s.shape[0]} values")
    if np.any(s < 0):
        raise ValueError("s must be non-negative singular values")
    y = as_array(y, "y", ndim=1, shape=(U.shape[0],))
    coeffs = np.abs(U.conj().T @ y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(s > 0, coeffs / np.where(s > 0, s, 1.0), np.inf)
    return coeffs, ratios


def condition_number(A) -> float:
    """Condition number ``s_max / s_min`` of a matrix (``inf`` if it is singular).

    Parameters
    ----------
    A : ndarray of shape (M, N), LinearOperator on vectors, (U, s, Vt), or
        ndarray of shape (R,) of singular values
        The matrix, its SVD, or its singular values.

    Returns
    -------
    float
        :math:`\\kappa(A) = s_1 / s_R`.

    Notes
    -----
    For :math:`Ax = y` and a perturbation :math:`\\delta y`,
    :math:`\\|\\delta x\\| / \\|x\\| \\le \\kappa(A)\\, \\|\\delta y\\| / \\|y\\|`.
    Computed singular values below about :math:`10^{-16} s_1` are round-off, so a
    condition number near :math:`10^{16}` or more means "numerically singular".
    """
    if isinstance(A, tuple):
        s = _as_svd(A).s
    else:
        arr = A if hasattr(A, "to_matrix") else as_array(A, "A", ndim=(1, 2))
        if getattr(arr, "ndim", None) == 1:
            s = as_array(arr, "A", allow_complex=False, dtype=np.float64)
            if s.size == 0 or np.any(s < 0):
                raise ValueError("singular values A must be non-empty and non-negative")
        else:
            s = np.linalg.svd(_as_matrix(arr), compute_uv=False)
    s_max, s_min = float(np.max(s)), float(np.min(s))
    if s_min == 0.0:
        return float("inf")
    return s_max / s_min


def naive_inverse(A, y) -> np.ndarray:
    """Unregularised solution ``A^+ y`` that inverts every singular value.

    Parameters
    ----------
    A : ndarray of shape (M, N), LinearOperator on vectors, or (U, s, Vt)
        The forward matrix or its thin SVD.
    y : ndarray of shape (M,)
        The measurement.

    Returns
    -------
    x_hat : ndarray of shape (N,)
        :math:`\\sum_{s_i > 0} \\frac{u_i^T y}{s_i} v_i` — for an invertible ``A`` this
        is :math:`A^{-1} y`, including the round-off-sized singular values.

    Notes
    -----
    With :math:`y = Ax + n`, :math:`\\hat x - x = \\sum_i \\frac{u_i^T n}{s_i} v_i`: noise in
    the direction of :math:`u_i` is amplified by :math:`1/s_i`. See :func:`noise_blowup`.
    """
    svd = _as_svd(A)
    return svd_filter(svd, y, "tsvd", k=svd.s.shape[0])


def noise_blowup(A, sigma: float) -> float:
    """Expected norm of the naive inverse's error for white noise of std ``sigma``.

    Parameters
    ----------
    A : ndarray of shape (M, N), LinearOperator on vectors, (U, s, Vt), or
        ndarray of shape (R,) of singular values
        The forward matrix, its SVD or its singular values.
    sigma : float
        Noise standard deviation, ``sigma >= 0``.

    Returns
    -------
    float
        :math:`\\sqrt{E\\|A^{+} n\\|^2} = \\sigma \\sqrt{\\sum_{s_i>0} s_i^{-2}}`.

    Notes
    -----
    With :math:`n \\sim \\mathcal N(0, \\sigma^2 I)` the coefficients :math:`u_i^T n` are
    independent with variance :math:`\\sigma^2`, so the error
    :math:`\\sum_i (u_i^T n / s_i) v_i` has mean squared norm
    :math:`\\sigma^2 \\sum_i s_i^{-2}`: dominated by the smallest singular values.
    """
    sigma = check_scalar(sigma, "sigma", low=0.0)
    if isinstance(A, tuple):
        s = _as_svd(A).s
    elif not hasattr(A, "to_matrix") and np.ndim(A) == 1:
        s = as_array(A, "A", allow_complex=False, dtype=np.float64)
        if np.any(s < 0):
            raise ValueError("singular values A must be non-negative")
    else:
        s = np.linalg.svd(_as_matrix(A), compute_uv=False)
    s = s[s > 0]
    if sigma == 0.0:
        return 0.0
    return float(sigma * np.sqrt(np.sum(1.0 / s ** 2)))


def filter_error_curve(A, y, x, method: str = "tsvd", *, ks=None, lams=None) -> np.ndarray:
    """Relative error ``||x_hat - x|| / ||x||`` of TSVD or Tikhonov over many parameters.

    Parameters
    ----------
    A : ndarray of shape (M, N), LinearOperator on vectors, or (U, s, Vt)
        The forward matrix or its thin SVD.
    y : ndarray of shape (M,)
        The measurement.
    x : ndarray of shape (N,)
        The true signal (non-zero).
    method : {"tsvd", "tikhonov"}
        Which filter.
    ks : sequence of int, optional
        Truncation indices for TSVD (default: ``0, 1, ..., R``).
    lams : sequence of float
        Tikhonov weights (required for ``method="tikhonov"``).

    Returns
    -------
    ndarray
        One relative error per parameter.

    Notes
    -----
    In the basis of the right singular vectors the error splits into the filtered
    components and the part of ``x`` outside the row space:
    :math:`\\|\\hat x - x\\|^2 = \\sum_i (\\phi_i \\beta_i / s_i - v_i^T x)^2
    + \\|x - V V^T x\\|^2`, with :math:`\\beta_i = u_i^T y`; no solution is formed.
    """
    U, s, Vt = _as_svd(A)
    y = as_array(y, "y", ndim=1, shape=(U.shape[0],))
    x = as_array(x, "x", ndim=1, shape=(Vt.shape[1],))
    x_norm = np.linalg.norm(x)
    if x_norm == 0:
        raise ValueError("x must be non-zero to measure a relative error")
    method = check_choice(method, "method", _METHODS)
    beta = U.conj().T @ y
    alpha = Vt @ x
    outside = max(x_norm ** 2 - np.linalg.norm(alpha) ** 2, 0.0)
    safe_s = np.where(s > 0, s, 1.0)
    if method == "tsvd":
        if lams is not None:
            raise ValueError("method='tsvd' takes ks, not lams")
        params = range(s.shape[0] + 1) if ks is None else ks
        params = [check_int(k, "ks", low=0, high=s.shape[0]) for k in params]
    else:
        if lams is None:
            raise ValueError("method='tikhonov' needs lams")
        if ks is not None:
            raise ValueError("method='tikhonov' takes lams, not ks")
        params = [check_scalar(lam, "lams", low=0.0) for lam in np.atleast_1d(lams)]
    errors = np.empty(len(params))
    for j, p in enumerate(params):
        phi = filter_factors(s, method, **({"k": p} if method == "tsvd" else {"lam": p}))
        comp = phi * beta / safe_s - alpha
        errors[j] = np.sqrt(np.sum(np.abs(comp) ** 2) + outside) / x_norm
    return errors


def plot_picard(s, y_or_coeffs, U=None, *, k: int | None = None, sigma: float | None = None,
                ax=None) -> dict:
    """Draw a Picard plot: ``s_i``, ``|u_i^T y|`` and ``|u_i^T y| / s_i`` against ``i``.

    Parameters
    ----------
    s : ndarray of shape (R,)
        Singular values.
    y_or_coeffs : ndarray
        The measurement ``y`` of shape (M,) when ``U`` is given, else the coefficients
        ``|u_i^T y|`` of shape (R,).
    U : ndarray of shape (M, R), optional
        Left singular vectors (then ``y_or_coeffs`` is ``y``).
    k : int, optional
        A truncation index to mark with a vertical line.
    sigma : float, optional
        Noise level to mark with a horizontal line (the level of ``|u_i^T n|``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    dict
        The artists, to update in place: ``"s"``, ``"coeffs"``, ``"ratios"`` (lines) and
        ``"k"``, ``"sigma"`` (or None).

    References
    ----------
    P. C. Hansen, "The discrete Picard condition for discrete ill-posed problems",
    BIT 30 (1990) 658–672.
    """
    s = as_array(s, "s", ndim=1, allow_complex=False, dtype=np.float64)
    if U is not None:
        coeffs, ratios = picard_coefficients(U, s, y_or_coeffs)
    else:
        coeffs = np.abs(as_array(y_or_coeffs, "y_or_coeffs", ndim=1, shape=s.shape))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(s > 0, coeffs / np.where(s > 0, s, 1.0), np.inf)
    if k is not None:
        k = check_int(k, "k", low=0, high=s.shape[0])
    if sigma is not None:
        sigma = check_scalar(sigma, "sigma", low=0.0)
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(5, 3.5))
    idx = np.arange(1, s.shape[0] + 1)
    tiny = 1e-300  # keep zeros drawable on a log axis
    artists = {
        "s": ax.semilogy(idx, np.maximum(s, tiny), color="k", lw=1.5, label="$s_i$")[0],
        "coeffs": ax.semilogy(idx, np.maximum(coeffs, tiny), ".", ms=3, color="tab:blue",
                              label=r"$|u_i^T y|$")[0],
        "ratios": ax.semilogy(idx, np.maximum(ratios, tiny), ".", ms=3, color="tab:red",
                              label=r"$|u_i^T y| / s_i$")[0],
        "k": ax.axvline(k, color="tab:orange", lw=1.5, label="truncation $k$")
        if k is not None else None,
        "sigma": ax.axhline(sigma, color="tab:blue", ls="--", lw=0.8,
                            label=r"noise level $\sigma$") if sigma else None,
    }
    ax.set_xlabel("index $i$")
    ax.set_title("Picard plot")
    ax.legend(loc="lower left", fontsize="small")
    return artists
