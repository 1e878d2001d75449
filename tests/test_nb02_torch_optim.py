"""Notebook 02: the grader accepts legitimate forms of the answers and catches the typical mistakes.

Mistaken answers are recomputed with torch.optim from the notebook's definitions with one thing changed,
so each test shows that the grader tells that mistake apart from the reference.
"""

import functools

import nbformat
import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, messages, reference, scores, variant

from graders.paths import REPO_ROOT

NOTEBOOK = "02_torch_optim"
STEPS = 500
OPTIMISERS = {"SGD": torch.optim.SGD, "AdamW": torch.optim.AdamW, "Adam": torch.optim.Adam}
# Which answer keys each task's run fills, and its learning rate.
TASKS = {"SGD": ("var_history_3", "fn_history_3", 0.001), "AdamW": ("var_history_4", "fn_history_4", 1.0)}


@pytest.fixture(autouse=True, scope="module")
def _warm_up_torch_optim() -> None:
    """The first optimizer step in a process takes about a second of one-off imports; pay it once, here."""
    parameter = torch.zeros(1, requires_grad=True)
    parameter.sum().backward()
    torch.optim.SGD([parameter], lr=0.1).step()


def function_skewed(variable: torch.Tensor) -> torch.Tensor:
    gramma = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=variable.dtype) @ torch.tensor(
        [[1.0, 0.0], [0.0, 4.0]], dtype=variable.dtype
    )
    return 10 * (variable @ (gramma @ variable))


@functools.cache
def histories(
    optimiser: str,
    learning_rate: float,
    dtype: torch.dtype = torch.float32,
    zero_grad: bool = True,
    maximize: bool = False,
    value_after_step: bool = False,
    position_before_step: bool = False,
) -> tuple[list[torch.Tensor], list[float]]:
    """Positions and values of the notebook's loop; the flags make one mistake each."""
    x = torch.tensor([8.0, 8.0], dtype=dtype, requires_grad=True)
    optimizer = OPTIMISERS[optimiser]([x], lr=learning_rate, maximize=maximize)
    positions, values = [], []
    for _ in range(STEPS):
        if zero_grad:
            optimizer.zero_grad()
        before = x.detach().clone()
        function_result = function_skewed(x)
        function_result.backward()
        optimizer.step()
        positions.append(before if position_before_step else x.detach().clone())
        values.append(function_skewed(x.detach()).item() if value_after_step else function_result.item())
    return positions, values


def task_answers(task: str, optimiser: str | None = None, learning_rate: float | None = None, **mistake):
    """The two answers of a task ("SGD" or "AdamW"), computed with a possibly different optimiser or lr."""
    position_key, value_key, task_lr = TASKS[task]
    positions, values = histories(
        optimiser or task, task_lr if learning_rate is None else learning_rate, **mistake
    )
    return {position_key: positions, value_key: values}


def theta_scalar(initial_theta, learning_rate, number_steps, ascent=False, zero_grad=True) -> float:
    theta, accumulated = initial_theta, 0.0
    for _ in range(number_steps):
        accumulated = 2 * theta + (0.0 if zero_grad else accumulated)
        theta += (1 if ascent else -1) * learning_rate * accumulated
    return theta


def theta_optimiser(learning_rates=(0.1, 0.3), **mistake) -> list[float]:
    """theta_optimiser for the notebook's settings (1.0, 0.1, 20) and (-3.0, 0.3, 5)."""
    return [
        theta_scalar(start, rate, count, **mistake)
        for start, rate, count in zip((1.0, -3.0), learning_rates, (20, 5), strict=True)
    ]


def theta_norm(learning_rate=0.2, number_steps=20, **mistake) -> np.ndarray:
    return np.array([theta_scalar(start, learning_rate, number_steps, **mistake) for start in (1.0, -1.0)])


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_recomputed_runs_score_full_marks(dtype):
    answers = variant(NOTEBOOK, **task_answers("SGD", dtype=dtype), **task_answers("AdamW", dtype=dtype))
    assert set(scores(NOTEBOOK, answers).values()) == {1.0}


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
@pytest.mark.parametrize("task", TASKS)
def test_legitimate_forms_of_the_histories_score_full_marks(task, convert):
    answers = {key: convert(value) for key, value in task_answers(task).items()}
    got = scores(NOTEBOOK, variant(NOTEBOOK, **answers))
    assert [got[key] for key in answers] == [1.0, 1.0]


@pytest.mark.parametrize("learning_rate", [0.01, 0.0011, 0.0001])
def test_sgd_with_a_wrong_learning_rate_fails(learning_rate):
    got = scores(NOTEBOOK, variant(NOTEBOOK, **task_answers("SGD", learning_rate=learning_rate)))
    assert got["var_history_3"] == 0.0
    # Only the value at the start, recorded before the first step, agrees.
    assert got["fn_history_3"] == 1 / STEPS


@pytest.mark.parametrize("learning_rate", [0.1, 0.9, 1.1])
def test_adamw_with_a_wrong_learning_rate_fails(learning_rate):
    answers = variant(NOTEBOOK, **task_answers("AdamW", learning_rate=learning_rate))
    got = scores(NOTEBOOK, answers)
    # Every converging run ends near zero, where late steps agree within CLOSE's atol: partial credit only.
    assert got["var_history_4"] < 0.5
    assert got["fn_history_4"] < 0.7
    assert "first difference at step 0" in messages(NOTEBOOK, answers)["var_history_4"]


def test_adam_instead_of_adamw_fails_from_the_first_step():
    answers = variant(NOTEBOOK, **task_answers("AdamW", optimiser="Adam"))
    got, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    assert got["var_history_4"] < 0.5
    assert got["fn_history_4"] < 0.7
    assert "expected [8.92, 6.92], got [9., 7.]" in said["var_history_4"]


@pytest.mark.parametrize("task", TASKS)
def test_a_forgotten_zero_grad_fails(task):
    answers = task_answers(task, zero_grad=False)
    got = scores(NOTEBOOK, variant(NOTEBOOK, **answers))
    assert all(got[key] <= 0.01 for key in answers)


# Ascent overflows float32 to inf, and kinds.diagnose then divides inf by inf (numpy warns; grade() is quiet).
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("task", TASKS)
def test_gradient_ascent_fails(task):
    answers = task_answers(task, maximize=True)
    got = scores(NOTEBOOK, variant(NOTEBOOK, **answers))
    assert all(got[key] <= 1 / STEPS for key in answers)


@pytest.mark.parametrize("task", TASKS)
def test_a_value_recorded_after_the_step_is_diagnosed_as_one_step_ahead(task):
    value_key = TASKS[task][1]
    answers = variant(NOTEBOOK, **task_answers(task, value_after_step=True))
    assert scores(NOTEBOOK, answers)[value_key] < 0.7
    assert "one step ahead" in messages(NOTEBOOK, answers)[value_key]


@pytest.mark.parametrize("task", TASKS)
def test_a_position_recorded_before_the_step_is_diagnosed_as_one_step_behind(task):
    position_key = TASKS[task][0]
    answers = variant(NOTEBOOK, **task_answers(task, position_before_step=True))
    assert scores(NOTEBOOK, answers)[position_key] < 0.7
    assert "one step behind" in messages(NOTEBOOK, answers)[position_key]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(theta_optimiser(), id="float64 closed form"),
        pytest.param(np.float32(theta_optimiser()), id="float32 array"),
        pytest.param(torch.tensor(theta_optimiser()), id="tensor"),
    ],
)
def test_legitimate_forms_of_theta_optimiser_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, theta_optimiser=value))["theta_optimiser"] == 1.0


@pytest.mark.parametrize(
    "mistaken",
    [
        pytest.param(theta_optimiser(ascent=True), id="gradient ascent"),
        pytest.param(theta_optimiser(zero_grad=False), id="forgotten zero_grad"),
        pytest.param(
            theta_optimiser(learning_rates=(0.1, 0.1)), id="learning rate not taken from the argument"
        ),
    ],
)
def test_mistakes_in_theta_optimiser_fail(mistaken):
    assert scores(NOTEBOOK, variant(NOTEBOOK, theta_optimiser=mistaken))["theta_optimiser"] == 0.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(theta_norm(), id="float64 closed form"),
        pytest.param(theta_norm().tolist(), id="plain list"),
        pytest.param(torch.tensor(theta_norm(), dtype=torch.float32), id="float32 tensor"),
    ],
)
def test_legitimate_forms_of_theta_norm_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, theta_norm_optimiser=value))["theta_norm_optimiser"] == 1.0


@pytest.mark.parametrize(
    "mistaken",
    [
        pytest.param(theta_norm(ascent=True), id="gradient ascent"),
        pytest.param(theta_norm(zero_grad=False), id="forgotten zero_grad"),
        pytest.param(theta_norm(learning_rate=0.1), id="wrong learning rate"),
        pytest.param(theta_norm(number_steps=21), id="one step too many"),
        pytest.param(theta_norm()[:1], id="a scalar instead of the vector"),
    ],
)
def test_mistakes_in_theta_norm_fail(mistaken):
    assert scores(NOTEBOOK, variant(NOTEBOOK, theta_norm_optimiser=mistaken))["theta_norm_optimiser"] == 0.0


def test_a_negated_theta_norm_is_diagnosed_as_a_sign_error():
    answers = variant(NOTEBOOK, theta_norm_optimiser=-theta_norm())
    assert scores(NOTEBOOK, answers)["theta_norm_optimiser"] == 0.0
    assert "sign is flipped" in messages(NOTEBOOK, answers)["theta_norm_optimiser"]


@pytest.mark.parametrize("task", TASKS)
def test_a_history_of_one_shared_tensor_is_named_as_a_missing_copy(task):
    # Appending x.data without a copy: every entry is the same tensor and shows the final point.
    position_key, _, _ = TASKS[task]
    positions = task_answers(task)[position_key]
    answers = variant(NOTEBOOK, **{position_key: [positions[-1]] * len(positions)})
    assert scores(NOTEBOOK, answers)[position_key] == 0.0
    assert "append a copy" in messages(NOTEBOOK, answers)[position_key]


def test_the_check_cell_passes_tensors_so_a_parameter_built_from_them_works():
    """The original exercise's code, torch.nn.Parameter(initial_theta), runs in the notebook's check cell."""

    def parameter_descent(initial_theta, learning_rate, number_steps):
        theta = torch.nn.Parameter(initial_theta)
        optimizer = torch.optim.SGD([theta], lr=learning_rate)
        for _ in range(number_steps):
            optimizer.zero_grad()
            (theta**2).sum().backward()
            optimizer.step()
        return theta.detach() if theta.ndim else theta.item()

    checked = {}
    namespace = {
        "torch": torch,
        "NOTEBOOK": NOTEBOOK,
        "check": lambda notebook, **answers: checked.update(answers),
        "tensor_like": lambda value, like: torch.as_tensor(np.asarray(value), dtype=like.dtype),
        "gradient_descent_torch_optimiser": parameter_descent,
        "gradient_descent_norm_torch_optimiser": parameter_descent,
    }
    exec(check_cell("check-optimiser-functions"), namespace)
    assert scores(NOTEBOOK, variant(NOTEBOOK, **checked)) == scores(NOTEBOOK, reference(NOTEBOOK))
    assert set(scores(NOTEBOOK, variant(NOTEBOOK, **checked)).values()) == {1.0}


def check_cell(grade_id: str) -> str:
    """The source of one of the solution notebook's cells, by its nbgrader grade_id."""
    notebook = nbformat.read(REPO_ROOT / "solutions" / f"{NOTEBOOK}.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source
