"""Image-quality measures: PSNR, SSIM, relative error, SNR, MSE and a patch-distribution distance."""
from __future__ import annotations

import numpy as np

from ._validate import as_array, as_image, check_scalar

__all__ = ["mse", "psnr", "ssim", "rel_error", "snr", "patch_swd"]


def _pair(x, x_hat, *, allow_complex: bool = True):
    """Validate a reference ``x`` and an estimate ``x_hat`` of the same shape."""
    x = as_array(x, "x", allow_complex=allow_complex)
    x_hat = as_array(x_hat, "x_hat", allow_complex=allow_complex)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    if x.size == 0:
        raise ValueError("x must not be empty")
    return x, x_hat


def mse(x, x_hat) -> float:
    """Mean squared error ``mean(|x − x_hat|²)``.

    Parameters
    ----------
    x : ndarray
        Reference (ground truth), any shape; complex arrays are allowed.
    x_hat : ndarray
        Estimate, same shape as ``x``.

    Returns
    -------
    float
        The mean of the squared moduli of the differences.
    """
    x, x_hat = _pair(x, x_hat)
    return float(np.mean(np.abs(x - x_hat) ** 2))


def psnr(x, x_hat, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in decibels.

    Parameters
    ----------
    x : ndarray
        Reference image (ground truth), e.g. of shape (M, N); complex arrays are allowed
        (the error is then the modulus of the complex difference).
    x_hat : ndarray
        Estimate, same shape as ``x``.
    data_range : float, optional
        Peak-to-peak range of the reference scale (1.0 for images in [0, 1]).

    Returns
    -------
    float
        ``10 log10(data_range² / MSE)``; ``inf`` when the two arrays are equal.

    Notes
    -----
    .. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{R^2}{\\tfrac{1}{n}\\sum_i |x_i - \\hat x_i|^2}.

    A constant offset ``c`` on an image in [0, 1] gives ``−20 log10 |c|`` dB, e.g. 20 dB
    for ``c = 0.1``.

    References
    ----------
    .. [1] Z. Wang and A. C. Bovik, "Mean squared error: love it or leave it?",
       IEEE Signal Processing Magazine, 26(1), 2009.
    """
    data_range = check_scalar(data_range, "data_range", low=0.0, low_inclusive=False)
    err = mse(x, x_hat)
    if err == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range ** 2 / err))


def ssim(x, x_hat, data_range: float = 1.0) -> float:
    """Structural similarity index (mean SSIM over uniform 7×7 windows, via scikit-image).

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Reference image, real.
    x_hat : ndarray of shape (M, N)
        Estimate.
    data_range : float, optional
        Peak-to-peak range of the reference scale (1.0 for images in [0, 1]).

    Returns
    -------
    float
        Mean SSIM in [−1, 1]; 1 for identical images.

    Notes
    -----
    For every window, with local means μ, variances σ² and covariance σ_xy,

    .. math:: \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_{\\hat x} + C_1)(2\\sigma_{x\\hat x} + C_2)}
              {(\\mu_x^2 + \\mu_{\\hat x}^2 + C_1)(\\sigma_x^2 + \\sigma_{\\hat x}^2 + C_2)},

    with ``C1 = (0.01 R)²`` and ``C2 = (0.03 R)²``. Images smaller than 7 pixels on a side
    use the largest odd window that fits (at least 3).

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality
       assessment: from error visibility to structural similarity", IEEE Trans. Image
       Processing, 13(4), 2004.
    """
    x = as_image(x, "x")
    x_hat = as_image(x_hat, "x_hat")
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    data_range = check_scalar(data_range, "data_range", low=0.0, low_inclusive=False)
    side = min(x.shape)
    if side < 3:
        raise ValueError(f"x must be at least 3×3 for SSIM, got shape {x.shape}")
    win = min(7, side if side % 2 == 1 else side - 1)
    from skimage.metrics import structural_similarity
    return float(structural_similarity(x, x_hat, data_range=data_range, win_size=win))


def rel_error(x, x_hat) -> float:
    """Relative error ``‖x_hat − x‖ / ‖x‖`` (Frobenius norm).

    Parameters
    ----------
    x : ndarray
        Reference, non-zero; complex arrays are allowed.
    x_hat : ndarray
        Estimate, same shape as ``x``.

    Returns
    -------
    float
        The relative error (0 means exact).
    """
    x, x_hat = _pair(x, x_hat)
    ref = np.linalg.norm(x)
    if ref == 0.0:
        raise ValueError("x must not be all zeros for a relative error")
    return float(np.linalg.norm(x_hat - x) / ref)


def snr(x, x_hat) -> float:
    """Signal-to-noise ratio ``20 log10(‖x‖ / ‖x − x_hat‖)`` in decibels.

    Parameters
    ----------
    x : ndarray
        Reference (the signal), non-zero; complex arrays are allowed.
    x_hat : ndarray
        Estimate (or noisy observation), same shape as ``x``.

    Returns
    -------
    float
        SNR in dB; ``inf`` when ``x_hat`` equals ``x``. Equals ``−20 log10(rel_error)``.
    """
    err = rel_error(x, x_hat)
    if err == 0.0:
        return float("inf")
    return float(-20.0 * np.log10(err))


def patch_swd(images_a, images_b, *, patch: int = 5, num_projections: int = 256,
              max_patches: int = 20000, seed: int = 0) -> float:
    r"""Sliced Wasserstein distance between the distributions of the patches of two image
    sets: a measure of realism that needs no pretrained network.

    Every ``patch``×``patch`` patch (stride 1) of each set is a point of
    :math:`\mathbb R^{p^2}`; both clouds are projected on ``num_projections`` random unit
    directions (seeded) and the 1-D Wasserstein-1 distances of the projections, computed
    on 100 common quantiles, are averaged. Zero for identical sets; small when the
    restored images have the edges and flat regions of the reference set, whatever their
    pixel-wise agreement (which PSNR measures). Like FID or KID it compares distributions,
    so it should be computed over sets of images, not one pair.

    Parameters
    ----------
    images_a, images_b : ndarray of shape (B, M, N)
        Two sets of images on the same scale (their counts and sizes may differ).
    patch : int
        Side of the patches (at most the smallest image side).
    num_projections : int
        Random directions.
    max_patches : int
        A set with more patches than this is represented by a random subset of this size
        (seeded), which keeps large reference sets cheap.
    seed : int
        Seed of the directions and of the subsets.

    Returns
    -------
    float
    """
    from ._validate import check_int

    a = as_array(images_a, "images_a", ndim=3, allow_complex=False)
    b = as_array(images_b, "images_b", ndim=3, allow_complex=False)
    patch = check_int(patch, "patch", low=1,
                      high=min(a.shape[1], a.shape[2], b.shape[1], b.shape[2]))
    num_projections = check_int(num_projections, "num_projections", low=1)
    max_patches = check_int(max_patches, "max_patches", low=100)
    seed = check_int(seed, "seed", low=0)
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(seed)

    def patches(x):
        view = sliding_window_view(x, (patch, patch), axis=(1, 2))  # (B, R, C, p, p), no copy
        total = view.shape[0] * view.shape[1] * view.shape[2]
        if total > max_patches:
            pick = np.sort(rng.choice(total, max_patches, replace=False))
            view = view[np.unravel_index(pick, view.shape[:3])]
        return view.reshape(-1, patch * patch)

    dirs = rng.standard_normal((patch * patch, num_projections))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    q = (np.arange(100) + 0.5) / 100

    def quantiles(p):  # (num_projections, 100), sorting along contiguous rows
        proj = np.sort(np.ascontiguousarray((p @ dirs).T), axis=1)
        pos = q * (proj.shape[1] - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, proj.shape[1] - 1)
        return proj[:, lo] * (1 - (pos - lo)) + proj[:, hi] * (pos - lo)

    return float(np.abs(quantiles(patches(a)) - quantiles(patches(b))).mean())
