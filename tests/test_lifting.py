"""Tests of the lifting wavelets: PyWavelets' bands, perfect reconstruction, the lossless
integer 5/3, invertibility for any predict and update, and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import pywt
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import color, data

from course_utils.lifting import (PYWT_NAMES, SCHEMES, energy_compaction, from_pywt,
                                  inverse_lifting_step, lift_axis, lifting_step, merge,
                                  predict_update, split, to_pywt, unlift_axis,
                                  wavelet_forward, wavelet_inverse)

FLOAT_SCHEMES = ("haar", "legall53")
# Non-square shapes for L levels: sides 2**L times these (odd factors, unequal sides).
SIDE_FACTORS = [(3, 5), (4, 1), (1, 7)]


def random_image(shape, seed: int, scheme: str = "haar") -> np.ndarray:
    rng = np.random.default_rng(seed)
    if scheme == "legall53-int":
        return rng.integers(0, 256, size=shape)
    return rng.standard_normal(shape)


def wavedec2(x, wavelet: str, levels: int) -> list:
    """``pywt.wavedec2`` with periodization; the warning for levels that leave fewer
    samples than the filter length is irrelevant here (periodic boundaries are exact)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pywt.wavedec2(x, wavelet, mode="periodization", level=levels)


def max_band_error(c1, c2) -> float:
    """Largest absolute difference between two wavedec2-layout coefficient lists."""
    assert len(c1) == len(c2)
    errs = [np.abs(np.asarray(c1[0]) - c2[0]).max()]
    for b1, b2 in zip(c1[1:], c2[1:]):
        assert len(b1) == len(b2) == 3
        errs += [np.abs(np.asarray(u) - v).max() for u, v in zip(b1, b2)]
    return float(max(errs))


# =====================================================================================
# PyWavelets' bands: cA = √2 s, cD = −d/√2 per 1-D step, no index shift.
# =====================================================================================
@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
@pytest.mark.parametrize("length", [2, 4, 6, 10, 16, 30])
@pytest.mark.parametrize("axis", [0, 1])
def test_one_level_1d_bands_match_pywt(scheme, length, axis):
    shape = (length, 3) if axis == 0 else (3, length)
    x = random_image(shape, seed=length)
    s, d = lift_axis(x, scheme, axis=axis)
    c_a, c_d = pywt.dwt(x, PYWT_NAMES[scheme], mode="periodization", axis=axis)
    # Round-off of a few operations on unit-size numbers: 1e-12 leaves a wide margin.
    np.testing.assert_allclose(np.sqrt(2) * s, c_a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(-d / np.sqrt(2), c_d, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
@pytest.mark.parametrize("shape", [(2, 2), (6, 10), (16, 8), (12, 34)])
def test_one_level_2d_band_mapping(scheme, shape):
    # One 2-D level: cA = 2 ss, cH = −ds, cV = −sd, cD = dd/2 (√2 per smooth direction,
    # −1/√2 per detail direction), no circular shift for either wavelet.
    x = random_image(shape, seed=sum(shape))
    [ss, (ds, sd, dd)] = wavelet_forward(x, scheme, 1)
    c_a, (c_h, c_v, c_d) = pywt.dwt2(x, PYWT_NAMES[scheme], mode="periodization")
    for ours, ref in [(2 * ss, c_a), (-ds, c_h), (-sd, c_v), (dd / 2, c_d)]:
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("factors", SIDE_FACTORS)
def test_multilevel_matches_wavedec2(scheme, levels, factors):
    shape = (2 ** levels * factors[0], 2 ** levels * factors[1])
    x = random_image(shape, seed=levels + 10 * factors[0])
    ours = to_pywt(wavelet_forward(x, scheme, levels))
    ref = wavedec2(x, PYWT_NAMES[scheme], levels)
    # Values grow like 2**(L/2) at most; 1e-12 is still hundreds of ulps.
    assert max_band_error(ours, ref) < 1e-12


@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
@pytest.mark.parametrize("levels", [1, 3])
def test_from_pywt_inverts_to_pywt_and_reconstructs_from_pywavelets(scheme, levels):
    x = random_image((8 * 3, 8 * 2), seed=levels)
    coeffs = wavelet_forward(x, scheme, levels)
    back = from_pywt(to_pywt(coeffs))
    assert max_band_error(back, coeffs) < 1e-12
    # PyWavelets' own coefficients, mapped back, are inverted by the lifting scheme.
    x_rec = wavelet_inverse(from_pywt(wavedec2(x, PYWT_NAMES[scheme], levels)), scheme)
    np.testing.assert_allclose(x_rec, x, rtol=0, atol=1e-12)


def test_integer_scheme_is_close_to_bior22():
    # Rounding inside the steps moves each unnormalised coefficient by less than 1 per
    # step; one level of to_pywt scales by at most 2, two rounded steps per axis.
    x = random_image((16, 24), seed=3, scheme="legall53-int")
    ours = to_pywt(wavelet_forward(x, "legall53-int", 1))
    ref = wavedec2(x.astype(float), "bior2.2", 1)
    assert 0 < max_band_error(ours, ref) < 4


# =====================================================================================
# Perfect reconstruction.
# =====================================================================================
@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
@pytest.mark.parametrize("seed", range(6))
def test_float_schemes_reconstruct(scheme, seed):
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(1, 5))
    shape = tuple(int(2 ** levels * rng.integers(1, 6)) for _ in range(2))
    x = 10 * rng.standard_normal(shape)
    coeffs = wavelet_forward(x, scheme, levels)
    assert len(coeffs) == levels + 1
    assert coeffs[0].shape == (shape[0] >> levels, shape[1] >> levels)
    # Values of size 10: 1e-12 is about 50 ulps.
    np.testing.assert_allclose(wavelet_inverse(coeffs, scheme), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_coefficient_layout(scheme):
    x = random_image((16, 32), seed=0, scheme=scheme)
    coeffs = wavelet_forward(x, scheme, 3)
    assert coeffs[0].shape == (2, 4)
    assert [tuple(b.shape for b in bands) for bands in coeffs[1:]] == [
        ((2, 4),) * 3, ((4, 8),) * 3, ((8, 16),) * 3]
    # The coarse band of level j is the input of level j + 1, computed the same way.
    one = wavelet_forward(x, scheme, 1)
    two = wavelet_forward(one[0], scheme, 1)
    three = wavelet_forward(two[0], scheme, 1)
    assert max_band_error(coeffs, [three[0], three[1], two[1], one[1]]) == 0


@pytest.mark.parametrize("scheme", FLOAT_SCHEMES)
def test_constant_image_has_zero_details_and_its_mean_as_coarse_band(scheme):
    x = np.full((8, 16), 3.25)
    coeffs = wavelet_forward(x, scheme, 3)
    np.testing.assert_allclose(coeffs[0], 3.25, rtol=0, atol=1e-14)
    assert all(np.abs(b).max() < 1e-14 for bands in coeffs[1:] for b in bands)
    assert energy_compaction(coeffs) == pytest.approx(1.0, abs=1e-14)


# =====================================================================================
# The integer 5/3: integers to integers, lossless on every bundled image.
# =====================================================================================
def bundled_uint8_images() -> dict[str, np.ndarray]:
    """The skimage images that ship with the package, as uint8 grey images."""
    astronaut = np.round(255 * color.rgb2gray(data.astronaut())).astype(np.uint8)
    phantom = np.round(255 * data.shepp_logan_phantom()).astype(np.uint8)
    return {"camera": data.camera(), "astronaut": astronaut, "coins": data.coins(),
            "moon": data.moon(), "shepp_logan_phantom": phantom}


def crop_to(x: np.ndarray, levels: int) -> np.ndarray:
    f = 2 ** levels
    return x[: x.shape[0] // f * f, : x.shape[1] // f * f]


@pytest.mark.parametrize("name", ["camera", "astronaut", "coins", "moon",
                                  "shepp_logan_phantom"])
@pytest.mark.parametrize("levels", [1, 3, "max"])
def test_integer_scheme_is_lossless_on_bundled_images(name, levels):
    x = bundled_uint8_images()[name]
    if levels == "max":     # as many levels as the image allows after cropping to a
        levels = min(int(np.log2(s)) for s in x.shape) - 1      # side of >= 2 samples
    x = crop_to(x, levels)
    assert x.dtype == np.uint8 and x.shape[0] >= 2 ** levels
    coeffs = wavelet_forward(x, "legall53-int", levels)
    arrays = [coeffs[0], *[b for bands in coeffs[1:] for b in bands]]
    assert all(a.dtype == np.int64 for a in arrays)
    # The coefficients of an 8-bit image stay small integers (a few bits of growth).
    assert max(np.abs(a).max() for a in arrays) < 2 ** 12
    x_rec = wavelet_inverse(coeffs, "legall53-int")
    assert x_rec.dtype == np.int64
    np.testing.assert_array_equal(x_rec, x)      # bit for bit


def test_integer_scheme_accepts_integer_valued_floats_and_any_integer_dtype():
    x = random_image((8, 8), seed=1, scheme="legall53-int")
    ref = wavelet_forward(x, "legall53-int", 2)
    for variant in (x.astype(np.float64), x.astype(np.uint8), x.astype(np.int16)):
        assert max_band_error(wavelet_forward(variant, "legall53-int", 2), ref) == 0
    neg = x - 300
    np.testing.assert_array_equal(
        wavelet_inverse(wavelet_forward(neg, "legall53-int", 3), "legall53-int"), neg)


def test_integer_steps_are_the_jpeg2000_formulas():
    # ITU-T T.800 Annex F, reversible 5/3 with periodic extension, written out by hand.
    x = np.array([7, 3, 250, 4, 0, 255, 9, 9])
    n = len(x) // 2
    d = [x[2 * k + 1] - (x[2 * k] + x[(2 * k + 2) % len(x)]) // 2 for k in range(n)]
    s = [x[2 * k] + (d[k - 1] + d[k] + 2) // 4 for k in range(n)]
    s_ours, d_ours = lift_axis(x, "legall53-int", axis=0)
    np.testing.assert_array_equal(d_ours, d)
    np.testing.assert_array_equal(s_ours, s)
    np.testing.assert_array_equal(unlift_axis(s_ours, d_ours, "legall53-int", axis=0), x)


# =====================================================================================
# The generic step inverts whatever P and U are.
# =====================================================================================
def _linear(seed: int, n: int):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return lambda v: v @ a.T


NONLINEAR = {
    "tanh": lambda v: np.tanh(3 * v),
    "square": lambda v: v ** 2 - np.roll(v, 1, axis=-1),
    "relu-shift": lambda v: np.maximum(np.roll(v, -2, axis=-1), 0.3 * v),
    "sin": lambda v: np.sin(v) * np.cos(np.roll(v, 1, axis=-1)),
    "abs-mean": lambda v: np.abs(v) - np.abs(v).mean(axis=-1, keepdims=True),
}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p_kind=st.sampled_from(["linear", *NONLINEAR]),
       u_kind=st.sampled_from(["linear", *NONLINEAR]),
       seed=st.integers(0, 2 ** 16), half=st.integers(1, 9), other=st.integers(1, 5),
       axis=st.sampled_from([0, 1, -1]))
def test_any_predict_and_update_invert(p_kind, u_kind, seed, half, other, axis):
    rng = np.random.default_rng(seed)
    shape = [other, other]
    shape[axis] = 2 * half
    x = rng.standard_normal(shape)
    predict = _linear(seed, half) if p_kind == "linear" else NONLINEAR[p_kind]
    update = _linear(seed + 1, half) if u_kind == "linear" else NONLINEAR[u_kind]
    s, d = lifting_step(x, predict, update, axis=axis)
    x_rec = inverse_lifting_step(s, d, predict, update, axis=axis)
    # Exact up to the round-off of one addition and one subtraction per sample on
    # values as large as those of s and d.
    scale = 1 + max(np.abs(s).max(), np.abs(d).max())
    np.testing.assert_allclose(x_rec, x, rtol=0, atol=1e-13 * scale)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p_kind=st.sampled_from(["linear", *NONLINEAR]),
       u_kind=st.sampled_from(["linear", *NONLINEAR]),
       seed=st.integers(0, 2 ** 16), half=st.integers(1, 9))
def test_any_integer_valued_predict_and_update_invert_bit_for_bit(p_kind, u_kind, seed,
                                                                 half):
    # Rounding P and U to integers (as JPEG 2000 does) keeps the step invertible and
    # makes it exact in integer arithmetic, whatever the functions inside are.
    rng = np.random.default_rng(seed)
    x = rng.integers(-1000, 1000, size=(2 * half, 3))
    base_p = _linear(seed, half) if p_kind == "linear" else NONLINEAR[p_kind]
    base_u = _linear(seed + 1, half) if u_kind == "linear" else NONLINEAR[u_kind]
    predict = lambda v: np.floor(base_p(v / 100.0)).astype(np.int64)   # noqa: E731
    update = lambda v: np.floor(base_u(v / 100.0)).astype(np.int64)    # noqa: E731
    s, d = lifting_step(x, predict, update, axis=0)
    assert s.dtype == d.dtype == np.int64
    np.testing.assert_array_equal(inverse_lifting_step(s, d, predict, update, axis=0), x)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("axis", [0, 1])
def test_scheme_is_the_generic_step_with_its_predict_and_update(scheme, axis):
    x = random_image((6, 10), seed=axis, scheme=scheme)
    predict, update = predict_update(scheme)
    s1, d1 = lift_axis(x, scheme, axis=axis)
    s2, d2 = lifting_step(x, predict, update, axis=axis)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(d1, d2)
    # along axis 1 = along axis 0 of the transpose
    s3, d3 = lift_axis(x.T, scheme, axis=1 - axis)
    np.testing.assert_array_equal(s1, s3.T)
    np.testing.assert_array_equal(d1, d3.T)


def test_split_and_merge():
    x = np.arange(24).reshape(4, 6)
    e, o = split(x, axis=0)
    np.testing.assert_array_equal(e, x[0::2])
    np.testing.assert_array_equal(o, x[1::2])
    e, o = split(x, axis=1)
    np.testing.assert_array_equal(e, x[:, 0::2])
    np.testing.assert_array_equal(merge(e, o, axis=1), x)
    np.testing.assert_array_equal(merge(*split(x, axis=0), axis=0), x)


# =====================================================================================
# Energy compaction.
# =====================================================================================
def test_energy_compaction():
    x = data.camera()[::4, ::4] / 255.0
    noise = np.random.default_rng(0).standard_normal(x.shape)
    for scheme in FLOAT_SCHEMES:
        smooth = energy_compaction(wavelet_forward(x, scheme, 2))
        rough = energy_compaction(wavelet_forward(noise, scheme, 2))
        assert 0.9 < smooth <= 1 and rough < 0.2       # white noise: ≈ 1/16 in the coarse band
    # Haar in PyWavelets' scale is orthonormal: the bands hold exactly the energy of x.
    c = to_pywt(wavelet_forward(x, "haar", 3))
    total = np.sum(c[0] ** 2) + sum(np.sum(b ** 2) for bands in c[1:] for b in bands)
    assert total == pytest.approx(np.sum(x ** 2), rel=1e-12)
    assert energy_compaction(c, normalise=False) == pytest.approx(
        energy_compaction(wavelet_forward(x, "haar", 3)), rel=1e-12)
    assert energy_compaction(wavelet_forward(np.zeros((4, 4)), "haar", 2)) == 0.0
    # the learned transform's layout: coarse band then stacked detail arrays
    assert energy_compaction([np.ones((2, 2)), np.ones((3, 2, 2))], normalise=False) == 0.25


# =====================================================================================
# Bad input: clear errors that name the argument.
# =====================================================================================
@pytest.mark.parametrize("x, scheme, levels, error, match", [
    (np.zeros((12, 16)), "haar", 3, ValueError, r"divisible by 2\*\*levels = 8"),
    (np.zeros((8, 6)), "legall53", 2, ValueError, "divisible"),
    (np.zeros((8, 8)), "haar", 0, ValueError, "levels must be >= 1"),
    (np.zeros((8, 8)), "haar", 1.0, TypeError, "levels must be an integer"),
    (np.zeros((8, 8)), "haar", True, TypeError, "levels must be an integer"),
    (np.zeros((8, 8)), "db4", 1, ValueError, "Unknown scheme: 'db4'"),
    (np.zeros((8, 8)), None, 1, TypeError, "scheme must be a string"),
    (np.full((8, 8), np.nan), "haar", 1, ValueError, "x contains NaN or inf"),
    (np.full((8, 8), np.inf), "legall53-int", 1, ValueError, "x contains NaN or inf"),
    (np.zeros(8), "haar", 1, ValueError, "x must be 2-D"),
    (np.zeros((2, 8, 8)), "haar", 1, ValueError, "x must be 2-D"),
    (np.zeros((0, 8)), "haar", 1, ValueError, "x must not be empty"),
    (np.zeros((8, 8), complex), "haar", 1, TypeError, "x must be real-valued"),
    ("camera", "haar", 1, TypeError, "x must be a numeric array"),
    (np.full((8, 8), 0.5), "legall53-int", 1, ValueError, "x must hold integers"),
    (np.full((8, 8), 1e300), "legall53-int", 1, ValueError, "x must have magnitudes"),
])
def test_wavelet_forward_rejects_bad_input(x, scheme, levels, error, match):
    with pytest.raises(error, match=match):
        wavelet_forward(x, scheme, levels)


def test_wavelet_inverse_rejects_bad_coeffs():
    coeffs = wavelet_forward(np.zeros((8, 8)), "haar", 2)
    with pytest.raises(TypeError, match="coeffs must be a list"):
        wavelet_inverse(np.zeros((8, 8)), "haar")
    with pytest.raises(ValueError, match="at least one level"):
        wavelet_inverse(coeffs[:1], "haar")
    with pytest.raises(ValueError, match=r"coeffs\[1\] must be a tuple of 3"):
        wavelet_inverse([coeffs[0], coeffs[1][:2]], "haar")
    with pytest.raises(ValueError, match=r"coeffs\[2\]\[0\] must have shape \(4, 4\)"):
        wavelet_inverse([coeffs[0], coeffs[1], (np.zeros((3, 4)),) * 3], "haar")
    with pytest.raises(ValueError, match=r"coeffs\[1\]\[0\] must have shape \(2, 2\)"):
        wavelet_inverse([coeffs[0], coeffs[2]], "haar")
    bad = [coeffs[0], coeffs[1], (coeffs[2][0], coeffs[2][1] * np.nan, coeffs[2][2])]
    with pytest.raises(ValueError, match=r"coeffs\[2\]\[1\] contains NaN"):
        wavelet_inverse(bad, "haar")
    with pytest.raises(ValueError, match=r"coeffs\[0\] must hold integers"):
        wavelet_inverse([coeffs[0] + 0.5, *coeffs[1:]], "legall53-int")
    with pytest.raises(ValueError, match="Unknown scheme"):
        wavelet_inverse(coeffs, "legall")
    with pytest.raises(TypeError, match="coeffs must be a list"):
        to_pywt("coeffs")


def test_lifting_step_rejects_bad_input():
    x = np.zeros((6, 4))
    with pytest.raises(TypeError, match="predict must be a callable"):
        lifting_step(x, 2.0, lambda d: d)
    with pytest.raises(TypeError, match="update must be a callable"):
        inverse_lifting_step(x, x, lambda e: e, None)
    with pytest.raises(ValueError, match=r"predict must return an array of shape \(4, 3\)"):
        lifting_step(x, lambda e: e[:, :1], lambda d: d)
    with pytest.raises(ValueError, match="even length >= 2 along axis 0"):
        split(np.zeros((5, 4)), axis=0)
    with pytest.raises(ValueError, match="axis must be <= 1"):
        split(x, axis=2)
    with pytest.raises(ValueError, match="s and d must have the same shape"):
        inverse_lifting_step(x, x[:2], lambda e: e, lambda d: d)
    with pytest.raises(ValueError, match="x_even and x_odd must have the same shape"):
        merge(x, x[:, :2])
    with pytest.raises(TypeError, match="normalise must be a bool"):
        energy_compaction(wavelet_forward(x[:4], "haar", 1), normalise="yes")


def test_imports_and_runs_without_torch():
    import subprocess
    import sys
    code = ("import sys, numpy as np, course_utils.lifting as L; "
            "c = L.wavelet_forward(np.arange(64).reshape(8, 8), 'legall53-int', 3); "
            "L.wavelet_inverse(c, 'legall53-int'); L.energy_compaction(c); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
