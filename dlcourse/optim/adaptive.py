"""Per-parameter adaptive learning rates: Adagrad, RMSProp, Adadelta.

Each divides the gradient by a running root-mean-square of past gradients, so
parameters with large or frequent gradients take smaller steps.  Torch names
and defaults: ``torch.optim.Adagrad``, ``torch.optim.RMSprop``,
``torch.optim.Adadelta``.
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import check_range
from dlcourse.optim._common import (
    State,
    add_scaled_ratio,
    buffer_or_zeros,
    check_decay,
    check_eps,
    check_flag,
    check_lr,
    check_step_inputs,
    check_weight_decay,
    ema,
    ema_of_square,
    with_weight_decay,
    zeros_state,
)

__all__ = ["adagrad_init", "adagrad_step", "rmsprop_init", "rmsprop_step", "adadelta_init", "adadelta_step"]


def adagrad_init(theta: np.ndarray) -> State:
    """Return the initial Adagrad state: step 0 and a zero accumulator ``sum``.

    ``initial_accumulator_value`` is a keyword of ``adagrad_step`` (it is added
    on the first step), so the state does not depend on hyperparameters.
    """
    return zeros_state(theta, "sum")


def adagrad_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> tuple[np.ndarray, State]:
    """One Adagrad step: divide by the root of the sum of all past squared gradients.

    Equations (t counts steps from 1; ``G`` is ``state["sum"]``, G_0 =
    initial_accumulator_value)::

        g     <- grad + weight_decay * theta         (L2 penalty; skipped when 0)
        lr_t  =  lr / (1 + (t - 1) * lr_decay)
        G     <- G + g^2
        theta <- theta - lr_t * g / (sqrt(G) + eps)

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``adagrad_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-2).
        lr_decay: ``>= 0`` (default 0).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).
        initial_accumulator_value: starting value of ``G``, ``>= 0`` (default
            0).  Torch applies it when the optimizer is built; here it is read
            on step 1 only, so changing it later has no effect.
        eps: ``> 0`` (default 1e-10).

    Returns:
        ``(new_theta, new_state)`` with new arrays.

    Source:
        Duchi, Hazan & Singer (2011), "Adaptive subgradient methods for online
        learning and stochastic optimization"; torch.optim.Adagrad.  Lecture:
        SDU summer school 'Gradient-Based Learning'.

    Notes:
        The SDU slide writes ``eta / sqrt(G + eps)`` (eps inside the root);
        Duchi et al. and torch add eps (their delta) outside: ``sqrt(G) + eps``.
        The steps only shrink: ``G`` never decreases, which RMSProp and
        Adadelta fix by forgetting old gradients.
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("sum",), "adagrad_init")
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    lr_decay = check_range(lr_decay, "lr_decay", 0.0)
    initial_accumulator_value = check_range(initial_accumulator_value, "initial_accumulator_value", 0.0)
    g = with_weight_decay(grad, theta, weight_decay)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    sum_of_squares = np.multiply(g, g)
    sum_of_squares += state["sum"] if t > 1 else initial_accumulator_value
    denominator = np.sqrt(sum_of_squares)
    denominator += eps
    new_theta = add_scaled_ratio(theta, g, denominator, -lr_t, out=denominator)
    return new_theta, {"step": t, "sum": sum_of_squares}


def rmsprop_init(theta: np.ndarray) -> State:
    """Return the initial RMSProp state: step 0 and a zero ``square_avg``.

    As in torch, ``grad_avg`` (centered) and ``momentum_buffer`` (momentum > 0)
    are added by ``rmsprop_step`` when those options are used.
    """
    return zeros_state(theta, "square_avg")


def rmsprop_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> tuple[np.ndarray, State]:
    """One RMSProp step: divide by the root of a moving average of squared gradients.

    Equations (``E[g^2]``, ``E[g]``, ``b`` are ``state["square_avg"]``,
    ``state["grad_avg"]``, ``state["momentum_buffer"]``)::

        g       <- grad + weight_decay * theta       (L2 penalty; skipped when 0)
        E[g^2]  <- alpha * E[g^2] + (1 - alpha) * g^2
        E[g]    <- alpha * E[g] + (1 - alpha) * g    (centered only)
        RMS[g]  =  sqrt(E[g^2] - E[g]^2) + eps       (centered)
                   sqrt(E[g^2]) + eps                (otherwise)
        b       <- momentum * b + g / RMS[g]         (momentum > 0 only)
        theta   <- theta - lr * b                    (momentum > 0)
                   theta - lr * g / RMS[g]           (otherwise)

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``rmsprop_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-2).
        alpha: decay of the squared-gradient average, ``0 <= alpha < 1``
            (default 0.99; the slides' gamma or beta).
        eps: ``> 0`` (default 1e-8).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).
        momentum: heavy-ball momentum on the scaled step, ``0 <= momentum < 1``
            (default 0: none).
        centered: divide by an estimate of the standard deviation instead of
            the root mean square (Graves 2013) (default False).

    Returns:
        ``(new_theta, new_state)`` with new arrays.

    Source:
        Tieleman & Hinton (2012), Coursera "Neural Networks for Machine
        Learning", lecture 6e; Graves (2013), "Generating sequences with
        recurrent neural networks" (centered); torch.optim.RMSprop.  Lectures:
        SDU summer school 'Gradient-Based Learning'; Univ. of Macau 'Modern
        Techniques'; J. Adamczyk, Deep learning lecture notes.

    Notes:
        Torch's decay is called ``alpha``; ``momentum`` is a different option.
        Passing the decay as ``torch.optim.RMSprop(..., momentum=beta2)`` (as the
        Macau slide's code does) keeps alpha=0.99 and adds heavy-ball momentum:
        a bug.  The SDU and Macau slides put eps inside the root,
        ``sqrt(E[g^2] + eps)`` (as TensorFlow does); torch adds it outside.
    """
    theta, grad, t = check_step_inputs(
        theta, grad, state, ("square_avg",), "rmsprop_init", optional_array_keys=("grad_avg", "momentum_buffer")
    )
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    alpha, momentum = check_decay(alpha, "alpha"), check_decay(momentum, "momentum")
    centered = check_flag(centered, "centered")
    g = with_weight_decay(grad, theta, weight_decay)
    square_avg = ema_of_square(state["square_avg"], g, alpha)
    new_state = {"step": t, "square_avg": square_avg}
    if centered:
        grad_avg = ema(buffer_or_zeros(state, "grad_avg", theta), g, alpha)
        new_state["grad_avg"] = grad_avg
        rms = np.multiply(grad_avg, grad_avg)
        np.subtract(square_avg, rms, out=rms)
        np.sqrt(rms, out=rms)
    else:
        rms = np.sqrt(square_avg)
    rms += eps
    if momentum > 0:
        buffer = np.divide(g, rms, out=rms)
        buffer += momentum * buffer_or_zeros(state, "momentum_buffer", theta)
        new_state["momentum_buffer"] = buffer
        new_theta = buffer * -lr
        new_theta += theta
    else:
        new_theta = add_scaled_ratio(theta, g, rms, -lr, out=rms)
    return new_theta, new_state


def adadelta_init(theta: np.ndarray) -> State:
    """Return the initial Adadelta state: step 0, zero ``square_avg`` and ``acc_delta``."""
    return zeros_state(theta, "square_avg", "acc_delta")


def adadelta_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One Adadelta step: RMSProp whose step size is the RMS of past updates.

    Equations (``E[g^2]`` and ``E[dtheta^2]`` are ``state["square_avg"]`` and
    ``state["acc_delta"]``)::

        g               <- grad + weight_decay * theta   (L2 penalty; skipped when 0)
        E[g^2]          <- rho * E[g^2] + (1 - rho) * g^2
        RMS[g]           = sqrt(E[g^2] + eps)
        dtheta           = RMS[dtheta]_{t-1} / RMS[g] * g,  RMS[dtheta] = sqrt(E[dtheta^2] + eps)
        E[dtheta^2]     <- rho * E[dtheta^2] + (1 - rho) * dtheta^2
        theta           <- theta - lr * dtheta

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``adadelta_init(theta)`` or the previous step.
        lr: scale of the update, ``>= 0`` (default 1.0: the paper's method).
        rho: decay of both averages, ``0 <= rho < 1`` (default 0.9; the
            slide's gamma).
        eps: ``> 0`` (default 1e-6).  It also sets the size of the first
            steps, because ``E[dtheta^2]`` starts at 0.
        weight_decay: L2 coefficient, ``>= 0`` (default 0).

    Returns:
        ``(new_theta, new_state)`` with new arrays.

    Source:
        Zeiler (2012), "ADADELTA: an adaptive learning rate method";
        torch.optim.Adadelta.  Lecture: SDU summer school 'Gradient-Based
        Learning'.

    Notes:
        The paper (and the SDU slide) has no learning rate: that is why it was
        proposed.  Torch multiplies the update by ``lr`` (default 1.0, which
        reproduces the paper); other values rescale every step.  Here eps is
        inside both roots, as in the paper and torch.
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("square_avg", "acc_delta"), "adadelta_init")
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    rho = check_decay(rho, "rho")
    g = with_weight_decay(grad, theta, weight_decay)
    square_avg = ema_of_square(state["square_avg"], g, rho)
    rms_grad = square_avg + eps
    np.sqrt(rms_grad, out=rms_grad)
    delta = state["acc_delta"] + eps
    np.sqrt(delta, out=delta)
    delta /= rms_grad
    delta *= g
    acc_delta = ema_of_square(state["acc_delta"], delta, rho)
    new_theta = delta * -lr
    new_theta += theta
    return new_theta, {"step": t, "square_avg": square_avg, "acc_delta": acc_delta}
