"""Notebook 00: legitimate ways to write each answer pass, typical mistakes get the message naming them,
on the public problem and on a hidden instance alike; every instance keeps the lesson.

Answers are recomputed with autograd from an instance's problem (graders.core.problems.nb00_autograd), with
one thing changed, and graded against that instance's reference.
"""

import numpy as np
import pytest
import torch
from grading_helpers import (
    HIDDEN_INSTANCE,
    GradedInstance,
    case_fixture,
    reference,
    variant,
)

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb00_autograd import WAYS, problem, tracked
from graders.core.student import _explain, check, dump_answers, grade, tensor_like

NOTEBOOK = "00_autograd"
LESSON_INSTANCES = range(8)
# Task 2's entries stay small whole numbers, so that 20·X is exact in float32 and EXACT grading is fair.
LARGEST_ENTRY = 12


class Instance(GradedInstance):
    notebook = NOTEBOOK
    problem_of = problem


case = case_fixture(Instance)


@pytest.fixture
def hidden(request: pytest.FixtureRequest) -> Instance:
    return Instance.graded(request, HIDDEN_INSTANCE)


def sum_grads(weights: tuple[float, float], point: tuple[float, float]) -> list[torch.Tensor]:
    """Task 1 with the given coefficients: [x.grad, y.grad] for L = weights[0]·x + weights[1]·y."""
    x, y = (torch.tensor(value, requires_grad=True) for value in point)
    (weights[0] * x + weights[1] * y).backward()
    return [x.grad, y.grad]


def x_grad(function, matrix: list[list[float]]) -> torch.Tensor:
    """The gradient at the instance's X of a function written by the student."""
    X = torch.tensor(matrix, requires_grad=True)
    function(X).backward()
    return X.grad


def graph_path(output: torch.Tensor) -> list[str]:
    """The notebook's walk: from output.grad_fn along next_functions[0][0] to the leaf."""
    path, node = [], output.grad_fn
    while node is not None:
        path.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    return path


def accumulation(w_start: list[float], backward_calls: int, zero: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """accumulated_grad after `backward_calls` calls, then grad_after_zeroing with or without zeroing."""
    w = torch.tensor(w_start, requires_grad=True)
    for _ in range(backward_calls):
        (w**2).sum().backward()
    accumulated = w.grad.clone()
    if zero:
        w.grad.zero_()
    (w**2).sum().backward()
    return accumulated, w.grad.clone()


def requires_grad_flags(ways: tuple[str, ...]) -> list[bool]:
    """Task 5 done with torch: a * 2 computed each way, in order, and whether each result requires grad."""
    a = torch.tensor(1.5, requires_grad=True)
    results = []
    for way in ways:
        with torch.set_grad_enabled(way != "no_grad"):
            result = a * 2
        results.append(result.detach() if way == "detach" else result)
    return [result.requires_grad for result in results]


def test_reference_scores_full_marks(case):
    assert set(case.scores(case.expected).values()) == {1.0}


def test_the_weighted_sum_differentiated_by_autograd_scores_full_marks(case):
    computed = sum_grads(case.problem.weights, case.problem.point)
    assert case.scores(case.variant(sum_grads=computed))["sum_grads"] == 1.0


@pytest.mark.slow  # the hidden instance's reference is its solution run
def test_a_sum_without_its_weights_fails_on_a_hidden_instance_with_the_hint(hidden):
    answers = hidden.variant(sum_grads=sum_grads((1.0, 1.0), hidden.problem.point))
    assert hidden.scores(answers)["sum_grads"] == 0.0
    assert "C_X·x + C_Y·y" in hidden.messages(answers)["sum_grads"]


@pytest.mark.parametrize(
    "function",
    [
        pytest.param(lambda X: 10 * (X**2).sum(), id="10 * (X**2).sum()"),
        pytest.param(lambda X: (10 * X**2).sum(), id="(10 * X**2).sum()"),
        pytest.param(lambda X: 10 * (X * X).sum(), id="10 * (X * X).sum()"),
        pytest.param(lambda X: 10 * torch.sum(X.pow(2), dtype=torch.float64), id="float64 sum"),
    ],
)
def test_every_correct_way_to_write_f_scores_full_marks(case, function):
    answers = case.variant(X_grad=x_grad(function, case.problem.matrix))
    assert case.scores(answers)["X_grad"] == 1.0


def test_the_given_graph_is_the_one_graded_whatever_f_looked_like(case):
    # Task 3 walks the given g = 10 * (X3**2).sum(), so the answer no longer depends on task 2's f.
    X3 = torch.tensor(case.problem.matrix, requires_grad=True)
    answers = case.variant(graph_path=graph_path(10 * (X3**2).sum()))
    assert case.scores(answers)["graph_path"] == 1.0


def test_walking_another_graph_fails_and_names_the_walk(case):
    X3 = torch.tensor(case.problem.matrix, requires_grad=True)
    answers = case.variant(graph_path=graph_path(10 * (X3 * X3).sum()))
    assert case.scores(answers)["graph_path"] == 0.0
    assert "the given g.grad_fn" in case.messages(answers)["graph_path"]


@pytest.mark.parametrize(
    ("function", "words"),
    [
        pytest.param(lambda X: (X**2).sum(), "times 0.1", id="factor 10 forgotten"),
        pytest.param(lambda X: 10 * X.sum(), "differs", id="exponent forgotten"),
        pytest.param(lambda X: -10 * (X**2).sum(), "minus sign", id="sign flipped"),
    ],
)
def test_mistaken_gradients_fail_with_the_spec_hint_or_a_sure_diagnosis(case, function, words):
    answers = case.variant(X_grad=x_grad(function, case.problem.matrix))
    said = case.messages(answers)["X_grad"]
    assert case.scores(answers)["X_grad"] == 0.0 and words in said
    # A sure diagnosis (the sign) stands alone; otherwise the spec's question about the power rule follows.
    assert ("power rule" in said) == (words != "minus sign")


def test_the_sum_of_two_backward_calls_is_accepted_and_one_call_names_the_task(case):
    accumulated, after_zeroing = accumulation(case.problem.w, 2, zero=True)
    assert case.scores(case.variant(accumulated_grad=accumulated))["accumulated_grad"] == 1.0
    single, _ = accumulation(case.problem.w, 1, zero=True)
    answers = case.variant(accumulated_grad=single, grad_after_zeroing=after_zeroing)
    said = case.messages(answers)["accumulated_grad"]
    assert case.scores(answers)["accumulated_grad"] == 0.0
    assert "times 0.5" in said and "how many calls" in said


def test_gradients_that_were_not_zeroed_fail_naming_zeroing(case):
    _, not_zeroed = accumulation(case.problem.w, 2, zero=False)
    answers = case.variant(grad_after_zeroing=not_zeroed)
    assert case.scores(answers)["grad_after_zeroing"] == 0.0
    assert "zeroed in place" in case.messages(answers)["grad_after_zeroing"]


def test_the_flags_computed_each_way_score_full_marks(case):
    answers = case.variant(requires_grad_flags=requires_grad_flags(case.problem.ways))
    assert case.scores(answers)["requires_grad_flags"] == 1.0


@pytest.mark.parametrize(
    "believed_tracked",
    [
        pytest.param(lambda way: way != "detach", id="no_grad thought to track"),
        pytest.param(lambda way: way != "no_grad", id="detach thought to track"),
        pytest.param(lambda way: False, id="nothing tracked"),
    ],
)
def test_wrong_requires_grad_flags_fail_naming_no_grad(case, believed_tracked):
    answers = case.variant(requires_grad_flags=[believed_tracked(way) for way in case.problem.ways])
    assert case.scores(answers)["requires_grad_flags"] == 0.0
    assert "torch.no_grad()" in case.messages(answers)["requires_grad_flags"]


@pytest.mark.slow  # the hidden instance's reference is its solution run
def test_the_public_order_of_ways_fails_on_a_hidden_instance_naming_ways(hidden):
    answers = hidden.variant(requires_grad_flags=requires_grad_flags(WAYS))
    assert hidden.scores(answers)["requires_grad_flags"] == 0.0
    assert "order of WAYS" in hidden.messages(answers)["requires_grad_flags"]


def test_flags_as_a_numpy_array_are_accepted(case):
    answers = case.variant(requires_grad_flags=np.array(requires_grad_flags(case.problem.ways)))
    assert case.scores(answers)["requires_grad_flags"] == 1.0


# --- every instance keeps the lesson -----------------------------------------------------------------


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_keeps_the_lesson(number):
    given = problem(number)
    # Task 1: both inputs have a gradient to see.
    assert 0.0 not in given.weights
    # Task 2: a rectangular matrix of nonzero whole numbers, so 20·X is exact and the sign is visible.
    entries = np.array(given.matrix)
    assert entries.ndim == 2 and np.all(entries != 0) and np.all(entries == np.round(entries))
    assert np.abs(entries).max() <= LARGEST_ENTRY
    # Task 4: every entry of w has a gradient, so doubling and zeroing show in each.
    assert len(given.w) >= 2 and 0.0 not in given.w
    # Task 5: every way of computing appears, so the flags test all three.
    assert set(given.ways) == set(WAYS) and 3 <= len(given.ways) <= 5


@pytest.mark.parametrize("number", [n for n in LESSON_INSTANCES if n != PUBLIC_INSTANCE])
def test_no_task_of_a_hidden_instance_has_the_public_answer(number):
    given, public = problem(number), problem(PUBLIC_INSTANCE)
    # Neither weight is the public 1, and swapping x and y shows.
    assert 1.0 not in given.weights and given.weights[0] != given.weights[1]
    assert given.matrix != public.matrix and given.w != public.w
    assert tracked(given.ways) != tracked(public.ways)


# --- the student's loop: graders.core.student in one folder --------------------------------------------


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
    public = problem(PUBLIC_INSTANCE)
    check(NOTEBOOK, X_grad=-x_grad(lambda X: 10 * (X**2).sum(), public.matrix), sum_grads=[1.0, 1.0])
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
