"""Learnable lifting (torch): an invertible wavelet-like transform and a WINNet-style denoiser."""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "WINNET_ARCH", "haar_split", "haar_merge", "LiftingCNN", "LearnedLifting",
    "WINNetLite", "soft_threshold", "build_winnet", "count_parameters",
]

#: The shipped CPU architecture: four levels, each a Haar split and 2 lifting steps with
#: 16-channel P and U, and a detail network of 5 convolutions with 48 channels.
WINNET_ARCH: dict = {"levels": 4, "num_steps": 2, "hidden": 16, "num_layers": 3,
                     "detail_hidden": 48, "detail_layers": 5}


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_image_batch(x, name: str, channels: int, factor: int) -> torch.Tensor:
    """A finite floating tensor (B, channels, M, N), M and N divisible by ``factor``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}, M, N), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if x.shape[2] % factor or x.shape[3] % factor:
        raise ValueError(f"{name} height and width must be divisible by 2**levels = {factor}, "
                         f"got {tuple(x.shape[2:])}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


# -- the fixed Haar split ----------------------------------------------------------------
def haar_split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One level of the orthonormal 2-D Haar transform.

    Parameters
    ----------
    x : Tensor of shape (B, C, M, N)
        ``M`` and ``N`` even.

    Returns
    -------
    (coarse, details) : tuple of Tensor
        ``coarse`` of shape (B, C, M/2, N/2) and ``details`` of shape (B, 3C, M/2, N/2),
        channels ordered ``[H (C channels), V (C), D (C)]``: PyWavelets'
        ``pywt.dwt2(x, "haar", mode="periodization")`` bands ``cA`` and
        ``cH, cV, cD``.

    Notes
    -----
    With the four polyphase components ``x_ij = x[..., i::2, j::2]``:
    ``cA = (x00 + x01 + x10 + x11)/2``, ``cH = (x00 + x01 − x10 − x11)/2``,
    ``cV = (x00 − x01 + x10 − x11)/2``, ``cD = (x00 − x01 − x10 + x11)/2``. The 4×4
    matrix is symmetric and orthogonal, so :func:`haar_merge` applies the same sums.
    """
    x00, x01 = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    x10, x11 = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    a, b = x00 + x01, x00 - x01
    c, d = x10 + x11, x10 - x11
    coarse = (a + c) / 2
    details = torch.cat([(a - c) / 2, (b + d) / 2, (b - d) / 2], dim=1)
    return coarse, details


def haar_merge(coarse: torch.Tensor, details: torch.Tensor) -> torch.Tensor:
    """Invert :func:`haar_split`: (B, C, m, n) and (B, 3C, m, n) → (B, C, 2m, 2n)."""
    h, v, d = torch.chunk(details, 3, dim=1)
    p, q = coarse + h, coarse - h
    r, t = v + d, v - d
    x00, x01, x10, x11 = (p + r) / 2, (p - r) / 2, (q + t) / 2, (q - t) / 2
    batch, channels, rows, cols = coarse.shape
    stacked = torch.stack([x00, x01, x10, x11], dim=2)          # (B, C, 4, m, n)
    return F.pixel_shuffle(stacked.reshape(batch, 4 * channels, rows, cols), 2)


# -- predict and update networks ---------------------------------------------------------
class LiftingCNN(nn.Module):
    """A small bias-free CNN with periodic padding, used as a predict or update operator.

    ``num_layers`` 3×3 convolutions (``in_channels → hidden → … → out_channels``) with
    ReLUs between them; circular padding matches the periodic boundaries of the lifting
    transform. The last convolution starts at zero, so a lifting step that uses this
    network starts as the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 16,
                 num_layers: int = 3):
        super().__init__()
        in_channels = _check_positive_int(in_channels, "in_channels")
        out_channels = _check_positive_int(out_channels, "out_channels")
        hidden = _check_positive_int(hidden, "hidden")
        num_layers = _check_positive_int(num_layers, "num_layers")
        widths = [in_channels] + [hidden] * (num_layers - 1) + [out_channels]
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            if k:
                layers.append(nn.ReLU())
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="circular",
                                    bias=False))
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-1].weight)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


# -- the learned lifting transform -------------------------------------------------------
class LearnedLifting(nn.Module):
    r"""An invertible, multi-level wavelet-like transform whose predict and update are CNNs.

    Each level splits its input by the orthonormal Haar transform (:func:`haar_split`)
    into a coarse band ``c`` (C channels) and detail bands ``d`` (3C channels), then runs
    ``num_steps`` lifting steps

    .. math:: d \leftarrow d - P_k(c), \qquad c \leftarrow c + U_k(d),

    with :class:`LiftingCNN` s ``P_k`` (C → 3C channels) and ``U_k`` (3C → C). The coarse
    band is the input of the next level.

    Parameters
    ----------
    in_channels : int
        Channels C of the image.
    levels : int
        Number of levels; height and width must be divisible by ``2**levels``.
    num_steps : int
        Lifting steps (predict, then update) per level.
    hidden : int
        Feature channels of each predict and update network.
    num_layers : int
        Convolutions in each predict and update network.

    Notes
    -----
    :meth:`inverse` undoes the steps in reverse order, ``c ← c − U_k(d)``,
    ``d ← d + P_k(c)``, then merges the Haar bands: it evaluates the same networks on the
    same inputs as the forward pass, so it is exact for any weights, without a matrix
    inverse or an iterative solver, and costs one forward pass. In floating point each
    addition rounds, and the inverse carries that round-off through ``P`` and ``U``: the
    error grows with the size of the coefficients and the Lipschitz constants of the
    networks (about 1e-6 in float32 for coefficients on the scale of the image). With
    the zero-initialised last layers the transform starts as the Haar wavelet.

    References
    ----------
    I. Daubechies and W. Sweldens, "Factoring wavelet transforms into lifting steps",
    J. Fourier Anal. Appl. 4(3), 247–269, 1998.
    J.-J. Huang and P. L. Dragotti, "WINNet: wavelet-inspired invertible network for image
    denoising", IEEE Trans. Image Process. 31, 4377–4392, 2022.
    """

    def __init__(self, in_channels: int = 1, levels: int = 1, num_steps: int = 2,
                 hidden: int = 16, num_layers: int = 3):
        super().__init__()
        self.in_channels = _check_positive_int(in_channels, "in_channels")
        self.levels = _check_positive_int(levels, "levels")
        self.num_steps = _check_positive_int(num_steps, "num_steps")
        c = self.in_channels
        self.predictors = nn.ModuleList(
            nn.ModuleList(LiftingCNN(c, 3 * c, hidden, num_layers) for _ in range(num_steps))
            for _ in range(self.levels))
        self.updaters = nn.ModuleList(
            nn.ModuleList(LiftingCNN(3 * c, c, hidden, num_layers) for _ in range(num_steps))
            for _ in range(self.levels))

    @property
    def stride(self) -> int:
        """Height and width of the input must be multiples of this (``2**levels``)."""
        return 2 ** self.levels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Transform ``x`` of shape (B, C, M, N).

        Returns
        -------
        list of Tensor
            ``[coarse_L, details_L, …, details_1]`` (the layout of ``pywt.wavedec2``, with
            each level's three bands stacked as channels ``[H, V, D]``): ``coarse_L`` of
            shape (B, C, M/2**L, N/2**L), ``details_j`` of shape (B, 3C, M/2**j, N/2**j).
        """
        x = _check_image_batch(x, "x", self.in_channels, self.stride)
        details = []
        c = x
        for predictors, updaters in zip(self.predictors, self.updaters):
            c, d = haar_split(c)
            for predict, update in zip(predictors, updaters):
                d = d - predict(c)
                c = c + update(d)
            details.append(d)
        return [c, *details[::-1]]

    def inverse(self, coeffs) -> torch.Tensor:
        """Invert :meth:`forward`: ``coeffs`` in its layout → image (B, C, M, N)."""
        coeffs = self._check_coeffs(coeffs)
        c = coeffs[0]
        for level, d in zip(reversed(range(self.levels)), coeffs[1:]):
            c = self.inverse_level(level, c, d)
        return c

    def inverse_level(self, level: int, c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """Undo one level (0 is the finest): its coarse band ``c`` (B, C, m, n) and detail
        bands ``d`` (B, 3C, m, n) → its input (B, C, 2m, 2n), the coarse band of the
        finer level."""
        for predict, update in zip(reversed(self.predictors[level]),
                                   reversed(self.updaters[level])):
            c = c - update(d)
            d = d + predict(c)
        return haar_merge(c, d)

    def _check_coeffs(self, coeffs) -> list[torch.Tensor]:
        if not isinstance(coeffs, (list, tuple)) or len(coeffs) != self.levels + 1:
            raise ValueError(f"coeffs must be a list of {self.levels + 1} tensors "
                             f"[coarse_L, details_L, ..., details_1]")
        for k, t in enumerate(coeffs):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.ndim != 4:
                raise TypeError(f"coeffs[{k}] must be a floating-point tensor (B, C, m, n)")
        batch, channels, rows, cols = coeffs[0].shape
        if channels != self.in_channels:
            raise ValueError(f"coeffs[0] must have {self.in_channels} channel(s), "
                             f"got {channels}")
        for k, t in enumerate(coeffs[1:], start=1):
            want = (batch, 3 * channels, rows * 2 ** (k - 1), cols * 2 ** (k - 1))
            if tuple(t.shape) != want:
                raise ValueError(f"coeffs[{k}] must have shape {want}, got {tuple(t.shape)}")
        return list(coeffs)


# -- the denoiser ------------------------------------------------------------------------
def soft_threshold(x: torch.Tensor, thresh: torch.Tensor) -> torch.Tensor:
    """``sign(x) · max(|x| − thresh, 0)``; exactly ``x`` where ``thresh`` is 0."""
    return torch.sign(x) * F.relu(x.abs() - thresh)


class WINNetLite(nn.Module):
    r"""A WINNet-style denoiser: learned lifting, shrink the details, inverse lifting.

    .. math:: \hat x = T^{-1}\big(c_L,\ S_{t_L}(d_L), …, S_{t_1}(d_1)\big),
        \qquad (c_L, d_L, …, d_1) = T(y),

    with :class:`LearnedLifting` ``T`` and soft-thresholding ``S_t`` of every detail
    channel at the noise-level-aware threshold ``t = softplus(θ) · σ`` (one learned ``θ``
    per level and detail channel); the coarse band passes through. One network serves
    every ``σ`` (the course trains for σ ∈ [0, 55]/255).

    With ``detail_hidden > 0`` each level also has a detail network ``R_j`` (a
    :class:`LiftingCNN`, like WINNet's denoising of the detail bands). The inverse runs
    from the coarsest level to the finest, and ``R_j`` corrects the shrunk details of
    level ``j`` from the shrunk and the noisy details, the coarse band ``ĉ_j`` already
    reconstructed from the denoised coarser levels, and the noise level:
    ``d̂_j = S_t(d_j) + σ · R_j([S_t(d_j), d_j, ĉ_j, σ])``, then
    ``ĉ_{j−1} = T_j^{-1}(ĉ_j, d̂_j)``. The correction is proportional to ``σ``, so
    ``σ = 0`` is still the identity, and it starts at zero. The transform itself is
    untouched: the network only changes coefficients between ``T`` and ``T^{-1}``.

    Parameters
    ----------
    in_channels, levels, num_steps, hidden, num_layers
        The transform's architecture (:class:`LearnedLifting`); :data:`WINNET_ARCH` is
        the small CPU size.
    threshold_init : float
        Initial ``softplus(θ)``, the threshold in units of ``σ`` (> 0).
    detail_hidden : int
        Feature channels of the detail networks ``R_j`` (0: none, thresholds only).
    detail_layers : int
        Convolutions in each detail network.

    Notes
    -----
    At ``σ = 0`` every threshold is 0 and the network is the identity (the transform is
    inverted exactly). With the zero-initialised predict and update networks it starts
    as Haar wavelet shrinkage. The authors' network (one level, 173k parameters) uses an
    undecimated 4×4 DCT split into 16 bands, four lifting steps and a small CNN on the
    details; this smaller version keeps the Haar split and a per-band soft threshold.

    References
    ----------
    J.-J. Huang and P. L. Dragotti, "WINNet: wavelet-inspired invertible network for image
    denoising", IEEE Trans. Image Process. 31, 4377–4392, 2022.
    D. L. Donoho, "De-noising by soft-thresholding", IEEE Trans. Inf. Theory 41(3),
    613–627, 1995.
    """

    def __init__(self, in_channels: int = 1, levels: int = 1, num_steps: int = 2,
                 hidden: int = 16, num_layers: int = 3, threshold_init: float = 2.0,
                 detail_hidden: int = 0, detail_layers: int = 3):
        super().__init__()
        self.transform = LearnedLifting(in_channels, levels, num_steps, hidden, num_layers)
        if isinstance(detail_hidden, bool) or not isinstance(detail_hidden, numbers.Integral) \
                or detail_hidden < 0:
            raise ValueError(f"detail_hidden must be an integer >= 0, got {detail_hidden!r}")
        detail_layers = _check_positive_int(detail_layers, "detail_layers")
        c1 = self.transform.in_channels
        self.refiners = nn.ModuleList(
            LiftingCNN(7 * c1 + 1, 3 * c1, int(detail_hidden), detail_layers)
            for _ in range(self.transform.levels)) if detail_hidden else None
        if isinstance(threshold_init, bool) or not isinstance(threshold_init, numbers.Real) \
                or not math.isfinite(threshold_init) or threshold_init <= 0:
            raise ValueError(f"threshold_init must be a finite number > 0, "
                             f"got {threshold_init!r}")
        theta0 = math.log(math.expm1(float(threshold_init)))       # softplus⁻¹
        self.theta = nn.Parameter(torch.full((self.transform.levels, 3 * in_channels),
                                             theta0))

    @property
    def stride(self) -> int:
        """Height and width of the input must be multiples of this (``2**levels``)."""
        return self.transform.stride

    def _sigma(self, sigma, y: torch.Tensor) -> torch.Tensor:
        """``sigma`` as a (B,) tensor of finite values >= 0."""
        if isinstance(sigma, bool) or not isinstance(sigma, (numbers.Real, torch.Tensor)):
            raise TypeError(f"sigma must be a real number or a tensor, "
                            f"got {type(sigma).__name__}")
        sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1)
        if sigma.numel() not in (1, y.shape[0]):
            raise ValueError(f"sigma must be a scalar or have one value per image, "
                             f"got {sigma.numel()} values for {y.shape[0]} images")
        if not torch.isfinite(sigma).all() or (sigma < 0).any():
            raise ValueError(f"sigma must be finite and >= 0, got {sigma.tolist()}")
        return sigma.expand(y.shape[0])

    def thresholds(self, sigma) -> torch.Tensor:
        """``softplus(θ) · σ`` of shape (B, levels, 3C) for ``sigma`` a scalar or (B,);
        level 0 is the finest."""
        if isinstance(sigma, bool) or not isinstance(sigma, (numbers.Real, torch.Tensor)):
            raise TypeError(f"sigma must be a real number or a tensor, "
                            f"got {type(sigma).__name__}")
        sigma = torch.as_tensor(sigma, dtype=self.theta.dtype).reshape(-1)
        if not torch.isfinite(sigma).all() or (sigma < 0).any():
            raise ValueError(f"sigma must be finite and >= 0, got {sigma.tolist()}")
        return F.softplus(self.theta)[None] * sigma.view(-1, 1, 1)

    def _denoise(self, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        coeffs = self.transform(y)
        thresh = F.softplus(self.theta)[None] * sigma.view(-1, 1, 1)   # (B, levels, 3C)
        s = sigma.view(-1, 1, 1, 1)
        c = coeffs[0]
        for level, d in zip(reversed(range(self.transform.levels)), coeffs[1:]):
            d_hat = soft_threshold(d, thresh[:, level, :, None, None])  # coarsest first
            if self.refiners is not None:
                feats = torch.cat([d_hat, d, c, s.expand(-1, 1, *d.shape[2:])], dim=1)
                d_hat = d_hat + s * self.refiners[level](feats)
            c = self.transform.inverse_level(level, c, d_hat)
        return c

    def forward(self, y: torch.Tensor, sigma, *, cycle_spin: bool | int = False
                ) -> torch.Tensor:
        """Denoise ``y`` of shape (B, C, M, N) (M, N multiples of :attr:`stride`).

        Parameters
        ----------
        y : Tensor of shape (B, C, M, N)
            Noisy images, on the scale on which ``sigma`` is given (the course: [0, 1]).
        sigma : float or Tensor of shape (B,)
            Noise standard deviation, ``>= 0``.
        cycle_spin : bool or int
            If True, average the estimates over all ``stride × stride`` circular shifts of
            the input (Coifman & Donoho's cycle spinning: the decimated transform is not
            shift invariant); ``stride**2`` times the cost. An integer ``k`` (1 to
            ``stride``) averages over the ``k × k`` shifts by ``0, …, k − 1`` pixels
            along each axis (``k = 2``: the shifts of the finest level), ``k**2`` times
            the cost; ``k = 1`` is no spinning.

        Returns
        -------
        Tensor of the shape of ``y``.
        """
        y = _check_image_batch(y, "y", self.transform.in_channels, self.stride)
        if y.dtype != self.theta.dtype:
            raise TypeError(f"y must have the network's dtype {self.theta.dtype}, got {y.dtype}")
        sigma = self._sigma(sigma, y)
        if isinstance(cycle_spin, bool):
            spins = self.stride if cycle_spin else 1
        elif isinstance(cycle_spin, numbers.Integral) and 1 <= cycle_spin <= self.stride:
            spins = int(cycle_spin)
        else:
            raise ValueError(f"cycle_spin must be a bool or an integer from 1 to "
                             f"stride = {self.stride}, got {cycle_spin!r}")
        if spins == 1:
            return self._denoise(y, sigma)
        out = torch.zeros_like(y)
        shifts = [(i, j) for i in range(spins) for j in range(spins)]
        for i, j in shifts:
            x_hat = self._denoise(torch.roll(y, (i, j), dims=(2, 3)), sigma)
            out = out + torch.roll(x_hat, (-i, -j), dims=(2, 3))
        return out / len(shifts)


def build_winnet(**arch) -> WINNetLite:
    """The small CPU denoiser (:data:`WINNET_ARCH`), keywords overriding it."""
    return WINNetLite(**{**WINNET_ARCH, **arch})


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
