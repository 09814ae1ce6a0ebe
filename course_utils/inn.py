"""Denoising by lifting (forward, shrink the details, inverse) and invertible networks next to an auto-encoder."""
from __future__ import annotations

import time

import numpy as np

from ._validate import as_array, as_image, check_choice, check_int, check_scalar
from .lifting import SCHEMES, from_pywt, to_pywt, wavelet_forward, wavelet_inverse

__all__ = [
    "SHRINK_RULES", "FIXED_SCHEMES", "soft_threshold", "band_threshold", "shrink_details",
    "wavelet_denoise", "detail_sparsity", "learned_coefficients", "random_lifting_network",
    "ConvAutoEncoder", "random_autoencoder", "reconstruction_errors", "compare_denoisers",
]

#: Threshold rules of :func:`wavelet_denoise`.
SHRINK_RULES: tuple[str, ...] = ("bayes", "universal", "fixed")
#: The real-valued lifting schemes a denoiser may use (the integer scheme rounds).
FIXED_SCHEMES: tuple[str, ...] = tuple(s for s in SCHEMES if s != "legall53-int")


# -- shrinkage ------------------------------------------------------------------------------
def soft_threshold(c, t) -> np.ndarray:
    """``sign(c) · max(|c| − t, 0)``: shrink every entry of ``c`` towards 0 by ``t``.

    Parameters
    ----------
    c : ndarray
        Real and finite coefficients, any shape.
    t : float
        Threshold, ``>= 0`` (0 leaves ``c`` unchanged).

    Returns
    -------
    ndarray
        float64, the shape of ``c``.
    """
    c = np.asarray(_real_array(c, "c"), dtype=np.float64)
    t = check_scalar(t, "t", low=0.0)
    return np.sign(c) * np.maximum(np.abs(c) - t, 0.0)


def _real_array(x, name):
    return as_array(x, name, allow_complex=False)


def band_threshold(band, sigma, rule: str, *, n: int | None = None) -> float:
    """The soft threshold of one detail band (on PyWavelets' orthonormal scale).

    Parameters
    ----------
    band : ndarray
        The detail coefficients of one band, on an orthonormal scale (:func:`to_pywt`), where
        white noise of standard deviation ``sigma`` stays white with the same ``sigma``.
    sigma : float
        Noise standard deviation, ``>= 0``.
    rule : {"bayes", "universal"}
        ``"bayes"``: BayesShrink (Chang, Yu & Vetterli 2000), ``t = σ² / σ_x`` with
        ``σ_x = sqrt(max(mean(band²) − σ², 0))`` (``inf`` when ``σ_x = 0``: the band is
        all noise and is removed); ``"universal"``: VisuShrink (Donoho & Johnstone 1994),
        ``t = σ sqrt(2 log n)``.
    n : int, optional
        Number of pixels of the image for the universal threshold (default: the band's size).

    Returns
    -------
    float
        The threshold, ``>= 0`` (0 when ``sigma = 0``).
    """
    band = np.asarray(_real_array(band, "band"), dtype=np.float64)
    if band.size == 0:
        raise ValueError("band must not be empty")
    sigma = check_scalar(sigma, "sigma", low=0.0)
    rule = check_choice(rule, "rule", ("bayes", "universal"))
    if sigma == 0.0:
        return 0.0
    if rule == "universal":
        n = band.size if n is None else check_int(n, "n", low=2)
        return float(sigma * np.sqrt(2.0 * np.log(n)))
    sigma_x = np.sqrt(max(float(np.mean(band ** 2)) - sigma ** 2, 0.0))
    return float(sigma ** 2 / sigma_x) if sigma_x > 0 else float("inf")


def _check_layout(coeffs):
    if isinstance(coeffs, np.ndarray) or not isinstance(coeffs, (list, tuple)) \
            or len(coeffs) < 2:
        raise TypeError("coeffs must be a list [coarse, (H, V, D), ...] with at least one "
                        f"level of details, got {type(coeffs).__name__}")
    for j, bands in enumerate(coeffs[1:], start=1):
        if isinstance(bands, np.ndarray) or not isinstance(bands, (list, tuple)) \
                or len(bands) != 3:
            raise ValueError(f"coeffs[{j}] must be a tuple of 3 detail bands (H, V, D)")


def shrink_details(coeffs, t) -> list:
    """Soft-threshold every detail band at ``t``; the coarse band passes through.

    Parameters
    ----------
    coeffs : list
        ``[coarse, (H, V, D), …]``, the layout of :func:`course_utils.lifting.wavelet_forward`
        and ``pywt.wavedec2``.
    t : float or list
        One threshold ``>= 0`` for every band, or one per level and band: a list of
        ``len(coeffs) − 1`` triples in the order of ``coeffs[1:]``.

    Returns
    -------
    list
        The same layout, new arrays (float64); ``coeffs`` is not modified.
    """
    _check_layout(coeffs)
    levels = len(coeffs) - 1
    if isinstance(t, (list, tuple)):
        if len(t) != levels or not all(isinstance(k, (list, tuple)) and len(k) == 3 for k in t):
            raise ValueError(f"t must be one number or {levels} triples of thresholds, "
                             f"one per detail band")
        per_band = [tuple(t[j]) for j in range(levels)]
    else:
        t = check_scalar(t, "t", low=0.0)
        per_band = [(t, t, t)] * levels
    out = [np.array(_real_array(coeffs[0], "coeffs[0]"), dtype=np.float64)]
    for bands, ts in zip(coeffs[1:], per_band):
        out.append(tuple(soft_threshold(b, tk) if np.isfinite(tk) else
                         np.zeros_like(np.asarray(b, dtype=np.float64))
                         for b, tk in zip(bands, ts)))
    return out


def wavelet_denoise(y, sigma, scheme: str = "haar", *, rule: str = "bayes",
                    factor: float = 3.0, levels: int = 4, return_info: bool = False):
    """Denoise by lifting: forward transform, soft-threshold the details, inverse.

    Parameters
    ----------
    y : ndarray of shape (M, N)
        Noisy image; ``M`` and ``N`` divisible by ``2**levels``.
    sigma : float
        Noise standard deviation on the scale of ``y``, ``>= 0``.
    scheme : {"haar", "legall53"}
        The lifting scheme (:func:`course_utils.lifting.wavelet_forward`).
    rule : {"bayes", "universal", "fixed"}
        Threshold of each detail band (:func:`band_threshold`); ``"fixed"``:
        ``t = factor · σ`` for every band.
    factor : float
        The threshold in units of ``σ`` for ``rule="fixed"`` (``>= 0``).
    levels : int
        Levels of the transform.
    return_info : bool
        If True, also return a dict with the thresholds (per level, finest last) and the
        fraction of detail coefficients set to zero.

    Returns
    -------
    ndarray of shape (M, N), or (ndarray, dict)

    Notes
    -----
    The lifting coefficients are rescaled to PyWavelets' orthonormal normalisation
    (:func:`course_utils.lifting.to_pywt`) before thresholding, so that white noise has
    the same ``σ`` in every band of the Haar transform (and nearly so for 5/3), then
    rescaled back (:func:`course_utils.lifting.from_pywt`) for the inverse.
    """
    y = as_image(y, "y")
    sigma = check_scalar(sigma, "sigma", low=0.0)
    scheme = check_choice(scheme, "scheme", FIXED_SCHEMES)
    rule = check_choice(rule, "rule", SHRINK_RULES)
    factor = check_scalar(factor, "factor", low=0.0)
    levels = check_int(levels, "levels", low=1)
    coeffs = to_pywt(wavelet_forward(y, scheme, levels))
    if rule == "fixed":
        thresholds = [(factor * sigma,) * 3 for _ in coeffs[1:]]
    else:
        thresholds = [tuple(band_threshold(b, sigma, rule, n=y.size) for b in bands)
                      for bands in coeffs[1:]]
    shrunk = shrink_details(coeffs, thresholds)
    x_hat = wavelet_inverse(from_pywt(shrunk), scheme)
    if not return_info:
        return x_hat
    zeros = sum(int(np.sum(b == 0)) for bands in shrunk[1:] for b in bands)
    total = sum(b.size for bands in shrunk[1:] for b in bands)
    return x_hat, {"thresholds": thresholds, "zero_fraction": zeros / total}


def detail_sparsity(coeffs, tol, *, normalise: bool = True) -> float:
    """Fraction of the detail coefficients with magnitude at most ``tol``.

    Parameters
    ----------
    coeffs : list
        ``[coarse, (H, V, D), …]``.
    tol : float
        ``>= 0``, on the orthonormal scale.
    normalise : bool
        If True, ``coeffs`` are lifting coefficients of ``wavelet_forward``, rescaled by
        :func:`course_utils.lifting.to_pywt` first; False for bands already on an
        orthonormal scale (the learned transform's, :func:`learned_coefficients`).

    Returns
    -------
    float
        In [0, 1]: near 1 when the transform makes the image sparse.
    """
    if not isinstance(normalise, (bool, np.bool_)):
        raise TypeError(f"normalise must be a bool, got {type(normalise).__name__}")
    _check_layout(coeffs)
    tol = check_scalar(tol, "tol", low=0.0)
    if normalise:
        coeffs = to_pywt(coeffs)
    small = total = 0
    for j, bands in enumerate(coeffs[1:], start=1):
        for k, b in enumerate(bands):
            b = _real_array(b, f"coeffs[{j}][{k}]")
            small += int(np.sum(np.abs(b) <= tol))
            total += b.size
    return small / total


# -- the learned transform and random invertible networks (torch) -----------------------------
def learned_coefficients(x, model=None) -> list:
    """The learned lifting transform of an image, as numpy bands.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Sides divisible by ``model.stride``.
    model : LearnedLifting or WINNetLite, optional
        Default: the transform of the shipped WINNet-style denoiser
        (:func:`course_utils.denoisers.load_winnet`).

    Returns
    -------
    list
        ``[coarse, (H, V, D), …]`` (float64), on the scale of the orthonormal Haar split
        (pass ``normalise=False`` to ``energy_compaction`` and :func:`detail_sparsity`).
    """
    import torch

    from .nets.lifting import LearnedLifting, WINNetLite

    x = as_image(x, "x")
    if model is None:
        from .denoisers import load_winnet
        model = load_winnet()
    if isinstance(model, WINNetLite):
        model = model.transform
    if not isinstance(model, LearnedLifting):
        raise TypeError(f"model must be a LearnedLifting or WINNetLite, got "
                        f"{type(model).__name__}")
    if x.shape[0] % model.stride or x.shape[1] % model.stride:
        raise ValueError(f"x shape {x.shape} must be divisible by the model's stride "
                         f"{model.stride}")
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        coeffs = model(torch.from_numpy(x).to(dtype)[None, None])
    out = [coeffs[0][0, 0].double().numpy()]
    for d in coeffs[1:]:
        out.append(tuple(band.double().numpy() for band in d[0]))
    return out


def random_lifting_network(levels: int = 2, *, num_steps: int = 2, hidden: int = 16,
                           seed: int = 0, dtype: str = "float64"):
    """A :class:`course_utils.nets.lifting.LearnedLifting` whose predict and update networks
    all have random weights (PyTorch's default initialisation, last layers included).

    Parameters
    ----------
    levels, num_steps, hidden : int
        Architecture of the transform.
    seed : int
        Seed of the weights.
    dtype : {"float32", "float64"}

    Returns
    -------
    LearnedLifting
        In eval mode, no gradients.
    """
    import torch

    from .nets.lifting import LearnedLifting

    levels = check_int(levels, "levels", low=1, high=6)
    seed = check_int(seed, "seed", low=0)
    dtype = check_choice(dtype, "dtype", ("float32", "float64"))
    torch.manual_seed(seed)
    model = LearnedLifting(1, levels, num_steps, hidden)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.reset_parameters()
    model = model.to(getattr(torch, dtype)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _autoencoder_class():
    import torch
    from torch import nn

    class _ConvAutoEncoder(nn.Module):
        """An ordinary convolutional auto-encoder: strided convolutions down to a code of
        ``4**levels`` channels at ``1/2**levels`` the size (as many numbers as pixels, like
        the lifting transform's bands), transposed convolutions back up."""

        def __init__(self, levels: int = 2, hidden: int = 16):
            super().__init__()
            self.levels = check_int(levels, "levels", low=1, high=6)
            hidden = check_int(hidden, "hidden", low=1)
            enc, dec = [], []
            c = 1
            for j in range(self.levels):
                out = 4 ** (j + 1)
                enc += [nn.Conv2d(c, hidden, 3, padding=1, padding_mode="circular"),
                        nn.ReLU(), nn.Conv2d(hidden, out, 2, stride=2)]
                dec = [nn.ConvTranspose2d(out, hidden, 2, stride=2), nn.ReLU(),
                       nn.Conv2d(hidden, c, 3, padding=1, padding_mode="circular")] + dec
                c = out
            self.encoder = nn.Sequential(*enc)
            self.decoder = nn.Sequential(*dec)

        @property
        def stride(self) -> int:
            return 2 ** self.levels

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.encoder(x)

        def inverse(self, code: torch.Tensor) -> torch.Tensor:
            """The decoder: the auto-encoder's only way back."""
            return self.decoder(code)

    return _ConvAutoEncoder


def ConvAutoEncoder(levels: int = 2, hidden: int = 16):  # noqa: N802 - a class factory
    """An ordinary convolutional auto-encoder (torch ``nn.Module``) with ``forward`` (the
    encoder, to a code with as many numbers as pixels) and ``inverse`` (the decoder)."""
    return _autoencoder_class()(levels, hidden)


def random_autoencoder(levels: int = 2, *, hidden: int | None = None, seed: int = 0,
                       dtype: str = "float64", match=None):
    """A :func:`ConvAutoEncoder` with random weights.

    Parameters
    ----------
    levels : int
        Halvings of the image in the encoder.
    hidden : int, optional
        Feature channels; by default the smallest width whose parameter count reaches that
        of ``match`` (else 16).
    seed : int
    dtype : {"float32", "float64"}
    match : torch.nn.Module, optional
        A network whose size to match (e.g. :func:`random_lifting_network`).
    """
    import torch

    levels = check_int(levels, "levels", low=1, high=6)
    seed = check_int(seed, "seed", low=0)
    dtype = check_choice(dtype, "dtype", ("float32", "float64"))
    if hidden is None:
        hidden = 16
        if match is not None:
            if not isinstance(match, torch.nn.Module):
                raise TypeError(f"match must be a torch.nn.Module, got {type(match).__name__}")
            target = sum(p.numel() for p in match.parameters())
            hidden = 1
            while _count(ConvAutoEncoder(levels, hidden)) < target and hidden < 512:
                hidden += 1
    torch.manual_seed(seed)
    model = ConvAutoEncoder(levels, hidden).to(getattr(torch, dtype)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def reconstruction_errors(x, *, levels: int = 2, seed: int = 0,
                          dtype: str = "float64") -> dict:
    """``x → forward → inverse`` for a random-weight lifting INN and for a random-weight
    auto-encoder of about the same size.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Sides divisible by ``2**levels``.
    levels, seed : int
    dtype : {"float32", "float64"}

    Returns
    -------
    dict
        ``inn_error`` and ``ae_error`` (relative errors ``‖x̃ − x‖ / ‖x‖``),
        ``inn_params`` and ``ae_params``, ``inn_code_size`` and ``ae_code_size`` (numbers in
        the representation), and the reconstructions ``inn_x`` and ``ae_x``.
    """
    import torch

    x = as_image(x, "x")
    levels = check_int(levels, "levels", low=1, high=6)
    if x.shape[0] % 2 ** levels or x.shape[1] % 2 ** levels:
        raise ValueError(f"x shape {x.shape} must be divisible by 2**levels = {2 ** levels}")
    inn = random_lifting_network(levels, seed=seed, dtype=dtype)
    ae = random_autoencoder(levels, seed=seed, dtype=dtype, match=inn)
    t = torch.from_numpy(x).to(getattr(torch, dtype))[None, None]
    with torch.no_grad():
        coeffs = inn(t)
        x_inn = inn.inverse(coeffs)[0, 0].double().numpy()
        code = ae(t)
        x_ae = ae.inverse(code)[0, 0].double().numpy()
    norm = float(np.linalg.norm(x)) or 1.0
    return {"inn_error": float(np.linalg.norm(x_inn - x) / norm),
            "ae_error": float(np.linalg.norm(x_ae - x) / norm),
            "inn_params": _count(inn), "ae_params": _count(ae),
            "inn_code_size": int(sum(c.numel() for c in coeffs)),
            "ae_code_size": int(code.numel()), "inn_x": x_inn, "ae_x": x_ae}


# -- a small comparison table -------------------------------------------------------------------
def compare_denoisers(images: dict, sigmas, methods: dict, *, seed: int = 0) -> list:
    """PSNR, SSIM and CPU time of denoisers on a few images and noise levels.

    Parameters
    ----------
    images : dict of str -> ndarray (M, N)
        Clean images in [0, 1].
    sigmas : sequence of float
        Noise levels on the [0, 1] scale (> 0).
    methods : dict of str -> (callable, int or None)
        Label → ``(f(y, sigma) -> x_hat, number of parameters)``.
    seed : int
        Seed of the noise (image ``i`` at level ``k`` gets ``seed + 100 k + i``).

    Returns
    -------
    list of dict
        One row per method and σ, with ``method``, ``sigma``, ``psnr`` and ``ssim`` (means
        over the images), ``params`` and ``cpu_ms`` (the median CPU time per image,
        ``time.process_time``).
    """
    from .metrics import psnr, ssim

    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict name -> image")
    if not isinstance(methods, dict) or not methods:
        raise TypeError("methods must be a non-empty dict label -> (function, parameters)")
    for label, entry in methods.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0])):
            raise TypeError(f"methods[{label!r}] must be a tuple (function, parameters)")
    sigmas = [check_scalar(s, "sigmas", low=0.0, low_inclusive=False) for s in sigmas]
    seed = check_int(seed, "seed", low=0)
    clean = {name: as_image(img, f"images[{name!r}]") for name, img in images.items()}
    from .data import add_noise
    rows = []
    for k, sigma in enumerate(sigmas):
        noisy = {name: add_noise(x, sigma, seed=seed + 100 * k + i)
                 for i, (name, x) in enumerate(clean.items())}
        for label, (fn, params) in methods.items():
            p, s, times = [], [], []
            for name, x in clean.items():
                start = time.process_time()
                x_hat = fn(noisy[name], sigma)
                times.append(1000 * (time.process_time() - start))
                p.append(psnr(x, x_hat))
                s.append(ssim(x, x_hat))
            rows.append({"method": label, "sigma": sigma, "psnr": float(np.mean(p)),
                         "ssim": float(np.mean(s)), "params": params,
                         "cpu_ms": float(np.median(times))})
    return rows
