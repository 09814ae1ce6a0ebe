"""Iterative solvers that run one step at a time: CG, Landweber, ISTA/FISTA, ADMM/HQS, PDHG, RL."""
from __future__ import annotations

import math
import numbers
from typing import Callable, NamedTuple

import numpy as np

from ._validate import as_array, check_int, check_scalar
from .metrics import psnr as _psnr
from .operators.base import LinearOperator, MatrixOperator, StackedOperator
from .operators.basic import Gradient

__all__ = [
    "SolverResult", "IterativeSolver", "DenoiserPrior", "as_prior",
    "CGNormal", "Landweber", "ISTA", "FISTA", "ADMM", "HQS", "PDHG", "RichardsonLucy",
    "cg_normal", "landweber", "ista", "fista", "admm", "hqs", "pdhg", "make_tv_pdhg",
    "tv_reconstruct", "richardson_lucy",
]

_TINY = np.finfo(np.float64).tiny


class SolverResult(NamedTuple):
    """What a solver returns: the estimate and its per-iteration history."""

    x_hat: np.ndarray
    history: dict


# -- coercion of arguments ----------------------------------------------------------------

def _as_operator(A, name: str = "A") -> LinearOperator:
    """A ``LinearOperator``, a dense 2-D matrix, or any object with the same methods."""
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, np.ndarray):
        return MatrixOperator(as_array(A, name, ndim=2))
    if all(hasattr(A, attr) for attr in ("adjoint", "in_shape", "out_shape")) and callable(A):
        return A
    raise TypeError(f"{name} must be a LinearOperator or a 2-D ndarray, got {type(A).__name__}")


def _op_norm(A) -> float:
    norm = getattr(A, "norm", None)
    if norm is None:
        raise TypeError("the operator has no norm(); pass the step size tau explicitly")
    return float(norm())


def _zeros(A) -> np.ndarray:
    dtype = np.complex128 if getattr(A, "in_kind", "any") == "complex" else np.float64
    return np.zeros(A.in_shape, dtype=dtype)


def _x0(A, x0) -> np.ndarray:
    if x0 is None:
        return _zeros(A)
    x0 = as_array(x0, "x0", shape=A.in_shape)
    return x0.astype(np.complex128 if np.iscomplexobj(x0) else np.float64, copy=True)


def _data(A, y) -> np.ndarray:
    y = as_array(y, "y", shape=A.out_shape)
    return y.astype(np.complex128 if np.iscomplexobj(y) else np.float64, copy=False)


def _inner(u, v) -> float:
    """``Re⟨u, v⟩`` without BLAS: a threaded BLAS dot on a busy CPU costs milliseconds."""
    u, v = np.ravel(u), np.ravel(v)
    if np.iscomplexobj(u) or np.iscomplexobj(v):
        return float(np.einsum("i,i->", u.real, v.real) + np.einsum("i,i->", u.imag, v.imag))
    return float(np.einsum("i,i->", u, v))


def _sqnorm(v) -> float:
    return _inner(v, v)


class _ZeroPrior:
    """g = 0: the prox is the identity (plain gradient descent / least squares)."""

    lam = 0.0

    def value(self, x):
        return 0.0

    def prox(self, x, tau):
        return x


class DenoiserPrior:
    """Use a denoiser ``denoiser(x, sigma)`` as the proximal map of an implicit prior.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x, sigma) -> x_hat`` with ``x_hat`` of the shape of ``x``; e.g.
        ``functools.partial(course_utils.denoisers.denoise, method="tv")``.
    lam : float, optional
        Weight of the implicit prior: the noise level handed to the denoiser is
        ``sqrt(lam · tau)``.
    sigma : float, optional
        A fixed noise level for the denoiser, overriding ``sqrt(lam · tau)``.

    Notes
    -----
    For ``g = lam · (−log p)`` the proximal map
    ``prox_{tau g}(z) = argmin_v ½‖v − z‖² + tau g(v)`` is the MAP denoiser of ``z`` under
    Gaussian noise of variance ``lam · tau``. Plug-and-play replaces it by any denoiser of
    that noise level; the prior then has no explicit value (``value`` returns NaN).

    References
    ----------
    .. [1] S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for
       model based reconstruction", GlobalSIP 2013.
    .. [2] U. S. Kamilov, C. A. Bouman, G. T. Buzzard and B. Wohlberg, "Plug-and-Play
       Methods for Integrating Physical and Learned Models in Computational Imaging",
       IEEE Signal Processing Magazine, 2023.
    """

    def __init__(self, denoiser: Callable, lam: float = 1.0, sigma: float | None = None):
        if not callable(denoiser):
            raise TypeError(f"denoiser must be callable as denoiser(x, sigma), "
                            f"got {type(denoiser).__name__}")
        self.denoiser = denoiser
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.sigma = None if sigma is None else check_scalar(sigma, "sigma", low=0.0)

    def noise_level(self, tau: float) -> float:
        """The noise standard deviation handed to the denoiser for a step ``tau``."""
        return self.sigma if self.sigma is not None else math.sqrt(self.lam * tau)

    def value(self, x):
        return float("nan")

    def prox(self, x, tau):
        tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
        out = np.asarray(self.denoiser(x, self.noise_level(tau)))
        if out.shape != np.shape(x):
            raise ValueError(f"the denoiser returned shape {out.shape}, expected {np.shape(x)}")
        return out


def as_prior(prior, name: str = "prior"):
    """Return an object with ``prox(x, tau)`` and ``value(x)``.

    Parameters
    ----------
    prior : object, callable or None
        An object with ``prox(x, tau)`` (and, ideally, ``value(x)``) such as the classes of
        :mod:`course_utils.priors`; a callable ``denoiser(x, sigma)``, wrapped in
        :class:`DenoiserPrior`; or ``None`` for no regulariser.
    name : str
        Argument name used in error messages.
    """
    if prior is None:
        return _ZeroPrior()
    if callable(getattr(prior, "prox", None)):
        return prior
    if callable(prior):
        return DenoiserPrior(prior)
    raise TypeError(f"{name} must have a prox(x, tau) method or be a callable "
                    f"denoiser(x, sigma), got {type(prior).__name__}")


def _prior_value(prior, x) -> float:
    value = getattr(prior, "value", None)
    return float(value(x)) if callable(value) else float("nan")


def _check_tau(tau, A, *, upper: float, inclusive: bool, what: str) -> float:
    """Step size: default ``1/‖A‖²``; ``0 < tau < upper/‖A‖²`` (or ``<=``) otherwise."""
    lip = _op_norm(A) ** 2
    if tau is None:
        if lip == 0.0:
            raise ValueError("A is zero (‖A‖ = 0): nothing to invert")
        return 1.0 / lip
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    if lip > 0.0:
        # ‖A‖ from a power iteration is never above the true norm and may be below it by
        # ~1e-7 (relative): a strict bound is therefore enforced with a margin of 1e-6.
        bound = upper / lip
        if (inclusive and tau > bound) or (not inclusive and tau >= bound * (1.0 - 1e-6)):
            op = "<=" if inclusive else "<"
            raise ValueError(f"tau must satisfy 0 < tau {op} {upper:g}/‖A‖² = {bound:.6g} "
                             f"({what}), got {tau:.6g}")
    return tau


def _check_beta(beta):
    """A positive penalty, or a sequence of them (one per iteration, the last one kept)."""
    if isinstance(beta, (numbers.Real, np.floating)) and not isinstance(beta, bool):
        return (check_scalar(beta, "beta", low=0.0, low_inclusive=False),)
    arr = as_array(beta, "beta", ndim=1, allow_complex=False, dtype=np.float64)
    if arr.size == 0 or np.any(arr <= 0):
        raise ValueError("beta must be a positive number or a non-empty sequence of them")
    return tuple(float(b) for b in arr)


def _check_callable(f, name):
    if f is not None and not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    return f


# -- linear algebra kernels ------------------------------------------------------------

def _cg(apply_h, b, x0, num_iters, rtol=1e-10):
    """Conjugate gradients for a Hermitian positive (semi)definite ``H x = b``."""
    x = x0.copy()
    r = b - apply_h(x)
    p = r.copy()
    rs = _sqnorm(r)
    stop = (rtol * max(math.sqrt(_sqnorm(b)), _TINY)) ** 2
    for _ in range(num_iters):
        if rs <= stop:
            break
        hp = apply_h(p)
        php = _inner(p, hp)
        if php <= 0.0:
            break
        alpha = rs / php
        x = x + alpha * p
        r = r - alpha * hp
        rs_new = _sqnorm(r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x


def _fft_eigenvalues(A):
    """The eigenvalues ``d`` with ``A x = ifftn(d · fftn(x))`` if ``A`` exposes and obeys them.

    The claim is checked once on a seeded random input; ``None`` when it does not hold.
    """
    eig = getattr(A, "eigenvalues", None)
    if eig is None or tuple(A.in_shape) != tuple(A.out_shape):
        return None
    eig = np.asarray(eig)
    if eig.shape != tuple(A.in_shape):
        return None
    x = np.random.default_rng(0).standard_normal(A.in_shape)
    ax = np.asarray(A(x))
    fx = np.fft.ifftn(eig * np.fft.fftn(x))
    if not np.iscomplexobj(ax):
        fx = fx.real
    if np.linalg.norm(ax - fx) > 1e-8 * max(np.linalg.norm(ax), _TINY):
        return None
    return eig


def _make_data_step(A, y, data_step, cg_iters):
    """``x ↦ argmin ½‖Ax − y‖² + β/2 ‖x − z‖²`` as a function ``(z, beta, x_warm)``."""
    if data_step is not None:
        def user(z, beta, x_warm):
            out = np.asarray(data_step(z, beta))
            if out.shape != tuple(A.in_shape):
                raise ValueError(f"data_step returned shape {out.shape}, expected {A.in_shape}")
            return out
        return user, "user"
    aty = A.adjoint(y)
    eig = _fft_eigenvalues(A)
    if eig is not None:
        aty_hat = np.fft.fftn(aty)
        power = np.abs(eig) ** 2
        real = not np.iscomplexobj(aty)

        def fft_step(z, beta, x_warm):
            out = np.fft.ifftn((aty_hat + beta * np.fft.fftn(z)) / (power + beta))
            return out.real if real and not np.iscomplexobj(z) else out
        return fft_step, "fft"

    def cg_step(z, beta, x_warm):
        return _cg(lambda v: A.adjoint(A(v)) + beta * v, aty + beta * z, x_warm, cg_iters)
    return cg_step, "cg"


# -- the base class ---------------------------------------------------------------------

class IterativeSolver:
    """One iteration at a time: ``setup``, ``step``, ``run``, with a history.

    Subclasses implement ``_setup()`` (solver state from ``self.x``), ``_step()``
    (update ``self.x``) and ``_objective()`` (value at ``self.x``, cheap: from cached
    products). The base class records after every step, in ``history``:

    - ``"objective"``: the objective at the new iterate (NaN where it has no value);
    - ``"rel_change"``: ``‖x_{k+1} − x_k‖ / ‖x_{k+1}‖``;
    - ``"psnr"``: PSNR against ``x_true`` (only when ``x_true`` is given);

    plus solver-specific keys. Each list has one entry per iteration done.

    Attributes
    ----------
    x : ndarray
        The current iterate (the estimate ``x_hat`` after ``run``).
    iteration : int
        Number of iterations done since ``setup``.
    history : dict of str to list of float
        Per-iteration records.
    """

    extra_keys: tuple[str, ...] = ()

    def __init__(self, A, x0=None, *, x_true=None, data_range: float = 1.0):
        self.A = A
        self.data_range = check_scalar(data_range, "data_range", low=0.0, low_inclusive=False)
        self.x_true = None if x_true is None else as_array(x_true, "x_true", shape=A.in_shape)
        self._x0 = _x0(A, x0)

    # -- public API -------------------------------------------------------------------
    def setup(self, x0=None) -> "IterativeSolver":
        """(Re)start from ``x0`` (default: the starting point given at construction)."""
        self.x = self._x0.copy() if x0 is None else _x0(self.A, x0)
        self.iteration = 0
        keys = ("objective", "rel_change", *self.extra_keys)
        if self.x_true is not None:
            keys = keys + ("psnr",)
        self.history = {k: [] for k in keys}
        self._extra = {}
        self._setup()
        return self

    def step(self) -> np.ndarray:
        """Do one iteration; record it in ``history``; return the new iterate."""
        x_old = self.x
        self._step()
        self.iteration += 1
        h = self.history
        h["objective"].append(float(self._objective()))
        den = max(math.sqrt(_sqnorm(self.x)), _TINY)
        h["rel_change"].append(math.sqrt(_sqnorm(self.x - x_old)) / den)
        for key in self.extra_keys:
            h[key].append(float(self._extra.get(key, float("nan"))))
        if self.x_true is not None:
            h["psnr"].append(_psnr(self.x_true, self.x, data_range=self.data_range))
        return self.x

    def run(self, num_iters: int, tol: float | None = None,
            callback: Callable | None = None) -> SolverResult:
        """Do up to ``num_iters`` iterations.

        Parameters
        ----------
        num_iters : int
            Maximum number of iterations (>= 1).
        tol : float, optional
            Stop early once ``rel_change < tol``.
        callback : callable, optional
            ``callback(solver)`` after every iteration; returning ``True`` stops.

        Returns
        -------
        SolverResult
            ``(x_hat, history)``: a copy of the current iterate and of the history.
        """
        num_iters = check_int(num_iters, "num_iters", low=1)
        if tol is not None:
            tol = check_scalar(tol, "tol", low=0.0)
        _check_callable(callback, "callback")
        for _ in range(num_iters):
            self.step()
            if callback is not None and callback(self) in (True, np.True_):
                break
            if tol is not None and self.history["rel_change"][-1] < tol:
                break
            if self._converged():
                break
        return self.result()

    def result(self) -> SolverResult:
        """The current ``(x_hat, history)`` as copies."""
        return SolverResult(self.x.copy(), {k: list(v) for k, v in self.history.items()})

    # -- hooks ------------------------------------------------------------------------
    def _setup(self):
        pass

    def _step(self):
        raise NotImplementedError

    def _objective(self):
        return float("nan")

    def _converged(self) -> bool:
        return False

    def __repr__(self):
        return f"{type(self).__name__}(iteration={self.iteration})"


# -- conjugate gradients on the normal equations ------------------------------------------

class CGNormal(IterativeSolver):
    """Conjugate gradients on the (regularised) normal equations, matrix-free.

    Solves ``(AᴴA + lam LᴴL) x = Aᴴ y``, i.e. minimises
    ``½‖Ax − y‖² + ½ lam ‖Lx‖²`` (Tikhonov with ``L = I`` by default).

    Parameters
    ----------
    A : LinearOperator or ndarray of shape (m, n)
        Forward operator.
    y : ndarray of shape ``A.out_shape``
        Measurements.
    lam : float, optional
        Regularisation weight (>= 0).
    L : LinearOperator, optional
        Regularisation operator with ``L.in_shape == A.in_shape`` (e.g. a gradient).
    x0 : ndarray, optional
        Starting point (default zeros).
    rtol : float, optional
        CG stops once the normal-equation residual ``‖Aᴴy − Hx‖ ≤ rtol ‖Aᴴy‖``.
    x_true : ndarray, optional
        Ground truth: adds ``"psnr"`` to the history.
    data_range : float, optional
        Peak value for PSNR.

    Notes
    -----
    The history adds ``"residual"``, ``‖Aᴴy − Hx_k‖ / ‖Aᴴy‖``. The objective is obtained
    from CG's residual without another product: with ``b = Aᴴy`` and ``r = b − Hx``,
    ``F(x) = ½‖y‖² − ½ Re⟨b, x⟩ − ½ Re⟨r, x⟩``. In exact arithmetic CG terminates in at
    most ``n`` iterations and decreases ``F`` monotonically.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
       linear systems", J. Res. Nat. Bur. Standards, 49(6), 1952.
    .. [2] P. C. Hansen, *Discrete Inverse Problems: Insight and Algorithms*, SIAM, 2010.
    """

    extra_keys = ("residual",)

    def __init__(self, A, y, lam: float = 0.0, *, L=None, x0=None, rtol: float = 1e-12,
                 x_true=None, data_range: float = 1.0):
        A = _as_operator(A)
        super().__init__(A, x0, x_true=x_true, data_range=data_range)
        self.y = _data(A, y)
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.rtol = check_scalar(rtol, "rtol", low=0.0)
        if L is not None:
            L = _as_operator(L, "L")
            if tuple(L.in_shape) != tuple(A.in_shape):
                raise ValueError(f"L must have in_shape {A.in_shape}, got {L.in_shape}")
        self.L = L
        self.setup()

    def _apply_h(self, v):
        out = self.A.adjoint(self.A(v))
        if self.lam > 0.0:
            out = out + self.lam * (v if self.L is None else self.L.adjoint(self.L(v)))
        return out

    def _setup(self):
        self._b = self.A.adjoint(self.y)
        if np.iscomplexobj(self._b) and not np.iscomplexobj(self.x):
            self.x = self.x.astype(np.complex128)
        self._r = self._b - self._apply_h(self.x)
        self._p = self._r.copy()
        self._rs = _sqnorm(self._r)
        self._bnorm = max(math.sqrt(_sqnorm(self._b)), _TINY)
        self._yy = _sqnorm(self.y)
        self._done = False

    def _converged(self):
        return self._done

    def _step(self):
        if self._rs <= (self.rtol * self._bnorm) ** 2:
            self._done = True
        else:
            hp = self._apply_h(self._p)
            php = _inner(self._p, hp)
            if php <= 0.0:
                self._done = True
            else:
                alpha = self._rs / php
                self.x = self.x + alpha * self._p
                self._r = self._r - alpha * hp
                rs_new = _sqnorm(self._r)
                self._p = self._r + (rs_new / self._rs) * self._p
                self._rs = rs_new
        self._extra["residual"] = math.sqrt(self._rs) / self._bnorm

    def _objective(self):
        bx = _inner(self._b, self.x)
        rx = _inner(self._r, self.x)
        return 0.5 * (self._yy - bx - rx)


def cg_normal(A, y, lam: float = 0.0, *, L=None, num_iters: int = 50, tol: float | None = None,
              x0=None, x_true=None, callback=None) -> SolverResult:
    """Tikhonov-regularised least squares by CG on the normal equations.

    Minimises ``½‖Ax − y‖² + ½ lam ‖Lx‖²`` by solving ``(AᴴA + lam LᴴL) x = Aᴴ y``; see
    :class:`CGNormal`. Stops early when the normal-equation residual vanishes or
    ``rel_change < tol``.

    Returns
    -------
    SolverResult
        ``(x_hat, history)``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> x_hat, hist = cg_normal(A, np.array([2.0, 1.0]), lam=0.0)
    >>> np.allclose(x_hat, [1.0, 1.0])
    True
    """
    solver = CGNormal(A, y, lam, L=L, x0=x0, x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


# -- Landweber ----------------------------------------------------------------------------

class Landweber(IterativeSolver):
    """Landweber iteration ``x ← x + tau Aᴴ(y − Ax)`` (gradient descent on ½‖Ax − y‖²).

    Parameters
    ----------
    A : LinearOperator or ndarray
        Forward operator.
    y : ndarray of shape ``A.out_shape``
        Measurements.
    tau : float, optional
        Step, ``0 < tau < 2/‖A‖²`` (default ``1/‖A‖²``).
    nonneg : bool, optional
        Project onto ``x >= 0`` after every step (projected Landweber).
    x0, x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    With ``g = Aᴴ(Ax − y)`` one step changes the objective by
    ``−tau (1 − tau‖A‖²/2) ‖g‖²`` at most, so it decreases monotonically for
    ``tau < 2/‖A‖²``. Stopping early regularises (semi-convergence).

    References
    ----------
    .. [1] L. Landweber, "An iteration formula for Fredholm integral equations of the
       first kind", American Journal of Mathematics, 73(3), 1951.
    """

    def __init__(self, A, y, tau: float | None = None, *, nonneg: bool = False, x0=None,
                 x_true=None, data_range: float = 1.0):
        A = _as_operator(A)
        super().__init__(A, x0, x_true=x_true, data_range=data_range)
        self.y = _data(A, y)
        self.tau = _check_tau(tau, A, upper=2.0, inclusive=False, what="Landweber converges")
        if not isinstance(nonneg, bool):
            raise TypeError(f"nonneg must be a bool, got {type(nonneg).__name__}")
        self.nonneg = nonneg
        self.setup()

    def _setup(self):
        self._ax = self.A(self.x)

    def _step(self):
        x = self.x - self.tau * self.A.adjoint(self._ax - self.y)
        if self.nonneg:
            x = np.maximum(x.real, 0.0)
        self.x = x
        self._ax = self.A(x)

    def _objective(self):
        return 0.5 * _sqnorm(self._ax - self.y)


def landweber(A, y, tau: float | None = None, *, num_iters: int = 100, nonneg: bool = False,
              tol: float | None = None, x0=None, x_true=None, callback=None) -> SolverResult:
    """Run :class:`Landweber` for ``num_iters`` iterations; return ``(x_hat, history)``."""
    solver = Landweber(A, y, tau, nonneg=nonneg, x0=x0, x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


# -- proximal gradient --------------------------------------------------------------------

class ISTA(IterativeSolver):
    """Proximal gradient (ISTA) for ``½‖Ax − y‖² + g(x)``.

    ``x ← prox_{tau g}(x − tau Aᴴ(Ax − y))``.

    Parameters
    ----------
    A : LinearOperator or ndarray
        Forward operator.
    y : ndarray of shape ``A.out_shape``
        Measurements.
    prior : object or callable
        ``g``: anything with ``prox(x, tau)`` and ``value(x)`` (e.g.
        ``course_utils.priors.L1(lam)``), or a denoiser ``denoiser(x, sigma)`` used as
        the prox (plug-and-play / deep proximal gradient), or ``None``.
    tau : float, optional
        Step, ``0 < tau < 2/‖A‖²`` (default ``1/‖A‖²``).
    x0, x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    For ``tau <= 1/‖A‖²`` the objective decreases monotonically and
    ``F(x_k) − F* <= ‖x_0 − x*‖² / (2 tau k)``. For ``g = lam‖x‖₁`` the prox is the soft
    threshold and the fixed points satisfy ``0 ∈ Aᴴ(Ax − y) + lam ∂‖x‖₁``.

    References
    ----------
    .. [1] I. Daubechies, M. Defrise and C. De Mol, "An iterative thresholding algorithm
       for linear inverse problems with a sparsity constraint", Comm. Pure Appl. Math.,
       57(11), 2004.
    .. [2] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
       linear inverse problems", SIAM J. Imaging Sciences, 2(1), 2009.
    """

    _upper, _inclusive = 2.0, False

    def __init__(self, A, y, prior=None, tau: float | None = None, *, x0=None, x_true=None,
                 data_range: float = 1.0):
        A = _as_operator(A)
        super().__init__(A, x0, x_true=x_true, data_range=data_range)
        self.y = _data(A, y)
        self.prior = as_prior(prior)
        self.tau = _check_tau(tau, A, upper=self._upper, inclusive=self._inclusive,
                              what=type(self).__name__ + " converges")
        self.setup()

    def _setup(self):
        self._ax = self.A(self.x)

    def _prox_grad(self, z, az):
        v = z - self.tau * self.A.adjoint(az - self.y)
        return np.asarray(self.prior.prox(v, self.tau))

    def _step(self):
        self.x = self._prox_grad(self.x, self._ax)
        self._ax = self.A(self.x)

    def _objective(self):
        return 0.5 * _sqnorm(self._ax - self.y) + _prior_value(self.prior, self.x)


class FISTA(ISTA):
    """FISTA (Beck & Teboulle 2009): ISTA with Nesterov momentum.

    Same arguments as :class:`ISTA`, but ``0 < tau <= 1/‖A‖²``.

    Notes
    -----
    With ``t_1 = 1``, ``z_1 = x_0``:

    .. math::
        x_k = \\mathrm{prox}_{\\tau g}(z_k - \\tau A^H(Az_k - y)), \\quad
        t_{k+1} = \\tfrac{1 + \\sqrt{1 + 4t_k^2}}{2}, \\quad
        z_{k+1} = x_k + \\tfrac{t_k - 1}{t_{k+1}}(x_k - x_{k-1}),

    and ``F(x_k) − F* <= 2‖x_0 − x*‖² / (tau (k+1)²)``. ``A z`` is formed from the
    stored ``A x_k`` and ``A x_{k−1}`` by linearity, so an iteration costs one forward and
    one adjoint, like ISTA. The objective need not decrease monotonically.

    References
    ----------
    .. [1] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
       linear inverse problems", SIAM J. Imaging Sciences, 2(1), 2009.
    """

    _upper, _inclusive = 1.0, True

    def _setup(self):
        super()._setup()
        self._z, self._az, self._t = self.x, self._ax, 1.0

    def _step(self):
        x_new = self._prox_grad(self._z, self._az)
        ax_new = self.A(x_new)
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * self._t ** 2))
        m = (self._t - 1.0) / t_new
        self._z = x_new + m * (x_new - self.x)
        self._az = ax_new + m * (ax_new - self._ax)
        self.x, self._ax, self._t = x_new, ax_new, t_new


def ista(A, y, prior=None, tau: float | None = None, *, num_iters: int = 100,
         tol: float | None = None, x0=None, x_true=None, callback=None) -> SolverResult:
    """Run :class:`ISTA` on ``½‖Ax − y‖² + g(x)``; return ``(x_hat, history)``."""
    return ISTA(A, y, prior, tau, x0=x0, x_true=x_true).run(num_iters, tol=tol,
                                                           callback=callback)


def fista(A, y, prior=None, tau: float | None = None, *, num_iters: int = 100,
          tol: float | None = None, x0=None, x_true=None, callback=None) -> SolverResult:
    """Run :class:`FISTA` on ``½‖Ax − y‖² + g(x)``; return ``(x_hat, history)``."""
    return FISTA(A, y, prior, tau, x0=x0, x_true=x_true).run(num_iters, tol=tol,
                                                            callback=callback)


# -- variable splitting: HQS and ADMM ----------------------------------------------------

class _Splitting(IterativeSolver):
    """Shared parts of HQS and ADMM for ``½‖Ax − y‖² + g(v)`` with ``x = v``."""

    extra_keys = ("primal_residual", "beta")

    def __init__(self, A, y, prior=None, beta=1.0, *, data_step=None, cg_iters: int = 20,
                 x0=None, x_true=None, data_range: float = 1.0):
        A = _as_operator(A)
        super().__init__(A, x0, x_true=x_true, data_range=data_range)
        self.y = _data(A, y)
        self.prior = as_prior(prior)
        self.betas = _check_beta(beta)
        _check_callable(data_step, "data_step")
        self.cg_iters = check_int(cg_iters, "cg_iters", low=1)
        self._data_step, self.data_step_kind = _make_data_step(A, self.y, data_step,
                                                               self.cg_iters)
        self.setup()

    def beta(self, k: int | None = None) -> float:
        """The penalty at iteration ``k`` (default: the next iteration)."""
        k = self.iteration if k is None else k
        return self.betas[min(k, len(self.betas) - 1)]

    def _setup(self):
        self.x_data = self.x.copy()      # the data-step variable; self.x is the prior one
        self._u = np.zeros_like(self.x)

    def _denoise(self, z, beta):
        return np.asarray(self.prior.prox(z, 1.0 / beta))

    def _objective(self):
        if isinstance(self.prior, DenoiserPrior) or not callable(getattr(self.prior, "value",
                                                                          None)):
            return float("nan")
        return 0.5 * _sqnorm(self.A(self.x) - self.y) + _prior_value(self.prior, self.x)


class HQS(_Splitting):
    """Half-quadratic splitting for ``½‖Ax − y‖² + g(v)`` with ``x = v`` and penalty β.

    Parameters
    ----------
    A : LinearOperator or ndarray
        Forward operator.
    y : ndarray of shape ``A.out_shape``
        Measurements.
    prior : object or callable
        Anything with ``prox(x, tau)`` (used as ``prox(·, 1/beta)``) or a denoiser
        ``denoiser(x, sigma)`` (plug-and-play; see :class:`DenoiserPrior`).
    beta : float or sequence of float, optional
        Penalty β > 0, or one value per iteration (the last one is kept afterwards), e.g.
        an increasing schedule as in plug-and-play.
    data_step : callable, optional
        ``data_step(z, beta)`` returning ``argmin_x ½‖Ax − y‖² + β/2 ‖x − z‖²``, i.e.
        ``(AᴴA + βI)⁻¹(Aᴴy + βz)`` in closed form. Default: by FFT when ``A`` exposes
        circulant ``eigenvalues``, else ``cg_iters`` warm-started CG iterations.
    cg_iters : int, optional
        CG iterations of the default data step.
    x0, x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    .. math::
        x_{k+1} = \\arg\\min_x \\tfrac12\\|Ax - y\\|^2 + \\tfrac{\\beta}{2}\\|x - v_k\\|^2,
        \\qquad v_{k+1} = \\mathrm{prox}_{g/\\beta}(x_{k+1}).

    ``self.x`` is ``v`` (the output of the prior step) and ``self.x_data`` is ``x``.
    For a fixed β HQS solves the penalised problem, not the constrained one; β → ∞ along
    the iterations closes the gap. The history adds ``"primal_residual"`` ``‖x − v‖`` and
    ``"beta"``.

    References
    ----------
    .. [1] D. Geman and C. Yang, "Nonlinear image recovery with half-quadratic
       regularization", IEEE Trans. Image Processing, 4(7), 1995.
    .. [2] K. Zhang, W. Zuo, S. Gu and L. Zhang, "Learning deep CNN denoiser prior for
       image restoration", CVPR 2017.
    """

    def _step(self):
        beta = self.beta()
        self.x_data = self._data_step(self.x, beta, self.x_data)
        v = self._denoise(self.x_data, beta)
        self._extra["primal_residual"] = math.sqrt(_sqnorm(self.x_data - v))
        self._extra["beta"] = beta
        self.x = v


class ADMM(_Splitting):
    """ADMM (scaled form) for ``½‖Ax − y‖² + g(v)`` subject to ``x = v``, penalty β.

    Same arguments as :class:`HQS`.

    Notes
    -----
    With the scaled dual variable ``u``,

    .. math::
        x_{k+1} &= (A^HA + \\beta I)^{-1}(A^Hy + \\beta(v_k - u_k)), \\\\
        v_{k+1} &= \\mathrm{prox}_{g/\\beta}(x_{k+1} + u_k), \\\\
        u_{k+1} &= u_k + x_{k+1} - v_{k+1}.

    For convex ``g`` and any fixed β > 0 the iterates converge to a minimiser. When β
    changes, ``u`` is rescaled by ``β_old/β_new`` (the unscaled multiplier is kept). The
    history adds ``"primal_residual"`` ``‖x − v‖``, ``"dual_residual"``
    ``β‖v_{k+1} − v_k‖`` and ``"beta"``.

    References
    ----------
    .. [1] S. Boyd, N. Parikh, E. Chu, B. Peleato and J. Eckstein, "Distributed
       optimization and statistical learning via the alternating direction method of
       multipliers", Foundations and Trends in Machine Learning, 3(1), 2011.
    .. [2] S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for
       model based reconstruction", GlobalSIP 2013.
    """

    extra_keys = ("primal_residual", "dual_residual", "beta")

    def _step(self):
        beta = self.beta()
        if self.iteration > 0:
            self._u = self._u * (self.beta(self.iteration - 1) / beta)
        self.x_data = self._data_step(self.x - self._u, beta, self.x_data)
        v = self._denoise(self.x_data + self._u, beta)
        self._u = self._u + self.x_data - v
        self._extra["primal_residual"] = math.sqrt(_sqnorm(self.x_data - v))
        self._extra["dual_residual"] = beta * math.sqrt(_sqnorm(v - self.x))
        self._extra["beta"] = beta
        self.x = v


def hqs(A, y, prior=None, beta=1.0, *, num_iters: int = 50, data_step=None,
        cg_iters: int = 20, tol: float | None = None, x0=None, x_true=None,
        callback=None) -> SolverResult:
    """Run :class:`HQS`; return ``(x_hat, history)`` with ``x_hat`` the prior variable."""
    solver = HQS(A, y, prior, beta, data_step=data_step, cg_iters=cg_iters, x0=x0,
                 x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


def admm(A, y, prior=None, beta=1.0, *, num_iters: int = 50, data_step=None,
         cg_iters: int = 20, tol: float | None = None, x0=None, x_true=None,
         callback=None) -> SolverResult:
    """Run :class:`ADMM`; return ``(x_hat, history)`` with ``x_hat`` the prior variable."""
    solver = ADMM(A, y, prior, beta, data_step=data_step, cg_iters=cg_iters, x0=x0,
                  x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


# -- primal-dual hybrid gradient ----------------------------------------------------------

def _prox_conjugate(g, z, sigma):
    """``prox_{σ g*}(z)``: the function's own, or Moreau's ``z − σ prox_{g/σ}(z/σ)``."""
    own = getattr(g, "prox_conjugate", None)
    if callable(own):
        return own(z, sigma)
    return z - sigma * np.asarray(g.prox(z / sigma, 1.0 / sigma))


class PDHG(IterativeSolver):
    """Primal–dual hybrid gradient (Chambolle & Pock 2011) for ``min_x f(x) + g(Kx)``.

    Parameters
    ----------
    K : LinearOperator
        The operator inside ``g``.
    f : object or None
        ``f`` with ``prox(x, tau)`` and ``value(x)`` on ``K.in_shape`` (``None``: f = 0).
    g : object
        ``g`` on ``K.out_shape`` with ``value(z)`` and either ``prox(z, tau)`` or
        ``prox_conjugate(z, sigma)`` (the prox of ``σ g*``; Moreau's identity is used
        otherwise).
    tau, sigma : float, optional
        Primal and dual steps with ``sigma · tau · ‖K‖² < 1``; defaults
        ``tau = sigma = 0.99/‖K‖``.
    theta : float, optional
        Extrapolation, in [0, 1] (1 is the Chambolle–Pock algorithm).
    op_norm : float, optional
        ``‖K‖`` or an upper bound of it (skips the power iteration).
    x0, x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    .. math::
        p_{k+1} &= \\mathrm{prox}_{\\sigma g^*}(p_k + \\sigma K\\bar x_k), \\\\
        x_{k+1} &= \\mathrm{prox}_{\\tau f}(x_k - \\tau K^H p_{k+1}), \\\\
        \\bar x_{k+1} &= x_{k+1} + \\theta (x_{k+1} - x_k).

    ``K x̄`` is formed from the stored ``K x`` by linearity: one forward and one adjoint
    per iteration. ``self.p`` holds the dual variable. The objective is the primal one.

    References
    ----------
    .. [1] A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex
       problems with applications to imaging", J. Math. Imaging and Vision, 40(1), 2011.
    """

    def __init__(self, K, f, g, *, tau: float | None = None, sigma: float | None = None,
                 theta: float = 1.0, op_norm: float | None = None, x0=None, p0=None,
                 x_true=None, data_range: float = 1.0):
        K = _as_operator(K, "K")
        super().__init__(K, x0, x_true=x_true, data_range=data_range)
        self.f = as_prior(f, "f")
        if not (callable(getattr(g, "prox", None)) or callable(getattr(g, "prox_conjugate",
                                                                         None))):
            raise TypeError(f"g must have prox(z, tau) or prox_conjugate(z, sigma), "
                            f"got {type(g).__name__}")
        self.g = g
        self.theta = check_scalar(theta, "theta", low=0.0, high=1.0)
        norm = _op_norm(K) if op_norm is None else check_scalar(op_norm, "op_norm", low=0.0,
                                                                 low_inclusive=False)
        if norm == 0.0:
            raise ValueError("K is zero (‖K‖ = 0)")
        self.op_norm = norm
        self.tau = 0.99 / norm if tau is None else check_scalar(tau, "tau", low=0.0,
                                                                low_inclusive=False)
        self.sigma = 0.99 / norm if sigma is None else check_scalar(sigma, "sigma", low=0.0,
                                                                    low_inclusive=False)
        if self.sigma * self.tau * norm ** 2 >= 1.0:
            raise ValueError(f"tau and sigma must satisfy sigma·tau·‖K‖² < 1, got "
                             f"{self.sigma:.4g}·{self.tau:.4g}·{norm ** 2:.4g} = "
                             f"{self.sigma * self.tau * norm ** 2:.4g}")
        self._p0 = None if p0 is None else as_array(p0, "p0", shape=K.out_shape)
        self.setup()

    def _setup(self):
        self._kx = self.A(self.x)
        self._kxbar = self._kx
        self.p = (np.zeros(self.A.out_shape, dtype=np.result_type(self._kx, np.float64))
                  if self._p0 is None else self._p0.copy())

    def _step(self):
        self.p = _prox_conjugate(self.g, self.p + self.sigma * self._kxbar, self.sigma)
        x_new = np.asarray(self.f.prox(self.x - self.tau * self.A.adjoint(self.p), self.tau))
        kx_new = self.A(x_new)
        self._kxbar = kx_new + self.theta * (kx_new - self._kx)
        self.x, self._kx = x_new, kx_new

    def _objective(self):
        return _prior_value(self.f, self.x) + float(self.g.value(self._kx))


def pdhg(K, f, g, *, num_iters: int = 100, tau: float | None = None,
         sigma: float | None = None, theta: float = 1.0, op_norm: float | None = None,
         tol: float | None = None, x0=None, x_true=None, callback=None) -> SolverResult:
    """Run :class:`PDHG` on ``min_x f(x) + g(Kx)``; return ``(x_hat, history)``."""
    solver = PDHG(K, f, g, tau=tau, sigma=sigma, theta=theta, op_norm=op_norm, x0=x0,
                  x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


class _TVLeastSquaresDual:
    """``g(a, d) = ½‖a − y‖² + lam ‖d‖_{2,1}`` on the stacked output of ``[A; D]``."""

    def __init__(self, y, lam, m, d_shape, axis):
        self.y, self.lam, self.m = y, lam, m
        self.d_shape, self.axis = d_shape, axis

    def _split(self, z):
        return z[:self.m].reshape(self.y.shape), z[self.m:].reshape(self.d_shape)

    def value(self, z):
        a, d = self._split(z)
        mag = np.sqrt(np.sum(np.abs(d) ** 2, axis=self.axis))
        return 0.5 * _sqnorm(a - self.y) + self.lam * float(np.sum(mag))

    def prox_conjugate(self, z, sigma):
        a, d = self._split(z)
        a = (a - sigma * self.y) / (1.0 + sigma)
        mag = np.sqrt(np.sum(np.abs(d) ** 2, axis=self.axis, keepdims=True))
        if self.lam > 0.0:
            d = d / np.maximum(1.0, mag / self.lam)
        else:
            d = np.zeros_like(d)
        return np.concatenate([np.ravel(a), np.ravel(d)])


class _NonNegative:
    lam = 0.0

    def value(self, x):
        return 0.0 if np.all(np.real(x) >= 0) else float("inf")

    def prox(self, x, tau):
        return np.maximum(np.real(x), 0.0)


def make_tv_pdhg(A, y, lam: float, *, D=None, nonneg: bool = False, tau: float | None = None,
                 sigma: float | None = None, x0=None, x_true=None,
                 data_range: float = 1.0) -> PDHG:
    """A :class:`PDHG` solver for TV-regularised least squares, ready to ``step``.

    Minimises ``½‖Ax − y‖² + lam ‖Dx‖_{2,1}`` (optionally with ``x >= 0``), with
    ``K = [A; D]`` and ``g(a, d) = ½‖a − y‖² + lam‖d‖_{2,1}`` whose conjugate prox is
    explicit, so ``A`` is never inverted.

    Parameters
    ----------
    A : LinearOperator
        Forward operator on images of shape (M, N).
    y : ndarray of shape ``A.out_shape``
        Measurements.
    lam : float
        TV weight (>= 0).
    D : LinearOperator, optional
        Discrete gradient mapping (M, N) to (2, M, N) (or (M, N, 2)); default: the
        forward-difference gradient of :mod:`course_utils.operators`.
    nonneg : bool, optional
        Add the constraint ``x >= 0`` (``f`` is its indicator).
    tau, sigma : float, optional
        PDHG steps; default ``0.99/‖K‖`` each, with ``‖K‖² <= ‖A‖² + ‖D‖²``.
    x0, x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    Dual updates: for the data block ``prox_{σh*}(p) = (p − σy)/(1 + σ)``; for the TV
    block the pixel-wise projection ``q ↦ q / max(1, |q|/lam)`` onto the ball of radius
    ``lam`` (the isotropic ``‖·‖_{2,1}``). Real inputs give a real iterate.

    References
    ----------
    .. [1] A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex
       problems with applications to imaging", J. Math. Imaging and Vision, 40(1), 2011.
    .. [2] L. I. Rudin, S. Osher and E. Fatemi, "Nonlinear total variation based noise
       removal algorithms", Physica D, 60, 1992.
    """
    A = _as_operator(A)
    y = _data(A, y)
    lam = check_scalar(lam, "lam", low=0.0)
    if not isinstance(nonneg, bool):
        raise TypeError(f"nonneg must be a bool, got {type(nonneg).__name__}")
    D = Gradient(A.in_shape) if D is None else _as_operator(D, "D")
    shape, d_shape = tuple(A.in_shape), tuple(D.out_shape)
    if tuple(D.in_shape) != shape:
        raise ValueError(f"D must have in_shape {shape}, got {D.in_shape}")
    if d_shape[1:] == shape:
        axis = 0
    elif d_shape[:-1] == shape:
        axis = -1
    else:
        raise ValueError(f"D must map {shape} to (k, *{shape}) or (*{shape}, k), got {d_shape}")
    op_norm = math.sqrt(_op_norm(A) ** 2 + _op_norm(D) ** 2)
    K = StackedOperator(A, D)
    g = _TVLeastSquaresDual(y, lam, int(np.prod(A.out_shape)), d_shape, axis)
    return PDHG(K, _NonNegative() if nonneg else None, g, tau=tau, sigma=sigma,
                op_norm=op_norm, x0=x0, x_true=x_true, data_range=data_range)


def tv_reconstruct(A, y, lam: float, *, num_iters: int = 100, D=None, nonneg: bool = False,
                   tau: float | None = None, sigma: float | None = None,
                   tol: float | None = None, x0=None, x_true=None,
                   callback=None) -> SolverResult:
    """TV-regularised least squares ``½‖Ax − y‖² + lam ‖∇x‖_{2,1}`` by PDHG.

    See :func:`make_tv_pdhg` for the arguments. Returns ``(x_hat, history)``.
    """
    solver = make_tv_pdhg(A, y, lam, D=D, nonneg=nonneg, tau=tau, sigma=sigma, x0=x0,
                          x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)


# -- Richardson-Lucy ----------------------------------------------------------------------

class RichardsonLucy(IterativeSolver):
    """Richardson–Lucy (EM for Poisson data): ``x ← x ⊙ Aᴴ(y / Ax) / Aᴴ1``.

    Parameters
    ----------
    A : LinearOperator or ndarray
        Non-negative forward operator (a blur with a non-negative kernel, a projector).
    y : ndarray of shape ``A.out_shape``
        Non-negative measurements (counts).
    x0 : ndarray, optional
        Non-negative start; default the constant ``c`` with ``Σ(Aᴴ1)c = Σy``.
    eps : float, optional
        Floor of ``Ax`` in the ratio ``y / Ax``.
    x_true, data_range
        As in :class:`IterativeSolver`.

    Notes
    -----
    The iteration is the EM algorithm for ``y ~ Poisson(Ax)``: it keeps ``x >= 0``,
    conserves the flux ``Σ (Aᴴ1) ⊙ x_k = Σ y`` after every step, and decreases the
    objective recorded in the history, the Kullback–Leibler divergence

    .. math:: D(y\\|Ax) = \\sum_i y_i \\log\\frac{y_i}{(Ax)_i} - y_i + (Ax)_i.

    Pixels with ``(Aᴴ1)_j = 0`` are not seen by the data and keep their value. Like
    Landweber it semi-converges: stop early on noisy data.

    References
    ----------
    .. [1] W. H. Richardson, "Bayesian-based iterative method of image restoration",
       J. Optical Society of America, 62(1), 1972.
    .. [2] L. B. Lucy, "An iterative technique for the rectification of observed
       distributions", Astronomical Journal, 79, 1974.
    """

    def __init__(self, A, y, *, x0=None, eps: float = 1e-12, x_true=None,
                 data_range: float = 1.0):
        A = _as_operator(A)
        y = as_array(y, "y", shape=A.out_shape, allow_complex=False, dtype=np.float64)
        if np.any(y < 0):
            raise ValueError(f"y must be non-negative for Richardson–Lucy, got min {y.min():.3g}")
        self.eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
        if isinstance(A, MatrixOperator) and np.any(np.asarray(A.matrix) < 0):
            raise ValueError("A must be non-negative for Richardson–Lucy")
        sens = np.asarray(A.adjoint(np.ones(A.out_shape)))
        if np.iscomplexobj(sens) or np.any(sens < -1e-12 * max(np.abs(sens).max(), _TINY)):
            raise ValueError("A must be non-negative for Richardson–Lucy (Aᴴ1 has negative "
                             "or complex entries)")
        self._sens = np.maximum(sens, 0.0)
        if x0 is None:
            total = float(np.sum(self._sens))
            x0 = np.full(A.in_shape, float(np.sum(y)) / total if total > 0 else 0.0)
        else:
            x0 = as_array(x0, "x0", shape=A.in_shape, allow_complex=False, dtype=np.float64)
            if np.any(x0 < 0):
                raise ValueError("x0 must be non-negative for Richardson–Lucy")
        self.y = y
        super().__init__(A, x0, x_true=x_true, data_range=data_range)
        self.setup()

    def _setup(self):
        self._ax = np.asarray(self.A(self.x))

    def _step(self):
        ratio = self.y / np.maximum(self._ax, self.eps)
        back = np.asarray(self.A.adjoint(ratio))
        seen = self._sens > 0
        factor = np.ones_like(self.x)
        np.divide(back, self._sens, out=factor, where=seen)
        self.x = np.maximum(self.x * factor, 0.0)
        self._ax = np.asarray(self.A(self.x))

    def _objective(self):
        ax = np.maximum(self._ax, 0.0)
        pos = self.y > 0
        with np.errstate(divide="ignore"):
            kl = np.sum(self.y[pos] * np.log(self.y[pos] / ax[pos])) - self.y.sum() + ax.sum()
        return float(kl)


def richardson_lucy(A, y, num_iters: int = 30, *, x0=None, eps: float = 1e-12,
                    tol: float | None = None, x_true=None, callback=None) -> SolverResult:
    """Run :class:`RichardsonLucy` (non-negative ``A`` and ``y``); return ``(x_hat, history)``."""
    solver = RichardsonLucy(A, y, x0=x0, eps=eps, x_true=x_true)
    return solver.run(num_iters, tol=tol, callback=callback)
