"""Train the ×4 super-resolution networks and the loss-comparison variants on bundled images."""
from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch

__all__ = ["FRAMEWORK_STEPS", "LOSS_ARCH", "LOSSES", "LOSS_STEPS", "ADVERSARIAL_STEPS", "DEFAULTS",
           "TRAINER_NAMES", "sample_batch", "pixel_loss", "total_variation", "train",
           "add_arguments", "main"]

#: Steps of each framework network (about 48 CPU minutes for the four, one thread).
FRAMEWORK_STEPS: dict[str, int] = {"pre": 3500, "post": 6000, "progressive": 5000,
                                   "dbpn": 4500}
#: The smaller post-upsampling network on which the losses are compared.
LOSS_ARCH: dict = {"channels": 48, "depth": 5}
#: The losses compared on the post-upsampling architecture.
LOSSES: tuple[str, ...] = ("l1", "l2", "huber", "perceptual", "tv", "adversarial")
#: Steps of each loss variant (short runs, the same for every loss).
LOSS_STEPS: int = 1000
#: Steps of adversarial fine-tuning, starting from the ``sr_loss_l1`` weights.
ADVERSARIAL_STEPS: int = 400
DEFAULTS: dict = {
    "batch_size": 16, "patch_size": 48, "lr": 1e-3, "seed": 0, "threads": 1,
    "checkpoint_every": 250, "log_every": 100, "warmup": 100,
    "huber_delta": 0.02, "tv_weight": 0.02, "perceptual_weight": 1.0,
    "adversarial_weight": 0.01, "adversarial_lr": 2e-4,
}
#: ``python -m course_utils.train NAME`` names handled by this module.
TRAINER_NAMES: tuple[str, ...] = tuple(f"sr-{f}" for f in FRAMEWORK_STEPS) + tuple(
    f"sr-loss-{loss}" for loss in LOSSES)


@functools.lru_cache(maxsize=2)
def _pool(patch_size: int) -> tuple:
    from ..sr import training_images

    return tuple(training_images(min_size=patch_size))


def sample_batch(pool, rng: np.random.Generator, batch_size: int, patch_size: int,
                 sigma_max: float | None = None):
    """High-resolution patches ``x`` (B, 1, P, P), noisy ×4 measurements ``y``
    (B, 1, P/4, P/4) and their noise levels ``sigma`` (B,), float32.

    Random crops of random pool images, rotated by a multiple of 90° and flipped; ``y`` is
    the 4 × 4 block average plus white noise, with ``sigma = 0`` for half of the patches
    and uniform in [0, ``sigma_max``] for the others.
    """
    from ..sr import SIGMA_TRAIN_MAX

    sigma_max = SIGMA_TRAIN_MAX if sigma_max is None else sigma_max
    x = np.empty((batch_size, 1, patch_size, patch_size), dtype=np.float32)
    for i in range(batch_size):
        img = pool[int(rng.integers(len(pool)))]
        r = int(rng.integers(img.shape[0] - patch_size + 1))
        c = int(rng.integers(img.shape[1] - patch_size + 1))
        patch = np.rot90(img[r:r + patch_size, c:c + patch_size], int(rng.integers(4)))
        x[i, 0] = patch[:, ::-1] if rng.random() < 0.5 else patch
    m = patch_size // 4
    y = x.reshape(batch_size, 1, m, 4, m, 4).mean(axis=(3, 5))
    sigma = np.where(rng.random(batch_size) < 0.5, 0.0,
                     rng.uniform(0.0, sigma_max, batch_size)).astype(np.float32)
    y = y + sigma[:, None, None, None] * rng.standard_normal(y.shape, dtype=np.float32)
    return x, y.astype(np.float32), sigma


def total_variation(x):
    """Mean anisotropic total variation of a batch (B, 1, M, N): mean |∂_r x| + mean |∂_c x|."""
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
            + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def pixel_loss(x_hat, x, loss: str):
    r"""The loss ``loss`` between a batch ``x_hat`` and its targets ``x``.

    ``"l1"``: mean |x̂ − x|; ``"l2"``: mean (x̂ − x)²; ``"huber"``: mean Huber with
    ``delta = 0.02``; ``"perceptual"``: mean squared difference of the shipped denoiser's
    first-stage features (:func:`course_utils.nets.sr.perceptual_features`), no pixel term;
    ``"tv"``: L1 + 0.02 · TV(x̂); ``"adversarial"``: the L1 term (the adversarial term is
    added in :func:`train`).
    """
    import torch.nn.functional as F

    if loss in ("l1", "adversarial"):
        return (x_hat - x).abs().mean()
    if loss == "l2":
        return F.mse_loss(x_hat, x)
    if loss == "huber":
        return F.huber_loss(x_hat, x, delta=DEFAULTS["huber_delta"]) / DEFAULTS["huber_delta"]
    if loss == "perceptual":
        from ..nets.sr import perceptual_features

        return DEFAULTS["perceptual_weight"] * F.mse_loss(perceptual_features(x_hat),
                                                          perceptual_features(x))
    if loss == "tv":
        return (x_hat - x).abs().mean() + DEFAULTS["tv_weight"] * total_variation(x_hat)
    raise ValueError(f"Unknown loss: {loss!r}; expected one of {LOSSES}")


def _split(name: str) -> tuple[str, str]:
    """``"sr-pre"`` -> ``("pre", "l1")``; ``"sr-loss-tv"`` -> ``("post", "tv")``."""
    from .._validate import check_choice

    check_choice(name, "name", TRAINER_NAMES)
    rest = name[len("sr-"):]
    if rest.startswith("loss-"):
        return "post", rest[len("loss-"):]
    return rest, "l1"


def train(name: str, *, steps: int | None = None, out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          patch_size: int = DEFAULTS["patch_size"], lr: float = DEFAULTS["lr"],
          checkpoint_dir=None, resume: bool = False,
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train the super-resolution network ``name`` and save its ``state_dict``.

    Each step draws ``batch_size`` high-resolution patches ``x``, their ×4 block averages
    with mixed noise ``y = A x + sigma n`` (:func:`sample_batch`), and minimises the loss
    between ``f_θ(y, sigma)`` and ``x`` (the networks are told the noise level) with Adam
    (warm-up, cosine decay): L1 for the four frameworks (the progressive network adds the
    L1 error of its ×2 output against the 2 × 2 block average of ``x``), the named loss
    for ``sr-loss-*`` (post-upsampling architecture, :data:`LOSS_STEPS` steps each).

    ``sr-loss-adversarial`` starts from the ``sr_loss_l1`` weights and fine-tunes them
    for :data:`ADVERSARIAL_STEPS` steps against a tiny discriminator ``D`` (non-saturating
    GAN loss): the generator minimises ``L1 + w · softplus(−D(x̂))``, ``w = 0.01``, while
    ``D`` minimises ``softplus(−D(x)) + softplus(D(x̂))``; both are updated by one Adam
    step on the sum, the generator's term seeing ``D`` through detached parameters.

    Parameters
    ----------
    name : str
        One of :data:`TRAINER_NAMES` (``"sr-pre"``, ..., ``"sr-loss-tv"``).
    steps : int, optional
        Default :data:`FRAMEWORK_STEPS`, :data:`LOSS_STEPS` or :data:`ADVERSARIAL_STEPS`.
    out : str or Path, optional
        Output file; default the shipped ``course_utils/weights/sr_<...>.pt``, registered.
    threads, seed, batch_size, patch_size, lr
        Torch threads, data seed, patches per step, high-resolution patch side (a multiple
        of 8), peak learning rate.
    checkpoint_dir, resume
        Checkpoints (default ``<tmp>/course_utils_train/<weights name>``) and resuming.
    """
    import torch
    import torch.nn.functional as F

    from .. import weights
    from .._validate import check_int
    from ..nets.sr import SR_ARCH, Discriminator, build_sr_net, count_parameters

    framework, loss = _split(name)
    key = f"sr_{framework}" if not name.startswith("sr-loss-") else f"sr_loss_{loss}"
    default_steps = (FRAMEWORK_STEPS[framework] if key == f"sr_{framework}" else
                     ADVERSARIAL_STEPS if loss == "adversarial" else LOSS_STEPS)
    steps = default_steps if steps is None else check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    patch_size = check_int(patch_size, "patch_size", low=16)
    if patch_size % 8:
        raise ValueError(f"patch_size must be a multiple of 8, got {patch_size}")

    log = start_torch(threads, seed, verbose)
    pool = _pool(patch_size)
    log(f"{key}: {len(pool)} pool images, {steps} steps of {batch_size} patches "
        f"{patch_size}x{patch_size}, loss {loss}", flush=True)
    arch = dict(SR_ARCH[framework]) if key == f"sr_{framework}" else dict(LOSS_ARCH)
    generator = build_sr_net(framework, **arch)
    adversarial = loss == "adversarial"
    extra_cpu = 0.0
    if adversarial:
        generator.load_state_dict(weights.load_state_dict("sr_loss_l1"))
        extra_cpu = float(weights.registry()["sr_loss_l1"].get("train_cpu_seconds", 0))
        lr = DEFAULTS["adversarial_lr"]
        model = torch.nn.ModuleDict({"generator": generator, "discriminator": Discriminator()})
    else:
        model = generator

    def batch_fn(rng, step):
        x, y, sigma = sample_batch(pool, rng, batch_size, patch_size)
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(sigma)

    def loss_fn(net, batch):
        x, y, sigma = batch
        if not adversarial:
            if framework == "progressive":
                x2, x4 = net.forward_all(y, sigma)
                return (x4 - x).abs().mean() + (x2 - F.avg_pool2d(x, 2)).abs().mean()
            return pixel_loss(net(y, sigma), x, loss)
        gen, disc = net["generator"], net["discriminator"]
        x_hat = gen(y, sigma)
        frozen = {k: v.detach() for k, v in disc.named_parameters()}
        fake_logit = torch.func.functional_call(disc, frozen, (x_hat,))
        g_loss = (x_hat - x).abs().mean() + DEFAULTS["adversarial_weight"] * F.softplus(
            -fake_logit).mean()
        d_loss = F.softplus(-disc(x)).mean() + F.softplus(disc(x_hat.detach())).mean()
        return g_loss + d_loss

    x_mon, y_mon, _ = sample_batch(pool, np.random.default_rng([seed, 1 << 30]), 32,
                                   patch_size, sigma_max=0.0)
    x_mon, y_mon = torch.from_numpy(x_mon), torch.from_numpy(y_mon)

    def monitor(net):
        gen = net["generator"] if adversarial else net
        mse = ((gen(y_mon).clamp(0, 1) - x_mon) ** 2).mean().item()
        return f"monitor PSNR(sigma=0) {10 * math.log10(1 / mse):.2f} dB"

    from ..nets.sr import bicubic_torch

    mse_bic = ((bicubic_torch(y_mon, 4).clamp(0, 1) - x_mon) ** 2).mean().item()
    log(f"monitor batch: bicubic PSNR {10 * math.log10(1 / mse_bic):.2f} dB", flush=True)
    result = fit(model, steps=steps, seed=(seed, 17 + TRAINER_NAMES.index(name)), lr=lr,
                 batch_fn=batch_fn, loss_fn=loss_fn, warmup=DEFAULTS["warmup"] if not
                 adversarial else 1, name=key, checkpoint_dir=checkpoint_dir, resume=resume,
                 checkpoint_every=DEFAULTS["checkpoint_every"], log_every=log_every,
                 monitor=monitor, verbose=verbose)
    meta = dict(framework=framework, loss=loss, arch=arch, steps=steps,
                seed=seed, batch_size=batch_size, patch_size=patch_size, threads=threads,
                lr=lr, parameters=count_parameters(generator),
                train_cpu_seconds=round(result.cpu_seconds + extra_cpu))
    if adversarial:
        meta["train_note"] = (f"fine-tuned from sr_loss_l1 ({round(extra_cpu)} CPU s) for "
                              f"{steps} steps; train_cpu_seconds counts both")
    return save_and_register(generator, key, out, command=f"python -m course_utils.train {name}",
                             verbose=verbose, **meta)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train sr-<name>``."""
    add_common_arguments(parser, DEFAULTS)
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` for the network named by the sub-command (``sr-<name>``)."""
    return train(str(args.name), steps=args.steps, out=args.out, threads=args.threads,
                 seed=args.seed, batch_size=args.batch_size, patch_size=args.patch_size,
                 lr=args.lr, checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
