"""Notebook 16: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

The notebook's quadratic and saddle function are rebuilt here from the instance's problem with the same
seeded generator; each mistaken answer is the notebook's computation with one thing changed.
"""

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
from graders.core.problems.nb16_newton_and_saddles import CURVATURE_RANGE, KAPPA_RANGE, problem

NOTEBOOK = "16_newton_and_saddles"
GD_STEPS, SADDLE_LR, STUCK_STEPS, KICKED_STEPS, NEWTON_STEPS = 60, 0.1, 10, 300, 3
LESSON_INSTANCES = range(8)


class Case(GradedInstance):
    """One instance: its data, its reference answers, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        chosen = problem(number)
        self.kappa, self.a, self.mu, self.x_start = chosen.kappa, chosen.a, chosen.mu, chosen.x_start
        generator = torch.Generator().manual_seed(chosen.seed)
        size = chosen.size
        rotation, _ = torch.linalg.qr(torch.randn(size, size, dtype=torch.float64, generator=generator))
        eigenvalues = torch.linspace(1.0, chosen.kappa, size, dtype=torch.float64)
        self.H = (rotation @ torch.diag(eigenvalues) @ rotation.T).numpy()
        self.b = torch.randn(size, dtype=torch.float64, generator=generator).numpy()
        self.start = (3 * torch.randn(size, dtype=torch.float64, generator=generator)).numpy()
        self.kick = 1e-6 * torch.randn(1, dtype=torch.float64, generator=generator).item()

    def newton_point(self, sign: float = 1.0, use_h: bool = False) -> np.ndarray:
        gradient = self.H @ self.start - self.b
        direction = self.H @ gradient if use_h else np.linalg.solve(self.H, gradient)
        return self.start - sign * direction

    def gd_errors(self, lr: float | None = None, before: bool = False) -> list[float]:
        lr = 2 / (1 + self.kappa) if lr is None else lr
        x_star, x, errors = np.linalg.solve(self.H, self.b), self.start.copy(), []
        for _ in range(GD_STEPS):
            if before:
                errors.append(float(np.linalg.norm(x - x_star)))
            x = x - lr * (self.H @ x - self.b)
            if not before:
                errors.append(float(np.linalg.norm(x - x_star)))
        return errors

    def jacobi_kappa(self) -> float:
        scale = 1 / np.sqrt(np.diag(self.H))
        eigenvalues = np.linalg.eigvalsh(scale[:, None] * self.H * scale[None, :])
        return float(eigenvalues[-1] / eigenvalues[0])

    def gradient(self, point: np.ndarray) -> np.ndarray:
        return np.array([self.a * point[0], -self.mu * point[1] + point[1] ** 3])

    def descend(self, start: list[float], number_steps: int, sign: float = 1.0) -> list[np.ndarray]:
        point, points = np.array(start, dtype=np.float64), []
        with np.errstate(all="ignore"):
            for _ in range(number_steps):
                point = point - sign * SADDLE_LR * self.gradient(point)
                points.append(point)
        return points

    def escape(self, kick: float | None = None) -> tuple[int, np.ndarray]:
        kicked = self.descend([self.x_start, self.kick if kick is None else kick], KICKED_STEPS)
        threshold = math.sqrt(self.mu) / 2
        step = next((k + 1 for k, point in enumerate(kicked) if abs(point[1]) > threshold), KICKED_STEPS)
        return step, kicked[-1]

    def newton_saddle_path(self, absolute: bool = False) -> list[np.ndarray]:
        point, points = np.array([self.x_start, 0.4 * math.sqrt(self.mu)]), []
        for _ in range(NEWTON_STEPS):
            curvatures = np.array([self.a, -self.mu + 3 * point[1] ** 2])
            if absolute:
                curvatures = np.abs(curvatures)
            point = point - self.gradient(point) / curvatures
            points.append(point)
        return points

    def answers(self) -> dict:
        step, end = self.escape()
        return {
            "newton_point": self.newton_point(),
            "gd_errors": self.gd_errors(),
            "jacobi_kappa": self.jacobi_kappa(),
            "stuck_path": self.descend([self.x_start, 0.0], STUCK_STEPS),
            "escape_step": step,
            "escaped_point": end,
            "newton_saddle_path": self.newton_saddle_path(),
        }


case = case_fixture(Case)


# --- every instance keeps the lesson ----------------------------------------------------------------------


def test_the_public_instance_is_the_briefs_saddle():
    """a = μ = 2: s(x, y) = x² − y² + y⁴/4, minima at (0, ±√2)."""
    chosen = problem(PUBLIC_INSTANCE)
    assert (chosen.a, chosen.mu, chosen.kappa) == (2.0, 2.0, 30.0)


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_teaches_the_same_lesson(number):
    case = Case(number)
    if number != PUBLIC_INSTANCE:
        assert KAPPA_RANGE[0] <= case.kappa <= KAPPA_RANGE[1]
        assert all(CURVATURE_RANGE[0] <= value <= CURVATURE_RANGE[1] for value in (case.a, case.mu))
    answers = case.answers()
    # One Newton step lands on the minimum; 60 gradient steps leave an error, far above rounding.
    np.testing.assert_allclose(answers["newton_point"], np.linalg.solve(case.H, case.b), atol=1e-12)
    assert 1e-5 < answers["gd_errors"][-1] < 0.05 * np.linalg.norm(case.start - answers["newton_point"])
    # The diagonal scaling helps only partly: κ falls, but stays far above Newton's 1.
    assert 2 < answers["jacobi_kappa"] < case.kappa
    # On the stable manifold y stays exactly 0; the kick escapes to a minimum near the predicted step.
    assert all(point[1] == 0 for point in answers["stuck_path"])
    predicted = math.log(math.sqrt(case.mu) / 2 / abs(case.kick)) / math.log(1 + SADDLE_LR * case.mu)
    assert abs(answers["escape_step"] - predicted) < 3
    np.testing.assert_allclose(np.abs(answers["escaped_point"]), [0, math.sqrt(case.mu)], atol=1e-9)
    # Newton heads for the saddle, and its path stays outside CLOSE's atol of it for the 3 recorded steps.
    ys = [abs(point[1]) for point in answers["newton_saddle_path"]]
    assert ys[0] > ys[1] > ys[2] > 1e-5
    if number != PUBLIC_INSTANCE:
        public = Case(PUBLIC_INSTANCE).answers()
        assert answers["escape_step"] != public["escape_step"]


# --- legitimate variants: full marks ----------------------------------------------------------------------


def test_the_replay_is_the_reference(case):
    assert set(case.scores(**case.answers()).values()) == {1.0}


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_paths_score_full_marks(case, convert):
    keys = ("gd_errors", "stuck_path", "newton_saddle_path")
    assert set(case.scores(**{key: convert(case.expected[key]) for key in keys}).values()) == {1.0}


def test_the_exact_minimum_and_tensors_score_full_marks(case):
    got = case.scores(
        newton_point=torch.linalg.solve(torch.tensor(case.H), torch.tensor(case.b)),
        escape_step=torch.tensor(case.expected["escape_step"]),
        escaped_point=torch.tensor(np.asarray(case.expected["escaped_point"])),
        jacobi_kappa=torch.tensor(case.expected["jacobi_kappa"]),
    )
    assert set(got.values()) == {1.0}


def test_jacobi_from_the_eigenvalues_of_d_inverse_h_scores_full_marks(case):
    """D⁻¹H is similar to D^(−1/2) H D^(−1/2): same eigenvalues."""
    eigenvalues = np.sort(np.linalg.eigvals(np.diag(1 / np.diag(case.H)) @ case.H).real)
    assert case.scores(jacobi_kappa=float(eigenvalues[-1] / eigenvalues[0]))["jacobi_kappa"] == 1.0


# --- mistaken variants: no credit, and the message names the mistake --------------------------------------


def test_a_newton_step_uphill_is_diagnosed(case):
    point = case.newton_point(sign=-1.0)
    assert case.scores(newton_point=point)["newton_point"] == 0
    assert "against the gradient" in case.messages(newton_point=point)["newton_point"]


def test_h_instead_of_its_inverse_is_rejected(case):
    point = case.newton_point(use_h=True)
    assert case.scores(newton_point=point)["newton_point"] == 0
    assert "inverse of the Hessian" in case.messages(newton_point=point)["newton_point"]


@pytest.mark.parametrize(
    "options",
    [pytest.param({"before": True}, id="recorded before the step"), pytest.param({"lr": 0.01}, id="lr 0.01")],
)
def test_mistaken_gd_errors_are_rejected(case, options):
    errors = case.gd_errors(**options)
    assert case.scores(gd_errors=errors)["gd_errors"] < 0.1
    case.messages(gd_errors=errors)


def test_kappa_of_h_itself_is_rejected(case):
    assert case.scores(jacobi_kappa=case.kappa)["jacobi_kappa"] == 0
    assert "rather than that of H" in case.messages(jacobi_kappa=case.kappa)["jacobi_kappa"]


def test_singular_values_of_d_inverse_h_are_rejected(case):
    singular = np.linalg.svd(np.diag(1 / np.diag(case.H)) @ case.H, compute_uv=False)
    assert case.scores(jacobi_kappa=float(singular[0] / singular[-1]))["jacobi_kappa"] == 0


def test_the_inverted_jacobi_ratio_is_rejected(case):
    inverted = 1 / case.expected["jacobi_kappa"]
    assert case.scores(jacobi_kappa=inverted)["jacobi_kappa"] == 0
    assert "reciprocal" in case.messages(jacobi_kappa=inverted)["jacobi_kappa"]


def test_steps_uphill_on_the_saddle_are_rejected(case):
    path = case.descend([case.x_start, 0.0], STUCK_STEPS, sign=-1.0)
    assert case.scores(stuck_path=path)["stuck_path"] == 0
    case.messages(stuck_path=path)


def test_an_escape_count_off_by_one_is_rejected(case):
    count = case.expected["escape_step"] - 1
    assert case.scores(escape_step=count)["escape_step"] == 0
    assert "counting the first step as 1" in case.messages(escape_step=count)["escape_step"]


def test_the_kick_left_out_is_rejected(case):
    """Without the kick the run converges to the saddle and never escapes."""
    step, end = case.escape(kick=0.0)
    earned = case.scores(escape_step=step, escaped_point=end)
    assert earned["escape_step"] == earned["escaped_point"] == 0


def test_the_kick_with_the_wrong_sign_ends_at_the_other_minimum(case):
    step, end = case.escape(kick=-case.kick)
    assert case.scores(escape_step=step)["escape_step"] == 1.0  # the count does not see the sign
    assert case.scores(escaped_point=end)["escaped_point"] == 0
    assert "sign" in case.messages(escaped_point=end)["escaped_point"]


def test_saddle_free_newton_is_rejected(case):
    """|∇²s| turns the negative curvature around: the step then heads away from the saddle."""
    path = case.newton_saddle_path(absolute=True)
    assert case.scores(newton_saddle_path=path)["newton_saddle_path"] == 0
    assert "negative curvature" in case.messages(newton_saddle_path=path)["newton_saddle_path"]
