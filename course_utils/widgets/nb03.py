"""Notebook 03 widget: noise level × penalty β × denoiser for plug-and-play HQS."""
from __future__ import annotations

import functools
import warnings
from contextlib import contextmanager

import numpy as np

from .._validate import check_int
from ..data import load_image
from ..metrics import psnr, ssim
from ..pnp import DPIR_LAM, SIGMA_FLOOR, initial_estimate, make_task, pnp_hqs
from ._base import ChoiceControl, Demo, FloatControl, build, register_widget

__all__ = ["PnPDemo", "pnp_widget", "constant_beta_run", "NOISE_LEVELS", "WIDGET_DENOISERS",
           "WIDGET_TASKS"]

#: Noise standard deviations offered by the slider (images in [0, 1]).
NOISE_LEVELS = (0.0, 0.01, 0.02, 0.05, 0.1)
#: Denoisers that answer within the latency budget (BM3D takes about a second per call).
WIDGET_DENOISERS = (("TV", "tv"), ("learned", "learned"), ("none (least squares)", "identity"))
#: Tasks offered by the widget.
WIDGET_TASKS = (("deblurring", "deblur"), ("inpainting (30 % observed)", "inpainting"),
                ("super-resolution ×2", "sr2"))
#: The learned denoiser was trained for noise levels up to 55/255.
_LEARNED_MAX = 55.0 / 255
_SIZE = 64
_ITERS = 6
#: Iterations of Chambolle's algorithm inside the widget's TV denoiser.
_TV_ITERS = 40


@contextmanager
def _one_torch_thread(active: bool = True):
    """Run the learned denoiser on one thread: on a 64 × 64 image a second thread saves
    little on an idle machine and costs many times over on a busy one."""
    if not active:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _fast_tv(x, sigma):
    """TV denoising as in ``denoise(x, sigma, "tv")`` (same weight), stopped after
    40 iterations of Chambolle's algorithm so that an update stays interactive."""
    from skimage.restoration import denoise_tv_chambolle

    from ..denoisers import tv_weight

    x = np.clip(x, 0.0, 1.0)
    if sigma <= 0:
        return x
    return denoise_tv_chambolle(x, weight=tv_weight(sigma), max_num_iter=_TV_ITERS)


def _run_constant_beta(x, problem, x0, *, sigma_n, beta, denoiser, num_iters) -> dict:
    """The numerics of one widget update: ``num_iters`` HQS iterations at constant β."""
    sigma_eff = max(sigma_n, SIGMA_FLOOR)
    sigma_d = float(np.sqrt(DPIR_LAM * sigma_eff ** 2 / beta))
    lam = DPIR_LAM
    clamped = denoiser == "learned" and sigma_d > _LEARNED_MAX
    if clamped:  # keep the network inside its training range
        lam = DPIR_LAM * (_LEARNED_MAX / sigma_d) ** 2
        sigma_d = _LEARNED_MAX
    with warnings.catch_warnings(), _one_torch_thread(denoiser == "learned"):
        warnings.simplefilter("ignore")
        fn = _fast_tv if denoiser == "tv" else denoiser
        x_hat, hist = pnp_hqs(problem.A, problem.y, fn, sigma_n=sigma_n, num_iters=num_iters,
                              lam=lam, beta=beta, x0=x0, x_true=x)
    return {"problem": problem, "x_hat": np.clip(x_hat, 0.0, 1.0), "hist": hist,
            "sigma_d": sigma_d, "clamped": clamped, "sigma_n": sigma_n, "beta": beta,
            "denoiser": denoiser}


@functools.lru_cache(maxsize=16)
def _widget_problem(image, task, sigma_n, seed):
    x = load_image(image, _SIZE)
    problem = make_task(task, x, sigma_n=sigma_n, seed=seed)
    return x, problem, initial_estimate(problem.A, problem.y)


def constant_beta_run(*, sigma_n: float, beta: float, denoiser: str, task: str,
                      image: str = "camera", num_iters: int = _ITERS, seed: int = 0) -> dict:
    """What one update of :func:`pnp_widget` computes, without the figure.

    Parameters
    ----------
    sigma_n, beta, denoiser, task
        As the widget's controls (``denoiser`` one of ``"tv"``, ``"learned"``,
        ``"identity"``; ``task`` one of ``"deblur"``, ``"inpainting"``, ``"sr2"``).
    image, num_iters, seed
        As :func:`pnp_widget`.

    Returns
    -------
    dict
        ``x_hat`` (64, 64) clipped to [0, 1], ``psnr`` of it in dB, ``sigma_d`` the level
        handed to the denoiser (capped at 55/255 for the learned one), ``clamped``, and
        ``hist`` (the PSNR after each iteration). Results are cached for the session (the
        same arguments cost nothing the second time): do not modify them.
    """
    for value, name, choices in ((denoiser, "denoiser", [d for _, d in WIDGET_DENOISERS]),
                                 (task, "task", [t for _, t in WIDGET_TASKS])):
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    beta = float(beta)
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta}")
    return _constant_beta_cached(float(sigma_n), beta, denoiser, task, image,
                                 check_int(num_iters, "num_iters", low=1, high=50),
                                 check_int(seed, "seed", low=0))


@functools.lru_cache(maxsize=64)
def _constant_beta_cached(sigma_n, beta, denoiser, task, image, num_iters, seed) -> dict:
    x, problem, x0 = _widget_problem(image, task, sigma_n, seed)
    state = _run_constant_beta(x, problem, x0, sigma_n=sigma_n, beta=beta,
                               denoiser=denoiser, num_iters=num_iters)
    state["psnr"] = float(psnr(x, state["x_hat"]))
    return state


_CONTROLS = {
    "sigma_n": ChoiceControl(tuple(("0" if s == 0 else f"{s:g}", s) for s in NOISE_LEVELS),
                             value=0.02, label="noise σ_n", style="slider"),
    "beta": FloatControl(1e-4, 1.0, value=1e-2, log=True, label="penalty β"),
    "denoiser": ChoiceControl(WIDGET_DENOISERS, value="tv", label="denoiser"),
    "task": ChoiceControl(WIDGET_TASKS, value="deblur", label="task"),
}
_COMBOS = [{"sigma_n": 0.0, "beta": 1e-4, "denoiser": "learned"},
           {"sigma_n": 0.1, "beta": 1.0, "denoiser": "learned"},
           {"sigma_n": 0.1, "beta": 1e-4, "denoiser": "tv", "task": "inpainting"},
           {"sigma_n": 0.0, "beta": 1.0, "denoiser": "identity", "task": "sr2"},
           {"sigma_n": 0.05, "beta": 1e-3, "denoiser": "learned", "task": "inpainting"}]


class PnPDemo(Demo):
    """PnP-HQS with a constant penalty β on a 64 × 64 image, for three tasks.

    Each update runs ``num_iters`` HQS iterations (closed-form data step, then the chosen
    denoiser at level ``σ_d = sqrt(lam σ_n² / β)``) and shows the observation, the
    estimate and the PSNR after each iteration.

    Parameters
    ----------
    image : str
        A bundled image (:func:`course_utils.data.load_image`), cropped to 64 × 64.
    num_iters : int
        HQS iterations per update.
    seed : int
        Seed of the noise and of the inpainting mask.
    """

    kind = "iterative"
    figsize = (11, 3.3)
    controls = _CONTROLS

    def __init__(self, image: str = "camera", num_iters: int = _ITERS, seed: int = 0):
        self.x = load_image(image, _SIZE)
        self.num_iters = check_int(num_iters, "num_iters", low=1, high=50)
        self.seed = check_int(seed, "seed", low=0)
        self._tasks = {}
        self._warm_up_learned()
        super().__init__()

    @staticmethod
    def _warm_up_learned():
        """Load the learned denoiser and run it once now, so that the first update that
        uses it is as quick as the others (loading and the first pass take seconds)."""
        from ..weights import registry

        if "denoiser" not in registry():
            return  # choosing "learned" will then show the missing-weights message
        from ..denoisers import denoise

        with warnings.catch_warnings(), _one_torch_thread():
            warnings.simplefilter("ignore")
            denoise(np.zeros((_SIZE, _SIZE)), 0.05, method="learned")

    def _task(self, name, sigma_n):
        key = (name, sigma_n)
        if key not in self._tasks:
            task = make_task(name, self.x, sigma_n=sigma_n, seed=self.seed)
            self._tasks[key] = (task, initial_estimate(task.A, task.y))
        return self._tasks[key]

    def setup_figure(self, fig):
        ax_obs, ax_est, ax_true, ax_curve = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.3])
        self.axes = (ax_obs, ax_est, ax_true, ax_curve)
        blank = np.zeros((_SIZE, _SIZE))
        self.im_obs = ax_obs.imshow(blank, cmap="gray", vmin=0, vmax=1)
        self.im_est = ax_est.imshow(blank, cmap="gray", vmin=0, vmax=1)
        ax_true.imshow(self.x, cmap="gray", vmin=0, vmax=1)
        ax_true.set_title("truth x")
        for ax in (ax_obs, ax_est, ax_true):
            ax.set_axis_off()
        ks = np.arange(1, self.num_iters + 1)
        self.line_psnr, = ax_curve.plot(ks, np.zeros(self.num_iters), "o-", color="tab:blue",
                                        label="PnP-HQS")
        self.line_obs = ax_curve.axhline(0.0, color="0.5", ls=":", label="observation")
        ax_curve.set_xlabel("iteration")
        ax_curve.set_ylabel("PSNR (dB)")
        ax_curve.set_xlim(0.5, self.num_iters + 0.5)
        ax_curve.set_ylim(5, 40)
        ax_curve.legend(loc="lower right", fontsize="small")
        ax_curve.set_title("PSNR per iteration")

    def compute(self, *, sigma_n, beta, denoiser, task):
        problem, x0 = self._task(task, sigma_n)
        return _run_constant_beta(self.x, problem, x0, sigma_n=sigma_n, beta=beta,
                                  denoiser=denoiser, num_iters=self.num_iters)

    def draw(self, state):
        problem, x_hat, hist = state["problem"], state["x_hat"], state["hist"]
        obs = np.clip(problem.observation, 0.0, 1.0)
        p_obs, p_hat = psnr(self.x, obs), psnr(self.x, x_hat)
        self.im_obs.set_data(obs)
        self.im_est.set_data(x_hat)
        ax_obs, ax_est, _, ax_curve = self.axes
        ax_obs.set_title(f"observation ({p_obs:.1f} dB)")
        ax_est.set_title(f"PnP-HQS ({p_hat:.1f} dB)")
        curve = np.asarray(hist["psnr"])
        self.line_psnr.set_ydata(curve)
        self.line_obs.set_ydata([p_obs, p_obs])
        low = min(curve.min(), p_obs)
        ax_curve.set_ylim(np.floor(low) - 1, max(np.ceil(curve.max()) + 1, low + 5))
        messages = []
        if state["sigma_n"] == 0:
            messages.append(f"No noise: the weights use σ_n = 1/255 ({SIGMA_FLOOR:.4f}) so "
                            "that the denoiser still acts.")
        if state["clamped"]:
            messages.append(f"σ_d = sqrt(λσ_n²/β) exceeds {_LEARNED_MAX:.3f}, the largest "
                            "level the network was trained for: it is capped there.")
        if state["denoiser"] == "identity":
            messages.append("No denoiser: the iterations converge to least squares "
                            "(inpainting holes keep their initial fill).")
        elif state["sigma_d"] > 0.5:
            messages.append(f"β is small: σ_d = {state['sigma_d']:.2f}, the denoiser "
                            "dominates and the result is over-smoothed.")
        elif state["sigma_d"] < 0.5 * max(state["sigma_n"], SIGMA_FLOOR):
            messages.append("β is large: the denoiser barely acts and the noise stays.")
        numbers = {"psnr_observation": round(float(p_obs), 2),
                   "psnr": round(float(p_hat), 2),
                   "ssim": round(float(ssim(self.x, x_hat)), 3),
                   "sigma_denoiser": float(state["sigma_d"])}
        if messages:
            numbers["message"] = " ".join(messages)
        return numbers


@register_widget("nb03_pnp", kind="iterative", controls=_CONTROLS, combos=_COMBOS)
def pnp_widget(*, image: str = "camera", num_iters: int = _ITERS, seed: int = 0):
    """Noise level × penalty β × denoiser for PnP-HQS (deblurring, inpainting, SR ×2).

    Parameters
    ----------
    image : str
        Bundled image, cropped to 64 × 64.
    num_iters : int
        HQS iterations per update.
    seed : int
        Seed of the noise and of the inpainting mask.

    Returns
    -------
    widget : ipywidgets.VBox
        Controls, status line and figure.
    update : callable
        ``update(sigma_n=..., beta=..., denoiser=..., task=...) -> dict`` with
        ``psnr_observation``, ``psnr``, ``ssim`` and ``sigma_denoiser`` (and a
        ``message`` for degenerate settings); the widget's status line shows the time.

    Notes
    -----
    The TV denoiser uses the weight of ``denoise(x, sigma, "tv")`` but stops Chambolle's
    algorithm after 40 iterations, to keep an update interactive. BM3D is not offered:
    one BM3D call takes about a second on a 64 × 64 image, beyond the 300 ms budget of an
    iterative widget. The notebook shows PnP-BM3D separately.
    """
    return build(PnPDemo(image=image, num_iters=num_iters, seed=seed))
