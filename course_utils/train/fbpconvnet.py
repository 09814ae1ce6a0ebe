"""Train the shipped FBPConvNet on sparse-view FBPs of random-ellipse phantoms."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._loop import (add_common_arguments, check_common_options, checkpoint_dir_for, fit,
                    save_and_register, start_torch)

__all__ = ["DEFAULTS", "sample_batch", "cached_set", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 3000, "batch_size": 16, "lr": 1e-3, "seed": 0, "threads": 1,
    "clean_fraction": 0.5, "dose_range": (10 ** 3.5, 1e6), "ellipse_range": (4, 12),
    "head_fraction": 0.5,
    "finetune_steps": 2500, "finetune_lr": 5e-4, "finetune_clean_fraction": 0.7,
    "finetune_head_fraction": 0.3,
    "cached_steps": 24000, "cached_samples": 20000, "cached_lr": 3e-4,
    "cached_views": (18, 36, 60, 90, 180),
    "warmup": 100, "checkpoint_every": 100, "log_every": 50,
}
_NAME = "fbpconvnet"
_COMMAND = "python -m course_utils.train fbpconvnet"


def sample_batch(rng: np.random.Generator, batch_size: int, *, size: int | None = None,
                 clean_fraction: float = DEFAULTS["clean_fraction"],
                 dose_range=DEFAULTS["dose_range"], ellipse_range=DEFAULTS["ellipse_range"],
                 head_fraction: float = DEFAULTS["head_fraction"], views=None):
    """One training batch: FBP inputs, view counts and ground truths.

    Each sample is a random-ellipse phantom whose seed is drawn from
    :data:`~course_utils.ct_learned.TRAIN_SEEDS` (so never a held-out one), with 4 to 12
    ellipses, of the head family (:func:`~course_utils.ct_learned.random_head`, a skull
    around the ellipses) with probability ``head_fraction`` and of the plain family
    (:func:`~course_utils.data.random_ellipses`) otherwise, seen from a number of views
    drawn from
    :data:`~course_utils.ct_learned.TRAIN_VIEWS`; its sinogram comes from the fine grid
    (:func:`~course_utils.ct_learned.simulate_sinogram`), noise-free with probability
    ``clean_fraction``, else at a dose ``I0`` log-uniform in ``dose_range``.

    Returns
    -------
    x_fbp : ndarray of shape (B, 1, M, M), float32
        Ramp-filtered FBP images.
    num_views : ndarray of shape (B,), float32
    x : ndarray of shape (B, 1, M, M), float32
        The phantoms at the reconstruction size.
    seeds : ndarray of shape (B,), int64
        The phantom seeds used.
    """
    from ..ct_learned import (IMAGE_SIZE, TRAIN_SEEDS, TRAIN_VIEWS, ct_phantom, fbp_views,
                              simulate_sinogram)

    size = IMAGE_SIZE if size is None else size
    views = TRAIN_VIEWS if views is None else tuple(views)
    x_fbp = np.empty((batch_size, 1, size, size), dtype=np.float32)
    x = np.empty_like(x_fbp)
    num_views = np.empty(batch_size, dtype=np.float32)
    seeds = np.empty(batch_size, dtype=np.int64)
    lo, hi = np.log(dose_range[0]), np.log(dose_range[1])
    for i in range(batch_size):
        seed = TRAIN_SEEDS[int(rng.integers(len(TRAIN_SEEDS)))]
        k = int(views[int(rng.integers(len(views)))])
        ellipses = int(rng.integers(ellipse_range[0], ellipse_range[1] + 1))
        family = "head" if rng.random() < head_fraction else "ellipses"
        I0 = None if rng.random() < clean_fraction else float(np.exp(rng.uniform(lo, hi)))
        noise_seed = int(rng.integers(2 ** 31))
        x_fine, truth = ct_phantom(seed, size, num_ellipses=ellipses, family=family)
        y = simulate_sinogram(x_fine, k, I0=I0, seed=noise_seed)
        x_fbp[i, 0] = fbp_views(y)
        x[i, 0] = truth
        num_views[i] = k
        seeds[i] = seed
    return x_fbp, num_views, x, seeds


def cached_set(seed: int, num_samples: int, *, views=DEFAULTS["cached_views"],
               batch_size: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``num_samples`` (FBP, views, phantom) triples for phase 3, drawn once.

    Chunk ``j`` of ``batch_size`` samples is :func:`sample_batch` with
    ``numpy.random.default_rng([seed, 2, j])``, 70 % noise-free and 30 % head-like
    phantoms as in phase 2, views from ``views``.
    """
    chunks = []
    for j in range(-(-num_samples // batch_size)):
        chunks.append(sample_batch(np.random.default_rng([seed, 2, j]), batch_size,
                                   clean_fraction=DEFAULTS["finetune_clean_fraction"],
                                   head_fraction=DEFAULTS["finetune_head_fraction"],
                                   views=views)[:3])
    return tuple(np.concatenate(parts)[:num_samples] for parts in zip(*chunks))


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], head_fraction: float = DEFAULTS["head_fraction"],
          finetune_steps: int = DEFAULTS["finetune_steps"],
          finetune_lr: float = DEFAULTS["finetune_lr"],
          cached_steps: int = DEFAULTS["cached_steps"],
          cached_samples: int = DEFAULTS["cached_samples"],
          cached_lr: float = DEFAULTS["cached_lr"],
          checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train the FBPConvNet and save its ``state_dict``; return the path written.

    Phase 1 (``steps``): each step draws ``batch_size`` (FBP, phantom) pairs
    (:func:`sample_batch`, half of them noise-free, ``head_fraction`` of them head-like)
    and minimises the mean squared error :math:`\|\hat x_\theta(x_{FBP}, K) − x\|^2` with
    Adam (linear warm-up, cosine decay), as Jin et al. (2017) do. Phase 2
    (``finetune_steps``, a fresh Adam and a new warm-up and cosine decay from
    ``finetune_lr``): the mean absolute error :math:`\|\hat x_\theta − x\|_1`, which
    penalises the small residual ripples on flat regions more than the squared error does,
    on batches with 70 % noise-free and 30 % head-like phantoms. Phase 3
    (``cached_steps``, fresh Adam from ``cached_lr``, absolute error): drawing a phantom and
    simulating its sinogram on the fine grid costs four times more than a network step,
    so phase 3 draws ``cached_samples`` pairs once (:func:`cached_set`, views 18 to 180)
    and reuses them for many more steps per CPU second. (No flips or rotations: the fine
    grid's decimation is not symmetric, so a flipped pair is not a pair of this
    geometry.) The set is drawn on the first batch of phase 3, so resuming a finished
    phase 3 does not draw it again. All phases run through
    :func:`course_utils.train._loop.fit`: the batch of step ``k`` depends only on
    ``(seed, k)`` (phase 2: ``(seed, 1, k)``, phase 3: ``(seed, 3, k)``), so a resumed run
    sees the same data as an uninterrupted one.

    Parameters
    ----------
    steps : int
        Steps of phase 1.
    out : str or Path, optional
        Output file. By default the shipped ``course_utils/weights/fbpconvnet.pt``, whose
        registry entry (SHA-256) is then updated.
    threads : int
        ``torch.set_num_threads``.
    seed : int
        Seed of the initialisation and of the batches.
    batch_size, lr : int, float
        Images per step and peak learning rate of phase 1.
    head_fraction : float
        Share of head-like phantoms in the phase-1 batches (:func:`sample_batch`).
    finetune_steps : int
        Steps of phase 2 (0: none).
    finetune_lr : float
        Peak learning rate of phase 2.
    cached_steps, cached_samples, cached_lr : int, int, float
        Steps (0: no phase 3), size of the drawn set, and peak learning rate of phase 3.
    checkpoint_dir : str or Path, optional
        Where checkpoints go (default: ``<tmp>/course_utils_train/fbpconvnet``), one
        sub-folder per phase (``phase1``, ``phase2``, ``phase3``).
    resume : bool
        Continue from the checkpoints in ``checkpoint_dir`` if there are some (a finished
        phase is not rerun).

    Returns
    -------
    Path
        The weights file written.

    References
    ----------
    .. [1] K. H. Jin, M. T. McCann, E. Froustey, M. Unser, "Deep convolutional neural
       network for inverse problems in imaging", IEEE Trans. Image Process. 26(9),
       4509–4522, 2017.
    """
    import torch

    from .._validate import check_int, check_scalar
    from ..ct_learned import TUNE_SEEDS, ct_phantom, fbp_views, simulate_sinogram
    from ..nets.fbpconvnet import FBPCONVNET_ARCH, build_fbpconvnet

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    head_fraction = check_scalar(head_fraction, "head_fraction", low=0.0, high=1.0)
    finetune_steps = check_int(finetune_steps, "finetune_steps", low=0)
    finetune_lr = check_scalar(finetune_lr, "finetune_lr", low=0.0, low_inclusive=False)
    cached_steps = check_int(cached_steps, "cached_steps", low=0)
    cached_samples = check_int(cached_samples, "cached_samples", low=1)
    cached_lr = check_scalar(cached_lr, "cached_lr", low=0.0, low_inclusive=False)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", low=1)
    log_every = check_int(log_every, "log_every", low=1)
    base = checkpoint_dir_for(_NAME, checkpoint_dir)

    start_torch(threads, seed)
    model = build_fbpconvnet()

    # Monitor: the λ-tuning phantoms (training seeds) at 60 views, noise-free.
    pairs = [ct_phantom(s) for s in TUNE_SEEDS]
    mon_in = torch.tensor(np.stack([fbp_views(simulate_sinogram(f, 60)) for f, _ in pairs])
                          [:, None], dtype=torch.float32)
    mon_x = torch.tensor(np.stack([x for _, x in pairs])[:, None], dtype=torch.float32)

    def monitor(net) -> str:
        mse = ((net(mon_in, 60.0) - mon_x) ** 2).mean(dim=(1, 2, 3))
        return f"monitor PSNR (60 views) {float(torch.mean(10 * torch.log10(1.0 / mse))):.2f} dB"

    def batches(clean_fraction, head):
        def batch_fn(rng, step):
            x_fbp, num_views, x, _ = sample_batch(rng, batch_size, head_fraction=head,
                                                  clean_fraction=clean_fraction)
            return tuple(map(torch.from_numpy, (x_fbp, num_views, x)))
        return batch_fn

    def mse(net, batch):
        return ((net(batch[0], batch[1]) - batch[2]) ** 2).mean()

    def mae(net, batch):
        return (net(batch[0], batch[1]) - batch[2]).abs().mean()

    common = dict(checkpoint_every=checkpoint_every, log_every=log_every, monitor=monitor,
                  name=_NAME, resume=resume, verbose=verbose)
    first = fit(model, steps=steps, seed=seed, lr=lr, warmup=DEFAULTS["warmup"],
                batch_fn=batches(DEFAULTS["clean_fraction"], head_fraction), loss_fn=mse,
                checkpoint_dir=base / "phase1", **common)
    cpu = first.cpu_seconds
    if finetune_steps:
        second = fit(model, steps=finetune_steps, seed=(seed, 1), lr=finetune_lr,
                     warmup=DEFAULTS["warmup"],
                     batch_fn=batches(DEFAULTS["finetune_clean_fraction"],
                                      DEFAULTS["finetune_head_fraction"]),
                     loss_fn=mae, checkpoint_dir=base / "phase2", **common)
        cpu += second.cpu_seconds
    if cached_steps:
        pool = []           # drawn on the first batch, so a finished phase 3 skips it

        def cached_batch(rng, step):
            if not pool:
                pool.extend(cached_set(seed, cached_samples))
            idx = rng.integers(len(pool[0]), size=batch_size)
            return tuple(torch.from_numpy(part[idx]) for part in pool)

        third = fit(model, steps=cached_steps, seed=(seed, 3), lr=cached_lr,
                    warmup=DEFAULTS["warmup"], batch_fn=cached_batch, loss_fn=mae,
                    checkpoint_dir=base / "phase3", **common)
        cpu += third.cpu_seconds
    return save_and_register(
        model, _NAME, out, command=_COMMAND, verbose=verbose,
        arch={k: list(v) for k, v in FBPCONVNET_ARCH.items()},
        steps=steps, seed=seed, batch_size=batch_size, lr=lr, head_fraction=head_fraction,
        finetune_steps=finetune_steps, finetune_lr=finetune_lr,
        finetune_clean_fraction=DEFAULTS["finetune_clean_fraction"],
        finetune_head_fraction=DEFAULTS["finetune_head_fraction"],
        cached_steps=cached_steps, cached_samples=cached_samples, cached_lr=cached_lr,
        cached_views=list(DEFAULTS["cached_views"]),
        threads=threads, train_cpu_seconds=round(cpu))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train fbpconvnet``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"],
                         steps_help="steps of phase 1 (squared error)")
    parser.add_argument("--head-fraction", type=float, default=DEFAULTS["head_fraction"],
                        help="share of head-like phantoms (with a skull) in the batches")
    parser.add_argument("--finetune-steps", type=int, default=DEFAULTS["finetune_steps"],
                        help="steps of phase 2 (absolute error, more noise-free data)")
    parser.add_argument("--finetune-lr", type=float, default=DEFAULTS["finetune_lr"])
    parser.add_argument("--cached-steps", type=int, default=DEFAULTS["cached_steps"],
                        help="steps of phase 3 (on a set of pairs drawn once)")
    parser.add_argument("--cached-samples", type=int, default=DEFAULTS["cached_samples"])
    parser.add_argument("--cached-lr", type=float, default=DEFAULTS["cached_lr"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, head_fraction=args.head_fraction,
                 finetune_steps=args.finetune_steps, finetune_lr=args.finetune_lr,
                 cached_steps=args.cached_steps, cached_samples=args.cached_samples,
                 cached_lr=args.cached_lr, checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
