"""Figures of the course: image grids annotated with PSNR/SSIM, convergence curves, L-curves."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ._validate import as_array, check_int, check_scalar
from .metrics import psnr, ssim

__all__ = ["show_images", "update_image", "plot_convergence", "plot_l_curve", "plot_gcv"]


def _as_display(img, name):
    """A real 2-D (or RGB) array for imshow; complex images are shown by their modulus."""
    arr = as_array(img, name, ndim=(2, 3))
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4):
        raise ValueError(f"{name} must be (M, N) or an RGB(A) image (M, N, 3|4), "
                         f"got shape {arr.shape}")
    if np.iscomplexobj(arr):
        arr = np.abs(arr)
    return arr.astype(np.float64, copy=False)


def _collect(images, titles):
    """``(list of arrays, list of titles)`` from an array, a sequence or a mapping."""
    if isinstance(images, Mapping):
        if titles is not None:
            raise ValueError("titles must be None when images is a dict (its keys are titles)")
        titles = [str(k) for k in images]
        images = list(images.values())
    elif not isinstance(images, Sequence):          # one array (numpy or torch)
        shape = getattr(images, "shape", ())
        images = list(images) if len(shape) == 3 and shape[-1] not in (3, 4) else [images]
    else:
        images = list(images)
    if not images:
        raise ValueError("images must not be empty")
    if titles is None:
        titles = [""] * len(images)
    elif isinstance(titles, str):
        titles = [titles]
    titles = list(titles)
    if len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image: {len(images)} images, "
                         f"{len(titles)} titles")
    return images, [str(t) for t in titles]


def _quality_label(img, reference, data_range):
    """``"PSNR 24.31 dB · SSIM 0.812"`` against the reference, or ``""``."""
    if reference is None or img.shape != reference.shape:
        return ""
    if np.array_equal(img, reference):
        return "reference"
    value = psnr(reference, img, data_range=data_range)
    label = f"PSNR {value:.2f} dB"
    if img.ndim == 2 and min(img.shape) >= 3:
        label += f" · SSIM {ssim(reference, img, data_range=data_range):.3f}"
    return label


def show_images(images, titles=None, *, reference=None, cmap: str = "gray", ncols=None,
                ax=None, vmin: float | None = 0.0, vmax: float | None = 1.0,
                data_range: float = 1.0, figsize=None, colorbar: bool = False):
    """Show images side by side, each annotated with PSNR/SSIM against a reference.

    Parameters
    ----------
    images : ndarray, sequence of ndarray, or dict of str to ndarray
        One image of shape (M, N) (or RGB (M, N, 3)), a stack (K, M, N), a list, or a
        dict whose keys are the titles. Complex images are shown by their modulus.
    titles : sequence of str, optional
        One title per image.
    reference : ndarray, optional
        Ground truth: every image of the same shape gets ``PSNR … dB · SSIM …`` under it
        (the reference itself is labelled ``reference``).
    cmap : str, optional
        Colour map (default gray).
    ncols : int, optional
        Number of columns (default: all images in one row, at most 4 per row).
    ax : matplotlib Axes or sequence of Axes, optional
        Axes to draw into (one per image); default a new figure.
    vmin, vmax : float or None, optional
        Display range (default [0, 1], the scale of the course images, so that all panels
        are comparable); ``None`` lets each panel scale itself.
    data_range : float, optional
        Peak value for PSNR/SSIM.
    figsize : tuple, optional
        Figure size in inches (default 3 × 3 per panel).
    colorbar : bool, optional
        Add a colour bar to every panel.

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
        The axes used, one per image.
    handles : list of AxesImage
        One per image: ``handles[k].set_data(new)`` updates a panel in place (see
        :func:`update_image`, which also refreshes the PSNR/SSIM label).
    """
    import matplotlib.pyplot as plt

    imgs, titles = _collect(images, titles)
    imgs = [_as_display(im, f"images[{k}]") for k, im in enumerate(imgs)]
    ref = None if reference is None else _as_display(reference, "reference")
    data_range = check_scalar(data_range, "data_range", low=0.0, low_inclusive=False)
    for value, name in ((vmin, "vmin"), (vmax, "vmax")):
        if value is not None:
            check_scalar(value, name)
    if vmin is not None and vmax is not None and vmin >= vmax:
        raise ValueError(f"vmin must be below vmax, got {vmin} and {vmax}")
    if not isinstance(colorbar, bool):
        raise TypeError(f"colorbar must be a bool, got {type(colorbar).__name__}")
    n = len(imgs)
    if ax is None:
        ncols = min(n, 4) if ncols is None else check_int(ncols, "ncols", low=1)
        nrows = math.ceil(n / ncols)
        figsize = figsize or (3.0 * ncols, 3.0 * nrows + 0.3)
        fig, grid = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        grid = grid.ravel()
        for extra in grid[n:]:
            extra.axis("off")
        axes = grid[:n]
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if axes.size < n:
            raise ValueError(f"ax must provide one Axes per image: {n} images, {axes.size} axes")
        axes = axes[:n]
        fig = axes[0].figure
    handles = []
    for a, img, title in zip(axes, imgs, titles):
        h = a.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=vmin, vmax=vmax,
                     interpolation="nearest")
        a.set_title(title)
        a.set_xticks([])
        a.set_yticks([])
        a.set_xlabel(_quality_label(img, ref, data_range), fontsize=9)
        if colorbar:
            fig.colorbar(h, ax=a, fraction=0.046, pad=0.04)
        h.course_reference = ref
        h.course_data_range = data_range
        handles.append(h)
    if ax is None:
        fig.tight_layout()
    return fig, np.asarray(axes, dtype=object), handles


def update_image(handle, image, *, title: str | None = None, reference=None):
    """Replace the picture of a panel made by :func:`show_images`, and its PSNR/SSIM label.

    Parameters
    ----------
    handle : AxesImage
        One of the handles returned by :func:`show_images`.
    image : ndarray
        The new image (same kind as before: (M, N) or RGB).
    title : str, optional
        New panel title.
    reference : ndarray, optional
        New reference; default the one given to :func:`show_images`.
    """
    if not hasattr(handle, "set_data") or not hasattr(handle, "axes"):
        raise TypeError(f"handle must be an AxesImage from show_images, got "
                        f"{type(handle).__name__}")
    img = _as_display(image, "image")
    if reference is None:
        ref = getattr(handle, "course_reference", None)
    else:
        ref = _as_display(reference, "reference")
        handle.course_reference = ref
    handle.set_data(img)
    a = handle.axes
    if title is not None:
        a.set_title(str(title))
    a.set_xlabel(_quality_label(img, ref, getattr(handle, "course_data_range", 1.0)),
                 fontsize=9)
    return handle


# -- convergence --------------------------------------------------------------------------

_LINEAR_KEYS = ("psnr", "beta")


def _is_history(obj) -> bool:
    """A dict of per-iteration lists (not a dict of runs)."""
    return isinstance(obj, Mapping) and all(
        isinstance(v, (list, tuple, np.ndarray)) and not hasattr(v, "history")
        for v in obj.values())


def _history_of(run, name):
    """The dict of lists behind a history, a SolverResult or a solver."""
    if _is_history(run):
        return run
    hist = getattr(run, "history", None)
    if isinstance(hist, Mapping):
        return hist
    raise TypeError(f"{name} must be a history dict, a SolverResult or a solver, "
                    f"got {type(run).__name__}")


def _runs(history, labels):
    """``[(label, history dict)]`` from one run or several."""
    if _is_history(history) or hasattr(history, "history"):
        runs = [("", _history_of(history, "history"))]
    elif isinstance(history, Mapping):
        runs = [(str(k), _history_of(v, f"history[{k!r}]")) for k, v in history.items()]
    elif isinstance(history, Sequence) and not isinstance(history, str):
        runs = [("", _history_of(v, f"history[{k}]")) for k, v in enumerate(history)]
    else:
        raise TypeError(f"history must be a history dict, a SolverResult, a solver, or a "
                        f"dict/list of them, got {type(history).__name__}")
    if not runs:
        raise ValueError("history must not be empty")
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != len(runs):
            raise ValueError(f"labels must have one entry per run: {len(runs)} runs, "
                             f"{len(labels)} labels")
        runs = [(lab, h) for lab, (_, h) in zip(labels, runs)]
    return runs


def plot_convergence(history, keys=("objective", "rel_change", "psnr"), *, labels=None,
                     f_star: float | None = None, ax=None, figsize=None):
    """Plot per-iteration histories of one or several solver runs, one panel per key.

    Parameters
    ----------
    history : dict, SolverResult, solver, or dict/list of them
        One run (``result.history``, the result, or the solver) or several, e.g.
        ``{"ISTA": r_ista, "FISTA": r_fista}`` to compare solvers on the same axes.
    keys : str or sequence of str, optional
        History keys to plot; keys that no run recorded are skipped.
    labels : sequence of str, optional
        Legend labels (default: the dict keys).
    f_star : float, optional
        Optimal objective value: the ``"objective"`` panel then shows ``F(x_k) − F*``.
    ax : Axes or sequence of Axes, optional
        One per plotted key; default a new figure.
    figsize : tuple, optional
        Figure size (default 4 × 3 per panel).

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
        One per plotted key. Positive quantities other than PSNR and β use a log scale.
    """
    import matplotlib.pyplot as plt

    runs = _runs(history, labels)
    if isinstance(keys, str):
        keys = (keys,)
    keys = tuple(keys)
    if not keys or not all(isinstance(k, str) for k in keys):
        raise TypeError("keys must be a string or a non-empty sequence of strings")
    available = sorted({k for _, h in runs for k in h})
    present = [k for k in keys if any(len(h.get(k, ())) for _, h in runs)]
    if not present:
        raise ValueError(f"none of keys {keys} is in the history; available: {available}")
    if f_star is not None:
        f_star = check_scalar(f_star, "f_star")
    if ax is None:
        fig, axes = plt.subplots(1, len(present), squeeze=False,
                                 figsize=figsize or (4.0 * len(present), 3.0))
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if axes.size < len(present):
            raise ValueError(f"ax must provide one Axes per key: {len(present)} keys "
                             f"({present}), {axes.size} axes")
        axes = axes[:len(present)]
        fig = axes[0].figure
    for a, key in zip(axes, present):
        logy = key not in _LINEAR_KEYS
        for label, h in runs:
            values = np.asarray(h.get(key, []), dtype=np.float64)
            if values.size == 0 or not np.any(np.isfinite(values)):
                continue
            if key == "objective" and f_star is not None:
                values = values - f_star
            its = np.arange(1, values.size + 1)
            if logy and np.any(values[np.isfinite(values)] <= 0):
                logy = False
            a.plot(its, values, label=label or None)
        if logy:
            a.set_yscale("log")
        name = "F(x_k) − F*" if key == "objective" and f_star is not None else key
        a.set_title(name.replace("_", " "))
        a.set_xlabel("iteration")
        if any(label for label, _ in runs):
            a.legend(fontsize=8)
        a.grid(True, alpha=0.3)
    if ax is None:
        fig.tight_layout()
    return fig, np.asarray(axes, dtype=object)


# -- choosing λ ---------------------------------------------------------------------------

def _point_at(lams, values, lam):
    """Log–log interpolation of a curve sampled at ``lams`` (exact at grid points)."""
    return float(np.exp(np.interp(np.log(lam), np.log(lams), np.log(values))))


def plot_l_curve(lcurve, *, lam_dp: float | None = None, lam_gcv: float | None = None,
                 lam_true: float | None = None, ax=None, figsize=(4.5, 4.0)):
    """Plot an L-curve and mark the corner and the other choices of λ.

    Parameters
    ----------
    lcurve : regparam.LCurve
        The result of :func:`course_utils.regparam.l_curve`.
    lam_dp, lam_gcv : float, optional
        λ chosen by the discrepancy principle and by GCV, marked on the curve.
    lam_true : float, optional
        The λ minimising the true error (when the ground truth is known).
    ax : Axes, optional
        Axes to draw into; default a new figure.
    figsize : tuple, optional
        Size of a new figure.

    Returns
    -------
    fig : matplotlib Figure
    ax : Axes

    Notes
    -----
    Marked points outside the λ range of the curve (or λ = 0) are listed in the legend
    without a marker.
    """
    import matplotlib.pyplot as plt

    needed = ("lams", "residual_norms", "solution_norms", "corner_lam")
    if not all(hasattr(lcurve, attr) for attr in needed):
        raise TypeError(f"lcurve must be the result of regparam.l_curve, got "
                        f"{type(lcurve).__name__}")
    lams = np.asarray(lcurve.lams)
    res, sol = np.asarray(lcurve.residual_norms), np.asarray(lcurve.solution_norms)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    ax.loglog(res, sol, "-", color="0.3", lw=1.5, label="L-curve")
    marks = [("corner (max curvature)", lcurve.corner_lam, "o", "C3"),
             ("discrepancy principle", lam_dp, "s", "C0"),
             ("GCV", lam_gcv, "^", "C2"),
             ("best (true error)", lam_true, "*", "C1")]
    for label, lam, marker, color in marks:
        if lam is None:
            continue
        lam = check_scalar(lam, f"λ of {label}", low=0.0)
        text = f"{label}: λ = {lam:.2e}"
        if lams[0] <= lam <= lams[-1] and lam > 0:
            ax.plot(_point_at(lams, res, lam), _point_at(lams, sol, lam), marker,
                    color=color, ms=9, label=text, zorder=3)
        else:
            ax.plot([], [], " ", label=text + " (off the curve)")
    ax.set_xlabel("residual norm ‖A x_λ − y‖")
    ax.set_ylabel("solution norm ‖x_λ‖")
    ax.set_title("L-curve")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def plot_gcv(gcv_curve, *, ax=None, figsize=(4.5, 3.5)):
    """Plot the GCV function ``G(λ)`` and mark its minimiser.

    Parameters
    ----------
    gcv_curve : regparam.GCVCurve
        The result of :func:`course_utils.regparam.gcv`.
    ax : Axes, optional
        Axes to draw into; default a new figure.

    Returns
    -------
    fig : matplotlib Figure
    ax : Axes
    """
    import matplotlib.pyplot as plt

    if not all(hasattr(gcv_curve, attr) for attr in ("lams", "values", "lam")):
        raise TypeError(f"gcv_curve must be the result of regparam.gcv, got "
                        f"{type(gcv_curve).__name__}")
    lams, values = np.asarray(gcv_curve.lams), np.asarray(gcv_curve.values)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    ok = np.isfinite(values) & (values > 0)
    ax.loglog(lams[ok], values[ok], "-", color="0.3")
    if lams[0] <= gcv_curve.lam <= lams[-1]:
        ax.plot(gcv_curve.lam, _point_at(lams[ok], values[ok], gcv_curve.lam), "^",
                color="C2", ms=9, label=f"minimum: λ = {gcv_curve.lam:.2e}")
        ax.legend(fontsize=8)
    ax.set_xlabel("λ")
    ax.set_ylabel("G(λ)")
    ax.set_title("generalised cross-validation")
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax
