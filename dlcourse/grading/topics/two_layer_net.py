"""Checks for the two-layer network, loss and gradients in one function (``layers.two_layer_net``).

Students write ``two_layer_net(X, y, params) -> (loss, grads)``: a ReLU
hidden layer, softmax cross-entropy, and backprop through both layers by
hand.  The reference is :func:`dlcourse.layers.two_layer_net`.  The visible
trials include scores around 1e3, so the log-softmax must be stable.  A
catalogued mistake is the network with one named backprop step swapped
(``_net_wrong(dz1=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import layers as L
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import expect_values, random_array
from dlcourse.grading.topics._layer_common import F32, F64, cases, tolerance_for

__all__ = ["TARGETS"]

_PARAM_KEYS = ("W1", "b1", "W2", "b2")

# (label, N, D, H, C, scale of X, offset of b2, dtype)
_NET_CASES = (
    ("a batch of one", 1, 4, 5, 3, 1.0, 0.0, F64),
    ("odd sizes: 7 examples, 3 -> 9 -> 4", 7, 3, 9, 4, 1.0, 0.0, F64),
    ("scores around 1e3 (a large output bias), 6 -> 7 -> 5", 5, 6, 7, 5, 1.0, 1e3, F64),
    ("float32, 8 examples, 4 -> 6 -> 3", 8, 4, 6, 3, 1.0, 0.0, F32),
)
_NET_HIDDEN = (
    ("tiny inputs around 1e-6", 5, 6, 4, 3, 1e-6, 0.0, F64),
    ("64 examples, 20 -> 15 -> 10", 64, 20, 15, 10, 1.0, 0.0, F64),
    ("large inputs around 30", 4, 3, 5, 3, 30.0, 0.0, F64),
    ("two classes, D = H = 6", 9, 6, 6, 2, 2.0, 0.0, F64),
    ("scores around -1e3", 3, 2, 7, 5, 1.0, -1e3, F64),
)


def _net_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = []
    for label, n, d, h, c, scale, offset, dtype in cases(_NET_CASES, _NET_HIDDEN, hidden):
        params = {"W1": random_array(rng, (d, h), (2 / d) ** 0.5, dtype),
                  "b1": random_array(rng, (h,), 0.1, dtype),
                  "W2": random_array(rng, (h, c), (2 / h) ** 0.5, dtype),
                  "b2": (offset + random_array(rng, (c,), 0.1)).astype(dtype)}
        args = [("X", random_array(rng, (n, d), scale, dtype)), ("y", rng.integers(0, c, n).astype(np.int64)),
                ("params", params)]
        made.append(Trial(label, args, tolerance=tolerance_for(dtype)))
    return made


def _observe_net(call: Any, trial: Trial) -> dict[str, Any]:
    loss, grads = expect_values(call("two_layer_net", trial.args), "two_layer_net", ("loss", "grads"))
    if not isinstance(grads, dict) or any(key not in grads for key in _PARAM_KEYS):
        raise GradingError(f"two_layer_net must return grads as a dict with the keys of params, "
                           f"{_PARAM_KEYS}; it returned {describe_value(grads)}")
    return {"loss": loss} | {f"grads[{key!r}]": grads[key] for key in _PARAM_KEYS}


def _stable_softmax(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(softmax, log-softmax) of each row, after subtracting the row's max."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return (np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True),
            shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def _naive_softmax(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(softmax, log of it) without the shift: exp overflows for scores around 1e3."""
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return probs, np.log(probs)


# The backprop steps of the two-layer network a mistake can swap, as the reference computes them.
_NET_PIECES: dict[str, Callable[..., Any]] = {
    "softmax": _stable_softmax,                                     # (probs, log_probs) of the scores
    "dscores": lambda probs, onehot: (probs - onehot) / len(onehot),  # ds = (softmax - onehot) / N
    "dz1": lambda dh, z1: dh * (z1 > 0),                            # back through the ReLU
    "layer1_input": lambda X, h: X,                                 # W1 multiplies X
    "dW": lambda layer_input, dz: layer_input.T @ dz,               # dW = layer_input^T dz
    "db": lambda dz: dz.sum(axis=0),                                # db = sum_n dz
}


def _net_wrong(**wrong: Callable[..., Any]) -> tuple:
    """The two-layer network with the steps named in ``wrong`` (keys of ``_NET_PIECES``) replaced."""
    piece = _NET_PIECES | wrong

    def net(X: np.ndarray, y: np.ndarray, params: dict) -> tuple:
        z1 = X @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0)
        scores = h @ params["W2"] + params["b2"]
        probs, log_probs = piece["softmax"](scores)
        loss = -np.mean(log_probs[np.arange(len(y)), y])
        dscores = piece["dscores"](probs, np.eye(scores.shape[1], dtype=scores.dtype)[y])
        dz1 = piece["dz1"](dscores @ params["W2"].T, z1)
        return loss, {"W1": piece["dW"](piece["layer1_input"](X, h), dz1), "b1": piece["db"](dz1),
                      "W2": piece["dW"](h, dscores), "b2": piece["db"](dscores)}

    return (net,)


_NET_MISTAKES = (
    Mistake("mlp_no_relu_mask", "Backprop through the ReLU: dz1 = dh * (z1 > 0); you passed dh through unchanged.",
            _net_wrong(dz1=lambda dh, z1: dh)),
    Mistake("mlp_grad_not_divided", "The loss is a mean over the N examples, so dscores = (softmax - onehot) / N.",
            _net_wrong(dscores=lambda probs, onehot: probs - onehot)),
    Mistake("mlp_db_mean", "A bias is shared by every example, so its gradient sums over the batch: "
            "db = dz.sum(axis=0), not the mean.", _net_wrong(db=lambda dz: dz.mean(axis=0))),
    Mistake("mlp_db_over_features", "db must have the shape of b: sum dz over the batch (axis 0), not average it "
            "over the features (axis 1).", _net_wrong(db=lambda dz: dz.mean(axis=1))),
    Mistake("mlp_dW1_post_activation", "W1 multiplies the INPUT X, so dW1 = X.T @ dz1; you used the hidden "
            "activation h.", _net_wrong(layer1_input=lambda X, h: h)),
    Mistake("mlp_dW_transposed", "Each dW must have the shape of its W, (fan_in, fan_out): dW = layer_input.T @ "
            "dz, not dz.T @ layer_input.", _net_wrong(dW=lambda layer_input, dz: dz.T @ layer_input)),
    Mistake("mlp_softmax_overflow", "np.exp of scores around 1e3 overflows (inf / inf = nan): subtract each row's "
            "max score before exponentiating.", _net_wrong(softmax=_naive_softmax)),
)

TARGETS: tuple[Target, ...] = (
    Target("layers.two_layer_net", ("two_layer_net",), (L.two_layer_net,), _net_trials, _observe_net, _NET_MISTAKES,
           what="networks"),
)
