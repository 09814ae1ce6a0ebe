"""Everyday imaging operators: identity, blur, 1-D deconvolution, gradient, downsampling,
inpainting mask, orthonormal wavelets."""
from __future__ import annotations

import numpy as np

from .._validate import check_shape
from .base import LinearOperator
from .registry import register_operator

__all__ = ["Identity"]


class Identity(LinearOperator):
    """``A x = x`` (denoising)."""

    def __init__(self, shape=(32, 32)):
        shape = check_shape(shape)
        super().__init__(shape, shape, name="identity")

    def _forward(self, x):
        return x.copy()

    def _adjoint(self, y):
        return y.copy()

    def norm(self, *args, **kwargs):
        return 1.0


@register_operator("identity")
def _make_identity(shape=(32, 32)):
    return Identity(shape)
