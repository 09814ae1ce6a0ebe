"""Train the unfolded X-ray separation network on synthetic mixtures of the training images."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ._loop import add_common_arguments, check_common_options, fit, save_and_register, start_torch

__all__ = ["DEFAULTS", "training_pool", "initial_filters", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "steps": 2000, "batch_size": 8, "patch_size": 64, "lr": 3e-3, "seed": 0, "threads": 1,
    "pool": 96, "side_weight": 0.2, "warmup": 50, "checkpoint_every": 250, "log_every": 100,
}
_NAME = "xray_unfolded"
_COMMAND = "python -m course_utils.train xray-unfolded"


def training_pool(n: int, seed: int) -> dict:
    """Inputs and targets of ``n`` training mixtures (``xray_separation.training_mixtures``,
    crops of ``TRAIN_IMAGES`` only; the held-out images are never seen): float32 arrays
    ``xh`` (n, 1, M, N), ``rh`` (n, 3, M, N), ``ph`` (n, 1, M, N) and the targets ``t1``,
    ``t2`` (n, 1, M, N), the details of x1 and x2 that the network must recover."""
    from .. import xray_separation as xs

    out = {k: [] for k in ("xh", "rh", "ph", "t1", "t2")}
    for m in xs.training_mixtures(n, seed=seed + 100):
        x, r = m["mixture"], m["visible"]
        x1_low, x2_low = xs._split_lowpass(x, r)
        out["xh"].append(xs.highpass(x)[None])
        out["rh"].append(xs.highpass(np.moveaxis(r, -1, 0)))
        out["ph"].append(xs.highpass(xs._regression(r))[None])
        out["t1"].append((m["x1"] - x1_low)[None])
        out["t2"].append((m["x2"] - x2_low)[None])
    return {k: np.stack(v).astype(np.float32) for k, v in out.items()}


def initial_filters(num_filters: int, filter_size: int) -> dict:
    """The network's first filters: the ``num_filters`` strongest atoms of the shipped
    dictionary (``xray_separation.dictionaries``), their central ``filter_size``² taps."""
    from .. import xray_separation as xs

    d = xs.dictionaries()
    p = d["xray"].shape[-1]
    a = (p - filter_size) // 2
    cut = slice(a, a + filter_size)
    return {"xray": np.ascontiguousarray(d["xray"][:num_filters, cut, cut]),
            "rgb": np.ascontiguousarray(d["rgb"][:num_filters, :, cut, cut])}


def train(*, steps: int = DEFAULTS["steps"], out=None, threads: int = DEFAULTS["threads"],
          seed: int = DEFAULTS["seed"], batch_size: int = DEFAULTS["batch_size"],
          patch_size: int = DEFAULTS["patch_size"], lr: float = DEFAULTS["lr"],
          pool: int = DEFAULTS["pool"], checkpoint_dir=None, resume: bool = False,
          log_every: int = DEFAULTS["log_every"], verbose: bool = True) -> Path:
    r"""Train :class:`course_utils.nets.xray.XrayUnfolded` and save its ``state_dict``;
    return the path written.

    The network starts from the sparse model (:func:`initial_filters` and
    ``xray_separation.DEFAULTS``: untrained, it runs five iterations of ISTA with a
    smaller dictionary). Each step draws ``batch_size`` random ``patch_size``² crops of a pool of
    ``pool`` training mixtures (128², noise ``NOISE_SIGMA``) and minimises with Adam the
    mean squared error of the two layers' details,
    :math:`\|y_1 - x_1^{hp}\|^2 + \|y_2 - x_2^{hp}\|^2`, after the last layer and, with
    weight ``side_weight`` (0.2), after each earlier one, so that every layer is an
    estimate. The batch of step ``k`` depends only on ``(seed, k)``.
    """
    import torch

    from .. import xray_separation as xs
    from .._validate import check_int
    from ..nets.xray import XRAY_ARCH, build_xray_unfolded

    steps = check_int(steps, "steps", low=1)
    threads, seed, batch_size, lr = check_common_options(threads, seed, batch_size, lr)
    patch_size = check_int(patch_size, "patch_size", low=8, high=xs.SIZE)
    pool = check_int(pool, "pool", low=1)
    log = start_torch(threads, seed, verbose)
    data = training_pool(pool, seed)
    log(f"training pool: {pool} mixtures {data['xh'].shape[-2:]}", flush=True)
    model = build_xray_unfolded()
    d = initial_filters(XRAY_ARCH["num_filters"], XRAY_ARCH["filter_size"])
    p = xs.DEFAULTS
    shape = (patch_size, patch_size)
    xi_h = xs._filters_hat(d["xray"], shape)
    om_h = xs._filters_hat(d["rgb"], shape)
    coupled = np.concatenate([np.sqrt(p["tau"]) * xi_h[:, None],
                              np.sqrt(p["gamma"]) * om_h], axis=1)
    model.init_from(d["xray"], d["rgb"], lam=p["lam"], tau=p["tau"], gamma=p["gamma"],
                    mu=p["mu"], lip1=xs._lipschitz(coupled),
                    lip2=p["tau"] * xs._lipschitz(xi_h))
    tensors = {k: torch.from_numpy(v) for k, v in data.items()}
    side = data["xh"].shape[-1]

    def batch_fn(rng, step):
        idx = rng.integers(0, pool, batch_size)
        r0 = rng.integers(0, side - patch_size + 1, batch_size)
        c0 = rng.integers(0, side - patch_size + 1, batch_size)
        return {k: torch.stack([v[i, :, a:a + patch_size, b:b + patch_size]
                                for i, a, b in zip(idx, r0, c0)])
                for k, v in tensors.items()}

    weights = [DEFAULTS["side_weight"]] * (model.num_layers - 1) + [1.0]

    def loss_fn(net, batch):
        total = 0.0
        for w, (y1, y2) in zip(weights, net(batch["xh"], batch["rh"], batch["ph"])):
            total = total + w * (((y1 - batch["t1"]) ** 2).mean()
                                 + ((y2 - batch["t2"]) ** 2).mean())
        return total / sum(weights)

    mon = {k: v[:8] for k, v in tensors.items()}

    def monitor(net):
        y1, y2 = net(mon["xh"], mon["rh"], mon["ph"])[-1]
        mse = 0.5 * (((y1 - mon["t1"]) ** 2).mean() + ((y2 - mon["t2"]) ** 2).mean())
        return f"monitor detail PSNR {10 * math.log10(1 / mse.item()):.2f} dB"

    result = fit(model, steps=steps, seed=seed, lr=lr, batch_fn=batch_fn, loss_fn=loss_fn,
                 warmup=DEFAULTS["warmup"], name=_NAME, checkpoint_dir=checkpoint_dir,
                 resume=resume, checkpoint_every=DEFAULTS["checkpoint_every"],
                 log_every=log_every, monitor=monitor, verbose=verbose)
    parameters = sum(t.numel() for t in model.parameters())
    return save_and_register(model, _NAME, out, command=_COMMAND, verbose=verbose,
                             arch=dict(XRAY_ARCH), parameters=parameters, steps=steps,
                             seed=seed, batch_size=batch_size, patch_size=patch_size,
                             pool=pool, side_weight=DEFAULTS["side_weight"], lr=lr,
                             threads=threads,
                             train_cpu_seconds=round(result.cpu_seconds))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train xray-unfolded``."""
    add_common_arguments(parser, DEFAULTS, steps=DEFAULTS["steps"])
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])
    parser.add_argument("--pool", type=int, default=DEFAULTS["pool"])


def main(args: argparse.Namespace) -> Path:
    """Run :func:`train` with parsed command-line options."""
    return train(steps=args.steps, out=args.out, threads=args.threads, seed=args.seed,
                 batch_size=args.batch_size, patch_size=args.patch_size, lr=args.lr,
                 pool=args.pool, checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                 log_every=args.log_every)
