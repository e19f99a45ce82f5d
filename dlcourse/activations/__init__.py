"""Activation functions and their derivatives, elementwise on numpy arrays.

Every activation ``f`` comes as a pair ``f(x, ...)`` / ``f_grad(x, ...)``: the
value and the derivative ``df/dx`` evaluated elementwise (the diagonal of the
Jacobian).  A backward pass multiplies the upstream gradient by ``f_grad(x)``.
``ACTIVATIONS`` maps each parameter-free-by-default name to its pair; layers
and the MLP look activations up there so nothing is written twice.

Conventions follow ``torch.nn.functional`` and ``torch.autograd``, including
the value of the derivative at the kink ``x = 0`` (see each Notes section).
All functions are written so that no intermediate overflows: they are quiet
(no RuntimeWarning) and finite for every finite input of moderate size
(``|x| <= 1e4`` is tested; GELU's ``x**3`` is fine up to ``|x| ~ 1e100``).

One module per family: :mod:`~dlcourse.activations.saturating` (sigmoid,
tanh), :mod:`~dlcourse.activations.rectifiers` (ReLU, leaky ReLU, PReLU),
:mod:`~dlcourse.activations.exponential` (ELU, SELU),
:mod:`~dlcourse.activations.smooth` (GELU, SiLU, softplus, Mish).

Example:
    >>> import numpy as np
    >>> from dlcourse.activations import ACTIVATIONS
    >>> f, f_grad = ACTIVATIONS["relu"]
    >>> x = np.array([-2.0, 3.0])
    >>> f(x), f_grad(x)
    (array([0., 3.]), array([0., 1.]))
    >>> upstream = np.array([5.0, 5.0])
    >>> upstream * f_grad(x)                   # a backward pass through the activation
    array([0., 5.])

Sources: Georgia Tech CS 4644/7643 'Optimization' (properties: min/max,
saturation, gradients, cost); Univ. of Macau 'Modern Techniques' (vanishing
gradients through sigmoid, ReLU, dead neurons, leaky ReLU and friends).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse.activations.exponential import SELU_ALPHA, SELU_SCALE, elu, elu_grad, selu, selu_grad
from dlcourse.activations.rectifiers import (
    leaky_relu,
    leaky_relu_grad,
    prelu,
    prelu_grad,
    prelu_grad_a,
    relu,
    relu_grad,
)
from dlcourse.activations.saturating import sigmoid, sigmoid_grad, tanh, tanh_grad
from dlcourse.activations.smooth import (
    gelu,
    gelu_grad,
    mish,
    mish_grad,
    silu,
    silu_grad,
    softplus,
    softplus_grad,
)

__all__ = [
    "ACTIVATIONS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "elu",
    "elu_grad",
    "gelu",
    "gelu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "mish",
    "mish_grad",
    "prelu",
    "prelu_grad",
    "prelu_grad_a",
    "relu",
    "relu_grad",
    "selu",
    "selu_grad",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "silu_grad",
    "softplus",
    "softplus_grad",
    "tanh",
    "tanh_grad",
]

# One table so layers and the MLP never re-list activations.  PReLU is not
# here: its slope a is a learnable parameter, not a hyperparameter with a
# default, so it needs its own layer (dlcourse.layers.prelu_forward).
ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "gelu": (gelu, gelu_grad),
    "selu": (selu, selu_grad),
    "silu": (silu, silu_grad),
    "mish": (mish, mish_grad),
    "softplus": (softplus, softplus_grad),
}
