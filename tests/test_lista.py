"""Unrolled networks: LISTA (= ISTA at initialisation, learns), torch operators, the
gradient-descent network (= Landweber untrained), Haar shrinkage and the unrolled
proximal gradient, the shipped weights and their quality target."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils import unrolled as u  # noqa: E402
from course_utils import weights  # noqa: E402
from course_utils.nets.unrolled import (GradientDescentNet, HaarShrinkage, LISTA,  # noqa: E402
                                        TorchOperator, UnrolledProxGrad, as_torch_operator,
                                        gdnet_weights_name, lista_weights_name, load_gdnet,
                                        load_lista, make_deblurring_operator)
from course_utils.operators import make_operator  # noqa: E402
from course_utils.solvers import Landweber  # noqa: E402

LAM = 0.05


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny products: one torch thread is fastest (and much faster on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    return u.make_sparse_coding_problem(40, m=20, n=40, k=4, sigma=0.01, seed=3,
                                        dictionary_seed=1)


# -- LISTA -----------------------------------------------------------------------------------

@pytest.mark.parametrize("nonneg", [False, True])
def test_lista_initialised_from_the_dictionary_is_ista(small, nonneg):
    net = LISTA.from_dictionary(small.D, LAM, 7, nonneg=nonneg, dtype=torch.float64)
    z = net(torch.from_numpy(small.y)).detach().numpy()
    solver = u.relu_ista if nonneg else u.ista_sparse_coding
    ref = solver(small.D, small.y, LAM, num_iters=7).x_hat
    np.testing.assert_allclose(z, ref, atol=1e-13)  # float64: identical up to round-off


def test_lista_layers_match_the_numpy_layer(small):
    net = LISTA.from_dictionary(small.D, LAM, 4, per_atom=True)
    with torch.no_grad():
        net.theta.uniform_(0.0, 0.05)  # distinct thresholds per layer and atom
        net.S.add_(0.01 * torch.randn(40, 40, generator=torch.Generator().manual_seed(0)))
    p = net.numpy_params()
    assert p["theta"].shape == (4, 40)
    outs = net(torch.from_numpy(small.y).float(), return_all=True)
    assert len(outs) == 4
    z = np.zeros((40, 40))
    for t in range(4):
        z = u.lista_layer(small.y, z, p["W_e"], p["S"], p["theta"][t])
        # float32 network vs float64 numpy: agreement to single precision
        np.testing.assert_allclose(outs[t].detach().numpy(), z, atol=1e-5)


def test_lista_learns_beyond_ista():
    from course_utils.train.lista import train_lista

    problem = u.lista_problem("train", 150)
    z_star = u.lasso_solution(problem.D, problem.y, u.LISTA_SETTINGS["lam"], tol=1e-6)
    before = LISTA.from_dictionary(problem.D, u.LISTA_SETTINGS["lam"], 4)
    net = train_lista(4, problem.y, z_star, iterations=60, batch_size=64, lr=3e-3, seed=0,
                      verbose=False)
    with torch.no_grad():
        y = torch.from_numpy(problem.y).float()
        err_before = u.nmse(before(y).double().numpy(), z_star)
        err_after = u.nmse(net(y).double().numpy(), z_star)
    # 60 Adam steps already halve the error of 4 ISTA iterations
    assert err_after < 0.5 * err_before


def test_lista_gradients_reach_every_parameter(small):
    net = LISTA.from_dictionary(small.D, LAM, 3)
    loss = net(torch.from_numpy(small.y).float()).pow(2).sum()
    loss.backward()
    for name in ("W_e", "S", "theta"):
        grad = getattr(net, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(num_layers=0, m=3, n=4), ValueError, "num_layers must be a positive integer"),
    (dict(num_layers=2, m=3, n=4, nonneg=1), TypeError, "nonneg must be a bool"),
    (dict(num_layers=2, m=0, n=4), ValueError, "m must be a positive integer"),
])
def test_lista_rejects_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        LISTA(**kwargs)


def test_lista_rejects_bad_input(small):
    net = LISTA.from_dictionary(small.D, LAM, 2)
    with pytest.raises(ValueError, match=r"y must have shape \(20,\)"):
        net(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="D must not be zero"):
        LISTA.from_dictionary(np.zeros((3, 4)), LAM, 2)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        LISTA.from_dictionary(small.D, -1.0, 2)
    # numpy input is accepted and converted
    assert net(small.y[:2]).shape == (2, 40)


# -- torch operators ---------------------------------------------------------------------------

def test_fft_operator_matches_numpy_and_is_adjoint():
    A = make_deblurring_operator((16, 12))
    T = as_torch_operator(A)
    assert as_torch_operator(T) is T and T._fft
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 16, 12, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 1, 16, 12, generator=gen, dtype=torch.float64)
    np.testing.assert_allclose(T(x)[1, 0].numpy(), A(x[1, 0].numpy()), atol=1e-13)
    np.testing.assert_allclose(T.adjoint(y)[0, 0].numpy(), A.adjoint(y[0, 0].numpy()),
                               atol=1e-13)
    dot = abs(float((T(x) * y).sum() - (x * T.adjoint(y)).sum()))
    assert dot < 1e-12 * float(T(x).norm() * y.norm())
    assert "_eig" not in T.state_dict()  # the operator is not saved with a network


def test_generic_operator_has_exact_gradients():
    A = make_operator("blur_valid", shape=(5, 5), kernel_size=3)
    T = TorchOperator(A)
    assert not T._fft
    x = torch.randn(2, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: T(v), (x,))
    y = torch.randn(1, 1, *A.out_shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: T.adjoint(v), (y,))


def test_torch_operator_rejects_bad_input():
    T = as_torch_operator(make_deblurring_operator((12, 12)))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, \*\(12, 12\)\)"):
        T(torch.zeros(1, 1, 12, 9))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        T(np.zeros((1, 1, 12, 12)))
    with pytest.raises(TypeError, match="op must be a LinearOperator"):
        TorchOperator(np.eye(3))
    with pytest.raises(ValueError, match="op must be real"):
        TorchOperator(make_operator("mri_cartesian"))


# -- gradient-descent network ------------------------------------------------------------------

def test_untrained_gdnet_is_landweber():
    A = make_deblurring_operator((16, 16))
    x = np.random.default_rng(0).random((16, 16))
    y = A(x)
    net = GradientDescentNet(A, 5).double()
    out = net(torch.from_numpy(y)[None, None], return_all=True)
    assert len(out) == 6
    # x_0 = Aᵀy, then K gradient steps of size 1/‖A‖² on ½‖Ax − y‖² (the CNN starts at 0)
    tau = 1.0 / A.norm() ** 2
    ref = Landweber(A, y, tau, x0=A.adjoint(y)).run(5).x_hat
    np.testing.assert_allclose(out[-1][0, 0].detach().numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(net.tau.detach().numpy(), tau)


def test_gdnet_trains_all_parts_and_changes_size():
    A = make_deblurring_operator((16, 16))
    net = GradientDescentNet(A, 2)
    y = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        net.regulariser.net[-1].weight.fill_(0.01)
    net(y).pow(2).mean().backward()
    assert net.log_tau.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.regulariser.parameters())
    net.set_operator(make_deblurring_operator((24, 20)))
    assert net(torch.rand(1, 1, 24, 20)).shape == (1, 1, 24, 20)
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        GradientDescentNet(A, 0)
    with pytest.raises(ValueError, match="tau_init must be > 0"):
        GradientDescentNet(A, 2, tau_init=0.0)


# -- Haar shrinkage and the unrolled proximal gradient ---------------------------------------------

def _haar_shrink_numpy(v, thresh, levels):
    import pywt

    coeffs = pywt.wavedec2(v, "haar", level=levels, mode="periodization")
    out = [coeffs[0]] + [tuple(np.sign(c) * np.maximum(np.abs(c) - thresh, 0) for c in level)
                         for level in coeffs[1:]]
    return pywt.waverec2(out, "haar", mode="periodization")


def test_haar_shrinkage_matches_pywavelets():
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    shrink = HaarShrinkage(levels=2, kappa=1.5)
    np.testing.assert_allclose(shrink(x, 0.0).numpy(), x.numpy(), atol=1e-14)  # orthonormal
    ref = _haar_shrink_numpy(x[0, 0].numpy(), 1.5 * 0.1, 2)
    np.testing.assert_allclose(shrink(x, 0.1)[0, 0].numpy(), ref, atol=1e-13)
    with pytest.raises(ValueError, match="multiples of 4"):
        shrink(torch.rand(1, 1, 10, 16), 0.1)


def test_unrolled_prox_grad_with_haar_is_unrolled_ista():
    A = make_deblurring_operator((16, 16))
    x = np.random.default_rng(1).random((16, 16))
    y = A(x)
    net = UnrolledProxGrad(A, HaarShrinkage(2), 3, sigma_init=(0.1, 0.05)).double()
    out = net(torch.from_numpy(y)[None, None])[0, 0].detach().numpy()
    tau, sigma = net.tau.detach().numpy(), net.sigma.detach().numpy()
    # geometric schedule (the parameters are created in float32: 1e-6)
    np.testing.assert_allclose(sigma, [0.1, np.sqrt(0.005), 0.05], rtol=1e-6)
    v = A.adjoint(y)
    for k in range(3):
        v = _haar_shrink_numpy(v - tau[k] * A.adjoint(A(v) - y), sigma[k], 2)
    np.testing.assert_allclose(out, v, atol=1e-12)


def test_unrolled_prox_grad_freezes_the_denoiser():
    from course_utils.nets.denoiser import DRUNetLite

    den = DRUNetLite(channels=(4, 8), num_blocks=(1, 1))
    A = make_deblurring_operator((16, 16))
    net = UnrolledProxGrad(A, den, 2)
    assert not any(p.requires_grad for p in den.parameters())
    net.train()
    assert not den.training
    net(torch.rand(1, 1, 16, 16)).sum().backward()
    assert all(p.grad is not None for p in net.step_parameters())
    assert set(k for k, p in net.named_parameters() if p.requires_grad) == {"log_tau",
                                                                             "log_sigma"}
    with pytest.raises(TypeError, match="denoiser must be a torch.nn.Module"):
        UnrolledProxGrad(A, lambda v, s: v, 2)
    with pytest.raises(TypeError, match="sigma_init must be a pair"):
        UnrolledProxGrad(A, den, 2, sigma_init=0.1)
    with pytest.raises(ValueError, match=r"sigma_init\[1\] must be > 0"):
        UnrolledProxGrad(A, den, 2, sigma_init=(0.1, 0.0))


# -- shipped weights -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def heldout():
    """300 test signals and their LASSO solutions (shared by the shipped-weights tests)."""
    problem = u.lista_problem("test", 300)
    return problem, u.lasso_solution(problem.D, problem.y, u.LISTA_SETTINGS["lam"], tol=1e-8)


def _shipped(name):
    if name not in weights.registry():
        pytest.skip(f"the weights {name!r} are not shipped yet")


@pytest.mark.parametrize("layers", [4, 8, 16])
def test_shipped_lista_beats_ista_with_the_same_depth(layers, heldout):
    _shipped(lista_weights_name(layers))
    net = load_lista(layers)
    assert net.num_layers == layers
    problem, z_star = heldout
    with torch.no_grad():
        err = u.nmse(net(torch.from_numpy(problem.y).float()).double().numpy(), z_star)
    ista = u.ista_sparse_coding(problem.D, problem.y, u.LISTA_SETTINGS["lam"],
                                num_iters=layers, x_ref=z_star).history["nmse"][-1]
    # trained LISTA is far ahead of the same number of ISTA iterations (measured on the
    # test split: 4 layers -13.6 dB vs -2.7 dB, 16 layers -20.8 dB vs -4.5 dB)
    assert err < 0.5 * ista


def test_shipped_lista16_is_worth_at_least_160_ista_iterations(heldout):
    _shipped(lista_weights_name(16))
    net = load_lista(16)
    problem, z_star = heldout
    lam = u.LISTA_SETTINGS["lam"]
    with torch.no_grad():
        err = u.nmse(net(torch.from_numpy(problem.y).float()).double().numpy(), z_star)
    # the target: 16 layers reach the error of >= 160 ISTA iterations
    assert u.iterations_to_match(err, problem.D, problem.y, lam, z_star, max_iters=160) \
        is None


def test_shipped_gdnet_beats_landweber():
    _shipped(gdnet_weights_name(8))
    from course_utils.data import load_image
    from course_utils.metrics import psnr
    from course_utils.nets.unrolled import GDNET_SETTINGS

    x = load_image("camera", size=64)
    net = load_gdnet(8, x.shape)
    A = make_deblurring_operator(x.shape)
    y = A(x) + GDNET_SETTINGS["sigma"] * np.random.default_rng(0).standard_normal(x.shape)
    with torch.no_grad():
        x_hat = net(torch.from_numpy(y).float()[None, None])[0, 0].double().numpy()
    lw = Landweber(A, y, 1.0 / A.norm() ** 2, x0=A.adjoint(y)).run(8).x_hat
    assert psnr(x, np.clip(x_hat, 0, 1)) > psnr(x, np.clip(lw, 0, 1)) + 1.0


def test_weights_names_and_missing_weights():
    assert lista_weights_name(16) == "lista_t16" and gdnet_weights_name(4) == "gdnet_k4"
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        lista_weights_name(0)
    with pytest.raises(ValueError, match="Unknown name"):
        load_lista(3)  # no 3-layer network is shipped


# -- training commands -----------------------------------------------------------------------------

def test_lista_training_command_is_seeded(tmp_path):
    from course_utils.train.lista import train

    kwargs = dict(layers=(2,), samples=40, iterations=3, batch_size=8, validation_samples=10,
                  verbose=False)
    first = train(out_dir=tmp_path / "a", **kwargs)[0]
    second = train(out_dir=tmp_path / "b", **kwargs)[0]
    assert first.name == "lista_t2.pt"
    a = torch.load(first, weights_only=True)
    b = torch.load(second, weights_only=True)
    assert set(a) == {"W_e", "S", "theta"}
    for key in a:
        assert torch.equal(a[key], b[key])  # same seed, same weights
    assert "lista_t2" not in weights.registry()  # an explicit out_dir registers nothing


def test_gdnet_training_step_is_seeded():
    from course_utils.train.gdnet import train_gdnet

    rng = np.random.default_rng(0)
    natural = [rng.random((40, 40)).astype(np.float32) for _ in range(3)]
    nets = [train_gdnet(2, natural, [], iterations=2, batch_size=2, patch_size=16, lr=1e-3,
                        seed=0, verbose=False) for _ in range(2)]
    for (key, a), b in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
        assert torch.equal(a, b), key
    # training moved the steps away from their start 1/‖A‖²
    assert not torch.allclose(nets[0].tau, torch.ones(2))
