"""Tests of the notebook 06 widget: scrubbing through the shipped deep-image-prior snapshots."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import weights, widgets
from course_utils.train.dip import RATIOS, SIGMAS, SNAPSHOT_ITERS, SNAPSHOT_SETTINGS, observation
from course_utils.widgets.nb06 import load_snapshots

NAME = "nb06_dip"
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_and_exported():
    assert widgets.WIDGET_KINDS[NAME] == "closed-form"
    assert "dip_widget" in widgets.__all__
    assert 0.0 in RATIOS and 0.0 in SIGMAS and SNAPSHOT_ITERS[0] == 0


def test_shipped_snapshots_are_registered_small_and_complete():
    entry = weights.registry()["dip_snapshots"]
    assert entry["command"] == "python -m course_utils.train dip-snapshots"
    path = weights.weights_path("dip_snapshots")
    assert path.stat().st_size <= 2_000_000  # the brief's bound for this file
    data = load_snapshots()
    R, S, K = len(RATIOS), len(SIGMAS), len(SNAPSHOT_ITERS)
    size = SNAPSHOT_SETTINGS["size"]
    assert data["snapshots"].shape == (R, S, K, size, size)
    assert data["psnr"].shape == (R, S, SNAPSHOT_SETTINGS["num_iters"])
    assert 0.0 <= data["snapshots"].min() and data["snapshots"].max() <= 1.0


def test_snapshots_agree_with_their_psnr_curves():
    data = load_snapshots()
    for i, ratio in enumerate(RATIOS):
        for j, sigma in enumerate(SIGMAS):
            x, _, _ = observation(ratio, sigma)
            k = len(SNAPSHOT_ITERS) // 2
            mse = np.mean((data["snapshots"][i, j, k] - x) ** 2)
            # Rounding to 1/255 adds at most (1/510)² to the MSE: a few hundredths of a dB.
            assert 10 * np.log10(1 / mse) == pytest.approx(
                data["psnr"][i, j, SNAPSHOT_ITERS[k]], abs=0.1)


def test_shipped_curve_is_reproduced_by_a_fresh_fit():
    # The file is what the command computes: rerun the first iterations of one setting.
    from course_utils.dip import dip_fit
    data = load_snapshots()
    i, j = RATIOS.index(0.5), SIGMAS.index(0.1)
    x, y, mask = observation(0.5, 0.1)
    result = dip_fit(y, mask, num_iters=12, x_true=x, seed=SNAPSHOT_SETTINGS["seed"])
    # Bit for bit on the processor that made the file (float32 storage: 1e-4 dB). torch's
    # CPU kernels round differently on other processors (AVX2 / AVX-512, Intel / AMD),
    # and the fit amplifies the difference: 0.11 dB after 12 iterations seen on an AMD
    # EPYC. The first iterate, a function of the seed alone, agrees everywhere.
    np.testing.assert_allclose(result.psnr[:2], data["psnr"][i, j, :2], atol=1e-3)
    np.testing.assert_allclose(result.psnr, data["psnr"][i, j, :12], atol=0.3)
    np.testing.assert_allclose(result.loss, data["loss"][i, j, :12], rtol=0.05)


def test_update_numbers_come_from_the_snapshots(built):
    widget, update = built
    data = widget.demo.data
    numbers = update(ratio=0.5, sigma=0.1, iteration=100)
    i, j = RATIOS.index(0.5), SIGMAS.index(0.1)
    assert numbers["psnr"] == pytest.approx(data["psnr"][i, j, 100], abs=0.01)
    assert numbers["peak_iter"] == int(np.argmax(data["psnr"][i, j]))
    assert numbers["peak_psnr"] >= numbers["psnr"]
    np.testing.assert_array_equal(widget.demo.im_x.get_array(),
                                  data["snapshots"][i, j, SNAPSHOT_ITERS.index(100)])
    # Missing pixels are painted red in the observed panel.
    shown = widget.demo.im_y.get_array()
    _, _, mask = observation(0.5, 0.1)
    assert np.allclose(shown[mask == 0], (0.85, 0.1, 0.1))


def test_dip_denoising_shows_rise_peak_and_overfit():
    data = load_snapshots()
    curve = data["psnr"][RATIOS.index(0.0), SIGMAS.index(0.1)]
    peak = int(np.argmax(curve))
    # Rise: the random network starts far below; overfit: 400 iterations end well below
    # the peak (measured: about +15 dB then -5 dB).
    assert curve[peak] > curve[0] + 8.0
    assert curve[-1] < curve[peak] - 2.0
    assert 5 < peak < 300


def test_extreme_settings_give_messages(built):
    _, update = built
    first = update(ratio=0.0, sigma=0.0, iteration=0)
    assert "Iteration 0" in first["message"] and "Nothing missing" in first["message"]
    sparse = update(ratio=0.9, sigma=0.2, iteration=399)
    assert "90% of the pixels" in sparse["message"]
    plain = update(ratio=0.25, sigma=0.1, iteration=100)
    assert "message" not in plain


def test_bad_settings_name_the_control(built):
    _, update = built
    with pytest.raises(ValueError, match="ratio must be one of"):
        update(ratio=0.3)
    with pytest.raises(ValueError, match="sigma must be one of"):
        update(sigma=-0.1)
    with pytest.raises(ValueError, match="iteration must be one of"):
        update(iteration=7)


def test_numpy_side_imports_without_torch():
    import subprocess
    import sys
    code = ("import sys, course_utils.widgets.nb06, course_utils.checks.nb06, "
            "course_utils.train.dip; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
