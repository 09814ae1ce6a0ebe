"""MRI networks: shapes, exact data consistency, the training command, shipped weights."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils import weights  # noqa: E402
from course_utils.mri import fft2c, sampling_mask  # noqa: E402
from course_utils.mri_recon import HELDOUT_IMAGES  # noqa: E402
from course_utils.nets.mri import (MRI_ARCH, MRI_NET_NAMES, DealiasUNet, KSpaceCNN,  # noqa: E402
                                   UnrolledDC, build_mri_net, data_consistency, fft2c_t,
                                   from_channels, ifft2c_t, to_channels)
from course_utils.train import TRAINERS  # noqa: E402
from course_utils.train import mri as train_mri  # noqa: E402

SHAPE = (32, 24)


def _batch(seed=0, batch=2, shape=SHAPE):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *shape)) + 1j * rng.standard_normal((batch, *shape))
    mask = sampling_mask("variable_density", shape, 4.0, 0.125, seed=seed)
    x_t = torch.from_numpy(x.astype(np.complex64))
    m_t = torch.from_numpy(mask.astype(np.float32))
    return x_t, m_t, fft2c_t(x_t) * m_t


def _perturbed(name, seed=0):
    """A network whose zero-initialised output layers are randomised, so that its output
    differs from the zero-filled image (otherwise data consistency is trivial)."""
    torch.manual_seed(seed)
    net = build_mri_net(name)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def test_fft_matches_numpy():
    x, _, _ = _batch(1)
    np.testing.assert_allclose(fft2c_t(x).numpy(), fft2c(x.numpy()), atol=1e-4)
    np.testing.assert_allclose(ifft2c_t(fft2c_t(x)).numpy(), x.numpy(), atol=1e-5)
    np.testing.assert_array_equal(from_channels(to_channels(x)).numpy(), x.numpy())


@pytest.mark.parametrize("name", MRI_NET_NAMES)
def test_output_shape_and_dtype(name):
    x, m, y = _batch(2)
    with torch.no_grad():
        out = _perturbed(name)(y, m)
    assert out.shape == x.shape and torch.is_complex(out)


@pytest.mark.parametrize("name", MRI_NET_NAMES)
def test_initial_network_is_zero_filled(name):
    """Zero-initialised output layers: an untrained network returns F^H y exactly (so
    training starts from the zero-filled reconstruction)."""
    _, m, y = _batch(3)
    torch.manual_seed(0)
    with torch.no_grad():
        out = build_mri_net(name)(y, m)
    # float32 FFT round trips: 1e-5 relative
    assert torch.linalg.vector_norm(out - ifft2c_t(y)) <= 1e-5 * torch.linalg.vector_norm(y)


@pytest.mark.parametrize("name", ["kspace", "unrolled"])
def test_data_consistency_restores_measured_samples(name):
    x, m, y = _batch(4)
    with torch.no_grad():
        out = _perturbed(name)(y, m)
    k = fft2c_t(out)
    measured = m.bool().expand_as(k)
    # the measured samples come back exactly, up to one float32 FFT round trip
    err = (k[measured] - y[measured]).abs().max().item()
    assert err <= 1e-5 * y.abs().max().item()
    # and the network did change the unmeasured ones
    assert (k[~measured]).abs().max().item() > 1e-3


def test_unet_does_not_enforce_data_consistency():
    x, m, y = _batch(5)
    with torch.no_grad():
        out = _perturbed("unet")(y, m)
    k = fft2c_t(out)
    measured = m.bool().expand_as(k)
    assert (k[measured] - y[measured]).abs().max().item() > 1e-3


def test_unrolled_returns_every_stage():
    _, m, y = _batch(6)
    with torch.no_grad():
        out, stages = _perturbed("unrolled")(y, m, return_all=True)
    assert len(stages) == MRI_ARCH["unrolled"]["num_cascades"] + 1
    torch.testing.assert_close(stages[0], ifft2c_t(y))
    torch.testing.assert_close(stages[-1], out)


def test_soft_data_consistency_is_the_closed_form_minimiser():
    """(m y + λ k) / (m + λ) minimises ‖m ⊙ (k' − y)‖² + λ‖k' − k‖²: the gradient
    m ⊙ (k' − y) + λ (k' − k) vanishes there."""
    _, m, y = _batch(7)
    k = torch.randn_like(y)
    lam = 0.3
    kp = data_consistency(k, y, m, lam)
    grad = m * (kp - y) + lam * (kp - k)
    assert grad.abs().max().item() < 1e-6
    hard = data_consistency(k, y, m)
    torch.testing.assert_close(hard[m.bool().expand_as(k)], y[m.bool().expand_as(k)])
    torch.testing.assert_close(hard[~m.bool().expand_as(k)], k[~m.bool().expand_as(k)])


def test_bad_inputs():
    net = KSpaceCNN(channels=4, dilations=(1,))
    _, m, y = _batch(8)
    with pytest.raises(TypeError, match="y must be a complex tensor"):
        net(y.real, m)
    with pytest.raises(ValueError, match="y must have shape"):
        net(y[0], m)
    with pytest.raises(ValueError, match="mask must have shape"):
        net(y, m[:-1])
    with pytest.raises(TypeError, match="mask must be a real"):
        net(y, m.to(torch.complex64))
    with pytest.raises(ValueError, match="multiples of 8"):
        DealiasUNet()(torch.zeros(1, 20, 20, dtype=torch.complex64), torch.ones(20, 20))
    with pytest.raises(ValueError, match="Unknown name"):
        build_mri_net("gan")
    with pytest.raises(ValueError, match="channels"):
        KSpaceCNN(channels=0)
    with pytest.raises(ValueError, match="num_layers"):
        UnrolledDC(num_layers=1)
    with pytest.raises(ValueError, match="at least two scales"):
        DealiasUNet(channels=(8,))


# -- training ------------------------------------------------------------------------------
def test_trainers_registered_and_heldout_never_trained_on():
    for name in ("mri-kspace", "mri-unet", "mri-unrolled"):
        assert TRAINERS[name] == "course_utils.train.mri"
    assert set(HELDOUT_IMAGES) == {"shepp_logan", "mri_slice"}
    assert not set(HELDOUT_IMAGES) & set(train_mri.TRAIN_IMAGES)
    assert "shepp_logan_phantom" not in train_mri.TRAIN_IMAGES


def test_sample_batch_is_seeded_and_complex():
    pool = [np.random.default_rng(k).random((40, 40)).astype(np.float32) for k in range(3)]
    a = train_mri.sample_batch(pool, np.random.default_rng([0, 5]), 3, 16)
    b = train_mri.sample_batch(pool, np.random.default_rng([0, 5]), 3, 16)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    x, masks = a
    assert x.shape == (3, 16, 16) and np.iscomplexobj(x)
    assert np.abs(x).max() <= 1.0 + 1e-6
    # whole phase-encode rows, 4x or 8x
    assert np.all(masks.min(axis=2) == masks.max(axis=2))
    assert set(np.round(16 / masks[:, :, 0].sum(axis=1)).astype(int)) <= {4, 5, 8}


def test_training_command_runs_and_resumes(tmp_path):
    """Two steps through the command line; a run resumed after one step ends with the
    same weights as an uninterrupted two-step run (the batch of step k depends only on
    the seed and k)."""
    from course_utils.train.__main__ import main

    common = ["--size", "16", "--batch-size", "2", "--log-every", "1"]
    out_a = tmp_path / "a.pt"
    assert main(["mri-unrolled", "--steps", "2", "--out", str(out_a),
                 "--checkpoint-dir", str(tmp_path / "ck_a"), *common]) == 0
    state = torch.load(out_a, weights_only=True)
    build_mri_net("unrolled").load_state_dict(state)

    out_b = tmp_path / "b.pt"
    train_mri.train("unrolled", steps=1, out=out_b, checkpoint_dir=tmp_path / "ck_b",
                    size=16, batch_size=2, verbose=False)
    train_mri.train("unrolled", steps=2, out=out_b, checkpoint_dir=tmp_path / "ck_b",
                    size=16, batch_size=2, resume=True, verbose=False)
    resumed = torch.load(out_b, weights_only=True)
    for key in state:
        torch.testing.assert_close(resumed[key], state[key], rtol=0, atol=1e-6)


def test_train_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="name"):
        train_mri.train("gan", steps=1, out=tmp_path / "x.pt")
    with pytest.raises(ValueError, match="size must be a multiple of 8"):
        train_mri.train("unet", steps=1, size=20, out=tmp_path / "x.pt")
    with pytest.raises(ValueError, match="steps"):
        train_mri.train("unet", steps=0, out=tmp_path / "x.pt")


# -- shipped weights -----------------------------------------------------------------------
@pytest.mark.parametrize("name", MRI_NET_NAMES)
def test_shipped_weights_load_with_hash_check(name, tmp_path):
    key = f"mri_{name}"
    path = weights.weights_path(key)
    assert path.stat().st_size <= 3e6                       # ≤ 3 MB each
    entry = weights.registry()[key]
    assert entry["command"] == f"python -m course_utils.train mri-{name}"
    from course_utils.train.mri import STEPS
    assert entry["steps"] == STEPS[name]                    # the command's defaults
    assert 0 < entry["train_cpu_seconds"] <= 60 * 60       # COURSE §5 training budget
    net = build_mri_net(name)
    net.load_state_dict(weights.load_state_dict(key))      # SHA-256 checked, weights_only
    altered = tmp_path / path.name
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsError, match="corrupted or were changed"):
        weights.load_state_dict(key, path=altered)


def test_all_shipped_weights_within_budget():
    # COURSE.md §5: all shipped weights together <= 30 MB
    total = sum(weights.weights_path(k).stat().st_size for k in weights.registry()
                if weights.weights_path(k).is_file())
    assert total <= 30e6
