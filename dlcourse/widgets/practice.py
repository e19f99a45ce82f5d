"""Lecture 09, 'The practice of training': a learning-rate sweep, broadcasting, and training helpers.

Widgets:

* ``lr_sweep_explorer``: the training loss on the digits after a few epochs,
  against a log-spaced grid of learning rates, for SGD, momentum and Adam; the
  best rate and the edge where training blows up are marked.
* ``broadcasting_explorer``: two array shapes and an operation; the broadcast
  shape step by step and the values as heat maps, with the silent
  (N,1) - (N,) -> (N,N) bug and what ``keepdims`` changes.

Helpers the lectures share: ``digits_data`` (the standardized digits split),
``train`` (a minibatch training loop for ``dlcourse.layers.MLP``, with optional
pruning masks), ``accuracy`` and ``autograd_graph_size`` (how much autograd
graph a torch tensor keeps alive).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (debugging: asserts,
broadcasting and keepdim, the memory leak, NaN, "no learning" and a
logarithmic learning-rate sweep).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
from matplotlib.patches import Rectangle

from dlcourse._checks import check_choice, check_int, check_range, check_rng
from dlcourse.data import Split, load_digits, minibatches, standardize, train_val_test_split
from dlcourse.layers import MLP, log_softmax, softmax_cross_entropy
from dlcourse.optim import OPTIMIZERS, Optimizer
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import fixed_margins, one_blas_thread, plain_log_ticks

__all__ = [
    "digits_data", "train", "accuracy", "autograd_graph_size",
    "STACKABLE_OPTIMIZERS", "stacked_loss_and_grads", "stack_params", "train_stacked",
    "LR_GRID", "SWEEP_OPTIMIZERS", "SWEEP_EPOCHS", "LRSweep", "lr_sweep", "lr_sweep_view", "draw_lr_sweep",
    "lr_sweep_explorer",
    "SHAPES", "OPERATIONS", "broadcast_demo", "draw_broadcast", "broadcasting_explorer",
]


# ------------------------------------------------------------ shared helpers


@functools.cache
def digits_data(seed: int = 0) -> Split:
    """The 8x8 digits split 70/15/15 (stratified, ``rng=default_rng(seed)``), standardized.

    Every pixel is scaled with the TRAINING mean and standard deviation
    (``dlcourse.data.standardize``).  Cached: the arrays are read-only, copy
    them before changing them.

    Returns:
        ``Split(X_train (1257, 64), y_train, X_val (270, 64), y_val, X_test (270, 64), y_test)``.
    """
    X, y = load_digits()
    split = train_val_test_split(X, y, rng=np.random.default_rng(seed))
    X_train, X_val, X_test, _, _ = standardize(split.X_train, split.X_val, split.X_test)
    data = Split(X_train, split.y_train, X_val, split.y_val, X_test, split.y_test)
    for array in data:
        array.flags.writeable = False
    return data


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
    progress: bool = False,
    **hyperparameters: Any,
) -> dict[str, np.ndarray]:
    """Train ``model`` in place with softmax cross-entropy on minibatches; return the history.

    Each epoch visits the examples in a new random order (``dlcourse.data.minibatches``);
    each step is forward, ``softmax_cross_entropy``, backward, one optimizer step
    (``dlcourse.optim.Optimizer``).

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
        dict: "loss" -> (epochs,) the mean minibatch loss of each epoch
        (the average over the examples), and one (epochs,) accuracy array per
        ``monitor`` name.
    """
    epochs = check_int(epochs, "epochs", 0)
    rng = check_rng(rng)
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    masks = dict(masks or {})
    monitor = dict(monitor or {})
    unknown = sorted(set(masks) - set(model.params))
    if unknown:
        raise ValueError(f"masks has keys {unknown} that are not parameters of the model {sorted(model.params)}")
    for name, mask in masks.items():
        model.params[name] *= mask
    opt = Optimizer(model.params, optimizer, lr=lr, **hyperparameters)
    history = {"loss": np.zeros(epochs), **{name: np.zeros(epochs) for name in monitor}}
    epoch_range = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc="epochs", leave=False)
    with one_blas_thread():
        for epoch in epoch_range:
            for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
                loss, dlogits = softmax_cross_entropy(model.forward(X_batch), y_batch)
                model.backward(dlogits)
                opt.step({name: g * masks[name] if name in masks else g for name, g in model.grads.items()})
                history["loss"][epoch] += loss * len(y_batch) / len(X)
            for name, (X_eval, y_eval) in monitor.items():
                history[name][epoch] = accuracy(model, X_eval, y_eval)
    return history


def accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the examples whose largest output is the label."""
    with one_blas_thread():
        return float(np.mean(model.forward(X).argmax(axis=1) == y))


def autograd_graph_size(value: Any) -> int:
    """Number of autograd nodes reachable from a torch tensor's ``grad_fn`` (0 for floats and detached tensors).

    Every node holds what its backward pass needs (inputs, activations), so this
    counts how much of the computation a value keeps alive.
    """
    node = getattr(value, "grad_fn", None)
    seen, todo = set(), [node]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(parent for parent, _ in node.next_functions)
    return len(seen)


# ------------------------------------------------------ learning-rate sweep

#: 10^-4 ... 10^1 in quarter decades: 1e-4, 1.8e-4, 3.2e-4, 5.6e-4, 1e-3, ...
LR_GRID = 10.0 ** np.arange(-4.0, 1.001, 0.25)
SWEEP_OPTIMIZERS = ("sgd", "momentum", "adam")
SWEEP_EPOCHS = 10


class LRSweep(NamedTuple):
    """Training losses of one network trained at every learning rate of a grid."""

    optimizer: str
    lrs: np.ndarray  # (L,)
    losses: np.ndarray  # (L, epochs + 1): full training-set loss at the start and after each epoch; nan = diverged


#: optimizers whose step is theta - lr * d with d independent of theta and lr (no weight decay)
STACKABLE_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


def stacked_loss_and_grads(
    params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, need_grads: bool = True
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cross-entropy loss and gradients of L one-hidden-layer ReLU MLPs at once (leading axis L).

    params = [W1 (L, d, H), b1 (L, H), W2 (L, H, C), b2 (L, C)]; the equations
    are ``dlcourse.layers.MLP``'s with ``softmax_cross_entropy``, one batched
    matrix product per layer.

    Returns:
        (loss (L,), [dW1, db1, dW2, db2]) (an empty list unless need_grads).
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
    """[W1, b1, W2, b2] of several one-hidden-layer MLPs, stacked on a new leading axis."""
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
                for i, (p, g) in enumerate(zip(params, grads)):
                    direction, states[i] = step_fn(np.zeros_like(p), g, states[i], lr=1.0)
                    params[i] = p + scale[i] * direction
                alive &= np.logical_and.reduce([np.isfinite(p).all(axis=tuple(range(1, p.ndim))) for p in params])
                for p in params:  # dead runs stay at 0, so they cost nothing and warn nothing
                    p[~alive] = 0.0
            epoch_loss = stacked_loss_and_grads(params, X, y, need_grads=False)[0]
            alive &= np.isfinite(epoch_loss)
            losses[alive, epoch] = epoch_loss[alive]
    return params, losses


@functools.lru_cache(maxsize=8)
def lr_sweep(
    optimizer: str, epochs: int = SWEEP_EPOCHS, hidden: int = 32, batch_size: int = 64, seed: int = 0
) -> LRSweep:
    """Train a 64-``hidden``-10 ReLU MLP on the digits at every learning rate in ``LR_GRID``.

    All runs start from the same weights (``MLP``'s He-normal init, seed
    ``seed``) and see the same minibatches, so they differ only in the learning
    rate (``train_stacked`` trains them together).

    Args:
        optimizer: "sgd", "momentum" (torch form, momentum 0.9) or "adam" (defaults).
        epochs: passes over the 1257 standardized training digits (>= 1).
        hidden: width of the hidden layer.
        batch_size: examples per step.
        seed: seeds the init and the order of the minibatches.

    Returns:
        ``LRSweep(optimizer, lrs, losses)`` with losses (len(LR_GRID), epochs + 1):
        the cross-entropy on the whole training set before training and after
        every epoch; nan once a run's parameters or loss stop being finite.
        Cached: the arrays are read-only.
    """
    check_choice(optimizer, "optimizer", SWEEP_OPTIMIZERS)
    epochs = check_int(epochs, "epochs", 1)
    data = digits_data(0)
    rng = np.random.default_rng(seed)
    model = MLP([data.X_train.shape[1], hidden, 10], rng=rng)
    params = stack_params([model] * len(LR_GRID))
    _, losses = train_stacked(params, data.X_train, data.y_train, lrs=LR_GRID, epochs=epochs, rng=rng,
                              optimizer=optimizer, batch_size=batch_size)
    losses.flags.writeable = False
    return LRSweep(optimizer, LR_GRID, losses)


def lr_sweep_view(
    optimizer: str, epochs: int, log10_lr_range: tuple[float, float], compare: bool = False
) -> dict[str, Any]:
    """What the sweep widget shows: final losses in a learning-rate range, the best rate, the divergence edge.

    A run is *unstable* when its loss after ``epochs`` is nan (diverged) or above
    the loss at the start.  The best rate is the one with the lowest final loss
    in the range; the divergence edge is the smallest rate of the whole grid
    above the best one whose run is unstable (None if there is none).

    Args:
        optimizer: one of ``SWEEP_OPTIMIZERS``.
        epochs: 1 .. ``SWEEP_EPOCHS``.
        log10_lr_range: (low, high) exponents, e.g. (-4, 1) for 1e-4 .. 10.
        compare: also return the final losses of the other optimizers.

    Returns:
        dict with lrs (in range), final (their losses), curves (in range, epochs + 1),
        best_lr, best_loss, edge_lr, initial_loss, unstable (bool per rate in range)
        and others (name -> final losses over the range; empty unless compare).
    """
    check_choice(optimizer, "optimizer", SWEEP_OPTIMIZERS)
    epochs = check_int(epochs, "epochs", 1)
    if epochs > SWEEP_EPOCHS:
        raise ValueError(f"epochs must be <= {SWEEP_EPOCHS} (the sweep is precomputed that far), got {epochs}")
    low, high = (check_range(v, "log10_lr_range", -10, 10) for v in log10_lr_range)
    if low > high:
        raise ValueError(f"log10_lr_range must be (low, high) with low <= high, got {log10_lr_range}")
    sweep = lr_sweep(optimizer)
    exponents = np.log10(sweep.lrs)
    in_range = (exponents >= low - 1e-9) & (exponents <= high + 1e-9)
    initial_loss = float(sweep.losses[0, 0])
    final_all = sweep.losses[:, epochs]
    unstable_all = ~np.isfinite(final_all) | (final_all > initial_loss)
    final = final_all[in_range]
    best_lr = best_loss = edge_lr = None
    if np.isfinite(final).any():
        best = int(np.nanargmin(final))
        best_lr, best_loss = float(sweep.lrs[in_range][best]), float(final[best])
        above = np.flatnonzero(unstable_all & (sweep.lrs > best_lr))
        edge_lr = float(sweep.lrs[above[0]]) if above.size else None
    others = {name: lr_sweep(name).losses[in_range, epochs] for name in SWEEP_OPTIMIZERS if compare and name != optimizer}
    return {
        "lrs": sweep.lrs[in_range], "final": final, "curves": sweep.losses[in_range, : epochs + 1],
        "best_lr": best_lr, "best_loss": best_loss, "edge_lr": edge_lr, "initial_loss": initial_loss,
        "unstable": unstable_all[in_range], "others": others,
    }


_LOSS_CAP = 10.0  # diverged runs are drawn at the top of the plot


def draw_lr_sweep(figure: Any, data: dict[str, Any], optimizer: str, epochs: int, **_: Any) -> None:
    """Final loss against the learning rate (left) and the loss curves of those rates (right)."""
    fixed_margins(figure, left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.2)
    sweep_ax, curve_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    lrs, final = data["lrs"], data["final"]
    shown = np.where(np.isfinite(final), np.minimum(final, _LOSS_CAP), _LOSS_CAP)
    sweep_ax.plot(lrs, shown, "o-", color="C0", label=f"{optimizer}, after {epochs} epoch{'s' * (epochs > 1)}")
    for name, other in data["others"].items():
        color = f"C{SWEEP_OPTIMIZERS.index(name)}"
        sweep_ax.plot(lrs, np.where(np.isfinite(other), np.minimum(other, _LOSS_CAP), _LOSS_CAP), ".--",
                      color=color, alpha=0.6, label=name)
    diverged = ~np.isfinite(final)
    if diverged.any():
        sweep_ax.plot(lrs[diverged], shown[diverged], "x", color="red", ms=10, mew=2, label="diverged (nan)")
    sweep_ax.axhline(data["initial_loss"], color="gray", ls=":", lw=1, label=f"loss at the start ({data['initial_loss']:.2f})")
    if data["best_lr"] is not None:
        sweep_ax.plot(data["best_lr"], data["best_loss"], "*", color="gold", mec="black", ms=16, zorder=5,
                      label=f"best: lr = {data['best_lr']:.2g} (loss {data['best_loss']:.3f})")
    if data["edge_lr"] is not None and data["edge_lr"] <= lrs.max():
        sweep_ax.axvspan(data["edge_lr"] / 10**0.125, lrs.max() * 10**0.125, color="red", alpha=0.08)
        sweep_ax.axvline(data["edge_lr"], color="red", lw=1)
        sweep_ax.text(data["edge_lr"], 0.5, f"unstable from {data['edge_lr']:.2g} ", color="red", rotation=90,
                      ha="right", va="center", transform=sweep_ax.get_xaxis_transform(), fontsize=9)
    sweep_ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="training loss (capped at 10)",
                 xlim=(lrs.min() / 10**0.125, lrs.max() * 10**0.125), title="Loss after training vs learning rate")
    plain_log_ticks(sweep_ax.xaxis)
    plain_log_ticks(sweep_ax.yaxis)
    sweep_ax.legend(fontsize=8, loc="lower left")
    colors = mpl.colormaps["viridis"](np.linspace(0, 1, max(len(lrs), 2)))
    epochs_axis = np.arange(epochs + 1)
    for lr, curve, color in zip(lrs, data["curves"], colors):
        best = data["best_lr"] is not None and lr == data["best_lr"]
        curve_ax.plot(epochs_axis, np.minimum(curve, _LOSS_CAP), color="black" if best else color,
                      lw=2.5 if best else 1, zorder=3 if best else 2)
        last = np.flatnonzero(np.isfinite(curve))[-1]
        if last < epochs:
            curve_ax.plot(last, min(curve[last], _LOSS_CAP), "x", color="red")
    # a colorbar would be a third axes (~30 ms per update): name the colours instead
    curve_ax.set(yscale="log", xlabel="epoch", ylabel="training loss",
                 title=f"Loss curves: dark lr {lrs.min():.2g} ... yellow {lrs.max():.2g}, black best")
    plain_log_ticks(curve_ax.yaxis)
    curve_ax.set_xticks(epochs_axis)


@register
def lr_sweep_explorer(
    optimizer: str = "sgd", epochs: int = 5, log10_lr_range: tuple[float, float] = (-3.5, 1.0), compare: bool = False
) -> Explorer:
    """A log-spaced learning-rate sweep on the digits: where training works, and where it blows up.

    The sweeps (21 rates x 3 optimizers x 10 epochs) are computed once, on the
    first call (about 1 s), and cached; moving a control only reads them.
    Update time, measured via ``Explorer.update_times`` over 16 updates (every
    control, 4 rounds) on a 2-core machine shared with other jobs (load 3-5):
    median 105 ms, max 320 ms wall clock; median 100 ms, max 195 ms of CPU time.
    """
    for name in SWEEP_OPTIMIZERS:
        lr_sweep(name)
    controls = {
        "optimizer": widgets.Dropdown(options=list(SWEEP_OPTIMIZERS), value=optimizer, description="optimizer"),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=SWEEP_EPOCHS, description="epochs"),
        "log10_lr_range": widgets.FloatRangeSlider(
            value=log10_lr_range, min=-4.0, max=1.0, step=0.25, description="log10 lr", readout_format=".2f"
        ),
        "compare": widgets.Checkbox(value=compare, description="compare optimizers"),
    }
    return Explorer(
        controls, lr_sweep_view, draw_lr_sweep, figsize=(11.0, 4.2),
        description="Learning-rate sweep: a 64-32-10 MLP on the digits, the same init and batches for every rate",
    )


# ---------------------------------------------------------------- broadcasting

_N, _D = 4, 3  # distinct sizes, so a mix-up of N and D raises instead of passing silently
_NAMES = {_N: "N", _D: "D"}
#: shape label -> symbolic shape
SHAPES: dict[str, tuple[Any, ...]] = {
    "(N,)": ("N",), "(N,1)": ("N", 1), "(1,N)": (1, "N"), "(N,D)": ("N", "D"), "(D,)": ("D",),
}
#: operation label -> (reduce b first?, keepdims)
OPERATIONS: dict[str, tuple[bool, bool]] = {
    "a - b": (False, False),
    "a * b": (False, False),
    "a - b.mean(axis=-1)": (True, False),
    "a - b.mean(axis=-1, keepdims=True)": (True, True),
}


def _numeric(shape: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple({"N": _N, "D": _D}.get(s, s) for s in shape)


def _symbolic(shape: tuple[int, ...]) -> str:
    """(4, 3) -> '(N,D)' using the names N = 4, D = 3."""
    names = [_NAMES.get(s, str(s)) for s in shape]
    return "(" + ",".join(names) + ("," if len(names) == 1 else "") + ")"


def broadcast_demo(shape_a: str, shape_b: str, operation: str) -> dict[str, Any]:
    """Apply ``operation`` to arrays a and b of the given shapes (N = 4, D = 3) and explain the broadcast.

    Broadcasting (numpy and torch alike): align the two shapes on the RIGHT, pad
    the shorter one with leading 1s, then stretch every size-1 axis to the other
    array's size; any other mismatch is an error.

    Args:
        shape_a, shape_b: keys of ``SHAPES``.
        operation: a key of ``OPERATIONS``; the reductions are applied to b before
            the subtraction (``b.mean(axis=-1)`` drops the last axis,
            ``keepdims=True`` keeps it with size 1).

    Returns:
        dict with a, b (the operand after any reduction), result (None on error),
        result_shape, steps (label -> (a's axes, b's axes) as symbols, right-aligned,
        "" where an axis does not exist yet), error (a message or None), outer
        (True when the result has more entries than both operands: the silent
        (N,1) - (N,) -> (N,N) kind of bug).
    """
    check_choice(shape_a, "shape_a", tuple(SHAPES))
    check_choice(shape_b, "shape_b", tuple(SHAPES))
    reduce, keepdims = OPERATIONS[check_choice(operation, "operation", tuple(OPERATIONS))]
    a_shape, b_shape = _numeric(SHAPES[shape_a]), _numeric(SHAPES[shape_b])
    a = np.arange(1.0, 1 + np.prod(a_shape)).reshape(a_shape)
    b = 10.0 * np.arange(1.0, 1 + np.prod(b_shape)).reshape(b_shape)
    if reduce:
        b = b.mean(axis=-1, keepdims=keepdims)
    width = max(a.ndim, b.ndim, 1)
    padded = [(1,) * (width - x.ndim) + x.shape for x in (a, b)]

    def symbols(shape: tuple[int, ...], blank: int = 0) -> list[str]:
        return [""] * blank + [_NAMES.get(s, str(s)) for s in shape]

    steps = {
        "align right": (symbols(a.shape, width - a.ndim), symbols(b.shape, width - b.ndim)),
        "pad with 1s": (symbols(padded[0]), symbols(padded[1])),
    }
    try:
        result_shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        axis = next(i for i, (p, q) in enumerate(zip(*padded)) if p != q and 1 not in (p, q))
        error = (f"shapes {_symbolic(a.shape)} and {_symbolic(b.shape)} cannot be broadcast: axis {axis - width} "
                 f"has sizes {padded[0][axis]} and {padded[1][axis]}, and neither is 1")
        return {"a": a, "b": b, "result": None, "result_shape": None, "steps": steps, "error": error, "outer": False}
    steps["stretch the 1s"] = (symbols(result_shape), symbols(result_shape))
    result = a * b if operation == "a * b" else a - b
    outer = result.size > max(a.size, b.size)
    return {"a": a, "b": b, "result": result, "result_shape": result_shape, "steps": steps, "error": None,
            "outer": outer}


def _heat_map(ax: Any, values: np.ndarray, title: str, cmap: str, boxed_diagonal: bool = False) -> None:
    grid = values.reshape(1, -1) if values.ndim < 2 else values  # a 1-D array is drawn as a row: it broadcasts as (1, k)
    ax.imshow(grid, cmap=cmap, vmin=grid.min() - 0.3 * np.ptp(grid) - 1e-9, vmax=grid.max() + 1e-9)
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=9)
    if boxed_diagonal:
        for k in range(min(grid.shape)):
            ax.add_patch(Rectangle((k - 0.5, k - 0.5), 1, 1, fill=False, ec="black", lw=2))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_broadcast(figure: Any, data: dict[str, Any], shape_a: str, shape_b: str, operation: str) -> None:
    """Heat maps of a, b and the result with their shapes, and the broadcasting steps as text."""
    fixed_margins(figure, left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.15, hspace=0.25)
    grid = figure.add_gridspec(2, 3, height_ratios=[2, 1.3])
    a_ax, b_ax, r_ax = (figure.add_subplot(grid[0, i]) for i in range(3))
    operand = "b" if operation in ("a - b", "a * b") else operation.split(" - ", 1)[1]
    _heat_map(a_ax, data["a"], f"a: shape {shape_a}", "Blues")
    _heat_map(b_ax, data["b"], f"{operand}: shape {_symbolic(data['b'].shape)}", "Oranges")
    text_ax = figure.add_subplot(grid[1, :])
    text_ax.axis("off")
    if data["error"] is not None:
        r_ax.axis("off")
        r_ax.text(0.5, 0.5, "ValueError", color="red", ha="center", va="center", fontsize=18, transform=r_ax.transAxes)
        verdict, color = data["error"] + ". numpy stops you: the lucky case.", "red"
    else:
        result = data["result"]
        diagonal = data["outer"] and result.ndim == 2 and result.shape[0] == result.shape[1]
        _heat_map(r_ax, result, f"{operation}\nshape {_symbolic(data['result_shape'])}", "Greens", diagonal)
        if data["outer"]:
            verdict = (f"SILENT BUG? {result.size} entries from operands of {data['a'].size} and {data['b'].size}: "
                       "an outer operation, and no error. "
                       + ("The boxed diagonal is the elementwise result you probably meant. " if diagonal else "")
                       + "Give both operands the same shape (squeeze, reshape, keepdims) and assert it.")
            color = "red"
        else:
            verdict = f"Elementwise: each entry of the result {_symbolic(data['result_shape'])} pairs one a with one b."
            color = "green"
    width = len(data["steps"]["align right"][0])
    lines = [f"{'':<15}{'a':>{4 * width}}    {'b':>{4 * width}}"] + [
        f"{label:<15}" + "".join(f"{d:>4}" for d in dims_a) + "    " + "".join(f"{d:>4}" for d in dims_b)
        for label, (dims_a, dims_b) in data["steps"].items()
    ]
    if min(data["a"].ndim, data["b"].ndim) < 2:
        lines += ["", "(a 1-D array is drawn as a row:", " it broadcasts like a (1, k) array)"]
    text_ax.text(0.0, 1.0, "\n".join(lines), family="monospace", va="top", fontsize=10, transform=text_ax.transAxes)
    text_ax.text(0.5, 1.0, textwrap.fill(verdict, 62), color=color, va="top", fontsize=10, transform=text_ax.transAxes)


@register
def broadcasting_explorer(shape_a: str = "(N,1)", shape_b: str = "(N,)", operation: str = "a - b") -> Explorer:
    """Broadcasting two shapes (N = 4, D = 3): the result shape step by step, and the values.

    Update time, measured via ``Explorer.update_times`` over 15 updates (every
    control, 5 rounds) on a 2-core machine shared with other jobs (load 3-5):
    median 80 ms, max 220 ms wall clock; median 78 ms, max 216 ms of CPU time.
    """
    options = list(SHAPES)
    controls = {
        "shape_a": widgets.Dropdown(options=options, value=shape_a, description="a"),
        "shape_b": widgets.Dropdown(options=options, value=shape_b, description="b"),
        "operation": widgets.Dropdown(options=list(OPERATIONS), value=operation, description="operation",
                                      layout=widgets.Layout(width="380px")),
    }
    return Explorer(controls, broadcast_demo, draw_broadcast, figsize=(9.0, 4.6),
                    description="Broadcasting: align right, pad with 1s, stretch the 1s (N = 4, D = 3)")
