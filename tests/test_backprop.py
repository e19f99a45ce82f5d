"""Tests for dlcourse.backprop: every gate against torch.autograd and gradcheck."""

import numpy as np
import pytest
import torch

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
    logistic_example,
    worked_example,
)
from dlcourse.gradcheck import numerical_gradient, rel_error

# float64, the same elementary operations as torch up to reassociation and a
# few ulps in exp/sin/cos: rtol=1e-12 (atol for entries that are ~0).
RTOL, ATOL = 1e-12, 1e-14
# Central differences, h = 1e-5, float64, O(1) inputs: see tests/test_gradcheck.py.
NUMERICAL_REL_TOL = 1e-7


def as_torch(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def positive(rng, shape):
    return np.abs(rng.normal(size=shape)) + 0.5


def normal(rng, shape):
    return rng.normal(size=shape)


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


def torch_worked_example(x1, x2):
    x1t, x2t = as_torch(x1), as_torch(x2)
    a1 = torch.sin(x2t)
    a2 = x1t * x2t
    a3 = a1 + a2
    for node in (a1, a2, a3):
        node.retain_grad()
    a3.backward(torch.ones_like(a3))
    # Per-path contributions to df/dx2: the gradient through each branch alone.
    (path1,) = torch.autograd.grad(torch.sin(x2t), x2t, torch.ones_like(a3))
    (path2,) = torch.autograd.grad(x1t.detach() * x2t, x2t, torch.ones_like(a3))
    numpy = lambda t: t.detach().numpy()  # noqa: E731
    return dict(
        a1=numpy(a1), a2=numpy(a2), a3=numpy(a3),
        abar1=numpy(a1.grad), abar2=numpy(a2.grad), abar3=numpy(a3.grad),
        x1bar=numpy(x1t.grad), x2bar=numpy(x2t.grad),
        x2bar_path1=numpy(path1), x2bar_path2=numpy(path2),
    )


@pytest.mark.parametrize(
    "x1, x2",
    [(2.0, 3.0), (-1.5, 0.25), (np.array([0.3, -2.0, 1.1]), np.array([1.7, 0.4, -3.0]))],
    ids=["scalars", "negative", "arrays"],
)
def test_worked_example_matches_torch(x1, x2):
    result = worked_example(x1, x2)
    expected = torch_worked_example(x1, x2)
    for name, value in expected.items():
        assert_close(getattr(result, name), value)
    assert_close(result.f, expected["a3"])
    # The two paths add up to the total.
    assert_close(result.x2bar_path1 + result.x2bar_path2, expected["x2bar"])


def test_worked_example_gradcheck():
    x = np.array([0.8, -1.3])
    result = worked_example(x[0], x[1])
    numeric = numerical_gradient(lambda v: worked_example(v[0], v[1]).f, x)
    assert rel_error(numeric, np.array([result.x1bar, result.x2bar])) < NUMERICAL_REL_TOL


@pytest.mark.parametrize("n", [1, 3, 7])
def test_logistic_example_matches_torch(n):
    rng = np.random.default_rng(10 + n)
    w, x = rng.normal(size=n), rng.normal(size=n)
    result = logistic_example(w, x)
    wt, xt = as_torch(w), torch.tensor(x, dtype=torch.float64)
    u = torch.dot(wt, xt)
    p = torch.sigmoid(u)
    loss = 1.0 / p
    u.retain_grad()
    p.retain_grad()
    loss.backward()
    assert_close(result.u, u.item())
    assert_close(result.p, p.item())
    assert_close(result.L, loss.item())
    assert_close(result.pbar, p.grad.item())
    assert_close(result.ubar, u.grad.item())
    assert_close(result.wbar_gates, wt.grad.numpy())
    assert_close(result.wbar_combined, wt.grad.numpy())
    # The slide's simplification -(1 - sigma) x drops a factor 1/sigma.
    assert not np.allclose(-(1.0 - result.p) * x, wt.grad.numpy(), rtol=1e-3)
