"""The classroom deployment in deploy/: configuration files and the hub test's helpers.

Fast: no hub is started here (``make test-hub`` does that).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import types
from pathlib import Path

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_deploy_{name}", DEPLOY / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hub_test = _load("test_hub")
pull = _load("pull_link")


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("COURSE_HUB_"):
            monkeypatch.delenv(key)
    return monkeypatch


def load_config(path: Path = DEPLOY / "jupyterhub_config.py"):
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


@pytest.fixture(scope="module")
def values():
    with open(DEPLOY / "z2jh-values.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# --- deploy/jupyterhub_config.py ---------------------------------------------------------

def test_config_defaults(clean_env):
    c = load_config()
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.notebook_dir == "~"
    assert hub_test.parse_size(c.Spawner.mem_limit) == 2 * 2**30
    assert c.Spawner.cpu_limit == 1.0
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "1"
    assert c.Spawner.environment["OPENBLAS_NUM_THREADS"] == "1"
    assert "--MappingKernelManager.cull_idle_timeout=3600" in c.Spawner.args
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.LocalAuthenticator.create_system_users is True
    assert "HOME_MODE=0700" in c.LocalAuthenticator.add_user_cmd
    assert c.JupyterHub.spawner_class in ("localprocess", "systemdspawner.SystemdSpawner")
    assert c.Spawner.cmd == [os.path.join(sys.prefix, "bin", "jupyterhub-singleuser")]


def test_config_reads_the_instructors_settings(clean_env, tmp_path):
    students = tmp_path / "students.txt"
    students.write_text("# class of 2025\nada\n\ngrace\n")
    clean_env.setenv("COURSE_HUB_MEM_LIMIT", "3G")
    clean_env.setenv("COURSE_HUB_CPU_LIMIT", "2")
    clean_env.setenv("COURSE_HUB_ADMINS", "alice, bob")
    clean_env.setenv("COURSE_HUB_STUDENTS_FILE", str(students))
    clean_env.setenv("COURSE_HUB_ENV", "/opt/course")
    c = load_config()
    assert c.Spawner.mem_limit == "3G" and c.Spawner.cpu_limit == 2.0
    assert c.Spawner.environment["MKL_NUM_THREADS"] == "2"
    assert c.Authenticator.admin_users == {"alice", "bob"}
    assert c.Authenticator.allowed_users == {"ada", "grace"}
    assert c.Spawner.cmd == ["/opt/course/bin/jupyterhub-singleuser"]


def test_config_under_tljh_keeps_tljh_in_charge(clean_env, monkeypatch):
    """Copied into TLJH's jupyterhub_config.d, the file leaves the authenticator,
    spawner, command and limits to TLJH and adds only the course's settings."""
    monkeypatch.setitem(sys.modules, "tljh", types.ModuleType("tljh"))
    c = load_config()
    assert c.Spawner.default_url == "/lab"
    for section, key in (("JupyterHub", "authenticator_class"), ("JupyterHub", "spawner_class"),
                         ("Spawner", "cmd"), ("JupyterHub", "bind_url"),
                         ("Spawner", "mem_limit"), ("Spawner", "cpu_limit")):
        assert key not in c[section], f"{section}.{key} is set under TLJH"


# --- deploy/z2jh-values.yaml --------------------------------------------------------------

def test_helm_values_resources(values, clean_env):
    user = values["singleuser"]
    memory, cpu = user["memory"], user["cpu"]
    assert hub_test.parse_size(memory["guarantee"]) <= hub_test.parse_size(memory["limit"])
    assert 0 < cpu["guarantee"] <= cpu["limit"]
    # Both deployments give a student the same memory.
    assert hub_test.parse_size(memory["limit"]) == \
        hub_test.parse_size(load_config().Spawner.mem_limit)
    assert hub_test.deploy_limits() == {"jupyterhub_config.py": 2 * 2**30,
                                        "z2jh-values.yaml": 2 * 2**30}
    threads = str(int(cpu["limit"]))
    assert user["extraEnv"] == {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                                "MKL_NUM_THREADS": threads}


def test_helm_values_lab_culling_and_image(values):
    user = values["singleuser"]
    assert user["defaultUrl"] == "/lab"
    assert user["cmd"] == "jupyterhub-singleuser"
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    culling = user["extraFiles"]["kernel-culling"]
    assert culling["mountPath"].endswith(".json")
    assert culling["data"]["MappingKernelManager"]["cull_idle_timeout"] > 0
    text = (DEPLOY / "z2jh-values.yaml").read_text()
    assert "jupyter-repo2docker" in text and "environment.yml" in text
    assert "--target-repo-dir" in text and f"--image-name {user['image']['name']}:" in text


# --- nbgitpuller links ---------------------------------------------------------------------

def test_pull_link_documented_format():
    link = pull.pull_link("https://HUB", "https://github.com/ORG/inverse-problems-imaging")
    assert link == ("https://HUB/hub/user-redirect/git-pull?"
                    "repo=https://github.com/ORG/inverse-problems-imaging&branch=main"
                    "&urlpath=lab/tree/inverse-problems-imaging/notebooks/"
                    "01_least_squares.ipynb")
    readme = (DEPLOY / "README.md").read_text()
    assert ("https://HUB/hub/user-redirect/git-pull?repo=...&branch=main"
            "&urlpath=lab/tree/<dir>/notebooks/01_least_squares.ipynb") in readme


def test_pull_link_options():
    link = pull.pull_link("https://hub.example.org/", "https://gitlab.com/a/b.git",
                          "03_plug_and_play.ipynb", branch="fall 2025", directory="ipi")
    assert link.startswith("https://hub.example.org/hub/user-redirect/git-pull?")
    assert "repo=https://gitlab.com/a/b.git&branch=fall%202025" in link
    assert "urlpath=lab/tree/ipi/notebooks/03_plug_and_play.ipynb&targetpath=ipi" in link
    classic = pull.pull_link("https://h", "https://x/y/course", app="tree")
    assert "urlpath=tree/course/notebooks/01_least_squares.ipynb" in classic
    assert "&" not in pull.pull_link("https://h", "https://x/y?a=1&b=2").split("repo=")[1] \
        .split("&branch")[0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(hub="hub.example.org", repo="https://x/y"), "hub"),
    (dict(hub="https://h", repo=""), "repo"),
    (dict(hub="https://h", repo="https://x/y", app="voila"), "app"),
    (dict(hub="https://h", repo="https://x/"), "repo"),
])
def test_pull_link_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pull.pull_link(**kwargs)


def test_pull_link_command_line(capsys):
    assert pull.main(["https://HUB", "https://github.com/ORG/REPO"]) == 0
    assert capsys.readouterr().out.strip().endswith("urlpath=lab/tree/REPO/notebooks/"
                                                    "01_least_squares.ipynb")


# --- helpers of deploy/test_hub.py ------------------------------------------------------------

def test_choose_ports_replaces_a_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports, messages = hub_test.choose_ports({"hub": taken, "hub API": None})
    assert ports["hub"] != taken and len(set(ports.values())) == 2
    assert messages == [f"port {taken} (hub) is in use; using {ports['hub']} instead"]


def test_choose_ports_keeps_a_free_preferred_port():
    ports, messages = hub_test.choose_ports({"hub": 8000, "api": None, "proxy": None},
                                            is_free=lambda port, host: True)
    assert ports["hub"] == 8000 and messages == []
    assert len(set(ports.values())) == 3


@pytest.fixture
def open_dir():
    """A fresh folder that every user can reach (pytest's tmp_path sits in a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="hub-config-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_access_problem(open_dir):
    if hub_test.access_problem(open_dir) is not None:
        pytest.skip(f"{tempfile.gettempdir()} is not readable by others")
    private, public = open_dir / "private", open_dir / "public"
    for folder, mode in ((private, 0o700), (public, 0o755)):
        folder.mkdir()
        (folder / "f").write_text("x")
        os.chmod(folder / "f", 0o644)
        os.chmod(folder, mode)
    assert hub_test.access_problem(public / "f") is None
    assert hub_test.access_problem(private / "f") == private
    os.chmod(public / "f", 0o600)
    assert hub_test.access_problem(public / "f") == public / "f"
    assert hub_test.access_problem(open_dir / "missing") == open_dir / "missing"


def test_proc_parsers():
    status = "Name:\tpython\nUid:\t1001\t1001\t1001\t1001\nVmRSS:\t  204800 kB\n"
    assert hub_test.parse_status(status) == (1001, 200 * 2**20)
    assert hub_test.parse_status("Name:\tkthreadd\nUid:\t0\t0\t0\t0\n") == (0, 0)
    ticks = hub_test.CLOCK_TICKS
    stat = (f"4242 (python (kernel) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 "
            f"{3 * ticks} {ticks} {ticks} 0 20 0 3 0 1 2 3")
    assert hub_test.parse_stat(stat) == (17, 5.0)


def _nb(*cells):
    return {"cells": [{"cell_type": "code", "metadata": {"tags": tags}, "outputs": outputs}
                      for tags, outputs in cells]}


def _error(ename):
    return {"output_type": "error", "ename": ename, "evalue": "msg", "traceback": []}


def test_notebook_problems():
    ok = _nb((["raises-exception"], [_error("NotImplementedError")]),
             ([], [{"output_type": "stream", "name": "stdout", "text": "fine"}]),
             (["raises-exception"], []))
    assert hub_test.notebook_problems(ok) == ([], 1)
    bad = _nb((["raises-exception"], [_error("ValueError")]), ([], [_error("NameError")]))
    problems, stubs = hub_test.notebook_problems(bad)
    assert stubs == 0 and len(problems) == 2
    assert problems[0].startswith("exercise cell 0: ValueError")
    assert problems[1].startswith("cell 1: NameError")
    untagged = _nb(([], [_error("NotImplementedError")]))
    assert len(hub_test.notebook_problems(untagged)[0]) == 1


@pytest.mark.parametrize("text, expected", [
    ("2G", 2 * 2**30), ("512M", 512 * 2**20), ("1.5Gi", int(1.5 * 2**30)), ("100K", 102400),
    (1024, 1024), ("2048", 2048),
])
def test_parse_size(text, expected):
    assert hub_test.parse_size(text) == expected


def test_parse_size_rejects_nonsense():
    with pytest.raises(ValueError, match="size"):
        hub_test.parse_size("two gigs")


def test_stale_test_users():
    passwd = "\n".join([
        "root:x:0:0:root:/root:/bin/bash",
        f"ipi-s1-ab12:x:1001:1001:{hub_test.USER_MARKER} pid=111:/tmp/course-hub-x/home/a:/bin/sh",
        f"ipi-s2-cd34:x:1002:1002:{hub_test.USER_MARKER} pid=222:/tmp/course-hub-y/home/b:/bin/sh",
        "alice:x:1003:1003:Alice:/home/alice:/bin/bash",
    ])
    stale = hub_test.stale_test_users(passwd, is_alive=lambda pid: pid == 222)
    assert stale == [("ipi-s1-ab12", 1001, "/tmp/course-hub-x/home/a")]


def test_student_names_are_valid_unix_names():
    names = hub_test.student_names("0f3a")
    assert len(set(names)) == hub_test.N_STUDENTS
    for name in names:
        assert re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", name)


def _value(item):
    """A list from the config: set outright, or appended to (a LazyConfigValue)."""
    return item.get_value([]) if hasattr(item, "get_value") else item


@pytest.mark.parametrize("isolated", [True, False])
def test_overlay_config_loads_on_top_of_the_course_config(tmp_path, clean_env, isolated):
    text = hub_test.overlay_config(
        deploy_config=DEPLOY / "jupyterhub_config.py",
        ports={"hub": 40001, "hub API": 40002, "proxy API": 40003},
        proxy="/opt/chp/configurable-http-proxy", token="t" * 64, password="p" * 16,
        students=["ipi-s1-x", "ipi-s2-x"], runtime_cmd=["/env/bin/jupyterhub-singleuser"],
        runtime_env={"JUPYTER_PATH": "/stage/jupyter"}, workdir=tmp_path, isolated=isolated,
        home_base=tmp_path / "home")
    (tmp_path / "overlay.py").write_text(text)
    c = load_config(tmp_path / "overlay.py")
    assert c.JupyterHub.bind_url == "http://127.0.0.1:40001"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:40002"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:40003"
    assert c.ConfigurableHTTPProxy.command == ["/opt/chp/configurable-http-proxy"]
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.Authenticator.allowed_users == {"ipi-s1-x", "ipi-s2-x"}
    assert c.Spawner.cmd == ["/env/bin/jupyterhub-singleuser"]
    # The course's settings survive the overlay.
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "1"
    assert c.Spawner.environment["JUPYTER_PATH"] == "/stage/jupyter"
    assert "--MappingKernelManager.cull_interval=300" in c.Spawner.args
    services = _value(c.JupyterHub.services)
    assert {"name": "course-hub-test", "api_token": "t" * 64} in services
    roles = _value(c.JupyterHub.load_roles)
    assert any(r["services"] == ["course-hub-test"] and "access:servers" in r["scopes"]
               for r in roles)
    if isolated:
        assert c.JupyterHub.spawner_class == "localprocess"
    else:
        assert c.JupyterHub.spawner_class == "simple"
        assert c.SimpleLocalProcessSpawner.home_dir_template == \
            str(tmp_path / "home") + "/{username}"


def test_missing_npm_is_one_clear_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_test.shutil, "which", lambda name: None)
    with pytest.raises(hub_test.HubTestError, match="npm .* is missing"):
        hub_test.proxy_command(tmp_path / "cache")


def test_npm_error_line():
    stderr = ("npm error code ECONNREFUSED\nnpm error errno ECONNREFUSED\n"
              "npm error A complete log of this run can be found in: /root/.npm/x.log\n")
    assert hub_test.npm_error(stderr) == "npm error code ECONNREFUSED"
    assert hub_test.npm_error("npm error A complete log of this run ...\n") == "no error output"
    assert hub_test.npm_error("boom\n") == "boom"


def test_hub_cache_is_ignored():
    ignore = (DEPLOY / ".gitignore").read_text().split()
    assert ".hub-cache/" in ignore
    assert hub_test.CACHE == DEPLOY / ".hub-cache"


def test_results_table_prints(capsys):
    results = {"users": [{"user": "ipi-s1-x", "peak_rss_mib": 787.4, "cpu_s": 30.3,
                          "notebooks": {"01": {"wall_s": 15.0}, "03": {"wall_s": 64.6}}}],
               "hub_and_proxy": {"peak_rss_mib": 186.0, "cpu_s": 5.0}}
    hub_test.print_table(results)
    out = capsys.readouterr().out
    assert "| ipi-s1-x    | 787" in out and "| hub + proxy | 186" in out
    assert json.dumps(results)  # the same dict goes to benchmarks/results/hub.json
