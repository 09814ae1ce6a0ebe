"""Tests of the static widget gallery of the course site (course_utils.widgets.gallery)."""
from __future__ import annotations

import base64
import html
import re

import pytest

from course_utils import widgets
from course_utils.widgets._base import GALLERY_ENV, ChoiceControl, FloatControl, IntControl
from course_utils.widgets.gallery import (INTERACT_LINE, MAX_SETTINGS, gallery_html,
                                          gallery_values)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def tsvd():
    """The notebook 01 widget (closed form: a few updates take well under a second)."""
    widget, update = widgets.WIDGETS["nb01_tsvd"]()
    return widget, update


def _readable(numbers):
    return {k: v for k, v in numbers.items() if k != "message"}


@pytest.fixture(scope="module")
def shown(tsvd):
    """The default numbers, the gallery, and the numbers the demo holds afterwards."""
    widget, update = tsvd
    default = _readable(update())
    text = gallery_html(widget.demo)
    return default, text, dict(widget.demo.last_numbers)


def test_gallery_shows_distinct_pictures_with_captions(tsvd, shown):
    widget, _ = tsvd
    _, text, _ = shown
    images = IMG.findall(text)
    assert 3 <= len(images) <= MAX_SETTINGS
    decoded = [base64.b64decode(b) for b in images]
    assert all(b.startswith(PNG_MAGIC) for b in decoded)
    assert len(set(decoded)) == len(decoded), "two settings gave the same picture"
    captions = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", text)
    assert len(captions) == len(images)
    control = widget.demo.controls["sigma"]
    labels = {value: label for label, value in control.options}
    for caption, value in zip(captions, gallery_values(control)):
        assert html.escape(f"{control.label} = {labels[value]}") in caption
        assert "relative error = " in caption                 # the numbers update returned
    assert html.escape(INTERACT_LINE).split("(")[0] in text
    for where in ("JupyterLab", "make lab", "Colab", "Binder"):
        assert where in text


def test_gallery_restores_the_default_setting(tsvd, shown):
    widget, _ = tsvd
    default, _, after = shown
    assert _readable(after) == default
    assert after["sigma"] == widget.demo.controls["sigma"].value


def test_gallery_values_take_sweep_and_default_in_order():
    choice = ChoiceControl(tuple(range(8)), value=5)
    assert gallery_values(choice) == [0, 4, 5, 7]
    assert gallery_values(ChoiceControl(("a", "b"), value="b")) == ["a", "b"]
    assert gallery_values(IntControl(1, 9, value=5)) == [1, 5, 9]
    values = gallery_values(FloatControl(1e-3, 10.0, value=1.0, log=True))
    assert values == sorted(values) and len(values) == 4 and 1.0 in values


def test_gallery_escapes_and_accepts_chosen_values(tsvd):
    widget, _ = tsvd
    text = gallery_html(widget.demo, values=[0.0, 0.1])
    assert len(IMG.findall(text)) == 2
    assert "<script" not in text.lower()
    with pytest.raises(ValueError):
        gallery_html(widget.demo, values=[0.5])               # not an option of sigma
    with pytest.raises(TypeError):
        gallery_html(widget.demo, values="0.1")


@pytest.mark.parametrize("bad", [None, "nb01_tsvd", 3, object()])
def test_gallery_rejects_what_is_not_a_demo(bad):
    with pytest.raises(TypeError, match="Demo"):
        gallery_html(bad)


def test_gallery_rejects_the_widget_itself(tsvd):
    widget, _ = tsvd
    with pytest.raises(TypeError, match="widget.demo"):
        gallery_html(widget)


def test_display_carries_the_gallery_only_when_asked(tsvd, monkeypatch):
    widget, _ = tsvd
    monkeypatch.delenv(GALLERY_ENV, raising=False)
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "text/html" not in bundle
    monkeypatch.setenv(GALLERY_ENV, "1")
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert 'class="course-gallery"' in bundle["text/html"]
    assert len(IMG.findall(bundle["text/html"])) >= 3
    monkeypatch.setenv(GALLERY_ENV, "0")
    assert "text/html" not in widget._repr_mimebundle_()
