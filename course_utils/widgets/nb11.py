"""Notebook 11 widget: exclusion weight μ × sparsity weight λ for X-ray separation (the two estimated layers and their edge maps)."""
from __future__ import annotations

import functools

import numpy as np

from .. import xray_separation as xs
from ._base import ChoiceControl, Demo, build, corner_combos, register_widget

__all__ = ["XraySeparationDemo", "xray_separation_widget", "SIZE", "SEED", "MU_LEVELS",
           "LAM_LEVELS", "NUM_ITERS", "mixture", "solve"]

#: Side of the widget's mixture (a held-out mixture, ``xs.heldout_mixtures(1, seed=SEED,
#: size=SIZE)``), and FISTA iterations per update.
SIZE: int = 64
SEED: int = 0
NUM_ITERS: int = 30
#: Values of the two sliders: the exclusion weight μ and the ℓ1 weight λ of the codes.
MU_LEVELS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2)
LAM_LEVELS: tuple[float, ...] = (0.0, 0.003, 0.01, 0.03, 0.1)

_CONTROLS = {
    "mu": ChoiceControl(MU_LEVELS, value=0.3, label="exclusion μ", style="slider"),
    "lam": ChoiceControl(LAM_LEVELS, value=0.01, label="sparsity λ", style="slider"),
}
_COMBOS = corner_combos(_CONTROLS, ("mu", "lam"))


@functools.lru_cache(maxsize=1)
def mixture() -> dict:
    """The widget's mixture: one held-out mixture (crops of ``chelsea`` and ``coffee``)."""
    return xs.heldout_mixtures(1, seed=SEED, size=SIZE)[0]


@functools.lru_cache(maxsize=64)
def solve(mu: float, lam: float) -> dict:
    """``xs.separate(..., "sparse", mu=mu, lam=lam, num_iters=NUM_ITERS)`` on the widget's
    mixture (cached): the estimates and :func:`course_utils.xray_separation.layer_quality`."""
    if float(mu) not in MU_LEVELS or float(lam) not in LAM_LEVELS:
        raise ValueError(f"mu must be one of {MU_LEVELS} and lam one of {LAM_LEVELS}, got "
                         f"mu={mu!r}, lam={lam!r}")
    m = mixture()
    x1, x2 = xs.separate(m["mixture"], m["visible"], "sparse", mu=mu, lam=lam,
                         num_iters=NUM_ITERS)
    return {"x1": x1, "x2": x2, "quality": xs.layer_quality(m["x1"], m["x2"], x1, x2)}


def _edges_rgb(y1, y2):
    e1, e2 = xs.edge_map(y1), xs.edge_map(y2)
    scale = max(np.percentile(e1, 99), np.percentile(e2, 99), 1e-9)
    out = np.zeros(y1.shape + (3,))
    out[..., 0] = np.clip(e1 / scale, 0, 1)
    out[..., 1] = np.clip(e2 / scale, 0, 1)
    return out


class XraySeparationDemo(Demo):
    """The sparse separation of a 64×64 held-out mixture: choose the exclusion weight μ and
    the ℓ1 weight λ; see both estimated layers, their edges (layer 1 red, layer 2 green,
    shared edges yellow) and the PSNRs.

    Notes
    -----
    Each update runs 30 FISTA iterations (about 0.1 s); settings already seen are cached.
    """

    kind = "iterative"
    figsize = (13, 3.2)
    controls = _CONTROLS

    def setup_figure(self, fig):
        axes = fig.subplots(1, 5)
        self.axes = axes
        m = mixture()
        zero = np.zeros((SIZE, SIZE))
        axes[0].imshow(m["visible"])
        axes[0].set_title("visible (side information)", fontsize=9)
        self.images = []
        for ax, title in zip(axes[1:4], ("x̂₁", "x̂₂", "true x₂")):
            self.images.append(ax.imshow(zero, cmap="gray", vmin=0, vmax=1,
                                         interpolation="nearest"))
            ax.set_title(title, fontsize=9)
        self.images[2].set_data(m["x2"])
        self.edges = axes[4].imshow(np.zeros((SIZE, SIZE, 3)), interpolation="nearest")
        self.titles = [axes[1].title, axes[2].title, axes[4].set_title("", fontsize=9)]
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])

    def compute(self, *, mu, lam):
        return dict(solve(mu, lam), mu=mu, lam=lam)

    def draw(self, state):
        q = state["quality"]
        self.images[0].set_data(state["x1"])
        self.images[1].set_data(state["x2"])
        self.edges.set_data(_edges_rgb(state["x1"], state["x2"]))
        self.titles[0].set_text(f"x̂₁: {q['psnr_x1']:.2f} dB")
        self.titles[1].set_text(f"x̂₂: {q['psnr_x2']:.2f} dB")
        self.titles[2].set_text(f"edges x̂₁ red, x̂₂ green: overlap {q['overlap']:.3f}")
        numbers = {"psnr_x1": round(q["psnr_x1"], 2), "psnr_x2": round(q["psnr_x2"], 2),
                   "psnr": round(q["psnr"], 2), "overlap": round(q["overlap"], 3)}
        messages = []
        if state["mu"] == 0:
            messages.append("μ = 0: no exclusion term; the two layers may share edges.")
        if state["lam"] == 0:
            messages.append("λ = 0: the codes are not sparse; the dictionary then explains "
                            "the noise as well as the paint.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb11_xray_separation", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def xray_separation_widget():
    """μ × λ: the sparse separation of a held-out mixed X-ray with the exclusion term.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(mu=..., lam=...) -> dict`` with ``psnr_x1``, ``psnr_x2``, ``psnr`` (their
        mean) and ``overlap`` (edge overlap of the two estimates), plus a ``message`` at
        μ = 0 or λ = 0.
    """
    return build(XraySeparationDemo())
