"""Tests of the linear operators: a generic sweep over the registry, then each operator."""
from __future__ import annotations

import numpy as np
import pytest
import pywt
import scipy.ndimage
import scipy.signal
from scipy.sparse.linalg import LinearOperator as ScipyLinearOperator
from scipy.sparse.linalg import eigsh

from course_utils.operators import (OPERATOR_NAMES, Blur, BlurValid, Downsample, Gradient,
                                    Identity, Inpainting, LinearOperator, Wavelet,
                                    blur_kernel, deconvolution_matrix, make_operator)

# Largest input size for which the sweep builds the dense matrix (one forward per column);
# larger operators are checked matrix-free, which costs tens of applications, not n.
DENSE_LIMIT = 256

_CACHE: dict[str, LinearOperator] = {}


def default_op(name: str) -> LinearOperator:
    """The registry's default instance, built once per test session."""
    if name not in _CACHE:
        _CACHE[name] = make_operator(name)
    return _CACHE[name]


def largest_singular_value(op: LinearOperator) -> float:
    """σ_max by Lanczos (ARPACK) on the dense Gram matrix when the operator is small,
    matrix-free on AᴴA otherwise; independent of the operator's own ``norm``."""
    rng = np.random.default_rng(123)
    n_in = int(np.prod(op.in_shape))
    if n_in <= DENSE_LIMIT:
        mat = op.to_matrix()
        gram = mat.conj().T @ mat if mat.shape[0] >= mat.shape[1] else mat @ mat.conj().T
        if gram.shape[0] <= 16:
            return float(np.sqrt(np.linalg.eigvalsh(gram)[-1]))
    else:
        gram = ScipyLinearOperator(
            (n_in, n_in), dtype=op.dtype,
            matvec=lambda v: np.ravel(op.gram(v.reshape(op.in_shape))))
    v0 = rng.standard_normal(gram.shape[0]).astype(gram.dtype)
    top = eigsh(gram, k=1, which="LA", v0=v0, tol=1e-10, return_eigenvectors=False)[0]
    return float(np.sqrt(max(top, 0.0)))


def _grow(shape):
    return tuple(s + 1 for s in shape)


# =====================================================================================
# Generic sweep: every registered operator, including those added in other modules.
# =====================================================================================
def test_registry_holds_the_everyday_operators():
    for name in ("identity", "blur", "blur_valid", "deconv1d", "gradient", "downsample",
                 "inpainting", "wavelet", "composition"):
        assert name in OPERATOR_NAMES


def test_unknown_operator_name_raises():
    with pytest.raises(ValueError, match="operator name"):
        make_operator("no_such_operator")


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_shapes_and_determinism(name):
    op = default_op(name)
    x = op.random_input(seed=3)
    y = op(x)
    assert y.shape == op.out_shape
    assert op.adjoint(y).shape == op.in_shape
    # Two default builds are the same operator (random masks and trajectories are seeded).
    np.testing.assert_array_equal(make_operator(name)(x), y)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_dot_test_real(name):
    # COURSE §3 contract: |<Ax, y> − <x, Aᴴy>| ≤ 1e-6 ‖Ax‖ ‖y‖ in float64; an exact
    # adjoint gives round-off, about 1e-15.
    op = default_op(name)
    for seed in (0, 1):
        assert op.adjointness_test(seed=seed) <= 1e-6


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_dot_test_complex(name):
    op = default_op(name)
    if "real" in (op.in_kind, op.out_kind):
        pytest.skip(f"{name} is defined on real arrays only")
    assert op.adjointness_test(seed=2, complex_=True) <= 1e-6


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_real_only_operators_reject_complex_input(name):
    op = default_op(name)
    if op.in_kind != "real":
        pytest.skip(f"{name} accepts complex input")
    with pytest.raises(TypeError, match="x"):
        op(op.random_input(0) + 1j)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_norm_matches_largest_singular_value(name):
    op = default_op(name)
    sigma_max = largest_singular_value(op)
    estimate = op.norm()
    # Power iteration approaches σ_max from below at a rate (σ₂/σ₁)^(2k); 200 iterations
    # on these small defaults are within 1 % even for clustered spectra (the gradient's
    # deficit is about 1/(4k) = 0.1 %). Closed-form norms are exact. Nothing may exceed
    # σ_max beyond round-off: solvers take steps 1/‖A‖², an overestimate is safe but an
    # estimate above σ_max means a wrong closed form.
    assert estimate <= sigma_max * (1 + 1e-8)
    assert estimate >= sigma_max * (1 - 1e-2)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_damped_pinv_solves_normal_equations(name):
    op = default_op(name)
    rng = np.random.default_rng(4)
    y = op._random(op.out_shape, op.out_kind, rng)
    damp = 1e-2 * op.norm() ** 2
    x_hat = op.pinv(y, damp=damp)
    # (AᴴA + damp I) x̂ = Aᴴ y. With damp = 1e-2 ‖A‖² the system has condition number
    # ≤ 101, so CG (or a closed form) reaches 1e-10; 1e-6 leaves room for round-off.
    residual = op.gram(x_hat) + damp * x_hat - op.adjoint(y)
    assert np.linalg.norm(residual) <= 1e-6 * np.linalg.norm(op.adjoint(y))


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_pinv_fits_consistent_data(name):
    op = default_op(name)
    x = op.random_input(seed=5)
    y = op(x)
    x_hat = op.pinv(y)
    # y lies in the range of A, so the least-squares residual vanishes. CG on the normal
    # equations shrinks ‖A x_k − y‖ fastest along large singular values: after 200
    # iterations it is below 1 % even for the worst-conditioned default (blur_valid, where
    # it is 3e-3); closed forms give round-off.
    assert np.linalg.norm(op(x_hat) - y) <= 1e-2 * np.linalg.norm(y)
    # The minimum-norm solution lies in range(Aᴴ), so it is never longer than x.
    assert np.linalg.norm(x_hat) <= np.linalg.norm(x) * (1 + 1e-6)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_wrong_shape_raises(name):
    op = default_op(name)
    with pytest.raises(ValueError, match="shape"):
        op(np.zeros(_grow(op.in_shape), dtype=op.dtype))
    with pytest.raises(ValueError, match="shape"):
        op.adjoint(np.zeros(_grow(op.out_shape), dtype=op.dtype))


# =====================================================================================
# Known norms and inversions.
# =====================================================================================
def test_identity_norm_and_pinv():
    op = Identity((7, 5))
    assert op.norm() == 1.0
    x = op.random_input(1)
    np.testing.assert_allclose(op.pinv(x), x, atol=1e-12)


@pytest.mark.parametrize("wavelet,shape,level", [("haar", (16, 16), None), ("db4", (16, 16), 1),
                                                 ("db2", (16, 16), 2), ("sym4", (32, 16), 1)])
def test_wavelet_is_orthonormal(wavelet, shape, level):
    op = Wavelet(shape, wavelet, level)
    mat = op.to_matrix()
    # A square orthogonal matrix: WᵀW = I to round-off, so ‖W‖ = 1 and W⁻¹ = Wᵀ.
    np.testing.assert_allclose(mat.T @ mat, np.eye(mat.shape[1]), atol=1e-12)
    assert op.norm() == 1.0
    assert abs(LinearOperator.norm(op) - 1.0) <= 1e-7
    x = op.random_input(0, complex_=True)
    np.testing.assert_allclose(op.pinv(op(x)), x, atol=1e-12)


def test_wavelet_layout_matches_pywavelets():
    op = Wavelet((32, 32), "db2", level=2)
    x = op.random_input(6)
    coeffs = pywt.wavedec2(x, "db2", mode="periodization", level=2)
    np.testing.assert_allclose(op(x)[op.coeff_slices[0]], coeffs[0], atol=1e-12)
    np.testing.assert_allclose(op(x)[op.coeff_slices[1]["dd"]], coeffs[1][2], atol=1e-12)
    assert op.detail_mask.sum() == 32 * 32 - coeffs[0].size
    assert op.level == 2
    assert Wavelet((32, 32), "db4").level == pywt.dwtn_max_level((32, 32), "db4")


@pytest.mark.parametrize("factor", [2, 4])
def test_average_downsample_norm_is_one_over_factor(factor):
    op = Downsample((16, 16), factor, "average")
    assert op.norm() == pytest.approx(1.0 / factor, abs=1e-15)
    assert np.linalg.norm(op.to_matrix(), 2) == pytest.approx(1.0 / factor, rel=1e-12)
    assert Downsample((16, 16), factor, "decimate").norm() == 1.0


def test_downsample_values():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((12, 18))
    avg = Downsample((12, 18), 3, "average")(x)
    expected = np.array([[x[3 * i:3 * i + 3, 3 * j:3 * j + 3].mean() for j in range(6)]
                         for i in range(4)])
    np.testing.assert_allclose(avg, expected, atol=1e-14)
    np.testing.assert_array_equal(Downsample((12, 18), 3, "decimate")(x), x[::3, ::3])


@pytest.mark.parametrize("mode", ["average", "decimate"])
def test_downsample_closed_form_pinv_matches_cg(mode):
    op = Downsample((16, 16), 2, mode)
    y = np.random.default_rng(8).standard_normal(op.out_shape)
    for damp in (0.0, 0.3):
        # Two methods: Aᵀ y / (c + damp) against CG on the normal equations.
        np.testing.assert_allclose(op.pinv(y, damp=damp),
                                   LinearOperator.pinv(op, y, damp=damp), atol=1e-9)


def test_gradient_exact_norm_matches_svd():
    op = Gradient((8, 13))
    sigma = np.linalg.svd(op.to_matrix(), compute_uv=False)
    assert op.norm() == pytest.approx(sigma[0], rel=1e-12)
    assert op.norm() ** 2 <= 8.0


def test_gradient_power_iteration_close_to_sqrt8():
    op = Gradient((256, 256))
    num_iters = 100
    estimate = LinearOperator.norm(op, num_iters=num_iters)
    # ‖∇‖² = 8cos²(π/512) = 8 − 3e-4: sqrt(8) to 2e-5 relative. The top of the spectrum
    # of ∇ᵀ∇ is dense (2-D, eigenvalues 8 − (π/n)²(a² + b²) for small a, b), so after k
    # power steps the estimate of λ_max is short by about 8/(2k): 1/(4k) relative in ‖∇‖,
    # 2.5e-3 for k = 100 (measured 2.3e-3 to 2.8e-3 over seeds). We allow twice that.
    # It can only be an underestimate.
    assert estimate <= op.norm() * (1 + 1e-12)
    assert np.sqrt(8.0) - estimate <= 2.0 / (4 * num_iters) * np.sqrt(8.0)


def test_gradient_values_and_divergence():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 9))
    op = Gradient(x.shape)
    g = op(x)
    np.testing.assert_array_equal(g[0, :-1], np.diff(x, axis=0))
    np.testing.assert_array_equal(g[0, -1], 0.0)
    np.testing.assert_array_equal(g[1, :, :-1], np.diff(x, axis=1))
    np.testing.assert_array_equal(g[1, :, -1], 0.0)
    np.testing.assert_allclose(op(np.full(x.shape, 3.0)), 0.0)
    p = rng.standard_normal((2, 6, 9))
    # Neumann divergence has zero mean: <1, ∇ᵀp> = <∇1, p> = 0.
    assert abs(op.divergence(p).sum()) <= 1e-12
    np.testing.assert_allclose(op.divergence(p), -op.adjoint(p))


def test_gradient_pinv_removes_the_mean():
    op = Gradient((12, 12))
    x = np.random.default_rng(10).standard_normal(op.in_shape) + 5.0
    # The null space of ∇ is the constants: the minimum-norm solution is x − mean(x).
    # CG stops at relative normal-equation residual 1e-10; cond(∇ᵀ∇ on range) ≈ 8/0.07.
    np.testing.assert_allclose(op.pinv(op(x)), x - x.mean(), atol=1e-7)


def test_inpainting_norm_pinv_and_mask():
    op = Inpainting(shape=(20, 30), ratio=0.3, seed=1)
    assert op.norm() == 1.0
    assert op.mask.dtype == bool and op.mask.shape == (20, 30)
    # 600 Bernoulli(0.3) draws: the observed fraction is within 5 standard deviations.
    assert abs(op.mask.mean() - 0.3) <= 5 * np.sqrt(0.3 * 0.7 / 600)
    x = np.random.default_rng(11).standard_normal(op.in_shape)
    np.testing.assert_array_equal(op(x), np.where(op.mask, x, 0.0))
    np.testing.assert_allclose(op.pinv(op(x)), np.where(op.mask, x, 0.0))
    np.testing.assert_array_equal(Inpainting(op.mask.astype(int))(x), op(x))


def test_blur_norm_is_max_eigenvalue():
    op = Blur((16, 12), "motion", kernel_size=5, motion_angle=30.0)
    assert op.norm() == pytest.approx(np.abs(op.eigenvalues).max(), rel=1e-15)
    assert op.norm() == pytest.approx(np.linalg.norm(op.to_matrix(), 2), rel=1e-12)
    # A non-negative kernel with unit sum passes constants unchanged: the DC eigenvalue
    # is 1 and no eigenvalue is larger.
    assert op.eigenvalues[0, 0] == pytest.approx(1.0, abs=1e-14)
    assert op.norm() == pytest.approx(1.0, abs=1e-14)


# =====================================================================================
# Blur.
# =====================================================================================
@pytest.mark.parametrize("kernel,kw", [("gaussian", dict(kernel_size=7, kernel_sigma=1.2)),
                                       ("box", dict(kernel_size=4)),
                                       ("motion", dict(kernel_size=6, motion_angle=45.0))])
def test_blur_equals_ndimage_convolve_wrap(kernel, kw):
    op = Blur((20, 26), kernel, **kw)
    x = np.random.default_rng(12).standard_normal(op.in_shape)
    expected = scipy.ndimage.convolve(x, op.kernel, mode="wrap")
    np.testing.assert_allclose(op(x), expected, atol=1e-12)


def test_blur_explicit_asymmetric_kernel_is_centred_like_ndimage():
    kernel = np.arange(1.0, 13.0).reshape(3, 4)
    op = Blur((10, 11), kernel)
    x = np.random.default_rng(13).standard_normal(op.in_shape)
    np.testing.assert_allclose(op(x), scipy.ndimage.convolve(x, kernel, mode="wrap"),
                               atol=1e-12)
    z = x + 1j * np.random.default_rng(14).standard_normal(op.in_shape)
    np.testing.assert_allclose(op(z), op(z.real) + 1j * op(z.imag), atol=1e-12)
    assert op.adjointness_test(seed=3) <= 1e-13


@pytest.mark.parametrize("lam", [1e-3, 0.5])
def test_tikhonov_closed_form_satisfies_normal_equations(lam):
    op = Blur((24, 24), "gaussian", kernel_size=7, kernel_sigma=2.0)
    rng = np.random.default_rng(15)
    for y in (rng.standard_normal(op.out_shape),
              rng.standard_normal(op.out_shape) + 1j * rng.standard_normal(op.out_shape)):
        x_hat = op.solve_tikhonov(y, lam)
        assert np.iscomplexobj(x_hat) == np.iscomplexobj(y)
        residual = op.gram(x_hat) + lam * x_hat - op.adjoint(y)
        # The FFT solve is exact up to round-off (about 1e-15 relative).
        assert np.linalg.norm(residual) <= 1e-12 * np.linalg.norm(op.adjoint(y))
    np.testing.assert_allclose(op.pinv(y, damp=lam), op.solve_tikhonov(y, lam))


def test_tikhonov_lam_zero_is_the_pseudo_inverse():
    # A 4×4 box on a 12×12 grid has exact zeros in its spectrum (rank deficient).
    op = Blur((12, 12), "box", kernel_size=4)
    y = np.random.default_rng(16).standard_normal(op.out_shape)
    x_hat = op.solve_tikhonov(y, 0.0)
    expected = np.linalg.pinv(op.to_matrix(), rcond=1e-10) @ y.ravel()
    np.testing.assert_allclose(x_hat.ravel(), expected, atol=1e-8)


def test_blur_kernels():
    for name in ("gaussian", "box", "motion"):
        k = blur_kernel(name, kernel_size=7)
        assert k.shape == (7, 7) and k.min() >= 0 and k.sum() == pytest.approx(1.0)
    g = blur_kernel("gaussian", kernel_size=9, kernel_sigma=1.5)
    np.testing.assert_allclose(g, g.T)
    np.testing.assert_allclose(g, g[::-1, ::-1])
    horizontal = blur_kernel("motion", kernel_size=5, motion_angle=0.0)
    np.testing.assert_allclose(horizontal[2], 0.2, atol=1e-12)
    assert horizontal.sum() == pytest.approx(horizontal[2].sum())
    vertical = blur_kernel("motion", kernel_size=5, motion_angle=90.0)
    np.testing.assert_allclose(vertical[:, 2], 0.2, atol=1e-12)


def test_blur_valid_is_the_unwrapped_part_of_the_circular_blur():
    kernel = blur_kernel("motion", kernel_size=5, motion_angle=20.0)
    valid = BlurValid((18, 21), kernel)
    circ = Blur((18, 21), kernel)
    assert valid.out_shape == (14, 17)
    x = np.random.default_rng(17).standard_normal(valid.in_shape)
    # valid[i] = Σ_k h[k] x[i + K − 1 − k] = circular[i + K − 1 − K//2], no wrap-around.
    off = 5 - 1 - 5 // 2
    np.testing.assert_allclose(valid(x), circ(x)[off:off + 14, off:off + 17], atol=1e-12)
    np.testing.assert_allclose(valid(x), scipy.signal.convolve2d(x, kernel, mode="valid"),
                               atol=1e-12)
    assert valid.adjointness_test(seed=4) <= 1e-13
    assert valid.adjointness_test(seed=5, complex_=True) <= 1e-13


# =====================================================================================
# The 1-D deconvolution matrix of the SVD lesson.
# =====================================================================================
def test_deconvolution_matrix_symmetric_with_decaying_singular_values():
    a = deconvolution_matrix(64, 2.0)
    np.testing.assert_array_equal(a, a.T)
    s = np.linalg.svd(a, compute_uv=False)
    # Gaussian symbol exp(−σ²ω²/2) at ω = π is 5e-9: severely ill-conditioned.
    assert s[0] == pytest.approx(1.0, abs=1e-2)
    assert s[-1] / s[0] < 1e-6
    # Wider blur, faster decay: the condition number grows with sigma.
    s_narrow = np.linalg.svd(deconvolution_matrix(64, 1.0), compute_uv=False)
    assert s_narrow[-1] / s_narrow[0] > s[-1] / s[0]
    # Interior rows average with unit weight.
    assert a[32].sum() == pytest.approx(1.0, abs=1e-12)
    assert make_operator("deconv1d", n=64, kernel_sigma=2.0).to_matrix() == pytest.approx(a)


def test_periodic_deconvolution_matrix_is_circulant():
    a = deconvolution_matrix(16, 1.5, boundary="periodic")
    np.testing.assert_allclose(a, a.T)
    for i in range(16):
        np.testing.assert_allclose(a[i], np.roll(a[0], i))
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    # Eigenvalues of a symmetric circulant: the (real) DFT of its first row.
    eig = np.sort(np.linalg.eigvalsh(a))
    np.testing.assert_allclose(eig, np.sort(np.fft.fft(a[0]).real), atol=1e-12)


def test_composition_is_downsample_after_blur():
    op = make_operator("composition")
    x = op.random_input(18)
    blur = Blur((32, 32))
    np.testing.assert_allclose(op(x), Downsample((32, 32), 2)(blur(x)), atol=1e-14)


# =====================================================================================
# Bad input to every factory argument.
# =====================================================================================
@pytest.mark.parametrize("factory,kwargs,exc,word", [
    (Identity, dict(shape=(0, 3)), ValueError, "shape"),
    (Blur, dict(shape=(8, 8, 2)), ValueError, "shape"),
    (Blur, dict(kernel="sharpen"), ValueError, "kernel"),
    (Blur, dict(kernel=np.ones(3)), ValueError, "kernel"),
    (Blur, dict(kernel=np.ones((3, 3)) * 1j), TypeError, "kernel"),
    (Blur, dict(kernel=np.array([[1.0, np.nan]])), ValueError, "kernel"),
    (Blur, dict(kernel=np.ones((0, 3))), ValueError, "kernel"),
    (Blur, dict(shape=(8, 8), kernel=np.ones((9, 3))), ValueError, "kernel"),
    (Blur, dict(kernel=3), ValueError, "kernel"),
    (Blur, dict(kernel_size=0), ValueError, "kernel_size"),
    (Blur, dict(kernel_size=2.5), TypeError, "kernel_size"),
    (Blur, dict(shape=(8, 8), kernel_size=9), ValueError, "kernel_size"),
    (Blur, dict(kernel_sigma=0.0), ValueError, "kernel_sigma"),
    (Blur, dict(kernel="motion", motion_angle=np.inf), ValueError, "motion_angle"),
    (BlurValid, dict(kernel="disk"), ValueError, "kernel"),
    (BlurValid, dict(shape=(4, 4), kernel_size=5), ValueError, "kernel_size"),
    (BlurValid, dict(kernel_sigma=-1.0), ValueError, "kernel_sigma"),
    (Gradient, dict(shape=(16,)), ValueError, "shape"),
    (Downsample, dict(factor=3), ValueError, "factor"),
    (Downsample, dict(factor=0), ValueError, "factor"),
    (Downsample, dict(factor=2.0), TypeError, "factor"),
    (Downsample, dict(mode="bicubic"), ValueError, "mode"),
    (Inpainting, dict(mask=np.zeros((4, 4))), ValueError, "mask"),
    (Inpainting, dict(mask=np.full((4, 4), 2.0)), ValueError, "mask"),
    (Inpainting, dict(mask=np.ones(4)), ValueError, "mask"),
    (Inpainting, dict(mask=np.ones((4, 4)), shape=(4, 5)), ValueError, "mask"),
    (Inpainting, dict(mask="all"), TypeError, "mask"),
    (Inpainting, dict(ratio=0.0), ValueError, "ratio"),
    (Inpainting, dict(ratio=1.5), ValueError, "ratio"),
    (Inpainting, dict(shape=(2, 2), ratio=1e-9), ValueError, "ratio"),
    (Inpainting, dict(seed=-1), ValueError, "seed"),
    (Wavelet, dict(wavelet="morlet"), ValueError, "wavelet"),
    (Wavelet, dict(wavelet="no_such"), ValueError, "wavelet"),
    (Wavelet, dict(wavelet="bior2.2"), ValueError, "wavelet"),
    (Wavelet, dict(wavelet=4), TypeError, "wavelet"),
    (Wavelet, dict(level=0), ValueError, "level"),
    (Wavelet, dict(level=6), ValueError, "level"),
    (Wavelet, dict(shape=(15, 16)), ValueError, "shape"),
])
def test_bad_operator_arguments(factory, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        factory(**kwargs)


@pytest.mark.parametrize("kwargs,exc,word", [
    (dict(n=0), ValueError, "n"),
    (dict(kernel_sigma=0.0), ValueError, "kernel_sigma"),
    (dict(boundary="reflect"), ValueError, "boundary"),
])
def test_bad_deconvolution_matrix_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        deconvolution_matrix(**kwargs)


def test_bad_method_arguments():
    op = Blur((8, 8), kernel_size=3)
    y = np.zeros((8, 8))
    with pytest.raises(ValueError, match="lam"):
        op.solve_tikhonov(y, -1.0)
    with pytest.raises(ValueError, match="y"):
        op.solve_tikhonov(np.zeros((8, 9)), 1.0)
    with pytest.raises(ValueError, match="y"):
        op.solve_tikhonov(np.full((8, 8), np.nan), 1.0)
    with pytest.raises(ValueError, match="rcond"):
        op.solve_tikhonov(y, 1.0, rcond=-1.0)
    for known in (op, Gradient((8, 8)), Downsample((8, 8)), Inpainting(), Wavelet(),
                  Identity()):
        with pytest.raises(ValueError, match="num_iters"):
            known.norm(num_iters=0)
    for closed in (op, Downsample((8, 8)), Inpainting(shape=(8, 8)), Wavelet((8, 8))):
        with pytest.raises(ValueError, match="damp"):
            closed.pinv(y, damp=-1.0)
    with pytest.raises(ValueError, match="x"):
        Gradient((8, 8))(np.zeros(64))
