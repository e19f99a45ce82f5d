"""The grader's test functions f(x) for checking ``numerical_gradient(f, x, h)``: the one copy.

Checks call student code with plain data only, so the ``f`` a gradient check
passes is always one of these, named by a trial (``f = 'steep_exponential'``).
They live here, in the sandbox package, because they must run on both sides
of the boundary: :mod:`dlcourse.grading.topics.gradcheck` imports this table
for in-notebook checks, and the sandboxed worker (where ``dlcourse`` cannot
be imported) loads this module as the top-level ``test_functions``; a proxy
ships a function across by its name in :data:`TEST_FUNCTIONS`.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sum_sin_times_x(x: np.ndarray) -> float:
    """f(x) = sum_i sin(x_i) x_i (separable, gradient sin(x) + x cos(x))."""
    return float(np.sum(np.sin(x) * x))


def coupled_quadratic(x: np.ndarray) -> float:
    """f(x) = (sum_i x_i)^2 / 2 + |x|^2 / 2 + c . x with c_i = (i + 1) / n: every entry depends on all others.

    Central differences are exact for a quadratic, whatever h; the coupling
    makes a perturbation left in place shift every later entry.
    """
    v = np.ravel(x)
    weights = np.arange(1, v.size + 1) / v.size
    return float(0.5 * np.sum(v) ** 2 + 0.5 * np.dot(v, v) + np.dot(weights, v))


def steep_exponential(x: np.ndarray) -> float:
    """f(x) = sum_i exp(3 x_i): large curvature (f''/f' = 3), so one-sided differences are visibly off."""
    return float(np.sum(np.exp(3.0 * x)))


def log_sum_exp(x: np.ndarray) -> float:
    """f(x) = log sum_i exp(x_i) (gradient softmax(x)), computed stably."""
    top = np.max(x)
    return float(top + np.log(np.sum(np.exp(x - top))))


TEST_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "sum_sin_times_x": sum_sin_times_x,
    "coupled_quadratic": coupled_quadratic,
    "steep_exponential": steep_exponential,
    "log_sum_exp": log_sum_exp,
}

__all__ = ["TEST_FUNCTIONS", "coupled_quadratic", "log_sum_exp", "steep_exponential", "sum_sin_times_x"]
