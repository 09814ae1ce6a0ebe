"""Wavelet shrinkage by lifting against the learned lifting network, BM3D and DRUNetLite.

Each held-out image (never used in training; ``course_utils.train.denoiser.HELDOUT_IMAGES``)
is centre-cropped to 256 x 256 and corrupted with seeded Gaussian noise at sigma = 15, 25
and 50 / 255 (the same noise as ``bench_denoisers``). Denoisers:

* **wavelet shrinkage by lifting**: ``course_utils.lifting.wavelet_forward`` (Haar or
  LeGall 5/3, ``LEVELS`` levels, periodic), the bands rescaled to PyWavelets'
  normalisation (``to_pywt``), every detail band soft-thresholded, the inverse transform.
  Thresholds: BayesShrink, ``t = σ² / σ_x`` per band with
  ``σ_x = sqrt(max(mean(d²) − σ², 0))`` (all of the band removed when ``σ_x = 0``), and
  the universal threshold ``t = σ sqrt(2 log n)`` (VisuShrink, ``n`` pixels);
* the reference ``skimage.restoration.denoise_wavelet`` with the same wavelet (``haar``,
  ``bior2.2``), levels and thresholds (its own boundary handling);
* the learned lifting network (``denoise(..., method="winnet")``, WINNet-style), also with
  cycle spinning over the ``SPINS²`` circular shifts by 0 to ``SPINS − 1`` pixels;
* BM3D and the course's learned denoiser (DRUNetLite), ``course_utils.denoisers.denoise``.

CPU milliseconds per image are the median of ``REPEATS`` calls (one call for BM3D and the
cycle-spun network) measured with ``time.process_time`` on one torch thread.
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np
from skimage.metrics import structural_similarity

from course_utils.denoisers import denoise, load_learned_denoiser, load_winnet
from course_utils.lifting import from_pywt, to_pywt, wavelet_forward, wavelet_inverse
from course_utils.train.denoiser import HELDOUT_IMAGES, heldout_images

__all__ = ["run", "SIGMAS_255", "CROP", "LEVELS", "REPEATS", "SPINS", "shrink",
           "wavelet_denoise"]

#: Noise levels on the 0..255 scale.
SIGMAS_255: tuple[int, ...] = (15, 25, 50)
#: Side of the centre crop of each held-out image.
CROP: int = 256
#: Levels of the fixed wavelet transforms (ours and the scikit-image reference).
LEVELS: int = 4
#: Timed calls per image for the fast methods (the median is reported).
REPEATS: int = 3
#: Cycle spinning of the learned lifting network: the SPINS x SPINS shifts by 0..SPINS-1.
SPINS: int = 4

_PYWT = {"haar": "haar", "legall53": "bior2.2"}


def _num_parameters(model) -> int:
    """All parameters of a (frozen) network."""
    return int(sum(p.numel() for p in model.parameters()))
_LABEL = {"haar": "Haar", "legall53": "5/3"}


def shrink(band: np.ndarray, sigma: float, rule: str, n: int) -> np.ndarray:
    """Soft-threshold one detail band at the BayesShrink or universal threshold."""
    if rule == "bayes":
        sigma_x = np.sqrt(max(float(np.mean(band ** 2)) - sigma ** 2, 0.0))
        if sigma_x == 0.0:
            return np.zeros_like(band)
        t = sigma ** 2 / sigma_x
    elif rule == "universal":
        t = sigma * np.sqrt(2 * np.log(n))
    else:
        raise ValueError(f"rule must be 'bayes' or 'universal', got {rule!r}")
    return np.sign(band) * np.maximum(np.abs(band) - t, 0.0)


def wavelet_denoise(y: np.ndarray, sigma: float, scheme: str, rule: str,
                    levels: int = LEVELS) -> np.ndarray:
    """Lifting transform, soft-threshold the details (PyWavelets' scaling), inverse."""
    coeffs = to_pywt(wavelet_forward(y, scheme, levels))
    shrunk = [coeffs[0]] + [tuple(shrink(b, sigma, rule, y.size) for b in bands)
                            for bands in coeffs[1:]]
    return wavelet_inverse(from_pywt(shrunk), scheme)


def _skimage(y, sigma, scheme, rule):
    from skimage.restoration import denoise_wavelet

    with warnings.catch_warnings():  # bior2.2 is not orthogonal: a known approximation
        warnings.simplefilter("ignore", UserWarning)
        return denoise_wavelet(y, sigma=sigma, wavelet=_PYWT[scheme], mode="soft",
                               wavelet_levels=LEVELS,
                               method="BayesShrink" if rule == "bayes" else "VisuShrink",
                               rescale_sigma=True)


def _winnet_cycle_spin(y, sigma):
    """The shipped network averaged over SPINS x SPINS circular shifts (sides of ``y``
    multiples of its stride)."""
    import torch

    model = load_winnet()
    with torch.no_grad():
        x_hat = model(torch.from_numpy(y.astype(np.float32))[None, None], sigma,
                      cycle_spin=SPINS)
    return x_hat[0, 0].numpy().astype(np.float64)


def _methods() -> dict:
    """label -> (function (y, sigma) -> x_hat, parameters, timed calls)."""
    methods = {}
    for scheme in ("haar", "legall53"):
        for rule, name in (("bayes", "BayesShrink"), ("universal", "universal")):
            methods[f"{_LABEL[scheme]} lifting, {name}"] = (
                lambda y, s, sc=scheme, r=rule: wavelet_denoise(y, s, sc, r), 0, REPEATS)
        methods[f"{_LABEL[scheme]} skimage, BayesShrink"] = (
            lambda y, s, sc=scheme: _skimage(y, s, sc, "bayes"), 0, REPEATS)
    winnet_params = _num_parameters(load_winnet())
    methods["learned lifting (WINNet-style)"] = (
        lambda y, s: denoise(y, s, method="winnet"), winnet_params, REPEATS)
    methods[f"learned lifting + cycle spinning ({SPINS ** 2} shifts)"] = (
        _winnet_cycle_spin, winnet_params, 1)
    methods["BM3D"] = (lambda y, s: denoise(y, s, method="bm3d"), None, 1)
    methods["DRUNetLite (course denoiser)"] = (
        lambda y, s: denoise(y, s, method="learned"),
        _num_parameters(load_learned_denoiser()), REPEATS)
    return methods


def _psnr(x, x_hat) -> float:
    return float(10 * np.log10(1.0 / np.mean((x - x_hat) ** 2)))


def _measure(images: dict, methods: dict) -> dict:
    """{(label, sigma_255): (PSNRs, SSIMs, CPU ms)}, one entry per image."""
    denoise(np.zeros((64, 64)), 0.1, "learned")   # warm-up: first-call allocations
    denoise(np.zeros((64, 64)), 0.1, "winnet")
    results = {}
    for s255 in SIGMAS_255:
        sigma = s255 / 255
        for k, x in enumerate(images.values()):
            y = x + sigma * np.random.default_rng([k, s255]).standard_normal(x.shape)
            for label, (fn, _, repeats) in methods.items():
                cpus, x_hat = [], None
                for _ in range(repeats):
                    cpu = time.process_time()
                    x_hat = fn(y, sigma)
                    cpus.append(time.process_time() - cpu)
                p, s, c = results.setdefault((label, s255), ([], [], []))
                p.append(_psnr(x, x_hat))
                s.append(float(structural_similarity(x, x_hat, data_range=1.0)))
                c.append(1e3 * float(np.median(cpus)))
    return results


def run(quick: bool = False) -> list[dict]:
    """The comparison table (quick: only the first held-out image)."""
    import torch

    images = heldout_images(CROP)
    if quick:
        images = dict(list(images.items())[:1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        methods = _methods()
        results = _measure(images, methods)
    finally:
        torch.set_num_threads(threads)

    def mean_psnr(label, s255):
        return float(np.mean(results[(label, s255)][0]))

    rows = []
    for s255 in SIGMAS_255:
        for label, (_, params, _) in methods.items():
            p, s, c = results[(label, s255)]
            rows.append([label, s255, round(float(np.mean(p)), 2), round(float(np.mean(s)), 4),
                         "—" if params is None else params, round(float(np.mean(c)), 1)])

    winnet = "learned lifting (WINNet-style)"
    spun = next(label for label in methods if label.startswith("learned lifting +"))
    learned = "DRUNetLite (course denoiser)"
    bayes = [label for label in methods if label.endswith("BayesShrink")]
    best_bayes = max(bayes, key=lambda label: mean_psnr(label, 25))
    params_w, params_l = methods[winnet][1], methods[learned][1]

    def targets(label):
        gain = mean_psnr(label, 25) - mean_psnr(best_bayes, 25)
        gap = mean_psnr(label, 25) - mean_psnr(learned, 25)
        return (f"{label} {mean_psnr(label, 25):.2f} dB: {gain:+.2f} dB over BayesShrink "
                f"(≥ +1.5: {'met' if gain >= 1.5 else 'not met'}), {gap:+.2f} dB from "
                f"DRUNetLite (within 1 dB with fewer parameters: "
                f"{'met' if gap >= -1.0 and params_w < params_l else 'not met'})")

    bm3d_gaps = ", ".join(f"σ={s}: {mean_psnr(winnet, s) - mean_psnr('BM3D', s):+.2f} dB "
                          f"({mean_psnr(spun, s) - mean_psnr('BM3D', s):+.2f} dB spun)"
                          for s in SIGMAS_255)
    per_image = "; ".join(
        f"{name}: " + "/".join(f"{results[(winnet, s)][0][i]:.2f}" for s in SIGMAS_255)
        for i, name in enumerate(images))
    table = {
        "title": "Wavelet shrinkage by lifting vs the learned lifting network (held-out images)",
        "columns": ["method", "σ·255", "mean PSNR (dB)", "mean SSIM", "parameters",
                    "CPU ms / image"],
        "rows": rows,
        "notes": (
            f"Images: {', '.join(images)} (held out from training; all of "
            f"{', '.join(HELDOUT_IMAGES)} unless quick), grey, centre-cropped to "
            f"{CROP}x{CROP}, in [0, 1]; noise seeded per image and σ (as bench_denoisers), "
            f"not clipped. Fixed wavelets: {LEVELS} levels, soft thresholds, coarse band "
            f"kept; 'lifting' rows use course_utils.lifting (periodic), 'skimage' rows "
            f"skimage.restoration.denoise_wavelet (wavelet haar / bior2.2, its own "
            f"boundary handling); BayesShrink takes σ as the noise of every band, exact "
            f"for the orthonormal Haar bands only (the 5/3 bands of PyWavelets are not "
            f"orthonormal). Learned lifting: the shipped winnet weights "
            f"({params_w} parameters, {load_winnet().stride}-pixel stride; inputs "
            f"mirror-padded to a multiple of it). CPU ms: median of {REPEATS} calls "
            f"(one for BM3D and cycle spinning), one torch thread, {os.cpu_count()} "
            f"shared cores. "
            f"Targets at σ=25, mean PSNR: best BayesShrink ({best_bayes}) "
            f"{mean_psnr(best_bayes, 25):.2f} dB, DRUNetLite {mean_psnr(learned, 25):.2f} dB "
            f"({params_l} parameters; learned lifting {params_w}); {targets(winnet)}; "
            f"{targets(spun)}. "
            f"Learned lifting − BM3D: {bm3d_gaps}. "
            f"Learned lifting PSNR per image at σ={'/'.join(map(str, SIGMAS_255))}: "
            f"{per_image}."),
    }
    return [table]


if __name__ == "__main__":
    import sys

    from benchmarks.run import to_markdown  # run from the repository root: python -m ...

    for t in run(quick="--quick" in sys.argv):
        print(to_markdown(t))
