"""The library works offline: every module imports and every bundled image and weight loads
with sockets disabled; the test session itself refuses outbound connections."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: modules already imported by other tests would not execute
# their import-time code again, which is exactly what must be checked.
OFFLINE_SCRIPT = textwrap.dedent("""
    import importlib, json, pkgutil, socket

    class OfflineSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            raise OSError("sockets are disabled in this test")

    def refuse(*args, **kwargs):
        raise OSError("sockets are disabled in this test")

    socket.socket = OfflineSocket
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import course_utils
    modules = sorted(info.name for info in pkgutil.walk_packages(course_utils.__path__,
                                                                  "course_utils.")
                     if not info.name.endswith("__main__"))  # __main__ would run a command
    for name in modules:
        importlib.import_module(name)

    images = {}
    if importlib.util.find_spec("course_utils.data") is not None:
        from course_utils import data
        for name in getattr(data, "IMAGE_NAMES", ()):
            x = data.load_image(name)
            images[name] = [list(x.shape), float(x.min()), float(x.max())]

    weights = []
    if importlib.util.find_spec("course_utils.weights") is not None:
        from course_utils import weights as w
        for name in sorted(w.registry()):
            state = w.load_state_dict(name)
            weights.append([name, len(state)])

    try:
        socket.create_connection(("0.0.0.0", 9), timeout=1)
        guard = "connected"
    except OSError as exc:
        guard = str(exc)
    print(json.dumps({"modules": modules, "images": images, "weights": weights,
                      "guard": guard}))
""")


@pytest.fixture(scope="module")
def offline_run():
    result = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"offline import failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sockets_really_disabled_in_the_offline_run(offline_run):
    assert offline_run["guard"] == "sockets are disabled in this test"


def test_every_module_imports_offline(offline_run):
    expected = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in (REPO / "course_utils").rglob("*.py")
        if p.name != "__main__.py" and "__pycache__" not in p.parts
        and p.parent.joinpath("__init__.py").exists())
    expected = [name for name in expected if name != "course_utils"]
    assert expected, "no course_utils submodules found"
    assert offline_run["modules"] == expected


def test_bundled_images_load_offline(offline_run):
    images = offline_run["images"]
    try:
        from course_utils import data
    except ImportError:
        pytest.skip("course_utils.data not present")
    assert sorted(images) == sorted(data.IMAGE_NAMES)
    for name, (shape, low, high) in images.items():
        assert len(shape) == 2 and min(shape) >= 16, f"{name}: shape {shape}"
        assert 0.0 <= low < high <= 1.0, f"{name}: range [{low}, {high}]"


def test_shipped_weights_load_offline(offline_run):
    for name, num_tensors in offline_run["weights"]:
        assert num_tensors > 0, f"weights {name!r} loaded an empty state_dict"


def test_session_guard_refuses_outbound_connections():
    """tests/conftest.py installs a guard for the whole session.

    The probes use the unspecified addresses 0.0.0.0 and ::, which the guard refuses like
    any non-loopback address but which Linux would route to this machine anyway: even
    without the guard, no packet would leave it.
    """
    with pytest.raises(ConnectionRefusedError, match="network access is disabled"):
        socket.create_connection(("0.0.0.0", 9), timeout=1)
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:  # no IPv6 on this machine: nothing to guard
        return
    with sock, pytest.raises(ConnectionRefusedError, match="network access is disabled"):
        sock.connect_ex(("::", 9, 0, 0))


def test_session_guard_allows_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            conn, _ = server.accept()
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            conn.close()
    left, right = socket.socketpair()  # Unix sockets stay allowed
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
