"""Choosing the Tikhonov weight λ: L-curve, discrepancy principle and GCV, via SVD or FFT."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validate import as_array, check_int, check_scalar

__all__ = ["TikhonovSpectrum", "tikhonov", "LCurve", "l_curve", "curve_corner",
           "discrepancy_principle", "GCVCurve", "gcv", "default_lams"]

_TINY = np.finfo(np.float64).tiny
_MAX_DENSE = 4096      # largest matrix side converted from an operator for an SVD


class TikhonovSpectrum:
    """The spectral data of a Tikhonov problem: singular values and data coefficients.

    Tikhonov regularisation ``x_λ = argmin ‖Ax − y‖² + λ‖x‖²``, i.e.
    ``(AᴴA + λI) x = Aᴴ y``, is diagonal in the SVD ``A = U diag(s) Vᴴ``: with
    ``β = Uᴴ y`` and filter factors ``f_i = s_i² / (s_i² + λ)``,

    .. math::
        x_λ = \\sum_i f_i \\frac{β_i}{s_i} v_i, \\quad
        \\|x_λ\\|^2 = \\sum_i f_i^2 \\frac{|β_i|^2}{s_i^2}, \\quad
        \\|Ax_λ - y\\|^2 = \\sum_i (1 - f_i)^2 |β_i|^2 + \\|y_\\perp\\|^2,

    where ``y_⊥`` is the part of ``y`` outside the range of ``U``. A circular blur is
    diagonalised by the FFT instead: ``s_i = |ĥ_i|`` (its ``eigenvalues``) and
    ``β = F y`` with the unitary DFT. Everything below then costs O(n) per λ.

    Parameters
    ----------
    A : ndarray of shape (m, n), tuple (U, s, Vh), or operator
        A dense matrix (its SVD is computed); the thin SVD as returned by
        ``numpy.linalg.svd(A, full_matrices=False)`` (e.g. ``illposed.compute_svd``); an
        operator with an ``eigenvalues`` attribute of the shape of its input and output
        (a circular blur, ``A x = ifftn(eigenvalues · fftn(x))``); or a small
        ``LinearOperator`` (converted with ``to_matrix()``).
    y : ndarray
        Measurements: shape (m,) for a matrix, the shape of ``eigenvalues`` for a
        circulant operator, ``A.out_shape`` for an operator.

    Attributes
    ----------
    s : ndarray
        Singular values (flattened; unsorted in the FFT case).
    beta : ndarray
        Coefficients ``Uᴴ y`` (or the unitary DFT of ``y``), flattened.
    m : int
        Number of measurements (``y.size``).
    residual_floor : float
        ``‖y_⊥‖² + Σ_{s_i = 0} |β_i|²``: the squared residual as λ → 0.
    """

    def __init__(self, A, y):
        self._eig = None
        self._V = None
        eig = getattr(A, "eigenvalues", None)
        if eig is not None and not isinstance(A, (tuple, list, np.ndarray)):
            eig = as_array(eig, "A.eigenvalues")
            shape = eig.shape
            for attr in ("in_shape", "out_shape"):
                if hasattr(A, attr) and tuple(getattr(A, attr)) != shape:
                    raise ValueError(f"A.eigenvalues must have the shape of A.{attr} "
                                     f"{tuple(getattr(A, attr))}, got {shape}")
            y = as_array(y, "y", shape=shape)
            self._eig = eig
            self.y_shape = self.x_shape = shape
            self._real = (not np.iscomplexobj(y)) and _hermitian(eig)
            self.s = np.abs(eig).ravel()
            self.beta = np.fft.fftn(y, norm="ortho").ravel()
            self._y_hat = None
            perp = 0.0
        else:
            U, s, Vh, shape_in, shape_out = _svd(A)
            y = as_array(y, "y", shape=shape_out)
            yv = y.reshape(-1)
            self.s = s
            self.beta = U.conj().T @ yv
            self._V = Vh.conj().T
            self.y_shape, self.x_shape = shape_out, shape_in
            self._real = not (np.iscomplexobj(y) or np.iscomplexobj(U) or np.iscomplexobj(Vh))
            perp = max(float(np.sum(np.abs(yv) ** 2) - np.sum(np.abs(self.beta) ** 2)), 0.0)
        self.y = y
        self.m = int(y.size)
        self.beta2 = np.abs(self.beta) ** 2
        self._pos = self.s > 0
        self.residual_floor = perp + float(np.sum(self.beta2[~self._pos]))
        self._s2 = self.s[self._pos] ** 2
        self._b2 = self.beta2[self._pos]
        self._b2_s2 = self._b2 / self._s2
        self.y_norm2 = float(np.sum(np.abs(y) ** 2))

    # -- per-λ quantities, vectorised over an array of λ ---------------------------------
    def _filters(self, lams):
        lams = np.atleast_1d(np.asarray(lams, dtype=np.float64))
        return self._s2[None, :] / (self._s2[None, :] + lams[:, None]), lams

    def residual_norms(self, lams) -> np.ndarray:
        """``‖A x_λ − y‖`` for every λ in ``lams``."""
        f, _ = self._filters(lams)
        r2 = np.sum((1.0 - f) ** 2 * self._b2, axis=1) + self.residual_floor
        return np.sqrt(r2)

    def solution_norms(self, lams) -> np.ndarray:
        """``‖x_λ‖`` for every λ in ``lams``."""
        f, _ = self._filters(lams)
        return np.sqrt(np.sum(f ** 2 * self._b2_s2, axis=1))

    def dof(self, lams) -> np.ndarray:
        """Effective number of parameters ``trace(A A_λ^#) = Σ f_i``."""
        f, _ = self._filters(lams)
        return np.sum(f, axis=1)

    def gcv_values(self, lams) -> np.ndarray:
        """``G(λ) = ‖A x_λ − y‖² / (m − Σ f_i)²``."""
        res2 = self.residual_norms(lams) ** 2
        den = (self.m - self.dof(lams)) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, res2 / np.maximum(den, _TINY), np.inf)

    def curvature(self, lams) -> np.ndarray:
        """Curvature of the L-curve ``(log ‖Ax_λ − y‖, log ‖x_λ‖)`` at each λ (analytic).

        With ``t = ln λ``, ``f' = −f(1 − f)``; ``R = ‖Ax_λ − y‖²`` and ``E = ‖x_λ‖²`` have

        ``R' = 2 Σ f g² |β|²``, ``R'' = 2 Σ f g² (2f − g) |β|²``,
        ``E' = −2 Σ f² g |β|²/s²``, ``E'' = −2 Σ f² g (f − 2g) |β|²/s²`` (``g = 1 − f``),

        and the curvature of ``(½ ln R, ½ ln E)`` is ``(x'y'' − x''y') / (x'² + y'²)^{3/2}``,
        positive where the curve turns from vertical to horizontal: the corner.
        """
        f, lams = self._filters(lams)
        g = 1.0 - f
        b2, b2s2 = self._b2[None, :], self._b2_s2[None, :]
        R = np.sum(g ** 2 * b2, axis=1) + self.residual_floor
        dR = 2.0 * np.sum(f * g ** 2 * b2, axis=1)
        ddR = 2.0 * np.sum(f * g ** 2 * (2.0 * f - g) * b2, axis=1)
        E = np.sum(f ** 2 * b2s2, axis=1)
        dE = -2.0 * np.sum(f ** 2 * g * b2s2, axis=1)
        ddE = -2.0 * np.sum(f ** 2 * g * (f - 2.0 * g) * b2s2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            xp, yp = dR / (2 * R), dE / (2 * E)
            xpp = (ddR * R - dR ** 2) / (2 * R ** 2)
            ypp = (ddE * E - dE ** 2) / (2 * E ** 2)
            kappa = (xp * ypp - xpp * yp) / (xp ** 2 + yp ** 2) ** 1.5
        return np.where(np.isfinite(kappa), kappa, -np.inf)

    def solve(self, lam: float) -> np.ndarray:
        """The Tikhonov solution ``x_λ = (AᴴA + λI)⁻¹ Aᴴ y`` (λ = 0: pseudo-inverse)."""
        lam = check_scalar(lam, "lam", low=0.0)
        if self._eig is not None:
            eig = self._eig
            den = np.abs(eig) ** 2 + lam
            filt = np.zeros_like(eig, dtype=np.complex128)
            np.divide(np.conj(eig), den, out=filt, where=den > 0)
            x = np.fft.ifftn(filt * np.fft.fftn(self.y))
            return x.real if self._real else x
        coef = np.zeros_like(self.beta, dtype=np.result_type(self.beta, np.float64))
        pos = self._pos
        coef[pos] = self.s[pos] * self.beta[pos] / (self.s[pos] ** 2 + lam)
        x = self._V @ coef
        if self._real:
            x = x.real
        return x.reshape(self.x_shape)

    def __repr__(self):
        kind = "fft" if self._eig is not None else "svd"
        return f"TikhonovSpectrum({kind}, m={self.m}, rank={int(self._pos.sum())})"


def _hermitian(eig) -> bool:
    """Whether ``ifftn(eig)`` is real (a real kernel): then real data give real solutions."""
    kernel = np.fft.ifftn(eig)
    return bool(np.abs(kernel.imag).max() <= 1e-10 * max(np.abs(kernel).max(), _TINY))


def _svd(A):
    """``(U, s, Vh, in_shape, out_shape)`` from a matrix, an SVD triple or an operator."""
    if isinstance(A, tuple) and len(A) == 3:
        U = as_array(A[0], "U", ndim=2)
        s = as_array(A[1], "s", ndim=1, allow_complex=False, dtype=np.float64)
        Vh = as_array(A[2], "Vh", ndim=2)
        r = s.size
        if U.shape[1] != r or Vh.shape[0] != r:
            raise ValueError(f"the SVD factors do not match: U {U.shape}, s {s.shape}, "
                             f"Vh {Vh.shape} (expected U (m, r), s (r,), Vh (r, n))")
        if np.any(s < 0):
            raise ValueError("s must be non-negative singular values")
        return U, s, Vh, (Vh.shape[1],), (U.shape[0],)
    if isinstance(A, np.ndarray) or isinstance(A, list):
        mat = as_array(A, "A", ndim=2)
        shape_in, shape_out = (mat.shape[1],), (mat.shape[0],)
    elif hasattr(A, "to_matrix") and hasattr(A, "in_shape"):
        n_in, n_out = int(np.prod(A.in_shape)), int(np.prod(A.out_shape))
        if max(n_in, n_out) > _MAX_DENSE:
            raise ValueError(f"A is too large for a dense SVD ({n_out}×{n_in}); pass an "
                             "operator with circulant eigenvalues or its SVD (U, s, Vh)")
        mat = A.to_matrix()
        shape_in, shape_out = tuple(A.in_shape), tuple(A.out_shape)
    else:
        raise TypeError("A must be a 2-D ndarray, an SVD triple (U, s, Vh), an operator "
                        f"with eigenvalues or a LinearOperator, got {type(A).__name__}")
    if mat.size == 0:
        raise ValueError("A must not be empty")
    U, s, Vh = np.linalg.svd(mat, full_matrices=False)
    return U, s, Vh, shape_in, shape_out


def _spectrum(A, y) -> TikhonovSpectrum:
    if isinstance(A, TikhonovSpectrum):
        if y is not None:
            raise ValueError("y must be None when A is a TikhonovSpectrum (it holds y)")
        return A
    if y is None:
        raise ValueError("y is required (the measurements)")
    return TikhonovSpectrum(A, y)


def _check_lams(lams, name="lams", min_size=1) -> np.ndarray:
    lams = as_array(lams, name, ndim=1, allow_complex=False, dtype=np.float64)
    if lams.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} values, got {lams.size}")
    if np.any(lams <= 0):
        raise ValueError(f"{name} must be positive, got min {lams.min():.3g}")
    return np.sort(lams)


def default_lams(A, y=None, num: int = 100) -> np.ndarray:
    """A log-spaced grid of λ covering the singular values: ``s_max²·10⁻¹²`` … ``s_max²``.

    The lower end is raised to ``s_min²/100`` when the smallest non-zero singular value is
    larger than that, since below it nothing changes.
    """
    spec = _spectrum(A, y)
    num = check_int(num, "num", low=3)
    s2 = spec._s2
    if s2.size == 0:
        raise ValueError("A is zero: every λ gives x = 0")
    top = float(s2.max())
    low = max(top * 1e-12, float(s2.min()) * 1e-2)
    return np.logspace(np.log10(low), np.log10(top), num)


def tikhonov(A, y, lam: float) -> np.ndarray:
    """Tikhonov solution ``argmin ‖Ax − y‖² + λ‖x‖²`` in closed form (SVD or FFT).

    Parameters
    ----------
    A : ndarray, tuple (U, s, Vh), operator with ``eigenvalues``, or TikhonovSpectrum
        See :class:`TikhonovSpectrum`.
    y : ndarray or None
        Measurements (``None`` when ``A`` is a :class:`TikhonovSpectrum`).
    lam : float
        λ >= 0 (0 gives the pseudo-inverse solution).

    Returns
    -------
    ndarray
        ``x_λ``, of the shape of the unknown.

    Notes
    -----
    The same ``x_λ`` as ``solvers.cg_normal(A, y, lam)`` (both solve
    ``(AᴴA + λI) x = Aᴴy``; a factor ½ on both terms leaves it unchanged).
    """
    return _spectrum(A, y).solve(lam)


class LCurve(NamedTuple):
    """Result of :func:`l_curve`."""

    lams: np.ndarray
    residual_norms: np.ndarray
    solution_norms: np.ndarray
    curvature: np.ndarray
    corner_lam: float
    corner_index: int


def l_curve(A, y=None, lams=None, *, num: int = 100) -> LCurve:
    """The L-curve ``(‖Ax_λ − y‖, ‖x_λ‖)`` and its corner of maximum curvature.

    Parameters
    ----------
    A : ndarray, tuple (U, s, Vh), operator with ``eigenvalues``, or TikhonovSpectrum
        See :class:`TikhonovSpectrum`.
    y : ndarray or None
        Measurements (``None`` when ``A`` is a :class:`TikhonovSpectrum`).
    lams : array_like, optional
        Positive λ values (sorted on return); default :func:`default_lams`.
    num : int, optional
        Grid size of the default λ grid.

    Returns
    -------
    LCurve
        ``lams``, ``residual_norms``, ``solution_norms``, ``curvature`` (analytic, of the
        log–log curve), ``corner_lam`` (maximum curvature, refined between grid points)
        and ``corner_index`` (the grid point nearest to it).

    Notes
    -----
    The L-curve plots ``log ‖x_λ‖`` against ``log ‖Ax_λ − y‖``. Small λ: the vertical
    branch (noise dominates ``x_λ``); large λ: the horizontal branch (over-smoothing).
    Hansen's choice is the corner, where the curvature is largest.

    References
    ----------
    .. [1] P. C. Hansen and D. P. O'Leary, "The use of the L-curve in the regularization
       of discrete ill-posed problems", SIAM J. Sci. Comput., 14(6), 1993.
    .. [2] P. C. Hansen, *Discrete Inverse Problems: Insight and Algorithms*, SIAM, 2010.
    """
    spec = _spectrum(A, y)
    lams = default_lams(spec, num=num) if lams is None else _check_lams(lams, min_size=3)
    res = spec.residual_norms(lams)
    sol = spec.solution_norms(lams)
    kappa = spec.curvature(lams)
    if not np.any(np.isfinite(kappa)):
        raise ValueError("the L-curve is degenerate (y = 0 or A = 0): no corner")
    k = int(np.argmax(kappa))
    corner = float(lams[k])
    if 0 < k < lams.size - 1:
        from scipy.optimize import minimize_scalar
        t_lo, t_hi = math.log(lams[k - 1]), math.log(lams[k + 1])
        opt = minimize_scalar(lambda t: -spec.curvature(math.exp(t))[0],
                              bounds=(t_lo, t_hi), method="bounded",
                              options={"xatol": 1e-6})
        if -opt.fun >= kappa[k]:
            corner = float(math.exp(opt.x))
    index = int(np.argmin(np.abs(np.log(lams) - math.log(corner))))
    return LCurve(lams, res, sol, kappa, corner, index)


def curve_corner(residual_norms, solution_norms) -> int:
    """Index of the maximum-curvature point of a sampled L-curve (finite differences).

    For curves without a spectral form (e.g. iterates of a solver, or λ's of a
    non-quadratic regulariser). Points are ordered by increasing residual norm, and the
    curvature of ``(log ρ, log η)`` is estimated with second-order differences along the
    point index; the index returned refers to the input order.

    Parameters
    ----------
    residual_norms, solution_norms : array_like of shape (k,)
        Positive ``ρ_j = ‖Ax_j − y‖`` and ``η_j = ‖x_j‖`` (k >= 3).

    Returns
    -------
    int
        Index (into the given arrays) of the corner.
    """
    rho = as_array(residual_norms, "residual_norms", ndim=1, allow_complex=False,
                   dtype=np.float64)
    eta = as_array(solution_norms, "solution_norms", ndim=1, allow_complex=False,
                   dtype=np.float64)
    if rho.shape != eta.shape:
        raise ValueError(f"residual_norms and solution_norms must have the same shape, "
                         f"got {rho.shape} and {eta.shape}")
    if rho.size < 3:
        raise ValueError(f"residual_norms must hold at least 3 points, got {rho.size}")
    if np.any(rho <= 0) or np.any(eta <= 0):
        raise ValueError("residual_norms and solution_norms must be positive (log scale)")
    order = np.argsort(rho, kind="stable")
    x, y = np.log(rho[order]), np.log(eta[order])
    xp, yp = np.gradient(x), np.gradient(y)
    xpp, ypp = np.gradient(xp), np.gradient(yp)
    speed2 = xp ** 2 + yp ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (xp * ypp - xpp * yp) / speed2 ** 1.5
    kappa = np.where((speed2 > 1e-16 * speed2.max()) & np.isfinite(kappa), kappa, -np.inf)
    return int(order[int(np.argmax(kappa))])


def discrepancy_principle(A, y=None, sigma: float | None = None, *, tau_dp: float = 1.0
                          ) -> float:
    """The λ whose residual norm equals ``tau_dp · sigma · sqrt(m)`` (Morozov).

    Parameters
    ----------
    A : ndarray, tuple (U, s, Vh), operator with ``eigenvalues``, or TikhonovSpectrum
        See :class:`TikhonovSpectrum`.
    y : ndarray or None
        Measurements (``None`` when ``A`` is a :class:`TikhonovSpectrum`).
    sigma : float
        Noise standard deviation per entry of ``y`` (>= 0). For complex noise with
        standard deviation ``σ`` on the real and on the imaginary part, pass ``σ√2``.
    tau_dp : float, optional
        Safety factor (>= 1 is usual; 1 by default).

    Returns
    -------
    float
        λ >= 0. It is 0 when even λ → 0 leaves a residual above the target (e.g.
        ``sigma = 0``): the data are then fitted as well as ``A`` allows.

    Raises
    ------
    ValueError
        If the target is at least ``‖y‖`` (then only ``x = 0``, λ = ∞, satisfies it).

    Notes
    -----
    ``‖Ax_λ − y‖`` increases monotonically with λ, from ``‖y_⊥‖`` to ``‖y‖``; the
    equation ``‖Ax_λ − y‖ = τ σ √m`` (``E‖n‖² = mσ²``) is solved by Brent's method in
    ``ln λ`` to a relative accuracy of 1e-10.

    References
    ----------
    .. [1] V. A. Morozov, "On the solution of functional equations by the method of
       regularization", Soviet Math. Dokl., 7, 1966.
    """
    spec = _spectrum(A, y)
    if sigma is None:
        raise ValueError("sigma (the noise standard deviation) is required")
    sigma = check_scalar(sigma, "sigma", low=0.0)
    tau_dp = check_scalar(tau_dp, "tau_dp", low=0.0, low_inclusive=False)
    target2 = (tau_dp * sigma) ** 2 * spec.m
    if target2 <= spec.residual_floor:
        return 0.0
    if target2 >= spec.y_norm2:
        raise ValueError(f"the target residual τσ√m = {math.sqrt(target2):.4g} is not below "
                         f"‖y‖ = {math.sqrt(spec.y_norm2):.4g}: sigma is too large for these "
                         "data (only x = 0 fits)")

    def excess(t):
        return float(spec.residual_norms(math.exp(t))[0] ** 2) / target2 - 1.0

    top = math.log(float(spec._s2.max()))
    hi = top
    while excess(hi) <= 0.0:
        hi += 5.0
    lo = top - 30.0
    while excess(lo) >= 0.0:
        lo -= 30.0
        if lo < -700.0:
            return 0.0
    from scipy.optimize import brentq
    t = brentq(excess, lo, hi, xtol=1e-12, rtol=1e-12)
    return float(math.exp(t))


class GCVCurve(NamedTuple):
    """Result of :func:`gcv`."""

    lams: np.ndarray
    values: np.ndarray
    lam: float


def gcv(A, y=None, lams=None, *, num: int = 100) -> GCVCurve:
    """Generalised cross-validation: the λ minimising ``‖Ax_λ − y‖² / (m − Σ f_i)²``.

    Parameters
    ----------
    A : ndarray, tuple (U, s, Vh), operator with ``eigenvalues``, or TikhonovSpectrum
        See :class:`TikhonovSpectrum`.
    y : ndarray or None
        Measurements (``None`` when ``A`` is a :class:`TikhonovSpectrum`).
    lams : array_like, optional
        Positive λ values (sorted on return); default :func:`default_lams`.
    num : int, optional
        Grid size of the default λ grid.

    Returns
    -------
    GCVCurve
        ``lams``, ``values`` (``G(λ)`` on the grid) and ``lam``, the minimiser (grid
        minimum refined between its neighbours).

    Notes
    -----
    ``G(λ) = ‖Ax_λ − y‖² / trace(I − A A_λ^#)²`` with ``trace(A A_λ^#) = Σ f_i``. It needs
    no knowledge of σ: it estimates the λ that best predicts left-out data.

    References
    ----------
    .. [1] G. H. Golub, M. Heath and G. Wahba, "Generalized cross-validation as a method
       for choosing a good ridge parameter", Technometrics, 21(2), 1979.
    """
    spec = _spectrum(A, y)
    lams = default_lams(spec, num=num) if lams is None else _check_lams(lams)
    values = spec.gcv_values(lams)
    if not np.any(np.isfinite(values)):
        raise ValueError("GCV is undefined on this λ grid (m − Σ f_i = 0 everywhere)")
    k = int(np.argmin(np.where(np.isfinite(values), values, np.inf)))
    lam = float(lams[k])
    if 0 < k < lams.size - 1:
        from scipy.optimize import minimize_scalar
        opt = minimize_scalar(lambda t: float(spec.gcv_values(math.exp(t))[0]),
                              bounds=(math.log(lams[k - 1]), math.log(lams[k + 1])),
                              method="bounded", options={"xatol": 1e-6})
        if opt.fun <= values[k]:
            lam = float(math.exp(opt.x))
    return GCVCurve(lams, values, lam)
