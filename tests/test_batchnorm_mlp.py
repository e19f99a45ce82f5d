"""dlcourse.batchnorm_mlp: the recorded training runs against torch, step by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.batchnorm_mlp import batchnorm_digits_split, train_deep_mlp

# float64, the same operations in a different order, over at most 12 SGD steps through 4 layers:
# rounding accumulates a little per step
RTOL, ATOL = 1e-9, 1e-11


# torch.nn.BatchNorm1d's defaults, which train_deep_mlp uses
MOMENTUM, EPS = 0.1, 1e-5


def torch_mlp(params, depth, batchnorm):
    layers = []
    for layer in range(1, depth + 2):
        W, b = params[f"W{layer}"], params[f"b{layer}"]
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if layer <= depth:
            if batchnorm:
                layers.append(torch.nn.BatchNorm1d(W.shape[1], momentum=MOMENTUM, eps=EPS, dtype=torch.float64))
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def assert_same_sgd_run(run, model, X_train, y_train, lr, before_each_step=lambda: None):
    """torch's SGD on ``model`` over the run's batches: the same loss at every step and the same final weights."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for batch in run.batch_indices:
        before_each_step()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X_train[batch]), y_train[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    np.testing.assert_allclose(run.loss, losses, rtol=RTOL, atol=ATOL)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, linear in enumerate(linears, start=1):
        np.testing.assert_allclose(run.final_params[f"W{layer}"], linear.weight.detach().numpy().T,
                                   rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("batch_size", [2, 8])
def test_training_run_matches_torch_step_by_step(batchnorm, batch_size):
    depth, width, steps, lr = 3, 7, 12, 0.3
    run = train_deep_mlp(lr, batch_size, batchnorm, steps=steps, record_every=4, depth=depth, width=width, seed=3)
    X_train, y_train, X_val, y_val = (torch.from_numpy(a.copy()) for a in batchnorm_digits_split()[:4])
    model = torch_mlp(run.initial_params, depth, batchnorm)
    assert_same_sgd_run(run, model, X_train, y_train, lr)
    model.eval()
    with torch.no_grad():
        accuracy = (model(X_val).argmax(1) == y_val).double().mean().item()
    assert run.val_accuracy[-1] == accuracy
    if batchnorm:
        norms = [m for m in model if isinstance(m, torch.nn.BatchNorm1d)]
        for layer, norm in enumerate(norms):
            np.testing.assert_allclose(run.running_mean[-1, layer], norm.running_mean.numpy(), rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(run.running_var[-1, layer], norm.running_var.numpy(), rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(run.final_params[f"gamma{layer + 1}"], norm.weight.detach().numpy(),
                                       rtol=RTOL, atol=ATOL)
        # forgetting model.eval(): validation batches normalized with their own statistics
        model.train()
        with torch.no_grad():
            predictions = torch.cat([model(xb).argmax(1) for xb in X_val.split(batch_size)])
        assert run.val_accuracy_batch_stats[-1] == (predictions == y_val).double().mean().item()
    else:
        assert np.isnan(run.running_mean).all() and np.isnan(run.val_accuracy_batch_stats).all()


class _Noise(torch.nn.Module):
    """scale * a + shift per unit, with the scale and shift set from outside before each step."""

    def forward(self, a):
        return self.scale * a + self.shift


def test_noise_after_batchnorm_matches_torch_step_by_step():
    depth, width, steps, lr, batch_size, noise, seed = 3, 7, 10, 0.3, 8, 0.8, 4
    run = train_deep_mlp(lr, batch_size, True, steps=steps, record_every=5, depth=depth, width=width, seed=seed,
                         noise=noise)
    X_train, y_train = (torch.from_numpy(a.copy()) for a in batchnorm_digits_split()[:2])
    layers = list(torch_mlp(run.initial_params, depth, True))
    noises = [_Noise() for _ in range(depth)]
    for position, module in reversed(list(enumerate(layers))):
        if isinstance(module, torch.nn.BatchNorm1d):
            layers.insert(position + 1, noises.pop())
    model = torch.nn.Sequential(*layers)
    noises = [m for m in model if isinstance(m, _Noise)]
    draws = np.random.default_rng([seed, 1])  # the documented stream: one draw before every update

    def draw_noise():
        for module in noises:
            module.scale = torch.from_numpy(draws.uniform(1 - noise / 2, 1 + noise / 2, width))
            module.shift = torch.from_numpy(draws.uniform(-noise, noise, width))

    assert_same_sgd_run(run, model, X_train, y_train, lr, before_each_step=draw_noise)
    # the same weights and batches as without noise; evaluation ignores the noise
    quiet = train_deep_mlp(lr, batch_size, True, steps=steps, record_every=5, depth=depth, width=width, seed=seed)
    np.testing.assert_array_equal(quiet.batch_indices, run.batch_indices)
    assert not np.allclose(quiet.loss, run.loss)


def test_noise_needs_batchnorm_and_a_size_in_0_1():
    with pytest.raises(ValueError, match="batchnorm=True"):
        train_deep_mlp(0.1, 8, False, steps=2, noise=0.5)
    with pytest.raises(ValueError, match="noise"):
        train_deep_mlp(0.1, 8, True, steps=2, noise=1.5)


def test_running_statistics_are_torch_ema_of_the_recorded_batch_statistics():
    batch_size = 8
    run = train_deep_mlp(0.3, batch_size, True, steps=20, record_every=5, depth=2, width=5)
    # torch: new = (1 - momentum) * old + momentum * batch statistic, the variance unbiased (m / (m - 1))
    np.testing.assert_allclose(run.running_mean[1:], (1 - MOMENTUM) * run.running_mean[:-1] + MOMENTUM * run.batch_mean,
                               rtol=1e-12, atol=1e-14)
    unbiased = run.batch_var * batch_size / (batch_size - 1)
    np.testing.assert_allclose(run.running_var[1:], (1 - MOMENTUM) * run.running_var[:-1] + MOMENTUM * unbiased,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(run.running_mean[0], 0.0)
    np.testing.assert_array_equal(run.running_var[0], 1.0)


def test_probe_statistics_are_those_of_the_first_256_training_examples():
    run = train_deep_mlp(0.1, 8, False, steps=3, record_every=3, depth=2, width=4)
    X_train = batchnorm_digits_split()[:4][0]
    z1 = X_train[:256] @ run.final_params["W1"] + run.final_params["b1"]
    np.testing.assert_allclose(run.probe_mean[-1, 0], z1.mean(0), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(run.probe_var[-1, 0], z1.var(0), rtol=1e-12, atol=1e-13)
    h1 = np.maximum(z1, 0)
    np.testing.assert_allclose(run.unit_std[-1, 0], h1.std(0), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(run.checkpoints, [0, 3])


def test_same_initial_weights_with_and_without_batchnorm_and_inputs_not_modified():
    before = [a.copy() for a in batchnorm_digits_split()[:4]]
    plain = train_deep_mlp(0.1, 8, False, steps=2, record_every=1, depth=2, width=4)
    normed = train_deep_mlp(0.1, 8, True, steps=2, record_every=1, depth=2, width=4)
    for key, value in plain.initial_params.items():
        np.testing.assert_array_equal(normed.initial_params[key], value)
    np.testing.assert_array_equal(plain.batch_indices, normed.batch_indices)
    for a, b in zip(before, batchnorm_digits_split()[:4], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_run_stops_with_nan_and_no_warning():
    run = train_deep_mlp(3.0, 2, False, steps=30, record_every=5)  # overflows after a few steps
    assert np.isnan(run.loss).any()
    first_nan = int(np.argmax(np.isnan(run.loss)))
    assert np.isnan(run.loss[first_nan:]).all() and np.isfinite(run.loss[:first_nan]).all()
    assert np.isnan(run.val_accuracy[first_nan // 5 + 1:]).all()


def test_small_batches_hurt_batchnorm():
    """Batch size 2 normalizes every feature to about +-1: the net barely learns (the lecture's claim)."""
    small = train_deep_mlp(0.3, 2, True, steps=100, record_every=100, depth=3, width=16)
    large = train_deep_mlp(0.3, 64, True, steps=100, record_every=100, depth=3, width=16)
    assert large.val_accuracy[-1] > small.val_accuracy[-1] + 0.3


@pytest.mark.parametrize(
    "kwargs, match",
    [({"batch_size": 1}, "batch_size"), ({"batch_size": 3}, "batch_size"), ({"lr": 0.0}, "lr"),
     ({"steps": 0}, "steps")],
)
def test_train_deep_mlp_rejects_bad_input(kwargs, match):
    args = {"lr": 0.1, "batch_size": 8, "batchnorm": True, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_deep_mlp(args.pop("lr"), args.pop("batch_size"), args.pop("batchnorm"), **args)
