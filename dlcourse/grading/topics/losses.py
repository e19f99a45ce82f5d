"""Checks for the losses (``layers.NAME`` for mse_loss, mae_loss, bce_loss and softmax_cross_entropy).

A loss returns ``(loss, dinput)`` with torch's mean reduction; both are
compared.  The targets keep their ``layers.*`` names (the losses are part of
the layer API, ``dlcourse.layers`` re-exports them); the references are in
``dlcourse.losses``.  A catalogued mistake is the reference loss with its value
and/or its gradient swapped (``_loss_wrong(L.mse_loss, dinput=...)``).

Decisions a course team may want to revisit:
- BCE: probabilities are never exactly 0 or 1 except in one hidden trial
  where each is paired with its own target (t = 0 at p = 0, t = 1 at p = 1):
  the loss there must stay finite (torch clamps each log at -100; clipping p
  into [eps, 1 - eps] with eps <= 1e-7 also passes), and the gradient at those
  entries is not compared (torch's formula gives 0 where the true limit is
  -1/n or 1/n).  Elsewhere p stays in [1e-6, 1 - 1e-6].
- Softmax cross-entropy requires a stable log-softmax: logits around +-1e3
  are in the visible trials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse import losses as L
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading.topics._common import array_trials, expect_values, random_array
from dlcourse.grading.topics._layer_common import F32, F64, array_of_shape, cases, tolerance_for

__all__ = ["TARGETS"]


def _observe_loss(role: str, input_name: str) -> Callable:
    grad = f"d{input_name}"

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        loss, dinput = expect_values(call(role, trial.args), role, ("loss", grad))
        mask = trial.extra.get("grad_mask")
        if mask is None:
            return {"loss": loss, f"{grad} = dloss/d{input_name}": dinput}
        dinput = array_of_shape(dinput, mask.shape, grad, role)
        return {"loss": loss, f"{grad} where 0 < {input_name} < 1": dinput[mask]}

    return observe


def _loss_target(name: str, role: str, input_name: str, reference: Callable, trials: Callable,
                 mistakes: tuple[Mistake, ...]) -> Target:
    return Target(name, (role,), (reference,), trials, _observe_loss(role, input_name), mistakes, what="inputs")


def _loss_wrong(reference: Callable, loss: Callable | None = None, dinput: Callable | None = None) -> tuple:
    """The ``reference`` loss with its value replaced by ``loss(input, target)`` and/or its gradient by ``dinput``."""
    def wrong(inputs: np.ndarray, target: np.ndarray) -> tuple:
        right_loss, right_dinput = reference(inputs, target)
        return (right_loss if loss is None else loss(inputs, target),
                right_dinput if dinput is None else dinput(inputs, target))

    return (wrong,)


# --------------------------------------------------------- regression losses
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


_MSE_MISTAKES = (
    Mistake("mse_grad_no_factor_2", "The derivative of (pred - target)**2 is 2 (pred - target): "
            "dpred = 2 (pred - target) / n.", _loss_wrong(L.mse_loss, dinput=lambda p, t: (p - t) / p.size)),
    Mistake("mse_grad_not_divided", "The loss is a mean over the n = pred.size entries, so its gradient is "
            "divided by n too: dpred = 2 (pred - target) / n.",
            _loss_wrong(L.mse_loss, dinput=lambda p, t: 2 * (p - t))),
    Mistake("mse_sum_reduction", "Use the mean, not the sum (torch's reduction='mean'): loss = mean((pred - "
            "target)**2) and dpred = 2 (pred - target) / n.",
            _loss_wrong(L.mse_loss, loss=lambda p, t: np.sum((p - t) ** 2), dinput=lambda p, t: 2 * (p - t))),
    Mistake("mse_loss_summed", "The loss is the mean of the squared errors, not their sum.",
            _loss_wrong(L.mse_loss, loss=lambda p, t: np.sum((p - t) ** 2))),
    Mistake("mse_divided_by_batch", "torch's mean runs over ALL n = pred.size entries, not only over the batch "
            "(rows): divide by pred.size.", _loss_wrong(L.mse_loss, loss=lambda p, t: np.sum((p - t) ** 2) / len(p),
                                                       dinput=lambda p, t: 2 * (p - t) / len(p))),
    Mistake("mse_half", "torch's MSE has no 1/2 factor: loss = mean((pred - target)**2), "
            "dpred = 2 (pred - target) / n.", _loss_wrong(L.mse_loss, loss=lambda p, t: np.mean((p - t) ** 2) / 2,
                                                         dinput=lambda p, t: (p - t) / p.size)),
    Mistake("mse_grad_sign_flipped", "The gradient with respect to pred is 2 (pred - target) / n: "
            "you have the sign flipped.", _loss_wrong(L.mse_loss, dinput=lambda p, t: 2 * (t - p) / p.size)),
)
_MAE_MISTAKES = (
    Mistake("mae_sign_ge_zero", "Where pred == target the (sub)gradient is 0, as torch's sign(0) = 0: "
            "use np.sign(pred - target) / n, not a 1 for diff >= 0.",
            _loss_wrong(L.mae_loss, dinput=lambda p, t: np.where(p - t >= 0, 1.0, -1.0) / p.size)),
    Mistake("mae_grad_not_divided", "The loss is a mean over n = pred.size entries, so dpred = sign(pred - "
            "target) / n.", _loss_wrong(L.mae_loss, dinput=lambda p, t: np.sign(p - t))),
    Mistake("mae_sum_reduction", "Use the mean, not the sum (torch's reduction='mean'): loss = mean|pred - "
            "target| and dpred = sign(pred - target) / n.",
            _loss_wrong(L.mae_loss, loss=lambda p, t: np.sum(np.abs(p - t)), dinput=lambda p, t: np.sign(p - t))),
    Mistake("mae_loss_summed", "The loss is the mean of the absolute errors, not their sum.",
            _loss_wrong(L.mae_loss, loss=lambda p, t: np.sum(np.abs(p - t)))),
    Mistake("mae_divided_by_batch", "torch's mean runs over ALL n = pred.size entries, not only over the batch "
            "(rows): divide by pred.size.", _loss_wrong(L.mae_loss, loss=lambda p, t: np.sum(np.abs(p - t)) / len(p),
                                                       dinput=lambda p, t: np.sign(p - t) / len(p))),
    Mistake("mae_grad_sign_flipped", "The gradient with respect to pred is sign(pred - target) / n: "
            "you have the sign flipped.", _loss_wrong(L.mae_loss, dinput=lambda p, t: np.sign(t - p) / p.size)),
)


# --------------------------------------------------- binary cross-entropy
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
    for label, shape, kind, soft, dtype in cases(_BCE_CASES, _BCE_HIDDEN, hidden):
        if kind == "near":
            prob = rng.choice([1e-6, 1e-3, 0.5, 1 - 1e-3, 1 - 1e-6], shape)
        else:
            prob = rng.uniform(0.02, 0.98, shape)
        target = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(F64)
        trial = Trial(label, tolerance=tolerance_for(dtype))
        if kind == "exact":
            prob.reshape(-1)[:4] = target.reshape(-1)[:4] = [0.0, 1.0, 0.0, 1.0]
            trial.extra["grad_mask"] = (prob > 0) & (prob < 1)
        trial.args = [("prob", prob.astype(dtype)), ("target", target.astype(dtype))]
        made.append(trial)
    return made


_BCE_MISTAKES = (
    Mistake("bce_grad_missing_denominator", "dL/dp = (p - t) / (p (1 - p)) / n; (p - t) / n is the gradient "
            "with respect to the LOGIT, not the probability.",
            _loss_wrong(L.bce_loss, dinput=lambda p, t: (p - t) / p.size)),
    Mistake("bce_grad_not_divided", "The loss is a mean over n = prob.size entries, so divide the gradient by "
            "n: (p - t) / (p (1 - p)) / n.", _loss_wrong(L.bce_loss, dinput=lambda p, t: (p - t) / (p * (1 - p)))),
    Mistake("bce_grad_sign_flipped", "The gradient is (p - t) / (p (1 - p)) / n: you have the sign flipped.",
            _loss_wrong(L.bce_loss, dinput=lambda p, t: (t - p) / (p * (1 - p)) / p.size)),
    Mistake("bce_loss_summed", "The loss is the mean over the n entries, not the sum.",
            _loss_wrong(L.bce_loss, loss=lambda p, t: L.bce_loss(p, t)[0] * p.size)),
    Mistake("bce_positive_term_only", "Binary cross-entropy has two terms: -mean(t log p + (1 - t) log(1 - p)); "
            "you left out the (1 - t) log(1 - p) term.",
            _loss_wrong(L.bce_loss, loss=lambda p, t: -np.mean(t * np.log(p)), dinput=lambda p, t: -t / p / p.size)),
    Mistake("bce_log_of_zero", "At prob exactly 0 or 1, log gives -inf and 0 * -inf = nan: clamp each log at "
            "-100 as torch does (np.maximum(np.log(p), -100)), or clip prob into [1e-7, 1 - 1e-7] first.",
            _loss_wrong(L.bce_loss, loss=lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))),
)


# -------------------------------------------------- softmax cross-entropy
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
    for label, n, c, scale, offset, dtype in cases(_CE_CASES, _CE_HIDDEN, hidden):
        logits = (offset + scale * rng.standard_normal((n, c))).astype(dtype)
        labels = rng.integers(0, c, n).astype(np.int64)
        made.append(Trial(label, [("logits", logits), ("labels", labels)], tolerance=tolerance_for(dtype)))
    return made


def _naive_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _picked(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """values[n, labels[n]] for every row n."""
    return values[np.arange(len(labels)), labels]


def _naive_ce_grad(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(softmax(z) - onehot) / N with the overflowing softmax."""
    return (_naive_softmax(z) - np.eye(z.shape[1], dtype=z.dtype)[labels]) / len(labels)


def _log_of_softmax_loss(z: np.ndarray, labels: np.ndarray) -> float:
    """-mean(log(p[label])) of the (stable) softmax: inf once a probability underflows to 0 (logits ~1e3 apart)."""
    return -np.mean(np.log(_picked(L.softmax(z), labels)))


def _ce_grad_through_log(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The chain rule through log(p) and the softmax: dp = -onehot / (N p), dz = p * (dp - sum(p * dp)).

    Right while p[label] > 0; a whole row of nan where it underflowed (-1 / 0 = -inf, times p = 0).
    """
    p = L.softmax(z)
    dp = np.zeros_like(p)
    dp[np.arange(len(labels)), labels] = -1.0 / (len(labels) * _picked(p, labels))
    return p * (dp - (p * dp).sum(axis=1, keepdims=True))


_LOG_OF_SOFTMAX = ("np.log of a softmax probability that underflowed to 0 gives -inf (logits ~1e3 apart): compute "
                   "the log-softmax with log-sum-exp, log_softmax = z - max(z) - log(sum(exp(z - max(z)))), and pick "
                   "the label's entry.")
_CE = L.softmax_cross_entropy
_CE_MISTAKES = (
    Mistake("ce_overflow", "np.exp of logits around 1e3 overflows (inf / inf = nan): subtract each row's max "
            "before exponentiating, which leaves the softmax unchanged.",
            _loss_wrong(_CE, loss=lambda z, y: -np.mean(np.log(_picked(_naive_softmax(z), y))),
                        dinput=_naive_ce_grad)),
    Mistake("ce_overflow_logsumexp", "log(sum(exp(z))) overflows for logits around 1e3: compute it as "
            "m + log(sum(exp(z - m))) with m the row's max.",
            _loss_wrong(_CE, loss=lambda z, y: np.mean(np.log(np.exp(z).sum(axis=1)) - _picked(z, y)),
                        dinput=_naive_ce_grad)),
    Mistake("ce_log_of_softmax", _LOG_OF_SOFTMAX, _loss_wrong(_CE, loss=_log_of_softmax_loss)),
    Mistake("ce_log_of_softmax_chain_rule", f"{_LOG_OF_SOFTMAX[:-1]}; and write the gradient as (softmax - onehot) "
            "/ N: the chain rule through log(p) divides by that 0 and gives nan.",
            _loss_wrong(_CE, loss=_log_of_softmax_loss, dinput=_ce_grad_through_log)),
    Mistake("ce_grad_not_divided", "The loss is a mean over the N examples, so dlogits = (softmax - onehot) / N.",
            _loss_wrong(_CE, dinput=lambda z, y: _CE(z, y)[1] * len(y))),
    Mistake("ce_sum_reduction", "Use the mean over the batch, not the sum (torch's reduction='mean'): divide the "
            "loss and dlogits = softmax - onehot by N.",
            _loss_wrong(_CE, loss=lambda z, y: _CE(z, y)[0] * len(y), dinput=lambda z, y: _CE(z, y)[1] * len(y))),
    Mistake("ce_label_off_by_one", "The labels are 0-based class indices: use onehot[n, labels[n]] = 1 "
            "(np.eye(C)[labels]), not labels - 1.", (lambda z, y: _CE(z, (y - 1) % z.shape[1]),)),
    Mistake("ce_grad_sign_flipped", "dlogits = (softmax - onehot) / N: you have the sign flipped.",
            _loss_wrong(_CE, dinput=lambda z, y: -_CE(z, y)[1])),
    Mistake("ce_grad_no_onehot", "Subtract 1 at each example's label: dlogits = (softmax - onehot) / N.",
            _loss_wrong(_CE, dinput=lambda z, y: L.softmax(z) / len(y))),
)

TARGETS: tuple[Target, ...] = (
    _loss_target("layers.mse_loss", "mse_loss", "pred", L.mse_loss, _regression_trials, _MSE_MISTAKES),
    _loss_target("layers.mae_loss", "mae_loss", "pred", L.mae_loss, _regression_trials, _MAE_MISTAKES),
    _loss_target("layers.bce_loss", "bce_loss", "prob", L.bce_loss, _bce_trials, _BCE_MISTAKES),
    _loss_target("layers.softmax_cross_entropy", "softmax_cross_entropy", "logits", L.softmax_cross_entropy,
                 _ce_trials, _CE_MISTAKES),
)
