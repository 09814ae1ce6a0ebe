"""Synthesis dictionaries for sparse coding: ``y = D x`` with unit-norm atoms."""
from __future__ import annotations

import numpy as np

from .._validate import as_array, check_int
from .base import MatrixOperator
from .registry import register_operator

__all__ = ["Dictionary", "gaussian_dictionary"]


def gaussian_dictionary(m: int = 64, n: int = 128, seed: int = 0) -> np.ndarray:
    """A random Gaussian dictionary with unit-norm columns (atoms).

    Parameters
    ----------
    m : int
        Length of a signal ``y`` (rows of ``D``).
    n : int
        Number of atoms (columns of ``D``); ``n > m`` makes the dictionary overcomplete.
    seed : int
        Seed of the Gaussian entries.

    Returns
    -------
    D : ndarray of shape (m, n)
        Columns ``d_j`` with ``‖d_j‖₂ = 1``.

    Notes
    -----
    The entries are i.i.d. ``N(0, 1)`` before each column is divided by its norm, so the
    columns are nearly ``N(0, I/m)`` and, for large ``m``, ``‖D‖₂ ≈ 1 + sqrt(n/m)``
    (Marchenko–Pastur edge): ``‖D‖₂² ≈ 5.8`` for (64, 128). This Lipschitz constant of
    ``∇ ½‖y − Dx‖²`` sets the ISTA step ``1/‖D‖₂²``.
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng([seed, 4])
    d = rng.standard_normal((m, n))
    return d / np.linalg.norm(d, axis=0, keepdims=True)


class Dictionary(MatrixOperator):
    """The synthesis operator ``x ↦ D x`` of a dictionary, ``(n,) → (m,)``.

    Parameters
    ----------
    matrix : ndarray of shape (m, n)
        Real dictionary; each column (atom) is rescaled to unit norm.

    Notes
    -----
    ``Dᵀ`` is the analysis map (correlations of ``y`` with every atom). The operator norm
    is computed exactly from the singular values (cached), ``‖D‖₂ = s_max``.
    """

    def __init__(self, matrix):
        mat = as_array(matrix, "matrix", ndim=2, allow_complex=False, dtype=np.float64)
        norms = np.linalg.norm(mat, axis=0, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("matrix must not have a zero column (atom)")
        super().__init__(mat / norms, name="dictionary")

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``‖D‖₂``, the largest singular value (exact; the arguments are ignored)."""
        check_int(num_iters, "num_iters", low=1)
        if self._norm is None or recompute:
            self._norm = float(np.linalg.norm(self.matrix, 2))
        return self._norm


@register_operator("dictionary")
def _make_dictionary(m: int = 64, n: int = 128, seed: int = 0):
    return Dictionary(gaussian_dictionary(m, n, seed))
