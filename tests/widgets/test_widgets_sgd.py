"""dlcourse.widgets.sgd against torch.optim, torch schedulers, torch clipping and analytic values.

Tolerances
----------
RTOL = 1e-12 (quadratic descent, schedules): float64; the closed form
(1 - lr h)^t theta_0 and torch.optim.SGD round differently at each of <= 60
steps (a few ulps each), and torch's chained schedulers multiply step by step
(see tests/test_schedules.py: measured <= 4e-15).
TRAJECTORY_RTOL = 1e-9, TRAJECTORY_ATOL = 1e-12: 150 (cliff) or 100 (surfaces)
SGD steps in float64 against torch autograd + torch.optim.SGD.  Rounding is
amplified where the curvature is large: on the cliff face one step multiplies
a perturbation by |1 - lr h| with lr h up to ~ 100, once per crossing.
VARIANCE_RTOL = 0.05: Monte-Carlo variance from 20,000 minibatches; its
relative standard error is about sqrt(2 / 20,000) = 1%.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tsched

from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import get_surface, ill_conditioned_quadratic, run
from dlcourse.widgets.sgd import (
    CLIFF, CLIPPING, QUADRATICS, SCHEDULES, clipped_descent, make_schedule, minibatch_gradient_spread,
    noisy_descent, quadratic_descent, schedule_curves, surface_gd_explorer,
)

RTOL = 1e-12
TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-9, 1e-12
VARIANCE_RTOL = 0.05


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


# ---------------------------------------------------------------- learning rate on a quadratic


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


# ---------------------------------------------------------------- schedules


def torch_lrs(make_scheduler, n_steps, lr):
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(n_steps):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


def torch_scheduler(name, lr, decay_steps, final_fraction):
    return {
        "constant": lambda o: tsched.LambdaLR(o, lambda k: 1.0),
        "step decay": lambda o: tsched.StepLR(o, step_size=decay_steps // 3, gamma=final_fraction ** (1 / 3)),
        "linear decay to tau": lambda o: tsched.LinearLR(o, 1.0, final_fraction, total_iters=decay_steps),
        "cosine": lambda o: tsched.CosineAnnealingLR(o, T_max=decay_steps, eta_min=final_fraction * lr),
    }[name]


@pytest.mark.parametrize("warmup_steps", [0, 7])
@pytest.mark.parametrize("name", SCHEDULES)
def test_make_schedule_matches_torch_lr_scheduler(name, warmup_steps):
    lr, decay_steps, final_fraction = 0.3, 31, 0.02
    main = torch_scheduler(name, lr, decay_steps, final_fraction)
    if warmup_steps:
        # torch's LinearLR refuses start_factor=0; the ramp k / W from 0 is a LambdaLR
        make = lambda o: tsched.SequentialLR(  # noqa: E731
            o, [tsched.LambdaLR(o, lambda k: k / warmup_steps), main(o)], milestones=[warmup_steps])
    else:
        make = main
    n = warmup_steps + decay_steps + 1  # cosine: torch's formula is periodic past T_max
    ours = make_schedule(name, lr, warmup_steps, decay_steps, final_fraction)(np.arange(n))
    np.testing.assert_allclose(ours, torch_lrs(make, n, lr), rtol=RTOL, atol=1e-15)


def test_schedule_curves_hold_every_schedule_and_the_robbins_monro_sums():
    data = schedule_curves("constant", 0.1, 0, 300, 0.01, horizon=500)
    assert set(data.curves) == set(SCHEDULES) and data.steps.tolist() == list(range(500))
    np.testing.assert_allclose(data.sum_lr, 0.1 * np.arange(1, 501), rtol=RTOL)
    np.testing.assert_allclose(data.sum_lr_squared, 0.01 * np.arange(1, 501), rtol=RTOL)
    decayed = schedule_curves("linear decay to tau", 0.1, 50, 300, 0.01, horizon=500).curves["linear decay to tau"]
    np.testing.assert_allclose(decayed[[0, 25, 50, 350, 499]], [0.0, 0.05, 0.1, 0.001, 0.001], rtol=RTOL)


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "exponential"}, "name"), ({"final_fraction": 0.0}, "final_fraction"), ({"decay_steps": 2}, "decay_steps"),
    ({"warmup_steps": -1}, "warmup_steps"), ({"lr": 0.0}, "lr"),
])
def test_make_schedule_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_schedule(**({"name": "cosine", "lr": 0.1, "warmup_steps": 10, "decay_steps": 100,
                          "final_fraction": 0.01} | kwargs))


# ---------------------------------------------------------------- the cliff


CLIFF_NORMAL_X = math.cos(math.radians(20))


def test_cliff_gradient_matches_autograd():
    points = np.random.default_rng(0).uniform((-7, -3.5), (5, 3), size=(50, 2))
    points[0] = (1.0 / CLIFF_NORMAL_X, 0.0)  # on the face, where the slope peaks
    xy = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    CLIFF.f(xy).sum().backward()
    np.testing.assert_allclose(CLIFF.grad(points), xy.grad.numpy(), rtol=RTOL, atol=1e-14)
    assert np.linalg.norm(CLIFF.grad(points[0])) > 199  # 40 * 10 / 2 = 200 along the normal



@pytest.mark.parametrize("clipping,threshold", [("off", 1.0), ("by value", 1.0), ("by norm", 1.0), ("by norm", 30.0),
                                                ("by value", 0.3)])
def test_clipped_descent_matches_torch_clip_and_sgd(clipping, threshold):
    result = clipped_descent(clipping, threshold)

    def clip(grad, t):
        holder = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        holder.grad = grad.clone()
        if clipping == "by value":
            torch.nn.utils.clip_grad_value_([holder], threshold)
        elif clipping == "by norm":
            torch.nn.utils.clip_grad_norm_([holder], threshold)
        return holder.grad

    expected = torch_sgd(CLIFF.f, CLIFF.default_start, 150, 0.1, clip)
    np.testing.assert_allclose(result.trajectory, expected, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)
    np.testing.assert_allclose(result.losses, CLIFF.f(expected), rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)


def test_the_unclipped_step_is_thrown_far_and_clipped_steps_are_bounded():
    unclipped = clipped_descent("off", 1.0)
    assert unclipped.step_lengths.max() > 5 and unclipped.grad_norms.max() > 50  # 250x the plateau's 0.3
    by_norm, by_value = clipped_descent("by norm", 1.0), clipped_descent("by value", 1.0)
    assert by_norm.step_lengths.max() <= 0.1 * 1.0  # lr * max_norm
    assert by_value.step_lengths.max() <= 0.1 * 1.0 * math.sqrt(2) + 1e-15  # each of 2 entries <= lr * clip_value
    np.testing.assert_array_equal(by_norm.unclipped, unclipped.trajectory)


@pytest.mark.parametrize("kwargs,match", [({"clipping": "norm"}, "clipping"), ({"threshold": 0.0}, "threshold"),
                                          ({"lr": -1.0}, "lr"), ({"steps": 0}, "steps")])
def test_clipped_descent_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clipped_descent(**({"clipping": "off", "threshold": 1.0} | kwargs))


# ---------------------------------------------------------------- surfaces


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
        noisy = torch_sgd(f, start, steps, lr, lambda g, t: g + noise * torch.tensor(xi[t, r - 1]))
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


# ---------------------------------------------------------------- minibatch gradients


def test_minibatch_variance_formula_equals_enumeration_over_all_batches():
    grads = np.random.default_rng(0).normal(size=(6, 3))
    full = grads.mean(axis=0)
    predicted = minibatch_gradient_spread(grads, (1, 2, 3, 6), 2, np.random.default_rng(1))["predicted"]
    for b, value in zip((1, 2, 3, 6), predicted):
        exact = np.mean([np.sum((grads[list(batch)].mean(axis=0) - full) ** 2)
                         for batch in itertools.combinations(range(6), b)])
        np.testing.assert_allclose(value, exact, rtol=RTOL, atol=1e-15)


def test_minibatch_gradients_are_unbiased_and_their_variance_shrinks_like_one_over_b():
    grads = np.random.default_rng(0).normal(size=(40, 5)) + 3.0
    before = grads.copy()
    spread = minibatch_gradient_spread(grads, (1, 4, 13), 20_000, np.random.default_rng(1))
    np.testing.assert_array_equal(grads, before)
    np.testing.assert_allclose(spread["variance"], spread["predicted"], rtol=VARIANCE_RTOL)
    # the mean of 20,000 batch gradients: about sqrt(variance / 20,000) from the full gradient
    assert np.all(spread["bias"] < 4 * np.sqrt(spread["predicted"] / 20_000))
    full_batch = minibatch_gradient_spread(grads, (40,), 3, np.random.default_rng(1))
    assert full_batch["variance"][0] < 1e-25 and full_batch["predicted"][0] == 0  # the full batch has no noise


def test_minibatch_gradient_spread_names_bad_arguments():
    with pytest.raises(ValueError, match="batch_sizes"):
        minibatch_gradient_spread(np.ones((4, 2)), (5,), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="per_example_grads"):
        minibatch_gradient_spread(np.ones(4), (1,), 3, np.random.default_rng(0))


def test_surface_explorer_starts_at_the_surface_start():
    explorer = surface_gd_explorer(surface="himmelblau", lr=0.01)
    assert (explorer.values()["start_x"], explorer.values()["start_y"]) == (0.0, 0.0)
    assert CLIPPING == ("off", "by value", "by norm")
