"""Optimizers as pure numpy functions, checked against ``torch.optim``.

For every algorithm NAME (sgd, momentum, nesterov, adagrad, rmsprop, adadelta,
adam, adamw, amsgrad, adamax, nadam, radam, lion)::

    state = NAME_init(theta)
    theta, state = NAME_step(theta, grad, state, **hyperparameters)

``NAME_step`` is pure: it returns new arrays and never modifies ``theta``,
``grad`` or the arrays in ``state``.  Hyperparameter names, defaults and update
rules are those of the matching ``torch.optim`` class (Lion: the paper).  The
step counter ``state["step"]`` is incremented before use (t = 1 on the first
call).

Each ``NAME_step`` is its docstring's equations, line by line, in plain
vectorized numpy: the answer key reads like the slide.

Modules: ``sgd`` (sgd, momentum, nesterov), ``adaptive`` (adagrad, rmsprop,
adadelta), ``adam`` (adam, adamw, amsgrad, adamax, nadam), ``radam`` (Rectified
Adam), ``lion``,
``momentum_forms`` (momentum's moving-average and Sutskever forms, which the
lectures compare with torch's), ``wrappers`` (``OPTIMIZERS`` registry,
in-place ``Optimizer`` for lists or dicts of arrays) and ``torch_adapter``
(``as_torch_optimizer``: any pair as a real ``torch.optim.Optimizer``; torch
is imported only when it is used).
"""

from typing import Any

from dlcourse.optim.adam import (
    adam_init,
    adam_step,
    adamax_init,
    adamax_step,
    adamw_init,
    adamw_step,
    amsgrad_init,
    amsgrad_step,
    nadam_init,
    nadam_step,
)
from dlcourse.optim.adaptive import adadelta_init, adadelta_step, adagrad_init, adagrad_step, rmsprop_init, rmsprop_step
from dlcourse.optim.lion import lion_init, lion_step
from dlcourse.optim.momentum_forms import (
    ema_momentum_init,
    ema_momentum_step,
    sutskever_momentum_init,
    sutskever_momentum_step,
)
from dlcourse.optim.radam import radam_init, radam_step
from dlcourse.optim.sgd import momentum_init, momentum_step, nesterov_init, nesterov_step, sgd_init, sgd_step
from dlcourse.optim.torch_adapter import as_torch_optimizer, numpy_step_optimizer_class
from dlcourse.optim.wrappers import OPTIMIZERS, Optimizer, resolve_optimizer

__all__ = [
    "OPTIMIZERS",
    "NumpyStepOptimizer",
    "Optimizer",
    "adadelta_init",
    "adadelta_step",
    "adagrad_init",
    "adagrad_step",
    "adam_init",
    "adam_step",
    "adamax_init",
    "adamax_step",
    "adamw_init",
    "adamw_step",
    "amsgrad_init",
    "amsgrad_step",
    "as_torch_optimizer",
    "ema_momentum_init",
    "ema_momentum_step",
    "lion_init",
    "lion_step",
    "momentum_init",
    "momentum_step",
    "nadam_init",
    "nadam_step",
    "nesterov_init",
    "nesterov_step",
    "numpy_step_optimizer_class",
    "radam_init",
    "radam_step",
    "resolve_optimizer",
    "rmsprop_init",
    "rmsprop_step",
    "sgd_init",
    "sgd_step",
    "sutskever_momentum_init",
    "sutskever_momentum_step",
]


def __getattr__(name: str) -> Any:
    # ``NumpyStepOptimizer`` subclasses torch.optim.Optimizer, so it is built
    # (and torch imported) on first access only.
    if name == "NumpyStepOptimizer":
        return numpy_step_optimizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
