"""Notebook 06 (the SVD by gradient descent): the grader's verdicts on mistaken and legitimate answers.

The SVD is defined only up to the sign of each pair of singular vectors (and their order, which the notebook
fixes by sorting), so legitimate variants include flipped columns and runs from another starting point.
Data and training are replayed here with the notebook's seed, so the variants are what a student would get.
"""

from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from grading_helpers import messages, reference, scores, variant

NOTEBOOK = "06_svd"
ROWS, COLUMNS = 6, 4
STEPS, LR = 3000, 0.01


def notebook_data() -> dict[str, torch.Tensor]:
    """The notebook's data cell, replayed: same seed, same order of random draws."""
    generator = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(ROWS, COLUMNS, dtype=torch.float64, generator=generator))
    right, _ = torch.linalg.qr(torch.randn(COLUMNS, COLUMNS, dtype=torch.float64, generator=generator))
    M = left @ torch.diag(torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=torch.float64)) @ right.T
    U_init = 0.5 * torch.randn(ROWS, COLUMNS, dtype=torch.float64, generator=generator)
    V_init = 0.5 * torch.randn(COLUMNS, COLUMNS, dtype=torch.float64, generator=generator)
    return {"M": M, "U_init": U_init, "V_init": V_init, "s_init": torch.zeros(COLUMNS, dtype=torch.float64)}


def train(dtype: type = np.float64, steps: int = STEPS, start_seed: int | None = None) -> dict[str, Any]:
    """Tasks 2 and 3 in numpy, with hand-derived gradients and Adam by its formulas.

    An independent implementation, and ten times faster than autograd for matrices this small.
    start_seed draws another starting point instead of the notebook's.
    """
    data = {key: value.numpy().astype(dtype) for key, value in notebook_data().items()}
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
def float32_run_from_another_start() -> dict[str, Any]:
    return train(np.float32, start_seed=4)


def answer_keys(run: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in run.items() if key != "unsorted"}


def reference_arrays() -> dict[str, np.ndarray]:
    return {key: np.asarray(value) for key, value in reference(NOTEBOOK).items()}


def full_marks(answers: dict[str, Any]) -> bool:
    return all(share == 1.0 for share in scores(NOTEBOOK, answers).values())


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_replayed_float64_run_is_the_reference() -> None:
    """The numpy replay from the notebook's start reproduces it, so the variants below are meaningful."""
    run = train(np.float64)
    assert full_marks(variant(NOTEBOOK, **answer_keys(run)))
    assert np.allclose(run["singular_values"], reference(NOTEBOOK)["singular_values"], rtol=1e-9)


def test_sign_flipped_singular_vector_pairs_get_full_marks() -> None:
    """Flipping u_i and v_i together is another valid SVD with the same product."""
    answers = reference_arrays()
    signs = np.array([-1.0, 1.0, -1.0, -1.0])
    U, V, S = answers["U_learned"] * signs, answers["V_learned"] * signs, answers["singular_values"]
    flipped = variant(NOTEBOOK, U_learned=U, V_learned=V, M_learned=U @ np.diag(S) @ V.T)
    assert not np.allclose(U, answers["U_learned"])
    assert full_marks(flipped)


def test_float32_run_from_another_start_gets_full_marks() -> None:
    """Another starting point finds the factors in another order and with other signs; sorted, they match."""
    run = float32_run_from_another_start()
    found_order = run["unsorted"][0]
    assert not np.array_equal(found_order, np.sort(found_order)[::-1])
    assert run["U_learned"].dtype == np.float32
    answers = variant(NOTEBOOK, **answer_keys(run))
    assert full_marks(answers)


def test_plain_lists_get_full_marks() -> None:
    assert full_marks({key: value.tolist() for key, value in reference_arrays().items()})


def test_torch_tensors_get_full_marks() -> None:
    assert full_marks({key: torch.tensor(value) for key, value in reference_arrays().items()})


def test_library_svd_gets_full_marks() -> None:
    """torch.linalg.svd is an exact answer; its signs may differ from the learned ones."""
    U, S, Vh = torch.linalg.svd(notebook_data()["M"], full_matrices=False)
    assert full_marks(variant(NOTEBOOK, singular_values=S, U_learned=U, V_learned=Vh.T, M_learned=U * S @ Vh))


# --- mistaken variants --------------------------------------------------------------------------------------


def initial_terms_with(mistake: str) -> list[float]:
    data = notebook_data()
    M, U, V, s = data["M"], data["U_init"], data["V_init"], data["s_init"]
    S = s if mistake == "no-softplus" else F.softplus(s)
    gram = U @ U.T if mistake == "U-Ut" else U.T @ U
    right = V if mistake == "V-not-transposed" else V.T
    return [
        float(((M - U @ torch.diag(S) @ right) ** 2).sum()),
        float(((gram - torch.eye(gram.shape[0], dtype=torch.float64)) ** 2).sum()),
        float(((V.T @ V - torch.eye(COLUMNS, dtype=torch.float64)) ** 2).sum()),
    ]


def test_replayed_initial_terms_are_the_reference() -> None:
    """The replay reproduces the notebook: the mistaken terms below are its computation changed."""
    replayed = variant(NOTEBOOK, initial_loss_terms=initial_terms_with("none"))
    assert scores(NOTEBOOK, replayed)["initial_loss_terms"] == 1


def test_mistaken_loss_terms_are_rejected_with_the_hint() -> None:
    for mistake in ("U-Ut", "no-softplus", "V-not-transposed"):
        answers = variant(NOTEBOOK, initial_loss_terms=initial_terms_with(mistake))
        assert scores(NOTEBOOK, answers)["initial_loss_terms"] == 0, mistake
        assert "UᵀU (not UUᵀ)" in messages(NOTEBOOK, answers)["initial_loss_terms"], mistake


def test_unsorted_singular_values_and_vectors_are_rejected() -> None:
    S, U, V = float32_run_from_another_start()["unsorted"]
    answers = variant(NOTEBOOK, singular_values=S, U_learned=U, V_learned=V)
    earned, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    assert earned["singular_values"] == 0 and "decreasing order" in said["singular_values"]
    assert earned["U_learned"] < 1 and earned["V_learned"] < 1
    assert "sorted in decreasing order" in said["U_learned"]


def test_columns_not_permuted_with_the_sorted_values_are_rejected() -> None:
    run = float32_run_from_another_start()
    _, U, V = run["unsorted"]
    answers = variant(NOTEBOOK, singular_values=run["singular_values"], U_learned=U, V_learned=V)
    earned = scores(NOTEBOOK, answers)
    assert earned["singular_values"] == 1
    assert earned["U_learned"] < 1 and earned["V_learned"] < 1
    assert "sorted in decreasing order" in messages(NOTEBOOK, answers)["V_learned"]


def test_negative_singular_value_is_rejected() -> None:
    """Without softplus a raw parameter can go negative (its vector pair then carries the sign)."""
    negative = reference_arrays()["singular_values"] * np.array([1.0, 1.0, 1.0, -1.0])
    answers = variant(NOTEBOOK, singular_values=negative)
    assert scores(NOTEBOOK, answers)["singular_values"] == 0
    assert "all positive" in messages(NOTEBOOK, answers)["singular_values"]


def test_missing_orthogonality_penalty_is_rejected() -> None:
    """Without penalties M = (U G)(G⁻¹ diag(S) Vᵀ) fits for any invertible G: a U that is not orthonormal."""
    answers = reference_arrays()
    U, S, V = answers["U_learned"], answers["singular_values"], answers["V_learned"]
    mixing = np.eye(COLUMNS) + 0.3 * np.ones((COLUMNS, COLUMNS))
    U_mixed = U @ mixing
    V_mixed = V @ np.diag(S) @ np.linalg.inv(mixing).T
    assert np.allclose(U_mixed @ V_mixed.T, U @ np.diag(S) @ V.T)
    identity = np.eye(COLUMNS)
    error = np.linalg.norm(U_mixed.T @ U_mixed - identity) + np.linalg.norm(V_mixed.T @ V_mixed - identity)
    mistaken = variant(
        NOTEBOOK,
        M_learned=U_mixed @ V_mixed.T,
        orthogonality_error=error,
        singular_values=np.ones(COLUMNS),
        U_learned=U_mixed,
        V_learned=V_mixed,
    )
    earned = scores(NOTEBOOK, mistaken)
    assert earned["M_learned"] == 1, "the product is still right: only the factors are wrong"
    assert earned["orthogonality_error"] == 0 and earned["singular_values"] == 0
    assert earned["U_learned"] < 1 and earned["V_learned"] < 1
    assert "both penalties" in messages(NOTEBOOK, mistaken)["orthogonality_error"]


def test_orthogonality_error_as_squared_norms_is_rejected() -> None:
    _, U, V = train(np.float64)["unsorted"]
    identity = np.eye(COLUMNS)
    squared = float(np.linalg.norm(U.T @ U - identity) ** 2 + np.linalg.norm(V.T @ V - identity) ** 2)
    answers = variant(NOTEBOOK, orthogonality_error=squared)
    assert scores(NOTEBOOK, answers)["orthogonality_error"] == 0
    said = messages(NOTEBOOK, answers)["orthogonality_error"]
    assert "orders of magnitude below" in said and "‖UᵀU − I‖_F" in said


def test_wrong_reconstruction_is_rejected() -> None:
    answers = reference_arrays()
    U, S, V = answers["U_learned"], answers["singular_values"], answers["V_learned"]
    mistaken = variant(NOTEBOOK, M_learned=U @ np.diag(S) @ V)
    assert scores(NOTEBOOK, mistaken)["M_learned"] == 0
    assert "reproduce M" in messages(NOTEBOOK, mistaken)["M_learned"]


def test_short_run_is_rejected() -> None:
    short = answer_keys(train(steps=300))
    earned = scores(NOTEBOOK, variant(NOTEBOOK, **short))
    assert earned["M_learned"] == 0 and earned["orthogonality_error"] == 0 and earned["singular_values"] == 0


def test_diverged_run_says_so() -> None:
    nan = {
        key: np.full_like(np.asarray(value, dtype=float), np.nan) for key, value in reference_arrays().items()
    }
    earned, said = scores(NOTEBOOK, nan), messages(NOTEBOOK, nan)
    for key in nan:
        assert earned[key] == 0, key
        assert "diverged" in said[key], key
