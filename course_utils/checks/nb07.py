"""Self-checks for notebook 07 (MRI undersampling patterns)."""
from __future__ import annotations

import numpy as np

from ..mri import _fft2c, _ifft2c, incoherence, psf, sampling_mask
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_fft2c", "check_masked_fft_adjoint", "check_variable_density_mask"]

HINTS = {
    "7.1": "np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x), norm='ortho')): shift the "
           "centre to the corner, transform orthonormally, shift back.",
    "7.2": "the adjoint of y = m * fft2c(x) is x = ifft2c(m * y): mask first, then the "
           "inverse (= adjoint) centred FFT.",
    "7.3": "sample the central round(center_fraction * M) rows, then draw the other rows "
           "without replacement with probabilities that decrease away from the centre "
           "(rng.choice(..., replace=False, p=...)).",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


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


@exercise_check("7.3", advice=_vd_advice,
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
