"""The guides name only what exists: make targets, Python modules, nbgrader commands, files and links."""

import importlib.util
import re
from pathlib import Path

import pytest
from nbgrader.apps.nbgraderapp import NbGraderApp

from graders.core.paths import REPO_ROOT

GUIDES = sorted([REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")])
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
MAKE_TARGET = re.compile(r"^([\w-]+):", re.MULTILINE)
# Where a command starts: a line, after environment assignments (`GRADERS_ANSWERS_DIR=… nbgrader …`).
NBGRADER_COMMAND = re.compile(r"^(?:\w+=\S+ +)*nbgrader ([a-z_]+)", re.MULTILINE)
# Commands, names with placeholders (NN_topic, <student>) and generated output (build/): no file to find.
NOT_A_FILE = re.compile(r"\s|NN|<|\*|…|^build/")


def code_in(guide: Path) -> str:
    """Everything a reader would type: fenced blocks and inline code."""
    return "\n".join(block or span for block, span in CODE.findall(guide.read_text(encoding="utf-8")))


def guide_id(guide: Path) -> str:
    return str(guide.relative_to(REPO_ROOT))


@pytest.mark.parametrize("guide", GUIDES, ids=guide_id)
def test_make_targets_exist(guide: Path) -> None:
    targets = set(MAKE_TARGET.findall((REPO_ROOT / "Makefile").read_text()))
    named = set(re.findall(r"\bmake ((?:[a-z][\w-]* ?)+)", code_in(guide)))
    missing = {target for words in named for target in words.split() if target not in targets}
    assert not missing, f"no such make target: {sorted(missing)}"


@pytest.mark.parametrize("guide", GUIDES, ids=guide_id)
def test_python_modules_exist(guide: Path) -> None:
    modules = set(re.findall(r"python -m ([\w.]+)", code_in(guide)))
    assert not [module for module in modules if importlib.util.find_spec(module) is None]


@pytest.mark.parametrize("guide", GUIDES, ids=guide_id)
def test_nbgrader_commands_exist(guide: Path) -> None:
    commands = set(NBGRADER_COMMAND.findall(code_in(guide)))
    assert commands <= set(NbGraderApp.subcommands), sorted(commands - set(NbGraderApp.subcommands))


@pytest.mark.parametrize("guide", GUIDES, ids=guide_id)
def test_repository_paths_and_links_exist(guide: Path) -> None:
    top_level = {path.name for path in REPO_ROOT.iterdir()}
    spans = {span.strip() for _, span in CODE.findall(guide.read_text(encoding="utf-8")) if span}
    paths = {span for span in spans if span.split("/")[0] in top_level and not NOT_A_FILE.search(span)}
    missing = sorted(path for path in paths if not (REPO_ROOT / path).exists())
    links = [link.split("#")[0] for link in LINK.findall(guide.read_text(encoding="utf-8"))]
    local = [link for link in links if link and not re.match(r"[a-z]+:", link)]
    missing += sorted({link for link in local if not (guide.parent / link).exists()})
    assert not missing, f"{guide.name} names what does not exist: {missing}"
