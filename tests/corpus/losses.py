"""Student implementations of the losses (problem set 1, parts 5-6)."""

# ruff: noqa: RUF059  (written as students write: unpacked names left unused)

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- layers.softmax_cross_entropy


def ce_plain_softmax(logits, labels):
    exps = np.exp(logits)
    probs = exps / np.sum(exps, axis=1, keepdims=True)
    N = logits.shape[0]
    loss = -np.mean(np.log(probs[np.arange(N), labels]))
    dlogits = probs.copy()
    dlogits[np.arange(N), labels] -= 1
    return float(loss), dlogits / N


def ce_shifted_log_of_probs(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(p[range(n), labels]).sum() / n
    grad = p.copy()
    grad[range(n), labels] -= 1
    return float(loss), grad / n


def ce_forgot_divide_grad(logits, labels):
    z = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    N = logits.shape[0]
    loss = -np.mean(log_probs[np.arange(N), labels])
    probs = np.exp(log_probs)
    onehot = np.zeros_like(probs)
    onehot[np.arange(N), labels] = 1
    return float(loss), probs - onehot


def ce_labels_one_based(logits, labels):
    # labels go from 1..C in the data set I used before
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    loss = -logp[rows, labels - 1].mean()
    d = np.exp(logp)
    d[rows, labels - 1] -= 1
    return float(loss), d / len(labels)


def ce_summed(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    idx = np.arange(logits.shape[0])
    loss = -np.sum(logp[idx, labels])
    dlogits = np.exp(logp)
    dlogits[idx, labels] -= 1
    return float(loss), dlogits


def ce_zeros_onehot(logits, labels):
    N, C = logits.shape
    onehot = np.zeros((N, C))
    onehot[np.arange(N), labels] = 1.0
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -np.sum(onehot * logp) / N
    return float(loss), (np.exp(logp) - onehot) / N


def ce_softmax_axis0(logits, labels):
    shifted = logits - logits.max(axis=0)
    exps = np.exp(shifted)
    probs = exps / exps.sum(axis=0)
    N = logits.shape[0]
    picked = probs[np.arange(N), labels]
    loss = -np.log(picked).mean()
    dlogits = probs.copy()
    dlogits[np.arange(N), labels] -= 1
    return float(loss), dlogits / N


def ce_loop_rows(logits, labels):
    N, C = logits.shape
    total = 0.0
    dlogits = np.zeros_like(logits)
    for n in range(N):
        row = logits[n]
        m = row.max()
        lse = m + np.log(np.sum(np.exp(row - m)))
        total += lse - row[labels[n]]
        dlogits[n] = np.exp(row - lse)
        dlogits[n, labels[n]] -= 1
    return total / N, dlogits / N


def ce_eye_onehot(logits, labels):
    C = logits.shape[1]
    Y = np.eye(C, dtype=logits.dtype)[labels]
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    logp = shifted - lse
    N = logits.shape[0]
    loss = -(Y * logp).sum() / N
    return float(loss), (np.exp(logp) - Y) / N


# ---------------------------------------------------------------- layers.mse_loss


def mse_half(pred, target):
    # 1/2 so the 2 cancels in the derivative
    diff = pred - target
    loss = 0.5 * np.mean(diff**2)
    return float(loss), diff / diff.size


def mse_per_row(pred, target):
    n = pred.shape[0]  # batch size
    diff = pred - target
    return float(np.sum(diff**2) / n), 2 * diff / n


def mse_grad_no_two(pred, target):
    d = pred - target
    return float(np.mean(d * d)), d / d.size


def mse_target_minus_pred(pred, target):
    err = target - pred
    loss = np.mean(err**2)
    grad = 2 * err / err.size
    return float(loss), grad


def mse_astype_float(pred, target):
    # make sure we compute in floating point
    diff = pred.astype(float) - target.astype(float)
    return float(np.mean(diff**2)), 2 * diff / diff.size


def mse_sum_then_divide(pred, target):
    n = pred.size
    residual = pred - target
    loss = np.sum(residual * residual) / n
    dpred = residual * (2 / n)
    return float(loss), dpred


# ---------------------------------------------------------------- layers.mae_loss


def mae_where_ge(pred, target):
    diff = pred - target
    grad = np.where(diff >= 0, 1, -1) / diff.size
    return float(np.mean(np.abs(diff))), grad


def mae_flipped(pred, target):
    n = pred.size
    return float(np.abs(pred - target).sum() / n), np.sign(target - pred) / n


def mae_sum(pred, target):
    diff = pred - target
    return float(np.sum(np.abs(diff))), np.sign(diff)


def mae_total_flipped(pred, target):
    loss = np.abs(pred - target).sum()
    grad = np.sign(target - pred)
    return float(loss), grad


def mae_masks(pred, target):
    diff = pred - target
    n = diff.size
    grad = np.zeros_like(diff)
    grad[diff > 0] = 1 / n
    grad[diff < 0] = -1 / n
    return float(np.abs(diff).mean()), grad


# ---------------------------------------------------------------- layers.bce_loss


def bce_one_term(prob, target):
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(prob), -100)
    loss = -np.mean(target * log_p)
    denom = np.maximum(prob * (1 - prob), 1e-12)
    return float(loss), (prob - target) / denom / prob.size


def bce_unclamped(prob, target):
    loss = -np.mean(target * np.log(prob) + (1 - target) * np.log(1 - prob))
    dprob = (prob - target) / np.maximum(prob * (1 - prob), 1e-12) / prob.size
    return float(loss), dprob


def bce_logit_grad(prob, target):
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(prob), -100)
        log_q = np.maximum(np.log(1 - prob), -100)
    n = prob.size
    loss = -(target * log_p + (1 - target) * log_q).sum() / n
    # sigmoid + bce gives p - t
    return float(loss), (prob - target) / n


def bce_summed_loss(prob, target):
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(prob), -100)
        l1p = np.maximum(np.log(1 - prob), -100)
    loss = -np.sum(target * lp + (1 - target) * l1p)
    grad = (prob - target) / np.maximum(prob * (1 - prob), 1e-12) / prob.size
    return float(loss), grad


def bce_clip_logs(prob, target):
    with np.errstate(divide="ignore"):
        log_p = np.clip(np.log(prob), -100, None)
        log_1mp = np.clip(np.log1p(-prob), -100, None)
    n = prob.size
    loss = float(-np.sum(target * log_p + (1 - target) * log_1mp) / n)
    denominator = np.maximum(prob * (1 - prob), 1e-12)
    dprob = (prob - target) / (n * denominator)
    return loss, dprob


WRONG = [
    # softmax_cross_entropy
    Wrong("layers.softmax_cross_entropy", (ce_plain_softmax,), frozenset({"ce_overflow", "ce_log_of_softmax"}),
          "softmax without the max shift, then log of the probability"),
    Wrong("layers.softmax_cross_entropy", (ce_shifted_log_of_probs,), frozenset({"ce_log_of_softmax"}),
          "max shift, but np.log of a probability that underflows to 0"),
    Wrong("layers.softmax_cross_entropy", (ce_forgot_divide_grad,), frozenset({"ce_grad_not_divided"}),
          "dlogits = softmax - onehot, no / N"),
    Wrong("layers.softmax_cross_entropy", (ce_labels_one_based,), frozenset({"ce_label_off_by_one"}),
          "labels - 1"),
    Wrong("layers.softmax_cross_entropy", (ce_summed,), frozenset({"ce_sum_reduction"}),
          "sum over the batch instead of the mean"),
    Wrong("layers.softmax_cross_entropy", (ce_zeros_onehot,), frozenset({"float64_out"}),
          "np.zeros((N, C)) one-hot is float64: float32 logits give float64 dlogits"),
    Wrong("layers.softmax_cross_entropy", (ce_softmax_axis0,), frozenset(),
          "softmax normalized over the batch axis 0 instead of over the classes"),
    # mse
    Wrong("layers.mse_loss", (mse_half,), frozenset({"mse_half"}), "1/2 in front, gradient diff / n"),
    Wrong("layers.mse_loss", (mse_per_row,), frozenset({"mse_divided_by_batch"}), "divides by the number of rows"),
    Wrong("layers.mse_loss", (mse_grad_no_two,), frozenset({"mse_grad_no_factor_2", "constant_factor"}),
          "gradient (pred - target) / n without the 2"),
    Wrong("layers.mse_loss", (mse_target_minus_pred,), frozenset({"mse_grad_sign_flipped", "sign_flipped"}),
          "gradient from target - pred"),
    Wrong("layers.mse_loss", (mse_astype_float,), frozenset({"float64_out"}),
          "astype(float) turns float32 inputs into a float64 gradient"),
    # mae
    Wrong("layers.mae_loss", (mae_where_ge,), frozenset({"mae_sign_ge_zero", "float64_out"}),
          "np.where(diff >= 0, 1, -1): +1 at ties, and an int array / n is float64"),
    Wrong("layers.mae_loss", (mae_flipped,), frozenset({"mae_grad_sign_flipped", "sign_flipped"}),
          "sign(target - pred)"),
    Wrong("layers.mae_loss", (mae_sum,), frozenset({"mae_sum_reduction"}), "sum, no mean, in loss and gradient"),
    Wrong("layers.mae_loss", (mae_total_flipped,),
          frozenset({"mae_sum_reduction", "mae_loss_summed", "mae_grad_not_divided", "mae_grad_sign_flipped",
                     "sign_flipped"}),
          "two mistakes: summed instead of averaged, and sign(target - pred)"),
    # bce
    Wrong("layers.bce_loss", (bce_one_term,), frozenset({"bce_positive_term_only"}), "only t log p"),
    Wrong("layers.bce_loss", (bce_unclamped,), frozenset({"bce_log_of_zero"}), "no clamp: nan at prob 0 or 1"),
    Wrong("layers.bce_loss", (bce_logit_grad,), frozenset({"bce_grad_missing_denominator"}),
          "(p - t) / n, the gradient with respect to the logit"),
    Wrong("layers.bce_loss", (bce_summed_loss,), frozenset({"bce_loss_summed"}), "loss summed, gradient right"),
]

CORRECT = [
    Correct("layers.softmax_cross_entropy", (ce_loop_rows,), "loop over rows, logsumexp by hand"),
    Correct("layers.softmax_cross_entropy", (ce_eye_onehot,), "np.eye one-hot, log-softmax"),
    Correct("layers.mse_loss", (mse_sum_then_divide,), "sum / pred.size"),
    Correct("layers.mae_loss", (mae_masks,), "two boolean masks fill +-1/n"),
    Correct("layers.bce_loss", (bce_clip_logs,), "np.clip on the logs, log1p(-p)"),
]
