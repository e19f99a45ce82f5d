"""dlcourse.autograd.ops: every operation's value and gradients against torch.autograd (float64)."""

import numpy as np
import pytest
import torch

from autograd.helpers import assert_close, check_against_torch, pair, rand
from dlcourse.autograd import Tensor

BINARY = {
    "add": (lambda a, b: a + b, False),
    "sub": (lambda a, b: a - b, False),
    "mul": (lambda a, b: a * b, False),
    "div": (lambda a, b: a / b, True),
    "pow": (lambda a, b: a**b, True),
}
BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((5,), (2, 5)),
    ((2, 5), (5,)),
    ((), (3, 2)),
    ((3, 2), ()),
    ((1,), (7,)),
    ((2, 1, 3), (4, 1)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("op", BINARY)
def test_binary_op_with_broadcasting(op, shapes):
    fn, positive = BINARY[op]
    check_against_torch(fn, [rand(shapes[0], 1, positive), rand(shapes[1], 2, positive)])


# Python numbers and numpy arrays on either side are constants; c is the numpy
# array for dlcourse and the same values as a torch tensor for torch.
CONSTANT = np.array([[0.5], [-1.5], [2.0]])
WITH_CONSTANTS = {
    "scalar+t": lambda t, c: 2.0 + t,
    "t+scalar": lambda t, c: t + 2,
    "scalar-t": lambda t, c: 2.0 - t,
    "t-scalar": lambda t, c: t - 2.0,
    "scalar*t": lambda t, c: 3.0 * t,
    "scalar/t": lambda t, c: 2.0 / t,
    "t/scalar": lambda t, c: t / 4.0,
    "array-t": lambda t, c: c - t,
    "array*t": lambda t, c: c * t,
    "array/t": lambda t, c: c / t,
    "t+array": lambda t, c: t + c,
    "-t": lambda t, c: -t,
    "t**2": lambda t, c: t**2,
    "t**3": lambda t, c: t**3,
    "t**0.5": lambda t, c: t**0.5,
    "t**-1.5": lambda t, c: t**-1.5,
    "scalar**t": lambda t, c: 2.0**t,
    "array**t": lambda t, c: abs(c) ** t,
}


@pytest.mark.parametrize("name", WITH_CONSTANTS)
def test_op_with_constants(name):
    fn = WITH_CONSTANTS[name]
    check_against_torch(
        lambda t: fn(t, CONSTANT),
        [rand((3, 4), 3, positive=True)],
        torch_fn=lambda t: fn(t, torch.tensor(CONSTANT)),
    )


def test_numpy_scalars_and_arrays_on_the_left_defer_to_tensor():
    t, tt = pair([1.0, 2.0, 3.0])
    out = np.float64(2.0) * t + np.ones(3) @ t + np.array([1.0, 0.0, 1.0]) * t
    assert isinstance(out, Tensor)
    out.sum().backward()
    (2.0 * tt + torch.ones(3, dtype=torch.float64) @ tt + torch.tensor([1.0, 0.0, 1.0]) * tt).sum().backward()
    assert_close(t.grad, tt.grad)


def test_pow_with_exponent_zero_and_zero_base_matches_torch():
    check_against_torch(lambda a: a**0, [np.array([0.0, -1.0, 2.0])])
    # d/db of a**b at a = 0, b >= 0 is 0 in torch (not 0 * log 0 = nan); d/da is 0 where b = 0.
    check_against_torch(lambda a, b: a**b, [np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.0])])


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((1,), (1,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((1, 7), (7, 1)),
    ((7, 1), (1, 3)),
    ((5, 2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 1)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    check_against_torch(lambda a, b: a @ b, [rand(shapes[0], 4), rand(shapes[1], 5)])


def test_matmul_with_only_one_operand_requiring_grad():
    x_np, w_np = rand((3, 4), 6), rand((4, 2), 7)
    x, w = Tensor(x_np), Tensor(w_np, requires_grad=True)
    xt, wt = torch.tensor(x_np), torch.tensor(w_np, requires_grad=True)
    (x @ w).sum().backward()
    (xt @ wt).sum().backward()
    assert x.grad is None
    assert_close(w.grad, wt.grad)
    left = np.ones((5, 3))  # numpy @ Tensor uses __rmatmul__
    out = left @ x
    assert isinstance(out, Tensor) and not out.requires_grad
    assert_close(out.data, left @ x_np)


UNARY = {
    "exp": (lambda t: t.exp(), False),
    "log": (lambda t: t.log(), True),
    "tanh": (lambda t: t.tanh(), False),
    "sigmoid": (lambda t: t.sigmoid(), False),
    "relu": (lambda t: t.relu(), False),
}


@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 7)], ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary(op, shape):
    fn, positive = UNARY[op]
    check_against_torch(fn, [rand(shape, 8, positive) * (1.0 if positive else 3.0)])


def test_sigmoid_and_exp_extremes_and_relu_at_zero():
    x = np.array([-800.0, -30.0, -1e-3, 0.0, 0.0, 2.0, 30.0, 800.0])
    check_against_torch(lambda t: t.sigmoid(), [x])
    check_against_torch(lambda t: t.relu(), [x])
    check_against_torch(lambda t: t.tanh(), [x])


def test_log_of_non_positive_gives_torch_nan_and_inf_silently():
    x = np.array([-1.0, 0.0, 2.0])
    t, tt = pair(x)
    out, out_t = t.log(), tt.log()
    upstream = np.ones(3)
    out.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())  # nan, -inf, log 2
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())  # -1, inf, 0.5
    with np.errstate(all="ignore"):
        t2 = Tensor([0.0], requires_grad=True)
        (1.0 / t2).sum().backward()
    assert np.isinf(t2.grad[0])


REDUCTION_AXES = [None, 0, 1, -1, 2, -3, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", REDUCTION_AXES, ids=str)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reductions(reduction, axis, keepdims):
    def ours(t):
        return getattr(t, reduction)(axis=axis, keepdims=keepdims)

    def theirs(t):
        return getattr(torch, reduction)(t, dim=axis, keepdim=keepdims)

    for shape in [(2, 3, 4), (1, 3, 1)]:
        check_against_torch(ours, [rand(shape, 9)], torch_fn=theirs)


def test_reduction_of_a_0d_tensor():
    check_against_torch(lambda t: t.sum() * 2.0, [np.array(1.5)])
    check_against_torch(lambda t: t.mean(), [np.array(1.5)])


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda t: t.reshape(-1), lambda t: t.reshape(-1)),
        (lambda t: t.reshape((4, 6)), lambda t: t.reshape((4, 6))),
        (lambda t: t.reshape(2, -1, 3), lambda t: t.reshape(2, -1, 3)),
        (lambda t: t.transpose(), lambda t: t.permute(2, 1, 0)),
        (lambda t: t.transpose(1, 0, 2), lambda t: t.permute(1, 0, 2)),
        (lambda t: t.transpose((2, 0, 1)), lambda t: t.permute(2, 0, 1)),
        (lambda t: t.transpose(-1, 0, 1), lambda t: t.permute(2, 0, 1)),
        (lambda t: t.reshape(6, 4).T, lambda t: t.reshape(6, 4).T),
    ],
    ids=["flatten", "tuple", "inferred", "reverse", "swap01", "cycle", "negative", "T"],
)
def test_shape_ops(ours, theirs):
    check_against_torch(ours, [rand((2, 3, 4), 10)], torch_fn=theirs)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda a, b: a + b, r"cannot add Tensors of shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a - b, r"cannot subtract Tensors of shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a * b, r"cannot multiply Tensors of shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a / b, r"cannot divide Tensors of shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a**b, r"shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a @ b, r"cannot matmul Tensors of shapes \(2, 3\) and \(4,\).*\(3\).*\(4\)"),
        (lambda a, b: a + b.data, r"cannot add Tensors of shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: b.data - a, r"cannot subtract Tensors of shapes \(4,\) and \(2, 3\)"),
    ],
)
def test_incompatible_shapes_raise_value_error_naming_them(fn, match):
    with pytest.raises(ValueError, match=match):
        fn(Tensor(np.ones((2, 3))), Tensor(np.ones(4)))


def test_other_bad_operands():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="matmul needs operands with at least 1 dimension"):
        t @ 2.0
    with pytest.raises(ValueError, match=r"axis must be .* \[-2, 2\).*got 2"):
        t.sum(axis=2)
    with pytest.raises(ValueError, match=r"axis=\(\) is ambiguous"):
        t.mean(axis=())
    with pytest.raises(ValueError, match="must not repeat"):
        t.sum(axis=(0, -2))
    with pytest.raises(ValueError, match=r"permutation of 0..1 .*\(2, 3\)"):
        t.transpose(0, 0)
    with pytest.raises(ValueError, match=r"axes must be an int \(or ints\) in .*\[-2, 2\).*\(0, 2\)"):
        t.transpose(0, 2)
    with pytest.raises(TypeError, match="exponent must be a real number"):
        t ** "2"
