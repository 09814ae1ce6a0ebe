"""Self-checks for notebook 05 (super-resolution): back-projection, pixel shuffle, IBP, the table."""
from __future__ import annotations

import numpy as np

from ..sr import (FRAMEWORK_LABELS, HELDOUT_IMAGES, LEARNED_FRAMEWORKS, SIGMA_TEST,
                  back_projection_step, compare, degrade, evaluate, heldout_images, pixel_shuffle,
                  reconstruct)
from ._base import (CheckFailure, answer_check, as_result, call_student, exercise_check,
                    judge_choice, matches, register_exercise)

__all__ = ["check_back_projection_step", "check_pixel_shuffle", "check_ibp_noise_prediction",
           "check_table_reading", "check_ibp_breaks_at"]

register_exercise(
    "5.1", "implement",
    task="Write back_projection_step(x_hat, y, s, tau): one step of iterative back-projection "
         "with the block average A and pixel replication as the back-projection, using numpy "
         "only.",
    hints=["Simulate the measurement of x_hat, compare it with y, spread the difference back "
           "onto the fine grid and add a fraction tau of it.",
           "A x_hat is an (m, n) image: view x_hat as (m, s, n, s) blocks and average each "
           "block; A⁺ repeats each pixel of an (m, n) image s times along both axes.",
           "residual = y − (x_hat reshaped to (m, s, n, s), averaged over axes 1 and 3); "
           "return x_hat + tau · (residual repeated s times along axis 0, then along axis 1)."])

register_exercise(
    "5.2", "implement",
    task="Write pixel_shuffle(h, s), which turns h of shape (s², m, n) into an image of shape "
         "(s·m, s·n) with x[s·i + a, s·j + b] = h[a·s + b, i, j], without loops.",
    hints=["Split the channel axis into the two offsets (a, b) inside each s × s block: h "
           "becomes a 4-D array.",
           "After reshape(s, s, m, n) the axes are (a, b, i, j); the output's rows run over "
           "(i, a) and its columns over (j, b). Which transpose puts them in that order?",
           "h.reshape(s, s, m, n), then transpose the axes to (i, a, j, b), i.e. (2, 0, 3, 1), "
           "then reshape to (s·m, s·n)."])

register_exercise(
    "5.3", "predict",
    task="Before running the comparison table, predict how one IBP step does against bicubic "
         "on noisy data (σ = 5/255), averaged over the four held-out images: set "
         "ibp_with_noise to \"a\", \"b\" or \"c\".",
    hints=["Section 3 showed one image; the table averages four, one of which (the moon) is "
           "very smooth.",
           "Bicubic interpolation mixes neighbouring LR pixels, so it also averages some of "
           "their noise away. What does a step that makes A x̂ equal to y exactly do with the "
           "noise in y?",
           "Where an image has few edges to gain (the moon), the noise the step puts back "
           "outweighs the detail: think about the sign of the average gain."])

register_exercise(
    "5.4", "interpret",
    task="Read the comparison table and set table_reading to the letter (\"a\" to \"d\") of "
         "the statement it supports.",
    hints=["Compare the columns one at a time: PSNR without noise, ms, and the two gain "
           "columns.",
           "How far apart are the four networks' PSNRs, and how far apart are their times? "
           "Which network runs all its layers on the 32 × 32 grid?",
           "Two statements are about accuracy and speed, one about the operator A, one about "
           "noise: check the gain with noise against the gain without, and which network is "
           "several times faster than the others at nearly the same PSNR."])

register_exercise(
    "5.5", "experiment",
    task="With the widget's update at scale ×2 and framework IBP, find the smallest noise "
         "level of the widget (0, 2, 5, 10 or 20, in units of 1/255) at which IBP ends below "
         "bicubic, and set ibp_breaks_at to it.",
    hints=["Call update(scale=2, sigma=..., framework=\"ibp\") for each noise level and "
           "compare numbers[\"psnr\"] with numbers[\"psnr_bicubic\"].",
           "A loop over (0, 2, 5, 10, 20) that prints the difference psnr − psnr_bicubic "
           "does it in one cell; then try scale=4 too.",
           "The answer is the first noise level whose difference is negative; at ×4 it comes "
           "later than at ×2."])


def _shuffle_variants(h, s):
    c, m, n = h.shape
    return {
        "swap": ("channel a*s + b holds the offset (a, b) = (row, column) inside each block; "
                 "you used it as (column, row).",
                 h.reshape(s, s, m, n).transpose(2, 1, 3, 0).reshape(m * s, n * s)),
        "tiles": ("you laid the channels side by side as whole tiles (a mosaic of s × s "
                  "small images); pixel shuffle interleaves them, so that neighbouring "
                  "output pixels come from different channels.",
                  h.reshape(s, s, m, n).transpose(0, 2, 1, 3).reshape(m * s, n * s)),
        "channel_last": ("your reshape read the channels as the fastest-varying axis: move "
                         "the axes with transpose before the last reshape.",
                         h.reshape(m * s, n * s)),
    }


@exercise_check("5.2", success="your pixel shuffle matches torch's convention (F.pixel_shuffle).")
def check_pixel_shuffle(student_pixel_shuffle) -> str | None:
    """Check ``pixel_shuffle(h, s) -> x`` with ``x[s i + a, s j + b] = h[a s + b, i, j]``.

    Parameters
    ----------
    student_pixel_shuffle : callable
        ``(h, s)`` with ``h`` of shape ``(s², m, n)``; returns ``(s m, s n)``.

    Returns
    -------
    bool
        True for the reference answer (on non-square inputs, ``s = 2`` and ``3``).
    """
    rng = np.random.default_rng(5)
    for s, (m, n) in ((2, (3, 5)), (3, (4, 2))):
        h = rng.standard_normal((s * s, m, n))
        out = call_student(student_pixel_shuffle, h.copy(), s,
                           called_with=f"h of shape {h.shape}, s = {s}")
        if out is not None and np.shape(out) == (s * n, s * m):
            raise CheckFailure(f"for h of shape {h.shape} your image has shape "
                               f"{np.shape(out)}: rows come first, (s·m, s·n) = "
                               f"({s * m}, {s * n}).")
        x = as_result(out, shape=(s * m, s * n), what="pixel_shuffle(h, s)")
        if matches(x, pixel_shuffle(h, s), 1e-12):
            continue
        for message, variant in _shuffle_variants(h, s).values():
            if matches(x, variant, 1e-12):
                raise CheckFailure(f"with s = {s}: {message}")
        raise CheckFailure(f"with s = {s} and h of shape {h.shape} your image differs from "
                           "the reference: check that x[s*i + a, s*j + b] = h[a*s + b, i, j].")
    return "It has no parameters: the convolution before it does the learning."


def _bp_variants(x_hat, y, s, tau):
    m, n = y.shape
    average = x_hat.reshape(m, s, n, s).mean(axis=(1, 3))
    up = lambda r: np.repeat(np.repeat(r, s, axis=0), s, axis=1)  # noqa: E731
    return {
        "sign": ("the correction has the wrong sign: back-project y − A x̂, the error of the "
                 "simulated measurement, and add it.", x_hat + tau * up(average - y)),
        "no_tau": ("the step size tau is missing: x̂ + tau · P(y − A x̂).",
                   x_hat + up(y - average)),
        "adjoint": ("you used Aᵀ, which spreads each residual as r / s²; the back-projection "
                    "here is A⁺ = s² Aᵀ (each residual pixel repeated s × s times), so that "
                    "one step with tau = 1 makes A x̂ = y.",
                    x_hat + tau * up(y - average) / s ** 2),
        "decimate": ("A averages each s × s block (x̂.reshape(m, s, n, s).mean(axis=(1, 3))); "
                     "keeping one pixel per block (x̂[::s, ::s]) is another operator.",
                     x_hat + tau * up(y - x_hat[::s, ::s])),
    }


@exercise_check("5.1", success="one back-projection step matches the reference.")
def check_back_projection_step(student_step) -> str | None:
    """Check ``step(x_hat, y, s, tau) = x_hat + tau · A⁺(y − A x_hat)`` with ``A`` block
    averaging by ``s`` and ``A⁺`` pixel replication.

    Parameters
    ----------
    student_step : callable
        ``(x_hat, y, s, tau)``; returns an array of the shape of ``x_hat``.

    Returns
    -------
    bool
        True for the reference (on a non-square image, ``s = 2`` and ``4``, ``tau = 0.7``),
        and when one step with ``tau = 1`` gives ``A x̂ = y`` exactly.
    """
    rng = np.random.default_rng(52)
    tau = 0.7
    for s, (m, n) in ((2, (5, 7)), (4, (3, 4))):
        x_hat = rng.random((s * m, s * n))
        y = rng.random((m, n))
        out = call_student(student_step, x_hat.copy(), y.copy(), s, tau,
                           called_with=f"x_hat of shape {x_hat.shape}, y of shape {y.shape}, "
                                       f"s = {s}, tau = {tau}")
        got = as_result(out, shape=x_hat.shape, what="step(x_hat, y, s, tau)")
        reference = back_projection_step(x_hat, y, s, tau=tau, back="adjoint")
        if matches(got, reference, 1e-10):
            continue
        for message, variant in _bp_variants(x_hat, y, s, tau).values():
            if matches(got, variant, 1e-10):
                raise CheckFailure(f"with s = {s}: {message}")
        raise CheckFailure(f"with s = {s}, tau = {tau} your step differs from "
                           "x̂ + tau · A⁺(y − A x̂) (A: mean of each s × s block, "
                           "A⁺: repeat each pixel s × s times).")
    x_hat, y = rng.random((8, 12)), rng.random((2, 3))
    one = as_result(call_student(student_step, x_hat, y, 4, 1.0,
                                 called_with="tau = 1"), shape=(8, 12))
    misfit = float(np.abs(one.reshape(2, 4, 3, 4).mean(axis=(1, 3)) - y).max())
    return (f"With tau = 1 one step already fits the data (max |A x̂ − y| = {misfit:.0e}): "
            "A⁺ makes it a projection onto {x : A x = y}.")


# -- exercises answered by a value ---------------------------------------------------------------
def _ibp_gains(sigmas, size: int = 128) -> dict:
    """``{sigma: (mean gain, per-image gains)}`` of the library's IBP over bicubic on the
    held-out crops (the comparison table's setting)."""
    table = compare(("bicubic", "ibp"), sigmas, size=size)
    out = {}
    for sigma in sigmas:
        each = np.array(table["ibp"][sigma]["psnr_each"]) - np.array(
            table["bicubic"][sigma]["psnr_each"])
        out[sigma] = (float(np.mean(each)), dict(zip(HELDOUT_IMAGES, map(float, each))))
    return out


def _each(gains: dict) -> str:
    return ", ".join(f"{name} {g:+.2f}" for name, g in gains.items())


@answer_check("5.3")
def check_ibp_noise_prediction(answer):
    """Judge the prediction of how IBP does against bicubic on noisy data (σ = 5/255),
    on average over the held-out crops: ``"a"`` gains more than without noise, ``"b"``
    gains less, ``"c"`` falls below bicubic. The truth is measured here with
    :func:`course_utils.sr.compare`."""
    judge_choice(answer, dict.fromkeys("abc", (False, "")))   # a malformed answer: say so first
    gains = _ibp_gains((0.0, SIGMA_TEST))
    g0, each0 = gains[0.0]
    g5, each5 = gains[SIGMA_TEST]
    worst = min(each5, key=each5.get)
    why = (f"Measured: IBP gains {g0:+.2f} dB on bicubic without noise and {g5:+.2f} dB with "
           f"σ = 5/255 on average (per image: {_each(each5)}). Bicubic mixes neighbouring LR "
           "pixels and so averages part of their noise away; the back-projection step makes "
           "the estimate reproduce y, noise included, so it puts that noise back. On images "
           "with edges to sharpen (camera, coins) the detail still wins; on the smooth "
           f"{worst} there is little detail to gain and the noise costs {-each5[worst]:.2f} dB.")
    verdict = ("it gains more with noise than without" if g5 > g0 else
               "it still gains, but less than without noise" if g5 > 0 else
               "it falls below bicubic")
    options = {
        "a": (g5 > g0, ("right: " if g5 > g0 else "no, noise does not help IBP: ")
              + f"{verdict}. " + why),
        "b": (0.0 < g5 <= g0, ("right: " if 0.0 < g5 <= g0 else
                               "it does still gain on the camera and the coins, but not on "
                               "average: ") + f"{verdict}. " + why),
        "c": (g5 < 0.0, ("right: " if g5 < 0.0 else "not on average: ") + f"{verdict}. "
              + why),
    }
    return judge_choice(answer, options)


def _table_facts(size: int = 128) -> dict:
    """Mean PSNRs, gains and times of the learned frameworks (the comparison table)."""
    table = compare(("bicubic",) + LEARNED_FRAMEWORKS, (0.0, SIGMA_TEST), size=size)
    bic0, bic5 = table["bicubic"][0.0]["psnr"], table["bicubic"][SIGMA_TEST]["psnr"]
    return {f: {"psnr": table[f][0.0]["psnr"], "ms": table[f][0.0]["ms"],
                "gain0": table[f][0.0]["psnr"] - bic0,
                "gain5": table[f][SIGMA_TEST]["psnr"] - bic5} for f in LEARNED_FRAMEWORKS}


def _short(f: str) -> str:
    return FRAMEWORK_LABELS[f].split(" (")[0]


@answer_check("5.4")
def check_table_reading(answer):
    """Judge the reading of the comparison table (a multiple choice). Each statement is
    checked against a table measured here (:func:`course_utils.sr.compare`, 128² crops):

    a. the pre-upsampling network is the most accurate because it works on the HR grid;
    b. post-upsampling matches the others' PSNR (within 0.15 dB) at a fraction (at most
       0.6) of their time, because its layers run on the LR grid;
    c. the back-projection network wins because it uses the operator A;
    d. with noise the networks gain less on bicubic than without.
    """
    judge_choice(answer, dict.fromkeys("abcd", (False, "")))  # a malformed answer: say so first
    facts = _table_facts()
    best = max(facts, key=lambda f: facts[f]["psnr"])
    spread = max(v["psnr"] for v in facts.values()) - min(v["psnr"] for v in facts.values())
    others = [f for f in facts if f != "post"]
    ratio = facts["post"]["ms"] / min(facts[f]["ms"] for f in others)
    times = ", ".join(f"{_short(f)} {facts[f]['ms']:.0f} ms" for f in facts)
    psnrs = ", ".join(f"{_short(f)} {facts[f]['psnr']:.2f}" for f in facts)
    gains = ", ".join(f"{_short(f)} {facts[f]['gain0']:+.2f} → {facts[f]['gain5']:+.2f}"
                      for f in facts)
    post_ok = ratio <= 0.6 and facts["post"]["psnr"] >= facts[best]["psnr"] - 0.15
    less_with_noise = all(v["gain5"] < v["gain0"] for v in facts.values())
    options = {
        "a": (best == "pre" and spread > 0.15,
              f"the four networks are within {spread:.2f} dB of each other ({psnrs} dB; best: "
              f"{_short(best)}). Working on the HR grid costs time ({times}), and buys no "
              "accuracy that the table can see at this size."),
        "b": (post_ok,
              f"times per image: {times}; PSNR without noise: {psnrs} dB. The post-upsampling "
              f"network takes {ratio:.2f} of the fastest other one's time: all its layers run "
              "on the 32 × 32 LR grid, 16 times fewer pixels than the HR grid, and the pixel "
              "shuffle at the end is free. "
              + ("It is within 0.15 dB of the best." if post_ok else
                 "In this measurement it is not both that fast and that accurate.")),
        "c": (False,
              "no network knows A: the back-projection network learns its own up- and "
              "down-projections from examples (model-agnostic, like the others). The only "
              "place A enters is the final consistency projection, which all four share. "
              f"Its PSNR ({facts['dbpn']['psnr']:.2f} dB) is within {spread:.2f} dB of the "
              "others'."),
        "d": (less_with_noise,
              f"gain on bicubic without → with noise: {gains} dB. "
              + ("They gain less with noise here." if less_with_noise else
                 "They gain more with noise, not less: bicubic keeps the noise, while the "
                 "networks, trained on noisy inputs and told σ, remove it while they "
                 "upsample (most of the extra gain is on the smooth moon).")),
    }
    return judge_choice(answer, options)


def _widget_gains(scale: int, framework: str = "ibp", image: str = "camera", size: int = 128,
                  seed: int = 0) -> dict:
    """``({sigma (1/255): PSNR(framework) − PSNR(bicubic)}, {sigma: PSNR(bicubic)})`` as
    the notebook's widget computes them (central crop, noise seed, border cropped)."""
    full = heldout_images()[image]
    r0 = (full.shape[0] - size) // 2
    x = np.ascontiguousarray(full[r0:r0 + size, r0:r0 + size])
    out, bicubic = {}, {}
    for sigma in _WIDGET_SIGMAS:
        y = degrade(x, scale, sigma / 255, seed=seed)
        bic = evaluate(x, reconstruct(y, "bicubic", scale), scale)["psnr"]
        hat = evaluate(x, reconstruct(y, framework, scale, sigma=sigma / 255), scale)["psnr"]
        out[sigma], bicubic[sigma] = round(hat, 2) - round(bic, 2), bic
    return out, bicubic


#: The noise levels of the notebook 05 widget (units of 1/255).
_WIDGET_SIGMAS = (0, 2, 5, 10, 20)


@answer_check("5.5")
def check_ibp_breaks_at(answer):
    """Judge the smallest widget noise level (1/255) at which IBP ends below bicubic at
    ×2 on the widget's image, found with the widget's ``update``; measured here."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer,
                                                             np.floating)):
        raise CheckFailure(f"ibp_breaks_at must be a number, one of {_WIDGET_SIGMAS} (in "
                           f"units of 1/255), got {type(answer).__name__} {answer!r}.")
    if float(answer) not in _WIDGET_SIGMAS:
        if 0 < float(answer) < 1:
            raise CheckFailure(f"give the noise level in units of 1/255 as the widget shows "
                               f"it (e.g. 5, not {float(answer):.3g}).")
        raise CheckFailure(f"ibp_breaks_at must be one of the widget's noise levels "
                           f"{_WIDGET_SIGMAS}, got {answer!r}.")
    answer = int(answer)
    (g2, b2), (g4, b4) = _widget_gains(2), _widget_gains(4)
    first = lambda g: next((s for s in _WIDGET_SIGMAS if g[s] < 0), None)  # noqa: E731
    truth2, truth4 = first(g2), first(g4)
    rows = (f"IBP − bicubic at ×2: {', '.join(f'{s}: {g:+.2f}' for s, g in g2.items())} dB; "
            f"at ×4: {', '.join(f'{s}: {g:+.2f}' for s, g in g4.items())} dB.")
    why = (" IBP's gain is detail recovered minus noise put back: the noise it copies from y "
           "grows with σ while the detail does not. At ×2 bicubic is already much closer to "
           f"the truth than at ×4 (bicubic without noise: {b2[0]:.2f} against {b4[0]:.2f} dB), "
           "so the same noise outweighs the detail sooner"
           + (f" (×4 breaks at {truth4}/255)." if truth4 is not None else "."))
    if truth2 is None:
        return False, (f"in this measurement IBP never falls below bicubic at ×2. {rows}")
    if answer == truth2:
        return True, f"at σ = {answer}/255 IBP falls below bicubic at ×2. {rows}{why}"
    if g2[answer] >= 0:
        return False, (f"at σ = {answer}/255 IBP is still {g2[answer]:+.2f} dB on bicubic at "
                       f"×2: go up. {rows}{why}")
    return False, (f"IBP is already below bicubic at a smaller noise level, {truth2}/255: "
                   f"look for the first one. {rows}{why}")
