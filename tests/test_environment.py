"""environment.yml (conda/Binder) pins exactly what pyproject.toml pins, and torch stays at 2.13.0."""

import re
import tomllib

from graders.paths import REPO_ROOT

PIN = re.compile(r"^\s*-\s+([A-Za-z0-9_.\-]+==[^\s#]+)\s*$")


def pyproject_pins() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | {
        pin for group in project["optional-dependencies"].values() for pin in group
    }


def environment_pins() -> set[str]:
    lines = (REPO_ROOT / "environment.yml").read_text().splitlines()
    return {match.group(1) for line in lines if (match := PIN.match(line))}


def test_environment_yml_pins_equal_pyproject_pins() -> None:
    assert environment_pins() == pyproject_pins()


def test_every_dependency_is_pinned_exactly_and_torch_is_2_13_0() -> None:
    assert all("==" in pin for pin in pyproject_pins())
    assert "torch==2.13.0" in pyproject_pins()
    assert (REPO_ROOT / "constraints.txt").read_text().split() == ["torch==2.13.0"]
