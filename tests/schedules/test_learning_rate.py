"""dlcourse.schedules.learning_rate against torch.optim.lr_scheduler.

Tolerances
----------
SCHEDULE_RTOL = 1e-12: torch's schedulers run their "chainable" form, which
updates the learning rate recursively from the previous one (StepLR and
ExponentialLR multiply by gamma, LinearLR by a ratio of two affine terms,
CosineAnnealingLR by a ratio of two cosines), while dlcourse evaluates the
closed form.  Each recursive step adds at most a few roundings of 2**-53, so
after k <= 500 steps the relative difference is below ~500 * 4 * 1.1e-16 = 2e-13
(measured: <= 4e-15).  Where the rate reaches exactly 0 both sides give 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tsched

from dlcourse import schedules as S

SCHEDULE_RTOL = 1e-12
LR = 0.1


def torch_lrs(make_scheduler, n_steps: int, lr: float = LR) -> np.ndarray:
    """Learning rates used by the first ``n_steps`` steps of a torch scheduler."""
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(n_steps):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


def assert_schedule_matches(ours, make_scheduler, n_steps: int) -> None:
    steps = np.arange(n_steps)
    np.testing.assert_allclose(ours(steps), torch_lrs(make_scheduler, n_steps), rtol=SCHEDULE_RTOL, atol=0)


# ---------------------------------------------------------------------------
# schedules vs torch
# ---------------------------------------------------------------------------


def test_constant_matches_unscheduled_optimizer():
    assert_schedule_matches(S.constant(LR), lambda o: tsched.LambdaLR(o, lambda k: 1.0), 50)


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (7, 0.1), (30, 0.5), (100, 1.0)])
def test_step_decay_matches_steplr(step_size, gamma):
    assert_schedule_matches(S.step_decay(LR, step_size, gamma), lambda o: tsched.StepLR(o, step_size, gamma), 300)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99, 1.0])
def test_exponential_decay_matches_exponentiallr(gamma):
    assert_schedule_matches(S.exponential_decay(LR, gamma), lambda o: tsched.ExponentialLR(o, gamma), 300)


@pytest.mark.parametrize("total_steps", [1, 2, 7, 100, 499])
@pytest.mark.parametrize("min_lr", [0.0, 1e-3])
def test_cosine_matches_cosineannealinglr(total_steps, min_lr):
    assert_schedule_matches(
        S.cosine(LR, total_steps, min_lr),
        lambda o: tsched.CosineAnnealingLR(o, T_max=total_steps, eta_min=min_lr),
        total_steps + 1,
    )


def test_cosine_holds_min_lr_after_total_steps_where_torch_rises_again():
    total_steps, min_lr = 10, 1e-3
    after = np.arange(total_steps, 4 * total_steps)
    np.testing.assert_array_equal(S.cosine(LR, total_steps, min_lr)(after), min_lr)
    # the documented difference: torch's periodic formula is back at lr after 2 * T_max
    torch_curve = torch_lrs(lambda o: tsched.CosineAnnealingLR(o, total_steps, min_lr), 2 * total_steps + 1)
    assert torch_curve[-1] == pytest.approx(LR, rel=1e-12)


@pytest.mark.parametrize("tau", [1, 50, 300])
@pytest.mark.parametrize("final_lr", [0.0, 1e-3, LR])
def test_linear_decay_matches_linearlr(tau, final_lr):
    assert_schedule_matches(
        S.linear_decay(LR, final_lr, tau),
        lambda o: tsched.LinearLR(o, start_factor=1.0, end_factor=final_lr / LR, total_iters=tau),
        400,
    )


@pytest.mark.parametrize("tau", [1, 50, 300])
def test_linear_decay_matches_goodfellow_rule_as_lambdalr(tau):
    final_lr = 1e-3  # about 1% of lr, as the book suggests

    def goodfellow_factor(k):  # eps_k = (1 - alpha) eps_0 + alpha eps_tau, alpha = k / tau; then constant
        alpha = min(k, tau) / tau
        return (1 - alpha) + alpha * final_lr / LR

    assert_schedule_matches(S.linear_decay(LR, final_lr, tau), lambda o: tsched.LambdaLR(o, goodfellow_factor), 400)


def _torch_main(name):
    return {
        "cosine": lambda o: tsched.CosineAnnealingLR(o, T_max=200, eta_min=1e-3),
        "step": lambda o: tsched.StepLR(o, step_size=30, gamma=0.5),
        "exponential": lambda o: tsched.ExponentialLR(o, gamma=0.98),
        "linear": lambda o: tsched.LinearLR(o, start_factor=1.0, end_factor=0.01, total_iters=100),
    }[name]


def _ours_main(name):
    return {
        "cosine": S.cosine(LR, 200, 1e-3),
        "step": S.step_decay(LR, 30, 0.5),
        "exponential": S.exponential_decay(LR, 0.98),
        "linear": S.linear_decay(LR, LR * 0.01, 100),
    }[name]


@pytest.mark.parametrize("main", ["cosine", "step", "exponential", "linear"])
@pytest.mark.parametrize("warmup_steps,start_factor", [(1, 0.5), (10, 0.1), (50, 1 / 3), (5, 1.0)])
def test_linear_warmup_matches_sequentiallr(main, warmup_steps, start_factor):
    ours = S.linear_warmup(_ours_main(main), warmup_steps, start_factor)
    make = lambda o: tsched.SequentialLR(  # noqa: E731
        o,
        [tsched.LinearLR(o, start_factor=start_factor, total_iters=warmup_steps), _torch_main(main)(o)],
        milestones=[warmup_steps],
    )
    assert_schedule_matches(ours, make, warmup_steps + 201)  # the cosine's 200 steps, not past T_max


@pytest.mark.parametrize("warmup_steps", [1, 4, 25])
def test_linear_warmup_from_zero_matches_lambdalr_ramp(warmup_steps):
    # torch's LinearLR refuses start_factor=0; the usual ramp k / W is a LambdaLR
    ours = S.linear_warmup(_ours_main("cosine"), warmup_steps)
    make = lambda o: tsched.SequentialLR(  # noqa: E731
        o,
        [tsched.LambdaLR(o, lambda k: k / warmup_steps), _torch_main("cosine")(o)],
        milestones=[warmup_steps],
    )
    assert_schedule_matches(ours, make, warmup_steps + 201)
    assert ours(0) == 0.0


def test_linear_warmup_of_zero_steps_is_the_schedule():
    main = _ours_main("cosine")
    steps = np.arange(300)
    np.testing.assert_array_equal(S.linear_warmup(main, 0)(steps), main(steps))


# ---------------------------------------------------------------------------
# vectorized evaluation
# ---------------------------------------------------------------------------

ALL_SCHEDULES = {
    "constant": S.constant(0.3),
    "step_decay": S.step_decay(0.3, 7, 0.5),
    "exponential_decay": S.exponential_decay(0.3, 0.97),
    "linear_decay": S.linear_decay(0.3, 0.003, 40),
    "cosine": S.cosine(0.3, 60, 0.01),
    "warmup_cosine": S.linear_warmup(S.cosine(0.3, 60, 0.01), 9, 0.2),
}


@pytest.mark.parametrize("name", ALL_SCHEDULES)
def test_vectorized_equals_scalar(name):
    schedule = ALL_SCHEDULES[name]
    steps = np.arange(100)
    vectorized = schedule(steps)
    assert vectorized.dtype == np.float64 and vectorized.shape == steps.shape
    scalars = [schedule(int(k)) for k in steps]
    assert all(type(v) is float for v in scalars)
    np.testing.assert_array_equal(vectorized, scalars)
    # any integer dtype and shape, numpy integer scalars
    np.testing.assert_array_equal(schedule(steps.astype(np.uint16).reshape(10, 10)), vectorized.reshape(10, 10))
    assert schedule(np.int32(17)) == scalars[17]


@pytest.mark.parametrize("name", ALL_SCHEDULES)
def test_schedule_does_not_mutate_steps(name):
    steps = np.arange(20)
    ALL_SCHEDULES[name](steps)
    np.testing.assert_array_equal(steps, np.arange(20))


def test_schedules_have_readable_names():
    assert S.cosine(0.1, 100).__name__ == "cosine(lr=0.1, total_steps=100, min_lr=0)"
    assert "linear_warmup(cosine(" in S.linear_warmup(S.cosine(0.1, 100), 10).__name__


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_step,exc,match",
    [
        (-1, ValueError, "step must be >= 0"),
        (np.array([3, -2]), ValueError, "step must be >= 0"),
        (1.5, TypeError, "step must be an integer"),
        (np.array([0.0, 1.0]), TypeError, "step must be an integer"),
        ([0, 1, 2], TypeError, "step must be an integer"),
        (True, TypeError, "step must be an integer"),
    ],
)
def test_bad_steps_are_rejected(bad_step, exc, match):
    with pytest.raises(exc, match=match):
        S.cosine(0.1, 10)(bad_step)


@pytest.mark.parametrize(
    "factory,kwargs,exc,match",
    [
        (S.constant, {"lr": 0.0}, ValueError, "lr must be in"),
        (S.constant, {"lr": -0.1}, ValueError, "lr must be in"),
        (S.constant, {"lr": "0.1"}, TypeError, "lr must be a real number"),
        (S.step_decay, {"lr": 0.1, "step_size": 0}, ValueError, "step_size must be an integer >= 1"),
        (S.step_decay, {"lr": 0.1, "step_size": 2.0}, ValueError, "step_size must be an integer"),
        (S.step_decay, {"lr": 0.1, "step_size": 5, "gamma": 0.0}, ValueError, "gamma must be in"),
        (S.step_decay, {"lr": 0.1, "step_size": 5, "gamma": 1.5}, ValueError, "gamma must be in"),
        (S.exponential_decay, {"lr": 0.1, "gamma": -0.5}, ValueError, "gamma must be in"),
        (S.linear_decay, {"lr": 0.1, "final_lr": 0.2, "tau": 10}, ValueError, "final_lr must be in"),
        (S.linear_decay, {"lr": 0.1, "final_lr": 0.001, "tau": 0}, ValueError, "tau must be an integer"),
        (S.cosine, {"lr": 0.1, "total_steps": -3}, ValueError, "total_steps must be an integer"),
        (S.cosine, {"lr": 0.1, "total_steps": 10, "min_lr": -1e-3}, ValueError, "min_lr must be in"),
        (S.linear_warmup, {"schedule": 0.1, "warmup_steps": 10}, TypeError, "schedule must be a schedule function"),
        (S.linear_warmup, {"schedule": S.constant(0.1), "warmup_steps": -1}, ValueError,
         "warmup_steps must be an integer >= 0"),
        (S.linear_warmup, {"schedule": S.constant(0.1), "warmup_steps": 5, "start_factor": 1.5}, ValueError,
         "start_factor must be in"),
    ],
)
def test_bad_arguments_are_rejected(factory, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        factory(**kwargs)


@pytest.mark.parametrize("warmup_steps,total_steps,min_lr", [(100, 1000, 0.0), (5, 40, 1e-3), (0, 30, 0.0)])
def test_problem_set_3s_total_steps_include_the_warmup(warmup_steps, total_steps, min_lr):
    """Lecture 04: warmup_cosine_lr(k, lr, W, T) of Problem set 3 is linear_warmup(cosine(lr, T - W), W) here."""
    from dlcourse.grading.topics.schedules import warmup_cosine_lr

    lr, k = 0.1, np.arange(total_steps + 20)
    ours = S.linear_warmup(S.cosine(lr, total_steps - warmup_steps, min_lr=min_lr), warmup_steps)(k)
    theirs = [warmup_cosine_lr(int(step), lr, warmup_steps, total_steps, min_lr) for step in k]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
