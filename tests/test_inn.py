"""Tests of course_utils.inn: wavelet shrinkage by lifting, sparsity, random INNs, the table."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import inn, lifting
from course_utils.data import add_noise, load_image
from course_utils.metrics import psnr

pywt = pytest.importorskip("pywt")


def test_soft_threshold_values_and_errors():
    c = np.array([-3.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(inn.soft_threshold(c, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(inn.soft_threshold(c, 0.0), c)
    with pytest.raises(ValueError, match="t must be >= 0"):
        inn.soft_threshold(c, -1.0)
    with pytest.raises(ValueError, match="c contains NaN"):
        inn.soft_threshold([np.nan], 1.0)


def test_band_threshold_rules():
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal((64, 64))
    # Pure noise: the band's signal variance is about 0, BayesShrink removes (nearly) all.
    assert inn.band_threshold(noise, 0.1, "bayes") > 0.3
    assert inn.band_threshold(noise, 0.1, "universal", n=4096) == pytest.approx(
        0.1 * np.sqrt(2 * np.log(4096)))
    strong = noise + 1.0 * rng.standard_normal((64, 64))
    assert inn.band_threshold(strong, 0.1, "bayes") == pytest.approx(0.01 / 1.0, rel=0.1)
    assert inn.band_threshold(noise, 0.0, "bayes") == 0.0
    assert inn.band_threshold(np.zeros((4, 4)), 0.1, "bayes") == float("inf")
    with pytest.raises(ValueError, match="Unknown rule"):
        inn.band_threshold(noise, 0.1, "sure")
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        inn.band_threshold(noise, -0.1, "bayes")


def test_shrink_details_keeps_coarse_and_layout_and_input():
    rng = np.random.default_rng(1)
    coeffs = [rng.standard_normal((2, 2)), tuple(rng.standard_normal((2, 2)) for _ in range(3)),
              tuple(rng.standard_normal((4, 4)) for _ in range(3))]
    saved = [coeffs[0].copy()] + [tuple(b.copy() for b in bands) for bands in coeffs[1:]]
    out = inn.shrink_details(coeffs, 0.5)
    np.testing.assert_array_equal(out[0], saved[0])
    for bands, ref in zip(out[1:], saved[1:]):
        for b, r in zip(bands, ref):
            np.testing.assert_allclose(b, np.sign(r) * np.maximum(np.abs(r) - 0.5, 0))
    np.testing.assert_array_equal(coeffs[1][0], saved[1][0])            # input untouched
    per_band = inn.shrink_details(coeffs, [(0.0, 0.0, 0.0), (np.inf, 0.0, 0.0)])
    np.testing.assert_array_equal(per_band[1][0], saved[1][0])
    assert not per_band[2][0].any()
    with pytest.raises(TypeError, match="coeffs must be a list"):
        inn.shrink_details(np.zeros((4, 4)), 0.1)
    with pytest.raises(ValueError, match="3 detail bands"):
        inn.shrink_details([np.zeros((2, 2)), (np.zeros((2, 2)),)], 0.1)
    with pytest.raises(ValueError, match="triples"):
        inn.shrink_details(coeffs, [(0.1, 0.1, 0.1)])


@pytest.mark.parametrize("scheme, wavelet", [("haar", "haar"), ("legall53", "bior2.2")])
@pytest.mark.parametrize("rule", ["bayes", "universal"])
def test_wavelet_denoise_equals_pywavelets_with_periodic_borders(scheme, wavelet, rule):
    x = load_image("camera", 64)
    sigma = 0.1
    y = add_noise(x, sigma, seed=3)
    ours = inn.wavelet_denoise(y, sigma, scheme, rule=rule, levels=3)
    c = pywt.wavedec2(y, wavelet, mode="periodization", level=3)
    t = [tuple(inn.band_threshold(b, sigma, rule, n=y.size) for b in bands) for bands in c[1:]]
    ref = pywt.waverec2(inn.shrink_details(c, t), wavelet, mode="periodization")
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    assert psnr(x, ours) > psnr(x, y) + 1.0


def test_wavelet_denoise_haar_bayes_matches_skimage():
    from skimage.restoration import denoise_wavelet
    x = load_image("camera", 128)
    y = add_noise(x, 25 / 255, seed=1)
    ours = inn.wavelet_denoise(y, 25 / 255, "haar", rule="bayes", levels=4)
    ref = denoise_wavelet(y, sigma=25 / 255, wavelet="haar", mode="soft", wavelet_levels=4,
                          method="BayesShrink", rescale_sigma=True)
    assert psnr(x, ours) == pytest.approx(psnr(x, ref), abs=0.01)


def test_wavelet_denoise_fixed_rule_and_info():
    x = load_image("camera", 64)
    y = add_noise(x, 0.1, seed=0)
    same, info = inn.wavelet_denoise(y, 0.1, "legall53", rule="fixed", factor=0.0,
                                     return_info=True)
    np.testing.assert_allclose(same, y, atol=1e-12)                     # nothing shrunk
    assert info["zero_fraction"] < 0.01
    _, info = inn.wavelet_denoise(y, 0.1, "legall53", rule="fixed", factor=3.0,
                                  return_info=True)
    assert info["zero_fraction"] > 0.9
    assert info["thresholds"][0] == (pytest.approx(0.3),) * 3
    with pytest.raises(ValueError, match="Unknown scheme"):
        inn.wavelet_denoise(y, 0.1, "legall53-int")
    with pytest.raises(ValueError, match="divisible"):
        inn.wavelet_denoise(y[:60, :60], 0.1, "haar", levels=4)
    with pytest.raises(ValueError, match="factor must be >= 0"):
        inn.wavelet_denoise(y, 0.1, rule="fixed", factor=-1.0)


def test_detail_sparsity():
    x = np.ones((16, 16))
    c = lifting.wavelet_forward(x, "haar", 2)
    assert inn.detail_sparsity(c, 0.0) == 1.0
    rng = np.random.default_rng(2)
    c = lifting.wavelet_forward(rng.standard_normal((16, 16)), "haar", 2)
    assert 0.0 < inn.detail_sparsity(c, 0.5) < 0.6
    with pytest.raises(TypeError, match="normalise must be a bool"):
        inn.detail_sparsity(c, 0.1, normalise="yes")
    with pytest.raises(ValueError, match="tol must be >= 0"):
        inn.detail_sparsity(c, -0.1)


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_random_inn_inverts_and_autoencoder_does_not(levels):
    x = load_image("camera", 32)
    r = inn.reconstruction_errors(x, levels=levels, seed=levels)
    assert r["inn_error"] < 1e-12
    assert r["ae_error"] > 0.1
    assert r["inn_code_size"] == r["ae_code_size"] == x.size
    assert abs(r["ae_params"] - r["inn_params"]) <= 0.1 * r["inn_params"]
    r32 = inn.reconstruction_errors(x, levels=levels, seed=levels, dtype="float32")
    assert r32["inn_error"] < 1e-5


def test_random_lifting_network_is_not_haar():
    # The default LearnedLifting starts as Haar (zero last layers); the random one must not.
    x = load_image("camera", 32)
    model = inn.random_lifting_network(1, seed=0)
    c = inn.learned_coefficients(x, model)
    haar = lifting.to_pywt(lifting.wavelet_forward(x, "haar", 1))
    assert np.max(np.abs(c[0] - haar[0])) > 1e-3
    with pytest.raises(ValueError, match="Unknown dtype"):
        inn.random_lifting_network(1, dtype="float16")


def test_learned_coefficients_of_an_untrained_network_are_haar():
    from course_utils.nets.lifting import LearnedLifting
    x = load_image("camera", 32)
    c = inn.learned_coefficients(x, LearnedLifting(levels=2).double())
    ref = lifting.to_pywt(lifting.wavelet_forward(x, "haar", 2))
    np.testing.assert_allclose(c[0], ref[0], atol=1e-12)
    # Haar's lifting bands and haar_split's orthonormal bands agree up to their signs.
    for bands, ref_bands in zip(c[1:], ref[1:]):
        for b, r in zip(bands, ref_bands):
            np.testing.assert_allclose(np.abs(b), np.abs(r), atol=1e-12)
    assert lifting.energy_compaction(c, normalise=False) == pytest.approx(
        lifting.energy_compaction(lifting.wavelet_forward(x, "haar", 2)))
    with pytest.raises(ValueError, match="divisible"):
        inn.learned_coefficients(x[:30, :30], LearnedLifting(levels=2))
    with pytest.raises(TypeError, match="LearnedLifting or WINNetLite"):
        inn.learned_coefficients(x, torch.nn.Linear(2, 2))


def test_compare_denoisers_rows():
    images = {"a": load_image("camera", 32), "b": load_image("camera", 32)[::-1].copy()}
    methods = {"identity": (lambda y, s: y, 0),
               "haar": (lambda y, s: inn.wavelet_denoise(y, s, "haar", levels=2), 0)}
    rows = inn.compare_denoisers(images, [0.05, 0.1], methods, seed=0)
    assert [(r["method"], r["sigma"]) for r in rows] == [
        ("identity", 0.05), ("haar", 0.05), ("identity", 0.1), ("haar", 0.1)]
    ident = rows[2]
    assert ident["psnr"] == pytest.approx(20.0, abs=0.3)    # noise of σ = 0.1 alone
    assert rows[3]["psnr"] > ident["psnr"]
    assert all(r["cpu_ms"] >= 0 and 0 < r["ssim"] <= 1 for r in rows)
    again = inn.compare_denoisers(images, [0.05, 0.1], methods, seed=0)
    assert [r["psnr"] for r in again] == [r["psnr"] for r in rows]
    with pytest.raises(TypeError, match="methods"):
        inn.compare_denoisers(images, [0.1], {"x": lambda y, s: y})
    with pytest.raises(ValueError, match="sigmas must be > 0"):
        inn.compare_denoisers(images, [0.0], methods)
