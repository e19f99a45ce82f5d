"""dlcourse.widgets.theory: the Newton widget's view against torch.optim.SGD and the saddle.

SGD_RTOL = 1e-12: gradient descent on a surface vs torch.optim.SGD, 20 steps
in float64 (the same update, a few ulps per step).  HESSIAN_RTOL/ATOL: the
eigenvalues of the finite-difference Hessian (see tests/test_newton.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.surfaces import get_surface
from dlcourse.widgets.theory import NEWTON_SURFACES, describe_newton, newton_view

SGD_RTOL = 1e-12
HESSIAN_RTOL, HESSIAN_ATOL = 1e-6, 1e-5  # central differences against autograd (see tests/test_newton.py)


def torch_hessian(surface, point):
    return torch.autograd.functional.hessian(surface.f, torch.tensor(point, dtype=torch.float64)).numpy()

@pytest.mark.parametrize("name", NEWTON_SURFACES)
def test_newton_view_gradient_descent_is_torch_sgd(name):
    data = newton_view(name, steps=20, lr=1e-3, damping=0.0)
    surface = get_surface(name)
    theta = torch.tensor(data["start"], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=1e-3)
    expected = [theta.detach().numpy().copy()]
    for _ in range(20):
        optimizer.zero_grad()
        surface.f(theta).backward()
        optimizer.step()
        expected.append(theta.detach().numpy().copy())
    np.testing.assert_allclose(data["gd"], np.array(expected), rtol=SGD_RTOL, atol=1e-14)
    np.testing.assert_allclose(data["gd_loss"], surface.f(data["gd"]), rtol=0)
    np.testing.assert_allclose(data["eig_start"], np.linalg.eigvalsh(torch_hessian(surface, data["start"])),
                               rtol=HESSIAN_RTOL, atol=HESSIAN_ATOL)


def test_newton_view_finds_the_saddle():
    data = newton_view("saddle", steps=10, lr=0.05, damping=0.0)
    assert data["newton_end_grad_norm"] < 1e-8 and data["eig_end"][0] < 0 < data["eig_end"][1]
    assert np.abs(data["gd"][-1, 1]) > 1.0  # gradient descent left along the y axis
    with pytest.raises(ValueError, match="surface"):
        newton_view("beale", 10, 0.05, 0.0)


def test_the_text_names_the_saddle():
    data = newton_view("saddle", 20, 0.05, 0.0)
    assert "Newton converged to a saddle point" in describe_newton(data, "saddle", 20, 0.05, 0.0)
    data = newton_view("quadratic", 5, 0.05, 0.0)
    assert "Newton ends at (0, 0)" in describe_newton(data, "quadratic", 5, 0.05, 0.0)
