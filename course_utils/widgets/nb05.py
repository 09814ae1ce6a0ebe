"""Notebook 05 widget: scale × noise × framework for single-image super-resolution."""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int
from ..sr import (FRAMEWORK_LABELS, FRAMEWORKS, HELDOUT_IMAGES, IBP_ITERS, LEARNED_FRAMEWORKS,
                  NET_SCALE, SCALES, degrade, evaluate, heldout_images, reconstruct)
from ._base import ChoiceControl, Demo, build, corner_combos, register_widget

__all__ = ["SuperResolutionDemo", "super_resolution_widget", "SIGMA_OPTIONS"]

#: Noise levels offered, in units of 1/255.
SIGMA_OPTIONS: tuple[int, ...] = (0, 2, 5, 10, 20)

_CONTROLS = {
    "scale": ChoiceControl(tuple((f"×{s}", s) for s in SCALES), value=4, label="scale",
                           style="buttons"),
    "sigma": ChoiceControl(tuple((f"{s}/255", s) for s in SIGMA_OPTIONS), value=0,
                           label="noise σ", style="slider"),
    "framework": ChoiceControl(tuple((FRAMEWORK_LABELS[f], f) for f in FRAMEWORKS),
                               value="post", label="framework"),
}
_COMBOS = corner_combos(_CONTROLS, ("scale", "sigma")) + [
    {"scale": 2, "framework": f} for f in ("pre", "dbpn")] + [
    {"scale": 4, "sigma": 20, "framework": f} for f in ("ibp", "progressive")]


class SuperResolutionDemo(Demo):
    """A held-out image, its low-resolution measurement, bicubic and one framework.

    Parameters
    ----------
    image : str
        One of :data:`course_utils.sr.HELDOUT_IMAGES`.
    size : int
        Side of the central crop shown (a multiple of 8).
    seed : int
        Seed of the noise.

    Notes
    -----
    ``y = A x + σ n`` with ``A`` the block average by the scale. The networks exist for
    ×4 only: at ×2 a learned framework shows bicubic and says so. Results are cached.
    """

    kind = "iterative"
    figsize = (12, 3.5)
    controls = _CONTROLS

    def __init__(self, image: str = "camera", size: int = 128, seed: int = 0):
        check_choice(image, "image", HELDOUT_IMAGES)
        size = check_int(size, "size", low=32, high=256)
        if size % 8:
            raise ValueError(f"size must be a multiple of 8, got {size}")
        self.seed = check_int(seed, "seed", low=0)
        full = heldout_images()[image]
        r0 = (full.shape[0] - size) // 2
        self.x = np.ascontiguousarray(full[r0:r0 + size, r0:r0 + size])
        self._results: dict = {}
        super().__init__()

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4)
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        self.im_y = axes[0].imshow(self.x, **kw)
        self.title_y = axes[0].set_title("measurement y")
        self.im_bic = axes[1].imshow(self.x, **kw)
        self.title_bic = axes[1].set_title("bicubic")
        self.im_hat = axes[2].imshow(self.x, **kw)
        self.title_hat = axes[2].set_title("framework")
        axes[3].imshow(self.x, **kw)
        axes[3].set_title("ground truth x")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])

    def compute(self, *, scale, sigma, framework):
        key = (scale, sigma, framework)
        if key not in self._results:
            y = degrade(self.x, scale, sigma / 255, seed=self.seed)
            used = framework
            if framework in LEARNED_FRAMEWORKS and scale != NET_SCALE:
                used = "bicubic"
            x_bic = reconstruct(y, "bicubic", scale)
            x_hat = reconstruct(y, used, scale, sigma=sigma / 255)
            self._results[key] = (y, x_bic, x_hat, used)
        y, x_bic, x_hat, used = self._results[key]
        return {"scale": scale, "sigma": sigma, "framework": framework, "used": used,
                "y": y, "bicubic": x_bic, "x_hat": x_hat}

    def draw(self, state):
        scale, sigma, framework, used = (state["scale"], state["sigma"], state["framework"],
                                         state["used"])
        y = state["y"]
        self.im_y.set_data(np.clip(np.kron(y, np.ones((scale, scale))), 0.0, 1.0))
        self.title_y.set_text(f"y: {y.shape[0]}×{y.shape[1]}, σ = {sigma}/255")
        e_bic = evaluate(self.x, state["bicubic"], scale)
        e_hat = evaluate(self.x, state["x_hat"], scale)
        self.im_bic.set_data(state["bicubic"])
        self.title_bic.set_text(f"bicubic: {e_bic['psnr']:.2f} dB")
        self.im_hat.set_data(state["x_hat"])
        label = FRAMEWORK_LABELS[used].split(" (")[0]
        self.title_hat.set_text(f"{label}: {e_hat['psnr']:.2f} dB, SSIM {e_hat['ssim']:.3f}")
        numbers = {"scale": int(scale), "sigma": int(sigma), "framework": framework,
                   "psnr_bicubic": round(e_bic["psnr"], 2), "psnr": round(e_hat["psnr"], 2),
                   "ssim": round(e_hat["ssim"], 3)}
        messages = []
        if used != framework:
            messages.append(f"The {FRAMEWORK_LABELS[framework]} network is trained for "
                            f"×{NET_SCALE} only (a learned upsampler is tied to its factor): "
                            "showing bicubic at ×2. IBP works at any factor, since it only "
                            "needs A.")
        if used == "ibp":
            steps = IBP_ITERS[sigma > 0]
            messages.append(f"IBP: {steps} back-projection step{'s' if steps > 1 else ''}"
                            + (" (early stopping: every step also fits the noise)."
                               if sigma > 0 else ", enough to fit y."))
        if sigma >= 10 and used in LEARNED_FRAMEWORKS:
            messages.append(f"σ = {sigma}/255 is beyond the networks' training range "
                            "(0 to 10/255): expect leftover noise.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb05_super_resolution", kind="iterative", controls=_CONTROLS,
                 combos=_COMBOS)
def super_resolution_widget(*, image: str = "camera", size: int = 128, seed: int = 0):
    """Scale × noise × framework on a held-out image.

    Parameters
    ----------
    image : str
        A held-out image (:data:`course_utils.sr.HELDOUT_IMAGES`).
    size : int
        Side of the crop (a multiple of 8, 32 to 256).
    seed : int
        Seed of the noise.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(scale=..., sigma=..., framework=...) -> dict`` with ``psnr_bicubic``,
        ``psnr`` and ``ssim`` (border of ``scale`` pixels cropped), plus a ``message``.
    """
    return build(SuperResolutionDemo(image=image, size=size, seed=seed))
