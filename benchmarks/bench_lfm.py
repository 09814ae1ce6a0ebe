"""Light-field microscopy of neurons: Richardson–Lucy, non-negative FISTA and the unrolled network.

The course's microscope (``course_utils.lfm.microscope()``: 9 depths 4 µm apart, 9×9 pixels
behind each of 24×24 lenslets, a 9 × 72 × 72 volume, wave-optics PSFs) images volumes of 24
spherical neurons (radius 3 µm, six close pairs 8 µm apart) whose layouts no training command
saw (seeds ``SEEDS``), with Poisson noise at ``PHOTONS`` photons per unit brightness and voxel.
The first table gives, per method, the mean volume PSNR (peak 1, the brightest possible
neuron), the precision, recall and F1 of neuron detection (``lfm.detect_neurons``: peaks of
the lightly smoothed volume above 0.3 of its maximum, matched within 4 µm) and the CPU
seconds per volume (``time.process_time``, median of ``REPEATS`` calls, one thread). The
second table reconstructs a recording of ``FRAMES`` frames (10 Hz, independent Poisson
spike trains through a GCaMP-like response) by RL-8 and by the network, reads each
neuron's trace (footprint-weighted mean), and gives the crosstalk — the mean correlation of
the traces of the close pairs, whose true activities are independent — and the mean
correlation of each neuron's trace with its true trace. The last table checks the
targets.
"""
from __future__ import annotations

import time

import numpy as np

from course_utils import lfm

from benchmarks.run import median_cpu

__all__ = ["run", "SEEDS", "PHOTONS", "REPEATS", "FRAMES", "RECORDING_SEED",
           "RL_CONVERGED_TOL", "SCATTER", "scene"]

#: Layout seeds of the test volumes (never used by the trainer, whose seeds are >= 1000).
SEEDS: tuple[int, ...] = (10, 11, 12)
#: Photons per unit brightness and voxel (the noise level) of the main table.
PHOTONS: tuple[float, ...] = (50.0, 200.0, 1000.0)
#: Timed calls per method and volume (the median is reported).
REPEATS: int = 3
#: Frames of the recording, its seed, and the scattering blurs (σ, sensor pixels) tried.
FRAMES: int = 200
SCATTER: tuple[float, ...] = (0.0, 2.0)
RECORDING_SEED: int = 20
#: Richardson–Lucy "to convergence": until the relative change of an iteration is below
#: this (at most 300 iterations).
RL_CONVERGED_TOL: float = 1e-3


def scene(seed: int, photons: float) -> tuple[dict, np.ndarray, np.ndarray]:
    """The test scene of ``seed``: layout, true volume (each neuron's brightness uniform in
    [0.2, 1]) and its light field at ``photons``."""
    op = lfm.microscope()
    layout = lfm.neuron_layout(op, 24, seed=seed)
    brightness = np.random.default_rng(seed + 1).uniform(0.2, 1.0, 24)
    x = lfm.volume_from_activity(layout, brightness)
    y = lfm.simulate_light_field(op, x, photons=photons, seed=seed + 2)
    return layout, x, y


def _methods():
    return {
        "RL-8": lambda y, ph: lfm.reconstruct(y, "rl", photons=ph, num_iters=8),
        "RL to convergence": lambda y, ph: _rl_converged(y, ph),
        "FISTA, 100 iterations": lambda y, ph: lfm.reconstruct(y, "fista", photons=ph,
                                                               num_iters=100),
        "network (6+1 layers)": lambda y, ph: lfm.reconstruct(y, "network", photons=ph),
    }


def _rl_converged(y, photons):
    from course_utils.solvers import RichardsonLucy

    x_hat, hist = RichardsonLucy(lfm.microscope(), y).run(300, tol=RL_CONVERGED_TOL)
    _rl_converged.iterations.append(len(hist["objective"]))
    return x_hat / photons


_rl_converged.iterations = []


def run(quick: bool = False) -> list[dict]:
    op = lfm.microscope()
    lfm.reconstruct(np.zeros(op.out_shape), "network")        # load the network once
    op.norm()                                                  # FISTA's step, cached
    seeds = SEEDS[:1] if quick else SEEDS
    photons_levels = (200.0,) if quick else PHOTONS
    repeats = 1 if quick else REPEATS
    methods = _methods()
    rows, summary = [], {}
    _rl_converged.iterations.clear()
    for ph in photons_levels:
        stats = {m: {"psnr": [], "precision": [], "recall": [], "f1": [], "cpu": []}
                 for m in methods}
        for seed in seeds:
            layout, x, y = scene(seed, ph)
            for name, fn in methods.items():
                reps = 1 if name in ("RL to convergence", "FISTA, 100 iterations") else repeats
                x_hat, cpu = median_cpu(lambda: fn(y, ph), reps)
                det = lfm.detection_scores(lfm.detect_neurons(x_hat, op), layout["centres"])
                s = stats[name]
                s["psnr"].append(lfm.volume_psnr(x, x_hat, 1.0))
                for key in ("precision", "recall", "f1"):
                    s[key].append(det[key])
                s["cpu"].append(cpu)
        for name, s in stats.items():
            mean = {k: float(np.mean(v)) for k, v in s.items()}
            summary[ph, name] = mean
            rows.append([int(ph), name, round(mean["psnr"], 2), round(mean["precision"], 3),
                         round(mean["recall"], 3), round(mean["f1"], 3),
                         round(mean["cpu"], 4)])
    iters = _rl_converged.iterations
    table1 = {
        "title": "LFM volumes: RL, FISTA and the unrolled network (mean over test volumes)",
        "columns": ["photons / unit", "method", "PSNR (dB)", "precision", "recall", "F1",
                    "CPU s / volume"],
        "rows": rows,
        "notes": (f"{len(seeds)} held-out volumes of 24 neurons (seeds {list(seeds)}), "
                  "9 × 72 × 72 voxels, 216 × 216 sensor. RL to convergence: relative change "
                  f"< {RL_CONVERGED_TOL:g}, {min(iters)} to {max(iters)} iterations. FISTA: "
                  "½‖Hx − y‖² + λΣx, x ≥ 0, λ = 0.005, step 1/‖H‖². Network: "
                  "course_utils.nets.lfm.LFMLista, shipped weights lfm_lista."),
    }

    # -- time series ------------------------------------------------------------------------
    frames = 60 if quick else FRAMES
    ts_rows, ts = [], {}
    for scatter in ((0.0,) if quick else SCATTER):
        rec = lfm.recording(frames, seed=RECORDING_SEED, photons=200.0, scatter=scatter)
        layout, truth = rec["layout"], rec["traces"]
        for name, method in (("RL-8", "rl"), ("network", "network")):
            start = time.process_time()
            vols = lfm.reconstruct_batch(rec["light_fields"], method, photons=200.0)
            cpu = time.process_time() - start
            tr = lfm.neuron_traces(vols, layout)
            fidelity = float(np.mean([np.corrcoef(tr[i], truth[i])[0, 1]
                                      for i in range(len(truth))]))
            ts[scatter, name] = {"crosstalk": lfm.crosstalk(tr, layout["pairs"], truth),
                                 "mean": lfm.crosstalk(tr, layout["pairs"]),
                                 "fidelity": fidelity}
            ts_rows.append([scatter, name, round(ts[scatter, name]["mean"], 3),
                            round(ts[scatter, name]["crosstalk"], 3), round(fidelity, 3),
                            round(cpu / frames, 4)])
        ts_rows.append([scatter, "truth", round(lfm.crosstalk(truth, layout["pairs"]), 3),
                        0.0, 1.0, 0.0])
    table2 = {
        "title": "LFM time series: crosstalk between close neurons that fire independently",
        "columns": ["scatter (px)", "volumes from", "mean pair correlation",
                    "crosstalk: mean |Δ correlation| vs truth",
                    "trace fidelity (mean corr. with truth)", "CPU s / frame (batched)"],
        "rows": ts_rows,
        "notes": (f"Recording of {frames} frames at 10 Hz, 200 photons per unit, seed "
                  f"{RECORDING_SEED}; {len(layout['pairs'])} pairs of neurons 8 µm apart "
                  "(centre to centre, radius 3 µm). Traces: footprint-weighted means of "
                  "each reconstructed volume. The true traces of independent neurons "
                  "correlate by chance over a short recording (row 'truth'), so the "
                  "crosstalk is the mean absolute change of each pair's correlation. "
                  "Scatter: a Gaussian blur of the light field (σ in sensor pixels) that "
                  "the reconstructions do not model."),
    }

    # -- targets ------------------------------------------------------------------------------
    ph = 200.0
    rl8, net = summary[ph, "RL-8"], summary[ph, "network (6+1 layers)"]
    speed = rl8["cpu"] / net["cpu"]

    def verdict(ok):
        return "met" if ok else "not met"

    targets = [
        ["network PSNR ≥ RL-8 + 2 dB (200 photons)",
         f"{net['psnr']:.2f} vs {rl8['psnr']:.2f} dB (+{net['psnr'] - rl8['psnr']:.2f})",
         verdict(net["psnr"] >= rl8["psnr"] + 2)],
        ["network ≥ 10× faster than RL-8 at inference",
         f"{speed:.1f}× ({net['cpu']:.4f} vs {rl8['cpu']:.4f} CPU s)", verdict(speed >= 10)],
        ["network detection F1 > RL-8", f"{net['f1']:.3f} vs {rl8['f1']:.3f}",
         verdict(net["f1"] > rl8["f1"])],
    ]
    for scatter in ((0.0,) if quick else SCATTER):
        targets.append([f"network crosstalk < RL-8 (scatter {scatter:g} px)",
                        f"{ts[scatter, 'network']['crosstalk']:.3f} vs "
                        f"{ts[scatter, 'RL-8']['crosstalk']:.3f}",
                        verdict(ts[scatter, "network"]["crosstalk"]
                                < ts[scatter, "RL-8"]["crosstalk"])])
    table3 = {
        "title": "Light-field microscopy: the targets",
        "columns": ["target", "measured", "verdict"],
        "rows": targets,
        "notes": ("The network applies one fixed per-frequency filter bank, the "
                  "regularised inverse (HᵀH + λI)⁻¹Hᵀ (the cost of one Hᵀ, complex64), then "
                  "6 unrolled layers of small learned convolutions on the volume's "
                  "polyphase channels (81 on the 24 × 24 lenslet grid), in float32; RL-8 "
                  "applies H or Hᵀ 18 times (8 iterations of one H and one Hᵀ, the start "
                  "and Hᵀ1) in numpy float64, each bound by reading the per-frequency "
                  "matrices (16 MB in float32)."),
    }
    return [table1, table2, table3]


if __name__ == "__main__":
    from benchmarks.run import to_markdown

    for t in run():
        print(to_markdown(t))
