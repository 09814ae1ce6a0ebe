"""Train the shipped noise-level-conditional denoiser on bundled images and phantoms."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ._loop import (add_common_arguments, check_common_options, fit, lr_at, save_and_register,
                    start_torch)

__all__ = ["TRAIN_IMAGES", "HELDOUT_IMAGES", "CHANNEL_IMAGES", "SIGMA_MAX", "DEFAULTS",
           "load_gray", "heldout_images", "training_pool", "sample_batch", "train",
           "add_arguments", "main"]

#: scikit-image bundled images that the denoiser is trained on (their grey versions).
TRAIN_IMAGES: tuple[str, ...] = (
    "astronaut", "brick", "cell", "clock", "coffee", "grass", "gravel", "horse",
    "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms", "page",
    "retina", "rocket", "shepp_logan_phantom", "stereo_motorcycle", "text",
)
#: Colour images whose red, green and blue channels are also used as grey training images.
CHANNEL_IMAGES: tuple[str, ...] = ("astronaut", "coffee", "rocket", "stereo_motorcycle")
#: Natural grey images kept out of training, for tests and benchmarks only.
HELDOUT_IMAGES: tuple[str, ...] = ("camera", "coins", "moon", "chelsea")
#: Noise levels are drawn uniformly from [0, SIGMA_MAX] during training.
SIGMA_MAX: float = 55 / 255

DEFAULTS: dict = {
    "steps": 9000, "batch_size": 16, "patch_size": 64, "lr": 5e-4, "seed": 0,
    "threads": 2, "scales": (1.0, 0.75, 0.5), "num_phantoms": 24, "phantom_fraction": 0.1,
    "warmup": 200, "checkpoint_every": 250, "log_every": 50,
    # The last 2/9 of the steps restart at lr / 5 with the sigma-weighted loss.
    "finetune_fraction": 2 / 9, "finetune_lr_factor": 0.2, "sigma_floor": 5 / 255,
}
_NAME = "denoiser"
_COMMAND = "python -m course_utils.train denoiser"


def _rgb_of(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity)
        img = img[0]
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.float64)
    elif img.dtype.kind in "ui":
        img = img / float(np.iinfo(img.dtype).max)
    else:
        img = img.astype(np.float64)
    return img


def load_gray(name: str) -> np.ndarray:
    """A bundled scikit-image image as a float64 grey image of shape (M, N) in [0, 1]."""
    from skimage.color import rgb2gray

    if name not in TRAIN_IMAGES + HELDOUT_IMAGES:
        raise ValueError(f"Unknown name: {name!r}; expected one of "
                         f"{TRAIN_IMAGES + HELDOUT_IMAGES}")
    img = _rgb_of(name)
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    return np.clip(img, 0.0, 1.0)


def heldout_images(size: int | None = None) -> dict[str, np.ndarray]:
    """The held-out images, optionally centre-cropped to ``size`` x ``size``."""
    out = {}
    for name in HELDOUT_IMAGES:
        img = load_gray(name)
        if size is not None:
            r0, c0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
            img = img[r0:r0 + size, c0:c0 + size]
        out[name] = np.ascontiguousarray(img)
    return out


def _ellipse_phantom(shape, rng: np.random.Generator, num_ellipses: int) -> np.ndarray:
    """Sum of random filled ellipses, rescaled to [0, 1]."""
    img = np.zeros(shape)
    for _ in range(num_ellipses):
        r0, c0 = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        a, b = rng.uniform(0.02, 0.35, size=2) * min(shape)
        theta = rng.uniform(0, np.pi)
        # Only pixels within max(a, b) of the centre can be inside the ellipse.
        half = max(a, b)
        r_lo, r_hi = max(0, int(r0 - half)), min(shape[0], int(r0 + half) + 2)
        c_lo, c_hi = max(0, int(c0 - half)), min(shape[1], int(c0 + half) + 2)
        rows, cols = np.mgrid[r_lo:r_hi, c_lo:c_hi].astype(np.float64)
        dr, dc = rows - r0, cols - c0
        u = (dr * np.cos(theta) + dc * np.sin(theta)) / a
        v = (-dr * np.sin(theta) + dc * np.cos(theta)) / b
        img[r_lo:r_hi, c_lo:c_hi][u * u + v * v <= 1.0] += rng.uniform(-0.6, 1.0)
    img -= img.min()
    return img / img.max() if img.max() > 0 else img


def training_pool(*, scales=DEFAULTS["scales"], num_phantoms=DEFAULTS["num_phantoms"],
                  seed: int = 0, min_size: int = 64):
    """The training images: (natural grey images at several scales, ellipse phantoms).

    Natural images are the grey versions of :data:`TRAIN_IMAGES` plus the colour channels
    of :data:`CHANNEL_IMAGES`, each rescaled by every factor in ``scales`` (anti-aliased);
    images smaller than ``min_size`` are dropped. Never contains :data:`HELDOUT_IMAGES`.
    """
    from skimage.transform import rescale

    base = [load_gray(name) for name in TRAIN_IMAGES]
    for name in CHANNEL_IMAGES:
        rgb = _rgb_of(name)
        base.extend(rgb[..., k] for k in range(3))
    natural = []
    for img in base:
        for s in scales:
            im = img if s == 1.0 else rescale(img, s, anti_aliasing=True)
            if min(im.shape) >= min_size:
                natural.append(np.ascontiguousarray(im, dtype=np.float32))
    rng = np.random.default_rng([seed, 7919])
    phantoms = [_ellipse_phantom((256, 256), rng, int(rng.integers(4, 16))).astype(np.float32)
                for _ in range(num_phantoms)]
    return natural, phantoms


def sample_batch(natural, phantoms, rng: np.random.Generator, batch_size: int,
                 patch_size: int, *, phantom_fraction: float = DEFAULTS["phantom_fraction"],
                 sigma_max: float = SIGMA_MAX):
    """Clean patches (B, 1, P, P), noise levels (B,) and unit Gaussian noise (B, 1, P, P).

    Each patch is a random crop of a random image, randomly rotated by a multiple of 90
    degrees and flipped; ``sigma`` is uniform in [0, sigma_max].
    """
    x = np.empty((batch_size, 1, patch_size, patch_size), dtype=np.float32)
    for i in range(batch_size):
        pool = phantoms if (phantoms and rng.random() < phantom_fraction) else natural
        img = pool[int(rng.integers(len(pool)))]
        r = int(rng.integers(img.shape[0] - patch_size + 1))
        c = int(rng.integers(img.shape[1] - patch_size + 1))
        patch = np.rot90(img[r:r + patch_size, c:c + patch_size], int(rng.integers(4)))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        x[i, 0] = patch
    sigma = rng.uniform(0.0, sigma_max, size=batch_size).astype(np.float32)
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    return x, sigma, noise


def _schedule(step: int, steps: int, lr: float) -> tuple[float, bool]:
    """Learning rate at ``step`` and whether the sigma-weighted loss is used.

    Phase 1 (the first ``steps - round(steps * finetune_fraction)`` steps): warm-up and
    cosine decay from ``lr``. Phase 2: a restart at ``lr * finetune_lr_factor``, decaying
    to zero again.
    """
    main = steps - round(steps * DEFAULTS["finetune_fraction"])
    if step < main:
        return lr_at(step, main, lr, DEFAULTS["warmup"]), False
    return lr_at(step - main, steps - main, lr * DEFAULTS["finetune_lr_factor"], 0), True


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          patch_size: int = DEFAULTS["patch_size"], lr: float = DEFAULTS["lr"],
          checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train the denoiser and save its ``state_dict``; return the path written.

    Each step draws ``batch_size`` noisy patches ``y = x + sigma n`` and minimises with
    Adam the mean absolute error :math:`\| R_\theta(y, \sigma) - x \|_1` (phase 1:
    linear warm-up and cosine decay), then, for the last 2/9 of the steps, the
    sigma-weighted error :math:`\| R_\theta(y, \sigma) - x \|_1 / (\sigma + \sigma_0)`,
    :math:`\sigma_0 = 5/255`, which puts more weight on the low noise levels (phase 2:
    restart at ``lr / 5``, cosine decay). See :func:`_schedule`.
    The batch of step ``k`` depends only on ``(seed, k)``, so a run resumed from a
    checkpoint sees the same data as an uninterrupted one.

    Parameters
    ----------
    steps : int
        Number of optimisation steps (the schedule is stretched to fit).
    out : str or Path, optional
        Output file. By default the shipped ``course_utils/weights/denoiser.pt``, whose
        registry entry (SHA-256) is then updated.
    threads : int
        ``torch.set_num_threads``.
    checkpoint_dir : str or Path, optional
        Where checkpoints go (default: ``<tmp>/course_utils_train/denoiser``).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one.
    """
    import torch

    from .._validate import check_int
    from ..nets.denoiser import DENOISER_ARCH, build_denoiser

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    patch_size = check_int(patch_size, "patch_size", low=8)
    if patch_size % 8:
        raise ValueError(f"patch_size must be a multiple of 8, got {patch_size}")

    log = start_torch(threads, seed, verbose)
    natural, phantoms = training_pool(seed=seed, min_size=patch_size)
    log(f"training pool: {len(natural)} natural images, {len(phantoms)} phantoms", flush=True)
    model = build_denoiser()

    def batch_fn(rng, step):
        x, sigma, noise = sample_batch(natural, phantoms, rng, batch_size, patch_size)
        x, sigma = torch.from_numpy(x), torch.from_numpy(sigma)
        y = x + sigma.view(-1, 1, 1, 1) * torch.from_numpy(noise)
        return x, y, sigma, _schedule(step, steps, lr)[1]

    def loss_fn(net, batch):
        x, y, sigma, weighted = batch
        error = (net(y, sigma) - x).abs().mean(dim=(1, 2, 3))
        if weighted:  # scaled so that a patch with sigma = 25/255 keeps weight 1
            floor = DEFAULTS["sigma_floor"]
            error = error * (25 / 255 + floor) / (sigma + floor)
        return error.mean()

    x_mon, _, n_mon = sample_batch(natural, phantoms, np.random.default_rng([seed, 1 << 30]),
                                   16, patch_size, phantom_fraction=0.0)
    x_mon, n_mon = torch.from_numpy(x_mon), torch.from_numpy(n_mon)
    sigma_mon = 25 / 255

    def monitor(net):
        mse = ((net(x_mon + sigma_mon * n_mon, sigma_mon) - x_mon) ** 2).mean()
        return f"monitor PSNR(sigma=25) {10 * math.log10(1 / mse.item()):.2f} dB"

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 lr_fn=lambda k: _schedule(k, steps, lr)[0], name=_NAME,
                 checkpoint_dir=checkpoint_dir, resume=resume,
                 checkpoint_every=checkpoint_every, log_every=log_every, monitor=monitor,
                 verbose=verbose)
    return save_and_register(model, _NAME, out, command=_COMMAND, verbose=verbose,
                             arch={k: list(v) for k, v in DENOISER_ARCH.items()},
                             steps=steps, seed=seed, batch_size=batch_size,
                             patch_size=patch_size, threads=threads,
                             train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train denoiser``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, patch_size=args.patch_size, lr=args.lr,
                 checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
