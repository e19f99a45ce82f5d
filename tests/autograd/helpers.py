"""Shared by the autograd tests: the same computation in dlcourse and in torch (float64)."""

import numpy as np
import torch

from dlcourse.autograd import Tensor

# float64; the same elementary operations as torch, up to reassociation of
# sums (broadcast reductions, matmul) and a few ulps in exp/log/tanh:
# rtol=1e-12, with atol=1e-12 for entries that cancel to ~0.
RTOL, ATOL = 1e-12, 1e-12


def pair(array, requires_grad=True):
    """The same data as a dlcourse Tensor and a float64 torch tensor."""
    array = np.asarray(array, dtype=np.float64)
    return Tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def assert_close(actual, expected):
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def check_against_torch(fn, arrays, torch_fn=None, seed=0):
    """Run fn on Tensors and torch_fn (default fn) on torch tensors; compare output and grads.

    The upstream gradient is random (not ones), so every entry of each
    input gradient is weighted differently.
    """
    ours, theirs = zip(*(pair(a) for a in arrays), strict=True)
    out = fn(*ours)
    out_t = (torch_fn or fn)(*theirs)
    assert out.shape == tuple(out_t.shape)
    assert_close(out.data, out_t)
    upstream = np.random.default_rng(seed).normal(size=out.shape)
    out.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.grad is not None and mine.grad.shape == mine.shape
        assert_close(mine.grad, reference.grad)
    return ours


def rand(shape, seed=0, positive=False):
    values = np.random.default_rng(seed).normal(size=shape)
    return np.abs(values) + 0.5 if positive else values
