"""Tests of course_utils.regparam: spectral formulas, λ choices on a problem with known noise."""
import numpy as np
import pytest

from course_utils import regparam as R
from course_utils.data import add_noise, load_image, signal_1d
from course_utils.operators import MatrixOperator
from course_utils.operators.basic import Blur, deconvolution_matrix


def dense_tikhonov(A, y, lam):
    return np.linalg.solve(A.conj().T @ A + lam * np.eye(A.shape[1]), A.conj().T @ y)


@pytest.fixture(scope="module")
def deconv():
    n = 128
    A = deconvolution_matrix(n, 2.0)
    x = signal_1d(n)
    return A, x


def test_spectral_norms_and_solution_match_dense_rectangular():
    # m > n, so part of y lies outside range(A): the residual floor must be accounted for.
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 12)) @ np.diag(np.logspace(0, -4, 12))
    y = rng.standard_normal(40)
    spec = R.TikhonovSpectrum(A, y)
    lams = np.array([1e-8, 1e-4, 1e-1, 10.0])
    for lam, res, sol in zip(lams, spec.residual_norms(lams), spec.solution_norms(lams)):
        x = dense_tikhonov(A, y, lam)
        assert res == pytest.approx(np.linalg.norm(A @ x - y), rel=1e-8)
        assert sol == pytest.approx(np.linalg.norm(x), rel=1e-8)
        assert np.allclose(R.tikhonov(A, y, lam), x, rtol=1e-8, atol=1e-12)
    # an SVD triple gives the same as the matrix
    svd = np.linalg.svd(A, full_matrices=False)
    assert np.allclose(R.tikhonov(svd, y, 1e-3), dense_tikhonov(A, y, 1e-3), rtol=1e-8)
    # λ = 0 is the least-squares (pseudo-inverse) solution
    assert np.allclose(R.tikhonov(A, y, 0.0), np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-6)


def test_fft_spectrum_equals_dense_svd_of_the_same_blur():
    A = Blur((8, 8), "gaussian", kernel_size=5, kernel_sigma=1.0)
    x = load_image("camera", size=8)
    y = add_noise(A(x), 0.01, seed=0)
    fft = R.TikhonovSpectrum(A, y)                       # eigenvalues of the circulant blur
    dense = R.TikhonovSpectrum(A.to_matrix(), y.ravel())  # 64x64 SVD
    lams = np.logspace(-6, 0, 7)
    for name in ("residual_norms", "solution_norms", "gcv_values", "dof"):
        assert np.allclose(getattr(fft, name)(lams), getattr(dense, name)(lams), rtol=1e-8), name
    # curvature: the same analytic formula on the same (s, |β|) up to ordering
    assert np.allclose(fft.curvature(lams), dense.curvature(lams), rtol=1e-6, atol=1e-9)
    x_fft = R.tikhonov(A, y, 1e-3)
    assert x_fft.shape == (8, 8) and not np.iscomplexobj(x_fft)
    assert np.allclose(x_fft.ravel(), dense.solve(1e-3), rtol=1e-8, atol=1e-12)
    assert np.allclose(x_fft, A.solve_tikhonov(y, 1e-3), rtol=1e-10, atol=1e-13)


def test_analytic_curvature_matches_finite_differences(deconv):
    A, x = deconv
    y = add_noise(A @ x, 0.01, seed=0)
    lc = R.l_curve(R.TikhonovSpectrum(A, y), lams=np.logspace(-9, 0, 400))
    t = np.log(lc.lams)
    u, v = np.log(lc.residual_norms), np.log(lc.solution_norms)
    up, vp = np.gradient(u, t), np.gradient(v, t)
    kappa_fd = (up * np.gradient(vp, t) - np.gradient(up, t) * vp) / (up ** 2 + vp ** 2) ** 1.5
    inner = slice(5, -5)
    # second-order differences on 400 points: measured max deviation 2.5 % of max |κ|
    scale = np.abs(lc.curvature).max()
    assert np.abs(kappa_fd[inner] - lc.curvature[inner]).max() <= 0.05 * scale
    # and the finite-difference corner finder lands on (nearly) the same λ
    k = R.curve_corner(lc.residual_norms, lc.solution_norms)
    assert abs(np.log10(lc.lams[k]) - np.log10(lc.corner_lam)) < 0.1


def test_curve_corner_on_synthetic_l_shape():
    # (log ρ, log η) = (ln(1 + e^t), ln(1 + e^−t)): an L symmetric about t = 0, where the
    # swap (ρ, η) ↔ (η, ρ) maps t to −t, so the curvature peaks at t = 0.
    t = np.linspace(-6, 6, 241)
    rho, eta = 1.0 + np.exp(t), 1.0 + np.exp(-t)
    k = R.curve_corner(rho, eta)
    assert abs(t[k]) <= 0.05 + 1e-12
    # the input order does not matter (points are sorted by residual)
    perm = np.random.default_rng(0).permutation(t.size)
    assert perm[R.curve_corner(rho[perm], eta[perm])] == k or abs(t[perm][R.curve_corner(
        rho[perm], eta[perm])]) <= 0.05 + 1e-12
    # a sharp polyline L: the corner is the vertex
    rho = np.concatenate([np.full(10, 1.0), np.logspace(0.05, 2, 10)])
    eta = np.concatenate([np.logspace(2, 0.05, 10), np.full(10, 1.0)])
    eta[-10:] = np.linspace(1.0, 0.9, 10)
    rho[:10] = np.linspace(0.9, 1.0, 10)
    assert R.curve_corner(rho, eta) in (9, 10)


@pytest.mark.parametrize("sigma", [0.01, 0.05])
def test_discrepancy_hits_target_and_choices_near_optimal(deconv, sigma):
    A, x = deconv
    y = add_noise(A @ x, sigma, seed=0)
    spec = R.TikhonovSpectrum(A, y)
    lam_dp = R.discrepancy_principle(spec, sigma=sigma)
    target = sigma * np.sqrt(y.size)
    # the residual of the dense solve at λ_dp equals the target (brentq to 1e-12)
    residual = np.linalg.norm(A @ dense_tikhonov(A, y, lam_dp) - y)
    assert residual == pytest.approx(target, rel=1e-7)
    # with tau_dp = 1.5 the λ is larger (residual grows with λ)
    assert R.discrepancy_principle(spec, sigma=sigma, tau_dp=1.5) > lam_dp

    lams = np.logspace(-9, 0, 181)
    errors = [np.linalg.norm(spec.solve(lam) - x) for lam in lams]
    lam_opt = lams[int(np.argmin(errors))]
    lam_gcv = R.gcv(spec).lam
    lam_lc = R.l_curve(spec).corner_lam
    # All three rules only see y; within a factor 100 of the error-minimising λ is the
    # "sensible range" (the L-curve is known to under-smooth: measured factor ~50 at
    # sigma = 0.01, ~9 at 0.05; GCV ~6, discrepancy ~1.4).
    for name, lam in (("discrepancy", lam_dp), ("gcv", lam_gcv), ("l-curve", lam_lc)):
        assert 1 / 100 <= lam / lam_opt <= 100, (name, lam, lam_opt)


def test_gcv_minimum_is_the_minimum_of_its_curve(deconv):
    A, x = deconv
    y = add_noise(A @ x, 0.02, seed=1)
    spec = R.TikhonovSpectrum(A, y)
    g = R.gcv(spec)
    assert g.values.shape == g.lams.shape
    # the refined minimiser is at least as good as every grid point
    assert spec.gcv_values(g.lam)[0] <= g.values.min() * (1 + 1e-12)
    # direct GCV at that λ with the influence matrix A (AᵀA + λI)⁻¹ Aᵀ
    H = A @ np.linalg.solve(A.T @ A + g.lam * np.eye(A.shape[1]), A.T)
    direct = np.sum((H @ y - y) ** 2) / (y.size - np.trace(H)) ** 2
    assert spec.gcv_values(g.lam)[0] == pytest.approx(direct, rel=1e-7)


def test_choices_on_an_image_blur_via_fft():
    x = load_image("camera", size=64)
    A = Blur((64, 64), "gaussian", kernel_size=9, kernel_sigma=1.5)
    sigma = 0.02
    y = add_noise(A(x), sigma, seed=0)
    spec = R.TikhonovSpectrum(A, y)
    lam_dp = R.discrepancy_principle(spec, sigma=sigma)
    assert np.linalg.norm(A(R.tikhonov(spec, None, lam_dp)) - y) == pytest.approx(
        sigma * 64, rel=1e-7)
    lams = np.logspace(-6, 0, 61)
    lam_opt = lams[int(np.argmin([np.linalg.norm(spec.solve(lam) - x) for lam in lams]))]
    for lam in (lam_dp, R.gcv(spec).lam, R.l_curve(spec).corner_lam):
        assert 1 / 100 <= lam / lam_opt <= 100


@pytest.fixture(scope="module")
def small():
    """A 16-sample deconvolution: cheap SVDs for the argument checks."""
    A = deconvolution_matrix(16, 1.0)
    return A, A @ signal_1d(16)


def test_edge_cases_of_the_discrepancy_principle(small):
    A, y = small
    spec = R.TikhonovSpectrum(A, y)
    # noiseless square invertible problem: the residual floor is 0 -> sigma = 0 gives λ = 0
    assert R.discrepancy_principle(spec, sigma=0.0) == 0.0
    with pytest.raises(ValueError, match="sigma is too large"):
        R.discrepancy_principle(spec, sigma=10.0)
    with pytest.raises(ValueError, match="sigma"):
        R.discrepancy_principle(spec, sigma=-0.1)
    with pytest.raises(ValueError, match="sigma"):
        R.discrepancy_principle(A, y)
    with pytest.raises(ValueError, match="tau_dp"):
        R.discrepancy_principle(spec, sigma=0.01, tau_dp=0.0)


def test_bad_input(small):
    A, y = small
    with pytest.raises(ValueError, match="y must have shape"):
        R.l_curve(A, y[:-1])
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        R.gcv(A, bad)
    with pytest.raises(ValueError, match="lams must be positive"):
        R.l_curve(A, y, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="at least 3"):
        R.l_curve(A, y, [1.0, 2.0])
    with pytest.raises(ValueError, match="lam"):
        R.tikhonov(A, y, -1.0)
    with pytest.raises(TypeError, match="A must be"):
        R.gcv("matrix", y)
    with pytest.raises(ValueError, match="y is required"):
        R.gcv(A)
    spec = R.TikhonovSpectrum(A, y)
    with pytest.raises(ValueError, match="y must be None"):
        R.gcv(spec, y)
    with pytest.raises(ValueError, match="SVD factors"):
        R.TikhonovSpectrum((np.eye(3), np.ones(2), np.eye(3)), np.ones(3))
    with pytest.raises(ValueError, match="residual_norms"):
        R.curve_corner([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        R.curve_corner([1.0, 2.0, -3.0], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="num"):
        R.l_curve(A, y, num=2)


def test_operator_input_uses_to_matrix():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((20, 10))
    y = rng.standard_normal(20)
    assert np.allclose(R.tikhonov(MatrixOperator(M), y, 0.1), dense_tikhonov(M, y, 0.1))
