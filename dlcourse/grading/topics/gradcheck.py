"""Checks for gradient checking: ``gradcheck.numerical_gradient`` and ``gradcheck.rel_error``.

``numerical_gradient(f, x, h=1e-5)`` takes a function.  Checks call student
code with plain data only, so ``f`` is always one of the grader's own test
functions, registered by name in :data:`TEST_FUNCTIONS` (numpy only; the one
table lives in :mod:`dlcourse.sandbox.test_functions`, since the sandboxed
worker needs the same functions).  A trial names its function (``f =
'steep_exponential'``) and ``observe`` looks it up; a sandboxed grader that
proxies calls into another process ships these functions by that name.

The student's estimate is compared with :func:`dlcourse.gradcheck.numerical_gradient`
with the same h.  Two central differences with the same h evaluate ``f`` at
the same points, so they agree to rounding (~1e-12 relative); the default
tolerance (rtol 1e-6) therefore accepts any central-difference loop and
rejects one-sided differences, whose O(h) error is 1e-4 to 1e-2 relative on
the trials with large curvature or a larger h.

Source of the exercise: Georgia Tech CS 4644/7643 'Optimization' (gradient
checking); VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import gradcheck as G
from dlcourse.grading._core import Caller, Mistake, Target, Trial
from dlcourse.grading._guard import grader_code
from dlcourse.grading._report import GradingError
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, function_target, random_array
from dlcourse.sandbox.test_functions import TEST_FUNCTIONS

__all__ = ["TEST_FUNCTIONS"]


# ------------------------------------------------------- test functions f(x)
# One table, in the sandbox package so that the sandboxed worker has the same functions (dlcourse grade ships
# them across by name). The student's function calls them inside the watch: grader code, not a shortcut.
for _test_function in TEST_FUNCTIONS.values():
    grader_code(_test_function)


# ------------------------------------------------------- numerical_gradient

# (label, function name, shape, scale, h or None for the default)
_GRADIENT_CASES = (
    ("a single value", "sum_sin_times_x", (1,), 1.0, None),
    ("an odd-sized vector, a steep function and a large h", "steep_exponential", (7,), 0.5, 1e-2),
    ("a (3, 4) matrix, coupled entries and a large h", "coupled_quadratic", (3, 4), 1.0, 1e-2),
)
_HIDDEN_GRADIENT_CASES = (
    ("a steep function at the default h", "steep_exponential", (5,), 0.5, None),
    ("a (2, 3, 2) array, coupled entries", "coupled_quadratic", (2, 3, 2), 1.0, 1e-3),
    ("a batch of one row", "log_sum_exp", (1, 6), 2.0, None),
    ("large values", "sum_sin_times_x", (4, 3), 20.0, None),
    ("a (9, 8) matrix", "log_sum_exp", (9, 8), 1.0, 1e-4),
    ("coupled entries at the default h", "coupled_quadratic", (11,), 1.0, None),
)


def _gradient_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    # No float32 trial: in float32, differences of f over 2h keep only a few
    # digits, so the result depends on how f is evaluated, not on the student.
    trials = []
    for label, name, shape, scale, h in _GRADIENT_CASES + (_HIDDEN_GRADIENT_CASES if hidden else ()):
        kwargs = {} if h is None else {"h": h}
        trials.append(Trial(f"{label}, f = {name}", [("f", name), ("x", random_array(rng, shape, scale))], kwargs))
    return trials


def _observe_gradient(call: Caller, trial: Trial) -> dict[str, Any]:
    (_, name), (_, x) = trial.args
    x_before = x.copy()
    # h is passed by position, so a student's own name for it works too
    h_arg = [("h", trial.kwargs["h"])] if "h" in trial.kwargs else []
    estimate = call("numerical_gradient", [("f", TEST_FUNCTIONS[name]), ("x", x), *h_arg])
    changed = np.flatnonzero(x != x_before)
    if changed.size:
        first = np.unravel_index(changed[0], x.shape)
        raise GradingError(
            f"numerical_gradient changed its input x: {changed.size} of {x.size} entries differ after the call "
            f"(x{list(map(int, first))} moved by {x[first] - x_before[first]:.3g}). Put every entry back right "
            f"after evaluating f at x + h and x - h (x[i] = old_value), or perturb a copy of x."
        )
    return {"numerical_gradient(f, x)": estimate}


def _perturbation_loop(slope: Callable[[float, float, float, float], float], restore: bool = True,
                       fixed_h: float | None = None) -> Callable[..., np.ndarray]:
    """A coordinate-by-coordinate finite difference with the given (possibly wrong) formula.

    ``slope(f(x + h e_i), f(x), f(x - h e_i), h)`` is the estimate of entry i;
    ``restore=False`` leaves each coordinate at x_i - h; ``fixed_h`` ignores
    the h passed in.
    """

    def numerical_gradient(f, x, h=1e-5):
        h = h if fixed_h is None else fixed_h
        point = np.array(x, dtype=float, copy=True)
        flat = point.reshape(-1)
        grad = np.zeros(flat.size)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + h
            f_plus = f(point)
            flat[i] = original
            f_here = f(point)
            flat[i] = original - h
            f_minus = f(point)
            if restore:
                flat[i] = original
            grad[i] = slope(f_plus, f_here, f_minus, h)
        return grad.reshape(point.shape)

    return numerical_gradient


def _central(f_plus: float, f_here: float, f_minus: float, h: float) -> float:
    return (f_plus - f_minus) / (2 * h)


def _first_axis_only(f, x, h=1e-5):
    """Central differences that perturb x[i] -- a whole row of a matrix -- for i < len(x)."""
    point = np.array(x, dtype=float, copy=True)
    grad = np.zeros_like(point)
    for i in range(len(point)):
        original = point[i].copy()
        point[i] = original + h
        f_plus = f(point)
        point[i] = original - h
        f_minus = f(point)
        point[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


_GRADIENT_MISTAKES = (
    ("forward_difference", "The forward difference (f(x+h) - f(x)) / h is only first-order accurate: use the "
     "central difference (f(x+h) - f(x-h)) / (2h).", _perturbation_loop(lambda p, c, m, h: (p - c) / h)),
    ("backward_difference", "The backward difference (f(x) - f(x-h)) / h is only first-order accurate: use the "
     "central difference (f(x+h) - f(x-h)) / (2h).", _perturbation_loop(lambda p, c, m, h: (c - m) / h)),
    ("divided_by_h", "The central difference spans 2h, from x-h to x+h: divide f(x+h) - f(x-h) by 2h, not by h.",
     _perturbation_loop(lambda p, c, m, h: (p - m) / h)),
    ("not_restored", "Put each coordinate back to its original value after perturbing it, or every later entry "
     "is estimated at a shifted point.", _perturbation_loop(_central, restore=False)),
    ("first_axis_only", "x can have any shape: perturb every single entry (loop over x.reshape(-1), np.ndindex "
     "or np.nditer), not x[i], which is a whole row of a matrix.", _first_axis_only),
    ("ignores_h", "Use the step h passed as an argument instead of a fixed 1e-5.",
     _perturbation_loop(_central, fixed_h=1e-5)),
)


# ----------------------------------------------------------------- rel_error


def _rel_error_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    def close_pair(shape, scale, noise, dtype=np.float64):
        a = random_array(rng, shape, scale)
        return [("a", a.astype(dtype)), ("b", (a * (1 + noise * rng.standard_normal(shape))).astype(dtype))]

    opposite = random_array(rng, (3, 4), 3.0)
    partner = opposite + 0.1 * rng.standard_normal((3, 4))
    partner[0, :2] = -opposite[0, :2] + 1e-3  # a + b near 0 where |a| + |b| is not
    trials = [
        Trial("a gradient and a close numerical estimate", close_pair((7,), 1.0, 1e-6)),
        Trial("entries of both signs, some with a ~ -b", [("a", opposite), ("b", partner)]),
        Trial("two zero arrays (0 / 0 must not appear)", [("a", np.zeros(5)), ("b", np.zeros(5))]),
    ]
    if hidden:
        tiny = random_array(rng, (6,), 1e-10)
        trials += [
            Trial("a single value", close_pair((1,), 1.0, 1e-3)),
            Trial("entries below the 1e-8 floor", [("a", tiny), ("b", tiny + 1e-11)]),
            Trial("zeros next to non-zero entries", [("a", np.array([0.0, 1.0, -2.0, 0.0])),
                                                     ("b", np.array([0.0, 1.1, -2.0, 3e-9]))]),
            Trial("huge values", close_pair((4, 5), 1e6, 1e-4)),
            Trial("a (2, 3, 4) array", close_pair((2, 3, 4), 1.0, 1e-2)),
            Trial("Python numbers", [("a", 1.5), ("b", 1.5000003)]),
            Trial("float32 arrays", close_pair((4, 3), 1.0, 1e-3, np.float32), tolerance=FLOAT32_TOLERANCE),
        ]
    return trials


def _elementwise(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(a, dtype=float), np.asarray(b, dtype=float)


def _rel_error_mistake(ratio: Callable[[np.ndarray, np.ndarray], np.ndarray],
                       reduce: Callable[[np.ndarray], Any] = np.max) -> Callable[[Any, Any], float]:
    return lambda a, b: float(reduce(ratio(*_elementwise(a, b))))


_REL_ERROR_MISTAKES = (
    ("no_floor", "Without the floor, two zero entries give 0/0 = nan: divide by max(1e-8, |a| + |b|).",
     _rel_error_mistake(lambda a, b: np.abs(a - b) / (np.abs(a) + np.abs(b)))),
    ("denominator_without_abs", "Take absolute values in the denominator: max(1e-8, |a| + |b|), not a + b, "
     "which is negative or 0 for negative entries.",
     _rel_error_mistake(lambda a, b: np.abs(a - b) / np.maximum(1e-8, a + b))),
    ("denominator_abs_of_sum", "The denominator is |a| + |b|, not |a + b| (which is near 0 when a ~ -b).",
     _rel_error_mistake(lambda a, b: np.abs(a - b) / np.maximum(1e-8, np.abs(a + b)))),
    ("numerator_without_abs", "Take the absolute difference |a - b| in the numerator, or entries where a < b "
     "count as negative errors.", _rel_error_mistake(lambda a, b: (a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))),
    ("mean_instead_of_max", "Report the LARGEST elementwise relative error (np.max), not the mean, which hides "
     "one wrong entry among many right ones.",
     _rel_error_mistake(lambda a, b: np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), np.mean)),
    ("max_in_denominator", "The convention divides by |a| + |b|, not by max(|a|, |b|).",
     _rel_error_mistake(lambda a, b: np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b))))),
    ("ratio_of_norms", "Compare entry by entry: max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|), not a ratio of "
     "norms, which hides one wrong small entry among large right ones.",
     _rel_error_mistake(lambda a, b: np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b)),
                        lambda value: value)),
)


def _build() -> list[Target]:
    return [
        Target(
            name="gradcheck.numerical_gradient",
            roles=("numerical_gradient",),
            reference=(G.numerical_gradient,),
            trials=_gradient_trials,
            observe=_observe_gradient,
            mistakes=tuple(Mistake(name, message, (fn,)) for name, message, fn in _GRADIENT_MISTAKES),
            what="gradient estimates",
            pure=False,  # observe checks x itself, to say "put every entry back"
        ),
        function_target("gradcheck.rel_error", "rel_error", G.rel_error, _rel_error_trials, _REL_ERROR_MISTAKES,
                        output="rel_error(a, b)", what="pairs of arrays"),
    ]


TARGETS: tuple[Target, ...] = (*_build(),)
