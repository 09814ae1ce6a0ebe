"""Precompute INDIGO runs for the notebook 10 widget (noise sigma x step size zeta x steps)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ._loop import save_and_register

__all__ = ["SNAPSHOT_SETTINGS", "SIGMAS_N", "ZETAS", "STEPS", "observation",
           "compute_snapshots", "add_arguments", "main"]

#: The held-out phantom (``heldout_images(1, seed=...)``), the noise seed and the sampler seed.
SNAPSHOT_SETTINGS: dict = {"image_seed": 10, "noise_seed": 1, "seed": 0, "task": "sr4"}
#: Noise standard deviations of the measurement, on the [0, 1] scale.
SIGMAS_N: tuple[float, ...] = (0.0, 0.05, 0.1)
#: INDIGO step sizes.
ZETAS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Numbers of sampling steps (= network evaluations).
STEPS: tuple[int, ...] = (10, 25, 50, 100)
_NAME = "indigo_snapshots"
_COMMAND = "python -m course_utils.train indigo-snapshots"


def observation(sigma_n: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: the widget's held-out phantom and its ×4 measurement with noise ``sigma_n``."""
    from .. import diffusion as D
    from .._validate import check_scalar

    sigma_n = check_scalar(sigma_n, "sigma_n", low=0.0)
    s = SNAPSHOT_SETTINGS
    x = D.heldout_images(1, seed=s["image_seed"])[0]
    return x, D.degrade(x, s["task"], sigma_n=sigma_n, seed=s["noise_seed"])


def compute_snapshots(sigmas=SIGMAS_N, zetas=ZETAS, steps=STEPS, *,
                      verbose: bool = True) -> dict:
    """Run INDIGO on the widget's measurement for every (steps, sigma, zeta).

    For each number of steps, one batched :class:`course_utils.diffusion.Sampler` restores
    the ``len(sigmas) × len(zetas)`` (measurement, ζ) pairs at once (a ζ per image), with
    the sampler seed of :data:`SNAPSHOT_SETTINGS` on one torch thread: the same command
    gives the same file.

    Returns
    -------
    dict of torch tensors
        ``"x"`` (32, 32), ``"y"`` (S, 8, 8), ``"results"`` float32 (K, S, Z, 32, 32),
        ``"sigmas"``, ``"zetas"``, ``"steps"``, ``"cpu_seconds"`` (K,) per batched run.
    """
    import torch

    from .. import diffusion as D

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pairs = [(s, z) for s in sigmas for z in zetas]
        ys = np.stack([observation(s)[1] for s, _ in pairs])
        zeta = np.array([z for _, z in pairs], dtype=float)
        results, cpu = [], []
        for k in steps:
            t0 = time.process_time()
            out = D.Sampler(ys, SNAPSHOT_SETTINGS["task"], "indigo", num_steps=k, zeta=zeta,
                            seed=SNAPSHOT_SETTINGS["seed"]).run()
            cpu.append(time.process_time() - t0)
            results.append(out.reshape(len(sigmas), len(zetas), *D.IMAGE_SHAPE))
            if verbose:
                print(f"{k} steps: {len(pairs)} runs in {cpu[-1]:.1f} CPU s", flush=True)
    finally:
        torch.set_num_threads(threads)
    return {"x": torch.from_numpy(observation(0.0)[0]).float(),
            "y": torch.from_numpy(np.stack([observation(s)[1] for s in sigmas])).float(),
            "results": torch.from_numpy(np.stack(results)).float(),
            "sigmas": torch.tensor(sigmas, dtype=torch.float32),
            "zetas": torch.tensor(zetas, dtype=torch.float32),
            "steps": torch.tensor(steps, dtype=torch.int64),
            "cpu_seconds": torch.tensor(cpu, dtype=torch.float32)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m course_utils.train indigo-snapshots``."""
    parser.add_argument("--out", default=None,
                        help="output file (default: the shipped snapshots, registry updated)")


def main(args: argparse.Namespace) -> Path:
    """Compute the snapshots and save them (registered with the prior's SHA-256)."""
    from .. import weights

    state = compute_snapshots()
    return save_and_register(state, _NAME, args.out, command=_COMMAND,
                             settings=SNAPSHOT_SETTINGS, sigmas=list(SIGMAS_N),
                             zetas=list(ZETAS), steps=list(STEPS),
                             prior_sha256=weights.registry()["diffusion"]["sha256"],
                             train_cpu_seconds=round(float(state["cpu_seconds"].sum())))
