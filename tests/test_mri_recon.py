"""MRI reconstruction: test images, CS solvers (agreement, optimality), NUFFT CS, the
entry point, the gallery, off-resonance, the comparison table and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import mri_recon as R
from course_utils.data import random_ellipses
from course_utils.mri import complex_phantom, fft2c, ifft2c, sampling_mask, trajectory
from course_utils.operators import CartesianMRI, LinearOperator, NonCartesianMRI
from course_utils.priors import WaveletL1
from course_utils.solvers import FISTA

N = 32


@pytest.fixture(scope="module")
def phantom():
    """A complex random-ellipse phantom (a training-like image, 32 × 32)."""
    return R.with_phase(random_ellipses((N, N), 6, seed=3), seed=4)


@pytest.fixture(scope="module")
def vd_mask():
    return sampling_mask("variable_density", (N, N), 3.0, 0.125, seed=1)


# -- images --------------------------------------------------------------------------------
def test_mri_slice_is_read_offline():
    x = R.load_mri_slice()
    assert x.shape == (256, 256) and x.dtype == np.float64
    assert x.min() == 0.0 and x.max() == 1.0
    small = R.load_mri_slice(64)
    assert small.shape == (64, 64) and 0.0 <= small.min() and small.max() <= 1.0
    with pytest.raises(ValueError, match="size"):
        R.load_mri_slice(4)


def test_smooth_phase_matches_complex_phantom():
    x = complex_phantom((48, 40))
    phase = R.smooth_phase((48, 40))
    support = np.abs(x) > 0
    np.testing.assert_allclose(np.angle(x)[support], phase[support], atol=1e-12)
    rnd = R.smooth_phase((20, 30), 1.0, seed=5)
    assert abs(rnd.mean()) < 1e-12 and np.isclose(np.abs(rnd).max(), 1.0)
    np.testing.assert_array_equal(rnd, R.smooth_phase((20, 30), 1.0, seed=5))
    with pytest.raises(ValueError, match="max_phase"):
        R.smooth_phase((8, 8), 4.0)


def test_with_phase_and_test_images():
    mag = random_ellipses((16, 16), 3, seed=0)
    z = R.with_phase(mag, seed=2)
    np.testing.assert_allclose(np.abs(z), mag, atol=1e-12)
    with pytest.raises(TypeError, match="x must be real-valued"):
        R.with_phase(z)
    with pytest.raises(ValueError, match="non-negative"):
        R.with_phase(-mag)
    for name in R.HELDOUT_IMAGES:
        x = R.test_image(name, 32)
        assert x.shape == (32, 32) and np.iscomplexobj(x) and np.abs(x).max() <= 1.0 + 1e-12
    with pytest.raises(ValueError, match="Unknown name"):
        R.test_image("camera")


# -- measurement ---------------------------------------------------------------------------
def test_measure_masks_and_adds_noise(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    np.testing.assert_allclose(y, vd_mask * fft2c(phantom), atol=1e-14)
    noisy = R.measure(phantom, vd_mask, sigma=0.1, seed=3)
    assert np.all(noisy[~vd_mask] == 0)
    residual = (noisy - y)[vd_mask]
    # E|n|² = σ²: 3-σ band of the sample variance over ~340 samples
    assert abs(np.mean(np.abs(residual) ** 2) / 0.01 - 1) < 3 * np.sqrt(1 / residual.size)


def test_measure_bad_input(phantom, vd_mask):
    with pytest.raises(TypeError, match="x must be complex-valued"):
        R.measure(np.abs(phantom), vd_mask)
    with pytest.raises(TypeError, match="mask must be real-valued"):
        R.measure(phantom, vd_mask.astype(complex))
    with pytest.raises(ValueError, match="mask must have shape"):
        R.measure(phantom, vd_mask[:-1])
    with pytest.raises(ValueError, match="mask must contain only 0 and 1"):
        R.measure(phantom, vd_mask * 2.0)
    with pytest.raises(ValueError, match="sigma"):
        R.measure(phantom, vd_mask, sigma=-1.0)


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="acceleration must be >= 1"):
        R.sampling("variable_density", (N, N), 0.5)
    with pytest.raises(ValueError, match="center_fraction must be > 0"):
        R.sampling("variable_density", (N, N), 4, 0.0)
    with pytest.raises(ValueError, match="center_fraction must be <= 1"):
        R.sampling("spiral", (N, N), 2, 1.5)
    with pytest.raises(ValueError, match="Unknown pattern"):
        R.sampling("rosette", (N, N), 4)
    with pytest.raises(ValueError, match="acceleration"):
        R.default_center_fraction(0.9)
    assert R.default_center_fraction(4) == 0.08 and R.default_center_fraction(8) == 0.04
    # a trajectory outside k-space is refused where the operator is built
    bad = trajectory("radial", (N, N), 4.0) * 1.01
    with pytest.raises(ValueError, match="trajectory must lie in"):
        NonCartesianMRI(bad, (N, N))


# -- periodic gradient ---------------------------------------------------------------------
def test_periodic_gradient_adjoint_and_eigenvalues():
    D = R.PeriodicGradient((12, 10))
    assert D.adjointness_test(complex_=True) < 1e-12
    x = np.random.default_rng(0).standard_normal((12, 10)) + 0j
    # DᴴD is diagonal in (centred) k-space with the closed-form eigenvalues
    np.testing.assert_allclose(D.adjoint(D(x)), ifft2c(D.gram_eigenvalues() * fft2c(x)),
                               atol=1e-12)
    # closed-form norm against the generic power iteration of the base class
    assert np.isclose(D.norm(), LinearOperator.norm(D, num_iters=2000, tol=1e-12), rtol=1e-3)


# -- compressed sensing --------------------------------------------------------------------
def test_cs_wavelet_is_fista_on_the_masked_fft(phantom, vd_mask):
    """Without cycle spinning the written-out loop is the library's FISTA with the
    WaveletL1 prior and tau = 1 (two implementations of one iteration)."""
    y = R.measure(phantom, vd_mask)
    ours = R.cs_wavelet(y, vd_mask, 0.01, num_iters=15, cycle_spin=False)
    ref = FISTA(CartesianMRI(vd_mask), y, WaveletL1(0.01, "haar"), tau=1.0,
                x0=ifft2c(y)).run(15).x_hat
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_cs_wavelet_decreases_the_objective(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    values = []
    R.cs_wavelet(y, vd_mask, 0.01, num_iters=40, cycle_spin=False,
                 callback=lambda k, x: values.append(R.cs_objective(x, y, vd_mask, 0.01,
                                                                    "cs_wavelet")))
    start = R.cs_objective(ifft2c(y), y, vd_mask, 0.01, "cs_wavelet")
    assert values[-1] < 0.9 * start
    # FISTA's bound F(x_k) − F* <= 2‖x0 − x*‖² / (k+1)²: late iterates barely move
    assert abs(values[-1] - values[-2]) < 1e-3 * values[-1]


def test_cs_tv_admm_agrees_with_pdhg(phantom, vd_mask):
    """The fast ADMM and the library's PDHG minimise the same objective."""
    y = R.measure(phantom, vd_mask)
    lam = 0.01
    x_admm = R.cs_tv(y, vd_mask, lam, num_iters=300)
    x_pdhg = R.cs_tv(y, vd_mask, lam, num_iters=800, solver="pdhg")
    f_admm = R.cs_objective(x_admm, y, vd_mask, lam, "cs_tv")
    f_pdhg = R.cs_objective(x_pdhg, y, vd_mask, lam, "cs_tv")
    assert abs(f_admm - f_pdhg) <= 1e-3 * f_pdhg          # same minimum, 0.1 %
    assert np.linalg.norm(x_admm - x_pdhg) <= 0.01 * np.linalg.norm(x_pdhg)   # 1 %


def test_cs_tv_beats_the_truth_on_its_objective(phantom, vd_mask):
    """Noise-free data: the true image is feasible (zero data term), so the minimiser's
    objective is at most lam TV(x_true)."""
    y = R.measure(phantom, vd_mask)
    lam = 0.003
    x_hat = R.cs_tv(y, vd_mask, lam)
    assert (R.cs_objective(x_hat, y, vd_mask, lam, "cs_tv")
            <= R.cs_objective(phantom, y, vd_mask, lam, "cs_tv"))


def test_cs_improves_on_zero_filled(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    base = R.quality(phantom, ifft2c(y))["psnr"]
    for method in R.CS_METHODS:
        gain = R.quality(phantom, R.reconstruct(y, vd_mask, method))["psnr"] - base
        assert gain >= 2.0, (method, gain)                   # at least 2 dB at 3×


def test_cs_special_cases(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    np.testing.assert_allclose(R.cs_tv(y, vd_mask, 0.0), ifft2c(y), atol=1e-14)
    full = np.ones((N, N), bool)
    x_full = R.cs_wavelet(R.measure(phantom, full), full, 1e-6)
    assert R.quality(phantom, x_full)["psnr"] > 60            # full data: exact
    # a mask that misses the zero frequency: the undetermined mean is set to zero
    mask = vd_mask.copy()
    mask[N // 2, :] = False
    x = R.cs_tv(R.measure(phantom, mask), mask, 0.01, num_iters=5)
    assert np.all(np.isfinite(x))


def test_cs_bad_input(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    with pytest.raises(TypeError, match="y must be complex-valued"):
        R.cs_tv(np.abs(y), vd_mask)
    with pytest.raises(TypeError, match="mask must be real-valued"):
        R.cs_wavelet(y, vd_mask + 0j)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        R.cs_tv(y, vd_mask, -1.0)
    with pytest.raises(ValueError, match="num_iters"):
        R.cs_wavelet(y, vd_mask, num_iters=0)
    with pytest.raises(ValueError, match="Unknown solver"):
        R.cs_tv(y, vd_mask, solver="cg")
    with pytest.raises(TypeError, match="cycle_spin must be a bool"):
        R.cs_wavelet(y, vd_mask, cycle_spin=1)
    with pytest.raises(ValueError, match="Unknown method"):
        R.default_lam("tikhonov")
    with pytest.raises(ValueError, match="sigma"):
        R.default_lam("cs_tv", -0.1)
    assert R.default_lam("cs_tv", 0.1) > R.default_lam("cs_tv", 0.0)


# -- radial and spiral ---------------------------------------------------------------------
def test_cs_nufft_improves_on_gridding(phantom):
    op = R.sampling("radial", (N, N), 4.0)
    assert isinstance(op, NonCartesianMRI)
    y = R.acquire(phantom, op)
    base = R.quality(phantom, R.reconstruct(y, op, "zero_filled"))["psnr"]
    gain = R.quality(phantom, R.reconstruct(y, op, "cs_wavelet", num_iters=30))["psnr"] - base
    assert gain >= 2.0, gain
    with pytest.raises(ValueError, match="needs a Cartesian mask"):
        R.reconstruct(y, op, "unrolled")
    with pytest.raises(TypeError, match="op must be a NonCartesianMRI"):
        R.cs_nufft(y, np.ones((N, N)))
    with pytest.raises(TypeError, match="y must be complex-valued"):
        R.cs_nufft(np.abs(y), op)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        R.cs_nufft(y, op, weights=-np.ones(op.num_samples))


# -- the entry point -----------------------------------------------------------------------
def test_reconstruct_dispatch(phantom, vd_mask):
    y = R.measure(phantom, vd_mask)
    np.testing.assert_allclose(R.reconstruct(y, vd_mask, "zero_filled"), ifft2c(y),
                               atol=1e-14)
    np.testing.assert_array_equal(R.reconstruct(y, vd_mask, "cs_tv", lam=0.01, num_iters=5),
                                  R.cs_tv(y, vd_mask, 0.01, num_iters=5))
    with pytest.raises(ValueError, match="Unknown method"):
        R.reconstruct(y, vd_mask, "sense")
    with pytest.raises(TypeError, match="takes no options"):
        R.reconstruct(y, vd_mask, "zero_filled", lam=1.0)
    with pytest.raises(TypeError, match="y must be complex-valued"):
        R.reconstruct(y.real, vd_mask, "zero_filled")


def test_learned_reconstruction_restores_measured_samples():
    pytest.importorskip("torch")
    x = R.with_phase(random_ellipses((48, 48), 6, seed=11), seed=12)
    mask = sampling_mask("variable_density", (48, 48), 4.0, 0.08, seed=2)
    y = R.measure(x, mask)
    for name in ("kspace", "unet", "unrolled"):
        x_hat = R.reconstruct(y, mask, name)
        assert x_hat.shape == (48, 48) and x_hat.dtype == np.complex128
        # exact data consistency, up to float32 arithmetic
        err = np.abs(fft2c(x_hat)[mask] - y[mask]).max()
        assert err <= 1e-5 * np.abs(y).max()
    with pytest.raises(ValueError, match="multiples of 8"):
        R.learned_reconstruct(y[:44, :44], mask[:44, :44], "unet")


def test_unet_data_consistency_is_the_projection_and_helps():
    """The U-Net route is the network output projected onto {x : m ⊙ F x = y}: the
    measured samples are y, the others those of the network, and on noise-free data the
    projection can only bring the estimate closer to the truth (Pythagoras: the truth
    lies in that affine set)."""
    pytest.importorskip("torch")
    import torch

    x = R.with_phase(random_ellipses((48, 48), 6, seed=21), seed=22)
    mask = sampling_mask("variable_density", (48, 48), 4.0, 0.08, seed=3)
    y = R.measure(x, mask)
    net = R.load_mri_net("unet")
    with torch.no_grad():
        z = net(torch.from_numpy(y.astype(np.complex64))[None],
                torch.from_numpy(mask.astype(np.float32)))[0].numpy().astype(np.complex128)
    x_hat = R.learned_reconstruct(y, mask, "unet")
    k_hat, k_z = fft2c(x_hat), fft2c(z)
    scale = np.abs(y).max()
    # float32 network arithmetic: 1e-5 of the k-space peak
    assert np.abs(k_hat[mask] - y[mask]).max() <= 1e-5 * scale
    assert np.abs(k_hat[~mask] - k_z[~mask]).max() <= 1e-5 * scale
    assert np.linalg.norm(x_hat - x) <= np.linalg.norm(z - x)
    with pytest.raises(ValueError, match="Unknown name"):
        R.load_mri_net("gan")


# -- gallery, off-resonance, table ---------------------------------------------------------
def test_pattern_gallery_names_the_artefacts():
    x = complex_phantom((N, N))
    gallery = R.pattern_gallery(x, 4.0)
    assert list(gallery) == list(R.ARTEFACTS)
    inc = {p: g["incoherence"] for p, g in gallery.items()}
    # coherent regular aliasing has the largest side lobe of the Cartesian patterns
    assert inc["cartesian_regular"] > inc["variable_density"]
    assert gallery["radial"]["trajectory"].shape[1] == 2
    assert gallery["variable_density"]["trajectory"] is None
    with pytest.raises(TypeError, match="gallery must be"):
        R.plot_gallery({})


def test_off_resonance_cartesian_shift_and_spiral_blur():
    x = complex_phantom((N, N))
    dwell = 4e-6
    delta = 2.0 / (dwell * N)                 # Δf Δt N = 2 pixels
    cart = R.off_resonance_images(x, (0.0, delta), pattern="low_frequency", dwell=dwell)
    np.testing.assert_allclose(np.abs(cart["images"][delta]),
                               np.abs(np.roll(cart["images"][0.0], 2, axis=1)), atol=1e-12)
    spiral = R.off_resonance_images(x, (0.0, 100.0, 300.0), dwell=dwell)
    p = [R.quality(x, spiral["images"][d])["psnr"] for d in (0.0, 100.0, 300.0)]
    assert p[0] > p[1] > p[2]
    assert spiral["readout_ms"] > 10 * cart["readout_ms"]    # long readouts: sensitive
    with pytest.raises(ValueError, match="dwell"):
        R.off_resonance_images(x, (0.0,), dwell=0.0)


def test_comparison_table():
    table = R.comparison_table(["shepp_logan"], ["variable_density", "radial"], (4,),
                               ("zero_filled", "cs_tv", "unet"), size=32)
    assert table["columns"] == ["image", "pattern", "R", "zero-filled", "CS TV",
                                "image U-Net"]
    assert len(table["rows"]) == 2 and table["rows"][1][-1] == "—"
    p_zf, _ = table["values"][("shepp_logan", "variable_density", 4, "zero_filled")]
    x = R.test_image("shepp_logan", 32)
    mask = R.sampling("variable_density", (32, 32), 4)
    assert p_zf == R.quality(x, ifft2c(R.measure(x, mask)))["psnr"]
    with pytest.raises(ValueError, match="Unknown images"):
        R.comparison_table(["camera"])
    with pytest.raises(ValueError, match="Unknown methods"):
        R.comparison_table(methods=("sense",))


def test_learned_routes_on_the_heldout_slice():
    """What notebook 07 and the benchmark report for the shipped networks on the held-out
    MRI slice (96², variable-density masks, noise-free; every method is deterministic)."""
    pytest.importorskip("torch")
    table = R.comparison_table(["mri_slice"], ["variable_density"], (4, 8),
                               ("zero_filled", "cs_tv", "kspace", "unet", "unrolled"),
                               size=96)
    p = {(r, m): v[0] for (_, _, r, m), v in table["values"].items()}
    # the unrolled network with data consistency: level with CS TV at 4x, ahead at 8x
    assert p[4, "unrolled"] >= p[4, "cs_tv"] - 0.5
    assert p[8, "unrolled"] >= p[8, "cs_tv"] + 1.0
    # the U-Net (then the projection onto the data) well above zero-filling
    for r in (4, 8):
        assert p[r, "unet"] >= p[r, "zero_filled"] + 1.5
    # the single-coil k-space CNN does not harm, but barely helps
    for r in (4, 8):
        assert p[r, "zero_filled"] - 0.2 <= p[r, "kspace"] <= p[r, "zero_filled"] + 1.0


def test_statements_of_notebook_07_that_quote_the_benchmark():
    """Notebook 07's summary quotes numbers the notebook does not print (they come from
    ``benchmarks/bench_mri_recon.py``); pin them here, on the same held-out images."""
    pytest.importorskip("torch")
    table = R.comparison_table(["mri_slice"], ["variable_density", "low_frequency"], (4,),
                               ("zero_filled", "unet", "unrolled"), size=96)
    p = {(m, method): v[0] for (_, m, _, method), v in table["values"].items()}
    # "at variable-density 4x the bare network is 0.6 dB below zero-filling and the
    # projection adds 2.6 dB"
    x = R.test_image("mri_slice", 96)
    mask = R.sampling("variable_density", (96, 96), 4.0)
    y = R.measure(x, mask)
    bare = R.quality(x, R.learned_reconstruct(y, mask, "unet", project=False))["psnr"]
    assert p["variable_density", "zero_filled"] - bare == pytest.approx(0.6, abs=0.15)
    assert p["variable_density", "unet"] - bare == pytest.approx(2.6, abs=0.15)
    # "on the low-frequency mask, which they never saw, the unrolled network is 1 dB below
    # zero-filling on the MRI slice at 4x"
    gap = p["low_frequency", "zero_filled"] - p["low_frequency", "unrolled"]
    assert gap == pytest.approx(1.0, abs=0.2)
    # "TV wins clearly on Shepp-Logan at 4x with the variable-density mask (33.2 dB against
    # 30.2 for the unrolled network)"
    sl = R.comparison_table(["shepp_logan"], ["variable_density"], (4,), ("cs_tv", "unrolled"),
                            size=96)["values"]
    assert sl["shepp_logan", "variable_density", 4, "cs_tv"][0] == pytest.approx(33.2, abs=0.1)
    assert sl["shepp_logan", "variable_density", 4, "unrolled"][0] == pytest.approx(30.2, abs=0.1)
    with pytest.raises(TypeError, match="project"):
        R.learned_reconstruct(y, mask, "unet", project="no")
