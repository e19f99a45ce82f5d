"""The grader's test functions f(x), shipped by name into the sandbox.

Copies of ``dlcourse.grading.topics.gradcheck.TEST_FUNCTIONS`` (``numerical_gradient``
receives one of them): the worker cannot import ``dlcourse``, so it looks them up
here.  ``tests/sandbox`` asserts that both versions give identical values.
This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sum_sin_times_x(x: np.ndarray) -> float:
    """f(x) = sum_i sin(x_i) x_i (separable, gradient sin(x) + x cos(x))."""
    return float(np.sum(np.sin(x) * x))


def coupled_quadratic(x: np.ndarray) -> float:
    """f(x) = (sum_i x_i)^2 / 2 + |x|^2 / 2 + c . x with c_i = (i + 1) / n: every entry depends on all others."""
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
    fn.__name__: fn for fn in (sum_sin_times_x, coupled_quadratic, steep_exponential, log_sum_exp)
}
