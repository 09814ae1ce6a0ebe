"""Tests of the student-notebook generator ``course_utils.student``."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_utils import student
from course_utils.student import (BEGIN_MARKER, END_MARKER, generate, make_student_notebook,
                                  notebook_to_text, replace_solutions, strip_outputs)

REPO = Path(__file__).resolve().parents[1]

SECRET = "np.linalg.pinv(A) @ y  # the-secret-answer"


def _cell(source, *, cell_id, metadata=None, tags=None, outputs=True):
    cell = new_code_cell(source, id=cell_id)
    if metadata:
        cell.metadata["course"] = metadata
    if tags:
        cell.metadata["tags"] = list(tags)
    if outputs:
        cell.outputs = [new_output("stream", name="stdout", text="42\n")]
        cell.execution_count = 7
    return cell


def _solution_notebook():
    """A small solution notebook exercising every rule of the generator."""
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells = [
        new_markdown_cell("# 01 Demo\n\n## Learning objectives", id="md-title"),
        _cell("import numpy as np\nprint(42)", cell_id="setup",
              metadata={"expect": ["42"]}),
        _cell("def pseudo_inverse(A, y):\n"
              "    \"\"\"Least-squares solution.\"\"\"\n"
              f"    {BEGIN_MARKER}\n"
              f"    x_hat = {SECRET}\n"
              "    return x_hat\n"
              f"    {END_MARKER}\n",
              cell_id="ex-meta", tags=["keep-me"],
              metadata={"exercise": "91.2", "hint": "use np.linalg.svd",
                        "expect": ["never checked in the student notebook"]}),
        _cell("# Exercise 91.3: threshold the \"small\" singular values\n"
              f"{BEGIN_MARKER}\n"
              "k = 3  # the-secret-answer\n"
              f"{END_MARKER}\n"
              "print(k)",
              cell_id="ex-comment"),
        _cell("print('reference answer: the-secret-answer')", cell_id="sol-only",
              tags=["solution-only"]),
        new_markdown_cell("Solution: the-secret-answer", id="md-sol",
                          metadata={"tags": ["solution-only"]}),
        _cell("checks.check_pseudo_inverse(pseudo_inverse)", cell_id="check",
              metadata={"expect": ["All checks passed"],
                        "student_expect": ["Exercise 91.2"]}),
    ]
    return nb


def _write(folder: Path, name: str, nb) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(notebook_to_text(nb), encoding="utf-8")
    return path


# --- replace_solutions -------------------------------------------------------------------

def test_replace_keeps_marker_indentation_and_surroundings():
    source = ("def f(x):\n"
              "    y = 2 * x\n"
              f"    {BEGIN_MARKER}\n"
              "    z = y + 1\n"
              "    return z\n"
              f"    {END_MARKER}\n"
              "print(f(1))\n")
    out = replace_solutions(source, "2.1", "add one", where="nb, cell 3")
    assert out == ("def f(x):\n"
                   "    y = 2 * x\n"
                   "    ...\n"
                   "    raise NotImplementedError(\"Exercise 2.1: add one\")\n"
                   "print(f(1))\n")
    ast.parse(out)  # still valid Python


def test_replace_handles_several_blocks_and_last_line_without_newline():
    source = f"{BEGIN_MARKER}\na = 1\n{END_MARKER}\nb = 2\n  {BEGIN_MARKER}\n  c = 3\n  {END_MARKER}"
    out = replace_solutions(source, "3.4", "h")
    assert out.count("raise NotImplementedError(\"Exercise 3.4: h\")") == 2
    assert "b = 2\n" in out and "a = 1" not in out and "c = 3" not in out
    assert out.endswith("  raise NotImplementedError(\"Exercise 3.4: h\")")


def test_replace_escapes_quotes_in_hint():
    out = replace_solutions(f"{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n", "1.1",
                            'use "svd" and a \\ backslash')
    namespace = {}
    with pytest.raises(NotImplementedError, match=r'Exercise 1\.1: use "svd" and a \\ backslash'):
        exec(compile(out, "<cell>", "exec"), namespace)


@pytest.mark.parametrize("source, message", [
    (f"{BEGIN_MARKER}\nx = 1\n", "has no matching"),
    (f"x = 1\n{END_MARKER}\n", "without a matching"),
    (f"{BEGIN_MARKER}\n{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n{END_MARKER}\n", "nested"),
])
def test_replace_rejects_unbalanced_markers(source, message):
    with pytest.raises(ValueError, match=f"demo.ipynb, cell 4: .*{message}"):
        replace_solutions(source, "1.1", "h", where="demo.ipynb, cell 4")


def test_replace_rejects_non_string_source():
    with pytest.raises(TypeError, match="source must be a string"):
        replace_solutions(["x = 1"], "1.1", "h")


# --- make_student_notebook -------------------------------------------------------------

def test_student_notebook_rules():
    solution = _solution_notebook()
    before = notebook_to_text(solution)
    nb = make_student_notebook(solution, name="01_demo.ipynb")
    assert notebook_to_text(solution) == before, "the solution notebook must not be modified"

    ids = [cell.get("id") for cell in nb.cells]
    assert ids == ["md-title", "setup", "ex-meta", "ex-comment", "check"]  # solution-only dropped

    cells = {cell.id: cell for cell in nb.cells}
    meta_cell = cells["ex-meta"]
    assert meta_cell.source == ("def pseudo_inverse(A, y):\n"
                                "    \"\"\"Least-squares solution.\"\"\"\n"
                                "    ...\n"
                                "    raise NotImplementedError(\"Exercise 91.2: use np.linalg.svd\")\n")
    assert meta_cell.metadata["tags"] == ["keep-me", "raises-exception"]
    assert meta_cell.metadata["course"] == {"exercise": "91.2"}  # no expect, no hint

    comment_cell = cells["ex-comment"]
    assert comment_cell.source.splitlines()[1:] == [
        "...",
        'raise NotImplementedError("Exercise 91.3: threshold the \\"small\\" singular values")',
        "print(k)",
    ]
    assert comment_cell.metadata["tags"] == ["raises-exception"]

    assert "tags" not in cells["setup"].metadata  # ordinary cells are not tagged
    assert cells["setup"].metadata["course"]["expect"] == ["42"]
    assert cells["check"].metadata["course"] == {"expect": ["Exercise 91.2"]}


def test_no_solution_text_leaks():
    nb = make_student_notebook(_solution_notebook(), name="01_demo.ipynb")
    text = notebook_to_text(nb)
    assert "the-secret-answer" not in text
    assert "pinv" not in text
    assert BEGIN_MARKER not in text and END_MARKER not in text


def test_outputs_and_front_end_state_cleared():
    solution = _solution_notebook()
    solution.cells[1].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    for nb in (make_student_notebook(solution, name="x"), strip_outputs(solution, name="x")):
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert code and all(cell.outputs == [] for cell in code)
        assert all(cell.execution_count is None for cell in code)
        assert "execution" not in nb.cells[1].metadata
        assert "widgets" not in nb.metadata
    # strip_outputs keeps the solutions themselves
    assert "the-secret-answer" in notebook_to_text(strip_outputs(solution, name="x"))


def test_student_cells_run_to_the_exercise_error():
    """Executing the generated exercise cells raises the announced NotImplementedError."""
    nb = make_student_notebook(_solution_notebook(), name="01_demo.ipynb")
    namespace = {}
    exec(compile("".join(nb.cells[2].source), "<cell>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^Exercise 91\.2: use np\.linalg\.svd$"):
        namespace["pseudo_inverse"](None, None)
    with pytest.raises(NotImplementedError, match=r"^Exercise 91\.3: "):
        exec(compile("".join(nb.cells[3].source), "<cell>", "exec"), {})


def test_registered_exercise_stub_gives_the_task_and_how_to_get_a_hint():
    from course_utils.checks import EXERCISES
    exercise = sorted(EXERCISES)[0]
    nb = new_notebook(cells=[_cell(f"def f():\n    {BEGIN_MARKER}\n    return 42\n"
                                   f"    {END_MARKER}\n", cell_id="a",
                                   metadata={"exercise": exercise, "hint": "return 42"})])
    cell = make_student_notebook(nb, name="n").cells[0]
    namespace = {}
    exec(compile(cell.source, "<cell>", "exec"), namespace)
    with pytest.raises(NotImplementedError) as info:
        namespace["f"]()
    message = str(info.value)
    assert message.startswith(f"Exercise {exercise}: {EXERCISES[exercise].task}")
    assert message.endswith(f'run checks.hint("{exercise}").')
    assert "42" not in cell.source and "hint" not in cell.metadata["course"]


def test_value_answer_stub_defines_the_variable():
    nb = new_notebook(cells=[_cell(f"{BEGIN_MARKER}\nbest_k = 44  # the-secret-answer\n"
                                   f"{END_MARKER}\nprint(best_k)\n", cell_id="a",
                                   metadata={"exercise": "91.4", "task": "find k",
                                             "stub": "best_k = None  # your k"})])
    cell = make_student_notebook(nb, name="n").cells[0]
    assert cell.source == "best_k = None  # your k\nprint(best_k)\n"
    assert "tags" not in cell.metadata  # runs without raising: the check says "not done"
    assert cell.metadata["course"] == {"exercise": "91.4"}
    bad = new_notebook(cells=[_cell(f"{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n", cell_id="a",
                                    metadata={"exercise": "91.4", "stub": ["x = None"]})])
    with pytest.raises(TypeError, match="stub"):
        make_student_notebook(bad, name="n")


def test_default_hint_when_none_given():
    nb = new_notebook(cells=[_cell(f"# Exercise 92.5\n{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n",
                                   cell_id="a")])
    source = make_student_notebook(nb, name="n").cells[0].source
    assert 'raise NotImplementedError("Exercise 92.5: replace the ... with your code")' in source


def test_markers_without_exercise_number_name_the_cell():
    nb = new_notebook(cells=[new_markdown_cell("# t", id="m"),
                             _cell(f"{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n", cell_id="a")])
    with pytest.raises(ValueError, match=r"07_x\.ipynb, cell 1: solution markers but no exercise"):
        make_student_notebook(nb, name="07_x.ipynb")


@pytest.mark.parametrize("meta, error, message", [
    ({"exercise": 1.2}, TypeError, "must be a string 'N.M'"),
    ({"exercise": "one"}, ValueError, "must look like 'N.M'"),
    ({"exercise": "91.2", "hint": ["x"]}, TypeError, "hint'\\] must be a string"),
])
def test_bad_exercise_metadata(meta, error, message):
    nb = new_notebook(cells=[_cell(f"{BEGIN_MARKER}\nx = 1\n{END_MARKER}\n", cell_id="a",
                                   metadata=meta)])
    with pytest.raises(error, match=message):
        make_student_notebook(nb, name="n")


def test_markers_in_markdown_are_rejected():
    nb = new_notebook(cells=[new_markdown_cell(f"{BEGIN_MARKER}\nanswer\n{END_MARKER}", id="m")])
    with pytest.raises(ValueError, match="cell 0: solution markers in a markdown cell"):
        make_student_notebook(nb, name="n")


def test_not_a_notebook_is_rejected():
    with pytest.raises(TypeError, match="nb must be a notebook"):
        make_student_notebook(["cells"], name="n")
    bad = new_notebook()
    bad["nbformat"] = 3
    with pytest.raises(ValueError, match="expected nbformat 4"):
        strip_outputs(bad, name="n")


def test_cells_without_ids_get_deterministic_ids():
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("y = 2")])
    for cell in nb.cells:
        del cell["id"]
    first = notebook_to_text(make_student_notebook(nb, name="solutions/05_a.ipynb"))
    second = notebook_to_text(make_student_notebook(nb, name="/elsewhere/05_a.ipynb"))
    assert first == second
    ids = [cell["id"] for cell in json.loads(first)["cells"]]
    assert len(set(ids)) == 2


# --- generate / command line -------------------------------------------------------------

def test_generate_is_idempotent_and_byte_stable(tmp_path):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    _write(src, "01_demo.ipynb", _solution_notebook())
    (src / "scratch.ipynb").write_text("not a course notebook")  # ignored: not NN_*.ipynb
    written = generate(src, dst)
    assert written == [str(dst / "01_demo.ipynb")]
    first = (dst / "01_demo.ipynb").read_bytes()
    assert first.endswith(b"}\n") and not first.endswith(b"\n\n")
    assert generate(src, dst) == []  # nothing changes the second time
    assert (dst / "01_demo.ipynb").read_bytes() == first
    assert generate(src, dst, check=True) == []
    data = json.loads(first)
    assert list(data) == sorted(data)  # sorted keys
    assert not (dst / "scratch.ipynb").exists()


def test_check_reports_drift_missing_and_stale(tmp_path):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    _write(src, "01_demo.ipynb", _solution_notebook())
    _write(src, "02_more.ipynb", _solution_notebook())
    generate(src, dst)
    (dst / "02_more.ipynb").unlink()
    edited = (dst / "01_demo.ipynb").read_text().replace("use np.linalg.svd", "edited by hand")
    (dst / "01_demo.ipynb").write_text(edited)
    _write(dst, "09_old.ipynb", new_notebook())
    report = generate(src, dst, check=True)
    assert len(report) == 3
    assert "01_demo.ipynb differs" in report[0] and "edited by hand" in report[0]
    assert "02_more.ipynb is missing" in report[1]
    assert "09_old.ipynb has no source" in report[2]
    assert (dst / "01_demo.ipynb").read_text() == edited  # check writes nothing
    generate(src, dst)
    assert generate(src, dst, check=True) == []
    assert not (dst / "09_old.ipynb").exists()


def test_strip_clears_solution_outputs(tmp_path):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    path = _write(src, "03_x.ipynb", _solution_notebook())
    report = generate(src, dst, check=True, strip=True)
    assert any(line.endswith("carries outputs or is not normalised (run `make student`)")
               for line in report)
    generate(src, dst, strip=True)
    nb = nbformat.read(str(path), as_version=4)
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    assert "the-secret-answer" in path.read_text()  # the answers stay in the solutions
    assert generate(src, dst, check=True, strip=True) == []


def test_invalid_notebook_leaves_folders_untouched(tmp_path):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    _write(src, "01_good.ipynb", _solution_notebook())
    bad = new_notebook(cells=[new_markdown_cell("x", id="m"),
                              _cell(f"# Exercise 2.1\n{BEGIN_MARKER}\nx = 1\n", cell_id="b")])
    _write(src, "02_bad.ipynb", bad)
    with pytest.raises(ValueError, match=r"02_bad\.ipynb, cell 1: .*no matching"):
        generate(src, dst)
    assert not dst.exists()
    (src / "02_bad.ipynb").unlink()
    (src / "03_broken.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match="03_broken.ipynb: cannot read notebook"):
        generate(src, dst)


def test_generate_validates_folders(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        generate(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "src").mkdir()
    with pytest.raises(ValueError, match="must be different folders"):
        generate(tmp_path / "src", tmp_path / "src")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        generate(tmp_path / "src", tmp_path / "file")
    with pytest.raises(TypeError, match="src must be a path"):
        generate(3, tmp_path / "out")


def test_command_line_check_lists_differences(tmp_path):
    """``python -m course_utils.student --check`` exits 1, lists the files, writes nothing."""
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    _write(src, "01_demo.ipynb", _solution_notebook())
    result = subprocess.run([sys.executable, "-m", "course_utils.student", "--check",
                             str(src), str(dst)], capture_output=True, text=True, cwd=REPO,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert "01_demo.ipynb is missing" in result.stdout and "make student" in result.stdout
    assert not dst.exists()


def test_main_in_process(tmp_path, capsys):
    src, dst = tmp_path / "s", tmp_path / "d"
    _write(src, "04_a.ipynb", _solution_notebook())
    assert student.main([str(src), str(dst)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert student.main([str(src), str(dst), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert student.main([str(tmp_path / "missing"), str(dst)]) == 2
    assert "does not exist" in capsys.readouterr().err
