"""LayeredRenderer: frames equal full redraws, and only changed artists are redrawn."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.widgets._render import LayeredRenderer, encode_png  # noqa: E402


def _figure():
    fig = Figure(figsize=(6, 2.5), dpi=80)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    x = np.linspace(0, 1, 50)
    (line,) = ax1.plot(x, x ** 2, label="curve")
    ax1.legend(loc="upper left")           # drawn over the line: the "over" layer
    ax1.set_ylim(-0.1, 1.1)
    image = ax2.imshow(np.zeros((8, 8)), vmin=0, vmax=1)
    title = ax2.set_title("start")
    fig.canvas.draw()
    return fig, ax1, ax2, line, image, title


def _full(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def _assert_same(frame, full):
    differ = np.abs(frame[..., :3].astype(int) - full).max(axis=-1) > 8
    assert differ.mean() < 1e-4, f"{differ.sum()} pixels differ from a full redraw"


def test_changed_data_takes_the_fast_path_and_matches_a_full_redraw():
    fig, ax1, ax2, line, image, title = _figure()
    layers = LayeredRenderer(fig)
    layers.render()
    rng = np.random.default_rng(0)
    for k in range(4):
        line.set_ydata(rng.random(50))
        image.set_data(rng.random((8, 8)))
        frame = layers.render()
        _assert_same(frame, _full(fig))
    assert layers.full_builds == 1 and layers.fast_frames == 4


def test_titles_change_on_the_fast_path():
    fig, ax1, ax2, line, image, title = _figure()
    layers = LayeredRenderer(fig)
    layers.render()
    for text in ("changed", "again", ""):  # an empty text is never drawn: still seen
        title.set_text(text)
        _assert_same(layers.render(), _full(fig))
    assert layers.full_builds == 1 and layers.fast_frames == 3


def test_a_changed_axis_label_joins_the_changing_artists():
    fig, ax1, ax2, line, image, title = _figure()
    ax1.set_xlabel("")
    layers = LayeredRenderer(fig)
    layers.render()
    ax1.set_xlabel("first")
    _assert_same(layers.render(), _full(fig))
    assert layers.full_builds == 2          # learnt: that axis changes
    ax1.set_xlabel("second")
    _assert_same(layers.render(), _full(fig))
    ax1.set_xlabel("")
    _assert_same(layers.render(), _full(fig))
    assert layers.full_builds == 2 and layers.fast_frames == 2


def test_new_limits_redraw_that_axes_whole():
    fig, ax1, ax2, line, image, title = _figure()
    layers = LayeredRenderer(fig)
    layers.render()
    ax1.set_ylim(-5, 5)
    _assert_same(layers.render(), _full(fig))
    ax1.set_ylim(-1, 2)
    line.set_ydata(np.ones(50))
    _assert_same(layers.render(), _full(fig))
    assert layers.fast_frames == 1


def test_a_new_axes_starts_over():
    fig, ax1, ax2, line, image, title = _figure()
    layers = LayeredRenderer(fig)
    layers.render()
    fig.colorbar(image, ax=ax2)
    fig.set_layout_engine("none")
    _assert_same(layers.render(), _full(fig))


def test_png_is_opaque_rgb_and_decodes():
    import io

    from PIL import Image
    fig, *_ = _figure()
    png = LayeredRenderer(fig).png()
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGB" and image.size == (480, 200)
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert Image.open(io.BytesIO(encode_png(rgba))).mode == "RGBA"


def test_needs_an_agg_canvas():
    with pytest.raises(TypeError, match="Agg canvas"):
        LayeredRenderer(object())
