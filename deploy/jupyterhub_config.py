# JupyterHub for a class on one server: "Inverse Problems in Imaging".
#
# One Unix account per student, one Jupyter server per student running as that account
# (so students cannot read each other's homes), JupyterLab as the start page, per-student
# memory and CPU limits, idle servers and kernels stopped, and the course environment
# (with nbgitpuller) as every student's Python. deploy/README.md explains the set-up.
#
# Two ways to use this file:
#
# * Plain JupyterHub on a server (run as root, from the folder that keeps the hub's
#   database, e.g. /srv/jupyterhub):
#       COURSE_HUB_ADMINS=alice COURSE_HUB_STUDENTS_FILE=/srv/jupyterhub/students.txt \
#           jupyterhub -f /path/to/course/deploy/jupyterhub_config.py
#   Students log in with their Unix password (PAM). Limits are enforced when
#   jupyterhub-systemdspawner is installed (systemd runs each server in its own unit);
#   without it the servers run as plain processes and the limits are only advisory.
#
# * The Littlest JupyterHub (TLJH): copy this file to /opt/tljh/config/jupyterhub_config.d/
#   and run `sudo tljh-config reload`. TLJH keeps its own authenticator, spawner and
#   limits (set them with `tljh-config set limits.memory 2G` and `limits.cpu 1`); this
#   file then only adds the course settings (start page, threads, idle culling of kernels).
#
# Every setting an instructor is likely to change is read from an environment variable
# (COURSE_HUB_...) with the default shown next to it, so the file itself need not be edited.
# `make test-hub` (deploy/test_hub.py) starts a hub with this file and three students.
import importlib.util
import os
import sys

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)


def _setting(name, default):
    """COURSE_HUB_<NAME> from the environment, else the default."""
    return os.environ.get(f"COURSE_HUB_{name}", default)


# --- per-student resources ------------------------------------------------------------------
# Measured by `make test-hub`: a student who has run notebooks 01 and 03 and keeps both
# open (the Jupyter server and two kernels) peaks at about 0.8 GiB and uses about 30 CPU
# seconds (the table is in deploy/README.md). 2 GiB leaves room for a heavier notebook or
# a third open kernel; students compute in bursts, so 1 CPU each is plenty.
# (Under TLJH the limits come from tljh-config, and CPU_LIMIT only sets the threads.)
MEM_LIMIT = _setting("MEM_LIMIT", "2G")
CPU_LIMIT = float(_setting("CPU_LIMIT", "1"))
# A student's server is stopped after this many seconds without activity (their files
# stay); a kernel idle this long is shut down inside a running server.
IDLE_TIMEOUT = int(_setting("IDLE_TIMEOUT", "3600"))

# The Python environment that has the course installed (pip install -e . or
# environment.yml), jupyterhub-singleuser and nbgitpuller. Default: the one running the hub.
COURSE_ENV = _setting("ENV", sys.prefix)

IN_TLJH = any(name == "tljh" or name.startswith("tljh.") for name in sys.modules)

# --- what every student's server does --------------------------------------------------------
c.Spawner.default_url = "/lab"        # JupyterLab (nbgitpuller links choose the notebook)
c.Spawner.notebook_dir = "~"          # the student's home: nbgitpuller clones into it
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
# BLAS and PyTorch start one thread per core of the machine unless told otherwise: with
# 30 students on a 16-core server that is 480 busy threads. One thread per CPU of the limit.
_threads = str(max(1, int(CPU_LIMIT)))
c.Spawner.environment = {
    "OMP_NUM_THREADS": _threads,
    "OPENBLAS_NUM_THREADS": _threads,
    "MKL_NUM_THREADS": _threads,
}
# Inside each server: shut down kernels idle for IDLE_TIMEOUT (a forgotten kernel of
# notebook 03 holds several hundred MB), checked every 5 minutes.
c.Spawner.args = [
    f"--MappingKernelManager.cull_idle_timeout={IDLE_TIMEOUT}",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
]

if not IN_TLJH:
    c.Spawner.mem_limit = MEM_LIMIT
    c.Spawner.cpu_limit = CPU_LIMIT

    # --- the hub itself ----------------------------------------------------------------------
    c.JupyterHub.bind_url = _setting("BIND_URL", "http://:8000")
    # Put TLS in front (nginx, Caddy) or set c.JupyterHub.ssl_key / ssl_cert here.

    # --- who may log in: system users ------------------------------------------------------
    # PAM: students log in with the password of their Unix account.
    c.JupyterHub.authenticator_class = "pam"
    c.Authenticator.admin_users = {
        name.strip() for name in _setting("ADMINS", "").split(",") if name.strip()}
    _students_file = _setting("STUDENTS_FILE", "")
    if _students_file:
        with open(_students_file, encoding="utf-8") as fh:
            c.Authenticator.allowed_users = {
                line.strip() for line in fh if line.strip() and not line.startswith("#")}
    # Users added on the admin page get a Unix account with a private home (0700).
    c.LocalAuthenticator.create_system_users = True
    c.LocalAuthenticator.add_user_cmd = ["useradd", "-m", "-K", "HOME_MODE=0700", "USERNAME"]

    # --- one server per student, as that student ---------------------------------------------
    _singleuser = os.path.join(COURSE_ENV, "bin", "jupyterhub-singleuser")
    c.Spawner.cmd = [_singleuser]
    if importlib.util.find_spec("systemdspawner") is None:
        # Plain processes: isolation by Unix permissions, but mem_limit / cpu_limit are
        # not enforced (only passed to the server as MEM_LIMIT / CPU_LIMIT). For enforced
        # limits: pip install jupyterhub-systemdspawner.
        c.JupyterHub.spawner_class = "localprocess"
    else:
        # Each server in its own systemd unit: MemoryMax and CPUQuota from the limits
        # above, a private /tmp, no devices, no sudo.
        c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
        c.SystemdSpawner.dynamic_users = False
        c.SystemdSpawner.isolate_tmp = True
        c.SystemdSpawner.isolate_devices = True
        c.SystemdSpawner.disable_user_sudo = True

    # --- stop idle servers -----------------------------------------------------------------
    # jupyterhub-idle-culler (pip install jupyterhub-idle-culler) stops a student's server
    # after IDLE_TIMEOUT without activity; their files stay in their home.
    if importlib.util.find_spec("jupyterhub_idle_culler") is not None:
        c.JupyterHub.services = [{
            "name": "idle-culler",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                        f"--timeout={IDLE_TIMEOUT}"],
        }]
        c.JupyterHub.load_roles = [{
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }]
