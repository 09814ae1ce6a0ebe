"""Train the shipped WINNet-style lifting denoiser on the denoiser's training images."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch
from .denoiser import SIGMA_MAX, sample_batch, training_pool

__all__ = ["DEFAULTS", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 5000, "batch_size": 16, "patch_size": 64, "lr": 1e-3, "seed": 0,
    "threads": 1, "warmup": 100, "checkpoint_every": 250, "log_every": 100,
}
_NAME = "winnet"
_COMMAND = "python -m course_utils.train winnet"


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          patch_size: int = DEFAULTS["patch_size"], lr: float = DEFAULTS["lr"],
          checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], arch: dict | None = None,
          verbose: bool = True) -> Path:
    r"""Train the WINNet-style denoiser and save its ``state_dict``; return the path written.

    Each step draws ``batch_size`` noisy patches ``y = x + sigma n`` of the images the
    course's denoiser is trained on (:func:`course_utils.train.denoiser.training_pool` and
    :func:`~course_utils.train.denoiser.sample_batch`: the held-out images are never
    seen), with ``sigma`` uniform in [0, 55/255], and minimises with Adam the mean squared
    error :math:`\| D_\theta(y, \sigma) - x \|_2^2` (linear warm-up, cosine decay; the
    shared loop :func:`course_utils.train._loop.fit`). The batch of step ``k`` depends
    only on ``(seed, k)``.

    Parameters
    ----------
    steps : int
        Number of optimisation steps.
    out : str or Path, optional
        Output file. By default the shipped ``course_utils/weights/winnet.pt``, whose
        registry entry (SHA-256) is then updated.
    threads : int
        ``torch.set_num_threads``.
    patch_size : int
        Side of the training patches, a multiple of ``2**levels``.
    arch : dict, optional
        Keywords overriding :data:`course_utils.nets.lifting.WINNET_ARCH` (a different
        network is only saved with an explicit ``out``).
    checkpoint_dir : str or Path, optional
        Where checkpoints go (default: ``<tmp>/course_utils_train/winnet``).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one.
    """
    import torch

    from .._validate import check_int
    from ..nets.lifting import WINNET_ARCH, build_winnet, count_parameters

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    arch = dict(WINNET_ARCH, **(arch or {}))
    if out is None and arch != WINNET_ARCH:
        raise ValueError("an architecture other than WINNET_ARCH needs an explicit out")
    model_stride = 2 ** arch["levels"]
    patch_size = check_int(patch_size, "patch_size", low=model_stride)
    if patch_size % model_stride:
        raise ValueError(f"patch_size must be a multiple of 2**levels = {model_stride}, "
                         f"got {patch_size}")

    log = start_torch(threads, seed, verbose)
    natural, phantoms = training_pool(seed=seed, min_size=patch_size)
    log(f"training pool: {len(natural)} natural images, {len(phantoms)} phantoms", flush=True)
    model = build_winnet(**arch)
    log(f"WINNetLite {arch}: {count_parameters(model)} parameters", flush=True)

    def batch_fn(rng, step):
        x, sigma, noise = sample_batch(natural, phantoms, rng, batch_size, patch_size,
                                       sigma_max=SIGMA_MAX)
        x, sigma = torch.from_numpy(x), torch.from_numpy(sigma)
        return x, x + sigma.view(-1, 1, 1, 1) * torch.from_numpy(noise), sigma

    def loss_fn(net, batch):
        x, y, sigma = batch
        return ((net(y, sigma) - x) ** 2).mean()

    x_mon, _, n_mon = sample_batch(natural, phantoms, np.random.default_rng([seed, 1 << 30]),
                                   16, patch_size, phantom_fraction=0.0)
    x_mon, n_mon = torch.from_numpy(x_mon), torch.from_numpy(n_mon)
    sigma_mon = 25 / 255

    def monitor(net):
        mse = ((net(x_mon + sigma_mon * n_mon, sigma_mon) - x_mon) ** 2).mean()
        return f"monitor PSNR(sigma=25) {10 * math.log10(1 / mse.item()):.2f} dB"

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 warmup=DEFAULTS["warmup"], name=_NAME, checkpoint_dir=checkpoint_dir,
                 resume=resume, checkpoint_every=checkpoint_every, log_every=log_every,
                 monitor=monitor, verbose=verbose)
    return save_and_register(model, _NAME, out, command=_COMMAND, verbose=verbose,
                             arch=arch, parameters=count_parameters(model), steps=steps,
                             seed=seed, batch_size=batch_size, patch_size=patch_size,
                             lr=lr, threads=threads,
                             train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train winnet``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, patch_size=args.patch_size, lr=args.lr,
                 checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
