"""Checks for activation functions and their derivatives (``activations.NAME``, ``activations.NAME_grad``).

``TARGETS`` lists every target once, with its full name written out, the
reference from ``dlcourse.activations``, the parameter sets and edge points
its trials try, and its catalogue of mistakes: ``(id, one sentence with the
fix, the wrong function)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.special import erf

from dlcourse import activations as A
from dlcourse.grading._core import Target, Trial
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, array_trials, function_target, random_array
from dlcourse.grading.topics._pictures import function_picture

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _naive_softplus(x, beta=1.0, threshold=20.0):
    return np.log(1 + np.exp(beta * x)) / beta


def _activation_target(name: str, role: str, reference: Callable[..., np.ndarray],
                       param_sets: Sequence[dict[str, Any]], edge_points: Sequence[float],
                       mistakes: Sequence[tuple[str, str, Callable[..., Any]]]) -> Target:
    """A target comparing ``role(x, **params)`` with ``reference`` on the standard arrays (``array_trials``).

    A failure's picture is both curves over the failing trial's inputs.
    """
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        return array_trials(rng, hidden, "x", edge_points=edge_points, param_sets=param_sets)

    return function_target(name, role, reference, trials, mistakes, what="arrays", output=f"{role}(x)",
                           picture=function_picture(role, reference))


def _prelu_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    cases = [("a single slope for a (4, 3) batch", (4, 3), ()), ("one slope per channel, batch of 1", (1, 5), (5,))]
    if hidden:
        cases += [("per-channel slopes on (6, 3, 2)", (6, 3, 2), (3,)), ("a scalar slope on large values", (7, 2), ())]
    trials = []
    for label, shape, a_shape in cases:
        x = random_array(rng, shape, 3.0)
        x.reshape(-1)[0] = 0.0
        a = rng.uniform(0.05, 0.5, a_shape) if a_shape else np.array(rng.uniform(0.05, 0.5))
        trials.append(Trial(label, [("x", x), ("a", a)]))
    x32 = random_array(rng, (3, 4), 2.0, np.float32)
    trials.append(Trial("float32 input", [("x", x32), ("a", np.full(4, 0.25, np.float32))],
                        tolerance=FLOAT32_TOLERANCE))
    return trials


TARGETS: tuple[Target, ...] = (
    _activation_target("activations.sigmoid", "sigmoid", A.sigmoid, [{}], (0.0,), [
        ("sigmoid_sign", "sigmoid(x) = 1 / (1 + exp(-x)): the minus sign in the exponent is missing.",
         lambda x: A.sigmoid(-x)),
    ]),
    _activation_target("activations.sigmoid_grad", "sigmoid_grad", A.sigmoid_grad, [{}], (0.0,), [
        ("sigmoid_grad_of_x", "You applied s(1 - s) to x itself; the derivative is sigmoid(x) * (1 - sigmoid(x)).",
         lambda x: x * (1 - x)),
        ("sigmoid_grad_missing_factor", "The derivative is sigmoid(x) * (1 - sigmoid(x)); you returned sigmoid(x) "
                                        "alone.",
         lambda x: A.sigmoid(x)),
    ]),
    _activation_target("activations.tanh", "tanh", A.tanh, [{}], (0.0,), [
        ("tanh_overflow", "(exp(x) - exp(-x)) / (exp(x) + exp(-x)) gives inf/inf = nan once |x| > 710: use np.tanh, "
                          "or 2 * sigmoid(2x) - 1 computed stably.",
         lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    ]),
    _activation_target("activations.tanh_grad", "tanh_grad", A.tanh_grad, [{}], (0.0,), [
        ("tanh_grad_of_x", "You applied 1 - t**2 to x itself; the derivative is 1 - tanh(x)**2.", lambda x: 1 - x**2),
        ("tanh_grad_sign", "The derivative of tanh is 1 - tanh(x)**2, not 1 + tanh(x)**2.",
                           lambda x: 1 + np.tanh(x) ** 2),
    ]),
    _activation_target("activations.relu", "relu", A.relu, [{}], (0.0, -0.0), [
        ("relu_abs", "ReLU is max(0, x); you returned |x|.", lambda x: np.abs(x)),
    ]),
    _activation_target("activations.relu_grad", "relu_grad", A.relu_grad, [{}], (0.0, -0.0), [
        ("relu_grad_at_zero", "At x = 0 the derivative is taken as 0 (torch's convention): use x > 0, not x >= 0.",
         lambda x: (x >= 0).astype(x.dtype)),
        ("relu_grad_returns_relu", "The derivative of ReLU is 1 where x > 0 and 0 elsewhere; you returned ReLU itself.",
         lambda x: np.maximum(x, 0)),
    ]),
    _activation_target("activations.leaky_relu", "leaky_relu", A.leaky_relu, [{}, {"negative_slope": 0.2}], (0.0,), [
        ("leaky_ignores_slope", "Use the negative_slope argument instead of a fixed 0.01.",
         lambda x, negative_slope=0.01: np.where(x > 0, x, 0.01 * x)),
        ("leaky_slope_0_1", "The default negative_slope is 0.01 (torch's), not 0.1.",
         lambda x, negative_slope=0.01: np.where(x > 0, x, 0.1 * x)),
    ]),
    _activation_target("activations.leaky_relu_grad", "leaky_relu_grad", A.leaky_relu_grad,
                       [{}, {"negative_slope": 0.2}], (0.0,), [
        ("leaky_grad_negative_zero", "On the negative side leaky ReLU's derivative is negative_slope, not 0.",
         lambda x, negative_slope=0.01: (x > 0).astype(x.dtype)),
        ("leaky_grad_at_zero", "At x = 0 torch takes the derivative as negative_slope: use x > 0, not x >= 0.",
         lambda x, negative_slope=0.01: np.where(x >= 0, 1.0, negative_slope).astype(x.dtype)),
    ]),
    _activation_target("activations.elu", "elu", A.elu, [{}, {"alpha": 0.5}], (0.0,), [
        ("elu_no_minus_one", "For x <= 0 ELU is alpha * (exp(x) - 1); the -1 makes it continuous at 0.",
         lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0)))),
        ("elu_ignores_alpha", "Multiply the negative side by alpha: alpha * (exp(x) - 1).",
         lambda x, alpha=1.0: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    ]),
    _activation_target("activations.elu_grad", "elu_grad", A.elu_grad, [{}, {"alpha": 0.5}], (0.0,), [
        ("elu_grad_no_alpha", "For x <= 0 the derivative of ELU is alpha * exp(x); you left out alpha.",
         lambda x, alpha=1.0: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
        ("elu_grad_negative_zero", "For x <= 0 the derivative of ELU is alpha * exp(x), not 0.",
         lambda x, alpha=1.0: (x > 0).astype(x.dtype)),
    ]),
    _activation_target("activations.gelu", "gelu", A.gelu, [{}, {"approximate": "tanh"}], (0.0,), [
        ("gelu_tanh_for_exact", "approximate='none' asks for the exact GELU x * Phi(x) with Phi(x) = (1 + erf(x / "
                                "sqrt(2))) / 2, not the tanh approximation.",
         lambda x, approximate="none": A.gelu(x, approximate="tanh")),
        ("gelu_sigmoid_approx", "GELU is x * Phi(x) (the normal CDF), not x * sigmoid(1.702 x).",
         lambda x, approximate="none": x * A.sigmoid(1.702 * x)),
    ]),
    _activation_target("activations.gelu_grad", "gelu_grad", A.gelu_grad, [{}, {"approximate": "tanh"}], (0.0,), [
        ("gelu_grad_missing_pdf", "By the product rule, d/dx [x Phi(x)] = Phi(x) + x * phi(x); you left out x * "
                                  "phi(x).",
         lambda x, approximate="none": 0.5 * (1 + erf(x / math.sqrt(2)))),
        ("gelu_grad_tanh_for_exact", "approximate='none' asks for the derivative of the exact GELU, not of its tanh "
                                     "approximation.",
         lambda x, approximate="none": A.gelu_grad(x, approximate="tanh")),
    ]),
    _activation_target("activations.selu", "selu", A.selu, [{}], (0.0,), [
        ("selu_is_elu", f"SELU is scale * ELU(x, alpha) with alpha = {_SELU_ALPHA} and scale = {_SELU_SCALE}; you "
                        f"left out the constants.",
         lambda x: A.elu(x)),
        ("selu_no_scale", f"Multiply both sides by scale = {_SELU_SCALE}.", lambda x: A.elu(x, alpha=_SELU_ALPHA)),
    ]),
    _activation_target("activations.selu_grad", "selu_grad", A.selu_grad, [{}], (0.0,), [
        ("selu_grad_no_scale", f"The derivative is scale on the positive side and scale * alpha * exp(x) below 0 "
                               f"(scale = {_SELU_SCALE}).",
         lambda x: A.elu_grad(x, alpha=_SELU_ALPHA)),
    ]),
    _activation_target("activations.silu", "silu", A.silu, [{}], (0.0,), [
        ("silu_is_sigmoid", "SiLU (swish) is x * sigmoid(x), not sigmoid(x).", lambda x: A.sigmoid(x)),
    ]),
    _activation_target("activations.silu_grad", "silu_grad", A.silu_grad, [{}], (0.0,), [
        ("silu_grad_no_product_rule", "By the product rule, d/dx [x s(x)] = s(x) + x s(x)(1 - s(x)); you returned "
                                      "s(x) alone.",
         lambda x: A.sigmoid(x)),
        ("silu_grad_only_second_term", "By the product rule, d/dx [x s(x)] = s(x) + x s(x)(1 - s(x)); you left out "
                                       "s(x).",
         lambda x: x * A.sigmoid(x) * (1 - A.sigmoid(x))),
    ]),
    _activation_target("activations.mish", "mish", A.mish, [{}], (0.0,), [
        ("mish_tanh_of_x", "Mish is x * tanh(softplus(x)), not x * tanh(x).", lambda x: x * np.tanh(x)),
    ]),
    _activation_target("activations.mish_grad", "mish_grad", A.mish_grad, [{}], (0.0,), [
        ("mish_grad_no_product_rule", "By the product rule, d/dx [x tanh(sp(x))] = tanh(sp(x)) + x (1 - "
                                      "tanh(sp(x))^2) sigmoid(x); you returned the first term only.",
         lambda x: np.tanh(np.logaddexp(0, x))),
    ]),
    _activation_target("activations.softplus", "softplus", A.softplus, [{}, {"beta": 2.0}], (0.0,), [
        ("softplus_overflow", "log(1 + exp(x)) overflows to inf for large x: use np.logaddexp(0, beta * x) / beta, or "
                              "return x above the threshold as torch does.",
         _naive_softplus),
        ("softplus_ignores_beta", "softplus(x, beta) = log(1 + exp(beta x)) / beta: use beta on both sides.",
         lambda x, beta=1.0, threshold=20.0: np.logaddexp(0, x)),
    ]),
    _activation_target("activations.softplus_grad", "softplus_grad", A.softplus_grad, [{}, {"beta": 2.0}], (0.0,), [
        ("softplus_grad_naive", "exp(x) / (1 + exp(x)) gives inf/inf = nan for large x: the derivative is "
                                "sigmoid(beta * x), computed stably.",
         lambda x, beta=1.0, threshold=20.0: np.exp(beta * x) / (1 + np.exp(beta * x))),
        ("softplus_grad_ignores_beta", "The derivative of log(1 + exp(beta x)) / beta is sigmoid(beta x): use beta.",
         lambda x, beta=1.0, threshold=20.0: A.sigmoid(x)),
    ]),
    function_target("activations.prelu", "prelu", A.prelu, _prelu_trials, [
        ("prelu_slope_on_positive", "PReLU is x for x > 0 and a * x otherwise; you scaled the positive side.",
         lambda x, a: np.where(x > 0, -A.prelu(-x, a), x)),  # a * x (a broadcast per channel) where x > 0
    ], what="arrays", output="prelu(x, a)", picture=function_picture("prelu", A.prelu, per_channel="a")),
    function_target("activations.prelu_grad", "prelu_grad", A.prelu_grad, _prelu_trials, [
        ("prelu_grad_negative_zero", "On the negative side the derivative with respect to x is the slope a, not 0.",
         lambda x, a: (x > 0).astype(x.dtype)),
    ], what="arrays", output="prelu_grad(x, a)", picture=function_picture("prelu_grad", A.prelu_grad, per_channel="a")),
    function_target("activations.prelu_grad_a", "prelu_grad_a", A.prelu_grad_a, _prelu_trials, [
        ("prelu_grad_a_positive_side", "d prelu / d a is x where x <= 0 and 0 where x > 0: the positive side "
                                       "does not depend on a.",
         lambda x, a: x.copy()),
        ("prelu_grad_a_is_a", "d(a * x) / d a is x, not a.",
         lambda x, a: np.where(x > 0, 0.0, -A.prelu(-np.ones_like(x), a))),
    ], what="arrays", output="prelu_grad_a(x, a)",
       picture=function_picture("prelu_grad_a", A.prelu_grad_a, per_channel="a")),
)
