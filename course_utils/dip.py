"""Deep image prior: masks, the masked loss, noise estimation, early stopping and the DIP fit."""
from __future__ import annotations

import math
import numbers
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_array, as_image, check_choice, check_int, check_scalar, check_shape

__all__ = ["DIP_SETTINGS", "STOP_RULES", "MIN_BLOCKS", "random_pixel_mask", "block_mask", "text_mask",
           "masked_loss", "estimate_sigma", "discrepancy_stop", "moving_variance",
           "wmv_stop", "WindowedVariance", "DeepImagePrior", "DIPResult", "dip_fit"]

#: Defaults of the fit used by the notebook, the widget snapshots, tests and benchmarks:
#: Adam step ``lr``, input-noise std ``input_noise`` (0: off), the discrepancy factor
#: ``tau`` and the ES-WMV window and patience (in iterations).
DIP_SETTINGS: dict = {"num_iters": 400, "lr": 0.01, "input_noise": 0.0, "tau": 0.9,
                      "window": 10, "patience": 40}
#: Fewest fully observed 2×2 blocks :func:`estimate_sigma` accepts with a mask.
MIN_BLOCKS = 16
#: Rules that can end :func:`dip_fit` early.
STOP_RULES = ("none", "discrepancy", "wmv")


# -- masks (1 = observed pixel, 0 = missing) --------------------------------------------------

def _check_ratio(ratio, name="ratio") -> float:
    return check_scalar(ratio, name, low=0.0, high=1.0, high_inclusive=False)


def random_pixel_mask(shape, ratio: float, seed: int = 0) -> np.ndarray:
    """A mask hiding a random fraction ``ratio`` of the pixels.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    ratio : float
        Fraction of missing pixels, ``0 <= ratio < 1`` (exactly ``round(ratio · M N)``
        pixels are hidden).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of shape (M, N)
        1.0 where the pixel is observed, 0.0 where it is missing.
    """
    shape = _check_2d_shape(shape)
    ratio = _check_ratio(ratio)
    seed = check_int(seed, "seed", low=0)
    n = shape[0] * shape[1]
    hidden = np.random.default_rng(seed).permutation(n)[:int(round(ratio * n))]
    mask = np.ones(n)
    mask[hidden] = 0.0
    return mask.reshape(shape)


def block_mask(shape, ratio: float, block_size: int | None = None, seed: int = 0) -> np.ndarray:
    """A mask with random square holes covering about ``ratio`` of the image.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    ratio : float
        Target fraction of missing pixels, ``0 <= ratio < 1``; squares are added at random
        positions (they may overlap) until at least this fraction is hidden.
    block_size : int, optional
        Side of the squares; default ``max(2, min(M, N) // 8)``.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of shape (M, N)
        1.0 observed, 0.0 missing.
    """
    shape = _check_2d_shape(shape)
    ratio = _check_ratio(ratio)
    rows, cols = shape
    default = max(2, min(rows, cols) // 8)
    block_size = default if block_size is None else check_int(block_size, "block_size", low=1,
                                                              high=min(rows, cols))
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    mask = np.ones(shape)
    while 1.0 - mask.mean() < ratio:
        r = rng.integers(rows - block_size + 1)
        c = rng.integers(cols - block_size + 1)
        mask[r:r + block_size, c:c + block_size] = 0.0
    return mask


def text_mask(shape, text: str = "DEEP IMAGE PRIOR", *, font_size: float | None = None,
              seed: int = 0) -> np.ndarray:
    """A mask hiding the pixels under lines of overprinted text.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    text : str
        The words, repeated along each line.
    font_size : float, optional
        Height of the letters in pixels; default ``M / 7``.
    seed : int
        Seed of the random horizontal offset of each line.

    Returns
    -------
    ndarray of shape (M, N)
        1.0 observed, 0.0 under a letter.

    Notes
    -----
    The letters are drawn in bold DejaVu Sans (bundled with matplotlib) with the Agg
    renderer and thresholded at half coverage, so the mask is the same on every machine
    with the same matplotlib.
    """
    shape = _check_2d_shape(shape)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    rows, cols = shape
    font_size = rows / 7.0 if font_size is None else check_scalar(
        font_size, "font_size", low=1.0, high=float(rows))
    seed = check_int(seed, "seed", low=0)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100.0
    fig = Figure(figsize=(cols / dpi, rows / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    rng = np.random.default_rng(seed)
    line = (text.strip() + "  ") * (1 + int(2 * cols / font_size / max(len(text), 1)) + 2)
    spacing = 1.9 * font_size
    num_lines = max(1, int(rows / spacing))
    for i in range(num_lines):
        top = (i + 0.5) * rows / num_lines
        fig.text(-rng.uniform(0.0, 0.5), 1.0 - top / rows, line, fontsize=font_size * 72 / dpi,
                 fontweight="bold", family="DejaVu Sans", va="center", ha="left",
                 color="black")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())[:rows, :cols, 0].astype(np.float64) / 255.0
    return (rgba >= 0.5).astype(np.float64)


def _check_2d_shape(shape) -> tuple[int, int]:
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape!r}")
    return shape


def _check_mask(mask, shape, name="mask") -> np.ndarray:
    mask = as_array(mask, name, allow_complex=False, dtype=np.float64)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have the shape of the image {tuple(shape)}, got "
                         f"{mask.shape}")
    if not np.all((mask == 0.0) | (mask == 1.0)):
        raise ValueError(f"{name} must contain only 0 (missing) and 1 (observed)")
    if not mask.any():
        raise ValueError(f"{name} has no observed pixel (it is all zeros)")
    return mask


# -- the loss and the noise level -------------------------------------------------------------

def masked_loss(y, x_hat, mask) -> float:
    r"""The inpainting data term :math:`\|m \odot y - m \odot \hat x\|_2^2`.

    Parameters
    ----------
    y : ndarray of shape (M, N)
        The observed image (its values where ``mask == 0`` are ignored).
    x_hat : ndarray of shape (M, N)
        The estimate, e.g. the network output :math:`\Psi(z; w)`.
    mask : ndarray of shape (M, N)
        1 on observed pixels, 0 on missing ones (at least one observed pixel).

    Returns
    -------
    float
        The sum of squared residuals over the observed pixels.

    Notes
    -----
    With ``mask`` all ones it is the denoising loss :math:`\|y - \hat x\|_2^2`. The fit
    minimises it divided by the number of observed pixels, :math:`\sum_i m_i`, so that the
    step size does not depend on the image size or the mask.

    References
    ----------
    D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep image prior", CVPR 2018, eq. (8).
    """
    y = as_image(y, "y")
    x_hat = as_image(x_hat, "x_hat")
    if x_hat.shape != y.shape:
        raise ValueError(f"x_hat must have the shape of y {y.shape}, got {x_hat.shape}")
    mask = _check_mask(mask, y.shape)
    return float(np.sum((mask * (y - x_hat)) ** 2))


def estimate_sigma(y, mask=None) -> float:
    r"""Estimate the noise standard deviation from the data alone (wavelet MAD).

    Parameters
    ----------
    y : ndarray of shape (M, N)
        Noisy image (``M, N >= 4``).
    mask : ndarray of shape (M, N), optional
        1 on observed pixels. With a mask, only the Haar coefficients of 2×2 blocks that
        are observed entirely are used.

    Returns
    -------
    float
        :math:`\hat\sigma = \operatorname{median}|d_{HH}| / 0.6745`.

    Notes
    -----
    The finest diagonal wavelet coefficients :math:`d_{HH}` of an image are mostly noise:
    for white Gaussian noise and an orthonormal wavelet each is
    :math:`\mathcal N(0, \sigma^2)`, whose median absolute value is :math:`0.6745\sigma`.
    Edges make a few coefficients large, which the median ignores. Without a mask the
    Daubechies-2 wavelet is used (as ``skimage.restoration.estimate_sigma`` does; its
    smoother filters leak less of the image into :math:`d_{HH}` than Haar's); with a mask,
    the Haar coefficients :math:`(y_{00} - y_{01} - y_{10} + y_{11}) / 2` of the fully
    observed 2×2 blocks, which never touch a missing pixel.

    References
    ----------
    D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81, 1994.
    """
    y = as_image(y, "y")
    if min(y.shape) < 4:
        raise ValueError(f"y must be at least 4x4, got {y.shape}")
    if mask is None:
        import pywt

        hh = pywt.dwt2(y, "db2", mode="symmetric")[1][2]
        return float(np.median(np.abs(hh)) / 0.6745)
    mask = _check_mask(mask, y.shape)
    rows, cols = (s - s % 2 for s in y.shape)
    blocks, mask = y[:rows, :cols], mask[:rows, :cols]
    hh = 0.5 * (blocks[0::2, 0::2] - blocks[0::2, 1::2] - blocks[1::2, 0::2]
                + blocks[1::2, 1::2])
    full = (mask[0::2, 0::2] * mask[0::2, 1::2] * mask[1::2, 0::2] * mask[1::2, 1::2]) > 0
    if full.sum() < MIN_BLOCKS:
        raise ValueError(f"mask must leave at least {MIN_BLOCKS} fully observed 2x2 blocks "
                         f"to estimate sigma, got {int(full.sum())}")
    return float(np.median(np.abs(hh[full])) / 0.6745)


# -- early stopping ------------------------------------------------------------------------

def discrepancy_stop(losses, sigma: float, tau: float = DIP_SETTINGS["tau"]) -> int | None:
    r"""First iteration whose data misfit reaches the noise level (discrepancy principle).

    Parameters
    ----------
    losses : array_like of float, shape (K,)
        Mean squared residual over the observed pixels at each iteration,
        :math:`\|m \odot (y - x_k)\|^2 / \sum_i m_i`.
    sigma : float
        Noise standard deviation (``>= 0``), e.g. from :func:`estimate_sigma`.
    tau : float
        Safety factor ``> 0``: stop when the misfit is at most :math:`\tau\sigma^2`.

    Returns
    -------
    int or None
        The first index ``k`` with ``losses[k] <= tau * sigma**2``, or None if the misfit
        never gets there.

    Notes
    -----
    A fit whose residual is smaller than the noise has started to reproduce the noise
    (Morozov's principle): :math:`\mathbb E\|y - x\|^2 / n = \sigma^2` for the clean
    image ``x``. For the deep image prior the PSNR peak comes when the misfit is slightly
    below :math:`\sigma^2` — the network already reproduces a little noise while it still
    corrects the image — so the default ``tau`` is 0.9, chosen among {0.9, 1.0, 1.1} on
    ``camera`` and ``coins`` (σ = 0.05 and 0.1, 64²) and checked on other images by
    ``tests/test_dip_stopping.py`` and ``benchmarks/bench_dip.py``.

    References
    ----------
    V. A. Morozov, "On the solution of functional equations by the method of
    regularization", Soviet Math. Dokl. 7, 1966.
    """
    losses = as_array(losses, "losses", ndim=1, allow_complex=False, dtype=np.float64)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    below = np.flatnonzero(losses <= tau * sigma ** 2)
    return int(below[0]) if below.size else None


def moving_variance(iterates, window: int = DIP_SETTINGS["window"]) -> np.ndarray:
    r"""Windowed moving variance of a sequence of images (ES-WMV).

    Parameters
    ----------
    iterates : array_like of shape (K, M, N)
        The images :math:`x_0, \dots, x_{K-1}`.
    window : int
        Window length ``W >= 2``.

    Returns
    -------
    ndarray of shape (K,)
        ``v[k]`` is the variance of the window ending at ``k`` (NaN for ``k < W - 1``).

    Notes
    -----
    .. math:: v_k = \frac{1}{W n} \sum_{j=k-W+1}^{k} \Big\| x_j - \frac1W
              \sum_{i=k-W+1}^{k} x_i \Big\|_2^2

    with ``n`` the number of pixels.
    """
    iterates = as_array(iterates, "iterates", ndim=3, allow_complex=False, dtype=np.float64)
    window = check_int(window, "window", low=2)
    tracker = WindowedVariance(window)
    return np.array([tracker.push(x) for x in iterates])


def wmv_stop(variances, patience: int = DIP_SETTINGS["patience"]) -> int | None:
    r"""ES-WMV detection: where the windowed variance stopped decreasing.

    Parameters
    ----------
    variances : array_like of float, shape (K,)
        Output of :func:`moving_variance` (leading NaNs allowed).
    patience : int
        Number of iterations ``P >= 1`` without a new minimum after which the rule stops.

    Returns
    -------
    int or None
        The index of the running minimum of ``variances`` at the first iteration where it
        has not improved for ``patience`` iterations; None if that never happens.

    Notes
    -----
    While the network fits the image, its successive outputs change steadily but less
    and less; once it fits the noise they wander again, and the variance of a window of
    iterates rises. Its minimum marks the turn (Wang et al. 2023). The rule uses only the
    iterates: no clean image, no noise level.

    References
    ----------
    H. Wang, T. Li, Z. Zhuang, T. Chen, H. Liang, J. Sun, "Early stopping for deep image
    prior", Transactions on Machine Learning Research, 2023.
    """
    variances = as_array(variances, "variances", ndim=1, allow_complex=False,
                         finite=False, dtype=np.float64)
    patience = check_int(patience, "patience", low=1)
    best, best_k = math.inf, None
    for k, v in enumerate(variances):
        if not np.isfinite(v):
            continue
        if v < best:
            best, best_k = v, k
        elif k - best_k >= patience:
            return best_k
    return None


class WindowedVariance:
    """Online windowed moving variance: ``push(x)`` returns ``v_k`` (NaN until the window
    is full); see :func:`moving_variance`.

    Parameters
    ----------
    window : int
        Window length ``W >= 2``.
    """

    def __init__(self, window: int = DIP_SETTINGS["window"]):
        self.window = check_int(window, "window", low=2)
        self._buffer: deque = deque(maxlen=self.window)

    def push(self, x) -> float:
        """Add the next iterate; return the variance of the window ending with it."""
        self._buffer.append(np.asarray(x, dtype=np.float64))
        if len(self._buffer) < self.window:
            return math.nan
        stack = np.stack(self._buffer)
        return float(np.mean((stack - stack.mean(axis=0)) ** 2))


# -- the fit ------------------------------------------------------------------------------------

class _OneThread:
    """Run torch on one thread inside the block (deterministic, fair on a shared CPU)."""

    def __enter__(self):
        import torch
        self._torch, self._prev = torch, torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        self._torch.set_num_threads(self._prev)


class DeepImagePrior:
    r"""Fit a randomly initialised network :math:`\Psi(z; w)` to one image, step by step.

    Parameters
    ----------
    y : ndarray of shape (M, N)
        Observed image (noisy; for inpainting, its missing pixels are ignored). ``M`` and
        ``N`` must be multiples of ``2 ** len(arch["channels"])`` (8 by default).
    mask : ndarray of shape (M, N), optional
        1 on observed pixels, 0 on missing ones; default all observed (denoising).
    lr : float
        Adam step size.
    input_noise : float
        Standard deviation of the fresh Gaussian perturbation added to ``z`` at each step
        (0: off; the paper uses 1/30 for denoising).
    seed : int
        Seeds the network weights, the input ``z`` and the input perturbations.
    x_true : ndarray of shape (M, N), optional
        Clean image, only to record the PSNR of each iterate (never used by the fit).
    window : int
        ES-WMV window (see :func:`moving_variance`).
    arch : dict, optional
        Overrides of :data:`course_utils.nets.dip.DIP_ARCH`.

    Attributes
    ----------
    iteration : int
        Number of steps taken.
    x : ndarray of shape (M, N)
        The latest iterate (the output computed by the latest step).
    history : dict of lists
        Per iteration: ``"loss"`` (mean squared residual over observed pixels), ``"wmv"``
        (windowed variance) and, with ``x_true``, ``"psnr"``.

    Notes
    -----
    Each step draws :math:`\tilde z = z + \sigma_p \varepsilon_k`, computes
    :math:`x_k = \Psi(\tilde z; w_k)` and takes one Adam step on

    .. math:: L(w) = \frac{1}{\sum_i m_i} \|m \odot y - m \odot \Psi(\tilde z; w)\|_2^2 .

    Iterate ``k`` is :math:`x_k`, the output for the weights after ``k`` updates. The
    image is the only data: the prior is the network's structure, which fits natural
    images much faster than noise — hence the rise, the peak and the decline of the PSNR.

    References
    ----------
    D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep image prior", CVPR 2018; IJCV 128, 2020.
    """

    def __init__(self, y, mask=None, *, lr: float = DIP_SETTINGS["lr"],
                 input_noise: float = DIP_SETTINGS["input_noise"], seed: int = 0,
                 x_true=None, window: int = DIP_SETTINGS["window"], arch: dict | None = None):
        import torch

        from .nets.dip import DIP_ARCH, build_dip_net, dip_input

        self.y = as_image(y, "y")
        self.mask = (np.ones_like(self.y) if mask is None
                     else _check_mask(mask, self.y.shape))
        self.lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
        self.input_noise = check_scalar(input_noise, "input_noise", low=0.0)
        self.seed = check_int(seed, "seed", low=0)
        self.x_true = None
        if x_true is not None:
            self.x_true = as_image(x_true, "x_true")
            if self.x_true.shape != self.y.shape:
                raise ValueError(f"x_true must have the shape of y {self.y.shape}, got "
                                 f"{self.x_true.shape}")
        if arch is not None and not isinstance(arch, dict):
            raise TypeError(f"arch must be a dict, got {type(arch).__name__}")
        arch = {**DIP_ARCH, **(arch or {})}
        factor = 2 ** len(tuple(arch["channels"]))
        if self.y.shape[0] % factor or self.y.shape[1] % factor:
            raise ValueError(f"y must have sides that are multiples of {factor}, got "
                             f"{self.y.shape}")
        self._variance = WindowedVariance(window)
        with _OneThread():
            self.net = build_dip_net(self.seed, **arch)
            self.z = dip_input(self.y.shape, arch["in_channels"], seed=self.seed + 1)
            self._noise = torch.Generator().manual_seed(self.seed + 2)
            self._optimiser = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self._y = torch.from_numpy(self.y).float()[None, None]
        self._m = torch.from_numpy(self.mask).float()[None, None]
        self._count = float(self.mask.sum())
        self.iteration = 0
        self.x = None
        self.history: dict = {"loss": [], "wmv": []}
        if self.x_true is not None:
            self.history["psnr"] = []

    @property
    def num_parameters(self) -> int:
        """Number of weights ``w``."""
        return sum(p.numel() for p in self.net.parameters())

    def step(self) -> np.ndarray:
        """One Adam step; return (and record) the iterate it computed."""
        import torch

        with _OneThread():
            z = self.z
            if self.input_noise > 0:
                z = z + self.input_noise * torch.randn(z.shape, generator=self._noise)
            out = self.net(z)
            loss = ((self._m * (out - self._y)) ** 2).sum() / self._count
            self._optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self._optimiser.step()
        self.x = out.detach()[0, 0].double().numpy()
        self.history["loss"].append(float(loss.item()))
        self.history["wmv"].append(self._variance.push(self.x))
        if self.x_true is not None:
            mse = float(np.mean((self.x - self.x_true) ** 2))
            self.history["psnr"].append(10.0 * math.log10(1.0 / max(mse, 1e-30)))
        self.iteration += 1
        return self.x

    def output(self) -> np.ndarray:
        """``Ψ(z; w)`` for the current weights and the unperturbed input ``z``."""
        import torch

        with _OneThread(), torch.no_grad():
            return self.net(self.z)[0, 0].double().numpy()


@dataclass
class DIPResult:
    """What :func:`dip_fit` computed.

    Attributes
    ----------
    x_hat : ndarray of shape (M, N)
        The iterate chosen by ``stop`` (the last one for ``stop="none"``).
    stop_iter : int
        Its index.
    loss, wmv : ndarray of shape (K,)
        Mean squared residual over observed pixels and windowed variance per iteration.
    psnr : ndarray of shape (K,) or None
        PSNR of each iterate against ``x_true`` (when given).
    sigma_hat : float
        The noise level used by the discrepancy rule (given or estimated).
    stops : dict
        ``{"discrepancy": k or None, "wmv": k or None, "peak": k or None}`` (``"peak"``
        needs ``x_true``).
    iterates : dict
        ``{k: image}`` for every snapshot asked for and every iteration in ``stops``.
    num_parameters : int
        Size of ``w``.
    seconds : float
        Wall time of the fit.
    """

    x_hat: np.ndarray
    stop_iter: int
    loss: np.ndarray
    wmv: np.ndarray
    psnr: np.ndarray | None
    sigma_hat: float
    stops: dict
    iterates: dict = field(default_factory=dict)
    num_parameters: int = 0
    seconds: float = 0.0


def dip_fit(y, mask=None, *, num_iters: int = DIP_SETTINGS["num_iters"],
            lr: float = DIP_SETTINGS["lr"], input_noise: float = DIP_SETTINGS["input_noise"],
            seed: int = 0, x_true=None, sigma: float | None = None,
            tau: float = DIP_SETTINGS["tau"], window: int = DIP_SETTINGS["window"],
            patience: int = DIP_SETTINGS["patience"], stop: str = "none",
            snapshot_at=(), arch: dict | None = None) -> DIPResult:
    r"""Deep-image-prior denoising or inpainting of ``y`` with data-driven early stopping.

    Parameters
    ----------
    y : ndarray of shape (M, N)
        Observed image; sides multiples of 8 with the default network.
    mask : ndarray of shape (M, N), optional
        1 observed, 0 missing (default: all observed, i.e. denoising).
    num_iters : int
        Maximum number of iterations (``>= 1``).
    lr, input_noise, seed, window, arch
        See :class:`DeepImagePrior`.
    x_true : ndarray of shape (M, N), optional
        Clean image, to record the PSNR curve and its peak (the rules never see it).
    sigma : float, optional
        Noise level for the discrepancy rule (``>= 0``); default
        :func:`estimate_sigma` on the observed pixels of ``y`` (NaN, and the rule off,
        when the mask leaves fewer than :data:`MIN_BLOCKS` fully observed 2×2 blocks).
    tau : float
        Discrepancy factor (see :func:`discrepancy_stop`).
    patience : int
        ES-WMV patience (see :func:`wmv_stop`).
    stop : {"none", "discrepancy", "wmv"}
        End the fit when this rule fires and return its iterate; ``"none"`` runs
        ``num_iters`` iterations and returns the last.
    snapshot_at : iterable of int
        Iterations whose iterates are kept in ``result.iterates``.

    Returns
    -------
    DIPResult

    Notes
    -----
    Minimises :math:`\|m \odot y - m \odot \Psi(z; w)\|_2^2` over ``w`` by Adam (see
    :class:`DeepImagePrior`). Two rules stop without the clean image: the discrepancy
    principle on the misfit (:func:`discrepancy_stop`, with
    :math:`\hat\sigma` from :func:`estimate_sigma`) and the ES-WMV minimum of the
    iterates' windowed variance (:func:`wmv_stop`). If ``stop`` names a rule that never
    fires, the last iterate is returned.

    References
    ----------
    D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep image prior", CVPR 2018; IJCV 128, 2020.
    H. Wang et al., "Early stopping for deep image prior", TMLR 2023.
    """
    num_iters = check_int(num_iters, "num_iters", low=1)
    stop = check_choice(stop, "stop", STOP_RULES)
    patience = check_int(patience, "patience", low=1)
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    try:
        wanted = {check_int(k, "snapshot_at", low=0, high=num_iters - 1)
                  for k in snapshot_at}
    except TypeError as err:
        if isinstance(snapshot_at, numbers.Integral):
            raise TypeError("snapshot_at must be an iterable of iteration numbers, got an "
                            "int") from None
        raise err
    solver = DeepImagePrior(y, mask, lr=lr, input_noise=input_noise, seed=seed,
                            x_true=x_true, window=window, arch=arch)
    if sigma is not None:
        sigma_hat = check_scalar(sigma, "sigma", low=0.0)
    else:
        try:
            sigma_hat = estimate_sigma(solver.y, None if solver.mask.all() else solver.mask)
        except ValueError:  # too few fully observed blocks: the rule is off
            sigma_hat = math.nan
    threshold = tau * sigma_hat ** 2 if np.isfinite(sigma_hat) else -math.inf
    iterates: dict = {}
    stops: dict = {"discrepancy": None, "wmv": None, "peak": None}
    best_var, best_var_k, best_var_x = math.inf, None, None
    best_psnr, best_psnr_x = -math.inf, None
    start = time.perf_counter()
    for k in range(num_iters):
        x_k = solver.step()
        if k in wanted:
            iterates[k] = x_k
        if stops["discrepancy"] is None and solver.history["loss"][-1] <= threshold:
            stops["discrepancy"] = k
            iterates[k] = x_k
        v = solver.history["wmv"][-1]
        if stops["wmv"] is None and np.isfinite(v):
            if v < best_var:
                best_var, best_var_k, best_var_x = v, k, x_k
            elif k - best_var_k >= patience:
                stops["wmv"] = best_var_k
                iterates[best_var_k] = best_var_x
        if x_true is not None and solver.history["psnr"][-1] > best_psnr:
            best_psnr, best_psnr_x = solver.history["psnr"][-1], x_k
            stops["peak"] = k
        if stop != "none" and stops[stop] is not None:
            break
    if stops["peak"] is not None:
        iterates[stops["peak"]] = best_psnr_x
    last = solver.iteration - 1
    iterates.setdefault(last, solver.x)
    stop_iter = stops[stop] if stop != "none" and stops[stop] is not None else last
    return DIPResult(
        x_hat=iterates[stop_iter], stop_iter=stop_iter,
        loss=np.array(solver.history["loss"]), wmv=np.array(solver.history["wmv"]),
        psnr=np.array(solver.history["psnr"]) if x_true is not None else None,
        sigma_hat=sigma_hat, stops=stops, iterates=dict(sorted(iterates.items())),
        num_parameters=solver.num_parameters, seconds=time.perf_counter() - start)
