"""dlcourse.sanity: update-to-weight ratios and learning curves, against float64 torch twins of the same MLP.

RTOL = 1e-9: the same float64 training in numpy and in torch (the same
initial weights, the same minibatches, torch.optim.Adam / SGD) agrees to about
1e-13 after one step; over the tens of steps compared here the rounding
differences grow, and 1e-9 leaves a wide margin while still catching any
difference of formula (a missing square, an update measured against the new
weights instead of the old).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_mlp import TORCH_OPTIMIZERS, torch_mlp

from dlcourse.data import minibatches
from dlcourse.layers import MLP
from dlcourse.sanity import learning_curves, update_ratio_history, update_ratios
from dlcourse.training import standardized_digits_split

RTOL = 1e-9


@pytest.fixture(scope="module")
def digits():
    data = standardized_digits_split()
    return np.array(data.X_train[:150]), np.array(data.y_train[:150]), np.array(data.X_val), np.array(data.y_val)


def torch_weights(net):
    return [layer.weight.detach().clone() for layer in net if isinstance(layer, torch.nn.Linear)]


def torch_run(params, X, y, optimizer, lr, epochs, batch_size, seed, after_epoch=None):
    """Train the torch twin on dlcourse's minibatches; return the per-step ratios of every weight matrix."""
    net = torch_mlp(params)
    opt = TORCH_OPTIMIZERS[optimizer](net.parameters(), lr)
    rng, ratios = np.random.default_rng(seed), []
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            before = torch_weights(net)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(torch.tensor(X_batch)), torch.tensor(y_batch)).backward()
            opt.step()
            ratios.append([(torch.linalg.norm(w - w0) / torch.linalg.norm(w0)).item()
                           for w0, w in zip(before, torch_weights(net), strict=True)])
        if after_epoch is not None:
            after_epoch(net)
    return np.array(ratios)


@pytest.mark.parametrize("optimizer, lr", [("adam", 3e-3), ("sgd", 0.1)])
def test_update_ratio_history_matches_torch(digits, optimizer, lr):
    X, y, _, _ = digits
    model = MLP([64, 16, 10], rng=np.random.default_rng(0))
    start = {name: value.copy() for name, value in model.params.items()}
    ours = update_ratio_history(model, X, y, epochs=2, lr=lr, rng=np.random.default_rng(1), optimizer=optimizer,
                                batch_size=32)
    theirs = torch_run(start, X, y, optimizer, lr, epochs=2, batch_size=32, seed=1)
    assert sorted(ours) == ["W1", "W2", "step_loss"]
    assert ours["W1"].shape == ours["step_loss"].shape == (10,)  # 150 examples in batches of 32, twice
    np.testing.assert_allclose(np.stack([ours["W1"], ours["W2"]], axis=1), theirs, rtol=RTOL)


def test_update_ratios_of_one_torch_step(digits):
    X, y, _, _ = digits
    model = MLP([64, 8, 8, 10], rng=np.random.default_rng(3))
    net = torch_mlp(model.params)
    before = torch_weights(net)
    torch.nn.functional.cross_entropy(net(torch.tensor(X)), torch.tensor(y)).backward()
    torch.optim.Adam(net.parameters(), lr=1e-2).step()
    after = {f"W{i}": w.numpy().T for i, w in enumerate(torch_weights(net), start=1)}
    after.update({f"b{i}": np.zeros(1) for i in range(1, 4)})
    ratios = update_ratios({**{f"W{i}": w.numpy().T for i, w in enumerate(before, start=1)},
                            **{f"b{i}": np.zeros(1) for i in range(1, 4)}}, after)
    expected = [(torch.linalg.norm(w - w0) / torch.linalg.norm(w0)).item()
                for w0, w in zip(before, torch_weights(net), strict=True)]
    assert list(ratios) == ["W1", "W2", "W3"]  # vectors (biases) are left out
    np.testing.assert_allclose(list(ratios.values()), expected, rtol=RTOL)


def test_update_ratios_edge_cases_and_errors():
    assert update_ratios({"W": np.zeros((2, 2))}, {"W": np.ones((2, 2))}) == {"W": float("inf")}
    assert update_ratios({"W": np.ones((2, 2))}, {"W": np.ones((2, 2))}) == {"W": 0.0}
    with pytest.raises(ValueError, match="same parameters"):
        update_ratios({"W1": np.ones((2, 2))}, {"W2": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"shape of before\['W1'\]"):
        update_ratios({"W1": np.ones((2, 2))}, {"W1": np.ones((2, 3))})


def test_learning_curves_match_torch(digits):
    X, y, X_val, y_val = digits
    model = MLP([64, 32, 10], rng=np.random.default_rng(0))
    start = {name: value.copy() for name, value in model.params.items()}
    curves = learning_curves(model, X, y, X_val, y_val, epochs=3, lr=1e-2, rng=np.random.default_rng(1),
                             batch_size=25)
    expected = {"train_loss": [], "val_loss": [], "train_accuracy": [], "val_accuracy": []}

    def record(net):
        with torch.no_grad():
            for split, (X_eval, y_eval) in {"train": (X, y), "val": (X_val, y_val)}.items():
                logits = net(torch.tensor(X_eval))
                expected[f"{split}_loss"].append(torch.nn.functional.cross_entropy(logits, torch.tensor(y_eval)).item())
                expected[f"{split}_accuracy"].append((logits.argmax(1).numpy() == y_eval).mean())

    torch_run(start, X, y, "adam", 1e-2, epochs=3, batch_size=25, seed=1, after_epoch=record)
    assert sorted(curves) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(curves[name], values, rtol=RTOL, err_msg=name)
    assert curves["train_loss"][-1] < curves["train_loss"][0]


def test_bad_optimizer_is_named():
    model = MLP([4, 3, 2], rng=np.random.default_rng(0))
    X, y = np.zeros((4, 4)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        update_ratio_history(model, X, y, epochs=1, lr=0.1, rng=np.random.default_rng(0), optimizer="adamw2")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        learning_curves(model, X, y, X, y, epochs=1, lr=0.1, rng=np.random.default_rng(0), optimizer="adamw2")
