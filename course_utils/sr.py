"""Single-image super-resolution: forward model, bicubic, back-projection and learned frameworks."""
from __future__ import annotations

import time

import numpy as np

# The bicubic matrices live one layer down, in ``_bicubic`` (the networks use them too),
# and are re-exported here under their historical names.
from ._bicubic import _bicubic_matrix, bicubic_matrix
from ._bicubic import _keys  # noqa: F401  (the kernel, tested through this module)
from ._validate import as_image, check_choice, check_int, check_scalar

__all__ = [
    "SCALES", "NET_SCALE", "FRAMEWORKS", "LEARNED_FRAMEWORKS", "FRAMEWORK_LABELS",
    "TRAIN_IMAGES", "HELDOUT_IMAGES", "HELDOUT_SIZE", "SIGMA_TEST", "SIGMA_TRAIN_MAX",
    "check_scale", "forward_operator", "degrade", "bicubic_matrix", "bicubic",
    "pixel_shuffle", "pixel_unshuffle", "back_projection_step", "ibp", "project_consistent",
    "reconstruct",
    "evaluate", "heldout_images", "training_images", "IBP_ITERS", "compare",
]

#: Scale factors offered by the notebook and the widget.
SCALES: tuple[int, ...] = (2, 4)
#: The scale factor the shipped networks are trained for.
NET_SCALE: int = 4
#: Every reconstruction method of :func:`reconstruct`.
FRAMEWORKS: tuple[str, ...] = ("bicubic", "ibp", "pre", "post", "progressive", "dbpn")
#: The methods that need a shipped network (and therefore torch).
LEARNED_FRAMEWORKS: tuple[str, ...] = ("pre", "post", "progressive", "dbpn")
FRAMEWORK_LABELS: dict[str, str] = {
    "bicubic": "bicubic",
    "ibp": "IBP (Irani & Peleg)",
    "pre": "pre-upsampling (VDSR-like)",
    "post": "post-upsampling (ESPCN-like)",
    "progressive": "progressive (LapSRN-like)",
    "dbpn": "back-projection net (DBPN-like)",
}
#: Bundled images the networks are trained on (grey, several scales).
TRAIN_IMAGES: tuple[str, ...] = (
    "astronaut", "text", "brick", "grass", "gravel", "page", "coffee", "horse", "rocket",
    "hubble", "cell", "clock", "retina", "ihc", "motorcycle",
)
#: Bundled images kept out of training; only tests, benchmarks and the notebook use them.
HELDOUT_IMAGES: tuple[str, ...] = ("camera", "coins", "moon", "chelsea")
#: Side of the central crop of each held-out image.
HELDOUT_SIZE: int = 256
#: The noise level of the "noisy" columns of the comparison (on the [0, 1] scale).
SIGMA_TEST: float = 5 / 255
#: Training noise: half of the patches are noise-free, the others have sigma uniform
#: in [0, SIGMA_TRAIN_MAX].
SIGMA_TRAIN_MAX: float = 10 / 255


def check_scale(scale, name: str = "scale") -> int:
    """Return ``scale`` as an int in :data:`SCALES`, or raise a clear error."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, one of {SCALES}, got {type(scale).__name__}")
    if int(scale) not in SCALES:
        raise ValueError(f"{name} must be one of {SCALES}, got {scale}")
    return int(scale)


def _check_divisible(shape, scale: int, name: str = "x") -> None:
    if shape[0] % scale or shape[1] % scale:
        raise ValueError(f"scale {scale} must divide both sides of {name}, got shape {shape}")


def forward_operator(shape, scale: int = NET_SCALE):
    """The known degradation: block averaging by ``scale`` (``operators`` ``"downsample"``).

    Parameters
    ----------
    shape : tuple of int
        High-resolution shape (M, N), both divisible by ``scale``.
    scale : int
        One of :data:`SCALES`.

    Returns
    -------
    course_utils.operators.basic.Downsample
        ``A`` with ``(A x)[i, j]`` the mean of the ``scale × scale`` block ``(i, j)``.

    Notes
    -----
    Each low-resolution pixel integrates the light of its ``s × s`` block (a box point
    spread function, then sampling), so ``A Aᵀ = I / s²``.
    """
    from .operators import make_operator

    scale = check_scale(scale)
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be a pair (M, N), got {shape!r}")
    _check_divisible(tuple(shape), scale, "shape")
    return make_operator("downsample", shape=tuple(shape), factor=scale, mode="average")


def degrade(x, scale: int = NET_SCALE, sigma: float = 0.0, seed: int = 0) -> np.ndarray:
    """Low-resolution measurement ``y = A x + sigma n`` (block averaging, white noise).

    Parameters
    ----------
    x : ndarray of shape (M, N)
        High-resolution image in [0, 1], sides divisible by ``scale``.
    scale : int
        One of :data:`SCALES`.
    sigma : float
        Noise standard deviation (>= 0) on the [0, 1] scale.
    seed : int
        Seed of the noise.

    Returns
    -------
    ndarray of shape (M / scale, N / scale)
    """
    x = as_image(x, "x")
    scale = check_scale(scale)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", low=0)
    _check_divisible(x.shape, scale)
    y = forward_operator(x.shape, scale)(x)
    if sigma > 0:
        y = y + sigma * np.random.default_rng(seed).standard_normal(y.shape)
    return y


def bicubic(y, scale: int = NET_SCALE) -> np.ndarray:
    """Bicubic upsampling of ``y`` by ``scale`` (separable, see :func:`bicubic_matrix`).

    Parameters
    ----------
    y : ndarray of shape (m, n)
        Low-resolution image.
    scale : int
        One of :data:`SCALES`.

    Returns
    -------
    ndarray of shape (scale m, scale n)
        ``U_r y U_cᵀ``; not clipped.
    """
    y = as_image(y, "y")
    scale = check_scale(scale)
    return _bicubic_matrix(y.shape[0], scale) @ y @ _bicubic_matrix(y.shape[1], scale).T


def pixel_shuffle(h, scale: int) -> np.ndarray:
    """Rearrange ``scale²`` low-resolution channels into one image (sub-pixel convolution).

    Parameters
    ----------
    h : ndarray of shape (scale², m, n)
        Channel ``c = a · scale + b`` holds the pixels at offset ``(a, b)`` of each block.
    scale : int
        Upsampling factor (>= 1).

    Returns
    -------
    ndarray of shape (scale m, scale n)
        ``x[scale i + a, scale j + b] = h[a scale + b, i, j]``, the convention of
        ``torch.nn.functional.pixel_shuffle``.

    References
    ----------
    W. Shi et al., "Real-time single image and video super-resolution using an efficient
    sub-pixel convolutional neural network", CVPR 2016.
    """
    scale = check_int(scale, "scale", low=1)
    h = np.asarray(as_image(h, "h", ndim=3))
    if h.shape[0] != scale ** 2:
        raise ValueError(f"h must have scale² = {scale ** 2} channels, got shape {h.shape}")
    _, m, n = h.shape
    return h.reshape(scale, scale, m, n).transpose(2, 0, 3, 1).reshape(m * scale, n * scale)


def pixel_unshuffle(x, scale: int) -> np.ndarray:
    """The inverse of :func:`pixel_shuffle`: (scale m, scale n) -> (scale², m, n)."""
    scale = check_int(scale, "scale", low=1)
    x = as_image(x, "x")
    _check_divisible(x.shape, scale)
    m, n = x.shape[0] // scale, x.shape[1] // scale
    return x.reshape(m, scale, n, scale).transpose(1, 3, 0, 2).reshape(scale ** 2, m, n)


_BACK = ("bicubic", "adjoint")


def _back_project(r: np.ndarray, scale: int, back: str) -> np.ndarray:
    if back == "bicubic":
        return _bicubic_matrix(r.shape[0], scale) @ r @ _bicubic_matrix(r.shape[1], scale).T
    return np.repeat(np.repeat(r, scale, axis=0), scale, axis=1)   # s² Aᵀ r = A⁺ r


def _block_residual(x_hat: np.ndarray, y: np.ndarray, scale: int) -> np.ndarray:
    """``y − A x_hat`` (block averages), after checking that the shapes match."""
    m, n = y.shape
    if x_hat.shape != (m * scale, n * scale):
        raise ValueError(f"x_hat must have shape {(m * scale, n * scale)} for y of shape "
                         f"{y.shape} at scale {scale}, got {x_hat.shape}")
    return y - x_hat.reshape(m, scale, n, scale).mean(axis=(1, 3))


def back_projection_step(x_hat, y, scale: int = NET_SCALE, *, tau: float = 1.0,
                         back: str = "bicubic") -> np.ndarray:
    """One step of iterative back-projection: ``x_hat + tau · P(y − A x_hat)``.

    Parameters
    ----------
    x_hat : ndarray of shape (M, N)
        Current high-resolution estimate.
    y : ndarray of shape (M / scale, N / scale)
        Low-resolution measurement.
    scale : int
        One of :data:`SCALES`.
    tau : float
        Step size, in (0, 2].
    back : {"bicubic", "adjoint"}
        Back-projection operator ``P``: bicubic upsampling of the residual (Irani & Peleg's
        smooth back-projection kernel), or pixel replication ``s² Aᵀ``, the
        pseudo-inverse ``A⁺`` of block averaging.

    Returns
    -------
    ndarray of shape (M, N)

    Notes
    -----
    With ``back="adjoint"`` and ``tau = 1`` one step is the orthogonal projection onto
    the affine set ``{x : A x = y}``.
    """
    x_hat = as_image(x_hat, "x_hat")
    y = as_image(y, "y")
    scale = check_scale(scale)
    tau = check_scalar(tau, "tau", low=0.0, high=2.0, low_inclusive=False)
    back = check_choice(back, "back", _BACK)
    return x_hat + tau * _back_project(_block_residual(x_hat, y, scale), scale, back)


def ibp(y, scale: int = NET_SCALE, *, num_iters: int = 20, tau: float = 1.0,
        back: str = "bicubic", x0=None, return_history: bool = False):
    """Iterative back-projection (Irani & Peleg 1991) with the known operator ``A``.

    Parameters
    ----------
    y : ndarray of shape (m, n)
        Low-resolution measurement.
    scale : int
        One of :data:`SCALES`.
    num_iters : int
        Number of back-projection steps (>= 0; 0 returns the start).
    tau : float
        Step size in (0, 2].
    back : {"bicubic", "adjoint"}
        Back-projection operator, see :func:`back_projection_step`.
    x0 : ndarray of shape (scale m, scale n), optional
        Start; default the bicubic upsampling of ``y``.
    return_history : bool
        Also return the data misfit ``‖A x_k − y‖`` before each step and after the last.

    Returns
    -------
    x_hat : ndarray of shape (scale m, scale n)
    history : list of float
        Only with ``return_history``.

    Notes
    -----
    The iteration simulates the measurement of the current estimate and corrects it with
    the back-projected error,

    .. math:: x_{k+1} = x_k + \\tau\\, P\\,(y - A x_k),

    which drives ``A x_k`` to ``y``. Without noise the truth satisfies ``A x = y``, so a
    consistent estimate is never worse than its start when ``P = A⁺`` (a projection);
    with noise, the iteration also fits the noise, so few steps are used.

    References
    ----------
    M. Irani, S. Peleg, "Improving resolution by image registration", CVGIP: Graphical
    Models and Image Processing, 53(3), 1991.
    """
    y = as_image(y, "y")
    scale = check_scale(scale)
    num_iters = check_int(num_iters, "num_iters", low=0)
    tau = check_scalar(tau, "tau", low=0.0, high=2.0, low_inclusive=False)
    back = check_choice(back, "back", _BACK)
    if not isinstance(return_history, bool):
        raise TypeError(f"return_history must be a bool, got {type(return_history).__name__}")
    m, n = y.shape
    if x0 is None:
        x_hat = bicubic(y, scale)
    else:
        x_hat = as_image(x0, "x0")
        if x_hat.shape != (m * scale, n * scale):
            raise ValueError(f"x0 must have shape {(m * scale, n * scale)}, got {x_hat.shape}")
        x_hat = x_hat.copy()
    history = []
    for _ in range(num_iters + 1):
        residual = _block_residual(x_hat, y, scale)
        history.append(float(np.linalg.norm(residual)))
        if len(history) > num_iters:
            break
        x_hat = x_hat + tau * _back_project(residual, scale, back)
    return (x_hat, history) if return_history else x_hat


def project_consistent(x_hat, y, scale: int = NET_SCALE, *, sigma: float = 0.0) -> np.ndarray:
    r"""Closest image to ``x_hat`` that explains ``y`` to within the noise level.

    The orthogonal projection onto the convex set
    ``C = {x : ‖A x − y‖₂ ≤ ε}``, ``ε = sigma · sqrt(m n)`` (the expected norm of the
    noise): with the residual ``r = y − A x_hat``,

    .. math:: P_C(\hat x) = \hat x + \max\Bigl(0, 1 - \frac{\varepsilon}{\|r\|}\Bigr) A^+ r,

    since ``A Aᵀ = I / s²`` makes ``A⁺ = s² Aᵀ`` (pixel replication) the shortest way to
    change ``A x``. With ``sigma = 0`` it is one back-projection step with ``P = A⁺``,
    ``tau = 1``: exact consistency ``A x = y``. Whenever the truth lies in ``C`` (always
    without noise, about half of the time with noise), the projection is never farther
    from it than ``x_hat`` (projections onto convex sets are non-expansive).

    Parameters
    ----------
    x_hat : ndarray of shape (scale m, scale n)
        Estimate, e.g. a network's output.
    y : ndarray of shape (m, n)
        Low-resolution measurement.
    scale : int
        One of :data:`SCALES`.
    sigma : float
        Noise level of ``y`` (>= 0).

    Returns
    -------
    ndarray of shape (scale m, scale n)
    """
    x_hat = as_image(x_hat, "x_hat")
    y = as_image(y, "y")
    scale = check_scale(scale)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    residual = _block_residual(x_hat, y, scale)
    norm = float(np.linalg.norm(residual))
    radius = sigma * np.sqrt(y.size)
    if norm <= radius:
        return x_hat.copy()
    return x_hat + (1.0 - radius / norm) * _back_project(residual, scale, "adjoint")


#: Back-projection steps of :func:`reconstruct` without and with noise (early stopping).
IBP_ITERS: dict[bool, int] = {False: 10, True: 1}


def reconstruct(y, framework: str, scale: int = NET_SCALE, *, sigma: float = 0.0,
                clip: bool = True, consistent: bool = True) -> np.ndarray:
    """Super-resolve ``y`` with one of :data:`FRAMEWORKS`.

    Parameters
    ----------
    y : ndarray of shape (m, n)
        Low-resolution measurement ``A x + sigma n`` (block averaging).
    framework : str
        ``"bicubic"``, ``"ibp"`` (classical back-projection, uses ``A``), or a learned
        framework (:data:`LEARNED_FRAMEWORKS`, ×4 only, needs torch): ``"pre"``,
        ``"post"``, ``"progressive"``, ``"dbpn"``.
    scale : int
        One of :data:`SCALES`; the networks exist for ``scale = 4`` only.
    sigma : float
        Noise level of ``y`` (>= 0): an input of the networks (trained on ``sigma`` in
        [0, :data:`SIGMA_TRAIN_MAX`]); IBP uses it to stop early (1 step if
        ``sigma > 0``, else 10).
    clip : bool
        Clip the result to [0, 1].
    consistent : bool
        For the learned frameworks: project the network's output onto the images that
        explain ``y`` to within the noise level (:func:`project_consistent`), the one
        place where the known operator enters. ``False`` returns the network alone.

    Returns
    -------
    ndarray of shape (scale m, scale n)
    """
    y = as_image(y, "y")
    framework = check_choice(framework, "framework", FRAMEWORKS)
    scale = check_scale(scale)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    if not isinstance(consistent, bool):
        raise TypeError(f"consistent must be a bool, got {type(consistent).__name__}")
    if framework == "bicubic":
        x_hat = bicubic(y, scale)
    elif framework == "ibp":
        x_hat = ibp(y, scale, num_iters=IBP_ITERS[sigma > 0])
    else:
        if scale != NET_SCALE:
            raise ValueError(f"scale must be {NET_SCALE} for the learned framework "
                             f"{framework!r} (the networks are trained at ×{NET_SCALE}), "
                             f"got {scale}")
        from .nets.sr import apply_sr_net

        x_hat = apply_sr_net(y, framework, sigma=sigma)
        if consistent:
            x_hat = project_consistent(x_hat, y, scale, sigma=sigma)
    return np.clip(x_hat, 0.0, 1.0) if clip else x_hat


def evaluate(x, x_hat, scale: int = NET_SCALE) -> dict:
    """PSNR and SSIM of ``x_hat`` against ``x``, grey in [0, 1], ``scale`` pixels of
    border cropped (the usual super-resolution convention).

    Returns
    -------
    dict
        ``{"psnr": dB, "ssim": value}``.
    """
    from .metrics import psnr, ssim

    x = as_image(x, "x")
    x_hat = as_image(x_hat, "x_hat")
    scale = check_scale(scale)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    if min(x.shape) <= 2 * scale + 6:
        raise ValueError(f"x must be larger than {2 * scale + 6} on each side, got {x.shape}")
    c = (slice(scale, -scale), slice(scale, -scale))
    return {"psnr": psnr(x[c], x_hat[c]), "ssim": ssim(x[c], x_hat[c])}


def heldout_images(size: int = HELDOUT_SIZE) -> dict[str, np.ndarray]:
    """The central ``size × size`` crop (no resizing) of each of :data:`HELDOUT_IMAGES`."""
    from .data import load_image

    size = check_int(size, "size", low=16, high=300)
    if size % 4:
        raise ValueError(f"size must be a multiple of 4, got {size}")
    out = {}
    for name in HELDOUT_IMAGES:
        img = load_image(name)
        r0, c0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        out[name] = np.ascontiguousarray(img[r0:r0 + size, c0:c0 + size])
    return out


def training_images(scales=(1.0, 0.7, 0.5), min_size: int = 64) -> list[np.ndarray]:
    """Grey :data:`TRAIN_IMAGES` at several scales (anti-aliased), float32 in [0, 1]."""
    from skimage.transform import rescale

    from .data import load_image

    min_size = check_int(min_size, "min_size", low=1)
    pool = []
    for name in TRAIN_IMAGES:
        if name in HELDOUT_IMAGES:
            raise RuntimeError(f"{name} is held out")
        img = load_image(name)
        for s in scales:
            s = check_scalar(s, "scales", low=0.0, high=1.0, low_inclusive=False)
            im = img if s == 1.0 else rescale(img, s, anti_aliasing=True)
            if min(im.shape) >= min_size:
                pool.append(np.ascontiguousarray(np.clip(im, 0, 1), dtype=np.float32))
    return pool


def _timed(fn, *args, repeats: int = 3, **kwargs):
    """``(result, median CPU milliseconds)`` of ``fn(*args, **kwargs)``."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn(*args, **kwargs)
        times.append(1e3 * (time.process_time() - t0))
    return out, float(np.median(times))


def compare(frameworks=FRAMEWORKS, sigmas=(0.0, SIGMA_TEST), *, size: int = HELDOUT_SIZE,
            weights_names: dict | None = None, seed: int = 0) -> dict:
    """Mean PSNR, SSIM and CPU time of each method on the held-out images at ×4.

    Parameters
    ----------
    frameworks : iterable of str
        Names in :data:`FRAMEWORKS`, or keys of ``weights_names``.
    sigmas : iterable of float
        Noise levels (>= 0); image ``k`` gets the noise seed ``seed + k``.
    size : int
        Side of the held-out crops (:func:`heldout_images`).
    weights_names : dict, optional
        Extra rows ``label -> registered weights`` (e.g. the loss variants
        ``{"L1": "sr_loss_l1"}``), run with their own architecture.

    Returns
    -------
    dict
        ``{label: {sigma: {"psnr", "ssim", "ms", "psnr_each"}}}``: means over the
        images; ``ms`` is the median CPU milliseconds per image (torch on its current
        number of threads), ``psnr_each`` the per-image PSNRs. The learned frameworks
        are run as :func:`reconstruct` runs them (network, then the consistency
        projection) and also report the network alone: ``"psnr_network"``,
        ``"ssim_network"``. The rows of ``weights_names`` are the networks alone.
    """
    images = heldout_images(size)
    weights_names = dict(weights_names or {})
    labels = list(frameworks) + list(weights_names)
    for label in frameworks:
        check_choice(label, "framework", FRAMEWORKS)
    sigmas = [check_scalar(s, "sigmas", low=0.0) for s in sigmas]
    seed = check_int(seed, "seed", low=0)
    out: dict = {}
    for label in labels:
        if label in weights_names:
            from .nets.sr import apply_sr_net, load_sr_net
            from . import weights as _weights

            name = weights_names[label]
            load_sr_net(name)
            fw = _weights.registry()[name]["framework"]
            run = (lambda y, s, _fw=fw, _n=name:
                   np.clip(apply_sr_net(y, _fw, sigma=s, weights_name=_n), 0.0, 1.0))
        elif label in LEARNED_FRAMEWORKS:
            run = (lambda y, s, _f=label: _network_and_projection(y, _f, s))
        else:
            run = (lambda y, s, _f=label: reconstruct(y, _f, NET_SCALE, sigma=s))
        run(degrade(next(iter(images.values())), NET_SCALE), 0.0)   # load and warm up
        out[label] = {}
        for sigma in sigmas:
            scores, times = {"psnr": [], "ssim": [], "psnr_network": [], "ssim_network": []}, []
            for k, x in enumerate(images.values()):
                y = degrade(x, NET_SCALE, sigma, seed=seed + k)
                x_hat, ms = _timed(run, y, sigma, repeats=1)
                x_hat, x_net = x_hat if isinstance(x_hat, tuple) else (x_hat, None)
                for key, value in evaluate(x, x_hat, NET_SCALE).items():
                    scores[key].append(value)
                if x_net is not None:
                    for key, value in evaluate(x, x_net, NET_SCALE).items():
                        scores[f"{key}_network"].append(value)
                times.append(ms)
            row = {key: float(np.mean(v)) for key, v in scores.items() if v}
            out[label][sigma] = {**row, "ms": float(np.median(times)),
                                 "psnr_each": scores["psnr"]}
    return out


def _network_and_projection(y, framework: str, sigma: float):
    """``(reconstruct(y, framework), the network's output alone)``, both clipped, with
    one run of the network."""
    x_net = reconstruct(y, framework, NET_SCALE, sigma=sigma, clip=False, consistent=False)
    x_hat = project_consistent(x_net, y, NET_SCALE, sigma=sigma)
    return np.clip(x_hat, 0.0, 1.0), np.clip(x_net, 0.0, 1.0)
