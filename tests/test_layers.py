"""dlcourse.layers against torch.nn.functional / torch.nn and torch.autograd, float64."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import activations as A
from dlcourse import layers as L

# Elementwise layers: same formulas as torch up to a few ulp (see test_activations): rtol 1e-12, atol 1e-14.
ELEM_RTOL, ELEM_ATOL = 1e-12, 1e-14
# Matrix products / sums: float64 with a different summation order (BLAS
# blocking, reassociation); error ~ k eps sum|terms| with k <= 64 terms of O(1):
# rtol 1e-12 plus atol 1e-12 for entries that cancel to near 0.
MAT_RTOL, MAT_ATOL = 1e-12, 1e-12
# MLP: three chained matmuls and activations amplify the above a little.
MLP_RTOL, MLP_ATOL = 1e-11, 1e-12


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def quiet(fn, *args, **kwargs):
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


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
    for before, after in zip(copies, (x, W, b, dout)):
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
    forward, backward = getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward")
    out, cache = quiet(forward, x, *args, **kwargs)
    dx = quiet(backward, dout, cache)
    xt = t64(x, True)
    out_t = torch_fn(xt)
    (gx,) = torch.autograd.grad(out_t, xt, grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(dout, copies[1])


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_activation_layers_are_named_documented_module_functions(name):
    forward, backward = getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward")
    assert forward.__name__ == f"{name}_forward" and backward.__name__ == f"{name}_backward"
    assert forward.__module__ == "dlcourse.layers"
    assert name in forward.__doc__ and f"{name}_grad" in backward.__doc__
    assert L.ACTIVATION_LAYERS[name] == (forward, backward)


def test_activation_backward_rejects_wrong_dout_shape():
    _, cache = L.relu_forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dout must have the same shape as x"):
        L.relu_backward(np.ones((3,)), cache)


# --------------------------------------------------------------------- PReLU
@pytest.mark.parametrize("x_shape, a_shape", [((5,), ()), ((1, 3), (3,)), ((7, 3, 4), (3,)), ((4, 2), (1,))])
def test_prelu_layer_matches_autograd(x_shape, a_shape):
    rng = np.random.default_rng(len(x_shape))
    x, a, dout = rng.normal(size=x_shape), rng.uniform(0, 0.5, size=a_shape), rng.normal(size=x_shape)
    x.flat[0] = 0.0
    copies = (x.copy(), a.copy(), dout.copy())
    out, cache = L.prelu_forward(x, a)
    dx, da = L.prelu_backward(dout, cache)
    xt, at = t64(x, True), t64(a.reshape(1) if a.ndim == 0 else a, True)
    out_t = F.prelu(xt, at)
    gx, ga = torch.autograd.grad(out_t, (xt, at), grad_outputs=t64(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=ELEM_RTOL, atol=ELEM_ATOL)
    assert da.shape == a.shape
    np.testing.assert_allclose(da, ga.numpy().reshape(a.shape), rtol=MAT_RTOL, atol=MAT_ATOL)
    for before, after in zip(copies, (x, a, dout)):
        np.testing.assert_array_equal(before, after)


def test_prelu_layer_errors():
    with pytest.raises(ValueError, match="a must be a scalar"):
        L.prelu_forward(np.ones((4, 3)), np.ones(4))
    _, cache = L.prelu_forward(np.ones((4, 3)), np.ones(3))
    with pytest.raises(ValueError, match="dout"):
        L.prelu_backward(np.ones((4, 2)), cache)


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


# -------------------------------------------------------------------- losses
# Loss values are means of n float64 terms and the gradients elementwise
# formulas: same operations as torch up to summation order: rtol 1e-12.
LOSS_RTOL, LOSS_ATOL = 1e-12, 1e-15
LOSS_SHAPES = [(1,), (7,), (4, 3), (1, 1)]


def _torch_loss(fn, inp, target):
    it = t64(inp, True)
    loss = fn(it, t64(target))
    (g,) = torch.autograd.grad(loss, it)
    return loss.item(), g.numpy()


def _compare_loss(ours, theirs, inp, target):
    copies = (inp.copy(), target.copy())
    loss, grad = quiet(ours, inp, target)
    loss_t, grad_t = _torch_loss(theirs, inp, target)
    assert isinstance(loss, float) and grad.shape == inp.shape
    assert loss == pytest.approx(loss_t, rel=LOSS_RTOL, abs=LOSS_ATOL)
    np.testing.assert_allclose(grad, grad_t, rtol=LOSS_RTOL, atol=LOSS_ATOL)
    np.testing.assert_array_equal(inp, copies[0])
    np.testing.assert_array_equal(target, copies[1])


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_mse_and_mae_match_torch(shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    target.flat[0] = pred.flat[0]  # a tie: MAE subgradient 0 as torch's sign(0)
    _compare_loss(L.mse_loss, F.mse_loss, pred, target)
    _compare_loss(L.mae_loss, F.l1_loss, pred, target)


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_bce_matches_torch(shape):
    rng = np.random.default_rng(shape[0])
    prob, target = rng.uniform(0.01, 0.99, size=shape), rng.uniform(0, 1, size=shape)
    _compare_loss(L.bce_loss, F.binary_cross_entropy, prob, target)


def test_bce_clamps_like_torch_at_zero_and_one():
    prob = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-17, 0.5])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.3])
    _compare_loss(L.bce_loss, F.binary_cross_entropy, prob, target)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_bce_rejects_non_probabilities(bad):
    with pytest.raises(ValueError, match=r"prob must be probabilities in \[0, 1\]"):
        L.bce_loss(np.array([0.5, bad]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_bce_with_logits_matches_torch(shape):
    rng = np.random.default_rng(shape[0] + 10)
    logits, target = rng.normal(0, 4, size=shape), rng.uniform(0, 1, size=shape)
    _compare_loss(L.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, target)


def test_bce_with_logits_large_logits_quiet():
    logits = np.array([1e4, -1e4, 50.0, -50.0, 1e3, -1e3, 0.0])
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 1.0])
    _compare_loss(L.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, target)


@pytest.mark.parametrize("n, c", [(1, 1), (1, 10), (7, 3), (64, 10)])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_cross_entropy_matches_torch(n, c, scale):
    rng = np.random.default_rng(n * c)
    logits, labels = rng.normal(0, scale, size=(n, c)), rng.integers(0, c, size=n)
    copies = (logits.copy(), labels.copy())
    loss, dlogits = quiet(L.softmax_cross_entropy, logits, labels)
    lt = t64(logits, True)
    loss_t = F.cross_entropy(lt, torch.tensor(labels))
    (g,) = torch.autograd.grad(loss_t, lt)
    # Scale 1e4: the loss is O(1e4) and log-softmax subtracts O(1e4) numbers: rtol 1e-12 relative to that.
    assert loss == pytest.approx(loss_t.item(), rel=LOSS_RTOL, abs=LOSS_ATOL * scale)
    np.testing.assert_allclose(dlogits, g.numpy(), rtol=LOSS_RTOL, atol=LOSS_ATOL)
    np.testing.assert_array_equal(logits, copies[0])
    np.testing.assert_array_equal(labels, copies[1])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(axis):
    x = np.random.default_rng(0).normal(0, 100, size=(3, 4, 5))
    x[0, 0, 0] = 1e4
    np.testing.assert_allclose(quiet(L.softmax, x, axis), torch.softmax(t64(x), axis).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        quiet(L.log_softmax, x, axis), torch.log_softmax(t64(x), axis).numpy(), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "logits, labels, exc, match",
    [
        (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "labels must be integer class indices"),
        (np.zeros((3, 4)), np.array([0, 4, 1]), ValueError, r"labels must be in \[0, 3\].*\[0, 4\]"),
        (np.zeros((3, 4)), np.array([0, -1, 1]), ValueError, r"labels must be in \[0, 3\]"),
        (np.zeros((3, 4)), np.array([0, 1]), ValueError, r"labels must have shape \(N,\) = \(3,\)"),
        (np.zeros(4), np.array([0]), ValueError, r"logits must have shape \(N, C\)"),
        (np.zeros((3, 4), dtype=int), np.array([0, 1, 2]), TypeError, "logits must be a floating-point array"),
    ],
)
def test_softmax_cross_entropy_errors(logits, labels, exc, match):
    with pytest.raises(exc, match=match):
        L.softmax_cross_entropy(logits, labels)


@pytest.mark.parametrize("loss_fn", [L.mse_loss, L.mae_loss, L.bce_loss, L.bce_with_logits_loss])
def test_losses_reject_mismatched_shapes(loss_fn):
    first = loss_fn.__code__.co_varnames[0]
    with pytest.raises(ValueError, match=f"target must have the same shape as {first}"):
        loss_fn(np.full((4, 1), 0.5), np.full((4,), 0.5))


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
        ({"sizes": [3, 2], "activation": "swish", "rng": np.random.default_rng(0)}, ValueError, "activation must be one of"),
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
