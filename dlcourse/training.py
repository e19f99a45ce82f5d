"""Training on the 8x8 digits: the course's one fixed split, its one training loop, and accuracy.

Every lecture, widget, exercise and check that trains on the digits uses the
same split, :func:`digits_split` (raw pixels in [0, 1]) or
:func:`standardized_digits_split` (the same examples scaled with training
statistics), so a number quoted in a lecture is the number a student
reproduces in an exercise and the number a check grades.

Every network of the course is trained by one loop, :func:`fit`, the slide's
minibatch gradient descent::

    for epoch in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):  # a new order every epoch
            loss, dlogits = softmax_cross_entropy(model.forward(X_batch), y_batch)
            model.backward(dlogits)                                      # fills model.grads
            step(model.grads)                                            # e.g. Optimizer(...).step
        metrics of the epoch (validation accuracy, ...)

:func:`train` is that loop for a ``dlcourse.layers.MLP`` and an optimizer
named in ``dlcourse.optim.OPTIMIZERS`` (with optional pruning masks), and
:func:`train_on_digits` trains a fresh MLP on the digits split.  Two kinds of
training are not this loop on purpose and live in their own modules:
``dlcourse.stacked`` trains many networks as one stacked array (a learning-rate
sweep in one pass), and ``dlcourse.batchnorm_mlp`` records a deep batch-norm
network's statistics between the steps of :func:`fit`.

Source: SDU summer school 'Gradient-Based Learning' (SGD on minibatches);
VU Amsterdam DLVU lecture 4 'Tools of the trade' (held-out data, standardize
with training statistics, the memory leak of ``total += loss``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from dlcourse._blas import one_blas_thread
from dlcourse._checks import check_choice, check_int, check_rng
from dlcourse.data import Split, load_digits, minibatches, standardize, train_val_test_split
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import OPTIMIZERS, Optimizer
from dlcourse.schedules import constant, linear_warmup

__all__ = [
    "DIGITS_SPLIT_SEED",
    "Model",
    "accuracy",
    "autograd_graph_size",
    "digits_split",
    "fit",
    "one_blas_thread",
    "standardized_digits_split",
    "train",
    "train_on_digits",
]

DIGITS_SPLIT_SEED = 0


# ------------------------------------------------------------------ the split


@functools.lru_cache(maxsize=1)
def _cached_split() -> Split:
    X, y = load_digits()
    return train_val_test_split(X, y, rng=np.random.default_rng(DIGITS_SPLIT_SEED))


def digits_split() -> Split:
    """The fixed split of the 8x8 digits used by the lectures, the exercises and the checks.

    Returns:
        ``Split(X_train, y_train, X_val, y_val, X_test, y_test)`` from
        ``dlcourse.data.train_val_test_split(X, y, rng=np.random.default_rng(0))``
        on ``dlcourse.data.load_digits()`` (pixels in [0, 1], 64 features;
        1257 / 270 / 270 examples, stratified).  Fresh copies at every call, so
        a caller may modify them.

    Example:
        >>> split = digits_split()
        >>> split.X_train.shape, split.X_val.shape, split.X_test.shape
        ((1257, 64), (270, 64), (270, 64))
        >>> float(split.X_train.min()), float(split.X_train.max())
        (0.0, 1.0)
    """
    return Split(*(part.copy() for part in _cached_split()))


@functools.cache
def standardized_digits_split(
    seed: int = DIGITS_SPLIT_SEED, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> Split:
    """The digits split (stratified, ``rng=default_rng(seed)``) with every pixel standardized.

        mean, std = mean and population std of X_train per pixel
        X' = (X - mean) / std    for X_train, X_val and X_test     (``dlcourse.data.standardize``)

    The statistics come from the TRAINING set only; the always-blank border
    pixels (std 0) are centred, not scaled.  With the defaults these are the
    examples of :func:`digits_split`.

    Args:
        seed: seeds the split.
        val_fraction, test_fraction: held-out fractions, as in
            ``dlcourse.data.train_val_test_split`` (``test_fraction=0`` gives an
            empty test set).

    Returns:
        ``Split(X_train, y_train, X_val, y_val, X_test, y_test)``; cached, so the
        arrays are read-only: copy them before changing them.

    Example:
        >>> data = standardized_digits_split()
        >>> data.X_train.shape, bool(abs(data.X_train.mean()) < 1e-12)
        ((1257, 64), True)
        >>> data.X_train.flags.writeable
        False
    """
    X, y = load_digits()
    split = train_val_test_split(X, y, val_fraction, test_fraction, rng=np.random.default_rng(seed))
    X_train, X_val, X_test, _, _ = standardize(split.X_train, split.X_val, split.X_test)
    data = Split(X_train, split.y_train, X_val, split.y_val, X_test, split.y_test)
    for array in data:
        array.flags.writeable = False
    return data


# ------------------------------------------------------------------ the loop


class Model(Protocol):
    """What :func:`fit` needs of a model (``dlcourse.layers.MLP`` is one).

    ``forward(X)`` returns the output for a batch and remembers what
    ``backward`` needs; ``backward(dout)`` fills ``grads`` (same keys as
    ``params``) with dL/dparam for dL/doutput = dout.
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def forward(self, X: np.ndarray) -> np.ndarray: ...

    def backward(self, dout: np.ndarray) -> Any: ...


def fit(
    model: Model,
    step: Callable[[dict[str, np.ndarray]], Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    rng: np.random.Generator | None = None,
    batches: Sequence[np.ndarray] | None = None,
    loss: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]] = softmax_cross_entropy,
    metrics: Mapping[str, Callable[[Model], float]] | None = None,
    on_step: Callable[[int, float], Any] | None = None,
    stop_if_not_finite: bool = False,
    progress: bool = True,
    desc: str = "epochs",
) -> dict[str, np.ndarray]:
    """Train ``model`` in place by minibatch gradient descent; return the history.

    For every epoch, for every minibatch (X_b, y_b)::

        L, dL/dout = loss(model.forward(X_b), y_b)
        model.backward(dL/dout)          # fills model.grads
        step(model.grads)                # updates model.params in place
        on_step(t, L)                    # t = updates done so far, 1, 2, ...

    and after every epoch each metric is evaluated on the model.

    Args:
        model: a :class:`Model` (``dlcourse.layers.MLP``, ``dlcourse.batchnorm_mlp.BatchNormMLP``).
        step: applies one update from the gradients, e.g.
            ``dlcourse.optim.Optimizer(model.params, "adam", lr=1e-3).step``.
        X, y: training inputs (n, ...) and targets (n, ...).
        epochs: passes over the batches (>= 0).
        batch_size: examples per step (>= 1); ``len(X)`` gives full-batch gradient descent.
        rng: numpy Generator for each epoch's new order (``dlcourse.data.minibatches``);
            required unless ``batches`` is given.
        batches: optional row indices of every step of an epoch, in order, used
            instead of a new shuffle per epoch (e.g. a stream of permutations
            whose batches cross epoch boundaries).
        loss: ``loss(output, y_b) -> (L, dL/doutput)``; softmax cross-entropy by default.
        metrics: name -> ``metric(model) -> float``, evaluated after every epoch
            (e.g. ``lambda m: accuracy(m, X_val, y_val)``).
        on_step: called after every update with the number of updates done and the batch loss.
        stop_if_not_finite: stop before updating when a batch loss is nan or
            inf (a diverging run); the remaining history is nan.  Otherwise a
            diverging run goes on (and its losses become nan).
        progress: show a tqdm progress bar over the epochs (off in widgets and nested runs).
        desc: the progress bar's label.

    Returns:
        dict: ``"step_loss"`` (steps,), the loss of every minibatch;
        ``"loss"`` (epochs,), each epoch's mean loss over its examples
        (sum of L * len(y_b) / examples per epoch); one (epochs,) array per metric.
        Entries after a stop are nan.

    Example:
        >>> data = standardized_digits_split()
        >>> model = MLP([64, 16, 10], rng=np.random.default_rng(0))
        >>> opt = Optimizer(model.params, "adam", lr=1e-2)
        >>> history = fit(model, opt.step, data.X_train[:200], data.y_train[:200], epochs=2, batch_size=50,
        ...               rng=np.random.default_rng(1), progress=False,
        ...               metrics={"val": lambda m: accuracy(m, data.X_val, data.y_val)})
        >>> history["step_loss"].shape, history["loss"].shape, history["val"].shape
        ((8,), (2,), (2,))
        >>> bool(history["loss"][1] < history["loss"][0])
        True
    """
    epochs = check_int(epochs, "epochs", 0)
    batch_size = check_int(batch_size, "batch_size", 1)
    metrics = dict(metrics or {})
    if batches is None:
        rng = check_rng(rng)
        steps_per_epoch, examples_per_epoch = math.ceil(len(X) / batch_size), len(X)
    else:
        batches = [np.asarray(rows) for rows in batches]
        steps_per_epoch, examples_per_epoch = len(batches), sum(len(rows) for rows in batches)
    history = {"step_loss": np.full(epochs * steps_per_epoch, np.nan), "loss": np.zeros(epochs),
               **{name: np.full(epochs, np.nan) for name in metrics}}
    epoch_range: Any = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc=desc, leave=False)
    t, diverged = 0, False
    with one_blas_thread():
        for epoch in epoch_range:
            epoch_batches = (minibatches(X, y, batch_size, rng=rng) if batches is None
                             else ((X[rows], y[rows]) for rows in batches))
            for X_batch, y_batch in epoch_batches:
                batch_loss, dout = loss(model.forward(X_batch), y_batch)
                if stop_if_not_finite and not np.isfinite(batch_loss):
                    diverged = True
                    break
                model.backward(dout)
                step(model.grads)
                history["step_loss"][t] = batch_loss
                history["loss"][epoch] += batch_loss * len(y_batch) / examples_per_epoch
                t += 1
                if on_step is not None:
                    on_step(t, batch_loss)
            if diverged:
                history["loss"][epoch:] = np.nan
                break
            for name, metric in metrics.items():
                history[name][epoch] = metric(model)
    if progress:
        epoch_range.close()
    return history


def train(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    rng: np.random.Generator,
    optimizer: str = "adam",
    batch_size: int = 64,
    masks: Mapping[str, np.ndarray] | None = None,
    monitor: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    progress: bool = True,
    **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Train an MLP in place with softmax cross-entropy and a named optimizer (:func:`fit`); return the history.

    Args:
        model: a ``dlcourse.layers.MLP``; its ``params`` are updated in place.
        X, y: training inputs (n, d) and integer labels (n,).
        epochs: passes over the data (>= 0).
        lr: learning rate (>= 0).
        rng: numpy Generator for the order of the examples.
        optimizer: a name in ``dlcourse.optim.OPTIMIZERS`` ("sgd", "momentum", "adam", ...).
        batch_size: examples per step; ``len(X)`` gives full-batch gradient descent.
        masks: optional ``name -> 0/1 array`` for pruned weights: those
            parameters are multiplied by their mask before training and their
            gradients at every step, so pruned weights stay exactly 0 (with
            SGD, momentum and Adam without weight decay).
        monitor: optional ``name -> (X, y)``: the accuracy on each is recorded after every epoch.
        progress: show a tqdm progress bar over the epochs.
        **hyperparameters: passed to the optimizer (momentum=0.9, betas=...).

    Returns:
        :func:`fit`'s history: "loss" -> (epochs,) the mean minibatch loss of
        each epoch (the average over the examples), "step_loss", and one
        (epochs,) accuracy array per ``monitor`` name.

    Example:
        >>> data = standardized_digits_split()
        >>> model = MLP([64, 16, 10], rng=np.random.default_rng(0))
        >>> history = train(model, data.X_train[:300], data.y_train[:300], epochs=1, lr=1e-2,
        ...                 rng=np.random.default_rng(1), monitor={"val": (data.X_val, data.y_val)}, progress=False)
        >>> history["step_loss"].round(2)                 # 300 examples, batches of 64
        array([2.77, 2.57, 2.21, 2.16, 1.94])
        >>> round(float(history["loss"][0]), 3), round(float(history["val"][0]), 3)
        (2.354, 0.356)
    """
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    masks = dict(masks or {})
    unknown = sorted(set(masks) - set(model.params))
    if unknown:
        raise ValueError(f"masks has keys {unknown} that are not parameters of the model {sorted(model.params)}")
    for name, mask in masks.items():
        model.params[name] *= mask
    opt = Optimizer(model.params, optimizer, lr=lr, **hyperparameters)

    def masked_step(grads: dict[str, np.ndarray]) -> None:
        opt.step({name: g * masks[name] if name in masks else g for name, g in grads.items()})

    def accuracy_on(X_eval: np.ndarray, y_eval: np.ndarray) -> Callable[[MLP], float]:
        return lambda trained: accuracy(trained, X_eval, y_eval)

    metrics = {name: accuracy_on(X_eval, y_eval) for name, (X_eval, y_eval) in (monitor or {}).items()}
    return fit(model, masked_step, X, y, epochs=epochs, batch_size=batch_size, rng=rng, metrics=metrics,
               progress=progress)


def train_on_digits(
    optimizer: str,
    epochs: int = 5,
    *,
    seed: int = 0,
    hidden: int = 64,
    batch_size: int = 32,
    warmup_steps: int = 0,
    **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Train a 64-hidden-10 ReLU MLP on :func:`digits_split` with one optimizer; return its learning curves.

    ``rng = default_rng(seed)`` draws the He-normal initial weights
    (``MLP(..., rng=rng)``) and then each epoch's shuffle, so the same seed
    gives every optimizer the same start and the same batches (:func:`fit`).
    Loss: softmax cross-entropy (mean).

    Args:
        optimizer: a name in ``dlcourse.optim.OPTIMIZERS``.
        epochs: passes over the training set, ``>= 1``.
        seed: the run's seed.
        hidden: width of the hidden layer, ``>= 1``.
        batch_size: ``>= 1``.
        warmup_steps: ``>= 0``; if positive, the learning rate ``lr`` (which
            must then be given) is warmed up linearly from 0 over that many
            steps, ``dlcourse.schedules.linear_warmup(constant(lr), warmup_steps)``
            (torch: ``LambdaLR(optimizer, lambda k: min(1, k / warmup_steps))``).
        **hyperparameters: passed to the step function (``lr=...``).

    Returns:
        dict with ``loss`` (the minibatch loss at every step), ``train_loss``
        (the mean of each epoch's minibatch losses, every batch counted once)
        and ``val_accuracy`` (after each epoch).

    Example:
        >>> history = train_on_digits("sgd", 1, lr=0.1)    # 1257 examples, batches of 32
        >>> history["loss"].shape, history["train_loss"].round(3), history["val_accuracy"].round(3)
        ((40,), array([1.769]), array([0.781]))
    """
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    epochs, hidden = check_int(epochs, "epochs", 1), check_int(hidden, "hidden", 1)
    warmup_steps = check_int(warmup_steps, "warmup_steps", 0)
    if warmup_steps and "lr" not in hyperparameters:
        raise ValueError(f"warmup_steps={warmup_steps} warms up lr, so lr must be given (lr=...)")
    split = _cached_split()
    rng = np.random.default_rng(seed)
    model = MLP([split.X_train.shape[1], hidden, 10], activation="relu", init="he_normal", rng=rng)
    opt = Optimizer(model.params, optimizer, **hyperparameters)
    on_step = None
    if warmup_steps:
        schedule = linear_warmup(constant(hyperparameters["lr"]), warmup_steps)
        opt.hyperparameters["lr"] = schedule(0)

        def on_step(updates: int, loss: float) -> None:  # the rate of the next update
            opt.hyperparameters["lr"] = schedule(updates)

    history = fit(model, opt.step, split.X_train, split.y_train, epochs=epochs, batch_size=batch_size, rng=rng,
                  on_step=on_step, progress=False,
                  metrics={"val_accuracy": lambda trained: accuracy(trained, split.X_val, split.y_val)})
    per_epoch = np.split(history["step_loss"], epochs)
    return {"loss": history["step_loss"], "train_loss": np.array([np.mean(losses) for losses in per_epoch]),
            "val_accuracy": history["val_accuracy"]}


def accuracy(model: Model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the examples whose largest output is the label: mean(argmax_k model(X)[:, k] == y).

    Example:
        >>> model = MLP([64, 8, 10], rng=np.random.default_rng(0))
        >>> 0.0 <= accuracy(model, digits_split().X_val, digits_split().y_val) <= 1.0
        True
    """
    with one_blas_thread():
        return float(np.mean(model.forward(X).argmax(axis=1) == y))


def autograd_graph_size(value: Any) -> int:
    """Number of autograd nodes reachable from a torch tensor's ``grad_fn`` (0 for floats and detached tensors).

    Every node holds what its backward pass needs (inputs, activations), so this
    counts how much of the computation a value keeps alive: ``total += loss``
    in a torch training loop keeps every step's graph (the memory leak of DLVU
    lecture 4), ``total += loss.item()`` keeps none.

    Example:
        >>> autograd_graph_size(0.5)
        0
    """
    node = getattr(value, "grad_fn", None)
    seen, todo = set(), [node]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(parent for parent, _ in node.next_functions)
    return len(seen)
