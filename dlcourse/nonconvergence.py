"""Where Adam does not converge: Reddi, Kale & Kumar's online problem, on which AMSGrad does.

An online learner picks ``x_{t-1}`` in ``[-1, 1]``, then sees the linear loss

    f_t(x) = C * x   if t mod 3 == 1,     f_t(x) = -x   otherwise      (C > 2),

and updates.  Over every three steps the losses add up to ``(C - 2) * x``,
so the best fixed point is ``x* = -1``.  The large, rare gradient ``C``
carries the information; the frequent ``-1`` pull the wrong way.  Adam with
``beta2`` small enough to forget ``C^2`` within two steps divides the large
gradient by a large root and the small ones by small roots, so its three
steps do not add up to a step toward -1: it drifts to ``x = +1``, the worst
point.  AMSGrad divides by the running maximum of ``v``, which keeps
remembering ``C^2``, so its steps stay proportional to the gradients and it
goes to -1.

Source: Reddi, Kale & Kumar (2018), "On the convergence of Adam and beyond",
section 3 (Theorem 1 uses ``beta1 = 0``, ``beta2 = 1 / (1 + C^2)`` and
``alpha_t = alpha / sqrt(t)``) and Algorithm 2 (AMSGrad).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_range
from dlcourse.optim import resolve_optimizer

__all__ = ["reddi_gradients", "reddi_run"]


def reddi_gradients(steps: int, C: float = 3.0) -> np.ndarray:
    """The gradients ``g_1, ..., g_steps`` of Reddi et al.'s losses: ``C`` when ``t mod 3 == 1``, else ``-1``.

    Args:
        steps: how many, ``>= 1``.
        C: the large gradient, ``> 2`` (then ``x* = -1`` is the best fixed point).

    Example:
        >>> reddi_gradients(7)
        array([ 3., -1., -1.,  3., -1., -1.,  3.])
    """
    steps = check_int(steps, "steps", 1)
    C = check_range(C, "C", 2.0, low_inclusive=False)
    t = np.arange(1, steps + 1)
    return np.where(t % 3 == 1, C, -1.0)


def reddi_run(
    step_fn: Callable[..., Any] | str,
    steps: int = 3000,
    *,
    C: float = 3.0,
    lr: float = 0.1,
    lr_decay: bool = True,
    start: float = 0.0,
    **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Run an optimizer on Reddi et al.'s online problem, projected onto ``[-1, 1]``; return its iterates and regret.

    Equations (t = 1, ..., steps; ``x_0 = start``)::

        g_t   = C if t mod 3 == 1 else -1                  (the gradient of f_t(x) = g_t * x)
        eta_t = lr / sqrt(t)                               (lr if not lr_decay)
        x_t   = clip(step(x_{t-1}, g_t, lr=eta_t), -1, 1)  (projection onto [-1, 1])
        R_t   = sum_{s <= t} g_s * (x_{s-1} - (-1))        (regret against x* = -1)

    Args:
        step_fn: a step function of ``dlcourse.optim`` (``adam_step``) or its
            name (``"amsgrad"``).
        steps: ``>= 1``.
        C: the large gradient, ``> 2``.
        lr: ``> 0``, the paper's alpha.
        lr_decay: use ``lr / sqrt(t)`` (the paper's setting) or a constant ``lr``.
        start: ``x_0``, in ``[-1, 1]``.
        **hyperparameters: passed to the step function (``betas=(0.0, 0.1)``).

    Returns:
        dict with ``x`` (steps + 1,), the iterates from ``x_0``; ``regret``
        (steps,), ``R_t``; ``average_regret`` (steps,), ``R_t / t``, which goes
        to 0 for an algorithm that converges to ``x* = -1`` and to a positive
        constant for one that does not.

    Source:
        Reddi, Kale & Kumar (2018), "On the convergence of Adam and beyond",
        section 3 and Theorem 1.

    Notes:
        The paper's Adam and AMSGrad have no bias correction; torch's (and
        ``dlcourse.optim``'s) do.  With ``beta1 = 0`` the correction of ``m``
        is 1 and that of ``v`` changes only the first steps, so the outcome is
        the paper's.  The learner plays ``x_{t-1}`` and then sees ``f_t``, so
        the regret pairs ``g_t`` with ``x_{t-1}``.

    Example:
        >>> adam = reddi_run("adam", 3000, betas=(0.0, 0.1))        # beta2 = 1 / (1 + C^2)
        >>> amsgrad = reddi_run("amsgrad", 3000, betas=(0.0, 0.1))
        >>> round(float(adam["x"][-1]), 3), round(float(amsgrad["x"][-1]), 3)
        (1.0, -0.999)
    """
    init_fn, step_fn = resolve_optimizer(step_fn)
    steps = check_int(steps, "steps", 1)
    lr = check_range(lr, "lr", 0.0, low_inclusive=False)
    if not isinstance(lr_decay, (bool, np.bool_)):
        raise TypeError(f"lr_decay must be True or False, got {type(lr_decay).__name__} {lr_decay!r}")
    start = check_range(start, "start", -1.0, 1.0)
    gradients = reddi_gradients(steps, C)
    x = np.array([start])
    state = init_fn(x)
    path = [start]
    for t, g_t in enumerate(gradients, start=1):
        eta_t = lr / math.sqrt(t) if lr_decay else lr
        x, state = step_fn(x, np.array([g_t]), state, lr=eta_t, **hyperparameters)
        x = np.clip(x, -1.0, 1.0)
        path.append(float(x[0]))
    x_path = np.array(path)
    regret = np.cumsum(gradients * (x_path[:-1] - (-1.0)))
    return {"x": x_path, "regret": regret, "average_regret": regret / np.arange(1, steps + 1)}
