"""Reference trajectories of torch optimizers on 2-D losses, for the optimizer, surface and widget tests."""

from __future__ import annotations

import numpy as np
import torch

from dlcourse.surfaces import Surface, get_surface


def torch_sgd(loss, start, steps, lr, transform_grad=lambda g, t: g):
    """theta_t of torch.optim.SGD on ``loss`` (a function of a (2,) float64 tensor), t = 0..steps."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr)
    path = [theta.detach().numpy().copy()]
    for t in range(steps):
        optimizer.zero_grad()
        loss(theta).backward()
        theta.grad = transform_grad(theta.grad, t)
        optimizer.step()
        path.append(theta.detach().numpy().copy())
    return np.array(path)


def torch_trajectory(surface: str | Surface, steps: int, make_optimizer, schedule=None, start=None) -> np.ndarray:
    """A torch optimizer's iterates on ``surface`` (a name or a Surface), t = 0..steps, in float64.

    ``make_optimizer(params)`` builds the optimizer; ``schedule(t)`` sets its lr before step t;
    ``start`` defaults to the surface's default start.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    p = torch.tensor(surface.default_start if start is None else start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([p])
    points = [p.detach().clone()]
    for t in range(1, steps + 1):
        if schedule is not None:
            optimizer.param_groups[0]["lr"] = schedule(t)
        optimizer.zero_grad()
        surface.f(p).backward()
        optimizer.step()
        points.append(p.detach().clone())
    return torch.stack(points).numpy()
