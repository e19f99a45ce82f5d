"""dlcourse.activation_layers against torch.nn.functional and torch.autograd, float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import activation_layers as AL
from dlcourse import activations as A
from dlcourse import layers as L

# Elementwise layers: same formulas as torch up to a few ulp (see test_activations): rtol 1e-12, atol 1e-14.
ELEM_RTOL, ELEM_ATOL = 1e-12, 1e-14
# The slope's gradient sums over a channel: float64 with another summation order, rtol 1e-12 plus atol 1e-12.
MAT_RTOL, MAT_ATOL = 1e-12, 1e-12


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def quiet(fn, *args, **kwargs):
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)



# ------------------------------------------------------------- activations
ACT_CASES = [
    ("sigmoid", (), {}, torch.sigmoid),
    ("tanh", (), {}, torch.tanh),
    ("relu", (), {}, F.relu),
    ("leaky_relu", (), {}, F.leaky_relu),
    ("leaky_relu", (0.2,), {}, lambda t: F.leaky_relu(t, 0.2)),
    ("elu", (), {"alpha": 0.7}, lambda t: F.elu(t, 0.7)),
    ("gelu", (), {}, F.gelu),
    ("gelu", (), {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    ("selu", (), {}, F.selu),
    ("silu", (), {}, F.silu),
    ("mish", (), {}, F.mish),
    ("softplus", (), {}, F.softplus),
    ("softplus", (2.0,), {"threshold": 3.0}, lambda t: F.softplus(t, 2.0, 3.0)),
]
ACT_IDS = [f"{c[0]}{c[1]}{c[2]}" if (c[1] or c[2]) else c[0] for c in ACT_CASES]


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (2, 3, 5)])
@pytest.mark.parametrize("name, args, kwargs, torch_fn", ACT_CASES, ids=ACT_IDS)
def test_activation_layer_matches_autograd(name, args, kwargs, torch_fn, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(0, 3, size=shape)
    x.flat[0] = 0.0  # the kink, torch's convention
    x.flat[-1] = -1e3 if x.size > 1 else x.flat[-1]
    dout = rng.normal(size=shape)
    copies = (x.copy(), dout.copy())
    forward, backward = AL.ACTIVATION_LAYERS[name]
    out, cache = quiet(forward, x, *args, **kwargs)
    dx = quiet(backward, dout, cache)
    xt = t64(x, True)
    out_t = torch_fn(xt)
    (gx,) = torch.autograd.grad(out_t, xt, grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(dout, copies[1])


def test_the_table_has_a_layer_for_every_activation():
    assert list(AL.ACTIVATION_LAYERS) == list(A.ACTIVATIONS)


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_activation_layers_are_named_documented_module_functions(name):
    forward, backward = AL.ACTIVATION_LAYERS[name]
    assert forward.__name__ == f"{name}_forward" and backward.__name__ == f"{name}_backward"
    assert forward.__module__ == backward.__module__ == "dlcourse.activation_layers"
    assert name in forward.__doc__ and f"{name}_grad" in backward.__doc__
    # the public import path of every layer is kept: dlcourse.layers re-exports them
    assert (getattr(L, forward.__name__), getattr(L, backward.__name__)) == (forward, backward)
    assert L.ACTIVATION_LAYERS is AL.ACTIVATION_LAYERS


def test_layers_reexports_every_activation_layer():
    assert set(AL.__all__) <= set(L.__all__)
    for name in AL.__all__:
        assert getattr(L, name) is getattr(AL, name)


def test_activation_backward_rejects_wrong_dout_shape():
    _, cache = AL.relu_forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dout must have the same shape as x"):
        AL.relu_backward(np.ones((3,)), cache)


# --------------------------------------------------------------------- PReLU
@pytest.mark.parametrize("x_shape, a_shape", [((5,), ()), ((1, 3), (3,)), ((7, 3, 4), (3,)), ((4, 2), (1,))])
def test_prelu_layer_matches_autograd(x_shape, a_shape):
    rng = np.random.default_rng(len(x_shape))
    x, a, dout = rng.normal(size=x_shape), rng.uniform(0, 0.5, size=a_shape), rng.normal(size=x_shape)
    x.flat[0] = 0.0
    copies = (x.copy(), a.copy(), dout.copy())
    out, cache = AL.prelu_forward(x, a)
    dx, da = AL.prelu_backward(dout, cache)
    xt, at = t64(x, True), t64(a.reshape(1) if a.ndim == 0 else a, True)
    out_t = F.prelu(xt, at)
    gx, ga = torch.autograd.grad(out_t, (xt, at), grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    assert da.shape == a.shape
    np.testing.assert_allclose(da, ga.numpy().reshape(a.shape), rtol=MAT_RTOL, atol=MAT_ATOL)
    for before, after in zip(copies, (x, a, dout), strict=True):
        np.testing.assert_array_equal(before, after)


def test_prelu_layer_errors():
    with pytest.raises(ValueError, match="a must be a scalar"):
        AL.prelu_forward(np.ones((4, 3)), np.ones(4))
    _, cache = AL.prelu_forward(np.ones((4, 3)), np.ones(3))
    with pytest.raises(ValueError, match="dout"):
        AL.prelu_backward(np.ones((4, 2)), cache)
