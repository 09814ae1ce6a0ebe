"""Self-checks for notebook 08 (CT sparse view): back-projection and the ramp filter."""
from __future__ import annotations

import numpy as np

from ..ct import fbp_filter
from ..operators.ct import Radon
from ._base import register_exercise, CheckFailure, as_result, call_student, exercise_check, matches, rel_error

__all__ = ["check_back_projection", "check_ramp_filter", "pixel_back_projection",
           "pixel_projection"]

HINTS = {
    "8.1": "for each view a, t = (c - N//2) cos θ - (r - M//2) sin θ with θ in radians; "
           "add np.interp(t + D//2, np.arange(D), y[:, a], left=0, right=0) to the image.",
    "8.2": "h = zeros(size); n = minimum(k, size - k); h[0] = 1/4; h[odd n] = -1/(π n)²; "
           "return np.real(np.fft.fft(h)).",
}

for _id, _hint in HINTS.items():  # interim: one-tier hints, tasks still to write
    register_exercise(_id, "implement", "write the function described above.", [_hint, _hint])


# -- the pixel-driven pair ----------------------------------------------------------------

def _detector_positions(angles, shape, num_detectors):
    """Position ``u = t + D // 2`` (in detector bins) of every pixel, one row per view."""
    M, N = shape
    rows, cols = np.mgrid[:M, :N]
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64))
    t = ((cols - N // 2)[None] * np.cos(theta)[:, None, None]
         - (rows - M // 2)[None] * np.sin(theta)[:, None, None])
    return t.reshape(theta.size, -1) + num_detectors // 2


def pixel_back_projection(y, angles, shape) -> np.ndarray:
    """Pixel-driven back-projection: every pixel adds, for each view, the projection
    linearly interpolated where the ray through it meets the detector (0 off the detector).

    Parameters
    ----------
    y : ndarray of shape (D, K)
        Sinogram in the layout of :class:`~course_utils.operators.Radon`.
    angles : array_like of float, shape (K,)
        Angles in degrees.
    shape : tuple of int
        Image shape ``(M, N)``; the rotation axis is pixel ``(M // 2, N // 2)``.

    Returns
    -------
    ndarray of shape (M, N)
    """
    y = np.asarray(y, dtype=np.float64)
    D = y.shape[0]
    u = _detector_positions(angles, shape, D)
    out = np.zeros(u.shape[1])
    grid = np.arange(D)
    for a in range(u.shape[0]):
        out += np.interp(u[a], grid, y[:, a], left=0.0, right=0.0)
    return out.reshape(shape)


def pixel_projection(x, angles, num_detectors: int) -> np.ndarray:
    """The exact transpose of :func:`pixel_back_projection` ("splatting"): each pixel
    sends its value to the two detector bins around ``u``, with linear weights."""
    x = np.asarray(x, dtype=np.float64)
    u = _detector_positions(angles, x.shape, num_detectors)
    y = np.zeros((num_detectors, u.shape[0]))
    values = x.ravel()
    for a in range(u.shape[0]):
        inside = (u[a] >= 0) & (u[a] <= num_detectors - 1)
        j = np.floor(u[a][inside]).astype(int)
        f = u[a][inside] - j
        v = values[inside]
        np.add.at(y[:, a], j, (1.0 - f) * v)
        nxt = j + 1 < num_detectors
        np.add.at(y[:, a], j[nxt] + 1, f[nxt] * v[nxt])
    return y


def _variant_back_projection(y, angles, shape, mistake):
    """Back-projections with one classic mistake each, to recognise them."""
    y = np.asarray(y, dtype=np.float64)
    D = y.shape[0]
    M, N = shape
    rows, cols = np.mgrid[:M, :N]
    theta = np.asarray(angles, dtype=np.float64)
    theta = theta if mistake == "degrees" else np.deg2rad(theta)
    out = np.zeros(shape)
    for a, th in enumerate(theta):
        if mistake == "sign":
            t = (cols - N // 2) * np.cos(th) + (rows - M // 2) * np.sin(th)
        elif mistake == "swap":
            t = (rows - M // 2) * np.cos(th) - (cols - N // 2) * np.sin(th)
        else:
            t = (cols - N // 2) * np.cos(th) - (rows - M // 2) * np.sin(th)
        u = t + (0 if mistake == "centre" else (D - 1) / 2 if mistake == "half" else D // 2)
        if mistake == "nearest":
            idx = np.rint(u).astype(int)
            ok = (idx >= 0) & (idx < D)
            out[ok] += y[idx[ok], a]
        elif mistake == "clamp":
            out += np.interp(u, np.arange(D), y[:, a])
        else:
            out += np.interp(u, np.arange(D), y[:, a], left=0.0, right=0.0)
    if mistake == "mean":
        out /= theta.size
    if mistake == "fbp_scale":
        out *= np.pi / theta.size
    return out


_BP_MISTAKES = {
    "degrees": "np.cos and np.sin take radians: convert the angles with np.deg2rad first "
               "(the views were spread over 180 radians, not 180°).",
    "sign": "the ray through pixel (r, c) meets the detector at t = (c − N//2) cos θ "
            "− (r − M//2) sin θ: row indices grow downwards, so the sine term has a minus "
            "sign. With a plus the image comes out mirrored.",
    "swap": "rows and columns are swapped: the column offset (c − N//2) goes with cos θ, "
            "the row offset (r − M//2) with sin θ.",
    "centre": "t is a signed distance to the rotation axis, but y is indexed from 0: "
              "look the projection up at index t + D//2, the axis bin.",
    "half": "the axis is detector bin D//2 (an integer, as in the Radon operator), not "
            "(D − 1)/2.",
    "nearest": "you took the nearest detector bin; interpolate linearly between the two "
               "bins around t + D//2 (np.interp), as the projector does.",
    "clamp": "np.interp repeats the end values outside the detector by default: pass "
             "left=0, right=0 so that rays that miss the detector contribute nothing.",
    "mean": "you divided by the number of views: the adjoint sums over views. (FBP scales "
            "by π/K, but that is part of the inversion formula, not of Rᵀ.)",
    "fbp_scale": "you scaled by π/K, the angular step of FBP: the adjoint itself is the "
                 "plain sum over views.",
}


def _bp_advice(exc):
    text = str(exc)
    if "interp" in text or "object too deep" in text or "fp and xp" in text:
        return ("np.interp(u, xp, fp) takes 1-D xp and fp: pass y[:, a], one view at a "
                "time, and u of any shape.")
    return None


@exercise_check("8.1", advice=_bp_advice,
                success="your back-projection passes the dot test against the "
                        "pixel-driven projector.")
def check_back_projection(back_project) -> str | None:
    """Check ``back_project(y, angles, shape) -> image``, the pixel-driven back-projection.

    Parameters
    ----------
    back_project : callable
        The student's function: ``y`` of shape (D, K) (detectors × views), ``angles`` in
        degrees of shape (K,), ``shape = (M, N)``; returns an (M, N) image.

    Returns
    -------
    bool
        True when the result is the adjoint of the pixel-driven projector (dot test
        ``|⟨P x, y⟩ − ⟨x, B y⟩| ≤ 1e-10 ‖P x‖ ‖y‖`` on a non-square image with more
        detector bins than columns and scattered angles); prints what is wrong otherwise.
    """
    rng = np.random.default_rng(8)
    shape, D = (24, 30), 36
    angles = np.array([0.0, 17.0, 45.0, 90.0, 118.0, 151.0])
    x = rng.standard_normal(shape)
    y = rng.standard_normal((D, angles.size))
    out = call_student(back_project, y.copy(), angles.copy(), shape,
                       called_with="y of shape (36, 6), 6 angles, shape (24, 30)")
    if out is not None and np.shape(out) == shape[::-1]:
        raise CheckFailure("your image has shape (30, 24) for shape = (24, 30): arrays are "
                           "(rows, columns), so np.mgrid[:M, :N] gives the row and column "
                           "index of every pixel.")
    bx = as_result(out, shape=shape, what="back_project(y, angles, shape)")
    px = pixel_projection(x, angles, D)
    gap = abs(np.sum(px * y) - np.sum(x * bx)) / (np.linalg.norm(px) * np.linalg.norm(y))
    reference = pixel_back_projection(y, angles, shape)
    if gap <= 1e-10 and matches(bx, reference, 1e-8):
        op = Radon(shape, angles, D)
        rx = op(x)
        gap_joseph = abs(np.sum(rx * y) - np.sum(x * bx)) / (np.linalg.norm(rx)
                                                             * np.linalg.norm(y))
        return (f"Dot-test gap {gap:.0e}. Against the course's ray-driven Radon operator "
                f"the same test gives {gap_joseph:.0e}, and op.adjoint gives "
                f"{op.adjointness_test():.0e}: two discretisations of R and Rᵀ are close, "
                "not an exact pair — iterative methods need the exact one.")
    for mistake, message in _BP_MISTAKES.items():
        if matches(bx, _variant_back_projection(y, angles, shape, mistake), 1e-8):
            raise CheckFailure(f"the dot test fails (gap {gap:.1e}, should be ~1e-16): "
                               f"{message}")
    raise CheckFailure(
        f"the dot test fails: |⟨P x, y⟩ − ⟨x, B y⟩| / (‖P x‖ ‖y‖) = {gap:.1e} (should be "
        f"~1e-16), and your image is {rel_error(bx, reference):.1e} away from the "
        "reference (relative). For each view, every pixel (r, c) must receive "
        "y[:, a] linearly interpolated at t + D//2 with "
        "t = (c − N//2) cos θ − (r − M//2) sin θ.")


# -- the ramp filter ------------------------------------------------------------------------

def _ramp_variants(size):
    freqs = np.fft.fftfreq(size)
    k = np.arange(size)
    n_circ = np.minimum(k, size - k)

    def from_kernel(n, h0=0.25):
        h = np.zeros(size)
        h[0] = h0
        odd = n % 2 == 1
        h[odd] = -1.0 / (np.pi * n[odd]) ** 2
        return np.real(np.fft.fft(h))

    reference = from_kernel(n_circ)
    return {
        "sampled": (np.abs(freqs),
                    "you sampled |f| directly. Its value at f = 0 is exactly 0, so the "
                    "mean of every projection is lost and FBP comes out with a negative "
                    "bias (a cupping offset). Build the band-limited spatial kernel of "
                    "Kak & Slaney, h(0) = 1/4, h(n) = −1/(πn)² for odd n, and take its "
                    "DFT: that is |f| up to a small positive value at f = 0."),
        "double": (2 * reference,
                   "your response is twice the reference: h(0) = 1/4 gives |f| in cycles "
                   "per sample (skimage's iradon uses 2|f| and divides by 2K instead)."),
        "shifted": (np.fft.fftshift(reference),
                    "your response is the reference shifted by half the band: either it is "
                    "centred (fftshift) — keep the order of np.fft.fftfreq, zero frequency "
                    "first — or the odd taps have the wrong sign: h(n) = −1/(πn)², the "
                    "ramp subtracts the neighbours (a high-pass filter)."),
        "not_circular": (from_kernel(k),
                         "h must be even and circular: on the FFT grid sample k stands for "
                         "n = min(k, size − k) (negative n wrap around to the end)."),
        "no_dc": (from_kernel(n_circ, h0=0.0),
                  "you left h(0) = 0: the centre tap is 1/4."),
    }


@exercise_check("8.2", success="your ramp filter matches the reference "
                                             "response.")
def check_ramp_filter(ramp_filter) -> str | None:
    """Check ``ramp_filter(size) -> response``, the band-limited ramp on the FFT grid.

    Parameters
    ----------
    ramp_filter : callable
        The student's function: ``size`` even; returns the real response of shape
        (size,) in the order of ``np.fft.fftfreq(size)``.

    Returns
    -------
    bool
        True when the response equals :func:`course_utils.ct.fbp_filter` ``("ramp",
        size)`` for sizes 8, 64 and 256; prints what is wrong otherwise.
    """
    for size in (64, 8, 256):
        out = call_student(ramp_filter, size, called_with=f"size = {size}")
        response = as_result(out, what=f"ramp_filter({size})")
        if response.shape != (size,):
            raise CheckFailure(f"ramp_filter({size}) must return {size} values, one per "
                               f"frequency of np.fft.fftfreq({size}); got shape "
                               f"{response.shape}")
        _, reference = fbp_filter("ramp", size)
        if matches(response, reference, 1e-10):
            continue
        for _, (variant, message) in _ramp_variants(size).items():
            if matches(response, variant, 1e-8):
                raise CheckFailure(f"for size = {size}, {message}")
        raise CheckFailure(
            f"for size = {size} your response is {rel_error(response, reference):.1e} "
            f"away from the reference (relative); at f = 0 yours is {response[0]:.4g}, "
            f"the reference {reference[0]:.4g} (small and positive), and "
            f"at the Nyquist frequency yours is {response[size // 2]:.4g}, the reference "
            f"{reference[size // 2]:.4g} (≈ 1/2).")
    freqs = np.fft.fftfreq(256)
    _, reference = fbp_filter("ramp", 256)
    return (f"At f = 0 it is {reference[0]:.2e} rather than 0, and it deviates from |f| by "
            f"at most {np.max(np.abs(reference - np.abs(freqs))):.1e}.")
