"""Tests of the notebook 08 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks.nb08 import (_BP_MISTAKES, _ramp_variants, _variant_back_projection,
                                      pixel_back_projection, pixel_projection)
from course_utils.ct import fbp_filter
from course_utils.operators import Radon


def back_project(y, angles, shape):
    """A student's correct answer, written independently of the reference."""
    M, N = shape
    D = y.shape[0]
    rows, cols = np.mgrid[:M, :N]
    out = np.zeros(shape)
    for a, theta in enumerate(np.deg2rad(angles)):
        t = (cols - N // 2) * np.cos(theta) - (rows - M // 2) * np.sin(theta)
        out += np.interp(t + D // 2, np.arange(D), y[:, a], left=0.0, right=0.0)
    return out


def ramp_filter(size):
    k = np.arange(size)
    n = np.minimum(k, size - k)
    h = np.zeros(size)
    h[0] = 0.25
    odd = n % 2 == 1
    h[odd] = -1.0 / (np.pi * n[odd]) ** 2
    return np.real(np.fft.fft(h))


def unfinished(*args):
    raise NotImplementedError("Exercise 8.x: ...")


# -- the pixel-driven pair ------------------------------------------------------------------
@pytest.mark.parametrize("shape,D,angles", [((24, 30), 36, [0.0, 17.0, 90.0, 151.0]),
                                            ((17, 17), 17, [3.0, 45.0, 179.0])])
def test_pixel_pair_is_an_exact_adjoint_pair(shape, D, angles):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(shape), rng.standard_normal((D, len(angles)))
    px = pixel_projection(x, angles, D)
    lhs, rhs = np.sum(px * y), np.sum(x * pixel_back_projection(y, angles, shape))
    # Transposes of one sparse linear map: round-off only.
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(px) * np.linalg.norm(y)


def test_pixel_pair_is_close_to_the_ray_driven_radon():
    x = np.zeros((32, 32))
    x[10:22, 8:20] = 1.0
    angles = np.arange(0.0, 180.0, 15.0)
    ours = Radon((32, 32), angles)(x)
    # Same geometry, another discretisation: a few per cent apart, not 100 %.
    assert np.linalg.norm(pixel_projection(x, angles, 32) - ours) / np.linalg.norm(ours) < 0.05


# -- exercise 8.1 ----------------------------------------------------------------------------
def test_back_projection_check_accepts_a_correct_answer(capsys):
    assert checks.check_back_projection(back_project) is True
    out = capsys.readouterr().out
    assert "✓ Exercise 8.1" in out and "op.adjoint" in out


@pytest.mark.parametrize("mistake", [m for m in _BP_MISTAKES])
def test_back_projection_check_names_each_classic_mistake(mistake, capsys):
    def student(y, angles, shape):
        return _variant_back_projection(y, angles, shape, mistake)
    assert checks.check_back_projection(student) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 8.1" in out and "dot test fails" in out
    assert _BP_MISTAKES[mistake][:40] in out


def test_back_projection_check_unfinished_and_broken_answers(capsys):
    assert checks.check_back_projection(unfinished) is False
    assert "Exercise 8.1 is not done yet" in capsys.readouterr().out
    assert checks.check_back_projection(lambda y, a, s: None) is False
    assert "forget the `return`" in capsys.readouterr().out
    assert checks.check_back_projection(lambda y, a, s: np.zeros(s[::-1])) is False
    assert "(rows, columns)" in capsys.readouterr().out
    assert checks.check_back_projection(lambda y, a, s: np.ones(s)) is False
    out = capsys.readouterr().out
    assert "dot test fails" in out and "Traceback" not in out
    assert checks.check_back_projection(lambda y, a, s: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert checks.check_back_projection(back_project(np.ones((4, 2)), [0, 90], (4, 4))) \
        is False
    assert "without parentheses" in capsys.readouterr().out


# -- exercise 8.2 ----------------------------------------------------------------------------
def test_ramp_filter_reference_is_close_to_abs_f():
    freqs, response = fbp_filter("ramp", 256)
    # The band-limited ramp is |f| up to a small positive DC value (measured 7.9e-4).
    assert 0 < response[0] < 2e-3
    assert np.max(np.abs(response - np.abs(freqs))) < 2e-3
    np.testing.assert_allclose(ramp_filter(256), response, atol=1e-15)


def test_ramp_check_accepts_a_correct_answer(capsys):
    assert checks.check_ramp_filter(ramp_filter) is True
    assert "✓ Exercise 8.2" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["sampled", "double", "shifted", "not_circular", "no_dc"])
def test_ramp_check_names_each_classic_mistake(name, capsys):
    def student(size):
        return _ramp_variants(size)[name][0]
    assert checks.check_ramp_filter(student) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 8.2" in out
    assert _ramp_variants(64)[name][1][:40] in out


def test_ramp_check_wrong_sign_is_explained_as_a_shift(capsys):
    def student(size):
        k = np.arange(size)
        n = np.minimum(k, size - k)
        h = np.zeros(size)
        h[0] = 0.25
        h[n % 2 == 1] = 1.0 / (np.pi * n[n % 2 == 1]) ** 2
        return np.real(np.fft.fft(h))
    assert checks.check_ramp_filter(student) is False
    assert "wrong sign" in capsys.readouterr().out


def test_ramp_check_unfinished_and_other_answers(capsys):
    assert checks.check_ramp_filter(unfinished) is False
    assert "Exercise 8.2 is not done yet" in capsys.readouterr().out
    assert checks.check_ramp_filter(lambda size: np.fft.fft(np.ones(size)) + 1j) is False
    assert "complex" in capsys.readouterr().out
    assert checks.check_ramp_filter(lambda size: np.ones(size // 2)) is False
    assert "must return" in capsys.readouterr().out
    assert checks.check_ramp_filter(lambda size: np.ones(size)) is False
    out = capsys.readouterr().out
    assert "Nyquist" in out and "Traceback" not in out
