"""Schedule and clipping checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass.

Every student function below is written from scratch with numpy/math, as a
student would, not taken from the catalogue.
"""

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tsched

from dlcourse.grading import get_target, targets
from dlcourse.grading.topics.schedules import textbook
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("schedules.")]


def test_targets_and_roles():
    roles = {name: get_target(name).roles for name in NAMES}
    assert roles == {
        "schedules.linear_decay": ("linear_decay_lr",),
        "schedules.warmup_cosine": ("warmup_cosine_lr",),
        "schedules.step_decay": ("step_decay_lr",),
        "schedules.clip_grad_value": ("clip_grad_value",),
        "schedules.clip_grad_norm": ("clip_grad_norm",),
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# The plain references compose dlcourse.schedules' factories; check the composition against torch's
# schedulers.  rtol=1e-12: torch updates the rate recursively (a few roundings per step, <= 1000 steps),
# dlcourse evaluates the closed form (see tests/test_schedules.py).
TORCH_RTOL = 1e-12


def torch_rates(make_scheduler, lr, steps):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize(
    ("lr", "warmup", "total", "min_lr"), [(0.1, 10, 100, 1e-3), (1.0, 1, 6, 0.0), (3e-4, 50, 60, 1e-5)]
)
def test_warmup_cosine_reference_matches_torch(lr, warmup, total, min_lr):
    fn = get_target("schedules.warmup_cosine").reference[0]
    make = lambda o: tsched.SequentialLR(  # noqa: E731
        o, [tsched.LambdaLR(o, lambda k: k / warmup), tsched.CosineAnnealingLR(o, total - warmup, eta_min=min_lr)],
        milestones=[warmup])
    ours = [fn(k, lr, warmup, total, min_lr) for k in range(total + 1)]  # torch's cosine is periodic past total
    np.testing.assert_allclose(ours, torch_rates(make, lr, total + 1), rtol=TORCH_RTOL, atol=1e-15 * lr)
    assert fn(0, lr, warmup, total, min_lr) == 0.0 and fn(3 * total, lr, warmup, total, min_lr) == pytest.approx(min_lr)


@pytest.mark.parametrize(("lr", "final_lr", "tau"), [(0.1, 1e-3, 100), (0.5, 0.05, 7), (1e-3, 1e-5, 1)])
def test_linear_decay_reference_matches_torch(lr, final_lr, tau):
    fn = get_target("schedules.linear_decay").reference[0]
    make = lambda o: tsched.LinearLR(o, start_factor=1.0, end_factor=final_lr / lr, total_iters=tau)  # noqa: E731
    ours = [fn(k, lr, final_lr, tau) for k in range(2 * tau + 5)]
    np.testing.assert_allclose(ours, torch_rates(make, lr, 2 * tau + 5), rtol=TORCH_RTOL, atol=0)


@pytest.mark.parametrize(("lr", "step_size", "gamma"), [(0.1, 10, 0.1), (1.0, 3, 0.5), (0.01, 1, 0.9)])
def test_step_decay_reference_matches_torch(lr, step_size, gamma):
    fn = get_target("schedules.step_decay").reference[0]
    ours = [fn(k, lr, step_size, gamma) for k in range(5 * step_size)]
    expected = torch_rates(lambda o: tsched.StepLR(o, step_size, gamma), lr, 5 * step_size)
    np.testing.assert_allclose(ours, expected, rtol=TORCH_RTOL, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_without_its_mistake_is_correct(name):
    assert_accepted(list(textbook(name.split(".")[1])), name, trusted=True)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_every_catalogued_mistake_is_diagnosed(name, hidden):
    assert_catalogue_diagnosed(name, hidden)


def test_using_the_catalogue_from_student_code_is_stopped():
    assert_rejected(list(textbook("clip_grad_norm")), "schedules.clip_grad_norm",
                    match="called dlcourse.grading.topics.schedules")


# ---------------------------------------------------------------------------
# wrong implementations, as students write them
# ---------------------------------------------------------------------------


def _cosine_part(step, lr, warmup_steps, total_steps, min_lr):
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


def warmup_counting_from_one(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    return _cosine_part(step, lr, warmup_steps, total_steps, min_lr)


def warmup_starting_at_lr(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr
    return _cosine_part(step, lr, warmup_steps, total_steps, min_lr)


def cosine_to_zero(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return 0.5 * lr * (1 + math.cos(math.pi * progress))


def cosine_periodic(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    t_max = total_steps - warmup_steps
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * (step - warmup_steps) / t_max)) / 2


def linear_decay_forever(step, lr, final_lr, tau):
    alpha = step / tau
    return (1 - alpha) * lr + alpha * final_lr


def linear_decay_one_based(step, lr, final_lr, tau):
    alpha = min((step + 1) / tau, 1.0)
    return (1 - alpha) * lr + alpha * final_lr


def step_decay_smooth(step, lr, step_size, gamma=0.1):
    return lr * gamma ** (step / step_size)


def step_decay_one_based_epochs(step, lr, step_size, gamma=0.1):
    epoch = step + 1
    return lr * gamma ** (epoch // step_size)


def clip_each_array(grads, max_norm):
    clipped, squares = [], 0.0
    for g in grads:
        norm = np.linalg.norm(g)
        squares += norm**2
        clipped.append(g * min(1.0, max_norm / (norm + 1e-6)))
    return clipped, math.sqrt(squares)


def global_norm(grads):
    return math.sqrt(sum(float(np.sum(g**2)) for g in grads))


def clip_always(grads, max_norm):
    total = global_norm(grads)
    return [g * max_norm / (total + 1e-6) for g in grads], total


def clip_reporting_new_norm(grads, max_norm):
    total = global_norm(grads)
    clipped = [g * min(1.0, max_norm / (total + 1e-6)) for g in grads]
    return clipped, global_norm(clipped)


def clip_without_eps(grads, max_norm):
    total = global_norm(grads)
    return [g * min(1.0, max_norm / total) for g in grads], total


def clip_value_above_only(grads, clip_value):
    return [np.minimum(g, clip_value) for g in grads]


def clip_value_with_abs(grads, clip_value):
    return [np.where(np.abs(g) > clip_value, clip_value, g) for g in grads]


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (warmup_counting_from_one, "schedules.warmup_cosine", "warmup_cosine_warmup_off_by_one"),
        (warmup_starting_at_lr, "schedules.warmup_cosine", "warmup_cosine_no_warmup"),
        (cosine_to_zero, "schedules.warmup_cosine", "warmup_cosine_min_lr_ignored"),
        (cosine_periodic, "schedules.warmup_cosine", "warmup_cosine_not_clamped"),
        (linear_decay_forever, "schedules.linear_decay", "linear_decay_no_hold"),
        (linear_decay_one_based, "schedules.linear_decay", "linear_decay_off_by_one"),
        (step_decay_smooth, "schedules.step_decay", "step_decay_float_exponent"),
        (step_decay_one_based_epochs, "schedules.step_decay", "step_decay_off_by_one"),
        (clip_each_array, "schedules.clip_grad_norm", "clip_norm_per_tensor"),
        (clip_always, "schedules.clip_grad_norm", "clip_norm_always_rescales"),
        (clip_reporting_new_norm, "schedules.clip_grad_norm", "clip_norm_returns_clipped_norm"),
        (clip_without_eps, "schedules.clip_grad_norm", "clip_norm_no_eps"),
        (clip_value_above_only, "schedules.clip_grad_value", "clip_value_upper_only"),
        (clip_value_with_abs, "schedules.clip_grad_value", "clip_value_sign_lost"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_mistakes_written_by_students_are_diagnosed(fn, against, mistake, hidden):
    assert_rejected([fn], against, mistake, hidden=hidden)


def test_missing_eps_is_detected_only_through_tiny_gradients():
    # at the tolerance rtol=1e-6 the 1e-6 shows only when the global norm is small (visible trial 3, ~3e-4)
    message = assert_rejected([clip_without_eps], "schedules.clip_grad_norm", "clip_norm_no_eps")
    assert "trial 3 of 3" in message and "values ~0.0001" in message


# ---------------------------------------------------------------------------
# contract failures
# ---------------------------------------------------------------------------


def schedule_forgetting_a_return(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    _cosine_part(step, lr, warmup_steps, total_steps, min_lr)


def schedule_returning_an_array(step, lr, warmup_steps, total_steps, min_lr=0.0):
    return np.array([warmup_cosine_sin2(step, lr, warmup_steps, total_steps, min_lr)])


def schedule_dividing_by_step(step, lr, warmup_steps, total_steps, min_lr=0.0):
    return lr / step


def schedule_nan_after_the_end(step, lr, warmup_steps, total_steps, min_lr=0.0):
    return float("nan") if step >= total_steps else warmup_cosine_sin2(step, lr, warmup_steps, total_steps, min_lr)


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (schedule_forgetting_a_return, "for step=10 it returned None"),
        (schedule_returning_an_array, "for step=0 it returned [0.]"),
        (schedule_dividing_by_step, "warmup_cosine_lr raised ZeroDivisionError"),
        (schedule_nan_after_the_end, "contains nan at index"),
    ],
)
def test_schedule_contract_failures(fn, match):
    assert_rejected([fn], "schedules.warmup_cosine", match=match)


def clip_norm_returning_only_the_list(grads, max_norm):
    return clip_grad_norm_concatenated(grads, max_norm)[0]


def clip_norm_flattening(grads, max_norm):
    clipped, total = clip_grad_norm_concatenated(grads, max_norm)
    return [g.ravel() for g in clipped], total


def clip_norm_returning_an_array_norm(grads, max_norm):
    clipped, total = clip_grad_norm_concatenated(grads, max_norm)
    return clipped, np.array([total, total])


def clip_norm_in_place(grads, max_norm):
    total = global_norm(grads)
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return grads, total


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (clip_norm_returning_only_the_list, "returned only the list of gradients"),
        (clip_norm_flattening, "gradients[1] has shape (15,)"),
        (clip_norm_returning_an_array_norm, "should be a number"),
        (clip_norm_in_place, "modified its input grads[0]"),
    ],
)
def test_clip_norm_contract_failures(fn, match):
    assert_rejected([fn], "schedules.clip_grad_norm", match=match)


def test_clip_value_returning_one_array_is_explained():
    def concatenated(grads, clip_value):
        return np.clip(np.concatenate([g.ravel() for g in grads]), -clip_value, clip_value)

    assert_rejected([concatenated], "schedules.clip_grad_value", match="it returned an array of shape (7,)")


# ---------------------------------------------------------------------------
# correct implementations written differently: never rejected
# ---------------------------------------------------------------------------


def linear_decay_interp(step, lr, final_lr, tau):
    return float(np.interp(step, [0, tau], [lr, final_lr]))  # interp holds the end value past tau


def warmup_cosine_sin2(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return step / warmup_steps * lr
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (lr - min_lr) * math.cos(math.pi * progress / 2) ** 2  # (1 + cos x) / 2 = cos^2(x / 2)


def step_decay_loop(step, lr, step_size, gamma=0.1):
    while step >= step_size:
        lr *= gamma
        step -= step_size
    return lr


def clip_grad_norm_concatenated(grads, max_norm):
    flat = np.concatenate([g.ravel() for g in grads])
    total = float(np.sqrt(np.dot(flat, flat)))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * np.asarray(scale, dtype=g.dtype) for g in grads], total


def clip_grad_value_where(grads, clip_value):
    return tuple(np.where(g > clip_value, clip_value, np.where(g < -clip_value, -clip_value, g)) for g in grads)


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (linear_decay_interp, "schedules.linear_decay"),
        (warmup_cosine_sin2, "schedules.warmup_cosine"),
        (step_decay_loop, "schedules.step_decay"),
        (clip_grad_norm_concatenated, "schedules.clip_grad_norm"),
        (clip_grad_value_where, "schedules.clip_grad_value"),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
