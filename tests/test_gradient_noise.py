"""dlcourse.gradient_noise: the spread of minibatch gradients, against enumeration and Monte Carlo.

RTOL = 1e-12: the predicted variance against an exact enumeration of every
batch (the same sums in another order).  VARIANCE_RTOL = 0.05: Monte-Carlo
variance from 20,000 minibatches; its relative standard error is about
sqrt(2 / 20,000) = 1%.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlcourse.gradient_noise import minibatch_gradient_spread

RTOL = 1e-12
VARIANCE_RTOL = 0.05

def test_minibatch_variance_formula_equals_enumeration_over_all_batches():
    grads = np.random.default_rng(0).normal(size=(6, 3))
    full = grads.mean(axis=0)
    predicted = minibatch_gradient_spread(grads, (1, 2, 3, 6), 2, np.random.default_rng(1))["predicted"]
    for b, value in zip((1, 2, 3, 6), predicted, strict=True):
        exact = np.mean([np.sum((grads[list(batch)].mean(axis=0) - full) ** 2)
                         for batch in itertools.combinations(range(6), b)])
        np.testing.assert_allclose(value, exact, rtol=RTOL, atol=1e-15)


def test_minibatch_gradients_are_unbiased_and_their_variance_shrinks_like_one_over_b():
    grads = np.random.default_rng(0).normal(size=(40, 5)) + 3.0
    before = grads.copy()
    spread = minibatch_gradient_spread(grads, (1, 4, 13), 20_000, np.random.default_rng(1))
    np.testing.assert_array_equal(grads, before)
    np.testing.assert_allclose(spread["variance"], spread["predicted"], rtol=VARIANCE_RTOL)
    # the mean of 20,000 batch gradients: about sqrt(variance / 20,000) from the full gradient
    assert np.all(spread["bias"] < 4 * np.sqrt(spread["predicted"] / 20_000))
    full_batch = minibatch_gradient_spread(grads, (40,), 3, np.random.default_rng(1))
    assert full_batch["variance"][0] < 1e-25 and full_batch["predicted"][0] == 0  # the full batch has no noise


def test_minibatch_gradient_spread_names_bad_arguments():
    with pytest.raises(ValueError, match="batch_sizes"):
        minibatch_gradient_spread(np.ones((4, 2)), (5,), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="per_example_grads"):
        minibatch_gradient_spread(np.ones(4), (1,), 3, np.random.default_rng(0))
