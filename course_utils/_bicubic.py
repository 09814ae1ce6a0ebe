"""Bicubic interpolation matrices (Keys' cubic convolution), shared by
:mod:`course_utils.sr` and :mod:`course_utils.nets.sr`.

:func:`bicubic_matrix` is documented and re-exported by :mod:`course_utils.sr`; this
module sits below both so that the networks never import the lecture module.
"""
from __future__ import annotations

import functools

import numpy as np

from ._validate import check_int

__all__ = ["bicubic_matrix"]


def _keys(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    """The cubic convolution kernel of Keys (1981)."""
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    np.where(t < 2, a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a, 0.0))


@functools.lru_cache(maxsize=64)
def _bicubic_matrix(n: int, scale: int) -> np.ndarray:
    u = (np.arange(n * scale) + 0.5) / scale - 0.5          # input coordinate of each output
    base = np.floor(u).astype(int)
    mat = np.zeros((n * scale, n))
    rows = np.arange(n * scale)
    for k in range(-1, 3):
        idx = base + k
        w = _keys(u - idx)
        np.add.at(mat, (rows, np.clip(idx, 0, n - 1)), w)   # replicate the border
    mat.setflags(write=False)
    return mat


def bicubic_matrix(n: int, scale: int) -> np.ndarray:
    """The ``(scale n, n)`` matrix of 1-D bicubic upsampling by ``scale``.

    Parameters
    ----------
    n : int
        Length of the low-resolution signal (>= 1).
    scale : int
        Integer upsampling factor (>= 1).

    Returns
    -------
    ndarray of shape (scale * n, n)
        Row ``i`` holds the weights of output sample ``i``; each row sums to one.

    Notes
    -----
    Output sample ``i`` sits at input coordinate ``u = (i + 1/2) / s − 1/2`` (pixel
    centres aligned, as in MATLAB's ``imresize``), and

    .. math:: (U y)_i = \\sum_{j=\\lfloor u\\rfloor-1}^{\\lfloor u\\rfloor+2} k(u - j)\\, y_j,

    with the Keys cubic kernel ``k`` (``a = −1/2``) and the border replicated.

    References
    ----------
    R. Keys, "Cubic convolution interpolation for digital image processing", IEEE Trans.
    Acoustics, Speech and Signal Processing, 29(6), 1981.
    """
    n = check_int(n, "n", low=1)
    scale = check_int(scale, "scale", low=1)
    return _bicubic_matrix(n, scale)
