"""Training commands of notebook 10: the diffusion prior, INDIGO's INN and the widget's runs."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils import weights
from course_utils.nets.diffusion import build_diffusion_net
from course_utils.nets.indigo import build_indigo_inn
from course_utils.train import TRAINERS, trainer
from course_utils.train import diffusion as train_diffusion
from course_utils.train import indigo_inn as train_inn

REPO = Path(__file__).resolve().parents[1]


def test_registered_in_the_command_table():
    assert trainer("diffusion") is train_diffusion
    assert trainer("indigo-inn") is train_inn
    assert TRAINERS["indigo-snapshots"] == "course_utils.train.indigo_snapshots"


def test_diffusion_command_runs_a_few_steps(tmp_path):
    out = tmp_path / "d.pt"
    registry_before = weights.REGISTRY_FILE.read_bytes()
    cmd = [sys.executable, "-m", "course_utils.train", "diffusion", "--steps", "2",
           "--batch-size", "2", "--out", str(out), "--log-every", "1",
           "--checkpoint-dir", str(tmp_path / "ck")]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "step 2/2" in run.stdout and "held-out PSNR at sigma" in run.stdout
    build_diffusion_net().load_state_dict(torch.load(out, weights_only=True))  # strict
    assert weights.REGISTRY_FILE.read_bytes() == registry_before


def test_diffusion_training_is_seeded_and_saves_the_moving_average(tmp_path):
    arch = {"channels": (8, 8, 8), "emb_dim": 16, "groups": 4}
    kw = dict(steps=4, batch_size=2, arch=arch, log_every=4, verbose=False)
    a = train_diffusion.train(out=tmp_path / "a.pt", checkpoint_dir=tmp_path / "ca", **kw)
    b = train_diffusion.train(out=tmp_path / "b.pt", checkpoint_dir=tmp_path / "cb", **kw)
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    ck = torch.load(tmp_path / "ca" / "checkpoint.pt", weights_only=True)["model"]
    # the saved weights are the moving average, not the last iterate
    assert torch.equal(sa["head.weight"], ck["ema.head.weight"])
    assert not torch.equal(ck["ema.head.weight"], ck["net.head.weight"])


def test_indigo_inn_training_is_seeded_and_fits(tmp_path):
    kw = dict(steps=30, batch_size=4, log_every=30, verbose=False)
    a = train_inn.train(out=tmp_path / "a.pt", checkpoint_dir=tmp_path / "ca", **kw)
    b = train_inn.train(out=tmp_path / "b.pt", checkpoint_dir=tmp_path / "cb", **kw)
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    build_indigo_inn().load_state_dict(sa)


@pytest.mark.parametrize("kwargs, match", [({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"),
                                           ({"arch": {"emb_dim": 8}}, "explicit out")])
def test_diffusion_rejects_bad_options(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        train_diffusion.train(checkpoint_dir=tmp_path, verbose=False, **kwargs)
