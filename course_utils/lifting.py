"""Wavelets by lifting (numpy): split, predict, update; Haar, LeGall 5/3 and the integer 5/3."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._validate import as_array, check_choice, check_int

__all__ = [
    "SCHEMES", "PYWT_NAMES", "split", "merge", "lifting_step", "inverse_lifting_step",
    "predict_update", "lift_axis", "unlift_axis", "wavelet_forward", "wavelet_inverse",
    "to_pywt", "from_pywt", "energy_compaction",
]

#: Lifting schemes of :func:`wavelet_forward`.
SCHEMES: tuple[str, ...] = ("haar", "legall53", "legall53-int")

#: The PyWavelets wavelet each scheme matches (``mode="periodization"``, see :func:`to_pywt`).
PYWT_NAMES: dict[str, str] = {"haar": "haar", "legall53": "bior2.2", "legall53-int": "bior2.2"}

#: Largest magnitude a float input of the integer scheme may have (exact in float64).
_INT_LIMIT = 2.0 ** 52


# -- the predict and update operators of each scheme ------------------------------------
# Each acts along the last axis with periodic boundaries: index n of the even samples is
# x[2n], of the odd samples x[2n + 1].

def _haar_predict(x_even):
    # the odd sample x[2n+1] is predicted by its left neighbour x[2n]
    return x_even


def _haar_update(d):
    # s = x_e + d/2 = (x[2n] + x[2n+1]) / 2: the pairwise mean
    return d / 2


def _legall53_predict(x_even):
    # x[2n+1] is predicted by the mean of its neighbours x[2n] and x[2n+2]
    return (x_even + np.roll(x_even, -1, axis=-1)) / 2


def _legall53_update(d):
    # s[n] = x[2n] + (d[n-1] + d[n]) / 4 keeps the mean of the signal
    return (np.roll(d, 1, axis=-1) + d) / 4


def _legall53_int_predict(x_even):
    # floor((x[2n] + x[2n+2]) / 2), JPEG 2000 reversible 5/3 (ITU-T T.800, Annex F)
    return (x_even + np.roll(x_even, -1, axis=-1)) // 2


def _legall53_int_update(d):
    # floor((d[n-1] + d[n] + 2) / 4)
    return (np.roll(d, 1, axis=-1) + d + 2) // 4


_STEPS: dict[str, tuple[Callable, Callable]] = {
    "haar": (_haar_predict, _haar_update),
    "legall53": (_legall53_predict, _legall53_update),
    "legall53-int": (_legall53_int_predict, _legall53_int_update),
}


def predict_update(scheme: str) -> tuple[Callable, Callable]:
    """The predict ``P`` and update ``U`` operators of a scheme.

    Parameters
    ----------
    scheme : {"haar", "legall53", "legall53-int"}

    Returns
    -------
    (P, U) : tuple of callables
        Each maps an ndarray to one of the same shape, acting along its last axis with
        periodic boundaries; use them with :func:`lifting_step`.

    Notes
    -----
    With even samples ``x_e[n] = x[2n]`` and odd samples ``x_o[n] = x[2n+1]``:

    ====================  =================================  ====================================
    scheme                ``P(x_e)[n]``                      ``U(d)[n]``
    ====================  =================================  ====================================
    ``"haar"``            ``x_e[n]``                         ``d[n] / 2``
    ``"legall53"``        ``(x_e[n] + x_e[n+1]) / 2``        ``(d[n-1] + d[n]) / 4``
    ``"legall53-int"``    ``⌊(x_e[n] + x_e[n+1]) / 2⌋``      ``⌊(d[n-1] + d[n] + 2) / 4⌋``
    ====================  =================================  ====================================
    """
    return _STEPS[check_choice(scheme, "scheme", SCHEMES)]


# -- split, merge and the generic lifting step ------------------------------------------
def _check_axis(axis, ndim: int) -> int:
    axis = check_int(axis, "axis", low=-ndim, high=ndim - 1)
    return axis % ndim


def _check_callable(f, name: str) -> Callable:
    if not callable(f):
        raise TypeError(f"{name} must be a callable, got {type(f).__name__}")
    return f


def _apply(f, v: np.ndarray, name: str) -> np.ndarray:
    out = np.asarray(f(v))
    if out.shape != v.shape:
        raise ValueError(f"{name} must return an array of shape {v.shape}, got {out.shape}")
    return out


def split(x, *, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``x`` into its even and odd samples along ``axis`` (the "lazy wavelet").

    Parameters
    ----------
    x : ndarray
        At least 1-D, with an even length along ``axis``.
    axis : int
        ``0`` splits the rows into even and odd rows (a transform down each column),
        ``1`` the columns (a transform along each row).

    Returns
    -------
    (x_even, x_odd) : tuple of ndarray
        ``x[0::2]`` and ``x[1::2]`` along ``axis``.
    """
    x = as_array(x, "x", allow_complex=False)
    if x.ndim < 1:
        raise ValueError("x must be at least 1-D, got a scalar")
    axis = _check_axis(axis, x.ndim)
    if x.shape[axis] < 2 or x.shape[axis] % 2:
        raise ValueError(f"x must have an even length >= 2 along axis {axis}, "
                         f"got shape {x.shape}")
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, None, 2)
    x_even = x[tuple(index)]
    index[axis] = slice(1, None, 2)
    return x_even, x[tuple(index)]


def merge(x_even, x_odd, *, axis: int = 0) -> np.ndarray:
    """Interleave even and odd samples along ``axis``: the inverse of :func:`split`."""
    x_even = as_array(x_even, "x_even", allow_complex=False)
    x_odd = as_array(x_odd, "x_odd", allow_complex=False)
    if x_even.shape != x_odd.shape:
        raise ValueError(f"x_even and x_odd must have the same shape, "
                         f"got {x_even.shape} and {x_odd.shape}")
    if x_even.ndim < 1:
        raise ValueError("x_even must be at least 1-D, got a scalar")
    axis = _check_axis(axis, x_even.ndim)
    shape = list(x_even.shape)
    shape[axis] *= 2
    x = np.empty(shape, dtype=np.result_type(x_even, x_odd))
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, None, 2)
    x[tuple(index)] = x_even
    index[axis] = slice(1, None, 2)
    x[tuple(index)] = x_odd
    return x


def lifting_step(x, predict: Callable, update: Callable, *,
                 axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split, predict, update: ``d = x_o − P(x_e)``, ``s = x_e + U(d)``.

    Parameters
    ----------
    x : ndarray
        At least 1-D, with an even length along ``axis``.
    predict, update : callable
        ``P`` and ``U``: any functions that map an array to one of the same shape, linear
        or not; they receive the samples with ``axis`` moved last, so they act along the
        last axis.
    axis : int
        ``0``: even/odd rows; ``1``: even/odd columns (see :func:`split`).

    Returns
    -------
    (s, d) : tuple of ndarray
        Coarse (smooth) and detail samples, each half of ``x`` along ``axis``.

    Notes
    -----
    :func:`inverse_lifting_step` undoes the step exactly, whatever ``P`` and ``U`` are:
    ``x_e = s − U(d)`` recomputes the same ``U(d)`` from the stored ``d``, then
    ``x_o = d + P(x_e)`` the same ``P(x_e)``. Nothing is ever inverted.

    References
    ----------
    I. Daubechies and W. Sweldens, "Factoring wavelet transforms into lifting steps",
    J. Fourier Anal. Appl. 4(3), 247–269, 1998.
    """
    predict = _check_callable(predict, "predict")
    update = _check_callable(update, "update")
    x_even, x_odd = split(x, axis=axis)
    axis = _check_axis(axis, x_even.ndim)
    x_even, x_odd = np.moveaxis(x_even, axis, -1), np.moveaxis(x_odd, axis, -1)
    d = x_odd - _apply(predict, x_even, "predict")
    s = x_even + _apply(update, d, "update")
    return np.moveaxis(s, -1, axis), np.moveaxis(d, -1, axis)


def inverse_lifting_step(s, d, predict: Callable, update: Callable, *,
                         axis: int = 0) -> np.ndarray:
    """Undo :func:`lifting_step`: ``x_e = s − U(d)``, ``x_o = d + P(x_e)``, merge.

    Parameters
    ----------
    s, d : ndarray
        Coarse and detail samples of the same shape.
    predict, update : callable
        The ``P`` and ``U`` of the forward step.
    axis : int
        The axis of the forward step.

    Returns
    -------
    ndarray
        ``x``, twice as long as ``s`` along ``axis``.
    """
    predict = _check_callable(predict, "predict")
    update = _check_callable(update, "update")
    s = as_array(s, "s", allow_complex=False)
    d = as_array(d, "d", allow_complex=False)
    if s.shape != d.shape:
        raise ValueError(f"s and d must have the same shape, got {s.shape} and {d.shape}")
    if s.ndim < 1:
        raise ValueError("s must be at least 1-D, got a scalar")
    axis = _check_axis(axis, s.ndim)
    s, d = np.moveaxis(s, axis, -1), np.moveaxis(d, axis, -1)
    x_even = s - _apply(update, d, "update")
    x_odd = d + _apply(predict, x_even, "predict")
    return merge(np.moveaxis(x_even, -1, axis), np.moveaxis(x_odd, -1, axis), axis=axis)


# -- one scheme along one axis ----------------------------------------------------------
def _as_input(x, scheme: str, name: str, ndim=None) -> np.ndarray:
    """Float64 for the float schemes; int64 (values checked) for the integer scheme."""
    arr = as_array(x, name, ndim=ndim, allow_complex=False)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if scheme != "legall53-int":
        return arr.astype(np.float64, copy=False)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64, copy=False)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold integers for scheme 'legall53-int', "
                         f"got non-integer values")
    if np.abs(arr).max() > _INT_LIMIT:
        raise ValueError(f"{name} must have magnitudes <= 2**52 for scheme "
                         f"'legall53-int', got {np.abs(arr).max():.3g}")
    return arr.astype(np.int64)


def lift_axis(x, scheme: str, *, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One level of a scheme along one axis: ``(s, d)`` of :func:`lifting_step`.

    Parameters
    ----------
    x : ndarray
        At least 1-D, even length along ``axis``; integers for ``"legall53-int"``.
    scheme : {"haar", "legall53", "legall53-int"}
    axis : int
        ``0``: even/odd rows; ``1``: even/odd columns.

    Returns
    -------
    (s, d) : tuple of ndarray
        float64, or int64 for ``"legall53-int"``.
    """
    predict, update = predict_update(scheme)
    return lifting_step(_as_input(x, scheme, "x"), predict, update, axis=axis)


def unlift_axis(s, d, scheme: str, *, axis: int = 0) -> np.ndarray:
    """Undo :func:`lift_axis`."""
    predict, update = predict_update(scheme)
    s, d = _as_input(s, scheme, "s"), _as_input(d, scheme, "d")
    return inverse_lifting_step(s, d, predict, update, axis=axis)


# -- the 2-D multi-level transform ------------------------------------------------------
def _forward_2d(x: np.ndarray, predict, update):
    s, d = lifting_step(x, predict, update, axis=0)           # even/odd rows
    ss, sd = lifting_step(s, predict, update, axis=1)          # then even/odd columns
    ds, dd = lifting_step(d, predict, update, axis=1)
    return ss, (ds, sd, dd)


def _inverse_2d(ss, bands, predict, update):
    ds, sd, dd = bands
    s = inverse_lifting_step(ss, sd, predict, update, axis=1)
    d = inverse_lifting_step(ds, dd, predict, update, axis=1)
    return inverse_lifting_step(s, d, predict, update, axis=0)


def wavelet_forward(x, scheme: str, levels: int = 1) -> list:
    """2-D wavelet transform by lifting, ``levels`` levels, periodic boundaries.

    Parameters
    ----------
    x : ndarray of shape (M, N)
        Real and finite, ``M`` and ``N`` divisible by ``2**levels``. For
        ``"legall53-int"`` integers (an integer dtype such as ``uint8``, or floats with
        integer values).
    scheme : {"haar", "legall53", "legall53-int"}
        Haar, LeGall (CDF) 5/3, or the integer-to-integer 5/3 of JPEG 2000.
    levels : int
        Number of levels, ``>= 1``.

    Returns
    -------
    list
        ``[s_L, (H_L, V_L, D_L), …, (H_1, V_1, D_1)]``, the layout of
        ``pywt.wavedec2``: the coarse band of the last level ``L = levels``, then the
        detail bands from the coarsest level to the finest. Level ``j`` bands have shape
        ``(M / 2**j, N / 2**j)``. float64, or int64 for ``"legall53-int"``.

    Notes
    -----
    One level lifts along the rows first (``axis=0``: even/odd rows, giving ``s`` and
    ``d``), then along the columns of each (``axis=1``). With ``ss, sd`` from ``s`` and
    ``ds, dd`` from ``d``, the bands are

    * ``s_j = ss``: smooth both ways, the input of level ``j + 1``;
    * ``H_j = ds``: detail across rows, smooth along them (horizontal edges);
    * ``V_j = sd``: smooth across rows, detail along them (vertical edges);
    * ``D_j = dd``: detail both ways (diagonal).

    Coefficients are not normalised: ``s`` is a local mean and ``d`` a prediction error
    on the scale of ``x``. :func:`to_pywt` rescales them to PyWavelets' bands.
    The integer scheme maps integers to integers and :func:`wavelet_inverse` gives them
    back exactly (lossless compression in JPEG 2000); its rounding makes the order of
    the axes matter, and the inverse undoes them in reverse order.

    References
    ----------
    I. Daubechies and W. Sweldens, "Factoring wavelet transforms into lifting steps",
    J. Fourier Anal. Appl. 4(3), 247–269, 1998.
    A. R. Calderbank, I. Daubechies, W. Sweldens, B.-L. Yeo, "Wavelet transforms that
    map integers to integers", Appl. Comput. Harmon. Anal. 5(3), 332–369, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> coeffs = wavelet_forward(x, "haar", levels=2)
    >>> [c.shape for c in [coeffs[0], *coeffs[1], *coeffs[2]]]
    [(1, 1), (1, 1), (1, 1), (1, 1), (2, 2), (2, 2), (2, 2)]
    >>> float(coeffs[0][0, 0])     # the mean of x
    7.5
    >>> bool(np.allclose(wavelet_inverse(coeffs, "haar"), x))
    True
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    levels = check_int(levels, "levels", low=1)
    x = _as_input(x, scheme, "x", ndim=2)
    factor = 2 ** levels
    if x.shape[0] % factor or x.shape[1] % factor:
        raise ValueError(f"x shape {x.shape} must be divisible by 2**levels = {factor} "
                         f"in both dimensions")
    predict, update = _STEPS[scheme]
    details = []
    s = x
    for _ in range(levels):
        s, bands = _forward_2d(s, predict, update)
        details.append(bands)
    return [s, *details[::-1]]


def _check_coeffs(coeffs, scheme: str | None) -> list:
    """Validate the layout of :func:`wavelet_forward`; arrays as float64 or int64."""
    if isinstance(coeffs, np.ndarray) or not isinstance(coeffs, (list, tuple)):
        raise TypeError("coeffs must be a list [s_L, (H_L, V_L, D_L), ..., (H_1, V_1, D_1)], "
                        f"got {type(coeffs).__name__}")
    if len(coeffs) < 2:
        raise ValueError(f"coeffs must hold the coarse band and at least one level of "
                         f"details, got {len(coeffs)} item(s)")
    conv = (lambda a, name: _as_input(a, scheme, name, ndim=2)) if scheme else (
        lambda a, name: as_array(a, name, ndim=2, allow_complex=False, dtype=np.float64))
    out = [conv(coeffs[0], "coeffs[0]")]
    shape = out[0].shape
    for j, bands in enumerate(coeffs[1:], start=1):
        if isinstance(bands, np.ndarray) or not isinstance(bands, (list, tuple)) \
                or len(bands) != 3:
            raise ValueError(f"coeffs[{j}] must be a tuple of 3 detail bands (H, V, D)")
        bands = tuple(conv(b, f"coeffs[{j}][{k}]") for k, b in enumerate(bands))
        want = shape if j == 1 else (2 * shape[0], 2 * shape[1])
        for k, b in enumerate(bands):
            if b.shape != want:
                raise ValueError(f"coeffs[{j}][{k}] must have shape {want}, got {b.shape}")
        shape = want
        out.append(bands)
    return out


def wavelet_inverse(coeffs, scheme: str) -> np.ndarray:
    """Invert :func:`wavelet_forward`.

    Parameters
    ----------
    coeffs : list
        ``[s_L, (H_L, V_L, D_L), …, (H_1, V_1, D_1)]`` as returned by
        :func:`wavelet_forward` (each level's bands twice the size of the previous one's);
        integers for ``"legall53-int"``.
    scheme : {"haar", "legall53", "legall53-int"}
        The scheme of the forward transform.

    Returns
    -------
    ndarray of shape (M, N)
        float64, or int64 for ``"legall53-int"`` (then equal to the input of the forward
        transform, bit for bit).
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    coeffs = _check_coeffs(coeffs, scheme)
    predict, update = _STEPS[scheme]
    s = coeffs[0]
    for bands in coeffs[1:]:
        s = _inverse_2d(s, bands, predict, update)
    return s


# -- PyWavelets' normalisation and energy compaction -------------------------------------
def to_pywt(coeffs) -> list:
    """Rescale lifting coefficients to the bands of ``pywt.wavedec2`` (periodization).

    Parameters
    ----------
    coeffs : list
        Coefficients of :func:`wavelet_forward`, ``[s_L, (H_L, V_L, D_L), …, (H_1, V_1, D_1)]``.

    Returns
    -------
    list
        ``[cA_L, (cH_L, cV_L, cD_L), …, (cH_1, cV_1, cD_1)]`` in float64 with

        * ``cA_L = 2**L · s_L``,
        * ``cH_j = −2**(j−1) · H_j``, ``cV_j = −2**(j−1) · V_j``,
          ``cD_j = 2**(j−2) · D_j``.

        For ``"haar"`` these equal ``pywt.wavedec2(x, "haar", mode="periodization",
        level=L)``, for ``"legall53"`` the same with ``"bior2.2"``, to round-off
        (:data:`PYWT_NAMES`); for ``"legall53-int"`` they are close to the ``"bior2.2"``
        bands, up to the rounding inside its steps.

    Notes
    -----
    In 1-D, PyWavelets' bands of one level are ``cA = √2 · s`` and ``cD = −d / √2``,
    with ``d = x_o − P(x_e)`` and ``s = x_e + U(d)``, for ``haar`` and for ``bior2.2``
    alike, and with no index shift: ``cA[n]`` is ``√2 · s[n]`` with the predict and
    update of :func:`predict_update` (``P`` uses ``x_e[n]`` and ``x_e[n+1]``, ``U``
    uses ``d[n−1]`` and ``d[n]``). A 2-D level applies this along both axes, so a band
    is multiplied by ``√2`` per smooth direction and ``−1/√2`` per detail direction:
    ``cA = 2 ss``, ``cH = −ds``, ``cV = −sd``, ``cD = dd / 2``. PyWavelets' level ``j``
    transforms ``cA_{j−1} = 2**(j−1) s_{j−1}``, which gives the factors above.
    """
    coeffs = _check_coeffs(coeffs, None)
    levels = len(coeffs) - 1
    out = [2.0 ** levels * coeffs[0]]
    for j, (h, v, d) in zip(range(levels, 0, -1), coeffs[1:]):
        scale = 2.0 ** (j - 1)
        out.append((-scale * h, -scale * v, scale / 2 * d))
    return out


def from_pywt(coeffs) -> list:
    """The inverse of :func:`to_pywt`: PyWavelets' bands back to lifting coefficients
    (float64; round them for ``"legall53-int"`` only if they came from that scheme)."""
    coeffs = _check_coeffs(coeffs, None)
    levels = len(coeffs) - 1
    out = [coeffs[0] / 2.0 ** levels]
    for j, (h, v, d) in zip(range(levels, 0, -1), coeffs[1:]):
        scale = 2.0 ** (j - 1)
        out.append((-h / scale, -v / scale, d * 2 / scale))
    return out


def _flatten(item, name: str) -> list[np.ndarray]:
    if isinstance(item, (list, tuple)):
        return [a for k, sub in enumerate(item) for a in _flatten(sub, f"{name}[{k}]")]
    return [as_array(item, name, allow_complex=False, dtype=np.float64)]


def energy_compaction(coeffs, *, normalise: bool = True) -> float:
    """Fraction of the energy in the coarse band, ``‖c_A‖² / Σ_bands ‖c‖²``.

    Parameters
    ----------
    coeffs : list
        Coarse band first, then the detail bands (arrays or tuples of arrays).
    normalise : bool
        If True (default), ``coeffs`` are lifting coefficients of :func:`wavelet_forward`,
        rescaled by :func:`to_pywt` first: in that scale Haar is orthonormal (the total
        is ``‖x‖²``) and 5/3 nearly so. Pass False for bands already on an orthonormal
        scale.

    Returns
    -------
    float
        In [0, 1]; close to 1 when the details are small (a smooth image, a transform
        that compacts well). 0 for an all-zero input.
    """
    if not isinstance(normalise, (bool, np.bool_)):
        raise TypeError(f"normalise must be a bool, got {type(normalise).__name__}")
    if normalise:
        coeffs = to_pywt(coeffs)
    elif isinstance(coeffs, np.ndarray) or not isinstance(coeffs, (list, tuple)) \
            or len(coeffs) < 2:
        raise TypeError("coeffs must be a list: the coarse band, then the detail bands")
    coarse = as_array(coeffs[0], "coeffs[0]", allow_complex=False, dtype=np.float64)
    details = [a for k, c in enumerate(coeffs[1:], start=1) for a in _flatten(c, f"coeffs[{k}]")]
    e_coarse = float(np.sum(coarse ** 2))
    total = e_coarse + sum(float(np.sum(b ** 2)) for b in details)
    return e_coarse / total if total > 0 else 0.0
