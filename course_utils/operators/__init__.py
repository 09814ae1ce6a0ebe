"""Linear operators of the course (forward model ``y = A x``), one registry for all."""
from .base import (AdjointOperator, ComposedOperator, LinearOperator, MatrixOperator,
                   ScaledOperator, StackedOperator, SumOperator)
from .registry import make_operator, register_operator, registered_names

# Importing the modules below registers their operators.
from . import basic  # noqa: E402,F401
from .basic import *  # noqa: E402,F401,F403
from .basic import __all__ as _basic_all  # noqa: E402
from . import ct, mri  # noqa: E402  (registers the CT and MRI operators)
Radon, CartesianMRI, NonCartesianMRI = ct.Radon, mri.CartesianMRI, mri.NonCartesianMRI
from . import sparse_coding  # noqa: E402,F401  (registers the dictionary operator)
from . import sensing  # noqa: E402  (registers the Gaussian sensing operator)
GaussianSensing = sensing.GaussianSensing
from . import lfm  # noqa: E402  (registers the light-field operator)
LightField = lfm.LightField

OPERATOR_NAMES: tuple[str, ...] = registered_names()

__all__ = ["LinearOperator", "MatrixOperator", "ComposedOperator", "SumOperator",
           "ScaledOperator", "AdjointOperator", "StackedOperator", "make_operator",
           "register_operator", "OPERATOR_NAMES", *_basic_all,
           "Radon", "CartesianMRI", "NonCartesianMRI", "GaussianSensing",
           "LightField"]
