"""dlcourse.backprop.gates: every gate against torch.autograd and gradcheck."""

import numpy as np
import pytest
import torch

from backprop.helpers import NUMERICAL_REL_TOL, as_torch, assert_close, normal, positive
from dlcourse.backprop import (
    AddGate,
    CosGate,
    DotGate,
    ExpGate,
    MaxGate,
    MultiplyGate,
    PowGate,
    ReciprocalGate,
    SigmoidGate,
    SinGate,
)
from dlcourse.gradcheck import numerical_gradient, rel_error

# name -> (gate factory, torch function, input sampler)
UNARY = {
    "sin": (SinGate, torch.sin, normal),
    "cos": (CosGate, torch.cos, normal),
    "exp": (ExpGate, torch.exp, normal),
    "sigmoid": (SigmoidGate, torch.sigmoid, normal),
    "reciprocal": (ReciprocalGate, torch.reciprocal, positive),
    "pow2": (lambda: PowGate(2), lambda x: x**2, normal),
    "pow3": (lambda: PowGate(3.0), lambda x: x**3, normal),
    "pow_half": (lambda: PowGate(0.5), lambda x: x**0.5, positive),
    "pow_minus_1.5": (lambda: PowGate(-1.5), lambda x: x**-1.5, positive),
}
BINARY = {
    "multiply": (MultiplyGate, torch.mul, normal),
    "add": (AddGate, torch.add, normal),
    "max": (MaxGate, torch.maximum, normal),
}
SHAPES = [(), (1,), (3,), (2, 7)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_gate_matches_torch_and_gradcheck(name, shape):
    make_gate, torch_fn, sample = UNARY[name]
    rng = np.random.default_rng(0)
    x, dout = sample(rng, shape), rng.normal(size=shape)
    x_before = x.copy()
    gate = make_gate()
    out = gate.forward(x)
    dx = gate.backward(dout)

    xt = as_torch(x)
    out_t = torch_fn(xt)
    (dx_t,) = torch.autograd.grad(out_t, xt, grad_outputs=torch.tensor(dout))
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, dx_t.numpy())
    # gradcheck: dx is the gradient of the scalar sum(forward(x) * dout).
    numeric = numerical_gradient(lambda v: np.sum(make_gate().forward(v) * dout), x)
    assert rel_error(numeric, dx) < NUMERICAL_REL_TOL
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_gate_matches_torch_and_gradcheck(name, shape):
    make_gate, torch_fn, sample = BINARY[name]
    rng = np.random.default_rng(1)
    x, y, dout = sample(rng, shape), sample(rng, shape), rng.normal(size=shape)
    gate = make_gate()
    out = gate.forward(x, y)
    dx, dy = gate.backward(dout)

    xt, yt = as_torch(x), as_torch(y)
    out_t = torch_fn(xt, yt)
    dx_t, dy_t = torch.autograd.grad(out_t, (xt, yt), grad_outputs=torch.tensor(dout))
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, dx_t.numpy())
    assert_close(dy, dy_t.numpy())
    numeric_x = numerical_gradient(lambda v: np.sum(make_gate().forward(v, y) * dout), x)
    numeric_y = numerical_gradient(lambda v: np.sum(make_gate().forward(x, v) * dout), y)
    assert rel_error(numeric_x, dx) < NUMERICAL_REL_TOL
    assert rel_error(numeric_y, dy) < NUMERICAL_REL_TOL


def test_max_gate_splits_ties_like_torch():
    x, y, dout = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]), np.array([2.0, 3.0, 4.0])
    gate = MaxGate()
    gate.forward(x, y)
    dx, dy = gate.backward(dout)
    xt, yt = as_torch(x), as_torch(y)
    dx_t, dy_t = torch.autograd.grad(torch.maximum(xt, yt), (xt, yt), torch.tensor(dout))
    np.testing.assert_array_equal(dx, dx_t.numpy())
    np.testing.assert_array_equal(dy, dy_t.numpy())


def test_pow_gate_with_exponent_zero_has_zero_gradient_like_torch():
    x = np.array([0.0, -1.0, 2.0])
    gate = PowGate(0)
    out = gate.forward(x)
    dx = gate.backward(np.ones(3))
    xt = as_torch(x)
    (dx_t,) = torch.autograd.grad(xt.pow(0).sum(), xt)
    np.testing.assert_array_equal(out, np.ones(3))
    np.testing.assert_array_equal(dx, dx_t.numpy())


@pytest.mark.parametrize("n", [1, 3, 7])
def test_dot_gate_matches_torch_and_gradcheck(n):
    rng = np.random.default_rng(n)
    w, x, dout = rng.normal(size=n), rng.normal(size=n), rng.normal()
    gate = DotGate()
    out = gate.forward(w, x)
    dw, dx = gate.backward(dout)
    wt, xt = as_torch(w), as_torch(x)
    out_t = torch.dot(wt, xt)
    dw_t, dx_t = torch.autograd.grad(out_t, (wt, xt), torch.tensor(dout, dtype=torch.float64))
    assert_close(out, out_t.item())
    assert_close(dw, dw_t.numpy())
    assert_close(dx, dx_t.numpy())
    assert rel_error(numerical_gradient(lambda v: DotGate().forward(v, x) * dout, w), dw) < NUMERICAL_REL_TOL


def test_sigmoid_gate_is_stable_for_large_inputs():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    gate = SigmoidGate()
    out = gate.forward(x)  # no overflow warning (warnings from dlcourse are errors in tests)
    dx = gate.backward(np.ones(5))
    xt = as_torch(x)
    (dx_t,) = torch.autograd.grad(torch.sigmoid(xt).sum(), xt)
    assert_close(out, torch.sigmoid(torch.tensor(x)).numpy())
    assert_close(dx, dx_t.numpy())


def test_multiply_gate_on_python_scalars_follows_the_slide():
    gate = MultiplyGate()
    z = gate.forward(3.0, -4.0)
    dx, dy = gate.backward(2.0)
    assert (z, dx, dy) == (-12.0, -8.0, 6.0)  # dx = y dz, dy = x dz
    assert gate.x == 3.0 and gate.y == -4.0  # the cached inputs


def test_add_gate_returns_distinct_arrays():
    gate = AddGate()
    gate.forward(np.zeros(3), np.zeros(3))
    dout = np.ones(3)
    dx, dy = gate.backward(dout)
    dx += 1.0
    np.testing.assert_array_equal(dy, np.ones(3))
    np.testing.assert_array_equal(dout, np.ones(3))


@pytest.mark.parametrize("make_gate", [SinGate, MultiplyGate, lambda: PowGate(2)])
def test_backward_before_forward_raises(make_gate):
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        make_gate().backward(1.0)


def test_gate_bad_input():
    with pytest.raises(ValueError, match=r"y must have the same shape as x.*\(3,\).*\(2,\)"):
        MultiplyGate().forward(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="takes 2 input"):
        AddGate().forward(1.0)
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        SinGate().forward(np.arange(3))
    with pytest.raises(ValueError, match="DotGate takes two 1-D vectors"):
        DotGate().forward(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="exponent must be in"):
        PowGate(np.inf)
    gate = SinGate()
    gate.forward(np.ones(3))
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(3,\)"):
        gate.backward(np.ones((3, 1)))
    with pytest.raises(TypeError, match="dout must be a floating-point array"):
        gate.backward(np.ones(3, dtype=int))
