"""Diffusion models as priors: schedules, DDPM/DDIM sampling, and ILVR, DPS and INDIGO.

The prior is a noise-level-conditional denoiser ``D(x, sigma)`` trained on the course's
random-ellipse phantoms at 32×32 (:data:`IMAGE_SHAPE`; ``python -m course_utils.train
diffusion``). A denoiser is a score (Tweedie), so the same network gives DDPM's
ε-prediction and x₀-prediction. Images are in [0, 1] in every public function; inside the
samplers they live in the model's range [-1, 1].
"""
from __future__ import annotations

import numpy as np

from ._validate import check_int

__all__ = ["IMAGE_SHAPE", "HELDOUT_SEED_BASE", "phantoms", "training_images",
           "heldout_images", "NUM_TIMESTEPS", "SCHEDULES", "noise_schedule",
           "sigma_from_alpha_bar", "alpha_bar_from_sigma", "forward_noise", "eps_from_x0",
           "x0_from_eps", "score_from_denoiser", "posterior_step", "timesteps", "TASKS",
           "MEASUREMENT_SHAPES", "BLUR_SIGMA", "RESPONSE_K", "camera_response", "block_mean",
           "upsample", "degrade", "METHODS", "SAMPLERS", "DEFAULT_STEPS", "DEFAULT_ZETA",
           "ITERATE_BOUND", "load_prior", "load_indigo_inn", "Sampler", "sample", "restore",
           "posterior_samples", "evaluate"]

#: Shape of the images the diffusion prior was trained on: 32×32 random-ellipse phantoms.
IMAGE_SHAPE: tuple[int, int] = (32, 32)
#: Every training image comes from a phantom seed below this; held-out images from seeds
#: at or above it, so that no training command ever sees them.
HELDOUT_SEED_BASE: int = 2 ** 30
_RENDER = 2  # phantoms are drawn at twice the size and block-averaged (anti-aliased edges)


def phantoms(n: int, seed: int) -> np.ndarray:
    """``n`` anti-aliased random-ellipse phantoms of :data:`IMAGE_SHAPE` in [0, 1].

    Each is :func:`course_utils.data.random_ellipses` drawn at 64×64 (a body ellipse with
    8 inner ellipses) and averaged over 2×2 blocks, so that edges are partial-volume grey
    levels instead of staircases. The same ``(n, seed)`` gives the same images.

    Returns
    -------
    ndarray of shape (n, 32, 32), float64
    """
    from .data import random_ellipses

    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)
    m, k = IMAGE_SHAPE[0], _RENDER
    big = random_ellipses((m * k, IMAGE_SHAPE[1] * k), seed=seed, num_images=n)
    return big.reshape(n, m, k, IMAGE_SHAPE[1], k).mean(axis=(2, 4))


def training_images(n: int, seed: int) -> np.ndarray:
    """``n`` training phantoms for the batch seed ``seed`` (``0 <= seed < 2**30``)."""
    seed = check_int(seed, "seed", low=0, high=HELDOUT_SEED_BASE - 1)
    return phantoms(n, seed)


def heldout_images(n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` phantoms of :data:`IMAGE_SHAPE` that no training command ever saw.

    They come from the phantom seed ``HELDOUT_SEED_BASE + seed``, and every training
    batch is drawn from a seed below ``HELDOUT_SEED_BASE``.

    Returns
    -------
    ndarray of shape (n, 32, 32) in [0, 1]
    """
    seed = check_int(seed, "seed", low=0, high=2 ** 31)
    return phantoms(n, HELDOUT_SEED_BASE + seed)


# -- noise schedules and the conversions between VP and "x0 + sigma n" ---------------------
NUM_TIMESTEPS: int = 1000
SCHEDULES: tuple[str, ...] = ("linear", "cosine")


def noise_schedule(kind: str = "linear", num_timesteps: int = NUM_TIMESTEPS) -> np.ndarray:
    r"""The cumulative products :math:`\bar\alpha_t`, ``t = 1 … T``, of a DDPM schedule.

    ``"linear"``: :math:`\beta_t` from 1e-4 to 0.02 (Ho et al. 2020); ``"cosine"``:
    :math:`\bar\alpha_t = \cos^2\big(\tfrac{t/T + s}{1 + s}\tfrac\pi2\big)` normalised,
    ``s = 0.008``, with :math:`\beta_t \le 0.999` (Nichol & Dhariwal 2021).

    Returns
    -------
    ndarray of shape (num_timesteps,)
        ``alpha_bar[t - 1]`` for ``t = 1 … T``, decreasing from about 1 towards 0.
    """
    from ._validate import check_choice

    kind = check_choice(kind, "kind", SCHEDULES)
    num_timesteps = check_int(num_timesteps, "num_timesteps", low=2)
    if kind == "linear":
        betas = np.linspace(1e-4 * 1000 / num_timesteps, 0.02 * 1000 / num_timesteps,
                            num_timesteps)
    else:
        s = 0.008
        steps = np.arange(num_timesteps + 1) / num_timesteps
        f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
        betas = np.clip(1 - f[1:] / f[:-1], 0.0, 0.999)
    return np.cumprod(1.0 - betas)


def _alpha_bar(alpha_bar, name="alpha_bar"):
    from ._validate import as_array

    ab = as_array(alpha_bar, name, allow_complex=False)
    if np.any(ab <= 0) or np.any(ab > 1):
        raise ValueError(f"{name} must be in (0, 1]")
    return ab


def sigma_from_alpha_bar(alpha_bar):
    r""":math:`\sigma = \sqrt{(1 - \bar\alpha)/\bar\alpha}`: the noise level of
    :math:`x_t/\sqrt{\bar\alpha_t} = x_0 + \sigma n`."""
    ab = _alpha_bar(alpha_bar)
    return np.sqrt((1.0 - ab) / ab)


def alpha_bar_from_sigma(sigma):
    r""":math:`\bar\alpha = 1/(1 + \sigma^2)`, the inverse of :func:`sigma_from_alpha_bar`."""
    from ._validate import as_array

    s = as_array(sigma, "sigma", allow_complex=False)
    if np.any(s < 0):
        raise ValueError("sigma must be >= 0")
    return 1.0 / (1.0 + s ** 2)


def forward_noise(x0, alpha_bar, noise):
    r"""The variance-preserving forward process
    :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon`."""
    from ._validate import as_array

    x0 = as_array(x0, "x0", allow_complex=False)
    noise = as_array(noise, "noise", allow_complex=False)
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have the shape of x0 {x0.shape}, got {noise.shape}")
    ab = float(_alpha_bar(alpha_bar))
    return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * noise


def eps_from_x0(x_t, x0, alpha_bar):
    r"""ε-prediction from an x₀-prediction: :math:`\varepsilon = (x_t - \sqrt{\bar\alpha}
    x_0)/\sqrt{1-\bar\alpha}`."""
    ab = float(_alpha_bar(alpha_bar))
    if ab >= 1.0:
        raise ValueError("alpha_bar must be < 1 to recover the noise")
    return (np.asarray(x_t) - np.sqrt(ab) * np.asarray(x0)) / np.sqrt(1.0 - ab)


def x0_from_eps(x_t, eps, alpha_bar):
    r"""Tweedie's x₀ from an ε-prediction: :math:`x_{0,t} = (x_t - \sqrt{1-\bar\alpha}\,
    \varepsilon)/\sqrt{\bar\alpha}` (line 4 of the talk's Algorithm 1)."""
    ab = float(_alpha_bar(alpha_bar))
    return (np.asarray(x_t) - np.sqrt(1.0 - ab) * np.asarray(eps)) / np.sqrt(ab)


def score_from_denoiser(x, denoised, sigma):
    r"""Tweedie: :math:`\nabla_x \log p_\sigma(x) = (D(x, \sigma) - x)/\sigma^2`."""
    from ._validate import check_scalar

    sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False)
    return (np.asarray(denoised) - np.asarray(x)) / sigma ** 2


def posterior_step(x_t, x0, alpha_bar_t, alpha_bar_prev, noise=None):
    r"""One DDPM ancestral step :math:`\tilde x_{t-1}` from ``x_t`` and the prediction ``x0``
    (line 5 of the talk's Algorithm 1), between any two times of a (respaced) schedule:

    .. math:: \tilde x_{t-1} = \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}x_t
       + \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x_{0,t} + \sigma_t z,

    with :math:`\alpha_t = \bar\alpha_t/\bar\alpha_{t-1}`, :math:`\beta_t = 1 - \alpha_t`
    and :math:`\sigma_t^2 = \beta_t(1-\bar\alpha_{t-1})/(1-\bar\alpha_t)`. ``noise`` is
    ``z`` (``None``: no noise, the posterior mean). Works on numpy arrays and tensors.
    """
    ab_t = float(_alpha_bar(alpha_bar_t, "alpha_bar_t"))
    ab_s = float(_alpha_bar(alpha_bar_prev, "alpha_bar_prev"))
    if ab_s < ab_t or ab_t >= 1.0:
        raise ValueError("need alpha_bar_t < 1 and alpha_bar_prev >= alpha_bar_t")
    a_t = ab_t / ab_s
    beta = 1.0 - a_t
    mean = (np.sqrt(a_t) * (1 - ab_s) / (1 - ab_t)) * x_t + (np.sqrt(ab_s) * beta / (1 - ab_t)) * x0
    if noise is None:
        return mean
    return mean + np.sqrt(beta * (1 - ab_s) / (1 - ab_t)) * noise


def timesteps(num_steps: int, num_timesteps: int = NUM_TIMESTEPS) -> np.ndarray:
    """``num_steps`` times (0-based indices into the schedule), evenly spaced, decreasing
    from ``num_timesteps - 1`` to 0: the respaced schedule a sampler with fewer steps runs."""
    num_steps = check_int(num_steps, "num_steps", low=1)
    num_timesteps = check_int(num_timesteps, "num_timesteps", low=2)
    if num_steps > num_timesteps:
        raise ValueError(f"num_steps must be <= {num_timesteps}, got {num_steps}")
    return np.round(np.linspace(num_timesteps - 1, 0, num_steps)).astype(int)


# -- the degradations --------------------------------------------------------------------
TASKS: tuple[str, ...] = ("sr4", "nonlinear")
#: Measurement shape of each task for a 32×32 image.
MEASUREMENT_SHAPES: dict = {"sr4": (8, 8), "nonlinear": (16, 16)}
#: The non-linear degradation: a Gaussian blur of this width (pixels), ×2 subsampling,
#: then the camera response ``g(u) = (1 - exp(-k u)) / (1 - exp(-k))`` with this ``k``.
BLUR_SIGMA: float = 1.0
RESPONSE_K: float = 3.0


def _gauss_taps() -> np.ndarray:
    r = np.arange(-3, 4)
    taps = np.exp(-0.5 * (r / BLUR_SIGMA) ** 2)
    return taps / taps.sum()


def camera_response(u):
    """The saturating response ``(1 - exp(-k u)) / (1 - exp(-k))``, ``k =`` :data:`RESPONSE_K`."""
    return (1.0 - np.exp(-RESPONSE_K * np.asarray(u))) / (1.0 - np.exp(-RESPONSE_K))


def block_mean(x, factor: int) -> np.ndarray:
    """Means over ``factor``×``factor`` blocks of the last two axes."""
    x = np.asarray(x)
    m, n = x.shape[-2:]
    return x.reshape(*x.shape[:-2], m // factor, factor, n // factor, factor).mean(axis=(-3, -1))


def upsample(y, factor: int) -> np.ndarray:
    """Nearest-neighbour upsampling of the last two axes by ``factor``."""
    return np.repeat(np.repeat(np.asarray(y), factor, axis=-2), factor, axis=-1)


def _apply_task(x: np.ndarray, task: str) -> np.ndarray:
    if task == "sr4":
        return block_mean(x, 4)
    from scipy.ndimage import correlate1d

    taps = _gauss_taps()
    blurred = correlate1d(correlate1d(x, taps, axis=-1, mode="mirror"), taps, axis=-2,
                          mode="mirror")
    return camera_response(blurred[..., ::2, ::2])


def _images(x, name="x") -> np.ndarray:
    from ._validate import as_array

    x = as_array(x, name, ndim=(2, 3), allow_complex=False)
    if x.shape[-2:] != IMAGE_SHAPE:
        raise ValueError(f"{name} must have shape {IMAGE_SHAPE} or (B, *{IMAGE_SHAPE}) (the "
                         f"diffusion prior's 32×32 phantoms), got {x.shape}")
    return x.astype(np.float64)


def degrade(x, task: str, *, sigma_n: float = 0.0, seed: int = 0) -> np.ndarray:
    r"""Measure ``x`` for a restoration task, with Gaussian noise of std ``sigma_n``.

    Parameters
    ----------
    x : ndarray of shape (32, 32) or (B, 32, 32)
        Images in [0, 1] (:data:`IMAGE_SHAPE`).
    task : {"sr4", "nonlinear"}
        ``"sr4"``: means over 4×4 blocks (8×8 measurement). ``"nonlinear"``: a Gaussian
        blur (σ = :data:`BLUR_SIGMA` px), every second pixel, then the saturating
        :func:`camera_response` (16×16 measurement); no inverse is known to the samplers.
    sigma_n : float
        Noise standard deviation on the [0, 1] scale of the images.
    seed : int
        Seed of the noise.

    Returns
    -------
    ndarray of shape (8, 8) / (16, 16), or with the batch axis
    """
    from ._validate import check_choice, check_scalar

    x = _images(x)
    task = check_choice(task, "task", TASKS)
    sigma_n = check_scalar(sigma_n, "sigma_n", low=0.0)
    seed = check_int(seed, "seed", low=0)
    y = _apply_task(x, task)
    if sigma_n > 0:
        y = y + sigma_n * np.random.default_rng(seed).standard_normal(y.shape)
    return y


# -- the networks ------------------------------------------------------------------------
METHODS: tuple[str, ...] = ("ilvr", "dps", "indigo")
SAMPLERS: tuple[str, ...] = ("ddpm", "ddim")
#: Default number of sampling steps (= network evaluations) of :func:`restore`.
DEFAULT_STEPS: int = 50
#: Step sizes ζ of DPS and INDIGO, per task (and for the linear stand-ins of the non-linear
#: task), the best of a grid on 8 validation phantoms (held out, not those the benchmark
#: reports), noise-free, 50 steps: ``python -m benchmarks.bench_diffusion --tune``.
DEFAULT_ZETA: dict = {
    ("dps", "sr4"): 10.0, ("indigo", "sr4"): 2.0,
    ("dps", "nonlinear"): 5.0, ("indigo", "nonlinear"): 0.5,
    ("dps", "nonlinear", "stand-in"): 0.2, ("indigo", "nonlinear", "stand-in"): 0.05,
}
#: Iterates are kept in [-ITERATE_BOUND, ITERATE_BOUND] (a healthy run stays within ±5):
#: a step size far too large then gives a poor image instead of overflowing to NaN.
ITERATE_BOUND: float = 10.0
_CACHE: dict = {}


def load_prior():
    """The shipped diffusion prior, a :class:`~course_utils.nets.diffusion.SigmaUNet`
    (eval mode, frozen, cached): ``D(x, sigma)`` on images in [-1, 1]."""
    if "prior" not in _CACHE:
        from . import weights
        from .nets.diffusion import build_diffusion_net

        _CACHE["prior"] = weights.load_frozen(build_diffusion_net(), "diffusion")
    return _CACHE["prior"]


def load_indigo_inn(task: str = "nonlinear"):
    """INDIGO's INN ``f_phi`` for ``task`` (eval mode, frozen, cached).

    ``"sr4"``: two Haar levels with detail couplings
    (:class:`~course_utils.nets.indigo.HaarDetailINN`); its coarse band is 4 × the 4×4
    block means for any weights, so nothing is trained. ``"nonlinear"``: the shipped
    :class:`~course_utils.nets.indigo.LearnedDegradationINN`, trained by
    ``python -m course_utils.train indigo-inn``. ``"sr2"`` (a stand-in for the
    non-linear task): one Haar level, its coarse band 2 × the 2×2 block means.
    """
    from ._validate import check_choice

    task = check_choice(task, "task", TASKS + ("sr2",))
    key = ("inn", task)
    if key not in _CACHE:
        from .nets.indigo import HaarDetailINN, build_indigo_inn

        if task == "nonlinear":
            from . import weights

            net = weights.load_frozen(build_indigo_inn(), "indigo_inn")
        else:
            net = HaarDetailINN(levels=2 if task == "sr4" else 1).eval()
            for p in net.parameters():
                p.requires_grad_(False)
        _CACHE[key] = net
    return _CACHE[key]


def _torch_task(task: str):
    """``A`` of ``task`` on tensors (B, 1, 32, 32) in [0, 1] (differentiable)."""
    import torch
    import torch.nn.functional as F

    if task in ("sr4", "sr2"):
        factor = 4 if task == "sr4" else 2
        return lambda x: F.avg_pool2d(x, factor)
    taps = torch.tensor(_gauss_taps(), dtype=torch.float32)
    kernel = (taps[:, None] * taps[None, :])[None, None]
    pad = len(taps) // 2

    def forward(x):
        blurred = F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), kernel.to(x.dtype))
        u = blurred[..., ::2, ::2]
        return (1 - torch.exp(-RESPONSE_K * u)) / (1 - np.exp(-RESPONSE_K))
    return forward


# -- samplers: one step at a time --------------------------------------------------------
class Sampler:
    r"""A DDPM or DDIM sampler that a widget can advance one step at a time, unconditional
    or guided by a measurement (ILVR, DPS, INDIGO).

    Each step evaluates the prior once: it predicts :math:`x_{0,t}` (Tweedie, from the
    denoiser at :math:`\sigma_t = \sqrt{(1-\bar\alpha_t)/\bar\alpha_t}`), takes the DDPM
    posterior step (:func:`posterior_step`) or DDIM's deterministic one, then, if a
    ``method`` is given, corrects the new iterate:

    - ``"ilvr"`` replaces its low frequencies (block means over the task's factor, the
      only degradations ILVR can use) by those of the measurement noised to the same time;
    - ``"dps"`` subtracts :math:`\zeta\,\nabla_{x_t}\|y - A(x_{0,t})\|` (the unsquared norm
      of Chung et al.'s code), through the network;
    - ``"indigo"`` computes :math:`(c_t, d_t) = f_\phi(x_{0,t})`,
      :math:`\hat x_{0,t} = f_\phi^{-1}(s\,y, d_t)` (``s`` the INN's scale) and subtracts
      :math:`\zeta\,\nabla_{x_t}\|\hat x_{0,t} - x_{0,t}\|^2` (Algorithm 1 of the talk).

    DPS and INDIGO differentiate through the network (one backward pass per step), ILVR
    does not; all make ``num_steps`` network evaluations.

    Parameters
    ----------
    y : ndarray of shape (m, n) or (B, m, n), optional
        The measurement (``None``: unconditional sampling, ``batch`` images).
    task : {"sr4", "nonlinear"}, optional
        What produced ``y``.
    method : {"ilvr", "dps", "indigo"}, optional
    num_steps : int
        Steps of the respaced schedule (:func:`timesteps`).
    seed : int
        Seed of the initial noise and of every step's noise.
    zeta : float or ndarray of shape (B,), optional
        Step size of DPS / INDIGO (default :data:`DEFAULT_ZETA`), or one per image.
    stand_in : bool
        For ``task="nonlinear"``: run DPS and INDIGO with the linear stand-in (2×2 block
        means, and the Haar INN) instead of the true degradation / the learned INN.
    sampler : {"ddpm", "ddim"}
    schedule : {"linear", "cosine"}
    batch : int
        Number of images for unconditional sampling.
    """

    def __init__(self, y=None, task: str | None = None, method: str | None = None, *,
                 num_steps: int = DEFAULT_STEPS, seed: int = 0, zeta: float | None = None,
                 stand_in: bool = False, sampler: str = "ddpm", schedule: str = "linear",
                 batch: int = 1):
        import torch

        from ._validate import as_array, check_choice

        self.num_steps = check_int(num_steps, "num_steps", low=1, high=NUM_TIMESTEPS)
        self.seed = check_int(seed, "seed", low=0)
        self.sampler = check_choice(sampler, "sampler", SAMPLERS)
        self.alpha_bar = noise_schedule(schedule)
        self.times = timesteps(self.num_steps)
        self.method = None if method is None else check_choice(method, "method", METHODS)
        if (y is None) != (self.method is None):
            raise ValueError("give both y and method for guided sampling, or neither")
        self.task = None
        self.single = False
        if y is not None:
            self.task = check_choice(task, "task", TASKS)
            y = as_array(y, "y", ndim=(2, 3), allow_complex=False)
            want = MEASUREMENT_SHAPES[self.task]
            if y.shape[-2:] != want:
                raise ValueError(f"y must have shape {want} (or (B, *{want})) for task "
                                 f"{self.task!r}, got {y.shape}")
            self.single = y.ndim == 2
            y = y[None] if self.single else y
            batch = y.shape[0]
            self.y = torch.from_numpy(y[:, None]).float()
        else:
            batch = check_int(batch, "batch", low=1)
        self.stand_in = bool(stand_in)
        if zeta is None and self.method in ("dps", "indigo"):
            key = (self.method, self.task) + (("stand-in",) if self.stand_in
                                               and self.task == "nonlinear" else ())
            zeta = DEFAULT_ZETA[key]
        self.zeta = None if zeta is None else self._check_zeta(zeta, batch)
        self.net = load_prior()
        self.generator = torch.Generator().manual_seed(self.seed)
        self.x = torch.randn((batch, 1, *IMAGE_SHAPE), generator=self.generator)
        self.k = 0
        self.x0 = None
        self.nfe = 0
        if self.method is not None:
            self._setup_guidance()

    @staticmethod
    def _check_zeta(zeta, batch):
        import torch

        from ._validate import as_array, check_scalar

        if np.ndim(zeta) == 0:
            return check_scalar(zeta, "zeta", low=0.0)
        z = as_array(zeta, "zeta", ndim=1, allow_complex=False)
        if z.shape[0] != batch or np.any(z < 0):
            raise ValueError(f"zeta must be a number >= 0 or one per image ({batch}), "
                             f"got {z.shape[0]} values, min {z.min():.3g}")
        return torch.from_numpy(z).float().view(-1, 1, 1, 1)

    # the operators each method uses
    def _setup_guidance(self):
        linear_task = "sr4" if self.task == "sr4" else "sr2"
        self.factor = 4 if self.task == "sr4" else 2
        if self.method == "ilvr":
            import torch.nn.functional as F

            # the measurement upsampled to the image grid, in the model's range (fixed)
            self.y_up = 2.0 * F.interpolate(self.y, scale_factor=self.factor,
                                            mode="nearest") - 1.0
        elif self.method == "dps":
            self.A = _torch_task(linear_task if self.stand_in else self.task)
        elif self.method == "indigo":
            inn_task = linear_task if (self.stand_in or self.task == "sr4") else "nonlinear"
            self.inn = load_indigo_inn(inn_task)

    @property
    def done(self) -> bool:
        """Whether all ``num_steps`` steps have run."""
        return self.k >= self.num_steps

    def _predict_x0(self, x, ab):
        sigma = float(np.sqrt((1 - ab) / ab))
        self.nfe += 1
        return self.net(x / np.sqrt(ab), sigma)

    def step(self) -> dict:
        """Advance one step from time ``t`` to the previous time of the schedule.

        Returns
        -------
        dict
            ``"t"`` (0-based index of the time just left), ``"x"`` the new iterate and
            ``"x0"`` the network's prediction at ``t``, as images (B, 32, 32) on the [0, 1]
            scale (not clipped).
        """
        import torch

        if self.done:
            raise RuntimeError("the sampler has finished; start a new one")
        t = int(self.times[self.k])
        ab_t = float(self.alpha_bar[t])
        ab_s = float(self.alpha_bar[self.times[self.k + 1]]) if self.k + 1 < self.num_steps \
            else 1.0
        last = self.k + 1 == self.num_steps
        grad_needed = self.method in ("dps", "indigo") and bool(np.any(np.asarray(self.zeta) > 0))
        x = self.x.detach().requires_grad_(grad_needed)
        with torch.set_grad_enabled(grad_needed):
            x0 = self._predict_x0(x, ab_t)
            x0c = x0.clamp(-1.0, 1.0)
            if self.sampler == "ddpm":
                z = None if last else torch.randn(x.shape, generator=self.generator)
                x_new = posterior_step(x.detach(), x0c.detach(), ab_t, ab_s, z)
            else:
                eps = (x.detach() - np.sqrt(ab_t) * x0c.detach()) / np.sqrt(1 - ab_t)
                x_new = np.sqrt(ab_s) * x0c.detach() + np.sqrt(1 - ab_s) * eps
            if self.method == "ilvr":
                x_new = self._ilvr(x_new, ab_s)
            elif grad_needed:
                x_new = x_new - self.zeta * self._guidance_grad(x, x0)
        self.x = torch.nan_to_num(x_new.detach(), nan=0.0, posinf=ITERATE_BOUND,
                                  neginf=-ITERATE_BOUND).clamp(-ITERATE_BOUND, ITERATE_BOUND)
        self.x0 = x0c.detach()
        self.k += 1
        return {"t": t, "x": self._image(self.x), "x0": self._image(self.x0)}

    def _ilvr(self, x_new, ab_s):
        import torch
        import torch.nn.functional as F

        def low(v):
            return F.interpolate(F.avg_pool2d(v, self.factor), scale_factor=self.factor,
                                 mode="nearest")
        noise = torch.randn(x_new.shape, generator=self.generator)
        ref = np.sqrt(ab_s) * self.y_up + np.sqrt(1 - ab_s) * noise
        return x_new - low(x_new) + low(ref)

    def _guidance_grad(self, x, x0):
        import torch

        img = (x0 + 1.0) / 2.0
        if self.method == "dps":
            residual = (self.y - self.A(img)).flatten(1).norm(dim=1)
            loss = residual.sum()
        else:
            _, details = self.inn(img)
            x_hat = self.inn.inverse(self.y * self.inn.scale, details)
            loss = ((x_hat - img) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        return grad

    @staticmethod
    def _image(v) -> np.ndarray:
        return ((v[:, 0].numpy().astype(np.float64) + 1.0) / 2.0)

    def result(self) -> np.ndarray:
        """The current iterate as images in [0, 1] (clipped): the sample once :attr:`done`."""
        out = np.clip(self._image(self.x), 0.0, 1.0)
        return out[0] if self.single else out

    def run(self) -> np.ndarray:
        """Run the remaining steps; return :meth:`result`."""
        while not self.done:
            self.step()
        return self.result()


def sample(n: int, *, num_steps: int = DEFAULT_STEPS, seed: int = 0, sampler: str = "ddpm",
           schedule: str = "linear") -> np.ndarray:
    """``n`` unconditional samples of the prior, shape (n, 32, 32) in [0, 1]."""
    return Sampler(None, num_steps=num_steps, seed=seed, sampler=sampler, schedule=schedule,
                   batch=n).run()


def restore(y, task: str, method: str, *, sigma_n: float = 0.0, seed: int = 0,
            num_steps: int | None = None, zeta: float | None = None,
            stand_in: bool = False) -> np.ndarray:
    """Restore 32×32 phantoms from their measurements with a guided diffusion sampler.

    Parameters
    ----------
    y : ndarray of shape (8, 8) / (16, 16), or (B, ...) for a batch
        Measurements made by :func:`degrade` for ``task``.
    task : {"sr4", "nonlinear"}
    method : {"ilvr", "dps", "indigo"}
        See :class:`Sampler`.
    sigma_n : float
        The noise level of ``y`` on the [0, 1] scale (checked, >= 0; the samplers treat
        ``y`` as it is, as in their papers).
    seed : int
        Seed of the sampler: the same seed gives the same restoration.
    num_steps : int, optional
        Network evaluations (default :data:`DEFAULT_STEPS`).
    zeta : float, optional
        DPS / INDIGO step size (default :data:`DEFAULT_ZETA`).
    stand_in : bool
        Non-linear task only: DPS and INDIGO use the linear stand-in (block means).

    Returns
    -------
    ndarray of shape (32, 32) or (B, 32, 32) in [0, 1]
    """
    from ._validate import check_choice, check_scalar

    task = check_choice(task, "task", TASKS)
    method = check_choice(method, "method", METHODS)
    check_scalar(sigma_n, "sigma_n", low=0.0)
    num_steps = DEFAULT_STEPS if num_steps is None else num_steps
    return Sampler(y, task, method, num_steps=num_steps, seed=seed, zeta=zeta,
                   stand_in=stand_in).run()


def posterior_samples(y, task: str, method: str = "indigo", num_samples: int = 8, *,
                      num_steps: int | None = None, seed: int = 0, zeta: float | None = None
                      ) -> np.ndarray:
    """``num_samples`` restorations of one measurement ``y`` by the same sampler, each with
    its own noise (one batched run): their spread is the posterior's uncertainty.

    Returns
    -------
    ndarray of shape (num_samples, 32, 32) in [0, 1]
    """
    from ._validate import as_array, check_choice

    task = check_choice(task, "task", TASKS)
    y = as_array(y, "y", ndim=2, allow_complex=False)
    num_samples = check_int(num_samples, "num_samples", low=1)
    num_steps = DEFAULT_STEPS if num_steps is None else num_steps
    return Sampler(np.repeat(y[None], num_samples, axis=0), task, method, num_steps=num_steps,
                   seed=seed, zeta=zeta).run()


def evaluate(x, task: str, method: str, *, sigma_n: float = 0.0, num_steps: int | None = None,
             seed: int = 0, noise_seed: int = 1, zeta: float | None = None,
             stand_in: bool = False, reference=None) -> dict:
    """Degrade ``x`` (B, 32, 32), restore it with one sampler and score the result.

    Returns
    -------
    dict
        ``x_hat`` (B, 32, 32); ``psnr`` and ``ssim`` (means over the images); ``swd``, the
        patch sliced Wasserstein distance ×100 to ``reference`` (a set of phantoms) when
        given; ``nfe`` (network evaluations per image) and ``cpu_seconds`` per image.
    """
    import time

    from .metrics import patch_swd, psnr, ssim

    x = _images(x)
    x = x[None] if x.ndim == 2 else x
    y = degrade(x, task, sigma_n=sigma_n, seed=noise_seed)
    num_steps = DEFAULT_STEPS if num_steps is None else num_steps
    t0 = time.process_time()
    x_hat = restore(y, task, method, sigma_n=sigma_n, seed=seed, num_steps=num_steps,
                    zeta=zeta, stand_in=stand_in)
    cpu = time.process_time() - t0
    out = {"x_hat": x_hat,
           "psnr": float(np.mean([psnr(a, b) for a, b in zip(x, x_hat)])),
           "ssim": float(np.mean([ssim(a, b) for a, b in zip(x, x_hat)])),
           "nfe": num_steps, "cpu_seconds": cpu / len(x)}
    if reference is not None:
        out["swd"] = 100 * patch_swd(x_hat, reference)
    return out
