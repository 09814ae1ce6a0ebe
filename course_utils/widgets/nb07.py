"""Notebook 07 widget: sampling pattern × acceleration × centre fraction × noise (MRI)."""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int
from ..mri import CARTESIAN_PATTERNS, PATTERNS, _rasterise, incoherence, psf
from ..mri_recon import (ARTEFACTS, HELDOUT_IMAGES, acquire, default_lam, quality,
                         reconstruct, sampling, test_image)
from ._base import ChoiceControl, Demo, build, corner_combos, register_widget

__all__ = ["UndersamplingDemo", "undersampling_widget", "ACCELERATIONS", "CENTER_FRACTIONS",
           "NOISE_LEVELS"]

#: Accelerations offered by the slider (1 = full sampling).
ACCELERATIONS = (1, 2, 3, 4, 6, 8, 12, 16)
#: Fully sampled centre fractions offered by the slider (up to the whole k-space).
CENTER_FRACTIONS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0)
#: k-space noise standard deviations (images in [0, 1]).
NOISE_LEVELS = (0.0, 0.003, 0.01, 0.03, 0.1)
_CS_LABELS = {"cs_tv": "TV", "cs_wavelet": "wavelet-ℓ1"}

_CONTROLS = {
    "pattern": ChoiceControl(tuple((p.replace("_", " "), p) for p in PATTERNS),
                             value="variable_density", label="pattern"),
    "acceleration": ChoiceControl(tuple((f"{r}×", r) for r in ACCELERATIONS), value=4,
                                  label="acceleration R", style="slider"),
    "center_fraction": ChoiceControl(tuple((f"{c:g}", c) for c in CENTER_FRACTIONS),
                                     value=0.08, label="centre fraction", style="slider"),
    "sigma": ChoiceControl(tuple(("0" if s == 0 else f"{s:g}", s) for s in NOISE_LEVELS),
                           value=0.0, label="noise σ", style="slider"),
    "cs": ChoiceControl(tuple((v, k) for k, v in _CS_LABELS.items()), value="cs_tv",
                        label="CS prior", style="buttons"),
}
_COMBOS = (
    [{"pattern": p, "acceleration": r} for p in PATTERNS for r in (1, 16)]
    + [{"pattern": p, "center_fraction": c, "acceleration": 4} for p in PATTERNS
       for c in (0.01, 1.0)]
    + [{"pattern": p, "cs": "cs_wavelet", "sigma": 0.1} for p in ("radial", "spiral")]
    + corner_combos(_CONTROLS, ("acceleration", "sigma"))
)


def _max_center(pattern: str, acceleration: float, shape) -> float | None:
    """Largest centre fraction the sampling budget allows (None: no limit)."""
    if pattern in ("cartesian_regular", "variable_density"):
        return 1.0 / acceleration
    if pattern == "spiral" and acceleration > 1:
        return 0.95 / np.sqrt(acceleration)
    return None


class UndersamplingDemo(Demo):
    """Mask, point-spread function (image and phase-encode profile), zero-filled and CS
    reconstruction of one pattern.

    Parameters
    ----------
    image : {"mri_slice", "shepp_logan"}
        Test image (complex, smooth phase; :func:`course_utils.mri_recon.test_image`).
    size : int
        Image side (a multiple of 8; 96 keeps every update interactive).
    tv_iters, wavelet_iters : int
        CS iterations for Cartesian masks (TV converges in about 20, cycle-spun wavelets
        need more).
    nufft_iters : int
        CS iterations for radial and spiral (each costs two NUFFTs).
    seed : int
        Seed of the variable-density mask and of the noise.

    Notes
    -----
    The geometry (mask or NUFFT operator, PSF, incoherence) is cached per (pattern,
    acceleration, centre fraction); the measurement and both reconstructions are
    recomputed at every update. For radial and spiral the "zero-filled" panel is the
    density-compensated gridding reconstruction and CS uses the NUFFT
    (:func:`course_utils.mri_recon.cs_nufft`); the mask panel shows the samples
    rasterised to the grid. A centre fraction larger than the sampling budget allows is
    reduced to the largest allowed value, with a message.
    """

    kind = "iterative"
    figsize = (14, 3.4)
    controls = _CONTROLS

    def __init__(self, image: str = "mri_slice", size: int = 96, tv_iters: int = 25,
                 wavelet_iters: int = 40, nufft_iters: int = 12, seed: int = 0):
        check_choice(image, "image", HELDOUT_IMAGES)
        size = check_int(size, "size", low=16, high=512)
        if size % 8:
            raise ValueError(f"size must be a multiple of 8, got {size}")
        self.iters = {"cs_tv": check_int(tv_iters, "tv_iters", low=1, high=1000),
                      "cs_wavelet": check_int(wavelet_iters, "wavelet_iters", low=1,
                                              high=1000)}
        self.nufft_iters = check_int(nufft_iters, "nufft_iters", low=1, high=1000)
        self.seed = check_int(seed, "seed", low=0)
        self.shape = (size, size)
        self.x = test_image(image, size)
        self.truth = np.abs(self.x)
        self._geometry: dict = {}
        super().__init__()

    # -- cached geometry ---------------------------------------------------------------
    def geometry(self, pattern, acceleration, center_fraction) -> dict:
        """Acquisition, displayed mask, PSF and incoherence of one setting (cached)."""
        if pattern in ("low_frequency", "radial"):
            center_fraction = None          # these patterns have no separate centre
        key = (pattern, acceleration, center_fraction)
        if key not in self._geometry:
            acq = sampling(pattern, self.shape, acceleration, center_fraction, self.seed)
            if pattern in CARTESIAN_PATTERNS:
                shown, p = acq, psf(acq)
                samples = int(acq.sum())
            else:
                shown = _rasterise(acq.trajectory, self.shape)
                p = acq.psf()
                samples = acq.num_samples
            self._geometry[key] = {"acq": acq, "mask": shown, "psf": p,
                                   "incoherence": incoherence(p), "samples": samples}
        return self._geometry[key]

    # -- Demo interface ----------------------------------------------------------------
    def setup_figure(self, fig):
        axes = fig.subplots(1, 5, width_ratios=[1, 1, 0.9, 1, 1])
        self.axes = axes
        zeros = np.zeros(self.shape)
        M = self.shape[0]
        self.line_profile, = axes[2].plot(np.arange(M) - M // 2, np.zeros(M),
                                          color="tab:purple", lw=1)
        axes[2].set_ylim(-45, 3)
        axes[2].set_xlim(-(M // 2), M - M // 2 - 1)
        axes[2].set_xlabel("row offset (phase encode)", fontsize=8)
        axes[2].set_title("PSF along $k_y$ (dB)", fontsize=9)
        axes[2].tick_params(labelsize=7)
        self.im_mask = axes[0].imshow(zeros, cmap="gray", vmin=0, vmax=1,
                                      interpolation="nearest")
        self.im_psf = axes[1].imshow(zeros, cmap="magma", vmin=-40, vmax=0,
                                     interpolation="nearest")
        self.im_zf = axes[3].imshow(zeros, cmap="gray", vmin=0, vmax=1,
                                    interpolation="nearest")
        self.im_cs = axes[4].imshow(zeros, cmap="gray", vmin=0, vmax=1,
                                    interpolation="nearest")
        images = [axes[0], axes[1], axes[3], axes[4]]
        self.titles = [ax.set_title("", fontsize=9) for ax in images]
        self.labels = [ax.set_xlabel("", fontsize=8) for ax in images]
        for ax in images:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0].set_ylabel("phase encode $k_y$ (rows)", fontsize=8)
        fig.colorbar(self.im_psf, ax=axes[1], fraction=0.046, pad=0.03, label="dB")

    def compute(self, *, pattern, acceleration, center_fraction, sigma, cs):
        messages = []
        limit = _max_center(pattern, acceleration, self.shape)
        if limit is not None and center_fraction > limit:
            messages.append(f"centre fraction {center_fraction:g} needs more samples than "
                            f"R = {acceleration} allows; using {limit:.3g}.")
            center_fraction = float(np.floor(limit * 1000) / 1000)
        geo = self.geometry(pattern, acceleration, center_fraction)
        acq = geo["acq"]
        y = acquire(self.x, acq, sigma, seed=self.seed)
        x_zf = reconstruct(y, acq, "zero_filled")
        lam = default_lam(cs, sigma)
        iters = self.iters[cs] if pattern in CARTESIAN_PATTERNS else self.nufft_iters
        x_cs = reconstruct(y, acq, cs, lam=lam, num_iters=iters)
        return {"pattern": pattern, "acceleration": acceleration, "cf": center_fraction,
                "sigma": sigma, "cs": cs, "geo": geo, "x_zf": x_zf, "x_cs": x_cs,
                "lam": lam, "iters": iters, "messages": messages}

    def draw(self, state):
        geo, pattern, r = state["geo"], state["pattern"], state["acceleration"]
        self.im_mask.set_data(geo["mask"].astype(float))
        psf_db = 20 * np.log10(np.maximum(np.abs(geo["psf"]), 1e-5))
        self.im_psf.set_data(psf_db)
        self.line_profile.set_ydata(psf_db[:, self.shape[1] // 2])
        zf, xcs = np.abs(state["x_zf"]), np.abs(state["x_cs"])
        self.im_zf.set_data(np.clip(zf, 0, 1))
        self.im_cs.set_data(np.clip(xcs, 0, 1))
        q_zf, q_cs = quality(self.x, zf), quality(self.x, xcs)
        fraction = geo["mask"].mean()
        zf_name = "gridding" if pattern not in CARTESIAN_PATTERNS else "zero-filled"
        self.titles[0].set_text(f"{pattern.replace('_', ' ')}, R = {r}")
        self.labels[0].set_text(f"{geo['samples']} samples, grid fraction {fraction:.2f}")
        self.titles[1].set_text("PSF |·| (dB)")
        self.labels[1].set_text(f"side lobe / peak {geo['incoherence']:.2f}")
        self.titles[2].set_text(f"{zf_name}:\n{ARTEFACTS[pattern]}")
        self.labels[2].set_text(f"PSNR {q_zf['psnr']:.2f} dB · SSIM {q_zf['ssim']:.3f}")
        self.titles[3].set_text(f"CS {_CS_LABELS[state['cs']]} ({state['iters']} it.)")
        self.labels[3].set_text(f"PSNR {q_cs['psnr']:.2f} dB · SSIM {q_cs['ssim']:.3f}")
        messages = list(state["messages"])
        if r == 1:
            messages.append("R = 1 samples everything: the zero-filled image is exact "
                            "(up to noise), so there is no aliasing for CS to remove.")
        if pattern == "cartesian_regular" and r > 1 and geo["incoherence"] > 0.9:
            messages.append("Almost no calibration lines: the aliases are exact shifted "
                            "copies (coherent), which no sparsity prior can separate.")
        if state["sigma"] == 0:
            messages.append("σ = 0: noise-free data, CS uses its smallest λ.")
        if pattern not in CARTESIAN_PATTERNS:
            messages.append("Radial/spiral: gridding with Pipe–Menon density compensation; "
                            f"CS by FISTA on the NUFFT ({state['iters']} iterations).")
        numbers = {"psnr_zero_filled": round(q_zf["psnr"], 2),
                   "psnr_cs": round(q_cs["psnr"], 2), "ssim_zero_filled": round(q_zf["ssim"], 3),
                   "ssim_cs": round(q_cs["ssim"], 3), "incoherence": round(geo["incoherence"], 3),
                   "samples": int(geo["samples"]), "center_fraction": float(state["cf"]),
                   "lam": float(state["lam"])}
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb07_undersampling", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def undersampling_widget(*, image: str = "mri_slice", size: int = 96, tv_iters: int = 25,
                         wavelet_iters: int = 40, nufft_iters: int = 12, seed: int = 0):
    """Pattern × acceleration × centre fraction × noise: mask, PSF, zero-filled and CS.

    Parameters
    ----------
    image : {"mri_slice", "shepp_logan"}
        Complex test image.
    size : int
        Image side (multiple of 8).
    tv_iters, wavelet_iters : int
        CS iterations (Cartesian masks).
    nufft_iters : int
        CS iterations (radial, spiral).
    seed : int
        Seed of the random mask and of the noise.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(pattern=..., acceleration=..., center_fraction=..., sigma=..., cs=...)``
        returns ``psnr_zero_filled``, ``psnr_cs``, the SSIMs, the PSF ``incoherence``,
        ``samples`` and ``lam`` (and a ``message`` for special settings).
    """
    return build(UndersamplingDemo(image=image, size=size, tv_iters=tv_iters,
                                   wavelet_iters=wavelet_iters, nufft_iters=nufft_iters,
                                   seed=seed))
