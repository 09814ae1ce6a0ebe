"""Notebook 04 widget: layers/iterations × λ for ISTA, FISTA and LISTA on sparse coding."""
from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from .._validate import check_int
from ..unrolled import (LISTA_SETTINGS, fista_sparse_coding, ista_sparse_coding, lista_layer,
                        lista_problem, nmse)
from ._base import ChoiceControl, Demo, build, register_widget

__all__ = ["ListaDemo", "lista_widget", "ITERATIONS", "LAMS", "LISTA_LAYERS",
           "lista_numpy_params", "lista_forward", "sparse_coding_curves"]

#: Layers / iterations offered by the slider (powers of two).
ITERATIONS = tuple(2 ** p for p in range(10))
#: λ of ISTA and FISTA: 0 (no sparsity) to 0.5; LISTA was trained for LISTA_SETTINGS["lam"].
LAMS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
#: Depths of the shipped LISTA networks.
LISTA_LAYERS = (4, 8, 16)

_CONTROLS = {
    "num_iters": ChoiceControl(tuple((str(k), k) for k in ITERATIONS), value=16,
                               label="layers / iterations", style="slider"),
    "lam": ChoiceControl(tuple(("0" if v == 0 else f"{v:g}", v) for v in LAMS),
                         value=LISTA_SETTINGS["lam"], label="λ (ISTA, FISTA)", style="slider"),
}
_COMBOS = [{"num_iters": 1, "lam": 0.0}, {"num_iters": 512, "lam": 0.0},
           {"num_iters": 1, "lam": 0.5}, {"num_iters": 512, "lam": 0.5}]
_FLOOR_DB = -60.0


def lista_numpy_params(num_layers: int):
    """``(W_e, S, theta, trained)`` of the shipped ``num_layers``-layer LISTA as numpy arrays.

    When the weights are not available (``python -m course_utils.train lista`` not run),
    the ISTA initialisation is returned with ``trained = False``.
    """
    num_layers = check_int(num_layers, "num_layers", low=1)
    try:
        from ..nets.unrolled import load_lista
        params, trained = load_lista(num_layers).numpy_params(), True
    except (OSError, ValueError, RuntimeError):
        from ..operators.sparse_coding import gaussian_dictionary
        s = LISTA_SETTINGS
        D = gaussian_dictionary(s["m"], s["n"], s["dictionary_seed"])
        tau = 1.0 / np.linalg.norm(D, 2) ** 2
        params = {"W_e": tau * D.T, "S": np.eye(s["n"]) - tau * D.T @ D,
                  "theta": np.full((num_layers, 1), tau * s["lam"])}
        trained = False
    return params["W_e"], params["S"], params["theta"], trained


def lista_forward(y, W_e, S, theta) -> np.ndarray:
    """Run a LISTA network layer by layer with :func:`course_utils.unrolled.lista_layer`.

    ``theta`` has one row per layer (shape (T, 1) or (T, n)); returns the codes (B, n).
    """
    z = np.zeros(np.shape(y)[:-1] + (np.shape(S)[0],))
    for t in range(np.shape(theta)[0]):
        row = np.asarray(theta[t])
        z = lista_layer(y, z, W_e, S, row if row.size > 1 else float(row.ravel()[0]))
    return z


def sparse_coding_curves(lam: float, *, num_samples: int = 100, sample: int = 0) -> dict:
    """What :func:`lista_widget` computes for one λ: ISTA and FISTA run for
    ``ITERATIONS[-1]`` iterations on the first ``num_samples`` held-out signals.

    Returns a dict with ``"ista"`` and ``"fista"`` (NMSE to the true codes after each
    iteration, arrays of length ``ITERATIONS[-1]``) and ``"ista_codes"``,
    ``"fista_codes"`` (iteration -> code of signal ``sample``, at the slider's values).
    Cached per process: treat the arrays as read-only.
    """
    lam = float(lam)
    if not lam >= 0:
        raise ValueError(f"lam must be a number >= 0, got {lam}")
    num_samples = check_int(num_samples, "num_samples", low=1, high=5000)
    sample = check_int(sample, "sample", low=0, high=num_samples - 1)
    return _sparse_coding_curves(lam, num_samples, sample)


@functools.lru_cache(maxsize=4 * len(LAMS))
def _sparse_coding_curves(lam: float, num_samples: int, sample: int) -> dict:
    problem = lista_problem("test", num_samples)
    entry = {}
    for name, solver in (("ista", ista_sparse_coding), ("fista", fista_sparse_coding)):
        codes = {}

        def keep(k, x_k, codes=codes):
            if k in ITERATIONS:
                codes[k] = x_k[sample].copy()

        run = solver(problem.D, problem.y, lam, num_iters=ITERATIONS[-1], x_ref=problem.x,
                     callback=keep)
        entry[name] = np.array(run.history["nmse"])
        entry[f"{name}_codes"] = codes
    return entry


def _db(value: float) -> float:
    return 10.0 * math.log10(value) if value > 0 else _FLOOR_DB


class ListaDemo(Demo):
    """Error curves of ISTA and FISTA against the shipped LISTA networks, and one code.

    Parameters
    ----------
    num_samples : int
        Held-out signals averaged in the error curves.
    sample : int
        Index of the signal whose code is drawn.

    Notes
    -----
    Errors are normalised squared errors to the *true* codes, so that every λ can be
    compared; LISTA was trained for λ = ``LISTA_SETTINGS["lam"]`` (its markers do not
    move with the slider). Curves are computed once per λ and cached.
    """

    kind = "iterative"
    figsize = (11, 3.6)
    controls = _CONTROLS

    def __init__(self, num_samples: int = 100, sample: int = 0):
        self.num_samples = check_int(num_samples, "num_samples", low=1, high=5000)
        self.sample = check_int(sample, "sample", low=0, high=self.num_samples - 1)
        problem = lista_problem("test", self.num_samples)
        self.D, self.x, self.y = problem.D, problem.x, problem.y
        self.lista = {}
        self.lista_trained = True
        for t in LISTA_LAYERS:
            W_e, S, theta, trained = lista_numpy_params(t)
            z = lista_forward(self.y, W_e, S, theta)
            self.lista[t] = {"params": (W_e, S, theta), "nmse": nmse(z, self.x),
                             "code": z[self.sample]}
            self.lista_trained &= trained
        self._curves: dict[float, dict] = {}
        super().__init__()

    def setup_figure(self, fig):
        ax_err, ax_code = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
        self.axes = (ax_err, ax_code)
        k = np.arange(1, ITERATIONS[-1] + 1)
        self.line_ista, = ax_err.semilogx(k, np.zeros_like(k, dtype=float), color="tab:blue",
                                          label="ISTA")
        self.line_fista, = ax_err.semilogx(k, np.zeros_like(k, dtype=float),
                                           color="tab:orange", label="FISTA")
        layers = np.array(LISTA_LAYERS)
        errs = [_db(self.lista[t]["nmse"]) for t in LISTA_LAYERS]
        ax_err.semilogx(layers, errs, "s", color="tab:green", ms=7,
                        label=f"LISTA (λ = {LISTA_SETTINGS['lam']:g})")
        for t, e in zip(LISTA_LAYERS, errs):
            ax_err.annotate(f"T={t}", (t, e), textcoords="offset points", xytext=(4, -12),
                            fontsize="small", color="tab:green")
        self.vline = ax_err.axvline(16, color="0.5", lw=1, ls=":")
        self.mark_ista, = ax_err.plot([16], [0], "o", color="tab:blue")
        self.mark_fista, = ax_err.plot([16], [0], "o", color="tab:orange")
        ax_err.set_xlim(1, ITERATIONS[-1])
        # plain labels at the slider's values: log-axis minor labels (mathtext) would
        # dominate the redraw time
        ax_err.xaxis.set_major_locator(FixedLocator(ITERATIONS))
        ax_err.xaxis.set_major_formatter(FixedFormatter([str(k) for k in ITERATIONS]))
        ax_err.xaxis.set_minor_locator(NullLocator())
        ax_err.set_ylim(-30, 3)
        ax_err.set_xlabel("iterations k  /  layers T")
        ax_err.set_ylabel("NMSE to the true codes (dB)")
        ax_err.set_title("error vs cost (same cost per layer and per iteration)")
        ax_err.legend(loc="lower left", fontsize="small")
        ax_err.grid(True, which="major", alpha=0.3)

        n = self.D.shape[1]
        idx = np.arange(n)
        ax_code.vlines(idx, 0, self.x[self.sample], color="0.6", lw=2)
        ax_code.plot(idx, self.x[self.sample], "o", color="0.4", ms=4, label="true x")
        self.pts_ista, = ax_code.plot(idx, np.zeros(n), "x", color="tab:blue", ms=5,
                                      label="ISTA")
        self.pts_fista, = ax_code.plot(idx, np.zeros(n), "+", color="tab:orange", ms=6,
                                       label="FISTA")
        self.pts_lista, = ax_code.plot(idx, np.zeros(n), ".", color="tab:green", ms=6,
                                       label="LISTA")
        ax_code.axhline(0, color="0.8", lw=0.8)
        peak = 1.25 * float(np.max(np.abs(self.x[self.sample])))
        ax_code.set_ylim(-peak, peak)
        ax_code.set_xlim(-1, n)
        ax_code.set_xlabel("atom j")
        self.code_title = ax_code.set_title("code of one held-out signal")
        self.code_legend = ax_code.legend(loc="upper right", fontsize="small", ncol=2)

    def _curves_for(self, lam: float) -> dict:
        """Error curves of both methods for ``lam`` and the drawn code at every slider value
        (one run of each method over the batch, cached)."""
        if lam not in self._curves:
            self._curves[lam] = sparse_coding_curves(lam, num_samples=self.num_samples,
                                                     sample=self.sample)
        return self._curves[lam]

    def compute(self, *, num_iters, lam):
        curves = self._curves_for(lam)
        code_ista = curves["ista_codes"][num_iters]
        code_fista = curves["fista_codes"][num_iters]
        depth = min(LISTA_LAYERS, key=lambda t: abs(math.log2(t) - math.log2(num_iters)))
        target = self.lista[16]["nmse"]
        reached = np.nonzero(curves["ista"] <= target)[0]
        return {"num_iters": num_iters, "lam": lam, "curves": curves, "code_ista": code_ista,
                "code_fista": code_fista, "depth": depth,
                "ista_to_match": int(reached[0]) + 1 if reached.size else None}

    def draw(self, state):
        k, lam, curves = state["num_iters"], state["lam"], state["curves"]
        ista_db = [_db(v) for v in curves["ista"]]
        fista_db = [_db(v) for v in curves["fista"]]
        self.line_ista.set_ydata(ista_db)
        self.line_fista.set_ydata(fista_db)
        self.vline.set_xdata([k, k])
        self.mark_ista.set_data([k], [ista_db[k - 1]])
        self.mark_fista.set_data([k], [fista_db[k - 1]])
        self.pts_ista.set_ydata(state["code_ista"])
        self.pts_fista.set_ydata(state["code_fista"])
        depth = state["depth"]
        self.pts_lista.set_ydata(self.lista[depth]["code"])
        self.code_legend.get_texts()[3].set_text(f"LISTA, T = {depth}")
        self.code_title.set_text(f"code of one held-out signal after k = {k}")
        match = state["ista_to_match"]
        numbers = {"num_iters": int(k), "lam": float(lam),
                   "ista_nmse_db": ista_db[k - 1], "fista_nmse_db": fista_db[k - 1],
                   "lista_layers": int(depth),
                   "lista_nmse_db": _db(self.lista[depth]["nmse"]),
                   "ista_iters_to_match_lista16": match if match is not None
                   else f"> {ITERATIONS[-1]}"}
        messages = []
        if lam == 0:
            messages.append("λ = 0: no sparsity prior. With more atoms than measurements "
                            "ISTA and FISTA converge to a dense least-squares code.")
        elif lam != LISTA_SETTINGS["lam"]:
            messages.append(f"LISTA was trained for λ = {LISTA_SETTINGS['lam']:g}; its "
                            "markers do not move with the slider.")
        if not self.lista_trained:
            messages.append("The LISTA weights are missing: the markers show untrained "
                            "LISTA (= ISTA); run `python -m course_utils.train lista`.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb04_lista", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def lista_widget(*, num_samples: int = 100, sample: int = 0):
    """Layers/iterations × λ: ISTA and FISTA error curves, the LISTA networks, one code.

    Parameters
    ----------
    num_samples : int
        Held-out signals averaged in the error curves.
    sample : int
        Index of the signal whose code is drawn.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(num_iters=..., lam=...) -> dict`` recomputes, redraws and returns the
        errors in dB (``ista_nmse_db``, ``fista_nmse_db``, ``lista_nmse_db``), the depth of
        the LISTA drawn and ``ista_iters_to_match_lista16`` at this λ.
    """
    return build(ListaDemo(num_samples=num_samples, sample=sample))
