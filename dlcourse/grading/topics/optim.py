"""Checks for the optimizers (``optim.NAME``): trajectories of ``NAME_step`` started from ``NAME_init``.

A trial runs a short optimization and compares every iterate::

    state = NAME_init(theta_0)
    for k in 1..K:
        g_k = curvature * (theta_{k-1} - minimum) + noise_k        (same rule for everyone)
        theta_k, state = NAME_step(theta_{k-1}, g_k, state, **hyperparameters)

The gradient is that of a fixed noisy quadratic evaluated at the CURRENT
parameters of the implementation under test, so an error at one step changes
the gradients that follow, as it would in training; the quadratic keeps every
trajectory bounded.  The observable is ``theta_k`` for k = 0..K stacked along
axis 0, so the feedback's "first wrong value at index (k, ...)" names the
first step whose result differs.  The state is the student's own business
(any dict, tuple, ...), but ``NAME_step`` must return ``(new_theta,
new_state)`` with ``new_theta`` a float array of theta's shape, and must not
modify its inputs (the state it was given included).

Regimes: gradients of order 1, tiny gradients (~1e-6, where the placement of
eps decides the step) and large values (~1e2).  Hyperparameters use
``dlcourse.optim``'s (torch's) names and defaults.

dtype: ``new_theta`` must keep theta's dtype, as torch.optim keeps a
parameter's (the exercise's stated contract); the visible checks end with a
short float32 run so that a float64 result is seen before grading, and the
message names NumPy 2's promotion rule behind it.

Tolerance: the default ``rtol=1e-6`` (``atol = 1e-9 * max|theta|``); float32
trials ``FLOAT32_TOLERANCE``.  Two correct float64 implementations differ by
reassociation only, ~1e-15 per step, and the quadratic is contracting, so 50
steps stay far below 1e-12 (measured in float64: <= 4e-16 between the
catalogue's mistake-free versions and the reference), while every catalogued
mistake exceeds the tolerance by a factor of at least 2000 on some VISIBLE
trial (measured).

Not catalogued: Sutskever's momentum ``v <- mu*v - lr*g; theta <- theta + v``
and Nesterov as ``theta <- theta - mu*v_old + (1 + mu)*v_new`` (Bengio et al.
2013) give torch's iterates exactly while lr is constant; the tests accept them.

The catalogue lives next door: ``optim_textbook`` writes each optimizer once
more as a textbook implementation with the pieces students get wrong named, and
``optim_mistakes`` builds every mistake by swapping one of those pieces.  This
module has the trials, the observation and the one table of targets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import optim as O
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import FLOAT64_FIX, GradingError
from dlcourse.grading.topics import optim_mistakes as M
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values, random_array
from dlcourse.grading.topics._pictures import trajectory_picture

TRAJECTORY = "theta after each step (row k = theta after k steps; row 0 = the initial theta)"

# regime -> (scale of theta and of the minimum, scale of the curvature, scale of the noise, words)
_REGIMES = {
    "unit": (1.0, 1.0, 0.5, "gradients of order 1"),
    "tiny": (1.0, 1e-6, 1e-6, "tiny gradients (~1e-6)"),
    "large": (100.0, 1.0, 50.0, "large parameters and gradients (~1e2)"),
}
_VISIBLE_SHAPES = ((7,), (1,), (3, 5))
_HIDDEN_SHAPES = ((1,), (7,), (3, 5), (1, 4), (5, 3), (2, 3, 4), (9,), (4, 6))
_VISIBLE_STEPS = 20
_HIDDEN_STEPS = (30, 50, 25, 40)


def _check_new_theta(new_theta: Any, theta0: np.ndarray, role: str, step: int) -> None:
    where = f"at step {step}, new_theta"
    if not isinstance(new_theta, np.ndarray):
        raise GradingError(f"{role} must return new_theta as a numpy array of shape {theta0.shape}; {where} is a "
                           f"{type(new_theta).__name__}")
    if new_theta.shape != theta0.shape:
        raise GradingError(f"{role} must return new_theta of theta's shape {theta0.shape}; {where} has shape "
                           f"{new_theta.shape} (check that grad and the state arrays have theta's shape and that "
                           f"no axis was added or summed away)")
    if not np.issubdtype(new_theta.dtype, np.floating):
        raise GradingError(f"{role} must return a floating-point new_theta; {where} has dtype {new_theta.dtype}")
    if new_theta.dtype != theta0.dtype:
        # The exercise's contract (its introduction, "dtype"), as torch.optim keeps a parameter's dtype.
        raise GradingError(
            f"{role} must keep theta's dtype: theta is {theta0.dtype}, but {where} is {new_theta.dtype}. {FLOAT64_FIX}",
            mistake="float64_out")


def _gradient(extra: dict[str, Any], theta: np.ndarray, k: int, dtype: Any) -> np.ndarray:
    """The k-th gradient: the noisy quadratic's gradient at ``theta``, in the trial's dtype."""
    return (extra["curvature"] * (theta - extra["minimum"]) + extra["noise"][k]).astype(dtype, copy=False)


def _trajectory_observe(step_role: str, init_role: str) -> Callable[[Any, Trial], dict[str, Any]]:
    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        theta0 = trial.args[0][1]
        state = call(init_role, trial.args)
        thetas = [theta0]
        for k in range(len(trial.extra["noise"])):
            theta = thetas[-1]
            grad = _gradient(trial.extra, theta, k, theta0.dtype)
            result = call(step_role, [("theta", theta), ("grad", grad), ("state", state)], trial.kwargs)
            new_theta, state = expect_values(result, step_role, ("new_theta", "new_state"), f"at step {k + 1} ")
            _check_new_theta(new_theta, theta0, step_role, k + 1)
            thetas.append(new_theta)
        return {TRAJECTORY: np.stack(thetas)}

    return observe


def _shape_words(shape: tuple[int, ...]) -> str:
    if shape == (1,):
        return "a single parameter"
    if len(shape) == 1:
        return f"a vector of {shape[0]} parameters"
    return f"a {shape} array of parameters"


def _trajectory_trial(rng: np.random.Generator, shape: tuple[int, ...], regime: str, hyperparameters: dict[str, Any],
                      steps: int, dtype: Any = np.float64) -> Trial:
    theta_scale, curvature_scale, noise_scale, words = _REGIMES[regime]
    extra = {
        "minimum": rng.standard_normal(shape) * theta_scale,
        "curvature": rng.uniform(0.5, 2.0, shape) * curvature_scale,
        "noise": rng.standard_normal((steps, *shape)) * noise_scale,
    }
    float32 = dtype == np.float32
    label = (f"{'float32 ' if float32 else ''}{_shape_words(shape)}, {steps} steps, {words}, "
             f"{'non-default' if hyperparameters else 'default'} hyperparameters")
    return Trial(label, [("theta", random_array(rng, shape, theta_scale, dtype))], dict(hyperparameters), extra,
                 tolerance=FLOAT32_TOLERANCE if float32 else None)


Case = tuple[str, dict[str, Any]]  # (regime, hyperparameters)


def _trials_for(visible: list[Case], hidden_only: list[Case]) -> Callable[[np.random.Generator, bool], list[Trial]]:
    """Visible: the visible cases on the visible shapes, 20 steps, then a short float32 run (the dtype
    contract, seen before grading).  Hidden: every case, more shapes and steps, and a float32 run with
    the last visible (non-default) hyperparameters."""

    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        if not hidden:
            built = [_trajectory_trial(rng, _VISIBLE_SHAPES[i % 3], regime, hp, _VISIBLE_STEPS)
                     for i, (regime, hp) in enumerate(visible)]
            return [*built, _trajectory_trial(rng, (2, 3), "unit", {}, 5, np.float32)]
        chosen = [*visible, *hidden_only]
        built = [_trajectory_trial(rng, _HIDDEN_SHAPES[i % len(_HIDDEN_SHAPES)], regime, hp,
                                   _HIDDEN_STEPS[i % len(_HIDDEN_STEPS)]) for i, (regime, hp) in enumerate(chosen)]
        return [*built, _trajectory_trial(rng, (4, 3), "unit", visible[-1][1], 20, np.float32)]

    return trials


def _optimizer_target(name: str, step: Callable[..., Any], init: Callable[..., Any], visible: list[Case],
                      hidden_only: list[Case], mistakes: tuple[Mistake, ...]) -> Target:
    """The check ``name`` of the reference ``(step, init)``; its roles are their names (``adam_step``, ...).

    A failure's picture is the trajectory of the first wrong entry of theta.
    """
    roles = (step.__name__, init.__name__)
    return Target(name=name, roles=roles, reference=(step, init), trials=_trials_for(visible, hidden_only),
                  observe=_trajectory_observe(*roles), mistakes=mistakes, what="trajectories",
                  first_step_row=1, picture=trajectory_picture(roles[0]))


TARGETS: tuple[Target, ...] = (
    _optimizer_target(
        "optim.sgd", O.sgd_step, O.sgd_init,
        [("unit", {}), ("unit", {"lr": 0.1, "weight_decay": 0.1}), ("large", {"lr": 0.05, "weight_decay": 0.01})],
        [("tiny", {"lr": 0.5}), ("unit", {"lr": 0.02, "weight_decay": 0.5}), ("large", {})],
        M.SGD_MISTAKES,
    ),
    _optimizer_target(
        "optim.momentum", O.momentum_step, O.momentum_init,
        [("unit", {}), ("unit", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
         ("large", {"lr": 0.01, "momentum": 0.5})],
        [("tiny", {"lr": 0.1, "momentum": 0.95}), ("unit", {"lr": 0.02, "dampening": 0.5}),
         ("large", {"lr": 0.01, "momentum": 0.7, "dampening": 0.1, "weight_decay": 1e-3})],
        M.MOMENTUM_MISTAKES,
    ),
    _optimizer_target(
        "optim.nesterov", O.nesterov_step, O.nesterov_init,
        [("unit", {}), ("unit", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1}),
         ("large", {"lr": 0.01, "momentum": 0.5})],
        [("tiny", {"lr": 0.1, "momentum": 0.95}), ("unit", {"lr": 0.02, "momentum": 0.6}),
         ("large", {"lr": 0.01, "weight_decay": 1e-3})],
        M.NESTEROV_MISTAKES,
    ),
    _optimizer_target(
        "optim.adagrad", O.adagrad_step, O.adagrad_init,
        [("unit", {}), ("tiny", {}),
         ("unit", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.5, "eps": 1e-2})],
        [("large", {"lr": 0.5}), ("tiny", {"lr": 0.05, "eps": 1e-8}), ("unit", {"lr_decay": 0.2}),
         ("unit", {"initial_accumulator_value": 2.0})],
        M.ADAGRAD_MISTAKES,
    ),
    _optimizer_target(
        "optim.rmsprop", O.rmsprop_step, O.rmsprop_init,
        [("unit", {}), ("tiny", {}),
         ("unit", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-2, "weight_decay": 0.01, "momentum": 0.5, "centered": True})],
        [("large", {"lr": 0.1, "alpha": 0.5}), ("tiny", {"alpha": 0.95, "eps": 1e-6}), ("unit", {"momentum": 0.9}),
         ("unit", {"centered": True, "alpha": 0.9})],
        M.RMSPROP_MISTAKES,
    ),
    _optimizer_target(
        "optim.adadelta", O.adadelta_step, O.adadelta_init,
        [("unit", {}), ("unit", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.01}),
         ("large", {"lr": 2.0, "eps": 1e-3})],
        [("tiny", {"eps": 1e-9}), ("unit", {"rho": 0.95}), ("unit", {"lr": 0.1, "eps": 1e-2})],
        M.ADADELTA_MISTAKES,
    ),
    _optimizer_target(
        "optim.adam", O.adam_step, O.adam_init,
        [("unit", {}), ("tiny", {}), ("unit", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-2, "weight_decay": 0.1})],
        [("large", {"lr": 0.1}), ("tiny", {"lr": 0.01, "betas": (0.5, 0.9)}), ("unit", {"eps": 0.1}),
         ("large", {"lr": 0.05, "weight_decay": 0.01})],
        M.ADAM_MISTAKES,
    ),
    _optimizer_target(
        "optim.adamw", O.adamw_step, O.adamw_init,
        [("unit", {}), ("unit", {"lr": 0.05, "weight_decay": 0.5}),
         ("tiny", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1})],
        [("large", {"lr": 0.1, "weight_decay": 0.05}), ("unit", {"eps": 0.1, "weight_decay": 0.0}),
         ("tiny", {}), ("unit", {"lr": 0.02, "weight_decay": 1.0})],
        M.ADAMW_MISTAKES,
    ),
    _optimizer_target(
        "optim.adamax", O.adamax_step, O.adamax_init,
        [("unit", {}), ("tiny", {}), ("unit", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-2, "weight_decay": 0.05})],
        [("large", {"lr": 0.1}), ("tiny", {"betas": (0.5, 0.99)}), ("unit", {"eps": 0.1})],
        M.ADAMAX_MISTAKES,
    ),
    _optimizer_target(
        "optim.nadam", O.nadam_step, O.nadam_init,
        [("unit", {}), ("tiny", {}),
         ("unit", {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.01, "weight_decay": 0.1,
                   "decoupled_weight_decay": True})],
        [("large", {"lr": 0.1}), ("unit", {"eps": 0.1, "weight_decay": 0.05}), ("tiny", {"momentum_decay": 0.0})],
        M.NADAM_MISTAKES,
    ),
    _optimizer_target(
        "optim.lion", O.lion_step, O.lion_init,
        [("unit", {}), ("tiny", {"lr": 1e-3}), ("unit", {"lr": 1e-3, "betas": (0.8, 0.95), "weight_decay": 0.5})],
        [("large", {"lr": 0.1}), ("unit", {"betas": (0.5, 0.9)}), ("tiny", {"weight_decay": 0.1})],
        M.LION_MISTAKES,
    ),
)
