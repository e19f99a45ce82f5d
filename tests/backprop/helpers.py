"""Shared by the backprop tests: tolerances and input samplers."""

import numpy as np
import torch

# float64, the same elementary operations as torch up to reassociation and a
# few ulps in exp/sin/cos: rtol=1e-12 (atol for entries that are ~0).
RTOL, ATOL = 1e-12, 1e-14
# Central differences, h = 1e-5, float64, O(1) inputs: see tests/test_gradcheck.py.
NUMERICAL_REL_TOL = 1e-7


def as_torch(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def positive(rng, shape):
    return np.abs(rng.normal(size=shape)) + 0.5


def normal(rng, shape):
    return rng.normal(size=shape)
