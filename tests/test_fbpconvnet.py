"""Tests of sparse-view CT learning: phantoms without inverse crime, TV by PDHG, the
FBPConvNet network, its training command, its shipped weights and ``postprocess``."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils import ct_learned as cl  # noqa: E402
from course_utils import weights  # noqa: E402
from course_utils.metrics import psnr  # noqa: E402
from course_utils.nets.fbpconvnet import (FBPCONVNET_ARCH, FBPConvNet,  # noqa: E402
                                          build_fbpconvnet)
from course_utils.operators import Radon  # noqa: E402
from course_utils.solvers import tv_reconstruct  # noqa: E402
from course_utils.train import fbpconvnet as fbp_train  # noqa: E402


# =====================================================================================
# Seeds: held-out phantoms are never training phantoms.
# =====================================================================================
def test_heldout_seeds_are_disjoint_from_training_seeds():
    train = cl.TRAIN_SEEDS
    assert not any(s in train for s in cl.HELDOUT_SEEDS)
    assert len(set(cl.HELDOUT_SEEDS)) == len(cl.HELDOUT_SEEDS) >= 4
    # λ is tuned on training phantoms only.
    assert all(s in train for s in cl.TUNE_SEEDS)
    assert not set(cl.TUNE_SEEDS) & set(cl.HELDOUT_SEEDS)


def test_training_batches_draw_only_training_seeds_and_are_reproducible():
    from course_utils.train.fbpconvnet import sample_batch
    a = sample_batch(np.random.default_rng([0, 5]), 3, size=16)
    b = sample_batch(np.random.default_rng([0, 5]), 3, size=16)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    x_fbp, num_views, x, seeds = a
    heads = sample_batch(np.random.default_rng([0, 5]), 3, size=16, head_fraction=1.0)
    plain = sample_batch(np.random.default_rng([0, 5]), 3, size=16, head_fraction=0.0)
    assert not np.array_equal(heads[2], plain[2])
    assert x_fbp.shape == x.shape == (3, 1, 16, 16) and x_fbp.dtype == np.float32
    assert set(num_views.tolist()) <= set(cl.TRAIN_VIEWS)
    assert all(int(s) in cl.TRAIN_SEEDS and int(s) not in cl.HELDOUT_SEEDS for s in seeds)


# =====================================================================================
# Phantoms and sinograms.
# =====================================================================================
def test_view_angles_and_bad_view_counts():
    np.testing.assert_allclose(cl.view_angles(4), [0.0, 45.0, 90.0, 135.0])
    with pytest.raises(ValueError, match="num_views must be >= 1"):
        cl.view_angles(0)
    with pytest.raises(TypeError, match="num_views must be an integer"):
        cl.view_angles(3.0)
    with pytest.raises(TypeError, match="num_views"):
        cl.view_angles(True)


def test_downsample_keeps_the_rotation_axis():
    # A centred disc on the fine grid (centre at fine pixel 2M // 2 = M) must be centred
    # on coarse pixel M // 2, where the coarse Radon transform puts its axis.
    M = 16
    rows, cols = np.mgrid[:2 * M, :2 * M]
    disc = ((rows - M) ** 2 + (cols - M) ** 2 <= 36).astype(float)
    x = cl.downsample(disc)
    assert x.shape == (M, M)
    r, c = np.mgrid[:M, :M]
    centroid = (np.sum(r * x) / x.sum(), np.sum(c * x) / x.sum())
    np.testing.assert_allclose(centroid, (M // 2, M // 2), atol=1e-12)
    # [1/4, 1/2, 1/4] sums to 1: the mass per coarse pixel is a quarter of the fine mass.
    assert x.sum() == pytest.approx(disc.sum() / 4, rel=1e-12)
    with pytest.raises(ValueError, match="even length"):
        cl.downsample(np.ones((5, 4)))
    with pytest.raises(TypeError, match="x_fine must be real"):
        cl.downsample(np.ones((4, 4), dtype=complex))


def test_simulated_sinogram_is_close_to_but_not_the_model():
    x_fine, x = cl.ct_phantom(cl.HELDOUT_SEEDS[0], 32)
    assert x_fine.shape == (64, 64) and x.shape == (32, 32)
    assert 0.0 <= x.min() and x.max() <= 1.0
    y = cl.simulate_sinogram(x_fine, 20)
    assert y.shape == (32, 20)
    model = Radon((32, 32), cl.view_angles(20))(x)
    gap = np.linalg.norm(model - y) / np.linalg.norm(y)
    # Two discretisations of one object: close (measured 4e-3 at 64², 6e-3 here), but
    # not equal — simulating with the reconstruction's own matrix would be the inverse
    # crime, with a gap of 1e-16.
    assert 1e-4 < gap < 2e-2
    # Shepp–Logan comes through the same pipeline.
    _, sl = cl.ct_phantom("shepp_logan", 32)
    assert sl.shape == (32, 32) and sl.max() > 0.5


def test_random_head_has_a_skull_and_is_seeded():
    a = cl.random_head((64, 64), 5)
    np.testing.assert_array_equal(a, cl.random_head((64, 64), 5))
    assert not np.array_equal(a, cl.random_head((64, 64), 6))
    assert a.shape == (64, 64) and 0.0 <= a.min() and a.max() <= 1.0
    # Along the central column, from the top edge: air, then the skull (>= 0.5, the
    # brightest tissue of the family), then the brain (<= 0.4 + ellipses).
    column = a[:, 32]
    first = int(np.argmax(column > 0))
    assert 0 < first < 10 and column[first:first + 2].max() >= 0.5
    x_fine, x = cl.ct_phantom(5, 32, family="head")
    np.testing.assert_array_equal(x_fine, cl.random_head((64, 64), 5))
    with pytest.raises(ValueError, match="Unknown family"):
        cl.ct_phantom(5, family="skull")
    with pytest.raises(ValueError, match="shape must be"):
        cl.random_head((8, 8, 8))


def test_simulate_sinogram_bad_inputs():
    x_fine, _ = cl.ct_phantom(cl.HELDOUT_SEEDS[0], 16)
    with pytest.raises(ValueError, match="num_views must be >= 1"):
        cl.simulate_sinogram(x_fine, 0)
    with pytest.raises(ValueError, match="I0 must be > 0"):
        cl.simulate_sinogram(x_fine, 4, I0=0.0)
    with pytest.raises(ValueError, match="I0 must be > 0"):
        cl.simulate_sinogram(x_fine, 4, I0=-10.0)
    with pytest.raises(TypeError, match="x_fine must be real"):
        cl.simulate_sinogram(x_fine + 0j, 4)
    with pytest.raises(ValueError, match="x_fine must be square"):
        cl.simulate_sinogram(np.ones((32, 24)), 4)
    with pytest.raises(ValueError, match="source must be a seed or 'shepp_logan'"):
        cl.ct_phantom("camera")
    with pytest.raises(ValueError, match="size must be even"):
        cl.ct_phantom(0, 15)


def test_low_dose_sinogram_is_seeded_and_noisier_at_lower_dose():
    x_fine, _ = cl.ct_phantom(cl.HELDOUT_SEEDS[1], 16)
    clean = cl.simulate_sinogram(x_fine, 6)
    a = cl.simulate_sinogram(x_fine, 6, I0=1e4, seed=3)
    np.testing.assert_array_equal(a, cl.simulate_sinogram(x_fine, 6, I0=1e4, seed=3))
    b = cl.simulate_sinogram(x_fine, 6, I0=1e6, seed=3)
    # Poisson noise std on the log data scales as 1/√I0: 100× the dose, 10× less noise.
    ratio = np.std(a - clean) / np.std(b - clean)
    assert 6 < ratio < 16


# =====================================================================================
# TV by preconditioned PDHG.
# =====================================================================================
def test_tv_ct_agrees_with_the_plain_pdhg_on_the_same_objective():
    n, K, lam = 8, 6, 0.02
    x_fine, _ = cl.ct_phantom(3, n, num_ellipses=3)
    y = cl.simulate_sinogram(x_fine, K)
    ours = cl.tv_ct(y, lam, num_iters=300)
    # (π/2K)‖Rx − y‖² + λ TV  ⇔  ½‖Rx − y‖² + (λ K / π) TV: the library's PDHG on the
    # unscaled problem (which converges fast on this tiny 8² problem) reaches the same
    # minimiser. Measured gap 6e-4 after 300 balanced iterations (3e-4 after 400) against
    # a 20 000-iteration reference; 2e-3 fails for a wrong λ scaling (a factor 2 in λ
    # moves the minimiser by 3e-2).
    R = Radon((n, n), cl.view_angles(K))
    reference, _ = tv_reconstruct(R, y, lam * K / np.pi, num_iters=600, nonneg=True)
    assert np.linalg.norm(ours - reference) / np.linalg.norm(reference) < 2e-3
    wrong, _ = tv_reconstruct(R, y, 2 * lam * K / np.pi, num_iters=600, nonneg=True)
    assert np.linalg.norm(ours - wrong) / np.linalg.norm(reference) > 1e-2
    assert ours.min() >= 0.0


def test_tv_ct_warm_start_and_lambda_zero():
    x_fine, x = cl.ct_phantom(cl.HELDOUT_SEEDS[2], 16)
    y = cl.simulate_sinogram(x_fine, 9)
    x_fbp = cl.fbp_views(y)
    solver = cl.make_tv_solver(y, 0.0, x0=np.maximum(x_fbp, 0.0))
    # Without regulariser PDHG decreases the (non-negative least-squares) data misfit of
    # its start: compare the residuals of the start and of the 30th iterate.
    R = Radon((16, 16), cl.view_angles(9))
    before = np.linalg.norm(R(solver.x) - y)
    for _ in range(30):
        solver.step()
    assert np.linalg.norm(R(solver.x) - y) < before
    with pytest.raises(ValueError, match="lam must be >= 0"):
        cl.tv_ct(y, -1.0)
    with pytest.raises(TypeError, match="y must be real"):
        cl.tv_ct(y + 1j, 0.1)
    with pytest.raises(ValueError, match="num_iters must be >= 1"):
        cl.tv_ct(y, 0.1, num_iters=0)


def test_tuned_lambdas_are_stored_for_every_benchmark_setting():
    for key in ((18, None), (36, None), (60, None), (180, None), (60, 1e4)):
        assert cl.TV_LAMS[key] in cl.LAM_GRID
    assert cl.tv_lam(60) == cl.TV_LAMS[(60, None)]
    assert cl.tv_lam(50) == cl.TV_LAMS[(60, None)]          # nearest view count
    with pytest.raises(ValueError, match="num_views must be >= 1"):
        cl.tv_lam(0)


def test_tune_tv_lam_picks_the_best_mean_psnr():
    result = cl.tune_tv_lam(6, seeds=(0,), lams=(0.0, 0.05, 5.0), num_iters=30, size=16)
    scores = result["psnr"]
    assert result["lam"] == max(scores, key=scores.get)
    assert scores[5.0] < scores[0.05]            # a huge λ flattens the image
    with pytest.raises(ValueError, match="lams must contain"):
        cl.tune_tv_lam(6, lams=())


# =====================================================================================
# The network.
# =====================================================================================
def test_network_starts_as_the_identity_and_checks_shapes():
    torch.manual_seed(0)
    net = build_fbpconvnet()
    x = torch.randn(2, 1, 32, 32)
    # The last convolution starts at zero: x_hat = x_fbp before training.
    torch.testing.assert_close(net(x, 18), x)
    torch.testing.assert_close(net(x, torch.tensor([18.0, 60.0])), x)
    assert net.stride == 8
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.zeros(1, 1, 30, 32), 18)
    with pytest.raises(ValueError, match=r"\(B, 1, M, N\)"):
        net(torch.zeros(1, 32, 32), 18)
    with pytest.raises(ValueError, match="num_views must be >= 1"):
        net(x, 0)
    with pytest.raises(ValueError, match="one value per image"):
        net(x, torch.tensor([18.0, 36.0, 60.0]))
    with pytest.raises(ValueError, match="equal length"):
        FBPConvNet(channels=(8, 16), num_blocks=(1,))


def test_view_count_changes_the_output_once_trained():
    torch.manual_seed(1)
    net = build_fbpconvnet(channels=(8, 16), num_blocks=(1, 1))
    torch.nn.init.normal_(net.tail.weight, std=0.1)
    x = torch.randn(1, 1, 16, 16)
    assert not torch.allclose(net(x, 18), net(x, 90))


def test_training_command_runs_a_few_steps(tmp_path, monkeypatch):
    import argparse

    from course_utils.train import TRAINERS, trainer
    assert TRAINERS["fbpconvnet"] == "course_utils.train.fbpconvnet"
    module = trainer("fbpconvnet")
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    out = tmp_path / "w.pt"
    # What `python -m course_utils.train fbpconvnet --steps 2 ...` runs: 2 steps of
    # phase 1 (squared error), 1 of phase 2 (absolute error), 1 of phase 3 (a drawn set).
    small = dict(cached_steps=1, cached_samples=4)
    module.main(parser.parse_args(["--steps", "2", "--finetune-steps", "1",
                                   "--cached-steps", "1", "--cached-samples", "4",
                                   "--batch-size", "2", "--out", str(out),
                                   "--checkpoint-dir", str(tmp_path)]))
    state = torch.load(out, weights_only=True)
    net = build_fbpconvnet()
    net.load_state_dict(state)
    assert (tmp_path / "phase1" / "checkpoint.pt").is_file()
    assert (tmp_path / "phase2" / "checkpoint.pt").is_file()
    assert (tmp_path / "phase3" / "checkpoint.pt").is_file()
    # Seeded: a second run from scratch gives the same weights, bit for bit.
    again = module.train(steps=2, finetune_steps=1, batch_size=2, out=tmp_path / "w2.pt",
                         checkpoint_dir=tmp_path / "second", verbose=False, **small)
    state2 = torch.load(again, weights_only=True)
    assert all(torch.equal(state[k], state2[k]) for k in state)
    # Phase 1 alone, then resumed into phases 2 and 3: a finished phase is not rerun and
    # the result equals the uninterrupted run, bit for bit.
    module.train(steps=2, finetune_steps=0, cached_steps=0, batch_size=2,
                 out=tmp_path / "w3.pt", checkpoint_dir=tmp_path / "third", verbose=False)
    resumed = module.train(steps=2, finetune_steps=1, batch_size=2, out=tmp_path / "w3.pt",
                           checkpoint_dir=tmp_path / "third", resume=True, verbose=False,
                           **small)
    state3 = torch.load(resumed, weights_only=True)
    assert all(torch.equal(state[k], state3[k]) for k in state)
    # Resuming a finished run draws no phase-3 set and saves the same weights.
    calls = []
    original = module.cached_set
    monkeypatch.setattr(module, "cached_set",
                        lambda *a, **k: calls.append(a) or original(*a, **k))
    again3 = module.train(steps=2, finetune_steps=1, batch_size=2, out=tmp_path / "w3b.pt",
                          checkpoint_dir=tmp_path / "third", resume=True, verbose=False,
                          **small)
    monkeypatch.undo()
    assert calls == []
    state3b = torch.load(again3, weights_only=True)
    assert all(torch.equal(state[k], state3b[k]) for k in state)
    # Phases 2 and 3 change the phase-1 weights.
    phase1 = torch.load(module.train(steps=2, finetune_steps=0, cached_steps=0, batch_size=2,
                                     out=tmp_path / "w4.pt",
                                     checkpoint_dir=tmp_path / "fourth", verbose=False),
                        weights_only=True)
    assert not all(torch.equal(state[k], phase1[k]) for k in state)


def test_training_rejects_bad_arguments(tmp_path):
    from course_utils.train.fbpconvnet import train
    with pytest.raises(ValueError, match="finetune_steps"):
        train(steps=1, finetune_steps=-1, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="finetune_lr"):
        train(steps=1, finetune_lr=0.0, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="steps"):
        train(steps=0, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="cached_steps must be >= 0"):
        train(steps=1, cached_steps=-1, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="cached_samples must be >= 1"):
        train(steps=1, cached_samples=0, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="cached_lr"):
        train(steps=1, cached_lr=0.0, out=tmp_path / "x.pt", checkpoint_dir=tmp_path)


def test_cached_set_is_seeded_and_spans_its_views():
    from course_utils.train.fbpconvnet import cached_set

    a = cached_set(0, 5, views=(18, 180), batch_size=2)
    b = cached_set(0, 5, views=(18, 180), batch_size=2)
    assert [u.shape for u in a] == [(5, 1, 64, 64), (5,), (5, 1, 64, 64)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert set(a[1].tolist()) <= {18.0, 180.0}
    # Its first chunk is the seeded batch (seed, 2, 0) of the phase-2 mixture.
    first = fbp_train.sample_batch(np.random.default_rng([0, 2, 0]), 2, views=(18, 180),
                                   clean_fraction=fbp_train.DEFAULTS["finetune_clean_fraction"],
                                   head_fraction=fbp_train.DEFAULTS["finetune_head_fraction"])
    np.testing.assert_array_equal(a[0][:2], first[0])
    np.testing.assert_array_equal(a[2][:2], first[2])


# =====================================================================================
# Shipped weights and postprocess.
# =====================================================================================
def test_shipped_weights_are_registered_small_and_load():
    entry = weights.registry()["fbpconvnet"]
    assert entry["command"] == "python -m course_utils.train fbpconvnet"
    assert {k: tuple(v) for k, v in entry["arch"].items()} == FBPCONVNET_ARCH
    assert weights.weights_path("fbpconvnet").stat().st_size <= 3 * 1024 ** 2
    assert entry["train_cpu_seconds"] <= 60 * 60
    net = cl.load_fbpconvnet()
    assert not net.training


def test_postprocess_removes_streaks_on_a_heldout_phantom():
    x_fine, x = cl.ct_phantom(cl.HELDOUT_SEEDS[0])
    y = cl.simulate_sinogram(x_fine, 36)
    x_fbp = cl.fbp_views(y)
    x_hat = cl.postprocess(x_fbp, 36)
    assert x_hat.shape == x.shape and x_hat.dtype == np.float64
    # Attenuation is non-negative: the network output is clipped at zero, and only there.
    assert x_hat.min() >= 0.0
    with torch.no_grad():
        raw = cl.load_fbpconvnet()(torch.tensor(x_fbp, dtype=torch.float32)[None, None],
                                   36.0)[0, 0].numpy().astype(np.float64)
    # same network, other thread count: float32 summation order, 1e-5 of a unit image
    np.testing.assert_allclose(x_hat, np.maximum(raw, 0.0), rtol=0, atol=1e-5)
    assert np.all(x_hat[raw < -1e-5] == 0.0) and np.any(raw < -1e-5)
    gain = psnr(x, x_hat) - psnr(x, x_fbp)
    # Measured gain on this phantom: see benchmarks/bench_ct_views.py; 3 dB is a floor
    # that a broken or untrained network (gain 0) cannot reach.
    assert gain > 3.0
    np.testing.assert_array_equal(x_hat, cl.postprocess(x_fbp, 36))  # deterministic


def test_postprocess_pads_odd_sizes_and_rejects_bad_input():
    x_fbp = np.random.default_rng(0).uniform(0, 1, (30, 27))
    assert cl.postprocess(x_fbp, 18).shape == (30, 27)
    with pytest.raises(TypeError, match="x_fbp must be real"):
        cl.postprocess(x_fbp + 1j, 18)
    with pytest.raises(ValueError, match="num_views must be >= 1"):
        cl.postprocess(x_fbp, 0)
    with pytest.raises(ValueError, match="x_fbp must be 2-D"):
        cl.postprocess(x_fbp[None], 18)
