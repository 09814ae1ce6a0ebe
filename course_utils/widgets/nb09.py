"""Notebook 09 widget: noise × threshold × transform (Haar, 5/3, learned lifting) for wavelet shrinkage."""
from __future__ import annotations

import functools

import numpy as np

from .._validate import check_choice, check_scalar
from ..data import add_noise, load_image
from ..inn import shrink_details, wavelet_denoise
from ..lifting import from_pywt, to_pywt, wavelet_forward, wavelet_inverse
from ..metrics import psnr
from ._base import ChoiceControl, Demo, FloatControl, build, corner_combos, register_widget

__all__ = ["LiftingDemo", "lifting_widget", "WIDGET_SIGMAS_255", "TRANSFORMS", "FACTORS",
           "IMAGE", "SIZE", "LEVELS", "observation", "denoise_with", "psnr_curve",
           "learned_available"]

#: Noise levels of the slider, on the 0..255 scale.
WIDGET_SIGMAS_255: tuple[int, ...] = (0, 5, 10, 15, 25, 35, 50)
#: Transforms of the widget: label -> key.
TRANSFORMS: tuple[tuple[str, str], ...] = (("Haar", "haar"), ("5/3", "legall53"),
                                           ("learned", "learned"))
#: Threshold factors (t = factor · σ) on which the PSNR curve is drawn.
FACTORS: tuple[float, ...] = tuple(float(f) for f in np.round(np.arange(0.0, 5.01, 0.25), 2))
#: The widget's image, its size and the levels of the transforms.
IMAGE, SIZE, LEVELS = "camera", 128, 4
_SEED = 9

_CONTROLS = {
    "sigma": ChoiceControl(tuple((str(s), s / 255) for s in WIDGET_SIGMAS_255), value=25 / 255,
                           label="noise σ (/255)", style="slider"),
    "factor": FloatControl(0.0, 5.0, value=3.0, step=0.25, label="threshold t / σ",
                           readout_format=".2f"),
    "transform": ChoiceControl(TRANSFORMS, value="legall53", label="transform",
                               style="buttons"),
}
_COMBOS = corner_combos(_CONTROLS, ("sigma", "factor")) + [
    {"transform": "learned", "sigma": 50 / 255, "factor": 5.0},
    {"transform": "learned", "sigma": 0.0, "factor": 0.0},
]


@functools.lru_cache(maxsize=None)
def observation(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: the widget's clean image and its seeded noisy version at ``sigma``."""
    sigma = check_scalar(sigma, "sigma", low=0.0)
    x = load_image(IMAGE, SIZE)
    return x, add_noise(x, sigma, seed=_SEED)


def learned_available() -> bool:
    """True when the shipped WINNet-style weights can be loaded."""
    try:
        _winnet()
    except Exception:  # noqa: BLE001 - missing or altered weights: the widget says so
        return False
    return True


@functools.lru_cache(maxsize=1)
def _winnet():
    from ..denoisers import load_winnet
    return load_winnet()


@functools.lru_cache(maxsize=None)
def _coefficients(sigma: float, transform: str):
    """Forward transform of the noisy image (cached): bands on an orthonormal scale."""
    _, y = observation(sigma)
    if transform == "learned":
        from ..inn import learned_coefficients
        return learned_coefficients(y, _winnet())
    return to_pywt(wavelet_forward(y, transform, LEVELS))


def _inverse(coeffs, transform: str) -> np.ndarray:
    if transform == "learned":
        import torch
        model = _winnet().transform
        dtype = next(model.parameters()).dtype
        c = [torch.from_numpy(coeffs[0]).to(dtype)[None, None]]
        c += [torch.from_numpy(np.stack(bands)).to(dtype)[None] for bands in coeffs[1:]]
        with torch.no_grad():
            return model.inverse(c)[0, 0].double().numpy()
    return wavelet_inverse(from_pywt(coeffs), transform)


def denoise_with(sigma: float, factor: float, transform: str) -> np.ndarray:
    """Forward transform, soft-threshold every detail band at ``factor · sigma``, inverse:
    the estimate the widget shows for one setting."""
    sigma = check_scalar(sigma, "sigma", low=0.0)
    factor = check_scalar(factor, "factor", low=0.0)
    transform = check_choice(transform, "transform", tuple(k for _, k in TRANSFORMS))
    coeffs = _coefficients(sigma, transform)
    return _inverse(shrink_details(coeffs, factor * sigma), transform)


@functools.lru_cache(maxsize=None)
def psnr_curve(sigma: float, transform: str) -> tuple[np.ndarray, float | None]:
    """PSNR of :func:`denoise_with` for every factor of :data:`FACTORS` (cached), and the
    PSNR of the reference: BayesShrink with the same wavelet for Haar and 5/3, the shipped
    WINNet-style network (learned thresholds and detail networks) for ``"learned"``."""
    x, y = observation(sigma)
    curve = np.array([psnr(x, denoise_with(sigma, f, transform)) for f in FACTORS])
    if sigma == 0:
        return curve, None
    if transform == "learned":
        from ..denoisers import denoise
        return curve, psnr(x, denoise(y, sigma, method="winnet"))
    return curve, psnr(x, wavelet_denoise(y, sigma, transform, rule="bayes", levels=LEVELS))


class LiftingDemo(Demo):
    """Wavelet shrinkage by lifting of a noisy ``camera`` (128²): choose the noise level,
    the threshold in units of σ and the transform.

    Notes
    -----
    The forward transform of each noisy image is computed once and cached; an update
    soft-thresholds the detail bands (on an orthonormal scale) and runs the inverse. The
    learned transform is that of the shipped WINNet-style denoiser
    (``python -m course_utils.train winnet``), used here with the same plain threshold as
    the fixed wavelets; its own learned thresholds and detail networks give the dashed
    reference line.
    """

    kind = "closed-form"
    figsize = (12, 3.3)
    controls = _CONTROLS

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.4])
        self.axes = axes
        x, _ = observation(0.0)
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        self.im_y = axes[0].imshow(x, **kw)
        self.title_y = axes[0].set_title("noisy y")
        self.im_x = axes[1].imshow(x, **kw)
        self.title_x = axes[1].set_title("estimate")
        self.im_err = axes[2].imshow(np.zeros_like(x), cmap="RdBu_r", vmin=-0.2, vmax=0.2,
                                     interpolation="nearest")
        axes[2].set_title("estimate − clean (±0.2)")
        for ax in axes[:3]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[3]
        (self.curve,) = ax.plot(FACTORS, np.zeros(len(FACTORS)), color="C0", lw=1.5,
                                label="soft threshold t = factor·σ")
        self.ref = ax.axhline(0.0, color="C3", ls="--", lw=1.0,
                              label="BayesShrink (Haar, 5/3) / WINNet (learned)")
        (self.marker,) = ax.plot([0], [0], "o", color="C1", ms=6, label="current")
        ax.set_xlim(0, FACTORS[-1])
        ax.set_ylim(15, 45)
        ax.set_xlabel("threshold t / σ")
        ax.set_ylabel("PSNR (dB)")
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(alpha=0.3)

    def compute(self, *, sigma, factor, transform):
        x, y = observation(sigma)
        if transform == "learned" and not learned_available():
            return {"sigma": sigma, "factor": factor, "transform": transform, "x": x, "y": y,
                    "missing": True}
        x_hat = denoise_with(sigma, factor, transform)
        curve, ref = psnr_curve(sigma, transform)
        return {"sigma": sigma, "factor": factor, "transform": transform, "x": x, "y": y,
                "x_hat": x_hat, "curve": curve, "ref": ref, "missing": False}

    def draw(self, state):
        sigma, factor, transform = state["sigma"], state["factor"], state["transform"]
        x, y = state["x"], state["y"]
        label = dict((k, lab) for lab, k in TRANSFORMS)[transform]
        self.im_y.set_data(np.clip(y, 0, 1))
        p_noisy = psnr(x, y) if sigma > 0 else float("inf")
        self.title_y.set_text(f"noisy y, σ = {sigma * 255:.0f}/255"
                              + (f": {p_noisy:.1f} dB" if sigma > 0 else ""))
        numbers = {"sigma_255": round(sigma * 255), "factor": round(float(factor), 2),
                   "transform": label}
        if state["missing"]:
            self.im_x.set_data(np.clip(y, 0, 1))
            self.im_err.set_data(np.zeros_like(x))
            self.title_x.set_text("learned transform unavailable")
            self.curve.set_ydata(np.zeros(len(FACTORS)))
            self.curve.set_visible(False)
            self.ref.set_visible(False)
            self.marker.set_data([], [])
            numbers["message"] = ("The learned lifting weights are not installed: run "
                                  "`python -m course_utils.train winnet`, or choose Haar or 5/3.")
            return numbers
        x_hat, curve, ref = state["x_hat"], state["curve"], state["ref"]
        p = psnr(x, x_hat)
        self.im_x.set_data(np.clip(x_hat, 0, 1))
        self.im_err.set_data(x_hat - x)
        finite = np.isfinite(curve)
        self.curve.set_ydata(np.where(finite, curve, 0.0))
        self.curve.set_visible(sigma > 0)
        k = int(np.argmin(np.abs(np.asarray(FACTORS) - factor)))
        best = int(np.nanargmax(np.where(finite, curve, -np.inf))) if finite.any() else k
        messages = []
        if sigma == 0:
            self.title_x.set_text(f"{label}: exact (no noise)")
            self.marker.set_data([], [])
            self.ref.set_visible(False)
            err = float(np.max(np.abs(x_hat - x)))
            numbers["max_error"] = float(f"{err:.3g}")
            messages.append(f"No noise: every threshold is 0·σ = 0, so the estimate is the "
                            f"inverse of the forward transform, the clean image to "
                            f"{err:.1e}. Raise σ to see shrinkage.")
        else:
            self.title_x.set_text(f"{label}, t = {factor:.2f}σ: {p:.2f} dB")
            self.marker.set_data([factor], [p])
            self.ref.set_visible(ref is not None)
            if ref is not None:
                self.ref.set_ydata([ref, ref])
                numbers["reference_psnr"] = round(ref, 2)
            numbers["psnr"] = round(p, 2)
            numbers["noisy_psnr"] = round(p_noisy, 2)
            numbers["best_factor"] = FACTORS[best]
            numbers["best_psnr"] = round(float(curve[best]), 2)
            if factor == 0:
                messages.append("Threshold 0: nothing is shrunk, and the inverse gives the "
                                "noisy image back exactly.")
            if factor >= 5:
                messages.append("A threshold of 5σ removes almost every detail coefficient: "
                                "the estimate is close to the coarse band alone, blurred.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb09_lifting", kind="closed-form", controls=_CONTROLS, combos=_COMBOS)
def lifting_widget():
    """Noise × threshold × transform: wavelet shrinkage with Haar, 5/3 or the learned lifting.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure (noisy image, estimate, error, PSNR against the
        threshold with the current setting and a reference).
    update : callable
        ``update(sigma=..., factor=..., transform=...) -> dict`` with ``psnr``,
        ``noisy_psnr``, ``best_factor`` and ``best_psnr`` (best of the curve),
        ``reference_psnr`` (BayesShrink, or the full WINNet-style network for the learned
        transform), plus a ``message`` for special settings.
    """
    return build(LiftingDemo())
