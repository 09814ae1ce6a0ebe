"""Tests of course_utils.solvers: optimality conditions, closed forms, agreement, mechanics."""
import time

import numpy as np
import pytest

from course_utils import solvers as S
from course_utils.data import add_noise, load_image
from course_utils.operators import MatrixOperator
from course_utils.operators.basic import Blur, Gradient, Identity


class L1:
    """``lam ‖x‖₁`` with its soft-threshold prox (real or complex)."""

    def __init__(self, lam):
        self.lam = lam

    def value(self, x):
        return self.lam * float(np.abs(x).sum())

    def prox(self, x, tau):
        mag = np.abs(x)
        return x * np.maximum(1.0 - tau * self.lam / np.maximum(mag, 1e-300), 0.0)


def soft(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


@pytest.fixture(scope="module")
def lasso():
    """A small compressed-sensing lasso: 30 Gaussian measurements of a 5-sparse x in R^50."""
    rng = np.random.default_rng(0)
    m, n = 30, 50
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x_true = np.zeros(n)
    x_true[rng.choice(n, 5, replace=False)] = rng.standard_normal(5)
    y = A @ x_true + 0.01 * rng.standard_normal(m)
    lam = 0.1 * np.abs(A.T @ y).max()
    return A, y, lam, x_true


def lasso_optimality(A, y, lam, x):
    """Largest violation of 0 ∈ Aᵀ(Ax − y) + lam ∂‖x‖₁, componentwise."""
    g = A.T @ (A @ x - y)
    nz = x != 0
    on = np.abs(g[nz] + lam * np.sign(x[nz])).max(initial=0.0)     # g_i = −lam sign(x_i)
    off = (np.abs(g[~nz]) - lam).max(initial=0.0)                  # |g_i| <= lam
    return max(on, off)


@pytest.fixture(scope="module")
def lasso_solution(lasso):
    A, y, lam, _ = lasso
    return S.fista(A, y, L1(lam), num_iters=2000).x_hat


# -- CG on the normal equations -----------------------------------------------------------

def test_cg_matches_dense_tikhonov():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((40, 25))
    y = rng.standard_normal(40)
    lam = 0.3
    closed = np.linalg.solve(A.T @ A + lam * np.eye(25), A.T @ y)
    x_hat, hist = S.cg_normal(A, y, lam, num_iters=100)
    # 25 unknowns: CG is exact after <= 25 steps up to round-off (cond ~ 10).
    assert np.linalg.norm(x_hat - closed) <= 1e-10 * np.linalg.norm(closed)
    assert len(hist["objective"]) <= 35          # stopped by its residual test (25 + round-off)
    # the objective from the CG recursion equals the one computed directly
    direct = 0.5 * np.sum((A @ x_hat - y) ** 2) + 0.5 * lam * np.sum(x_hat ** 2)
    assert hist["objective"][-1] == pytest.approx(direct, rel=1e-10)
    # CG minimises F over growing Krylov spaces: F never increases
    assert np.all(np.diff(hist["objective"]) <= 1e-12 * abs(hist["objective"][0]))


def test_cg_with_regularisation_operator_and_complex_data():
    rng = np.random.default_rng(2)
    n = 20
    A = rng.standard_normal((30, n)) + 1j * rng.standard_normal((30, n))
    y = rng.standard_normal(30) + 1j * rng.standard_normal(30)
    Lmat = np.eye(n) - np.eye(n, k=1)                       # first differences
    lam = 0.5
    closed = np.linalg.solve(A.conj().T @ A + lam * Lmat.T @ Lmat, A.conj().T @ y)
    x_hat, _ = S.cg_normal(MatrixOperator(A), y, lam, L=MatrixOperator(Lmat), num_iters=200)
    assert np.linalg.norm(x_hat - closed) <= 1e-9 * np.linalg.norm(closed)


def test_cg_matches_fft_closed_form_on_blur():
    x = load_image("camera", size=32)
    A = Blur((32, 32), "gaussian", kernel_size=7, kernel_sigma=1.2)
    y = add_noise(A(x), 0.01, seed=0)
    closed = A.solve_tikhonov(y, 1e-2)
    x_hat, _ = S.cg_normal(A, y, 1e-2, num_iters=300)
    # cond(AᵀA + lam I) <= (1 + lam)/lam ~ 100: a few hundred steps reach ~1e-8.
    assert np.linalg.norm(x_hat - closed) <= 1e-7 * np.linalg.norm(closed)


# -- Landweber ----------------------------------------------------------------------------

def test_landweber_monotone_and_converges_to_least_squares():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 10))
    y = rng.standard_normal(40)
    ls = np.linalg.lstsq(A, y, rcond=None)[0]
    x_hat, hist = S.landweber(A, y, num_iters=500)
    obj = np.array(hist["objective"])
    # theory: monotone for tau < 2/‖A‖² (round-off slack 1e-12 relative)
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])
    # cond(A) ~ 2.5: the error contracts by ~(1 − 1/cond²) per step, 1e-8 after 500 steps
    assert np.linalg.norm(x_hat - ls) <= 1e-8 * np.linalg.norm(ls)


def test_landweber_larger_step_still_monotone_and_nonneg_projection():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((30, 15))
    y = rng.standard_normal(30)
    L2 = np.linalg.norm(A, 2) ** 2
    _, hist = S.landweber(A, y, tau=1.9 / L2, num_iters=100)
    assert np.all(np.diff(hist["objective"]) <= 1e-12 * hist["objective"][0])
    x_hat, hist = S.landweber(A, y, nonneg=True, num_iters=2000)
    assert x_hat.min() >= 0.0
    # projected gradient: KKT of NNLS, g = Aᵀ(Ax − y) >= 0 and g_i = 0 where x_i > 0
    g = A.T @ (A @ x_hat - y)
    assert g.min() >= -1e-6 and np.abs(g[x_hat > 1e-8]).max() <= 1e-6


@pytest.mark.parametrize("factor", [0.0, -1.0, 2.0, 3.0])
def test_landweber_rejects_bad_step(factor):
    A = np.diag([2.0, 1.0])              # ‖A‖² = 4: tau must lie in (0, 0.5)
    with pytest.raises(ValueError, match="tau"):
        S.Landweber(A, np.ones(2), tau=factor / 4.0)


# -- ISTA, FISTA, ADMM on the lasso --------------------------------------------------------

def test_fista_optimality_condition(lasso, lasso_solution):
    A, y, lam, _ = lasso
    # 2000 FISTA steps: the subgradient condition holds to round-off (measured ~1e-15).
    assert lasso_optimality(A, y, lam, lasso_solution) <= 1e-9
    assert 0 < np.count_nonzero(lasso_solution) < 50


def test_library_l1_prior_gives_the_same_iterates(lasso):
    priors = pytest.importorskip("course_utils.priors")
    A, y, lam, _ = lasso
    a = S.fista(A, y, priors.L1(lam), num_iters=50)
    b = S.fista(A, y, L1(lam), num_iters=50)
    assert np.allclose(a.x_hat, b.x_hat, rtol=0, atol=1e-13)
    assert np.allclose(a.history["objective"], b.history["objective"], rtol=1e-13)


def test_ista_optimality_and_monotone_objective(lasso):
    A, y, lam, _ = lasso
    x_hat, hist = S.ista(A, y, L1(lam), num_iters=1000)
    assert lasso_optimality(A, y, lam, x_hat) <= 1e-9
    obj = np.array(hist["objective"])
    # tau = 1/‖A‖²: F(x_{k+1}) <= F(x_k) (Beck & Teboulle 2009, Lemma 2.3)
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])


def test_ista_fista_admm_agree(lasso, lasso_solution):
    A, y, lam, _ = lasso
    x_ista = S.ista(A, y, L1(lam), num_iters=1000).x_hat
    x_admm = S.admm(A, y, L1(lam), beta=1.0, num_iters=500).x_hat
    scale = np.linalg.norm(lasso_solution)
    # all three reach the unique lasso minimiser; measured differences ~1e-11
    assert np.linalg.norm(x_ista - lasso_solution) <= 1e-8 * scale
    assert np.linalg.norm(x_admm - lasso_solution) <= 1e-8 * scale


def test_fista_faster_than_ista(lasso, lasso_solution):
    A, y, lam, _ = lasso
    f_star = 0.5 * np.sum((A @ lasso_solution - y) ** 2) + lam * np.abs(lasso_solution).sum()
    gap_ista = S.ista(A, y, L1(lam), num_iters=50).history["objective"][-1] - f_star
    gap_fista = S.fista(A, y, L1(lam), num_iters=50).history["objective"][-1] - f_star
    # measured: 3e-4 vs 2e-6; O(1/k) vs O(1/k²) promises a clear gap at k = 50
    assert gap_fista < 0.1 * gap_ista


def test_fista_momentum_matches_beck_teboulle(lasso):
    # Re-implement FISTA literally from the paper and compare the first iterates.
    A, y, lam, _ = lasso
    tau = 1.0 / np.linalg.norm(A, 2) ** 2
    x_prev = x = np.zeros(A.shape[1])
    z, t = x, 1.0
    solver = S.FISTA(A, y, L1(lam), tau)
    for _ in range(20):
        x = soft(z - tau * A.T @ (A @ z - y), tau * lam)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = x + (t - 1) / t_new * (x - x_prev)
        x_prev, t = x, t_new
        solver.step()
        assert np.allclose(solver.x, x, atol=1e-13, rtol=0)


def test_fista_rejects_step_above_one_over_lipschitz(lasso):
    A, y, lam, _ = lasso
    L2 = np.linalg.norm(A, 2) ** 2
    with pytest.raises(ValueError, match="tau"):
        S.FISTA(A, y, L1(lam), tau=1.5 / L2)
    S.ISTA(A, y, L1(lam), tau=1.5 / L2)          # ISTA allows tau < 2/L
    with pytest.raises(ValueError, match="tau"):
        S.ISTA(A, y, L1(lam), tau=2.5 / L2)


def test_complex_lasso_fista_vs_admm():
    rng = np.random.default_rng(5)
    A = (rng.standard_normal((20, 30)) + 1j * rng.standard_normal((20, 30))) / 6
    y = rng.standard_normal(20) + 1j * rng.standard_normal(20)
    lam = 0.3
    xf = S.fista(MatrixOperator(A), y, L1(lam), num_iters=2000).x_hat
    gram = A.conj().T @ A

    def closed(z, beta):
        return np.linalg.solve(gram + beta * np.eye(30), A.conj().T @ y + beta * z)

    xa = S.admm(MatrixOperator(A), y, L1(lam), beta=1.0, data_step=closed,
                num_iters=1000).x_hat
    assert np.iscomplexobj(xf)
    g = A.conj().T @ (A @ xf - y)
    nz = np.abs(xf) > 0
    # complex subgradient: g_i = −lam x_i/|x_i| on the support, |g_i| <= lam off it
    assert np.abs(g[nz] + lam * xf[nz] / np.abs(xf[nz])).max() <= 1e-8
    assert np.abs(g[~nz]).max(initial=0) <= lam + 1e-8
    assert np.linalg.norm(xf - xa) <= 1e-7 * np.linalg.norm(xf)


# -- ADMM / HQS data steps and plug-and-play ----------------------------------------------

def test_admm_data_steps_agree(lasso):
    A, y, lam, _ = lasso
    n = A.shape[1]

    def closed(z, beta):
        return np.linalg.solve(A.T @ A + beta * np.eye(n), A.T @ y + beta * z)

    s_user = S.ADMM(A, y, L1(lam), beta=2.0, data_step=closed)
    s_cg = S.ADMM(A, y, L1(lam), beta=2.0, cg_iters=60)
    assert (s_user.data_step_kind, s_cg.data_step_kind) == ("user", "cg")
    x_user = s_user.run(100).x_hat
    x_cg = s_cg.run(100).x_hat
    # 60 CG steps on a 50-unknown SPD system are exact up to round-off
    assert np.linalg.norm(x_user - x_cg) <= 1e-9 * np.linalg.norm(x_user)


def test_fft_data_step_used_for_circular_blur():
    x = load_image("camera", size=32)
    A = Blur((32, 32), "gaussian", kernel_size=7, kernel_sigma=1.2)
    y = add_noise(A(x), 0.01, seed=0)
    s_fft = S.HQS(A, y, L1(1e-3), beta=0.5)
    s_cg = S.HQS(A, y, L1(1e-3), beta=0.5, cg_iters=200)
    s_cg._data_step, s_cg.data_step_kind = S._make_data_step(MatrixOperator(A.to_matrix()),
                                                             y.ravel(), None, 200)[0], "cg"
    assert s_fft.data_step_kind == "fft"
    z = np.random.default_rng(0).standard_normal((32, 32))
    a = s_fft._data_step(z, 0.5, z)
    b = s_cg._data_step(z.ravel(), 0.5, z.ravel()).reshape(32, 32)
    assert np.linalg.norm(a - b) <= 1e-8 * np.linalg.norm(a)


def test_hqs_fixed_beta_solves_the_penalised_problem(lasso):
    # With a fixed β, HQS minimises ½‖Ax − y‖² + g(v) + β/2‖x − v‖². Eliminating x leaves
    # a lasso in v with B = W A, y' = W y, W = (I + AAᵀ/β)^(-1/2): solve it by FISTA.
    A, y, lam, _ = lasso
    beta = 2.0
    m = A.shape[0]
    evals, evecs = np.linalg.eigh(np.eye(m) + A @ A.T / beta)
    W = evecs @ np.diag(evals ** -0.5) @ evecs.T
    reference = S.fista(W @ A, W @ y, L1(lam), num_iters=3000).x_hat
    solver = S.HQS(A, y, L1(lam), beta=beta)
    penalised = []
    for _ in range(250):
        solver.step()
        xd, v = solver.x_data, solver.x
        penalised.append(0.5 * np.sum((A @ xd - y) ** 2) + lam * np.abs(v).sum()
                         + 0.5 * beta * np.sum((xd - v) ** 2))
    # alternating exact minimisation: the penalised objective never increases
    assert np.all(np.diff(penalised) <= 1e-12 * penalised[0])
    assert np.linalg.norm(solver.x - reference) <= 1e-7 * np.linalg.norm(reference)
    assert solver.history["beta"] == [beta] * 250


def test_beta_schedule_and_admm_rescaling(lasso):
    A, y, lam, _ = lasso
    betas = [0.5, 1.0, 2.0]
    solver = S.ADMM(A, y, L1(lam), beta=betas)
    solver.run(5)
    assert solver.history["beta"] == [0.5, 1.0, 2.0, 2.0, 2.0]
    # ADMM with a changing β (u rescaled) still converges to the lasso minimiser
    x_hat = S.admm(A, y, L1(lam), beta=np.geomspace(0.2, 2.0, 30), num_iters=800).x_hat
    assert lasso_optimality(A, y, lam, x_hat) <= 1e-8


def test_denoiser_as_prox_plug_and_play(lasso):
    # A "denoiser" D(x, s) = soft(x, s²) with DenoiserPrior(lam) gets s² = lam·tau: it is
    # exactly the prox of lam‖·‖₁, so PnP-ADMM and ADMM produce identical iterates.
    A, y, lam, _ = lasso
    calls = []

    def denoiser(x, sigma):
        calls.append(sigma)
        return soft(x, sigma ** 2)

    a = S.admm(A, y, S.DenoiserPrior(denoiser, lam=lam), beta=2.0, num_iters=30)
    b = S.admm(A, y, L1(lam), beta=2.0, num_iters=30)
    # identical up to the round-off of sqrt(lam·tau)²
    assert np.allclose(a.x_hat, b.x_hat, rtol=0, atol=1e-13)
    assert calls[0] == pytest.approx(np.sqrt(lam / 2.0))
    assert np.all(np.isnan(a.history["objective"]))      # no explicit prior value
    # a bare callable is wrapped with lam = 1; a fixed sigma overrides sqrt(lam·tau)
    calls.clear()
    S.hqs(A, y, denoiser, beta=4.0, num_iters=2)
    assert calls == [pytest.approx(0.5)] * 2
    calls.clear()
    S.fista(A, y, S.DenoiserPrior(denoiser, sigma=0.1), num_iters=2)
    assert calls == [0.1, 0.1]


# -- PDHG ---------------------------------------------------------------------------------

class LeastSquares:
    """``g(z) = ½‖z − y‖²`` with only its prox (PDHG uses Moreau's identity)."""

    def __init__(self, y):
        self.y = y

    def value(self, z):
        return 0.5 * float(np.sum((z - self.y) ** 2))

    def prox(self, z, tau):
        return (z + tau * self.y) / (1.0 + tau)


def test_generic_pdhg_solves_the_lasso(lasso, lasso_solution):
    A, y, lam, _ = lasso
    x_hat, hist = S.pdhg(MatrixOperator(A), L1(lam), LeastSquares(y), num_iters=3000)
    assert lasso_optimality(A, y, lam, x_hat) <= 1e-8
    assert np.linalg.norm(x_hat - lasso_solution) <= 1e-7 * np.linalg.norm(lasso_solution)


def tv_denoise_dual_fista(y, lam, num_iters):
    """TV denoising by FISTA on the dual (Beck & Teboulle 2009, FGP), independent of PDHG.

    min_{|q_ij| <= lam} ½‖y − Dᵀq‖², then x = y − Dᵀq; step 1/8 >= 1/‖D‖².
    """
    D = Gradient(y.shape)
    q = z = np.zeros((2, *y.shape))
    t = 1.0
    for _ in range(num_iters):
        q_new = z + D(y - D.adjoint(z)) / 8.0
        q_new = q_new / np.maximum(1.0, np.sqrt((q_new ** 2).sum(0)) / lam)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = q_new + (t - 1) / t_new * (q_new - q)
        q, t = q_new, t_new
    return y - D.adjoint(q)


def test_tv_pdhg_denoising_matches_dual_fista():
    x = load_image("shepp_logan", size=16)
    y = add_noise(x, 0.05, seed=0)
    lam = 0.05
    x_pd = S.tv_reconstruct(Identity((16, 16)), y, lam, num_iters=1500).x_hat
    x_fgp = tv_denoise_dual_fista(y, lam, 3000)
    # both converge to the unique ROF minimiser; measured max difference 1e-4 at these
    # iteration counts (2e-6 with twice as many), 1/100 of the noise level
    assert np.abs(x_pd - x_fgp).max() <= 5e-4


def test_tv_pdhg_deblurring_optimality():
    x = load_image("shepp_logan", size=16)
    A = Blur((16, 16), "gaussian", kernel_size=5, kernel_sigma=1.0)
    y = add_noise(A(x), 0.05, seed=0)
    lam = 0.05
    solver = S.make_tv_pdhg(A, y, lam)
    solver.run(1500)
    D = Gradient((16, 16))
    x_hat = solver.x
    p_data = solver.p[:256].reshape(16, 16)
    q = solver.p[256:].reshape(2, 16, 16)
    # saddle point: p_data = Ax − y, |q| <= lam, Aᵀ(Ax − y) + Dᵀq = 0, q = lam ∇x/|∇x| where
    # ∇x ≠ 0. Measured after 1500 steps: 2e-7, 1 + 2e-16, 3e-7, 9e-5.
    assert np.linalg.norm(p_data - (A(x_hat) - y)) <= 1e-5
    assert np.sqrt((q ** 2).sum(0)).max() <= lam * (1 + 1e-12)
    assert np.linalg.norm(A.adjoint(A(x_hat) - y) + D.adjoint(q)) <= 1e-5
    g = D(x_hat)
    mag = np.sqrt((g ** 2).sum(0))
    edge = mag > 1e-3
    assert edge.sum() > 10
    assert np.abs(q[:, edge] - lam * g[:, edge] / mag[edge]).max() <= 1e-3


def test_tv_pdhg_agrees_with_admm_on_the_tv_prior():
    # Two different splittings of ½‖Ax − y‖² + lam TV(x): PDHG with K = [A; ∇], and ADMM
    # with the FFT data step and the TV prox of course_utils.priors (its own dual solver).
    priors = pytest.importorskip("course_utils.priors")
    x = load_image("shepp_logan", size=16)
    A = Blur((16, 16), "gaussian", kernel_size=5, kernel_sigma=1.0)
    y = add_noise(A(x), 0.05, seed=0)
    lam = 0.05
    x_pd = S.tv_reconstruct(A, y, lam, num_iters=1500).x_hat
    x_admm = S.admm(A, y, priors.TV(lam, num_iters=300, tol=1e-5), beta=0.3,
                    num_iters=20).x_hat
    # measured max difference 7e-5 (the inner TV prox is solved to 1e-5); noise is 0.05
    assert np.abs(x_pd - x_admm).max() <= 1e-3


def test_tv_nonneg_and_step_condition():
    x = load_image("shepp_logan", size=16)
    A = Blur((16, 16), "gaussian", kernel_size=5, kernel_sigma=1.0)
    y = add_noise(A(x), 0.1, seed=1)
    x_hat, _ = S.tv_reconstruct(A, y, 0.02, nonneg=True, num_iters=50)
    assert x_hat.min() >= 0.0
    norm2 = A.norm() ** 2 + Gradient((16, 16)).norm() ** 2
    with pytest.raises(ValueError, match="sigma·tau"):
        S.make_tv_pdhg(A, y, 0.02, tau=1.0, sigma=1.0 / norm2)
    with pytest.raises(ValueError, match="lam"):
        S.make_tv_pdhg(A, y, -0.1)


# -- Richardson-Lucy ----------------------------------------------------------------------

def test_richardson_lucy_identity_and_flux():
    y = load_image("coins", size=16) + 0.01
    x_hat, _ = S.richardson_lucy(Identity((16, 16)), y, num_iters=1)
    assert np.allclose(x_hat, y, rtol=1e-12)          # A = I: one step gives y
    A = Blur((16, 16), "gaussian", kernel_size=5, kernel_sigma=1.0)
    yb = A(y)
    solver = S.RichardsonLucy(A, yb)
    sens = A.adjoint(np.ones((16, 16)))
    for _ in range(5):
        solver.step()
        # Σ (Aᵀ1) x_k = Σ y after every step (exact up to round-off)
        assert np.sum(sens * solver.x) == pytest.approx(yb.sum(), rel=1e-12)
    assert np.all(np.diff(solver.history["objective"]) <= 0)    # EM: KL decreases


def test_richardson_lucy_kkt_on_small_matrix():
    rng = np.random.default_rng(6)
    A = rng.uniform(size=(30, 10))
    x_true = rng.uniform(size=10)
    x_true[:3] = 0.0
    y = rng.poisson(20 * A @ x_true).astype(float) / 20
    x_hat, hist = S.richardson_lucy(A, y, num_iters=5000)
    obj = np.array(hist["objective"])
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])
    # KKT of Poisson ML with x >= 0: grad = Aᵀ1 − Aᵀ(y/Ax) >= 0, x ⊙ grad = 0
    grad = A.T @ np.ones(30) - A.T @ (y / (A @ x_hat))
    assert np.abs(x_hat * grad).max() <= 1e-4
    assert grad.min() >= -1e-3


def test_richardson_lucy_bad_input():
    A = np.array([[1.0, -0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="non-negative"):
        S.RichardsonLucy(A, np.ones(2))
    with pytest.raises(ValueError, match="y must be non-negative"):
        S.RichardsonLucy(np.eye(2), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="x0"):
        S.RichardsonLucy(np.eye(2), np.ones(2), x0=np.array([1.0, -1.0]))


# -- mechanics ----------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda A, y, lam: S.CGNormal(A, y, lam),
    lambda A, y, lam: S.Landweber(A, y),
    lambda A, y, lam: S.ISTA(A, y, L1(lam)),
    lambda A, y, lam: S.FISTA(A, y, L1(lam)),
    lambda A, y, lam: S.ADMM(A, y, L1(lam), beta=1.0),
    lambda A, y, lam: S.HQS(A, y, L1(lam), beta=1.0),
    lambda A, y, lam: S.PDHG(MatrixOperator(A), L1(lam), LeastSquares(y)),
    lambda A, y, lam: S.RichardsonLucy(np.abs(A), np.abs(y)),
], ids=["cg", "landweber", "ista", "fista", "admm", "hqs", "pdhg", "rl"])
def test_step_by_step_equals_run_and_history(lasso, make):
    A, y, lam, x_true = lasso
    s1 = make(A, y, lam)
    s1.x_true = x_true if not isinstance(s1, S.RichardsonLucy) else None
    s1.setup()
    for _ in range(7):
        s1.step()
    s2 = make(A, y, lam)
    s2.x_true = s1.x_true
    s2.setup()
    x_hat, hist = s2.run(7)
    assert np.array_equal(s1.x, x_hat)
    assert s1.iteration == s2.iteration == 7
    assert set(hist) >= {"objective", "rel_change"}
    for key, values in hist.items():
        assert len(values) == 7, key
        assert values == s1.history[key], key
    if s1.x_true is not None:
        assert "psnr" in hist
    # setup() restarts from scratch and reproduces the same iterates
    s1.setup()
    s1.run(7)
    assert np.array_equal(s1.x, x_hat)
    # the result is a copy: later steps do not change it
    s2.step()
    assert len(hist["objective"]) == 7


def test_tol_and_callback_stop_early(lasso):
    A, y, lam, _ = lasso
    x_hat, hist = S.fista(A, y, L1(lam), num_iters=5000, tol=1e-6)
    assert len(hist["rel_change"]) < 5000 and hist["rel_change"][-1] < 1e-6
    assert all(r >= 1e-6 for r in hist["rel_change"][:-1])
    seen = []
    _, hist = S.ista(A, y, L1(lam), num_iters=50, callback=lambda s: seen.append(s.iteration)
                     or s.iteration == 3)
    assert seen == [1, 2, 3] and len(hist["objective"]) == 3


def test_psnr_history_is_the_metric(lasso):
    A, y, lam, x_true = lasso
    from course_utils.metrics import psnr
    solver = S.FISTA(A, y, L1(lam), x_true=x_true)
    solver.run(3)
    assert solver.history["psnr"][-1] == pytest.approx(psnr(x_true, solver.x))


def test_bad_input(lasso):
    A, y, lam, _ = lasso
    with pytest.raises(ValueError, match="lam"):
        S.cg_normal(A, y, -1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        S.fista(A, y[:-1], L1(lam))
    bad = y.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        S.ista(A, bad, L1(lam))
    with pytest.raises(ValueError, match="num_iters"):
        S.fista(A, y, L1(lam), num_iters=0)
    with pytest.raises(TypeError, match="num_iters"):
        S.fista(A, y, L1(lam), num_iters=2.5)
    with pytest.raises(ValueError, match="tau"):
        S.ista(A, y, L1(lam), tau=-0.1)
    with pytest.raises(ValueError, match="beta"):
        S.admm(A, y, L1(lam), beta=0.0)
    with pytest.raises(ValueError, match="beta"):
        S.hqs(A, y, L1(lam), beta=[1.0, -1.0])
    with pytest.raises(TypeError, match="prior"):
        S.fista(A, y, "l1")
    with pytest.raises(TypeError, match="A must be"):
        S.cg_normal([[1.0, 2.0]], y)
    with pytest.raises(ValueError, match="x0 must have shape"):
        S.fista(A, y, L1(lam), x0=np.zeros(3))
    with pytest.raises(ValueError, match="x_true must have shape"):
        S.fista(A, y, L1(lam), x_true=np.zeros(3))
    with pytest.raises(ValueError, match="tol"):
        S.fista(A, y, L1(lam), tol=-1.0)
    with pytest.raises(TypeError, match="callback"):
        S.fista(A, y, L1(lam), callback=3)
    with pytest.raises(TypeError, match="data_step"):
        S.admm(A, y, L1(lam), data_step="closed form")
    with pytest.raises(ValueError, match="data_step returned shape"):
        S.admm(A, y, L1(lam), data_step=lambda z, b: z[:3])
    with pytest.raises(ValueError, match="L must have in_shape"):
        S.cg_normal(A, y, 1.0, L=np.eye(3))
    with pytest.raises(ValueError, match="theta"):
        S.PDHG(MatrixOperator(A), None, LeastSquares(y), theta=2.0)
    with pytest.raises(TypeError, match="g must have"):
        S.PDHG(MatrixOperator(A), None, object())


def test_widget_sized_runs_are_fast():
    # 128x128 deblurring, 50 iterations: the widget budget is 300 ms (COURSE.md §5).
    # Timings on a shared CPU vary; the assertion leaves a 5x margin and the numbers are
    # printed (pytest -s) for the benchmark record.
    x = load_image("camera", size=128)
    A = Blur((128, 128), "gaussian", kernel_size=9, kernel_sigma=1.5)
    y = add_noise(A(x), 0.02, seed=1)
    runs = {
        "fista_l1": lambda: S.fista(A, y, L1(1e-3), num_iters=50, x_true=x),
        "tv_pdhg": lambda: S.tv_reconstruct(A, y, 0.01, num_iters=50, x_true=x),
        "admm_l1_fft": lambda: S.admm(A, y, L1(1e-3), beta=0.1, num_iters=50, x_true=x),
        "cg_tikhonov": lambda: S.cg_normal(A, y, 1e-2, num_iters=50, x_true=x),
    }
    for name, run in runs.items():
        run()                                     # warm-up (FFT plans, imports)
        t0 = time.perf_counter()
        result = run()
        best = time.perf_counter() - t0
        print(f"{name}: {1e3 * best:.0f} ms for 50 iterations at 128x128, "
              f"PSNR {result.history['psnr'][-1]:.2f} dB")
        assert best < 1.5, name
