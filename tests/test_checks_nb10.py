"""Tests of the notebook 10 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils import diffusion as D
from course_utils.checks import nb10

torch = pytest.importorskip("torch")


def test_exported():
    names = {"check_sigma_prediction", "check_tweedie", "check_ddpm_step",
             "check_indigo_correction", "check_best_zeta", "check_stand_in_reading"}
    assert names <= set(checks.__all__)
    assert checks.check_tweedie is nb10.check_tweedie


def test_sigma_prediction(capsys):
    assert checks.check_sigma_prediction(150.0)
    assert not checks.check_sigma_prediction(1.0)
    assert "157" in capsys.readouterr().out
    assert not checks.check_sigma_prediction("big")


def test_tweedie(capsys):
    assert checks.check_tweedie(lambda x_t, eps, ab: (x_t - np.sqrt(1 - ab) * eps) / np.sqrt(ab))
    assert not checks.check_tweedie(lambda x_t, eps, ab: (x_t - (1 - ab) * eps) / ab)
    assert "without square roots" in capsys.readouterr().out
    assert not checks.check_tweedie(lambda x_t, eps, ab: x_t - np.sqrt(1 - ab) * eps)
    assert "did not divide" in capsys.readouterr().out


def _ddpm(x_t, x0, ab_t, ab_s, z):
    a = ab_t / ab_s
    b = 1 - a
    mean = np.sqrt(a) * (1 - ab_s) / (1 - ab_t) * x_t + np.sqrt(ab_s) * b / (1 - ab_t) * x0
    return mean + np.sqrt(b * (1 - ab_s) / (1 - ab_t)) * z


def test_ddpm_step(capsys):
    assert checks.check_ddpm_step(_ddpm)

    def beta_noise(x_t, x0, ab_t, ab_s, z):
        return _ddpm(x_t, x0, ab_t, ab_s, 0 * z) + np.sqrt(1 - ab_t / ab_s) * z

    assert not checks.check_ddpm_step(beta_noise)
    assert "√β_t" in capsys.readouterr().out

    def ddim(x_t, x0, ab_t, ab_s, z):
        return np.sqrt(ab_s) * x0 + np.sqrt(1 - ab_s) * D.eps_from_x0(x_t, x0, ab_t)

    assert not checks.check_ddpm_step(ddim)
    assert "DDIM" in capsys.readouterr().out


def test_indigo_correction(capsys):
    assert checks.check_indigo_correction(lambda inn, x0, y: inn.inverse(y * inn.scale, inn(x0)[1]))
    assert not checks.check_indigo_correction(lambda inn, x0, y: inn.inverse(y, inn(x0)[1]))
    assert "inn.scale" in capsys.readouterr().out
    assert not checks.check_indigo_correction(lambda inn, x0, y: inn.inverse(*inn(x0)))
    assert "gives x0 back" in capsys.readouterr().out


def test_best_zeta(capsys):
    from course_utils.widgets.nb10 import ZETAS, zeta_curve

    curve = zeta_curve(0.05, 25)
    assert checks.check_best_zeta(ZETAS[int(np.argmax(curve))])
    assert not checks.check_best_zeta(0.0)
    assert not checks.check_best_zeta(-5.0)


def test_stand_in_reading(capsys):
    assert checks.check_stand_in_reading("b")
    for wrong in "acd":
        assert not checks.check_stand_in_reading(wrong)
    assert not checks.check_stand_in_reading("e")


def test_unfinished_exercises_say_so(capsys):
    def stub(*args):
        raise NotImplementedError
    assert not checks.check_tweedie(stub)
    assert "not done yet" in capsys.readouterr().out
    assert not checks.check_best_zeta(None)
