"""Generate student notebooks from the solution notebooks (one source for exercises).

Run as ``python -m course_utils.student SRC DST`` (``--check`` to compare without writing,
``--strip`` to also clear the outputs of the notebooks in ``SRC``).
"""
from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import re
import sys
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN_MARKER", "END_MARKER", "RAISES_TAG", "SOLUTION_ONLY_TAG", "NOTEBOOK_PATTERN",
    "replace_solutions", "exercise_info", "strip_outputs", "make_student_notebook",
    "notebook_to_text", "read_notebook", "list_notebooks", "generate", "main",
]

BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
RAISES_TAG = "raises-exception"
SOLUTION_ONLY_TAG = "solution-only"
#: Notebooks handled by the generator: two-digit number, underscore, topic.
NOTEBOOK_PATTERN = re.compile(r"^\d{2}_[A-Za-z0-9_\-]+\.ipynb$")

_EXERCISE_ID = re.compile(r"^\d+\.\d+[a-z]?$")
_EXERCISE_COMMENT = re.compile(r"^\s*#+\s*Exercise\s+(\d+\.\d+[a-z]?)\b\s*[:.\-\u2014]?\s*(.*?)\s*$")
_DEFAULT_HINT = "replace the ... with your code"
# Notebook-level metadata that depends on the machine or on a running front end.
_VOLATILE_NB_METADATA = ("widgets", "toc-autonumbering", "varInspector")
# Cell-level metadata written by front ends when a cell runs.
_VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def _where(name: str, index: int) -> str:
    return f"{name}, cell {index}"


def _source_text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _marker_kind(line: str) -> str | None:
    stripped = line.strip()
    if stripped == BEGIN_MARKER:
        return "begin"
    if stripped == END_MARKER:
        return "end"
    return None


def _has_markers(source: str) -> bool:
    return any(_marker_kind(line) for line in source.splitlines())


def replace_solutions(source: str, exercise_id: str, hint: str, *,
                      where: str = "cell", stub: str | None = None) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block of a code cell.

    Parameters
    ----------
    source : str
        Source of one code cell.
    exercise_id : str
        Exercise number ``"N.M"`` quoted in the error the student sees.
    hint : str
        The message quoted after the exercise number: what to do, never how.
    where : str
        Location used in error messages (notebook name and cell index).
    stub : str, optional
        Lines that replace each block instead of ``...`` and the ``raise`` (for an
        answer given as a value, e.g. ``"my_prediction = None  # your number"``).

    Returns
    -------
    str
        The source with each block (markers included) replaced by ``...`` and
        ``raise NotImplementedError("Exercise N.M: hint")`` (or by ``stub``), at the
        indentation of the ``BEGIN`` marker. Lines outside the blocks are kept verbatim.

    Raises
    ------
    ValueError
        If the markers are unbalanced (an ``END`` without ``BEGIN``, a nested ``BEGIN``,
        or a ``BEGIN`` never closed); the message names ``where``.

    Notes
    -----
    The message is written as a JSON string literal, which is also a valid Python string
    literal, so hints may contain quotes or backslashes.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a string, got {type(source).__name__}")
    message = json.dumps(f"Exercise {exercise_id}: {hint}", ensure_ascii=False)
    out: list[str] = []
    begin_line = None
    for lineno, line in enumerate(source.splitlines(keepends=True), start=1):
        kind = _marker_kind(line)
        if kind == "begin":
            if begin_line is not None:
                raise ValueError(f"{where}: nested '{BEGIN_MARKER}' at line {lineno} "
                                 f"(the one at line {begin_line} is not closed)")
            begin_line = lineno
            indent = line[: len(line) - len(line.lstrip())]
            if stub is None:
                out.append(f"{indent}...\n")
                out.append(f"{indent}raise NotImplementedError({message})\n")
            else:
                out.extend(f"{indent}{stub_line}\n" for stub_line in stub.splitlines())
        elif kind == "end":
            if begin_line is None:
                raise ValueError(f"{where}: '{END_MARKER}' at line {lineno} without a "
                                 f"matching '{BEGIN_MARKER}'")
            begin_line = None
            if not line.endswith("\n"):
                out[-1] = out[-1][:-1]
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise ValueError(f"{where}: '{BEGIN_MARKER}' at line {begin_line} has no "
                         f"matching '{END_MARKER}'")
    return "".join(out)


def exercise_info(cell, *, where: str = "cell") -> tuple[str, str]:
    """Exercise number and hint of a solution cell.

    Parameters
    ----------
    cell : NotebookNode
        A code cell. The number is read from ``cell.metadata["course"]["exercise"]``
        or, lacking it, from a comment line ``# Exercise N.M: hint`` anywhere in the
        cell. The message is the exercise's task as registered in
        ``course_utils.checks`` (with how to ask for a hint); for an exercise that is not
        registered, ``metadata["course"]["task"]``, ``["hint"]`` or the comment.
    where : str
        Location used in error messages.

    Returns
    -------
    (str, str)
        The exercise number ``"N.M"`` and the hint (a default hint if none is given).

    Raises
    ------
    TypeError
        If the metadata values are not strings.
    ValueError
        If no exercise number is found or it is not of the form ``N.M``.
    """
    course = cell.get("metadata", {}).get("course", {}) or {}
    if not isinstance(course, dict):
        raise TypeError(f"{where}: metadata['course'] must be a dict, "
                        f"got {type(course).__name__}")
    exercise_id = course.get("exercise")
    hint = course.get("hint")
    comment_id = comment_hint = None
    for line in _source_text(cell.get("source", "")).splitlines():
        match = _EXERCISE_COMMENT.match(line)
        if match:
            comment_id, comment_hint = match.group(1), match.group(2)
            break
    if exercise_id is None:
        exercise_id = comment_id
    if hint is None:
        hint = comment_hint if exercise_id == comment_id and comment_hint else None
    if exercise_id is None:
        raise ValueError(f"{where}: solution markers but no exercise number; set "
                         f"metadata['course']['exercise'] = 'N.M' or add a "
                         f"'# Exercise N.M: hint' comment")
    if not isinstance(exercise_id, str):
        raise TypeError(f"{where}: metadata['course']['exercise'] must be a string "
                        f"'N.M', got {type(exercise_id).__name__}")
    if not _EXERCISE_ID.match(exercise_id):
        raise ValueError(f"{where}: exercise number must look like 'N.M', "
                         f"got {exercise_id!r}")
    task = course.get("task")
    if task is not None:
        hint = task
    registered = _registered_task(exercise_id)
    if registered is not None:
        hint = f'{registered} For a hint, run checks.hint("{exercise_id}").'
    if hint is None:
        hint = _DEFAULT_HINT
    if not isinstance(hint, str):
        raise TypeError(f"{where}: metadata['course']['hint'] must be a string, "
                        f"got {type(hint).__name__}")
    hint = " ".join(hint.split()) or _DEFAULT_HINT
    return exercise_id, hint


def _registered_task(exercise_id: str) -> str | None:
    """The task of an exercise registered in ``course_utils.checks``, if any."""
    from .checks import EXERCISES
    entry = EXERCISES.get(exercise_id)
    return None if entry is None else entry.task


def _clean_cell(cell, name: str, index: int, minor: int) -> None:
    for key in _VOLATILE_CELL_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    elif "attachments" in cell and not cell.attachments:
        del cell["attachments"]
    if minor >= 5 and not cell.get("id"):
        # Derived from the file name only, so the same notebook gets the same ids
        # whichever folder or path it is read from.
        digest = hashlib.sha1(f"{Path(name).name}:{index}".encode()).hexdigest()
        cell["id"] = digest[:8]


def strip_outputs(nb, *, name: str = "notebook"):
    """A copy of a notebook without outputs, execution counts or front-end state.

    Parameters
    ----------
    nb : NotebookNode
        A version-4 notebook.
    name : str
        Notebook name, used in error messages and to give deterministic ids to cells
        that have none.

    Returns
    -------
    NotebookNode
        A deep copy with every code cell's ``outputs`` emptied and ``execution_count``
        set to ``None``; saved widget state and run-time cell metadata removed.
    """
    _check_notebook(nb, name)
    nb = copy.deepcopy(nb)
    for key in _VOLATILE_NB_METADATA:
        nb.metadata.pop(key, None)
    minor = int(nb.get("nbformat_minor", 0))
    for index, cell in enumerate(nb.cells):
        _clean_cell(cell, name, index, minor)
    return nb


def _check_notebook(nb, name: str) -> None:
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"nb must be a notebook (NotebookNode), got {type(nb).__name__}"
                        f" for {name}")
    if nb.get("nbformat") != 4:
        raise ValueError(f"{name}: expected nbformat 4, got {nb.get('nbformat')!r}")


def make_student_notebook(nb, *, name: str = "notebook"):
    """The student version of a solution notebook.

    Parameters
    ----------
    nb : NotebookNode
        The solution notebook (not modified).
    name : str
        Notebook name used in error messages.

    Returns
    -------
    NotebookNode
        A new notebook where cells tagged ``solution-only`` are dropped, every code cell
        with solution markers has its answers replaced (see :func:`replace_solutions`)
        and is tagged ``raises-exception``, and all outputs are cleared.

    Raises
    ------
    ValueError
        On unbalanced markers, markers in a markdown cell, or a solution cell without an
        exercise number; the message names the notebook and the cell index (counted
        over all cells of the solution notebook, from 0).

    Notes
    -----
    Expected printed values (``metadata["course"]["expect"]``) are removed from exercise
    cells, which now raise; a cell may carry ``metadata["course"]["student_expect"]``
    to state different expectations for the student notebook.
    """
    nb = strip_outputs(nb, name=name)
    cells = []
    for index, cell in enumerate(nb.cells):
        where = _where(name, index)
        tags = list(cell.metadata.get("tags", []) or [])
        if SOLUTION_ONLY_TAG in tags:
            continue
        source = _source_text(cell.source)
        course = cell.metadata.get("course")
        if cell.cell_type != "code":
            if _has_markers(source):
                raise ValueError(f"{where}: solution markers in a {cell.cell_type} cell; "
                                 f"tag the cell '{SOLUTION_ONLY_TAG}' instead")
            cells.append(cell)
            continue
        if isinstance(course, dict) and "student_expect" in course:
            course["expect"] = course.pop("student_expect")
        if _has_markers(source):
            exercise_id, hint = exercise_info(cell, where=where)
            stub = course.get("stub") if isinstance(course, dict) else None
            if stub is not None and not isinstance(stub, str):
                raise TypeError(f"{where}: metadata['course']['stub'] must be a string")
            cell.source = replace_solutions(source, exercise_id, hint, where=where,
                                            stub=stub)
            if stub is None and RAISES_TAG not in tags:
                tags.append(RAISES_TAG)
            if tags:
                cell.metadata["tags"] = tags
            if isinstance(course, dict):
                for key in ("expect", "hint", "task", "stub"):
                    course.pop(key, None)
        cells.append(cell)
    nb.cells = cells
    return nb


def notebook_to_text(nb) -> str:
    """Stable JSON text of a notebook: sorted keys, one-space indent, trailing newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def read_notebook(path) -> nbformat.NotebookNode:
    """Read a version-4 notebook, raising ``ValueError`` naming the file if it is invalid."""
    path = Path(path)
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError) as exc:
        raise ValueError(f"{path}: cannot read notebook ({exc})") from exc


def list_notebooks(folder) -> list[Path]:
    """Course notebooks (``NN_topic.ipynb``) of a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist or is not a directory")
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def _diff(old: str, new: str, old_name: str, new_name: str, limit: int = 12) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name,
                                      new_name, lineterm="", n=1))
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join("    " + line for line in lines)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return True


def generate(src, dst, *, check: bool = False, strip: bool = False,
             verbose: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) the student notebooks of ``src`` into ``dst``.

    Parameters
    ----------
    src : str or Path
        Folder of solution notebooks ``NN_topic.ipynb``.
    dst : str or Path
        Folder of student notebooks; created if missing (unless ``check``).
    check : bool
        If True, write nothing and return the list of differences.
    strip : bool
        If True, also rewrite the notebooks of ``src`` without outputs (with ``check``,
        report those that carry outputs).
    verbose : bool
        Print one line per file written.

    Returns
    -------
    list of str
        With ``check``: one entry per difference (out-of-date, missing or stale student
        notebook; solution notebook with outputs when ``strip``). Otherwise the paths
        written or removed.

    Raises
    ------
    ValueError
        If ``src`` is missing, ``src`` and ``dst`` are the same folder, or a notebook is
        invalid (the message names the notebook and cell).
    """
    for arg, value in (("src", src), ("dst", dst)):
        if not isinstance(value, (str, Path)):
            raise TypeError(f"{arg} must be a path, got {type(value).__name__}")
    src, dst = Path(src), Path(dst)
    sources = list_notebooks(src)
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"dst {str(dst)!r} exists and is not a directory")
    if dst.exists() and src.resolve() == dst.resolve():
        raise ValueError("src and dst must be different folders")

    # Build everything first: an invalid notebook leaves the folders untouched.
    planned: list[tuple[Path, str, Path, str | None]] = []
    for path in sources:
        original = path.read_text(encoding="utf-8")
        nb = read_notebook(path)
        name = str(path)
        student_text = notebook_to_text(make_student_notebook(nb, name=name))
        stripped_text = notebook_to_text(strip_outputs(nb, name=name)) if strip else None
        planned.append((path, original, dst / path.name, student_text))
        if strip:
            planned.append((path, original, path, stripped_text))
    wanted = {path.name for path in sources}
    stale = sorted(p for p in dst.iterdir() if NOTEBOOK_PATTERN.match(p.name)
                   and p.name not in wanted) if dst.is_dir() else []

    report: list[str] = []
    if check:
        for source, original, target, text in planned:
            if target == source:
                if original != text:
                    report.append(f"{source} carries outputs or is not normalised "
                                  f"(run `make student`)")
                continue
            if not target.exists():
                report.append(f"{target} is missing (generated from {source})")
                continue
            current = target.read_text(encoding="utf-8")
            if current != text:
                report.append(f"{target} differs from what {source} generates:\n"
                              + _diff(current, text, str(target), f"generated from {source}"))
        report.extend(f"{p} has no source in {src}" for p in stale)
        return report

    dst.mkdir(parents=True, exist_ok=True)
    for _source, _original, target, text in planned:
        if _write_if_changed(target, text):
            report.append(str(target))
            if verbose:
                print(f"wrote {target}")
    for path in stale:
        path.unlink()
        report.append(str(path))
        if verbose:
            print(f"removed {path} (no source notebook)")
    return report


def main(argv=None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.student",
        description="Generate student notebooks from solution notebooks: answers between "
                    f"'{BEGIN_MARKER}' and '{END_MARKER}' become '...' plus "
                    "raise NotImplementedError, outputs are cleared.")
    parser.add_argument("src", help="folder of solution notebooks NN_topic.ipynb")
    parser.add_argument("dst", help="folder of student notebooks (written)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; list differences and exit 1 if any")
    parser.add_argument("--strip", action="store_true",
                        help="also clear the outputs of the notebooks in SRC")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    try:
        result = generate(args.src, args.dst, check=args.check, strip=args.strip,
                          verbose=not args.quiet and not args.check)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if result:
            print(f"{len(result)} notebook(s) out of date (run `make student`):")
            for line in result:
                print(f"  {line}")
            return 1
        if not args.quiet:
            print(f"{args.dst} is up to date with {args.src}")
        return 0
    if not args.quiet and not result:
        print(f"{args.dst} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
