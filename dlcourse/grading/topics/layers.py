"""Checks for the linear layer and the activation layers (``layers.linear_*``, ``layers.NAME_backward``).

A layer check takes the student's forward AND backward: the backward gets the
cache of the student's own forward, as the modular layer API prescribes, and
the gradients are compared.  Any cache works: the student's forward and
backward only have to agree with each other.

The other ``layers.*`` targets live with their concept: the losses in
``topics.losses``, dropout in ``topics.dropout`` and the two-layer network in
``topics.two_layer_net``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import activations as A
from dlcourse import layers as L
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError
from dlcourse.grading.topics._common import array_trials, expect_values, random_array
from dlcourse.grading.topics._layer_common import F32, F64, cases, tolerance_for
from dlcourse.grading.topics._pictures import layer_picture

__all__ = ["TARGETS"]


def _layer_observe(roles: tuple[str, str], n_inputs: int, grad_labels: tuple[str, ...],
                   observe_out: bool) -> Callable:
    """Observe a (forward, backward) pair: the backward gets the forward's own cache."""
    forward, backward = roles

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        out, cache = expect_values(call(forward, trial.args[:n_inputs], trial.kwargs), forward, ("out", "cache"))
        try:
            grads = call(backward, [trial.args[n_inputs], ("cache", cache)])
        except GradingError as error:  # most often a matmul of mismatched shapes: show them all
            shapes = ", ".join(f"{arg} {np.shape(value)}" for arg, value in trial.args)
            raise GradingError(f"{error}\n  shapes here: {shapes}; each gradient has the shape of the "
                               f"input it belongs to (dx like x)", mistake=error.mistake) from None
        if len(grad_labels) > 1:
            grads = expect_values(grads, backward, tuple(label.split()[0] for label in grad_labels))
        else:
            grads = (grads,)
        observed = {f"out of {forward}": out} if observe_out else {}
        return observed | dict(zip(grad_labels, grads, strict=True))

    return observe


# ------------------------------------------------------------------- linear
# (label, batch N, fan_in, fan_out, scale of x and dout, dtype).  The first case
# is square so that dx = dout @ W (a missing transpose) runs and is diagnosed.
_LINEAR_CASES = (
    ("a square layer (fan_in = fan_out = 5), batch of 3", 3, 5, 5, 1.0, F64),
    ("a batch of one row", 1, 7, 3, 1.0, F64),
    ("a batch of 64, odd feature counts, large values", 64, 9, 5, 30.0, F64),
    ("float32 inputs", 4, 3, 6, 2.0, F32),
)
_LINEAR_HIDDEN = (
    ("one input and one output feature", 7, 1, 1, 1.0, F64),
    ("tiny values around 1e-6", 5, 3, 4, 1e-6, F64),
    ("huge values up to 1e3", 6, 4, 7, 1e3, F64),
    ("a batch of 33, 17 -> 11 features", 33, 17, 11, 3.0, F64),
    ("a float32 batch of one row", 1, 5, 2, 1.0, F32),
)
_LINEAR_GRADS = ("dx (shape of x, (N, fan_in))", "dW (shape of W, (fan_in, fan_out))", "db (shape of b, (fan_out,))")


def _linear_trials(with_dout: bool) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = []
        for label, n, fan_in, fan_out, scale, dtype in cases(_LINEAR_CASES, _LINEAR_HIDDEN, hidden):
            args = [("x", random_array(rng, (n, fan_in), scale, dtype)),
                    ("W", random_array(rng, (fan_in, fan_out), fan_in ** -0.5, dtype)),
                    ("b", random_array(rng, (fan_out,), 1.0, dtype))]
            if with_dout:
                args.append(("dout", random_array(rng, (n, fan_out), scale, dtype)))
            made.append(Trial(label, args, tolerance=tolerance_for(dtype)))
        return made

    return trials


def _observe_linear_forward(call: Any, trial: Trial) -> dict[str, Any]:
    out, _ = expect_values(call("linear_forward", trial.args), "linear_forward", ("out", "cache"))
    return {"out = x @ W + b": out}


def _linear_wrong(**wrong: Callable) -> tuple:
    """The reference layer with some of (dx, dW, db) replaced by ``wrong[name](dout, x, W)``."""
    right = {"dx": lambda d, x, W: d @ W.T, "dW": lambda d, x, W: x.T @ d, "db": lambda d, x, W: d.sum(axis=0)}

    def backward(dout: np.ndarray, cache: tuple) -> tuple:
        x, W = cache
        return tuple((wrong.get(name) or right[name])(dout, x, W) for name in ("dx", "dW", "db"))

    return (L.linear_forward, backward)


_LINEAR_FORWARD_MISTAKES = (
    Mistake("linear_no_bias", "You left out the bias: out = x @ W + b.", (lambda x, W, b: (x @ W, (x, W)),)),
    Mistake("linear_weight_transposed", "W here has shape (fan_in, fan_out), so out = x @ W + b, not x @ W.T + b "
            "(torch's nn.Linear stores weight = W.T).", (lambda x, W, b: (x @ W.T + b, (x, W)),)),
)
_LINEAR_BACKWARD_MISTAKES = (
    Mistake("linear_dW_transposed", "dW must have the shape of W, (fan_in, fan_out): dW = x.T @ dout, "
            "not dout.T @ x (which is its transpose).", _linear_wrong(dW=lambda d, x, W: d.T @ x)),
    Mistake("linear_dx_no_transpose", "dx must have the shape of x, (N, fan_in): dx = dout @ W.T (dout @ W only "
            "runs when W is square).", _linear_wrong(dx=lambda d, x, W: d @ W)),
    Mistake("linear_db_mean", "The bias is shared by every example, so db sums dout over the batch: "
            "db = dout.sum(axis=0), not the mean.", _linear_wrong(db=lambda d, x, W: d.mean(axis=0))),
    Mistake("linear_db_not_summed", "db must have the shape of b, (fan_out,): sum dout over the batch, "
            "db = dout.sum(axis=0).", _linear_wrong(db=lambda d, x, W: d.copy())),
    Mistake("linear_dW_per_example", "dW must have the shape of W: x.T @ dout sums the per-example outer "
            "products over the batch instead of keeping one per example.",
            _linear_wrong(dW=lambda d, x, W: x[:, :, None] * d[:, None, :])),
    Mistake("linear_grads_averaged", "Do not divide dW and db by the batch size: the loss's mean reduction "
            "already put 1/N into dout.",
            _linear_wrong(dW=lambda d, x, W: x.T @ d / len(x), db=lambda d, x, W: d.sum(axis=0) / len(x))),
)


# ------------------------------------------------------- activation layers
def _activation_trials(param_sets: list[dict[str, Any]]) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = array_trials(rng, hidden, "x", edge_points=(0.0, -0.0), param_sets=param_sets)
        for trial in made:
            x = trial.args[0][1]
            trial.args.append(("dout", random_array(rng, x.shape, 1.0, x.dtype)))
        return made

    return trials


def _activation_layer_target(name: str, roles: tuple[str, str], reference: tuple[Callable, Callable],
                             param_sets: list[dict[str, Any]], mistakes: tuple[Mistake, ...]) -> Target:
    """A target for an activation layer: its output and dx on the standard arrays, each with a dout.

    A failure's picture is the output, or dx / dout, as a curve of x.
    """
    return Target(name, roles, reference, _activation_trials(param_sets),
                  _layer_observe(roles, 1, ("dx (shape of x)",), observe_out=True), mistakes, what="arrays",
                  picture=layer_picture(roles, reference))


def _wrong_dx(forward: Callable, dx: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple:
    """The reference ``forward`` (whose cache is x) with the backward replaced by ``dx(dout, x)``."""
    return (forward, dx)


def _wrong_leaky_dx(dx: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> tuple:
    """The reference leaky ReLU forward with the backward replaced by ``dx(dout, x, negative_slope)``."""
    def backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
        x, negative_slope = cache
        return dx(dout, x, negative_slope)

    return (L.leaky_relu_forward, backward)


_RELU_MISTAKES = (
    Mistake("relu_backward_masks_dout", "The ReLU gate passes dout where its INPUT was positive: "
            "dx = dout * (x > 0), with x cached by the forward, not a mask on dout > 0.",
            _wrong_dx(L.relu_forward, lambda d, x: np.where(d > 0, d, 0.0))),
    Mistake("relu_backward_no_dout", "Multiply the local derivative by the upstream gradient: dx = dout * (x > 0).",
            _wrong_dx(L.relu_forward, lambda d, x: (x > 0).astype(x.dtype))),
    Mistake("relu_backward_at_zero", "At x = 0 ReLU's derivative is taken as 0 (torch's convention): "
            "mask with x > 0, not x >= 0.", _wrong_dx(L.relu_forward, lambda d, x: d * (x >= 0))),
)
_SIGMOID_MISTAKES = (
    Mistake("sigmoid_backward_of_x", "Apply s * (1 - s) to the forward's OUTPUT s = sigmoid(x) (cache it), "
            "not to x: dx = dout * s * (1 - s).", _wrong_dx(L.sigmoid_forward, lambda d, x: d * x * (1 - x))),
    Mistake("sigmoid_backward_no_dout", "Multiply by the upstream gradient: dx = dout * s * (1 - s).",
            _wrong_dx(L.sigmoid_forward, lambda d, x: A.sigmoid(x) * (1 - A.sigmoid(x)))),
    Mistake("sigmoid_backward_missing_factor", "The sigmoid's derivative is s * (1 - s), not s: "
            "dx = dout * s * (1 - s).", _wrong_dx(L.sigmoid_forward, lambda d, x: d * A.sigmoid(x))),
)
_TANH_MISTAKES = (
    Mistake("tanh_backward_of_x", "Apply 1 - t**2 to the forward's OUTPUT t = tanh(x) (cache it), not to x: "
            "dx = dout * (1 - t**2).", _wrong_dx(L.tanh_forward, lambda d, x: d * (1 - x * x))),
    Mistake("tanh_backward_no_dout", "Multiply by the upstream gradient: dx = dout * (1 - t**2).",
            _wrong_dx(L.tanh_forward, lambda d, x: 1 - np.tanh(x) ** 2)),
    Mistake("tanh_backward_not_squared", "The derivative of tanh is 1 - tanh(x)**2: square t.",
            _wrong_dx(L.tanh_forward, lambda d, x: d * (1 - np.tanh(x)))),
)
_LEAKY_RELU_MISTAKES = (
    Mistake("leaky_backward_zero_slope", "On the negative side leaky ReLU's derivative is negative_slope, "
            "not 0: dx = dout * where(x > 0, 1, negative_slope).", _wrong_leaky_dx(lambda d, x, s: d * (x > 0))),
    Mistake("leaky_backward_ignores_slope", "Use the negative_slope the forward was given (keep it in the cache) "
            "instead of a fixed 0.01.", _wrong_leaky_dx(lambda d, x, s: d * np.where(x > 0, 1.0, 0.01))),
    Mistake("leaky_backward_no_dout", "Multiply by the upstream gradient: dx = dout * where(x > 0, 1, "
            "negative_slope).", _wrong_leaky_dx(lambda d, x, s: np.where(x > 0, 1.0, s))),
    Mistake("leaky_backward_at_zero", "At x = 0 torch takes the derivative as negative_slope: use x > 0, not "
            "x >= 0.", _wrong_leaky_dx(lambda d, x, s: d * np.where(x >= 0, 1.0, s))),
)

TARGETS: tuple[Target, ...] = (
    Target("layers.linear_forward", ("linear_forward",), (L.linear_forward,), _linear_trials(with_dout=False),
           _observe_linear_forward, _LINEAR_FORWARD_MISTAKES, what="batches"),
    Target("layers.linear_backward", ("linear_forward", "linear_backward"), (L.linear_forward, L.linear_backward),
           _linear_trials(with_dout=True),
           _layer_observe(("linear_forward", "linear_backward"), 3, _LINEAR_GRADS, observe_out=False),
           _LINEAR_BACKWARD_MISTAKES, what="batches"),
    _activation_layer_target("layers.relu_backward", ("relu_forward", "relu_backward"),
                             (L.relu_forward, L.relu_backward), [{}], _RELU_MISTAKES),
    _activation_layer_target("layers.sigmoid_backward", ("sigmoid_forward", "sigmoid_backward"),
                             (L.sigmoid_forward, L.sigmoid_backward), [{}], _SIGMOID_MISTAKES),
    _activation_layer_target("layers.tanh_backward", ("tanh_forward", "tanh_backward"),
                             (L.tanh_forward, L.tanh_backward), [{}], _TANH_MISTAKES),
    _activation_layer_target("layers.leaky_relu_backward", ("leaky_relu_forward", "leaky_relu_backward"),
                             (L.leaky_relu_forward, L.leaky_relu_backward), [{}, {"negative_slope": 0.2}],
                             _LEAKY_RELU_MISTAKES),
)
