"""Gradient descent that records what the SGD-lecture widgets draw, and cached contour grids of the surfaces.

Shared by ``dlcourse.widgets.sgd`` (quadratics, noisy descent on the surfaces)
and ``dlcourse.widgets.clipping`` (the cliff).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import get_surface

# Beyond this distance a run counts as diverged: drawing it is pointless and
# squaring it would overflow.
ESCAPE = 1e6


def descend(
    start: np.ndarray, lr: float, steps: int, grad_fn: Callable[[np.ndarray, int], tuple[np.ndarray, Any]]
) -> tuple[np.ndarray, np.ndarray, list[int | None]]:
    """Gradient descent with ``dlcourse.optim.sgd_step`` from a point (shape (d,)) or a stack of points (r, d).

    ``grad_fn(theta, t) -> (g, recorded)`` gives the gradient used by step t and a number per
    point to record (say the norm of the exact gradient).  A point that leaves |theta| < 1e6
    or turns non-finite is stopped: its later rows are nan (as in ``dlcourse.surfaces.run``).

    Returns ``(trajectory (steps + 1, *start.shape), recorded (steps, *start.shape[:-1]),
    stopped)``, with ``stopped[i]`` the first escaped row of point i, or None.
    """
    theta, state = start, sgd_init(start)
    trajectory = np.full((steps + 1, *start.shape), np.nan)
    recorded = np.full((steps, *start.shape[:-1]), np.nan)
    trajectory[0] = start
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run must not warn
        for t in range(steps):
            g, recorded[t] = grad_fn(theta, t)
            theta, state = sgd_step(theta, g, state, lr=lr)
            theta[~np.all(np.abs(theta) < ESCAPE, axis=-1)] = np.nan  # also catches nan
            trajectory[t + 1] = theta
    alive = np.isfinite(trajectory[..., 0]).reshape(steps + 1, -1)
    stopped = [None if column.all() else int(column.argmin()) for column in alive.T]
    recorded[~alive[:-1].reshape(recorded.shape)] = np.nan
    return trajectory, recorded, stopped



@functools.cache
def contour_grid(surface_name: str, bounds: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, Y (120 x 160) over ``bounds`` = ((x0, x1), (y0, y1)) and the surface's values there (cached)."""
    surface = get_surface(surface_name)
    (x0, x1), (y0, y1) = bounds
    x, y = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 120))
    with np.errstate(over="ignore", invalid="ignore"):
        return x, y, surface.f(np.stack((x, y), axis=-1))
