"""Autograder for the course 'Gradient descent with PyTorch'; the notebooks import the student API from here.

Three wings: graders.core (kernel-safe: load an answer file, compare, score, the specs, the student API),
graders.classroom (grade a class with nbgrader) and graders.publishing (student notebooks, answers, the site).
"""

from graders.core.answer_files import save_answers
from graders.core.grading import KeyResult, Spec, grade_answers
from graders.core.instances import instance
from graders.core.loader import AnswerFileError, Rejected, load_answers, loads_answers
from graders.core.student import check, dump_answers, grade, start_notebook, tensor_like

__all__ = [
    "AnswerFileError",
    "KeyResult",
    "Rejected",
    "Spec",
    "check",
    "dump_answers",
    "grade",
    "grade_answers",
    "instance",
    "load_answers",
    "loads_answers",
    "save_answers",
    "start_notebook",
    "tensor_like",
]
