"""Compressed-sensing measurements of an image: ``y = Φ vec(x)`` with a random Gaussian Φ."""
from __future__ import annotations

import numpy as np

from .._validate import check_int, check_shape
from .base import LinearOperator
from .registry import register_operator

__all__ = ["GaussianSensing"]


class GaussianSensing(LinearOperator):
    """``m`` random Gaussian measurements of an image: ``y = Φ vec(x)``, ``Φ ∈ R^{m × MN}``.

    Parameters
    ----------
    shape : tuple of int
        Image shape (M, N).
    num_measurements : int
        Number ``m`` of measurements, ``1 <= m``; ``m < MN`` is compressed sensing.
    seed : int
        Seed of the matrix.

    Attributes
    ----------
    matrix : ndarray of shape (m, M·N)
        ``Φ`` with i.i.d. entries ``N(0, 1/m)``, acting on the row-major ``vec(x)``.

    Notes
    -----
    With entries of variance ``1/m``, ``E[ΦᵀΦ] = I``, so ``‖Φx‖ ≈ ‖x‖`` for a fixed ``x``
    (Johnson–Lindenstrauss), and ``‖Φ‖₂ ≈ 1 + sqrt(MN / m)`` (Marchenko–Pastur edge).
    For ``m < MN`` the null space has dimension ``MN − m``: least squares returns the
    minimum-norm solution ``Φᵀ(ΦΦᵀ)⁻¹y``, and a prior must choose among the solutions.

    References
    ----------
    E. J. Candès, J. Romberg and T. Tao, "Robust uncertainty principles: exact signal
    reconstruction from highly incomplete frequency information", IEEE Trans. Inf. Theory
    52(2), 2006.
    A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
    models", ICML 2017.
    """

    def __init__(self, shape=(16, 16), num_measurements: int = 64, seed: int = 0):
        shape = check_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"shape must be a 2-D shape (M, N), got {shape!r}")
        m = check_int(num_measurements, "num_measurements", low=1)
        self.seed = check_int(seed, "seed", low=0)
        n = shape[0] * shape[1]
        rng = np.random.default_rng(self.seed)
        self.matrix = rng.standard_normal((m, n)) / np.sqrt(m)
        self.num_measurements = m
        super().__init__(shape, (m,), in_kind="any", out_kind="any", name="gaussian_sensing")

    def _forward(self, x):
        return self.matrix @ x.reshape(-1)

    def _adjoint(self, y):
        return (self.matrix.T @ y).reshape(self.in_shape)

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """``argmin ‖Φx − y‖² + damp ‖x‖²`` (minimum norm when ``damp = 0``) in closed form
        from the SVD of Φ (``num_iters`` and ``tol`` are validated and ignored)."""
        from .basic import _check_pinv_args

        damp = _check_pinv_args(num_iters, tol, damp)
        y = self._check(y, self.out_shape, self.out_kind, "y")
        u, s, vt = self._svd()
        keep = s > 1e-12 * s[0]
        coef = np.zeros_like(s)
        coef[keep] = s[keep] / (s[keep] ** 2 + damp)
        return (vt.T @ (coef * (u.T @ y))).reshape(self.in_shape)

    dagger = pinv

    def _svd(self):
        if getattr(self, "_svd_cache", None) is None:
            self._svd_cache = np.linalg.svd(self.matrix, full_matrices=False)
        return self._svd_cache


@register_operator("gaussian_sensing")
def _make_gaussian_sensing(shape=(16, 16), num_measurements=64, seed=0):
    return GaussianSensing(shape, num_measurements, seed)
