"""Precompute the deep-image-prior snapshots of the notebook 06 widget (mask ratio × noise × iteration)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ._loop import save_and_register

__all__ = ["SNAPSHOT_SETTINGS", "RATIOS", "SIGMAS", "SNAPSHOT_ITERS", "observation",
           "compute_snapshots", "add_arguments", "main"]

#: The image, its size, the seeds of the mask and of the noise, and the fit's iterations.
SNAPSHOT_SETTINGS: dict = {"image": "camera", "size": 64, "mask_seed": 0, "noise_seed": 1,
                           "seed": 0, "num_iters": 400}
#: Fractions of missing pixels (random-pixel masks).
RATIOS = (0.0, 0.25, 0.5, 0.75, 0.9)
#: Noise standard deviations (on the [0, 1] scale).
SIGMAS = (0.0, 0.05, 0.1, 0.2)
#: Iterations whose iterates are stored (denser early, where the image forms).
SNAPSHOT_ITERS = (0, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200, 250, 300,
                  350, 399)
_NAME = "dip_snapshots"
_COMMAND = "python -m course_utils.train dip-snapshots"


def observation(ratio: float, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, mask)`` of one widget setting: the clean image, ``y = m ⊙ (x + σ n)`` and
    the random-pixel mask hiding a fraction ``ratio`` (seeds of ``SNAPSHOT_SETTINGS``)."""
    from .._validate import check_scalar
    from ..data import add_noise, load_image
    from ..dip import random_pixel_mask

    ratio = check_scalar(ratio, "ratio", low=0.0, high=1.0, high_inclusive=False)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    s = SNAPSHOT_SETTINGS
    x = load_image(s["image"], s["size"])
    mask = random_pixel_mask(x.shape, ratio, seed=s["mask_seed"])
    y = add_noise(x, sigma, seed=s["noise_seed"]) if sigma > 0 else x.copy()
    return x, mask * y, mask


def compute_snapshots(ratios=RATIOS, sigmas=SIGMAS, *, num_iters: int | None = None,
                      snapshot_iters=SNAPSHOT_ITERS, verbose: bool = True) -> dict:
    """Fit the deep image prior for every (ratio, sigma) and keep its iterates.

    Parameters
    ----------
    ratios, sigmas : sequence of float
        The grid of missing-pixel fractions and noise levels.
    num_iters : int, optional
        Iterations of each fit (default ``SNAPSHOT_SETTINGS["num_iters"]``).
    snapshot_iters : sequence of int
        Iterations stored (each ``< num_iters``).

    Returns
    -------
    dict of torch tensors
        ``"ratios"`` (R,), ``"sigmas"`` (S,), ``"iters"`` (K,), ``"snapshots"`` uint8
        (R, S, K, M, N) — the iterates rounded to 1/255 —, ``"psnr"`` and ``"loss"``
        float32 (R, S, num_iters), the stopping iterations ``"stop_discrepancy"``,
        ``"stop_wmv"``, ``"stop_peak"`` int64 (R, S) (-1 when a rule never fired) and
        ``"sigma_hat"`` float32 (R, S).

    Notes
    -----
    Each fit is :func:`course_utils.dip.dip_fit` with the defaults of
    :data:`course_utils.dip.DIP_SETTINGS` on :func:`observation`; torch runs on one
    thread, so the result is the same on every run.
    """
    import torch

    from .._validate import check_int
    from ..dip import DIP_SETTINGS, dip_fit

    num_iters = SNAPSHOT_SETTINGS["num_iters"] if num_iters is None else check_int(
        num_iters, "num_iters", low=1)
    iters = [check_int(k, "snapshot_iters", low=0, high=num_iters - 1) for k in snapshot_iters]
    log = print if verbose else (lambda *a, **k: None)
    R, S, K = len(ratios), len(sigmas), len(iters)
    size = SNAPSHOT_SETTINGS["size"]
    snaps = np.zeros((R, S, K, size, size), dtype=np.uint8)
    psnr = np.zeros((R, S, num_iters), dtype=np.float32)
    loss = np.zeros((R, S, num_iters), dtype=np.float32)
    stops = {key: np.full((R, S), -1, dtype=np.int64) for key in ("discrepancy", "wmv", "peak")}
    sigma_hat = np.zeros((R, S), dtype=np.float32)
    start = time.perf_counter()
    for i, ratio in enumerate(ratios):
        for j, sigma in enumerate(sigmas):
            x, y, mask = observation(ratio, sigma)
            result = dip_fit(y, mask, num_iters=num_iters, seed=SNAPSHOT_SETTINGS["seed"],
                             x_true=x, snapshot_at=iters)
            for k, it in enumerate(iters):
                snaps[i, j, k] = np.rint(np.clip(result.iterates[it], 0, 1) * 255)
            psnr[i, j], loss[i, j] = result.psnr, result.loss
            for key in stops:
                if result.stops[key] is not None:
                    stops[key][i, j] = result.stops[key]
            sigma_hat[i, j] = result.sigma_hat
            log(f"ratio {ratio:.2f} sigma {sigma:.2f}: peak {result.psnr.max():.2f} dB at "
                f"{result.stops['peak']}, discrepancy stop {result.stops['discrepancy']}, "
                f"WMV stop {result.stops['wmv']}, last {result.psnr[-1]:.2f} dB "
                f"({result.seconds:.1f} s; {time.perf_counter() - start:.0f} s in all)",
                flush=True)
    out = {"ratios": torch.tensor(ratios, dtype=torch.float32),
           "sigmas": torch.tensor(sigmas, dtype=torch.float32),
           "iters": torch.tensor(iters, dtype=torch.int64),
           "snapshots": torch.from_numpy(snaps), "psnr": torch.from_numpy(psnr),
           "loss": torch.from_numpy(loss), "sigma_hat": torch.from_numpy(sigma_hat)}
    out.update({f"stop_{key}": torch.from_numpy(v) for key, v in stops.items()})
    out["lr"] = torch.tensor(DIP_SETTINGS["lr"], dtype=torch.float32)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train dip-snapshots``."""
    parser.add_argument("--out", default=None,
                        help="output file (default: the shipped snapshots, registry updated)")
    parser.add_argument("--num-iters", type=int, default=SNAPSHOT_SETTINGS["num_iters"])
    parser.add_argument("--threads", type=int, default=1,
                        help="accepted for uniformity; the fits always use one thread")


def main(args: argparse.Namespace) -> Path:
    """Compute the snapshots and save them (registered when written to the shipped file)."""
    start = time.process_time()
    state = compute_snapshots(num_iters=args.num_iters)
    cpu_seconds = time.process_time() - start
    print(f"snapshots computed in {cpu_seconds:.0f} CPU s", flush=True)
    return save_and_register(state, _NAME, args.out, command=_COMMAND,
                             image=SNAPSHOT_SETTINGS["image"], size=SNAPSHOT_SETTINGS["size"],
                             ratios=list(RATIOS), sigmas=list(SIGMAS),
                             num_iters=args.num_iters, snapshot_iters=list(SNAPSHOT_ITERS),
                             seeds={k: SNAPSHOT_SETTINGS[k] for k in
                                    ("mask_seed", "noise_seed", "seed")},
                             train_cpu_seconds=round(cpu_seconds))
