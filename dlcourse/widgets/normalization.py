"""Widgets for the lecture 'Normalization': batch norm during training, and which axes each norm averages.

``batchnorm_training_explorer`` replays cached training runs of a deep ReLU
MLP on the digits, with and without batch norm (``train_deep_mlp``, built from
``dlcourse.layers`` and ``dlcourse.norm``); ``normalization_axes_explorer``
shows which entries of an (N, C, L) tensor share a mean and a variance under
batch, layer, instance and group norm (``normalization_sets``).

Sources: Ioffe & Szegedy, "Batch Normalization", ICML 2015; Wu & He, "Group
Normalization", ECCV 2018 (figure 2); Georgia Tech CS 4644/7643
'Optimization'; VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np
from threadpoolctl import threadpool_limits

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.data import load_digits, standardize, train_val_test_split
from dlcourse.init import he_normal
from dlcourse.layers import linear_backward, linear_forward, relu_backward, relu_forward, softmax_cross_entropy
from dlcourse.norm import batchnorm_backward, batchnorm_forward, groupnorm_forward, instancenorm_forward, layernorm_forward
from dlcourse.widgets import Explorer, register

__all__ = [
    "LEARNING_RATES", "BATCH_SIZES", "MLPRun", "digits_for_batchnorm", "train_deep_mlp", "batchnorm_runs",
    "batchnorm_training_view", "batchnorm_training_explorer",
    "NORMS", "normalization_sets", "normalization_axes_explorer",
]

LEARNING_RATES = (0.03, 0.3, 1.0)
BATCH_SIZES = (2, 8, 64)
_VAL_SIZE = 256  # divisible by every batch size, so validation splits into whole batches


# ---------------------------------------------------------------- training runs


@lru_cache(maxsize=1)
def digits_for_batchnorm() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split into 1541 training and 256 validation examples, standardized with training statistics."""
    X, y = load_digits()
    split = train_val_test_split(X, y, val_fraction=_VAL_SIZE / len(X), test_fraction=0.0, rng=np.random.default_rng(0))
    X_train, X_val, _, _ = standardize(split.X_train, split.X_val)
    return X_train, split.y_train, X_val, split.y_val


class MLPRun(NamedTuple):
    """What ``train_deep_mlp`` records.  S = steps, K = checkpoints, D = depth, W = width."""

    loss: np.ndarray             # (S,) minibatch loss of every update (NaN after a divergence)
    checkpoints: np.ndarray      # (K,) number of updates done when the rows below were recorded
    val_accuracy: np.ndarray     # (K,) evaluation mode (running statistics)
    val_accuracy_batch_stats: np.ndarray  # (K,) validation batches of batch_size normalized by their own statistics
    unit_mean: np.ndarray        # (K, D, W) mean of each hidden unit's ReLU output over the probe batch
    unit_std: np.ndarray         # (K, D, W) its standard deviation
    probe_mean: np.ndarray       # (K, D, W) mean of each pre-activation z = h W + b over the probe batch
    probe_var: np.ndarray        # (K, D, W) its (biased) variance
    batch_mean: np.ndarray       # (S, D, W) mean of z over the minibatch of each update
    batch_var: np.ndarray        # (S, D, W) its biased variance
    running_mean: np.ndarray     # (S + 1, D, W) after 0, 1, ..., S updates (batch norm only, else NaN)
    running_var: np.ndarray      # (S + 1, D, W)
    batch_indices: np.ndarray    # (S, batch_size) training examples of every update
    initial_params: dict[str, np.ndarray]
    final_params: dict[str, np.ndarray]


def _init_params(depth: int, width: int, batchnorm: bool, rng: np.random.Generator) -> dict[str, np.ndarray]:
    sizes = [64] + [width] * depth + [10]
    params = {}
    for layer, shape in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"], params[f"b{layer}"] = he_normal(shape, rng), np.zeros(shape[1])
        if batchnorm and layer <= depth:
            params[f"gamma{layer}"], params[f"beta{layer}"] = np.ones(width), np.zeros(width)
    return params


def _normalize(z, params, layer, running, mode, batch_size, momentum):
    """Batch norm of one layer in ``mode`` "train" (batch statistics), "eval" (running) or "batches"."""
    gamma, beta = params[f"gamma{layer}"], params[f"beta{layer}"]
    if mode == "batches":
        # train mode on many batches at once: batch statistics of consecutive groups of batch_size rows
        # are instance norm on the (n_batches, C, batch_size) view
        zb = z.reshape(-1, batch_size, z.shape[1]).transpose(0, 2, 1)
        out = groupnorm_forward(zb, z.shape[1], gamma, beta)[0]
        return out.transpose(0, 2, 1).reshape(z.shape), None, running
    out, cache, mean, var = batchnorm_forward(z, gamma, beta, *running, training=mode == "train", momentum=momentum)
    return out, cache, (mean, var)


def _forward(params, x, depth, running, mode="train", batch_size=0, momentum=0.1):
    """Logits, caches, pre-activations z, ReLU outputs h and new running statistics of the MLP."""
    batchnorm = "gamma1" in params
    h, caches, zs, hs, new_running = x, [], [], [], []
    for layer in range(1, depth + 1):
        z, linear_cache = linear_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        a, norm_cache = z, None
        if batchnorm:
            a, norm_cache, stats = _normalize(z, params, layer, running[layer - 1], mode, batch_size, momentum)
            new_running.append(stats)
        h, relu_cache = relu_forward(a)
        caches.append((linear_cache, norm_cache, relu_cache))
        zs.append(z)
        hs.append(h)
    logits, out_cache = linear_forward(h, params[f"W{depth + 1}"], params[f"b{depth + 1}"])
    return logits, (caches, out_cache), zs, hs, new_running


def _backward(params, caches, dlogits, depth):
    layer_caches, out_cache = caches
    grads = {}
    d, grads[f"W{depth + 1}"], grads[f"b{depth + 1}"] = linear_backward(dlogits, out_cache)
    for layer in range(depth, 0, -1):
        linear_cache, norm_cache, relu_cache = layer_caches[layer - 1]
        d = relu_backward(d, relu_cache)
        if norm_cache is not None:
            d, grads[f"gamma{layer}"], grads[f"beta{layer}"] = batchnorm_backward(d, norm_cache)
        d, grads[f"W{layer}"], grads[f"b{layer}"] = linear_backward(d, linear_cache)
    return grads


def train_deep_mlp(
    lr: float,
    batch_size: int,
    batchnorm: bool,
    *,
    steps: int = 200,
    record_every: int = 10,
    depth: int = 6,
    width: int = 32,
    momentum: float = 0.1,
    seed: int = 0,
) -> MLPRun:
    """Train a deep ReLU MLP on the digits with plain SGD and record its statistics.

    The network is ``(linear -> [batch norm ->] ReLU) * depth -> linear`` with He
    normal weights (the same draw with and without batch norm for a given
    seed), trained by ``theta <- theta - lr * grad`` on softmax cross-entropy
    over minibatches of ``batch_size`` examples drawn without replacement
    (a new permutation every epoch).  Every ``record_every`` updates it
    records the validation accuracy in evaluation mode and with the validation
    set cut into batches of ``batch_size`` normalized by their own statistics
    (what forgetting ``model.eval()`` does), and the hidden units' statistics
    on a probe batch (the first 256 training examples, training mode).

    Args:
        lr: learning rate, > 0.
        batch_size: examples per update, >= 2 (batch norm needs two), dividing 256.
        batchnorm: insert batch norm (torch ``BatchNorm1d`` defaults) before every ReLU.
        steps: number of updates, >= 1.
        record_every: updates between checkpoints, >= 1.
        depth, width: number and width of the hidden layers.
        momentum: batch norm's running-average weight of the NEW statistic (torch's convention).
        seed: seeds the weights and the minibatch order.

    Returns:
        An :class:`MLPRun`.  A run whose loss stops being finite stops there;
        its later entries are NaN.

    Notes:
        With batch norm the linear biases are kept for a like-for-like
        comparison, but they do nothing: batch norm subtracts the batch mean,
        so their gradient is zero (torch code writes ``Linear(..., bias=False)``).
    """
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    batch_size = check_int(batch_size, "batch_size", 2)
    if _VAL_SIZE % batch_size:
        raise ValueError(f"batch_size must divide the {_VAL_SIZE} validation examples, got {batch_size}")
    steps, record_every = check_int(steps, "steps", 1), check_int(record_every, "record_every", 1)
    X_train, y_train, X_val, y_val = digits_for_batchnorm()
    rng = np.random.default_rng(seed)
    params = _init_params(depth, width, batchnorm, rng)
    initial_params = {k: v.copy() for k, v in params.items()}
    epochs = -(-steps * batch_size // len(X_train))
    order = np.concatenate([rng.permutation(len(X_train)) for _ in range(epochs + 1)])
    batch_indices = order[: steps * batch_size].reshape(steps, batch_size)
    probe = X_train[:256]
    running = [(np.zeros(width), np.ones(width)) for _ in range(depth)] if batchnorm else []

    checkpoints = np.arange(0, steps + 1, record_every)
    nan = lambda *shape: np.full(shape, np.nan)  # noqa: E731
    record = {name: nan(len(checkpoints), depth, width) for name in ("unit_mean", "unit_std", "probe_mean", "probe_var")}
    val_accuracy, val_accuracy_batch_stats = nan(len(checkpoints)), nan(len(checkpoints))
    loss, batch_mean, batch_var = nan(steps), nan(steps, depth, width), nan(steps, depth, width)
    running_mean, running_var = nan(steps + 1, depth, width), nan(steps + 1, depth, width)

    def checkpoint(k):
        _, _, zs, hs, _ = _forward(params, probe, depth, running, "batches", len(probe))
        for name, stat in [("unit_mean", np.mean(hs, axis=1)), ("unit_std", np.std(hs, axis=1)),
                           ("probe_mean", np.mean(zs, axis=1)), ("probe_var", np.var(zs, axis=1))]:
            record[name][k] = stat
        val_accuracy[k] = (_forward(params, X_val, depth, running, "eval")[0].argmax(1) == y_val).mean()
        if batchnorm:
            logits = _forward(params, X_val, depth, running, "batches", batch_size)[0]
            val_accuracy_batch_stats[k] = (logits.argmax(1) == y_val).mean()

    # one BLAS thread: on matrices this small, waking a second thread costs more than it saves
    with np.errstate(all="ignore"), threadpool_limits(1, user_api="blas"):  # a diverging run overflows: stopped below
        for step in range(steps + 1):
            if batchnorm:
                running_mean[step], running_var[step] = np.array(running).transpose(1, 0, 2)
            if step % record_every == 0:
                checkpoint(step // record_every)
            if step == steps:
                break
            batch = batch_indices[step]
            logits, caches, zs, _, new_running = _forward(params, X_train[batch], depth, running, "train", momentum=momentum)
            loss[step], dlogits = softmax_cross_entropy(logits, y_train[batch])
            if not np.isfinite(loss[step]):
                loss[step] = np.nan
                break
            batch_mean[step], batch_var[step] = np.mean(zs, axis=1), np.var(zs, axis=1)
            grads = _backward(params, caches, dlogits, depth)
            params = {k: v - lr * grads[k] for k, v in params.items()}
            running = new_running
    return MLPRun(loss, checkpoints, val_accuracy, val_accuracy_batch_stats, record["unit_mean"], record["unit_std"],
                  record["probe_mean"], record["probe_var"], batch_mean, batch_var, running_mean, running_var,
                  batch_indices, initial_params, params)


@lru_cache(maxsize=None)
def batchnorm_runs(lr: float, batch_size: int) -> dict[str, MLPRun]:
    """The cached pair ``{"plain": ..., "batch norm": ...}`` of ``train_deep_mlp`` runs (default sizes)."""
    return {name: train_deep_mlp(lr, batch_size, batchnorm) for name, batchnorm in [("plain", False), ("batch norm", True)]}


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


_COLORS = {"plain": "tab:red", "batch norm": "tab:blue"}


def _band(ax, values, color, label):
    """Median and 10-90 % range over the units of every layer."""
    layers = np.arange(1, values.shape[0] + 1)
    low, mid, high = np.nanpercentile(values, [10, 50, 90], axis=1) if np.isfinite(values).any() else (values[:, 0],) * 3
    ax.fill_between(layers, low, high, color=color, alpha=0.25, lw=0)
    ax.plot(layers, mid, "o-", color=color, label=label, ms=3)


def _draw_batchnorm_training(figure, data, **values):
    runs, k, step, layer, unit = data["runs"], data["k"], data["step"], data["layer"], data["unit"]
    bn = runs["batch norm"]
    figure.set_layout_engine("none")  # constrained layout would cost more than the whole drawing
    axes = figure.subplots(2, 3, gridspec_kw=dict(left=0.05, right=0.99, bottom=0.08, top=0.95, wspace=0.2, hspace=0.35))
    ax = axes[0, 0]
    for name, run in runs.items():
        smooth = np.convolve(np.nan_to_num(run.loss, nan=np.inf), np.ones(10) / 10, mode="valid")
        ax.plot(np.arange(9, 9 + len(smooth)), smooth, color=_COLORS[name], label=name)
    ax.axvline(step, color="k", lw=0.8)
    # linear axes throughout: log-scale ticks cost more to render than the whole figure's data
    ax.set(title="training loss (minibatch; 10-step mean)", xlabel="update", ylim=(0, 3.5))
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    checkpoints = bn.checkpoints
    ax.plot(checkpoints, runs["plain"].val_accuracy, color=_COLORS["plain"], label="plain")
    ax.plot(checkpoints, bn.val_accuracy, color=_COLORS["batch norm"], label="batch norm, eval mode")
    ax.plot(checkpoints, bn.val_accuracy_batch_stats, "--", color="tab:cyan",
            label=f"batch norm, train mode\n(batches of {values['batch_size']})")
    ax.axvline(step, color="k", lw=0.8)
    ax.set(title="validation accuracy", xlabel="update", ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    for ax, stat, title in [(axes[1, 0], "unit_mean", "mean"), (axes[1, 1], "unit_std", "std")]:
        for name, run in runs.items():
            _band(ax, getattr(run, stat)[k], _COLORS[name], name)
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
        ax.plot(np.arange(step + 1), running_stat[: step + 1, layer - 1, unit], color="tab:blue", lw=1.8,
                label="running (EMA)")
        ax.plot(checkpoints[: k + 1], probe_stat[: k + 1, layer - 1, unit], "k.", ms=4, label="probe batch of 256")
        ax.set(title=f"batch norm net, layer {layer} unit {unit}: {title} of z", xlabel="update",
               xlim=(0, checkpoints[-1]))
    axes[0, 2].legend(fontsize=7)
    for ax in axes.flat:
        ax.locator_params(nbins=5)


@register
def batchnorm_training_explorer(lr: float = 0.3, batch_size: int = 64, step: int = 200, layer: int = 3) -> Explorer:
    """Batch norm during training: a 6-layer ReLU MLP on the digits, with and without it.

    Panels: the loss curves; validation accuracy in eval mode and in train mode;
    the per-unit mean and std of every hidden layer's ReLU outputs at the
    chosen update; and, for one unit of the chosen layer of the batch-norm
    net, each minibatch's mean and variance next to the running (EMA) ones and
    the statistics of a large probe batch.  All 9 settings (learning rate x
    batch size) are trained once on the first call (2.5-4 s) and cached.

    Update time (measured via ``Explorer.update_times``, 20 updates cycling
    through every control, on a shared 2-core machine under a load average of about 3 from other jobs): median 200 ms, max 330 ms.
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
                    description="A deep MLP on the digits, trained with plain SGD, with and without batch norm")


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
        result[name] = {"mask": mask, "mean": float(values.mean()), "std": float(values.std()), "count": int(mask.sum())}
    return result


_AXES_TEXT = {"batch norm": "over N, L per channel", "layer norm": "over C, L per sample",
              "instance norm": "over L per (sample, channel)", "group norm": "over C/G channels, L per sample"}


def _draw_axes(figure, data, num_groups, sample, channel):
    figure.set_layout_engine("none")  # constrained layout would cost more than the drawing itself
    axes = figure.subplots(2, 2, gridspec_kw=dict(left=0.04, right=0.99, bottom=0.1, top=0.9, wspace=0.08, hspace=0.75))
    for ax, name in zip(axes.flat, NORMS):
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


@register
def normalization_axes_explorer(num_groups: int = 2, sample: int = 0, channel: int = 1) -> Explorer:
    """Which entries of an (N, C, L) = (4, 6, 5) tensor share statistics under each normalization.

    Each panel shows the N samples side by side as C x L grids; the dark
    cells are normalized together with entry (sample, channel).

    Update time (measured via ``Explorer.update_times``, 15 updates cycling
    through every control, on a shared 2-core machine under a load average of about 3 from other jobs): median 105 ms, max 330 ms.
    """
    controls = {
        "num_groups": widgets.SelectionSlider(options=[1, 2, 3, 6], value=num_groups, description="groups G"),
        "sample": widgets.IntSlider(value=sample, min=0, max=3, description="sample n"),
        "channel": widgets.IntSlider(value=channel, min=0, max=5, description="channel c"),
    }
    compute = lambda num_groups, sample, channel: normalization_sets((4, 6, 5), num_groups, sample, channel)  # noqa: E731
    return Explorer(controls, compute, _draw_axes, figsize=(10.0, 4.2),
                    description="Batch, layer, instance and group norm on an (N, C, L) tensor")
