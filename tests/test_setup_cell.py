"""The Colab set-up cell: the same in every notebook, inert off Colab, complete on it."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from course_utils import setup_cell
from course_utils.student import list_notebooks, read_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = [p for folder in ("solutions", "notebooks") for p in list_notebooks(REPO / folder)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_opens_with_the_same_setup_cell(path):
    nb = read_notebook(path)
    index = setup_cell.setup_cell_index(nb)
    assert index is not None, f"{path.name} has no cell tagged {setup_cell.TAG!r}"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert index == first_code, f"{path.name}: the set-up cell is not the first code cell"
    assert nb.cells[index].source == setup_cell.SOURCE, (
        f"{path.name}: the set-up cell differs from course_utils.setup_cell.SOURCE; run "
        "python -m course_utils.setup_cell solutions, then make student")


def _run_cell(monkeypatch, *, colab: bool):
    calls, widget_manager = [], []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    if colab:
        output = types.SimpleNamespace(
            enable_custom_widget_manager=lambda: widget_manager.append(True))
        colab_module = types.ModuleType("google.colab")
        colab_module.output = output
        google = types.ModuleType("google")
        google.colab = colab_module
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(setup_cell.SOURCE, "setup-cell", "exec"), {})
    return calls, widget_manager


def test_the_cell_does_nothing_off_colab(monkeypatch):
    calls, widget_manager = _run_cell(monkeypatch, colab=False)
    assert calls == [] and widget_manager == []


def test_on_colab_the_cell_pins_cpu_torch_first_then_installs_the_course(monkeypatch):
    monkeypatch.delenv("COURSE_REPOSITORY", raising=False)
    calls, widget_manager = _run_cell(monkeypatch, colab=True)
    assert len(calls) == 2
    (torch_cmd, torch_kw), (course_cmd, course_kw) = calls
    assert torch_cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert list(setup_cell.COLAB_TORCH) == torch_cmd[-len(setup_cell.COLAB_TORCH):]
    assert torch_kw == {"check": True} and course_kw == {"check": True}
    assert course_cmd[-1].startswith("git+https://")
    assert widget_manager == [True]


def test_the_repository_can_be_a_fork(monkeypatch):
    monkeypatch.setenv("COURSE_REPOSITORY", "https://example.org/fork.git")
    calls, _ = _run_cell(monkeypatch, colab=True)
    assert calls[1][0][-1] == "git+https://example.org/fork.git"


def test_the_pin_matches_the_package():
    import tomllib
    with open(REPO / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    assert setup_cell.COLAB_TORCH[0] in deps
    assert setup_cell.COLAB_TORCH[0] in setup_cell.SOURCE


def test_apply_inserts_once_then_updates_in_place():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"),
                                         nbformat.v4.new_code_cell("import numpy")])
    assert setup_cell.apply(nb) is True
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert setup_cell.setup_cell_index(nb) == 1
    assert setup_cell.apply(nb) is False
    nb.cells[1].source = "old"
    assert setup_cell.apply(nb) is True and nb.cells[1].source == setup_cell.SOURCE
    nbformat.validate(nb)
