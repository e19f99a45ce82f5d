"""Lecture 10's experiments: dlcourse.landscape, dlcourse.memorization and dlcourse.lottery.

LOSS_RTOL = 1e-12: one forward pass and cross-entropy vs torch in float64.
GRAD_RTOL = 1e-10: a gradient norm (one backward pass, summed squares, a square root) vs torch autograd.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data import spirals
from dlcourse.landscape import final_loss_spread, loss_along_line, permute_hidden_units, random_direction
from dlcourse.layers import MLP
from dlcourse.lottery import (
    iterative_magnitude_pruning,
    lottery_ticket,
    magnitude_masks,
    prune_accuracy,
    prune_surviving,
)
from dlcourse.memorization import memorization, shuffle_labels
from dlcourse.stacked import stack_params, train_stacked
from dlcourse.training import accuracy, standardized_digits_split

LOSS_RTOL = 1e-12
GRAD_RTOL = 1e-10

def torch_loss(params, X, y):
    h = X
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        h = h @ torch.tensor(params[f"W{layer}"]) + torch.tensor(params[f"b{layer}"])
        if layer < n_layers:
            h = torch.relu(h)
    return torch.nn.functional.cross_entropy(h, torch.tensor(y)).item()


@pytest.fixture(scope="module")
def two_models():
    sizes = [64, 12, 10]
    return [MLP(sizes, rng=np.random.default_rng(seed)) for seed in (0, 1)]


def test_loss_along_line_interpolates_between_two_networks(two_models):
    a, b = two_models
    data = standardized_digits_split()
    X, y = np.array(data.X_val), np.array(data.y_val)
    direction = {k: b.params[k] - a.params[k] for k in a.params}
    ts = [0.0, 0.3, 1.0]
    losses = loss_along_line(a, a.params, direction, X, y, ts)
    for t, loss in zip(ts, losses, strict=True):
        mixed = {k: (1 - t) * a.params[k] + t * b.params[k] for k in a.params}
        np.testing.assert_allclose(loss, torch_loss(mixed, torch.tensor(X), y), rtol=LOSS_RTOL)
    before = {k: v.copy() for k, v in a.params.items()}
    loss_along_line(a, a.params, direction, X, y, [2.0])
    for k in before:  # the model is only a template
        np.testing.assert_array_equal(a.params[k], before[k])


def test_random_direction_is_scaled_layer_by_layer(two_models):
    params = two_models[0].params
    direction = random_direction(params, np.random.default_rng(0))
    for name, value in params.items():
        if name.startswith("W"):
            np.testing.assert_allclose(np.linalg.norm(direction[name]), np.linalg.norm(value), rtol=1e-12)
        else:
            assert np.all(direction[name] == 0)


def test_permuting_hidden_units_keeps_the_function(two_models):
    params = two_models[0].params
    permutation = np.random.default_rng(0).permutation(12)
    permuted = permute_hidden_units(params, permutation)
    X = torch.tensor(np.array(standardized_digits_split().X_val))
    y = np.array(standardized_digits_split().y_val)
    assert not np.allclose(permuted["W1"], params["W1"])
    np.testing.assert_allclose(torch_loss(permuted, X, y), torch_loss(params, X, y), rtol=LOSS_RTOL)
    with pytest.raises(ValueError, match="permutation"):
        permute_hidden_units(params, [0, 0, 1])
    with pytest.raises(ValueError, match="permutation"):
        permute_hidden_units(params, np.arange(10), layer=2)  # the output layer has no next layer


def test_final_loss_spread_shapes_order_and_gradient_norms():
    X, y = spirals(60, 3, 0.2, rng=np.random.default_rng(0))
    spread = final_loss_spread((2, 8), 3, X, y, epochs=3)
    assert set(spread) == {2, 8}
    for result in spread.values():
        losses, norms = result["loss"], result["grad_norm"]
        assert losses.shape == norms.shape == (3,) and np.all(np.diff(losses) >= 0) and np.isfinite(losses).all()
        assert result["curve"].shape == (3, 4)
        np.testing.assert_array_equal(result["curve"][:, -1], losses)
    assert len(set(spread[2]["loss"])) == 3  # different seeds end in different places
    # the same networks trained here, their loss and gradient norm computed by torch autograd
    models = [MLP([2, 8, 3], rng=np.random.default_rng([0, 8, s])) for s in range(3)]
    params, _ = train_stacked(stack_params(models), X, y, lrs=0.01, epochs=3, rng=np.random.default_rng(0),
                              batch_size=50)
    expected = []
    for run in range(3):
        W1, b1, W2, b2 = (torch.tensor(p[run], requires_grad=True) for p in params)
        loss = torch.nn.functional.cross_entropy(torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2, torch.tensor(y))
        loss.backward()
        expected.append((loss.item(), torch.sqrt(sum((t.grad ** 2).sum() for t in (W1, b1, W2, b2))).item()))
    expected.sort()
    np.testing.assert_allclose(spread[8]["loss"], [e[0] for e in expected], rtol=LOSS_RTOL)
    np.testing.assert_allclose(spread[8]["grad_norm"], [e[1] for e in expected], rtol=GRAD_RTOL)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_shuffle_labels_keeps_class_counts(fraction):
    y = np.random.default_rng(0).integers(0, 10, 200)
    original = y.copy()
    noisy = shuffle_labels(y, fraction, np.random.default_rng(1))
    np.testing.assert_array_equal(y, original)
    np.testing.assert_array_equal(np.bincount(noisy, minlength=10), np.bincount(y, minlength=10))
    assert np.sum(noisy != y) <= round(fraction * len(y))
    if fraction == 0.0:
        np.testing.assert_array_equal(noisy, y)
    if fraction == 1.0:
        assert np.mean(noisy == y) < 0.25  # about 1/10 by chance
    with pytest.raises(ValueError, match="fraction"):
        shuffle_labels(y, 1.5, np.random.default_rng(1))


def test_memorization_fits_random_labels_but_does_not_generalize():
    results = memorization((0.0, 1.0), n_train=100, hidden=128, epochs=60, lr=3e-3)
    real, shuffled = results[0.0], results[1.0]
    assert real["train"][-1] == 1.0 and shuffled["train"][-1] == 1.0
    assert real["val"][-1] > 0.8 and shuffled["val"][-1] < 0.3


@pytest.mark.parametrize("keep", [0.05, 0.2, 0.5])
def test_magnitude_masks_keep_the_largest_weights(keep, two_models):
    params = two_models[0].params
    masks = magnitude_masks(params, keep)
    assert set(masks) == {"W1", "W2"}
    for name, expected_keep in (("W1", keep), ("W2", 1 - (1 - keep) / 2)):
        mask, weights = masks[name], np.abs(params[name])
        assert mask.shape == weights.shape and set(np.unique(mask)) <= {0.0, 1.0}
        assert mask.sum() == round(expected_keep * weights.size)
        assert weights[mask == 1].min() >= weights[mask == 0].max()
    uniform = magnitude_masks(params, keep, output_keep=keep)
    assert uniform["W2"].sum() == round(keep * params["W2"].size)


def test_prune_accuracy_at_the_extremes(two_models):
    model = two_models[1]
    data = standardized_digits_split()
    X, y = np.array(data.X_val), np.array(data.y_val)
    before = {k: v.copy() for k, v in model.params.items()}
    none_removed, all_removed = prune_accuracy(model, [0.0, 1.0], X, y)
    assert none_removed == accuracy(model, X, y)
    # no weights left: the output is b2 for every input, one class for all
    assert all_removed == np.mean(y == np.argmax(model.params["b2"]))
    for k in before:
        np.testing.assert_array_equal(model.params[k], before[k])


def test_lottery_ticket_structure_and_kept_fraction():
    result = lottery_ticket((0.2,), hidden=16, epochs=2, seeds=(0,))
    assert result["full"].shape == (1, 2) and result["ticket"][0.2].shape == (1, 2)
    assert result["reinit"][0.2].shape == (1, 2)
    expected = (round(0.2 * 64 * 16) + round(0.6 * 16 * 10)) / (64 * 16 + 16 * 10)
    assert result["kept"][0.2] == pytest.approx(expected)


def torch_pruned_masks(params, rates_per_round):
    """torch.nn.utils.prune.l1_unstructured applied once per round: amount = the fraction of the UNPRUNED weights."""
    from torch.nn.utils import prune

    layers = {name: torch.nn.Linear(*params[name].shape, dtype=torch.float64) for name in ("W1", "W2")}
    for name, layer in layers.items():
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(params[name].T))
    for rates in rates_per_round:
        for name, layer in layers.items():
            prune.l1_unstructured(layer, "weight", amount=rates[name])
    return {name: layer.weight_mask.numpy().T for name, layer in layers.items()}


@pytest.mark.parametrize("rate, output_rate", [(0.2, None), (0.5, 0.3), (0.35, 0.0)])
def test_prune_surviving_matches_torch_iterative_pruning(two_models, rate, output_rate):
    params = two_models[0].params
    expected_output = rate / 2 if output_rate is None else output_rate
    masks = None
    for rounds in (1, 2, 3):
        previous = masks
        masks = prune_surviving(params, masks, rate, output_rate)
        expected = torch_pruned_masks(params, [{"W1": rate, "W2": expected_output}] * rounds)
        for name in ("W1", "W2"):
            np.testing.assert_array_equal(masks[name], expected[name])
            if previous is not None:
                assert np.all(masks[name] <= previous[name])  # a pruned weight never comes back
    assert set(masks) == {"W1", "W2"}


def test_prune_surviving_first_round_is_magnitude_pruning_and_bad_input_is_named(two_models):
    params = two_models[1].params
    first = prune_surviving(params, None, 0.25, output_rate=0.5)
    reference = magnitude_masks(params, 1 - 0.25, output_keep=1 - 0.5)  # 64 x 12 and 12 x 10: no halves to round
    for name in first:
        np.testing.assert_array_equal(first[name], reference[name])
    with pytest.raises(ValueError, match="rate"):
        prune_surviving(params, None, 1.5)
    with pytest.raises(ValueError, match=r"masks\['W1'\] must have the shape"):
        prune_surviving(params, {"W1": np.ones((2, 2)), "W2": np.ones((12, 10))}, 0.2)


def test_iterative_magnitude_pruning_rounds_and_controls():
    imp = iterative_magnitude_pruning(rounds=3, hidden=16, epochs=2)
    assert imp["ticket"].shape == imp["reinit"].shape == (4, 2) and imp["one_shot"].shape == (2,)
    assert np.isnan(imp["reinit"][0]).all() and np.isfinite(imp["reinit"][1:]).all()
    # row 0 is the full network, trained exactly as lottery_ticket's (same seeds, same batches)
    np.testing.assert_array_equal(imp["ticket"][0], lottery_ticket((0.5,), hidden=16, epochs=2, seeds=(0,))["full"][0])
    # the kept counts follow the per-layer rounds: 20% of the survivors of W1 (64 x 16), 10% of W2 (16 x 10)
    kept_w1, kept_w2, expected = 64 * 16, 16 * 10, [1.0]
    for _ in range(3):
        kept_w1, kept_w2 = kept_w1 - round(0.2 * kept_w1), kept_w2 - round(0.1 * kept_w2)
        expected.append((kept_w1 + kept_w2) / (64 * 16 + 16 * 10))
    np.testing.assert_allclose(imp["kept"], expected, rtol=1e-12)
    one_shot_expected = (round(0.8**3 * 64 * 16) + round(0.9**3 * 16 * 10)) / (64 * 16 + 16 * 10)
    assert imp["one_shot_kept"] == pytest.approx(one_shot_expected)
    with pytest.raises(ValueError, match="rounds"):
        iterative_magnitude_pruning(rounds=0)
