"""Notebook 08 widget: views × dose × λ for sparse-view CT (sinogram, FBP, TV by PDHG)."""
from __future__ import annotations

import math

import numpy as np

from .._validate import check_int
from ..ct import low_dose
from ..ct_learned import ct_phantom, fbp_views, make_tv_solver, simulate_sinogram
from ..metrics import psnr, ssim
from ._base import ChoiceControl, Demo, build, corner_combos, register_widget

__all__ = ["CTSparseViewDemo", "ct_sparse_view_widget", "VIEW_OPTIONS", "DOSE_OPTIONS",
           "LAM_OPTIONS", "tv_iterations"]

#: Numbers of views offered (divisors of 180, so each set is a subset of the 180 views).
VIEW_OPTIONS = (1, 4, 9, 18, 36, 60, 90, 180)
#: Incident photons per detector bin and view; ``inf`` is noise-free data.
DOSE_OPTIONS = (1e3, 1e4, 1e5, 1e6, math.inf)
#: TV weights λ of :func:`course_utils.ct_learned.tv_ct` (0: no regulariser).
LAM_OPTIONS = (0.0, 0.003, 0.006, 0.012, 0.025, 0.05, 0.1, 0.2, 0.4)
_FULL_VIEWS = 180

_CONTROLS = {
    "views": ChoiceControl(VIEW_OPTIONS, value=36, label="views", style="slider"),
    "I0": ChoiceControl(tuple(("noise-free" if math.isinf(v) else f"{v:.0e}", v)
                              for v in DOSE_OPTIONS), value=1e5, label="dose I0",
                        style="slider"),
    "lam": ChoiceControl(tuple(("0" if v == 0 else f"{v:g}", v) for v in LAM_OPTIONS),
                         value=0.05, label="TV λ", style="slider"),
}
_COMBOS = corner_combos(_CONTROLS, ("views", "I0", "lam"))


def tv_iterations(views: int) -> int:
    """PDHG iterations run by the widget (from the FBP): 20, or 10 at more than 90 views,
    where one iteration costs more and the FBP start is already close."""
    return 20 if views <= 90 else 10


class CTSparseViewDemo(Demo):
    """Sparse-view, low-dose CT of a held-out phantom: sinogram, FBP and TV side by side.

    Parameters
    ----------
    source : int or "shepp_logan"
        The phantom (:func:`course_utils.ct_learned.ct_phantom`): a random-ellipse seed or
        Shepp–Logan.
    size : int
        Side of the reconstructed image.
    seed : int
        Seed of the Poisson counts.

    Notes
    -----
    The data are simulated once, on a grid twice as fine, for 180 views
    (:func:`~course_utils.ct_learned.simulate_sinogram`), and once per dose; a setting
    with ``K`` views keeps every ``180 / K``-th column. TV runs :func:`tv_iterations`
    PDHG iterations of :func:`~course_utils.ct_learned.make_tv_solver` started from the
    (non-negative part of the) FBP: close to, not at, the TV solution — the notebook's
    table uses 200 iterations. Every result is cached, so coming back to a setting is
    instant.
    """

    kind = "iterative"
    figsize = (12, 3.4)
    controls = _CONTROLS

    def __init__(self, source="shepp_logan", size: int = 64, seed: int = 0):
        self.seed = check_int(seed, "seed", low=0)
        x_fine, self.x = ct_phantom(source, size)
        self.y_full = simulate_sinogram(x_fine, _FULL_VIEWS)
        self._sinograms: dict = {}
        self._results: dict = {}
        super().__init__()

    def sinogram(self, views: int, I0: float) -> np.ndarray:
        """The measured sinogram, (size, views): noise-free if ``I0`` is infinite."""
        if I0 not in self._sinograms:
            self._sinograms[I0] = (self.y_full if math.isinf(I0)
                                   else low_dose(self.y_full, I0, seed=self.seed))
        return self._sinograms[I0][:, ::_FULL_VIEWS // views]

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1])
        self.axes = axes
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        axes[0].imshow(self.x, **kw)
        axes[0].set_title("phantom x")
        peak = float(self.y_full.max())
        self.im_y = axes[1].imshow(self.y_full, cmap="gray", vmin=0.0, vmax=1.05 * peak,
                                   aspect="auto", interpolation="nearest")
        axes[1].set_xlabel("view")
        axes[1].set_ylabel("detector bin")
        self.title_y = axes[1].set_title("sinogram y")
        self.im_fbp = axes[2].imshow(self.x, **kw)
        self.title_fbp = axes[2].set_title("FBP")
        self.im_tv = axes[3].imshow(self.x, **kw)
        self.title_tv = axes[3].set_title("TV")
        for ax in axes:
            if ax is not axes[1]:
                ax.set_xticks([])
                ax.set_yticks([])

    def compute(self, *, views, I0, lam):
        key = (views, I0, lam)
        if key not in self._results:
            y = self.sinogram(views, I0)
            x_fbp = fbp_views(y)
            solver = make_tv_solver(y, lam, x0=np.maximum(x_fbp, 0.0))
            num_iters = tv_iterations(views)
            for k in range(num_iters):
                solver.step()
                if k % 5 == 4:
                    self.progress((k + 1) / num_iters)
            self._results[key] = (y, x_fbp, solver.x.copy(), num_iters)
        y, x_fbp, x_tv, num_iters = self._results[key]
        return {"views": views, "I0": I0, "lam": lam, "y": y, "fbp": x_fbp, "tv": x_tv,
                "num_iters": num_iters}

    def draw(self, state):
        views, I0, lam = state["views"], state["I0"], state["lam"]
        y = state["y"]
        self.im_y.set_data(y)
        self.im_y.set_extent((-0.5, y.shape[1] - 0.5, y.shape[0] - 0.5, -0.5))
        dose = "noise-free" if math.isinf(I0) else f"I0 = {I0:.0e}"
        self.title_y.set_text(f"sinogram: {views} view{'s' if views > 1 else ''}, {dose}")
        p_fbp, p_tv = psnr(self.x, state["fbp"]), psnr(self.x, state["tv"])
        self.im_fbp.set_data(state["fbp"])
        self.title_fbp.set_text(f"FBP (ramp): {p_fbp:.1f} dB")
        self.im_tv.set_data(state["tv"])
        self.title_tv.set_text(f"TV λ = {lam:g}, {state['num_iters']} it.: {p_tv:.1f} dB")
        numbers = {"views": int(views), "I0": float(I0), "lam": float(lam),
                   "psnr_fbp": round(float(p_fbp), 2), "psnr_tv": round(float(p_tv), 2),
                   "ssim_tv": round(float(ssim(self.x, state["tv"])), 3),
                   "tv_iterations": int(state["num_iters"])}
        messages = []
        if views == 1:
            messages.append("One view: the object is seen from a single direction, so "
                            "FBP smears that one projection along the rays, and TV can "
                            "only find a flat-ish image that fits it: the null space of "
                            "R is almost everything.")
        elif views <= 9:
            messages.append(f"{views} views: FBP is dominated by streaks, one fan of them "
                            "per edge.")
        if math.isinf(I0):
            messages.append("Noise-free data (infinite dose): only the missing views and "
                            "the model error limit the reconstruction.")
        elif I0 <= 1e3:
            messages.append("I0 = 1e3: a few hundred photons cross the densest rays, the "
                            "ramp filter amplifies their Poisson noise.")
        if lam == 0:
            messages.append(f"λ = 0: no regulariser; the {state['num_iters']} PDHG "
                            "iterations only fit the data (non-negative least squares), "
                            "keeping streaks and noise.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb08_ct_sparse_view", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def ct_sparse_view_widget(*, source="shepp_logan", size: int = 64, seed: int = 0):
    """Views × dose × λ: the sinogram, its FBP and its TV reconstruction.

    Parameters
    ----------
    source : int or "shepp_logan"
        The phantom: a random-ellipse seed or Shepp–Logan.
    size : int
        Side of the reconstructed image (even).
    seed : int
        Seed of the Poisson counts.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(views=..., I0=..., lam=...) -> dict`` with ``psnr_fbp``, ``psnr_tv``,
        ``ssim_tv`` and ``tv_iterations``, plus a ``message`` for special settings.
    """
    return build(CTSparseViewDemo(source=source, size=size, seed=seed))
