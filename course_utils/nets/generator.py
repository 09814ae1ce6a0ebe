"""A small convolutional generator G: z -> x (64x64 images) and its VAE encoder (torch only)."""
from __future__ import annotations

import numbers

import torch
from torch import nn

__all__ = ["GENERATOR_ARCH", "Generator", "Encoder", "build_generator", "build_encoder",
           "load_generator"]

#: Architecture of the shipped generator (``course_utils/weights/generator.pt``).
GENERATOR_ARCH: dict = {"latent_dim": 32, "channels": (64, 32), "shuffle": 4, "image_size": 64}


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_arch(latent_dim, channels, shuffle, image_size):
    latent_dim = _positive_int(latent_dim, "latent_dim")
    shuffle = _positive_int(shuffle, "shuffle")
    image_size = _positive_int(image_size, "image_size")
    try:
        channels = tuple(channels)
    except TypeError:
        raise ValueError(f"channels must be a tuple of positive integers, got {channels!r}") \
            from None
    if not channels:
        raise ValueError("channels must not be empty")
    channels = tuple(_positive_int(c, "channels") for c in channels)
    step = shuffle * 2 ** len(channels)
    if image_size % step:
        raise ValueError(f"image_size must be a multiple of shuffle * 2**len(channels) = "
                         f"{step}, got {image_size}")
    return latent_dim, channels, shuffle, image_size, image_size // step


class Generator(nn.Module):
    r"""DCGAN-style decoder ``G: R^d -> [0, 1]^{S x S}``.

    A linear layer maps ``z`` to ``channels[0]`` feature maps of size
    ``S / (r 2^L)``; each of the ``L = len(channels)`` stages doubles the size with a 4x4
    transposed convolution (stride 2) and refines it with a 3x3 convolution (ReLUs); a
    last 3x3 convolution gives ``r²`` channels that a pixel shuffle rearranges into one
    ``S x S`` image, squashed into [0, 1] by a sigmoid.

    Parameters
    ----------
    latent_dim : int
        Dimension ``d`` of ``z``.
    channels : tuple of int
        Feature channels of the successive stages, coarsest first.
    shuffle : int
        Pixel-shuffle factor ``r``: the convolutions work at ``S / r`` pixels a side,
        which keeps the network cheap to train on a CPU.
    image_size : int
        Side ``S`` of the output, a multiple of ``r 2^L``.

    Notes
    -----
    The range ``{G(z) : z ∈ R^d}`` is a ``d``-dimensional manifold in the ``S²``-dimensional
    image space: a generative prior constrains the reconstruction to it,
    ``x̂ = G(ẑ)``, ``ẑ = argmin_z ‖y − A G(z)‖²`` (Bora et al. 2017).

    References
    ----------
    A. Radford, L. Metz, S. Chintala, "Unsupervised representation learning with deep
    convolutional generative adversarial networks", ICLR 2016.
    W. Shi et al., "Real-time single image and video super-resolution using an efficient
    sub-pixel convolutional neural network", CVPR 2016 (pixel shuffle).
    """

    def __init__(self, latent_dim: int = 32, channels=(64, 32), shuffle: int = 4,
                 image_size: int = 64):
        super().__init__()
        latent_dim, channels, shuffle, image_size, base = _check_arch(
            latent_dim, channels, shuffle, image_size)
        self.latent_dim, self.channels = latent_dim, channels
        self.shuffle, self.image_size, self._base = shuffle, image_size, base
        self.fc = nn.Linear(latent_dim, channels[0] * base * base)
        layers: list[nn.Module] = []
        c_in = channels[0]
        for c_out in channels:
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU()]
            c_in = c_out
        layers += [nn.Conv2d(c_in, shuffle * shuffle, 3, padding=1), nn.PixelShuffle(shuffle)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images of shape (B, 1, S, S) in [0, 1] for ``z`` of shape (B, d) (or (d,))."""
        if z.ndim == 1:
            z = z.unsqueeze(0)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        h = torch.relu(self.fc(z)).view(-1, self.channels[0], self._base, self._base)
        return torch.sigmoid(self.body(h))


class Encoder(nn.Module):
    """VAE encoder ``x -> (mu, log_var)``, the mirror of :class:`Generator` (training only).

    Parameters
    ----------
    latent_dim, channels, shuffle, image_size
        As in :class:`Generator`.
    """

    def __init__(self, latent_dim: int = 32, channels=(64, 32), shuffle: int = 4,
                 image_size: int = 64):
        super().__init__()
        latent_dim, channels, shuffle, image_size, base = _check_arch(
            latent_dim, channels, shuffle, image_size)
        self.latent_dim, self.image_size = latent_dim, image_size
        layers: list[nn.Module] = [nn.PixelUnshuffle(shuffle)]
        c_in = shuffle * shuffle
        for c_out in reversed(channels):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 4, stride=2, padding=1), nn.ReLU()]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * base * base, 2 * latent_dim)

    def forward(self, x: torch.Tensor):
        """``(mu, log_var)``, each of shape (B, d), for ``x`` of shape (B, 1, S, S)."""
        if x.ndim != 4 or x.shape[1:] != (1, self.image_size, self.image_size):
            raise ValueError(f"x must have shape (B, 1, {self.image_size}, {self.image_size}), "
                             f"got {tuple(x.shape)}")
        mu, log_var = self.fc(self.body(x).flatten(1)).chunk(2, dim=1)
        return mu, log_var


def build_generator(**arch) -> Generator:
    """The shipped generator's architecture (:data:`GENERATOR_ARCH`), keywords overriding it."""
    return Generator(**{**GENERATOR_ARCH, **arch})


def build_encoder(**arch) -> Encoder:
    """The encoder matching :func:`build_generator`."""
    return Encoder(**{**GENERATOR_ARCH, **arch})


def load_generator() -> Generator:
    """The shipped generator with its trained weights, in eval mode, gradients off.

    Raises
    ------
    course_utils.weights.MissingWeightsError
        If ``generator.pt`` is absent (the message names the training command).
    """
    from .. import weights

    return weights.load_frozen(build_generator(), "generator")
