"""MRI forward models: a masked centred FFT (Cartesian) and a NUFFT (radial, spiral)."""
from __future__ import annotations

import numpy as np

from .._kspace import PATTERNS, _check_mask, _fft2c, _ifft2c, sampling_mask, trajectory
from .._validate import as_array, check_choice, check_int, check_scalar, check_shape
from .base import LinearOperator
from .registry import register_operator

__all__ = ["CartesianMRI", "NonCartesianMRI", "density_compensation", "DCF_METHODS"]

#: Density-compensation methods of :func:`density_compensation`.
DCF_METHODS: tuple[str, ...] = ("pipe", "ramp")


class CartesianMRI(LinearOperator):
    """Undersampled Cartesian MRI: ``y = m ⊙ F x`` with ``F`` the centred orthonormal FFT.

    Parameters
    ----------
    mask : ndarray of shape (M, N)
        0/1 (or boolean) k-space mask, zero frequency at ``(M // 2, N // 2)``, e.g. from
        :func:`course_utils.mri.sampling_mask`.

    Notes
    -----
    ``y`` keeps the full grid, shape ``(M, N)``, with zeros where ``m = 0``, so k-space
    can be shown as an image. The adjoint is ``A^H y = F^H (m ⊙ y)``, the zero-filled
    reconstruction; ``A^H A = F^H \\mathrm{diag}(m) F`` is an orthogonal projector, so
    ``‖A‖ = 1`` and the least-squares problem has the closed form used by :meth:`pinv`.

    Both sides are complex: ``x`` must be a complex array (pass a real image as
    ``x.astype(complex)``); real input raises ``TypeError``, because an MR image is
    complex and a silently real image hides the phase.
    """

    def __init__(self, mask):
        mask = _check_mask(mask, "mask")
        super().__init__(mask.shape, mask.shape, in_kind="complex", out_kind="complex",
                         name="mri_cartesian")
        self.mask = mask
        self.mask.flags.writeable = False

    @property
    def sampling_fraction(self) -> float:
        """Fraction of the k-space grid that is sampled (``1 / R``)."""
        return float(self.mask.mean())

    def _forward(self, x):
        return _fft2c(x) * self.mask

    def _adjoint(self, y):
        return _ifft2c(y * self.mask)

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """Exactly 1: the mask samples at least one point of an orthonormal transform
        (the power-iteration arguments are checked and unused)."""
        check_int(num_iters, "num_iters", low=1)
        check_scalar(tol, "tol", low=0.0)
        return 1.0

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """Closed form of ``argmin ‖A x − y‖² + damp ‖x‖²``: ``F^H (m ⊙ y) / (1 + damp)``
        (``num_iters`` and ``tol`` are accepted for the common signature and unused)."""
        damp = check_scalar(damp, "damp", low=0.0)
        return self.adjoint(y) / (1.0 + damp)

    dagger = pinv


def _check_trajectory(traj, name="trajectory"):
    arr = as_array(traj, name, ndim=2, allow_complex=False, dtype=np.float64)
    if arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (K, 2) with K >= 1 (rows ω_row, ω_col), "
                         f"got {arr.shape}")
    if arr.min() < -np.pi or arr.max() >= np.pi:
        raise ValueError(f"{name} must lie in [-pi, pi) (radians; ω = 2π k / M), got values "
                         f"in [{arr.min():.4g}, {arr.max():.4g}]")
    return np.ascontiguousarray(arr)


def _ramp_weights(traj, shape):
    M, N = shape
    radius = np.hypot(traj[:, 0] * M, traj[:, 1] * N) / (2.0 * np.pi)   # in grid units
    positive = radius[radius > 0]
    r_min = positive.min() if positive.size else 1.0
    radius = np.where(radius > 0, radius, r_min / 4.0)
    # For a radial trajectory the samples at radius r have density ∝ 1/r; the total is
    # the area of the sampled disc, π (M/2)(N/2) grid cells.
    return radius * (np.pi * M * N / 4.0) / radius.sum()


def _hann(n):
    """Hann window of length n, equal to 1 at index n // 2 (the image centre)."""
    offset = np.arange(n) - n // 2
    return np.cos(np.pi * offset / (2 * (n // 2 + 1))) ** 2


def density_compensation(trajectory, shape, method: str = "pipe", *,
                         num_iters: int = 10, eps: float = 1e-6) -> np.ndarray:
    """Density-compensation weights ``w`` of a non-Cartesian trajectory.

    Parameters
    ----------
    trajectory : ndarray of shape (K, 2)
        Sample positions ``(ω_row, ω_col)`` in radians, in ``[-π, π)``.
    shape : tuple of int
        Image shape ``(M, N)``.
    method : {"pipe", "ramp"}
        ``"pipe"``: the iterative method of Pipe and Menon [1]_, for any trajectory.
        ``"ramp"``: ``w ∝ |k|``, exact for radial spokes only [2]_.
    num_iters : int
        Iterations of ``"pipe"``.
    eps : float
        NUFFT accuracy used by ``"pipe"``.

    Returns
    -------
    w : ndarray of shape (K,), positive
        The k-space area each sample stands for, in grid cells (1 for a fully sampled
        Cartesian grid), so that ``A^H (w ⊙ A x) ≈ x`` for the NUFFT ``A`` of
        :class:`NonCartesianMRI`.

    Notes
    -----
    Pipe–Menon iterates ``w ← w / (C w)`` where ``(C w)_i = Σ_j w_j D(k_i − k_j)`` is the
    density of the weighted samples seen through a kernel ``D`` of unit integral (in
    grid cells); at the fixed point every sample sees a weighted density of one, so
    ``w_j`` is the k-space area around sample ``j``. Here ``D`` is the kernel of
    ``A_2 H A_2^H``, with ``A_2`` the NUFFT onto a grid twice the field of view and ``H``
    a Hann window over it: a positive main lobe about one grid cell wide. On radial
    spokes ten iterations match the analytic ``|k|`` weights to 0.2 % between 5 % and
    80 % of the radius; they differ at the rim (no samples beyond it) and at the zero
    frequency, where a narrow kernel matters because every spoke or arm samples it and
    its weight sets the image mean.

    References
    ----------
    .. [1] J. G. Pipe and P. Menon, "Sampling density compensation in MRI: rationale
       and an iterative numerical solution", Magn. Reson. Med. 41(1), 179–186, 1999.
    .. [2] J. I. Jackson, C. H. Meyer, D. G. Nishimura and A. Macovski, "Selection of a
       convolution function for Fourier inversion using gridding", IEEE Trans. Med.
       Imaging 10(3), 473–478, 1991.
    """
    traj = _check_trajectory(trajectory)
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    check_choice(method, "method", DCF_METHODS)
    num_iters = check_int(num_iters, "num_iters", low=1)
    eps = check_scalar(eps, "eps", low=1e-15, high=1e-1)
    if method == "ramp":
        return _ramp_weights(traj, shape)
    import finufft
    M, N = shape
    grid = (2 * M, 2 * N)                     # twice the field of view: a narrow kernel
    plan1 = finufft.Plan(1, grid, eps=eps, isign=1, nthreads=1)
    plan2 = finufft.Plan(2, grid, eps=eps, isign=-1, nthreads=1)
    plan1.setpts(traj[:, 0].copy(), traj[:, 1].copy())
    plan2.setpts(traj[:, 0].copy(), traj[:, 1].copy())
    window = np.outer(_hann(grid[0]), _hann(grid[1])) / (M * N)
    w = np.ones(traj.shape[0])
    for _ in range(num_iters):
        density = np.abs(plan2.execute(window * plan1.execute(w.astype(np.complex128))))
        w = w / np.maximum(density, np.finfo(float).tiny)
    return w


class NonCartesianMRI(LinearOperator):
    """Non-Cartesian MRI: ``y_j = (1/√(MN)) Σ_m x[m] e^{−i ω_j · (m − c)}`` (a NUFFT).

    Parameters
    ----------
    trajectory : ndarray of shape (K, 2)
        Sample positions ``(ω_row, ω_col)`` in radians, in ``[-π, π)``, e.g. from
        :func:`course_utils.mri.trajectory`. Values outside raise ``ValueError``.
    shape : tuple of int
        Image shape ``(M, N)``; ``c = (M // 2, N // 2)``.
    eps : float
        Relative accuracy of FINUFFT [1]_. The default 1e-12 makes the forward and the
        adjoint exact to about 1e-12, so the dot test holds far below 1e-6.

    Notes
    -----
    Forward: a type-2 NUFFT (uniform image → non-uniform frequencies); adjoint: the
    type-1 NUFFT with the opposite sign, the exact conjugate transpose of the same sum.
    Both are scaled by ``1/√(MN)`` so that on the Cartesian grid ``ω = 2π (k − M//2)/M``
    the operator is the orthonormal :func:`course_utils.mri.fft2c`.

    The adjoint does **not** compensate for the sampling density: ``A^H y`` of a radial
    scan over-weights the densely sampled centre (a blurred picture). The gridding
    reconstruction is :meth:`gridding_recon`, ``A^H (w ⊙ y)`` with the weights of
    :meth:`density_compensation`; iterative methods use ``A`` and ``A^H`` as they are.
    FINUFFT runs single-threaded, so results are bit-for-bit reproducible. ``x`` must
    be complex (``x.astype(complex)`` for a real image); real input raises
    ``TypeError``.

    References
    ----------
    .. [1] A. H. Barnett, J. Magland and L. af Klinteberg, "A parallel nonuniform fast
       Fourier transform library based on an 'exponential of semicircle' kernel",
       SIAM J. Sci. Comput. 41(5), C479–C504, 2019.
    .. [2] J. A. Fessler and B. P. Sutton, "Nonuniform fast Fourier transforms using
       min-max interpolation", IEEE Trans. Signal Process. 51(2), 560–574, 2003.
    """

    def __init__(self, trajectory, shape, *, eps: float = 1e-12):
        import finufft
        traj = _check_trajectory(trajectory)
        shape = check_shape(shape, "shape")
        if len(shape) != 2:
            raise ValueError(f"shape must be (M, N), got {shape}")
        eps = check_scalar(eps, "eps", low=1e-15, high=1e-1)
        super().__init__(shape, (traj.shape[0],), in_kind="complex", out_kind="complex",
                         name="mri_nufft")
        self.trajectory = traj
        self.trajectory.flags.writeable = False
        self.eps = eps
        self._scale = 1.0 / np.sqrt(shape[0] * shape[1])
        self._plan2 = finufft.Plan(2, shape, eps=eps, isign=-1, nthreads=1)
        self._plan1 = finufft.Plan(1, shape, eps=eps, isign=1, nthreads=1)
        self._plan2.setpts(traj[:, 0].copy(), traj[:, 1].copy())
        self._plan1.setpts(traj[:, 0].copy(), traj[:, 1].copy())
        self._weights: dict[str, np.ndarray] = {}

    @property
    def num_samples(self) -> int:
        """Number of k-space samples ``K``."""
        return int(self.trajectory.shape[0])

    def _forward(self, x):
        x = np.ascontiguousarray(x, dtype=np.complex128)
        return self._plan2.execute(x) * self._scale

    def _adjoint(self, y):
        y = np.ascontiguousarray(y, dtype=np.complex128)
        return self._plan1.execute(y) * self._scale

    def density_compensation(self, method: str = "pipe", **kwargs) -> np.ndarray:
        """Density-compensation weights of this trajectory (cached per method); see
        :func:`density_compensation`."""
        check_choice(method, "method", DCF_METHODS)
        key = method + repr(sorted(kwargs.items()))
        if key not in self._weights:
            w = density_compensation(self.trajectory, self.in_shape, method, **kwargs)
            w.flags.writeable = False
            self._weights[key] = w
        return self._weights[key]

    def gridding_recon(self, y, weights=None) -> np.ndarray:
        """Density-compensated adjoint ``x_hat = A^H (w ⊙ y)``.

        Parameters
        ----------
        y : ndarray of shape (K,), complex
            k-space samples.
        weights : ndarray of shape (K,), optional
            Density compensation (default: Pipe–Menon, :meth:`density_compensation`).

        Returns
        -------
        x_hat : ndarray of shape (M, N), complex
            With ``w`` in grid cells, ``A^H W A ≈ I`` on band-limited images, so ``x_hat``
            has the intensity scale of ``x``; it is exact for a full Cartesian grid.
        """
        if weights is None:
            weights = self.density_compensation()
        weights = as_array(weights, "weights", shape=self.out_shape, allow_complex=False)
        y = self._check(y, self.out_shape, self.out_kind, "y")
        return self._adjoint(weights * y)

    def psf(self, weights=None) -> np.ndarray:
        """Point-spread function ``A^H w`` normalised to 1 at the centre pixel.

        Parameters
        ----------
        weights : ndarray of shape (K,), optional
            Density compensation (default: Pipe–Menon).

        Returns
        -------
        ndarray of shape (M, N), complex
        """
        if weights is None:
            weights = self.density_compensation()
        weights = as_array(weights, "weights", shape=self.out_shape, allow_complex=False)
        image = self._adjoint(weights.astype(np.complex128))
        M, N = self.in_shape
        return image / image[M // 2, N // 2]

    def __repr__(self):
        return f"NonCartesianMRI(shape={self.in_shape}, num_samples={self.num_samples})"


@register_operator("mri_cartesian")
def _make_cartesian(shape=(24, 24), pattern="variable_density", acceleration=4.0,
                    center_fraction=0.125, seed=0, mask=None, **mask_kwargs):
    """Default: a 24 × 24 variable-density line mask at 4× (6 lines, 3 of them central)."""
    if mask is None:
        check_choice(pattern, "pattern", PATTERNS)
        mask = sampling_mask(pattern, shape, acceleration, center_fraction, seed,
                             **mask_kwargs)
    return CartesianMRI(mask)


@register_operator("mri_nufft")
def _make_nufft(shape=(24, 24), pattern="radial", acceleration=2.0, center_fraction=0.125,
                seed=0, traj=None, eps=1e-12, **traj_kwargs):
    """Default: 24 × 24 image, 12 radial spokes of 24 samples (288 samples)."""
    if traj is None:
        check_choice(pattern, "pattern", PATTERNS)
        traj = trajectory(pattern, shape, acceleration, center_fraction, seed, **traj_kwargs)
    return NonCartesianMRI(traj, shape, eps=eps)

