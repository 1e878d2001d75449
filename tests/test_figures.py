"""The shared bowls and drawing helpers (graders.core.bowls, graders.core.figures): each draws what it
promises, with title, labels and legend, on an Agg figure, and refuses bad input with a clear message."""

from collections.abc import Iterator

import matplotlib
import numpy as np
import pytest
import torch

from graders.core.bowls import PLAYGROUND_BOWLS, PUBLIC_GAMMA, bowl_hessian, round_bowl, stretched_bowl
from graders.core.figures import draw_contours, draw_loss_curves, draw_playground, draw_trajectory

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


@pytest.fixture
def ax() -> Iterator[plt.Axes]:
    """One fresh Agg axes, closed afterwards."""
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def test_bowls_are_the_notebooks_functions() -> None:
    point = torch.tensor([8.0, 8.0])
    assert round_bowl(point).item() == 10 * (64 + 64)
    # 10 vᵀΓv with Γ = [[1, -4], [1, 4]]: 10 · (8·(8 − 32) + 8·(8 + 32)) = 1280.
    assert stretched_bowl(PUBLIC_GAMMA)(point).item() == 1280.0
    hessian = torch.autograd.functional.hessian(
        stretched_bowl(PUBLIC_GAMMA), torch.zeros(2, dtype=torch.float64)
    )
    assert torch.equal(hessian, torch.tensor([[20.0, -30.0], [-30.0, 80.0]], dtype=torch.float64))


@pytest.mark.parametrize(
    ("gamma", "problem"),
    [
        ([[1.0, 2.0, 3.0]], "2 × 2 matrix"),
        ([[1.0, 0.0], [0.0, float("nan")]], "finite"),
        ([[1.0, 0.0], [0.0, -1.0]], "positive definite"),
    ],
)
def test_stretched_bowl_refuses_a_matrix_that_makes_no_bowl(gamma: list, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        stretched_bowl(gamma)


def test_contours_and_trajectory_draw_with_title_labels_and_legend(ax: plt.Axes) -> None:
    draw_contours(ax, stretched_bowl(PUBLIC_GAMMA), limit=12.0, title="the stretched bowl")
    points = [torch.tensor([8.0, 8.0]), np.array([4.0, 2.0]), [1.0, 0.5]]
    draw_trajectory(ax, points, "three steps", color="tab:blue")
    ax.legend()
    assert ax.get_title() == "the stretched bowl"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x$", "$y$")
    assert ax.get_xlim() == (-12.0, 12.0)
    assert ax.collections, "no contour lines drawn"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["minimum", "three steps"]
    path = next(line for line in ax.get_lines() if line.get_label() == "three steps")
    assert np.array_equal(path.get_xydata(), [[8.0, 8.0], [4.0, 2.0], [1.0, 0.5]])


def test_trajectory_says_so_when_there_is_nothing_to_draw(
    ax: plt.Axes, capsys: pytest.CaptureFixture
) -> None:
    draw_trajectory(ax, [], "a skipped task")
    assert "nothing to draw for 'a skipped task'" in capsys.readouterr().out
    assert not ax.get_lines()


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ([[1.0, 2.0, 3.0]], "pairs"),
        ([[1.0, 2.0], [3.0]], "pairs of numbers"),
        ([["a", "b"]], "pairs of numbers"),
    ],
)
def test_trajectory_refuses_points_that_are_no_pairs(ax: plt.Axes, points: list, problem: str) -> None:
    with pytest.raises(ValueError, match=f"'path'.*{problem}"):
        draw_trajectory(ax, points, "path")


def test_contours_refuse_what_is_no_bowl(ax: plt.Axes) -> None:
    with pytest.raises(TypeError, match="function of a 2-element tensor"):
        draw_contours(ax, [[1.0, -4.0], [1.0, 4.0]])
    with pytest.raises(ValueError, match="limit must be a positive number"):
        draw_contours(ax, round_bowl, limit=-1.0)
    with pytest.raises(ValueError, match="is it a bowl"):
        draw_contours(ax, lambda variable: -round_bowl(variable))


def test_loss_curves_draw_both_scales_with_one_legend() -> None:
    plt.close("all")
    values = (1000 * 0.98 ** np.arange(50)).tolist()
    draw_loss_curves({"gradient descent": values, "skipped": []}, "parabola")
    fig = plt.gcf()
    linear, log = fig.axes
    assert (linear.get_title(), log.get_title()) == ("parabola (linear scale)", "parabola (log scale)")
    assert (linear.get_yscale(), log.get_yscale()) == ("linear", "log")
    assert linear.get_xlabel() == "step" and linear.get_ylabel() == "function value"
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["gradient descent"]
    assert np.allclose(log.get_lines()[0].get_ydata(), values)
    plt.close(fig)


def test_loss_curves_refuse_a_bare_list_and_nested_values(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(TypeError, match=r"\{label: values\}"):
        draw_loss_curves([1.0, 0.5], "parabola")
    with pytest.raises(ValueError, match="'run'.*one number per step"):
        draw_loss_curves({"run": [[1.0, 2.0], [0.5, 1.0]]}, "parabola")
    plt.close("all")
    draw_loss_curves({"a skipped task": []}, "parabola")
    assert "no function values to draw for 'a skipped task'" in capsys.readouterr().out
    assert not plt.get_fignums(), "an empty figure was drawn"


def test_playground_bowls_are_bowls_with_the_hessians_they_name() -> None:
    for name, gamma in PLAYGROUND_BOWLS.items():
        origin = torch.zeros(2, dtype=torch.float64)
        hessian = torch.autograd.functional.hessian(stretched_bowl(gamma), origin)
        assert np.allclose(bowl_hessian(gamma), hessian.numpy()), name
    # [[20, -30], [-30, 80]]: 50 ± √1800, about 7.57 and 92.4 as bowls.py says.
    assert np.allclose(np.linalg.eigvalsh(bowl_hessian(PUBLIC_GAMMA)), [50 - 1800**0.5, 50 + 1800**0.5])
    assert np.allclose(np.linalg.eigvalsh(bowl_hessian(PLAYGROUND_BOWLS["narrow valley"])), [20.0, 500.0])


def test_playground_draws_path_loss_and_the_error_along_each_eigendirection() -> None:
    plt.close("all")
    gamma = PLAYGROUND_BOWLS["narrow valley"]  # axes along x and y: the errors are |x| and |y|
    points = [torch.tensor([8.0, -4.0]), np.array([4.0, 2.0]), [-1.0, 0.5]]
    draw_playground(stretched_bowl(gamma), bowl_hessian(gamma), points, "three steps")
    fig = plt.gcf()
    path, loss, errors = fig.axes[:3]
    assert fig.get_suptitle() == "three steps"
    drawn = next(line for line in path.get_lines() if line.get_label() == "path")
    assert np.array_equal(drawn.get_xydata(), [[8.0, -4.0], [4.0, 2.0], [-1.0, 0.5]])
    # ½ xᵀHx with H = diag(20, 500) is the bowl's own value 10 (x² + 25 y²).
    values = [10 * (64 + 25 * 16), 10 * (16 + 100), 10 * (1 + 6.25)]
    assert np.allclose(loss.get_lines()[0].get_ydata(), values)
    assert errors.get_yscale() == "log"
    slow, fast = errors.get_lines()
    assert np.allclose(slow.get_ydata(), [8.0, 4.0, 1.0]) and np.allclose(fast.get_ydata(), [4.0, 2.0, 0.5])
    assert [text.get_text() for text in errors.get_legend().get_texts()] == [
        "along q1, λ = 20",
        "along q2, λ = 500",
    ]
    plt.close(fig)


def test_playground_refuses_a_hessian_that_is_not_a_symmetric_2_by_2() -> None:
    with pytest.raises(ValueError, match="symmetric 2 × 2 Hessian"):
        draw_playground(round_bowl, PUBLIC_GAMMA, [[1.0, 1.0]], "not symmetric")
    with pytest.raises(ValueError, match="'a point'.*pairs"):
        draw_playground(round_bowl, np.eye(2), [[1.0, 1.0, 1.0]], "a point")
