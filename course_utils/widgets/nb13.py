"""Notebook 13 widget: depth × noise × iterations for light-field microscopy (RL against the unrolled network)."""
from __future__ import annotations

import functools

import numpy as np

from .. import lfm
from ._base import ChoiceControl, Demo, IntControl, build, corner_combos, register_widget

__all__ = ["LfmDemo", "lfm_widget", "SEED", "PHOTON_LEVELS", "RL_ITERATIONS", "scene",
           "precomputed", "level_scores"]

#: Seed of the widget's neurons and of its noise.
SEED: int = 7
#: Photons per unit brightness and voxel of the noise slider (fewer: noisier).
PHOTON_LEVELS: tuple[int, ...] = (20, 50, 200, 1000, 5000)
#: Richardson–Lucy iterations of the slider (RL runs once to the last, keeping these).
RL_ITERATIONS: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
_NUM_LAYERS = 6
_CROP = 81                # sensor pixels shown: the central 9 × 9 lenslets

_CONTROLS = {
    "depth": ChoiceControl(lfm.DEPTHS, value=0.0, label="depth (µm)", style="slider"),
    "photons": ChoiceControl(PHOTON_LEVELS, value=200, label="photons / unit", style="slider"),
    "iterations": ChoiceControl(RL_ITERATIONS, value=8, label="RL iterations",
                                style="slider"),
    "layers": IntControl(0, _NUM_LAYERS, value=_NUM_LAYERS, label="network layers"),
}
_COMBOS = corner_combos(_CONTROLS, ("photons", "iterations", "layers")) + [
    {"depth": lfm.DEPTHS[0], "photons": 20, "iterations": 1, "layers": 0},
    {"depth": lfm.DEPTHS[-1], "photons": 5000, "iterations": 32, "layers": _NUM_LAYERS},
]


@functools.lru_cache(maxsize=1)
def scene() -> dict:
    """The widget's volume: 24 neurons (seed :data:`SEED`), each of a brightness uniform in
    [0.2, 1]; keys ``"layout"``, ``"x"``."""
    op = lfm.microscope()
    layout = lfm.neuron_layout(op, 24, seed=SEED)
    brightness = np.random.default_rng(SEED + 1).uniform(0.2, 1.0, 24)
    return {"layout": layout, "x": lfm.volume_from_activity(layout, brightness)}


@functools.lru_cache(maxsize=1)
def precomputed() -> dict:
    """Light fields at every photon level, RL's iterates at :data:`RL_ITERATIONS` and every
    layer of the network (computed once, about two seconds): ``"y"`` (levels, PL, PL)
    counts, ``"rl"`` (levels, iterations, D, N, N), ``"net"`` (layers + 1, levels, D, N, N)."""
    op = lfm.microscope()
    x = scene()["x"]
    ys = np.stack([lfm.simulate_light_field(op, x, photons=float(p), seed=SEED + 2)
                   for p in PHOTON_LEVELS])
    photons = np.array(PHOTON_LEVELS, dtype=float)[:, None, None, None]
    snaps = np.empty((len(PHOTON_LEVELS), len(RL_ITERATIONS)) + op.in_shape)
    sens = op.adjoint(np.ones(op.out_shape))
    est = np.broadcast_to((ys.sum(axis=(1, 2)) / sens.sum())[:, None, None, None],
                          (len(PHOTON_LEVELS),) + op.in_shape).copy()
    for k in range(1, RL_ITERATIONS[-1] + 1):       # the iteration of lfm.richardson_lucy_batch
        ratio = ys / np.maximum(op.forward_batch(est), 1e-12)
        est = np.maximum(est * op.adjoint_batch(ratio) / sens, 0.0)
        if k in RL_ITERATIONS:
            snaps[:, RL_ITERATIONS.index(k)] = est / photons
    from ..nets.lfm import load_lfm_lista

    net = load_lfm_lista(op)
    layers = net.iterates(ys / photons[:, :, :, 0])
    return {"y": ys, "rl": snaps, "net": layers}


@functools.lru_cache(maxsize=None)
def level_scores(photons: int, method: str, step: int) -> dict:
    """Volume PSNR and detection F1 of RL after ``step`` iterations (``method="rl"``) or of
    the network after ``step`` layers (``"network"``) at ``photons`` (cached)."""
    if photons not in PHOTON_LEVELS:
        raise ValueError(f"photons must be one of {PHOTON_LEVELS}, got {photons!r}")
    data = precomputed()
    i = PHOTON_LEVELS.index(photons)
    if method == "rl":
        if step not in RL_ITERATIONS:
            raise ValueError(f"step must be one of {RL_ITERATIONS}, got {step!r}")
        vol = data["rl"][i, RL_ITERATIONS.index(step)]
    elif method == "network":
        if not 0 <= step <= _NUM_LAYERS:
            raise ValueError(f"step must be in [0, {_NUM_LAYERS}], got {step!r}")
        vol = data["net"][step, i]
    else:
        raise ValueError(f"method must be 'rl' or 'network', got {method!r}")
    sc = scene()
    det = lfm.detection_scores(lfm.detect_neurons(vol), sc["layout"]["centres"])
    return {"psnr": lfm.volume_psnr(sc["x"], vol, 1.0), "f1": det["f1"]}


class LfmDemo(Demo):
    """A light-field microscope imaging 24 neurons: choose the depth shown, the photons
    (noise) and the iterations of Richardson–Lucy and the layers of the unrolled network.

    Notes
    -----
    The light fields at the five photon levels, RL's iterates up to 32 and every layer of
    the network are computed when the widget is built (a few seconds); an update picks
    them and redraws.
    """

    kind = "iterative"
    figsize = (13, 3.4)
    controls = _CONTROLS

    def __init__(self):
        precomputed()
        super().__init__()

    def setup_figure(self, fig):
        axes = fig.subplots(1, 4)
        self.axes = axes
        n = lfm.microscope().in_shape[1]
        self.sensor = axes[0].imshow(np.zeros((_CROP, _CROP)), cmap="gray", vmin=0, vmax=1,
                                     interpolation="nearest")
        self.images, self.titles = [], []
        for ax in axes[1:]:
            self.images.append(ax.imshow(np.zeros((n, n)), cmap="magma", vmin=0, vmax=1,
                                         interpolation="nearest"))
            self.titles.append(ax.set_title("", fontsize=9, y=1.01))
        self.sensor_title = axes[0].set_title("", fontsize=9, y=1.01)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])

    def compute(self, *, depth, photons, iterations, layers):
        data = precomputed()
        i = PHOTON_LEVELS.index(photons)
        d = lfm.DEPTHS.index(depth)
        return {"depth": depth, "d": d, "photons": photons, "iterations": iterations,
                "layers": layers, "y": data["y"][i],
                "rl": data["rl"][i, RL_ITERATIONS.index(iterations)][d],
                "net": data["net"][layers, i][d],
                "truth": scene()["x"][d],
                "rl_scores": level_scores(photons, "rl", iterations),
                "net_scores": level_scores(photons, "network", layers)}

    def draw(self, state):
        y = state["y"]
        lo = (y.shape[0] - _CROP) // 2
        crop = y[lo:lo + _CROP, lo:lo + _CROP]
        self.sensor.set_data(crop)
        self.sensor.set_clim(0, max(float(crop.max()), 1.0))
        self.sensor_title.set_text(f"sensor (centre), {state['photons']} photons / unit")
        truth, rl, net = state["truth"], state["rl"], state["net"]
        top = max(float(truth.max()), 0.2)
        for image, m in zip(self.images, (truth, rl, net)):
            image.set_data(m)
            image.set_clim(0, top)
        r, n = state["rl_scores"], state["net_scores"]
        self.titles[0].set_text(f"truth at z = {state['depth']:g} µm")
        self.titles[1].set_text(f"RL-{state['iterations']}: {r['psnr']:.2f} dB, "
                                f"F1 {r['f1']:.2f}")
        self.titles[2].set_text(f"network, {state['layers']} layers: {n['psnr']:.2f} dB, "
                                f"F1 {n['f1']:.2f}")
        numbers = {"psnr_rl": round(r["psnr"], 2), "psnr_network": round(n["psnr"], 2),
                   "f1_rl": round(r["f1"], 3), "f1_network": round(n["f1"], 3),
                   "counts": int(y.sum()),
                   "slice_max_truth": round(float(truth.max()), 4)}
        messages = []
        if state["depth"] == 0.0:
            messages.append("z = 0 is the native focal plane: each lenslet sees its voxels "
                            "alike, so RL fills every lenslet with the same blocky pattern.")
        if state["photons"] <= 20 and state["iterations"] >= 32:
            messages.append("At 20 photons per unit, many RL iterations fit the Poisson "
                            "noise: the volume fills with speckles.")
        if state["layers"] == 0:
            messages.append("Layer 0 is only the scaled, thresholded regularised inverse "
                            "(HᵀH + λI)⁻¹Hᵀy, the network's one use of the physics.")
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb13_lfm", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def lfm_widget():
    """Depth × photons × RL iterations × network layers: a depth slice of the true volume,
    of Richardson–Lucy and of the unrolled network, with the sensor image.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(depth=..., photons=..., iterations=..., layers=...) -> dict`` with
        ``psnr_rl``, ``psnr_network`` (whole-volume PSNR, dB), ``f1_rl``, ``f1_network``
        (neuron detection), ``counts`` (photons on the sensor), ``slice_max_truth``, plus a
        ``message`` for the native focal plane, the noisiest RL and layer 0.
    """
    return build(LfmDemo())
