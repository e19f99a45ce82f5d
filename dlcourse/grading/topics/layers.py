"""Checks for layers, losses, dropout and a two-layer MLP (``layers.NAME``).

A layer check takes the student's forward AND backward: the backward gets the
cache of the student's own forward, as the modular layer API prescribes, and
the gradients are compared.  Losses return ``(loss, dinput)`` with torch's
mean reduction.  Dropout is random, so its observables are the facts every
correct implementation shares whatever mask it draws (see ``_DROPOUT_LABELS``).

Decisions a course team may want to revisit:
- BCE: probabilities are never exactly 0 or 1 except in one hidden trial
  where each is paired with its own target (t = 0 at p = 0, t = 1 at p = 1):
  the loss there must stay finite (torch clamps each log at -100; clipping p
  into [eps, 1 - eps] with eps <= 1e-7 also passes), and the gradient at those
  entries is not compared (torch's formula gives 0 where the true limit is
  -1/n or 1/n).  Elsewhere p stays in [1e-6, 1 - 1e-6].
- Softmax cross-entropy and the MLP require a stable log-softmax: logits
  around +-1e3 are in the visible trials.
- Dropout p = 1 (torch returns zeros) is not tried; p = 0 is (hidden).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import activations as A
from dlcourse import layers as L
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values, array_trials, random_array

_PARAM_KEYS = ("W1", "b1", "W2", "b2")
F32, F64 = np.float32, np.float64


def two_layer_net(X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a two-layer ReLU network with softmax cross-entropy.

    Forward:  z1 = X W1 + b1,  h = relu(z1),  s = h W2 + b2,
              L = -(1/N) sum_n log softmax(s_n)[y_n].
    Backward: ds = (softmax(s) - onehot(y)) / N,  dW2 = h^T ds,  db2 = sum_n ds,
              dh = ds W2^T,  dz1 = dh * [z1 > 0],  dW1 = X^T dz1,  db1 = sum_n dz1.

    Args:
        X: (N, D) inputs.
        y: (N,) integer class labels in [0, C).
        params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}.

    Returns:
        (loss, grads) with grads a dict with the keys and shapes of params.

    Notes:
        W has shape (fan_in, fan_out), torch's nn.Linear.weight transposed;
        the loss is torch's cross_entropy with reduction="mean".

    Source: Georgia Tech CS 4644/7643 'Optimization' (modular backprop);
    J. Adamczyk, Deep learning lecture notes (backprop equations for an MLP).
    """
    if not isinstance(params, dict) or set(params) != set(_PARAM_KEYS):
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with exactly the keys {_PARAM_KEYS}, got {keys}")
    z1, cache1 = L.linear_forward(X, params["W1"], params["b1"])
    h, relu_cache = L.relu_forward(z1)
    scores, cache2 = L.linear_forward(h, params["W2"], params["b2"])
    loss, dscores = L.softmax_cross_entropy(scores, y)
    dh, dW2, db2 = L.linear_backward(dscores, cache2)
    _, dW1, db1 = L.linear_backward(L.relu_backward(dh, relu_cache), cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# ------------------------------------------------------------------ helpers



def _array_of_shape(value: Any, shape: tuple[int, ...], what: str, role: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.shape != shape:
        raise GradingError(f"{what} returned by {role} should be an array of shape {shape}, "
                           f"but it is {describe_value(value)}")
    return value


def _tolerance(dtype: Any):
    return FLOAT32_TOLERANCE if dtype == F32 else None


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], scale: float, dtype: Any) -> np.ndarray:
    """Values with |v| in [0.5, 2] * scale, so that ratios out / x are well defined."""
    return (rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape) * scale).astype(dtype)


def _cases(visible: tuple, extra: tuple, hidden: bool) -> tuple:
    return visible + extra if hidden else visible


def _target(prefix: str, roles: tuple[str, ...], reference: tuple, trials: Callable, observe: Callable,
            mistakes: list, what: str) -> Target:
    return Target(f"layers.{prefix}", roles, reference, trials, observe,
                  tuple(Mistake(name, message, impl) for name, message, impl in mistakes), what=what)


def _layer_observe(name: str, n_inputs: int, grad_labels: tuple[str, ...], observe_out: bool) -> Callable:
    """Observe a (forward, backward) pair: the backward gets the forward's own cache."""
    forward, backward = f"{name}_forward", f"{name}_backward"

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        out, cache = expect_values(call(forward, trial.args[:n_inputs], trial.kwargs), forward, ("out", "cache"))
        try:
            grads = call(backward, [trial.args[n_inputs], ("cache", cache)])
        except GradingError as error:  # most often a matmul of mismatched shapes: show them all
            shapes = ", ".join(f"{arg} {np.shape(value)}" for arg, value in trial.args)
            raise GradingError(f"{error}\n  shapes here: {shapes}; each gradient has the shape of the "
                               f"input it belongs to (dx like x)") from None
        if len(grad_labels) > 1:
            grads = expect_values(grads, backward, tuple(label.split()[0] for label in grad_labels))
        else:
            grads = (grads,)
        observed = {f"out of {forward}": out} if observe_out else {}
        return observed | dict(zip(grad_labels, grads))

    return observe


# ------------------------------------------------------------------- linear
# (label, batch N, fan_in, fan_out, scale of x and dout, dtype).  The first case
# is square so that dx = dout @ W (a missing transpose) runs and is diagnosed.
_LINEAR_CASES = (
    ("a square layer (fan_in = fan_out = 5), batch of 3", 3, 5, 5, 1.0, F64),
    ("a batch of one row", 1, 7, 3, 1.0, F64),
    ("a batch of 64, odd feature counts, large values", 64, 9, 5, 30.0, F64),
    ("float32 inputs", 4, 3, 6, 2.0, F32),
)
_LINEAR_HIDDEN = (
    ("one input and one output feature", 7, 1, 1, 1.0, F64),
    ("tiny values around 1e-6", 5, 3, 4, 1e-6, F64),
    ("huge values up to 1e3", 6, 4, 7, 1e3, F64),
    ("a batch of 33, 17 -> 11 features", 33, 17, 11, 3.0, F64),
    ("a float32 batch of one row", 1, 5, 2, 1.0, F32),
)


def _linear_trials(with_dout: bool) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = []
        for label, n, fan_in, fan_out, scale, dtype in _cases(_LINEAR_CASES, _LINEAR_HIDDEN, hidden):
            args = [("x", random_array(rng, (n, fan_in), scale, dtype)),
                    ("W", random_array(rng, (fan_in, fan_out), fan_in ** -0.5, dtype)),
                    ("b", random_array(rng, (fan_out,), 1.0, dtype))]
            if with_dout:
                args.append(("dout", random_array(rng, (n, fan_out), scale, dtype)))
            made.append(Trial(label, args, tolerance=_tolerance(dtype)))
        return made

    return trials


def _observe_linear_forward(call: Any, trial: Trial) -> dict[str, Any]:
    out, _ = expect_values(call("linear_forward", trial.args), "linear_forward", ("out", "cache"))
    return {"out = x @ W + b": out}


def _linear_wrong(**wrong: Callable) -> tuple:
    """The reference layer with some of (dx, dW, db) replaced by ``wrong[name](dout, x, W)``."""
    right = {"dx": lambda d, x, W: d @ W.T, "dW": lambda d, x, W: x.T @ d, "db": lambda d, x, W: d.sum(axis=0)}

    def backward(dout: np.ndarray, cache: tuple) -> tuple:
        x, W = cache
        return tuple((wrong.get(name) or right[name])(dout, x, W) for name in ("dx", "dW", "db"))

    return (L.linear_forward, backward)


_LINEAR_FORWARD_MISTAKES = [
    ("linear_no_bias", "You left out the bias: out = x @ W + b.", (lambda x, W, b: (x @ W, (x, W)),)),
    ("linear_weight_transposed", "W here has shape (fan_in, fan_out), so out = x @ W + b, not x @ W.T + b "
     "(torch's nn.Linear stores weight = W.T).", (lambda x, W, b: (x @ W.T + b, (x, W)),)),
]
_LINEAR_BACKWARD_MISTAKES = [
    ("linear_dW_transposed", "dW must have the shape of W, (fan_in, fan_out): dW = x.T @ dout, "
     "not dout.T @ x (which is its transpose).", _linear_wrong(dW=lambda d, x, W: d.T @ x)),
    ("linear_dx_no_transpose", "dx must have the shape of x, (N, fan_in): dx = dout @ W.T (dout @ W only runs "
     "when W is square).", _linear_wrong(dx=lambda d, x, W: d @ W)),
    ("linear_db_mean", "The bias is shared by every example, so db sums dout over the batch: "
     "db = dout.sum(axis=0), not the mean.", _linear_wrong(db=lambda d, x, W: d.mean(axis=0))),
    ("linear_db_not_summed", "db must have the shape of b, (fan_out,): sum dout over the batch, "
     "db = dout.sum(axis=0).", _linear_wrong(db=lambda d, x, W: d.copy())),
    ("linear_dW_per_example", "dW must have the shape of W: x.T @ dout sums the per-example outer "
     "products over the batch instead of keeping one per example.",
     _linear_wrong(dW=lambda d, x, W: x[:, :, None] * d[:, None, :])),
    ("linear_grads_averaged", "Do not divide dW and db by the batch size: the loss's mean reduction "
     "already put 1/N into dout.",
     _linear_wrong(dW=lambda d, x, W: x.T @ d / len(x), db=lambda d, x, W: d.sum(axis=0) / len(x))),
]


# ------------------------------------------------------- activation layers
def _activation_wrong(name: str, dx: Callable) -> tuple:
    """The reference forward with a wrong backward ``dx(dout, x, negative_slope)``."""
    def backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
        x, _, kwargs = cache
        return dx(dout, x, kwargs.get("negative_slope", 0.01))

    return (L.ACTIVATION_LAYERS[name][0], backward)


# name -> (parameter sets of the forward, [(mistake, message, dx(dout, x, slope))])
_ACTIVATION_SPECS = {
    "relu": ([{}], [
        ("relu_backward_masks_dout", "The ReLU gate passes dout where its INPUT was positive: "
         "dx = dout * (x > 0), with x cached by the forward, not a mask on dout > 0.",
         lambda d, x, s: np.where(d > 0, d, 0.0)),
        ("relu_backward_no_dout", "Multiply the local derivative by the upstream gradient: dx = dout * (x > 0).",
         lambda d, x, s: (x > 0).astype(x.dtype)),
        ("relu_backward_at_zero", "At x = 0 ReLU's derivative is taken as 0 (torch's convention): "
         "mask with x > 0, not x >= 0.", lambda d, x, s: d * (x >= 0)),
    ]),
    "sigmoid": ([{}], [
        ("sigmoid_backward_of_x", "Apply s * (1 - s) to the forward's OUTPUT s = sigmoid(x) (cache it), "
         "not to x: dx = dout * s * (1 - s).", lambda d, x, s: d * x * (1 - x)),
        ("sigmoid_backward_no_dout", "Multiply by the upstream gradient: dx = dout * s * (1 - s).",
         lambda d, x, s: A.sigmoid(x) * (1 - A.sigmoid(x))),
        ("sigmoid_backward_missing_factor", "The sigmoid's derivative is s * (1 - s), not s: "
         "dx = dout * s * (1 - s).", lambda d, x, s: d * A.sigmoid(x)),
    ]),
    "tanh": ([{}], [
        ("tanh_backward_of_x", "Apply 1 - t**2 to the forward's OUTPUT t = tanh(x) (cache it), not to x: "
         "dx = dout * (1 - t**2).", lambda d, x, s: d * (1 - x * x)),
        ("tanh_backward_no_dout", "Multiply by the upstream gradient: dx = dout * (1 - t**2).",
         lambda d, x, s: 1 - np.tanh(x) ** 2),
        ("tanh_backward_not_squared", "The derivative of tanh is 1 - tanh(x)**2: square t.",
         lambda d, x, s: d * (1 - np.tanh(x))),
    ]),
    "leaky_relu": ([{}, {"negative_slope": 0.2}], [
        ("leaky_backward_zero_slope", "On the negative side leaky ReLU's derivative is negative_slope, "
         "not 0: dx = dout * where(x > 0, 1, negative_slope).", lambda d, x, s: d * (x > 0)),
        ("leaky_backward_ignores_slope", "Use the negative_slope the forward was given (keep it in the cache) "
         "instead of a fixed 0.01.", lambda d, x, s: d * np.where(x > 0, 1.0, 0.01)),
        ("leaky_backward_no_dout", "Multiply by the upstream gradient: dx = dout * where(x > 0, 1, negative_slope).",
         lambda d, x, s: np.where(x > 0, 1.0, s)),
        ("leaky_backward_at_zero", "At x = 0 torch takes the derivative as negative_slope: use x > 0, not x >= 0.",
         lambda d, x, s: d * np.where(x >= 0, 1.0, s)),
    ]),
}


def _activation_trials(param_sets: list) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = array_trials(rng, hidden, "x", edge_points=(0.0, -0.0), param_sets=param_sets)
        for trial in made:
            x = trial.args[0][1]
            trial.args.append(("dout", random_array(rng, x.shape, 1.0, x.dtype)))
        return made

    return trials


# ------------------------------------------------------------------- losses
def _observe_loss(role: str, input_name: str) -> Callable:
    grad = f"d{input_name}"

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        loss, dinput = expect_values(call(role, trial.args), role, ("loss", grad))
        mask = trial.extra.get("grad_mask")
        if mask is None:
            return {"loss": loss, f"{grad} = dloss/d{input_name}": dinput}
        dinput = _array_of_shape(dinput, mask.shape, grad, role)
        return {"loss": loss, f"{grad} where 0 < {input_name} < 1": dinput[mask]}

    return observe


def _regression_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = array_trials(rng, hidden, "pred", edge_points=())
    for trial in made:
        pred = trial.args[0][1]
        target = random_array(rng, pred.shape, float(np.abs(pred).max()) or 1.0, pred.dtype)
        if pred.size >= 3:  # exact ties: the MAE (sub)gradient there is 0, as torch's sign(0)
            target.reshape(-1)[:2] = pred.reshape(-1)[:2]
            trial.label += ", two entries with pred == target"
        trial.args.append(("target", target))
    return made


# (label, shape, probabilities, soft targets, dtype); probabilities are "moderate" in [0.02, 0.98],
# "near" 0 and 1 (within 1e-6), or "exact" 0 and 1 on the first entries, each with its own target.
_BCE_CASES = (
    ("a single probability", (1,), "moderate", False, F64),
    ("a (3, 5) batch", (3, 5), "moderate", False, F64),
    ("soft targets in [0, 1], 7 entries", (7,), "moderate", True, F64),
    ("float32 probabilities", (4, 3), "moderate", False, F32),
)
_BCE_HIDDEN = (
    ("probabilities within 1e-6 of 0 and 1", (6, 4), "near", False, F64),
    ("a batch of one row", (1, 9), "moderate", False, F64),
    ("a (64, 3) batch of soft targets", (64, 3), "moderate", True, F64),
    ("prob exactly 0 and 1 where the target agrees (the loss must stay finite)", (4, 5), "exact", False, F64),
)


def _bce_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = []
    for label, shape, kind, soft, dtype in _cases(_BCE_CASES, _BCE_HIDDEN, hidden):
        if kind == "near":
            prob = rng.choice([1e-6, 1e-3, 0.5, 1 - 1e-3, 1 - 1e-6], shape)
        else:
            prob = rng.uniform(0.02, 0.98, shape)
        target = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(F64)
        trial = Trial(label, tolerance=_tolerance(dtype))
        if kind == "exact":
            prob.reshape(-1)[:4] = target.reshape(-1)[:4] = [0.0, 1.0, 0.0, 1.0]
            trial.extra["grad_mask"] = (prob > 0) & (prob < 1)
        trial.args = [("prob", prob.astype(dtype)), ("target", target.astype(dtype))]
        made.append(trial)
    return made


# (label, batch N, classes C, scale, offset, dtype): logits = offset + scale * normal
_CE_CASES = (
    ("one example with logits around 1e3", 1, 5, 3.0, 1e3, F64),
    ("a (3, 5) batch", 3, 5, 1.0, 0.0, F64),
    ("7 examples with logits spread over +-1e3", 7, 4, 1e3, 0.0, F64),
    ("float32 logits", 4, 3, 2.0, 0.0, F32),
)
_CE_HIDDEN = (
    ("logits around -1e3", 6, 3, 3.0, -1e3, F64),
    ("64 examples, 10 classes", 64, 10, 2.0, 0.0, F64),
    ("tiny logits around 1e-6", 5, 7, 1e-6, 0.0, F64),
    ("two classes, batch of one", 1, 2, 1.0, 0.0, F64),
    ("an odd (9, 13) batch of large logits", 9, 13, 30.0, 0.0, F64),
)


def _ce_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    made = []
    for label, n, c, scale, offset, dtype in _cases(_CE_CASES, _CE_HIDDEN, hidden):
        logits = (offset + scale * rng.standard_normal((n, c))).astype(dtype)
        labels = rng.integers(0, c, n).astype(np.int64)
        made.append(Trial(label, [("logits", logits), ("labels", labels)], tolerance=_tolerance(dtype)))
    return made


def _naive_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _ce_grad(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    grad = probs.copy()
    grad[np.arange(len(labels)), labels] -= 1
    return grad / len(labels)


def _picked(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return values[np.arange(len(labels)), labels]


_LOSS_SPECS = {
    # name -> (input name, trials, [(mistake, message, wrong loss function)])
    "mse_loss": ("pred", _regression_trials, [
        ("mse_grad_no_factor_2", "The derivative of (pred - target)**2 is 2 (pred - target): "
         "dpred = 2 (pred - target) / n.", lambda p, t: (np.mean((p - t) ** 2), (p - t) / p.size)),
        ("mse_grad_not_divided", "The loss is a mean over the n = pred.size entries, so its gradient is "
         "divided by n too: dpred = 2 (pred - target) / n.", lambda p, t: (np.mean((p - t) ** 2), 2 * (p - t))),
        ("mse_sum_reduction", "Use the mean, not the sum (torch's reduction='mean'): loss = mean((pred - target)**2) "
         "and dpred = 2 (pred - target) / n.", lambda p, t: (np.sum((p - t) ** 2), 2 * (p - t))),
        ("mse_loss_summed", "The loss is the mean of the squared errors, not their sum.",
         lambda p, t: (np.sum((p - t) ** 2), 2 * (p - t) / p.size)),
        ("mse_divided_by_batch", "torch's mean runs over ALL n = pred.size entries, not only over the batch "
         "(rows): divide by pred.size.", lambda p, t: (np.sum((p - t) ** 2) / len(p), 2 * (p - t) / len(p))),
        ("mse_half", "torch's MSE has no 1/2 factor: loss = mean((pred - target)**2), "
         "dpred = 2 (pred - target) / n.", lambda p, t: (np.mean((p - t) ** 2) / 2, (p - t) / p.size)),
        ("mse_grad_sign_flipped", "The gradient with respect to pred is 2 (pred - target) / n: "
         "you have the sign flipped.", lambda p, t: (np.mean((p - t) ** 2), 2 * (t - p) / p.size)),
    ]),
    "mae_loss": ("pred", _regression_trials, [
        ("mae_sign_ge_zero", "Where pred == target the (sub)gradient is 0, as torch's sign(0) = 0: "
         "use np.sign(pred - target) / n, not a 1 for diff >= 0.",
         lambda p, t: (np.mean(np.abs(p - t)), np.where(p - t >= 0, 1.0, -1.0) / p.size)),
        ("mae_grad_not_divided", "The loss is a mean over n = pred.size entries, so dpred = sign(pred - target) / n.",
         lambda p, t: (np.mean(np.abs(p - t)), np.sign(p - t))),
        ("mae_sum_reduction", "Use the mean, not the sum (torch's reduction='mean'): loss = mean|pred - target| "
         "and dpred = sign(pred - target) / n.", lambda p, t: (np.sum(np.abs(p - t)), np.sign(p - t))),
        ("mae_loss_summed", "The loss is the mean of the absolute errors, not their sum.",
         lambda p, t: (np.sum(np.abs(p - t)), np.sign(p - t) / p.size)),
        ("mae_divided_by_batch", "torch's mean runs over ALL n = pred.size entries, not only over the batch "
         "(rows): divide by pred.size.", lambda p, t: (np.sum(np.abs(p - t)) / len(p), np.sign(p - t) / len(p))),
        ("mae_grad_sign_flipped", "The gradient with respect to pred is sign(pred - target) / n: "
         "you have the sign flipped.", lambda p, t: (np.mean(np.abs(p - t)), np.sign(t - p) / p.size)),
    ]),
    "bce_loss": ("prob", _bce_trials, [
        ("bce_grad_missing_denominator", "dL/dp = (p - t) / (p (1 - p)) / n; (p - t) / n is the gradient with "
         "respect to the LOGIT, not the probability.", lambda p, t: (L.bce_loss(p, t)[0], (p - t) / p.size)),
        ("bce_grad_not_divided", "The loss is a mean over n = prob.size entries, so divide the gradient by n: "
         "(p - t) / (p (1 - p)) / n.", lambda p, t: (L.bce_loss(p, t)[0], (p - t) / (p * (1 - p)))),
        ("bce_grad_sign_flipped", "The gradient is (p - t) / (p (1 - p)) / n: you have the sign flipped.",
         lambda p, t: (L.bce_loss(p, t)[0], (t - p) / (p * (1 - p)) / p.size)),
        ("bce_loss_summed", "The loss is the mean over the n entries, not the sum.",
         lambda p, t: (L.bce_loss(p, t)[0] * p.size, L.bce_loss(p, t)[1])),
        ("bce_positive_term_only", "Binary cross-entropy has two terms: -mean(t log p + (1 - t) log(1 - p)); "
         "you left out the (1 - t) log(1 - p) term.", lambda p, t: (-np.mean(t * np.log(p)), -t / p / p.size)),
        ("bce_log_of_zero", "At prob exactly 0 or 1, log gives -inf and 0 * -inf = nan: clamp each log at -100 as "
         "torch does (np.maximum(np.log(p), -100)), or clip prob into [1e-7, 1 - 1e-7] first.",
         lambda p, t: (-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)), L.bce_loss(p, t)[1])),
    ]),
    "softmax_cross_entropy": ("logits", _ce_trials, [
        ("ce_overflow", "np.exp of logits around 1e3 overflows (inf / inf = nan): subtract each row's max "
         "before exponentiating, which leaves the softmax unchanged.",
         lambda z, y: (-np.mean(np.log(_picked(_naive_softmax(z), y))), _ce_grad(_naive_softmax(z), y))),
        ("ce_overflow_logsumexp", "log(sum(exp(z))) overflows for logits around 1e3: compute it as "
         "m + log(sum(exp(z - m))) with m the row's max.",
         lambda z, y: (np.mean(np.log(np.exp(z).sum(axis=1)) - _picked(z, y)), _ce_grad(_naive_softmax(z), y))),
        ("ce_log_of_softmax", "np.log of a softmax probability that underflowed to 0 gives -inf: compute the "
         "log-softmax directly, z - m - log(sum(exp(z - m))), and pick the label's entry.",
         lambda z, y: (-np.mean(np.log(_picked(L.softmax(z), y))), L.softmax_cross_entropy(z, y)[1])),
        ("ce_grad_not_divided", "The loss is a mean over the N examples, so dlogits = (softmax - onehot) / N.",
         lambda z, y: (L.softmax_cross_entropy(z, y)[0], L.softmax_cross_entropy(z, y)[1] * len(y))),
        ("ce_sum_reduction", "Use the mean over the batch, not the sum (torch's reduction='mean'): divide the "
         "loss and dlogits = softmax - onehot by N.", lambda z, y: tuple(
            v * len(y) for v in L.softmax_cross_entropy(z, y))),
        ("ce_label_off_by_one", "The labels are 0-based class indices: use onehot[n, labels[n]] = 1 "
         "(np.eye(C)[labels]), not labels - 1.",
         lambda z, y: L.softmax_cross_entropy(z, (y - 1) % z.shape[1])),
        ("ce_grad_sign_flipped", "dlogits = (softmax - onehot) / N: you have the sign flipped.",
         lambda z, y: (L.softmax_cross_entropy(z, y)[0], -L.softmax_cross_entropy(z, y)[1])),
        ("ce_grad_no_onehot", "Subtract 1 at each example's label: dlogits = (softmax - onehot) / N.",
         lambda z, y: (L.softmax_cross_entropy(z, y)[0], L.softmax(z) / len(y))),
    ]),
}


# ------------------------------------------------------------------ dropout
# Observables every correct implementation shares whatever mask it draws.  The
# dropped fraction is measured on 250 000 units: its binomial std is at most
# sqrt(0.25 / 250 000) = 1e-3, so rounded to 2 decimals it equals p (chosen on
# the 0.01 grid) unless the draw is 5 std off (probability < 6e-7 per trial).
_BIG = 250_000
_DROPOUT_LABELS = {
    "kept_min": "out / x over the units kept (out != 0), training: smallest",
    "kept_max": "out / x over the units kept (out != 0), training: largest",
    "fraction": "fraction of the units dropped, training, rounded to 2 decimals",
    "same_seed": "out is the same when called again with a generator of the same seed",
    "eval_min": "out / x with training=False: smallest",
    "eval_max": "out / x with training=False: largest",
    "back_min": "(dx / dout) / (out / x) over the units kept, training: smallest",
    "back_max": "(dx / dout) / (out / x) over the units kept, training: largest",
    "back_dropped": "|dx / dout| over the units dropped, training: largest",
    "back_eval": "dx with training=False (should be dout)",
}
# (label, shape, p, scale, dtype)
_DROPOUT_CASES = (
    ("250 000 units, p = 0.2", (500, 500), 0.2, 1.0, F64),
    ("a batch of one row of 257 units, p = 0.3", (1, 257), 0.3, 1.0, F64),
    ("250 000 large units, p = 0.75", (250, 1000), 0.75, 1e3, F64),
    ("float32, p = 0.4", (64, 33), 0.4, 2.0, F32),
)
_DROPOUT_HIDDEN = (
    ("p = 0 drops nothing", (31, 17), 0.0, 1.0, F64),
    ("tiny values around 1e-6, 250 000 units, p = 0.1", (1000, 250), 0.1, 1e-6, F64),
    ("a (2, 3, 40) array, p = 0.5", (2, 3, 40), 0.5, 1.0, F64),
    ("250 000 float32 units, p = 0.35", (500, 500), 0.35, 3.0, F32),
)


def _is_big(shape: tuple[int, ...]) -> bool:
    return int(np.prod(shape)) >= _BIG


def _dropout_trials(with_dout: bool) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = []
        for label, shape, p, scale, dtype in _cases(_DROPOUT_CASES, _DROPOUT_HIDDEN, hidden):
            if with_dout and _is_big(shape):
                shape = (shape[0] // 10, shape[1])  # the backward needs no fraction: smaller and faster
            args = [("x", _away_from_zero(rng, shape, scale, dtype)), ("p", p)]
            if with_dout:
                args.append(("dout", _away_from_zero(rng, shape, 1.0, dtype)))
            seed = int(rng.integers(2**31))
            made.append(Trial(f"{label}, rng = np.random.default_rng({seed})", args, extra={"seed": seed},
                              tolerance=_tolerance(dtype)))
        return made

    return trials


def _dropout_forward_call(call: Any, trial: Trial, training: bool) -> tuple[np.ndarray, Any]:
    (_, x), (_, p) = trial.args[:2]
    args = [("x", x), ("p", p), ("training", training), ("rng", np.random.default_rng(trial.extra["seed"]))]
    out, cache = expect_values(call("dropout_forward", args), "dropout_forward", ("out", "cache"))
    return _array_of_shape(out, x.shape, "out", "dropout_forward").astype(F64) / x, cache


def _extremes(values: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    chosen = values[where]
    return (float(chosen.min()), float(chosen.max())) if chosen.size else (0.0, 0.0)


def _observe_dropout_forward(call: Any, trial: Trial) -> dict[str, Any]:
    ratio, _ = _dropout_forward_call(call, trial, True)
    again, _ = _dropout_forward_call(call, trial, True)
    eval_ratio, _ = _dropout_forward_call(call, trial, False)
    kept = ratio != 0
    observed = dict(zip(("kept_min", "kept_max"), _extremes(ratio, kept)))
    if _is_big(ratio.shape):
        observed["fraction"] = round(1.0 - float(kept.mean()), 2)
    observed["same_seed"] = bool(np.array_equal(ratio, again, equal_nan=True))
    observed["eval_min"], observed["eval_max"] = _extremes(eval_ratio, np.ones_like(kept))
    return {_DROPOUT_LABELS[key]: value for key, value in observed.items()}


def _observe_dropout_backward(call: Any, trial: Trial) -> dict[str, Any]:
    (_, x), _, (_, dout) = trial.args
    observed = {}
    for training in (True, False):
        ratio, cache = _dropout_forward_call(call, trial, training)
        dx = call("dropout_backward", [("dout", dout), ("cache", cache)])
        dx = _array_of_shape(dx, x.shape, "dx", "dropout_backward")
        if not training:
            observed["back_eval"] = dx
            continue
        kept, grad_ratio = ratio != 0, dx.astype(F64) / dout
        observed["back_min"], observed["back_max"] = _extremes(grad_ratio / np.where(kept, ratio, 1.0), kept)
        observed["back_dropped"] = _extremes(np.abs(grad_ratio), ~kept)[1]
    return {_DROPOUT_LABELS[key]: value for key, value in observed.items()}


def _wrong_dropout(keep: Callable = lambda p: 1 - p, scale: Callable = lambda p: 1 / (1 - p),
                   eval_scale: Callable = lambda p: 1.0, drop_in_eval: bool = False, own_rng: bool = False) -> Callable:
    """A dropout forward with one convention changed; caches (mask, p) in training."""
    def forward(x: np.ndarray, p: float = 0.5, training: bool = True, rng: Any = None) -> tuple:
        if not training and not drop_in_eval:
            return x * eval_scale(p), None
        mask = (np.random.default_rng() if own_rng else rng).random(x.shape) < keep(p)
        return x * mask * scale(p), (mask, p)

    return forward


_DROPOUT_FORWARD_MISTAKES = [
    ("dropout_no_rescale", "Inverted dropout scales the kept units by 1 / (1 - p) during training, so that "
     "E[out] = x and evaluation needs no change.", _wrong_dropout(scale=lambda p: 1.0)),
    ("dropout_p_is_keep", "p is the probability of DROPPING a unit (torch's convention): keep a unit with "
     "probability 1 - p and scale it by 1 / (1 - p).",
     _wrong_dropout(keep=lambda p: p, scale=lambda p: np.divide(1.0, p))),  # np: p = 0 gives inf, as students' code
    ("dropout_scale_by_keep", "Divide the kept units by the keep probability, x * mask / (1 - p); you multiplied "
     "by (1 - p).", _wrong_dropout(scale=lambda p: 1 - p)),
    ("dropout_scales_in_eval", "With training=False inverted dropout is the identity: return x unchanged "
     "(the 1 / (1 - p) scaling belongs to training only).", _wrong_dropout(eval_scale=lambda p: 1 / (1 - p))),
    ("dropout_original_paper", "This is the original paper's dropout (scale by 1 - p at test time); use inverted "
     "dropout as torch does: scale kept units by 1 / (1 - p) in training and return x unchanged in evaluation.",
     _wrong_dropout(scale=lambda p: 1.0, eval_scale=lambda p: 1 - p)),
    ("dropout_drops_in_eval", "With training=False return x unchanged: dropout only drops units during training.",
     _wrong_dropout(drop_in_eval=True)),
    ("dropout_ignores_rng", "Draw the mask from the rng argument (rng.random(x.shape)), not from np.random, so "
     "that a seeded generator makes the result reproducible.", _wrong_dropout(own_rng=True)),
]
_DROPOUT_BACKWARD_MISTAKES = [
    ("dropout_backward_no_mask", "The gradient flows only through the units the forward kept: "
     "dx = dout * mask / (1 - p), with the mask cached by the forward.", lambda d, cache: d.copy()),
    ("dropout_backward_scale_only", "Apply the forward's mask too: dx = dout * mask / (1 - p), "
     "not dout / (1 - p).", lambda d, cache: d if cache is None else d / (1 - cache[1])),
    ("dropout_backward_no_scale", "The forward multiplied the kept units by 1 / (1 - p), so the backward does "
     "too: dx = dout * mask / (1 - p).", lambda d, cache: d if cache is None else d * cache[0]),
]


# ------------------------------------------------------- two-layer network
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
    for label, n, d, h, c, scale, offset, dtype in _cases(_NET_CASES, _NET_HIDDEN, hidden):
        params = {"W1": random_array(rng, (d, h), (2 / d) ** 0.5, dtype), "b1": random_array(rng, (h,), 0.1, dtype),
                  "W2": random_array(rng, (h, c), (2 / h) ** 0.5, dtype),
                  "b2": (offset + random_array(rng, (c,), 0.1)).astype(dtype)}
        args = [("X", random_array(rng, (n, d), scale, dtype)), ("y", rng.integers(0, c, n).astype(np.int64)),
                ("params", params)]
        made.append(Trial(label, args, tolerance=_tolerance(dtype)))
    return made


def _observe_net(call: Any, trial: Trial) -> dict[str, Any]:
    loss, grads = expect_values(call("two_layer_net", trial.args), "two_layer_net", ("loss", "grads"))
    if not isinstance(grads, dict) or any(key not in grads for key in _PARAM_KEYS):
        raise GradingError(f"two_layer_net must return grads as a dict with the keys of params, {_PARAM_KEYS}; "
                           f"it returned {describe_value(grads)}")
    return {"loss": loss} | {f"grads[{key!r}]": grads[key] for key in _PARAM_KEYS}


def _wrong_net(relu_mask: bool = True, per_example: bool = True, bias_grad: Callable = lambda d: d.sum(axis=0),
               first_input: str = "X", transposed: bool = False, stable: bool = True) -> Callable:
    """The two-layer network with one backprop step changed."""
    def net(X: np.ndarray, y: np.ndarray, params: dict) -> tuple:
        z1 = X @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0)
        scores = h @ params["W2"] + params["b2"]
        shifted = scores - scores.max(axis=1, keepdims=True) if stable else scores
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)) if stable else np.log(probs)
        dscores = _ce_grad(probs, y) * (1 if per_example else len(y))
        dz1 = (dscores @ params["W2"].T) * ((z1 > 0) if relu_mask else 1)
        layer_input = {"X": X, "h": h}[first_input]
        dW1, dW2 = (dz1.T @ layer_input, dscores.T @ h) if transposed else (layer_input.T @ dz1, h.T @ dscores)
        return -np.mean(_picked(log_probs, y)), {"W1": dW1, "b1": bias_grad(dz1), "W2": dW2, "b2": bias_grad(dscores)}

    return net


_NET_MISTAKES = [
    ("mlp_no_relu_mask", "Backprop through the ReLU: dz1 = dh * (z1 > 0); you passed dh through unchanged.",
     (_wrong_net(relu_mask=False),)),
    ("mlp_grad_not_divided", "The loss is a mean over the N examples, so dscores = (softmax - onehot) / N.",
     (_wrong_net(per_example=False),)),
    ("mlp_db_mean", "A bias is shared by every example, so its gradient sums over the batch: db = dz.sum(axis=0), "
     "not the mean.", (_wrong_net(bias_grad=lambda d: d.mean(axis=0)),)),
    ("mlp_db_over_features", "db must have the shape of b: sum dz over the batch (axis 0), not average it "
     "over the features (axis 1).", (_wrong_net(bias_grad=lambda d: d.mean(axis=1)),)),
    ("mlp_dW1_post_activation", "W1 multiplies the INPUT X, so dW1 = X.T @ dz1; you used the hidden "
     "activation h.", (_wrong_net(first_input="h"),)),
    ("mlp_dW_transposed", "Each dW must have the shape of its W, (fan_in, fan_out): dW = layer_input.T @ dz, "
     "not dz.T @ layer_input.", (_wrong_net(transposed=True),)),
    ("mlp_softmax_overflow", "np.exp of scores around 1e3 overflows (inf / inf = nan): subtract each row's max "
     "score before exponentiating.", (_wrong_net(stable=False),)),
]


def _build() -> list[Target]:
    linear_grads = ("dx (shape of x, (N, fan_in))", "dW (shape of W, (fan_in, fan_out))", "db (shape of b, (fan_out,))")
    built = [
        _target("linear_forward", ("linear_forward",), (L.linear_forward,), _linear_trials(False),
                _observe_linear_forward, _LINEAR_FORWARD_MISTAKES, "batches"),
        _target("linear_backward", ("linear_forward", "linear_backward"), (L.linear_forward, L.linear_backward),
                _linear_trials(True), _layer_observe("linear", 3, linear_grads, observe_out=False),
                _LINEAR_BACKWARD_MISTAKES, "batches"),
    ]
    for name, (param_sets, mistakes) in _ACTIVATION_SPECS.items():
        built.append(_target(
            f"{name}_backward", (f"{name}_forward", f"{name}_backward"), L.ACTIVATION_LAYERS[name],
            _activation_trials(param_sets), _layer_observe(name, 1, ("dx (shape of x)",), observe_out=True),
            [(m, message, _activation_wrong(name, dx)) for m, message, dx in mistakes], "arrays"))
    for name, (input_name, trials, mistakes) in _LOSS_SPECS.items():
        built.append(_target(name, (name,), (getattr(L, name),), trials, _observe_loss(name, input_name),
                             [(m, message, (fn,)) for m, message, fn in mistakes], "inputs"))
    return built + [
        _target("dropout_forward", ("dropout_forward",), (L.dropout_forward,), _dropout_trials(False),
                _observe_dropout_forward, [(m, msg, (fn,)) for m, msg, fn in _DROPOUT_FORWARD_MISTAKES],
                "inputs (statistics of the random mask)"),
        _target("dropout_backward", ("dropout_forward", "dropout_backward"), (L.dropout_forward, L.dropout_backward),
                _dropout_trials(True), _observe_dropout_backward,
                [(m, msg, (_wrong_dropout(), fn)) for m, msg, fn in _DROPOUT_BACKWARD_MISTAKES],
                "inputs (with the forward's own mask)"),
        _target("two_layer_net", ("two_layer_net",), (two_layer_net,), _net_trials, _observe_net,
                _NET_MISTAKES, "networks"),
    ]


TARGETS: tuple[Target, ...] = (*_build(),)
