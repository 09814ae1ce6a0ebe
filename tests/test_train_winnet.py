"""Training command of the WINNet-style lifting denoiser: a few steps, options, registry."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils import weights
from course_utils.nets.lifting import WINNET_ARCH, build_winnet
from course_utils.train import TRAINERS, trainer
from course_utils.train import winnet as train_wn

REPO = Path(__file__).resolve().parents[1]


def test_registered_in_the_command_table():
    assert TRAINERS["winnet"] == "course_utils.train.winnet"
    assert trainer("winnet") is train_wn


def test_train_command_runs_a_few_steps(tmp_path):
    out = tmp_path / "w" / "winnet.pt"
    registry_before = weights.REGISTRY_FILE.read_bytes()
    cmd = [sys.executable, "-m", "course_utils.train", "winnet", "--steps", "3",
           "--out", str(out), "--threads", "1", "--patch-size", "32", "--batch-size", "2",
           "--log-every", "1", "--checkpoint-dir", str(tmp_path / "ckpt")]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "step 3/3" in run.stdout and "monitor PSNR(sigma=25)" in run.stdout
    state = torch.load(out, weights_only=True)
    model = build_winnet()
    model.load_state_dict(state)  # strict: every key and shape matches WINNET_ARCH
    assert all(v.dtype == torch.float32 for v in state.values())
    assert (tmp_path / "ckpt" / "checkpoint.pt").is_file()
    # An explicit --out never touches the shipped registry.
    assert weights.REGISTRY_FILE.read_bytes() == registry_before


def test_training_is_seeded_and_moves_every_part(tmp_path):
    # A tiny network, two runs with the same seed: identical weights, and both the
    # lifting networks (zero-initialised last layers) and the thresholds have moved.
    arch = {"levels": 1, "num_steps": 1, "hidden": 4, "num_layers": 2, "detail_hidden": 0}
    kw = dict(steps=30, threads=1, batch_size=4, patch_size=16, lr=1e-2, arch=arch,
              log_every=30, verbose=False)
    a = train_wn.train(out=tmp_path / "a.pt", checkpoint_dir=tmp_path / "ca", **kw)
    b = train_wn.train(out=tmp_path / "b.pt", checkpoint_dir=tmp_path / "cb", **kw)
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    trained = build_winnet(**arch)
    trained.load_state_dict(sa)
    last = trained.transform.predictors[0][0].net[-1].weight
    assert last.abs().sum() > 0
    assert not torch.equal(trained.theta, build_winnet(**arch).theta)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, "steps"),
    ({"patch_size": 33}, ValueError, r"patch_size must be a multiple of 2\*\*levels"),
    ({"lr": -1.0}, ValueError, "lr"),
    ({"arch": {"hidden": 4}}, ValueError, "explicit out"),
])
def test_bad_options(kwargs, error, match, tmp_path):
    kwargs = {"out": tmp_path / "x.pt", **kwargs} if "arch" not in kwargs else kwargs
    with pytest.raises(error, match=match):
        train_wn.train(verbose=False, checkpoint_dir=tmp_path, **kwargs)


def test_shipped_architecture_fits_the_patch_size():
    assert train_wn.DEFAULTS["patch_size"] % 2 ** WINNET_ARCH["levels"] == 0
