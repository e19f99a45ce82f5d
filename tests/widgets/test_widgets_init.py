"""dlcourse.widgets.init: the depth experiment against torch.autograd, and the variance argument.

Tolerances
----------
TORCH_RTOL = 1e-10, TORCH_ATOL = 1e-300: float64, the same matrix products in
another summation order (numpy's BLAS vs torch's), compounded over at most 7
layers; the statistics are means of squares of those products.  atol only
lets exact zeros (zeros/constant init) compare equal to tiny rounding noise.
VARIANCE_RTOL = 0.1: a statistical check of Var[h^l] = (width s^2)^l with
width 128: the mean square of 32,768 entries fluctuates by about
sqrt(2 / width) = 12% / sqrt(width) ~ 1% per layer, so 10% over 5 layers is
about 5 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.widgets.init import (
    DEPTH_ACTIVATIONS,
    INITIALIZERS,
    describe_layer_statistics,
    init_depth_explorer,
    layer_statistics,
)

TORCH_RTOL, TORCH_ATOL = 1e-10, 1e-300
VARIANCE_RTOL = 0.1

TORCH_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


def torch_statistics(initializer, activation, depth, width, batch, seed):
    """The documented experiment in torch: same draws (input, weights layer by layer, upstream), autograd."""
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((batch, width)), dtype=torch.float64)
    weights = [torch.tensor(INITIALIZERS[initializer][1]((width, width), rng), dtype=torch.float64,
                            requires_grad=True) for _ in range(depth)]
    upstream = torch.tensor(rng.standard_normal((batch, width)), dtype=torch.float64)
    h, activations, pre_activations = x, [], []
    for W in weights:
        z = h @ W
        z.retain_grad()
        h = TORCH_ACTIVATIONS[activation](z)
        pre_activations.append(z)
        activations.append(h)
    (h * upstream).sum().backward()  # dL/dh^depth = upstream
    return {
        "activation_std": np.array([a.detach().std(unbiased=False).item() for a in activations]),
        "gradient_std": np.array([z.grad.std(unbiased=False).item() for z in pre_activations]),
        "weight_gradient_rms": np.array([W.grad.square().mean().sqrt().item() for W in weights]),
    }


@pytest.mark.parametrize("activation", sorted(DEPTH_ACTIVATIONS))
@pytest.mark.parametrize("initializer", sorted(INITIALIZERS))
@pytest.mark.parametrize("depth,width,batch", [(1, 3, 1), (7, 16, 5)])
def test_statistics_match_torch_autograd(initializer, activation, depth, width, batch):
    ours = layer_statistics(initializer, activation, depth, width=width, batch=batch, seed=3)
    expected = torch_statistics(initializer, activation, depth, width, batch, seed=3)
    for key, values in expected.items():
        np.testing.assert_allclose(getattr(ours, key), values, rtol=TORCH_RTOL, atol=TORCH_ATOL, err_msg=key)


@pytest.mark.parametrize("initializer,weight_variance", [
    ("normal", 0.01**2), ("xavier_normal", 2 / (128 + 128)), ("he_normal", 2 / 128),
    ("torch_linear_default", 1 / (3 * 128)),  # U(-b, b) with b = 1/sqrt(fan_in) has variance b^2 / 3
])
def test_linear_stack_scales_the_variance_by_width_times_weight_variance(initializer, weight_variance):
    # h^l = x W^1 ... W^l with Var[x] = 1: Var[h^l] = (width Var[w])^l (Glorot & Bengio 2010, eq. 5).
    stats = layer_statistics(initializer, "linear", 5, width=128, batch=256, seed=0)
    predicted = (128 * weight_variance) ** np.arange(1, 6)
    np.testing.assert_allclose(stats.activation_std**2, predicted, rtol=VARIANCE_RTOL)


def test_he_keeps_relu_and_xavier_keeps_linear_signals_steady():
    for initializer, activation in (("he_normal", "relu"), ("xavier_normal", "linear")):
        stds = layer_statistics(initializer, activation, 20).activation_std
        assert 0.5 < stds[-1] / stds[0] < 2, (initializer, activation, stds)
    shrinking = layer_statistics("normal", "tanh", 20).activation_std
    assert shrinking[-1] < 1e-15 * shrinking[0]  # factor sqrt(128) * 0.01 = 0.11 per layer


def test_zero_init_has_zero_activations_and_zero_weight_gradients():
    stats = layer_statistics("zeros", "tanh", 6)
    assert not stats.activation_std.any() and not stats.weight_gradient_rms.any()
    assert stats.units_identical.all()


@pytest.mark.parametrize("activation", sorted(DEPTH_ACTIVATIONS))
def test_constant_init_makes_every_unit_identical_and_random_init_does_not(activation):
    assert layer_statistics("constant", activation, 6).units_identical.all()
    assert not layer_statistics("xavier_uniform", activation, 6).units_identical.any()


def test_histograms_cover_every_value_and_the_chosen_layers():
    stats = layer_statistics("he_normal", "relu", 13)
    assert stats.histogram_layers == (1, 5, 9, 13)
    assert stats.histograms.shape == (4, len(stats.bin_edges) - 1)
    np.testing.assert_allclose(stats.histograms.sum(axis=1), 1.0, rtol=1e-12)  # clipped into range, none lost
    assert layer_statistics("he_normal", "relu", 2).histogram_layers == (1, 2)


def test_cached_results_are_read_only():
    stats = layer_statistics("xavier_normal", "tanh", 4)
    assert layer_statistics("xavier_normal", "tanh", 4) is stats
    with pytest.raises(ValueError, match="read-only"):
        stats.activation_std[0] = 0.0


@pytest.mark.parametrize("kwargs,match", [
    ({"initializer": "glorot"}, "initializer"),
    ({"activation": "sigmoid"}, "activation"),
    ({"depth": 0}, "depth"),
    ({"depth": 51}, "depth"),
    ({"width": 0}, "width"),
])
def test_bad_arguments_are_named(kwargs, match):
    arguments = {"initializer": "normal", "activation": "tanh", "depth": 3} | kwargs
    with pytest.raises(ValueError, match=match):
        layer_statistics(**arguments)


def test_builder_takes_initial_values():
    explorer = init_depth_explorer(initializer="he_normal", activation="relu", depth=4)
    assert explorer.values() == {"initializer": "he_normal", "activation": "relu", "depth": 4}
    assert explorer.data.histogram_layers == (1, 2, 3, 4)


def test_the_text_states_the_spread_at_the_first_and_last_layer():
    stats = layer_statistics("zeros", "tanh", 5)
    text = describe_layer_statistics(stats, "zeros", "tanh", 5)
    assert "goes from 0 at layer 1 to 0 at layer 5" in text and "training cannot start" in text
