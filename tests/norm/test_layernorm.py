"""dlcourse.norm.layernorm against torch.nn.functional.layer_norm (float64)."""

import numpy as np
import pytest
import torch.nn.functional as F

from dlcourse import norm as N
from norm.helpers import assert_unchanged, close, copies, t64


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
