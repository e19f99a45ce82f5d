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
    buffer_or_zeros,
    check_decay,
    check_eps,
    check_flag,
    check_lr,
    check_step_inputs,
    check_weight_decay,
    zeros_state,
)

__all__ = ["adadelta_init", "adadelta_step", "adagrad_init", "adagrad_step", "rmsprop_init", "rmsprop_step"]


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
        lr_t   = lr / (1 + (t - 1) * lr_decay)
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

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = adagrad_step(theta, grad, adagrad_init(theta), lr=0.1)
        >>> new_theta.round(6), state["sum"]  # G = g^2, so the first step is lr in every coordinate
        (array([ 0.9, -1.9]), array([0.25, 1.  ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("sum",), "adagrad_init")
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    lr_decay = check_range(lr_decay, "lr_decay", 0.0)
    initial_accumulator_value = check_range(initial_accumulator_value, "initial_accumulator_value", 0.0)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    lr_t = lr / (1 + (t - 1) * lr_decay)
    G = state["sum"] if t > 1 else initial_accumulator_value  # G_0, read on step 1
    G = G + g**2
    new_theta = theta - lr_t * g / (np.sqrt(G) + eps)
    return new_theta, {"step": t, "sum": G}


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

    Equations (``square_avg`` is the slides' E[g^2], ``grad_avg`` E[g], ``rms``
    RMS[g]; ``buf`` is ``state["momentum_buffer"]``)::

        g          <- grad + weight_decay * theta          (L2 penalty; skipped when 0)
        square_avg <- alpha * square_avg + (1 - alpha) * g^2
        grad_avg   <- alpha * grad_avg + (1 - alpha) * g     (centered only)
        rms         = sqrt(square_avg - grad_avg^2) + eps   (centered)
                      sqrt(square_avg) + eps                (otherwise)
        buf        <- momentum * buf + g / rms              (momentum > 0 only)
        theta      <- theta - lr * buf                      (momentum > 0)
                      theta - lr * g / rms                  (otherwise)

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

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = rmsprop_step(theta, grad, rmsprop_init(theta), lr=0.01)
        >>> new_theta.round(6)  # square_avg = 0.01 * g^2 (no bias correction): a first step of 10 * lr
        array([ 0.9, -1.9])
    """
    theta, grad, t = check_step_inputs(
        theta, grad, state, ("square_avg",), "rmsprop_init", optional_array_keys=("grad_avg", "momentum_buffer")
    )
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    alpha, momentum = check_decay(alpha, "alpha"), check_decay(momentum, "momentum")
    centered = check_flag(centered, "centered")
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    square_avg = alpha * state["square_avg"] + (1 - alpha) * g**2
    new_state = {"step": t, "square_avg": square_avg}
    if centered:
        grad_avg = alpha * buffer_or_zeros(state, "grad_avg", theta) + (1 - alpha) * g
        rms = np.sqrt(square_avg - grad_avg**2) + eps
        new_state["grad_avg"] = grad_avg
    else:
        rms = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf = momentum * buffer_or_zeros(state, "momentum_buffer", theta) + g / rms
        new_theta = theta - lr * buf
        new_state["momentum_buffer"] = buf
    else:
        new_theta = theta - lr * g / rms
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

    Equations (``square_avg`` is the paper's E[g^2], ``acc_delta`` its
    E[dtheta^2], ``rms_g`` RMS[g], ``rms_delta`` RMS[dtheta]_{t-1} and ``delta``
    dtheta)::

        g          <- grad + weight_decay * theta      (L2 penalty; skipped when 0)
        square_avg <- rho * square_avg + (1 - rho) * g^2
        rms_g       = sqrt(square_avg + eps)
        rms_delta   = sqrt(acc_delta + eps)            (acc_delta of the previous step)
        delta       = rms_delta / rms_g * g
        acc_delta  <- rho * acc_delta + (1 - rho) * delta^2
        theta      <- theta - lr * delta

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

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = adadelta_step(theta, grad, adadelta_init(theta))
        >>> new_theta.round(6)  # acc_delta starts at 0: a first step of about sqrt(eps / (1 - rho))
        array([ 0.996838, -1.996838])
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("square_avg", "acc_delta"), "adadelta_init")
    lr, weight_decay, eps = check_lr(lr), check_weight_decay(weight_decay), check_eps(eps)
    rho = check_decay(rho, "rho")
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    square_avg = rho * state["square_avg"] + (1 - rho) * g**2
    rms_g = np.sqrt(square_avg + eps)
    rms_delta = np.sqrt(state["acc_delta"] + eps)
    delta = rms_delta / rms_g * g
    acc_delta = rho * state["acc_delta"] + (1 - rho) * delta**2
    new_theta = theta - lr * delta
    return new_theta, {"step": t, "square_avg": square_avg, "acc_delta": acc_delta}
