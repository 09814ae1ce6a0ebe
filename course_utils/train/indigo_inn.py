"""Train INDIGO's INN f_phi for the non-linear degradation by the talk's loss ||c - y||^2."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch

__all__ = ["DEFAULTS", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 3000, "batch_size": 32, "lr": 2e-3, "seed": 0, "threads": 1, "warmup": 100,
    "checkpoint_every": 500, "log_every": 250,
}
_NAME = "indigo_inn"
_COMMAND = "python -m course_utils.train indigo-inn"


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train :class:`~course_utils.nets.indigo.LearnedDegradationINN` and save it.

    Each step draws ``batch_size`` training phantoms
    (:func:`course_utils.diffusion.training_images`), measures them with the non-linear
    degradation (:func:`course_utils.diffusion.degrade`, ``task="nonlinear"``, no noise)
    and minimises :math:`\|c - y\|^2` with ``(c, d) = f_\phi(x)``: only the coarse band is
    trained; the details keep whatever the degradation loses, and invertibility holds for
    any weights.
    """
    import numpy as np
    import torch

    from .._validate import check_int
    from ..diffusion import HELDOUT_SEED_BASE, degrade, heldout_images, training_images
    from ..nets.indigo import INDIGO_INN_ARCH, build_indigo_inn
    from ..nets.lifting import count_parameters

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    log = start_torch(threads, seed, verbose)
    model = build_indigo_inn()
    log(f"LearnedDegradationINN {INDIGO_INN_ARCH}: {count_parameters(model)} parameters",
        flush=True)

    def batch_fn(rng, step):
        x = training_images(batch_size, int(rng.integers(HELDOUT_SEED_BASE)))
        if rng.random() < 0.5:
            x = x[..., ::-1]
        x = np.ascontiguousarray(x)
        y = degrade(x, "nonlinear")
        return (torch.from_numpy(x[:, None]).float(), torch.from_numpy(y[:, None]).float())

    def loss_fn(net, batch):
        x, y = batch
        c, _ = net(x)
        return ((c - y) ** 2).mean()

    x_mon = heldout_images(32, seed=10 ** 6 + 1)
    y_mon = torch.from_numpy(degrade(x_mon, "nonlinear")[:, None]).float()
    x_mon = torch.from_numpy(x_mon[:, None]).float()

    def monitor(net):
        mse = ((net(x_mon)[0] - y_mon) ** 2).mean().item()
        return f"held-out PSNR of c against y {10 * math.log10(1 / mse):.2f} dB"

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 warmup=DEFAULTS["warmup"], name=_NAME, checkpoint_dir=checkpoint_dir,
                 resume=resume, checkpoint_every=checkpoint_every, log_every=log_every,
                 monitor=monitor, verbose=verbose)
    return save_and_register(model, _NAME, out, command=_COMMAND, verbose=verbose,
                             arch=dict(INDIGO_INN_ARCH), parameters=count_parameters(model),
                             steps=steps, seed=seed, batch_size=batch_size, lr=lr,
                             threads=threads, train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train indigo-inn``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, checkpoint_dir=args.checkpoint_dir,
                 resume=args.resume, log_every=args.log_every)
