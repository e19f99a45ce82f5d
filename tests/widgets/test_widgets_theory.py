"""dlcourse.widgets.theory: Hessians and Newton steps against torch.autograd, the experiments' building blocks.

Tolerances
----------
HESSIAN_RTOL = 1e-6, HESSIAN_ATOL = 1e-5: central differences with h = 1e-5
have a truncation error h^2/6 * |f''''| (Rosenbrock: up to ~2400 * 1e-10 / 6,
about 4e-8) plus rounding eps * |grad| / h (|grad| up to ~1e3 here: ~2e-8),
against torch.autograd.functional.hessian's exact second derivatives.  Entries
reach ~3000 on Rosenbrock, so rtol dominates there.
NEWTON_RTOL = 1e-6: a Newton step solves with that finite-difference Hessian.
QUADRATIC_ATOL = 1e-9: on quadratics the central differences of a linear
gradient are exact up to rounding (~1e-11), so one Newton step lands on the
stationary point to about 1e-10.
SGD_RTOL = 1e-12: gradient descent on a surface vs torch.optim.SGD, 20 steps
in float64 (the same update, a few ulps per step).
LOSS_RTOL = 1e-12: one forward pass and cross-entropy vs torch in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data import spirals
from dlcourse.layers import MLP
from dlcourse.surfaces import SURFACES, get_surface
from dlcourse.widgets.practice import accuracy, digits_data
from dlcourse.widgets.theory import (
    NEWTON_SURFACES,
    final_loss_spread,
    hessian,
    loss_along_line,
    lottery_ticket,
    magnitude_masks,
    memorization,
    newton_path,
    newton_step,
    newton_view,
    permute_hidden_units,
    prune_accuracy,
    random_direction,
    shuffle_labels,
)

HESSIAN_RTOL, HESSIAN_ATOL = 1e-6, 1e-5
NEWTON_RTOL = 1e-6
QUADRATIC_ATOL = 1e-9
SGD_RTOL = 1e-12
LOSS_RTOL = 1e-12


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


# ------------------------------------------------------------------ Hessian and Newton


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_hessian_matches_torch_autograd(name):
    surface = get_surface(name)
    points = random_points(surface, 7, seed=len(name))
    ours = hessian(surface, points)  # a batch of points at once
    assert ours.shape == (7, 2, 2)
    for point, H in zip(points, ours):
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
        for array, copy in zip((theta, grad, hess), copies):  # pure
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


# ------------------------------------------------------------------ landscapes


def torch_loss(params, X, y):
    h = X
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        h = h @ torch.tensor(params[f"W{layer}"]) + torch.tensor(params[f"b{layer}"])
        if layer < n_layers:
            h = torch.relu(h)
    return torch.nn.functional.cross_entropy(h, torch.tensor(y)).item()


@pytest.fixture(scope="module")
def two_models():
    sizes = [64, 12, 10]
    return [MLP(sizes, rng=np.random.default_rng(seed)) for seed in (0, 1)]


def test_loss_along_line_interpolates_between_two_networks(two_models):
    a, b = two_models
    data = digits_data()
    X, y = np.array(data.X_val), np.array(data.y_val)
    direction = {k: b.params[k] - a.params[k] for k in a.params}
    ts = [0.0, 0.3, 1.0]
    losses = loss_along_line(a, a.params, direction, X, y, ts)
    for t, loss in zip(ts, losses):
        mixed = {k: (1 - t) * a.params[k] + t * b.params[k] for k in a.params}
        np.testing.assert_allclose(loss, torch_loss(mixed, torch.tensor(X), y), rtol=LOSS_RTOL)
    before = {k: v.copy() for k, v in a.params.items()}
    loss_along_line(a, a.params, direction, X, y, [2.0])
    for k in before:  # the model is only a template
        np.testing.assert_array_equal(a.params[k], before[k])


def test_random_direction_is_scaled_layer_by_layer(two_models):
    params = two_models[0].params
    direction = random_direction(params, np.random.default_rng(0))
    for name, value in params.items():
        if name.startswith("W"):
            np.testing.assert_allclose(np.linalg.norm(direction[name]), np.linalg.norm(value), rtol=1e-12)
        else:
            assert np.all(direction[name] == 0)


def test_permuting_hidden_units_keeps_the_function(two_models):
    params = two_models[0].params
    permutation = np.random.default_rng(0).permutation(12)
    permuted = permute_hidden_units(params, permutation)
    X = torch.tensor(np.array(digits_data().X_val))
    y = np.array(digits_data().y_val)
    assert not np.allclose(permuted["W1"], params["W1"])
    np.testing.assert_allclose(torch_loss(permuted, X, y), torch_loss(params, X, y), rtol=LOSS_RTOL)
    with pytest.raises(ValueError, match="permutation"):
        permute_hidden_units(params, [0, 0, 1])
    with pytest.raises(ValueError, match="permutation"):
        permute_hidden_units(params, np.arange(10), layer=2)  # the output layer has no next layer


def test_final_loss_spread_shapes_and_order():
    X, y = spirals(60, 3, 0.2, rng=np.random.default_rng(0))
    spread = final_loss_spread((2, 8), 3, X, y, epochs=3)
    assert set(spread) == {2, 8}
    for losses in spread.values():
        assert losses.shape == (3,) and np.all(np.diff(losses) >= 0) and np.isfinite(losses).all()
    assert len(set(spread[2])) == 3  # different seeds end in different places


# ------------------------------------------------------------------ memorization and pruning


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_shuffle_labels_keeps_class_counts(fraction):
    y = np.random.default_rng(0).integers(0, 10, 200)
    original = y.copy()
    noisy = shuffle_labels(y, fraction, np.random.default_rng(1))
    np.testing.assert_array_equal(y, original)
    np.testing.assert_array_equal(np.bincount(noisy, minlength=10), np.bincount(y, minlength=10))
    assert np.sum(noisy != y) <= round(fraction * len(y))
    if fraction == 0.0:
        np.testing.assert_array_equal(noisy, y)
    if fraction == 1.0:
        assert np.mean(noisy == y) < 0.25  # about 1/10 by chance
    with pytest.raises(ValueError, match="fraction"):
        shuffle_labels(y, 1.5, np.random.default_rng(1))


def test_memorization_fits_random_labels_but_does_not_generalize():
    results = memorization((0.0, 1.0), n_train=100, hidden=128, epochs=60, lr=3e-3)
    real, shuffled = results[0.0], results[1.0]
    assert real["train"][-1] == 1.0 and shuffled["train"][-1] == 1.0
    assert real["val"][-1] > 0.8 and shuffled["val"][-1] < 0.3


@pytest.mark.parametrize("keep", [0.05, 0.2, 0.5])
def test_magnitude_masks_keep_the_largest_weights(keep, two_models):
    params = two_models[0].params
    masks = magnitude_masks(params, keep)
    assert set(masks) == {"W1", "W2"}
    for name, expected_keep in (("W1", keep), ("W2", 1 - (1 - keep) / 2)):
        mask, weights = masks[name], np.abs(params[name])
        assert mask.shape == weights.shape and set(np.unique(mask)) <= {0.0, 1.0}
        assert mask.sum() == round(expected_keep * weights.size)
        assert weights[mask == 1].min() >= weights[mask == 0].max()
    uniform = magnitude_masks(params, keep, output_keep=keep)
    assert uniform["W2"].sum() == round(keep * params["W2"].size)


def test_prune_accuracy_at_the_extremes(two_models):
    model = two_models[1]
    data = digits_data()
    X, y = np.array(data.X_val), np.array(data.y_val)
    before = {k: v.copy() for k, v in model.params.items()}
    none_removed, all_removed = prune_accuracy(model, [0.0, 1.0], X, y)
    assert none_removed == accuracy(model, X, y)
    # no weights left: the output is b2 for every input, one class for all
    assert all_removed == np.mean(y == np.argmax(model.params["b2"]))
    for k in before:
        np.testing.assert_array_equal(model.params[k], before[k])


def test_lottery_ticket_structure_and_kept_fraction():
    result = lottery_ticket((0.2,), hidden=16, epochs=2, seeds=(0,))
    assert result["full"].shape == (1, 2) and result["ticket"][0.2].shape == (1, 2)
    assert result["reinit"][0.2].shape == (1, 2)
    expected = (round(0.2 * 64 * 16) + round(0.6 * 16 * 10)) / (64 * 16 + 16 * 10)
    assert result["kept"][0.2] == pytest.approx(expected)
