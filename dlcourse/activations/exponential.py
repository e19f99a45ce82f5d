"""Exponential units: ELU and its self-normalizing scaling, SELU.

Source: Clevert, Unterthiner & Hochreiter (2015), "Fast and accurate deep
network learning by exponential linear units (ELUs)"; Klambauer, Unterthiner,
Mayr & Hochreiter (2017), "Self-normalizing neural networks".
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_range
from dlcourse.activations._common import as_dtype_of

__all__ = ["SELU_ALPHA", "SELU_SCALE", "elu", "elu_grad", "selu", "selu_grad"]

# Klambauer et al. (2017); the same digits as torch.nn.functional.selu.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit, f(x) = x for x > 0 and alpha (e^x - 1) for x <= 0.

    Range (-alpha, inf): saturates smoothly to -alpha, pushing mean
    activations towards zero.

    Args:
        x: input array.
        alpha: saturation value for x -> -inf (any real; default 1.0 as torch).

    Source: Clevert, Unterthiner & Hochreiter (2015), "Fast and accurate deep
    network learning by exponential linear units (ELUs)".

    Notes:
        Uses expm1 (as torch) for accuracy near 0, and evaluates it on
        min(x, 0) so the unused branch cannot overflow for large positive x.

    Example:
        >>> elu(np.array([-50.0, -1.0, 2.0])).round(4)
        array([-1.    , -0.6321,  2.    ])
    """
    x = as_float_array(x, "x")
    alpha = check_range(alpha, "alpha")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_grad(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Derivative of ELU: 1 for x > 0, alpha e^x for x <= 0.

    Notes:
        At x = 0 torch.autograd returns alpha (the left derivative); for
        alpha = 1 both one-sided derivatives are 1.

    Example:
        >>> elu_grad(np.array([-1.0, 0.0, 2.0]), alpha=0.5).round(4)
        array([0.1839, 0.5   , 1.    ])
    """
    x = as_float_array(x, "x")
    alpha = check_range(alpha, "alpha")
    return as_dtype_of(np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))), x)


def selu(x: np.ndarray) -> np.ndarray:
    """Scaled ELU, f(x) = scale * elu(x, alpha), alpha ~ 1.6733, scale ~ 1.0507.

    Range (-scale*alpha, inf) ~ (-1.7581, inf).  With these constants and
    weights of variance 1/fan_in, activations converge to mean 0, variance 1.

    Source: Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-normalizing
    neural networks".

    Example:
        >>> selu(np.array([-50.0, 1.0])).round(4)
        array([-1.7581,  1.0507])
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of SELU: scale for x > 0, scale * alpha * e^x for x <= 0.

    Notes:
        At x = 0 torch.autograd returns scale * alpha ~ 1.7581 (left derivative).

    Example:
        >>> selu_grad(np.array([0.0, 1.0])).round(4)
        array([1.7581, 1.0507])
    """
    return SELU_SCALE * elu_grad(x, SELU_ALPHA)
