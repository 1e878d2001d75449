"""What the notebooks call: self-checks after each task, the answer dump, and the graded test cells.

Self-checks and graded cells share grade_value, so a passing self-check means full points.
"""

import contextlib
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from graders.grading import KeyResult, ReferenceUnavailable, describe, grade_answers, load_reference, total
from graders.loader import AnswerFileError, load_answers
from graders.saving import answer_file, collect_answers, find_answer_file, save_answers, to_plain
from graders.specs import specs_for


def check(notebook: str, **answers: Any) -> None:
    """Self-check answers against the reference; raise AssertionError naming the likely mistake."""
    try:
        reference = load_reference(notebook)
    except ReferenceUnavailable:
        print(f"(no reference answers here: {', '.join(answers)} will be checked when you submit)")
        return
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    results = grade_answers(specs_for(notebook), reference, plain, keys=answers)
    report = "\n".join(describe(result) for result in results)
    if not all(result.passed for result in results):
        raise AssertionError("\n" + report)
    print(report)


def dump_answers(notebook: str, namespace: Mapping[str, Any]) -> None:
    """Save every answer variable the notebook defines to NN_name.answer.json and say what is missing."""
    keys = list(specs_for(notebook))
    answers = collect_answers(namespace, keys)
    path = save_answers(answers, answer_file(notebook))
    missing = [key for key in keys if key not in answers]
    print(
        f"saved {len(answers)} of {len(keys)} answers to {path}"
        + (f"; missing: {', '.join(missing)}" if missing else "")
    )


def grade(notebook: str, *keys: str) -> float:
    """A graded test cell: score keys of the notebook's answer file, print why, return the points earned.

    nbgrader reads the returned number as the cell's partial credit.
    """
    try:
        with _quiet():
            results = _grade_dumped(notebook, keys)
    except ReferenceUnavailable as missing:
        print(f"not graded here ({missing}): your instructor grades this cell")
        return 0.0
    for result in results:
        print(describe(result))
    earned, _ = total(results)
    return earned


def _grade_dumped(notebook: str, keys: tuple[str, ...]) -> list[KeyResult]:
    specs = specs_for(notebook)
    reference = load_reference(notebook)
    try:
        answers = load_answers(find_answer_file(Path.cwd(), notebook))
    except AnswerFileError as problem:
        return [KeyResult(key, 0.0, specs[key].points, f"answer file unusable: {problem}") for key in keys]
    return grade_answers(specs, reference, answers, keys=keys)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """nbgrader gives 0 to a test cell that writes to stderr, so warnings go nowhere and stderr to stdout."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("ignore")
        yield
