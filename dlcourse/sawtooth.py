"""Depth against width on a sawtooth: k layers of 2 ReLUs against one wide layer (Telgarsky 2016).

The tent map on [0, 1], from two ReLU units,

    t(x) = 2 relu(x) - 4 relu(x - 1/2),

goes from 0 up to 1 and back to 0.  Its k-fold composition t^k is a sawtooth
with 2^k linear pieces of slopes +-2^k, kinks at i / 2^k (i = 1, ..., 2^k - 1),
computed by a network with k hidden layers of 2 units (:func:`tent_network`).

One hidden layer of m ReLU units computes

    f(x) = c + sum_j a_j relu(w_j x + b_j),

a piecewise linear function of x with at most one kink per unit, so at most
m + 1 pieces: the sawtooth needs m >= 2^k - 1 (Telgarsky's counting
argument).  One more is needed: with exactly one unit per kink, each unit
changes the slope by +-2^(k+1) at its kink, and the slope of the first piece
is a sum of such changes (from the units that face left, w_j < 0), a
multiple of 2^(k+1), never 2^k; so some unit must be linear on [0, 1] (its
kink at 0, say), and m >= 2^k.  m = 2^k units relu(x - j / 2^k),
j = 0, ..., 2^k - 1, with the right output weights are exactly t^k.

:func:`shallow_relu_fit` measures this: for units relu(x - b_j) with the
kinks b_j given, the best output layer (c, a) is a linear least-squares
problem.

Source: Univ. of Macau 'Modern Techniques' (deeper and wider nets, Eldan and
Shamir 2016); M. Telgarsky, "Benefits of depth in neural networks" (COLT
2016), the sawtooth construction and the piece-counting bound; Adamczyk's
notes (universal approximation).
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_int
from dlcourse.layers import MLP

__all__ = ["count_pieces", "shallow_relu_fit", "tent_network"]

# the tent map as one hidden layer: h = relu(x W_in + b_in), t = h W_out
_W_IN, _B_IN, _W_OUT = np.array([[1.0, 1.0]]), np.array([0.0, -0.5]), np.array([[2.0], [-4.0]])


def tent_network(k: int) -> MLP:
    """The ReLU MLP with k hidden layers of 2 units that computes the sawtooth t^k on [0, 1].

    One tent is h = relu(x W_in + b_in), t = h W_out with W_in = [1, 1],
    b_in = [0, -1/2], W_out = [2, -4]^T.  Stacking k of them, the output layer
    of one tent and the input layer of the next merge into one linear layer
    W^l = W_out W_in, b^l = b_in (l = 2, ..., k); the last layer is W_out, bias 0.

    Args:
        k: the number of tents (hidden layers), >= 1.

    Returns:
        ``dlcourse.layers.MLP([1, 2, ..., 2, 1], "relu")`` with those weights.

    Example:
        >>> net = tent_network(2)                       # t(t(x)): up, down, up, down
        >>> net.forward(np.array([[0.0], [0.25], [0.5], [0.75], [1.0]])).ravel()
        array([0., 1., 0., 1., 0.])
    """
    k = check_int(k, "k", 1)
    net = MLP([1, *[2] * k, 1], "relu", "zeros", rng=np.random.default_rng(0))
    for layer in range(1, k + 2):
        net.params[f"W{layer}"] = _W_IN.copy() if layer == 1 else _W_OUT.copy() if layer == k + 1 else _W_OUT @ _W_IN
        net.params[f"b{layer}"] = np.zeros(1) if layer == k + 1 else _B_IN.copy()
    return net


def count_pieces(x: np.ndarray, y: np.ndarray, tol: float = 1e-6) -> int:
    """The number of linear pieces of the function sampled as y(x) on a grid: 1 + the number of slope changes.

    slope_i = (y_(i+1) - y_i) / (x_(i+1) - x_i); a kink between two grid
    intervals is |slope_(i+1) - slope_i| > tol.  A kink is seen only once if it
    falls on a grid point (e.g. kinks at i / 2^k on a grid of step 1 / 2^n,
    n >= k); between two grid points it shows up as two slope changes.

    Args:
        x: increasing grid points, 1-D, at least 2.
        y: the values at x, same shape.
        tol: smallest change of slope that counts (>= 0).

    Example:
        >>> x = np.linspace(0, 1, 9)
        >>> count_pieces(x, np.abs(x - 0.5)), count_pieces(x, 3 * x + 1)
        (2, 1)
    """
    x, y = as_float_array(x, "x"), as_float_array(y, "y")
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if not (np.diff(x) > 0).all():
        raise ValueError("x must be strictly increasing")
    slopes = np.diff(y) / np.diff(x)
    return 1 + int((np.abs(np.diff(slopes)) > tol).sum())


def shallow_relu_fit(x: np.ndarray, target: np.ndarray, kinks: np.ndarray) -> tuple[np.ndarray, float]:
    """Fit one hidden layer of ReLUs with the given kinks to ``target``: the best output layer, by least squares.

    H[n, j] = relu(x_n - b_j)  (unit j bends at x = b_j),  F = [H, 1],
    (a, c) = argmin ||F (a, c) - y||^2,  f = F (a, c),
    RMS error = sqrt(mean_n (f_n - y_n)^2).

    Only the output weights a and the output bias c are fitted: the kinks
    (the hidden biases -b_j, with input weights 1) stay where they are given.
    A kink at or left of min(x) makes a unit linear on the grid.

    Args:
        x: the inputs, shape (n,), n >= 1.
        target: y, shape (n,).
        kinks: b, shape (m,), m >= 1.

    Returns:
        (f, rms): the fitted values (n,) and their RMS error.

    Example:
        >>> x = np.linspace(0, 1, 5)
        >>> f, rms = shallow_relu_fit(x, np.abs(x - 0.5), kinks=np.array([0.0, 0.5]))
        >>> f.round(12) + 0.0, bool(rms < 1e-12)
        (array([0.5 , 0.25, 0.  , 0.25, 0.5 ]), True)
    """
    x, target, kinks = as_float_array(x, "x"), as_float_array(target, "target"), as_float_array(kinks, "kinks")
    if x.ndim != 1 or x.shape != target.shape or len(x) == 0:
        raise ValueError(f"x and target must be 1-D of the same length >= 1, got {x.shape} and {target.shape}")
    if kinks.ndim != 1 or len(kinks) == 0:
        raise ValueError(f"kinks must be 1-D with at least one entry, got shape {kinks.shape}")
    H = np.maximum(x[:, None] - kinks[None, :], 0.0)
    F = np.hstack([H, np.ones((len(x), 1))])
    coefficients, *_ = np.linalg.lstsq(F, target, rcond=None)
    f = F @ coefficients
    return f, float(np.sqrt(np.mean((f - target) ** 2)))
