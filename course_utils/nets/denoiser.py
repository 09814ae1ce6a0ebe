"""A noise-level-conditional U-Net denoiser (DRUNet family): one network for every sigma."""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DENOISER_ARCH", "DRUNetLite", "ResBlock", "build_denoiser"]

#: Architecture of the shipped denoiser (``course_utils/weights/denoiser.pt``).
DENOISER_ARCH: dict = {"channels": (32, 64, 128), "num_blocks": (2, 2, 2)}


class ResBlock(nn.Module):
    """Bias-free residual block ``h + conv(relu(conv(h)))`` with 3x3 convolutions."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(F.relu(self.conv1(h)))


class DRUNetLite(nn.Module):
    r"""Small DRUNet-style U-Net that denoises ``y = x + sigma * n`` given ``sigma``.

    The noisy image is rearranged into its four polyphase components (pixel unshuffle, as
    in FFDNet), a constant noise-level map ``sigma`` is appended as a fifth channel, and a
    bias-free U-Net with residual blocks at ``len(channels)`` scales predicts the noise:

    .. math:: \hat x = y - R_\theta(y, \sigma).

    Parameters
    ----------
    channels : tuple of int
        Feature channels at each scale, finest first (each scale halves the size).
    num_blocks : tuple of int
        Residual blocks per scale, same length as ``channels``.

    Notes
    -----
    Height and width of the input must be multiples of :attr:`stride`
    (``2 ** len(channels)``); :func:`course_utils.denoisers.denoise` pads for you.
    All convolutions are bias-free, which helps the network generalise across noise levels
    (Mohan et al. 2020).

    References
    ----------
    K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool, R. Timofte, "Plug-and-play image
    restoration with deep denoiser prior", IEEE TPAMI, 2021 (DRUNet).
    K. Zhang, W. Zuo, L. Zhang, "FFDNet: toward a fast and flexible solution for CNN-based
    image denoising", IEEE TIP, 2018.
    S. Mohan, Z. Kadkhodaie, E. P. Simoncelli, C. Fernandez-Granda, "Robust and
    interpretable blind image denoising via bias-free convolutional neural networks",
    ICLR 2020.
    """

    def __init__(self, channels=(32, 64, 128), num_blocks=(2, 2, 2)):
        super().__init__()
        channels, num_blocks = tuple(channels), tuple(num_blocks)
        if len(channels) < 1 or len(channels) != len(num_blocks):
            raise ValueError("channels and num_blocks must be non-empty and of equal length, "
                             f"got {channels} and {num_blocks}")
        if not all(isinstance(c, numbers.Integral) and c > 0 for c in channels + num_blocks):
            raise ValueError(f"channels and num_blocks must be positive integers, "
                             f"got {channels} and {num_blocks}")
        self.channels, self.num_blocks = channels, num_blocks
        self.head = nn.Conv2d(4 + 1, channels[0], 3, padding=1, bias=False)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for c, c_next, nb in zip(channels[:-1], channels[1:], num_blocks[:-1]):
            self.encoders.append(nn.Sequential(*[ResBlock(c) for _ in range(nb)]))
            self.downs.append(nn.Conv2d(c, c_next, 2, stride=2, bias=False))
        self.body = nn.Sequential(*[ResBlock(channels[-1]) for _ in range(num_blocks[-1])])
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for c, c_next, nb in reversed(list(zip(channels[:-1], channels[1:], num_blocks[:-1]))):
            self.ups.append(nn.ConvTranspose2d(c_next, c, 2, stride=2, bias=False))
            self.decoders.append(nn.Sequential(*[ResBlock(c) for _ in range(nb)]))
        self.tail = nn.Conv2d(channels[0], 4, 3, padding=1, bias=False)
        nn.init.zeros_(self.tail.weight)  # start as the identity x_hat = y

    @property
    def stride(self) -> int:
        """Height and width of the input must be multiples of this."""
        return 2 ** len(self.channels)

    def _sigma_map(self, sigma, y: torch.Tensor) -> torch.Tensor:
        batch, _, rows, cols = y.shape
        if not isinstance(sigma, torch.Tensor):
            sigma = torch.tensor(float(sigma))
        sigma = sigma.to(dtype=y.dtype, device=y.device)
        if sigma.ndim == 4:
            if sigma.shape[0] not in (1, batch) or sigma.shape[1:] not in (
                    (1, 1, 1), (1, rows, cols)):
                raise ValueError("sigma map must have shape (B, 1, 1, 1) or (B, 1, M, N), "
                                 f"got {tuple(sigma.shape)}")
            if sigma.shape[2:] == (rows, cols):
                return F.avg_pool2d(sigma.expand(batch, 1, rows, cols), 2)
            return sigma.expand(batch, 1, rows // 2, cols // 2)
        sigma = sigma.reshape(-1)
        if sigma.numel() not in (1, batch):
            raise ValueError(f"sigma must be a scalar or have one value per image, "
                             f"got {sigma.numel()} values for {batch} images")
        return sigma.view(-1, 1, 1, 1).expand(batch, 1, rows // 2, cols // 2)

    def forward(self, y: torch.Tensor, sigma) -> torch.Tensor:
        """Denoise ``y`` of shape (B, 1, M, N); ``sigma`` a scalar, (B,) or a (B, 1, M, N) map."""
        if y.ndim != 4 or y.shape[1] != 1:
            raise ValueError(f"y must have shape (B, 1, M, N), got {tuple(y.shape)}")
        if y.shape[2] % self.stride or y.shape[3] % self.stride:
            raise ValueError(f"y height and width must be multiples of {self.stride}, "
                             f"got {tuple(y.shape[2:])}")
        h = self.head(torch.cat([F.pixel_unshuffle(y, 2), self._sigma_map(sigma, y)], dim=1))
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            h = encoder(h)
            skips.append(h)
            h = down(h)
        h = self.body(h)
        for up, decoder in zip(self.ups, self.decoders):
            h = decoder(up(h) + skips.pop())
        return y - F.pixel_shuffle(self.tail(h), 2)


def build_denoiser(**arch) -> DRUNetLite:
    """The shipped denoiser's architecture (:data:`DENOISER_ARCH`), keywords overriding it."""
    return DRUNetLite(**{**DENOISER_ARCH, **arch})
