"""Execute a notebook with nbclient, as nbconvert, papermill and book builds do, and time
how long the client waits on each cell beyond the kernel's own work.

A cell "stalls" when the client is still waiting for it well after the kernel finished
it (the kernel's reply and its idle status carry the kernel's time stamps). Used by
``tests/test_nbclient_*.py`` and runnable by hand:
``python tests/nbclient_runs.py solutions/01_least_squares.ipynb --runs 5``.
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

CELL_TIMEOUT_S = 30
#: Client time beyond the kernel's work that counts as a stall (message transport and a
#: busy machine take milliseconds; the stalls seen took the whole cell timeout).
STALL_SLACK_S = 5.0


def _stamp(value) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def execute(path, *, timeout: int = CELL_TIMEOUT_S) -> list[dict]:
    """Execute every code cell of the notebook at ``path`` in a fresh kernel.

    Returns one dict per code cell: ``index``, ``wait`` (seconds the client waited),
    ``work`` (seconds between the kernel's execute_input and its reply), ``error``
    (the exception name of a cell not tagged ``raises-exception``, or None).
    Raises nbclient's ``CellTimeoutError`` when a cell exceeds ``timeout``.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    rows = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            start = time.monotonic()
            client.execute_cell(cell, index)
            wait = time.monotonic() - start
            stamps = cell.metadata.get("execution", {})
            work = (_stamp(stamps["shell.execute_reply"]) - _stamp(stamps["iopub.execute_input"])
                    if "shell.execute_reply" in stamps and "iopub.execute_input" in stamps
                    else float("nan"))
            error = None
            if "raises-exception" not in cell.metadata.get("tags", []):
                error = next((out.get("ename") for out in cell.outputs
                              if out.get("output_type") == "error"), None)
            rows.append({"index": index, "wait": wait, "work": work, "error": error})
    return rows


def assert_runs_cleanly(path) -> None:
    """Execute ``path`` once; fail on a cell error or a stalled cell (the test of both
    notebook folders)."""
    rows = execute(path)
    errors = [(row["index"], row["error"]) for row in rows if row["error"]]
    assert not errors, f"cells raised: {errors}"
    found = [(r["index"], round(r["wait"], 1), round(r["work"], 2)) for r in stalls(rows)]
    assert not found, (f"the client waited more than {STALL_SLACK_S} s beyond the kernel's "
                       f"work on cells (index, wait s, work s) {found}")


def stalls(rows: list[dict], slack: float = STALL_SLACK_S) -> list[dict]:
    """The cells whose client wait exceeds the kernel's work by more than ``slack``."""
    return [row for row in rows if not row["wait"] - row["work"] <= slack]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        for run in range(args.runs):
            rows = execute(path)
            found = stalls(rows)
            bad += len(found)
            total = sum(row["wait"] for row in rows)
            print(f"{path} run {run + 1}: {total:.1f} s, stalled cells "
                  f"{[(r['index'], round(r['wait'], 1)) for r in found]}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
