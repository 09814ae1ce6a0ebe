"""Small ×4 super-resolution networks: pre-, post-, progressive upsampling and back-projection."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .._bicubic import bicubic_matrix

__all__ = ["SR_ARCH", "SR_NET_NAMES", "SIGMA_NORM", "bicubic_torch", "PreUpsampling",
           "PostUpsampling",
           "Progressive", "BackProjection", "Discriminator", "build_sr_net", "count_parameters",
           "load_sr_net", "apply_sr_net", "perceptual_features"]

#: Architecture of each shipped network (all ×4, grey images).
SR_ARCH: dict[str, dict] = {
    "pre": {"channels": 64, "depth": 10, "pack": 2},
    "post": {"channels": 64, "depth": 8},
    "progressive": {"channels": 48, "depth": 3},
    "dbpn": {"channels": 20, "num_stages": 2},
}
SR_NET_NAMES: tuple[str, ...] = tuple(SR_ARCH)
#: The noise-level channel holds ``sigma / SIGMA_NORM`` (1 at the top of the training range).
SIGMA_NORM: float = 10 / 255


@functools.lru_cache(maxsize=64)
def _matrix(n: int, scale: int) -> torch.Tensor:
    return torch.from_numpy(np.array(bicubic_matrix(n, scale), dtype=np.float32))


def bicubic_torch(y: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upsampling of a batch (B, C, m, n) by ``scale``, the same map as
    :func:`course_utils.sr.bicubic` (separable Keys kernel, pixel centres aligned)."""
    if y.ndim != 4:
        raise ValueError(f"y must have shape (B, C, m, n), got {tuple(y.shape)}")
    rows = _matrix(int(y.shape[2]), int(scale)).to(y.dtype)
    cols = _matrix(int(y.shape[3]), int(scale)).to(y.dtype)
    return torch.matmul(torch.matmul(rows, y), cols.T)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


def _init_relu(model: nn.Module) -> None:
    """He (Kaiming) normal initialisation of every convolution followed by a ReLU, zero
    biases; with PyTorch's default initialisation the signal of a plain ReLU stack fades
    layer after layer and the last layer only sees constant features."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)


def _zero_last(conv: nn.Module) -> nn.Module:
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


def _check_input(y: torch.Tensor) -> None:
    if not isinstance(y, torch.Tensor) or y.ndim != 4 or y.shape[1] != 1:
        raise ValueError(f"y must be a tensor of shape (B, 1, m, n), "
                         f"got {tuple(getattr(y, 'shape', ()))}")


def _with_sigma(y: torch.Tensor, sigma) -> torch.Tensor:
    """``y`` (B, 1, m, n) with a second, constant channel ``sigma / SIGMA_NORM``."""
    batch = y.shape[0]
    sigma = torch.as_tensor(sigma, dtype=y.dtype).reshape(-1)
    if sigma.numel() not in (1, batch):
        raise ValueError(f"sigma must be a scalar or have one value per image, got "
                         f"{sigma.numel()} values for {batch} images")
    level = (sigma / SIGMA_NORM).view(-1, 1, 1, 1).expand(batch, 1, *y.shape[2:])
    return torch.cat([y, level], dim=1)


class PreUpsampling(nn.Module):
    r"""Pre-upsampling: bicubic ×4 first, then a CNN refines on the high-resolution grid.

    .. math:: \hat x = U y + R_\theta(U y, \sigma),

    with ``U`` bicubic upsampling and ``R_θ`` ``depth`` 3×3 convolutions (ReLU between),
    which predicts the missing detail (residual learning). Every network here also takes
    the noise level ``sigma`` as a constant input channel (as FFDNet does).

    With ``pack = 2`` the refiner first folds each 2 × 2 block of the upsampled image into
    four channels (space-to-depth, as FFDNet does) and unfolds its output at the end: the
    same convolutions then see twice the context for a quarter of the cost per layer. The
    input is still the interpolated high-resolution image, and the output is a correction
    of it, which is what makes the framework "pre-upsampling".

    References
    ----------
    C. Dong, C. C. Loy, K. He, X. Tang, "Image super-resolution using deep convolutional
    networks", IEEE TPAMI, 2016 (SRCNN).
    J. Kim, J. K. Lee, K. M. Lee, "Accurate image super-resolution using very deep
    convolutional networks", CVPR 2016 (VDSR).
    """

    scale = 4

    def __init__(self, channels: int = 32, depth: int = 7, pack: int = 1):
        super().__init__()
        if pack not in (1, 2, 4):
            raise ValueError(f"pack must be 1, 2 or 4, got {pack}")
        self.pack = int(pack)
        layers = [_conv(self.pack ** 2 + 1, channels), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [_conv(channels, channels), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        _init_relu(self.body)
        self.body.append(_zero_last(_conv(channels, self.pack ** 2)))

    def forward(self, y: torch.Tensor, sigma=0.0) -> torch.Tensor:
        """``y`` (B, 1, m, n), noise level ``sigma`` (scalar or (B,)) -> (B, 1, 4m, 4n)."""
        _check_input(y)
        up = bicubic_torch(y, self.scale)
        if self.pack == 1:
            return up + self.body(_with_sigma(up, sigma))
        packed = F.pixel_unshuffle(up, self.pack)
        level = _with_sigma(packed[:, :1], sigma)[:, 1:]
        return up + F.pixel_shuffle(self.body(torch.cat([packed, level], dim=1)), self.pack)


class PostUpsampling(nn.Module):
    r"""Post-upsampling: features on the low-resolution grid, then one sub-pixel convolution.

    ``depth − 1`` 3×3 convolutions on the ``m × n`` grid, a last one to ``s² = 16``
    channels, and a pixel shuffle to ``4m × 4n``; the result is added to the bicubic
    upsampling (a fixed skip, so the network learns the detail only).

    .. math:: \hat x = U y + \mathrm{PS}(F_\theta(y)).

    References
    ----------
    W. Shi et al., "Real-time single image and video super-resolution using an efficient
    sub-pixel convolutional neural network", CVPR 2016 (ESPCN).
    """

    scale = 4

    def __init__(self, channels: int = 64, depth: int = 8):
        super().__init__()
        layers = [_conv(2, channels), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [_conv(channels, channels), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        _init_relu(self.body)
        self.body.append(_zero_last(_conv(channels, self.scale ** 2)))

    def forward(self, y: torch.Tensor, sigma=0.0) -> torch.Tensor:
        """``y`` (B, 1, m, n), noise level ``sigma`` (scalar or (B,)) -> (B, 1, 4m, 4n)."""
        _check_input(y)
        return bicubic_torch(y, self.scale) + F.pixel_shuffle(
            self.body(_with_sigma(y, sigma)), self.scale)


class Progressive(nn.Module):
    r"""Progressive upsampling: two ×2 stages, each upsamples the features and refines.

    Feature branch: ``depth`` convolutions, a sub-pixel ×2 layer, per stage. Image branch:
    stage ``k`` output is ``U₂ x_{k−1} + r_k`` with ``U₂`` bicubic ×2 and ``r_k`` a residual
    predicted from the stage's features. Both outputs (×2 and ×4) are supervised.

    References
    ----------
    W.-S. Lai, J.-B. Huang, N. Ahuja, M.-H. Yang, "Deep Laplacian pyramid networks for fast
    and accurate super-resolution", CVPR 2017 (LapSRN).
    """

    scale = 4

    def __init__(self, channels: int = 48, depth: int = 3):
        super().__init__()
        self.head = _conv(2, channels)
        self.stages = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.residuals = nn.ModuleList()
        for _ in range(2):
            body = []
            for _ in range(depth):
                body += [_conv(channels, channels), nn.ReLU()]
            self.stages.append(nn.Sequential(*body))
            self.ups.append(_conv(channels, 4 * channels))
            self.residuals.append(_conv(channels, 1))
        _init_relu(self)
        for res in self.residuals:
            _zero_last(res)

    def forward_all(self, y: torch.Tensor, sigma=0.0) -> list[torch.Tensor]:
        """The ×2 and ×4 outputs."""
        _check_input(y)
        h, img, outs = F.relu(self.head(_with_sigma(y, sigma))), y, []
        for stage, up, res in zip(self.stages, self.ups, self.residuals):
            h = F.relu(F.pixel_shuffle(up(stage(h)), 2))
            img = bicubic_torch(img, 2) + res(h)
            outs.append(img)
        return outs

    def forward(self, y: torch.Tensor, sigma=0.0) -> torch.Tensor:
        """``y`` (B, 1, m, n), noise level ``sigma`` (scalar or (B,)) -> (B, 1, 4m, 4n)."""
        return self.forward_all(y, sigma)[-1]


class _UpProjection(nn.Module):
    """DBPN up-projection: H0 = up(L); L0 = down(H0); H1 = up(L0 − L); return H0 + H1."""

    def __init__(self, c: int):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(c, c, 8, stride=4, padding=2)
        self.down = nn.Conv2d(c, c, 8, stride=4, padding=2)
        self.up2 = nn.ConvTranspose2d(c, c, 8, stride=4, padding=2)
        self.act = nn.PReLU(c)

    def forward(self, low):
        h0 = self.act(self.up1(low))
        l0 = self.act(self.down(h0))
        return h0 + self.act(self.up2(l0 - low))


class _DownProjection(nn.Module):
    """DBPN down-projection: L0 = down(H); H0 = up(L0); L1 = down(H0 − H); return L0 + L1."""

    def __init__(self, c: int):
        super().__init__()
        self.down1 = nn.Conv2d(c, c, 8, stride=4, padding=2)
        self.up = nn.ConvTranspose2d(c, c, 8, stride=4, padding=2)
        self.down2 = nn.Conv2d(c, c, 8, stride=4, padding=2)
        self.act = nn.PReLU(c)

    def forward(self, high):
        l0 = self.act(self.down1(high))
        h0 = self.act(self.up(l0))
        return l0 + self.act(self.down2(h0 - high))


class BackProjection(nn.Module):
    r"""Learned iterative back-projection: alternating up- and down-projection units.

    Each unit maps features to the other resolution, maps them back, and corrects its
    first guess with the back-projected error (error feedback, as in IBP but with learned
    ×4 up- and down-sampling layers). The high-resolution features of every up-projection
    are concatenated and reconstructed by a 3×3 convolution, added to the bicubic image.

    References
    ----------
    M. Haris, G. Shakhnarovich, N. Ukita, "Deep back-projection networks for
    super-resolution", CVPR 2018 (DBPN).
    M. Irani, S. Peleg, "Improving resolution by image registration", CVGIP 1991.
    """

    scale = 4

    def __init__(self, channels: int = 20, num_stages: int = 2):
        super().__init__()
        self.head = nn.Sequential(_conv(2, channels), nn.PReLU(channels))
        self.ups = nn.ModuleList([_UpProjection(channels) for _ in range(num_stages)])
        self.downs = nn.ModuleList([_DownProjection(channels) for _ in range(num_stages - 1)])
        self.tail = _zero_last(_conv(channels * num_stages, 1))

    def forward(self, y: torch.Tensor, sigma=0.0) -> torch.Tensor:
        """``y`` (B, 1, m, n), noise level ``sigma`` (scalar or (B,)) -> (B, 1, 4m, 4n)."""
        _check_input(y)
        low, highs = self.head(_with_sigma(y, sigma)), []
        for k, up in enumerate(self.ups):
            highs.append(up(low))
            if k < len(self.downs):
                low = self.downs[k](highs[-1])
        return bicubic_torch(y, self.scale) + self.tail(torch.cat(highs, dim=1))


class Discriminator(nn.Module):
    """A tiny patch discriminator (strided convolutions, one logit per patch)."""

    def __init__(self, channels: int = 16):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * c, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(1, 2, 3))


_CLASSES = {"pre": PreUpsampling, "post": PostUpsampling, "progressive": Progressive,
            "dbpn": BackProjection}


def build_sr_net(name: str, **arch) -> nn.Module:
    """A fresh network ``name`` (one of :data:`SR_NET_NAMES`), :data:`SR_ARCH` overridden by
    ``arch``."""
    from .._validate import check_choice

    check_choice(name, "framework", SR_NET_NAMES)
    return _CLASSES[name](**{**SR_ARCH[name], **arch})


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


@functools.lru_cache(maxsize=16)
def load_sr_net(weights_name: str) -> nn.Module:
    """The shipped network ``sr_<framework>`` (or a loss variant such as ``sr_loss_tv``),
    in eval mode, loaded once (SHA-256 checked)."""
    from .. import weights

    if not isinstance(weights_name, str):
        raise TypeError(f"weights_name must be a string, got {type(weights_name).__name__}")
    entry = weights.registry().get(weights_name)
    if entry is None or "framework" not in entry:
        raise ValueError(f"Unknown weights_name: {weights_name!r}; expected a registered "
                         "super-resolution network such as 'sr_post'")
    return weights.load_frozen(build_sr_net(entry["framework"], **entry.get("arch", {})),
                               weights_name)


def apply_sr_net(y, framework: str, *, sigma: float = 0.0,
                 weights_name: str | None = None) -> np.ndarray:
    """Run the shipped ×4 network of ``framework`` on a low-resolution image ``y`` (m, n)
    with noise level ``sigma`` (>= 0, on the [0, 1] scale).

    Returns the (4m, 4n) float64 estimate, not clipped.
    """
    from .._validate import as_image, check_choice, check_scalar

    y = as_image(y, "y")
    check_choice(framework, "framework", SR_NET_NAMES)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    model = load_sr_net(weights_name or f"sr_{framework}")
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None],
                    sigma)
    return out[0, 0].double().numpy()


@functools.lru_cache(maxsize=1)
def _feature_net() -> nn.Module:
    from .denoiser import build_denoiser
    from .. import weights

    return weights.load_frozen(build_denoiser(), "denoiser")


def perceptual_features(x: torch.Tensor) -> torch.Tensor:
    """Features of the shipped denoiser's first stage (frozen): its head convolution
    (on the pixel-unshuffled image, noise-level channel 0) and first encoder stage.

    The usual choice is a VGG-19 layer trained on ImageNet (Johnson et al. 2016; Ledig
    et al. 2017); those weights cannot be downloaded here, so the course uses the
    features of a network it ships. Images are (B, 1, M, N), M and N even.
    """
    net = _feature_net()
    zero = torch.zeros_like(x[:, :1, ::2, ::2])
    h = net.head(torch.cat([F.pixel_unshuffle(x, 2), zero], dim=1))
    return net.encoders[0](h)
