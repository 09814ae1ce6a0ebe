"""Parallel-beam X-ray CT: the Radon transform as an exact sparse matrix with its transpose."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .._validate import as_array, check_int, check_shape
from .base import LinearOperator
from .registry import register_operator

__all__ = ["Radon", "radon_matrix", "check_angles"]


def check_angles(angles, name: str = "angles") -> np.ndarray:
    """Projection angles in degrees as a finite 1-D float64 array with at least one view.

    Parameters
    ----------
    angles : array_like of float
        Angles in degrees (any real values; 0 and 180 are the same view flipped).
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of shape (num_views,)
    """
    arr = as_array(angles, name, ndim=(0, 1), allow_complex=False, dtype=np.float64)
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one view, got zero views")
    return arr


def _joseph_blocks(shape, angles, num_detectors):
    """Yield (rows, cols, weights) of Joseph's projector, one view at a time."""
    M, N = shape
    cy, cx = M // 2, N // 2
    t = np.arange(num_detectors, dtype=np.float64) - num_detectors // 2
    det = np.arange(num_detectors)
    for a, theta in enumerate(np.deg2rad(angles)):
        cos_a, sin_a = np.cos(theta), np.sin(theta)
        # Ray (theta, t): (row, col) = (cy - t sin + s cos, cx + t cos + s sin), s in R.
        if abs(cos_a) >= abs(sin_a):
            # One sample per image row; linear interpolation between two columns.
            step = np.arange(M, dtype=np.float64)
            slope = sin_a / cos_a
            pos = cx + t[:, None] * cos_a + (step[None, :] - cy + t[:, None] * sin_a) * slope
            scale = 1.0 / abs(cos_a)
            fixed_is_row = True
        else:
            # One sample per image column; linear interpolation between two rows.
            step = np.arange(N, dtype=np.float64)
            slope = cos_a / sin_a
            pos = cy - t[:, None] * sin_a + (step[None, :] - cx - t[:, None] * cos_a) * slope
            scale = 1.0 / abs(sin_a)
            fixed_is_row = False
        lo = np.floor(pos)
        frac = pos - lo
        lo = lo.astype(np.int64)
        limit = N if fixed_is_row else M
        fixed = np.broadcast_to(np.arange(step.size)[None, :], pos.shape)
        ray = np.broadcast_to((a * num_detectors + det)[:, None], pos.shape)
        for idx, w in ((lo, 1.0 - frac), (lo + 1, frac)):
            keep = (idx >= 0) & (idx < limit) & (w > 0)
            if fixed_is_row:
                pix = fixed[keep] * N + idx[keep]
            else:
                pix = idx[keep] * N + fixed[keep]
            yield ray[keep], pix, w[keep] * scale


# The largest matrix built so far for each geometry (shape, detectors): a view subset of
# it (fewer views for a sparse-view slider) is a selection of its row blocks.
_SUPERSETS: dict[tuple, tuple[np.ndarray, sp.csr_matrix]] = {}
_MAX_SUPERSETS = 4


def _from_superset(shape, angles, num_detectors):
    entry = _SUPERSETS.get((shape, num_detectors))
    if entry is None:
        return None
    sup_angles, sup_mat = entry
    index = {float(v): i for i, v in enumerate(sup_angles)}
    try:
        views = np.array([index[float(v)] for v in angles], dtype=np.int64)
    except KeyError:
        return None
    rows = (views[:, None] * num_detectors + np.arange(num_detectors)[None, :]).ravel()
    return sup_mat[rows]


def _build_matrix(shape, angles, num_detectors):
    rows, cols, vals = [], [], []
    for r, c, v in _joseph_blocks(shape, angles, num_detectors):
        rows.append(r.astype(np.int32))
        cols.append(c.astype(np.int32))
        vals.append(v)
    n_rows = angles.size * num_detectors
    n_cols = shape[0] * shape[1]
    mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(n_rows, n_cols))
    mat.sum_duplicates()
    key = (shape, num_detectors)
    if key not in _SUPERSETS or _SUPERSETS[key][0].size < angles.size:
        _SUPERSETS.pop(key, None)
        _SUPERSETS[key] = (angles.copy(), mat)
        while len(_SUPERSETS) > _MAX_SUPERSETS:
            _SUPERSETS.pop(next(iter(_SUPERSETS)))
    return mat


@lru_cache(maxsize=8)
def _cached_matrix(shape, angles_key, num_detectors):
    angles = np.frombuffer(angles_key, dtype=np.float64)
    mat = _from_superset(shape, angles, num_detectors)
    if mat is None:
        mat = _build_matrix(shape, angles, num_detectors)
    mat.data.flags.writeable = False
    return mat


def _clear_cache():
    """Forget every cached Radon matrix."""
    _cached_matrix.cache_clear()
    _SUPERSETS.clear()


def radon_matrix(shape, angles, num_detectors: int | None = None) -> sp.csr_matrix:
    """The Radon transform as a sparse matrix (Joseph's method), built once and cached.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(M, N)``.
    angles : array_like of float
        Projection angles in degrees.
    num_detectors : int, optional
        Detector bins per view (default ``max(M, N)``).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (num_views * num_detectors, M * N)
        Row ``a * num_detectors + j`` is the ray of view ``a`` through detector bin ``j``;
        column ``r * N + c`` is pixel ``(r, c)``. The matrix is shared by every caller
        with the same arguments: do not modify it. ``radon_matrix.cache_clear()``
        empties the cache.

    Notes
    -----
    The 8 most recent matrices are cached, and for each geometry (shape, detectors) the
    one with the most views is kept: a matrix for a subset of its angles (exactly equal
    values, e.g. every 6th of ``0, 1, ..., 179``) is then a selection of its rows,
    milliseconds instead of a rebuild — a sparse-view slider stays fast.

    Joseph's method [1]_: a ray crossing the image more vertically than horizontally is
    sampled once per image row, the image being linearly interpolated between the two
    nearest columns there (and the other way round for flat rays); each sample is
    weighted by the length of ray between two rows, ``1 / |cos θ|``. The line integral is
    therefore in pixel units.

    References
    ----------
    .. [1] P. M. Joseph, "An improved algorithm for reprojecting rays through pixel
       images", IEEE Trans. Med. Imaging 1(3), 192–196, 1982.
    """
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    angles = check_angles(angles)
    if num_detectors is None:
        num_detectors = max(shape)
    num_detectors = check_int(num_detectors, "num_detectors", low=1)
    return _cached_matrix(shape, np.ascontiguousarray(angles).tobytes(), num_detectors)


#: ``radon_matrix.cache_clear()`` frees the cached matrices.
radon_matrix.cache_clear = _clear_cache


class Radon(LinearOperator):
    """Parallel-beam Radon transform ``y = R x`` and its exact transpose ``Rᵀ y``.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(M, N)``; the rotation axis is at pixel ``(M // 2, N // 2)``.
    angles : array_like of float, optional
        Projection angles in degrees (default: 180 views, ``0, 1, ..., 179``).
    num_detectors : int, optional
        Detector bins per view, spaced one pixel apart, the axis at bin
        ``num_detectors // 2`` (default ``max(M, N)``).

    Notes
    -----
    The sinogram has shape ``(num_detectors, num_views)``: ``y[j, a]`` is the line
    integral along the ray of angle ``θ_a`` at signed distance ``t_j = j −
    num_detectors // 2`` from the axis,

    .. math:: y(t, θ) = \\int x\\big(c_y − t \\sin θ + s \\cos θ,\\;
              c_x + t \\cos θ + s \\sin θ\\big)\\, ds,

    in (row, column) pixel coordinates. This is the layout and geometry of
    ``skimage.transform.radon(x, theta=angles, circle=True)``, which samples the same
    integral with a rotation and bilinear interpolation; the two agree to
    discretisation error (see the tests). With the default ``num_detectors`` an object
    is assumed to lie in the inscribed circle, as there; pass
    ``num_detectors=int(np.ceil(np.hypot(M, N))) + 1`` to see the corners too.

    The forward map is a fixed sparse matrix (Joseph's method, :func:`radon_matrix`), so
    ``adjoint`` — its transpose — is the exact adjoint: the dot test holds to round-off.
    It is a *ray-driven* back-projection; the filtered back-projection of
    :func:`course_utils.ct.fbp` uses a pixel-driven one instead, as analytic
    reconstruction usually does. The input must be real (a density); complex input
    raises ``TypeError``.

    References
    ----------
    .. [1] A. C. Kak and M. Slaney, *Principles of Computerized Tomographic Imaging*,
       IEEE Press, 1988, ch. 3.
    .. [2] P. M. Joseph, "An improved algorithm for reprojecting rays through pixel
       images", IEEE Trans. Med. Imaging 1(3), 192–196, 1982.
    """

    def __init__(self, shape=(128, 128), angles=None, num_detectors: int | None = None):
        shape = check_shape(shape, "shape")
        if len(shape) != 2:
            raise ValueError(f"shape must be (M, N), got {shape}")
        angles = np.arange(180.0) if angles is None else check_angles(angles)
        if num_detectors is None:
            num_detectors = max(shape)
        num_detectors = check_int(num_detectors, "num_detectors", low=1)
        super().__init__(shape, (num_detectors, angles.size), in_kind="real",
                         out_kind="real", name="radon")
        self.angles = angles
        self.num_detectors = num_detectors
        self.matrix = radon_matrix(shape, angles, num_detectors)

    @property
    def num_views(self) -> int:
        """Number of projection angles."""
        return int(self.angles.size)

    def _forward(self, x):
        y = self.matrix @ x.ravel()
        return np.ascontiguousarray(y.reshape(self.num_views, self.num_detectors).T)

    def _adjoint(self, y):
        return (self.matrix.T @ y.T.ravel()).reshape(self.in_shape)

    def __repr__(self):
        return (f"Radon(shape={self.in_shape}, num_views={self.num_views}, "
                f"num_detectors={self.num_detectors})")


@register_operator("radon")
def _make_radon(shape=(32, 32), angles=None, num_detectors=None):
    """Default: a 32 × 32 image seen from 24 views over 180°."""
    if angles is None:
        angles = np.linspace(0.0, 180.0, 24, endpoint=False)
    return Radon(shape, angles, num_detectors)
