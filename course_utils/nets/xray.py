"""The unfolded X-ray separation network: K layers of the sparse model's iteration with learned filters, thresholds and exclusion weights."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["XRAY_ARCH", "XrayUnfolded", "build_xray_unfolded", "load_xray_unfolded",
           "unfolded_separate", "haar_exclusion"]

#: Architecture of the shipped network: filters of the codes, their side (odd) and layers
#: (fewer and smaller filters than the sparse model's dictionary: direct convolutions).
XRAY_ARCH: dict = {"num_filters": 8, "filter_size": 5, "num_layers": 5}
_WEIGHTS = "xray_unfolded"


def _haar(x):
    a = torch.roll(x, -1, dims=-1)
    s, d = (x + a) / 2, (x - a) / 2
    s1, d1 = torch.roll(s, -1, dims=-2), torch.roll(d, -1, dims=-2)
    return (s + s1) / 2, torch.stack([(s - s1) / 2, (d + d1) / 2, (d - d1) / 2])


def _haar_t(ll, det):
    lh, hl, hh = det
    s = (ll + lh) / 2 + torch.roll((ll - lh) / 2, 1, dims=-2)
    d = (hl + hh) / 2 + torch.roll((hl - hh) / 2, 1, dims=-2)
    return (s + d) / 2 + torch.roll((s - d) / 2, 1, dims=-1)


def haar_exclusion(y1, y2, mu):
    """The coupled soft-threshold of the exclusion term in the undecimated Haar domain
    (torch version of :func:`course_utils.xray_separation.exclusion_prox`)."""
    l1, w1 = _haar(y1)
    l2, w2 = _haar(y2)
    a1, a2 = w1.abs(), w2.abs()
    w1n = torch.sign(w1) * F.relu(a1 - mu * a2)
    w2n = torch.sign(w2) * F.relu(a2 - mu * a1)
    return _haar_t(l1, w1n), _haar_t(l2, w2n)


def _pad(x, p):
    return F.pad(x, (p, p, p, p), mode="circular")


class XrayUnfolded(nn.Module):
    r"""The iteration of the ``"sparse"`` separation (:func:`course_utils.xray_separation.
    separate`) unfolded into ``num_layers`` layers, each with its own filters and
    parameters.

    Layer :math:`l` takes an ISTA step on the codes :math:`z_1, z_2` (``num_filters``
    maps each) with analysis filters :math:`A_l, B_l` and synthesis filters
    :math:`\Xi_l` (X-ray) and :math:`\Omega_l` (RGB), soft-thresholds them by learned
    per-filter thresholds, solves the quadratic image step in closed form with learned
    :math:`\tau_l, \gamma_l`, and applies the exclusion prox with a learned :math:`\mu_l`.
    Periodic (circular) convolutions, as in the FFT version.

    ``forward(xh, rh, ph)``: details of the mixture (B, 1, M, N), of the photograph
    (B, 3, M, N) and of the regression's prediction of x₁ (B, 1, M, N); returns the list
    of ``(y1, y2)`` after each layer.
    """

    def __init__(self, num_filters: int = 8, filter_size: int = 5, num_layers: int = 5):
        super().__init__()
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd, got {filter_size}")
        k, p, n = num_filters, filter_size, num_layers
        self.k, self.p, self.num_layers = k, p, n
        g = torch.Generator().manual_seed(0)
        self.xi = nn.Parameter(torch.randn(n, 1, k, p, p, generator=g) * 0.1)
        self.om = nn.Parameter(torch.randn(n, 3, k, p, p, generator=g) * 0.1)
        self.step1 = nn.Parameter(torch.full((n,), 0.1))
        self.step2 = nn.Parameter(torch.full((n,), 0.1))
        self.theta1 = nn.Parameter(torch.full((n, k), 1e-3))
        self.theta2 = nn.Parameter(torch.full((n, k), 1e-3))
        self.log_tau = nn.Parameter(torch.zeros(n))
        self.log_gamma = nn.Parameter(torch.zeros(n))
        self.mu = nn.Parameter(torch.full((n,), 0.3))

    @torch.no_grad()
    def init_from(self, xray: np.ndarray, rgb: np.ndarray, *, lam: float, tau: float,
                  gamma: float, mu: float, lip1: float, lip2: float) -> None:
        """Start every layer from a dictionary of the sparse model (``xray`` (K, p, p),
        ``rgb`` (K, 3, p, p), FFT convention, with this network's K and p) and its
        parameters, so that the untrained network runs ``num_layers`` iterations of
        ISTA."""
        xi = torch.as_tensor(np.ascontiguousarray(xray[:, ::-1, ::-1]), dtype=torch.float32)
        om = torch.as_tensor(np.ascontiguousarray(rgb[..., ::-1, ::-1]), dtype=torch.float32)
        self.xi.copy_(xi[None, None].expand_as(self.xi))
        self.om.copy_(om.transpose(0, 1)[None].expand_as(self.om))
        self.step1.fill_(1.0 / lip1)
        self.step2.fill_(1.0 / lip2)
        self.theta1.fill_(lam / lip1)
        self.theta2.fill_(lam / lip2)
        self.log_tau.fill_(float(np.log(tau)))
        self.log_gamma.fill_(float(np.log(gamma)))
        self.mu.fill_(mu)

    def _synth(self, w, z):                   # (C, K, p, p), (B, K, M, N) -> (B, C, M, N)
        return F.conv2d(_pad(z, self.p // 2), w)

    def _adjoint(self, w, y):                 # (C, K, p, p), (B, C, M, N) -> (B, K, M, N)
        return F.conv2d(_pad(y, self.p // 2), w.flip(-1, -2).transpose(0, 1))

    def forward(self, xh, rh, ph, num_layers: int | None = None):
        n = self.num_layers if num_layers is None else num_layers
        b, _, m, nn_ = xh.shape
        z1 = xh.new_zeros(b, self.k, m, nn_)
        z2 = xh.new_zeros(b, self.k, m, nn_)
        y1, y2 = torch.zeros_like(xh), torch.zeros_like(xh)
        out = []
        for layer in range(n):
            xi, om = self.xi[layer], self.om[layer]
            both = torch.cat([xi, om])                     # z1 -> (X-ray, R, G, B)
            tau, gamma = self.log_tau[layer].exp(), self.log_gamma[layer].exp()
            s1 = self._synth(both, z1)
            res1 = torch.cat([tau * (s1[:, :1] - y1), gamma * (s1[:, 1:] - rh)], dim=1)
            g1 = self._adjoint(both, res1)
            g2 = self._adjoint(xi, tau * (self._synth(xi, z2) - y2))
            t1 = F.relu(self.theta1[layer]).view(1, -1, 1, 1)
            t2 = F.relu(self.theta2[layer]).view(1, -1, 1, 1)
            v1 = z1 - self.step1[layer] * g1
            v2 = z2 - self.step2[layer] * g2
            z1 = torch.sign(v1) * F.relu(v1.abs() - t1)
            z2 = torch.sign(v2) * F.relu(v2.abs() - t2)
            u1, u2 = self._synth(xi, torch.cat([z1, z2])).split(b)
            b1 = xh + tau * u1 + gamma * ph
            b2 = xh + tau * u2
            det = (1 + tau + gamma) * (1 + tau) - 1
            y1 = ((1 + tau) * b1 - b2) / det
            y2 = ((1 + tau + gamma) * b2 - b1) / det
            y1, y2 = haar_exclusion(y1, y2, F.relu(self.mu[layer]))
            out.append((y1, y2))
        return out


def build_xray_unfolded(**arch) -> XrayUnfolded:
    """An untrained :class:`XrayUnfolded` with :data:`XRAY_ARCH` (overridden by ``arch``)."""
    return XrayUnfolded(**dict(XRAY_ARCH, **arch))


@functools.lru_cache(maxsize=1)
def load_xray_unfolded() -> XrayUnfolded:
    """The shipped network (weights ``xray_unfolded``, SHA-256 checked), frozen, in eval
    mode."""
    from ..weights import load_frozen

    return load_frozen(build_xray_unfolded(), _WEIGHTS)


def unfolded_separate(xh, rh, ph, *, num_layers: int | None = None,
                      all_layers: bool = False):
    """Run the shipped network on one image: ``xh`` (M, N) details of the mixture, ``rh``
    (3, M, N) of the photograph, ``ph`` (M, N) of the regression's prediction of x₁.
    Returns ``(y1, y2)`` as float64 ndarrays (M, N) after ``num_layers`` layers (all by
    default), or with ``all_layers`` the list of them after each layer."""
    net = load_xray_unfolded()
    if num_layers is not None and not 1 <= int(num_layers) <= net.num_layers:
        raise ValueError(f"num_layers must be in [1, {net.num_layers}], got {num_layers}")

    def t(a):
        return torch.as_tensor(np.asarray(a, dtype=np.float32))[None]

    x = t(xh)[:, None] if np.ndim(xh) == 2 else t(xh)
    with torch.no_grad():
        outs = net(x, t(rh), t(ph)[:, None], num_layers=num_layers)
    outs = [(a[0, 0].double().numpy(), b[0, 0].double().numpy()) for a, b in outs]
    return outs if all_layers else outs[-1]
