"""dlcourse.newton: Hessians and Newton steps against torch.autograd.

Tolerances
----------
HESSIAN_RTOL = 1e-6, HESSIAN_ATOL = 1e-5: central differences with h = 1e-5
have a truncation error h^2/6 * |f^(4)| (Rosenbrock: up to ~2400 * 1e-10 / 6,
about 4e-8) plus rounding eps * |grad| / h (|grad| up to ~1e3 here: ~2e-8),
against torch.autograd.functional.hessian's exact second derivatives.  Entries
reach ~3000 on Rosenbrock, so rtol dominates there.
NEWTON_RTOL = 1e-6: a Newton step solves with that finite-difference Hessian.
QUADRATIC_ATOL = 1e-9: on quadratics the central differences of a linear
gradient are exact up to rounding (~1e-11), so one Newton step lands on the
stationary point to about 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.newton import hessian, newton_path, newton_step
from dlcourse.surfaces import SURFACES, get_surface

HESSIAN_RTOL, HESSIAN_ATOL = 1e-6, 1e-5
NEWTON_RTOL = 1e-6
QUADRATIC_ATOL = 1e-9

def torch_hessian(surface, point):
    return torch.autograd.functional.hessian(surface.f, torch.tensor(point, dtype=torch.float64)).numpy()


def torch_grad(surface, point):
    xy = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    surface.f(xy).backward()
    return xy.grad.numpy()


def random_points(surface, count, seed):
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack((rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)))


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_hessian_matches_torch_autograd(name):
    surface = get_surface(name)
    points = random_points(surface, 7, seed=len(name))
    ours = hessian(surface, points)  # a batch of points at once
    assert ours.shape == (7, 2, 2)
    for point, H in zip(points, ours, strict=True):
        np.testing.assert_allclose(H, torch_hessian(surface, point), rtol=HESSIAN_RTOL, atol=HESSIAN_ATOL)


def test_hessian_checks_its_arguments():
    with pytest.raises(ValueError, match="xy"):
        hessian("saddle", np.zeros(3))
    with pytest.raises(ValueError, match="h"):
        hessian("saddle", np.zeros(2), h=0.0)


@pytest.mark.parametrize("damping", [0.0, 0.5, 7.0])
def test_newton_step_matches_torch_solve(damping):
    surface = get_surface("rosenbrock")
    for point in random_points(surface, 5, seed=3):
        H = torch.tensor(torch_hessian(surface, point))
        g = torch.tensor(torch_grad(surface, point))
        expected = torch.tensor(point) - torch.linalg.solve(H + damping * torch.eye(2, dtype=torch.float64), g)
        theta, grad, hess = point.copy(), surface.grad(point), hessian(surface, point)
        copies = [theta.copy(), grad.copy(), hess.copy()]
        ours = newton_step(theta, grad, hess, damping=damping)
        np.testing.assert_allclose(ours, expected.numpy(), rtol=NEWTON_RTOL, atol=1e-9)
        for array, copy in zip((theta, grad, hess), copies, strict=True):  # pure
            np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("name", ["quadratic", "ravine", "saddle"])
def test_one_newton_step_reaches_the_stationary_point_of_a_quadratic(name):
    # f is exactly quadratic: the Taylor model is f itself, and its stationary point is (0, 0),
    # a minimum for the quadratic and the ravine, the saddle point for the saddle.
    path = newton_path(name, start=(-1.3, 0.7), steps=1)
    np.testing.assert_allclose(path[1], [0.0, 0.0], atol=QUADRATIC_ATOL)


@pytest.mark.parametrize("damping", [0.5, 1.0, 3.0, 6.0])
def test_damped_newton_on_the_saddle_scales_each_axis(damping):
    # H = diag(2, -2): x <- x * damping / (2 + damping), y <- y * damping / (damping - 2).
    start = np.array([-1.5, 0.6])
    step = newton_path("saddle", start=start, steps=1, damping=damping)[1]
    np.testing.assert_allclose(step, start * [damping / (2 + damping), damping / (damping - 2)], rtol=1e-8)
    escapes = abs(damping / (damping - 2)) > 1
    assert escapes == (damping > 2 + 0.0)  # only H + damping I positive definite turns Newton away from the saddle


def test_a_singular_damped_hessian_gives_nan_and_stops_the_path():
    theta = np.array([-1.5, 0.6])
    step = newton_step(theta, np.array([-3.0, -1.2]), np.diag([2.0, -2.0]), damping=2.0)  # H + 2I = diag(4, 0)
    assert np.isnan(step).all()
    path = newton_path("quadratic", start=theta, steps=3, damping=0.0, lr=0.0)  # lr 0: stays put
    np.testing.assert_array_equal(path, np.tile(theta, (4, 1)))
    flat = newton_path("monkey_saddle", start=(0.0, 0.0), steps=2)  # H = 0 at the origin: singular
    assert np.isfinite(flat[0]).all() and np.isnan(flat[1:]).all()


def test_newton_converges_on_rosenbrock_like_torch():
    surface = get_surface("rosenbrock")
    theta = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    expected = [theta.numpy().copy()]
    for _ in range(8):
        H = torch.autograd.functional.hessian(surface.f, theta)
        g = torch.autograd.functional.jacobian(surface.f, theta)
        theta = theta - torch.linalg.solve(H, g)
        expected.append(theta.numpy().copy())
    path = newton_path(surface, steps=8)
    np.testing.assert_allclose(path, np.array(expected), rtol=NEWTON_RTOL, atol=1e-8)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-12)
