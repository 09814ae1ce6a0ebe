"""Train the shipped gradient-descent networks (unrolled deblurring, K = 2, 4, 8 steps)."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from ._loop import fit

__all__ = ["DEFAULTS", "blurred_batch", "train_gdnet", "train", "evaluate", "add_arguments",
           "main"]

DEFAULTS: dict = {
    "num_steps": (2, 4, 8), "iterations": 800, "batch_size": 8, "patch_size": 48,
    "lr": 2e-3, "seed": 0, "threads": 1, "log_every": 100,
}
_COMMAND = "python -m course_utils.train gdnet"


def blurred_batch(x: np.ndarray, A, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``y = A x + sigma n`` for a batch ``x`` of shape (B, 1, M, N) (float32)."""
    y = np.stack([A(img[0]) for img in x])[:, None]
    return (y + sigma * rng.standard_normal(y.shape)).astype(np.float32)


def train_gdnet(num_steps: int, natural, phantoms, *, iterations: int, batch_size: int,
                patch_size: int, lr: float, seed: int, channels: int | None = None,
                depth: int | None = None, log_every: int = 100, verbose: bool = True):
    r"""Train one :class:`~course_utils.nets.unrolled.GradientDescentNet`; return it.

    Each iteration draws ``batch_size`` clean patches (random crops, rotations and flips
    of the training images of :mod:`course_utils.train.denoiser`), blurs them with the
    operator of :data:`~course_utils.nets.unrolled.GDNET_SETTINGS`, adds noise and takes
    one Adam step on :math:`\|x_K - x\|^2` (cosine learning-rate decay). The batches of
    iteration ``i`` depend only on ``(seed, i)``. ``channels`` and ``depth`` of the CNN
    default to :data:`~course_utils.nets.unrolled.GDNET_SETTINGS`.
    """
    import torch

    from ..nets.unrolled import GDNET_SETTINGS, GradientDescentNet, make_deblurring_operator
    from .denoiser import sample_batch

    s = GDNET_SETTINGS
    torch.manual_seed(seed)
    A = make_deblurring_operator((patch_size, patch_size))
    net = GradientDescentNet(A, num_steps, channels=channels or s["channels"],
                             depth=depth or s["depth"])

    def batch_fn(rng, step):
        x, _, _ = sample_batch(natural, phantoms, rng, batch_size, patch_size)
        return torch.from_numpy(blurred_batch(x, A, s["sigma"], rng)), torch.from_numpy(x)

    def loss_fn(model, batch):
        y, x = batch
        return ((model(y) - x) ** 2).mean()

    fit(net, steps=iterations, seed=(seed, num_steps), lr=lr, batch_fn=batch_fn,
        loss_fn=loss_fn, lr_fn=lambda k: lr * 0.5 * (1.0 + math.cos(math.pi * k / iterations)),
        name=f"gdnet_k{num_steps}", checkpoint_every=iterations, log_every=log_every,
        verbose=verbose)
    return net.eval()


def evaluate(net, images: dict, *, seed: int = 0) -> dict:
    """PSNR (dB) of ``net`` on each image (blurred with the network's operator, noisy)."""
    import torch

    from ..metrics import psnr
    from ..nets.unrolled import GDNET_SETTINGS, make_deblurring_operator

    out = {}
    for name, x in images.items():
        A = make_deblurring_operator(x.shape)
        y = A(x) + GDNET_SETTINGS["sigma"] * np.random.default_rng([seed, 5]).standard_normal(
            x.shape)
        net.set_operator(A)
        with torch.no_grad():
            x_hat = net(torch.from_numpy(y.astype(np.float32))[None, None])[0, 0].double()
        out[name] = psnr(x, np.clip(x_hat.numpy(), 0.0, 1.0))
    return out


def train(*, num_steps=DEFAULTS["num_steps"], out_dir=None,
          iterations: int = DEFAULTS["iterations"], batch_size: int = DEFAULTS["batch_size"],
          patch_size: int = DEFAULTS["patch_size"], lr: float = DEFAULTS["lr"],
          seed: int = DEFAULTS["seed"], threads: int = DEFAULTS["threads"],
          channels: int | None = None, depth: int | None = None,
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> list[Path]:
    """Train a network for every ``K`` in ``num_steps`` and save each ``state_dict``.

    Parameters
    ----------
    num_steps : iterable of int
        Numbers of unrolled steps; one network each, saved as ``gdnet_k{K}.pt``.
    out_dir : str or Path, optional
        Output folder. By default the shipped weights folder, whose registry entries
        (``gdnet_k{K}``, with SHA-256 and held-out PSNR) are then updated.
    iterations, batch_size, patch_size, lr, seed
        Optimisation settings (see :func:`train_gdnet`).
    threads : int
        ``torch.set_num_threads``.
    channels, depth : int, optional
        Size of the regulariser CNN (default :data:`~course_utils.nets.unrolled.GDNET_SETTINGS`).

    Returns
    -------
    list of Path
        The files written.
    """
    import torch

    from .. import weights
    from .._validate import check_int, check_scalar
    from ..nets.unrolled import GDNET_SETTINGS, gdnet_weights_name
    from .denoiser import heldout_images, training_pool

    steps_list = [check_int(k, "num_steps", low=1, high=64) for k in num_steps]
    iterations = check_int(iterations, "iterations", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    patch_size = check_int(patch_size, "patch_size", low=16)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    channels = check_int(channels or GDNET_SETTINGS["channels"], "channels", low=1)
    depth = check_int(depth or GDNET_SETTINGS["depth"], "depth", low=2)
    torch.set_num_threads(check_int(threads, "threads", low=1))
    register = out_dir is None
    out_dir = weights.WEIGHTS_DIR if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    natural, phantoms = training_pool(scales=(1.0, 0.5), num_phantoms=8, seed=seed,
                                      min_size=patch_size)
    test_images = heldout_images(128)
    written = []
    for k in steps_list:
        cpu0 = time.process_time()
        net = train_gdnet(k, natural, phantoms, iterations=iterations, batch_size=batch_size,
                          patch_size=patch_size, lr=lr, seed=seed, channels=channels,
                          depth=depth, log_every=log_every, verbose=verbose)
        cpu_seconds = time.process_time() - cpu0
        scores = evaluate(net, test_images, seed=seed)
        name = gdnet_weights_name(k)
        path = out_dir / f"{name}.pt"
        state = {key: v.detach().to(torch.float32).contiguous()
                 for key, v in net.state_dict().items()}
        torch.save(state, path)
        if register:
            weights.register(name, path.name, _COMMAND, arch=net.arch(),
                             problem={key: GDNET_SETTINGS[key] for key in
                                      ("kernel", "kernel_size", "kernel_sigma", "sigma")},
                             iterations=iterations, batch_size=batch_size,
                             patch_size=patch_size, lr=lr, seed=seed, threads=threads,
                             train_cpu_seconds=round(cpu_seconds),
                             heldout_psnr={n: round(v, 2) for n, v in scores.items()})
        if verbose:
            print(f"saved {path} after {cpu_seconds:.0f} CPU s (SHA-256 "
                  f"{weights.sha256_file(path)}); held-out PSNR "
                  + ", ".join(f"{n} {v:.2f} dB" for n, v in scores.items()), flush=True)
        written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train gdnet``."""
    parser.add_argument("--num-steps", type=int, nargs="+", default=list(DEFAULTS["num_steps"]),
                        help="unrolled steps K, one network each (default: 2 4 8)")
    parser.add_argument("--out-dir", default=None,
                        help="output folder (default: the shipped weights, registry updated)")
    parser.add_argument("--iterations", type=int, default=DEFAULTS["iterations"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--channels", type=int, default=None,
                        help="channels of the regulariser CNN (default 16)")
    parser.add_argument("--depth", type=int, default=None,
                        help="3x3 convolutions in the regulariser CNN (default 3)")
    parser.add_argument("--log-every", type=int, default=DEFAULTS["log_every"])


def main(args: argparse.Namespace) -> list[Path]:
    """Run :func:`train` with parsed command-line options."""
    return train(num_steps=args.num_steps, out_dir=args.out_dir, iterations=args.iterations,
                 batch_size=args.batch_size, patch_size=args.patch_size, lr=args.lr,
                 seed=args.seed, threads=args.threads, channels=args.channels,
                 depth=args.depth, log_every=args.log_every)
