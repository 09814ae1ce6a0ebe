"""MRI reconstruction quality: PSNR/SSIM at 4× and 8× for every pattern and method on the
held-out images (Shepp–Logan and the matplotlib MRI slice), plus reconstruction times.
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
                     entry.get("train_seconds", "—"), round(size, 2), entry["command"]])
    return {"title": "MRI networks: training record of the shipped weights",
            "columns": ["network", "steps", "batch", "train time (s)", "size (MB)",
                        "command"],
            "rows": rows,
            "notes": ("From course_utils/weights/registry.json, written by the training "
                      "command (seeded, CPU, one thread). The time is wall-clock on the "
                      "machine that trained them, which was shared with other jobs.")}


def run(quick: bool = False) -> list[dict]:
    """The quality table (both held-out images, 5 patterns × 2 accelerations × 6 methods),
    reconstruction times and the training record; ``quick`` keeps the MRI slice and the
    Cartesian patterns only."""
    from course_utils import mri_recon as R
    from course_utils.mri import CARTESIAN_PATTERNS

    if quick:
        table = R.comparison_table(["mri_slice"], CARTESIAN_PATTERNS, (4, 8), size=SIZE)
    else:
        table = R.comparison_table(R.HELDOUT_IMAGES, None, (4, 8), size=SIZE)
    table.pop("values")
    return [table, _timing_table(SIZE, 1 if quick else 3), _training_table()]
