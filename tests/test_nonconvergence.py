"""dlcourse.nonconvergence: Reddi et al.'s online problem, against torch.optim.Adam (and amsgrad=True) in float64.

Tolerance: the iterates after up to 600 projected steps, rtol=1e-10, atol=1e-12 (as tests/test_optim.py: the
same operations up to reassociation, ~1e-16 per step; the projection only clips).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlcourse.nonconvergence import reddi_gradients, reddi_run
from dlcourse.optim import adam_step

RTOL, ATOL = 1e-10, 1e-12


def torch_reddi_run(amsgrad, steps, C, lr, lr_decay, start, betas):
    """The same run with torch.optim.Adam: the learning rate set before each step, then clamp_ onto [-1, 1]."""
    x = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=lr, betas=betas, amsgrad=amsgrad)
    path, regret = [start], 0.0
    regrets = []
    for t in range(1, steps + 1):
        g_t = C if t % 3 == 1 else -1.0          # the gradient of f_t(x) = C x or -x
        regret += g_t * (x.item() + 1.0)          # f_t(x_{t-1}) - f_t(-1)
        regrets.append(regret)
        optimizer.param_groups[0]["lr"] = lr / math.sqrt(t) if lr_decay else lr
        x.grad = torch.tensor([g_t], dtype=torch.float64)
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)
        path.append(x.item())
    return np.array(path), np.array(regrets)


@pytest.mark.parametrize(
    ("name", "amsgrad", "kwargs"),
    [
        ("adam", False, {"C": 3.0, "betas": (0.0, 0.1)}),
        ("amsgrad", True, {"C": 3.0, "betas": (0.0, 0.1)}),
        ("adam", False, {"C": 10.0, "betas": (0.9, 0.99), "lr": 0.05, "lr_decay": False, "start": 0.5}),
        ("amsgrad", True, {"C": 5.0, "betas": (0.5, 0.9), "start": -0.3}),
    ],
)
def test_matches_torch_adam_with_projection(name, amsgrad, kwargs):
    steps = 600
    ours = reddi_run(name, steps, **kwargs)
    options = {"C": 3.0, "lr": 0.1, "lr_decay": True, "start": 0.0, **kwargs}  # reddi_run's documented defaults
    path, regret = torch_reddi_run(amsgrad, steps, **options)
    np.testing.assert_allclose(ours["x"], path, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours["regret"], regret, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours["average_regret"], regret / np.arange(1, steps + 1), rtol=RTOL, atol=ATOL)


def test_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    # Reddi et al.'s Theorem 1 setting: beta1 = 0, beta2 = 1 / (1 + C^2), lr / sqrt(t)
    adam = reddi_run(adam_step, 3000, betas=(0.0, 0.1))
    amsgrad = reddi_run("amsgrad", 3000, betas=(0.0, 0.1))
    assert adam["x"][-300:].min() > 0.9 and amsgrad["x"][-300:].max() < -0.9
    # average regret: at x = +1 every three steps cost 2 (C - 2) = 2, so Adam's stays near 2/3; AMSGrad's shrinks
    assert adam["average_regret"][-1] > 0.5
    assert amsgrad["average_regret"][-1] < 0.1 < amsgrad["average_regret"][99]


def test_gradients_and_bad_arguments():
    np.testing.assert_array_equal(reddi_gradients(6, C=4.0), [4.0, -1.0, -1.0, 4.0, -1.0, -1.0])
    with pytest.raises(ValueError, match="C must be in"):
        reddi_gradients(3, C=2.0)
    with pytest.raises(ValueError, match="steps"):
        reddi_run("adam", 0)
    with pytest.raises(ValueError, match="start must be in"):
        reddi_run("adam", 10, start=1.5)
    with pytest.raises(ValueError, match="lr must be in"):
        reddi_run("adam", 10, lr=0.0)
    with pytest.raises(TypeError, match="lr_decay must be True or False"):
        reddi_run("adam", 10, lr_decay="yes")
    with pytest.raises(ValueError, match="step_fn"):
        reddi_run("adamm", 10)
