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
def test_unfinished_exercise_prints_its_hint(check, capsys):
    def unfinished(*args):
        ...
        raise NotImplementedError("Exercise 3.x: replace the ... with your code")

    assert check(unfinished) is False
    out = capsys.readouterr().out
    assert "is not done yet" in out and nb03.HINTS[check.exercise] in out


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
