"""The course site's front page, made from the README's syllabus (docs/build.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[1] / "docs" / "build.py"

README = """# The Course

An introduction paragraph.

Second paragraph, not on the front page.

## Syllabus

| # | notebook | topic | status |
|---|---|---|---|
| 01 | `01_first` | the first | ready |
| 02 | `02_later` | planned one | planned |

## Install
Nothing here.
"""


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("course_docs_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_front_page_links_existing_chapters_only(build, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    monkeypatch.setattr(build, "README", readme)
    page = build.front_page([tmp_path / "01_first.ipynb", tmp_path / "03_extra.ipynb"])
    assert page.splitlines()[4] == "# The Course"
    assert "An introduction paragraph." in page and "Second paragraph" not in page
    assert "[`01_first`](01_first.ipynb)" in page
    assert "| `02_later` |" in page and "(02_later.ipynb)" not in page   # planned: no link
    assert "[`03_extra`](03_extra.ipynb)" in page                       # not in the syllabus
    toctree = page[page.index("```{toctree}"):]
    assert "01_first" in toctree and "03_extra" in toctree and "Install" not in page


def test_front_page_needs_a_syllabus_naming_a_notebook(build, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    monkeypatch.setattr(build, "README", readme)
    readme.write_text("# T\n\nintro\n\n## Install\n")
    with pytest.raises(build.BuildError, match="Syllabus"):
        build.front_page([tmp_path / "01_first.ipynb"])
    readme.write_text(README)
    with pytest.raises(build.BuildError, match="names none"):
        build.front_page([tmp_path / "05_other.ipynb"])


def test_the_real_readme_links_every_solution(build):
    notebooks = build.find_notebooks()
    page = build.front_page(notebooks)
    for nb in notebooks:
        assert f"[`{nb.stem}`]({nb.stem}.ipynb)" in page
