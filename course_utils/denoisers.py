"""Gaussian denoisers ``x_hat = D(y, sigma)``: total variation, BM3D and the shipped network."""
from __future__ import annotations

import functools
import warnings

import numpy as np

from ._validate import as_image, check_choice, check_scalar

__all__ = ["DENOISER_METHODS", "TV_WEIGHT_PER_SIGMA", "LEARNED_SIGMA_MAX", "denoise",
           "tv_weight", "load_learned_denoiser", "load_winnet"]

#: Methods accepted by :func:`denoise`.
DENOISER_METHODS: tuple[str, ...] = ("tv", "bm3d", "learned", "winnet")
#: TV weight rule ``weight = TV_WEIGHT_PER_SIGMA * sigma``, calibrated on training images.
TV_WEIGHT_PER_SIGMA: float = 1.0
#: Largest noise level the learned denoisers (``"learned"``, ``"winnet"``) saw in training
#: (55/255).
LEARNED_SIGMA_MAX: float = 55 / 255


def tv_weight(sigma: float) -> float:
    r"""Weight of the TV denoiser for noise level ``sigma``: ``TV_WEIGHT_PER_SIGMA * sigma``.

    Notes
    -----
    The constant maximises the mean PSNR of :func:`denoise` with ``method="tv"`` over
    256 x 256 crops of six training images at :math:`\sigma \in \{15, 25, 50\}/255`
    (the best constants were 0.9, 1.0 and 1.1; 1.0 is within 0.1 dB of each);
    ``tests/test_denoisers.py`` checks that it stays near-optimal.
    """
    sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False)
    return TV_WEIGHT_PER_SIGMA * sigma


@functools.lru_cache(maxsize=1)
def load_learned_denoiser():
    """The shipped denoiser network (``torch.nn.Module`` in eval mode), loaded once.

    Raises
    ------
    course_utils.weights.MissingWeightsError, course_utils.weights.WeightsError
        If the weights file is missing or corrupted; the message names
        ``python -m course_utils.train denoiser``.
    """
    from .nets.denoiser import build_denoiser
    from .weights import load_frozen

    return load_frozen(build_denoiser(), "denoiser")


@functools.lru_cache(maxsize=1)
def load_winnet():
    """The shipped WINNet-style lifting denoiser (:class:`course_utils.nets.lifting.WINNetLite`
    in eval mode, frozen), loaded once.

    Raises
    ------
    course_utils.weights.MissingWeightsError, course_utils.weights.WeightsError
        If the weights file is missing or corrupted; the message names
        ``python -m course_utils.train winnet``.
    """
    from .nets.lifting import build_winnet
    from .weights import load_frozen

    return load_frozen(build_winnet(), "winnet")


def _denoise_tv(y: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(y, weight=tv_weight(sigma), eps=1e-5, max_num_iter=500)


def _denoise_bm3d(y: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    # BM3D needs at least one block (16 x 16 here); smaller images are mirror-padded.
    rows, cols = y.shape
    y_pad = np.pad(y, ((0, max(0, 16 - rows)), (0, max(0, 16 - cols))), mode="symmetric")
    x_hat = np.asarray(bm3d.bm3d(y_pad, sigma_psd=sigma), dtype=np.float64)
    return x_hat.reshape(y_pad.shape)[:rows, :cols].copy()


def _denoise_learned(y: np.ndarray, sigma: float, loader=load_learned_denoiser) -> np.ndarray:
    import torch

    if sigma > LEARNED_SIGMA_MAX:
        warnings.warn(f"sigma={sigma:.3g} is above the largest noise level the learned "
                      f"denoiser was trained on ({LEARNED_SIGMA_MAX:.3g}); expect artefacts",
                      stacklevel=3)
    model = loader()
    stride = model.stride
    rows, cols = y.shape
    pad_r, pad_c = (-rows) % stride, (-cols) % stride
    y_pad = np.pad(y, ((0, pad_r), (0, pad_c)), mode="symmetric")
    with torch.no_grad():
        x_hat = model(torch.from_numpy(y_pad.astype(np.float32))[None, None], sigma)
    return x_hat[0, 0, :rows, :cols].numpy().astype(np.float64)


def _denoise_winnet(y: np.ndarray, sigma: float) -> np.ndarray:
    return _denoise_learned(y, sigma, loader=load_winnet)


_METHODS = {"tv": _denoise_tv, "bm3d": _denoise_bm3d, "learned": _denoise_learned,
            "winnet": _denoise_winnet}


def denoise(x, sigma, method: str = "learned") -> np.ndarray:
    r"""Remove additive white Gaussian noise of standard deviation ``sigma`` from ``x``.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Noisy image on the [0, 1] scale (noise may take values slightly outside it).
    sigma : float
        Noise standard deviation on the same scale, ``sigma > 0`` (e.g. ``25 / 255``).
    method : {"tv", "bm3d", "learned", "winnet"}
        ``"tv"``: total-variation denoising (Chambolle's projection algorithm) with weight
        :func:`tv_weight`; ``"bm3d"``: BM3D from the ``bm3d`` package; ``"learned"``: the
        shipped noise-level-conditional U-Net (:class:`course_utils.nets.DRUNetLite`);
        ``"winnet"``: the shipped WINNet-style lifting denoiser
        (:class:`course_utils.nets.lifting.WINNetLite`: learned invertible lifting, shrink
        the details, inverse lifting).

    Returns
    -------
    x_hat : ndarray of shape (M, N)
        The denoised image (float64).

    Notes
    -----
    Each method approximates the MMSE or MAP estimate of ``x`` from ``y = x + n``,
    :math:`n \sim \mathcal N(0, \sigma^2 I)`. TV solves
    :math:`\min_x \tfrac12\|x - y\|_2^2 + w\,\mathrm{TV}(x)` with :math:`w \propto \sigma`.
    The learned networks are trained for :math:`\sigma \le 55/255`; larger values give
    a warning. The networks' inputs are mirror-padded to a multiple of their stride. Used as the proximal step, any of them is a plug-and-play prior.

    References
    ----------
    A. Chambolle, "An algorithm for total variation minimization and applications",
    J. Math. Imaging Vis., 2004.
    K. Dabov, A. Foi, V. Katkovnik, K. Egiazarian, "Image denoising by sparse 3-D
    transform-domain collaborative filtering", IEEE TIP, 2007.
    K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool, R. Timofte, "Plug-and-play image
    restoration with deep denoiser prior", IEEE TPAMI, 2021.
    J.-J. Huang, P. L. Dragotti, "WINNet: wavelet-inspired invertible network for image
    denoising", IEEE TIP, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from course_utils.denoisers import denoise
    >>> y = 0.5 + 0.1 * np.random.default_rng(0).standard_normal((32, 32))
    >>> denoise(y, 0.1, method="tv").std() < y.std()
    True
    """
    method = check_choice(method, "method", DENOISER_METHODS)
    x = as_image(x, "x")
    sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False)
    return _METHODS[method](x, sigma)
