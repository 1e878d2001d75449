"""Notebook 02: the grader accepts legitimate forms of the answers and catches the typical mistakes, on
the public problem and on a hidden instance alike; every instance keeps the lesson.

Mistaken answers are recomputed with torch.optim from an instance's problem
(graders.core.problems.nb02_torch_optim) with one thing changed, and graded against that instance's reference,
so each test shows that the grader tells that mistake apart from the reference.
"""

import functools

import nbformat
import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, GradedInstance, case_fixture

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.paths import REPO_ROOT
from graders.core.problems.nb02_torch_optim import SMALLEST_NORM_RESULT, problem
from graders.core.tolerances import CLOSE

NOTEBOOK = "02_torch_optim"
SGD_STEPS = 500
OPTIMISERS = {"SGD": torch.optim.SGD, "AdamW": torch.optim.AdamW, "Adam": torch.optim.Adam}
# Which answer keys each task's run fills, and its learning rate.
TASKS = {"SGD": ("var_history_3", "fn_history_3", 0.001), "AdamW": ("var_history_4", "fn_history_4", 1.0)}
LESSON_INSTANCES = range(8)


class Instance(GradedInstance):
    notebook = NOTEBOOK
    problem_of = problem

    def task_answers(self, task: str, optimiser: str | None = None, learning_rate=None, **mistake):
        """The two answers of a task ("SGD" or "AdamW"), with a possibly different optimiser or lr."""
        position_key, value_key, task_lr = TASKS[task]
        bowl = (self.problem.start, tuple(map(tuple, self.problem.gamma)))
        rate = task_lr if learning_rate is None else learning_rate
        positions, values = histories(bowl, optimiser or task, rate, self.steps(task), **mistake)
        return {position_key: positions, value_key: values}

    def steps(self, task: str) -> int:
        """The number of steps of a task's run on this instance."""
        return SGD_STEPS if task == "SGD" else self.problem.adamw_steps


case = case_fixture(Instance)


@pytest.fixture(autouse=True, scope="module")
def _warm_up_torch_optim() -> None:
    """The first optimizer step in a process takes about a second of one-off imports; pay it once, here."""
    parameter = torch.zeros(1, requires_grad=True)
    parameter.sum().backward()
    torch.optim.SGD([parameter], lr=0.1).step()


def skewed(gamma: tuple[tuple[float, ...], ...]):
    """The notebook's function_skewed for the instance's Γ."""

    def function_skewed(variable: torch.Tensor) -> torch.Tensor:
        return 10 * (variable @ (torch.tensor(gamma, dtype=variable.dtype) @ variable))

    return function_skewed


@functools.cache
def histories(
    bowl: tuple[tuple[float, float], tuple[tuple[float, ...], ...]],
    optimiser: str,
    learning_rate: float,
    steps: int,
    dtype: torch.dtype = torch.float32,
    zero_grad: bool = True,
    maximize: bool = False,
    value_after_step: bool = False,
    position_before_step: bool = False,
) -> tuple[list[torch.Tensor], list[float]]:
    """Positions and values of the notebook's loop on the bowl (start, Γ); the flags make one mistake each."""
    start, gamma = bowl
    function_skewed = skewed(gamma)
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    optimizer = OPTIMISERS[optimiser]([x], lr=learning_rate, maximize=maximize)
    positions, values = [], []
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        before = x.detach().clone()
        function_result = function_skewed(x)
        function_result.backward()
        optimizer.step()
        positions.append(before if position_before_step else x.detach().clone())
        values.append(function_skewed(x.detach()).item() if value_after_step else function_result.item())
    return positions, values


def theta_scalar(initial_theta, learning_rate, number_steps, ascent=False, zero_grad=True) -> float:
    theta, accumulated = initial_theta, 0.0
    for _ in range(number_steps):
        accumulated = 2 * theta + (0.0 if zero_grad else accumulated)
        theta += (1 if ascent else -1) * learning_rate * accumulated
    return theta


def theta_optimiser(case: Instance, learning_rates=None, **mistake) -> list[float]:
    """theta_optimiser for the instance's settings; `learning_rates` replaces the settings' own."""
    settings = case.problem.theta_settings
    rates = learning_rates or [rate for _, rate, _ in settings]
    return [
        theta_scalar(start, rate, count, **mistake)
        for (start, _, count), rate in zip(settings, rates, strict=True)
    ]


def theta_norm(case: Instance, learning_rate=None, extra_steps=0, **mistake) -> np.ndarray:
    starts, rate, steps = case.problem.norm_setting
    rate = rate if learning_rate is None else learning_rate
    return np.array([theta_scalar(start, rate, steps + extra_steps, **mistake) for start in starts])


def test_reference_scores_full_marks(case):
    assert set(case.scores(case.expected).values()) == {1.0}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_recomputed_runs_score_full_marks(case, dtype):
    answers = case.variant(**case.task_answers("SGD", dtype=dtype), **case.task_answers("AdamW", dtype=dtype))
    assert set(case.scores(answers).values()) == {1.0}


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
@pytest.mark.parametrize("task", TASKS)
def test_legitimate_forms_of_the_histories_score_full_marks(case, task, convert):
    answers = {key: convert(value) for key, value in case.task_answers(task).items()}
    got = case.scores(case.variant(**answers))
    assert [got[key] for key in answers] == [1.0, 1.0]


@pytest.mark.parametrize("learning_rate", [0.01, 0.0011, 0.0001])
def test_sgd_with_a_wrong_learning_rate_fails(case, learning_rate):
    got = case.scores(case.variant(**case.task_answers("SGD", learning_rate=learning_rate)))
    assert got["var_history_3"] == 0.0
    # Only the value at the start, recorded before the first step, agrees.
    assert got["fn_history_3"] == 1 / SGD_STEPS


@pytest.mark.parametrize("learning_rate", [0.1, 0.9, 1.1])
def test_adamw_with_a_wrong_learning_rate_fails(case, learning_rate):
    answers = case.variant(**case.task_answers("AdamW", learning_rate=learning_rate))
    got = case.scores(answers)
    # Every converging run ends near zero, where late steps agree within CLOSE's atol: partial credit only.
    assert got["var_history_4"] < 0.5
    assert got["fn_history_4"] < 0.7
    assert "first difference at step 0" in case.messages(answers)["var_history_4"]


def test_adam_instead_of_adamw_fails_from_the_first_step_naming_weight_decay(case):
    answers = case.variant(**case.task_answers("AdamW", optimiser="Adam"))
    got, said = case.scores(answers), case.messages(answers)
    assert got["var_history_4"] < 0.5
    assert got["fn_history_4"] < 0.7
    assert "first difference at step 0" in said["var_history_4"]
    assert "decoupled weight decay" in said["var_history_4"]


@pytest.mark.parametrize("task", TASKS)
def test_a_forgotten_zero_grad_fails(case, task):
    answers = case.task_answers(task, zero_grad=False)
    got = case.scores(case.variant(**answers))
    # Only what comes before the gradients first add up matches: the first point and the first two values.
    assert all(got[key] <= 2 / case.steps(task) for key in answers)


# Ascent overflows float32 to inf, and kinds.diagnose then divides inf by inf (numpy warns; grade() is quiet).
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("task", TASKS)
def test_gradient_ascent_fails(case, task):
    answers = case.task_answers(task, maximize=True)
    got = case.scores(case.variant(**answers))
    assert all(got[key] <= 1 / case.steps(task) for key in answers)


@pytest.mark.parametrize("task", TASKS)
def test_a_value_recorded_after_the_step_is_diagnosed_as_one_step_ahead(case, task):
    value_key = TASKS[task][1]
    answers = case.variant(**case.task_answers(task, value_after_step=True))
    assert case.scores(answers)[value_key] < 0.7
    assert "one step ahead" in case.messages(answers)[value_key]


@pytest.mark.parametrize("task", TASKS)
def test_a_position_recorded_before_the_step_is_diagnosed_as_one_step_behind(case, task):
    position_key = TASKS[task][0]
    answers = case.variant(**case.task_answers(task, position_before_step=True))
    assert case.scores(answers)[position_key] < 0.7
    assert "one step behind" in case.messages(answers)[position_key]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda values: values, id="float64 closed form"),
        pytest.param(np.float32, id="float32 array"),
        pytest.param(torch.tensor, id="tensor"),
    ],
)
def test_legitimate_forms_of_theta_optimiser_score_full_marks(case, form):
    answers = case.variant(theta_optimiser=form(theta_optimiser(case)))
    assert case.scores(answers)["theta_optimiser"] == 1.0


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda case: theta_optimiser(case, ascent=True), id="gradient ascent"),
        pytest.param(lambda case: theta_optimiser(case, zero_grad=False), id="forgotten zero_grad"),
        pytest.param(
            lambda case: theta_optimiser(case, learning_rates=[case.problem.theta_settings[0][1]] * 2),
            id="learning rate not taken from the argument",
        ),
    ],
)
def test_mistakes_in_theta_optimiser_fail(case, mistake):
    assert case.scores(case.variant(theta_optimiser=mistake(case)))["theta_optimiser"] == 0.0


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda values: values, id="float64 closed form"),
        pytest.param(lambda values: values.tolist(), id="plain list"),
        pytest.param(lambda values: torch.tensor(values, dtype=torch.float32), id="float32 tensor"),
    ],
)
def test_legitimate_forms_of_theta_norm_score_full_marks(case, form):
    answers = case.variant(theta_norm_optimiser=form(theta_norm(case)))
    assert case.scores(answers)["theta_norm_optimiser"] == 1.0


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda case: theta_norm(case, ascent=True), id="gradient ascent"),
        pytest.param(lambda case: theta_norm(case, zero_grad=False), id="forgotten zero_grad"),
        pytest.param(
            lambda case: theta_norm(case, learning_rate=case.problem.norm_setting[1] / 2),
            id="wrong learning rate",
        ),
        pytest.param(lambda case: theta_norm(case, extra_steps=1), id="one step too many"),
        pytest.param(lambda case: theta_norm(case)[:1], id="a scalar instead of the vector"),
    ],
)
def test_mistakes_in_theta_norm_fail(case, mistake):
    answers = case.variant(theta_norm_optimiser=mistake(case))
    assert case.scores(answers)["theta_norm_optimiser"] == 0.0


def test_a_negated_theta_norm_is_diagnosed_as_a_sign_error(case):
    answers = case.variant(theta_norm_optimiser=-theta_norm(case))
    assert case.scores(answers)["theta_norm_optimiser"] == 0.0
    assert "sign is flipped" in case.messages(answers)["theta_norm_optimiser"]


@pytest.mark.parametrize("task", TASKS)
def test_a_history_of_one_shared_tensor_is_named_as_a_missing_copy(case, task):
    # Appending x.data without a copy: every entry is the same tensor and shows the final point.
    position_key, _, _ = TASKS[task]
    positions = case.task_answers(task)[position_key]
    answers = case.variant(**{position_key: [positions[-1]] * len(positions)})
    assert case.scores(answers)[position_key] == 0.0
    assert "append a copy" in case.messages(answers)[position_key]


def test_the_check_cell_passes_tensors_so_a_parameter_built_from_them_works(case):
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
        "THETA_SETTINGS": case.problem.theta_settings,
        "NORM_SETTING": case.problem.norm_setting,
        "check": lambda notebook, **answers: checked.update(answers),
        "tensor_like": lambda value, like: torch.as_tensor(np.asarray(value), dtype=like.dtype),
        "gradient_descent_torch_optimiser": parameter_descent,
        "gradient_descent_norm_torch_optimiser": parameter_descent,
    }
    exec(check_cell("check-optimiser-functions"), namespace)
    assert set(case.scores(case.variant(**checked)).values()) == {1.0}


def check_cell(grade_id: str) -> str:
    """The source of one of the solution notebook's cells, by its nbgrader grade_id."""
    notebook = nbformat.read(REPO_ROOT / "solutions" / f"{NOTEBOOK}.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source


# --- every instance keeps the lesson -----------------------------------------------------------------


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_keeps_the_lesson(number):
    given = problem(number)
    steps = {"SGD": SGD_STEPS, "AdamW": given.adamw_steps, "Adam": given.adamw_steps}
    gamma = np.array(given.gamma)
    smallest, largest = np.linalg.eigvalsh(10 * (gamma + gamma.T))
    # The bowl is stretched like notebook 01's, and SGD's lr 0.001 converges on it monotonically.
    assert 9 <= largest / smallest <= 16 and TASKS["SGD"][2] * largest < 1
    bowl = (given.start, tuple(map(tuple, given.gamma)))
    for task, (_, _, rate) in TASKS.items():
        positions, values = histories(bowl, task, rate, steps[task])
        # Both optimisers reach the minimum within their steps.
        assert np.linalg.norm(positions[-1]) < 0.05 * np.linalg.norm(given.start)
        assert values[-1] < 1e-3 * values[0]
        # A float64 run grades like the float32 reference: AdamW(lr=1) does not amplify rounding here.
        positions64, _ = histories(bowl, task, rate, steps[task], dtype=torch.float64)
        for ours, precise in zip(positions, positions64, strict=True):
            assert np.allclose(ours.double(), precise, rtol=CLOSE.rtol, atol=CLOSE.atol)
        # On a hidden instance no step of the run lies within CLOSE's atol of the minimum, where any
        # converged run, another instance's too, would match it.
        if number != PUBLIC_INSTANCE:
            assert min(values) > 10 * CLOSE.atol
            assert min(np.abs(np.asarray(point)).max() for point in positions) > 10 * CLOSE.atol
    # Adam and AdamW part at the first step, so the weight decay is what the check sees.
    adam, _ = histories(bowl, "Adam", TASKS["AdamW"][2], steps["Adam"])
    adamw, _ = histories(bowl, "AdamW", TASKS["AdamW"][2], steps["AdamW"])
    assert not np.allclose(adam[0], adamw[0], rtol=CLOSE.rtol, atol=CLOSE.atol)
    # Section 3's runs are stable and end far enough from 0 for a wrong step to show.
    starts, rate, steps = given.norm_setting
    assert (
        0 < rate < 0.5
        and min(abs(start) for start in starts) * (1 - 2 * rate) ** steps >= SMALLEST_NORM_RESULT
    )
    for theta, rate, steps in given.theta_settings:
        assert 0 < rate < 0.5 and 1e-3 <= abs(theta * (1 - 2 * rate) ** steps) <= 1


@pytest.mark.parametrize("number", [n for n in LESSON_INSTANCES if n != PUBLIC_INSTANCE])
def test_no_task_of_a_hidden_instance_has_the_public_answer(number):
    given, public = problem(number), problem(PUBLIC_INSTANCE)
    assert given.start != public.start and given.gamma != public.gamma
    assert given.theta_settings != public.theta_settings and given.norm_setting != public.norm_setting
