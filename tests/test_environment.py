"""The course environment is pinned exactly (constraints.txt, mirrored by environment.yml), while the
package itself states only ranges, without torch, so a learner's install never pulls a CUDA torch."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from graders.core.paths import REPO_ROOT

PIN = re.compile(r"^\s*-\s+([A-Za-z0-9_.\-]+==[^\s#]+)\s*$")


def project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def requirements(*groups: str) -> list[Requirement]:
    """The package's requirements: its base dependencies, then those of the named extras."""
    listed = list(project()["dependencies"])
    for group in groups:
        listed += project()["optional-dependencies"][group]
    return [Requirement(line) for line in listed]


def constraint_pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}."""
    lines = (REPO_ROOT / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def environment_pins() -> set[str]:
    lines = (REPO_ROOT / "environment.yml").read_text().splitlines()
    return {match.group(1) for line in lines if (match := PIN.match(line))}


def test_environment_yml_pins_equal_the_constraints() -> None:
    pinned = {f"{name}=={version}" for name, version in constraint_pins().items()}
    assert {pin.lower() for pin in environment_pins()} == pinned


def test_every_requirement_of_the_course_environment_is_pinned_within_its_range() -> None:
    pins = constraint_pins()
    for requirement in requirements("classroom", "dev"):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} has no exact pin in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
    assert pins["torch"] == "2.13.0"


def test_the_student_package_needs_no_torch_and_no_grading_stack() -> None:
    base = {canonicalize_name(requirement.name) for requirement in requirements()}
    assert base == {"numpy", "matplotlib", "tqdm", "json-tricks", "nbformat"}
    assert project()["name"] == "gd-torch-course"
