"""course_utils: the tested library behind the Inverse Problems in Imaging notebooks.

Sub-modules are imported on demand so that the numpy-only parts never import torch:

>>> from course_utils import operators, solvers, priors      # numpy / scipy only
>>> from course_utils import denoisers                         # torch on first use
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "checks", "ct", "data", "denoisers", "illposed", "metrics", "mri", "operators",
    "plotting", "priors", "regparam", "solvers", "utils", "widgets",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    # Sub-modules load on first access (``course_utils.solvers``), so importing the package
    # stays cheap and torch is only imported by the modules that need it.
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
