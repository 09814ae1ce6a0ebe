"""Sparse-view CT without inverse crime: phantoms, sinograms, TV by PDHG, learned FBPConvNet."""
from __future__ import annotations

import functools
import numbers

import numpy as np
from scipy.ndimage import convolve1d

from ._validate import as_array, check_choice, check_int, check_scalar, check_shape
from .ct import fbp, low_dose
from .data import load_image, random_ellipses
from .operators.base import LinearOperator
from .operators.ct import Radon

__all__ = [
    "IMAGE_SIZE", "NUM_ELLIPSES", "TRAIN_VIEWS", "TRAIN_SEEDS", "TUNE_SEEDS", "HELDOUT_SEEDS",
    "LAM_GRID", "TV_LAMS", "TV_ITERS", "view_angles", "downsample", "random_head", "ct_phantom",
    "simulate_sinogram", "fbp_views", "make_tv_solver", "tv_ct", "tune_tv_lam", "tv_lam",
    "postprocess", "load_fbpconvnet", "METHODS", "reconstruct_all",
]

#: Side of the reconstructed images (the learned network is trained at this size).
IMAGE_SIZE: int = 64
#: Ellipses inside the body of every evaluation phantom.
NUM_ELLIPSES: int = 8
#: Numbers of views the network is trained on (one network for all of them) in its first
#: two phases; the third adds 180 (``course_utils.train.fbpconvnet.DEFAULTS``).
TRAIN_VIEWS: tuple[int, ...] = (18, 36, 60, 90)
#: Seeds of the training phantoms of :func:`course_utils.data.random_ellipses`.
TRAIN_SEEDS: range = range(0, 200_000)
#: Training phantoms on which the TV weight λ is tuned (:func:`tune_tv_lam`).
TUNE_SEEDS: tuple[int, ...] = (0, 1, 2, 3)
#: Held-out phantoms for tests, benchmarks and the notebook: never seen in training.
HELDOUT_SEEDS: tuple[int, ...] = tuple(range(1_000_000, 1_000_008))
#: Candidate TV weights (λ of :func:`tv_ct`); 0 is allowed elsewhere but not tuned.
LAM_GRID: tuple[float, ...] = (0.003, 0.006, 0.012, 0.025, 0.05, 0.1, 0.2, 0.4)
#: PDHG iterations of :func:`tv_ct` in the benchmark, the notebook and the tuning.
TV_ITERS: int = 200
#: λ chosen by :func:`tune_tv_lam` (largest mean PSNR over :data:`TUNE_SEEDS`), keyed by
#: ``(num_views, I0)`` with ``I0 = None`` for noise-free data. Recomputed and compared
#: by ``benchmarks/bench_ct_views.py``.
TV_LAMS: dict = {(18, None): 0.05, (36, None): 0.05, (60, None): 0.025, (180, None): 0.025,
                 (60, 1e4): 0.1}

#: The reconstructions compared by :func:`reconstruct_all`.
METHODS: tuple[str, ...] = ("FBP", "SART", "CGLS", "TV", "learned")

_TAPS = np.array([0.25, 0.5, 0.25])


def view_angles(num_views: int) -> np.ndarray:
    """``num_views`` projection angles in degrees, evenly spread over [0°, 180°).

    Parameters
    ----------
    num_views : int
        Number of views, at least 1.

    Returns
    -------
    ndarray of shape (num_views,)
    """
    if isinstance(num_views, bool) or not isinstance(num_views, numbers.Integral):
        raise TypeError(f"num_views must be an integer, got {type(num_views).__name__}")
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1 (at least one view), got {num_views}")
    return np.linspace(0.0, 180.0, int(num_views), endpoint=False)


def downsample(x_fine, axes=(0, 1)) -> np.ndarray:
    """Decimate by two along ``axes``: filter with ``[1/4, 1/2, 1/4]``, keep even samples.

    Parameters
    ----------
    x_fine : ndarray
        Real array; each axis in ``axes`` of even length ``2M``.
    axes : tuple of int
        Axes to decimate.

    Returns
    -------
    ndarray
        Sample ``k`` of a decimated axis is the weighted mean of fine samples
        ``2k − 1, 2k, 2k + 1``: it is centred on fine sample ``2k``, so the rotation axis
        at fine pixel ``M`` (``= 2M // 2``) lands on coarse pixel ``M // 2``, where the
        coarse Radon transform puts it.
    """
    x = as_array(x_fine, "x_fine", allow_complex=False, dtype=np.float64)
    for axis in axes:
        if x.shape[axis] % 2:
            raise ValueError(f"x_fine must have an even length along axis {axis}, "
                             f"got {x.shape}")
        x = convolve1d(x, _TAPS, axis=axis, mode="constant")
        x = np.take(x, np.arange(0, x.shape[axis], 2), axis=axis)
    return x


def random_head(shape=(64, 64), seed: int = 0, *, num_ellipses: int = 8) -> np.ndarray:
    """A random head-like phantom: a bright skull ring around random ellipses, in [0, 1].

    Parameters
    ----------
    shape : tuple of int (M, N)
        Image shape; the phantom is drawn on ``[-1, 1]²`` sampled by ``linspace``, as
        :func:`course_utils.data.random_ellipses` does, so a seed gives the same object at
        every size.
    seed : int
        Seed of the random generator.
    num_ellipses : int
        Ellipses inside the brain.

    Returns
    -------
    ndarray of shape (M, N)

    Notes
    -----
    The random family of the Shepp–Logan phantom: an outer ellipse (semi-axes 0.6–0.8
    across, 0.8–0.95 along, tilted by up to 0.3 rad) of skull intensity 0.5–1, a brain
    ellipse 0.02–0.08 thinner (along each axis) inside it of intensity 0.1–0.4, and
    ``num_ellipses``
    ellipses in the brain adding −0.25 to 0.3 each (clipped to [0, 1]), from faint
    (±0.02) to strong contrasts. :func:`~course_utils.data.random_ellipses` has no
    skull; phantoms of both families train the network of :func:`postprocess`.

    References
    ----------
    .. [1] L. A. Shepp and B. F. Logan, "The Fourier reconstruction of a head section",
       IEEE Trans. Nuclear Science, 21(3), 1974.
    """
    shape = check_shape(shape, "shape")
    if len(shape) != 2:
        raise ValueError(f"shape must be (M, N), got {shape}")
    seed = check_int(seed, "seed", low=0)
    num_ellipses = check_int(num_ellipses, "num_ellipses", low=0, high=1000)
    rng = np.random.default_rng([seed, 1974])
    rows = np.linspace(-1.0, 1.0, shape[0])[:, None]
    cols = np.linspace(-1.0, 1.0, shape[1])[None, :]

    def ellipse(r0, c0, a, b, theta):
        cr, sr = np.cos(theta), np.sin(theta)
        u = (cols - c0) * cr + (rows - r0) * sr
        v = -(cols - c0) * sr + (rows - r0) * cr
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0

    a, b = rng.uniform(0.6, 0.8), rng.uniform(0.8, 0.95)
    tilt, thick = rng.uniform(-0.3, 0.3), rng.uniform(0.02, 0.08, size=2)
    skull = ellipse(0.0, 0.0, a, b, tilt)
    brain = ellipse(0.0, 0.0, a - thick[0], b - thick[1], tilt)
    img = rng.uniform(0.5, 1.0) * skull
    img[brain] = rng.uniform(0.1, 0.4)
    for _ in range(num_ellipses):
        r0, c0 = rng.uniform(-0.6, 0.6) * b, rng.uniform(-0.6, 0.6) * a
        axes = rng.uniform(0.03, 0.3, size=2)
        img += rng.uniform(-0.25, 0.3) * (ellipse(r0, c0, *axes, rng.uniform(0, np.pi)) & brain)
    return np.clip(img, 0.0, 1.0)


def ct_phantom(source=HELDOUT_SEEDS[0], size: int = IMAGE_SIZE, *,
               num_ellipses: int = NUM_ELLIPSES,
               family: str = "ellipses") -> tuple[np.ndarray, np.ndarray]:
    """A phantom on a fine grid (for the data) and at the reconstruction size (the truth).

    Parameters
    ----------
    source : int or "shepp_logan"
        A seed of the random family, or the Shepp–Logan phantom.
    size : int
        Side ``M`` of the reconstruction (even, at least 8).
    num_ellipses : int
        Ellipses of a random phantom.
    family : {"ellipses", "head"}
        Random family: :func:`course_utils.data.random_ellipses` or :func:`random_head`.

    Returns
    -------
    x_fine : ndarray of shape (2M, 2M)
        The object drawn on a grid twice as fine, values in [0, 1].
    x : ndarray of shape (M, M)
        ``downsample(x_fine)``: the object at the resolution of the reconstruction.
    """
    size = check_int(size, "size", low=8, high=1024)
    if size % 2:
        raise ValueError(f"size must be even, got {size}")
    check_choice(family, "family", ("ellipses", "head"))
    if isinstance(source, str):
        if source != "shepp_logan":
            raise ValueError(f"source must be a seed or 'shepp_logan', got {source!r}")
        x_fine = load_image("shepp_logan", 2 * size)
    else:
        seed = check_int(source, "source", low=0)
        make = random_ellipses if family == "ellipses" else (
            lambda shape, n, s: random_head(shape, s, num_ellipses=n))
        x_fine = make((2 * size, 2 * size), num_ellipses, seed)
    return x_fine, downsample(x_fine)


@functools.lru_cache(maxsize=16)
def _radon(size: int, num_views: int) -> Radon:
    return Radon((size, size), view_angles(num_views))


def simulate_sinogram(x_fine, num_views: int, *, I0: float | None = None,
                      seed: int = 0) -> np.ndarray:
    """The sinogram of ``x_fine`` on the coarse detector, optionally at low dose.

    Parameters
    ----------
    x_fine : ndarray of shape (2M, 2M)
        The object on the fine grid (from :func:`ct_phantom`).
    num_views : int
        Views evenly spread over 180° (:func:`view_angles`).
    I0 : float, optional
        Incident photons per detector bin (> 0); ``None`` gives noise-free data.
    seed : int
        Seed of the Poisson counts (:func:`course_utils.ct.low_dose`).

    Returns
    -------
    y : ndarray of shape (M, num_views)
        Line integrals in units of coarse pixels, in the layout of
        :class:`~course_utils.operators.Radon`.

    Notes
    -----
    The data are made with the Radon matrix of the fine grid, then binned to ``M``
    detectors (:func:`downsample` along the detector axis) and halved (a fine pixel is
    half a coarse one). The reconstructions use the coarse matrix, a different
    discretisation: simulating and inverting with the same matrix — the *inverse crime*
    — flatters every model-based method (Kaipio & Somersalo 2005). Here the model error
    is ``‖R x − y‖ / ‖y‖ ≈ 4·10⁻³``.

    References
    ----------
    .. [1] J. Kaipio and E. Somersalo, *Statistical and Computational Inverse Problems*,
       Springer, 2005, § 1.2.
    """
    x_fine = as_array(x_fine, "x_fine", ndim=2, allow_complex=False, dtype=np.float64)
    rows, cols = x_fine.shape
    if rows != cols or rows % 4:
        raise ValueError(f"x_fine must be square with a side divisible by 4, got "
                         f"{x_fine.shape}")
    angles = view_angles(num_views)
    y = downsample(_radon(rows, angles.size)(x_fine), axes=(0,)) / 2.0
    if I0 is not None:
        y = low_dose(y, I0, seed=seed)
    return y


def fbp_views(y, *, filter: str = "ramp") -> np.ndarray:
    """FBP of a square sinogram ``y`` of shape (M, K) with ``K`` evenly spread views."""
    y = as_array(y, "y", ndim=2, allow_complex=False, dtype=np.float64)
    return fbp(y, view_angles(y.shape[1]), filter)


# -- TV by PDHG ---------------------------------------------------------------------------

_A_NORM = 6.0     # the Radon block is scaled to this norm (about 2 ‖∇‖)
_STEP_RATIO = 0.3  # tau = 0.99 / (‖K‖ r), sigma = 0.99 r / ‖K‖


class _ScaledRadon(LinearOperator):
    """``c R`` with its norm known by construction (no second power iteration)."""

    def __init__(self, radon: Radon, scale: float, norm: float):
        super().__init__(radon.in_shape, radon.out_shape, in_kind="real", out_kind="real",
                         name="scaled radon")
        self.radon, self.scale, self._known_norm = radon, scale, norm

    def _forward(self, x):
        return self.scale * self.radon._forward(x)

    def _adjoint(self, y):
        return self.scale * self.radon._adjoint(y)

    def norm(self, *args, **kwargs) -> float:
        return self._known_norm


@functools.lru_cache(maxsize=16)
def _scaled_radon(size: int, num_views: int):
    """``(c, c R)`` with ``c = _A_NORM / ‖R‖``, ``‖R‖`` by power iteration once per geometry."""
    R = _radon(size, num_views)
    scale = _A_NORM / R.norm(tol=1e-5)
    return scale, _ScaledRadon(R, scale, _A_NORM)


def make_tv_solver(y, lam: float, *, x0=None, x_true=None):
    r"""A PDHG solver for TV-regularised CT, ready to ``step`` (see :func:`tv_ct`).

    Returns
    -------
    course_utils.solvers.PDHG
        Its iterate ``solver.x`` is the current image; ``solver.step()`` does one
        iteration (one forward and one back-projection).
    """
    from .solvers import make_tv_pdhg

    y = as_array(y, "y", ndim=2, allow_complex=False, dtype=np.float64)
    size, num_views = y.shape
    if size < 8:
        raise ValueError(f"y must have at least 8 detector bins, got shape {y.shape}")
    lam = check_scalar(lam, "lam", low=0.0)
    scale, A = _scaled_radon(size, num_views)
    # (π / 2K)‖R x − y‖² + λ TV(x)  ==  (π / K c²) [½‖c R x − c y‖² + λ c² K / π · TV(x)]
    lam_scaled = lam * scale ** 2 * num_views / np.pi
    op_norm = np.sqrt(_A_NORM ** 2 + 8.0)
    return make_tv_pdhg(A, scale * y, lam_scaled, nonneg=True, x0=x0, x_true=x_true,
                        tau=0.99 / (op_norm * _STEP_RATIO), sigma=0.99 * _STEP_RATIO / op_norm)


def tv_ct(y, lam: float, *, num_iters: int = TV_ITERS, x0=None) -> np.ndarray:
    r"""TV-regularised reconstruction from a sinogram of evenly spread views, by PDHG.

    Parameters
    ----------
    y : ndarray of shape (M, K)
        Sinogram of a square (M, M) image seen from ``K`` views over 180°.
    lam : float
        TV weight (>= 0), on the scale where the data term is weighted by ``π / K``
        (so one λ suits every number of views).
    num_iters : int
        PDHG iterations.
    x0 : ndarray of shape (M, M), optional
        Starting image (warm start); default zeros.

    Returns
    -------
    x_hat : ndarray of shape (M, M)

    Notes
    -----
    Minimises, over ``x >= 0``,

    .. math:: \frac{π}{2K}\, \|R x − y\|_2^2 + λ\, \|∇ x\|_{2,1},

    the data term being the discrete ``∫₀^π ‖y_θ − R_θ x‖² dθ`` (its ``π / K`` is the
    angular step of FBP). PDHG (Chambolle & Pock 2011) with ``K = [c R; ∇]`` as in
    :func:`course_utils.solvers.make_tv_pdhg`; ``R`` is rescaled to ``‖c R‖ = 6``, about
    twice ``‖∇‖ ≤ √8``, and the primal step is ``1 / 0.3²`` times the dual one. Without
    that balance (``‖R‖`` is about 60 at 60 views and 64²) PDHG needs thousands of
    iterations; with it, 200 reach the TV solution to a few hundredths of a dB.

    References
    ----------
    .. [1] E. Y. Sidky and X. Pan, "Image reconstruction in circular cone-beam computed
       tomography by constrained, total-variation minimization", Phys. Med. Biol. 53,
       4777–4807, 2008.
    .. [2] A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex
       problems with applications to imaging", J. Math. Imaging Vis. 40(1), 2011.
    """
    num_iters = check_int(num_iters, "num_iters", low=1)
    solver = make_tv_solver(y, lam, x0=x0)
    for _ in range(num_iters):
        solver.step()
    return solver.x.copy()


def tune_tv_lam(num_views: int, I0: float | None = None, *, seeds=TUNE_SEEDS,
                lams=LAM_GRID, num_iters: int = TV_ITERS, size: int = IMAGE_SIZE) -> dict:
    """Choose λ of :func:`tv_ct` on training phantoms: the largest mean PSNR on a grid.

    Parameters
    ----------
    num_views : int
        Number of views.
    I0 : float, optional
        Dose (``None``: noise-free).
    seeds : sequence of int
        Phantom seeds; by default :data:`TUNE_SEEDS`, which are training seeds, so the
        held-out phantoms play no part in the choice.
    lams : sequence of float
        Candidate weights.
    num_iters : int
        PDHG iterations per reconstruction.

    Returns
    -------
    dict
        ``{"lam": best λ, "psnr": {λ: mean PSNR}}``.
    """
    from .metrics import psnr

    angles = view_angles(num_views)
    lams = [check_scalar(v, "lams", low=0.0) for v in lams]
    if not lams:
        raise ValueError("lams must contain at least one value")
    seeds = [check_int(s, "seeds", low=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    scores = {lam: 0.0 for lam in lams}
    for k, seed in enumerate(seeds):
        x_fine, x = ct_phantom(seed, size)
        y = simulate_sinogram(x_fine, angles.size, I0=I0, seed=k)
        for lam in lams:
            scores[lam] += psnr(x, tv_ct(y, lam, num_iters=num_iters)) / len(seeds)
    best = max(scores, key=scores.get)
    return {"lam": best, "psnr": scores}


def tv_lam(num_views: int, I0: float | None = None) -> float:
    """The tuned λ of :data:`TV_LAMS` for this setting, else that of the nearest view count
    at the same dose (noise-free or not)."""
    num_views = view_angles(num_views).size
    if (num_views, I0) in TV_LAMS:
        return TV_LAMS[(num_views, I0)]
    same = [(abs(np.log(k / num_views)), lam) for (k, dose), lam in TV_LAMS.items()
            if (dose is None) == (I0 is None)]
    if not same:
        raise ValueError("no tuned λ for this setting; run tune_tv_lam")
    return min(same)[1]


# -- the learned post-processing ------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def load_fbpconvnet():
    """The shipped :class:`~course_utils.nets.fbpconvnet.FBPConvNet`, in eval mode (cached).

    Its weights are checked against the SHA-256 of the registry and read with
    ``weights_only=True``; they are reproduced by
    ``python -m course_utils.train fbpconvnet``.
    """
    from . import weights
    from .nets.fbpconvnet import build_fbpconvnet

    entry = weights.registry().get("fbpconvnet", {})
    arch = {k: tuple(v) for k, v in entry.get("arch", {}).items()}
    return weights.load_frozen(build_fbpconvnet(**arch), "fbpconvnet")


def postprocess(x_fbp, num_views: int) -> np.ndarray:
    r"""Remove sparse-view streaks from an FBP image with the shipped FBPConvNet.

    Parameters
    ----------
    x_fbp : ndarray of shape (M, N)
        A ramp-filtered FBP (:func:`fbp_views`) of an object in [0, 1]; real.
    num_views : int
        Number of views of its sinogram (the network was trained on 18 to 90 views,
        and 180 in its last phase; it runs on any number, with growing error outside
        that range).

    Returns
    -------
    x_hat : ndarray of shape (M, N)
        ``max(x_fbp + U_θ(x_fbp, 18 / K), 0)``.

    Notes
    -----
    The network (:class:`~course_utils.nets.fbpconvnet.FBPConvNet`) was trained on
    64 × 64 random-ellipse phantoms of both families of :func:`ct_phantom` (seeds
    :data:`TRAIN_SEEDS`) with noise-free and low-dose data from the fine grid of
    :func:`simulate_sinogram`. Attenuation is non-negative, so negative values of the
    network output are set to zero, the constraint ``x >= 0`` that SART and TV impose too
    (on held-out ellipses it adds 0.1 to 0.15 dB). Images whose sides are not
    multiples of 8 are padded by reflection and cropped back. The network runs on one
    thread (then restored): for one small image a thread pool costs more than it saves,
    and on a busy CPU far more.

    References
    ----------
    .. [1] K. H. Jin, M. T. McCann, E. Froustey, M. Unser, "Deep convolutional neural
       network for inverse problems in imaging", IEEE Trans. Image Process. 26(9),
       4509–4522, 2017.
    """
    x_fbp = as_array(x_fbp, "x_fbp", ndim=2, allow_complex=False, dtype=np.float64)
    num_views = view_angles(num_views).size
    import torch

    net = load_fbpconvnet()
    rows, cols = x_fbp.shape
    stride = net.stride
    pad_r, pad_c = (-rows) % stride, (-cols) % stride
    padded = np.pad(x_fbp, ((0, pad_r), (0, pad_c)), mode="reflect") if (pad_r or pad_c) \
        else x_fbp
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            out = net(torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))
                      [None, None], float(num_views))
    finally:
        torch.set_num_threads(threads)
    return np.maximum(out[0, 0, :rows, :cols].numpy().astype(np.float64), 0.0)


def reconstruct_all(x_fine, num_views: int, I0: float | None = None, *, noise_seed: int = 0,
                    lam: float | None = None, methods=METHODS) -> dict:
    """Reconstruct one phantom from simulated data with every method of the comparison.

    Parameters
    ----------
    x_fine : ndarray of shape (2M, 2M)
        The object on the fine grid (:func:`ct_phantom`).
    num_views : int
        Number of views.
    I0 : float, optional
        Dose; ``None`` for noise-free data.
    noise_seed : int
        Seed of the Poisson counts.
    lam : float, optional
        TV weight; default :func:`tv_lam` ``(num_views, I0)``, tuned on training phantoms.
    methods : sequence of str
        A subset of :data:`METHODS`.

    Returns
    -------
    dict
        ``{method: x_hat}``, plus ``"y"`` (the sinogram) and ``"lam"``.

    Notes
    -----
    FBP: ramp filter. SART: 10 sweeps with ``x >= 0`` (Andersen & Kak 1984). CGLS: 20
    iterations (stopping early regularises). TV: :data:`TV_ITERS` iterations of
    :func:`tv_ct`. learned: :func:`postprocess` of the FBP.
    """
    from .ct import cgls, sart

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown methods: {unknown}; expected some of {METHODS}")
    y = simulate_sinogram(x_fine, num_views, I0=I0, seed=noise_seed)
    angles = view_angles(num_views)
    lam = tv_lam(num_views, I0) if lam is None else check_scalar(lam, "lam", low=0.0)
    x_fbp = fbp_views(y)
    out = {"y": y, "lam": lam}
    for m in methods:
        if m == "FBP":
            out[m] = x_fbp
        elif m == "SART":
            out[m] = sart(y, angles, num_iters=10, nonneg=True)
        elif m == "CGLS":
            out[m] = cgls(y, angles, num_iters=20)
        elif m == "TV":
            out[m] = tv_ct(y, lam, num_iters=TV_ITERS)
        else:
            out[m] = postprocess(x_fbp, num_views)
    return out
