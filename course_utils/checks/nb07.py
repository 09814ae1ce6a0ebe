"""Self-checks for notebook 07 (MRI undersampling patterns)."""
from __future__ import annotations

import numpy as np

from ..mri import _fft2c, _ifft2c, incoherence, psf, sampling_mask
from ._base import (CheckFailure, _as_number, answer_check, as_result, call_student,
                    exercise_check, judge_best, judge_choice, judge_number, matches,
                    register_exercise, rel_error)

__all__ = ["check_fft2c", "check_masked_fft_adjoint", "check_replica_shift",
           "check_spiral_psf", "check_variable_density_mask", "check_center_fraction"]

register_exercise(
    "7.1", "implement",
    task="Complete my_fft2c(x): the centred, orthonormal 2-D FFT of an (M, N) array, with "
         "the zero frequency at index (M // 2, N // 2) and ||F x|| = ||x||, for odd sizes "
         "too.",
    hints=["np.fft.fft2 already computes the DFT; two things about it are not what we want: "
           "where it puts the zero frequency, and how it scales the result.",
           "np.fft.fft2 has a norm argument for the scaling; np.fft.fftshift and "
           "np.fft.ifftshift move the origin between the corner and the middle of an array.",
           "Shift the image centre to the corner with np.fft.ifftshift, transform with "
           "np.fft.fft2(..., norm='ortho'), and move the zero frequency to the middle with "
           "np.fft.fftshift; for odd sizes the two shifts differ, so keep that order."])
register_exercise(
    "7.2", "implement",
    task="Complete masked_fft_adjoint(y, mask): return A^H y for the undersampled model "
         "A x = mask * fft2c(x), a complex image of the shape of y.",
    hints=["A is the composition of two linear maps; the adjoint of a composition is the "
           "composition of the adjoints in reverse order.",
           "Multiplying by a real 0/1 mask is self-adjoint, and the adjoint of the "
           "orthonormal fft2c is its inverse, ifft2c.",
           "Apply the mask to y first, then the inverse centred FFT of the result."])
register_exercise(
    "7.3", "predict",
    task="Set replica_shift to your prediction: for a regular mask that keeps exactly every "
         "4th of the 96 phase-encode lines (no calibration lines), by how many pixels "
         "(rows) is the nearest aliased copy of the head shifted?",
    hints=["The zero-filled image is the true image convolved with the PSF, F^H m: where "
           "the PSF has peaks, copies of the image appear.",
           "A mask that keeps every R-th line is a comb in k-space; the Fourier transform of "
           "a comb is again a comb, and spacings invert: a fine comb in one domain is a "
           "coarse one in the other.",
           "Spacing R lines in k-space becomes spacing M / R pixels in the image; here M = "
           "96 rows and R = 4."])
register_exercise(
    "7.4", "interpret",
    task="Set spiral_reading to the letter (a string) of the reading of the spiral's PSF "
         "that explains why it has one of the smallest side lobes yet the worst "
         "zero-filled image of the five patterns.",
    hints=["Look at the spiral row: where is the PSF bright, and how many pixels does the "
           "bright structure cover compared with the peak?",
           "The side-lobe ratio is the height of the single highest alias. The error of the "
           "image depends on the total energy outside the peak, summed over all pixels.",
           "A faint ring far from the peak has hundreds of pixels: each is weak, together "
           "they carry more energy than the peak. Which option says that?"])
register_exercise(
    "7.5", "implement",
    task="Complete variable_density_mask(shape, acceleration, center_fraction, seed): a "
         "boolean mask of whole rows, round(M / acceleration) of them, the central "
         "round(center_fraction * M) rows always, the others drawn at random without "
         "replacement, more often near the centre.",
    hints=["Split the rows into the central block, which is always sampled, and the rest, "
           "from which you draw the missing number of rows.",
           "Give every non-central row a probability that falls with its distance to row "
           "M // 2 (zero for the central rows), normalise it to sum to 1, and draw with "
           "np.random.default_rng(seed).",
           "p = (1 - |row - M//2| / (M/2))**2 clipped above 0, p[central] = 0; rows = "
           "rng.choice(M, n_lines - n_center, replace=False, p=p / p.sum()); set "
           "mask[rows, :] and mask[central, :] to True."])
register_exercise(
    "7.6", "experiment",
    task="Set best_center_fraction to the centre fraction that gives the highest CS TV "
         "PSNR for the variable-density pattern at R = 4, noise-free, found with the "
         "widget's update function.",
    hints=["Call update(pattern='variable_density', acceleration=4, center_fraction=cf, "
           "sigma=0.0, cs='cs_tv') for each centre fraction the slider offers and read "
           "the 'psnr_cs' entry.",
           "At R = 4 only 24 of the 96 lines are measured, so a centre fraction above 0.25 "
           "is reduced to 0.25 (every line in the centre, the low-frequency mask).",
           "Print psnr_zero_filled and psnr_cs side by side: the two do not peak at the "
           "same centre fraction. Answer with the one where psnr_cs is largest."])

def _random_complex(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _fft_advice(exc):
    if "norm" in str(exc):
        return "np.fft.fft2 takes norm='ortho' (a string) for the orthonormal scaling."
    return None


@exercise_check("7.1", advice=_fft_advice,
                success="centred, orthonormal, and correct for odd sizes too.")
def check_fft2c(fft2c) -> str | None:
    """Check ``fft2c(x) -> k``, the centred orthonormal 2-D FFT.

    Parameters
    ----------
    fft2c : callable
        The student's function: ``x`` of shape (M, N), real or complex; returns the
        k-space of the same shape with the zero frequency at ``(M // 2, N // 2)``.

    Returns
    -------
    bool
        True when it equals :func:`course_utils.mri.fft2c` on an even and an odd shape;
        prints what is wrong otherwise (never raises).
    """
    for shape, seed in (((8, 6), 1), ((7, 5), 2)):
        x = _random_complex(shape, seed)
        out = call_student(fft2c, x.copy(), called_with=f"a complex x of shape {shape}")
        k = as_result(out, shape=shape, what="fft2c(x)", allow_complex=True)
        if not np.iscomplexobj(k):
            raise CheckFailure("fft2c(x) returned a real array: k-space is complex (keep "
                               "the result of np.fft.fft2; no np.abs or .real).")
        ref = _fft2c(x)
        if matches(k, ref, 1e-8):
            continue
        M, N = shape
        size = np.sqrt(M * N)
        plain = np.fft.fft2(x)
        if matches(k, ref * size, 1e-8):
            raise CheckFailure(f"your k-space is √(MN) = {size:.3g} times too large: use "
                               "norm='ortho' so that ‖fft2c(x)‖ = ‖x‖ (Parseval).")
        if matches(k, ref / size, 1e-8):
            raise CheckFailure(f"your k-space is √(MN) = {size:.3g} times too small: with "
                               "norm='ortho' there is no extra division.")
        if matches(k, plain / size, 1e-8) or matches(k, plain, 1e-8):
            raise CheckFailure("the zero frequency is in the corner k[0, 0]: centre it with "
                               "np.fft.fftshift after the transform (and ifftshift before).")
        if matches(k, np.fft.fftshift(plain, axes=(0, 1)) / size, 1e-8):
            raise CheckFailure("you shifted the output but not the input: without "
                               "np.fft.ifftshift(x) first, the image centre (M//2, N//2) "
                               "is not the origin and every sample gets a phase ramp.")
        if matches(k, np.fft.ifftshift(np.fft.fft2(np.fft.fftshift(x)), axes=(0, 1)) / size,
                   1e-8):
            if M % 2:
                raise CheckFailure(f"fftshift and ifftshift are swapped; they differ only "
                                   f"for odd sizes, like this {shape} test: ifftshift "
                                   "before the FFT, fftshift after it.")
        if any(matches(k, _ifft2c(x) * f, 1e-8) for f in (1.0, size, 1.0 / size)):
            raise CheckFailure("that is the inverse transform (ifft2): image → k-space uses "
                               "np.fft.fft2.")
        raise CheckFailure(f"for x of shape {shape} your result differs from the centred "
                           f"orthonormal FFT by {rel_error(k, ref):.1e} (relative).")
    return None


@exercise_check("7.2", success="the dot test <A x, y> = <x, A^H y> holds to round-off.")
def check_masked_fft_adjoint(masked_fft_adjoint) -> str | None:
    """Check ``masked_fft_adjoint(y, mask) -> x``, the adjoint of ``x ↦ mask ⊙ fft2c(x)``.

    Parameters
    ----------
    masked_fft_adjoint : callable
        The student's function: complex ``y`` (M, N) and a 0/1 ``mask`` (M, N); returns
        a complex image (M, N).

    Returns
    -------
    bool
        True when the dot test ``<A x, y> = <x, Aᴴ y>`` holds for random complex ``x``
        and ``y`` (``y`` is *not* zero outside the mask, so a forgotten mask shows);
        prints what is wrong otherwise (never raises).
    """
    shape = (12, 10)
    mask = sampling_mask("variable_density", shape, 3.0, 0.2, seed=3)
    x = _random_complex(shape, 4)
    y = _random_complex(shape, 5)
    out = call_student(masked_fft_adjoint, y.copy(), mask.copy(),
                       called_with="a complex y (12, 10) and a 0/1 mask")
    aty = as_result(out, shape=shape, what="masked_fft_adjoint(y, mask)", allow_complex=True)
    if not np.iscomplexobj(aty):
        raise CheckFailure("masked_fft_adjoint returned a real array: A^H y is a complex "
                           "image (keep the phase; no np.abs or .real).")
    lhs = np.vdot(y, mask * _fft2c(x))      # <A x, y>
    rhs = np.vdot(aty, x)                   # <x, A^H y>
    gap = abs(lhs - rhs) / (np.linalg.norm(mask * _fft2c(x)) * np.linalg.norm(y))
    ref = _ifft2c(mask * y)
    if gap <= 1e-10 and matches(aty, ref, 1e-8):
        return None
    if matches(aty, _ifft2c(y), 1e-8):
        raise CheckFailure("you forgot the mask: A^H y = ifft2c(mask * y). Unmeasured "
                           "entries of y must not reach the image (the dot test gap is "
                           f"{gap:.1e}).")
    if matches(aty, _fft2c(mask * y), 1e-8):
        raise CheckFailure("you applied the forward FFT: the adjoint of an orthonormal "
                           "transform is its inverse, ifft2c.")
    M, N = shape
    for factor in (np.sqrt(M * N), 1 / np.sqrt(M * N), M * N, 1 / (M * N)):
        if matches(aty, ref * factor, 1e-8):
            raise CheckFailure(f"right direction, wrong scale (off by {factor:.3g}): with "
                               "norm='ortho' the inverse needs no extra factor.")
    if matches(aty, np.conj(ref), 1e-8):
        raise CheckFailure("your result is the complex conjugate of the adjoint: do not "
                           "conjugate y or the output.")
    raise CheckFailure(f"the dot test fails: |<Ax, y> − <x, A^H y>| / (‖Ax‖‖y‖) = {gap:.1e} "
                       "(should be ~1e-16); your A^H y differs from ifft2c(mask * y) by "
                       f"{rel_error(aty, ref):.1e} (relative).")


def _vd_advice(exc):
    text = str(exc)
    if "probabilities" in text or "p must" in text or "sum to 1" in text:
        return ("rng.choice needs probabilities p >= 0 that sum to 1 over the rows you "
                "draw from: set p = 0 on the central rows and divide by p.sum().")
    if "Cannot take a larger sample" in text or "non-zero entries" in text:
        return ("you ask rng.choice for more rows than have a non-zero probability: the "
                "outermost rows may need a small positive probability.")
    return None


@exercise_check("7.5", advice=_vd_advice,
                success="whole phase-encode lines, the right count, a full centre, a "
                        "density that falls off, and incoherent aliasing.")
def check_variable_density_mask(variable_density_mask) -> str | None:
    """Check ``variable_density_mask(shape, acceleration, center_fraction, seed) -> mask``.

    Parameters
    ----------
    variable_density_mask : callable
        The student's function; returns a boolean (or 0/1) array of ``shape`` that
        samples whole rows (phase-encode lines): ``round(M / R)`` of them, the central
        ``round(center_fraction · M)`` rows included, the others drawn at random with a
        density that decreases away from the centre.

    Returns
    -------
    bool
        True when all the properties hold (checked on several seeds); prints the first
        that fails otherwise (never raises).
    """
    shape, r, cf = (128, 96), 4.0, 0.08
    M = shape[0]
    n_lines, n_center = int(round(M / r)), int(round(cf * M))
    centre = np.arange(M // 2 - n_center // 2, M // 2 - n_center // 2 + n_center)
    counts = np.zeros(M)
    masks = []
    for seed in range(20):
        out = call_student(variable_density_mask, shape, r, cf, seed,
                           called_with=f"shape={shape}, acceleration=4, "
                                       f"center_fraction=0.08, seed={seed}")
        m = as_result(out, shape=shape, what="variable_density_mask(...)")
        if not np.all((m == 0) | (m == 1)):
            raise CheckFailure("the mask must contain only 0/1 (or True/False).")
        m = m.astype(bool)
        rows = m.any(axis=1)
        if not np.array_equal(m, np.repeat(rows[:, None], shape[1], axis=1)):
            raise CheckFailure("some rows are only partly sampled: a 2-D acquisition "
                               "reads whole phase-encode lines, so set mask[row, :] = True.")
        if abs(int(rows.sum()) - n_lines) > 1:
            raise CheckFailure(f"with M = {M} rows and R = 4 you should sample about "
                               f"round(M / R) = {n_lines} rows, got {int(rows.sum())} "
                               f"(seed {seed}).")
        if not rows[centre].all():
            raise CheckFailure(f"the {n_center} central rows (round(center_fraction * M), "
                               f"around row M // 2 = {M // 2}) must all be sampled: they "
                               "hold most of the energy and make the aliasing incoherent.")
        counts += rows
        masks.append(m)
    if all(np.array_equal(masks[0], m) for m in masks[1:]):
        raise CheckFailure("every seed gives the same mask: draw the rows with "
                           "np.random.default_rng(seed).")
    outer = np.setdiff1d(np.arange(M), centre)
    dist = np.abs(outer - M // 2)
    near = counts[outer[dist <= np.percentile(dist, 33)]].mean()
    far = counts[outer[dist >= np.percentile(dist, 67)]].mean()
    if near <= 1.3 * far:
        raise CheckFailure(f"outside the centre, rows near k = 0 are sampled about as often "
                           f"({near / 20:.2f} of the seeds) as rows near the edge "
                           f"({far / 20:.2f}): make the probability decrease with the "
                           "distance to the centre (variable density).")
    inc = incoherence(psf(masks[0]))
    reg = incoherence(psf(sampling_mask("cartesian_regular", shape, r, cf)))
    if inc >= reg:
        raise CheckFailure(f"the PSF side lobe of your mask ({inc:.2f}) is not below that "
                           f"of a regular mask ({reg:.2f}): the aliasing is still coherent.")
    return (f"(side lobe {inc:.2f} against {reg:.2f} for a regular mask; rows near the "
            f"centre are sampled {near / far:.1f}× as often as near the edge)")


# -- 7.3: predict where the aliases of a regular mask fall -----------------------------------
_SHIFT_SHAPE, _SHIFT_R = (96, 96), 4


def _replica_offsets(shape=_SHIFT_SHAPE, acceleration=_SHIFT_R) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets (from the peak) of the PSF peaks of a regular mask without calibration
    lines, and their heights relative to the peak."""
    M, N = shape
    mask = sampling_mask("cartesian_regular", shape, acceleration, 0.08, calibration=False)
    profile = np.abs(psf(mask))[:, N // 2]
    peak = int(np.argmax(profile))
    rows = np.nonzero(profile >= 0.5 * profile[peak])[0]
    offsets = (rows - peak + M // 2) % M - M // 2        # signed, in (-M/2, M/2]
    return offsets, profile[rows] / profile[peak]


@answer_check("7.3")
def check_replica_shift(replica_shift):
    """Judge the predicted shift (in rows) of the nearest alias of a regular 4× mask.

    Parameters
    ----------
    replica_shift : float
        The student's prediction, in pixels. A shift by ``s`` and by ``M − s`` are the
        same circular shift, so both count.

    Returns
    -------
    bool
        True when it is within half a pixel of the nearest PSF replica, computed from
        :func:`course_utils.mri.psf` of the mask; prints why in any case (never raises).
    """
    value = _as_number(replica_shift, "replica_shift")
    M = _SHIFT_SHAPE[0]
    offsets, heights = _replica_offsets()
    others = np.abs(offsets[offsets != 0])
    if others.size == 0:
        raise CheckFailure("the PSF of the regular mask shows no replica; please report "
                           "this to the course maintainers.")
    nearest = int(others.min())
    listed = ", ".join(f"{int(o):+d}" for o in sorted(offsets[offsets != 0]))
    why = (f"Keeping every R-th line multiplies k-space by a comb of period R = {_SHIFT_R} "
           f"lines; its Fourier transform is a comb of period M / R = {M} / {_SHIFT_R} = "
           f"{M // _SHIFT_R} pixels. The PSF has peaks as high as the centre "
           f"({heights.min():.2f} of it) at row offsets {listed}, so the zero-filled image "
           f"is {offsets.size} copies of the head, {nearest} rows apart along the "
           "phase-encode direction.")
    circular = value % M
    reduced = min(circular, M - circular)
    if abs(value - _SHIFT_R) <= 0.5:
        why = (f"{_SHIFT_R} is the spacing of the measured lines in k-space, not in the "
               "image: spacings invert under the Fourier transform. " + why)
    elif abs(reduced - 2 * nearest) <= 0.5 and 2 * nearest < M / 2 + 0.5:
        why = (f"there is a copy {2 * nearest} rows away, but it is the second one; the "
               f"nearest is half as far. " + why)
    elif 0 < abs(value) < 1:
        why = ("the shift is a number of pixels (rows), not a fraction of the field of "
               f"view: 1/R of {M} rows. " + why)
    elif reduced <= 0.5:
        why = ("a shift of 0 (or of the whole field of view, M) would put the copy on top "
               "of the image, and there would be no wrap-around to see. " + why)
    ok, text = judge_number(reduced, float(nearest), abs_tol=0.5, what="replica_shift",
                            why=why, fmt=".3g")
    if reduced != value and abs(value) >= 1:
        text = (f"a shift by {value:g} rows wraps around the {M} rows to {reduced:g}; "
                + text)
    return ok, text


# -- 7.4: read the spiral's PSF ---------------------------------------------------------------
def _spiral_psf_numbers(shape=(96, 96), acceleration=4.0) -> dict:
    from ..mri_recon import acquire, quality, reconstruct, sampling, test_image

    acq = sampling("spiral", shape, acceleration)
    p = np.abs(acq.psf())
    energy = p ** 2
    peak = np.unravel_index(int(np.argmax(p)), p.shape)
    rows, cols = np.indices(p.shape)
    r = np.hypot(rows - peak[0], cols - peak[1])
    far = r >= shape[0] / 4
    ring = energy * far
    ring_radius = float((r * ring).sum() / ring.sum()) if ring.sum() > 0 else 0.0
    x = test_image("mri_slice", shape[0])
    low = sampling("low_frequency", shape, acceleration)
    q_low = quality(x, reconstruct(acquire(x, low), low, "zero_filled"))
    q_spiral = quality(x, reconstruct(acquire(x, acq), acq, "zero_filled"))
    return {"side_lobe": incoherence(acq.psf()), "peak_fraction": float(
                energy[r < 2].sum() / energy.sum()),
            "far_fraction": float(ring.sum() / energy.sum()), "ring_radius": ring_radius,
            "far_pixels": int((p[far] >= 0.02 * p.max()).sum()),
            "far_max": float(p[far].max() / p.max()), "psnr_low": q_low["psnr"],
            "psnr_spiral": q_spiral["psnr"], "ssim_spiral": q_spiral["ssim"]}


@answer_check("7.4")
def check_spiral_psf(spiral_reading):
    """Judge the reading of the spiral's point-spread function (a letter).

    Parameters
    ----------
    spiral_reading : str
        ``"a"``, ``"b"``, ``"c"`` or ``"d"`` (see the notebook).

    Returns
    -------
    bool
        True for the reading the PSF supports; every option is explained with numbers
        measured on the spiral's PSF at R = 4 (never raises).
    """
    n = _spiral_psf_numbers()
    facts = (f"The spiral's PSF keeps {n['peak_fraction']:.0%} of its energy in the peak; "
             f"{n['far_fraction']:.0%} lies in a ring about {n['ring_radius']:.0f} pixels "
             f"away, whose highest pixel is only {n['far_max']:.2f} of the peak but which "
             f"spans {n['far_pixels']} pixels above 2 % of it.")
    ring_wins = n["far_fraction"] > n["peak_fraction"]
    options = {
        "a": (False, "a wide main lobe would blur the image the way low-frequency sampling "
                     f"does, and that pattern scores {n['psnr_low']:.2f} dB, far above the "
                     f"spiral's {n['psnr_spiral']:.2f} dB. The spiral's main lobe is as "
                     "narrow as the radial one. " + facts),
        "b": (ring_wins, ("yes. " if ring_wins else "not here: ") + facts + " The side-lobe "
              "ratio only sees the highest alias; the error sums the energy of all of "
              "them. Every point of the head is smeared around a circle almost as wide as "
              "the field of view, so the error swirls over the whole image and lifts the "
              f"background: {n['psnr_spiral']:.2f} dB, SSIM {n['ssim_spiral']:.3f}."),
        "c": (False, "coherent replicas are distinct peaks at a fixed shift, as in the "
                     "regular mask's profile; the spiral's profile along k_y shows none, "
                     "and its ring is the same in every direction. " + facts),
        "d": (False, "a small side-lobe ratio does not make an image good: it is the height "
                     "of one pixel of the PSF. SSIM agrees with PSNR that the spiral is "
                     f"worst (SSIM {n['ssim_spiral']:.3f}), so the metric is not the "
                     "problem. " + facts),
    }
    return judge_choice(spiral_reading, options)


# -- 7.6: find the best centre fraction --------------------------------------------------------
#: Centre fractions judged by check_center_fraction: the widget's slider up to the budget of
#: R = 4 (0.25 = all 24 lines in the centre), and a few in between.
CENTRE_GRID = (0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.16, 0.2, 0.25)


def centre_fraction_scores(acceleration=4, grid=CENTRE_GRID, *, size=96, seed=0,
                           num_iters=25) -> dict:
    """``{centre fraction: (zero-filled PSNR, CS TV PSNR)}`` of the variable-density mask on
    the MRI slice, computed as the notebook 07 widget does (noise-free, default λ)."""
    from ..mri_recon import acquire, default_lam, quality, reconstruct, sampling, test_image

    x = test_image("mri_slice", size)
    out = {}
    for cf in grid:
        acq = sampling("variable_density", (size, size), acceleration, cf, seed)
        y = acquire(x, acq, 0.0, seed=seed)
        zf = reconstruct(y, acq, "zero_filled")
        cs = reconstruct(y, acq, "cs_tv", lam=default_lam("cs_tv", 0.0), num_iters=num_iters)
        out[cf] = (quality(x, np.abs(zf))["psnr"], quality(x, np.abs(cs))["psnr"])
    return out


@answer_check("7.6")
def check_center_fraction(best_center_fraction):
    """Judge the centre fraction found by experiment (variable density, R = 4, CS TV).

    Parameters
    ----------
    best_center_fraction : float
        In (0, 1]; values above 0.25 are what the widget reduces to 0.25.

    Returns
    -------
    bool
        True when its CS TV PSNR is within 0.3 dB of the best of :data:`CENTRE_GRID`,
        recomputed here; explains the trade-off whatever the answer (never raises).
    """
    value = _as_number(best_center_fraction, "best_center_fraction")
    if not 0 < value <= 1:
        raise CheckFailure(f"a centre fraction is in (0, 1], got {value:g}.")
    note = ""
    if value > max(CENTRE_GRID):
        note = (f"At R = 4 only 24 of the 96 lines are measured, so {value:g} is reduced to "
                f"{max(CENTRE_GRID):g} (all lines in the centre). ")
        value = max(CENTRE_GRID)
    scores = centre_fraction_scores()
    cs = {cf: s[1] for cf, s in scores.items()}
    zf = {cf: s[0] for cf, s in scores.items()}
    best_cs = max(cs, key=cs.get)
    best_zf = max(zf, key=zf.get)
    lo, hi = min(CENTRE_GRID), max(CENTRE_GRID)
    why = (f"{note}Zero-filling alone likes the centre best ({best_zf:g}: {zf[best_zf]:.2f} dB; "
           f"{lo:g}: {zf[lo]:.2f} dB), but CS TV peaks at {best_cs:g} ({cs[best_cs]:.2f} dB) "
           f"and falls to {cs[hi]:.2f} dB with every line in the centre and to "
           f"{cs[lo]:.2f} dB with almost none. Too small a centre loses the low "
           "frequencies that hold the contrast, which no prior restores; too large a "
           "centre leaves no random outer lines, so the missing high frequencies become "
           "blur, which TV cannot tell from the image. The balance between the two makes "
           "the aliasing incoherent while keeping the energy.")
    return judge_best(value, cs, why=why, what="best_center_fraction", tolerance=0.3,
                      unit=" dB", fmt=".3g")
