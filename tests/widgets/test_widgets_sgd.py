"""dlcourse.widgets.sgd against torch.optim and analytic values: quadratics, and noisy descent on the surfaces.

Tolerances
----------
RTOL = 1e-12 (quadratic descent): float64; the closed form (1 - lr h)^t theta_0
and torch.optim.SGD round differently at each of <= 60 steps (a few ulps each).
TRAJECTORY_RTOL = 1e-9, TRAJECTORY_ATOL = 1e-12: 100 SGD steps on the surfaces
in float64 against torch autograd + torch.optim.SGD.

The guided tour of lecture 04 (``SURFACE_TOUR``): every value it names can be set on its slider, and every
run does what the tour's text says.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from torch_paths import torch_sgd

from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import get_surface, ill_conditioned_quadratic, run
from dlcourse.widgets.sgd import (
    _STARTS,
    GD_SURFACES,
    QUADRATICS,
    describe_quadratic,
    describe_surface_runs,
    noisy_descent,
    quadratic_descent,
    surface_gd_explorer,
)
from dlcourse.widgets.surface_tour import SURFACE_TOUR, lr_on_grid, surface_tour, tour_facts

RTOL = 1e-12
TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-9, 1e-12

@pytest.mark.parametrize("problem", sorted(QUADRATICS))
@pytest.mark.parametrize("lr", [0.005, 0.05, 0.15, 0.19])
def test_quadratic_descent_is_the_closed_form_and_torch_sgd(problem, lr):
    L, steps = 10.0, 60
    result = quadratic_descent(lr, L, problem, steps)
    curvatures, start = np.array(QUADRATICS[problem][0](L)), np.array(QUADRATICS[problem][1])
    closed_form = (1 - lr * curvatures) ** np.arange(steps + 1)[:, None] * start
    np.testing.assert_allclose(result.trajectory, closed_form, rtol=RTOL, atol=1e-300)
    h = torch.tensor(curvatures, dtype=torch.float64)
    padded = np.pad(start, (0, 2 - len(start)))  # torch_sgd works on 2-vectors; a zero second coordinate stays 0
    hh = torch.cat([h, torch.zeros(2 - len(h), dtype=torch.float64)])
    expected = torch_sgd(lambda th: 0.5 * (hh * th**2).sum(), padded, steps, lr)[:, : len(start)]
    np.testing.assert_allclose(result.trajectory, expected, rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(result.losses, 0.5 * (curvatures * closed_form**2).sum(axis=1), rtol=RTOL)
    assert result.stable_limit == 2 / L and result.diverged_at is None


def test_two_d_quadratic_is_the_surfaces_ill_conditioned_quadratic():
    ours = quadratic_descent(0.12, 8.0, "2-D ill-conditioned quadratic", 40).trajectory
    expected = run(sgd_step, sgd_init, ill_conditioned_quadratic(8.0), start=np.array([-3.5, 1.5]), steps=40, lr=0.12)
    np.testing.assert_allclose(ours, expected, rtol=RTOL)


@pytest.mark.parametrize("lr,shrinks", [(0.199, True), (0.201, False)])
def test_two_over_l_separates_convergence_from_divergence(lr, shrinks):
    result = quadratic_descent(lr, 10.0, "1-D quadratic", 100)
    assert (result.losses[-1] < result.losses[0]) == shrinks == (result.contraction[0] < 1)


def test_an_escaped_run_is_cut_off():
    escaped = quadratic_descent(0.5, 10.0, "1-D quadratic", 100)  # 2.5 * 4^t >= 1e6 first at t = 10 (2.6e6)
    assert escaped.diverged_at == 10
    assert np.isnan(escaped.trajectory[10:]).all() and np.isfinite(escaped.trajectory[:10]).all()


@pytest.mark.parametrize("kwargs,match", [({"lr": 0.0}, "lr"), ({"curvature": -1.0}, "curvature"),
                                          ({"problem": "3-D"}, "problem"), ({"steps": 0}, "steps")])
def test_quadratic_descent_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadratic_descent(**({"lr": 0.1, "curvature": 10.0} | kwargs))


@pytest.mark.parametrize("surface,lr,start", [("himmelblau", 0.01, (0.0, 0.0)), ("saddle", 0.05, (-1.8, 0.01)),
                                              ("beale", 0.003, (1.0, 1.5)), ("ravine", 0.5, (-3.5, -2.0))])
def test_noisy_descent_matches_surfaces_run_and_torch_with_the_same_noise(surface, lr, start):
    steps, runs, noise, seed = 100, 3, 2.0, 4
    result = noisy_descent(surface, lr, noise, steps, start, runs=runs, seed=seed)
    exact = run(sgd_step, sgd_init, surface, start=np.array(start), steps=steps, lr=lr)
    np.testing.assert_allclose(result.trajectories[0], exact, rtol=RTOL, atol=1e-300)
    xi = np.random.default_rng(seed).standard_normal((steps, runs, 2))
    f = get_surface(surface).f
    for r in range(1, runs + 1):
        noisy = torch_sgd(f, start, steps, lr, lambda g, t, r=r: g + noise * torch.tensor(xi[t, r - 1]))
        np.testing.assert_allclose(result.trajectories[r], noisy, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)
    np.testing.assert_allclose(result.grad_norms[0], np.linalg.norm(get_surface(surface).grad(exact[:-1]), axis=1),
                               rtol=RTOL)


def test_noisy_descent_stops_diverged_runs_and_noise_zero_repeats_gradient_descent():
    result = noisy_descent("rosenbrock", 1.0, 0.0, 50, (-1.2, 1.0), runs=2)
    k = result.diverged_at[0]
    assert k is not None and result.diverged_at == (k, k, k)
    assert np.isnan(result.trajectories[:, k:]).all() and np.isfinite(result.trajectories[:, :k]).all()
    calm = noisy_descent("quadratic", 0.1, 0.0, 30, (-3.5, 1.5), runs=2)
    np.testing.assert_array_equal(calm.trajectories[1], calm.trajectories[0])


def test_noise_lets_gradient_descent_leave_a_saddle_point():
    stuck = noisy_descent("saddle", 0.05, 1.0, 100, (0.0, 0.0), runs=3)
    assert np.all(stuck.trajectories[0] == 0.0)  # the gradient at the saddle point is exactly 0
    assert np.all(np.abs(stuck.trajectories[1:, -1, 1]) > 1.0)


@pytest.mark.parametrize("kwargs,match", [({"surface": "bowl"}, "surface"), ({"lr": 0.0}, "lr"),
                                          ({"noise": -1.0}, "noise"), ({"steps": 0}, "steps"), ({"runs": -1}, "runs")])
def test_noisy_descent_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        noisy_descent(**({"surface": "saddle", "lr": 0.1, "noise": 1.0, "steps": 5, "start": (1.0, 0.0)} | kwargs))


def test_noisy_descent_does_not_modify_start():
    start = np.array([0.5, -0.5])
    noisy_descent("himmelblau", 0.01, 1.0, 10, start)
    np.testing.assert_array_equal(start, [0.5, -0.5])


def test_surface_explorer_starts_at_the_surface_start():
    explorer = surface_gd_explorer(surface="himmelblau", lr=0.01)
    assert (explorer.values()["start_x"], explorer.values()["start_y"]) == (0.0, 0.0)
    assert explorer.controls["surface"].options == GD_SURFACES  # the cliff has its own widget


# ---------------------------------------------------------------- the guided tour (lecture 04, section 7)

def on_slider_grid(control, value) -> bool:
    """Can a person set ``value`` with ``control``? A log slider: its readout shows ``value`` at a grid point."""
    if isinstance(control, widgets.FloatLogSlider):
        k = round((np.log(value) / np.log(control.base) - control.min) / control.step)
        exponent = control.min + k * control.step
        shown = format(control.base**exponent, control.readout_format)
        return control.min <= exponent <= control.max + 1e-12 and shown == format(value, control.readout_format)
    k = (value - control.min) / control.step
    return control.min <= value <= control.max and abs(k - round(k)) < 1e-9


def test_every_value_the_tour_names_is_on_its_sliders_grid():
    controls = surface_gd_explorer().controls
    for surface, (_, stops) in SURFACE_TOUR.items():
        assert surface in controls["surface"].options
        for stop in stops:
            start = _STARTS[surface] if stop.start is None else stop.start
            settings = {"lr": stop.lr, "steps": stop.steps, "noise": stop.noise, "start_x": start[0],
                        "start_y": start[1]}
            for name, value in settings.items():
                assert on_slider_grid(controls[name], value), f"{surface}: {name} = {value} cannot be set"
            assert format(lr_on_grid(stop.lr), ".3g") == format(stop.lr, ".3g")


def test_the_grid_check_refuses_values_between_grid_points():
    controls = surface_gd_explorer().controls
    assert not on_slider_grid(controls["lr"], 0.9) and not on_slider_grid(controls["lr"], 0.007)
    assert not on_slider_grid(controls["lr"], 1.05) and on_slider_grid(controls["lr"], 1.26)
    assert not on_slider_grid(controls["start_x"], 0.005) and not on_slider_grid(controls["steps"], 155)


def test_every_tour_run_does_what_its_text_says():
    text = surface_tour().data                              # raises if a run misses a stop's expectation
    for surface, (_, stops) in SURFACE_TOUR.items():
        for stop in stops:
            facts = tour_facts(surface, stop)
            assert stop.text.format(**facts) in text
            for name, low, high in stop.expect:
                assert low <= facts[name] <= high, (surface, stop.lr, name, facts[name])


def test_the_ravine_stops_bracket_its_stability_limit():
    """The tour's point: lr 1.0 neither grows nor shrinks the zig-zag, the next slider value diverges."""
    stops = {stop.lr: stop for stop in SURFACE_TOUR["ravine"][1]}
    at_limit, beyond = tour_facts("ravine", stops[1.0]), tour_facts("ravine", stops[1.26])
    assert at_limit["factor_high"] == pytest.approx(1.0, abs=1e-6) and at_limit["diverged_at"] == -1
    assert beyond["factor_high"] > 1 and beyond["diverged_at"] > 0
    run_at_limit = noisy_descent("ravine", 1.0, 0.0, 150, (-3.5, -2.0), runs=0).trajectories[0]
    across = (run_at_limit[:, 1] - run_at_limit[:, 0]) / np.sqrt(2)       # w = (y - x) / sqrt(2)
    np.testing.assert_allclose(np.abs(across), abs(across[0]), rtol=1e-9)


def test_the_texts_state_the_verdict_and_the_ends():
    assert "it diverges" in describe_quadratic(quadratic_descent(0.3, 10.0), 0.3, 10.0, "1-D quadratic", 30)
    assert "it oscillates" in describe_quadratic(quadratic_descent(0.15, 10.0), 0.15, 10.0, "1-D quadratic", 30)
    runs = noisy_descent("quadratic", 0.1, 1.0, 50, (-3.5, 1.5))
    text = describe_surface_runs(runs, "quadratic", 0.1, 1.0, 50, -3.5, 1.5)
    assert f"|gradient| {runs.grad_norms[0, -1]:.3g}" in text and "5 runs with gradient noise of std 1" in text
