"""Notebook 02 widget: λ × noise × regulariser (Tikhonov, TV, wavelet-ℓ1) for 2-D deblurring."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullLocator

from .._validate import check_choice, check_int, check_scalar
from ..data import IMAGE_NAMES, add_noise, load_image
from ..metrics import psnr
from ..operators.basic import Blur, Wavelet
from ..regparam import TikhonovSpectrum, curve_corner, discrepancy_principle, gcv, l_curve
from ._base import ChoiceControl, Demo, build, register_widget

__all__ = ["RegulariserDemo", "regulariser_widget", "LAMS", "NOISE_LEVELS", "REGULARISERS",
           "regularisation_path", "tv_periodic"]

#: λ offered by the slider: 0 (no regularisation) and 11 values from 1e-5 to 1.
LAMS = (0.0,) + tuple(float(v) for v in np.logspace(-5, 0, 11))
#: Noise standard deviations (images in [0, 1]).
NOISE_LEVELS = (0.0, 0.005, 0.01, 0.02, 0.05)
REGULARISERS = ("tikhonov", "tv", "wavelet")
_REG_LABELS = {"tikhonov": r"$\|x\|_2$", "tv": r"$\mathrm{TV}(x)$ (periodic)",
               "wavelet": r"$\|Wx\|_1$ (details)"}

_CONTROLS = {
    "lam": ChoiceControl(tuple(("0" if v == 0 else f"{v:.1e}", v) for v in LAMS),
                         value=LAMS[7], label="λ", style="slider"),
    "sigma": ChoiceControl(tuple(("0" if v == 0 else f"{v:g}", v) for v in NOISE_LEVELS),
                           value=0.01, label="noise σ", style="slider"),
    "regulariser": ChoiceControl(tuple((r, r) for r in REGULARISERS), value="tikhonov",
                                 label="regulariser", style="buttons"),
}
_COMBOS = [
    {"regulariser": "tv", "lam": 0.0, "sigma": 0.0},
    {"regulariser": "tv", "lam": 1.0, "sigma": 0.05},
    {"regulariser": "wavelet", "lam": 0.0, "sigma": 0.05},
    {"regulariser": "wavelet", "lam": 1.0, "sigma": 0.0},
    {"regulariser": "tikhonov", "lam": 0.0, "sigma": 0.0},
    {"regulariser": "tikhonov", "lam": 0.0, "sigma": 0.05},
    {"regulariser": "tikhonov", "lam": 1.0, "sigma": 0.05},
]


class _FourierDeblur:
    """Real-FFT quantities of a circulant blur ``A`` and data ``y``, shared by the solvers.

    ``h2 = |ĥ|²``, ``aty_hat = conj(ĥ) · ŷ`` (the FFT of ``Aᵀy``) and ``d2``, the
    eigenvalues ``4 sin²(πk/M) + 4 sin²(πl/N)`` of ``DᵀD`` for periodic forward
    differences ``D`` — circulant like the blur, so ``AᵀA + βDᵀD`` is diagonal in Fourier.
    """

    def __init__(self, A, y):
        import scipy.fft
        self.fft = scipy.fft
        m, n = A.in_shape
        self.shape = (m, n)
        eig = np.asarray(A.eigenvalues)[:, : n // 2 + 1]
        self.h2 = np.abs(eig) ** 2
        self.aty_hat = np.conj(eig) * scipy.fft.rfft2(y)
        self.d2 = (4 * np.sin(np.pi * np.arange(m) / m) ** 2)[:, None] + \
                  (4 * np.sin(np.pi * np.arange(n // 2 + 1) / n) ** 2)[None, :]

    def solve(self, rhs_hat, denom):
        return self.fft.irfft2(rhs_hat / denom, s=self.shape)


def _grad_periodic(x):
    """Periodic forward differences, shape (2, M, N)."""
    return np.stack([np.roll(x, -1, axis=0) - x, np.roll(x, -1, axis=1) - x])


def _grad_periodic_adjoint(p):
    return (np.roll(p[0], 1, axis=0) - p[0]) + (np.roll(p[1], 1, axis=1) - p[1])


def tv_periodic(x) -> float:
    """Isotropic total variation with periodic boundary: ``Σ_ij |(Dx)_ij|``."""
    g = _grad_periodic(x)
    return float(np.sqrt(g[0] ** 2 + g[1] ** 2).sum())


def _tv_admm(fourier, lam, state, num_iters):
    """ADMM for ``½‖Ax − y‖² + lam ‖Dx‖_{2,1}`` with the splitting ``d = Dx`` (periodic D).

    ``x ← (AᵀA + βDᵀD)⁻¹(Aᵀy + βDᵀ(d − u))`` (one real FFT pair),
    ``d ← shrink(Dx + u, lam/β)``, ``u ← u + Dx − d``; ``state = (x, d, u, β)`` is updated
    in place of a warm start (the scaled dual ``u`` is rescaled when β changes).
    """
    x, d, u, beta_old = state
    beta = max(10.0 * lam, 1e-4)
    u = u * (beta_old / beta)
    denom = fourier.h2 + beta * fourier.d2
    for _ in range(num_iters):
        rhs = fourier.aty_hat + beta * fourier.fft.rfft2(_grad_periodic_adjoint(d - u))
        x = fourier.solve(rhs, denom)
        g = _grad_periodic(x) + u
        if lam > 0:
            mag = np.sqrt(g[0] ** 2 + g[1] ** 2)
            d = g * np.maximum(1.0 - (lam / beta) / np.maximum(mag, 1e-300), 0.0)
        else:
            d = g
        u = g - d
    return x, d, u, beta


def _wavelet_admm(fourier, wavelet, lam, state, num_iters):
    """ADMM for ``½‖Ax − y‖² + lam ‖Wx‖₁`` (details only) with the splitting ``x = v``.

    ``x ← (AᵀA + βI)⁻¹(Aᵀy + β(v − u))``, ``v ← Wᵀ S_{lam/β}(W(x + u))``,
    ``u ← u + x − v``: the iteration of :class:`course_utils.solvers.ADMM` with the
    prior :class:`course_utils.priors.WaveletL1`, without the per-step history.
    """
    import pywt
    v, u, beta_old = state
    beta = max(3.0 * lam, 1e-4)
    u = u * (beta_old / beta)
    denom = fourier.h2 + beta
    thresh = lam / beta
    for _ in range(num_iters):
        x = fourier.solve(fourier.aty_hat + beta * fourier.fft.rfft2(v - u), denom)
        z = x + u
        if lam > 0:
            coeffs = pywt.wavedec2(z, wavelet.wavelet, mode="periodization",
                                   level=wavelet.level)
            coeffs = [coeffs[0]] + [tuple(np.sign(c) * np.maximum(np.abs(c) - thresh, 0.0)
                                          for c in band) for band in coeffs[1:]]
            v = pywt.waverec2(coeffs, wavelet.wavelet, mode="periodization")
        else:
            v = z
        u = z - v
    return v, u, beta


def regularisation_path(A, y, regulariser: str, lams, *, num_iters: int = 8,
                        progress=None) -> dict:
    """Warm-started solutions of ``½‖Ax − y‖² + λ R(x)`` for every λ, largest first.

    Parameters
    ----------
    A : Blur
        A circulant blur (its ``eigenvalues`` diagonalise it) on images (M, N).
    y : ndarray of shape (M, N)
        The measurement.
    regulariser : {"tv", "wavelet"}
        ``R(x) = TV(x)``, isotropic with periodic differences (matching the circular
        blur), or ``R(x) = ‖W x‖₁`` on the detail coefficients of the orthonormal db4
        transform (as :class:`course_utils.priors.WaveletL1`).
    lams : sequence of float
        Weights ``>= 0``, solved in decreasing order, each starting from the previous
        solution (continuation) with ``num_iters`` ADMM iterations. ``λ = 0`` continues
        the same iteration without the regulariser (least squares, stopped early).
    num_iters : int
        ADMM iterations per λ.
    progress : callable, optional
        ``progress(fraction)`` after each λ.

    Returns
    -------
    dict
        ``{lam: x_hat}`` for every λ.

    Notes
    -----
    Both problems are solved by ADMM with an FFT data step, exact for circulant ``A``:
    for TV the splitting ``d = Dx`` gives ``(AᵀA + βDᵀD) x = Aᵀy + βDᵀ(d − u)``, for
    wavelets ``x = v`` gives ``(AᵀA + βI) x = Aᵀy + β(v − u)``; the other step is a
    (vector) soft threshold. ``β`` is tied to λ (10λ for TV, 3λ for wavelets, at least
    1e-4). Continuation makes the whole path cost a few solves; the smallest λ are not
    fully converged, and the iteration count then regularises too (semi-convergence).

    References
    ----------
    T. Goldstein and S. Osher, "The split Bregman method for L1-regularized problems",
    SIAM J. Imaging Sci. 2(2), 323–343, 2009.
    S. Boyd et al., "Distributed optimization and statistical learning via the
    alternating direction method of multipliers", Found. Trends Mach. Learn. 3(1), 2011.
    """
    from ..operators.basic import Wavelet
    regulariser = check_choice(regulariser, "regulariser", ("tv", "wavelet"))
    num_iters = check_int(num_iters, "num_iters", low=1)
    if getattr(A, "eigenvalues", None) is None:
        raise TypeError("A must be a circulant blur with eigenvalues (course_utils Blur)")
    y = np.asarray(y, dtype=np.float64)
    lams = sorted((check_scalar(v, "lams", low=0.0) for v in lams), reverse=True)
    fourier = _FourierDeblur(A, y)
    if regulariser == "tv":
        state = (y.copy(), _grad_periodic(y), np.zeros((2, *y.shape)), 1.0)
    else:
        wavelet = Wavelet(y.shape, "db4")
        state = (y.copy(), np.zeros_like(y), 1.0)
    out = {}
    for j, lam in enumerate(lams):
        if regulariser == "tv":
            state = _tv_admm(fourier, lam, state, num_iters)
        else:
            state = _wavelet_admm(fourier, wavelet, lam, state, num_iters)
        out[lam] = state[0].copy()
        if progress is not None:
            progress((j + 1) / len(lams))
    return out


def _norm(v) -> float:
    """Euclidean norm without BLAS (whose threads can stall on a busy machine)."""
    return float(np.sqrt(np.sum(np.square(v))))


def _wavelet_l1(x, wavelet) -> float:
    c = wavelet(x)
    return float(np.abs(c[wavelet.detail_mask]).sum())


class RegulariserDemo(Demo):
    """Deblurring a bundled image with Tikhonov, TV or wavelet-ℓ1, and choosing λ.

    Parameters
    ----------
    image : str
        A bundled image (:data:`course_utils.data.IMAGE_NAMES`).
    size : int
        Side of the square image (a power of two, for the wavelets).
    kernel_sigma : float
        Width of the Gaussian blur (9 × 9 kernel), in pixels.
    num_iters : int
        ADMM iterations per λ of the iterative regularisers (TV, wavelet); see
        :func:`regularisation_path`.
    seed : int
        Seed of the noise realisation (scaled by ``sigma``).

    Notes
    -----
    Tikhonov is solved in closed form by the FFT for each update (its L-curve, GCV and
    discrepancy λ are computed once per σ). TV and wavelet-ℓ1 are solved for the whole λ
    grid at once by warm-started continuation (:func:`regularisation_path`) the first
    time a (regulariser, σ) pair is shown, then cached: moving λ is a look-up.
    """

    kind = "iterative"
    figsize = (11, 3.7)
    controls = _CONTROLS

    def __init__(self, image: str = "camera", size: int = 128, kernel_sigma: float = 1.5,
                 num_iters: int = 8, seed: int = 0):
        check_choice(image, "image", IMAGE_NAMES)
        size = check_int(size, "size", low=16, high=512)
        if size & (size - 1):
            raise ValueError(f"size must be a power of two, got {size}")
        self.kernel_sigma = check_scalar(kernel_sigma, "kernel_sigma", low=0.0,
                                         low_inclusive=False)
        self.num_iters = check_int(num_iters, "num_iters", low=1, high=1000)
        self.seed = check_int(seed, "seed", low=0)
        self.x = load_image(image, size)
        self.A = Blur(self.x.shape, "gaussian", kernel_size=9, kernel_sigma=self.kernel_sigma)
        self.Ax = self.A(self.x)
        self._data_cache: dict = {}
        self._paths: dict = {}
        self._tik: dict = {}
        super().__init__()

    # -- cached computations ---------------------------------------------------------------
    def data(self, sigma: float) -> np.ndarray:
        """The measurement ``y = A x + sigma · n`` (one fixed noise realisation ``n``)."""
        if sigma not in self._data_cache:
            self._data_cache[sigma] = add_noise(self.Ax, sigma, seed=self.seed)
        return self._data_cache[sigma]

    def _tikhonov_choices(self, sigma):
        """L-curve, corner, discrepancy and GCV for Tikhonov at this noise level."""
        if sigma in self._tik:
            return self._tik[sigma]
        y = self.data(sigma)
        spec = TikhonovSpectrum(self.A, y)
        grid = np.logspace(-6, 0.5, 50)
        out = {"spec": spec, "curve_lams": grid}
        try:
            curve = l_curve(spec, lams=grid)
            out.update(res=curve.residual_norms, reg=curve.solution_norms,
                       corner=curve.corner_lam)
        except ValueError:
            out.update(res=spec.residual_norms(grid), reg=spec.solution_norms(grid),
                       corner=None)
        out["gcv"] = gcv(spec, lams=grid).lam
        try:
            lam_dp = discrepancy_principle(spec, sigma=sigma)
        except ValueError:
            lam_dp = None
        out["discrepancy"] = lam_dp if lam_dp else None
        self._tik[sigma] = out
        return out

    def _iterative_choices(self, regulariser, sigma):
        key = (regulariser, sigma)
        if key in self._paths:
            return self._paths[key]
        y = self.data(sigma)
        sols = regularisation_path(self.A, y, regulariser, LAMS, num_iters=self.num_iters,
                                   progress=self.progress)
        grid = np.array(LAMS[1:])
        res = np.array([_norm(self.A(sols[lam]) - y) for lam in grid])
        if regulariser == "tv":
            reg = np.array([tv_periodic(sols[lam]) for lam in grid])
        else:
            wavelet = Wavelet(y.shape, "db4")
            reg = np.array([_wavelet_l1(sols[lam], wavelet) for lam in grid])
        out = {"solutions": sols, "curve_lams": grid, "res": res, "reg": reg}
        positive = (res > 0) & (reg > 0)
        out["corner"] = (float(grid[positive][curve_corner(res[positive], reg[positive])])
                         if positive.sum() >= 3 else None)
        target = sigma * np.sqrt(y.size)
        if sigma > 0 and res.min() <= target <= res.max():
            # residuals grow with λ: the largest λ still within the noise level
            out["discrepancy"] = float(grid[res <= target].max())
        else:
            out["discrepancy"] = None
        out["gcv"] = None
        self._paths[key] = out
        return out

    # -- Demo interface ------------------------------------------------------------------------
    def setup_figure(self, fig):
        ax_y, ax_x, ax_l = fig.subplots(1, 3, width_ratios=[1, 1, 1.25])
        self.axes = (ax_y, ax_x, ax_l)
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        self.im_y = ax_y.imshow(self.Ax, **kw)
        self.im_x = ax_x.imshow(self.x, **kw)
        for ax in (ax_y, ax_x):
            ax.set_xticks([])
            ax.set_yticks([])
        self.title_y = ax_y.set_title("measurement y\n ", fontsize="medium")
        self.title_x = ax_x.set_title("reconstruction\n ", fontsize="medium")
        self.line_curve, = ax_l.loglog([1, 2], [1, 2], ".-", color="0.3", ms=3, lw=1)
        self.mark_current, = ax_l.loglog([1], [1], "o", color="tab:orange", ms=9,
                                         label="current λ")
        self.mark_corner, = ax_l.loglog([1], [1], "v", color="tab:green", ms=8,
                                        label="L-curve corner")
        self.mark_dp, = ax_l.loglog([1], [1], "s", color="tab:red", ms=7,
                                    label="discrepancy")
        self.mark_gcv, = ax_l.loglog([1], [1], "D", color="tab:purple", ms=6, label="GCV")
        ax_l.set_xlabel(r"residual $\|A\hat x - y\|$")
        self.ylabel = ax_l.set_ylabel(_REG_LABELS["tikhonov"])
        ax_l.set_title("L-curve")
        self.legend = ax_l.legend(loc="upper right", fontsize="small")
        for axis in (ax_l.xaxis, ax_l.yaxis):
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=6))
            axis.set_minor_locator(NullLocator())
            axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))

    def compute(self, *, lam, sigma, regulariser):
        y = self.data(sigma)
        if regulariser == "tikhonov":
            info = self._tikhonov_choices(sigma)
            x_hat = info["spec"].solve(lam)
            spec = info["spec"]

            def point(v):
                return (float(spec.residual_norms(v)[0]), float(spec.solution_norms(v)[0]))
        else:
            info = self._iterative_choices(regulariser, sigma)
            x_hat = info["solutions"][lam]
            index = {float(v): j for j, v in enumerate(info["curve_lams"])}

            def point(v):
                j = index[float(v)]
                return (float(info["res"][j]), float(info["reg"][j]))
        return {"lam": lam, "sigma": sigma, "regulariser": regulariser, "y": y,
                "x_hat": x_hat, "info": info, "point": point}

    def draw(self, state):
        lam, sigma, reg = state["lam"], state["sigma"], state["regulariser"]
        info, point, x_hat = state["info"], state["point"], state["x_hat"]
        self.im_y.set_data(state["y"])
        self.im_x.set_data(x_hat)
        value = psnr(self.x, x_hat)
        self.title_y.set_text(f"measurement y, σ = {sigma:g}\n"
                              f"PSNR {psnr(self.x, state['y']):.2f} dB")
        self.title_x.set_text(f"{reg}, λ = {lam:.2g}\nPSNR {value:.2f} dB")
        res, regv = info["res"], info["reg"]
        ok = (res > 0) & (regv > 0) & np.isfinite(res) & np.isfinite(regv)
        self.line_curve.set_data(res[ok], regv[ok])
        self.ylabel.set_text(_REG_LABELS[reg])
        markers = ((self.mark_corner, "corner"), (self.mark_dp, "discrepancy"),
                   (self.mark_gcv, "gcv"))
        numbers = {"psnr": round(float(value), 2), "lam": float(lam), "sigma": float(sigma),
                   "regulariser": reg}
        messages = []
        for artist, key in markers:
            choice = info.get(key)
            if choice is None or not np.isfinite(choice) or choice <= 0:
                artist.set_visible(False)
                continue
            r, e = point(choice)
            visible = r > 0 and e > 0
            artist.set_visible(visible)
            if visible:
                artist.set_data([r], [e])
            numbers[f"lam_{key}"] = float(choice)
        if lam > 0:
            r, e = point(lam)
            self.mark_current.set_visible(r > 0 and e > 0)
            if r > 0 and e > 0:
                self.mark_current.set_data([r], [e])
            numbers["residual"] = float(r)
        else:
            self.mark_current.set_visible(False)
            numbers["residual"] = _norm(self.A(x_hat) - state["y"])
            if reg == "tikhonov" and sigma == 0:
                messages.append("λ = 0 and σ = 0: the inverse filter is exact on "
                                "noise-free data; add the slightest noise to see it fail.")
            elif reg == "tikhonov":
                messages.append("λ = 0 is the naive inverse: the noise at every frequency "
                                "is divided by the tiny eigenvalue of the blur there "
                                "(notebook 01).")
            else:
                messages.append(f"λ = 0 removes the regulariser: this is least squares "
                                f"stopped after {self.num_iters} extra iterations, so only "
                                "early stopping limits the noise.")
        if reg != "tikhonov":
            messages.append("GCV needs a linear reconstruction: shown for Tikhonov only.")
        if sigma == 0:
            messages.append("σ = 0: the discrepancy principle asks for a zero residual, "
                            "so it selects no λ.")
        artists = (self.mark_current, self.mark_corner, self.mark_dp, self.mark_gcv)
        for text, artist in zip(self.legend.get_texts(), artists):
            text.set_alpha(1.0 if artist.get_visible() else 0.35)
        ax = self.axes[2]
        if ok.any():
            lo, hi = res[ok].min(), res[ok].max()
            elo, ehi = regv[ok].min(), regv[ok].max()
            ax.set_xlim(lo / 1.5, hi * 1.5)
            ax.set_ylim(elo / 1.5, ehi * 1.5)
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb02_regularisers", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def regulariser_widget(*, image: str = "camera", size: int = 128, kernel_sigma: float = 1.5,
                       num_iters: int = 8, seed: int = 0):
    """λ × noise × regulariser: 2-D deblurring with the L-curve and three λ choices.

    Parameters
    ----------
    image : str
        A bundled image.
    size : int
        Image side (power of two).
    kernel_sigma : float
        Width of the Gaussian blur in pixels.
    num_iters : int
        Iterations per λ for TV and wavelet-ℓ1.
    seed : int
        Seed of the noise realisation.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(lam=..., sigma=..., regulariser=...) -> dict`` with ``psnr``,
        ``residual`` and the λ chosen by the L-curve corner, the discrepancy principle and
        (Tikhonov only) GCV, plus a ``message`` for special settings.
    """
    return build(RegulariserDemo(image=image, size=size, kernel_sigma=kernel_sigma,
                                 num_iters=num_iters, seed=seed))
