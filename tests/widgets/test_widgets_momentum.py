"""dlcourse.widgets.momentum: the race, the overlaid forms and Nesterov's look-ahead form agree with torch.optim.SGD.

Trajectories are compared with torch.optim.SGD driven by torch.autograd on the
same surface, in float64.  Tolerance: up to 150 optimizer steps accumulate
rounding (the forms also reassociate lr * v): rtol=1e-10, atol=1e-12, as the
optimizer tests.  The momentum forms themselves (``dlcourse.optim.momentum_forms``)
are tested in tests/test_optim.py.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch_paths import torch_trajectory

from dlcourse.optim import momentum_init, momentum_step
from dlcourse.surfaces import get_surface
from dlcourse.widgets.momentum import (
    MOMENTUM_SURFACES,
    describe_momentum_comparison,
    lookahead_nesterov_run,
    loss_gap,
    momentum_comparison,
    momentum_explorer,
    surface_grid,
)

RTOL, ATOL = 1e-10, 1e-12
STEPS = 150



@pytest.mark.parametrize("name", MOMENTUM_SURFACES)
@pytest.mark.parametrize(("lr", "momentum"), [(0.05, 0.9), (0.3, 0.5)])
def test_lookahead_points_are_torch_nesterov_iterates(name, lr, momentum):
    thetas, lookaheads = lookahead_nesterov_run(name, None, STEPS, lr=lr, momentum=momentum)
    theirs = torch_trajectory(name, STEPS, lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, nesterov=True))
    np.testing.assert_allclose(lookaheads, theirs, rtol=RTOL, atol=ATOL)
    # the slide's own iterates theta are a different (shifted) sequence
    assert np.abs(thetas[1:] - theirs[1:]).max() > 1e-3


@pytest.mark.parametrize("name", MOMENTUM_SURFACES)
def test_comparison_matches_torch_sgd_momentum_and_nesterov(name):
    lr, momentum = 0.08, 0.85
    data = momentum_comparison(name, lr, momentum, STEPS, show_forms=True)
    cases = {
        "SGD": {"lr": lr},
        "heavy ball": {"lr": lr, "momentum": momentum},
        "Nesterov": {"lr": lr, "momentum": momentum, "nesterov": True},
    }
    for label, kwargs in cases.items():
        theirs = torch_trajectory(name, STEPS, lambda p, kwargs=kwargs: torch.optim.SGD(p, **kwargs))
        np.testing.assert_allclose(data["trajectories"][label], theirs, rtol=RTOL, atol=ATOL, err_msg=label)
        np.testing.assert_allclose(data["losses"][label], get_surface(name).f(theirs), rtol=1e-9, atol=1e-15)
    assert data["effective_lr"] == pytest.approx(lr / (1 - momentum), rel=1e-15)
    for label, (path, difference) in data["forms"].items():
        assert path.shape == (STEPS + 1, 2)
        assert difference < 1e-12, label


def test_zero_momentum_is_plain_sgd():
    data = momentum_comparison("quadratic", 0.1, 0.0, 50)
    np.testing.assert_array_equal(data["trajectories"]["heavy ball"], data["trajectories"]["SGD"])
    np.testing.assert_array_equal(data["trajectories"]["Nesterov"], data["trajectories"]["SGD"])


def test_constant_slope_velocity_reaches_one_over_one_minus_mu():
    # heavy-ball view 2: on a constant gradient g the step tends to lr * g / (1 - mu)
    theta, state, g = np.zeros(3), momentum_init(np.zeros(3)), np.array([1.0, -2.0, 0.5])
    for _ in range(400):
        new_theta, state = momentum_step(theta, g, state, lr=0.01, momentum=0.9)
        step, theta = new_theta - theta, new_theta
    np.testing.assert_allclose(step, -0.01 * g / (1 - 0.9), rtol=1e-12)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="surface"):
        momentum_comparison("rosenbrock")
    with pytest.raises(ValueError, match="momentum"):
        momentum_comparison("ravine", momentum=1.0)
    with pytest.raises(ValueError, match="start"):
        lookahead_nesterov_run("ravine", (1.0, 2.0, 3.0))
    with pytest.raises(TypeError, match="colour"):
        momentum_explorer(colour="red")
    with pytest.raises(ValueError, match="surface"):
        momentum_explorer(surface="beale")


def test_surface_grid_is_cached_read_only_and_exact():
    X, Y, Z, levels = surface_grid("ravine")
    assert surface_grid("ravine")[2] is Z and not Z.flags.writeable
    np.testing.assert_allclose(Z, (X + Y) ** 2 / 40 + (Y - X) ** 2 / 2, rtol=1e-14)
    assert np.all(np.diff(levels) > 0) and levels[0] == Z.min() and levels[-1] == Z.max()


def test_loss_gap_is_f_minus_the_minimum_and_plain_f_on_a_saddle():
    path = np.array([[1.0, 2.0], [0.5, 0.25]])
    np.testing.assert_allclose(loss_gap("quadratic", path), 0.5 * (path[:, 0] ** 2 + 10 * path[:, 1] ** 2))
    x, y = path[:, 0], path[:, 1]
    np.testing.assert_allclose(loss_gap("rosenbrock", path), (1 - x) ** 2 + 100 * (y - x**2) ** 2)
    np.testing.assert_allclose(loss_gap("saddle", path), path[:, 0] ** 2 - path[:, 1] ** 2)


def test_explorer_initial_values_and_figure():
    explorer = momentum_explorer(surface="quadratic", momentum=0.5, show_forms=True)
    assert explorer.values()["surface"] == "quadratic" and "forms" in explorer.data
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


def test_module_does_not_import_torch():
    code = "import sys, dlcourse.widgets.momentum; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_text_states_the_final_losses():
    data = momentum_comparison("ravine", 0.1, 0.9, 100, show_forms=True)
    text = describe_momentum_comparison(data, lr=0.1, momentum=0.9, steps=100)
    for label, loss in data["losses"].items():
        assert f"{label} {loss[-1]:.3g}" in text
    assert "lr/(1 − mu) = 1" in text and "EMA form" in text
    diverged = momentum_comparison("ravine", 3.0, 0.99, 300)
    assert "SGD diverged at step" in describe_momentum_comparison(diverged, lr=3.0, momentum=0.99, steps=300)
