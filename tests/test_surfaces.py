"""Tests for dlcourse.surfaces against torch.autograd and torch.optim (float64)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch_paths import torch_trajectory

from dlcourse.surfaces import CLIFF, SURFACES, Surface, get_surface, ill_conditioned_quadratic, run

# Analytic gradient vs autograd: the same float64 math in a different operation order.
# Where terms cancel the relative error of the result is unbounded, so the absolute
# tolerance is relative to the size of the largest gradient entry in the batch.
GRAD_RTOL = 1e-12
GRAD_ATOL_REL = 1e-13
# 200 optimizer steps feed those last-bit differences back through theta.  Measured
# (x86-64, torch 2.13): absolute <= 7e-16 while |theta| <= 5, relative <= 3e-13 on
# coordinates that shrink towards 0; rtol 1e-11 / atol 1e-12 leave a 30x margin.
TRAJ_RTOL = 1e-11
TRAJ_ATOL = 1e-12

NAMES = sorted(SURFACES)
SURFACE_CASES = [SURFACES[n] for n in NAMES] + [ill_conditioned_quadratic(k) for k in (1.0, 37.5)]
SURFACE_IDS = [*NAMES, "quadratic_k1", "quadratic_k37.5"]


def _random_points(surface: Surface, shape: tuple[int, ...], seed: int) -> np.ndarray:
    (xmin, xmax), (ymin, ymax) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.stack((rng.uniform(xmin, xmax, shape), rng.uniform(ymin, ymax, shape)), axis=-1)


def _autograd(surface: Surface, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy_t = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    value = surface.f(xy_t)
    value.sum().backward()
    return value.detach().numpy(), xy_t.grad.numpy()


# ------------------------------------------------------------ f and grad


@pytest.mark.parametrize("shape", [(1,), (3,), (7, 5), ()], ids=str)
@pytest.mark.parametrize("surface", SURFACE_CASES, ids=SURFACE_IDS)
def test_grad_matches_autograd(surface, shape):
    xy = _random_points(surface, shape, seed=len(shape) + 10 * len(surface.name))
    value_torch, grad_torch = _autograd(surface, xy)
    grad = surface.grad(xy)
    assert grad.shape == (*shape, 2)
    assert surface.f(xy).shape == shape
    # Same formula, but torch's pow and numpy's ** may round differently in the last bit,
    # and terms cancel (x^3 - 3 x y^2): tolerance relative to the batch's largest value.
    np.testing.assert_allclose(surface.f(xy), value_torch, rtol=1e-14, atol=1e-14 * np.abs(value_torch).max())
    atol = GRAD_ATOL_REL * np.abs(grad_torch).max()
    np.testing.assert_allclose(grad, grad_torch, rtol=GRAD_RTOL, atol=atol)


@pytest.mark.parametrize(
    ("name", "point", "expected"),
    [
        # Hand-computed from the textbook definitions, not from the module.
        ("rosenbrock", (-1.2, 1.0), 24.2),  # (2.2)^2 + 100 (1 - 1.44)^2 = 4.84 + 19.36
        ("beale", (0.0, 0.0), 1.5**2 + 2.25**2 + 2.625**2),
        ("himmelblau", (0.0, 0.0), 11**2 + 7**2),
        ("saddle", (1.0, 2.0), 1.0 - 4.0),
        ("monkey_saddle", (1.0, 2.0), 1.0 - 12.0),
        ("quadratic", (2.0, 1.0), 0.5 * (4.0 + 10.0)),  # default condition number 10
        ("ravine", (1.0, 1.0), 4.0 / 40),  # on the valley floor u = sqrt(2), v = 0: u^2/20
    ],
)
def test_known_values(name, point, expected):
    assert SURFACES[name].f(np.array(point)) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_grid_evaluation_is_pointwise(name):
    surface = SURFACES[name]
    (xmin, xmax), (ymin, ymax) = surface.bounds
    grid = np.stack(np.meshgrid(np.linspace(xmin, xmax, 200), np.linspace(ymin, ymax, 200)), axis=-1)
    values, grads = surface.f(grid), surface.grad(grid)
    assert values.shape == (200, 200) and grads.shape == (200, 200, 2)
    for i, j in [(0, 0), (17, 123), (199, 5), (199, 199)]:
        assert values[i, j] == surface.f(grid[i, j])
        np.testing.assert_array_equal(grads[i, j], surface.grad(grid[i, j]))


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    xy = _random_points(SURFACES[name], (4,), seed=1).astype(np.float32)
    assert SURFACES[name].f(xy).dtype == np.float32
    assert SURFACES[name].grad(xy).dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_grad_does_not_mutate_input(name):
    xy = _random_points(SURFACES[name], (3,), seed=2)
    copy = xy.copy()
    SURFACES[name].f(xy)
    SURFACES[name].grad(xy)
    np.testing.assert_array_equal(xy, copy)


def test_lists_are_accepted():
    np.testing.assert_allclose(SURFACES["saddle"].grad([1.0, 2.0]), [2.0, -4.0])
    assert SURFACES["saddle"].f([1.0, 2.0]) == -3.0


@pytest.mark.parametrize("bad_shape", [(3,), (2, 3), (5, 1)])
def test_wrong_last_axis_is_an_error(bad_shape):
    with pytest.raises(ValueError, match=r"xy must have shape \(\.\.\., 2\)"):
        SURFACES["rosenbrock"].grad(np.zeros(bad_shape))
    with pytest.raises(ValueError, match="xy must have shape"):
        SURFACES["rosenbrock"].f(torch.zeros(bad_shape, dtype=torch.float64))


# ------------------------------------------------------------ minima


MINIMA = [(name, m) for name in NAMES for m in SURFACES[name].minima]


@pytest.mark.parametrize(("name", "minimum"), MINIMA, ids=[f"{n}{m}" for n, m in MINIMA])
def test_minima_are_strict_local_minima(name, minimum):
    surface = SURFACES[name]
    point = np.array(minimum)
    value, grad_torch = _autograd(surface, point)
    # Every minimum listed is a global minimum with value 0 (a textbook fact for
    # all of these surfaces); the irrational Himmelblau minima are rounded to doubles.
    assert abs(value) < 1e-25
    np.testing.assert_allclose(grad_torch, 0.0, atol=1e-12)
    np.testing.assert_allclose(surface.grad(point), 0.0, atol=1e-12)
    hessian = torch.autograd.functional.hessian(surface.f, torch.tensor(point, dtype=torch.float64))
    assert torch.linalg.eigvalsh(hessian).min() > 0
    offsets = np.random.default_rng(3).normal(size=(50, 2)) * 1e-3
    assert (surface.f(point + offsets) > value).all()
    (xmin, xmax), (ymin, ymax) = surface.bounds
    assert xmin < minimum[0] < xmax and ymin < minimum[1] < ymax


@pytest.mark.parametrize("name", ["saddle", "monkey_saddle"])
def test_saddles_are_stationary_but_not_minima(name):
    surface = SURFACES[name]
    origin = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    surface.f(origin).backward()
    assert torch.equal(origin.grad, torch.zeros(2, dtype=torch.float64))
    assert surface.minima == ()
    # some direction goes down from f(0, 0) = 0: the origin is not a minimum
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    circle = 1e-3 * np.stack((np.cos(angles), np.sin(angles)), axis=-1)
    assert surface.f(np.zeros(2)) == 0 and surface.f(circle).min() < 0


def test_monkey_saddle_hessian_vanishes_and_saddle_hessian_is_indefinite():
    zero = torch.zeros(2, dtype=torch.float64)
    monkey = torch.autograd.functional.hessian(SURFACES["monkey_saddle"].f, zero)
    saddle = torch.autograd.functional.hessian(SURFACES["saddle"].f, zero)
    assert torch.equal(monkey, torch.zeros(2, 2, dtype=torch.float64))
    eigenvalues = torch.linalg.eigvalsh(saddle)
    assert eigenvalues.min() < 0 < eigenvalues.max()


@pytest.mark.parametrize("kappa", [1.0, 10.0, 250.0])
def test_quadratic_condition_number(kappa):
    hessian = torch.autograd.functional.hessian(
        ill_conditioned_quadratic(kappa).f, torch.tensor([0.3, -0.7], dtype=torch.float64)
    )
    eigenvalues = torch.linalg.eigvalsh(hessian)
    assert (eigenvalues.max() / eigenvalues.min()).item() == pytest.approx(kappa, rel=1e-14)


def test_ravine_is_rotated_and_has_condition_number_20():
    hessian = torch.autograd.functional.hessian(SURFACES["ravine"].f, torch.zeros(2, dtype=torch.float64))
    eigenvalues, eigenvectors = torch.linalg.eigh(hessian)
    assert (eigenvalues[1] / eigenvalues[0]).item() == pytest.approx(20.0, rel=1e-13)
    assert abs(eigenvectors[0, 0].abs().item() - 2**-0.5) < 1e-13  # flat direction is the diagonal


@pytest.mark.parametrize("name", NAMES)
def test_registry_entries_are_consistent(name):
    surface = SURFACES[name]
    assert surface.name == name and surface.description
    (xmin, xmax), (ymin, ymax) = surface.bounds
    x0, y0 = surface.default_start
    assert xmin < x0 < xmax and ymin < y0 < ymax
    assert get_surface(name) is surface
    with pytest.raises(dataclasses.FrozenInstanceError):
        surface.name = "other"


def test_get_surface_error_lists_names():
    with pytest.raises(ValueError, match=r"name must be one of .*'rosenbrock'.*got 'rosenbrok'"):
        get_surface("rosenbrok")


def test_the_cliff_is_registered_and_its_slope_peaks_at_200_on_its_face():
    assert get_surface("cliff") is CLIFF and CLIFF.minima == ()
    normal = np.array([np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))])
    face = normal / (normal @ normal)  # n . (x, y) = 1: u = 0, where the step is steepest
    assert np.linalg.norm(CLIFF.grad(face)) > 199  # 20 * 10 = 200 along the normal, plus the bowl's slope
    # +-3 n: the bowl terms are equal (it is symmetric), u = 20 and u = -40: a step of almost 40
    height = CLIFF.f(3 * normal) - CLIFF.f(-3 * normal)
    assert height == pytest.approx(20 * (20 / np.sqrt(401) + 40 / np.sqrt(1601)), rel=1e-12)
    assert 39.9 < height < 40


def test_quadratic_condition_number_validation():
    with pytest.raises(ValueError, match="condition_number"):
        ill_conditioned_quadratic(0.5)


def test_modules_do_not_import_torch():
    code = "import sys, dlcourse.surfaces; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------ run


def sgd_init(theta):
    return np.zeros_like(theta)


def sgd_step(theta, grad, momentum_buffer, lr, momentum=0.0):
    """torch.optim.SGD without dampening/nesterov: b = mu b + g; theta -= lr b."""
    momentum_buffer = momentum * momentum_buffer + grad
    return theta - lr * momentum_buffer, momentum_buffer


def adam_init(theta):
    return np.zeros_like(theta), np.zeros_like(theta), 0


def adam_step(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.Adam's documented update (bias-corrected, eps outside the root)."""
    m, v, t = state
    t += 1
    m = betas[0] * m + (1 - betas[0]) * grad
    v = betas[1] * v + (1 - betas[1]) * grad**2
    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), (m, v, t)



# Learning rates that keep each surface's run finite for 200 steps from default_start.
SGD_LR = {
    "quadratic": 0.15, "ravine": 0.5, "saddle": 0.05, "monkey_saddle": 0.002,
    "rosenbrock": 1e-3, "beale": 1e-3, "himmelblau": 0.005, "cliff": 0.1,
}


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("name", NAMES)
def test_run_matches_torch_sgd(name, momentum):
    surface, lr = SURFACES[name], SGD_LR[name] * (1 - momentum if momentum else 1)
    ours = run(sgd_step, sgd_init, name, steps=200, lr=lr, momentum=momentum)
    theirs = torch_trajectory(surface, 200, lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum))
    assert ours.shape == (201, 2)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=TRAJ_RTOL, atol=TRAJ_ATOL)


@pytest.mark.parametrize("name", NAMES)
def test_run_matches_torch_adam(name):
    surface = SURFACES[name]
    start = (0.5, -0.3) if name == "monkey_saddle" else surface.default_start
    ours = run(adam_step, adam_init, surface, start=start, steps=200, lr=0.02, betas=(0.8, 0.99))
    theirs = torch_trajectory(surface, 200, lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99)), start=start)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=TRAJ_RTOL, atol=TRAJ_ATOL)


def _dlcourse_optimizer(name):
    """``(NAME_step, NAME_init)`` from dlcourse.optim."""
    from dlcourse.optim import OPTIMIZERS

    init_fn, step_fn = OPTIMIZERS[name]
    return step_fn, init_fn


@pytest.mark.parametrize(
    ("optimizer", "hp", "make_torch"),
    [
        ("sgd", {"lr": 1e-3}, lambda p: torch.optim.SGD(p, lr=1e-3)),
        ("momentum", {"lr": 1e-4, "momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=1e-4, momentum=0.9)),
        ("nesterov", {"lr": 1e-4, "momentum": 0.9},
         lambda p: torch.optim.SGD(p, lr=1e-4, momentum=0.9, nesterov=True)),
        ("rmsprop", {"lr": 1e-2}, lambda p: torch.optim.RMSprop(p, lr=1e-2)),
        ("adam", {"lr": 2e-2}, lambda p: torch.optim.Adam(p, lr=2e-2)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_run_with_dlcourse_optim_matches_torch(optimizer, hp, make_torch):
    step_fn, init_fn = _dlcourse_optimizer(optimizer)
    surface = SURFACES["rosenbrock"]
    ours = run(step_fn, init_fn, surface, steps=200, **hp)
    theirs = torch_trajectory(surface, 200, make_torch)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=TRAJ_RTOL, atol=TRAJ_ATOL)


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "monkey_saddle", "quadratic"])
def test_divergence_fills_nan_without_warnings(name):
    surface = SURFACES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = run(sgd_step, sgd_init, surface, steps=300, lr=50.0)
    assert ours.shape == (301, 2)
    diverged = np.isnan(ours).any(axis=1)
    first = diverged.argmax()
    assert 0 < first < 300 and diverged[first:].all() and np.isfinite(ours[:first]).all()
    theirs = torch_trajectory(surface, 300, lambda p: torch.optim.SGD(p, lr=50.0))
    # torch carries on with inf/nan; the points before divergence agree, and torch's
    # first non-finite point is where ours stops (or one later, when our run stopped
    # because the gradient at the last finite point was already infinite).
    np.testing.assert_allclose(ours[:first], theirs[:first], rtol=TRAJ_RTOL, atol=TRAJ_ATOL)
    torch_first = (~np.isfinite(theirs).all(axis=1)).argmax()
    assert torch_first in (first, first + 1)


def test_divergence_from_step_fn_output():
    def nan_after_three(theta, grad, t):
        return (theta - 0.01 * grad if t < 3 else np.full(2, np.nan)), t + 1

    trajectory = run(nan_after_three, lambda theta: 0, "himmelblau", steps=10)
    assert np.isfinite(trajectory[:4]).all() and np.isnan(trajectory[4:]).all()


def test_run_zero_steps_and_start_not_mutated():
    start = np.array([0.5, -0.5])
    trajectory = run(sgd_step, sgd_init, "ravine", start=start, steps=0, lr=0.1)
    np.testing.assert_array_equal(trajectory, start[None])
    run(sgd_step, sgd_init, "ravine", start=start, steps=5, lr=0.1)
    np.testing.assert_array_equal(start, [0.5, -0.5])


def test_run_keeps_float32():
    trajectory = run(sgd_step, sgd_init, "quadratic", start=np.array([1.0, 1.0], np.float32), steps=3, lr=0.1)
    assert trajectory.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"surface": "nope"}, ValueError, "name must be one of"),
        ({"surface": 3}, TypeError, "surface must be a Surface"),
        ({"start": (1.0, 2.0, 3.0)}, ValueError, "start must be a finite point"),
        ({"start": (np.nan, 0.0)}, ValueError, "start must be a finite point"),
        ({"start": np.array([1, 2])}, TypeError, "start must be a floating-point array"),
        ({"steps": -1}, ValueError, "steps must be an integer >= 0"),
        ({"steps": 2.5}, ValueError, "steps must be an integer"),
    ],
)
def test_run_errors(kwargs, error, match):
    arguments = {"surface": "rosenbrock", "start": None, "steps": 3} | kwargs
    with pytest.raises(error, match=match):
        run(sgd_step, sgd_init, lr=0.1, **arguments)
