"""Notebook 04 checks: right answers pass, each typical mistake gets its own explanation."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks.nb04 import HINTS


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
    assert out == f"Exercise {number} is not done yet: {HINTS[number]}\n"


@pytest.mark.parametrize("check", [checks.check_sparse_ista_step, checks.check_lista_layer])
def test_not_a_function_and_crashing_code_never_raise(check, capsys):
    ok, out = run(check, np.zeros(3), capsys)
    assert not ok and "pass your function itself" in out

    def crash(*args):
        raise KeyError("boom")

    ok, out = run(check, crash, capsys)
    assert not ok and "your function raised KeyError" in out
