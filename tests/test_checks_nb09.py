"""Tests of the notebook 09 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks, lifting
from course_utils.checks import nb09


def _haar_forward(x):
    x_e, x_o = x[0::2], x[1::2]
    d = x_o - x_e
    return x_e + d / 2, d


def _haar_inverse(s, d):
    x = np.empty(2 * len(s))
    x[0::2] = s - d / 2
    x[1::2] = d + x[0::2]
    return x


def test_exported():
    names = {"check_haar_lifting", "check_legall53_step", "check_energy_prediction",
             "check_inn_reading", "check_shrink_details", "check_best_threshold"}
    assert names <= set(checks.__all__)
    assert checks.check_haar_lifting is nb09.check_haar_lifting


# -- 9.1 --------------------------------------------------------------------------------------
def test_haar_right_answers_pass(capsys):
    assert checks.check_haar_lifting(_haar_forward, _haar_inverse)

    def via_means(x):                         # the pairwise mean directly is the same s
        return (x[0::2] + x[1::2]) / 2, x[1::2] - x[0::2]

    def stacked_inverse(s, d):
        return np.stack([s - d / 2, s + d / 2], axis=1).ravel()

    assert checks.check_haar_lifting(via_means, stacked_inverse)
    assert "✓ Exercise 9.1" in capsys.readouterr().out


@pytest.mark.parametrize("forward, inverse, words", [
    (lambda x: _haar_forward(x)[::-1], _haar_inverse, "you returned (d, s)"),
    (lambda x: (x[0::2] + (x[0::2] - x[1::2]) / 2, x[0::2] - x[1::2]), _haar_inverse,
     "wrong sign"),
    (lambda x: ((x[0::2] + x[1::2]) / np.sqrt(2), (x[1::2] - x[0::2]) / np.sqrt(2)),
     _haar_inverse, "orthonormal"),
    (lambda x: (x[1::2], x[1::2] - x[0::2]), _haar_inverse, "adds all of d"),
    (lambda x: (x[0::2], x[1::2] - x[0::2]), _haar_inverse, "left out the update"),
    (lambda x: (x[0::2] + 1, x[1::2]), _haar_inverse, "does not match"),
    (lambda x: (x[0::2],), _haar_inverse, "pair (s, d)"),
    (lambda x: None, _haar_inverse, "forget the `return`"),
    (_haar_forward, lambda s, d: np.concatenate([s - d / 2, s + d / 2]), "interleave"),
    (_haar_forward, lambda s, d: np.repeat(s - d / 2, 2), "odd ones do not"),
    (_haar_forward, lambda s, d: np.repeat(s, 2), "undo the update first"),
    (_haar_forward, lambda s, d: _haar_inverse(s, d)[:-1], "length 16"),
])
def test_haar_mistakes_are_explained(forward, inverse, words, capsys):
    assert checks.check_haar_lifting(forward, inverse) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 9.1" in out and words in out


def test_haar_unfinished_malformed_and_raising(capsys):
    def todo(x):
        raise NotImplementedError("Exercise 9.1")

    assert checks.check_haar_lifting(todo, _haar_inverse) is False
    assert "Exercise 9.1 is not done yet" in capsys.readouterr().out
    assert checks.check_haar_lifting(_haar_forward) is False
    assert "pass both functions" in capsys.readouterr().out
    assert checks.check_haar_lifting(None, None) is False
    assert "pass your function itself" in capsys.readouterr().out
    assert checks.check_haar_lifting(lambda x: x @ np.ones((3, 3)), _haar_inverse) is False
    assert "your function raised ValueError" in capsys.readouterr().out


def test_haar_fixed_length_code_is_caught(capsys):
    def inverse_16(s, d):
        x = np.empty(16)
        x[0::2] = (s - d / 2)[:8]
        x[1::2] = (d + s - d / 2)[:8]
        return x

    assert checks.check_haar_lifting(_haar_forward, inverse_16) is False
    assert "length 32" in capsys.readouterr().out


# -- 9.2 --------------------------------------------------------------------------------------
def _step53(x):
    x_e, x_o = x[0::2], x[1::2]
    d = x_o - (x_e + np.roll(x_e, -1)) / 2
    return x_e + (np.roll(d, 1) + d) / 4, d


def test_legall53_right_answers_pass(capsys):
    assert checks.check_legall53_step(_step53)
    assert checks.check_legall53_step(lambda x: lifting.lift_axis(x, "legall53"))
    out = capsys.readouterr().out
    assert "✓ Exercise 9.2" in out and "predicts linear signals exactly" in out


def _with(predict=None, update=None):
    def step(x):
        x_e, x_o = x[0::2], x[1::2]
        d = x_o - (predict or (lambda e: (e + np.roll(e, -1)) / 2))(x_e)
        return x_e + (update or (lambda d: (np.roll(d, 1) + d) / 4))(d), d
    return step


@pytest.mark.parametrize("fn, words", [
    (_with(predict=lambda e: (e + np.roll(e, 1)) / 2), "on the left"),
    (_with(predict=lambda e: e), "Haar's (the left neighbour only)"),
    (_with(predict=lambda e: np.concatenate([(e[:-1] + e[1:]) / 2, e[-1:]])), "not periodic"),
    (_with(update=lambda d: (d + np.roll(d, -1)) / 4), "d[n] and d[n+1]"),
    (_with(update=lambda d: (np.roll(d, 1) + d) / 2), "a quarter"),
    (_with(update=lambda d: d / 2), "your update is Haar's"),
    (_with(update=lambda d: 0 * d), "left out the update"),
    (lambda x: _step53(x)[::-1], "you returned (d, s)"),
    (lambda x: (_step53(x)[0], -_step53(x)[1]), "wrong sign"),
    (lambda x: (_step53(x)[0][:-1], _step53(x)[1]), "must each have length"),
    (lambda x: (_step53(x)[0] + 0.1, _step53(x)[1]), "differs from the library"),
    (lambda x: "s, d", "pair (s, d)"),
])
def test_legall53_mistakes_are_explained(fn, words, capsys):
    assert checks.check_legall53_step(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 9.2" in out and words in out


def test_legall53_unfinished(capsys):
    def todo(x):
        raise NotImplementedError

    assert checks.check_legall53_step(todo) is False
    assert "Exercise 9.2 is not done yet" in capsys.readouterr().out


# -- 9.3 --------------------------------------------------------------------------------------
def test_energy_prediction_is_judged_against_the_library(capsys):
    fraction, _, _, _ = nb09._energy_facts()
    assert checks.check_energy_prediction(round(fraction, 2))
    out = capsys.readouterr().out
    assert "✓ Exercise 9.3" in out and "1/256" in out
    assert checks.check_energy_prediction(1 / 256) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 9.3" in out and "white noise" in out
    assert checks.check_energy_prediction(fraction - 0.2) is False
    assert "✗ Exercise 9.3" in capsys.readouterr().out
    assert 0.9 < fraction < 1.0


@pytest.mark.parametrize("answer, words", [
    (None, "is not done yet"), (..., "is not done yet"), ("0.9", "must be a number"),
    (True, "must be a number"), (95, "between 0 and 1"), (float("nan"), "between 0 and 1"),
])
def test_energy_prediction_malformed(answer, words, capsys):
    assert checks.check_energy_prediction(answer) is False
    assert words in capsys.readouterr().out


# -- 9.4 --------------------------------------------------------------------------------------
def test_inn_reading(capsys):
    assert checks.check_inn_reading("b")
    out = capsys.readouterr().out
    assert "✓ Exercise 9.4" in out and "never inverted" in out
    for letter, words in (("a", "sizes are the same"), ("c", "as large as the image"),
                          ("d", "neither network was trained")):
        assert checks.check_inn_reading(letter) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 9.4" in out and words in out
    assert checks.check_inn_reading(" (B) ")
    capsys.readouterr()
    assert checks.check_inn_reading("e") is False
    assert "one of the letters" in capsys.readouterr().out
    assert checks.check_inn_reading(None) is False
    assert "is not done yet" in capsys.readouterr().out


# -- 9.5 --------------------------------------------------------------------------------------
def _soft(b, t):
    return np.sign(b) * np.maximum(np.abs(b) - t, 0.0)


def _shrink(coeffs, t):
    return [coeffs[0]] + [tuple(_soft(b, t) for b in bands) for bands in coeffs[1:]]


def test_shrink_right_answers_pass(capsys):
    assert checks.check_shrink_details(_shrink)
    assert checks.check_shrink_details(
        lambda c, t: [c[0].copy()] + [[np.clip(np.abs(b) - t, 0, None) * np.sign(b)
                                       for b in bands] for bands in c[1:]])
    assert "✓ Exercise 9.5" in capsys.readouterr().out


def _in_place(coeffs, t):
    for bands in coeffs[1:]:
        for b in bands:
            b[...] = _soft(b, t)
    return coeffs


@pytest.mark.parametrize("fn, words", [
    (lambda c, t: [_soft(c[0], t)] + _shrink(c, t)[1:], "thresholded the coarse band"),
    (lambda c, t: [c[0] * 0] + _shrink(c, t)[1:], "coarse band must be returned unchanged"),
    (lambda c, t: [c[0]] + [tuple(np.where(np.abs(b) > t, b, 0) for b in bands)
                            for bands in c[1:]], "hard thresholding"),
    (lambda c, t: [c[0]] + [tuple(np.maximum(b - t, 0) for b in bands) for bands in c[1:]],
     "negative coefficients"),
    (lambda c, t: _shrink(c, t / 2), "factor 2"),
    (lambda c, t: _shrink(c, 2 * t), "factor 2"),
    (lambda c, t: c, "came back unchanged"),
    (lambda c, t: [c[0]] + [(_soft(b[0], t), b[1], b[2]) for b in c[1:]], "all three bands"),
    (_in_place, "in place"),
    (lambda c, t: None, "forget the `return`"),
    (lambda c, t: np.zeros(3), "return a list like the input"),
    (lambda c, t: [c[0]] + [_soft(bands[0], t) for bands in c[1:]], "tuple of three bands"),
    (lambda c, t: [c[0][:2]] + _shrink(c, t)[1:], "shape"),
])
def test_shrink_mistakes_are_explained(fn, words, capsys):
    assert checks.check_shrink_details(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 9.5" in out and words in out


def test_shrink_unfinished_and_raising(capsys):
    def todo(c, t):
        raise NotImplementedError

    assert checks.check_shrink_details(todo) is False
    assert "Exercise 9.5 is not done yet" in capsys.readouterr().out
    assert checks.check_shrink_details(lambda c, t: c.shape) is False
    assert "your function raised AttributeError" in capsys.readouterr().out


# -- 9.6 --------------------------------------------------------------------------------------
def test_best_threshold_is_judged_on_the_widget_curve(capsys):
    from course_utils.widgets.nb09 import FACTORS, psnr_curve
    curve, bayes = psnr_curve(25 / 255, "legall53")
    best = FACTORS[int(np.argmax(curve))]
    assert 0.5 <= best <= 3.0                              # well below the universal 4.4
    assert checks.check_best_threshold(best)
    out = capsys.readouterr().out
    assert "✓ Exercise 9.6" in out and f"{bayes:.2f} dB" in out
    assert checks.check_best_threshold(4.5) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 9.6" in out and "better" in out


@pytest.mark.parametrize("answer, words", [
    (None, "is not done yet"), (7.0, "within the range tried"), ("1.5", "must be a number"),
    (-1, "within the range tried"),
])
def test_best_threshold_malformed(answer, words, capsys):
    assert checks.check_best_threshold(answer) is False
    assert words in capsys.readouterr().out


def test_hints_are_tiered():
    for ex in ("9.1", "9.2", "9.3", "9.4", "9.5", "9.6"):
        assert len(checks.EXERCISES[ex].hints) == 3
