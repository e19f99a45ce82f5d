"""Lion (EvoLved Sign Momentum): an optimizer found by program search.

Torch has no Lion; this follows Algorithm 2 of the paper.
"""

from __future__ import annotations

import numpy as np

from dlcourse.optim._common import State, check_betas, check_lr, check_step_inputs, check_weight_decay, zeros_state

__all__ = ["lion_init", "lion_step"]


def lion_init(theta: np.ndarray) -> State:
    """Return the initial Lion state: step 0 and a zero momentum ``exp_avg`` (m)."""
    return zeros_state(theta, "exp_avg")


def lion_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: State,
    *,
    lr: float = 1e-4,
    betas: tuple[float, float] = (0.9, 0.99),
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """One Lion step: move every parameter by exactly ``lr`` in the sign of an interpolated momentum.

    Equations (the paper's Algorithm 2)::

        c     =  beta1 * m + (1 - beta1) * grad              (interpolate)
        theta <- theta - lr * (sign(c) + weight_decay * theta)
        m     <- beta2 * m + (1 - beta2) * grad              (update momentum)

    Args:
        theta, grad, state: parameters, gradient of the same shape, and the
            state from ``lion_init(theta)`` or the previous step.
        lr: learning rate, ``>= 0`` (default 1e-4; the paper suggests 3-10x
            smaller than AdamW's).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default (0.9, 0.99)).
        weight_decay: decoupled decay ``lambda``, ``>= 0`` (default 0; the paper
            suggests 3-10x larger than AdamW's, keeping ``lr * lambda`` similar).

    Returns:
        ``(new_theta, new_state)`` with new arrays; the state holds ``step``
        and ``exp_avg`` (m).

    Source:
        Chen et al. (2023), "Symbolic discovery of optimization algorithms".
        Lecture: J. Adamczyk, Deep learning lecture notes ("a learned optimizer").

    Notes:
        Two different betas: the step uses ``beta1`` to mix in the current
        gradient, while the stored momentum decays with ``beta2``.  Weight decay
        is decoupled as in AdamW: ``(1 - lr*lambda) * theta - lr * sign(c)``.
        ``sign(0) = 0`` (numpy and torch), so a coordinate whose ``c`` is exactly
        0 does not move.  There is no eps and no second moment: every
        coordinate moves by ``lr`` (plus decay), so Lion needs less memory than Adam.

    Example:
        >>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
        >>> new_theta, state = lion_step(theta, grad, lion_init(theta), lr=0.1)
        >>> new_theta, state["exp_avg"]  # every coordinate moves by exactly lr
        (array([ 0.9, -1.9]), array([ 0.005, -0.01 ]))
    """
    theta, grad, t = check_step_inputs(theta, grad, state, ("exp_avg",), "lion_init")
    lr, weight_decay = check_lr(lr), check_weight_decay(weight_decay)
    beta1, beta2 = check_betas(betas)
    c = beta1 * state["exp_avg"] + (1 - beta1) * grad
    new_theta = theta - lr * (np.sign(c) + weight_decay * theta)
    m = beta2 * state["exp_avg"] + (1 - beta2) * grad
    return new_theta, {"step": t, "exp_avg": m}
