"""Generative prior: x̂ = G(ẑ) with ẑ = argmin_z ‖y − A G(z)‖² + lam ‖z‖² (Bora et al. 2017)."""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import torch

from ._validate import as_array, as_image, check_int, check_scalar
from .metrics import psnr as _psnr
from .operators.base import LinearOperator
from .operators.basic import Blur, Downsample, Identity, Inpainting

__all__ = ["TorchOperator", "torch_operator", "LatentResult", "reconstruct_latent",
           "sample_generator", "measurement_sweep"]


class _NumpyLinear(torch.autograd.Function):
    """``A x`` through numpy, with ``Aᵀ g`` as its backward: any course operator."""

    @staticmethod
    def forward(ctx, x, op):
        ctx.op = op
        batch = x.detach().cpu().double().numpy()
        out = np.stack([np.asarray(op(b)) for b in batch])
        return torch.from_numpy(out).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        op = ctx.op
        g = grad.detach().cpu().double().numpy()
        out = np.stack([np.asarray(op.adjoint(b)) for b in g])
        return torch.from_numpy(out).to(grad.dtype), None


class TorchOperator:
    """A course operator applied to torch tensors of shape (B, M, N), differentiably.

    Parameters
    ----------
    A : LinearOperator
        Real operator on images of shape (M, N).

    Attributes
    ----------
    kind : str
        ``"matrix"`` (a dense matrix, e.g. ``GaussianSensing``), ``"fft"`` (circular
        blur), ``"mask"``, ``"downsample"``, ``"identity"``, or ``"numpy"`` (any other
        operator: forward and adjoint run in numpy, float64, and the adjoint is the
        backward pass, since the Jacobian of ``x ↦ Ax`` is ``A``).

    Notes
    -----
    ``T(x)[b] = A x[b]`` for each image of the batch; outputs have shape
    ``(B, *A.out_shape)``. Autograd then gives ``∇_z ‖y − A G(z)‖² =
    −2 J_G(z)ᵀ Aᵀ(y − A G(z))``.
    """

    def __init__(self, A):
        if not isinstance(A, LinearOperator):
            raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
        if len(A.in_shape) != 2:
            raise ValueError(f"A must act on images of shape (M, N), got in_shape {A.in_shape}")
        if "complex" in (A.in_kind, A.out_kind):
            raise ValueError("A must be a real operator (complex operators are not supported)")
        self.A = A
        self.in_shape, self.out_shape = tuple(A.in_shape), tuple(A.out_shape)
        matrix = getattr(A, "matrix", None)
        if isinstance(A, Identity):
            self.kind = "identity"
        elif isinstance(A, Blur):
            self.kind = "fft"
            self._eig = torch.from_numpy(np.asarray(A.eigenvalues, dtype=np.complex64))
        elif isinstance(A, Inpainting):
            self.kind = "mask"
            self._mask = torch.from_numpy(A.mask.astype(np.float32))
        elif isinstance(A, Downsample):
            self.kind = "downsample"
        elif isinstance(matrix, np.ndarray) and matrix.shape == (
                int(np.prod(self.out_shape)), int(np.prod(self.in_shape))):
            self.kind = "matrix"
            self._matrix_t = torch.from_numpy(np.ascontiguousarray(matrix.T, dtype=np.float32))
        else:
            self.kind = "numpy"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``A x`` for ``x`` of shape (B, M, N) (or (M, N))."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        single = x.ndim == 2
        if single:
            x = x.unsqueeze(0)
        if x.ndim != 3 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"x must have shape (B, {self.in_shape[0]}, {self.in_shape[1]}), "
                             f"got {tuple(x.shape)}")
        if self.kind == "identity":
            out = x
        elif self.kind == "fft":
            out = torch.fft.ifft2(self._eig.to(x.device) * torch.fft.fft2(x)).real.to(x.dtype)
        elif self.kind == "mask":
            out = x * self._mask.to(x.device, x.dtype)
        elif self.kind == "downsample":
            s = self.A.factor
            if self.A.mode == "decimate":
                out = x[:, ::s, ::s]
            else:
                out = torch.nn.functional.avg_pool2d(x.unsqueeze(1), s).squeeze(1)
        elif self.kind == "matrix":
            flat = x.reshape(x.shape[0], -1) @ self._matrix_t.to(x.device, x.dtype)
            out = flat.reshape(x.shape[0], *self.out_shape)
        else:
            out = _NumpyLinear.apply(x, self.A)
        return out[0] if single else out


def torch_operator(A) -> TorchOperator:
    """:class:`TorchOperator` of ``A`` (returned unchanged if it already is one)."""
    return A if isinstance(A, TorchOperator) else TorchOperator(A)


class LatentResult(NamedTuple):
    """What :func:`reconstruct_latent` returns."""

    #: ``G(ẑ)``, shape (M, N)
    x_hat: np.ndarray
    #: the best latent code, shape (d,)
    z: np.ndarray
    #: per-iteration records of the best restart: ``"loss"`` (the objective),
    #: ``"data"`` (``‖y − A G(z)‖²``) and ``"psnr"`` when ``x_true`` is given
    history: dict
    #: final objective of every restart, shape (restarts,)
    restart_losses: np.ndarray
    #: wall-clock seconds
    seconds: float


def _check_generator(G):
    if not isinstance(G, torch.nn.Module):
        raise TypeError(f"G must be a torch.nn.Module, got {type(G).__name__}")
    dim = getattr(G, "latent_dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise TypeError("G must have an integer attribute latent_dim >= 1")
    return dim


def reconstruct_latent(y, A, G, num_iters: int = 300, lr: float = 0.05, restarts: int = 4,
                       seed: int = 0, *, lam: float = 1e-3, x_true=None) -> LatentResult:
    """Reconstruct with a generative prior: ``min_z ‖y − A G(z)‖² + lam ‖z‖²``.

    Parameters
    ----------
    y : ndarray of shape ``A.out_shape``
        Measurements.
    A : LinearOperator or TorchOperator
        Real forward operator on images of the generator's shape (M, N); applied
        through torch (see :class:`TorchOperator`).
    G : torch.nn.Module
        Generator mapping ``z`` of shape (B, d) to images (B, 1, M, N) (or (B, M, N)),
        with an attribute ``latent_dim = d``; e.g.
        :func:`course_utils.nets.generator.load_generator`.
    num_iters : int
        Adam iterations per restart.
    lr : float
        Adam learning rate (> 0).
    restarts : int
        Number of random starts ``z_0 ~ N(0, I)``, optimised together as one batch; the
        one with the lowest final objective is returned.
    seed : int
        Seed of the starting codes.
    lam : float
        Weight of ``‖z‖²`` (>= 0): keeps ``z`` where the generator was trained
        (``z ~ N(0, I)``).
    x_true : ndarray of shape (M, N), optional
        Ground truth: adds ``"psnr"`` to the history.

    Returns
    -------
    LatentResult
        ``(x_hat, z, history, restart_losses, seconds)``.

    Notes
    -----
    The estimate lies in the range of ``G``, a ``d``-dimensional set: ``m ≈ O(d log)``
    random measurements suffice when the truth lies in (or near) that range, far fewer
    than the ``n = MN`` pixels (Bora et al. 2017). The objective is non-convex in ``z``,
    hence the restarts. An image outside the range cannot be recovered however many
    measurements are taken: the error is at least ``min_z ‖x − G(z)‖``.

    References
    ----------
    A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
    models", ICML 2017.
    """
    dim = _check_generator(G)
    op = torch_operator(A)
    y = as_array(y, "y", shape=op.out_shape, allow_complex=False, dtype=np.float64)
    num_iters = check_int(num_iters, "num_iters", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    restarts = check_int(restarts, "restarts", low=1)
    seed = check_int(seed, "seed", low=0)
    lam = check_scalar(lam, "lam", low=0.0)
    if x_true is not None:
        x_true = as_array(x_true, "x_true", shape=op.in_shape, allow_complex=False)

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a handful of 64 x 64 images: one thread is fastest
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(restarts, dim, generator=gen).requires_grad_(True)
    y_t = torch.from_numpy(y.astype(np.float32)).unsqueeze(0)
    was_training = G.training
    G.eval()
    grads = [p.requires_grad for p in G.parameters()]
    for p in G.parameters():
        p.requires_grad_(False)
    optimiser = torch.optim.Adam([z], lr=lr)
    axes = tuple(range(1, 1 + len(op.out_shape)))
    losses_all, data_all, psnr_all = [], [], []

    def images(z_):
        out = G(z_)
        if out.ndim == 4:
            out = out[:, 0]
        if tuple(out.shape[1:]) != op.in_shape:
            raise ValueError(f"G produces images of shape {tuple(out.shape[1:])} but A "
                             f"expects {op.in_shape}")
        return out

    try:
        for _ in range(num_iters):
            optimiser.zero_grad(set_to_none=True)
            x = images(z)
            data = ((op(x) - y_t) ** 2).sum(dim=axes)
            loss = data + lam * (z ** 2).sum(dim=1)
            loss.sum().backward()
            optimiser.step()
            losses_all.append(loss.detach().numpy().copy())
            data_all.append(data.detach().numpy().copy())
            if x_true is not None:
                xs = x.detach().double().numpy()
                psnr_all.append([_psnr(x_true, xi) for xi in xs])
        with torch.no_grad():
            x = images(z)
            data = ((op(x) - y_t) ** 2).sum(dim=axes)
            final = (data + lam * (z ** 2).sum(dim=1)).numpy()
    finally:
        for p, g in zip(G.parameters(), grads):
            p.requires_grad_(g)
        G.train(was_training)
        torch.set_num_threads(threads)
    best = int(np.argmin(final))
    history = {"loss": [float(v[best]) for v in losses_all],
               "data": [float(v[best]) for v in data_all]}
    if x_true is not None:
        history["psnr"] = [float(v[best]) for v in psnr_all]
    x_hat = x[best].double().numpy()
    return LatentResult(x_hat, z[best].detach().double().numpy(), history,
                        final.astype(np.float64), time.perf_counter() - t0)


def sample_generator(G, num_images: int = 8, seed: int = 0) -> np.ndarray:
    """Images ``G(z)`` for ``z ~ N(0, I)``: a look at the prior.

    Parameters
    ----------
    G : torch.nn.Module
        Generator with ``latent_dim``.
    num_images : int
        How many samples.
    seed : int
        Seed of the codes.

    Returns
    -------
    ndarray of shape (num_images, M, N)
    """
    dim = _check_generator(G)
    num_images = check_int(num_images, "num_images", low=1)
    seed = check_int(seed, "seed", low=0)
    z = torch.randn(num_images, dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        out = G(z)
    if out.ndim == 4:
        out = out[:, 0]
    return out.double().numpy()


def measurement_sweep(x, G, num_measurements=(50, 100, 200, 500, 1000), *,
                      sigma_n: float = 0.01, seed: int = 0, tv_lam: float = 0.01,
                      tv_iters: int = 200, num_iters: int = 300, restarts: int = 4,
                      lr: float = 0.05, lam: float = 1e-3) -> dict:
    """PSNR of least squares, TV and the generative prior against the number of Gaussian
    measurements of ``x``.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Ground truth in [0, 1], of the generator's shape.
    G : torch.nn.Module
        Generator.
    num_measurements : sequence of int
        Values of ``m``.
    sigma_n : float
        Noise on each measurement.
    seed : int
        Seed of the sensing matrices, the noise and the starting codes.
    tv_lam, tv_iters : float, int
        Weight and PDHG iterations of ``½‖Φx − y‖² + tv_lam TV(x)``.
    num_iters, restarts, lr, lam
        Passed to :func:`reconstruct_latent`.

    Returns
    -------
    dict
        ``{"columns": ["m", "m/n", "LS PSNR", "TV PSNR", "generator PSNR",
        "generator s"], "rows": [...]}``; least squares is the minimum-norm solution
        ``Φ⁺y``.
    """
    from .data import add_noise
    from .operators.sensing import GaussianSensing
    from .solvers import tv_reconstruct

    x = as_image(x, "x", value_range=(0.0, 1.0))
    if isinstance(num_measurements, (int, np.integer)):
        num_measurements = (num_measurements,)
    ms = [check_int(m, "num_measurements", low=1) for m in num_measurements]
    if not ms:
        raise ValueError("num_measurements must not be empty")
    sigma_n = check_scalar(sigma_n, "sigma_n", low=0.0)
    seed = check_int(seed, "seed", low=0)
    tv_lam = check_scalar(tv_lam, "tv_lam", low=0.0)
    tv_iters = check_int(tv_iters, "tv_iters", low=1)
    n = x.size
    rows = []
    for m in ms:
        A = GaussianSensing(x.shape, m, seed=seed)
        y = add_noise(A(x), sigma_n, seed=seed + 1)
        x_ls = A.pinv(y)
        x_tv, _ = tv_reconstruct(A, y, tv_lam, num_iters=tv_iters)
        res = reconstruct_latent(y, A, G, num_iters, lr, restarts, seed, lam=lam)
        rows.append([m, round(m / n, 4), round(_psnr(x, np.clip(x_ls, 0, 1)), 2),
                     round(_psnr(x, np.clip(x_tv, 0, 1)), 2), round(_psnr(x, res.x_hat), 2),
                     round(res.seconds, 2)])
    return {"columns": ["m", "m/n", "LS PSNR", "TV PSNR", "generator PSNR", "generator s"],
            "rows": rows}
