"""Train the shipped generator: the decoder of a VAE fitted to random-ellipse phantoms (64x64)."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from ._loop import (add_common_arguments, check_common_options, checkpoint_dir_for, fit,
                    save_and_register, start_torch)

__all__ = ["PHANTOM_KWARGS", "TRAIN_SEED", "HELDOUT_SEED", "DEFAULTS", "phantom_pool",
           "heldout_phantoms", "train", "add_arguments", "main"]

#: The generator's distribution: ``course_utils.data.random_ellipses(**PHANTOM_KWARGS, seed=...)``.
PHANTOM_KWARGS: dict = {"shape": (64, 64), "num_ellipses": 4}
#: Training phantoms use seeds ``TRAIN_SEED + k``, ``k = 0, 1, ...`` (blocks of 500 images).
TRAIN_SEED: int = 10_000
#: Seed of the held-out phantoms used by tests, benchmarks and notebooks (never trained on).
HELDOUT_SEED: int = 7

DEFAULTS: dict = {
    "steps": 5000, "batch_size": 32, "lr": 2e-3, "kl_weight": 0.02, "pool_size": 6000,
    "seed": 0, "threads": 1, "warmup": 100, "checkpoint_every": 250, "log_every": 100,
}
_NAME = "generator"
_COMMAND = "python -m course_utils.train generator"
_BLOCK = 500


def phantom_pool(pool_size: int = DEFAULTS["pool_size"]) -> np.ndarray:
    """The training phantoms, float32 of shape (pool_size, 64, 64), drawn in blocks of 500
    from :func:`course_utils.data.random_ellipses` with seeds ``TRAIN_SEED + k``."""
    from .._validate import check_int
    from ..data import random_ellipses

    pool_size = check_int(pool_size, "pool_size", low=1)
    blocks = []
    for k in range(math.ceil(pool_size / _BLOCK)):
        blocks.append(random_ellipses(**PHANTOM_KWARGS, seed=TRAIN_SEED + k,
                                      num_images=_BLOCK).astype(np.float32))
    return np.concatenate(blocks)[:pool_size]


def heldout_phantoms(num_images: int = 8) -> np.ndarray:
    """Phantoms of the generator's distribution that training never saw, (num_images, 64, 64)."""
    from .._validate import check_int
    from ..data import random_ellipses

    num_images = check_int(num_images, "num_images", low=1)
    return random_ellipses(**PHANTOM_KWARGS, seed=HELDOUT_SEED, num_images=num_images)


def _batch(pool: np.ndarray, rng: np.random.Generator, batch_size: int) -> np.ndarray:
    """Random phantoms, each flipped up-down and/or left-right with probability 1/2 (both
    flips keep the phantom distribution: its angles and centres are symmetric)."""
    x = pool[rng.integers(len(pool), size=batch_size)].copy()
    flip_r = rng.random(batch_size) < 0.5
    flip_c = rng.random(batch_size) < 0.5
    x[flip_r] = x[flip_r, ::-1, :]
    x[flip_c] = x[flip_c, :, ::-1]
    return x[:, None]


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], kl_weight: float = DEFAULTS["kl_weight"],
          pool_size: int = DEFAULTS["pool_size"], checkpoint_dir=None, resume: bool = False,
          stop_at: int | None = None, checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train a VAE on random-ellipse phantoms and save its decoder, the generator.

    Each step encodes a batch of phantoms to ``(μ, log s²)``, draws
    ``z = μ + s ⊙ ε`` and minimises the β-VAE loss

    .. math:: \|G(z) - x\|_2^2 + w_{KL}\, \mathrm{KL}(\mathcal N(\mu, s^2) \,\|\, \mathcal N(0, I))

    with Adam (linear warm-up, cosine decay). The batch of step ``k`` depends only on
    ``(seed, k)``, so a resumed run sees the same data as an uninterrupted one.

    Parameters
    ----------
    steps : int
        Optimisation steps.
    out : str or Path, optional
        Output file; default the shipped ``course_utils/weights/generator.pt``, whose
        registry entry (SHA-256) is then updated.
    threads : int
        ``torch.set_num_threads``.
    seed : int
        Seed of the initialisation, batches and noise.
    batch_size, lr, kl_weight, pool_size
        Batch size, peak learning rate, weight ``w_KL`` of the KL term and number of
        training phantoms.
    checkpoint_dir : str or Path, optional
        Where checkpoints go (default ``<tmp>/course_utils_train/generator``).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one.
    stop_at : int, optional
        Stop after this many steps of the ``steps``-long schedule, as an interrupted run
        would, leaving only the checkpoint; ``resume=True`` continues it.

    Returns
    -------
    Path
        The file written: the generator's ``state_dict`` (the encoder is not shipped), or
        the checkpoint when ``stop_at`` ends the run early.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-encoding variational Bayes", ICLR 2014.
    I. Higgins et al., "β-VAE: learning basic visual concepts with a constrained
    variational framework", ICLR 2017.
    """
    import torch

    from .._validate import check_int, check_scalar
    from ..nets.generator import GENERATOR_ARCH, build_encoder, build_generator

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    kl_weight = check_scalar(kl_weight, "kl_weight", low=0.0)
    pool_size = check_int(pool_size, "pool_size", low=1)
    stop_at = steps if stop_at is None else check_int(stop_at, "stop_at", low=1, high=steps)

    log = start_torch(threads, seed, verbose)
    t_pool = time.perf_counter()
    pool = phantom_pool(pool_size)
    log(f"{len(pool)} training phantoms in {time.perf_counter() - t_pool:.0f} s", flush=True)
    vae = torch.nn.ModuleDict({"decoder": build_generator(), "encoder": build_encoder()})
    latent_dim = vae["decoder"].latent_dim

    def batch_fn(rng, step):
        x = torch.from_numpy(_batch(pool, rng, batch_size))
        eps = torch.from_numpy(rng.standard_normal((batch_size, latent_dim),
                                                   dtype=np.float32))
        return x, eps

    def loss_fn(net, batch):
        x, eps = batch
        mu, log_var = net["encoder"](x)
        z = mu + torch.exp(0.5 * log_var) * eps
        rec = ((net["decoder"](z) - x) ** 2).sum(dim=(1, 2, 3)).mean()
        kl = 0.5 * (mu ** 2 + log_var.exp() - 1.0 - log_var).sum(dim=1).mean()
        return rec + kl_weight * kl

    held_out = torch.from_numpy(heldout_phantoms(64).astype(np.float32))[:, None]

    def monitor(net):
        mse = ((net["decoder"](net["encoder"](held_out)[0]) - held_out) ** 2).mean().item()
        return f"held-out auto-encoding PSNR {10 * math.log10(1 / mse):.2f} dB"

    result = fit(vae, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 warmup=DEFAULTS["warmup"], clip=100.0, name=_NAME,
                 checkpoint_dir=checkpoint_dir, resume=resume, stop_at=stop_at,
                 checkpoint_every=checkpoint_every, log_every=log_every, monitor=monitor,
                 verbose=verbose)
    if stop_at < steps:
        return checkpoint_dir_for(_NAME, checkpoint_dir) / "checkpoint.pt"
    arch = {k: (list(v) if isinstance(v, tuple) else v) for k, v in GENERATOR_ARCH.items()}
    return save_and_register(vae["decoder"], _NAME, out, command=_COMMAND, verbose=verbose,
                             arch=arch, steps=steps, seed=seed, batch_size=batch_size,
                             kl_weight=kl_weight, pool_size=pool_size,
                             phantoms={k: (list(v) if isinstance(v, tuple) else v)
                                       for k, v in PHANTOM_KWARGS.items()},
                             threads=threads, train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train generator``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])
    parser.add_argument("--kl-weight", type=float, default=DEFAULTS["kl_weight"])
    parser.add_argument("--pool-size", type=int, default=DEFAULTS["pool_size"])
    parser.add_argument("--stop-at", type=int, default=None,
                        help="stop after this step of the schedule (resume later)")


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, kl_weight=args.kl_weight,
                 pool_size=args.pool_size, checkpoint_dir=args.checkpoint_dir,
                 resume=args.resume, stop_at=args.stop_at, log_every=args.log_every)
