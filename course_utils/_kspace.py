"""k-space basics shared by :mod:`course_utils.mri` and :mod:`course_utils.operators.mri`:
centred FFTs, the five sampling patterns (masks and trajectories) and their checks.

The public names are documented and re-exported by :mod:`course_utils.mri`; this module
sits below both so that the operators never import the lecture module.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape

__all__ = [
    "PATTERNS", "CARTESIAN_PATTERNS", "NON_CARTESIAN_PATTERNS",
    "fft2c", "ifft2c", "sampling_mask", "trajectory",
]

#: The sampling patterns of the lecture, in teaching order.
PATTERNS: tuple[str, ...] = (
    "low_frequency", "cartesian_regular", "variable_density", "radial", "spiral",
)
#: Patterns made of whole phase-encode lines (or grid points) of a Cartesian k-space.
CARTESIAN_PATTERNS: tuple[str, ...] = PATTERNS[:3]
#: Patterns whose samples lie off the Cartesian grid (a NUFFT is needed).
NON_CARTESIAN_PATTERNS: tuple[str, ...] = PATTERNS[3:]


# -- centred orthonormal FFTs --------------------------------------------------------------
def _fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"),
                           axes=(-2, -1))


def _ifft2c(y):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(y, axes=(-2, -1)), norm="ortho"),
                           axes=(-2, -1))


def fft2c(x) -> np.ndarray:
    """Centred, orthonormal 2-D discrete Fourier transform (image → k-space).

    Parameters
    ----------
    x : ndarray of shape (..., M, N)
        Image, real or complex; the transform acts on the last two axes.

    Returns
    -------
    ndarray of shape (..., M, N), complex
        k-space with the zero frequency at index ``(M // 2, N // 2)``.

    Notes
    -----
    .. math:: y[k] = \\frac{1}{\\sqrt{MN}} \\sum_m x[m]\\,
              e^{-2π i \\left(\\frac{k_1' m_1'}{M} + \\frac{k_2' m_2'}{N}\\right)},
              \\quad k' = k − (M/\\!/2, N/\\!/2),\\; m' = m − (M/\\!/2, N/\\!/2).

    Orthonormal (``‖fft2c(x)‖ = ‖x‖``, Parseval), so ``ifft2c`` is both its inverse and
    its adjoint.
    """
    x = as_array(x, "x", ndim=(2, 3, 4))
    return _fft2c(x)


def ifft2c(y) -> np.ndarray:
    """Inverse (and adjoint) of :func:`fft2c`: k-space → image.

    Parameters
    ----------
    y : ndarray of shape (..., M, N)
        Centred k-space.

    Returns
    -------
    ndarray of shape (..., M, N), complex
    """
    y = as_array(y, "y", ndim=(2, 3, 4))
    return _ifft2c(y)


# -- argument checks -----------------------------------------------------------------------
def _check_common(pattern, shape, acceleration, center_fraction, seed, patterns=PATTERNS):
    pattern = check_choice(pattern, "pattern", patterns)
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    acceleration = check_scalar(acceleration, "acceleration", low=1.0)
    center_fraction = check_scalar(center_fraction, "center_fraction", low=0.0, high=1.0,
                                   low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    return pattern, shape, acceleration, center_fraction, seed


def _check_mask(mask, name="mask", shape=None):
    arr = as_array(mask, name, ndim=2, allow_complex=False, shape=shape)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must contain only 0 and 1 (or booleans)")
    mask = arr.astype(bool)
    if not mask.any():
        raise ValueError(f"{name} must sample at least one k-space point")
    return mask


def _centre_block(M: int, count: int) -> np.ndarray:
    """Indices of ``count`` consecutive lines around the zero frequency ``M // 2``."""
    start = M // 2 - count // 2
    return np.arange(start, start + count)


def _weighted_choice(weights, count, rng):
    """``count`` distinct indices drawn with probability ∝ ``weights``, without
    replacement (Gumbel top-k: the same law as successive weighted draws)."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=weights.shape)
    return np.argsort(-keys, kind="stable")[:count]


# -- Cartesian masks -----------------------------------------------------------------------
def _mask_low_frequency(shape, acceleration):
    M, N = shape
    n_lines = max(1, int(round(M / acceleration)))
    mask = np.zeros(shape, dtype=bool)
    mask[_centre_block(M, n_lines), :] = True
    return mask


def _lattice_rows(M: int, spacing: float) -> np.ndarray:
    """Rows ``M // 2 + round(k · spacing)``, k integer, inside ``[0, M)``."""
    k_max = int(M / spacing) + 2
    pos = M // 2 + np.round(np.arange(-k_max, k_max + 1) * spacing).astype(int)
    return np.unique(pos[(pos >= 0) & (pos < M)])


def _mask_regular(shape, acceleration, center_fraction, calibration):
    M, N = shape
    n_lines = max(1, int(round(M / acceleration)))
    centre = np.zeros(0, dtype=int)
    if calibration:
        n_center = max(1, int(round(center_fraction * M)))
        if n_center > n_lines:
            raise ValueError(
                f"center_fraction={center_fraction} asks for {n_center} calibration lines, "
                f"more than the {n_lines} lines that acceleration={acceleration} allows; "
                f"use center_fraction <= 1/acceleration")
        centre = _centre_block(M, n_center)
    n_out = n_lines - centre.size
    rows = np.zeros(0, dtype=int)
    if n_out > 0:
        # A lattice through the zero frequency; its spacing is narrowed until enough of
        # its lines fall outside the calibration block, and the outermost extras dropped,
        # so that exactly n_lines lines are sampled.
        spacing = (M - centre.size) / n_out
        while True:
            rows = np.setdiff1d(_lattice_rows(M, spacing), centre)
            if rows.size >= n_out or spacing <= 1.0:
                break
            spacing *= 0.995
        order = np.lexsort((rows, np.abs(rows - M // 2)))
        rows = rows[order[:n_out]]
    mask = np.zeros(shape, dtype=bool)
    mask[np.concatenate([centre, rows]).astype(int), :] = True
    return mask


def _mask_variable_density(shape, acceleration, center_fraction, seed, dims, decay):
    M, N = shape
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, dtype=bool)
    if dims == 1:
        n_lines = max(1, int(round(M / acceleration)))
        n_center = max(1, int(round(center_fraction * M)))
        if n_center > n_lines:
            raise ValueError(
                f"center_fraction={center_fraction} asks for {n_center} central lines, "
                f"more than the {n_lines} lines that acceleration={acceleration} allows; "
                f"use center_fraction <= 1/acceleration")
        centre = _centre_block(M, n_center)
        dist = np.abs(np.arange(M) - M // 2) / (M / 2)
        weights = np.clip(1.0 - dist, 0.0, None) ** decay
        weights[centre] = 0.0
        picked = _weighted_choice(weights, n_lines - n_center, rng)
        mask[centre, :] = True
        mask[picked, :] = True
        return mask
    n_points = max(1, int(round(M * N / acceleration)))
    n_rows = max(1, int(round(center_fraction * M)))
    n_cols = max(1, int(round(center_fraction * N)))
    if n_rows * n_cols > n_points:
        raise ValueError(
            f"center_fraction={center_fraction} asks for a {n_rows}x{n_cols} central block, "
            f"more than the {n_points} points that acceleration={acceleration} allows; "
            f"use center_fraction <= 1/sqrt(acceleration)")
    centre = np.zeros(shape, dtype=bool)
    centre[np.ix_(_centre_block(M, n_rows), _centre_block(N, n_cols))] = True
    rr = (np.arange(M) - M // 2)[:, None] / (M / 2)
    cc = (np.arange(N) - N // 2)[None, :] / (N / 2)
    dist = np.sqrt(rr ** 2 + cc ** 2) / np.sqrt(2.0)
    weights = (np.clip(1.0 - dist, 0.0, None) ** decay).ravel()
    weights[centre.ravel()] = 0.0
    picked = _weighted_choice(weights, n_points - int(centre.sum()), rng)
    mask = centre.ravel().copy()
    mask[picked] = True
    return mask.reshape(shape)


# -- non-Cartesian trajectories ------------------------------------------------------------
def _radial(shape, acceleration):
    M, N = shape
    n = max(M, N)
    n_read = 2 * n                                             # 2x readout oversampling
    n_spokes = max(1, int(np.ceil(np.pi * n / (2.0 * acceleration))))
    u = -1.0 + np.arange(n_read) / n                           # [-1, 1), 0 included
    phi = np.pi * np.arange(n_spokes) / n_spokes               # [0, π)
    w_row = np.pi * np.sin(phi)[:, None] * u[None, :]
    w_col = np.pi * np.cos(phi)[:, None] * u[None, :]
    traj = np.stack([w_row.ravel(), w_col.ravel()], axis=1)
    times = np.tile(np.arange(n_read, dtype=np.float64), n_spokes)
    return traj, times


def _spiral(shape, acceleration, center_fraction, num_interleaves):
    M, N = shape
    n_eff = np.sqrt(M * N)
    rho_max = 1.0 - 1.0 / n_eff                       # normalised radius, π rho < π
    gap0 = 1.0 / n_eff                                # half a grid spacing (2x FOV)
    c = min(center_fraction, rho_max)
    if acceleration == 1.0:
        gap1 = gap0
    else:
        if c ** 2 >= 1.0 / acceleration:
            raise ValueError(
                f"center_fraction={center_fraction} is too large for acceleration="
                f"{acceleration}: a spiral needs center_fraction**2 < 1/acceleration")
        gap1 = gap0 * (1.0 - c ** 2) / (1.0 / acceleration - c ** 2)
    rho = np.linspace(0.0, rho_max, 20001)
    dtheta = 2.0 * np.pi / (num_interleaves * np.where(rho < c, gap0, gap1))
    theta = np.concatenate([[0.0], np.cumsum(0.5 * (dtheta[1:] + dtheta[:-1]) * np.diff(rho))])
    speed = np.sqrt(1.0 + (rho * dtheta) ** 2)
    arc = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(rho))])
    ds = gap0                                         # half a grid spacing along the arm
    n_per = max(2, int(np.ceil(arc[-1] / ds)))
    s = np.arange(n_per) * (arc[-1] / n_per)
    r_k = np.interp(s, arc, rho)
    th_k = np.interp(s, arc, theta)
    offsets = 2.0 * np.pi * np.arange(num_interleaves) / num_interleaves
    ang = th_k[None, :] + offsets[:, None]
    traj = np.stack([(np.pi * r_k * np.sin(ang)).ravel(),
                     (np.pi * r_k * np.cos(ang)).ravel()], axis=1)
    times = np.tile(np.arange(n_per, dtype=np.float64), num_interleaves)
    return traj, times


def _cartesian_trajectory(mask):
    M, N = mask.shape
    rows, cols = np.nonzero(mask)
    traj = np.stack([2.0 * np.pi * (rows - M // 2) / M,
                     2.0 * np.pi * (cols - N // 2) / N], axis=1)
    return traj, cols.astype(np.float64)


def _rasterise(traj, shape):
    """Nearest grid point of each sample (for a Cartesian picture of a trajectory)."""
    M, N = shape
    rows = np.clip(np.round(traj[:, 0] * M / (2 * np.pi)).astype(int) + M // 2, 0, M - 1)
    cols = np.clip(np.round(traj[:, 1] * N / (2 * np.pi)).astype(int) + N // 2, 0, N - 1)
    mask = np.zeros(shape, dtype=bool)
    mask[rows, cols] = True
    return mask


def _non_cartesian(pattern, shape, acceleration, center_fraction, num_interleaves):
    if pattern == "radial":
        return _radial(shape, acceleration)
    return _spiral(shape, acceleration, center_fraction, num_interleaves)


def _rasterised_mask(pattern, shape, acceleration, center_fraction, num_interleaves):
    """Grid mask of a radial/spiral pattern whose sampled fraction is close to
    ``1 / acceleration``: the trajectory's own acceleration is tuned by bisection,
    since nearby samples fall on the same grid point."""
    M, N = shape
    target = 1.0 / acceleration
    lo, hi = np.log(acceleration / 8.0), np.log(acceleration * 8.0)
    best, best_err = None, np.inf
    for _ in range(16):
        mid = 0.5 * (lo + hi)
        try:
            traj, _ = _non_cartesian(pattern, shape, float(np.exp(mid)), center_fraction,
                                     num_interleaves)
        except ValueError:                 # centre alone over budget: fewer samples
            hi = mid
            continue
        mask = _rasterise(traj, shape)
        frac = mask.mean()
        if abs(frac - target) < best_err:
            best, best_err = mask, abs(frac - target)
        if frac < target:
            hi = mid
        else:
            lo = mid
    if best is None:
        traj, _ = _non_cartesian(pattern, shape, acceleration, center_fraction,
                                 num_interleaves)
        best = _rasterise(traj, shape)
    return best


# -- public sampling API -------------------------------------------------------------------
def sampling_mask(pattern: str, shape=(128, 128), acceleration: float = 4.0,
                  center_fraction: float = 0.08, seed: int = 0, *,
                  calibration: bool = True, dims: int = 1, decay: float = 2.0,
                  num_interleaves: int = 8) -> np.ndarray:
    """Boolean k-space mask of one of the five lecture patterns on the Cartesian grid.

    Parameters
    ----------
    pattern : {"low_frequency", "cartesian_regular", "variable_density", "radial", "spiral"}
        See Notes.
    shape : tuple of int
        k-space shape ``(M, N)``; rows are phase-encode lines ``k_y``, columns the
        readout ``k_x``. The zero frequency is at ``(M // 2, N // 2)`` (as
        :func:`fft2c` places it).
    acceleration : float
        Undersampling factor ``R >= 1``: about ``1 / R`` of the grid is sampled.
    center_fraction : float
        In (0, 1]: fraction of the k-space width around the zero frequency that is
        fully sampled (the calibration region).
    seed : int
        Seed of the random draws (``"variable_density"`` only; the other patterns are
        deterministic).
    calibration : bool
        ``"cartesian_regular"`` only: add the ``center_fraction`` central lines
        (otherwise exactly every R-th line, the most coherent aliasing).
    dims : {1, 2}
        ``"variable_density"`` only: 1 draws whole phase-encode lines (a 2-D
        acquisition), 2 draws single grid points (two phase-encode directions of a 3-D
        acquisition, as in [1]_).
    decay : float
        ``"variable_density"`` only: density ``∝ (1 − r)^decay``, ``r`` the distance
        to the centre normalised to 1 at the edge.
    num_interleaves : int
        ``"spiral"`` only, see :func:`trajectory`.

    Returns
    -------
    mask : ndarray of shape (M, N), bool

    Raises
    ------
    ValueError
        For an unknown pattern, ``acceleration < 1``, ``center_fraction`` outside
        (0, 1], or a calibration region larger than the sampling budget.

    Notes
    -----
    With ``L = round(M / R)`` phase-encode lines:

    - ``"low_frequency"``: the ``L`` central lines (the centre is all there is, so
      ``center_fraction`` has no effect). Aliasing-free but blurred along ``k_y``.
    - ``"cartesian_regular"``: every R-th line through the zero frequency; with
      ``calibration`` the ``round(center_fraction · M)`` central lines as well, and the
      spacing of the others widened so that the total stays ``L``. Coherent
      wrap-around: replicas shifted by ``M / R`` along the phase-encode direction.
    - ``"variable_density"``: the central lines plus lines drawn at random, without
      replacement, with a density decaying from the centre. Incoherent, noise-like
      aliasing, the setting of compressed sensing [1]_.
    - ``"radial"`` and ``"spiral"``: the samples of :func:`trajectory` moved to their
      nearest grid point, the trajectory being made denser until the grid fraction is
      close to ``1 / R``. A Cartesian picture of a non-Cartesian scan (at most the
      inscribed disc, ``π / 4`` of the grid, can be reached); use
      :class:`~course_utils.operators.NonCartesianMRI` for the real physics.

    References
    ----------
    .. [1] M. Lustig, D. Donoho and J. M. Pauly, "Sparse MRI: the application of
       compressed sensing for rapid MR imaging", Magn. Reson. Med. 58(6), 1182–1195,
       2007.
    """
    pattern, shape, acceleration, center_fraction, seed = _check_common(
        pattern, shape, acceleration, center_fraction, seed)
    if not isinstance(calibration, (bool, np.bool_)):
        raise TypeError(f"calibration must be a bool, got {type(calibration).__name__}")
    dims = check_int(dims, "dims", low=1, high=2)
    decay = check_scalar(decay, "decay", low=0.0)
    num_interleaves = check_int(num_interleaves, "num_interleaves", low=1)
    if pattern == "low_frequency":
        return _mask_low_frequency(shape, acceleration)
    if pattern == "cartesian_regular":
        return _mask_regular(shape, acceleration, center_fraction, bool(calibration))
    if pattern == "variable_density":
        return _mask_variable_density(shape, acceleration, center_fraction, seed, dims, decay)
    _non_cartesian(pattern, shape, acceleration, center_fraction, num_interleaves)  # checks
    return _rasterised_mask(pattern, shape, acceleration, center_fraction, num_interleaves)


def trajectory(pattern: str, shape=(128, 128), acceleration: float = 4.0,
               center_fraction: float = 0.08, seed: int = 0, *,
               num_interleaves: int = 8, return_times: bool = False, **mask_kwargs):
    """k-space sample positions of a pattern, in radians, for the NUFFT.

    Parameters
    ----------
    pattern : {"radial", "spiral", "low_frequency", "cartesian_regular", "variable_density"}
        A Cartesian pattern gives the grid points of :func:`sampling_mask`.
    shape : tuple of int
        Image shape ``(M, N)``.
    acceleration : float
        ``R >= 1``. Radial: ``R`` times fewer spokes than the Nyquist ``π n / 2``;
        spiral: turns ``R`` times further apart (outside the centre); either way about
        ``π n² / R`` samples. Cartesian: the mask of :func:`sampling_mask`.
    center_fraction : float
        In (0, 1]. Spiral: fraction of the k-space radius sampled at the full density
        (a variable-density spiral); radial: no effect, every spoke already crosses the
        centre.
    seed : int
        Passed to :func:`sampling_mask` for the random Cartesian pattern.
    num_interleaves : int
        Spiral arms, rotated copies of one another.
    return_times : bool
        Also return the readout time of each sample, in dwell times from the start of
        its spoke, arm or line (for :func:`course_utils.mri.off_resonance`).
    **mask_kwargs
        Extra keywords of :func:`sampling_mask` for Cartesian patterns.

    Returns
    -------
    traj : ndarray of shape (K, 2)
        ``(ω_row, ω_col)`` per sample, in ``[-π, π)``: ``ω = 2π k / M`` for the
        ``k``-th frequency, so a Cartesian grid point ``k`` sits at ``2π (k − M // 2) / M``.
    times : ndarray of shape (K,)
        Only if ``return_times``.

    Notes
    -----
    Both non-Cartesian designs sample k-space twice as finely as the grid (a field of
    view twice the image, as scanners oversample the readout), so that at ``R = 1``
    nothing aliases into the image, corners included; they cover the disc inscribed in
    the grid, ``|ω| < π``, and ``R = 1`` has about ``π n²`` samples (``n = max(M, N)``
    for radial, ``√(MN)`` for spiral).

    Radial: spokes through the centre at uniform angles in [0, π), each with
    ``2n`` samples half a grid spacing apart from ``ω = −π`` (``n = max(M, N)``);
    ``ceil(π n / (2R))`` spokes, Nyquist at the edge of k-space for ``R = 1``.
    Undersampling leaves streaks.

    Spiral: ``num_interleaves`` Archimedean arms, rotated copies, from the centre out
    to radius ``1 − 1/√(MN)`` (normalised), samples half a grid spacing apart along the
    arc. Inside ``center_fraction`` of the radius adjacent turns are half a grid
    spacing apart; outside, ``(1 − c²) / (1/R − c²)`` times further, so the sample
    count is ``1/R`` of the full design. Undersampling gives ring-shaped aliasing; the
    long readouts make spirals sensitive to off-resonance (a blur), see ``times``.

    References
    ----------
    .. [1] C. B. Ahn, J. H. Kim and Z. H. Cho, "High-speed spiral-scan echo planar NMR
       imaging", IEEE Trans. Med. Imaging 5(1), 2–7, 1986.
    """
    pattern, shape, acceleration, center_fraction, seed = _check_common(
        pattern, shape, acceleration, center_fraction, seed)
    num_interleaves = check_int(num_interleaves, "num_interleaves", low=1)
    if pattern in CARTESIAN_PATTERNS:
        mask = sampling_mask(pattern, shape, acceleration, center_fraction, seed,
                             **mask_kwargs)
        traj, times = _cartesian_trajectory(mask)
    else:
        if mask_kwargs:
            raise TypeError(f"unexpected keyword arguments for pattern {pattern!r}: "
                            f"{sorted(mask_kwargs)}")
        traj, times = _non_cartesian(pattern, shape, acceleration, center_fraction,
                                     num_interleaves)
    return (traj, times) if return_times else traj
