"""``course_utils.nets`` re-exports every network of its modules and every weights loader."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

import course_utils.nets as nets  # noqa: E402


def public_modules(package) -> list:
    """The public sub-modules of ``package`` (names not starting with ``_``), imported."""
    return [importlib.import_module(f"{package.__name__}.{info.name}")
            for info in pkgutil.iter_modules(package.__path__)
            if not info.name.startswith("_")]


def networks_and_loaders(module) -> dict:
    """``{name: object}`` of the public ``torch.nn.Module`` subclasses that ``module``
    defines and of its public ``load_*`` callables."""
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
            found[name] = obj
        elif name.startswith("load_") and callable(obj):
            found[name] = obj
    return found


def unexported(package) -> list[str]:
    """``module.name`` of each network or loader of ``package`` that is not in its
    ``__all__`` or not the same object as ``getattr(package, name)``."""
    exported = set(getattr(package, "__all__", ()))
    missing = []
    for module in public_modules(package):
        for name, obj in networks_and_loaders(module).items():
            if name not in exported or getattr(package, name, None) is not obj:
                missing.append(f"{module.__name__.rpartition('.')[2]}.{name}")
    return sorted(missing)


def test_every_network_and_loader_is_exported():
    assert unexported(nets) == []


def test_the_walk_sees_the_shipped_networks():
    """The walk is not vacuous: it finds the networks of every module and the loaders."""
    seen = {name for module in public_modules(nets) for name in networks_and_loaders(module)}
    assert {"DRUNetLite", "SigmaUNet", "SkipNet", "FBPConvNet", "Generator", "LISTA",
            "GradientDescentNet", "WINNetLite", "LearnedDegradationINN", "KSpaceCNN",
            "DealiasUNet", "UnrolledDC", "PreUpsampling", "PostUpsampling", "Progressive",
            "BackProjection"} <= seen
    assert {"load_generator", "load_sr_net", "load_lista", "load_gdnet"} <= seen
    assert {m.__name__.rpartition(".")[2] for m in public_modules(nets)} >= {
        "denoiser", "diffusion", "dip", "fbpconvnet", "generator", "indigo", "lifting",
        "mri", "sr", "unrolled"}


def test_all_names_resolve_and_are_unique():
    assert len(nets.__all__) == len(set(nets.__all__))
    for name in nets.__all__:
        assert getattr(nets, name) is not None, name
    namespace: dict = {}
    exec("from course_utils.nets import *", namespace)
    assert set(nets.__all__) <= set(namespace)
    assert set(nets.__all__) <= set(dir(nets))
    with pytest.raises(AttributeError):
        nets.NoSuchNetwork  # noqa: B018


def test_every_shipped_weights_file_has_an_exported_network():
    """Each registry entry with a network (not precomputed snapshots) is built by a
    class exported here."""
    from course_utils import weights

    state_classes = {"denoiser": "DRUNetLite", "diffusion": "SigmaUNet",
                     "fbpconvnet": "FBPConvNet", "generator": "Generator",
                     "indigo_inn": "LearnedDegradationINN", "winnet": "WINNetLite",
                     "mri_kspace": "KSpaceCNN", "mri_unet": "DealiasUNet",
                     "mri_unrolled": "UnrolledDC", "sr_pre": "PreUpsampling",
                     "sr_post": "PostUpsampling", "sr_progressive": "Progressive",
                     "sr_dbpn": "BackProjection",
                     "xray_unfolded": "XrayUnfolded", "lfm_lista": "LFMLista"}
    for name in weights.registry():
        if name.endswith("_snapshots"):
            continue
        if name.startswith("sr_loss_"):
            cls = "PostUpsampling"
        elif name.startswith("lista_"):
            cls = "LISTA"
        elif name.startswith("gdnet_"):
            cls = "GradientDescentNet"
        else:
            cls = state_classes.get(name)
            assert cls is not None, f"which class of course_utils.nets loads {name!r}?"
        assert cls in nets.__all__, (name, cls)


def test_importing_the_package_stays_cheap():
    """Only the denoiser's module is imported with the package; the others (and the
    operators and scipy, which ``nets.unrolled`` needs) load on first use."""
    code = textwrap.dedent("""
        import sys
        import course_utils.nets as nets
        loaded = sorted(m for m in sys.modules if m.startswith("course_utils.nets."))
        assert loaded == ["course_utils.nets.denoiser"], loaded
        assert "course_utils.operators" not in sys.modules
        nets.LISTA
        assert "course_utils.nets.unrolled" in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


# -- the check itself can fail -----------------------------------------------------------
def test_the_check_flags_an_unexported_network(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_nets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from .good import Good, load_good
        from .half import Half
        __all__ = ["Good", "load_good", "Half"]
    """))
    (pkg / "good.py").write_text(textwrap.dedent("""
        from torch import nn
        class Good(nn.Module):
            pass
        class _Private(nn.Module):
            pass
        def load_good():
            return Good()
    """))
    (pkg / "half.py").write_text(textwrap.dedent("""
        import functools
        from torch import nn
        from .good import Good  # defined elsewhere: not this module's network
        class Half(nn.Module):
            pass
        class Forgotten(nn.Sequential):
            pass
        @functools.lru_cache
        def load_half():
            return Half()
    """))
    (pkg / "_hidden.py").write_text("from torch import nn\nclass Hidden(nn.Module):\n"
                                    "    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    package = importlib.import_module("fake_nets")
    try:
        assert unexported(package) == ["half.Forgotten", "half.load_half"]
        package.__all__.append("Forgotten")  # listed, but not reachable from the package
        assert unexported(package) == ["half.Forgotten", "half.load_half"]
    finally:
        for name in [m for m in sys.modules if m == "fake_nets" or m.startswith("fake_nets.")]:
            del sys.modules[name]
