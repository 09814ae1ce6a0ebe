"""Notebook 04 checks: right answers pass, each typical mistake gets its own explanation."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import nb04


def soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0)


def ista_ok(D, y, x, lam, tau):
    return soft(x - tau * D.T @ (D @ x - y), tau * lam)


def lista_ok(y, z, W_e, S, theta):
    return soft(W_e @ y + S @ z, theta)


def run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def test_correct_answers_pass(capsys):
    ok, out = run(checks.check_sparse_ista_step, ista_ok, capsys)
    assert ok and out.startswith("✓ Exercise 4.1")
    ok, out = run(checks.check_lista_layer, lista_ok, capsys)
    assert ok and out.startswith("✓ Exercise 4.2")


@pytest.mark.parametrize("wrong, expected", [
    (lambda D, y, x, lam, tau: soft(x + tau * D.T @ (D @ x - y), tau * lam), "wrong way"),
    (lambda D, y, x, lam, tau: soft(x - tau * D.T @ (D @ x - y), lam), "thresholded at lam"),
    (lambda D, y, x, lam, tau: soft(x - D.T @ (D @ x - y), tau * lam), "not scaled by the step"),
    (lambda D, y, x, lam, tau: (lambda v: v * (np.abs(v) > tau * lam))(
        x - tau * D.T @ (D @ x - y)), "hard thresholding"),
    (lambda D, y, x, lam, tau: np.maximum(x - tau * D.T @ (D @ x - y) - tau * lam, 0),
     "negative coefficient"),
    (lambda D, y, x, lam, tau: x - tau * D.T @ (D @ x - y), "without the soft thresholding"),
    (lambda D, y, x, lam, tau: D @ x - y, "shape of y"),
    (lambda D, y, x, lam, tau: D @ (D @ x - y), "D.T @ r brings a residual"),
    (lambda D, y, x, lam, tau: None, "forget the `return`"),
    (lambda D, y, x, lam, tau: 2 * ista_ok(D, y, x, lam, tau), "differs from one ISTA step"),
])
def test_ista_step_mistakes_are_explained(wrong, expected, capsys):
    ok, out = run(checks.check_sparse_ista_step, wrong, capsys)
    assert not ok
    assert out.startswith("✗ Exercise 4.1") and expected in out, out


@pytest.mark.parametrize("wrong, expected", [
    (lambda y, z, W_e, S, theta: soft(W_e @ y + S.T @ z, theta), "S.T"),
    (lambda y, z, W_e, S, theta: soft(S @ z, theta), "input term W_e @ y is missing"),
    (lambda y, z, W_e, S, theta: soft(W_e @ y, theta), "feedback term S @ z is missing"),
    (lambda y, z, W_e, S, theta: np.maximum(W_e @ y + S @ z - theta, 0), "kills negative"),
    (lambda y, z, W_e, S, theta: W_e @ y + S @ z, "without the soft thresholding"),
    (lambda y, z, W_e, S, theta: (lambda v: v * (np.abs(v) > theta))(W_e @ y + S @ z),
     "hard thresholding"),
    (lambda y, z, W_e, S, theta: soft(W_e @ y + S @ z, float(np.mean(theta))),
     "per-atom theta"),
    (lambda y, z, W_e, S, theta: soft(W_e.T @ y + S @ z, theta), "W_e @ y is a code of length n"),
])
def test_lista_layer_mistakes_are_explained(wrong, expected, capsys):
    ok, out = run(checks.check_lista_layer, wrong, capsys)
    assert not ok
    assert out.startswith("✗ Exercise 4.2") and expected in out, out


@pytest.mark.parametrize("check, number", [(checks.check_sparse_ista_step, "4.1"),
                                           (checks.check_lista_layer, "4.2")])
def test_unfinished_exercise_prints_the_hint(check, number, capsys):
    def todo(*args):
        ...
        raise NotImplementedError(f"Exercise {number}: replace the ...")

    ok, out = run(check, todo, capsys)
    assert not ok
    assert out == (f"Exercise {number} is not done yet: {checks.exercise_task(number)} "
                   f'For a hint, run checks.hint("{number}").\n')


@pytest.mark.parametrize("check", [checks.check_sparse_ista_step, checks.check_lista_layer])
def test_not_a_function_and_crashing_code_never_raise(check, capsys):
    ok, out = run(check, np.zeros(3), capsys)
    assert not ok and "pass your function itself" in out

    def crash(*args):
        raise KeyError("boom")

    ok, out = run(check, crash, capsys)
    assert not ok and "your function raised KeyError" in out


# -- the thinking exercises 4.3-4.5: the truth is recomputed by the check ---------------------
def test_registered_kinds_and_tiered_hints():
    kinds = {ex: checks.EXERCISES[ex].kind for ex in ("4.1", "4.2", "4.3", "4.4", "4.5")}
    assert kinds == {"4.1": "implement", "4.2": "implement", "4.3": "predict",
                     "4.4": "interpret", "4.5": "experiment"}
    for ex in kinds:
        assert len(set(checks.EXERCISES[ex].hints)) == 3
    assert "np.sign" not in checks.exercise_task("4.1")
    assert "W_e @ y" not in checks.exercise_task("4.2")


@pytest.mark.parametrize("answer", [199, 160, 120.0, np.int64(300)])
def test_lista_worth_right_predictions(answer, capsys):
    facts = nb04._lista_facts()
    assert 160 <= facts["ista_to_match"] <= 300      # measured: 199 (FISTA 36)
    ok, out = run(checks.check_lista_worth, answer, capsys)
    assert ok and out.startswith("✓ Exercise 4.3"), out
    assert f"ISTA needs {facts['ista_to_match']} iterations" in out


@pytest.mark.parametrize("answer, message", [
    (16, "a factor 12"),        # "a layer is worth an iteration"
    (1000, "a factor 5"),
    (36, "a factor 5"),         # FISTA's count, not ISTA's
])
def test_lista_worth_wrong_predictions(answer, message, capsys):
    ok, out = run(checks.check_lista_worth, answer, capsys)
    assert not ok and out.startswith("✗ Exercise 4.3") and message in out, out
    assert "training bought a factor" in out


@pytest.mark.parametrize("answer, message", [
    (0, "at least 1"), (-5, "at least 1"), ("200", "must be a number"),
    (float("inf"), "finite"), ([199], "must be a number"),
])
def test_lista_worth_malformed(answer, message, capsys):
    ok, out = run(checks.check_lista_worth, answer, capsys)
    assert not ok and message in out and "Traceback" not in out, out


def test_threshold_reading(capsys):
    ok, out = run(checks.check_threshold_reading, "b", capsys)
    assert ok and out.startswith("✓ Exercise 4.4") and "continuation" in out
    assert "θ_1 is 25 times τλ" in out            # measured 24.7; pinned in the notebook too


@pytest.mark.parametrize("letter, message", [
    ("a", "a fixed λ does not describe LISTA"),
    ("c", "Depth keeps paying"),
    ("d", "the thresholds are learned, not noise estimates"),
])
def test_threshold_reading_wrong(letter, message, capsys):
    ok, out = run(checks.check_threshold_reading, letter, capsys)
    assert not ok and out.startswith("✗ Exercise 4.4") and message in out, out


def test_threshold_reading_follows_the_network(monkeypatch, capsys):
    """If the learned thresholds were flat at τλ, (b) would not be right."""
    facts = dict(nb04._lista_facts())
    facts["theta"] = np.full(16, facts["tau"] * facts["lam"])
    monkeypatch.setattr(nb04, "_lista_facts", lambda: facts)
    ok, out = run(checks.check_threshold_reading, "b", capsys)
    assert not ok and "do not show that" in out


def test_best_lambda(capsys):
    errors = nb04._lambda_errors()
    best = min(errors, key=lambda lam: errors[lam][0])
    assert best == 0.01                               # measured: FISTA -27.0 dB at λ = 0.01
    ok, out = run(checks.check_best_lambda, best, capsys)
    assert ok and out.startswith("✓ Exercise 4.5") and "prefers λ = 0.05" in out, out


@pytest.mark.parametrize("answer, message", [
    (0.05, "ISTA, still far from converged"),        # ISTA's best, not FISTA's
    (0.0, "no sparsity at all"),
    (0.5, "dB better"),
])
def test_best_lambda_wrong(answer, message, capsys):
    ok, out = run(checks.check_best_lambda, answer, capsys)
    assert not ok and out.startswith("✗ Exercise 4.5") and message in out, out


@pytest.mark.parametrize("answer, message", [
    (2.0, "within the range tried"), ("0.01", "must be a number"), (-0.1, "within the range"),
])
def test_best_lambda_malformed(answer, message, capsys):
    ok, out = run(checks.check_best_lambda, answer, capsys)
    assert not ok and message in out and "Traceback" not in out, out


@pytest.mark.parametrize("check", [checks.check_lista_worth, checks.check_threshold_reading,
                                   checks.check_best_lambda])
def test_value_checks_not_done_yet(check, capsys):
    for answer in (None, ...):
        ok, out = run(check, answer, capsys)
        assert not ok and f"Exercise {check.exercise} is not done yet" in out


def test_best_lambda_uses_the_widget_s_computation():
    from course_utils.widgets.nb04 import sparse_coding_curves

    errors = nb04._lambda_errors()
    assert errors[0.02][0] == pytest.approx(10 * np.log10(sparse_coding_curves(0.02)["fista"][-1]))
