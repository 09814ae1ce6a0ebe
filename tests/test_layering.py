"""The layering of ``course_utils``: the operators and the networks sit below the lectures.

From the bottom up:

* **base**: the private top-level modules ``course_utils._*`` (``_validate``, ``_kspace``,
  ``_bicubic``, ...) import no other part of ``course_utils`` than the base;
* ``course_utils.weights`` imports only the base;
* ``course_utils.operators`` imports only the base and itself;
* ``course_utils.nets`` imports only the base, ``operators``, ``weights`` and itself;
* everything else (``mri``, ``sr``, ``unrolled``, ``data``, ``train``, ``widgets``, the
  package ``course_utils`` itself, ...) is a higher layer, which the lower ones never
  import, neither at module level nor inside a function.

Helpers shared by a lecture module and its operator or network (the centred FFTs and
sampling patterns of ``mri``, the bicubic matrices of ``sr``) therefore live in the base,
and the lecture module re-exports them under their historical names.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = "course_utils"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

BASE = "<base>"
#: Layer -> the top-level parts of ``course_utils`` it may import (BASE: ``course_utils._*``).
ALLOWED: dict[str, frozenset[str]] = {
    BASE: frozenset({BASE}),
    "weights": frozenset({BASE, "weights"}),
    "operators": frozenset({BASE, "operators"}),
    "nets": frozenset({BASE, "operators", "weights", "nets"}),
}


def _part(module: str) -> str | None:
    """The top-level part of ``course_utils`` that ``module`` belongs to (``BASE`` for a
    private top-level module, ``""`` for the package itself), or None outside it."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return ""
    return BASE if parts[1].startswith("_") else parts[1]


def imported_modules(source: str, module: str, *, is_package: bool = False):
    """Every ``(line, module)`` that ``source`` (the code of ``module``) imports, at any
    depth (inside functions and classes too), relative imports resolved;
    ``from P import a`` counts as importing ``P.a`` when ``P`` is a package of
    ``course_utils`` (``a`` may be a sub-module), and ``importlib.import_module`` /
    ``__import__`` with a constant absolute name count too."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 > len(parts) - 1:
                    raise ValueError(f"{module}: relative import beyond the top level "
                                     f"(line {node.lineno})")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            if _part(target) in ("", "operators", "nets", "weights"):
                # names of a package may be its sub-modules: count them as such
                found += [(node.lineno, target if alias.name == "*" else
                           f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name)
                       and node.func.id in ("import_module", "__import__")))):
            found.append((node.lineno, node.args[0].value))
    return found


def layering_violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """The imports of ``source`` (the code of ``module``) that break :data:`ALLOWED`."""
    layer = _part(module)
    if layer not in ALLOWED:
        return []
    allowed = ALLOWED[layer]
    problems = []
    for line, target in imported_modules(source, module, is_package=is_package):
        part = _part(target)
        if part is not None and part not in allowed:
            problems.append(f"{module}, line {line}: imports {target} "
                            f"(layer {layer!r} may import only {sorted(allowed)})")
    return problems


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    is_package = rel.name == "__init__"
    parts = rel.parts[:-1] if is_package else rel.parts
    return ".".join(parts), is_package


def _lower_layer_files() -> list[Path]:
    files = sorted(p for p in ROOT.glob("_*.py") if not p.name.startswith("__"))
    for sub in ("weights", "operators", "nets"):
        files += sorted((ROOT / sub).rglob("*.py"))
    return files


@pytest.mark.parametrize("path", _lower_layer_files(),
                         ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_lower_layers_import_nothing_above_them(path):
    module, is_package = _module_name(path)
    assert _part(module) in ALLOWED
    assert layering_violations(path.read_text(encoding="utf-8"), module,
                               is_package=is_package) == []


def test_the_rule_covers_every_layer_that_exists():
    assert {p.stem for p in _lower_layer_files()} >= {"_validate", "_kspace", "_bicubic"}
    for sub in ("weights", "operators", "nets"):
        assert (ROOT / sub / "__init__.py").is_file()
    assert len(_lower_layer_files()) > 15


# -- the checker itself can fail --------------------------------------------------------
@pytest.mark.parametrize("module, source, target", [
    # the two circles this rule removed: a module-level and a lazy import
    ("course_utils.operators.mri", "from ..mri import _fft2c, sampling_mask\n",
     "course_utils.mri"),
    ("course_utils.nets.sr",
     "def _matrix(n, s):\n    from ..sr import bicubic_matrix\n    return bicubic_matrix(n, s)\n",
     "course_utils.sr"),
    # other spellings of the same thing
    ("course_utils.nets.sr", "from .. import sr\n", "course_utils.sr"),
    ("course_utils.nets.sr", "from course_utils import mri, weights\n", "course_utils.mri"),
    ("course_utils.operators.ct", "import course_utils.data as data\n", "course_utils.data"),
    ("course_utils.operators.ct", "from ... import course_utils\n", None),
    ("course_utils.nets.unrolled", "class A:\n    def f(self):\n        from ..unrolled "
     "import lista_problem\n", "course_utils.unrolled"),
    ("course_utils.nets.unrolled", "import importlib\n"
     "m = importlib.import_module('course_utils.train.lista')\n", "course_utils.train.lista"),
    ("course_utils.nets.dip", "from .. import *\n", "course_utils"),
    ("course_utils.nets", "from ..utils import seed_everything\n", "course_utils.utils"),
    # a layer may not reach sideways either
    ("course_utils.operators.basic", "from ..nets.sr import bicubic_torch\n",
     "course_utils.nets.sr"),
    ("course_utils.operators.basic", "from .. import weights\n", "course_utils.weights"),
    ("course_utils.weights", "from ..operators import make_operator\n",
     "course_utils.operators"),
    ("course_utils._kspace", "from .operators.mri import CartesianMRI\n",
     "course_utils.operators.mri"),
])
def test_checker_flags_imports_from_a_higher_layer(module, source, target):
    is_package = module in ("course_utils.nets", "course_utils.weights")
    if target is None:  # a relative import above the package is itself an error
        with pytest.raises(ValueError, match="beyond the top level"):
            layering_violations(source, module, is_package=is_package)
        return
    problems = layering_violations(source, module, is_package=is_package)
    assert problems and any(re.search(rf"imports {re.escape(target)}[ .]", p)
                            for p in problems), problems


@pytest.mark.parametrize("module, source", [
    ("course_utils.operators.mri", "from .._kspace import sampling_mask\n"
                                   "from .._validate import check_int\nfrom .base import X\n"),
    ("course_utils.operators", "from . import ct, mri\nfrom .basic import *\n"),
    ("course_utils.nets.sr", "import numpy as np\nimport torch\nfrom .._bicubic import "
                             "bicubic_matrix\ndef f():\n    from .. import weights\n"
                             "    from .denoiser import build_denoiser\n"),
    ("course_utils.nets.unrolled", "from ..operators.base import LinearOperator\n"
                                   "import course_utils.operators.basic as basic\n"),
    ("course_utils.weights", "from .._validate import check_choice\n"),
    ("course_utils.mri", "from .operators.mri import NonCartesianMRI\n"),  # higher: free
])
def test_checker_accepts_the_allowed_imports(module, source):
    is_package = module in ("course_utils.operators", "course_utils.weights")
    assert layering_violations(source, module, is_package=is_package) == []


# -- the moved helpers keep their public names -----------------------------------------
def test_moved_helpers_are_re_exported_under_their_old_names():
    from course_utils import _bicubic, _kspace, mri, sr
    from course_utils.operators import mri as mri_ops

    for name in ("PATTERNS", "CARTESIAN_PATTERNS", "NON_CARTESIAN_PATTERNS", "fft2c",
                 "ifft2c", "sampling_mask", "trajectory", "_fft2c", "_ifft2c",
                 "_check_mask", "_rasterise"):
        assert getattr(mri, name) is getattr(_kspace, name), name
    assert set(_kspace.__all__) <= set(mri.__all__)
    assert mri_ops.sampling_mask is mri.sampling_mask
    assert sr.bicubic_matrix is _bicubic.bicubic_matrix
    assert sr._keys is _bicubic._keys
    assert "bicubic_matrix" in sr.__all__


def test_lower_layers_load_without_the_lecture_modules():
    """At run time too: building an MRI operator and upsampling with the SR networks'
    bicubic loads neither ``course_utils.mri`` nor ``course_utils.sr``, and the lecture
    modules stay free of torch."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import course_utils.mri, course_utils.sr
        assert "torch" not in sys.modules
        for name in ("course_utils.mri", "course_utils.sr"):
            del sys.modules[name]
        import torch
        from course_utils.operators import make_operator
        from course_utils.nets.sr import bicubic_torch
        A = make_operator("mri_cartesian")
        assert A(np.ones(A.in_shape, dtype=complex)).shape == A.out_shape
        assert bicubic_torch(torch.ones(1, 1, 4, 4), 4).shape == (1, 1, 16, 16)
        assert "course_utils.mri" not in sys.modules, "mri loaded"
        assert "course_utils.sr" not in sys.modules, "sr loaded"
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
