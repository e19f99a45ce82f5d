"""Shared plumbing for the optimizer step functions: input checks and state creation.

The math of every optimizer is written out in its own ``NAME_step``, line by
line as its docstring's equations; nothing here computes an update.  Every
``NAME_step`` is pure: it returns a new parameter array and a new state dict
and never writes into ``theta``, ``grad`` or the arrays of ``state``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape

State = dict[str, Any]


def check_step_inputs(
    theta: Any,
    grad: Any,
    state: Any,
    array_keys: Sequence[str],
    init_name: str,
    scalar_keys: Sequence[str] = (),
    optional_array_keys: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate one step's inputs; return ``(theta, grad, t)`` with ``t = step + 1``.

    ``grad`` is cast to ``theta``'s dtype (the parameter's dtype is kept);
    ``state`` must hold ``"step"``, every key in ``array_keys`` as an array of
    ``theta``'s shape and dtype, and every key in ``scalar_keys`` as a real
    number, as ``init_name(theta)`` makes them.  Keys in
    ``optional_array_keys`` (buffers created on first use) are checked if present.
    """
    theta = _as_parameter_array(theta)
    grad = as_float_array(grad, "grad")
    check_same_shape(theta, grad, "theta", "grad")
    if grad.dtype != theta.dtype:
        grad = grad.astype(theta.dtype)
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be the dict returned by {init_name}(theta), got {type(state).__name__}")
    missing = [key for key in ("step", *array_keys, *scalar_keys) if key not in state]
    if missing:
        raise ValueError(
            f"state was not made by {init_name}: it lacks {missing} (it has {sorted(state)}); "
            f"create it with state = {init_name}(theta)"
        )
    step = state["step"]
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(
            f"state['step'] must be a non-negative int, got {step!r}; create state with {init_name}(theta)"
        )
    for key in (*array_keys, *(key for key in optional_array_keys if key in state)):
        buffer = state[key]
        if not isinstance(buffer, np.ndarray) or buffer.shape != theta.shape or buffer.dtype != theta.dtype:
            if isinstance(buffer, np.ndarray):
                described = f"shape {buffer.shape} and dtype {buffer.dtype}"
            else:
                described = type(buffer).__name__
            raise ValueError(
                f"state[{key!r}] must be an array of theta's shape {theta.shape} and dtype {theta.dtype}, "
                f"got {described}; the state belongs to another parameter: create it with {init_name}(theta)"
            )
    for key in scalar_keys:
        check_range(state[key], f"state[{key!r}]")
    return theta, grad, int(step) + 1


def check_lr(lr: Any) -> float:
    return check_range(lr, "lr", 0.0)


def check_weight_decay(weight_decay: Any) -> float:
    return check_range(weight_decay, "weight_decay", 0.0)


def check_eps(eps: Any) -> float:
    return check_range(eps, "eps", 0.0, low_inclusive=False)


def check_decay(value: Any, name: str) -> float:
    """A running-average decay (beta, rho, alpha, momentum) must lie in [0, 1)."""
    return check_range(value, name, 0.0, 1.0, high_inclusive=False)


def check_betas(betas: Any) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}")
    return check_decay(betas[0], "betas[0]"), check_decay(betas[1], "betas[1]")


def check_adam_hyperparameters(lr: Any, betas: Any, eps: Any, weight_decay: Any
                               ) -> tuple[float, float, float, float, float]:
    """The Adam family's ``lr, betas, eps, weight_decay``, checked: ``(lr, beta1, beta2, eps, weight_decay)``."""
    beta1, beta2 = check_betas(betas)
    return check_lr(lr), beta1, beta2, check_eps(eps), check_weight_decay(weight_decay)


def check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def zeros_state(theta: Any, *array_keys: str) -> State:
    """``{"step": 0, key: zeros_like(theta), ...}`` for ``NAME_init``."""
    theta = _as_parameter_array(theta)
    return {"step": 0, **{key: np.zeros_like(theta) for key in array_keys}}


def _as_parameter_array(theta: Any) -> np.ndarray:
    theta = as_float_array(theta, "theta")
    if theta.ndim == 0:
        # numpy returns scalars, not arrays, from operations on 0-d arrays,
        # so a 0-d parameter could not keep array state.
        raise ValueError(f"theta must have at least one dimension, got the scalar {theta!r}; use np.array([x])")
    return theta


def buffer_or_zeros(state: Mapping[str, Any], key: str, theta: np.ndarray) -> np.ndarray:
    """``state[key]``, or zeros for a buffer that an option creates on first use."""
    buffer = state.get(key)
    return np.zeros_like(theta) if buffer is None else buffer
