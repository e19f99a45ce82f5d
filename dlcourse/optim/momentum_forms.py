"""Momentum's two other formulations, next to torch's (``momentum_step``).

The literature writes heavy-ball momentum three ways; all three visit the same
points once the learning rate is rescaled (lecture 05 shows it):

* torch / DLVU / Georgia Tech:  ``v <- mu*v + g;             theta <- theta - lr*v``
  (``dlcourse.optim.momentum_step``);
* moving average (Macau):       ``v <- beta*v + (1 - beta)*g;  theta <- theta - lr*v``
  (``ema_momentum_step``): torch's iterates with ``lr_torch = (1 - beta) * lr``;
* Sutskever et al. (2013), SDU:  ``v <- mu*v - lr*g;          theta <- theta + v``
  (``sutskever_momentum_step``): torch's iterates with the same ``lr``, while
  ``lr`` is constant.

Both keep the contract of every ``NAME_step`` (pure, ``(new_theta, new_state)``,
``state["step"]`` counts from 1), so ``Optimizer`` and ``dlcourse.surfaces.run``
drive them.
"""

from __future__ import annotations

import numpy as np

from dlcourse.optim._common import State, check_decay, check_lr, check_step_inputs, zeros_state

__all__ = ["ema_momentum_init", "ema_momentum_step", "sutskever_momentum_init", "sutskever_momentum_step"]


def ema_momentum_init(theta: np.ndarray) -> State:
    """Return the initial state of the moving-average form: step 0 and a zero ``velocity``."""
    return zeros_state(theta, "velocity")


def ema_momentum_step(
    theta: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-2, beta: float = 0.9
) -> tuple[np.ndarray, State]:
    """One step of momentum written as an exponential moving average of the gradients.

    Equations (``v`` is ``state["velocity"]``, v_0 = 0)::

        v     <- beta * v + (1 - beta) * grad
        theta <- theta - lr * v

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``ema_momentum_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-2).
        beta: decay of the average, ``0 <= beta < 1`` (default 0.9).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``
        and ``velocity`` (v).

    Source:
        Univ. of Macau 'Modern Techniques' (momentum gradient descent); the
        form optax's ``ema`` and many blog posts use.

    Notes:
        ``v`` is ``(1 - beta)`` times torch's buffer ``mu*v + g`` (with mu =
        beta), so this is ``momentum_step`` with ``lr_torch = (1 - beta) * lr``
        (dampening 0); equivalently, torch's ``lr`` corresponds to
        ``lr / (1 - beta)`` here.  torch's ``SGD(momentum=beta,
        dampening=beta)`` is NOT this form: torch's first buffer is the
        undampened gradient, so its first step is ``1/(1 - beta)`` times larger.

    Example:
        >>> theta = np.array([1.0, -2.0])
        >>> state = ema_momentum_init(theta)
        >>> theta, state = ema_momentum_step(theta, np.array([0.5, -1.0]), state, lr=0.1, beta=0.9)
        >>> theta, state["velocity"]
        (array([ 0.995, -1.99 ]), array([ 0.05, -0.1 ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("velocity",), "ema_momentum_init")
    lr, beta = check_lr(lr), check_decay(beta, "beta")
    v = beta * state["velocity"] + (1 - beta) * grad
    new_theta = theta - lr * v
    return new_theta, {"step": t, "velocity": v}


def sutskever_momentum_init(theta: np.ndarray) -> State:
    """Return the initial state of Sutskever's form: step 0 and a zero ``velocity``."""
    return zeros_state(theta, "velocity")


def sutskever_momentum_step(
    theta: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-2, momentum: float = 0.9
) -> tuple[np.ndarray, State]:
    """One step of momentum in Sutskever et al.'s form: the velocity already holds the learning rate.

    Equations (``v`` is ``state["velocity"]``, v_0 = 0)::

        v     <- momentum * v - lr * grad
        theta <- theta + v

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``sutskever_momentum_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-2).
        momentum: ``0 <= momentum < 1`` (default 0.9).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``
        and ``velocity`` (v).

    Source:
        Sutskever, Martens, Dahl & Hinton (2013), "On the importance of
        initialization and momentum in deep learning"; SDU summer school
        'Gradient-Based Learning'; Georgia Tech CS 4644/7643 'Optimization'
        ("equivalent formulation").

    Notes:
        ``v`` is ``-lr`` times torch's buffer ``mu*v + g``, so with a constant
        learning rate this is exactly ``momentum_step`` with the same ``lr``
        (dampening 0).  Under a schedule they differ: here a changed ``lr``
        scales only the new gradients, while torch multiplies the whole
        accumulated buffer by the new ``lr``.

    Example:
        >>> theta = np.array([1.0, -2.0])
        >>> state = sutskever_momentum_init(theta)
        >>> theta, state = sutskever_momentum_step(theta, np.array([0.5, -1.0]), state, lr=0.1, momentum=0.9)
        >>> theta, state["velocity"]
        (array([ 0.95, -1.9 ]), array([-0.05,  0.1 ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("velocity",), "sutskever_momentum_init")
    lr, momentum = check_lr(lr), check_decay(momentum, "momentum")
    v = momentum * state["velocity"] - lr * grad
    new_theta = theta + v
    return new_theta, {"step": t, "velocity": v}
