"""The normalization widgets' compute functions: the training view's checkpoints, the axes against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.batchnorm_mlp import train_deep_mlp
from dlcourse.widgets.normalization import (
    BATCH_SIZES,
    LEARNING_RATES,
    NORMS,
    batchnorm_training_view,
    describe_batchnorm_training,
    describe_normalization_sets,
    normalization_sets,
)

# torch.nn.BatchNorm1d's default eps
MOMENTUM, EPS = 0.1, 1e-5


def test_view_picks_the_checkpoint_at_or_before_the_step(monkeypatch):
    fake = train_deep_mlp(0.1, 8, True, steps=20, record_every=10, depth=2, width=3)
    import dlcourse.widgets.normalization as module

    monkeypatch.setattr(module, "batchnorm_runs", lambda lr, batch_size: {"plain": fake, "batch norm": fake})
    assert batchnorm_training_view(LEARNING_RATES[0], BATCH_SIZES[0], 15, 2)["k"] == 1
    assert batchnorm_training_view(LEARNING_RATES[0], BATCH_SIZES[0], 20, 2)["k"] == 2
    assert batchnorm_training_view(LEARNING_RATES[0], BATCH_SIZES[0], 999, 2)["step"] == 20
    with pytest.raises(ValueError, match="lr"):
        batchnorm_training_view(0.123, BATCH_SIZES[0], 0, 1)


def torch_norm(name, x, num_groups):
    c = x.shape[1]
    if name == "batch norm":
        return torch.nn.functional.batch_norm(x, None, None, training=True, eps=EPS)
    if name == "layer norm":
        return torch.nn.functional.layer_norm(x, x.shape[1:], eps=EPS)
    if name == "instance norm":
        return torch.nn.InstanceNorm1d(c, eps=EPS)(x)
    return torch.nn.functional.group_norm(x, num_groups, eps=EPS)


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("num_groups, sample, channel", [(1, 0, 0), (2, 1, 3), (3, 2, 5), (6, 3, 2)])
def test_sets_are_exactly_the_inputs_an_output_depends_on(name, num_groups, sample, channel):
    """Under torch autograd, output (sample, channel, 0) depends on x exactly on the returned set."""
    shape = (4, 6, 5)
    sets = normalization_sets(shape, num_groups, sample, channel)
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    torch_norm(name, x, num_groups)[sample, channel, 0].backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, sets[name]["mask"])


@pytest.mark.parametrize("num_groups", [1, 2, 3, 6])
def test_set_sizes_and_normalized_statistics(num_groups):
    n, c, length = 4, 6, 5
    sets = normalization_sets((n, c, length), num_groups, 1, 2)
    expected = {"batch norm": n * length, "layer norm": c * length, "instance norm": length,
                "group norm": c // num_groups * length}
    for name in NORMS:
        assert sets[name]["count"] == expected[name]
        # normalized over exactly this set: mean 0, std sqrt(var / (var + eps)) = 1 up to eps / (2 var)
        assert abs(sets[name]["mean"]) < 1e-12
        assert sets[name]["std"] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("args, match", [(((4, 6, 5), 4, 0, 0), "num_groups"), (((4, 6, 5), 2, 4, 0), "sample"),
                                         (((4, 6, 1), 2, 0, 0), "shape")])
def test_normalization_sets_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        normalization_sets(*args)


def test_the_texts_state_the_counts_and_the_statistics(monkeypatch):
    sets = normalization_sets((4, 6, 5), 2, 1, 2)
    text = describe_normalization_sets(sets, 2, 1, 2)
    assert "batch norm, over N, L per channel: 20 values" in text and "group norm (G = 2)" in text
    fake = train_deep_mlp(0.1, 8, True, steps=20, record_every=10, depth=2, width=3)
    import dlcourse.widgets.normalization as module

    monkeypatch.setattr(module, "batchnorm_runs", lambda lr, batch_size: {"plain": fake, "batch norm": fake})
    view = batchnorm_training_view(LEARNING_RATES[0], BATCH_SIZES[0], 20, 2)
    text = describe_batchnorm_training(view, LEARNING_RATES[0], BATCH_SIZES[0])
    assert f"plain {fake.val_accuracy[2]:.0%}" in text and "at update 20" in text
    assert f"{fake.running_mean[20, 1, 0]:.3g} running" in text
