"""Static galleries of a widget's pictures, for pages read without a kernel (the course site)."""
from __future__ import annotations

import base64
import html
import numbers
from collections.abc import Sequence

import numpy as np

from ._base import ChoiceControl, Demo, FloatControl, IntControl, friendly_message

__all__ = ["gallery_html", "gallery_values", "MAX_SETTINGS", "INTERACT_LINE"]

#: At most this many settings of the main control are shown.
MAX_SETTINGS = 4

#: The line under every gallery: where to go to move the controls.
INTERACT_LINE = ("This is a static preview. To move the controls yourself, open the notebook "
                 "in JupyterLab (make lab), Colab or Binder.")

_STYLE_BOX = ("border:1px solid #d0d7de;border-radius:6px;padding:0.6em 0.8em;"
              "margin:0.5em 0;background:#fafbfc")
_STYLE_GRID = ("display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30em),1fr));"
               "gap:0.8em;margin:0.6em 0")
_STYLE_FIGURE = "margin:0;padding:0"
_STYLE_IMG = "display:block;max-width:100%;height:auto;border:1px solid #e5e5e5"
_STYLE_CAPTION = "font-size:0.85em;line-height:1.35;margin-top:0.3em"


def _key(value) -> str:
    return f"{type(value).__name__}:{value!r}"


def _position(control, value) -> float:
    """Where ``value`` sits along ``control`` (option index, or the value itself)."""
    if isinstance(control, ChoiceControl):
        for i, option in enumerate(control.values):
            if _key(option) == _key(value) or (
                    isinstance(option, numbers.Real) and isinstance(value, numbers.Real)
                    and option == value):
                return float(i)
        return float("inf")
    return float(value)


def gallery_values(control) -> list:
    """The settings of ``control`` a gallery shows: its sweep values and its default,
    without duplicates, at most :data:`MAX_SETTINGS` (the default and both ends first),
    in the order of the control (option order, or increasing value)."""
    if not isinstance(control, (FloatControl, IntControl, ChoiceControl)):
        raise TypeError(f"control must be a FloatControl, IntControl or ChoiceControl, got "
                        f"{type(control).__name__}")
    sweep = list(control.sweep_values())
    ranked = [control.value]
    if sweep:
        ranked += [sweep[0], sweep[-1]] + sweep[1:-1]
    chosen, seen = [], set()
    for value in ranked:
        if _key(value) not in seen:
            seen.add(_key(value))
            chosen.append(value)
        if len(chosen) == MAX_SETTINGS:
            break
    return sorted(chosen, key=lambda v: _position(control, v))


def _value_text(control, value) -> str:
    """How the control itself shows ``value`` (the option label, the slider readout)."""
    if isinstance(control, ChoiceControl):
        for label, option in control.options:
            if _key(option) == _key(value):
                return str(label)
        return str(value)
    if isinstance(control, FloatControl):
        try:
            return format(float(value), control.readout_format)
        except ValueError:
            return f"{float(value):.3g}"
    return str(int(value))


def _brief(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if value == 0 or 1e-3 <= abs(value) < 1e4:
            return f"{value:.3g}"
        return f"{value:.2e}"
    return str(value)


def _numbers_text(result: dict, control_names) -> tuple[str, str]:
    """``("name = value · …", message)`` from what ``update`` returned, leaving out the
    control settings it echoes."""
    if not isinstance(result, dict):
        return "", ""
    parts = [f"{str(k).replace('_', ' ')} = {_brief(v)}" for k, v in result.items()
             if k != "message" and k not in control_names]
    return " · ".join(parts), str(result.get("message", "") or "")


def _restore_params(demo: Demo) -> dict:
    """The setting the figure should show afterwards: the widget's controls when it has
    been built (they start at the defaults), the defaults otherwise."""
    widgets = getattr(demo, "control_widgets", None)
    if isinstance(widgets, dict) and set(widgets) == set(demo.controls):
        try:
            return demo.validate(demo.current_params())
        except (TypeError, ValueError):
            pass
    return {}


def gallery_html(demo: Demo, values: Sequence | None = None) -> str:
    """A static HTML gallery of ``demo``'s figure at a few settings of its main control.

    The main control is the first of ``demo.controls``; the other controls stay at their
    defaults. Each picture is the figure rendered after ``demo.update(key=value)``, shown as
    an embedded PNG with a caption giving the control's label and value and the numbers
    ``update`` returned. Afterwards the figure is put back: ``update`` runs once more at
    the setting of the widget's controls (the defaults unless someone moved them).

    Parameters
    ----------
    demo : Demo
        The demo behind a course widget (``widget.demo``).
    values : sequence, optional
        Settings of the main control to show; by default its sweep values and its default
        (see :func:`gallery_values`).

    Returns
    -------
    str
        An HTML fragment (one ``<div class="course-gallery">``) with every text escaped,
        ending with a line on where to move the controls interactively.
    """
    if not isinstance(demo, Demo):
        raise TypeError(f"demo must be a course_utils Demo (widget.demo), got "
                        f"{type(demo).__name__}")
    if not isinstance(demo.controls, dict) or not demo.controls:
        raise ValueError("demo must have at least one control")
    key, control = next(iter(demo.controls.items()))
    if values is None:
        settings = gallery_values(control)
    else:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"values must be a sequence of settings of {key!r}, got "
                            f"{type(values).__name__}")
        if len(values) == 0:
            raise ValueError("values must name at least one setting")
        settings = [control.validate(key, v) for v in values]
    label = control.label or key
    restore = _restore_params(demo)

    figures = []
    try:
        for value in settings:
            value_text = _value_text(control, value)
            try:
                result = demo.update(**{key: value})
            except Exception as exc:  # noqa: BLE001 - shown in the caption, never raised
                image = ""
                numbers_text, message = "", friendly_message(exc)
            else:
                png = base64.b64encode(demo.render_png()).decode("ascii")
                image = (f'<img src="data:image/png;base64,{png}" '
                         f'alt="{html.escape(f"{label} = {value_text}")}" '
                         f'style="{_STYLE_IMG}">')
                numbers_text, message = _numbers_text(result, demo.controls)
            caption = f"<strong>{html.escape(label)} = {html.escape(value_text)}</strong>"
            if numbers_text:
                caption += f"<br>{html.escape(numbers_text)}"
            if message:
                caption += f'<br><em style="color:#6a5a00">{html.escape(message)}</em>'
            figures.append(f'<figure class="course-gallery-item" style="{_STYLE_FIGURE}">'
                           f'{image}<figcaption style="{_STYLE_CAPTION}">{caption}'
                           f'</figcaption></figure>')
    finally:
        demo.update(**restore)

    others = [f"{c.label or k} = {_value_text(c, c.value)}"
              for k, c in demo.controls.items() if k != key]
    title = str(getattr(demo, "title", "") or "")
    head = "Static preview of the widget"
    if title:
        head += f" “{title}”"
    head = f"<strong>{html.escape(head)}</strong>: {html.escape(label)} at " \
           f"{len(settings)} setting{'s' if len(settings) != 1 else ''}"
    if others:
        head += f", other controls at their defaults ({html.escape('; '.join(others))})"
    return (f'<div class="course-gallery" style="{_STYLE_BOX}">'
            f'<p style="margin:0">{head}.</p>'
            f'<div class="course-gallery-grid" style="{_STYLE_GRID}">{"".join(figures)}</div>'
            f'<p class="course-gallery-note" style="margin:0;font-size:0.9em">'
            f'{html.escape(INTERACT_LINE).replace("make lab", "<code>make lab</code>")}</p></div>')
