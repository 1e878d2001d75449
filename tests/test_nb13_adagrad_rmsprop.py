"""Notebook 13: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

Each mistaken answer is the notebook's hand-written Adagrad or RMSProp with one thing changed; torch.optim's
optimisers and float32 copies are the legitimate variants.
"""

import functools
import math

import numpy as np
import pytest
import torch
from grading_helpers import (
    TRAJECTORY_FORMS,
    GradedInstance,
    case_fixture,
)

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb13_adagrad_rmsprop import HIDDEN_ALPHAS, KAPPA_RANGE, problem

NOTEBOOK = "13_adagrad_rmsprop"
STEPS, ADAGRAD_LR, RMSPROP_LR, LR_DECAY = 25, 1.0, 0.1, 0.1
RATE_STEPS, LONG_STEPS, TOLERANCE, LINK_STEPS = 20, 500, 1e-3, 25
ADAGRAD_EPS, RMSPROP_EPS = 1e-10, 1e-8
LESSON_INSTANCES = range(8)


def adagrad_step(
    x: torch.Tensor,
    gradient: torch.Tensor,
    state: dict,
    lr: float,
    lr_decay: float = 0.0,
    *,
    forgets: bool = False,
    decay_from_t: bool = False,
    no_sqrt: bool = False,
) -> None:
    """The notebook's step; each flag makes one typical mistake."""
    state["step"] += 1
    t = state["step"] if decay_from_t else state["step"] - 1
    decayed_lr = lr / (1 + t * lr_decay)
    state["sum"] = gradient**2 if forgets else state["sum"] + gradient**2
    denominator = state["sum"] if no_sqrt else state["sum"].sqrt()
    x -= decayed_lr * gradient / (denominator + ADAGRAD_EPS)


def rmsprop_step(
    x: torch.Tensor,
    gradient: torch.Tensor,
    state: dict,
    lr: float,
    alpha: float,
    eps: float = RMSPROP_EPS,
    *,
    swapped: bool = False,
    bias_corrected: bool = False,
) -> None:
    """The notebook's step; each flag makes one typical mistake."""
    state["step"] += 1
    keep = 1 - alpha if swapped else alpha
    state["square_avg"] = keep * state["square_avg"] + (1 - keep) * gradient**2
    average = state["square_avg"] / (1 - keep ** state["step"]) if bias_corrected else state["square_avg"]
    x -= lr * gradient / (average.sqrt() + eps)


def new_state(x: torch.Tensor) -> dict:
    return {"step": 0, "sum": torch.zeros_like(x), "square_avg": torch.zeros_like(x)}


class Case(GradedInstance):
    """One instance: its problem, its reference answers, its runs, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        chosen = problem(number)
        self.start, self.kappa, self.alpha = chosen.start, chosen.kappa, chosen.alpha

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([1.0, self.kappa], dtype=x.dtype) * x

    def loss(self, x: torch.Tensor) -> float:
        return float(0.5 * (torch.tensor([1.0, self.kappa], dtype=x.dtype) * x**2).sum())

    @functools.cache  # noqa: B019 (a handful of cases live for the session)
    def run(self, method: str, number_steps: int, dtype: torch.dtype = torch.float64, **options) -> tuple:
        """(points after each step, loss before each, rates after each) of one hand-written run."""
        x = torch.tensor(self.start, dtype=dtype)
        state, points, losses, rates = new_state(x), [], [], []
        for _ in range(number_steps):
            losses.append(self.loss(x))
            gradient = self.gradient(x)
            if method == "adagrad":
                adagrad_step(x, gradient, state, ADAGRAD_LR, **options)
                rates.append(ADAGRAD_LR / (state["sum"].sqrt() + ADAGRAD_EPS))
            elif method == "rmsprop":
                rmsprop_step(x, gradient, state, RMSPROP_LR, options.pop("alpha", self.alpha), **options)
                rates.append(RMSPROP_LR / (state["square_avg"].sqrt() + RMSPROP_EPS))
            elif method == "warmed-up rmsprop":
                late = options.get("late", 0)
                correction = math.sqrt(1 - self.alpha ** (state["step"] + 1 + late))
                rmsprop_step(
                    x, gradient, state, RMSPROP_LR * correction, self.alpha, RMSPROP_EPS * correction
                )
            else:
                x -= 2 / (1 + self.kappa) * gradient
            points.append(x.clone())
        return tuple(points), tuple(losses), tuple(rates)

    def library(self, optimizer_class: type, number_steps: int, dtype=torch.float64, **settings) -> list:
        x = torch.tensor(self.start, dtype=dtype, requires_grad=True)
        optimizer = optimizer_class([x], **settings)
        points = []
        for _ in range(number_steps):
            optimizer.zero_grad()
            (0.5 * (torch.tensor([1.0, self.kappa], dtype=dtype) * x**2).sum()).backward()
            optimizer.step()
            points.append(x.detach().clone())
        return points

    def counts(self, **options) -> list[int]:
        return [
            next(
                step
                for step, loss in enumerate(self.run(method, LONG_STEPS, **options)[1])
                if loss < TOLERANCE
            )
            for method in ("gd", "adagrad", "rmsprop")
        ]

    def first_step_ratio(self) -> float:
        start = torch.tensor(self.start, dtype=torch.float64)
        rmsprop = self.run("rmsprop", 1)[0][0]
        adam = self.library(torch.optim.Adam, 1, lr=RMSPROP_LR, betas=(0.0, self.alpha))[0]
        return float(torch.linalg.vector_norm(rmsprop - start) / torch.linalg.vector_norm(adam - start))

    def answers(self, dtype: torch.dtype = torch.float64) -> dict:
        """Every answer, recomputed by hand in dtype."""
        return {
            "adagrad_path": list(self.run("adagrad", STEPS, dtype)[0]),
            "adagrad_decay_path": list(self.run("adagrad", 20, dtype, lr_decay=LR_DECAY)[0]),
            "rmsprop_path": list(self.run("rmsprop", STEPS, dtype)[0]),
            "adagrad_rates": list(self.run("adagrad", RATE_STEPS, dtype)[2]),
            "rmsprop_rates": list(self.run("rmsprop", RATE_STEPS, dtype)[2]),
            "steps_to_tolerance": self.counts(),
            "adam_beta1_zero_path": self.library(
                torch.optim.Adam, LINK_STEPS, dtype, lr=RMSPROP_LR, betas=(0.0, self.alpha)
            ),
            "rmsprop_as_adam_path": list(self.run("warmed-up rmsprop", LINK_STEPS, dtype)[0]),
            "first_step_ratio": self.first_step_ratio(),
        }


case = case_fixture(Case)


# --- every instance keeps the lesson ----------------------------------------------------------------------


def test_the_public_instance_is_the_notebooks_problem_and_the_others_differ():
    assert tuple(problem(PUBLIC_INSTANCE)) == ((4.0, 3.0), 50.0, 0.99)
    starts = {problem(number).start for number in LESSON_INSTANCES}
    assert len(starts) == len(LESSON_INSTANCES)


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_teaches_the_same_lesson(number):
    case = Case(number)
    if number != PUBLIC_INSTANCE:
        assert KAPPA_RANGE[0] <= case.kappa <= KAPPA_RANGE[1] and case.alpha in HIDDEN_ALPHAS
    # The hand-written steps are torch.optim's, decay included.
    for mine, library in [
        (case.run("adagrad", STEPS)[0], case.library(torch.optim.Adagrad, STEPS, lr=ADAGRAD_LR)),
        (
            case.run("adagrad", 20, lr_decay=LR_DECAY)[0],
            case.library(torch.optim.Adagrad, 20, lr=ADAGRAD_LR, lr_decay=LR_DECAY),
        ),
        (
            case.run("rmsprop", STEPS)[0],
            case.library(torch.optim.RMSprop, STEPS, lr=RMSPROP_LR, alpha=case.alpha),
        ),
        (
            case.run("warmed-up rmsprop", LINK_STEPS)[0],
            case.library(torch.optim.Adam, LINK_STEPS, lr=RMSPROP_LR, betas=(0.0, case.alpha)),
        ),
    ]:
        assert (torch.stack(list(mine)) - torch.stack(library)).abs().max() < 1e-12
    # Both adaptive methods reach the tolerance several times sooner than the best fixed step.
    gd, adagrad, rmsprop = case.counts()
    assert gd > 2.5 * max(adagrad, rmsprop) and gd < LONG_STEPS
    # The paths stay away from the minimum, where every instance's would match within the tolerance.
    for method in ("adagrad", "rmsprop", "warmed-up rmsprop"):
        assert torch.stack(list(case.run(method, STEPS)[0])).abs().min() > 1e-3
    # Adagrad's rates only fall; the flat axis's rate is far above the steep one's on both.
    adagrad_rates = torch.stack(list(case.run("adagrad", RATE_STEPS)[2]))
    assert (adagrad_rates[1:] <= adagrad_rates[:-1]).all()
    for rates in (adagrad_rates, torch.stack(list(case.run("rmsprop", RATE_STEPS)[2]))):
        assert (rates[:, 0] / rates[:, 1] > 5).all()
    assert case.first_step_ratio() == pytest.approx(1 / math.sqrt(1 - case.alpha), rel=1e-6)


# --- legitimate variants: full marks ----------------------------------------------------------------------


def test_the_replay_is_the_reference(case):
    assert set(case.scores(**case.answers()).values()) == {1.0}


def test_float32_runs_score_full_marks(case):
    answers = case.answers(torch.float32)
    assert answers["adagrad_path"][0].dtype == torch.float32
    assert set(case.scores(**answers).values()) == {1.0}


def test_torch_optim_paths_score_full_marks(case):
    got = case.scores(
        adagrad_path=case.library(torch.optim.Adagrad, STEPS, lr=ADAGRAD_LR),
        adagrad_decay_path=case.library(torch.optim.Adagrad, 20, lr=ADAGRAD_LR, lr_decay=LR_DECAY),
        rmsprop_path=case.library(torch.optim.RMSprop, STEPS, lr=RMSPROP_LR, alpha=case.alpha),
        rmsprop_as_adam_path=case.library(
            torch.optim.Adam, LINK_STEPS, lr=RMSPROP_LR, betas=(0.0, case.alpha)
        ),
    )
    assert set(got.values()) == {1.0}


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_trajectories_score_full_marks(case, convert):
    keys = ("adagrad_path", "rmsprop_path", "adagrad_rates", "rmsprop_rates", "adam_beta1_zero_path")
    got = case.scores(**{key: convert(case.expected[key]) for key in keys})
    assert set(got.values()) == {1.0}


def test_counts_as_a_tensor_and_the_ratio_as_a_tensor_score_full_marks(case):
    got = case.scores(
        steps_to_tolerance=torch.tensor(case.expected["steps_to_tolerance"]),
        first_step_ratio=torch.tensor(case.expected["first_step_ratio"]),
    )
    assert got["steps_to_tolerance"] == got["first_step_ratio"] == 1.0


# --- mistaken variants: no credit, and the message names the mistake --------------------------------------


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"forgets": True}, id="sum of the last gradient only"),
        pytest.param({"no_sqrt": True}, id="no square root"),
    ],
)
def test_mistaken_adagrad_paths_fail_from_the_first_steps(case, mistake):
    path = list(case.run("adagrad", STEPS, **mistake)[0])
    assert case.scores(adagrad_path=path)["adagrad_path"] < 0.1
    said = case.messages(adagrad_path=path)["adagrad_path"]
    assert "first difference at step" in said and "every squared gradient so far" in said


def test_decay_counted_from_t_fails_from_the_first_step(case):
    path = list(case.run("adagrad", 20, lr_decay=LR_DECAY, decay_from_t=True)[0])
    assert case.scores(adagrad_decay_path=path)["adagrad_decay_path"] == 0
    said = case.messages(adagrad_decay_path=path)["adagrad_decay_path"]
    assert "first difference at step 0" in said and "steps taken before this one" in said


def test_decay_forgotten_fails(case):
    path = list(case.run("adagrad", 20)[0])
    assert case.scores(adagrad_decay_path=path)["adagrad_decay_path"] < 0.1


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"swapped": True}, id="alpha and 1 - alpha swapped"),
        pytest.param({"bias_corrected": True}, id="a bias correction"),
    ],
)
def test_mistaken_rmsprop_paths_fail_from_the_first_step(case, mistake):
    """Both end within the tolerance of the minimum, where every run looks alike: a few late steps match."""
    path = list(case.run("rmsprop", STEPS, **mistake)[0])
    assert case.scores(rmsprop_path=path)["rmsprop_path"] < 0.25
    said = case.messages(rmsprop_path=path)["rmsprop_path"]
    assert "first difference at step 0" in said and "bias correction" in said


def test_rates_read_before_the_update_are_rejected(case):
    """The rate with the previous step's accumulator: one step behind, and infinite (lr / ε) at the first."""
    rates = case.expected["adagrad_rates"]
    before = [np.full(2, ADAGRAD_LR / ADAGRAD_EPS), *rates[:-1]]
    # Adagrad's rates settle: a few late ones match their neighbours within the tolerance.
    assert case.scores(adagrad_rates=before)["adagrad_rates"] < 0.3
    assert "one step behind" in case.messages(adagrad_rates=before)["adagrad_rates"]


def test_rates_without_the_learning_rate_are_rejected(case):
    rates = [np.asarray(row) / RMSPROP_LR for row in case.expected["rmsprop_rates"]]
    assert case.scores(rmsprop_rates=rates)["rmsprop_rates"] == 0
    assert "times 10" in case.messages(rmsprop_rates=rates)["rmsprop_rates"]


def test_rates_with_the_coordinates_swapped_are_rejected(case):
    rates = [np.asarray(row)[::-1] for row in case.expected["adagrad_rates"]]
    assert case.scores(adagrad_rates=rates)["adagrad_rates"] == 0
    assert "flat axis first" in case.messages(adagrad_rates=rates)["adagrad_rates"]


def test_rmsprop_rates_with_the_default_alpha_are_rejected_on_a_hidden_instance(case):
    if case.alpha == 0.99:
        pytest.skip("the public instance uses the default α")
    rates = list(case.run("rmsprop", RATE_STEPS, alpha=0.99)[2])
    assert case.scores(rmsprop_rates=rates)["rmsprop_rates"] < 0.1


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(lambda counts: [count + 1 for count in counts], id="off by one"),
        pytest.param(lambda counts: counts[::-1], id="reversed"),
    ],
)
def test_mistaken_counts_are_rejected(case, wrong):
    counts = wrong(case.expected["steps_to_tolerance"])
    assert case.scores(steps_to_tolerance=counts)["steps_to_tolerance"] == 0
    assert "number of steps taken" in case.messages(steps_to_tolerance=counts)["steps_to_tolerance"]


def test_adam_with_the_betas_swapped_is_rejected(case):
    path = case.library(torch.optim.Adam, LINK_STEPS, lr=RMSPROP_LR, betas=(case.alpha, 0.0))
    assert case.scores(adam_beta1_zero_path=path)["adam_beta1_zero_path"] < 0.1
    assert "β₁ the one set to 0" in case.messages(adam_beta1_zero_path=path)["adam_beta1_zero_path"]


def test_plain_rmsprop_is_not_adam_with_beta1_zero(case):
    """Without the warm-up the paths differ from the first step: RMSProp's is 1/√(1 − α) times longer."""
    path = list(case.run("rmsprop", LINK_STEPS)[0])
    assert case.scores(rmsprop_as_adam_path=path)["rmsprop_as_adam_path"] < 0.1


def test_a_correction_one_step_late_is_rejected(case):
    path = list(case.run("warmed-up rmsprop", LINK_STEPS, late=1)[0])
    assert case.scores(rmsprop_as_adam_path=path)["rmsprop_as_adam_path"] < 0.1
    said = case.messages(rmsprop_as_adam_path=path)["rmsprop_as_adam_path"]
    assert "first difference at step 0" in said and "which power of α" in said


def test_the_inverted_ratio_is_rejected(case):
    ratio = 1 / case.expected["first_step_ratio"]
    assert case.scores(first_step_ratio=ratio)["first_step_ratio"] == 0
    assert "reciprocal" in case.messages(first_step_ratio=ratio)["first_step_ratio"]
