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


# -- value answers: 8.3 (interpret), 8.4 (experiment), 8.5 (predict) ---------------------------
def _answer(check, answer, capsys):
    ok = check(answer)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("check, exercise", [
    (checks.check_streaks, "8.3"), (checks.check_fewest_views_tv, "8.4"),
    (checks.check_tv_or_network, "8.5")])
def test_value_checks_unfinished_and_malformed(check, exercise, capsys):
    for unfinished in (None, ...):
        ok, out = _answer(check, unfinished, capsys)
        assert not ok and f"Exercise {exercise} is not done yet" in out
        assert f'checks.hint("{exercise}")' in out
    for malformed in ("10", [1], True, float("inf"), "TV", "z", 10.5, -3):
        ok, out = _answer(check, malformed, capsys)
        assert not ok and f"✗ Exercise {exercise}" in out and "could not run" not in out


def test_streaks_right_and_each_wrong_option(capsys):
    ok, out = _answer(checks.check_streaks, "b", capsys)
    assert ok and "✓ Exercise 8.3" in out and "fan of lines" in out
    for letter, expected in (("a", "deterministic"), ("c", "not a copy of the head"),
                             ("d", "low frequencies are all measured")):
        ok, out = _answer(checks.check_streaks, letter, capsys)
        assert not ok and "✗ Exercise 8.3" in out and expected in out


def test_streak_numbers_show_streaks_outside_the_head():
    n = checks.nb08.streak_numbers()
    assert n[18]["rms_outside"] > 3 * n[180]["rms_outside"]
    assert n[18]["share_outside"] > 0.5 > n[180]["share_outside"]
    assert n[18]["rerun"] == 0.0


def test_fewest_views_tv_right_and_wrong(capsys):
    best, scores = checks.nb08.fewest_views("TV")
    assert scores[best] >= checks.nb08.TARGET_PSNR
    assert all(v < checks.nb08.TARGET_PSNR for k, v in scores.items() if k < best)
    fbp, _ = checks.nb08.fewest_views("FBP", start=best)
    assert fbp is not None and fbp > 2 * best
    ok, out = _answer(checks.check_fewest_views_tv, best, capsys)
    assert ok and "✓ Exercise 8.4" in out and f"FBP needs {fbp} views" in out
    ok, out = _answer(checks.check_fewest_views_tv, best - 1, capsys)
    assert not ok and "below 28 dB" in out
    ok, out = _answer(checks.check_fewest_views_tv, fbp, capsys)
    assert not ok and "the question asks for the fewest" in out
    ok, out = _answer(checks.check_fewest_views_tv, 1, capsys)
    assert not ok and "single projection" in out


def test_tv_or_network_judged_by_the_run(capsys):
    from course_utils import ct_learned
    from course_utils.metrics import psnr

    x_fine, truth = ct_learned.ct_phantom(ct_learned.HELDOUT_SEEDS[0])
    out = ct_learned.reconstruct_all(x_fine, 18, methods=("TV", "learned"))
    right = "a" if psnr(truth, out["TV"]) >= psnr(truth, out["learned"]) else "b"
    wrong = "b" if right == "a" else "a"
    ok, text = _answer(checks.check_tv_or_network, right, capsys)
    assert ok and "✓ Exercise 8.5" in text and "At 18 views TV scores" in text
    ok, text = _answer(checks.check_tv_or_network, wrong, capsys)
    assert not ok and "✗ Exercise 8.5" in text and "At 18 views TV scores" in text
