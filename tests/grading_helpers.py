"""Shared by the tests: grade variants of a notebook's reference answers."""

import copy
from typing import Any

import numpy as np
import pytest
import torch

from graders.grading import grade_answers, load_reference
from graders.saving import to_plain
from graders.specs import specs_for


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
