"""Newton's method on the 2-D surfaces: the Hessian by finite differences, a (damped) Newton step, a path.

Newton's method jumps to the stationary point of the local second-order
model; that point is a minimum only where the Hessian is positive definite,
so near a saddle Newton walks INTO the saddle, and damping (Levenberg-Marquardt)
turns it back into a descent method.  The lecture compares it with gradient
descent (``dlcourse.surfaces.run``); ``dlcourse.widgets.theory`` draws both.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (Newton's method);
Univ. of Macau 'Modern Techniques' (optimization is hard).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range
from dlcourse.surfaces import Surface, get_surface

__all__ = ["hessian", "newton_path", "newton_step"]


def hessian(surface: Surface | str, xy: Any, h: float = 1e-5) -> np.ndarray:
    """Hessian of a 2-D surface by central differences of its analytic gradient.

        H[..., :, j] = (grad(xy + h e_j) - grad(xy - h e_j)) / (2 h),   then H <- (H + H^T) / 2

    Args:
        surface: a ``dlcourse.surfaces.Surface`` or its name.
        xy: point(s) of shape (..., 2).
        h: step (> 0).  The error is O(h^2) (third derivatives) plus
            rounding of about eps * |grad| / h: 1e-5 balances them for these
            surfaces (entries correct to about 1e-7 relative).

    Returns:
        (..., 2, 2) symmetric Hessians.

    Example:
        >>> hessian("rosenbrock", [1.0, 1.0]).round(3)     # exact: [[802, -400], [-400, 200]]
        array([[ 802., -400.],
               [-400.,  200.]])
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    xy = as_float_array(xy, "xy")
    if xy.shape[-1:] != (2,):
        raise ValueError(f"xy must have shape (..., 2), got {xy.shape}")
    h = check_range(h, "h", 0.0, low_inclusive=False)
    columns = [(surface.grad(xy + e) - surface.grad(xy - e)) / (2 * h) for e in h * np.eye(2)]
    H = np.stack(columns, axis=-1)
    return (H + np.swapaxes(H, -1, -2)) / 2


def newton_step(
    theta: np.ndarray, grad: np.ndarray, hess: np.ndarray, *, lr: float = 1.0, damping: float = 0.0
) -> np.ndarray:
    """One (damped) Newton step: theta - lr * (H + damping I)^{-1} grad.

    From the second-order Taylor expansion
        f(theta + d) ~ f(theta) + grad^T d + 1/2 d^T H d,
    whose stationary point is d = -H^{-1} grad.  That point is a minimum of the
    model only if H is positive definite; at a saddle it is the saddle.
    Damping (Levenberg-Marquardt) adds ``damping`` to every eigenvalue.

    Args:
        theta: (n,) parameters; grad: (n,); hess: (n, n).
        lr: step size (Newton's method proper: 1).
        damping: lambda >= 0.

    Returns:
        new theta (n,); nan if H + damping I is singular.

    Example:
        >>> theta = np.array([3.0, -1.0])                 # f = (x^2 + 10 y^2) / 2: one step to the minimum
        >>> newton_step(theta, np.array([3.0, -10.0]), np.diag([1.0, 10.0]))
        array([0., 0.])
    """
    theta, grad, hess = (as_float_array(v, name) for v, name in ((theta, "theta"), (grad, "grad"), (hess, "hess")))
    n = theta.shape[0]
    if theta.shape != (n,) or grad.shape != (n,) or hess.shape != (n, n):
        raise ValueError(
            f"theta and grad must have shape (n,) and hess (n, n), got {theta.shape}, {grad.shape}, {hess.shape}"
        )
    lr, damping = check_range(lr, "lr", 0.0), check_range(damping, "damping", 0.0)
    try:
        return theta - lr * np.linalg.solve(hess + damping * np.eye(n), grad)
    except np.linalg.LinAlgError:
        return np.full_like(theta, np.nan)


def newton_path(
    surface: Surface | str, start: Any = None, steps: int = 20, *, lr: float = 1.0, damping: float = 0.0
) -> np.ndarray:
    """Trajectory of ``newton_step`` on a surface, start included: shape (steps + 1, 2).

    As ``dlcourse.surfaces.run``: once a step is not finite (a singular
    H + damping I, an overflow), that row and all later rows are nan.

    Example:
        >>> newton_path("saddle", (-1.5, 0.6), 2)[1].round(9) + 0.0   # straight into the saddle point (0, 0)
        array([0., 0.])
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    theta = as_float_array(surface.default_start if start is None else start, "start")
    steps = check_int(steps, "steps", 0)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = theta
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            theta = newton_step(theta, surface.grad(theta), hessian(surface, theta), lr=lr, damping=damping)
            if not np.isfinite(theta).all():
                break
            path[t] = theta
    return path
