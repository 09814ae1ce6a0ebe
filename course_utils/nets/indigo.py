"""The invertible networks f_phi of INDIGO (torch): x -> (c, d), c matched to the measurement."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .lifting import (LearnedLifting, LiftingCNN, _check_image_batch, _check_positive_int,
                      haar_merge, haar_split)

__all__ = ["INDIGO_INN_ARCH", "HaarDetailINN", "LearnedDegradationINN", "MonotoneMap",
           "build_indigo_inn"]

#: The shipped INN for the non-linear degradation: one Haar level, 3 predict/update pairs of
#: 3-layer, 32-channel CNNs, and a monotone map of the coarse band with 8 ramps.
INDIGO_INN_ARCH: dict = {"num_steps": 3, "hidden": 32, "num_layers": 3, "ramps": 8}


class HaarDetailINN(nn.Module):
    r"""An INN whose coarse band is the Haar approximation, for any weights.

    ``levels`` orthonormal Haar splits (:func:`~course_utils.nets.lifting.haar_split`);
    after each, ``num_steps`` additive couplings change only the details,
    :math:`d \leftarrow d + P_k(c)`. The coarse band is never changed, so
    ``c = 2**levels × block mean`` of the image over ``2**levels`` squares, whatever the
    weights of the ``P_k``: for block-average super-resolution by ``2**levels`` the coarse
    band equals the measurement (times ``2**levels``) by construction, and INDIGO needs no
    training. The last layer of each ``P_k`` starts at zero (the plain Haar transform).
    """

    def __init__(self, levels: int = 2, num_steps: int = 1, hidden: int = 16,
                 num_layers: int = 3):
        super().__init__()
        self.levels = _check_positive_int(levels, "levels")
        self.num_steps = _check_positive_int(num_steps, "num_steps")
        self.couplings = nn.ModuleList(
            nn.ModuleList(LiftingCNN(1, 3, hidden, num_layers) for _ in range(num_steps))
            for _ in range(self.levels))

    @property
    def scale(self) -> float:
        """``c = scale × block mean``: the orthonormal Haar gain, ``2**levels``."""
        return float(2 ** self.levels)

    def forward(self, x: torch.Tensor):
        """``x`` (B, 1, M, N) → ``(c, [d_L, …, d_1])``, ``c`` of shape (B, 1, M/2^L, N/2^L)."""
        x = _check_image_batch(x, "x", 1, 2 ** self.levels)
        details, c = [], x
        for couplings in self.couplings:
            c, d = haar_split(c)
            for coupling in couplings:
                d = d + coupling(c)
            details.append(d)
        return c, details[::-1]

    def inverse(self, c: torch.Tensor, details) -> torch.Tensor:
        """Undo :meth:`forward` for any coarse band ``c`` (e.g. the measurement × scale)."""
        if len(details) != self.levels:
            raise ValueError(f"details must hold {self.levels} tensors, got {len(details)}")
        for couplings, d in zip(reversed(self.couplings), details):
            for coupling in reversed(couplings):
                d = d - coupling(c)
            c = haar_merge(c, d)
        return c


class MonotoneMap(nn.Module):
    r"""An increasing map of each pixel, :math:`h(u) = a u + b + \sum_k s_k
    \tanh((u - m_k)/w_k)` with :math:`a, s_k, w_k > 0`, inverted by bisection.

    Used on the coarse band so that the INN can learn a camera's non-linear response.
    It starts close to :math:`h(u) = u / 2` (the Haar gain undone) plus small ramps.
    """

    def __init__(self, ramps: int = 8):
        super().__init__()
        ramps = _check_positive_int(ramps, "ramps")
        self.log_a = nn.Parameter(torch.tensor(math.log(0.5)))
        self.b = nn.Parameter(torch.tensor(0.0))
        self.raw_s = nn.Parameter(torch.full((ramps,), -3.0))
        self.m = nn.Parameter(torch.linspace(0.0, 2.0, ramps))
        self.log_w = nn.Parameter(torch.full((ramps,), math.log(0.3)))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        s, w = F.softplus(self.raw_s), self.log_w.exp()
        ramps = (s * torch.tanh((u[..., None] - self.m) / w)).sum(-1)
        return self.log_a.exp() * u + self.b + ramps

    def inverse(self, v: torch.Tensor, iters: int = 60) -> torch.Tensor:
        """The ``u`` with ``h(u) = v``, by bisection (no gradient is needed through it)."""
        with torch.no_grad():
            a, total = self.log_a.exp(), F.softplus(self.raw_s).sum()
            lo = (v - self.b - total) / a
            hi = (v - self.b + total) / a
            for _ in range(iters):
                mid = 0.5 * (lo + hi)
                below = self.forward(mid) < v
                lo = torch.where(below, mid, lo)
                hi = torch.where(below, hi, mid)
        return 0.5 * (lo + hi)


class LearnedDegradationINN(nn.Module):
    r"""An INN trained so that its coarse band reproduces a non-linear ×2 degradation.

    One level of notebook 09's :class:`~course_utils.nets.lifting.LearnedLifting` (a Haar
    split and ``num_steps`` lifting steps :math:`d \leftarrow d - P_k(c)`,
    :math:`c \leftarrow c + U_k(d)`, so ``c`` can become a blurred average), then a
    :class:`MonotoneMap` of ``c`` (the camera's response). Trained by INDIGO's loss
    :math:`\|c - y\|^2` on pairs ``(x, y)`` (``python -m course_utils.train indigo-inn``);
    the details ``d`` keep what the degradation lost. Exactly invertible for any weights.
    """

    def __init__(self, num_steps: int = INDIGO_INN_ARCH["num_steps"],
                 hidden: int = INDIGO_INN_ARCH["hidden"],
                 num_layers: int = INDIGO_INN_ARCH["num_layers"],
                 ramps: int = INDIGO_INN_ARCH["ramps"]):
        super().__init__()
        self.lifting = LearnedLifting(1, levels=1, num_steps=num_steps, hidden=hidden,
                                      num_layers=num_layers)
        self.response = MonotoneMap(ramps)

    @property
    def scale(self) -> float:
        """The coarse band is on the measurement's own scale."""
        return 1.0

    def forward(self, x: torch.Tensor):
        """``x`` (B, 1, M, N) → ``(c, [d])`` with ``c`` (B, 1, M/2, N/2), ``d`` (B, 3, M/2, N/2)."""
        c, d = self.lifting(x)
        return self.response(c), [d]

    def inverse(self, c: torch.Tensor, details) -> torch.Tensor:
        """Undo :meth:`forward` for any coarse band ``c`` (e.g. the measurement)."""
        if len(details) != 1:
            raise ValueError(f"details must hold 1 tensor, got {len(details)}")
        return self.lifting.inverse_level(0, self.response.inverse(c), details[0])


def build_indigo_inn(**arch) -> LearnedDegradationINN:
    """A :class:`LearnedDegradationINN` with :data:`INDIGO_INN_ARCH` updated by ``arch``."""
    return LearnedDegradationINN(**dict(INDIGO_INN_ARCH, **arch))
