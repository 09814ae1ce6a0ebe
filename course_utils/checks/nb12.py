"""Self-checks for notebook 12 (macro X-ray fluorescence): detector FWHM, annihilating filter, ROI sums, overlaps, dwell time."""
from __future__ import annotations

import functools

import numpy as np

from .. import xrf
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_choice, judge_number, register_exercise)

__all__ = ["check_detector_fwhm", "check_annihilating_filter", "check_roi_sum",
           "check_roi_ghost", "check_dwell_prediction", "check_dwell_experiment"]

register_exercise(
    "12.1", "implement",
    task="Write detector_fwhm(energy): the FWHM in keV of the silicon drift detector at "
         "energy (keV, a number or an array), with electronic noise 0.08 keV and Fano factor "
         "0.114 (3.85 eV per electron-hole pair).",
    hints=["Two independent spreads add in quadrature: the electronic noise, and the "
           "statistics of the electron-hole pairs, whose variance is F · E / ε pairs.",
           "In keV, the charge statistics give a Gaussian of variance F · ε · E with "
           "ε = 3.85e-3 keV; its FWHM is 2.3548 times its standard deviation. Add the squares "
           "of the two FWHMs.",
           "np.sqrt(0.08 ** 2 + 2.3548 ** 2 * 3.85e-3 * 0.114 * energy)."])

register_exercise(
    "12.2", "implement",
    task="Write annihilating_roots(z, K): the K roots u_k of the annihilating filter of "
         "z[m] = Σ_k a_k u_k^m (a 1-D complex array), from the SVD of the Toeplitz matrix of z.",
    hints=["The filter h of length K + 1 satisfies Σ_i h[i] z[m − i] = 0 for every m where "
           "the sum is defined. Stack these equations as a matrix T with T @ h = 0.",
           "Row m of T is z[m + K], z[m + K − 1], …, z[m] (m = 0 … len(z) − K − 1). The "
           "vector h closest to the null space of T is the last right singular vector; the "
           "SVD returns Vᴴ, so take the conjugate of its last row.",
           "idx = np.arange(K, -1, -1)[None, :] + np.arange(len(z) - K)[:, None]; "
           "_, _, vh = np.linalg.svd(z[idx]); return np.roots(vh[-1].conj())."])

register_exercise(
    "12.3", "implement",
    task="Write roi_counts(cube, energies, line_energy): the (M, N) map of the counts of every "
         "pixel in the channels within one FWHM of the detector (xrf.fwhm) of line_energy.",
    hints=["The window is a boolean mask over the channels: which energies are within "
           "xrf.fwhm(line_energy) of line_energy?",
           "np.abs(energies − line_energy) <= xrf.fwhm(line_energy) selects the channels; "
           "sum the cube over its last axis on them.",
           "window = np.abs(energies - line_energy) <= xrf.fwhm(line_energy); "
           "return cube[..., window].sum(axis=-1)."])

register_exercise(
    "12.4", "interpret",
    task="Set why_ghost to the letter of the statement that explains why the ROI map of zinc "
         "is bright on the copper green and the vermilion, where the painting has no zinc.",
    hints=["Which lines of copper and of mercury lie near Zn Kα at 8.64 keV? The sum "
           "spectrum above labels them.",
           "The ROI window is ± 1 FWHM ≈ ± 0.17 keV around 8.64 keV. How far from it are Cu Kβ "
           "(8.91) and Hg Lℓ (8.72), compared with the width of a peak?",
           "A Gaussian peak a standard deviation or so outside the window still puts counts in "
           "it; the ROI sum cannot tell whose photons they are, the fit of whole spectra can."])

register_exercise(
    "12.5", "predict",
    task="Before running the next cell, predict by what factor the root-mean-square error of "
         "the NNLS iron map falls when the counts per pixel go from 100 to 1000 (ten times "
         "the dwell time), and set noise_factor to it.",
    hints=["The counts of a channel are Poisson: what are their mean and their variance, "
           "and how do both grow with the dwell time?",
           "The map is counts divided by the dwell: its signal grows like the dwell, its noise "
           "like the square root of the dwell.",
           "Relative noise ∝ 1/√counts: ten times the counts divide the error by √10."])

register_exercise(
    "12.6", "experiment",
    task="With the widget's update (element Zn), find the smallest counts per pixel among the "
         "slider's values at which the deconvolution's zinc map reaches a correlation of at "
         "least 0.9 with the truth, and set min_counts to it.",
    hints=["update(element=\"Zn\", counts=c) returns numbers[\"corr_deconvolution\"] for the "
           "whole map; the slider's values are in widgets.nb12.COUNTS_LEVELS.",
           "Loop over the levels in increasing order and stop at the first whose correlation "
           "is at least 0.9.",
           "min_counts = next(c for c in nb12.COUNTS_LEVELS if update(element=\"Zn\", "
           "counts=c)[\"corr_deconvolution\"] >= 0.9)."])


# -- 12.1 the detector's FWHM ------------------------------------------------------------------
def _fwhm_variants(e):
    n, f, eps, k = 0.08, 0.114, 3.85e-3, 2.3548
    return [
        (n ** 2 + k ** 2 * eps * f * e,
         "you returned the square of the FWHM: take the square root of the sum of squares."),
        (np.sqrt(n ** 2 + k ** 2 * eps * f * e) / k,
         "you returned the standard deviation σ; the FWHM is 2.3548 σ."),
        (np.sqrt(n ** 2 + eps * f * e),
         "the factor 2.3548² is missing: ε · F · E is the variance of the charge statistics "
         "in keV², and its FWHM is 2.3548 times its square root."),
        (np.sqrt(n ** 2 + k ** 2 * eps * e),
         "the Fano factor is missing: the pair statistics are sub-Poissonian, their variance "
         "is F = 0.114 times E / ε."),
        (n + np.sqrt(k ** 2 * eps * f * e),
         "you added the two FWHMs; independent spreads add in quadrature: √(noise² + …)."),
        (np.sqrt(n ** 2 + k ** 2 * eps * f * 1000 * e),
         "your energy is in eV somewhere: ε = 3.85e-3 keV and E in keV."),
        (np.sqrt(n + k ** 2 * eps * f * e),
         "the electronic noise must be squared too: √(0.08² + …)."),
    ]


@exercise_check("12.1", success="your FWHM matches xrf.fwhm.")
def check_detector_fwhm(detector_fwhm) -> str | None:
    """Check ``detector_fwhm(energy)`` against :func:`course_utils.xrf.fwhm` on an array of
    energies and on one number."""
    e = np.array([1.0, 2.31, 5.9, 8.64, 10.55, 17.0])
    ref = xrf.fwhm(e)
    got = as_result(call_student(detector_fwhm, e.copy(), called_with="an array of 6 "
                                 "energies in keV"), what="detector_fwhm(energies)")
    if got.shape != e.shape:
        raise CheckFailure(f"detector_fwhm must return one FWHM per energy (shape {e.shape}), "
                           f"got shape {got.shape}.")
    if not np.allclose(got, ref, rtol=1e-6):
        for value, message in _fwhm_variants(e):
            if np.allclose(got, value, rtol=1e-6):
                raise CheckFailure(message)
        if np.allclose(got * 1000, ref, rtol=1e-6):
            raise CheckFailure("your result is in keV/1000: return keV (about 0.144 at 5.9 "
                               "keV), not MeV.")
        if np.allclose(got, ref * 1000, rtol=1e-6):
            raise CheckFailure("your result is in eV; return keV (0.144 at 5.9 keV).")
        k = int(np.argmax(np.abs(got - ref)))
        raise CheckFailure(f"at {e[k]} keV you give {got[k]:.4g} keV, xrf.fwhm gives "
                           f"{ref[k]:.4g} keV.")
    one = as_result(call_student(detector_fwhm, 5.9, called_with="the number 5.9"),
                    what="detector_fwhm(5.9)")
    if one.size != 1 or not np.isclose(float(one.ravel()[0]), xrf.fwhm(5.9), rtol=1e-6):
        raise CheckFailure("detector_fwhm(5.9) must be one number, the FWHM at Mn Kα.")
    return (f"At Mn Kα (5.9 keV) the FWHM is {1000 * xrf.fwhm(5.9):.0f} eV; at Pb Lα "
            f"(10.55 keV) {1000 * xrf.fwhm(10.55):.0f} eV.")


# -- 12.2 the annihilating filter ----------------------------------------------------------------
def _angles(roots):
    return np.sort(np.mod(np.angle(roots), 2 * np.pi))


@exercise_check("12.2", success="your roots are those of xrf.annihilating_filter.")
def check_annihilating_filter(annihilating_roots) -> str | None:
    """Check ``annihilating_roots(z, K)`` on sums of K = 3 exponentials on the unit circle
    (exact, then with noise) against :func:`course_utils.xrf.annihilating_filter`."""
    rng = np.random.default_rng(121)
    u = np.exp(-2j * np.pi * np.array([0.08, 0.31, 0.57]))
    a = np.array([1.0, 0.5, 2.0])
    m = np.arange(-7, 8)
    z = (a[None] * u[None] ** m[:, None]).sum(1)
    got = call_student(annihilating_roots, z.copy(), 3,
                       called_with="z = Σ a_k u_k^m (15 samples) and K = 3")
    got = as_result(got, what="annihilating_roots(z, 3)", allow_complex=True).ravel()
    if got.size != 3:
        hint = (" A filter of length K + 1 has K roots: your filter has the wrong length "
                "(use K + 1 columns in the Toeplitz matrix)." if got.size in (2, 4) else "")
        raise CheckFailure(f"with K = 3 you must return 3 roots, got {got.size}.{hint}")
    if np.allclose(_angles(got), _angles(u), atol=1e-6) and np.allclose(np.abs(got), 1,
                                                                         atol=1e-6):
        pass
    elif np.allclose(_angles(got), _angles(np.conj(u)), atol=1e-6):
        raise CheckFailure("your roots are the complex conjugates of the right ones (their "
                           "angles have the wrong sign): np.linalg.svd returns Vᴴ, so the "
                           "null vector is vh[-1].conj(); or your Toeplitz rows run forwards "
                           "(z[m], …, z[m + K]) instead of backwards (z[m + K], …, z[m]).")
    else:
        ref = xrf.annihilating_filter(z, 3)
        raise CheckFailure("your roots are not those of the filter that annihilates z "
                           f"(expected angles {np.round(_angles(ref), 4)}, got "
                           f"{np.round(_angles(got), 4)}). Use the right singular vector of "
                           "the smallest singular value (the last row of vh), not the first.")
    noisy = z + 0.01 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    got = as_result(call_student(annihilating_roots, noisy.copy(), 3,
                                 called_with="a noisy z and K = 3"),
                    what="annihilating_roots(noisy z, 3)", allow_complex=True).ravel()
    ref = xrf.annihilating_filter(noisy, 3)
    if got.size != 3 or not np.allclose(_angles(got), _angles(ref), atol=1e-6):
        raise CheckFailure("on a noisy z your roots differ from the total-least-squares ones: "
                           "use every row of the Toeplitz matrix (len(z) − K rows) and the "
                           "smallest singular vector, not a square sub-matrix solved exactly.")
    return "With noise, the roots move off the unit circle a little; their angles still give " \
           "the positions."


# -- 12.3 the ROI sum -----------------------------------------------------------------------------
@exercise_check("12.3", success="your ROI map matches xrf.roi_sum.")
def check_roi_sum(roi_counts) -> str | None:
    """Check ``roi_counts(cube, energies, line_energy)`` against
    :func:`course_utils.xrf.roi_sum` on a small seeded cube."""
    rng = np.random.default_rng(123)
    e = xrf.energy_axis()
    cube = rng.poisson(3.0, size=(4, 5, e.size)).astype(np.int32)
    line = 8.64
    ref = xrf.roi_sum(cube, e, line)
    got = call_student(roi_counts, cube.copy(), e.copy(), line,
                       called_with="a 4×5×2048 cube and line_energy = 8.64")
    got = as_result(got, what="roi_counts(cube, energies, 8.64)")
    if got.shape != ref.shape:
        extra = (" Sum over the last axis (the channels), not over the pixels."
                 if got.ndim == 1 or got.shape[-1:] == (e.size,) else "")
        raise CheckFailure(f"the ROI map has one value per pixel, shape {ref.shape}; got "
                           f"{got.shape}.{extra}")
    if np.allclose(got, ref):
        return (f"The window holds {int(np.sum(np.abs(e - line) <= xrf.fwhm(line)))} channels "
                f"of 10 eV around 8.64 keV.")
    half = xrf.roi_sum(cube, e, line, half_width=xrf.fwhm(line) / 2)
    if np.allclose(got, half):
        raise CheckFailure("your window is ± FWHM/2; the exercise (and xrf.roi_sum) uses "
                           "± 1 FWHM around the line.")
    sigma = xrf.roi_sum(cube, e, line, half_width=xrf.fwhm(line) / 2.3548)
    if np.allclose(got, sigma):
        raise CheckFailure("your window is ± σ (FWHM / 2.3548); use ± 1 FWHM.")
    n = int(np.sum(np.abs(e - line) <= xrf.fwhm(line)))
    if np.allclose(got * n, ref):
        raise CheckFailure("you took the mean over the window's channels; the ROI map is the "
                           "sum of the counts.")
    k = int(np.argmin(np.abs(e - line)))
    if np.allclose(got, cube[..., k]):
        raise CheckFailure("you took the single channel nearest the line; sum every channel "
                           "within one FWHM of it.")
    raise CheckFailure("your map differs from the counts within ± 1 FWHM of the line "
                       f"(largest difference {np.max(np.abs(got - ref)):.3g} counts).")


# -- 12.4 why the zinc ROI map shows copper and mercury --------------------------------------------
@answer_check("12.4")
def check_roi_ghost(answer):
    """Judge the reading of the ROI zinc map's ghosts (a multiple choice); the numbers come
    from xraylib through :func:`course_utils.xrf.line_groups` and :func:`~course_utils.xrf.fwhm`."""
    zn = max(xrf.line_groups(["Zn"]), key=lambda g: g["cross_section"])
    cu = [g for g in xrf.line_groups(["Cu"]) if 8.5 < g["energy"] < 9.2][0]
    hg = [g for g in xrf.line_groups(["Hg"]) if 8.5 < g["energy"] < 9.0][0]
    half = xrf.fwhm(zn["energy"])
    facts = (f"Zn Kα is at {zn['energy']:.2f} keV and its window reaches "
             f"{zn['energy'] + half:.2f} keV; Cu Kβ ({cu['energy']:.2f} keV) and Hg Lℓ "
             f"({hg['energy']:.2f} keV) have peaks of FWHM ≈ {1000 * xrf.fwhm(8.8):.0f} eV.")
    options = {
        "a": (False, "the painting's malachite and vermilion hold no zinc (their formulas, "
                     "Cu2CO3(OH)2 and HgS, come from xraylib's parser); the NNLS and "
                     "deconvolution maps are dark there. " + facts),
        "b": (True, "Cu Kβ and Hg Lℓ lie within a peak width of Zn Kα, so part of their "
                    "photons fall in the zinc window; a sum over channels cannot tell whose "
                    "photons they are, while a fit of whole spectra knows that copper also "
                    "emits Kα at 8.04 keV and mercury Lα at 9.99 keV, in fixed ratios. " + facts),
        "c": (False, "the scatter background is the same at every pixel in this simulation "
                     "and the ROI map subtracts it; it cannot draw the shape of one pigment. "
                     + facts),
        "d": (False, "noise averages out over the window and is no brighter on one pigment; "
                     "the ghost is a bias that stays at any dwell time. " + facts),
    }
    return judge_choice(answer, options)


# -- 12.5 the dwell time and the noise --------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _noise_factor() -> float:
    painting = xrf.synthetic_painting(32, seed=0)
    truth = painting["maps"]
    rms = []
    for counts in (100, 1000):
        cube, e = xrf.simulate_datacube(truth, counts_per_pixel=counts, seed=0)
        fe = xrf.element_maps(cube, e, tuple(truth), "nnls")["Fe"]
        rms.append(float(np.sqrt(np.mean((fe - truth["Fe"]) ** 2))))
    return rms[0] / rms[1]


@answer_check("12.5")
def check_dwell_prediction(answer):
    """Judge the predicted fall of the NNLS iron map's rms error from 100 to 1000 counts per
    pixel against the value measured on the 32×32 painting (within a factor 1.25)."""
    actual = _noise_factor()
    why = ("Counts are Poisson: their variance equals their mean, so ten times the dwell "
           "multiplies the signal by 10 and its noise by √10; the map divides by the dwell, "
           f"and its error falls by √10 ≈ {np.sqrt(10):.2f}. Measured here on the 32×32 "
           "painting.")
    ok, text = judge_number(answer, actual, why=why, factor=1.25, fmt=".2f")
    if not ok:
        if abs(float(answer) - 10) < 2:
            text += " A factor 10 would hold if the noise did not grow with the counts."
        elif 0 < float(answer) <= 1.2:
            text += " More counts always help: the error falls."
    return ok, text


# -- 12.6 the dwell time for a zinc map ---------------------------------------------------------------
@answer_check("12.6")
def check_dwell_experiment(answer, threshold: float = 0.9):
    """Judge the smallest counts level of the widget at which the deconvolution's Zn map has
    correlation ≥ 0.9, against :func:`course_utils.widgets.nb12.level_quality`."""
    from ..widgets.nb12 import COUNTS_LEVELS, level_quality

    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer,
                                                                       np.floating)):
        raise CheckFailure(f"min_counts must be a number, one of the slider's values "
                           f"{COUNTS_LEVELS}, got {type(answer).__name__} {answer!r}.")
    if not np.isfinite(float(answer)):
        raise CheckFailure(f"min_counts must be one of the slider's values {COUNTS_LEVELS}.")
    if float(answer) not in [float(c) for c in COUNTS_LEVELS]:
        raise CheckFailure(f"min_counts must be one of the slider's values {COUNTS_LEVELS}, "
                           f"got {answer!r}.")
    key = next(c for c in COUNTS_LEVELS if float(c) == float(answer))
    corr = {c: level_quality(c)["deconvolution"]["Zn"]["correlation"] for c in COUNTS_LEVELS}
    best = next((c for c in COUNTS_LEVELS if corr[c] >= threshold), None)
    table = ", ".join(f"{c}: {corr[c]:.2f}" for c in COUNTS_LEVELS)
    why = (f"Correlation of the deconvolution's Zn map by counts per pixel: {table}. Zinc is "
           "a thin retouching (about 1 % by mass) whose Kα sits between Cu Kβ and Hg Lℓ: it "
           "needs a longer dwell than the thick pigments, whose maps are good at far fewer "
           "counts.")
    if best is None:
        return False, "no level reaches the threshold. " + why
    if float(answer) == best:
        return True, f"{best} counts per pixel is the first level at ≥ {threshold}. " + why
    if float(answer) > best:
        return False, (f"{answer:g} works but is not the smallest: {best} counts already "
                       f"reach {corr[best]:.2f}, a shorter scan. " + why)
    return False, (f"at {key} counts the correlation is only {corr[key]:.2f}, below "
                   f"{threshold}. " + why)
