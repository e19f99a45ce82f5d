"""Experiments students run on networks: how the spread of the signals changes with depth.

``layer_spread(init, activation)`` sends a batch through a deep, bias-free
MLP initialized by a named rule and a gradient back down, and returns the
standard deviation of the activations and of the gradients at every layer:
the experiment of Glorot & Bengio (2010), which shows why the scale of the
initial weights must match the activation (Xavier for tanh and linear
layers, He for ReLU).  Its check target is ``experiments.layer_spread``.

The random numbers are drawn in a prescribed order (x, then W_1 ... W_depth,
then g), so that two implementations given the same generator build the same
network and their results can be compared value by value.

Sources: Georgia Tech CS 4644/7643 'Optimization' (activations shrink with
depth under small normal init; Xavier for tanh, He for ReLU); VU Amsterdam
DLVU lecture 4 'Tools of the trade' (keep the variance of the forward AND the
backward pass); Glorot & Bengio (2010); He et al. (2015).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dlcourse._checks import check_choice, check_int, check_rng
from dlcourse.activations import relu, relu_grad, tanh, tanh_grad

__all__ = ["SPREAD_ACTIVATIONS", "SPREAD_ACTIVATION_PAIRS", "SPREAD_INITS", "SPREAD_WEIGHT_STD", "layer_spread"]

# init name -> std of the N(0, std^2) entries of a square (width, width) weight matrix, where
# fan_in = fan_out = width.  Each is the std the dlcourse.init function of that name draws with
# (tests/test_experiments.py checks that they draw the same matrices from the same generator).
SPREAD_WEIGHT_STD: dict[str, Callable[[int], float]] = {
    "xavier_normal": lambda width: math.sqrt(2.0 / (width + width)),  # Glorot: sqrt(2 / (fan_in + fan_out))
    "he_normal": lambda width: math.sqrt(2.0) / math.sqrt(width),  # He: ReLU gain sqrt(2) / sqrt(fan_in)
    "normal_0.01": lambda width: 0.01,  # "small random numbers"
}


def _identity(z: np.ndarray) -> np.ndarray:
    return z


def _ones(z: np.ndarray) -> np.ndarray:
    return np.ones_like(z)


# activation name -> (f, f'), both evaluated at the pre-activation z; "linear" is no activation at all
SPREAD_ACTIVATION_PAIRS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "linear": (_identity, _ones),
}
SPREAD_INITS: tuple[str, ...] = tuple(SPREAD_WEIGHT_STD)
SPREAD_ACTIVATIONS: tuple[str, ...] = tuple(SPREAD_ACTIVATION_PAIRS)


def layer_spread(
    init: str,
    activation: str,
    depth: int = 20,
    width: int = 256,
    batch: int = 512,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Std of the activations and of the gradients, layer by layer, in a deep bias-free MLP.

    Draws, in this order (the order is part of the definition, so that two
    implementations given the same generator build the same network):

        x = rng.standard_normal((batch, width))                       input h_0
        W_l = rng.normal(0.0, std, size=(width, width)), l = 1..depth  one draw per layer, in order
        g = rng.standard_normal((batch, width))                       loss weights

    with std = sqrt(1 / width) for "xavier_normal" (Glorot: sqrt(2 / (fan_in +
    fan_out))), sqrt(2 / width) for "he_normal" (He, fan_in, ReLU gain sqrt(2))
    and 0.01 for "normal_0.01" (``SPREAD_WEIGHT_STD``).  Then

        forward:   z_l = h_{l-1} W_l,  h_l = f(z_l)                 l = 1..depth
        loss:      L = sum(h_depth * g)                             so dL/dh_depth = g
        backward:  dL/dz_l = dL/dh_l * f'(z_l),  dL/dh_{l-1} = dL/dz_l W_l^T

        activation_std[l - 1] = std(h_l)           (the output of layer l)
        gradient_std[l - 1]   = std(dL/dh_{l-1})   (the gradient w.r.t. layer l's input)

    Each std is taken over all batch * width entries with ddof = 0 (np.std).

    Args:
        init: "xavier_normal", "he_normal" or "normal_0.01".
        activation: "tanh", "relu" or "linear" (f(z) = z).
        depth: number of layers, >= 1 (default 20).
        width: units per layer, >= 1; every W is (width, width) (default 256).
        batch: number of input rows, >= 1 (default 512).
        rng: the generator to draw from; None means np.random.default_rng(0),
            so the default experiment is reproducible.

    Returns:
        (activation_std, gradient_std), two float64 arrays of shape (depth,).

    Notes:
        W has shape (fan_in, fan_out) and a layer computes h W, torch's
        nn.Linear(bias=False) with weight = W^T.  torch.std defaults to the
        unbiased estimate (correction=1); here it is the population std
        (torch: correction=0).  relu'(0) = 0 as in torch.

    Source: Georgia Tech CS 4644/7643 'Optimization' (the Glorot & Bengio
    experiment: activations of a deep tanh net shrink under N(0, 0.01^2));
    VU Amsterdam DLVU lecture 4 'Tools of the trade' (forward and backward
    variance); Glorot & Bengio (2010); He et al. (2015).

    Example:
        >>> activation_std, gradient_std = layer_spread("he_normal", "relu", depth=3, width=4, batch=2,
        ...                                             rng=np.random.default_rng(0))
        >>> activation_std.shape, gradient_std.shape
        ((3,), (3,))
        >>> layer_spread("normal_0.01", "tanh", depth=4)[0].round(6)  # shrinks ~6x per layer
        array([0.1564  , 0.024875, 0.003972, 0.000631])
        >>> layer_spread("xavier_normal", "linear", depth=4)[0].round(3)  # stays ~1
        array([1.002, 0.997, 0.995, 0.987])
    """
    check_choice(init, "init", SPREAD_INITS)
    check_choice(activation, "activation", SPREAD_ACTIVATIONS)
    depth, width, batch = check_int(depth, "depth", 1), check_int(width, "width", 1), check_int(batch, "batch", 1)
    rng = np.random.default_rng(0) if rng is None else check_rng(rng)
    f, f_grad = SPREAD_ACTIVATION_PAIRS[activation]
    std = SPREAD_WEIGHT_STD[init](width)

    h = rng.standard_normal((batch, width))
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))

    pre_activations, activation_std = [], np.empty(depth)
    for layer, W in enumerate(weights):
        z = h @ W
        h = f(z)
        pre_activations.append(z)
        activation_std[layer] = h.std()
    gradient_std = np.empty(depth)
    dh = g
    for layer in reversed(range(depth)):
        dz = dh * f_grad(pre_activations[layer])
        dh = dz @ weights[layer].T
        gradient_std[layer] = dh.std()
    return activation_std, gradient_std
