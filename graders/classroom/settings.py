"""How `python -m graders class` grades, as traitlets read from the course's nbgrader_config.py.

`c.ClassGrader.jobs = 4` there sets a course's default; a command-line flag overrides it for one run.
"""

from pathlib import Path

from traitlets import Bool, Integer, Unicode
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

from graders.classroom.collect import ZIP_FILE_PATTERN
from graders.classroom.course import NBGRADER_CONFIG
from graders.classroom.hidden_instances import DEFAULT_POOL
from graders.classroom.sandbox import MEMORY_LIMIT_BYTES, Limits


class ClassGrader(Configurable):
    """The class grader's settings; every one but the secret has a command-line flag of the same name
    (a command line shows in `ps`)."""

    jobs = Integer(2, help="submissions autograded at once").tag(config=True)
    cell_timeout = Integer(0, help="seconds per cell; 0: the notebook's own").tag(config=True)
    memory_limit = Integer(MEMORY_LIMIT_BYTES, help="bytes of address space per kernel").tag(config=True)
    zip_pattern = Unicode(
        ZIP_FILE_PATTERN, help="regex for file paths in zips, with (?P<student_id>...) and {notebook}"
    ).tag(config=True)
    db_url = Unicode("", help="gradebook URL ('': sqlite in the course)").tag(config=True)
    sandbox = Bool(True, help="run kernels in bubblewrap (False: a laptop)").tag(config=True)
    scheduler = Unicode("", help="Dask scheduler address, tcp://host:8786: its workers grade").tag(
        config=True
    )
    workers = Integer(0, help="local Dask worker processes that grade (0: jobs threads)").tag(config=True)
    instances = Integer(
        DEFAULT_POOL, help="hidden instances per notebook, one per student (0: all on the public one)"
    ).tag(config=True)
    instance_secret = Unicode(
        "", help="secret that picks each student's instance ('': one kept in <course>/grading/)"
    ).tag(config=True)

    @property
    def limits(self) -> Limits:
        return Limits(self.cell_timeout or None, self.memory_limit, self.sandbox)


def load_settings(config_file: Path = NBGRADER_CONFIG, **overrides: object) -> ClassGrader:
    """ClassGrader as config_file sets it, with each override that is not None applied on top."""
    config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    settings = ClassGrader(config=config)
    for name, value in overrides.items():
        if value is not None:
            setattr(settings, name, value)
    return settings
