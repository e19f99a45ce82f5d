"""The rectifier family: ReLU, leaky ReLU, PReLU.

Linear for x > 0 (the gradient 1 does not vanish), and 0 or a small slope
for x <= 0.

Source: Georgia Tech CS 4644/7643 'Optimization'; Univ. of Macau 'Modern
Techniques' (ReLU, dead neurons, leaky ReLU and friends).
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_range
from dlcourse.activations._common import as_dtype_of

__all__ = ["leaky_relu", "leaky_relu_grad", "prelu", "prelu_grad", "prelu_grad_a", "relu", "relu_grad"]


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, relu(x) = max(0, x), range [0, inf).

    Source: Georgia Tech 'Optimization'; Macau 'Modern Techniques' (gradient
    1 for x > 0 does not vanish; 0 for x < 0 gives dead neurons).

    Example:
        >>> relu(np.array([-1.0, 0.5]))
        array([0. , 0.5])
    """
    return np.maximum(as_float_array(x, "x"), 0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of ReLU: 1 for x > 0, 0 for x <= 0.

    Notes:
        At the kink x = 0 torch.autograd uses 0 (a valid subgradient); the
        Macau slides write 1 for x >= 0.  We follow torch.

    Example:
        >>> relu_grad(np.array([-1.0, 0.0, 0.5]))
        array([0., 0., 1.])
    """
    x = as_float_array(x, "x")
    return as_dtype_of(x > 0, x)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU, f(x) = x for x > 0 and negative_slope * x otherwise.

    Range (-inf, inf) for negative_slope > 0.  The small slope lets "dead"
    units get gradient and recover.

    Args:
        x: input array.
        negative_slope: slope for x <= 0 (any real; default 0.01 as torch).

    Source: Maas, Hannun & Ng (2013), "Rectifier nonlinearities improve neural
    network acoustic models"; Macau 'Modern Techniques'.

    Notes:
        The Macau slides use max(0.1 x, x), i.e. negative_slope = 0.1; torch's
        default is 0.01.  max(a x, x) equals this only for 0 <= a <= 1.

    Example:
        >>> leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.1)
        array([-0.2,  3. ])
    """
    x = as_float_array(x, "x")
    negative_slope = check_range(negative_slope, "negative_slope")
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_grad(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of leaky ReLU: 1 for x > 0, negative_slope for x <= 0.

    Notes:
        At x = 0 torch.autograd returns negative_slope (its kernel tests x > 0).

    Example:
        >>> leaky_relu_grad(np.array([-2.0, 0.0, 3.0]), negative_slope=0.1)
        array([0.1, 0.1, 1. ])
    """
    x = as_float_array(x, "x")
    negative_slope = check_range(negative_slope, "negative_slope")
    return as_dtype_of(np.where(x > 0, 1.0, negative_slope), x)


def _prelu_slope(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Validate the PReLU slope and reshape it to broadcast against x (channel axis 1)."""
    a = as_float_array(a, "a")
    if a.size == 1 and a.ndim <= 1:
        return a.reshape(())
    if a.ndim == 1 and x.ndim >= 2 and a.shape[0] == x.shape[1]:
        return a.reshape((a.shape[0],) + (1,) * (x.ndim - 2))
    channels = x.shape[1] if x.ndim >= 2 else 1
    raise ValueError(
        f"a must be a scalar, shape (1,), or shape (C,) = ({channels},) with one slope per "
        f"channel on axis 1 of x; got a with shape {a.shape} for x with shape {x.shape}. "
        f"Pass a single slope or one slope per channel x.shape[1]"
    )


def prelu(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Parametric ReLU, f(x) = x for x > 0 and a * x otherwise, with a learnable slope a.

    Args:
        x: input of shape (N, C, ...) or any shape if a is a single slope.
        a: the slope, a scalar / shape (1,) array (one slope shared by all
           units), or shape (C,) with one slope per channel, broadcast along
           axis 1 of x (torch.nn.PReLU semantics; if x.ndim < 2 there is no
           channel axis and a must be a single slope).

    Source: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers";
    Georgia Tech 'Optimization' (learnable parameter, no saturation, no dead units).

    Example:
        >>> prelu(np.array([[-1.0, -1.0], [2.0, -3.0]]), a=np.array([0.1, 0.5]))   # one slope per column
        array([[-0.1, -0.5],
               [ 2. , -1.5]])
    """
    x = as_float_array(x, "x")
    return np.where(x > 0, x, _prelu_slope(x, a) * x)


def prelu_grad(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Derivative of PReLU w.r.t. x: 1 for x > 0, a (of x's channel) for x <= 0.

    Notes:
        At x = 0 torch.autograd returns a (its kernel tests x > 0).

    Example:
        >>> prelu_grad(np.array([[-1.0, -1.0], [2.0, -3.0]]), a=np.array([0.1, 0.5]))
        array([[0.1, 0.5],
               [1. , 0.5]])
    """
    x = as_float_array(x, "x")
    slope = _prelu_slope(x, a)
    return np.where(x > 0, 1, slope).astype(np.result_type(x, slope), copy=False)


def prelu_grad_a(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Elementwise derivative of PReLU w.r.t. its slope: d f(x_i) / d a_c(i) = 0 if x_i > 0 else x_i.

    Returns an array of x's shape: entry i is the partial derivative of output
    i w.r.t. the slope of i's channel c(i).  The gradient of a loss w.r.t. a is
    therefore ``(dout * prelu_grad_a(x, a))`` summed over every axis except
    the channel axis 1 (or over all axes for a single slope); see
    ``dlcourse.layers.prelu_backward``.  ``a`` is only validated.

    Example:
        >>> x = np.array([[-1.0, -1.0], [2.0, -3.0]])
        >>> prelu_grad_a(x, a=np.array([0.1, 0.5]))
        array([[-1., -1.],
               [ 0., -3.]])
        >>> prelu_grad_a(x, a=np.array([0.1, 0.5])).sum(axis=0)    # dL/da for dout = 1
        array([-1., -4.])
    """
    x = as_float_array(x, "x")
    _prelu_slope(x, a)
    return np.where(x > 0, 0, x)
