"""The training loop shared by the training commands: seeded batches, checkpoints, resume.

Every shipped network is trained the same way: the batch of step ``k`` is drawn from
``numpy.random.default_rng([seed, k])`` (so a run resumed from a checkpoint sees exactly
the data of an uninterrupted one), Adam with a warm-up and cosine schedule, gradient
clipping, a checkpoint every few steps, a one-line log with a monitor value, then the
``state_dict`` saved in float32 and, for the shipped file, registered with its SHA-256.
A trainer only supplies the model, how to draw a batch and the loss.
"""
from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["add_common_arguments", "check_common_options", "start_torch", "lr_at", "checkpoint_dir_for", "output_path", "TrainResult", "fit",
           "save_state", "save_and_register"]



def add_common_arguments(parser, defaults: dict, *, steps=None, steps_help: str | None = None,
                         resume_help: str = "continue from the checkpoints in --checkpoint-dir"
                         ) -> None:
    """The options every training command shares: ``--steps``, ``--out``, ``--threads``,
    ``--seed``, ``--batch-size``, ``--lr``, ``--checkpoint-dir``, ``--resume`` and
    ``--log-every``, with defaults from the trainer's ``defaults`` dict (keys ``threads``,
    ``seed``, ``batch_size``, ``lr``, ``log_every``) and ``steps``.
    """
    parser.add_argument("--steps", type=int, default=steps, help=steps_help)
    parser.add_argument("--out", default=None,
                        help="output file (default: the shipped weights, registry updated)")
    parser.add_argument("--threads", type=int, default=defaults["threads"])
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    parser.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--resume", action="store_true", help=resume_help)
    parser.add_argument("--log-every", type=int, default=defaults["log_every"])


def check_common_options(threads, seed, batch_size, lr) -> tuple[int, int, int, float]:
    """Validate the options every trainer shares; return ``(threads, seed, batch_size, lr)``."""
    from .._validate import check_int, check_scalar

    return (check_int(threads, "threads", low=1), check_int(seed, "seed", low=0),
            check_int(batch_size, "batch_size", low=1),
            check_scalar(lr, "lr", low=0.0, low_inclusive=False))


def start_torch(threads: int, seed: int, verbose: bool = True) -> Callable:
    """Set torch's thread count and seed for a training run; return its log function
    (``print``, or a no-op when not ``verbose``)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return print if verbose else (lambda *a, **k: None)

def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Learning rate at ``step``: linear warm-up over ``warmup`` steps, then cosine decay
    from ``lr`` to zero at ``steps``."""
    warm = min(1.0, (step + 1) / max(warmup, 1))
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / steps))


def checkpoint_dir_for(name: str, checkpoint_dir=None) -> Path:
    """``checkpoint_dir`` (created), or ``<tmp>/course_utils_train/<name>`` by default."""
    path = Path(checkpoint_dir) if checkpoint_dir is not None else (
        Path(tempfile.gettempdir()) / "course_utils_train" / name)
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_path(name: str, out=None) -> tuple[Path, bool]:
    """Where to save the weights ``name`` and whether the registry must be updated.

    ``out=None`` means the shipped file ``course_utils/weights/<name>.pt``, registered;
    any other path is written as is and left out of the registry.
    """
    from .. import weights

    if out is None:
        return weights.WEIGHTS_DIR / f"{name}.pt", True
    return Path(out), False


@dataclass
class TrainResult:
    """What :func:`fit` did: the steps run in this call, wall and CPU seconds (CPU
    seconds accumulate over resumed runs), and the last smoothed loss."""

    start: int
    steps: int
    wall_seconds: float
    cpu_seconds: float
    loss: float | None


def fit(model, *, steps: int, seed: int, lr: float, batch_fn: Callable[[np.random.Generator, int], Any],
        loss_fn: Callable[[Any, Any], Any], warmup: int = 50, clip: float | None = 1.0,
        lr_fn: Callable[[int], float] | None = None, params=None,
        checkpoint_dir=None, name: str = "model", resume: bool = False,
        checkpoint_every: int = 100, log_every: int = 50,
        monitor: Callable[[Any], str] | None = None, stop_at: int | None = None,
        on_step: Callable[[Any, int], None] | None = None,
        verbose: bool = True) -> TrainResult:
    """Optimise ``model`` with Adam for ``steps`` seeded steps.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (several networks: wrap them in a ``torch.nn.ModuleDict``).
    steps : int
        Total number of steps (the learning-rate schedule spans them).
    seed : int or tuple of int
        Step ``k`` draws its batch with ``numpy.random.default_rng([seed, k])`` (with a
        tuple ``(s1, s2)``: ``default_rng([s1, s2, k])``, e.g. one stream per network of
        a family).
    lr : float
        Peak learning rate.
    batch_fn : callable ``(rng, step) -> batch``
        Draws one batch (any object ``loss_fn`` understands).
    loss_fn : callable ``(model, batch) -> scalar tensor``
        The loss to minimise.
    warmup : int
        Warm-up steps of the default schedule :func:`lr_at`.
    clip : float or None
        Gradient-norm clipping threshold (``None``: no clipping).
    lr_fn : callable ``step -> float``, optional
        A schedule replacing :func:`lr_at`.
    params : iterable of tensors, optional
        The parameters to optimise (default: all of ``model``).
    checkpoint_dir, name, resume, checkpoint_every
        Checkpoints (model, optimiser, step, CPU seconds) go to
        ``checkpoint_dir_for(name, checkpoint_dir) / "checkpoint.pt"``; with ``resume``
        the loop continues from there.
    log_every : int
        Log one line every ``log_every`` steps.
    monitor : callable ``model -> str``, optional
        Called (under ``torch.no_grad``, model in eval mode) at each log line, e.g. a
        held-out PSNR.
    stop_at : int, optional
        Stop after this step (checkpointed) without finishing the schedule, to continue
        later with ``resume``.
    on_step : callable ``(model, step) -> None``, optional
        Called after each optimiser step (e.g. to update an exponential moving average of
        the weights kept inside ``model``, so that checkpoints carry it).
    """
    import torch

    from .._validate import check_int, check_scalar

    steps = check_int(steps, "steps", low=1)
    seeds = [check_int(s, "seed", low=0) for s in (seed if isinstance(seed, (tuple, list))
                                                    else (seed,))]
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", low=1)
    log_every = check_int(log_every, "log_every", low=1)
    stop_at = steps if stop_at is None else min(check_int(stop_at, "stop_at", low=1), steps)
    log = print if verbose else (lambda *a, **k: None)
    params = list(model.parameters()) if params is None else list(params)
    optimiser = torch.optim.Adam(params, lr=lr)
    ckpt_path = checkpoint_dir_for(name, checkpoint_dir) / "checkpoint.pt"
    start, cpu_before = 0, 0.0
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimiser.load_state_dict(ckpt["optimiser"])
        start = int(ckpt["step"])
        cpu_before = float(ckpt.get("cpu_seconds", 0.0))
        log(f"resumed from {ckpt_path} at step {start}", flush=True)
    schedule = lr_fn if lr_fn is not None else (lambda k: lr_at(k, steps, lr, warmup))

    t0, cpu0, loss_avg = time.perf_counter(), time.process_time(), None
    model.train()
    for step in range(start, stop_at):
        batch = batch_fn(np.random.default_rng([*seeds, step]), step)
        for group in optimiser.param_groups:
            group["lr"] = schedule(step)
        loss = loss_fn(model, batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimiser.step()
        if on_step is not None:
            with torch.no_grad():
                on_step(model, step)
        value = float(loss.item())
        loss_avg = value if loss_avg is None else 0.95 * loss_avg + 0.05 * value
        done = step + 1
        cpu = cpu_before + time.process_time() - cpu0
        if done % log_every == 0 or done == stop_at:
            extra = ""
            if monitor is not None:
                model.eval()
                with torch.no_grad():
                    extra = "  " + monitor(model)
                model.train()
            log(f"step {done}/{steps}  loss {loss_avg:.4g}{extra}  "
                f"lr {optimiser.param_groups[0]['lr']:.2e}  "
                f"{time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU", flush=True)
        if done % checkpoint_every == 0 or done == stop_at:
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                        "step": done, "cpu_seconds": cpu}, ckpt_path)
    model.eval()
    if stop_at < steps:
        log(f"stopped at step {stop_at}/{steps}; continue with --resume", flush=True)
    return TrainResult(start=start, steps=stop_at,
                       wall_seconds=time.perf_counter() - t0,
                       cpu_seconds=cpu_before + time.process_time() - cpu0,
                       loss=loss_avg)


def save_state(model_or_state, out) -> Path:
    """Save a ``state_dict`` (float32, contiguous, detached) to ``out``; return the path."""
    import torch

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") \
        else model_or_state
    state = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point()
             else v.detach().contiguous() for k, v in state.items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    return out


def save_and_register(model_or_state, name: str, out=None, *, command: str | None = None,
                      verbose: bool = True, **meta) -> Path:
    """Save the weights ``name`` (see :func:`output_path`) and, for the shipped file,
    record its SHA-256, training command and ``meta`` in the registry."""
    from .. import weights

    path, register = output_path(name, out)
    save_state(model_or_state, path)
    if register:
        weights.register(name, path.name, command or f"python -m course_utils.train {name}",
                         **meta)
    if verbose:
        print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB, SHA-256 "
              f"{weights.sha256_file(path)})", flush=True)
    return path
