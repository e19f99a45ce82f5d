"""Student implementations of the gates and the worked example (problem set 1, parts 1-2)."""

import math

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- backprop.MultiplyGate


class MultiplyGateSwapped:
    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dz):
        # d(xy)/dx ... x?
        return self.x * dz, self.y * dz


class MultiplyGateTuple:
    def __init__(self):
        self.saved = None

    def forward(self, x, y):
        self.saved = (x, y)
        return x * y

    def backward(self, dz):
        a, b = self.saved
        return b * dz, a * dz


class MultiplyGateClassState:
    # the inputs are kept on the class, shared by every gate
    x = None
    y = None

    def forward(self, x, y):
        MultiplyGateClassState.x = x
        MultiplyGateClassState.y = y
        return x * y

    def backward(self, dz):
        return MultiplyGateClassState.y * dz, MultiplyGateClassState.x * dz


# ---------------------------------------------------------------- backprop.AddGate


class AddGateSecondZero:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        # y is just added on, it has no effect on the slope
        return dz, 0 * dz


class AddGateOnes:
    def forward(self, x, y):
        self.shape = np.shape(x)
        return x + y

    def backward(self, dz):
        # local derivative is 1 for both inputs
        return np.ones(self.shape), np.ones(self.shape)


class AddGateCopies:
    def forward(self, x, y):
        return np.add(x, y)

    def backward(self, dz):
        dx = dz * 1
        dy = dz * 1
        return dx, dy


# ---------------------------------------------------------------- backprop.SinGate


class SinGateSinAgain:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dz):
        return np.sin(self.x) * dz


class SinGateMinusCos:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dz):
        return -np.cos(self.x) * dz


class SinGateCacheCos:
    def forward(self, x):
        self.local = np.cos(x)  # the derivative, computed once
        return np.sin(x)

    def backward(self, dz):
        return self.local * dz


# ---------------------------------------------------------------- backprop.SigmoidGate


class SigmoidGateOnInput:
    def forward(self, x):
        self.x = x
        return 1 / (1 + np.exp(-x))

    def backward(self, dz):
        return self.x * (1 - self.x) * dz


class SigmoidGateNoDz:
    def forward(self, x):
        self.s = 1.0 / (1.0 + np.exp(-x))
        return self.s

    def backward(self, dz):
        return self.s * (1 - self.s)


class SigmoidGateStable:
    def forward(self, x):
        self.out = np.exp(-np.logaddexp(0.0, -x))
        return self.out

    def backward(self, dz):
        s = self.out
        return dz * s * (1.0 - s)


# ---------------------------------------------------------------- backprop.PowGate, ReciprocalGate, MaxGate


class PowGateNoMinusOne:
    def __init__(self, exponent):
        self.p = exponent

    def forward(self, x):
        self.x = x
        return x**self.p

    def backward(self, dz):
        return self.p * self.x**self.p * dz


class ReciprocalGateNoMinus:
    def forward(self, x):
        self.x = x
        return 1 / x

    def backward(self, dz):
        return dz / self.x**2


class ReciprocalGateFromOutput:
    def forward(self, x):
        self.z = 1 / x
        return self.z

    def backward(self, dz):
        # d(1/x)/dx = -1/x^2 = -z^2
        return -(self.z**2) * dz


class MaxGateBoth:
    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, dz):
        return dz, dz


class MaxGateRouter:
    def forward(self, x, y):
        self.x_wins = np.greater(x, y)
        self.tie = np.equal(x, y)
        return np.maximum(x, y)

    def backward(self, dz):
        share = np.where(self.tie, 0.5, 1.0)
        dx = np.where(self.x_wins | self.tie, dz * share, 0 * dz)
        dy = np.where(~self.x_wins | self.tie, dz * share, 0 * dz)
        return dx, dy


# ---------------------------------------------------------------- backprop.worked_example


def worked_example_no_cos(x1, x2):
    a1 = np.sin(x2)
    a2 = x1 * x2
    f = a1 + a2
    # backward
    df_dx1 = x2
    df_dx2 = x1
    return f, df_dx1, df_dx2


def worked_example_multiplied(x1, x2):
    a1 = np.sin(x2)
    a2 = x1 * x2
    a3 = a1 + a2
    a3_bar = 1.0
    a1_bar = a3_bar
    a2_bar = a3_bar
    x1_bar = x2 * a2_bar
    x2_p1 = np.cos(x2) * a1_bar
    x2_p2 = x1 * a2_bar
    return a3, x1_bar, x2_p1 * x2_p2


def worked_example_dict(x1, x2):
    v = {"a1": math.sin(x2), "a2": x1 * x2}
    v["f"] = v["a1"] + v["a2"]
    g = {"f": 1.0}
    g["a1"] = g["f"]
    g["a2"] = g["f"]
    g["x1"] = g["a2"] * x2
    g["x2"] = g["a2"] * x1 + g["a1"] * math.cos(x2)
    return v["f"], g["x1"], g["x2"]


WRONG = [
    Wrong("backprop.MultiplyGate", (MultiplyGateSwapped,), frozenset({"multiply_swapped"}),
          "each input gets itself times dz"),
    Wrong("backprop.MultiplyGate", (MultiplyGateClassState,), frozenset(),
          "inputs stored on the class: two gates overwrite each other's cache"),
    Wrong("backprop.AddGate", (AddGateSecondZero,), frozenset({"add_second_zero"}), "(dz, 0)"),
    Wrong("backprop.AddGate", (AddGateOnes,), frozenset({"AddGate_forgot_dout"}), "local derivative 1, dz not used"),
    Wrong("backprop.SinGate", (SinGateSinAgain,), frozenset({"sin_grad_sin"}), "sin(x) * dz"),
    Wrong("backprop.SinGate", (SinGateMinusCos,), frozenset({"sign_flipped"}), "-cos(x) * dz"),
    Wrong("backprop.SigmoidGate", (SigmoidGateOnInput,), frozenset({"sigmoid_grad_of_x"}),
          "caches x and uses x (1 - x)"),
    Wrong("backprop.SigmoidGate", (SigmoidGateNoDz,), frozenset({"SigmoidGate_forgot_dout"}), "s (1 - s) without dz"),
    Wrong("backprop.PowGate", (PowGateNoMinusOne,), frozenset({"pow_exponent_not_lowered"}), "p * x**p"),
    Wrong("backprop.ReciprocalGate", (ReciprocalGateNoMinus,), frozenset({"reciprocal_sign", "sign_flipped"}),
          "dz / x**2 without the minus"),
    Wrong("backprop.MaxGate", (MaxGateBoth,), frozenset({"max_both_get_dout"}), "both inputs get dz"),
    Wrong("backprop.worked_example", (worked_example_no_cos,), frozenset({"x2_missing_sin_path"}),
          "df/dx2 = x1, the sin path forgotten"),
    Wrong("backprop.worked_example", (worked_example_multiplied,), frozenset({"paths_multiplied"}),
          "the two paths to x2 multiplied"),
]

CORRECT = [
    Correct("backprop.MultiplyGate", (MultiplyGateTuple,), "inputs cached as a tuple"),
    Correct("backprop.AddGate", (AddGateCopies,), "dz * 1 for both"),
    Correct("backprop.SinGate", (SinGateCacheCos,), "caches cos(x) in forward"),
    Correct("backprop.SigmoidGate", (SigmoidGateStable,), "stable sigmoid via logaddexp, output cached"),
    Correct("backprop.ReciprocalGate", (ReciprocalGateFromOutput,), "-z**2 * dz from the cached output"),
    Correct("backprop.MaxGate", (MaxGateRouter,), "masks, ties split in halves"),
    Correct("backprop.worked_example", (worked_example_dict,), "values and adjoints in dicts, math.sin"),
]
