"""Notebook 07 self-checks: right answers pass, typical mistakes get specific feedback,
unfinished exercises print their hint, nothing ever raises."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.mri import fft2c, ifft2c


def _run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def _not_done(*args):
    raise NotImplementedError("Exercise 7.x: replace the ... with your code")


def test_exports():
    for name in ("check_fft2c", "check_masked_fft_adjoint", "check_replica_shift",
                 "check_spiral_psf", "check_variable_density_mask", "check_center_fraction"):
        assert name in checks.__all__ and callable(getattr(checks, name))


# -- 7.1 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, expected", [
    (lambda x: np.fft.fft2(x), "zero frequency is in the corner"),
    (lambda x: np.fft.fftshift(np.fft.fft2(x, norm="ortho")), "shifted the output but not"),
    (lambda x: np.fft.ifftshift(np.fft.fft2(np.fft.fftshift(x), norm="ortho")), "swapped"),
    (lambda x: np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x))), "too large"),
    (lambda x: ifft2c(x), "inverse transform"),
    (lambda x: np.abs(fft2c(x)), "returned a real array"),
    (lambda x: None, "returned None"),
    (lambda x: fft2c(x)[:-1], "shape"),
])
def test_fft2c_mistakes(fn, expected, capsys):
    ok, out = _run(checks.check_fft2c, fn, capsys)
    assert not ok and "✗ Exercise 7.1" in out and expected in out


def test_fft2c_right_and_unfinished(capsys):
    ok, out = _run(checks.check_fft2c,
                   lambda x: np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x), norm="ortho")),
                   capsys)
    assert ok and "✓ Exercise 7.1" in out
    ok, out = _run(checks.check_fft2c, _not_done, capsys)
    assert not ok and "Exercise 7.1 is not done yet" in out


# -- 7.2 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, expected", [
    (lambda y, m: ifft2c(y), "forgot the mask"),
    (lambda y, m: fft2c(m * y), "forward FFT"),
    (lambda y, m: ifft2c(m * y) * np.sqrt(y.size), "wrong scale"),
    (lambda y, m: np.conj(ifft2c(m * y)), "complex conjugate"),
    (lambda y, m: np.real(ifft2c(m * y)), "returned a real array"),
    (lambda y, m: ifft2c(m * y) + 0.1, "dot test fails"),
    (lambda y, m: 1 / 0, "ZeroDivisionError"),
])
def test_adjoint_mistakes(fn, expected, capsys):
    ok, out = _run(checks.check_masked_fft_adjoint, fn, capsys)
    assert not ok and "✗ Exercise 7.2" in out and expected in out


def test_adjoint_right_and_unfinished(capsys):
    ok, out = _run(checks.check_masked_fft_adjoint, lambda y, m: ifft2c(m * y), capsys)
    assert ok and "✓ Exercise 7.2" in out
    ok, out = _run(checks.check_masked_fft_adjoint, _not_done, capsys)
    assert not ok and "Exercise 7.2 is not done yet" in out


# -- 7.3 -----------------------------------------------------------------------------------
def _vd(shape, acceleration, center_fraction, seed, *, decay=2.0, n_extra=0, centre=True,
        same_seed=False):
    M, N = shape
    rng = np.random.default_rng(0 if same_seed else seed)
    n = int(round(M / acceleration)) + n_extra
    nc = int(round(center_fraction * M))
    c = np.arange(M // 2 - nc // 2, M // 2 - nc // 2 + nc)
    p = np.clip(1 - np.abs(np.arange(M) - M // 2) / (M / 2), 1e-6, None) ** decay
    p[c] = 0
    p /= p.sum()
    if centre:
        rows = np.concatenate([c, rng.choice(M, n - nc, replace=False, p=p)])
    else:
        rows = rng.choice(M, n, replace=False, p=p)
    mask = np.zeros(shape, bool)
    mask[rows] = True
    return mask


@pytest.mark.parametrize("fn, expected", [
    (lambda *a: _vd(*a, decay=0.0), "about as often"),
    (lambda *a: _vd(*a, n_extra=6), "should sample about"),
    (lambda *a: _vd(*a, centre=False), "central rows"),
    (lambda *a: _vd(*a, same_seed=True), "every seed gives the same mask"),
    (lambda s, r, c, seed: np.random.default_rng(seed).random(s) < 0.25, "partly sampled"),
    (lambda s, r, c, seed: np.random.default_rng(seed).choice(4, size=4, p=[1, 0, 0, 1]),
     "probabilities"),
])
def test_vd_mask_mistakes(fn, expected, capsys):
    ok, out = _run(checks.check_variable_density_mask, fn, capsys)
    assert not ok and "✗ Exercise 7.5" in out and expected in out


def test_vd_mask_right_and_unfinished(capsys):
    ok, out = _run(checks.check_variable_density_mask, _vd, capsys)
    assert ok and "✓ Exercise 7.5" in out and "side lobe" in out
    ok, out = _run(checks.check_variable_density_mask, _not_done, capsys)
    assert not ok and "Exercise 7.5 is not done yet" in out


def test_checks_reject_non_callables(capsys):
    ok, out = _run(checks.check_fft2c, np.zeros(3), capsys)
    assert not ok and "pass your function itself" in out


# -- value answers: 7.3 (predict), 7.4 (interpret), 7.6 (experiment) ---------------------------
def _answer(check, answer, capsys):
    ok = check(answer)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("answer", [24, 24.0, 72, -24, np.int64(24)])
def test_replica_shift_right(answer, capsys):
    ok, out = _answer(checks.check_replica_shift, answer, capsys)
    assert ok and "✓ Exercise 7.3" in out and "96 / 4 = 24" in out


@pytest.mark.parametrize("answer, expected", [
    (4, "spacing of the measured lines in k-space"),
    (48, "it is the second one"),
    (0, "no wrap-around"),
    (0.25, "not a fraction of the field of view"),
    (12, "(12 away)"),
])
def test_replica_shift_wrong(answer, expected, capsys):
    ok, out = _answer(checks.check_replica_shift, answer, capsys)
    assert not ok and "✗ Exercise 7.3" in out and expected in out
    assert "comb of period" in out          # the reason is given whatever the answer


def test_replica_shift_matches_the_psf():
    offsets, heights = checks.nb07._replica_offsets()
    assert sorted(offsets.tolist()) == [-48, -24, 0, 24]
    assert np.all(heights > 0.99)


@pytest.mark.parametrize("check, exercise", [
    (checks.check_replica_shift, "7.3"), (checks.check_spiral_psf, "7.4"),
    (checks.check_center_fraction, "7.6")])
def test_value_checks_unfinished_and_malformed(check, exercise, capsys):
    for unfinished in (None, ...):
        ok, out = _answer(check, unfinished, capsys)
        assert not ok and f"Exercise {exercise} is not done yet" in out
        assert f'checks.hint("{exercise}")' in out
    for malformed in ("24", [0.1], True, float("nan"), {"a": 1}, "z"):
        ok, out = _answer(check, malformed, capsys)
        assert not ok and f"✗ Exercise {exercise}" in out and "could not run" not in out


def test_spiral_psf_right_and_each_wrong_option(capsys):
    ok, out = _answer(checks.check_spiral_psf, "b", capsys)
    assert ok and "✓ Exercise 7.4" in out and "lies in a ring" in out
    ok, out = _answer(checks.check_spiral_psf, " (B) ", capsys)
    assert ok
    for letter, expected in (("a", "as narrow as the radial one"), ("c", "shows none"),
                             ("d", "SSIM agrees with PSNR")):
        ok, out = _answer(checks.check_spiral_psf, letter, capsys)
        assert not ok and "✗ Exercise 7.4" in out and expected in out


def test_spiral_ring_holds_most_of_the_energy():
    n = checks.nb07._spiral_psf_numbers()
    assert n["far_fraction"] > n["peak_fraction"] and n["side_lobe"] < 0.15
    assert n["psnr_spiral"] < n["psnr_low"]


def test_center_fraction_scores_match_the_widget():
    from course_utils.widgets import undersampling_widget

    _, update = undersampling_widget()
    scores = checks.nb07.centre_fraction_scores(grid=(0.02, 0.08))
    for cf, (zf, cs) in scores.items():
        numbers = update(pattern="variable_density", acceleration=4, center_fraction=cf,
                         sigma=0.0, cs="cs_tv")
        assert numbers["psnr_cs"] == pytest.approx(cs, abs=0.006)
        assert numbers["psnr_zero_filled"] == pytest.approx(zf, abs=0.006)


def test_center_fraction_right_and_wrong(capsys):
    scores = checks.nb07.centre_fraction_scores()
    cs = {cf: s[1] for cf, s in scores.items()}
    best = max(cs, key=cs.get)
    ok, out = _answer(checks.check_center_fraction, best, capsys)
    assert ok and "✓ Exercise 7.6" in out and "close enough" in out
    worst = min(cs, key=cs.get)
    ok, out = _answer(checks.check_center_fraction, worst, capsys)
    assert not ok and "✗ Exercise 7.6" in out and "better" in out and "blur" in out
    ok, out = _answer(checks.check_center_fraction, 0.64, capsys)
    assert "reduced to 0.25" in out and ok == (cs[0.25] >= cs[best] - 0.3)
    ok, out = _answer(checks.check_center_fraction, 1.5, capsys)
    assert not ok and "in (0, 1]" in out
