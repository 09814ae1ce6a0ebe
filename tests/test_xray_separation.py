"""Tests of course_utils.xray_separation: synthetic mixtures, the Haar exclusion prox, the convolutional dictionary and the four separation methods."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import xray_separation as xs


@pytest.fixture(scope="module")
def small():
    """One held-out mixture of 32×32 (crops of chelsea and coffee)."""
    return xs.heldout_mixtures(1, size=32)[0]


# -- the synthetic mixtures --------------------------------------------------------------------
def test_make_mixture_is_seeded_and_adds_up():
    a, b = xs.crop("chelsea", size=32), xs.crop("coffee", size=32, mirror=True)
    m1 = xs.make_mixture(a, b, seed=3)
    m2 = xs.make_mixture(a, b, seed=3)
    assert set(m1) >= {"mixture", "visible", "x1", "x2"}
    for key in ("mixture", "x1", "x2"):
        np.testing.assert_array_equal(m1[key], m2[key])
    assert not np.array_equal(m1["mixture"], xs.make_mixture(a, b, seed=4)["mixture"])
    noise = m1["mixture"] - m1["x1"] - m1["x2"]
    assert noise.std() == pytest.approx(xs.NOISE_SIGMA, rel=0.15)
    np.testing.assert_array_equal(m1["visible"], a)
    assert 0 <= m1["x1"].min() and m1["x1"].max() <= 1


def test_xray_rises_with_lightness_non_linearly():
    grey = np.linspace(0, 1, 11)
    x = xs.paint_xray(np.broadcast_to(grey[None, :, None], (8, 11, 3)))[0]
    assert np.all(np.diff(x) >= 0) and x[-1] > x[0] + 0.5
    # not affine in the lightness: the second differences are not all zero
    assert np.max(np.abs(np.diff(x, 2))) > 0.01
    red = xs.paint_xray(np.broadcast_to([0.8, 0.1, 0.1], (8, 8, 3)))
    dark = xs.paint_xray(np.broadcast_to([0.3, 0.3, 0.3], (8, 8, 3)))
    assert red.mean() > dark.mean()                  # vermilion absorbs


def test_xray_only_content_is_not_in_the_photograph():
    a = np.full((32, 32, 3), 0.5)
    m = xs.make_mixture(a, a, seed=0)
    # a flat grey photograph, but the X-rays have weave, grain and strokes
    assert m["x1"].std() > 0.005 and m["x2"].std() > 0.01


def test_training_and_heldout_images_are_disjoint():
    assert not set(xs.TRAIN_IMAGES) & set(xs.HELDOUT_IMAGES)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(surface_rgb=np.zeros((16, 16)), hidden_rgb=np.zeros((16, 16, 3))), ValueError,
     "surface_rgb must be an RGB image"),
    (dict(surface_rgb=np.zeros((16, 16, 3)), hidden_rgb=np.zeros((16, 8, 3))), ValueError,
     "same shape"),
    (dict(surface_rgb=np.full((16, 16, 3), np.nan), hidden_rgb=np.zeros((16, 16, 3))),
     ValueError, "surface_rgb contains NaN"),
    (dict(surface_rgb=np.full((16, 16, 3), 2.0), hidden_rgb=np.zeros((16, 16, 3))),
     ValueError, r"surface_rgb must have values in \[0, 1\]"),
])
def test_make_mixture_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        xs.make_mixture(**kwargs, seed=0)


# -- transforms and the exclusion term ---------------------------------------------------------
def test_haar_is_a_tight_frame():
    x = np.random.default_rng(0).normal(size=(12, 10))
    c = xs.haar_forward(x)
    np.testing.assert_allclose(xs.haar_adjoint(c), x, atol=1e-12)
    assert np.sum(c ** 2) == pytest.approx(np.sum(x ** 2))          # Parseval
    y = np.random.default_rng(1).normal(size=c.shape)
    assert np.sum(c * y) == pytest.approx(np.sum(x * xs.haar_adjoint(y)))   # dot test


def test_coupled_threshold_is_the_prox_in_each_variable():
    rng = np.random.default_rng(2)
    w1, w2 = rng.normal(size=200), rng.normal(size=200)
    mu = 0.6
    n1, n2 = xs.coupled_soft_threshold(w1, w2, mu)
    # optimality of n1 for  ½(a − w1)² + mu |w2| |a| : 0 ∈ n1 − w1 + mu|w2| ∂|n1|
    t = mu * np.abs(w2)
    nz = n1 != 0
    np.testing.assert_allclose(n1[nz] - w1[nz] + t[nz] * np.sign(n1[nz]), 0, atol=1e-12)
    assert np.all(np.abs(w1[~nz]) <= t[~nz] + 1e-12)
    # where both are large, the weaker one goes
    assert not np.any((np.abs(n1) > 0) & (np.abs(n2) > 0) & (mu >= 1))


def test_exclusion_prox_reduces_edge_overlap_and_keeps_constants():
    rng = np.random.default_rng(3)
    base = np.zeros((32, 32))
    base[8:24, 8:24] = 1.0
    y1 = base + 0.05 * rng.normal(size=base.shape)
    y2 = 0.5 * base + 0.3
    p1, p2 = xs.exclusion_prox(y1, y2, 1.0)
    assert xs.edge_overlap(p1, p2) < xs.edge_overlap(y1, y2)
    assert p2.mean() == pytest.approx(y2.mean())                   # the LL band is kept
    q1, q2 = xs.exclusion_prox(y1, y2, 0.0)
    np.testing.assert_array_equal(q1, y1)
    with pytest.raises(ValueError, match="mu must be >= 0"):
        xs.exclusion_prox(y1, y2, -0.1)


def test_edge_overlap_bounds():
    x = np.random.default_rng(4).normal(size=(16, 16))
    assert xs.edge_overlap(x, 2 * x) == pytest.approx(1.0)
    assert xs.edge_overlap(x, np.ones_like(x)) == 0.0


def test_synthesis_matches_direct_convolution():
    rng = np.random.default_rng(5)
    d = rng.normal(size=(2, 3, 3))
    z = np.zeros((2, 9, 9))
    z[0, 4, 4] = 1.0
    out = xs.synthesis(d, z)
    np.testing.assert_allclose(out[3:6, 3:6], d[0], atol=1e-12)   # an impulse gives the atom


def test_shipped_dictionary():
    d = xs.dictionaries()
    assert d["xray"].shape == (xs.NUM_FILTERS, xs.FILTER_SIZE, xs.FILTER_SIZE)
    assert d["rgb"].shape == (xs.NUM_FILTERS, 3, xs.FILTER_SIZE, xs.FILTER_SIZE)
    norms = np.sqrt(np.sum(d["xray"] ** 2, axis=(1, 2)) + np.sum(d["rgb"] ** 2, axis=(1, 2, 3)))
    assert np.all(norms <= 1 + 1e-5) and np.all(norms > 0.5)
    assert xs.DICTIONARY_FILE.is_file()


def test_learn_dictionaries_is_deterministic():
    a = xs.learn_dictionaries(2, num_filters=4, filter_size=3, num_outer=2, size=16)
    b = xs.learn_dictionaries(2, num_filters=4, filter_size=3, num_outer=2, size=16)
    np.testing.assert_array_equal(a["xray"], b["xray"])


# -- separation ----------------------------------------------------------------------------------
def test_every_method_splits_the_mixture(small):
    x, r = small["mixture"], small["visible"]
    for method in ("naive", "regression", "sparse"):
        x1, x2 = xs.separate(x, r, method)
        assert x1.shape == x2.shape == x.shape
        # the two layers explain the mixture up to the noise
        assert np.sqrt(np.mean((x1 + x2 - x) ** 2)) < 2 * xs.NOISE_SIGMA
    n1, n2 = xs.separate(x, r, "naive")
    np.testing.assert_array_equal(n1, x / 2)


def test_sparse_beats_the_baselines_and_exclusion_lowers_overlap(small):
    x, r = small["mixture"], small["visible"]
    q = {m: xs.layer_quality(small["x1"], small["x2"], *xs.separate(x, r, m))
         for m in ("naive", "regression", "sparse")}
    assert q["sparse"]["psnr"] > q["regression"]["psnr"] > q["naive"]["psnr"] + 3
    no_excl = xs.layer_quality(small["x1"], small["x2"], *xs.separate(x, r, "sparse", mu=0))
    assert q["sparse"]["overlap"] < no_excl["overlap"] - 0.05
    assert q["sparse"]["psnr"] >= no_excl["psnr"] - 0.1


def test_sparse_history_and_seconds(small):
    x1, x2, info = xs.separate(small["mixture"], small["visible"], "sparse", num_iters=5,
                               return_info=True)
    assert len(info["history"]) == 5 and info["seconds"] >= 0
    np.testing.assert_array_equal(info["history"][-1][0], x1)


def test_unfolded_runs_and_is_close_to_sparse(small):
    pytest.importorskip("torch")
    x, r = small["mixture"], small["visible"]
    x1, x2, info = xs.separate(x, r, "unfolded", return_info=True)
    q = xs.layer_quality(small["x1"], small["x2"], x1, x2)
    s = xs.layer_quality(small["x1"], small["x2"], *xs.separate(x, r, "sparse"))
    assert q["psnr"] > s["psnr"] - 1.0
    assert len(info["history"]) == 5
    x1_3, _ = xs.separate(x, r, "unfolded", num_iters=3)
    np.testing.assert_allclose(x1_3, info["history"][2][0])
    with pytest.raises(ValueError, match="num_iters must be <= 5"):
        xs.separate(x, r, "unfolded", num_iters=6)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 12, 3))), ValueError,
     "mixture and visible must have the same size"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16))), ValueError,
     "visible must be an RGB image"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 4))), ValueError,
     "visible must be an RGB image"),
    (dict(mixture=np.full((16, 16), np.nan), visible=np.zeros((16, 16, 3))), ValueError,
     "mixture contains NaN"),
    (dict(mixture=np.zeros((16, 16)), visible=np.full((16, 16, 3), np.nan)), ValueError,
     "visible contains NaN"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), mu=-1), ValueError,
     "mu must be >= 0"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), lam=-0.1), ValueError,
     "lam must be >= 0"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), method="magic"),
     ValueError, "Unknown method"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), num_iters=0),
     ValueError, "num_iters must be >= 1"),
    (dict(mixture="x", visible=np.zeros((16, 16, 3))), TypeError, "mixture must be"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), method="unfolded",
          mu=0.3), ValueError, "mu: parameters of method 'sparse' only"),
    (dict(mixture=np.zeros((16, 16)), visible=np.zeros((16, 16, 3)), method="regression",
          lam=0.1, tau=1), ValueError, "lam, tau: parameters of method 'sparse' only"),
])
def test_separate_bad_input(kwargs, error, words):
    kwargs.setdefault("method", "sparse")
    with pytest.raises(error, match=words):
        xs.separate(**kwargs)
