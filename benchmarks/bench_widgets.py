"""Latency of every widget's ``update`` over its parameter sweep.

For each factory in ``course_utils.widgets.WIDGETS`` the widget is built once, then
``update(**params)`` is timed for every parameter set of
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
    """Build one widget and time its ``update`` (and ``update`` plus a full redraw).

    Returns a dict with the samples in milliseconds, the slowest parameter set and any
    errors raised by ``update`` (a contract violation: it should return a message).
    """
    widget, update = factory()
    figure = getattr(widget, "figure", None)
    demo = getattr(widget, "demo", None)
    samples, redraw, png, errors = [], [], [], []
    slowest = (0.0, {})
    for params in sweep:
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                result = update(**params)
            except Exception as exc:
                errors.append(f"{_describe(params)}: {type(exc).__name__}: {exc}")
                break
            elapsed = (time.perf_counter() - start) * 1e3
            if not isinstance(result, dict):
                errors.append(f"{_describe(params)}: update returned "
                              f"{type(result).__name__}, not dict")
            samples.append(elapsed)
            if elapsed > slowest[0]:
                slowest = (elapsed, params)
        if figure is not None and not errors:
            start = time.perf_counter()
            update(**params)
            figure.canvas.draw()
            redraw.append((time.perf_counter() - start) * 1e3)
            if demo is not None:
                start = time.perf_counter()
                update(**params)
                demo.render_png()
                png.append((time.perf_counter() - start) * 1e3)
    return {"samples_ms": samples, "redraw_ms": redraw, "png_ms": png, "slowest": slowest[1],
            "errors": errors}


def run(quick: bool = False) -> list[dict]:
    """Time every registered widget; ``quick`` times each parameter set once."""
    columns = ["widget", "kind", "param sets", "median (ms)", "max (ms)",
               "median with redraw (ms)", "median with PNG (ms)", "slowest at", "budget (median)", "within budget"]
    try:
        from course_utils import widgets
    except ImportError as exc:
        return [{"title": "Widgets: update latency", "columns": columns, "rows": [],
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
            rows.append([name, kind, len(sweep), "—", "—", "—", "—",
                         f"factory failed: {type(exc).__name__}: {exc}", f"{budget:.0f}", "✘"])
            continue
        median = statistics.median(m["samples_ms"]) if m["samples_ms"] else float("nan")
        worst = max(m["samples_ms"]) if m["samples_ms"] else float("nan")
        redraw = statistics.median(m["redraw_ms"]) if m["redraw_ms"] else float("nan")
        png = statistics.median(m["png_ms"]) if m["png_ms"] else float("nan")
        where = "; ".join(m["errors"][:2]) if m["errors"] else _describe(m["slowest"])
        ok = not m["errors"] and median <= budget
        rows.append([name, kind, len(sweep), round(median, 1), round(worst, 1),
                     round(redraw, 1), round(png, 1), where, f"{budget:.0f}", "✔" if ok else "✘"])
    notes = ("Median and max of `update(**params)` over `sweep_params(name)` "
             f"({1 if quick else REPEATS} run(s) per parameter set, first call included); "
             "'with redraw' adds a full off-screen `figure.canvas.draw()`, the cost a "
             "live figure pays; 'with PNG' adds the PNG that an inline-backend widget sends "
             "to its image (`demo.render_png()`). Budget on the median: 100 ms closed-form, 300 ms iterative.")
    if not rows:
        notes = "No widgets are registered (course_utils.widgets.WIDGETS is empty). " + notes
    return [{"title": "Widgets: update latency", "columns": columns, "rows": rows,
             "notes": notes}]


if __name__ == "__main__":
    from benchmarks.run import to_markdown
    for table in run():
        print(to_markdown(table))
