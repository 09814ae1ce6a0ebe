"""Input validation shared by every public function: short errors that name the argument."""
from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np

__all__ = [
    "as_array", "as_image", "check_scalar", "check_int", "check_choice", "check_shape",
]


def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def as_array(x, name: str = "x", *, ndim: int | Iterable[int] | None = None,
             shape: tuple | None = None, allow_complex: bool = True,
             require_complex: bool = False, finite: bool = True,
             dtype=None) -> np.ndarray:
    """Return ``x`` as a numeric ndarray, or raise a clear ``TypeError``/``ValueError``.

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        Argument name used in error messages.
    ndim : int or iterable of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Exact shape required.
    allow_complex : bool
        If False, complex input raises ``TypeError``.
    require_complex : bool
        If True, real input raises ``TypeError``.
    finite : bool
        If True, NaN or inf raise ``ValueError``.
    dtype : numpy dtype, optional
        Cast the result to this dtype.
    """
    if _is_torch_tensor(x):
        x = x.detach().cpu().numpy()
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    is_complex = np.iscomplexobj(arr)
    if is_complex and not allow_complex:
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if require_complex and not is_complex:
        raise TypeError(f"{name} must be complex-valued, got real dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    # integers are always finite: only floating-point arrays need the (full-size) test
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def as_image(x, name: str = "x", *, value_range: tuple[float, float] | None = None,
             ndim: int | Iterable[int] = 2) -> np.ndarray:
    """A real, finite image of shape (M, N) as float64, optionally checked against a range."""
    arr = as_array(x, name, ndim=ndim, allow_complex=False, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if value_range is not None:
        lo, hi = value_range
        if arr.min() < lo or arr.max() > hi:
            raise ValueError(
                f"{name} must have values in [{lo}, {hi}], got [{arr.min():.3g}, {arr.max():.3g}]")
    return arr


def check_scalar(value, name: str, *, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """Return ``value`` as a finite float within the given bounds."""
    if _is_torch_tensor(value):
        value = value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {value}")
    return value


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(value, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"Unknown {name}: {value!r}; expected one of {choices}")
    return value


def check_shape(shape, name: str = "shape") -> tuple[int, ...]:
    """A tuple of positive ints."""
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of positive integers, got {shape!r}") from None
    if not shape or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                            and s > 0 for s in shape):
        raise ValueError(f"{name} must be a tuple of positive integers, got {shape!r}")
    return tuple(int(s) for s in shape)
