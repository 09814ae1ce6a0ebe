"""MRI reconstruction quality: PSNR/SSIM at 4× and 8× for every pattern and method on the
held-out images (Shepp–Logan and the matplotlib MRI slice), reconstruction times, and the
CPU cost of training the three networks.
"""
from __future__ import annotations

import statistics
import time

__all__ = ["run", "SIZE"]

#: Image side of the benchmark (the size notebook 07 uses).
SIZE = 96


def _timing_table(size: int, repeats: int) -> dict:
    from course_utils import mri_recon as R

    x = R.test_image("mri_slice", size)
    rows = []
    for pattern in ("variable_density", "radial"):
        acq = R.sampling(pattern, (size, size), 4)
        y = R.acquire(x, acq)
        for method in R.METHODS:
            if method in R.LEARNED_METHODS and pattern == "radial":
                continue
            R.reconstruct(y, acq, method)             # warm-up: weights, DCF, step size
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                R.reconstruct(y, acq, method)
                times.append(time.perf_counter() - start)
            rows.append([pattern, R.METHOD_LABELS[method],
                         round(1e3 * statistics.median(times), 1)])
    return {"title": f"MRI reconstruction time at 4×, {size}×{size} (median)",
            "columns": ["pattern", "method", "time (ms)"], "rows": rows,
            "notes": (f"Median of {repeats} calls of mri_recon.reconstruct after one "
                      "warm-up call (loading the weights, the Pipe–Menon weights and the "
                      "NUFFT step size are cached). CS: 60 iterations (Cartesian), 40 "
                      "(NUFFT); networks on the CPU with one torch thread.")}


def _training_table() -> dict:
    from course_utils import weights

    reg = weights.registry()
    rows = []
    for name in ("kspace", "unet", "unrolled"):
        entry = reg.get(f"mri_{name}")
        if entry is None:
            rows.append([name, "—", "—", "—", "—", "missing"])
            continue
        size = weights.weights_path(f"mri_{name}").stat().st_size / 1e6
        rows.append([name, entry.get("steps", "—"), entry.get("batch_size", "—"),
                     entry.get("train_cpu_seconds", "—"), round(size, 2), entry["command"]])
    return {"title": "MRI networks: training record of the shipped weights",
            "columns": ["network", "steps", "batch", "train CPU (s)", "size (MB)",
                        "command"],
            "rows": rows,
            "notes": ("From course_utils/weights/registry.json, written by the training "
                      "command (seeded, CPU, one thread): process CPU seconds of the whole "
                      "run, summed over resumed parts. Budget: 3600 s per network.")}


def _training_speed_table(steps: int) -> dict:
    """CPU seconds per training step of each network, and the full run extrapolated."""
    import tempfile

    import torch

    from course_utils.train import mri as train_mri

    threads = torch.get_num_threads()
    train_mri.image_pool(train_mri.DEFAULTS["size"])       # built once, outside the timing
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, full in train_mri.STEPS.items():
                start = time.process_time()
                train_mri.train(name, steps=steps, out=f"{tmp}/{name}.pt",
                                checkpoint_dir=f"{tmp}/{name}", verbose=False)
                per_step = (time.process_time() - start) / steps
                rows.append([name, full, round(per_step, 3), round(per_step * full / 60, 1)])
    finally:
        torch.set_num_threads(threads)
    return {"title": "MRI networks: CPU cost of training",
            "columns": ["network", "steps of the shipped run", "CPU s / step",
                        "full run (CPU min)"],
            "rows": rows,
            "notes": (f"process_time of {steps} steps of python -m course_utils.train "
                      "mri-<network> (one thread, batch 8 of 64×64, the monitoring "
                      "included), extrapolated to the shipped number of steps. Budget: "
                      "60 CPU minutes per network.")}


def run(quick: bool = False) -> list[dict]:
    """The quality table (both held-out images, 5 patterns × 2 accelerations × 6 methods),
    reconstruction times, the training record and the CPU cost of training; ``quick``
    keeps the MRI slice and the Cartesian patterns only, and times fewer steps."""
    from course_utils import mri_recon as R
    from course_utils.mri import CARTESIAN_PATTERNS

    if quick:
        table = R.comparison_table(["mri_slice"], CARTESIAN_PATTERNS, (4, 8), size=SIZE)
    else:
        table = R.comparison_table(R.HELDOUT_IMAGES, None, (4, 8), size=SIZE)
    table.pop("values")
    return [table, _timing_table(SIZE, 1 if quick else 3), _training_table(),
            _training_speed_table(5 if quick else 30)]
