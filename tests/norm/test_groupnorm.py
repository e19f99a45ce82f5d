"""dlcourse.norm.groupnorm against torch.nn.functional.group_norm and instance_norm (float64)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import norm as N
from norm.helpers import assert_unchanged, close, copies, t64


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
