"""Shared widget machinery: controls from a spec, one figure updated in place, friendly errors."""
from __future__ import annotations

import itertools
import numbers
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._validate import check_choice

__all__ = [
    "FloatControl", "IntControl", "ChoiceControl", "Demo", "DemoWidget", "register_widget",
    "WIDGETS", "WIDGET_KINDS", "sweep_params", "corner_combos", "friendly_message",
    "display_mode", "build",
]

#: Set (to anything but "" or "0") to add a static gallery to every widget's display.
GALLERY_ENV = "COURSE_WIDGET_GALLERY"

WIDGETS: dict[str, Callable[..., tuple]] = {}
WIDGET_KINDS: dict[str, str] = {}
_SPECS: dict[str, tuple[dict, list]] = {}
_KINDS = ("closed-form", "iterative")


# -- controls -------------------------------------------------------------------------
@dataclass(frozen=True)
class FloatControl:
    """A float slider on ``[min, max]``; ``log=True`` gives a log-scale slider (min > 0)."""

    min: float
    max: float
    value: float
    step: float | None = None
    label: str | None = None
    log: bool = False
    readout_format: str = ".3g"

    def __post_init__(self):
        if not self.min < self.max or not self.min <= self.value <= self.max:
            raise ValueError(f"FloatControl needs min < max and min <= value <= max, got "
                             f"min={self.min}, max={self.max}, value={self.value}")
        if self.log and self.min <= 0:
            raise ValueError(f"a log-scale FloatControl needs min > 0, got {self.min}")

    def validate(self, name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
        value = float(value)
        tol = 1e-9 * (self.max - self.min)
        if not self.min - tol <= value <= self.max + tol:
            raise ValueError(f"{name} must be in [{self.min:g}, {self.max:g}], got {value:g}")
        return min(max(value, self.min), self.max)

    def sweep_values(self):
        mid = np.sqrt(self.min * self.max) if self.log else 0.5 * (self.min + self.max)
        return [self.min, float(mid), self.max]

    def build(self, name, continuous_update):
        import ipywidgets as w
        desc = self.label or name
        style = {"description_width": "initial"}
        if self.log:
            return w.FloatLogSlider(value=self.value, base=10, min=np.log10(self.min),
                                    max=np.log10(self.max),
                                    step=self.step or (np.log10(self.max / self.min) / 50),
                                    description=desc, readout_format=self.readout_format,
                                    continuous_update=continuous_update, style=style)
        return w.FloatSlider(value=self.value, min=self.min, max=self.max,
                             step=self.step or (self.max - self.min) / 100, description=desc,
                             readout_format=self.readout_format,
                             continuous_update=continuous_update, style=style)


@dataclass(frozen=True)
class IntControl:
    """An integer slider on ``[min, max]``."""

    min: int
    max: int
    value: int
    step: int = 1
    label: str | None = None

    def __post_init__(self):
        if not self.min < self.max or not self.min <= self.value <= self.max:
            raise ValueError(f"IntControl needs min < max and min <= value <= max, got "
                             f"min={self.min}, max={self.max}, value={self.value}")

    def validate(self, name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        value = int(value)
        if not self.min <= value <= self.max:
            raise ValueError(f"{name} must be in [{self.min}, {self.max}], got {value}")
        return value

    def sweep_values(self):
        return [self.min, (self.min + self.max) // 2, self.max]

    def build(self, name, continuous_update):
        import ipywidgets as w
        return w.IntSlider(value=self.value, min=self.min, max=self.max, step=self.step,
                           description=self.label or name, continuous_update=continuous_update,
                           style={"description_width": "initial"})


@dataclass(frozen=True)
class ChoiceControl:
    """A choice among ``options``: values, or ``(label, value)`` pairs.

    ``style`` is ``"dropdown"``, ``"buttons"`` or ``"slider"`` (a selection slider, handy
    for a parameter on a fixed grid that includes 0, such as ``lam``).
    """

    options: tuple
    value: Any
    label: str | None = None
    style: str = "dropdown"

    def __post_init__(self):
        pairs = tuple(o if isinstance(o, tuple) and len(o) == 2 else (str(o), o)
                      for o in self.options)
        object.__setattr__(self, "options", pairs)
        if len(pairs) < 2:
            raise ValueError("ChoiceControl needs at least two options")
        if self.value not in self.values:
            raise ValueError(f"ChoiceControl value {self.value!r} is not among the options")
        check_choice(self.style, "style", ("dropdown", "buttons", "slider"))

    @property
    def values(self):
        return [v for _, v in self.options]

    def validate(self, name, value):
        for v in self.values:
            if type(v) is type(value) or (isinstance(v, numbers.Real)
                                          and isinstance(value, numbers.Real)
                                          and not isinstance(value, bool)):
                if v == value:
                    return v
        raise ValueError(f"{name} must be one of {self.values}, got {value!r}")

    def sweep_values(self):
        vals = self.values
        if len(vals) <= 5:
            return list(vals)
        return [vals[0], vals[len(vals) // 2], vals[-1]]

    def build(self, name, continuous_update):
        import ipywidgets as w
        desc = self.label or name
        style = {"description_width": "initial"}
        if self.style == "slider":
            return w.SelectionSlider(options=list(self.options), value=self.value,
                                     description=desc, continuous_update=continuous_update,
                                     style=style)
        if self.style == "buttons":
            return w.ToggleButtons(options=list(self.options), value=self.value,
                                   description=desc, style=style)
        return w.Dropdown(options=list(self.options), value=self.value, description=desc,
                          style=style)


# -- registry and sweeps ------------------------------------------------------------------
def register_widget(name: str, *, kind: str, controls: dict, combos: list[dict] | None = None):
    """Decorator registering a widget factory ``factory(**options) -> (widget, update)``.

    Parameters
    ----------
    name : str
        Registry key (``"nb01_tsvd"``...).
    kind : {"closed-form", "iterative"}
        Sets the latency budget (100 ms / 300 ms median) and ``continuous_update``.
    controls : dict of str -> control
        The controls the factory builds; ``update`` takes exactly these keywords.
    combos : list of dict, optional
        Extra parameter combinations worth testing (extremes of several controls at once).
    """
    check_choice(kind, "kind", _KINDS)

    def decorator(factory):
        if name in WIDGETS:
            raise ValueError(f"widget {name!r} is already registered")
        WIDGETS[name] = factory
        WIDGET_KINDS[name] = kind
        _SPECS[name] = (dict(controls), list(combos or []))
        return factory
    return decorator


def sweep_params(name: str) -> list[dict]:
    """Parameter sets for testing widget ``name``: every control at both ends of its
    range and in the middle (every option of a short choice list) with the others at
    their defaults, then the registered combinations; no duplicates, in a fixed order."""
    check_choice(name, "widget name", tuple(WIDGETS))
    controls, combos = _SPECS[name]
    default = {key: c.value for key, c in controls.items()}
    out = [dict(default)]
    for key, control in controls.items():
        for value in control.sweep_values():
            out.append({**default, key: value})
    for combo in combos:
        unknown = set(combo) - set(controls)
        if unknown:
            raise ValueError(f"combination for {name!r} names unknown controls {sorted(unknown)}")
        out.append({**default, **combo})
    unique, seen = [], set()
    for params in out:
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        if key not in seen:
            seen.add(key)
            unique.append(params)
    return unique


def corner_combos(controls: dict, keys) -> list[dict]:
    """All combinations of the two ends of the controls ``keys``."""
    ends = [(k, [controls[k].sweep_values()[0], controls[k].sweep_values()[-1]]) for k in keys]
    return [dict(zip([k for k, _ in ends], vals))
            for vals in itertools.product(*[v for _, v in ends])]


# -- errors and display ---------------------------------------------------------------------
def friendly_message(exc: BaseException) -> str:
    """One line a student can act on, instead of a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (FloatingPointError, np.linalg.LinAlgError, OverflowError)):
        return ("The computation became numerically unstable for this setting "
                f"({type(exc).__name__}: {text}). Try more regularisation.")
    if isinstance(exc, (ValueError, TypeError)) and text:
        return f"Invalid setting: {text}"
    if isinstance(exc, MemoryError):
        return "Not enough memory for this setting: try a smaller image or fewer iterations."
    return f"Could not update the figure ({type(exc).__name__}: {text or 'no details'})."


def display_mode() -> str:
    """``"ipympl"`` (``%matplotlib widget``), ``"inline"`` (a kernel with the inline
    backend) or ``"headless"`` (plain Python, e.g. tests)."""
    import matplotlib
    backend = matplotlib.get_backend().lower()
    if "ipympl" in backend or backend in ("widget", "module://ipympl.backend_nbagg"):
        return "ipympl"
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        return "headless"
    ip = get_ipython()
    if ip is not None and getattr(ip, "kernel", None) is not None:
        return "inline"
    return "headless"


def _new_figure(figsize, mode):
    if mode == "ipympl":
        import matplotlib.pyplot as plt
        with plt.ioff():
            fig = plt.figure(figsize=figsize, layout="constrained")
        fig.canvas.header_visible = False
        fig.canvas.footer_visible = False
        fig.canvas.toolbar_position = "left"
        return fig
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _format_number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{value:.4g}"
    return str(value)


class DemoWidget:
    """Marker base of the boxes returned by factories (``isinstance(w, DemoWidget)``);
    they carry ``.figure``, ``.demo`` and ``.update``."""


_BOX_CLASS = None


def _box_class():
    global _BOX_CLASS
    if _BOX_CLASS is None:
        import ipywidgets as w

        class DemoBox(w.VBox, DemoWidget):
            """A VBox holding the controls, the status line and the figure.

            When the environment variable ``COURSE_WIDGET_GALLERY`` is set (the static
            course site's build), its display also carries a ``text/html`` gallery of the
            pictures at a few settings of the main control, for viewers without a kernel.
            """

            def _repr_mimebundle_(self, **kwargs):
                bundle = super()._repr_mimebundle_(**kwargs)
                if bundle is not None and os.environ.get(GALLERY_ENV, "") not in ("", "0"):
                    from .gallery import gallery_html
                    bundle = dict(bundle)
                    bundle["text/html"] = gallery_html(self.demo)
                return bundle

        _BOX_CLASS = DemoBox
    return _BOX_CLASS


class Demo:
    """Base class of an interactive demo: controls, one figure, a pure ``update``.

    Subclasses set ``controls`` (a dict of control specs, keys = ``update`` keywords),
    ``kind`` and ``figsize``, and implement

    - ``setup_figure(fig)``: create every axis and artist once (with placeholder data);
    - ``compute(**params) -> state``: the numerics (may call ``self.progress(fraction)``);
    - ``draw(state) -> dict``: push ``state`` into the artists with ``set_data`` /
      ``set_ydata`` / ``set_text`` and return the numbers shown. Put a ``"message"``
      string in the dict to tell the user something about a legal but degenerate setting.

    ``update(**params)`` validates, computes, draws, refreshes and returns the numbers;
    the control callbacks wrap it so that any exception becomes a one-line message.
    """

    controls: dict = {}
    kind: str = "closed-form"
    figsize: tuple = (10, 3.4)
    title: str = ""

    def __init__(self):
        self.mode = display_mode()
        self.figure = _new_figure(self.figsize, self.mode)
        self.setup_figure(self.figure)
        self.last_numbers: dict = {}
        self._widget = None
        self._progress_bar = None

    # -- to implement ------------------------------------------------------------------
    def setup_figure(self, fig):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, state) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- pure update -------------------------------------------------------------------
    def validate(self, params: dict) -> dict:
        unknown = set(params) - set(self.controls)
        if unknown:
            raise TypeError(f"unknown control(s) {sorted(unknown)}; expected "
                            f"{sorted(self.controls)}")
        full = {}
        for key, control in self.controls.items():
            full[key] = control.validate(key, params[key]) if key in params else control.value
        return full

    def update(self, **params) -> dict:
        """Compute for ``params`` (missing ones take their defaults), refresh the figure in
        place and return the numbers shown (a dict of floats, ints and strings)."""
        params = self.validate(params)
        state = self.compute(**params)
        numbers_ = self.draw(state)
        if not self._layout_frozen:
            self._freeze_layout()
        self.refresh()
        self.last_numbers = dict(numbers_)
        return numbers_

    _layout_frozen = False

    def _freeze_layout(self):
        """Lay the figure out once (constrained layout), then keep the axes where they
        are: re-running the layout engine on every redraw would double its cost."""
        self.figure.canvas.draw()
        self.figure.set_layout_engine("none")
        self._layout_frozen = True

    def progress(self, fraction: float):
        """Report progress in [0, 1] during a long ``compute`` (shown by the widget)."""
        bar = self._progress_bar
        if bar is not None:
            bar.value = float(min(max(fraction, 0.0), 1.0))
            bar.layout.visibility = "visible"

    def refresh(self):
        if self.mode == "ipympl":
            self.figure.canvas.draw_idle()
        elif self.mode == "inline" and self._image is not None:
            self._image.value = self.render_png()

    def render_png(self) -> bytes:
        """The figure as PNG bytes, at the figure's own size and resolution.

        Off ipympl, frames come from a :class:`~course_utils.widgets._render.LayeredRenderer`:
        after the first frames it redraws only the artists that ``draw`` changed, on top
        of cached layers of everything else (ticks, labels, legends), which is most of a
        full redraw's cost.
        """
        if self.mode == "ipympl":
            import io
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=self.figure.dpi,
                                pil_kwargs={"compress_level": 1})
            return buffer.getvalue()
        if self._layers is None:
            from ._render import LayeredRenderer
            self._layers = LayeredRenderer(self.figure)
        return self._layers.png()

    _layers = None

    # The inline figure is an ``ipywidgets.Image`` whose bytes are replaced on each update.
    # It is deliberately not an ``ipywidgets.Output`` captured with ``with output:``:
    # executing such a cell with nbclient (nbconvert, papermill, book builds) makes the
    # client mirror the Output widget by sending comm messages to the kernel on the shell
    # channel while it waits on that channel for the cell's reply, and on a busy machine
    # the reply is then sometimes noticed only when the cell times out.
    _image = None

    # -- the widget ----------------------------------------------------------------------
    def build_widget(self):
        """Build the control panel and figure area; draw the default state."""
        import ipywidgets as w

        continuous = self.kind == "closed-form"
        self.control_widgets = {key: c.build(key, continuous)
                                for key, c in self.controls.items()}
        self._progress_bar = w.FloatProgress(value=0.0, min=0.0, max=1.0,
                                             layout=w.Layout(width="160px",
                                                             visibility="hidden"))
        self.status = w.HTML(value="")
        self.readout = w.HTML(value="")
        self.error = w.HTML(value="")
        if self.mode == "ipympl":
            canvas = self.figure.canvas
        else:
            width = round(self.figure.get_figwidth() * self.figure.dpi)
            self._image = w.Image(format="png", layout=w.Layout(width=f"{width}px",
                                                                  max_width="100%",
                                                                  height="auto"))
            canvas = self._image
        panel = w.HBox(list(self.control_widgets.values()),
                       layout=w.Layout(flex_flow="row wrap"))
        status_row = w.HBox([self._progress_bar, self.status, self.readout])

        canvas.add_class("course-demo-figure")
        box = _box_class()([panel, status_row, self.error, canvas])
        box.add_class("course-demo")
        box.add_class(f"course-demo-{self.kind}")  # the latency budget, for browser tests
        box.figure = self.figure
        box.demo = self
        box.update = self.update
        for widget in self.control_widgets.values():
            widget.observe(self._on_change, names="value")
        self._widget = box
        self._on_change(None)
        return box

    def current_params(self) -> dict:
        return {key: widget.value for key, widget in self.control_widgets.items()}

    def _on_change(self, _change):
        self.status.value = "<i>computing…</i>"
        start = time.perf_counter()
        try:
            numbers_ = self.update(**self.current_params())
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.error.value = (f"<span style='color:#b00020'>&#9888; "
                                f"{_escape(friendly_message(exc))}</span>")
            self.readout.value = ""
        else:
            message = numbers_.get("message", "")
            self.error.value = (f"<span style='color:#8a6d00'>{_escape(message)}</span>"
                                if message else "")
            self.readout.value = " &nbsp;·&nbsp; ".join(
                f"{_escape(k)} = {_escape(_format_number(v))}" for k, v in numbers_.items()
                if k != "message")
        finally:
            elapsed = 1000 * (time.perf_counter() - start)
            self.status.value = f"<small>{elapsed:.0f} ms</small>"
            if self._progress_bar is not None:
                self._progress_bar.layout.visibility = "hidden"


def _escape(text: str) -> str:
    import html
    return html.escape(str(text))


def build(demo: Demo) -> tuple:
    """``(widget, update)`` for a constructed :class:`Demo`: the pair every factory returns."""
    return demo.build_widget(), demo.update

