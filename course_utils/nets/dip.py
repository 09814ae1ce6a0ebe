"""The deep-image-prior network Ψ(z; w): a small encoder–decoder with skip connections (torch only)."""
from __future__ import annotations

import numbers

import torch
from torch import nn

__all__ = ["DIP_ARCH", "SkipNet", "build_dip_net", "dip_input"]

#: Default architecture: 8 input channels, three scales of 16, 32 and 32 channels, 4 skip
#: channels per scale (≈ 29 k parameters; the paper's hourglass has 128 channels at each of
#: 5 scales and about 2 M parameters).
DIP_ARCH: dict = {"in_channels": 8, "channels": (16, 32, 32), "skip_channels": 4}


def _positive_int(value, name: str, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list:
    """Convolution (reflection padding), batch normalisation, leaky ReLU."""
    return [nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2,
                      padding_mode="reflect" if kernel > 1 else "zeros"),
            nn.BatchNorm2d(c_out, track_running_stats=False),
            nn.LeakyReLU(0.2)]


class SkipNet(nn.Module):
    r"""Encoder–decoder with skip connections, after the "skip" network of Ulyanov et al.

    Scale ``i`` of the encoder halves the size (3×3 convolution of stride 2, then a 3×3
    convolution) and a 1×1 convolution sends ``skip_channels`` maps of its input to the
    decoder. The decoder upsamples (nearest neighbour) the deeper features, concatenates the
    skip maps, and refines with a 3×3 and a 1×1 convolution; every convolution is followed
    by batch normalisation and a leaky ReLU (slope 0.2). A last 1×1 convolution and a
    sigmoid give one image in (0, 1).

    Parameters
    ----------
    in_channels : int
        Channels of the fixed input ``z``.
    channels : tuple of int
        Feature channels of the scales, finest first; the image side must be a multiple of
        ``2 ** len(channels)``.
    skip_channels : int
        Channels of each skip connection (0: no skips, a plain hourglass).

    Notes
    -----
    Batch normalisation always uses the statistics of the current input (no running
    averages), so ``train()`` and ``eval()`` compute the same function: the output that
    was fitted is the output one looks at.

    References
    ----------
    D. Ulyanov, A. Vedaldi, V. Lempitsky, "Deep image prior", CVPR 2018; extended in
    IJCV 128, 2020.
    """

    def __init__(self, in_channels: int = DIP_ARCH["in_channels"],
                 channels: tuple = DIP_ARCH["channels"],
                 skip_channels: int = DIP_ARCH["skip_channels"]):
        super().__init__()
        in_channels = _positive_int(in_channels, "in_channels")
        skip_channels = _positive_int(skip_channels, "skip_channels", low=0)
        try:
            channels = tuple(channels)
        except TypeError:
            raise TypeError(f"channels must be a tuple of positive integers, got "
                            f"{channels!r}") from None
        if not channels:
            raise ValueError("channels must not be empty")
        channels = tuple(_positive_int(c, "channels") for c in channels)
        self.in_channels, self.channels, self.skip_channels = in_channels, channels, \
            skip_channels
        self.down, self.skip, self.up = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        c_in = in_channels
        for c in channels:
            self.skip.append(nn.Sequential(*_conv(c_in, skip_channels, 1))
                             if skip_channels else nn.Identity())
            self.down.append(nn.Sequential(*_conv(c_in, c, 3, 2), *_conv(c, c, 3)))
            c_in = c
        deeper = channels[-1]
        for c in reversed(channels):
            self.up.append(nn.Sequential(*_conv(deeper + skip_channels, c, 3), *_conv(c, c, 1)))
            deeper = c
        self.head = nn.Conv2d(channels[0], 1, 1)

    @property
    def factor(self) -> int:
        """The image side must be a multiple of this number."""
        return 2 ** len(self.channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``Ψ(z; w)``: ``z`` of shape (B, in_channels, M, N) -> images (B, 1, M, N)."""
        if z.ndim != 4 or z.shape[1] != self.in_channels:
            raise ValueError(f"z must have shape (B, {self.in_channels}, M, N), got "
                             f"{tuple(z.shape)}")
        if z.shape[-2] % self.factor or z.shape[-1] % self.factor:
            raise ValueError(f"z must have sides that are multiples of {self.factor}, got "
                             f"{tuple(z.shape[-2:])}")
        skips, h = [], z
        for down, skip in zip(self.down, self.skip):
            skips.append(skip(h) if self.skip_channels else None)
            h = down(h)
        for up, s in zip(self.up, reversed(skips)):
            h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
            h = up(h if s is None else torch.cat([h, s], dim=1))
        return torch.sigmoid(self.head(h))


def build_dip_net(seed: int = 0, **arch) -> SkipNet:
    """A :class:`SkipNet` (``DIP_ARCH`` updated by ``arch``) with weights drawn from
    ``torch.manual_seed(seed)``: the same seed gives the same random network."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    unknown = set(arch) - set(DIP_ARCH)
    if unknown:
        raise TypeError(f"unknown architecture option(s) {sorted(unknown)}; expected "
                        f"{sorted(DIP_ARCH)}")
    devices = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        return SkipNet(**{**DIP_ARCH, **arch})


def dip_input(shape: tuple, in_channels: int = DIP_ARCH["in_channels"], seed: int = 0,
              scale: float = 0.1) -> torch.Tensor:
    """The fixed random input ``z``: uniform on ``[0, scale)``, shape (1, in_channels, M, N),
    float32, drawn from its own generator seeded with ``seed`` (the paper's choice:
    uniform noise scaled by 1/10)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    in_channels = _positive_int(in_channels, "in_channels")
    rows, cols = (_positive_int(s, "shape") for s in shape)
    gen = torch.Generator().manual_seed(int(seed))
    return float(scale) * torch.rand((1, in_channels, rows, cols), generator=gen)
