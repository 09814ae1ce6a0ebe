"""Tests of the notebook 13 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks, lfm
from course_utils.checks import nb13


def test_exported_and_kinds():
    names = {"check_views", "check_rl_step", "check_dot_test_prediction",
             "check_rl_iterations", "check_crosstalk_reading"}
    assert names <= set(checks.__all__)
    assert checks.check_views is nb13.check_views
    kinds = [checks.EXERCISES[f"13.{k}"].kind for k in range(1, 6)]
    assert kinds == ["implement", "predict", "implement", "interpret", "experiment"]
    for k in range(1, 6):
        assert len(checks.EXERCISES[f"13.{k}"].hints) == 3


# -- 13.1 --------------------------------------------------------------------------------------
def _views(y, pitch):
    L = y.shape[0] // pitch
    return y.reshape(L, pitch, L, pitch).transpose(1, 3, 0, 2)


def test_views_right_answer(capsys):
    assert checks.check_views(_views)
    assert "✓ Exercise 13.1" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (lambda y, p: y.reshape(y.shape[0] // p, p, y.shape[0] // p, p).transpose(0, 2, 1, 3),
     "lenslet images"),
    (lambda y, p: y.reshape(p, y.shape[0] // p, p, y.shape[0] // p).transpose(0, 2, 1, 3),
     "(lenslet, pixel)"),
    (lambda y, p: _views(y, p).transpose(1, 0, 2, 3), "two axes are swapped"),
    (lambda y, p: y, "have shape"),
    (lambda y, p: _views(y, p) + 1, "your array differs"),
    (lambda y, p: None, "forget the `return`"),
])
def test_views_mistakes(fn, words, capsys):
    assert checks.check_views(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 13.1" in out and words in out


def test_unfinished_exercise_prints_the_task(capsys):
    def todo(y, pitch):
        raise NotImplementedError

    assert checks.check_views(todo) is False
    assert "Exercise 13.1 is not done yet" in capsys.readouterr().out


# -- 13.3 --------------------------------------------------------------------------------------
def _rl(x, y, H):
    return x * H.adjoint(y / np.maximum(H(x), 1e-12)) / H.adjoint(np.ones_like(y))


def test_rl_step_right_answer(capsys):
    assert checks.check_rl_step(_rl)
    assert "✓ Exercise 13.3" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (lambda x, y, H: x * H.adjoint(y / np.maximum(H(x), 1e-12)), "divide by Hᵀ1"),
    (lambda x, y, H: H.adjoint(y / np.maximum(H(x), 1e-12)) / H.adjoint(np.ones_like(y)),
     "multiply the correction by x"),
    (lambda x, y, H: x * H.adjoint(np.maximum(H(x), 1e-12) / np.maximum(y, 1e-12))
     / H.adjoint(np.ones_like(y)), "y / Hx, not Hx / y"),
    (lambda x, y, H: x - H.adjoint(np.maximum(H(x), 1e-12) - y), "Landweber"),
    (lambda x, y, H: x * H.adjoint(y) / H.adjoint(np.maximum(H(x), 1e-12)),
     "before back-projecting"),
    (lambda x, y, H: 2 * x, "largest difference"),
])
def test_rl_step_mistakes(fn, words, capsys):
    assert checks.check_rl_step(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 13.3" in out and words in out


# -- 13.2 --------------------------------------------------------------------------------------
def test_dot_test_prediction(capsys):
    actual = lfm.microscope().adjointness_test(seed=0)
    assert actual < 1e-14
    assert checks.check_dot_test_prediction(1e-16)
    assert not checks.check_dot_test_prediction(1e-3)
    out = capsys.readouterr().out
    assert "✓ Exercise 13.2" in out and "approximate adjoint" in out
    assert not checks.check_dot_test_prediction(-1.0)
    assert "positive" in capsys.readouterr().out
    assert not checks.check_dot_test_prediction(None)
    assert "not done yet" in capsys.readouterr().out


# -- 13.5 --------------------------------------------------------------------------------------
def test_rl_iterations_experiment(capsys):
    from course_utils.widgets.nb13 import RL_ITERATIONS, level_scores

    scores = {k: level_scores(20, "rl", k)["psnr"] for k in RL_ITERATIONS}
    best = max(scores, key=scores.get)
    # semi-convergence at 20 photons: the best is neither the first nor the last
    assert RL_ITERATIONS[0] < best < RL_ITERATIONS[-1]
    assert checks.check_rl_iterations(best)
    worst = min(scores, key=scores.get)
    assert not checks.check_rl_iterations(worst)
    assert not checks.check_rl_iterations(3)
    out = capsys.readouterr().out
    assert "✓ Exercise 13.5" in out and "one of the slider's values" in out


# -- 13.4 --------------------------------------------------------------------------------------
def test_crosstalk_reading(capsys):
    assert checks.check_crosstalk_reading("b")
    for wrong in "acd":
        assert not checks.check_crosstalk_reading(wrong)
    assert not checks.check_crosstalk_reading("e")
    out = capsys.readouterr().out
    assert "✓ Exercise 13.4" in out and "letters" in out
