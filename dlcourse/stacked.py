"""Many one-hidden-layer MLPs trained at once, as one stacked array: a learning-rate sweep in one pass.

This is not :func:`dlcourse.training.fit` on purpose.  A sweep trains L
copies of a small network that differ only in their learning rate (or their
initial weights); looping over them would cost L times the Python overhead of
a step, while stacking them on a leading axis costs one batched matrix product
per layer.  The equations are those of ``dlcourse.layers.MLP`` with
``softmax_cross_entropy``, and each step is a ``dlcourse.optim`` step.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (a logarithmic
learning-rate sweep); Choromanska et al. (2015) (many random initializations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlcourse._checks import check_choice, check_int
from dlcourse.data import minibatches
from dlcourse.layers import MLP, log_softmax
from dlcourse.optim import OPTIMIZERS
from dlcourse.training import one_blas_thread

__all__ = ["STACKABLE_OPTIMIZERS", "stack_params", "stacked_loss_and_grads", "train_stacked"]

#: optimizers whose step is theta - lr * d with d independent of theta and lr (no weight decay)
STACKABLE_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


def stacked_loss_and_grads(
    params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, need_grads: bool = True
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cross-entropy loss and gradients of L one-hidden-layer ReLU MLPs at once (leading axis L).

        z1 = X W1 + b1,  h1 = relu(z1),  log p = log_softmax(h1 W2 + b2),  loss = -mean_i log p[i, y_i]
        dlogits = (softmax - onehot(y)) / B,  dz1 = (dlogits W2^T) * [z1 > 0]
        dW1 = X^T dz1,  db1 = sum_i dz1,  dW2 = h1^T dlogits,  db2 = sum_i dlogits

    params = [W1 (L, d, H), b1 (L, H), W2 (L, H, C), b2 (L, C)]; one batched
    matrix product per layer.

    Returns:
        (loss (L,), [dW1, db1, dW2, db2]) (an empty list unless need_grads).

    Example:
        >>> models = [MLP([4, 3, 2], rng=np.random.default_rng(seed)) for seed in (0, 1)]
        >>> X, y = np.random.default_rng(2).normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
        >>> loss, grads = stacked_loss_and_grads(stack_params(models), X, y)
        >>> loss.shape, [g.shape for g in grads]
        ((2,), [(2, 4, 3), (2, 3), (2, 3, 2), (2, 2)])
    """
    W1, b1, W2, b2 = params
    z1 = X @ W1 + b1[:, None, :]  # (L, B, H)
    h1 = np.maximum(z1, 0.0)
    log_probs = log_softmax(h1 @ W2 + b2[:, None, :])  # (L, B, C)
    rows = np.arange(len(y))
    loss = -log_probs[:, rows, y].mean(axis=1)
    if not need_grads:
        return loss, []
    dlogits = np.exp(log_probs)  # (softmax - onehot) / B
    dlogits[:, rows, y] -= 1.0
    dlogits /= len(y)
    dz1 = (dlogits @ W2.transpose(0, 2, 1)) * (z1 > 0)
    return loss, [X.T @ dz1, dz1.sum(axis=1), h1.transpose(0, 2, 1) @ dlogits, dlogits.sum(axis=1)]


def stack_params(models: Sequence[MLP]) -> list[np.ndarray]:
    """[W1, b1, W2, b2] of several one-hidden-layer MLPs, stacked on a new leading axis.

    Example:
        >>> [p.shape for p in stack_params([MLP([4, 3, 2], rng=np.random.default_rng(0))] * 5)]
        [(5, 4, 3), (5, 3), (5, 3, 2), (5, 2)]
    """
    return [np.stack([model.params[name] for model in models]) for name in ("W1", "b1", "W2", "b2")]


def train_stacked(
    params: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    lrs: Any,
    epochs: int,
    rng: np.random.Generator,
    optimizer: str = "adam",
    batch_size: int = 64,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Train L one-hidden-layer ReLU MLPs together, each with its own learning rate, on the same minibatches.

    For these optimizers (without weight decay) a step is
    ``theta <- theta - lr * d``, where the direction d depends on the gradients
    and the optimizer state but neither on theta nor on lr; so one call of
    ``NAME_step`` with theta = 0 and lr = 1 returns -d for all L runs, and each
    run scales it by its own rate.  Runs whose parameters or loss stop being
    finite are frozen at 0 and reported as nan.

    Args:
        params: [W1 (L, d, H), b1 (L, H), W2 (L, H, C), b2 (L, C)], e.g. from
            ``stack_params``; not modified.
        X, y: training inputs (n, d) and integer labels (n,).
        lrs: one learning rate per run (L,), or one for all.
        epochs: passes over the data (>= 0).
        rng: numpy Generator for the order of the examples (shared by all runs).
        optimizer: one of ``STACKABLE_OPTIMIZERS``, with its default hyperparameters
            ("momentum": torch's form with momentum 0.9).
        batch_size: examples per step.

    Returns:
        (params after training, losses (L, epochs + 1)): the loss on all of
        (X, y) at the start and after every epoch, nan once a run diverged.

    Example:
        >>> X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
        >>> start = stack_params([MLP([4, 8, 2], rng=np.random.default_rng(1))] * 3)
        >>> _, losses = train_stacked(start, X, y, lrs=[1e-3, 1e-1, 1e30], epochs=2, rng=np.random.default_rng(2),
        ...                           optimizer="sgd", batch_size=10)
        >>> losses[:2].round(3)             # the same start; after each epoch
        array([[1.018, 1.014, 1.01 ],
               [1.018, 0.723, 0.638]])
        >>> bool(np.isnan(losses[2, -1]))     # lr = 1e30 diverged
        True
    """
    check_choice(optimizer, "optimizer", STACKABLE_OPTIMIZERS)
    epochs = check_int(epochs, "epochs", 0)
    params = list(params)
    n_runs = len(params[0])
    lrs = np.broadcast_to(np.asarray(lrs, dtype=np.float64), (n_runs,))
    scale = [lrs.reshape((-1,) + (1,) * (p.ndim - 1)) for p in params]
    init_fn, step_fn = OPTIMIZERS[optimizer]
    states = [init_fn(p) for p in params]
    losses = np.full((n_runs, epochs + 1), np.nan)
    alive = np.ones(n_runs, dtype=bool)
    with one_blas_thread(), np.errstate(all="ignore"):  # diverging runs overflow, on purpose
        losses[:, 0] = stacked_loss_and_grads(params, X, y, need_grads=False)[0]
        for epoch in range(1, epochs + 1):
            for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
                _, grads = stacked_loss_and_grads(params, X_batch, y_batch)
                for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                    direction, states[i] = step_fn(np.zeros_like(p), g, states[i], lr=1.0)
                    params[i] = p + scale[i] * direction
                alive &= np.logical_and.reduce([np.isfinite(p).all(axis=tuple(range(1, p.ndim))) for p in params])
                for p in params:  # dead runs stay at 0, so they cost nothing and warn nothing
                    p[~alive] = 0.0
            epoch_loss = stacked_loss_and_grads(params, X, y, need_grads=False)[0]
            alive &= np.isfinite(epoch_loss)
            losses[alive, epoch] = epoch_loss[alive]
    return params, losses
