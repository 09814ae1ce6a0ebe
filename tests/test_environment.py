"""environment.yml (conda-forge, Binder) and pyproject.toml list the same packages."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]

# PyPI name (normalised) -> conda-forge name. Every dependency of pyproject.toml must be
# listed here: adding one means deciding where conda users get it from.
CONDA_NAME = {
    "numpy": "numpy",
    "scipy": "scipy",
    "scikit-image": "scikit-image",
    "pywavelets": "pywavelets",
    "matplotlib": "matplotlib-base",  # the library without the Qt back end
    "ipywidgets": "ipywidgets",
    "ipympl": "ipympl",
    "torch": "pytorch-cpu",
    "finufft": "finufft",
    "xraylib": "xraylib",
    "pytest": "pytest",
    "pytest-xdist": "pytest-xdist",
    "nbval": "nbval",
    "nbformat": "nbformat",
    "nbclient": "nbclient",
    "ipykernel": "ipykernel",
    "hypothesis": "hypothesis",
    "pyyaml": "pyyaml",
    "jupyterlab": "jupyterlab",
    "jupytext": "jupytext",
}
# Not packaged on conda-forge: installed by the pip section of environment.yml.
PIP_ONLY = {"bm3d"}
# Conda packages that are not Python requirements of the project.
CONDA_TOOLING = {"python", "pip"}
# Only a JupyterHub single-user image needs these (deploy/README.md): the server the hub
# starts for each student and nbgitpuller for the course links. They are in environment.yml
# (which repo2docker builds the image from) but in no extra of pyproject.toml.
# conda-forge name -> the pyproject requirement of the ``hub`` extra whose version
# specifier it must repeat (None: no counterpart).
HUB_IMAGE = {"jupyterhub-singleuser": "jupyterhub", "nbgitpuller": None}

_CONDA_SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")


def normalise(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


# Extras that environment.yml (Binder, conda users, the hub's single-user image) carries.
# The others (browser, site, hub) are the CI's own tooling: a student never needs them.
ENVIRONMENT_EXTRAS = ("test", "dev")


def pyproject_requirements(data: dict) -> dict[str, Requirement]:
    """Runtime requirements and those of the ``ENVIRONMENT_EXTRAS`` of a parsed
    pyproject.toml, by normalised name."""
    project = data["project"]
    lines = list(project.get("dependencies", []))
    extras = project.get("optional-dependencies", {})
    for name in ENVIRONMENT_EXTRAS:
        lines.extend(extras.get(name, []))
    requirements = {}
    for line in lines:
        requirement = Requirement(line)
        requirements[normalise(requirement.name)] = requirement
    return requirements


def conda_specifier(spec: str) -> SpecifierSet:
    """A conda version spec (``=1.2``, ``>=1.2``, ``1.2.*``) as a pip ``SpecifierSet``."""
    spec = spec.replace(" ", "")
    if not spec:
        return SpecifierSet()
    parts = []
    for part in spec.split(","):
        if re.match(r"^=[^=]", part):
            part = "=" + part  # conda "=X" pins the version X (and its builds)
        elif re.match(r"^\d", part):
            part = "==" + part
        parts.append(part)
    return SpecifierSet(",".join(parts))


def environment_packages(data: dict) -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet],
                                             list[str]]:
    """Conda packages, pip packages (both name -> specifier) and the raw pip lines."""
    conda, pip, pip_lines = {}, {}, []
    for entry in data.get("dependencies", []):
        if isinstance(entry, dict):
            pip_lines = list(entry.get("pip", []))
            for line in pip_lines:
                if line.startswith("-"):
                    continue
                requirement = Requirement(line)
                pip[normalise(requirement.name)] = requirement.specifier
            continue
        match = _CONDA_SPEC.match(str(entry).strip())
        if not match:
            raise ValueError(f"cannot parse conda dependency {entry!r}")
        conda[match.group(1).lower()] = conda_specifier(match.group(2))
    return conda, pip, pip_lines


def compare(requirements: dict[str, Requirement], conda: dict, pip: dict) -> list[str]:
    """Every disagreement between pyproject requirements and environment.yml packages."""
    problems = []
    unmapped = sorted(n for n in requirements if n not in CONDA_NAME and n not in PIP_ONLY)
    if unmapped:
        problems.append(f"no conda-forge name known for {unmapped}: add them to CONDA_NAME "
                        f"(or PIP_ONLY) in tests/test_environment.py and to environment.yml")
    missing, versions = [], []
    for name, requirement in sorted(requirements.items()):
        if name in PIP_ONLY:
            where, env_name, spec = "pip", name, pip.get(name)
        elif name in CONDA_NAME:
            where, env_name = "conda", CONDA_NAME[name]
            spec = conda.get(env_name)
        else:
            continue
        if spec is None:
            missing.append(f"{env_name} ({where}, for {requirement.name})")
        elif spec != requirement.specifier:
            versions.append(f"{env_name}: environment.yml has '{spec}', "
                            f"pyproject.toml has '{requirement.specifier}'")
    if missing:
        problems.append(f"missing from environment.yml: {', '.join(missing)}")
    if versions:
        problems.append("version specifiers differ: " + "; ".join(versions))
    expected_conda = ({CONDA_NAME[n] for n in requirements if n in CONDA_NAME} | CONDA_TOOLING
                      | set(HUB_IMAGE))
    extra = sorted(set(conda) - expected_conda) + sorted(
        f"{n} (pip)" for n in set(pip) - (set(requirements) & PIP_ONLY))
    if extra:
        problems.append(f"in environment.yml but not in pyproject.toml: {', '.join(extra)}")
    return problems


@pytest.fixture(scope="module")
def pyproject():
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def environment():
    with open(REPO / "environment.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_conda_forge_only(environment):
    assert environment["channels"] == ["conda-forge"]


def test_python_version(environment, pyproject):
    conda, _, _ = environment_packages(environment)
    assert conda["python"] == SpecifierSet("==3.11")
    assert Version("3.11") in SpecifierSet(pyproject["project"]["requires-python"])


def test_pip_section_installs_the_package_last(environment):
    _, _, pip_lines = environment_packages(environment)
    assert pip_lines and pip_lines[-1] == "-e ."


def test_cpu_pytorch(environment):
    conda, _, _ = environment_packages(environment)
    assert "pytorch-cpu" in conda and "pytorch" not in conda and "torch" not in conda


def test_environment_matches_pyproject(environment, pyproject):
    conda, pip, _ = environment_packages(environment)
    problems = compare(pyproject_requirements(pyproject), conda, pip)
    assert not problems, "\n".join(problems)


def test_compare_reports_each_kind_of_disagreement(environment, pyproject):
    """The comparison fails, naming the packages, on a deliberately broken pair."""
    requirements = pyproject_requirements(pyproject)
    conda, pip, _ = environment_packages(environment)
    conda = dict(conda)
    del conda["pytorch-cpu"]                       # missing from environment.yml
    conda["scipy"] = SpecifierSet(">=0.1")         # version drift
    conda["pandas"] = SpecifierSet()               # extra package
    requirements["sporco"] = Requirement("sporco>=0.2")  # no name mapping yet
    problems = "\n".join(compare(requirements, conda, pip))
    assert "no conda-forge name known for ['sporco']" in problems
    assert "missing from environment.yml: pytorch-cpu (conda, for torch)" in problems
    assert "scipy: environment.yml has '>=0.1', pyproject.toml has '>=1.10'" in problems
    assert "in environment.yml but not in pyproject.toml: pandas" in problems


def test_hub_image_packages(environment, pyproject):
    """The single-user image gets jupyterhub-singleuser (the hub's version) and nbgitpuller."""
    conda, _, _ = environment_packages(environment)
    hub_extra = {normalise(Requirement(line).name): Requirement(line)
                 for line in pyproject["project"]["optional-dependencies"].get("hub", [])}
    for name, counterpart in HUB_IMAGE.items():
        assert name in conda, f"{name} is missing from environment.yml"
        if counterpart is not None:
            assert counterpart in hub_extra, f"pyproject.toml's hub extra lacks {counterpart}"
            assert conda[name] == hub_extra[counterpart].specifier, (
                f"{name}: environment.yml has '{conda[name]}', the hub extra has "
                f"'{hub_extra[counterpart].specifier}' for {counterpart}")


@pytest.mark.parametrize("spec, expected", [
    ("", ""), ("=2.13.0", "==2.13.0"), (">=1.24", ">=1.24"), ("2.1", "==2.1"),
    (">=1.2,<2", "<2,>=1.2"),
])
def test_conda_specifier(spec, expected):
    assert conda_specifier(spec) == SpecifierSet(expected)
