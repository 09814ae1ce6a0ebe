"""The browser check's own logic, without a browser: what it runs, what it reports, and
the one-line answers when something it needs is missing."""
from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent / "browser" / "run_lab.py"


@pytest.fixture(scope="module")
def run_lab():
    spec = importlib.util.spec_from_file_location("run_lab_under_test", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_solution_and_two_student_notebooks(run_lab):
    rels = run_lab.notebook_list(None)
    solutions = sorted(p.name for p in (run_lab.REPO / "solutions").glob("*.ipynb"))
    assert [r for r in rels if r.startswith("solutions/")] == [f"solutions/{n}"
                                                                for n in solutions]
    assert [r for r in rels if r.startswith("notebooks/")] == [
        f"notebooks/{n}" for n in run_lab.STUDENT]
    assert run_lab.notebook_list(["01_"]) == ["solutions/01_least_squares.ipynb",
                                              "notebooks/01_least_squares.ipynb"]


def test_missing_chromium_is_one_line_saying_how_to_get_it(run_lab, monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(run_lab.shutil, "which", lambda name: None)
    with pytest.raises(run_lab.Missing, match="apt-get install -y chromium") as info:
        run_lab.find_chromium()
    assert "\n" not in str(info.value) and "playwright install" in str(info.value)


def test_a_port_in_use_is_reported_not_waited_on(run_lab, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(run_lab.Missing, match=f"port {port} .* is in use"):
            run_lab.Lab(tmp_path, port, tmp_path / "lab.log")
    assert run_lab.port_is_free(run_lab.free_port())


def test_lab_settings_put_every_cell_in_the_page_and_fetch_nothing(run_lab, tmp_path):
    import json
    run_lab.lab_settings(tmp_path)
    tracker = json.loads((tmp_path / "@jupyterlab/notebook-extension/"
                          "tracker.jupyterlab-settings").read_text())
    news = json.loads((tmp_path / "@jupyterlab/apputils-extension/"
                       "notification.jupyterlab-settings").read_text())
    assert tracker["windowingMode"] == "contentVisibility"
    assert tracker["autoStartDefaultKernel"] is True
    assert news == {"fetchNews": "false", "checkForUpdates": False}


def _widget(kind, latencies, error=None):
    return {"index": 0, "kind": kind, "control": "slider 'x'", "latency_ms": latencies,
            "error": error}


def test_summary_applies_the_budget_of_each_kind(run_lab):
    result = {"notebooks": [
        {"notebook": "a", "run_all_s": 3.0, "errors": [],
         "widgets": [_widget("closed-form", [100, 140, 900]),
                     _widget("closed-form", [151, 160, 170]),
                     _widget("iterative", [390, 380, 2000])]},
        {"notebook": "b", "run_all_s": 4.0, "errors": ["cell 3: ValueError: x"],
         "widgets": []},
        {"notebook": "c", "run_all_s": 5.0, "errors": [],
         "widgets": [_widget("iterative", [], error="TimeoutError: picture")]},
    ]}
    rows = run_lab.summarise(result)
    assert [(r["median_ms"], r["worst_ms"], r["ok"]) for r in rows] == [
        (140, 900, True), (160, 170, False), (390, 2000, True), (None, None, False),
        (None, None, False)]
    table = run_lab.markdown_table(rows)
    assert table.count("\n") == len(rows) + 1 and "✘" in table and "✔" in table
