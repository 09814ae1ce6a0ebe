"""Tests of the SVD tools for ill-posed least squares (course_utils.illposed)."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.illposed import (SVD, compute_svd, condition_number, filter_error_curve,
                                   filter_factors, naive_inverse, noise_blowup,
                                   picard_coefficients, svd_filter)
from course_utils.operators import MatrixOperator
from course_utils.operators.basic import deconvolution_matrix

# Round-off level for float64 linear algebra on matrices of size <= 64 with condition
# numbers <= 1e3: errors are a few hundred ulps, so 1e-10 leaves a wide margin.
TOL = 1e-10


def _matrix(m, n, seed=0, cond=10.0):
    """Random (m, n) matrix with singular values spread geometrically from 1 to 1/cond."""
    rng = np.random.default_rng(seed)
    r = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = np.geomspace(1.0, 1.0 / cond, r)
    return U @ np.diag(s) @ V.T


@pytest.mark.parametrize("shape", [(8, 8), (12, 5), (5, 12)])
def test_compute_svd_reconstructs(shape):
    A = _matrix(*shape, seed=1)
    svd = compute_svd(A)
    assert isinstance(svd, SVD)
    U, s, Vt = svd
    np.testing.assert_allclose(U @ np.diag(s) @ Vt, A, atol=TOL)
    assert np.all(np.diff(s) <= 0)


def test_compute_svd_accepts_operator():
    A = _matrix(6, 4, seed=2)
    np.testing.assert_allclose(compute_svd(MatrixOperator(A)).s, compute_svd(A).s, atol=TOL)


def test_filter_factors_values():
    s = np.array([4.0, 2.0, 1.0, 0.0])
    np.testing.assert_array_equal(filter_factors(s, "tsvd", k=2), [1, 1, 0, 0])
    # A zero singular value is never inverted, even when k asks for it.
    np.testing.assert_array_equal(filter_factors(s, "tsvd", k=4), [1, 1, 1, 0])
    np.testing.assert_allclose(filter_factors(s, "tikhonov", lam=4.0),
                               [16 / 20, 4 / 8, 1 / 5, 0.0], atol=1e-15)
    np.testing.assert_allclose(filter_factors(s, "tikhonov", lam=0.0), [1, 1, 1, 0])


@pytest.mark.parametrize("shape", [(10, 10), (12, 7), (7, 12)])
def test_full_tsvd_is_pseudo_inverse(shape):
    A = _matrix(*shape, seed=3)
    y = np.random.default_rng(4).standard_normal(shape[0])
    expected = np.linalg.pinv(A) @ y
    np.testing.assert_allclose(svd_filter(A, y, "tsvd", k=min(shape)), expected, atol=1e-9)
    np.testing.assert_allclose(svd_filter(A, y, "tikhonov", lam=0.0), expected, atol=1e-9)
    np.testing.assert_allclose(naive_inverse(A, y), expected, atol=1e-9)


def test_tikhonov_solves_regularised_normal_equations():
    """svd_filter(lam) minimises ½‖Ax − y‖² + ½ lam ‖x‖²: (AᵀA + lam I) x = Aᵀy."""
    A = _matrix(15, 9, seed=5, cond=1e3)
    y = np.random.default_rng(6).standard_normal(15)
    for lam in (1e-4, 0.1, 3.0):
        x_hat = svd_filter(A, y, "tikhonov", lam=lam)
        expected = np.linalg.solve(A.T @ A + lam * np.eye(9), A.T @ y)
        np.testing.assert_allclose(x_hat, expected, atol=1e-8)


def test_tikhonov_matches_blur_closed_form():
    """Same convention as the FFT closed form of the circulant blur (periodic case)."""
    from course_utils.operators.basic import Blur
    n = 16
    blur = Blur((n, n), "gaussian", kernel_size=5, kernel_sigma=1.0)
    A = blur.to_matrix()
    x = np.random.default_rng(7).random((n, n))
    y = blur(x)
    lam = 1e-2
    x_svd = svd_filter(A, y.ravel(), "tikhonov", lam=lam).reshape(n, n)
    np.testing.assert_allclose(x_svd, blur.solve_tikhonov(y, lam), atol=1e-9)


def test_tsvd_with_k_components_lies_in_span():
    A = _matrix(9, 9, seed=8)
    y = np.random.default_rng(9).standard_normal(9)
    U, s, Vt = compute_svd(A)
    for k in (0, 1, 4, 9):
        x_k = svd_filter((U, s, Vt), y, "tsvd", k=k)
        # Coefficients along v_i: u_i^T y / s_i for i < k, zero after.
        coeffs = Vt @ x_k
        np.testing.assert_allclose(coeffs[:k], (U.T @ y)[:k] / s[:k], atol=1e-9)
        np.testing.assert_allclose(coeffs[k:], 0.0, atol=1e-12)


def test_picard_coefficients():
    A = _matrix(8, 6, seed=10)
    y = np.random.default_rng(11).standard_normal(8)
    U, s, Vt = compute_svd(A)
    coeffs, ratios = picard_coefficients(U, s, y)
    np.testing.assert_allclose(coeffs, np.abs(U.T @ y), atol=1e-14)
    np.testing.assert_allclose(ratios, np.abs(U.T @ y) / s, atol=1e-12)
    _, ratios0 = picard_coefficients(U, np.r_[s[:-1], 0.0], y)
    assert np.isinf(ratios0[-1])


def test_picard_noise_floor():
    """With white noise of std sigma, |u_i^T y| levels off at about sigma (Picard plot)."""
    A = deconvolution_matrix(128, 3.0)
    x = np.sin(np.linspace(0, np.pi, 128))
    sigma = 1e-3
    y = A @ x + sigma * np.random.default_rng(12).standard_normal(128)
    U, s, _ = compute_svd(A)
    coeffs, _ = picard_coefficients(U, s, y)
    # Beyond index 80 the signal part is below 1e-10, so coeffs ~ |N(0, sigma²)|, whose
    # RMS is sigma; 48 samples put the RMS within ±30 % with overwhelming probability.
    rms = np.sqrt(np.mean(coeffs[80:] ** 2))
    assert 0.7 * sigma < rms < 1.3 * sigma


def test_condition_number():
    A = _matrix(7, 7, seed=13, cond=250.0)
    assert condition_number(A) == pytest.approx(250.0, rel=1e-9)
    assert condition_number(compute_svd(A)) == pytest.approx(250.0, rel=1e-9)
    assert condition_number(np.array([3.0, 1.5])) == pytest.approx(2.0)
    assert condition_number(np.array([1.0, 0.0])) == np.inf
    assert condition_number(MatrixOperator(A)) == pytest.approx(250.0, rel=1e-9)


def test_condition_number_of_gaussian_blur_grows_with_width():
    kappas = [condition_number(deconvolution_matrix(64, w)) for w in (0.5, 1.0, 1.5)]
    assert kappas[0] < kappas[1] < kappas[2]
    assert kappas[0] < 10


def test_noise_blowup_formula_and_monte_carlo():
    A = _matrix(20, 20, seed=14, cond=100.0)
    s = compute_svd(A).s
    sigma = 0.01
    expected = sigma * np.sqrt(np.sum(1 / s ** 2))
    assert noise_blowup(A, sigma) == pytest.approx(expected, rel=1e-12)
    assert noise_blowup(s, sigma) == pytest.approx(expected, rel=1e-12)
    assert noise_blowup(A, 0.0) == 0.0
    # Monte Carlo check of E‖A⁻¹n‖²: 2000 draws give a relative standard error of the
    # mean below 3 %, so a 10 % band cannot fail by chance in practice.
    rng = np.random.default_rng(15)
    noise = sigma * rng.standard_normal((2000, 20))
    errs = np.linalg.solve(A, noise.T).T
    assert np.sqrt(np.mean(np.sum(errs ** 2, axis=1))) == pytest.approx(expected, rel=0.1)


def test_filter_error_curve_matches_direct_solutions():
    A = _matrix(14, 10, seed=16, cond=1e4)
    rng = np.random.default_rng(17)
    x = rng.standard_normal(10)
    y = A @ x + 1e-3 * rng.standard_normal(14)
    svd = compute_svd(A)
    errors = filter_error_curve(svd, y, x, "tsvd")
    assert errors.shape == (11,)
    for k in range(11):
        direct = np.linalg.norm(svd_filter(svd, y, "tsvd", k=k) - x) / np.linalg.norm(x)
        assert errors[k] == pytest.approx(direct, rel=1e-9)
    assert errors[0] == pytest.approx(1.0)
    lams = [0.0, 1e-6, 1e-2, 1.0]
    errors = filter_error_curve(svd, y, x, "tikhonov", lams=lams)
    for err, lam in zip(errors, lams):
        direct = np.linalg.norm(svd_filter(svd, y, "tikhonov", lam=lam) - x) / np.linalg.norm(x)
        assert err == pytest.approx(direct, rel=1e-9)


def test_filter_error_curve_wide_matrix_counts_null_space():
    """For a wide A the part of x outside the row space is never recovered."""
    A = _matrix(4, 6, seed=18)
    x = np.random.default_rng(19).standard_normal(6)
    err = filter_error_curve(A, A @ x, x, "tsvd", ks=[4])[0]
    U, s, Vt = compute_svd(A)
    outside = np.linalg.norm(x - Vt.T @ (Vt @ x)) / np.linalg.norm(x)
    assert err == pytest.approx(outside, rel=1e-9)
    assert err > 0.1


# -- bad input ------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    A = _matrix(5, 4, seed=20)
    y = np.ones(5)
    with pytest.raises(ValueError, match="A must be 2-D"):
        compute_svd(np.ones(3))
    with pytest.raises(TypeError, match="A must be a numeric array"):
        compute_svd("matrix")
    with pytest.raises(ValueError, match="A contains NaN"):
        compute_svd(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="must not be empty"):
        compute_svd(np.ones((0, 3)))
    with pytest.raises(ValueError, match="Unknown method"):
        svd_filter(A, y, "wiener", k=1)
    with pytest.raises(ValueError, match="needs the truncation index k"):
        svd_filter(A, y, "tsvd")
    with pytest.raises(ValueError, match="needs the regularisation weight lam"):
        svd_filter(A, y, "tikhonov")
    with pytest.raises(ValueError, match="takes k, not lam"):
        svd_filter(A, y, "tsvd", k=1, lam=1.0)
    with pytest.raises(ValueError, match="takes lam, not k"):
        svd_filter(A, y, "tikhonov", k=1, lam=1.0)
    with pytest.raises(ValueError, match="k must be <= 4"):
        svd_filter(A, y, "tsvd", k=5)
    with pytest.raises(ValueError, match="k must be >= 0"):
        svd_filter(A, y, "tsvd", k=-1)
    with pytest.raises(TypeError, match="k must be an integer"):
        svd_filter(A, y, "tsvd", k=1.5)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        svd_filter(A, y, "tikhonov", lam=-1.0)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        svd_filter(A, np.ones(4), "tsvd", k=1)
    with pytest.raises(ValueError, match="tuple of length 2"):
        svd_filter((A, A), y, "tsvd", k=1)
    U, s, Vt = compute_svd(A)
    with pytest.raises(ValueError, match="do not match"):
        svd_filter((U, s[:3], Vt), y, "tsvd", k=1)
    with pytest.raises(ValueError, match="non-increasing"):
        svd_filter((U, s[::-1], Vt), y, "tsvd", k=1)
    with pytest.raises(ValueError, match="non-negative"):
        filter_factors(np.array([1.0, -1.0]), "tsvd", k=1)
    with pytest.raises(ValueError, match="U has 4 columns but s has 3"):
        picard_coefficients(U, s[:3], y)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        noise_blowup(A, -0.1)
    with pytest.raises(ValueError, match="non-negative"):
        condition_number(np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match="x must be non-zero"):
        filter_error_curve(A, y, np.zeros(4))
    with pytest.raises(ValueError, match="needs lams"):
        filter_error_curve(A, y, np.ones(4), "tikhonov")
    with pytest.raises(ValueError, match="must act on 1-D vectors"):
        from course_utils.operators.basic import Identity
        compute_svd(Identity((4, 4)))


def test_plot_picard_draws_updatable_artists():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from course_utils.illposed import plot_picard
    A = _matrix(10, 10, seed=21, cond=1e3)
    y = np.random.default_rng(22).standard_normal(10)
    U, s, _ = compute_svd(A)
    fig, ax = plt.subplots()
    artists = plot_picard(s, y, U, k=4, sigma=0.1, ax=ax)
    coeffs, ratios = picard_coefficients(U, s, y)
    np.testing.assert_allclose(artists["coeffs"].get_ydata(), coeffs)
    np.testing.assert_allclose(artists["ratios"].get_ydata(), ratios)
    assert list(artists["k"].get_xdata()) == [4, 4]
    assert artists["sigma"] is not None
    # From coefficients directly, without k or sigma
    artists = plot_picard(s, coeffs, ax=ax)
    assert artists["k"] is None and artists["sigma"] is None
    with pytest.raises(ValueError, match="k must be <= 10"):
        plot_picard(s, coeffs, k=11, ax=ax)
    with pytest.raises(ValueError, match=r"y_or_coeffs must have shape \(10,\)"):
        plot_picard(s, coeffs[:5], ax=ax)
    plt.close(fig)
