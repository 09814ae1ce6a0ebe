"""Tests of course_utils.metrics: known values, symmetry, validation."""
import numpy as np
import pytest

from course_utils import metrics
from course_utils.data import load_image


@pytest.fixture(scope="module")
def x():
    return load_image("camera", size=64)


@pytest.mark.parametrize("offset, expected_db",
                         [(0.1, 20.0), (0.01, 40.0), (0.5, 20 * np.log10(2))])
def test_psnr_of_constant_offset(x, offset, expected_db):
    # MSE of a constant offset c is c², so PSNR = 10 log10(1 / c²) = −20 log10 c exactly.
    assert metrics.psnr(x, x + offset) == pytest.approx(expected_db, abs=1e-10)


def test_psnr_data_range_scales_as_20log10(x):
    # Multiplying the peak by 10 adds exactly 20 dB.
    base = metrics.psnr(x, x + 0.05)
    assert metrics.psnr(x, x + 0.05, data_range=10.0) == pytest.approx(base + 20.0, abs=1e-10)


def test_psnr_identical_is_inf_and_symmetric(x):
    assert metrics.psnr(x, x) == np.inf
    rng = np.random.default_rng(0)
    z = x + 0.03 * rng.standard_normal(x.shape)
    assert metrics.psnr(x, z) == metrics.psnr(z, x)


def test_psnr_of_gaussian_noise_matches_sigma():
    # For noise of std sigma the MSE is close to sigma²: with 4e4 samples it is within
    # ~1 % (~0.05 dB); we allow 0.1 dB.
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(200, 200))
    sigma = 0.05
    expected = -20 * np.log10(sigma)
    noisy = x + sigma * rng.standard_normal(x.shape)
    assert metrics.psnr(x, noisy) == pytest.approx(expected, abs=0.1)


def test_psnr_complex_uses_modulus_of_difference():
    x = np.zeros((4, 4), dtype=complex)
    # |0.1 j| = 0.1, so this is a 20 dB error like a real offset of 0.1
    assert metrics.psnr(x, x + 0.1j) == pytest.approx(20.0, abs=1e-10)


def test_mse_known_value():
    assert metrics.mse([0.0, 0.0], [1.0, 3.0]) == pytest.approx(5.0)


def test_ssim_identical_is_one_and_noise_lowers_it(x):
    assert metrics.ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(2)
    low = metrics.ssim(x, x + 0.2 * rng.standard_normal(x.shape))
    mid = metrics.ssim(x, x + 0.05 * rng.standard_normal(x.shape))
    assert low < mid < 1.0


def test_ssim_matches_scikit_image(x):
    from skimage.metrics import structural_similarity
    z = np.clip(x + 0.1 * np.random.default_rng(3).standard_normal(x.shape), 0, 1)
    assert metrics.ssim(x, z) == pytest.approx(structural_similarity(x, z, data_range=1.0),
                                               abs=1e-12)


def test_ssim_small_images_use_a_smaller_window():
    rng = np.random.default_rng(4)
    a = rng.uniform(size=(5, 6))
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        metrics.ssim(np.zeros((2, 8)), np.zeros((2, 8)))


def test_rel_error_and_snr_known_values():
    x = np.array([3.0, 4.0])          # ‖x‖ = 5
    x_hat = np.array([3.0, 4.5])      # ‖x_hat − x‖ = 0.5
    assert metrics.rel_error(x, x_hat) == pytest.approx(0.1)
    assert metrics.snr(x, x_hat) == pytest.approx(20.0)
    assert metrics.snr(x, x) == np.inf


@pytest.mark.parametrize("func", [metrics.psnr, metrics.ssim, metrics.rel_error, metrics.snr,
                                  metrics.mse])
def test_shape_mismatch_and_nan_rejected(func):
    a = np.ones((8, 8))
    with pytest.raises(ValueError, match="same shape"):
        func(a, np.ones((8, 9)))
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x_hat contains NaN"):
        func(a, bad)
    with pytest.raises(ValueError, match="x contains NaN"):
        func(bad, a)
    with pytest.raises(TypeError, match="numeric array"):
        func("abc", a)


def test_bad_data_range_and_zero_reference():
    a = np.ones((8, 8))
    with pytest.raises(ValueError, match="data_range"):
        metrics.psnr(a, a, data_range=0.0)
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(a, a, data_range=-1.0)
    with pytest.raises(ValueError, match="all zeros"):
        metrics.rel_error(np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="real-valued"):
        metrics.ssim(a + 0j, a)
    with pytest.raises(ValueError, match="2-D"):
        metrics.ssim(np.ones(8), np.ones(8))
