"""MRI undersampling: centred FFTs, the five sampling patterns, point-spread functions."""
from __future__ import annotations

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape
# The k-space basics live one layer down, in ``_kspace`` (the MRI operators use them too),
# and are re-exported here under their historical names.
from ._kspace import (CARTESIAN_PATTERNS, NON_CARTESIAN_PATTERNS, PATTERNS, _check_common,
                      _check_mask, _ifft2c, fft2c, ifft2c, sampling_mask, trajectory)
from ._kspace import _fft2c, _rasterise  # noqa: F401  (imported from here by other modules)

__all__ = [
    "PATTERNS", "CARTESIAN_PATTERNS", "NON_CARTESIAN_PATTERNS",
    "fft2c", "ifft2c", "sampling_mask", "trajectory", "psf", "incoherence",
    "zero_filled", "complex_phantom", "add_kspace_noise", "off_resonance",
]


# -- point-spread function and incoherence -------------------------------------------------
def psf(pattern_or_mask, shape=(128, 128), acceleration: float = 4.0,
        center_fraction: float = 0.08, seed: int = 0, **kwargs) -> np.ndarray:
    """Point-spread function of a sampling pattern, normalised to 1 at the centre.

    Parameters
    ----------
    pattern_or_mask : str or ndarray of shape (M, N)
        A pattern name of :data:`PATTERNS` or a 0/1 k-space mask.
    shape, acceleration, center_fraction, seed
        As for :func:`sampling_mask` (ignored for a mask).
    **kwargs
        Extra keywords of :func:`sampling_mask` (Cartesian patterns) or
        :func:`trajectory` (radial, spiral).

    Returns
    -------
    ndarray of shape (M, N), complex
        The image of a point at the centre ``(M // 2, N // 2)``; its value there is 1.

    Notes
    -----
    For a mask ``m``, ``PSF = F^H m F δ``, i.e. ``ifft2c(m) · √(MN) / Σ m``: undersampling
    replaces each image point by this pattern [1]_. For ``"radial"`` and ``"spiral"`` the
    true non-Cartesian samples are used, ``PSF = A^H w`` with ``A`` the NUFFT and ``w``
    the density-compensation weights (Pipe–Menon).

    References
    ----------
    .. [1] M. Lustig, D. Donoho and J. M. Pauly, "Sparse MRI", Magn. Reson. Med. 58(6),
       1182–1195, 2007.
    """
    if isinstance(pattern_or_mask, str):
        pattern, shape, acceleration, center_fraction, seed = _check_common(
            pattern_or_mask, shape, acceleration, center_fraction, seed)
        if pattern in NON_CARTESIAN_PATTERNS:
            from .operators.mri import NonCartesianMRI
            traj = trajectory(pattern, shape, acceleration, center_fraction, seed, **kwargs)
            return NonCartesianMRI(traj, shape).psf()
        mask = sampling_mask(pattern, shape, acceleration, center_fraction, seed, **kwargs)
    else:
        if kwargs:
            raise TypeError(f"unexpected keyword arguments with a mask: {sorted(kwargs)}")
        mask = _check_mask(pattern_or_mask, "pattern_or_mask")
    M, N = mask.shape
    return _ifft2c(mask.astype(np.complex128)) * (np.sqrt(M * N) / mask.sum())


def _main_lobe(a, peak_idx):
    """Pixels reached from the peak by paths along which ``a`` never increases
    (8-neighbours, periodic), stopping at values below 1e-9 of the peak."""
    floor = 1e-9 * a[peak_idx]
    shifts = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    rolled = [np.roll(a, s, axis=(0, 1)) for s in shifts]
    lobe = np.zeros(a.shape, dtype=bool)
    lobe[peak_idx] = True
    while True:
        grown = lobe.copy()
        for s, a_from in zip(shifts, rolled):
            grown |= np.roll(lobe, s, axis=(0, 1)) & (a <= a_from) & (a > floor)
        if np.array_equal(grown, lobe):
            return lobe
        lobe = grown


def incoherence(psf, *, exclude="main_lobe") -> float:
    """Largest side lobe of a point-spread function relative to its peak.

    Parameters
    ----------
    psf : ndarray of shape (M, N)
        Real or complex point-spread function (e.g. from :func:`psf`).
    exclude : "main_lobe" or int
        What counts as the peak. ``"main_lobe"``: every pixel reached from the peak
        by a path along which ``|psf|`` never increases (the peak and its slopes down
        to the first minima). An int ``r``: the pixels within Chebyshev distance ``r``
        of the peak; ``0`` excludes the peak pixel alone, the definition of [1]_ for
        the transform point-spread function.

    Returns
    -------
    float
        ``max_{j outside the main lobe} |PSF_j| / |PSF_peak|``. About 1: coherent
        aliasing (a replica of the image, as for regular Cartesian sampling); small:
        incoherent, noise-like aliasing, which compressed sensing can remove.

    Notes
    -----
    The side-lobe-to-peak ratio measures aliasing, not resolution: low-frequency-only
    sampling has small side lobes (the Gibbs ripples of its sinc) but a wide main
    lobe, that is blur. With ``exclude=0`` a wide main lobe counts as a side lobe too.

    References
    ----------
    .. [1] M. Lustig, D. Donoho and J. M. Pauly, "Sparse MRI", Magn. Reson. Med. 58(6),
       1182–1195, 2007 (the side-lobe-to-peak ratio of the transform PSF).
    """
    arr = np.abs(as_array(psf, "psf", ndim=2))
    if arr.size < 2:
        raise ValueError(f"psf must have at least two pixels, got shape {arr.shape}")
    peak_idx = np.unravel_index(int(np.argmax(arr)), arr.shape)
    peak = arr[peak_idx]
    if peak == 0:
        raise ValueError("psf must not be identically zero")
    if isinstance(exclude, str):
        check_choice(exclude, "exclude", ("main_lobe",))
        lobe = _main_lobe(arr, peak_idx)
    else:
        radius = check_int(exclude, "exclude", low=0)
        lobe = np.zeros(arr.shape, dtype=bool)
        r0, c0 = peak_idx
        lobe[max(r0 - radius, 0):r0 + radius + 1, max(c0 - radius, 0):c0 + radius + 1] = True
    side = np.where(lobe, 0.0, arr)
    return float(side.max() / peak)


# -- reconstruction and test data ----------------------------------------------------------
def zero_filled(y, mask=None) -> np.ndarray:
    """Zero-filled reconstruction ``x_hat = F^H (m ⊙ y)``.

    Parameters
    ----------
    y : ndarray of shape (M, N)
        Centred k-space (unsampled entries are ignored when ``mask`` is given).
    mask : ndarray of shape (M, N), optional
        0/1 sampling mask.

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex
        The minimum-norm least-squares solution of ``m ⊙ F x = m ⊙ y``; its magnitude
        is the usual picture.
    """
    y = as_array(y, "y", ndim=2)
    if mask is not None:
        y = y * _check_mask(mask, "mask", shape=y.shape)
    return _ifft2c(y)


def complex_phantom(shape=(128, 128), *, max_phase: float = np.pi / 2) -> np.ndarray:
    """Shepp–Logan magnitude with a smooth phase: a realistic complex MR image.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(M, N)``.
    max_phase : float
        Largest absolute phase in radians, in [0, π].

    Returns
    -------
    x : ndarray of shape (M, N), complex128
        ``|x|`` is the Shepp–Logan phantom in [0, 1]; the phase varies slowly (low-order
        polynomial), as field inhomogeneity and coil sensitivities make it in practice.
        A real-valued image would have a conjugate-symmetric k-space, which real scans
        do not have.
    """
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    max_phase = check_scalar(max_phase, "max_phase", low=0.0, high=np.pi)
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize
    magnitude = np.clip(resize(shepp_logan_phantom(), shape, anti_aliasing=True), 0.0, 1.0)
    rows = np.linspace(-1.0, 1.0, shape[0])[:, None]
    cols = np.linspace(-1.0, 1.0, shape[1])[None, :]
    phase = 0.6 * cols + 0.3 * rows + 0.5 * rows * cols - 0.4 * (rows ** 2 + cols ** 2)
    phase = phase - phase.mean()
    phase = max_phase * phase / np.abs(phase).max()
    return magnitude * np.exp(1j * phase)


def add_kspace_noise(y, sigma: float, seed: int = 0, mask=None) -> np.ndarray:
    """Add circular complex Gaussian noise of variance ``sigma²`` to k-space.

    Parameters
    ----------
    y : ndarray
        k-space samples (any shape).
    sigma : float
        Noise standard deviation, >= 0: ``E|n|² = sigma²`` (``sigma / √2`` on the real
        and on the imaginary part). With the orthonormal FFT the image noise has the
        same standard deviation.
    seed : int
        Seed of the noise.
    mask : ndarray, optional
        0/1 mask of ``y``'s shape: noise only where it is 1 (unsampled entries stay 0).

    Returns
    -------
    ndarray, complex
    """
    y = as_array(y, "y")
    sigma = check_scalar(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    noise = (sigma / np.sqrt(2.0)) * (rng.standard_normal(y.shape)
                                      + 1j * rng.standard_normal(y.shape))
    if mask is not None:
        m = as_array(mask, "mask", shape=y.shape, allow_complex=False)
        if not np.all((m == 0) | (m == 1)):
            raise ValueError("mask must contain only 0 and 1 (or booleans)")
        noise = noise * m
    return y + noise


def off_resonance(y, times, delta_f: float, dwell: float = 4e-6) -> np.ndarray:
    """Phase that a frequency offset adds to k-space samples during the readout.

    Parameters
    ----------
    y : ndarray of shape (K,) or (M, N)
        k-space samples (a NUFFT's ``y`` or a full grid).
    times : ndarray of ``y``'s shape
        Readout time of each sample in dwell times, from :func:`trajectory` with
        ``return_times=True`` (for a full grid: the column index, since the readout runs
        along ``k_x``).
    delta_f : float
        Off-resonance frequency in Hz (field inhomogeneity, chemical shift), any sign.
    dwell : float
        Time between two readout samples in seconds (> 0; 4 µs by default).

    Returns
    -------
    ndarray, complex
        ``y_j · exp(−2π i Δf Δt t_j)``.

    Notes
    -----
    A spin precessing ``Δf`` faster than the reference gathers the phase ``2π Δf t``
    by time ``t``. On a Cartesian readout the phase grows linearly along ``k_x``: the
    image shifts by ``Δf Δt N`` pixels along the readout. On a spiral, where time grows
    with ``|k|``, it becomes a rotationally symmetric blur [1]_.

    References
    ----------
    .. [1] K. T. Block and J. Frahm, "Spiral imaging: a critical appraisal", J. Magn.
       Reson. Imaging 21(6), 657–668, 2005.
    """
    y = as_array(y, "y")
    times = as_array(times, "times", shape=y.shape, allow_complex=False, dtype=np.float64)
    delta_f = check_scalar(delta_f, "delta_f")
    dwell = check_scalar(dwell, "dwell", low=0.0, low_inclusive=False)
    return y * np.exp(-2j * np.pi * delta_f * dwell * times)
