"""The package's layout: the kernel-safe core imports nothing from the classroom or publishing, the classroom
nothing from publishing (publishing builds on both), and importing any module changes nothing in IPython or
the process (the student API's setup does that, in the kernel)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import graders

PACKAGE = Path(graders.__file__).parent
# Each wing, and the wings it must not import: the core serves a student's kernel, which has no nbgrader,
# and the classroom grades with no part of what the course publishes.
FORBIDDEN = {
    "core": ("graders.classroom", "graders.publishing"),
    "classroom": ("graders.publishing",),
}


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (a function's import counts too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("wing", sorted(FORBIDDEN))
def test_a_wing_imports_nothing_from_the_wings_it_must_not(wing: str) -> None:
    modules = sorted((PACKAGE / wing).rglob("*.py"))
    assert len(modules) > 20, f"the {wing}'s modules were not found"
    crossings = {str(path.relative_to(PACKAGE)): sorted(_imported(path)) for path in modules}
    assert {
        path: [name for name in names if name.startswith(FORBIDDEN[wing])]
        for path, names in crossings.items()
        if any(name.startswith(FORBIDDEN[wing]) for name in names)
    } == {}


def test_the_boundary_check_sees_an_import_from_another_wing(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from graders.classroom import sandbox\n    import graders.publishing.build\n",
        encoding="utf-8",
    )
    assert {"graders.classroom.sandbox", "graders.publishing.build"} <= _imported(module)


def test_no_module_imports_relatively() -> None:
    # A relative import would slip past the boundary checks, which read absolute module names.
    relative = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []


# Run in a fresh interpreter: an IPython shell stands ready as in a kernel, then every module is imported.
IMPORT_EVERYTHING = """
import importlib, json, os, pkgutil, sys, threading
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
hook, environment, threads = sys.excepthook, dict(os.environ), threading.active_count()
import graders

modules = pkgutil.walk_packages(graders.__path__, "graders.")
names = [module.name for module in modules if not module.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "modules": len(names),
    "custom_exceptions": [e.__name__ for e in shell.custom_exceptions],
    "excepthook_changed": sys.excepthook is not hook,
    "environment_changed": sorted(set(os.environ.items()) ^ set(environment.items())),
    "new_threads": threading.active_count() - threads,
}))
"""


def test_importing_any_module_changes_nothing_in_ipython_or_the_process() -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, check=True
    )
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found.pop("modules") > 40
    assert found == {
        "custom_exceptions": [],
        "excepthook_changed": False,
        "environment_changed": [],
        "new_threads": 0,
    }


def test_the_student_setup_installs_the_explanations_in_a_kernel_only() -> None:
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "from graders import start_notebook\n"
        "print(start_notebook('00_autograd'), [e.__name__ for e in shell.custom_exceptions])\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.split("\n")[-2] == "0 ['NameError', 'NotImplementedError']"
