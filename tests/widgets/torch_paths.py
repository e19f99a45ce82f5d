"""Reference trajectories of torch.optim.SGD on a 2-D loss, for the SGD-lecture widget tests."""

from __future__ import annotations

import numpy as np
import torch


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
