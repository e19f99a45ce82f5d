"""dlcourse.momentum_theory against actual heavy-ball iterates: torch's SGD with momentum and dlcourse.optim.

Tolerances
----------
RTOL = 1e-12: the matrix power R^t (x_0, 0) and torch.optim.SGD(momentum=mu) in float64 compute the
same products in a different order; over <= 60 steps of a contracting iteration the rounding stays
within a few hundred ulps of the largest value.
EIG_RTOL = 1e-12: the closed-form roots against numpy's general eigenvalue solver (LAPACK), both in
float64, for well-separated or complex roots.
RATE_RTOL = 3e-3: the measured rate (e_T / e_start)^(1/(T - start)) over 600 steps converges to the
spectral radius like log(C) / (T - start), where C bounds how far the norm of the error oscillates
around rho^t (the eigenvector basis of R is not orthogonal, and complex pairs rotate); the largest
deviation observed for these settings is 1.6e-3 (a complex pair, whose rotation makes the norm oscillate).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.momentum_theory import (
    contraction_per_step,
    iteration_eigenvalues,
    iteration_matrix,
    largest_stable_lr,
    optimal_gradient_descent,
    optimal_heavy_ball,
    spectral_radius,
)
from dlcourse.optim import momentum_init, momentum_step

RTOL = 1e-12
EIG_RTOL = 1e-12
RATE_RTOL = 3e-3

# (lr, momentum) on the curvatures (0.1, 2): real roots, complex roots, gradient descent, near the edge
SETTINGS = [(0.1, 0.9), (0.5, 0.3), (0.9, 0.0), (1.3, 0.4), (1.6, 0.7)]
CURVATURES = np.array([0.1, 2.0])


def torch_heavy_ball(curvatures, start, steps, lr, momentum):
    """theta_t of torch.optim.SGD(momentum) on f = sum_i lambda_i theta_i^2 / 2, t = 0..steps."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr, momentum=momentum)
    h = torch.tensor(curvatures, dtype=torch.float64)
    path = [theta.detach().numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * (h * theta**2).sum()).backward()
        optimizer.step()
        path.append(theta.detach().numpy().copy())
    return np.array(path)


def dlcourse_heavy_ball(curvatures, start, steps, lr, momentum):
    theta, state, path = np.array(start), momentum_init(np.array(start)), [np.array(start)]
    for _ in range(steps):
        theta, state = momentum_step(theta, curvatures * theta, state, lr=lr, momentum=momentum)
        path.append(theta)
    return np.array(path)


@pytest.mark.parametrize("lr,momentum", SETTINGS)
def test_the_matrix_iteration_is_torchs_sgd_with_momentum(lr, momentum):
    start, steps = np.array([-3.0, 1.5]), 60
    state = np.stack([start, np.zeros(2)], axis=-1)          # per direction (x_0, v_0 = 0)
    R = iteration_matrix(lr, momentum, CURVATURES)           # (2, 2, 2): one matrix per direction
    predicted = [state[:, 0]]
    for _ in range(steps):
        state = np.einsum("dij,dj->di", R, state)
        predicted.append(state[:, 0])
    theirs = torch_heavy_ball(CURVATURES, start, steps, lr, momentum)
    scale = np.abs(theirs).max()
    np.testing.assert_allclose(predicted, theirs, rtol=0, atol=RTOL * scale)
    np.testing.assert_allclose(dlcourse_heavy_ball(CURVATURES, start, steps, lr, momentum), theirs,
                               rtol=0, atol=RTOL * scale)


@pytest.mark.parametrize("lr,momentum", SETTINGS)
def test_eigenvalues_are_the_matrix_eigenvalues_with_trace_and_determinant(lr, momentum):
    for lam in CURVATURES:
        ours = iteration_eigenvalues(lr, momentum, lam)
        lapack = np.linalg.eigvals(iteration_matrix(lr, momentum, lam))
        np.testing.assert_allclose(np.sort_complex(ours), np.sort_complex(lapack), rtol=EIG_RTOL, atol=1e-15)
        np.testing.assert_allclose(ours.sum(), 1 + momentum - lr * lam, rtol=EIG_RTOL, atol=1e-15)
        np.testing.assert_allclose(ours.prod(), momentum, rtol=EIG_RTOL, atol=1e-15)
        assert spectral_radius(lr, momentum, lam) == np.abs(ours).max()


@pytest.mark.parametrize("lr,momentum", SETTINGS)
def test_spectral_radius_is_the_measured_contraction_of_heavy_ball_iterates(lr, momentum):
    steps, start = 800, np.array([-3.0, 1.5])           # the fastest setting here reaches ~1e-160, no underflow
    path = dlcourse_heavy_ball(CURVATURES, start, steps, lr, momentum)
    measured = contraction_per_step(np.linalg.norm(path, axis=1), start=200)
    predicted = spectral_radius(lr, momentum, CURVATURES).max()
    assert measured == pytest.approx(predicted, rel=RATE_RTOL)


def test_radius_below_one_exactly_inside_the_stability_region():
    for momentum in (0.0, 0.3, 0.9):
        edge = largest_stable_lr(momentum, lambda_max=2.0)
        assert spectral_radius(edge * (1 - 1e-6), momentum, 2.0) < 1 < spectral_radius(edge * (1 + 1e-6), momentum, 2.0)
        # and the iterates of torch's optimizer do what the radius says
        inside = torch_heavy_ball(CURVATURES, [1.0, 1.0], 400, 0.98 * edge, momentum)
        outside = torch_heavy_ball(CURVATURES, [1.0, 1.0], 400, 1.02 * edge, momentum)
        assert np.abs(inside[-1, 1]) < 1e-2 < 1e2 < np.abs(outside[-1, 1])


def test_complex_band_contracts_at_sqrt_mu_whatever_the_curvature():
    momentum = 0.64                                          # band (1 - 0.8)^2 < eta lambda < (1 + 0.8)^2
    eta_lambda = np.linspace(0.05, 3.2, 50)
    np.testing.assert_allclose(spectral_radius(1.0, momentum, eta_lambda), 0.8, rtol=1e-12)


def test_optimal_heavy_ball_beats_every_setting_on_a_grid_and_reaches_its_rate():
    lambda_min, lambda_max = 0.1, 2.0
    tuned = optimal_heavy_ball(lambda_min, lambda_max)
    curvatures = np.linspace(lambda_min, lambda_max, 41)
    lrs, momenta = np.meshgrid(np.linspace(0.05, 3.0, 240), np.linspace(0.0, 0.95, 191))
    grid = spectral_radius(lrs[..., None], momenta[..., None], curvatures).max(axis=-1)
    assert grid.min() >= tuned.rate - 1e-12
    # at lambda_min and lambda_max the root is double: sqrt(b^2 - 4 mu) of a rounding error of ~1e-16 is ~1e-8
    assert spectral_radius(tuned.lr, tuned.momentum, curvatures).max() == pytest.approx(tuned.rate, rel=1e-7)
    kappa = lambda_max / lambda_min
    assert tuned.rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1), rel=1e-12)


def test_optimal_gradient_descent_is_the_best_momentum_free_rate():
    tuned = optimal_gradient_descent(0.1, 2.0)
    lrs = np.linspace(0.01, 1.0, 9901)
    best = np.max(np.abs(1 - lrs[:, None] * np.array([0.1, 2.0])), axis=1).min()
    assert tuned.rate == pytest.approx(best, abs=1e-4) and tuned.momentum == 0.0
    assert spectral_radius(tuned.lr, 0.0, np.array([0.1, 2.0])).max() == pytest.approx(tuned.rate, rel=1e-12)


def test_contraction_per_step_of_a_geometric_sequence():
    assert contraction_per_step(0.9 ** np.arange(50.0), start=10) == pytest.approx(0.9, rel=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda: iteration_matrix(0.0, 0.5, 1.0), "lr"),
    (lambda: iteration_matrix(0.1, 1.5, 1.0), "momentum"),
    (lambda: spectral_radius(0.1, 0.5, np.array([1.0, -1.0])), "curvature"),
    (lambda: spectral_radius(np.ones(2), 0.5, np.ones(3)), "broadcast"),
    (lambda: largest_stable_lr(1.0, 2.0), "momentum"),
    (lambda: optimal_heavy_ball(2.0, 1.0), "lambda_max"),
    (lambda: optimal_gradient_descent(0.0, 1.0), "lambda_min"),
    (lambda: contraction_per_step([1.0, 0.0]), "errors"),
    (lambda: contraction_per_step([1.0, 0.5], start=1), "start"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_arrays_are_refused():
    with pytest.raises(TypeError, match="curvature"):
        spectral_radius(0.1, 0.5, np.arange(1, 3))
