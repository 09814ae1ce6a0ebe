"""Notebook 10 widget: noise σ × step size ζ × steps of INDIGO on ×4 super-resolution, from saved runs."""
from __future__ import annotations

import functools

import numpy as np

from ..metrics import psnr
from ..train.indigo_snapshots import SIGMAS_N, STEPS, ZETAS, observation
from ._base import ChoiceControl, Demo, build, corner_combos, register_widget

__all__ = ["IndigoDemo", "indigo_widget", "load_snapshots", "zeta_curve", "SIGMAS_N", "ZETAS",
           "STEPS"]

_CONTROLS = {
    "sigma_n": ChoiceControl(tuple(("0" if s == 0 else f"{s:g}", s) for s in SIGMAS_N),
                             value=0.05, label="noise σ", style="slider"),
    "zeta": ChoiceControl(tuple((f"{z:g}", z) for z in ZETAS), value=1.0, label="step ζ",
                          style="slider"),
    "steps": ChoiceControl(STEPS, value=25, label="steps", style="slider"),
}
_COMBOS = corner_combos(_CONTROLS, ("sigma_n", "zeta", "steps"))


@functools.lru_cache(maxsize=1)
def load_snapshots() -> dict:
    """The shipped INDIGO runs (``python -m course_utils.train indigo-snapshots``) as numpy
    arrays, checked against their SHA-256: ``results`` (K steps, S noise levels, Z step
    sizes, 32, 32), ``x``, ``y``, ``sigmas``, ``zetas``, ``steps``, ``cpu_seconds``.

    Raises
    ------
    course_utils.weights.WeightsError
        If the file is missing or altered, or its grid is not the widget's.
    """
    from .. import weights

    out = {k: v.numpy() for k, v in weights.load_state_dict("indigo_snapshots").items()}
    same = (out["results"].shape[:3] == (len(STEPS), len(SIGMAS_N), len(ZETAS))
            and np.allclose(out["sigmas"], SIGMAS_N, atol=1e-6)
            and np.allclose(out["zetas"], ZETAS, atol=1e-6)
            and tuple(out["steps"].tolist()) == tuple(STEPS))
    if not same:
        raise weights.WeightsError("the indigo_snapshots grid differs from the widget's: "
                                   "recreate it with `python -m course_utils.train "
                                   "indigo-snapshots`")
    return out


def _index(values, value, name):
    k = int(np.argmin(np.abs(np.asarray(values, dtype=float) - float(value))))
    if not np.isclose(values[k], value, atol=1e-6):
        raise ValueError(f"{name} must be one of {tuple(values)}, got {value!r}")
    return k


def zeta_curve(sigma_n: float, steps: int) -> list[float]:
    """PSNR of the saved INDIGO result for every ζ of :data:`ZETAS` at (sigma_n, steps)."""
    snaps = load_snapshots()
    s, k = _index(SIGMAS_N, sigma_n, "sigma_n"), _index(STEPS, steps, "steps")
    x = snaps["x"].astype(np.float64)
    return [psnr(x, snaps["results"][k, s, z].astype(np.float64)) for z in range(len(ZETAS))]


class IndigoDemo(Demo):
    """INDIGO on ×4 super-resolution of a held-out phantom: choose the measurement's noise,
    the step size ζ of the correction and the number of sampling steps.

    Notes
    -----
    Each setting was run once by ``python -m course_utils.train indigo-snapshots``
    (:mod:`course_utils.train.indigo_snapshots`: the shipped prior, DDPM respaced to the
    chosen steps, the ×4 Haar INN, one sampler seed); a live run evaluates the network and
    its gradient at every step, too slow for a slider, so the widget shows the saved results
    and their PSNR curve over ζ.
    """

    kind = "closed-form"
    figsize = (12, 3.3)
    controls = _CONTROLS

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.4])
        kw = dict(cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        x, y = observation(0.0)
        self.im_y = axes[0].imshow(np.repeat(np.repeat(y, 4, 0), 4, 1), **kw)
        self.title_y = axes[0].set_title("measurement y (8×8)")
        self.im_x = axes[1].imshow(x, **kw)
        self.title_x = axes[1].set_title("INDIGO")
        axes[2].imshow(x, **kw)
        axes[2].set_title("truth (held out)")
        for ax in axes[:3]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[3]
        (self.curve,) = ax.plot(range(len(ZETAS)), np.zeros(len(ZETAS)), "o-", color="C0",
                                lw=1.5, ms=3, label="INDIGO")
        (self.marker,) = ax.plot([0], [0], "o", color="C1", ms=7, label="current")
        ax.set_xticks(range(len(ZETAS)), [f"{z:g}" for z in ZETAS])
        ax.set_xlabel("step size ζ")
        ax.set_ylabel("PSNR (dB)")
        ax.set_ylim(0, 35)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)

    def compute(self, *, sigma_n, zeta, steps):
        snaps = load_snapshots()
        s, z, k = (_index(SIGMAS_N, sigma_n, "sigma_n"), _index(ZETAS, zeta, "zeta"),
                   _index(STEPS, steps, "steps"))
        return {"sigma_n": SIGMAS_N[s], "zeta": ZETAS[z], "steps": STEPS[k], "z": z,
                "x": snaps["x"].astype(np.float64), "y": snaps["y"][s].astype(np.float64),
                "x_hat": snaps["results"][k, s, z].astype(np.float64),
                "curve": zeta_curve(SIGMAS_N[s], STEPS[k])}

    def draw(self, state):
        x, y, x_hat, curve, z = state["x"], state["y"], state["x_hat"], state["curve"], state["z"]
        p = psnr(x, x_hat)
        self.im_y.set_data(np.clip(np.repeat(np.repeat(y, 4, 0), 4, 1), 0, 1))
        self.title_y.set_text(f"measurement y, σ = {state['sigma_n']:g}")
        self.im_x.set_data(x_hat)
        self.title_x.set_text(f"INDIGO, ζ = {state['zeta']:g}, {state['steps']} steps: {p:.1f} dB")
        self.curve.set_ydata(curve)
        self.marker.set_data([z], [p])
        best = int(np.argmax(curve))
        numbers = {"psnr": round(p, 2), "sigma_n": state["sigma_n"], "zeta": state["zeta"],
                   "steps": state["steps"], "best_zeta": ZETAS[best],
                   "best_psnr": round(float(curve[best]), 2)}
        if state["zeta"] == 0:
            numbers["message"] = ("ζ = 0: no correction at all, so this is an unconditional "
                                  "sample of the prior — a plausible phantom that ignores y.")
        elif best != z:
            numbers["message"] = (f"The best ζ here is {ZETAS[best]:g} "
                                  f"({curve[best]:.1f} dB).")
        return numbers


@register_widget("nb10_indigo", kind="closed-form", controls=_CONTROLS, combos=_COMBOS)
def indigo_widget():
    """Noise σ × step size ζ × steps: INDIGO's ×4 super-resolution of a held-out phantom.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure (measurement, INDIGO's result, the truth, PSNR
        against ζ).
    update : callable
        ``update(sigma_n=..., zeta=..., steps=...) -> dict`` with ``psnr``, ``best_zeta``
        and ``best_psnr`` (over ζ at this noise and number of steps), plus a ``message``.
    """
    return build(IndigoDemo())
