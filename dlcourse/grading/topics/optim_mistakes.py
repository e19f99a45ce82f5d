"""The optimizer catalogue: every known mistake, as the textbook optimizer with one named piece swapped.

As ``_linear_wrong(dW=...)`` does for layers, a mistake here is the correct
textbook implementation of ``dlcourse.grading.topics.optim_textbook`` with the
piece the student gets wrong replaced (two pieces where the slip changes two
lines)::

    Mistake(id, message, _with(T.adam, denominator=T.eps_inside_adam_root))   # eps inside the root

Each mistake id is written once, here.  The order within a table matters: the
diagnosis names the first mistake that reproduces every observed trial.  The
targets using these tables are declared in ``dlcourse.grading.topics.optim``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from dlcourse.grading._core import Mistake
from dlcourse.grading.topics import optim_textbook as T


def _with(textbook: T.Step, **pieces: Callable[..., Any]) -> tuple[T.Step, Callable[..., Any]]:
    """``(step, init)``: the textbook optimizer with the named pieces swapped for wrong ones."""
    return partial(textbook, **pieces), T.init


_ADAGRAD_SUMS = ("Adagrad divides by the root of the SUM of all past squared gradients (sum = sum + g**2); a "
                 "moving average is RMSProp.")
_ADAM_NO_BIAS_CORRECTION = ("Bias-correct both moments, m_hat = m / (1 - beta1**t) and v_hat = v / (1 - beta2**t), "
                            "before the update: m and v start at 0, so without it the first steps are wrong.")
_ADAM_EPS_INSIDE_SQRT = ("Add eps outside the square root, sqrt(v_hat) + eps, as torch and the paper do, not "
                         "sqrt(v_hat + eps).")

SGD_MISTAKES = (
    Mistake("sgd_weight_decay_sign", "Weight decay adds weight_decay * theta to the gradient (g = grad + "
            "weight_decay * theta); you subtracted it.",
            _with(T.sgd, gradient=lambda grad, theta, weight_decay: grad - weight_decay * theta)),
    Mistake("sgd_weight_decay_ignored", "Use the weight_decay argument: step with grad + weight_decay * theta.",
            _with(T.sgd, gradient=T.no_l2)),
    Mistake("sgd_weight_decay_without_lr", "The decay term is scaled by the learning rate too: theta - lr * (grad + "
            "weight_decay * theta).",
            _with(T.sgd, gradient=T.no_l2, descend=lambda theta, lr, g, wd: theta - lr * g - wd * theta)),
    Mistake("sgd_ascent", "Gradient descent moves against the gradient: theta - lr * g, not theta + lr * g.",
            _with(T.sgd, descend=lambda theta, lr, g, wd: theta + lr * g)),
)

MOMENTUM_MISTAKES = (
    Mistake("momentum_moving_average", "This exercise uses torch's momentum, v = momentum * v + (1 - dampening) * "
            "g, which keeps the whole gradient; you wrote a moving average v = momentum * v + (1 - momentum) * g.",
            _with(T.momentum, velocity=T.moving_average_velocity)),
    Mistake("momentum_dampening_on_first_step", "On the first step the buffer is the gradient itself, undampened "
            "(v = g); starting from v = 0 applies (1 - dampening) to it.",
            _with(T.momentum, velocity=lambda v, g, momentum, dampening, t: momentum * v + (1 - dampening) * g)),
    Mistake("momentum_dampening_ignored", "Use the dampening argument: after the first step v = momentum * v + "
            "(1 - dampening) * g.",
            _with(T.momentum, velocity=lambda v, g, momentum, dampening, t: g if t == 1 else momentum * v + g)),
    Mistake("momentum_weight_decay_outside_buffer", "Add weight_decay * theta to the gradient BEFORE it enters the "
            "momentum buffer, not to the step afterwards.",
            _with(T.momentum, gradient=T.no_l2, direction=lambda v, theta, weight_decay: v + weight_decay * theta)),
)

NESTEROV_MISTAKES = (
    Mistake("nesterov_plain_momentum", "That is heavy-ball momentum (theta - lr * v, the same as using last step's v "
            "in the look-ahead); Nesterov steps with g + momentum * v using the updated v.",
            _with(T.nesterov, lookahead=lambda g, v, momentum: v)),
    Mistake("nesterov_lookahead_on_buffer", "The look-ahead adds momentum * v to the gradient: step with g + momentum "
            "* v, not (1 + momentum) * v.",
            _with(T.nesterov, lookahead=lambda g, v, momentum: v + momentum * v)),
    Mistake("nesterov_moving_average", "This exercise uses torch's buffer v = momentum * v + g, which keeps the "
            "whole gradient; you wrote a moving average v = momentum * v + (1 - momentum) * g.",
            _with(T.nesterov, velocity=T.moving_average_velocity)),
    Mistake("nesterov_weight_decay_ignored", "Use the weight_decay argument: g = grad + weight_decay * theta before "
            "the momentum update.",
            _with(T.nesterov, gradient=T.no_l2)),
)

ADAGRAD_MISTAKES = (
    Mistake("adagrad_moving_average", _ADAGRAD_SUMS,
            _with(T.adagrad, accumulate=lambda total, g: T.ema_of_square(total, g, 0.9))),
    Mistake("adagrad_moving_average_0.99", _ADAGRAD_SUMS,
            _with(T.adagrad, accumulate=lambda total, g: T.ema_of_square(total, g, 0.99))),
    Mistake("adagrad_eps_inside_sqrt", "Add eps outside the square root, sqrt(sum) + eps (torch and Duchi et al.), "
            "not sqrt(sum + eps).",
            _with(T.adagrad, denominator=T.root_of_mean_square_plus_eps)),
    Mistake("adagrad_lr_decay_off_by_one", "The first step uses the full lr: lr_t = lr / (1 + (t - 1) * lr_decay) "
            "with t = 1 on the first step.",
            _with(T.adagrad, decayed_lr=lambda lr, lr_decay, t: lr / (1 + t * lr_decay))),
    Mistake("adagrad_initial_accumulator_ignored", "Start the sum of squares at initial_accumulator_value, not at 0.",
            _with(T.adagrad, start=lambda initial_accumulator_value: 0.0)),
)

RMSPROP_MISTAKES = (
    Mistake("rmsprop_alpha_swapped", "alpha is the weight of the OLD average: square_avg = alpha * square_avg + "
            "(1 - alpha) * g**2; you swapped alpha and 1 - alpha.",
            _with(T.rmsprop, decay=T.one_minus)),
    Mistake("rmsprop_no_sqrt", "Divide by the ROOT of the running average, sqrt(square_avg) + eps: without the "
            "square root the step scales like 1/g instead of being about lr.",
            _with(T.rmsprop, denominator=T.mean_square_plus_eps)),
    Mistake("rmsprop_eps_inside_sqrt", "Add eps outside the square root, sqrt(square_avg) + eps as torch does, not "
            "sqrt(square_avg + eps).",
            _with(T.rmsprop, denominator=T.root_of_mean_square_plus_eps)),
    Mistake("rmsprop_centered_ignored", "With centered=True also average the gradients (grad_avg) and divide by "
            "sqrt(square_avg - grad_avg**2) + eps.",
            _with(T.rmsprop, variance=T.uncentered_variance)),
    Mistake("rmsprop_eps_inside_sqrt_centered_ignored", "Two slips: add eps outside the square root, as torch does, "
            "and with centered=True subtract the squared average gradient: divide by sqrt(square_avg) + eps, or "
            "sqrt(square_avg - grad_avg**2) + eps when centered, not by sqrt(square_avg + eps).",
            _with(T.rmsprop, denominator=T.root_of_mean_square_plus_eps, variance=T.uncentered_variance)),
    Mistake("rmsprop_momentum_on_raw_gradient", "With momentum > 0 the buffer accumulates the SCALED gradient, "
            "buf = momentum * buf + g / (sqrt(square_avg) + eps), and theta moves by lr * buf.",
            _with(T.rmsprop, scaled_momentum=T.momentum_on_raw_gradient)),
)

ADADELTA_MISTAKES = (
    Mistake("adadelta_no_lr", "Multiply the update by lr (torch's Adadelta has one, default 1.0); the paper's "
            "version without it only matches lr = 1.",
            _with(T.adadelta, scale=lambda delta, lr: delta)),
    Mistake("adadelta_eps_outside_sqrt", "In Adadelta eps goes INSIDE both roots: sqrt(acc_delta + eps) / "
            "sqrt(square_avg + eps).",
            _with(T.adadelta, rms=T.root_plus_eps)),
    Mistake("adadelta_rho_swapped", "rho is the weight of the OLD averages: avg = rho * avg + (1 - rho) * new; you "
            "swapped rho and 1 - rho.",
            _with(T.adadelta, decay=T.one_minus)),
    Mistake("adadelta_accumulates_scaled_step", "Accumulate the squared delta BEFORE it is multiplied by lr: "
            "acc_delta = rho * acc_delta + (1 - rho) * delta**2.",
            _with(T.adadelta, remembered=lambda delta, step: step)),
)

ADAM_MISTAKES = (
    Mistake("adam_no_bias_correction", _ADAM_NO_BIAS_CORRECTION, _with(T.adam, correct=T.uncorrected)),
    Mistake("adam_no_sqrt", "Divide by the square ROOT of v_hat, m_hat / (sqrt(v_hat) + eps): without the root "
            "the step scales like 1/g instead of being about lr.",
            _with(T.adam, denominator=T.adam_without_root)),
    Mistake("adam_eps_inside_sqrt", _ADAM_EPS_INSIDE_SQRT, _with(T.adam, denominator=T.eps_inside_adam_root)),
    Mistake("adam_eps_before_bias_correction", "Add eps to the root of the bias-CORRECTED v_hat, sqrt(v_hat) + eps; "
            "adding it to sqrt(v) and then correcting is the paper's eps-hat variant, not torch's Adam.",
            _with(T.adam, denominator=T.eps_before_bias_correction)),
    Mistake("adam_step_count_from_zero", "The first step has t = 1: increment the step counter before the bias "
            "correction (with t = 0, 1 - beta1**0 = 0 divides by zero).",
            _with(T.adam, count=lambda t: t - 1)),
    Mistake("adam_step_count_off_by_one", "The bias correction uses t = 1 on the first step; your counter is one "
            "step ahead (started at 1, or incremented twice).",
            _with(T.adam, count=T.one_ahead)),
    Mistake("adam_step_count_never_incremented", "Store the incremented counter in the new state: your bias "
            "correction uses t = 1 at every step, so m_hat and v_hat stay divided by (1 - beta) instead of "
            "approaching m and v.",
            _with(T.adam, count=lambda t: 1)),
    Mistake("adam_betas_swapped", "betas = (beta1, beta2): beta1 (0.9) averages the gradients m, beta2 (0.999) the "
            "squared gradients v; you swapped them.",
            _with(T.adam, order=T.swapped)),
    Mistake("adam_decoupled_weight_decay", "In Adam, weight_decay is an L2 penalty added to the gradient, g = grad + "
            "weight_decay * theta; shrinking theta directly is AdamW.",
            _with(T.adam, gradient=T.no_l2, apply=T.decay_then_subtract)),
)

ADAMW_MISTAKES = (
    Mistake("adamw_l2_penalty", "AdamW decouples the decay: shrink theta by (1 - lr * weight_decay) and leave the "
            "gradient alone; adding weight_decay * theta to the gradient is Adam's L2 penalty.",
            _with(T.adamw, gradient=T.l2, apply=T.subtract)),
    Mistake("adamw_decay_after_update", "Apply the decay to the OLD theta: theta * (1 - lr * weight_decay) - lr * "
            "m_hat / (sqrt(v_hat) + eps), not to the already updated theta.",
            _with(T.adamw, apply=lambda theta, update, lr, wd: (theta - update) * (1 - lr * wd))),
    Mistake("adamw_decay_without_lr", "The decoupled decay is scaled by the learning rate: theta * (1 - lr * "
            "weight_decay), not theta * (1 - weight_decay).",
            _with(T.adamw, apply=lambda theta, update, lr, wd: theta * (1 - wd) - update)),
    Mistake("adamw_no_bias_correction", _ADAM_NO_BIAS_CORRECTION, _with(T.adamw, correct=T.uncorrected)),
    Mistake("adamw_eps_inside_sqrt", _ADAM_EPS_INSIDE_SQRT, _with(T.adamw, denominator=T.eps_inside_adam_root)),
)

ADAMAX_MISTAKES = (
    Mistake("adamax_no_bias_correction", "Divide the step by (1 - beta1**t): m starts at 0 and needs bias "
            "correction (u does not).",
            _with(T.adamax, step_size=lambda lr, beta1, t: lr)),
    Mistake("adamax_u_bias_corrected", "u = max(beta2 * u, |g| + eps) needs no bias correction; do not divide it by "
            "(1 - beta2**t).",
            _with(T.adamax, denominator=lambda u, eps, beta2, t: T.bias_corrected(u, beta2, t))),
    Mistake("adamax_eps_outside_max", "torch adds eps inside the max, u = max(beta2 * u, |g| + eps), and divides by "
            "u; you added eps to u afterwards.",
            _with(T.adamax, infinity_norm=lambda decayed_u, g, eps: np.maximum(decayed_u, np.abs(g)),
                  denominator=lambda u, eps, beta2, t: u + eps)),
    Mistake("adamax_u_not_decayed", "Decay the running max: u = max(beta2 * u, |g| + eps), not max(u, |g| + eps).",
            _with(T.adamax, u_decay=lambda beta2: 1.0)),
    Mistake("adamax_step_count_off_by_one", "The bias correction lr / (1 - beta1**t) uses t = 1 on the first step "
            "(torch counts from 0 and increments before use); your counter is one step ahead (started at 1, or "
            "incremented twice).", _with(T.adamax, count=T.one_ahead)),
)

NADAM_MISTAKES = (
    # the blog/slide form: a constant beta1 and Adam's bias correction
    Mistake("nadam_simplified", "torch's NAdam uses the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96**(t * "
            "momentum_decay)) and its running product, not beta1 * m_hat + (1 - beta1) * g / (1 - beta1**t).",
            _with(T.nadam, update=lambda theta, g, m, d, lr, mu, mu_next, product, beta1, t:
                  theta - lr * ((beta1 * m / (1 - beta1**t) + (1 - beta1) * g / (1 - beta1**t)) / d))),
    Mistake("nadam_momentum_schedule_ignored", "mu_t is not beta1: it follows the schedule beta1 * (1 - 0.5 * "
            "0.96**(t * momentum_decay)).",
            _with(T.nadam, schedule=lambda beta1, momentum_decay, t: beta1)),
    Mistake("nadam_eps_inside_sqrt", "Add eps outside the square root, sqrt(v_hat) + eps, not sqrt(v_hat + eps).",
            _with(T.nadam, denominator=T.root_of_mean_square_plus_eps)),
    Mistake("nadam_decoupled_weight_decay_ignored", "With decoupled_weight_decay=True shrink theta by (1 - lr * "
            "weight_decay) instead of adding weight_decay * theta to the gradient.",
            _with(T.nadam, decay_form=lambda theta, grad, lr, wd, _: T.nadam_decay(theta, grad, lr, wd, False))),
    Mistake("nadam_step_count_off_by_one", "The first step has t = 1 in mu_t, mu_{t+1} and the bias correction "
            "1 - beta2**t (torch counts from 0 and increments before use); your counter is one step ahead "
            "(started at 1, or incremented twice).", _with(T.nadam, count=T.one_ahead)),
)

LION_MISTAKES = (
    Mistake("lion_sign_of_momentum", "Take the sign of the interpolation c = beta1 * m + (1 - beta1) * g, computed "
            "BEFORE m is updated with beta2.",
            _with(T.lion, interpolation=lambda m, new_m, g, beta1: new_m)),
    Mistake("lion_betas_swapped", "beta1 interpolates for the step and beta2 updates the stored momentum; you "
            "swapped them.",
            _with(T.lion, order=T.swapped)),
    Mistake("lion_weight_decay_in_sign", "Lion's weight decay is decoupled: theta - lr * (sign(c) + weight_decay * "
            "theta), not inside the sign.",
            _with(T.lion, gradient=T.l2, apply=lambda theta, sign, lr, wd: theta - lr * sign)),
    Mistake("lion_weight_decay_in_sign_only", "Lion's weight decay is decoupled: theta - lr * (sign(c) + "
            "weight_decay * theta), not sign(c + weight_decay * theta).",
            _with(T.lion, direction=lambda c, theta, wd: np.sign(c + wd * theta),
                  apply=lambda theta, sign, lr, wd: theta - lr * sign)),
    Mistake("lion_weight_decay_without_lr", "The decay is scaled by lr: theta - lr * (sign(c) + weight_decay * "
            "theta).",
            _with(T.lion, apply=lambda theta, sign, lr, wd: theta - lr * sign - wd * theta)),
)
