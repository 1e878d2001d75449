"""Notebook 07: the grader accepts legitimate forms of the answers and catches the typical mistakes.

The paths are recomputed from the notebook's definitions with one thing changed; the step counts come
from a NumPy copy of the update, which must count exactly what the notebook's torch version counts.
"""

import functools
import math

import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, messages, reference, scores, variant

NOTEBOOK = "07_momentum"
LEARNING_RATE, MOMENTUM, DAMPENING, STEPS = 0.001, 0.9, 0.5, 200
KAPPAS = (10, 100, 1000)


def function_skewed(variable: torch.Tensor) -> torch.Tensor:
    gramma = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=variable.dtype) @ torch.tensor(
        [[1.0, 0.0], [0.0, 4.0]], dtype=variable.dtype
    )
    return 10 * (variable @ (gramma @ variable))


@functools.cache
def path(
    dampening: float = 0.0,
    dtype: torch.dtype = torch.float32,
    averaging: bool = False,
    damp_first: bool = False,
    damp_buffer: bool = False,
    zero_grad: bool = True,
    classical: bool = False,
    ascent: bool = False,
    library: bool = False,
) -> tuple[np.ndarray, ...]:
    """The 200 points after each step; each flag makes one change to the notebook's update."""
    x = torch.tensor([8.0, 8.0], dtype=dtype, requires_grad=True)
    if library:
        optimizer = torch.optim.SGD([x], lr=LEARNING_RATE, momentum=MOMENTUM, dampening=dampening)
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
                buffer = MOMENTUM * buffer + (1 - MOMENTUM) * gradient
            elif damp_buffer:
                buffer = (1 - dampening) * (MOMENTUM * buffer + gradient) if step else gradient
            elif classical:
                # v ← μv − αg, x ← x + v: the same iterates as PyTorch's form for a constant α.
                buffer = MOMENTUM * buffer - LEARNING_RATE * gradient
            elif step == 0 and not damp_first:
                buffer = gradient
            else:
                buffer = MOMENTUM * buffer + (1 - dampening) * gradient
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
        if np.linalg.norm(x) <= 1e-6:
            return step
    raise AssertionError("no convergence")


def heavy_ball_tuning(kappa: float, squared: bool = True) -> tuple[float, float]:
    root = math.sqrt(kappa)
    ratio = (root - 1) / (root + 1)
    return 4 / (root + 1) ** 2, ratio**2 if squared else ratio


def nesterov_tuning(kappa: float, squared: bool = False) -> tuple[float, float]:
    ratio = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    return 1 / kappa, ratio**2 if squared else ratio


def counts(tuning, **options) -> list[int]:
    return [steps_to_tolerance(kappa, *tuning(kappa), **options) for kappa in KAPPAS]


def gd_tuning(kappa: float) -> tuple[float, float]:
    return 1 / kappa, 0.0


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_the_reference_counts_are_the_recomputed_ones():
    expected = reference(NOTEBOOK)
    assert counts(gd_tuning) == list(expected["gd_steps"]) == [132, 1375, 13809]
    assert counts(heavy_ball_tuning) == list(expected["heavy_ball_steps"])
    assert counts(nesterov_tuning, nesterov=True) == list(expected["nesterov_steps"])


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"dtype": torch.float64}, id="float64"),
        pytest.param({"classical": True}, id="classical form v = μv − αg"),
        pytest.param({"library": True}, id="torch.optim.SGD"),
    ],
)
def test_legitimate_heavy_ball_paths_score_full_marks(options):
    answers = variant(NOTEBOOK, heavy_ball_path=list(path(**options)))
    assert scores(NOTEBOOK, answers)["heavy_ball_path"] == 1.0


@pytest.mark.parametrize(
    "options",
    [pytest.param({"dtype": torch.float64}, id="float64"), pytest.param({"library": True}, id="torch.optim")],
)
def test_legitimate_dampened_paths_score_full_marks(options):
    answers = variant(NOTEBOOK, dampened_path=list(path(dampening=DAMPENING, **options)))
    assert scores(NOTEBOOK, answers)["dampened_path"] == 1.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_paths_score_full_marks(convert):
    answers = variant(
        NOTEBOOK, heavy_ball_path=convert(list(path())), dampened_path=convert(list(path(DAMPENING)))
    )
    got = scores(NOTEBOOK, answers)
    assert (got["heavy_ball_path"], got["dampened_path"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"averaging": True}, id="averaging buffer"),
        pytest.param({"zero_grad": False}, id="forgotten zero_"),
        pytest.param({"dampening": DAMPENING}, id="dampened"),
    ],
)
def test_mistaken_heavy_ball_paths_fail(options):
    answers = variant(NOTEBOOK, heavy_ball_path=list(path(**options)))
    assert scores(NOTEBOOK, answers)["heavy_ball_path"] < 0.05
    assert "first difference at step" in messages(NOTEBOOK, answers)["heavy_ball_path"]


def test_an_averaging_buffer_is_named_in_the_message():
    answers = variant(NOTEBOOK, heavy_ball_path=list(path(averaging=True)))
    assert "a sum, not an average" in messages(NOTEBOOK, answers)["heavy_ball_path"]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_an_ascending_heavy_ball_fails():
    answers = variant(NOTEBOOK, heavy_ball_path=list(path(ascent=True)))
    assert scores(NOTEBOOK, answers)["heavy_ball_path"] == 0.0


def test_dampening_at_the_first_step_fails_from_step_0_and_says_why():
    answers = variant(NOTEBOOK, dampened_path=list(path(DAMPENING, damp_first=True)))
    assert scores(NOTEBOOK, answers)["dampened_path"] < 0.05
    said = messages(NOTEBOOK, answers)["dampened_path"]
    assert "first difference at step 0" in said and "undamped gradient" in said


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"damp_buffer": True}, id="whole buffer damped"),
        pytest.param({}, id="no dampening"),
        pytest.param({"zero_grad": False}, id="forgotten zero_"),
    ],
)
def test_other_mistaken_dampened_paths_fail(options):
    options.setdefault("dampening", DAMPENING if options else 0.0)
    answers = variant(NOTEBOOK, dampened_path=list(path(**options)))
    assert scores(NOTEBOOK, answers)["dampened_path"] < 0.05


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(counts(gd_tuning), id="list of ints"),
        pytest.param(np.array(counts(gd_tuning), dtype=np.int64), id="int array"),
        pytest.param(torch.tensor(counts(gd_tuning)), id="tensor"),
        pytest.param([float(count) for count in counts(gd_tuning)], id="floats"),
    ],
)
def test_legitimate_forms_of_the_counts_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, gd_steps=value))["gd_steps"] == 1.0


def test_float32_counts_score_full_marks():
    answers = variant(
        NOTEBOOK,
        gd_steps=counts(gd_tuning, dtype=np.float32),
        heavy_ball_steps=counts(heavy_ball_tuning, dtype=np.float32),
        nesterov_steps=counts(nesterov_tuning, nesterov=True, dtype=np.float32),
    )
    got = scores(NOTEBOOK, answers)
    assert (got["gd_steps"], got["heavy_ball_steps"], got["nesterov_steps"]) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("key, tuning", [("gd_steps", gd_tuning), ("heavy_ball_steps", heavy_ball_tuning)])
def test_a_count_one_off_fails_and_names_the_counting(key, tuning):
    answers = variant(NOTEBOOK, **{key: counts(tuning, first_step=0)})
    assert scores(NOTEBOOK, answers)[key] == 0.0
    assert (
        "the first step being step 1" in messages(NOTEBOOK, answers)[key]
        or "count starts at 1" in (messages(NOTEBOOK, answers)[key])
    )


def test_a_heavy_ball_with_the_momentum_not_squared_fails_and_says_so():
    unsquared = counts(lambda kappa: heavy_ball_tuning(kappa, squared=False))
    answers = variant(NOTEBOOK, heavy_ball_steps=unsquared)
    assert scores(NOTEBOOK, answers)["heavy_ball_steps"] == 0.0
    assert "squared" in messages(NOTEBOOK, answers)["heavy_ball_steps"]


def test_the_optimal_fixed_step_is_not_the_asked_one():
    # 2/(L + μ) is the best fixed step (the conditioning notebook); the task asks for 1/L, rate 1 − 1/κ.
    answers = variant(NOTEBOOK, gd_steps=counts(lambda kappa: (2 / (kappa + 1), 0.0)))
    assert scores(NOTEBOOK, answers)["gd_steps"] == 0.0


@pytest.mark.parametrize(
    "mistaken",
    [
        pytest.param(counts(nesterov_tuning), id="nesterov=True forgotten"),
        pytest.param(
            counts(lambda kappa: nesterov_tuning(kappa, squared=True), nesterov=True), id="squared momentum"
        ),
        pytest.param(counts(heavy_ball_tuning), id="the heavy ball's counts"),
    ],
)
def test_mistaken_nesterov_counts_fail(mistaken):
    answers = variant(NOTEBOOK, nesterov_steps=mistaken)
    assert scores(NOTEBOOK, answers)["nesterov_steps"] == 0.0
    assert "nesterov=True" in messages(NOTEBOOK, answers)["nesterov_steps"]
