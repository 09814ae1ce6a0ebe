"""FBPConvNet-style residual U-Net that removes sparse-view streaks from an FBP image."""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .denoiser import ResBlock

__all__ = ["FBPCONVNET_ARCH", "VIEW_SCALE", "FBPConvNet", "build_fbpconvnet"]

#: Architecture of the shipped network (``course_utils/weights/fbpconvnet.pt``).
FBPCONVNET_ARCH: dict = {"channels": (32, 64, 96), "num_blocks": (1, 1, 2)}
#: The view-count channel holds ``VIEW_SCALE / num_views`` (1 at 18 views, 0.2 at 90).
VIEW_SCALE: float = 18.0


class FBPConvNet(nn.Module):
    r"""Residual U-Net post-processing of filtered back-projection (Jin et al. 2017).

    The network sees the FBP image ``x_fbp`` and a constant channel ``VIEW_SCALE / K``
    telling it how many views ``K`` were measured (streaks grow as ``K`` falls), and
    predicts the artefact; the estimate is

    .. math:: \hat x = x_{\mathrm{FBP}} + U_\theta\big(x_{\mathrm{FBP}}, 18 / K\big).

    Parameters
    ----------
    channels : tuple of int
        Feature channels at each scale, finest first. The image is first split into its
        four polyphase components (pixel unshuffle), so the finest scale works at half
        the resolution, and each further scale halves it again.
    num_blocks : tuple of int
        Residual blocks per scale (same length as ``channels``); the coarsest scale is
        the bottleneck.

    Notes
    -----
    As in FBPConvNet, the skip connection from input to output makes the network learn
    the artefact ``x − x_FBP`` rather than the image, and the multi-scale U-Net gives the
    large receptive field that streaks, which cross the whole image, require. Unlike the
    original, the convolutions are bias-free (:class:`~course_utils.nets.denoiser.ResBlock`),
    there is no batch normalisation (so the output of one image does not depend on the
    others of its batch) and the image is processed at half resolution after a lossless
    pixel unshuffle, which makes the network four times cheaper. Height and width must
    be multiples of :attr:`stride`.

    References
    ----------
    K. H. Jin, M. T. McCann, E. Froustey, M. Unser, "Deep convolutional neural network
    for inverse problems in imaging", IEEE Trans. Image Process. 26(9), 4509–4522, 2017.
    O. Ronneberger, P. Fischer, T. Brox, "U-Net: convolutional networks for biomedical
    image segmentation", MICCAI 2015.
    """

    def __init__(self, channels=FBPCONVNET_ARCH["channels"],
                 num_blocks=FBPCONVNET_ARCH["num_blocks"]):
        super().__init__()
        channels, num_blocks = tuple(channels), tuple(num_blocks)
        if len(channels) < 1 or len(channels) != len(num_blocks):
            raise ValueError("channels and num_blocks must be non-empty and of equal length, "
                             f"got {channels} and {num_blocks}")
        if not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c > 0
                   for c in channels + num_blocks):
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
        nn.init.zeros_(self.tail.weight)  # start as the identity: x_hat = x_fbp

    @property
    def stride(self) -> int:
        """Height and width of the input must be multiples of this."""
        return 2 ** len(self.channels)

    def _view_map(self, num_views, x: torch.Tensor) -> torch.Tensor:
        batch, _, rows, cols = x.shape
        if not isinstance(num_views, torch.Tensor):
            num_views = torch.tensor(num_views, dtype=x.dtype)
        num_views = num_views.to(dtype=x.dtype, device=x.device).reshape(-1)
        if num_views.numel() not in (1, batch):
            raise ValueError(f"num_views must be a number or have one value per image, "
                             f"got {num_views.numel()} values for {batch} images")
        if not bool(torch.all(num_views >= 1)):
            raise ValueError("num_views must be >= 1")
        scale = (VIEW_SCALE / num_views).view(-1, 1, 1, 1)
        return scale.expand(batch, 1, rows // 2, cols // 2)

    def forward(self, x_fbp: torch.Tensor, num_views) -> torch.Tensor:
        """``x_hat`` of shape (B, 1, M, N) from the FBP images ``x_fbp`` of that shape and
        the number of views (a number, or one per image)."""
        if x_fbp.ndim != 4 or x_fbp.shape[1] != 1:
            raise ValueError(f"x_fbp must have shape (B, 1, M, N), got {tuple(x_fbp.shape)}")
        if x_fbp.shape[2] % self.stride or x_fbp.shape[3] % self.stride:
            raise ValueError(f"x_fbp height and width must be multiples of {self.stride}, "
                             f"got {tuple(x_fbp.shape[2:])}")
        h = torch.cat([F.pixel_unshuffle(x_fbp, 2), self._view_map(num_views, x_fbp)], dim=1)
        h = self.head(h)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            h = encoder(h)
            skips.append(h)
            h = down(h)
        h = self.body(h)
        for up, decoder in zip(self.ups, self.decoders):
            h = decoder(up(h) + skips.pop())
        return x_fbp + F.pixel_shuffle(self.tail(h), 2)


def build_fbpconvnet(**arch) -> FBPConvNet:
    """The shipped architecture (:data:`FBPCONVNET_ARCH`), keywords overriding it."""
    return FBPConvNet(**{**FBPCONVNET_ARCH, **arch})
