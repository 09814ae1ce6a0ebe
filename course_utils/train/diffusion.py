"""Train the diffusion prior: a sigma-conditional denoiser on 32x32 random-ellipse phantoms."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch

__all__ = ["DEFAULTS", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 6500, "batch_size": 32, "lr": 1e-3, "seed": 0, "threads": 1, "warmup": 200,
    "checkpoint_every": 250, "log_every": 250, "ema": 0.999,
    "p_mean": -0.8, "p_std": 1.6,
}
_NAME = "diffusion"
_COMMAND = "python -m course_utils.train diffusion"


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], arch: dict | None = None,
          verbose: bool = True) -> Path:
    r"""Train the diffusion prior and save the moving average of its weights.

    Each step draws ``batch_size`` fresh phantoms (:func:`course_utils.diffusion.
    training_images`, a batch seed below ``HELDOUT_SEED_BASE``, so held-out images are
    never seen), maps them to [-1, 1], draws one noise level per image with
    :math:`\ln\sigma \sim \mathcal N(-0.8, 1.6^2)` and minimises EDM's weighted loss
    :math:`\lambda(\sigma)\,\|D_\theta(x + \sigma n, \sigma) - x\|^2` with
    :math:`\lambda = (\sigma^2 + \sigma_d^2)/(\sigma\sigma_d)^2` (Adam, warm-up, cosine
    decay). An exponential moving average of the weights (decay 0.999) is kept alongside
    and is what is saved: samplers are much smoother with it.
    """
    import torch

    from .._validate import check_int
    from ..diffusion import HELDOUT_SEED_BASE, heldout_images, training_images
    from ..nets.diffusion import DIFFUSION_ARCH, SIGMA_DATA, build_diffusion_net
    from ..nets.lifting import count_parameters

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    arch = dict(DIFFUSION_ARCH, **(arch or {}))
    if out is None and arch != DIFFUSION_ARCH:
        raise ValueError("an architecture other than DIFFUSION_ARCH needs an explicit out")
    log = start_torch(threads, seed, verbose)
    net = build_diffusion_net(**arch)
    ema = build_diffusion_net(**arch)
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    model = torch.nn.ModuleDict({"net": net, "ema": ema})
    log(f"SigmaUNet {arch}: {count_parameters(net)} parameters", flush=True)
    p_mean, p_std, decay = DEFAULTS["p_mean"], DEFAULTS["p_std"], DEFAULTS["ema"]

    def batch_fn(rng, step):
        x = training_images(batch_size, int(rng.integers(HELDOUT_SEED_BASE)))
        x = torch.from_numpy(2.0 * x[:, None] - 1.0).float()
        if rng.random() < 0.5:
            x = x.flip(-1)
        sigma = torch.from_numpy(np.exp(p_mean + p_std * rng.standard_normal(batch_size))).float()
        noise = torch.from_numpy(rng.standard_normal(x.shape)).float()
        return x, sigma, noise

    def loss_fn(model, batch):
        x, sigma, noise = batch
        weight = (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2
        err = (model["net"](x + sigma.view(-1, 1, 1, 1) * noise, sigma) - x) ** 2
        return (weight * err.mean(dim=(1, 2, 3))).mean()

    def on_step(model, step):
        d = min(decay, (1 + step) / (10 + step))
        for p_ema, p in zip(model["ema"].parameters(), model["net"].parameters()):
            p_ema.mul_(d).add_(p, alpha=1 - d)

    # monitor: denoising PSNR of the moving average on held-out phantoms at three levels
    x_mon = torch.from_numpy(2.0 * heldout_images(16, seed=10 ** 6)[:, None] - 1.0).float()
    n_mon = torch.from_numpy(np.random.default_rng([seed, 1 << 30]).standard_normal(
        x_mon.shape)).float()

    def monitor(model):
        out = []
        for s in (0.1, 0.5, 2.0):
            mse = ((model["ema"](x_mon + s * n_mon, s) - x_mon) ** 2).mean().item() / 4
            out.append(f"{10 * math.log10(1 / mse):.2f}")
        return "held-out PSNR at sigma 0.1/0.5/2: " + "/".join(out) + " dB"

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 params=net.parameters(), warmup=DEFAULTS["warmup"], name=_NAME,
                 checkpoint_dir=checkpoint_dir, resume=resume,
                 checkpoint_every=checkpoint_every, log_every=log_every, monitor=monitor,
                 on_step=on_step, verbose=verbose)
    return save_and_register(ema, _NAME, out, command=_COMMAND, verbose=verbose,
                             arch={k: list(v) if isinstance(v, tuple) else v
                                   for k, v in arch.items()},
                             parameters=count_parameters(net), steps=steps, seed=seed,
                             batch_size=batch_size, lr=lr, threads=threads,
                             train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train diffusion``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, checkpoint_dir=args.checkpoint_dir,
                 resume=args.resume, log_every=args.log_every)
