"""Undersampled MRI reconstruction: test images, compressed sensing, learned reconstructions."""
from __future__ import annotations

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape
from .operators.base import LinearOperator

__all__ = [
    "HELDOUT_IMAGES", "METHODS", "CS_METHODS", "LEARNED_METHODS", "METHOD_LABELS",
    "DEFAULT_LAM", "LAM_PER_SIGMA", "ARTEFACTS",
    "load_mri_slice", "smooth_phase", "with_phase", "test_image", "default_center_fraction",
    "default_lam", "measure", "acquire", "sampling", "quality", "PeriodicGradient",
    "cs_objective", "cs_wavelet", "cs_tv", "cs_nufft", "load_mri_net", "learned_reconstruct",
    "reconstruct", "pattern_gallery", "plot_gallery", "off_resonance_images",
    "comparison_table",
]

#: Images never used to train the MRI networks (benchmarks and notebook 07 only).
HELDOUT_IMAGES: tuple[str, ...] = ("shepp_logan", "mri_slice")


def load_mri_slice(size: int | None = None) -> np.ndarray:
    """The MRI head slice that ships with matplotlib (``s1045.ima.gz``), in [0, 1].

    Parameters
    ----------
    size : int, optional
        Resize (anti-aliased) to ``(size, size)``; default the original 256 × 256.

    Returns
    -------
    x : ndarray of shape (256, 256) or (size, size), float64
        Magnitude image divided by its maximum.

    Notes
    -----
    The file is read from matplotlib's own sample data (no download): 256 × 256
    big-endian ``uint16``, as in matplotlib's "MRI with EEG" example.
    """
    import gzip

    import matplotlib.cbook as cbook

    with cbook.get_sample_data("s1045.ima.gz") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":               # some matplotlib versions return the gz bytes
        raw = gzip.decompress(raw)
    img = np.frombuffer(raw, dtype=">u2").reshape(256, 256).astype(np.float64)
    img /= img.max()
    if size is not None:
        size = check_int(size, "size", low=8, high=1024)
        if size != 256:
            from skimage.transform import resize
            img = np.clip(resize(img, (size, size), order=1, anti_aliasing=size < 256),
                          0.0, 1.0)
    return img


def smooth_phase(shape, max_phase: float = np.pi / 2, seed: int | None = None) -> np.ndarray:
    """A slowly varying phase map, as field inhomogeneity and coil sensitivities give.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    max_phase : float
        Largest absolute phase in radians, in [0, π].
    seed : int, optional
        ``None``: the fixed phase of :func:`course_utils.mri.complex_phantom`. An int: a
        random polynomial of degree 2 in the row and column coordinates.

    Returns
    -------
    phase : ndarray of shape (M, N), float64
        Zero mean, ``max |phase| = max_phase`` (unless the polynomial is constant).
    """
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    max_phase = check_scalar(max_phase, "max_phase", low=0.0, high=np.pi)
    rows = np.linspace(-1.0, 1.0, shape[0])[:, None]
    cols = np.linspace(-1.0, 1.0, shape[1])[None, :]
    if seed is None:
        coef = np.array([0.3, 0.6, 0.5, -0.4, -0.4])
    else:
        coef = np.random.default_rng(check_int(seed, "seed", low=0)).uniform(-1, 1, 5)
    phase = (coef[0] * rows + coef[1] * cols + coef[2] * rows * cols + coef[3] * rows ** 2
             + coef[4] * cols ** 2)
    phase = phase - phase.mean()
    peak = np.abs(phase).max()
    return max_phase * phase / peak if peak > 0 else phase


def with_phase(x, max_phase: float = np.pi / 2, seed: int | None = None) -> np.ndarray:
    """A complex MR image ``|x| e^{i φ}`` from a real magnitude image and :func:`smooth_phase`.

    Parameters
    ----------
    x : ndarray of shape (M, N), real, non-negative
        Magnitude.
    max_phase, seed
        See :func:`smooth_phase`.

    Returns
    -------
    ndarray of shape (M, N), complex128
    """
    x = as_array(x, "x", ndim=2, allow_complex=False, dtype=np.float64)
    if x.min() < 0:
        raise ValueError(f"x must be a non-negative magnitude image, got min {x.min():.3g}")
    return x * np.exp(1j * smooth_phase(x.shape, max_phase, seed))


# ----------------------------------------------------------------------------------------------
# Measurements, quality and the default parameters
# ----------------------------------------------------------------------------------------------
#: Every reconstruction of :func:`reconstruct`, in teaching order.
METHODS: tuple[str, ...] = ("zero_filled", "cs_wavelet", "cs_tv", "kspace", "unet", "unrolled")
#: Compressed-sensing methods (a convex problem solved iteratively).
CS_METHODS: tuple[str, ...] = ("cs_wavelet", "cs_tv")
#: The three learned routes of the lecture (shipped weights, Cartesian masks only).
LEARNED_METHODS: tuple[str, ...] = ("kspace", "unet", "unrolled")
#: Readable names of the methods, for tables and figure titles.
METHOD_LABELS: dict[str, str] = {
    "zero_filled": "zero-filled", "cs_wavelet": "CS wavelet-ℓ1", "cs_tv": "CS TV",
    "kspace": "k-space CNN", "unet": "image U-Net", "unrolled": "unrolled + DC",
}
#: ``lam`` of the CS methods on noise-free data (images in [0, 1]); see :func:`default_lam`.
DEFAULT_LAM: dict[str, float] = {"cs_wavelet": 3e-3, "cs_tv": 3e-4}
#: Growth of the default ``lam`` with the noise level: ``lam = DEFAULT_LAM + slope · sigma``.
LAM_PER_SIGMA: dict[str, float] = {"cs_wavelet": 0.2, "cs_tv": 0.3}


def default_center_fraction(acceleration: float) -> float:
    """Fully sampled centre used with an acceleration ``R``: ``0.32 / R`` (at most 1).

    This is fastMRI's choice at 4× (8 %) and 8× (4 %), extended to any ``R >= 1``.
    """
    acceleration = check_scalar(acceleration, "acceleration", low=1.0)
    return min(0.32 / acceleration, 1.0)


def default_lam(method: str, sigma: float = 0.0) -> float:
    """Regularisation weight of a CS method for k-space noise ``sigma``.

    Parameters
    ----------
    method : {"cs_wavelet", "cs_tv"}
    sigma : float
        Noise standard deviation (>= 0) on the scale of images in [0, 1].

    Returns
    -------
    float
        ``DEFAULT_LAM[method] + LAM_PER_SIGMA[method] · sigma``.

    Notes
    -----
    The constants were chosen on random-ellipse phantoms and the ``camera`` image (the
    training images of the networks), never on the held-out images of the benchmark.
    """
    check_choice(method, "method", CS_METHODS)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    return DEFAULT_LAM[method] + LAM_PER_SIGMA[method] * sigma


def test_image(name: str, size: int = 96) -> np.ndarray:
    """A held-out complex test image of notebook 07 and the benchmark.

    Parameters
    ----------
    name : {"shepp_logan", "mri_slice"}
        The Shepp–Logan phantom (:func:`course_utils.mri.complex_phantom`) or the MRI
        slice of :func:`load_mri_slice`, both with the smooth phase of
        :func:`smooth_phase` (``seed=None``, amplitude π/2).
    size : int
        Side of the square image.

    Returns
    -------
    x : ndarray of shape (size, size), complex128
        ``|x|`` in [0, 1].
    """
    check_choice(name, "name", HELDOUT_IMAGES)
    size = check_int(size, "size", low=8, high=1024)
    if name == "shepp_logan":
        from .mri import complex_phantom
        return complex_phantom((size, size))
    return with_phase(load_mri_slice(size))


def _check_mask(mask, name="mask", shape=None):
    from .mri import _check_mask as check
    if isinstance(mask, np.ndarray) and np.iscomplexobj(mask):
        raise TypeError(f"{name} must be real-valued (0/1), got complex dtype {mask.dtype}")
    return check(mask, name, shape)


def _check_kspace(y, name="y", shape=None, ndim=2):
    y = as_array(y, name, ndim=ndim, shape=shape)
    if not np.iscomplexobj(y):
        raise TypeError(f"{name} must be complex-valued k-space, got real dtype {y.dtype}; "
                        f"pass y.astype(complex) if it really is real")
    return y.astype(np.complex128, copy=False)


def measure(x, mask, sigma: float = 0.0, seed: int = 0) -> np.ndarray:
    """Undersampled, noisy Cartesian k-space ``y = m ⊙ (F x + n)``.

    Parameters
    ----------
    x : ndarray of shape (M, N), complex
        The image (complex: an MR image has a phase). A real array raises ``TypeError``.
    mask : ndarray of shape (M, N)
        0/1 sampling mask (real).
    sigma : float
        Standard deviation of the circular complex Gaussian noise (>= 0).
    seed : int
        Noise seed.

    Returns
    -------
    y : ndarray of shape (M, N), complex
        Zero where ``mask`` is 0.
    """
    from .mri import _fft2c, add_kspace_noise

    x = as_array(x, "x", ndim=2, require_complex=True)
    mask = _check_mask(mask, "mask", x.shape)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", low=0)
    y = _fft2c(x) * mask
    if sigma > 0:
        y = add_kspace_noise(y, sigma, seed, mask=mask)
    return y


def quality(x, x_hat) -> dict:
    """PSNR and SSIM of the magnitude ``|x_hat|`` against ``|x|`` (data range 1).

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Reference (complex or real), ``|x|`` in [0, 1].
    x_hat : ndarray of shape (M, N)
        Estimate (complex or real).

    Returns
    -------
    dict
        ``{"psnr": float (dB), "ssim": float}``. Magnitudes are compared because the
        picture a radiologist reads is ``|x|``; the phase is not scored.
    """
    from .metrics import psnr, ssim

    x = np.abs(as_array(x, "x", ndim=2))
    x_hat = np.abs(as_array(x_hat, "x_hat", ndim=2, shape=x.shape))
    return {"psnr": float(psnr(x, x_hat)), "ssim": float(ssim(x, x_hat))}


# ----------------------------------------------------------------------------------------------
# Compressed sensing on Cartesian masks
# ----------------------------------------------------------------------------------------------
class PeriodicGradient(LinearOperator):
    """Forward differences with periodic boundary, ``D : (M, N) → (2, M, N)``.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(M, N)``.

    Notes
    -----
    ``(Dx)[0, i, j] = x[i+1, j] − x[i, j]`` and ``(Dx)[1, i, j] = x[i, j+1] − x[i, j]``,
    indices modulo ``M`` and ``N``. Both are circular convolutions, so ``DᴴD`` is
    diagonalised by the (centred) Fourier transform with eigenvalues
    ``4 sin²(π k₁/M) + 4 sin²(π k₂/N)`` (:meth:`gram_eigenvalues`): this is what makes the
    data step of :func:`cs_tv` exact for a Cartesian mask. Real and complex input.
    """

    def __init__(self, shape):
        shape = check_shape(shape, "shape")
        if len(shape) != 2:
            raise ValueError(f"shape must be (M, N), got {shape}")
        super().__init__(shape, (2, *shape), name="periodic_gradient")

    def _forward(self, x):
        return _pgrad(x)

    def _adjoint(self, y):
        return _pgrad_adj(y)

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``√(max eigenvalue of DᴴD)``, in closed form (the arguments are checked and
        unused)."""
        check_int(num_iters, "num_iters", low=1)
        check_scalar(tol, "tol", low=0.0)
        return float(np.sqrt(self.gram_eigenvalues().max()))

    def gram_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``DᴴD`` on the centred k-space grid, shape (M, N)."""
        return _dtd_eigenvalues(self.in_shape)


def _pgrad(x):
    return np.stack([np.roll(x, -1, axis=0) - x, np.roll(x, -1, axis=1) - x])


def _pgrad_adj(p):
    return (np.roll(p[0], 1, axis=0) - p[0]) + (np.roll(p[1], 1, axis=1) - p[1])


def _pgrad_into(x, g):
    """``g = D x`` (periodic forward differences) without temporary rolled copies."""
    np.subtract(x[1:], x[:-1], out=g[0, :-1])
    np.subtract(x[:1], x[-1:], out=g[0, -1:])
    np.subtract(x[:, 1:], x[:, :-1], out=g[1, :, :-1])
    np.subtract(x[:, :1], x[:, -1:], out=g[1, :, -1:])


def _pgrad_adj_into(p, out):
    """``out = Dᴴ p`` for periodic forward differences."""
    np.negative(p[0], out=out)
    out[1:] += p[0, :-1]
    out[:1] += p[0, -1:]
    out -= p[1]
    out[:, 1:] += p[1, :, :-1]
    out[:, :1] += p[1, :, -1:]


def _dtd_eigenvalues(shape):
    M, N = shape
    k1 = np.arange(M) - M // 2
    k2 = np.arange(N) - N // 2
    return (4.0 * np.sin(np.pi * k1 / M) ** 2)[:, None] + (4.0 * np.sin(np.pi * k2 / N)
                                                         ** 2)[None, :]


def _check_cs_args(y, mask, lam, method, num_iters):
    mask = _check_mask(mask, "mask")
    y = _check_kspace(y, "y", shape=mask.shape)
    lam = default_lam(method) if lam is None else check_scalar(lam, "lam", low=0.0)
    num_iters = check_int(num_iters, "num_iters", low=1)
    return y * mask, mask, lam, num_iters


def _tv_value(x, lam):
    g = _pgrad(x)
    return lam * float(np.sqrt(np.abs(g[0]) ** 2 + np.abs(g[1]) ** 2).sum())


def cs_objective(x, y, mask, lam: float, method: str) -> float:
    """The CS objective ``½‖m ⊙ F x − y‖² + lam R(x)`` of :func:`cs_wavelet` (``R`` the
    ℓ1 norm of the Haar detail coefficients) or :func:`cs_tv` (periodic isotropic TV).

    Parameters
    ----------
    x : ndarray of shape (M, N), complex
    y : ndarray of shape (M, N), complex
    mask : ndarray of shape (M, N)
    lam : float
    method : {"cs_wavelet", "cs_tv"}

    Returns
    -------
    float
    """
    from .mri import _fft2c
    from .priors import WaveletL1

    check_choice(method, "method", CS_METHODS)
    mask = _check_mask(mask, "mask")
    y = _check_kspace(y, "y", shape=mask.shape)
    x = as_array(x, "x", ndim=2, shape=mask.shape, require_complex=True)
    lam = check_scalar(lam, "lam", low=0.0)
    data = 0.5 * float(np.sum(np.abs(mask * (_fft2c(x) - y)) ** 2))
    if method == "cs_tv":
        return data + _tv_value(x, lam)
    return data + WaveletL1(lam, "haar").value(x)


def cs_wavelet(y, mask, lam: float | None = None, *, num_iters: int = 60,
               wavelet: str = "haar", level: int | None = None, cycle_spin: bool = True,
               seed: int = 0, x0=None, callback=None) -> np.ndarray:
    """Compressed sensing with a wavelet-ℓ1 prior, solved by FISTA on the masked FFT.

    Parameters
    ----------
    y : ndarray of shape (M, N), complex
        Measured k-space (entries outside ``mask`` are ignored).
    mask : ndarray of shape (M, N)
        0/1 Cartesian sampling mask.
    lam : float, optional
        Weight ``>= 0`` (default :func:`default_lam`).
    num_iters : int
        FISTA iterations.
    wavelet : str
        Orthogonal PyWavelets wavelet (Haar by default: piecewise-constant anatomy).
    level : int, optional
        Decomposition levels (default the largest the shape allows).
    cycle_spin : bool
        Shift the image by a random (seeded) offset before each proximal step and back
        after it (see Notes). ``False`` gives plain FISTA on the objective below.
    seed : int
        Seed of the shifts.
    x0 : ndarray of shape (M, N), complex, optional
        Starting point (default the zero-filled image ``F^H y``).
    callback : callable, optional
        ``callback(k, x)`` after iteration ``k`` (1-based).

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex

    Notes
    -----
    .. math:: \\hat x = \\arg\\min_x \\tfrac12 \\|m \\odot F x - y\\|_2^2
              + \\lambda \\|\\Psi x\\|_1

    with ``Ψ`` the orthonormal wavelet transform (detail coefficients only; complex
    coefficients are shrunk in modulus, keeping their phase). With ``A = m ⊙ F``,
    ``‖A‖ = 1`` so the FISTA step is ``τ = 1``:
    ``x_k = prox_{λ‖Ψ·‖₁}(z_k + F^H(m ⊙ (y − F z_k)))`` — a gradient step that puts the
    measured samples back, then a soft threshold (Lustig et al.'s "iterative
    thresholding with data consistency"). This is the iteration of
    :class:`course_utils.solvers.FISTA` with :class:`course_utils.priors.WaveletL1`,
    written out so that it costs two FFTs and one wavelet transform pair per step.

    A decimated wavelet transform is not shift invariant: thresholding it leaves blocky
    artefacts. Cycle spinning (Coifman & Donoho 1995) thresholds a randomly shifted copy
    at every iteration, which on average penalises all shifts (a translation-invariant
    wavelet prior); the iteration then no longer minimises one fixed objective, but it
    gains several dB on the test images of notebook 07.

    References
    ----------
    .. [1] M. Lustig, D. Donoho and J. M. Pauly, "Sparse MRI: the application of
       compressed sensing for rapid MR imaging", Magn. Reson. Med. 58(6), 1182–1195, 2007.
    .. [2] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm
       for linear inverse problems", SIAM J. Imaging Sci. 2(1), 183–202, 2009.
    .. [3] R. R. Coifman and D. L. Donoho, "Translation-invariant de-noising", in
       Wavelets and Statistics, Springer, 125–150, 1995.
    """
    from .mri import _fft2c, _ifft2c
    from .priors import WaveletL1

    y, mask, lam, num_iters = _check_cs_args(y, mask, lam, "cs_wavelet", num_iters)
    if not isinstance(cycle_spin, (bool, np.bool_)):
        raise TypeError(f"cycle_spin must be a bool, got {type(cycle_spin).__name__}")
    seed = check_int(seed, "seed", low=0)
    prior = WaveletL1(lam, wavelet, level)
    op = prior.transform(y.shape)
    span = 2 ** op.level
    rng = np.random.default_rng(seed)
    x = _ifft2c(y) if x0 is None else as_array(x0, "x0", shape=y.shape,
                                                require_complex=True).astype(np.complex128)
    z, t = x, 1.0
    for k in range(1, num_iters + 1):
        v = z + _ifft2c(mask * (y - _fft2c(z)))
        if lam == 0.0:
            x_new = v
        elif cycle_spin:
            s = (int(rng.integers(span)), int(rng.integers(span)))
            x_new = np.roll(prior.prox(np.roll(v, s, axis=(0, 1)), 1.0),
                            (-s[0], -s[1]), axis=(0, 1))
        else:
            x_new = prior.prox(v, 1.0)
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        z = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
        if callback is not None:
            callback(k, x)
    return x


def cs_tv(y, mask, lam: float | None = None, *, num_iters: int = 60,
          beta: float | None = None, solver: str = "admm", x0=None,
          callback=None) -> np.ndarray:
    """Compressed sensing with total variation, exact data step in k-space.

    Parameters
    ----------
    y : ndarray of shape (M, N), complex
        Measured k-space (entries outside ``mask`` are ignored).
    mask : ndarray of shape (M, N)
        0/1 Cartesian sampling mask.
    lam : float, optional
        TV weight ``>= 0`` (default :func:`default_lam`).
    num_iters : int
        Iterations.
    beta : float, optional
        ADMM penalty (default ``10 lam``, at least 1e-4).
    solver : {"admm", "pdhg"}
        ``"admm"``: split Bregman / ADMM with the splitting ``d = D x`` (fast: the data
        step is one division in k-space). ``"pdhg"``: the library's
        :func:`course_utils.solvers.make_tv_pdhg` with ``K = [m ⊙ F; D]`` (slower; same
        minimiser).
    x0 : ndarray of shape (M, N), complex, optional
        Starting point of ``"admm"`` (default the zero-filled image).
    callback : callable, optional
        ``callback(k, x)`` after iteration ``k`` (1-based).

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex

    Notes
    -----
    .. math:: \\hat x = \\arg\\min_x \\tfrac12 \\|m \\odot F x - y\\|_2^2
              + \\lambda \\sum_{ij} |(D x)_{ij}|

    with ``D`` the periodic forward differences (:class:`PeriodicGradient`) and
    ``|(Dx)_ij|`` the modulus of the complex 2-vector (isotropic TV). ADMM on
    ``d = D x`` with scaled dual ``b``:

    .. math::
        x &\\leftarrow F^H \\frac{m \\odot y + \\beta\\, F D^H (d - b)}{m + \\beta\\, |\\hat D|^2},
        \\\\
        d &\\leftarrow \\mathrm{shrink}(D x + b,\\ \\lambda / \\beta), \\qquad
        b \\leftarrow b + D x - d,

    where ``|D̂|²`` are the eigenvalues of ``DᴴD`` (both ``FᴴmF`` and ``DᴴD`` are
    diagonal in k-space) and ``shrink`` is the vector soft threshold. A k-space sample
    that is neither measured nor constrained by ``D`` (the zero frequency when the mask
    misses it) is set to zero.

    References
    ----------
    .. [1] T. Goldstein and S. Osher, "The split Bregman method for L1-regularized
       problems", SIAM J. Imaging Sci. 2(2), 323–343, 2009.
    .. [2] M. Lustig, D. Donoho and J. M. Pauly, "Sparse MRI", Magn. Reson. Med. 58(6),
       1182–1195, 2007.
    .. [3] A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex
       problems with applications to imaging", J. Math. Imaging Vis. 40(1), 2011.
    """
    from .mri import _fft2c, _ifft2c

    y, mask, lam, num_iters = _check_cs_args(y, mask, lam, "cs_tv", num_iters)
    check_choice(solver, "solver", ("admm", "pdhg"))
    beta = max(10.0 * lam, 1e-4) if beta is None else check_scalar(beta, "beta", low=0.0,
                                                                   low_inclusive=False)
    if solver == "pdhg":
        from .operators.mri import CartesianMRI
        from .solvers import make_tv_pdhg

        pd = make_tv_pdhg(CartesianMRI(mask), y, lam, D=PeriodicGradient(y.shape), x0=x0)
        for k in range(1, num_iters + 1):
            x = pd.step()
            if callback is not None:
                callback(k, x)
        return pd.x.copy()
    x = _ifft2c(y) if x0 is None else as_array(x0, "x0", shape=y.shape,
                                                require_complex=True).astype(np.complex128)
    if lam == 0.0:
        return x
    # Periodic TV is invariant under circular shifts, so the iteration runs on the
    # image shifted by ifftshift with the plain (uncentred) orthonormal FFT: the same
    # iterates, without two array shifts per transform.
    from scipy.fft import fft2 as fft, ifft2 as ifft

    sh, unsh = np.fft.ifftshift, np.fft.fftshift
    denom = sh(mask + beta * _dtd_eigenvalues(y.shape))
    free = denom == 0
    denom = np.where(free, 1.0, denom)
    ys = sh(y)
    xs = sh(x)
    d = np.empty((2, *x.shape), dtype=np.complex128)
    _pgrad_into(xs, d)
    b = np.zeros_like(d)
    g = np.empty_like(d)
    u = np.empty(x.shape, dtype=np.complex128)
    thresh = lam / beta
    for k in range(1, num_iters + 1):
        np.subtract(d, b, out=g)
        _pgrad_adj_into(g, u)
        k_new = (ys + beta * fft(u, norm="ortho")) / denom
        k_new[free] = 0.0
        xs = ifft(k_new, norm="ortho")
        _pgrad_into(xs, g)
        g += b
        mag = np.sqrt(g[0].real ** 2 + g[0].imag ** 2 + g[1].real ** 2 + g[1].imag ** 2)
        np.multiply(g, np.maximum(1.0 - thresh / np.maximum(mag, 1e-300), 0.0), out=d)
        np.subtract(g, d, out=b)
        if callback is not None:
            callback(k, unsh(xs))
    return unsh(xs)


# ----------------------------------------------------------------------------------------------
# Radial and spiral: density-weighted least squares with the NUFFT
# ----------------------------------------------------------------------------------------------
def sampling(pattern: str, shape=(96, 96), acceleration: float = 4.0,
             center_fraction: float | None = None, seed: int = 0, *, eps: float = 1e-7):
    """The acquisition of a pattern: a Cartesian mask, or a NUFFT operator.

    Parameters
    ----------
    pattern : str
        One of :data:`course_utils.mri.PATTERNS`.
    shape : tuple of int
        Image shape ``(M, N)``.
    acceleration : float
        ``R >= 1``.
    center_fraction : float, optional
        In (0, 1]; default :func:`default_center_fraction`.
    seed : int
        Seed of the variable-density mask.
    eps : float
        NUFFT accuracy of the radial and spiral operators.

    Returns
    -------
    ndarray of shape (M, N), bool, or NonCartesianMRI
        The mask of :func:`course_utils.mri.sampling_mask` for a Cartesian pattern; for
        ``"radial"`` and ``"spiral"`` a :class:`~course_utils.operators.NonCartesianMRI`
        on the true trajectory of :func:`course_utils.mri.trajectory`.
    """
    from .mri import CARTESIAN_PATTERNS, PATTERNS, sampling_mask, trajectory
    from .operators.mri import NonCartesianMRI

    check_choice(pattern, "pattern", PATTERNS)
    acceleration = check_scalar(acceleration, "acceleration", low=1.0)
    if center_fraction is None:
        center_fraction = default_center_fraction(acceleration)
    if pattern in CARTESIAN_PATTERNS:
        return sampling_mask(pattern, shape, acceleration, center_fraction, seed)
    traj = trajectory(pattern, shape, acceleration, center_fraction, seed)
    return NonCartesianMRI(traj, shape, eps=eps)


def _is_nufft(obj) -> bool:
    from .operators.mri import NonCartesianMRI
    return isinstance(obj, NonCartesianMRI)


def _wls_norm(op, weights) -> float:
    """``‖W^{1/2} A‖²`` by a seeded power iteration, 2 % margin (cached on the operator)."""
    cache = op.__dict__.setdefault("_course_wls_norm", {})
    key = id(weights)
    if key not in cache:
        rng = np.random.default_rng(0)
        v = rng.standard_normal(op.in_shape) + 1j * rng.standard_normal(op.in_shape)
        value = 1.0
        for _ in range(15):
            v = v / np.linalg.norm(v)
            w = op._adjoint(weights * op._forward(v))
            value = float(np.real(np.vdot(v, w)))
            v = w
        cache[key] = 1.02 * value     # power iteration approaches the norm from below
    return cache[key]


def cs_nufft(y, op, method: str = "cs_tv", lam: float | None = None, *,
             num_iters: int = 40, weights=None, seed: int = 0) -> np.ndarray:
    """Compressed sensing for radial or spiral data: FISTA on density-weighted least
    squares with the NUFFT.

    Parameters
    ----------
    y : ndarray of shape (K,), complex
        Non-Cartesian samples ``A x + n``.
    op : NonCartesianMRI
        The NUFFT ``A`` of the trajectory (:func:`sampling`).
    method : {"cs_wavelet", "cs_tv"}
        Prior: Haar wavelet-ℓ1 (cycle-spun, as :func:`cs_wavelet`) or isotropic TV
        (its proximal map by :class:`course_utils.priors.TV`, warm-started).
    lam : float, optional
        Weight (default :func:`default_lam`).
    num_iters : int
        FISTA iterations.
    weights : ndarray of shape (K,), optional
        Density compensation ``w`` (default Pipe–Menon, ``op.density_compensation()``).
    seed : int
        Seed of the wavelet shifts.

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex

    Notes
    -----
    .. math:: \\hat x = \\arg\\min_x \\tfrac12 \\|W^{1/2}(A x - y)\\|_2^2 + \\lambda R(x)

    Weighting by the density compensation ``W`` makes ``AᴴWA ≈ I`` (the gridding
    reconstruction ``AᴴWy`` is its first step), so FISTA converges in tens of
    iterations instead of hundreds: the classic preconditioner of non-Cartesian
    iterative reconstruction. It weights the data unequally, which changes the noise
    model slightly; the step is ``1/‖W^{1/2}A‖²`` (power iteration, cached).

    References
    ----------
    .. [1] J. G. Pipe and P. Menon, "Sampling density compensation in MRI", Magn. Reson.
       Med. 41(1), 179–186, 1999.
    .. [2] J. A. Fessler, "Model-based image reconstruction for MRI", IEEE Signal
       Process. Mag. 27(4), 81–89, 2010.
    """
    from .priors import TV, WaveletL1

    if not _is_nufft(op):
        raise TypeError(f"op must be a NonCartesianMRI operator, got {type(op).__name__}")
    check_choice(method, "method", CS_METHODS)
    y = _check_kspace(y, "y", shape=op.out_shape, ndim=1)
    lam = default_lam(method) if lam is None else check_scalar(lam, "lam", low=0.0)
    num_iters = check_int(num_iters, "num_iters", low=1)
    seed = check_int(seed, "seed", low=0)
    if weights is None:
        weights = op.density_compensation()
    else:
        weights = as_array(weights, "weights", shape=op.out_shape, allow_complex=False)
        if weights.min() < 0:
            raise ValueError("weights must be non-negative")
    tau = 1.0 / _wls_norm(op, weights)
    wy = weights * y
    rng = np.random.default_rng(seed)
    if method == "cs_wavelet":
        prior = WaveletL1(lam, "haar")
        span = 2 ** prior.transform(op.in_shape).level
    else:
        prior = TV(lam, num_iters=20, tol=1e-3)
        p = None
    x = op._adjoint(wy)
    z, t = x, 1.0
    for _ in range(num_iters):
        v = z - tau * op._adjoint(weights * op._forward(z) - wy)
        if lam == 0.0:
            x_new = v
        elif method == "cs_wavelet":
            s = (int(rng.integers(span)), int(rng.integers(span)))
            x_new = np.roll(prior.prox(np.roll(v, s, axis=(0, 1)), tau),
                            (-s[0], -s[1]), axis=(0, 1))
        else:
            res = prior.prox_with_dual(v, tau, p0=p)
            x_new, p = res.x_hat, res.p
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        z = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return x


# ----------------------------------------------------------------------------------------------
# Learned reconstructions (torch, shipped weights, loaded on first use)
# ----------------------------------------------------------------------------------------------
_NET_CACHE: dict = {}


def load_mri_net(name: str):
    """The shipped network ``name`` with its weights, in evaluation mode (cached).

    Parameters
    ----------
    name : {"kspace", "unet", "unrolled"}

    Returns
    -------
    torch.nn.Module
        Loaded from ``course_utils/weights/mri_<name>.pt`` after its SHA-256 check
        (:func:`course_utils.weights.load_state_dict`).
    """
    check_choice(name, "name", LEARNED_METHODS)
    if name not in _NET_CACHE:
        from . import weights
        from .nets.mri import build_mri_net

        model = build_mri_net(name)
        model.load_state_dict(weights.load_state_dict(f"mri_{name}"))
        model.eval()
        _NET_CACHE[name] = model
    return _NET_CACHE[name]


def learned_reconstruct(y, mask, name: str, *, project: bool = True) -> np.ndarray:
    r"""Reconstruct with one of the three shipped networks.

    Parameters
    ----------
    y : ndarray of shape (M, N), complex
        Measured Cartesian k-space (entries outside ``mask`` are ignored).
    mask : ndarray of shape (M, N)
        0/1 mask (the networks were trained on variable-density and regular masks at
        4× and 8×).
    name : {"kspace", "unet", "unrolled"}
        k-space interpolation (:class:`~course_utils.nets.mri.KSpaceCNN`), image-space
        de-aliasing (:class:`~course_utils.nets.mri.DealiasUNet`, then data consistency)
        or the unrolled network
        with data consistency (:class:`~course_utils.nets.mri.UnrolledDC`).
    project : bool
        Project the U-Net's output onto the measurements (default). ``False`` returns
        the bare network's image, to see what the projection adds; the other two
        networks end with data consistency whatever ``project`` is.

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex128

    Notes
    -----
    The k-space CNN and the unrolled network end with a data-consistency step. The U-Net
    does not (it was trained on the image alone), so its output ``z`` is projected onto
    the measurements afterwards, the measured samples replacing the predicted ones:

    .. math:: \hat x = F^H\big((1 - m) \odot F z + m \odot y\big),

    the minimiser of ``‖x − z‖²`` subject to ``m ⊙ F x = y`` (``F`` is orthonormal). On
    noise-free data this only removes error: on the held-out MRI slice it adds 0.6 to 2.6 dB
    (``benchmarks/bench_mri_recon.py``).

    Runs on the CPU with one torch thread (restored afterwards): for a single small image
    that is faster than several threads, and a fixed thread count keeps the floating-point
    summation order, hence the result, the same from run to run.
    """
    check_choice(name, "name", LEARNED_METHODS)
    if not isinstance(project, (bool, np.bool_)):
        raise TypeError(f"project must be True or False, got {type(project).__name__}")
    mask = _check_mask(mask, "mask")
    y = _check_kspace(y, "y", shape=mask.shape) * mask
    model = load_mri_net(name)
    stride = getattr(model, "stride", 1)
    if y.shape[0] % stride or y.shape[1] % stride:
        raise ValueError(f"y must have sides that are multiples of {stride} for the "
                         f"{name!r} network, got {y.shape}")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # one image: threads cost more than they gain
    try:
        with torch.no_grad():
            yt = torch.from_numpy(y.astype(np.complex64))[None]
            mt = torch.from_numpy(mask.astype(np.float32))
            out = model(yt, mt)
            if name == "unet" and project:
                from .nets.mri import data_consistency, fft2c_t, ifft2c_t

                out = ifft2c_t(data_consistency(fft2c_t(out), yt, mt))
            out = out[0].numpy()
    finally:
        torch.set_num_threads(threads)
    return out.astype(np.complex128)


# ----------------------------------------------------------------------------------------------
# One entry point
# ----------------------------------------------------------------------------------------------
def reconstruct(y, mask, method: str = "cs_tv", **options) -> np.ndarray:
    """Reconstruct an image from undersampled k-space by any method of :data:`METHODS`.

    Parameters
    ----------
    y : ndarray, complex
        Measurements: Cartesian k-space (M, N) or non-Cartesian samples (K,).
    mask : ndarray of shape (M, N) or NonCartesianMRI
        The acquisition, as returned by :func:`sampling`: a 0/1 Cartesian mask, or the
        NUFFT operator of a radial/spiral trajectory.
    method : str
        ``"zero_filled"`` (``F^H y``; for radial/spiral the density-compensated gridding
        reconstruction), ``"cs_wavelet"``, ``"cs_tv"`` (:func:`cs_wavelet`,
        :func:`cs_tv`; :func:`cs_nufft` for radial/spiral), or a learned route
        ``"kspace"``, ``"unet"``, ``"unrolled"`` (:func:`learned_reconstruct`; Cartesian
        masks only).
    **options
        Passed to the method (``lam``, ``num_iters``...).

    Returns
    -------
    x_hat : ndarray of shape (M, N), complex

    Raises
    ------
    ValueError
        Unknown method, or a learned method with a non-Cartesian acquisition.
    TypeError
        Real ``y`` (k-space is complex) or a complex mask.
    """
    from .mri import _ifft2c

    check_choice(method, "method", METHODS)
    if _is_nufft(mask):
        if method in LEARNED_METHODS:
            raise ValueError(f"method {method!r} needs a Cartesian mask (the networks were "
                             f"trained on Cartesian masks); radial and spiral data support "
                             f"{('zero_filled',) + CS_METHODS}")
        if method == "zero_filled":
            if options:
                raise TypeError(f"zero_filled takes no options, got {sorted(options)}")
            y = _check_kspace(y, "y", shape=mask.out_shape, ndim=1)
            return mask.gridding_recon(y)
        return cs_nufft(y, mask, method, **options)
    if method == "zero_filled":
        if options:
            raise TypeError(f"zero_filled takes no options, got {sorted(options)}")
        m = _check_mask(mask, "mask")
        return _ifft2c(_check_kspace(y, "y", shape=m.shape) * m)
    if method == "cs_wavelet":
        return cs_wavelet(y, mask, **options)
    if method == "cs_tv":
        return cs_tv(y, mask, **options)
    if options:
        raise TypeError(f"learned methods take no options, got {sorted(options)}")
    return learned_reconstruct(y, mask, method)


def acquire(x, mask, sigma: float = 0.0, seed: int = 0) -> np.ndarray:
    """Measurements of ``x`` for any acquisition of :func:`sampling`, with noise.

    Parameters
    ----------
    x : ndarray of shape (M, N), complex
    mask : ndarray of shape (M, N) or NonCartesianMRI
    sigma : float
        Complex Gaussian noise standard deviation (>= 0).
    seed : int

    Returns
    -------
    y : ndarray, complex
        ``m ⊙ (F x + n)`` of shape (M, N), or ``A x + n`` of shape (K,).
    """
    if not _is_nufft(mask):
        return measure(x, mask, sigma, seed)
    from .mri import add_kspace_noise

    x = as_array(x, "x", ndim=2, shape=mask.in_shape, require_complex=True)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    y = mask(x)
    return add_kspace_noise(y, sigma, check_int(seed, "seed", low=0)) if sigma > 0 else y


# ----------------------------------------------------------------------------------------------
# The pattern gallery, the off-resonance demonstration and the comparison table
# ----------------------------------------------------------------------------------------------
#: The artefact each pattern leaves in the zero-filled (or gridding) image.
ARTEFACTS: dict[str, str] = {
    "low_frequency": "blur",
    "cartesian_regular": "coherent wrap-around (phase encode)",
    "variable_density": "incoherent noise-like aliasing",
    "radial": "streaks",
    "spiral": "swirling blur",
}


def pattern_gallery(x, acceleration: float = 4.0, center_fraction: float | None = None,
                    seed: int = 0) -> dict:
    """Mask, point-spread function and zero-filled image of every pattern.

    Parameters
    ----------
    x : ndarray of shape (M, N), complex
        Test image.
    acceleration : float
        ``R >= 1`` for every pattern.
    center_fraction : float, optional
        In (0, 1]; default :func:`default_center_fraction`.
    seed : int
        Seed of the variable-density mask.

    Returns
    -------
    dict
        ``{pattern: {"mask", "trajectory", "psf", "x_zf", "error", "artefact",
        "incoherence", "psnr", "ssim"}}`` (``error = |x_zf| − |x|``) in the order of
        :data:`course_utils.mri.PATTERNS`.
        ``trajectory`` is ``None`` for Cartesian patterns; for radial and spiral ``mask``
        is the trajectory rasterised to the grid, ``psf`` and ``x_zf`` use the NUFFT with
        Pipe–Menon density compensation.
    """
    from .mri import PATTERNS, _rasterise, incoherence, psf

    x = as_array(x, "x", ndim=2, require_complex=True)
    out = {}
    for pattern in PATTERNS:
        acq = sampling(pattern, x.shape, acceleration, center_fraction, seed)
        y = acquire(x, acq)
        x_zf = reconstruct(y, acq, "zero_filled")
        if _is_nufft(acq):
            traj, mask, p = acq.trajectory, _rasterise(acq.trajectory, x.shape), acq.psf()
        else:
            traj, mask, p = None, acq, psf(acq)
        out[pattern] = {"mask": mask, "trajectory": traj, "psf": p, "x_zf": x_zf,
                        "error": np.abs(x_zf) - np.abs(x), "artefact": ARTEFACTS[pattern],
                        "incoherence": incoherence(p), **quality(x, x_zf)}
    return out


def plot_gallery(gallery: dict, *, figsize=None):
    """One row per pattern: sampling, |PSF| in dB (image and phase-encode profile),
    zero-filled image and its error.

    Parameters
    ----------
    gallery : dict
        Output of :func:`pattern_gallery`.
    figsize : tuple, optional

    Returns
    -------
    fig : matplotlib Figure

    Notes
    -----
    The profile is the PSF's central column, along the phase-encode direction ``k_y``
    (image rows), where Cartesian undersampling spreads each point: replicas ``M/R``
    rows apart for a regular mask, a low noise-like floor for a random one, a wide main
    lobe for low-frequency sampling.
    """
    import matplotlib.pyplot as plt

    if not isinstance(gallery, dict) or not gallery:
        raise TypeError("gallery must be the dict returned by pattern_gallery")
    first = next(iter(gallery.values()))
    if not isinstance(first, dict) or "x_zf" not in first:
        raise TypeError("gallery must be the dict returned by pattern_gallery")
    n = len(gallery)
    fig, axes = plt.subplots(n, 5, figsize=figsize or (13, 2.6 * n), squeeze=False)
    for row, (pattern, g) in zip(axes, gallery.items()):
        M, N = g["mask"].shape
        if g["trajectory"] is None:
            row[0].imshow(g["mask"], cmap="gray", interpolation="nearest")
        else:
            t = g["trajectory"]
            step = max(1, t.shape[0] // 4000)
            row[0].plot(t[::step, 1], t[::step, 0], ".", ms=0.8, color="k")
            row[0].set_xlim(-np.pi, np.pi)
            row[0].set_ylim(np.pi, -np.pi)
            row[0].set_aspect("equal")
        row[0].set_title(pattern.replace("_", " "), fontsize=9)
        db = 20 * np.log10(np.maximum(np.abs(g["psf"]), 1e-5))
        row[1].imshow(db, cmap="magma", vmin=-40, vmax=0, interpolation="nearest")
        row[1].set_title(f"|PSF| (dB), side lobe {g['incoherence']:.2f}", fontsize=9)
        row[2].plot(np.arange(M) - M // 2, db[:, N // 2], color="tab:purple", lw=1)
        row[2].set_ylim(-45, 3)
        row[2].set_xlim(-(M // 2), M - M // 2 - 1)
        row[2].set_title("PSF along $k_y$ (dB)", fontsize=9)
        mag = np.abs(g["x_zf"])
        row[3].imshow(np.clip(mag, 0, 1), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
        row[3].set_title(g["artefact"], fontsize=9)
        row[3].set_xlabel(f"PSNR {g['psnr']:.2f} dB · SSIM {g['ssim']:.3f}", fontsize=8)
        row[4].imshow(g["error"], cmap="RdBu_r", vmin=-0.3, vmax=0.3,
                      interpolation="nearest")
        row[4].set_title("error |x̂| − |x| (±0.3)", fontsize=9)
        for j, ax in enumerate(row):
            if j != 2:
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def off_resonance_images(x, delta_fs=(0.0, 50.0, 150.0), *, pattern: str = "spiral",
                         acceleration: float = 1.0, dwell: float = 4e-6) -> dict:
    """Gridding reconstructions of data acquired with a frequency offset ``Δf``.

    Parameters
    ----------
    x : ndarray of shape (M, N), complex
        Test image.
    delta_fs : sequence of float
        Off-resonance frequencies in Hz.
    pattern : str
        Any pattern of :data:`course_utils.mri.PATTERNS`; Cartesian patterns read each
        line out along the columns (``k_x``), radial along each spoke, spiral along each
        arm.
    acceleration : float
        ``R >= 1``.
    dwell : float
        Time between readout samples in seconds.

    Returns
    -------
    dict
        ``{"readout_ms": float, "images": {Δf: x_hat}}`` with the readout duration of one
        line/spoke/arm in milliseconds.

    Notes
    -----
    Every sample is multiplied by ``exp(−2πi Δf t)`` (:func:`course_utils.mri.off_resonance`)
    and the image is reconstructed as if it were on resonance. On a Cartesian readout
    this is a linear phase along ``k_x``, a shift of ``Δf Δt N`` pixels; on a spiral the
    phase grows with ``|k|`` along each arm: a blur that grows with the readout length.
    """
    from .mri import CARTESIAN_PATTERNS, _fft2c, _ifft2c, off_resonance, trajectory

    x = as_array(x, "x", ndim=2, require_complex=True)
    dwell = check_scalar(dwell, "dwell", low=0.0, low_inclusive=False)
    deltas = [check_scalar(d, "delta_fs") for d in np.atleast_1d(delta_fs)]
    acq = sampling(pattern, x.shape, acceleration)
    images = {}
    if pattern in CARTESIAN_PATTERNS:
        times = np.broadcast_to(np.arange(x.shape[1], dtype=np.float64), x.shape)
        y = _fft2c(x) * acq
        for d in deltas:
            images[d] = _ifft2c(off_resonance(y, times, d, dwell) * acq)
        readout = x.shape[1]
    else:
        _, times = trajectory(pattern, x.shape, acceleration, default_center_fraction(
            acceleration), return_times=True)
        y = acq(x)
        for d in deltas:
            images[d] = acq.gridding_recon(off_resonance(y, times, d, dwell))
        readout = int(times.max()) + 1
    return {"readout_ms": readout * dwell * 1e3, "images": images}


def comparison_table(images=HELDOUT_IMAGES, patterns=None, accelerations=(4, 8),
                     methods=METHODS, *, size: int = 96, sigma: float = 0.0,
                     seed: int = 0) -> dict:
    """PSNR / SSIM of every method on every pattern and acceleration.

    Parameters
    ----------
    images : sequence of str
        Names of :func:`test_image` (held-out images only).
    patterns : sequence of str, optional
        Default all of :data:`course_utils.mri.PATTERNS`.
    accelerations : sequence of float
        ``R`` values.
    methods : sequence of str
        Methods of :data:`METHODS`; learned ones are skipped ("—") for radial/spiral.
    size : int
        Image side.
    sigma : float
        k-space noise (0: noise-free).
    seed : int
        Seed of the masks and the noise.

    Returns
    -------
    dict
        A table ``{"title", "columns", "rows", "notes"}`` (rows: image, pattern, R, then
        one ``"PSNR / SSIM"`` cell per method) plus ``"values"``:
        ``{(image, pattern, R, method): (psnr, ssim)}``.
    """
    from .mri import PATTERNS

    patterns = PATTERNS if patterns is None else tuple(patterns)
    for p in patterns:
        check_choice(p, "patterns", PATTERNS)
    for m in methods:
        check_choice(m, "methods", METHODS)
    names = (images,) if isinstance(images, str) else tuple(images)
    for name in names:
        check_choice(name, "images", HELDOUT_IMAGES)
    rows, values = [], {}
    for name in names:
        x = test_image(name, size)
        for pattern in patterns:
            for r in accelerations:
                acq = sampling(pattern, x.shape, r, seed=seed)
                y = acquire(x, acq, sigma, seed)
                row = [name, pattern, r]
                for method in methods:
                    if method in LEARNED_METHODS and _is_nufft(acq):
                        row.append("—")
                        continue
                    opts = {} if method == "zero_filled" or method in LEARNED_METHODS else {
                        "lam": default_lam(method, sigma)}
                    q = quality(x, reconstruct(y, acq, method, **opts))
                    values[(name, pattern, r, method)] = (q["psnr"], q["ssim"])
                    row.append(f"{q['psnr']:.2f} / {q['ssim']:.3f}")
                rows.append(row)
    return {
        "title": f"MRI reconstruction, PSNR (dB) / SSIM of |x̂|, {size}×{size}"
                 + (f", σ = {sigma:g}" if sigma else ", noise-free"),
        "columns": ["image", "pattern", "R"] + [METHOD_LABELS[m] for m in methods],
        "rows": rows,
        "notes": ("Held-out images (never used in training or to choose λ), complex with a "
                  "smooth phase. Centre fraction 0.32/R (8 % at 4×, 4 % at 8×); "
                  f"variable-density seed {seed}. Zero-filled: F^H y (radial/spiral: "
                  "gridding with Pipe–Menon weights). CS: default λ, 60 iterations "
                  "(Cartesian) or 40 FISTA iterations on the density-weighted NUFFT "
                  "(radial/spiral). Learned: shipped weights, trained on 64×64 phantoms "
                  "and bundled images with variable-density and regular masks at 4× and "
                  "8× (low-frequency masks were not in training); Cartesian only (—)."),
        "values": values,
    }
