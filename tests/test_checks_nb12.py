"""Tests of the notebook 12 self-checks: right answers pass, classic mistakes are named."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks, xrf
from course_utils.checks import nb12


def test_exported():
    names = {"check_detector_fwhm", "check_annihilating_filter", "check_roi_sum",
             "check_roi_ghost", "check_dwell_prediction", "check_dwell_experiment"}
    assert names <= set(checks.__all__)
    assert checks.check_roi_sum is nb12.check_roi_sum


def test_hints_are_tiered():
    kinds = [checks.EXERCISES[f"12.{k}"].kind for k in range(1, 7)]
    assert kinds == ["implement", "implement", "implement", "interpret", "predict",
                     "experiment"]
    for k in range(1, 7):
        assert len(checks.EXERCISES[f"12.{k}"].hints) == 3


# -- 12.1 ---------------------------------------------------------------------------------------
def _fwhm(e):
    return np.sqrt(0.08 ** 2 + 2.3548 ** 2 * 3.85e-3 * 0.114 * np.asarray(e, dtype=float))


def test_fwhm_right_answers_pass(capsys):
    assert checks.check_detector_fwhm(_fwhm)
    assert checks.check_detector_fwhm(lambda e: xrf.fwhm(e))
    out = capsys.readouterr().out
    assert "✓ Exercise 12.1" in out and "144 eV" in out


@pytest.mark.parametrize("fn, words", [
    (lambda e: _fwhm(e) ** 2, "square of the FWHM"),
    (lambda e: _fwhm(e) / 2.3548, "standard deviation"),
    (lambda e: np.sqrt(0.08 ** 2 + 3.85e-3 * 0.114 * np.asarray(e)), "2.3548² is missing"),
    (lambda e: np.sqrt(0.08 ** 2 + 2.3548 ** 2 * 3.85e-3 * np.asarray(e)), "Fano factor"),
    (lambda e: 0.08 + np.sqrt(2.3548 ** 2 * 3.85e-3 * 0.114 * np.asarray(e)), "quadrature"),
    (lambda e: np.sqrt(0.08 + 2.3548 ** 2 * 3.85e-3 * 0.114 * np.asarray(e)), "squared too"),
    (lambda e: 1000 * _fwhm(e), "in eV"),
    (lambda e: _fwhm(e)[:3], "one FWHM per energy"),
    (lambda e: _fwhm(e) + 0.01, "xrf.fwhm gives"),
    (lambda e: None, "forget the `return`"),
])
def test_fwhm_mistakes_are_explained(fn, words, capsys):
    assert checks.check_detector_fwhm(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 12.1" in out and words in out


def test_fwhm_unfinished_and_scalar(capsys):
    def todo(e):
        raise NotImplementedError

    assert checks.check_detector_fwhm(todo) is False
    assert "Exercise 12.1 is not done yet" in capsys.readouterr().out

    def array_only(e):
        return _fwhm(e) if np.ndim(e) else np.zeros(2)

    assert checks.check_detector_fwhm(array_only) is False
    assert "must be one number" in capsys.readouterr().out


# -- 12.2 ---------------------------------------------------------------------------------------
def _roots(z, K):
    z = np.asarray(z, dtype=complex)
    idx = np.arange(K, -1, -1)[None, :] + np.arange(len(z) - K)[:, None]
    _, _, vh = np.linalg.svd(z[idx])
    return np.roots(vh[-1].conj())


def test_annihilating_right_answers_pass(capsys):
    assert checks.check_annihilating_filter(_roots)
    assert checks.check_annihilating_filter(xrf.annihilating_filter)
    assert "✓ Exercise 12.2" in capsys.readouterr().out


def _forward_rows(z, K):
    z = np.asarray(z, dtype=complex)
    idx = np.arange(0, K + 1)[None, :] + np.arange(len(z) - K)[:, None]
    _, _, vh = np.linalg.svd(z[idx])
    return np.roots(vh[-1].conj())


def _no_conj(z, K):
    z = np.asarray(z, dtype=complex)
    idx = np.arange(K, -1, -1)[None, :] + np.arange(len(z) - K)[:, None]
    _, _, vh = np.linalg.svd(z[idx])
    return np.roots(vh[-1])


def _largest(z, K):
    z = np.asarray(z, dtype=complex)
    idx = np.arange(K, -1, -1)[None, :] + np.arange(len(z) - K)[:, None]
    _, _, vh = np.linalg.svd(z[idx])
    return np.roots(vh[0].conj())


def _square(z, K):
    # an exact solve on the first K rows with h[0] = 1: right without noise, not with it
    z = np.asarray(z, dtype=complex)
    idx = np.arange(K, -1, -1)[None, :] + np.arange(len(z) - K)[:, None]
    T = z[idx][:K]
    h = np.linalg.solve(T[:, 1:], -T[:, 0])
    return np.roots(np.concatenate([[1.0], h]))


@pytest.mark.parametrize("fn, words", [
    (_forward_rows, "complex conjugates"),
    (_no_conj, "complex conjugates"),
    (_largest, "smallest singular value"),
    (lambda z, K: _roots(z, K - 1), "you must return 3 roots"),
    (_square, "on a noisy z"),
    (lambda z, K: None, "forget the `return`"),
])
def test_annihilating_mistakes_are_explained(fn, words, capsys):
    assert checks.check_annihilating_filter(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 12.2" in out and words in out


def test_annihilating_unfinished(capsys):
    def todo(z, K):
        raise NotImplementedError

    assert checks.check_annihilating_filter(todo) is False
    assert "Exercise 12.2 is not done yet" in capsys.readouterr().out


# -- 12.3 ---------------------------------------------------------------------------------------
def _roi(cube, energies, line):
    return cube[..., np.abs(energies - line) <= xrf.fwhm(line)].sum(-1)


def test_roi_right_answers_pass(capsys):
    assert checks.check_roi_sum(_roi)
    assert checks.check_roi_sum(lambda c, e, line: xrf.roi_sum(c, e, line))
    out = capsys.readouterr().out
    assert "✓ Exercise 12.3" in out and "33 channels" in out


@pytest.mark.parametrize("fn, words", [
    (lambda c, e, line: c[..., np.abs(e - line) <= xrf.fwhm(line) / 2].sum(-1), "± FWHM/2"),
    (lambda c, e, line: c[..., np.abs(e - line) <= xrf.fwhm(line) / 2.3548].sum(-1), "± σ"),
    (lambda c, e, line: c[..., np.abs(e - line) <= xrf.fwhm(line)].mean(-1), "mean"),
    (lambda c, e, line: c[..., int(np.argmin(np.abs(e - line)))], "single channel"),
    (lambda c, e, line: c.sum((0, 1)), "Sum over the last axis"),
    (lambda c, e, line: _roi(c, e, line) + 1, "largest difference"),
])
def test_roi_mistakes_are_explained(fn, words, capsys):
    assert checks.check_roi_sum(fn) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 12.3" in out and words in out


# -- 12.4 ---------------------------------------------------------------------------------------
def test_roi_ghost_reading(capsys):
    assert checks.check_roi_ghost("b")
    out = capsys.readouterr().out
    assert "✓ Exercise 12.4" in out and "8.63 keV" in out
    for letter, words in (("a", "hold no zinc"), ("c", "same at every pixel"),
                          ("d", "bias")):
        assert checks.check_roi_ghost(letter) is False
        out = capsys.readouterr().out
        assert "✗ Exercise 12.4" in out and words in out
    assert checks.check_roi_ghost(" (B) ")
    capsys.readouterr()
    assert checks.check_roi_ghost("e") is False
    assert "one of the letters" in capsys.readouterr().out
    assert checks.check_roi_ghost(None) is False
    assert "is not done yet" in capsys.readouterr().out


# -- 12.5 ---------------------------------------------------------------------------------------
def test_dwell_prediction_is_judged_against_a_measurement(capsys):
    actual = nb12._noise_factor()
    assert 2.6 < actual < 3.8                      # close to √10
    assert checks.check_dwell_prediction(np.sqrt(10))
    out = capsys.readouterr().out
    assert "✓ Exercise 12.5" in out and "√10" in out
    assert checks.check_dwell_prediction(10) is False
    out = capsys.readouterr().out
    assert "✗ Exercise 12.5" in out and "did not grow" in out
    assert checks.check_dwell_prediction(1.0) is False
    assert "always help" in capsys.readouterr().out


@pytest.mark.parametrize("answer, words", [
    (None, "is not done yet"), ("3", "must be a number"), (True, "must be a number"),
    (float("inf"), "finite"),
])
def test_dwell_prediction_malformed(answer, words, capsys):
    assert checks.check_dwell_prediction(answer) is False
    assert words in capsys.readouterr().out


# -- 12.6 ---------------------------------------------------------------------------------------
def test_dwell_experiment_is_judged_on_the_widget_levels(capsys):
    from course_utils.widgets.nb12 import COUNTS_LEVELS, level_quality
    corr = [level_quality(c)["deconvolution"]["Zn"]["correlation"] for c in COUNTS_LEVELS]
    best = next(c for c, r in zip(COUNTS_LEVELS, corr) if r >= 0.9)
    assert checks.check_dwell_experiment(best)
    out = capsys.readouterr().out
    assert "✓ Exercise 12.6" in out and "first level" in out
    assert checks.check_dwell_experiment(COUNTS_LEVELS[-1]) is False
    assert "not the smallest" in capsys.readouterr().out
    assert checks.check_dwell_experiment(COUNTS_LEVELS[0]) is False
    assert "below 0.9" in capsys.readouterr().out


@pytest.mark.parametrize("answer, words", [
    (None, "is not done yet"), (500, "one of the slider's values"),
    ("1000", "must be a number"), (float("nan"), "one of the slider's values"),
])
def test_dwell_experiment_malformed(answer, words, capsys):
    assert checks.check_dwell_experiment(answer) is False
    assert words in capsys.readouterr().out
