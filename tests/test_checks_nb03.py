"""The notebook 03 self-checks: right answers pass, each typical mistake gets its message."""
from __future__ import annotations

import re

import numpy as np
import pytest

from course_utils import checks, pnp
from course_utils.checks import nb03


def _fft(num, den):
    return lambda h, y, z, b: np.real(np.fft.ifft2(num(h, np.fft.fft2(y), np.fft.fft2(z), b)
                                                   / den(h, b)))


FFT_CASES = [
    (_fft(lambda h, fy, fz, b: h * fy + b * fz, lambda h, b: abs(h) ** 2 + b),
     "complex conjugate"),
    (_fft(lambda h, fy, fz, b: np.conj(h) * fy, lambda h, b: abs(h) ** 2 + b),
     "pull towards z is missing"),
    (_fft(lambda h, fy, fz, b: np.conj(h) * fy + b * fz, lambda h, b: abs(h) + b),
     r"\|h\|² \+ β"),
    (_fft(lambda h, fy, fz, b: np.conj(h) * fy + fz, lambda h, b: abs(h) ** 2 + b),
     "multiply fft2\\(z\\) by beta"),
    (_fft(lambda h, fy, fz, b: np.conj(h) * fy + b * fz, lambda h, b: abs(h) ** 2 + 1.0),
     "must use beta"),
    (lambda h, y, z, b: np.fft.ifft2((np.conj(h) * np.fft.fft2(y) + b * np.fft.fft2(z))
                                     / (abs(h) ** 2 + b)), "complex array"),
    (lambda h, y, z, b: y, "does not solve"),
    (lambda h, y, z, b: None, "forget the `return`"),
    (lambda h, y, z, b: y[:8], "shape"),
]


def test_fft_data_step_reference_passes(capsys):
    assert checks.check_fft_data_step(pnp.fft_data_step) is True
    assert "✓ Exercise 3.1" in capsys.readouterr().out


@pytest.mark.parametrize("student, message", FFT_CASES)
def test_fft_data_step_mistakes(student, message, capsys):
    assert checks.check_fft_data_step(student) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 3.1" in out
    assert re.search(message, out), out


def _admm(data_in, den_in, dual):
    def student(data_step, denoiser, v, u, beta, sigma):
        x = data_step(data_in(v, u), beta)
        v_new = denoiser(den_in(x, u), sigma)
        return x, v_new, dual(u, x, v, v_new)
    return student


GOOD_DATA, GOOD_DEN = (lambda v, u: v - u), (lambda x, u: x + u)
ADMM_CASES = [
    (_admm(lambda v, u: v, GOOD_DEN, lambda u, x, v, vn: u + x - vn), "towards v − u"),
    (_admm(lambda v, u: v + u, GOOD_DEN, lambda u, x, v, vn: u + x - vn), "sign error in the data"),
    (_admm(GOOD_DATA, lambda x, u: x, lambda u, x, v, vn: u + x - vn), "denoise x \\+ u"),
    (_admm(GOOD_DATA, lambda x, u: x - u, lambda u, x, v, vn: u + x - vn), "denoiser input"),
    (_admm(GOOD_DATA, GOOD_DEN, lambda u, x, v, vn: u - x + vn), "sign error in the dual"),
    (_admm(GOOD_DATA, GOOD_DEN, lambda u, x, v, vn: u + x - v), "uses the new v"),
    (_admm(GOOD_DATA, GOOD_DEN, lambda u, x, v, vn: x - vn), "dropped the old u"),
    (_admm(GOOD_DATA, GOOD_DEN, lambda u, x, v, vn: u), "that is HQS"),
    (lambda ds, d, v, u, b, s: (v, u), "return the three arrays"),
    (lambda ds, d, v, u, b, s: v, "return the three arrays"),
]


def test_admm_iteration_reference_passes(capsys):
    assert checks.check_admm_iteration(pnp.admm_iteration) is True
    assert "✓ Exercise 3.2" in capsys.readouterr().out


@pytest.mark.parametrize("student, message", ADMM_CASES)
def test_admm_iteration_mistakes(student, message, capsys):
    assert checks.check_admm_iteration(student) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 3.2" in out
    assert re.search(message, out), out


def _schedule(sig, bet):
    return lambda K, s, lam, s0: (sig(K, s, s0), bet(sig(K, s, s0), s, lam))


GEOM = lambda K, s, s0: np.geomspace(s0, s, K)  # noqa: E731
SCHEDULE_CASES = [
    (_schedule(lambda K, s, s0: np.linspace(s0, s, K), lambda g, s, lam: lam * s ** 2 / g ** 2),
     "decrease linearly"),
    (_schedule(lambda K, s, s0: np.geomspace(s, s0, K), lambda g, s, lam: lam * s ** 2 / g ** 2),
     "sigmas increase"),
    (_schedule(GEOM, lambda g, s, lam: g ** 2 / (lam * s ** 2)), "inverted"),
    (_schedule(GEOM, lambda g, s, lam: lam * s / g), "squared"),
    (_schedule(GEOM, lambda g, s, lam: np.ones_like(g)), "betas differ"),
    (lambda K, s, lam, s0: np.geomspace(s0, s, K), "return two arrays"),
]


def test_dpir_schedule_reference_passes(capsys):
    def student(num_iters, sigma_n, lam, sigma_start):
        return pnp.dpir_schedule(num_iters, sigma_n, lam=lam, sigma_start=sigma_start)

    assert checks.check_dpir_schedule(student) is True
    assert "✓ Exercise 3.3" in capsys.readouterr().out


@pytest.mark.parametrize("student, message", SCHEDULE_CASES)
def test_dpir_schedule_mistakes(student, message, capsys):
    assert checks.check_dpir_schedule(student) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 3.3" in out
    assert re.search(message, out), out


@pytest.mark.parametrize("check", [checks.check_fft_data_step, checks.check_admm_iteration,
                                   checks.check_dpir_schedule])
def test_unfinished_exercise_prints_its_task(check, capsys):
    def unfinished(*args):
        ...
        raise NotImplementedError("Exercise 3.x: replace the ... with your code")

    assert check(unfinished) is False
    out = capsys.readouterr().out
    assert "is not done yet" in out and checks.exercise_task(check.exercise) in out
    assert f'checks.hint("{check.exercise}")' in out


@pytest.mark.parametrize("check", [checks.check_fft_data_step, checks.check_admm_iteration,
                                   checks.check_dpir_schedule])
def test_student_exception_and_non_callable_are_explained(check, capsys):
    def broken(*args):
        raise ZeroDivisionError("division by zero")

    assert check(broken) is False
    out = capsys.readouterr().out
    assert "raised ZeroDivisionError" in out and "Traceback" not in out
    assert check(np.zeros(3)) is False
    assert "pass your function itself" in capsys.readouterr().out


def test_unpacking_error_gets_advice(capsys):
    def returns_one(data_step, denoiser, v, u, beta, sigma):
        x, v_new, u_new = data_step(v - u, beta)  # unpacks an array: a classic slip
        return x, v_new, u_new

    assert checks.check_admm_iteration(returns_one) is False
    out = capsys.readouterr().out
    assert "raised ValueError" in out and "return x, v_new, u_new" in out


# -- the thinking exercises 3.4-3.6: the truth is recomputed by the check ---------------------
def _judge(check, answer, capsys):
    ok = check(answer)
    return ok, capsys.readouterr().out


def test_registered_kinds_and_tiered_hints():
    kinds = {ex: checks.EXERCISES[ex].kind for ex in ("3.1", "3.2", "3.3", "3.4", "3.5", "3.6")}
    assert kinds == {"3.1": "implement", "3.2": "implement", "3.3": "implement",
                     "3.4": "interpret", "3.5": "predict", "3.6": "experiment"}
    for ex in kinds:
        entry = checks.EXERCISES[ex]
        assert len(entry.hints) == 3 and len(set(entry.hints)) == 3


def test_implement_tasks_do_not_give_the_formula():
    assert "conj" not in checks.exercise_task("3.1")
    assert "v - u" not in checks.exercise_task("3.2") and "u + x" not in checks.exercise_task("3.2")
    assert "geomspace" not in checks.exercise_task("3.3")


def test_schedule_reading_right_answer(capsys):
    ok, out = _judge(checks.check_schedule_reading, "b", capsys)
    assert ok and out.startswith("✓ Exercise 3.4")
    # the explanation quotes the recomputed curves
    curves = nb03._schedule_curves()
    assert f"{curves['dpir'][-1]:.2f} dB" in out and "overtakes every constant" in out


@pytest.mark.parametrize("letter, message", [
    ("a", "not ahead early: it stays below the best constant until iteration"),
    ("c", "the 40/255 curve falls from"),
    ("d", "the smallest level, 3/255, ends at"),
])
def test_schedule_reading_wrong_answers(letter, message, capsys):
    ok, out = _judge(checks.check_schedule_reading, letter, capsys)
    assert not ok and out.startswith("✗ Exercise 3.4") and message in out, out


def test_schedule_reading_follows_the_curves(monkeypatch, capsys):
    """The right letter is decided by the curves, not hard-coded: if the schedule were
    ahead from the start, (a) would be right."""
    flat = np.linspace(20, 25, 12)
    fake = {40: flat - 3, 10: flat, 3: flat - 1, "dpir": flat + 1}
    monkeypatch.setattr(nb03, "_schedule_curves", lambda: fake)
    ok, out = _judge(checks.check_schedule_reading, "a", capsys)
    assert ok, out
    ok, out = _judge(checks.check_schedule_reading, "b", capsys)
    assert not ok and "do not show that" in out


@pytest.mark.parametrize("answer, message", [
    ("e", "one of the letters 'a', 'b', 'c', 'd'"),
    (2, "one of the letters"),
    ("", "one of the letters"),
])
def test_letter_checks_explain_malformed_answers(answer, message, capsys):
    for check in (checks.check_schedule_reading, checks.check_least_gain):
        ok, out = _judge(check, answer, capsys)
        assert not ok and message in out and "Traceback" not in out


@pytest.mark.parametrize("check", [checks.check_schedule_reading, checks.check_least_gain,
                                   checks.check_best_beta])
def test_value_checks_not_done_yet(check, capsys):
    for answer in (None, ...):
        ok, out = _judge(check, answer, capsys)
        assert not ok and f"Exercise {check.exercise} is not done yet" in out
        assert checks.exercise_task(check.exercise) in out


def test_least_gain_right_answer(capsys):
    gains = {t: rec - obs for t, (obs, rec) in nb03._task_gains().items()}
    assert min(gains, key=gains.get) == "sr4"       # measured: +2.75 dB (sr4) .. +20.1 (inpainting)
    ok, out = _judge(checks.check_least_gain, "d", capsys)
    assert ok and out.startswith("✓ Exercise 3.5") and "the smallest of the four" in out
    ok, out = _judge(checks.check_least_gain, " (D) ", capsys)
    assert ok


@pytest.mark.parametrize("letter, message", [
    ("a", "deblurring goes from"),
    ("b", "70 % of its pixels at zero"),
    ("c", "Three of every four values are unknown"),
])
def test_least_gain_wrong_answers(letter, message, capsys):
    ok, out = _judge(checks.check_least_gain, letter, capsys)
    assert not ok and out.startswith("✗ Exercise 3.5")
    assert message in out and "the smallest gain is ×4 super-resolution's" in out, out


def test_least_gain_follows_the_table(monkeypatch, capsys):
    fake = {"deblur": (24.0, 25.0), "inpainting": (6.0, 26.0), "sr2": (27.0, 30.0),
            "sr4": (22.0, 25.0)}
    monkeypatch.setattr(nb03, "_task_gains", lambda: fake)
    assert _judge(checks.check_least_gain, "a", capsys)[0]
    assert not _judge(checks.check_least_gain, "d", capsys)[0]


def test_best_beta_right_answers(capsys):
    table = nb03._beta_scores()
    best = max(table, key=lambda b: table[b][0])
    ok, out = _judge(checks.check_best_beta, best, capsys)
    assert ok and out.startswith("✓ Exercise 3.6") and "close enough" in out
    assert "the best level sits above σ_n" in out
    # an answer between grid points is matched to the nearest one
    ok, _ = _judge(checks.check_best_beta, best * 1.1, capsys)
    assert ok


@pytest.mark.parametrize("answer, message", [
    (1e-3, "Your β is too small"),
    (1.0, "Your β is too large"),
])
def test_best_beta_wrong_answers(answer, message, capsys):
    ok, out = _judge(checks.check_best_beta, answer, capsys)
    assert not ok and out.startswith("✗ Exercise 3.6") and message in out, out
    assert "dB better" in out


@pytest.mark.parametrize("answer, message", [
    ("0.1", "must be a number"),
    (True, "must be a number"),
    (5.0, "within the range tried"),
    (-1.0, "within the range tried"),
    (float("nan"), "finite number"),
])
def test_best_beta_malformed(answer, message, capsys):
    ok, out = _judge(checks.check_best_beta, answer, capsys)
    assert not ok and message in out and "Traceback" not in out, out


def test_best_beta_scores_are_the_widget_s(capsys):
    """The check's grid is computed by the same function as the widget's update."""
    from course_utils.widgets.nb03 import constant_beta_run

    table = nb03._beta_scores()
    beta = nb03._BETA_GRID[9]
    run = constant_beta_run(beta=beta, sigma_n=0.05, denoiser="learned", task="deblur")
    assert table[beta][0] == run["psnr"]
