"""Dead ReLU units: hidden units that are inactive on every example, counted while a network trains.

Unit j of hidden layer l is *inactive on the data* X when its pre-activation
is at most 0 for every example::

    Z^l = H^(l-1) W^l + b^l,      inactive_j  <=>  Z^l[n, j] <= 0 for every row n.

For ReLU, relu'(z) = 0 there (torch's convention at z = 0), so the unit
outputs 0 on all of X and its column of the backward signal is zero,
Delta^l[:, j] = 0, hence

    dL/dW^l[:, j] = H^(l-1)^T Delta^l[:, j] = 0,      dL/db^l[j] = sum_n Delta^l[n, j] = 0:

the unit is *dead*, it gets exactly zero gradient from the data.  For leaky
ReLU the same condition only means "on the negative side for every example":
the gradient is multiplied by the slope a, small but not zero.

Zero gradient is not the same as "the weights stop": an optimizer with
memory (momentum, Adam) keeps moving them with what it stored from earlier
steps.  With g = 0 from some step on, Adam's m shrinks by beta1 and v by
beta2 per step, so its step shrinks by about beta1 / sqrt(beta2) (0.9 /
sqrt(0.999) = 0.9005) per step, a factor of 10 in about 22 steps.

:func:`dead_units_run` trains an MLP on the digits and counts the inactive
units of every hidden layer after every step of the first epoch and after
every epoch, with what the lecture prints next to its figure.

Source: Univ. of Macau 'Modern Techniques' (ReLU's dead neurons, large
updates cause them, "training for longer results in more dead neurons",
leaky ReLU as the fix); Georgia Tech CS 4644/7643 'Optimization' (ReLU: no
saturation for positive inputs, dead for negative ones); Kingma & Ba (2015)
(Adam's moments).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlcourse._blas import one_blas_thread
from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.activations import ACTIVATIONS
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import Optimizer
from dlcourse.training import accuracy, digits_split, fit

__all__ = ["dead_units_run", "inactive_units"]


def inactive_units(model: MLP, X: np.ndarray) -> list[np.ndarray]:
    """For every hidden layer of ``model``: which units have pre-activation <= 0 on every row of ``X``.

    Z^l = H^(l-1) W^l + b^l with H^0 = X and H^l = f(Z^l); unit j is inactive
    when max_n Z^l[n, j] <= 0.

    Args:
        model: a ``dlcourse.layers.MLP`` (its hidden activation f is used to go up the layers).
        X: inputs of shape (n, sizes[0]), n >= 1.

    Returns:
        One boolean array per hidden layer, of shape (width of the layer,).

    Example:
        >>> model = MLP([2, 3, 1], "relu", rng=np.random.default_rng(0))
        >>> model.params["W1"][:] = [[1.0, -1.0, 0.0], [1.0, -1.0, 0.0]]
        >>> inactive_units(model, np.array([[1.0, 2.0], [0.5, 0.0]]))   # unit 2 is negative, unit 3 is 0
        [array([False,  True,  True])]
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != model.sizes[0] or len(X) == 0:
        raise ValueError(f"X must have shape (n >= 1, {model.sizes[0]}) for this model, got {X.shape}")
    f = ACTIVATIONS[model.activation][0]
    H, masks = X, []
    with one_blas_thread():
        for layer in range(1, model.num_layers):
            Z = H @ model.params[f"W{layer}"] + model.params[f"b{layer}"]
            masks.append(Z.max(axis=0) <= 0)
            H = f(Z)
    return masks


def dead_units_run(
    activation: str = "relu", *, lr: float = 0.02, epochs: int = 20, hidden: Sequence[int] = (128, 128),
    batch_size: int = 64, seed: int = 0, progress: bool = False,
) -> dict[str, Any]:
    """Train a 64-hidden-10 MLP on the digits with Adam and count its inactive hidden units as it trains.

    The network: ``MLP([64, *hidden, 10], activation, "he_normal")``, trained
    with softmax cross-entropy and Adam (torch's defaults besides ``lr``) on
    the training set of ``dlcourse.training.digits_split()`` (1257 images,
    pixels in [0, 1]) by ``dlcourse.training.fit``.  After every step of the
    first epoch and after every later epoch, :func:`inactive_units` on the
    whole training set.

    Args:
        activation: the hidden activation, a name in ``dlcourse.activations.ACTIVATIONS``
            ("relu", "leaky_relu", ...).
        lr: Adam's learning rate eta, > 0 (the usual range is 3e-4 to 1e-3; 0.02 is
            deliberately large, to make units die).
        epochs: passes over the training set, >= 1.
        hidden: widths of the hidden layers, at least one, each >= 1.
        batch_size: examples per step, >= 1.
        seed: seeds the initial weights and the order of the examples.
        progress: a progress bar over the epochs.

    Returns:
        dict with

        - ``"epoch"``: (P,) the recording points in epochs: 0, 1/S, 2/S, ..., 1 (S = steps
          per epoch), then 2, 3, ..., epochs;
        - ``"inactive"``: (P, hidden layers) int, the number of inactive units at each point;
        - ``"width"``: (hidden layers,) the widths;
        - ``"revived"``: (hidden layers,) int, units that were inactive at one recording point
          and active at the next, summed over the run;
        - ``"drift"``: (epochs,) for every epoch e >= 2, the largest change during epoch e of an
          incoming weight or bias, max |theta_j(end of e) - theta_j(end of e - 1)|, over the
          first-layer units j that were inactive at the end of epoch 1 and are inactive at both
          ends of epoch e (nan for epoch 1 and where there are none).  For ReLU such a unit
          gets zero gradient from the data while it stays inactive, so what moves it is the
          optimizer's memory;
        - ``"largest_gradient"``: max |dL/dW^1[:, j]| and |dL/db^1[j]| on the whole training set
          over the first-layer units j inactive at the end (nan if there are none): exactly 0 for ReLU;
        - ``"train_accuracy"``: the final accuracy on the training set;
        - ``"model"``: the trained MLP.

    Example:
        >>> run = dead_units_run("relu", lr=0.02, epochs=2, hidden=(16,))
        >>> run["epoch"][[0, 1, -2, -1]], run["inactive"][[0, -1], 0]
        (array([0.  , 0.05, 1.  , 2.  ]), array([1, 6]))
        >>> run["revived"], float(run["largest_gradient"])
        (array([0]), 0.0)
    """
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or len(hidden) == 0:
        raise TypeError(f"hidden must be a sequence of at least one layer width, got {hidden!r}")
    hidden = [check_int(width, "hidden", 1) for width in hidden]
    data = digits_split()
    X, y = data.X_train, data.y_train
    rng = np.random.default_rng(seed)
    model = MLP([X.shape[1], *hidden, 10], activation, "he_normal", rng=rng)
    optimizer = Optimizer(model.params, "adam", lr=lr)
    steps_per_epoch = math.ceil(len(X) / batch_size)

    def first_layer() -> np.ndarray:       # (fan_in + 1, width): incoming weights and bias, one column per unit
        return np.vstack([model.params["W1"], model.params["b1"]])

    points, masks = [0.0], [inactive_units(model, X)]
    drift = np.full(epochs, np.nan)
    dead_after_one, theta_before = None, first_layer()

    def record(t: int, _loss: float) -> None:
        nonlocal dead_after_one, theta_before
        if t > steps_per_epoch and t % steps_per_epoch:
            return
        points.append(t / steps_per_epoch)
        masks.append(inactive_units(model, X))
        if t % steps_per_epoch == 0:             # the end of an epoch
            epoch, now = t // steps_per_epoch, first_layer()
            if epoch == 1:
                dead_after_one = masks[-1][0]
            else:
                units = dead_after_one & masks[-2][0] & masks[-1][0]     # masks[-2]: the end of epoch - 1
                if units.any():
                    drift[epoch - 1] = np.abs(now - theta_before)[:, units].max()
            theta_before = now

    fit(model, optimizer.step, X, y, epochs=epochs, batch_size=batch_size, rng=rng, on_step=record,
        progress=progress, desc=activation)

    per_layer = [np.array([point[layer] for point in masks]) for layer in range(len(hidden))]   # (P, width) each
    inactive = np.stack([layer.sum(axis=1) for layer in per_layer], axis=1)
    revived = np.array([int((layer[:-1] & ~layer[1:]).sum()) for layer in per_layer])
    dead_now = masks[-1][0]
    largest_gradient = np.nan
    if dead_now.any():
        with one_blas_thread():
            _, dlogits = softmax_cross_entropy(model.forward(X), y)
            model.backward(dlogits)
        largest_gradient = max(np.abs(model.grads["W1"][:, dead_now]).max(), np.abs(model.grads["b1"][dead_now]).max())
    return {"epoch": np.array(points), "inactive": inactive, "width": np.array(hidden), "revived": revived,
            "drift": drift, "largest_gradient": float(largest_gradient),
            "train_accuracy": accuracy(model, X, y), "model": model}
