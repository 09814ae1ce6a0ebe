"""Denoisers on the held-out images: TV, BM3D and the shipped network (PSNR, SSIM, seconds).

Each held-out image (never used in training; ``course_utils.train.denoiser.HELDOUT_IMAGES``)
is centre-cropped to 256 x 256, corrupted with seeded Gaussian noise at sigma = 15, 25 and
50 / 255 and denoised by ``course_utils.denoisers.denoise`` with each method. Times are the
wall-clock seconds of one call per image, the network loaded (and warmed up) beforehand.
"""
from __future__ import annotations

import os
import time

import numpy as np
from skimage.metrics import structural_similarity

from course_utils.denoisers import DENOISER_METHODS, denoise, load_learned_denoiser
from course_utils.train.denoiser import HELDOUT_IMAGES, heldout_images

__all__ = ["run", "SIGMAS_255", "CROP"]

#: Noise levels on the 0..255 scale.
SIGMAS_255: tuple[int, ...] = (15, 25, 50)
#: Side of the centre crop of each held-out image.
CROP: int = 256


def _psnr(x, x_hat) -> float:
    return float(10 * np.log10(1.0 / np.mean((x - x_hat) ** 2)))


def _measure(images: dict) -> dict:
    """{(method, sigma_255): (list of PSNR, list of SSIM, list of seconds)}."""
    load_learned_denoiser()
    denoise(np.zeros((64, 64)), 0.1, "learned")  # warm-up: first-call allocations
    results = {}
    for s255 in SIGMAS_255:
        sigma = s255 / 255
        for k, (name, x) in enumerate(images.items()):
            y = x + sigma * np.random.default_rng([k, s255]).standard_normal(x.shape)
            for method in ("noisy",) + DENOISER_METHODS:
                start = time.perf_counter()
                x_hat = y if method == "noisy" else denoise(y, sigma, method=method)
                seconds = time.perf_counter() - start
                ssim = structural_similarity(x, x_hat, data_range=1.0)
                p, s, t = results.setdefault((method, s255), ([], [], []))
                p.append(_psnr(x, x_hat))
                s.append(float(ssim))
                t.append(seconds)
    return results


def run(quick: bool = False) -> list[dict]:
    """The comparison table (quick: only the first held-out image)."""
    import torch

    images = heldout_images(CROP)
    if quick:
        images = dict(list(images.items())[:1])
    results = _measure(images)
    rows = []
    for s255 in SIGMAS_255:
        t_bm3d = float(np.mean(results[("bm3d", s255)][2]))
        for method in ("noisy",) + DENOISER_METHODS:
            p, s, t = results[(method, s255)]
            t_mean = float(np.mean(t))
            ratio = round(t_bm3d / t_mean, 1) if method != "noisy" else "—"
            rows.append([method, s255, round(float(np.mean(p)), 2), round(float(np.mean(s)), 4),
                         round(t_mean, 3) if method != "noisy" else "—", ratio])
    gaps = ", ".join(
        f"σ={s255}: {np.mean(results[('learned', s255)][0]) - np.mean(results[('bm3d', s255)][0]):+.2f} dB"
        for s255 in SIGMAS_255)
    per_image = "; ".join(
        f"{name}: " + "/".join(f"{results[('learned', s)][0][i]:.2f}" for s in SIGMAS_255)
        for i, name in enumerate(images))
    table = {
        "title": "Denoisers on held-out images: TV, BM3D, learned (DRUNetLite)",
        "columns": ["method", "σ·255", "mean PSNR (dB)", "mean SSIM", "s / image",
                    "BM3D time / time"],
        "rows": rows,
        "notes": (f"Images: {', '.join(images)} (held out from training; all of "
                  f"{', '.join(HELDOUT_IMAGES)} unless quick), grey, centre-cropped to "
                  f"{CROP}x{CROP}, in [0, 1]; noise seeded per image and σ, not clipped. "
                  f"TV: skimage denoise_tv_chambolle, weight = σ; BM3D: bm3d.bm3d(y, "
                  f"sigma_psd=σ); learned: the shipped weights, torch CPU with "
                  f"{torch.get_num_threads()} thread(s) on {os.cpu_count()} core(s). "
                  f"Learned − BM3D mean PSNR: {gaps}. "
                  f"Learned PSNR per image at σ={'/'.join(map(str, SIGMAS_255))}: {per_image}."),
    }
    return [table]


if __name__ == "__main__":
    import sys

    from benchmarks.run import to_markdown  # run from the repository root: python -m ...

    for t in run(quick="--quick" in sys.argv):
        print(to_markdown(t))
