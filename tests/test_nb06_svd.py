"""Notebook 06 (the SVD by gradient descent): the grader's verdicts on mistaken and legitimate answers, on
the public problem and on a hidden instance alike; every instance keeps the lesson.

The SVD is defined only up to the sign of each pair of singular vectors (and their order, which the notebook
fixes by sorting), so legitimate variants include flipped columns and runs from another starting point.
Data and training are replayed here from the instance's problem with its seed, so the variants are what a
student would get; each is graded against that instance's reference.
"""

from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grading_helpers import GradedInstance, case_fixture, outputs_of_edited_solution, printed

from graders.core.problems.nb06_svd import CONVERGING, GAPS, SMALLEST, problem

NOTEBOOK = "06_svd"
ROWS, COLUMNS = 6, 4
STEPS, LR = 3000, 0.01


def notebook_data(number: int) -> dict[str, torch.Tensor]:
    """The notebook's data cell on instance `number`, replayed: same seed, same order of random draws."""
    chosen = problem(number)
    generator = torch.Generator().manual_seed(chosen.seed)
    left, _ = torch.linalg.qr(torch.randn(ROWS, COLUMNS, dtype=torch.float64, generator=generator))
    right, _ = torch.linalg.qr(torch.randn(COLUMNS, COLUMNS, dtype=torch.float64, generator=generator))
    M = left @ torch.diag(torch.tensor(chosen.singular_values, dtype=torch.float64)) @ right.T
    U_init = 0.5 * torch.randn(ROWS, COLUMNS, dtype=torch.float64, generator=generator)
    V_init = 0.5 * torch.randn(COLUMNS, COLUMNS, dtype=torch.float64, generator=generator)
    return {"M": M, "U_init": U_init, "V_init": V_init, "s_init": torch.zeros(COLUMNS, dtype=torch.float64)}


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


@cache
def train(
    number: int, dtype: type = np.float64, steps: int = STEPS, start_seed: int | None = None
) -> dict[str, Any]:
    """Tasks 2 and 3 in numpy, with hand-derived gradients and Adam by its formulas.

    An independent implementation, and ten times faster than autograd for matrices this small.
    start_seed draws another starting point instead of the notebook's.
    """
    data = {key: value.numpy().astype(dtype) for key, value in notebook_data(number).items()}
    M, U, V, s = data["M"], data["U_init"], data["V_init"], data["s_init"]
    if start_seed is not None:
        generator = np.random.default_rng(start_seed)
        U = (0.5 * generator.standard_normal((ROWS, COLUMNS))).astype(dtype)
        V = (0.5 * generator.standard_normal((COLUMNS, COLUMNS))).astype(dtype)
    identity = np.eye(COLUMNS, dtype=dtype)
    parameters = [U, s, V]
    first_moments = [np.zeros_like(p) for p in parameters]
    second_moments = [np.zeros_like(p) for p in parameters]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        U, s, V = parameters
        S = np.logaddexp(0, s)
        residual = U * S @ V.T - M
        gradients = [
            2 * residual @ V * S + 4 * U @ (U.T @ U - identity),
            2 * np.einsum("ij,ij->j", U, residual @ V) / (1 + np.exp(-s)),
            2 * residual.T @ U * S + 4 * V @ (V.T @ V - identity),
        ]
        for index, gradient in enumerate(gradients):
            first_moments[index] = beta1 * first_moments[index] + (1 - beta1) * gradient
            second_moments[index] = beta2 * second_moments[index] + (1 - beta2) * gradient**2
            corrected_first = first_moments[index] / (1 - beta1**step)
            corrected_second = second_moments[index] / (1 - beta2**step)
            parameters[index] = parameters[index] - LR * corrected_first / (np.sqrt(corrected_second) + eps)
    U, s, V = parameters
    S = np.logaddexp(0, s)
    order = np.argsort(-S)
    return {
        "M_learned": U * S @ V.T,
        "orthogonality_error": float(np.linalg.norm(U.T @ U - identity) + np.linalg.norm(V.T @ V - identity)),
        "singular_values": S[order],
        "U_learned": U[:, order],
        "V_learned": V[:, order],
        "unsorted": (S, U, V),
    }


@cache
def float32_run_from_another_start(number: int) -> dict[str, Any]:
    """A float32 run from the first of a few other starting points that finds the factors out of order."""
    for start_seed in range(4, 12):
        run = train(number, np.float32, start_seed=start_seed)
        found_order = run["unsorted"][0]
        if not np.array_equal(found_order, np.sort(found_order)[::-1]):
            return run
    raise AssertionError(f"every other start finds instance {number}'s factors already sorted")


def answer_keys(run: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in run.items() if key != "unsorted"}


def arrays(expected: dict[str, Any]) -> dict[str, np.ndarray]:
    return {key: np.asarray(value) for key, value in expected.items()}


# --- every instance keeps the lesson ----------------------------------------------------------------------


# Hidden instances cycle through the converging candidates: these are all the problems there are.
EVERY_PROBLEM = range(len(CONVERGING) + 1)


@pytest.mark.parametrize("instance_number", EVERY_PROBLEM)
def test_every_instance_keeps_the_lesson(instance_number: int) -> None:
    """M's singular values stay distinct, well separated and unlike the public ones, and the 3000 Adam steps
    from the instance's start reproduce M with orthonormal factors, found out of order, whose sorted values
    are M's."""
    values = np.array(problem(instance_number).singular_values)
    assert np.all(values > 0) and np.all(np.diff(values) < 0)
    if instance_number:
        assert SMALLEST[0] <= values[-1] <= SMALLEST[1]
        assert np.all((GAPS[0] - 0.01 <= -np.diff(values)) & (-np.diff(values) <= GAPS[1] + 0.01))
        assert np.abs(values - problem(0).singular_values).max() > 0.05
    run = train(instance_number)
    M = notebook_data(instance_number)["M"].numpy()
    assert np.abs(run["M_learned"] - M).max() < 1e-5
    assert run["orthogonality_error"] < 1e-4
    np.testing.assert_allclose(run["singular_values"], values, rtol=1e-5)
    found_order = run["unsorted"][0]
    assert not np.array_equal(found_order, np.sort(found_order)[::-1]), (
        "nothing to sort: the task tests nothing"
    )


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_replayed_float64_run_is_the_reference(case: Case) -> None:
    """The numpy replay from the notebook's start reproduces it, so the variants below are meaningful."""
    run = train(case.number)
    assert case.full_marks(case.variant(**answer_keys(run)))
    assert np.allclose(run["singular_values"], case.expected["singular_values"], rtol=1e-6)


def test_sign_flipped_singular_vector_pairs_get_full_marks(case: Case) -> None:
    """Flipping u_i and v_i together is another valid SVD with the same product."""
    answers = arrays(case.expected)
    signs = np.array([-1.0, 1.0, -1.0, -1.0])
    U, V, S = answers["U_learned"] * signs, answers["V_learned"] * signs, answers["singular_values"]
    flipped = case.variant(U_learned=U, V_learned=V, M_learned=U @ np.diag(S) @ V.T)
    assert not np.allclose(U, answers["U_learned"])
    assert case.full_marks(flipped)


def test_float32_run_from_another_start_gets_full_marks(case: Case) -> None:
    """Another starting point finds the factors in another order and with other signs; sorted, they match."""
    run = float32_run_from_another_start(case.number)
    assert run["U_learned"].dtype == np.float32
    assert case.full_marks(case.variant(**answer_keys(run)))


def test_plain_lists_get_full_marks(case: Case) -> None:
    assert case.full_marks({key: value.tolist() for key, value in arrays(case.expected).items()})


def test_torch_tensors_get_full_marks(case: Case) -> None:
    assert case.full_marks({key: torch.tensor(value) for key, value in arrays(case.expected).items()})


def test_library_svd_gets_full_marks(case: Case) -> None:
    """torch.linalg.svd is an exact answer; its signs may differ from the learned ones."""
    U, S, Vh = torch.linalg.svd(notebook_data(case.number)["M"], full_matrices=False)
    exact = case.variant(singular_values=S, U_learned=U, V_learned=Vh.T, M_learned=U * S @ Vh)
    assert case.full_marks(exact)


# --- mistaken variants --------------------------------------------------------------------------------------


def initial_terms_with(number: int, mistake: str) -> list[float]:
    data = notebook_data(number)
    M, U, V, s = data["M"], data["U_init"], data["V_init"], data["s_init"]
    S = s if mistake == "no-softplus" else F.softplus(s)
    gram = U @ U.T if mistake == "U-Ut" else U.T @ U
    right = V if mistake == "V-not-transposed" else V.T
    return [
        float(((M - U @ torch.diag(S) @ right) ** 2).sum()),
        float(((gram - torch.eye(gram.shape[0], dtype=torch.float64)) ** 2).sum()),
        float(((V.T @ V - torch.eye(COLUMNS, dtype=torch.float64)) ** 2).sum()),
    ]


def test_replayed_initial_terms_are_the_reference(case: Case) -> None:
    """The replay reproduces the notebook: the mistaken terms below are its computation changed."""
    replayed = case.variant(initial_loss_terms=initial_terms_with(case.number, "none"))
    assert case.scores(replayed)["initial_loss_terms"] == 1


@pytest.mark.parametrize("mistake", ["U-Ut", "no-softplus", "V-not-transposed"])
def test_mistaken_loss_terms_are_rejected_with_the_hint(case: Case, mistake: str) -> None:
    answers = case.variant(initial_loss_terms=initial_terms_with(case.number, mistake))
    assert case.scores(answers)["initial_loss_terms"] == 0
    assert "UᵀU rather than UUᵀ" in case.messages(answers)["initial_loss_terms"]


def test_unsorted_singular_values_and_vectors_are_rejected(case: Case) -> None:
    S, U, V = float32_run_from_another_start(case.number)["unsorted"]
    answers = case.variant(singular_values=S, U_learned=U, V_learned=V)
    got = case.scores(answers)
    assert got["singular_values"] == 0 and "decrease" in case.messages(answers)["singular_values"]
    assert got["U_learned"] < 1 and got["V_learned"] < 1
    assert "sorted" in case.messages(answers)["U_learned"]


def test_columns_not_permuted_with_the_sorted_values_are_rejected(case: Case) -> None:
    run = float32_run_from_another_start(case.number)
    _, U, V = run["unsorted"]
    answers = case.variant(singular_values=run["singular_values"], U_learned=U, V_learned=V)
    got = case.scores(answers)
    assert got["singular_values"] == 1
    assert got["U_learned"] < 1 and got["V_learned"] < 1
    for key in ("U_learned", "V_learned"):
        assert "permuted" in case.messages(answers)[key]


def test_negative_singular_value_is_rejected(case: Case) -> None:
    """Without softplus a raw parameter can go negative (its vector pair then carries the sign)."""
    negative = arrays(case.expected)["singular_values"] * np.array([1.0, 1.0, 1.0, -1.0])
    answers = case.variant(singular_values=negative)
    assert case.scores(answers)["singular_values"] == 0
    assert "all positive" in case.messages(answers)["singular_values"]


def test_missing_orthogonality_penalty_is_rejected(case: Case) -> None:
    """Without penalties M = (U G)(G⁻¹ diag(S) Vᵀ) fits for any invertible G: a U that is not orthonormal."""
    answers = arrays(case.expected)
    U, S, V = answers["U_learned"], answers["singular_values"], answers["V_learned"]
    mixing = np.eye(COLUMNS) + 0.3 * np.ones((COLUMNS, COLUMNS))
    U_mixed = U @ mixing
    V_mixed = V @ np.diag(S) @ np.linalg.inv(mixing).T
    assert np.allclose(U_mixed @ V_mixed.T, U @ np.diag(S) @ V.T)
    identity = np.eye(COLUMNS)
    error = np.linalg.norm(U_mixed.T @ U_mixed - identity) + np.linalg.norm(V_mixed.T @ V_mixed - identity)
    mistaken = case.variant(
        M_learned=U_mixed @ V_mixed.T,
        orthogonality_error=error,
        singular_values=np.ones(COLUMNS),
        U_learned=U_mixed,
        V_learned=V_mixed,
    )
    got = case.scores(mistaken)
    assert got["M_learned"] == 1, "the product is still right: only the factors are wrong"
    assert got["orthogonality_error"] == 0 and got["singular_values"] == 0
    assert got["U_learned"] < 1 and got["V_learned"] < 1
    assert "both penalties" in case.messages(mistaken)["orthogonality_error"]


def test_orthogonality_error_as_squared_norms_is_rejected(case: Case) -> None:
    _, U, V = train(case.number)["unsorted"]
    identity = np.eye(COLUMNS)
    squared = float(np.linalg.norm(U.T @ U - identity) ** 2 + np.linalg.norm(V.T @ V - identity) ** 2)
    answers = case.variant(orthogonality_error=squared)
    assert case.scores(answers)["orthogonality_error"] == 0
    message = case.messages(answers)["orthogonality_error"]
    assert "orders of magnitude below" in message and "not of their squares" in message


def test_wrong_reconstruction_is_rejected(case: Case) -> None:
    answers = arrays(case.expected)
    U, S, V = answers["U_learned"], answers["singular_values"], answers["V_learned"]
    mistaken = case.variant(M_learned=U @ np.diag(S) @ V)
    assert case.scores(mistaken)["M_learned"] == 0
    assert "U diag(softplus(s)) Vᵀ" in case.messages(mistaken)["M_learned"]


def test_short_run_is_rejected(case: Case) -> None:
    got = case.scores(case.variant(**answer_keys(train(case.number, steps=300))))
    assert got["M_learned"] == 0 and got["orthogonality_error"] == 0 and got["singular_values"] == 0


def test_diverged_run_says_so(case: Case) -> None:
    nan = {key: np.full_like(value, np.nan, dtype=float) for key, value in arrays(case.expected).items()}
    got = case.scores(nan)
    for key in nan:
        assert got[key] == 0, key
        assert "diverged" in case.messages(nan)[key], key


# --- the locked cells take what the checks take ------------------------------------------------------------

# Task 3 answered with float32 arrays and a list, which the check accepts: the comparison with
# torch.linalg.svd and the bar plot after it must take them too.
SORTED_AS_ARRAYS = """with torch.no_grad():
    values, order = torch.sort(F.softplus(s), descending=True)
    singular_values = values.float().numpy()
    U_learned = U[:, order].float().numpy()
    V_learned = V[:, order].tolist()"""


@pytest.mark.slow  # executes the notebook
def test_the_comparison_with_the_library_takes_arrays_and_lists(tmp_path) -> None:
    def edit(cell_id: str | None, source: str) -> str:
        return SORTED_AS_ARRAYS if cell_id == "sorting" else source

    outputs = outputs_of_edited_solution(NOTEBOOK, edit, tmp_path)
    compared = printed(outputs["compare-svd"])
    assert "|<u_i, u_i*>|" in compared and "|<v_i, v_i*>|" in compared
    assert any("image/png" in output.get("data", {}) for output in outputs["plot-singular-values"])
