"""Score answer files: load each one safely, grade it against the reference, and say what is wrong.

Both grading paths score with grade_answer_file: the fast path on a folder of answer files
(ROOT/<student_id>/<notebook>/<notebook>.answer.json, or a course's older `.answer.json`), the class
path on what each kernel left, outside the kernel.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.core.answer_files import find_answer_file
from graders.core.grading import KeyResult, grade_answers, load_reference, total
from graders.core.loader import TORCH_TENSOR_MESSAGE, AnswerFileError, Rejected, load_answers
from graders.core.specs import specs_for


@dataclass(frozen=True)
class Submission:
    """One student's graded answers for one notebook; `submitted` is False when there was no answer file."""

    student: str
    notebook: str
    results: list[KeyResult]
    problem: str = ""
    submitted: bool = True

    @property
    def score(self) -> float:
        return total(self.results)[0]

    @property
    def max_score(self) -> float:
        return total(self.results)[1]


def grade_answer_file(notebook: str, path: Path, reference: Mapping[str, Any] | None = None) -> Submission:
    """Grade one answer file against `reference` (default: the public instance's); an unreadable file
    scores 0 on every key and names why, refused values too."""
    student = path.parent.parent.name
    specs = specs_for(notebook)
    try:
        answers = load_answers(path)
        results = grade_answers(specs, load_reference(notebook) if reference is None else reference, answers)
    except AnswerFileError as error:
        return all_zero(student, notebook, f"answer file unusable: {error}", str(error))
    except Exception as error:  # a grader bug on one file must not stop the class
        return all_zero(
            student, notebook, "could not be graded", f"grader error {type(error).__name__}: {error}"
        )
    # A stored tensor is an honest slip that the student's feedback explains; anything else the loader
    # refused was crafted, and the instructor should see it.
    refused = [
        f"{key}: {value.reason}"
        for key, value in answers.items()
        if isinstance(value, Rejected) and TORCH_TENSOR_MESSAGE not in value.reason
    ]
    return Submission(
        student, notebook, results, problem="; ".join(f"refused {reason}" for reason in refused)
    )


def grade_folder(root: Path, notebooks: Iterable[str], students: Iterable[str] = ()) -> list[Submission]:
    """Every student (found in the folder or named) gets a row for every notebook, present or not."""
    everyone = sorted(set(students) | {path.name for path in root.iterdir() if path.is_dir()})
    return [
        _grade_or_missing(find_answer_file(root / student / notebook, notebook), notebook)
        for notebook in notebooks
        for student in everyone
    ]


def _grade_or_missing(path: Path, notebook: str) -> Submission:
    if path.is_file():
        return grade_answer_file(notebook, path)
    missing = all_zero(path.parent.parent.name, notebook, "no answer file submitted", f"missing {path.name}")
    return dataclasses.replace(missing, submitted=False)


def all_zero(student: str, notebook: str, message: str, problem: str = "") -> Submission:
    """0 on every key of the notebook, each with `message`: there was nothing usable to grade."""
    results = [
        KeyResult(key, 0.0, spec.points, message, message) for key, spec in specs_for(notebook).items()
    ]
    return Submission(student, notebook, results, problem=problem)
