"""dlcourse.dead_units: inactive units against torch (float64), and what a training run records."""

import numpy as np
import pytest
import torch

from dlcourse.dead_units import dead_units_run, inactive_units
from dlcourse.layers import MLP, softmax_cross_entropy


def torch_pre_activations(model, X, activation):
    """Z^1, Z^2, ... of the hidden layers, computed by torch from the same weights; and the loss."""
    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    H, Zs = torch.tensor(X), []
    for layer in range(1, model.num_layers):
        Z = H @ params[f"W{layer}"] + params[f"b{layer}"]
        Z.retain_grad()
        Zs.append(Z)
        H = activation(Z)
    return params, Zs, H @ params[f"W{model.num_layers}"] + params[f"b{model.num_layers}"]


@pytest.mark.parametrize("name, activation", [("relu", torch.relu), ("leaky_relu", torch.nn.functional.leaky_relu)])
def test_inactive_units_and_their_gradient_against_torch(name, activation):
    rng = np.random.default_rng(3)
    model = MLP([5, 12, 9, 3], name, rng=rng)
    model.params["b1"][:] = rng.normal(size=12) - 1.5          # push some units below 0 everywhere
    model.params["b2"][:] = rng.normal(size=9) - 1.0
    X, y = np.abs(rng.normal(size=(40, 5))), rng.integers(0, 3, size=40)
    masks = inactive_units(model, X)
    params, Zs, logits = torch_pre_activations(model, X, activation)
    for mask, Z in zip(masks, Zs, strict=True):
        np.testing.assert_array_equal(mask, (Z <= 0).all(dim=0).numpy())
    assert masks[0].any() and not masks[0].all()
    # the units inactive on all of X: zero gradient for ReLU, the slope times something for leaky ReLU
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    _, dlogits = softmax_cross_entropy(model.forward(X), y)
    model.backward(dlogits)
    np.testing.assert_allclose(model.grads["W1"], params["W1"].grad.numpy(), rtol=1e-12, atol=1e-15)
    dead_columns = np.abs(params["W1"].grad.numpy()[:, masks[0]])
    if name == "relu":
        assert dead_columns.max() == 0.0 and np.abs(model.grads["W1"][:, masks[0]]).max() == 0.0
    else:
        assert dead_columns.max() > 0.0


def test_inactive_units_checks_the_shape_of_X():
    model = MLP([4, 3, 2], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"X must have shape \(n >= 1, 4\)"):
        inactive_units(model, np.ones((5, 3)))
    with pytest.raises(ValueError, match="X must have shape"):
        inactive_units(model, np.ones((0, 4)))


def test_a_relu_run_records_every_step_of_the_first_epoch_then_every_epoch():
    run = dead_units_run("relu", lr=0.02, epochs=3, hidden=(16, 8))
    steps_per_epoch = 20                                           # 1257 training digits, batches of 64
    np.testing.assert_allclose(run["epoch"], np.r_[np.arange(steps_per_epoch + 1) / steps_per_epoch, 2, 3])
    assert run["inactive"].shape == (steps_per_epoch + 3, 2)
    np.testing.assert_array_equal(run["width"], [16, 8])
    assert (run["inactive"] <= run["width"]).all()
    assert run["inactive"][-1, 0] == inactive_units(run["model"], _train_X())[0].sum()
    assert run["largest_gradient"] == 0.0                         # dead: exactly zero gradient
    assert np.isnan(run["drift"][0]) and run["drift"].shape == (3,)
    assert 0.0 <= run["train_accuracy"] <= 1.0


def test_dead_relu_units_keep_moving_under_adam():
    # zero gradient, yet Adam's stored moments move the weights for many more steps
    run = dead_units_run("relu", lr=0.02, epochs=4)
    drift = run["drift"][1:]
    assert (drift > 0).all()
    assert (np.diff(drift) < 0).all()                              # and the movement dies out
    assert run["revived"][0] == 0                                  # none of the first layer came back


def test_a_leaky_run_has_a_nonzero_gradient_on_its_inactive_units():
    run = dead_units_run("leaky_relu", lr=0.02, epochs=2, hidden=(32,))
    assert run["largest_gradient"] > 0.0


@pytest.mark.parametrize("kwargs, error, message", [
    ({"activation": "swish"}, ValueError, "activation"),
    ({"lr": 0.0}, ValueError, r"lr must be in \(0, inf\), got 0.0"),
    ({"epochs": 0}, ValueError, "epochs must be an integer >= 1"),
    ({"hidden": ()}, TypeError, "hidden must be a sequence of at least one layer width"),
    ({"hidden": 128}, TypeError, "hidden must be a sequence"),
    ({"hidden": (128, 0)}, ValueError, "hidden must be an integer >= 1"),
    ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        dead_units_run(**kwargs)


def _train_X():
    from dlcourse.training import digits_split

    return digits_split().X_train
