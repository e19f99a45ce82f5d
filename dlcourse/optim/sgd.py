"""Stochastic gradient descent: plain, with heavy-ball momentum, with Nesterov momentum.

The three are ``torch.optim.SGD`` with ``momentum=0``, ``momentum>0`` and
``nesterov=True``.  Each ``NAME_step(theta, grad, state, **hyperparameters)``
returns ``(new_theta, new_state)`` and mutates nothing.
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import check_range
from dlcourse.optim._common import (
    State,
    check_decay,
    check_lr,
    check_step_inputs,
    check_weight_decay,
    zeros_state,
)

__all__ = ["momentum_init", "momentum_step", "nesterov_init", "nesterov_step", "sgd_init", "sgd_step"]


def sgd_init(theta: np.ndarray) -> State:
    """Return the initial SGD state ``{"step": 0}`` (plain SGD keeps no buffers)."""
    return zeros_state(theta)


def sgd_step(
    theta: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3, weight_decay: float = 0.0
) -> tuple[np.ndarray, State]:
    """One step of (minibatch) stochastic gradient descent.

    Equations (t counts steps from 1)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        theta <- theta - lr * g

    Args:
        theta: parameters, float array of any shape.
        grad: gradient of the loss at ``theta``, same shape.
        state: from ``sgd_init(theta)`` or the previous step.
        lr: learning rate, ``lr >= 0`` (default 1e-3 as torch.optim.SGD).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).

    Returns:
        ``(new_theta, new_state)``: new arrays; ``new_state["step"] = t``.

    Source:
        Robbins & Monro (1951), "A stochastic approximation method";
        torch.optim.SGD.  Lectures: SDU summer school 'Gradient-Based
        Learning'; VU Amsterdam DLVU lecture 4 'Tools of the trade';
        Univ. of Macau 'Modern Techniques'; J. Adamczyk, Deep learning
        lecture notes.

    Notes:
        For plain SGD weight decay and an L2 penalty ``weight_decay/2 * |theta|^2``
        are the same update; for adaptive methods they are not (see ``adamw_step``).
        The DLVU slide writes the penalty as ``lambda * |w|^2``, whose gradient
        is ``2 * lambda * w``: its lambda is half of ``weight_decay``.

    Example:
        >>> theta = np.array([1.0, -2.0])
        >>> new_theta, state = sgd_step(theta, np.array([0.5, -1.0]), sgd_init(theta), lr=0.1)
        >>> new_theta, state
        (array([ 0.95, -1.9 ]), {'step': 1})
    """
    theta, grad, t = check_step_inputs(theta, grad, state, (), "sgd_init")
    lr, weight_decay = check_lr(lr), check_weight_decay(weight_decay)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    new_theta = theta - lr * g
    return new_theta, {"step": t}


def momentum_init(theta: np.ndarray) -> State:
    """Return the initial momentum state: step 0 and a zero ``momentum_buffer``."""
    return zeros_state(theta, "momentum_buffer")


def momentum_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One step of SGD with heavy-ball momentum (torch.optim.SGD, ``momentum > 0``).

    Equations (t counts steps from 1; ``v`` is ``state["momentum_buffer"]``)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        v     <- g                                   if t == 1
        v     <- momentum * v + (1 - dampening) * g  otherwise
        theta <- theta - lr * v

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``momentum_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-3).
        momentum: decay of the velocity, ``0 <= momentum < 1``.  Default 0.9,
            NOT torch's 0 (which would make this plain SGD).
        dampening: fraction of the gradient left out of the velocity,
            ``0 <= dampening <= 1`` (default 0).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).

    Returns:
        ``(new_theta, new_state)`` with new arrays.

    Source:
        Polyak (1964), "Some methods of speeding up the convergence of
        iteration methods"; torch.optim.SGD.  Lectures: Georgia Tech CS
        4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4 'Tools of the
        trade' (three views: heavy ball, acceleration 1/(1 - momentum), moving
        average); SDU summer school 'Gradient-Based Learning'; Univ. of Macau
        'Modern Techniques'.

    Notes:
        Momentum is written three ways; all are this method up to a rescaling
        of the learning rate:

        * ``v <- mu*v + g; theta <- theta - lr*v`` -- torch, DLVU, Georgia Tech.
        * ``v <- beta*v + (1 - beta)*g`` -- an exponential moving average
          (Macau; optax-style).  Its ``v`` is ``(1 - beta)`` times torch's, so
          it equals torch with ``lr_torch = (1 - beta) * lr``.  (torch's
          ``dampening=beta`` is not the same: torch's first buffer is the
          undampened gradient.)
        * ``v <- mu*v - lr*g; theta <- theta + v`` -- Sutskever et al. (2013),
          SDU, Georgia Tech's "equivalent formulation".  Its ``v`` is ``-lr``
          times torch's, identical while ``lr`` is constant; under a
          learning-rate schedule it keeps the old learning rates inside ``v``.

        Torch starts the buffer with the gradient itself (no dampening on
        step 1), which equals starting from ``v = 0`` only when dampening is 0.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> state = momentum_init(theta)
        >>> theta, state = momentum_step(theta, grad, state, lr=0.1, momentum=0.9)
        >>> theta, state = momentum_step(theta, grad, state, lr=0.1, momentum=0.9)
        >>> theta, state["momentum_buffer"]  # v = g, then v = 0.9 * g + g
        (array([ 0.855, -1.71 ]), array([ 0.95, -1.9 ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("momentum_buffer",), "momentum_init")
    lr, weight_decay = check_lr(lr), check_weight_decay(weight_decay)
    momentum = check_decay(momentum, "momentum")
    dampening = check_range(dampening, "dampening", 0.0, 1.0)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    # On step 1 a copy: the state must not share memory with the caller's grad.
    v = g.copy() if t == 1 else momentum * state["momentum_buffer"] + (1 - dampening) * g
    new_theta = theta - lr * v
    return new_theta, {"step": t, "momentum_buffer": v}


def nesterov_init(theta: np.ndarray) -> State:
    """Return the initial Nesterov state: step 0 and a zero ``momentum_buffer``."""
    return zeros_state(theta, "momentum_buffer")


def nesterov_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One step of SGD with Nesterov momentum (torch.optim.SGD, ``nesterov=True``).

    Equations (t counts steps from 1; ``v`` is ``state["momentum_buffer"]``)::

        g     <- grad + weight_decay * theta        (L2 penalty; skipped when 0)
        v     <- g                    if t == 1,  else  momentum * v + g
        theta <- theta - lr * (g + momentum * v)

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``nesterov_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-3).
        momentum: ``0 < momentum < 1`` (default 0.9; torch requires > 0).
        weight_decay: L2 coefficient, ``>= 0`` (default 0).

    There is no ``dampening``: torch requires it to be 0 with Nesterov.

    Returns:
        ``(new_theta, new_state)`` with new arrays.

    Source:
        Nesterov (1983), "A method for solving the convex programming problem
        with convergence rate O(1/k^2)"; Sutskever, Martens, Dahl & Hinton
        (2013), "On the importance of initialization and momentum in deep
        learning"; torch.optim.SGD.  Lectures: Georgia Tech CS 4644/7643
        'Optimization'; SDU summer school 'Gradient-Based Learning'.

    Notes:
        The slides write Nesterov with a look-ahead: the gradient is taken at
        ``theta + beta*v`` (Georgia Tech) before updating ``v``.  Torch (after
        Bengio et al. 2013) stores the look-ahead point itself as the
        parameters, so the gradient is taken at the current ``theta`` and the
        correction appears as ``g + momentum * v``; the iterates are the same
        sequence shifted by the change of variables.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = nesterov_step(theta, grad, nesterov_init(theta), lr=0.1, momentum=0.9)
        >>> new_theta  # v = g on the first step, so theta - lr * (g + 0.9 * g)
        array([ 0.905, -1.81 ])
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("momentum_buffer",), "nesterov_init")
    lr, weight_decay = check_lr(lr), check_weight_decay(weight_decay)
    momentum = check_range(momentum, "momentum", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    g = grad + weight_decay * theta if weight_decay != 0 else grad
    # On step 1 a copy: the state must not share memory with the caller's grad.
    v = g.copy() if t == 1 else momentum * state["momentum_buffer"] + g
    new_theta = theta - lr * (g + momentum * v)
    return new_theta, {"step": t, "momentum_buffer": v}

