"""Latency of every widget's whole callback (maths and drawing) over its parameter sweep.

For each factory in ``course_utils.widgets.WIDGETS`` the widget is built once, then
``update(**params)`` followed by the picture sent to the page is timed for every
parameter set of
``course_utils.widgets.sweep_params(name)`` (each control at both ends and in the middle).
Budget (COURSE.md §5): median ≤ 100 ms for closed-form demos, ≤ 300 ms for iterative ones
(``course_utils.widgets.WIDGET_KINDS``).
"""
from __future__ import annotations

import os
import statistics
import time

__all__ = ["BUDGET_MS", "time_widget", "run"]

os.environ.setdefault("MPLBACKEND", "Agg")  # no window: figures are drawn off-screen

BUDGET_MS = {"closed-form": 100.0, "iterative": 300.0}
REPEATS = 3


def _describe(params: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())


def time_widget(factory, sweep: list[dict], *, repeats: int = REPEATS) -> dict:
    """Build one widget and time its whole callback for every parameter set.

    The callback is what a control's move runs in a notebook with the inline backend:
    ``update`` (validation, maths, pushing data into the artists) and the picture sent to
    the page (``demo.render_png()``: the changed artists over cached layers, PNG encoded).
    For comparison, ``full_ms`` is ``update`` plus a full redraw encoded as PNG by
    ``savefig``, what every update cost before the layered renderer.
    """
    import io
    widget, update = factory()
    demo = getattr(widget, "demo", None)
    figure = getattr(widget, "figure", None)
    maths, callback, full, errors = [], [], [], []
    slowest = (0.0, {})
    for params in sweep:
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                result = update(**params)
            except Exception as exc:
                errors.append(f"{_describe(params)}: {type(exc).__name__}: {exc}")
                break
            middle = time.perf_counter()
            if demo is not None:
                demo.render_png()
            end = time.perf_counter()
            if not isinstance(result, dict):
                errors.append(f"{_describe(params)}: update returned "
                              f"{type(result).__name__}, not dict")
            maths.append((middle - start) * 1e3)
            callback.append((end - start) * 1e3)
            if callback[-1] > slowest[0]:
                slowest = (callback[-1], params)
            if figure is not None:
                t0 = time.perf_counter()
                figure.savefig(io.BytesIO(), format="png", dpi=figure.dpi,
                               pil_kwargs={"compress_level": 1})
                full.append(maths[-1] + (time.perf_counter() - t0) * 1e3)
    return {"samples_ms": callback, "maths_ms": maths, "full_ms": full,
            "slowest": slowest[1], "errors": errors}


def run(quick: bool = False) -> list[dict]:
    """Time every registered widget; ``quick`` times each parameter set once."""
    columns = ["widget", "kind", "param sets", "callback median (ms)", "callback max (ms)",
               "update only (ms)", "with a full redraw (ms)", "speed-up", "slowest at",
               "budget (median)", "within budget"]
    try:
        from course_utils import widgets
    except ImportError as exc:
        return [{"title": "Widgets: callback latency", "columns": columns, "rows": [],
                 "notes": f"No widgets are registered (course_utils.widgets cannot be "
                          f"imported: {exc})."}]
    registry = getattr(widgets, "WIDGETS", {}) or {}
    rows = []
    for name in sorted(registry):
        kind = widgets.WIDGET_KINDS.get(name, "closed-form")
        budget = BUDGET_MS.get(kind, BUDGET_MS["closed-form"])
        sweep = widgets.sweep_params(name)
        try:
            m = time_widget(registry[name], sweep, repeats=1 if quick else REPEATS)
        except Exception as exc:  # the factory itself failed
            rows.append([name, kind, len(sweep), "—", "—", "—", "—", "—",
                         f"factory failed: {type(exc).__name__}: {exc}", f"{budget:.0f}", "✘"])
            continue
        med = (lambda xs: statistics.median(xs) if xs else float("nan"))
        median, maths, full = med(m["samples_ms"]), med(m["maths_ms"]), med(m["full_ms"])
        worst = max(m["samples_ms"]) if m["samples_ms"] else float("nan")
        where = "; ".join(m["errors"][:2]) if m["errors"] else _describe(m["slowest"])
        ok = not m["errors"] and median <= budget
        rows.append([name, kind, len(sweep), round(median, 1), round(worst, 1),
                     round(maths, 1), round(full, 1), f"{full / median:.1f}×", where,
                     f"{budget:.0f}", "✔" if ok else "✘"])
    notes = ("The callback a control's move runs (inline backend): `update(**params)` "
             "then `demo.render_png()`, the picture sent to the page, over "
             f"`sweep_params(name)` ({1 if quick else REPEATS} run(s) per parameter set, "
             "first call included). 'with a full redraw' is `update` plus `savefig` of "
             "the whole figure, the cost before changed artists were drawn over cached "
             "layers; the speed-up is its median over the callback's. Budget on the "
             "median callback: 100 ms closed-form, 300 ms iterative.")
    if not rows:
        notes = "No widgets are registered (course_utils.widgets.WIDGETS is empty). " + notes
    return [{"title": "Widgets: callback latency", "columns": columns, "rows": rows,
             "notes": notes}]


if __name__ == "__main__":
    from benchmarks.run import to_markdown
    for table in run():
        print(to_markdown(table))
