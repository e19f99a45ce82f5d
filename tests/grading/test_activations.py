"""Activation checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import math

import numpy as np
import pytest

from dlcourse.grading import targets
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("activations.")]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# Each wrong function is written here from scratch, as a student would, not
# taken from the catalogue, so the test shows the diagnosis fires on real code.
def relu_grad_ge(x):
    return np.where(x >= 0, 1.0, 0.0)


def leaky_grad_zero(x, negative_slope=0.01):
    return np.where(x > 0, 1.0, 0.0)


def tanh_grad_on_x(x):
    return 1.0 - x * x


def sigmoid_grad_on_x(x):
    return x * (1.0 - x)


def gelu_with_tanh(x, approximate="none"):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def softplus_naive(x, beta=1.0, threshold=20.0):
    return np.log(1.0 + np.exp(beta * x)) / beta


def silu_grad_forgot_product_rule(x):
    return 1.0 / (1.0 + np.exp(-x))


def tanh_from_exponentials(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


def elu_grad_forgot_alpha(x, alpha=1.0):
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (relu_grad_ge, "activations.relu_grad", "relu_grad_at_zero"),
        (leaky_grad_zero, "activations.leaky_relu_grad", "leaky_grad_negative_zero"),
        (tanh_grad_on_x, "activations.tanh_grad", "tanh_grad_of_x"),
        (sigmoid_grad_on_x, "activations.sigmoid_grad", "sigmoid_grad_of_x"),
        (gelu_with_tanh, "activations.gelu", "gelu_tanh_for_exact"),
        (softplus_naive, "activations.softplus", "softplus_overflow"),
        (silu_grad_forgot_product_rule, "activations.silu_grad", "silu_grad_no_product_rule"),
        (elu_grad_forgot_alpha, "activations.elu_grad", "elu_grad_no_alpha"),
        (tanh_from_exponentials, "activations.tanh", "tanh_overflow"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mistakes_are_diagnosed(fn, against, mistake):
    assert_rejected([fn], against, mistake, hidden=True)


def test_every_catalogued_mistake_is_caught_by_the_hidden_checks():
    # the catalogue's own wrong variants must all be rejected with their own diagnosis
    for name in NAMES:
        assert_catalogue_diagnosed(name, hidden=True)


# Correct implementations written differently from the reference.
def sigmoid_via_tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def relu_with_loop(x):
    out = np.empty_like(x)
    for index, value in np.ndenumerate(x):
        out[index] = value if value > 0 else 0.0
    return out


def softplus_stable(x, beta=1.0, threshold=20.0):
    z = beta * x
    return np.where(z > threshold, x, np.log1p(np.exp(-np.abs(z))) / beta + np.maximum(z, 0) / beta)


def tanh_grad_cosh(x):
    return 1.0 / np.cosh(np.clip(x, -300, 300)) ** 2


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (sigmoid_via_tanh, "activations.sigmoid"),
        (relu_with_loop, "activations.relu"),
        (softplus_stable, "activations.softplus"),
        (tanh_grad_cosh, "activations.tanh_grad"),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
