"""What the notebooks call: self-checks after each task, the answer dump, and the graded test cells.

Self-checks and graded cells share grade_value, so a passing self-check means full points. A graded
cell whose key changed in the kernel since the dump says the answer file is older than the work; under
nbgrader Validate it names the keys still to do. Importing it changes nothing: a notebook's setup cell calls
start_notebook, which in a Jupyter kernel makes a skipped task's NameError, and a stub's NotImplementedError,
say what to do instead of a traceback.
"""

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graders.core.answer_files import answer_file, collect_answers, find_answer_file, save_answers, to_plain
from graders.core.dump_record import DUMP_MIME, dump_record
from graders.core.grading import (
    KeyResult,
    ReferenceUnavailable,
    describe,
    grade_answers,
    load_reference,
    total,
)
from graders.core.instances import instance
from graders.core.loader import AnswerFileError, Rejected, load_answers
from graders.core.specs import specs_for

GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


class Points(float):
    """A graded cell's points: nbgrader parses text/plain as the float, Jupyter shows `2/2 points`."""

    def __new__(cls, earned: float, possible: float) -> "Points":
        points = super().__new__(cls, earned)
        points.possible = possible
        return points

    def _repr_html_(self) -> str:
        # In a learner's own kernel these points are a self-check; nbgrader's runs record the grade.
        own = _shell() is not None and "NBGRADER_EXECUTION" not in os.environ
        return f"<b>{float(self):g}/{self.possible:g} points</b>" + (" <i>(self-check)</i>" if own else "")


def check(notebook: str, **answers: Any) -> None:
    """Self-check answers against the reference and print each key's points and message, in colour.

    It prints rather than raises: a traceback from inside graders would bury the one line that matters.
    """
    try:
        reference = load_reference(notebook)
    except ReferenceUnavailable:
        print(f"(no reference answers here: {', '.join(answers)} will be checked when you submit)")
        return
    plain, unusable = _storable(answers)
    for key in answers:
        if key in unusable:
            print(f"{RED}✗ {key}: {unusable[key]}{RESET}")
            continue
        try:
            (result,) = grade_answers(specs_for(notebook), reference, plain, keys=[key])
        except Exception as error:  # a value no comparison expected: say so, never a traceback
            print(f"{RED}✗ {key}: cannot be checked ({type(error).__name__}: {error}){RESET}")
            continue
        print(f"{GREEN if result.passed else RED}{describe(result)}{RESET}")


def tensor_like(value: Any, like: Any) -> Any:
    """`value` (a tensor, array or list of them) as a tensor of `like`'s dtype, so the course's own
    comparison cells accept every form and precision the checks accept."""
    import torch  # only a notebook that already uses torch calls this

    return torch.as_tensor(np.asarray(to_plain(value), dtype=np.float64), dtype=like.dtype)


def dump_answers(notebook: str, namespace: Mapping[str, Any]) -> None:
    """Save every answer variable the notebook defines to NN_name.answer.json and say what is missing.

    Beside the printed line it displays a record of what it wrote (graders.core.dump_record), which the
    class grader compares with the file it grades.
    """
    keys = list(specs_for(notebook))
    answers, unusable = _storable(collect_answers(namespace, keys))
    path = save_answers(answers, answer_file(notebook))
    missing = [key for key in keys if key not in answers and key not in unusable]
    line = (
        f"saved {len(answers)} of {len(keys)} answers to {path}"
        + (f"; missing: {', '.join(missing)}" if missing else "")
        + "".join(f"; not saved: {problem}" for problem in unusable.values())
    )
    shell = _shell()
    if shell is None:
        print(line)
        return
    from IPython.display import publish_display_data  # only inside a kernel

    publish_display_data({"text/plain": line, DUMP_MIME: dump_record(path, list(answers))})


# What a graded cell says about a key whose value in the kernel is not the one in the answer file.
STALE = "your answer file is older than your work: run *Save your answers* again"


def grade(notebook: str, *keys: str) -> Points:
    """A graded test cell: score keys of the notebook's answer file, print why, return the points earned.

    nbgrader reads the returned number as the cell's partial credit. Under nbgrader Validate, the keys
    still to do are written to stderr, which Validate shows instead of "Partial credit".
    """
    specs = specs_for(notebook)
    possible = sum(specs[key].points for key in keys)
    stale = _stale_keys(notebook, keys)
    try:
        with _quiet():
            results = _grade_dumped(notebook, keys)
    except ReferenceUnavailable as missing:
        print(f"not graded here ({missing}): your instructor grades this cell")
        return _unchecked(notebook, keys, stale, possible)
    for result in results:
        print(f"✗ {result.key}: {STALE}" if result.key in stale else describe(result))
    earned = total(results)[0]
    if _validating() and earned < possible:
        unfinished = [
            f"✗ {result.key}: {STALE}" if result.key in stale else _to_do(result) for result in results
        ]
        print("\n".join(line for line in unfinished if line), file=sys.stderr)
    return Points(earned, possible)


def _unchecked(notebook: str, keys: tuple[str, ...], stale: list[str], possible: float) -> Points:
    """Without reference answers: under Validate, full points when every key is saved and fresh (the
    instructor checks the values), else the keys still to do on stderr; otherwise 0 (not graded here)."""
    if not _validating():
        return Points(0.0, possible)
    try:
        saved = load_answers(find_answer_file(Path.cwd(), notebook))
    except AnswerFileError:
        saved = {}
    to_do = [f"✗ {key}: {STALE}" for key in stale]
    to_do += [_to_do(KeyResult(key, 0.0, 0.0, "missing")) for key in keys if key not in saved]
    if to_do:
        print("\n".join(to_do), file=sys.stderr)
        return Points(0.0, possible)
    return Points(possible, possible)


def _to_do(result: KeyResult) -> str:
    """A key that still needs work, as Validate lists it: a missing one names its task."""
    if result.passed:
        return ""
    if result.message.startswith("missing"):
        return f"✗ {result.key}: still to do: its task cell has not defined {result.key}"
    return describe(result)


def _validating() -> bool:
    """nbgrader Validate is running this notebook (it sets NBGRADER_EXECUTION for the kernel)."""
    return os.environ.get("NBGRADER_EXECUTION") == "validate"


def _stale_keys(notebook: str, keys: tuple[str, ...]) -> list[str]:
    """Keys whose value in the kernel differs from the answer file's (or that the file lacks)."""
    shell = _shell()
    if shell is None:
        return []
    try:
        saved = load_answers(find_answer_file(Path.cwd(), notebook))
    except AnswerFileError:
        saved = {}
    stale = []
    for key in keys:
        if key not in shell.user_ns or isinstance(saved.get(key), Rejected):
            continue
        try:
            current = to_plain(shell.user_ns[key], key)
        except TypeError:
            continue  # the dump said it could not save this one
        if key not in saved or not _same(saved[key], current):
            stale.append(key)
    return stale


def _same(saved: Any, current: Any) -> bool:
    """Whether a value read back from the answer file is the one in the kernel, NaN equal to NaN."""
    if isinstance(saved, np.ndarray) or isinstance(current, np.ndarray):
        try:
            first, second = np.asarray(saved), np.asarray(current)
        except ValueError:  # a ragged list beside an array: not the same value
            return False
        if first.shape != second.shape:
            return False
        numeric = first.dtype.kind in "fc" and second.dtype.kind in "fc"
        return bool(np.array_equal(first, second, equal_nan=numeric))
    if isinstance(saved, list | tuple) and isinstance(current, list | tuple):
        return len(saved) == len(current) and all(map(_same, saved, current))
    if isinstance(saved, dict) and isinstance(current, dict):
        return saved.keys() == current.keys() and all(_same(saved[key], current[key]) for key in saved)
    if isinstance(saved, float) and isinstance(current, float) and saved != saved and current != current:
        return True
    return bool(saved == current)


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


def _storable(answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers an answer file can hold, and for each other key why not (it is never a traceback)."""
    plain, unusable = {}, {}
    for key, value in answers.items():
        try:
            plain[key] = to_plain(value, key)
        except TypeError as problem:
            unusable[key] = str(problem)
    return plain, unusable


def _shell() -> Any:
    """The IPython shell running this code, or None outside a kernel."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def start_notebook(notebook: str) -> int:
    """A notebook's setup, from its locked setup cell: the problem instance it works on (instances.instance);
    in a Jupyter kernel, a skipped task or an unwritten stub also gets one line saying what to do."""
    shell = _shell()
    if shell is not None:
        shell.set_custom_exc((NameError, NotImplementedError), _explain)
    return instance(notebook)
