"""Train the shipped LISTA networks (T = 4, 8, 16 layers) on notebook 04's sparse-coding problem."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

__all__ = ["DEFAULTS", "training_data", "train_lista", "train", "add_arguments", "main"]

DEFAULTS: dict = {
    "layers": (4, 8, 16), "samples": 20000, "iterations": 4000, "batch_size": 128,
    "lr": 2e-3, "seed": 0, "threads": 1, "tol": 1e-8, "per_atom": False,
}
_COMMAND = "python -m course_utils.train lista"


def training_data(split: str, num_samples: int, *, tol: float = DEFAULTS["tol"]):
    """Signals of one split of :func:`course_utils.unrolled.lista_problem` and their
    LASSO solutions ``z*`` (the targets), as float64 arrays ``(y, z_star)``."""
    from ..unrolled import LISTA_SETTINGS, lasso_solution, lista_problem

    problem = lista_problem(split, num_samples)
    return problem.y, lasso_solution(problem.D, problem.y, LISTA_SETTINGS["lam"], tol=tol)


def train_lista(num_layers: int, y, z_star, *, iterations: int = DEFAULTS["iterations"],
                batch_size: int = DEFAULTS["batch_size"], lr: float = DEFAULTS["lr"],
                seed: int = DEFAULTS["seed"], per_atom: bool = DEFAULTS["per_atom"],
                validation=None, log_every: int | None = None, verbose: bool = True):
    r"""Train one LISTA, initialised as ISTA, to map signals to their LASSO solutions.

    Minimises the mean of :math:`\|f_\Theta(y) - z^*(y)\|_2^2` over mini-batches with Adam
    (one-cycle learning rate: a short warm-up, then cosine decay), as Gregor & LeCun do.
    The mini-batch of iteration ``i`` depends only on ``(seed, i)``.

    Parameters
    ----------
    num_layers : int
        ``T``.
    y, z_star : ndarray of shape (num_samples, m) and (num_samples, n)
        Training signals and their LASSO solutions.
    iterations, batch_size, lr, seed
        Optimisation settings.
    per_atom : bool
        One threshold per atom and layer instead of one per layer.
    validation : tuple of ndarray, optional
        ``(y, z_star)`` whose NMSE is logged.

    Returns
    -------
    LISTA
        The trained network (float32, evaluation mode).
    """
    import torch

    from ..nets.unrolled import LISTA
    from ..operators.sparse_coding import gaussian_dictionary
    from ..unrolled import LISTA_SETTINGS

    s = LISTA_SETTINGS
    torch.manual_seed(seed)
    D = gaussian_dictionary(s["m"], s["n"], s["dictionary_seed"])
    net = LISTA.from_dictionary(D, s["lam"], num_layers, per_atom=per_atom)
    y_t = torch.from_numpy(np.asarray(y, dtype=np.float32))
    z_t = torch.from_numpy(np.asarray(z_star, dtype=np.float32))
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=iterations,
                                                   pct_start=0.05)
    log = print if verbose else (lambda *a, **k: None)
    log_every = log_every or max(iterations // 4, 1)
    generator = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for it in range(iterations):
        idx = torch.randint(0, y_t.shape[0], (batch_size,), generator=generator)
        loss = ((net(y_t[idx]) - z_t[idx]) ** 2).sum(dim=1).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if validation is not None and ((it + 1) % log_every == 0 or it + 1 == iterations):
            log(f"T={num_layers} iteration {it + 1}/{iterations}  validation NMSE "
                f"{_nmse_db(net, *validation):.2f} dB  {time.perf_counter() - t0:.0f} s",
                flush=True)
    return net.eval()


def _nmse_db(net, y, z_star) -> float:
    import torch

    from ..unrolled import nmse

    with torch.no_grad():
        z = net(torch.from_numpy(np.asarray(y, dtype=np.float32))).double().numpy()
    return 10.0 * math.log10(nmse(z, z_star))


def train(*, layers=DEFAULTS["layers"], out_dir=None, samples: int = DEFAULTS["samples"],
          iterations: int = DEFAULTS["iterations"], batch_size: int = DEFAULTS["batch_size"],
          lr: float = DEFAULTS["lr"], seed: int = DEFAULTS["seed"],
          threads: int = DEFAULTS["threads"], per_atom: bool = DEFAULTS["per_atom"],
          validation_samples: int = 500, verbose: bool = True) -> list[Path]:
    """Train a LISTA for every ``T`` in ``layers`` and save each ``state_dict``.

    Parameters
    ----------
    layers : iterable of int
        Numbers of layers; one network each, saved as ``lista_t{T}.pt``.
    out_dir : str or Path, optional
        Output folder. By default the shipped weights folder, whose registry entries
        (``lista_t{T}``, with SHA-256, architecture and validation NMSE) are updated.
    samples : int
        Training signals (their LASSO solutions are computed first, by FISTA).
    iterations, batch_size, lr, seed, per_atom
        See :func:`train_lista`.
    threads : int
        ``torch.set_num_threads`` (small products: one thread is fastest).
    validation_samples : int
        Signals of the validation split whose error is logged and registered.

    Returns
    -------
    list of Path
        The files written.
    """
    import torch

    from .. import weights
    from .._validate import check_int, check_scalar
    from ..nets.unrolled import lista_weights_name
    from ..unrolled import LISTA_SETTINGS

    layers = [check_int(t, "layers", low=1, high=256) for t in layers]
    samples = check_int(samples, "samples", low=1)
    iterations = check_int(iterations, "iterations", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    torch.set_num_threads(check_int(threads, "threads", low=1))
    register = out_dir is None
    out_dir = weights.WEIGHTS_DIR if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = print if verbose else (lambda *a, **k: None)
    t0 = time.perf_counter()
    y, z_star = training_data("train", samples)
    validation_samples = check_int(validation_samples, "validation_samples", low=1)
    validation = training_data("validation", validation_samples)
    log(f"LASSO targets of {samples} + {validation_samples} signals in "
        f"{time.perf_counter() - t0:.0f} s", flush=True)
    written = []
    for num_layers in layers:
        cpu0 = time.process_time()
        net = train_lista(num_layers, y, z_star, iterations=iterations, batch_size=batch_size,
                          lr=lr, seed=seed, per_atom=per_atom, validation=validation,
                          verbose=verbose)
        cpu_seconds = time.process_time() - cpu0
        name = lista_weights_name(num_layers)
        path = out_dir / f"{name}.pt"
        torch.save({k: v.detach().contiguous() for k, v in net.state_dict().items()}, path)
        if register:
            weights.register(name, path.name, _COMMAND, arch=net.arch(),
                             problem=dict(LISTA_SETTINGS), samples=samples,
                             iterations=iterations, batch_size=batch_size, lr=lr, seed=seed,
                             threads=threads, train_cpu_seconds=round(cpu_seconds),
                             validation_nmse_db=round(_nmse_db(net, *validation), 2))
        log(f"saved {path} after {cpu_seconds:.0f} CPU s; validation NMSE "
            f"{_nmse_db(net, *validation):.2f} dB; SHA-256 {weights.sha256_file(path)}",
            flush=True)
        written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of ``python -m course_utils.train lista``."""
    parser.add_argument("--layers", type=int, nargs="+", default=list(DEFAULTS["layers"]),
                        help="numbers of layers T, one network each (default: 4 8 16)")
    parser.add_argument("--out-dir", default=None,
                        help="output folder (default: the shipped weights, registry updated)")
    parser.add_argument("--samples", type=int, default=DEFAULTS["samples"])
    parser.add_argument("--iterations", type=int, default=DEFAULTS["iterations"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--per-atom", action="store_true",
                        help="one threshold per atom and layer")


def main(args: argparse.Namespace) -> list[Path]:
    """Run :func:`train` with parsed command-line options."""
    return train(layers=args.layers, out_dir=args.out_dir, samples=args.samples,
                 iterations=args.iterations, batch_size=args.batch_size, lr=args.lr,
                 seed=args.seed, threads=args.threads, per_atom=args.per_atom)
