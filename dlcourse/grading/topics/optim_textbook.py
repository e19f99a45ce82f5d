"""The optimizer catalogue's textbook implementations, with the pieces students get wrong named.

Each of ``sgd`` ... ``lion`` below is a plain textbook implementation of one
optimizer (its own state dict ``{"t": ...}``, from ``init``), written
independently of ``dlcourse.optim`` so that comparing the two means something:
the tests check that every textbook version passes its check.  The steps
students get wrong are keyword-only pieces whose defaults are the right ones
(``adam(..., denominator=adam_root)``); ``dlcourse.grading.topics.optim_mistakes``
builds each catalogued mistake by swapping one named piece (or two, where the
slip changes two lines) for a wrong one, so every variant is otherwise this
correct implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Step = Callable[..., tuple[Any, Any]]


def init(theta: np.ndarray) -> dict[str, Any]:
    """The catalogue's init for every optimizer: buffers are created on first use."""
    return {"t": 0}


def _buffer(state: dict[str, Any], key: str, theta: np.ndarray, start: float = 0.0) -> np.ndarray:
    return state[key] if key in state else np.full_like(theta, start)


# ----------------------------------------------------------------- shared pieces
def as_given(value: Any) -> Any:
    return value


def one_ahead(t: int) -> int:
    """A step counter started at 1 (or incremented twice): the first step computes with t = 2."""
    return t + 1


def swapped(betas: tuple[float, float]) -> tuple[float, float]:
    return betas[::-1]


def one_minus(decay: float) -> float:
    return 1 - decay


def l2(grad: np.ndarray, theta: np.ndarray, weight_decay: float) -> np.ndarray:
    return grad + weight_decay * theta


def no_l2(grad: np.ndarray, theta: np.ndarray, weight_decay: float) -> np.ndarray:
    return grad


def ema(average: np.ndarray, value: np.ndarray, decay: float) -> np.ndarray:
    return decay * average + (1 - decay) * value


def ema_of_square(average: np.ndarray, value: np.ndarray, decay: float) -> np.ndarray:
    return decay * average + (1 - decay) * value * value


def root_plus_eps(mean_square: np.ndarray, eps: float) -> np.ndarray:
    return np.sqrt(mean_square) + eps


def mean_square_plus_eps(mean_square: np.ndarray, eps: float) -> np.ndarray:
    """The mean square itself, no root: a slip that divides by the variance instead of the RMS."""
    return mean_square + eps


def root_of_mean_square_plus_eps(mean_square: np.ndarray, eps: float) -> np.ndarray:
    return np.sqrt(mean_square + eps)


def bias_corrected(moment: np.ndarray, decay: float, t: int) -> np.ndarray:
    return moment / (1 - decay**t)


def uncorrected(moment: np.ndarray, decay: float, t: int) -> np.ndarray:
    return moment


# ------------------------------------------------------------ SGD and momentum
def gradient_step(theta, lr, g, weight_decay):
    return theta - lr * g


def sgd(theta, grad, state, lr=1e-3, weight_decay=0.0, *, gradient=l2, descend=gradient_step):
    return descend(theta, lr, gradient(grad, theta, weight_decay), weight_decay), state


def torch_velocity(v, g, momentum, dampening, t):
    """torch's buffer: the gradient itself on step 1, then momentum * v + (1 - dampening) * g."""
    return g if t == 1 else momentum * v + (1 - dampening) * g


def moving_average_velocity(v, g, momentum, dampening, t):
    return ema(v, g, momentum)


def velocity_itself(v, theta, weight_decay):
    return v


# Sutskever's v <- mu*v - lr*g is not a mistake: its v is -lr times torch's,
# the same iterates for a constant lr (see dlcourse.grading.topics.optim).
def momentum(theta, grad, state, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *,
             gradient=l2, velocity=torch_velocity, direction=velocity_itself):
    t = state["t"] + 1
    v = velocity(_buffer(state, "v", theta), gradient(grad, theta, weight_decay), momentum, dampening, t)
    return theta - lr * direction(v, theta, weight_decay), {"t": t, "v": v}


def nesterov_lookahead(g, v, momentum):
    return g + momentum * v


def nesterov(theta, grad, state, lr=1e-3, momentum=0.9, weight_decay=0.0, *,
             gradient=l2, velocity=torch_velocity, lookahead=nesterov_lookahead):
    t = state["t"] + 1
    g = gradient(grad, theta, weight_decay)
    v = velocity(_buffer(state, "v", theta), g, momentum, 0.0, t)
    return theta - lr * lookahead(g, v, momentum), {"t": t, "v": v}


# ------------------------------------------------- Adagrad, RMSProp, Adadelta
def add_square(total, g):
    return total + g * g


def adagrad_lr(lr, lr_decay, t):
    return lr / (1 + (t - 1) * lr_decay)


def adagrad(theta, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, *, start=as_given, accumulate=add_square, decayed_lr=adagrad_lr,
            denominator=root_plus_eps):
    t = state["t"] + 1
    g = grad + weight_decay * theta
    total = accumulate(_buffer(state, "sum", theta, start(initial_accumulator_value)), g)
    return theta - decayed_lr(lr, lr_decay, t) * g / denominator(total, eps), {"t": t, "sum": total}


def centered_variance(square_avg, grad_avg):
    return square_avg - grad_avg**2


def uncentered_variance(square_avg, grad_avg):
    """``centered`` ignored: the plain mean square even when the gradients are averaged."""
    return square_avg


def momentum_on_scaled_gradient(buffer, g, rms, momentum):
    """``(new buffer, step)``: the buffer accumulates g / rms and is the step."""
    buffer = momentum * buffer + g / rms
    return buffer, buffer


def momentum_on_raw_gradient(buffer, g, rms, momentum):
    buffer = momentum * buffer + g
    return buffer, buffer / rms


def rmsprop(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            *, decay=as_given, variance=centered_variance, denominator=root_plus_eps,
            scaled_momentum=momentum_on_scaled_gradient):
    g = grad + weight_decay * theta
    keep = decay(alpha)
    square_avg = ema_of_square(_buffer(state, "square_avg", theta), g, keep)
    new_state = {"square_avg": square_avg}
    mean_square = square_avg
    if centered:
        new_state["grad_avg"] = ema(_buffer(state, "grad_avg", theta), g, keep)
        mean_square = variance(square_avg, new_state["grad_avg"])
    rms = denominator(mean_square, eps)
    if momentum > 0:
        new_state["buffer"], step = scaled_momentum(_buffer(state, "buffer", theta), g, rms, momentum)
    else:
        step = g / rms
    return theta - lr * step, new_state


def times_lr(delta, lr):
    return lr * delta


def delta_itself(delta, step):
    return delta


def adadelta(theta, grad, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *,
             decay=as_given, rms=root_of_mean_square_plus_eps, scale=times_lr, remembered=delta_itself):
    g = grad + weight_decay * theta
    keep = decay(rho)
    square_avg = ema_of_square(_buffer(state, "square_avg", theta), g, keep)
    acc_delta = _buffer(state, "acc_delta", theta)
    delta = rms(acc_delta, eps) / rms(square_avg, eps) * g
    step = scale(delta, lr)
    acc_delta = ema_of_square(acc_delta, remembered(delta, step), keep)
    return theta - step, {"square_avg": square_avg, "acc_delta": acc_delta}


# --------------------------------------------------- Adam and its variants
def adam_root(v_hat, eps, v_correction):
    """``sqrt(v_hat) + eps``; ``v_correction = 1 - beta2**t`` is there for the variants that misuse it."""
    return np.sqrt(v_hat) + eps


def eps_inside_adam_root(v_hat, eps, v_correction):
    return np.sqrt(v_hat + eps)


def adam_without_root(v_hat, eps, v_correction):
    return v_hat + eps


def eps_before_bias_correction(v_hat, eps, v_correction):
    return (np.sqrt(v_hat * v_correction) + eps) / np.sqrt(v_correction)


def subtract(theta, update, lr, weight_decay):
    return theta - update


def decay_then_subtract(theta, update, lr, weight_decay):
    return theta * (1 - lr * weight_decay) - update


def adam(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, order=as_given,
         gradient=l2, count=as_given, correct=bias_corrected, denominator=adam_root, apply=subtract):
    beta1, beta2 = order(betas)
    t = state["t"] + 1
    g = gradient(grad, theta, weight_decay)
    m = ema(_buffer(state, "m", theta), g, beta1)
    v = ema_of_square(_buffer(state, "v", theta), g, beta2)
    m_hat, v_hat = correct(m, beta1, count(t)), correct(v, beta2, count(t))
    update = lr * m_hat / denominator(v_hat, eps, 1 - beta2**t)
    return apply(theta, update, lr, weight_decay), {"t": t, "m": m, "v": v}


def adamw(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, **pieces):
    """Adam with the decay decoupled: no L2 gradient, theta shrunk before the update."""
    pieces = {"gradient": no_l2, "apply": decay_then_subtract, **pieces}
    return adam(theta, grad, state, lr, betas, eps, weight_decay, **pieces)


def max_with_eps(decayed_u, g, eps):
    return np.maximum(decayed_u, np.abs(g) + eps)


def u_itself(u, eps, beta2, t):
    return u


def bias_corrected_lr(lr, beta1, t):
    return lr / (1 - beta1**t)


def adamax(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
           count=as_given, u_decay=as_given, infinity_norm=max_with_eps, denominator=u_itself,
           step_size=bias_corrected_lr):
    beta1, beta2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = ema(_buffer(state, "m", theta), g, beta1)
    u = infinity_norm(u_decay(beta2) * _buffer(state, "u", theta), g, eps)
    k = count(t)  # the step number the bias correction uses
    return theta - step_size(lr, beta1, k) * m / denominator(u, eps, beta2, k), {"t": t, "m": m, "u": u}


def nadam_decay(theta, grad, lr, weight_decay, decoupled):
    """``(theta, g)``: decoupled decay shrinks theta, otherwise the L2 gradient is added."""
    return (theta * (1 - lr * weight_decay), grad) if decoupled else (theta, grad + weight_decay * theta)


def momentum_schedule(beta1, momentum_decay, t):
    return beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))


def nesterov_update(theta, g, m, d, lr, mu, mu_next, product, beta1, t):
    """torch's NAdam step: the gradient and the momentum, each with its own scheduled weight, over d."""
    return theta - lr * (1 - mu) / (1 - product) * g / d - lr * mu_next / (1 - product * mu_next) * m / d


def nadam(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, *, count=as_given, decay_form=nadam_decay, schedule=momentum_schedule,
          denominator=root_plus_eps, update=nesterov_update):
    beta1, beta2 = betas
    t = state["t"] + 1
    k = count(t)  # the step number the formulas use
    theta, g = decay_form(theta, grad, lr, weight_decay, decoupled_weight_decay)
    m = ema(_buffer(state, "m", theta), g, beta1)
    v = ema_of_square(_buffer(state, "v", theta), g, beta2)
    d = denominator(v / (1 - beta2**k), eps)
    mu, mu_next = schedule(beta1, momentum_decay, k), schedule(beta1, momentum_decay, k + 1)
    product = state.get("product", 1.0) * mu
    return update(theta, g, m, d, lr, mu, mu_next, product, beta1, k), {"t": t, "m": m, "v": v, "product": product}


# ------------------------------------------------------------------------ Lion
def lion_interpolation(m, new_m, g, beta1):
    return ema(m, g, beta1)


def lion_update(theta, sign, lr, weight_decay):
    return theta - lr * (sign + weight_decay * theta)


def lion_direction(c, theta, weight_decay):
    return np.sign(c)


def lion(theta, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
         order=as_given, gradient=no_l2, interpolation=lion_interpolation, direction=lion_direction,
         apply=lion_update):
    beta1, beta2 = order(betas)
    g = gradient(grad, theta, weight_decay)
    m = _buffer(state, "m", theta)
    new_m = ema(m, g, beta2)
    c = interpolation(m, new_m, g, beta1)
    return apply(theta, direction(c, theta, weight_decay), lr, weight_decay), {"m": new_m}


TEXTBOOKS: dict[str, Step] = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad, "rmsprop": rmsprop,
    "adadelta": adadelta, "adam": adam, "adamw": adamw, "adamax": adamax, "nadam": nadam, "lion": lion,
}


def textbook(name: str) -> tuple[Step, Callable[..., Any]]:
    """The catalogue's correct (mistake-free) implementation of target ``optim.<name>``: ``(step, init)``."""
    return TEXTBOOKS[name], init

