"""dlcourse.norm._common: standardizing rows and its backward pass, against torch autograd (float64)."""

import numpy as np
import torch

from dlcourse.norm._common import non_channel_axes, standardize_rows, standardize_rows_backward
from norm.helpers import assert_unchanged, close, copies, t64


def test_standardize_rows_and_backward_match_torch_autograd():
    rng = np.random.default_rng(40)
    x2, dxhat = 2.0 * rng.standard_normal((5, 7)) + 3.0, rng.standard_normal((5, 7))
    eps = 1e-3
    xhat, inv_std = standardize_rows(x2, eps)
    originals = copies(dxhat, xhat, inv_std)
    dx = standardize_rows_backward(dxhat, xhat, inv_std)
    assert_unchanged((dxhat, xhat, inv_std), originals)  # pure: no argument is overwritten

    xt = t64(x2, requires_grad=True)
    mu = xt.mean(dim=1, keepdim=True)
    var = ((xt - mu) ** 2).mean(dim=1, keepdim=True)
    xhat_t = (xt - mu) / torch.sqrt(var + eps)
    xhat_t.backward(t64(dxhat))
    close(xhat, xhat_t)
    close(inv_std, 1 / torch.sqrt(var + eps))
    close(dx, xt.grad)


def test_non_channel_axes():
    assert non_channel_axes(2) == (0,)
    assert non_channel_axes(4) == (0, 2, 3)
