"""Checks for the L2 penalty and decoupled weight decay (``regularization.NAME``).

Students write two small functions that together show why "weight decay equals
an L2 penalty only for vanilla SGD" (VU Amsterdam DLVU lecture 4 'Tools of the
trade': "cf Adam and AdamW")::

    l2_penalty(params, weight_decay) -> (penalty, grads)    # params, grads: dicts of arrays
    decoupled_decay(theta, lr, weight_decay) -> new_theta

The references are ``dlcourse.regularization.l2_penalty`` and
``decoupled_decay``; their conventions are torch's (``weight_decay / 2 *
sum ||W||^2``, every array given is penalized, AdamW's decay tied to ``lr``),
as that module's docstring explains.

Observables: the penalty and the gradient of every entry of ``params`` (one
label per key), and the decayed array.  Tolerance: the default (rtol 1e-6;
``FLOAT32_TOLERANCE`` on the float32 trials): both functions are a few
products and one sum, so correct float64 implementations agree to ~1e-15,
while every catalogued mistake is off by at least 1e-3 relative on a visible
trial (the smallest gap: decay with the wrong sign at ``lr * weight_decay =
1e-3``, a relative difference of 2e-3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlcourse.grading._core import Target, Trial
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import (
    FLOAT32_TOLERANCE,
    expect_values,
    function_target,
    one_role_target,
    random_array,
)
from dlcourse.regularization import decoupled_decay, l2_penalty

# ---------------------------------------------------------------- trials

# (label, {name: shape}, scale, weight_decay, dtype).  Weights are 2-D or more
# and named W..., biases are 1-D and named b..., so "skip the biases" means the
# same whether a student tests the name or the number of dimensions.
_PENALTY_CASES = (
    ("one layer, W (3, 5) and b (5,)", {"W": (3, 5), "b": (5,)}, 1.0, 0.1, np.float64),
    ("two layers of large values", {"W1": (4, 7), "b1": (7,), "W2": (7, 3)}, 30.0, 1e-2, np.float64),
    ("a single weight of shape (1, 1)", {"W": (1, 1)}, 1.0, 0.5, np.float64),
    ("float32 W (4, 3) and b (3,)", {"W": (4, 3), "b": (3,)}, 2.0, 0.05, np.float32),
)
_PENALTY_HIDDEN = (
    ("a batch of one row, W (1, 4) and b (4,)", {"W": (1, 4), "b": (4,)}, 1.0, 3e-4, np.float64),
    ("tiny values around 1e-6", {"W1": (9, 2), "b1": (2,)}, 1e-6, 0.2, np.float64),
    ("huge values up to 1e3", {"W": (4, 6), "b": (6,), "W2": (6, 2), "b2": (2,)}, 1e3, 1e-3, np.float64),
    ("weight_decay=0 (no penalty)", {"W": (5, 3), "b": (3,)}, 1.0, 0.0, np.float64),
    ("a large weight_decay=5", {"W": (2, 3, 4), "b": (4,)}, 1.0, 5.0, np.float64),
    ("a (64, 33) layer", {"W": (64, 33), "b": (33,)}, 3.0, 1e-2, np.float64),
)


def _penalty_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = []
    for label, shapes, scale, weight_decay, dtype in _PENALTY_CASES + (_PENALTY_HIDDEN if hidden else ()):
        params = {name: random_array(rng, shape, scale, dtype) for name, shape in shapes.items()}
        made.append(Trial(f"{label}, weight_decay={weight_decay:g}", [("params", params),
                                                                     ("weight_decay", weight_decay)],
                          tolerance=FLOAT32_TOLERANCE if dtype == np.float32 else None))
    return made


# (label, shape, scale, lr, weight_decay, dtype)
_DECAY_CASES = (
    ("a single value", (1,), 1.0, 0.1, 0.01, np.float64),
    ("an odd-sized vector", (7,), 1.0, 0.5, 0.2, np.float64),
    ("a (3, 5) matrix of large values", (3, 5), 30.0, 1e-3, 1.0, np.float64),
    ("a float32 (4, 3) matrix", (4, 3), 2.0, 0.01, 0.1, np.float32),
)
_DECAY_HIDDEN = (
    ("a batch of one row", (1, 4), 1.0, 3e-4, 0.01, np.float64),
    ("a (2, 3, 4) array", (2, 3, 4), 1.0, 0.05, 0.5, np.float64),
    ("tiny values around 1e-6", (9,), 1e-6, 0.1, 0.1, np.float64),
    ("huge values up to 1e3", (4, 6), 1e3, 0.01, 1e-2, np.float64),
    ("weight_decay=0 (no decay)", (5, 3), 1.0, 0.1, 0.0, np.float64),
    ("lr=0 (no step, no decay)", (3,), 1.0, 0.0, 0.1, np.float64),
    ("a (64, 33) layer", (64, 33), 3.0, 0.2, 0.3, np.float64),
)


def _decay_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = []
    for label, shape, scale, lr, weight_decay, dtype in _DECAY_CASES + (_DECAY_HIDDEN if hidden else ()):
        theta = random_array(rng, shape, scale, dtype)
        made.append(Trial(f"{label}, lr={lr:g}, weight_decay={weight_decay:g}",
                          [("theta", theta), ("lr", lr), ("weight_decay", weight_decay)],
                          tolerance=FLOAT32_TOLERANCE if dtype == np.float32 else None))
    return made


# ---------------------------------------------------------------- observe


def _observe_penalty(call: Any, trial: Trial) -> dict[str, Any]:
    params = trial.args[0][1]
    penalty, grads = expect_values(call("l2_penalty", trial.args), "l2_penalty", ("penalty", "grads"))
    keys = list(params)
    if not isinstance(grads, Mapping):
        raise GradingError(f"l2_penalty must return grads as a dict with the keys of params ({keys}), one "
                           f"gradient array per parameter; it returned {describe_value(grads)}")
    if sorted(grads) != sorted(keys):
        raise GradingError(f"l2_penalty's grads has the keys {sorted(grads)}, but params has {sorted(keys)}: "
                           f"return one gradient per parameter, under the parameter's own name")
    observed = {"penalty (a number)": penalty}
    for name in keys:
        observed[f"grads[{name!r}] (shape {params[name].shape})"] = grads[name]
    return observed


# ---------------------------------------------------------------- mistakes


def _penalty_variant(value: Callable[[np.ndarray, float], float], grad: Callable[[np.ndarray, float], np.ndarray],
                     keep: Callable[[np.ndarray], bool] = lambda W: True) -> Callable[..., Any]:
    """An L2 penalty with its per-array value or gradient done wrong, or some arrays left out."""

    def penalty_and_grads(params, weight_decay):
        total = sum(value(W, weight_decay) for W in params.values() if keep(W))
        return total, {name: grad(W, weight_decay) if keep(W) else np.zeros_like(W) for name, W in params.items()}

    return penalty_and_grads


def _half_sum_of_squares(W: np.ndarray, weight_decay: float) -> float:
    return 0.5 * weight_decay * float(np.sum(W * W))


def _l2_grad(W: np.ndarray, weight_decay: float) -> np.ndarray:
    return weight_decay * W


_PENALTY_MISTAKES = (
    ("l2_no_half", "torch's weight_decay multiplies weight_decay / 2 * sum ||W||**2, whose gradient is "
     "weight_decay * W; without the 1/2 the penalty and its gradient (2 * weight_decay * W) are twice too large.",
     _penalty_variant(lambda W, wd: wd * float(np.sum(W * W)), lambda W, wd: 2 * wd * W)),
    ("l2_value_no_half", "The gradients are right but the penalty misses the 1/2: penalty = weight_decay / 2 * "
     "sum ||W||**2.", _penalty_variant(lambda W, wd: wd * float(np.sum(W * W)), _l2_grad)),
    ("l2_is_l1", "That is the L1 penalty (absolute values, gradient weight_decay * sign(W)); L2 squares the weights: "
     "weight_decay / 2 * sum W**2, gradient weight_decay * W.",
     _penalty_variant(lambda W, wd: wd * float(np.sum(np.abs(W))), lambda W, wd: wd * np.sign(W))),
    ("l2_grad_sign", "The penalty's gradient is +weight_decay * W (the update theta - lr * grad then shrinks the "
     "weights); you flipped its sign.", _penalty_variant(_half_sum_of_squares, lambda W, wd: -wd * W)),
    ("l2_skips_biases", "Penalize every array in params, biases too, as torch's weight_decay does for every "
     "parameter it is given; to keep biases undecayed, the caller leaves them out of params.",
     _penalty_variant(_half_sum_of_squares, _l2_grad, keep=lambda W: W.ndim > 1)),
    ("l2_mean_not_sum", "Sum the squares of all entries (||W||**2 = np.sum(W**2)); averaging them makes the "
     "penalty depend on the size of each array.",
     _penalty_variant(lambda W, wd: 0.5 * wd * float(np.mean(W * W)), lambda W, wd: wd * W / W.size)),
)

_DECAY_MISTAKES = (
    ("decay_without_lr", "The decoupled decay is scaled by the learning rate: theta * (1 - lr * weight_decay), "
     "as in torch's AdamW.", lambda theta, lr, wd: theta * (1 - wd)),
    ("decay_wrong_sign", "Weight decay shrinks the weights: multiply by (1 - lr * weight_decay), not "
     "(1 + lr * weight_decay).", lambda theta, lr, wd: theta * (1 + lr * wd)),
    ("decay_returns_amount", "Return the decayed parameters theta * (1 - lr * weight_decay), not the amount "
     "lr * weight_decay * theta that is taken away.", lambda theta, lr, wd: lr * wd * theta),
    ("decay_doubled", "torch's weight_decay is the decay rate itself: theta * (1 - lr * weight_decay); the factor 2 "
     "belongs to a penalty written without the 1/2 (the DLVU slide's lambda * ||w||**2, lambda = weight_decay / 2).",
     lambda theta, lr, wd: theta * (1 - 2 * lr * wd)),
)


TARGETS: tuple[Target, ...] = (
    one_role_target("regularization.l2_penalty", "l2_penalty", l2_penalty, _penalty_trials, _observe_penalty,
                    _PENALTY_MISTAKES, what="parameter dicts"),
    function_target("regularization.decoupled_decay", "decoupled_decay", decoupled_decay, _decay_trials,
                    _DECAY_MISTAKES, output="theta after the decay", what="arrays"),
)
