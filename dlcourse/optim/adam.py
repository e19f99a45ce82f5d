"""Adam and its variants: AdamW, AMSGrad, Adamax, NAdam.

Adam = momentum (a moving average ``m`` of gradients) + RMSProp (a moving
average ``v`` of squared gradients), both bias-corrected.  Names and defaults
follow ``torch.optim.Adam``, ``AdamW``, ``Adam(amsgrad=True)``, ``Adamax``
and ``NAdam``.
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import check_range
from dlcourse.optim._common import (
    State,
    check_adam_hyperparameters,
    check_flag,
    check_step_inputs,
    zeros_state,
)

__all__ = [
    "adam_init",
    "adam_step",
    "adamax_init",
    "adamax_step",
    "adamw_init",
    "adamw_step",
    "amsgrad_init",
    "amsgrad_step",
    "nadam_init",
    "nadam_step",
]

_MOMENTS = ("exp_avg", "exp_avg_sq")

_ADAM_ARGS = """Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``{init}(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-3).
        betas: ``(beta1, beta2)``, decays of ``m`` and ``v``, each in ``[0, 1)``
            (default (0.9, 0.999)).
        eps: ``> 0``, added to the root of ``v_hat`` (default 1e-8).
        weight_decay: ``>= 0`` (default {weight_decay}).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``
        (t), ``exp_avg`` (m), ``exp_avg_sq`` (v){extra}.
"""


def adam_init(theta: np.ndarray) -> State:
    """Return the initial Adam state: step 0, zero ``exp_avg`` (m) and ``exp_avg_sq`` (v)."""
    return zeros_state(theta, *_MOMENTS)


def adam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One Adam step: bias-corrected momentum divided by a bias-corrected RMS.

    Equations (t counts steps from 1)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g^2
        m_hat  = m / (1 - beta1^t)
        v_hat  = v / (1 - beta2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    {args}
    Source:
        Kingma & Ba (2015), "Adam: a method for stochastic optimization";
        torch.optim.Adam.  Lectures: VU Amsterdam DLVU lecture 4 'Tools of the
        trade' (bias correction); SDU summer school 'Gradient-Based Learning';
        Univ. of Macau 'Modern Techniques'; J. Adamczyk, Deep learning lecture
        notes.

    Notes:
        eps is added OUTSIDE the root of the bias-corrected ``v_hat``, as in the
        paper and torch.  The Macau slide puts it inside, ``sqrt(v + eps)``, and
        drops bias correction "for clarity"; DLVU's bias-correction slide also
        writes ``sqrt(v + eps)``.  Those are different (if close) algorithms,
        not Adam.  Bias correction matters early: m and v start at 0, and the
        uncorrected ratio ``m / sqrt(v)`` is ``(1 - beta1^t) / sqrt(1 - beta2^t)``
        times the corrected one (3.2x at t = 1 with the default betas).

        ``weight_decay`` here is an L2 penalty added to the gradient, so it is
        divided by ``sqrt(v_hat)`` like the gradient: parameters with large
        gradients are barely decayed.  ``adamw_step`` decouples it.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = adam_step(theta, grad, adam_init(theta), lr=0.1)
        >>> new_theta.round(6), state["step"]  # m_hat = g, v_hat = g^2: the first step is lr * sign(g)
        (array([ 0.9, -1.9]), 1)
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "adam_init")
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    new_theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}


def adamw_init(theta: np.ndarray) -> State:
    """Return the initial AdamW state (the same as Adam's)."""
    return zeros_state(theta, *_MOMENTS)


def adamw_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[np.ndarray, State]:
    """One AdamW step: Adam with weight decay decoupled from the gradient.

    Equations (t counts steps from 1)::

        theta <- (1 - lr * weight_decay) * theta     (decay first, on the old theta)
        m     <- beta1 * m + (1 - beta1) * grad
        v     <- beta2 * v + (1 - beta2) * grad^2
        m_hat  = m / (1 - beta1^t)
        v_hat  = v / (1 - beta2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    {args}
    Source:
        Loshchilov & Hutter (2019), "Decoupled weight decay regularization";
        torch.optim.AdamW.  Lecture: VU Amsterdam DLVU lecture 4 'Tools of
        the trade' (weight decay vs L2, "cf Adam and AdamW").

    Notes:
        Weight decay equals an L2 penalty only for plain SGD.  In Adam the L2
        gradient is rescaled by ``1/sqrt(v_hat)``; AdamW shrinks every weight
        by the same factor ``1 - lr * weight_decay``.  The paper writes the
        decay with a schedule multiplier ``eta_t * lambda`` and a separate
        alpha; torch (and this function) ties it to ``lr``, so changing ``lr``
        also changes the decay.  torch's default weight_decay is 1e-2 here
        but 0 in Adam.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = adamw_step(theta, grad, adamw_init(theta), lr=0.1, weight_decay=0.5)
        >>> new_theta.round(6)  # 0.95 * theta, then Adam's first step lr * sign(g)
        array([ 0.85, -1.8 ])
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "adamw_init")
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    theta = (1 - lr * weight_decay) * theta
    m = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    new_theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_theta, {"step": t, "exp_avg": m, "exp_avg_sq": v}


def amsgrad_init(theta: np.ndarray) -> State:
    """Return the initial AMSGrad state: Adam's plus a zero ``max_exp_avg_sq``."""
    return zeros_state(theta, *_MOMENTS, "max_exp_avg_sq")


def amsgrad_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One AMSGrad step: Adam dividing by the running maximum of ``v``.

    Equations (t counts steps from 1)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g^2
        v_max <- max(v_max, v)
        m_hat  = m / (1 - beta1^t)
        v_hat  = v_max / (1 - beta2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    {args}
    Source:
        Reddi, Kale & Kumar (2018), "On the convergence of Adam and beyond";
        torch.optim.Adam(amsgrad=True).

    Notes:
        The paper has no bias correction; torch bias-corrects ``v_max`` with
        ``1 - beta2^t`` like Adam's ``v``, and so does this function.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> theta, state = amsgrad_step(theta, grad, amsgrad_init(theta), lr=0.1)
        >>> theta, state = amsgrad_step(theta, np.zeros(2), state, lr=0.1)
        >>> state["max_exp_avg_sq"] > state["exp_avg_sq"]  # v decays; v_max keeps its largest value
        array([ True,  True])
        >>> theta.round(6)
        array([ 0.833028, -1.833028])
    """
    theta, grad, t = check_step_inputs(theta, grad, state, (*_MOMENTS, "max_exp_avg_sq"), "amsgrad_init")
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
    v_max = np.maximum(state["max_exp_avg_sq"], v)
    m_hat = m / (1 - beta1**t)
    v_hat = v_max / (1 - beta2**t)
    new_theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_theta, {"step": t, "exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": v_max}


def _fill_args_doc(step_fn, init: str, weight_decay: str, extra: str = "") -> None:
    """Adam, AdamW and AMSGrad share their argument list: write it once."""
    if step_fn.__doc__:  # None under python -OO
        args = _ADAM_ARGS.format(init=init, weight_decay=weight_decay, extra=extra)
        step_fn.__doc__ = step_fn.__doc__.replace("{args}", args)


_fill_args_doc(adam_step, "adam_init", "0; an L2 penalty")
_fill_args_doc(adamw_step, "adamw_init", "1e-2 as torch.optim.AdamW; decoupled")
_fill_args_doc(amsgrad_step, "amsgrad_init", "0; an L2 penalty", extra=", ``max_exp_avg_sq`` (v_max)")


def adamax_init(theta: np.ndarray) -> State:
    """Return the initial Adamax state: step 0, zero ``exp_avg`` (m) and ``exp_inf`` (u)."""
    return zeros_state(theta, "exp_avg", "exp_inf")


def adamax_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One Adamax step: Adam with the L2 norm of past gradients replaced by the max norm.

    Equations (t counts steps from 1)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        m     <- beta1 * m + (1 - beta1) * g
        u     <- max(beta2 * u, |g| + eps)
        theta <- theta - lr / (1 - beta1^t) * m / u

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``adamax_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 2e-3).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default (0.9, 0.999)).
        eps: ``> 0`` (default 1e-8).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``,
        ``exp_avg`` (m) and ``exp_inf`` (u).

    Source:
        Kingma & Ba (2015), "Adam: a method for stochastic optimization",
        section 7.1; torch.optim.Adamax.  Lecture: SDU summer school
        'Gradient-Based Learning'.

    Notes:
        The paper (and the SDU slide) writes ``u <- max(beta2 * u, |g|)`` with
        no eps; torch adds eps to ``|g|`` inside the max so ``u`` is never 0.
        ``u`` needs no bias correction (a max is not pulled toward its zero start).

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = adamax_step(theta, grad, adamax_init(theta), lr=0.1)
        >>> new_theta.round(6), state["exp_inf"].round(6)  # u = |g| + eps: the first step is lr * sign(g)
        (array([ 0.9, -1.9]), array([0.5, 1. ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("exp_avg", "exp_inf"), "adamax_init")
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["exp_inf"], np.abs(g) + eps)
    new_theta = theta - lr / (1 - beta1**t) * m / u
    return new_theta, {"step": t, "exp_avg": m, "exp_inf": u}


def nadam_init(theta: np.ndarray) -> State:
    """Return the initial NAdam state: step 0, ``mu_product`` 1.0, zero ``exp_avg`` and ``exp_avg_sq``."""
    return {**zeros_state(theta, *_MOMENTS), "mu_product": 1.0}


def nadam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
) -> tuple[np.ndarray, State]:
    """One NAdam step: Adam with Nesterov momentum (torch.optim.NAdam).

    Equations (t counts steps from 1; ``mu`` is the paper's mu_t, ``mu_next``
    mu_{t+1}, ``mu_product`` the product mu_1 * ... * mu_t)::

        theta      <- (1 - lr * weight_decay) * theta   (if decoupled_weight_decay)
        g          <- grad                              (if decoupled_weight_decay)
        g          <- grad + weight_decay * theta       (otherwise; skipped when 0)
        mu          = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_next     = beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
        mu_product <- mu_product * mu
        m          <- beta1 * m + (1 - beta1) * g
        v          <- beta2 * v + (1 - beta2) * g^2
        v_hat       = v / (1 - beta2^t)
        d           = sqrt(v_hat) + eps
        theta      <- theta - lr * (1 - mu) / (1 - mu_product) * g / d
                            - lr * mu_next / (1 - mu_product * mu_next) * m / d

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``nadam_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 2e-3).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default (0.9, 0.999)).
        eps: ``> 0`` (default 1e-8).
        weight_decay: ``>= 0`` (default 0).
        momentum_decay: ``psi`` of the momentum schedule, ``>= 0`` (default 4e-3).
        decoupled_weight_decay: AdamW-style decay (torch's "NAdamW") instead of
            an L2 penalty (default False).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``,
        ``mu_product`` (a float), ``exp_avg`` and ``exp_avg_sq``.

    Source:
        Dozat (2016), "Incorporating Nesterov momentum into Adam"; torch.optim.NAdam.
        Lecture: SDU summer school 'Gradient-Based Learning'.

    Notes:
        The schedule ``mu_t`` (warming beta1 up from beta1/2) and its product
        ``P`` replace Adam's ``1 - beta1^t`` bias correction; with
        ``momentum_decay = 0`` every ``mu_t`` is beta1/2.  Unlike Adam, torch
        divides ``v`` by its bias correction before the root.  Torch keeps
        ``mu_product`` in the default dtype (float32 unless changed); it is a
        float64 Python float here.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = nadam_step(theta, grad, nadam_init(theta), lr=0.1)
        >>> new_theta.round(6), round(state["mu_product"], 6)  # mu_1 = 0.9 * (1 - 0.5 * 0.96**0.004)
        (array([ 0.894355, -1.894355]), 0.450073)
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "nadam_init", scalar_keys=("mu_product",))
    lr, beta1, beta2, eps, weight_decay = check_adam_hyperparameters(lr, betas, eps, weight_decay)
    momentum_decay = check_range(momentum_decay, "momentum_decay", 0.0)
    if check_flag(decoupled_weight_decay, "decoupled_weight_decay"):
        theta = (1 - lr * weight_decay) * theta
        g = grad
    else:
        g = grad + weight_decay * theta if weight_decay != 0 else grad
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # float(): a numpy float64 scalar in the state would promote float32 parameters to float64
    mu_product = float(state["mu_product"]) * mu
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
    v_hat = v / (1 - beta2**t)
    d = np.sqrt(v_hat) + eps
    new_theta = (theta - lr * (1 - mu) / (1 - mu_product) * g / d
                 - lr * mu_next / (1 - mu_product * mu_next) * m / d)
    return new_theta, {"step": t, "mu_product": mu_product, "exp_avg": m, "exp_avg_sq": v}
