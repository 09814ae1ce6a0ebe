"""MRI reconstruction networks (torch): k-space interpolation, image-space de-aliasing, unrolled."""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MRI_NET_NAMES", "MRI_ARCH", "fft2c_t", "ifft2c_t", "to_channels", "from_channels",
    "data_consistency", "KSpaceCNN", "DealiasUNet", "UnrolledDC", "build_mri_net",
]

#: The three learned routes of the lecture, in its order.
MRI_NET_NAMES: tuple[str, ...] = ("kspace", "unet", "unrolled")

#: Architectures of the shipped weights ``mri_<name>.pt``.
MRI_ARCH: dict[str, dict] = {
    "kspace": {"channels": 32, "dilations": (1, 2, 4, 8, 4, 2, 1)},
    "unet": {"channels": (16, 32, 64, 128)},
    "unrolled": {"num_cascades": 5, "channels": 32, "num_layers": 4},
}

_EPS = 1e-8


# -- centred orthonormal FFTs on tensors -------------------------------------------------------
def fft2c_t(x: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal 2-D FFT over the last two axes of a complex tensor (the torch
    twin of :func:`course_utils.mri.fft2c`, differentiable)."""
    x = torch.fft.ifftshift(x, dim=(-2, -1))
    return torch.fft.fftshift(torch.fft.fft2(x, norm="ortho"), dim=(-2, -1))


def ifft2c_t(y: torch.Tensor) -> torch.Tensor:
    """Inverse (and adjoint) of :func:`fft2c_t`."""
    y = torch.fft.ifftshift(y, dim=(-2, -1))
    return torch.fft.fftshift(torch.fft.ifft2(y, norm="ortho"), dim=(-2, -1))


def to_channels(z: torch.Tensor) -> torch.Tensor:
    """Complex (B, M, N) → real (B, 2, M, N): real and imaginary parts as channels."""
    return torch.stack([z.real, z.imag], dim=1)


def from_channels(h: torch.Tensor) -> torch.Tensor:
    """Real (B, 2, M, N) → complex (B, M, N)."""
    return torch.complex(h[:, 0].contiguous(), h[:, 1].contiguous())


def data_consistency(k: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
                     lam: float | None = None) -> torch.Tensor:
    r"""Put the measured samples back into a predicted k-space.

    Parameters
    ----------
    k : complex tensor (B, M, N)
        Predicted full k-space ``F x``.
    y : complex tensor (B, M, N)
        Measured k-space (zero where not sampled).
    mask : tensor (B, M, N) or (M, N)
        1 where sampled.
    lam : float, optional
        ``None`` (default): hard replacement, ``k ← (1 − m) ⊙ k + m ⊙ y`` (noise-free
        data are trusted exactly). A number ``λ > 0``: the closed-form minimiser of
        ``‖m ⊙ (k' − y)‖² + λ ‖k' − k‖²``, i.e. ``(m ⊙ y + λ k) / (m + λ)`` (MoDL).

    Returns
    -------
    complex tensor (B, M, N)

    Notes
    -----
    In image terms, ``F^H`` of the result solves ``min_x ‖m ⊙ F x − y‖² + λ‖x − z‖²`` for
    ``z = F^H k``: since ``F`` is orthonormal and ``m`` diagonal, the normal equations
    decouple per k-space sample (Schlemper et al. 2018; Aggarwal et al. 2019).
    """
    m = mask.to(k.real.dtype)
    if lam is None:
        return k + m * (y - k)
    return (m * y + lam * k) / (m + lam)


def _init_relu_convs(module: nn.Module) -> None:
    """He (Kaiming) normal initialisation of every convolution followed by a ReLU, zero
    biases: keeps the activations of a deep ReLU stack of order one."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _kspace_weight(shape, device, dtype) -> torch.Tensor:
    """``w(k) = (|k| + 1) / (n / 2)``, ``|k|`` the distance to the zero frequency in grid
    cells, ``n = √(MN)``: a ramp that flattens the k-space dynamic range (Han et al.)."""
    M, N = shape
    r = torch.arange(M, device=device, dtype=dtype) - M // 2
    c = torch.arange(N, device=device, dtype=dtype) - N // 2
    rad = torch.sqrt(r[:, None] ** 2 + c[None, :] ** 2)
    return (rad + 1.0) / (0.5 * (M * N) ** 0.5)


def _normaliser(y: torch.Tensor) -> torch.Tensor:
    """Per-example scale ``max |F^H y|`` (B, 1, 1), so inputs are of order one."""
    peak = ifft2c_t(y).abs().flatten(1).amax(dim=1)
    return peak.clamp_min(_EPS).view(-1, 1, 1)


def _check_inputs(y, mask):
    if not torch.is_tensor(y) or not torch.is_complex(y):
        raise TypeError(f"y must be a complex tensor (B, M, N), got "
                        f"{type(y).__name__ if not torch.is_tensor(y) else y.dtype}")
    if y.ndim != 3:
        raise ValueError(f"y must have shape (B, M, N), got {tuple(y.shape)}")
    if not torch.is_tensor(mask) or torch.is_complex(mask):
        raise TypeError("mask must be a real or boolean tensor (M, N) or (B, M, N)")
    if tuple(mask.shape[-2:]) != tuple(y.shape[-2:]) or mask.ndim not in (2, 3):
        raise ValueError(f"mask must have shape (M, N) or (B, M, N) matching y "
                         f"{tuple(y.shape)}, got {tuple(mask.shape)}")
    mask = mask.to(y.real.dtype)
    if mask.ndim == 2:
        mask = mask.expand(y.shape[0], -1, -1)
    return mask


def _positive_ints(values, name):
    values = tuple(values) if not isinstance(values, numbers.Integral) else (values,)
    if not values or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                             and v > 0 for v in values):
        raise ValueError(f"{name} must be positive integers, got {values}")
    return tuple(int(v) for v in values)


# -- 1. interpolation in k-space -------------------------------------------------------------
class KSpaceCNN(nn.Module):
    r"""Route 1 of the lecture: a CNN that fills in the missing k-space samples.

    The masked k-space is weighted by the ramp ``w(k) ∝ |k| + 1`` (so that low and high
    frequencies have comparable magnitudes; a fixed :attr:`input_gain` brings its RMS
    to about one), its real and imaginary parts and the mask
    form three input channels, and a stack of dilated 3×3 convolutions predicts a
    residual; after un-weighting, data consistency re-inserts every measured sample:

    .. math:: \hat k = (1 - m) \odot \big(y + w^{-1} \mathrm{CNN}(w y, m)\big) + m \odot y,
              \qquad \hat x = F^H \hat k .

    Parameters
    ----------
    channels : int
        Feature channels of the hidden layers.
    dilations : tuple of int
        Dilation of each hidden 3×3 convolution; the receptive field along a
        phase-encode column is ``1 + 2 Σ dilations`` samples, enough to bridge the gaps
        of an 8× mask with the default.

    Notes
    -----
    Input and output are normalised by the peak of the zero-filled image, so the network
    sees data of order one whatever the image scale or size. Convolutions in k-space act
    as shift-invariant interpolation kernels, as in GRAPPA; Han et al. showed that the
    ramp weighting makes a k-space network equivalent to one working on image
    derivatives.

    References
    ----------
    Y. Han, L. Sunwoo and J. C. Ye, "k-space deep learning for accelerated MRI",
    IEEE Trans. Med. Imaging 39(2), 377–386, 2019.
    M. A. Griswold et al., "Generalized autocalibrating partially parallel acquisitions
    (GRAPPA)", Magn. Reson. Med. 47(6), 1202–1210, 2002.
    """

    #: Fixed gain on the weighted k-space: its RMS is then about one on the training data.
    input_gain = 10.0

    def __init__(self, channels: int = 32, dilations=(1, 2, 4, 8, 4, 2, 1)):
        super().__init__()
        (channels,) = _positive_ints(channels, "channels")
        dilations = _positive_ints(dilations, "dilations")
        self.channels, self.dilations = channels, dilations
        layers = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU()]
        for d in dilations:
            layers += [nn.Conv2d(channels, channels, 3, padding=d, dilation=d), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        _init_relu_convs(self.body)
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x_hat`` (complex (B, M, N)) from masked k-space ``y`` (complex
        (B, M, N)) and the mask ((M, N) or (B, M, N))."""
        mask = _check_inputs(y, mask)
        scale = _normaliser(y)
        yn = y / scale
        w = self.input_gain * _kspace_weight(y.shape[-2:], y.device, y.real.dtype)
        h = torch.cat([to_channels(yn * w), mask[:, None]], dim=1)
        k = yn + from_channels(self.body(h)) / w
        k = data_consistency(k, yn, mask)
        return ifft2c_t(k) * scale


# -- 2. de-aliasing in image space -----------------------------------------------------------
class _DoubleConv(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class DealiasUNet(nn.Module):
    r"""Route 2 of the lecture: a residual U-Net that removes aliasing from the
    zero-filled image.

    .. math:: \hat x = x_0 + \mathrm{UNet}(x_0), \qquad x_0 = F^H y,

    with the complex image as two channels (real, imaginary), so the phase is kept.

    Parameters
    ----------
    channels : tuple of int
        Channels at each scale, finest first; each scale halves the image size, so
        ``M`` and ``N`` must be multiples of ``2 ** (len(channels) - 1)``.

    Notes
    -----
    The network never looks at the measurements again: it is post-processing, like the
    FBPConvNet of Jin et al. for CT; a wrong output is not pulled back towards the data
    (compare :class:`UnrolledDC`). The mask argument of :meth:`forward` is accepted for a
    common signature and only checked. The residual form learns the aliasing artefact,
    which is simpler than the image (Lee et al. 2018).

    References
    ----------
    K. H. Jin, M. T. McCann, E. Froustey and M. Unser, "Deep convolutional neural network
    for inverse problems in imaging", IEEE Trans. Image Process. 26(9), 4509–4522, 2017.
    D. Lee, J. Yoo, S. Tak and J. C. Ye, "Deep residual learning for accelerated MRI using
    magnitude and phase networks", IEEE Trans. Biomed. Eng. 65(9), 1985–1995, 2018.
    O. Ronneberger, P. Fischer and T. Brox, "U-Net: convolutional networks for biomedical
    image segmentation", MICCAI 2015.
    """

    def __init__(self, channels=(16, 32, 64, 128)):
        super().__init__()
        channels = _positive_ints(channels, "channels")
        if len(channels) < 2:
            raise ValueError(f"channels must have at least two scales, got {channels}")
        self.channels = channels
        self.encoders = nn.ModuleList()
        c_prev = 2
        for c in channels:
            self.encoders.append(_DoubleConv(c_prev, c))
            c_prev = c
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for c_low, c in zip(channels[::-1][:-1], channels[::-1][1:]):
            self.ups.append(nn.ConvTranspose2d(c_low, c, 2, stride=2))
            self.decoders.append(_DoubleConv(2 * c, c))
        self.tail = nn.Conv2d(channels[0], 2, 1)
        _init_relu_convs(self)
        nn.init.zeros_(self.tail.weight)

    @property
    def stride(self) -> int:
        """``M`` and ``N`` must be multiples of this."""
        return 2 ** (len(self.channels) - 1)

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x_hat`` (complex (B, M, N)) from masked k-space ``y``."""
        _check_inputs(y, mask)
        if y.shape[-2] % self.stride or y.shape[-1] % self.stride:
            raise ValueError(f"y height and width must be multiples of {self.stride}, "
                             f"got {tuple(y.shape[-2:])}")
        scale = _normaliser(y)
        x0 = ifft2c_t(y) / scale
        h = to_channels(x0)
        skips = []
        for j, enc in enumerate(self.encoders):
            h = enc(h if j == 0 else F.max_pool2d(h, 2))
            skips.append(h)
        skips.pop()
        for up, dec in zip(self.ups, self.decoders):
            h = dec(torch.cat([up(h), skips.pop()], dim=1))
        return (x0 + from_channels(self.tail(h))) * scale


# -- 3. unrolled network with data consistency -------------------------------------------------
class _Denoiser(nn.Module):
    """Residual CNN ``z + CNN(z)`` on 2-channel complex images."""

    def __init__(self, channels, num_layers):
        super().__init__()
        layers, c_prev = [], 2
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(c_prev, channels, 3, padding=1), nn.ReLU()]
            c_prev = channels
        layers.append(nn.Conv2d(c_prev, 2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x):
        return x + from_channels(self.body(to_channels(x)))


class UnrolledDC(nn.Module):
    r"""Route 3 of the lecture (operator learning): a cascade of small CNNs, each
    followed by exact data consistency with the Cartesian mask.

    .. math:: x_0 = F^H y, \qquad
              z_t = x_{t-1} + \mathrm{CNN}_t(x_{t-1}), \qquad
              x_t = F^H\big((1 - m) \odot F z_t + m \odot y\big), \quad t = 1..T.

    Each stage is one step of an unrolled proximal (or half-quadratic splitting) method:
    a learned denoiser replaces the proximal map of the prior, and the data step is
    solved exactly because ``F^H \mathrm{diag}(m) F`` is diagonal in k-space.

    Parameters
    ----------
    num_cascades : int
        Number of CNN + data-consistency stages ``T`` (separate weights per stage).
    channels : int
        Feature channels of each CNN.
    num_layers : int
        3×3 convolutions per CNN (at least 2).

    References
    ----------
    J. Schlemper, J. Caballero, J. V. Hajnal, A. N. Price and D. Rueckert, "A deep
    cascade of convolutional neural networks for dynamic MR image reconstruction",
    IEEE Trans. Med. Imaging 37(2), 491–503, 2018.
    H. K. Aggarwal, M. P. Mani and M. Jacob, "MoDL: model-based deep learning
    architecture for inverse problems", IEEE Trans. Med. Imaging 38(2), 394–405, 2019.
    """

    def __init__(self, num_cascades: int = 5, channels: int = 32, num_layers: int = 4):
        super().__init__()
        (num_cascades,) = _positive_ints(num_cascades, "num_cascades")
        (channels,) = _positive_ints(channels, "channels")
        (num_layers,) = _positive_ints(num_layers, "num_layers")
        if num_layers < 2:
            raise ValueError(f"num_layers must be >= 2, got {num_layers}")
        self.num_cascades, self.channels, self.num_layers = num_cascades, channels, num_layers
        self.stages = nn.ModuleList(_Denoiser(channels, num_layers)
                                    for _ in range(num_cascades))

    def forward(self, y: torch.Tensor, mask: torch.Tensor, *,
                return_all: bool = False):
        """Reconstruct ``x_hat`` (complex (B, M, N)); with ``return_all`` also the list of
        every stage's output ``[x_0, x_1, ..., x_T]``."""
        mask = _check_inputs(y, mask)
        scale = _normaliser(y)
        yn = y / scale
        x = ifft2c_t(yn)
        outputs = [x * scale]
        for stage in self.stages:
            z = stage(x)
            x = ifft2c_t(data_consistency(fft2c_t(z), yn, mask))
            outputs.append(x * scale)
        return (outputs[-1], outputs) if return_all else outputs[-1]


_CLASSES = {"kspace": KSpaceCNN, "unet": DealiasUNet, "unrolled": UnrolledDC}


def build_mri_net(name: str, **arch) -> nn.Module:
    """The network ``name`` (one of :data:`MRI_NET_NAMES`) with the shipped architecture
    (:data:`MRI_ARCH`), keywords overriding it."""
    if not isinstance(name, str) or name not in _CLASSES:
        raise ValueError(f"Unknown name: {name!r}; expected one of {MRI_NET_NAMES}")
    return _CLASSES[name](**{**MRI_ARCH[name], **arch})
