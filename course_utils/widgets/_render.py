"""Fast redraws of a widget's figure: only the artists that change are drawn again.

Drawing a whole matplotlib figure with the Agg renderer costs 50–150 ms for the course's
widgets, most of it laying out and rasterising text (tick labels, legends, titles with
maths) that a slider never changes. :class:`LayeredRenderer` renders the figure once into
two cached layers and then, frame after frame, draws only the changing artists between
them:

- the *under* layer: everything that does not change and is drawn before the first
  changing artist of its axes (the figure and axes backgrounds, ticks, labels, titles…);
- the *dynamic* artists (lines, images, collections, and any artist seen to change),
  drawn on top of a copy of the under layer with the axes' own transforms and clipping;
- the *over* layer: unchanging artists that an axes draws after its first changing one
  (legends, annotations, spines), rendered on a transparent canvas and composited last.

Which artists change is read from matplotlib's own ``stale`` flags after the demo has
pushed new data into its artists. An axes whose view limits or scales change, or whose
list of artists changes, is redrawn whole in every later frame; a figure whose list of
axes changes starts over. The layers are rebuilt whenever the classification changes,
so a frame is always what a full redraw would give, up to anti-aliasing where a layer
is composited (tested against ``savefig`` for every widget).
"""
from __future__ import annotations

import io
from operator import attrgetter

import numpy as np

__all__ = ["LayeredRenderer", "encode_png"]

# Artists that usually carry what a control changes (the data, and the titles and
# annotations that quote numbers): treated as changing from the first frame on, so that
# the first move of a slider already takes the fast path. Drawing one that did not
# change costs little; learning one late costs a rebuild of the layers.
_DATA_TYPES: tuple = ()


def _data_types() -> tuple:
    global _DATA_TYPES
    if not _DATA_TYPES:
        from matplotlib.collections import Collection
        from matplotlib.image import AxesImage
        from matplotlib.lines import Line2D
        from matplotlib.text import Text
        _DATA_TYPES = (Line2D, AxesImage, Collection, Text)
    return _DATA_TYPES


def _axes_leaves(ax) -> list:
    """The artists an axes draws, in the order ``Axes.draw`` draws them."""
    artists = ax.get_children()
    artists.remove(ax.patch)
    if not (ax.axison and ax.get_frame_on()):
        spines = set(map(id, ax.spines.values()))
        artists = [a for a in artists if id(a) not in spines]
    if not ax.axison:
        axes_axis = set(map(id, ax._axis_map.values()))
        artists = [a for a in artists if id(a) not in axes_axis]
    artists = sorted(artists, key=attrgetter("zorder"))
    return [ax.patch] + artists


def _figure_units(fig) -> list:
    """Figure-level children in drawing order (the figure patch first)."""
    children = [a for a in fig.get_children() if a is not fig.patch]
    return [fig.patch] + sorted(children, key=attrgetter("zorder"))


def _limits(ax) -> tuple:
    return (tuple(np.round(ax.viewLim.bounds, 12)), ax.get_xscale(), ax.get_yscale(),
            tuple(np.round(ax.get_position().bounds, 12)))


def _keep_title_position(renderer):
    """Stands in for ``Axes._update_title_position`` while a layer is drawn."""


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(h, w, 4)`` uint8 frame (RGB when it is fully opaque), encoded
    with light compression: the bytes travel to a browser on this machine or nearby."""
    from PIL import Image
    frame = rgba[..., :3] if rgba[..., 3].min() == 255 else rgba
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class LayeredRenderer:
    """Render a matplotlib figure (Agg canvas) to RGBA, redrawing only what changed.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        A figure with an Agg canvas and a fixed layout (no layout engine running on each
        draw: the layers assume that axes stay where they are).

    Attributes
    ----------
    full_builds, fast_frames : int
        How many frames rebuilt the layers and how many took the fast path.
    """

    def __init__(self, figure):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        if not isinstance(getattr(figure, "canvas", None), FigureCanvasAgg):
            raise TypeError("LayeredRenderer needs a figure with an Agg canvas, got "
                            f"{type(getattr(figure, 'canvas', None)).__name__}")
        self.figure = figure
        self.full_builds = 0
        self.fast_frames = 0
        self._reset()

    # -- state ---------------------------------------------------------------------------
    def _reset(self):
        self._signature = None       # ids of the figure's units and its size
        self._whole: set[int] = set()    # axes redrawn whole in every frame
        self._dynamic: set[int] = set()  # leaves drawn in every frame
        self._leaves: dict[int, tuple] = {}  # axes id -> ids of its leaves
        self._limits: dict[int, tuple] = {}  # axes id -> limits at the last build
        self._under = None
        self._over = None
        self._seen: dict[int, tuple] = {}  # text id -> (content, visible) at the last build

    # -- what changed --------------------------------------------------------------------
    def _texts_of(self, artist) -> list:
        from matplotlib.axis import Axis
        from matplotlib.legend import Legend
        from matplotlib.text import Text
        if isinstance(artist, Text):
            return [artist]
        if isinstance(artist, Axis):
            return [artist.label, artist.offsetText]
        if isinstance(artist, Legend):
            return [artist.get_title(), *artist.get_texts()]
        return []

    def _is_stale(self, artist) -> bool:
        """Whether ``artist`` changed since it was last drawn.

        Mostly matplotlib's ``stale`` flag. But an empty text is never drawn, so it stays
        stale: texts are compared by content and visibility with the last build. An axis
        keeps spare tick objects that it never draws (also stale): its ticks are covered
        by the view-limit check, its label and offset text here. A legend's handles are
        copies made at each draw; its texts are what change.
        """
        from matplotlib.axis import Axis
        from matplotlib.legend import Legend
        from matplotlib.text import Text
        for text in self._texts_of(artist):
            key = (text.get_text(), text.get_visible())
            if self._seen.get(id(text)) != key or (text.stale and key[0] and key[1]):
                return True
        if isinstance(artist, (Axis, Legend)):
            return artist.stale
        if isinstance(artist, Text):
            return False
        if artist.stale:
            return True
        return any(self._is_stale(child) for child in artist.get_children())

    def _remember_texts(self, artists):
        for artist in artists:
            for text in self._texts_of(artist):
                self._seen[id(text)] = (text.get_text(), text.get_visible())

    def _figure_signature(self):
        fig = self.figure
        return (tuple(map(id, _figure_units(fig))), tuple(fig.bbox.size), fig.dpi)

    def _classify(self) -> bool:
        """Update which artists are dynamic; True when the layers must be rebuilt."""
        from matplotlib.axes import Axes
        fig = self.figure
        signature = self._figure_signature()
        if signature != self._signature:
            self._reset()
            self._signature = signature
            data = _data_types()
            for unit in _figure_units(fig):
                if isinstance(unit, Axes):
                    leaves = _axes_leaves(unit)
                    self._leaves[id(unit)] = tuple(map(id, leaves))
                    self._limits[id(unit)] = _limits(unit)
                    self._dynamic.update(id(a) for a in leaves[1:] if isinstance(a, data))
                elif unit is not fig.patch and isinstance(unit, data):
                    self._dynamic.add(id(unit))
            return True
        rebuild = self._under is None
        for unit in _figure_units(fig):
            if isinstance(unit, Axes):
                key = id(unit)
                if key in self._whole:
                    continue
                leaves = _axes_leaves(unit)
                if (tuple(map(id, leaves)) != self._leaves[key]
                        or _limits(unit) != self._limits[key]):
                    self._whole.add(key)
                    rebuild = True
                    continue
                for leaf in leaves:
                    if id(leaf) not in self._dynamic and self._is_stale(leaf):
                        self._dynamic.add(id(leaf))
                        rebuild = True
            elif id(unit) not in self._dynamic and self._is_stale(unit):
                self._dynamic.add(id(unit))
                rebuild = True
        return rebuild

    # -- layers ----------------------------------------------------------------------------
    def _plan(self):
        """``(under, dynamic, over)`` lists of artists, and the draw order of the frame."""
        from matplotlib.axes import Axes
        fig = self.figure
        under, over, order = [], [], []
        for unit in _figure_units(fig):
            if isinstance(unit, Axes):
                if id(unit) in self._whole:
                    order.append(unit)
                    continue
                leaves = _axes_leaves(unit)
                seen_dynamic = False
                for leaf in leaves:
                    if id(leaf) in self._dynamic:
                        seen_dynamic = True
                        order.append(leaf)
                    elif seen_dynamic:
                        over.append(leaf)
                    else:
                        under.append(leaf)
            elif id(unit) in self._dynamic:
                order.append(unit)
            else:
                under.append(unit)
        return under, over, order

    def _render_only(self, keep, everything, transparent: bool) -> np.ndarray:
        """Draw the figure with only the artists in ``keep`` visible; return a copy."""
        fig = self.figure
        keep_ids = set(map(id, keep))
        toggled = []
        for artist in everything:
            if id(artist) not in keep_ids and artist.get_visible():
                artist.set_visible(False)
                toggled.append(artist)
        if transparent and fig.patch.get_visible():
            fig.patch.set_visible(False)
            toggled.append(fig.patch)
        # An axes places its title from the tick labels it draws: with some of them
        # hidden the title would move. Keep the places of the last full draw.
        axes = [a for a in fig.axes]
        for ax in axes:
            ax._update_title_position = _keep_title_position
        try:
            fig.canvas.draw()
            return np.array(fig.canvas.buffer_rgba(), copy=True)
        finally:
            for ax in axes:
                del ax._update_title_position
            for artist in toggled:
                artist.set_visible(True)
                artist.stale = False

    def _build(self):
        from matplotlib.axes import Axes
        fig = self.figure
        if self.full_builds == 0:
            fig.canvas.draw()  # places titles and labels, which the layers then keep
        under, over, order = self._plan()
        everything = []
        for unit in _figure_units(fig):
            everything.append(unit)
            if isinstance(unit, Axes) and id(unit) not in self._whole:
                everything.extend(_axes_leaves(unit))
        # Axes themselves stay visible in both layers (their leaves are toggled), except
        # those redrawn whole, which appear in neither.
        axes_kept = [u for u in _figure_units(fig)
                     if isinstance(u, Axes) and id(u) not in self._whole]
        self._render_only(under + axes_kept, everything, transparent=False)
        self._under = fig.canvas.copy_from_bbox(fig.bbox)
        if over:
            layer = self._render_only(over + axes_kept, everything, transparent=True)
            alpha = layer[..., 3]
            where = np.nonzero(alpha)
            a = alpha[where].astype(np.float32)[:, None] / 255.0
            self._over = (where, layer[where][:, :3].astype(np.float32), a)
        else:
            self._over = None
        self._order = order
        self._remember_texts(everything)
        for unit in _figure_units(fig):
            if isinstance(unit, Axes) and id(unit) not in self._whole:
                self._limits[id(unit)] = _limits(unit)
        self.full_builds += 1

    # -- frames ------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """The figure as an ``(h, w, 4)`` uint8 RGBA array, as ``savefig`` would draw it."""
        if self._classify():
            self._build()
        else:
            self.fast_frames += 1
        fig = self.figure
        canvas = fig.canvas
        canvas.restore_region(self._under)
        renderer = canvas.get_renderer()
        for artist in self._order:
            artist.draw(renderer)
        frame = np.array(canvas.buffer_rgba(), copy=True)
        if self._over is not None:
            where, rgb, a = self._over
            base = frame[where][:, :3].astype(np.float32)
            mixed = rgb * a + base * (1.0 - a)
            frame[where[0], where[1], :3] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
            frame[where[0], where[1], 3] = np.maximum(frame[where][:, 3],
                                                      np.rint(a[:, 0] * 255).astype(np.uint8))
        fig.stale = False
        return frame

    def png(self) -> bytes:
        """:meth:`render`, encoded as PNG."""
        return encode_png(self.render())
