"""dlcourse.widgets.practice: broadcasting against torch, the training loops against torch.nn + torch.optim.

Tolerances
----------
EXACT: a single elementwise operation (a - b, a * b) is correctly rounded in
both libraries: identical results.  MEAN_RTOL = 1e-15: a mean of <= 4 numbers,
summed in possibly different orders.
TRAIN_RTOL = 1e-9, TRAIN_ATOL = 1e-12: float64 training of a small MLP for 2
epochs (~8-40 optimizer steps) against torch.nn.Linear + torch.optim.  Each
step rounds matrix products and the optimizer update in a different order
(reassociation, fused vs separate operations); the differences grow step by
step but stay many orders of magnitude below this bound (measured <= 1e-12).
SCALER_RTOL = 1e-12: standardization against scikit-learn's StandardScaler
(the same mean and population std, computed in another order).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from dlcourse.data import load_digits, minibatches, train_val_test_split
from dlcourse.layers import MLP
from dlcourse.widgets.practice import (
    LR_GRID,
    OPERATIONS,
    SHAPES,
    STACKABLE_OPTIMIZERS,
    SWEEP_EPOCHS,
    accuracy,
    autograd_graph_size,
    broadcast_demo,
    digits_data,
    lr_sweep,
    lr_sweep_view,
    stack_params,
    train,
    train_stacked,
)

MEAN_RTOL = 1e-15
TRAIN_RTOL, TRAIN_ATOL = 1e-9, 1e-12
SCALER_RTOL = 1e-12

TORCH_OPTIMIZERS = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "nesterov": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def torch_mlp(params: dict[str, np.ndarray]) -> torch.nn.Sequential:
    """A float64 torch MLP (Linear, ReLU, ..., Linear) holding the same weights (torch stores W.T)."""
    layers = []
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        W = params[f"W{layer}"]
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T))
            linear.bias.copy_(torch.tensor(params[f"b{layer}"]))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_train(model, X, y, optimizer, lr, epochs, batch_size, seed, masks=None):
    """Train the torch model on dlcourse.data.minibatches(rng=default_rng(seed)); return the full loss per epoch."""
    opt = TORCH_OPTIMIZERS[optimizer](model.parameters(), lr)
    rng = np.random.default_rng(seed)
    X_all, y_all = torch.tensor(X), torch.tensor(y)
    losses = [torch.nn.functional.cross_entropy(model(X_all), y_all).item()]
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.tensor(X_batch)), torch.tensor(y_batch)).backward()
            if masks:
                for layer, mask in masks.items():
                    layer.weight.grad *= mask
            opt.step()
        with torch.no_grad():
            losses.append(torch.nn.functional.cross_entropy(model(X_all), y_all).item())
    return np.array(losses)


@pytest.fixture(scope="module")
def small_digits():
    data = digits_data()
    return np.array(data.X_train[:150]), np.array(data.y_train[:150])


# ------------------------------------------------------------------ broadcasting


SIZES = {"N": 4, "D": 3}


def numeric(label):
    return [SIZES.get(s, s) for s in SHAPES[label]]


@pytest.mark.parametrize("shape_a, shape_b, operation", list(itertools.product(SHAPES, SHAPES, OPERATIONS)))
def test_broadcast_demo_matches_torch(shape_a, shape_b, operation):
    data = broadcast_demo(shape_a, shape_b, operation)
    a = torch.arange(1, 1 + np.prod(numeric(shape_a)), dtype=torch.float64).reshape(numeric(shape_a))
    b = 10.0 * torch.arange(1, 1 + np.prod(numeric(shape_b)), dtype=torch.float64).reshape(numeric(shape_b))
    reduce, keepdims = OPERATIONS[operation]
    if reduce:
        b = b.mean(dim=-1, keepdim=keepdims)
    torch.testing.assert_close(torch.tensor(data["a"]), a, rtol=0, atol=0)
    torch.testing.assert_close(torch.tensor(data["b"]), b, rtol=MEAN_RTOL, atol=0)
    try:
        expected = a * b if operation == "a * b" else a - b
    except RuntimeError:  # torch refuses the same shapes numpy refuses
        assert data["result"] is None and data["result_shape"] is None
        assert "cannot be broadcast" in data["error"]
        return
    assert data["error"] is None
    assert data["result_shape"] == tuple(expected.shape) == tuple(torch.broadcast_shapes(a.shape, b.shape))
    torch.testing.assert_close(torch.tensor(data["result"]), expected, rtol=MEAN_RTOL, atol=0)
    assert data["outer"] == (expected.numel() > max(a.numel(), b.numel()))


def test_the_classic_silent_bug_and_keepdims():
    bug = broadcast_demo("(N,1)", "(N,)", "a - b")
    assert bug["result_shape"] == (4, 4) and bug["outer"]
    assert bug["steps"]["pad with 1s"] == (["N", "1"], ["1", "N"])
    # the diagonal is the elementwise difference that was meant
    np.testing.assert_array_equal(np.diag(bug["result"]), bug["a"][:, 0] - bug["b"])
    without = broadcast_demo("(N,D)", "(N,D)", "a - b.mean(axis=-1)")
    assert without["error"] is not None and "(N,D)" in without["error"] and "(N,)" in without["error"]
    with_keepdims = broadcast_demo("(N,D)", "(N,D)", "a - b.mean(axis=-1, keepdims=True)")
    assert with_keepdims["result_shape"] == (4, 3) and not with_keepdims["outer"]


@pytest.mark.parametrize("argument", ["shape_a", "shape_b", "operation"])
def test_broadcast_demo_names_a_bad_argument(argument):
    values = {"shape_a": "(N,1)", "shape_b": "(N,)", "operation": "a - b"}
    values[argument] = "(3,)"
    with pytest.raises(ValueError, match=argument):
        broadcast_demo(**values)


# ------------------------------------------------------------------ training loops


@pytest.mark.parametrize("optimizer", STACKABLE_OPTIMIZERS)
def test_train_stacked_matches_torch_per_learning_rate(optimizer, small_digits):
    X, y = small_digits
    lrs = np.array([1e-3, 3e-2])
    models = [MLP([64, 8, 10], rng=np.random.default_rng(seed)) for seed in (1, 2)]
    params = stack_params(models)
    before = [p.copy() for p in params]
    _, losses = train_stacked(params, X, y, lrs=lrs, epochs=2, rng=np.random.default_rng(5), optimizer=optimizer,
                              batch_size=64)
    for p, q in zip(params, before):  # inputs untouched
        np.testing.assert_array_equal(p, q)
    for run, (model, lr) in enumerate(zip(models, lrs)):
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


def test_train_matches_torch_and_reports_accuracy(small_digits):
    X, y = small_digits
    model = MLP([64, 16, 10], rng=np.random.default_rng(3))
    reference = torch_mlp({k: v.copy() for k, v in model.params.items()})
    history = train(model, X, y, epochs=2, lr=1e-2, rng=np.random.default_rng(9), optimizer="adam",
                    batch_size=32, monitor={"train": (X, y)})
    torch_train(reference, X, y, "adam", 1e-2, epochs=2, batch_size=32, seed=9)
    np.testing.assert_allclose(model.params["W1"], reference[0].weight.detach().numpy().T,
                               rtol=TRAIN_RTOL, atol=TRAIN_ATOL)
    np.testing.assert_allclose(model.params["b2"], reference[2].bias.detach().numpy(), rtol=TRAIN_RTOL,
                               atol=TRAIN_ATOL)
    predicted = reference(torch.tensor(X)).argmax(dim=1).numpy()
    assert history["train"][-1] == pytest.approx(np.mean(predicted == y)) == pytest.approx(accuracy(model, X, y))
    assert history["loss"].shape == (2,) and history["loss"][1] < history["loss"][0]


def test_train_with_masks_keeps_pruned_weights_at_zero(small_digits):
    X, y = small_digits
    model = MLP([64, 16, 10], rng=np.random.default_rng(4))
    mask = (np.random.default_rng(0).random((64, 16)) < 0.3).astype(float)
    train(model, X, y, epochs=2, lr=1e-2, rng=np.random.default_rng(1), masks={"W1": mask})
    assert np.all(model.params["W1"][mask == 0] == 0) and np.all(model.params["W1"][mask == 1] != 0)
    with pytest.raises(ValueError, match="masks"):
        train(model, X, y, epochs=1, lr=1e-2, rng=np.random.default_rng(1), masks={"W9": mask})


def test_digits_data_is_standardized_with_training_statistics():
    X, y = load_digits()
    split = train_val_test_split(X, y, rng=np.random.default_rng(0))
    scaler = StandardScaler().fit(split.X_train)
    data = digits_data()
    for ours, raw in ((data.X_train, split.X_train), (data.X_val, split.X_val), (data.X_test, split.X_test)):
        np.testing.assert_allclose(ours, scaler.transform(raw), rtol=SCALER_RTOL, atol=1e-12)
    assert not data.X_train.flags.writeable


def test_autograd_graph_size_counts_reachable_nodes():
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    loss = ((x * 2) + 1).sum()  # SumBackward0, AddBackward0, MulBackward0, AccumulateGrad
    assert autograd_graph_size(loss) == 4
    total = 0.0
    for _ in range(5):
        total += ((x * 2) + 1).sum()  # a tensor: every iteration adds its graph
    assert autograd_graph_size(total) == 5 * 3 + 5 + 1  # 5 x (sum, add, mul), 5 running adds, one shared leaf
    assert autograd_graph_size(loss.item()) == 0 and autograd_graph_size(loss.detach()) == 0


# ------------------------------------------------------------------ the sweep


def test_lr_sweep_runs_share_the_start_and_match_torch_at_one_rate():
    sweep = lr_sweep("momentum", epochs=1)
    assert sweep.losses.shape == (len(LR_GRID), 2) and np.all(sweep.losses[:, 0] == sweep.losses[0, 0])
    rng = np.random.default_rng(0)  # lr_sweep's seed: the init first, then the minibatches
    model = MLP([64, 32, 10], rng=rng)
    data = digits_data()
    index = int(np.argmin(np.abs(LR_GRID - 0.01)))
    reference = torch_mlp(model.params)
    opt = torch.optim.SGD(reference.parameters(), lr=float(LR_GRID[index]), momentum=0.9)
    for X_batch, y_batch in minibatches(data.X_train, data.y_train, 64, rng=rng):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(reference(torch.tensor(X_batch)), torch.tensor(y_batch)).backward()
        opt.step()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(reference(torch.tensor(data.X_train)),
                                                     torch.tensor(data.y_train)).item()
    np.testing.assert_allclose(sweep.losses[index, 1], expected, rtol=TRAIN_RTOL)


def test_lr_sweep_view_marks_the_best_rate_and_the_divergence_edge():
    view = lr_sweep_view("sgd", 3, (-4.0, 1.0))
    losses = lr_sweep("sgd").losses[:, 3]
    finite = np.where(np.isfinite(losses), losses, np.inf)
    assert view["best_lr"] == LR_GRID[np.argmin(finite)]
    edge = view["edge_lr"]
    assert edge is not None and edge > view["best_lr"]
    unstable = ~np.isfinite(losses) | (losses > lr_sweep("sgd").losses[0, 0])
    assert unstable[LR_GRID == edge].all()
    assert not unstable[(LR_GRID > view["best_lr"]) & (LR_GRID < edge)].any()
    narrow = lr_sweep_view("adam", 2, (-3.0, -2.0), compare=True)
    np.testing.assert_allclose(narrow["lrs"], [1e-3, 10**-2.75, 10**-2.5, 10**-2.25, 1e-2], rtol=1e-12)
    assert set(narrow["others"]) == {"sgd", "momentum"} and narrow["curves"].shape == (5, 3)


@pytest.mark.parametrize("kwargs, name", [
    ({"optimizer": "lion"}, "optimizer"),
    ({"epochs": SWEEP_EPOCHS + 1}, "epochs"),
    ({"log10_lr_range": (1.0, -1.0)}, "log10_lr_range"),
])
def test_lr_sweep_view_names_a_bad_argument(kwargs, name):
    values = {"optimizer": "sgd", "epochs": 2, "log10_lr_range": (-3.0, 0.0), **kwargs}
    with pytest.raises(ValueError, match=name):
        lr_sweep_view(**values)
