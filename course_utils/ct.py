"""CT reconstruction: filtered back-projection, low-dose Poisson noise, SART and CGLS."""
from __future__ import annotations

import numpy as np
from scipy.fft import fft, ifft

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape
from .operators.ct import Radon, check_angles

__all__ = ["FILTERS", "fbp_filter", "fbp", "low_dose", "sart", "cgls"]

#: Names of the FBP filters: the ramp ``|f|`` alone or times a smoothing window.
FILTERS: tuple[str, ...] = ("ramp", "shepp-logan", "cosine", "hann")


def _padded_size(num_detectors: int) -> int:
    """Zero-padded length for filtering: a power of two, at least twice the detector."""
    return max(64, int(2 ** np.ceil(np.log2(2 * num_detectors))))


def _sqnorm(a) -> float:
    """``‖a‖²`` of a 2-D array without BLAS (whose threads stall on a busy machine)."""
    return float(np.einsum("ij,ij->", a, a))


def fbp_filter(filter: str = "ramp", size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Frequency response of an FBP filter on the FFT grid of length ``size``.

    Parameters
    ----------
    filter : {"ramp", "shepp-logan", "cosine", "hann"}
        The ramp alone or the ramp times a window that tapers high frequencies.
    size : int
        Length of the (zero-padded) projection that is filtered; even, at least 2.

    Returns
    -------
    freqs : ndarray of shape (size,)
        ``numpy.fft.fftfreq(size)``: frequency ``f`` in cycles per detector bin, in
        ``[-1/2, 1/2)``.
    response : ndarray of shape (size,)
        The real, even response ``H(f)``.

    Notes
    -----
    The ramp is the discrete Fourier transform of the band-limited spatial kernel of
    Kak and Slaney [1]_ (their eq. 3.61), ``h(0) = 1/4``, ``h(n) = −1/(π n)²`` for odd
    ``n`` and 0 for even ``n``; its response is ``|f|`` (that is ``|ω| / 2π`` with
    ``ω = 2π f``) up to a small positive value at ``f = 0``, which avoids the DC bias
    of sampling ``|f|`` directly. The windows are

    - Shepp–Logan: ``sinc(f) = sin(π f) / (π f)``,
    - cosine: ``cos(π f)``,
    - Hann: ``(1 + cos(2π f)) / 2 = cos²(π f)``,

    each 1 at ``f = 0``; the last two vanish at the Nyquist frequency ``f = ±1/2``.

    References
    ----------
    .. [1] A. C. Kak and M. Slaney, *Principles of Computerized Tomographic Imaging*,
       IEEE Press, 1988, ch. 3.
    """
    check_choice(filter, "filter", FILTERS)
    size = check_int(size, "size", low=2)
    if size % 2:
        raise ValueError(f"size must be even, got {size}")
    n = np.arange(size)
    n = np.minimum(n, size - n)                      # circular distance to 0
    h = np.zeros(size)
    h[0] = 0.25
    odd = n % 2 == 1
    h[odd] = -1.0 / (np.pi * n[odd]) ** 2
    response = np.real(fft(h))
    freqs = np.fft.fftfreq(size)
    if filter == "shepp-logan":
        response = response * np.sinc(freqs)
    elif filter == "cosine":
        response = response * np.cos(np.pi * freqs)
    elif filter == "hann":
        response = response * 0.5 * (1.0 + np.cos(2.0 * np.pi * freqs))
    return freqs, response


def _check_sinogram(y, angles, name="y"):
    y = as_array(y, name, ndim=2, allow_complex=False, dtype=np.float64)
    angles = check_angles(angles)
    if y.shape[1] != angles.size:
        raise ValueError(f"{name} must have one column per angle: got {y.shape[1]} columns "
                         f"for {angles.size} angles (sinogram layout is (detectors, views))")
    return y, angles


def _image_shape(shape, num_detectors):
    if shape is None:
        return (num_detectors, num_detectors)
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    return shape


def fbp(y, angles, filter: str = "ramp", *, shape=None, circle: bool = True) -> np.ndarray:
    """Filtered back-projection of a parallel-beam sinogram.

    Parameters
    ----------
    y : ndarray of shape (num_detectors, num_views)
        Sinogram in the layout of :class:`~course_utils.operators.Radon` (and of
        ``skimage.transform.radon``).
    angles : array_like of float, shape (num_views,)
        Projection angles in degrees, spread over 180°.
    filter : {"ramp", "shepp-logan", "cosine", "hann"}
        Reconstruction filter (:func:`fbp_filter`).
    shape : tuple of int, optional
        Image shape ``(M, N)``; default ``(num_detectors, num_detectors)``.
    circle : bool
        Set pixels outside the inscribed circle (radius ``min(M, N) // 2``) to zero,
        as ``skimage.transform.iradon(..., circle=True)`` does.

    Returns
    -------
    x_hat : ndarray of shape (M, N)

    Notes
    -----
    Each projection is zero-padded to a power of two of at least twice its length,
    filtered, and back-projected with the exact transpose of the forward model:

    .. math:: \\hat x = \\frac{π}{K}\\, R^{\\mathsf T}\\big(h * y\\big),

    with ``K`` views and ``h`` the filter of :func:`fbp_filter`. This discretises the
    inversion formula ``x = ∫₀^π (h * y_θ)(t(θ)) dθ`` with ``dθ = π / K``, which
    assumes the views evenly spread over 180°. The scaling is the one of
    ``skimage.transform.iradon`` (which uses ``2 |f|`` and ``π / 2K``).

    References
    ----------
    .. [1] A. C. Kak and M. Slaney, *Principles of Computerized Tomographic Imaging*,
       IEEE Press, 1988, ch. 3.
    """
    y, angles = _check_sinogram(y, angles)
    check_choice(filter, "filter", FILTERS)
    num_detectors = y.shape[0]
    shape = _image_shape(shape, num_detectors)
    size = _padded_size(num_detectors)
    _, response = fbp_filter(filter, size)
    spectrum = fft(y, n=size, axis=0) * response[:, None]
    q = np.real(ifft(spectrum, axis=0))[:num_detectors]
    op = Radon(shape, angles, num_detectors)
    x_hat = op.adjoint(q) * (np.pi / angles.size)
    if circle:
        x_hat[~_circle_mask(shape)] = 0.0
    return x_hat


def _circle_mask(shape):
    M, N = shape
    rows, cols = np.ogrid[:M, :N]
    radius = min(M, N) // 2
    return (rows - M // 2) ** 2 + (cols - N // 2) ** 2 <= radius ** 2


def low_dose(y, I0, seed: int = 0, *, mu: float | None = None) -> np.ndarray:
    """A low-dose sinogram: Poisson photon counts through Beer–Lambert, then the log.

    Parameters
    ----------
    y : ndarray of shape (num_detectors, num_views)
        Noise-free line integrals (the output of :class:`~course_utils.operators.Radon`).
    I0 : float
        Incident photons per detector bin (the dose), > 0. Typical: 1e3 (very low dose)
        to 1e6 (nearly noise-free).
    seed : int
        Seed of the Poisson draws.
    mu : float, optional
        Attenuation per unit of ``y``: the physical line integral is ``mu * y``. By
        default ``mu = 3 / max(y)``, so the most attenuating ray keeps ``e^{-3} ≈ 5 %``
        of its photons, as through a human body.

    Returns
    -------
    ndarray of shape (num_detectors, num_views)
        The noisy line integrals in the units of ``y``.

    Notes
    -----
    Beer–Lambert's law gives the expected count ``I0 e^{-μ y}``; the measured count is
    ``n ~ Poisson(I0 e^{-μ y})``, and the measurement is ``ỹ = −log(n / I0) / μ``. A
    zero count (possible at low dose) is replaced by one photon, which caps ``ỹ`` at
    ``log(I0) / μ``. To first order ``Var(ỹ) ≈ e^{μ y} / (μ² I0)``: the noise grows as
    the dose ``I0`` drops, and is largest on the most attenuated rays.

    References
    ----------
    .. [1] J. Hsieh, *Computed Tomography: Principles, Design, Artifacts, and Recent
       Advances*, 2nd ed., SPIE Press, 2009, ch. 2.
    """
    y = as_array(y, "y", ndim=2, allow_complex=False, dtype=np.float64)
    I0 = check_scalar(I0, "I0", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    if mu is None:
        peak = float(np.max(y)) if y.size else 0.0
        mu = 3.0 / peak if peak > 0 else 1.0
    mu = check_scalar(mu, "mu", low=0.0, low_inclusive=False)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(I0 * np.exp(-mu * y)).astype(np.float64)
    counts = np.maximum(counts, 1.0)
    return -np.log(counts / I0) / mu


def _view_blocks(matrix, num_views, num_detectors):
    """Row blocks of the Radon matrix, one per view, sharing its storage."""
    import scipy.sparse as sp
    blocks = []
    ip = matrix.indptr
    for a in range(num_views):
        s, e = ip[a * num_detectors], ip[(a + 1) * num_detectors]
        blocks.append(sp.csr_matrix(
            (matrix.data[s:e], matrix.indices[s:e],
             ip[a * num_detectors:(a + 1) * num_detectors + 1] - s),
            shape=(num_detectors, matrix.shape[1])))
    return blocks


def _view_order(num_views):
    """Views in a spread-out order (golden-ratio steps), so successive updates differ."""
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    return np.argsort((np.arange(num_views) * golden) % 1.0, kind="stable")


def sart(y, angles, *, num_iters: int = 10, tau: float = 1.0, x0=None,
         nonneg: bool = False, shape=None, return_history: bool = False):
    """Simultaneous algebraic reconstruction technique, one view at a time.

    Parameters
    ----------
    y : ndarray of shape (num_detectors, num_views)
        Sinogram.
    angles : array_like of float, shape (num_views,)
        Projection angles in degrees.
    num_iters : int
        Sweeps through all views.
    tau : float
        Relaxation, in (0, 2).
    x0 : ndarray of shape (M, N), optional
        Starting image (default zeros).
    nonneg : bool
        Clip negative values after each view update (a density is non-negative).
    shape : tuple of int, optional
        Image shape (default ``(num_detectors, num_detectors)``).
    return_history : bool
        Also return the data residual ``‖R x − y‖`` after each sweep.

    Returns
    -------
    x_hat : ndarray of shape (M, N)
    history : list of float
        Only if ``return_history``.

    Notes
    -----
    For the block ``R_a`` of view ``a`` (views visited in golden-ratio order),

    .. math:: x \\leftarrow x + τ\\, \\frac{R_a^{\\mathsf T}\\big((y_a − R_a x) / R_a 1\\big)}
              {R_a^{\\mathsf T} 1},

    divisions element-wise and skipped where the denominator is zero [1]_.

    References
    ----------
    .. [1] A. H. Andersen and A. C. Kak, "Simultaneous algebraic reconstruction
       technique (SART): a superior implementation of the ART algorithm", Ultrasonic
       Imaging 6(1), 81–94, 1984.
    """
    y, angles = _check_sinogram(y, angles)
    num_iters = check_int(num_iters, "num_iters", low=1)
    tau = check_scalar(tau, "tau", low=0.0, high=2.0, low_inclusive=False,
                       high_inclusive=False)
    num_detectors = y.shape[0]
    shape = _image_shape(shape, num_detectors)
    op = Radon(shape, angles, num_detectors)
    x = np.zeros(shape) if x0 is None else as_array(
        x0, "x0", shape=shape, allow_complex=False, dtype=np.float64).copy()
    x = x.ravel()
    blocks = _view_blocks(op.matrix, angles.size, num_detectors)
    ones_img = np.ones(x.size)
    prepared = []
    for a in _view_order(angles.size):
        block = blocks[a]
        row_sum = block @ ones_img
        col_sum = block.T @ np.ones(num_detectors)
        inv_row = np.divide(1.0, row_sum, out=np.zeros_like(row_sum), where=row_sum > 0)
        inv_col = np.divide(1.0, col_sum, out=np.zeros_like(col_sum), where=col_sum > 0)
        prepared.append((block, y[:, a], inv_row, inv_col))
    history = []
    for _ in range(num_iters):
        for block, y_a, inv_row, inv_col in prepared:
            x += tau * inv_col * (block.T @ ((y_a - block @ x) * inv_row))
            if nonneg:
                np.maximum(x, 0.0, out=x)
        if return_history:
            history.append(float(np.sqrt(_sqnorm(op(x.reshape(shape)) - y))))
    x_hat = x.reshape(shape)
    return (x_hat, history) if return_history else x_hat


def cgls(y, angles, *, num_iters: int = 20, x0=None, shape=None,
         return_history: bool = False):
    """Conjugate gradients for least squares, ``min_x ‖R x − y‖²``.

    Parameters
    ----------
    y : ndarray of shape (num_detectors, num_views)
        Sinogram.
    angles : array_like of float, shape (num_views,)
        Projection angles in degrees.
    num_iters : int
        Iterations; stopping early regularises (semi-convergence).
    x0 : ndarray of shape (M, N), optional
        Starting image (default zeros).
    shape : tuple of int, optional
        Image shape (default ``(num_detectors, num_detectors)``).
    return_history : bool
        Also return the residual ``‖R x_k − y‖`` of each iterate, ``x0`` first.

    Returns
    -------
    x_hat : ndarray of shape (M, N)
    history : list of float
        Only if ``return_history``; it never increases.

    Notes
    -----
    CG applied to the normal equations ``Rᵀ R x = Rᵀ y`` without forming them [1]_:
    with ``r = y − R x``, ``s = Rᵀ r``, ``p = s``, ``γ = ‖s‖²``, repeat
    ``q = R p``, ``α = γ / ‖q‖²``, ``x += α p``, ``r −= α q``, ``s = Rᵀ r``,
    ``p = s + (‖s‖² / γ) p``.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
       linear systems", J. Res. Nat. Bur. Standards 49(6), 409–436, 1952.
    """
    y, angles = _check_sinogram(y, angles)
    num_iters = check_int(num_iters, "num_iters", low=1)
    num_detectors = y.shape[0]
    shape = _image_shape(shape, num_detectors)
    op = Radon(shape, angles, num_detectors)
    x = np.zeros(shape) if x0 is None else as_array(
        x0, "x0", shape=shape, allow_complex=False, dtype=np.float64).copy()
    r = y - op(x)
    s = op.adjoint(r)
    p = s.copy()
    gamma = _sqnorm(s)
    history = [float(np.sqrt(_sqnorm(r)))]
    for _ in range(num_iters):
        if gamma == 0.0:
            break
        q = op(p)
        qq = _sqnorm(q)
        if qq == 0.0:
            break
        alpha = gamma / qq
        x = x + alpha * p
        r = r - alpha * q
        s = op.adjoint(r)
        gamma_new = _sqnorm(s)
        p = s + (gamma_new / gamma) * p
        gamma = gamma_new
        history.append(float(np.sqrt(_sqnorm(r))))
    return (x, history) if return_history else x
