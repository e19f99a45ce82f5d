"""RAdam (Rectified Adam): Adam whose adaptive step is scaled down while ``v`` averages few gradients.

At step t Adam's ``v_hat`` is an average of only a few squared gradients, so
its adaptive learning rate ``1 / sqrt(v_hat)`` varies wildly from run to run
(at t = 1 it is ``1 / |g_1|``).  RAdam multiplies the adaptive step by a
factor ``r_t`` that compensates for that variance, and takes plain momentum
steps while the paper's approximation of the variance does not exist: a
warm-up derived from ``beta2`` rather than tuned.  Names and defaults follow ``torch.optim.RAdam``; it is a
module of its own only to keep ``adam.py`` short.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.optim._common import (
    State,
    check_adam_hyperparameters,
    check_flag,
    check_step_inputs,
    zeros_state,
)

__all__ = ["radam_init", "radam_step"]

_MOMENTS = ("exp_avg", "exp_avg_sq")


def radam_init(theta: np.ndarray) -> State:
    """Return the initial RAdam state (the same as Adam's): step 0, zero ``exp_avg`` (m) and ``exp_avg_sq`` (v)."""
    return zeros_state(theta, *_MOMENTS)


def radam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
) -> tuple[np.ndarray, State]:
    """One RAdam step: Adam's step times the rectification ``r``, or a plain momentum step early on.

    Equations (t counts steps from 1; ``rho`` is the number of squared
    gradients that ``v`` effectively averages, ``rho_inf`` its limit)::

        theta   <- (1 - lr * weight_decay) * theta    (if decoupled_weight_decay)
        g       <- grad                               (if decoupled_weight_decay)
        g       <- grad + weight_decay * theta        (otherwise; skipped when 0)
        m       <- beta1 * m + (1 - beta1) * g
        v       <- beta2 * v + (1 - beta2) * g^2
        m_hat    = m / (1 - beta1^t)
        rho_inf  = 2 / (1 - beta2) - 1
        rho      = rho_inf - 2 * t * beta2^t / (1 - beta2^t)
        if rho > 5:
            r      = sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            theta <- theta - lr * r * m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            theta <- theta - lr * m_hat

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``radam_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-3).
        betas: ``(beta1, beta2)``, decays of ``m`` and ``v``, each in ``[0, 1)``
            (default (0.9, 0.999)).
        eps: ``> 0``, added to ``sqrt(v)`` (default 1e-8).
        weight_decay: ``>= 0`` (default 0; an L2 penalty unless decoupled).
        decoupled_weight_decay: AdamW-style decay instead of an L2 penalty
            (default False).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``
        (t), ``exp_avg`` (m) and ``exp_avg_sq`` (v).

    Source:
        Liu et al. (2020), "On the variance of the adaptive learning rate and
        beyond", Algorithm 2; torch.optim.RAdam.

    Notes:
        ``rho`` is the length of the simple moving average that has the same
        "centre of mass" as the exponential one: ``rho = 1`` at t = 1 (one
        gradient), about t for small t, ``rho_inf`` for t -> infinity.  If
        ``v_hat`` were an average of ``rho`` squared normal gradients of
        variance sigma^2, the variance of the adaptive rate
        ``psi = 1 / sqrt(v_hat)`` would be, to first order,
        ``rho / (2 (rho - 2) (rho - 4) sigma^2)``, which exists only for
        ``rho > 4``; ``r`` is the ratio of its square roots at ``rho_inf``
        and at ``rho``, so ``r * psi`` has about the spread that ``psi`` has
        late in training.  The paper switches at ``rho > 4``, torch at
        ``rho > 5`` (the authors' code at ``rho >= 5``, and by default it
        skips the update before that).
        With the default betas the first five steps are momentum steps of
        size ``lr * |m_hat|`` (not normalized: they scale with the
        gradient), then ``r`` grows from 0.03 at t = 6 toward 1 over
        thousands of steps.  Unlike Adam, eps is added to the root of the
        uncorrected ``v`` (torch's order).  ``beta2 <= 2/3`` gives
        ``rho_inf <= 5``: never rectified, always momentum steps.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = radam_step(theta, grad, radam_init(theta), lr=0.1)
        >>> new_theta  # rho = 1 at t = 1: a momentum step, theta - lr * m_hat = theta - lr * g
        array([ 0.95, -1.9 ])
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "radam_init")
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    if check_flag(decoupled_weight_decay, "decoupled_weight_decay"):
        theta = (1 - lr * weight_decay) * theta
        g = grad
    else:
        g = grad + weight_decay * theta if weight_decay != 0 else grad
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho > 5:
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        new_theta = theta - lr * r * m_hat * math.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
    else:
        new_theta = theta - lr * m_hat
    return new_theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}
