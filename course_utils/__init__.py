"""course_utils: the tested library behind the Inverse Problems in Imaging notebooks.

Sub-modules are imported on demand so that the numpy-only parts never import torch:

>>> from course_utils import operators, solvers, priors      # numpy / scipy only
>>> from course_utils import denoisers                         # torch on first use
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "checks", "data", "denoisers", "metrics", "operators", "plotting", "priors",
    "regparam", "solvers", "utils", "widgets",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
