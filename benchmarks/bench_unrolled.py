"""Unrolled optimisation: what T LISTA layers are worth in ISTA/FISTA iterations, and the
PSNR of the gradient-descent network against its number of steps.

Run with ``python -m benchmarks.run --only unrolled`` (or ``python -m benchmarks.bench_unrolled``).
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

__all__ = ["lista_table", "gdnet_table", "run"]

os.environ.setdefault("MPLBACKEND", "Agg")

MAX_ITERS = 5000


def _db(value: float) -> float:
    return 10.0 * math.log10(value)


def lista_table(num_samples: int = 1000) -> dict:
    """LISTA with T ∈ {4, 8, 16} layers against ISTA and FISTA on held-out signals."""
    import torch

    from course_utils import unrolled as u
    from course_utils.nets.unrolled import load_lista

    lam = u.LISTA_SETTINGS["lam"]
    problem = u.lista_problem("test", num_samples)
    start = time.perf_counter()
    z_star = u.lasso_solution(problem.D, problem.y, lam, tol=1e-8)
    rows = []
    for layers in (4, 8, 16):
        net = load_lista(layers)
        with torch.no_grad():
            z = net(torch.from_numpy(problem.y).float()).double().numpy()
        err = u.nmse(z, z_star)
        ista_same = u.ista_sparse_coding(problem.D, problem.y, lam, num_iters=layers,
                                         x_ref=z_star).history["nmse"][-1]
        k_ista = u.iterations_to_match(err, problem.D, problem.y, lam, z_star,
                                       max_iters=MAX_ITERS)
        k_fista = u.iterations_to_match(err, problem.D, problem.y, lam, z_star,
                                        method="fista", max_iters=MAX_ITERS)
        rows.append([layers, round(_db(err), 2), round(_db(ista_same), 2),
                     k_ista if k_ista is not None else f"> {MAX_ITERS}",
                     k_fista if k_fista is not None else f"> {MAX_ITERS}",
                     round(k_ista / layers, 1) if k_ista is not None else "-",
                     round(_db(u.nmse(z, problem.x)), 2)])
    s = u.LISTA_SETTINGS
    return {
        "title": "LISTA layers vs ISTA/FISTA iterations reaching the same error",
        "columns": ["T (layers)", "LISTA NMSE to z* (dB)", "ISTA, T iterations (dB)",
                    "ISTA iterations to match", "FISTA iterations to match",
                    "ISTA iterations per layer", "LISTA NMSE to true codes (dB)"],
        "rows": rows,
        "notes": (f"{num_samples} held-out signals (split 'test'), D {s['m']}x{s['n']} Gaussian "
                  f"with unit atoms, k = {s['k']} non-zeros, noise sigma = {s['sigma']}, "
                  f"lam = {lam}. Error: mean ||z - z*||^2/||z*||^2 to the LASSO solutions z* "
                  "(FISTA with restart, tol 1e-8), as in Gregor & LeCun 2010; one layer costs "
                  "about one iteration. Target: 16 layers >= 160 ISTA iterations. "
                  f"{time.perf_counter() - start:.0f} s."),
    }


def gdnet_table(size: int = 128) -> dict:
    """PSNR of the shipped gradient-descent networks on held-out images vs their steps."""
    import torch

    from course_utils.metrics import psnr
    from course_utils.nets.unrolled import GDNET_SETTINGS, load_gdnet, make_deblurring_operator
    from course_utils.solvers import Landweber
    from course_utils.train.denoiser import heldout_images

    start = time.perf_counter()
    images = heldout_images(size)
    sigma = GDNET_SETTINGS["sigma"]
    data = {}
    for name, x in images.items():
        A = make_deblurring_operator(x.shape)
        y = A(x) + sigma * np.random.default_rng([0, 5]).standard_normal(x.shape)
        data[name] = (x, A, y)
    # the best Tikhonov weight for each image (an oracle: it uses the true image)
    lams = np.logspace(-4, 0, 17)
    tik = []
    for x, A, y in data.values():
        tik.append(max(psnr(x, np.clip(A.solve_tikhonov(y, lam), 0, 1)) for lam in lams))
    rows = []
    for steps in (2, 4, 8):
        net = load_gdnet(steps, (size, size))
        gd, lw = [], []
        for x, A, y in data.values():
            net.set_operator(A)
            with torch.no_grad():
                x_hat = net(torch.from_numpy(y).float()[None, None])[0, 0].double().numpy()
            gd.append(psnr(x, np.clip(x_hat, 0, 1)))
            landweber = Landweber(A, y, 1.0 / A.norm() ** 2, x0=A.adjoint(y)).run(steps)
            lw.append(psnr(x, np.clip(landweber.x_hat, 0, 1)))
        rows.append([steps, round(float(np.mean(gd)), 2), round(float(np.mean(lw)), 2),
                     round(float(np.mean(tik)), 2)])
    return {
        "title": "Gradient-descent network: PSNR vs number of unrolled steps",
        "columns": ["K (steps)", "GD-net PSNR (dB)", "Landweber, K steps (dB)",
                    "Tikhonov, best lam (dB)"],
        "rows": rows,
        "notes": (f"Mean over the held-out images {', '.join(images)} ({size}x{size} crops), "
                  f"Gaussian blur (size {GDNET_SETTINGS['kernel_size']}, sigma "
                  f"{GDNET_SETTINGS['kernel_sigma']}, circular), noise sigma = {sigma}. "
                  "Each K is its own network (python -m course_utils.train gdnet); Landweber "
                  "starts from A^T y like the network. Tikhonov uses the best of 17 weights "
                  f"per image (an oracle). {time.perf_counter() - start:.0f} s."),
    }


def run(quick: bool = False) -> list[dict]:
    """The two tables; ``quick`` uses 200 signals and 64 x 64 crops."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [lista_table(200 if quick else 1000), gdnet_table(64 if quick else 128)]
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    from benchmarks.run import to_markdown

    for table in run():
        print(to_markdown(table))
