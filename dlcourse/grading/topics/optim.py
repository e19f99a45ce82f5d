"""Checks for the optimizers (``optim.NAME``): trajectories of ``NAME_step`` started from ``NAME_init``.

A trial runs a short optimization and compares every iterate::

    state = NAME_init(theta_0)
    for k in 1..K:
        g_k = curvature * (theta_{k-1} - minimum) + noise_k        (same rule for everyone)
        theta_k, state = NAME_step(theta_{k-1}, g_k, state, **hyperparameters)

The gradient is that of a fixed noisy quadratic evaluated at the CURRENT
parameters of the implementation under test, so an error at one step changes
the gradients that follow, as it would in training; the quadratic keeps every
trajectory bounded.  The observable is ``theta_k`` for k = 0..K stacked along
axis 0, so the feedback's "first wrong value at index (k, ...)" names the
first step whose result differs.  The state is the student's own business
(any dict, tuple, ...), but ``NAME_step`` must return ``(new_theta,
new_state)`` with ``new_theta`` a float array of theta's shape, and must not
modify its inputs (the state it was given included).

Regimes: gradients of order 1, tiny gradients (~1e-6, where the placement of
eps decides the step) and large values (~1e2).  Hyperparameters use
``dlcourse.optim``'s (torch's) names and defaults.

Tolerance: the default ``rtol=1e-6`` (``atol = 1e-9 * max|theta|``); float32
trials ``FLOAT32_TOLERANCE``.  Two correct float64 implementations differ by
reassociation only, ~1e-15 per step, and the quadratic is contracting, so 50
steps stay far below 1e-12 (measured in float64: <= 4e-16 between the catalogue's
mistake-free versions and the reference), while every catalogued mistake exceeds the
tolerance by a factor of at least 2000 on some VISIBLE trial (measured).

Not catalogued: Sutskever's momentum ``v <- mu*v - lr*g; theta <- theta + v``
and Nesterov as ``theta <- theta - mu*v_old + (1 + mu)*v_new`` (Bengio et al.
2013) give torch's iterates exactly while lr is constant; the tests accept them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from dlcourse import optim as O
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values, random_array

TRAJECTORY = "theta after each step (row k = theta after k steps; row 0 = the initial theta)"

# regime -> (scale of theta and of the minimum, scale of the curvature, scale of the noise, words)
_REGIMES = {
    "unit": (1.0, 1.0, 0.5, "gradients of order 1"),
    "tiny": (1.0, 1e-6, 1e-6, "tiny gradients (~1e-6)"),
    "large": (100.0, 1.0, 50.0, "large parameters and gradients (~1e2)"),
}
_VISIBLE_SHAPES = ((7,), (1,), (3, 5))
_HIDDEN_SHAPES = ((1,), (7,), (3, 5), (1, 4), (5, 3), (2, 3, 4), (9,), (4, 6))
_VISIBLE_STEPS = 20
_HIDDEN_STEPS = (30, 50, 25, 40)





def _check_new_theta(new_theta: Any, theta0: np.ndarray, role: str, step: int) -> None:
    where = f"at step {step}, new_theta"
    if not isinstance(new_theta, np.ndarray):
        raise GradingError(f"{role} must return new_theta as a numpy array of shape {theta0.shape}; {where} is a "
                           f"{type(new_theta).__name__}")
    if new_theta.shape != theta0.shape:
        raise GradingError(f"{role} must return new_theta of theta's shape {theta0.shape}; {where} has shape "
                           f"{new_theta.shape} (check that grad and the state arrays have theta's shape and that "
                           f"no axis was added or summed away)")
    if not np.issubdtype(new_theta.dtype, np.floating):
        raise GradingError(f"{role} must return a floating-point new_theta; {where} has dtype {new_theta.dtype}")


def _gradient(extra: dict[str, Any], theta: np.ndarray, k: int, dtype: Any) -> np.ndarray:
    """The k-th gradient: the noisy quadratic's gradient at ``theta``, in the trial's dtype."""
    return (extra["curvature"] * (theta - extra["minimum"]) + extra["noise"][k]).astype(dtype, copy=False)


def _trajectory_observe(step_role: str, init_role: str) -> Callable[[Any, Trial], dict[str, Any]]:
    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        theta0 = trial.args[0][1]
        state = call(init_role, trial.args)
        thetas = [theta0]
        for k in range(len(trial.extra["noise"])):
            theta = thetas[-1]
            grad = _gradient(trial.extra, theta, k, theta0.dtype)
            result = call(step_role, [("theta", theta), ("grad", grad), ("state", state)], trial.kwargs)
            new_theta, state = expect_values(result, step_role, ("new_theta", "new_state"), f"at step {k + 1} ")
            _check_new_theta(new_theta, theta0, step_role, k + 1)
            thetas.append(new_theta)
        return {TRAJECTORY: np.stack(thetas)}

    return observe


def _shape_words(shape: tuple[int, ...]) -> str:
    if shape == (1,):
        return "a single parameter"
    if len(shape) == 1:
        return f"a vector of {shape[0]} parameters"
    return f"a {shape} array of parameters"


def _trajectory_trial(rng: np.random.Generator, shape: tuple[int, ...], regime: str, hyperparameters: dict[str, Any],
                      steps: int, dtype: Any = np.float64) -> Trial:
    theta_scale, curvature_scale, noise_scale, words = _REGIMES[regime]
    extra = {
        "minimum": rng.standard_normal(shape) * theta_scale,
        "curvature": rng.uniform(0.5, 2.0, shape) * curvature_scale,
        "noise": rng.standard_normal((steps, *shape)) * noise_scale,
    }
    float32 = dtype == np.float32
    label = (f"{'float32 ' if float32 else ''}{_shape_words(shape)}, {steps} steps, {words}, "
             f"{'non-default' if hyperparameters else 'default'} hyperparameters")
    return Trial(label, [("theta", random_array(rng, shape, theta_scale, dtype))], dict(hyperparameters), extra,
                 tolerance=FLOAT32_TOLERANCE if float32 else None)


Case = tuple[str, dict[str, Any]]  # (regime, hyperparameters)


def _trials_for(visible: list[Case], hidden_only: list[Case]) -> Callable[[np.random.Generator, bool], list[Trial]]:
    """Visible: the visible cases on the visible shapes, 20 steps.  Hidden: every case, more shapes and
    steps, and a float32 run with the last visible (non-default) hyperparameters."""

    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        if not hidden:
            return [_trajectory_trial(rng, _VISIBLE_SHAPES[i % 3], regime, hp, _VISIBLE_STEPS)
                    for i, (regime, hp) in enumerate(visible)]
        chosen = [*visible, *hidden_only]
        built = [_trajectory_trial(rng, _HIDDEN_SHAPES[i % len(_HIDDEN_SHAPES)], regime, hp,
                                   _HIDDEN_STEPS[i % len(_HIDDEN_STEPS)]) for i, (regime, hp) in enumerate(chosen)]
        return [*built, _trajectory_trial(rng, (4, 3), "unit", visible[-1][1], 20, np.float32)]

    return trials


# ---------------------------------------------------------------------------
# The catalogue.  Each optimizer is written once more, plainly, as a student
# would ("textbook" form, its own state dict); ``mistake`` switches exactly
# one line to the wrong version, so every variant is otherwise correct.  With
# no mistake each textbook function is itself a correct implementation (the
# tests check that it passes), which keeps the variants faithful.
# ---------------------------------------------------------------------------


def _init(theta: np.ndarray) -> dict[str, Any]:
    return {"t": 0}


def _buffer(state: dict[str, Any], key: str, theta: np.ndarray, fill: float = 0.0) -> np.ndarray:
    return state[key] if key in state else np.full_like(theta, fill)


def _sgd(theta, grad, state, lr=1e-3, weight_decay=0.0, *, mistake=""):
    if mistake == "sgd_weight_decay_sign":
        g = grad - weight_decay * theta
    elif mistake in ("sgd_weight_decay_ignored", "sgd_weight_decay_without_lr"):
        g = grad
    else:
        g = grad + weight_decay * theta
    if mistake == "sgd_ascent":
        return theta + lr * g, state
    if mistake == "sgd_weight_decay_without_lr":
        return theta - lr * g - weight_decay * theta, state
    return theta - lr * g, state


# Sutskever's v <- mu*v - lr*g is not a mistake: its v is -lr times torch's,
# the same iterates for a constant lr (see the module docstring).
def _momentum(theta, grad, state, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *, mistake=""):
    decay_in_buffer = mistake != "momentum_weight_decay_outside_buffer"
    g = grad + weight_decay * theta if decay_in_buffer else grad
    old = state.get("v")
    if mistake == "momentum_moving_average":
        v = momentum * _buffer(state, "v", theta) + (1 - momentum) * g
    elif mistake == "momentum_dampening_on_first_step":
        v = momentum * _buffer(state, "v", theta) + (1 - dampening) * g
    elif mistake == "momentum_dampening_ignored":
        v = g if old is None else momentum * old + g
    else:
        v = g if old is None else momentum * old + (1 - dampening) * g
    step = v if decay_in_buffer else v + weight_decay * theta
    return theta - lr * step, {"v": v}


def _nesterov(theta, grad, state, lr=1e-3, momentum=0.9, weight_decay=0.0, *, mistake=""):
    g = grad if mistake == "nesterov_weight_decay_ignored" else grad + weight_decay * theta
    if mistake == "nesterov_moving_average":
        v = momentum * _buffer(state, "v", theta) + (1 - momentum) * g
    else:
        v = g if "v" not in state else momentum * state["v"] + g
    if mistake == "nesterov_plain_momentum":
        step = v
    elif mistake == "nesterov_lookahead_on_buffer":
        step = v + momentum * v
    else:
        step = g + momentum * v
    return theta - lr * step, {"v": v}


def _adagrad(theta, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
             eps=1e-10, *, mistake=""):
    t = state["t"] + 1
    g = grad + weight_decay * theta
    start = 0.0 if mistake == "adagrad_initial_accumulator_ignored" else initial_accumulator_value
    total = _buffer(state, "sum", theta, start)
    if mistake.startswith("adagrad_moving_average"):
        decay = 0.99 if mistake.endswith("0.99") else 0.9
        total = decay * total + (1 - decay) * g * g
    else:
        total = total + g * g
    decays = t if mistake == "adagrad_lr_decay_off_by_one" else t - 1
    lr_t = lr / (1 + decays * lr_decay)
    denominator = np.sqrt(total + eps) if mistake == "adagrad_eps_inside_sqrt" else np.sqrt(total) + eps
    return theta - lr_t * g / denominator, {"t": t, "sum": total}


def _rmsprop(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             *, mistake=""):
    g = grad + weight_decay * theta
    keep = 1 - alpha if mistake == "rmsprop_alpha_swapped" else alpha
    square_avg = keep * _buffer(state, "square_avg", theta) + (1 - keep) * g * g
    new_state = {"square_avg": square_avg}
    mean_square = square_avg
    if centered and mistake != "rmsprop_centered_ignored":
        new_state["grad_avg"] = keep * _buffer(state, "grad_avg", theta) + (1 - keep) * g
        mean_square = square_avg - new_state["grad_avg"] ** 2
    rms = np.sqrt(mean_square + eps) if mistake == "rmsprop_eps_inside_sqrt" else np.sqrt(mean_square) + eps
    if momentum > 0 and mistake == "rmsprop_momentum_on_raw_gradient":
        new_state["buffer"] = momentum * _buffer(state, "buffer", theta) + g
        step = new_state["buffer"] / rms
    elif momentum > 0:
        new_state["buffer"] = momentum * _buffer(state, "buffer", theta) + g / rms
        step = new_state["buffer"]
    else:
        step = g / rms
    return theta - lr * step, new_state


def _adadelta(theta, grad, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, mistake=""):
    g = grad + weight_decay * theta
    keep = 1 - rho if mistake == "adadelta_rho_swapped" else rho

    def rms(mean_square):
        return np.sqrt(mean_square) + eps if mistake == "adadelta_eps_outside_sqrt" else np.sqrt(mean_square + eps)

    square_avg = keep * _buffer(state, "square_avg", theta) + (1 - keep) * g * g
    acc_delta = _buffer(state, "acc_delta", theta)
    delta = rms(acc_delta) / rms(square_avg) * g
    step = delta if mistake == "adadelta_no_lr" else lr * delta
    remembered = step if mistake == "adadelta_accumulates_scaled_step" else delta
    acc_delta = keep * acc_delta + (1 - keep) * remembered * remembered
    return theta - step, {"square_avg": square_avg, "acc_delta": acc_delta}


def _adam(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, mistake="",
          decoupled=False):
    beta1, beta2 = betas[::-1] if mistake == "adam_betas_swapped" else betas
    t = state["t"] + 1
    if mistake in ("adam_decoupled_weight_decay", "adamw_l2_penalty"):
        decoupled = not decoupled
    g = grad if decoupled else grad + weight_decay * theta
    m = beta1 * _buffer(state, "m", theta) + (1 - beta1) * g
    v = beta2 * _buffer(state, "v", theta) + (1 - beta2) * g * g
    t_used = {"adam_step_count_from_zero": t - 1, "adam_step_count_off_by_one": t + 1}.get(mistake, t)
    if mistake.endswith("no_bias_correction"):
        m_hat, v_hat = m, v
    else:
        m_hat, v_hat = m / (1 - beta1**t_used), v / (1 - beta2**t_used)
    if mistake.endswith("eps_inside_sqrt"):
        denominator = np.sqrt(v_hat + eps)
    elif mistake == "adam_eps_before_bias_correction":
        denominator = (np.sqrt(v) + eps) / np.sqrt(1 - beta2**t)
    else:
        denominator = np.sqrt(v_hat) + eps
    update = lr * m_hat / denominator
    if not decoupled:
        return theta - update, {"t": t, "m": m, "v": v}
    if mistake == "adamw_decay_after_update":
        new_theta = (theta - update) * (1 - lr * weight_decay)
    elif mistake == "adamw_decay_without_lr":
        new_theta = theta * (1 - weight_decay) - update
    else:
        new_theta = theta * (1 - lr * weight_decay) - update
    return new_theta, {"t": t, "m": m, "v": v}


def _adamw(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, *, mistake=""):
    return _adam(theta, grad, state, lr, betas, eps, weight_decay, mistake=mistake, decoupled=True)


def _adamax(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, mistake=""):
    beta1, beta2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = beta1 * _buffer(state, "m", theta) + (1 - beta1) * g
    decay = 1.0 if mistake == "adamax_u_not_decayed" else beta2
    if mistake == "adamax_eps_outside_max":
        u = np.maximum(decay * _buffer(state, "u", theta), np.abs(g))
        denominator = u + eps
    else:
        u = denominator = np.maximum(decay * _buffer(state, "u", theta), np.abs(g) + eps)
    if mistake == "adamax_u_bias_corrected":
        denominator = u / (1 - beta2**t)
    step_size = lr if mistake == "adamax_no_bias_correction" else lr / (1 - beta1**t)
    return theta - step_size * m / denominator, {"t": t, "m": m, "u": u}


def _nadam(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
           decoupled_weight_decay=False, *, mistake=""):
    beta1, beta2 = betas
    t = state["t"] + 1
    if decoupled_weight_decay and mistake != "nadam_decoupled_weight_decay_ignored":
        theta, g = theta * (1 - lr * weight_decay), grad
    else:
        g = grad + weight_decay * theta
    m = beta1 * _buffer(state, "m", theta) + (1 - beta1) * g
    v = beta2 * _buffer(state, "v", theta) + (1 - beta2) * g * g
    v_hat = v / (1 - beta2**t)
    denominator = np.sqrt(v_hat + eps) if mistake == "nadam_eps_inside_sqrt" else np.sqrt(v_hat) + eps
    if mistake == "nadam_simplified":  # the blog/slide form with a constant beta1 and Adam's bias correction
        update = (beta1 * m / (1 - beta1**t) + (1 - beta1) * g / (1 - beta1**t)) / denominator
        return theta - lr * update, {"t": t, "m": m, "v": v}
    if mistake == "nadam_momentum_schedule_ignored":
        mu, mu_next = beta1, beta1
    else:
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    product = state.get("product", 1.0) * mu
    new_theta = (theta - lr * (1 - mu) / (1 - product) * g / denominator
                 - lr * mu_next / (1 - product * mu_next) * m / denominator)
    return new_theta, {"t": t, "m": m, "v": v, "product": product}


def _lion(theta, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, mistake=""):
    beta1, beta2 = betas[::-1] if mistake == "lion_betas_swapped" else betas
    m = _buffer(state, "m", theta)
    g = grad + weight_decay * theta if mistake == "lion_weight_decay_in_sign" else grad
    new_m = beta2 * m + (1 - beta2) * g
    c = new_m if mistake == "lion_sign_of_momentum" else beta1 * m + (1 - beta1) * g
    if mistake == "lion_weight_decay_in_sign":
        return theta - lr * np.sign(c), {"m": new_m}
    if mistake == "lion_weight_decay_without_lr":
        return theta - lr * np.sign(c) - weight_decay * theta, {"m": new_m}
    return theta - lr * (np.sign(c) + weight_decay * theta), {"m": new_m}


@dataclass(frozen=True)
class _Spec:
    textbook: Callable[..., Any]
    visible: list[Case]
    hidden_only: list[Case]
    mistakes: list[tuple[str, str]]  # (name, one sentence with the fix)


_ADAM_SHARED = [
    ("no_bias_correction", "Bias-correct both moments, m_hat = m / (1 - beta1**t) and v_hat = v / (1 - beta2**t), "
                           "before the update: m and v start at 0, so without it the first steps are wrong."),
    ("eps_inside_sqrt", "Add eps outside the square root, sqrt(v_hat) + eps, as torch and the paper do, not "
                        "sqrt(v_hat + eps)."),
]

_SPECS: dict[str, _Spec] = {
    "sgd": _Spec(_sgd, [
        ("unit", {}), ("unit", {"lr": 0.1, "weight_decay": 0.1}), ("large", {"lr": 0.05, "weight_decay": 0.01}),
    ], [("tiny", {"lr": 0.5}), ("unit", {"lr": 0.02, "weight_decay": 0.5}), ("large", {})], [
        ("sgd_weight_decay_sign", "Weight decay adds weight_decay * theta to the gradient (g = grad + weight_decay "
                                  "* theta); you subtracted it."),
        ("sgd_weight_decay_ignored", "Use the weight_decay argument: step with grad + weight_decay * theta."),
        ("sgd_weight_decay_without_lr", "The decay term is scaled by the learning rate too: theta - lr * (grad + "
                                        "weight_decay * theta)."),
        ("sgd_ascent", "Gradient descent moves against the gradient: theta - lr * g, not theta + lr * g."),
    ]),
    "momentum": _Spec(_momentum, [
        ("unit", {}), ("unit", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
        ("large", {"lr": 0.01, "momentum": 0.5}),
    ], [("tiny", {"lr": 0.1, "momentum": 0.95}), ("unit", {"lr": 0.02, "dampening": 0.5}),
        ("large", {"lr": 0.01, "momentum": 0.7, "dampening": 0.1, "weight_decay": 1e-3})], [
        ("momentum_moving_average", "This exercise uses torch's momentum, v = momentum * v + (1 - dampening) * g, "
                                    "which keeps the whole gradient; you wrote a moving average v = momentum * v + "
                                    "(1 - momentum) * g."),
        ("momentum_dampening_on_first_step", "On the first step the buffer is the gradient itself, undampened (v = g); "
                                             "starting from v = 0 applies (1 - dampening) to it."),
        ("momentum_dampening_ignored", "Use the dampening argument: after the first step v = momentum * v + "
                                       "(1 - dampening) * g."),
        ("momentum_weight_decay_outside_buffer", "Add weight_decay * theta to the gradient BEFORE it enters the "
                                                 "momentum buffer, not to the step afterwards."),
    ]),
    "nesterov": _Spec(_nesterov, [
        ("unit", {}), ("unit", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1}),
        ("large", {"lr": 0.01, "momentum": 0.5}),
    ], [("tiny", {"lr": 0.1, "momentum": 0.95}), ("unit", {"lr": 0.02, "momentum": 0.6}),
        ("large", {"lr": 0.01, "weight_decay": 1e-3})], [
        ("nesterov_plain_momentum", "That is heavy-ball momentum (theta - lr * v, the same as using last step's v "
                                    "in the look-ahead); Nesterov steps with g + momentum * v using the updated v."),
        ("nesterov_lookahead_on_buffer", "The look-ahead adds momentum * v to the gradient: step with g + momentum "
                                         "* v, not (1 + momentum) * v."),
        ("nesterov_moving_average", "This exercise uses torch's buffer v = momentum * v + g, which keeps the whole "
                                    "gradient; you wrote a moving average v = momentum * v + (1 - momentum) * g."),
        ("nesterov_weight_decay_ignored", "Use the weight_decay argument: g = grad + weight_decay * theta before the "
                                          "momentum update."),
    ]),
    "adagrad": _Spec(_adagrad, [
        ("unit", {}), ("tiny", {}),
        ("unit", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.5, "eps": 1e-2}),
    ], [("large", {"lr": 0.5}), ("tiny", {"lr": 0.05, "eps": 1e-8}), ("unit", {"lr_decay": 0.2}),
        ("unit", {"initial_accumulator_value": 2.0})], [
        *(((name, "Adagrad divides by the root of the SUM of all past squared gradients (sum = sum + g**2); a "
                  "moving average is RMSProp.") for name in ("adagrad_moving_average", "adagrad_moving_average_0.99"))),
        ("adagrad_eps_inside_sqrt", "Add eps outside the square root, sqrt(sum) + eps (torch and Duchi et al.), not "
                                    "sqrt(sum + eps)."),
        ("adagrad_lr_decay_off_by_one", "The first step uses the full lr: lr_t = lr / (1 + (t - 1) * lr_decay) with "
                                        "t = 1 on the first step."),
        ("adagrad_initial_accumulator_ignored", "Start the sum of squares at initial_accumulator_value, not at 0."),
    ]),
    "rmsprop": _Spec(_rmsprop, [
        ("unit", {}), ("tiny", {}),
        ("unit", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-2, "weight_decay": 0.01, "momentum": 0.5, "centered": True}),
    ], [("large", {"lr": 0.1, "alpha": 0.5}), ("tiny", {"alpha": 0.95, "eps": 1e-6}), ("unit", {"momentum": 0.9}),
        ("unit", {"centered": True, "alpha": 0.9})], [
        ("rmsprop_alpha_swapped", "alpha is the weight of the OLD average: square_avg = alpha * square_avg + "
                                  "(1 - alpha) * g**2; you swapped alpha and 1 - alpha."),
        ("rmsprop_eps_inside_sqrt", "Add eps outside the square root, sqrt(square_avg) + eps as torch does, not "
                                    "sqrt(square_avg + eps)."),
        ("rmsprop_centered_ignored", "With centered=True also average the gradients (grad_avg) and divide by "
                                     "sqrt(square_avg - grad_avg**2) + eps."),
        ("rmsprop_momentum_on_raw_gradient", "With momentum > 0 the buffer accumulates the SCALED gradient, "
                                             "buf = momentum * buf + g / (sqrt(square_avg) + eps), and theta moves "
                                             "by lr * buf."),
    ]),
    "adadelta": _Spec(_adadelta, [
        ("unit", {}), ("unit", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.01}),
        ("large", {"lr": 2.0, "eps": 1e-3}),
    ], [("tiny", {"eps": 1e-9}), ("unit", {"rho": 0.95}), ("unit", {"lr": 0.1, "eps": 1e-2})], [
        ("adadelta_no_lr", "Multiply the update by lr (torch's Adadelta has one, default 1.0); the paper's version "
                           "without it only matches lr = 1."),
        ("adadelta_eps_outside_sqrt", "In Adadelta eps goes INSIDE both roots: sqrt(acc_delta + eps) / "
                                      "sqrt(square_avg + eps)."),
        ("adadelta_rho_swapped", "rho is the weight of the OLD averages: avg = rho * avg + (1 - rho) * new; you "
                                 "swapped rho and 1 - rho."),
        ("adadelta_accumulates_scaled_step", "Accumulate the squared delta BEFORE it is multiplied by lr: "
                                             "acc_delta = rho * acc_delta + (1 - rho) * delta**2."),
    ]),
    "adam": _Spec(_adam, [
        ("unit", {}), ("tiny", {}),
        ("unit", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-2, "weight_decay": 0.1}),
    ], [("large", {"lr": 0.1}), ("tiny", {"lr": 0.01, "betas": (0.5, 0.9)}), ("unit", {"eps": 0.1}),
        ("large", {"lr": 0.05, "weight_decay": 0.01})], [
        *((f"adam_{key}", message) for key, message in _ADAM_SHARED),
        ("adam_eps_before_bias_correction", "Add eps to the root of the bias-CORRECTED v_hat, sqrt(v_hat) + eps; "
                                            "adding it to sqrt(v) and then correcting is the paper's eps-hat "
                                            "variant, not torch's Adam."),
        ("adam_step_count_from_zero", "The first step has t = 1: increment the step counter before the bias "
                                      "correction (with t = 0, 1 - beta1**0 = 0 divides by zero)."),
        ("adam_step_count_off_by_one", "The bias correction uses t = 1 on the first step; your counter is one step "
                                       "ahead (started at 1, or incremented twice)."),
        ("adam_betas_swapped", "betas = (beta1, beta2): beta1 (0.9) averages the gradients m, beta2 (0.999) the "
                               "squared gradients v; you swapped them."),
        ("adam_decoupled_weight_decay", "In Adam, weight_decay is an L2 penalty added to the gradient, g = grad + "
                                        "weight_decay * theta; shrinking theta directly is AdamW."),
    ]),
    "adamw": _Spec(_adamw, [
        ("unit", {}), ("unit", {"lr": 0.05, "weight_decay": 0.5}),
        ("tiny", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ], [("large", {"lr": 0.1, "weight_decay": 0.05}), ("unit", {"eps": 0.1, "weight_decay": 0.0}),
        ("tiny", {}), ("unit", {"lr": 0.02, "weight_decay": 1.0})], [
        ("adamw_l2_penalty", "AdamW decouples the decay: shrink theta by (1 - lr * weight_decay) and leave the "
                             "gradient alone; adding weight_decay * theta to the gradient is Adam's L2 penalty."),
        ("adamw_decay_after_update", "Apply the decay to the OLD theta: theta * (1 - lr * weight_decay) - lr * "
                                     "m_hat / (sqrt(v_hat) + eps), not to the already updated theta."),
        ("adamw_decay_without_lr", "The decoupled decay is scaled by the learning rate: theta * (1 - lr * "
                                   "weight_decay), not theta * (1 - weight_decay)."),
        *((f"adamw_{key}", message) for key, message in _ADAM_SHARED),
    ]),
    "adamax": _Spec(_adamax, [
        ("unit", {}), ("tiny", {}), ("unit", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-2, "weight_decay": 0.05}),
    ], [("large", {"lr": 0.1}), ("tiny", {"betas": (0.5, 0.99)}), ("unit", {"eps": 0.1})], [
        ("adamax_no_bias_correction", "Divide the step by (1 - beta1**t): m starts at 0 and needs bias correction "
                                      "(u does not)."),
        ("adamax_u_bias_corrected", "u = max(beta2 * u, |g| + eps) needs no bias correction; do not divide it by "
                                    "(1 - beta2**t)."),
        ("adamax_eps_outside_max", "torch adds eps inside the max, u = max(beta2 * u, |g| + eps), and divides by u; "
                                   "you added eps to u afterwards."),
        ("adamax_u_not_decayed", "Decay the running max: u = max(beta2 * u, |g| + eps), not max(u, |g| + eps)."),
    ]),
    "nadam": _Spec(_nadam, [
        ("unit", {}), ("tiny", {}),
        ("unit", {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.01, "weight_decay": 0.1,
                  "decoupled_weight_decay": True}),
    ], [("large", {"lr": 0.1}), ("unit", {"eps": 0.1, "weight_decay": 0.05}), ("tiny", {"momentum_decay": 0.0})], [
        ("nadam_simplified", "torch's NAdam uses the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96**(t * "
                             "momentum_decay)) and its running product, not beta1 * m_hat + (1 - beta1) * g / "
                             "(1 - beta1**t)."),
        ("nadam_momentum_schedule_ignored", "mu_t is not beta1: it follows the schedule beta1 * (1 - 0.5 * "
                                            "0.96**(t * momentum_decay))."),
        ("nadam_eps_inside_sqrt", "Add eps outside the square root, sqrt(v_hat) + eps, not sqrt(v_hat + eps)."),
        ("nadam_decoupled_weight_decay_ignored", "With decoupled_weight_decay=True shrink theta by (1 - lr * "
                                                 "weight_decay) instead of adding weight_decay * theta to the "
                                                 "gradient."),
    ]),
    "lion": _Spec(_lion, [
        ("unit", {}), ("tiny", {"lr": 1e-3}), ("unit", {"lr": 1e-3, "betas": (0.8, 0.95), "weight_decay": 0.5}),
    ], [("large", {"lr": 0.1}), ("unit", {"betas": (0.5, 0.9)}), ("tiny", {"weight_decay": 0.1})], [
        ("lion_sign_of_momentum", "Take the sign of the interpolation c = beta1 * m + (1 - beta1) * g, computed "
                                  "BEFORE m is updated with beta2."),
        ("lion_betas_swapped", "beta1 interpolates for the step and beta2 updates the stored momentum; you swapped "
                               "them."),
        ("lion_weight_decay_in_sign", "Lion's weight decay is decoupled: theta - lr * (sign(c) + weight_decay * "
                                      "theta), not inside the sign."),
        ("lion_weight_decay_without_lr", "The decay is scaled by lr: theta - lr * (sign(c) + weight_decay * theta)."),
    ]),
}


def textbook(name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The catalogue's correct (mistake-free) implementation of ``name``: ``(step, init)``."""
    return _SPECS[name].textbook, _init


def _build() -> list[Target]:
    built = []
    for name, spec in _SPECS.items():
        roles = (f"{name}_step", f"{name}_init")
        built.append(Target(
            name=f"optim.{name}",
            roles=roles,
            reference=(getattr(O, roles[0]), getattr(O, roles[1])),
            trials=_trials_for(spec.visible, spec.hidden_only),
            observe=_trajectory_observe(*roles),
            mistakes=tuple(Mistake(mistake, message, (partial(spec.textbook, mistake=mistake), _init))
                           for mistake, message in spec.mistakes),
            what="trajectories",
        ))
    return built


TARGETS: tuple[Target, ...] = (*_build(),)
