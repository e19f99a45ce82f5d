"""dlcourse.training: the digits split, the training loop against torch.nn + torch.optim, accuracy.

Tolerances
----------
TRAIN_RTOL = 1e-9, TRAIN_ATOL = 1e-12: float64 training of a small MLP for 1-2
epochs (~8-40 optimizer steps) against torch.nn.Linear + torch.optim.  Each
step rounds matrix products and the optimizer update in a different order
(reassociation, fused vs separate operations); the differences grow step by
step but stay many orders of magnitude below this bound (measured <= 1e-12).
SCALER_RTOL = 1e-12: standardization against scikit-learn's StandardScaler
(the same mean and population std, computed in another order).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler
from torch_mlp import torch_mlp, torch_train

from dlcourse.data import load_digits, minibatches, train_val_test_split
from dlcourse.layers import MLP
from dlcourse.optim import Optimizer
from dlcourse.training import (
    accuracy,
    autograd_graph_size,
    digits_split,
    fit,
    standardized_digits_split,
    train,
    train_on_digits,
)

TRAIN_RTOL, TRAIN_ATOL = 1e-9, 1e-12
SCALER_RTOL = 1e-12

def test_digits_split_is_the_documented_split_and_a_fresh_copy():
    split = digits_split()
    X, y = load_digits()
    expected = train_val_test_split(X, y, rng=np.random.default_rng(0))
    for part, same in zip(split, expected, strict=True):
        np.testing.assert_array_equal(part, same)
    assert [len(part) for part in split[::2]] == [1257, 270, 270]
    split.X_test[:] = 0.0  # the exercise may scribble on its copy
    assert digits_split().X_test.any()



def test_the_grading_package_still_exports_the_split():
    from dlcourse import grading

    assert grading.digits_split is digits_split


def test_standardized_split_with_other_fractions_keeps_the_examples_of_that_split():
    data = standardized_digits_split(0, 256 / 1797, 0.0)
    X, y = load_digits()
    raw = train_val_test_split(X, y, 256 / 1797, 0.0, rng=np.random.default_rng(0))
    assert [len(part) for part in data[::2]] == [1541, 256, 0]
    np.testing.assert_array_equal(data.y_val, raw.y_val)
    mean, std = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    np.testing.assert_allclose(data.X_val, (raw.X_val - mean) / np.where(std > 1e-12, std, 1.0), rtol=1e-12)


@pytest.fixture(scope="module")
def small_digits():
    data = standardized_digits_split()
    return np.array(data.X_train[:150]), np.array(data.y_train[:150])


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


def test_standardized_split_is_standardized_with_training_statistics():
    X, y = load_digits()
    split = train_val_test_split(X, y, rng=np.random.default_rng(0))
    scaler = StandardScaler().fit(split.X_train)
    data = standardized_digits_split()
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


def _torch_digits_run(make_optimizer, epochs, seed, hidden, batch_size, make_scheduler=None):
    """train_on_digits's run in torch: same split, same initial weights, same minibatches (the documented rng order)."""
    X, y = load_digits()
    split = train_val_test_split(X, y, rng=np.random.default_rng(0))
    rng = np.random.default_rng(seed)
    mlp = MLP([64, hidden, 10], activation="relu", init="he_normal", rng=rng)
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).double()
    with torch.no_grad():
        for layer, index in ((model[0], 1), (model[2], 2)):
            layer.weight.copy_(torch.from_numpy(mlp.params[f"W{index}"].T))
            layer.bias.copy_(torch.from_numpy(mlp.params[f"b{index}"]))
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    losses = []
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(split.X_train, split.y_train, batch_size, rng=rng):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X_batch)), torch.from_numpy(y_batch))
            loss.backward()
            optimizer.step()
            if scheduler:
                scheduler.step()
            losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(split.X_val)).argmax(1).numpy() == split.y_val).mean()
    return np.array(losses), accuracy


def test_train_on_digits_matches_torch_training():
    epochs, lr = 1, 3e-3
    ours = train_on_digits("adam", epochs, seed=4, hidden=16, batch_size=37, lr=lr)
    losses, accuracy = _torch_digits_run(lambda p: torch.optim.Adam(p, lr=lr), epochs, 4, 16, 37)
    np.testing.assert_allclose(ours["loss"], losses, rtol=1e-9)
    assert ours["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-12)
    assert ours["train_loss"][-1] == pytest.approx(np.mean(losses), rel=1e-9)


@pytest.mark.parametrize(("name", "torch_class"), [("adam", torch.optim.Adam), ("radam", torch.optim.RAdam)])
def test_train_on_digits_warmup_matches_torch_lambda_lr(name, torch_class):
    # a linear warm-up from 0 over 30 steps (the first update has lr = 0), then lr: torch's LambdaLR
    epochs, lr, warmup = 2, 3e-2, 30
    ours = train_on_digits(name, epochs, seed=5, hidden=16, batch_size=37, lr=lr, warmup_steps=warmup)
    losses, accuracy = _torch_digits_run(
        lambda p: torch_class(p, lr=lr), epochs, 5, 16, 37,
        make_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, k / warmup)),
    )
    np.testing.assert_allclose(ours["loss"], losses, rtol=1e-9)
    without = train_on_digits(name, 1, seed=5, hidden=16, batch_size=37, lr=lr)
    assert ours["loss"][0] == without["loss"][0] and ours["loss"][1] != without["loss"][1]
    assert ours["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-12)


def test_train_on_digits_bad_arguments():
    with pytest.raises(ValueError, match="optimizer"):
        train_on_digits("adamm")
    with pytest.raises(ValueError, match="epochs"):
        train_on_digits("adam", 0)
    with pytest.raises(TypeError, match="betas2"):
        train_on_digits("adam", 1, betas2=0.9)
    with pytest.raises(ValueError, match="lr must be given"):
        train_on_digits("adam", 1, warmup_steps=10)
    with pytest.raises(ValueError, match="warmup_steps"):
        train_on_digits("adam", 1, warmup_steps=-1, lr=0.1)


# ------------------------------------------------------------------ fit's options


class Counting:
    """The Model protocol with one parameter w: output = X w, so dL/dw = X^T dout; counts forward calls."""

    def __init__(self):
        self.params, self.grads, self.calls = {"w": np.zeros((2, 2))}, {}, 0

    def forward(self, X):
        self.calls += 1
        self.X = X
        return X @ self.params["w"]

    def backward(self, dout):
        self.grads = {"w": self.X.T @ dout}


def squared_error(output, target):
    return float(np.mean((output - target) ** 2)), 2 * (output - target) / output.size


def test_fit_follows_the_given_batches_and_reports_every_step():
    X, y = np.eye(2)[[0, 1, 0, 1]], np.eye(2)[[1, 0, 1, 0]]
    model, seen = Counting(), []
    opt = Optimizer(model.params, "sgd", lr=0.5)
    history = fit(model, opt.step, X, y, epochs=2, batches=[np.array([0, 1]), np.array([2]), np.array([3])],
                  loss=squared_error, on_step=lambda t, loss: seen.append((t, loss)), progress=False,
                  metrics={"w00": lambda m: float(m.params["w"][0, 0])})
    assert [t for t, _ in seen] == [1, 2, 3, 4, 5, 6] and model.calls == 6
    np.testing.assert_array_equal(history["step_loss"], [loss for _, loss in seen])
    assert history["step_loss"].shape == (6,) and history["loss"].shape == (2,) and history["w00"].shape == (2,)
    # the epoch loss weighs each batch by its examples: (2 L1 + L2 + L3) / 4
    first = history["step_loss"][:3]
    assert history["loss"][0] == pytest.approx((2 * first[0] + first[1] + first[2]) / 4, rel=1e-15)
    assert history["loss"][1] < history["loss"][0]


def test_fit_stops_before_a_non_finite_update_only_when_asked():
    X, y = np.ones((4, 2)), np.ones((4, 2))
    for stop in (True, False):
        model = Counting()
        with np.errstate(all="ignore"):
            history = fit(model, Optimizer(model.params, "sgd", lr=1e200).step, X, y, epochs=3, batch_size=1,
                          rng=np.random.default_rng(0), loss=squared_error, stop_if_not_finite=stop, progress=False)
        diverged = int(np.argmax(~np.isfinite(history["step_loss"])))
        assert 0 < diverged < 12
        if stop:
            assert np.isnan(history["step_loss"][diverged:]).all() and np.isnan(history["loss"][-1])
            assert np.isfinite(model.params["w"]).all()  # the diverging batch was not applied
        else:
            assert model.calls == 12


def test_fit_checks_its_arguments():
    model = MLP([64, 4, 10], rng=np.random.default_rng(0))
    step = Optimizer(model.params, "sgd", lr=0.1).step
    X, y = np.zeros((4, 64)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, step, X, y, epochs=-1, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, step, X, y, epochs=1, batch_size=0, rng=np.random.default_rng(0), progress=False)
    with pytest.raises((TypeError, ValueError), match="rng"):
        fit(model, step, X, y, epochs=1, progress=False)


def test_fit_shows_a_progress_bar_unless_told_not_to(capsys):
    model = MLP([64, 4, 10], rng=np.random.default_rng(0))
    X, y = np.zeros((8, 64)), np.zeros(8, dtype=int)
    fit(model, Optimizer(model.params, "sgd", lr=0.1).step, X, y, epochs=2, rng=np.random.default_rng(0),
        desc="my epochs")
    assert "my epochs" in capsys.readouterr().err
    fit(model, Optimizer(model.params, "sgd", lr=0.1).step, X, y, epochs=2, rng=np.random.default_rng(0),
        progress=False)
    assert capsys.readouterr().err == ""


def test_modules_do_not_import_torch():
    code = "import sys, dlcourse.training, dlcourse.stacked; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
