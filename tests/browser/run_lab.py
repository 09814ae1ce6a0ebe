"""Every notebook in JupyterLab in a real browser: Run All, then every widget's first control.

``make test-browser`` runs this file. It

1. copies ``solutions/`` and ``notebooks/`` into a temporary folder and starts JupyterLab
   from ``./.venv`` on 127.0.0.1 with a random token (stopped at the end, also on failure);
2. drives Debian's Chromium with the ``playwright`` package (``executable_path``: no
   browser is ever downloaded);
3. opens every notebook of ``solutions/`` and the student notebooks ``STUDENT`` of
   ``notebooks/``, runs them through the *Run → Run All Cells* menu, two notebooks at a
   time, and waits for the kernel to be idle; then saves each one (*File → Save*) and fails
   on any error output in a cell not tagged ``raises-exception``, and on any widget that
   JupyterLab could not display;
4. one notebook at a time (nothing else running, and only its page open: each page is
   closed after its Run All and the notebook reopened on its still-running kernel, whose
   widgets come back as after a reload), drags the first slider (or picks another option
   of the first dropdown or toggle) of every course widget three times, requires that the
   picture in that widget's own output changes each time, and records the latency from
   the release of the mouse (or the choice) to the new picture decoded in the page;
5. writes ``benchmarks/results/browser.json``; on failure also a screenshot and the
   JupyterLab log under ``benchmarks/results/browser/``;
6. checks the built course site with ``docs/check_site.py`` unless ``--no-site``.

Every wait has a timeout. Exit status 0 when everything passed, 1 on a failure, 2 when
something needed is missing (with one line saying how to get it).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
RESULTS = REPO / "benchmarks" / "results"
ARTIFACTS = RESULTS / "browser"
STUDENT = ("01_least_squares.ipynb", "03_plug_and_play.ipynb")
BUDGET_MS = {"closed-form": 150.0, "iterative": 400.0}
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
RUN_ALL_TIMEOUT_S = 300
SERVER_START_TIMEOUT_S = 90
PICTURE_TIMEOUT_S = 30
MOVES = 3


class Missing(Exception):
    """Something the check needs is not installed; the message says how to get it."""


# -- set-up --------------------------------------------------------------------------------
def find_chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not path or not os.access(path, os.X_OK):
        raise Missing("Chromium is missing: install Debian's package with "
                      "'apt-get install -y chromium' (never 'playwright install')")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def lab_settings(settings_dir: Path) -> None:
    """User settings of the test's JupyterLab: JupyterLab's own defaults (every cell in the
    page, off-screen ones skipped by the browser's ``content-visibility``), except that a
    notebook starts its kernel without asking and no news or update checks (no network)."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
            {"windowingMode": "contentVisibility", "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings":
            {"autosave": False},
    }
    for name, content in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


class Lab:
    """A JupyterLab server on 127.0.0.1 serving a copy of the notebooks."""

    def __init__(self, root: Path, port: int | None, log_path: Path):
        self.root = root
        self.port = port or free_port()
        if not port_is_free(self.port):
            raise Missing(f"port {self.port} on 127.0.0.1 is in use: stop what uses it or "
                          "run without --port (a free port is chosen)")
        self.token = secrets.token_hex(16)
        self.log_path = log_path
        self.process = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        lab = VENV / "bin" / "jupyter-lab"
        if not lab.exists():
            raise Missing("JupyterLab is missing from ./.venv: run 'make install'")
        settings = self.root / ".lab-settings"
        lab_settings(settings)
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.root / ".lab-workspaces"),
                   JUPYTER_RUNTIME_DIR=str(self.root / ".runtime"),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.pop("MPLBACKEND", None)  # the notebooks choose the inline backend themselves
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(lab), "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=",
             "--ServerApp.open_browser=False", "--LabApp.extension_manager=readonly"]
            + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
            start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start (code {self.process.returncode}); "
                                   f"see {self.log_path}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s; "
                           f"see {self.log_path}")

    def api(self, method: str, path: str, timeout: float = 10.0):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}")
        except Exception:  # noqa: BLE001 - best effort; the server is stopped anyway
            pass

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        self.log.close()


# -- in the page ------------------------------------------------------------------------------
_BUSY_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return 'no-notebook';
  const prompts = [...panel.querySelectorAll('.jp-InputPrompt')].map(p => p.textContent);
  if (prompts.some(t => t.includes('*'))) return 'busy';
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const state = status ? status.getAttribute('data-status') : null;
  if (state && state !== 'idle') return 'busy:' + state;
  const cells = [...panel.querySelectorAll('.jp-CodeCell')];
  const pending = cells.filter(c => {
    const p = c.querySelector('.jp-InputPrompt');
    const src = c.querySelector('.jp-InputArea-editor');
    return p && !/\\[\\d+\\]/.test(p.textContent) && src && src.textContent.trim() !== '';
  }).length;
  return pending ? 'idle-pending:' + pending : 'idle';
}"""

# Arms a one-shot latency probe on the widget box ``i``: the start is the next pointerup
# (a released mouse), change (a picked option) or new slider readout in the page,
# whichever comes first; the end the moment the widget's own picture has a new source,
# has been decoded and the next frame is due.
_ARM_JS = """(i) => {
  const box = document.querySelectorAll('.course-demo')[i];
  const img = box.querySelector('img.course-demo-figure');
  const probe = {start: null, end: null, src: img ? img.src : null, error: null};
  window.__probe = probe;
  if (!img) { probe.error = 'no picture in the widget'; return false; }
  const mark = () => { if (probe.start === null) probe.start = performance.now(); };
  document.addEventListener('pointerup', mark, {capture: true, once: true});
  box.addEventListener('change', mark, {capture: true, once: true});
  // A continuous slider sends its value as it moves, just before the release.
  const readout = box.querySelector('.widget-readout');
  if (readout) new MutationObserver(mark).observe(readout,
      {characterData: true, childList: true, subtree: true});
  // Informative marks: the kernel's "computing…" arriving, and the new picture's bytes.
  const status = box.querySelectorAll('.widget-hbox')[1];
  if (status) {
    const seen = new MutationObserver(() => {
      if (probe.computing === undefined && status.textContent.includes('computing')) {
        probe.computing = performance.now(); seen.disconnect();
      }
    });
    seen.observe(status, {characterData: true, childList: true, subtree: true});
  }
  const observer = new MutationObserver(() => {
    if (img.src === probe.src) return;
    probe.arrived = performance.now();
    observer.disconnect();
    img.decode().then(() => { probe.decoded = performance.now();
                              requestAnimationFrame(() => { probe.end = performance.now(); }); },
                      () => { probe.end = performance.now(); probe.error = 'undecodable'; });
  });
  observer.observe(img, {attributes: true, attributeFilter: ['src']});
  return true;
}"""


def _menu(page, top: str, item: str):
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def _slug(path: str) -> str:
    return path.replace("/", "__").replace(".ipynb", "")


class NotebookRun:
    """One notebook open in its own page."""

    def __init__(self, context, lab: Lab, rel: str):
        self.rel = rel
        self.lab = lab
        self.page = context.new_page()
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.result = {"notebook": rel, "run_all_s": None, "errors": [], "widgets": []}
        self.started = None
        self.done = False

    def open_and_run_all(self):
        page = self.page
        # A workspace of its own: pages open at once must not restore each other's tabs.
        page.goto(f"{self.lab.base}/lab/workspaces/{_slug(self.rel)}/tree/{self.rel}"
                  f"?reset&token={self.lab.token}", timeout=60_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.wait_for_function(
            "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
            " return s && s.getAttribute('data-status') === 'idle'; }", timeout=90_000)
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # the notebook has focus
        self.started = time.monotonic()
        for attempt in range(2):
            _menu(page, "Run", "Run All Cells")
            try:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]"
                    ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))", timeout=20_000)
                return
            except Exception:  # noqa: BLE001 - the menu was not ready: once more
                if attempt:
                    raise RuntimeError("Run All Cells started nothing within 20 s")

    def reopen(self, context):
        """Open the notebook again in a fresh page, on its still-running kernel: the
        widgets come back from the kernel, as after reloading JupyterLab."""
        self.page = context.new_page()
        self.page_errors = []
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.page.goto(f"{self.lab.base}/lab/workspaces/{_slug(self.rel)}-widgets/tree/"
                       f"{self.rel}?reset&token={self.lab.token}", timeout=60_000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        self.page.wait_for_selector(".course-demo img.course-demo-figure", state="attached",
                                    timeout=60_000)

    def shutdown_kernel(self):
        """Stop this notebook's kernel (its session) once its widgets are done."""
        try:
            for session in self.lab.api("GET", "/api/sessions"):
                if session.get("path", "").endswith(self.rel):
                    self.lab.api("DELETE", f"/api/sessions/{session['id']}")
        except Exception:  # noqa: BLE001 - the server stops everything at the end anyway
            pass

    def poll(self) -> bool:
        """True once the run has finished (every prompt numbered, the kernel idle twice
        in a row); raises on the timeout."""
        state = self.page.evaluate(_BUSY_JS)
        now = time.monotonic()
        if state.startswith("idle"):
            # Idle with every cell numbered, twice in a row; idle with cells left for
            # 10 s means the run stopped (an error): the check then says which cells.
            self._idle_since = getattr(self, "_idle_since", None) or now
            if (state == "idle" and getattr(self, "_idle_polls", 0) >= 1) \
                    or now - self._idle_since > 10:
                self.result["run_all_s"] = round(now - self.started, 1)
                self.done = True
                return True
            self._idle_polls = getattr(self, "_idle_polls", 0) + 1
        else:
            self._idle_since, self._idle_polls = None, 0
        if time.monotonic() - self.started > RUN_ALL_TIMEOUT_S:
            raise TimeoutError(f"{self.rel}: Run All did not finish within "
                               f"{RUN_ALL_TIMEOUT_S} s (state {state})")
        return False

    def save_and_check(self):
        path = self.lab.root / self.rel
        before = path.stat().st_mtime_ns
        _menu(self.page, "File", "Save Notebook")
        deadline = time.monotonic() + 30
        while path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.rel}: saving did not reach the disk within 30 s")
            time.sleep(0.2)
        time.sleep(0.5)  # the write may still be in progress
        nb = json.loads(path.read_text())
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            tags = cell.get("metadata", {}).get("tags", [])
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and "raises-exception" not in tags:
                    self.result["errors"].append(
                        f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            if not cell.get("outputs") and cell.get("execution_count") is None \
                    and "".join(cell["source"]).strip():
                self.result["errors"].append(f"cell {index} was not executed")
        text = self.page.locator(".jp-NotebookPanel").first.text_content(timeout=10_000)
        for marker in ("Error displaying widget", "Loading widget..."):
            if marker in text:
                self.result["errors"].append(f"a widget shows '{marker}'")
        for message in self.page_errors:
            self.result["errors"].append(f"page error: {message}")

    def move_widgets(self):
        page = self.page
        count = page.locator(".course-demo").count()
        for i in range(count):
            box = page.locator(".course-demo").nth(i)
            box.scroll_into_view_if_needed(timeout=10_000)
            # Rendered once on screen (content-visibility skips off-screen cells).
            page.wait_for_function(
                "(i) => document.querySelectorAll('.course-demo')[i]"
                ".getBoundingClientRect().height > 0", arg=i, timeout=10_000)
            page.wait_for_timeout(300)
            kind = _kind_from_classes(box)
            entry = {"index": i, "kind": kind, "control": None, "latency_ms": [],
                     "error": None}
            self.result["widgets"].append(entry)
            try:
                for move in range(MOVES):
                    latency = self._move_once(box, i, move, entry)
                    entry["latency_ms"].append(round(latency, 1))
            except Exception as exc:  # noqa: BLE001 - recorded as this widget's failure
                entry["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                self.result["errors"].append(f"widget {i} ({entry['control']}): "
                                             f"{entry['error']}")

    def _move_once(self, box, i: int, move: int, entry: dict) -> float:
        page = self.page
        controls = box.locator(".widget-hbox").first.locator(
            ".widget-slider, .widget-dropdown, .widget-toggle-buttons")
        first = controls.first
        classes = first.get_attribute("class") or ""
        # textContent, not innerText: off-screen cells are not rendered
        # (content-visibility), and innerText is empty there.
        label = first.locator(".widget-label").first.text_content(timeout=5_000).strip()
        if not page.evaluate(_ARM_JS, i):
            raise RuntimeError(page.evaluate("() => window.__probe.error"))
        if "widget-slider" in classes:
            entry["control"] = f"slider '{label}'"
            readout = first.locator(".widget-readout")
            before = readout.text_content(timeout=5_000)
            handle = first.locator(".noUi-handle")
            # Cells above may still be laid out as they come into view: aim only once
            # the handle itself is what lies under the pointer.
            for _ in range(10):
                handle.scroll_into_view_if_needed(timeout=5_000)
                page.wait_for_timeout(150)
                track = first.locator(".noUi-target").bounding_box()
                grip = handle.bounding_box()
                x = grip["x"] + grip["width"] / 2
                y = grip["y"] + grip["height"] / 2
                if handle.evaluate("(el, [x, y]) => el.contains(document.elementFromPoint(x, y))",
                                   [x, y]):
                    break
            else:
                raise RuntimeError("the slider's handle never came under the pointer")
            position = (x - track["x"]) / max(track["width"], 1.0)
            direction = 1 if position < 0.6 else -1
            # Drag in small steps until the value changes (a selection slider with few
            # options needs a long way), then release.
            page.mouse.move(x, y)
            page.mouse.down()
            changed = False
            for k in range(1, 21):
                page.mouse.move(x + direction * k * 0.05 * track["width"], y)
                if readout.text_content(timeout=5_000) != before:
                    changed = True
                    break
            page.mouse.up()
            if not changed:
                raise RuntimeError(f"dragging the slider did not change its value ({before})")
        elif "widget-dropdown" in classes:
            entry["control"] = f"dropdown '{label}'"
            select = first.locator("select")
            options = select.locator("option").all_inner_texts()
            current = select.evaluate("el => el.selectedIndex")
            select.select_option(index=(current + 1) % len(options))
        else:
            entry["control"] = f"buttons '{label}'"
            buttons = first.locator("button")
            n = buttons.count()
            active = next(k for k in range(n)
                          if "mod-active" in (buttons.nth(k).get_attribute("class") or ""))
            buttons.nth((active + 1) % n).click()
        page.wait_for_function("() => window.__probe.end !== null",
                               timeout=PICTURE_TIMEOUT_S * 1000)
        probe = page.evaluate("() => window.__probe")
        # The kernel's own time for the callback (maths and drawing), from the status
        # line the widget shows, to tell it apart from transport and the browser.
        try:
            page.wait_for_function(
                "(i) => /\\d+ ms/.test(document.querySelectorAll('.course-demo')[i]"
                ".querySelectorAll('.widget-hbox')[1].textContent)", arg=i, timeout=5_000)
            status = box.locator(".widget-hbox").nth(1).text_content(timeout=5_000)
            entry.setdefault("kernel_ms", []).append(
                float(re.search(r"(\d+) ms", status).group(1)))
        except Exception:  # noqa: BLE001 - the kernel time is informative only
            pass
        if probe["error"]:
            raise RuntimeError(probe["error"])
        if probe["start"] is None:
            raise RuntimeError("the control's release was not seen")
        if probe.get("computing") is not None and probe.get("arrived") is not None:
            entry.setdefault("phases_ms", []).append(
                [round(probe["computing"] - probe["start"], 1),
                 round(probe["arrived"] - probe["computing"], 1),
                 round(probe["end"] - probe["arrived"], 1)])
        return probe["end"] - probe["start"]

    def fail_artifacts(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=str(ARTIFACTS / f"{_slug(self.rel)}.png"),
                                 full_page=False, timeout=15_000)
        except Exception:  # noqa: BLE001 - the screenshot is a courtesy
            pass

    def close(self):
        try:
            self.page.close()
        except Exception:  # noqa: BLE001
            pass


def _kind_from_classes(box):
    classes = (box.get_attribute("class") or "").split()
    for kind in BUDGET_MS:
        if f"course-demo-{kind}" in classes:
            return kind
    return None


# -- the whole run ----------------------------------------------------------------------------
def notebook_list(only: list[str] | None) -> list[str]:
    rels = [f"solutions/{p.name}" for p in sorted((REPO / "solutions").glob("*.ipynb"))]
    rels += [f"notebooks/{name}" for name in STUDENT if (REPO / "notebooks" / name).exists()]
    if only:
        rels = [r for r in rels if any(o in r for o in only)]
    return rels


def summarise(result: dict) -> list[dict]:
    rows = []
    for nb in result["notebooks"]:
        if not nb["widgets"]:
            rows.append({"notebook": nb["notebook"], "run_all_s": nb["run_all_s"],
                         "widget": "—", "kind": "", "median_ms": None, "worst_ms": None,
                         "budget_ms": None, "ok": not nb["errors"]})
        for w in nb["widgets"]:
            lat = w["latency_ms"]
            budget = BUDGET_MS.get(w["kind"] or "", None)
            median = round(statistics.median(lat), 1) if lat else None
            rows.append({"notebook": nb["notebook"], "run_all_s": nb["run_all_s"],
                         "widget": w["control"] or f"widget {w['index']}",
                         "kind": w["kind"] or "", "median_ms": median,
                         "worst_ms": round(max(lat), 1) if lat else None,
                         "budget_ms": budget,
                         "ok": (w["error"] is None and median is not None
                                and (budget is None or median <= budget))})
    return rows


def run(only=None, port=None, parallel=2, headed=False, log=print) -> dict:
    """Run the check; returns the result dict (also written to ``browser.json``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise Missing("the playwright package is missing from ./.venv: run 'make install' "
                      "(it installs the 'browser' extra)") from exc
    chromium = find_chromium()
    rels = notebook_list(only)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="course-browser-"))
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, tmp / folder)
    lab = Lab(tmp, port, ARTIFACTS / "jupyterlab.log")
    result = {"notebooks": [], "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "chromium": chromium, "ok": False}
    t0 = time.monotonic()
    runs: list[NotebookRun] = []
    try:
        lab.start()
        log(f"JupyterLab on {lab.base} (log: {lab.log_path.relative_to(REPO)})")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=not headed,
                                        args=CHROMIUM_FLAGS, timeout=60_000)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(60_000)
            # Phase 1: Run All, `parallel` notebooks at a time.
            queue, active = list(rels), []
            while queue or active:
                while queue and len(active) < parallel:
                    nb = NotebookRun(context, lab, queue.pop(0))
                    runs.append(nb)
                    try:
                        nb.open_and_run_all()
                        active.append(nb)
                    except Exception as exc:  # noqa: BLE001
                        nb.result["errors"].append(f"could not open or run: {exc}")
                        nb.fail_artifacts()
                        nb.close()
                for nb in list(active):
                    try:
                        finished = nb.poll()
                    except Exception as exc:  # noqa: BLE001
                        nb.result["errors"].append(str(exc).splitlines()[0])
                        nb.fail_artifacts()
                        nb.close()
                        active.remove(nb)
                        continue
                    if finished:
                        active.remove(nb)
                        try:
                            nb.save_and_check()
                        except Exception as exc:  # noqa: BLE001
                            nb.result["errors"].append(f"save/check: {exc}")
                        if nb.result["errors"]:
                            nb.fail_artifacts()
                        # Its page closes (the kernel keeps running): pages left open
                        # keep working in the background and would slow the widget
                        # phase down.
                        nb.close()
                        log(f"  ran {nb.rel}: {nb.result['run_all_s']} s, "
                            f"{len(nb.result['errors'])} error(s)")
                time.sleep(0.5)
            # Phase 2: the widgets, one notebook at a time in the only open page, nothing
            # else running.
            for nb in runs:
                if nb.done and not nb.result["errors"]:
                    try:
                        nb.reopen(context)
                    except Exception as exc:  # noqa: BLE001
                        nb.result["errors"].append(f"reopening for the widgets: {exc}")
                        nb.fail_artifacts()
                        nb.close()
                        nb.shutdown_kernel()
                        continue
                    nb.move_widgets()
                    lat = [x for w in nb.result["widgets"] for x in w["latency_ms"]]
                    ker = [x for w in nb.result["widgets"] for x in w.get("kernel_ms", [])]
                    phases = [x for w in nb.result["widgets"] for x in w.get("phases_ms", [])]
                    log(f"  widgets of {nb.rel}: {len(nb.result['widgets'])}, "
                        f"latencies {lat} ms (kernel callback {ker} ms; to the kernel, "
                        f"to the picture, to the screen: {phases})")
                    for message in nb.page_errors:
                        nb.result["errors"].append(f"page error: {message}")
                    if nb.result["errors"]:
                        nb.fail_artifacts()
                    nb.close()
                    nb.shutdown_kernel()
            context.close()
            browser.close()
    finally:
        lab.shutdown_kernels()
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result["notebooks"] = [nb.result for nb in runs]
    result["seconds"] = round(time.monotonic() - t0, 1)
    result["rows"] = summarise(result)
    result["ok"] = bool(runs) and all(not nb.result["errors"] for nb in runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "browser.json").write_text(json.dumps(result, indent=1))
    return result


def markdown_table(rows: list[dict]) -> str:
    lines = ["| notebook | Run All in the browser (s) | widget | kind | median (ms) | "
             "worst (ms) | budget (ms) | ok |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['notebook']} | {r['run_all_s']} | {r['widget']} | {r['kind']} | "
                     f"{r['median_ms']} | {r['worst_ms']} | {r['budget_ms']} | "
                     f"{'✔' if r['ok'] else '✘'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="notebooks whose path contains one of these")
    parser.add_argument("--port", type=int, default=None, help="JupyterLab's port "
                        "(default: a free one)")
    parser.add_argument("--parallel", type=int, default=2,
                        help="notebooks running at once in phase 1")
    parser.add_argument("--headed", action="store_true", help="show the browser (needs a screen)")
    parser.add_argument("--no-site", action="store_true", help="skip the course site check")
    args = parser.parse_args(argv)
    try:
        result = run(args.only, args.port, args.parallel, args.headed)
    except Missing as exc:
        print(f"test-browser: {exc}", file=sys.stderr)
        return 2
    print(markdown_table(result["rows"]))
    print(f"\n{len(result['notebooks'])} notebooks in {result['seconds']} s; "
          f"results in {(RESULTS / 'browser.json').relative_to(REPO)}")
    failures = [(nb["notebook"], e) for nb in result["notebooks"] for e in nb["errors"]]
    for rel, error in failures:
        print(f"FAIL {rel}: {error}", file=sys.stderr)
    status = 0 if result["ok"] else 1
    if not args.no_site:
        site = subprocess.run([sys.executable, str(REPO / "docs" / "check_site.py")])
        status = status or site.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
