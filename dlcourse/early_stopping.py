"""Early stopping: keep the weights of the epoch where the validation loss was lowest (lecture 08).

``early_stopping`` is the rule applied to a validation curve;
``early_stopping_run`` records the curves it reads, for a small MLP that
overfits a few digits with some labels flipped.

Source: Goodfellow, Bengio & Courville, "Deep Learning", MIT Press 2016,
section 7.8 (early stopping, its patience, and why it acts like an L2
penalty); VU Amsterdam DLVU lecture 4 'Tools of the trade' (held-out data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import Optimizer
from dlcourse.training import accuracy, digits_split, fit

__all__ = ["early_stopping", "early_stopping_run"]


def early_stopping(val_loss: Sequence[float], patience: int) -> tuple[int, int]:
    """Where the early-stopping rule stops on a validation curve, and which epoch's weights it keeps.

    With val_loss[t] measured after epoch t (t = 0, 1, ...):

        best(t) = the first s <= t with the smallest val_loss[s]
        stop    = the first t with t - best(t) >= patience      (the last t if there is none)
        keep      the weights of epoch best(stop)

    Args:
        val_loss: the validation losses, in order (NaN counts as no improvement).
        patience: epochs without a new best before stopping, >= 1.

    Returns:
        ``(stop, best)``: indices into ``val_loss``.

    Notes:
        Goodfellow et al. (2016, algorithm 7.1) evaluate every n steps and
        stop after ``patience`` evaluations without improvement, as here.
        Keeping the best weights needs a copy of them whenever a new best is
        found (torch: ``copy.deepcopy(model.state_dict())``).

    Example:
        >>> early_stopping([1.0, 0.7, 0.6, 0.65, 0.62, 0.7, 0.8], patience=3)
        (5, 2)
        >>> early_stopping([1.0, 0.7, 0.6], patience=3)     # never patient long enough: train to the end
        (2, 2)
    """
    val_loss = as_float_array(val_loss, "val_loss")
    if val_loss.ndim != 1 or len(val_loss) == 0:
        raise ValueError(f"val_loss must be a non-empty sequence of numbers, got shape {val_loss.shape}")
    patience = check_int(patience, "patience", 1)
    best = 0
    for t in range(len(val_loss)):
        if val_loss[t] < val_loss[best]:
            best = t
        if t - best >= patience:
            return t, best
    return len(val_loss) - 1, best


def early_stopping_run(
    n_train: int = 300, *, label_noise: float = 0.2, hidden: int = 64, epochs: int = 60, lr: float = 1e-2,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train a 64-``hidden``-10 MLP on a few digits, some labels flipped, and record what early stopping reads.

    ``rng = default_rng(seed)`` picks ``n_train`` examples of
    :func:`dlcourse.training.digits_split`'s training set, replaces a fraction
    ``label_noise`` of their labels by uniformly random ones (which may hit the
    true label), draws the He-normal weights and each epoch's order.  Adam
    (``lr``), batches of 32, softmax cross-entropy, no other regularization.
    After every epoch: the training loss (the epoch's mean minibatch loss,
    on the noisy labels), the validation loss and accuracy (true labels), and
    the norm of all weights and biases.

    Args:
        n_train: training examples, 10 to 1257.
        label_noise: fraction of labels replaced, in [0, 1].
        hidden: width of the hidden layer, >= 1.
        epochs: >= 1.
        lr: Adam's learning rate, > 0.
        seed: seeds everything above.

    Returns:
        dict of (epochs,) arrays "train_loss", "val_loss", "val_accuracy", "weight_norm"
        (index t: after epoch t + 1), and "flipped", the number of labels changed.

    Example:
        >>> run = early_stopping_run(100, epochs=3)
        >>> run["val_loss"].round(3), int(run["flipped"])
        (array([2.092, 1.853, 1.646]), 21)
    """
    n_train, hidden = check_int(n_train, "n_train", 10), check_int(hidden, "hidden", 1)
    epochs = check_int(epochs, "epochs", 1)
    label_noise = check_range(label_noise, "label_noise", 0.0, 1.0)
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    split = digits_split()
    if n_train > len(split.X_train):
        raise ValueError(f"n_train must be at most the {len(split.X_train)} training examples, got {n_train}")
    rng = np.random.default_rng(seed)
    few = rng.permutation(len(split.X_train))[:n_train]
    X, y = split.X_train[few], split.y_train[few].copy()
    flip = rng.random(n_train) < label_noise
    y[flip] = rng.integers(0, 10, flip.sum())
    model = MLP([64, hidden, 10], rng=rng)
    history = fit(model, Optimizer(model.params, "adam", lr=lr).step, X, y, epochs=epochs, batch_size=32, rng=rng,
                  progress=False, metrics={
                      "val_loss": lambda m: softmax_cross_entropy(m.forward(split.X_val), split.y_val)[0],
                      "val_accuracy": lambda m: accuracy(m, split.X_val, split.y_val),
                      "weight_norm": lambda m: np.sqrt(sum(np.sum(p**2) for p in m.params.values()))})
    return {"train_loss": history["loss"], "val_loss": history["val_loss"], "val_accuracy": history["val_accuracy"],
            "weight_norm": history["weight_norm"], "flipped": np.array(int(np.sum(y != split.y_train[few])))}
