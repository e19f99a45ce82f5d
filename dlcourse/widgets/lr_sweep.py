"""The learning-rate sweep widget of lecture 09: where training works, and where it blows up.

``lr_sweep_explorer`` shows the training loss on the digits after a few
epochs against a log-spaced grid of learning rates, for SGD, momentum and
Adam; the best rate and the edge where training blows up are marked.  The
sweeps are trained once, all rates together (``dlcourse.stacked.train_stacked``).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (a logarithmic
learning-rate sweep; "no learning" and NaN).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.layers import MLP
from dlcourse.stacked import stack_params, train_stacked
from dlcourse.training import standardized_digits_split
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, fixed_margins, number, plain_log_ticks

__all__ = [
    "LR_GRID", "SWEEP_EPOCHS", "SWEEP_OPTIMIZERS", "LRSweep", "describe_lr_sweep", "draw_lr_sweep", "lr_sweep",
    "lr_sweep_explorer", "lr_sweep_view",
]

#: 10^-4 ... 10^1 in quarter decades: 1e-4, 1.8e-4, 3.2e-4, 5.6e-4, 1e-3, ...
LR_GRID = 10.0 ** np.arange(-4.0, 1.001, 0.25)
SWEEP_OPTIMIZERS = ("sgd", "momentum", "adam")
SWEEP_EPOCHS = 10


class LRSweep(NamedTuple):
    """Training losses of one network trained at every learning rate of a grid."""

    optimizer: str
    lrs: np.ndarray  # (L,)
    losses: np.ndarray  # (L, epochs + 1): full training-set loss at the start and after each epoch; nan = diverged

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
    data = standardized_digits_split(0)
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
    others = {name: lr_sweep(name).losses[in_range, epochs]
              for name in SWEEP_OPTIMIZERS if compare and name != optimizer}
    return {
        "lrs": sweep.lrs[in_range], "final": final, "curves": sweep.losses[in_range, : epochs + 1],
        "best_lr": best_lr, "best_loss": best_loss, "edge_lr": edge_lr, "initial_loss": initial_loss,
        "unstable": unstable_all[in_range], "others": others,
    }


_LOSS_CAP = 10.0  # diverged runs are drawn at the top of the plot
# each optimizer's colour, marker and line style, the same whether it is the one swept or a comparison
_STYLES = {"sgd": (PALETTE["blue"], "o", "-"), "momentum": (PALETTE["orange"], "s", "--"),
           "adam": (PALETTE["green"], "^", "-.")}


def draw_lr_sweep(figure: Any, data: dict[str, Any], optimizer: str, epochs: int, **_: Any) -> None:
    """Final loss against the learning rate (left) and the loss curves of those rates (right)."""
    fixed_margins(figure, left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.2)
    sweep_ax, curve_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    lrs, final = data["lrs"], data["final"]
    shown = np.where(np.isfinite(final), np.minimum(final, _LOSS_CAP), _LOSS_CAP)
    color, marker, style = _STYLES[optimizer]
    sweep_ax.plot(lrs, shown, marker=marker, linestyle=style, color=color,
                  label=f"{optimizer}, after {epochs} epoch{'s' * (epochs > 1)}")
    for name, other in data["others"].items():
        color, marker, style = _STYLES[name]
        sweep_ax.plot(lrs, np.where(np.isfinite(other), np.minimum(other, _LOSS_CAP), _LOSS_CAP), marker=marker,
                      linestyle=style, color=color, ms=3, alpha=0.6, label=name)
    diverged = ~np.isfinite(final)
    if diverged.any():
        sweep_ax.plot(lrs[diverged], shown[diverged], "x", color=PALETTE["vermillion"], ms=10, mew=2,
                      label="diverged (nan)")
    sweep_ax.axhline(data["initial_loss"], color="gray", ls=":", lw=1,
                     label=f"loss at the start ({data['initial_loss']:.2f})")
    if data["best_lr"] is not None:
        sweep_ax.plot(data["best_lr"], data["best_loss"], "*", color=PALETTE["yellow"], mec="black", ms=16, zorder=5,
                      label=f"best: lr = {data['best_lr']:.2g} (loss {data['best_loss']:.3f})")
    if data["edge_lr"] is not None and data["edge_lr"] <= lrs.max():
        sweep_ax.axvspan(data["edge_lr"] / 10**0.125, lrs.max() * 10**0.125, color=PALETTE["vermillion"], alpha=0.1)
        sweep_ax.axvline(data["edge_lr"], color=PALETTE["vermillion"], lw=1)
        sweep_ax.text(data["edge_lr"], 0.5, f"unstable from {data['edge_lr']:.2g} ", color=PALETTE["vermillion"],
                      rotation=90,
                      ha="right", va="center", transform=sweep_ax.get_xaxis_transform(), fontsize=9)
    sweep_ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="training loss (capped at 10)",
                 xlim=(lrs.min() / 10**0.125, lrs.max() * 10**0.125), title="Loss after training vs learning rate")
    plain_log_ticks(sweep_ax.xaxis)
    plain_log_ticks(sweep_ax.yaxis)
    sweep_ax.legend(fontsize=8, loc="lower left")
    epochs_axis = np.arange(epochs + 1)
    # one LineCollection coloured by the rate's rank through viridis (cheaper than a line per rate)
    capped = np.minimum(data["curves"], _LOSS_CAP)
    curves = LineCollection([np.column_stack((epochs_axis, curve)) for curve in capped], cmap="viridis", lw=1,
                            array=np.linspace(0, 1, len(lrs)) if len(lrs) > 1 else np.zeros(1))
    curve_ax.add_collection(curves)
    curve_ax.set_xlim(-0.25, epochs + 0.25)
    if data["best_lr"] is not None:
        best = int(np.flatnonzero(lrs == data["best_lr"])[0])
        curve_ax.plot(epochs_axis, capped[best], color=PALETTE["black"], lw=2.5, zorder=3)
    for curve in data["curves"]:
        last = np.flatnonzero(np.isfinite(curve))[-1]
        if last < epochs:
            curve_ax.plot(last, min(curve[last], _LOSS_CAP), "x", color=PALETTE["vermillion"])
    # a colorbar would be a third axes (~30 ms per update): name the colours instead
    curve_ax.set(yscale="log", xlabel="epoch", ylabel="training loss",
                 title=f"Loss curves: dark lr {lrs.min():.2g} ... yellow {lrs.max():.2g}, black best")
    plain_log_ticks(curve_ax.yaxis)
    curve_ax.set_xticks(epochs_axis)


def describe_lr_sweep(data: dict[str, Any], optimizer: str, epochs: int, **_: Any) -> str:
    """The figure in words: the best rate and its loss, where training becomes unstable, the comparisons."""
    lrs, final = data["lrs"], data["final"]
    words = (f"Left, log-log: the training loss of a 64-32-10 MLP on the digits after {epochs} epoch"
             f"{'s' * (epochs > 1)} of {optimizer}, against the learning rate from {number(lrs.min(), 2)} to "
             f"{number(lrs.max(), 2)} ({len(lrs)} rates; the loss at the start is {number(data['initial_loss'])}).")
    if data["best_lr"] is None:
        words += " Every run diverged."
    else:
        words += f" Lowest loss {number(data['best_loss'])} at lr = {number(data['best_lr'], 2)}."
    if data["edge_lr"] is not None:
        words += f" Unstable (diverged, or above the loss at the start) from lr = {number(data['edge_lr'], 2)}."
    if (~np.isfinite(final)).any():
        words += f" Diverged (nan) at {int(np.sum(~np.isfinite(final)))} of the rates shown."
    for name, other in data["others"].items():
        finite = np.isfinite(other)
        words += (f" {name}: lowest loss {number(np.nanmin(other))} at lr = {number(lrs[np.nanargmin(other)], 2)}."
                  if finite.any() else f" {name}: diverged at every rate shown.")
    return words + " Right: the loss curves over the epochs, one per rate, the best in black."


@register
def lr_sweep_explorer(
    optimizer: str = "sgd", epochs: int = 5, log10_lr_range: tuple[float, float] = (-3.5, 1.0), compare: bool = False
) -> Explorer:
    """A log-spaced learning-rate sweep on the digits: where training works, and where it blows up.

    The sweeps (21 rates x 3 optimizers x 10 epochs) are computed once, on the
    first call (about 1 s), and cached; moving a control only reads them.
    Update time: median 66 ms, max 77 ms over the 12 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
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
        describe=describe_lr_sweep,
    )
