"""Shared by the tests: grade variants of a notebook's reference answers."""

import copy
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

import nbformat
import numpy as np
import pytest
import torch
from conftest import TEST_INSTANCES

from graders.classroom.notebook_runs import execute
from graders.core.answer_files import to_plain
from graders.core.grading import grade_answers, load_reference
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.loader import loads_answers
from graders.core.paths import SOLUTIONS_DIR, answers_dir
from graders.core.specs import specs_for

# The hidden instance a notebook's mistake tests grade on, next to the public one.
HIDDEN_INSTANCE = TEST_INSTANCES[0]


def graded_instances(*numbers: int) -> list[Any]:
    """Fixture params for the instances a notebook's tests grade on: a hidden one's reference is its
    solution run (executed_instances), so its tests are slow."""
    return [
        pytest.param(number, id="public instance", marks=())
        if number == PUBLIC_INSTANCE
        else pytest.param(number, id=f"instance {number}", marks=pytest.mark.slow)
        for number in numbers
    ]


def reference(notebook: str) -> dict[str, Any]:
    """A fresh, mutable copy of a notebook's reference answers."""
    return copy.deepcopy(load_reference(notebook))


def scores(
    notebook: str, answers: dict[str, Any], expected: dict[str, Any] | None = None
) -> dict[str, float]:
    """Share of the points (0..1) each key earns against `expected` (default: the public instance's
    reference answers); values are converted as save_answers would."""
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    specs = specs_for(notebook)
    expected = load_reference(notebook) if expected is None else expected
    return {r.key: r.earned / r.points for r in grade_answers(specs, expected, plain)}


def messages(
    notebook: str, answers: dict[str, Any], expected: dict[str, Any] | None = None
) -> dict[str, str]:
    """The message each key gets against `expected` (default: the public instance's reference answers)."""
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    expected = load_reference(notebook) if expected is None else expected
    return {r.key: r.message for r in grade_answers(specs_for(notebook), expected, plain)}


def variant(notebook: str, **changes: Any) -> dict[str, Any]:
    """The reference answers with some keys replaced."""
    answers = reference(notebook)
    answers.update(changes)
    return answers


class GradedInstance:
    """One instance of a notebook: its number and the reference answers a student's answers are graded
    against there. A notebook's tests subclass it, naming the notebook and adding replays of its problem."""

    notebook: ClassVar[str]
    # The notebook's problem for an instance number (graders.core.problems), where its tests use one.
    problem_of: ClassVar[Callable[[int], Any]]

    def __init__(self, number: int, expected: dict[str, Any] | None = None) -> None:
        self.number, self.expected = number, expected

    @functools.cached_property
    def problem(self) -> Any:
        return type(self).problem_of(self.number)

    @classmethod
    def graded(cls, request: pytest.FixtureRequest, number: int) -> Self:
        """Instance `number` with its reference: the committed one, or the solution's run on that instance."""
        if number == PUBLIC_INSTANCE:
            return cls(number, reference(cls.notebook))
        run = request.getfixturevalue("executed_instances")[cls.notebook, number]
        assert not isinstance(run, Exception), f"{cls.notebook} fails on instance {number}: {run}"
        return cls(number, loads_answers(run.answer_json))

    def variant(self, **changes: Any) -> dict[str, Any]:
        """This instance's reference answers with some keys replaced."""
        return copy.deepcopy(self.expected) | changes

    def scores(self, answers: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, float]:
        """Share of the points each key earns here for `answers` (default: the reference) with `changes`."""
        return scores(self.notebook, self._answers(answers, changes), expected=self.expected)

    def messages(self, answers: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, str]:
        """The message each key gets here for `answers` (default: the reference) with `changes`, each one
        checked to reveal nothing of this reference."""
        answers = self._answers(answers, changes)
        said = messages(self.notebook, answers, expected=self.expected)
        for key, message in said.items():
            assert_reveals_no_reference(message, self.expected[key], answers.get(key))
        return said

    def full_marks(self, answers: dict[str, Any] | None = None, /, **changes: Any) -> bool:
        """Whether every key earns all its points for `answers` (default: the reference) with `changes`."""
        return set(self.scores(answers, **changes).values()) == {1.0}

    def rejected(self, key: str, value: Any) -> str:
        """The message `key` gets here for `value` in place of the reference, which must earn nothing."""
        assert self.scores(**{key: value})[key] == 0, key
        return self.messages(**{key: value})[key]

    def _answers(self, answers: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
        return {**(self.expected if answers is None else answers), **changes}


def case_fixture(
    cls: type[GradedInstance], numbers: tuple[int, ...] = (PUBLIC_INSTANCE, HIDDEN_INSTANCE)
) -> Callable:
    """A fixture for a test module (`case = case_fixture(Case)`): each of `numbers` as a `cls` graded
    against that instance's own reference; a hidden instance's tests are slow."""

    @pytest.fixture(params=graded_instances(*numbers))
    def case(request: pytest.FixtureRequest) -> GradedInstance:
        return cls.graded(request, request.param)

    return case


def outputs_of_edited_solution(notebook: str, edit: Callable[[str | None, str], str], folder: Path) -> dict:
    """Each cell's outputs, by cell id, when the solution runs with each cell's source replaced by
    edit(cell id, source); no cell may raise."""
    solution = nbformat.read(SOLUTIONS_DIR / f"{notebook}.ipynb", as_version=4)
    for cell in solution.cells:
        cell.source = edit(cell.get("id"), cell.source)
    nbformat.write(solution, folder / f"{notebook}.ipynb")
    run = execute(folder / f"{notebook}.ipynb", answers_dir(), allow_errors=True)
    outputs = {cell.get("id"): cell.get("outputs", []) for cell in run.notebook.cells}
    errors = [(key, out.ename) for key, cell in outputs.items() for out in cell if out.output_type == "error"]
    assert not errors, errors
    return outputs


def printed(outputs: list) -> str:
    """The text a cell printed."""
    return "".join(output.get("text", "") for output in outputs)


# Ways a student may legitimately store a trajectory; each must grade exactly like the reference.
TRAJECTORY_FORMS = [
    pytest.param(lambda steps: [np.asarray(step, dtype=np.float32) for step in steps], id="float32 arrays"),
    pytest.param(lambda steps: [np.asarray(step).tolist() for step in steps], id="plain lists"),
    pytest.param(
        lambda steps: [torch.as_tensor(np.asarray(step), dtype=torch.float64) for step in steps], id="tensors"
    ),
    pytest.param(lambda steps: np.array([np.asarray(step) for step in steps]), id="one stacked array"),
    pytest.param(tuple, id="tuple"),
]


# A number as messages print it: 13, -0.26, 0.260232, 2.60e-01, 1e-6 (not the digits inside a name such as
# float32, var_history_2 or MulBackward0).
PRINTED_NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+−]?\d+)?")
# A factor relative to the reference ("2× too large", "times 0.5", "times about 300") is not a value.
FACTOR_BEFORE = re.compile(r"(?:×|\btimes(?: about)?)\s*$")


def reference_numbers(value: Any) -> list[float]:
    """The magnitudes of every finite number in a (nested) answer value; booleans are not numbers."""
    numbers, _ = _leaves(value)
    return numbers


def leaked_reference(message: str, expected: Any, got: Any = None) -> list[str]:
    """What in `message` reveals the reference value `expected` (see assert_reveals_no_reference)."""
    reference, names = _leaves(expected)
    own, own_names = _leaves(got)
    reference_array, own_array = np.array(reference), np.array(own)
    counts = {len(reference) + len(names), len(own) + len(own_names)}
    extent = max(_extents(expected) | _extents(got) | counts)
    leaks = []
    for match in PRINTED_NUMBER.finditer(message):
        value, matches = _printed_matcher(match.group())
        if not reference or not matches(reference_array).any():
            continue
        explained = (
            (own and matches(own_array).any())
            or (value.is_integer() and value <= extent)
            or FACTOR_BEFORE.search(message[: match.start()])
            or message[match.end() : match.end() + 1] == "×"
        )
        if not explained:
            leaks.append(match.group())
    leaks += [
        name
        for name in sorted(set(names) - set(own_names))
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message)
    ]
    return leaks


def assert_reveals_no_reference(message: str, expected: Any, got: Any = None) -> None:
    """Fail when `message` shows a number or name of the reference value `expected` (or part of it).

    A printed number leaks when, at the precision it is printed with, it is the magnitude of one of the
    reference's numbers (13 for 13.0 or 12.96, 0.26 or 2.60e-01 for -0.260232; a number printed with one
    significant digit, like 3 or 0.001, only when exact) and the message could not have taken it from
    elsewhere: not a number of the student's own value `got` (echoing it is allowed), not an integer up to
    the largest extent or element count of either value (an index, a step, a count, a length or a shape),
    not a factor ("2×", "times 0.5"). A name (a string element, or True/False) leaks when the message
    holds it as a word and `got` does not.
    """
    leaks = leaked_reference(message, expected, got)
    assert not leaks, f"the message reveals the reference ({', '.join(leaks)}): {message!r}"


def _printed_matcher(printed: str) -> tuple[float, Any]:
    """The printed number's magnitude, and a test of which magnitudes it is a rounding of."""
    mantissa, _, exponent = printed.lstrip("-+−").lower().partition("e")
    scale = 10.0 ** int(exponent.replace("−", "-") or 0)
    whole, _, decimals = mantissa.partition(".")
    value = float(mantissa or 0) * scale
    digits = (whole + decimals).lstrip("0")
    significant = len(digits if decimals else digits.rstrip("0"))
    if significant <= 1:  # 3 or 0.001 could be anything from 2.5 to 3.5: only exact counts
        return value, lambda numbers: np.isclose(numbers, value, rtol=1e-6, atol=0.0)
    half_unit = 0.5 * 10.0 ** -len(decimals) * scale * (1 + 1e-9)
    return value, lambda numbers: np.abs(numbers - value) <= half_unit


def _leaves(value: Any) -> tuple[list[float], list[str]]:
    """Magnitudes of the finite numbers and the names (strings, True/False) in a nested value."""
    try:
        value = to_plain(value)
    except TypeError:  # not an answer value (a loader's Rejected): nothing to compare with
        return [], []
    if isinstance(value, bool):
        return [], [str(value)]
    if isinstance(value, str):
        return [], [value] if len(value) > 1 else []
    if isinstance(value, int | float):
        return ([abs(float(value))] if np.isfinite(value) else []), []
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return [], [str(flag) for flag in set(value.ravel().tolist())]
        if value.dtype.kind in "iuf":
            numbers = np.abs(value.astype(np.float64).ravel())
            return numbers[np.isfinite(numbers)].tolist(), []
        value = value.tolist()
    numbers, names = [], []
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else []:
        more, more_names = _leaves(item)
        numbers += more
        names += more_names
    return numbers, names


def _extents(value: Any) -> set[int]:
    """Every length along every axis of a (possibly ragged) nested value."""
    if isinstance(value, np.ndarray) or hasattr(value, "shape"):
        return set(np.shape(value))
    if isinstance(value, list | tuple):
        return {len(value)}.union(*(_extents(item) for item in value))
    return set()
