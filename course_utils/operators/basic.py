"""Everyday imaging operators: identity, blur, 1-D deconvolution, gradient, downsampling,
inpainting mask, orthonormal wavelets."""
from __future__ import annotations

import numpy as np
import pywt
import scipy.fft

from .._validate import as_array, check_choice, check_int, check_scalar, check_shape
from .base import LinearOperator, MatrixOperator
from .registry import register_operator

__all__ = [
    "Identity", "Blur", "BlurValid", "Gradient", "Downsample", "Inpainting", "Wavelet",
    "KERNEL_NAMES", "blur_kernel", "deconvolution_matrix", "orthogonal_wavelets",
]

KERNEL_NAMES: tuple[str, ...] = ("gaussian", "box", "motion")


# -- shared validation -----------------------------------------------------------------
def _check_image_shape(shape, name: str = "shape") -> tuple[int, int]:
    shape = check_shape(shape, name)
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D shape (M, N), got {shape!r}")
    return shape


def _known_norm(value: float, num_iters, tol) -> float:
    """Validate the arguments of ``norm`` and return a closed-form value."""
    check_int(num_iters, "num_iters", low=1)
    check_scalar(tol, "tol", low=0.0)
    return float(value)


def _check_pinv_args(num_iters, tol, damp) -> float:
    check_int(num_iters, "num_iters", low=1)
    check_scalar(tol, "tol", low=0.0)
    return check_scalar(damp, "damp", low=0.0)


def _real_dtype(x: np.ndarray):
    return np.result_type(x.dtype, np.float64)


# -- identity ------------------------------------------------------------------------
class Identity(LinearOperator):
    """``A x = x`` (denoising).

    Parameters
    ----------
    shape : tuple of int
        Shape of ``x`` and ``y``.
    """

    def __init__(self, shape=(32, 32)):
        shape = check_shape(shape)
        super().__init__(shape, shape, name="identity")

    def _forward(self, x):
        return x.copy()

    def _adjoint(self, y):
        return y.copy()

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``‖I‖₂ = 1`` (closed form; the arguments are validated and ignored)."""
        return _known_norm(1.0, num_iters, tol)


@register_operator("identity")
def _make_identity(shape=(32, 32)):
    return Identity(shape)


# -- blur kernels ----------------------------------------------------------------------
def blur_kernel(kernel: str = "gaussian", *, kernel_size: int = 9, kernel_sigma: float = 1.5,
                motion_angle: float = 0.0) -> np.ndarray:
    """A normalised 2-D blur kernel (its entries sum to one).

    Parameters
    ----------
    kernel : {"gaussian", "box", "motion"}
        ``"gaussian"``: isotropic Gaussian of standard deviation ``kernel_sigma``;
        ``"box"``: uniform average over ``kernel_size × kernel_size`` pixels;
            ``"motion"``: a straight line of length ``kernel_size`` pixels through the centre
        at ``motion_angle`` degrees (counter-clockwise from the column axis).
    kernel_size : int
        Side of the square kernel, in pixels (odd sizes keep the kernel centred).
    kernel_sigma : float
        Standard deviation of the Gaussian, in pixels (> 0; used by ``"gaussian"``).
    motion_angle : float
        Direction of the motion blur in degrees (used by ``"motion"``).

    Returns
    -------
    ndarray of shape (kernel_size, kernel_size)
        Non-negative kernel with unit sum.

    Notes
    -----
    The Gaussian is ``k[i, j] ∝ exp(−((i − c)² + (j − c)²) / (2 σ²))`` with
    ``c = (kernel_size − 1) / 2``. The motion kernel is the segment
    ``c + t (−sin θ, cos θ)``, ``|t| ≤ kernel_size / 2``, sampled finely, clipped to the
    kernel's support and splatted bilinearly (so a horizontal motion of length L gives
    L equal weights ``1/L``).
    """
    check_choice(kernel, "kernel", KERNEL_NAMES)
    size = check_int(kernel_size, "kernel_size", low=1)
    sigma = check_scalar(kernel_sigma, "kernel_sigma", low=0.0, low_inclusive=False)
    angle = check_scalar(motion_angle, "motion_angle")
    c = (size - 1) / 2.0
    if kernel == "gaussian":
        r = np.arange(size) - c
        g = np.exp(-r ** 2 / (2.0 * sigma ** 2))
        k = np.outer(g, g)
    elif kernel == "box":
        k = np.ones((size, size))
    else:
        k = np.zeros((size, size))
        theta = np.deg2rad(angle)
        num = 16 * size
        t = -size / 2.0 + (np.arange(num) + 0.5) * (size / num)
        rows = np.clip(c - t * np.sin(theta), 0.0, size - 1.0)
        cols = np.clip(c + t * np.cos(theta), 0.0, size - 1.0)
        r0 = np.floor(rows).astype(int)
        c0 = np.floor(cols).astype(int)
        fr, fc = rows - r0, cols - c0
        r1, c1 = np.minimum(r0 + 1, size - 1), np.minimum(c0 + 1, size - 1)
        np.add.at(k, (r0, c0), (1 - fr) * (1 - fc))
        np.add.at(k, (r1, c0), fr * (1 - fc))
        np.add.at(k, (r0, c1), (1 - fr) * fc)
        np.add.at(k, (r1, c1), fr * fc)
    return k / k.sum()


def _resolve_kernel(kernel, shape, kernel_size, kernel_sigma, motion_angle) -> np.ndarray:
    if isinstance(kernel, str):
        k = blur_kernel(kernel, kernel_size=kernel_size, kernel_sigma=kernel_sigma,
                        motion_angle=motion_angle)
        if k.shape[0] > min(shape):
            raise ValueError(f"kernel_size must be <= {min(shape)} for shape {shape}, "
                             f"got {k.shape[0]}")
        return k
    k = as_array(kernel, "kernel", ndim=2, allow_complex=False, dtype=np.float64)
    if k.size == 0:
        raise ValueError("kernel must not be empty")
    if k.shape[0] > shape[0] or k.shape[1] > shape[1]:
        raise ValueError(f"kernel of shape {k.shape} does not fit in shape {shape}")
    return k.copy()


# -- circular blur -------------------------------------------------------------------
class Blur(LinearOperator):
    """2-D circular convolution with a blur kernel, diagonalised by the FFT.

    Parameters
    ----------
    shape : tuple of int
        Image shape (M, N).
    kernel : {"gaussian", "box", "motion"} or ndarray of shape (K, L)
        A named kernel (built by :func:`blur_kernel`) or an explicit real kernel whose
        centre is pixel ``(K // 2, L // 2)``.
    kernel_size, kernel_sigma, motion_angle
        Parameters of a named kernel (see :func:`blur_kernel`).

    Attributes
    ----------
    kernel : ndarray of shape (K, L)
        The kernel.
    eigenvalues : ndarray of shape (M, N), complex
        ``fft2`` of the kernel zero-padded to (M, N) with its centre moved to (0, 0):
        the eigenvalues of the circulant matrix ``A``.

    Notes
    -----
    ``(A x)[i, j] = Σ_{k,l} h[k, l] x[(i − k + K//2) mod M, (j − l + L//2) mod N]``, the
    same as ``scipy.ndimage.convolve(x, h, mode="wrap")``. In Fourier,
    ``A = F⁻¹ diag(ĥ) F`` with ``ĥ`` = ``eigenvalues``, so ``Aᴴ = F⁻¹ diag(conj ĥ) F``,
    ``‖A‖₂ = max |ĥ|`` and Tikhonov regularisation has the closed form of
    :meth:`solve_tikhonov`.

    References
    ----------
    P. C. Hansen, J. G. Nagy and D. P. O'Leary, *Deblurring Images: Matrices, Spectra,
    and Filtering*, SIAM, 2006.
    """

    def __init__(self, shape=(32, 32), kernel="gaussian", *, kernel_size: int = 9,
                 kernel_sigma: float = 1.5, motion_angle: float = 0.0):
        shape = _check_image_shape(shape)
        self.kernel = _resolve_kernel(kernel, shape, kernel_size, kernel_sigma, motion_angle)
        super().__init__(shape, shape, name="blur")
        padded = np.zeros(shape)
        kh, kw = self.kernel.shape
        padded[:kh, :kw] = self.kernel
        padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
        self.eigenvalues = scipy.fft.fft2(padded)
        self._eig_half = np.ascontiguousarray(self.eigenvalues[:, : shape[1] // 2 + 1])

    def _apply(self, x, eig, eig_half):
        if np.iscomplexobj(x):
            return scipy.fft.ifft2(eig * scipy.fft.fft2(x))
        return scipy.fft.irfft2(eig_half * scipy.fft.rfft2(x), s=self.in_shape)

    def _forward(self, x):
        return self._apply(x, self.eigenvalues, self._eig_half)

    def _adjoint(self, y):
        return self._apply(y, np.conj(self.eigenvalues), np.conj(self._eig_half))

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``‖A‖₂ = max |eigenvalues|`` (closed form; the arguments are validated and
        ignored)."""
        return _known_norm(np.abs(self.eigenvalues).max(), num_iters, tol)

    def solve_tikhonov(self, y, lam: float, *, rcond: float = 1e-12) -> np.ndarray:
        """Closed-form Tikhonov solution ``argmin_x ½‖A x − y‖² + ½ lam ‖x‖²``.

        Parameters
        ----------
        y : ndarray of shape (M, N)
            Blurred (and noisy) measurement, real or complex.
        lam : float
            Regularisation weight, >= 0 (0 gives the pseudo-inverse).
        rcond : float
            Frequencies with ``|ĥ|² + lam <= (rcond · max|ĥ|)²`` are set to zero, so that
            ``lam = 0`` gives the pseudo-inverse rather than a division by zero.

        Returns
        -------
        x_hat : ndarray of shape (M, N)
            Real when ``y`` is real.

        Notes
        -----
        The normal equations ``(AᴴA + lam I) x = Aᴴ y`` are diagonal in Fourier:
        ``x̂ = F⁻¹[ conj(ĥ) ŷ / (|ĥ|² + lam) ]``. With ``lam = σ² / s²`` (noise over
        signal power) this is the Wiener filter for a white signal.
        """
        y = self._check(y, self.out_shape, self.out_kind, "y")
        lam = check_scalar(lam, "lam", low=0.0)
        rcond = check_scalar(rcond, "rcond", low=0.0)
        denom = np.abs(self.eigenvalues) ** 2 + lam
        cut = (rcond * np.abs(self.eigenvalues).max()) ** 2
        filt = np.zeros_like(self.eigenvalues)
        keep = denom > cut
        filt[keep] = np.conj(self.eigenvalues[keep]) / denom[keep]
        return self._apply(y, filt, np.ascontiguousarray(filt[:, : self.in_shape[1] // 2 + 1]))

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """``argmin ‖A x − y‖² + damp ‖x‖²`` in closed form (see :meth:`solve_tikhonov`;
        ``num_iters`` and ``tol`` are validated and ignored)."""
        damp = _check_pinv_args(num_iters, tol, damp)
        return self.solve_tikhonov(y, damp)

    dagger = pinv


@register_operator("blur")
def _make_blur(shape=(32, 32), kernel="gaussian", *, kernel_size=9, kernel_sigma=1.5,
               motion_angle=0.0):
    return Blur(shape, kernel, kernel_size=kernel_size, kernel_sigma=kernel_sigma,
                motion_angle=motion_angle)


# -- boundary-aware blur ------------------------------------------------------------
class BlurValid(LinearOperator):
    """2-D linear convolution keeping only the 'valid' part: no wrap-around, no padding.

    Parameters
    ----------
    shape : tuple of int
        Image shape (M, N).
    kernel : {"gaussian", "box", "motion"} or ndarray of shape (K, L)
        As in :class:`Blur`.
    kernel_size, kernel_sigma, motion_angle
        Parameters of a named kernel (see :func:`blur_kernel`).

    Notes
    -----
    ``y[i, j] = Σ_{k,l} h[k, l] x[i + K − 1 − k, j + L − 1 − l]`` for
    ``0 <= i <= M − K``, ``0 <= j <= N − L``: ``out_shape = (M − K + 1, N − L + 1)``.
    Every output pixel sees only pixels inside the image, so the model makes no boundary
    assumption; the adjoint is the 'full' correlation with ``h``, of shape (M, N).
    """

    def __init__(self, shape=(32, 32), kernel="gaussian", *, kernel_size: int = 5,
                 kernel_sigma: float = 1.0, motion_angle: float = 0.0):
        shape = _check_image_shape(shape)
        self.kernel = _resolve_kernel(kernel, shape, kernel_size, kernel_sigma, motion_angle)
        kh, kw = self.kernel.shape
        super().__init__(shape, (shape[0] - kh + 1, shape[1] - kw + 1), name="blur_valid")

    def _forward(self, x):
        import scipy.signal  # imported here: it is slow to import and rarely needed

        return scipy.signal.convolve(x, self.kernel, mode="valid")

    def _adjoint(self, y):
        import scipy.signal

        return scipy.signal.correlate(y, self.kernel, mode="full")


@register_operator("blur_valid")
def _make_blur_valid(shape=(32, 32), kernel="gaussian", *, kernel_size=5, kernel_sigma=1.0,
                     motion_angle=0.0):
    return BlurValid(shape, kernel, kernel_size=kernel_size, kernel_sigma=kernel_sigma,
                     motion_angle=motion_angle)


# -- 1-D deconvolution matrix ----------------------------------------------------------
def deconvolution_matrix(n: int = 64, kernel_sigma: float = 2.0, *,
                         boundary: str = "zero") -> np.ndarray:
    """Dense (n, n) matrix of a 1-D Gaussian blur (the SVD lesson's test problem).

    Parameters
    ----------
    n : int
        Number of samples.
    kernel_sigma : float
        Standard deviation of the Gaussian in samples (> 0).
    boundary : {"zero", "periodic"}
        ``"zero"``: the signal is zero outside ``[0, n)`` (a symmetric Toeplitz matrix);
        ``"periodic"``: circular blur (a symmetric circulant matrix).

    Returns
    -------
    A : ndarray of shape (n, n)
        Symmetric, with entries ``A[i, j] = g(d(i, j)) / Σ_k g(k)`` where
        ``g(d) = exp(−d² / (2 σ²))``.

    Notes
    -----
    ``d(i, j) = |i − j|`` (zero boundary) or ``min(|i − j|, n − |i − j|)`` (periodic);
    the normaliser sums ``g`` over one period (periodic) or over ``|k| < n`` (zero), so
    interior rows sum to one. The singular values decay like the Fourier transform of
    the Gaussian, ``exp(−σ² ω² / 2)``: the condition number grows quickly with ``σ``,
    which makes the naive inverse ``A⁻¹ y`` amplify noise (discrete Picard condition).

    References
    ----------
    P. C. Hansen, *Discrete Inverse Problems: Insight and Algorithms*, SIAM, 2010.
    """
    n = check_int(n, "n", low=1)
    sigma = check_scalar(kernel_sigma, "kernel_sigma", low=0.0, low_inclusive=False)
    check_choice(boundary, "boundary", ("zero", "periodic"))
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if boundary == "periodic":
        dist = np.minimum(dist, n - dist)
        norm = np.exp(-np.minimum(idx, n - idx) ** 2 / (2.0 * sigma ** 2)).sum()
    else:
        k = np.arange(-(n - 1), n)
        norm = np.exp(-k ** 2 / (2.0 * sigma ** 2)).sum()
    return np.exp(-dist ** 2 / (2.0 * sigma ** 2)) / norm


@register_operator("deconv1d")
def _make_deconv1d(n=32, kernel_sigma=1.5, *, boundary="zero"):
    return MatrixOperator(deconvolution_matrix(n, kernel_sigma, boundary=boundary),
                          name="deconv1d")


# -- gradient ------------------------------------------------------------------------
class Gradient(LinearOperator):
    """Forward finite differences with Neumann boundary, ``∇ : (M, N) → (2, M, N)``.

    Parameters
    ----------
    shape : tuple of int
        Image shape (M, N).

    Notes
    -----
    ``(∇x)[0, i, j] = x[i+1, j] − x[i, j]`` for ``i < M − 1`` and 0 on the last row;
    ``(∇x)[1, i, j] = x[i, j+1] − x[i, j]`` for ``j < N − 1`` and 0 on the last column.
    The adjoint is minus the divergence, ``∇ᵀ = −div`` (backward differences), so that
    ``Σ |(∇x)[:, i, j]|`` is the isotropic total variation. The eigenvalues of ``∇ᵀ∇``
    are ``4 sin²(π k / 2M) + 4 sin²(π l / 2N)``, hence
    ``‖∇‖₂ = 2 (cos²(π / 2M) + cos²(π / 2N))^{1/2} < √8``.

    References
    ----------
    A. Chambolle, "An algorithm for total variation minimization and applications",
    J. Math. Imaging Vis. 20, 89–97, 2004.
    """

    def __init__(self, shape=(32, 32)):
        shape = _check_image_shape(shape)
        super().__init__(shape, (2, *shape), name="gradient")

    def _forward(self, x):
        g = np.zeros((2, *x.shape), dtype=_real_dtype(x))
        np.subtract(x[1:, :], x[:-1, :], out=g[0, :-1, :])
        np.subtract(x[:, 1:], x[:, :-1], out=g[1, :, :-1])
        return g

    def _adjoint(self, y):
        out = np.zeros(y.shape[1:], dtype=_real_dtype(y))
        out[:-1, :] -= y[0, :-1, :]
        out[1:, :] += y[0, :-1, :]
        out[:, :-1] -= y[1, :, :-1]
        out[:, 1:] += y[1, :, :-1]
        return out

    def divergence(self, p) -> np.ndarray:
        """``div p = −∇ᵀ p`` for ``p`` of shape (2, M, N)."""
        return -self.adjoint(p)

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``‖∇‖₂ = 2 (cos²(π/2M) + cos²(π/2N))^{1/2}`` (closed form; the arguments are
        validated and ignored). ``LinearOperator.norm(op)`` runs the power iteration."""
        m, n = self.in_shape
        value = 2.0 * np.sqrt(np.cos(np.pi / (2 * m)) ** 2 + np.cos(np.pi / (2 * n)) ** 2)
        return _known_norm(value, num_iters, tol)


@register_operator("gradient")
def _make_gradient(shape=(32, 32)):
    return Gradient(shape)


# -- downsampling --------------------------------------------------------------------
class Downsample(LinearOperator):
    """Downsampling by an integer factor ``s``: block average or decimation.

    Parameters
    ----------
    shape : tuple of int
        High-resolution shape (M, N), both divisible by ``factor``.
    factor : int
        Downsampling factor ``s >= 1``.
    mode : {"average", "decimate"}
        ``"average"``: mean over each ``s × s`` block; ``"decimate"``: keep pixel
        ``(s i, s j)``.

    Notes
    -----
    ``out_shape = (M / s, N / s)``. Both have ``A Aᵀ = c I`` with ``c = 1/s²`` (average)
    or ``c = 1`` (decimate), so ``‖A‖₂ = √c`` and the (damped) pseudo-inverse is
    ``Aᵀ y / (c + damp)``.
    """

    def __init__(self, shape=(32, 32), factor: int = 2, mode: str = "average"):
        shape = _check_image_shape(shape)
        self.factor = check_int(factor, "factor", low=1)
        self.mode = check_choice(mode, "mode", ("average", "decimate"))
        if shape[0] % self.factor or shape[1] % self.factor:
            raise ValueError(f"factor must divide both sides of shape {shape}, "
                             f"got {self.factor}")
        s = self.factor
        super().__init__(shape, (shape[0] // s, shape[1] // s), name="downsample")
        self._gram_scale = 1.0 / s ** 2 if self.mode == "average" else 1.0

    def _forward(self, x):
        s = self.factor
        if self.mode == "decimate":
            return x[::s, ::s].astype(_real_dtype(x), copy=True)
        m, n = self.out_shape
        return x.reshape(m, s, n, s).mean(axis=(1, 3))

    def _adjoint(self, y):
        s = self.factor
        if self.mode == "decimate":
            out = np.zeros(self.in_shape, dtype=_real_dtype(y))
            out[::s, ::s] = y
            return out
        return np.repeat(np.repeat(y / s ** 2, s, axis=0), s, axis=1)

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """``1 / s`` (average) or 1 (decimate), in closed form."""
        return _known_norm(np.sqrt(self._gram_scale), num_iters, tol)

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """``argmin ‖A x − y‖² + damp ‖x‖² = Aᵀ y / (c + damp)`` in closed form."""
        damp = _check_pinv_args(num_iters, tol, damp)
        return self.adjoint(y) / (self._gram_scale + damp)

    dagger = pinv


@register_operator("downsample")
def _make_downsample(shape=(32, 32), factor=2, mode="average"):
    return Downsample(shape, factor, mode)


# -- inpainting ----------------------------------------------------------------------
class Inpainting(LinearOperator):
    """Pixel mask ``A x = m ⊙ x`` (missing pixels set to zero).

    Parameters
    ----------
    mask : ndarray of shape (M, N), bool or 0/1, optional
        ``True``/1 where the pixel is observed. If omitted, a random mask is drawn.
    shape : tuple of int, optional
        Image shape when ``mask`` is omitted (default (32, 32)); must equal
        ``mask.shape`` otherwise.
    ratio : float
        Probability that a pixel is observed, in (0, 1] (random mask only).
    seed : int
        Seed of the random mask.

    Notes
    -----
    ``A`` is diagonal with 0/1 entries: ``Aᵀ = A``, ``‖A‖₂ = 1`` and the (damped)
    pseudo-inverse is ``m ⊙ y / (1 + damp)``.
    """

    def __init__(self, mask=None, *, shape=None, ratio: float = 0.5, seed: int = 0):
        if mask is None:
            shape = _check_image_shape((32, 32) if shape is None else shape)
            ratio = check_scalar(ratio, "ratio", low=0.0, high=1.0, low_inclusive=False)
            seed = check_int(seed, "seed", low=0)
            m = np.random.default_rng(seed).random(shape) < ratio
            if not m.any():
                raise ValueError(f"ratio={ratio} observes no pixel of shape {shape}; "
                                 "increase ratio")
        else:
            arr = as_array(mask, "mask", ndim=2, allow_complex=False)
            if not np.all((arr == 0) | (arr == 1)):
                raise ValueError("mask must be boolean or contain only 0 and 1")
            if shape is not None and _check_image_shape(shape) != arr.shape:
                raise ValueError(f"mask must have shape {tuple(shape)}, got {arr.shape}")
            m = arr.astype(bool)
            if not m.any():
                raise ValueError("mask must observe at least one pixel")
        self.mask = m
        self.ratio = float(m.mean())
        super().__init__(m.shape, m.shape, name="inpainting")

    def _forward(self, x):
        return np.where(self.mask, x, 0).astype(_real_dtype(x), copy=False)

    _adjoint = _forward

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """1 (closed form: at least one pixel is observed)."""
        return _known_norm(1.0, num_iters, tol)

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """``m ⊙ y / (1 + damp)`` in closed form."""
        damp = _check_pinv_args(num_iters, tol, damp)
        return self.adjoint(y) / (1.0 + damp)

    dagger = pinv


@register_operator("inpainting")
def _make_inpainting(mask=None, *, shape=None, ratio=0.5, seed=0):
    return Inpainting(mask, shape=shape, ratio=ratio, seed=seed)


# -- orthonormal wavelets ------------------------------------------------------------
_ORTHOGONAL_WAVELETS: tuple[str, ...] | None = None


def orthogonal_wavelets() -> tuple[str, ...]:
    """Names of the orthogonal discrete wavelets of PyWavelets (haar, db*, sym*, coif*)."""
    global _ORTHOGONAL_WAVELETS
    if _ORTHOGONAL_WAVELETS is None:
        _ORTHOGONAL_WAVELETS = tuple(w for w in pywt.wavelist(kind="discrete")
                                     if pywt.Wavelet(w).orthogonal)
    return _ORTHOGONAL_WAVELETS


def _check_wavelet(wavelet) -> str:
    """An orthogonal PyWavelets name, or a clear error naming ``wavelet``."""
    if not isinstance(wavelet, str):
        raise TypeError(f"wavelet must be a string, got {type(wavelet).__name__}")
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"Unknown wavelet: {wavelet!r}; expected an orthogonal "
                         "PyWavelets name such as 'haar', 'db4', 'sym4' or 'coif1'")
    if wavelet not in orthogonal_wavelets():
        raise ValueError(f"wavelet {wavelet!r} is not orthogonal; expected one of "
                         "'haar', 'db*', 'sym*', 'coif*'")
    return wavelet


def _powers_of_two(n: int) -> int:
    k = 0
    while n % 2 == 0 and n > 1:
        n //= 2
        k += 1
    return k


class Wavelet(LinearOperator):
    """Orthonormal 2-D discrete wavelet transform ``W`` (PyWavelets, periodization).

    Parameters
    ----------
    shape : tuple of int
        Image shape (M, N), both divisible by ``2**level``.
    wavelet : str
        An orthogonal wavelet of PyWavelets: ``"haar"``, ``"db2"``…``"db38"``,
        ``"sym2"``…, ``"coif1"``… (biorthogonal wavelets are rejected: they are not
        orthonormal).
    level : int, optional
        Number of decomposition levels; default the largest level allowed by the shape
        and the filter length.

    Attributes
    ----------
    coeff_slices : list
        Where each sub-band lies in the coefficient array (``pywt.coeffs_to_array``).
    detail_mask : ndarray of shape (M, N), bool
        True on detail coefficients, False on the coarsest approximation.

    Notes
    -----
    The forward map returns the coefficients ``c = W x`` laid out as one (M, N) array by
    ``pywt.coeffs_to_array`` (approximation in the top-left corner). With
    ``mode="periodization"`` and sides divisible by ``2**level`` the transform is a
    square orthogonal matrix: ``Wᵀ W = W Wᵀ = I``, so the adjoint is the inverse
    transform and ``‖W‖₂ = 1``.

    References
    ----------
    S. Mallat, *A Wavelet Tour of Signal Processing*, 3rd ed., Academic Press, 2009.
    """

    def __init__(self, shape=(32, 32), wavelet: str = "haar", level: int | None = None):
        shape = _check_image_shape(shape)
        wavelet = _check_wavelet(wavelet)
        max_level = min(pywt.dwtn_max_level(shape, wavelet),
                        _powers_of_two(shape[0]), _powers_of_two(shape[1]))
        if max_level < 1:
            raise ValueError(f"shape {shape} is too small or not even for wavelet "
                             f"{wavelet!r}: no decomposition level is possible")
        if level is None:
            level = max_level
        self.level = check_int(level, "level", low=1, high=max_level)
        self.wavelet = wavelet
        super().__init__(shape, shape, name="wavelet")
        coeffs = pywt.wavedec2(np.zeros(shape), wavelet, mode="periodization",
                               level=self.level)
        arr, self.coeff_slices = pywt.coeffs_to_array(coeffs)
        if arr.shape != shape:
            raise ValueError(f"shape {shape} does not give a square transform")
        self.detail_mask = np.ones(shape, dtype=bool)
        self.detail_mask[self.coeff_slices[0]] = False

    def _forward(self, x):
        coeffs = pywt.wavedec2(x, self.wavelet, mode="periodization", level=self.level)
        return pywt.coeffs_to_array(coeffs)[0]

    def _adjoint(self, y):
        coeffs = pywt.array_to_coeffs(y, self.coeff_slices, output_format="wavedec2")
        return pywt.waverec2(coeffs, self.wavelet, mode="periodization")

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """1 (closed form: the transform is orthonormal)."""
        return _known_norm(1.0, num_iters, tol)

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """``Wᵀ y / (1 + damp)`` in closed form."""
        damp = _check_pinv_args(num_iters, tol, damp)
        return self.adjoint(y) / (1.0 + damp)

    dagger = pinv


@register_operator("wavelet")
def _make_wavelet(shape=(32, 32), wavelet="haar", level=None):
    return Wavelet(shape, wavelet, level)


# -- a default composition -------------------------------------------------------------
@register_operator("composition")
def _make_composition(shape=(32, 32), factor=2, mode="average", kernel="gaussian", *,
                      kernel_size=9, kernel_sigma=1.5, motion_angle=0.0):
    """Super-resolution forward model: blur, then downsample (``Downsample @ Blur``)."""
    blur = Blur(shape, kernel, kernel_size=kernel_size, kernel_sigma=kernel_sigma,
                motion_angle=motion_angle)
    return Downsample(shape, factor, mode) @ blur

