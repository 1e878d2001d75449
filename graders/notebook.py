"""What the notebooks call: self-checks after each task, the answer dump, and the graded test cells.

Self-checks and graded cells share grade_value, so a passing self-check means full points. Importing
this module in a Jupyter kernel also makes a skipped task's NameError, and a stub's
NotImplementedError, say what to do instead of showing a traceback.
"""

import contextlib
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graders.grading import KeyResult, ReferenceUnavailable, describe, grade_answers, load_reference, total
from graders.loader import AnswerFileError, load_answers
from graders.saving import answer_file, collect_answers, find_answer_file, save_answers, to_plain
from graders.specs import specs_for

GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


class Points(float):
    """A graded cell's points: nbgrader parses text/plain as the float, Jupyter shows `2/2 points`."""

    def __new__(cls, earned: float, possible: float) -> "Points":
        points = super().__new__(cls, earned)
        points.possible = possible
        return points

    def _repr_html_(self) -> str:
        return f"<b>{float(self):g}/{self.possible:g} points</b>"


def check(notebook: str, **answers: Any) -> None:
    """Self-check answers against the reference and print each key's points and message, in colour.

    It prints rather than raises: a traceback from inside graders would bury the one line that matters.
    """
    try:
        reference = load_reference(notebook)
    except ReferenceUnavailable:
        print(f"(no reference answers here: {', '.join(answers)} will be checked when you submit)")
        return
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    for result in grade_answers(specs_for(notebook), reference, plain, keys=answers):
        print(f"{GREEN if result.passed else RED}{describe(result)}{RESET}")


def tensor_like(value: Any, like: Any) -> Any:
    """`value` (a tensor, array or list of them) as a tensor of `like`'s dtype, so the course's own
    comparison cells accept every form and precision the checks accept."""
    import torch  # only a notebook that already uses torch calls this

    return torch.as_tensor(np.asarray(to_plain(value), dtype=np.float64), dtype=like.dtype)


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


def grade(notebook: str, *keys: str) -> Points:
    """A graded test cell: score keys of the notebook's answer file, print why, return the points earned.

    nbgrader reads the returned number as the cell's partial credit.
    """
    specs = specs_for(notebook)
    try:
        with _quiet():
            results = _grade_dumped(notebook, keys)
    except ReferenceUnavailable as missing:
        print(f"not graded here ({missing}): your instructor grades this cell")
        return Points(0.0, sum(specs[key].points for key in keys))
    for result in results:
        print(describe(result))
    return Points(*total(results))


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


def _explain(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None
) -> list[str]:
    """IPython's handler for a skipped task: one red line saying what to run, no traceback."""
    if isinstance(value, NotImplementedError):
        advice = f"{_unwritten(tb)}: fill in # YOUR CODE HERE, delete raise NotImplementedError(), run it"
    else:
        advice = f"{value}: run the task cell that defines it first (after a restart, run the cells above)"
    lines = [f"{RED}{advice}{RESET}"]
    shell._showtraceback(etype, value, lines)  # IPython ignores the return value; this displays the error
    return lines


def _unwritten(tb: Any) -> str:
    """Which stub raised: the function it sits in (a task that defines a function), else this cell's."""
    while tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_name
    return "this task is not done yet" if name == "<module>" else f"`{name}` is not written yet: in its cell"


def _install_explanations() -> None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.set_custom_exc((NameError, NotImplementedError), _explain)


_install_explanations()
