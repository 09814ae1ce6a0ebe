"""Light-field microscopy: wave-optics PSFs per depth and the periodically shift-invariant filter bank ``y = Hx``."""
from __future__ import annotations

import functools

import numpy as np

from .._validate import as_array, check_int, check_scalar
from .base import LinearOperator
from .registry import register_operator

__all__ = ["LightField", "OPTICS", "DEPTHS", "lfm_psfs", "check_depths"]

#: The microscope of the course: a 20×/0.5 water-immersion objective, a micro-lens array in
#: its native image plane with 9×9 sensor pixels of 6.5 µm behind each lenslet (pitch
#: 58.5 µm), the lenslets' f-number matched to the objective's image-side NA, and the green
#: emission of GCaMP (525 nm).
OPTICS: dict = {"magnification": 20.0, "na": 0.5, "medium_index": 1.33, "wavelength": 0.525,
                "pixel_size": 6.5}
#: Depths of the course's volume, in µm from the native focal plane (positive: away from
#: the objective).
DEPTHS: tuple[float, ...] = (-16.0, -12.0, -8.0, -4.0, 0.0, 4.0, 8.0, 12.0, 16.0)
_OVERSAMPLE = 3          # field samples per sensor pixel and per axis


def check_depths(depths, name: str = "depths") -> tuple[float, ...]:
    """Depths in µm as a tuple of distinct finite floats in increasing order."""
    arr = as_array(depths, name, ndim=(0, 1), allow_complex=False, dtype=np.float64)
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one depth")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    if np.max(np.abs(arr)) > 200:
        raise ValueError(f"{name} must lie within ±200 µm of the focal plane, got "
                         f"{arr.tolist()}")
    return tuple(float(d) for d in arr)


def _check_optics(optics) -> tuple:
    if optics is None:
        optics = {}
    if not isinstance(optics, dict):
        raise TypeError(f"optics must be a dict, got {type(optics).__name__}")
    unknown = sorted(set(optics) - set(OPTICS))
    if unknown:
        raise ValueError(f"optics has unknown keys {unknown}; expected some of "
                         f"{sorted(OPTICS)}")
    merged = dict(OPTICS, **optics)
    for key, value in merged.items():
        merged[key] = check_scalar(value, f"optics[{key!r}]", low=0.0, low_inclusive=False)
    if merged["na"] >= merged["medium_index"]:
        raise ValueError(f"optics['na'] must be below the medium index "
                         f"{merged['medium_index']}, got {merged['na']}")
    return tuple(merged[k] for k in sorted(merged))


@functools.lru_cache(maxsize=8)
def _psfs_cached(depths: tuple, pitch: int, voxels_per_lenslet: int, kernel_lenslets: int,
                 optics: tuple) -> np.ndarray:
    o = dict(zip(sorted(OPTICS), optics))
    mag, na, n_med, lam, pix = (o["magnification"], o["na"], o["medium_index"],
                                o["wavelength"], o["pixel_size"])
    P, s, k, os_ = pitch, voxels_per_lenslet, kernel_lenslets, _OVERSAMPLE
    pitch_img = P * pix                               # lenslet pitch at the MLA (µm)
    na_img = na / mag
    f_ml = pitch_img / (2.0 * na_img)                 # f-number matched to the objective
    # The field is computed on a grid of (k + 2) lenslets (one lenslet of guard band on
    # each side against the FFT's wrap-around), then cropped to k lenslets.
    n = (k + 2) * P * os_
    dx_img = pix / os_
    dx_obj = dx_img / mag
    f = np.fft.fftfreq(n, d=dx_obj)                   # object-side spatial frequencies
    fy, fx = np.meshgrid(f, f, indexing="ij")
    rho2 = fx ** 2 + fy ** 2
    pupil = rho2 <= (na / lam) ** 2
    kz = np.sqrt(np.maximum((n_med / lam) ** 2 - rho2, 0.0))
    apod = np.sqrt(kz * lam / n_med) * pupil          # sqrt(cos θ): aplanatic objective
    x_img = (np.arange(n) + 0.5) * dx_img - n * dx_img / 2
    local = x_img - pitch_img * np.round(x_img / pitch_img)
    mla = np.exp(-1j * np.pi * (local[:, None] ** 2 + local[None, :] ** 2) / (lam * f_ml))
    f_img = np.fft.fftfreq(n, d=dx_img)
    fresnel = np.exp(-1j * np.pi * lam * f_ml * (f_img[:, None] ** 2 + f_img[None, :] ** 2))
    voxel = pitch_img / (s * mag)                     # voxel side in the object (µm)
    offsets = (np.arange(s) + 0.5 - s / 2) * voxel
    crop = slice(P * os_, (k + 1) * P * os_)
    out = np.empty((len(depths), s, s, k * P, k * P))
    for d, z in enumerate(depths):
        defocus = apod * np.exp(2j * np.pi * z * kz)
        for a, oy in enumerate(offsets):
            for b, ox in enumerate(offsets):
                spectrum = defocus * np.exp(-2j * np.pi * (fy * oy + fx * ox))
                # Field at the native image plane (centred), magnified by M: same samples.
                field = np.fft.fftshift(np.fft.ifft2(spectrum))
                sensor = np.fft.ifft2(np.fft.fft2(field * mla) * fresnel)
                inten = np.abs(sensor[crop, crop]) ** 2
                inten = inten.reshape(k * P, os_, k * P, os_).sum(axis=(1, 3))
                out[d, a, b] = inten / inten.sum()
    out.setflags(write=False)
    return out


def lfm_psfs(depths=DEPTHS, *, pitch: int = 9, voxels_per_lenslet: int = 3,
             kernel_lenslets: int = 9, optics: dict | None = None) -> np.ndarray:
    """Sensor images of point sources, one per depth and per voxel position within a lenslet.

    Parameters
    ----------
    depths : sequence of float
        Depths in µm from the native focal plane.
    pitch : int
        Sensor pixels per lenslet along each axis.
    voxels_per_lenslet : int
        Voxels per lenslet along each axis in the volume (its lateral sampling).
    kernel_lenslets : int
        Odd side of each kernel in lenslets (the PSF is truncated there).
    optics : dict, optional
        Overrides of :data:`OPTICS`.

    Returns
    -------
    ndarray of shape (D, s, s, kernel_lenslets · pitch, kernel_lenslets · pitch)
        ``psf[d, a, b]`` is the intensity on the sensor of a point source at depth
        ``depths[d]`` in voxel ``(a, b)`` of the central lenslet, normalised to unit sum
        (read-only; cached).

    Notes
    -----
    A scalar wave model, simplified: the objective is an aplanatic pupil of numerical
    aperture NA (angular spectrum of the source with the Debye apodisation √cos θ and the
    defocus phase ``exp(2πi z k_z)``); the tube lens is an ideal telecentric relay of
    magnification M (no phase curvature at the native image plane); the micro-lens array
    is a square grid of ideal thin lenses (quadratic phase, 100 % fill factor, focal length
    ``pitch / (2 NA/M)``), followed by paraxial Fresnel propagation over that focal length
    to the sensor; monochromatic light, no aberrations, no polarisation; sensor pixels
    integrate the intensity of 3 × 3 field samples; each kernel is truncated to
    ``kernel_lenslets`` lenslets and normalised to unit sum (the light lost outside it is
    ignored).
    """
    depths = check_depths(depths)
    pitch = check_int(pitch, "pitch", low=1)
    s = check_int(voxels_per_lenslet, "voxels_per_lenslet", low=1)
    if s > pitch:
        raise ValueError(f"voxels_per_lenslet must be <= pitch = {pitch}, got {s}")
    k = check_int(kernel_lenslets, "kernel_lenslets", low=1)
    if k % 2 == 0:
        raise ValueError(f"kernel_lenslets must be odd, got {k}")
    return _psfs_cached(depths, pitch, s, k, _check_optics(optics))


class LightField(LinearOperator):
    """The light-field microscope ``y = Hx``: a volume of ``D`` depths to the sensor image.

    Parameters
    ----------
    depths : sequence of float
        Depths of the volume's planes in µm (default :data:`DEPTHS`, 9 planes 4 µm apart).
    pitch : int
        Sensor pixels per lenslet along each axis (default 9).
    sensor : int, optional
        Side of the (square) sensor in pixels, a multiple of ``pitch``; default
        ``pitch · lenslets``.
    lenslets : int
        Lenslets along each axis when ``sensor`` is not given (default 24).
    voxels_per_lenslet : int
        Lateral voxels per lenslet along each axis (default 3).
    kernel_lenslets : int
        Odd side of the PSF kernels in lenslets (default 9), at most ``lenslets``.
    optics : dict, optional
        Overrides of :data:`OPTICS`.

    Notes
    -----
    ``x`` has shape ``(D, s L, s L)`` (depth, rows, columns; ``s`` voxels per lenslet,
    ``L`` lenslets) and ``y`` shape ``(P L, P L)``. A point source's image depends on its
    depth and on its position within its lenslet, and it moves with the lenslet grid: the
    operator is *periodically* shift-invariant. With the volume split into its polyphase
    components ``x_{d,a,b}[m] = x_d[s m + a, s m' + b]`` and the sensor into its views
    ``y_{u,v}[ℓ] = y[P ℓ + u, P ℓ' + v]``, ``H`` is a filter bank: every view is a sum of
    2-D convolutions over the lenslet grid, one kernel per depth, voxel position
    ``(a, b)`` and view ``(u, v)`` — the PSF :func:`lfm_psfs` cut into lenslet-sized
    pieces. The convolutions are circular over the lenslet grid (periodic boundary) and
    run as FFTs: one matrix ``(P², D s²)`` per spatial frequency. The adjoint multiplies
    by the conjugate transposes, so it is exact to round-off. Every kernel sums to one,
    so ``Σ y = Σ x`` and ``Hᵀ 1 = 1``.
    """

    def __init__(self, depths=DEPTHS, *, pitch: int = 9, sensor: int | None = None,
                 lenslets: int = 24, voxels_per_lenslet: int = 3, kernel_lenslets: int = 9,
                 optics: dict | None = None):
        pitch = check_int(pitch, "pitch", low=1)
        if sensor is not None:
            sensor = check_int(sensor, "sensor", low=1)
            if sensor % pitch:
                raise ValueError(f"pitch must divide the sensor: sensor = {sensor} pixels is "
                                 f"not a multiple of pitch = {pitch}")
            lenslets = sensor // pitch
        lenslets = check_int(lenslets, "lenslets", low=1)
        kernel_lenslets = check_int(kernel_lenslets, "kernel_lenslets", low=1)
        if kernel_lenslets > lenslets:
            raise ValueError(f"kernel_lenslets must be <= lenslets = {lenslets}, got "
                             f"{kernel_lenslets}")
        self.psfs = lfm_psfs(depths, pitch=pitch, voxels_per_lenslet=voxels_per_lenslet,
                             kernel_lenslets=kernel_lenslets, optics=optics)
        self.depths = check_depths(depths)
        self.pitch, self.lenslets = pitch, lenslets
        self.voxels_per_lenslet = s = int(voxels_per_lenslet)
        self.kernel_lenslets = k = kernel_lenslets
        self.optics = dict(OPTICS, **(optics or {}))
        D, P, L = len(self.depths), pitch, lenslets
        super().__init__((D, s * L, s * L), (P * L, P * L), in_kind="real", out_kind="real",
                         name="LightField")
        c = k // 2
        # polyphase kernels g[out=(u, v), in=(d, a, b), Δr, Δc] on the circular lenslet grid
        g = self.psfs.reshape(D, s, s, k, P, k, P).transpose(4, 6, 0, 1, 2, 3, 5)
        g = g.reshape(P * P, D * s * s, k, k)
        circ = np.zeros((P * P, D * s * s, L, L))
        idx = (np.arange(k) - c) % L
        circ[:, :, idx[:, None], idx[None, :]] = g
        spec = np.fft.rfft2(circ)                      # (P², D s², L, L//2 + 1)
        self._F = L * (L // 2 + 1)
        self._G = np.ascontiguousarray(spec.reshape(P * P, D * s * s, self._F)
                                       .transpose(2, 0, 1))
        self._GH = np.ascontiguousarray(np.conj(self._G).transpose(0, 2, 1))

    # -- layout helpers ------------------------------------------------------------------
    def to_polyphase(self, x) -> np.ndarray:
        """``x`` (D, sL, sL) → its polyphase components, shape (D, s, s, L, L)."""
        x = as_array(x, "x", shape=self.in_shape, allow_complex=False)
        D, s, L = len(self.depths), self.voxels_per_lenslet, self.lenslets
        return x.reshape(D, L, s, L, s).transpose(0, 2, 4, 1, 3)

    def views(self, y) -> np.ndarray:
        """The sensor image ``y`` (PL, PL) as its views (sub-aperture images): shape
        (P, P, L, L), ``views[u, v]`` holding pixel ``(u, v)`` of every lenslet."""
        y = as_array(y, "y", shape=self.out_shape, allow_complex=False)
        P, L = self.pitch, self.lenslets
        return y.reshape(L, P, L, P).transpose(1, 3, 0, 2)

    def depth_index(self, depth) -> int:
        """Index of ``depth`` (µm) in :attr:`depths`; a depth not in the volume raises."""
        value = check_scalar(depth, "depth")
        for i, d in enumerate(self.depths):
            if abs(d - value) <= 1e-9:
                return i
        raise ValueError(f"depth must be one of the volume's depths {list(self.depths)} µm, "
                         f"got {value:g}")

    def kernels(self, depth) -> np.ndarray:
        """The filter bank of one depth: shape (s, s, kP, kP), one sensor kernel per voxel
        position within a lenslet (``depth`` in µm, one of :attr:`depths`)."""
        return self.psfs[self.depth_index(depth)]

    # -- the operator ---------------------------------------------------------------------
    def _forward(self, x):
        D, s, L, P = len(self.depths), self.voxels_per_lenslet, self.lenslets, self.pitch
        xp = x.reshape(D, L, s, L, s).transpose(0, 2, 4, 1, 3).reshape(D * s * s, L, L)
        xf = np.fft.rfft2(xp).reshape(D * s * s, self._F).T[:, :, None]
        yf = np.matmul(self._G, xf)[:, :, 0].T.reshape(P * P, L, L // 2 + 1)
        yp = np.fft.irfft2(yf, s=(L, L))
        return yp.reshape(P, P, L, L).transpose(2, 0, 3, 1).reshape(P * L, P * L)

    def _adjoint(self, y):
        D, s, L, P = len(self.depths), self.voxels_per_lenslet, self.lenslets, self.pitch
        yp = y.reshape(L, P, L, P).transpose(1, 3, 0, 2).reshape(P * P, L, L)
        yf = np.fft.rfft2(yp).reshape(P * P, self._F).T[:, :, None]
        xf = np.matmul(self._GH, yf)[:, :, 0].T.reshape(D * s * s, L, L // 2 + 1)
        xp = np.fft.irfft2(xf, s=(L, L))
        return xp.reshape(D, s, s, L, L).transpose(0, 3, 1, 4, 2).reshape(D, s * L, s * L)

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """Spectral norm ``‖H‖₂``, exactly: the DFT over the lenslet grid block-diagonalises
        ``H``, so its singular values are those of the per-frequency matrices (the
        arguments of the power iteration are accepted and validated, not needed)."""
        check_int(num_iters, "num_iters", low=1)
        check_scalar(tol, "tol", low=0.0)
        if self._norm is None or recompute:
            self._norm = float(np.linalg.norm(self._G, 2, axis=(1, 2)).max())
        return self._norm

    # -- many volumes at once (one matrix product per frequency) ---------------------------
    def forward_batch(self, xs) -> np.ndarray:
        """``H x`` for a stack of volumes ``xs`` of shape (B, D, sL, sL): shape (B, PL, PL)."""
        xs = as_array(xs, "xs", ndim=4, allow_complex=False, dtype=np.float64)
        if xs.shape[1:] != self.in_shape:
            raise ValueError(f"xs must have shape (B, *{self.in_shape}), got {xs.shape}")
        B = xs.shape[0]
        D, s, L, P = len(self.depths), self.voxels_per_lenslet, self.lenslets, self.pitch
        xp = xs.reshape(B, D, L, s, L, s).transpose(1, 3, 5, 0, 2, 4).reshape(D * s * s, B, L, L)
        xf = np.fft.rfft2(xp).reshape(D * s * s, B, self._F).transpose(2, 0, 1)
        yf = np.matmul(self._G, xf).transpose(1, 2, 0).reshape(P * P, B, L, L // 2 + 1)
        yp = np.fft.irfft2(yf, s=(L, L))
        return yp.reshape(P, P, B, L, L).transpose(2, 3, 0, 4, 1).reshape(B, P * L, P * L)

    def adjoint_batch(self, ys) -> np.ndarray:
        """``Hᵀ y`` for a stack of sensor images ``ys`` (B, PL, PL): shape (B, D, sL, sL)."""
        ys = as_array(ys, "ys", ndim=3, allow_complex=False, dtype=np.float64)
        if ys.shape[1:] != self.out_shape:
            raise ValueError(f"ys must have shape (B, *{self.out_shape}), got {ys.shape}")
        B = ys.shape[0]
        D, s, L, P = len(self.depths), self.voxels_per_lenslet, self.lenslets, self.pitch
        yp = ys.reshape(B, L, P, L, P).transpose(2, 4, 0, 1, 3).reshape(P * P, B, L, L)
        yf = np.fft.rfft2(yp).reshape(P * P, B, self._F).transpose(2, 0, 1)
        xf = np.matmul(self._GH, yf).transpose(1, 2, 0).reshape(D * s * s, B, L, L // 2 + 1)
        xp = np.fft.irfft2(xf, s=(L, L))
        return (xp.reshape(D, s, s, B, L, L).transpose(3, 0, 4, 1, 5, 2)
                .reshape(B, D, s * L, s * L))

    def __repr__(self):
        return (f"LightField(depths={len(self.depths)}, pitch={self.pitch}, "
                f"lenslets={self.lenslets}, voxels_per_lenslet={self.voxels_per_lenslet}, "
                f"kernel_lenslets={self.kernel_lenslets})")


@register_operator("lightfield")
def _make_lightfield(depths=(-8.0, 0.0, 8.0), pitch=5, lenslets=4, voxels_per_lenslet=2,
                     kernel_lenslets=3, **kwargs):
    """Default: 3 depths, 5×5 pixels behind each of 4×4 lenslets, 2×2 voxels per lenslet
    (a 3 × 8 × 8 volume, a 20 × 20 sensor)."""
    return LightField(depths, pitch=pitch, lenslets=lenslets,
                      voxels_per_lenslet=voxels_per_lenslet, kernel_lenslets=kernel_lenslets,
                      **kwargs)
