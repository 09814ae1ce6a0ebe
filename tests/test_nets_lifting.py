"""Tests of the learned lifting transform and the WINNet-style denoiser: exact inversion for
random weights, the Haar start, the identity at sigma = 0, shapes and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch

from course_utils.lifting import to_pywt, wavelet_forward
from course_utils.nets.lifting import (WINNET_ARCH, LearnedLifting, LiftingCNN, WINNetLite,
                                       build_winnet, count_parameters, haar_merge,
                                       haar_split, soft_threshold)

# Absolute round-trip tolerances for unit-size images (the targets).
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def randomize_(model: torch.nn.Module, seed: int, gain: float = 0.5) -> torch.nn.Module:
    """Replace every weight by Gaussian noise of std ``gain / sqrt(fan_in)`` (the
    zero-initialised last layers included), so P and U are far from zero. The default
    gain keeps the coefficients on the scale of the image, as a trained transform does."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = max(1, p[0].numel()) if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * gain / fan_in ** 0.5)
    return model


def random_config(seed: int) -> dict:
    """A random architecture and input size: levels 1–3, non-square sides 2**L · k."""
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(1, 4))
    return {
        "arch": {"in_channels": int(rng.integers(1, 3)), "levels": levels,
                 "num_steps": int(rng.integers(1, 4)), "hidden": int(rng.integers(2, 17)),
                 "num_layers": int(rng.integers(1, 4))},
        "batch": int(rng.integers(1, 3)),
        "size": tuple(int(2 ** levels * rng.integers(1, 5)) for _ in range(2)),
    }


# =====================================================================================
# The fixed Haar split.
# =====================================================================================
def test_haar_split_is_pywavelets_haar_and_merge_inverts_it():
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coarse, details = haar_split(x)
    c_a, (c_h, c_v, c_d) = pywt.dwt2(x.numpy(), "haar", mode="periodization")
    np.testing.assert_allclose(coarse.numpy(), c_a, rtol=0, atol=1e-14)
    for k, band in enumerate([c_h, c_v, c_d]):          # channels [H (3), V (3), D (3)]
        np.testing.assert_allclose(details[:, 3 * k:3 * k + 3].numpy(), band, rtol=0,
                                   atol=1e-14)
    torch.testing.assert_close(haar_merge(coarse, details), x, rtol=0, atol=1e-14)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_untrained_transform_is_the_haar_wavelet(levels):
    # Zero-initialised last layers: P = U = 0, so the transform is the orthonormal Haar
    # wavelet, i.e. the numpy lifting Haar in PyWavelets' scale.
    x = torch.randn(1, 1, 16, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        coeffs = LearnedLifting(levels=levels).double()(x)
    ref = to_pywt(wavelet_forward(x[0, 0].numpy(), "haar", levels))
    np.testing.assert_allclose(coeffs[0][0, 0].numpy(), ref[0], rtol=0, atol=1e-12)
    for ours, bands in zip(coeffs[1:], ref[1:]):
        np.testing.assert_allclose(ours[0].numpy(), np.stack(bands), rtol=0, atol=1e-12)


# =====================================================================================
# Exact inversion for random weights (seeded sweep).
# =====================================================================================
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(10))
def test_inverse_of_forward_is_identity_for_random_weights(dtype, seed):
    cfg = random_config(seed)
    model = randomize_(LearnedLifting(**cfg["arch"]).to(dtype), seed)
    x = torch.randn(cfg["batch"], cfg["arch"]["in_channels"], *cfg["size"], dtype=dtype,
                    generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        coeffs = model(x)
        x_rec = model.inverse(coeffs)
    levels = cfg["arch"]["levels"]
    assert len(coeffs) == levels + 1
    assert coeffs[0].shape[2:] == (cfg["size"][0] >> levels, cfg["size"][1] >> levels)
    # The learned steps are far from the identity: the round trip is not trivially exact.
    d_haar = haar_split(x)[1]
    assert (coeffs[-1] - d_haar).abs().max() > 0.1
    torch.testing.assert_close(x_rec, x, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("gain", [3.0, 10.0])
def test_inverse_is_exact_even_for_non_contractive_predict_and_update(gain):
    # One-layer P and U with Lipschitz constants about `gain`, far above 1: a fixed-point
    # (i-ResNet style) inversion would diverge, the lifting inverse does not care. The
    # error is round-off relative to the size of the coefficients, carried through P and
    # U (measured: 1e-15 of the scale for gain 3, 3e-14 for gain 10).
    model = randomize_(LearnedLifting(levels=1, num_steps=2, num_layers=1).double(), seed=3,
                       gain=gain)
    x = torch.randn(1, 1, 16, 16, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        coeffs = model(x)
        x_rec = model.inverse(coeffs)
    scale = max(float(c.abs().max()) for c in coeffs)
    assert scale > 10 * gain
    torch.testing.assert_close(x_rec, x, rtol=0, atol=1e-13 * scale)


def test_inverse_calls_no_linear_solver(monkeypatch):
    model = randomize_(LearnedLifting(levels=2), seed=0)
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    coeffs = model(x)

    def forbidden(*args, **kwargs):
        raise AssertionError("the lifting inverse must not solve a linear system")

    for name in ("inv", "solve", "pinv", "lstsq", "solve_triangular", "inv_ex"):
        monkeypatch.setattr(torch.linalg, name, forbidden)
    monkeypatch.setattr(torch, "inverse", forbidden)
    torch.testing.assert_close(model.inverse(coeffs), x, rtol=0, atol=1e-5)


# =====================================================================================
# The WINNet-style denoiser.
# =====================================================================================
@pytest.mark.parametrize("sigma", [0.0, 5 / 255, 25 / 255, 55 / 255])
@pytest.mark.parametrize("cycle_spin", [False, True])
def test_denoiser_runs_and_keeps_the_shape(sigma, cycle_spin):
    model = randomize_(build_winnet(**({"levels": 2} if cycle_spin else {})), seed=1)
    y = torch.rand(2, 1, 16, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x_hat = model(y, sigma, cycle_spin=cycle_spin)
    assert x_hat.shape == y.shape and x_hat.dtype == y.dtype
    assert torch.isfinite(x_hat).all()


def test_denoiser_accepts_one_sigma_per_image():
    model = build_winnet(levels=2)
    y = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    sigmas = torch.tensor([0.0, 15.0, 50.0]) / 255
    with torch.no_grad():
        both = model(y, sigmas)
        for k in range(3):
            torch.testing.assert_close(both[k:k + 1], model(y[k:k + 1], float(sigmas[k])))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("levels", [1, 3])
def test_zero_threshold_is_the_identity(dtype, levels):
    model = randomize_(build_winnet(levels=levels, num_steps=3).to(dtype), seed=levels)
    y = torch.rand(2, 1, 16, 8, dtype=dtype, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(model(y, 0.0), y, rtol=0, atol=TOL[dtype])
        if levels == 1:     # 4 shifts (64 at three levels: too slow for this check)
            torch.testing.assert_close(model(y, 0.0, cycle_spin=True), y, rtol=0,
                                       atol=TOL[dtype])
    assert torch.all(model.thresholds(0.0) == 0)


def test_partial_cycle_spinning_averages_the_first_shifts():
    model = randomize_(build_winnet(levels=2), seed=5)
    y = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        spun = model(y, 0.1, cycle_spin=2)
        manual = sum(torch.roll(model(torch.roll(y, (i, j), dims=(2, 3)), 0.1),
                                (-i, -j), dims=(2, 3)) for i in range(2) for j in range(2)) / 4
        torch.testing.assert_close(spun, manual)
        torch.testing.assert_close(model(y, 0.1, cycle_spin=1), model(y, 0.1))
        torch.testing.assert_close(model(y, 0.1, cycle_spin=4), model(y, 0.1, cycle_spin=True))
    for bad in (0, 5, 1.5):
        with pytest.raises(ValueError, match="cycle_spin must be a bool or an integer"):
            model(y, 0.1, cycle_spin=bad)


def test_thresholds_are_softplus_theta_times_sigma():
    model = build_winnet(levels=2, threshold_init=1.5)
    t = model.thresholds(torch.tensor([0.1, 0.2]))
    assert t.shape == (2, 2, 3)
    torch.testing.assert_close(t, torch.tensor([0.15, 0.3]).view(2, 1, 1).expand(2, 2, 3))
    assert torch.equal(soft_threshold(torch.tensor([-3.0, -0.5, 0.5, 2.0]), torch.tensor(1.0)),
                       torch.tensor([-2.0, 0.0, 0.0, 1.0]))


def test_untrained_denoiser_is_haar_shrinkage_and_removes_noise():
    # A smooth image plus noise: Haar soft-thresholding at 2 sigma already helps.
    rows, cols = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32),
                                indexing="ij")
    x = (0.5 + 0.4 * torch.sin(3 * rows) * torch.cos(2 * cols))[None, None]
    sigma = 25 / 255
    y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x_hat = build_winnet(levels=2)(y, sigma)
    assert ((x_hat - x) ** 2).mean() < 0.5 * ((y - x) ** 2).mean()


def test_gradients_reach_thresholds_and_lifting_networks():
    model = build_winnet()
    y = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    loss = ((model(y, 0.1) - 0.5) ** 2).mean()
    loss.backward()
    assert model.theta.grad is not None and model.theta.grad.abs().sum() > 0
    last = model.transform.predictors[0][0].net[-1].weight
    assert last.grad is not None and last.grad.abs().sum() > 0
    for refiner in model.refiners:     # zero-initialised, but they learn
        assert refiner.net[-1].weight.grad.abs().sum() > 0


def test_parameter_count_of_the_small_cpu_network():
    model = build_winnet()
    assert WINNET_ARCH == {"levels": 4, "num_steps": 2, "hidden": 16, "num_layers": 3,
                           "detail_hidden": 48, "detail_layers": 5}
    # 3x3 bias-free convolutions: P 1 -> 16 -> 16 -> 3, U 3 -> 16 -> 16 -> 1; 2 steps;
    # the detail network [S(d) (3), d (3), coarse (1), sigma (1)] -> 48 (x4) -> 3;
    # one threshold per level and detail band (H, V, D).
    per_net = 9 * (1 * 16 + 16 * 16 + 16 * 3)
    refiner = 9 * (8 * 48 + 3 * 48 * 48 + 48 * 3)
    assert count_parameters(model) == 4 * (2 * 2 * per_net + refiner + 3) == 313932
    assert count_parameters(LiftingCNN(1, 3, hidden=16)) == per_net
    # Without detail networks: the thresholds only.
    assert count_parameters(build_winnet(levels=1, detail_hidden=0)) == 2 * 2 * per_net + 3
    assert build_winnet(detail_hidden=0).refiners is None


# =====================================================================================
# Bad input.
# =====================================================================================
@pytest.mark.parametrize("y, sigma, error, match", [
    (torch.rand(1, 16, 16), 0.1, ValueError, r"y must have shape \(B, 1, M, N\)"),
    (torch.rand(1, 2, 16, 16), 0.1, ValueError, r"y must have shape \(B, 1, M, N\)"),
    (torch.rand(1, 1, 12, 16), 0.1, ValueError, "divisible by 2\\*\\*levels = 8"),
    (torch.full((1, 1, 16, 16), float("nan")), 0.1, ValueError, "y contains NaN or inf"),
    (torch.zeros(1, 1, 16, 16, dtype=torch.int64), 0.1, TypeError, "floating-point"),
    (np.zeros((1, 1, 16, 16), np.float32), 0.1, TypeError, "y must be a torch.Tensor"),
    (torch.rand(1, 1, 16, 16, dtype=torch.float64), 0.1, TypeError, "network's dtype"),
    (torch.rand(1, 1, 16, 16), -0.1, ValueError, "sigma must be finite and >= 0"),
    (torch.rand(1, 1, 16, 16), float("nan"), ValueError, "sigma must be finite and >= 0"),
    (torch.rand(1, 1, 16, 16), "25", TypeError, "sigma must be a real number"),
    (torch.rand(2, 1, 16, 16), torch.ones(3), ValueError, "one value per image"),
])
def test_denoiser_rejects_bad_input(y, sigma, error, match):
    with pytest.raises(error, match=match):
        build_winnet(levels=3)(y, sigma)


def test_transform_and_constructors_reject_bad_input():
    model = LearnedLifting(levels=2)
    with torch.no_grad():
        coeffs = model(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="coeffs must be a list of 3 tensors"):
        model.inverse(coeffs[:2])
    with pytest.raises(ValueError, match=r"coeffs\[2\] must have shape \(1, 3, 4, 4\)"):
        model.inverse([coeffs[0], coeffs[1], coeffs[1]])
    with pytest.raises(TypeError, match=r"coeffs\[1\] must be a floating-point tensor"):
        model.inverse([coeffs[0], coeffs[1].numpy(), coeffs[2]])
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.rand(8, 8))
    with pytest.raises(ValueError, match="levels must be >= 1"):
        LearnedLifting(levels=0)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        WINNetLite(num_steps=1.5)
    with pytest.raises(ValueError, match="threshold_init must be a finite number > 0"):
        WINNetLite(threshold_init=0.0)
    with pytest.raises(ValueError, match="detail_hidden must be an integer >= 0"):
        WINNetLite(detail_hidden=-1)
    with pytest.raises(ValueError, match="detail_layers must be >= 1"):
        WINNetLite(detail_hidden=4, detail_layers=0)
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        build_winnet().thresholds(-1.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        count_parameters("winnet")
