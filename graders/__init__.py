"""Autograder for the course 'Gradient descent with PyTorch'."""

from graders.grading import KeyResult, Spec, grade_answers
from graders.loader import AnswerFileError, Rejected, load_answers, loads_answers
from graders.notebook import check, dump_answers, grade
from graders.saving import save_answers

__all__ = [
    "AnswerFileError",
    "KeyResult",
    "Rejected",
    "Spec",
    "check",
    "dump_answers",
    "grade",
    "grade_answers",
    "load_answers",
    "loads_answers",
    "save_answers",
]
