"""Student implementations of the L2 penalty and decoupled weight decay (problem set 5, part 4)."""

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- regularization.l2_penalty


def l2_penalty_no_half(params, weight_decay):
    penalty = 0.0
    grads = {}
    for name, W in params.items():
        penalty += weight_decay * np.sum(W**2)
        grads[name] = 2 * weight_decay * W
    return float(penalty), grads


def l2_penalty_weights_only(params, weight_decay):
    # biases are not regularized
    penalty = 0.0
    grads = {}
    for name, value in params.items():
        if name.startswith("b"):
            grads[name] = np.zeros_like(value)
            continue
        penalty += 0.5 * weight_decay * np.sum(value * value)
        grads[name] = weight_decay * value
    return float(penalty), grads


def l2_penalty_mean(params, weight_decay):
    total = sum(np.mean(p**2) for p in params.values())
    grads = {k: weight_decay * p for k, p in params.items()}
    return float(weight_decay / 2 * total), grads


def l2_penalty_grads_in_params(params, weight_decay):
    grads = params  # same keys
    penalty = 0.0
    for k in grads:
        penalty += weight_decay / 2 * np.sum(params[k] ** 2)
        grads[k] = weight_decay * params[k]
    return float(penalty), grads


def l2_penalty_abs(params, weight_decay):
    penalty = weight_decay * sum(np.abs(w).sum() for w in params.values())
    grads = {name: weight_decay * np.sign(w) for name, w in params.items()}
    return float(penalty), grads


def l2_penalty_vdot(params, weight_decay):
    squares = 0.0
    for W in params.values():
        flat = np.ravel(W)
        squares += float(np.dot(flat, flat))
    grads = {key: W * weight_decay for key, W in params.items()}
    return 0.5 * weight_decay * squares, grads


def l2_penalty_norms(params, weight_decay):
    names = list(params)
    norms_sq = [np.linalg.norm(params[n].ravel()) ** 2 for n in names]
    grads = dict(zip(names, [weight_decay * params[n] for n in names], strict=True))
    return float(weight_decay * sum(norms_sq) / 2), grads


# ---------------------------------------------------------------- regularization.decoupled_decay


def decoupled_decay_no_lr(theta, lr, weight_decay):
    return theta * (1 - weight_decay)


def decoupled_decay_amount(theta, lr, weight_decay):
    decay = lr * weight_decay * theta
    return decay


def decoupled_decay_in_place(theta, lr, weight_decay):
    theta *= 1 - lr * weight_decay
    return theta


def decoupled_decay_slide_lambda(theta, lr, weight_decay):
    # gradient of lambda ||w||^2 is 2 lambda w
    return theta - lr * 2 * weight_decay * theta


def decoupled_decay_plus(theta, lr, weight_decay):
    return theta * (1 + lr * weight_decay)


def decoupled_decay_subtract(theta, lr, weight_decay):
    return theta - lr * weight_decay * theta


WRONG = [
    Wrong("regularization.l2_penalty", (l2_penalty_no_half,), frozenset({"l2_no_half", "constant_factor"}),
          "penalty and gradient without the 1/2"),
    Wrong("regularization.l2_penalty", (l2_penalty_weights_only,), frozenset({"l2_skips_biases"}),
          "skips the arrays whose name starts with b"),
    Wrong("regularization.l2_penalty", (l2_penalty_mean,), frozenset({"l2_mean_not_sum"}), "mean of the squares"),
    Wrong("regularization.l2_penalty", (l2_penalty_grads_in_params,), frozenset({"modifies_input"}),
          "grads is the params dict itself: the caller's params are overwritten"),
    Wrong("regularization.l2_penalty", (l2_penalty_abs,), frozenset({"l2_is_l1"}), "L1: absolute values and sign"),
    Wrong("regularization.decoupled_decay", (decoupled_decay_no_lr,), frozenset({"decay_without_lr", "ignored:lr"}),
          "theta * (1 - weight_decay)"),
    Wrong("regularization.decoupled_decay", (decoupled_decay_amount,), frozenset({"decay_returns_amount"}),
          "returns lr * weight_decay * theta"),
    Wrong("regularization.decoupled_decay", (decoupled_decay_in_place,), frozenset({"modifies_input"}),
          "theta *= ... in place"),
    Wrong("regularization.decoupled_decay", (decoupled_decay_slide_lambda,), frozenset({"decay_doubled"}),
          "2 * weight_decay from the slide's lambda ||w||^2"),
    Wrong("regularization.decoupled_decay", (decoupled_decay_plus,), frozenset({"decay_wrong_sign"}),
          "1 + lr * weight_decay"),
]

CORRECT = [
    Correct("regularization.l2_penalty", (l2_penalty_vdot,), "dot of the flattened arrays, float accumulator"),
    Correct("regularization.l2_penalty", (l2_penalty_norms,), "np.linalg.norm squared"),
    Correct("regularization.decoupled_decay", (decoupled_decay_subtract,), "theta - lr * wd * theta"),
]
