"""Plug-and-play and the generative prior: quality and time tables for notebook 03.

Table 1: PnP-HQS (DPIR schedule, closed-form data steps) with TV, BM3D and the learned
denoiser on deblurring, inpainting and ×2/×4 super-resolution of bundled test images:
PSNR, SSIM and seconds. Table 2: the same with PnP-ADMM and deep proximal gradient on one
image (the algorithm, not the denoiser, changes). Table 3: the generative prior against
least squares and TV for compressed sensing with m Gaussian measurements, on phantoms of
the generator's distribution and on an image outside it.
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

__all__ = ["run", "IMAGES", "SIZE"]

#: Test images of table 1 (held out from the denoiser's training set) and their size.
IMAGES = ("camera", "coins", "moon")
SIZE = 128


def _threads_note() -> str:
    try:
        import torch
        return f"torch {torch.get_num_threads()} thread(s), {os.cpu_count()} core(s)"
    except ImportError:  # pragma: no cover - torch is a dependency
        return f"{os.cpu_count()} core(s)"


def _pnp_table(images, size, num_iters, denoisers, method="hqs", title=None):
    from course_utils.data import load_image
    from course_utils.pnp import TASK_NAMES, run_benchmark_table

    per_image = []
    for name in images:
        x = load_image(name, size)
        per_image.append(run_benchmark_table(x, denoisers=denoisers, tasks=TASK_NAMES,
                                             method=method, sigma_n=0.01,
                                             num_iters=num_iters, seed=0))
    columns = per_image[0]["columns"]
    rows = []
    for r in range(len(per_image[0]["rows"])):
        row = [per_image[0]["rows"][r][0]]
        for c in range(1, len(columns)):
            values = [t["rows"][r][c] for t in per_image]
            digits = 3 if columns[c].endswith("SSIM") else 2
            row.append(round(float(np.mean(values)), digits))
        rows.append(row)
    return {
        "title": title or (f"PnP-{method.upper()}: denoiser × task, mean over "
                           f"{', '.join(images)} ({size}×{size})"),
        "columns": columns, "rows": rows,
        "notes": (f"σ_n = 0.01 on every task; {num_iters} iterations, DPIR schedule (σ from "
                  "49/255 to σ_n geometrically, β_k = 0.23 σ_n²/σ_k²), start from the "
                  "observation (inpainting: holes filled by normalised averaging). Deblur: "
                  "9×9 Gaussian, width 1.6, circular; inpainting: 30 % of the pixels "
                  "observed; SR: block averaging by 2 or 4. 'observation' is y (SR: y with "
                  "pixels repeated). Seconds: wall-clock of the whole reconstruction, "
                  f"{_threads_note()}. Rerun: python -m benchmarks.run --only pnp."),
    }


def _algorithm_table(size, num_iters, denoisers):
    from course_utils.data import load_image
    from course_utils.metrics import psnr, ssim
    from course_utils.pnp import make_task, pnp

    x = load_image("camera", size)
    task = make_task("deblur", x, sigma_n=0.01, seed=0)
    rows = []
    for method, iters in (("hqs", num_iters), ("admm", num_iters), ("pgd", 3 * num_iters)):
        for d in denoisers:
            t0 = time.perf_counter()
            x_hat, _ = pnp(task.A, task.y, d, method, sigma_n=0.01, num_iters=iters)
            seconds = time.perf_counter() - t0
            x_hat = np.clip(x_hat, 0, 1)
            rows.append([method, d, iters, round(psnr(x, x_hat), 2), round(ssim(x, x_hat), 3),
                         round(seconds, 2)])
    return {
        "title": f"HQS vs ADMM vs deep proximal gradient, deblurring camera ({size}×{size})",
        "columns": ["algorithm", "denoiser", "iterations", "PSNR", "SSIM", "seconds"],
        "rows": rows,
        "notes": ("Same task, schedule and denoisers; deep proximal gradient "
                  "(x ← D_σ(x − τAᵀ(Ax − y)), τ = 1/‖A‖²) gets three times as many "
                  "iterations because it has no exact data step."),
    }


def _generative_table(quick):
    from course_utils.data import load_image
    from course_utils.generative import measurement_sweep
    from course_utils.nets.generator import load_generator
    from course_utils.train.generator import heldout_phantoms

    G = load_generator()
    ms = (50, 200, 800) if quick else (25, 50, 100, 200, 400, 800, 1600)
    num_phantoms = 2 if quick else 4
    images = {f"phantom {k}": p for k, p in enumerate(heldout_phantoms(num_phantoms))}
    images["camera (outside the range)"] = load_image("camera", 64)
    rows = []
    for label, x in images.items():
        table = measurement_sweep(x, G, ms, sigma_n=0.01, seed=0)
        for r in table["rows"]:
            rows.append([label, *r])
    phantom_rows = [r for r in rows if r[0].startswith("phantom")]
    summary = []
    for m in ms:
        sel = [r for r in phantom_rows if r[1] == m]
        summary.append([f"mean over phantoms", m, sel[0][2],
                        *(round(statistics.mean(r[c] for r in sel), 2) for c in (3, 4, 5, 6))])
    return {
        "title": "Generative prior vs least squares and TV: m Gaussian measurements of a "
                 "64×64 image (n = 4096)",
        "columns": ["image", "m", "m/n", "LS PSNR", "TV PSNR", "generator PSNR",
                    "generator s"],
        "rows": rows + summary,
        "notes": ("y = Φx + n, Φ with N(0, 1/m) entries, σ_n = 0.01. LS: minimum-norm "
                  "Φ⁺y; TV: ½‖Φx − y‖² + 0.01 TV(x) by 200 PDHG iterations; generator: "
                  "min_z ‖y − ΦG(z)‖² + 1e-3‖z‖², Adam (lr 0.05, 300 iterations, 4 "
                  "restarts). Phantoms: held-out random ellipses of the generator's "
                  "distribution; camera lies outside the generator's range, so its PSNR "
                  "stops growing with m."),
    }


def run(quick: bool = False) -> list[dict]:
    """The three tables; ``quick`` uses one image, fewer iterations and fewer m.

    torch runs on one thread: for these image sizes a second thread gains little on an
    idle machine and costs many times over on a busy one (the notes say how many were used).
    """
    import torch

    from course_utils.weights import registry

    torch.set_num_threads(1)

    have_learned = "denoiser" in registry()
    denoisers = ("tv", "bm3d", "learned") if have_learned else ("tv", "bm3d")
    images = IMAGES[:1] if quick else IMAGES
    size = 64 if quick else SIZE
    num_iters = 4 if quick else 8
    tables = [_pnp_table(images, size, num_iters, denoisers),
              _algorithm_table(size, num_iters, tuple(d for d in denoisers if d != "bm3d"))]
    if "generator" in registry():
        tables.append(_generative_table(quick))
    return tables
