"""dlcourse.norm against torch.nn.BatchNorm1d/2d, layer_norm, group_norm, instance_norm (float64).

Tolerances
----------
RTOL = 1e-10, ATOL = 1e-12 for every comparison with torch: float64 with data of
order 1-10, but a different summation order (numpy pairwise sums / einsum vs
torch's vectorized and Welford-style reductions), and the backward passes
subtract nearly equal terms (m * dout - sum(dout) - xhat * sum(dout * xhat)),
so errors are relative to the largest term, not to the result (measured: all
differences <= 2e-14).  Running statistics after several steps use the same
tolerance: each step is one affine update, no error growth beyond a few ulps.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import norm as N

RTOL = 1e-10
ATOL = 1e-12


def close(actual, expected) -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def t64(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def copies(*arrays):
    return [a.copy() for a in arrays]


def assert_unchanged(arrays, originals):
    for a, o in zip(arrays, originals):
        np.testing.assert_array_equal(a, o)


# ---------------------------------------------------------------------------
# batch norm
# ---------------------------------------------------------------------------

BN_SHAPES = [(2, 3), (3, 5), (7, 4), (64, 16), (1, 3, 5), (4, 3, 6), (3, 2, 4, 5)]


def bn_inputs(shape, seed):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = 3.0 * rng.standard_normal(shape) + rng.standard_normal(channels).reshape((1, -1) + (1,) * (len(shape) - 2))
    gamma = rng.standard_normal(channels)
    beta = rng.standard_normal(channels)
    running_mean = rng.standard_normal(channels)
    running_var = rng.uniform(0.5, 2.0, channels)
    dout = rng.standard_normal(shape)
    return x, gamma, beta, running_mean, running_var, dout


def torch_bn(shape, gamma, beta, running_mean, running_var, momentum, eps):
    cls = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    module = cls(shape[1], momentum=momentum, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(t64(gamma))
        module.bias.copy_(t64(beta))
        module.running_mean.copy_(t64(running_mean))
        module.running_var.copy_(t64(running_var))
    return module


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("momentum,eps", [(0.1, 1e-5), (0.3, 1e-3), (1.0, 0.5)])
def test_batchnorm_matches_torch(shape, training, momentum, eps):
    x, gamma, beta, running_mean, running_var, dout = bn_inputs(shape, seed=len(shape) * 100 + shape[0])
    module = torch_bn(shape, gamma, beta, running_mean, running_var, momentum, eps).train(training)
    xt = t64(x, requires_grad=True)
    yt = module(xt)
    yt.backward(t64(dout))

    inputs = (x, gamma, beta, running_mean, running_var)
    originals = copies(*inputs)
    out, cache, new_mean, new_var = N.batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    cache_originals = copies(cache.xhat, cache.inv_std)
    dx, dgamma, dbeta = N.batchnorm_backward(dout, cache)

    close(out, yt)
    close(new_mean, module.running_mean)
    close(new_var, module.running_var)
    close(dx, xt.grad)
    close(dgamma, module.weight.grad)
    close(dbeta, module.bias.grad)
    assert dx.shape == x.shape and dgamma.shape == gamma.shape and dbeta.shape == beta.shape
    assert_unchanged(inputs, originals)  # pure forward
    assert_unchanged((cache.xhat, cache.inv_std), cache_originals)  # pure backward
    assert not np.shares_memory(new_mean, running_mean) and not np.shares_memory(new_var, running_var)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2)])
def test_batchnorm_running_statistics_over_several_steps(shape):
    momentum, eps = 0.2, 1e-4
    _, gamma, beta, _, _, _ = bn_inputs(shape, seed=7)
    running_mean, running_var = np.zeros(shape[1]), np.ones(shape[1])  # torch's initial state
    module = torch_bn(shape, gamma, beta, running_mean, running_var, momentum, eps).train()
    rng = np.random.default_rng(8)
    for step in range(6):
        x = rng.standard_normal(shape) * (step + 1) + step
        out, _, running_mean, running_var = N.batchnorm_forward(
            x, gamma, beta, running_mean, running_var, True, momentum, eps
        )
        close(out, module(t64(x)))
        close(running_mean, module.running_mean)
        close(running_var, module.running_var)
    # inference with the accumulated statistics
    module.eval()
    x = rng.standard_normal(shape)
    out, _, _, _ = N.batchnorm_forward(x, gamma, beta, running_mean, running_var, False, momentum, eps)
    close(out, module(t64(x)))


def test_batchnorm_eval_accepts_a_single_sample():
    x, gamma, beta, running_mean, running_var, dout = bn_inputs((1, 4), seed=3)
    module = torch_bn((1, 4), gamma, beta, running_mean, running_var, 0.1, 1e-5).eval()
    xt = t64(x, requires_grad=True)
    module(xt).backward(t64(dout))
    out, cache, _, _ = N.batchnorm_forward(x, gamma, beta, running_mean, running_var, training=False)
    dx, _, _ = N.batchnorm_backward(dout, cache)
    close(out, module(t64(x)))
    close(dx, xt.grad)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_batchnorm_training_needs_more_than_one_value_per_channel(shape):
    x, gamma, beta, running_mean, running_var, _ = bn_inputs(shape, seed=0)
    module = torch_bn(shape, gamma, beta, running_mean, running_var, 0.1, 1e-5).train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        module(t64(x))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training.*\(1, 3"):
        N.batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True)


def test_batchnorm_keeps_float32():
    x, gamma, beta, running_mean, running_var, dout = (a.astype(np.float32) for a in bn_inputs((6, 3), seed=1))
    out, cache, new_mean, new_var = N.batchnorm_forward(x, gamma, beta, running_mean, running_var, True)
    dx, dgamma, dbeta = N.batchnorm_backward(dout, cache)
    for a in (out, new_mean, new_var, dx, dgamma, dbeta):
        assert a.dtype == np.float32


@pytest.mark.parametrize(
    "change,exc,match",
    [
        (dict(gamma=np.ones(4)), ValueError, r"gamma must have shape \(3,\).*x.shape\[1\] = 3.*got gamma with shape \(4,\)"),
        (dict(beta=np.ones((3, 1))), ValueError, r"beta must have shape \(3,\)"),
        (dict(running_mean=np.zeros(5)), ValueError, r"running_mean must have shape \(3,\)"),
        (dict(running_var=np.ones(2)), ValueError, r"running_var must have shape \(3,\)"),
        (dict(x=np.ones((4, 3), dtype=np.int64)), TypeError, "x must be a floating-point array"),
        (dict(x=np.ones(3)), ValueError, r"at least 2 dims.*\(3,\)"),
        (dict(training="train"), TypeError, "training must be True or False"),
        (dict(momentum=1.5), ValueError, "momentum must be in"),
        (dict(eps=-1e-5), ValueError, "eps must be in"),
    ],
)
def test_batchnorm_bad_arguments(change, exc, match):
    args = dict(
        x=np.ones((4, 3)), gamma=np.ones(3), beta=np.zeros(3), running_mean=np.zeros(3),
        running_var=np.ones(3), training=True,
    )
    args.update(change)
    with pytest.raises(exc, match=match):
        N.batchnorm_forward(**args)


def test_batchnorm_backward_rejects_wrong_dout_shape():
    _, cache, _, _ = N.batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    with pytest.raises(ValueError, match=r"dout must have the same shape as x.*\(4, 3\).*\(4, 1\)"):
        N.batchnorm_backward(np.ones((4, 1)), cache)


# ---------------------------------------------------------------------------
# layer norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,normalized_shape",
    [((4, 5), (5,)), ((1, 5), (5,)), ((3, 7, 6), (6,)), ((3, 4, 6), (4, 6)), ((2, 1, 3, 5), (3, 5)), ((6,), (6,))],
)
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layernorm_matches_torch(shape, normalized_shape, eps):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    x = 2.0 * rng.standard_normal(shape) + 1.0
    gamma, beta = rng.standard_normal(normalized_shape), rng.standard_normal(normalized_shape)
    dout = rng.standard_normal(shape)
    xt, gt, bt = t64(x, True), t64(gamma, True), t64(beta, True)
    yt = F.layer_norm(xt, normalized_shape, gt, bt, eps)
    yt.backward(t64(dout))

    originals = copies(x, gamma, beta, dout)
    out, cache = N.layernorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta = N.layernorm_backward(dout, cache)

    close(out, yt)
    close(dx, xt.grad)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert dgamma.shape == gamma.shape and dbeta.shape == beta.shape
    assert_unchanged((x, gamma, beta, dout), originals)


@pytest.mark.parametrize(
    "x_shape,gamma_shape,beta_shape,match",
    [
        ((4, 5), (4,), (4,), r"last 1 dims of x: x has shape \(4, 5\) but gamma has shape \(4,\)"),
        ((4, 5), (2, 5), (2, 5), r"last 2 dims of x"),
        ((4, 5), (5,), (4,), r"beta must have the same shape as gamma"),
        ((5,), (1, 5), (1, 5), r"last 2 dims of x"),
    ],
)
def test_layernorm_shape_errors(x_shape, gamma_shape, beta_shape, match):
    with pytest.raises(ValueError, match=match):
        N.layernorm_forward(np.ones(x_shape), np.ones(gamma_shape), np.zeros(beta_shape))


# ---------------------------------------------------------------------------
# group norm and instance norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,num_groups",
    [((2, 6), 3), ((1, 6, 5), 2), ((3, 4, 5), 4), ((2, 8, 3, 3), 1), ((7, 4, 3), 2), ((1, 3, 1), 1), ((1, 4), 2)],
)
def test_groupnorm_matches_torch(shape, num_groups):
    rng = np.random.default_rng(shape[0] * 10 + num_groups)
    x = 2.0 * rng.standard_normal(shape) + 1.0
    channels = shape[1]
    gamma, beta = rng.standard_normal(channels), rng.standard_normal(channels)
    dout = rng.standard_normal(shape)
    xt, gt, bt = t64(x, True), t64(gamma, True), t64(beta, True)
    # F.group_norm refuses N * L == 1 (a batch-norm check, although group statistics never
    # mix samples); torch.group_norm is the same ATen kernel without that check.
    group_norm = torch.group_norm if np.prod(shape) == shape[1] else F.group_norm
    yt = group_norm(xt, num_groups, gt, bt, 1e-5)
    yt.backward(t64(dout))

    originals = copies(x, gamma, beta, dout)
    out, cache = N.groupnorm_forward(x, num_groups, gamma, beta)
    dx, dgamma, dbeta = N.groupnorm_backward(dout, cache)

    close(out, yt)
    close(dx, xt.grad)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert_unchanged((x, gamma, beta, dout), originals)


@pytest.mark.parametrize(
    ("num_groups", "match"),
    [
        (0, "num_groups must be an integer >= 1, got 0"),
        (2.0, "num_groups must be an integer >= 1, got 2.0"),
        (True, "num_groups must be an integer >= 1, got True"),
        (4, r"num_groups must divide the 6 channels of x \(shape \(2, 6, 3\)\), got 4"),
    ],
)
def test_groupnorm_num_groups_must_divide_channels(num_groups, match):
    with pytest.raises(ValueError, match=match):
        N.groupnorm_forward(np.ones((2, 6, 3)), num_groups, np.ones(6), np.zeros(6))


def test_groupnorm_gamma_is_per_channel():
    with pytest.raises(ValueError, match=r"gamma must have shape \(6,\)"):
        N.groupnorm_forward(np.ones((2, 6, 3)), 2, np.ones(3), np.zeros(6))


@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 2, 4, 4), (3, 1, 2)])
@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_instancenorm_matches_torch(shape, eps):
    rng = np.random.default_rng(shape[-1])
    x = 2.0 * rng.standard_normal(shape) - 1.0
    dout = rng.standard_normal(shape)
    xt = t64(x, True)
    yt = F.instance_norm(xt, eps=eps)
    yt.backward(t64(dout))

    originals = copies(x, dout)
    out, cache = N.instancenorm_forward(x, eps)
    out_copy = out.copy()
    out *= 0  # an in-place op on the output must not corrupt the cache
    dx = N.instancenorm_backward(dout, cache)

    close(out_copy, yt)
    close(dx, xt.grad)
    assert_unchanged((x, dout), originals)


def test_instancenorm_needs_more_than_one_spatial_element():
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        F.instance_norm(t64(np.ones((2, 3, 1))))
    with pytest.raises(ValueError, match=r"Expected more than 1 spatial element.*\(2, 3, 1\)"):
        N.instancenorm_forward(np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match=r"at least 3 dims"):
        N.instancenorm_forward(np.ones((2, 3)))
