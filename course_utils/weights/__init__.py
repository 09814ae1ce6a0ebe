"""Shipped network weights: a registry of name -> file, SHA-256 and training command."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .._validate import check_choice

__all__ = ["WEIGHTS_DIR", "REGISTRY_FILE", "WeightsError", "MissingWeightsError",
           "registry", "weights_path", "training_command", "sha256_file",
           "load_state_dict", "load_frozen", "register"]

#: Folder holding the shipped ``*.pt`` files and ``registry.json``.
WEIGHTS_DIR = Path(__file__).resolve().parent
#: The registry: ``{name: {"file", "sha256", "command", ...}}``.
REGISTRY_FILE = WEIGHTS_DIR / "registry.json"


class WeightsError(RuntimeError):
    """A weights file is corrupted, altered or unreadable."""


class MissingWeightsError(WeightsError, FileNotFoundError):
    """A weights file is absent."""


def registry() -> dict:
    """The registry as a dict ``{name: {"file", "sha256", "command", ...}}``."""
    if not REGISTRY_FILE.exists():
        return {}
    with open(REGISTRY_FILE, encoding="utf-8") as f:
        return json.load(f)


def _entry(name: str) -> dict:
    entries = registry()
    check_choice(name, "name", sorted(entries))
    return entries[name]


def training_command(name: str) -> str:
    """The shell command that reproduces the weights ``name``."""
    return _entry(name).get("command", f"python -m course_utils.train {name}")


def weights_path(name: str) -> Path:
    """Where the shipped weights ``name`` live."""
    return WEIGHTS_DIR / _entry(name)["file"]


def sha256_file(path) -> str:
    """Hex SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict(name: str, path=None) -> dict:
    """Load the registered weights ``name`` after checking their SHA-256.

    Parameters
    ----------
    name : str
        A registry entry, e.g. ``"denoiser"``.
    path : str or Path, optional
        Read this file instead of the shipped one (it must still match the registered hash).

    Returns
    -------
    dict
        The ``state_dict``, read with ``torch.load(..., weights_only=True)`` (no pickled code
        is executed).

    Raises
    ------
    MissingWeightsError
        If the file does not exist; the message names the training command.
    WeightsError
        If the file's SHA-256 differs from the registry or the file cannot be read.
    """
    entry = _entry(name)
    command = entry.get("command", f"python -m course_utils.train {name}")
    path = Path(path) if path is not None else WEIGHTS_DIR / entry["file"]
    if not path.is_file():
        raise MissingWeightsError(
            f"weights {name!r} not found at {path}; create them with `{command}`")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise WeightsError(
            f"weights {name!r} at {path} are corrupted or were changed: SHA-256 {digest[:12]}... "
            f"does not match the registered {entry['sha256'][:12]}...; "
            f"recreate them with `{command}`")
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a file with the right hash should always load
        raise WeightsError(f"weights {name!r} at {path} could not be read ({err}); "
                           f"recreate them with `{command}`") from err
    if not isinstance(state, dict):
        raise WeightsError(f"weights {name!r} at {path} do not hold a state_dict; "
                           f"recreate them with `{command}`")
    return state


def load_frozen(model, name: str):
    """Load the registered weights ``name`` into ``model`` (strictly), put it in eval mode
    and freeze its parameters; returns ``model``. Errors as :func:`load_state_dict`."""
    model.load_state_dict(load_state_dict(name))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def register(name: str, file: str, command: str, **meta) -> dict:
    """Add or update the registry entry ``name`` for ``WEIGHTS_DIR / file``, hashing the file.

    Extra keywords (architecture, training time, ...) are stored with the entry.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    path = WEIGHTS_DIR / file
    if not path.is_file():
        raise MissingWeightsError(f"file must exist in {WEIGHTS_DIR}, got {file!r}")
    entries = registry()
    entries[name] = {"file": file, "sha256": sha256_file(path), "command": command, **meta}
    with open(REGISTRY_FILE, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2, sort_keys=True)
        f.write("\n")
    return entries[name]
