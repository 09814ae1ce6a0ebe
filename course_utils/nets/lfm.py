"""The light-field operator in torch and the unrolled ReLU network ``x ← ReLU(W₁y + x − W₂x − b)`` for LFM volumes."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..operators.lfm import LightField
from ..weights import load_state_dict

__all__ = ["TorchLightField", "LFMLista", "LFM_LISTA_ARCH", "build_lfm_lista", "load_lfm_lista"]

#: Architecture of the shipped network: unrolled layers after the first (back-projection)
#: layer.
LFM_LISTA_ARCH: dict = {"num_layers": 6}


class TorchLightField(nn.Module):
    """:class:`course_utils.operators.LightField` for torch tensors (float32, batched),
    differentiable: ``forward`` (B, D, sL, sL) → (B, PL, PL) and ``adjoint``.

    The per-frequency matrices are non-persistent buffers: they come from the operator,
    never from a weights file.
    """

    def __init__(self, op: LightField):
        super().__init__()
        if not isinstance(op, LightField):
            raise TypeError(f"op must be a LightField, got {type(op).__name__}")
        self.D, self.s = len(op.depths), op.voxels_per_lenslet
        self.L, self.P = op.lenslets, op.pitch
        self.register_buffer("G", torch.from_numpy(op._G.astype(np.complex64)),
                             persistent=False)
        self.register_buffer("GH", torch.from_numpy(op._GH.astype(np.complex64)),
                             persistent=False)
        gram = np.matmul(op._GH, op._G)                 # HᵀH, one (D s², D s²) per frequency
        self.register_buffer("GG", torch.from_numpy(gram.astype(np.complex64)),
                             persistent=False)

    def forward(self, x):
        B = x.shape[0]
        D, s, L, P = self.D, self.s, self.L, self.P
        xp = x.reshape(B, D, L, s, L, s).permute(1, 3, 5, 0, 2, 4).reshape(D * s * s, B, L, L)
        xf = torch.fft.rfft2(xp).reshape(D * s * s, B, -1).permute(2, 0, 1)
        yf = torch.matmul(self.G, xf).permute(1, 2, 0).reshape(P * P, B, L, L // 2 + 1)
        yp = torch.fft.irfft2(yf, s=(L, L))
        return yp.reshape(P, P, B, L, L).permute(2, 3, 0, 4, 1).reshape(B, P * L, P * L)

    def gram(self, x):
        """``HᵀH x`` in one pass: the per-frequency Gram matrices, half the cost of
        ``adjoint(forward(x))``."""
        B = x.shape[0]
        D, s, L = self.D, self.s, self.L
        C = D * s * s
        xp = x.reshape(B, D, L, s, L, s).permute(1, 3, 5, 0, 2, 4).reshape(C, B, L, L)
        xf = torch.fft.rfft2(xp).reshape(C, B, -1).permute(2, 0, 1)
        zf = torch.matmul(self.GG, xf).permute(1, 2, 0).reshape(C, B, L, L // 2 + 1)
        zp = torch.fft.irfft2(zf, s=(L, L))
        return zp.reshape(D, s, s, B, L, L).permute(3, 0, 4, 1, 5, 2).reshape(B, D, s * L,
                                                                                s * L)

    def adjoint(self, y):
        B = y.shape[0]
        D, s, L, P = self.D, self.s, self.L, self.P
        yp = y.reshape(B, L, P, L, P).permute(2, 4, 0, 1, 3).reshape(P * P, B, L, L)
        yf = torch.fft.rfft2(yp).reshape(P * P, B, -1).permute(2, 0, 1)
        xf = torch.matmul(self.GH, yf).permute(1, 2, 0).reshape(D * s * s, B, L, L // 2 + 1)
        xp = torch.fft.irfft2(xf, s=(L, L))
        return xp.reshape(D, s, s, B, L, L).permute(3, 0, 4, 1, 5, 2).reshape(B, D, s * L,
                                                                                s * L)


class LFMLista(nn.Module):
    """Unrolled non-negative ISTA for light-field volumes, with learned steps, thresholds
    and a learned correction of ``HᵀH``.

    Layer 0 is ``x₀ = ReLU(α₀ Hᵀy − b₀)``; layer ``k = 1 … K`` is

    .. math:: x_k = \\mathrm{ReLU}\\big(W_1 y + x_{k-1} - W_2 x_{k-1} - b_k\\big),\\quad
              W_1 = α_k H^T,\\quad W_2 = α_k H^T H + C_k,

    with ``α_k`` and ``b_k`` one step and one threshold per depth (the biases act as the
    ℓ1 thresholds ``λ``) and ``C_k`` a learned 3×3 convolution across the depths (zero at
    the start, so the untrained network is ISTA with step ``α`` and threshold ``b``).
    ``H`` is the fixed wave-optics model: only ``α``, ``b`` and ``C`` are learned.

    Input: light fields in brightness units (photon counts divided by the photons per
    unit), shape (B, PL, PL); output volumes (B, D, sL, sL).
    """

    def __init__(self, op: LightField, num_layers: int = LFM_LISTA_ARCH["num_layers"],
                 step: float = 1.0, correction: bool = True):
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"num_layers must be a non-negative integer, got {num_layers!r}")
        self.H = TorchLightField(op)
        D = self.H.D
        self.num_layers = num_layers
        self.register_buffer("step", torch.tensor(float(step)))
        self.log_alpha = nn.Parameter(torch.zeros(num_layers + 1, D))
        self.threshold = nn.Parameter(torch.full((num_layers + 1, D), 1e-3))
        self.correction = nn.ModuleList(
            nn.Conv2d(D, D, 3, padding=1, padding_mode="circular", bias=False)
            for _ in range(num_layers if correction else 0))
        for conv in self.correction:
            nn.init.zeros_(conv.weight)

    def _correct(self, k, x):
        return self.correction[k - 1](x) if len(self.correction) else 0.0

    def forward(self, y, num_layers: int | None = None):
        K = self.num_layers if num_layers is None else int(num_layers)
        if not 0 <= K <= self.num_layers:
            raise ValueError(f"num_layers must be in [0, {self.num_layers}], got {K}")
        alpha = self.step * torch.exp(self.log_alpha)[:, :, None, None]
        b = self.threshold[:, :, None, None]
        hty = self.H.adjoint(y)
        x = torch.relu(alpha[0] * hty - b[0])
        for k in range(1, K + 1):
            grad = self.H.gram(x) - hty
            x = torch.relu(x - alpha[k] * grad - self._correct(k, x) - b[k])
        return x

    @torch.no_grad()
    def iterates(self, ys) -> np.ndarray:
        """Every layer's output for light fields ``ys`` (B, PL, PL) in brightness units:
        shape (K + 1, B, D, sL, sL), float64 (layer 0 first)."""
        ys = np.asarray(ys, dtype=np.float32)
        if ys.ndim != 3:
            raise ValueError(f"ys must have shape (B, PL, PL), got {ys.shape}")
        self.eval()
        y = torch.from_numpy(ys)
        alpha = self.step * torch.exp(self.log_alpha)[:, :, None, None]
        b = self.threshold[:, :, None, None]
        hty = self.H.adjoint(y)
        x = torch.relu(alpha[0] * hty - b[0])
        out = [x]
        for k in range(1, self.num_layers + 1):
            grad = self.H.gram(x) - hty
            x = torch.relu(x - alpha[k] * grad - self._correct(k, x) - b[k])
            out.append(x)
        return torch.stack(out).double().numpy()

    @torch.no_grad()
    def reconstruct(self, ys, num_layers: int | None = None) -> np.ndarray:
        """Numpy in, numpy out: light fields (B, PL, PL) in brightness units → volumes
        (B, D, sL, sL), float64."""
        ys = np.asarray(ys, dtype=np.float32)
        if ys.ndim != 3:
            raise ValueError(f"ys must have shape (B, PL, PL), got {ys.shape}")
        self.eval()
        return self(torch.from_numpy(ys), num_layers).double().numpy()


def build_lfm_lista(op: LightField, **arch) -> LFMLista:
    """An untrained :class:`LFMLista` for ``op`` (keywords override :data:`LFM_LISTA_ARCH`)."""
    arch = dict(LFM_LISTA_ARCH, **arch)
    return LFMLista(op, **arch)


def load_lfm_lista(op: LightField) -> LFMLista:
    """The shipped network (weights ``"lfm_lista"``, checked by SHA-256) for ``op``, the
    course's microscope, in eval mode."""
    net = build_lfm_lista(op)
    state = {k: v.float() for k, v in load_state_dict("lfm_lista").items()}
    net.load_state_dict(state)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
