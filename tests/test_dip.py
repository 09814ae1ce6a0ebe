"""Tests of the deep image prior: masks, masked loss, noise estimate, stopping rules, the fit."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import dip
from course_utils.data import add_noise, load_image

torch = pytest.importorskip("torch")


# -- masks -------------------------------------------------------------------------------------

def test_random_pixel_mask_hides_exactly_the_ratio_and_is_seeded():
    m = dip.random_pixel_mask((40, 30), 0.25, seed=3)
    assert set(np.unique(m)) == {0.0, 1.0}
    assert int((m == 0).sum()) == 300  # round(0.25 * 1200)
    np.testing.assert_array_equal(m, dip.random_pixel_mask((40, 30), 0.25, seed=3))
    assert not np.array_equal(m, dip.random_pixel_mask((40, 30), 0.25, seed=4))
    assert dip.random_pixel_mask((8, 8), 0.0).all()


def test_block_mask_covers_at_least_the_ratio_with_squares():
    m = dip.block_mask((64, 48), 0.3, block_size=8, seed=1)
    missing = 1.0 - m.mean()
    # Squares are added until the target is reached; the last one adds at most 64 pixels.
    assert 0.3 <= missing <= 0.3 + 64 / m.size
    np.testing.assert_array_equal(m, dip.block_mask((64, 48), 0.3, block_size=8, seed=1))
    assert dip.block_mask((16, 16), 0.0).all()


def test_text_mask_is_deterministic_and_hides_a_fair_share():
    m = dip.text_mask((64, 64), seed=0)
    assert set(np.unique(m)) == {0.0, 1.0}
    # Bold letters of height M/7 on lines 1.9 letter heights apart: 5 to 35 % hidden.
    assert 0.05 < 1.0 - m.mean() < 0.35
    np.testing.assert_array_equal(m, dip.text_mask((64, 64), seed=0))
    # Both halves of the image carry text (lines span the width).
    assert (m[:, :32] == 0).any() and (m[:, 32:] == 0).any()


@pytest.mark.parametrize("call, match", [
    (lambda: dip.random_pixel_mask((8, 8), 1.0), "ratio must be < 1"),
    (lambda: dip.random_pixel_mask((8, 8), -0.1), "ratio must be >= 0"),
    (lambda: dip.random_pixel_mask((8, 8, 2), 0.5), r"shape must be \(M, N\)"),
    (lambda: dip.random_pixel_mask((8, 0), 0.5), "shape must be a tuple of positive"),
    (lambda: dip.block_mask((8, 8), 0.5, block_size=9), "block_size must be <= 8"),
    (lambda: dip.text_mask((8, 8), text=""), "text must be a non-empty string"),
    (lambda: dip.text_mask((8, 8), font_size=0.5), "font_size must be >= 1"),
])
def test_mask_generators_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the masked loss -------------------------------------------------------------------------

def test_masked_loss_is_the_sum_over_observed_pixels():
    rng = np.random.default_rng(0)
    y, x_hat = rng.random((6, 7)), rng.random((6, 7))
    mask = np.zeros((6, 7))
    mask[2, 3] = mask[5, 0] = 1.0
    expected = (y[2, 3] - x_hat[2, 3]) ** 2 + (y[5, 0] - x_hat[5, 0]) ** 2
    assert dip.masked_loss(y, x_hat, mask) == pytest.approx(expected, rel=1e-14)
    full = np.ones((6, 7))
    assert dip.masked_loss(y, x_hat, full) == pytest.approx(np.sum((y - x_hat) ** 2),
                                                           rel=1e-14)


@pytest.mark.parametrize("mask, match", [
    (np.ones((5, 5)), r"mask must have the shape of the image \(6, 7\)"),
    (np.zeros((6, 7)), "mask has no observed pixel"),
    (np.full((6, 7), 0.5), "mask must contain only 0"),
])
def test_masked_loss_rejects_bad_masks(mask, match):
    with pytest.raises(ValueError, match=match):
        dip.masked_loss(np.zeros((6, 7)), np.zeros((6, 7)), mask)


def test_masked_loss_rejects_mismatched_estimate():
    with pytest.raises(ValueError, match="x_hat must have the shape of y"):
        dip.masked_loss(np.zeros((6, 7)), np.zeros((7, 6)), np.ones((6, 7)))


# -- the noise estimate -------------------------------------------------------------------

def test_estimate_sigma_on_pure_noise_and_on_an_image():
    rng = np.random.default_rng(1)
    noise = 0.1 * rng.standard_normal((256, 256))
    # 16k Gaussian coefficients: the MAD estimate has a relative std of about 1 %.
    assert dip.estimate_sigma(0.5 + noise) == pytest.approx(0.1, rel=0.04)
    mask = dip.random_pixel_mask((256, 256), 0.3, seed=2)
    assert dip.estimate_sigma(0.5 + noise, mask) == pytest.approx(0.1, rel=0.06)
    x = load_image("camera", 64)
    # On a 64² image, edges leak into the finest band; measured within 5 % at σ = 0.1.
    assert dip.estimate_sigma(add_noise(x, 0.1, seed=1)) == pytest.approx(0.1, rel=0.08)


def test_estimate_sigma_needs_enough_observed_blocks():
    mask = np.zeros((16, 16))
    mask[::2, ::2] = 1.0  # no 2x2 block is complete
    with pytest.raises(ValueError, match="fully observed 2x2 blocks"):
        dip.estimate_sigma(np.zeros((16, 16)), mask)
    with pytest.raises(ValueError, match="y must be at least 4x4"):
        dip.estimate_sigma(np.zeros((3, 8)))


# -- the stopping rules ----------------------------------------------------------------------

def test_discrepancy_stop_known_values():
    losses = np.array([0.5, 0.03, 0.012, 0.01, 0.009, 0.011])
    assert dip.discrepancy_stop(losses, 0.1, tau=1.0) == 3  # first value <= 0.01
    assert dip.discrepancy_stop(losses, 0.1) == 4           # default tau 0.9: <= 0.009
    assert dip.discrepancy_stop(losses, 0.1, tau=1.2) == 2
    assert dip.discrepancy_stop(losses, 0.05) is None
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        dip.discrepancy_stop(losses, -0.1)
    with pytest.raises(ValueError, match="tau must be > 0"):
        dip.discrepancy_stop(losses, 0.1, tau=0.0)
    with pytest.raises(ValueError, match="losses must be 1-D"):
        dip.discrepancy_stop(np.zeros((2, 2)), 0.1)


def test_moving_variance_closed_forms():
    rng = np.random.default_rng(2)
    base = rng.random((5, 4))
    # A constant sequence has zero variance once the window is full.
    v = dip.moving_variance(np.stack([base] * 6), window=3)
    assert np.isnan(v[:2]).all() and np.allclose(v[2:], 0.0, atol=1e-15)
    # x_k = base + k c: each pixel's window {c k} has variance c² (W² − 1) / 12.
    c, W = 0.3, 4
    seq = np.stack([base + c * k for k in range(8)])
    v = dip.moving_variance(seq, window=W)
    np.testing.assert_allclose(v[W - 1:], c ** 2 * (W ** 2 - 1) / 12, rtol=1e-12)
    with pytest.raises(ValueError, match="window must be >= 2"):
        dip.moving_variance(seq, window=1)
    with pytest.raises(ValueError, match="iterates must be 3-D"):
        dip.moving_variance(base, window=2)


def test_wmv_stop_returns_the_minimum_after_patience():
    v = np.array([np.nan, np.nan, 5.0, 3.0, 2.0, 2.5, 2.2, 2.1, 3.0, 4.0])
    assert dip.wmv_stop(v, patience=3) == 4               # no new minimum at 5, 6, 7
    assert dip.wmv_stop(v, patience=10) is None           # never patient enough
    assert dip.wmv_stop(np.array([3.0, 2.0, 1.0]), patience=1) is None
    with pytest.raises(ValueError, match="patience must be >= 1"):
        dip.wmv_stop(v, patience=0)


# -- the fit -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def noisy_camera():
    x = load_image("camera", 32)
    return x, add_noise(x, 0.1, seed=1)


def test_fit_is_deterministic_and_its_records_agree(noisy_camera):
    x, y = noisy_camera
    a = dip.dip_fit(y, num_iters=25, x_true=x, snapshot_at=(0, 10), window=4, patience=3)
    b = dip.dip_fit(y, num_iters=25, x_true=x, snapshot_at=(0, 10), window=4, patience=3)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.x_hat, b.x_hat)
    assert a.loss.shape == a.psnr.shape == a.wmv.shape == (25,)
    # The loss recorded is the mean squared residual of the recorded iterate.
    assert a.loss[10] == pytest.approx(np.mean((a.iterates[10] - y) ** 2), rel=1e-5)
    # The PSNR curve is that of the iterates.
    assert a.psnr[10] == pytest.approx(10 * np.log10(1 / np.mean((a.iterates[10] - x) ** 2)),
                                       abs=1e-9)
    # Stops are those of the stand-alone rules applied to the records.
    assert a.stops["discrepancy"] == dip.discrepancy_stop(a.loss, a.sigma_hat)
    assert a.stops["wmv"] == dip.wmv_stop(a.wmv, 3)
    assert a.stops["peak"] == int(np.argmax(a.psnr))
    assert a.sigma_hat == pytest.approx(dip.estimate_sigma(y))
    # The fit learns: the misfit falls well below that of the random network.
    assert a.loss[-1] < 0.5 * a.loss[0]
    assert 20_000 < a.num_parameters < 100_000


def test_missing_pixels_do_not_influence_the_fit(noisy_camera):
    x, y = noisy_camera
    mask = dip.random_pixel_mask(y.shape, 0.5, seed=0)
    y_other = np.where(mask > 0, y, 1.0 - y)      # different values under the mask
    a = dip.dip_fit(mask * y, mask, num_iters=8, snapshot_at=(7,))
    b = dip.dip_fit(y_other, mask, num_iters=8, snapshot_at=(7,))
    np.testing.assert_array_equal(a.iterates[7], b.iterates[7])
    # ...while the observed pixels do.
    c = dip.dip_fit(np.where(mask > 0, 1.0 - y, y), mask, num_iters=8, snapshot_at=(7,))
    assert not np.array_equal(a.iterates[7], c.iterates[7])


def test_stop_rule_ends_the_fit_and_returns_its_iterate(noisy_camera):
    x, y = noisy_camera
    r = dip.dip_fit(y, num_iters=300, stop="discrepancy", sigma=0.1, x_true=x)
    k = r.stop_iter
    assert k == r.stops["discrepancy"] and r.loss.size == k + 1
    threshold = dip.DIP_SETTINGS["tau"] * 0.1 ** 2
    assert r.loss[k] <= threshold < r.loss[:k].min()
    np.testing.assert_array_equal(r.x_hat, r.iterates[k])


def test_input_noise_changes_the_iterates_and_output_is_unperturbed(noisy_camera):
    x, y = noisy_camera
    a = dip.dip_fit(y, num_iters=3, snapshot_at=(2,))
    b = dip.dip_fit(y, num_iters=3, snapshot_at=(2,), input_noise=0.05)
    assert not np.array_equal(a.iterates[2], b.iterates[2])
    solver = dip.DeepImagePrior(y)
    first = solver.step()
    # Without input noise the recorded iterate is Ψ(z; w_0), the output before the step.
    solver2 = dip.DeepImagePrior(y)
    np.testing.assert_allclose(first, solver2.output(), atol=1e-6)


def test_train_and_eval_modes_give_the_same_output():
    from course_utils.nets.dip import build_dip_net, dip_input
    net = build_dip_net(0)
    z = dip_input((16, 24), seed=1)
    with torch.no_grad():
        net.train()
        a = net(z)
        net.eval()
        b = net(z)
    assert a.shape == (1, 1, 16, 24)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert float(a.min()) > 0 and float(a.max()) < 1
    # Same seed, same network.
    c = build_dip_net(0)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), c.parameters()))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_iters": 0}, ValueError, "num_iters must be >= 1"),
    ({"num_iters": 2.5}, TypeError, "num_iters must be an integer"),
    ({"sigma": -0.1}, ValueError, "sigma must be >= 0"),
    ({"lr": 0.0}, ValueError, "lr must be > 0"),
    ({"input_noise": -1.0}, ValueError, "input_noise must be >= 0"),
    ({"stop": "peak"}, ValueError, "Unknown stop"),
    ({"snapshot_at": (5,), "num_iters": 5}, ValueError, "snapshot_at must be <= 4"),
    ({"snapshot_at": 3}, TypeError, "snapshot_at must be an iterable"),
    ({"mask": np.ones((8, 8))}, ValueError, "mask must have the shape of the image"),
    ({"mask": np.zeros((16, 16))}, ValueError, "mask has no observed pixel"),
    ({"x_true": np.zeros((8, 8))}, ValueError, "x_true must have the shape of y"),
    ({"window": 1}, ValueError, "window must be >= 2"),
    ({"patience": 0}, ValueError, "patience must be >= 1"),
    ({"arch": {"depth": 3}}, TypeError, "unknown architecture option"),
])
def test_dip_fit_rejects_bad_input(kwargs, error, match):
    y = np.full((16, 16), 0.5)
    kwargs = dict(kwargs)
    mask = kwargs.pop("mask", None)
    with pytest.raises(error, match=match):
        dip.dip_fit(y, mask, **{"num_iters": 2, **kwargs})


def test_image_sides_must_fit_the_network():
    with pytest.raises(ValueError, match="y must have sides that are multiples of 8"):
        dip.DeepImagePrior(np.zeros((20, 16)))
    with pytest.raises(ValueError, match="y must be 2-D"):
        dip.DeepImagePrior(np.zeros((16, 16, 3)))


def test_numpy_parts_import_without_torch():
    import subprocess
    import sys
    code = ("import sys, course_utils.dip as d; d.random_pixel_mask((8, 8), 0.5); "
            "d.discrepancy_stop([1.0, 0.1], 0.5); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("call, error, match", [
    (lambda n: n.SkipNet(channels=()), ValueError, "channels must not be empty"),
    (lambda n: n.SkipNet(channels=(8, 0)), ValueError, "channels must be >= 1"),
    (lambda n: n.SkipNet(in_channels=2.0), TypeError, "in_channels must be an integer"),
    (lambda n: n.SkipNet(skip_channels=-1), ValueError, "skip_channels must be >= 0"),
    (lambda n: n.build_dip_net(seed=-1), ValueError, "seed must be a non-negative integer"),
    (lambda n: n.dip_input((16, 0)), ValueError, "shape must be >= 1"),
    (lambda n: n.SkipNet()(torch.zeros(1, 3, 16, 16)), ValueError, r"z must have shape"),
    (lambda n: n.SkipNet()(torch.zeros(1, 8, 12, 16)), ValueError, "multiples of 8"),
])
def test_network_rejects_bad_input(call, error, match):
    from course_utils.nets import dip as nets_dip
    with pytest.raises(error, match=match):
        call(nets_dip)


def test_plain_hourglass_without_skips_runs():
    from course_utils.nets.dip import build_dip_net, dip_input
    net = build_dip_net(0, skip_channels=0, channels=(8, 8))
    with torch.no_grad():
        assert net(dip_input((8, 12), seed=0)).shape == (1, 1, 8, 12)
