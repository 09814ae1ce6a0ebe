"""Super-resolution, numpy part: forward model, bicubic, pixel shuffle, back-projection."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import sr
from course_utils.operators import OPERATOR_NAMES, make_operator


@pytest.fixture(scope="module")
def heldout():
    return sr.heldout_images()


# -- data ------------------------------------------------------------------------------------
def test_training_and_heldout_images_are_disjoint(heldout):
    assert set(sr.TRAIN_IMAGES).isdisjoint(sr.HELDOUT_IMAGES)
    # "cat" is "chelsea" in scikit-image; neither may be trained on.
    assert "cat" not in sr.TRAIN_IMAGES and "chelsea" in sr.HELDOUT_IMAGES
    assert set(heldout) == set(sr.HELDOUT_IMAGES)
    assert all(x.shape == (sr.HELDOUT_SIZE, sr.HELDOUT_SIZE) for x in heldout.values())
    # No pool image contains a held-out crop at full scale: compare a 32×32 corner of each
    # held-out crop with every full-scale pool image of the same size as its source.
    from course_utils.data import load_image

    pool = sr.training_images(scales=(1.0,))
    sources = [load_image(name) for name in sr.HELDOUT_IMAGES]
    for img in pool:
        for src in sources:
            assert not (img.shape == src.shape and np.allclose(img, src, atol=1e-3))


def test_training_pool_scales_and_range():
    pool = sr.training_images(scales=(1.0, 0.5), min_size=64)
    assert len(pool) >= len(sr.TRAIN_IMAGES)
    assert all(p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1 for p in pool)
    assert all(min(p.shape) >= 64 for p in pool)


# -- forward model -----------------------------------------------------------------------------
def test_forward_operator_is_the_registered_block_average():
    assert "downsample" in OPERATOR_NAMES
    A = sr.forward_operator((16, 24), 4)
    assert A.in_shape == (16, 24) and A.out_shape == (4, 6)
    x = np.random.default_rng(0).random((16, 24))
    np.testing.assert_allclose(A(x), x.reshape(4, 4, 6, 4).mean(axis=(1, 3)), atol=1e-15)
    # Same operator as the registry's, which the generic operator tests sweep.
    ref = make_operator("downsample", shape=(16, 24), factor=4, mode="average")
    np.testing.assert_array_equal(A(x), ref(x))
    assert A.adjointness_test() < 1e-12


def test_degrade_noise_level_and_seed():
    x = np.full((128, 128), 0.5)
    y0 = sr.degrade(x, 4)
    np.testing.assert_allclose(y0, 0.5, atol=1e-15)
    y = sr.degrade(x, 4, sigma=0.1, seed=3)
    # 1024 samples: the empirical std is within 10 % of 0.1 (about 4 standard errors).
    assert abs(np.std(y - 0.5) - 0.1) < 0.01
    np.testing.assert_array_equal(y, sr.degrade(x, 4, sigma=0.1, seed=3))


# -- bicubic ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4])
def test_bicubic_matrix_rows_sum_to_one_and_reproduce_quadratics(scale):
    n = 20
    U = sr.bicubic_matrix(n, scale)
    assert U.shape == (scale * n, n)
    np.testing.assert_allclose(U.sum(axis=1), 1.0, atol=1e-14)
    # Keys' kernel (a = -1/2) is exact on quadratics, away from the replicated border.
    t = np.arange(n, dtype=float)
    u = (np.arange(scale * n) + 0.5) / scale - 0.5
    inside = (u >= 1) & (u <= n - 2)
    for f in (lambda s: 0.3 + 0.1 * s, lambda s: 0.02 * s ** 2 - 0.1 * s):
        np.testing.assert_allclose((U @ f(t))[inside], f(u[inside]), atol=1e-12)


def test_bicubic_known_values():
    # scale 1 is the identity; a constant image stays constant at every scale.
    np.testing.assert_allclose(sr.bicubic_matrix(5, 1), np.eye(5), atol=1e-15)
    np.testing.assert_allclose(sr.bicubic(np.full((3, 5), 0.25), 4), 0.25, atol=1e-15)
    # Output pixel 0 at scale 2 sits at u = -1/4: taps j = -2, -1, 0, 1 at distances
    # 1.75, 0.75, 0.25, 1.25; the border is replicated, so j = -2, -1 read pixel 0.
    k = sr._keys(np.array([1.75, 0.75, 0.25, 1.25]))
    np.testing.assert_allclose(k, [-0.0234375, 0.2265625, 0.8671875, -0.0703125], atol=1e-15)
    U = sr.bicubic_matrix(6, 2)
    np.testing.assert_allclose(U[0, :3], [k[0] + k[1] + k[2], k[3], 0.0], atol=1e-15)


# -- pixel shuffle ---------------------------------------------------------------------------
def test_pixel_shuffle_matches_torch_and_is_inverted():
    torch = pytest.importorskip("torch")
    h = np.random.default_rng(1).standard_normal((16, 3, 5))
    ref = torch.nn.functional.pixel_shuffle(torch.from_numpy(h)[None], 4)[0, 0].numpy()
    np.testing.assert_array_equal(sr.pixel_shuffle(h, 4), ref)
    np.testing.assert_array_equal(sr.pixel_unshuffle(sr.pixel_shuffle(h, 4), 4), h)


# -- back-projection ---------------------------------------------------------------------------
def test_one_adjoint_step_is_the_projection_onto_consistent_images():
    rng = np.random.default_rng(2)
    x_hat, y = rng.random((16, 20)), rng.random((4, 5))
    p = sr.back_projection_step(x_hat, y, 4, tau=1.0, back="adjoint")
    A = sr.forward_operator((16, 20), 4)
    np.testing.assert_allclose(A(p), y, atol=1e-14)
    # Orthogonal projection: the correction lies in range(Aᵀ), so for any z with
    # A z = y, <x_hat - p, p - z> = 0 (Pythagoras).
    w = rng.random((16, 20))
    z = w - 16 * A.adjoint(A(w) - y)            # A⁺ = s² Aᵀ, so A z = y
    np.testing.assert_allclose(A(z), y, atol=1e-13)
    assert abs(np.sum((x_hat - p) * (p - z))) < 1e-12 * np.linalg.norm(x_hat) ** 2


def test_ibp_reduces_the_misfit_and_beats_bicubic(heldout):
    gains = []
    for x in heldout.values():
        y = sr.degrade(x, 4)
        x_hat, hist = sr.ibp(y, 4, num_iters=10, return_history=True)
        assert len(hist) == 11 and hist[-1] < 0.05 * hist[0]
        gains.append(sr.evaluate(x, np.clip(x_hat, 0, 1))["psnr"]
                     - sr.evaluate(x, np.clip(sr.bicubic(y, 4), 0, 1))["psnr"])
    # Measured +0.26 to +0.51 dB on the four held-out images; 0.1 dB is a floor that a
    # step with the wrong sign or scale cannot reach.
    assert min(gains) > 0.1, gains


def test_ibp_adjoint_never_moves_away_from_the_truth(heldout):
    # Without noise the truth is consistent, and projecting onto {A x = y} cannot increase
    # the distance to it.
    x = heldout["camera"]
    y = sr.degrade(x, 4)
    x0 = sr.bicubic(y, 4)
    x1 = sr.ibp(y, 4, num_iters=1, back="adjoint")
    assert np.linalg.norm(x1 - x) <= np.linalg.norm(x0 - x)


def test_project_consistent_without_noise_is_the_adjoint_step():
    rng = np.random.default_rng(5)
    x_hat, y = rng.random((16, 20)), rng.random((4, 5))
    p = sr.project_consistent(x_hat, y, 4)
    np.testing.assert_array_equal(p, sr.back_projection_step(x_hat, y, 4, back="adjoint"))
    np.testing.assert_allclose(sr.forward_operator((16, 20), 4)(p), y, atol=1e-14)


def test_project_consistent_lands_on_the_noise_ball_and_is_a_projection():
    rng = np.random.default_rng(6)
    A = sr.forward_operator((16, 16), 4)
    y, sigma = rng.random((4, 4)), 0.05
    radius = sigma * 4.0                         # sigma * sqrt(m n)
    for _ in range(20):
        x_hat = rng.random((16, 16))
        p = sr.project_consistent(x_hat, y, 4, sigma=sigma)
        misfit = np.linalg.norm(A(p) - y)
        if np.linalg.norm(A(x_hat) - y) <= radius:
            np.testing.assert_array_equal(p, x_hat)      # already consistent enough
        else:
            assert misfit == pytest.approx(radius, rel=1e-12)   # on the boundary
        np.testing.assert_allclose(sr.project_consistent(p, y, 4, sigma=sigma), p,
                                   atol=1e-14)           # idempotent
        # Non-expansive towards any point of the set: a random z with ||A z - y|| <= radius.
        w = rng.random((16, 16))
        d = rng.standard_normal((4, 4))
        z = w - 16 * A.adjoint(A(w) - y - 0.9 * radius * d / np.linalg.norm(d))
        assert np.linalg.norm(A(z) - y) <= radius * (1 + 1e-12)
        assert np.linalg.norm(p - z) <= np.linalg.norm(x_hat - z) + 1e-12


def test_project_consistent_bad_input():
    with pytest.raises(ValueError, match="x_hat must have shape"):
        sr.project_consistent(np.zeros((8, 9)), np.zeros((2, 2)), 4)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        sr.project_consistent(np.zeros((8, 8)), np.zeros((2, 2)), 4, sigma=-0.01)
    with pytest.raises(ValueError, match="y"):
        sr.project_consistent(np.zeros((8, 8)), np.full((2, 2), np.nan), 4)
    with pytest.raises(TypeError, match="consistent must be a bool"):
        sr.reconstruct(np.zeros((8, 8)), "bicubic", 2, consistent=1)


def test_reconstruct_classical_frameworks_and_evaluate():
    x = sr.heldout_images(64)["coins"]
    y = sr.degrade(x, 2)
    np.testing.assert_allclose(sr.reconstruct(y, "bicubic", 2),
                               np.clip(sr.bicubic(y, 2), 0, 1))
    np.testing.assert_allclose(sr.reconstruct(y, "ibp", 2),
                               np.clip(sr.ibp(y, 2, num_iters=sr.IBP_ITERS[False]), 0, 1))
    # A uniform error of 0.01 is a PSNR of exactly 40 dB.
    assert sr.evaluate(x, x + 0.01, 4)["psnr"] == pytest.approx(40.0, abs=1e-9)
    assert sr.evaluate(x, x, 2)["ssim"] == pytest.approx(1.0)


# -- bad input -------------------------------------------------------------------------------
def test_bad_inputs_name_the_argument():
    x = np.zeros((30, 30))
    with pytest.raises(ValueError, match="scale 4 must divide both sides of x"):
        sr.degrade(x, 4)
    with pytest.raises(ValueError, match="scale must be one of"):
        sr.degrade(np.zeros((24, 24)), 3)
    with pytest.raises(TypeError, match="scale must be an integer"):
        sr.bicubic(np.zeros((4, 4)), 2.0)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        sr.degrade(np.zeros((8, 8)), 2, sigma=-0.1)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        sr.reconstruct(np.zeros((8, 8)), "bicubic", 2, sigma=-1.0)
    with pytest.raises(ValueError, match="Unknown framework"):
        sr.reconstruct(np.zeros((8, 8)), "srgan")
    with pytest.raises(ValueError, match="scale must be 4 for the learned framework"):
        sr.reconstruct(np.zeros((8, 8)), "post", 2)
    with pytest.raises(ValueError, match="tau must be <= 2"):
        sr.ibp(np.zeros((4, 4)), 2, tau=3.0)
    with pytest.raises(ValueError, match="Unknown back"):
        sr.ibp(np.zeros((4, 4)), 2, back="nearest")
    with pytest.raises(ValueError, match="x_hat must have shape"):
        sr.back_projection_step(np.zeros((8, 9)), np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="x0 must have shape"):
        sr.ibp(np.zeros((4, 4)), 2, x0=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="num_iters must be >= 0"):
        sr.ibp(np.zeros((4, 4)), 2, num_iters=-1)
    with pytest.raises(ValueError, match="h must have scale"):
        sr.pixel_shuffle(np.zeros((3, 2, 2)), 2)
    with pytest.raises(ValueError, match="x must be 2-D"):
        sr.degrade(np.zeros((2, 4, 4)), 2)
    with pytest.raises(ValueError, match="x and x_hat must have the same shape"):
        sr.evaluate(np.zeros((32, 32)), np.zeros((32, 28)))
    with pytest.raises(ValueError, match="size must be a multiple of 4"):
        sr.heldout_images(30)
    with pytest.raises(ValueError, match="shape must be a pair"):
        sr.forward_operator((16,), 4)


def test_compare_averages_the_per_image_scores():
    out = sr.compare(("bicubic", "ibp"), (0.0, 0.02), size=64)
    images = sr.heldout_images(64)
    for k, (name, x) in enumerate(images.items()):
        y = sr.degrade(x, 4, 0.02, seed=k)
        expected = sr.evaluate(x, sr.reconstruct(y, "ibp", sigma=0.02))["psnr"]
        assert out["ibp"][0.02]["psnr_each"][k] == pytest.approx(expected, abs=1e-12)
    assert out["bicubic"][0.0]["psnr"] == pytest.approx(
        np.mean(out["bicubic"][0.0]["psnr_each"]))
    assert out["bicubic"][0.0]["ms"] >= 0.0
    with pytest.raises(ValueError, match="Unknown framework"):
        sr.compare(("nearest",))
    with pytest.raises(ValueError, match="sigmas must be >= 0"):
        sr.compare(("bicubic",), (-0.1,))
