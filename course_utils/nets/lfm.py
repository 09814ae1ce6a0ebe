"""The light-field operator in torch and the unrolled ReLU network ``x ← ReLU(W₁z + x − W₂x − b)`` (``z`` one regularised inverse filter bank of ``y``, ``W₁``, ``W₂`` learned convolutions) for LFM volumes."""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft
import torch
from torch import nn
from torch.nn import functional as F

from ..operators.lfm import LightField
from ..weights import load_state_dict

__all__ = ["TorchLightField", "LFMLista", "LFM_LISTA_ARCH", "build_lfm_lista", "load_lfm_lista"]

#: Architecture of the shipped network: unrolled layers after layer 0, channels of each
#: layer's low-rank convolution, and the regularisation λ of its one inverse filter bank.
LFM_LISTA_ARCH: dict = {"num_layers": 6, "rank": 32, "lam": 0.01}


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
        self._op = op
        self._gg = None      # HᵀH per frequency, built by the first call of ``gram``

    @property
    def GG(self):
        """The Gram matrices HᵀH, one (D s², D s²) per frequency (complex64), built once."""
        if self._gg is None:
            gram = np.matmul(self._op._GH, self._op._G)
            self._gg = torch.from_numpy(gram.astype(np.complex64)).to(self.G.device)
        return self._gg

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
    r"""Unrolled non-negative ISTA for light-field volumes with learned convolutions:
    the physics is applied once, the layers are small convolutions on the volume.

    The light field ``y`` is first mapped to the volume by one fixed per-frequency filter
    bank, the regularised inverse ``z = W y``, ``W = (HᵀH + λI)⁻¹Hᵀ`` (one matrix
    (D s², P²) per spatial frequency of the lenslet grid, the cost of one ``Hᵀ``). The
    volume is handled in its polyphase form ``(D s², L, L)`` — one channel per depth and
    voxel position within a lenslet — so that ordinary convolutions over the lenslet grid
    see the periodic shift-variance of ``H``. Layer 0 is ``x₀ = ReLU(a ⊙ z − b₀)`` and
    layer ``k = 1 … K`` is

    .. math:: x_k = \mathrm{ReLU}\big(x_{k-1} + g_k \odot W_1 z - W_2^{(k)} x_{k-1}
              - b_k\big),

    where ``W₁`` (shared by the layers, computed once) and each ``W₂⁽ᵏ⁾`` are learned linear
    convolutions of low rank (3×3 lenslets to ``rank`` channels, then 1×1 back to the D s²
    channels; zero at the start, so the untrained network is the thresholded ``z``),
    ``g_k`` a gain per layer and channel, and the biases ``b_k``, one per channel, act as
    thresholds. ``H`` itself (:class:`TorchLightField`, attribute ``H``) serves only the
    re-synthesis loss of training.

    Input: light fields in brightness units (photon counts divided by the photons per
    unit), shape (B, PL, PL); output volumes (B, D, sL, sL).
    """

    def __init__(self, op: LightField, num_layers: int = LFM_LISTA_ARCH["num_layers"],
                 rank: int = LFM_LISTA_ARCH["rank"], lam: float = LFM_LISTA_ARCH["lam"]):
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"num_layers must be a non-negative integer, got {num_layers!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        lam = float(lam)
        if not np.isfinite(lam) or lam <= 0:
            raise ValueError(f"lam must be a positive number, got {lam!r}")
        self.H = TorchLightField(op)
        D, s = self.H.D, self.H.s
        C = D * s * s
        self.num_layers, self.rank, self.lam = num_layers, rank, lam
        gram = np.matmul(op._GH, op._G)
        inv = np.linalg.solve(gram + lam * np.eye(C), op._GH)          # (F, C, P²)
        self.register_buffer("W", torch.from_numpy(inv.astype(np.complex64)),
                             persistent=False)
        self._W_np = None
        self.scale = nn.Parameter(torch.ones(C))
        self.threshold = nn.Parameter(torch.zeros(num_layers + 1, C))
        # W₁: one linear convolution of z shared by the layers (3×3, rank r, then 1×1)
        self.w1_in = nn.Conv2d(C, rank, 3, bias=False)
        self.w1_out = nn.Conv2d(rank, C, 1, bias=False)
        self.gain = nn.Parameter(torch.ones(num_layers, C))
        # W₂ of each layer: the same low-rank form on x
        self.w2_in = nn.ModuleList(nn.Conv2d(C, rank, 3, bias=False)
                                   for _ in range(num_layers))
        self.w2_out = nn.ModuleList(nn.Conv2d(rank, C, 1, bias=False)
                                    for _ in range(num_layers))
        nn.init.zeros_(self.w1_out.weight)
        for conv in self.w2_out:
            nn.init.zeros_(conv.weight)

    def wiener(self, y):
        """``z = (HᵀH + λI)⁻¹Hᵀ y`` in polyphase form, (B, D s², L, L). No gradient flows
        to ``y`` or the fixed filter bank, so on the CPU it runs in numpy (whose batched
        complex products are faster than torch's for a few light fields)."""
        B = y.shape[0]
        H = self.H
        D, s, L, P = H.D, H.s, H.L, H.P
        if y.device.type == "cpu" and not y.requires_grad:
            if self._W_np is None:
                self._W_np = self.W.numpy()
            yp = y.numpy().reshape(B, L, P, L, P).transpose(2, 4, 0, 1, 3)
            yf = sfft.rfft2(yp.reshape(P * P, B, L, L), workers=1).reshape(P * P, B, -1)
            zf = np.matmul(self._W_np, yf.transpose(2, 0, 1))
            zf = zf.transpose(2, 1, 0).reshape(B, D * s * s, L, L // 2 + 1)
            return torch.from_numpy(sfft.irfft2(zf, s=(L, L), workers=1)
                                    .astype(np.float32, copy=False))
        yp = y.reshape(B, L, P, L, P).permute(2, 4, 0, 1, 3).reshape(P * P, B, L, L)
        yf = torch.fft.rfft2(yp).reshape(P * P, B, -1).permute(2, 0, 1)
        zf = torch.matmul(self.W, yf).permute(2, 1, 0).reshape(B, D * s * s, L, L // 2 + 1)
        return torch.fft.irfft2(zf, s=(L, L))

    def to_volume(self, xp):
        """Polyphase (B, D s², L, L) → volumes (B, D, sL, sL)."""
        B = xp.shape[0]
        D, s, L = self.H.D, self.H.s, self.H.L
        return xp.reshape(B, D, s, s, L, L).permute(0, 1, 4, 2, 5, 3).reshape(B, D, s * L,
                                                                              s * L)

    @staticmethod
    def _circular(conv, x):
        return conv(F.pad(x, (1, 1, 1, 1), mode="circular"))

    def _layers(self, y, K):
        z = self.wiener(y)
        x = torch.relu(self.scale[:, None, None] * z - self.threshold[0][:, None, None])
        yield x
        if K == 0:
            return
        w1z = self.w1_out(self._circular(self.w1_in, z))
        for k in range(1, K + 1):
            w2x = self.w2_out[k - 1](self._circular(self.w2_in[k - 1], x))
            x = torch.relu(x + self.gain[k - 1][:, None, None] * w1z - w2x
                           - self.threshold[k][:, None, None])
            yield x

    def forward(self, y, num_layers: int | None = None):
        K = self.num_layers if num_layers is None else int(num_layers)
        if not 0 <= K <= self.num_layers:
            raise ValueError(f"num_layers must be in [0, {self.num_layers}], got {K}")
        for x in self._layers(y, K):
            pass
        return self.to_volume(x)

    @torch.no_grad()
    def iterates(self, ys) -> np.ndarray:
        """Every layer's output for light fields ``ys`` (B, PL, PL) in brightness units:
        shape (K + 1, B, D, sL, sL), float64 (layer 0 first)."""
        ys = np.asarray(ys, dtype=np.float32)
        if ys.ndim != 3:
            raise ValueError(f"ys must have shape (B, PL, PL), got {ys.shape}")
        self.eval()
        out = [self.to_volume(x) for x in self._layers(torch.from_numpy(ys),
                                                       self.num_layers)]
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
