"""Train the three MRI reconstruction networks (k-space CNN, de-aliasing U-Net, unrolled)."""
from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch

__all__ = ["TRAIN_IMAGES", "PATTERNS_TRAIN", "ACCELERATIONS", "CENTER_FRACTIONS", "DEFAULTS",
           "STEPS", "image_pool", "sample_batch", "train", "add_arguments", "main"]

#: Bundled images used for training (never the held-out
#: :data:`course_utils.mri_recon.HELDOUT_IMAGES`).
TRAIN_IMAGES: tuple[str, ...] = (
    "camera", "astronaut", "moon", "coins", "text", "brick", "grass", "gravel", "page",
    "chelsea", "coffee", "horse", "rocket", "hubble", "cell", "clock",
)
#: Sampling patterns of the training masks, with the accelerations and the fully
#: sampled centre fractions (those of fastMRI: 8 % at 4×, 4 % at 8×).
PATTERNS_TRAIN: tuple[str, ...] = ("variable_density", "cartesian_regular")
ACCELERATIONS: tuple[int, ...] = (4, 8)
CENTER_FRACTIONS: dict[int, float] = {4: 0.08, 8: 0.04}

DEFAULTS: dict = {
    "size": 64, "batch_size": 8, "lr": 1e-3, "seed": 0, "threads": 1,
    "phantom_fraction": 0.5, "checkpoint_every": 100, "log_every": 25, "warmup": 50,
}
#: Default number of steps of each network. On one core: about 2 CPU minutes for the
#: k-space CNN (its loss is flat after a few hundred steps), 30 for the U-Net and 42 for
#: the unrolled network (budget: 60 each).
STEPS: dict[str, int] = {"kspace": 1000, "unet": 20000, "unrolled": 10000}


def image_pool(size: int = DEFAULTS["size"]) -> list[np.ndarray]:
    """Grey training images (:data:`TRAIN_IMAGES`) at three scales, each at least
    ``2 * size`` on its shorter side, as float32 arrays in [0, 1] (cached per size)."""
    return list(_image_pool(int(size)))


@functools.lru_cache(maxsize=4)
def _image_pool(size: int) -> tuple:
    from skimage.transform import rescale

    from ..data import load_image
    from ..mri_recon import HELDOUT_IMAGES

    pool = []
    for name in TRAIN_IMAGES:
        if name in HELDOUT_IMAGES:       # defensive: the two lists must never meet
            raise RuntimeError(f"{name} is held out")
        img = load_image(name)
        side = min(img.shape)
        for target in (2 * size, 3 * size, 4 * size):
            if target > side:
                continue
            im = rescale(img, target / side, anti_aliasing=True) if target != side else img
            im = np.ascontiguousarray(im, dtype=np.float32)
            im.setflags(write=False)
            pool.append(im)
    return tuple(pool)


def _masks(size, rng):
    from ..mri import sampling_mask

    pattern = PATTERNS_TRAIN[int(rng.integers(len(PATTERNS_TRAIN)))]
    r = ACCELERATIONS[int(rng.integers(len(ACCELERATIONS)))]
    return sampling_mask(pattern, (size, size), r, CENTER_FRACTIONS[r],
                         seed=int(rng.integers(2 ** 31)))


def sample_batch(pool, rng: np.random.Generator, batch_size: int, size: int, *,
                 phantom_fraction: float = DEFAULTS["phantom_fraction"]):
    """A training batch: complex images ``x`` (B, M, N) and masks (B, M, N).

    Half of the images (on average) are random-ellipse phantoms
    (:func:`course_utils.data.random_ellipses`), the others random crops of the bundled
    images, randomly rotated and flipped. Each gets a random smooth phase of amplitude up
    to π (:func:`course_utils.mri_recon.smooth_phase`) and a mask drawn from
    :data:`PATTERNS_TRAIN` at 4× or 8×.
    """
    from ..data import random_ellipses
    from ..mri_recon import smooth_phase

    x = np.empty((batch_size, size, size), dtype=np.complex64)
    masks = np.empty((batch_size, size, size), dtype=np.float32)
    for i in range(batch_size):
        if rng.random() < phantom_fraction:
            mag = random_ellipses((size, size), int(rng.integers(3, 12)),
                                  seed=int(rng.integers(2 ** 31)))
        else:
            img = pool[int(rng.integers(len(pool)))]
            r0 = int(rng.integers(img.shape[0] - size + 1))
            c0 = int(rng.integers(img.shape[1] - size + 1))
            mag = np.rot90(img[r0:r0 + size, c0:c0 + size], int(rng.integers(4)))
            if rng.random() < 0.5:
                mag = mag[:, ::-1]
            mag = mag * rng.uniform(0.6, 1.0) / max(float(mag.max()), 1e-3)
        phase = smooth_phase((size, size), rng.uniform(0.0, np.pi),
                             seed=int(rng.integers(2 ** 31)))
        x[i] = mag * np.exp(1j * phase)
        masks[i] = _masks(size, rng)
    return x, masks


def train(name: str, *, steps: int | None = None, out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          size: int = DEFAULTS["size"], lr: float = DEFAULTS["lr"], checkpoint_dir=None,
          resume: bool = False, checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train the MRI network ``name`` and save its ``state_dict``; return the path.

    Each step draws a batch of complex images ``x`` and masks ``m``, forms
    ``y = m ⊙ F x`` and minimises the complex L1 loss
    :math:`\tfrac{1}{BMN}\sum |f_\theta(y, m) - x|` with Adam (warm-up, cosine decay),
    through :func:`course_utils.train._loop.fit`. The batch of step ``k`` depends only on
    ``(seed, k)``, so a resumed run sees the same data as an uninterrupted one.

    Parameters
    ----------
    name : {"kspace", "unet", "unrolled"}
        Which network (:data:`course_utils.nets.mri.MRI_NET_NAMES`).
    steps : int, optional
        Optimisation steps (default :data:`STEPS`).
    out : str or Path, optional
        Output file; default the shipped ``course_utils/weights/mri_<name>.pt``, whose
        registry entry is then updated.
    threads : int
        ``torch.set_num_threads``.
    seed, batch_size, size, lr
        Data seed, images per step, image side, peak learning rate.
    checkpoint_dir : str or Path, optional
        Default ``<tmp>/course_utils_train/mri_<name>``.
    resume : bool
        Continue from the checkpoint there, if any.

    Returns
    -------
    Path
        The weights file written.
    """
    import torch

    from .._validate import check_choice, check_int
    from ..nets.mri import MRI_ARCH, MRI_NET_NAMES, build_mri_net, fft2c_t, ifft2c_t

    check_choice(name, "name", MRI_NET_NAMES)
    steps = STEPS[name] if steps is None else check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    size = check_int(size, "size", low=16)
    if size % 8:
        raise ValueError(f"size must be a multiple of 8, got {size}")
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", low=1)
    log_every = check_int(log_every, "log_every", low=1)
    key = f"mri_{name}"

    log = start_torch(threads, seed, verbose)
    pool = image_pool(size)
    log(f"{key}: {len(pool)} pool images, {steps} steps of {batch_size} at {size}x{size}",
        flush=True)
    model = build_mri_net(name)

    x_mon, m_mon = sample_batch(pool, np.random.default_rng([seed, 1 << 30]), 16, size)
    x_mon, m_mon = torch.from_numpy(x_mon), torch.from_numpy(m_mon)
    y_mon = fft2c_t(x_mon) * m_mon
    zf_mse = (ifft2c_t(y_mon).abs() - x_mon.abs()).pow(2).mean().item()
    log(f"monitor batch: zero-filled PSNR {10 * math.log10(1 / zf_mse):.2f} dB", flush=True)

    def monitor(net) -> str:
        mse = (net(y_mon, m_mon).abs() - x_mon.abs()).pow(2).mean().item()
        return f"monitor PSNR {10 * math.log10(1 / mse):.2f} dB"

    def batch_fn(rng, step):
        x, m = sample_batch(pool, rng, batch_size, size)
        x, m = torch.from_numpy(x), torch.from_numpy(m)
        return fft2c_t(x) * m, m, x

    def loss_fn(net, batch):
        y, m, x = batch
        return (net(y, m) - x).abs().mean()

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 warmup=DEFAULTS["warmup"], checkpoint_dir=checkpoint_dir, name=key,
                 resume=resume, checkpoint_every=checkpoint_every, log_every=log_every,
                 monitor=monitor, verbose=verbose)
    arch = {k: (list(v) if isinstance(v, tuple) else v) for k, v in MRI_ARCH[name].items()}
    return save_and_register(model, key, out, command=f"python -m course_utils.train mri-{name}",
                             verbose=verbose, arch=arch, steps=steps, seed=seed,
                             batch_size=batch_size, size=size, threads=threads,
                             train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m course_utils.train mri-kspace|mri-unet|mri-unrolled``."""
    add_common_arguments(parser, DEFAULTS, steps_help=f"optimisation steps (default {STEPS})")
    parser.add_argument("--size", type=int, default=DEFAULTS["size"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` for the network named by the sub-command (``mri-<name>``)."""
    name = str(args.name)
    name = name[len("mri-"):] if name.startswith("mri-") else name
    return train(name, steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, size=args.size, lr=args.lr,
                 checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
