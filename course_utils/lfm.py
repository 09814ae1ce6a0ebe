"""Light-field microscopy of neurons: the microscope, sparse neurons with calcium traces, RL, FISTA and the unrolled network, detection and crosstalk."""
from __future__ import annotations

import functools
import time

import numpy as np
import scipy.ndimage as ndi

from ._validate import as_array, check_choice, check_int, check_scalar
from .operators.lfm import DEPTHS, OPTICS, LightField, lfm_psfs
from .solvers import FISTA, RichardsonLucy

__all__ = [
    "DEPTHS", "OPTICS", "LightField", "lfm_psfs", "microscope", "voxel_size", "METHODS",
    "NEURON_RADIUS", "PAIR_DISTANCE", "FRAME_RATE", "neuron_layout", "calcium_kernel",
    "calcium_traces", "volume_from_activity", "simulate_light_field", "recording",
    "NonNegativeL1", "richardson_lucy_batch", "reconstruct", "reconstruct_batch",
    "neuron_traces", "detect_neurons", "detection_scores", "crosstalk", "volume_psnr",
    "check_counts",
]

#: Reconstruction methods of :func:`reconstruct`.
METHODS: tuple[str, ...] = ("rl", "fista", "network")
#: Radius of a neuron (µm) and the centre-to-centre distance of a close pair (µm).
NEURON_RADIUS: float = 3.0
PAIR_DISTANCE: float = 8.0
#: Frames per second of the light-field recordings.
FRAME_RATE: float = 10.0
_LAMBDA_FISTA = 5e-3


def microscope(lenslets: int = 24) -> LightField:
    """The course's light-field microscope (cached): :data:`DEPTHS` (9 planes 4 µm apart),
    9×9 pixels per lenslet, ``lenslets`` × ``lenslets`` lenslets, 3×3 voxels per lenslet,
    kernels of 9×9 lenslets; a (9, 3L, 3L) volume to a (9L, 9L) sensor."""
    return _microscope(check_int(lenslets, "lenslets", low=9))


@functools.lru_cache(maxsize=4)
def _microscope(lenslets: int) -> LightField:
    return LightField(DEPTHS, pitch=9, lenslets=lenslets, voxels_per_lenslet=3,
                      kernel_lenslets=9)


def voxel_size(op: LightField) -> tuple[float, float]:
    """(depth spacing, lateral voxel side) of the operator's volume, in µm."""
    _check_op(op)
    dz = float(np.diff(op.depths).mean()) if len(op.depths) > 1 else 1.0
    o = op.optics
    return dz, op.pitch * o["pixel_size"] / (op.voxels_per_lenslet * o["magnification"])


def _check_op(op, name="op") -> LightField:
    if not isinstance(op, LightField):
        raise TypeError(f"{name} must be a LightField operator, got {type(op).__name__}")
    return op


def check_counts(y, op: LightField, name: str = "y") -> np.ndarray:
    """A light field of photon counts: finite, non-negative, of the operator's sensor shape
    (or a stack of them)."""
    y = as_array(y, name, ndim=(2, 3), allow_complex=False, dtype=np.float64)
    if y.shape[-2:] != op.out_shape:
        raise ValueError(f"{name} must have the sensor shape {op.out_shape} (or a stack of "
                         f"them), got {y.shape}")
    if np.any(y < 0):
        raise ValueError(f"{name} holds photon counts and must be non-negative, got min "
                         f"{y.min():.3g}")
    return y


def _check_volume(x, op, name="x") -> np.ndarray:
    x = as_array(x, name, ndim=(3, 4), allow_complex=False, dtype=np.float64)
    if x.shape[-3:] != op.in_shape:
        raise ValueError(f"{name} must be a volume of shape {op.in_shape} (depths, rows, "
                         f"columns) or a stack of them, got {x.shape}")
    return x


# -- neurons and their activity ---------------------------------------------------------------
def neuron_layout(op: LightField | None = None, num_neurons: int = 24, *, num_pairs: int = 6,
                  radius: float = NEURON_RADIUS, pair_distance: float = PAIR_DISTANCE,
                  seed: int = 0) -> dict:
    """Spherical neurons at random 3-D positions, some of them in close pairs.

    Parameters
    ----------
    op : LightField, optional
        The microscope (default :func:`microscope`); gives the volume's grid.
    num_neurons : int
        Number of neurons, ``2 · num_pairs`` of them in pairs.
    num_pairs : int
        Pairs of neurons whose centres are ``pair_distance`` µm apart (random direction).
    radius : float
        Radius of every neuron in µm.
    seed : int
        Seed of the positions.

    Returns
    -------
    dict
        ``"centres"`` (num_neurons, 3) in µm (depth, row, column; rows and columns from
        the volume's corner), ``"footprints"`` (num_neurons, D, N, N) — each neuron's
        volume at unit brightness (soft-edged spheres sampled on the grid) —, ``"pairs"``
        (list of index pairs) and ``"radius"``.
    """
    op = microscope() if op is None else _check_op(op)
    num_neurons = check_int(num_neurons, "num_neurons", low=1)
    num_pairs = check_int(num_pairs, "num_pairs", low=0)
    if 2 * num_pairs > num_neurons:
        raise ValueError(f"num_pairs must be at most num_neurons / 2 = {num_neurons // 2}, "
                         f"got {num_pairs}")
    radius = check_scalar(radius, "radius", low=0.0, low_inclusive=False)
    pair_distance = check_scalar(pair_distance, "pair_distance", low=2 * radius)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    dz, dxy = voxel_size(op)
    D, N = op.in_shape[0], op.in_shape[1]
    z_lo, z_hi = op.depths[0], op.depths[-1]
    side = N * dxy
    margin = radius + 2 * dxy
    min_gap = 2 * radius + 1.0

    def draw():
        return np.array([rng.uniform(z_lo, z_hi), rng.uniform(margin, side - margin),
                         rng.uniform(margin, side - margin)])

    def fits(c, placed):
        inside = (z_lo - 1e-9 <= c[0] <= z_hi + 1e-9 and margin <= c[1] <= side - margin
                  and margin <= c[2] <= side - margin)
        return inside and all(np.linalg.norm(c - p) >= min_gap for p in placed)

    centres, pairs = [], []
    for _ in range(num_pairs):
        for _attempt in range(1000):
            a = draw()
            v = rng.standard_normal(3)
            v[0] *= 0.5                                  # pairs mostly side by side
            b = a + pair_distance * v / np.linalg.norm(v)
            if fits(a, centres) and fits(b, centres + [a]):
                pairs.append((len(centres), len(centres) + 1))
                centres += [a, b]
                break
        else:
            raise ValueError("could not place the pairs: the volume is too small for "
                             f"num_pairs = {num_pairs}")
    while len(centres) < num_neurons:
        for _attempt in range(1000):
            c = draw()
            if fits(c, centres):
                centres.append(c)
                break
        else:
            raise ValueError("could not place the neurons: the volume is too small for "
                             f"num_neurons = {num_neurons}")
    centres = np.array(centres)
    z = np.asarray(op.depths)[:, None, None]
    rows = ((np.arange(N) + 0.5) * dxy)[None, :, None]
    cols = ((np.arange(N) + 0.5) * dxy)[None, None, :]
    feet = np.empty((num_neurons, D, N, N))
    for i, (cz, cr, cc) in enumerate(centres):
        dist = np.sqrt((z - cz) ** 2 + (rows - cr) ** 2 + (cols - cc) ** 2)
        feet[i] = np.clip(radius - dist + 0.5 * dxy, 0.0, dxy) / dxy
    return {"centres": centres, "footprints": feet, "pairs": pairs, "radius": radius}


def calcium_kernel(frame_rate: float = FRAME_RATE, *, tau_rise: float = 0.05,
                   tau_decay: float = 0.6, length: float = 4.0) -> np.ndarray:
    """GCaMP-like response to one spike: ``(1 − e^{−t/τ_r}) e^{−t/τ_d}`` sampled at
    ``frame_rate`` over ``length`` seconds, peak 1 (times in seconds)."""
    frame_rate = check_scalar(frame_rate, "frame_rate", low=0.0, low_inclusive=False)
    tau_rise = check_scalar(tau_rise, "tau_rise", low=0.0, low_inclusive=False)
    tau_decay = check_scalar(tau_decay, "tau_decay", low=0.0, low_inclusive=False)
    length = check_scalar(length, "length", low=0.0, low_inclusive=False)
    t = np.arange(1, max(int(round(length * frame_rate)), 1) + 1) / frame_rate
    k = (1 - np.exp(-t / tau_rise)) * np.exp(-t / tau_decay)
    return k / k.max()


def calcium_traces(num_neurons: int, num_frames: int, *, rate: float = 0.4,
                   frame_rate: float = FRAME_RATE, baseline: float = 0.15, seed: int = 0):
    """Independent Poisson spike trains convolved with :func:`calcium_kernel`.

    Returns ``(spikes, traces)``, both (num_neurons, num_frames): spike counts per frame
    (``rate`` spikes per second per neuron) and the fluorescence ``baseline + spikes ∗
    kernel`` (brightness of the neuron, 1 = the peak of one spike's response).
    """
    num_neurons = check_int(num_neurons, "num_neurons", low=1)
    num_frames = check_int(num_frames, "num_frames", low=1)
    rate = check_scalar(rate, "rate", low=0.0)
    baseline = check_scalar(baseline, "baseline", low=0.0)
    seed = check_int(seed, "seed", low=0)
    kernel = calcium_kernel(frame_rate)
    rng = np.random.default_rng(seed)
    spikes = rng.poisson(rate / frame_rate, size=(num_neurons, num_frames)).astype(np.float64)
    traces = np.empty_like(spikes)
    for i in range(num_neurons):
        traces[i] = baseline + np.convolve(spikes[i], np.r_[0.0, kernel])[:num_frames]
    return spikes, traces


def volume_from_activity(layout: dict, activity) -> np.ndarray:
    """The volume ``Σ_n activity_n · footprint_n``; ``activity`` of shape (n,) gives one
    volume, (n, T) a stack (T, D, N, N)."""
    feet = layout["footprints"]
    a = as_array(activity, "activity", ndim=(1, 2), allow_complex=False, dtype=np.float64)
    if a.shape[0] != feet.shape[0]:
        raise ValueError(f"activity must have one row per neuron ({feet.shape[0]}), got "
                         f"shape {a.shape}")
    if np.any(a < 0):
        raise ValueError("activity must be non-negative (a brightness)")
    flat = feet.reshape(feet.shape[0], -1)
    if a.ndim == 1:
        return (a @ flat).reshape(feet.shape[1:])
    return (a.T @ flat).reshape((a.shape[1],) + feet.shape[1:])


def simulate_light_field(op: LightField, x, *, photons: float = 200.0, scatter: float = 0.0,
                         seed: int = 0) -> np.ndarray:
    """Photon counts on the sensor: ``Poisson(photons · B(H x))``.

    Parameters
    ----------
    op : LightField
    x : ndarray of shape ``op.in_shape`` or (T, *op.in_shape)
        Non-negative volume(s), brightness 1 = ``photons`` photons per voxel.
    photons : float
        Expected photons per unit of brightness and voxel (the noise level: fewer photons,
        more Poisson noise). For noiseless data apply ``op`` directly.
    scatter : float
        Standard deviation (sensor pixels) of a Gaussian blur of the light field, a crude
        model of scattering in tissue (0: none; applied after ``H``, so the reconstructions,
        which use ``H`` alone, see a model mismatch).
    seed : int
        Seed of the Poisson noise.
    """
    _check_op(op)
    x = _check_volume(x, op)
    if np.any(x < 0):
        raise ValueError(f"x must be non-negative (a brightness), got min {x.min():.3g}")
    photons = check_scalar(photons, "photons", low=0.0, low_inclusive=False)
    scatter = check_scalar(scatter, "scatter", low=0.0, high=20.0)
    seed = check_int(seed, "seed", low=0)
    y = op.forward_batch(x) if x.ndim == 4 else op(x)
    if scatter > 0:
        sig = (0, scatter, scatter) if y.ndim == 3 else scatter
        y = ndi.gaussian_filter(y, sig, mode="wrap")
    y = np.maximum(y, 0.0) * photons
    return np.random.default_rng(seed).poisson(y).astype(np.float64)


def recording(num_frames: int = 100, *, num_neurons: int = 24, num_pairs: int = 6,
              photons: float = 200.0, scatter: float = 0.0, rate: float = 0.4,
              seed: int = 0, op: LightField | None = None) -> dict:
    """A seeded light-field recording of spiking neurons.

    Returns a dict with ``"layout"`` (:func:`neuron_layout`), ``"spikes"`` and
    ``"traces"`` (num_neurons, num_frames; :func:`calcium_traces`), ``"light_fields"``
    (num_frames, PL, PL) photon counts, ``"photons"``, ``"frame_rate"`` and ``"op"``.
    The volumes are ``volume_from_activity(layout, traces)``.
    """
    op = microscope() if op is None else _check_op(op)
    seed = check_int(seed, "seed", low=0)
    layout = neuron_layout(op, num_neurons, num_pairs=num_pairs, seed=seed)
    spikes, traces = calcium_traces(num_neurons, num_frames, rate=rate,
                                    seed=seed + 1)
    volumes = volume_from_activity(layout, traces)
    y = simulate_light_field(op, volumes, photons=photons, scatter=scatter, seed=seed + 2)
    return {"layout": layout, "spikes": spikes, "traces": traces, "light_fields": y,
            "photons": photons, "frame_rate": FRAME_RATE, "op": op}


# -- reconstructions ----------------------------------------------------------------------------
class NonNegativeL1:
    """``g(x) = lam Σ x`` on ``x ≥ 0`` (``+inf`` elsewhere); prox: ``max(x − tau lam, 0)``."""

    def __init__(self, lam: float):
        self.lam = check_scalar(lam, "lam", low=0.0)

    def value(self, x) -> float:
        x = np.asarray(x)
        return float(self.lam * x.sum()) if np.all(x >= 0) else float("inf")

    def prox(self, x, tau: float) -> np.ndarray:
        return np.maximum(np.asarray(x) - tau * self.lam, 0.0)


def richardson_lucy_batch(op: LightField, ys, num_iters: int = 8, *,
                          eps: float = 1e-12) -> np.ndarray:
    """Richardson–Lucy on a stack of light fields at once, the iteration of
    :class:`course_utils.solvers.RichardsonLucy` (same start, ``Hᵀ1 = 1`` here):
    ``x ← x ⊙ Hᵀ(y / Hx)``. Returns (B, D, N, N) in the units of ``ys``."""
    _check_op(op)
    ys = check_counts(ys, op, "ys")
    if ys.ndim == 2:
        ys = ys[None]
    num_iters = check_int(num_iters, "num_iters", low=0)
    sens = op.adjoint(np.ones(op.out_shape))
    start = ys.sum(axis=(1, 2)) / sens.sum()
    x = np.broadcast_to(start[:, None, None, None], (ys.shape[0],) + op.in_shape).copy()
    for _ in range(num_iters):
        ratio = ys / np.maximum(op.forward_batch(x), eps)
        x = np.maximum(x * op.adjoint_batch(ratio) / sens, 0.0)
    return x


@functools.lru_cache(maxsize=2)
def _network(lenslets):
    from .nets.lfm import load_lfm_lista

    return load_lfm_lista(microscope(lenslets))


def _is_microscope(op) -> bool:
    return op.lenslets >= 9 and op is microscope(op.lenslets)


def reconstruct(y, method: str = "rl", *, op: LightField | None = None,
                photons: float = 200.0, num_iters: int | None = None,
                lam: float = _LAMBDA_FISTA, return_info: bool = False):
    """Reconstruct a volume (brightness units) from a light field of photon counts.

    Parameters
    ----------
    y : ndarray of shape ``op.out_shape``
        Photon counts (non-negative).
    method : {"rl", "fista", "network"}
        Richardson–Lucy (:class:`course_utils.solvers.RichardsonLucy`, default 8
        iterations), non-negative FISTA on ``½‖Hx − y/photons‖² + lam Σx`` (default 100
        iterations), or the shipped unrolled network (:mod:`course_utils.nets.lfm`; only
        for :func:`microscope` operators).
    op : LightField, optional
        Default :func:`microscope`.
    photons : float
        Photons per unit brightness (the scale of ``y``).
    num_iters : int, optional
        Iterations (RL, FISTA) or layers used (network, at most its number of layers).
    return_info : bool
        Also return ``{"seconds": CPU seconds, "history": ...}``.
    """
    op = microscope() if op is None else _check_op(op)
    y = check_counts(y, op)
    if y.ndim != 2:
        raise ValueError(f"y must be one light field of shape {op.out_shape}, got {y.shape}; "
                         "use reconstruct_batch for a stack")
    method = check_choice(method, "method", METHODS)
    photons = check_scalar(photons, "photons", low=0.0, low_inclusive=False)
    history = {}
    start = time.process_time()
    if method == "rl":
        n = 8 if num_iters is None else check_int(num_iters, "num_iters", low=1)
        x_hat, history = RichardsonLucy(op, y).run(n)
        x_hat = x_hat / photons
    elif method == "fista":
        n = 100 if num_iters is None else check_int(num_iters, "num_iters", low=1)
        solver = FISTA(op, y / photons, NonNegativeL1(lam), tau=1.0 / op.norm() ** 2)
        x_hat, history = solver.run(n)
    else:
        if not _is_microscope(op):
            raise ValueError("method 'network' needs the course's microscope "
                             "(op = lfm.microscope())")
        net = _network(op.lenslets)
        if num_iters is not None:
            num_iters = check_int(num_iters, "num_iters", low=0, high=net.num_layers)
        x_hat = net.reconstruct(y[None] / photons, num_layers=num_iters)[0]
    seconds = time.process_time() - start
    if return_info:
        return x_hat, {"seconds": seconds, "history": history}
    return x_hat


def reconstruct_batch(ys, method: str = "rl", *, op: LightField | None = None,
                      photons: float = 200.0, num_iters: int | None = None) -> np.ndarray:
    """:func:`reconstruct` for a stack of light fields (T, PL, PL): RL through
    :func:`richardson_lucy_batch`, the network in one batch. Returns (T, D, N, N)."""
    op = microscope() if op is None else _check_op(op)
    ys = check_counts(ys, op, "ys")
    if ys.ndim != 3:
        raise ValueError(f"ys must be a stack (T, *{op.out_shape}), got {ys.shape}")
    method = check_choice(method, "method", ("rl", "network"))
    photons = check_scalar(photons, "photons", low=0.0, low_inclusive=False)
    if method == "rl":
        n = 8 if num_iters is None else check_int(num_iters, "num_iters", low=1)
        return richardson_lucy_batch(op, ys, n) / photons
    if not _is_microscope(op):
        raise ValueError("method 'network' needs the course's microscope (op = lfm.microscope())")
    net = _network(op.lenslets)
    if num_iters is not None:
        num_iters = check_int(num_iters, "num_iters", low=0, high=net.num_layers)
    return net.reconstruct(ys / photons, num_layers=num_iters)


# -- measures --------------------------------------------------------------------------------
def volume_psnr(x, x_hat, data_range: float | None = None) -> float:
    """PSNR (dB) of a reconstructed volume; ``data_range`` defaults to ``x.max()``."""
    x = as_array(x, "x", allow_complex=False, dtype=np.float64)
    x_hat = as_array(x_hat, "x_hat", shape=x.shape, allow_complex=False, dtype=np.float64)
    r = float(x.max()) if data_range is None else check_scalar(data_range, "data_range",
                                                                 low=0.0, low_inclusive=False)
    mse = float(np.mean((x - x_hat) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(r * r / mse)


def neuron_traces(volumes, layout: dict) -> np.ndarray:
    """Each neuron's brightness in each volume: the footprint-weighted mean,
    ``⟨f_n, x_t⟩ / ⟨f_n, f_n⟩`` (exact for the true volumes of isolated neurons).
    ``volumes`` (T, D, N, N) or (D, N, N); returns (n, T) or (n,)."""
    feet = layout["footprints"]
    v = as_array(volumes, "volumes", ndim=(3, 4), allow_complex=False, dtype=np.float64)
    if v.shape[-3:] != feet.shape[1:]:
        raise ValueError(f"volumes must have shape {feet.shape[1:]} (or a stack), got "
                         f"{v.shape}")
    flat = feet.reshape(feet.shape[0], -1)
    norm = (flat ** 2).sum(axis=1)
    vv = v.reshape(-1, flat.shape[1]) if v.ndim == 4 else v.reshape(1, -1)
    out = (flat @ vv.T) / norm[:, None]
    return out if v.ndim == 4 else out[:, 0]


def detect_neurons(x_hat, op: LightField | None = None, *, rel_threshold: float = 0.3
                   ) -> np.ndarray:
    """Neuron candidates of a volume: local maxima of the volume smoothed by a small
    Gaussian (over ±1 plane and ±2 voxels) above ``rel_threshold`` times its maximum,
    keeping the strongest of peaks closer than a neuron radius; returns their centres
    (K, 3) in µm (depth, row, column), strongest first."""
    op = microscope() if op is None else _check_op(op)
    x_hat = _check_volume(x_hat, op, "x_hat")
    if x_hat.ndim != 3:
        raise ValueError(f"x_hat must be one volume {op.in_shape}, got {x_hat.shape}")
    rel_threshold = check_scalar(rel_threshold, "rel_threshold", low=0.0, high=1.0)
    dz, dxy = voxel_size(op)
    smooth = ndi.gaussian_filter(x_hat, (0.5, 1.0, 1.0), mode="constant")
    top = float(smooth.max())
    if top <= 0:
        return np.zeros((0, 3))
    peaks = (smooth == ndi.maximum_filter(smooth, size=(3, 5, 5), mode="constant")) \
        & (smooth >= rel_threshold * top)
    idx = np.argwhere(peaks)
    idx = idx[np.argsort(-smooth[peaks], kind="stable")]
    z = np.asarray(op.depths)[idx[:, 0]]
    cand = np.column_stack([z, (idx[:, 1] + 0.5) * dxy, (idx[:, 2] + 0.5) * dxy])
    kept = []                         # one peak per neuron: drop weaker ones within a radius
    for c in cand:
        if all(np.linalg.norm(c - k) > NEURON_RADIUS for k in kept):
            kept.append(c)
    return np.array(kept).reshape(-1, 3)


def detection_scores(found, centres, *, tolerance: float = NEURON_RADIUS + 1.0) -> dict:
    """Precision, recall and F1 of detected centres against true ones (µm): greedy
    one-to-one matching of the closest pairs within ``tolerance`` µm."""
    found = as_array(found, "found", ndim=2, allow_complex=False, dtype=np.float64)
    centres = as_array(centres, "centres", ndim=2, allow_complex=False, dtype=np.float64)
    tolerance = check_scalar(tolerance, "tolerance", low=0.0, low_inclusive=False)
    if found.shape[1:] != (3,) or centres.shape[1:] != (3,):
        raise ValueError("found and centres must have shape (K, 3)")
    matched = 0
    if len(found) and len(centres):
        dist = np.linalg.norm(found[:, None] - centres[None], axis=-1)
        pairs = sorted((d, i, j) for (i, j), d in np.ndenumerate(dist) if d <= tolerance)
        used_f, used_c = set(), set()
        for _, i, j in pairs:
            if i not in used_f and j not in used_c:
                used_f.add(i)
                used_c.add(j)
        matched = len(used_f)
    precision = matched / len(found) if len(found) else 0.0
    recall = matched / len(centres) if len(centres) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "matched": matched,
            "found": int(len(found))}


def crosstalk(traces, pairs, reference=None) -> float:
    """Crosstalk between the neurons of close pairs, from their traces (n, T).

    Without ``reference``: the mean Pearson correlation of the two traces of every pair in
    ``pairs``. With ``reference`` (the true traces, same shape): the mean absolute change
    of that correlation, ``mean |corr(t̂_i, t̂_j) − corr(t_i, t_j)|`` — what the
    reconstruction adds or removes, in either direction (independent neurons still have
    traces that correlate by chance over a short recording).
    """
    traces = as_array(traces, "traces", ndim=2, allow_complex=False, dtype=np.float64)
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs must hold at least one pair of neuron indices")
    if reference is not None:
        reference = as_array(reference, "reference", shape=traces.shape, allow_complex=False,
                             dtype=np.float64)
    corr = []
    for i, j in pairs:
        if not (0 <= i < len(traces) and 0 <= j < len(traces)):
            raise ValueError(f"pairs holds an index outside 0 … {len(traces) - 1}: {(i, j)}")
        c = float(np.corrcoef(traces[i], traces[j])[0, 1])
        if reference is not None:
            c = abs(c - float(np.corrcoef(reference[i], reference[j])[0, 1]))
        corr.append(c)
    return float(np.mean(corr))
