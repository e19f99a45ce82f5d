"""dlcourse.norm.rmsnorm against torch.nn.functional.rms_norm (float64), eps convention included."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import norm as N
from norm.helpers import assert_unchanged, close, copies, t64


@pytest.mark.parametrize(
    "shape,normalized_shape",
    [((4, 5), (5,)), ((1, 5), (5,)), ((3, 7, 6), (6,)), ((3, 4, 6), (4, 6)), ((2, 1, 3, 5), (3, 5)), ((6,), (6,))],
)
@pytest.mark.parametrize("eps", [1e-6, 0.1, 0.0])
def test_rmsnorm_matches_torch(shape, normalized_shape, eps):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    x = 2.0 * rng.standard_normal(shape) + 1.0
    gamma, dout = rng.standard_normal(normalized_shape), rng.standard_normal(shape)
    xt, gt = t64(x, True), t64(gamma, True)
    yt = F.rms_norm(xt, normalized_shape, gt, eps)
    yt.backward(t64(dout))

    originals = copies(x, gamma, dout)
    out, cache = N.rmsnorm_forward(x, gamma, eps)
    dx, dgamma = N.rmsnorm_backward(dout, cache)

    close(out, yt)
    close(dx, xt.grad)
    close(dgamma, gt.grad)
    assert dgamma.shape == gamma.shape
    assert_unchanged((x, gamma, dout), originals)


def test_eps_goes_inside_the_mean_of_squares_as_in_torch():
    # a row of tiny values: there eps decides the output, and where it is added matters
    x = np.array([[1e-3, -2e-3, 3e-3]])
    eps = 1e-5
    ours, _ = N.rmsnorm_forward(x, np.ones(3), eps)
    close(ours, F.rms_norm(t64(x), (3,), None, eps))
    outside = x / (np.sqrt((x**2).mean()) + eps)  # the authors' reference code: eps added to the RMS
    assert np.abs(ours - outside).max() > 0.1
    # torch's default eps=None is the dtype's machine epsilon; ours is explicit
    close(N.rmsnorm_forward(x, np.ones(3), torch.finfo(torch.float64).eps)[0], F.rms_norm(t64(x), (3,)))


def test_rmsnorm_is_layernorm_without_beta_on_zero_mean_rows():
    x = np.random.default_rng(0).standard_normal((4, 6))
    x -= x.mean(axis=1, keepdims=True)
    gamma = np.linspace(0.5, 2.0, 6)
    rms, _ = N.rmsnorm_forward(x, gamma, 1e-5)
    layer, _ = N.layernorm_forward(x, gamma, np.zeros(6), 1e-5)
    close(rms, layer)


@pytest.mark.parametrize(
    "x_shape,gamma_shape,match",
    [
        ((4, 5), (4,), r"last 1 dims of x: x has shape \(4, 5\) but gamma has shape \(4,\)"),
        ((4, 5), (2, 5), r"last 2 dims of x"),
        ((5,), (1, 5), r"last 2 dims of x"),
    ],
)
def test_rmsnorm_shape_errors(x_shape, gamma_shape, match):
    with pytest.raises(ValueError, match=match):
        N.rmsnorm_forward(np.ones(x_shape), np.ones(gamma_shape))


def test_rmsnorm_rejects_bad_arguments():
    with pytest.raises(ValueError, match="eps"):
        N.rmsnorm_forward(np.ones((2, 3)), np.ones(3), eps=-1.0)
    with pytest.raises(TypeError, match="x"):
        N.rmsnorm_forward(np.ones((2, 3), dtype=int), np.ones(3))
    _, cache = N.rmsnorm_forward(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="dout"):
        N.rmsnorm_backward(np.ones((2, 4)), cache)
