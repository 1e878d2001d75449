"""The class grader's command-line flags are generated from ClassGrader's traits, one source for both."""

import argparse

import pytest

from graders.classroom.settings import NO_FLAG, ClassGrader, add_flags, flag_overrides, load_settings


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
