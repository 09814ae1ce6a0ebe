"""Run time and peak memory of every notebook of ``solutions/`` and ``notebooks/``.

Each notebook is executed top to bottom by nbclient (kernel ``python3``) in a fresh
subprocess, ``python -m benchmarks.bench_notebooks --execute PATH``, which reports:

* wall seconds of the whole execution, kernel start-up included;
* peak resident memory of the kernel process tree: the larger of (a) the sum of the RSS
  of the kernel and its children sampled every 50 ms with psutil and (b) the kernel's
  own peak RSS from ``getrusage(RUSAGE_CHILDREN)`` once it has exited (exact for the
  kernel alone, blind to memory held by several processes at once).

Budget (COURSE.md §5): at most 60 s and 2 GiB per notebook.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["BUDGET_S", "BUDGET_MIB", "FOLDERS", "notebook_paths", "execute_notebook",
           "measure_notebook", "run"]

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("solutions", "notebooks")
BUDGET_S = 60.0
BUDGET_MIB = 2048.0
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 600
SAMPLE_PERIOD_S = 0.05


def notebook_paths(folders=FOLDERS, root: Path = REPO) -> list[Path]:
    """Course notebooks ``NN_topic.ipynb`` of the given folders, folder by folder."""
    from course_utils.student import NOTEBOOK_PATTERN

    paths = []
    for folder in folders:
        directory = Path(root) / folder
        if directory.is_dir():
            paths += sorted(p for p in directory.iterdir() if NOTEBOOK_PATTERN.match(p.name))
    return paths


class _TreeSampler(threading.Thread):
    """Sample the summed RSS of this process's descendants (the kernel and its children)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self):
        try:
            import psutil
        except ImportError:  # the getrusage figure still comes back
            return
        me = psutil.Process()
        while not self._stop_event.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(SAMPLE_PERIOD_S)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)


def execute_notebook(path) -> dict:
    """Execute one notebook in this process's child kernel; return the measurements.

    Meant to run in its own subprocess (see :func:`measure_notebook`) so that the
    ``RUSAGE_CHILDREN`` figure only covers this notebook's kernel.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(path.parent)}})
    sampler = _TreeSampler()
    sampler.start()
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as exc:  # report which cell failed instead of crashing the table
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    wall = time.perf_counter() - start
    sampler.stop()
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    rusage_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"wall_s": wall, "peak_mib": max(sampler.peak_bytes, rusage_bytes) / 2**20,
            "sampled_mib": sampler.peak_bytes / 2**20, "rusage_mib": rusage_bytes / 2**20,
            "cells": sum(1 for c in nb.cells if c.cell_type == "code"), "error": error}


def measure_notebook(path, timeout_s: float = 1200) -> dict:
    """Execute ``path`` in a fresh ``python -m benchmarks.bench_notebooks`` subprocess."""
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_notebooks", "--execute", str(path)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"wall_s": timeout_s, "peak_mib": float("nan"), "cells": None,
                "error": f"killed after {timeout_s:.0f} s"}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"wall_s": float("nan"), "peak_mib": float("nan"), "cells": None,
                "error": f"runner failed: {tail}"}
    return json.loads(lines[-1])


def _mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def run(quick: bool = False) -> list[dict]:
    """Time every notebook; ``quick`` runs only ``solutions/``."""
    folders = ("solutions",) if quick else FOLDERS
    rows = []
    for path in notebook_paths(folders):
        m = measure_notebook(path)
        within = (m["error"] is None and m["wall_s"] <= BUDGET_S
                  and m["peak_mib"] <= BUDGET_MIB)
        rows.append([path.name, path.parent.name, m["cells"], round(m["wall_s"], 1),
                     round(m["peak_mib"]), "ok" if m["error"] is None else m["error"],
                     _mark(within)])
    notes = (f"Each notebook executed top to bottom by nbclient (kernel `{KERNEL_NAME}`) in a "
             f"fresh process; wall time includes kernel start-up; peak RSS of the kernel "
             f"process tree. Budget: ≤ {BUDGET_S:.0f} s and ≤ {BUDGET_MIB / 1024:.0f} GiB "
             f"per notebook.")
    if not rows:
        notes = f"No notebooks found in {', '.join(folders)}/. " + notes
    return [{"title": "Notebooks: run time and peak memory",
             "columns": ["notebook", "folder", "code cells", "wall (s)", "peak RSS (MiB)",
                         "status", "within budget"],
             "rows": rows, "notes": notes}]


def _main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_notebooks")
    parser.add_argument("--execute", metavar="NOTEBOOK",
                        help="execute one notebook and print its measurements as JSON")
    args = parser.parse_args(argv)
    if args.execute:
        print(json.dumps(execute_notebook(args.execute)))
        return 0
    from benchmarks.run import to_markdown
    for table in run():
        print(to_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
