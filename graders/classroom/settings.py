"""How `python -m graders class` grades, as traitlets read from the course's nbgrader_config.py.

`c.ClassGrader.jobs = 4` there sets a course's default; a command-line flag overrides it for one run.
"""

import argparse
from pathlib import Path

from traitlets import Bool, Integer, TraitType, Unicode
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

from graders.classroom.collect import ZIP_FILE_PATTERN
from graders.classroom.course import NBGRADER_CONFIG
from graders.classroom.hidden_instances import DEFAULT_POOL
from graders.classroom.sandbox import MEMORY_LIMIT_BYTES, Limits


class ClassGrader(Configurable):
    """The class grader's settings; every one but the secret has a command-line flag of the same name
    (a command line shows in `ps`)."""

    jobs = Integer(
        2,
        help="submissions autograded at once, and notebooks the build runs at once (two kernels suit a 2-core"
        " machine)",
    ).tag(config=True)
    cell_timeout = Integer(0, help="seconds per cell; 0: the notebook's own").tag(config=True)
    memory_limit = Integer(
        MEMORY_LIMIT_BYTES, help=f"bytes of address space per kernel (default {MEMORY_LIMIT_BYTES})"
    ).tag(config=True)
    zip_pattern = Unicode(
        ZIP_FILE_PATTERN,
        help="regex for file paths in zips, with (?P<student_id>...) and {notebook}"
        f" (default: {ZIP_FILE_PATTERN})",
    ).tag(config=True)
    db_url = Unicode("", help="gradebook URL, e.g. postgresql://... ('': sqlite in the course)").tag(
        config=True
    )
    sandbox = Bool(
        True,
        help="run kernels in bubblewrap; --no-sandbox: without it (a laptop; the report says so), never for a"
        " real class",
    ).tag(config=True)
    scheduler = Unicode(
        "", help="Dask scheduler address, tcp://host:8786: its workers grade (instead of --jobs)"
    ).tag(config=True)
    workers = Integer(0, help="grade on N local Dask worker processes (0: --jobs of them)").tag(config=True)
    instances = Integer(
        DEFAULT_POOL,
        help=f"hidden problem instances per notebook, each student graded on one (default {DEFAULT_POOL};"
        " 0: everyone on the public instance, not protected against copied answers)",
    ).tag(config=True)
    instance_secret = Unicode(
        "", help="secret that picks each student's instance ('': one kept in <course>/grading/)"
    ).tag(config=True)

    @property
    def limits(self) -> Limits:
        return Limits(self.cell_timeout or None, self.memory_limit, self.sandbox)


# The secret has no flag: a command line shows in `ps`.
NO_FLAG = frozenset({"instance_secret"})
FLAG_TYPES = {Integer: int, Unicode: str}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for each ClassGrader setting but NO_FLAG, named, typed and explained by its trait (as
    nbgrader's apps do); a Bool gets the flag that turns it from its default (--no-sandbox).
    A flag left out stays None."""
    for name, trait in _flagged_traits().items():
        flag = name.replace("_", "-")
        if isinstance(trait, Bool):
            on = bool(trait.default_value)
            parser.add_argument(
                f"--no-{flag}" if on else f"--{flag}",
                dest=name,
                action="store_const",
                const=not on,
                help=trait.help,
            )
        else:
            parser.add_argument(f"--{flag}", dest=name, type=FLAG_TYPES[type(trait)], help=trait.help)


def flag_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The settings the command line gave (None where a flag was left out), for load_settings."""
    return {name: getattr(args, name) for name in _flagged_traits()}


def _flagged_traits() -> dict[str, TraitType]:
    return {
        name: trait for name, trait in ClassGrader.class_traits(config=True).items() if name not in NO_FLAG
    }


def load_settings(config_file: Path = NBGRADER_CONFIG, **overrides: object) -> ClassGrader:
    """ClassGrader as config_file sets it, with each override that is not None applied on top."""
    config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    settings = ClassGrader(config=config)
    for name, value in overrides.items():
        if value is not None:
            setattr(settings, name, value)
    return settings
