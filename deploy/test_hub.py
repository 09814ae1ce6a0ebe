#!/usr/bin/env python3
"""make test-hub: a classroom JupyterHub on 127.0.0.1, three students at once.

    python deploy/test_hub.py [--port N] [--keep] [--stage] [--no-isolation]

What it does, all on this machine:

1. Gets ``configurable-http-proxy`` (the hub's proxy, a Node.js program) from the npm
   registry into ``deploy/.hub-cache/`` unless it is already there or on PATH.
2. Creates three Unix users (``useradd``, homes 0700 in a temporary folder, removed at
   the end) and starts JupyterHub with ``deploy/jupyterhub_config.py`` plus a test
   overlay: free ports on 127.0.0.1, a shared-password authenticator allowing the three
   students, JupyterHub's ``LocalProcessSpawner`` (each server runs as its student) with
   the course's ``.venv`` as the students' Python (through a staged copy of whatever
   part of it other users cannot read, e.g. an interpreter under /root), and a service
   token for the test.
3. For the three students at once: logs in with the password, starts their servers
   through the REST API, and, through each server's kernel API (the test plays the
   browser: sessions and kernel websockets, as JupyterLab does), copies
   ``notebooks/01_least_squares.ipynb`` and ``03_plug_and_play.ipynb`` into
   ``~/inverse-problems-imaging/notebooks/`` (where an nbgitpuller link puts them), runs
   every cell in a kernel of that student's server and saves the executed notebook there
   through the contents API. Cells tagged ``raises-exception`` (unfinished exercises)
   may raise NotImplementedError; any other error fails the test.
4. Checks isolation: every kernel runs as its student in its own home; each student's
   files are in that home only; from one student's kernel, listing, reading or writing
   another student's home raises PermissionError; one student's token is refused by
   another student's server.
5. Samples, while the notebooks run, the memory (RSS summed over the student's processes:
   server and kernels) and CPU seconds of each student, prints a table and writes
   ``benchmarks/results/hub.json``; fails when the peak does not fit, with 25% headroom,
   in the per-student memory limit of ``deploy/jupyterhub_config.py`` and
   ``deploy/z2jh-values.yaml``.

Everything is stopped and removed at the end, also on failure or Ctrl-C. Exit status 0
when every check passed, 1 with a one-line reason otherwise.

Without root, users cannot be created: the students then all run as the current user
(``SimpleLocalProcessSpawner``), isolation is NOT tested, and the run fails when the
environment variable CI is set (CI runs as root); ``--no-isolation`` asks for that mode.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
CACHE = DEPLOY / ".hub-cache"
RESULTS = REPO / "benchmarks" / "results" / "hub.json"
NOTEBOOKS = ("01_least_squares.ipynb", "03_plug_and_play.ipynb")
N_STUDENTS = 3
COURSE_DIR = "inverse-problems-imaging"   # where the nbgitpuller link clones the course
USER_MARKER = "course-hub-test"           # GECOS of the users this test creates
HEADROOM = 1.25                           # limit >= HEADROOM * measured peak
SAMPLE_EVERY_S = 0.25

# Every wait has a limit (seconds).
TIMEOUT = {
    "npm": 240,
    "hub_start": 60,
    "login": 30,
    "spawn": 120,
    "kernel_start": 90,
    "cell": 180,
    "notebook": 300,
    "request": 60,
    "stop_server": 60,
    "hub_stop": 30,
    "whole_run": 600,
}


class HubTestError(Exception):
    """A failed check or set-up step; its message is the one-line reason."""


def say(message: str) -> None:
    print(f"test-hub: {message}", flush=True)


# --- ports -----------------------------------------------------------------------------------

def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", exclude: set[int] | frozenset = frozenset()) -> int:
    """A port the kernel reports free on ``host`` (bind to 0), not in ``exclude``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port
    raise HubTestError("could not find a free port on 127.0.0.1")


def choose_ports(wanted: dict[str, int | None], host: str = "127.0.0.1",
                 is_free=port_is_free) -> tuple[dict[str, int], list[str]]:
    """One free port for each role in ``wanted`` (role -> preferred port or None).

    A preferred port that is taken is replaced by a free one, with a one-line message
    saying so; the messages are returned with the ports.
    """
    ports: dict[str, int] = {}
    messages = []
    for role, preferred in wanted.items():
        if preferred:
            if preferred not in ports.values() and is_free(preferred, host):
                ports[role] = preferred
                continue
            port = free_port(host, exclude=set(ports.values()))
            messages.append(f"port {preferred} ({role}) is in use; using {port} instead")
            ports[role] = port
        else:
            ports[role] = free_port(host, exclude=set(ports.values()))
    return ports, messages


# --- the proxy from npm ------------------------------------------------------------------------

def proxy_command(cache: Path = CACHE) -> tuple[str, str]:
    """Path and version of configurable-http-proxy: the one in ``cache``, else on PATH,
    else installed into ``cache`` from the npm registry."""
    local = cache / "node_modules" / ".bin" / "configurable-http-proxy"
    candidates = [local, shutil.which("configurable-http-proxy")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            version = _proxy_version(str(candidate))
            if version:
                return str(candidate), version
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        raise HubTestError("npm (Node.js) is missing, so configurable-http-proxy cannot be "
                           "installed: apt-get install nodejs npm, or put "
                           "configurable-http-proxy on PATH")
    node_major = _node_major(node)
    spec = "configurable-http-proxy@5" if node_major >= 20 else "configurable-http-proxy@4"
    say(f"installing {spec} from the npm registry into {_rel(cache)}")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
             "--loglevel=error", spec],
            capture_output=True, text=True, timeout=TIMEOUT["npm"])
    except subprocess.TimeoutExpired:
        raise HubTestError(f"npm install {spec} took more than {TIMEOUT['npm']} s "
                           "(is the npm registry reachable?)") from None
    version = _proxy_version(str(local)) if local.exists() else ""
    if proc.returncode != 0 or not version:
        raise HubTestError(f"npm could not install {spec} (offline?): "
                           f"{npm_error(proc.stderr)}")
    return str(local), version


def npm_error(stderr: str) -> str:
    """The telling line of npm's error output (its error code, else the first line)."""
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and "complete log of this run" not in line]
    coded = [line for line in lines if re.search(r"\b(code|errno)\b", line)]
    return (coded or lines or ["no error output"])[0]


def _node_major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def _proxy_version(command: str) -> str:
    try:
        proc = subprocess.run([command, "--version"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _rel(path: Path) -> str:
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


# --- can the students reach the course environment? --------------------------------------------

def access_problem(path: Path) -> Path | None:
    """The first part of ``path`` that users other than its owner cannot use: a folder
    on the way without the others' x bit, or the final file without the others' r bit
    (a folder at the end needs r and x). None when everybody can read ``path``.
    """
    path = Path(os.path.abspath(path))
    parts = [path, *path.parents][::-1]
    for i, part in enumerate(parts):
        try:
            mode = os.stat(part).st_mode
        except OSError:
            return part
        last = i == len(parts) - 1
        if stat.S_ISDIR(mode):
            needed = (stat.S_IXOTH | stat.S_IROTH) if last else stat.S_IXOTH
        else:
            needed = stat.S_IROTH
        if mode & needed != needed:
            return part
    return None


@dataclass
class Runtime:
    """How the students' servers run the course environment."""
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    course_source: Path = REPO          # where the students copy the notebooks from
    staged: bool = False


def _python_facts(python: Path) -> dict:
    code = ("import json, sys, sysconfig; print(json.dumps({"
            "'base_prefix': sys.base_prefix, 'version': '%d.%d' % sys.version_info[:2],"
            "'stdlib': sysconfig.get_paths()['stdlib'],"
            "'purelib': sysconfig.get_paths()['purelib'],"
            "'libdir': sysconfig.get_config_var('LIBDIR') or '',"
            "'ldlibrary': sysconfig.get_config_var('INSTSONAME') or '',"
            "'shared': bool(sysconfig.get_config_var('Py_ENABLE_SHARED')),"
            "'executable': sys.executable}))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise HubTestError(f"{python} does not run: {proc.stderr.strip()[-200:]}")
    return json.loads(proc.stdout)


def _clone_tree(src: Path, dst: Path, ignore=None) -> int:
    """Copy ``src`` to ``dst`` (hard links for files everybody may already read, when
    on the same file system; copies otherwise); every folder and file of the result is
    readable by all. Returns the bytes copied (links count 0)."""
    copied = 0
    same_device = os.stat(src).st_dev == os.stat(dst.parent).st_dev

    def copy(s, d):
        nonlocal copied
        mode = os.stat(s).st_mode
        if same_device and mode & stat.S_IROTH:
            try:
                os.link(s, d)
                return d
            except OSError:
                pass
        shutil.copy2(s, d)
        os.chmod(d, os.stat(d).st_mode | stat.S_IROTH | (stat.S_IXOTH if mode & 0o111 else 0))
        copied += os.path.getsize(d)
        return d

    shutil.copytree(src, dst, ignore=ignore, copy_function=copy, symlinks=True)
    for root, dirs, _ in os.walk(dst):
        for name in dirs:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, 0o755)
    os.chmod(dst, 0o755)
    return copied


def _why(where) -> str:
    return "--stage" if where == "--stage" else f"{where} is not readable by other users"


def _tree_size(top: Path) -> str:
    total = sum(os.lstat(os.path.join(root, name)).st_size
                for root, _, files in os.walk(top) for name in files)
    return f"{total / 2**20:.0f} MB"


STDLIB_SKIP = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip",
               "lib2to3", "config-*")


def student_runtime(venv: Path, repo: Path, stage: Path, force_stage: bool = False) -> Runtime:
    """The single-user command for the students: ``<venv>/bin/jupyterhub-singleuser``
    when everything it needs is readable by other users; otherwise a small environment
    in ``stage`` (a folder this test created) that reaches the same packages, with copies
    of (only) the parts other users cannot read."""
    facts = _python_facts(venv / "bin" / "python")
    version = facts["version"]
    real_python = Path(os.path.realpath(venv / "bin" / "python"))
    site_packages = Path(facts["purelib"])
    libpython = Path(facts["libdir"]) / facts["ldlibrary"] if facts["shared"] else None
    checks = {
        "python": [real_python, Path(facts["stdlib"]) / "os.py"]
                  + ([libpython] if libpython else []),
        "packages": [site_packages / "jupyterhub" / "__init__.py",
                     venv / "bin" / "jupyterhub-singleuser"],
        "course": [repo / "course_utils" / "__init__.py",
                   *(repo / "notebooks" / name for name in NOTEBOOKS)],
    }
    blocked = {what: next((p for p in map(access_problem, paths) if p), None)
               for what, paths in checks.items()}
    if force_stage:  # --stage: stage everything, as if nothing were readable
        blocked = {what: where or "--stage" for what, where in blocked.items()}
    if not any(blocked.values()):
        return Runtime(cmd=[str(venv / "bin" / "jupyterhub-singleuser")])

    stage.mkdir(parents=True, exist_ok=True)
    os.chmod(stage, 0o755)
    notes, env = [], {}
    # 1. The interpreter and its standard library.
    if blocked["python"]:
        where = blocked["python"]
        base = stage / "python"
        (base / "bin").mkdir(parents=True)
        (base / "lib").mkdir()
        shutil.copy2(real_python, base / "bin" / f"python{version}")
        os.chmod(base / "bin" / f"python{version}", 0o755)
        _clone_tree(Path(facts["stdlib"]), base / "lib" / f"python{version}",
                    ignore=shutil.ignore_patterns(*STDLIB_SKIP))
        if libpython:
            shutil.copy2(libpython, base / "lib" / libpython.name)
            os.chmod(base / "lib" / libpython.name, 0o755)
            env["LD_LIBRARY_PATH"] = str(base / "lib")
        home = base / "bin"
        notes.append(f"{_why(where)}: the students run a copy of "
                     f"the interpreter and its standard library ({_tree_size(base)} "
                     f"in files linked or copied) from {stage}")
    else:
        home = real_python.parent
    # 2. The packages of the course environment.
    if blocked["packages"]:
        packages = stage / "site-packages"
        _clone_tree(site_packages, packages)
        notes.append(f"{_why(blocked['packages'])}: the students "
                     f"use a copy of {site_packages} ({_tree_size(packages)} in files "
                     "linked or copied)")
    else:
        packages = site_packages
    # 3. The course itself (the editable install points into the repository).
    course_source = repo
    if blocked["course"]:
        course_source = stage / "course"
        course_source.mkdir()
        _clone_tree(repo / "course_utils", course_source / "course_utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
        _clone_tree(repo / "notebooks", course_source / "notebooks")
        notes.append(f"{_why(blocked['course'])}: the students "
                     f"use a copy of course_utils/ and notebooks/ in {course_source}")
    # A virtual environment around them: sys.prefix/share and etc are the course
    # environment's (JupyterLab's assets, server extensions).
    env_dir = stage / "venv"
    (env_dir / "bin").mkdir(parents=True)
    own_site = env_dir / "lib" / f"python{version}" / "site-packages"
    own_site.mkdir(parents=True)
    (env_dir / "pyvenv.cfg").write_text(
        f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n")
    python = env_dir / "bin" / "python"
    os.symlink(home / f"python{version}", env_dir / "bin" / f"python{version}")
    os.symlink(f"python{version}", python)
    lines = [f"import site; site.addsitedir({str(packages)!r})"]
    if course_source != repo:
        lines.insert(0, f"import sys; sys.path.insert(0, {str(course_source)!r})")
    (own_site / "course_env.pth").write_text("\n".join(lines) + "\n")
    for name in ("share", "etc"):
        if (venv / name).exists():
            os.symlink(venv / name, env_dir / name)
    # The course environment's kernel spec names its own python; this one says "python",
    # which Jupyter replaces by the server's interpreter.
    kernels = stage / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": ["python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}, indent=1))
    env["JUPYTER_PATH"] = str(stage / "jupyter")
    env["PATH"] = f"{env_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    # Whatever the umask: folders 0755, the files written here 0644 (links untouched).
    for top in (stage / "jupyter", env_dir):
        for root, dirs, files in os.walk(top):
            os.chmod(root, 0o755)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o644)
    return Runtime(cmd=[str(python), "-m", "jupyterhub.singleuser"], env=env, notes=notes,
                   course_source=course_source, staged=True)


# --- users -------------------------------------------------------------------------------------

def student_names(run_id: str, n: int = N_STUDENTS) -> list[str]:
    """Unix-safe, unique names for this run's students."""
    return [f"ipi-s{i + 1}-{run_id}" for i in range(n)]


def stale_test_users(passwd: str, is_alive) -> list[tuple[str, int, str]]:
    """(name, uid, home) of the users a previous run of this test created and did not
    remove (their GECOS names this test and a process that no longer runs)."""
    stale = []
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not fields[4].startswith(USER_MARKER):
            continue
        match = re.search(r"pid=(\d+)", fields[4])
        if match and is_alive(int(match.group(1))):
            continue
        stale.append((fields[0], int(fields[2]), fields[5]))
    return stale


def _test_process_alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"test_hub" in cmdline


def create_user(name: str, home: Path) -> int:
    """A Unix user with a private home (0700); its uid."""
    cmd = ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh",
           "--comment", f"{USER_MARKER} pid={os.getpid()}", name]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise HubTestError("useradd is missing (apt-get install passwd)") from None
    if proc.returncode != 0:
        raise HubTestError(f"useradd {name} failed: {proc.stderr.strip()}")
    os.chmod(home, 0o700)
    import pwd
    return pwd.getpwnam(name).pw_uid


def remove_user(name: str) -> str | None:
    """userdel (its processes must have ended); an error message or None."""
    for attempt in range(5):
        proc = subprocess.run(["userdel", name], capture_output=True, text=True, timeout=60)
        if proc.returncode in (0, 6):  # 6: no such user
            return None
        time.sleep(0.5 * (attempt + 1))
    return f"userdel {name}: {proc.stderr.strip()}"


# --- processes: memory and CPU from /proc --------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def parse_status(text: str) -> tuple[int, int]:
    """(real uid, resident set size in bytes) from /proc/PID/status."""
    uid, rss = -1, 0
    for line in text.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("VmRSS:"):
            parts = line.split()
            rss = int(parts[1]) * {"kB": 1024, "mB": 2**20}.get(parts[2], 1)
    return uid, rss


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and its waited-for children) from
    /proc/PID/stat."""
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    ppid = int(rest[1])
    ticks = sum(int(v) for v in rest[11:15])
    return ppid, ticks / CLOCK_TICKS


def processes() -> dict[int, tuple[int, int, int, float]]:
    """pid -> (uid, ppid, rss bytes, cpu seconds) of every process we can read."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            uid, rss = parse_status(Path(entry.path, "status").read_text())
            ppid, cpu = parse_stat(Path(entry.path, "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry.name)] = (uid, ppid, rss, cpu)
    return table


class Sampler:
    """Peak RSS (summed over a group's processes) and CPU seconds of groups of processes,
    each group chosen by a function of the process table."""

    def __init__(self, groups: dict[str, callable]):
        self.groups = groups
        self.peak = {name: 0 for name in groups}
        self.peak_procs = {name: 0 for name in groups}
        self.cpu: dict[str, dict[int, float]] = {name: {} for name in groups}
        self.samples = 0

    def sample(self) -> None:
        table = processes()
        for name, select in self.groups.items():
            pids = select(table)
            rss = sum(table[pid][2] for pid in pids)
            if rss > self.peak[name]:
                self.peak[name] = rss
                self.peak_procs[name] = len(pids)
            seen = self.cpu[name]
            for pid in pids:
                seen[pid] = max(seen.get(pid, 0.0), table[pid][3])
        self.samples += 1

    def cpu_seconds(self, name: str) -> float:
        return sum(self.cpu[name].values())

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
            except asyncio.TimeoutError:
                pass
        self.sample()


# --- notebooks -----------------------------------------------------------------------------------

def notebook_problems(nb: dict) -> tuple[list[str], int]:
    """Errors that fail the test in an executed student notebook, and the number of
    exercise stubs that raised NotImplementedError as they should.

    A cell tagged ``raises-exception`` may fail with NotImplementedError only; any error
    in any other cell is a problem.
    """
    problems, stubs = [], 0
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename, evalue = output.get("ename", "?"), output.get("evalue", "")
            if "raises-exception" in tags and ename == "NotImplementedError":
                stubs += 1
            else:
                where = "exercise cell" if "raises-exception" in tags else "cell"
                problems.append(f"{where} {index}: {ename}: {evalue[:160]}")
    return problems, stubs


def parse_size(text: str | int | float) -> int:
    """A JupyterHub / Kubernetes memory size (``2G``, ``1.5Gi``, ``512M``, bytes) in
    bytes; K, M, G, T are binary, as JupyterHub reads them."""
    if isinstance(text, (int, float)):
        return int(text)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(i?)B?\s*", str(text))
    if not match:
        raise ValueError(f"size: cannot read {text!r} (expected e.g. 2G or 512M)")
    number, unit, _ = match.groups()
    return int(float(number) * 1024 ** " KMGT".index(unit or " "))


def deploy_limits(deploy: Path = DEPLOY) -> dict[str, int]:
    """The per-student memory limits (bytes) of the two deployments in ``deploy``."""
    import yaml
    from traitlets.config.loader import PyFileConfigLoader

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("COURSE_HUB_")}
    try:
        config = PyFileConfigLoader("jupyterhub_config.py", path=str(deploy)).load_config()
    finally:
        os.environ.update(saved)
    with open(deploy / "z2jh-values.yaml", encoding="utf-8") as fh:
        values = yaml.safe_load(fh)
    return {"jupyterhub_config.py": parse_size(config.Spawner.mem_limit),
            "z2jh-values.yaml": parse_size(values["singleuser"]["memory"]["limit"])}


# --- the hub's configuration ------------------------------------------------------------------

def overlay_config(*, deploy_config: Path, ports: dict[str, int], proxy: str, token: str,
                   password: str, students: list[str], runtime_cmd: list[str],
                   runtime_env: dict[str, str], workdir: Path, isolated: bool,
                   home_base: Path) -> str:
    """The test's jupyterhub_config.py: the course's file, then what a test changes."""
    env = {"MPLBACKEND": "Agg", **runtime_env}
    lines = [
        "# Written by deploy/test_hub.py: the course's configuration plus the test's changes.",
        "c = get_config()  # noqa",
        f"load_subconfig({str(deploy_config)!r})",
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{ports['hub']}'",
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{ports['hub API']}'",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{ports['proxy API']}'",
        f"c.ConfigurableHTTPProxy.command = [{proxy!r}]",
        f"c.ConfigurableHTTPProxy.pid_file = {str(workdir / 'proxy.pid')!r}",
        f"c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(16)!r}",
        f"c.JupyterHub.db_url = 'sqlite:///' + {str(workdir / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(workdir / 'cookie_secret')!r}",
        f"c.JupyterHub.pid_file = {str(workdir / 'jupyterhub.pid')!r}",
        "c.JupyterHub.cleanup_servers = True",
        "c.JupyterHub.cleanup_proxy = True",
        "c.JupyterHub.authenticator_class = 'shared-password'",
        f"c.SharedPasswordAuthenticator.user_password = {password!r}",
        f"c.Authenticator.allowed_users = {set(students)!r}",
        "c.Authenticator.admin_users = set()",
        "c.JupyterHub.services.append({'name': 'course-hub-test', 'api_token': "
        f"{token!r}}})",
        "c.JupyterHub.load_roles.append({'name': 'course-hub-test', 'services': "
        "['course-hub-test'], 'scopes': ['admin:users', 'admin:servers', 'tokens', "
        "'list:users', 'read:users', 'access:servers']})",
        f"c.Spawner.cmd = {runtime_cmd!r}",
        "c.Spawner.ip = '127.0.0.1'",
        f"c.Spawner.start_timeout = {TIMEOUT['spawn']}",
        f"c.Spawner.environment.update({env!r})",
        "c.Spawner.args.append('--ServerApp.open_browser=False')",
    ]
    if isolated:
        lines.append("c.JupyterHub.spawner_class = 'localprocess'")
    else:
        lines += [
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = "
            f"{str(home_base) + '/{username}'!r}",
        ]
        if os.geteuid() == 0:
            lines.append("c.Spawner.args.append('--allow-root')")
    return "\n".join(lines) + "\n"


# --- talking to the hub and the servers ---------------------------------------------------------

class Client:
    """Small async HTTP client for the hub's REST API and the servers' APIs."""

    def __init__(self, base: str):
        from tornado.httpclient import AsyncHTTPClient
        self.base = base
        self.http = AsyncHTTPClient(force_instance=True, max_clients=32)

    async def request(self, method: str, path: str, *, token: str | None = None,
                      body=None, headers: dict | None = None, raw_body: str | None = None,
                      timeout: float = TIMEOUT["request"]):
        from tornado.httpclient import HTTPRequest
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"token {token}"
        data = raw_body
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = ""
        req = HTTPRequest(self.base + path, method=method, headers=h, body=data,
                          follow_redirects=False, request_timeout=timeout,
                          connect_timeout=min(timeout, 20))
        try:
            response = await self.http.fetch(req, raise_error=False)
        except Exception as exc:  # refused connection, time-out
            raise HubTestError(f"{method} {path}: {exc}") from None
        return response

    async def json(self, method: str, path: str, *, token: str, body=None,
                   expect=(200, 201, 202, 204), timeout: float = TIMEOUT["request"]):
        response = await self.request(method, path, token=token, body=body, timeout=timeout)
        if response.code not in expect:
            text = (response.body or b"").decode(errors="replace")[:200]
            raise HubTestError(f"{method} {path} answered {response.code}: {text}")
        return json.loads(response.body) if response.body else None

    def close(self):
        self.http.close()


def _cookies(response) -> dict[str, str]:
    jar = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


async def login(client: Client, name: str, password: str) -> bool:
    """Log in through the hub's login form; whether the hub accepted the password."""
    page = await client.request("GET", "/hub/login", timeout=TIMEOUT["login"])
    if page.code != 200:
        raise HubTestError(f"GET /hub/login answered {page.code}")
    cookies = _cookies(page)
    xsrf = cookies.get("_xsrf", "")
    match = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.body.decode(errors="replace"))
    if match:
        xsrf = match.group(1)
    response = await client.request(
        "POST", "/hub/login?next=", timeout=TIMEOUT["login"],
        raw_body=urlencode({"username": name, "password": password, "_xsrf": xsrf}),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    return response.code == 302 and any(k.startswith("jupyterhub-") for k in _cookies(response))


class Kernel:
    """One kernel of a student's server, driven over its websocket as JupyterLab does."""

    def __init__(self, client: Client, user: str, token: str):
        self.client, self.user, self.token = client, user, token
        self.session = uuid.uuid4().hex
        self.kernel_id = self.session_id = None
        self.ws = None

    async def start(self, path: str) -> "Kernel":
        api = f"/user/{self.user}/api"
        if path:
            model = await self.client.json(
                "POST", f"{api}/sessions", token=self.token, timeout=TIMEOUT["kernel_start"],
                body={"path": path, "name": Path(path).name, "type": "notebook",
                      "kernel": {"name": "python3"}})
            self.session_id, self.kernel_id = model["id"], model["kernel"]["id"]
        else:
            model = await self.client.json("POST", f"{api}/kernels", token=self.token,
                                           body={"name": "python3"},
                                           timeout=TIMEOUT["kernel_start"])
            self.kernel_id = model["id"]
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect
        url = (self.client.base.replace("http", "ws", 1)
               + f"{api}/kernels/{self.kernel_id}/channels?session_id={self.session}")
        request = HTTPRequest(url, headers={"Authorization": f"token {self.token}"},
                              connect_timeout=30, request_timeout=TIMEOUT["kernel_start"])
        self.ws = await asyncio.wait_for(websocket_connect(request, max_message_size=2**28),
                                         TIMEOUT["kernel_start"])
        await self._request("kernel_info_request", {}, timeout=TIMEOUT["kernel_start"])
        return self

    def _message(self, msg_type: str, content: dict, channel: str = "shell") -> dict:
        return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type,
                           "username": self.user, "session": self.session,
                           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(),
                           "version": "5.3"},
                "parent_header": {}, "metadata": {}, "content": content,
                "channel": channel, "buffers": []}

    async def _request(self, msg_type: str, content: dict, *, timeout: float,
                       on_iopub=None) -> dict:
        """Send a shell request; wait for its reply and for the kernel to be idle again."""
        message = self._message(msg_type, content)
        msg_id = message["header"]["msg_id"]
        await self.ws.write_message(json.dumps(message))
        reply, idle = None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError
            raw = await asyncio.wait_for(self.ws.read_message(), left)
            if raw is None:
                raise HubTestError(f"{self.user}: the kernel's websocket closed")
            if isinstance(raw, bytes):      # binary frames carry widget buffers
                continue
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["channel"] == "shell":
                reply = msg
            elif msg["channel"] == "iopub":
                if msg["msg_type"] == "status" and \
                        msg["content"].get("execution_state") == "idle":
                    idle = True
                elif on_iopub:
                    on_iopub(msg)
        return reply

    async def execute(self, code: str, *, allow_error: bool = False,
                      timeout: float = TIMEOUT["cell"]) -> tuple[list, dict]:
        """Run ``code``; its outputs (nbformat output nodes) and the execute_reply."""
        from nbformat.v4 import output_from_msg
        outputs, clear_next = [], [False]

        def on_iopub(msg):
            kind = msg["msg_type"]
            if kind == "clear_output":
                if msg["content"].get("wait"):
                    clear_next[0] = True
                else:
                    outputs.clear()
                return
            if kind in ("stream", "display_data", "execute_result", "error"):
                if clear_next[0]:
                    outputs.clear()
                    clear_next[0] = False
                outputs.append(output_from_msg(msg))

        reply = await self._request(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "user_expressions": {},
             "allow_stdin": False, "stop_on_error": not allow_error},
            timeout=timeout, on_iopub=on_iopub)
        return outputs, reply["content"]

    async def run_python(self, code: str) -> str:
        """Run ``code``, return what it printed; any error fails the test."""
        outputs, reply = await self.execute(code, timeout=TIMEOUT["request"])
        if reply.get("status") != "ok":
            raise HubTestError(f"{self.user}: kernel code failed: {reply.get('ename')}: "
                               f"{reply.get('evalue')}")
        return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")

    async def stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.kernel_id:
            api = f"/user/{self.user}/api"
            path = f"sessions/{self.session_id}" if self.session_id else \
                f"kernels/{self.kernel_id}"
            await self.client.request("DELETE", f"{api}/{path}", token=self.token)


@dataclass
class Student:
    name: str
    uid: int
    home: Path
    token: str = ""
    notebooks: dict = field(default_factory=dict)
    kernels: list = field(default_factory=list)


COPY_CODE = """
import json, os, pathlib, shutil
src = pathlib.Path({source!r}) / "notebooks"
dst = pathlib.Path.home() / {course_dir!r} / "notebooks"
dst.mkdir(parents=True, exist_ok=True)
for name in {notebooks!r}:
    shutil.copyfile(src / name, dst / name)
import course_utils
print(json.dumps({{"uid": os.getuid(), "home": str(pathlib.Path.home()), "cwd": os.getcwd(),
                  "copied": sorted(p.name for p in dst.iterdir()),
                  "course_utils": course_utils.__file__}}))
"""

PROBE_CODE = """
import json, os
other = {other_home!r}
result = {{}}
def attempt(what, action):
    try:
        action()
        result[what] = "allowed"
    except PermissionError:
        result[what] = "PermissionError"
    except Exception as exc:
        result[what] = type(exc).__name__
attempt("list", lambda: os.listdir(other))
attempt("read", lambda: open(os.path.join(other, {other_file!r})).read())
attempt("write", lambda: open(os.path.join(other, "intruder.txt"), "w").write("x"))
print(json.dumps(result))
"""


async def run_notebook(client: Client, student: Student, name: str) -> dict:
    """Open ``name`` from the student's copy in a new kernel of their server, run every
    cell, save the executed notebook in their home through the contents API."""
    path = f"{COURSE_DIR}/notebooks/{name}"
    api = f"/user/{student.name}/api/contents/{quote(path)}"
    model = await client.json("GET", f"{api}?content=1&type=notebook", token=student.token)
    nb = model["content"]
    kernel = await Kernel(client, student.name, student.token).start(path)
    student.kernels.append(kernel)
    start = time.monotonic()
    deadline = start + TIMEOUT["notebook"]
    count = 0
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not cell["source"].strip():
            continue
        left = deadline - time.monotonic()
        tags = cell.get("metadata", {}).get("tags", [])
        try:
            outputs, reply = await kernel.execute(
                cell["source"], allow_error="raises-exception" in tags,
                timeout=min(TIMEOUT["cell"], max(left, 1)))
        except asyncio.TimeoutError:
            raise HubTestError(f"{student.name}: {name} cell {index} did not finish in "
                               f"{min(TIMEOUT['cell'], max(left, 1)):.0f} s") from None
        count += 1
        cell["outputs"] = outputs
        cell["execution_count"] = reply.get("execution_count")
    wall = time.monotonic() - start
    nb.setdefault("metadata", {})["course_hub_test"] = {"user": student.name}
    await client.json("PUT", api, token=student.token,
                      body={"type": "notebook", "format": "json", "content": nb})
    problems, stubs = notebook_problems(nb)
    if problems:
        raise HubTestError(f"{student.name}: {name}: {problems[0]}"
                           + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    exercises = sum("raises-exception" in c.get("metadata", {}).get("tags", [])
                    for c in nb["cells"])
    say(f"{student.name} ran {name} in {wall:.1f} s: {count} code cells without error "
        f"({exercises} unfinished exercise cells, {stubs} raised NotImplementedError)")
    return {"wall_s": round(wall, 1), "code_cells": count, "exercise_cells": exercises,
            "stubs_raised": stubs}


async def wait_ready(client: Client, token: str, name: str) -> None:
    deadline = time.monotonic() + TIMEOUT["spawn"]
    while time.monotonic() < deadline:
        user = await client.json("GET", f"/hub/api/users/{name}", token=token)
        server = (user.get("servers") or {}).get("")
        if server and server.get("ready"):
            return
        if not server and not user.get("pending"):
            raise HubTestError(f"{name}'s server stopped while starting (hub log below)")
        await asyncio.sleep(0.5)
    raise HubTestError(f"{name}'s server was not ready after {TIMEOUT['spawn']} s")


async def student_session(client: Client, admin: str, password: str, student: Student,
                          source: Path) -> None:
    """Log in, start the server, copy the course, run the notebooks."""
    if not await login(client, student.name, password):
        raise HubTestError(f"{student.name} could not log in with the shared password")
    token = await client.json("POST", f"/hub/api/users/{student.name}/tokens", token=admin,
                              body={"note": "course hub test", "expires_in": 3600})
    student.token = token["token"]
    await client.json("POST", f"/hub/api/users/{student.name}/server", token=admin)
    await wait_ready(client, admin, student.name)
    # As the nbgitpuller link would: the course in ~/inverse-problems-imaging.
    setup = await Kernel(client, student.name, student.token).start("")
    try:
        facts = json.loads((await setup.run_python(COPY_CODE.format(
            source=str(source), course_dir=COURSE_DIR, notebooks=list(NOTEBOOKS)))).strip())
    finally:
        await setup.stop()
    if facts["uid"] != student.uid or Path(facts["home"]) != student.home:
        raise HubTestError(f"{student.name}'s kernel runs as uid {facts['uid']} with home "
                           f"{facts['home']}, expected {student.uid} and {student.home}")
    if Path(facts["cwd"]) != student.home:
        raise HubTestError(f"{student.name}'s kernel starts in {facts['cwd']}, not the home")
    expected = source / "course_utils" / "__init__.py"
    if Path(facts["course_utils"]) != expected:
        raise HubTestError(f"{student.name}'s kernel imports {facts['course_utils']}, "
                           f"expected {expected}")
    for name in NOTEBOOKS:
        student.notebooks[name] = await run_notebook(client, student, name)


async def probe_isolation(client: Client, students: list[Student]) -> list[str]:
    """From each student's kernel, try another student's home; and present each token to
    another student's server. Returns the failures."""
    failures = []
    for i, student in enumerate(students):
        other = students[(i + 1) % len(students)]
        kernel = await Kernel(client, student.name, student.token).start("")
        try:
            result = json.loads((await kernel.run_python(PROBE_CODE.format(
                other_home=str(other.home),
                other_file=f"{COURSE_DIR}/notebooks/{NOTEBOOKS[0]}"))).strip())
        finally:
            await kernel.stop()
        for what, outcome in result.items():
            if outcome != "PermissionError":
                failures.append(f"{student.name} tried to {what} {other.name}'s home: "
                                f"{outcome}, expected PermissionError")
        response = await client.request("GET", f"/user/{other.name}/api/status",
                                        token=student.token)
        if response.code not in (403, 404):
            failures.append(f"{other.name}'s server answered {student.name}'s token with "
                            f"{response.code}, expected 403")
    return failures


def check_homes(students: list[Student], isolated: bool) -> list[str]:
    """Each home holds its student's executed notebooks and only files of its student."""
    failures = []
    for student in students:
        for name in NOTEBOOKS:
            path = student.home / COURSE_DIR / "notebooks" / name
            if not path.exists():
                failures.append(f"{path} is missing")
                continue
            nb = json.loads(path.read_text())
            owner = nb.get("metadata", {}).get("course_hub_test", {}).get("user")
            if owner != student.name:
                failures.append(f"{path} holds the work of {owner}, not {student.name}")
            if not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"):
                failures.append(f"{path} was saved without outputs")
        if not isolated:
            continue
        for root, dirs, files in os.walk(student.home):
            for entry in dirs + files:
                p = Path(root, entry)
                if p.lstat().st_uid != student.uid:
                    failures.append(f"{p} belongs to uid {p.lstat().st_uid}, "
                                    f"not {student.name}")
        if stat.S_IMODE(student.home.stat().st_mode) & 0o077:
            failures.append(f"{student.home} is readable by others")
    return failures


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Run:
    top: Path           # the temporary folder of this run
    workdir: Path       # the hub's files (root only)
    home_base: Path
    students: list[Student] = field(default_factory=list)
    hub: subprocess.Popen | None = None
    hub_log: Path | None = None
    created_users: list[str] = field(default_factory=list)
    isolated: bool = True
    keep: bool = False


def start_hub(run: Run, config_text: str) -> None:
    config = run.workdir / "jupyterhub_config.py"
    config.write_text(config_text)
    os.chmod(config, 0o600)
    run.hub_log = run.workdir / "jupyterhub.log"
    log = open(run.hub_log, "ab")
    env = dict(os.environ)
    env.pop("JUPYTERHUB_API_TOKEN", None)
    run.hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config), "--log-level=INFO"],
        cwd=run.workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, start_new_session=True)
    log.close()


def hub_log_tail(run: Run, lines: int = 15) -> str:
    if not run.hub_log or not run.hub_log.exists():
        return ""
    text = run.hub_log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


async def wait_hub(run: Run, client: Client) -> str:
    """Wait until the hub answers through the proxy; 'ok', 'port' (a port was taken
    after all) or raise."""
    deadline = time.monotonic() + TIMEOUT["hub_start"]
    while time.monotonic() < deadline:
        if run.hub.poll() is not None:
            log = hub_log_tail(run, 40)
            if re.search(r"address already in use|EADDRINUSE", log, re.IGNORECASE):
                return "port"
            raise HubTestError(f"JupyterHub exited with status {run.hub.returncode} while "
                               "starting (hub log below)")
        try:
            response = await client.request("GET", "/hub/api/", timeout=5)
            if response.code == 200:
                return "ok"
        except HubTestError:
            pass
        await asyncio.sleep(0.3)
    raise HubTestError(f"JupyterHub did not answer within {TIMEOUT['hub_start']} s "
                       "(hub log below)")


async def classroom(run: Run, args, proxy: str, runtime: Runtime, password: str,
                    token: str) -> dict:
    """Start the hub, run the three students at once, check, measure; the results."""
    deploy_config = DEPLOY / "jupyterhub_config.py"
    wanted = {"hub": args.port, "hub API": None, "proxy API": None}
    for attempt in range(3):
        ports, messages = choose_ports(wanted)
        for message in messages:
            say(message)
        start_hub(run, overlay_config(
            deploy_config=deploy_config, ports=ports, proxy=proxy, token=token,
            password=password, students=[s.name for s in run.students],
            runtime_cmd=runtime.cmd, runtime_env=runtime.env, workdir=run.workdir,
            isolated=run.isolated, home_base=run.home_base))
        client = Client(f"http://127.0.0.1:{ports['hub']}")
        started = time.monotonic()
        status = await wait_hub(run, client)
        if status == "ok":
            break
        client.close()
        say(f"a port was taken while JupyterHub started ({', '.join(map(str, ports.values()))}); "
            "trying other ports")
        stop_hub(run)
        wanted = {role: None for role in wanted}
    else:
        raise HubTestError("JupyterHub could not bind its ports in 3 tries")
    info = await client.json("GET", "/hub/api/", token=token)
    say(f"JupyterHub {info['version']} answers on 127.0.0.1:{ports['hub']} "
        f"(hub API {ports['hub API']}, proxy API {ports['proxy API']}) after "
        f"{time.monotonic() - started:.1f} s")

    # A wrong password is refused.
    if await login(client, run.students[0].name, password + "-wrong"):
        raise HubTestError("the hub accepted a wrong password")

    hub_pid = run.hub.pid

    def proxy_pid() -> int:
        try:
            return int((run.workdir / "proxy.pid").read_text().strip())
        except (OSError, ValueError):
            return -1

    if run.isolated:
        groups = {s.name: (lambda table, uid=s.uid: {p for p, v in table.items()
                                                     if v[0] == uid})
                  for s in run.students}
    else:
        # One uid for everybody: a student's processes are their server's tree.
        groups = {s.name: (lambda table, name=s.name: {
            p for p in table if _hub_user_of(p) == name}) for s in run.students}
    groups["hub + proxy"] = lambda table: {p for p in (hub_pid, proxy_pid()) if p in table}
    sampler = Sampler(groups)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    started = time.monotonic()
    try:
        results = await asyncio.gather(
            *(student_session(client, token, password, s, runtime.course_source)
              for s in run.students), return_exceptions=True)
    finally:
        stop.set()
        await sampling
    for result in results:
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.TimeoutError):
                raise HubTestError("a kernel did not answer in time")
            raise result
    classroom_wall = time.monotonic() - started

    failures = await probe_isolation(client, run.students) if run.isolated else []
    failures += check_homes(run.students, run.isolated)
    if failures:
        raise HubTestError(failures[0] + (f" (and {len(failures) - 1} more problems)"
                                          if len(failures) > 1 else ""))
    if run.isolated:
        say("isolation: every kernel runs as its student, in that student's home; listing, "
            "reading or writing another student's home raises PermissionError; a student's "
            "token is refused by another student's server")
    else:
        say("isolation NOT tested: every student ran as the same user "
            "(SimpleLocalProcessSpawner)")

    # Stop the servers through the API, as the hub's admin page does.
    stopped_at = time.monotonic()
    await asyncio.gather(*(client.json("DELETE", f"/hub/api/users/{s.name}/server",
                                       token=token, timeout=TIMEOUT["stop_server"])
                           for s in run.students))
    for s in run.students:
        deadline = time.monotonic() + TIMEOUT["stop_server"]
        while (await client.json("GET", f"/hub/api/users/{s.name}", token=token)) \
                .get("servers"):
            if time.monotonic() > deadline:
                raise HubTestError(f"{s.name}'s server did not stop within "
                                   f"{TIMEOUT['stop_server']} s")
            await asyncio.sleep(0.3)
    if run.isolated:
        # A kernel notices that its server has gone at its next poll of the parent
        # process (about a second; longer on a busy machine): give them 20 s to exit.
        deadline = time.monotonic() + 20.0
        while True:
            left = {s.name: [p for p, v in processes().items() if v[0] == s.uid]
                    for s in run.students}
            left = {name: pids for name, pids in left.items() if pids}
            if not left:
                break
            if time.monotonic() > deadline:
                raise HubTestError(f"processes outlived their stopped servers by 20 s: "
                                   f"{left}")
            await asyncio.sleep(0.5)
    say(f"servers stopped through the REST API in {time.monotonic() - stopped_at:.1f} s")
    client.close()

    return {
        "ports": ports,
        "classroom_wall_s": round(classroom_wall, 1),
        "samples": sampler.samples,
        "users": [{
            "user": s.name,
            "peak_rss_mib": round(sampler.peak[s.name] / 2**20, 1),
            "processes_at_peak": sampler.peak_procs[s.name],
            "cpu_s": round(sampler.cpu_seconds(s.name), 1),
            "notebooks": s.notebooks,
        } for s in run.students],
        "hub_and_proxy": {"peak_rss_mib": round(sampler.peak["hub + proxy"] / 2**20, 1),
                          "cpu_s": round(sampler.cpu_seconds("hub + proxy"), 1)},
    }


def _hub_user_of(pid: int) -> str | None:
    """JUPYTERHUB_USER in the environment of ``pid`` (a server and its kernels)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for entry in env:
        if entry.startswith(b"JUPYTERHUB_USER="):
            return entry.split(b"=", 1)[1].decode(errors="replace")
    return None


def stop_hub(run: Run) -> None:
    """SIGTERM to the hub (it stops the servers and the proxy), then SIGKILL if needed."""
    if run.hub is None:
        return
    if run.hub.poll() is None:
        try:
            os.killpg(run.hub.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            run.hub.wait(TIMEOUT["hub_stop"])
        except subprocess.TimeoutExpired:
            say(f"JupyterHub did not stop within {TIMEOUT['hub_stop']} s; killing it")
    try:
        os.killpg(run.hub.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    run.hub.wait(10)
    # The proxy runs in its own session; JupyterHub normally stops it.
    try:
        pid = int((run.workdir / "proxy.pid").read_text().strip())
        if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
            _terminate([pid])
    except (OSError, ValueError):
        pass
    run.hub = None


def _terminate(pids: list[int], grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        if not alive:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in alive):
            time.sleep(0.1)
        pids = [p for p in alive if Path(f"/proc/{p}").exists()]


def remove_users_and_processes(users: list[tuple[str, int]]) -> list[str]:
    """End the processes of ``users`` (name, uid), then remove the users."""
    problems = []
    uids = {uid for _, uid in users}
    _terminate([pid for pid, v in processes().items() if v[0] in uids])
    for name, _ in users:
        problem = remove_user(name)
        if problem:
            problems.append(problem)
    return problems


def clean_stale() -> None:
    try:
        passwd = Path("/etc/passwd").read_text()
    except OSError:
        return
    stale = stale_test_users(passwd, _test_process_alive)
    if not stale:
        return
    say("removing users left by an interrupted run: "
        + " ".join(name for name, _, _ in stale))
    remove_users_and_processes([(name, uid) for name, uid, _ in stale])
    for _, _, home in stale:
        base = Path(home).parent.parent
        if base.name.startswith("course-hub-") and base.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(base, ignore_errors=True)


def cleanup(run: Run) -> list[str]:
    problems = []
    try:
        stop_hub(run)
    except Exception as exc:  # keep cleaning up
        problems.append(f"stopping JupyterHub: {exc}")
    users = [(s.name, s.uid) for s in run.students if s.name in run.created_users]
    if users:
        problems += remove_users_and_processes(users)
    if not run.keep:
        shutil.rmtree(run.top, ignore_errors=True)
    return problems


def print_table(results: dict) -> None:
    rows = [(u["user"], f"{u['peak_rss_mib']:.0f}", f"{u['cpu_s']:.1f}",
             " / ".join(f"{nb['wall_s']:.0f}" for nb in u["notebooks"].values()))
            for u in results["users"]]
    hub = results["hub_and_proxy"]
    rows.append(("hub + proxy", f"{hub['peak_rss_mib']:.0f}", f"{hub['cpu_s']:.1f}", ""))
    header = ("user", "peak memory (MiB)", "CPU seconds",
              "wall s (" + " / ".join(n[:2] for n in NOTEBOOKS) + ")")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0,
                        help="the hub's port on 127.0.0.1 (default: a free one; a port "
                             "in use is replaced by a free one)")
    parser.add_argument("--no-isolation", action="store_true",
                        help="run every student as the current user (no useradd)")
    parser.add_argument("--stage", action="store_true",
                        help="give the students a staged copy of the environment even "
                             "where they could read the original")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (hub log, homes are removed "
                             "with the users)")
    args = parser.parse_args(argv)

    began = time.monotonic()
    root = os.geteuid() == 0
    isolated = root and not args.no_isolation
    if not isolated:
        reason = "--no-isolation" if root else "not running as root"
        if os.environ.get("CI") and not args.no_isolation:
            say(f"FAILED: {reason}: users cannot be created, so isolation cannot be tested "
                "(CI must run this as root)")
            return 1
        say(f"{reason}: the students all run as {os.environ.get('USER', 'this user')} "
            "with SimpleLocalProcessSpawner; isolation is NOT tested")

    workdir = Path(tempfile.mkdtemp(prefix="course-hub-"))
    os.chmod(workdir, 0o755)
    home_base = workdir / "home"
    home_base.mkdir()
    os.chmod(home_base, 0o755)
    hubdir = workdir / "hub"
    hubdir.mkdir(mode=0o700)
    run = Run(top=workdir, workdir=hubdir, home_base=home_base, isolated=isolated,
              keep=args.keep)
    run_id = secrets.token_hex(2)
    status, reason = 1, "interrupted"

    # Ctrl-C (SIGINT) and SIGTERM stop the run; the clean-up below always runs.
    def on_signal(signum, frame):
        raise KeyboardInterrupt

    def catch_signals(handler=on_signal):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, handler)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    catch_signals()
    try:
        proxy, proxy_version = proxy_command()
        venv = REPO / ".venv" if (REPO / ".venv").exists() else Path(sys.prefix)
        if isolated or args.stage:
            runtime = student_runtime(venv, REPO, workdir / "stage", force_stage=args.stage)
        else:
            runtime = Runtime(cmd=[str(venv / "bin" / "jupyterhub-singleuser")])
        for note in runtime.notes:
            say(note)
        if isolated:
            clean_stale()
        for name in student_names(run_id):
            home = home_base / name
            if isolated:
                uid = create_user(name, home)
                run.created_users.append(name)
            else:
                home.mkdir(mode=0o700)
                uid = os.geteuid()
            run.students.append(Student(name=name, uid=uid, home=home))
        say(f"{N_STUDENTS} students ({', '.join(s.name for s in run.students)}), "
            f"configurable-http-proxy {proxy_version}, single-user command "
            f"{' '.join(runtime.cmd)}")
        password = secrets.token_urlsafe(12)
        token = secrets.token_hex(32)

        async def whole():
            # Inside the event loop a signal cancels the run, which unwinds cleanly.
            loop, task = asyncio.get_running_loop(), asyncio.current_task()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
            return await asyncio.wait_for(
                classroom(run, args, proxy, runtime, password, token), TIMEOUT["whole_run"])

        try:
            results = asyncio.run(whole())
        except asyncio.TimeoutError:
            raise HubTestError(f"the run took more than {TIMEOUT['whole_run']} s") from None
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        finally:
            catch_signals()

        limits = deploy_limits()
        peak = max(u["peak_rss_mib"] for u in results["users"]) * 2**20
        results.update({
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "isolation_tested": isolated,
            "notebooks": list(NOTEBOOKS),
            "cpu_count": os.cpu_count(),
            "memory_limits_mib": {k: round(v / 2**20) for k, v in limits.items()},
            "runtime_staged": runtime.staged,
            "proxy_version": proxy_version,
            "wall_s": round(time.monotonic() - began, 1),
        })
        print_table(results)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        for where, limit in limits.items():
            if peak * HEADROOM > limit:
                raise HubTestError(
                    f"a student peaked at {peak / 2**20:.0f} MiB: the memory limit of "
                    f"deploy/{where} ({limit / 2**20:.0f} MiB) leaves less than "
                    f"{(HEADROOM - 1) * 100:.0f}% headroom; raise it")
        status, reason = 0, ""
    except HubTestError as exc:
        reason = str(exc)
        if run.hub_log:
            for line in hub_log_tail(run, 20).splitlines():
                print(f"  hub log | {line}")
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        catch_signals(signal.SIG_IGN)   # let the clean-up finish (each step has a time limit)
        problems = cleanup(run)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status == 0 and problems:
        status, reason = 1, f"clean-up: {problems[0]}"
    elif problems:
        say(f"clean-up: {'; '.join(problems)}")
    if status:
        if run.hub_log and args.keep:
            say(f"hub log: {run.hub_log}")
        say(f"FAILED: {reason}")
        return 1
    say(f"passed in {time.monotonic() - began:.0f} s; results in {_rel(RESULTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
