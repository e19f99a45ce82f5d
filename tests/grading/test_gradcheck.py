"""Gradient-checking checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import numpy as np
import pytest
import torch

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading import get_target, targets
from dlcourse.grading.topics.gradcheck import TEST_FUNCTIONS
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("gradcheck.")]


def test_targets():
    assert NAMES == ["gradcheck.numerical_gradient", "gradcheck.rel_error"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_catalogued_mistake_is_caught(hidden):
    for name in NAMES:
        assert_catalogue_diagnosed(name, hidden)


# The grader's test functions, in torch, for their exact gradients.
TORCH_FUNCTIONS = {
    "sum_sin_times_x": lambda t: torch.sum(torch.sin(t) * t),
    "coupled_quadratic": lambda t: 0.5 * t.sum() ** 2 + 0.5 * (t * t).sum()
    + (torch.arange(1, t.numel() + 1, dtype=t.dtype) / t.numel() * t.reshape(-1)).sum(),
    "steep_exponential": lambda t: torch.exp(3 * t).sum(),
    "log_sum_exp": lambda t: torch.logsumexp(t.reshape(-1), 0),
}


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4)])
def test_the_test_functions_are_what_they_say(name, shape):
    # value: float64, a few operations reassociated: rtol=1e-12; the central
    # difference of the reference at h=1e-5 matches autograd to truncation
    # (h^2 f''' / 6 ~ 1e-10 relative) plus rounding (~1e-11 |f| / h): rtol=1e-6.
    x = np.random.default_rng(3).standard_normal(shape) * 0.5
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = TORCH_FUNCTIONS[name](t)
    value.backward()
    assert TEST_FUNCTIONS[name](x) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(numerical_gradient(TEST_FUNCTIONS[name], x), t.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_the_checks_use_the_one_table_the_sandboxed_worker_loads():
    # dlcourse grade ships a test function into the worker by its name in this table: one copy, so the two
    # sides cannot drift apart
    from dlcourse.sandbox import test_functions

    assert TEST_FUNCTIONS is test_functions.TEST_FUNCTIONS
    assert all(function.__module__ == "dlcourse.sandbox.test_functions" for function in TEST_FUNCTIONS.values())


# Wrong implementations written from scratch, as a student would.
def forward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x)
    fx = f(x)
    for ix in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[ix] += h
        grad[ix] = (f(shifted) - fx) / h
    return grad


def backward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x)
    fx = f(x)
    for ix in np.ndindex(*x.shape):
        shifted = x.copy()
        shifted[ix] -= h
        grad[ix] = (fx - f(shifted)) / h
    return grad


def divides_by_h(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[ix] += h
        minus[ix] -= h
        grad[ix] = (f(plus) - f(minus)) / h
    return grad


def copy_without_restoring(f, x, h=1e-5):
    x = x.copy()
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        x[ix] += h
        f_plus = f(x)
        x[ix] -= 2 * h
        f_minus = f(x)
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def in_place_without_restoring(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        x[ix] += h
        f_plus = f(x)
        x[ix] -= 2 * h
        f_minus = f(x)
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def rows_only(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.shape[0]):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = (f(plus) - f(minus)) / (2 * h)
    return grad


def fixed_step(f, x, h=1e-5):
    step = 1e-5
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[ix] += step
        minus[ix] -= step
        grad[ix] = (f(plus) - f(minus)) / (2 * step)
    return grad


def rel_error_no_floor(x, y):
    return np.max(np.abs(x - y) / (np.abs(x) + np.abs(y)))


def rel_error_no_abs_below(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, x + y))


def rel_error_abs_of_sum(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x + y)))


def rel_error_mean(x, y):
    return np.mean(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def rel_error_norms(x, y):
    return np.linalg.norm(x - y) / max(1e-8, np.linalg.norm(x) + np.linalg.norm(y))


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (forward_difference, "gradcheck.numerical_gradient", "forward_difference"),
        (backward_difference, "gradcheck.numerical_gradient", "backward_difference"),
        (divides_by_h, "gradcheck.numerical_gradient", "divided_by_h"),
        (copy_without_restoring, "gradcheck.numerical_gradient", "not_restored"),
        (rows_only, "gradcheck.numerical_gradient", "first_axis_only"),
        (fixed_step, "gradcheck.numerical_gradient", "ignores_h"),
        (rel_error_no_floor, "gradcheck.rel_error", "no_floor"),
        (rel_error_no_abs_below, "gradcheck.rel_error", "denominator_without_abs"),
        (rel_error_abs_of_sum, "gradcheck.rel_error", "denominator_abs_of_sum"),
        (rel_error_mean, "gradcheck.rel_error", "mean_instead_of_max"),
        (rel_error_norms, "gradcheck.rel_error", "ratio_of_norms"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mistakes_are_diagnosed(fn, against, mistake, hidden):
    assert_rejected([fn], against, mistake, hidden=hidden)


def test_forward_difference_is_far_outside_the_tolerance():
    # rejected by a wide margin on some visible trial, not by rounding luck
    message = assert_rejected([forward_difference], "gradcheck.numerical_gradient", "forward_difference")
    assert "largest relative error" in message
    target = get_target("gradcheck.numerical_gradient")
    trials = target.trials(np.random.default_rng(0), False)
    worst = 0.0
    for trial in trials:
        name, x = trial.args[0][1], trial.args[1][1]
        h = trial.kwargs.get("h", 1e-5)
        expected = numerical_gradient(TEST_FUNCTIONS[name], x, h)
        obtained = forward_difference(TEST_FUNCTIONS[name], x, h)
        worst = max(worst, np.max(np.abs(obtained - expected) / np.abs(expected)))
    assert worst > 100 * target.tolerance.rtol


@pytest.mark.parametrize(
    ("fn", "against", "match"),
    [
        (in_place_without_restoring, "gradcheck.numerical_gradient", "Put every entry back"),
        (lambda f, x, h=1e-5: None, "gradcheck.numerical_gradient",
         "should be a numpy array of shape (1,), but it is None"),
        (lambda f, x, h=1e-5: divides_by_h(f, x, h).ravel() / 2, "gradcheck.numerical_gradient",
         "has shape (12,) but should have shape (3, 4)"),
        (lambda f, x, h=1e-5: [f(x)], "gradcheck.numerical_gradient", "should be a numpy array"),
        (lambda f, x, h=1e-5: np.array([f(x[i + 1]) for i in range(x.size)]), "gradcheck.numerical_gradient",
         "numerical_gradient raised IndexError"),
        (lambda a, b: np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), "gradcheck.rel_error",
         "rel_error(a, b) should be a number, but it is an array of shape (7,)"),
        (lambda a, b: None, "gradcheck.rel_error", "should be a number, but it is None"),
        (lambda a, b: np.sqrt(-1.0 - np.max(np.abs(a - b))), "gradcheck.rel_error", "nan where the reference gives"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_are_explained(fn, against, match):
    assert_rejected([fn], against, match=match)


def test_numerical_gradient_must_not_reach_the_reference():
    def borrowed(f, x, h=1e-5):
        from dlcourse.gradcheck import numerical_gradient

        return numerical_gradient(f, x, h)

    assert_rejected([borrowed], "gradcheck.numerical_gradient", match="called dlcourse.gradcheck")


# Correct implementations written differently from the reference.
def cs231n_in_place(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def with_unit_vectors(f, x, h=1e-5):
    flat = x.reshape(-1)
    unit = np.eye(flat.size)
    grad = [(f((flat + h * e).reshape(x.shape)) - f((flat - h * e).reshape(x.shape))) / (2 * h) for e in unit]
    return np.array(grad).reshape(x.shape)


def rel_error_with_where(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denominator = np.abs(a) + np.abs(b)
    return float(np.max(np.abs(b - a) / np.where(denominator > 1e-8, denominator, 1e-8)))


def rel_error_loop(a, b):
    worst = 0.0
    for ai, bi in zip(np.ravel(a), np.ravel(b), strict=True):
        worst = max(worst, abs(ai - bi) / max(1e-8, abs(ai) + abs(bi)))
    return worst


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (cs231n_in_place, "gradcheck.numerical_gradient"),
        (with_unit_vectors, "gradcheck.numerical_gradient"),
        (rel_error_with_where, "gradcheck.rel_error"),
        (rel_error_loop, "gradcheck.rel_error"),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
