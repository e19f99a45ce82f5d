"""Functional layers with explicit caches, and networks built from them: the MLP and a two-layer net.

Every layer is a pair ``X_forward(...) -> (out, cache)`` and
``X_backward(dout, cache) -> grads``: the forward pass caches what the
backward pass needs, the backward pass multiplies the upstream gradient
``dout = dL/dout`` by the local Jacobian (the modular gate API of the Georgia
Tech 'Optimization' lecture).  Nothing is mutated; a cache holds the inputs
(and hyperparameters) the backward needs.

Shapes: a batch is ``x`` of shape (N, features); ``W`` has shape
(fan_in, fan_out) and a linear layer computes ``x @ W + b`` (torch's
nn.Linear stores ``weight = W.T``).

Here: the linear layer, inverted dropout, ``MLP`` and ``two_layer_net``.
The activation layers (``relu_forward`` / ``relu_backward``, ..., PReLU and
the table ``ACTIVATION_LAYERS``) live in ``dlcourse.activation_layers`` and
the losses (``(loss, dinput)`` with torch's mean reduction) and the softmax
in ``dlcourse.losses``; both are re-exported here, so
``from dlcourse.layers import MLP, relu_forward, softmax_cross_entropy`` works.

Sources: Georgia Tech CS 4644/7643 'Optimization'; J. Adamczyk, Deep learning
lecture notes (backprop equations for an MLP); VU Amsterdam DLVU lecture 4
'Tools of the trade' (dropout); Univ. of Macau 'Modern Techniques'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlcourse import init as _init
from dlcourse._checks import as_float_array, check_choice, check_range, check_rng, check_same_shape
from dlcourse.activation_layers import (
    ACTIVATION_LAYERS,
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    mish_backward,
    mish_forward,
    prelu_backward,
    prelu_forward,
    relu_backward,
    relu_forward,
    selu_backward,
    selu_forward,
    sigmoid_backward,
    sigmoid_forward,
    silu_backward,
    silu_forward,
    softplus_backward,
    softplus_forward,
    tanh_backward,
    tanh_forward,
)
from dlcourse.activations import ACTIVATIONS
from dlcourse.losses import (
    bce_loss,
    bce_with_logits_loss,
    log_softmax,
    mae_loss,
    mse_loss,
    softmax,
    softmax_cross_entropy,
)

__all__ = [
    "ACTIVATION_LAYERS", "MLP", "bce_loss", "bce_with_logits_loss", "dropout_backward", "dropout_forward",
    "elu_backward", "elu_forward", "gelu_backward", "gelu_forward", "leaky_relu_backward", "leaky_relu_forward",
    "linear_backward", "linear_forward", "log_softmax", "mae_loss", "mish_backward", "mish_forward", "mse_loss",
    "prelu_backward", "prelu_forward", "relu_backward", "relu_forward", "selu_backward", "selu_forward",
    "sigmoid_backward", "sigmoid_forward", "silu_backward", "silu_forward", "softmax", "softmax_cross_entropy",
    "softplus_backward", "softplus_forward", "tanh_backward", "tanh_forward", "two_layer_net",
]


# -------------------------------------------------------------------- linear
def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer, out = x W + b.

    Args:
        x: (N, fan_in) batch.
        W: (fan_in, fan_out) weights (torch's nn.Linear.weight transposed).
        b: (fan_out,) bias, broadcast over the batch.

    Returns:
        out (N, fan_out) and cache = (x, W).

    Example:
        >>> x = np.array([[1.0, 2.0]])
        >>> W, b = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), np.array([0.0, 0.0, 0.5])
        >>> out, cache = linear_forward(x, W, b)
        >>> out
        array([[1. , 2. , 3.5]])
    """
    x, W, b = as_float_array(x, "x"), as_float_array(W, "W"), as_float_array(b, "b")
    if x.ndim != 2 or W.ndim != 2 or b.shape != W.shape[1:]:
        raise ValueError(
            f"expected x (N, fan_in), W (fan_in, fan_out), b (fan_out,); got x {x.shape}, "
            f"W {W.shape}, b {b.shape}"
        )
    if x.shape[1] != W.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features (shape {x.shape}) but W expects fan_in = {W.shape[0]} "
            f"(shape {W.shape}); W must have shape (x.shape[1], fan_out)"
        )
    return x @ W + b, (x, W)


def linear_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of the affine layer: dx = dout W^T, dW = x^T dout, db = sum_n dout.

    Args:
        dout: (N, fan_out) upstream gradient.
        cache: from ``linear_forward``.

    Returns:
        (dx, dW, db) with the shapes of x, W, b.  dW and db sum over the batch
        (a loss with mean reduction has already divided dout by N).

    Example:
        >>> x, W = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> _, cache = linear_forward(x, W, np.zeros(3))
        >>> dx, dW, db = linear_backward(np.array([[1.0, 0.0, 2.0]]), cache)
        >>> dx, db
        (array([[3., 2.]]), array([1., 0., 2.]))
        >>> dW
        array([[1., 0., 2.],
               [2., 0., 4.]])
    """
    x, W = cache
    dout = as_float_array(dout, "dout")
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dout must have the shape of out, {(x.shape[0], W.shape[1])}, got {dout.shape}")
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# ------------------------------------------------------------------ dropout
def dropout_forward(
    x: np.ndarray, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverted dropout: zero each unit with probability p, scale survivors by 1/(1-p).

    Training:  m_i ~ Bernoulli(1 - p) i.i.d.,  out = x * m / (1 - p), so
    E[out] = x and evaluation needs no rescaling.  Evaluation: out = x.

    Args:
        x: input of any shape.
        p: probability of DROPPING a unit, in [0, 1] (torch convention).
           p = 1 drops everything and returns zeros (as torch; no 1/0).
        training: apply dropout (True) or the identity (False).
        rng: numpy Generator for the mask; required when training.

    Returns:
        out and cache: the multiplier m / (1 - p) (shape of x, x's dtype), or
        None in evaluation, where out is x itself (not a copy).

    Source: Srivastava et al. (2014), "Dropout: a simple way to prevent neural
    networks from overfitting"; VU Amsterdam DLVU lecture 4 'Tools of the trade'.

    Notes:
        In Srivastava et al. p is the probability of KEEPING a unit and the
        weights are scaled by p at test time; torch (and we) use p = drop
        probability and scale by 1/(1-p) during training ("inverted" dropout).

    Example:
        >>> out, cache = dropout_forward(np.ones(6), p=0.5, rng=np.random.default_rng(0))
        >>> out
        array([2., 0., 0., 0., 2., 2.])
        >>> dropout_forward(np.ones(6), p=0.5, training=False)
        (array([1., 1., 1., 1., 1., 1.]), None)
    """
    x = as_float_array(x, "x")
    p = check_range(p, "p", 0.0, 1.0)
    if not training:
        return x, None
    keep = check_rng(rng).random(x.shape) >= p  # P(U >= p) = 1 - p for U ~ U[0, 1)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    multiplier = (keep * scale).astype(x.dtype, copy=False)
    return x * multiplier, multiplier


def dropout_backward(dout: np.ndarray, cache: np.ndarray | None) -> np.ndarray:
    """Backward of inverted dropout: dx = dout * m / (1 - p), with the forward's mask m; dout itself in evaluation.

    Example:
        >>> _, cache = dropout_forward(np.ones(6), p=0.5, rng=np.random.default_rng(0))
        >>> dropout_backward(np.full(6, 3.0), cache)
        array([6., 0., 0., 0., 6., 6.])
    """
    dout = as_float_array(dout, "dout")
    if cache is None:
        return dout
    check_same_shape(cache, dout, "x", "dout")
    return dout * cache


# ---------------------------------------------------------------------- MLP
# The initializers of dlcourse.init that take (shape, rng), by name.
_INITIALIZERS: dict[str, Callable[[tuple[int, int], np.random.Generator], np.ndarray]] = {
    "zeros": _init.zeros, "normal": _init.normal, "uniform": _init.uniform,
    "xavier_uniform": _init.xavier_uniform, "xavier_normal": _init.xavier_normal,
    "he_uniform": _init.he_uniform, "he_normal": _init.he_normal,
    "lecun_normal": _init.lecun_normal, "torch_linear_default": _init.torch_linear_default,
}


class MLP:
    """Multi-layer perceptron: (linear -> activation) * (L - 1) -> linear [-> output activation].

    Forward:  h^0 = x,  z^l = h^{l-1} W^l + b^l,  h^l = f(z^l).
    Backward (Adamczyk notes): delta^l = dL/dz^l = (delta^{l+1} W^{l+1 T}) * f'(z^l),
    dL/dW^l = h^{l-1 T} delta^l,  dL/db^l = sum_n delta^l.

    Args:
        sizes: layer widths [d_in, d_hidden..., d_out], at least two positive ints.
        activation: hidden activation, a name in dlcourse.activations.ACTIVATIONS
                    (with its default hyperparameters).
        init: weight initializer: a name of a dlcourse.init function taking
              (shape, rng) (e.g. "he_normal", "xavier_uniform",
              "torch_linear_default") or a callable(shape, rng) -> array of
              shape (fan_in, fan_out).  Biases start at zero.
        rng: numpy Generator used for the weights (keyword-only and required:
             an implicit default seed would make every "random" MLP identical).
        output_activation: None (identity: logits for a softmax/BCE-with-logits
             loss) or an ACTIVATIONS name.

    Attributes:
        params: {"W1": (d_0, d_1), "b1": (d_1,), "W2": ...}.
        grads: same keys, filled by ``backward``.

    Example:
        >>> mlp = MLP([4, 8, 3], "relu", rng=np.random.default_rng(0))
        >>> mlp
        MLP(sizes=[4, 8, 3], activation='relu', output_activation=None)
        >>> logits = mlp.forward(np.ones((5, 4)))
        >>> logits.shape, mlp.backward(np.ones((5, 3))).shape
        ((5, 3), (5, 4))
        >>> {key: grad.shape for key, grad in mlp.grads.items()}
        {'W1': (4, 8), 'b1': (8,), 'W2': (8, 3), 'b2': (3,)}
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        init: str | Callable[[tuple[int, int], np.random.Generator], np.ndarray] = "he_normal",
        *,
        rng: np.random.Generator,
        output_activation: str | None = None,
    ) -> None:
        if len(sizes) < 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(f"sizes must be at least two positive integers [d_in, ..., d_out], got {sizes!r}")
        check_choice(activation, "activation", tuple(ACTIVATIONS))
        if output_activation is not None:
            check_choice(output_activation, "output_activation", tuple(ACTIVATIONS))
        if isinstance(init, str):
            init = _INITIALIZERS[check_choice(init, "init", tuple(_INITIALIZERS))]
        elif not callable(init):
            raise TypeError(f"init must be a name in {tuple(_INITIALIZERS)} or a callable(shape, rng), got {init!r}")
        rng = check_rng(rng)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation, self.output_activation = activation, output_activation
        self.params: dict[str, np.ndarray] = {}
        for layer, shape in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True), start=1):
            W = np.asarray(init(shape, rng), dtype=np.float64)
            if W.shape != shape:
                raise ValueError(f"init returned shape {W.shape} for layer {layer}, expected {shape}")
            self.params[f"W{layer}"], self.params[f"b{layer}"] = W, np.zeros(shape[1])
        self.grads: dict[str, np.ndarray] = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._caches: list[tuple[tuple, object]] | None = None

    @property
    def num_layers(self) -> int:
        """Number of linear layers."""
        return len(self.sizes) - 1

    def _activation_of(self, layer: int) -> str | None:
        return self.activation if layer < self.num_layers else self.output_activation

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output for a batch x of shape (N, sizes[0]); caches what ``backward`` needs."""
        caches = []
        out = x
        for layer in range(1, self.num_layers + 1):
            out, linear_cache = linear_forward(out, self.params[f"W{layer}"], self.params[f"b{layer}"])
            act_cache = None
            if (name := self._activation_of(layer)) is not None:
                out, act_cache = ACTIVATION_LAYERS[name][0](out)
            caches.append((linear_cache, act_cache))
        self._caches = caches
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Backpropagate dL/dout of the last ``forward``; fills ``grads`` and returns dL/dx."""
        if self._caches is None:
            raise RuntimeError("call forward(x) before backward(dout): there is nothing cached")
        for layer in range(self.num_layers, 0, -1):
            linear_cache, act_cache = self._caches[layer - 1]
            if act_cache is not None:
                dout = ACTIVATION_LAYERS[self._activation_of(layer)][1](dout, act_cache)
            dout, self.grads[f"W{layer}"], self.grads[f"b{layer}"] = linear_backward(dout, linear_cache)
        return dout

    __call__ = forward

    def __repr__(self) -> str:
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")


# ------------------------------------------------------- two-layer network
_TWO_LAYER_KEYS = ("W1", "b1", "W2", "b2")


def two_layer_net(X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a two-layer ReLU network with softmax cross-entropy.

    Forward:  z1 = X W1 + b1,  h = relu(z1),  s = h W2 + b2,
              L = -(1/N) sum_n log softmax(s_n)[y_n].
    Backward: ds = (softmax(s) - onehot(y)) / N,  dW2 = h^T ds,  db2 = sum_n ds,
              dh = ds W2^T,  dz1 = dh * [z1 > 0],  dW1 = X^T dz1,  db1 = sum_n dz1.

    Args:
        X: (N, D) inputs.
        y: (N,) integer class labels in [0, C).
        params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}; not modified.

    Returns:
        (loss, grads) with grads a dict with the keys and shapes of params.

    Notes:
        W has shape (fan_in, fan_out), torch's nn.Linear.weight transposed;
        the loss is torch's cross_entropy with reduction="mean".

    Source: Georgia Tech CS 4644/7643 'Optimization' (modular backprop);
    J. Adamczyk, Deep learning lecture notes (backprop equations for an MLP).

    Example:
        >>> params = {"W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2),
        ...           "W2": np.array([[1.0, 0.0], [0.0, 1.0]]), "b2": np.zeros(2)}
        >>> loss, grads = two_layer_net(np.array([[2.0], [-1.0]]), np.array([0, 1]), params)
        >>> round(loss, 4)
        0.2201
        >>> grads["W2"].round(4)
        array([[-0.1192,  0.1192],
               [ 0.1345, -0.1345]])
    """
    if not isinstance(params, dict) or set(params) != set(_TWO_LAYER_KEYS):
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with exactly the keys {_TWO_LAYER_KEYS}, got {keys}")
    z1, cache1 = linear_forward(X, params["W1"], params["b1"])
    h, relu_cache = relu_forward(z1)
    scores, cache2 = linear_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = linear_backward(dscores, cache2)
    dz1 = relu_backward(dh, relu_cache)
    _, dW1, db1 = linear_backward(dz1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
