"""Saturating activations: the logistic sigmoid and tanh.

Both flatten out for large |x|, where their derivative vanishes: a product
of many such derivatives (a deep network) vanishes too.

Source: Georgia Tech CS 4644/7643 'Optimization' (min/max, saturation,
gradients); Univ. of Macau 'Modern Techniques' (vanishing gradients through
sigmoid).
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array
from dlcourse.activations._common import sigmoid_and_complement

__all__ = ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, sigma(x) = 1 / (1 + exp(-x)), range (0, 1).

    Evaluated as 1/(1+z) for x >= 0 and z/(1+z) for x < 0 with z = exp(-|x|),
    so exp never overflows (``1/(1+np.exp(-x))`` warns for x < -709).

    Source: Georgia Tech 'Optimization' (min 0, max 1, always positive,
    saturates at both ends); Macau 'Modern Techniques' (standard until ~2012).

    Example:
        >>> sigmoid(np.array([-1000.0, 0.0, 2.0])).round(4)
        array([0.    , 0.5   , 0.8808])
    """
    x = as_float_array(x, "x")
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid: sigma'(x) = sigma(x) (1 - sigma(x)), range (0, 1/4].

    At most 1/4 (at x = 0), so a product of many sigma' vanishes with depth.

    Notes:
        1 - sigma(x) is evaluated as sigma(-x), which is exact in the tails.
        torch evaluates y (1 - y) from y = sigma(x), which rounds to 0 for
        x > ~37; the two differ by less than 1e-16 absolutely.

    Example:
        >>> sigmoid_grad(np.array([0.0, 2.0, -2.0])).round(4)
        array([0.25 , 0.105, 0.105])
    """
    x = as_float_array(x, "x")
    s, one_minus_s = sigmoid_and_complement(x)
    return s * one_minus_s


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x) = 2 sigma(2x) - 1, range (-1, 1).

    Source: Georgia Tech 'Optimization' (zero-centred, saturates at both ends).

    Example:
        >>> tanh(np.array([-1.0, 0.0, 20.0])).round(4)
        array([-0.7616,  0.    ,  1.    ])
    """
    return np.tanh(as_float_array(x, "x"))


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of tanh: tanh'(x) = 1 - tanh(x)^2, range (0, 1].

    Example:
        >>> tanh_grad(np.array([0.0, 1.0])).round(4)
        array([1.  , 0.42])
    """
    t = np.tanh(as_float_array(x, "x"))
    return 1 - t**2
