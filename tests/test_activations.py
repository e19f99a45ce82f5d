"""dlcourse.activations against torch.nn.functional (values) and torch.autograd (derivatives), float64."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import activations as A

# float64, same formulas as torch's kernels up to libm/scipy differences of a
# few ulp in exp/tanh/erf: rtol 1e-12.  Absolute tolerance 1e-14 = a few ulp of
# the O(1) terms that are summed: (a) in the tails torch's formula rounds to 0
# where ours keeps the exact tiny value (sigma'(50) = sigma(50) sigma(-50)
# ~ 2e-22, which torch's y (1 - y) rounds to 0); (b) in the left tail of the
# GELU-tanh derivative 0.5 (1 + t) + ... cancels from O(1) to ~1e-6, so a 1-ulp
# difference in tanh (numpy vs torch's vectorized tanh) shows up as ~2e-15
# absolute; mpmath confirms both sides are equally far from the exact value.
RTOL, ATOL = 1e-12, 1e-14

# Exact edge points: the kink at 0 (both signed zeros), tiny values, the
# softplus thresholds (20 and 20 / beta), and large |x| where naive formulas overflow.
EDGES = np.array(
    [0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 1.0, -1.0, 2.5, -2.5, 5.0, -5.0, 20.0, -20.0,
     20.5, 40.0, 50.0, -50.0, 700.0, -700.0, 710.0, -710.0, 1e3, -1e3, 1e4, -1e4]
)

# (name, kwargs for ours, torch function with the same hyperparameters)
CASES = [
    ("sigmoid", {}, torch.sigmoid),
    ("tanh", {}, torch.tanh),
    ("relu", {}, F.relu),
    ("leaky_relu", {}, F.leaky_relu),
    ("leaky_relu", {"negative_slope": 0.2}, lambda t: F.leaky_relu(t, 0.2)),
    ("leaky_relu", {"negative_slope": -0.5}, lambda t: F.leaky_relu(t, -0.5)),
    ("elu", {}, F.elu),
    ("elu", {"alpha": 0.5}, lambda t: F.elu(t, alpha=0.5)),
    ("gelu", {}, F.gelu),
    ("gelu", {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    ("selu", {}, F.selu),
    ("silu", {}, F.silu),
    ("mish", {}, F.mish),
    ("softplus", {}, F.softplus),
    ("softplus", {"beta": 2.0, "threshold": 5.0}, lambda t: F.softplus(t, beta=2.0, threshold=5.0)),
    ("softplus", {"beta": 0.5}, lambda t: F.softplus(t, beta=0.5)),
]
CASE_IDS = [f"{name}-{kw}" if kw else name for name, kw, _ in CASES]


def _inputs(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 3.0, size=101), EDGES])


def _quiet(fn, *args, **kwargs):
    """Call fn with every numpy floating-point problem except underflow raised as an error."""
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def _torch_value_and_grad(torch_fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = torch_fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)  # elementwise fn: grad of the sum is the diagonal
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name, kwargs, torch_fn", CASES, ids=CASE_IDS)
def test_value_matches_torch(name, kwargs, torch_fn):
    x = _inputs()
    ours = _quiet(getattr(A, name), x, **kwargs)
    expected, _ = _torch_value_and_grad(torch_fn, x)
    assert ours.dtype == np.float64 and ours.shape == x.shape
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, kwargs, torch_fn", CASES, ids=CASE_IDS)
def test_grad_matches_autograd(name, kwargs, torch_fn):
    x = _inputs(1)
    ours = _quiet(getattr(A, f"{name}_grad"), x, **kwargs)
    _, expected = _torch_value_and_grad(torch_fn, x)
    assert ours.dtype == np.float64 and ours.shape == x.shape
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, kwargs, torch_fn", CASES, ids=CASE_IDS)
def test_derivative_at_zero_is_torchs_exactly(name, kwargs, torch_fn):
    # The kink convention (relu'(0) = 0, leaky'(0) = slope, elu'(0) = alpha, ...) is torch's.
    x = np.array([0.0, -0.0])
    _, expected = _torch_value_and_grad(torch_fn, x)
    np.testing.assert_allclose(getattr(A, f"{name}_grad")(x, **kwargs), expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"])
def test_derivative_matches_finite_difference_away_from_kink(name):
    # Independent of torch: central differences, error O(h^2) ~ 1e-10 for h = 1e-5.
    x = np.array([-2.3, -0.7, 0.4, 1.9, 3.3])
    fn, grad = A.ACTIVATIONS[name]
    h = 1e-5
    np.testing.assert_allclose(grad(x), (fn(x + h) - fn(x - h)) / (2 * h), rtol=1e-8, atol=1e-9)


def test_sigmoid_tails_are_exact_and_quiet():
    x = np.array([-1e4, -745.0, -50.0, 50.0, 1e4])
    s = _quiet(A.sigmoid, x)
    assert np.all((s >= 0) & (s <= 1))
    assert s[0] == 0.0 and s[-1] == 1.0
    # sigma(-50) = 1 / (1 + e^50); math.exp is independent of our code path.
    np.testing.assert_allclose(s[2], 1 / (1 + math.exp(50.0)), rtol=1e-14)
    np.testing.assert_allclose(_quiet(A.sigmoid_grad, x)[[2, 3]], s[2] * (1 - s[2]), rtol=1e-12)


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_float32_in_float32_out(name):
    fn, grad = A.ACTIVATIONS[name]
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    assert fn(x).dtype == np.float32
    assert grad(x).dtype == np.float32


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_inputs_not_mutated(name):
    fn, grad = A.ACTIVATIONS[name]
    x = np.random.default_rng(2).normal(size=(3, 7))
    before = x.copy()
    fn(x)
    grad(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_integer_input_rejected_naming_x(name):
    fn, grad = A.ACTIVATIONS[name]
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        fn(np.arange(3))
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        grad(np.arange(3))


def test_registry_pairs_each_function_with_its_derivative():
    assert set(A.ACTIVATIONS) == {
        "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu", "silu", "mish", "softplus"
    }
    for name, (fn, grad) in A.ACTIVATIONS.items():
        assert fn is getattr(A, name) and grad is getattr(A, f"{name}_grad")
        assert fn.__doc__ and grad.__doc__


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: A.gelu(np.ones(2), approximate="erf"), ValueError, "approximate"),
        (lambda: A.gelu_grad(np.ones(2), approximate="tanh2"), ValueError, "approximate"),
        (lambda: A.softplus(np.ones(2), beta=0.0), ValueError, "beta"),
        (lambda: A.softplus_grad(np.ones(2), beta=-1.0), ValueError, "beta"),
        (lambda: A.softplus(np.ones(2), threshold=float("nan")), ValueError, "threshold"),
        (lambda: A.leaky_relu(np.ones(2), negative_slope="0.1"), TypeError, "negative_slope"),
        (lambda: A.elu(np.ones(2), alpha=float("inf")), ValueError, "alpha"),
    ],
)
def test_bad_hyperparameters_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------- PReLU
PRELU_SHAPES = [((5,), ()), ((5,), (1,)), ((1, 3), (3,)), ((7, 3, 4), (3,)), ((4, 2), (1,)), ((2, 3, 1, 5), (3,))]


def _prelu_case(x_shape, a_shape, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape)
    x.flat[0] = 0.0  # the kink
    a = rng.uniform(-0.5, 0.5, size=a_shape)
    return x, a


def _torch_prelu(x, a):
    return F.prelu(x, a.reshape(1) if a.ndim == 0 else a)


@pytest.mark.parametrize("x_shape, a_shape", PRELU_SHAPES)
def test_prelu_matches_torch(x_shape, a_shape):
    x, a = _prelu_case(x_shape, a_shape)
    xt = torch.tensor(x, requires_grad=True)
    at = torch.tensor(a, requires_grad=True)
    y = _torch_prelu(xt, at)
    dx, da = torch.autograd.grad(y.sum(), (xt, at))
    # float64, a single multiply per element: exact up to 1 ulp.
    np.testing.assert_allclose(A.prelu(x, a), y.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(A.prelu_grad(x, a), dx.numpy(), rtol=1e-15, atol=0)
    # d sum(out) / d a_c is prelu_grad_a summed over the units of channel c.
    grad_a = A.prelu_grad_a(x, a)
    reduce_axes = tuple(range(x.ndim)) if a.size == 1 else tuple(i for i in range(x.ndim) if i != 1)
    np.testing.assert_allclose(grad_a.sum(axis=reduce_axes).reshape(a.shape), da.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x_shape, a_shape", PRELU_SHAPES)
def test_prelu_grad_a_is_torch_jacobian_per_element(x_shape, a_shape):
    # Each output depends on one slope only, so summing torch's full Jacobian
    # d out_i / d a_c over c gives the elementwise partial derivative.
    x, a = _prelu_case(x_shape, a_shape, seed=4)
    a_vec = torch.tensor(a.reshape(-1))
    jac = torch.func.jacrev(lambda w: _torch_prelu(torch.tensor(x), w))(a_vec)
    np.testing.assert_allclose(A.prelu_grad_a(x, a), jac.sum(dim=-1).numpy(), rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "x_shape, a_shape", [((5,), (5,)), ((4, 3), (4,)), ((2, 3), (3, 1)), ((2, 3), (2,)), ((6,), (2,))]
)
def test_prelu_bad_slope_shape(x_shape, a_shape):
    x, a = np.ones(x_shape), np.full(a_shape, 0.25)
    for fn in (A.prelu, A.prelu_grad, A.prelu_grad_a):
        with pytest.raises(ValueError, match=r"a must be a scalar.*got a with shape"):
            fn(x, a)


def test_prelu_large_inputs_quiet_and_pure():
    x = np.array([[-1e4, 1e4, 0.0], [-50.0, 50.0, -0.0]])
    a = np.array([0.1, 0.2, 0.3])
    x0, a0 = x.copy(), a.copy()
    out = _quiet(A.prelu, x, a)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(out, [[-1e3, 1e4, 0.0], [-5.0, 50.0, 0.0]])


def test_import_does_not_import_torch_or_scipy():
    import subprocess
    import sys

    code = "import sys, dlcourse.activations; assert 'torch' not in sys.modules and 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
