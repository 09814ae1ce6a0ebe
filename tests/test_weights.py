"""Weights registry: hashes, weights_only loading, clear errors for missing or corrupt files."""
import re

import pytest
import torch

from course_utils import denoisers, weights
from course_utils.nets import build_denoiser

COMMAND = "python -m course_utils.train denoiser"


def test_registry_entry_for_denoiser():
    entry = weights.registry()["denoiser"]
    assert entry["file"] == "denoiser.pt"
    assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
    assert entry["command"] == COMMAND == weights.training_command("denoiser")


def test_shipped_file_matches_hash_and_size_budget():
    path = weights.weights_path("denoiser")
    assert weights.sha256_file(path) == weights.registry()["denoiser"]["sha256"]
    assert path.stat().st_size <= 10 * 2**20  # issue: weights <= 10 MB


def test_load_state_dict_fits_the_architecture():
    state = weights.load_state_dict("denoiser")
    model = build_denoiser()
    model.load_state_dict(state)  # strict
    assert all(v.dtype == torch.float32 for v in state.values())


def test_unknown_name():
    with pytest.raises(ValueError, match="name"):
        weights.load_state_dict("no_such_weights")


def test_missing_file_names_the_training_command(tmp_path):
    with pytest.raises(weights.MissingWeightsError, match=re.escape(COMMAND)):
        weights.load_state_dict("denoiser", path=tmp_path / "absent.pt")
    # MissingWeightsError is also a FileNotFoundError.
    with pytest.raises(FileNotFoundError):
        weights.load_state_dict("denoiser", path=tmp_path / "absent.pt")


def test_corrupted_copy_is_rejected(tmp_path):
    data = bytearray(weights.weights_path("denoiser").read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte
    bad = tmp_path / "denoiser.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsError, match="corrupted.*" + re.escape(COMMAND)):
        weights.load_state_dict("denoiser", path=bad)


class _Payload:
    """An arbitrary class: unpickling it needs code execution, refused by weights_only."""


def test_loading_uses_weights_only(tmp_path, monkeypatch):
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1), "obj": _Payload()}, evil)
    entries = {"denoiser": {"file": "evil.pt", "sha256": weights.sha256_file(evil),
                            "command": COMMAND}}
    monkeypatch.setattr(weights, "registry", lambda: entries)
    with pytest.raises(weights.WeightsError, match="could not be read"):
        weights.load_state_dict("denoiser", path=evil)


def test_learned_denoise_without_weights_raises_not_falls_back(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)  # an empty folder
    denoisers.load_learned_denoiser.cache_clear()
    try:
        with pytest.raises(weights.MissingWeightsError, match=re.escape(COMMAND)):
            denoisers.denoise(torch.zeros(8, 8).numpy(), 0.1, method="learned")
    finally:
        denoisers.load_learned_denoiser.cache_clear()


# -- the WINNet-style lifting denoiser ------------------------------------------------------
WINNET_COMMAND = "python -m course_utils.train winnet"


def test_winnet_entry_hash_size_and_architecture():
    from course_utils.nets.lifting import WINNET_ARCH, build_winnet

    entry = weights.registry()["winnet"]
    assert entry["file"] == "winnet.pt" and entry["command"] == WINNET_COMMAND
    assert entry["arch"] == WINNET_ARCH
    path = weights.weights_path("winnet")
    assert weights.sha256_file(path) == entry["sha256"]
    assert path.stat().st_size <= 2 * 2**20  # issue: weights <= 2 MB
    assert entry["train_cpu_seconds"] <= 3600  # COURSE: <= 60 CPU minutes
    model = build_winnet()
    model.load_state_dict(weights.load_state_dict("winnet"))  # strict
    assert sum(p.numel() for p in model.parameters()) == entry["parameters"]


def test_winnet_without_weights_raises_and_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)  # an empty folder
    denoisers.load_winnet.cache_clear()
    try:
        with pytest.raises(weights.MissingWeightsError, match=re.escape(WINNET_COMMAND)):
            denoisers.denoise(torch.zeros(8, 8).numpy(), 0.1, method="winnet")
    finally:
        denoisers.load_winnet.cache_clear()


# -- training cost: process CPU seconds, for every entry ------------------------------------
def test_every_entry_records_train_cpu_seconds_and_no_wall_time():
    """Training cost is process CPU time (``time.process_time``), comparable between
    machines and unaffected by other jobs; wall-clock ``train_seconds`` is not recorded."""
    for name, entry in weights.registry().items():
        cpu = entry.get("train_cpu_seconds")
        assert isinstance(cpu, int) and cpu > 0, (name, cpu)
        assert cpu <= 3600, name  # COURSE: <= 60 CPU minutes per network
        assert "train_seconds" not in entry, name


def test_trainers_record_cpu_seconds():
    """Every trainer that writes a registry entry passes ``train_cpu_seconds`` and never
    wall-clock ``train_seconds``."""
    from pathlib import Path

    import course_utils.train as train

    sources = {p.name: p.read_text(encoding="utf-8")
               for p in Path(train.__file__).parent.glob("*.py")}
    writers = {name for name, src in sources.items()
               if "register(" in src and not name.startswith("_")}
    assert {"lista.py", "gdnet.py", "dip.py", "generator.py", "denoiser.py",
            "indigo_snapshots.py"} <= writers
    for name in writers:
        assert "train_cpu_seconds=" in sources[name], name
        assert not re.search(r"\btrain_seconds\s*=", sources[name]), name
