"""Tests of the notebook 12 widget: an MA-XRF pixel's spectrum with its fit, and the element maps."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import widgets, xrf
from course_utils.widgets import nb12

NAME = "nb12_xrf"


@pytest.fixture(scope="module")
def built():
    return widgets.WIDGETS[NAME]()


def test_registered_and_exported():
    assert widgets.WIDGET_KINDS[NAME] == "iterative"
    assert "xrf_widget" in widgets.__all__
    assert nb12.COUNTS_LEVELS[0] == 10 and nb12.COUNTS_LEVELS[-1] == 100000


def test_update_numbers_come_from_the_library(built):
    widget, update = built
    numbers = update(row=5, col=20, element="Pb", counts=10000)
    truth = nb12.painting()["maps"]
    assert numbers["truth"] == pytest.approx(truth["Pb"][5, 20], abs=1e-4)
    cube, e = xrf.simulate_datacube(truth, counts_per_pixel=10000, seed=nb12.SEED)
    assert numbers["counts_at_pixel"] == int(cube[5, 20].sum())
    maps, info = xrf.element_maps(cube, e, xrf.ELEMENTS, "deconvolution", return_info=True)
    assert numbers["deconvolution_pixel"] == pytest.approx(maps["Pb"][5, 20], abs=1e-4)
    q = xrf.map_quality(maps, truth)["Pb"]["correlation"]
    assert numbers["corr_deconvolution"] == pytest.approx(q, abs=1e-4)
    fractions, model = xrf.fit_spectrum(cube[5, 20], e, xrf.ELEMENTS, dwell=info["dwell"])
    assert numbers["nnls_pixel"] == pytest.approx(fractions["Pb"], abs=1e-4)
    np.testing.assert_allclose(widget.demo.line_fit.get_ydata(), model[widget.demo.shown],
                               rtol=1e-10)
    np.testing.assert_allclose(widget.demo.images[0].get_array(), truth["Pb"])
    # a lead pixel's fit is close to its truth at 10000 counts
    assert numbers["nnls_pixel"] == pytest.approx(numbers["truth"], rel=0.1)
    # every number follows the chosen element: copper at the greenest pixel
    pig = nb12.painting()["pigments"]
    r, c = (int(i) for i in np.unravel_index(np.argmax(pig["malachite"]), pig["malachite"].shape))
    cu = update(row=r, col=c, element="Cu", counts=10000)
    fractions, _ = xrf.fit_spectrum(cube[r, c], e, xrf.ELEMENTS, dwell=info["dwell"])
    assert cu["nnls_pixel"] == pytest.approx(fractions["Cu"], abs=1e-4)
    assert cu["truth"] == pytest.approx(truth["Cu"][r, c], abs=1e-4) and cu["truth"] > 0.3
    assert cu["deconvolution_pixel"] == pytest.approx(maps["Cu"][r, c], abs=1e-4)


def test_the_roi_ghost_of_zinc_and_the_fit(built):
    _, update = built
    for counts in (1000, 100000):
        n = update(element="Zn", counts=counts)
        assert n["corr_deconvolution"] > 0.9 > n["corr_roi"]
    # more counts: the ROI map stays biased, the deconvolution improves
    low, high = update(element="Zn", counts=1000), update(element="Zn", counts=100000)
    assert high["corr_roi"] < 0.85 and high["corr_deconvolution"] > low["corr_deconvolution"]
    # on the copper green, the ROI reads zinc where there is none; the fit does not
    pig = nb12.painting()["pigments"]
    green = pig["malachite"] > 0.5
    data = nb12.level(100000)
    assert data["roi"]["Zn"][green].mean() > 2 * abs(data["deconvolution"]["Zn"][green].mean())
    r, c = np.unravel_index(np.argmax(pig["malachite"]), green.shape)
    n = update(row=int(r), col=int(c), element="Zn", counts=100000)
    assert n["truth"] == 0 and n["roi_pixel"] > 0.002 and abs(n["nnls_pixel"]) < 0.001


def test_extreme_settings_give_messages(built):
    _, update = built
    assert "no count" in update(counts=10)["message"]
    assert "other elements" in update(counts=100000, element="S")["message"]
    assert "message" not in update(counts=1000, element="Fe")
    assert "message" not in update(counts=100000, element="Fe")
    for row in (0, nb12.SIZE - 1):
        for counts in (10, 100000):
            out = update(row=row, col=row, counts=counts, element="Ca")
            assert "counts_at_pixel" in out


def test_bad_settings_name_the_control(built):
    _, update = built
    with pytest.raises(ValueError, match="counts must be one of"):
        update(counts=50)
    with pytest.raises(ValueError, match="row must be in"):
        update(row=nb12.SIZE)
    with pytest.raises(ValueError, match="element must be one of"):
        update(element="Au")
    with pytest.raises(ValueError, match="counts must be one of"):
        nb12.level(20)
    with pytest.raises(ValueError, match="col must be <= 31"):
        nb12.pixel_fit(1000, 0, 40)
