"""Train the shipped generator: the decoder of a VAE fitted to random-ellipse phantoms (64x64)."""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

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


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    warm = min(1.0, (step + 1) / max(warmup, 1))
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / steps))


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

    from .. import weights
    from .._validate import check_int, check_scalar
    from ..nets.generator import GENERATOR_ARCH, build_encoder, build_generator

    steps = check_int(steps, "steps", low=1)
    threads = check_int(threads, "threads", low=1)
    seed = check_int(seed, "seed", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    kl_weight = check_scalar(kl_weight, "kl_weight", low=0.0)
    pool_size = check_int(pool_size, "pool_size", low=1)
    stop_at = steps if stop_at is None else check_int(stop_at, "stop_at", low=1, high=steps)
    register = out is None
    out = Path(out) if out is not None else weights.WEIGHTS_DIR / f"{_NAME}.pt"
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else (
        Path(tempfile.gettempdir()) / "course_utils_train" / _NAME)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = ckpt_dir / "checkpoint.pt"

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    log = print if verbose else (lambda *a, **k: None)
    t_pool = time.perf_counter()
    pool = phantom_pool(pool_size)
    log(f"{len(pool)} training phantoms in {time.perf_counter() - t_pool:.0f} s", flush=True)
    decoder, encoder = build_generator(), build_encoder()
    params = list(decoder.parameters()) + list(encoder.parameters())
    optimiser = torch.optim.Adam(params, lr=lr)
    start = 0
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        decoder.load_state_dict(ckpt["decoder"])
        encoder.load_state_dict(ckpt["encoder"])
        optimiser.load_state_dict(ckpt["optimiser"])
        start = int(ckpt["step"])
        log(f"resumed from {ckpt_path} at step {start}", flush=True)

    monitor = torch.from_numpy(heldout_phantoms(64).astype(np.float32))[:, None]
    t0 = time.perf_counter()
    rec_avg = kl_avg = None
    for step in range(start, stop_at):
        rng = np.random.default_rng([seed, step])
        x = torch.from_numpy(_batch(pool, rng, batch_size))
        eps = torch.from_numpy(rng.standard_normal((batch_size, decoder.latent_dim),
                                                   dtype=np.float32))
        for group in optimiser.param_groups:
            group["lr"] = _lr_at(step, steps, lr, DEFAULTS["warmup"])
        mu, log_var = encoder(x)
        z = mu + torch.exp(0.5 * log_var) * eps
        rec = ((decoder(z) - x) ** 2).sum(dim=(1, 2, 3)).mean()
        kl = 0.5 * (mu ** 2 + log_var.exp() - 1.0 - log_var).sum(dim=1).mean()
        loss = rec + kl_weight * kl
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 100.0)
        optimiser.step()
        rec_avg = rec.item() if rec_avg is None else 0.95 * rec_avg + 0.05 * rec.item()
        kl_avg = kl.item() if kl_avg is None else 0.95 * kl_avg + 0.05 * kl.item()
        done = step + 1
        if done % log_every == 0 or done == steps:
            with torch.no_grad():
                mse = ((decoder(encoder(monitor)[0]) - monitor) ** 2).mean().item()
            log(f"step {done}/{steps}  rec {rec_avg:.2f}  KL {kl_avg:.1f}  held-out "
                f"auto-encoding PSNR {10 * math.log10(1 / mse):.2f} dB  "
                f"lr {optimiser.param_groups[0]['lr']:.2e}  {time.perf_counter() - t0:.0f} s",
                flush=True)
        if done % checkpoint_every == 0 or done in (steps, stop_at):
            torch.save({"decoder": decoder.state_dict(), "encoder": encoder.state_dict(),
                        "optimiser": optimiser.state_dict(), "step": done}, ckpt_path)
    elapsed = time.perf_counter() - t0
    if stop_at < steps:
        log(f"stopped at step {stop_at}/{steps}; continue with --resume", flush=True)
        return ckpt_path
    state = {k: v.detach().to(torch.float32).contiguous()
             for k, v in decoder.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    if register:
        arch = {k: (list(v) if isinstance(v, tuple) else v) for k, v in GENERATOR_ARCH.items()}
        weights.register(_NAME, out.name, _COMMAND, arch=arch, steps=steps, seed=seed,
                         batch_size=batch_size, kl_weight=kl_weight, pool_size=pool_size,
                         phantoms={k: (list(v) if isinstance(v, tuple) else v)
                                   for k, v in PHANTOM_KWARGS.items()},
                         threads=threads, train_seconds=round(elapsed))
    log(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB, SHA-256 "
        f"{weights.sha256_file(out)}) after {elapsed:.0f} s", flush=True)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train generator``."""
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--out", default=None,
                        help="output file (default: the shipped weights, registry updated)")
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--kl-weight", type=float, default=DEFAULTS["kl_weight"])
    parser.add_argument("--pool-size", type=int, default=DEFAULTS["pool_size"])
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --checkpoint-dir")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="stop after this step of the schedule (resume later)")
    parser.add_argument("--log-every", type=int, default=DEFAULTS["log_every"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, kl_weight=args.kl_weight,
                 pool_size=args.pool_size, checkpoint_dir=args.checkpoint_dir,
                 resume=args.resume, stop_at=args.stop_at, log_every=args.log_every)
