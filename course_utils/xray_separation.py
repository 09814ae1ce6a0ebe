"""Separating mixed X-ray images of paintings: synthetic mixtures, convolutional sparse coding with side information, the exclusion term."""
from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
from scipy import fft as _fft

from ._validate import as_array, check_choice, check_int, check_scalar

__all__ = [
    "SIZE", "NOISE_SIGMA", "METHODS", "TRAIN_IMAGES", "HELDOUT_IMAGES", "NUM_FILTERS",
    "FILTER_SIZE", "LOWPASS_SIGMA", "DEFAULTS", "paint_xray", "canvas_weave", "wood_grain",
    "underdrawing", "crop", "make_mixture", "training_mixtures", "heldout_mixtures", "lowpass",
    "highpass", "haar_forward", "haar_adjoint", "coupled_soft_threshold", "exclusion_prox", "edge_map", "edge_overlap",
    "regression_features", "regression_weights", "learn_dictionaries", "dictionaries",
    "synthesis", "sparse_code", "separate", "layer_quality", "DICTIONARY_FILE",
]

#: Side of the course's mixtures (``crop`` and ``make_mixture``).
SIZE: int = 128
#: Standard deviation of the noise of the measured X-ray (on the [0, 1] scale of a layer).
NOISE_SIGMA: float = 0.03
#: Ways of separating a mixture (:func:`separate`).
METHODS: tuple[str, ...] = ("naive", "regression", "sparse", "unfolded")
#: Images whose crops train the dictionaries, the regression and the unfolded network.
TRAIN_IMAGES: tuple[str, ...] = ("astronaut", "rocket", "ihc", "hubble", "retina",
                                 "motorcycle")
#: Images kept for the held-out mixtures of the benchmark and the notebook: never trained on.
HELDOUT_IMAGES: tuple[str, ...] = ("chelsea", "coffee")
#: Filters of the shared convolutional dictionary and their side.
NUM_FILTERS: int = 16
FILTER_SIZE: int = 7
#: Standard deviation (pixels) of the Gaussian low-pass that splits an image into the
#: smooth part (shared out by the side information) and the detail the codes model.
LOWPASS_SIGMA: float = 3.0
#: Default parameters of the ``"sparse"`` method.
DEFAULTS: dict = {"lam": 0.01, "mu": 0.3, "gamma": 1.0, "tau": 1.0, "num_iters": 40}


# -- the synthetic paintings ---------------------------------------------------------------------
def _rgb(x, name: str) -> np.ndarray:
    arr = as_array(x, name, allow_complex=False, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must be an RGB image of shape (M, N, 3), got shape "
                         f"{arr.shape}")
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise ValueError(f"{name} must be at least 8×8 pixels, got {arr.shape[:2]}")
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must have values in [0, 1], got [{arr.min():.3g}, "
                         f"{arr.max():.3g}]")
    return arr


def paint_xray(rgb) -> np.ndarray:
    r"""The X-ray image of a paint layer seen in colour as ``rgb``: ndarray (M, N) in [0, 1].

    Lead white dominates the absorption, and a painter lightens a colour with it, so the
    lead content rises with the lightness :math:`L` (luminance), non-linearly; vermilion
    (HgS, red) absorbs too. The X-ray transmission saturates, hence

    .. math:: x = 1 - \exp\big(-2.2\,(0.08 + 0.9\,\ell^{1.6} + 0.35\,v)\big),\quad
              \ell = \mathrm{clip}\big(\tfrac{L - 0.15}{0.85}, 0, 1\big),\quad
              v = \mathrm{clip}(R - \max(G, B), 0, 1).
    """
    rgb = _rgb(rgb, "rgb")
    lum = rgb @ np.array([0.299, 0.587, 0.114])
    lead = np.clip((lum - 0.15) / 0.85, 0.0, 1.0) ** 1.6
    vermilion = np.clip(rgb[..., 0] - rgb[..., 1:].max(-1), 0.0, 1.0)
    return 1.0 - np.exp(-2.2 * (0.08 + 0.9 * lead + 0.35 * vermilion))


def canvas_weave(shape, rng: np.random.Generator, amplitude: float = 0.02) -> np.ndarray:
    """A canvas weave: threads along rows and columns with a random period near 4 pixels
    and slowly wandering phase (seeded by ``rng``)."""
    rows, cols = shape
    i, j = np.mgrid[0:rows, 0:cols].astype(np.float64)
    p1, p2 = rng.uniform(3.6, 4.6, 2)
    w1 = np.cumsum(rng.normal(0, 0.02, rows))[:, None]
    w2 = np.cumsum(rng.normal(0, 0.02, cols))[None, :]
    return amplitude * np.sin(2 * np.pi * i / p1 + w2) * np.sin(2 * np.pi * j / p2 + w1)


def wood_grain(shape, rng: np.random.Generator, amplitude: float = 0.03) -> np.ndarray:
    """Wood grain of a panel: nearly parallel rings, a random direction, wavy (seeded)."""
    rows, cols = shape
    i, j = np.mgrid[0:rows, 0:cols].astype(np.float64)
    angle = rng.uniform(-0.3, 0.3) + np.pi / 2
    u = np.cos(angle) * i + np.sin(angle) * j
    v = -np.sin(angle) * i + np.cos(angle) * j
    wave = 3.0 * np.sin(2 * np.pi * v / rng.uniform(40, 80) + rng.uniform(0, 2 * np.pi))
    return amplitude * np.sin(2 * np.pi * (u + wave) / rng.uniform(7, 11))


def underdrawing(shape, rng: np.random.Generator, amplitude: float = 0.06,
                 strokes: int = 6) -> np.ndarray:
    """Lead-white strokes of a sketch under the paint: smooth random curves one or two
    pixels wide (seeded)."""
    rows, cols = shape
    out = np.zeros(shape)
    t = np.linspace(0, 1, 4 * max(rows, cols))
    for _ in range(strokes):
        c = rng.uniform(0, 1, (2, 4)) * np.array([[rows], [cols]])
        # a cubic Bézier curve through four random control points
        b = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3])
        r, q = (c @ b).astype(int)
        keep = (r >= 0) & (r < rows) & (q >= 0) & (q < cols)
        out[r[keep], q[keep]] = 1.0
    from scipy.ndimage import gaussian_filter
    out = gaussian_filter(out, 0.7)
    return amplitude * out / max(out.max(), 1e-12)


def crop(name: str, *, size: int = SIZE, zoom: float = 0.5, row: float = 0.5,
         col: float = 0.5, mirror: bool = False) -> np.ndarray:
    """A ``size``×``size`` RGB crop of a bundled colour image (``course_utils.data``).

    Parameters
    ----------
    name : str
        A colour image of :data:`course_utils.data.IMAGE_NAMES` (``"chelsea"``,
        ``"coffee"``, ``"astronaut"``...).
    zoom : float
        Side of the crop as a fraction of the image's shorter side, in (0, 1].
    row, col : float
        Centre of the crop, as fractions of the room left on each axis (0.5: centred).
    mirror : bool
        Mirror left-right (the back of a double-sided panel seen from the front).
    """
    from skimage.transform import resize

    from .data import IMAGE_NAMES, load_image

    check_choice(name, "name", IMAGE_NAMES)
    size = check_int(size, "size", low=8, high=1024)
    zoom = check_scalar(zoom, "zoom", low=0.0, high=1.0, low_inclusive=False)
    row = check_scalar(row, "row", low=0.0, high=1.0)
    col = check_scalar(col, "col", low=0.0, high=1.0)
    img = load_image(name, color=True)
    if img.ndim != 3:
        raise ValueError(f"name must be a colour image, {name!r} is grey")
    side = max(8, int(round(zoom * min(img.shape[:2]))))
    r0 = int(round(row * (img.shape[0] - side)))
    c0 = int(round(col * (img.shape[1] - side)))
    out = resize(img[r0:r0 + side, c0:c0 + side], (size, size, 3), order=1, mode="reflect",
                 anti_aliasing=side > size)
    out = np.clip(out, 0.0, 1.0)
    return out[:, ::-1].copy() if mirror else out


def make_mixture(surface_rgb, hidden_rgb, *, seed: int, sigma: float = NOISE_SIGMA) -> dict:
    r"""A mixed X-ray of two paint layers, with the truth.

    Parameters
    ----------
    surface_rgb : ndarray of shape (M, N, 3) in [0, 1]
        The visible painting (or the front of a panel): its photograph is the side
        information.
    hidden_rgb : ndarray of shape (M, N, 3) in [0, 1]
        The concealed painting (or the back of the panel, mirrored).
    seed : int
        Seeds the X-ray-only content and the noise.
    sigma : float
        Standard deviation of the Gaussian noise of the measured X-ray.

    Returns
    -------
    dict
        ``"mixture"`` :math:`x = x_1 + x_2 + n`, ``"visible"`` (the surface photograph),
        ``"x1"`` (X-ray of the surface layer: :func:`paint_xray` plus a canvas weave the
        photograph does not show), ``"x2"`` (X-ray of the hidden layer: its paint plus
        the wood grain of its support and the lead-white strokes of an under-drawing),
        ``"hidden"`` (the hidden painting's colours, never available in practice).
    """
    surface = _rgb(surface_rgb, "surface_rgb")
    hidden = _rgb(hidden_rgb, "hidden_rgb")
    if surface.shape != hidden.shape:
        raise ValueError(f"surface_rgb and hidden_rgb must have the same shape, got "
                         f"{surface.shape} and {hidden.shape}")
    seed = check_int(seed, "seed", low=0)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    rng = np.random.default_rng([seed, 11])
    shape = surface.shape[:2]
    x1 = paint_xray(surface) + canvas_weave(shape, rng)
    x2 = paint_xray(hidden) + wood_grain(shape, rng) + underdrawing(shape, rng)
    x1, x2 = np.clip(x1, 0.0, 1.0), np.clip(x2, 0.0, 1.0)
    mixture = x1 + x2 + sigma * rng.standard_normal(shape)
    return {"mixture": mixture, "visible": surface.copy(), "x1": x1, "x2": x2,
            "hidden": hidden.copy()}


def _pairs(images, n, seed, size, zoom_range):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a, b = rng.choice(len(images), 2, replace=len(images) < 2)
        params = [dict(zoom=float(rng.uniform(*zoom_range)), row=float(rng.uniform()),
                       col=float(rng.uniform())) for _ in range(2)]
        surface = crop(images[a], size=size, **params[0])
        hidden = crop(images[b], size=size, mirror=True, **params[1])
        out.append(make_mixture(surface, hidden, seed=int(rng.integers(1 << 31))))
    return out


def training_mixtures(n: int, *, seed: int = 0, size: int = SIZE) -> list[dict]:
    """``n`` mixtures of random crops of :data:`TRAIN_IMAGES` (the hidden one mirrored),
    as :func:`make_mixture` makes them; for learning, never for evaluation."""
    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)
    return _pairs(TRAIN_IMAGES, n, [seed, 1], size, (0.25, 0.6))


def heldout_mixtures(n: int = 4, *, seed: int = 0, size: int = SIZE) -> list[dict]:
    """``n`` mixtures of crops of :data:`HELDOUT_IMAGES` (``chelsea`` and ``coffee``), which
    no dictionary, regression or network of the course has seen."""
    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)
    return _pairs(HELDOUT_IMAGES, n, [seed, 2], size, (0.35, 0.7))


# -- filters ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _gauss_hat(shape, sigma):
    fr = np.fft.fftfreq(shape[0])[:, None]
    fc = np.fft.rfftfreq(shape[1])[None, :]
    return np.exp(-2 * (np.pi * sigma) ** 2 * (fr ** 2 + fc ** 2))


def lowpass(x, sigma: float = LOWPASS_SIGMA) -> np.ndarray:
    """Gaussian low-pass (periodic, by FFT) of an image (M, N) or a stack (..., M, N)."""
    x = as_array(x, "x", allow_complex=False, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"x must be an image (M, N) or a stack of them, got shape {x.shape}")
    sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False)
    g = _gauss_hat(x.shape[-2:], sigma)
    return _fft.irfft2(_fft.rfft2(x) * g, s=x.shape[-2:])


def highpass(x, sigma: float = LOWPASS_SIGMA) -> np.ndarray:
    """``x − lowpass(x)``: the detail the convolutional codes model."""
    x = as_array(x, "x", allow_complex=False, dtype=np.float64)
    return x - lowpass(x, sigma)


# -- the undecimated Haar transform and the exclusion term -----------------------------------------
def haar_forward(x) -> np.ndarray:
    """One level of the undecimated (periodic) 2-D Haar transform: ndarray (4, M, N) of
    bands LL, LH, HL, HH, filters of 2×2 taps ``±1/2``. A tight frame:
    ``haar_adjoint(haar_forward(x)) == x``."""
    x = as_array(x, "x", allow_complex=False, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {x.shape}")
    return _haar(x)


def _haar(x):
    a = np.roll(x, -1, axis=-1)
    s, d = (x + a) / 2, (x - a) / 2                   # along columns: sum, difference
    s1, d1 = np.roll(s, -1, axis=-2), np.roll(d, -1, axis=-2)
    return np.stack([(s + s1) / 2, (s - s1) / 2, (d + d1) / 2, (d - d1) / 2], axis=-3)


def _haar_t(c):
    ll, lh, hl, hh = np.moveaxis(c, -3, 0)
    s = (ll + lh) / 2 + np.roll((ll - lh) / 2, 1, axis=-2)
    d = (hl + hh) / 2 + np.roll((hl - hh) / 2, 1, axis=-2)
    return (s + d) / 2 + np.roll((s - d) / 2, 1, axis=-1)


def haar_adjoint(coeffs) -> np.ndarray:
    """The adjoint (and inverse) of :func:`haar_forward`: (4, M, N) → (M, N)."""
    c = as_array(coeffs, "coeffs", allow_complex=False, dtype=np.float64)
    if c.ndim != 3 or c.shape[0] != 4:
        raise ValueError(f"coeffs must have shape (4, M, N), got {c.shape}")
    return _haar_t(c)


def exclusion_prox(y1, y2, mu: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The coupled soft-threshold of the exclusion term :math:`\mu\,\|(W y_1)\odot(W y_2)\|_1`
    (``W``: the three detail bands of :func:`haar_forward`).

    Each detail coefficient of one image is soft-thresholded by ``mu`` times the
    magnitude of the other image's coefficient at the same place,
    :math:`w_1 \leftarrow \mathrm{sign}(w_1)\max(|w_1| - \mu|w_2|, 0)` and symmetrically,
    both from the values before the step: the proximal map of the term in each image
    with the other fixed. Where only one image has an edge it is kept; where both have
    one, the weaker is removed. The LL band is untouched.
    """
    y1 = as_array(y1, "y1", ndim=2, allow_complex=False, dtype=np.float64)
    y2 = as_array(y2, "y2", ndim=2, allow_complex=False, dtype=np.float64)
    if y1.shape != y2.shape:
        raise ValueError(f"y1 and y2 must have the same shape, got {y1.shape} and {y2.shape}")
    mu = check_scalar(mu, "mu", low=0.0)
    return _exclusion(y1, y2, mu)


def coupled_soft_threshold(w1, w2, mu: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Shrink two arrays of coefficients against each other:
    :math:`w_1 \leftarrow \mathrm{sign}(w_1)\max(|w_1| - \mu|w_2|, 0)` and
    :math:`w_2 \leftarrow \mathrm{sign}(w_2)\max(|w_2| - \mu|w_1|, 0)`, both from the
    values before the step (the core of :func:`exclusion_prox`)."""
    w1 = as_array(w1, "w1", allow_complex=False, dtype=np.float64)
    w2 = as_array(w2, "w2", allow_complex=False, dtype=np.float64)
    if w1.shape != w2.shape:
        raise ValueError(f"w1 and w2 must have the same shape, got {w1.shape} and {w2.shape}")
    mu = check_scalar(mu, "mu", low=0.0)
    return _coupled(w1, w2, mu)


def _coupled(w1, w2, mu):
    a1, a2 = np.abs(w1), np.abs(w2)
    return (np.sign(w1) * np.maximum(a1 - mu * a2, 0.0),
            np.sign(w2) * np.maximum(a2 - mu * a1, 0.0))


def _exclusion(y1, y2, mu):
    if mu == 0:
        return y1, y2
    w1, w2 = _haar(y1), _haar(y2)
    w1[1:], w2[1:] = _coupled(w1[1:], w2[1:], mu)
    return _haar_t(w1), _haar_t(w2)


def edge_map(y) -> np.ndarray:
    """Edge strength of an image: the magnitude of its gradient (periodic differences)."""
    y = as_array(y, "y", ndim=2, allow_complex=False, dtype=np.float64)
    return np.hypot(np.roll(y, -1, 0) - y, np.roll(y, -1, 1) - y)


def edge_overlap(y1, y2) -> float:
    r"""How much the edges of two images coincide: the cosine
    :math:`\langle e_1, e_2\rangle / (\|e_1\|\,\|e_2\|)` of their edge maps
    (:func:`edge_map`), 0 when no edge is shared, 1 when the edge maps are proportional."""
    e1, e2 = edge_map(y1), edge_map(y2)
    if e1.shape != e2.shape:
        raise ValueError(f"y1 and y2 must have the same shape, got {e1.shape} and {e2.shape}")
    den = float(np.linalg.norm(e1) * np.linalg.norm(e2))
    return float(np.sum(e1 * e2) / den) if den > 0 else 0.0


# -- the regression baseline -----------------------------------------------------------------------
def regression_features(visible) -> np.ndarray:
    """Local features of the RGB image, ndarray (M, N, 7): R, G, B, their 3×3 means, and 1."""
    from scipy.ndimage import uniform_filter

    rgb = _rgb(visible, "visible")
    local = uniform_filter(rgb, size=(3, 3, 1), mode="wrap")
    return np.concatenate([rgb, local, np.ones(rgb.shape[:2] + (1,))], axis=-1)


@functools.lru_cache(maxsize=1)
def regression_weights() -> np.ndarray:
    """Least-squares weights of :func:`regression_features` predicting ``x1`` on 24
    training mixtures (seed 0)."""
    mixtures = training_mixtures(24, seed=0)
    f = np.concatenate([regression_features(m["visible"]).reshape(-1, 7) for m in mixtures])
    t = np.concatenate([m["x1"].ravel() for m in mixtures])
    w = np.linalg.lstsq(f, t, rcond=None)[0]
    w.setflags(write=False)
    return w


def _regression(visible):
    return regression_features(visible) @ regression_weights()


# -- convolutional dictionaries -------------------------------------------------------------------
def _filters_hat(filters, shape):
    """rfft2 of filters (..., p, p) zero-padded to ``shape``, centred at the origin."""
    p = filters.shape[-1]
    pad = np.zeros(filters.shape[:-2] + tuple(shape))
    pad[..., :p, :p] = filters
    pad = np.roll(pad, (-(p // 2), -(p // 2)), axis=(-2, -1))
    return _fft.rfft2(pad)


def synthesis(filters, codes) -> np.ndarray:
    r"""``Σ_k d_k * z_k``: the image (or images, one per channel of the filters) that the
    codes synthesise. ``filters`` (K, p, p) or (K, C, p, p); ``codes`` (K, M, N).
    Periodic convolutions by FFT."""
    d = as_array(filters, "filters", ndim=(3, 4), allow_complex=False, dtype=np.float64)
    z = as_array(codes, "codes", ndim=3, allow_complex=False, dtype=np.float64)
    if z.shape[0] != d.shape[0]:
        raise ValueError(f"codes must have one map per filter ({d.shape[0]}), got "
                         f"{z.shape[0]}")
    dh = _filters_hat(d, z.shape[1:])
    zh = _fft.rfft2(z)
    if d.ndim == 3:
        return _fft.irfft2(np.einsum("kab,kab->ab", dh, zh), s=z.shape[1:])
    return _fft.irfft2(np.einsum("kcab,kab->cab", dh, zh), s=z.shape[1:])


def _soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def sparse_code(y, filters, *, lam: float, num_iters: int = 50) -> np.ndarray:
    r"""Convolutional sparse coding by FISTA: the codes ``z`` (K, M, N) minimising
    :math:`\tfrac12\|y - \sum_k d_k * z_k\|^2 + \lambda \|z\|_1` for an image ``y``
    (M, N) and filters (K, p, p) (periodic convolutions)."""
    y = as_array(y, "y", ndim=2, allow_complex=False, dtype=np.float64)
    d = as_array(filters, "filters", ndim=3, allow_complex=False, dtype=np.float64)
    lam = check_scalar(lam, "lam", low=0.0)
    num_iters = check_int(num_iters, "num_iters", low=1)
    dh = _filters_hat(d, y.shape)
    lip = _lipschitz(dh)
    yh = _fft.rfft2(y)
    z = np.zeros((d.shape[0],) + y.shape)
    zh = vh = np.zeros(dh.shape, dtype=complex)
    t = 1.0
    for _ in range(num_iters):
        res = np.einsum("kab,kab->ab", dh, vh) - yh
        z = _soft(_fft.irfft2(vh - dh.conj() * res[None] / lip, s=y.shape), lam / lip)
        zh_new = _fft.rfft2(z)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        vh = zh_new + (t - 1) / tn * (zh_new - zh)
        zh, t = zh_new, tn
    return z


def _coupled_signals(mixtures):
    """Training signals for the coupled dictionary: per mixture (4, M, N) = detail of x1,
    of R, G, B."""
    return [np.concatenate([highpass(m["x1"])[None],
                            highpass(np.moveaxis(m["visible"], -1, 0))]) for m in mixtures]


def learn_dictionaries(num_images: int = 12, *, num_filters: int = NUM_FILTERS,
                       filter_size: int = FILTER_SIZE, lam: float = 0.01,
                       num_outer: int = 25, seed: int = 0, size: int = 64) -> dict:
    r"""Convolutional dictionary learning (FFT-based, alternating) of the coupled
    dictionary: X-ray filters :math:`\Xi_k` and RGB filters :math:`\Omega_{k,s}` that share
    their codes :math:`z_k`, on the details of ``num_images`` training mixtures.

    Alternates ``num_outer`` times: 20 FISTA steps on the codes of every image
    (:math:`\min_z \tfrac12\|s - \sum_k d_k * z_k\|^2 + \lambda\|z\|_1`, all four
    channels), then 10 projected gradient steps on the filters (support ``filter_size``²,
    each filter of unit norm over its four channels or less). Deterministic.

    Returns
    -------
    dict
        ``"xray"`` (K, p, p), ``"rgb"`` (K, 3, p, p).
    """
    num_images = check_int(num_images, "num_images", low=1)
    k = check_int(num_filters, "num_filters", low=1)
    p = check_int(filter_size, "filter_size", low=2)
    lam = check_scalar(lam, "lam", low=0.0)
    num_outer = check_int(num_outer, "num_outer", low=1)
    rng = np.random.default_rng([check_int(seed, "seed", low=0), 3])
    signals = np.stack(_coupled_signals(training_mixtures(num_images, seed=seed, size=size)))
    n, c = signals.shape[:2]
    shape = signals.shape[-2:]
    sh = _fft.rfft2(signals)                                       # (n, c, M, N')
    d = rng.standard_normal((k, c, p, p))
    d /= np.linalg.norm(d.reshape(k, -1), axis=1)[:, None, None, None]
    z = np.zeros((n, k) + shape)
    for _ in range(num_outer):
        dh = _filters_hat(d, shape)                                  # (k, c, M, N')
        lip = _lipschitz(dh)
        zk, t = z.copy(), 1.0
        for _ in range(20):                                          # FISTA on the codes
            zh = _fft.rfft2(zk)
            res = np.einsum("kcab,nkab->ncab", dh, zh) - sh
            grad = _fft.irfft2(np.einsum("kcab,ncab->nkab", dh.conj(), res), s=shape)
            z_new = _soft(zk - grad / lip, lam / lip)
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            zk = z_new + (t - 1) / t_new * (z_new - z)
            z, t = z_new, t_new
        zh = _fft.rfft2(z)
        lip_d = float(np.max(np.einsum("nkab,nkab->ab", zh.conj(), zh).real)) + 1e-12
        for _ in range(10):                                          # projected gradient
            dh = _filters_hat(d, shape)
            res = np.einsum("kcab,nkab->ncab", dh, zh) - sh
            g = _fft.irfft2(np.einsum("ncab,nkab->kcab", res, zh.conj()), s=shape)
            g = np.roll(g, (p // 2, p // 2), axis=(-2, -1))[..., :p, :p]
            d = d - g / lip_d
            norm = np.linalg.norm(d.reshape(k, -1), axis=1)
            d /= np.maximum(norm, 1.0)[:, None, None, None]
    order = np.argsort(-np.linalg.norm(d[:, 0].reshape(k, -1), axis=1))
    d = d[order]
    return {"xray": d[:, 0].copy(), "rgb": d[:, 1:].copy()}


def _lipschitz(dh):
    """Largest squared singular value over frequencies of the map codes → channels."""
    if dh.ndim == 3:
        return float(np.max(np.sum(np.abs(dh) ** 2, axis=0))) + 1e-12
    m = np.moveaxis(dh, (0, 1), (-1, -2))                            # (M, N', c, k)
    gram = m @ np.conj(np.swapaxes(m, -1, -2))                       # (M, N', c, c)
    return float(np.max(np.linalg.eigvalsh(gram))) + 1e-12


#: The shipped coupled dictionary, written by ``python -m course_utils.xray_separation``.
DICTIONARY_FILE = Path(__file__).resolve().parent / "data" / "xray_dictionaries.npz"


@functools.lru_cache(maxsize=1)
def dictionaries() -> dict:
    """The course's coupled dictionary: ``"xray"`` (K, p, p) and ``"rgb"`` (K, 3, p, p).

    Read from :data:`DICTIONARY_FILE`, which ``python -m course_utils.xray_separation``
    writes by :func:`learn_dictionaries` with its defaults (deterministic, about 20 CPU
    seconds); learned in the session if the file is missing."""
    if DICTIONARY_FILE.is_file():
        with np.load(DICTIONARY_FILE) as f:
            out = {"xray": f["xray"].astype(np.float64), "rgb": f["rgb"].astype(np.float64)}
    else:
        out = learn_dictionaries()
    for v in out.values():
        v.setflags(write=False)
    return out


def main(argv=None) -> int:
    """``python -m course_utils.xray_separation [--out FILE]``: learn the coupled dictionary
    and save it (by default to :data:`DICTIONARY_FILE`)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", default=str(DICTIONARY_FILE))
    args = parser.parse_args(argv)
    start = time.process_time()
    d = learn_dictionaries()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, xray=d["xray"].astype(np.float32), rgb=d["rgb"].astype(np.float32))
    print(f"saved {out} ({out.stat().st_size / 1e3:.0f} kB) in {time.process_time() - start:.0f} "
          "CPU s")
    return 0


# -- separation ------------------------------------------------------------------------------------
def _check_inputs(mixture, visible):
    x = as_array(mixture, "mixture", allow_complex=False, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"mixture must be a 2-D X-ray image (M, N), got shape {x.shape}")
    r = _rgb(visible, "visible")
    if r.shape[:2] != x.shape:
        raise ValueError(f"mixture and visible must have the same size, got {x.shape} and "
                         f"{r.shape[:2]}")
    return x, r


def _split_lowpass(x, r):
    """Low-pass parts of the two layers: the side information predicts x1's."""
    x1_low = lowpass(_regression(r))
    return x1_low, lowpass(x) - x1_low


def _sparse(x, r, *, lam, mu, gamma, tau, num_iters, history, callback=None):
    d = dictionaries()
    shape = x.shape
    xi_h = _filters_hat(d["xray"], shape)                            # (K, M, N')
    om_h = _filters_hat(d["rgb"], shape)                             # (K, 3, M, N')
    x1_low, x2_low = _split_lowpass(x, r)
    xh = x - lowpass(x)
    ph = highpass(_regression(r))
    det = (1 + tau + gamma) * (1 + tau) - 1
    rh = _fft.rfft2(highpass(np.moveaxis(r, -1, 0)))               # (3, M, N')
    coupled = np.concatenate([np.sqrt(tau) * xi_h[:, None], np.sqrt(gamma) * om_h], axis=1)
    lip1, lip2 = _lipschitz(coupled), tau * _lipschitz(xi_h)
    k = xi_h.shape[0]
    z1, z2 = np.zeros((k,) + shape), np.zeros((k,) + shape)
    z1h = np.zeros(xi_h.shape, dtype=complex)
    z2h = np.zeros(xi_h.shape, dtype=complex)
    v1h, v2h, t = z1h, z2h, 1.0
    y1h = y2h = np.zeros(shape[:1] + (shape[1] // 2 + 1,), dtype=complex)
    y1 = y2 = np.zeros(shape)
    out = []
    for it in range(num_iters):
        # one FISTA step on the codes (Fourier domain for the filters, space for ℓ1)
        u1h = np.einsum("kab,kab->ab", xi_h, v1h)
        u2h = np.einsum("kab,kab->ab", xi_h, v2h)
        r1h = np.einsum("kcab,kab->cab", om_h, v1h) - rh
        g1 = tau * xi_h.conj() * (u1h - y1h)[None] \
            + gamma * np.einsum("kcab,cab->kab", om_h.conj(), r1h)
        g2 = tau * xi_h.conj() * (u2h - y2h)[None]
        z1 = _soft(_fft.irfft2(v1h - g1 / lip1, s=shape), lam / lip1)
        z2 = _soft(_fft.irfft2(v2h - g2 / lip2, s=shape), lam / lip2)
        z1h_new, z2h_new = _fft.rfft2(z1), _fft.rfft2(z2)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        v1h = z1h_new + (t - 1) / tn * (z1h_new - z1h)
        v2h = z2h_new + (t - 1) / tn * (z2h_new - z2h)
        z1h, z2h, t = z1h_new, z2h_new, tn
        # images: the quadratic part minimised in closed form, then the exclusion prox
        u1 = _fft.irfft2(np.einsum("kab,kab->ab", xi_h, z1h), s=shape)
        u2 = _fft.irfft2(np.einsum("kab,kab->ab", xi_h, z2h), s=shape)
        b1 = xh + tau * u1 + gamma * ph
        b2 = xh + tau * u2
        y1 = ((1 + tau) * b1 - b2) / det
        y2 = ((1 + tau + gamma) * b2 - b1) / det
        y1, y2 = _exclusion(y1, y2, mu)
        y1h, y2h = _fft.rfft2(y1), _fft.rfft2(y2)
        if history:
            out.append((x1_low + y1, x2_low + y2))
        if callback is not None:
            callback(it)
    return x1_low + y1, x2_low + y2, out


def separate(mixture, visible, method: str = "sparse", *, lam: float | None = None,
             mu: float | None = None, gamma: float | None = None, tau: float | None = None,
             num_iters: int | None = None, return_info: bool = False):
    r"""Separate a mixed X-ray ``mixture`` ≈ x₁ + x₂ with the photograph ``visible`` of
    layer 1 as side information.

    Parameters
    ----------
    mixture : ndarray of shape (M, N)
        The measured X-ray.
    visible : ndarray of shape (M, N, 3) in [0, 1]
        The RGB photograph of the surface layer.
    method : {"naive", "regression", "sparse", "unfolded"}
        ``"naive"``: each layer is half the mixture. ``"regression"``: x̂₁ is a linear
        function of local RGB features (:func:`regression_features`, weights fitted on
        training mixtures), x̂₂ = x − x̂₁. ``"sparse"``: the convolutional sparse model
        below, solved by FISTA. ``"unfolded"``: the shipped network of ``num_iters``
        = 5 learned layers (:mod:`course_utils.nets.xray`, needs torch).
    lam, mu, gamma, tau : float, optional
        ``"sparse"`` only (defaults in :data:`DEFAULTS`): weight of the ℓ1 norm of the
        codes, of the exclusion term, of the RGB side information, and of the coupling of
        the images to their codes; all ≥ 0.
    num_iters : int, optional
        ``"sparse"``: FISTA iterations; ``"unfolded"``: the first ``num_iters`` layers.
    return_info : bool
        Also return a dict with ``"seconds"`` (CPU, ``time.process_time``) and, for
        ``"sparse"``, ``"history"``: the estimates after each iteration.

    Returns
    -------
    x1_hat, x2_hat : ndarray of shape (M, N)
        (and ``info`` with ``return_info``).

    Notes
    -----
    The low-pass parts (:func:`lowpass`) are shared out by the side information: x₁'s is
    that of the regression. The details :math:`y_1, y_2` follow Pu et al. (2022): with a
    dictionary :math:`\Xi` shared by the two X-rays, RGB filters :math:`\Omega` that share
    the codes of layer 1 (:func:`dictionaries`), and the regression's prediction
    :math:`p` of x₁'s details as the link between the photograph and :math:`y_1`,

    .. math::
        \min_{y, z}\ \tfrac12\|x - y_1 - y_2\|^2
        + \tfrac{\tau}{2} \sum_{i=1,2} \|y_i - \Xi * z_i\|^2
        + \tfrac{\gamma}{2} \Big(\sum_s \|r_s - \Omega_s * z_1\|^2 + \|y_1 - p\|^2\Big)
        + \lambda (\|z_1\|_1 + \|z_2\|_1)
        + \mu \|(W y_1) \odot (W y_2)\|_1 ,

    with ``W`` the detail bands of an undecimated Haar transform. Each iteration takes a
    FISTA step on the codes, minimises the quadratic terms over the images in closed
    form (a 2×2 system per pixel), and applies the coupled soft-threshold of the
    exclusion term (:func:`exclusion_prox`). The exclusion enters as a proximal step
    rather than a subgradient: the prox sets the weaker of two coinciding edges exactly
    to zero and needs no step size of its own, where a subgradient of the non-smooth
    product would only nudge both and oscillate around zero.
    """
    x, r = _check_inputs(mixture, visible)
    method = check_choice(method, "method", METHODS)
    params = {"lam": lam, "mu": mu, "gamma": gamma, "tau": tau}
    given = [name for name, value in params.items() if value is not None]
    if given and method != "sparse":
        raise ValueError(f"{', '.join(given)}: parameters of method 'sparse' only (the "
                         f"{method!r} method has none: its weights are fixed or learned)")
    for name, value in params.items():
        if value is not None:
            params[name] = check_scalar(value, name, low=0.0)
        elif method == "sparse":
            params[name] = DEFAULTS[name]
    if params["tau"] is not None and params["tau"] == 0 and method == "sparse":
        raise ValueError("tau must be > 0, got 0.0")
    if num_iters is not None:
        num_iters = check_int(num_iters, "num_iters", low=1)
    start = time.process_time()
    info: dict = {}
    if method == "naive":
        x1, x2 = x / 2, x / 2
    elif method == "regression":
        x1 = _regression(r)
        x2 = x - x1
    elif method == "sparse":
        x1, x2, hist = _sparse(x, r, num_iters=num_iters or DEFAULTS["num_iters"],
                               history=return_info, **params)
        info["history"] = hist
    else:
        from .nets.xray import XRAY_ARCH, unfolded_separate

        if num_iters is not None and num_iters > XRAY_ARCH["num_layers"]:
            raise ValueError(f"num_iters must be <= {XRAY_ARCH['num_layers']} for the "
                             f"unfolded network (its layers), got {num_iters}")
        x1_low, x2_low = _split_lowpass(x, r)
        layers = unfolded_separate(x - lowpass(x), highpass(np.moveaxis(r, -1, 0)),
                                   highpass(_regression(r)), num_layers=num_iters,
                                   all_layers=True)
        x1, x2 = x1_low + layers[-1][0], x2_low + layers[-1][1]
        if return_info:
            info["history"] = [(x1_low + a, x2_low + b) for a, b in layers]
    info["seconds"] = time.process_time() - start
    return (x1, x2, info) if return_info else (x1, x2)


def layer_quality(x1, x2, x1_hat, x2_hat) -> dict:
    """PSNR and SSIM (data range 1) of each estimated layer, their mean PSNR, and the edge
    overlap (:func:`edge_overlap`) of the estimates."""
    from .metrics import psnr, ssim

    pairs = {"x1": (x1, x1_hat), "x2": (x2, x2_hat)}
    out = {}
    for name, (a, b) in pairs.items():
        a = as_array(a, name, ndim=2, allow_complex=False, dtype=np.float64)
        b = as_array(b, f"{name}_hat", ndim=2, allow_complex=False, dtype=np.float64)
        out[f"psnr_{name}"] = psnr(a, b)
        out[f"ssim_{name}"] = ssim(a, b)
    out["psnr"] = (out["psnr_x1"] + out["psnr_x2"]) / 2
    out["overlap"] = edge_overlap(x1_hat, x2_hat)
    return out


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
