"""dlcourse.stacked: many MLPs trained as one stacked array, each run against torch.nn + torch.optim.

TRAIN_RTOL = 1e-9, TRAIN_ATOL = 1e-12: float64 training of a small MLP for 2
epochs against torch (see tests/test_training.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from torch_mlp import torch_mlp, torch_train

from dlcourse.layers import MLP
from dlcourse.stacked import STACKABLE_OPTIMIZERS, stack_params, train_stacked
from dlcourse.training import standardized_digits_split

TRAIN_RTOL, TRAIN_ATOL = 1e-9, 1e-12

@pytest.fixture(scope="module")
def small_digits():
    data = standardized_digits_split()
    return np.array(data.X_train[:150]), np.array(data.y_train[:150])


@pytest.mark.parametrize("optimizer", STACKABLE_OPTIMIZERS)
def test_train_stacked_matches_torch_per_learning_rate(optimizer, small_digits):
    X, y = small_digits
    lrs = np.array([1e-3, 3e-2])
    models = [MLP([64, 8, 10], rng=np.random.default_rng(seed)) for seed in (1, 2)]
    params = stack_params(models)
    before = [p.copy() for p in params]
    _, losses = train_stacked(params, X, y, lrs=lrs, epochs=2, rng=np.random.default_rng(5), optimizer=optimizer,
                              batch_size=64)
    for p, q in zip(params, before, strict=True):  # inputs untouched
        np.testing.assert_array_equal(p, q)
    for run, (model, lr) in enumerate(zip(models, lrs, strict=True)):
        expected = torch_train(torch_mlp(model.params), X, y, optimizer, lr, epochs=2, batch_size=64, seed=5)
        np.testing.assert_allclose(losses[run], expected, rtol=TRAIN_RTOL, atol=TRAIN_ATOL)


def test_train_stacked_marks_diverged_runs_nan_without_warnings(small_digits):
    X, y = small_digits
    params = stack_params([MLP([64, 8, 10], rng=np.random.default_rng(0))] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, losses = train_stacked(params, X, y, lrs=[1e-2, 1e30], epochs=3, rng=np.random.default_rng(0),
                                  optimizer="sgd")
    assert np.isfinite(losses[0]).all()
    assert np.isnan(losses[1, -1]) and losses[1, 0] == losses[0, 0]
