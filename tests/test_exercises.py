"""Course-wide rules for exercises (COURSE §4 and the README's "Writing an exercise").

Every exercise is registered in ``course_utils.checks`` with its kind, a task and tiered
hints; numbers follow the order of appearance; each notebook has at least two exercises
that ask the student to think (predict, experiment, interpret) besides implementing; each
exercise is judged by a check; and no student notebook contains an answer.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from course_utils import checks
from course_utils.checks._base import EXERCISE_KINDS


REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
STUDENT = REPO / "notebooks"
NOTEBOOK = re.compile(r"^(\d{2})_[A-Za-z0-9_\-]+\.ipynb$")
CHECK_CALL = re.compile(r"\bchecks\.(check_\w+)\s*\(")


@dataclass
class Exercise:
    id: str
    cell: int
    solution_lines: list[str] = field(default_factory=list)
    checked_by: list[str] = field(default_factory=list)


def notebooks() -> list[Path]:
    return sorted(p for p in SOLUTIONS.iterdir() if NOTEBOOK.match(p.name))


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exercises(path: Path) -> list[Exercise]:
    """The exercises of a solution notebook in order, with their answer lines and the
    ``checks.check_*`` functions called between them and the next exercise."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found: list[Exercise] = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        text = source(cell)
        if "### BEGIN SOLUTION" in text:
            course = cell.get("metadata", {}).get("course", {}) or {}
            ex = Exercise(course.get("exercise", "?"), index)
            inside = False
            for line in text.splitlines():
                if line.strip() == "### BEGIN SOLUTION":
                    inside = True
                elif line.strip() == "### END SOLUTION":
                    inside = False
                elif inside:
                    ex.solution_lines.append(line)
            found.append(ex)
        if found:
            found[-1].checked_by.extend(CHECK_CALL.findall(text))
    return found


def answer_lines(lines: list[str], min_length: int = 10) -> list[str]:
    """The lines of an answer worth looking for: code without its comments, whitespace
    collapsed, at least ``min_length`` characters."""
    out = []
    for line in lines:
        code = line.split("#", 1)[0] if "#" in line and "'" not in line and '"' not in line \
            else line
        code = " ".join(code.split())
        if len(code) >= min_length:
            out.append(code)
    return out


NOTEBOOKS = notebooks()
IDS = [p.stem for p in NOTEBOOKS]
THINKING = ("predict", "experiment", "interpret")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_are_numbered_in_order_of_appearance(path):
    number = int(NOTEBOOK.match(path.name).group(1))
    found = [ex.id for ex in exercises(path)]
    assert found == [f"{number}.{k}" for k in range(1, len(found) + 1)], found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_is_registered_and_checked(path):
    for ex in exercises(path):
        assert ex.id in checks.EXERCISES, f"exercise {ex.id} is not registered"
        judged = [name for name in ex.checked_by
                  if getattr(getattr(checks, name, None), "exercise", None) == ex.id]
        assert judged, (f"exercise {ex.id} (cell {ex.cell}) is followed by no "
                        f"checks.check_* for it (found {ex.checked_by})")


def test_every_registered_exercise_is_in_a_notebook():
    in_notebooks = {ex.id for path in NOTEBOOKS for ex in exercises(path)}
    orphans = sorted(set(checks.EXERCISES) - in_notebooks)
    assert not orphans, f"registered but in no notebook: {orphans}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_notebook_has_two_kinds_of_thinking_exercise(path):
    kinds = Counter(checks.EXERCISES[ex.id].kind for ex in exercises(path)
                    if ex.id in checks.EXERCISES)
    thinking = {k: n for k, n in kinds.items() if k in THINKING}
    assert sum(thinking.values()) >= 2 and len(thinking) >= 2, (
        f"{path.name} has {dict(kinds)}: it needs at least two exercises of at least two "
        f"of the kinds {THINKING}")


@pytest.mark.parametrize("exercise", sorted(checks.EXERCISES), ids=str)
def test_hints_are_tiered(exercise):
    entry = checks.EXERCISES[exercise]
    assert entry.kind in EXERCISE_KINDS
    assert len(entry.hints) >= 2 and len(set(entry.hints)) == len(entry.hints)
    assert entry.task not in entry.hints


def test_hint_gives_the_tiers_one_at_a_time(capsys):
    exercise = sorted(checks.EXERCISES)[0]
    hints = checks.EXERCISES[exercise].hints
    checks.reset_hints()
    try:
        for tier in range(len(hints) + 1):
            checks.hint(exercise)
            out = capsys.readouterr().out
            shown = min(tier, len(hints) - 1)
            assert f"Hint {shown + 1} of {len(hints)}" in out and hints[shown] in out
        assert "last hint" in out
        checks.hint("99.1")
        assert "no exercise" in capsys.readouterr().out
    finally:
        checks.reset_hints()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_notebook_contains_no_answer(path):
    """Grep the student notebook (sources, messages and metadata) for every code line of
    every answer of its solution."""
    student = json.loads((STUDENT / path.name).read_text(encoding="utf-8"))
    text = " ".join(" ".join(source(cell).split()) + " " + json.dumps(cell.get("metadata", {}))
                    for cell in student["cells"])
    leaks = [(ex.id, line) for ex in exercises(path) for line in answer_lines(ex.solution_lines)
             if line in text]
    assert not leaks, f"answers found in notebooks/{path.name}: {leaks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stubs_say_what_to_do_and_how_to_get_a_hint(path):
    student = json.loads((STUDENT / path.name).read_text(encoding="utf-8"))
    cells = {cell.get("metadata", {}).get("course", {}).get("exercise"): source(cell)
             for cell in student["cells"] if cell["cell_type"] == "code"}
    for ex in exercises(path):
        stub = cells.get(ex.id, "")
        task = checks.exercise_task(ex.id)
        if "NotImplementedError" in stub:
            assert task in stub.replace('\\"', '"')
        assert f'checks.hint(\\"{ex.id}\\")' in stub or f'checks.hint("{ex.id}")' in stub \
            or "None" in stub, f"stub of exercise {ex.id} says neither the task nor the hint"
