"""Tests for dlcourse.gradcheck against torch.autograd (float64)."""

import numpy as np
import pytest
import torch

from dlcourse.gradcheck import (
    REL_ERROR_FLOOR,
    numerical_gradient,
    numerical_gradient_many,
    rel_error,
)

# Central differences with h = 1e-5 in float64: truncation error ~h^2 |f'''| / 6
# ~ 1e-11 and rounding error ~eps |f| / h ~ 1e-11 for the O(1) functions below,
# so the elementwise relative error against the exact (torch) gradient is far
# below the customary 1e-7 threshold.
NUMERICAL_REL_TOL = 1e-7

# Each function is written once for both libraries: xp is numpy or torch.
FUNCTIONS = {
    "sin_x_squared": lambda xp, x: xp.sum(xp.sin(x) * x**2),
    "logsumexp": lambda xp, x: xp.log(xp.sum(xp.exp(x))),
    "half_norm_squared": lambda xp, x: 0.5 * xp.sum(x * x),
    "tanh_cubed_mean": lambda xp, x: xp.mean(xp.tanh(x) ** 3) + xp.sum(x),
}
SHAPES = [(), (1,), (3,), (7,), (1, 1), (2, 3), (3, 1, 2)]


def torch_gradient(fn, x: np.ndarray) -> np.ndarray:
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fn(torch, xt), xt)
    return grad.numpy()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_numerical_gradient_matches_torch(name, shape):
    fn = FUNCTIONS[name]
    x = np.random.default_rng(0).normal(size=shape)
    numeric = numerical_gradient(lambda v: fn(np, v), x)
    exact = torch_gradient(fn, x)
    assert numeric.shape == x.shape
    assert numeric.dtype == np.float64
    assert rel_error(numeric, exact) < NUMERICAL_REL_TOL


def test_numerical_gradient_rejects_a_wrong_analytic_gradient():
    # The check must be able to fail: a gradient missing a factor 2 is caught.
    x = np.random.default_rng(1).normal(size=(4, 3))
    numeric = numerical_gradient(lambda v: np.sum(v**2), x)
    assert rel_error(numeric, 2 * x) < NUMERICAL_REL_TOL
    assert rel_error(numeric, x) > 0.1


def test_numerical_gradient_leaves_x_unchanged_and_passes_a_copy():
    x = np.random.default_rng(2).normal(size=(3, 4))
    x_before = x.copy()
    seen = []

    def f(v):
        seen.append(v is x)
        return np.sum(np.sin(v))

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x_before)
    assert len(seen) == 2 * x.size and not any(seen)


def test_numerical_gradient_leaves_x_unchanged_when_f_raises():
    x = np.random.default_rng(3).normal(size=5)
    x_before = x.copy()
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 4:
            raise ArithmeticError("boom")
        return float(np.sum(v))

    with pytest.raises(ArithmeticError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x_before)


def test_numerical_gradient_of_a_python_number():
    numeric = numerical_gradient(lambda v: np.sin(v) * v, 0.7)
    exact = torch_gradient(lambda xp, v: xp.sin(v) * v, np.asarray(0.7))
    assert numeric.shape == ()
    assert rel_error(numeric, exact) < NUMERICAL_REL_TOL


def test_numerical_gradient_accepts_scalar_like_outputs():
    x = np.array([0.3, -1.2])
    # A 0-d array and a 0-d torch tensor both count as scalars.
    from_array = numerical_gradient(lambda v: np.asarray(np.sum(v**2)), x)
    from_torch = numerical_gradient(lambda v: torch.tensor(v).pow(2).sum(), x)
    np.testing.assert_array_equal(from_array, from_torch)


def test_numerical_gradient_keeps_float32():
    x = np.array([0.5, -0.25], dtype=np.float32)
    numeric = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-2)
    assert numeric.dtype == np.float32
    # float32 perturbations: only a few digits are meaningful.
    np.testing.assert_allclose(numeric, 2 * x.astype(np.float64), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"f": "not callable", "x": np.ones(2)}, TypeError, "f must be a callable"),
        ({"f": np.sum, "x": np.arange(3)}, TypeError, "x must be a floating-point array"),
        ({"f": np.sum, "x": np.ones(2), "h": 0.0}, ValueError, "h must be in"),
        ({"f": np.sum, "x": np.ones(2), "h": -1e-5}, ValueError, "h must be in"),
        ({"f": lambda v: v * 2, "x": np.ones(2)}, ValueError, r"f must return a scalar.*shape \(2,\)"),
        ({"f": lambda v: np.sum(v) + 1j, "x": np.ones(2)}, TypeError, "f must return a real scalar"),
        ({"f": lambda v: "loss", "x": np.ones(2)}, TypeError, "f must return a real scalar"),
    ],
)
def test_numerical_gradient_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        numerical_gradient(**kwargs)


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_numerical_gradient_many_matches_torch(batch):
    rng = np.random.default_rng(batch)
    arrays = {"x": rng.normal(size=(batch, 4)), "W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    before = {k: v.copy() for k, v in arrays.items()}

    def loss(xp, p):
        return xp.mean(xp.tanh(p["x"] @ p["W"] + p["b"]) ** 2)

    numeric = numerical_gradient_many(lambda p: loss(np, p), arrays)
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in arrays.items()}
    exact = dict(zip(tensors, torch.autograd.grad(loss(torch, tensors), list(tensors.values())), strict=True))
    assert numeric.keys() == arrays.keys()
    for name in arrays:
        assert rel_error(numeric[name], exact[name].numpy()) < NUMERICAL_REL_TOL, name
        np.testing.assert_array_equal(arrays[name], before[name])


def test_numerical_gradient_many_bad_input():
    with pytest.raises(TypeError, match="arrays must be a mapping"):
        numerical_gradient_many(lambda p: 0.0, [np.ones(2)])
    with pytest.raises(TypeError, match=r"arrays\['W'\] must be a floating-point array"):
        numerical_gradient_many(lambda p: 0.0, {"W": np.arange(2)})


# rel_error is checked against the cs231n formula written out in numpy.
def cs231n_rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("shape", [(1,), (3,), (2, 7)], ids=str)
def test_rel_error_matches_formula(shape):
    rng = np.random.default_rng(4)
    a = rng.normal(size=shape)
    b = a + rng.normal(size=shape) * 10.0 ** rng.integers(-12, 0, size=shape)
    assert rel_error(a, b) == cs231n_rel_error(a, b)
    assert isinstance(rel_error(a, b), float)


def test_rel_error_properties():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=6), rng.normal(size=6)
    assert rel_error(a, a) == 0.0
    assert rel_error(a, b) == rel_error(b, a)
    assert rel_error(a, -a) == 1.0  # the largest possible value
    # Elementwise maximum, not a ratio of norms: one wrong entry dominates.
    assert rel_error([1.0, 1000.0], [1.0, 1000.0 + 1e-3]) == pytest.approx(1e-3 / 2000.0001, rel=1e-12)
    assert rel_error([1e-3, 1000.0], [3e-3, 1000.0]) == pytest.approx(0.5, rel=1e-12)
    # Below the floor the quantity becomes |a - b| / 1e-8.
    assert rel_error(0.0, 1e-10) == pytest.approx(1e-10 / REL_ERROR_FLOOR, rel=1e-12)
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(np.empty((0, 3)), np.empty((0, 3))) == 0.0
    assert np.isnan(rel_error([1.0, np.nan], [1.0, 1.0]))


def test_rel_error_bad_input():
    with pytest.raises(ValueError, match=r"b must have the same shape as a.*\(3,\).*\(3, 1\)"):
        rel_error(np.ones(3), np.ones((3, 1)))
    with pytest.raises(TypeError, match="a must be a floating-point array"):
        rel_error(np.arange(3), np.ones(3))
