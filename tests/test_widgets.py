"""Tests of the widget machinery and of every registered widget (course_utils.widgets)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import widgets
from course_utils.widgets import _base
from course_utils.widgets._base import (ChoiceControl, FloatControl, IntControl,
                                        friendly_message, register_widget)

NAMES = sorted(widgets.WIDGETS)


@pytest.fixture(scope="module")
def built():
    """One instance of every registered widget (building costs a first draw)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = widgets.WIDGETS[name]()
        return cache[name]
    return get


def _artists(fig):
    """Every image, line and text of the figure, by identity, axis by axis."""
    return [(id(ax), [id(a) for a in ax.images], [id(a) for a in ax.lines],
             [id(a) for a in ax.texts]) for ax in fig.axes]


def _check_numbers(numbers, name, params):
    assert isinstance(numbers, dict) and numbers, f"{name}{params}: update returned {numbers!r}"
    for key, value in numbers.items():
        if key == "message":
            assert isinstance(value, str) and value.strip()
        elif isinstance(value, str):
            continue
        else:
            assert isinstance(value, (int, float)), f"{name}: {key} = {value!r} is not a number"
            assert not math.isnan(value), f"{name}{params}: {key} is NaN"


# -- the registry ------------------------------------------------------------------------
def test_registry_is_consistent():
    assert {"nb01_tsvd", "nb02_regularisers"} <= set(widgets.WIDGETS)
    assert set(widgets.WIDGET_KINDS) == set(widgets.WIDGETS)
    assert set(widgets.WIDGET_KINDS.values()) <= {"closed-form", "iterative"}
    assert widgets.WIDGET_KINDS["nb01_tsvd"] == "closed-form"
    assert widgets.WIDGET_KINDS["nb02_regularisers"] == "iterative"


@pytest.mark.parametrize("name", NAMES)
def test_sweep_covers_both_ends_of_every_control(name):
    controls, _ = _base._SPECS[name]
    sweep = widgets.sweep_params(name)
    keys = [tuple(sorted((k, repr(v)) for k, v in p.items())) for p in sweep]
    assert len(set(keys)) == len(keys), "sweep_params must not repeat a parameter set"
    for key, control in controls.items():
        seen = {repr(p[key]) for p in sweep}
        values = control.sweep_values()
        assert repr(values[0]) in seen and repr(values[-1]) in seen, key
        if isinstance(control, ChoiceControl) and len(control.values) <= 5:
            assert seen == {repr(v) for v in control.values}
    for params in sweep:
        assert set(params) == set(controls)


def test_sweep_params_rejects_unknown_name():
    with pytest.raises(ValueError, match="Unknown widget name"):
        widgets.sweep_params("no_such_widget")


# -- every widget, every control at both ends ------------------------------------------------
def _png_pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_gives_a_picture_or_a_message(name, built):
    widget, update = built(name)
    fig = widget.figure
    before = _artists(fig)
    for params in widgets.sweep_params(name):
        numbers = update(**params)
        _check_numbers(numbers, name, params)
        # The picture sent to the page (layers + the changed artists) is what a full
        # redraw of the figure gives, up to anti-aliasing where layers are composited.
        frame = _png_pixels(widget.demo.render_png())
        fig.canvas.draw()
        full = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(np.int16)
        differ = np.abs(frame - full).max(axis=-1) > 8
        assert differ.mean() < 1e-4, (f"{name}{params}: {differ.sum()} pixels of the "
                                      "widget's picture differ from a full redraw")
        for ax in fig.axes:
            for image in ax.images:
                data = np.asarray(image.get_array(), dtype=float)
                assert data.size and np.all(np.isfinite(data)), f"{name}{params}: bad image"
            for line in ax.lines:
                ys = np.asarray(line.get_ydata(), dtype=float)
                assert not np.any(np.isnan(ys)), f"{name}{params}: NaN in a line"
        # never re-plotted: the same artist objects before and after every update
        assert _artists(fig) == before, f"{name}{params}: artists were replaced"


@pytest.mark.parametrize("name", NAMES)
def test_update_is_pure(name, built):
    _, update = built(name)
    sweep = widgets.sweep_params(name)
    first = update(**sweep[0])
    update(**sweep[-1])                 # another setting in between must not matter
    again = update(**sweep[0])
    assert again == first


@pytest.mark.parametrize("name", NAMES)
def test_update_rejects_bad_parameters_clearly(name, built):
    _, update = built(name)
    with pytest.raises(TypeError, match="unknown control"):
        update(not_a_control=1)
    controls, _ = _base._SPECS[name]
    key, control = next(iter(controls.items()))
    bad = -1e9 if not isinstance(control, ChoiceControl) else "not an option"
    with pytest.raises((ValueError, TypeError), match=key):
        update(**{key: bad})


@pytest.mark.parametrize("name", NAMES)
def test_continuous_update_follows_the_kind(name, built):
    widget, _ = built(name)
    demo = widget.demo
    expected = widgets.WIDGET_KINDS[name] == "closed-form"
    for control in demo.control_widgets.values():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is expected


def test_callback_shows_a_friendly_error_never_a_traceback(built):
    widget, _ = built("nb01_tsvd")
    demo = widget.demo

    def broken(**params):
        raise RuntimeError("solver diverged")

    original = demo.compute
    demo.compute = broken
    try:
        demo._on_change(None)            # what a slider move runs
    finally:
        demo.compute = original
    assert "solver diverged" in demo.error.value
    assert "Traceback" not in demo.error.value
    demo._on_change(None)
    assert "solver diverged" not in demo.error.value
    assert "relative_error" in demo.readout.value


def test_callback_shows_the_message_of_a_degenerate_setting(built):
    widget, _ = built("nb01_tsvd")
    demo = widget.demo
    demo.control_widgets["k"].value = demo.controls["k"].max     # triggers the observer
    assert "naive inverse" in demo.error.value
    demo.control_widgets["k"].value = 20


def test_friendly_message():
    assert friendly_message(ValueError("lam must be >= 0")) == "Invalid setting: lam must be >= 0"
    assert "more regularisation" in friendly_message(np.linalg.LinAlgError("singular"))
    assert "memory" in friendly_message(MemoryError())
    assert friendly_message(KeyError("x")).startswith("Could not update the figure")


# -- notebook 01 ---------------------------------------------------------------------------
def test_tsvd_widget_numbers(built):
    _, update = built("nb01_tsvd")
    numbers = update(sigma=1e-2, k=20)
    # The condition number of the 128-sample Gaussian blur of width 2 is 1.77e8.
    assert numbers["condition_number"] == pytest.approx(1.769e8, rel=1e-3)
    # Best truncation: error below the k = 20 error, and the naive inverse is hopeless.
    assert numbers["best_error"] <= numbers["relative_error"]
    full = update(sigma=1e-2, k=128)
    assert full["relative_error"] > 1e3 and "naive inverse" in full["message"]
    exact = update(sigma=0.0, k=128)
    assert exact["relative_error"] < 1e-6           # noise-free data: exact up to round-off


def test_tsvd_widget_picard_axis_is_clipped_to_the_informative_range(built):
    """The Picard panel spans from a decade below the noise floor (round-off when σ = 0)
    to a few decades above the largest coefficient, not 1e-18 to 1e7: the noise line and
    the largest coefficient are inside, the bottom follows σ."""
    from course_utils.widgets.nb01 import PICARD_DECADES_ABOVE, picard_limits
    widget, update = built("nb01_tsvd")
    ax = widget.demo.axes[1]
    for sigma in (1e-4, 1e-2, 1e-1):
        update(sigma=sigma, k=40)
        low, high = ax.get_ylim()
        coeffs = widget.demo.line_coef.get_ydata()
        assert low == pytest.approx(0.1 * sigma) and low < sigma < high
        assert coeffs.max() < high <= coeffs.max() * 10 ** PICARD_DECADES_ABOVE * 1.001
        assert np.log10(high / low) <= 9          # readable: at most nine decades
    update(sigma=0.0, k=40)
    low, high = ax.get_ylim()
    assert 1e-18 < low < 1e-14 and high < 1e5     # round-off floor, not 1e-18 to 1e9
    assert picard_limits(np.zeros(5), 0.0)[0] > 0  # degenerate input stays drawable


def test_tsvd_widget_validates_options():
    from course_utils.widgets.nb01 import TsvdDemo
    with pytest.raises(ValueError, match="n must be >= 8"):
        TsvdDemo(n=4)
    with pytest.raises(ValueError, match="kernel_sigma must be > 0"):
        TsvdDemo(kernel_sigma=-1.0)


# -- notebook 02 ---------------------------------------------------------------------------
def test_regulariser_widget_numbers(built):
    _, update = built("nb02_regularisers")
    from course_utils.widgets.nb02 import LAMS
    tik = update(regulariser="tikhonov", sigma=0.01, lam=0.01)
    # Same closed form as the Blur operator, and the three λ rules are reported.
    demo = built("nb02_regularisers")[0].demo
    from course_utils.metrics import psnr
    expected = psnr(demo.x, demo.A.solve_tikhonov(demo.data(0.01), 0.01))
    assert tik["psnr"] == pytest.approx(expected, abs=0.01)
    assert {"lam_corner", "lam_discrepancy", "lam_gcv"} <= set(tik)
    # The discrepancy λ gives a residual of σ√m (Morozov), here 0.01 · 128.
    assert demo._tik[0.01]["spec"].residual_norms(tik["lam_discrepancy"])[0] == \
        pytest.approx(0.01 * 128, rel=1e-6)
    tv = update(regulariser="tv", sigma=0.01, lam=LAMS[5])
    assert "lam_gcv" not in tv and "GCV" in tv["message"]
    # TV beats the blurred data by a wide margin at a sensible λ (28.7 dB vs 24.4 dB
    # measured; 2 dB of slack for platform differences).
    assert tv["psnr"] > psnr(demo.x, demo.data(0.01)) + 2
    naive = update(regulariser="tikhonov", sigma=0.05, lam=0.0)
    assert naive["psnr"] < 0 and "naive inverse" in naive["message"]


class _PeriodicGradient:
    """Periodic forward differences as a LinearOperator (for the agreement test)."""

    @staticmethod
    def make(shape):
        from course_utils.operators import LinearOperator
        from course_utils.widgets.nb02 import _grad_periodic, _grad_periodic_adjoint

        class PeriodicGradient(LinearOperator):
            def __init__(self):
                super().__init__(shape, (2, *shape), name="periodic_gradient")

            def _forward(self, x):
                return _grad_periodic(x)

            def _adjoint(self, p):
                return _grad_periodic_adjoint(p)
        return PeriodicGradient()


def _small_problem(seed=0):
    from course_utils.data import add_noise, load_image
    from course_utils.operators import Blur
    x = load_image("camera", 32)
    A = Blur(x.shape, "gaussian", kernel_size=5, kernel_sigma=1.0)
    return x, A, add_noise(A(x), 0.02, seed=seed)


def test_periodic_gradient_adjoint():
    D = _PeriodicGradient.make((8, 10))
    assert D.adjointness_test() < 1e-12


def test_tv_path_agrees_with_pdhg():
    """The widget's FFT-split ADMM and the library's PDHG minimise the same TV objective."""
    from course_utils.solvers import tv_reconstruct
    from course_utils.widgets.nb02 import regularisation_path, tv_periodic
    x, A, y = _small_problem()
    lam = 0.01
    D = _PeriodicGradient.make(x.shape)
    x_admm = regularisation_path(A, y, "tv", [lam], num_iters=1000)[lam]
    x_pdhg = tv_reconstruct(A, y, lam, D=D, num_iters=1000).x_hat

    def objective(z):
        return 0.5 * np.sum((A(z) - y) ** 2) + lam * tv_periodic(z)
    # Both converge to the minimiser (the objective is strictly convex here: A is
    # invertible); after 1000 iterations each they agree to ~1e-5 in objective and ~1e-4
    # in x (measured), so 1e-4 and 1e-2 leave a wide margin.
    assert objective(x_admm) == pytest.approx(objective(x_pdhg), rel=1e-4)
    assert np.linalg.norm(x_admm - x_pdhg) / np.linalg.norm(x_pdhg) < 1e-2


def test_wavelet_path_agrees_with_fista():
    from course_utils.priors import WaveletL1
    from course_utils.solvers import fista
    from course_utils.widgets.nb02 import regularisation_path
    x, A, y = _small_problem(1)
    lam = 0.005
    x_admm = regularisation_path(A, y, "wavelet", [lam], num_iters=300)[lam]
    prior = WaveletL1(lam, "db4")
    x_fista = fista(A, y, prior, num_iters=300).x_hat

    def objective(z):
        return 0.5 * np.sum((A(z) - y) ** 2) + prior.value(z)
    # Measured agreement after 300 iterations each: ~1e-8 relative; 1e-5 is the tolerance.
    assert objective(x_admm) == pytest.approx(objective(x_fista), rel=1e-5)


def test_regularisation_path_validates():
    from course_utils.widgets.nb02 import regularisation_path
    x, A, y = _small_problem()
    with pytest.raises(ValueError, match="Unknown regulariser"):
        regularisation_path(A, y, "tikhonov", [0.1])
    with pytest.raises(ValueError, match="lams must be >= 0"):
        regularisation_path(A, y, "tv", [-1.0])
    with pytest.raises(ValueError, match="num_iters must be >= 1"):
        regularisation_path(A, y, "tv", [0.1], num_iters=0)
    with pytest.raises(TypeError, match="circulant blur"):
        regularisation_path(np.eye(4), y, "tv", [0.1])


def test_regulariser_widget_validates_options():
    from course_utils.widgets.nb02 import RegulariserDemo
    with pytest.raises(ValueError, match="Unknown image"):
        RegulariserDemo(image="lena")
    with pytest.raises(ValueError, match="power of two"):
        RegulariserDemo(size=100)
    with pytest.raises(ValueError, match="kernel_sigma must be > 0"):
        RegulariserDemo(kernel_sigma=0.0)


# -- display back-ends ---------------------------------------------------------------------
def test_headless_mode_in_tests():
    assert widgets.display_mode() == "headless"


def test_inline_backend_shows_the_figure_as_an_image_widget(monkeypatch):
    # Not an ipywidgets.Output captured with `with output:` (nbclient mirrors those over
    # the shell channel, which stalled cells): an Image whose PNG bytes each update replaces.
    import ipywidgets
    from course_utils.widgets.nb01 import TsvdDemo
    monkeypatch.setattr(_base, "display_mode", lambda: "inline")
    demo = TsvdDemo(n=32)
    box = demo.build_widget()
    image = box.children[-1]
    assert isinstance(image, ipywidgets.Image) and image.format == "png"
    assert not any(isinstance(child, ipywidgets.Output) for child in box.children)
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    demo.update(k=3, sigma=0.1)
    assert image.value != first
    assert demo.controls["k"].max == 32                 # the k slider follows n
    assert demo.update(k=32, sigma=0.0)["k"] == 32


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ipympl_backend_puts_the_canvas_in_the_box():
    import matplotlib
    from course_utils.widgets.nb01 import TsvdDemo
    previous = matplotlib.get_backend()
    try:
        matplotlib.use("module://ipympl.backend_nbagg")
        assert widgets.display_mode() == "ipympl"
        demo = TsvdDemo(n=32)
        box = demo.build_widget()
        assert box.children[-1] is demo.figure.canvas
        lines = [id(line) for line in demo.figure.axes[0].lines]
        demo.update(k=5, sigma=0.0)
        assert [id(line) for line in demo.figure.axes[0].lines] == lines
    finally:
        import matplotlib.pyplot as plt
        plt.close("all")
        matplotlib.use(previous)


# -- control specs -----------------------------------------------------------------------------
def test_controls_validate_their_spec_and_values():
    with pytest.raises(ValueError, match="min < max"):
        FloatControl(1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="log-scale"):
        FloatControl(0.0, 1.0, 0.5, log=True)
    with pytest.raises(ValueError, match="min <= value <= max"):
        IntControl(0, 10, 11)
    with pytest.raises(ValueError, match="not among the options"):
        ChoiceControl((1, 2), value=3)
    with pytest.raises(ValueError, match="at least two options"):
        ChoiceControl((1,), value=1)
    f = FloatControl(0.0, 1.0, 0.5)
    assert f.sweep_values() == [0.0, 0.5, 1.0]
    assert FloatControl(1e-3, 1e1, 1.0, log=True).sweep_values()[1] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]"):
        f.validate("lam", 2.0)
    with pytest.raises(TypeError, match="lam must be a real number"):
        f.validate("lam", "0.5")
    i = IntControl(1, 9, 5)
    assert i.sweep_values() == [1, 5, 9]
    with pytest.raises(TypeError, match="k must be an integer"):
        i.validate("k", 2.5)
    c = ChoiceControl((("zero", 0.0), ("one", 1.0)), value=0.0)
    assert c.validate("lam", 1) == 1.0
    with pytest.raises(ValueError, match="lam must be one of"):
        c.validate("lam", 0.5)
    widget = FloatControl(1e-3, 1e1, 1.0, log=True).build("lam", False)
    assert widget.continuous_update is False


def test_register_widget_rejects_duplicates_and_bad_kind():
    with pytest.raises(ValueError, match="Unknown kind"):
        register_widget("x", kind="slow", controls={})
    with pytest.raises(ValueError, match="already registered"):
        register_widget("nb01_tsvd", kind="closed-form", controls={})(lambda: None)
