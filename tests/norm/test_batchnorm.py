"""dlcourse.norm.batchnorm against torch.nn.BatchNorm1d/2d (float64)."""

import numpy as np
import pytest
import torch

from dlcourse import norm as N
from norm.helpers import assert_unchanged, close, copies, t64

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
    out, cache, new_mean, new_var = N.batchnorm_forward(
        x, gamma, beta, running_mean, running_var, training, momentum, eps
    )
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
        ({"gamma": np.ones(4)}, ValueError,
         r"gamma must have shape \(3,\).*x.shape\[1\] = 3.*got gamma with shape \(4,\)"),
        ({"beta": np.ones((3, 1))}, ValueError, r"beta must have shape \(3,\)"),
        ({"running_mean": np.zeros(5)}, ValueError, r"running_mean must have shape \(3,\)"),
        ({"running_var": np.ones(2)}, ValueError, r"running_var must have shape \(3,\)"),
        ({"x": np.ones((4, 3), dtype=np.int64)}, TypeError, "x must be a floating-point array"),
        ({"x": np.ones(3)}, ValueError, r"at least 2 dims.*\(3,\)"),
        ({"training": "train"}, TypeError, "training must be True or False"),
        ({"momentum": 1.5}, ValueError, "momentum must be in"),
        ({"eps": -1e-5}, ValueError, "eps must be in"),
    ],
)
def test_batchnorm_bad_arguments(change, exc, match):
    args = {
        "x": np.ones((4, 3)), "gamma": np.ones(3), "beta": np.zeros(3), "running_mean": np.zeros(3),
        "running_var": np.ones(3), "training": True,
    }
    args.update(change)
    with pytest.raises(exc, match=match):
        N.batchnorm_forward(**args)


def test_batchnorm_backward_rejects_wrong_dout_shape():
    _, cache, _, _ = N.batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    with pytest.raises(ValueError, match=r"dout must have the same shape as x.*\(4, 3\).*\(4, 1\)"):
        N.batchnorm_backward(np.ones((4, 1)), cache)
