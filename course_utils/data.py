"""Test images, phantoms, 1-D signals and noise models; everything is bundled or generated."""
from __future__ import annotations

import functools

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape

__all__ = ["IMAGE_NAMES", "load_image", "random_ellipses", "add_noise", "add_poisson_noise",
           "signal_1d", "SIGNAL_KINDS"]

# name -> function of skimage.data whose file ships inside the scikit-image wheel
_SKIMAGE_IMAGES = {
    "camera": "camera",
    "astronaut": "astronaut",
    "shepp_logan": "shepp_logan_phantom",
    "moon": "moon",
    "coins": "coins",
    "text": "text",
    "brick": "brick",
    "grass": "grass",
    "gravel": "gravel",
    "page": "page",
    "chelsea": "chelsea",
    "coffee": "coffee",
    "horse": "horse",
    "rocket": "rocket",
    "hubble": "hubble_deep_field",
    "cell": "cell",
    "clock": "clock",
    "checkerboard": "checkerboard",
    "retina": "retina",
    "ihc": "immunohistochemistry",
    "motorcycle": "stereo_motorcycle",
}

IMAGE_NAMES: tuple[str, ...] = tuple(_SKIMAGE_IMAGES)

SIGNAL_KINDS: tuple[str, ...] = ("piecewise", "smooth", "blocks")


@functools.lru_cache(maxsize=32)
def _read(name: str, color: bool) -> np.ndarray:
    import skimage.data
    from skimage.color import rgb2gray

    img = getattr(skimage.data, _SKIMAGE_IMAGES[name])()
    if name == "motorcycle":
        img = img[0]  # the left view of the stereo pair (left, right, disparity)
    if img.dtype == bool:
        img = img.astype(np.float64)
    elif img.dtype == np.uint8:
        img = img.astype(np.float64) / 255.0
    else:
        img = img.astype(np.float64)
    if img.ndim == 3:
        img = img[..., :3]
        if not color:
            img = rgb2gray(img)
    img = np.clip(img, 0.0, 1.0)
    img.setflags(write=False)
    return img


def load_image(name: str, size: int | None = None, *, color: bool = False) -> np.ndarray:
    """Load a bundled test image as float64 in [0, 1] (no download, ever).

    Parameters
    ----------
    name : str
        One of :data:`IMAGE_NAMES` (``"camera"``, ``"astronaut"``, ``"shepp_logan"``,
        ``"moon"``, ``"coins"``, ``"text"``, ...). The files ship inside scikit-image.
    size : int, optional
        If given, the central square of the image is cropped and resized (with
        anti-aliasing) to ``(size, size)``. ``None`` keeps the original shape.
    color : bool, optional
        Keep the three colour channels of colour images (shape (M, N, 3)); gray images
        are unaffected. Default: convert to gray (ITU-R 601 luminance).

    Returns
    -------
    ndarray of shape (M, N) (or (M, N, 3) with ``color=True``)
        A fresh float64 array with values in [0, 1].

    Notes
    -----
    8-bit images are divided by 255 (their contrast is not stretched), so noise levels
    ``sigma`` are on the same [0, 1] scale for every image.

    Examples
    --------
    >>> x = load_image("camera", size=64)
    >>> x.shape, x.dtype, bool(0.0 <= x.min() <= x.max() <= 1.0)
    ((64, 64), dtype('float64'), True)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {IMAGE_NAMES}, got {type(name).__name__}")
    if name not in _SKIMAGE_IMAGES:
        raise ValueError(f"Unknown image name: {name!r}; expected one of {IMAGE_NAMES}")
    if not isinstance(color, bool):
        raise TypeError(f"color must be a bool, got {type(color).__name__}")
    img = _read(name, color)
    if size is None:
        return img.copy()
    size = check_int(size, "size", low=2, high=4096)
    rows, cols = img.shape[:2]
    side = min(rows, cols)
    r0, c0 = (rows - side) // 2, (cols - side) // 2
    img = img[r0:r0 + side, c0:c0 + side]
    if side != size:
        from skimage.transform import resize
        out_shape = (size, size) + img.shape[2:]
        img = resize(img, out_shape, order=1, mode="reflect", anti_aliasing=size < side)
    return np.clip(np.array(img, dtype=np.float64), 0.0, 1.0)


def random_ellipses(shape=(64, 64), num_ellipses: int = 8, seed: int = 0, *,
                    num_images: int | None = None) -> np.ndarray:
    """Seeded random-ellipse phantom(s) in [0, 1], as used to train learned reconstructions.

    Parameters
    ----------
    shape : tuple of int (M, N), optional
        Image shape.
    num_ellipses : int, optional
        Number of inner ellipses added inside the body ellipse.
    seed : int, optional
        Seed of the random generator: the same seed gives the same phantom(s).
    num_images : int, optional
        If given, return a stack of that many phantoms, shape (num_images, M, N).

    Returns
    -------
    ndarray of shape (M, N) or (num_images, M, N)
        float64 phantom(s) with values in [0, 1].

    Notes
    -----
    Each phantom is a body ellipse of intensity in [0.3, 0.6] plus ``num_ellipses``
    ellipses with random centre, semi-axes in [0.05, 0.4], orientation and additive
    intensity in [−0.3, 0.5], clipped to [0, 1]: the piecewise-constant model of the
    Shepp–Logan phantom with random parameters.

    References
    ----------
    .. [1] L. A. Shepp and B. F. Logan, "The Fourier reconstruction of a head section",
       IEEE Trans. Nuclear Science, 21(3), 1974.
    """
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    num_ellipses = check_int(num_ellipses, "num_ellipses", low=0, high=1000)
    seed = check_int(seed, "seed", low=0)
    if num_images is not None:
        num_images = check_int(num_images, "num_images", low=1)
    rng = np.random.default_rng(seed)
    rows = np.linspace(-1.0, 1.0, shape[0])[:, None]
    cols = np.linspace(-1.0, 1.0, shape[1])[None, :]

    def ellipse(r0, c0, a, b, theta):
        cr, sr = np.cos(theta), np.sin(theta)
        u = (cols - c0) * cr + (rows - r0) * sr
        v = -(cols - c0) * sr + (rows - r0) * cr
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0

    def one():
        body = ellipse(0.0, 0.0, rng.uniform(0.75, 0.92), rng.uniform(0.6, 0.8),
                       rng.uniform(-0.3, 0.3))
        img = rng.uniform(0.3, 0.6) * body.astype(np.float64)
        for _ in range(num_ellipses):
            r0, c0 = rng.uniform(-0.55, 0.55, size=2)
            a, b = rng.uniform(0.05, 0.4, size=2)
            img += rng.uniform(-0.3, 0.5) * (ellipse(r0, c0, a, b, rng.uniform(0, np.pi)) & body)
        return np.clip(img, 0.0, 1.0)

    if num_images is None:
        return one()
    return np.stack([one() for _ in range(num_images)])


def add_noise(x, sigma: float, seed: int = 0) -> np.ndarray:
    """Add white Gaussian noise: ``y = x + sigma · n`` with ``n ~ N(0, I)``.

    Parameters
    ----------
    x : ndarray
        Clean signal or image, any shape. For complex ``x`` the real and imaginary parts
        each receive independent noise of standard deviation ``sigma``.
    sigma : float
        Noise standard deviation (>= 0), on the scale of ``x`` (images in [0, 1]).
    seed : int, optional
        Seed of the random generator (same seed, same noise).

    Returns
    -------
    ndarray
        The noisy array, same shape as ``x``; it is not clipped.
    """
    x = as_array(x, "x")
    sigma = check_scalar(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    x = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
    noise = rng.standard_normal(x.shape)
    if np.iscomplexobj(x):
        noise = noise + 1j * rng.standard_normal(x.shape)
    return x + sigma * noise


def add_poisson_noise(x, photons: float, seed: int = 0, *, counts: bool = False) -> np.ndarray:
    """Simulate photon-counting (Poisson) noise on a non-negative image.

    Parameters
    ----------
    x : ndarray
        Non-negative mean intensity (e.g. an image in [0, 1] or ``A x`` of a blur).
    photons : float
        Expected photon count at intensity 1 (> 0): the dose. Fewer photons, more noise.
    seed : int, optional
        Seed of the random generator.
    counts : bool, optional
        Return the raw counts ``k ~ Poisson(photons · x)`` instead of ``k / photons``.

    Returns
    -------
    ndarray
        ``k / photons`` (same scale as ``x``), or the integer-valued counts as float64.

    Notes
    -----
    The relative noise level of a pixel of intensity ``x`` is ``1 / sqrt(photons · x)``:
    the signal-to-noise ratio grows as the square root of the dose.
    """
    x = as_array(x, "x", allow_complex=False, dtype=np.float64)
    if np.any(x < 0):
        raise ValueError(f"x must be non-negative for Poisson noise, got min {x.min():.3g}")
    photons = check_scalar(photons, "photons", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    if not isinstance(counts, bool):
        raise TypeError(f"counts must be a bool, got {type(counts).__name__}")
    rng = np.random.default_rng(seed)
    k = rng.poisson(photons * x).astype(np.float64)
    return k if counts else k / photons


def signal_1d(n: int = 256, kind: str = "piecewise") -> np.ndarray:
    """A deterministic 1-D test signal on [0, 1) with values in [0, 1].

    Parameters
    ----------
    n : int, optional
        Number of samples (>= 8).
    kind : {"piecewise", "smooth", "blocks"}, optional
        ``"piecewise"``: a piecewise-smooth signal (a ramp, a jump, a Gaussian bump and an
        oscillating patch), the usual example for the SVD and Picard plots;
        ``"smooth"``: a sum of two Gaussian bumps; ``"blocks"``: piecewise constant.

    Returns
    -------
    ndarray of shape (n,)
        float64 samples at ``t = k / n``.
    """
    n = check_int(n, "n", low=8)
    kind = check_choice(kind, "kind", SIGNAL_KINDS)
    t = np.arange(n) / n
    if kind == "smooth":
        x = 0.8 * np.exp(-((t - 0.3) / 0.08) ** 2) + 0.5 * np.exp(-((t - 0.7) / 0.12) ** 2)
    elif kind == "blocks":
        x = np.select([t < 0.15, t < 0.35, t < 0.5, t < 0.7, t < 0.85],
                      [0.1, 0.7, 0.3, 0.9, 0.5], default=0.2)
    else:
        x = np.where(t < 0.25, 0.1 + 1.6 * t, 0.0)
        x = x + np.where((t >= 0.25) & (t < 0.45), 0.8, 0.0)
        x = x + 0.7 * np.exp(-((t - 0.6) / 0.04) ** 2)
        x = x + np.where(t >= 0.75, 0.3 + 0.15 * np.sin(2 * np.pi * 12 * t), 0.0)
    return np.clip(x, 0.0, 1.0).astype(np.float64)
