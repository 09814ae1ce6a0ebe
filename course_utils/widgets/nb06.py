"""Notebook 06 widget: mask ratio × noise × iteration of the deep image prior, from saved snapshots."""
from __future__ import annotations

import functools

import numpy as np

from ._base import ChoiceControl, Demo, build, corner_combos, register_widget
from ..train.dip import RATIOS, SIGMAS, SNAPSHOT_ITERS, observation

__all__ = ["DIPSnapshotDemo", "dip_widget", "load_snapshots"]

_CONTROLS = {
    "ratio": ChoiceControl(tuple((f"{r:.0%}", r) for r in RATIOS), value=0.5,
                           label="missing pixels", style="slider"),
    "sigma": ChoiceControl(tuple(("0" if s == 0 else f"{s:g}", s) for s in SIGMAS), value=0.1,
                           label="noise σ", style="slider"),
    "iteration": ChoiceControl(SNAPSHOT_ITERS, value=100, label="iteration", style="slider"),
}
_COMBOS = corner_combos(_CONTROLS, ("ratio", "sigma", "iteration"))


@functools.lru_cache(maxsize=1)
def load_snapshots() -> dict:
    """The shipped snapshots (``python -m course_utils.train dip-snapshots``) as numpy
    arrays, checked against their SHA-256: ``snapshots`` (R, S, K, M, N) in [0, 1],
    ``psnr`` and ``loss`` (R, S, num_iters), ``stop_*`` (R, S), ``ratios``, ``sigmas``,
    ``iters``.

    Raises
    ------
    course_utils.weights.WeightsError
        If the file is missing or altered (the message names the command that makes it).
    """
    from .. import weights

    state = weights.load_state_dict("dip_snapshots")
    out = {key: value.numpy() for key, value in state.items()}
    out["snapshots"] = out["snapshots"].astype(np.float32) / 255.0
    same = (out["ratios"].shape == (len(RATIOS),) and out["sigmas"].shape == (len(SIGMAS),)
            and np.allclose(out["ratios"], RATIOS, atol=1e-6)
            and np.allclose(out["sigmas"], SIGMAS, atol=1e-6)
            and tuple(out["iters"].tolist()) == tuple(SNAPSHOT_ITERS))
    if not same:
        raise weights.WeightsError("the dip_snapshots grid differs from the one of "
                                   "course_utils.train.dip: recreate the file with "
                                   "`python -m course_utils.train dip-snapshots`")
    return out


class DIPSnapshotDemo(Demo):
    """Deep-image-prior inpainting and denoising of ``camera`` (64²), scrubbed through
    precomputed iterates.

    Notes
    -----
    Every (missing-pixel ratio, σ) pair was fitted once, 400 iterations, by
    ``python -m course_utils.train dip-snapshots`` (:mod:`course_utils.train.dip`); the
    widget only indexes the stored iterates (rounded to 1/255) and PSNR curves, so an
    update costs a few milliseconds. The observed image is recomputed from the same seeds.
    """

    kind = "closed-form"
    figsize = (12, 3.3)
    controls = _CONTROLS

    def __init__(self):
        self.data = load_snapshots()
        self._observations: dict = {}
        super().__init__()

    def observed(self, ratio: float, sigma: float):
        """``(x, y, mask)`` of a setting (cached)."""
        key = (ratio, sigma)
        if key not in self._observations:
            self._observations[key] = observation(ratio, sigma)
        return self._observations[key]

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.5])
        self.axes = axes
        x, y, mask = self.observed(RATIOS[0], SIGMAS[0])
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        axes[0].imshow(x, **kw)
        axes[0].set_title("clean x (camera, 64²)")
        self.im_y = axes[1].imshow(np.dstack([y] * 3), interpolation="nearest")
        self.title_y = axes[1].set_title("observed")
        self.im_x = axes[2].imshow(x, **kw)
        self.title_x = axes[2].set_title("Ψ(z; w)")
        for ax in axes[:3]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[3]
        num_iters = self.data["psnr"].shape[-1]
        k = np.arange(num_iters)
        (self.curve,) = ax.plot(k, self.data["psnr"][0, 0], color="C0", lw=1.2, label="PSNR")
        self.marker = ax.axvline(0, color="k", lw=1.0)
        (self.peak,) = ax.plot([0], [0], "o", color="C2", ms=5, label="peak")
        (self.disc,) = ax.plot([0], [0], "s", color="C3", ms=5, label="discrepancy stop")
        (self.wmv,) = ax.plot([0], [0], "^", color="C1", ms=6, label="ES-WMV stop")
        ax.set_xlim(0, num_iters - 1)
        lo = float(np.floor(self.data["psnr"].min())) - 1.0
        ax.set_ylim(lo, float(np.ceil(self.data["psnr"].max())) + 1.0)
        ax.set_xlabel("iteration")
        ax.set_ylabel("PSNR (dB)")
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(alpha=0.3)

    def compute(self, *, ratio, sigma, iteration):
        i, j = RATIOS.index(ratio), SIGMAS.index(sigma)
        k = SNAPSHOT_ITERS.index(iteration)
        x, y, mask = self.observed(ratio, sigma)
        return {"ratio": ratio, "sigma": sigma, "iteration": iteration, "x": x, "y": y,
                "mask": mask, "x_hat": self.data["snapshots"][i, j, k],
                "psnr_curve": self.data["psnr"][i, j],
                "stops": {key: int(self.data[f"stop_{key}"][i, j])
                          for key in ("peak", "discrepancy", "wmv")}}

    def draw(self, state):
        ratio, sigma, it = state["ratio"], state["sigma"], state["iteration"]
        y, mask = np.clip(state["y"], 0.0, 1.0), state["mask"]
        shown = np.dstack([y] * 3)
        shown[mask == 0] = (0.85, 0.1, 0.1)
        self.im_y.set_data(shown)
        self.title_y.set_text(f"y: {ratio:.0%} missing (red), σ = {sigma:g}")
        curve = state["psnr_curve"]
        p_now = float(curve[it])
        self.im_x.set_data(state["x_hat"])
        self.title_x.set_text(f"Ψ(z; w) at iteration {it}: {p_now:.1f} dB")
        self.curve.set_ydata(curve)
        self.marker.set_xdata([it, it])
        numbers = {"ratio": float(ratio), "sigma": float(sigma), "iteration": int(it),
                   "psnr": round(p_now, 2)}
        for key, artist in (("peak", self.peak), ("discrepancy", self.disc),
                            ("wmv", self.wmv)):
            k = state["stops"][key]
            if k >= 0:
                artist.set_data([k], [curve[k]])
                numbers[f"{key}_iter"] = k
                numbers[f"{key}_psnr"] = round(float(curve[k]), 2)
            else:
                artist.set_data([], [])
                numbers[f"{key}_iter"] = "never"
        numbers["final_psnr"] = round(float(curve[-1]), 2)
        messages = []
        if it == 0:
            messages.append("Iteration 0: the output of the random network, before any "
                            "step: a smooth blob with no trace of the image.")
        if ratio == 0 and sigma == 0:
            messages.append("Nothing missing and no noise: y is the clean image, so fitting "
                            "it longer only helps (no overfitting to see).")
        elif sigma == 0:
            messages.append("No noise: the fit fills the holes from the observed pixels and "
                            "keeps improving slowly; early stopping matters with noise.")
        if ratio >= 0.9:
            messages.append("90% of the pixels are missing: the network's structure alone "
                            "fills them — a coarse, blurry guess.")
        if numbers["discrepancy_iter"] == "never" and sigma > 0:
            messages.append("The discrepancy rule never fired: too few fully observed 2×2 "
                            "blocks to estimate σ, or the misfit stayed above it.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb06_dip", kind="closed-form", controls=_CONTROLS, combos=_COMBOS)
def dip_widget():
    """Mask ratio × noise × iteration: scrub through the deep image prior's saved iterates.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure (clean, observed with missing pixels in red,
        the iterate, the PSNR curve with its peak and the two stopping rules).
    update : callable
        ``update(ratio=..., sigma=..., iteration=...) -> dict`` with ``psnr`` at that
        iteration, ``peak_iter``/``peak_psnr``, ``discrepancy_iter``/``discrepancy_psnr``,
        ``wmv_iter``/``wmv_psnr`` (``"never"`` when a rule did not fire), ``final_psnr``,
        plus a ``message`` for special settings.
    """
    return build(DIPSnapshotDemo())
