"""Functional layers with explicit caches, losses, and a small MLP built from them.

Every layer is a pair ``X_forward(...) -> (out, cache)`` and
``X_backward(dout, cache) -> grads``: the forward pass caches what the
backward pass needs, the backward pass multiplies the upstream gradient
``dout = dL/dout`` by the local Jacobian (the modular gate API of the Georgia
Tech 'Optimization' lecture).  Nothing is mutated; caches are plain tuples.

Losses return ``(loss, dinput)`` with torch's default ``reduction="mean"``:
``loss`` is a Python float and ``dinput = dloss/dinput`` has the input's shape.

Shapes: a batch is ``x`` of shape (N, features); ``W`` has shape
(fan_in, fan_out) and a linear layer computes ``x @ W + b`` (torch's
nn.Linear stores ``weight = W.T``).

Sources: Georgia Tech CS 4644/7643 'Optimization'; J. Adamczyk, Deep learning
lecture notes (backprop equations for an MLP, losses); SDU summer school
'Gradient-Based Learning' (losses); Univ. of Macau 'Modern Techniques'.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse import init as _init
from dlcourse._checks import as_float_array, check_choice, check_range, check_rng, check_same_shape
from dlcourse.activations import ACTIVATIONS, prelu, prelu_grad, prelu_grad_a, sigmoid

__all__ = [
    "linear_forward", "linear_backward",
    *(f"{name}_{direction}" for name in ACTIVATIONS for direction in ("forward", "backward")),
    "prelu_forward", "prelu_backward", "ACTIVATION_LAYERS",
    "dropout_forward", "dropout_backward",
    "mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss",
    "softmax", "log_softmax", "softmax_cross_entropy",
    "MLP",
]

# torch clamps log(p) at -100 in binary_cross_entropy and divides by
# max(p (1 - p), EPSILON) in its backward, where EPSILON is 1e-12 rounded to
# float32 (9.9999999600e-13): matching it exactly matters at p in {0, 1}.
_BCE_LOG_FLOOR = -100.0
_BCE_GRAD_EPS = float(np.float32(1e-12))


# -------------------------------------------------------------------- linear
def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer, out = x W + b.

    Args:
        x: (N, fan_in) batch.
        W: (fan_in, fan_out) weights (torch's nn.Linear.weight transposed).
        b: (fan_out,) bias, broadcast over the batch.

    Returns:
        out (N, fan_out) and cache = (x, W).
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
    """
    x, W = cache
    dout = as_float_array(dout, "dout")
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dout must have the shape of out, {(x.shape[0], W.shape[1])}, got {dout.shape}")
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# ------------------------------------------------------------- activations
def _activation_layer(name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Build ``<name>_forward`` / ``<name>_backward`` from ``ACTIVATIONS[name]``."""
    fn, grad = ACTIVATIONS[name]

    def forward(x: np.ndarray, *args: Any, **kwargs: Any) -> tuple[np.ndarray, tuple]:
        x = as_float_array(x, "x")
        return fn(x, *args, **kwargs), (x, args, kwargs)

    def backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
        x, args, kwargs = cache
        dout = as_float_array(dout, "dout")
        check_same_shape(x, dout, "x", "dout")
        return dout * grad(x, *args, **kwargs)

    summary = (fn.__doc__ or "").strip().splitlines()[0]
    params_sig = list(inspect.signature(fn).parameters.values())
    forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params_sig, return_annotation="tuple[np.ndarray, tuple]"
    )
    forward.__name__ = forward.__qualname__ = f"{name}_forward"
    backward.__name__ = backward.__qualname__ = f"{name}_backward"
    forward.__doc__ = (
        f"Forward of the {name} layer: out = {name}(x{', ...' if len(params_sig) > 1 else ''}) elementwise.\n\n"
        f"{summary}\n\n"
        f"Extra arguments are those of dlcourse.activations.{name}.\n\n"
        "Returns:\n    out (shape of x) and cache = (x, args, kwargs).\n"
    )
    backward.__doc__ = (
        f"Backward of the {name} layer: dx = dout * {name}_grad(x) (chain rule, elementwise).\n\n"
        f"Args:\n    dout: upstream gradient, shape of x.\n    cache: from {name}_forward.\n\n"
        "Returns:\n    dx, shape of x.\n"
    )
    return forward, backward


sigmoid_forward, sigmoid_backward = _activation_layer("sigmoid")
tanh_forward, tanh_backward = _activation_layer("tanh")
relu_forward, relu_backward = _activation_layer("relu")
leaky_relu_forward, leaky_relu_backward = _activation_layer("leaky_relu")
elu_forward, elu_backward = _activation_layer("elu")
gelu_forward, gelu_backward = _activation_layer("gelu")
selu_forward, selu_backward = _activation_layer("selu")
silu_forward, silu_backward = _activation_layer("silu")
mish_forward, mish_backward = _activation_layer("mish")
softplus_forward, softplus_backward = _activation_layer("softplus")

ACTIVATION_LAYERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    name: (globals()[f"{name}_forward"], globals()[f"{name}_backward"]) for name in ACTIVATIONS
}


def prelu_forward(x: np.ndarray, a: np.ndarray | float) -> tuple[np.ndarray, tuple]:
    """Forward of the PReLU layer: out = x for x > 0, a x otherwise.

    Args:
        x: (N, C, ...) input (any shape if a is a single slope).
        a: learnable slope, scalar / shape (1,) or shape (C,) per channel on axis 1.

    Returns:
        out (shape of x) and cache = (x, a).
    """
    x, a = as_float_array(x, "x"), as_float_array(a, "a")
    return prelu(x, a), (x, a)


def prelu_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Backward of the PReLU layer.

    dx = dout * [x > 0 ? 1 : a];  da_c = sum over all units i of channel c of
    dout_i * [x_i > 0 ? 0 : x_i]  (every unit of a channel shares a_c).

    Returns:
        (dx, da) with the shapes of x and a.
    """
    x, a = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(x, dout, "x", "dout")
    da_per_unit = dout * prelu_grad_a(x, a)
    if a.size == 1 and a.ndim <= 1:
        da = da_per_unit.sum().reshape(a.shape)
    else:
        da = da_per_unit.sum(axis=tuple(i for i in range(x.ndim) if i != 1))
    return dout * prelu_grad(x, a), da


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
    """Backward of inverted dropout: dx = dout * m / (1 - p); dout itself in evaluation."""
    dout = as_float_array(dout, "dout")
    if cache is None:
        return dout
    check_same_shape(cache, dout, "x", "dout")
    return dout * cache


# ------------------------------------------------------------------- losses
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: exp(x_i - max x) / sum_j exp(x_j - max x).

    Subtracting the max changes nothing mathematically and keeps exp <= 1.
    """
    x = as_float_array(x, "x")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax along ``axis``: x_i - logsumexp(x), computed after subtracting the max."""
    x = as_float_array(x, "x")
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_float_array(a, name_a), as_float_array(b, name_b)
    check_same_shape(a, b, name_a, name_b)
    if a.size == 0:
        raise ValueError(f"{name_a} is empty (shape {a.shape}); a mean over zero elements is undefined")
    return a, b


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error, L = mean((pred - target)^2); dL/dpred = 2 (pred - target) / n.

    n is the number of elements (torch's reduction="mean" averages over all of them).
    """
    pred, target = _check_pair(pred, target, "pred", "target")
    diff = pred - target
    return float(np.mean(diff * diff)), diff * (2.0 / diff.size)


def mae_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean absolute error (L1), L = mean|pred - target|; dL/dpred = sign(pred - target) / n.

    Notes:
        At pred = target the subgradient is 0 (sign(0) = 0), as torch.
    """
    pred, target = _check_pair(pred, target, "pred", "target")
    diff = pred - target
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


def bce_loss(prob: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on probabilities (torch.nn.functional.binary_cross_entropy).

    L = -mean( t log p + (1 - t) log(1 - p) ),  dL/dp = (p - t) / (p (1 - p)) / n.

    Args:
        prob: predicted probabilities p in [0, 1].
        target: targets t in [0, 1] (soft labels allowed), shape of prob.

    Notes:
        As torch: each log is clamped below at -100 so p in {0, 1} gives a
        finite loss, and the gradient's denominator is max(p (1 - p), 1e-12)
        (torch's 1e-12 is a float32 constant, 9.99999996e-13; so is ours).
        Prefer ``bce_with_logits_loss``: it is exact where this one clamps.
    """
    prob, target = _check_pair(prob, target, "prob", "target")
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError(
            f"prob must be probabilities in [0, 1], got values in [{prob.min()}, {prob.max()}]; "
            "apply a sigmoid first, or use bce_with_logits_loss on the logits"
        )
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped like torch
        log_p = np.maximum(np.log(prob), _BCE_LOG_FLOOR)
        log_1mp = np.maximum(np.log(1 - prob), _BCE_LOG_FLOOR)
    loss = -np.mean(target * log_p + (1 - target) * log_1mp)
    dprob = (prob - target) / np.maximum((1 - prob) * prob, _BCE_GRAD_EPS) / prob.size
    return float(loss), dprob


def bce_with_logits_loss(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on logits z, p = sigma(z), computed stably.

    L = mean( (1 - t) z + log(1 + e^{-z}) ),  dL/dz = (sigma(z) - t) / n.

    log(1 + e^{-z}) = -log sigma(z) is logaddexp(0, -z): no overflow for any z.
    Source: torch.nn.functional.binary_cross_entropy_with_logits.
    """
    logits, target = _check_pair(logits, target, "logits", "target")
    loss = np.mean((1 - target) * logits + np.logaddexp(0, -logits))
    return float(loss), (sigmoid(logits) - target) / logits.size


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax + negative log-likelihood of integer class labels (torch.nn.functional.cross_entropy).

    L = -(1/N) sum_n log softmax(z_n)[y_n],  dL/dz = (softmax(z) - onehot(y)) / N.

    Args:
        logits: (N, C) unnormalized scores.
        labels: (N,) integer class indices in [0, C).

    Returns:
        (loss, dlogits) with dlogits of shape (N, C).
    """
    logits = as_float_array(logits, "logits")
    labels = np.asarray(labels)
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise ValueError(f"logits must have shape (N, C) with N >= 1, got {logits.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"labels must be integer class indices, got dtype {labels.dtype}; "
            "convert with labels.astype(np.int64) (one-hot targets: use labels.argmax(axis=1))"
        )
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({logits.shape[0]},), got {labels.shape}")
    num_classes = logits.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"labels must be in [0, {num_classes - 1}] for {num_classes} classes, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    rows = np.arange(logits.shape[0])
    log_probs = log_softmax(logits)
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    return float(-log_probs[rows, labels].mean()), dlogits / logits.shape[0]


# ---------------------------------------------------------------------- MLP
_INIT_NAMES = (
    "zeros", "normal", "uniform", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "lecun_normal", "torch_linear_default",
)


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
            init = getattr(_init, check_choice(init, "init", _INIT_NAMES))
        elif not callable(init):
            raise TypeError(f"init must be a name in {_INIT_NAMES} or a callable(shape, rng), got {init!r}")
        rng = check_rng(rng)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation, self.output_activation = activation, output_activation
        self.params: dict[str, np.ndarray] = {}
        for layer, shape in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            W = np.asarray(init(shape, rng), dtype=np.float64)
            if W.shape != shape:
                raise ValueError(f"init returned shape {W.shape} for layer {layer}, expected {shape}")
            self.params[f"W{layer}"], self.params[f"b{layer}"] = W, np.zeros(shape[1])
        self.grads: dict[str, np.ndarray] = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._caches: list[tuple[tuple, tuple | None]] | None = None

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
        return f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, output_activation={self.output_activation!r})"
