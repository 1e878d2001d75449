"""Shared by the tests: grade variants of a notebook's reference answers."""

import copy
from typing import Any

from graders.grading import grade_answers, load_reference
from graders.saving import to_plain
from graders.specs import specs_for


def reference(notebook: str) -> dict[str, Any]:
    """A fresh, mutable copy of a notebook's reference answers."""
    return copy.deepcopy(load_reference(notebook))


def scores(notebook: str, answers: dict[str, Any]) -> dict[str, float]:
    """Share of the points (0..1) each key earns; values are converted as save_answers would."""
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    specs = specs_for(notebook)
    return {r.key: r.earned / r.points for r in grade_answers(specs, load_reference(notebook), plain)}


def messages(notebook: str, answers: dict[str, Any]) -> dict[str, str]:
    """The message each key gets."""
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    return {r.key: r.message for r in grade_answers(specs_for(notebook), load_reference(notebook), plain)}


def variant(notebook: str, **changes: Any) -> dict[str, Any]:
    """The reference answers with some keys replaced."""
    answers = reference(notebook)
    answers.update(changes)
    return answers
