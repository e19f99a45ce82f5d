"""Run pure ``(init_fn, step_fn)`` pairs on many parameters: the registry and ``Optimizer``.

The step functions update one array.  A network has many (``W1, b1, W2,
...``), each with its own state; ``Optimizer`` keeps one state per parameter
and writes the new values into the caller's arrays, like ``torch.optim``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_choice
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

__all__ = ["OPTIMIZERS", "Optimizer", "hyperparameter_names", "resolve_optimizer"]

InitFn = Callable[[np.ndarray], dict]
StepFn = Callable[..., tuple[np.ndarray, dict]]

#: name -> (init_fn, step_fn) for every optimizer of ``dlcourse.optim``.
OPTIMIZERS: dict[str, tuple[InitFn, StepFn]] = {
    "sgd": (sgd_init, sgd_step),
    "momentum": (momentum_init, momentum_step),
    "nesterov": (nesterov_init, nesterov_step),
    "adagrad": (adagrad_init, adagrad_step),
    "rmsprop": (rmsprop_init, rmsprop_step),
    "adadelta": (adadelta_init, adadelta_step),
    "adam": (adam_init, adam_step),
    "adamw": (adamw_init, adamw_step),
    "amsgrad": (amsgrad_init, amsgrad_step),
    "adamax": (adamax_init, adamax_step),
    "nadam": (nadam_init, nadam_step),
    "radam": (radam_init, radam_step),
    "lion": (lion_init, lion_step),
}
# step_fn -> init_fn for every step function of ``dlcourse.optim`` (the
# registry's and momentum's other two forms); any other step function needs
# its ``init_fn`` passed explicitly.
_INIT_OF_STEP: dict[StepFn, InitFn] = {
    **{step_fn: init_fn for init_fn, step_fn in OPTIMIZERS.values()},
    ema_momentum_step: ema_momentum_init,
    sutskever_momentum_step: sutskever_momentum_init,
}


def resolve_optimizer(step_fn: StepFn | str, init_fn: InitFn | None = None) -> tuple[InitFn, StepFn]:
    """Return ``(init_fn, step_fn)`` from a step function (or a registry name).

    Without ``init_fn``, the init function of one of ``dlcourse.optim``'s
    own step functions (the registry's and the momentum forms) is looked up;
    a step function of your own (``my_adam_step``) needs its ``init_fn``
    passed explicitly.
    """
    if isinstance(step_fn, str):
        init_by_name, step_fn = OPTIMIZERS[check_choice(step_fn, "step_fn", list(OPTIMIZERS))]
        return init_fn or init_by_name, step_fn
    if not callable(step_fn):
        raise TypeError(f"step_fn must be a step function such as adam_step (or a name), got {type(step_fn).__name__}")
    if init_fn is None:
        init_fn = _INIT_OF_STEP.get(step_fn)
    if not callable(init_fn):
        raise TypeError(
            f"cannot find the init function of {_name(step_fn)!r} (only dlcourse.optim's own are known): "
            f"pass init_fn=... (a function theta -> state), e.g. Optimizer(params, my_step, my_init)"
        )
    return init_fn, step_fn


def hyperparameter_names(step_fn: StepFn) -> frozenset[str] | None:
    """Names of ``step_fn``'s keyword hyperparameters, or None if it takes ``**kwargs``."""
    parameters = list(inspect.signature(step_fn).parameters.values())[3:]  # after theta, grad, state
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL)


def check_hyperparameters(step_fn: StepFn, hyperparameters: Mapping[str, Any]) -> None:
    """Reject misspelt hyperparameters now rather than at the first step."""
    accepted = hyperparameter_names(step_fn)
    unknown = sorted(set(hyperparameters) - accepted) if accepted is not None else []
    if unknown:
        raise TypeError(
            f"{_name(step_fn)} has no hyperparameter {', '.join(map(repr, unknown))}; "
            f"it accepts {', '.join(sorted(accepted))}"
        )


class Optimizer:
    """Apply a pure ``(init_fn, step_fn)`` pair to many numpy parameters, IN PLACE.

    ``Optimizer(params, step_fn, init_fn=None, **hyperparameters)`` keeps one
    state per parameter (``self.state``, a list or dict parallel to
    ``params``).  ``step(grads)`` computes every new value with ``step_fn``
    and then copies it into the caller's arrays (``param[...] = new_theta``),
    so a model holding the same arrays (``mlp.params["W1"]``) sees the update;
    nothing is written if any parameter's step fails.

    Args:
        params: a list (or tuple) of float ndarrays, or a dict ``name -> ndarray``.
        step_fn: a step function such as ``adam_step``, or its registry name
            ``"adam"``.
        init_fn: the matching init function; found automatically for the
            step functions of ``dlcourse.optim``, required for your own.
        **hyperparameters: keyword arguments for every ``step_fn`` call
            (``lr=1e-3, betas=(0.9, 0.999)``); editable later through
            ``self.hyperparameters`` (for a schedule).

    Example::

        params = {"W": W, "b": b}                 # the model's own arrays
        opt = Optimizer(params, adam_step, lr=1e-3)
        for x, y in batches:
            opt.step(gradients(params, x, y))     # {"W": dW, "b": db}
        # W and b (the same objects) now hold the trained values
    """

    def __init__(
        self,
        params: Sequence[np.ndarray] | Mapping[str, np.ndarray],
        step_fn: StepFn | str,
        init_fn: InitFn | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.init_fn, self.step_fn = resolve_optimizer(step_fn, init_fn)
        check_hyperparameters(self.step_fn, hyperparameters)
        self.hyperparameters = dict(hyperparameters)
        if isinstance(params, Mapping):
            self.keys = list(params)
        elif isinstance(params, Sequence) and not isinstance(params, (str, np.ndarray)):
            self.keys = list(range(len(params)))
        else:
            raise TypeError(
                f"params must be a list or dict of numpy arrays, got {type(params).__name__}; "
                "wrap a single array in a list: [theta]"
            )
        for key in self.keys:
            _check_updatable(params[key], f"params[{key!r}]")
        self.params = params
        states = {key: self.init_fn(params[key]) for key in self.keys}
        self.state = states if isinstance(params, Mapping) else [states[key] for key in self.keys]

    def step(self, grads: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> None:
        """Update every parameter in place from ``grads`` (same keys/length as ``params``)."""
        if isinstance(self.params, Mapping):
            if not isinstance(grads, Mapping) or set(grads) != set(self.keys):
                given = sorted(grads) if isinstance(grads, Mapping) else type(grads).__name__
                raise ValueError(f"grads must be a dict with the keys of params {self.keys}, got {given}")
        elif isinstance(grads, Mapping) or not isinstance(grads, Sequence) or len(grads) != len(self.keys):
            given = f"length {len(grads)}" if isinstance(grads, Sequence) else type(grads).__name__
            raise ValueError(f"grads must be a list of {len(self.keys)} arrays, one per parameter, got {given}")
        results = [
            self.step_fn(self.params[key], grads[key], self.state[key], **self.hyperparameters) for key in self.keys
        ]
        for key, (new_theta, new_state) in zip(self.keys, results, strict=True):
            np.copyto(self.params[key], new_theta)
            self.state[key] = new_state

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"Optimizer({_name(self.step_fn)}, {len(self.keys)} parameters{', ' if settings else ''}{settings})"


def _name(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", repr(function))


def _check_updatable(param: Any, name: str) -> None:
    if not isinstance(param, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array (updated in place), got {type(param).__name__}; "
            "convert it with np.array(..., dtype=np.float64) and keep that array in your model"
        )
    as_float_array(param, name)
    if not param.flags.writeable:
        raise ValueError(f"{name} is read-only, so it cannot be updated in place; pass a writable copy")
