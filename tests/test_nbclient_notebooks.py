"""Every notebook of `notebooks/` executes under nbclient (nbconvert, papermill, book builds)
without a stall: no cell keeps the client waiting beyond its own work, run after run.
(One file per folder, so that `--dist loadfile` runs the two folders on two workers.)"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbclient_runs import assert_runs_cleanly

PATHS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("run", range(int(os.environ.get("COURSE_NBCLIENT_RUNS", "2"))),
                         ids=lambda r: f"run{r + 1}")
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_executes_without_stalls(path, run):
    assert_runs_cleanly(path)
