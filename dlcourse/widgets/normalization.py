"""Widgets for the lecture 'Normalization': batch norm during training, and which axes each norm averages.

``batchnorm_training_explorer`` replays cached training runs of a deep ReLU
MLP on the digits, with and without batch norm
(``dlcourse.batchnorm_mlp.batchnorm_runs``); ``normalization_axes_explorer``
shows which entries of an (N, C, L) tensor share a mean and a variance under
batch, layer, instance and group norm (``normalization_sets``).

Sources: Ioffe & Szegedy, "Batch Normalization", ICML 2015; Wu & He, "Group
Normalization", ECCV 2018 (figure 2); Georgia Tech CS 4644/7643
'Optimization'; VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from dlcourse._checks import check_choice, check_int
from dlcourse.batchnorm_mlp import batchnorm_runs
from dlcourse.norm import batchnorm_forward, groupnorm_forward, instancenorm_forward, layernorm_forward
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, grid_axes, number

__all__ = [
    "BATCH_SIZES", "LEARNING_RATES", "NORMS", "batchnorm_training_explorer", "batchnorm_training_view",
    "describe_batchnorm_training", "describe_normalization_sets", "normalization_axes_explorer",
    "normalization_sets",
]

LEARNING_RATES = (0.03, 0.3, 1.0)
BATCH_SIZES = (2, 8, 64)


# ---------------------------------------------------------------- training runs


def batchnorm_training_view(lr: float, batch_size: int, step: int, layer: int, unit: int = 0) -> dict[str, Any]:
    """What ``batchnorm_training_explorer`` draws after ``step`` updates, for one hidden layer (1-based).

    Returns:
        dict with ``runs`` (the two cached :class:`MLPRun`), ``k`` (index of the
        checkpoint at or before ``step``), ``step``, ``layer`` and ``unit`` (the
        unit whose running and batch statistics are traced).
    """
    lr = check_choice(lr, "lr", LEARNING_RATES)
    batch_size = check_choice(batch_size, "batch_size", BATCH_SIZES)
    runs = batchnorm_runs(lr, batch_size)
    checkpoints = runs["plain"].checkpoints
    step = int(np.clip(step, 0, checkpoints[-1]))
    layer = check_int(layer, "layer", 1)
    return {"runs": runs, "k": int(np.searchsorted(checkpoints, step, side="right") - 1), "step": step,
            "layer": layer, "unit": unit}


_COLORS = {"plain": PALETTE["vermillion"], "batch norm": PALETTE["blue"]}
_STYLES = {"plain": "--", "batch norm": "-"}
_MARKERS = {"plain": "s", "batch norm": "o"}


def _band(ax, values, color, label, marker="o", linestyle="-"):
    """Median and 10-90 % range over the units of every layer."""
    layers = np.arange(1, values.shape[0] + 1)
    if np.isfinite(values).any():
        low, mid, high = np.nanpercentile(values, [10, 50, 90], axis=1)
    else:
        low = mid = high = values[:, 0]
    ax.fill_between(layers, low, high, color=color, alpha=0.25, lw=0)
    ax.plot(layers, mid, marker=marker, linestyle=linestyle, color=color, label=label, ms=3)


def _draw_batchnorm_training(figure, data, **values):
    runs, k, step, layer, unit = data["runs"], data["k"], data["step"], data["layer"], data["unit"]
    bn = runs["batch norm"]
    axes = grid_axes(figure, 2, 3, left=0.05, right=0.99, bottom=0.08, top=0.95, wspace=0.2, hspace=0.35)
    ax = axes[0, 0]
    for name, run in runs.items():
        smooth = np.convolve(np.nan_to_num(run.loss, nan=np.inf), np.ones(10) / 10, mode="valid")
        ax.plot(np.arange(9, 9 + len(smooth)), smooth, _STYLES[name], color=_COLORS[name], label=name)
    ax.axvline(step, color="k", lw=0.8)
    # linear axes throughout: log-scale ticks cost more to render than the whole figure's data
    # no legend (each costs ~5 ms): the lines are those of the accuracy panel's legend
    ax.set(title="training loss: plain (dashed), batch norm (solid)", xlabel="update (minibatch loss, 10-update mean)",
           ylim=(0, 3.5))
    ax = axes[0, 1]
    checkpoints = bn.checkpoints
    ax.plot(checkpoints, runs["plain"].val_accuracy, _STYLES["plain"], color=_COLORS["plain"], label="plain")
    ax.plot(checkpoints, bn.val_accuracy, color=_COLORS["batch norm"], label="batch norm, eval mode")
    ax.plot(checkpoints, bn.val_accuracy_batch_stats, "-.", color=PALETTE["sky"],
            label=f"batch norm, train mode\n(batches of {values['batch_size']})")
    ax.axvline(step, color="k", lw=0.8)
    ax.set(title="validation accuracy", xlabel="update", ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    for ax, stat, title in [(axes[1, 0], "unit_mean", "mean"), (axes[1, 1], "unit_std", "std")]:
        for name, run in runs.items():
            _band(ax, getattr(run, stat)[k], _COLORS[name], name, _MARKERS[name], _STYLES[name])
        ax.axvline(layer, color="k", lw=0.5, ls=":")
        ax.set(title=f"per-unit {title} of ReLU outputs after {checkpoints[k]} updates", xlabel="hidden layer")
        top = max(np.nanpercentile(getattr(run, stat)[k], 90) if np.isfinite(getattr(run, stat)[k]).any() else 0
                  for run in runs.values())
        ax.set_ylim(0, min(top, 5) * 1.1 + 1e-3)
    for ax, batch_stat, running_stat, probe_stat, title in [
        (axes[0, 2], bn.batch_mean, bn.running_mean, bn.probe_mean, "mean"),
        (axes[1, 2], bn.batch_var, bn.running_var, bn.probe_var, "variance"),
    ]:
        ax.plot(np.arange(step), batch_stat[:step, layer - 1, unit], color="0.6", lw=0.7, label="this minibatch")
        ax.plot(np.arange(step + 1), running_stat[: step + 1, layer - 1, unit], color=PALETTE["blue"], lw=1.8,
                label="running (EMA)")
        ax.plot(checkpoints[: k + 1], probe_stat[: k + 1, layer - 1, unit], ".", color=PALETTE["black"], ms=4,
                label="probe batch of 256")
        ax.set(title=f"batch norm net, layer {layer} unit {unit}: {title} of z", xlabel="update",
               xlim=(0, checkpoints[-1]))
    axes[0, 2].legend(fontsize=7)
    for ax in axes.flat:
        ax.locator_params(nbins=4)


def describe_batchnorm_training(data: dict[str, Any], lr: float, batch_size: int, **values: Any) -> str:
    """The figure in words: loss, accuracy and the layer's unit statistics at the chosen update, both nets."""
    runs, k, step, layer, unit = data["runs"], data["k"], data["step"], data["layer"], data["unit"]
    bn, plain = runs["batch norm"], runs["plain"]
    recorded = int(bn.checkpoints[k])

    def loss(run: Any) -> str:  # the 10-update mean drawn in the loss panel, up to the chosen update
        window = run.loss[max(0, step - 10): step]
        return "no update yet" if step == 0 else number(np.mean(window)) if np.isfinite(window).all() \
            else "nan (diverged)"

    def spread(run: Any, stat: str) -> str:
        values = getattr(run, stat)[k, layer - 1]
        return number(np.nanmedian(values), 2) if np.isfinite(values).any() else "nan"

    if step == 0:
        stats = "no update yet"
    else:
        stats = (f"mean {number(bn.batch_mean[step - 1, layer - 1, unit])} in the last minibatch, "
                 f"{number(bn.running_mean[step, layer - 1, unit])} running; variance "
                 f"{number(bn.batch_var[step - 1, layer - 1, unit])} in the last minibatch, "
                 f"{number(bn.running_var[step, layer - 1, unit])} running")
    return (f"A 6-layer ReLU MLP on the digits trained with plain SGD, lr {number(lr)}, batches of {batch_size}, "
            f"without and with batch norm, at update {step}. Training loss (10-update mean): plain {loss(plain)}, "
            f"batch norm {loss(bn)}. Validation accuracy after {recorded} updates: plain "
            f"{plain.val_accuracy[k]:.0%}, batch norm {bn.val_accuracy[k]:.0%} in eval mode and "
            f"{bn.val_accuracy_batch_stats[k]:.0%} in train mode. Layer {layer}, median over its units of the ReLU "
            f"outputs' mean: plain {spread(plain, 'unit_mean')}, batch norm {spread(bn, 'unit_mean')}; of their "
            f"std: plain {spread(plain, 'unit_std')}, batch norm {spread(bn, 'unit_std')}. Batch-norm net, layer "
            f"{layer} unit {unit}, statistics of z: {stats}.")


@register
def batchnorm_training_explorer(lr: float = 0.3, batch_size: int = 64, step: int = 200, layer: int = 3) -> Explorer:
    """Batch norm during training: a 6-layer ReLU MLP on the digits, with and without it.

    Panels: the loss curves; validation accuracy in eval mode and in train mode;
    the per-unit mean and std of every hidden layer's ReLU outputs at the
    chosen update; and, for one unit of the chosen layer of the batch-norm
    net, each minibatch's mean and variance next to the running (EMA) ones and
    the statistics of a large probe batch.  All 9 settings (learning rate x
    batch size) are trained once on the first call (2.5-4 s) and cached.

    Update time: median 104 ms, max 108 ms over the 14 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    The figure keeps its six axes from one update to the next (``keep_axes``): about 60 ms less.
    """
    for lr_option in LEARNING_RATES:
        for size in BATCH_SIZES:
            batchnorm_runs(lr_option, size)
    steps = int(batchnorm_runs(lr, batch_size)["plain"].checkpoints[-1])
    controls = {
        "lr": widgets.Dropdown(options=LEARNING_RATES, value=lr, description="learning rate"),
        "batch_size": widgets.Dropdown(options=BATCH_SIZES, value=batch_size, description="batch size"),
        "step": widgets.IntSlider(value=min(step, steps), min=0, max=steps, step=10, description="update",
                                  continuous_update=False),
        "layer": widgets.IntSlider(value=layer, min=1, max=6, description="layer", continuous_update=False),
    }
    return Explorer(controls, batchnorm_training_view, _draw_batchnorm_training, figsize=(13.0, 7.0),
                    description="A deep MLP on the digits, trained with plain SGD, with and without batch norm",
                    describe=describe_batchnorm_training, keep_axes=True)


# ------------------------------------------------------------ which axes


NORMS = ("batch norm", "layer norm", "instance norm", "group norm")


def normalization_sets(
    shape: tuple[int, int, int], num_groups: int, sample: int, channel: int, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Which entries of an (N, C, L) tensor share statistics with entry (sample, channel, 0), per norm.

    batch norm averages over (N, L) for each channel, layer norm over (C, L)
    for each sample, instance norm over L for each (sample, channel), group
    norm over (C/G channels, L) for each sample.  Each norm is also applied
    to a random x with ``dlcourse.norm`` (unit gamma, zero beta), and the
    highlighted set's mean and std are reported: 0 and 1 up to eps.

    Args:
        shape: (N, C, L), each >= 2 (instance norm needs L >= 2).
        num_groups: G, a divisor of C.
        sample, channel: the entry whose set is returned.
        seed: for the random x.

    Returns:
        ``{norm: {"mask": bool (N, C, L), "mean": float, "std": float, "count": int}}``.
    """
    n, c, length = (check_int(s, "shape", 2) for s in shape)
    num_groups = check_int(num_groups, "num_groups", 1)
    if c % num_groups:
        raise ValueError(f"num_groups must divide the {c} channels, got {num_groups}")
    sample, channel = check_int(sample, "sample", 0), check_int(channel, "channel", 0)
    if sample >= n or channel >= c:
        raise ValueError(f"(sample, channel) must index the shape {shape}, got ({sample}, {channel})")
    # per-sample and per-channel offsets and scales, so that each norm's choice of axes matters
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, length)) * rng.uniform(0.5, 3, size=(1, c, 1)) + rng.normal(0, 2, size=(n, 1, 1))
    ones, zeros = np.ones(c), np.zeros(c)
    group = np.arange(c) // (c // num_groups)
    same_sample = (np.arange(n) == sample)[:, None, None]
    same_channel = (np.arange(c) == channel)[None, :, None]
    masks = {
        "batch norm": same_channel,
        "layer norm": same_sample,
        "instance norm": same_sample & same_channel,
        "group norm": same_sample & (group == group[channel])[None, :, None],
    }
    outputs = {
        "batch norm": batchnorm_forward(x, ones, zeros, zeros, ones, training=True)[0],
        "layer norm": layernorm_forward(x, np.ones((c, length)), np.zeros((c, length)))[0],
        "instance norm": instancenorm_forward(x)[0],
        "group norm": groupnorm_forward(x, num_groups, ones, zeros)[0],
    }
    result = {}
    for name in NORMS:
        mask = np.broadcast_to(masks[name], x.shape)
        values = outputs[name][mask]
        result[name] = {"mask": mask, "mean": float(values.mean()), "std": float(values.std()),
                        "count": int(mask.sum())}
    return result


_AXES_TEXT = {"batch norm": "over N, L per channel", "layer norm": "over C, L per sample",
              "instance norm": "over L per (sample, channel)", "group norm": "over C/G channels, L per sample"}


def _draw_axes(figure, data, num_groups, sample, channel):
    axes = figure.subplots(2, 2, gridspec_kw={"left": 0.04, "right": 0.99, "bottom": 0.1, "top": 0.9, "wspace": 0.08,
                                              "hspace": 0.75})
    for ax, name in zip(axes.flat, NORMS, strict=True):
        mask = data[name]["mask"]
        n, c, length = mask.shape
        # samples side by side, one column of gap between them
        image = np.full((c, n * (length + 1) - 1), np.nan)
        for i in range(n):
            image[:, i * (length + 1): i * (length + 1) + length] = mask[i]
        if name == "group norm":  # faint stripes show the group boundaries
            image = np.where(image == 0, 0.15 * ((np.arange(c) // (c // num_groups)) % 2)[:, None], image)
        ax.pcolormesh(np.ma.masked_invalid(image), cmap="Blues", vmin=0, vmax=1.2, edgecolors="white", linewidth=0.5)
        ax.set(aspect="equal", ylim=(c, 0))
        ax.set_xticks([i * (length + 1) + length / 2 for i in range(n)], [f"sample {i}" for i in range(n)])
        ax.set_yticks([0.5, c - 0.5], ["c=0", f"c={c - 1}"])
        ax.tick_params(length=0, labelsize=8)
        group = f" (G={num_groups})" if name == "group norm" else ""
        ax.set_title(f"{name}{group}: {_AXES_TEXT[name]}", fontsize=10)
        ax.set_xlabel(f"{data[name]['count']} values share a mean and variance; after normalizing: "
                      f"mean {round(data[name]['mean'], 2) + 0.0:.2f}, std {data[name]['std']:.3f}", fontsize=8)


def describe_normalization_sets(data: dict[str, dict[str, Any]], num_groups: int, sample: int, channel: int) -> str:
    """The figure in words: per norm, how many entries share a mean and variance with the chosen one."""
    shape = "x".join(map(str, next(iter(data.values()))["mask"].shape))
    return (f"An (N, C, L) = ({shape.replace('x', ', ')}) tensor drawn four times, once per normalization; dark: "
            f"the entries normalized together with entry (sample {sample}, channel {channel}). " + " ".join(
                f"{name}{f' (G = {num_groups})' if name == 'group norm' else ''}, {_AXES_TEXT[name]}: "
                f"{data[name]['count']} values; after normalizing, mean {round(data[name]['mean'], 2) + 0.0:.2f}, "
                f"std {data[name]['std']:.3f}." for name in NORMS))


@register
def normalization_axes_explorer(num_groups: int = 2, sample: int = 0, channel: int = 1) -> Explorer:
    """Which entries of an (N, C, L) = (4, 6, 5) tensor share statistics under each normalization.

    Each panel shows the N samples side by side as C x L grids; the dark
    cells are normalized together with entry (sample, channel).

    Update time: median 84 ms, max 91 ms over the 11 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "num_groups": widgets.SelectionSlider(options=[1, 2, 3, 6], value=num_groups, description="groups G"),
        "sample": widgets.IntSlider(value=sample, min=0, max=3, description="sample n"),
        "channel": widgets.IntSlider(value=channel, min=0, max=5, description="channel c"),
    }
    compute = lambda num_groups, sample, channel: normalization_sets((4, 6, 5), num_groups, sample, channel)  # noqa: E731
    return Explorer(controls, compute, _draw_axes, figsize=(10.0, 4.2),
                    description="Batch, layer, instance and group norm on an (N, C, L) tensor",
                    describe=describe_normalization_sets)
