"""The set-up cell that opens every notebook: Google Colab support, identical everywhere.

On Colab the course is not installed: the first code cell of every notebook installs it,
with the pinned CPU build of PyTorch first (Colab's own build would otherwise be kept or
a CUDA build pulled), and turns on Colab's custom widget manager, without which the
interactive figures (ipywidgets) do not display. Anywhere else (JupyterLab, VS Code,
Binder, a JupyterHub, nbval) the cell does nothing.

``python -m course_utils.setup_cell solutions`` puts :data:`SOURCE` in every notebook of
a folder (inserted before the first code cell, or updated in place); ``make student``
then carries it into ``notebooks/``. ``tests/test_setup_cell.py`` keeps it identical.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["SOURCE", "TAG", "COLAB_TORCH", "setup_cell_index", "apply", "main"]

#: Tag of the set-up cell.
TAG = "course-setup"

#: What the cell installs first on Colab: PyTorch as the course pins it, CPU build.
COLAB_TORCH = ("torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu")

SOURCE = '''\
# Set-up for Google Colab; it does nothing anywhere else (JupyterLab, VS Code, Binder, a hub).
# On Colab it installs the course, with its pinned CPU build of PyTorch first, and turns on
# the widget manager that the interactive figures need. Set COURSE_REPOSITORY to install
# from a fork.
import os, subprocess, sys

if "google.colab" in sys.modules:
    _course = os.environ.get("COURSE_REPOSITORY",
                             "https://github.com/inverse-problems-imaging/course")
    for _packages in (["torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu"],
                      [f"git+{_course}"]):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_packages], check=True)
    from google.colab import output
    output.enable_custom_widget_manager()'''


def setup_cell_index(nb) -> int | None:
    """Index of the notebook's set-up cell (tagged :data:`TAG`), or None."""
    for index, cell in enumerate(nb.cells):
        if TAG in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def apply(nb) -> bool:
    """Insert or update the set-up cell of ``nb`` in place; True when it changed."""
    import nbformat
    index = setup_cell_index(nb)
    if index is not None:
        cell = nb.cells[index]
        if cell.source == SOURCE:
            return False
        cell.source = SOURCE
        return True
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"),
                      len(nb.cells))
    cell = nbformat.v4.new_code_cell(SOURCE, metadata={"tags": [TAG]})
    cell.id = "course-setup"  # stable, so that regenerating gives the same file
    nb.cells.insert(first_code, cell)
    return True


def main(argv=None) -> int:
    import nbformat

    from .student import list_notebooks, notebook_to_text, read_notebook
    parser = argparse.ArgumentParser(prog="python -m course_utils.setup_cell",
                                     description="Put the set-up cell in every notebook.")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    for path in list_notebooks(args.folder):
        nb = read_notebook(path)
        if apply(nb):
            nbformat.validate(nb)
            path.write_text(notebook_to_text(nb), encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
