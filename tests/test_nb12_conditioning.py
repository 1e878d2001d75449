"""Notebook 12: the grader accepts legitimate forms of the answers and catches the typical mistakes.

Everything is recomputed from the notebook's seeded data with one thing changed.
"""

import functools

import numpy as np
import pytest
import torch
from grading_helpers import messages, reference, scores, variant

NOTEBOOK = "12_conditioning"


@functools.cache
def data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 3.0, 10.0], dtype=torch.float64)
    shifts = torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)
    features = torch.randn(200, 3, dtype=torch.float64, generator=generator) * scales + shifts
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    return features, features @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise


def design(columns: torch.Tensor) -> torch.Tensor:
    return torch.cat([columns, torch.ones(len(columns), 1, dtype=torch.float64)], dim=1)


def eigenvalues(matrix: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    return torch.linalg.eigvalsh(factor * matrix.T @ matrix / 200)


def standardised(centre: bool = True, unbiased: bool = True) -> torch.Tensor:
    features, _ = data()
    shifted = features - features.mean(dim=0) if centre else features
    return design(shifted / features.std(dim=0, correction=1 if unbiased else 0))


def gd_steps(matrix: torch.Tensor, first: int = 1, numpy: bool = False) -> int:
    _, targets = data()
    values = eigenvalues(matrix)
    step = 2 / (values[0] + values[-1]).item()
    best = torch.linalg.lstsq(matrix, targets[:, None], driver="gelsd").solution.squeeze(1)
    if numpy:
        a, t, b = matrix.numpy(), targets.numpy(), best.numpy()
        theta = np.zeros(a.shape[1])
        for count in range(first, 100_000):
            theta = theta - step * (2 / 200) * a.T @ (a @ theta - t)
            if np.linalg.norm(theta - b) <= 1e-6 * np.linalg.norm(b):
                return count
    theta = torch.zeros(matrix.shape[1], dtype=torch.float64)
    for count in range(first, 100_000):
        theta = theta - step * (2 / 200) * matrix.T @ (matrix @ theta - targets)
        if torch.linalg.vector_norm(theta - best) <= 1e-6 * torch.linalg.vector_norm(best):
            return count
    raise AssertionError("no convergence")


def raw() -> torch.Tensor:
    return design(data()[0])


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_recomputed_answers_score_full_marks():
    values = eigenvalues(raw())
    low, high = values[0].item(), values[-1].item()
    scaled = eigenvalues(standardised())
    answers = variant(
        NOTEBOOK,
        hessian_eigenvalues=values.numpy(),
        optimal_step=2 / (high + low),
        optimal_rate=(high / low - 1) / (high / low + 1),
        gd_steps_raw_scaled=[gd_steps(raw(), numpy=True), gd_steps(standardised(), numpy=True)],
        scaled_condition_number=(scaled[-1] / scaled[0]).item(),
    )
    assert set(scores(NOTEBOOK, answers).values()) == {1.0}


def test_an_svd_gives_the_same_eigenvalues():
    singular = torch.linalg.svdvals(raw())
    answers = variant(NOTEBOOK, hessian_eigenvalues=(2 * singular**2 / 200).flip(0))
    assert scores(NOTEBOOK, answers)["hessian_eigenvalues"] == 1.0


def test_eigenvalues_without_the_factor_2_are_named():
    answers = variant(NOTEBOOK, hessian_eigenvalues=eigenvalues(raw(), factor=1.0))
    assert scores(NOTEBOOK, answers)["hessian_eigenvalues"] == 0.0
    assert "the factor 2" in messages(NOTEBOOK, answers)["hessian_eigenvalues"]


def test_eigenvalues_in_descending_order_fail():
    answers = variant(NOTEBOOK, hessian_eigenvalues=eigenvalues(raw()).flip(0))
    assert scores(NOTEBOOK, answers)["hessian_eigenvalues"] == 0.0
    assert "ascending" in messages(NOTEBOOK, answers)["hessian_eigenvalues"]


def test_the_eigenvalues_of_a_a_transpose_have_the_wrong_shape():
    matrix = raw()
    answers = variant(NOTEBOOK, hessian_eigenvalues=torch.linalg.eigvalsh(2 * matrix @ matrix.T / 200))
    assert scores(NOTEBOOK, answers)["hessian_eigenvalues"] == 0.0
    assert "wrong shape" in messages(NOTEBOOK, answers)["hessian_eigenvalues"]


@pytest.mark.parametrize(
    "key, value, cause",
    [
        pytest.param("optimal_step", "1/max", "2 / (λmax + λmin)", id="step 1/λmax"),
        pytest.param("optimal_rate", "1-1/kappa", "not of 1/λmax", id="rate of 1/λmax"),
        pytest.param("optimal_rate", "halved", "not of 1/λmax", id="rate without the factor 2 (still right)"),
    ],
)
def test_mistaken_steps_and_rates_fail_and_name_the_cause(key, value, cause):
    values = eigenvalues(raw())
    low, high = values[0].item(), values[-1].item()
    wrong = {
        "1/max": 1 / high,
        "1-1/kappa": 1 - low / high,
        # Halving every eigenvalue leaves κ, hence the rate, unchanged: this one is still right.
        "halved": (high - low) / (high + low),
    }[value]
    answers = variant(NOTEBOOK, **{key: wrong})
    if value == "halved":
        assert scores(NOTEBOOK, answers)[key] == 1.0
        return
    assert scores(NOTEBOOK, answers)[key] == 0.0
    assert cause in messages(NOTEBOOK, answers)[key]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([gd_steps(raw()), gd_steps(standardised(centre=False))], id="scaled but not centred"),
        pytest.param([gd_steps(raw(), first=0), gd_steps(standardised(), first=0)], id="counted from 0"),
        pytest.param([gd_steps(standardised()), gd_steps(raw())], id="swapped"),
    ],
)
def test_mistaken_step_counts_fail_and_say_why(value):
    answers = variant(NOTEBOOK, gd_steps_raw_scaled=value)
    assert scores(NOTEBOOK, answers)["gd_steps_raw_scaled"] == 0.0
    assert "centred (minus the mean)" in messages(NOTEBOOK, answers)["gd_steps_raw_scaled"]


def test_the_population_standard_deviation_scores_full_marks():
    # std with correction=0 rescales every column by the same √(200/199): the condition number stays.
    scaled = eigenvalues(standardised(unbiased=False))
    answers = variant(
        NOTEBOOK,
        gd_steps_raw_scaled=[gd_steps(raw()), gd_steps(standardised(unbiased=False))],
        scaled_condition_number=(scaled[-1] / scaled[0]).item(),
    )
    got = scores(NOTEBOOK, answers)
    assert (got["gd_steps_raw_scaled"], got["scaled_condition_number"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("uncentred", id="scaled but not centred"),
        pytest.param("raw", id="the raw design's κ"),
    ],
)
def test_mistaken_scaled_condition_numbers_fail(value):
    values = eigenvalues(standardised(centre=False) if value == "uncentred" else raw())
    answers = variant(NOTEBOOK, scaled_condition_number=(values[-1] / values[0]).item())
    assert scores(NOTEBOOK, answers)["scaled_condition_number"] == 0.0
    assert "centring matters" in messages(NOTEBOOK, answers)["scaled_condition_number"]


def test_standardising_cuts_the_condition_number_and_the_steps():
    answers = reference(NOTEBOOK)
    assert answers["scaled_condition_number"] < 1.5
    raw_steps, scaled_steps = answers["gd_steps_raw_scaled"]
    assert raw_steps > 100 * scaled_steps
