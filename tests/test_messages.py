"""No message reveals the reference (issue 17): typical wrong answers to every key of every notebook, made
from the public reference, get messages without its values, in grade_answers, the self-check and the
graded cells alike, and so do those made from a hidden instance's reference and a copy of the public
answers graded on it; no hint shows another key's answer; and the helper that judges it all catches what
it must."""

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import TEST_INSTANCES, chosen_solutions
from grading_helpers import assert_reveals_no_reference, leaked_reference, reference_numbers

from graders.core import kinds
from graders.core.answer_files import answer_file, save_answers, to_plain
from graders.core.grading import Spec, grade_answers, load_reference
from graders.core.loader import loads_answers
from graders.core.specs import notebooks, specs_for
from graders.core.student import check, grade

# ---- the helper --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected", "got"),
    [
        pytest.param("expected 13, got 12", 13, 12, id="a count"),
        pytest.param("differs: expected 0.260232", 0.260232, 0.3, id="a float"),
        pytest.param("expected 2.60e-01", 0.260232, 0.3, id="scientific notation"),
        pytest.param("about 0.26", -0.260232, 0.3, id="rounded, without its sign"),
        pytest.param("-0.26 was expected", -0.260232, 0.3, id="rounded, with its sign"),
        pytest.param("expected 13.0", 13, 12, id="a count as a float"),
        pytest.param("expected 4, got 2", [4.0, 8.0], [2.0, 3.0], id="one digit, exact"),
        pytest.param(
            "first difference at step 1: expected [8.92, 6.92]", [[9, 7], [8.92, 6.92]], [[9, 7]] * 2
        ),
        pytest.param("expected ['Mul', 'AccumulateGrad']", ["Mul", "AccumulateGrad"], ["Mul"], id="a name"),
        pytest.param("expected [True, False]", [True, False], [True, True], id="a flag"),
        pytest.param("yours is 13, not 12", 12, 13.5, id="an echo of another number"),
        pytest.param(
            "expected 20", np.arange(20.0, 28.0).reshape(2, 4), np.zeros((2, 4)), id="beyond indices"
        ),
    ],
)
def test_the_helper_catches_a_printed_reference(message: str, expected: Any, got: Any) -> None:
    assert leaked_reference(message, expected, got)
    with pytest.raises(AssertionError, match="reveals the reference"):
        assert_reveals_no_reference(message, expected, got)


@pytest.mark.parametrize(
    ("message", "expected", "got"),
    [
        pytest.param("step 3 first differs: too large", [[3.0, 1.0], [2.0, 0.5]] * 2, [[3.0, 1.0]] * 4),
        pytest.param("differs: it is 12, one too small", 13, 12, id="the student's own value"),
        pytest.param("yours is 0.3", 0.260232, [0.3], id="the student's value in a list"),
        pytest.param("it is the reference times 2 (2× too large)", 2.0, 4.0, id="a factor"),
        pytest.param(
            "it is the reference times about 300", [300.0, 600.0], [9e4, 1.8e5], id="a rough factor"
        ),
        pytest.param("differs at index [1, 2] only", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], None, id="indices"),
        pytest.param(
            "wrong shape: expected (2, 3), got (3, 2)", np.ones((2, 3)) * 3, np.ones((3, 2)), id="shape"
        ),
        pytest.param("you recorded 9 steps, expected 10", list(range(10)), list(range(9)), id="a length"),
        pytest.param("use lr = 0.001", [0.0012, 0.0009], [1.0, 1.0], id="a one-digit constant, not exact"),
        pytest.param("var_history_2, float32, MulBackward0", [2.0, 32.0, 0.0], None, id="digits in names"),
        pytest.param("yours is 'Add'", ["Mul", "Pow"], ["Mul", "Add"], id="a name of the student's"),
    ],
)
def test_the_helper_allows_what_does_not_reveal_the_reference(message: str, expected: Any, got: Any) -> None:
    assert leaked_reference(message, expected, got) == []
    assert_reveals_no_reference(message, expected, got)


def test_reference_numbers_are_magnitudes_of_every_number_and_no_flag() -> None:
    value = [np.array([[1.5, -2.0]]), 3, [True, "name", float("nan")]]
    assert reference_numbers(value) == [1.5, 2.0, 3.0]


# ---- typical wrong answers ---------------------------------------------------------------------------------


def numeric_mistakes(value: Any) -> dict[str, Any]:
    """Wrong answers made from a numeric reference: a flipped sign, factors, an offset, one element, order,
    transpose, reciprocal, shape, precision, NaN."""
    reference = np.asarray(value, dtype=np.float64)
    flat = reference.ravel()
    changed = flat.copy()
    changed[0] = changed[0] * 1.5 if changed[0] else 1.0
    mistakes = {
        "negated": -reference,
        "doubled": 2 * reference,
        "halved": reference / 2,
        "times 10": 10 * reference,
        "plus 1": reference + 1,
        "one element changed": changed.reshape(reference.shape),
        "rounded to integers": np.round(reference),
        "float16": reference.astype(np.float16),
        "NaN": np.where(np.arange(flat.size) == 0, np.nan, flat).reshape(reference.shape),
        "wrong shape": np.concatenate([flat, flat[:1]]),
        "zeros": np.zeros_like(reference),
    }
    if np.all(reference != 0):
        mistakes["reciprocal"] = 1 / reference
    if reference.ndim and len(reference) > 1:
        mistakes["reversed"] = reference[::-1]
        mistakes["rolled by one"] = np.roll(reference, 1, axis=0)
    if reference.ndim == 2:
        mistakes["transposed"] = reference.T
    return mistakes


def trajectory_mistakes(value: Any) -> dict[str, Any]:
    """Wrong records: a step ahead or behind, scaled, offset or negated steps, one step changed, reversed or
    rolled, too short, diverged, one shared tensor."""
    steps = [np.asarray(step, dtype=np.float64) for step in value]
    middle = len(steps) // 2
    mistakes = {
        "one step ahead": steps[1:] + steps[-1:],
        "one step behind": steps[:1] + steps[:-1],
        "negated": [-step for step in steps],
        "doubled": [2 * step for step in steps],
        "halved": [step / 2 for step in steps],
        "times 10": [10 * step for step in steps],
        "plus 1": [step + 1 for step in steps],
        "rolled by one": steps[-1:] + steps[:-1],
        "one step changed": steps[:middle] + [steps[middle] * 1.5 + 0.1] + steps[middle + 1 :],
        "reversed": steps[::-1],
        "one step short": steps[:-1],
        "diverged from the middle": steps[:middle] + [np.full_like(step, np.nan) for step in steps[middle:]],
        "one shared tensor": [steps[-1]] * len(steps),
    }
    if np.all(np.isfinite(np.stack(steps))) and np.all(np.stack(steps) != 0):
        mistakes["reciprocal"] = [1 / step for step in steps]
    return mistakes


def exact_mistakes(value: Any) -> dict[str, Any]:
    """Wrong names, flags or counts: order, one element changed, one missing or extra, a wrong type."""
    if not isinstance(value, list):
        return {"plus 1": value + 1, "a string": str(value)} if isinstance(value, int | float) else {}

    def changed(element: Any) -> Any:
        if isinstance(element, bool):
            return not element
        if isinstance(element, str):
            return "AddBackward0" if element != "AddBackward0" else "MulBackward0"
        if isinstance(element, list):
            return element[::-1] if len(set(map(str, element))) > 1 else element + element
        return element + 1

    middle = len(value) // 2
    return {
        "reversed": value[::-1],
        "one element changed": value[:middle] + [changed(value[middle])] + value[middle + 1 :],
        "one element missing": value[:middle] + value[middle + 1 :],
        "one element extra": value[: middle + 1] + value[middle:],
        "a string": str(value),
    }


def typical_mistakes(spec: Spec, value: Any) -> dict[str, Any]:
    """Every typical wrong answer to one key whose reference is `value`."""
    if spec.kind is kinds.trajectory:
        return trajectory_mistakes(value)
    if spec.kind is kinds.equal:
        return exact_mistakes(value)
    return numeric_mistakes(value)


def mistaken_answers(notebook: str, reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{mistake: {key: wrong answer}} for every key of the notebook that the mistake applies to."""
    by_mistake: dict[str, dict[str, Any]] = {}
    for key, spec in specs_for(notebook).items():
        for mistake, wrong in typical_mistakes(spec, reference[key]).items():
            by_mistake.setdefault(mistake, {})[key] = wrong
    return by_mistake


def leaks_in(
    said: dict[str, str], reference: dict[str, Any], mistake: str, answers: dict[str, Any]
) -> list[str]:
    """'key, mistake: leaked values: message' for every message that reveals its key's reference."""
    found = []
    for key, message in said.items():
        leaks = leaked_reference(message, reference[key], answers[key])
        if leaks:
            found.append(f"{key}, {mistake}: {', '.join(leaks)}: {message}")
    return found


def audit(
    notebook: str,
    messages_of: Callable[[dict[str, Any]], dict[str, str]],
    reference: dict[str, Any] | None = None,
    more: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Every typical mistake on every key of `notebook` (and the answers in `more`), its messages as
    messages_of gives them, against `reference` (by default the public instance's)."""
    reference = load_reference(notebook) if reference is None else reference
    found = []
    for mistake, answers in (mistaken_answers(notebook, reference) | (more or {})).items():
        said = messages_of(answers)
        assert set(said) == set(answers), f"{mistake}: messages for {sorted(said)}, answers {sorted(answers)}"
        found += leaks_in(said, reference, mistake, answers)
    assert not found, f"{len(found)} messages of {notebook} reveal the reference:\n" + "\n".join(found)


# describe()'s line: "✗ key [0/2]: message", in colour in a self-check.
RESULT_LINE = re.compile(r"^(?:\x1b\[\d+m)?[✓✗] (\w+) \[[^\]]*\]: (.*?)(?:\x1b\[0m)?$")


def printed_messages(output: str) -> dict[str, str]:
    return {match[1]: match[2] for line in output.splitlines() if (match := RESULT_LINE.match(line))}


@pytest.mark.parametrize("notebook", notebooks())
def test_grade_answers_never_reveals_the_reference(notebook: str) -> None:
    def messages_of(answers: dict[str, Any]) -> dict[str, str]:
        plain = {key: to_plain(value, key) for key, value in answers.items()}
        results = grade_answers(specs_for(notebook), load_reference(notebook), plain, keys=answers)
        return {result.key: result.message for result in results}

    audit(notebook, messages_of)


@pytest.mark.parametrize("notebook", [path.stem for path in chosen_solutions()])
def test_grading_on_a_hidden_instance_never_reveals_its_reference(
    executed_instances: dict[tuple[str, int], Any], notebook: str
) -> None:
    """The class path grades on a hidden instance: neither typical mistakes nor a copy of the public
    answers get a message that shows that instance's reference."""
    run = executed_instances[notebook, TEST_INSTANCES[0]]
    assert not isinstance(run, Exception) and run.answer_json is not None, f"{notebook}: {run}"
    hidden = loads_answers(run.answer_json)

    def messages_of(answers: dict[str, Any]) -> dict[str, str]:
        plain = {key: to_plain(value, key) for key, value in answers.items()}
        results = grade_answers(specs_for(notebook), hidden, plain, keys=answers)
        return {result.key: result.message for result in results}

    public = load_reference(notebook)
    audit(notebook, messages_of, hidden, {"the public answers": public})


@pytest.mark.parametrize("notebook", notebooks())
def test_self_checks_never_reveal_the_reference(notebook: str, capsys: pytest.CaptureFixture) -> None:
    def messages_of(answers: dict[str, Any]) -> dict[str, str]:
        check(notebook, **answers)
        return printed_messages(capsys.readouterr().out)

    audit(notebook, messages_of)


@pytest.mark.parametrize("notebook", notebooks())
def test_graded_cells_never_reveal_the_reference(
    notebook: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)

    def messages_of(answers: dict[str, Any]) -> dict[str, str]:
        save_answers(answers, answer_file(notebook))
        grade(notebook, *answers)
        return printed_messages(capsys.readouterr().out)

    audit(notebook, messages_of)


def test_the_audit_sees_a_message_that_prints_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit fails on the old wording ("expected 13, got 12"), so its passing means something."""

    def telling(expected: Any, got: Any, tolerance: Any) -> kinds.Verdict:
        verdict = kinds.array(expected, got, tolerance)
        return kinds.Verdict(verdict.fraction, f"expected {np.ravel(expected)[0]:.6g}")

    monkeypatch.setitem(globals(), "specs_for", lambda notebook: {"X_grad": Spec(telling, 2)})
    with pytest.raises(AssertionError, match="reveal the reference"):
        test_grade_answers_never_reveals_the_reference("00_autograd")


@pytest.mark.parametrize("notebook", notebooks())
def test_no_hint_shows_the_reference_of_another_key(notebook: str) -> None:
    """A self-check prints one key's hint: it must not hold the answer to another task either."""
    specs, reference = specs_for(notebook), load_reference(notebook)
    found = [
        f"{key}'s hint shows {other}'s {', '.join(leaks)}: {spec.hint}"
        for key, spec in specs.items()
        for other in specs
        if (leaks := leaked_reference(spec.hint, reference[other]))
    ]
    assert not found, "\n".join(found)
