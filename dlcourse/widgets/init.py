"""Widgets for the initialization lecture: what the initial weights do to a deep network's signals.

``init_depth_explorer`` sends a batch of standard-normal inputs through a deep
stack of bias-free layers ``h^l = f(h^{l-1} W^l)`` initialized by one of the
rules of ``dlcourse.init``, and a random loss gradient back down, and shows
the histograms of the activations at a few layers next to the standard
deviation of the activations and of the back-propagated gradients at every
layer (the experiment of Glorot & Bengio 2010, their figures 3 and 5).

Lectures: Georgia Tech CS 4644/7643 'Optimization' (constant init is
degenerate; small N(0, 0.01^2) weights make deep activations shrink; Xavier
and He); Univ. of Macau 'Modern Techniques' (zero and constant init give
zero or identical gradients); VU Amsterdam DLVU lecture 4 'Tools of the
trade' (Glorot, He, nn.Linear's default).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from dlcourse import init
from dlcourse._checks import check_choice, check_int
from dlcourse.activations import relu, relu_grad, tanh, tanh_grad
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, SERIES, fixed_grid, log_axis, number

__all__ = [
    "DEPTH_ACTIVATIONS", "INITIALIZERS", "DepthStatistics", "describe_layer_statistics", "init_depth_explorer",
    "layer_statistics",
]

CONSTANT_VALUE = 0.1
SMALL_STD = 0.01

# name -> (label, initializer(shape, rng)); every one draws from dlcourse.init.
INITIALIZERS: dict[str, tuple[str, Callable[[tuple[int, int], np.random.Generator], np.ndarray]]] = {
    "zeros": ("zeros", init.zeros),
    "constant": (f"constant {CONSTANT_VALUE:g}", lambda shape, rng: init.constant(shape, CONSTANT_VALUE)),
    "normal": (f"normal, std {SMALL_STD:g}", lambda shape, rng: init.normal(shape, rng, std=SMALL_STD)),
    "xavier_uniform": ("Xavier/Glorot uniform", init.xavier_uniform),
    "xavier_normal": ("Xavier/Glorot normal", init.xavier_normal),
    "he_normal": ("He/Kaiming normal", init.he_normal),
    "torch_linear_default": ("torch nn.Linear default", init.torch_linear_default),
}

_IDENTITY = (lambda z: z, lambda z: np.ones_like(z))
# name -> (f, f'); "linear" is no activation at all: a product of matrices.
DEPTH_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "linear": _IDENTITY,
}

_MAX_DEPTH = 50


@dataclass(frozen=True)
class DepthStatistics:
    """What ``layer_statistics`` measures (every array read-only; layers count from 1).

    Attributes:
        activation_std: (depth,) std of h^l over the batch and the units.
        gradient_std: (depth,) std of dL/dz^l, the gradient at the pre-activations.
        weight_gradient_rms: (depth,) root mean square of dL/dW^l.
        units_identical: (depth,) True where every unit of layer l has the same
            value on every example (the symmetry constant init never breaks).
        histogram_layers: the layers whose histograms are given.
        histograms: (len(histogram_layers), bins) fraction of the values in each bin.
        bin_edges: (bins + 1,) shared bin edges.
    """

    activation_std: np.ndarray
    gradient_std: np.ndarray
    weight_gradient_rms: np.ndarray
    units_identical: np.ndarray
    histogram_layers: tuple[int, ...]
    histograms: np.ndarray
    bin_edges: np.ndarray


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False


@functools.lru_cache(maxsize=128)
def layer_statistics(
    initializer: str,
    activation: str,
    depth: int,
    width: int = 128,
    batch: int = 256,
    n_histograms: int = 4,
    bins: int = 61,
    seed: int = 0,
) -> DepthStatistics:
    """Forward a batch through ``depth`` initialized layers and a random gradient back; measure the spread.

        h^0 = x ~ N(0, I),   z^l = h^{l-1} W^l,   h^l = f(z^l)              (l = 1..depth, no biases)
        dL/dh^depth = g ~ N(0, I),   dL/dz^l = dL/dh^l * f'(z^l),
        dL/dh^{l-1} = dL/dz^l W^{l T},   dL/dW^l = h^{l-1 T} dL/dz^l

    The variance argument: with independent zero-mean weights of variance s^2,
    Var[z^l] = width * s^2 * E[(h^{l-1})^2], so the signal keeps its size only
    when width * s^2 * (what f keeps of the second moment) = 1.

    Args:
        initializer: a key of ``INITIALIZERS``.
        activation: "tanh", "relu" or "linear" (no activation).
        depth: number of layers, 1..50.
        width: units per layer (also the input size), >= 1.
        batch: number of input examples, >= 1.
        n_histograms: how many layers (spread from 1 to depth) get a histogram.
        bins: number of histogram bins.
        seed: one Generator draws, in this order, the input (batch, width), the
            weights layer by layer (so a deeper network starts with the same
            layers) and the loss gradient dL/dh^depth (batch, width).

    Returns:
        A ``DepthStatistics`` (cached: calls with the same arguments share it,
        so its arrays are read-only).

    Source: Glorot & Bengio (2010), "Understanding the difficulty of training
    deep feedforward neural networks" (figures 3-7); Georgia Tech CS 4644/7643
    'Optimization'.
    """
    check_choice(initializer, "initializer", tuple(INITIALIZERS))
    check_choice(activation, "activation", tuple(DEPTH_ACTIVATIONS))
    depth = check_int(depth, "depth", 1)
    if depth > _MAX_DEPTH:
        raise ValueError(f"depth must be at most {_MAX_DEPTH}, got {depth}")
    width, batch = check_int(width, "width", 1), check_int(batch, "batch", 1)
    n_histograms, bins = check_int(n_histograms, "n_histograms", 1), check_int(bins, "bins", 1)
    rng = np.random.default_rng(seed)
    make_weights = INITIALIZERS[initializer][1]
    f, f_grad = DEPTH_ACTIVATIONS[activation]
    h = rng.standard_normal((batch, width))
    weights, inputs, pre_activations = [], [], []
    # One BLAS thread: matrices of this size gain little from a second one, and on a busy
    # 2-core machine a second thread waiting for a core made updates 5-10x slower (measured).
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
        for _ in range(depth):
            W = make_weights((width, width), rng)
            inputs.append(h)
            pre_activations.append(h @ W)
            weights.append(W)
            h = f(pre_activations[-1])
        activations = [*inputs[1:], h]
        upstream = rng.standard_normal((batch, width))
        gradient_std, weight_gradient_rms = np.empty(depth), np.empty(depth)
        for layer in range(depth - 1, -1, -1):
            dz = upstream * f_grad(pre_activations[layer])
            gradient_std[layer] = dz.std()
            weight_gradient_rms[layer] = np.sqrt(np.mean((inputs[layer].T @ dz) ** 2))
            upstream = dz @ weights[layer].T
    activation_std = np.array([a.std() for a in activations])
    # relative tolerance: BLAS may sum the columns of a constant matrix in different orders
    units_identical = np.array([bool(np.all(np.abs(a - a[:, :1]) <= 1e-12 * np.abs(a).max())) for a in activations])
    histogram_layers = tuple(int(v) for v in np.unique(np.round(np.linspace(1, depth, min(n_histograms, depth)))))
    shown = [activations[layer - 1] for layer in histogram_layers]
    limit = 1.0 if activation == "tanh" else max(float(np.percentile(np.abs(a), 99.5)) for a in shown)
    if not np.isfinite(limit) or limit == 0:
        limit = 1.0
    bin_edges = np.linspace(-limit, limit, bins + 1)
    histograms = np.array([np.histogram(np.clip(a, -limit, limit), bin_edges)[0] / a.size for a in shown])
    _read_only(activation_std, gradient_std, weight_gradient_rms, units_identical, histograms, bin_edges)
    return DepthStatistics(
        activation_std, gradient_std, weight_gradient_rms, units_identical, histogram_layers, histograms, bin_edges
    )


def _notes(stats: DepthStatistics) -> str:
    """What the log-scale plot cannot show: exact zeros and exact symmetry."""
    depth = len(stats.activation_std)
    notes = [
        f"{what} exactly 0 at {count} of {depth} layers"
        for what, values in (("activations", stats.activation_std), ("gradients", stats.gradient_std))
        if (count := int(np.sum(values == 0)))
    ]
    if not np.any(stats.weight_gradient_rms):
        notes.append("every weight gradient is exactly 0: training cannot start")
    elif np.all(stats.units_identical):
        notes.append("all units of a layer compute the same value, so they get the same update (symmetry)")
    return "; ".join(notes)


def draw_layer_statistics(
    figure: Figure, stats: DepthStatistics, initializer: str, activation: str, depth: int
) -> None:
    """Histograms of the activations at a few layers (left) and the std per layer (right)."""
    n = len(stats.histogram_layers)
    grid = fixed_grid(figure, 1, 2, width_ratios=(1.0, 1.25), top=0.87, left=0.03, wspace=0.12)
    colors = [SERIES[i] for i in range(n)]
    ax = figure.add_subplot(grid[0, 0])  # one axes, histograms stacked as ridges: cheaper than n axes
    zero_bin = int(np.searchsorted(stats.bin_edges, 0.0, side="right")) - 1
    for row, (layer, fractions) in enumerate(zip(stats.histogram_layers, stats.histograms, strict=True)):
        base = n - 1 - row  # the first layer on top
        # scaled to the highest bar away from 0, so ReLU's spike of exact zeros does not flatten the rest
        peak = np.delete(fractions, zero_bin).max() or fractions.max()
        ax.stairs(base + 0.9 * np.minimum(fractions / peak, 1.0), stats.bin_edges, baseline=base, fill=True,
                  color=colors[row], alpha=0.7)
        ax.text(stats.bin_edges[-1], base + 0.8, f"layer {layer}: std {stats.activation_std[layer - 1]:.2g}",
                ha="right", va="top", fontsize=9)
    ax.set(yticks=[], ylim=(0, n), xlim=stats.bin_edges[[0, -1]], xlabel=f"activation value h = {activation}(z)")
    ax.set_title("histograms of the activations (each scaled to its own height)", fontsize=10)

    ax = figure.add_subplot(grid[0, 1])
    layers = np.arange(1, depth + 1)
    for values, label, style, color in (
        (stats.activation_std, "std of the activations h", "o-", PALETTE["black"]),
        (stats.gradient_std, "std of the gradients ∂L/∂z", "s--", PALETTE["vermillion"]),
    ):
        positive = values > 0
        ax.plot(layers[positive], values[positive], style, color=color, markersize=4, label=label)
    log_axis(ax)
    for row, layer in enumerate(stats.histogram_layers):
        ax.axvline(layer, color=colors[row], alpha=0.3, linewidth=3)
    ax.set_xlabel("layer l")
    ax.set_xlim(0.5, depth + 0.5)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    label = INITIALIZERS[initializer][0]
    ax.set_title(f"{label} init, {activation}, {depth} layers", fontsize=10)
    low, high = ax.get_ylim()
    if high / low < 1e3:  # a few equal values: keep a readable decade range around them
        ax.set_ylim(low / 30, high * 30)
    if note := _notes(stats):
        figure.suptitle(note, color=PALETTE["vermillion"], fontsize=9)


def describe_layer_statistics(stats: DepthStatistics, initializer: str, activation: str, depth: int) -> str:
    """The figure in words: the spread of the activations and gradients at the first and the last layer."""
    histograms = ", ".join(f"{layer} (std {number(stats.activation_std[layer - 1], 2)})"
                           for layer in stats.histogram_layers)
    activations, gradients = stats.activation_std, stats.gradient_std
    words = (f"{INITIALIZERS[initializer][0]} init, {activation}, {depth} layers. Left: histograms of the "
             f"activations at layers {histograms}. Right, log scale: the std of the activations goes from "
             f"{number(activations[0])} at layer 1 to {number(activations[-1])} at layer {depth}, the std of "
             f"the gradients ∂L/∂z from {number(gradients[0])} at layer 1 to {number(gradients[-1])} at layer "
             f"{depth}.")
    note = _notes(stats)
    return f"{words} Note: {note}." if note else words


@register
def init_depth_explorer(initializer: str = "normal", activation: str = "tanh", depth: int = 10) -> Explorer:
    """Initializer x activation x depth: histograms of the activations and their std per layer.

    A batch of 256 standard-normal inputs goes through ``depth`` bias-free
    layers of width 128 (``layer_statistics``); zeros and constant show zero
    or identical gradients, N(0, 0.01^2) shrinking activations, Xavier keeps
    tanh steady and He keeps ReLU steady.

    Args (initial control values):
        initializer: a key of ``INITIALIZERS``.
        activation: "tanh", "relu" or "linear".
        depth: number of layers, 2..30.

    Update time: median 95 ms, max 123 ms over the 12 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "initializer": widgets.Dropdown(
            options=[(label, name) for name, (label, _) in INITIALIZERS.items()],
            value=initializer, description="init"),
        "activation": widgets.Dropdown(options=list(DEPTH_ACTIVATIONS), value=activation, description="activation"),
        "depth": widgets.IntSlider(value=depth, min=2, max=30, description="depth", continuous_update=False),
    }
    return Explorer(controls, layer_statistics, draw_layer_statistics, figsize=(10.0, 4.4),
                    description="How the initial weights shape the signal through depth",
                    describe=describe_layer_statistics)
