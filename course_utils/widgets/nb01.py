"""Notebook 01 widget: noise level × truncation index for TSVD on 1-D deblurring."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .._validate import check_int, check_scalar
from ..data import add_noise, signal_1d
from ..illposed import (compute_svd, condition_number, filter_error_curve, picard_coefficients,
                        plot_picard)
from ..operators.basic import deconvolution_matrix
from ._base import ChoiceControl, Demo, IntControl, build, register_widget

__all__ = ["TsvdDemo", "tsvd_widget", "NOISE_LEVELS", "picard_limits"]

#: Noise standard deviations offered by the slider (signal values lie in [0, 1]).
NOISE_LEVELS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
_N = 128

_CONTROLS = {
    "sigma": ChoiceControl(tuple(("0" if s == 0 else f"{s:g}", s) for s in NOISE_LEVELS),
                           value=1e-2, label="noise σ", style="slider"),
    "k": IntControl(1, _N, value=20, label="truncation k"),
}
_COMBOS = [{"sigma": 0.0, "k": _N}, {"sigma": 0.1, "k": _N}, {"sigma": 0.0, "k": 1},
           {"sigma": 0.1, "k": 1}]


#: Decades shown above the largest data coefficient (room for the growing ratios).
PICARD_DECADES_ABOVE = 3


def picard_limits(coeffs, sigma: float) -> tuple[float, float]:
    """Readable y-limits for the Picard plot: from a decade below the noise floor (σ, or
    the round-off level ``eps · ‖coeffs‖`` when σ = 0) to ``PICARD_DECADES_ABOVE``
    decades above the largest coefficient ``|u_iᵀy|``.

    What lies below the floor is noise (or round-off), and the ratios ``|u_iᵀy| / s_i``
    that leave the top have already shown their explosion; the full range (about 1e-18
    to 1e7 without clipping) would squeeze the informative decades into a sliver.
    """
    coeffs = np.abs(np.asarray(coeffs, dtype=float))
    largest = float(coeffs.max()) if coeffs.size and coeffs.max() > 0 else 1.0
    floor = float(sigma) if sigma > 0 else \
        float(np.finfo(float).eps) * max(float(np.linalg.norm(coeffs)), 1e-300)
    return 0.1 * min(floor, largest), largest * 10.0 ** PICARD_DECADES_ABOVE


class TsvdDemo(Demo):
    """Truncated SVD of a 1-D Gaussian deblurring problem, with its Picard plot.

    Parameters
    ----------
    n : int
        Signal length (the ``k`` slider goes from 1 to ``n``; the registered spec uses
        the default 128).
    kernel_sigma : float
        Width of the Gaussian blur in samples.
    seed : int
        Seed of the (fixed) noise realisation, scaled by ``sigma``.
    """

    kind = "closed-form"
    figsize = (11, 3.4)
    controls = _CONTROLS

    def __init__(self, n: int = _N, kernel_sigma: float = 2.0, seed: int = 0):
        self.n = check_int(n, "n", low=8, high=1024)
        self.kernel_sigma = check_scalar(kernel_sigma, "kernel_sigma", low=0.0,
                                         low_inclusive=False)
        self.seed = check_int(seed, "seed", low=0)
        if self.n != _N:
            self.controls = {**_CONTROLS,
                             "k": IntControl(1, self.n, value=min(20, self.n),
                                             label="truncation k")}
        self.A = deconvolution_matrix(self.n, self.kernel_sigma)
        self.svd = compute_svd(self.A)
        self.x = signal_1d(self.n)
        self.Ax = self.A @ self.x
        self.kappa = condition_number(self.svd)
        super().__init__()

    def setup_figure(self, fig):
        n = self.n
        t = np.arange(n)
        ax_sig, ax_pic, ax_err = fig.subplots(1, 3)
        self.axes = (ax_sig, ax_pic, ax_err)
        ax_sig.plot(t, self.x, color="0.4", lw=2, label="x (true)")
        self.line_y, = ax_sig.plot(t, self.Ax, ":", color="tab:green", label="y (data)")
        self.line_xk, = ax_sig.plot(t, self.x, color="tab:blue", label="x_k (TSVD)")
        ax_sig.set_ylim(-0.6, 1.6)
        ax_sig.set_xlim(0, n - 1)
        ax_sig.set_xlabel("sample")
        ax_sig.set_title("signal")
        ax_sig.legend(loc="upper right", fontsize="small")

        artists = plot_picard(self.svd.s, np.ones(n), k=1, sigma=1e-2, ax=ax_pic)
        self.line_coef, self.line_ratio = artists["coeffs"], artists["ratios"]
        self.line_noise, self.vline_pic = artists["sigma"], artists["k"]
        ax_pic.set_ylim(*picard_limits(np.ones(n), 1e-2))
        ax_pic.legend(loc="upper left", fontsize="x-small")   # the empty corner once clipped
        ax_pic.yaxis.set_major_locator(LogLocator(numticks=6))
        ax_pic.yaxis.set_minor_locator(NullLocator())
        ax_pic.set_xlim(0, n + 1)

        ks = np.arange(1, n + 1)
        self.line_err, = ax_err.semilogy(ks, np.ones(n), color="tab:purple")
        self.mark_best, = ax_err.semilogy([1], [1], "v", color="tab:green", label="best k")
        self.mark_k, = ax_err.semilogy([1], [1], "o", color="tab:orange", label="current k")
        ax_err.set_xlim(0, n + 1)
        ax_err.yaxis.set_major_locator(LogLocator(numticks=6))
        ax_err.yaxis.set_minor_locator(NullLocator())
        for ax in self.axes:                 # fewer tick labels: text layout dominates a redraw
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax_sig.yaxis.set_major_locator(MaxNLocator(4))
        ax_err.set_xlabel("truncation k")
        ax_err.set_title(r"relative error $\|x_k - x\| / \|x\|$")
        ax_err.legend(loc="upper left", fontsize="small")

    def compute(self, *, sigma, k):
        U, s, Vt = self.svd
        y = add_noise(self.Ax, sigma, seed=self.seed)
        beta = U.T @ y
        x_k = Vt[:k].T @ (beta[:k] / s[:k])
        coeffs, ratios = picard_coefficients(U, s, y)
        errors = filter_error_curve(self.svd, y, self.x, "tsvd",
                                    ks=np.arange(1, self.n + 1))
        return {"sigma": sigma, "k": k, "y": y, "x_k": x_k, "coeffs": coeffs,
                "ratios": ratios, "errors": errors}

    def draw(self, state):
        sigma, k, x_k, errors = state["sigma"], state["k"], state["x_k"], state["errors"]
        self.line_y.set_ydata(state["y"])
        self.line_xk.set_ydata(np.clip(x_k, -1e3, 1e3))
        self.line_coef.set_ydata(np.maximum(state["coeffs"], 1e-30))
        self.line_ratio.set_ydata(np.maximum(state["ratios"], 1e-30))
        self.line_noise.set_ydata([max(sigma, 1e-30)] * 2)
        self.line_noise.set_visible(sigma > 0)
        self.vline_pic.set_xdata([k, k])
        self.axes[1].set_ylim(*picard_limits(state["coeffs"], sigma))
        self.line_err.set_ydata(errors)
        best = int(np.argmin(errors))
        self.mark_best.set_data([best + 1], [errors[best]])
        self.mark_k.set_data([k], [errors[k - 1]])
        ax_err = self.axes[2]
        ax_err.set_ylim(0.5 * errors.min(), 2 * errors.max())
        peak = float(np.max(np.abs(x_k)))
        messages = []
        if k == self.n:
            messages.append(f"k = n keeps every singular value: this is the naive inverse "
                            f"A⁻¹y, which amplifies the noise by up to 1/s_n = "
                            f"{1 / self.svd.s[-1]:.1e}.")
        if sigma == 0:
            messages.append("No noise: only round-off (about 1e-16) limits how many "
                            "singular values can be kept.")
        if peak > 1.6:
            messages.append(f"x_k leaves the axes (max |x_k| = {peak:.1e}): noise "
                            "dominates the kept components.")
        numbers = {"sigma": float(sigma), "k": int(k),
                   "relative_error": float(errors[k - 1]),
                   "best_k": best + 1, "best_error": float(errors[best]),
                   "condition_number": float(self.kappa)}
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb01_tsvd", kind="closed-form", controls=_CONTROLS, combos=_COMBOS)
def tsvd_widget(*, n: int = _N, kernel_sigma: float = 2.0, seed: int = 0):
    """Noise level × truncation index: TSVD reconstruction, Picard plot, error vs k.

    Parameters
    ----------
    n : int
        Signal length.
    kernel_sigma : float
        Width of the Gaussian blur (samples).
    seed : int
        Seed of the noise realisation.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure (display it in a notebook).
    update : callable
        ``update(sigma=..., k=...) -> dict`` recomputes, refreshes the figure in place
        and returns ``relative_error``, ``best_k``, ``best_error``, ``condition_number``
        (and a ``message`` for degenerate settings).
    """
    return build(TsvdDemo(n=n, kernel_sigma=kernel_sigma, seed=seed))
