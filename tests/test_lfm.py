"""Tests of light-field microscopy: the PSFs, the filter bank and its adjoint, the neuron data, RL, FISTA, the network and the measures."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import lfm
from course_utils.operators import OPERATOR_NAMES, LightField, make_operator
from course_utils.solvers import richardson_lucy


@pytest.fixture(scope="module")
def op():
    return lfm.microscope()


@pytest.fixture(scope="module")
def scene(op):
    layout = lfm.neuron_layout(op, 24, seed=5)
    activity = np.random.default_rng(5).uniform(0.3, 1.0, 24)
    x = lfm.volume_from_activity(layout, activity)
    y = lfm.simulate_light_field(op, x, photons=200.0, seed=6)
    return layout, activity, x, y


# -- the PSFs -------------------------------------------------------------------------------
def test_psfs_shape_normalisation_and_cache(op):
    psfs = op.psfs
    assert psfs.shape == (9, 3, 3, 81, 81)
    assert psfs.min() >= 0
    np.testing.assert_allclose(psfs.sum(axis=(-2, -1)), 1.0, rtol=1e-12)
    assert lfm.lfm_psfs(lfm.DEPTHS) is psfs            # cached, read-only
    assert not psfs.flags.writeable


def _lenslet_energy(psf, pitch=9):
    k = psf.shape[0] // pitch
    return psf.reshape(k, pitch, k, pitch).sum(axis=(1, 3))


def test_focus_is_behind_one_lenslet_and_defocus_spreads(op):
    # A source in the native focal plane is focused on one lenslet: most of its light
    # falls behind it. Away from it the light spreads over more and more lenslets.
    spread = []
    for d in range(9):
        e = _lenslet_energy(op.psfs[d, 1, 1])
        spread.append(int(np.sum(e > 0.02 * e.max())))
        if op.depths[d] == 0:
            assert e[4, 4] > 0.75
    assert spread[4] == min(spread)
    assert spread[0] > spread[2] and spread[-1] > spread[-3]
    assert spread[0] >= 9 and spread[-1] >= 9


def test_in_focus_voxels_of_a_lenslet_look_alike(op):
    # The native focal plane: the voxels of one lenslet differ far less on the sensor than
    # off focus (the classic loss of lateral resolution there).
    def diversity(d):
        k = op.psfs[d].reshape(9, -1)
        return np.linalg.norm(k - k.mean(0), axis=1).mean() / np.linalg.norm(k.mean(0))

    assert diversity(4) < 0.6 * diversity(0)
    assert diversity(4) < 0.6 * diversity(8)


# -- the operator ----------------------------------------------------------------------------
def test_registered_with_a_small_default():
    assert "lightfield" in OPERATOR_NAMES
    small = make_operator("lightfield")
    assert isinstance(small, LightField)
    assert small.in_shape == (3, 8, 8) and small.out_shape == (20, 20)


def test_shapes_dot_test_and_batches(op):
    assert op.in_shape == (9, 72, 72) and op.out_shape == (216, 216)
    assert op.adjointness_test(seed=0) < 1e-12
    rng = np.random.default_rng(0)
    xs = rng.random((3,) + op.in_shape)
    ys = op.forward_batch(xs)
    np.testing.assert_allclose(ys[1], op(xs[1]), atol=1e-12)
    np.testing.assert_allclose(op.adjoint_batch(ys)[2], op.adjoint(ys[2]), atol=1e-12)


def test_flux_is_conserved(op):
    x = np.random.default_rng(1).random(op.in_shape)
    assert op(x).sum() == pytest.approx(x.sum(), rel=1e-12)
    np.testing.assert_allclose(op.adjoint(np.ones(op.out_shape)), 1.0, atol=1e-12)


def test_a_voxel_images_its_psf_at_its_lenslet(op):
    # The filter bank against the direct picture: one voxel (depth d, position (a, b) in
    # lenslet (m, m')) gives its kernel centred on that lenslet.
    d, a, b, m, mm = 2, 0, 2, 10, 12
    x = np.zeros(op.in_shape)
    x[d, 3 * m + a, 3 * mm + b] = 1.0
    y = op(x)
    expected = np.zeros(op.out_shape)
    r0, c0 = 9 * (m - 4), 9 * (mm - 4)
    expected[r0:r0 + 81, c0:c0 + 81] = op.psfs[d, a, b]
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_periodic_shift_invariance(op):
    x = np.random.default_rng(2).random(op.in_shape)
    # one lenslet (3 voxels) in the volume moves the light field by one lenslet (9 pixels)
    np.testing.assert_allclose(op(np.roll(x, 3, axis=2)), np.roll(op(x), 9, axis=1),
                               atol=1e-12)
    # one voxel is not a shift of the light field by any number of pixels
    shifted = op(np.roll(x, 1, axis=2))
    assert min(np.abs(shifted - np.roll(op(x), k, axis=1)).max() for k in range(9)) > 1e-3


def test_views_and_kernels(op):
    y = np.arange(216 * 216, dtype=float).reshape(216, 216)
    v = op.views(y)
    assert v.shape == (9, 9, 24, 24)
    assert v[2, 5, 3, 7] == y[9 * 3 + 2, 9 * 7 + 5]
    assert op.kernels(-8.0).shape == (3, 3, 81, 81)
    assert op.depth_index(16) == 8


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(pitch=9, sensor=100), ValueError, "pitch must divide the sensor"),
    (dict(pitch=0), ValueError, "pitch"),
    (dict(depths=[0.0, -4.0]), ValueError, "depths"),
    (dict(depths=[]), ValueError, "depths"),
    (dict(depths=[0.0, np.nan]), ValueError, "depths"),
    (dict(kernel_lenslets=4), ValueError, "kernel_lenslets"),
    (dict(lenslets=5, kernel_lenslets=7), ValueError, "kernel_lenslets"),
    (dict(voxels_per_lenslet=10), ValueError, "voxels_per_lenslet"),
    (dict(optics={"focal": 1.0}), ValueError, "optics"),
    (dict(optics={"na": 1.5}), ValueError, "na"),
    (dict(optics=3), TypeError, "optics"),
])
def test_bad_operator_arguments(kwargs, exc, word):
    args = dict(depths=(0.0,), pitch=5, lenslets=5, voxels_per_lenslet=1, kernel_lenslets=3)
    args.update(kwargs)
    with pytest.raises(exc, match=word):
        LightField(args.pop("depths"), **args)


def test_bad_inputs_name_the_argument(op, scene):
    with pytest.raises(ValueError, match="x must have shape"):
        op(np.zeros((8, 72, 72)))
    with pytest.raises(ValueError, match="depth must be one of"):
        op.kernels(5.0)
    with pytest.raises(TypeError, match="x"):
        op(np.zeros(op.in_shape, dtype=complex))
    _, _, x, y = scene
    with pytest.raises(ValueError, match="non-negative"):
        lfm.reconstruct(y - 1.0, "rl")
    with pytest.raises(ValueError, match="sensor shape"):
        lfm.reconstruct(y[:-9, :-9], "rl")
    with pytest.raises(ValueError, match="Unknown method"):
        lfm.reconstruct(y, "deconvolve")
    with pytest.raises(ValueError, match="x must be non-negative"):
        lfm.simulate_light_field(op, -x)
    with pytest.raises(ValueError, match="x must be a volume"):
        lfm.simulate_light_field(op, x[:4])
    with pytest.raises(ValueError, match="photons"):
        lfm.simulate_light_field(op, x, photons=0)
    with pytest.raises(TypeError, match="op"):
        lfm.simulate_light_field("microscope", x)
    small = make_operator("lightfield")
    with pytest.raises(ValueError, match="course's microscope"):
        lfm.reconstruct(np.zeros(small.out_shape), "network", op=small)


# -- the data ---------------------------------------------------------------------------------
def test_layout_is_seeded_with_separate_neurons_and_close_pairs(op):
    a = lfm.neuron_layout(op, 24, seed=3)
    b = lfm.neuron_layout(op, 24, seed=3)
    np.testing.assert_array_equal(a["centres"], b["centres"])
    c = a["centres"]
    dist = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(len(c)) * 1e9
    assert dist.min() >= 2 * lfm.NEURON_RADIUS + 1.0 - 1e-9
    assert len(a["pairs"]) == 6
    for i, j in a["pairs"]:
        assert np.linalg.norm(c[i] - c[j]) == pytest.approx(lfm.PAIR_DISTANCE)
    feet = a["footprints"]
    assert feet.shape == (24, 9, 72, 72)
    # footprints do not overlap, so the footprint-weighted mean reads activities exactly
    assert (feet > 0).sum(axis=0).max() == 1
    act = np.linspace(0.1, 1.0, 24)
    np.testing.assert_allclose(lfm.neuron_traces(lfm.volume_from_activity(a, act), a), act,
                               atol=1e-12)
    with pytest.raises(ValueError, match="num_pairs"):
        lfm.neuron_layout(op, 4, num_pairs=3)


def test_calcium_traces():
    k = lfm.calcium_kernel()
    assert k.max() == pytest.approx(1.0) and np.argmax(k) <= 3 and k[-1] < 0.01
    spikes, traces = lfm.calcium_traces(30, 400, seed=1)
    assert spikes.shape == traces.shape == (30, 400)
    assert traces.min() >= 0.15 - 1e-12
    # a spike in frame t raises the trace from frame t + 1 on
    i, t = np.argwhere(spikes > 0)[0]
    assert traces[i, t + 1] > traces[i, t]
    # independent neurons: the traces' correlations are small on average
    c = np.corrcoef(traces)[np.triu_indices(30, 1)]
    assert abs(c.mean()) < 0.05
    np.testing.assert_array_equal(lfm.calcium_traces(30, 400, seed=1)[1], traces)


def test_light_field_counts_are_seeded_poisson(op, scene):
    _, _, x, y = scene
    assert y.min() >= 0 and np.all(y == np.round(y))
    assert y.sum() == pytest.approx(200 * x.sum(), rel=0.01)
    np.testing.assert_array_equal(lfm.simulate_light_field(op, x, photons=200.0, seed=6), y)
    blurred = lfm.simulate_light_field(op, x, photons=200.0, seed=6, scatter=2.0)
    assert blurred.sum() == pytest.approx(y.sum(), rel=0.01)
    assert blurred.max() < 0.8 * y.max()


def test_recording(op):
    rec = lfm.recording(12, seed=4)
    assert rec["light_fields"].shape == (12, 216, 216)
    assert rec["traces"].shape == (24, 12)
    assert len(rec["layout"]["pairs"]) == 6


# -- reconstructions and measures ---------------------------------------------------------------
def test_rl_is_the_course_solver_and_the_batch_matches(op, scene):
    _, _, x, y = scene
    x_hat = lfm.reconstruct(y, "rl", num_iters=3)
    ref = richardson_lucy(op, y, 3).x_hat / 200.0
    np.testing.assert_allclose(x_hat, ref, rtol=1e-10, atol=1e-12)
    batch = lfm.reconstruct_batch(np.stack([y, y]), "rl", num_iters=3)
    np.testing.assert_allclose(batch[1], ref, rtol=1e-9, atol=1e-12)


def test_fista_non_negative_and_better_than_back_projection(op, scene):
    _, _, x, y = scene
    x_hat, info = lfm.reconstruct(y, "fista", num_iters=30, return_info=True)
    assert x_hat.min() >= 0
    obj = info["history"]["objective"]
    assert obj[-1] < obj[0]
    # 25.6 dB against 22.9 dB for the back-projection Hᵀy (both scaled to brightness)
    assert lfm.volume_psnr(x, x_hat, 1.0) > lfm.volume_psnr(x, op.adjoint(y / 200.0), 1.0) + 2


def test_measures_on_the_truth(op, scene):
    layout, activity, x, _ = scene
    found = lfm.detect_neurons(x, op)
    scores = lfm.detection_scores(found, layout["centres"])
    assert scores["recall"] == 1.0 and scores["precision"] == 1.0
    assert lfm.detection_scores(np.zeros((0, 3)), layout["centres"])["f1"] == 0.0
    t = np.random.default_rng(0).random((4, 50))
    assert lfm.crosstalk(np.vstack([t[0], t[0]]), [(0, 1)]) == pytest.approx(1.0)
    assert lfm.volume_psnr(x, x) == float("inf")
    with pytest.raises(ValueError, match="pairs"):
        lfm.crosstalk(t, [(0, 9)])


def test_network_matches_numpy_operator_and_beats_rl8(op, scene):
    torch = pytest.importorskip("torch")
    from course_utils.nets.lfm import TorchLightField

    tl = TorchLightField(op)
    x = np.random.default_rng(3).random((2,) + op.in_shape)
    y = tl(torch.from_numpy(x.astype(np.float32))).double().numpy()
    np.testing.assert_allclose(y, op.forward_batch(x), rtol=1e-4, atol=1e-5)
    back = tl.adjoint(torch.from_numpy(y.astype(np.float32))).double().numpy()
    np.testing.assert_allclose(back, op.adjoint_batch(op.forward_batch(x)), rtol=1e-4,
                               atol=1e-5)
    gram = tl.gram(torch.from_numpy(x.astype(np.float32))).double().numpy()
    np.testing.assert_allclose(gram, back, rtol=1e-4, atol=1e-5)
    # the network's one use of the physics, z = (HᵀH + λI)⁻¹Hᵀy: numpy and torch paths agree
    # and z solves the regularised normal equations
    from course_utils.nets.lfm import build_lfm_lista

    net0 = build_lfm_lista(op)
    yt = torch.from_numpy(y.astype(np.float32))
    z_np = net0.wiener(yt)
    z_t = net0.wiener(yt.clone().requires_grad_(True)).detach()
    np.testing.assert_allclose(z_np.numpy(), z_t.numpy(), rtol=1e-4, atol=1e-5)
    zv = net0.to_volume(z_np).double().numpy()
    lhs = op.adjoint_batch(op.forward_batch(zv)) + net0.lam * zv
    np.testing.assert_allclose(lhs, op.adjoint_batch(y), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="rank"):
        build_lfm_lista(op, rank=0)
    with pytest.raises(ValueError, match="lam"):
        build_lfm_lista(op, lam=-1.0)
    gains = []
    for seed in range(4):                    # held-out layouts (training uses seeds >= 1000)
        layout = lfm.neuron_layout(op, 24, seed=seed)
        x_true = lfm.volume_from_activity(
            layout, np.random.default_rng(seed).uniform(0.3, 1.0, 24))
        counts = lfm.simulate_light_field(op, x_true, photons=200.0, seed=seed + 1)
        net = lfm.reconstruct(counts, "network")
        rl8 = lfm.reconstruct(counts, "rl")
        assert net.shape == op.in_shape and net.min() >= 0
        gains.append(lfm.volume_psnr(x_true, net, 1.0) - lfm.volume_psnr(x_true, rl8, 1.0))
    # the target, on average over scenes: network ≥ RL-8 + 2 dB
    assert np.mean(gains) > 2.0 and min(gains) > 0.5


def test_training_augmentation_moves_footprints_with_the_volume(op):
    from course_utils.train.lfm import _augment

    layout = lfm.neuron_layout(op, 6, num_pairs=1, seed=5)
    a = np.linspace(0.2, 1.0, 6)
    x = lfm.volume_from_activity(layout, a)
    for seed in range(4):
        v, f = _augment(x, np.random.default_rng(seed), layout["footprints"])
        flat = f.reshape(len(f), -1)
        traces = flat @ v.ravel() / (flat ** 2).sum(axis=1)
        np.testing.assert_allclose(traces, a, atol=1e-9)
