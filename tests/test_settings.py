"""One source for each setting: the class grader's command-line flags are generated from ClassGrader's traits,
the cell timeout comes from the specs, and the number of kernels at once from c.ClassGrader.jobs."""

import argparse
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from graders.classroom import notebook_runs
from graders.classroom.course import NBGRADER_CONFIG
from graders.classroom.settings import NO_FLAG, ClassGrader, add_flags, flag_overrides, load_settings
from graders.core.paths import REPO_ROOT, SOLUTIONS_DIR
from graders.core.specs import DEFAULT_CELL_TIMEOUT_SECONDS, cell_timeout_for
from graders.publishing import build


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return parser.parse_args(argv)


def test_every_setting_but_the_secret_has_a_flag_with_its_help() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    helps = {action.dest: action.help for action in parser._actions}
    traits = ClassGrader.class_traits(config=True)
    assert set(helps) - {"help"} == set(traits) - NO_FLAG
    assert all(helps[name] == traits[name].help for name in set(traits) - NO_FLAG)


def test_flags_override_the_course_config_and_left_out_ones_keep_it() -> None:
    overrides = flag_overrides(parsed("--jobs", "3", "--cell-timeout=5", "--no-sandbox", "--db-url", "x://"))
    assert overrides["instances"] is None
    settings = load_settings(**overrides)
    assert (settings.jobs, settings.cell_timeout, settings.sandbox, settings.db_url) == (3, 5, False, "x://")
    assert settings.instances == ClassGrader().instances


def test_a_flag_of_the_wrong_type_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="2"):
        parsed("--jobs", "many")
    assert "--jobs: invalid int value: 'many'" in capsys.readouterr().err


def test_a_plain_nbgrader_autograde_gets_the_specs_default_cell_timeout() -> None:
    config = PyFileConfigLoader(NBGRADER_CONFIG.name, str(NBGRADER_CONFIG.parent)).load_config()
    assert config.Execute.timeout == DEFAULT_CELL_TIMEOUT_SECONDS


@pytest.mark.parametrize("notebook", ["00_autograd", "01_gradient_steps"])
def test_a_notebook_run_limits_each_cell_by_the_notebooks_own_spec(
    notebook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 00 sets its own limit, 01 takes the default: each run gets a multiple of its own, not one number.
    given = {}

    class Client:
        def __init__(self, node: nbformat.NotebookNode, **options: object) -> None:
            given.update(options)

        def execute(self, env: dict[str, str]) -> None:
            pass

    monkeypatch.setattr(notebook_runs, "NotebookClient", Client)
    run = notebook_runs.execute(SOLUTIONS_DIR / f"{notebook}.ipynb", tmp_path)
    assert run.answer_json is None
    assert given["timeout"] == cell_timeout_for(notebook) * notebook_runs.SOLUTION_TIMEOUT_FACTOR
    assert cell_timeout_for("00_autograd") != cell_timeout_for("01_gradient_steps")


def test_the_build_runs_as_many_notebooks_at_once_as_the_course_config_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = []
    monkeypatch.setattr(build, "load_settings", lambda: ClassGrader(jobs=7))
    monkeypatch.setattr(build, "generate_answers", lambda notebooks, out, jobs: asked.append(jobs) or [])
    assert build.main(["answers", "00_autograd"]) == 0
    assert build.main(["answers", "00_autograd", "--jobs", "3"]) == 0
    assert asked == [7, 3]


@pytest.mark.parametrize("target", ["answers", "executed", "check-generated", "demo"])
def test_the_makefile_passes_jobs_only_when_given(target: str) -> None:
    def planned(*variables: str) -> list[str]:
        run = subprocess.run(
            ["make", "-n", "-o", "setup", target, *variables],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return [line for line in run.stdout.splitlines() if "graders.publishing.build" in line]

    assert planned() and not any("--jobs" in line for line in planned())
    assert any(re.search(r"--jobs 3\b", line) for line in planned("JOBS=3"))
