"""Plug-and-play: closed-form data steps, schedules, HQS/ADMM/PGD drivers, tasks, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import pnp
from course_utils.data import load_image, random_ellipses
from course_utils.metrics import psnr
from course_utils.operators import make_operator
from course_utils.operators.basic import Blur, Downsample, Gradient, Identity, Inpainting
from course_utils.operators.sensing import GaussianSensing
from course_utils.priors import TV
from course_utils.solvers import ADMM, DenoiserPrior, tv_reconstruct

SHAPE = (32, 32)


def _operators():
    return {
        "identity": Identity(SHAPE),
        "blur": Blur(SHAPE, "gaussian", kernel_size=7, kernel_sigma=1.2),
        "motion": Blur(SHAPE, "motion", kernel_size=7, motion_angle=30.0),
        "inpainting": Inpainting(shape=SHAPE, ratio=0.4, seed=3),
        "average2": Downsample(SHAPE, 2, "average"),
        "decimate4": Downsample(SHAPE, 4, "decimate"),
        "blur_average2": Downsample(SHAPE, 2, "average") @ Blur(SHAPE, kernel_sigma=1.0),
        "blur_decimate4": Downsample(SHAPE, 4, "decimate") @ Blur(SHAPE, "motion",
                                                                   kernel_size=5),
        "sensing": GaussianSensing((16, 16), 60, seed=1),
        "gradient": Gradient(SHAPE),
    }


KINDS = {"identity": "identity", "blur": "fft", "motion": "fft", "inpainting": "inpainting",
         "average2": "downsample", "decimate4": "downsample",
         "blur_average2": "fft-downsample", "blur_decimate4": "fft-downsample",
         "sensing": "matrix", "gradient": "cg"}


# -- data steps ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("beta", [1e-3, 0.3, 20.0])
def test_data_step_satisfies_its_optimality_condition(name, beta):
    A = _operators()[name]
    rng = np.random.default_rng(0)
    y = rng.standard_normal(A.out_shape)
    z = rng.standard_normal(A.in_shape)
    step = pnp.make_data_step(A, y, cg_iters=300)
    assert step.kind == KINDS[name]
    x = step(z, beta)
    # (AᵀA + βI) x = Aᵀy + βz: closed forms are exact up to round-off amplified by the
    # condition number of AᵀA + βI (at most ~1/β = 1e3 here), hence 1e-10; CG stops at a
    # relative residual of 1e-10.
    assert step.residual(x, z, beta) < 1e-9
    # the same condition written out, independently of DataStep.residual
    lhs = A.adjoint(A(x)) + beta * x
    rhs = A.adjoint(y) + beta * z
    assert np.linalg.norm(lhs - rhs) <= 1e-9 * np.linalg.norm(rhs)


def test_fft_data_step_matches_dense_normal_equations():
    A = Blur((12, 12), "motion", kernel_size=5, motion_angle=20.0)
    rng = np.random.default_rng(1)
    y, z, beta = rng.standard_normal((12, 12)), rng.standard_normal((12, 12)), 0.05
    M = A.to_matrix().real
    expected = np.linalg.solve(M.T @ M + beta * np.eye(144), M.T @ y.ravel() + beta * z.ravel())
    x = pnp.fft_data_step(A.eigenvalues, y, z, beta)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x.ravel(), expected, rtol=0, atol=1e-10)
    # the real-FFT path inside DataStep agrees with the public function
    np.testing.assert_allclose(pnp.make_data_step(A, y)(z, beta), x, rtol=0, atol=1e-12)


def test_fft_data_step_complex_input_stays_complex():
    A = Blur((8, 8), kernel_size=5)
    rng = np.random.default_rng(2)
    y = rng.standard_normal((8, 8)) + 1j * rng.standard_normal((8, 8))
    x = pnp.fft_data_step(A.eigenvalues, y, np.zeros((8, 8)), 1.0)
    assert np.iscomplexobj(x)
    # real and imaginary parts are solved independently (A is real)
    xr = pnp.fft_data_step(A.eigenvalues, y.real, np.zeros((8, 8)), 1.0)
    np.testing.assert_allclose(x.real, xr, atol=1e-12)


def test_inpainting_data_step_closed_form():
    mask = np.zeros((4, 5), dtype=bool)
    mask[1, 2] = mask[3, 0] = True
    y = np.full((4, 5), 2.0)
    z = np.full((4, 5), -1.0)
    x = pnp.inpainting_data_step(mask, y, z, 0.5)
    # observed: (y + βz)/(1 + β) = (2 − 0.5)/1.5 = 1; missing: z
    assert x[1, 2] == pytest.approx(1.0) and x[3, 0] == pytest.approx(1.0)
    assert np.all(x[~mask] == -1.0)


def test_matrix_data_step_for_wide_sensing_matrix_equals_dense_solve():
    A = GaussianSensing((8, 8), 20, seed=4)
    rng = np.random.default_rng(5)
    y, z, beta = rng.standard_normal(20), rng.standard_normal((8, 8)), 0.2
    M = A.matrix
    expected = np.linalg.solve(M.T @ M + beta * np.eye(64), M.T @ y + beta * z.ravel())
    np.testing.assert_allclose(pnp.make_data_step(A, y)(z, beta).ravel(), expected, atol=1e-10)


def test_gaussian_sensing_operator_contract():
    A = make_operator("gaussian_sensing")  # registered by importing the module
    assert A.adjointness_test() < 1e-12
    assert A.adjointness_test(complex_=True) < 1e-12
    rng = np.random.default_rng(6)
    y = rng.standard_normal(A.out_shape)
    x_ls = A.pinv(y)
    # m < n: the minimum-norm solution fits the data exactly and lies in range(Φᵀ)
    np.testing.assert_allclose(A(x_ls), y, atol=1e-10)
    coef = np.linalg.lstsq(A.matrix.T, x_ls.ravel(), rcond=None)[0]
    np.testing.assert_allclose(A.matrix.T @ coef, x_ls.ravel(), atol=1e-10)
    # E[ΦᵀΦ] = I: ‖Φx‖ ≈ ‖x‖ within a few 1/sqrt(m)
    x = rng.standard_normal(A.in_shape)
    assert abs(np.linalg.norm(A(x)) / np.linalg.norm(x) - 1.0) < 4 / np.sqrt(64)
    with pytest.raises(ValueError, match="num_measurements"):
        GaussianSensing((8, 8), 0)
    with pytest.raises(ValueError, match="shape"):
        GaussianSensing((8, 8, 2), 4)


# -- schedules ------------------------------------------------------------------------------
def test_sigma_schedule_is_geometric():
    s = pnp.sigma_schedule(6, 0.2, 0.01)
    assert s[0] == pytest.approx(0.2) and s[-1] == pytest.approx(0.01)
    ratios = s[1:] / s[:-1]
    np.testing.assert_allclose(ratios, (0.01 / 0.2) ** (1 / 5), rtol=1e-12)
    np.testing.assert_allclose(pnp.sigma_schedule(1, 0.2, 0.01), [0.01])


def test_dpir_schedule_links_beta_and_sigma():
    sigmas, betas = pnp.dpir_schedule(8, 0.02, lam=0.23)
    assert sigmas[0] == pytest.approx(49 / 255) and sigmas[-1] == pytest.approx(0.02)
    # σ_k² = lam σ_n² / β_k: the denoiser's noise level of the penalised problem
    np.testing.assert_allclose(sigmas ** 2 * betas, 0.23 * 0.02 ** 2, rtol=1e-12)
    assert np.all(np.diff(betas) > 0)  # β grows as σ decays
    # a noise-free problem uses the floor, so the weights stay finite and positive
    sigmas0, betas0 = pnp.dpir_schedule(4, 0.0)
    assert sigmas0[-1] == pytest.approx(pnp.SIGMA_FLOOR) and np.all(betas0 > 0)


# -- the drivers -----------------------------------------------------------------------------
@pytest.mark.parametrize("driver", [pnp.pnp_hqs, pnp.pnp_admm])
@pytest.mark.parametrize("name", ["inpainting", "average2", "blur_decimate4"])
def test_identity_denoiser_reduces_to_least_squares(driver, name):
    A = _operators()[name]
    y = np.random.default_rng(7).standard_normal(A.out_shape)
    # From v0 = 0 the iteration x ← (AᵀA + βI)⁻¹(Aᵀy + βx) is the proximal-point method
    # on ½‖Ax − y‖²: it stays in range(Aᵀ) and converges to the minimum-norm least-squares
    # solution; on the range each step multiplies the error by β/(s² + β) ≤ 0.01/0.0725
    # (s² ≥ 0.0625 for these operators), so 40 iterations reach round-off.
    x_hat, hist = driver(A, y, "identity", sigma_n=0.01, beta=0.01, num_iters=40,
                         x0=np.zeros(A.in_shape))
    if isinstance(A, Downsample) or isinstance(A, Inpainting):
        x_ls = A.pinv(y)
    else:
        M = A.to_matrix()
        x_ls = (np.linalg.pinv(M) @ y.ravel()).reshape(A.in_shape)
    np.testing.assert_allclose(x_hat, x_ls, atol=1e-9 * np.abs(x_ls).max())
    assert len(hist["beta"]) == 40 and hist["beta"][0] == 0.01


class _WarmTV:
    """The exact TV proximal map, warm-started from the previous call's dual field."""

    def __init__(self, lam):
        self.tv, self.p = TV(lam, num_iters=5000, tol=1e-7), None

    def value(self, x):
        return self.tv.value(x)

    def prox(self, x, tau):
        out = self.tv.prox_with_dual(x, tau, p0=self.p)
        self.p = out.p
        return out.x_hat


def test_pnp_admm_with_tv_prox_equals_tv_regularised_least_squares():
    x = random_ellipses((16, 16), num_ellipses=4, seed=1)
    A = Blur((16, 16), "gaussian", kernel_size=5, kernel_sigma=1.0)
    y = A(x) + 0.02 * np.random.default_rng(8).standard_normal((16, 16))
    lam = 0.02
    prior = _WarmTV(lam)
    x_admm, hist = pnp.pnp_admm(A, y, prior, sigma_n=0.02, beta=0.3, num_iters=60,
                                x0=np.zeros((16, 16)))
    x_pdhg, _ = tv_reconstruct(A, y, lam, num_iters=2000)

    def objective(v):
        return 0.5 * np.sum((A(v) - y) ** 2) + prior.value(v)

    # Two different algorithms for min ½‖Ax − y‖² + lam TV(x) reach the same minimiser.
    # Measured: objectives agree to 5e-8 and images to 1.4e-5 (relative) after 60 ADMM
    # and 2000 PDHG iterations; the bounds leave a factor of ~10.
    assert abs(objective(x_admm) - objective(x_pdhg)) <= 1e-6 * objective(x_pdhg)
    assert np.linalg.norm(x_admm - x_pdhg) <= 2e-4 * np.linalg.norm(x_pdhg)
    assert hist["primal_residual"][-1] < 2e-5  # the two copies x and v agree (1.7e-6)


def test_admm_iteration_matches_the_solver():
    A = Blur((16, 16))
    y = np.random.default_rng(9).standard_normal((16, 16))
    step = pnp.make_data_step(A, y)

    def shrink(x, sigma):  # a linear "denoiser", so every step is checkable
        return x / (1.0 + sigma)

    beta, sigma = 0.3, 0.5
    solver = ADMM(A, y, DenoiserPrior(shrink, sigma=sigma), beta,
                  data_step=step)
    v = u = np.zeros((16, 16))
    for _ in range(5):
        x, v, u = pnp.admm_iteration(step, shrink, v, u, beta, sigma)
        solver.step()
        np.testing.assert_allclose(v, solver.x, atol=1e-12)
        np.testing.assert_allclose(x, solver.x_data, atol=1e-12)
    # the dual variable is the running sum of the residuals x − v
    np.testing.assert_allclose(u, solver._u, atol=1e-12)


def test_history_records_psnr_sigma_beta_and_seconds():
    x = random_ellipses((32, 32), seed=2)
    task = pnp.make_task("deblur", x, sigma_n=0.02)
    seen = []
    x_hat, hist = pnp.pnp_hqs(task.A, task.y, "identity", sigma_n=0.02, num_iters=5,
                              x_true=x, callback=lambda s: seen.append(s.iteration))
    assert seen == [1, 2, 3, 4, 5]
    for key in ("psnr", "sigma", "beta", "seconds", "primal_residual", "rel_change"):
        assert len(hist[key]) == 5, key
    np.testing.assert_allclose(hist["sigma"], pnp.dpir_schedule(5, 0.02)[0])
    np.testing.assert_allclose(hist["beta"], pnp.dpir_schedule(5, 0.02)[1])
    assert hist["psnr"][-1] == pytest.approx(psnr(x, x_hat))
    assert np.all(np.diff(hist["seconds"]) >= 0)
    # callback returning True stops early
    _, hist2 = pnp.pnp_admm(task.A, task.y, "identity", sigma_n=0.02, num_iters=5,
                            callback=lambda s: s.iteration >= 2)
    assert len(hist2["beta"]) == 2


def test_denoiser_receives_the_scheduled_noise_levels():
    x = random_ellipses((16, 16), seed=3)
    task = pnp.make_task("inpainting", x, sigma_n=0.05)
    levels = []

    def spy(v, sigma):
        levels.append(sigma)
        return v

    pnp.pnp_hqs(task.A, task.y, spy, sigma_n=0.05, num_iters=6)
    np.testing.assert_allclose(levels, pnp.dpir_schedule(6, 0.05)[0], rtol=1e-12)
    levels.clear()
    pnp.pnp_hqs(task.A, task.y, spy, sigma_n=0.05, num_iters=3, beta=[0.1, 0.4], lam=0.5)
    # σ_k = sqrt(lam σ_n² / β_k); the last β is kept
    np.testing.assert_allclose(levels, np.sqrt(0.5 * 0.05 ** 2 / np.array([0.1, 0.4, 0.4])))
    levels.clear()
    pnp.deep_proximal_gradient(task.A, task.y, spy, sigma_n=0.05, num_iters=4)
    np.testing.assert_allclose(levels, pnp.sigma_schedule(4, 49 / 255, 0.05))


def test_deep_proximal_gradient_with_identity_is_landweber():
    A = Inpainting(shape=(16, 16), ratio=0.5, seed=1)
    y = A(np.random.default_rng(10).random((16, 16)))
    # τ = 1/‖A‖² = 1 and D = identity: x ← x − Aᵀ(Ax − y) puts y on the observed pixels
    # and keeps x0 elsewhere after a single step.
    x0 = np.full((16, 16), 0.25)
    x_hat, hist = pnp.deep_proximal_gradient(A, y, "identity", sigma_n=0.0, num_iters=1,
                                             x0=x0)
    np.testing.assert_allclose(x_hat, np.where(A.mask, y, 0.25), atol=1e-15)
    # with the TV prox it is ISTA on ½‖Ax − y‖² + TV: the objective decreases
    B = Blur((16, 16))
    xb = random_ellipses((16, 16), seed=4)
    yb = B(xb)
    prior = TV(0.01, num_iters=500, tol=1e-8)
    _, h = pnp.deep_proximal_gradient(B, yb, prior, sigma_n=0.0, num_iters=15)
    assert np.all(np.diff(h["objective"]) <= 1e-12)


@pytest.mark.parametrize("task_name", pnp.TASK_NAMES)
def test_tv_pnp_improves_on_the_observation(task_name):
    x = load_image("camera", 64)
    task = pnp.make_task(task_name, x, sigma_n=0.02, seed=1)
    x_hat, hist = pnp.pnp_hqs(task.A, task.y, "tv", sigma_n=0.02, num_iters=8, x_true=x)
    gain = psnr(x, np.clip(x_hat, 0, 1)) - psnr(x, np.clip(task.observation, 0, 1))
    # Measured gains are about +1.5 dB (deblur), +15 dB (inpainting, holes filled),
    # +2 dB (x2) and +0.8 dB (x4); 0.5 dB leaves room for platform differences.
    assert gain > 0.5, f"{task_name}: TV-PnP gains only {gain:.2f} dB"
    assert hist["psnr"][-1] > hist["psnr"][0] - 1e-9 or task_name == "inpainting"


def test_tv_pnp_admm_and_pgd_deblur():
    x = load_image("camera", 64)
    task = pnp.make_task("deblur", x, sigma_n=0.02)
    base = psnr(x, task.observation)
    x_admm, _ = pnp.pnp_admm(task.A, task.y, "tv", sigma_n=0.02, num_iters=8)
    x_pgd, _ = pnp.deep_proximal_gradient(task.A, task.y, "tv", sigma_n=0.02, num_iters=20)
    # both beat the blurred, noisy observation (measured: +1.6 and +1.4 dB)
    assert psnr(x, x_admm) > base + 0.5
    assert psnr(x, x_pgd) > base + 0.5


# -- tasks and table ---------------------------------------------------------------------------
def test_make_task_shapes_and_observation():
    x = random_ellipses((32, 32), seed=5)
    for name, out_shape in (("deblur", (32, 32)), ("inpainting", (32, 32)), ("sr2", (16, 16)),
                            ("sr4", (8, 8))):
        task = pnp.make_task(name, x, sigma_n=0.0, seed=2)
        assert task.y.shape == out_shape and task.observation.shape == (32, 32)
        np.testing.assert_allclose(task.A(x), task.y, atol=1e-12)  # no noise: y = A x
    task = pnp.make_task("inpainting", x, sigma_n=0.1, seed=2, ratio=0.3)
    assert np.all(task.y[~task.A.mask] == 0)
    assert abs(task.A.mask.mean() - 0.3) < 0.05


def test_initial_estimate_fills_holes_and_replicates_pixels():
    x = random_ellipses((32, 32), seed=6)
    task = pnp.make_task("inpainting", x, sigma_n=0.0, seed=3, ratio=0.3)
    x0 = pnp.initial_estimate(task.A, task.y)
    np.testing.assert_array_equal(x0[task.A.mask], task.y[task.A.mask])
    assert psnr(x, x0) > psnr(x, task.y) + 5  # the filled holes are close to the truth
    A = Downsample((32, 32), 4, "average") @ Blur((32, 32))
    y = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(pnp.initial_estimate(A, y)[4:8, 0:4], np.full((4, 4), 8.0))
    np.testing.assert_array_equal(pnp.initial_estimate(Gradient((8, 8)),
                                                       np.zeros((2, 8, 8))), np.zeros((8, 8)))


def test_run_benchmark_table_layout():
    x = random_ellipses((32, 32), seed=7)
    table = pnp.run_benchmark_table(x, denoisers=("identity", "tv"), tasks=("deblur", "sr2"),
                                    num_iters=3, sigma_n=0.02)
    assert table["columns"] == ["method", "deblur PSNR", "deblur SSIM", "deblur s",
                                "sr2 PSNR", "sr2 SSIM", "sr2 s"]
    assert [r[0] for r in table["rows"]] == ["observation", "PnP-HQS identity", "PnP-HQS tv"]
    assert all(len(r) == 7 for r in table["rows"])
    assert table["rows"][2][1] > table["rows"][0][1]  # TV beats the observation on deblur


# -- bad input ----------------------------------------------------------------------------------
def test_bad_input_messages():
    x = random_ellipses((16, 16), seed=8)
    task = pnp.make_task("deblur", x)
    A, y = task.A, task.y
    step = pnp.make_data_step(A, y)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="beta"):
            step(np.zeros((16, 16)), bad)
        with pytest.raises(ValueError, match="beta"):
            pnp.pnp_hqs(A, y, "tv", sigma_n=0.01, beta=bad)
        with pytest.raises(ValueError, match="beta"):
            pnp.fft_data_step(A.eigenvalues, y, y, bad)
    with pytest.raises(ValueError, match="beta"):
        pnp.pnp_admm(A, y, "tv", sigma_n=0.01, beta=[0.1, 0.0])
    with pytest.raises(TypeError, match="beta"):
        pnp.inpainting_data_step(np.ones((16, 16)), y, y, "big")
    with pytest.raises(ValueError, match="Unknown denoiser"):
        pnp.pnp_hqs(A, y, "wavelets", sigma_n=0.01)
    with pytest.raises(TypeError, match="denoiser"):
        pnp.pnp_hqs(A, y, 3, sigma_n=0.01)
    with pytest.raises(ValueError, match="mask must have shape|y must have shape"):
        pnp.inpainting_data_step(np.ones((8, 8)), y, y, 1.0)
    with pytest.raises(ValueError, match="mask"):
        pnp.inpainting_data_step(np.full((16, 16), 0.5), y, y, 1.0)
    with pytest.raises(ValueError, match="z must have shape"):
        step(np.zeros((8, 8)), 1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        pnp.make_data_step(A, np.zeros((8, 8)))
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        pnp.make_data_step(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="sigma_n"):
        pnp.pnp_hqs(A, y, "tv", sigma_n=-0.1)
    with pytest.raises(TypeError, match="sigma_n"):
        pnp.pnp_hqs(A, y, "tv", sigma_n=None)
    with pytest.raises(ValueError, match="num_iters"):
        pnp.pnp_admm(A, y, "tv", sigma_n=0.01, num_iters=0)
    with pytest.raises(ValueError, match="x0 must have shape"):
        pnp.pnp_hqs(A, y, "tv", sigma_n=0.01, x0=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="Unknown method"):
        pnp.pnp(A, y, "tv", "fista", sigma_n=0.01)
    with pytest.raises(ValueError, match="Unknown task"):
        pnp.make_task("denoise", x)
    with pytest.raises(ValueError, match="divisible by 4"):
        pnp.make_task("sr4", np.zeros((18, 18)))
    with pytest.raises(ValueError, match=r"x must have values in \[0.0, 1.0\]"):
        pnp.make_task("deblur", 2 * x + 1)
    with pytest.raises(ValueError, match="tau"):
        pnp.deep_proximal_gradient(A, y, "tv", sigma_n=0.01, tau=5.0)
    with pytest.raises(ValueError, match="sigma"):
        pnp.deep_proximal_gradient(A, y, "tv", sigma_n=0.01, sigma=[-0.1])
    with pytest.raises(ValueError, match="sigma_start"):
        pnp.sigma_schedule(4, 0.0, 0.1)
    with pytest.raises(TypeError, match="data_step must be callable"):
        pnp.admm_iteration(None, lambda v, s: v, y, y, 1.0, 0.1)
    with pytest.raises(ValueError, match="u must have shape"):
        pnp.admm_iteration(step, lambda v, s: v, y, np.zeros(3), 1.0, 0.1)
    with pytest.raises(TypeError, match="denoisers and tasks"):
        pnp.run_benchmark_table(x, denoisers="tv")
    with pytest.raises(TypeError, match="callback"):
        pnp.pnp_hqs(A, y, "identity", sigma_n=0.01, callback=3)


def test_schedule_comparison_matches_pnp_hqs_and_is_cached():
    x = load_image("camera", 32)
    out = pnp.schedule_comparison(x, "deblur", levels=(20, 5), sigma_n=0.02, num_iters=3,
                                  denoiser="tv")
    task = pnp.make_task("deblur", x, sigma_n=0.02, seed=0)
    beta = pnp.DPIR_LAM * 0.02 ** 2 / (5 / 255) ** 2
    _, hist = pnp.pnp_hqs(task.A, task.y, "tv", sigma_n=0.02, beta=beta, num_iters=3, x_true=x)
    np.testing.assert_allclose(out["constant"][5.0], hist["psnr"])
    assert out["betas"][5.0] == pytest.approx(beta)
    _, hist = pnp.pnp_hqs(task.A, task.y, "tv", sigma_n=0.02, num_iters=3, x_true=x)
    np.testing.assert_allclose(out["dpir"], hist["psnr"])
    again = pnp.schedule_comparison(x.copy(), "deblur", levels=(20, 5), sigma_n=0.02,
                                    num_iters=3, denoiser="tv")
    assert again is out
    with pytest.raises(ValueError, match="task"):
        pnp.schedule_comparison(x, "denoise")
    with pytest.raises(ValueError, match="levels"):
        pnp.schedule_comparison(x, levels=())
