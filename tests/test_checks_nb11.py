"""Tests of the notebook 11 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import nb11


def test_exported_and_kinds():
    names = {"check_coupled_threshold", "check_naive_overlap", "check_lost_constant",
             "check_best_mu"}
    assert names <= set(checks.__all__)
    assert checks.check_coupled_threshold is nb11.check_coupled_threshold
    kinds = [checks.EXERCISES[f"11.{k}"].kind for k in range(1, 5)]
    assert kinds == ["predict", "implement", "interpret", "experiment"]
    for k in range(1, 5):
        assert len(checks.EXERCISES[f"11.{k}"].hints) == 3


def _right(w1, w2, mu):
    a1, a2 = np.abs(w1), np.abs(w2)
    return np.sign(w1) * np.maximum(a1 - mu * a2, 0), np.sign(w2) * np.maximum(a2 - mu * a1, 0)


def _sequential(w1, w2, mu):
    n1 = np.sign(w1) * np.maximum(np.abs(w1) - mu * np.abs(w2), 0)
    return n1, np.sign(w2) * np.maximum(np.abs(w2) - mu * np.abs(n1), 0)


def test_coupled_threshold_right_answer_passes(capsys):
    assert checks.check_coupled_threshold(_right)
    assert "✓ Exercise 11.2" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (_sequential, "shrunk by the new w1"),
    (lambda w1, w2, mu: (np.sign(w1) * np.maximum(np.abs(w1) - mu, 0),
                         np.sign(w2) * np.maximum(np.abs(w2) - mu, 0)), "by mu itself"),
    (lambda w1, w2, mu: tuple(np.abs(v) for v in _right(w1, w2, mu)), "lost their sign"),
    (lambda w1, w2, mu: _right(w1, w2, mu)[::-1], "wrong order"),
    (lambda w1, w2, mu: (w1 * (np.abs(w1) > mu * np.abs(w2)),
                         w2 * (np.abs(w2) > mu * np.abs(w1))), "hard threshold"),
    (lambda w1, w2, mu: _right(w1, w2, mu)[0], "must return a pair"),
    (lambda w1, w2, mu: (None, None), "forget the `return`"),
    (lambda w1, w2, mu: (_right(w1, w2, mu)[0] + 0.1, _right(w1, w2, mu)[1]), "at index"),
])
def test_coupled_threshold_mistakes_are_explained(fn, words, capsys):
    assert checks.check_coupled_threshold(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 11.2" in out and words in out


def test_unfinished_exercises(capsys):
    def todo(w1, w2, mu):
        raise NotImplementedError

    assert checks.check_coupled_threshold(todo) is False
    assert "Exercise 11.2 is not done yet" in capsys.readouterr().out
    for check, ex in ((checks.check_naive_overlap, "11.1"), (checks.check_lost_constant, "11.3"),
                      (checks.check_best_mu, "11.4")):
        assert check(None) is False
        assert f"Exercise {ex} is not done yet" in capsys.readouterr().out


def test_naive_overlap_prediction(capsys):
    assert checks.check_naive_overlap(1.0)
    assert checks.check_naive_overlap(0.3) is False
    out = capsys.readouterr().out
    assert "identical edge maps" in out and "cannot tell edges apart" in out
    assert checks.check_naive_overlap("one") is False
    assert "must be a number" in capsys.readouterr().out


def test_lost_constant_choices(capsys):
    assert checks.check_lost_constant("b")
    assert "moves x̂₂ by 0.200" in capsys.readouterr().out
    for wrong in ("a", "c", "d"):
        assert checks.check_lost_constant(wrong) is False
    assert checks.check_lost_constant("e") is False
    assert "one of the letters" in capsys.readouterr().out


def test_best_mu(capsys):
    from course_utils.widgets import nb11 as w

    scores = {mu: w.solve(mu, 0.01)["quality"]["psnr"] for mu in w.MU_LEVELS}
    best = max(scores, key=scores.get)
    assert checks.check_best_mu(best)
    worst = min(scores, key=scores.get)
    assert scores[best] - scores[worst] > 0.02
    assert checks.check_best_mu(worst) is False
    assert checks.check_best_mu(0.25) is False
    assert "slider's values" in capsys.readouterr().out
