"""Sanity checks of a training run: update-to-weight ratios and learning curves.

Before a long run, practitioners check that the pieces behave as expected
(A. Karpathy, "A recipe for training neural networks", 2019; the CS231n notes
"Neural networks part 3: learning and evaluation"):

- the loss at initialization is ln C for C classes when the network's outputs
  start out nearly uniform (``softmax_cross_entropy(model.forward(X), y)`` at
  step 0, compared with ``np.log(C)``);
- the network can overfit one small batch (``dlcourse.training.train`` on a
  few examples, until the loss is close to 0);
- every step changes each weight matrix by a small fraction of its size
  (:func:`update_ratios`, recorded during a run by
  :func:`update_ratio_history`; the CS231n notes' rule of thumb: about 1e-3);
- the training and validation losses after every epoch tell underfitting
  from overfitting (:func:`learning_curves`).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (debugging a
network, "no learning"); the CS231n notes (the ratio of the update to the
weights, about 1e-3); Karpathy (2019) (the loss at initialization, overfitting
one batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dlcourse._checks import check_choice
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import OPTIMIZERS, Optimizer
from dlcourse.training import accuracy, fit

__all__ = ["learning_curves", "update_ratio_history", "update_ratios"]


def update_ratios(before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Size of one update relative to the weights, for every weight matrix.

        r_l = ||W_l(after) - W_l(before)||_F / ||W_l(before)||_F

    for every entry of ``before`` with two or more axes (the weight matrices;
    biases, vectors, are left out: they often start at 0).  The CS231n notes
    (Karpathy) suggest a ratio of about 1e-3 per step as a rough guide: much
    smaller, and the learning rate is probably too low; much larger, too high.
    The notes compute the update of plain SGD, eta * dL/dW; here it is the
    change the optimizer actually made, so the same function serves Adam.

    Args:
        before: name -> parameter array before the step (``dict(model.params)`` copied).
        after: name -> parameter array after the step, same names and shapes.

    Returns:
        dict name -> r_l (a float; inf when W_l(before) is all zeros).

    Example:
        >>> before = {"W1": np.array([[3.0, 0.0], [0.0, 4.0]]), "b1": np.zeros(2)}
        >>> after = {"W1": np.array([[3.0, 0.0], [0.0, 3.5]]), "b1": np.ones(2)}
        >>> update_ratios(before, after)          # ||step|| = 0.5, ||W|| = 5
        {'W1': 0.1}
    """
    if set(before) != set(after):
        raise ValueError(
            f"before and after must hold the same parameters, got {sorted(before)} and {sorted(after)}"
        )
    ratios = {}
    for name, old in before.items():
        old, new = np.asarray(old, dtype=np.float64), np.asarray(after[name], dtype=np.float64)
        if old.shape != new.shape:
            raise ValueError(f"after[{name!r}] must have the shape of before[{name!r}], {old.shape}; got {new.shape}")
        if old.ndim < 2:
            continue
        step, size = np.linalg.norm(new - old), np.linalg.norm(old)
        ratios[name] = float(step / size) if size > 0 else float("inf")
    return ratios


def update_ratio_history(
    model: MLP, X: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, rng: np.random.Generator,
    optimizer: str = "adam", batch_size: int = 64, **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Train ``model`` in place (``dlcourse.training.fit``) and record :func:`update_ratios` at every step.

    Each step: copy the parameters, let the optimizer update them, then
    r_l = ||W_l(after) - W_l(before)|| / ||W_l(before)|| for every weight matrix.

    Args:
        model: a ``dlcourse.layers.MLP``; trained in place.
        X, y: training inputs (n, d) and integer labels (n,).
        epochs: passes over the data (>= 0).
        lr: learning rate (>= 0).
        rng: numpy Generator for the order of the minibatches.
        optimizer: a name in ``dlcourse.optim.OPTIMIZERS``.
        batch_size: examples per step (>= 1).
        **hyperparameters: passed to the optimizer.

    Returns:
        dict with one (steps,) array of ratios per weight matrix ("W1", "W2",
        ...) and "step_loss" (steps,), the loss of every minibatch.

    Example:
        >>> from dlcourse.training import standardized_digits_split
        >>> data = standardized_digits_split()
        >>> model = MLP([64, 16, 10], rng=np.random.default_rng(0))
        >>> ratios = update_ratio_history(model, data.X_train[:256], data.y_train[:256], epochs=1, lr=1e-3,
        ...                               rng=np.random.default_rng(1))
        >>> sorted(ratios), ratios["W1"].shape
        (['W1', 'W2', 'step_loss'], (4,))
        >>> ratios["W1"].round(5)
        array([0.00568, 0.00476, 0.00438, 0.00419])
    """
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    opt = Optimizer(model.params, optimizer, lr=lr, **hyperparameters)
    recorded: list[dict[str, float]] = []

    def step_and_record(grads: dict[str, np.ndarray]) -> None:
        before = {name: value.copy() for name, value in model.params.items()}
        opt.step(grads)
        recorded.append(update_ratios(before, model.params))

    history = fit(model, step_and_record, X, y, epochs=epochs, batch_size=batch_size, rng=rng, progress=False)
    names = [name for name, value in model.params.items() if value.ndim >= 2]
    return {**{name: np.array([r[name] for r in recorded]) for name in names}, "step_loss": history["step_loss"]}


def learning_curves(
    model: MLP, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, epochs: int, lr: float,
    rng: np.random.Generator, optimizer: str = "adam", batch_size: int = 64, **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Train ``model`` in place and return its training and validation loss and accuracy after every epoch.

    After epoch e = 1 .. epochs, on the WHOLE training set (X, y) and on the
    validation set (not the running mean of the minibatch losses, which mixes
    networks of different steps):

        train_loss[e] = L(theta_e; X, y),        val_loss[e] = L(theta_e; X_val, y_val)
        train_accuracy[e], val_accuracy[e]       (fraction of argmax == label)

    with L the mean softmax cross-entropy.  Reading them: both losses high and
    close together is underfitting; a training loss that keeps falling while the
    validation loss turns upward is overfitting (the epoch of the lowest
    validation loss is where early stopping would stop).

    Args:
        model: a ``dlcourse.layers.MLP``; trained in place.
        X, y: training inputs (n, d) and integer labels (n,).
        X_val, y_val: validation inputs and labels.
        epochs: passes over the training data (>= 0).
        lr: learning rate (>= 0).
        rng: numpy Generator for the order of the minibatches.
        optimizer: a name in ``dlcourse.optim.OPTIMIZERS``.
        batch_size: examples per step (>= 1).
        **hyperparameters: passed to the optimizer.

    Returns:
        dict of (epochs,) arrays: "train_loss", "val_loss", "train_accuracy", "val_accuracy".

    Example:
        >>> from dlcourse.training import standardized_digits_split
        >>> data = standardized_digits_split()
        >>> model = MLP([64, 16, 10], rng=np.random.default_rng(0))
        >>> curves = learning_curves(model, data.X_train[:200], data.y_train[:200], data.X_val, data.y_val,
        ...                          epochs=3, lr=1e-2, rng=np.random.default_rng(1))
        >>> curves["train_loss"].round(3), curves["val_loss"].round(3)
        (array([1.833, 1.392, 1.127]), array([1.922, 1.526, 1.274]))
    """
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    opt = Optimizer(model.params, optimizer, lr=lr, **hyperparameters)

    def loss_on(X_eval: np.ndarray, y_eval: np.ndarray) -> Any:
        return lambda trained: softmax_cross_entropy(trained.forward(X_eval), y_eval)[0]

    def accuracy_on(X_eval: np.ndarray, y_eval: np.ndarray) -> Any:
        return lambda trained: accuracy(trained, X_eval, y_eval)

    metrics = {"train_loss": loss_on(X, y), "val_loss": loss_on(X_val, y_val),
               "train_accuracy": accuracy_on(X, y), "val_accuracy": accuracy_on(X_val, y_val)}
    history = fit(model, opt.step, X, y, epochs=epochs, batch_size=batch_size, rng=rng, metrics=metrics,
                  progress=False)
    return {name: history[name] for name in metrics}
