"""Shared by the normalization tests (dlcourse.norm against torch, float64).

Tolerances
----------
RTOL = 1e-10, ATOL = 1e-12 for every comparison with torch: float64 with data of
order 1-10, but a different summation order (numpy pairwise sums vs
torch's vectorized and Welford-style reductions), and the backward passes
subtract nearly equal terms (m * dout - sum(dout) - xhat * sum(dout * xhat)),
so errors are relative to the largest term, not to the result (measured: all
differences <= 2e-14).  Running statistics after several steps use the same
tolerance: each step is one affine update, no error growth beyond a few ulps.
"""

import numpy as np
import torch

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
    for a, o in zip(arrays, originals, strict=True):
        np.testing.assert_array_equal(a, o)
