"""Sparse coding with a known dictionary: ISTA, FISTA, ReLU-ISTA and what unrolled layers are worth."""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar
from .operators.base import LinearOperator
from .operators.sparse_coding import gaussian_dictionary
from .priors import soft_threshold
from .solvers import SolverResult

__all__ = [
    "LISTA_SETTINGS", "SPLIT_SEEDS", "SparseCodingProblem", "sparse_codes",
    "make_sparse_coding_problem", "lista_problem", "ista_step", "lista_layer",
    "ista_sparse_coding", "fista_sparse_coding", "relu_ista", "lasso_solution", "nmse",
    "nmse_db", "iterations_to_match",
]

#: The sparse-coding problem of notebook 04, of the LISTA training command and benchmark:
#: a Gaussian dictionary ``D`` of shape (m, n) with unit-norm atoms, codes with ``k``
#: non-zeros drawn from N(0, 1), noise of standard deviation ``sigma`` and the LASSO
#: weight ``lam`` whose solutions LISTA learns to approximate.
LISTA_SETTINGS: dict = {"m": 64, "n": 128, "k": 16, "sigma": 0.01, "lam": 0.05,
                        "dictionary_seed": 0}
#: Seeds of the code/noise draws of each split (the dictionary is shared).
SPLIT_SEEDS: dict = {"train": 1, "validation": 2, "test": 3}

_METHODS = ("ista", "fista")
# Batches are multiplied by the dictionary in blocks of this many rows: small products
# stay on one thread, which on a busy 2-core machine is many times faster than letting
# the BLAS start (and wait for) its threads on every iteration.
_ROW_BLOCK = 64


class SparseCodingProblem(NamedTuple):
    """Synthetic sparse-coding data ``y = D x + sigma n``.

    Attributes
    ----------
    D : ndarray of shape (m, n)
        Dictionary with unit-norm columns.
    x : ndarray of shape (num_samples, n)
        True sparse codes, one per row.
    y : ndarray of shape (num_samples, m)
        Noisy signals, one per row.
    sigma : float
        Noise standard deviation.
    k : int
        Number of non-zeros of every code.
    """

    D: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sigma: float
    k: int


def sparse_codes(num_samples: int, n: int, k: int, seed: int = 0) -> np.ndarray:
    """Random ``k``-sparse codes: a uniform random support, N(0, 1) amplitudes.

    Parameters
    ----------
    num_samples : int
        Number of codes (rows).
    n : int
        Length of a code (number of atoms).
    k : int
        Non-zeros per code, ``0 <= k <= n``.
    seed : int
        Seed of the supports and amplitudes.

    Returns
    -------
    x : ndarray of shape (num_samples, n)
        Each row has exactly ``k`` non-zero entries (almost surely).
    """
    num_samples = check_int(num_samples, "num_samples", low=1)
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=0, high=n)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng([seed, 11])
    support = np.argsort(rng.random((num_samples, n)), axis=1)[:, :k]
    x = np.zeros((num_samples, n))
    np.put_along_axis(x, support, rng.standard_normal((num_samples, k)), axis=1)
    return x


def make_sparse_coding_problem(num_samples: int = 1000, *, m: int = 64, n: int = 128,
                               k: int = 16, sigma: float = 0.01, seed: int = 0,
                               dictionary_seed: int = 0) -> SparseCodingProblem:
    """Seeded sparse-coding data with a known Gaussian dictionary.

    Parameters
    ----------
    num_samples : int
        Number of signals.
    m, n : int
        Signal length and number of atoms (``D`` has shape (m, n)).
    k : int
        Non-zeros per code.
    sigma : float
        Standard deviation of the white Gaussian noise added to ``D x``.
    seed : int
        Seed of the codes and the noise.
    dictionary_seed : int
        Seed of the dictionary (:func:`course_utils.operators.sparse_coding.gaussian_dictionary`);
        keep it fixed to draw training and test sets for the same ``D``.

    Returns
    -------
    SparseCodingProblem
        ``(D, x, y, sigma, k)`` with ``y = x Dᵀ + sigma n`` row by row.

    Notes
    -----
    The model is :math:`y = D x + \\sigma n` with :math:`x` ``k``-sparse; recovering
    :math:`x` from :math:`y` is the sparse-coding problem that ISTA solves through the
    LASSO :math:`\\min_x \\tfrac12\\|y - Dx\\|_2^2 + \\lambda\\|x\\|_1`.
    """
    sigma = check_scalar(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", low=0)
    D = gaussian_dictionary(m, n, dictionary_seed)
    x = sparse_codes(num_samples, D.shape[1], k, seed)
    noise = np.random.default_rng([seed, 13]).standard_normal((x.shape[0], D.shape[0]))
    return SparseCodingProblem(D, x, x @ D.T + sigma * noise, sigma, int(k))


def lista_problem(split: str = "test", num_samples: int = 1000) -> SparseCodingProblem:
    """The notebook's sparse-coding data (:data:`LISTA_SETTINGS`) for one split.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        Which draw of codes and noise (:data:`SPLIT_SEEDS`); the dictionary is the same.
    num_samples : int
        Number of signals.
    """
    check_choice(split, "split", tuple(SPLIT_SEEDS))
    s = LISTA_SETTINGS
    return make_sparse_coding_problem(num_samples, m=s["m"], n=s["n"], k=s["k"],
                                      sigma=s["sigma"], seed=SPLIT_SEEDS[split],
                                      dictionary_seed=s["dictionary_seed"])


# -- validation ----------------------------------------------------------------------------

class _Model(NamedTuple):
    """``D`` as two functions on a batch: rows are samples for a matrix."""

    forward: Callable
    adjoint: Callable
    lipschitz: float
    x_shape: tuple
    batched: bool


def _model(D, y, name: str = "D"):
    """Validate ``D`` (matrix or operator) and ``y``; return the model and ``y``."""
    if isinstance(D, LinearOperator):
        y = as_array(y, "y", shape=D.out_shape, allow_complex=False, dtype=np.float64)
        lip = D.norm() ** 2
        return _Model(D, D.adjoint, lip, tuple(D.in_shape), False), y
    if not isinstance(D, np.ndarray):
        raise TypeError(f"{name} must be a 2-D ndarray or a LinearOperator, "
                        f"got {type(D).__name__}")
    D = as_array(D, name, ndim=2, allow_complex=False, dtype=np.float64)
    m, n = D.shape
    y = as_array(y, "y", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    if y.shape[-1] != m:
        raise ValueError(f"y must have shape ({m},) or (num_samples, {m}) for {name} of shape "
                         f"{D.shape}, got {y.shape}")
    lip = float(np.linalg.norm(D, 2)) ** 2
    Dt = np.ascontiguousarray(D.T)
    return _Model(lambda x: _rows_times(x, Dt), lambda r: _rows_times(r, D), lip,
                  y.shape[:-1] + (n,), True), y


def _sqnorm(v: np.ndarray) -> float:
    """``‖v‖²`` without a BLAS call (a threaded dot is slow on a busy CPU)."""
    v = np.ravel(v)
    return float(np.einsum("i,i->", v, v))


def _rows_times(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``x @ M`` computed in blocks of :data:`_ROW_BLOCK` rows."""
    if x.ndim == 1 or x.shape[0] <= _ROW_BLOCK:
        return x @ M
    out = np.empty((x.shape[0], M.shape[1]))
    for start in range(0, x.shape[0], _ROW_BLOCK):
        np.matmul(x[start:start + _ROW_BLOCK], M, out=out[start:start + _ROW_BLOCK])
    return out


def _tau(tau, lip: float, upper: float, what: str) -> float:
    if lip == 0.0:
        raise ValueError("the operator is zero: nothing to solve")
    if tau is None:
        return 1.0 / lip
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    bound = upper / lip
    if tau > bound * (1 + 1e-9):
        raise ValueError(f"tau must satisfy 0 < tau <= {upper:g}/‖D‖² = {bound:.6g} "
                         f"({what}), got {tau:.6g}")
    return tau


def _optional(arr, name: str, shape: tuple):
    if arr is None:
        return None
    return as_array(arr, name, shape=shape, allow_complex=False, dtype=np.float64)


def _rowwise_nmse(x_hat: np.ndarray, x_ref: np.ndarray, batched: bool) -> float:
    if batched and x_ref.ndim == 2:
        err = np.einsum("ij,ij->i", x_hat - x_ref, x_hat - x_ref)
        den = np.einsum("ij,ij->i", x_ref, x_ref)
    else:
        err = np.array([np.sum((x_hat - x_ref) ** 2)])
        den = np.array([np.sum(x_ref ** 2)])
    safe = np.where(den > 0, den, 1.0)
    return float(np.mean(np.where(den > 0, err / safe, err)))


def nmse(x_hat, x_ref) -> float:
    """Normalised mean squared error, averaged over samples.

    Parameters
    ----------
    x_hat : ndarray of shape (n,) or (num_samples, n)
        Estimated codes, one per row.
    x_ref : ndarray of the same shape
        Reference codes (the true codes, or the LASSO solutions).

    Returns
    -------
    float
        :math:`\\frac1B\\sum_b \\|\\hat x_b - x_b\\|^2 / \\|x_b\\|^2` (the plain squared error
        for a zero reference row).
    """
    x_ref = as_array(x_ref, "x_ref", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    x_hat = as_array(x_hat, "x_hat", shape=x_ref.shape, allow_complex=False,
                     dtype=np.float64)
    return _rowwise_nmse(x_hat, x_ref, True)


def nmse_db(x_hat, x_ref) -> float:
    """:func:`nmse` in decibels, ``10 log10(nmse)`` (``-inf`` for a perfect estimate)."""
    value = nmse(x_hat, x_ref)
    return 10.0 * math.log10(value) if value > 0 else -math.inf


# -- one step, one layer (the references of the exercises) --------------------------------

def ista_step(D, y, x, lam: float, tau: float) -> np.ndarray:
    """One ISTA iteration for the LASSO ``½‖y − Dx‖² + lam ‖x‖₁``.

    Parameters
    ----------
    D : ndarray of shape (m, n)
        Dictionary.
    y : ndarray of shape (m,) or (num_samples, m)
        Signal(s).
    x : ndarray of shape (n,) or (num_samples, n)
        Current code(s).
    lam : float
        LASSO weight, ``>= 0``.
    tau : float
        Step, ``> 0`` (converges for ``tau < 2/‖D‖²``).

    Returns
    -------
    ndarray of the shape of ``x``
        :math:`S_{\\tau\\lambda}\\big(x - \\tau D^T(Dx - y)\\big)`.

    Notes
    -----
    A gradient step on the data term followed by the proximal map of
    :math:`\\tau\\lambda\\|\\cdot\\|_1`, soft thresholding. With ``tau = 1`` and a
    dictionary scaled so that ``‖D‖ <= 1`` this is the lecture's
    :math:`\\alpha_k = S_\\lambda(\\alpha_{k-1} + D^T(x - D\\alpha_{k-1}))`.

    References
    ----------
    I. Daubechies, M. Defrise and C. De Mol, "An iterative thresholding algorithm for
    linear inverse problems with a sparsity constraint", Comm. Pure Appl. Math., 2004.
    """
    D = as_array(D, "D", ndim=2, allow_complex=False, dtype=np.float64)
    y = as_array(y, "y", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    x = as_array(x, "x", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    if y.shape[-1] != D.shape[0] or x.shape[-1] != D.shape[1] or x.shape[:-1] != y.shape[:-1]:
        raise ValueError(f"for D of shape {D.shape}, y must have shape (..., {D.shape[0]}) and "
                         f"x shape (..., {D.shape[1]}) with the same leading shape, got "
                         f"y {y.shape} and x {x.shape}")
    lam = check_scalar(lam, "lam", low=0.0)
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    return soft_threshold(x - tau * ((x @ D.T - y) @ D), tau * lam)


def lista_layer(y, z, W_e, S, theta) -> np.ndarray:
    """One LISTA layer (Gregor & LeCun 2010): ``z ← S_theta(W_e y + S z)``.

    Parameters
    ----------
    y : ndarray of shape (m,) or (num_samples, m)
        Signal(s).
    z : ndarray of shape (n,) or (num_samples, n)
        Output of the previous layer (zeros before the first).
    W_e : ndarray of shape (n, m)
        Learned filter matrix (ISTA: ``tau Dᵀ``).
    S : ndarray of shape (n, n)
        Learned mutual-inhibition matrix (ISTA: ``I − tau DᵀD``).
    theta : float or ndarray of shape (n,)
        Threshold(s), ``>= 0`` (ISTA: ``tau lam``).

    Returns
    -------
    ndarray of the shape of ``z``
        :math:`h_\\theta(W_e y + S z)` with :math:`h_\\theta` soft thresholding.

    Notes
    -----
    With ``W_e = tau Dᵀ``, ``S = I − tau DᵀD`` and ``theta = tau lam`` the layer is one
    ISTA iteration; LISTA learns the three from data, keeping the architecture.
    """
    y = as_array(y, "y", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    z = as_array(z, "z", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    W_e = as_array(W_e, "W_e", ndim=2, allow_complex=False, dtype=np.float64)
    S = as_array(S, "S", ndim=2, allow_complex=False, dtype=np.float64)
    n, m = W_e.shape
    if S.shape != (n, n):
        raise ValueError(f"S must have shape ({n}, {n}) for W_e of shape {W_e.shape}, "
                         f"got {S.shape}")
    if y.shape[-1] != m or z.shape[-1] != n or y.shape[:-1] != z.shape[:-1]:
        raise ValueError(f"y must have shape (..., {m}) and z shape (..., {n}) with the same "
                         f"leading shape, got y {y.shape} and z {z.shape}")
    theta = as_array(theta, "theta", ndim=(0, 1), allow_complex=False, dtype=np.float64)
    if theta.ndim == 1 and theta.shape != (n,):
        raise ValueError(f"theta must be a number or have shape ({n},), got {theta.shape}")
    if np.any(theta < 0):
        raise ValueError("theta must be >= 0")
    v = y @ W_e.T + z @ S.T
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


# -- the iterative solvers -------------------------------------------------------------

def _prox(v: np.ndarray, thresh: float, nonneg: bool) -> np.ndarray:
    if nonneg:
        return np.maximum(v - thresh, 0.0)
    return soft_threshold(v, thresh)


def _objective(model: _Model, r, x, lam: float) -> float:
    """Mean of ``½‖r‖² + lam‖x‖₁`` over samples, ``r = Dx − y`` already formed."""
    if model.batched and x.ndim == 2:
        return float(np.mean(0.5 * np.einsum("ij,ij->i", r, r) + lam * np.abs(x).sum(axis=1)))
    return 0.5 * _sqnorm(r) + lam * float(np.abs(x).sum())


def _run(method: str, D, y, lam, *, num_iters, tau, x0, x_ref, nonneg, stop=None,
         name: str = "D", callback=None):
    model, y = _model(D, y, name)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    lam = check_scalar(lam, "lam", low=0.0)
    num_iters = check_int(num_iters, "num_iters", low=1)
    upper = 1.0 if method == "fista" else 2.0
    tau = _tau(tau, model.lipschitz, upper, f"{method.upper()} converges")
    x = _optional(x0, "x0", model.x_shape)
    x = np.zeros(model.x_shape) if x is None else x.copy()
    if nonneg and np.any(x < 0):
        x = np.maximum(x, 0.0)
    x_ref = _optional(x_ref, "x_ref", model.x_shape)
    history = {"objective": [], "rel_change": []}
    if x_ref is not None:
        history["nmse"] = []
    # One forward and one adjoint per iteration: D z is formed from D x_k and D x_{k-1}
    # by linearity (for ISTA z = x).
    dx = np.asarray(model.forward(x))
    z, dz, t = x, dx, 1.0
    thresh = tau * lam
    for _ in range(num_iters):
        x_new = _prox(z - tau * np.asarray(model.adjoint(dz - y)), thresh, nonneg)
        dx_new = np.asarray(model.forward(x_new))
        if method == "fista":
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            z, dz, t = x_new + beta * (x_new - x), dx_new + beta * (dx_new - dx), t_new
        else:
            z, dz = x_new, dx_new
        change = math.sqrt(_sqnorm(x_new - x) / max(_sqnorm(x_new), 1e-300))
        x, dx = x_new, dx_new
        history["objective"].append(_objective(model, dx - y, x, lam))
        history["rel_change"].append(change)
        if callback is not None:
            callback(len(history["objective"]), x)
        if x_ref is not None:
            history["nmse"].append(_rowwise_nmse(x, x_ref, model.batched))
            if stop is not None and history["nmse"][-1] <= stop:
                break
    return SolverResult(x, history)


_SOLVER_DOC = """
    Parameters
    ----------
    D : ndarray of shape (m, n) or LinearOperator
        Dictionary (or any real forward operator ``H``). With a matrix, ``y`` may hold
        one signal per row and all rows are solved at once.
    y : ndarray of shape (m,) or (num_samples, m), or ``D.out_shape``
        Signal(s).
    lam : float
        Weight of the ℓ1 term, ``>= 0``.
    num_iters : int
        Number of iterations.
    tau : float, optional
        Step; default ``1/‖D‖²``.
    x0 : ndarray, optional
        Start (default zeros), of the shape of the codes.
    x_ref : ndarray, optional
        Reference codes (true codes or LASSO solutions): adds ``"nmse"``, the mean
        normalised squared error of every iterate (see :func:`nmse`).
    callback : callable, optional
        ``callback(k, x_k)`` after iteration ``k`` (from 1); ``x_k`` must not be modified.

    Returns
    -------
    SolverResult
        ``(x_hat, history)``; ``history`` holds per-iteration lists ``"objective"`` (mean
        over samples), ``"rel_change"`` and, with ``x_ref``, ``"nmse"``.
"""


def ista_sparse_coding(D, y, lam: float, *, num_iters: int = 100, tau: float | None = None,
                       x0=None, x_ref=None, callback=None) -> SolverResult:
    """ISTA on the LASSO ``min_x ½‖y − Dx‖² + lam ‖x‖₁``, for a batch of signals.
    {doc}
    Notes
    -----
    :math:`x_{{k+1}} = S_{{\\tau\\lambda}}(x_k - \\tau D^T(Dx_k - y))`. For
    ``tau <= 1/‖D‖²`` the objective decreases and :math:`F(x_k) - F^* = O(1/k)`; once the
    support is identified the convergence is linear, with a rate set by the conditioning
    of the columns of ``D`` on the support: slow for small ``lam`` (large supports).

    References
    ----------
    I. Daubechies, M. Defrise and C. De Mol, "An iterative thresholding algorithm for
    linear inverse problems with a sparsity constraint", Comm. Pure Appl. Math., 2004.
    """
    return _run("ista", D, y, lam, num_iters=num_iters, tau=tau, x0=x0, x_ref=x_ref,
                nonneg=False, callback=callback)


def fista_sparse_coding(D, y, lam: float, *, num_iters: int = 100, tau: float | None = None,
                        x0=None, x_ref=None, callback=None) -> SolverResult:
    """FISTA on the LASSO ``min_x ½‖y − Dx‖² + lam ‖x‖₁``, for a batch of signals.
    {doc}
    Notes
    -----
    ISTA applied at the extrapolated point
    :math:`z_k = x_k + \\tfrac{{t_{{k-1}} - 1}}{{t_k}}(x_k - x_{{k-1}})`,
    :math:`t_{{k}} = (1 + \\sqrt{{1 + 4t_{{k-1}}^2}})/2`, ``t_0 = 1``, with
    ``0 < tau <= 1/‖D‖²``; :math:`F(x_k) - F^* = O(1/k^2)`.

    References
    ----------
    A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
    linear inverse problems", SIAM J. Imaging Sciences, 2009.
    """
    return _run("fista", D, y, lam, num_iters=num_iters, tau=tau, x0=x0, x_ref=x_ref,
                nonneg=False, callback=callback)


def relu_ista(H, y, lam: float, *, num_iters: int = 100, tau: float | None = None, x0=None,
              x_ref=None, callback=None) -> SolverResult:
    """Non-negative ISTA, ``x ← ReLU(x − tau Hᵀ(Hx − y) − tau lam)``.
    {doc}
    Notes
    -----
    Solves :math:`\\min_{{x \\ge 0}} \\tfrac12\\|y - Hx\\|_2^2 + \\lambda\\|x\\|_1`: the
    proximal map of :math:`\\tau(\\lambda\\|x\\|_1 + \\iota_{{x\\ge 0}})` is
    :math:`\\max(v - \\tau\\lambda, 0)`, a ReLU with bias :math:`-\\tau\\lambda`. Written
    with ``eta = tau`` and the threshold ``tau lam`` as one number, this is the lecture's
    light-field iteration :math:`x \\leftarrow \\mathrm{{ReLU}}(x - \\eta H^T(Hx - y) -
    \\lambda)`: a linear layer, a bias and a ReLU, ready to be unrolled. At a fixed point,
    with :math:`g = H^T(Hx - y)`: :math:`g_i = -\\lambda` where :math:`x_i > 0` and
    :math:`g_i \\ge -\\lambda` where :math:`x_i = 0`.

    References
    ----------
    H. Verinaz-Jadan, C. L. Howe, P. Song, F. Lesept, J. Kotzur, A. J. Foust and
    P. L. Dragotti, "Physics-based deep learning for imaging neuronal activity via
    two-photon and light field microscopy", IEEE Trans. Computational Imaging, 2023.
    """
    return _run("ista", H, y, lam, num_iters=num_iters, tau=tau, x0=x0, x_ref=x_ref,
                nonneg=True, name="H", callback=callback)


for _f in (ista_sparse_coding, fista_sparse_coding, relu_ista):
    _f.__doc__ = _f.__doc__.format(doc=_SOLVER_DOC)
del _f


def lasso_solution(D, y, lam: float, *, tol: float = 1e-10, max_iters: int = 20000,
                   nonneg: bool = False) -> np.ndarray:
    """The LASSO solution(s) to high accuracy: FISTA with adaptive restart.

    Parameters
    ----------
    D : ndarray of shape (m, n)
        Dictionary.
    y : ndarray of shape (m,) or (num_samples, m)
        Signal(s).
    lam : float
        LASSO weight, ``>= 0``.
    tol : float
        Stop when ``max |x_{k+1} − x_k| <= tol · max(1, max |x_{k+1}|)``.
    max_iters : int
        Iteration cap.
    nonneg : bool
        Add the constraint ``x >= 0`` (the fixed point of :func:`relu_ista`).

    Returns
    -------
    x_star : ndarray of shape (n,) or (num_samples, n)
        :math:`\\arg\\min_x \\tfrac12\\|y - Dx\\|_2^2 + \\lambda\\|x\\|_1` for every row of
        ``y``. These are the targets that LISTA learns to approximate.

    Notes
    -----
    FISTA's momentum is reset (``t = 1``) whenever it points uphill,
    :math:`\\langle z_k - x_{k+1}, x_{k+1} - x_k\\rangle > 0` (the gradient restart of
    O'Donoghue & Candès), which restores linear convergence on these strongly convex
    restrictions. The optimality condition :math:`0 \\in D^T(Dx - y) + \\lambda\\,
    \\partial\\|x\\|_1` holds to about ``tol``.

    References
    ----------
    B. O'Donoghue and E. Candès, "Adaptive restart for accelerated gradient schemes",
    Foundations of Computational Mathematics, 2015.
    """
    model, y = _model(D, y)
    if not model.batched:
        raise TypeError("D must be a 2-D ndarray for lasso_solution")
    lam = check_scalar(lam, "lam", low=0.0)
    tol = check_scalar(tol, "tol", low=0.0, low_inclusive=False)
    max_iters = check_int(max_iters, "max_iters", low=1)
    if not isinstance(nonneg, bool):
        raise TypeError(f"nonneg must be a bool, got {type(nonneg).__name__}")
    tau = _tau(None, model.lipschitz, 1.0, "")
    x = np.zeros(model.x_shape)
    z, t = x, 1.0
    for _ in range(max_iters):
        x_new = _prox(z - tau * model.adjoint(model.forward(z) - y), tau * lam, nonneg)
        step = x_new - x
        if np.max(np.abs(step), initial=0.0) <= tol * max(1.0, np.max(np.abs(x_new),
                                                                       initial=0.0)):
            return x_new
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        if np.sum((z - x_new) * step) > 0:
            t_new, z = 1.0, x_new
        else:
            z = x_new + ((t - 1.0) / t_new) * step
        x, t = x_new, t_new
    return x


def iterations_to_match(err_target: float, D, y, lam: float, x_ref, *, method: str = "ista",
                        max_iters: int = 10000, tau: float | None = None) -> int | None:
    """How many ISTA (or FISTA) iterations reach a given mean error.

    Parameters
    ----------
    err_target : float
        Target :func:`nmse`, ``> 0`` (e.g. the error of a T-layer LISTA on the same data).
    D : ndarray of shape (m, n)
        Dictionary.
    y : ndarray of shape (num_samples, m)
        Held-out signals.
    lam : float
        LASSO weight of the iterations.
    x_ref : ndarray of shape (num_samples, n)
        Reference codes the error is measured against.
    method : {"ista", "fista"}
        Which iteration to run.
    max_iters : int
        Give up after this many iterations.
    tau : float, optional
        Step (default ``1/‖D‖²``).

    Returns
    -------
    int or None
        The smallest ``k`` with ``nmse(x_k, x_ref) <= err_target``, or ``None`` if
        ``max_iters`` iterations do not reach it.

    Notes
    -----
    Gregor & LeCun measure what a learned network is worth this way: a T-layer LISTA
    costs about as much as T ISTA iterations (two matrix products per layer), so
    ``k / T`` is the speed-up bought by learning ``W_e``, ``S`` and the thresholds.
    """
    err_target = check_scalar(err_target, "err_target", low=0.0, low_inclusive=False)
    check_choice(method, "method", _METHODS)
    max_iters = check_int(max_iters, "max_iters", low=1)
    if x_ref is None:
        raise TypeError("x_ref must be an array of reference codes, got None")
    result = _run(method, D, y, lam, num_iters=max_iters, tau=tau, x0=None, x_ref=x_ref,
                  nonneg=False, stop=err_target)
    errors = result.history["nmse"]
    return len(errors) if errors[-1] <= err_target else None

