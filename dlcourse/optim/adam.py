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
    add_scaled_ratio,
    check_betas,
    check_eps,
    check_flag,
    check_lr,
    check_step_inputs,
    check_weight_decay,
    decayed,
    ema,
    ema_of_square,
    with_weight_decay,
    zeros_state,
)

__all__ = [
    "adam_init",
    "adam_step",
    "adamw_init",
    "adamw_step",
    "amsgrad_init",
    "amsgrad_step",
    "adamax_init",
    "adamax_step",
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


def _adam_moments(state: State, g: np.ndarray, beta1: float, beta2: float) -> tuple[np.ndarray, np.ndarray]:
    """``m <- beta1*m + (1 - beta1)*g`` and ``v <- beta2*v + (1 - beta2)*g^2``."""
    return ema(state["exp_avg"], g, beta1), ema_of_square(state["exp_avg_sq"], g, beta2)


def _bias_corrected_update(
    theta: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    t: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> np.ndarray:
    """``theta - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m/(1 - beta1^t)``,
    ``v_hat = v/(1 - beta2^t)``: eps is added to the root of the *corrected* v."""
    bias_correction1 = 1 - beta1**t
    root_bias_correction2 = (1 - beta2**t) ** 0.5
    # Multiplying numerator and denominator by sqrt(1 - beta2^t) gives the same
    # value with one full-array pass fewer (Kingma & Ba, Sec. 2, "efficiency");
    # eps is scaled too, so this is exactly Adam, not the paper's eps-hat variant.
    denominator = np.sqrt(exp_avg_sq)
    denominator += eps * root_bias_correction2
    step_size = lr * root_bias_correction2 / bias_correction1
    return add_scaled_ratio(theta, exp_avg, denominator, -step_size, out=denominator)


def _check_adam_hyperparameters(lr, betas, eps, weight_decay) -> tuple[float, float, float, float, float]:
    beta1, beta2 = check_betas(betas)
    return check_lr(lr), beta1, beta2, check_eps(eps), check_weight_decay(weight_decay)


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
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "adam_init")
    lr, beta1, beta2, eps, weight_decay = _check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = with_weight_decay(grad, theta, weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(state, g, beta1, beta2)
    new_theta = _bias_corrected_update(theta, exp_avg, exp_avg_sq, t, lr, beta1, beta2, eps)
    return new_theta, {"step": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


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

        theta <- theta - lr * weight_decay * theta   (decay first, on the old theta)
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
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "adamw_init")
    lr, beta1, beta2, eps, weight_decay = _check_adam_hyperparameters(lr, betas, eps, weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(state, grad, beta1, beta2)
    new_theta = _bias_corrected_update(decayed(theta, lr, weight_decay), exp_avg, exp_avg_sq, t, lr, beta1, beta2, eps)
    return new_theta, {"step": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


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
        theta <- theta - lr/(1 - beta1^t) * m / (sqrt(v_max/(1 - beta2^t)) + eps)

    {args}
    Source:
        Reddi, Kale & Kumar (2018), "On the convergence of Adam and beyond";
        torch.optim.Adam(amsgrad=True).

    Notes:
        The paper has no bias correction; torch bias-corrects ``v_max`` with
        ``1 - beta2^t`` like Adam's ``v``, and so does this function.
    """
    theta, grad, t = check_step_inputs(theta, grad, state, (*_MOMENTS, "max_exp_avg_sq"), "amsgrad_init")
    lr, beta1, beta2, eps, weight_decay = _check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = with_weight_decay(grad, theta, weight_decay)
    exp_avg, exp_avg_sq = _adam_moments(state, g, beta1, beta2)
    max_exp_avg_sq = np.maximum(state["max_exp_avg_sq"], exp_avg_sq)
    new_theta = _bias_corrected_update(theta, exp_avg, max_exp_avg_sq, t, lr, beta1, beta2, eps)
    return new_theta, {"step": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "max_exp_avg_sq": max_exp_avg_sq}


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
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("exp_avg", "exp_inf"), "adamax_init")
    lr, beta1, beta2, eps, weight_decay = _check_adam_hyperparameters(lr, betas, eps, weight_decay)
    g = with_weight_decay(grad, theta, weight_decay)
    exp_avg = ema(state["exp_avg"], g, beta1)
    exp_inf = state["exp_inf"] * beta2
    scratch = np.abs(g)
    scratch += eps
    np.maximum(exp_inf, scratch, out=exp_inf)
    new_theta = add_scaled_ratio(theta, exp_avg, exp_inf, -lr / (1 - beta1**t), out=scratch)
    return new_theta, {"step": t, "exp_avg": exp_avg, "exp_inf": exp_inf}


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

    Equations (t counts steps from 1; ``P`` is ``state["mu_product"]``)::

        theta <- theta - lr * weight_decay * theta   (if decoupled_weight_decay)
        g     <- grad + weight_decay * theta         (otherwise; skipped when 0)
        mu_t   = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_t+1 = beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
        P     <- P * mu_t
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g^2
        d      = sqrt(v / (1 - beta2^t)) + eps
        theta <- theta - lr * (1 - mu_t) / (1 - P) * g / d
                       - lr * mu_t+1 / (1 - P * mu_t+1) * m / d

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
    """
    theta, grad, t = check_step_inputs(theta, grad, state, _MOMENTS, "nadam_init", scalar_keys=("mu_product",))
    lr, beta1, beta2, eps, weight_decay = _check_adam_hyperparameters(lr, betas, eps, weight_decay)
    momentum_decay = check_range(momentum_decay, "momentum_decay", 0.0)
    if check_flag(decoupled_weight_decay, "decoupled_weight_decay"):
        theta_decayed, g = decayed(theta, lr, weight_decay), grad
    else:
        theta_decayed, g = theta, with_weight_decay(grad, theta, weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = float(state["mu_product"]) * mu
    mu_product_next = mu_product * mu_next
    exp_avg, exp_avg_sq = _adam_moments(state, g, beta1, beta2)
    denominator = exp_avg_sq / (1 - beta2**t)
    np.sqrt(denominator, out=denominator)
    denominator += eps
    gradient_scale = -lr * (1.0 - mu) / (1.0 - mu_product)
    momentum_scale = (-lr * mu_next) / (1.0 - mu_product_next)
    new_theta = add_scaled_ratio(theta_decayed, g, denominator, gradient_scale, out=np.empty_like(theta))
    momentum_term = np.divide(exp_avg, denominator, out=denominator)
    momentum_term *= momentum_scale
    new_theta += momentum_term
    return new_theta, {"step": t, "mu_product": mu_product, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
