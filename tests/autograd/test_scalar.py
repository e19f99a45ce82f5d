"""dlcourse.autograd.scalar: values and gradients of ``Value`` against torch (float64).

Tolerance: ours uses Python's ``math`` and torch its own kernels for the same
float64 operations, in the same order; they differ by a few ulps at most, so
relative 1e-12 (absolute 1e-12 for gradients that cancel to about 0), as for
the Tensor engine (tests/autograd/helpers.py).
"""

import math

import numpy as np
import pytest
import torch

from autograd.helpers import ATOL, RTOL
from dlcourse.autograd import Value


def close(ours, theirs):
    return math.isclose(ours, float(theirs), rel_tol=RTOL, abs_tol=ATOL)


def run_both(fn, inputs):
    """fn on Values and on float64 torch scalars; compare the output and every input's gradient."""
    ours = [Value(v) for v in inputs]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    out, out_t = fn(*ours), fn(*theirs)
    assert close(out.data, out_t.item()), (out.data, out_t.item())
    out.backward()
    out_t.backward()
    for mine, reference in zip(ours, theirs, strict=True):
        expected = 0.0 if reference.grad is None else reference.grad.item()
        assert close(mine.grad, expected), (mine.grad, expected)
    return ours


UNARY = {
    "exp": (lambda a: a.exp(), [-2.0, 0.0, 1.5]),
    "log": (lambda a: a.log(), [0.3, 1.0, 7.0]),
    "sin": (lambda a: a.sin(), [-2.0, 0.0, 1.0]),
    "tanh": (lambda a: a.tanh(), [-3.0, 0.0, 0.7]),
    "relu": (lambda a: a.relu(), [-1.0, 0.0, 2.5]),   # 0 at the kink, as torch
    "neg": (lambda a: -a, [-1.0, 2.0]),
    "square": (lambda a: a**2, [-1.5, 0.0, 3.0]),
    "cube": (lambda a: a**3, [-1.5, 2.0]),
    "sqrt": (lambda a: a**0.5, [0.25, 4.0]),
    "reciprocal": (lambda a: a**-1, [-2.0, 0.5]),
    "power zero": (lambda a: a**0, [0.0, 2.0]),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_operations(name):
    fn, points = UNARY[name]
    for point in points:
        run_both(fn, [point])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "number on the left": lambda a, b: 2.0 + a * 3.0 - 1.5 / b + (4.0 - b) * (2 * a),
    "number on the right": lambda a, b: (a + 1.0) * (b - 0.5) / 2.0,
}


@pytest.mark.parametrize("name", BINARY)
def test_binary_operations(name):
    for a, b in [(2.0, -3.0), (-0.5, 0.25), (1.0, 4.0)]:
        run_both(BINARY[name], [a, b])


def test_a_plus_a_gets_two():
    # both parents of the addition are the same object: its two += add up to 2
    (a,) = run_both(lambda a: a + a, [3.0])
    assert a.grad == 2.0
    run_both(lambda a: a * a, [3.0])         # 2a
    run_both(lambda a: a * a * a + a, [-1.5])  # 3a^2 + 1


def test_node_used_twice_sums_its_paths():
    def fn(a, c):
        b = a * c                  # b feeds two later operations
        return b * b + b.sin() + b.tanh() / c

    run_both(fn, [0.7, -1.3])
    run_both(fn, [2.0, 0.5])


def test_worked_example_of_lecture_one():
    x1, x2 = run_both(lambda x1, x2: x1 * x2 + x2.sin(), [2.0, 1.0])
    assert x1.grad == 1.0
    assert math.isclose(x2.grad, 2.0 + math.cos(1.0), rel_tol=1e-15)


def test_a_neuron():
    def neuron(x1, x2, w1, w2, bias):
        return (x1 * w1 + x2 * w2 + bias).tanh()

    run_both(neuron, [2.0, 0.0, -3.0, 1.0, 6.881373587019543])
    run_both(lambda x, w, b: ((x * w + b).relu() - 0.5) ** 2 + (w * w).log(), [1.5, -0.4, 2.0])


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert math.isclose(x.grad, 1.0001**5000, rel_tol=1e-12)


def test_a_loop_built_graph_matches_torch():
    # lecture 1's f: Python control flow decides how big the graph is, x is used on every pass
    def number(v):
        return v.data if isinstance(v, Value) else v.item()

    def f(x):
        y = x * x
        while number(y) < 50:
            y = y * 1.5 + x
        return y

    for start in (1.0, 2.0, 8.0):
        run_both(f, [start])


def test_backward_twice_accumulates_into_leaves_only():
    a, b = Value(1.5), Value(-2.0)
    loss = (a * b).tanh() + a
    loss.backward()
    first = (a.grad, b.grad)
    loss.backward()                # inner nodes restart from 0; the leaves add the same again
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])
    at, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.5, -2.0))
    loss_t = (at * bt).tanh() + at
    loss_t.backward(retain_graph=True)
    loss_t.backward()
    assert close(a.grad, at.grad.item()) and close(b.grad, bt.grad.item())


def test_gradients_start_at_zero():
    a = Value(2.0)
    assert a.grad == 0.0
    out = a * 3.0 + 1.0
    out.backward()
    assert a.grad == 3.0 and out.grad == 1.0
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0.0)"


def test_numpy_scalars_and_ints_are_numbers():
    assert Value(np.float32(0.5)).data == 0.5 and Value(3).data == 3.0
    assert (Value(2.0) * np.float64(3.0)).data == 6.0


@pytest.mark.parametrize("bad", ["1.0", None, True, [1.0], np.array([1.0, 2.0]), 1j])
def test_data_must_be_a_real_number(bad):
    with pytest.raises(TypeError, match="data must be a real number"):
        Value(bad)


def test_operands_and_exponents_must_be_numbers():
    with pytest.raises(TypeError, match="the other operand must be a real number"):
        Value(1.0) + "2"
    with pytest.raises(TypeError, match="exponent must be a real number"):
        Value(2.0) ** Value(2.0)


def test_arithmetic_without_a_real_result_raises():
    with pytest.raises(ValueError, match=r"log needs a positive number, got data = -1\.0"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="log needs a positive number"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="needs an integer exponent"):
        Value(-8.0) ** (1 / 3)
    with pytest.raises(ValueError, match="division by zero"):
        Value(1.0) / Value(0.0)
    assert (Value(-2.0) ** 2).data == 4.0    # an integer power of a negative number is fine
