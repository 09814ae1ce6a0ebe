"""Tests of the snapshot command behind the notebook 06 widget (course_utils.train.dip)."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from course_utils import weights
from course_utils.train import TRAINERS, trainer
from course_utils.train.dip import compute_snapshots, main, observation

torch = pytest.importorskip("torch")


def test_command_is_registered():
    assert TRAINERS["dip-snapshots"] == "course_utils.train.dip"
    assert trainer("dip-snapshots").compute_snapshots is compute_snapshots


def test_observation_is_the_masked_noisy_image():
    x, y, mask = observation(0.5, 0.1)
    assert x.shape == y.shape == mask.shape == (64, 64)
    assert np.all(y[mask == 0] == 0.0)
    # On observed pixels y - x is the seeded noise: std 0.1 within 5 % (2048 samples).
    assert np.std((y - x)[mask > 0]) == pytest.approx(0.1, rel=0.05)
    x0, y0, m0 = observation(0.0, 0.0)
    np.testing.assert_array_equal(x0, y0)
    assert m0.all()
    with pytest.raises(ValueError, match="ratio must be < 1"):
        observation(1.0, 0.1)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        observation(0.5, -0.1)


def test_small_grid_matches_a_direct_fit():
    from course_utils.dip import dip_fit
    out = compute_snapshots((0.5,), (0.1,), num_iters=6, snapshot_iters=(0, 5), verbose=False)
    assert out["snapshots"].dtype == torch.uint8 and out["snapshots"].shape == (1, 1, 2, 64, 64)
    x, y, mask = observation(0.5, 0.1)
    fit = dip_fit(y, mask, num_iters=6, x_true=x, snapshot_at=(5,))
    np.testing.assert_allclose(out["psnr"][0, 0].numpy(), fit.psnr, atol=1e-4)
    stored = out["snapshots"][0, 0, 1].numpy() / 255.0
    # uint8 storage: every pixel within half a grey level.
    assert np.max(np.abs(stored - np.clip(fit.iterates[5], 0, 1))) <= 0.5 / 255 + 1e-9
    with pytest.raises(ValueError, match="snapshot_iters must be <= 5"):
        compute_snapshots((0.5,), (0.1,), num_iters=6, snapshot_iters=(6,), verbose=False)
    with pytest.raises(ValueError, match="num_iters must be >= 1"):
        compute_snapshots((0.5,), (0.1,), num_iters=0, verbose=False)


def test_main_with_out_writes_a_file_and_leaves_the_registry(tmp_path, monkeypatch):
    import course_utils.train.dip as module
    monkeypatch.setattr(module, "RATIOS", (0.25,))
    monkeypatch.setattr(module, "SIGMAS", (0.05,))
    monkeypatch.setattr(module, "SNAPSHOT_ITERS", (0, 2))
    before = weights.registry()
    original = module.compute_snapshots
    monkeypatch.setattr(module, "compute_snapshots",
                        lambda num_iters: original((0.25,), (0.05,), num_iters=num_iters,
                                                   snapshot_iters=(0, 2), verbose=False))
    out = tmp_path / "snaps.pt"
    path = main(argparse.Namespace(out=str(out), num_iters=3, threads=1))
    assert path == out and out.is_file()
    state = torch.load(out, weights_only=True)
    assert state["snapshots"].shape == (1, 1, 2, 64, 64)
    assert weights.registry() == before
