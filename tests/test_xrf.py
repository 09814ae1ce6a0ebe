"""Tests of course_utils.xrf: physics from xraylib, the datacube simulator and the four element-map methods."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import xrf


@pytest.fixture(scope="module")
def painting():
    return xrf.synthetic_painting(16, seed=0)


@pytest.fixture(scope="module")
def cube(painting):
    return xrf.simulate_datacube(painting["maps"], counts_per_pixel=50000, seed=1)


# -- physics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("element, line, energy", [
    ("Pb", "L3M5", 10.551), ("Pb", "L2M4", 12.614), ("Pb", "M5N7", 2.346),
    ("Zn", "KL3", 8.639), ("Cu", "KM3", 8.905), ("Hg", "L3M5", 9.989), ("Ca", "KL3", 3.692),
])
def test_line_energies_come_from_xraylib(element, line, energy):
    lines = {d["line"]: d for d in xrf.emission_lines(element)}
    assert lines[line]["energy"] == pytest.approx(energy, abs=0.005)
    assert lines[line]["cross_section"] > 0


def test_lines_are_excited_only_below_the_tube_energy():
    # Pb L3 edge is 13.04 keV: a 12 keV excitation gives no L3 lines (no Lα), only M lines
    # and the L lines of shells it can ionise
    names = {d["line"] for d in xrf.emission_lines("Pb", excitation=12.0)}
    assert "L3M5" not in names and "M5N7" in names
    assert "L3M5" in {d["line"] for d in xrf.emission_lines("Pb")}


def test_detector_resolution_at_mn_ka():
    assert xrf.fwhm(5.9) == pytest.approx(0.144, abs=0.002)
    assert xrf.fwhm(10.0) > xrf.fwhm(5.9) > xrf.fwhm(1.0)


def test_element_spectrum_holds_the_cross_sections():
    e = xrf.energy_axis()
    spec = xrf.element_spectrum("Fe", e, escape=False)
    total = sum(d["cross_section"] for d in xrf.emission_lines("Fe"))
    assert spec.sum() == pytest.approx(total, rel=1e-3)
    assert abs(e[np.argmax(spec)] - 6.40) <= 0.01


def test_background_has_rayleigh_and_compton_peaks():
    e = xrf.energy_axis()
    b = xrf.background_spectrum(e, parts=("rayleigh",))
    assert abs(e[np.argmax(b)] - xrf.TUBE_ENERGY) <= 0.01
    c = xrf.background_spectrum(e, parts=("compton",))
    assert 19.2 < e[np.argmax(c)] < 19.6                 # 90° Compton of 20.17 keV: 19.40


def test_pigment_composition_from_compound_parser():
    comp = xrf.pigment_composition("vermilion")
    assert comp["Hg"] == pytest.approx(200.59 / 232.66, rel=1e-3)
    assert comp["S"] == pytest.approx(32.06 / 232.66, rel=2e-3)
    assert set(xrf.pigment_composition("lead white")) == {"Pb"}   # C and O are dropped


def test_painting_has_overlaps_and_fractions_below_one(painting):
    maps, pig = painting["maps"], painting["pigments"]
    assert set(maps) == {"S", "Ca", "Fe", "Cu", "Zn", "Hg", "Pb"}
    assert np.all(sum(pig.values()) <= 1 + 1e-9)
    assert np.any((pig["vermilion"] > 0) & (pig["lead white"] > 0))   # Hg (and S) over Pb
    assert np.any((pig["zinc white"] > 0) & (pig["lead white"] > 0))  # a Zn retouching on Pb
    # thick copper green and vermilion with no zinc under them, a thin zinc white elsewhere
    assert not np.any((pig["malachite"] > 0) & (pig["zinc white"] > 0))
    assert not np.any((pig["vermilion"] > 0) & (pig["zinc white"] > 0))
    assert 0.005 < maps["Zn"].max() < 0.03 and maps["Cu"].max() > 0.4


def test_overlapping_lines_fool_roi_on_the_painting():
    # Cu Kβ (8.91 keV) and Hg Lℓ (8.72) fall in the Zn Kα window; Pb Mα (2.35) in S Kα's
    painting = xrf.synthetic_painting(64, seed=0)      # the notebook's painting
    truth, pig = painting["maps"], painting["pigments"]
    data, e = xrf.simulate_datacube(truth, counts_per_pixel=20000, seed=2)
    elements = tuple(truth)
    green = pig["malachite"] > 0.3
    red = pig["vermilion"] > 0.2
    zinc = truth["Zn"].mean(where=pig["zinc white"] > 0)
    lead_only = (pig["lead white"] > 0.3) & (pig["vermilion"] == 0)
    roi = xrf.element_maps(data, e, elements, "roi")
    assert roi["Zn"][green].mean() > 0.15 * zinc          # a zinc ghost of the copper green
    assert roi["Zn"][red].mean() > 0.5 * zinc             # and of the vermilion
    assert roi["S"][lead_only].mean() > 5 * truth["S"].max()   # sulfur where there is lead
    for method in ("nnls", "deconvolution"):
        fit = xrf.element_maps(data, e, elements, method)
        assert abs(fit["Zn"][green].mean()) < 0.1 * zinc, method
        assert abs(fit["Zn"][red].mean()) < 0.1 * zinc, method
        assert fit["S"][lead_only].mean() < 0.5 * truth["S"].max(), method


# -- simulator --------------------------------------------------------------------------------
def test_datacube_shape_counts_and_seed(painting, cube):
    data, e = cube
    assert data.shape == (16, 16, xrf.CHANNELS) and data.dtype == np.int32
    assert e.shape == (xrf.CHANNELS,) and np.all(np.diff(e) > 0)
    assert data.sum(-1).mean() == pytest.approx(50000, rel=0.01)
    again, _ = xrf.simulate_datacube(painting["maps"], counts_per_pixel=50000, seed=1)
    other, _ = xrf.simulate_datacube(painting["maps"], counts_per_pixel=50000, seed=2)
    assert np.array_equal(data, again) and not np.array_equal(data, other)


def test_counts_are_poisson():
    maps = {"Fe": np.full((32, 32), 0.5)}
    data, e, dwell = xrf.simulate_datacube(maps, counts_per_pixel=5000, seed=3,
                                           return_dwell=True)
    mean = xrf.expected_datacube(maps, e, dwell=dwell)[0, 0]
    k = int(np.argmax(mean))                               # Fe Kα channel
    samples = data[..., k].ravel().astype(float)
    assert samples.mean() == pytest.approx(mean[k], rel=0.05)
    assert samples.var() / samples.mean() == pytest.approx(1.0, abs=0.15)   # Poisson: var = mean


# -- methods ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["nnls", "deconvolution"])
def test_fitting_methods_recover_the_maps(painting, cube, method):
    data, e = cube
    maps = xrf.element_maps(data, e, tuple(painting["maps"]), method)
    q = xrf.map_quality(maps, painting["maps"])
    for el in ("Ca", "Fe", "Cu", "Zn", "Hg", "Pb"):
        assert q[el]["correlation"] > 0.99, (el, q[el])
        # zinc is a thin retouching (about 1 %): its relative error is the largest
        assert q[el]["relative_error"] < (0.15 if el == "Zn" else 0.08), (el, q[el])


def test_roi_is_fooled_by_an_overlapping_line():
    # copper only: Cu Kβ (8.91 keV) spills into the Zn Kα window (8.64 keV ± 1 FWHM)
    cu = np.zeros((8, 8))
    cu[:, 4:] = 0.6
    maps = {"Cu": cu, "Zn": np.zeros((8, 8)), "Fe": np.full((8, 8), 0.05)}
    data, e = xrf.simulate_datacube(maps, counts_per_pixel=100000, seed=4)
    roi = xrf.element_maps(data, e, ("Cu", "Zn"), "roi")
    fit = xrf.element_maps(data, e, ("Fe", "Cu", "Zn"), "nnls")
    ghost_roi = roi["Zn"][:, 4:].mean() - roi["Zn"][:, :4].mean()
    ghost_fit = fit["Zn"][:, 4:].mean() - fit["Zn"][:, :4].mean()
    assert ghost_roi > 0.002 and abs(ghost_fit) < 0.3 * ghost_roi


def test_fri_maps_follow_the_truth(painting, cube):
    data, e = cube
    maps, info = xrf.element_maps(data, e, tuple(painting["maps"]), "fri", return_info=True)
    q = xrf.map_quality(maps, painting["maps"])
    # the thin zinc (about 1 % of the mean spectrum's strongest line, between Cu Kβ and
    # Hg Lℓ) is below what FRI resolves on the mean spectrum; the other elements are found
    assert {"Ca", "Fe", "Cu", "Hg", "Pb"} <= set(info["found"])
    for el in ("Fe", "Cu", "Pb"):
        assert q[el]["correlation"] > 0.98, (el, q[el])


def test_annihilating_filter_finds_exponentials():
    u = np.exp(-2j * np.pi * np.array([0.11, 0.37, 0.52]))
    z = (np.array([1.0, 0.4, 2.0])[None] * u[None] ** np.arange(-6, 7)[:, None]).sum(1)
    roots = xrf.annihilating_filter(z, 3)
    assert np.allclose(np.sort(np.angle(roots)), np.sort(np.angle(u)), atol=1e-8)


def test_fri_locates_pulses_within_half_a_fwhm():
    rng = np.random.default_rng(5)
    n, sigma = 200, 5.0
    t0, a0 = np.array([40.0, 63.5, 120.2, 150.0]), np.array([50.0, 20.0, 80.0, 10.0])
    t = np.arange(n)[:, None]
    clean = (a0 * np.exp(-0.5 * ((t - t0) / sigma) ** 2)).sum(1)
    t_hat, a_hat = xrf.fri_pulses(clean, sigma, 4)
    np.testing.assert_allclose(t_hat, t0, atol=1e-6)
    np.testing.assert_allclose(a_hat, a0, rtol=1e-6)
    a0 = np.array([50.0, 20.0, 80.0, 30.0])        # the noisy case: no pulse at the noise level
    clean = (a0 * np.exp(-0.5 * ((t - t0) / sigma) ** 2)).sum(1)
    noisy = rng.poisson(clean + 1.0) - 1.0
    t_hat, a_hat = xrf.fri_pulses(noisy, sigma, noise_var=float(np.mean(clean + 1)))
    half = 0.5 * 2.3548 * sigma
    assert len(t_hat) >= 4
    for tk in t0:
        assert np.min(np.abs(t_hat - tk)) <= half


def test_find_pulses_on_the_mean_spectrum(painting, cube):
    data, e = cube
    mean = data.reshape(-1, e.size).mean(0)
    peaks, _ = xrf.remove_background(mean, e)
    pulses = xrf.find_pulses(peaks, e, noise_var=mean.mean() / 256)
    found = np.array([p["energy"] for p in pulses])
    for energy in (8.64, 8.905, 8.04, 10.55, 12.61, 6.40):     # Zn Kα, Cu Kβ, Cu Kα, Pb, Fe
        assert np.min(np.abs(found - energy)) <= 0.5 * xrf.fwhm(energy), energy


def test_remove_background_keeps_the_continuum():
    e = xrf.energy_axis()
    continuum = 5 + 2 * np.exp(-((e - 10) / 6) ** 2)
    peaks = 100 * np.exp(-0.5 * ((e - 8.0) / 0.07) ** 2)
    _, bg = xrf.remove_background(continuum + peaks, e)
    assert np.max(np.abs(bg - continuum)[(e > 2) & (e < 18)]) < 0.5
    assert bg[np.argmin(np.abs(e - 8.0))] < 10


# -- bad input --------------------------------------------------------------------------------
def test_bad_input_names_the_argument(cube):
    data, e = cube
    with pytest.raises(ValueError, match="element_maps must all have the same shape"):
        xrf.simulate_datacube({"Fe": np.ones((4, 4)), "Cu": np.ones((4, 5))}, seed=0)
    with pytest.raises(ValueError, match=r"element_maps\['Fe'\] must be >= 0"):
        xrf.simulate_datacube({"Fe": -np.ones((4, 4))}, seed=0)
    with pytest.raises(ValueError, match="xraylib does not know the element 'Xx'"):
        xrf.simulate_datacube({"Xx": np.ones((4, 4))}, seed=0)
    with pytest.raises(TypeError, match="element_maps must be a non-empty dict"):
        xrf.simulate_datacube(np.ones((4, 4)), seed=0)
    with pytest.raises(ValueError, match="counts_per_pixel must be > 0"):
        xrf.simulate_datacube({"Fe": np.ones((4, 4))}, counts_per_pixel=0, seed=0)
    with pytest.raises(ValueError, match="cube must hold counts >= 0"):
        xrf.element_maps(-np.ones((2, 2, e.size)), e, ("Fe",), "roi")
    with pytest.raises(ValueError, match="energies must be strictly increasing"):
        xrf.element_maps(data, e[::-1], ("Fe",), "roi")
    with pytest.raises(ValueError, match="xraylib does not know the element 'Qq'"):
        xrf.element_maps(data, e, ("Fe", "Qq"), "roi")
    with pytest.raises(ValueError, match="cube's last axis"):
        xrf.element_maps(data[..., :100], e, ("Fe",), "roi")
    with pytest.raises(ValueError, match="Unknown method"):
        xrf.element_maps(data, e, ("Fe",), "magic")
    with pytest.raises(ValueError, match="cube must be 3-D"):
        xrf.element_maps(data[0], e, ("Fe",), "roi")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        xrf.fri_pulses(np.ones(32), 0.0)
    with pytest.raises(ValueError, match="z needs at least"):
        xrf.annihilating_filter(np.ones(4), 3)


# -- helpers of the notebook ------------------------------------------------------------------
def test_roi_sum_counts_the_window(cube):
    data, e = cube
    window = np.abs(e - 8.64) <= xrf.fwhm(8.64)
    np.testing.assert_array_equal(xrf.roi_sum(data, e, 8.64), data[..., window].sum(-1))
    narrow = xrf.roi_sum(data, e, 8.64, half_width=0.05)
    assert np.all(narrow <= xrf.roi_sum(data, e, 8.64))
    with pytest.raises(ValueError, match="half_width must be > 0"):
        xrf.roi_sum(data, e, 8.64, half_width=0.0)


def test_fit_spectrum_recovers_a_pixel(painting):
    data, e, dwell = xrf.simulate_datacube(painting["maps"], counts_per_pixel=200000, seed=3,
                                           return_dwell=True)
    fractions, model = xrf.fit_spectrum(data[3, 4], e, tuple(painting["maps"]), dwell=dwell)
    for el in ("Fe", "Cu", "Hg", "Pb"):
        assert fractions[el] == pytest.approx(painting["maps"][el][3, 4], abs=0.01), el
    assert model.shape == e.shape and abs(model.sum() / data[3, 4].sum() - 1) < 0.02
    with pytest.raises(ValueError, match="spectrum must hold counts >= 0"):
        xrf.fit_spectrum(-np.ones(e.size), e, ("Fe",), dwell=1.0)
    with pytest.raises(ValueError, match="dwell must be > 0"):
        xrf.fit_spectrum(data[0, 0], e, ("Fe",), dwell=0.0)


def test_line_labels_use_siegbahn_names():
    labels = {xrf.line_label(g) for g in xrf.line_groups(["Pb", "Cu", "S"])}
    assert {"Pb Lα1", "Pb Mα", "Cu Kα", "Cu Kβ", "S Kα"} <= labels
    with pytest.raises(TypeError, match="group must be a dict"):
        xrf.line_label("Pb")


def test_deconvolution_keeps_only_the_elements_present():
    # the palette unknown: 18 candidates; detection keeps the painting's seven (on the
    # notebook's 64×64 painting; on smaller ones Pb Lα and Hg Lβ can pass for As Kα and Kβ)
    painting = xrf.synthetic_painting(64, seed=0)
    truth = painting["maps"]
    data, e = xrf.simulate_datacube(truth, counts_per_pixel=20000, seed=5)
    maps, info = xrf.element_maps(data, e, xrf.CANDIDATE_ELEMENTS, "deconvolution",
                                  return_info=True)
    assert set(info["found"]) == set(truth)
    assert all(np.all(maps[el] == 0) for el in xrf.CANDIDATE_ELEMENTS if el not in truth)
    q = xrf.map_quality(maps, truth)
    assert all(q[el]["correlation"] > 0.99 for el in ("Ca", "Fe", "Cu", "Zn", "Hg", "Pb"))
