"""Tests of the notebook 06 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks.nb06 import check_discrepancy_stop, check_masked_loss


def test_exported():
    assert {"check_masked_loss", "check_discrepancy_stop"} <= set(checks.__all__)
    assert checks.check_masked_loss is check_masked_loss


def test_masked_loss_right_answers_pass(capsys):
    assert check_masked_loss(lambda y, x_hat, m: np.sum((m * y - m * x_hat) ** 2))
    assert check_masked_loss(lambda y, x_hat, m: float(np.linalg.norm(m * (y - x_hat)) ** 2))
    assert "✓ Exercise 6.3" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (lambda y, x, m: np.sum((y - x) ** 2), "multiply the residual by the mask"),
    (lambda y, x, m: np.sum(((1 - m) * (y - x)) ** 2), "summed over the missing pixels"),
    (lambda y, x, m: np.sum((m * y - x) ** 2), "only y was masked"),
    (lambda y, x, m: np.linalg.norm(m * (y - x)), "its square"),
    (lambda y, x, m: np.mean((m * (y - x)) ** 2), "averaged over all pixels"),
    (lambda y, x, m: np.sum((m * (y - x)) ** 2) / m.sum(), "number of observed pixels"),
    (lambda y, x, m: np.sum(np.abs(m * (y - x))), "absolute values"),
    (lambda y, x, m: 0.5 * np.sum((m * (y - x)) ** 2), "factor 1/2"),
    (lambda y, x, m: (m * (y - x)) ** 2, "expected one number"),
    (lambda y, x, m: None, "forget the `return`"),
    (lambda y, x, m: np.sum((m * (y - x)) ** 2) + 1.0, "the masked loss is"),
])
def test_masked_loss_mistakes_are_explained(fn, words, capsys):
    assert check_masked_loss(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 6.3" in out and words in out


def test_masked_loss_depending_on_hidden_pixels_is_caught(capsys):
    # Right on the first call, but it reads y where the mask is 0.
    def leaky(y, x_hat, m):
        return np.sum((m * (y - x_hat)) ** 2) + 0.0 * np.sum(y) + (np.max(y) > 5)

    assert check_masked_loss(leaky) is False
    assert "missing pixels changed your loss" in capsys.readouterr().out


def test_unfinished_and_raising_exercises(capsys):
    def todo(y, x_hat, m):
        raise NotImplementedError("Exercise 6.3")

    assert check_masked_loss(todo) is False
    assert "Exercise 6.3 is not done yet" in capsys.readouterr().out
    assert check_masked_loss(lambda y, x, m: y @ x) is False
    assert "your function raised ValueError" in capsys.readouterr().out
    assert check_masked_loss(42) is False
    assert "pass your function itself" in capsys.readouterr().out


def _reference_stop(losses, sigma, tau):
    below = np.flatnonzero(losses <= tau * sigma ** 2)
    return int(below[0]) if below.size else None


def test_discrepancy_right_answers_pass(capsys):
    assert check_discrepancy_stop(_reference_stop)

    def loop(losses, sigma, tau):
        for k, value in enumerate(losses):
            if value <= tau * sigma * sigma:
                return k
        return None

    assert check_discrepancy_stop(loop)
    assert "✓ Exercise 6.2" in capsys.readouterr().out


def _shifted(delta):
    def fn(losses, sigma, tau):
        k = _reference_stop(losses, sigma, tau)
        return None if k is None else k + delta
    return fn


@pytest.mark.parametrize("fn, words", [
    (lambda l, s, t: (lambda b: int(b[-1]) if b.size else None)(
        np.flatnonzero(l <= t * s ** 2)), "last iteration below"),
    (_shifted(1), "one too large"),
    (_shifted(-1), "one too small"),
    (lambda l, s, t: (lambda b: int(b[0]) if b.size else None)(
        np.flatnonzero(l < t * s ** 2)), "use <=, not <"),
    (lambda l, s, t: (lambda b: int(b[0]) if b.size else None)(
        np.flatnonzero(l <= t * s)), "not τ σ"),
    (lambda l, s, t: (lambda b: int(b[0]) if b.size else None)(
        np.flatnonzero(l <= s ** 2)), "forgot the factor tau"),
    (lambda l, s, t: int(np.argmin(l)), "the first k with"),
    (lambda l, s, t: (lambda k: 0 if k is None else k)(_reference_stop(l, s, t)),
     "never fires: return None"),
    (lambda l, s, t: None, "you returned None"),
    (lambda l, s, t: float(_reference_stop(l, s, t) or 0), "integer index"),
])
def test_discrepancy_mistakes_are_explained(fn, words, capsys):
    assert check_discrepancy_stop(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 6.2" in out and words in out


# -- value exercises: 6.1 (interpret), 6.4 (predict), 6.5 (experiment) -------------------------
from course_utils.checks.nb06 import (check_best_iteration, check_overfit_reading,  # noqa: E402
                                      check_peak_prediction)
from course_utils.train.dip import SNAPSHOT_ITERS  # noqa: E402
from course_utils.widgets.nb06 import load_snapshots  # noqa: E402


def test_overfit_reading(capsys):
    assert check_overfit_reading("b") is True
    out = capsys.readouterr().out
    assert "✓ Exercise 6.1" in out and "reproducing its noise" in out
    assert check_overfit_reading(" (B) ") is True
    capsys.readouterr()
    for wrong, words in (("a", "a diverging fit would see its misfit grow"),
                         ("c", "it can produce the image")):
        assert check_overfit_reading(wrong) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 6.1" in out and words in out


def test_peak_prediction_follows_the_shipped_curves(capsys):
    data = load_snapshots()
    peaks = data["stop_peak"][0]          # no missing pixel, σ = 0, 0.05, 0.1, 0.2
    assert peaks[3] < peaks[1]            # the fact the right answer rests on
    assert check_peak_prediction("a") is True
    out = capsys.readouterr().out
    assert "✓ Exercise 6.4" in out and f"iteration {int(peaks[3])}" in out
    for wrong in ("b", "c"):
        assert check_peak_prediction(wrong) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 6.4" in out and "comes earlier" in out


def test_best_iteration_is_judged_against_the_curve(capsys):
    curve = load_snapshots()["psnr"][1, 1]          # 25 % missing, σ = 0.05
    best = max(SNAPSHOT_ITERS, key=lambda k: curve[k])
    assert check_best_iteration(best) is True
    assert "close enough" in capsys.readouterr().out
    worst_early = min((k for k in SNAPSHOT_ITERS if k < best), key=lambda k: curve[k])
    for wrong in (worst_early, SNAPSHOT_ITERS[-1]):
        assert check_best_iteration(wrong) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 6.5" in out and "better" in out and "peaks at" in out


@pytest.mark.parametrize("check, exercise", [(check_overfit_reading, "6.1"),
                                             (check_peak_prediction, "6.4"),
                                             (check_best_iteration, "6.5")])
def test_value_checks_not_done_and_malformed(check, exercise, capsys):
    assert check(None) is False
    assert f"Exercise {exercise} is not done yet" in capsys.readouterr().out
    assert check(...) is False
    assert "not done yet" in capsys.readouterr().out
    for malformed in ("zz", 3.5 if exercise != "6.5" else "x", [1, 2], {"a": 1}):
        assert check(malformed) is False
        out = capsys.readouterr().out
        assert f"✗ Exercise {exercise}" in out and "could not run" not in out


def test_best_iteration_off_the_slider_is_explained(capsys):
    assert check_best_iteration(101) is False
    assert "slider's iterations" in capsys.readouterr().out
    assert check_best_iteration(5000) is False
    assert "within the range" in capsys.readouterr().out
    assert check_best_iteration(True) is False
    assert "must be a number" in capsys.readouterr().out
