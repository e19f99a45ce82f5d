"""dlcourse.batchnorm_why: the shift measure by hand, frozen statistics against torch, and the lecture's claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.batchnorm_mlp import BatchNormMLP, MLPRun, batchnorm_digits_split, batchnorm_runs, train_deep_mlp
from dlcourse.batchnorm_why import (
    FrozenStatistics,
    distribution_shift,
    finetune_frozen_batchnorm,
    noise_injection_runs,
)
from dlcourse.optim import Optimizer
from dlcourse.training import fit

# float64, a few SGD steps through 2 layers, the same operations in another order
RTOL, ATOL = 1e-10, 1e-12


def fake_run(batch_mean, batch_var):
    empty = np.zeros(0)
    return MLPRun(empty, empty, empty, empty, empty, empty, empty, empty, batch_mean, batch_var, empty, empty,
                  empty, {}, {})


def test_distribution_shift_is_the_rms_change_of_the_batch_mean_in_batch_stds():
    rng = np.random.default_rng(0)
    mean, var = rng.normal(size=(5, 3, 4)), rng.uniform(0.5, 2.0, size=(5, 3, 4))
    expected = [np.sqrt(np.mean([((mean[t, layer, u] - mean[t - 1, layer, u]) / np.sqrt(var[t, layer, u])) ** 2
                                 for t in range(1, 5) for u in range(4)])) for layer in (1, 2)]
    np.testing.assert_allclose(distribution_shift(fake_run(mean, var)), expected, rtol=1e-13)


def test_distribution_shift_skips_the_updates_after_a_divergence():
    mean, var = np.zeros((4, 2, 1)), np.ones((4, 2, 1))
    mean[1, 1], mean[3, 1] = 2.0, np.nan
    np.testing.assert_allclose(distribution_shift(fake_run(mean, var)), [np.sqrt(8 / 2)])


def test_distribution_shift_rejects_bad_input():
    with pytest.raises(TypeError, match="MLPRun"):
        distribution_shift({"batch_mean": np.zeros((3, 2, 2))})
    with pytest.raises(ValueError, match="at least 2 updates"):
        distribution_shift(fake_run(np.zeros((1, 3, 2)), np.ones((1, 3, 2))))
    with pytest.raises(ValueError, match="depth >= 2"):
        distribution_shift(fake_run(np.zeros((4, 1, 2)), np.ones((4, 1, 2))))


def test_frozen_statistics_train_like_torch_batchnorm_in_eval_mode():
    rng = np.random.default_rng(3)
    model = BatchNormMLP(2, 5, rng=rng, sizes=(6, 3))
    model.running = [(rng.normal(size=5), rng.uniform(0.5, 2.0, 5)) for _ in range(2)]
    for name in ("gamma1", "beta1", "gamma2", "beta2"):
        model.params[name] = rng.normal(size=5)
    X, y = rng.normal(size=(10, 6)), rng.integers(0, 3, 10)
    batches = [np.array([0, 1]), np.array([2, 3, 4]), np.array([5, 6])]

    layers = []
    for layer in (1, 2, 3):
        W, b = model.params[f"W{layer}"], model.params[f"b{layer}"]
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if layer < 3:
            norm = torch.nn.BatchNorm1d(5, dtype=torch.float64)
            with torch.no_grad():
                norm.weight.copy_(torch.from_numpy(model.params[f"gamma{layer}"]))
                norm.bias.copy_(torch.from_numpy(model.params[f"beta{layer}"]))
                norm.running_mean.copy_(torch.from_numpy(model.running[layer - 1][0]))
                norm.running_var.copy_(torch.from_numpy(model.running[layer - 1][1]))
            layers += [norm, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers).train()
    for module in net:
        if isinstance(module, torch.nn.BatchNorm1d):
            module.eval()  # frozen statistics while the rest trains
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
    for rows in batches:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.from_numpy(X[rows])), torch.from_numpy(y[rows])).backward()
        optimizer.step()

    running_before = [(m.copy(), v.copy()) for m, v in model.running]
    fit(FrozenStatistics(model), Optimizer(model.params, "sgd", lr=0.2).step, X, y, epochs=1, batches=batches,
        progress=False)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    norms = [m for m in net if isinstance(m, torch.nn.BatchNorm1d)]
    for layer, linear in enumerate(linears, start=1):
        np.testing.assert_allclose(model.params[f"W{layer}"], linear.weight.detach().numpy().T, rtol=RTOL, atol=ATOL)
    for layer, norm in enumerate(norms, start=1):
        np.testing.assert_allclose(model.params[f"gamma{layer}"], norm.weight.detach().numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(model.params[f"beta{layer}"], norm.bias.detach().numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(model.running[layer - 1][0], running_before[layer - 1][0])
        np.testing.assert_array_equal(norm.running_var.numpy(), running_before[layer - 1][1])


def test_finetuning_data_go_through_the_source_standardization():
    # contrast 1 is the source task itself: "before" is the pretrained run's last validation accuracy
    result = finetune_frozen_batchnorm(contrast=1.0, per_class=1, batch_sizes=(2,), epochs=1)
    assert result["before"] == batchnorm_runs(0.3, 64)["batch norm"].val_accuracy[-1]
    assert batchnorm_digits_split().X_val.shape == (256, 64)


def test_small_batches_in_train_mode_hurt_and_frozen_statistics_do_not():
    """The lecture's claim, at the lecture's settings."""
    result = finetune_frozen_batchnorm()
    small, large = result["after"][2], result["after"][20]
    assert small["frozen statistics"] > result["before"] > small["train mode"] + 0.3
    assert large["train mode"] > result["before"]


def test_noise_after_batchnorm_shifts_the_inputs_and_still_trains():
    """Santurkar et al.'s observation, the lecture's claim: at lr 1.0 the plain net fails, both batch-norm nets train,
    and the noisy one's inputs move as much as the plain net's."""
    runs = noise_injection_runs()
    shift = {name: distribution_shift(run).mean() for name, run in runs.items()}
    accuracy = {name: run.val_accuracy[-1] for name, run in runs.items()}
    assert shift["batch norm + noise"] > 5 * shift["batch norm"]
    assert shift["batch norm + noise"] > 0.5 * shift["plain"]
    assert accuracy["batch norm + noise"] > 0.85 and accuracy["batch norm"] > 0.85 and accuracy["plain"] < 0.5
    assert runs["batch norm"] is batchnorm_runs(1.0, 64)["batch norm"]
    np.testing.assert_array_equal(runs["batch norm + noise"].initial_params["W1"], runs["plain"].initial_params["W1"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"contrast": 0.0}, ValueError, "contrast"), ({"per_class": 0}, ValueError, "per_class"),
     ({"batch_sizes": (1,)}, ValueError, "batch_sizes"), ({"lr": -1.0}, ValueError, "lr"),
     ({"epochs": 1.5}, ValueError, "epochs")],
)
def test_finetune_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        finetune_frozen_batchnorm(**kwargs)


def test_noise_run_is_train_deep_mlp_with_noise():
    noisy = noise_injection_runs(0.3, 64, 0.5)["batch norm + noise"]
    np.testing.assert_array_equal(noisy.loss, train_deep_mlp(0.3, 64, True, noise=0.5).loss)
