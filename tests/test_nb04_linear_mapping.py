"""Notebook 04: the grader follows the 5 SGD steps exactly and judges mini-batch SGD by its distance to lstsq.

Part 1 variants are recomputed with numpy from the gradient derived in the notebook, ∇_W L = ½ x rᵀ;
part 2 variants rerun mini-batch SGD with torch on the notebook's data, with other shuffles or mistakes.
"""

from functools import cache

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tests.grading_helpers import messages, reference, scores, variant

NOTEBOOK = "04_linear_mapping"
SEED = 0


# --- part 1: five steps of a linear mapping, in numpy ------------------------------------------------


def linear_mapping(
    lr: float = 0.0005,
    steps: int = 5,
    *,
    zero_grad: bool = True,
    record_after: bool = False,
    dtype: type = np.float64,
) -> tuple[list[float], np.ndarray]:
    """The losses a student records and W after the last step."""
    x = np.arange(-16, 16, 2).astype(dtype)
    y = np.array([2, 3, 5, 7], dtype=dtype)
    W = np.zeros((16, 4), dtype=dtype)
    grad = np.zeros_like(W)
    losses = []
    for _ in range(steps):
        residual = x @ W - y
        if not record_after:
            losses.append(float(np.mean(residual**2)))
        step_grad = 0.5 * np.outer(x, residual)
        grad = step_grad if zero_grad else grad + step_grad
        W = W - lr * grad
        if record_after:
            losses.append(float(np.mean((x @ W - y) ** 2)))
    return losses, W


def part1(**options) -> dict:
    losses, W = linear_mapping(**options)
    return variant(NOTEBOOK, linear_mapping_losses=losses, linear_mapping_W=W)


def test_reference_earns_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_numpy_recomputation_is_the_reference():
    earned = scores(NOTEBOOK, part1())
    assert earned["linear_mapping_losses"] == earned["linear_mapping_W"] == 1.0


def test_float32_passes():
    earned = scores(NOTEBOOK, part1(dtype=np.float32))
    assert earned["linear_mapping_losses"] == earned["linear_mapping_W"] == 1.0


def test_lists_and_tensors_pass():
    answers = reference(NOTEBOOK)
    listed = variant(
        NOTEBOOK,
        linear_mapping_losses=[float(loss) for loss in answers["linear_mapping_losses"]],
        linear_mapping_W=np.asarray(answers["linear_mapping_W"]).tolist(),
        lstsq_weights=torch.tensor(answers["lstsq_weights"]),
        sgd_weights=[float(value) for value in answers["sgd_weights"]],
        sgd_excess_loss=[answers["sgd_excess_loss"]],
    )
    assert set(scores(NOTEBOOK, listed).values()) == {1.0}


def test_tensordot_prediction_is_the_same():
    x = torch.tensor(range(-16, 16, 2), dtype=torch.float64)
    W = torch.tensor(np.asarray(reference(NOTEBOOK)["linear_mapping_W"]))
    assert torch.equal(x @ W, torch.tensordot(x, W, dims=1))


@pytest.mark.parametrize("lr", [0.005, 0.0001, 0.001])
def test_wrong_learning_rate_fails(lr):
    earned = scores(NOTEBOOK, part1(lr=lr))
    assert earned["linear_mapping_W"] == 0.0
    # The loss before the first step does not depend on the learning rate.
    assert earned["linear_mapping_losses"] == pytest.approx(1 / 5)


def test_wrong_learning_rate_message_names_it():
    said = messages(NOTEBOOK, part1(lr=0.001))
    assert "lr=0.0005" in said["linear_mapping_W"]
    assert "first difference at step 1" in said["linear_mapping_losses"]


def test_missing_zero_grad_fails():
    earned = scores(NOTEBOOK, part1(zero_grad=False))
    assert earned["linear_mapping_W"] == 0.0
    # Steps 0 and 1 see the same gradient either way; accumulation shows from the second update on.
    assert earned["linear_mapping_losses"] == pytest.approx(2 / 5)
    assert "zero_grad" in messages(NOTEBOOK, part1(zero_grad=False))["linear_mapping_losses"]


def test_recording_after_the_update_is_diagnosed():
    answers = part1(record_after=True)
    assert scores(NOTEBOOK, answers)["linear_mapping_losses"] == 0.0
    assert scores(NOTEBOOK, answers)["linear_mapping_W"] == 1.0
    assert "one step ahead" in messages(NOTEBOOK, answers)["linear_mapping_losses"]


def test_too_many_or_too_few_steps_fail():
    for steps in (4, 6):
        losses, W = linear_mapping(steps=steps)
        earned = scores(NOTEBOOK, variant(NOTEBOOK, linear_mapping_losses=losses, linear_mapping_W=W))
        assert earned["linear_mapping_W"] == 0.0
        assert earned["linear_mapping_losses"] == 0.0


def test_transposed_W_fails_naming_the_transpose():
    W = np.asarray(reference(NOTEBOOK)["linear_mapping_W"])
    answers = variant(NOTEBOOK, linear_mapping_W=W.T)
    assert scores(NOTEBOOK, answers)["linear_mapping_W"] == 0.0
    assert "transpose" in messages(NOTEBOOK, answers)["linear_mapping_W"]


def test_sum_instead_of_mean_fails():
    # MSELoss(reduction="sum") is 4 times the loss and gives 4 times the gradient.
    losses, _ = linear_mapping()
    _, W = linear_mapping(lr=4 * 0.0005)
    earned = scores(
        NOTEBOOK, variant(NOTEBOOK, linear_mapping_losses=[4 * loss for loss in losses], linear_mapping_W=W)
    )
    assert earned["linear_mapping_W"] == 0.0
    assert earned["linear_mapping_losses"] == 0.0


# --- part 2: linear regression ----------------------------------------------------------------------


@cache
def regression_data() -> tuple[torch.Tensor, torch.Tensor]:
    """inputs and targets exactly as the notebook's data cell makes them."""
    generator = torch.Generator().manual_seed(SEED)
    inputs = torch.randn(200, 3, dtype=torch.float64, generator=generator)
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    return inputs, inputs @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise


@cache
def least_squares() -> tuple[np.ndarray, float]:
    inputs, targets = (tensor.numpy() for tensor in regression_data())
    A = np.column_stack([inputs, np.ones(len(inputs))])
    solution = np.linalg.lstsq(A, targets, rcond=None)[0]
    return solution, float(np.mean((A @ solution - targets) ** 2))


@cache
def sgd_run(
    lr: float = 0.05,
    epochs: int = 20,
    batch_size: int = 20,
    shuffle_seed: int = SEED,
    *,
    manual_batches: bool = False,
    zero_grad: bool = True,
    dtype: torch.dtype = torch.float64,
) -> tuple[np.ndarray, float]:
    """(w, b) after training and the final whole-training-set MSE.

    The update is torch.optim.SGD's (p -= lr * p.grad) written out: optimizer.step() would import torch's
    compiler stack, seconds that would make the first test slow.
    """
    torch.set_num_threads(1)
    inputs, targets = (tensor.to(dtype) for tensor in regression_data())
    w = torch.zeros(3, dtype=dtype, requires_grad=True)
    b = torch.zeros((), dtype=dtype, requires_grad=True)
    generator = torch.Generator().manual_seed(shuffle_seed)
    loader = DataLoader(
        TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True, generator=generator
    )
    for _ in range(epochs):
        if manual_batches:
            order = torch.randperm(len(inputs), generator=generator)
            batches = [order[start : start + batch_size] for start in range(0, len(inputs), batch_size)]
            batches = [(inputs[batch], targets[batch]) for batch in batches]
        else:
            batches = loader
        for batch_inputs, batch_targets in batches:
            if zero_grad:
                w.grad = b.grad = None
            torch.nn.functional.mse_loss(batch_inputs @ w + b, batch_targets).backward()
            with torch.no_grad():
                w.add_(w.grad, alpha=-lr)
                b.add_(b.grad, alpha=-lr)
    with torch.no_grad():
        final_loss = torch.nn.functional.mse_loss(inputs @ w + b, targets).item()
    return torch.cat([w.detach(), b.detach().reshape(1)]).double().numpy(), final_loss


def part2(**options) -> dict:
    weights, final_loss = sgd_run(**options)
    return variant(NOTEBOOK, sgd_weights=weights, sgd_excess_loss=final_loss / least_squares()[1] - 1)


def test_numpy_lstsq_is_the_reference():
    assert scores(NOTEBOOK, variant(NOTEBOOK, lstsq_weights=least_squares()[0]))["lstsq_weights"] == 1.0


def test_lstsq_without_the_bias_column_fails():
    inputs, targets = (tensor.numpy() for tensor in regression_data())
    no_bias = np.linalg.lstsq(inputs, targets, rcond=None)[0]
    answers = variant(NOTEBOOK, lstsq_weights=no_bias)
    assert scores(NOTEBOOK, answers)["lstsq_weights"] == 0.0
    assert "wrong shape" in messages(NOTEBOOK, answers)["lstsq_weights"]


def test_lstsq_with_the_bias_first_fails():
    solution = least_squares()[0]
    answers = variant(NOTEBOOK, lstsq_weights=np.roll(solution, 1))
    assert scores(NOTEBOOK, answers)["lstsq_weights"] == 0.0
    assert "then the bias" in messages(NOTEBOOK, answers)["lstsq_weights"]


def test_torch_recomputation_is_the_reference_run():
    assert scores(NOTEBOOK, part2()) == dict.fromkeys(reference(NOTEBOOK), 1.0)


@pytest.mark.parametrize("shuffle_seed", [1, 2, 3, 4])
def test_other_shuffles_pass(shuffle_seed):
    earned = scores(NOTEBOOK, part2(shuffle_seed=shuffle_seed))
    assert earned["sgd_weights"] == earned["sgd_excess_loss"] == 1.0


def test_manual_shuffled_batches_pass():
    earned = scores(NOTEBOOK, part2(manual_batches=True))
    assert earned["sgd_weights"] == earned["sgd_excess_loss"] == 1.0


def test_float32_sgd_passes():
    earned = scores(NOTEBOOK, part2(dtype=torch.float32))
    assert earned["sgd_weights"] == earned["sgd_excess_loss"] == 1.0


@pytest.mark.parametrize(
    "mistake",
    [
        {"lr": 0.01},  # five times too small: still far from the optimum after 20 epochs
        {"epochs": 5},
        {"batch_size": 200},  # full-batch steps: 20 times fewer updates
        {"zero_grad": False},
    ],
)
def test_sgd_mistakes_fail(mistake):
    earned = scores(NOTEBOOK, part2(**mistake))
    assert earned["sgd_weights"] == 0.0
    assert earned["sgd_excess_loss"] == 0.0


def test_sgd_without_the_bias_fails():
    weights, _ = sgd_run()
    answers = variant(NOTEBOOK, sgd_weights=weights[:3])
    assert scores(NOTEBOOK, answers)["sgd_weights"] == 0.0


def test_swapped_excess_ratio_is_diagnosed():
    _, final_loss = sgd_run(epochs=5)
    answers = variant(NOTEBOOK, sgd_excess_loss=least_squares()[1] / final_loss - 1)
    assert scores(NOTEBOOK, answers)["sgd_excess_loss"] == 0.0
    assert "negative" in messages(NOTEBOOK, answers)["sgd_excess_loss"]


@pytest.mark.parametrize("shuffle_seed", [0, 1, 2, 3])
def test_an_absolute_loss_difference_instead_of_the_ratio_fails(shuffle_seed):
    _, final_loss = sgd_run(shuffle_seed=shuffle_seed)
    answers = variant(NOTEBOOK, sgd_excess_loss=final_loss - least_squares()[1])
    assert scores(NOTEBOOK, answers)["sgd_excess_loss"] == 0.0
    assert "orders of magnitude below" in messages(NOTEBOOK, answers)["sgd_excess_loss"]


@pytest.mark.parametrize("shuffle_seed", [0, 1, 2, 3])
def test_the_excess_ratio_of_any_shuffle_passes(shuffle_seed):
    _, final_loss = sgd_run(shuffle_seed=shuffle_seed)
    answers = variant(NOTEBOOK, sgd_excess_loss=final_loss / least_squares()[1] - 1)
    assert scores(NOTEBOOK, answers)["sgd_excess_loss"] == 1.0


def test_a_typed_in_zero_excess_fails():
    answers = variant(NOTEBOOK, sgd_excess_loss=0.0)
    assert scores(NOTEBOOK, answers)["sgd_excess_loss"] == 0.0
    assert "computed from your run" in messages(NOTEBOOK, answers)["sgd_excess_loss"]


def test_unconverged_excess_fails_with_the_hint():
    _, final_loss = sgd_run(epochs=3)
    answers = variant(NOTEBOOK, sgd_excess_loss=final_loss - least_squares()[1])
    assert scores(NOTEBOOK, answers)["sgd_excess_loss"] == 0.0
    assert "divided by lstsq_loss" in messages(NOTEBOOK, answers)["sgd_excess_loss"]
