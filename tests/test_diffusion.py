"""course_utils.diffusion: schedules, Tweedie, degradations, INDIGO's INNs and the samplers."""
import numpy as np
import pytest
import torch

from course_utils import diffusion as D
from course_utils import weights
from course_utils.metrics import patch_swd, psnr
from course_utils.nets.diffusion import SigmaUNet
from course_utils.nets.indigo import HaarDetailINN, LearnedDegradationINN, MonotoneMap


# -- data -------------------------------------------------------------------------------------
def test_images_shape_range_seeded_and_heldout_namespace():
    x = D.heldout_images(3, seed=2)
    assert x.shape == (3, *D.IMAGE_SHAPE) and x.min() >= 0 and x.max() <= 1
    assert np.array_equal(x, D.heldout_images(3, seed=2))
    assert not np.array_equal(x, D.heldout_images(3, seed=3))
    # held-out images come from seeds no training batch can draw
    assert np.array_equal(x, D.phantoms(3, D.HELDOUT_SEED_BASE + 2))
    with pytest.raises(ValueError, match="seed"):
        D.training_images(2, D.HELDOUT_SEED_BASE)
    # anti-aliased: partial-volume grey levels, not only the few levels of the ellipses
    assert len(np.unique(np.round(x[0], 6))) > 20


# -- schedules and conversions ----------------------------------------------------------------
def test_schedules():
    lin, cos = D.noise_schedule("linear"), D.noise_schedule("cosine")
    assert lin.shape == cos.shape == (D.NUM_TIMESTEPS,)
    assert np.all(np.diff(lin) < 0) and np.all(np.diff(cos) < 0)
    assert lin[0] == pytest.approx(1 - 1e-4)
    # sigma at t = T: far above the data's scale, so x_T has forgotten x_0
    assert D.sigma_from_alpha_bar(lin[-1]) == pytest.approx(157.4, rel=1e-3)
    np.testing.assert_allclose(D.alpha_bar_from_sigma(D.sigma_from_alpha_bar(lin)), lin)
    with pytest.raises(ValueError, match="kind"):
        D.noise_schedule("quadratic")


def test_vp_and_ve_conversions_round_trip():
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal((2, 8, 8))
    ab = 0.3
    x_t = D.forward_noise(x0, ab, eps)
    np.testing.assert_allclose(D.eps_from_x0(x_t, x0, ab), eps, atol=1e-12)
    np.testing.assert_allclose(D.x0_from_eps(x_t, eps, ab), x0, atol=1e-12)
    # x_t / sqrt(ab) = x0 + sigma * eps
    sigma = D.sigma_from_alpha_bar(ab)
    np.testing.assert_allclose(x_t / np.sqrt(ab), x0 + sigma * eps, atol=1e-12)


def test_tweedie_score_of_a_gaussian():
    # data N(0, s^2): the best denoiser is s^2/(s^2+sigma^2) x and the score -x/(s^2+sigma^2)
    s, sigma = 0.7, 0.4
    x = np.linspace(-2, 2, 9)
    denoised = s ** 2 / (s ** 2 + sigma ** 2) * x
    np.testing.assert_allclose(D.score_from_denoiser(x, denoised, sigma),
                               -x / (s ** 2 + sigma ** 2))


def test_posterior_step_is_the_gaussian_posterior():
    # q(x_{t-1} | x_t, x_0) by Monte Carlo: draw x_{t-1} ~ q(.|x_0), x_t ~ q(x_t|x_{t-1}),
    # then regress; here simply check mean and variance against the closed form.
    ab_t, ab_s = 0.5, 0.8
    a_t = ab_t / ab_s
    rng = np.random.default_rng(1)
    n = 400_000
    x0 = 0.3
    x_s = np.sqrt(ab_s) * x0 + np.sqrt(1 - ab_s) * rng.standard_normal(n)
    x_t = np.sqrt(a_t) * x_s + np.sqrt(1 - a_t) * rng.standard_normal(n)
    sel = np.abs(x_t - 0.1) < 0.01  # condition on x_t close to 0.1
    mean = D.posterior_step(0.1, x0, ab_t, ab_s)
    var = (1 - a_t) * (1 - ab_s) / (1 - ab_t)
    assert x_s[sel].mean() == pytest.approx(mean, abs=0.01)
    assert x_s[sel].var() == pytest.approx(var, rel=0.05)
    # the last step (alpha_bar_prev = 1) returns x0
    assert D.posterior_step(0.1, x0, ab_t, 1.0) == pytest.approx(x0)
    with pytest.raises(ValueError, match="alpha_bar"):
        D.posterior_step(0.1, x0, 0.9, 0.5)


def test_timesteps():
    t = D.timesteps(5)
    assert t[0] == D.NUM_TIMESTEPS - 1 and t[-1] == 0 and np.all(np.diff(t) < 0)
    assert len(D.timesteps(1)) == 1
    with pytest.raises(ValueError, match="num_steps"):
        D.timesteps(0)


# -- degradations -----------------------------------------------------------------------------
def test_degrade_shapes_noise_and_torch_twin():
    x = D.heldout_images(2)
    y = D.degrade(x, "sr4")
    np.testing.assert_allclose(y, D.block_mean(x, 4))
    assert D.degrade(x[0], "nonlinear").shape == (16, 16)
    noisy = D.degrade(x, "sr4", sigma_n=0.1, seed=3)
    assert np.array_equal(noisy, D.degrade(x, "sr4", sigma_n=0.1, seed=3))
    assert 0.07 < np.std(noisy - y) < 0.13
    # the differentiable operator the samplers use is the same map
    ynl = D.degrade(x, "nonlinear")
    with torch.no_grad():
        yt = D._torch_task("nonlinear")(torch.from_numpy(x[:, None]).float())[:, 0].numpy()
    np.testing.assert_allclose(yt, ynl, atol=1e-5)
    # the response saturates: bright regions lose contrast
    assert D.camera_response(1.0) == pytest.approx(1.0)
    assert D.camera_response(0.9) > 0.9


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": np.zeros((16, 16)), "task": "sr4"}, ValueError, "x must have shape"),
    ({"x": np.zeros((32, 32)), "task": "sr8"}, ValueError, "task"),
    ({"x": np.zeros((32, 32)), "task": "sr4", "sigma_n": -0.1}, ValueError, "sigma_n"),
    ({"x": np.full((32, 32), np.nan), "task": "sr4"}, ValueError, "x"),
    ({"x": "image", "task": "sr4"}, TypeError, "x"),
])
def test_degrade_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        D.degrade(**kwargs)


# -- INDIGO's INNs ----------------------------------------------------------------------------
def _randomise(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    return model


def test_haar_detail_inn_coarse_is_the_measurement_for_any_weights():
    inn = _randomise(HaarDetailINN(levels=2, num_steps=2)).double()
    x = torch.from_numpy(D.heldout_images(3)[:, None])
    c, details = inn(x)
    y = torch.from_numpy(D.degrade(x[:, 0].numpy(), "sr4")[:, None])
    torch.testing.assert_close(c, inn.scale * y, atol=1e-12, rtol=0)
    torch.testing.assert_close(inn.inverse(c, details), x, atol=1e-9, rtol=0)
    assert sum(d.abs().sum() for d in details) > 0


def test_learned_degradation_inn_inverts_for_any_weights():
    # in float64, so that only the structure is tested, not float32 round-off
    inn = _randomise(LearnedDegradationINN(num_steps=2, hidden=8)).double()
    x = torch.from_numpy(D.heldout_images(2)[:, None])
    c, details = inn(x)
    assert c.shape == (2, 1, 16, 16) and details[0].shape == (2, 3, 16, 16)
    torch.testing.assert_close(inn.inverse(c, details), x, atol=1e-9, rtol=0)


def test_monotone_map_is_increasing_and_inverted():
    h = _randomise(MonotoneMap(ramps=4), seed=1)
    u = torch.linspace(-1, 3, 101)
    v = h(u)
    assert torch.all(v[1:] > v[:-1])
    torch.testing.assert_close(h.inverse(v), u, atol=1e-5, rtol=0)


def test_shipped_inn_reproduces_the_nonlinear_measurement():
    entry = weights.registry()["indigo_inn"]
    assert entry["command"] == "python -m course_utils.train indigo-inn"
    inn = D.load_indigo_inn("nonlinear")
    x = D.heldout_images(16, seed=5)
    y = D.degrade(x, "nonlinear")
    with torch.no_grad():
        c, _ = inn(torch.from_numpy(x[:, None]).float())
    # the INN's coarse band is the degradation to about 1 % (it never saw these phantoms)
    assert psnr(y, c[:, 0].double().numpy()) > 35.0


# -- the prior and the samplers ----------------------------------------------------------------
def test_shipped_prior_entry_and_denoising_quality():
    entry = weights.registry()["diffusion"]
    assert entry["command"] == "python -m course_utils.train diffusion"
    net = D.load_prior()
    assert isinstance(net, SigmaUNet)
    x = torch.from_numpy(2 * D.heldout_images(8, seed=4)[:, None] - 1).float()
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(x.shape)).float()
    with torch.no_grad():
        for sigma, gain in ((0.1, 5.0), (0.5, 8.0)):
            noisy = x + sigma * noise
            err_in = ((noisy - x) ** 2).mean().item()
            err_out = ((net(noisy, sigma) - x) ** 2).mean().item()
            # a denoiser at every level: the error drops by a large factor on unseen images
            assert err_in / err_out > gain, (sigma, err_in / err_out)


def test_same_seed_same_sample_and_samples_look_like_phantoms():
    a = D.sample(4, num_steps=20, seed=3)
    assert np.array_equal(a, D.sample(4, num_steps=20, seed=3))
    assert not np.array_equal(a, D.sample(4, num_steps=20, seed=4))
    assert a.shape == (4, *D.IMAGE_SHAPE) and a.min() >= 0 and a.max() <= 1
    # dark background around a body: the corners are black, the centre is not
    assert a[:, :3, :3].mean() < 0.1 and a[:, 12:20, 12:20].mean() > 0.2


def test_ddim_is_deterministic_given_its_start():
    s = D.Sampler(None, num_steps=5, sampler="ddim", seed=0, batch=2)
    out = s.run()
    assert s.nfe == 5 and s.done
    with pytest.raises(RuntimeError, match="finished"):
        s.step()
    assert np.array_equal(out, D.Sampler(None, num_steps=5, sampler="ddim", seed=0,
                                         batch=2).run())


def test_ilvr_output_is_consistent_with_the_measurement():
    x = D.heldout_images(2)
    y = D.degrade(x, "sr4")
    sampler = D.Sampler(y, "sr4", "ilvr", num_steps=10)
    sampler.run()
    # the last ILVR step replaces the block means by those of y exactly (before clipping)
    last = (sampler.x[:, 0].double().numpy() + 1) / 2
    assert np.abs(D.block_mean(last, 4) - y).max() < 1e-5


@pytest.mark.parametrize("method", D.METHODS)
def test_guided_samplers_beat_upsampling_and_are_seeded(method):
    x = D.heldout_images(4, seed=11)
    y = D.degrade(x, "sr4")
    x_hat = D.restore(y, "sr4", method, num_steps=20, seed=2)
    assert np.array_equal(x_hat, D.restore(y, "sr4", method, num_steps=20, seed=2))
    ours = np.mean([psnr(a, b) for a, b in zip(x, x_hat)])
    nearest = np.mean([psnr(a, b) for a, b in zip(x, np.clip(D.upsample(y, 4), 0, 1))])
    assert ours > nearest, (method, ours, nearest)


def test_indigo_with_zeta_zero_ignores_the_measurement():
    x = D.heldout_images(2)
    y = D.degrade(x, "sr4")
    free = D.Sampler(y, "sr4", "indigo", num_steps=8, zeta=0.0, seed=1).run()
    unconditional = D.sample(2, num_steps=8, seed=1)
    np.testing.assert_allclose(free, unconditional, atol=1e-6)


def test_per_image_zeta_and_single_image_shapes():
    x = D.heldout_images(3)
    y = D.degrade(x, "sr4")
    out = D.Sampler(y, "sr4", "dps", num_steps=3, zeta=np.array([0.0, 1.0, 2.0])).run()
    assert out.shape == (3, 32, 32)
    assert D.restore(y[0], "sr4", "ilvr", num_steps=2).shape == (32, 32)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"y": np.zeros((8, 8)), "task": "sr4", "method": "ddrm"}, ValueError, "method"),
    ({"y": np.zeros((8, 8)), "task": "sr3", "method": "ilvr"}, ValueError, "task"),
    ({"y": np.zeros((16, 16)), "task": "sr4", "method": "ilvr"}, ValueError, "y must have shape"),
    ({"y": np.zeros((8, 8)), "task": "sr4", "method": "ilvr", "num_steps": 0}, ValueError,
     "num_steps"),
    ({"y": np.zeros((8, 8)), "task": "sr4", "method": "ilvr", "sigma_n": -1.0}, ValueError,
     "sigma_n"),
    ({"y": np.zeros((8, 8)), "task": "sr4", "method": "dps", "zeta": -1.0}, ValueError, "zeta"),
    ({"y": np.full((8, 8), np.inf), "task": "sr4", "method": "ilvr"}, ValueError, "y"),
])
def test_restore_rejects_bad_input(kwargs, error, match):
    y = kwargs.pop("y")
    task = kwargs.pop("task")
    method = kwargs.pop("method")
    with pytest.raises(error, match=match):
        D.restore(y, task, method, **kwargs)


def test_sampler_needs_y_and_method_together():
    with pytest.raises(ValueError, match="both y and method"):
        D.Sampler(np.zeros((8, 8)), "sr4", None)


def test_patch_swd():
    a, b = D.heldout_images(8), D.heldout_images(8, seed=1)
    assert patch_swd(a, a) == 0.0
    blurred = (a + np.roll(a, 1, axis=1) + np.roll(a, 1, axis=2) + np.roll(a, 1, (1, 2))) / 4
    assert patch_swd(a, blurred) > 0
    assert patch_swd(a, b, seed=1) == patch_swd(a, b, seed=1)
    with pytest.raises(ValueError, match="patch"):
        patch_swd(a, b, patch=40)


def test_benchmark_quick_tables():
    from benchmarks import bench_diffusion
    from benchmarks.run import validate_table

    tables = bench_diffusion.run(quick=True)
    assert [t["title"].split(":")[0] for t in tables][:1] == ["x4 super-resolution of held-out phantoms"]
    for table in tables:
        validate_table(table)
    sr = tables[0]
    assert {row[0] for row in sr["rows"]} == {"nearest upsampling", "ILVR", "DPS", "INDIGO"}
    assert len(tables[1]["rows"]) == 5
