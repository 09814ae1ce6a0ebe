"""Unrolled networks (torch): LISTA, a gradient-descent network and an unrolled proximal gradient."""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validate import as_array, check_int, check_scalar
from ..operators.base import LinearOperator

__all__ = [
    "LISTA", "TorchOperator", "as_torch_operator", "RegulariserCNN", "GradientDescentNet",
    "HaarShrinkage", "UnrolledProxGrad", "GDNET_SETTINGS", "lista_weights_name",
    "gdnet_weights_name", "load_lista", "load_gdnet", "make_deblurring_operator",
]

#: The deblurring problem of the gradient-descent network (notebook 04, its trainer and
#: benchmark): a circular Gaussian blur and white noise on images in [0, 1].
GDNET_SETTINGS: dict = {"kernel": "gaussian", "kernel_size": 9, "kernel_sigma": 2.0,
                        "sigma": 0.01, "channels": 16, "depth": 3}


def _soft(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    return torch.sign(v) * F.relu(v.abs() - theta)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# -- LISTA ---------------------------------------------------------------------------------

class LISTA(nn.Module):
    r"""Learned ISTA (Gregor & LeCun 2010): ``T`` unrolled ISTA iterations with learned weights.

    .. math::
        b = W_e y, \qquad z_1 = h_{\theta_1}(b), \qquad z_{t+1} = h_{\theta_{t+1}}(b + S z_t),

    with :math:`h_\theta` soft thresholding (or, with ``nonneg=True``, the ReLU
    :math:`\max(v - \theta, 0)` of non-negative ISTA). ``W_e`` and ``S`` are shared by
    the layers; every layer has its own thresholds.

    Parameters
    ----------
    num_layers : int
        Number of layers ``T``.
    m, n : int
        Signal length and code length.
    nonneg : bool
        Use the ReLU of non-negative ISTA instead of soft thresholding.
    per_atom : bool
        One threshold per atom and layer (shape (T, n)) instead of one per layer (T, 1).

    Notes
    -----
    :meth:`from_dictionary` initialises ``W_e = tau Dᵀ``, ``S = I − tau DᵀD`` and
    ``theta_t = tau lam``, where the network equals ``T`` ISTA iterations from ``z_0 = 0``
    exactly; training then adapts the three to the data (Gregor & LeCun train on the
    LASSO solutions ``z*(y)``). Inputs are batches ``y`` of shape (B, m); outputs
    (B, n).

    References
    ----------
    K. Gregor and Y. LeCun, "Learning fast approximations of sparse coding", ICML 2010.
    V. Monga, Y. Li and Y. C. Eldar, "Algorithm unrolling: interpretable, efficient deep
    learning for signal and image processing", IEEE Signal Processing Magazine, 2021.
    """

    def __init__(self, num_layers: int, m: int, n: int, *, nonneg: bool = False,
                 per_atom: bool = False):
        super().__init__()
        self.num_layers = _positive(num_layers, "num_layers")
        self.m, self.n = _positive(m, "m"), _positive(n, "n")
        for flag, name in ((nonneg, "nonneg"), (per_atom, "per_atom")):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        self.nonneg, self.per_atom = nonneg, per_atom
        self.W_e = nn.Parameter(torch.zeros(self.n, self.m))
        self.S = nn.Parameter(torch.zeros(self.n, self.n))
        self.theta = nn.Parameter(torch.zeros(self.num_layers, self.n if per_atom else 1))
        nn.init.normal_(self.W_e, std=1.0 / math.sqrt(self.m))

    @classmethod
    def from_dictionary(cls, D, lam: float, num_layers: int, *, tau: float | None = None,
                        nonneg: bool = False, per_atom: bool = False,
                        dtype: torch.dtype = torch.float32) -> "LISTA":
        """The ``T``-layer LISTA equal to ``T`` ISTA iterations on ``½‖y − Dz‖² + lam‖z‖₁``.

        Parameters
        ----------
        D : ndarray of shape (m, n)
            Dictionary.
        lam : float
            LASSO weight, ``>= 0``.
        num_layers : int
            Number of layers.
        tau : float, optional
            ISTA step, default ``1/‖D‖²``.
        nonneg, per_atom : bool
            As in :class:`LISTA`.
        dtype : torch.dtype
            Parameter precision (``torch.float64`` reproduces ISTA to round-off).
        """
        D = as_array(D, "D", ndim=2, allow_complex=False, dtype=np.float64)
        lam = check_scalar(lam, "lam", low=0.0)
        lip = float(np.linalg.norm(D, 2)) ** 2
        if lip == 0.0:
            raise ValueError("D must not be zero")
        tau = 1.0 / lip if tau is None else check_scalar(tau, "tau", low=0.0,
                                                         low_inclusive=False)
        m, n = D.shape
        net = cls(num_layers, m, n, nonneg=nonneg, per_atom=per_atom).to(dtype)
        with torch.no_grad():
            net.W_e.copy_(torch.from_numpy(tau * D.T))
            net.S.copy_(torch.from_numpy(np.eye(n) - tau * D.T @ D))
            net.theta.fill_(tau * lam)
        return net

    def _check_input(self, y):
        if not isinstance(y, torch.Tensor):
            y = torch.as_tensor(as_array(y, "y", ndim=(1, 2), allow_complex=False),
                                dtype=self.W_e.dtype)
        if y.ndim not in (1, 2) or y.shape[-1] != self.m:
            raise ValueError(f"y must have shape ({self.m},) or (B, {self.m}), "
                             f"got {tuple(y.shape)}")
        return y

    def _h(self, v, t):
        theta = self.theta[t]
        return F.relu(v - theta) if self.nonneg else _soft(v, theta)

    def forward(self, y, *, return_all: bool = False):
        """Codes of ``y`` (B, m) → (B, n); with ``return_all`` the list of every layer's output."""
        y = self._check_input(y)
        b = y @ self.W_e.T
        z = self._h(b, 0)
        outputs = [z]
        for t in range(1, self.num_layers):
            z = self._h(b + z @ self.S.T, t)
            outputs.append(z)
        return outputs if return_all else z

    def numpy_params(self) -> dict:
        """``{"W_e", "S", "theta"}`` as float64 arrays (``theta`` of shape (T, 1) or (T, n))."""
        return {k: getattr(self, k).detach().cpu().double().numpy().copy()
                for k in ("W_e", "S", "theta")}

    def arch(self) -> dict:
        """Constructor arguments (stored with the shipped weights)."""
        return {"num_layers": self.num_layers, "m": self.m, "n": self.n,
                "nonneg": self.nonneg, "per_atom": self.per_atom}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.arch().items())


# -- linear operators in torch -------------------------------------------------------------

class _NumpyOperatorFunction(torch.autograd.Function):
    """``A x`` through the numpy operator; the backward pass applies ``Aᴴ``."""

    @staticmethod
    def forward(ctx, x, op, transpose):
        ctx.op, ctx.transpose = op, transpose
        apply = op.adjoint if transpose else op
        arr = x.detach().cpu().double().numpy()
        out = np.stack([np.asarray(apply(a)).real for a in arr])
        return torch.from_numpy(out).to(dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad):
        return _NumpyOperatorFunction.apply(grad, ctx.op, not ctx.transpose), None, None


class TorchOperator(nn.Module):
    """A real :class:`~course_utils.operators.LinearOperator` acting on torch batches.

    Parameters
    ----------
    op : LinearOperator
        The operator; inputs are tensors of shape (B, 1, *op.in_shape) (or
        (B, *op.in_shape)), outputs (B, 1, *op.out_shape) likewise.

    Notes
    -----
    A circulant operator that exposes ``eigenvalues`` (a periodic blur) is applied with
    ``torch.fft`` (fast, on any device); any other operator goes through its numpy
    ``forward``/``adjoint``, sample by sample, with the adjoint as the backward pass, so
    gradients are exact either way. The operator is not a parameter and is not saved in
    ``state_dict``.
    """

    def __init__(self, op: LinearOperator):
        super().__init__()
        if not isinstance(op, LinearOperator):
            raise TypeError(f"op must be a LinearOperator, got {type(op).__name__}")
        if "complex" in (op.in_kind, op.out_kind):
            raise ValueError(f"op must be real, got the complex operator {op.name}")
        self.op = op
        self.in_shape, self.out_shape = tuple(op.in_shape), tuple(op.out_shape)
        eig = getattr(op, "eigenvalues", None)
        self._fft = (eig is not None and len(self.in_shape) == 2
                     and self.in_shape == self.out_shape and np.shape(eig) == self.in_shape)
        if self._fft:
            half = np.ascontiguousarray(np.asarray(eig)[:, : self.in_shape[1] // 2 + 1])
            self.register_buffer("_eig", torch.from_numpy(half.astype(np.complex128)),
                                 persistent=False)

    def norm(self) -> float:
        """``‖A‖₂`` of the wrapped operator."""
        return float(self.op.norm())

    def _check(self, x, shape, what):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if tuple(x.shape[-len(shape):]) != shape or x.ndim not in (len(shape) + 1,
                                                                  len(shape) + 2):
            raise ValueError(f"{what} must have shape (B, 1, *{shape}) or (B, *{shape}), "
                             f"got {tuple(x.shape)}")

    def _apply_op(self, x, transpose):
        if self._fft:
            eig = self._eig.conj() if transpose else self._eig
            eig = eig.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64)
            return torch.fft.irfft2(torch.fft.rfft2(x) * eig, s=self.in_shape)
        lead = x.shape[: x.ndim - len(self.in_shape if not transpose else self.out_shape)]
        flat = x.reshape(-1, *(self.out_shape if transpose else self.in_shape))
        out = _NumpyOperatorFunction.apply(flat, self.op, transpose)
        return out.reshape(*lead, *out.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``A x`` for a batch ``x``."""
        self._check(x, self.in_shape, "x")
        return self._apply_op(x, False)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``Aᵀ y`` for a batch ``y``."""
        self._check(y, self.out_shape, "y")
        return self._apply_op(y, True)


def as_torch_operator(A) -> TorchOperator:
    """``A`` as a :class:`TorchOperator` (returned unchanged if it already is one)."""
    return A if isinstance(A, TorchOperator) else TorchOperator(A)


def make_deblurring_operator(shape=(64, 64)):
    """The blur of :data:`GDNET_SETTINGS` for images of ``shape`` (a numpy operator)."""
    from ..operators import make_operator

    s = GDNET_SETTINGS
    return make_operator("blur", shape=tuple(shape), kernel=s["kernel"],
                         kernel_size=s["kernel_size"], kernel_sigma=s["kernel_sigma"])


# -- gradient-descent network ------------------------------------------------------------------

class RegulariserCNN(nn.Module):
    """A small CNN ``r_θ(x)`` playing the gradient of a learned regulariser ``∇R(x)``.

    Parameters
    ----------
    channels : int
        Feature channels of the hidden layers.
    depth : int
        Number of 3×3 convolutions (>= 2), ReLU between them.

    Notes
    -----
    The last convolution starts at zero, so an untrained network is ``r = 0`` and the
    gradient-descent network starts as plain gradient descent on the data term
    (Landweber iteration).
    """

    def __init__(self, channels: int = 16, depth: int = 3):
        super().__init__()
        channels, depth = _positive(channels, "channels"), _positive(depth, "depth")
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        layers = [nn.Conv2d(1, channels, 3, padding=1, padding_mode="circular"), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, padding_mode="circular"),
                       nn.ReLU()]
        last = nn.Conv2d(channels, 1, 3, padding=1, padding_mode="circular")
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class GradientDescentNet(nn.Module):
    r"""Unrolled gradient descent with learned step sizes and a learned regulariser.

    .. math::
        x_0 = A^T y, \qquad
        x_{k+1} = x_k - \tau_k\big(A^T(Ax_k - y) + r_\theta(x_k)\big), \quad k < K,

    a gradient step on :math:`\tfrac12\|Ax - y\|^2 + R(x)` whose gradient
    :math:`\nabla R = r_\theta` is a small CNN shared by the steps; the ``K`` steps
    :math:`\tau_k > 0` are learned too (stored as logarithms).

    Parameters
    ----------
    A : LinearOperator or TorchOperator
        Forward operator on images (M, N) (e.g. :func:`make_deblurring_operator`).
    num_steps : int
        Number of unrolled steps ``K``.
    channels, depth : int
        Size of the :class:`RegulariserCNN`.
    tau_init : float, optional
        Initial step, default ``1/‖A‖²``.

    Notes
    -----
    Inputs ``y`` have shape (B, 1, *A.out_shape); outputs (B, 1, *A.in_shape). Trained
    end to end on (x, y) pairs by :mod:`course_utils.train.gdnet`.

    References
    ----------
    V. Monga, Y. Li and Y. C. Eldar, "Algorithm unrolling: interpretable, efficient deep
    learning for signal and image processing", IEEE Signal Processing Magazine, 2021.
    J. Adler and O. Öktem, "Solving ill-posed inverse problems using iterative deep
    neural networks", Inverse Problems, 2017.
    """

    def __init__(self, A, num_steps: int = 8, *, channels: int = 16, depth: int = 3,
                 tau_init: float | None = None):
        super().__init__()
        self.A = as_torch_operator(A)
        self.num_steps = _positive(num_steps, "num_steps")
        self.channels, self.depth = channels, depth
        if tau_init is None:
            tau_init = 1.0 / self.A.norm() ** 2
        tau_init = check_scalar(tau_init, "tau_init", low=0.0, low_inclusive=False)
        self.log_tau = nn.Parameter(torch.full((self.num_steps,), math.log(tau_init)))
        self.regulariser = RegulariserCNN(channels, depth)

    @property
    def tau(self) -> torch.Tensor:
        """The ``K`` step sizes."""
        return self.log_tau.exp()

    def forward(self, y: torch.Tensor, *, return_all: bool = False):
        """Reconstruct ``y`` (B, 1, M', N'); with ``return_all`` the list ``[x_0, ..., x_K]``."""
        x = self.A.adjoint(y)
        outputs = [x]
        tau = self.tau
        for k in range(self.num_steps):
            grad = self.A.adjoint(self.A(x) - y) + self.regulariser(x)
            x = x - tau[k] * grad
            outputs.append(x)
        return outputs if return_all else x

    def set_operator(self, A) -> None:
        """Use another forward operator (e.g. the same blur for another image size): the
        learned parameters do not depend on it."""
        self.A = as_torch_operator(A)

    def arch(self) -> dict:
        """Constructor arguments other than ``A`` (stored with the shipped weights)."""
        return {"num_steps": self.num_steps, "channels": self.channels, "depth": self.depth}


# -- unrolled proximal gradient with a denoiser ------------------------------------------------

class HaarShrinkage(nn.Module):
    r"""Soft thresholding of orthonormal Haar wavelet details: a classical denoiser.

    ``forward(x, sigma)`` thresholds every detail coefficient at ``kappa * sigma`` over
    ``levels`` scales and keeps the coarse approximation. Being the proximal map of
    :math:`\kappa\sigma\|W_d x\|_1` (``W`` orthonormal), it turns
    :class:`UnrolledProxGrad` into unrolled ISTA in the Haar basis.

    Parameters
    ----------
    levels : int
        Number of scales; image sides must be multiples of ``2**levels``.
    kappa : float
        Threshold in units of ``sigma``.
    """

    def __init__(self, levels: int = 3, kappa: float = 1.0):
        super().__init__()
        self.levels = _positive(levels, "levels")
        self.kappa = check_scalar(kappa, "kappa", low=0.0)

    @staticmethod
    def _analysis(x):
        a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
        c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
        return ((a + b + c + d) / 2, torch.stack([(a - b + c - d) / 2, (a + b - c - d) / 2,
                                                  (a - b - c + d) / 2]))

    @staticmethod
    def _synthesis(low, det):
        h, v, g = det
        a, b = (low + h + v + g) / 2, (low - h + v - g) / 2
        c, d = (low + h - v - g) / 2, (low - h - v + g) / 2
        rows, cols = low.shape[-2:]
        out = low.new_empty(*low.shape[:-2], 2 * rows, 2 * cols)
        out[..., 0::2, 0::2], out[..., 0::2, 1::2] = a, b
        out[..., 1::2, 0::2], out[..., 1::2, 1::2] = c, d
        return out

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        step = 2 ** self.levels
        if x.shape[-1] % step or x.shape[-2] % step:
            raise ValueError(f"image sides must be multiples of {step}, got {tuple(x.shape)}")
        sigma = torch.as_tensor(sigma, dtype=x.dtype)
        details, low = [], x
        for _ in range(self.levels):
            low, det = self._analysis(low)
            details.append(_soft(det, self.kappa * sigma))
        for det in reversed(details):
            low = self._synthesis(low, det)
        return low


class UnrolledProxGrad(nn.Module):
    r"""Unrolled proximal gradient with a denoiser as the proximal map (deep proximal gradient).

    .. math::
        x_0 = A^T y, \qquad
        x_{k+1} = D\big(x_k - \tau_k A^T(Ax_k - y);\ \sigma_k\big), \quad k < K,

    where :math:`D(\cdot; \sigma)` is a denoiser for Gaussian noise of level
    :math:`\sigma` (the learned DRUNet-style network, or :class:`HaarShrinkage`). The
    steps :math:`\tau_k` and noise levels :math:`\sigma_k` are learned (as logarithms);
    the denoiser is frozen unless ``train_denoiser=True``.

    Parameters
    ----------
    A : LinearOperator or TorchOperator
        Forward operator on images (M, N).
    denoiser : torch.nn.Module
        Called as ``denoiser(v, sigma)`` on (B, 1, M, N) batches.
    num_steps : int
        Number of unrolled steps ``K``.
    tau_init : float, optional
        Initial steps, default ``1/‖A‖²``.
    sigma_init : tuple of float
        ``(first, last)`` noise levels; the initial :math:`\sigma_k` decrease geometrically
        between them (the continuation schedule of plug-and-play methods).
    train_denoiser : bool
        Also train the denoiser's own weights.

    Notes
    -----
    With :math:`D(v;\sigma) = \mathrm{prox}_{\tau g}(v)` this is ISTA on
    :math:`\tfrac12\|Ax - y\|^2 + g(x)`; a learned denoiser in its place is the
    plug-and-play reading of the proximal step, and unrolling ``K`` steps with learned
    :math:`(\tau_k, \sigma_k)` is the deep proximal gradient of the lecture.

    References
    ----------
    V. Monga, Y. Li and Y. C. Eldar, "Algorithm unrolling", IEEE Signal Processing
    Magazine, 2021.
    D. Gilton, G. Ongie and R. Willett, "Neumann networks for linear inverse problems in
    imaging", IEEE Trans. Computational Imaging, 2020.
    """

    def __init__(self, A, denoiser: nn.Module, num_steps: int = 6, *,
                 tau_init: float | None = None, sigma_init=(0.1, 0.02),
                 train_denoiser: bool = False):
        super().__init__()
        if not isinstance(denoiser, nn.Module):
            raise TypeError(f"denoiser must be a torch.nn.Module called as denoiser(x, "
                            f"sigma), got {type(denoiser).__name__}")
        if not isinstance(train_denoiser, bool):
            raise TypeError(f"train_denoiser must be a bool, got {type(train_denoiser).__name__}")
        self.A = as_torch_operator(A)
        self.num_steps = _positive(num_steps, "num_steps")
        if tau_init is None:
            tau_init = 1.0 / self.A.norm() ** 2
        tau_init = check_scalar(tau_init, "tau_init", low=0.0, low_inclusive=False)
        try:
            first, last = (float(s) for s in sigma_init)
        except (TypeError, ValueError):
            raise TypeError(f"sigma_init must be a pair of positive numbers, got "
                            f"{sigma_init!r}") from None
        check_scalar(first, "sigma_init[0]", low=0.0, low_inclusive=False)
        check_scalar(last, "sigma_init[1]", low=0.0, low_inclusive=False)
        self.denoiser = denoiser
        for p in denoiser.parameters():
            p.requires_grad_(train_denoiser)
        self.train_denoiser = train_denoiser
        self.log_tau = nn.Parameter(torch.full((self.num_steps,), math.log(tau_init)))
        self.log_sigma = nn.Parameter(torch.linspace(math.log(first), math.log(last),
                                                     self.num_steps))

    @property
    def tau(self) -> torch.Tensor:
        """The ``K`` step sizes."""
        return self.log_tau.exp()

    @property
    def sigma(self) -> torch.Tensor:
        """The ``K`` noise levels handed to the denoiser."""
        return self.log_sigma.exp()

    def train(self, mode: bool = True):
        """Keep a frozen denoiser in evaluation mode while the steps train."""
        super().train(mode)
        if not self.train_denoiser:
            self.denoiser.eval()
        return self

    def forward(self, y: torch.Tensor, *, return_all: bool = False):
        """Reconstruct ``y`` (B, 1, M', N'); with ``return_all`` the list ``[x_0, ..., x_K]``."""
        x = self.A.adjoint(y)
        outputs = [x]
        tau, sigma = self.tau, self.sigma
        for k in range(self.num_steps):
            v = x - tau[k] * self.A.adjoint(self.A(x) - y)
            x = self.denoiser(v, sigma[k])
            outputs.append(x)
        return outputs if return_all else x

    def set_operator(self, A) -> None:
        """Use another forward operator (e.g. the same blur for another image size): the
        learned parameters do not depend on it."""
        self.A = as_torch_operator(A)

    def step_parameters(self):
        """The learned steps and noise levels (what a few seconds of training adapt)."""
        return [self.log_tau, self.log_sigma]


# -- shipped weights ---------------------------------------------------------------------------

def lista_weights_name(num_layers: int) -> str:
    """Registry name of the shipped ``num_layers``-layer LISTA (``"lista_t16"``...)."""
    return f"lista_t{check_int(num_layers, 'num_layers', low=1)}"


def gdnet_weights_name(num_steps: int) -> str:
    """Registry name of the shipped ``num_steps``-step gradient-descent network."""
    return f"gdnet_k{check_int(num_steps, 'num_steps', low=1)}"


def load_lista(num_layers: int = 16) -> LISTA:
    """The shipped LISTA with ``num_layers`` layers (for :func:`course_utils.unrolled.lista_problem`).

    Raises
    ------
    course_utils.weights.MissingWeightsError, course_utils.weights.WeightsError
        If the weights are absent or altered; the message names the training command.
    """
    from .. import weights

    name = lista_weights_name(num_layers)
    state = weights.load_state_dict(name)
    arch = weights.registry()[name]["arch"]
    net = LISTA(**arch)
    net.load_state_dict(state)
    return net.eval()


def load_gdnet(num_steps: int = 8, shape=(64, 64)) -> GradientDescentNet:
    """The shipped gradient-descent network with ``num_steps`` steps, for images of ``shape``.

    The network is convolutional and the blur circulant, so any image size works; the
    weights were trained on 64 × 64 patches.
    """
    from .. import weights

    name = gdnet_weights_name(num_steps)
    state = weights.load_state_dict(name)
    arch = weights.registry()[name]["arch"]
    net = GradientDescentNet(make_deblurring_operator(shape), arch["num_steps"],
                             channels=arch["channels"], depth=arch["depth"])
    net.load_state_dict(state)
    return net.eval()
