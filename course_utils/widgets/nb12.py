"""Notebook 12 widget: pixel × element × counts for MA-XRF (the spectrum at a pixel with its fit, and the element maps)."""
from __future__ import annotations

import functools

import numpy as np

from .. import xrf
from .._validate import check_int
from ._base import ChoiceControl, Demo, IntControl, build, corner_combos, register_widget

__all__ = ["XrfDemo", "xrf_widget", "SIZE", "SEED", "COUNTS_LEVELS", "ELEMENTS", "painting",
           "level", "level_quality", "pixel_fit"]

#: Side of the widget's painting (``xrf.synthetic_painting(SIZE, seed=SEED)``) and the seed of
#: its painting and Poisson noise.
SIZE: int = 32
SEED: int = 0
#: Counts per pixel of the slider (mean total counts of a pixel's spectrum).
COUNTS_LEVELS: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)
#: Elements of the painting, lightest first.
ELEMENTS: tuple[str, ...] = xrf.ELEMENTS
_METHODS = ("roi", "deconvolution")
_E_RANGE = (1.0, 17.0)

_CONTROLS = {
    "row": IntControl(0, SIZE - 1, value=8, label="pixel row"),
    "col": IntControl(0, SIZE - 1, value=8, label="pixel column"),
    "element": ChoiceControl(ELEMENTS, value="Zn", label="element", style="buttons"),
    "counts": ChoiceControl(COUNTS_LEVELS, value=10000, label="counts / pixel",
                            style="slider"),
}
_COMBOS = corner_combos(_CONTROLS, ("row", "counts")) + [
    {"element": "S", "counts": 10, "row": SIZE - 1, "col": SIZE - 1},
    {"element": "Zn", "counts": 100000, "row": 0, "col": 0},
]


@functools.lru_cache(maxsize=1)
def painting() -> dict:
    """The widget's painting: ``xrf.synthetic_painting(SIZE, seed=SEED)``."""
    return xrf.synthetic_painting(SIZE, seed=SEED)


def _check_counts(counts) -> int:
    if isinstance(counts, (bool, np.bool_)) or not isinstance(counts, (int, np.integer)) \
            or int(counts) not in COUNTS_LEVELS:
        raise ValueError(f"counts must be one of {COUNTS_LEVELS}, got {counts!r}")
    return int(counts)


@functools.lru_cache(maxsize=None)
def level(counts: int) -> dict:
    """The cube simulated at ``counts`` per pixel (seeded) and its element maps by ROI sums
    and by the deconvolution (cached): keys ``"cube"``, ``"energies"``, ``"dwell"`` (the
    calibration of :func:`course_utils.xrf.element_maps`) and one dict of maps per method."""
    counts = _check_counts(counts)
    truth = painting()["maps"]
    cube, e = xrf.simulate_datacube(truth, counts_per_pixel=counts, seed=SEED)
    out = {"cube": cube, "energies": e}
    for method in _METHODS:
        maps, info = xrf.element_maps(cube, e, ELEMENTS, method, return_info=True)
        out[method] = maps
        out["dwell"] = info["dwell"]
    return out


@functools.lru_cache(maxsize=None)
def level_quality(counts: int) -> dict:
    """:func:`course_utils.xrf.map_quality` of each method's maps at ``counts`` per pixel:
    method -> element -> {"correlation", "relative_error"}."""
    data = level(counts)
    return {m: xrf.map_quality(data[m], painting()["maps"]) for m in _METHODS}


def pixel_fit(counts: int, row: int, col: int) -> tuple[np.ndarray, dict, np.ndarray]:
    """The spectrum of pixel (row, col) at ``counts`` per pixel, its NNLS fit by
    :func:`course_utils.xrf.fit_spectrum` (fractions dict) and the fitted spectrum."""
    data = level(counts)
    row = check_int(row, "row", low=0, high=SIZE - 1)
    col = check_int(col, "col", low=0, high=SIZE - 1)
    spectrum = data["cube"][row, col].astype(np.float64)
    fractions, model = xrf.fit_spectrum(spectrum, data["energies"], ELEMENTS,
                                        dwell=data["dwell"])
    return spectrum, fractions, model


class XrfDemo(Demo):
    """A 32×32 MA-XRF scan of the course's synthetic painting: choose a pixel, an element
    and the counts per pixel (the dwell time).

    Notes
    -----
    Every counts level is simulated once, with its ROI and deconvolution maps, when the
    widget is built (a few seconds for the nine levels); an update fits the chosen
    pixel's spectrum by NNLS and redraws.
    """

    kind = "iterative"
    figsize = (13, 3.5)
    controls = _CONTROLS

    def __init__(self):
        for counts in COUNTS_LEVELS:          # precompute: updates only fit one pixel
            level_quality(counts)
        super().__init__()

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4, width_ratios=[2.4, 1, 1, 1])
        self.axes = axes
        e_all = level(COUNTS_LEVELS[0])["energies"]
        # only the channels of the shown range are drawn (fewer vertices to render)
        self.shown = (e_all >= _E_RANGE[0]) & (e_all <= _E_RANGE[1])
        self.energies = e = e_all[self.shown]
        ax = axes[0]
        (self.line_data,) = ax.plot(e, np.ones_like(e), color="0.55", lw=0.7,
                                    drawstyle="steps-mid", label="counts")
        (self.line_fit,) = ax.plot(e, np.ones_like(e), color="C3", lw=1.0,
                                   label="NNLS fit")
        (self.line_el,) = ax.plot(e, np.ones_like(e), color="C0", lw=1.0,
                                  label="its element part")
        self.window = ax.axvspan(8.5, 8.8, color="C2", alpha=0.15, label="ROI window")
        ax.set_xlim(*_E_RANGE)
        ax.set_yscale("log", nonpositive="mask")
        ax.set_ylim(0.5, 1e5)
        ax.set_xlabel("energy (keV)")
        ax.set_ylabel("counts per channel (log)")
        ax.legend(loc="upper right", fontsize=7)
        self.title_spec = ax.set_title("", y=1.01)      # a fixed y: no title layout per draw
        zero = np.zeros((SIZE, SIZE))
        self.images, self.markers, self.titles = [], [], []
        for ax, title in zip(axes[1:], ("truth", "ROI sum", "deconvolution")):
            self.images.append(ax.imshow(zero, cmap="magma", vmin=0, vmax=1,
                                         interpolation="nearest"))
            (marker,) = ax.plot([0], [0], "+", color="cyan", ms=10, mew=1.5)
            self.markers.append(marker)
            self.titles.append(ax.set_title(title, fontsize=9, y=1.01))
            ax.set_xticks([])
            ax.set_yticks([])

    def compute(self, *, row, col, element, counts):
        spectrum, fractions, model = pixel_fit(counts, row, col)
        data = level(counts)
        e = data["energies"]
        part = fractions[element] * data["dwell"] * xrf.element_spectrum(element, e)
        strongest = max(xrf.line_groups([element]), key=lambda g: g["cross_section"])
        return {"row": row, "col": col, "element": element, "counts": counts,
                "spectrum": spectrum, "model": model, "part": part, "fractions": fractions,
                "line": strongest, "maps": {m: data[m][element] for m in _METHODS},
                "quality": {m: level_quality(counts)[m][element] for m in _METHODS}}

    def draw(self, state):
        row, col, el, counts = state["row"], state["col"], state["element"], state["counts"]
        truth = painting()["maps"][el]
        shown = self.shown
        self.line_data.set_ydata(state["spectrum"][shown])
        self.line_fit.set_ydata(state["model"][shown])
        self.line_el.set_ydata(state["part"][shown])
        g = state["line"]
        half = xrf.fwhm(g["energy"])
        self.window.set_x(g["energy"] - half)
        self.window.set_width(2 * half)
        top = max(float(state["spectrum"][shown].max()), float(state["model"][shown].max()),
                  1.0)
        self.axes[0].set_ylim(0.5, 2.0 * top)
        total = int(state["spectrum"].sum())
        self.title_spec.set_text(f"pixel ({row}, {col}): {total} counts; window of "
                                 f"{xrf.line_label(g)} shaded")
        vmax = max(float(truth.max()), 1e-6)
        maps = [truth, state["maps"]["roi"], state["maps"]["deconvolution"]]
        for image, marker, m in zip(self.images, self.markers, maps):
            image.set_data(m)
            image.set_clim(0, vmax)
            marker.set_data([col], [row])
        q = state["quality"]
        self.titles[0].set_text(f"true {el} (max {vmax:.3g})")
        self.titles[1].set_text(f"ROI sum: r = {q['roi']['correlation']:.3f}")
        self.titles[2].set_text(f"deconvolution: r = {q['deconvolution']['correlation']:.3f}")
        numbers = {"counts_at_pixel": total,
                   "truth": round(float(truth[row, col]), 4),
                   "nnls_pixel": round(state["fractions"][el], 4),
                   "roi_pixel": round(float(state["maps"]["roi"][row, col]), 4),
                   "deconvolution_pixel": round(float(state["maps"]["deconvolution"][row, col]),
                                                4),
                   "corr_roi": round(q["roi"]["correlation"], 4),
                   "corr_deconvolution": round(q["deconvolution"]["correlation"], 4)}
        messages = []
        if counts <= 30:
            messages.append(f"At {counts} counts per pixel most channels hold no count at "
                            "all: one pixel's spectrum and its fit are mostly noise.")
        if counts >= 100000 and el in ("S", "Zn"):
            messages.append(f"At {counts} counts per pixel the noise is small; what still "
                            f"differs between the ROI map of {el} and the truth comes from "
                            "the lines of other elements in its window, which a longer dwell "
                            "does not remove.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb12_xrf", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def xrf_widget():
    """Pixel × element × counts: an MA-XRF spectrum with its NNLS fit, and the element's
    map (truth, ROI sum, deconvolution).

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(row=..., col=..., element=..., counts=...) -> dict`` with
        ``counts_at_pixel``, ``truth``, ``nnls_pixel``, ``roi_pixel`` and
        ``deconvolution_pixel`` (mass fractions at the pixel), ``corr_roi`` and
        ``corr_deconvolution`` (correlation of the whole maps with the truth), plus a
        ``message`` at the ends of the counts slider.
    """
    return build(XrfDemo())
