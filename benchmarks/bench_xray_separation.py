"""Separating mixed X-ray images: naive, regression, sparse (with and without the exclusion term) and the unfolded network on held-out mixtures.

The held-out mixtures (``course_utils.xray_separation.heldout_mixtures(NUM_MIXTURES,
seed=SEED)``) are crops of ``chelsea`` and ``coffee`` (the hidden one mirrored), which no
dictionary, regression or network of the course was trained on; 128×128, Gaussian noise
``NOISE_SIGMA``. For each method the table gives the mean over the mixtures of the PSNR and
SSIM of ``x1`` and ``x2`` (data range 1), the mean PSNR of the two layers, the edge overlap
of the two estimates (cosine of their gradient-magnitude maps) and the CPU seconds of one
separation (``time.process_time``, median over the mixtures, one thread requested by the
caller's environment). A second table gives the PSNR after each FISTA iteration of
``"sparse"`` and after each layer of ``"unfolded"``.
"""
from __future__ import annotations

import os

import numpy as np

from course_utils import xray_separation as xs

__all__ = ["run", "NUM_MIXTURES", "SEED", "ROWS"]

#: Held-out mixtures averaged, and their seed.
NUM_MIXTURES: int = 6
SEED: int = 0
#: Rows of the table: (label, method, keyword arguments of ``separate``).
ROWS: tuple = (
    ("naive", "naive", {}),
    ("regression", "regression", {}),
    ("sparse, μ = 0 (no exclusion)", "sparse", {"mu": 0.0}),
    ("sparse", "sparse", {}),
    ("unfolded", "unfolded", {}),
)
_KEYS = ("psnr_x1", "ssim_x1", "psnr_x2", "ssim_x2", "psnr", "overlap")


def run(quick: bool = False) -> list[dict]:
    """Two tables: methods × quality on the held-out mixtures, and PSNR per iteration /
    layer (quick: two mixtures)."""
    mixtures = xs.heldout_mixtures(2 if quick else NUM_MIXTURES, seed=SEED)
    xs.separate(mixtures[0]["mixture"], mixtures[0]["visible"], "unfolded")  # load once
    results, curves = {}, {}
    for label, method, kwargs in ROWS:
        qs, cpus, hist = [], [], []
        for m in mixtures:
            x1, x2, info = xs.separate(m["mixture"], m["visible"], method, return_info=True,
                                       **kwargs)
            qs.append(xs.layer_quality(m["x1"], m["x2"], x1, x2))
            cpus.append(info["seconds"])
            if "history" in info:
                hist.append([xs.layer_quality(m["x1"], m["x2"], a, b)["psnr"]
                             for a, b in info["history"]])
        results[label] = ({k: float(np.mean([q[k] for q in qs])) for k in _KEYS},
                          float(np.median(cpus)))
        if hist and not kwargs:
            curves[method] = np.mean(hist, axis=0)
    truth = float(np.mean([xs.edge_overlap(m["x1"], m["x2"]) for m in mixtures]))
    rows = [[label] + [f"{q[k]:.2f}" if k.startswith("psnr") else f"{q[k]:.3f}" for k in _KEYS]
            + [f"{cpu:.3f}"] for label, (q, cpu) in results.items()]
    rows.append(["truth (x1, x2)", "", "", "", "", "", f"{truth:.3f}", ""])

    def psnr(label):
        return results[label][0]["psnr"]

    def verdict(ok):
        return "met" if ok else "not met"

    sp, reg, nai = psnr("sparse"), psnr("regression"), psnr("naive")
    no_ex = results["sparse, μ = 0 (no exclusion)"][0]
    unf, (_, cpu_sp), (_, cpu_unf) = psnr("unfolded"), results["sparse"], results["unfolded"]
    ratio = cpu_sp / max(cpu_unf, 1e-9)
    notes = (
        f"{len(mixtures)} held-out mixtures of {xs.SIZE}×{xs.SIZE} (chelsea / coffee crops, "
        f"seed {SEED}), noise σ = {xs.NOISE_SIGMA}; sparse: {xs.DEFAULTS}; unfolded: the "
        f"shipped 5-layer network; CPU s: median per mixture, {os.cpu_count()} shared cores. "
        f"Targets: sparse ≥ regression + 1 dB: {verdict(sp >= reg + 1)} ({sp - reg:+.2f} dB); "
        f"sparse ≥ naive + 3 dB: {verdict(sp >= nai + 3)} ({sp - nai:+.2f} dB); the "
        f"exclusion term lowers the edge overlap ({no_ex['overlap']:.3f} → "
        f"{results['sparse'][0]['overlap']:.3f}) without lowering the PSNR "
        f"({no_ex['psnr']:.2f} → {sp:.2f} dB): "
        f"{verdict(results['sparse'][0]['overlap'] < no_ex['overlap'] and sp >= no_ex['psnr'])}"
        f"; unfolded within 0.5 dB of sparse or better: {verdict(unf >= sp - 0.5)} "
        f"({unf - sp:+.2f} dB) with ≥ 10× less CPU: {verdict(ratio >= 10)} ({ratio:.1f}×).")
    table1 = {
        "title": "X-ray separation on held-out mixtures (means; PSNR in dB)",
        "columns": ["method", "PSNR x1", "SSIM x1", "PSNR x2", "SSIM x2", "mean PSNR",
                    "edge overlap", "CPU s"],
        "rows": rows,
        "notes": notes,
    }
    sp_curve, unf_curve = curves["sparse"], curves["unfolded"]
    marks = [1, 2, 3, 4, 5, 10, 20, len(sp_curve)]
    marks = sorted({k for k in marks if k <= len(sp_curve)})
    table2 = {
        "title": "Mean PSNR (dB) after k FISTA iterations of sparse and k layers of unfolded",
        "columns": ["k", "sparse (FISTA)", "unfolded"],
        "rows": [[k, f"{sp_curve[k - 1]:.2f}",
                  f"{unf_curve[k - 1]:.2f}" if k <= len(unf_curve) else ""]
                 for k in marks],
        "notes": (f"Same mixtures; CPU s per separation: sparse {cpu_sp:.3f} "
                  f"({len(sp_curve)} iterations), unfolded {cpu_unf:.3f} "
                  f"({len(unf_curve)} layers)."),
    }
    return [table1, table2]
