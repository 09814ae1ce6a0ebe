"""The linear-operator contract: forward, adjoint, shapes, norm, dot test, algebra."""
from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_array, check_int, check_scalar

__all__ = ["LinearOperator", "MatrixOperator", "ComposedOperator", "SumOperator",
           "ScaledOperator", "AdjointOperator", "StackedOperator"]


class LinearOperator:
    """A linear map ``A`` from arrays of ``in_shape`` to arrays of ``out_shape``.

    Subclasses implement ``_forward(x)`` and ``_adjoint(y)`` on validated ndarrays; the
    base class checks shapes and dtypes, and supplies the algebra (``A @ B``, ``A + B``,
    ``c * A``, ``A.H``), ``norm()`` by power iteration, ``adjointness_test()`` and
    ``pinv()`` (least squares by conjugate gradients on the normal equations).

    Parameters
    ----------
    in_shape, out_shape : tuple of int
        Shapes of ``x`` and ``y = A x`` (rows then columns).
    in_kind, out_kind : {"any", "real", "complex"}
        Which arrays the operator accepts: ``"real"`` rejects complex input (e.g. a
        Radon transform of a density), ``"complex"`` marks a complex domain (e.g.
        k-space) — real input is then rejected too — and ``"any"`` accepts both (a real
        operator extended linearly to complex arrays).
    name : str, optional
        Short name used in ``repr`` and messages.
    """

    def __init__(self, in_shape, out_shape, *, in_kind: str = "any", out_kind: str = "any",
                 name: str | None = None):
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)
        for kind, arg in ((in_kind, "in_kind"), (out_kind, "out_kind")):
            if kind not in ("any", "real", "complex"):
                raise ValueError(f"{arg} must be 'any', 'real' or 'complex', got {kind!r}")
        self.in_kind = in_kind
        self.out_kind = out_kind
        self.name = name or type(self).__name__
        self._norm = None

    # -- subclasses implement these two ------------------------------------------------
    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- validated public API --------------------------------------------------------
    @property
    def dtype(self):
        """The natural field of the operator: complex128 if either side is complex."""
        return np.complex128 if "complex" in (self.in_kind, self.out_kind) else np.float64

    def _check(self, arr, shape, kind, name):
        return as_array(arr, name, shape=shape, allow_complex=(kind != "real"),
                        require_complex=(kind == "complex"))

    def __call__(self, x) -> np.ndarray:
        """Apply the operator: ``y = A x``."""
        x = self._check(x, self.in_shape, self.in_kind, "x")
        return self._forward(x)

    forward = __call__

    def adjoint(self, y) -> np.ndarray:
        """Apply the adjoint: ``Aᴴ y``."""
        y = self._check(y, self.out_shape, self.out_kind, "y")
        return self._adjoint(y)

    def gram(self, x) -> np.ndarray:
        """``Aᴴ A x``."""
        return self.adjoint(self(x))

    @property
    def H(self) -> "LinearOperator":
        """The adjoint operator ``Aᴴ``."""
        return AdjointOperator(self)

    T = H

    # -- algebra ----------------------------------------------------------------------
    def __matmul__(self, other):
        if isinstance(other, LinearOperator):
            return ComposedOperator(self, other)
        return self(other)

    def __add__(self, other):
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return SumOperator(self, other)

    def __sub__(self, other):
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return SumOperator(self, ScaledOperator(other, -1.0))

    def __mul__(self, scalar):
        if isinstance(scalar, numbers.Number) and not isinstance(scalar, bool):
            return ScaledOperator(self, scalar)
        return NotImplemented

    __rmul__ = __mul__

    def __neg__(self):
        return ScaledOperator(self, -1.0)

    # -- random test arrays -----------------------------------------------------------
    def _random(self, shape, kind, rng, complex_=False):
        arr = rng.standard_normal(shape)
        if kind == "complex" or (kind == "any" and complex_):
            arr = arr + 1j * rng.standard_normal(shape)
        return arr

    def random_input(self, seed: int = 0, *, complex_: bool = False) -> np.ndarray:
        """A standard-normal ``x`` of ``in_shape`` (complex if the domain is complex)."""
        return self._random(self.in_shape, self.in_kind, np.random.default_rng(seed), complex_)

    # -- diagnostics ------------------------------------------------------------------
    def adjointness_test(self, seed: int = 0, *, complex_: bool = False) -> float:
        """Relative dot-test error ``|<Ax, y> − <x, Aᴴy>| / (‖Ax‖ ‖y‖)``.

        ``x`` and ``y`` are standard normal (complex when ``complex_`` is True or the
        operator's domain is complex). An exact adjoint gives round-off, about 1e-15.
        """
        rng = np.random.default_rng(seed)
        x = self._random(self.in_shape, self.in_kind, rng, complex_)
        y = self._random(self.out_shape, self.out_kind, rng, complex_)
        ax = self(x)
        if self.out_kind == "real" and np.iscomplexobj(y):
            y = y.real
        aty = self.adjoint(y)
        lhs = np.vdot(y, ax)          # <Ax, y> = yᴴ (Ax)
        rhs = np.vdot(aty, x)         # <x, Aᴴy>
        if "real" in (self.in_kind, self.out_kind):
            # Between a real and a complex space the adjoint is taken for the real inner
            # product Re<·,·>, so only the real parts must agree.
            lhs, rhs = lhs.real, rhs.real
        denom = np.linalg.norm(ax) * np.linalg.norm(y)
        return float(abs(lhs - rhs) / max(denom, np.finfo(float).tiny))

    def norm(self, num_iters: int = 200, tol: float = 1e-7, seed: int = 0,
             recompute: bool = False) -> float:
        """Spectral norm ``‖A‖₂`` by power iteration on ``AᴴA`` (cached)."""
        num_iters = check_int(num_iters, "num_iters", low=1)
        tol = check_scalar(tol, "tol", low=0.0)
        if self._norm is not None and not recompute:
            return self._norm
        x = self.random_input(seed, complex_=False)
        x = x / np.linalg.norm(x)
        lam = 0.0
        for _ in range(num_iters):
            z = self.gram(x)
            if self.in_kind == "real" and np.iscomplexobj(z):
                z = z.real
            lam_new = float(np.linalg.norm(z))
            if lam_new == 0.0:
                lam = 0.0
                break
            x = z / lam_new
            if abs(lam_new - lam) <= tol * lam_new:
                lam = lam_new
                break
            lam = lam_new
        self._norm = float(np.sqrt(lam))
        return self._norm

    def pinv(self, y, *, num_iters: int = 200, tol: float = 1e-10, damp: float = 0.0):
        """Least-squares solution ``argmin ‖Ax − y‖² + damp ‖x‖²`` by CG on the normal
        equations (a closed form is used where a subclass overrides this)."""
        num_iters = check_int(num_iters, "num_iters", low=1)
        damp = check_scalar(damp, "damp", low=0.0)
        b = self.adjoint(y)
        x = np.zeros_like(b)
        r = b - (self.gram(x) + damp * x)
        p = r.copy()
        rs = np.vdot(r, r).real
        b_norm = max(np.linalg.norm(b), np.finfo(float).tiny)
        for _ in range(num_iters):
            if np.sqrt(rs) <= tol * b_norm:
                break
            ap = self.gram(p) + damp * p
            alpha = rs / np.vdot(p, ap).real
            x = x + alpha * p
            r = r - alpha * ap
            rs_new = np.vdot(r, r).real
            p = r + (rs_new / rs) * p
            rs = rs_new
        return x

    dagger = pinv

    def to_matrix(self) -> np.ndarray:
        """The dense matrix (for small operators only: costs one forward per column)."""
        n = int(np.prod(self.in_shape))
        if n > 1 << 14:
            raise ValueError(f"operator input size {n} is too large for a dense matrix")
        cols = []
        eye = np.eye(n, dtype=np.complex128 if self.in_kind == "complex" else np.float64)
        for k in range(n):
            cols.append(np.ravel(self(eye[k].reshape(self.in_shape))))
        return np.stack(cols, axis=1)

    def __repr__(self):
        return f"{self.name}(in_shape={self.in_shape}, out_shape={self.out_shape})"


class AdjointOperator(LinearOperator):
    """``Aᴴ`` as an operator in its own right."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape, in_kind=op.out_kind,
                         out_kind=op.in_kind, name=f"{op.name}.H")
        self.op = op

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def H(self):
        return self.op


class ComposedOperator(LinearOperator):
    """``A @ B``: apply ``B`` then ``A``."""

    def __init__(self, a: LinearOperator, b: LinearOperator):
        if a.in_shape != b.out_shape:
            raise ValueError(
                f"cannot compose: {a.name} takes shape {a.in_shape} but {b.name} gives {b.out_shape}")
        super().__init__(b.in_shape, a.out_shape, in_kind=b.in_kind, out_kind=a.out_kind,
                         name=f"{a.name}@{b.name}")
        self.a, self.b = a, b

    def _forward(self, x):
        return self.a._forward(self.b._forward(x))

    def _adjoint(self, y):
        return self.b._adjoint(self.a._adjoint(y))


class SumOperator(LinearOperator):
    """``A + B`` for operators with the same shapes."""

    def __init__(self, a: LinearOperator, b: LinearOperator):
        if a.in_shape != b.in_shape or a.out_shape != b.out_shape:
            raise ValueError("cannot add operators with different shapes: "
                             f"{a.in_shape}->{a.out_shape} and {b.in_shape}->{b.out_shape}")
        super().__init__(a.in_shape, a.out_shape, in_kind=a.in_kind, out_kind=a.out_kind,
                         name=f"({a.name}+{b.name})")
        self.a, self.b = a, b

    def _forward(self, x):
        return self.a._forward(x) + self.b._forward(x)

    def _adjoint(self, y):
        return self.a._adjoint(y) + self.b._adjoint(y)


class ScaledOperator(LinearOperator):
    """``c · A`` for a scalar ``c``."""

    def __init__(self, op: LinearOperator, scalar):
        super().__init__(op.in_shape, op.out_shape, in_kind=op.in_kind, out_kind=op.out_kind,
                         name=f"{scalar}*{op.name}")
        self.op, self.scalar = op, scalar

    def _forward(self, x):
        return self.scalar * self.op._forward(x)

    def _adjoint(self, y):
        return np.conj(self.scalar) * self.op._adjoint(y)


class StackedOperator(LinearOperator):
    """``[A; B]``: x ↦ (A x, B x) flattened and concatenated (for split objectives)."""

    def __init__(self, *ops: LinearOperator):
        if not ops or any(o.in_shape != ops[0].in_shape for o in ops):
            raise ValueError("StackedOperator needs operators with one common in_shape")
        self.ops = ops
        self._sizes = [int(np.prod(o.out_shape)) for o in ops]
        super().__init__(ops[0].in_shape, (sum(self._sizes),), in_kind=ops[0].in_kind,
                         name="[" + ";".join(o.name for o in ops) + "]")

    def _forward(self, x):
        return np.concatenate([np.ravel(o._forward(x)) for o in self.ops])

    def _adjoint(self, y):
        out, start = 0, 0
        for o, n in zip(self.ops, self._sizes):
            out = out + o._adjoint(y[start:start + n].reshape(o.out_shape))
            start += n
        return out


class MatrixOperator(LinearOperator):
    """A dense matrix ``A`` of shape (M, N) acting on vectors of length N."""

    def __init__(self, matrix, *, name: str = "matrix"):
        mat = as_array(matrix, "matrix", ndim=2)
        super().__init__((mat.shape[1],), (mat.shape[0],), in_kind="any", out_kind="any",
                         name=name)
        self.matrix = mat

    def _forward(self, x):
        return self.matrix @ x

    def _adjoint(self, y):
        return self.matrix.conj().T @ y

    def to_matrix(self):
        return self.matrix.copy()
