"""Training command of the learned denoiser: data split, batches, schedule, CLI smoke run."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import weights
from course_utils.nets import build_denoiser
from course_utils.train import TRAINERS, trainer
from course_utils.train import denoiser as train_dn
from course_utils.train._loop import lr_at

REPO = Path(__file__).resolve().parents[1]


def test_heldout_images_are_never_trained_on():
    assert set(train_dn.HELDOUT_IMAGES).isdisjoint(train_dn.TRAIN_IMAGES)
    assert set(train_dn.HELDOUT_IMAGES).isdisjoint(train_dn.CHANNEL_IMAGES)
    assert set(train_dn.CHANNEL_IMAGES) <= set(train_dn.TRAIN_IMAGES)
    # "chelsea" and "cat" are the same picture in scikit-image: neither may be trained on.
    assert "cat" not in train_dn.TRAIN_IMAGES
    assert len(train_dn.HELDOUT_IMAGES) >= 3


def test_training_pool_contains_no_heldout_pixels():
    natural, phantoms = train_dn.training_pool(scales=(1.0,), num_phantoms=2)
    heldout = list(train_dn.heldout_images().values())
    for img in natural:
        for h in heldout:
            assert not (img.shape == h.shape and np.allclose(img, h, atol=1e-3))
    assert len(phantoms) == 2 and all(p.min() == 0.0 and p.max() == 1.0 for p in phantoms)


def test_load_gray_range_and_unknown_name():
    x = train_dn.load_gray("camera")
    assert x.shape == (512, 512) and x.dtype == np.float64
    assert 0.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(ValueError, match="name"):
        train_dn.load_gray("brain")  # fetched data, not bundled


def test_sample_batch_shapes_ranges_and_seed():
    rng = np.random.default_rng(0)
    natural = [rng.random((40, 50), dtype=np.float32)]
    phantoms = [np.zeros((40, 40), np.float32)]
    x, sigma, noise = train_dn.sample_batch(natural, phantoms, np.random.default_rng(1), 64, 16)
    assert x.shape == noise.shape == (64, 1, 16, 16) and sigma.shape == (64,)
    assert sigma.min() >= 0.0 and sigma.max() <= train_dn.SIGMA_MAX
    # Unit-variance noise: the sample std of 16384 N(0, 1) values is within 3% of 1.
    assert abs(noise.std() - 1.0) < 0.03
    x2, sigma2, noise2 = train_dn.sample_batch(natural, phantoms, np.random.default_rng(1), 64, 16)
    assert np.array_equal(x, x2) and np.array_equal(sigma, sigma2) and np.array_equal(noise, noise2)


def test_two_phase_schedule():
    # 9000 steps: 7000 of phase 1 (plain L1), then 2000 restarted at lr / 5 (weighted loss).
    lr = 5e-4
    assert train_dn._schedule(0, 9000, lr) == (pytest.approx(lr / 200), False)
    assert train_dn._schedule(6999, 9000, lr)[1] is False
    assert train_dn._schedule(6999, 9000, lr)[0] < 1e-6 * lr
    assert train_dn._schedule(7000, 9000, lr) == (pytest.approx(lr / 5), True)
    assert train_dn._schedule(8000, 9000, lr) == (pytest.approx(lr / 10), True)
    # Phase 1 of the 9000-step run is exactly a 7000-step cosine schedule.
    for step in (0, 100, 3500, 6000):
        assert train_dn._schedule(step, 9000, lr)[0] == lr_at(step, 7000, lr, 200)


def test_unknown_trainer():
    assert "denoiser" in TRAINERS
    with pytest.raises(ValueError, match="name"):
        trainer("no_such_network")


def test_train_command_runs_a_few_steps(tmp_path):
    out = tmp_path / "w" / "denoiser.pt"
    registry_before = weights.REGISTRY_FILE.read_bytes()
    cmd = [sys.executable, "-m", "course_utils.train", "denoiser", "--steps", "3",
           "--out", str(out), "--threads", "1", "--patch-size", "32", "--batch-size", "4",
           "--checkpoint-dir", str(tmp_path / "ckpt")]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "step 3/3" in run.stdout
    state = torch.load(out, weights_only=True)
    model = build_denoiser()
    model.load_state_dict(state)  # strict: every key and shape matches the architecture
    assert all(v.dtype == torch.float32 for v in state.values())
    assert (tmp_path / "ckpt" / "checkpoint.pt").is_file()
    # An explicit --out never touches the shipped registry.
    assert weights.REGISTRY_FILE.read_bytes() == registry_before


def test_train_command_rejects_bad_options(tmp_path):
    cmd = [sys.executable, "-m", "course_utils.train", "denoiser", "--steps", "2",
           "--patch-size", "30", "--out", str(tmp_path / "x.pt")]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0 and "patch_size must be a multiple of 8" in run.stderr
    run = subprocess.run([sys.executable, "-m", "course_utils.train", "nonet"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 2 and "invalid choice" in run.stderr
