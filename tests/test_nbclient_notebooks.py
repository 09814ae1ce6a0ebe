"""Every notebook of `notebooks/` executes under nbclient (nbconvert, papermill, book builds)
without a stall: no cell keeps the client waiting beyond its own work, run after run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbclient_runs import STALL_SLACK_S, execute, stalls

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
RUNS = int(os.environ.get("COURSE_NBCLIENT_RUNS", "2"))
PATHS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("run", range(RUNS), ids=lambda r: f"run{r + 1}")
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_executes_without_stalls(path, run):
    rows = execute(path)
    errors = [(row["index"], row["error"]) for row in rows if row["error"]]
    assert not errors, f"cells raised: {errors}"
    found = stalls(rows)
    assert not found, (f"the client waited more than {STALL_SLACK_S} s beyond the kernel's "
                       f"work on cells {[(r['index'], round(r['wait'], 1), round(r['work'], 2)) for r in found]}")
