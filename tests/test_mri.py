"""Tests of the MRI physics: centred FFT, masked FFT and NUFFT operators, the five
sampling patterns, density compensation, point-spread functions and incoherence."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import mri
from course_utils.mri import (CARTESIAN_PATTERNS, NON_CARTESIAN_PATTERNS, PATTERNS,
                              add_kspace_noise, complex_phantom, fft2c, ifft2c, incoherence,
                              off_resonance, psf, sampling_mask, trajectory, zero_filled)
from course_utils.operators import (CartesianMRI, LinearOperator, NonCartesianMRI,
                                    make_operator)
from course_utils.operators.mri import density_compensation

SHAPE = (128, 128)
X = complex_phantom(SHAPE)


def rel_err(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def grid_trajectory(shape):
    """Every point of the Cartesian grid, in the radians of the NUFFT."""
    M, N = shape
    kr, kc = np.meshgrid(np.arange(M) - M // 2, np.arange(N) - N // 2, indexing="ij")
    return np.stack([2 * np.pi * kr.ravel() / M, 2 * np.pi * kc.ravel() / N], axis=1)


# =====================================================================================
# Centred orthonormal FFT.
# =====================================================================================
@pytest.mark.parametrize("shape", [(6, 8), (5, 7), (4, 9)])
def test_fft2c_is_the_centred_unitary_dft(shape):
    M, N = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    # The defining sum, zero frequency and image centre both at (M // 2, N // 2).
    m = np.arange(M) - M // 2
    n = np.arange(N) - N // 2
    fm = np.exp(-2j * np.pi * np.outer(m, m) / M)
    fn = np.exp(-2j * np.pi * np.outer(n, n) / N)
    expected = fm @ x @ fn.T / np.sqrt(M * N)
    np.testing.assert_allclose(fft2c(x), expected, atol=1e-12)
    np.testing.assert_allclose(ifft2c(fft2c(x)), x, atol=1e-12)
    assert np.linalg.norm(fft2c(x)) == pytest.approx(np.linalg.norm(x), rel=1e-12)


def test_fft2c_batches_and_dc_position():
    x = np.ones((3, 8, 8))
    y = fft2c(x)
    # A constant image has all its energy at the zero frequency: sqrt(MN) there.
    np.testing.assert_allclose(y[:, 4, 4], 8.0, atol=1e-12)
    assert np.abs(y).sum() == pytest.approx(3 * 8.0)


# =====================================================================================
# Cartesian operator.
# =====================================================================================
def test_cartesian_operator_values_and_adjoint():
    mask = sampling_mask("variable_density", SHAPE, 4, 0.08, seed=1)
    op = CartesianMRI(mask)
    y = op(X)
    np.testing.assert_allclose(y, fft2c(X) * mask, atol=1e-12)
    assert np.all(y[~mask] == 0)
    np.testing.assert_allclose(op.adjoint(y), zero_filled(y, mask), atol=1e-12)
    # Complex dot test: the adjoint F^H(m ⊙ ·) is exact.
    assert op.adjointness_test(seed=3) <= 1e-13
    assert op.sampling_fraction == pytest.approx(0.25)


def test_fully_sampled_mask_recovers_the_image_exactly():
    op = CartesianMRI(np.ones(SHAPE, dtype=bool))
    np.testing.assert_allclose(op.adjoint(op(X)), X, atol=1e-12)
    np.testing.assert_allclose(op.pinv(op(X)), X, atol=1e-12)
    for pattern in CARTESIAN_PATTERNS:
        # R = 1 samples every line, whatever the pattern.
        assert sampling_mask(pattern, SHAPE, 1.0, 1.0).all()


def test_cartesian_closed_form_pinv_matches_cg():
    op = CartesianMRI(sampling_mask("cartesian_regular", (16, 16), 2, 0.25))
    y = op(op.random_input(4))
    for damp in (0.0, 0.5):
        np.testing.assert_allclose(op.pinv(y, damp=damp),
                                   LinearOperator.pinv(op, y, damp=damp), atol=1e-9)
    assert op.norm() == 1.0
    assert LinearOperator.norm(op) == pytest.approx(1.0, abs=1e-7)


def test_cartesian_rejects_real_input_and_bad_masks():
    op = CartesianMRI(np.ones((8, 8)))
    with pytest.raises(TypeError, match="x must be complex"):
        op(np.zeros((8, 8)))
    with pytest.raises(TypeError, match="y must be complex"):
        op.adjoint(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        op(np.zeros((8, 9), dtype=complex))
    with pytest.raises(ValueError, match="mask"):
        CartesianMRI(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="mask"):
        CartesianMRI(np.full((8, 8), 0.5))
    with pytest.raises(TypeError, match="mask"):
        CartesianMRI(np.ones((8, 8)) * 1j)
    with pytest.raises(ValueError, match="mask"):
        CartesianMRI(np.ones(8))
    with pytest.raises(ValueError, match="operator name"):
        make_operator("mri")


# =====================================================================================
# Non-Cartesian operator (NUFFT).
# =====================================================================================
@pytest.mark.parametrize("shape", [(16, 16), (9, 12), (15, 7)])
def test_nufft_on_the_grid_is_fft2c(shape):
    op = NonCartesianMRI(grid_trajectory(shape), shape)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    # eps = 1e-12: the NUFFT equals the FFT to about 1e-12 (measured 2e-12 here).
    np.testing.assert_allclose(op(x), fft2c(x).ravel(), atol=1e-10)
    np.testing.assert_allclose(op.adjoint(op(x)), x, atol=1e-10)


def test_nufft_matches_the_direct_nonuniform_sum():
    shape = (10, 14)
    M, N = shape
    traj = trajectory("spiral", shape, 2.0, 0.2)
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    rows = np.arange(M) - M // 2
    cols = np.arange(N) - N // 2
    phase = (traj[:, 0, None, None] * rows[None, :, None]
             + traj[:, 1, None, None] * cols[None, None, :])
    expected = (np.exp(-1j * phase) * x[None]).sum(axis=(1, 2)) / np.sqrt(M * N)
    op = NonCartesianMRI(traj, shape)
    np.testing.assert_allclose(op(x), expected, atol=1e-10)
    y = rng.standard_normal(len(traj)) + 1j * rng.standard_normal(len(traj))
    expected_adj = (np.exp(1j * phase) * y[:, None, None]).sum(axis=0) / np.sqrt(M * N)
    np.testing.assert_allclose(op.adjoint(y), expected_adj, atol=1e-10)


def test_nufft_on_cartesian_pattern_matches_the_masked_fft():
    mask = sampling_mask("cartesian_regular", SHAPE, 4, 0.08)
    traj = trajectory("cartesian_regular", SHAPE, 4, 0.08)
    assert len(traj) == mask.sum()
    # The Cartesian trajectory lists the mask's points in row-major order.
    np.testing.assert_allclose(NonCartesianMRI(traj, SHAPE)(X), CartesianMRI(mask)(X)[mask],
                               atol=1e-10)


@pytest.mark.parametrize("pattern", NON_CARTESIAN_PATTERNS)
def test_nufft_dot_test_and_determinism(pattern):
    op = NonCartesianMRI(trajectory(pattern, (20, 24), 3.0, 0.1), (20, 24))
    # Type-1 and type-2 NUFFTs at eps = 1e-12 are adjoint to about 1e-12 (measured
    # 5e-17); the course contract is 1e-6.
    assert op.adjointness_test(seed=1) <= 1e-10
    x = op.random_input(2)
    np.testing.assert_array_equal(op(x), NonCartesianMRI(op.trajectory, (20, 24))(x))


def test_nufft_registry_default():
    op = make_operator("mri_nufft")
    assert op.in_shape == (24, 24) and op.in_kind == op.out_kind == "complex"
    # 24 × 24 radial at R = 2: ceil(24π/4) = 19 spokes of 48 samples.
    assert op.num_samples == 19 * 48
    spiral = make_operator("mri_nufft", pattern="spiral", acceleration=3.0)
    assert spiral.adjointness_test(seed=0, complex_=True) <= 1e-10
    cart = make_operator("mri_cartesian")
    assert cart.in_shape == (24, 24) and cart.mask.sum(axis=1).tolist().count(24) == 6


@pytest.mark.parametrize("bad", [
    np.array([[0.0, np.pi]]),                 # π itself is outside [-π, π)
    np.array([[-3.2, 0.0]]),
    np.array([[0.0, 7.0], [0.0, 0.0]]),
])
def test_nufft_rejects_trajectories_outside_k_space(bad):
    with pytest.raises(ValueError, match="trajectory"):
        NonCartesianMRI(bad, (8, 8))
    with pytest.raises(ValueError, match="trajectory"):
        density_compensation(bad, (8, 8))


@pytest.mark.parametrize("call,exc,word", [
    (lambda: NonCartesianMRI(np.zeros((5, 3)), (8, 8)), ValueError, "trajectory"),
    (lambda: NonCartesianMRI(np.zeros((0, 2)), (8, 8)), ValueError, "trajectory"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)) + 0j, (8, 8)), TypeError, "trajectory"),
    (lambda: NonCartesianMRI(np.full((5, 2), np.nan), (8, 8)), ValueError, "trajectory"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8, 2)), ValueError, "shape"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8), eps=0.5), ValueError, "eps"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8))(np.zeros((8, 8))), TypeError, "x"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8)).adjoint(np.zeros(5)), TypeError, "y"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8)).adjoint(np.zeros(6) + 0j),
     ValueError, "shape"),
    (lambda: density_compensation(np.zeros((5, 2)), (8, 8), "voronoi"), ValueError, "method"),
    (lambda: density_compensation(np.zeros((5, 2)), (8, 8), num_iters=0), ValueError,
     "num_iters"),
    (lambda: NonCartesianMRI(np.zeros((5, 2)), (8, 8)).gridding_recon(np.zeros(5) + 0j,
                                                                    np.ones(4)),
     ValueError, "weights"),
])
def test_nufft_bad_arguments(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# =====================================================================================
# Density compensation and gridding.
# =====================================================================================
def test_pipe_weights_are_one_on_the_cartesian_grid():
    w = density_compensation(grid_trajectory((32, 32)), (32, 32))
    # A fully sampled grid: one grid cell per sample. The kernel's discrete integral is
    # 1 − 5e-3 here (measured); 1e-2 is the scale the gridding needs.
    np.testing.assert_allclose(w, 1.0, rtol=1e-2)


def test_pipe_and_ramp_weights_agree_on_radial_spokes():
    traj = trajectory("radial", SHAPE, 1.0)
    pipe = density_compensation(traj, SHAPE, "pipe")
    ramp = density_compensation(traj, SHAPE, "ramp")
    # The ramp |k| is the exact density of radial spokes. Pipe–Menon finds it from
    # the samples alone; they differ near the zero frequency (where the ramp's value is a
    # convention) and towards the outer end of the spokes (no samples beyond the edge;
    # 2 % at 0.85 of the radius). Between 0.05 and 0.8 of the radius they agree to
    # 0.2 % (measured); 1 % tolerance.
    radius = np.hypot(traj[:, 0], traj[:, 1])
    middle = (radius > 0.05 * np.pi) & (radius < 0.8 * np.pi)
    assert np.max(np.abs(pipe[middle] / ramp[middle] - 1)) <= 1e-2
    # Both add up to the area of the sampled disc, π (M/2)(N/2) grid cells.
    disc = np.pi * SHAPE[0] * SHAPE[1] / 4
    assert ramp.sum() == pytest.approx(disc, rel=1e-12)
    assert pipe.sum() == pytest.approx(disc, rel=2e-2)


SMALL = (64, 64)
X_SMALL = complex_phantom(SMALL)


@pytest.mark.parametrize("pattern,method", [("radial", "ramp"), ("radial", "pipe"),
                                            ("spiral", "pipe")])
def test_gridding_recovers_the_image_when_fully_sampled(pattern, method):
    op = NonCartesianMRI(trajectory(pattern, SMALL, 1.0), SMALL)
    x_hat = op.gridding_recon(op(X_SMALL), op.density_compensation(method))
    # R = 1 covers the disc |ω| < π at twice the grid density. What is lost is the
    # corners of k-space: the disc-limited 64² image differs from X by 5.7 %. Measured
    # gridding errors: 6.2 % (ramp), 5.6 % (radial, Pipe), 6.2 % (spiral, Pipe).
    assert rel_err(x_hat, X_SMALL) <= 0.08
    # Without density compensation the centre is over-weighted: a blur, far worse even
    # after the best rescaling to the peak (measured 2.6 radial, 0.89 spiral).
    blurred = op.adjoint(op(X_SMALL))
    assert rel_err(blurred / np.abs(blurred).max(), X_SMALL) >= 0.3


def test_gridding_error_grows_with_acceleration():
    errors = []
    for r in (1.0, 4.0, 16.0):
        op = NonCartesianMRI(trajectory("radial", SMALL, r), SMALL)
        errors.append(rel_err(op.gridding_recon(op(X_SMALL), op.density_compensation("ramp")),
                              X_SMALL))
    # Fewer spokes: more streaks (measured 6 %, 33 %, 107 %).
    assert errors[0] < errors[1] < errors[2]
    assert errors[0] <= 0.08 and errors[2] >= 0.5


# =====================================================================================
# Sampling patterns.
# =====================================================================================
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("acceleration", [2.0, 4.0, 8.0])
def test_sampled_fraction_is_one_over_acceleration(pattern, acceleration):
    cf = 0.08 if acceleration <= 4 else 0.04
    for shape in (SHAPE, (96, 80)):
        mask = sampling_mask(pattern, shape, acceleration, cf, seed=0)
        assert mask.shape == shape and mask.dtype == bool
        frac = mask.mean()
        if pattern in CARTESIAN_PATTERNS:
            # round(M / R) whole lines: exact up to rounding to one line.
            assert abs(frac - 1 / acceleration) <= 1 / shape[0] + 1e-12
        else:
            # A rasterised trajectory tuned by bisection: measured within 4 %.
            assert abs(frac * acceleration - 1) <= 0.06


@pytest.mark.parametrize("pattern", PATTERNS)
def test_centre_of_k_space_is_fully_sampled(pattern):
    M, N = SHAPE
    cf = 0.08
    mask = sampling_mask(pattern, SHAPE, 4, cf, seed=2)
    if pattern in CARTESIAN_PATTERNS:
        n_center = int(round(cf * M))
        block = np.arange(M // 2 - n_center // 2, M // 2 - n_center // 2 + n_center)
        assert mask[block, :].all()
    else:
        # Spokes and spiral turns are densest at the centre: a disc of radius 3 is full.
        rows, cols = np.ogrid[:M, :N]
        assert mask[(rows - M // 2) ** 2 + (cols - N // 2) ** 2 <= 9].all()
    assert mask[M // 2, N // 2]


def test_regular_cartesian_takes_every_rth_line():
    mask = sampling_mask("cartesian_regular", SHAPE, 4, 0.08, calibration=False)
    rows = np.nonzero(mask[:, 0])[0]
    np.testing.assert_array_equal(rows, np.arange(0, 128, 4))
    assert mask[rows].all() and not mask[~np.isin(np.arange(128), rows)].any()
    with_cal = sampling_mask("cartesian_regular", SHAPE, 4, 0.08)
    assert with_cal.mean() == pytest.approx(0.25)


def test_variable_density_is_seeded_and_denser_at_the_centre():
    a = sampling_mask("variable_density", SHAPE, 4, 0.08, seed=3)
    np.testing.assert_array_equal(a, sampling_mask("variable_density", SHAPE, 4, 0.08, seed=3))
    assert not np.array_equal(a, sampling_mask("variable_density", SHAPE, 4, 0.08, seed=4))
    # Lines are whole (readout fully sampled): a 2-D acquisition.
    assert np.all(a.all(axis=1) | ~a.any(axis=1))
    # Over many seeds, lines near the centre are picked more often than far ones.
    freq = np.mean([sampling_mask("variable_density", SHAPE, 4, 0.08, seed=s)[:, 0]
                    for s in range(40)], axis=0)
    assert freq[64 + 10:64 + 20].mean() > 2 * freq[64 + 45:64 + 55].mean()
    pts = sampling_mask("variable_density", SHAPE, 4, 0.08, seed=3, dims=2)
    assert pts.mean() == pytest.approx(0.25, abs=1e-4)
    assert not np.all(pts.all(axis=1) | ~pts.any(axis=1))


@pytest.mark.parametrize("pattern", NON_CARTESIAN_PATTERNS)
def test_trajectories_stay_in_k_space_and_count_samples(pattern):
    for shape in ((64, 64), (33, 47)):
        for r in (1.0, 3.0, 8.0):
            traj, times = trajectory(pattern, shape, r, 0.1, return_times=True)
            assert traj.shape[1] == 2 and times.shape == (traj.shape[0],)
            assert traj.min() >= -np.pi and traj.max() < np.pi
            assert times.min() == 0 and np.all(times == np.round(times))
        n = max(shape) if pattern == "radial" else np.sqrt(shape[0] * shape[1])
        full = len(trajectory(pattern, shape, 1.0, 0.1))
        # R = 1 is the disc at twice the grid density, about π n² samples (measured
        # 0.96 to 1.005 of it); R = 4 has a quarter of them (within 4.5 %).
        assert full == pytest.approx(np.pi * n ** 2, rel=0.06)
        assert len(trajectory(pattern, shape, 4.0, 0.1)) == pytest.approx(full / 4, rel=0.06)
    # Radial: spokes of 2n samples half a grid spacing apart, through the centre.
    traj = trajectory("radial", (32, 32), 2.0)
    spokes = traj.reshape(-1, 64, 2)
    assert spokes.shape[0] == int(np.ceil(32 * np.pi / 4))
    np.testing.assert_allclose(spokes[:, 32], 0.0, atol=1e-15)
    step = np.linalg.norm(np.diff(spokes, axis=1), axis=2)
    np.testing.assert_allclose(step, np.pi / 32, rtol=1e-12)


def test_spiral_centre_fraction_makes_a_variable_density():
    uniform = trajectory("spiral", (64, 64), 4.0, 0.01)
    dense = trajectory("spiral", (64, 64), 4.0, 0.4)
    radius_u = np.hypot(*uniform.T) / np.pi
    radius_d = np.hypot(*dense.T) / np.pi
    # The same budget, but more of it inside radius 0.4 when that disc is at full density.
    assert (radius_d < 0.4).mean() > 2 * (radius_u < 0.4).mean()
    assert len(dense) == pytest.approx(len(uniform), rel=0.05)


# =====================================================================================
# Point-spread function and incoherence.
# =====================================================================================
def test_psf_is_the_zero_filled_image_of_a_point():
    mask = sampling_mask("variable_density", SHAPE, 4, 0.08, seed=5)
    delta = np.zeros(SHAPE, dtype=complex)
    delta[64, 64] = 1.0
    image = CartesianMRI(mask).adjoint(CartesianMRI(mask)(delta))
    p = psf(mask)
    assert p[64, 64] == pytest.approx(1.0)
    # Zero-filling a point gives the PSF scaled by the sampled fraction.
    np.testing.assert_allclose(image, p * mask.mean(), atol=1e-12)
    np.testing.assert_allclose(psf("variable_density", SHAPE, 4, 0.08, seed=5), p)


def test_regular_sampling_has_coherent_replicas():
    mask = sampling_mask("cartesian_regular", SHAPE, 4, 0.08, calibration=False)
    p = psf(mask)
    # Every 4th line: the PSF is four equal peaks M/4 apart along the phase encode —
    # the image folds onto itself. Side lobe / peak = 1 exactly.
    for k in range(4):
        assert abs(p[(64 + 32 * k) % 128, 64]) == pytest.approx(1.0, abs=1e-12)
    assert incoherence(p) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("acceleration,cf", [(4, 0.08), (8, 0.04)])
def test_variable_density_is_more_incoherent_than_regular(acceleration, cf):
    regular = incoherence(psf("cartesian_regular", SHAPE, acceleration, cf))
    random_lines = incoherence(psf("variable_density", SHAPE, acceleration, cf, seed=0))
    random_points = incoherence(psf("variable_density", SHAPE, acceleration, cf, seed=0,
                                     dims=2))
    # Measured: regular 0.61 / 0.89 (replicas, the calibration lines dilute them),
    # random lines 0.40 / 0.52, random points 0.05 / 0.06 (incoherence in 2-D).
    assert random_lines < regular - 0.15
    assert random_points < 0.5 * random_lines


def test_non_cartesian_psfs_are_incoherent():
    for pattern in NON_CARTESIAN_PATTERNS:
        p = psf(pattern, SHAPE, 4, 0.08)
        assert p[64, 64] == pytest.approx(1.0)
        # Streaks (radial) and rings (spiral) spread the aliasing: measured 0.03 and 0.07,
        # against 0.61 for regular Cartesian lines.
        assert incoherence(p) <= 0.15


def test_low_frequency_psf_is_a_dirichlet_kernel():
    M, n_lines = 128, 32
    p = psf("low_frequency", SHAPE, 4, 0.08)
    r = np.arange(1, M)
    # Central L lines: along the phase encode the PSF is sin(πLr/M) / (L sin(πr/M)).
    dirichlet = np.abs(np.sin(np.pi * n_lines * r / M) / (n_lines * np.sin(np.pi * r / M)))
    np.testing.assert_allclose(np.abs(p[(64 + r) % M, 64]), dirichlet, atol=1e-12)
    first_zero = M // n_lines
    assert incoherence(p) == pytest.approx(dirichlet[first_zero:M - first_zero].max(), abs=1e-12)
    # A blur, not aliasing: side lobes are the Gibbs ripples (0.217 here), but with only
    # the peak excluded the wide main lobe dominates (0.90).
    assert incoherence(p) < 0.25
    assert incoherence(p, exclude=0) == pytest.approx(dirichlet[0], abs=1e-12)


def test_incoherence_known_values():
    p = np.zeros((16, 16))
    p[8, 8] = 2.0
    assert incoherence(p) == 0.0
    p[2, 3] = -0.5
    assert incoherence(p) == pytest.approx(0.25)
    p[8, 9] = 1.0                                  # a neighbour on the main lobe's slope
    assert incoherence(p) == pytest.approx(0.25)
    assert incoherence(p, exclude=0) == pytest.approx(0.5)
    assert incoherence(p, exclude=1) == pytest.approx(0.25)


# =====================================================================================
# Test data and noise.
# =====================================================================================
def test_complex_phantom():
    x = complex_phantom((64, 80), max_phase=1.0)
    assert x.shape == (64, 80) and x.dtype == np.complex128
    assert 0 <= np.abs(x).min() and np.abs(x).max() <= 1.0
    inside = np.abs(x) > 0.05
    phase = np.angle(x[inside])
    assert np.abs(phase).max() <= 1.0 + 1e-12 and np.ptp(phase) > 0.5
    np.testing.assert_array_equal(x, complex_phantom((64, 80), max_phase=1.0))
    assert np.isrealobj(complex_phantom((8, 8), max_phase=0.0).real)
    assert np.abs(complex_phantom((8, 8), max_phase=0.0).imag).max() == 0.0


def test_kspace_noise_statistics():
    y = np.zeros((256, 256), dtype=complex)
    noisy = add_kspace_noise(y, 0.1, seed=0)
    # E|n|² = σ²: over 65 536 samples the estimate is within 1 % (3 standard errors).
    assert np.mean(np.abs(noisy) ** 2) == pytest.approx(0.01, rel=0.015)
    assert np.var(noisy.real) == pytest.approx(np.var(noisy.imag), rel=0.03)
    mask = sampling_mask("variable_density", (256, 256), 4, 0.08)
    masked = add_kspace_noise(y, 0.1, seed=0, mask=mask)
    assert np.all(masked[~mask] == 0) and np.all(masked[mask] != 0)
    np.testing.assert_array_equal(add_kspace_noise(y, 0.1, seed=0), noisy)
    # Orthonormal FFT: the image noise has the same σ.
    assert np.std(ifft2c(noisy)) == pytest.approx(0.1, rel=0.015)


def test_off_resonance_shifts_a_cartesian_readout():
    M, N = 32, 32
    x = complex_phantom((M, N))
    y = fft2c(x)
    times = np.broadcast_to(np.arange(N, dtype=float), (M, N))
    dwell = 4e-6
    delta_f = 1.0 / (N * dwell)                   # exactly one pixel over the readout
    shifted = ifft2c(off_resonance(y, times, delta_f, dwell))
    # Phase e^{−2πi c/N} on column c = k + N//2: a shift by one pixel along the readout,
    # times the constant e^{−2πi (N//2)/N} of the time origin at the first column.
    expected = np.roll(x, 1, axis=1) * np.exp(-2j * np.pi * (N // 2) / N)
    np.testing.assert_allclose(shifted, expected, atol=1e-12)


def test_off_resonance_blurs_a_spiral():
    traj, times = trajectory("spiral", SMALL, 1.0, return_times=True)
    op = NonCartesianMRI(traj, SMALL)
    y = op(X_SMALL)
    w = op.density_compensation()
    errors = [rel_err(op.gridding_recon(off_resonance(y, times, f), w), X_SMALL)
              for f in (0.0, 50.0, 200.0)]
    # Arms of 1 562 samples, 6.2 ms at 4 µs: 50 Hz adds a third of a turn of phase at the
    # edge of k-space, 200 Hz more than a turn (measured 6 %, 31 %, 67 %).
    assert errors[0] < errors[1] < errors[2]
    np.testing.assert_array_equal(off_resonance(y, times, 0.0), y)


# =====================================================================================
# Bad input.
# =====================================================================================
@pytest.mark.parametrize("kwargs,exc,word", [
    (dict(pattern="poisson_disc"), ValueError, "pattern"),
    (dict(pattern=3), TypeError, "pattern"),
    (dict(acceleration=0.5), ValueError, "acceleration"),
    (dict(acceleration=np.nan), ValueError, "acceleration"),
    (dict(acceleration="4x"), TypeError, "acceleration"),
    (dict(center_fraction=0.0), ValueError, "center_fraction"),
    (dict(center_fraction=1.5), ValueError, "center_fraction"),
    (dict(center_fraction=-0.1), ValueError, "center_fraction"),
    (dict(center_fraction=0.5), ValueError, "center_fraction"),    # > 1 / acceleration
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(shape=(8, 8, 8)), ValueError, "shape"),
    (dict(shape=(0, 8)), ValueError, "shape"),
    (dict(dims=3), ValueError, "dims"),
    (dict(decay=-1.0), ValueError, "decay"),
    (dict(calibration="yes"), TypeError, "calibration"),
])
@pytest.mark.parametrize("pattern", ["cartesian_regular", "variable_density"])
def test_sampling_mask_bad_arguments(kwargs, exc, word, pattern):
    args = {"pattern": pattern, "shape": (32, 32), "acceleration": 4.0,
            "center_fraction": 0.08, **kwargs}
    with pytest.raises(exc, match=word):
        sampling_mask(**args)


@pytest.mark.parametrize("call,exc,word", [
    (lambda: trajectory("spiral", (32, 32), 8.0, 0.5), ValueError, "center_fraction"),
    (lambda: sampling_mask("spiral", (32, 32), 8.0, 0.5), ValueError, "center_fraction"),
    (lambda: trajectory("radial", (32, 32), 0.9), ValueError, "acceleration"),
    (lambda: trajectory("radial", (32, 32), 2.0, 1.01), ValueError, "center_fraction"),
    (lambda: trajectory("radial", (32, 32), num_interleaves=0), ValueError, "num_interleaves"),
    (lambda: trajectory("radial", (32, 32), dims=2), TypeError, "dims"),
    (lambda: trajectory("zigzag", (32, 32)), ValueError, "pattern"),
    (lambda: psf(np.zeros((8, 8))), ValueError, "pattern_or_mask"),
    (lambda: psf(np.full((8, 8), 2.0)), ValueError, "pattern_or_mask"),
    (lambda: psf(np.ones((8, 8)) + 1j), TypeError, "pattern_or_mask"),
    (lambda: psf("wavelet"), ValueError, "pattern"),
    (lambda: psf(np.ones((8, 8)), dims=2), TypeError, "keyword"),
    (lambda: incoherence(np.zeros((8, 8))), ValueError, "psf"),
    (lambda: incoherence(np.ones(8)), ValueError, "psf"),
    (lambda: incoherence(np.ones((8, 8)), exclude="peak"), ValueError, "exclude"),
    (lambda: incoherence(np.ones((8, 8)), exclude=-1), ValueError, "exclude"),
    (lambda: fft2c(np.ones(8)), ValueError, "x"),
    (lambda: ifft2c("k-space"), TypeError, "y"),
    (lambda: zero_filled(np.ones((8, 8)), np.ones((8, 9))), ValueError, "mask"),
    (lambda: complex_phantom((8, 8), max_phase=4.0), ValueError, "max_phase"),
    (lambda: complex_phantom((8,)), ValueError, "shape"),
    (lambda: add_kspace_noise(np.ones(4), -0.1), ValueError, "sigma"),
    (lambda: add_kspace_noise(np.ones(4), 0.1, mask=np.full(4, 0.5)), ValueError, "mask"),
    (lambda: off_resonance(np.ones(4), np.ones(5), 10.0), ValueError, "times"),
    (lambda: off_resonance(np.ones(4), np.ones(4), np.nan), ValueError, "delta_f"),
    (lambda: off_resonance(np.ones(4), np.ones(4), 10.0, dwell=0.0), ValueError, "dwell"),
])
def test_mri_bad_arguments(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_module_exports():
    assert set(mri.__all__) >= {"fft2c", "ifft2c", "sampling_mask", "trajectory", "psf",
                                "incoherence", "zero_filled", "complex_phantom", "PATTERNS"}
    assert PATTERNS == ("low_frequency", "cartesian_regular", "variable_density", "radial",
                        "spiral")
