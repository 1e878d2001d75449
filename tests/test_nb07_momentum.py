"""Notebook 07: the grader accepts legitimate forms of the answers and catches the typical mistakes, on the
public problem and on a hidden instance alike; every instance keeps the lesson.

The paths are recomputed from the notebook's definitions with one thing changed, from the instance's start;
the step counts come from a NumPy copy of the update, which must count exactly what the notebook's torch
version counts, for the instance's κ. Each is graded against that instance's reference.
"""

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from grading_helpers import (
    TRAJECTORY_FORMS,
    GradedInstance,
    case_fixture,
    outputs_of_edited_solution,
    printed,
)

from graders.core.problems.nb07_momentum import KAPPA_SHIFT, START_MAGNITUDES, Problem, problem

NOTEBOOK = "07_momentum"
LEARNING_RATE, MOMENTUM, DAMPENING, STEPS = 0.001, 0.9, 0.5, 200
TOLERANCE = 1e-6


def function_skewed(variable: torch.Tensor) -> torch.Tensor:
    gamma = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=variable.dtype) @ torch.tensor(
        [[1.0, 0.0], [0.0, 4.0]], dtype=variable.dtype
    )
    return 10 * (variable @ (gamma @ variable))


@functools.cache
def path(
    start: tuple[float, float],
    dampening: float = 0.0,
    dtype: torch.dtype = torch.float32,
    averaging: bool = False,
    damp_first: bool = False,
    damp_buffer: bool = False,
    zero_grad: bool = True,
    classical: bool = False,
    ascent: bool = False,
    library: bool = False,
    momentum: float = MOMENTUM,
) -> tuple[np.ndarray, ...]:
    """The 200 points after each step from `start`; each flag makes one change to the notebook's update."""
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    if library:
        optimizer = torch.optim.SGD([x], lr=LEARNING_RATE, momentum=momentum, dampening=dampening)
    buffer = torch.zeros(2, dtype=dtype)
    points = []
    for step in range(STEPS):
        if library:
            optimizer.zero_grad()
            function_skewed(x).backward()
            optimizer.step()
            points.append(x.detach().numpy().copy())
            continue
        function_skewed(x).backward()
        with torch.no_grad():
            gradient = -x.grad if ascent else x.grad.clone()
            if averaging:
                buffer = momentum * buffer + (1 - momentum) * gradient
            elif damp_buffer:
                buffer = (1 - dampening) * (momentum * buffer + gradient) if step else gradient
            elif classical:
                # v ← μv − αg, x ← x + v: the same iterates as PyTorch's form for a constant α.
                buffer = momentum * buffer - LEARNING_RATE * gradient
            elif step == 0 and not damp_first:
                buffer = gradient
            else:
                buffer = momentum * buffer + (1 - dampening) * gradient
            x += buffer if classical else -LEARNING_RATE * buffer
        if zero_grad:
            x.grad.zero_()
        points.append(x.detach().numpy().copy())
    return tuple(points)


def steps_to_tolerance(
    kappa: float,
    learning_rate: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    first_step: int = 1,
    dtype: type = np.float64,
) -> int:
    curvatures = np.array([1.0, kappa], dtype=dtype)
    x, buffer = np.ones(2, dtype=dtype), np.zeros(2, dtype=dtype)
    for step in range(first_step, 100_000):
        gradient = curvatures * x
        buffer = dtype(momentum) * buffer + gradient
        x = x - dtype(learning_rate) * (gradient + dtype(momentum) * buffer if nesterov else buffer)
        if np.linalg.norm(x) <= TOLERANCE:
            return step
    raise AssertionError("no convergence")


def heavy_ball_tuning(kappa: float, squared: bool = True) -> tuple[float, float]:
    root = math.sqrt(kappa)
    ratio = (root - 1) / (root + 1)
    return 4 / (root + 1) ** 2, ratio**2 if squared else ratio


def nesterov_tuning(kappa: float, squared: bool = False) -> tuple[float, float]:
    ratio = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    return 1 / kappa, ratio**2 if squared else ratio


def gd_tuning(kappa: float) -> tuple[float, float]:
    return 1 / kappa, 0.0


def counts(kappas: tuple[int, ...], tuning, **options) -> list[int]:
    return [steps_to_tolerance(kappa, *tuning(kappa), **options) for kappa in kappas]


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


@pytest.fixture
def chosen(case: Case) -> Problem:
    return problem(case.number)


# --- every instance keeps the lesson ----------------------------------------------------------------------


@pytest.mark.parametrize("instance_number", range(8))
def test_every_instance_keeps_the_lesson(instance_number: int) -> None:
    """The heavy ball arrives within the 200 steps where gradient descent has not; one κ per decade, with
    gradient descent's count about κ ln(1/ε) and momentum's about √κ times smaller; all counts new."""
    chosen = problem(instance_number)
    start = np.array(chosen.start)
    if instance_number:
        assert all(START_MAGNITUDES[0] <= abs(value) <= START_MAGNITUDES[1] for value in start)
    descent, heavy = path(chosen.start, momentum=0.0, library=True), path(chosen.start)
    assert np.linalg.norm(heavy[-1]) < 1e-3 * np.linalg.norm(start) < np.linalg.norm(descent[-1])
    for decade, kappa in enumerate(chosen.kappas, start=1):
        shift = abs(math.log10(kappa) - decade)
        assert shift == 0 if instance_number == 0 else KAPPA_SHIFT[0] - 0.01 < shift < KAPPA_SHIFT[1] + 0.01
    plain, polyak = counts(chosen.kappas, gd_tuning), counts(chosen.kappas, heavy_ball_tuning)
    nesterov = counts(chosen.kappas, nesterov_tuning, nesterov=True)
    for kappa, descent_count, heavy_count, nesterov_count in zip(
        chosen.kappas, plain, polyak, nesterov, strict=True
    ):
        assert abs(descent_count - kappa * math.log(1 / TOLERANCE)) < 0.1 * descent_count
        assert heavy_count < nesterov_count < descent_count
        assert descent_count / heavy_count > math.sqrt(kappa)
    if instance_number:
        public = problem(0).kappas
        assert plain != counts(public, gd_tuning) and polyak != counts(public, heavy_ball_tuning)
        assert nesterov != counts(public, nesterov_tuning, nesterov=True)


def test_the_reference_counts_are_the_recomputed_ones(chosen: Problem, case: Case) -> None:
    assert counts(chosen.kappas, gd_tuning) == list(case.expected["gd_steps"])
    assert counts(chosen.kappas, heavy_ball_tuning) == list(case.expected["heavy_ball_steps"])
    assert counts(chosen.kappas, nesterov_tuning, nesterov=True) == list(case.expected["nesterov_steps"])


# --- legitimate variants: full marks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"dtype": torch.float64}, id="float64"),
        pytest.param({"classical": True}, id="classical form v = μv − αg"),
        pytest.param({"library": True}, id="torch.optim.SGD"),
    ],
)
def test_legitimate_heavy_ball_paths_score_full_marks(
    chosen: Problem, case: Case, options: dict[str, Any]
) -> None:
    assert case.scores(heavy_ball_path=list(path(chosen.start, **options)))["heavy_ball_path"] == 1.0


@pytest.mark.parametrize(
    "options",
    [pytest.param({"dtype": torch.float64}, id="float64"), pytest.param({"library": True}, id="torch.optim")],
)
def test_legitimate_dampened_paths_score_full_marks(
    chosen: Problem, case: Case, options: dict[str, Any]
) -> None:
    answers = {"dampened_path": list(path(chosen.start, dampening=DAMPENING, **options))}
    assert case.scores(**answers)["dampened_path"] == 1.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_paths_score_full_marks(chosen: Problem, case: Case, convert) -> None:
    answers = {
        "heavy_ball_path": convert(list(path(chosen.start))),
        "dampened_path": convert(list(path(chosen.start, DAMPENING))),
    }
    got = case.scores(**answers)
    assert (got["heavy_ball_path"], got["dampened_path"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(list, id="list of ints"),
        pytest.param(lambda found: np.array(found, dtype=np.int64), id="int array"),
        pytest.param(torch.tensor, id="tensor"),
        pytest.param(lambda found: [float(count) for count in found], id="floats"),
    ],
)
def test_legitimate_forms_of_the_counts_score_full_marks(chosen: Problem, case: Case, value) -> None:
    assert case.scores(gd_steps=value(counts(chosen.kappas, gd_tuning)))["gd_steps"] == 1.0


def test_float32_counts_score_full_marks(chosen: Problem, case: Case) -> None:
    answers = {
        "gd_steps": counts(chosen.kappas, gd_tuning, dtype=np.float32),
        "heavy_ball_steps": counts(chosen.kappas, heavy_ball_tuning, dtype=np.float32),
        "nesterov_steps": counts(chosen.kappas, nesterov_tuning, nesterov=True, dtype=np.float32),
    }
    got = case.scores(**answers)
    assert (got["gd_steps"], got["heavy_ball_steps"], got["nesterov_steps"]) == (1.0, 1.0, 1.0)


# --- mistaken variants: no credit, and the message names the mistake ----------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"averaging": True}, id="averaging buffer"),
        pytest.param({"zero_grad": False}, id="forgotten zero_"),
        pytest.param({"dampening": DAMPENING}, id="dampened"),
    ],
)
def test_mistaken_heavy_ball_paths_fail(chosen: Problem, case: Case, options: dict[str, Any]) -> None:
    answers = {"heavy_ball_path": list(path(chosen.start, **options))}
    assert case.scores(**answers)["heavy_ball_path"] < 0.05
    assert "first difference at step" in case.messages(**answers)["heavy_ball_path"]


def test_a_gradient_left_to_pile_up_gets_the_hint_not_a_sign_diagnosis(chosen: Problem, case: Case) -> None:
    # Its first step is right and its later ones overshoot: that is no uphill run with a flipped sign.
    piled_up = {"heavy_ball_path": list(path(chosen.start, zero_grad=False))}
    said = case.messages(**piled_up)["heavy_ball_path"]
    assert "cleared between steps" in said
    assert "went uphill" not in said


def test_an_averaging_buffer_is_named_in_the_message(chosen: Problem, case: Case) -> None:
    answers = {"heavy_ball_path": list(path(chosen.start, averaging=True))}
    assert "a sum, not an average" in case.messages(**answers)["heavy_ball_path"]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_an_ascending_heavy_ball_fails_and_the_message_names_the_sign(chosen: Problem, case: Case) -> None:
    answers = {"heavy_ball_path": list(path(chosen.start, ascent=True))}
    assert case.scores(**answers)["heavy_ball_path"] == 0.0
    said = case.messages(**answers)["heavy_ball_path"]
    assert "sign" in said or "downhill" in said or "uphill" in said


def test_dampening_at_the_first_step_fails_from_step_0_and_says_why(chosen: Problem, case: Case) -> None:
    answers = {"dampened_path": list(path(chosen.start, DAMPENING, damp_first=True))}
    assert case.scores(**answers)["dampened_path"] < 0.05
    said = case.messages(**answers)["dampened_path"]
    assert "first difference at step 0" in said and "undamped gradient" in said


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"damp_buffer": True}, id="whole buffer damped"),
        pytest.param({}, id="no dampening"),
        pytest.param({"zero_grad": False}, id="forgotten zero_"),
    ],
)
def test_other_mistaken_dampened_paths_fail(chosen: Problem, case: Case, options: dict[str, Any]) -> None:
    options = {"dampening": DAMPENING if options else 0.0, **options}
    answers = {"dampened_path": list(path(chosen.start, **options))}
    assert case.scores(**answers)["dampened_path"] < 0.05
    case.messages(**answers)["dampened_path"]


@pytest.mark.parametrize("key, tuning", [("gd_steps", gd_tuning), ("heavy_ball_steps", heavy_ball_tuning)])
def test_a_count_one_off_fails_and_names_the_counting(chosen: Problem, case: Case, key: str, tuning) -> None:
    answers = {key: counts(chosen.kappas, tuning, first_step=0)}
    assert case.scores(**answers)[key] == 0.0
    said = case.messages(**answers)[key]
    assert "one too small" in said and "first step counted as 1" in said


def test_a_heavy_ball_with_the_momentum_not_squared_fails_and_says_so(chosen: Problem, case: Case) -> None:
    answers = {
        "heavy_ball_steps": counts(chosen.kappas, lambda kappa: heavy_ball_tuning(kappa, squared=False))
    }
    assert case.scores(**answers)["heavy_ball_steps"] == 0.0
    assert "squared" in case.messages(**answers)["heavy_ball_steps"]


def test_the_optimal_fixed_step_is_not_the_asked_one(chosen: Problem, case: Case) -> None:
    # 2/(L + μ) is the best fixed step (the conditioning notebook); the task asks for 1/L, rate 1 − 1/κ.
    answers = {"gd_steps": counts(chosen.kappas, lambda kappa: (2 / (kappa + 1), 0.0))}
    assert case.scores(**answers)["gd_steps"] == 0.0
    assert "learning rate 1/κ" in case.messages(**answers)["gd_steps"]


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"tuning": nesterov_tuning}, id="nesterov=True forgotten"),
        pytest.param(
            {"tuning": lambda kappa: nesterov_tuning(kappa, squared=True), "nesterov": True},
            id="squared momentum",
        ),
        pytest.param({"tuning": heavy_ball_tuning}, id="the heavy ball's counts"),
    ],
)
def test_mistaken_nesterov_counts_fail(chosen: Problem, case: Case, mistake: dict[str, Any]) -> None:
    answers = {"nesterov_steps": counts(chosen.kappas, **mistake)}
    assert case.scores(**answers)["nesterov_steps"] == 0.0
    assert "nesterov=True" in case.messages(**answers)["nesterov_steps"]


# --- the locked cells take what the checks take, and never raise for a mistake ----------------------

# The task cells a student might write: paths stored as arrays and as lists (the check accepts both), and
# steps_to_tolerance counting its steps from 0, one too few.
STUDENT_CELLS = {
    "heavy-ball": """x = torch.tensor(START, requires_grad=True)
buffer = torch.zeros(2)
heavy_ball_path = []
for _ in range(STEPS):
    function_skewed(x).backward()
    with torch.no_grad():
        buffer = MOMENTUM * buffer + x.grad
        x -= LEARNING_RATE * buffer
    x.grad.zero_()
    heavy_ball_path.append(x.detach().numpy().copy())""",
    "dampened": """DAMPENING = 0.5
x = torch.tensor(START, requires_grad=True)
dampened_path = []
for step in range(STEPS):
    function_skewed(x).backward()
    with torch.no_grad():
        buffer = x.grad.clone() if step == 0 else MOMENTUM * buffer + (1 - DAMPENING) * x.grad
        x -= LEARNING_RATE * buffer
    x.grad.zero_()
    dampened_path.append(x.detach().tolist())""",
}


def student_cell(cell_id: str | None, source: str) -> str:
    """The student's cells above in place of the task cells, and the rates counted from zero."""
    if cell_id != "rates":
        return STUDENT_CELLS.get(cell_id, source)
    counted_from_zero = source.replace("range(1, max_steps + 1)", "range(max_steps)")
    assert counted_from_zero != source
    return counted_from_zero


@pytest.mark.slow  # executes the notebook
def test_locked_cells_compare_paths_in_any_form_and_name_an_off_by_one_count_without_a_traceback(
    tmp_path: Path,
) -> None:
    outputs = outputs_of_edited_solution(NOTEBOOK, student_cell, tmp_path)
    assert "largest difference from torch.optim.SGD(momentum=0.9)" in printed(outputs["check-heavy-ball"])
    assert "largest difference" in printed(outputs["check-dampened"])
    said = printed(outputs["check-rates"])
    assert "one too small" in said and "disagrees with torch.optim.SGD" in said
