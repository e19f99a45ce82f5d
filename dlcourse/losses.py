"""Losses and the softmax: each loss returns ``(loss, dinput)``.

A loss takes the network's output and the targets and returns the loss as a
Python float together with ``dinput = dloss/dinput`` (the input's shape), the
upstream gradient that starts the backward pass.  The reduction is torch's
default, ``reduction="mean"``: the loss is a mean, so every gradient carries
the factor 1/n.

``dlcourse.layers`` re-exports everything here (``from dlcourse.layers import
softmax_cross_entropy`` keeps working).

Sources: J. Adamczyk, Deep learning lecture notes (losses, softmax
cross-entropy and its gradient); SDU summer school 'Gradient-Based Learning'
(losses); torch.nn.functional (conventions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_same_shape
from dlcourse.activations import sigmoid

__all__ = [
    "bce_loss", "bce_with_logits_loss", "log_softmax", "mae_loss", "mse_loss", "softmax", "softmax_cross_entropy",
]

# torch clamps log(p) at -100 in binary_cross_entropy and divides by
# max(p (1 - p), EPSILON) in its backward, where EPSILON is 1e-12 rounded to
# float32 (9.9999999600e-13): matching it exactly matters at p in {0, 1}.
_BCE_LOG_FLOOR = -100.0
_BCE_GRAD_EPS = float(np.float32(1e-12))


# ------------------------------------------------------------------ softmax
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j.

    Subtracting the max m changes nothing mathematically and keeps every exp <= 1,
    so logits of 1e3 do not overflow (torch.softmax does the same).

    Example:
        >>> softmax(np.array([1.0, 2.0, 3.0])).round(4)
        array([0.09  , 0.2447, 0.6652])
        >>> softmax(np.array([1000.0, 1000.0]))
        array([0.5, 0.5])
    """
    x = as_float_array(x, "x")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax along ``axis``: log softmax(x)_i = (x_i - m) - log sum_j exp(x_j - m), m = max_j x_j.

    Exact where ``np.log(softmax(x))`` is not: a probability that underflows
    to 0 would give -inf, while x_i - m stays finite.

    Example:
        >>> log_softmax(np.array([0.0, 1000.0]))
        array([-1000.,     0.])
    """
    x = as_float_array(x, "x")
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --------------------------------------------------------- regression losses
def _check_pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_float_array(a, name_a), as_float_array(b, name_b)
    check_same_shape(a, b, name_a, name_b)
    if a.size == 0:
        raise ValueError(f"{name_a} is empty (shape {a.shape}); a mean over zero elements is undefined")
    return a, b


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error, L = mean((pred - target)^2);  dL/dpred = 2 (pred - target) / n.

    Args:
        pred: predictions, any shape.
        target: targets, the shape of pred (nothing is broadcast).

    Returns:
        (loss, dpred).  n is the number of elements, pred.size: torch's
        reduction="mean" averages over all of them, not over the batch only.

    Example:
        >>> loss, dpred = mse_loss(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
        >>> loss, dpred
        (2.5, array([ 1., -2.]))
    """
    pred, target = _check_pair(pred, target, "pred", "target")
    diff = pred - target
    n = diff.size
    return float(np.mean(diff**2)), 2 * diff / n


def mae_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean absolute error (L1), L = mean|pred - target|;  dL/dpred = sign(pred - target) / n.

    Args and Returns as ``mse_loss``.

    Notes:
        At pred = target the subgradient is 0 (sign(0) = 0), as torch.

    Example:
        >>> mae_loss(np.array([1.0, 2.0, 3.0]), np.array([0.0, 4.0, 3.0]))
        (1.0, array([ 0.33333333, -0.33333333,  0.        ]))
    """
    pred, target = _check_pair(pred, target, "pred", "target")
    diff = pred - target
    n = diff.size
    return float(np.mean(np.abs(diff))), np.sign(diff) / n


# ----------------------------------------------------- classification losses
def bce_loss(prob: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on probabilities (torch.nn.functional.binary_cross_entropy).

    L = -mean( t log p + (1 - t) log(1 - p) ),  dL/dp = (p - t) / (p (1 - p)) / n.

    Args:
        prob: predicted probabilities p in [0, 1].
        target: targets t in [0, 1] (soft labels allowed), shape of prob.

    Returns:
        (loss, dprob).

    Notes:
        As torch: each log is clamped below at -100 so p in {0, 1} gives a
        finite loss, and the gradient's denominator is max(p (1 - p), 1e-12)
        (torch's 1e-12 is a float32 constant, 9.99999996e-13; so is ours).
        Prefer ``bce_with_logits_loss``: it is exact where this one clamps.

    Example:
        >>> loss, dprob = bce_loss(np.array([0.5, 0.8]), np.array([1.0, 0.0]))
        >>> round(loss, 6), dprob
        (1.151293, array([-1. ,  2.5]))
    """
    prob, target = _check_pair(prob, target, "prob", "target")
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError(
            f"prob must be probabilities in [0, 1], got values in [{prob.min()}, {prob.max()}]; "
            "apply a sigmoid first, or use bce_with_logits_loss on the logits"
        )
    n = prob.size
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped like torch
        log_p = np.maximum(np.log(prob), _BCE_LOG_FLOOR)
        log_1mp = np.maximum(np.log(1 - prob), _BCE_LOG_FLOOR)
    loss = -np.mean(target * log_p + (1 - target) * log_1mp)
    dprob = (prob - target) / np.maximum(prob * (1 - prob), _BCE_GRAD_EPS) / n
    return float(loss), dprob


def bce_with_logits_loss(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on logits z, p = sigma(z), computed stably.

    L = mean( (1 - t) z + log(1 + e^{-z}) ),  dL/dz = (sigma(z) - t) / n.

    log(1 + e^{-z}) = -log sigma(z) is evaluated as logaddexp(0, -z), which
    never overflows.  Args as ``bce_loss`` with logits (any real) for prob.

    Source: torch.nn.functional.binary_cross_entropy_with_logits.

    Example:
        >>> loss, dlogits = bce_with_logits_loss(np.array([0.0, 1000.0]), np.array([1.0, 1.0]))
        >>> round(loss, 6), dlogits
        (0.346574, array([-0.25,  0.  ]))
    """
    logits, target = _check_pair(logits, target, "logits", "target")
    n = logits.size
    loss = np.mean((1 - target) * logits + np.logaddexp(0, -logits))
    return float(loss), (sigmoid(logits) - target) / n


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax + negative log-likelihood of integer class labels (torch.nn.functional.cross_entropy).

    L = -(1/N) sum_n log softmax(z_n)[y_n],  dL/dz = (softmax(z) - onehot(y)) / N.

    Args:
        logits: (N, C) unnormalized scores z.
        labels: (N,) integer class indices y in [0, C).

    Returns:
        (loss, dlogits) with dlogits of shape (N, C).

    Example:
        >>> loss, dlogits = softmax_cross_entropy(np.array([[0.0, 0.0], [1000.0, 0.0]]), np.array([0, 0]))
        >>> round(loss, 6), dlogits
        (0.346574, array([[-0.25,  0.25],
               [ 0.  ,  0.  ]]))
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
    num_examples, num_classes = logits.shape
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"labels must be in [0, {num_classes - 1}] for {num_classes} classes, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    log_probs = log_softmax(logits)
    onehot = np.eye(num_classes, dtype=logits.dtype)[labels]
    loss = -np.mean(log_probs[np.arange(num_examples), labels])
    return float(loss), (np.exp(log_probs) - onehot) / num_examples
