"""Notebook 00: legitimate ways to write each answer pass, typical mistakes get the message naming them.

Answers are recomputed with autograd from the notebook's definitions, with one thing changed.
"""

import numpy as np
import pytest
import torch
from grading_helpers import messages, reference, scores, variant

from graders.notebook import _explain, check, dump_answers, grade, tensor_like

NOTEBOOK = "00_autograd"
X_VALUES = torch.arange(1.0, 13.0).reshape(3, 4)


def x_grad(function) -> torch.Tensor:
    """The gradient at the notebook's X of a function written by the student."""
    X = X_VALUES.clone().requires_grad_(True)
    function(X).backward()
    return X.grad


def graph_path(output: torch.Tensor) -> list[str]:
    """The notebook's walk: from output.grad_fn along next_functions[0][0] to the leaf."""
    path, node = [], output.grad_fn
    while node is not None:
        path.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    return path


def accumulation(backward_calls: int, zero: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """accumulated_grad after `backward_calls` calls, then grad_after_zeroing with or without zeroing."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(backward_calls):
        (w**2).sum().backward()
    accumulated = w.grad.clone()
    if zero:
        w.grad.zero_()
    (w**2).sum().backward()
    return accumulated, w.grad.clone()


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


@pytest.mark.parametrize(
    "function",
    [
        pytest.param(lambda X: 10 * (X**2).sum(), id="10 * (X**2).sum()"),
        pytest.param(lambda X: (10 * X**2).sum(), id="(10 * X**2).sum()"),
        pytest.param(lambda X: 10 * (X * X).sum(), id="10 * (X * X).sum()"),
        pytest.param(lambda X: 10 * torch.sum(X.pow(2), dtype=torch.float64), id="float64 sum"),
    ],
)
def test_every_correct_way_to_write_f_scores_full_marks(function):
    assert scores(NOTEBOOK, variant(NOTEBOOK, X_grad=x_grad(function)))["X_grad"] == 1.0


def test_the_given_graph_is_the_one_graded_whatever_f_looked_like():
    # Task 3 walks the given g = 10 * (X3**2).sum(), so the answer no longer depends on task 2's f.
    X3 = X_VALUES.clone().requires_grad_(True)
    answers = variant(NOTEBOOK, graph_path=graph_path(10 * (X3**2).sum()))
    assert scores(NOTEBOOK, answers)["graph_path"] == 1.0


def test_walking_another_graph_fails_and_names_the_walk():
    X3 = X_VALUES.clone().requires_grad_(True)
    answers = variant(NOTEBOOK, graph_path=graph_path(10 * (X3 * X3).sum()))
    assert scores(NOTEBOOK, answers)["graph_path"] == 0.0
    assert "the given g.grad_fn" in messages(NOTEBOOK, answers)["graph_path"]


@pytest.mark.parametrize(
    ("function", "words"),
    [
        pytest.param(lambda X: (X**2).sum(), "times 0.1", id="factor 10 forgotten"),
        pytest.param(lambda X: 10 * X.sum(), "differs", id="exponent forgotten"),
        pytest.param(lambda X: -10 * (X**2).sum(), "minus sign", id="sign flipped"),
    ],
)
def test_mistaken_gradients_fail_with_the_spec_hint_or_a_sure_diagnosis(function, words):
    answers = variant(NOTEBOOK, X_grad=x_grad(function))
    said = messages(NOTEBOOK, answers)["X_grad"]
    assert scores(NOTEBOOK, answers)["X_grad"] == 0.0 and words in said
    if words != "minus sign":
        assert "20·X" in said


def test_the_sum_of_two_backward_calls_is_accepted_and_one_call_names_the_task():
    accumulated, after_zeroing = accumulation(2, zero=True)
    assert scores(NOTEBOOK, variant(NOTEBOOK, accumulated_grad=accumulated))["accumulated_grad"] == 1.0
    single, _ = accumulation(1, zero=True)
    answers = variant(NOTEBOOK, accumulated_grad=single, grad_after_zeroing=after_zeroing)
    said = messages(NOTEBOOK, answers)["accumulated_grad"]
    assert scores(NOTEBOOK, answers)["accumulated_grad"] == 0.0
    assert "times 0.5" in said and "call backward() twice" in said


def test_gradients_that_were_not_zeroed_fail_naming_zero_():
    _, not_zeroed = accumulation(2, zero=False)
    answers = variant(NOTEBOOK, grad_after_zeroing=not_zeroed)
    assert scores(NOTEBOOK, answers)["grad_after_zeroing"] == 0.0
    assert "w.grad.zero_()" in messages(NOTEBOOK, answers)["grad_after_zeroing"]


@pytest.mark.parametrize("flags", [[True, True, False], [True, False, True], [False, False, False]])
def test_wrong_requires_grad_flags_fail_naming_no_grad(flags):
    answers = variant(NOTEBOOK, requires_grad_flags=flags)
    assert scores(NOTEBOOK, answers)["requires_grad_flags"] == 0.0
    assert "torch.no_grad()" in messages(NOTEBOOK, answers)["requires_grad_flags"]


def test_flags_as_a_numpy_array_are_accepted():
    answers = variant(NOTEBOOK, requires_grad_flags=np.array([True, False, False]))
    assert scores(NOTEBOOK, answers)["requires_grad_flags"] == 1.0


# --- the student's loop: graders.notebook in one folder --------------------------------------------


def test_two_notebooks_in_one_folder_keep_their_answers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dump_answers(NOTEBOOK, reference(NOTEBOOK))
    dump_answers("06_svd", reference("06_svd"))
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "00_autograd.answer.json",
        "06_svd.answer.json",
    ]
    points = grade(NOTEBOOK, "X_grad")
    assert float(points) == 2.0 and "✓ X_grad [2/2]" in capsys.readouterr().out


def test_a_diverged_answer_is_saved_and_costs_only_its_own_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dump_answers(NOTEBOOK, variant(NOTEBOOK, X_grad=torch.full((3, 4), float("nan"))))
    assert float(grade(NOTEBOOK, "X_grad")) == 0.0
    assert "your values diverged" in capsys.readouterr().out
    assert float(grade(NOTEBOOK, "sum_grads")) == 1.0


def test_a_graded_cell_shows_points_while_nbgrader_reads_a_bare_number(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dump_answers(NOTEBOOK, variant(NOTEBOOK, sum_grads=[1.0, 2.0]))
    points = grade(NOTEBOOK, "sum_grads", "X_grad")
    assert float(repr(points)) == 2.0  # nbgrader's get_partial_grade calls float() on text/plain
    assert points._repr_html_() == "<b>2/3 points</b>"


def test_a_failed_check_prints_its_message_in_red_without_raising(capsys):
    check(NOTEBOOK, X_grad=-x_grad(lambda X: 10 * (X**2).sum()), sum_grads=[1.0, 1.0])
    out = capsys.readouterr().out
    assert "\x1b[31m✗ X_grad [0/2]: differs" in out and "minus sign" in out
    assert "\x1b[32m✓ sum_grads [1/1]" in out and "Traceback" not in out


def test_comparison_cells_accept_arrays_and_float64():
    like = torch.zeros(2, dtype=torch.float32)
    for value in ([np.array([1.0, 2.0])], [torch.tensor([1.0, 2.0], dtype=torch.float64)]):
        converted = tensor_like(value, like)
        assert converted.dtype == torch.float32 and converted.tolist() == [[1.0, 2.0]]


class RecordingShell:
    """Stands in for IPython's shell: keeps the traceback lines it is asked to show."""

    def _showtraceback(self, etype, value, lines):
        self.shown = lines


def explanation(error: BaseException) -> str:
    shell = RecordingShell()
    _explain(shell, type(error), error, error.__traceback__)
    return "".join(shell.shown)


def test_a_skipped_task_says_which_cell_to_run_instead_of_a_traceback():
    def make_gradient_step():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError) as stub:
        make_gradient_step()
    assert "`make_gradient_step` is not written yet" in explanation(stub.value)
    with pytest.raises(NameError) as missing:
        exec("check(NOTEBOOK, X_grad=X_grad)", {})
    said = explanation(missing.value)
    assert "'check' is not defined" in said and "run the task cell that defines it first" in said
