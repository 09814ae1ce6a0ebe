"""The shared training loop: seeded batches, resume equals an uninterrupted run."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils.train import _loop  # noqa: E402


def _problem():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    w = torch.tensor([[1.0, -2.0, 0.5]])

    def batch_fn(rng, step):
        x = torch.from_numpy(rng.standard_normal((8, 3)).astype(np.float32))
        return x, x @ w.T

    def loss_fn(m, batch):
        x, y = batch
        return ((m(x) - y) ** 2).mean()

    return model, batch_fn, loss_fn


def test_lr_schedule_warms_up_and_decays_to_zero():
    assert _loop.lr_at(0, 100, 1.0, 10) == pytest.approx(0.1, rel=1e-3)
    assert _loop.lr_at(9, 100, 1.0, 10) == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.09)))
    assert _loop.lr_at(99, 100, 1.0, 10) < 1e-3


def test_fit_lowers_the_loss_and_logs(tmp_path, capsys):
    model, batch_fn, loss_fn = _problem()
    x, y = batch_fn(np.random.default_rng(5), 0)
    with torch.no_grad():
        before = float(loss_fn(model, (x, y)))
    res = _loop.fit(model, steps=200, seed=0, lr=0.05, batch_fn=batch_fn, loss_fn=loss_fn,
                    warmup=5, checkpoint_dir=tmp_path, log_every=100,
                    monitor=lambda m: "mon ok")
    with torch.no_grad():
        assert float(loss_fn(model, (x, y))) < 0.01 * before
    assert res.steps == 200 and res.start == 0 and res.cpu_seconds >= 0
    assert "mon ok" in capsys.readouterr().out


def test_resume_equals_uninterrupted_run(tmp_path):
    model_a, batch_fn, loss_fn = _problem()
    _loop.fit(model_a, steps=30, seed=3, lr=0.01, batch_fn=batch_fn, loss_fn=loss_fn,
              checkpoint_dir=tmp_path / "a", verbose=False)
    model_b, _, _ = _problem()
    _loop.fit(model_b, steps=30, seed=3, lr=0.01, batch_fn=batch_fn, loss_fn=loss_fn,
              checkpoint_dir=tmp_path / "b", stop_at=12, checkpoint_every=4, verbose=False)
    model_c, _, _ = _problem()
    res = _loop.fit(model_c, steps=30, seed=3, lr=0.01, batch_fn=batch_fn, loss_fn=loss_fn,
                    checkpoint_dir=tmp_path / "b", resume=True, verbose=False)
    assert res.start == 12
    for p, q in zip(model_a.parameters(), model_c.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_fit_rejects_bad_options(tmp_path):
    model, batch_fn, loss_fn = _problem()
    with pytest.raises(ValueError, match="steps"):
        _loop.fit(model, steps=0, seed=0, lr=0.1, batch_fn=batch_fn, loss_fn=loss_fn)
    with pytest.raises(ValueError, match="lr"):
        _loop.fit(model, steps=1, seed=0, lr=-1.0, batch_fn=batch_fn, loss_fn=loss_fn)


def test_save_state_is_float32_and_loads_weights_only(tmp_path):
    model = torch.nn.Linear(2, 2).double()
    path = _loop.save_state(model, tmp_path / "w.pt")
    state = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values())
    out, register = _loop.output_path("anything", tmp_path / "x.pt")
    assert out == tmp_path / "x.pt" and register is False


@pytest.mark.parametrize("module", ["denoiser", "generator", "fbpconvnet", "mri", "sr"])
def test_trainers_share_the_common_options(module):
    import argparse
    import importlib

    trainer = importlib.import_module(f"course_utils.train.{module}")
    parser = argparse.ArgumentParser()
    trainer.add_arguments(parser)
    args = parser.parse_args(["--steps", "7", "--seed", "3", "--threads", "1", "--batch-size",
                              "2", "--lr", "0.5", "--out", "w.pt", "--checkpoint-dir", "ck",
                              "--resume", "--log-every", "9"])
    assert (args.steps, args.seed, args.threads, args.batch_size, args.lr, args.out,
            args.checkpoint_dir, args.resume, args.log_every) == (7, 3, 1, 2, 0.5, "w.pt",
                                                                  "ck", True, 9)
    defaults = parser.parse_args([])
    # Defaults come from each trainer's DEFAULTS dict; resuming is never the default.
    assert defaults.seed == trainer.DEFAULTS["seed"] and defaults.resume is False
    assert defaults.lr == trainer.DEFAULTS["lr"] and defaults.out is None
