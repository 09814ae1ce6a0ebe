"""Denoisers on the held-out images: TV, BM3D and the shipped network (PSNR, SSIM, seconds).

Each held-out image (never used in training; ``course_utils.train.denoiser.HELDOUT_IMAGES``)
is centre-cropped to 256 x 256, corrupted with seeded Gaussian noise at sigma = 15, 25 and
50 / 255 and denoised by ``course_utils.denoisers.denoise`` with each method. Times per
image are the median of ``REPEATS`` calls for TV and the network (loaded and warmed up
beforehand) and one call for BM3D, both as wall-clock and as CPU seconds of this process.
Torch runs on one thread here: on a shared machine a second thread mostly spins, and CPU
seconds then measure the work of each method whatever else the machine is doing.
"""
from __future__ import annotations

import os
import time

import numpy as np
from skimage.metrics import structural_similarity

from course_utils.denoisers import DENOISER_METHODS, denoise, load_learned_denoiser
from course_utils.train.denoiser import HELDOUT_IMAGES, heldout_images

__all__ = ["run", "SIGMAS_255", "CROP", "REPEATS"]

#: Noise levels on the 0..255 scale.
SIGMAS_255: tuple[int, ...] = (15, 25, 50)
#: Side of the centre crop of each held-out image.
CROP: int = 256
#: Timed calls per image for the fast methods (the median is reported).
REPEATS: int = 5


def _psnr(x, x_hat) -> float:
    return float(10 * np.log10(1.0 / np.mean((x - x_hat) ** 2)))


def _measure(images: dict) -> dict:
    """{(method, sigma_255): (PSNRs, SSIMs, wall seconds, CPU seconds)}, one entry per image."""
    load_learned_denoiser()
    denoise(np.zeros((64, 64)), 0.1, "learned")  # warm-up: first-call allocations
    results = {}
    for s255 in SIGMAS_255:
        sigma = s255 / 255
        for k, (name, x) in enumerate(images.items()):
            y = x + sigma * np.random.default_rng([k, s255]).standard_normal(x.shape)
            for method in ("noisy",) + DENOISER_METHODS:
                walls, cpus, x_hat = [], [], y
                repeats = {"noisy": 0, "bm3d": 1}.get(method, REPEATS)
                for _ in range(repeats):
                    wall, cpu = time.perf_counter(), time.process_time()
                    x_hat = denoise(y, sigma, method=method)
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
                ssim = structural_similarity(x, x_hat, data_range=1.0)
                p, s, w, c = results.setdefault((method, s255), ([], [], [], []))
                p.append(_psnr(x, x_hat))
                s.append(float(ssim))
                w.append(float(np.median(walls)) if walls else 0.0)
                c.append(float(np.median(cpus)) if cpus else 0.0)
    return results


def run(quick: bool = False) -> list[dict]:
    """The comparison table (quick: only the first held-out image)."""
    import torch

    images = heldout_images(CROP)
    if quick:
        images = dict(list(images.items())[:1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = _measure(images)
    finally:
        torch.set_num_threads(threads)
    rows = []
    for s255 in SIGMAS_255:
        cpu_bm3d = float(np.mean(results[("bm3d", s255)][3]))
        for method in ("noisy",) + DENOISER_METHODS:
            p, s, w, c = results[(method, s255)]
            row = [method, s255, round(float(np.mean(p)), 2), round(float(np.mean(s)), 4)]
            if method == "noisy":
                row += ["—", "—", "—"]
            else:
                row += [round(float(np.mean(w)), 3), round(float(np.mean(c)), 3),
                        round(cpu_bm3d / float(np.mean(c)), 1)]
            rows.append(row)
    gaps = ", ".join(
        f"σ={s255}: {np.mean(results[('learned', s255)][0]) - np.mean(results[('bm3d', s255)][0]):+.2f} dB"
        for s255 in SIGMAS_255)
    per_image = "; ".join(
        f"{name}: " + "/".join(f"{results[('learned', s)][0][i]:.2f}" for s in SIGMAS_255)
        for i, name in enumerate(images))
    table = {
        "title": "Denoisers on held-out images: " + ", ".join(DENOISER_METHODS),
        "columns": ["method", "σ·255", "mean PSNR (dB)", "mean SSIM", "wall s / image",
                    "CPU s / image", "BM3D CPU / CPU"],
        "rows": rows,
        "notes": (f"Images: {', '.join(images)} (held out from training; all of "
                  f"{', '.join(HELDOUT_IMAGES)} unless quick), grey, centre-cropped to "
                  f"{CROP}x{CROP}, in [0, 1]; noise seeded per image and σ, not clipped. "
                  f"TV: skimage denoise_tv_chambolle, weight = σ; BM3D: bm3d.bm3d(y, "
                  f"sigma_psd=σ); learned: the shipped weights, torch CPU on 1 thread "
                  f"({os.cpu_count()} cores, shared). Seconds: mean over images of the median "
                  f"of {REPEATS} calls (TV, learned) or of one call (BM3D); the speed ratio "
                  f"uses CPU seconds. "
                  f"Learned − BM3D mean PSNR: {gaps}. "
                  f"Learned PSNR per image at σ={'/'.join(map(str, SIGMAS_255))}: {per_image}."),
    }
    return [table]


if __name__ == "__main__":
    import sys

    from benchmarks.run import to_markdown  # run from the repository root: python -m ...

    for t in run(quick="--quick" in sys.argv):
        print(to_markdown(t))
