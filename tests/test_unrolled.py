"""Sparse coding with a known dictionary: ISTA, FISTA, ReLU-ISTA, LASSO solutions, matching."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import unrolled as u
from course_utils.operators import MatrixOperator, make_operator
from course_utils.operators.sparse_coding import Dictionary, gaussian_dictionary
from course_utils.priors import L1
from course_utils.solvers import FISTA, ISTA

LAM = 0.05


@pytest.fixture(scope="module")
def small():
    """A small problem: D (20, 40), 30 signals with 4-sparse codes."""
    return u.make_sparse_coding_problem(30, m=20, n=40, k=4, sigma=0.01, seed=5,
                                        dictionary_seed=2)


@pytest.fixture(scope="module")
def small_star(small):
    return u.lasso_solution(small.D, small.y, LAM, tol=1e-12)


# -- data ----------------------------------------------------------------------------------

def test_dictionary_has_unit_atoms_and_is_seeded():
    D = gaussian_dictionary(16, 32, seed=3)
    assert D.shape == (16, 32)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-12)
    np.testing.assert_array_equal(D, gaussian_dictionary(16, 32, seed=3))
    assert not np.allclose(D, gaussian_dictionary(16, 32, seed=4))


def test_dictionary_operator_dot_test_and_exact_norm():
    op = make_operator("dictionary", m=12, n=24, seed=1)
    assert isinstance(op, Dictionary) and op.in_shape == (24,) and op.out_shape == (12,)
    assert op.adjointness_test() < 1e-12  # float64 round-off
    # the exact norm agrees with the generic power iteration to its tolerance (1e-7)
    assert abs(op.norm() - MatrixOperator(op.matrix).norm(num_iters=2000, tol=1e-12)) < 1e-6
    with pytest.raises(ValueError, match="zero column"):
        Dictionary(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="matrix must be 2-D"):
        Dictionary(np.ones(3))


def test_sparse_codes_have_exactly_k_nonzeros():
    x = u.sparse_codes(50, 30, 5, seed=7)
    assert x.shape == (50, 30)
    np.testing.assert_array_equal(np.count_nonzero(x, axis=1), 5)
    np.testing.assert_array_equal(x, u.sparse_codes(50, 30, 5, seed=7))
    assert np.count_nonzero(u.sparse_codes(3, 10, 0)) == 0


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(num_samples=0, n=5, k=1), ValueError, "num_samples must be >= 1"),
    (dict(num_samples=2, n=5, k=6), ValueError, "k must be <= 5"),
    (dict(num_samples=2, n=5, k=1.5), TypeError, "k must be an integer"),
])
def test_sparse_codes_rejects_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        u.sparse_codes(**kwargs)


def test_problem_model_and_splits():
    p = u.make_sparse_coding_problem(10, m=8, n=16, k=2, sigma=0.0, seed=1)
    np.testing.assert_allclose(p.y, p.x @ p.D.T, atol=1e-14)  # sigma = 0: exact model
    noisy = u.make_sparse_coding_problem(2000, m=8, n=16, k=2, sigma=0.1, seed=1)
    # the noise has the requested standard deviation (16000 samples: ±2 %)
    assert abs(np.std(noisy.y - noisy.x @ noisy.D.T) - 0.1) < 0.002
    train, test = u.lista_problem("train", 5), u.lista_problem("test", 5)
    np.testing.assert_array_equal(train.D, test.D)
    assert not np.allclose(train.x, test.x)
    s = u.LISTA_SETTINGS
    assert train.D.shape == (s["m"], s["n"]) and train.k == s["k"]
    with pytest.raises(ValueError, match="Unknown split"):
        u.lista_problem("holdout")
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        u.make_sparse_coding_problem(3, sigma=-1.0)


# -- one step, one layer ---------------------------------------------------------------------

def test_ista_step_formula_and_fixed_point(small, small_star):
    D, y = small.D, small.y[0]
    x = np.random.default_rng(0).standard_normal(40)
    tau = 0.1
    v = x - tau * D.T @ (D @ x - y)
    expected = np.sign(v) * np.maximum(np.abs(v) - tau * LAM, 0)
    np.testing.assert_allclose(u.ista_step(D, y, x, LAM, tau), expected, atol=1e-14)
    # the LASSO solution is a fixed point of every ISTA step (tolerance of lasso_solution)
    np.testing.assert_allclose(u.ista_step(D, small.y, small_star, LAM, 0.1), small_star,
                               atol=1e-9)


def test_lista_layer_with_ista_weights_is_an_ista_step(small):
    D, y = small.D, small.y[:4]
    tau = 1.0 / np.linalg.norm(D, 2) ** 2
    z = np.random.default_rng(1).standard_normal((4, 40))
    out = u.lista_layer(y, z, tau * D.T, np.eye(40) - tau * D.T @ D, tau * LAM)
    np.testing.assert_allclose(out, u.ista_step(D, y, z, LAM, tau), atol=1e-13)
    theta = np.linspace(0.0, 0.1, 40)  # one threshold per atom
    v = y[0] @ D + z[0]
    np.testing.assert_allclose(u.lista_layer(y[0], z[0], D.T, np.eye(40), theta),
                               np.sign(v) * np.maximum(np.abs(v) - theta, 0), atol=1e-14)


@pytest.mark.parametrize("args, err, match", [
    ((np.ones(4), np.ones(3), np.ones((3, 5)), np.eye(3), 0.1), ValueError, "y must have shape"),
    ((np.ones(5), np.ones(3), np.ones((3, 5)), np.eye(4), 0.1), ValueError, "S must have shape"),
    ((np.ones(5), np.ones(3), np.ones((3, 5)), np.eye(3), -0.1), ValueError, "theta must be >= 0"),
    ((np.ones(5), np.ones(3), np.ones((3, 5)), np.eye(3), np.ones(2)), ValueError,
     "theta must be a number or have shape"),
    (("y", np.ones(3), np.ones((3, 5)), np.eye(3), 0.1), TypeError, "y must be a numeric"),
])
def test_lista_layer_rejects_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        u.lista_layer(*args)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(x=np.ones(7)), ValueError, "x shape"),
    (dict(lam=-1.0), ValueError, "lam must be >= 0"),
    (dict(tau=0.0), ValueError, "tau must be > 0"),
    (dict(D=np.ones(4)), ValueError, "D must be 2-D"),
])
def test_ista_step_rejects_bad_input(kwargs, err, match):
    args = dict(D=np.ones((4, 6)), y=np.ones(4), x=np.ones(6), lam=0.1, tau=0.1)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        u.ista_step(**args)


# -- solvers -------------------------------------------------------------------------------------

def test_lasso_solution_satisfies_optimality(small, small_star):
    g = (small_star @ small.D.T - small.y) @ small.D
    on = small_star != 0
    # 0 ∈ Dᵀ(Dx − y) + lam ∂‖x‖₁: equality on the support, |g| <= lam off it (tol 1e-9)
    assert np.max(np.abs(g[on] + LAM * np.sign(small_star[on]))) < 1e-9
    assert np.max(np.abs(g[~on])) <= LAM + 1e-9
    assert on.any() and (~on).any()


def test_batched_ista_agrees_with_the_generic_solver(small):
    D, y = small.D, small.y
    tau = 0.9 / np.linalg.norm(D, 2) ** 2  # the same step for both (no power iteration)
    res = u.ista_sparse_coding(D, y, LAM, num_iters=40, tau=tau)
    for b in (0, 7):
        ref = ISTA(D, y[b], L1(LAM), tau).run(40).x_hat
        np.testing.assert_allclose(res.x_hat[b], ref, atol=1e-12)
    fres = u.fista_sparse_coding(D, y[:3], LAM, num_iters=40, tau=tau)
    np.testing.assert_allclose(fres.x_hat[2], FISTA(D, y[2], L1(LAM), tau).run(40).x_hat,
                               atol=1e-12)


def test_ista_objective_decreases_and_fista_is_faster(small, small_star):
    ista = u.ista_sparse_coding(small.D, small.y, LAM, num_iters=100, x_ref=small_star)
    fista = u.fista_sparse_coding(small.D, small.y, LAM, num_iters=100, x_ref=small_star)
    obj = np.array(ista.history["objective"])
    assert np.all(np.diff(obj) <= 1e-12)  # monotone for tau = 1/‖D‖²
    assert set(ista.history) == {"objective", "rel_change", "nmse"}
    assert len(ista.history["nmse"]) == 100
    # FISTA's O(1/k²) beats ISTA's rate on this problem by a wide margin after 100 steps
    assert fista.history["nmse"][-1] < 0.1 * ista.history["nmse"][-1]
    assert fista.history["nmse"][-1] < 1e-4


def test_operator_path_agrees_with_matrix_path():
    A = make_operator("blur", shape=(8, 8), kernel_size=3, kernel_sigma=1.0)
    H = A.to_matrix()
    x = np.zeros((8, 8))
    x[2, 3], x[5, 6] = 1.0, 0.5
    y = A(x)
    a = u.relu_ista(A, y, 0.01, num_iters=30)
    b = u.relu_ista(H, y.ravel(), 0.01, num_iters=30)
    np.testing.assert_allclose(a.x_hat.ravel(), b.x_hat, atol=1e-12)
    np.testing.assert_allclose(a.history["objective"], b.history["objective"], rtol=1e-10)


def test_relu_ista_step_and_non_negative_optimality(small):
    H = small.D
    y = np.abs(small.x[:5]) @ H.T  # non-negative codes, as for light-field volumes
    one = u.relu_ista(H, y, LAM, num_iters=1, tau=0.1)
    np.testing.assert_allclose(one.x_hat, np.maximum(0.1 * (y @ H) - 0.1 * LAM, 0), atol=1e-14)
    x = u.lasso_solution(H, y, LAM, nonneg=True, tol=1e-12)
    assert np.all(x >= 0) and (x > 0).any() and (x == 0).any()
    g = (x @ H.T - y) @ H
    # KKT of min_{x>=0} ½‖y − Hx‖² + lam‖x‖₁: g = −lam on the support, g >= −lam off it
    assert np.max(np.abs(g[x > 0] + LAM)) < 1e-9
    assert np.min(g[x == 0]) >= -LAM - 1e-9
    res = u.relu_ista(H, y, LAM, num_iters=2000)
    assert np.all(res.x_hat >= 0)
    # ReLU-ISTA converges (linearly) to the same point: 2000 steps reach 1e-8
    np.testing.assert_allclose(res.x_hat, x, atol=1e-8)


def test_iterations_to_match_is_the_first_crossing(small, small_star):
    target = 1e-3
    k = u.iterations_to_match(target, small.D, small.y, LAM, small_star)
    curve = u.ista_sparse_coding(small.D, small.y, LAM, num_iters=k,
                                 x_ref=small_star).history["nmse"]
    assert curve[k - 1] <= target < curve[k - 2]
    k_fista = u.iterations_to_match(target, small.D, small.y, LAM, small_star, method="fista")
    assert k_fista < k
    assert u.iterations_to_match(1e-30, small.D, small.y, LAM, small_star, max_iters=5) is None


def test_nmse_values():
    ref = np.array([[1.0, 0.0], [0.0, 2.0]])
    est = np.array([[0.0, 0.0], [0.0, 1.0]])
    assert u.nmse(est, ref) == pytest.approx(0.5 * (1.0 + 0.25))
    assert u.nmse_db(ref, ref) == -np.inf
    assert u.nmse_db(est, ref) == pytest.approx(10 * np.log10(0.625))
    with pytest.raises(ValueError, match="x_hat must have shape"):
        u.nmse(np.ones(3), np.ones(2))


@pytest.mark.parametrize("fn", [u.ista_sparse_coding, u.fista_sparse_coding, u.relu_ista])
@pytest.mark.parametrize("kwargs, err, match", [
    (dict(lam=-0.1), ValueError, "lam must be >= 0"),
    (dict(num_iters=0), ValueError, "num_iters must be >= 1"),
    (dict(tau=10.0), ValueError, "tau must satisfy"),
    (dict(y=np.ones(5)), ValueError, "y must have shape"),
    (dict(D="D"), TypeError, "D must be a 2-D ndarray or a LinearOperator"),
    (dict(x0=np.ones(3)), ValueError, "x0 must have shape"),
    (dict(x_ref=np.ones((2, 3))), ValueError, "x_ref must have shape"),
])
def test_solvers_reject_bad_input(fn, kwargs, err, match):
    rng = np.random.default_rng(0)
    args = dict(D=rng.standard_normal((4, 6)), y=rng.standard_normal(4), lam=0.1)
    args.update(kwargs)
    operator = args.pop("D")
    if fn is u.relu_ista:
        match = match.replace("D must", "H must")
    with pytest.raises(err, match=match):
        fn(operator, **args)


def test_fista_step_bound_is_stricter_than_ista(small):
    lip = np.linalg.norm(small.D, 2) ** 2
    u.ista_sparse_coding(small.D, small.y[0], LAM, num_iters=2, tau=1.5 / lip)
    with pytest.raises(ValueError, match="tau must satisfy"):
        u.fista_sparse_coding(small.D, small.y[0], LAM, num_iters=2, tau=1.5 / lip)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(err_target=0.0), ValueError, "err_target must be > 0"),
    (dict(method="admm"), ValueError, "Unknown method"),
    (dict(x_ref=None), TypeError, "x_ref must be an array"),
])
def test_iterations_to_match_rejects_bad_input(small, kwargs, err, match):
    args = dict(err_target=0.1, D=small.D, y=small.y, lam=LAM, x_ref=small.x)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        u.iterations_to_match(**args)


def test_lasso_solution_rejects_bad_input(small):
    with pytest.raises(TypeError, match="2-D ndarray"):
        u.lasso_solution(make_operator("dictionary"), np.ones(64), LAM)
    with pytest.raises(ValueError, match="tol must be > 0"):
        u.lasso_solution(small.D, small.y, LAM, tol=0.0)
    with pytest.raises(TypeError, match="nonneg must be a bool"):
        u.lasso_solution(small.D, small.y, LAM, nonneg=1)
