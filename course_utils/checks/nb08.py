"""Self-checks for notebook 08 (CT sparse view): back-projection, the ramp filter, the
streaks of sparse views, how few views TV needs, and TV against the learned network."""
from __future__ import annotations

import functools

import numpy as np

from ..ct import fbp_filter
from ..operators.ct import Radon
from ._base import (CheckFailure, _as_number, answer_check, as_result, call_student,
                    exercise_check, judge_choice, matches, register_exercise, rel_error)

__all__ = ["check_back_projection", "check_ramp_filter", "check_streaks",
           "check_fewest_views_tv", "check_tv_or_network", "pixel_back_projection",
           "pixel_projection"]

register_exercise(
    "8.1", "implement",
    task="Complete back_project(y, angles, shape): the pixel-driven back-projection of a "
         "sinogram y (detectors × views, angles in degrees) onto an image of shape (M, N), "
         "the exact transpose of a projector that splats each pixel linearly onto the two "
         "nearest detector bins.",
    hints=["Loop over the views. For one view, every pixel needs the detector position "
           "t of the ray through it (the formula above) and the value of y[:, a] there.",
           "np.mgrid[:M, :N] gives the row and the column of every pixel; convert the "
           "angles to radians; t is a signed distance from the axis, bin D // 2.",
           "Add np.interp(t + D // 2, np.arange(D), y[:, a], left=0, right=0) to the "
           "image for every view a, with t = (c − N//2) cos θ − (r − M//2) sin θ."])
register_exercise(
    "8.2", "implement",
    task="Complete ramp_filter(size): the real frequency response of the band-limited "
         "(Kak–Slaney) ramp filter on the FFT grid of even length size, in the order of "
         "np.fft.fftfreq(size).",
    hints=["Do not sample |f| directly: build the spatial kernel h(n) given above on an "
           "array of length size, then take its DFT.",
           "On the FFT grid, index k stands for n = min(k, size − k): negative n wrap "
           "around to the end. Only n = 0 and odd n are non-zero.",
           "h = zeros(size); h[0] = 1/4; for odd n, h = −1/(π n)²; return "
           "np.real(np.fft.fft(h))."])
register_exercise(
    "8.3", "interpret",
    task="Set streak_reading to the letter (a string) of the statement that describes "
         "the streaks of the sparse-view FBP images and their error maps.",
    hints=["Compare the error maps of 18 and 180 views: where does the error sit, inside "
           "the head or also outside it, and what shape does it have?",
           "The data here are noise-free, and rerunning the cell gives the same image "
           "exactly. The Fourier plane is known on K spokes; what does back-projecting a "
           "few views do to a sharp edge?",
           "Each projection is smeared back along straight lines; with few views the lines "
           "from a strong edge are no longer cancelled by those of neighbouring views."])
register_exercise(
    "8.4", "experiment",
    task="Set fewest_views_tv to the smallest number of views K with which TV "
         "(ct_learned.tv_ct, λ = ct_learned.tv_lam(K), default iterations) reconstructs "
         "the Shepp–Logan phantom x64 from noise-free ct_learned.simulate_sinogram(x_fine, "
         "K) with a PSNR of at least 28 dB.",
    hints=["FBP needs more than 30 views for 28 dB (section 5). Try a loop over K, starting "
           "small, and print psnr(x64, ...) for each.",
           "For each K: y = ct_learned.simulate_sinogram(x_fine, K), then "
           "ct_learned.tv_ct(y, ct_learned.tv_lam(K)); stop at the first K that reaches 28 dB.",
           "The answer is between 5 and 20; the PSNR is not exactly monotone in K, so "
           "answer with the first K that reaches 28 dB, not one after it."])
register_exercise(
    "8.5", "predict",
    task="Set tv_or_network to your prediction, 'a' (TV) or 'b' (the FBPConvNet): which "
         "has the higher PSNR on the held-out ellipse phantom at 18 noise-free views?",
    hints=["Think about what each method assumes: TV a piecewise-constant image, the network "
           "whatever its training phantoms looked like.",
           "The held-out phantom is made of flat ellipses, the model TV is built on. The "
           "network starts from the FBP, and at 18 views the FBP is full of streaks.",
           "With 18 views the network has the hardest input it was trained on; TV's model "
           "fits this phantom exactly. Predict, then compare with the first row of the table."])

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


# -- 8.3: read the streaks --------------------------------------------------------------------
#: Views of the sparse and of the dense FBP compared by check_streaks.
STREAK_VIEWS = (18, 180)


@functools.lru_cache(maxsize=4)
def streak_numbers(views=STREAK_VIEWS) -> dict:
    """Error of the noise-free FBP of Shepp–Logan (section 5) for each number of views:
    RMS outside the head (where the truth is 0), the share of the squared error there,
    and the change between two runs."""
    from ..ct_learned import ct_phantom, fbp_views, simulate_sinogram

    x_fine, truth = ct_phantom("shepp_logan")
    outside = truth == 0
    out = {}
    for k in views:
        first = fbp_views(simulate_sinogram(x_fine, k))
        again = fbp_views(simulate_sinogram(x_fine, k))
        err = first - truth
        out[k] = {"rms_outside": float(np.sqrt(np.mean(err[outside] ** 2))),
                  "share_outside": float(np.sum(err[outside] ** 2) / np.sum(err ** 2)),
                  "rerun": float(np.max(np.abs(first - again)))}
    out["outside_fraction"] = float(outside.mean())
    return out


@answer_check("8.3")
def check_streaks(streak_reading):
    """Judge the reading of the sparse-view streaks (a letter).

    Parameters
    ----------
    streak_reading : str
        ``"a"``, ``"b"``, ``"c"`` or ``"d"`` (see the notebook).

    Returns
    -------
    bool
        True for the statement the error maps support; every option is explained with
        the error of FBP at 18 and 180 views, measured here (never raises).
    """
    few, many = STREAK_VIEWS
    n = streak_numbers()
    facts = (f"Outside the head (where the truth is 0, {n['outside_fraction']:.0%} of the "
             f"pixels) the error has an RMS of {n[few]['rms_outside']:.3f} at {few} views "
             f"and {n[many]['rms_outside']:.3f} at {many}; at {few} views "
             f"{n[few]['share_outside']:.0%} of the squared error lies there "
             f"({n[many]['share_outside']:.0%} at {many}).")
    options = {
        "a": (False, "the data are noise-free and the streaks are deterministic: running "
                     f"the FBP twice changes no pixel (largest change {n[few]['rerun']:.1g}). "
                     "Noise amplified by the ramp filter looks like fine grain everywhere "
                     "(section 6), not like straight lines. " + facts),
        "b": (True, "yes. Back-projection smears every projection back along straight "
                    "lines. With many views, the lines from a sharp edge cancel everywhere "
                    "except on the edge; with few views the neighbouring views that would "
                    "cancel them are missing (the gaps between the Fourier spokes), so "
                    "each strong edge — the skull above all — sends out a fan of lines, "
                    "one direction per view, that runs beyond the object. " + facts),
        "c": (False, "shifted copies come from a regular comb in k-space (notebook 07's "
                     "regular mask). Sparse views leave angular gaps between spokes "
                     "through the centre instead: the error is a fan of straight lines "
                     "from each edge, not a copy of the head. " + facts),
        "d": (False, "the low frequencies are all measured: every spoke passes through "
                     "the centre of the Fourier plane, where the spokes are dense, so the "
                     "skull stays as sharp at 18 views as at 180. What is lost lies "
                     "between the spokes far from the centre, and it returns as lines "
                     "across the image, much of them outside the head. " + facts),
    }
    return judge_choice(streak_reading, options)


# -- 8.4: how few views does TV need? ----------------------------------------------------------
#: PSNR (dB) that check_fewest_views_tv asks the reconstruction of Shepp–Logan to reach.
TARGET_PSNR = 28.0


@functools.lru_cache(maxsize=512)
def _views_psnr(method: str, num_views: int) -> float:
    from ..ct_learned import ct_phantom, fbp_views, simulate_sinogram, tv_ct, tv_lam
    from ..metrics import psnr

    x_fine, truth = ct_phantom("shepp_logan")
    y = simulate_sinogram(x_fine, num_views)
    x_hat = tv_ct(y, tv_lam(num_views)) if method == "TV" else fbp_views(y)
    return float(psnr(truth, x_hat))


def fewest_views(method: str, target: float = TARGET_PSNR, *, start: int = 2,
                 stop: int = 180) -> tuple[int | None, dict]:
    """The smallest number of views in ``[start, stop]`` with which ``method`` ("TV" or
    "FBP") reconstructs the noise-free Shepp–Logan of notebook 08 to ``target`` dB, and
    the PSNR of every number of views tried."""
    scores = {}
    for k in range(start, stop + 1):
        scores[k] = _views_psnr(method, k)
        if scores[k] >= target:
            return k, scores
    return None, scores


@answer_check("8.4")
def check_fewest_views_tv(fewest_views_tv):
    """Judge the smallest number of views with which TV reaches :data:`TARGET_PSNR`.

    Parameters
    ----------
    fewest_views_tv : int
        The number of views found by experiment.

    Returns
    -------
    bool
        True when it is the first number of views (from 2 upwards) whose TV
        reconstruction reaches the target, recomputed here; explains the gap and compares
        with FBP (never raises).
    """
    value = _as_number(fewest_views_tv, "fewest_views_tv")
    if value != int(value) or not 1 <= value <= 720:
        raise CheckFailure(f"fewest_views_tv is a whole number of views between 1 and 720, "
                           f"got {value:g}.")
    value = int(value)
    best, tv_scores = fewest_views("TV")
    if best is None:
        raise CheckFailure("TV did not reach the target with up to 180 views; please report "
                           "this to the course maintainers.")
    fbp_best, fbp_scores = fewest_views("FBP", start=best)
    mine = tv_scores.get(value)
    if mine is None:
        mine = _views_psnr("TV", value) if value >= 2 else float("nan")
    before = tv_scores.get(best - 1)
    fbp_text = (f"FBP needs {fbp_best} views for the same {TARGET_PSNR:g} dB "
                f"({fbp_scores[fbp_best]:.2f} dB), {fbp_best / best:.1f} times as many: "
                "the TV prior replaces most of the missing views, and the dose with them."
                if fbp_best is not None else
                f"FBP does not reach {TARGET_PSNR:g} dB with up to 180 views.")
    why = (f"TV reaches {TARGET_PSNR:g} dB first with {best} views ({tv_scores[best]:.2f} dB"
           + (f"; {best - 1} views give {before:.2f} dB" if before is not None else "")
           + f"). {fbp_text}")
    if value == best:
        return True, f"{value} views give {mine:.2f} dB. {why}"
    if value == 1:
        return False, ("one view is a single projection: every image with the same column "
                       f"sums fits it, and no prior can pick the right one. {why}")
    if value < best:
        return False, (f"{value} views give {mine:.2f} dB, below {TARGET_PSNR:g} dB: with "
                       "so few views even a piecewise-constant prior cannot place all the "
                       f"edges. {why}")
    return False, (f"{value} views give {mine:.2f} dB, which reaches the target, but fewer "
                   f"views do too: the question asks for the fewest. {why}")


# -- 8.5: predict TV against the network --------------------------------------------------------
@answer_check("8.5")
def check_tv_or_network(tv_or_network):
    """Judge the prediction of which of TV and the FBPConvNet wins at 18 views on the first
    held-out ellipse phantom (noise-free).

    Parameters
    ----------
    tv_or_network : str
        ``"a"`` (TV) or ``"b"`` (the network).

    Returns
    -------
    bool
        True when it names the method with the higher PSNR, recomputed here with
        :func:`course_utils.ct_learned.reconstruct_all`; explains why (never raises).
    """
    from ..ct_learned import HELDOUT_SEEDS, ct_phantom, reconstruct_all
    from ..metrics import psnr

    views = 18
    x_fine, truth = ct_phantom(HELDOUT_SEEDS[0])
    out = reconstruct_all(x_fine, views, methods=("FBP", "TV", "learned"))
    p = {m: float(psnr(truth, out[m])) for m in ("FBP", "TV", "learned")}
    tv_wins = p["TV"] >= p["learned"]
    numbers = (f"At {views} views TV scores {p['TV']:.2f} dB and the network "
               f"{p['learned']:.2f} dB (FBP {p['FBP']:.2f} dB).")
    tv_text = ("This phantom is a set of flat ellipses, exactly the piecewise-constant "
               "image TV assumes, and TV works on the sinogram itself. The network only "
               "sees the FBP, and at 18 views the streaks have hidden part of the "
               "object from it; what it has not learned to undo stays in its output.")
    net_text = ("The network has learned what the streaks of 18-view FBP look like on "
                "such phantoms and removes them better than TV's prior does.")
    options = {
        "a": (tv_wins, f"{numbers} {tv_text if tv_wins else net_text}"),
        "b": (not tv_wins, f"{numbers} {net_text if not tv_wins else tv_text} The table "
                           "below shows the opposite on Shepp–Logan, whose skull ring the "
                           "network's head-like training phantoms resemble."),
    }
    return judge_choice(tv_or_network, options)
