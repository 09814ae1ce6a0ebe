"""Plug-and-play: closed-form data steps, denoisers as priors, HQS, ADMM, deep prox-gradient."""
from __future__ import annotations

import hashlib
import time
from typing import Callable, NamedTuple

import numpy as np
import scipy.fft
import scipy.ndimage

from ._validate import as_array, as_image, check_choice, check_int, check_scalar
from .metrics import psnr as _psnr
from .metrics import ssim as _ssim
from .operators.base import ComposedOperator, LinearOperator
from .operators.basic import Blur, Downsample, Identity, Inpainting
from .solvers import ADMM, HQS, ISTA, DenoiserPrior, SolverResult

__all__ = [
    "DENOISER_NAMES", "PNP_METHODS", "TASK_NAMES", "SIGMA_FLOOR", "DPIR_LAM",
    "DPIR_SIGMA_START", "fft_data_step", "inpainting_data_step", "DataStep",
    "make_data_step", "sigma_schedule", "dpir_schedule", "make_denoiser", "admm_iteration",
    "pnp_hqs", "pnp_admm", "deep_proximal_gradient", "pnp", "Task", "make_task",
    "initial_estimate", "run_benchmark_table", "schedule_comparison",
]

#: Denoisers known by name: those of :func:`course_utils.denoisers.denoise` and the identity.
DENOISER_NAMES: tuple[str, ...] = ("tv", "bm3d", "learned", "identity")
#: The plug-and-play algorithms of :func:`pnp`.
PNP_METHODS: tuple[str, ...] = ("hqs", "admm", "pgd")
#: The restoration tasks of :func:`make_task`.
TASK_NAMES: tuple[str, ...] = ("deblur", "inpainting", "sr2", "sr4")
#: Smallest noise level used in the weights: ``sigma_n = 0`` would switch the prior off.
SIGMA_FLOOR: float = 1.0 / 255
#: DPIR's trade-off ``lam`` (Zhang et al. 2021 use 0.23 for deblurring).
DPIR_LAM: float = 0.23
#: DPIR's first denoiser level, 49/255.
DPIR_SIGMA_START: float = 49.0 / 255


# -- closed-form data steps ------------------------------------------------------------
def _check_beta(beta) -> float:
    return check_scalar(beta, "beta", low=0.0, low_inclusive=False)


def fft_data_step(eigenvalues, y, z, beta: float) -> np.ndarray:
    """Data step of a circular blur, in closed form by the FFT.

    Parameters
    ----------
    eigenvalues : ndarray of shape (M, N), complex
        ``ĥ``, the 2-D DFT of the blur kernel centred at (0, 0) (``Blur.eigenvalues``).
    y : ndarray of shape (M, N)
        Blurred, noisy image.
    z : ndarray of shape (M, N)
        The point the step is pulled towards (``v`` in HQS, ``v − u`` in ADMM).
    beta : float
        Penalty β > 0.

    Returns
    -------
    x : ndarray of shape (M, N)
        ``argmin_x ½‖h ∗ x − y‖² + β/2 ‖x − z‖²`` (real when ``y`` and ``z`` are real).

    Notes
    -----
    The normal equations ``(AᵀA + βI) x = Aᵀy + βz`` are diagonal in Fourier because a
    circular convolution is ``A = F⁻¹ diag(ĥ) F``:

    .. math:: x = F^{-1}\\left[\\frac{\\overline{\\hat h}\\,\\hat y + \\beta \\hat z}
              {|\\hat h|^2 + \\beta}\\right].

    Two FFTs and one inverse FFT: O(MN log MN), whatever β.

    References
    ----------
    K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool and R. Timofte, "Plug-and-play image
    restoration with deep denoiser prior", IEEE TPAMI 44(10), 2021.
    """
    eig = as_array(eigenvalues, "eigenvalues", ndim=2)
    y = as_array(y, "y", shape=eig.shape)
    z = as_array(z, "z", shape=eig.shape)
    beta = _check_beta(beta)
    x = scipy.fft.ifft2((np.conj(eig) * scipy.fft.fft2(y) + beta * scipy.fft.fft2(z))
                        / (np.abs(eig) ** 2 + beta))
    if not (np.iscomplexobj(y) or np.iscomplexobj(z)):
        x = x.real
    return x


def inpainting_data_step(mask, y, z, beta: float) -> np.ndarray:
    """Data step of inpainting, in closed form pixel by pixel.

    Parameters
    ----------
    mask : ndarray of shape (M, N), bool or 0/1
        True where the pixel is observed.
    y : ndarray of shape (M, N)
        Observed image (any value where ``mask`` is False: it is ignored).
    z : ndarray of shape (M, N)
        The point the step is pulled towards.
    beta : float
        Penalty β > 0.

    Returns
    -------
    x : ndarray of shape (M, N)
        ``(m ⊙ y + β z) / (m + β)``: a weighted average of ``y`` and ``z`` on observed
        pixels, ``z`` itself on missing ones.

    Notes
    -----
    ``A = diag(m)`` with ``m ∈ {0, 1}``, so ``AᵀA + βI = diag(m + β)`` and the normal
    equations decouple.
    """
    m = as_array(mask, "mask", ndim=2, allow_complex=False)
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("mask must be boolean or contain only 0 and 1")
    y = as_array(y, "y", shape=m.shape)
    z = as_array(z, "z", shape=m.shape)
    beta = _check_beta(beta)
    m = m.astype(np.float64)
    return (m * y + beta * z) / (m + beta)


def _box_eigenvalues(shape, s):
    """Eigenvalues of the circulant ``(Bx)[p, q] = mean x[p:p+s, q:q+s]`` (wrapped)."""
    h = np.zeros(shape)
    idx_r = (-np.arange(s)) % shape[0]
    idx_c = (-np.arange(s)) % shape[1]
    h[np.ix_(idx_r, idx_c)] = 1.0 / s ** 2
    return scipy.fft.fft2(h)


class DataStep:
    """The data (consistency) step ``x = argmin_x ½‖Ax − y‖² + β/2 ‖x − z‖²`` for one ``(A, y)``.

    Build it with :func:`make_data_step`; call it as ``step(z, beta)``.

    Attributes
    ----------
    kind : str
        How the normal equations ``(AᵀA + βI) x = Aᵀy + βz`` are solved:
        ``"identity"``, ``"fft"`` (circular blur), ``"inpainting"`` (diagonal),
        ``"downsample"`` (``AAᵀ = cI``), ``"fft-downsample"`` (blur then decimation:
        the FFT closed form of Zhao et al. 2016), ``"matrix"`` (a dense matrix: one
        eigendecomposition of ``AAᵀ`` serves every β) or ``"cg"`` (warm-started
        conjugate gradients).
    A : LinearOperator
    y : ndarray
    """

    def __init__(self, A, y, kind: str, solve: Callable, cg_iters: int):
        self.A, self.y, self.kind = A, y, kind
        self._solve = solve
        self.cg_iters = cg_iters
        self._warm = None

    def __call__(self, z, beta: float) -> np.ndarray:
        """``(AᵀA + βI)⁻¹(Aᵀy + βz)``: an array of ``A.in_shape``."""
        z = as_array(z, "z", shape=self.A.in_shape)
        beta = _check_beta(beta)
        x = self._solve(z, beta)
        self._warm = x
        return x

    def residual(self, x, z, beta: float) -> float:
        """Relative residual ``‖(AᵀA + βI)x − Aᵀy − βz‖ / ‖Aᵀy + βz‖`` of the optimality
        condition (0 for an exact step)."""
        x = as_array(x, "x", shape=self.A.in_shape)
        z = as_array(z, "z", shape=self.A.in_shape)
        beta = _check_beta(beta)
        rhs = self.A.adjoint(self.y) + beta * z
        lhs = self.A.adjoint(self.A(x)) + beta * x
        return float(np.linalg.norm(lhs - rhs) / max(np.linalg.norm(rhs), 1e-300))

    def __repr__(self):
        return f"DataStep(kind={self.kind!r}, A={self.A!r})"


def make_data_step(A, y, *, cg_iters: int = 30) -> DataStep:
    """The data step of ``(A, y)``, in closed form where one exists, by CG otherwise.

    Parameters
    ----------
    A : LinearOperator
        Forward operator. Closed forms: :class:`~course_utils.operators.Identity`,
        :class:`~course_utils.operators.Blur` (FFT),
        :class:`~course_utils.operators.Inpainting`,
        :class:`~course_utils.operators.Downsample` (average or decimate),
        ``Downsample @ Blur`` (super-resolution with a blur), and any operator with a
        dense ``matrix`` attribute (e.g. ``GaussianSensing``).
    y : ndarray of shape ``A.out_shape``
        Measurements.
    cg_iters : int
        Conjugate-gradient iterations per call for other operators (warm-started from
        the previous call's answer).

    Returns
    -------
    DataStep
        ``step(z, beta) -> x`` with ``(AᵀA + βI) x = Aᵀy + βz``; ``step.kind`` says how.

    Notes
    -----
    Where ``AAᵀ`` is easy to invert, the Woodbury identity gives

    .. math::
        (A^TA + \\beta I)^{-1}
        = \\tfrac{1}{\\beta}\\left(I - A^T (AA^T + \\beta I)^{-1} A\\right).

    For block-average or decimation downsampling ``AAᵀ = cI`` (``c = 1/s²`` or 1). For
    ``A = S H`` (circular blur ``H``, then keeping one pixel in ``s × s``) ``AAᵀ`` is a
    circulant on the coarse grid whose eigenvalues are the averages of ``|ĥ|²`` over the
    ``s²`` frequencies that alias together (Zhao et al. 2016).

    References
    ----------
    N. Zhao, Q. Wei, A. Basarab, N. Dobigeon, D. Kouamé and J.-Y. Tourneret, "Fast
    single image super-resolution using a new analytical solution for ℓ2–ℓ2 problems",
    IEEE Trans. Image Processing 25(8), 2016.
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    y = as_array(y, "y", shape=A.out_shape)
    cg_iters = check_int(cg_iters, "cg_iters", low=1)
    aty = A.adjoint(y)
    real = not np.iscomplexobj(aty)

    if isinstance(A, Identity):
        return DataStep(A, y, "identity", lambda z, b: (y + b * z) / (1.0 + b), cg_iters)
    if isinstance(A, Blur):
        eig = A.eigenvalues
        half = A.in_shape[1] // 2 + 1
        eig_h = np.ascontiguousarray(eig[:, :half])
        power_h = np.abs(eig_h) ** 2
        num_h = np.conj(eig_h) * scipy.fft.rfft2(y) if real else None

        def blur_step(z, b):
            if real and not np.iscomplexobj(z):
                return scipy.fft.irfft2((num_h + b * scipy.fft.rfft2(z)) / (power_h + b),
                                        s=A.in_shape)
            return fft_data_step(eig, y, z, b)
        return DataStep(A, y, "fft", blur_step, cg_iters)
    if isinstance(A, Inpainting):
        m = A.mask.astype(np.float64)
        my = m * y
        return DataStep(A, y, "inpainting", lambda z, b: (my + b * z) / (m + b), cg_iters)
    if isinstance(A, Downsample):
        c = 1.0 / A.factor ** 2 if A.mode == "average" else 1.0

        def down_step(z, b):
            r = aty + b * z
            return (r - A.adjoint(A(r)) / (c + b)) / b
        return DataStep(A, y, "downsample", down_step, cg_iters)
    if isinstance(A, ComposedOperator) and isinstance(A.a, Downsample) \
            and isinstance(A.b, Blur):
        return DataStep(A, y, "fft-downsample", _fsr_solver(A, aty), cg_iters)
    matrix = getattr(A, "matrix", None)
    if isinstance(matrix, np.ndarray) and matrix.ndim == 2 \
            and matrix.shape == (int(np.prod(A.out_shape)), int(np.prod(A.in_shape))):
        return DataStep(A, y, "matrix", _matrix_solver(A, matrix, aty), cg_iters)
    return DataStep(A, y, "cg", _cg_solver(A, aty, cg_iters), cg_iters)


def _fsr_solver(A, aty):
    """Woodbury with the coarse-grid circulant ``S H Hᵀ Sᵀ`` (Zhao et al. 2016)."""
    down, blur = A.a, A.b
    s, shape = down.factor, blur.in_shape
    eig = blur.eigenvalues
    if down.mode == "average":
        eig = eig * _box_eigenvalues(shape, s)
    m, n = shape[0] // s, shape[1] // s
    power = np.abs(eig) ** 2
    low = power.reshape(s, m, s, n).mean(axis=(0, 2))  # average over the s² aliases

    def circ(x, e):
        return np.real(scipy.fft.ifft2(e * scipy.fft.fft2(x)))

    def solve(z, b):
        r = aty + b * z
        w = circ(r, eig)[::s, ::s]
        u = np.real(scipy.fft.ifft2(scipy.fft.fft2(w) / (low + b)))
        up = np.zeros(shape)
        up[::s, ::s] = u
        return (r - circ(up, np.conj(eig))) / b
    return solve


def _matrix_solver(A, matrix, aty):
    """Woodbury with one eigendecomposition of the (small) ``AAᵀ``."""
    gram = matrix @ matrix.conj().T
    evals, evecs = np.linalg.eigh(gram)
    shape = A.in_shape

    def solve(z, b):
        r = (aty + b * z).reshape(-1)
        w = evecs.conj().T @ (matrix @ r)
        back = matrix.conj().T @ (evecs @ (w / (evals + b)))
        x = (r - back) / b
        return x.reshape(shape)
    return solve


def _cg_solver(A, aty, cg_iters):
    state = {"x": None}

    def solve(z, b):
        rhs = aty + b * z
        x = z.astype(rhs.dtype, copy=True) if state["x"] is None else state["x"].copy()
        r = rhs - (A.adjoint(A(x)) + b * x)
        p = r.copy()
        rs = float(np.vdot(r, r).real)
        stop = (1e-10 * np.linalg.norm(rhs)) ** 2
        for _ in range(cg_iters):
            if rs <= stop:
                break
            ap = A.adjoint(A(p)) + b * p
            alpha = rs / float(np.vdot(p, ap).real)
            x = x + alpha * p
            r = r - alpha * ap
            rs_new = float(np.vdot(r, r).real)
            p = r + (rs_new / rs) * p
            rs = rs_new
        state["x"] = x
        return x
    return solve


# -- schedules ------------------------------------------------------------------------
def sigma_schedule(num_iters: int, sigma_start: float = DPIR_SIGMA_START,
                   sigma_end: float = 0.01) -> np.ndarray:
    """Denoiser noise levels decaying geometrically from ``sigma_start`` to ``sigma_end``.

    Parameters
    ----------
    num_iters : int
        Number of iterations ``K >= 1``.
    sigma_start, sigma_end : float
        First and last levels (> 0).

    Returns
    -------
    ndarray of shape (K,)
        ``σ_k = σ_start (σ_end / σ_start)^{k / (K − 1)}``, ``k = 0 … K − 1``
        (``[σ_end]`` when ``K = 1``).

    Notes
    -----
    Large levels first let the denoiser remove the artefacts of the early data steps;
    ending at the data's noise level makes the last steps respect the measurements
    (DPIR, Zhang et al. 2021).
    """
    num_iters = check_int(num_iters, "num_iters", low=1)
    sigma_start = check_scalar(sigma_start, "sigma_start", low=0.0, low_inclusive=False)
    sigma_end = check_scalar(sigma_end, "sigma_end", low=0.0, low_inclusive=False)
    if num_iters == 1:
        return np.array([sigma_end])
    return np.geomspace(sigma_start, sigma_end, num_iters)


def dpir_schedule(num_iters: int, sigma_n: float, *, lam: float = DPIR_LAM,
                  sigma_start: float = DPIR_SIGMA_START, sigma_end: float | None = None):
    """The DPIR schedule: denoiser levels ``σ_k`` and penalties ``β_k = lam σ_n² / σ_k²``.

    Parameters
    ----------
    num_iters : int
        Number of iterations.
    sigma_n : float
        Noise level of the measurements (>= 0; values below :data:`SIGMA_FLOOR` count as
        ``SIGMA_FLOOR``).
    lam : float
        Trade-off of ``(1/2σ_n²)‖Ax − y‖² + lam ρ(x)`` (> 0).
    sigma_start : float
        First denoiser level.
    sigma_end : float, optional
        Last denoiser level (default: ``sigma_n``).

    Returns
    -------
    sigmas, betas : ndarray of shape (num_iters,)

    Notes
    -----
    Written as ``½‖Ax − y‖² + lam σ_n² ρ(v) + β/2 ‖x − v‖²``, the denoising step
    ``argmin_v lam σ_n² ρ(v) + β/2‖x − v‖²`` is a MAP denoiser for Gaussian noise of
    variance ``lam σ_n² / β``. Choosing ``σ_k`` fixes ``β_k = lam σ_n² / σ_k²``: β grows
    as the denoiser level decays.
    """
    sigma_n = max(check_scalar(sigma_n, "sigma_n", low=0.0), SIGMA_FLOOR)
    lam = check_scalar(lam, "lam", low=0.0, low_inclusive=False)
    end = sigma_n if sigma_end is None else sigma_end
    sigmas = sigma_schedule(num_iters, sigma_start, end)
    return sigmas, lam * sigma_n ** 2 / sigmas ** 2


# -- denoisers ------------------------------------------------------------------------
def make_denoiser(denoiser, *, clip: bool = True) -> Callable:
    """A function ``D(x, sigma) -> x_hat`` from a name or a callable.

    Parameters
    ----------
    denoiser : str or callable
        ``"tv"``, ``"bm3d"`` or ``"learned"`` (:func:`course_utils.denoisers.denoise`),
        ``"identity"`` (``D(x, σ) = x``: PnP then reduces to least squares), or a callable
        ``denoiser(x, sigma)``.
    clip : bool
        Clip ``x`` to [0, 1] before a named denoiser (they expect images in [0, 1]).
        Callables receive ``x`` unchanged.

    Returns
    -------
    callable
        ``D(x, sigma)``; ``sigma = 0`` returns ``x`` (clipped) for named denoisers.
    """
    if not isinstance(clip, bool):
        raise TypeError(f"clip must be a bool, got {type(clip).__name__}")
    if isinstance(denoiser, str):
        method = check_choice(denoiser, "denoiser", DENOISER_NAMES)
        if method == "identity":
            return lambda x, sigma: np.array(x, dtype=np.float64, copy=True)

        def named(x, sigma):
            from .denoisers import denoise

            x = np.asarray(x, dtype=np.float64)
            if clip:
                x = np.clip(x, 0.0, 1.0)
            if sigma <= 0.0:
                return x.copy()
            return np.asarray(denoise(x, float(sigma), method=method))
        named.__name__ = f"denoise_{method}"
        return named
    if callable(denoiser) and not callable(getattr(denoiser, "prox", None)):
        return denoiser
    raise TypeError(f"denoiser must be one of {DENOISER_NAMES}, a callable "
                    f"denoiser(x, sigma) or a prior with prox(x, tau), "
                    f"got {type(denoiser).__name__}")


def _is_prox(denoiser) -> bool:
    return not isinstance(denoiser, str) and callable(getattr(denoiser, "prox", None))


def admm_iteration(data_step: Callable, denoiser: Callable, v, u, beta: float,
                   sigma: float):
    """One PnP-ADMM iteration (scaled form): data step, denoising step, dual update.

    Parameters
    ----------
    data_step : callable
        ``data_step(z, beta)`` returning ``argmin_x ½‖Ax − y‖² + β/2 ‖x − z‖²``.
    denoiser : callable
        ``denoiser(x, sigma)``.
    v, u : ndarray
        Current prior variable and scaled dual variable.
    beta : float
        Penalty β > 0.
    sigma : float
        Denoiser level (>= 0).

    Returns
    -------
    x, v, u : ndarray
        ``x = data_step(v − u, β)``, ``v⁺ = D_σ(x + u)``, ``u⁺ = u + x − v⁺``.

    Notes
    -----
    ``u`` is the running sum of the constraint residuals ``x − v``: it pushes the next
    data step towards ``v − u`` and the next denoiser input to ``x + u`` until the two
    copies agree. HQS is the same iteration with ``u = 0`` kept at zero.

    References
    ----------
    S. Boyd, N. Parikh, E. Chu, B. Peleato and J. Eckstein, "Distributed optimization and
    statistical learning via the alternating direction method of multipliers",
    Foundations and Trends in Machine Learning 3(1), 2011.
    """
    if not callable(data_step):
        raise TypeError(f"data_step must be callable, got {type(data_step).__name__}")
    if not callable(denoiser):
        raise TypeError(f"denoiser must be callable, got {type(denoiser).__name__}")
    v = as_array(v, "v")
    u = as_array(u, "u", shape=v.shape)
    beta = _check_beta(beta)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    x = np.asarray(data_step(v - u, beta))
    v_new = np.asarray(denoiser(x + u, sigma))
    u_new = u + x - v_new
    return x, v_new, u_new


# -- initial estimates and tasks --------------------------------------------------------
def initial_estimate(A, y) -> np.ndarray:
    """A cheap first guess of ``x`` from ``y``, used to start PnP.

    ``y`` itself for a blur or the identity; for inpainting the observed pixels, with the
    missing ones filled by normalised Gaussian averaging of their observed neighbours;
    for (blurred) downsampling the pixel-replicated ``y``; zeros otherwise.

    Parameters
    ----------
    A : LinearOperator
    y : ndarray of shape ``A.out_shape``

    Returns
    -------
    ndarray of shape ``A.in_shape``
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    y = as_array(y, "y", shape=A.out_shape, allow_complex=False, dtype=np.float64)
    if isinstance(A, (Blur, Identity)):
        return y.copy()
    if isinstance(A, Inpainting):
        m = A.mask.astype(np.float64)
        num = scipy.ndimage.gaussian_filter(m * y, 2.0, mode="reflect")
        den = scipy.ndimage.gaussian_filter(m, 2.0, mode="reflect")
        fill = num / np.maximum(den, 1e-8)
        return np.where(A.mask, y, fill)
    down = A.a if isinstance(A, ComposedOperator) and isinstance(A.a, Downsample) else A
    if isinstance(down, Downsample):
        s = down.factor
        return np.repeat(np.repeat(y, s, axis=0), s, axis=1)
    return np.zeros(A.in_shape)


class Task(NamedTuple):
    """A restoration problem: operator, measurements, truth and what the eye sees."""

    #: one of :data:`TASK_NAMES`
    name: str
    #: forward operator
    A: LinearOperator
    #: noisy measurements ``A x + n``
    y: np.ndarray
    #: ground truth, shape (M, N)
    x: np.ndarray
    #: noise standard deviation
    sigma_n: float
    #: the observation shown at the size of ``x``: ``y`` (blur, inpainting) or ``y``
    #: with each pixel repeated ``s × s`` times (super-resolution)
    observation: np.ndarray


def make_task(name: str, x, *, sigma_n: float = 0.01, seed: int = 0,
              ratio: float = 0.3, kernel_sigma: float = 1.6) -> Task:
    """Build one of the notebook's restoration tasks on the image ``x``.

    Parameters
    ----------
    name : {"deblur", "inpainting", "sr2", "sr4"}
        ``"deblur"``: circular Gaussian blur (9 × 9 kernel of width ``kernel_sigma``);
        ``"inpainting"``: a random ``ratio`` of the pixels observed;
        ``"sr2"``/``"sr4"``: block averaging by 2 or 4 (super-resolution).
    x : ndarray of shape (M, N)
        Ground truth in [0, 1] (sides divisible by 4 for ``"sr4"``).
    sigma_n : float
        Standard deviation of the white Gaussian noise added to ``A x``.
    seed : int
        Seed of the noise and of the inpainting mask.
    ratio : float
        Fraction of observed pixels for inpainting, in (0, 1].
    kernel_sigma : float
        Width of the Gaussian blur, pixels.

    Returns
    -------
    Task
    """
    name = check_choice(name, "task", TASK_NAMES)
    x = as_image(x, "x", value_range=(0.0, 1.0))
    sigma_n = check_scalar(sigma_n, "sigma_n", low=0.0)
    seed = check_int(seed, "seed", low=0)
    from .data import add_noise

    if name == "deblur":
        A = Blur(x.shape, "gaussian", kernel_size=9, kernel_sigma=kernel_sigma)
    elif name == "inpainting":
        A = Inpainting(shape=x.shape, ratio=ratio, seed=seed)
    else:
        factor = 2 if name == "sr2" else 4
        if x.shape[0] % factor or x.shape[1] % factor:
            raise ValueError(f"x must have sides divisible by {factor} for {name!r}, "
                             f"got shape {x.shape}")
        A = Downsample(x.shape, factor, "average")
    y = add_noise(A(x), sigma_n, seed=seed)
    if isinstance(A, Inpainting):
        y = A(y)  # missing pixels carry no value
    if isinstance(A, Downsample):
        obs = np.repeat(np.repeat(y, A.factor, axis=0), A.factor, axis=1)
    else:
        obs = y.copy()
    return Task(name, A, y, x, sigma_n, obs)


# -- the drivers ------------------------------------------------------------------------
def _schedule(num_iters, sigma_n, lam, sigma_start, sigma_end, beta):
    """``(sigmas, betas)`` of length ``num_iters``: DPIR's, or from a given β."""
    num_iters = check_int(num_iters, "num_iters", low=1)
    sigma_n_eff = max(check_scalar(sigma_n, "sigma_n", low=0.0), SIGMA_FLOOR)
    lam = check_scalar(lam, "lam", low=0.0, low_inclusive=False)
    if beta is None:
        return dpir_schedule(num_iters, sigma_n, lam=lam, sigma_start=sigma_start,
                             sigma_end=sigma_end)
    if isinstance(beta, (int, float, np.floating, np.integer)) and not isinstance(beta, bool):
        betas = np.full(num_iters, _check_beta(beta))
    else:
        arr = as_array(beta, "beta", ndim=1, allow_complex=False, dtype=np.float64)
        if arr.size == 0 or np.any(arr <= 0):
            raise ValueError("beta must be a positive number or a non-empty sequence of "
                             "positive numbers")
        betas = np.concatenate([arr, np.full(max(num_iters - arr.size, 0), arr[-1])])
        betas = betas[:num_iters]
    return np.sqrt(lam * sigma_n_eff ** 2 / betas), betas


def _start(A, y, x0):
    if isinstance(x0, str):
        if x0 != "auto":
            raise ValueError(f"x0 must be an array or 'auto', got {x0!r}")
        return initial_estimate(A, y)
    return as_array(x0, "x0", shape=A.in_shape, allow_complex=False, dtype=np.float64)


def _run(solver, num_iters, sigmas, callback, on_step=None) -> SolverResult:
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    seconds, t0 = [], time.perf_counter()
    for k in range(num_iters):
        if on_step is not None:
            on_step(k)
        solver.step()
        seconds.append(time.perf_counter() - t0)
        if callback is not None and callback(solver) is True:
            break
    x_hat, history = solver.result()
    done = len(seconds)
    history["sigma"] = [float(s) for s in sigmas[:done]]
    history["seconds"] = seconds
    return SolverResult(x_hat, history)


def _splitting(cls, A, y, denoiser, sigma_n, num_iters, lam, sigma_start, sigma_end, beta,
               x0, x_true, clip, cg_iters, callback):
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    y = as_array(y, "y", shape=A.out_shape)
    sigmas, betas = _schedule(num_iters, sigma_n, lam, sigma_start, sigma_end, beta)
    data_step = make_data_step(A, y, cg_iters=cg_iters)
    if _is_prox(denoiser):
        prior = denoiser
    else:
        fn = make_denoiser(denoiser, clip=clip)
        # noise level handed to the denoiser: sqrt(lam_eff / beta_k) = sigma_k
        lam_eff = float(sigmas[0] ** 2 * betas[0])
        prior = DenoiserPrior(fn, lam=lam_eff)
    x0 = _start(A, y, x0)
    solver = cls(A, y, prior, tuple(betas), data_step=data_step, x0=x0, x_true=x_true)
    solver.data_step_kind = data_step.kind
    return _run(solver, num_iters, sigmas, callback)


_DRIVER_DOC = """
    Parameters
    ----------
    A : LinearOperator
        Forward operator (closed-form data steps: see :func:`make_data_step`).
    y : ndarray of shape ``A.out_shape``
        Measurements ``y = A x + n``.
    denoiser : str, callable or prior
        ``"tv"``, ``"bm3d"``, ``"learned"``, ``"identity"``, a callable
        ``denoiser(x, sigma)``, or an object with ``prox(x, tau)`` (e.g.
        ``course_utils.priors.TV(lam)``), used as ``prox(·, 1/β)``.
    sigma_n : float
        Noise level of ``y`` (>= 0), which scales the weights (floored at
        :data:`SIGMA_FLOOR`).
    num_iters : int
        Number of iterations.
    lam : float
        Trade-off of ``(1/2σ_n²)‖Ax − y‖² + lam ρ(x)`` (DPIR's λ, default 0.23).
    sigma_start, sigma_end : float
        Denoiser levels of the first and last iterations (geometric decay,
        :func:`dpir_schedule`); ``sigma_end`` defaults to ``sigma_n``.
    beta : float or sequence of float, optional
        A penalty β (constant) or one per iteration, instead of the schedule; the
        denoiser level is then ``σ_k = sqrt(lam σ_n² / β_k)``.
    x0 : ndarray or "auto"
        Starting prior variable ``v_0``; ``"auto"`` uses :func:`initial_estimate`.
    x_true : ndarray, optional
        Ground truth: adds ``"psnr"`` to the history.
    clip : bool
        Clip to [0, 1] before named denoisers.
    cg_iters : int
        CG iterations of the data step when no closed form exists.
    callback : callable, optional
        ``callback(solver)`` after each iteration; returning True stops.

    Returns
    -------
    SolverResult
        ``(x_hat, history)``: ``x_hat`` is the last denoiser output ``v``; the history
        has per-iteration ``"beta"``, ``"sigma"``, ``"primal_residual"`` ``‖x − v‖``,
        ``"rel_change"``, ``"seconds"`` (cumulative) and ``"psnr"`` when ``x_true`` is
        given."""


def pnp_hqs(A, y, denoiser="tv", *, sigma_n: float, num_iters: int = 8,
            lam: float = DPIR_LAM, sigma_start: float = DPIR_SIGMA_START,
            sigma_end: float | None = None, beta=None, x0="auto", x_true=None,
            clip: bool = True, cg_iters: int = 30, callback=None) -> SolverResult:
    """Plug-and-play half-quadratic splitting (DPIR when the schedule is DPIR's).
    {doc}

    Notes
    -----
    Splitting ``x = v`` and penalising the constraint (the lecture's
    ``min ‖H(x) − y‖² + λρ(v) + β‖x − v‖²``, here with factors ½) gives two steps,

    .. math::
        x_{{k+1}} = (A^TA + \\beta_k I)^{{-1}}(A^Ty + \\beta_k v_k), \\qquad
        v_{{k+1}} = D_{{\\sigma_k}}(x_{{k+1}}),

    the consistency step (closed form where possible) and a denoiser in place of the
    proximal map of the prior. Built on :class:`course_utils.solvers.HQS`.

    References
    ----------
    S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for model
    based reconstruction", GlobalSIP 2013.
    K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool and R. Timofte, "Plug-and-play image
    restoration with deep denoiser prior", IEEE TPAMI 44(10), 2021.
    """
    return _splitting(HQS, A, y, denoiser, sigma_n, num_iters, lam, sigma_start, sigma_end,
                      beta, x0, x_true, clip, cg_iters, callback)


def pnp_admm(A, y, denoiser="tv", *, sigma_n: float, num_iters: int = 8,
             lam: float = DPIR_LAM, sigma_start: float = DPIR_SIGMA_START,
             sigma_end: float | None = None, beta=None, x0="auto", x_true=None,
             clip: bool = True, cg_iters: int = 30, callback=None) -> SolverResult:
    """Plug-and-play ADMM (Venkatakrishnan et al. 2013).
    {doc}

    Notes
    -----
    The scaled dual variable ``u`` accumulates the disagreement between the two copies
    (see :func:`admm_iteration`):

    .. math::
        x_{{k+1}} = (A^TA + \\beta I)^{{-1}}(A^Ty + \\beta (v_k - u_k)), \\quad
        v_{{k+1}} = D_\\sigma(x_{{k+1}} + u_k), \\quad
        u_{{k+1}} = u_k + x_{{k+1}} - v_{{k+1}}.

    With the proximal map of a convex prior in place of ``D`` and a fixed β this is
    ADMM and converges to the minimiser; with a changing β, ``u`` is rescaled by
    ``β_old / β_new``. Built on :class:`course_utils.solvers.ADMM`.

    References
    ----------
    S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for model
    based reconstruction", GlobalSIP 2013.
    U. S. Kamilov, C. A. Bouman, G. T. Buzzard and B. Wohlberg, "Plug-and-play methods
    for integrating physical and learned models in computational imaging", IEEE Signal
    Processing Magazine 40(1), 2023.
    """
    return _splitting(ADMM, A, y, denoiser, sigma_n, num_iters, lam, sigma_start, sigma_end,
                      beta, x0, x_true, clip, cg_iters, callback)


pnp_hqs.__doc__ = pnp_hqs.__doc__.format(doc=_DRIVER_DOC)
pnp_admm.__doc__ = pnp_admm.__doc__.format(doc=_DRIVER_DOC)


def deep_proximal_gradient(A, y, denoiser="tv", *, sigma_n: float, num_iters: int = 20,
                           tau: float | None = None, sigma=None,
                           sigma_start: float = DPIR_SIGMA_START,
                           sigma_end: float | None = None, x0="auto", x_true=None,
                           clip: bool = True, callback=None) -> SolverResult:
    """Deep proximal gradient: ``x ← D_σ(x − τ Aᵀ(Ax − y))``.

    Parameters
    ----------
    A : LinearOperator
        Forward operator (only ``A`` and ``Aᵀ`` are applied: no data step to solve).
    y : ndarray of shape ``A.out_shape``
        Measurements.
    denoiser : str, callable or prior
        As in :func:`pnp_hqs`; a prior with ``prox`` gives plain proximal gradient
        (ISTA) on ``½‖Ax − y‖² + g(x)``.
    sigma_n : float
        Noise level of ``y``: the default last denoiser level.
    num_iters : int
        Number of iterations.
    tau : float, optional
        Gradient step, ``0 < τ < 2/‖A‖²`` (default ``1/‖A‖²``).
    sigma : float or sequence of float, optional
        Denoiser level(s): a constant, or one per iteration. Default: a geometric decay
        from ``sigma_start`` to ``sigma_end`` (= ``sigma_n``, floored at
        :data:`SIGMA_FLOOR`).
    sigma_start, sigma_end : float
        Ends of the default schedule.
    x0, x_true, clip, callback
        As in :func:`pnp_hqs`.

    Returns
    -------
    SolverResult
        ``(x_hat, history)`` with ``"sigma"``, ``"rel_change"``, ``"seconds"`` and
        ``"psnr"`` (given ``x_true``).

    Notes
    -----
    For a prior ``g = lam ρ`` the proximal-gradient step is
    ``prox_{τg}(x − τ∇f(x))``, the MAP denoiser at noise level ``sqrt(τ lam)``; deep
    proximal gradient puts a learned denoiser there. Each iteration costs one ``A``
    and one ``Aᵀ``, but more iterations are needed than with HQS, whose data step
    inverts ``AᵀA + βI`` exactly. Built on :class:`course_utils.solvers.ISTA`.

    References
    ----------
    U. S. Kamilov, C. A. Bouman, G. T. Buzzard and B. Wohlberg, "Plug-and-play methods
    for integrating physical and learned models in computational imaging", IEEE Signal
    Processing Magazine 40(1), 2023.
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    y = as_array(y, "y", shape=A.out_shape)
    num_iters = check_int(num_iters, "num_iters", low=1)
    sigma_n_eff = max(check_scalar(sigma_n, "sigma_n", low=0.0), SIGMA_FLOOR)
    if sigma is None:
        sigmas = sigma_schedule(num_iters, sigma_start,
                                sigma_n_eff if sigma_end is None else sigma_end)
    elif isinstance(sigma, (int, float, np.floating, np.integer)) and not isinstance(sigma,
                                                                                     bool):
        sigmas = np.full(num_iters, check_scalar(sigma, "sigma", low=0.0))
    else:
        arr = as_array(sigma, "sigma", ndim=1, allow_complex=False, dtype=np.float64)
        if arr.size == 0 or np.any(arr < 0):
            raise ValueError("sigma must be a non-negative number or a non-empty sequence")
        sigmas = np.concatenate([arr, np.full(max(num_iters - arr.size, 0), arr[-1])])
        sigmas = sigmas[:num_iters]
    x0 = _start(A, y, x0)
    if _is_prox(denoiser):
        solver = ISTA(A, y, denoiser, tau, x0=x0, x_true=x_true)
        return _run(solver, num_iters, np.full(num_iters, np.nan), callback)
    prior = DenoiserPrior(make_denoiser(denoiser, clip=clip), sigma=float(sigmas[0]))
    solver = ISTA(A, y, prior, tau, x0=x0, x_true=x_true)

    def set_sigma(k):
        prior.sigma = float(sigmas[k])
    return _run(solver, num_iters, sigmas, callback, on_step=set_sigma)


def pnp(A, y, denoiser="tv", method: str = "hqs", **kwargs) -> SolverResult:
    """Plug-and-play reconstruction with ``method`` in :data:`PNP_METHODS`.

    ``"hqs"`` calls :func:`pnp_hqs`, ``"admm"`` :func:`pnp_admm` and ``"pgd"``
    :func:`deep_proximal_gradient`; ``kwargs`` are passed on (``sigma_n`` is required).
    """
    method = check_choice(method, "method", PNP_METHODS)
    driver = {"hqs": pnp_hqs, "admm": pnp_admm, "pgd": deep_proximal_gradient}[method]
    return driver(A, y, denoiser, **kwargs)


# -- the results table ------------------------------------------------------------------
def run_benchmark_table(x, *, denoisers=("tv", "bm3d", "learned"), tasks=TASK_NAMES,
                        method: str = "hqs", sigma_n: float = 0.01, num_iters: int = 8,
                        seed: int = 0, include_observation: bool = True,
                        **kwargs) -> dict:
    """The method × task table: PSNR, SSIM and seconds of PnP with each denoiser.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Ground truth in [0, 1] (sides divisible by 4 for ``"sr4"``).
    denoisers : sequence of str
        Denoisers plugged in (names of :data:`DENOISER_NAMES`).
    tasks : sequence of str
        Tasks of :data:`TASK_NAMES`.
    method : str
        ``"hqs"``, ``"admm"`` or ``"pgd"``.
    sigma_n : float
        Noise level of every task.
    num_iters : int
        Iterations of every run.
    seed : int
        Seed of the noise and of the inpainting mask.
    include_observation : bool
        Add a row for the observation itself (``y``, or ``y`` pixel-replicated).
    **kwargs
        Passed to the driver (``lam``, ``sigma_start``...).

    Returns
    -------
    dict
        ``{"columns": [...], "rows": [[...], ...]}`` with columns ``method``, then
        ``<task> PSNR``, ``<task> SSIM``, ``<task> s`` for every task; PSNR in dB,
        SSIM in [−1, 1], wall-clock seconds of the reconstruction.
    """
    x = as_image(x, "x", value_range=(0.0, 1.0))
    if isinstance(denoisers, str) or isinstance(tasks, str):
        raise TypeError("denoisers and tasks must be sequences of names, not a string")
    denoisers = [check_choice(d, "denoiser", DENOISER_NAMES) for d in denoisers]
    tasks = [check_choice(t, "task", TASK_NAMES) for t in tasks]
    if not denoisers or not tasks:
        raise ValueError("denoisers and tasks must not be empty")
    method = check_choice(method, "method", PNP_METHODS)
    if not isinstance(include_observation, bool):
        raise TypeError(f"include_observation must be a bool, "
                        f"got {type(include_observation).__name__}")
    problems = [make_task(t, x, sigma_n=sigma_n, seed=seed) for t in tasks]
    columns = ["method"]
    for t in tasks:
        columns += [f"{t} PSNR", f"{t} SSIM", f"{t} s"]
    rows = []
    if include_observation:
        row = ["observation"]
        for task in problems:
            obs = np.clip(task.observation, 0.0, 1.0)
            row += [round(_psnr(x, obs), 2), round(_ssim(x, obs), 3), 0.0]
        rows.append(row)
    for d in denoisers:
        row = [f"PnP-{method.upper()} {d}"]
        for task in problems:
            t0 = time.perf_counter()
            x_hat, _ = pnp(task.A, task.y, d, method, sigma_n=sigma_n, num_iters=num_iters,
                           **kwargs)
            seconds = time.perf_counter() - t0
            x_hat = np.clip(x_hat, 0.0, 1.0)
            row += [round(_psnr(x, x_hat), 2), round(_ssim(x, x_hat), 3),
                    round(seconds, 2)]
        rows.append(row)
    return {"columns": columns, "rows": rows}


_COMPARISONS: dict = {}


def schedule_comparison(x, task: str = "inpainting", *, levels=(40, 10, 3),
                        sigma_n: float = 0.01, num_iters: int = 12, denoiser="learned",
                        seed: int = 0) -> dict:
    """PSNR per iteration of PnP-HQS with constant denoiser levels and with DPIR's schedule.

    For each level ``s`` of ``levels`` (in units of 1/255) HQS runs with the constant
    penalty ``β = DPIR_LAM σ_n² / (s/255)²``, whose denoiser level is ``s/255``; then once
    with the DPIR schedule (:func:`dpir_schedule`), all from the same start.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Ground truth in [0, 1].
    task : str
        One of :data:`TASK_NAMES` (made by :func:`make_task` with ``sigma_n`` and ``seed``).
    levels : sequence of float
        Constant denoiser levels, in units of 1/255.
    sigma_n : float
        Noise level of the measurements.
    num_iters : int
        Iterations of every run.
    denoiser : str
        A name of :data:`DENOISER_NAMES`.
    seed : int
        Seed of the noise and of the inpainting mask.

    Returns
    -------
    dict
        ``{"constant": {level: ndarray (num_iters,)}, "betas": {level: β},
        "dpir": ndarray (num_iters,)}``: PSNR in dB after each iteration.

    Notes
    -----
    Results are kept for the session (keyed by the bytes of ``x`` and the parameters), so
    that a second call with the same arguments, from a notebook or a check, is free. Do
    not modify the returned arrays.
    """
    x = as_image(x, "x", value_range=(0.0, 1.0))
    task = check_choice(task, "task", TASK_NAMES)
    denoiser = check_choice(denoiser, "denoiser", DENOISER_NAMES)
    try:
        levels = tuple(float(check_scalar(s, "levels[i]", low=0.0, low_inclusive=False))
                       for s in levels)
    except TypeError:
        raise TypeError(f"levels must be a sequence of positive numbers, got {levels!r}") \
            from None
    if not levels:
        raise ValueError("levels must not be empty")
    sigma_n = check_scalar(sigma_n, "sigma_n", low=0.0)
    num_iters = check_int(num_iters, "num_iters", low=1)
    seed = check_int(seed, "seed", low=0)
    key = (hashlib.sha1(np.ascontiguousarray(x, dtype=np.float64).tobytes()).hexdigest(),
           x.shape, task, levels, sigma_n, num_iters, denoiser, seed)
    if key not in _COMPARISONS:
        problem = make_task(task, x, sigma_n=sigma_n, seed=seed)
        sigma_eff = max(sigma_n, SIGMA_FLOOR)
        out = {"constant": {}, "betas": {}}
        for level in levels:
            beta = DPIR_LAM * sigma_eff ** 2 / (level / 255) ** 2
            _, hist = pnp_hqs(problem.A, problem.y, denoiser, sigma_n=sigma_n, beta=beta,
                              num_iters=num_iters, x_true=x)
            out["constant"][level] = np.asarray(hist["psnr"], dtype=float)
            out["betas"][level] = beta
        _, hist = pnp_hqs(problem.A, problem.y, denoiser, sigma_n=sigma_n,
                          num_iters=num_iters, x_true=x)
        out["dpir"] = np.asarray(hist["psnr"], dtype=float)
        if len(_COMPARISONS) > 8:
            _COMPARISONS.clear()
        _COMPARISONS[key] = out
    return _COMPARISONS[key]
