"""Generative prior: torch operators, latent reconstruction, the shipped generator and its
training command."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils.data import load_image  # noqa: E402
from course_utils.generative import (TorchOperator, measurement_sweep,  # noqa: E402
                                     reconstruct_latent, sample_generator, torch_operator)
from course_utils.metrics import psnr  # noqa: E402
from course_utils.operators import make_operator  # noqa: E402
from course_utils.operators.basic import (Blur, BlurValid, Downsample, Gradient,  # noqa: E402
                                          Identity, Inpainting)
from course_utils.operators.sensing import GaussianSensing  # noqa: E402
from course_utils.nets.generator import (GENERATOR_ARCH, Encoder, Generator,  # noqa: E402
                                         build_generator)
from course_utils.solvers import tv_reconstruct  # noqa: E402
from course_utils.weights import registry  # noqa: E402

HAVE_WEIGHTS = "generator" in registry()
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason="generator.pt is not shipped yet")


class LinearGenerator(torch.nn.Module):
    """G(z) = W z reshaped to (B, M, N): the latent problem is then ridge regression."""

    def __init__(self, shape=(8, 8), latent_dim=5, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(torch.randn(shape[0] * shape[1], latent_dim, generator=g)
                                    / np.sqrt(latent_dim))
        self.latent_dim, self.shape = latent_dim, shape

    def forward(self, z):
        return (z @ self.W.T).reshape(z.shape[0], *self.shape)


# -- torch operators -------------------------------------------------------------------------
OPS = {
    "matrix": lambda: GaussianSensing((8, 8), 20, seed=1),
    "fft": lambda: Blur((8, 8), np.random.default_rng(0).random((3, 3))),
    "mask": lambda: Inpainting(shape=(8, 8), ratio=0.5, seed=2),
    "downsample": lambda: Downsample((8, 8), 2, "average"),
    "identity": lambda: Identity((8, 8)),
    "numpy": lambda: BlurValid((8, 8), kernel_size=3),
}


@pytest.mark.parametrize("kind", sorted(OPS))
def test_torch_operator_matches_numpy_forward_and_adjoint(kind):
    A = OPS[kind]()
    T = TorchOperator(A)
    assert T.kind == kind
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 8))
    g = rng.standard_normal((2, *A.out_shape))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = T(xt)
    for b in range(2):
        # float32 constants (eigenvalues, matrix) limit the agreement to ~1e-6
        np.testing.assert_allclose(out[b].detach().numpy(), A(x[b]), atol=1e-5)
    # the backward pass applies Aᵀ: ∇_x <T(x), g> = Aᵀ g
    (out * torch.tensor(g)).sum().backward()
    for b in range(2):
        np.testing.assert_allclose(xt.grad[b].numpy(), A.adjoint(g[b]), atol=1e-5)
    # a single image (M, N) works too
    np.testing.assert_allclose(T(torch.tensor(x[0])).numpy(), A(x[0]), atol=1e-5)


def test_decimation_and_gradient_through_numpy():
    A = Downsample((8, 8), 4, "decimate")
    x = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(TorchOperator(A)(torch.tensor(x)).numpy(), A(x))
    G = Gradient((8, 8))
    assert TorchOperator(G).kind == "numpy"
    assert TorchOperator(G)(torch.tensor(x)).shape == (2, 8, 8)
    assert torch_operator(TorchOperator(A)).A is A


def test_torch_operator_bad_input():
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        TorchOperator(np.eye(3))
    with pytest.raises(ValueError, match="real operator"):
        TorchOperator(make_operator("mri_cartesian"))
    with pytest.raises(ValueError, match="images of shape"):
        TorchOperator(make_operator("deconv1d"))
    T = TorchOperator(Identity((8, 8)))
    with pytest.raises(ValueError, match="x must have shape"):
        T(torch.zeros(2, 4, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        T(np.zeros((8, 8)))


# -- latent reconstruction ------------------------------------------------------------------------
def test_latent_reconstruction_solves_the_ridge_problem_of_a_linear_generator():
    G = LinearGenerator()
    A = GaussianSensing((8, 8), 12, seed=4)
    rng = np.random.default_rng(5)
    y = rng.standard_normal(12)
    lam = 0.1
    res = reconstruct_latent(y, A, G, num_iters=300, lr=0.1, restarts=2, seed=0, lam=lam)
    # min_z ‖y − A W z‖² + lam ‖z‖² is convex: z* = (BᵀB + lam I)⁻¹ Bᵀ y, B = A W
    B = A.matrix @ G.W.detach().double().numpy()
    z_star = np.linalg.solve(B.T @ B + lam * np.eye(5), B.T @ y)
    # Adam in float32 ends within 1e-5 of the minimiser (measured 9e-6); 1e-4 allows for
    # round-off differences between platforms
    np.testing.assert_allclose(res.z, z_star, atol=1e-4)
    np.testing.assert_allclose(res.x_hat, (G.W.detach().double().numpy() @ res.z)
                               .reshape(8, 8), atol=1e-5)
    assert res.history["loss"][-1] < res.history["loss"][0]
    assert len(res.history["loss"]) == 300 and res.restart_losses.shape == (2,)
    assert res.restart_losses.min() == pytest.approx(
        np.sum((B @ z_star - y) ** 2) + lam * z_star @ z_star, rel=1e-3)
    # G is left as it was: trainable, in training mode
    assert G.training and G.W.requires_grad


def test_latent_reconstruction_is_seeded_and_keeps_the_best_restart():
    G = LinearGenerator(seed=1)
    A = Inpainting(shape=(8, 8), ratio=0.3, seed=1)
    y = A(np.random.default_rng(6).random((8, 8)))
    x_true = np.random.default_rng(6).random((8, 8))
    r1 = reconstruct_latent(y, A, G, num_iters=20, restarts=3, seed=7, x_true=x_true)
    r2 = reconstruct_latent(y, A, G, num_iters=20, restarts=3, seed=7, x_true=x_true)
    np.testing.assert_array_equal(r1.z, r2.z)
    assert len(r1.history["psnr"]) == 20
    final_best = r1.restart_losses.min()
    data = np.sum((A(r1.x_hat) - y) ** 2)
    assert final_best == pytest.approx(data + 1e-3 * r1.z @ r1.z, rel=1e-4)


def test_reconstruct_latent_bad_input():
    G = LinearGenerator()
    A = Identity((8, 8))
    y = np.zeros((8, 8))
    with pytest.raises(TypeError, match="G must be a torch.nn.Module"):
        reconstruct_latent(y, A, lambda z: z)
    with pytest.raises(ValueError, match="y must have shape"):
        reconstruct_latent(np.zeros(5), A, G)
    with pytest.raises(ValueError, match="lr"):
        reconstruct_latent(y, A, G, lr=0.0)
    with pytest.raises(ValueError, match="restarts"):
        reconstruct_latent(y, A, G, restarts=0)
    with pytest.raises(ValueError, match="num_iters"):
        reconstruct_latent(y, A, G, num_iters=0)
    with pytest.raises(ValueError, match="lam"):
        reconstruct_latent(y, A, G, lam=-1.0)
    with pytest.raises(ValueError, match="G produces images of shape"):
        reconstruct_latent(np.zeros((4, 4)), Identity((4, 4)), G, num_iters=1)
    with pytest.raises(TypeError, match="latent_dim"):
        reconstruct_latent(y, A, torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="x_true must have shape"):
        reconstruct_latent(y, A, G, num_iters=1, x_true=np.zeros(3))


def test_measurement_sweep_layout_with_a_linear_generator():
    G = LinearGenerator(shape=(8, 8), latent_dim=4)
    with torch.no_grad():
        x = G(torch.full((1, 4), 0.3))[0].numpy().astype(np.float64)
    x = (x - x.min()) / (x.max() - x.min())
    table = measurement_sweep(x, G, (8, 32), num_iters=30, restarts=1, tv_iters=20)
    assert table["columns"][:3] == ["m", "m/n", "LS PSNR"] and len(table["rows"]) == 2
    assert [r[0] for r in table["rows"]] == [8, 32]
    with pytest.raises(ValueError, match="num_measurements"):
        measurement_sweep(x, G, (0,))


# -- the network ------------------------------------------------------------------------------
def test_generator_and_encoder_shapes_and_validation():
    G, E = Generator(latent_dim=8, channels=(16, 8), shuffle=2, image_size=16), \
        Encoder(latent_dim=8, channels=(16, 8), shuffle=2, image_size=16)
    with torch.no_grad():
        out = G(torch.randn(3, 8))
    assert out.shape == (3, 1, 16, 16) and float(out.min()) >= 0 and float(out.max()) <= 1
    mu, log_var = E(out)
    assert mu.shape == log_var.shape == (3, 8)
    assert G(torch.randn(8)).shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="z must have shape"):
        G(torch.randn(2, 7))
    with pytest.raises(ValueError, match="x must have shape"):
        E(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="image_size must be a multiple"):
        Generator(channels=(8, 8), shuffle=4, image_size=20)
    with pytest.raises(ValueError, match="latent_dim"):
        Generator(latent_dim=0)
    with pytest.raises(ValueError, match="channels"):
        Generator(channels=())


@needs_weights
def test_shipped_generator_is_small_and_loads():
    from course_utils.nets.generator import load_generator
    from course_utils.weights import weights_path

    path = weights_path("generator")
    assert path.stat().st_size <= 5 * 2 ** 20  # the budget for this file
    G = load_generator()
    assert G.latent_dim == GENERATOR_ARCH["latent_dim"]
    assert not any(p.requires_grad for p in G.parameters())
    samples = sample_generator(G, 3, seed=1)
    assert samples.shape == (3, 64, 64)
    np.testing.assert_array_equal(samples, sample_generator(G, 3, seed=1))
    entry = registry()["generator"]
    assert entry["command"] == "python -m course_utils.train generator"


@needs_weights
def test_generator_wins_with_few_measurements_and_fails_outside_its_range():
    from course_utils.data import add_noise
    from course_utils.nets.generator import load_generator
    from course_utils.train.generator import heldout_phantoms

    G = load_generator()
    phantom = heldout_phantoms(1)[0]
    camera = load_image("camera", 64)
    A = GaussianSensing((64, 64), 100, seed=0)  # m = 100 of n = 4096 (2.4 %)
    results = {}
    for name, x in (("phantom", phantom), ("camera", camera)):
        y = add_noise(A(x), 0.01, seed=1)
        res = reconstruct_latent(y, A, G, num_iters=150, lr=0.05, restarts=2, seed=0)
        x_tv, _ = tv_reconstruct(A, y, 0.01, num_iters=100)
        results[name] = {"gen": psnr(x, res.x_hat), "ls": psnr(x, np.clip(A.pinv(y), 0, 1)),
                         "tv": psnr(x, np.clip(x_tv, 0, 1))}
    ph, cam = results["phantom"], results["camera"]
    # Inside the range, 100 measurements suffice (measured: generator 26.9 dB, least
    # squares 11.9 dB, TV 12.5 dB).
    assert ph["gen"] > ph["ls"] + 6 and ph["gen"] > ph["tv"] + 5
    # Outside it, the same reconstruction fails: the camera comes out at 7.1 dB, about
    # 20 dB below the phantom; no latent code explains it.
    assert cam["gen"] < ph["gen"] - 10


@needs_weights
def test_more_measurements_do_not_rescue_an_image_outside_the_range():
    from course_utils.nets.generator import load_generator

    G = load_generator()
    camera = load_image("camera", 64)
    # With m = n the best the generator can do is project x onto its range; least squares
    # is exact. The projection error bounds every generator reconstruction.
    res = reconstruct_latent(camera, Identity((64, 64)), G, num_iters=150, restarts=2)
    assert psnr(camera, res.x_hat) < 15  # measured 8.5 dB


# -- the training command -----------------------------------------------------------------------
def test_training_is_seeded_and_resumable(tmp_path):
    from course_utils.train import TRAINERS
    from course_utils.train.generator import heldout_phantoms, phantom_pool, train

    assert TRAINERS["generator"] == "course_utils.train.generator"
    pool = phantom_pool(600)
    assert pool.shape == (600, 64, 64) and pool.dtype == np.float32
    # training and held-out phantoms differ
    assert not any(np.array_equal(pool[k], heldout_phantoms(1)[0]) for k in range(600))
    kw = dict(threads=1, batch_size=4, pool_size=500, log_every=10 ** 6, verbose=False)
    straight = train(steps=4, out=tmp_path / "a.pt", checkpoint_dir=tmp_path / "ca", **kw)
    ckpt = train(steps=4, out=tmp_path / "b.pt", checkpoint_dir=tmp_path / "cb", stop_at=2,
                 **kw)
    assert ckpt.name == "checkpoint.pt" and not (tmp_path / "b.pt").exists()
    resumed = train(steps=4, out=tmp_path / "b.pt", checkpoint_dir=tmp_path / "cb",
                    resume=True, **kw)
    # the same weights after 4 steps, run straight or interrupted after 2 and resumed:
    # the batch and noise of step k depend only on (seed, k)
    a = torch.load(straight, weights_only=True)
    b = torch.load(resumed, weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    assert set(a) == set(build_generator().state_dict())  # only the decoder is saved
    with pytest.raises(ValueError, match="steps"):
        train(steps=0, out=tmp_path / "c.pt")
