"""Macro X-ray fluorescence: emission lines from xraylib, a datacube simulator and four ways to map elements."""
from __future__ import annotations

import functools
import math
import time

import numpy as np

from ._validate import as_array, check_choice, check_int, check_scalar

__all__ = [
    "TUBE_ENERGY", "CHANNELS", "GAIN", "FWHM_NOISE", "FANO", "SI_ESCAPE", "ESCAPE_FRACTION",
    "DEFAULT_COUNTS", "ELEMENTS", "CANDIDATE_ELEMENTS", "METHODS", "PIGMENTS", "energy_axis", "fwhm",
    "emission_lines", "line_groups", "element_spectrum", "background_spectrum",
    "pigment_composition", "synthetic_painting", "expected_datacube", "simulate_datacube",
    "scatter_window", "estimate_dwell", "remove_background", "annihilating_filter",
    "fri_pulses", "find_pulses", "identify_elements", "element_maps", "map_quality",
    "roi_sum", "fit_spectrum", "line_label",
]

#: Excitation energy in keV: the Rh Kα line of the tube, taken as monochromatic. It lies
#: above the Pb L3 edge (13.04 keV), so every L line of lead is excited.
TUBE_ENERGY: float = 20.17
#: Channels of the simulated detector and their width (keV): 0 to 20.47 keV.
CHANNELS: int = 2048
GAIN: float = 0.01
#: Electronic noise (FWHM, keV) and Fano factor of the silicon drift detector.
FWHM_NOISE: float = 0.08
FANO: float = 0.114
#: Energy lost by a Si Kα photon leaving the detector (escape peaks at E − 1.74 keV), and the
#: fraction of the photons above the Si K edge (1.84 keV) that escape (a constant here).
SI_ESCAPE: float = 1.74
ESCAPE_FRACTION: float = 0.01
#: Mean total counts in the spectrum of one pixel, by default.
DEFAULT_COUNTS: float = 300000.0
#: The elements of the course's synthetic painting, by atomic number.
ELEMENTS: tuple[str, ...] = ("S", "Ca", "Fe", "Cu", "Zn", "Hg", "Pb")
#: Elements of historical pigments that a scan is tested for when its palette is unknown
#: (lead, mercury, iron, copper, zinc, calcium and sulfur of the course's painting; potassium,
#: titanium, chromium, manganese, cobalt, nickel, arsenic, strontium, tin, antimony, barium).
CANDIDATE_ELEMENTS: tuple[str, ...] = ("S", "K", "Ca", "Ti", "Cr", "Mn", "Fe", "Co", "Ni",
                                       "Cu", "Zn", "As", "Sr", "Sn", "Sb", "Ba", "Hg", "Pb")
#: Ways of mapping elements (:func:`element_maps`).
METHODS: tuple[str, ...] = ("roi", "nnls", "fri", "deconvolution")

#: Pigments of the painting: name -> chemical formula for xraylib's CompoundParser.
PIGMENTS: dict[str, str] = {
    "lead white": "PbCO3",          # cerussite, the main part of lead white
    "vermilion": "HgS",
    "red ochre": "Fe2O3",
    "azurite": "Cu3C2O8H2",         # Cu3(CO3)2(OH)2
    "malachite": "Cu2CO5H2",        # Cu2CO3(OH)2, a copper green
    "zinc white": "ZnO",
    "chalk": "CaCO3",
}

# Lines tried for each element (xraylib macro names, IUPAC): K, L and M series.
_LINE_NAMES = ("KL2", "KL3", "KM2", "KM3", "KN2", "KN3",
               "L3M5", "L3M4", "L3M1", "L3N5", "L3N1", "L3O4", "L2M4", "L2M1", "L2N4", "L2O4",
               "L1M3", "L1M2", "L1N3", "L1N2",
               "M5N7", "M5N6", "M4N6", "M3N5")
_LOW_CUTOFF = 1.0          # keV: the detector's window absorbs everything below
_MIN_RELATIVE = 0.005      # lines weaker than this fraction of the element's strongest dropped
_COMPTON_ANGLE = np.pi / 2
_COMPTON_BROADENING = 0.12  # keV, standard deviation added to the Compton peak (Doppler)
_SCATTER_AREA = {"rayleigh": 0.15, "compton": 0.45, "continuum": 1.2}


def _xraylib():
    try:
        import xraylib
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ImportError("course_utils.xrf needs xraylib: pip install xraylib") from exc
    return xraylib


# -- physics ---------------------------------------------------------------------------------
def energy_axis(channels: int = CHANNELS, gain: float = GAIN, offset: float = 0.0) -> np.ndarray:
    """Energies (keV) of the channels: ``offset + gain · k`` for ``k = 0 … channels − 1``."""
    channels = check_int(channels, "channels", low=8)
    gain = check_scalar(gain, "gain", low=0.0, low_inclusive=False)
    offset = check_scalar(offset, "offset")
    return offset + gain * np.arange(channels, dtype=np.float64)


def fwhm(energy, noise: float = FWHM_NOISE, fano: float = FANO):
    """Detector resolution (FWHM, keV) at ``energy`` (keV):
    ``sqrt(noise² + 2.3548² · 3.85e-3 · fano · E)`` (3.85 eV per electron-hole pair in Si)."""
    e = as_array(energy, "energy", allow_complex=False, dtype=np.float64)
    if np.any(e < 0):
        raise ValueError("energy must be >= 0 keV")
    noise = check_scalar(noise, "noise", low=0.0)
    fano = check_scalar(fano, "fano", low=0.0)
    out = np.sqrt(noise ** 2 + 2.3548 ** 2 * 3.85e-3 * fano * e)
    return float(out) if np.ndim(energy) == 0 else out


def _fwhm(energy: float) -> float:
    """:func:`fwhm` of one energy with the default detector, without input checks (inner
    loops)."""
    return math.sqrt(FWHM_NOISE ** 2 + 2.3548 ** 2 * 3.85e-3 * FANO * energy)


def _check_element(element, name="elements") -> int:
    if not isinstance(element, str):
        raise TypeError(f"{name} must hold element symbols (str), got "
                        f"{type(element).__name__}")
    try:
        z = _xraylib().SymbolToAtomicNumber(element.strip())
    except ValueError:
        z = 0
    if z <= 0:
        raise ValueError(f"{name}: xraylib does not know the element {element!r}")
    return int(z)


def _check_elements(elements, name="elements") -> tuple[str, ...]:
    if isinstance(elements, str):
        elements = (elements,)
    try:
        elements = tuple(elements)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of element symbols, got "
                        f"{type(elements).__name__}") from None
    if not elements:
        raise ValueError(f"{name} must name at least one element")
    for el in elements:
        _check_element(el, name)
    out = tuple(el.strip() for el in elements)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat an element, got {out}")
    return out


@functools.lru_cache(maxsize=None)
def _lines(element: str, excitation: float) -> tuple:
    xr = _xraylib()
    z = _check_element(element, "element")
    out = []
    for name in _LINE_NAMES:
        macro = getattr(xr, f"{name}_LINE", None)
        if macro is None:
            continue
        try:
            e = xr.LineEnergy(z, macro)
            cs = xr.CS_FluorLine_Kissel_Cascade(z, macro, excitation)
        except ValueError:
            continue
        if cs > 0 and _LOW_CUTOFF <= e < excitation:
            out.append((name, float(e), float(cs)))
    if not out:
        return ()
    strongest = max(cs for _, _, cs in out)
    return tuple(sorted((line for line in out if line[2] >= _MIN_RELATIVE * strongest),
                        key=lambda line: line[1]))


def emission_lines(element: str, excitation: float = TUBE_ENERGY) -> list[dict]:
    """The fluorescence lines of ``element`` excited at ``excitation`` keV, from xraylib.

    Returns
    -------
    list of dict
        One dict per line, by increasing energy: ``"line"`` (IUPAC name, e.g. ``"L3M5"``
        for Lα1), ``"energy"`` (keV, ``LineEnergy``) and ``"cross_section"`` (cm²/g,
        ``CS_FluorLine_Kissel_Cascade``: photons of that line per unit mass of the element
        and unit incident fluence). Lines below 1 keV, above the excitation energy, or
        weaker than 0.5 % of the element's strongest line are left out.
    """
    excitation = check_scalar(excitation, "excitation", low=1.0)
    return [{"line": n, "energy": e, "cross_section": cs}
            for n, e, cs in _lines(element, excitation)]


def line_groups(elements, excitation: float = TUBE_ENERGY, *, merge: float = 0.5,
                min_relative: float = 0.0) -> list[dict]:
    """Lines of ``elements`` that a detector sees as one peak, merged.

    Lines of one element closer than ``merge`` FWHM (Kα1 and Kα2, for instance) become one
    group at their intensity-weighted energy. ``min_relative`` drops groups weaker than that
    fraction of the element's strongest group.

    Returns
    -------
    list of dict
        ``"element"``, ``"energy"`` (keV), ``"cross_section"`` (sum, cm²/g), ``"lines"``
        (names), sorted by energy.
    """
    elements = _check_elements(elements)
    merge = check_scalar(merge, "merge", low=0.0)
    min_relative = check_scalar(min_relative, "min_relative", low=0.0, high=1.0)
    excitation = check_scalar(excitation, "excitation", low=1.0)
    return [dict(g, lines=list(g["lines"]))
            for g in _line_groups(elements, excitation, merge, min_relative)]


@functools.lru_cache(maxsize=256)
def _line_groups(elements, excitation, merge, min_relative) -> tuple:
    out = []
    for el in elements:
        groups = []
        for name, e, cs in _lines(el, excitation):
            if groups and e - groups[-1]["energy"] < merge * _fwhm(e):
                g = groups[-1]
                total = g["cross_section"] + cs
                g["energy"] = (g["energy"] * g["cross_section"] + e * cs) / total
                g["cross_section"] = total
                g["lines"].append(name)
            else:
                groups.append({"element": el, "energy": e, "cross_section": cs,
                               "lines": [name]})
        if groups:
            top = max(g["cross_section"] for g in groups)
            out += [g for g in groups if g["cross_section"] >= min_relative * top]
    return tuple(sorted(out, key=lambda g: g["energy"]))


def _check_energies(energies, name="energies") -> np.ndarray:
    e = as_array(energies, name, ndim=1, allow_complex=False, dtype=np.float64)
    if e.size < 8:
        raise ValueError(f"{name} must hold at least 8 channels, got {e.size}")
    if np.any(np.diff(e) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    if e[0] < 0:
        raise ValueError(f"{name} must be >= 0 keV, got {e[0]:.3g}")
    return e


def _edges(e: np.ndarray) -> np.ndarray:
    mid = 0.5 * (e[1:] + e[:-1])
    return np.concatenate([[e[0] - (mid[0] - e[0])], mid, [e[-1] + (e[-1] - mid[-1])]])


def _gauss_bins(edges: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Probability of each channel (bin edges ``edges``) under N(centre, sigma²)."""
    from scipy.special import ndtr
    return np.diff(ndtr((edges - centre) / sigma))


def _peak(edges, energy, sigma_extra=0.0, escape=True):
    sigma = fwhm(energy) / 2.3548
    out = _gauss_bins(edges, energy, float(np.hypot(sigma, sigma_extra)))
    if escape and energy > 1.84:
        e_esc = energy - SI_ESCAPE
        out = (1 - ESCAPE_FRACTION) * out + ESCAPE_FRACTION * _gauss_bins(
            edges, e_esc, fwhm(e_esc) / 2.3548)
    return out


def element_spectrum(element: str, energies, *, excitation: float = TUBE_ENERGY,
                     escape: bool = True) -> np.ndarray:
    """Expected counts per channel from a unit mass fraction of ``element`` at unit dwell:
    every line of :func:`emission_lines`, weighted by its cross-section (cm²/g) and spread
    by the detector's Gaussian response of FWHM :func:`fwhm` (E), plus its Si escape peak."""
    e = _check_energies(energies)
    edges = _edges(e)
    out = np.zeros_like(e)
    for line in emission_lines(element, excitation):
        out += line["cross_section"] * _peak(edges, line["energy"], escape=escape)
    return out


def background_spectrum(energies, *, excitation: float = TUBE_ENERGY,
                        parts=("rayleigh", "compton", "continuum")) -> np.ndarray:
    """The scatter background at unit dwell: the Rayleigh (elastic) peak of the tube line at
    ``excitation``, its Compton peak at 90° (``ComptonEnergy``, Doppler-broadened) and a
    smooth continuum (the tube's scattered bremsstrahlung), summed over ``parts``."""
    e = _check_energies(energies)
    excitation = check_scalar(excitation, "excitation", low=1.0)
    edges = _edges(e)
    out = np.zeros_like(e)
    for part in parts:
        check_choice(part, "parts", tuple(_SCATTER_AREA))
        area = _SCATTER_AREA[part]
        if part == "rayleigh":
            out += area * _peak(edges, excitation, escape=False)
        elif part == "compton":
            ec = _xraylib().ComptonEnergy(excitation, _COMPTON_ANGLE)
            out += area * _peak(edges, ec, sigma_extra=_COMPTON_BROADENING, escape=False)
        else:
            x = np.clip(e / excitation, 0.0, 1.0)
            shape = x ** 1.5 * (1 - x) ** 0.8 * (1 - np.exp(-e / 2.0))
            total = shape.sum()
            if total > 0:
                out += area * shape / total
    return out


@functools.lru_cache(maxsize=None)
def pigment_composition(pigment: str) -> dict[str, float]:
    """Mass fractions of the elements of ``pigment`` (a name of :data:`PIGMENTS` or a
    formula), from xraylib's ``CompoundParser``; elements lighter than S are dropped (their
    lines are below the detector's window)."""
    if not isinstance(pigment, str):
        raise TypeError(f"pigment must be a string, got {type(pigment).__name__}")
    formula = PIGMENTS.get(pigment, pigment)
    xr = _xraylib()
    try:
        parsed = xr.CompoundParser(formula)
    except ValueError:
        raise ValueError(f"pigment: neither a pigment of {tuple(PIGMENTS)} nor a formula "
                         f"xraylib parses: {pigment!r}") from None
    return {xr.AtomicNumberToSymbol(z): float(w)
            for z, w in zip(parsed["Elements"], parsed["massFractions"]) if z >= 16}


def synthetic_painting(size: int = 64, *, seed: int = 0) -> dict:
    """A small painting: pigments laid out on the segments of the bundled ``astronaut``
    image, with a chalk ground under everything.

    The ``size × size`` image is split into six colour segments (k-means, seeded), ranked by
    brightness. The five brightest are painted, with an amount that varies smoothly like
    brush strokes: lead white, vermilion, red ochre, malachite (a copper green) and a flesh
    tone (lead white with a little red ochre); the darkest is bare chalk ground. Pigments lie
    under and over one another where their lines overlap:

    * vermilion (HgS) is painted over a lead-white underlayer in the left half of its
      segment: S Kα (2.31 keV) lies under Pb Mα (2.35) and beside Hg Mα (2.20), so the S
      window of a region-of-interest sum sees the lead;
    * a thin zinc-white retouching (about 1 % Zn) covers the upper half of the lead-white
      segment, while the malachite and vermilion segments are thick: Cu Kβ (8.91 keV) and
      Hg Lℓ (8.72) spill into the Zn Kα window (8.64 ± 1 FWHM), so an ROI map of zinc shows
      the copper green and the vermilion where there is no zinc at all.

    The chalk ground shows fully in the darkest segment and is seen through the paint
    elsewhere.

    Returns
    -------
    dict
        ``"maps"``: element -> ndarray (size, size) of mass fractions (thin-layer
        approximation: no absorption between layers); ``"pigments"``: pigment -> ndarray of
        its fraction; ``"segments"``: ndarray of int labels; ``"rgb"``: the source image.
    """
    from .data import load_image

    size = check_int(size, "size", low=4, high=512)
    seed = check_int(seed, "seed", low=0)
    rgb = load_image("astronaut", size, color=True)
    labels = _kmeans_labels(rgb.reshape(-1, 3), 6, seed).reshape(size, size)
    rng = np.random.default_rng(seed)

    def strokes(scale):
        from scipy.ndimage import gaussian_filter
        field = gaussian_filter(rng.standard_normal((size, size)), max(size / 16, 1.0),
                                mode="wrap")
        field /= field.std() + 1e-12
        return np.clip(1.0 + scale * field, 0.3, 1.7)

    # segments sorted by brightness: the brightest gets lead white, and so on
    bright = [float(rgb.reshape(-1, 3)[labels.ravel() == k].mean()) if np.any(labels == k)
              else 0.0 for k in range(6)]
    rank = np.argsort(bright)[::-1]
    seg = {name: labels == k for name, k in zip(
        ["lead white", "vermilion", "red ochre", "malachite", "flesh", "ground"], rank)}
    frac = {p: np.zeros((size, size)) for p in PIGMENTS}
    for pigment, amount in (("lead white", 0.6), ("vermilion", 0.4), ("red ochre", 0.6)):
        frac[pigment] += amount * seg[pigment] * strokes(0.35)
    frac["malachite"] += 0.8 * seg["malachite"] * strokes(0.3)
    frac["lead white"] += 0.45 * seg["flesh"] * strokes(0.3)
    frac["red ochre"] += 0.12 * seg["flesh"] * strokes(0.3)
    rows = np.arange(size)[:, None] * np.ones((1, size))
    cols = np.arange(size)[None, :] * np.ones((size, 1))
    frac["lead white"] += 0.5 * (seg["vermilion"] & (cols < size / 2)) * strokes(0.3)
    frac["zinc white"] += 0.015 * (seg["lead white"] & (rows < size / 2)) * strokes(0.3)
    frac["chalk"] = np.where(seg["ground"], 0.8, 0.2) * strokes(0.25)
    total = sum(frac.values())
    over = np.maximum(total, 1.0)             # fractions of a pixel add up to at most 1
    frac = {p: f / over for p, f in frac.items()}
    maps: dict[str, np.ndarray] = {}
    for pigment, f in frac.items():
        for el, w in pigment_composition(pigment).items():
            maps[el] = maps.get(el, 0.0) + w * f
    maps = {el: maps[el] for el in sorted(maps, key=lambda s: _check_element(s))}
    return {"maps": maps, "pigments": frac, "segments": labels, "rgb": rgb}


def _kmeans_labels(points: np.ndarray, k: int, seed: int, iters: int = 30) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = points[rng.choice(len(points), k, replace=False)]
    for _ in range(iters):
        d = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        labels = d.argmin(1)
        for j in range(k):
            if np.any(labels == j):
                centres[j] = points[labels == j].mean(0)
    return labels


def _check_maps(element_maps) -> tuple[tuple[str, ...], np.ndarray]:
    if not isinstance(element_maps, dict) or not element_maps:
        raise TypeError("element_maps must be a non-empty dict element symbol -> (M, N) "
                        f"array of mass fractions, got {type(element_maps).__name__}")
    names = _check_elements(tuple(element_maps), "element_maps")
    arrays = []
    shape = None
    for el in element_maps:
        a = as_array(element_maps[el], f"element_maps[{el!r}]", ndim=2, allow_complex=False,
                     dtype=np.float64)
        if shape is None:
            shape = a.shape
        elif a.shape != shape:
            raise ValueError(f"element_maps must all have the same shape: {el!r} has "
                             f"{a.shape}, the first has {shape}")
        if np.any(a < 0):
            raise ValueError(f"element_maps[{el!r}] must be >= 0 (mass fractions)")
        arrays.append(a)
    if 0 in shape:
        raise ValueError("element_maps must not be empty")
    return names, np.stack(arrays)


def expected_datacube(element_maps, energies=None, *, excitation: float = TUBE_ENERGY,
                      dwell: float = 1.0, escape: bool = True) -> np.ndarray:
    """Mean counts of every pixel and channel at ``dwell`` (no noise): ``dwell · (Σ_el w_el
    · element_spectrum(el) + background_spectrum)``, shape (M, N, channels)."""
    names, w = _check_maps(element_maps)
    e = energy_axis() if energies is None else _check_energies(energies)
    dwell = check_scalar(dwell, "dwell", low=0.0)
    lib = np.stack([element_spectrum(el, e, excitation=excitation, escape=escape)
                    for el in names])
    bg = background_spectrum(e, excitation=excitation)
    return dwell * (np.tensordot(w, lib, axes=(0, 0)) + bg)


def simulate_datacube(element_maps, *, counts_per_pixel: float = DEFAULT_COUNTS, seed: int = 0,
                      energies=None, excitation: float = TUBE_ENERGY, escape: bool = True,
                      return_dwell: bool = False):
    """Simulate an MA-XRF datacube: fluorescence of every element, detector response,
    scatter background, Poisson counts.

    Parameters
    ----------
    element_maps : dict of str -> ndarray of shape (M, N)
        Mass fractions of each element (symbols xraylib knows), all of one shape.
    counts_per_pixel : float
        Mean total counts of a pixel's spectrum (sets the dwell time); > 0.
    seed : int
        Seed of the Poisson noise.
    energies : ndarray, optional
        Channel energies in keV, strictly increasing (default :func:`energy_axis`: 2048
        channels of 10 eV).
    excitation : float
        Tube line in keV (default Rh Kα, 20.17).
    escape : bool
        Add Si escape peaks.
    return_dwell : bool
        Also return the dwell (counts per unit of the model).

    Returns
    -------
    cube : ndarray of shape (M, N, channels), int32
        Photon counts.
    energies : ndarray of shape (channels,)
        Channel energies (keV).

    Notes
    -----
    Thin-layer model: counts are linear in the mass fractions (no absorption of a layer's
    fluorescence by the layers above it). The mean spectrum of pixel p is
    ``d · (Σ_el w_el[p] · s_el(E) + b(E))`` with ``s_el`` from :func:`element_spectrum` and
    ``b`` from :func:`background_spectrum`; the dwell ``d`` makes the mean total over pixels
    equal ``counts_per_pixel``.
    """
    counts_per_pixel = check_scalar(counts_per_pixel, "counts_per_pixel", low=0.0,
                                    low_inclusive=False)
    seed = check_int(seed, "seed", low=0)
    e = energy_axis() if energies is None else _check_energies(energies)
    mean = expected_datacube(element_maps, e, excitation=excitation, escape=escape)
    dwell = counts_per_pixel / float(mean.sum(-1).mean())
    mean *= dwell
    if mean.max() > 2e9:
        raise ValueError("counts_per_pixel is too large for int32 counts")
    cube = np.random.default_rng(seed).poisson(mean).astype(np.int32)
    return (cube, e, dwell) if return_dwell else (cube, e)


# -- helpers of the methods ---------------------------------------------------------------------
def _check_cube(cube, energies) -> tuple[np.ndarray, np.ndarray]:
    e = _check_energies(energies)
    c = as_array(cube, "cube", ndim=3, allow_complex=False)
    if c.shape[-1] != e.size:
        raise ValueError(f"cube's last axis ({c.shape[-1]} channels) must match energies "
                         f"({e.size})")
    if 0 in c.shape:
        raise ValueError("cube must not be empty")
    if c.min() < 0:
        raise ValueError("cube must hold counts >= 0")
    return c, e


def scatter_window(energies, excitation: float = TUBE_ENERGY) -> np.ndarray:
    """Boolean mask of the channels of the Compton and Rayleigh peaks (± 3 σ)."""
    e = _check_energies(energies)
    ec = _xraylib().ComptonEnergy(excitation, _COMPTON_ANGLE)
    lo = ec - 3 * np.hypot(fwhm(ec) / 2.3548, _COMPTON_BROADENING)
    hi = excitation + 3 * fwhm(excitation) / 2.3548
    return (e >= lo) & (e <= hi)


def estimate_dwell(mean_spectrum, energies, excitation: float = TUBE_ENERGY) -> float:
    """The dwell from the scatter peaks of the mean spectrum (Compton normalisation): their
    counts divided by those of :func:`background_spectrum` in the same channels."""
    e = _check_energies(energies)
    s = as_array(mean_spectrum, "mean_spectrum", shape=e.shape, allow_complex=False,
                 dtype=np.float64)
    window = scatter_window(e, excitation)
    if not window.any():
        raise ValueError("energies do not reach the scatter peaks of the tube line; "
                         "cannot calibrate")
    model = background_spectrum(e, excitation=excitation)[window].sum()
    return float(max(s[window].sum(), 1e-12) / model)


def remove_background(spectrum, energies=None, *, num_iters: int = 40,
                      width: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Background of a spectrum by iterative convolution: smooth with a Gaussian of
    ``width`` FWHM (at each energy) and keep the smaller of the spectrum and its smoothed
    version, ``num_iters`` times; peaks are clipped, the slow continuum stays.

    Returns ``(spectrum − background, background)``.
    """
    s = as_array(spectrum, "spectrum", ndim=1, allow_complex=False, dtype=np.float64)
    num_iters = check_int(num_iters, "num_iters", low=0)
    width = check_scalar(width, "width", low=0.0, low_inclusive=False)
    e = energy_axis(s.size) if energies is None else _check_energies(energies)
    if e.size != s.size:
        raise ValueError("spectrum and energies must have the same length")
    step = float(np.median(np.diff(e)))
    sig = width * fwhm(np.clip(e, 0.5, None)) / 2.3548 / step      # in channels
    # one kernel width (that of the middle of the range) keeps this a plain convolution,
    # done by FFT with the ends extended by their values
    sigma_ch = float(np.median(sig))
    radius = int(4.0 * sigma_ch + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_ch) ** 2)
    taps /= taps.sum()
    from scipy import fft as sfft
    n = s.size
    size = sfft.next_fast_len(n + 2 * radius, real=True)   # no wrap-around reaches the output
    kernel = np.zeros(size)
    kernel[:radius + 1] = taps[radius:]
    kernel[size - radius:] = taps[:radius]
    kernel_f = sfft.rfft(kernel)
    b = s.copy()
    padded = np.zeros(size)
    for _ in range(num_iters):
        padded[:radius] = b[0]
        padded[radius:radius + n] = b
        padded[radius + n:radius + n + radius] = b[-1]
        smooth = sfft.irfft(sfft.rfft(padded) * kernel_f, size)[radius:radius + n]
        b = np.minimum(b, smooth)
    return s - b, b


# -- finite rate of innovation -------------------------------------------------------------
def annihilating_filter(z, order: int) -> np.ndarray:
    """Roots ``u_k`` of the annihilating filter of ``z[m] = Σ_k a_k u_k^m`` (Prony's method in
    its total-least-squares form): the filter ``h`` of length ``order + 1`` with
    ``Σ_i h[i] z[m − i] = 0`` is the right singular vector of the smallest singular value of
    the Toeplitz matrix of ``z``; its roots are the ``u_k``."""
    z = as_array(z, "z", ndim=1, dtype=np.complex128)
    order = check_int(order, "order", low=1)
    if z.size < 2 * order + 1:
        raise ValueError(f"z needs at least 2 · order + 1 = {2 * order + 1} samples, got "
                         f"{z.size}")
    return _annihilate(z, order)


@functools.lru_cache(maxsize=256)
def _toeplitz_index(n: int, cols: int) -> np.ndarray:
    """Indices of the Toeplitz matrix with rows ``z[m + cols − 1], …, z[m]``."""
    return np.arange(cols - 1, -1, -1)[None, :] + np.arange(n - cols + 1)[:, None]


def _annihilate(z, order):
    """:func:`annihilating_filter` without the input checks (inner loops)."""
    _, _, vh = _svd(z[_toeplitz_index(z.size, order + 1)])
    return _polynomial_roots(vh[-1].conj())


def _svd(a):
    """Thin SVD of a small complex matrix: LAPACK's zgesdd, as ``np.linalg.svd`` calls it,
    without numpy's per-call overhead (these matrices are a few dozen entries)."""
    from scipy.linalg import lapack
    u, s, vh, info = lapack.zgesdd(np.asarray(a, dtype=np.complex128), full_matrices=0)
    if info != 0:
        return np.linalg.svd(a, full_matrices=False)
    return u, s, vh


def _polynomial_roots(c):
    """Roots of ``c[0] x^n + … + c[n]`` as the eigenvalues of the companion matrix (what
    ``np.roots`` does, without its checks: ``c[0]`` is a singular vector's entry, not 0)."""
    n = c.size - 1
    if n < 1 or c[0] == 0:
        return np.roots(c)
    companion = np.zeros((n, n), dtype=np.complex128)
    if n > 1:
        companion[np.arange(1, n), np.arange(n - 1)] = 1.0
    companion[0] = -c[1:] / c[0]
    return np.linalg.eigvals(companion)


@functools.lru_cache(maxsize=256)
def _diagonal_average(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The Toeplitz index of Cadzow's square-ish matrix for ``n`` samples, and the matrix
    that averages a matrix of that shape along its diagonals into ``n`` samples."""
    idx = _toeplitz_index(n, n // 2 + 1)
    avg = np.zeros((n, idx.size))
    avg[idx.ravel(), np.arange(idx.size)] = 1.0
    avg /= avg.sum(1, keepdims=True)
    return idx, avg


def _cadzow(z, order, num_iters=3, first=None):
    """Cadzow's denoising: alternate the nearest Toeplitz matrix of rank ``order`` (by SVD)
    and the nearest Toeplitz matrix (diagonal averages), so that ``z`` is closer to a sum of
    ``order`` exponentials before the annihilating filter. ``first``: the SVD of ``z``'s
    Toeplitz matrix, when known (it does not depend on ``order``)."""
    idx, avg = _diagonal_average(z.size)
    for i in range(num_iters):
        u, s, vh = first if i == 0 and first is not None else _svd(z[idx])
        z = avg @ ((u[:, :order] * s[:order]) @ vh[:order]).ravel()
    return z


def _nonneg_ls(G, x):
    from scipy.optimize import nnls
    scale = np.sqrt((G ** 2).sum(0)) + 1e-300
    return nnls(G / scale, x)[0] / scale


@functools.lru_cache(maxsize=64)
def _samples(n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)[:, None]
    t.flags.writeable = False
    return t


def _gauss_matrix(n: int, positions, sigmas) -> np.ndarray:
    t = _samples(n)
    return np.exp(-0.5 * ((t - np.asarray(positions)[None]) / np.asarray(sigmas)[None]) ** 2)


def fri_pulses(x, sigma, num_pulses: int | None = None, *, max_pulses: int = 8,
               tol: float = 1e-3, noise_var: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Locate Gaussian pulses ``x[n] = Σ_k a_k exp(−(n − t_k)² / 2σ²)`` in a 1-D signal by
    finite rate of innovation (Vetterli, Marziliano & Blu 2002).

    The signal is taken as periodic (zero at both ends): its DFT divided by the Gaussian's
    Fourier transform is ``Z[m] = Σ_k a'_k u_k^m`` with ``u_k = exp(−2iπ t_k / n)``; the
    annihilating filter of ``Z`` on the frequencies where the Gaussian is not negligible
    gives the ``u_k``, hence the ``t_k``; the amplitudes then solve a least-squares fit in
    the signal domain. Without ``num_pulses``, the model order grows from 1 until the
    residual energy is below ``max(tol · ‖x‖², n · noise_var · (1 + 3 √(2/n)))``, else the
    order with the smallest residual is kept.

    Parameters
    ----------
    x : ndarray of shape (n,)
    sigma : float or callable
        Pulse width in samples, or a function of the position giving it.
    num_pulses : int, optional
        Known number of pulses.

    Returns
    -------
    positions, amplitudes : ndarray
        In samples, sorted by position.
    """
    x = as_array(x, "x", ndim=1, allow_complex=False, dtype=np.float64)
    n = x.size
    if n < 8:
        raise ValueError(f"x must have at least 8 samples, got {n}")
    width = sigma if callable(sigma) else (
        lambda t, s=check_scalar(sigma, "sigma", low=0.0, low_inclusive=False): np.full(
            np.shape(t), s))
    s0 = float(np.mean(width(np.array([n / 2.0]))))
    max_pulses = check_int(max_pulses, "max_pulses", low=1)
    if num_pulses is not None:
        num_pulses = check_int(num_pulses, "num_pulses", low=1)
    tol = check_scalar(tol, "tol", low=0.0)
    noise_var = check_scalar(noise_var, "noise_var", low=0.0)
    return _fri_pulses(x, width, s0, num_pulses, max_pulses, tol, noise_var)


def _fri_pulses(x, width, s0, num_pulses, max_pulses, tol, noise_var):
    """:func:`fri_pulses` without the input checks (called for every stretch of a
    spectrum); ``width`` a function of the positions, ``s0`` the width in the middle."""
    n = x.size
    X = np.fft.fft(x)
    # frequencies where the Gaussian keeps at least 1e-3 of its weight, and where dividing
    # by it does not raise the noise above a third of the signal's mean
    g_min = 1e-3
    if noise_var > 0 and abs(X[0]) > 0:
        g_min = min(max(g_min, 3 * np.sqrt(n * noise_var) / abs(X[0])), 0.5)
    m_max = int(np.floor(np.sqrt(np.log(1 / g_min) / 2) * n / (np.pi * s0)))
    m_max = max(1, min(m_max, n // 2 - 1))
    m = np.arange(-m_max, m_max + 1)
    g = np.exp(-2 * (np.pi * s0 * m / n) ** 2)
    z = X[m % n] / g
    energy = float(np.sum(x ** 2))
    # the residual of pure noise: n · noise_var, plus three standard deviations of it
    floor = max(tol * energy, n * noise_var * (1 + 3 * np.sqrt(2 / n)))
    orders = [num_pulses] if num_pulses else range(1, min(max_pulses, m_max) + 1)
    fits = []
    noisy = g_min > 1e-3                     # noise-limited: denoise z first (Cadzow)
    first = _svd(z[_diagonal_average(z.size)[0]]) if noisy else None
    for k in orders:
        if z.size < 2 * k + 1:
            break
        u = _annihilate(_cadzow(z, k, first=first) if noisy else z, k)
        t = np.sort(np.mod(-np.angle(u) * n / (2 * np.pi), n))
        w = width(t)
        close = np.concatenate([[False], np.diff(t) < 0.3 * w[1:]])
        t = t[~close]                        # a double root is one pulse
        G = _gauss_matrix(n, t, w[~close])
        a = _nonneg_ls(G, x)
        fits.append((t, a, float(np.sum((x - G @ a) ** 2))))
        if fits[-1][2] <= floor:            # the smallest order that explains the signal
            break
    if not fits:
        return np.zeros(0), np.zeros(0)
    t, a, _ = fits[-1] if fits[-1][2] <= floor else min(fits, key=lambda f: f[2])
    return t, a


def _clusters(signal, threshold, pad):
    """Index ranges where ``signal`` exceeds ``threshold``, widened by ``pad`` and merged."""
    above = np.concatenate([[False], np.asarray(signal) > threshold, [False]])
    change = np.flatnonzero(above[1:] != above[:-1])       # starts and ends of the runs
    n = len(signal)
    out = []
    for i, j in zip(change[::2], change[1::2]):
        lo, hi = max(int(i) - pad, 0), min(int(j) + pad, n)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _split(smooth, lo, hi, max_length):
    """Cut ``[lo, hi)`` at the deepest valleys of ``smooth`` until no piece is longer than
    ``max_length`` channels."""
    if hi - lo <= max_length:
        return [(lo, hi)]
    a, b = lo + (hi - lo) // 4, hi - (hi - lo) // 4
    cut = a + int(np.argmin(smooth[a:b]))
    return _split(smooth, lo, cut, max_length) + _split(smooth, cut, hi, max_length)


def find_pulses(spectrum, energies, *, noise_var: float = 0.0, rel_threshold: float = 0.01,
                e_max: float = 17.0, max_pulses: int = 10,
                max_length: int = 160, sweeps: int = 2, near=None) -> list[dict]:
    """Peaks of a (background-removed) spectrum by FRI: split it into clusters of channels
    above ``rel_threshold`` of its maximum (padded by 3 FWHM, so that each cluster is zero at
    its ends and periodic), and run :func:`fri_pulses` on each with the detector's width.
    With ``near`` (energies in keV), only the clusters that hold one of these energies are
    fitted: a search for given lines.

    Returns a list of dicts ``"energy"`` (keV), ``"amplitude"`` (peak height),
    ``"area"`` (counts) and ``"fwhm"`` (keV), by increasing energy.
    """
    e = _check_energies(energies)
    s = as_array(spectrum, "spectrum", shape=e.shape, allow_complex=False, dtype=np.float64)
    rel_threshold = check_scalar(rel_threshold, "rel_threshold", low=0.0, high=1.0)
    noise_var = check_scalar(noise_var, "noise_var", low=0.0)
    step = float(np.median(np.diff(e)))
    keep = (e >= _LOW_CUTOFF) & (e <= e_max)
    work = np.where(keep, s, 0.0)
    if work.max() <= 0:
        return []
    pad = int(np.ceil(3 * fwhm(float(e_max)) / step))
    out = []
    from scipy.ndimage import gaussian_filter1d
    smooth = gaussian_filter1d(work, 2.0)
    segments = []
    for lo, hi in _clusters(work, rel_threshold * work.max(), pad):
        segments += _split(smooth, lo, hi, max_length)
    if near is not None:
        wanted = (as_array(near, "near", ndim=1, allow_complex=False, dtype=np.float64)
                  - e[0]) / step
        segments = [(lo, hi) for lo, hi in segments
                    if np.any((wanted >= lo) & (wanted < hi))]
    chan_sigma = fwhm(np.clip(e, 0.0, None)) / 2.3548 / step
    found = [(np.zeros(0), np.zeros(0))] * len(segments)
    n_all = work.size
    grid = np.arange(n_all, dtype=np.float64)

    def model(pos, amp):
        out = np.zeros(n_all)
        if pos.size == 0:
            return out
        sig = np.interp(pos, grid, chan_sigma)
        # ± 12 σ: beyond, a Gaussian is below 1e-31 of its peak
        lo = max(int(np.floor(pos.min() - 12 * sig.max())), 0)
        hi = min(int(np.ceil(pos.max() + 12 * sig.max())) + 1, n_all)
        t = grid[lo:hi, None]
        out[lo:hi] = np.exp(-0.5 * ((t - pos[None]) / sig[None]) ** 2) @ amp
        return out

    # Block sweeps: each segment is fitted after the tails of the pulses found in the other
    # segments are taken off, so that it starts and ends near 0 (the periodic model).
    own = [np.zeros(n_all) for _ in segments]
    total = np.zeros(n_all)
    for _sweep in range(sweeps):
        for i, (lo, hi) in enumerate(segments):
            tails = total - own[i]
            seg = work[lo:hi] - tails[lo:hi]
            seg = seg - np.linspace(seg[0], seg[-1], seg.size)
            x = np.zeros(max(seg.size, 32))
            x[:seg.size] = seg

            def width(t, lo=lo):
                return np.interp(lo + np.asarray(t, float), grid, chan_sigma)

            s0 = float(width(x.size / 2.0))
            t, a = _fri_pulses(x, width, s0, None, max_pulses, 1e-3, noise_var)
            ok = (a > 0) & (t >= 0) & (t <= seg.size - 1)
            found[i] = (lo + t[ok], a[ok])
            total -= own[i]
            own[i] = model(*found[i])
            total += own[i]
    for pos, amp in found:
        for tk, ak in zip(pos, amp):
            energy = float(e[0] + step * tk)
            f = _fwhm(energy)
            out.append({"energy": energy, "amplitude": float(ak),
                        "area": float(ak * f / 2.3548 * np.sqrt(2 * np.pi) / step),
                        "fwhm": f})
    return sorted(out, key=lambda p: p["energy"])


def identify_elements(pulses, elements, *, excitation: float = TUBE_ENERGY,
                      min_relative: float = 0.05) -> dict:
    """Which of ``elements`` the pulses reveal: an element is present when a pulse lies
    within half a FWHM of its strongest line group and of at least one other group of
    relative intensity ≥ ``min_relative`` (its "other lines"), or when its strongest group
    is the only one it has in range. Returns element -> list of matched pulse indices."""
    elements = _check_elements(elements)
    energies = np.array([p["energy"] for p in pulses]) if pulses else np.zeros(0)
    found = {}
    for el in elements:
        groups = line_groups([el], excitation, min_relative=min_relative)
        if not groups or energies.size == 0:
            continue
        matched = []
        for g in groups:
            d = np.abs(energies - g["energy"])
            k = int(np.argmin(d))
            matched.append(k if d[k] <= 0.5 * _fwhm(g["energy"]) else None)
        top = int(np.argmax([g["cross_section"] for g in groups]))
        hits = [k for k in matched if k is not None]
        if matched[top] is not None and (len(hits) >= 2 or len(groups) == 1):
            found[el] = sorted(set(hits))
    return found


# -- element maps ------------------------------------------------------------------------------
def _fit_range(e, excitation):
    return (e >= _LOW_CUTOFF) & (e <= min(17.0, excitation - 1.0))


def roi_sum(cube, energies, energy: float, half_width: float | None = None) -> np.ndarray:
    """The raw region-of-interest map: the counts of every pixel in the channels within
    ``half_width`` keV of ``energy`` (default one FWHM of the detector there, :func:`fwhm`).

    Parameters
    ----------
    cube : ndarray of shape (M, N, channels)
    energies : ndarray of shape (channels,)
        Channel energies (keV), strictly increasing.
    energy : float
        Centre of the window (keV), usually an element's strongest line.
    half_width : float, optional
        Half the window's width (keV).

    Returns
    -------
    ndarray of shape (M, N), float64
    """
    c, e = _check_cube(cube, energies)
    energy = check_scalar(energy, "energy", low=0.0)
    half = fwhm(energy) if half_width is None else check_scalar(
        half_width, "half_width", low=0.0, low_inclusive=False)
    return c[..., np.abs(e - energy) <= half].sum(-1, dtype=np.float64)


def _roi(cube, e, elements, excitation, dwell):
    _, bg = remove_background(cube.reshape(-1, e.size).mean(0), e)
    maps = {}
    for el in elements:
        groups = line_groups([el], excitation)
        if not groups:
            maps[el] = np.zeros(cube.shape[:2])
            continue
        g = max(groups, key=lambda g: g["cross_section"])
        half = fwhm(g["energy"])
        window = np.abs(e - g["energy"]) <= half
        counts = roi_sum(cube, e, g["energy"]) - bg[window].sum()
        sens = element_spectrum(el, e, excitation=excitation)[window].sum()
        maps[el] = counts / (dwell * sens)
    return maps


def _library(elements, e, excitation):
    """Columns: the spectra of ``elements`` on the channels ``e`` (cached: the physics, not
    the data)."""
    return _library_cached(tuple(elements), e.tobytes(), float(excitation)).copy()


@functools.lru_cache(maxsize=32)
def _library_cached(elements, e_bytes, excitation):
    e = np.frombuffer(e_bytes, dtype=np.float64)
    return np.stack([element_spectrum(el, e, excitation=excitation) for el in elements], 1)


def _nnls(cube, e, elements, excitation, dwell):
    from scipy.optimize import nnls
    keep = _fit_range(e, excitation) | scatter_window(e, excitation)
    A = np.concatenate([_library(elements, e, excitation),
                        background_spectrum(e, excitation=excitation)[:, None]], 1)[keep]
    Y = cube.reshape(-1, e.size)[:, keep].astype(np.float64)
    coef = np.empty((Y.shape[0], A.shape[1]))
    for p in range(Y.shape[0]):
        coef[p] = nnls(A, Y[p])[0]
    return {el: coef[:, k].reshape(cube.shape[:2]) / dwell for k, el in enumerate(elements)}


def fit_spectrum(spectrum, energies, elements=ELEMENTS, *, dwell: float,
                 excitation: float = TUBE_ENERGY) -> tuple[dict, np.ndarray]:
    """Fit one spectrum (a pixel's) by non-negative least squares on the spectra of
    ``elements`` plus the scatter background, as ``element_maps(..., "nnls")`` does for every
    pixel.

    Returns
    -------
    fractions : dict
        Element -> fitted mass fraction (coefficient / ``dwell``), and ``"background"``.
    model : ndarray of shape (channels,)
        The fitted spectrum on every channel.
    """
    from scipy.optimize import nnls
    e = _check_energies(energies)
    s = as_array(spectrum, "spectrum", shape=e.shape, allow_complex=False, dtype=np.float64)
    if np.any(s < 0):
        raise ValueError("spectrum must hold counts >= 0")
    elements = _check_elements(elements)
    dwell = check_scalar(dwell, "dwell", low=0.0, low_inclusive=False)
    excitation = check_scalar(excitation, "excitation", low=1.0)
    keep = _fit_range(e, excitation) | scatter_window(e, excitation)
    A = np.concatenate([_library(elements, e, excitation),
                        background_spectrum(e, excitation=excitation)[:, None]], 1)
    coef = nnls(A[keep], s[keep])[0]
    fractions = {el: float(coef[k] / dwell) for k, el in enumerate(elements)}
    fractions["background"] = float(coef[-1] / dwell)
    return fractions, A @ coef


_SIEGBAHN = {"KL2": "Kα", "KL3": "Kα", "KM2": "Kβ", "KM3": "Kβ", "KN2": "Kβ2", "KN3": "Kβ2",
             "L3M5": "Lα1", "L3M4": "Lα2", "L3M1": "Lℓ", "L3N5": "Lβ2", "L3N1": "Lβ6",
             "L3O4": "Lβ5", "L2M4": "Lβ1", "L2M1": "Lη", "L2N4": "Lγ1", "L2O4": "Lγ6",
             "L1M3": "Lβ3", "L1M2": "Lβ4", "L1N3": "Lγ3", "L1N2": "Lγ2",
             "M5N7": "Mα", "M5N6": "Mα", "M4N6": "Mβ", "M3N5": "Mγ"}


def line_label(group: dict) -> str:
    """The usual (Siegbahn) name of a line group of :func:`line_groups`, e.g. ``"Pb Lα"``."""
    if not isinstance(group, dict) or "element" not in group or "lines" not in group:
        raise TypeError("group must be a dict of line_groups (with 'element' and 'lines')")
    names = []
    for line in group["lines"]:
        name = _SIEGBAHN.get(line, line)
        if name not in names:
            names.append(name)
    return f"{group['element']} {'/'.join(names)}"


def _detect(mean, e, elements, excitation, num_pixels, sweeps=2):
    """FRI pulses of the background-removed mean spectrum, the elements they reveal, and
    the background."""
    peaks, bg = remove_background(mean, e)
    noise_var = float(np.mean(np.clip(mean, 0, None))) / num_pixels
    pulses = find_pulses(peaks, e, noise_var=noise_var,
                         e_max=min(17.0, excitation - 1.0), sweeps=sweeps)
    return pulses, identify_elements(pulses, elements, excitation=excitation), bg


def _fri(cube, e, elements, excitation, dwell):
    """Pulses found by FRI on the mean spectrum; each pixel's pulse amplitudes by least
    squares on the same pulses; an element's map from its pulses that no other element
    shares, divided by their expected counts."""
    M, N, C = cube.shape
    Y = cube.reshape(-1, C).astype(np.float64)
    mean = Y.mean(0)
    pulses, found, bg = _detect(mean, e, elements, excitation, M * N)
    maps = {el: np.zeros((M, N)) for el in elements}
    if not pulses:
        return maps, pulses, found
    step = float(np.median(np.diff(e)))
    keep = _fit_range(e, excitation)
    pos = np.array([(p["energy"] - e[0]) / step for p in pulses])
    sig = np.array([p["fwhm"] / 2.3548 / step for p in pulses])
    G = _gauss_matrix(C, pos, sig)[keep]
    scale = np.sqrt((G ** 2).sum(0))
    amps = np.linalg.lstsq(G / scale, (Y[:, keep] - bg[keep]).T, rcond=None)[0] / scale[:, None]
    owners: dict[int, list[str]] = {}
    for el, ks in found.items():
        for k in ks:
            owners.setdefault(k, []).append(el)
    for el, ks in found.items():
        own = [k for k in ks if owners[k] == [el]] or ks
        spec = element_spectrum(el, e, excitation=excitation)
        expected = sum(spec[max(int(pos[k] - 0.5 * sig[k] * 2.3548), 0):
                            int(pos[k] + 0.5 * sig[k] * 2.3548) + 1].sum() for k in own)
        counts = sum(amps[k] * sig[k] * np.sqrt(2 * np.pi) *
                     (0.7611) for k in own)  # counts within ±FWHM/2 of a Gaussian: 76.1 %
        if expected > 0:
            maps[el] = (counts / (dwell * expected)).reshape(M, N)
    return maps, pulses, found


def _tv_prox(v, mu, p=None, num_iters=2):
    """Chambolle's projection for ``min_x ½‖x − v‖² + μ TV(x)`` on a stack (K, M, N) with one
    μ per map; returns ``x`` and the dual variable (to warm-start the next call, which may
    update it in place).

    Forward differences along rows and columns (zero at the last row and column), the
    divergence their negative adjoint; the work is done in preallocated buffers, since the
    maps are small and the cost is in the number of array operations."""
    mu = np.asarray(mu, dtype=v.dtype)[:, None, None]
    positive = mu > 0
    w = v / np.where(positive, mu, 1.0)
    px, py = (np.zeros_like(v), np.zeros_like(v)) if p is None else p
    tau = 0.248
    d = np.empty_like(v)
    gx = np.zeros_like(v)
    gy = np.zeros_like(v)
    tmp = np.empty_like(v)

    def divergence(out):
        # px and py vanish on the last row and column, which makes this the adjoint
        np.copyto(out, px)
        out[:, 1:] -= px[:, :-1]
        out += py
        out[:, :, 1:] -= py[:, :, :-1]
        return out

    for _ in range(num_iters):
        divergence(d)
        d -= w
        np.subtract(d[:, 1:], d[:, :-1], out=gx[:, :-1])
        np.subtract(d[:, :, 1:], d[:, :, :-1], out=gy[:, :, :-1])
        np.multiply(gx, gx, out=d)
        np.multiply(gy, gy, out=tmp)
        d += tmp
        np.sqrt(d, out=d)
        d *= tau
        d += 1.0
        np.multiply(gx, tau, out=tmp)
        px += tmp
        px /= d
        np.multiply(gy, tau, out=tmp)
        py += tmp
        py /= d
    divergence(d)
    d *= mu
    return np.where(positive, v - d, v), (px, py)


def _residual_elements(blocks, e, present, candidates, excitation, bg, keep, pixels,
                       z_min=5.0):
    """Elements of ``candidates`` that the detected elements ``present`` leave unexplained:
    fit every block spectrum (mean of ``pixels`` pixels, shape (B, C)) by least squares on
    their spectra and two backgrounds (``bg``, estimated from the data, and the modelled
    scatter of :func:`background_spectrum`), then test the residual of each block against
    each candidate's whole spectrum (a matched filter weighted by the Poisson variance). A
    candidate is kept when its z-score exceeds ``z_min`` in some block."""
    if not candidates or blocks.shape[0] == 0:
        return []
    S0 = np.concatenate([_library(tuple(present), e, excitation), bg[:, None],
                         background_spectrum(e, excitation=excitation)[:, None]], 1)[keep]
    B = blocks[:, keep]
    coef = np.linalg.solve(S0.T @ S0, S0.T @ B.T)
    lib = _library(tuple(candidates), e, excitation)[keep]          # (C, K)
    # the residual only matters where a candidate emits: its lines, ± a few σ
    support = np.any(lib > 1e-4 * lib.max(0), axis=1)
    B, S0, lib = B[:, support], S0[support], lib[support]
    R = B - (S0 @ coef).T
    inv_var = pixels / np.maximum(B, 1.0)            # Poisson: var of a block mean = mean / n
    score = (R * inv_var) @ lib / np.sqrt(inv_var @ (lib ** 2))      # (B, K) z-scores
    return [el for k, el in enumerate(candidates) if score[:, k].max() > z_min]


def _block_sums(cube):
    """Counts of the 4×4 blocks of pixels (the last rows and columns left over dropped),
    shape (blocks, channels), int64."""
    M, N, C = cube.shape
    x = cube[:M // 4 * 4, :N // 4 * 4].reshape(M // 4, 4, N // 4 * 4, C)
    if x.dtype == np.int32 and x.max() < 2 ** 29:          # the simulator's counts
        rows = x[:, 0] + x[:, 1] + x[:, 2] + x[:, 3]          # cannot overflow: < 2³¹
    else:
        rows = x.sum(1, dtype=np.int64 if x.dtype.kind in "iub" else np.float64)
    rows = rows.reshape(M // 4, N // 4, 4, C)
    acc = rows[:, :, 0].astype(np.int64 if rows.dtype.kind in "iub" else np.float64)
    acc += rows[:, :, 1]
    acc += rows[:, :, 2]
    acc += rows[:, :, 3]
    return acc.reshape(-1, C)


def _deconvolution(cube, e, elements, excitation, dwell, mean, *, lam_tv=0.5, lam_l1=0.01,
                   num_iters=10, block_sums=None):
    """The fast global method: background by iterative convolution of the mean spectrum,
    elements found by FRI on the mean and maximum spectra (and, for elements those pulses
    miss, a test of the residual of 4×4 blocks), then one problem for all pixels,
    ``Y = S A`` with S the detected elements' spectra and the background, solved by FISTA
    with non-negativity, TV on each map and a small ℓ1."""
    M, N, C = cube.shape
    # one sweep suffices here: only which elements are present matters, not the pulses'
    # exact positions and heights
    pulses, found, bg = _detect(mean, e, elements, excitation, M * N, sweeps=1)
    keep = _fit_range(e, excitation)
    # the maximum spectrum of 4×4 blocks: elements present in a few pixels only
    if M >= 4 and N >= 4:
        if block_sums is None:
            block_sums = _block_sums(cube)
        blocks = block_sums / 16.0
        missing = [el for el in elements if el not in found]
        if missing:
            # FRI on the maximum spectrum, where the lines of the elements still missing lie
            # (only which elements are present matters here)
            peak_max, _ = remove_background(blocks.max(0), e)
            near = [g["energy"] for el in missing
                    for g in line_groups([el], excitation, min_relative=0.05)]
            extra = find_pulses(peak_max, e, e_max=min(17.0, excitation - 1.0),
                                noise_var=float(np.mean(blocks)) / 16, rel_threshold=0.02,
                                sweeps=1, near=near)
            for el in identify_elements(extra, missing, excitation=excitation):
                found.setdefault(el, [])
        missing = [el for el in elements if el not in found]
        present = [el for el in elements if el in found]
        if present:
            for el in _residual_elements(blocks, e, present, missing, excitation, bg, keep, 16):
                found.setdefault(el, [])
    present = [el for el in elements if el in found]
    maps = {el: np.zeros((M, N)) for el in elements}
    if not present:
        return maps, pulses, found
    S = np.concatenate([_library(tuple(present), e, excitation), bg[:, None]], 1)
    lo, hi = np.flatnonzero(keep)[[0, -1]]
    S = S[lo:hi + 1]
    norms = np.linalg.norm(S, axis=0)
    S = S / norms
    StS = S.T @ S
    Y = cube.reshape(-1, C)[:, lo:hi + 1]
    S32 = S.astype(np.float32)
    StY = np.empty((Y.shape[0], S.shape[1]), dtype=np.float32)
    for i in range(0, Y.shape[0], 512):       # in blocks of pixels: the conversion stays in cache
        StY[i:i + 512] = Y[i:i + 512].astype(np.float32) @ S32
    StY = np.ascontiguousarray(StY.T)         # (K, P)
    K = S.shape[1]
    L = float(np.linalg.eigvalsh(StS)[-1])
    a_ls = np.linalg.solve(StS, StY.astype(np.float64))
    # noise of each unregularised map from the Poisson statistics of the mean spectrum ȳ:
    # Cov(a) = (SᵀS)⁻¹ Sᵀ diag(ȳ) S (SᵀS)⁻¹ (counts have variance = mean)
    P_ = np.linalg.solve(StS, S.T)                       # (K, C)
    sigma_k = np.sqrt(np.maximum((P_ ** 2) @ mean[lo:hi + 1], 0.0))
    mu = lam_tv * sigma_k / L
    l1 = lam_l1 * sigma_k / L
    # the iterations in single precision: maps of a few thousand pixels, errors ~1e-7
    x = np.clip(a_ls, 0, None).astype(np.float32)
    A = (np.eye(K) - StS / L).astype(np.float32)
    b = (StY / np.float32(L)).astype(np.float32)
    l1 = l1.astype(np.float32)[:, None]
    z, t, p = x.copy(), 1.0, None
    for _ in range(num_iters):
        v = A @ z + b                          # z − (SᵀS z − SᵀY) / L
        v, p = _tv_prox(v.reshape(K, M, N), mu, p)
        v = v.reshape(K, -1)
        v -= l1
        np.maximum(v, 0.0, out=v)
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        z = v + np.float32((t - 1) / t_new) * (v - x)
        x, t = v, t_new
    x = x.astype(np.float64) / norms[:, None]
    for k, el in enumerate(present):
        maps[el] = x[k].reshape(M, N) / dwell
    return maps, pulses, found


def element_maps(cube, energies, elements=ELEMENTS, method: str = "nnls", *,
                 excitation: float = TUBE_ENERGY, return_info: bool = False):
    """Maps of the mass fraction of each element from an MA-XRF datacube.

    Parameters
    ----------
    cube : ndarray of shape (M, N, channels)
        Counts (>= 0).
    energies : ndarray of shape (channels,)
        Channel energies in keV, strictly increasing (the calibration).
    elements : sequence of str
        Element symbols xraylib knows.
    method : {"roi", "nnls", "fri", "deconvolution"}
        ``"roi"``: counts in ± 1 FWHM around each element's strongest line, minus the
        background of the mean spectrum; ``"nnls"``: per-pixel non-negative least squares
        on the library of element spectra plus the scatter background
        (``scipy.optimize.nnls``); ``"fri"``: pulses located by the annihilating filter on
        the mean spectrum, per-pixel amplitudes, pulses mapped to elements through their
        lines; ``"deconvolution"``: elements found by FRI on the mean and maximum
        spectra (and, for those the pulses miss, by a test of what the found elements
        leave unexplained in blocks of 4×4 pixels), then one non-negative, TV- and
        ℓ1-regularised problem for all pixels, solved by FISTA (Yan et al. 2023).
    excitation : float
        Tube line in keV.
    return_info : bool
        Also return a dict with the seconds taken and, for "fri" and "deconvolution", the
        detected pulses and elements.

    Returns
    -------
    dict of str -> ndarray of shape (M, N)
        Mass fractions; every method calibrates counts by the dwell estimated from the
        scatter peaks (:func:`estimate_dwell`).
    """
    c, e = _check_cube(cube, energies)
    elements = _check_elements(elements)
    method = check_choice(method, "method", METHODS)
    excitation = check_scalar(excitation, "excitation", low=1.0)
    start = time.process_time()
    block_sums = None
    if method == "deconvolution" and c.shape[0] % 4 == 0 and c.shape[1] % 4 == 0:
        # the blocks cover the cube: its mean spectrum follows from their sums (exactly,
        # the sums being integers), one pass over the cube instead of two
        block_sums = _block_sums(c)
        mean = block_sums.sum(0) / float(c.shape[0] * c.shape[1])
    else:
        mean = c.reshape(-1, e.size).mean(0, dtype=np.float64)
    dwell = estimate_dwell(mean, e, excitation)
    info = {}
    if method == "roi":
        maps = _roi(c, e, elements, excitation, dwell)
    elif method == "nnls":
        maps = _nnls(c, e, elements, excitation, dwell)
    elif method == "fri":
        maps, info["pulses"], info["found"] = _fri(c, e, elements, excitation, dwell)
    else:
        maps, info["pulses"], info["found"] = _deconvolution(c, e, elements, excitation, dwell,
                                                             mean, block_sums=block_sums)
    info["seconds"] = time.process_time() - start
    info["dwell"] = dwell
    return (maps, info) if return_info else maps


def map_quality(estimate: dict, truth: dict) -> dict:
    """Per element: Pearson correlation and relative error ``‖ŵ − w‖ / ‖w‖`` of a map."""
    if not isinstance(estimate, dict) or not isinstance(truth, dict):
        raise TypeError("estimate and truth must be dicts element -> map")
    out = {}
    for el, w in truth.items():
        if el not in estimate:
            raise ValueError(f"estimate has no map for {el!r}")
        a = as_array(estimate[el], f"estimate[{el!r}]", ndim=2, dtype=np.float64)
        b = as_array(w, f"truth[{el!r}]", shape=a.shape, dtype=np.float64)
        if a.std() == 0 or b.std() == 0:
            corr = 0.0
        else:
            corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
        out[el] = {"correlation": corr,
                   "relative_error": float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))}
    return out
