"""Tests of course_utils.plotting (Agg backend, every figure closed)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import plotting, regparam, solvers  # noqa: E402
from course_utils.data import add_noise, load_image  # noqa: E402
from course_utils.metrics import psnr, ssim  # noqa: E402
from course_utils.operators.basic import deconvolution_matrix  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images():
    x = load_image("camera", size=32)
    return x, add_noise(x, 0.1, seed=0), np.clip(add_noise(x, 0.02, seed=1), 0, 1)


def test_show_images_annotates_psnr_and_ssim(images):
    x, noisy, mild = images
    fig, axes, handles = plotting.show_images([x, noisy, mild], ["clean", "noisy", "mild"],
                                              reference=x)
    assert len(axes) == len(handles) == 3
    assert [a.get_title() for a in axes] == ["clean", "noisy", "mild"]
    assert axes[0].get_xlabel() == "reference"
    # the label carries the metric values of course_utils.metrics, rounded
    expected = f"PSNR {psnr(x, noisy):.2f} dB · SSIM {ssim(x, noisy):.3f}"
    assert axes[1].get_xlabel() == expected
    assert np.array_equal(handles[1].get_array(), noisy)
    assert handles[0].get_clim() == (0.0, 1.0)


def test_show_images_inputs_dict_stack_complex_and_layout(images):
    x, noisy, _ = images
    fig, axes, handles = plotting.show_images({"a": x, "b": noisy}, ncols=1)
    assert [a.get_title() for a in axes] == ["a", "b"]
    assert axes[0].get_xlabel() == ""                  # no reference, no label
    fig, axes, handles = plotting.show_images(np.stack([x, x, x, x, x]))
    assert len(handles) == 5 and len(fig.axes) == 8    # 2 rows of 4, 3 switched off
    _, _, handles = plotting.show_images(x * np.exp(1j * x), vmin=None, vmax=None)
    assert np.allclose(handles[0].get_array(), x)      # modulus of a complex image
    rgb = load_image("astronaut", size=16, color=True)
    _, _, handles = plotting.show_images(rgb)
    assert handles[0].get_array().shape == (16, 16, 3)


def test_show_images_into_existing_axes_and_update(images):
    x, noisy, mild = images
    fig, ax = plt.subplots(1, 3)
    fig2, axes, handles = plotting.show_images([noisy, mild], reference=x, ax=ax)
    assert fig2 is fig and axes[0] is ax[0]
    plotting.update_image(handles[0], mild, title="updated")
    assert np.array_equal(handles[0].get_array(), mild)
    assert axes[0].get_title() == "updated"
    assert axes[0].get_xlabel().startswith(f"PSNR {psnr(x, mild):.2f} dB")
    with pytest.raises(TypeError, match="handle"):
        plotting.update_image("not a handle", x)


def test_show_images_bad_input(images):
    x, noisy, _ = images
    with pytest.raises(ValueError, match="titles"):
        plotting.show_images([x, noisy], ["only one"])
    with pytest.raises(ValueError, match="empty"):
        plotting.show_images([])
    with pytest.raises(ValueError, match="contains NaN"):
        plotting.show_images([np.full((4, 4), np.nan)])
    with pytest.raises(ValueError, match="2-D or 3-D"):
        plotting.show_images([np.ones(5)])
    with pytest.raises(ValueError, match="vmin"):
        plotting.show_images(x, vmin=1.0, vmax=0.0)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one Axes per image"):
        plotting.show_images([x, noisy], ax=ax)
    with pytest.raises(ValueError, match="ncols"):
        plotting.show_images(x, ncols=0)


class L1:
    def __init__(self, lam):
        self.lam = lam

    def value(self, x):
        return self.lam * float(np.abs(x).sum())

    def prox(self, x, tau):
        return np.sign(x) * np.maximum(np.abs(x) - tau * self.lam, 0.0)


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 30)) / np.sqrt(20)
    x_true = np.zeros(30)
    x_true[:3] = 1.0
    y = A @ x_true
    return {"ISTA": solvers.ista(A, y, L1(0.05), num_iters=40, x_true=x_true),
            "FISTA": solvers.fista(A, y, L1(0.05), num_iters=30, x_true=x_true)}


def test_plot_convergence_several_runs(runs):
    fig, axes = plotting.plot_convergence(runs, keys=("objective", "psnr"))
    assert len(axes) == 2
    lines = axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["ISTA", "FISTA"]
    assert np.allclose(lines[1].get_ydata(), runs["FISTA"].history["objective"])
    assert len(lines[0].get_xdata()) == 40
    assert axes[0].get_yscale() == "log" and axes[1].get_yscale() == "linear"


def test_plot_convergence_single_history_f_star_and_missing_keys(runs):
    hist = runs["ISTA"].history
    f_star = min(runs["FISTA"].history["objective"]) - 1e-6
    fig, axes = plotting.plot_convergence(hist, keys=("objective", "residual"), f_star=f_star)
    assert len(axes) == 1                               # "residual" is not recorded: skipped
    assert np.allclose(axes[0].get_lines()[0].get_ydata(), np.array(hist["objective"]) - f_star)
    with pytest.raises(ValueError, match="available"):
        plotting.plot_convergence(hist, keys=("nothing",))
    with pytest.raises(TypeError, match="history"):
        plotting.plot_convergence(3)
    with pytest.raises(ValueError, match="labels"):
        plotting.plot_convergence(runs, labels=["one"])


def test_plot_l_curve_and_gcv_mark_the_choices():
    A = deconvolution_matrix(32, 1.5)
    x = np.sin(np.linspace(0, np.pi, 32))
    y = add_noise(A @ x, 0.01, seed=0)
    spec = regparam.TikhonovSpectrum(A, y)
    lc = regparam.l_curve(spec)
    g = regparam.gcv(spec)
    lam_dp = regparam.discrepancy_principle(spec, sigma=0.01)
    fig, ax = plotting.plot_l_curve(lc, lam_dp=lam_dp, lam_gcv=g.lam, lam_true=1e30)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[0] == "L-curve"
    assert any(lab.startswith("corner") for lab in labels)
    assert any(lab.startswith("discrepancy") for lab in labels)
    assert any(lab.endswith("(off the curve)") for lab in labels)   # λ = 1e30
    corner = [ln for ln in ax.get_lines() if ln.get_label().startswith("corner")][0]
    # the marker sits on the curve: at a grid λ it is exactly the computed norms
    k = lc.corner_index
    assert corner.get_xdata()[0] == pytest.approx(spec.residual_norms(lc.corner_lam)[0],
                                                  rel=0.05)
    assert lc.residual_norms[k] > 0
    fig, ax = plotting.plot_gcv(g)
    assert ax.get_xscale() == "log"
    with pytest.raises(TypeError, match="lcurve"):
        plotting.plot_l_curve({"lams": 1})
    with pytest.raises(TypeError, match="gcv_curve"):
        plotting.plot_gcv(lc)
