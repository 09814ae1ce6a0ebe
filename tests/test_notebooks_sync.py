"""The committed notebooks: student versions in sync, no outputs, required sections.

Also tests the notebook-test machinery of ``tests/conftest.py`` (printed-value
expectations, nbval defaults) on a fixture notebook.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from course_utils.student import (NOTEBOOK_PATTERN, make_student_notebook, notebook_to_text,
                                  read_notebook)

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _course_notebooks(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def _params(paths: list[Path], folder_label: str):
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"no notebooks in {folder_label}/ yet"), id="none")]
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in paths]


SOLUTION_PARAMS = _params(_course_notebooks(SOLUTIONS), "solutions")
ALL_PARAMS = _params(_course_notebooks(SOLUTIONS) + _course_notebooks(NOTEBOOKS),
                     "solutions or notebooks")


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# --- generated notebooks are in sync -----------------------------------------------------

@pytest.mark.parametrize("solution", SOLUTION_PARAMS)
def test_student_notebook_matches_generator(solution):
    target = NOTEBOOKS / solution.name
    expected = notebook_to_text(make_student_notebook(read_notebook(solution),
                                                      name=str(solution)))
    assert target.exists(), f"{target.relative_to(REPO)} is missing: run `make student`"
    assert target.read_text(encoding="utf-8") == expected, (
        f"{target.relative_to(REPO)} differs from what "
        f"{solution.relative_to(REPO)} generates: run `make student`")


def test_every_student_notebook_has_a_solution():
    stale = [p.name for p in _course_notebooks(NOTEBOOKS) if not (SOLUTIONS / p.name).exists()]
    assert not stale, f"notebooks/ without a source in solutions/: {stale}; run `make student`"


@pytest.mark.parametrize("path", ALL_PARAMS)
def test_committed_notebook_has_no_outputs(path):
    nb = read_notebook(path)
    dirty = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.relative_to(REPO)} carries outputs in cells {dirty}: "
                       f"run `make student` (it strips solutions/ too)")
    assert "widgets" not in nb.metadata, (
        f"{path.relative_to(REPO)} carries saved widget state: run `make student`")


# --- required structure of a solution notebook -------------------------------------------

REQUIRED_MARKDOWN = {
    "Learning objectives": re.compile(r"^(#{1,6}\s*|\*\*|__)?\s*Learning objectives", re.M | re.I),
    "## Summary": re.compile(r"^##\s+Summary\b", re.M),
    "## Further exercises": re.compile(r"^##\s+Further exercises\b", re.M),
    "## References": re.compile(r"^##\s+References\b", re.M),
}
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\s*\(")
WIDGET_USE = re.compile(r"\bwidgets\b")


@pytest.mark.parametrize("solution", SOLUTION_PARAMS)
def test_solution_notebook_has_required_sections(solution):
    nb = read_notebook(solution)
    markdown = "\n".join(_text(c) for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    missing = []
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not re.match(r"#\s+\S", _text(first)):
        missing.append("a title (# heading in the first cell)")
    for label, pattern in REQUIRED_MARKDOWN.items():
        if not pattern.search(markdown):
            missing.append(label)
    if not CHECK_CALL.search(code):
        missing.append("a checks.check_*(...) call")
    if not WIDGET_USE.search(code):
        missing.append("a widget (course_utils.widgets)")
    assert not missing, f"{solution.relative_to(REPO)} lacks: {', '.join(missing)}"


@pytest.mark.parametrize("solution", SOLUTION_PARAMS)
def test_solution_notebook_order_of_closing_sections(solution):
    """Summary, Further exercises and References close the notebook, in that order."""
    nb = read_notebook(solution)
    headings = [line.strip() for c in nb.cells if c.cell_type == "markdown"
                for line in _text(c).splitlines() if re.match(r"^##\s", line)]
    closing = [h for h in headings if re.match(r"^##\s+(Summary|Further exercises|References)", h)]
    assert closing[-3:] == ["## Summary", "## Further exercises", "## References"], (
        f"{solution.relative_to(REPO)}: closing sections are {closing}")


# --- the notebook-test machinery of conftest.py ------------------------------------------

def test_session_defaults(pytestconfig):
    assert os.environ["MPLBACKEND"] == "Agg"
    assert pytestconfig.getoption("nbval_cell_timeout") == 120
    if not pytestconfig.getoption("nbval_current_env"):
        assert pytestconfig.getoption("nbval_kernel_name") == "python3"
    sanitize = pytestconfig.getoption("nbval_sanitize_with")
    assert sanitize and Path(sanitize).name == "sanitize.cfg"
    assert pytestconfig.pluginmanager.has_plugin("course-notebooks")


def _conftest_module(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("course-notebooks")
    return sys.modules[type(plugin).__module__]


def test_expectation_matching(pytestconfig):
    conftest = _conftest_module(pytestconfig)
    outputs = [{"output_type": "stream", "name": "stdout", "text": "PSNR = 24.31 dB\n"},
               {"output_type": "stream", "name": "stderr", "text": "warning: slow\n"},
               {"output_type": "execute_result", "data": {"text/plain": "(3, 4)"}}]
    text = conftest.printed_text(outputs)
    assert text == "PSNR = 24.31 dB\n(3, 4)\n"  # stderr is not part of the printed output
    assert conftest.missing_expectations(["PSNR = 24.31", r"^PSNR = 2\d\.\d\d dB$", "(3, 4)"],
                                         text) == []
    assert conftest.missing_expectations(["PSNR = 25", "warning", "[unclosed"], text) == [
        "PSNR = 25", "warning", "[unclosed"]
    with pytest.raises(TypeError, match=r"must be a list of strings"):
        conftest.missing_expectations("PSNR", text)


def test_sanitize_patterns_normalise_addresses_and_timings():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "tests" / "sanitize.cfg").read_text())
    text = ("<Figure at 0x7f3a2c1b9d30> solved in 0.123 s (12 ms per step, 3.4e-05 s); "
            "PSNR 30.12 dB after 5 steps")
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    assert text == ("<Figure at 0xADDRESS> solved in DURATION (DURATION per step, DURATION); "
                    "PSNR 30.12 dB after 5 steps")


def test_expectations_fail_and_pass_under_nbval(tmp_path):
    """Run nbval on the fixture notebook: cell 1 must fail with a clear message, the others
    (substring, regex, displayed result, Agg backend, blocked network, a cell that raises
    as tagged) must pass."""
    report = tmp_path / "report.xml"
    env = dict(os.environ, COURSE_RUN_FIXTURES="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "--nbval-lax", f"--junitxml={report}", str(FIXTURES / "nbval_expect.ipynb")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert report.exists(), result.stdout + result.stderr
    outcome = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        outcome[case.get("name")] = None if failure is None else (failure.get("message", "")
                                                                   + (failure.text or ""))
    assert sorted(outcome) == [f"Cell {i}" for i in range(6)], result.stdout
    failed = {name for name, message in outcome.items() if message is not None}
    assert failed == {"Cell 1"}, result.stdout
    message = outcome["Cell 1"]
    assert "printed output does not match metadata['course']['expect']" in message
    assert "psnr = 31\\\\.\\\\d+ dB" in message  # the missing expectation, as repr
    assert "psnr = 30.00 dB" in message  # and what was printed instead
    assert result.returncode == 1
