"""A sigma-conditional U-Net denoiser D(x, sigma) for diffusion (torch), EDM-preconditioned."""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DIFFUSION_ARCH", "SIGMA_DATA", "SIGMA_MIN", "SIGMA_MAX", "SigmaUNet",
           "build_diffusion_net"]

#: The shipped CPU architecture: a three-scale U-Net (32², 16², 8²) with one residual
#: block per scale on each side, two in the middle, and the noise level fed to every block.
DIFFUSION_ARCH: dict = {"channels": (32, 64, 96), "emb_dim": 128, "groups": 8}
#: Standard deviation of the training images in the model's range [-1, 1] (the EDM
#: preconditioning uses it; measured on the phantoms: 0.56).
SIGMA_DATA: float = 0.5
#: The noise levels the network was trained on, in the model's range [-1, 1]. Above
#: ``SIGMA_MAX`` the best denoiser is the data mean, which the preconditioning reaches by
#: itself; the network's input is clamped there.
SIGMA_MIN: float = 0.002
SIGMA_MAX: float = 80.0


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


class _FourierEmbedding(nn.Module):
    """``c_noise`` (B,) → (B, dim) with fixed random frequencies, then an MLP."""

    def __init__(self, dim: int):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.register_buffer("freqs", torch.randn(dim // 2, generator=generator) * 4.0)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        arg = 2 * math.pi * c_noise[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([arg.cos(), arg.sin()], dim=1))


class _ResBlock(nn.Module):
    """GroupNorm–SiLU–conv twice; the noise embedding scales and shifts the middle."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(min(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.silu(self.norm1(h)))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        out = self.norm2(out) * (1 + scale) + shift
        out = self.conv2(F.silu(out))
        return self.skip(h) + out


class SigmaUNet(nn.Module):
    r"""A denoiser :math:`D(x, \sigma)` for every noise level, preconditioned as in EDM.

    .. math::
        D(x, \sigma) = c_\mathrm{skip}(\sigma)\, x
                     + c_\mathrm{out}(\sigma)\, F_\theta\big(c_\mathrm{in}(\sigma)\, x,
                       \tfrac14 \ln \sigma\big),

    with :math:`c_\mathrm{skip} = \sigma_d^2/(\sigma^2+\sigma_d^2)`,
    :math:`c_\mathrm{out} = \sigma\sigma_d/\sqrt{\sigma^2+\sigma_d^2}` and
    :math:`c_\mathrm{in} = 1/\sqrt{\sigma^2+\sigma_d^2}`, so that the network's input and
    its target both have unit variance at every σ. ``F`` is a U-Net on three scales
    (``channels`` at full, half and quarter size) whose residual blocks are scaled and
    shifted by an embedding of the noise level.

    Parameters
    ----------
    channels : tuple of int
        Feature channels at full, half and quarter resolution (image sides divisible by 4).
    emb_dim : int
        Width of the noise-level embedding.
    groups : int
        Groups of the group normalisations.

    Notes
    -----
    Images are in the model's range [-1, 1] and ``sigma`` on that scale (twice the noise
    standard deviation of an image in [0, 1]).

    References
    ----------
    T. Karras, M. Aittala, T. Aila and S. Laine, "Elucidating the design space of
    diffusion-based generative models", NeurIPS 2022.
    """

    def __init__(self, channels=DIFFUSION_ARCH["channels"], emb_dim: int = DIFFUSION_ARCH["emb_dim"],
                 groups: int = DIFFUSION_ARCH["groups"]):
        super().__init__()
        if len(channels) != 3:
            raise ValueError(f"channels must hold 3 widths, got {channels}")
        c1, c2, c3 = (_positive_int(c, "channels") for c in channels)
        emb_dim = _positive_int(emb_dim, "emb_dim")
        groups = _positive_int(groups, "groups")
        self.embed = _FourierEmbedding(emb_dim)
        self.head = nn.Conv2d(1, c1, 3, padding=1)
        self.down1 = _ResBlock(c1, c1, emb_dim, groups)
        self.pool1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down2 = _ResBlock(c2, c2, emb_dim, groups)
        self.pool2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.mid1 = _ResBlock(c3, c3, emb_dim, groups)
        self.mid2 = _ResBlock(c3, c3, emb_dim, groups)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2 = _ResBlock(2 * c2, c2, emb_dim, groups)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = _ResBlock(2 * c1, c1, emb_dim, groups)
        self.tail = nn.Sequential(nn.GroupNorm(min(groups, c1), c1), nn.SiLU(),
                                  nn.Conv2d(c1, 1, 3, padding=1))

    def raw(self, x_in: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """The U-Net ``F`` on a preconditioned input (B, 1, M, N) and ``c_noise`` (B,)."""
        emb = self.embed(c_noise)
        h1 = self.down1(self.head(x_in), emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.mid2(self.mid1(self.pool2(h2), emb), emb)
        h = self.dec2(torch.cat([self.up2(h), h2], dim=1), emb)
        h = self.dec1(torch.cat([self.up1(h), h1], dim=1), emb)
        return self.tail(h)

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """Denoise ``x`` (B, 1, M, N) at noise level ``sigma`` (a number or (B,) tensor)."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must be a tensor of shape (B, 1, M, N), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        if x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"x height and width must be multiples of 4, got {tuple(x.shape[2:])}")
        sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1)
        if sigma.numel() == 1:
            sigma = sigma.expand(x.shape[0])
        if sigma.shape[0] != x.shape[0]:
            raise ValueError(f"sigma must be a number or hold one value per image, "
                             f"got {sigma.shape[0]} for {x.shape[0]} images")
        if not bool((sigma > 0).all()):
            raise ValueError("sigma must be > 0")
        s = sigma.clamp(max=SIGMA_MAX)[:, None, None, None]
        sd2 = SIGMA_DATA ** 2
        c_skip = sd2 / (s ** 2 + sd2)
        c_out = s * SIGMA_DATA / (s ** 2 + sd2).sqrt()
        c_in = 1.0 / (s ** 2 + sd2).sqrt()
        # above SIGMA_MAX, x/sigma is what the network saw at SIGMA_MAX
        x_in = x * (s / sigma[:, None, None, None]) * c_in
        c_noise = sigma.clamp(max=SIGMA_MAX).log() / 4
        return c_skip * x * (s / sigma[:, None, None, None]) + c_out * self.raw(x_in, c_noise)


def build_diffusion_net(**arch) -> SigmaUNet:
    """A :class:`SigmaUNet` with :data:`DIFFUSION_ARCH` updated by ``arch``."""
    return SigmaUNet(**dict(DIFFUSION_ARCH, **arch))
