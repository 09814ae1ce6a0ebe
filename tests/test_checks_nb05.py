"""Tests of the notebook 05 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.checks.nb05 import _bp_variants, _shuffle_variants


def pixel_shuffle(h, s):
    """A student's correct answer, written with loops, independently of the reference."""
    c, m, n = h.shape
    x = np.zeros((s * m, s * n))
    for a in range(s):
        for b in range(s):
            x[a::s, b::s] = h[a * s + b]
    return x


def step(x_hat, y, s, tau):
    m, n = y.shape
    r = y - x_hat.reshape(m, s, n, s).mean(axis=(1, 3))
    return x_hat + tau * np.kron(r, np.ones((s, s)))


def unfinished(*args):
    raise NotImplementedError("Exercise 5.x: ...")


def test_loop_answer_matches_torch_pixel_shuffle():
    h = np.random.default_rng(0).standard_normal((9, 4, 5))
    ref = F.pixel_shuffle(torch.from_numpy(h)[None], 3)[0, 0].numpy()
    np.testing.assert_array_equal(pixel_shuffle(h, 3), ref)


def test_correct_answers_pass(capsys):
    assert checks.check_pixel_shuffle(pixel_shuffle) is True
    assert checks.check_back_projection_step(step) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "one step already fits the data" in out


def test_unfinished_prints_the_hint(capsys):
    assert checks.check_pixel_shuffle(unfinished) is False
    assert checks.check_back_projection_step(unfinished) is False
    out = capsys.readouterr().out
    assert "Exercise 5.1 is not done yet" in out and "Exercise 5.2 is not done yet" in out


@pytest.mark.parametrize("mistake", ["swap", "tiles", "channel_last"])
def test_shuffle_mistakes_are_named(mistake, capsys):
    def wrong(h, s):
        return _shuffle_variants(h, s)[mistake][1]

    assert checks.check_pixel_shuffle(wrong) is False
    assert _shuffle_variants(np.zeros((4, 1, 1)), 2)[mistake][0][:30] in capsys.readouterr().out


@pytest.mark.parametrize("mistake", ["sign", "no_tau", "adjoint", "decimate"])
def test_back_projection_mistakes_are_named(mistake, capsys):
    def wrong(x_hat, y, s, tau):
        return _bp_variants(x_hat, y, s, tau)[mistake][1]

    assert checks.check_back_projection_step(wrong) is False
    message = _bp_variants(np.zeros((2, 2)), np.zeros((1, 1)), 2, 1.0)[mistake][0]
    assert message[:30] in capsys.readouterr().out


def test_transposed_shape_and_exceptions_are_explained(capsys):
    assert checks.check_pixel_shuffle(lambda h, s: pixel_shuffle(h, s).T) is False
    assert "rows come first" in capsys.readouterr().out
    assert checks.check_back_projection_step(lambda *a: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert checks.check_back_projection_step(lambda *a: None) is False
    assert "return" in capsys.readouterr().out


# -- value exercises: 5.3 (predict), 5.4 (interpret), 5.5 (experiment) ------------------------
from course_utils import sr  # noqa: E402
from course_utils.checks.nb05 import (_ibp_gains, _widget_gains, check_ibp_breaks_at,  # noqa: E402
                                      check_ibp_noise_prediction, check_table_reading)


def test_ibp_prediction_follows_the_measured_table(capsys):
    g5 = _ibp_gains((sr.SIGMA_TEST,))[sr.SIGMA_TEST][0]
    assert g5 < 0                       # the fact the right answer rests on
    assert check_ibp_noise_prediction("c") is True
    out = capsys.readouterr().out
    assert "✓ Exercise 5.3" in out and "moon" in out and f"{g5:+.2f} dB" in out
    for wrong, words in (("a", "noise does not help IBP"), ("b", "but not on average")):
        assert check_ibp_noise_prediction(wrong) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 5.3" in out and words in out and "puts that noise back" in out


def test_table_reading(capsys):
    assert check_table_reading("b") is True
    out = capsys.readouterr().out
    assert "✓ Exercise 5.4" in out and "LR grid" in out
    for wrong, words in (("a", "within"), ("c", "no network knows A"),
                         ("d", "They gain more with noise")):
        assert check_table_reading(wrong) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 5.4" in out and words in out


def test_widget_gains_are_the_widgets_numbers():
    from course_utils.widgets import super_resolution_widget

    _, update = super_resolution_widget()
    gains, _ = _widget_gains(2)
    for level in (5, 10):
        numbers = update(scale=2, sigma=level, framework="ibp")
        assert gains[level] == pytest.approx(numbers["psnr"] - numbers["psnr_bicubic"], abs=1e-9)


def test_ibp_breaks_at(capsys):
    gains, _ = _widget_gains(2)
    truth = min(s for s, g in gains.items() if g < 0)
    assert check_ibp_breaks_at(truth) is True
    assert "✓ Exercise 5.5" in capsys.readouterr().out
    assert check_ibp_breaks_at(float(truth)) is True
    capsys.readouterr()
    below = max(s for s in gains if s < truth)
    assert check_ibp_breaks_at(below) is False
    assert "go up" in capsys.readouterr().out
    above = min(s for s in gains if s > truth)
    assert check_ibp_breaks_at(above) is False
    assert "look for the first one" in capsys.readouterr().out


@pytest.mark.parametrize("check, exercise", [(check_ibp_noise_prediction, "5.3"),
                                             (check_table_reading, "5.4"),
                                             (check_ibp_breaks_at, "5.5")])
def test_value_checks_not_done_and_malformed(check, exercise, capsys):
    assert check(None) is False
    assert f"Exercise {exercise} is not done yet" in capsys.readouterr().out
    assert check(...) is False
    assert "not done yet" in capsys.readouterr().out
    for malformed in ("zz", [1, 2], {"a": 1}, True, 7):
        assert check(malformed) is False
        out = capsys.readouterr().out
        assert f"✗ Exercise {exercise}" in out and "could not run" not in out


def test_ibp_breaks_at_in_the_wrong_unit_is_explained(capsys):
    assert check_ibp_breaks_at(10 / 255) is False
    assert "units of 1/255" in capsys.readouterr().out
