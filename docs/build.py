"""Build the course site: a static HTML book of the executed notebooks of ``solutions/``.

    python docs/build.py [--jobs 2] [--timeout 120] [--force]      (or: make site)

Phases, each timed:

1. **execute** every ``solutions/NN_*.ipynb`` with nbclient, ``--jobs`` at a time, into
   ``docs/_build/executed/`` (kernel cwd ``solutions/``, ``COURSE_WIDGET_GALLERY=1`` so
   that every widget also shows a static gallery, the inline matplotlib backend, a
   per-cell timeout). A cell with an error output fails the build unless it is tagged
   ``raises-exception``. A notebook whose content, the ``course_utils`` package and these
   settings are unchanged since its last successful run is not executed again
   (``--force`` executes everything);
2. **front page** from the README: its introduction and its syllabus table, each notebook
   name linking to its chapter when the notebook exists;
3. **MathJax** 3 copied into the site (from npm, once; kept in ``docs/_build/vendor``);
4. **sphinx**: MyST-NB with execution off renders the executed copies into
   ``docs/_build/html``.

The site needs no network to be read: ``python docs/check_site.py`` opens every page in
Chromium and fails on any request that leaves the machine.
"""
from __future__ import annotations

import argparse
import concurrent.futures as futures
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOLUTIONS = ROOT / "solutions"
PACKAGE = ROOT / "course_utils"
README = ROOT / "README.md"
BUILD = DOCS / "_build"
EXECUTED = BUILD / "executed"
HTML = BUILD / "html"
DOCTREES = BUILD / "doctrees"
VENDOR = BUILD / "vendor"
DOWNLOADS = BUILD / "downloads"
CACHE_FILE = EXECUTED / ".execution-cache.json"
LOGS = BUILD / "logs"

NOTEBOOK_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
GALLERY_ENV = "COURSE_WIDGET_GALLERY"
RAISES_TAG = "raises-exception"
DEFAULT_TIMEOUT = 120
MATHJAX_VERSION = "3.2.2"
MATHJAX_FILE = "tex-mml-chtml.js"
#: What the site needs from MathJax's ``es5`` folder: the combined component it loads,
#: and the folders of the parts it loads on demand (fonts, TeX extensions, menu, speech).
MATHJAX_KEEP = (MATHJAX_FILE, "a11y", "adaptors", "input", "output", "sre", "ui")
#: Part of every cache key: change it when execution settings change.
EXECUTION_SETTINGS = "nbclient; kernel python3; gallery on; inline backend; cwd solutions"


class BuildError(RuntimeError):
    """A failure with a message for the reader, printed without a traceback."""


def log(message: str) -> None:
    print(f"[site] {message}", flush=True)


# -- phase 1: execute ------------------------------------------------------------------------
def find_notebooks() -> list[Path]:
    """Every ``solutions/NN_topic.ipynb``, in order."""
    return sorted(p for p in SOLUTIONS.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))


def package_digest() -> str:
    """A hash of every file of ``course_utils`` (code, data, weights)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(notebook: Path, package: str, timeout: int) -> str:
    digest = hashlib.sha256()
    for part in (EXECUTION_SETTINGS, str(timeout), package):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(notebook.read_bytes())
    return digest.hexdigest()


def _cell_label(cell, index: int) -> str:
    first = next((line.strip() for line in cell.get("source", "").splitlines()
                  if line.strip()), "")
    if len(first) > 70:
        first = first[:67] + "..."
    cell_id = cell.get("id")
    return f"cell {index + 1}{f' (id {cell_id})' if cell_id else ''}: {first!r}"


def execute_notebook(source: str, target: str, timeout: int) -> dict:
    """Execute one notebook in a fresh kernel; runs in a worker process.

    Returns ``{"name", "seconds", "errors"}``; the executed copy is written to ``target``
    only when no cell failed.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    os.environ[GALLERY_ENV] = "1"
    os.environ.pop("MPLBACKEND", None)             # the kernel's own inline backend
    name = Path(source).name
    nb = nbformat.read(source, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            store_widget_state=False, record_timing=False,
                            resources={"metadata": {"path": str(Path(source).parent)}},
                            on_cell_start=on_cell_start)
    start = time.perf_counter()
    errors, timed_out = [], None
    # The kernel's own messages (start-up notices, crashes) go to docs/_build/logs.
    kernel_log = LOGS / f"{name}.kernel.log"
    kernel_log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(kernel_log, "w") as log_file:
            client.execute(stdout=log_file, stderr=log_file)
    except CellTimeoutError:
        index = timed_out = current["index"]
        errors.append(f"{name}, {_cell_label(nb.cells[index], index)}: no reply within "
                      f"the {timeout} s cell timeout")
    except DeadKernelError as exc:
        index = current["index"]
        where = _cell_label(nb.cells[index], index) if index is not None else "start-up"
        errors.append(f"{name}, {where}: the kernel died ({exc}; its messages are in "
                      f"{kernel_log.relative_to(ROOT)})")
    seconds = time.perf_counter() - start
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index == timed_out \
                or RAISES_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"{name}, {_cell_label(cell, index)}: "
                              f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    if not errors:
        # Saved widget state would make MyST-NB add the ipywidgets embed scripts (from a
        # CDN); the pictures are in each widget's text/html gallery instead.
        nb.metadata.pop("widgets", None)
        tmp = Path(target).with_suffix(".ipynb.tmp")
        nbformat.write(nb, str(tmp))
        os.replace(tmp, target)
    return {"name": name, "seconds": seconds, "errors": errors}


def execute_all(notebooks: list[Path], jobs: int, timeout: int, force: bool) -> dict:
    """Execute what changed, ``jobs`` notebooks at a time; raise BuildError on failures."""
    EXECUTED.mkdir(parents=True, exist_ok=True)
    try:
        cache = json.loads(CACHE_FILE.read_text())
    except (OSError, ValueError):
        cache = {}
    package = package_digest()
    wanted = {nb.name for nb in notebooks}
    for stale in EXECUTED.glob("*.ipynb"):           # notebooks removed from solutions/
        if stale.name not in wanted:
            stale.unlink()
            cache.pop(stale.name, None)
    keys = {nb.name: cache_key(nb, package, timeout) for nb in notebooks}
    todo = [nb for nb in notebooks
            if force or cache.get(nb.name, {}).get("key") != keys[nb.name]
            or not (EXECUTED / nb.name).exists()]
    for nb in notebooks:
        if nb not in todo:
            log(f"  {nb.name}: unchanged, not executed again")
    # Longest first (from the last run), so that the workers finish together.
    todo.sort(key=lambda nb: -cache.get(nb.name, {}).get("seconds", 1e9))
    results, failures = {}, []
    if todo:
        log(f"executing {len(todo)} notebook(s), {jobs} at a time, {timeout} s per cell")
        context = multiprocessing.get_context("spawn")
        with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending = {pool.submit(execute_notebook, str(nb), str(EXECUTED / nb.name),
                                   timeout): nb for nb in todo}
            for done in futures.as_completed(pending):
                nb = pending[done]
                try:
                    result = done.result()
                except Exception as exc:  # noqa: BLE001 - reported with the notebook
                    result = {"name": nb.name, "seconds": float("nan"),
                              "errors": [f"{nb.name}: could not be executed "
                                         f"({type(exc).__name__}: {exc})"]}
                results[nb.name] = result
                status = "FAILED" if result["errors"] else "ok"
                log(f"  {nb.name}: {result['seconds']:.1f} s {status}")
                if result["errors"]:
                    failures += result["errors"]
                    (EXECUTED / nb.name).unlink(missing_ok=True)
                    cache.pop(nb.name, None)
                else:
                    cache[nb.name] = {"key": keys[nb.name], "seconds": result["seconds"]}
                CACHE_FILE.write_text(json.dumps(cache, indent=1, sort_keys=True))
    if failures:
        raise BuildError("a notebook failed to execute:\n" + "\n".join(
            f"  - {line}" for line in failures) + "\n(cells tagged 'raises-exception' "
            "may fail; no other cell may)")
    return results


# -- phase 2: the front page ------------------------------------------------------------------
def _sections(text: str) -> tuple[str, str, dict[str, str]]:
    """``(title, introduction, {"## heading": body})`` of a markdown document."""
    title, intro, sections, current = "", [], {}, None
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("# ") and not title:
            title = line[2:].strip()
            continue
        if not in_fence and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
            continue
        (sections[current] if current is not None else intro).append(line)
    intro_text = "\n".join(intro).strip()
    first_paragraph = intro_text.split("\n\n")[0].strip() if intro_text else ""
    return title, first_paragraph, {k: "\n".join(v).strip() for k, v in sections.items()}


_ROW = re.compile(r"^(\|\s*[^|]*\|\s*)`([^`|]+)`(\s*\|.*)$")


def front_page(notebooks: list[Path]) -> str:
    """The front page (MyST markdown): the README's title, introduction and syllabus,
    each existing notebook's name a link to its chapter."""
    if not README.exists():
        raise BuildError(f"{README} is missing: the front page is made from its syllabus")
    title, intro, sections = _sections(README.read_text(encoding="utf-8"))
    syllabus = sections.get("Syllabus")
    if not syllabus:
        raise BuildError("README.md has no '## Syllabus' section for the front page")
    names = {nb.stem for nb in notebooks}
    linked, lines, in_table = [], [], False
    for line in syllabus.splitlines():
        is_row = line.lstrip().startswith("|")
        if is_row and not in_table:              # the table, in a directive giving it a class
            lines += ["````{table}", ":class: course-syllabus", ""]
        elif in_table and not is_row:
            lines.append("````")
        in_table = is_row
        match = _ROW.match(line)
        if match and match.group(2).strip() in names:
            name = match.group(2).strip()
            line = f"{match.group(1)}[`{name}`]({name}.ipynb){match.group(3)}"
            linked.append(name)
        lines.append(line)
    if in_table:
        lines.append("````")
    if not linked:
        raise BuildError("the README's syllabus names none of the notebooks of solutions/")
    missing = sorted(names - set(linked))
    parts = ["---", "html_theme.sidebar_secondary.remove: true", "---", "",
             f"# {title or 'Inverse Problems in Imaging'}", "", intro, "",
             "```{admonition} How to read this site",
             ":class: tip",
             "Each chapter is a complete notebook of the course (`solutions/`), executed, with "
             "its outputs. The interactive widgets need a running kernel: here each one shows "
             "a static gallery of its pictures at a few settings. To move the controls "
             "yourself, open the notebooks in JupyterLab (`make lab`), Colab or Binder. "
             "See also the {ref}`index <genindex>` and the {ref}`search page <search>`.",
             "```", "", "## Syllabus", "", "\n".join(lines), ""]
    if missing:
        parts += ["More chapters, not in the syllabus yet: "
                  + ", ".join(f"[`{name}`]({name}.ipynb)" for name in missing) + ".", ""]
    parts += ["```{toctree}", ":hidden:", ":maxdepth: 1", ":caption: Chapters", ""]
    parts += [nb.stem for nb in notebooks]
    parts += ["```", ""]
    return "\n".join(parts)


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# -- phase 3: MathJax ---------------------------------------------------------------------------
def vendor_mathjax() -> str:
    """Copy MathJax into ``docs/_build/vendor/mathjax`` (served as ``_static/mathjax``).

    The package comes from ``$COURSE_MATHJAX_TGZ`` (an npm tarball of mathjax 3), from
    ``docs/_build/downloads`` or from the npm registry (``npm pack``), once.
    """
    target = VENDOR / "mathjax"
    marker = target / ".version"
    if marker.exists() and marker.read_text().strip() == MATHJAX_VERSION \
            and (target / MATHJAX_FILE).exists():
        return "already in place"
    tarball = Path(os.environ["COURSE_MATHJAX_TGZ"]) if os.environ.get("COURSE_MATHJAX_TGZ") \
        else DOWNLOADS / f"mathjax-{MATHJAX_VERSION}.tgz"
    how = f"from {tarball}"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError(f"MathJax {MATHJAX_VERSION} is needed once, from npm, and npm is "
                             f"missing: run 'apt-get install -y npm', or put the npm tarball "
                             f"at {tarball}")
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"],
                              cwd=DOWNLOADS, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not tarball.exists():
            raise BuildError(f"could not fetch mathjax@{MATHJAX_VERSION} with npm pack: "
                             f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        how = "from the npm registry"
    with tempfile.TemporaryDirectory(dir=BUILD) as tmp:
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        es5 = Path(tmp) / "package" / "es5"
        if not (es5 / MATHJAX_FILE).exists():
            raise BuildError(f"{tarball} is not a MathJax 3 package (no es5/{MATHJAX_FILE})")
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name in MATHJAX_KEEP:
            src = es5 / name
            if src.is_dir():
                shutil.copytree(src, target / name)
            elif src.exists():
                shutil.copy2(src, target / name)
        license_file = Path(tmp) / "package" / "LICENSE"
        if license_file.exists():
            shutil.copy2(license_file, target / "LICENSE")
    marker.write_text(MATHJAX_VERSION + "\n")
    return how


# -- phase 4: Sphinx -------------------------------------------------------------------------------
def run_sphinx(jobs: int) -> None:
    # Sphinx re-reads a page when its source or a config value changes, not when the
    # code in conf.py does: start afresh when conf.py or this script changed.
    digest = hashlib.sha256((DOCS / "conf.py").read_bytes()
                            + Path(__file__).read_bytes()).hexdigest()
    stamp = DOCTREES / ".course-conf"
    if DOCTREES.exists() and (not stamp.exists() or stamp.read_text() != digest):
        shutil.rmtree(DOCTREES)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(DOCS), "-d",
               str(DOCTREES), "-j", str(jobs), "-W", "--keep-going", "-q", str(EXECUTED), str(HTML)]
    env = dict(os.environ)
    env.pop(GALLERY_ENV, None)
    proc = subprocess.run(command, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise BuildError(f"sphinx-build failed (exit {proc.returncode}): every warning is an "
                         f"error here; the messages are above")
    stamp.write_text(digest)


# -- main -------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2,
                        help="notebooks executed at once, and Sphinx's workers (default 2)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds per cell (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--force", action="store_true",
                        help="execute every notebook, even those unchanged since the last build")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout < 1:
        parser.error("--jobs and --timeout must be positive")

    timings = {}
    start = time.perf_counter()
    try:
        notebooks = find_notebooks()
        if not notebooks:
            raise BuildError(f"no notebooks NN_topic.ipynb in {SOLUTIONS}")
        log(f"{len(notebooks)} notebooks in solutions/: "
            + ", ".join(nb.stem for nb in notebooks))

        phase = time.perf_counter()
        execute_all(notebooks, args.jobs, args.timeout, args.force)
        timings["execute"] = time.perf_counter() - phase

        phase = time.perf_counter()
        write_if_changed(EXECUTED / "index.md", front_page(notebooks))
        timings["front page"] = time.perf_counter() - phase

        phase = time.perf_counter()
        how = vendor_mathjax()
        log(f"MathJax {MATHJAX_VERSION}: {how}")
        timings["mathjax"] = time.perf_counter() - phase

        phase = time.perf_counter()
        log("sphinx: rendering the executed notebooks (MyST-NB, execution off)")
        run_sphinx(args.jobs)
        timings["sphinx"] = time.perf_counter() - phase
    except BuildError as exc:
        print(f"docs/build.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("docs/build.py: interrupted", file=sys.stderr)
        return 130
    timings["total"] = time.perf_counter() - start
    log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    log(f"site ready: {HTML / 'index.html'} (check it with: python docs/check_site.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
