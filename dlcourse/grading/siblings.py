"""Other references a student may have written instead of the one asked for.

A student asked for Adagrad who writes RMSProp's moving average, or for He's initializer who
writes Xavier's, made no slip inside the algorithm: they wrote another algorithm.  Each row of
:data:`SIBLINGS` says so for one target: ``(target, other, sentence)``, where ``other``'s reference
has the same roles.  It is called as the student's function would be: with ``target``'s defaults
for the keyword arguments both share (a student's RMSProp written for Adagrad keeps Adagrad's
eps), without the keyword arguments only ``target`` knows, and with ``other``'s own defaults for
the rest.  The registry attaches each row to its target as a mistake with the id
``"same_as:" + other`` (:func:`attach`), diagnosed like a catalogued mistake, after the target's
own catalogue.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from dlcourse.grading._core import Mistake, Target

SIBLINGS: tuple[tuple[str, str, str], ...] = (
    ("optim.adagrad", "optim.rmsprop",
     "This is RMSProp's update, a moving average of the squared gradients; Adagrad divides by the root of their "
     "running SUM: sum = sum + g**2."),
    ("optim.rmsprop", "optim.adagrad",
     "This is Adagrad's update, a running sum of the squared gradients; RMSProp keeps a moving average: "
     "square_avg = alpha * square_avg + (1 - alpha) * g**2."),
    ("optim.adam", "optim.adamw",
     "This is AdamW's decoupled weight decay (theta shrinks by lr * weight_decay * theta); in Adam weight_decay "
     "is an L2 term added to the gradient before the moments: g = grad + weight_decay * theta."),
    ("optim.adamw", "optim.adam",
     "This is Adam's L2 weight decay (weight_decay * theta added to the gradient); AdamW decouples it: theta = "
     "theta - lr * weight_decay * theta, apart from the moments."),
    ("optim.nadam", "optim.adam",
     "This is plain Adam; NAdam adds Nesterov's look-ahead with the momentum schedule mu_t (see the exercise)."),
    ("optim.adamax", "optim.adam",
     "This is Adam's update (the root of a moving average of g**2); Adamax divides by the infinity norm "
     "u = max(beta2 * u, |g| + eps)."),
    ("optim.momentum", "optim.nesterov",
     "This is Nesterov's update (it steps with g + momentum * v); plain momentum steps with the buffer v itself."),
    ("optim.momentum", "optim.sgd",
     "This is plain SGD: the velocity buffer v = momentum * v + (1 - dampening) * g is missing."),
    ("init.he_normal", "init.xavier_normal",
     "This is Xavier (Glorot) initialization, std = gain * sqrt(2 / (fan_in + fan_out)); He's uses std = "
     "gain / sqrt(fan), with gain = sqrt(2) for ReLU and fan = fan_in by default."),
    ("init.xavier_normal", "init.he_normal",
     "This is He (Kaiming) initialization, std = sqrt(2 / fan_in); Xavier's averages both fans: std = gain * "
     "sqrt(2 / (fan_in + fan_out))."),
    ("init.he_uniform", "init.xavier_uniform",
     "This is Xavier (Glorot) uniform initialization, bound = gain * sqrt(6 / (fan_in + fan_out)); He's bound is "
     "gain * sqrt(3 / fan), with gain = sqrt(2) for ReLU."),
    ("init.xavier_uniform", "init.he_uniform",
     "This is He (Kaiming) uniform initialization, bound = sqrt(6 / fan_in); Xavier's averages both fans: bound "
     "= gain * sqrt(6 / (fan_in + fan_out))."),
    ("activations.relu", "activations.leaky_relu",
     "This is leaky ReLU (a slope of 0.01 for x < 0); ReLU is exactly 0 there: max(x, 0)."),
    ("activations.gelu", "activations.silu",
     "This is SiLU (swish), x * sigmoid(x); GELU weighs x by the normal CDF: x * Phi(x) = x * (1 + erf(x / "
     "sqrt(2))) / 2."),
    ("activations.silu", "activations.gelu",
     "This is GELU, x * Phi(x) with the normal CDF; SiLU weighs x by the sigmoid: x * sigmoid(x)."),
    ("activations.selu", "activations.elu",
     "This is ELU; SELU is scale * ELU with alpha = 1.6732632423543772 and scale = 1.0507009873554805."),
    ("activations.sigmoid", "activations.tanh",
     "This is tanh; the sigmoid is 1 / (1 + exp(-x)), between 0 and 1."),
    ("activations.tanh", "activations.sigmoid",
     "This is the sigmoid; tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), between -1 and 1."),
    ("activations.sigmoid_grad", "activations.tanh_grad",
     "This is tanh's derivative, 1 - tanh(x)**2; the sigmoid's is s * (1 - s) with s = sigmoid(x)."),
    ("activations.tanh_grad", "activations.sigmoid_grad",
     "This is the sigmoid's derivative, s * (1 - s); tanh's is 1 - tanh(x)**2."),
)


def _keywords(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


def _as_written_for(fn: Callable[..., Any], asked: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (another algorithm) called as a student's version of ``asked`` would call it (module docstring)."""
    parameters = _keywords(fn)
    shared = {name: p.default for name, p in _keywords(asked).items()
              if name in parameters and p.default is not inspect.Parameter.empty}

    def call(*args: Any, **kwargs: Any) -> Any:
        given = shared | kwargs
        return fn(*args, **{name: value for name, value in given.items() if name in parameters})

    return call


def attach(targets: dict[str, Target]) -> None:
    """Give every target in :data:`SIBLINGS` its ``same_as:`` mistakes (once: the registry loads once)."""
    for name, other, sentence in SIBLINGS:
        target = targets[name]
        impl = tuple(_as_written_for(fn, asked)
                     for fn, asked in zip(targets[other].reference, target.reference, strict=True))
        target.siblings = (*target.siblings, Mistake(f"same_as:{other}", sentence, impl))
