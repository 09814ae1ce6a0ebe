"""Tests of course_utils.data: bundled images, phantoms, noise, 1-D signals; no network."""
import socket

import numpy as np
import pytest

from course_utils import data


def test_every_image_loads_without_network(monkeypatch):
    # Any attempt to create a socket fails; every image must still load (from the wheel).
    def refuse(*args, **kwargs):
        raise OSError("network disabled by test_data")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data._read.cache_clear()
    for name in data.IMAGE_NAMES:
        x = data.load_image(name)
        assert x.ndim == 2 and x.dtype == np.float64, name
        assert 0.0 <= x.min() <= x.max() <= 1.0, name
        assert x.max() > x.min(), name


def test_load_image_resize_and_copy():
    x = data.load_image("camera", size=64)
    assert x.shape == (64, 64)
    x[:] = 0.0                                   # the cache must not be modified
    assert data.load_image("camera", size=64).max() > 0.5
    # a non-square image is centre-cropped before resizing
    assert data.load_image("text", size=32).shape == (32, 32)
    assert data.load_image("astronaut").shape == (512, 512)
    assert data.load_image("astronaut", color=True).shape == (512, 512, 3)


def test_resize_is_antialiased():
    # Downsampling camera 512 -> 64 with anti-aliasing stays close to the 8x8 block means
    # (mean abs. difference 0.008 measured), much closer than plain subsampling (0.030).
    x = data.load_image("camera")
    small = data.load_image("camera", size=64)
    block = x.reshape(64, 8, 64, 8).mean(axis=(1, 3))
    assert np.abs(small - block).mean() < 0.015
    assert np.abs(x[4::8, 4::8] - block).mean() > 0.02


def test_camera_known_values():
    # camera.png is 512x512 uint8 scaled by 1/255 (no contrast stretch).
    x = data.load_image("camera")
    assert x.shape == (512, 512)
    assert np.allclose(x * 255, np.round(x * 255))


def test_unknown_image_lists_names():
    with pytest.raises(ValueError, match="camera"):
        data.load_image("lena")
    with pytest.raises(TypeError, match="name"):
        data.load_image(3)
    with pytest.raises(ValueError, match="size"):
        data.load_image("camera", size=1)
    with pytest.raises(TypeError, match="size"):
        data.load_image("camera", size=3.5)


def test_random_ellipses_deterministic_and_in_range():
    a = data.random_ellipses((48, 40), num_ellipses=6, seed=3)
    b = data.random_ellipses((48, 40), num_ellipses=6, seed=3)
    c = data.random_ellipses((48, 40), num_ellipses=6, seed=4)
    assert a.shape == (48, 40)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert a.max() > 0.2                       # the body ellipse is there
    stack = data.random_ellipses((16, 16), seed=1, num_images=3)
    assert stack.shape == (3, 16, 16)
    assert not np.array_equal(stack[0], stack[1])


def test_random_ellipses_bad_input():
    with pytest.raises(ValueError, match="shape"):
        data.random_ellipses((8, 8, 8))
    with pytest.raises(ValueError, match="num_ellipses"):
        data.random_ellipses(num_ellipses=-1)
    with pytest.raises(TypeError, match="seed"):
        data.random_ellipses(seed=0.5)


def test_add_noise_statistics_and_seed():
    x = np.zeros((200, 200))
    y = data.add_noise(x, 0.1, seed=0)
    # 4e4 samples: the sample std is within 1 % of sigma (its std is ~0.35 %)
    assert np.std(y) == pytest.approx(0.1, rel=0.01)
    assert abs(np.mean(y)) < 0.003
    assert np.array_equal(y, data.add_noise(x, 0.1, seed=0))
    assert not np.array_equal(y, data.add_noise(x, 0.1, seed=1))
    assert np.array_equal(data.add_noise(x, 0.0), x)
    z = data.add_noise(np.zeros((100, 100), complex), 0.2, seed=0)
    assert np.std(z.real) == pytest.approx(0.2, rel=0.03)
    assert np.std(z.imag) == pytest.approx(0.2, rel=0.03)


def test_add_noise_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        data.add_noise(np.zeros(4), -0.1)
    with pytest.raises(ValueError, match="x contains NaN"):
        data.add_noise(np.array([np.nan]), 0.1)


def test_add_poisson_noise_mean_and_variance():
    x = np.full((200, 200), 0.5)
    photons = 100.0
    y = data.add_poisson_noise(x, photons, seed=0)
    # E[k/p] = x, Var[k/p] = x/p = 0.005; with 4e4 samples the estimates are within ~1 %
    assert np.mean(y) == pytest.approx(0.5, rel=0.01)
    assert np.var(y) == pytest.approx(0.5 / photons, rel=0.03)
    counts = data.add_poisson_noise(x, photons, seed=0, counts=True)
    assert np.allclose(counts, y * photons, rtol=0, atol=1e-9)
    assert np.array_equal(counts, np.round(counts))
    with pytest.raises(ValueError, match="non-negative"):
        data.add_poisson_noise(-x, photons)
    with pytest.raises(ValueError, match="photons"):
        data.add_poisson_noise(x, 0.0)


@pytest.mark.parametrize("kind", data.SIGNAL_KINDS)
def test_signal_1d(kind):
    s = data.signal_1d(128, kind)
    assert s.shape == (128,)
    assert 0.0 <= s.min() and s.max() <= 1.0 and s.max() > 0.3
    assert np.array_equal(s, data.signal_1d(128, kind))


def test_signal_1d_bad_input():
    with pytest.raises(ValueError, match="kind"):
        data.signal_1d(64, "square")
    with pytest.raises(ValueError, match="n"):
        data.signal_1d(4)
