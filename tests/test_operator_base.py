"""The LinearOperator contract itself: algebra, dot test between real and complex spaces,
dense matrices, input checks."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.operators import LinearOperator, MatrixOperator, StackedOperator

RNG = np.random.default_rng(7)
A = RNG.standard_normal((5, 4))
B = RNG.standard_normal((4, 3))
C = RNG.standard_normal((5, 4))


class RealFFT(LinearOperator):
    """x (real, length n) -> orthonormal DFT (complex); adjoint takes the real part."""

    def __init__(self, n=8, wrong_adjoint=False):
        super().__init__((n,), (n,), in_kind="real", out_kind="complex", name="rfft")
        self.wrong = wrong_adjoint

    def _forward(self, x):
        return np.fft.fft(x, norm="ortho")

    def _adjoint(self, y):
        out = np.fft.ifft(y, norm="ortho").real
        return out[::-1] if self.wrong else out


def test_algebra_matches_the_matrices():
    a, b, c = MatrixOperator(A), MatrixOperator(B), MatrixOperator(C)
    # 1e-12: a few float64 products of size 5
    np.testing.assert_allclose((a @ b).to_matrix(), A @ B, atol=1e-12)
    np.testing.assert_allclose((a + c).to_matrix(), A + C, atol=1e-12)
    np.testing.assert_allclose((a - c).to_matrix(), A - C, atol=1e-12)
    np.testing.assert_allclose((2.5 * a).to_matrix(), 2.5 * A, atol=1e-12)
    np.testing.assert_allclose((-a).to_matrix(), -A, atol=1e-12)
    np.testing.assert_allclose(a.H.to_matrix(), A.T, atol=1e-12)
    assert a.H.H is a
    stacked = StackedOperator(a, c)
    np.testing.assert_allclose(stacked.to_matrix(), np.vstack([A, C]), atol=1e-12)
    for op in (a @ b, a + c, 2.5 * a, a.H, stacked):
        assert op.adjointness_test() < 1e-12
        assert op.adjointness_test(complex_=True) < 1e-12


def test_complex_scaling_conjugates_in_the_adjoint():
    op = (1 + 2j) * MatrixOperator(A)
    assert op.adjointness_test(complex_=True) < 1e-12


def test_norm_is_the_largest_singular_value():
    op = MatrixOperator(A)
    # power iteration with tol 1e-7 on the eigenvalue: about 1e-7 relative on the norm
    assert op.norm() == pytest.approx(np.linalg.svd(A, compute_uv=False)[0], rel=1e-6)


def test_pinv_is_least_squares():
    y = RNG.standard_normal(5)
    x_hat = MatrixOperator(A).pinv(y, tol=1e-14)
    np.testing.assert_allclose(x_hat, np.linalg.lstsq(A, y, rcond=None)[0], atol=1e-9)


def test_dot_test_between_real_and_complex_spaces():
    assert RealFFT().adjointness_test() < 1e-12
    # a wrong adjoint must be caught
    assert RealFFT(wrong_adjoint=True).adjointness_test() > 1e-2


def test_to_matrix_of_a_real_to_complex_operator():
    n = 8
    dft = RealFFT(n).to_matrix()
    np.testing.assert_allclose(dft, np.fft.fft(np.eye(n), norm="ortho", axis=0), atol=1e-12)


def test_input_checks():
    op = RealFFT()
    with pytest.raises(ValueError, match="x must have shape"):
        op(np.zeros(3))
    with pytest.raises(TypeError, match="x must be real"):
        op(np.zeros(8, complex))
    with pytest.raises(TypeError, match="y must be complex"):
        op.adjoint(np.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        op(np.full(8, np.nan))
    with pytest.raises(TypeError, match="numeric"):
        op("abc")
    with pytest.raises(ValueError, match="cannot compose"):
        MatrixOperator(A) @ MatrixOperator(A)
    with pytest.raises(ValueError, match="cannot add"):
        MatrixOperator(A) + MatrixOperator(B)
    with pytest.raises(ValueError, match="in_kind"):
        LinearOperator((2,), (2,), in_kind="quaternion")
    with pytest.raises(ValueError, match="num_iters"):
        MatrixOperator(A).norm(num_iters=0, recompute=True)
