"""dlcourse.layers (linear, dropout, MLP, two_layer_net) against torch.nn.functional and autograd, float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import activations as A
from dlcourse import layers as L

# Matrix products / sums: float64 with a different summation order (BLAS
# blocking, reassociation); error ~ k eps sum|terms| with k <= 64 terms of O(1):
# rtol 1e-12 plus atol 1e-12 for entries that cancel to near 0.
MAT_RTOL, MAT_ATOL = 1e-12, 1e-12
# MLP: three chained matmuls and activations amplify the above a little.
MLP_RTOL, MLP_ATOL = 1e-11, 1e-12
# two_layer_net: the same operations as torch up to summation order: a few ulp per entry relative to
# the largest entry (tiny grads cancel, so rtol alone is too strict).
NET_RTOL, NET_ATOL_SCALE = 1e-10, 1e-12


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)



# -------------------------------------------------------------------- linear
LINEAR_SHAPES = [(1, 1, 1), (1, 3, 7), (7, 3, 1), (5, 4, 3), (64, 64, 10)]


@pytest.mark.parametrize("n, fan_in, fan_out", LINEAR_SHAPES)
def test_linear_matches_torch(n, fan_in, fan_out):
    rng = np.random.default_rng(n * 100 + fan_in)
    x, W, b = rng.normal(size=(n, fan_in)), rng.normal(size=(fan_in, fan_out)), rng.normal(size=fan_out)
    dout = rng.normal(size=(n, fan_out))
    copies = [a.copy() for a in (x, W, b, dout)]
    out, cache = L.linear_forward(x, W, b)
    dx, dW, db = L.linear_backward(dout, cache)
    xt, Wt, bt = t64(x, True), t64(W.T, True), t64(b, True)  # torch's weight is W^T
    out_t = F.linear(xt, Wt, bt)
    gx, gW, gb = torch.autograd.grad(out_t, (xt, Wt, bt), grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=MAT_RTOL, atol=MAT_ATOL)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=MAT_RTOL, atol=MAT_ATOL)
    np.testing.assert_allclose(dW, gW.numpy().T, rtol=MAT_RTOL, atol=MAT_ATOL)
    np.testing.assert_allclose(db, gb.numpy(), rtol=MAT_RTOL, atol=MAT_ATOL)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    for before, after in zip(copies, (x, W, b, dout), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    "x_shape, W_shape, b_shape, match",
    [
        ((4, 3), (5, 2), (2,), r"x has 3 features \(shape \(4, 3\)\).*fan_in = 5 \(shape \(5, 2\)\)"),
        ((4, 3), (3, 2), (3,), r"b \(fan_out,\).*b \(3,\)"),
        ((3,), (3, 2), (2,), r"x \(N, fan_in\).*got x \(3,\)"),
        ((4, 3), (3, 2), (1, 2), r"b \(1, 2\)"),
    ],
)
def test_linear_shape_errors(x_shape, W_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        L.linear_forward(np.ones(x_shape), np.ones(W_shape), np.ones(b_shape))


def test_linear_backward_rejects_wrong_dout_and_integer_input():
    _, cache = L.linear_forward(np.ones((4, 3)), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"dout must have the shape of out, \(4, 2\), got \(2, 4\)"):
        L.linear_backward(np.ones((2, 4)), cache)
    with pytest.raises(TypeError, match="W must be a floating-point array"):
        L.linear_forward(np.ones((4, 3)), np.ones((3, 2), dtype=int), np.ones(2))


# ------------------------------------------------------------------- dropout
DROP_SHAPE = (400, 500)
Z = 5.0  # standard errors allowed in statistical checks (false failure < 1e-6)


def _check_dropout_sample(out: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
    """Check kept units equal x / (1 - p) exactly and the drop fraction is p; return the keep mask."""
    keep = out != 0
    n = keep.size
    assert abs((1 - keep.mean()) - p) < Z * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[keep], x[keep] / (1 - p), rtol=1e-15)
    return keep


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_training_statistics_and_torch_convention(p):
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=DROP_SHAPE)  # nonzero, so out == 0 means dropped
    out, cache = L.dropout_forward(x, p, True, np.random.default_rng(1))
    keep = _check_dropout_sample(out, x, p)
    # E[out] = x: the mean of out/x is 1 within Z standard errors (Var[m/(1-p)] = p/(1-p)).
    assert abs(np.mean(out / x) - 1) < Z * math.sqrt(p / (1 - p) / x.size)
    # torch uses the same convention: p = drop probability, survivors scaled by 1/(1-p).
    torch.manual_seed(0)
    out_t = F.dropout(t64(x), p, training=True).numpy()
    _check_dropout_sample(out_t, x, p)
    # Backward given our mask equals torch's dropout backward kernel given the same mask.
    dout = np.random.default_rng(2).normal(size=DROP_SHAPE)
    dx = L.dropout_backward(dout, cache)
    dx_t = torch.ops.aten.native_dropout_backward(t64(dout), torch.tensor(keep), 1 / (1 - p))
    np.testing.assert_allclose(dx, dx_t.numpy(), rtol=1e-15, atol=0)


def test_dropout_autograd_with_our_mask():
    # torch.autograd through out = x * mask * scale with OUR mask gives our backward.
    p = 0.3
    rng = np.random.default_rng(5)
    x, dout = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    out, cache = L.dropout_forward(x, p, True, np.random.default_rng(6))
    mask = t64(cache != 0)
    xt = t64(x, True)
    out_t = xt * mask / (1 - p)
    (gx,) = torch.autograd.grad(out_t, xt, grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(L.dropout_backward(dout, cache), gx.numpy(), rtol=1e-15, atol=0)


def test_dropout_eval_is_identity_and_needs_no_rng():
    x = np.random.default_rng(0).normal(size=(1, 3))
    out, cache = L.dropout_forward(x, 0.5, training=False)
    assert out is x and cache is None
    dout = np.ones((1, 3))
    assert L.dropout_backward(dout, cache) is dout
    np.testing.assert_array_equal(F.dropout(t64(x), 0.5, training=False).numpy(), out)


def test_dropout_p_one_gives_zeros_like_torch():
    x = np.random.default_rng(0).normal(size=(4, 3))
    out, cache = L.dropout_forward(x, 1.0, True, np.random.default_rng(0))
    xt = t64(x, True)
    out_t = F.dropout(xt, 1.0, training=True)
    (gx,) = torch.autograd.grad(out_t.sum(), xt)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(L.dropout_backward(np.ones((4, 3)), cache), gx.numpy())
    assert not np.any(out)


def test_dropout_p_zero_training_is_identity():
    x = np.random.default_rng(0).normal(size=(4, 3))
    out, _ = L.dropout_forward(x, 0.0, True, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)


def test_dropout_deterministic_pure_and_dtype():
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    before = x.copy()
    a, _ = L.dropout_forward(x, 0.4, True, np.random.default_rng(3))
    b, _ = L.dropout_forward(x, 0.4, True, np.random.default_rng(3))
    c, _ = L.dropout_forward(x, 0.4, True, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(x, before)
    assert a.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"p": 1.5, "training": True, "rng": np.random.default_rng(0)}, ValueError, r"p must be in \[0, 1\]"),
        ({"p": -0.1, "training": False}, ValueError, "p must be in"),
        ({"p": 0.5, "training": True, "rng": None}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_dropout_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        L.dropout_forward(np.ones((2, 2)), **kwargs)


# ----------------------------------------------------------------------- MLP
TORCH_ACT = {
    "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU, "elu": torch.nn.ELU, "gelu": torch.nn.GELU,
    "selu": torch.nn.SELU, "silu": torch.nn.SiLU, "mish": torch.nn.Mish, "softplus": torch.nn.Softplus,
}


def _torch_copy(mlp: L.MLP) -> torch.nn.Sequential:
    modules = []
    for layer in range(1, mlp.num_layers + 1):
        W, b = mlp.params[f"W{layer}"], mlp.params[f"b{layer}"]
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))  # torch stores (out, in)
            lin.bias.copy_(torch.from_numpy(b))
        modules.append(lin)
        act = mlp.activation if layer < mlp.num_layers else mlp.output_activation
        if act is not None:
            modules.append(TORCH_ACT[act]())
    return torch.nn.Sequential(*modules)


def _compare_mlp(mlp: L.MLP, x: np.ndarray, dout: np.ndarray) -> None:
    net = _torch_copy(mlp)
    x_before = x.copy()
    out = mlp.forward(x)
    dx = mlp.backward(dout)
    xt = t64(x, True)
    out_t = net(xt)
    out_t.backward(t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=MLP_RTOL, atol=MLP_ATOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=MLP_RTOL, atol=MLP_ATOL)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert set(mlp.grads) == set(mlp.params) == {f"{k}{i}" for i in range(1, len(linears) + 1) for k in "Wb"}
    for i, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(mlp.grads[f"W{i}"], lin.weight.grad.numpy().T, rtol=MLP_RTOL, atol=MLP_ATOL)
        np.testing.assert_allclose(mlp.grads[f"b{i}"], lin.bias.grad.numpy(), rtol=MLP_RTOL, atol=MLP_ATOL)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("activation", list(A.ACTIVATIONS))
@pytest.mark.parametrize("sizes, n", [([5, 7, 3, 1], 1), ([64, 32, 10], 7)])
def test_mlp_matches_torch_sequential(activation, sizes, n):
    rng = np.random.default_rng(len(sizes) + n)
    mlp = L.MLP(sizes, activation, rng=rng)
    # Nonzero biases so the test can see whether they are used.
    for key in mlp.params:
        if key.startswith("b"):
            mlp.params[key] = rng.normal(size=mlp.params[key].shape)
    _compare_mlp(mlp, rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1])))


@pytest.mark.parametrize("output_activation", ["sigmoid", "softplus"])
def test_mlp_output_activation_and_single_layer(output_activation):
    rng = np.random.default_rng(0)
    _compare_mlp(L.MLP([3, 1], "tanh", rng=rng, output_activation=output_activation),
                 rng.normal(size=(4, 3)), rng.normal(size=(4, 1)))
    _compare_mlp(L.MLP([3, 4, 2], "relu", "xavier_uniform", rng=rng, output_activation=output_activation),
                 rng.normal(size=(1, 3)), rng.normal(size=(1, 2)))


def test_mlp_with_softmax_cross_entropy_matches_torch_training_gradient():
    rng = np.random.default_rng(1)
    mlp = L.MLP([8, 16, 4], "gelu", rng=rng)
    x, y = rng.normal(size=(7, 8)), rng.integers(0, 4, size=7)
    loss, dlogits = L.softmax_cross_entropy(mlp.forward(x), y)
    mlp.backward(dlogits)
    net = _torch_copy(mlp)
    loss_t = F.cross_entropy(net(t64(x)), torch.tensor(y))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=MLP_RTOL)
    np.testing.assert_allclose(mlp.grads["W1"], net[0].weight.grad.numpy().T, rtol=MLP_RTOL, atol=MLP_ATOL)
    np.testing.assert_allclose(mlp.grads["b2"], net[2].bias.grad.numpy(), rtol=MLP_RTOL, atol=MLP_ATOL)


@pytest.mark.parametrize("init", ["he_normal", "xavier_uniform", "torch_linear_default", "lecun_normal", "zeros"])
def test_mlp_init_by_name_is_the_init_function_and_biases_zero(init):
    from dlcourse import init as I

    mlp = L.MLP([6, 5, 3], init=init, rng=np.random.default_rng(9))
    expected_rng = np.random.default_rng(9)
    for i, shape in enumerate([(6, 5), (5, 3)], start=1):
        np.testing.assert_array_equal(mlp.params[f"W{i}"], getattr(I, init)(shape, expected_rng))
        np.testing.assert_array_equal(mlp.params[f"b{i}"], np.zeros(shape[1]))


def test_mlp_init_callable_and_reproducible():
    calls = []

    def ones(shape, rng):
        calls.append(shape)
        return np.ones(shape)

    mlp = L.MLP([2, 3, 1], init=ones, rng=np.random.default_rng(0))
    assert calls == [(2, 3), (3, 1)] and np.all(mlp.params["W2"] == 1)
    a, b = (L.MLP([4, 3, 2], rng=np.random.default_rng(5)) for _ in range(2))
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"sizes": [3], "rng": np.random.default_rng(0)}, ValueError, "sizes must be at least two"),
        ({"sizes": [3, 0, 2], "rng": np.random.default_rng(0)}, ValueError, "sizes"),
        ({"sizes": [3, 2], "activation": "swish", "rng": np.random.default_rng(0)}, ValueError,
         "activation must be one of"),
        ({"sizes": [3, 2], "output_activation": "softmax", "rng": np.random.default_rng(0)}, ValueError,
         "output_activation must be one of"),
        ({"sizes": [3, 2], "init": "glorot", "rng": np.random.default_rng(0)}, ValueError, "init must be one of"),
        ({"sizes": [3, 2], "init": 3, "rng": np.random.default_rng(0)}, TypeError, "init must be a name"),
        ({"sizes": [3, 2], "init": lambda s, r: np.ones((2, 3)), "rng": np.random.default_rng(0)}, ValueError,
         r"init returned shape \(2, 3\) for layer 1, expected \(3, 2\)"),
        ({"sizes": [3, 2], "rng": None}, TypeError, "rng must be a numpy.random.Generator"),
        ({"sizes": [3, 2]}, TypeError, "rng"),
    ],
)
def test_mlp_constructor_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        L.MLP(**kwargs)


def test_mlp_usage_errors():
    mlp = L.MLP([3, 2], rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="call forward"):
        mlp.backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match="x has 4 features"):
        mlp.forward(np.ones((1, 4)))
    mlp.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="dout"):
        mlp.backward(np.ones((5, 3)))


# ------------------------------------------------------------ two_layer_net
def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=NET_RTOL, atol=NET_ATOL_SCALE * np.abs(expected).max())


@pytest.mark.parametrize(("n", "d", "h", "c", "scale", "offset"), [
    (1, 4, 5, 3, 1.0, 0.0), (7, 3, 9, 4, 1.0, 0.0), (5, 6, 7, 5, 1.0, 1e3), (3, 5, 3, 2, 1e-6, 0.0),
    (64, 20, 15, 10, 30.0, 0.0),
])
def test_two_layer_net_matches_torch_autograd(n, d, h, c, scale, offset):
    rng = np.random.default_rng(n * 100 + d)
    X = rng.standard_normal((n, d)) * scale
    y = rng.integers(0, c, n)
    params = {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.1,
              "W2": rng.standard_normal((h, c)), "b2": offset + rng.standard_normal(c)}
    loss, grads = L.two_layer_net(X, y, params)
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    hidden = torch.relu(torch.tensor(X, dtype=torch.float64) @ tp["W1"] + tp["b1"])
    torch_loss = F.cross_entropy(hidden @ tp["W2"] + tp["b2"], torch.tensor(y))
    torch_loss.backward()
    _close(loss, torch_loss.item())
    assert grads.keys() == params.keys()
    for key in params:
        _close(grads[key], tp[key].grad.numpy())


def test_two_layer_net_is_pure_and_checks_params():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4),
              "W2": rng.standard_normal((4, 2)), "b2": np.zeros(2)}
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    before = {k: v.copy() for k, v in params.items()}
    L.two_layer_net(X, y, params)
    assert all(np.array_equal(before[k], params[k]) for k in params)
    with pytest.raises(ValueError, match="params must be a dict with exactly the keys"):
        L.two_layer_net(X, y, {"W1": params["W1"]})
    with pytest.raises(TypeError, match="labels must be integer"):
        L.two_layer_net(X, y.astype(float), params)
