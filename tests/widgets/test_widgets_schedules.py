"""dlcourse.widgets.schedules against torch's learning-rate schedulers.

RTOL = 1e-12: torch's chained schedulers multiply step by step (see
tests/test_schedules.py: measured <= 4e-15).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tsched

from dlcourse.widgets.schedules import SCHEDULES, describe_schedules, make_schedule, schedule_curves

RTOL = 1e-12

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


def test_the_text_states_the_rates_at_the_turning_points():
    data = schedule_curves("cosine", 0.1, 100, 900, 0.01)
    text = describe_schedules(data, "cosine", 0.1, 100, 900, 0.01)
    assert "lr = 0 at step 0, 0.1 at step 100, 0.001 at step 1000" in text
    assert f"{data.sum_lr[-1]:.3g} and {data.sum_lr_squared[-1]:.3g}" in text
