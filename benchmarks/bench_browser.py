"""Every notebook in JupyterLab in Chromium: Run All seconds and in-browser widget latency.

Runs ``tests/browser/run_lab.py`` (what ``make test-browser`` runs, without the site
check): JupyterLab from ``./.venv`` on 127.0.0.1, Debian's Chromium driven by playwright,
*Run → Run All Cells* in every notebook of ``solutions/`` and two of ``notebooks/``, then
the first control of every widget moved three times, one notebook at a time. Latency is
from the release of the mouse (or the picked option) to the widget's new picture decoded
in the page: kernel maths, drawing, transport and the browser together.
Budget (COURSE.md §5): median ≤ 150 ms for closed-form widgets, ≤ 400 ms for iterative ones.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["run"]

_RUNNER = Path(__file__).resolve().parents[1] / "tests" / "browser" / "run_lab.py"
COLUMNS = ["notebook", "Run All in the browser (s)", "widget", "kind", "median (ms)",
           "worst (ms)", "budget (ms)", "within budget"]


def _runner():
    spec = importlib.util.spec_from_file_location("course_browser_run_lab", _RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(result: dict) -> dict:
    rows = [[r["notebook"], r["run_all_s"], r["widget"], r["kind"] or "—",
             r["median_ms"] if r["median_ms"] is not None else "—",
             r["worst_ms"] if r["worst_ms"] is not None else "—",
             r["budget_ms"] if r["budget_ms"] is not None else "—",
             "✔" if r["ok"] else "✘"] for r in result["rows"]]
    errors = [f"{nb['notebook']}: {e}" for nb in result["notebooks"] for e in nb["errors"]]
    notes = (f"{len(result['notebooks'])} notebooks in {result['seconds']} s (Run All two "
             "notebooks at a time, then the widgets one notebook at a time). Latency: release "
             "of the mouse (or choice of an option) to the widget's new picture decoded in "
             "the page, three moves of the first control.")
    if errors:
        notes += " Failures: " + "; ".join(errors[:5])
    return {"title": "Browser: Run All and widget latency in JupyterLab", "columns": COLUMNS,
            "rows": rows, "notes": notes}


def run(quick: bool = False) -> list[dict]:
    """``quick`` runs notebook 01 only (both folders)."""
    runner = _runner()
    try:
        result = runner.run(only=["01_"] if quick else None, log=lambda *a, **k: None)
    except runner.Missing as exc:
        return [{"title": "Browser: Run All and widget latency in JupyterLab",
                 "columns": COLUMNS, "rows": [], "notes": f"Not run: {exc}"}]
    return [table(result)]


if __name__ == "__main__":
    from benchmarks.run import to_markdown
    for t in run():
        print(to_markdown(t))
