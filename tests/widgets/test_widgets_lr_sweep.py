"""dlcourse.widgets.lr_sweep: the sweep's runs against torch, and what the widget marks.

TRAIN_RTOL = 1e-9: float64 training of a 64-32-10 MLP for one epoch against
torch.nn + torch.optim.SGD (see tests/test_training.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data import minibatches
from dlcourse.layers import MLP
from dlcourse.training import standardized_digits_split
from dlcourse.widgets.lr_sweep import LR_GRID, SWEEP_EPOCHS, describe_lr_sweep, lr_sweep, lr_sweep_view

TRAIN_RTOL = 1e-9


def torch_mlp(params):
    """A float64 torch 64-H-10 ReLU MLP holding the same weights (torch stores W.T)."""
    model = torch.nn.Sequential(torch.nn.Linear(*params["W1"].shape), torch.nn.ReLU(),
                                torch.nn.Linear(*params["W2"].shape)).double()
    with torch.no_grad():
        for linear, layer in ((model[0], 1), (model[2], 2)):
            linear.weight.copy_(torch.from_numpy(params[f"W{layer}"].T))
            linear.bias.copy_(torch.from_numpy(params[f"b{layer}"]))
    return model

def test_lr_sweep_runs_share_the_start_and_match_torch_at_one_rate():
    sweep = lr_sweep("momentum", epochs=1)
    assert sweep.losses.shape == (len(LR_GRID), 2) and np.all(sweep.losses[:, 0] == sweep.losses[0, 0])
    rng = np.random.default_rng(0)  # lr_sweep's seed: the init first, then the minibatches
    model = MLP([64, 32, 10], rng=rng)
    data = standardized_digits_split()
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
    assert unstable[edge == LR_GRID].all()
    assert not unstable[(view["best_lr"] < LR_GRID) & (edge > LR_GRID)].any()
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


def test_the_text_states_the_best_rate_and_the_edge():
    data = lr_sweep_view("sgd", 5, (-3.5, 1.0), compare=True)
    text = describe_lr_sweep(data, "sgd", 5)
    assert f"Lowest loss {data['best_loss']:.3g} at lr = {data['best_lr']:.2g}" in text
    assert f"from lr = {data['edge_lr']:.2g}" in text and " momentum: lowest loss" in text and " adam:" in text
