"""Activation layers: each activation of ``dlcourse.activations`` as a forward/backward pair.

An activation f acts elementwise, so its layer is two short functions side
by side::

    f_forward(x, ...)        -> (out, cache)   out = f(x),  cache = x (and f's hyperparameters)
    f_backward(dout, cache)  -> dx             dx = dout * f_grad(x)

The backward is the chain rule for an elementwise function: the Jacobian is
diagonal, so dL/dx = dL/dout * f'(x) entry by entry, with f' = ``f_grad`` from
``dlcourse.activations``.  ``x``, ``out``, ``dout`` and ``dx`` all have the
same shape (any shape).  The forward caches the input x, not the output:
f'(x) is the derivative at the input (for sigmoid and tanh it can also be
written from the output, s (1 - s) and 1 - t^2; the values are the same).

PReLU has a learnable slope, so its backward also returns the slope's gradient.
``ACTIVATION_LAYERS`` maps each name of ``ACTIVATIONS`` to its pair (the MLP
looks layers up there).  ``dlcourse.layers`` re-exports everything here.

Sources: Georgia Tech CS 4644/7643 'Optimization' (modular backprop: a layer
multiplies the upstream gradient by its local gradient); A. Karpathy,
micrograd (forward and local backward written next to each other).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse._checks import as_float_array, check_same_shape
from dlcourse.activations import (
    elu,
    elu_grad,
    gelu,
    gelu_grad,
    leaky_relu,
    leaky_relu_grad,
    mish,
    mish_grad,
    prelu,
    prelu_grad,
    prelu_grad_a,
    relu,
    relu_grad,
    selu,
    selu_grad,
    sigmoid,
    sigmoid_grad,
    silu,
    silu_grad,
    softplus,
    softplus_grad,
    tanh,
    tanh_grad,
)

__all__ = [
    "ACTIVATION_LAYERS", "elu_backward", "elu_forward", "gelu_backward", "gelu_forward", "leaky_relu_backward",
    "leaky_relu_forward", "mish_backward", "mish_forward", "prelu_backward", "prelu_forward", "relu_backward",
    "relu_forward", "selu_backward", "selu_forward", "sigmoid_backward", "sigmoid_forward", "silu_backward",
    "silu_forward", "softplus_backward", "softplus_forward", "tanh_backward", "tanh_forward",
]


def _checked_dout(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dout as a float array of x's shape (numpy would broadcast another shape into a wrong dx)."""
    dout = as_float_array(dout, "dout")
    check_same_shape(x, dout, "x", "dout")
    return dout


# ---------------------------------------------------------- sigmoid, tanh
def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid layer, out = sigmoid(x) = 1 / (1 + exp(-x)); cache = x.

    >>> out, cache = sigmoid_forward(np.array([0.0, 2.0]))
    >>> out.round(4)
    array([0.5   , 0.8808])
    """
    x = as_float_array(x, "x")
    return sigmoid(x), x


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * sigmoid_grad(x) = dout * s (1 - s), s = sigmoid(x).

    >>> sigmoid_backward(np.array([1.0, 2.0]), sigmoid_forward(np.array([0.0, 0.0]))[1])
    array([0.25, 0.5 ])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * sigmoid_grad(x)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tanh layer, out = tanh(x); cache = x.

    >>> out, cache = tanh_forward(np.array([0.0, 1.0]))
    >>> out.round(4)
    array([0.    , 0.7616])
    """
    x = as_float_array(x, "x")
    return tanh(x), x


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * tanh_grad(x) = dout * (1 - tanh(x)^2).

    >>> tanh_backward(np.array([2.0, 2.0]), tanh_forward(np.array([0.0, 1.0]))[1]).round(4)
    array([2.    , 0.8399])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * tanh_grad(x)


# ------------------------------------------------------- rectifier family
def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU layer, out = relu(x) = max(0, x), elementwise.

    Args:
        x: input of any shape.

    Returns:
        out (the shape of x) and cache = x, what the backward needs.

    >>> out, cache = relu_forward(np.array([-2.0, 0.0, 3.0]))
    >>> out
    array([0., 0., 3.])
    """
    x = as_float_array(x, "x")
    return relu(x), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * relu_grad(x) = dout * [x > 0]: the gate passes dout where its input was positive.

    Args:
        dout: upstream gradient dL/dout, the shape of x.
        cache: x, from ``relu_forward``.

    Returns:
        dx = dL/dx, the shape of x.  relu'(0) = 0, as torch.

    >>> relu_backward(np.array([5.0, 5.0, 5.0]), relu_forward(np.array([-2.0, 0.0, 3.0]))[1])
    array([0., 0., 5.])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * relu_grad(x)


def leaky_relu_forward(x: np.ndarray, negative_slope: float = 0.01) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU layer, out = leaky_relu(x) = x for x > 0, negative_slope * x otherwise.

    Args:
        x: input of any shape.
        negative_slope: the slope for x <= 0 (default 0.01, as torch).

    Returns:
        out and cache = (x, negative_slope): the backward needs the same slope.

    >>> out, cache = leaky_relu_forward(np.array([-2.0, 3.0]), negative_slope=0.1)
    >>> out
    array([-0.2,  3. ])
    """
    x = as_float_array(x, "x")
    return leaky_relu(x, negative_slope), (x, negative_slope)


def leaky_relu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout * leaky_relu_grad(x, negative_slope) = dout * (1 if x > 0 else negative_slope).

    >>> leaky_relu_backward(np.array([1.0, 1.0]), leaky_relu_forward(np.array([-2.0, 3.0]), 0.1)[1])
    array([0.1, 1. ])
    """
    x, negative_slope = cache
    dout = _checked_dout(dout, x)
    return dout * leaky_relu_grad(x, negative_slope)


# ------------------------------------------------------ exponential units
def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, tuple]:
    """ELU layer, out = elu(x) = x for x > 0, alpha (e^x - 1) otherwise; cache = (x, alpha).

    Args: x of any shape; alpha, the saturation value for x -> -inf (default 1.0, as torch).

    >>> out, cache = elu_forward(np.array([-1.0, 2.0]))
    >>> out.round(4)
    array([-0.6321,  2.    ])
    """
    x = as_float_array(x, "x")
    return elu(x, alpha), (x, alpha)


def elu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout * elu_grad(x, alpha) = dout * (1 if x > 0 else alpha e^x).

    >>> elu_backward(np.array([1.0, 1.0]), elu_forward(np.array([-1.0, 2.0]))[1]).round(4)
    array([0.3679, 1.    ])
    """
    x, alpha = cache
    dout = _checked_dout(dout, x)
    return dout * elu_grad(x, alpha)


def selu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SELU layer, out = selu(x) = scale * elu(x, alpha) with torch's constants; cache = x.

    >>> out, cache = selu_forward(np.array([-1.0, 1.0]))
    >>> out.round(4)
    array([-1.1113,  1.0507])
    """
    x = as_float_array(x, "x")
    return selu(x), x


def selu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * selu_grad(x) = dout * scale * (1 if x > 0 else alpha e^x).

    >>> selu_backward(np.array([1.0, 1.0]), selu_forward(np.array([-1.0, 1.0]))[1]).round(4)
    array([0.6468, 1.0507])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * selu_grad(x)


# ----------------------------------------------------------- smooth units
def gelu_forward(x: np.ndarray, approximate: str = "none") -> tuple[np.ndarray, tuple]:
    """GELU layer, out = gelu(x) = x Phi(x), Phi the standard normal CDF; cache = (x, approximate).

    Args: x of any shape; approximate, "none" (exact, default) or "tanh" (as torch.nn.functional.gelu).

    >>> out, cache = gelu_forward(np.array([-1.0, 1.0]))
    >>> out.round(4)
    array([-0.1587,  0.8413])
    """
    x = as_float_array(x, "x")
    return gelu(x, approximate), (x, approximate)


def gelu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout * gelu_grad(x, approximate) = dout * (Phi(x) + x phi(x)) for the exact GELU.

    >>> gelu_backward(np.array([1.0, 1.0]), gelu_forward(np.array([-1.0, 1.0]))[1]).round(4)
    array([-0.0833,  1.0833])
    """
    x, approximate = cache
    dout = _checked_dout(dout, x)
    return dout * gelu_grad(x, approximate)


def silu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SiLU (swish) layer, out = silu(x) = x sigmoid(x); cache = x.

    >>> out, cache = silu_forward(np.array([-1.0, 1.0]))
    >>> out.round(4)
    array([-0.2689,  0.7311])
    """
    x = as_float_array(x, "x")
    return silu(x), x


def silu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * silu_grad(x) = dout * s (1 + x (1 - s)), s = sigmoid(x).

    >>> silu_backward(np.array([1.0, 1.0]), silu_forward(np.array([-1.0, 1.0]))[1]).round(4)
    array([0.0723, 0.9277])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * silu_grad(x)


def mish_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mish layer, out = mish(x) = x tanh(softplus(x)); cache = x.

    >>> out, cache = mish_forward(np.array([-1.0, 1.0]))
    >>> out.round(4)
    array([-0.3034,  0.8651])
    """
    x = as_float_array(x, "x")
    return mish(x), x


def mish_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * mish_grad(x) = dout * (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)).

    >>> mish_backward(np.array([1.0, 1.0]), mish_forward(np.array([-1.0, 1.0]))[1]).round(4)
    array([0.0592, 1.049 ])
    """
    x = cache
    dout = _checked_dout(dout, x)
    return dout * mish_grad(x)


def softplus_forward(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> tuple[np.ndarray, tuple]:
    """Softplus layer, out = softplus(x) = log(1 + exp(beta x)) / beta (x where beta x > threshold).

    Args: x of any shape; beta > 0 (default 1.0) and threshold (default 20.0), as torch.
    Returns out and cache = (x, beta, threshold).

    >>> out, cache = softplus_forward(np.array([0.0, 30.0]))
    >>> out.round(4)
    array([ 0.6931, 30.    ])
    """
    x = as_float_array(x, "x")
    return softplus(x, beta, threshold), (x, beta, threshold)


def softplus_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout * softplus_grad(x, beta, threshold) = dout * sigmoid(beta x) (1 where beta x > threshold).

    >>> softplus_backward(np.array([1.0, 1.0]), softplus_forward(np.array([0.0, 30.0]))[1])
    array([0.5, 1. ])
    """
    x, beta, threshold = cache
    dout = _checked_dout(dout, x)
    return dout * softplus_grad(x, beta, threshold)


# ------------------------------------------------------------------ PReLU
def prelu_forward(x: np.ndarray, a: np.ndarray | float) -> tuple[np.ndarray, tuple]:
    """PReLU layer, out = x for x > 0, a x otherwise, with a learnable slope a.

    Args:
        x: (N, C, ...) input (any shape if a is a single slope).
        a: the slope, a scalar / shape (1,) or shape (C,) with one slope per
           channel on axis 1 (torch.nn.PReLU).

    Returns:
        out (shape of x) and cache = (x, a).

    >>> out, cache = prelu_forward(np.array([[-2.0, -2.0], [1.0, 1.0]]), np.array([0.1, 0.5]))
    >>> out
    array([[-0.2, -1. ],
           [ 1. ,  1. ]])
    """
    x, a = as_float_array(x, "x"), as_float_array(a, "a")
    return prelu(x, a), (x, a)


def prelu_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Backward of the PReLU layer: the gradients for the input and for the slope.

    dx = dout * prelu_grad(x, a) = dout * (1 if x > 0 else a),
    da_c = sum over the units i of channel c of dout_i * prelu_grad_a(x, a)_i
         = sum over those units of dout_i * (0 if x_i > 0 else x_i)
    (every unit of a channel shares a_c, so their contributions add up).

    Returns:
        (dx, da) with the shapes of x and a.

    >>> x, a = np.array([[-2.0, -2.0], [1.0, -3.0]]), np.array([0.1, 0.5])
    >>> dx, da = prelu_backward(np.ones((2, 2)), prelu_forward(x, a)[1])
    >>> dx, da
    (array([[0.1, 0.5],
           [1. , 0.5]]), array([-2., -5.]))
    """
    x, a = cache
    dout = _checked_dout(dout, x)
    dx = dout * prelu_grad(x, a)
    da_per_unit = dout * prelu_grad_a(x, a)
    if a.size == 1 and a.ndim <= 1:  # one slope shared by every unit
        da = da_per_unit.sum().reshape(a.shape)
    else:  # one slope per channel (axis 1): sum over every other axis
        da = da_per_unit.sum(axis=tuple(axis for axis in range(x.ndim) if axis != 1))
    return dx, da


# One table, so that the MLP and the widgets never list the activation layers again.
ACTIVATION_LAYERS: dict[str, tuple[Callable[..., tuple[np.ndarray, object]], Callable[..., np.ndarray]]] = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
    "gelu": (gelu_forward, gelu_backward),
    "selu": (selu_forward, selu_backward),
    "silu": (silu_forward, silu_backward),
    "mish": (mish_forward, mish_backward),
    "softplus": (softplus_forward, softplus_backward),
}
