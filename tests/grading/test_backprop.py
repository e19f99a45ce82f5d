"""Backprop gate checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import math

import numpy as np
import pytest

from dlcourse.backprop import SinGate
from dlcourse.grading import GradingError, check, targets
from dlcourse.grading.topics.backprop import _gate_target
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("backprop.")]


def test_the_lecture_gates_and_the_worked_example_are_targets():
    for name in ("MultiplyGate", "AddGate", "SinGate", "SigmoidGate", "worked_example"):
        assert f"backprop.{name}" in NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_every_catalogued_mistake_is_diagnosed(name, hidden):
    assert_catalogue_diagnosed(name, hidden)


# Wrong gates written from scratch, as a student would.
class MultiplySwapped:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz


class MultiplyNoDout:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return [self.y, self.x]


class AddSecondZero:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, np.zeros_like(dz)


class SinWithSin:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dout):
        return np.sin(self.x) * dout


class SinNoDout:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dout):
        return np.cos(self.x)


class SigmoidOneMinusX:
    def forward(self, x):
        self.x = x
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return self.out * (1 - self.x) * dout


class SigmoidNoDout:
    def forward(self, x):
        self.s = 1 / (1 + np.exp(-x))
        return self.s

    def backward(self, dout):
        return self.s * (1 - self.s)


class CosNoMinus:
    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, dout):
        return np.sin(self.x) * dout


class ReciprocalNoMinus:
    def forward(self, x):
        self.x = x
        return 1 / x

    def backward(self, dout):
        return dout / (self.x * self.x)


class MaxBoth:
    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, dout):
        return dout, dout


class DotSwapped:
    def forward(self, w, x):
        self.w, self.x = w, x
        return w @ x

    def backward(self, dout):
        return self.w * dout, self.x * dout


class PowNotLowered:
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        self.x = x
        return x**self.p

    def backward(self, dout):
        return self.p * self.x**self.p * dout


def worked_missing_cos(x1, x2):
    return x1 * x2 + math.sin(x2), x2, x1


def worked_missing_x1(x1, x2):
    f = x1 * x2 + np.sin(x2)
    return f, x2, np.cos(x2)


def worked_paths_multiplied(x1, x2):
    return x1 * x2 + math.sin(x2), x2, x1 * math.cos(x2)


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (MultiplySwapped, "backprop.MultiplyGate", "multiply_swapped"),
        (MultiplyNoDout, "backprop.MultiplyGate", "MultiplyGate_forgot_dout"),
        (AddSecondZero, "backprop.AddGate", "add_second_zero"),
        (SinWithSin, "backprop.SinGate", "sin_grad_sin"),
        (SinNoDout, "backprop.SinGate", "SinGate_forgot_dout"),
        (SigmoidOneMinusX, "backprop.SigmoidGate", "sigmoid_one_minus_x"),
        (SigmoidNoDout, "backprop.SigmoidGate", "SigmoidGate_forgot_dout"),
        (CosNoMinus, "backprop.CosGate", "cos_grad_sign"),
        (ReciprocalNoMinus, "backprop.ReciprocalGate", "reciprocal_sign"),
        (MaxBoth, "backprop.MaxGate", "max_both_get_dout"),
        (DotSwapped, "backprop.DotGate", "dot_swapped"),
        (PowNotLowered, "backprop.PowGate", "pow_exponent_not_lowered"),
        (worked_missing_cos, "backprop.worked_example", "x2_missing_sin_path"),
        (worked_missing_x1, "backprop.worked_example", "x2_missing_product_path"),
        (worked_paths_multiplied, "backprop.worked_example", "paths_multiplied"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mistakes_are_diagnosed(fn, against, mistake, hidden):
    assert_rejected([fn], against, mistake, hidden=hidden)


# Contract failures.
class BackwardOneValue:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.y * dz  # dy forgotten


class ForwardReturnsNothing:
    def forward(self, x, y):
        self.x, self.y = x, y

    def backward(self, dz):
        return self.y * dz, self.x * dz


class SinReturnsTuple:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dout):
        return (np.cos(self.x) * dout,)


class NoBackward:
    def forward(self, x):
        return np.sin(x)


class NotAGate:
    pass


class SigmoidNaN:
    def forward(self, x):
        self.s = 1 / (1 + np.exp(-x))
        return self.s

    def backward(self, dout):
        return self.s * (1 - self.s) * dout * float("nan")  # e.g. inf - inf somewhere upstream


class BackwardRaises:
    def forward(self, x):
        return np.sin(x)

    def backward(self, dout):
        return np.cos(self.x) * dout  # never cached


class UsesTheReference:
    def forward(self, x):
        from dlcourse.backprop import SinGate

        self.gate = SinGate()
        return self.gate.forward(x)

    def backward(self, dout):
        return self.gate.backward(dout)


class ModifiesItsInput:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        dx = self.y * dz
        dz *= self.x  # reuses dout's memory for dy: changes the caller's array
        return dx, dz


@pytest.mark.parametrize(
    ("fn", "against", "match"),
    [
        (BackwardOneValue, "backprop.MultiplyGate", "must return 2 values (dx, dy)"),
        (ForwardReturnsNothing, "backprop.MultiplyGate", "should be a number, but it is None"),
        (SinReturnsTuple, "backprop.SinGate", "not a tuple of 1"),
        (NoBackward, "backprop.SinGate", "NoBackward.backward is missing"),
        (NotAGate, "backprop.SinGate", "should create a gate object"),
        (SigmoidNaN, "backprop.SigmoidGate", "dx is nan where the reference gives"),
        (BackwardRaises, "backprop.SinGate", "BackwardRaises.backward raised AttributeError"),
        (UsesTheReference, "backprop.SinGate", "called dlcourse."),
        (ModifiesItsInput, "backprop.MultiplyGate", "modified its input dout in place"),
        (lambda x1, x2: (x1 * x2, x2), "backprop.worked_example", "must return 3 values (f, df/dx1, df/dx2)"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_are_explained(fn, against, match):
    assert_rejected([fn], against, match=match)


def test_a_gate_check_is_named_after_its_class():
    with pytest.raises(ValueError, match=r"must be called 'backprop\.SinGate'"):
        _gate_target("backprop.Sine", SinGate, "dx = cos(x) * dout", (), forgot_dout="SinGate_forgot_dout")


def test_an_instance_instead_of_the_class_is_refused():
    with pytest.raises(GradingError, match="should be a function"):
        check(MultiplySwapped(), against="backprop.MultiplyGate", quiet=True)


# Correct gates written differently from the reference.
class MultiplyWithLists:
    def forward(self, x, y):
        self.cache = (np.copy(x), np.copy(y))
        return np.multiply(x, y)

    def backward(self, dout):
        x, y = self.cache
        return [dout * y, dout * x]


class AddSameObjectTwice:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class SinCachingCos:
    def forward(self, x):
        self.local = np.cos(x)
        return np.sin(x)

    def backward(self, dout):
        return self.local * dout


class SigmoidViaTanhFloat32Preserving:
    def forward(self, x):
        self.out = 0.5 * (1 + np.tanh(0.5 * np.asarray(x)))
        return self.out

    def backward(self, dout):
        return self.out * (1 - self.out) * dout


class DotWithLoops:
    def forward(self, w, x):
        self.w, self.x = w, x
        return sum(a * b for a, b in zip(w, x, strict=True))

    def backward(self, dout):
        return np.array([xi * dout for xi in self.x]), np.array([wi * dout for wi in self.w])


class PowPositional:
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        self.x = x
        return np.power(x, self.p)

    def backward(self, dout):
        return self.p * np.power(self.x, self.p - 1) * dout if self.p != 0 else np.zeros_like(self.x * dout)


class MaxRouter:
    def forward(self, x, y):
        self.x_wins = np.asarray(x) > np.asarray(y)
        return np.where(self.x_wins, x, y)

    def backward(self, dout):
        return np.where(self.x_wins, dout, 0.0), np.where(self.x_wins, 0.0, dout)


def worked_with_gates(x1, x2):
    a1, a2 = math.sin(x2), x1 * x2
    f = a1 + a2
    abar1 = abar2 = 1.0
    return f, abar2 * x2, abar1 * math.cos(x2) + abar2 * x1


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (MultiplyWithLists, "backprop.MultiplyGate"),
        (AddSameObjectTwice, "backprop.AddGate"),
        (SinCachingCos, "backprop.SinGate"),
        (SigmoidViaTanhFloat32Preserving, "backprop.SigmoidGate"),
        (DotWithLoops, "backprop.DotGate"),
        (PowPositional, "backprop.PowGate"),
        (MaxRouter, "backprop.MaxGate"),
        (worked_with_gates, "backprop.worked_example"),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
