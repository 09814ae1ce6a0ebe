"""nbgitpuller links: one click pulls the course into the student's home and opens a notebook.

    python deploy/pull_link.py https://hub.example.org https://github.com/ORG/REPO \
        01_least_squares.ipynb [--branch main] [--dir REPO]

prints

    https://hub.example.org/hub/user-redirect/git-pull?repo=https://github.com/ORG/REPO
        &branch=main&urlpath=lab/tree/REPO/notebooks/01_least_squares.ipynb

(one line). The first click clones the repository into ``~/REPO`` (the repository's name,
or ``--dir``); later clicks pull new commits and merge them with the student's edits,
which always win. The student notebooks are in ``REPO/notebooks/``.
"""
from __future__ import annotations

import argparse
from urllib.parse import quote, urlsplit

__all__ = ["default_dir", "pull_link"]


def default_dir(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into: its last path component without .git."""
    path = urlsplit(repo).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".git"):
        name = name[: -len(".git")]
    if not name:
        raise ValueError(f"repo: cannot tell a folder name from {repo!r}")
    return name


def _quote(value: str) -> str:
    # Slashes and colons stay readable; '&', '?', '#', spaces and the rest are escaped.
    return quote(value, safe="/:")


def pull_link(hub: str, repo: str, notebook: str = "01_least_squares.ipynb", *,
              branch: str = "main", directory: str | None = None,
              app: str = "lab") -> str:
    """The nbgitpuller link that clones ``repo`` into ``~/<directory>`` on ``hub`` and
    opens ``<directory>/notebooks/<notebook>`` in JupyterLab (``app="lab"``) or the
    classic notebook interface (``app="tree"``).

    ``hub`` is the hub's address (``https://hub.example.org``), ``directory`` defaults to
    the repository's name. A ``directory`` other than that name is passed to
    nbgitpuller as ``targetpath``.
    """
    for name, value in (("hub", hub), ("repo", repo), ("notebook", notebook),
                        ("branch", branch)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    if not hub.startswith(("http://", "https://")):
        raise ValueError(f"hub: expected an http(s) address, got {hub!r}")
    if app not in ("lab", "tree"):
        raise ValueError(f"app: expected 'lab' or 'tree', got {app!r}")
    clone_dir = default_dir(repo)
    directory = directory or clone_dir
    urlpath = f"{app}/tree/{directory}/notebooks/{notebook}" if app == "lab" \
        else f"tree/{directory}/notebooks/{notebook}"
    query = [("repo", repo), ("branch", branch), ("urlpath", urlpath)]
    if directory != clone_dir:
        query.append(("targetpath", directory))
    return (hub.rstrip("/") + "/hub/user-redirect/git-pull?"
            + "&".join(f"{key}={_quote(value)}" for key, value in query))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hub", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("repo", help="the course repository, e.g. https://github.com/ORG/REPO")
    parser.add_argument("notebook", nargs="?", default="01_least_squares.ipynb",
                        help="the notebook to open (default: %(default)s)")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--dir", dest="directory", default=None,
                        help="folder in the student's home (default: the repository's name)")
    parser.add_argument("--app", choices=("lab", "tree"), default="lab")
    args = parser.parse_args(argv)
    print(pull_link(args.hub, args.repo, args.notebook, branch=args.branch,
                    directory=args.directory, app=args.app))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
