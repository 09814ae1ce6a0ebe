"""Train the shipped FBPConvNet on sparse-view FBPs of random-ellipse phantoms."""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["DEFAULTS", "sample_batch", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 3000, "batch_size": 16, "lr": 1e-3, "seed": 0, "threads": 1,
    "clean_fraction": 0.5, "dose_range": (10 ** 3.5, 1e6), "ellipse_range": (4, 12),
    "head_fraction": 0.5,
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


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to zero."""
    warm = min(1.0, (step + 1) / max(warmup, 1))
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / steps))


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], head_fraction: float = DEFAULTS["head_fraction"],
          checkpoint_dir=None, resume: bool = False,
          checkpoint_every: int = DEFAULTS["checkpoint_every"],
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train the FBPConvNet and save its ``state_dict``; return the path written.

    Each step draws ``batch_size`` (FBP, phantom) pairs (:func:`sample_batch`) and
    minimises the mean squared error :math:`\|\hat x_\theta(x_{FBP}, K) − x\|^2` with Adam
    (linear warm-up, cosine decay), as Jin et al. (2017) do. The batch of step ``k``
    depends only on ``(seed, k)``, so a run resumed from a checkpoint sees the same data
    as an uninterrupted one.

    Parameters
    ----------
    steps : int
        Number of optimisation steps.
    out : str or Path, optional
        Output file. By default the shipped ``course_utils/weights/fbpconvnet.pt``, whose
        registry entry (SHA-256) is then updated.
    threads : int
        ``torch.set_num_threads``.
    seed : int
        Seed of the initialisation and of the batches.
    head_fraction : float
        Share of head-like phantoms in the batches (:func:`sample_batch`).
    checkpoint_dir : str or Path, optional
        Where checkpoints go (default: ``<tmp>/course_utils_train/fbpconvnet``).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one.
    """
    import torch

    from .. import weights
    from .._validate import check_int, check_scalar
    from ..ct_learned import TUNE_SEEDS
    from ..nets.fbpconvnet import FBPCONVNET_ARCH, build_fbpconvnet

    steps = check_int(steps, "steps", low=1)
    threads = check_int(threads, "threads", low=1)
    seed = check_int(seed, "seed", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    head_fraction = check_scalar(head_fraction, "head_fraction", low=0.0, high=1.0)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", low=1)
    log_every = check_int(log_every, "log_every", low=1)
    register = out is None
    out = Path(out) if out is not None else weights.WEIGHTS_DIR / f"{_NAME}.pt"
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else (
        Path(tempfile.gettempdir()) / "course_utils_train" / _NAME)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = ckpt_dir / "checkpoint.pt"

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    log = print if verbose else (lambda *a, **k: None)
    model = build_fbpconvnet()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    start, cpu_before = 0, 0.0
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimiser.load_state_dict(ckpt["optimiser"])
        start = int(ckpt["step"])
        cpu_before = float(ckpt.get("cpu_seconds", 0.0))
        log(f"resumed from {ckpt_path} at step {start}", flush=True)

    # Monitor: the λ-tuning phantoms (training seeds) at 60 views, noise-free.
    from ..ct_learned import ct_phantom, fbp_views, simulate_sinogram
    pairs = [ct_phantom(s) for s in TUNE_SEEDS]
    mon_in = torch.tensor(np.stack([fbp_views(simulate_sinogram(f, 60)) for f, _ in pairs])
                          [:, None], dtype=torch.float32)
    mon_x = torch.tensor(np.stack([x for _, x in pairs])[:, None], dtype=torch.float32)

    t0, cpu0, loss_avg = time.perf_counter(), time.process_time(), None
    model.train()
    for step in range(start, steps):
        rng = np.random.default_rng([seed, step])
        x_fbp, num_views, x, _ = sample_batch(rng, batch_size, head_fraction=head_fraction)
        x_fbp, num_views, x = map(torch.from_numpy, (x_fbp, num_views, x))
        for group in optimiser.param_groups:
            group["lr"] = _lr_at(step, steps, lr, DEFAULTS["warmup"])
        loss = ((model(x_fbp, num_views) - x) ** 2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        done = step + 1
        cpu = cpu_before + time.process_time() - cpu0
        if done % log_every == 0 or done == steps:
            with torch.no_grad():
                model.eval()
                mse = ((model(mon_in, 60.0) - mon_x) ** 2).mean(dim=(1, 2, 3))
                model.train()
            mon = float(torch.mean(10 * torch.log10(1.0 / mse)))
            log(f"step {done}/{steps}  loss PSNR {10 * math.log10(1 / loss_avg):.2f} dB  "
                f"monitor PSNR (60 views) {mon:.2f} dB  "
                f"lr {optimiser.param_groups[0]['lr']:.2e}  "
                f"{time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU", flush=True)
        if done % checkpoint_every == 0 or done == steps:
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                        "step": done, "cpu_seconds": cpu}, ckpt_path)
    cpu = cpu_before + time.process_time() - cpu0
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    if register:
        weights.register(_NAME, out.name, _COMMAND,
                         arch={k: list(v) for k, v in FBPCONVNET_ARCH.items()},
                         steps=steps, seed=seed, batch_size=batch_size, lr=lr,
                         head_fraction=head_fraction,
                         threads=threads, train_cpu_seconds=round(cpu))
    log(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB, SHA-256 "
        f"{weights.sha256_file(out)}) after {cpu:.0f} s of CPU time", flush=True)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train fbpconvnet``."""
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--out", default=None,
                        help="output file (default: the shipped weights, registry updated)")
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--head-fraction", type=float, default=DEFAULTS["head_fraction"],
                        help="share of head-like phantoms (with a skull) in the batches")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --checkpoint-dir")
    parser.add_argument("--log-every", type=int, default=DEFAULTS["log_every"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, head_fraction=args.head_fraction,
                 checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
