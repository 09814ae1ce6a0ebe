"""MRI physics: the five sampling patterns (sampled fraction, incoherence, reconstruction
error) and the speed of the NUFFT against the masked FFT.

Patterns are measured on a 128² complex Shepp–Logan phantom (smooth phase) at 4× and 8×
with the centre fractions of fastMRI (0.08 at 4×, 0.04 at 8×).
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from course_utils.mri import (NON_CARTESIAN_PATTERNS, PATTERNS, complex_phantom, incoherence,
                              psf, sampling_mask, trajectory)
from course_utils.operators import CartesianMRI, NonCartesianMRI
from course_utils.operators.mri import density_compensation

__all__ = ["run"]

CENTER_FRACTION = {4: 0.08, 8: 0.04}


def _median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _pattern_table(shape, accelerations):
    x = complex_phantom(shape)
    rows = []
    for r in accelerations:
        cf = CENTER_FRACTION[r]
        for pattern in PATTERNS:
            mask = sampling_mask(pattern, shape, r, cf, seed=0)
            zero_filled = CartesianMRI(mask).adjoint(CartesianMRI(mask)(x))
            if pattern in NON_CARTESIAN_PATTERNS:
                op = NonCartesianMRI(trajectory(pattern, shape, r, cf), shape)
                samples = op.num_samples
                inc = incoherence(op.psf())
                err = _rel(op.gridding_recon(op(x)), x)
            else:
                samples = int(mask.sum())
                inc = incoherence(psf(mask))
                err = _rel(zero_filled, x)
            rows.append([pattern, r, cf, round(float(mask.mean()), 4), round(1 / r, 4),
                         samples, round(inc, 3), round(incoherence(psf(mask), exclude=0), 3),
                         round(err, 3)])
    return {
        "title": f"MRI: sampling patterns on a {shape[0]}×{shape[1]} grid",
        "columns": ["pattern", "R", "centre fraction", "grid fraction", "1/R", "samples",
                    "incoherence", "side lobe incl. main lobe", "recon rel. error"],
        "rows": rows,
        "notes": (
            "grid fraction: sampling_mask(...).mean() (radial and spiral rasterised to the "
            "grid, tuned to 1/R). samples: mask points, or the true non-Cartesian samples "
            "of trajectory(...) (about π·128²/R: the disc at twice the grid density). "
            "incoherence: largest side lobe / peak of the PSF outside its main lobe "
            "(radial, spiral: NUFFT PSF with Pipe–Menon weights); the next column counts "
            "the main lobe's slopes too (Lustig's peak-only exclusion), which flags "
            "low-frequency blur. recon rel. error: ‖x̂ − x‖/‖x‖ of the zero-filled "
            "(Cartesian) or gridding (NUFFT, density-compensated) reconstruction. Seed 0."),
    }


def _nufft_table(sizes, repeats):
    rows = []
    for n in sizes:
        shape = (n, n)
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        fft_op = CartesianMRI(sampling_mask("variable_density", shape, 4, 0.08))
        t_fft, y_fft = _median_time(lambda: fft_op(x), repeats)
        t_fft_adj, _ = _median_time(lambda: fft_op.adjoint(y_fft), repeats)
        rows.append([f"{n}²", "masked FFT (variable density)", 4, "—", int(fft_op.mask.sum()),
                     "—", round(t_fft * 1e3, 2), round(t_fft_adj * 1e3, 2), "—"])
        for pattern in NON_CARTESIAN_PATTERNS:
            traj = trajectory(pattern, shape, 4, 0.08)
            for eps in (1e-12, 1e-6):
                start = time.perf_counter()
                op = NonCartesianMRI(traj, shape, eps=eps)
                plan = time.perf_counter() - start
                t_fwd, y = _median_time(lambda: op(x), repeats)
                t_adj, _ = _median_time(lambda: op.adjoint(y), repeats)
                if eps == 1e-12:
                    t_dcf, _ = _median_time(lambda: density_compensation(traj, shape), 1)
                    dcf = round(t_dcf, 3)
                else:
                    dcf = "—"
                rows.append([f"{n}²", pattern, 4, f"{eps:.0e}", op.num_samples,
                             round(plan * 1e3, 1), round(t_fwd * 1e3, 2),
                             round(t_adj * 1e3, 2), dcf])
    return {
        "title": "MRI: NUFFT (finufft, 1 thread) against the masked FFT",
        "columns": ["image", "operator", "R", "eps", "samples", "plan (ms, once)",
                    "forward (ms)", "adjoint (ms)", "Pipe–Menon weights (s)"],
        "rows": rows,
        "notes": (f"Median of {repeats} run(s), complex128. The default eps = 1e-12 makes "
                  "the dot test hold to round-off; eps = 1e-6 is enough for pictures and "
                  "iterative reconstructions and is faster. Pipe–Menon: 10 iterations "
                  "on a grid twice the field of view, eps 1e-6, computed once per "
                  "trajectory (NonCartesianMRI caches it)."),
    }


def run(quick: bool = False) -> list[dict]:
    """MRI tables; ``quick``: 4× only, NUFFT timing at 128² with one repeat."""
    accelerations = (4,) if quick else (4, 8)
    sizes = (128,) if quick else (128, 256)
    repeats = 1 if quick else 5
    return [_pattern_table((128, 128), accelerations), _nufft_table(sizes, repeats)]


if __name__ == "__main__":
    from benchmarks.run import to_markdown
    for table in run():
        print(to_markdown(table))
