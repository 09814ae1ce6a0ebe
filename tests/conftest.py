"""Test-session set-up: headless matplotlib, no network, nbval defaults and printed-value checks.

What this file does for every test run (``make test`` or a single test file):

* ``MPLBACKEND=Agg`` is set before anything imports matplotlib; notebook kernels, started
  as child processes, inherit it, so no window ever opens.
* Outbound network connections are refused. In the pytest process (and each xdist
  worker) ``socket.socket.connect``/``connect_ex`` raise ``ConnectionRefusedError`` for
  any address other than loopback (127.0.0.0/8, ::1) or a Unix socket. Notebook kernels
  run in separate processes, so the same guard is installed there by an IPython start-up
  file in a temporary ``IPYTHONDIR``. The kernel itself talks to pytest through ZeroMQ
  over loopback (C-level sockets, untouched by the guard), so nbval works unchanged.
* nbval defaults: 120 s per cell (``--nbval-cell-timeout`` still overrides it), the
  ``python3`` kernel unless ``--nbval-current-env`` or ``--nbval-kernel-name`` is given
  (``make test`` passes ``--nbval-current-env``: the kernel runs on the interpreter that
  runs pytest, i.e. ``.venv``), and ``tests/sanitize.cfg`` as sanitize file.
* Expected printed values. Committed notebooks carry no outputs, so nbval has nothing to
  compare with. Instead a code cell may carry ``metadata["course"]["expect"]``: a list of
  strings, each of which must occur in what the cell printed (stdout, plus the
  ``text/plain`` of its displayed result), either as an exact substring or as a regular
  expression (``re.search`` with ``re.MULTILINE``). The check runs after nbval has
  executed the cell and fails that cell's test with the missing expectations and what
  was printed.
"""
from __future__ import annotations

import inspect
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["MPLBACKEND"] = "Agg"

TESTS_DIR = Path(__file__).resolve().parent
SANITIZE_FILE = TESTS_DIR / "sanitize.cfg"
CELL_TIMEOUT_S = 120.0
KERNEL_NAME = "python3"
EXPECT_KEY = "expect"

# Fixture notebooks are run on purpose by the tests that use them (one of them must fail);
# a plain ``pytest tests --nbval-lax`` must not collect them.
collect_ignore_glob = [] if os.environ.get("COURSE_RUN_FIXTURES") else ["fixtures/*"]


# --- network guard ------------------------------------------------------------------------

def _install_network_guard():
    """Make ``socket.socket.connect``/``connect_ex`` refuse non-loopback addresses.

    Self-contained (its source is also written to the kernels' IPython start-up file).
    Returns a function that removes the guard.
    """
    import ipaddress
    import socket as _socket

    message = "network access is disabled during the tests"
    original_connect = _socket.socket.connect
    original_connect_ex = _socket.socket.connect_ex

    def is_loopback(sock, address):
        if sock.family not in (_socket.AF_INET, _socket.AF_INET6):
            return True  # Unix sockets, netlink, ...
        host = address[0] if isinstance(address, tuple) and address else address
        if isinstance(host, bytes):
            host = host.decode()
        if host == "localhost":
            return True
        try:
            ip = ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            return False  # a host name other than localhost would need DNS
        mapped = getattr(ip, "ipv4_mapped", None)
        return ip.is_loopback or (mapped is not None and mapped.is_loopback)

    def connect(self, address):
        if not is_loopback(self, address):
            raise ConnectionRefusedError(f"{message} (connect to {address!r})")
        return original_connect(self, address)

    def connect_ex(self, address):
        if not is_loopback(self, address):
            raise ConnectionRefusedError(f"{message} (connect to {address!r})")
        return original_connect_ex(self, address)

    _socket.socket.connect = connect
    _socket.socket.connect_ex = connect_ex

    def uninstall():
        _socket.socket.connect = original_connect
        _socket.socket.connect_ex = original_connect_ex

    return uninstall


_KERNEL_STARTUP = (
    "# Installed by tests/conftest.py: notebook kernels under test have no network.\n"
    + inspect.getsource(_install_network_guard)
    + "\n_install_network_guard()\ndel _install_network_guard\n"
)


# --- printed-value expectations -----------------------------------------------------------

def printed_text(outputs) -> str:
    """What a cell printed: its stdout streams and the ``text/plain`` of its results."""
    parts = []
    for out in outputs or []:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain")
            if text:
                parts.append(text + "\n")
    return "".join(parts)


def missing_expectations(expect, text: str) -> list[str]:
    """Expectations (substrings or regular expressions) not found in ``text``.

    Raises ``TypeError`` if ``expect`` is not a list of strings.
    """
    if not isinstance(expect, list) or not all(isinstance(e, str) for e in expect):
        raise TypeError(f"metadata['course']['{EXPECT_KEY}'] must be a list of strings, "
                        f"got {expect!r}")
    missing = []
    for pattern in expect:
        if pattern in text:
            continue
        try:
            if re.search(pattern, text, re.MULTILINE):
                continue
        except re.error:
            pass
        missing.append(pattern)
    return missing


class CourseNotebookPlugin:
    """Hooks that apply to every collected notebook cell, wherever the notebook lives.

    Registered as a plugin (not left as a conftest hook) because conftest hooks only see
    items below their own folder, and the notebooks live in ``solutions/`` and
    ``notebooks/``.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        result = yield
        if type(item).__name__ == "IPyNbCell":
            _check_cell_expectations(item)
        return result


def _check_cell_expectations(item) -> None:
    course = item.cell.get("metadata", {}).get("course") or {}
    expect = course.get(EXPECT_KEY) if isinstance(course, dict) else None
    if expect is None:
        return
    from nbval.plugin import NbCellError

    text = printed_text(getattr(item, "test_outputs", None))
    try:
        missing = missing_expectations(expect, text)
    except TypeError as exc:
        raise NbCellError(item.cell_num, str(exc), item.cell.source) from None
    if missing:
        details = ("\nExpected in the printed output but not found:\n"
                   + "\n".join(f"  {pattern!r}" for pattern in missing)
                   + "\n\nPrinted output was:\n"
                   + ("\n".join("  | " + line for line in text.splitlines()) or "  (nothing)"))
        raise NbCellError(item.cell_num,
                          f"printed output does not match metadata['course']['{EXPECT_KEY}']",
                          item.cell.source, details)


# --- session set-up -----------------------------------------------------------------------

def pytest_configure(config):
    option = config.option
    if hasattr(option, "nbval_cell_timeout"):
        if option.nbval_cell_timeout == 2000:  # nbval's default: not set on the command line
            option.nbval_cell_timeout = CELL_TIMEOUT_S
        if not option.nbval_current_env and not option.nbval_kernel_name:
            option.nbval_kernel_name = KERNEL_NAME
        if not option.nbval_sanitize_with and not getattr(option, "sanitize_with", None):
            option.nbval_sanitize_with = str(SANITIZE_FILE)
    if not config.pluginmanager.has_plugin("course-notebooks"):
        config.pluginmanager.register(CourseNotebookPlugin(), "course-notebooks")

    config._course_uninstall_guard = _install_network_guard()
    ipython_dir = tempfile.mkdtemp(prefix="course-ipython-")
    startup = Path(ipython_dir, "profile_default", "startup")
    startup.mkdir(parents=True)
    (startup / "00-no-network.py").write_text(_KERNEL_STARTUP, encoding="utf-8")
    config._course_ipython_dir = (ipython_dir, os.environ.get("IPYTHONDIR"))
    os.environ["IPYTHONDIR"] = ipython_dir


def pytest_unconfigure(config):
    uninstall = getattr(config, "_course_uninstall_guard", None)
    if uninstall is not None:
        uninstall()
    saved = getattr(config, "_course_ipython_dir", None)
    if saved is not None:
        ipython_dir, previous = saved
        if previous is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = previous
        shutil.rmtree(ipython_dir, ignore_errors=True)

