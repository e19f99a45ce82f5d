"""Widgets for lecture 02 (activation functions): the activation zoo and vanishing gradients.

``activation_explorer`` plots any activation of ``dlcourse.activations`` and
its derivative, with the regions where the derivative is (almost) zero shaded:
there the unit passes (almost) no gradient back.  ``gradient_depth_explorer``
sends a batch through a deep stack of square layers built from
``dlcourse.layers`` and plots the gradient that reaches every layer: each layer
multiplies the backward signal by its weights and by f'(z), so a derivative
below 1 at every layer makes the gradient shrink geometrically with depth.

Sources: Georgia Tech CS 4644/7643 'Optimization' (activation functions:
min/max, saturation, gradients); Univ. of Macau 'Modern Techniques'
(vanishing gradients as a product of sigmoid derivatives, each < 1).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.activation_layers import ACTIVATION_LAYERS
from dlcourse.activations import ACTIVATIONS, gelu, prelu, prelu_grad
from dlcourse.layers import linear_backward, linear_forward
from dlcourse.widgets import register
from dlcourse.widgets._base import Explorer
from dlcourse.widgets._plotting import PALETTE, fixed_margins, number, one_blas_thread

__all__ = [
    "ACTIVATION_NAMES",
    "activation_curves",
    "activation_explorer",
    "describe_activation_curves",
    "describe_gradient_depth",
    "draw_activation_curves",
    "draw_gradient_depth",
    "gradient_depth",
    "gradient_depth_explorer",
]

_FUNCTIONS = {**ACTIVATIONS, "prelu": (prelu, prelu_grad)}
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "gelu", "selu", "silu", "mish",
                    "softplus")
# Which control feeds which keyword argument of each activation (PReLU's
# learnable slope a shares the negative-slope slider with leaky ReLU).
_KEYWORDS = {
    "leaky_relu": {"negative_slope": "negative_slope"},
    "prelu": {"a": "negative_slope"},
    "elu": {"alpha": "alpha"},
    "softplus": {"beta": "beta"},
    "gelu": {"approximate": "approximate"},
}
_PARAMETER_CONTROLS = ("negative_slope", "alpha", "beta", "approximate")


def activation_curves(
    activation: str,
    negative_slope: float = 0.01,
    alpha: float = 1.0,
    beta: float = 1.0,
    approximate: str = "none",
    x_max: float = 5.0,
    saturation: float = 0.05,
    n_points: int = 801,
) -> dict[str, Any]:
    """f(x) and f'(x) on [-x_max, x_max] for one activation, and where |f'(x)| < saturation.

    Args:
        activation: a name in ``ACTIVATION_NAMES``.
        negative_slope: leaky ReLU's slope for x <= 0, and PReLU's slope a.
        alpha: ELU's saturation value for x -> -inf (> 0 here).
        beta: softplus sharpness (> 0).
        approximate: GELU's "none" (exact) or "tanh".
        x_max: half-width of the plotted range (> 0).
        saturation: threshold below which |f'| counts as saturated (>= 0).
        n_points: number of grid points (>= 2).

    Returns:
        dict with ``x``, ``y`` = f(x), ``dy`` = f'(x), ``saturated`` (bool mask
        |f'(x)| < saturation), ``kwargs`` (the keyword arguments passed to the
        activation) and ``unused`` (parameter controls this activation ignores).
    """
    check_choice(activation, "activation", ACTIVATION_NAMES)
    values = {
        "negative_slope": check_range(negative_slope, "negative_slope"),
        "alpha": check_range(alpha, "alpha", 0.0, None, low_inclusive=False),
        "beta": check_range(beta, "beta", 0.0, None, low_inclusive=False),
        "approximate": check_choice(approximate, "approximate", ("none", "tanh")),
    }
    x_max = check_range(x_max, "x_max", 0.0, None, low_inclusive=False)
    saturation = check_range(saturation, "saturation", 0.0)
    x = np.linspace(-x_max, x_max, check_int(n_points, "n_points", 2))
    keywords = _KEYWORDS.get(activation, {})
    kwargs = {argument: values[control] for argument, control in keywords.items()}
    fn, grad = _FUNCTIONS[activation]
    dy = grad(x, **kwargs)
    return {
        "x": x, "y": fn(x, **kwargs), "dy": dy, "saturated": np.abs(dy) < saturation, "kwargs": kwargs,
        "unused": {name: values[name] for name in _PARAMETER_CONTROLS if name not in keywords.values()},
    }


def _import_erf_now() -> None:
    """GELU imports scipy.special on first use (~0.3 s): pay that when a widget is built, not on a slider move."""
    gelu(np.zeros(1))


def _format_kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" for k, v in kwargs.items())


def _shade(ax: Any, x: np.ndarray, mask: np.ndarray) -> None:
    """Shade the x-intervals where mask is True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(x[start], x[stop - 1], color=PALETTE["vermillion"], alpha=0.15, lw=0)


def draw_activation_curves(figure: Figure, data: dict[str, Any], activation: str, saturation: float,
                           **values: Any) -> None:
    """Left: f(x); right: f'(x); saturated regions shaded on both; a footer lists the parameters."""
    fixed_margins(figure, left=0.05, right=0.99, bottom=0.2, top=0.92, wspace=0.15)
    value_ax, grad_ax = figure.subplots(1, 2, sharex=True)
    x, saturated = data["x"], data["saturated"]
    call = ", ".join(["x", _format_kwargs(data["kwargs"])]) if data["kwargs"] else "x"
    value_ax.plot(x, data["y"], color=PALETTE["blue"], lw=2)
    value_ax.set_title(f"{activation}({call})", fontsize=11)
    grad_ax.plot(x, data["dy"], color=PALETTE["vermillion"], lw=2)
    grad_ax.set_title(f"derivative f′(x): largest |f′| = {np.abs(data['dy']).max():.3g} on this window", fontsize=11)
    for level, style in ((1.0, "--"), (0.25, ":")):
        grad_ax.axhline(level, color="0.5", lw=0.8, ls=style)
    grad_ax.text(x[0], 0.25, " 1/4 = max of sigmoid′", fontsize=8, color="0.4", va="bottom")
    for ax in (value_ax, grad_ax):
        _shade(ax, x, saturated)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.axvline(0, color="0.3", lw=0.6)
        ax.grid(alpha=0.3)
    unused = _format_kwargs(data["unused"])
    figure.supxlabel(f"x.   Shaded: |f′(x)| < {saturation:g}, saturated: (almost) no gradient passes; "
                     f"{100 * saturated.mean():.0f}% of the window.   Not used by {activation}: {unused}.",
                     fontsize=8.5, color="0.25")


def _intervals(x: np.ndarray, mask: np.ndarray) -> str:
    """The x-intervals where mask is True, in words: "x < -2.9 and x > 2.9", "-0.5 < x < 0.5", "nowhere"."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    parts = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        low, high = number(x[start], 2), number(x[stop - 1], 2)
        parts.append("everywhere" if start == 0 and stop == len(x) else f"x < {high}" if start == 0
                     else f"x > {low}" if stop == len(x) else f"{low} < x < {high}")
    return " and ".join(parts) or "nowhere"


def describe_activation_curves(data: dict[str, Any], activation: str, saturation: float, x_max: float,
                               **values: Any) -> str:
    """The figure in words: the range of f and f', where f' is largest, and where the unit saturates."""
    x, y, dy, saturated = data["x"], data["y"], data["dy"], data["saturated"]
    peak = int(np.argmax(np.abs(dy)))
    unused = ", ".join(f"{name.replace('_', ' ')} {value if isinstance(value, str) else number(value)}"
                       for name, value in data["unused"].items())
    low, high = number(x[0]), number(x[-1])
    return (f"{activation} (left) and its derivative f′ (right) for x from {low} to {high}: "
            f"f({low}) = {number(y[0])}, f({high}) = {number(y[-1])}, f′({low}) = {number(dy[0])}, "
            f"f′({high}) = {number(dy[-1])}; the largest |f′| is {number(abs(dy[peak]))}, at x = "
            f"{number(x[peak], 2)}. Shaded, saturated (|f′| < {number(saturation)}, almost no gradient passes): "
            f"{_intervals(x, saturated)}, {100 * saturated.mean():.0f}% of the window."
            + (f" Not used by {activation}: {unused}." if unused else ""))


@register
def activation_explorer(activation: str = "sigmoid", negative_slope: float = 0.01, alpha: float = 1.0,
                        beta: float = 1.0, approximate: str = "none", x_max: float = 5.0,
                        saturation: float = 0.05) -> Explorer:
    """Any activation of dlcourse.activations with its derivative and its saturated regions.

    Controls: the activation, its parameter (negative slope for leaky ReLU and
    PReLU's a, alpha for ELU, beta for softplus, approximate for GELU), the
    x range and the threshold below which |f'| counts as saturated.

    Update time: median 63 ms, max 70 ms over the 26 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    _import_erf_now()
    style = {"continuous_update": False, "style": {"description_width": "initial"}}
    controls = {
        "activation": widgets.Dropdown(options=ACTIVATION_NAMES, value=activation, description="activation"),
        "negative_slope": widgets.FloatSlider(value=negative_slope, min=0.0, max=0.5, step=0.01,
                                              description="negative slope (leaky_relu, prelu a)", **style),
        "alpha": widgets.FloatSlider(value=alpha, min=0.1, max=3.0, step=0.1, description="alpha (elu)", **style),
        "beta": widgets.FloatSlider(value=beta, min=0.25, max=5.0, step=0.25, description="beta (softplus)", **style),
        "approximate": widgets.Dropdown(options=["none", "tanh"], value=approximate,
                                        description="approximate (gelu)", style=style["style"]),
        "x_max": widgets.FloatSlider(value=x_max, min=1.0, max=10.0, step=0.5, description="x range ±", **style),
        "saturation": widgets.FloatSlider(value=saturation, min=0.01, max=0.25, step=0.01,
                                          description="saturated if |f'| <", **style),
    }
    return Explorer(controls, activation_curves, draw_activation_curves, figsize=(10.5, 4.0),
                    description="Activation functions and their derivatives", describe=describe_activation_curves)


# ------------------------------------------------------------------ depth
_MAX_DEPTH, _WIDTH, _BATCH, _SEED = 50, 64, 64, 0
# Grey comparison curves: the classic activations (the smooth modern ones lie between relu and elu).
_COMPARED = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu")


@lru_cache(maxsize=4)
def _standard_draws(width: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input batch, upstream gradient and _MAX_DEPTH standard-normal weight matrices, drawn once per seed."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    upstream = rng.standard_normal((batch, width)) / batch
    weights = rng.standard_normal((_MAX_DEPTH, width, width))
    for array in (x, upstream, weights):
        array.flags.writeable = False  # shared by every call through the cache
    return x, upstream, weights


@lru_cache(maxsize=256)
def gradient_depth(activation: str, depth: int, gain: float, width: int = _WIDTH, batch: int = _BATCH,
                   seed: int = _SEED) -> dict[str, np.ndarray]:
    """Gradient norms per layer of a deep stack of square layers at initialization.

    Layers l = 1..depth, no biases:  z_l = h_{l-1} W_l,  h_l = f(z_l),  h_0 = x,
    with W_l = gain * N(0, 1) / sqrt(width) (gain 1 is LeCun's rule, sqrt 2
    He's for ReLU).  The loss is L = (1/N) sum_n r_n . h_depth for a fixed
    random r, so dL/dh_depth = r / N does not depend on the forward signal.
    The backward pass (``dlcourse.layers``) gives delta_l = dL/dz_l and
    dL/dW_l = h_{l-1}^T delta_l; since delta_l = (delta_{l+1} W_{l+1}^T) * f'(z_l),
    each layer multiplies the gradient by about gain * rms(f'(z_l)).

    Args:
        activation: a name in ``dlcourse.activations.ACTIVATIONS``.
        depth: number of layers, 1..50.
        gain: weight scale (> 0).
        width, batch, seed: sizes and the seed of the draws.  The draws are
            the same for every depth and gain, so the curves are comparable:
            from ``np.random.default_rng(seed)``, in this order, x and r of
            shape (batch, width), then 50 matrices of shape (width, width),
            all standard normal; the upstream gradient is r / batch.

    Returns:
        dict (arrays of length depth, index 0 = layer 1) with ``grad_W``
        (Frobenius norm of dL/dW_l), ``delta`` (norm of dL/dz_l),
        ``activation_std`` (std of h_l), ``dfactor`` (rms of f'(z_l)) and
        ``predicted`` = norm of delta at the top layer times the product of
        gain * dfactor over layers l..depth-1 (the "product of derivatives":
        each step down multiplies by W_{k+1} and by f'(z_k)).
        Results are cached: treat the arrays as read-only.
    """
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    depth = check_int(depth, "depth", 1)
    if depth > _MAX_DEPTH:
        raise ValueError(f"depth must be at most {_MAX_DEPTH}, got {depth}")
    gain = check_range(gain, "gain", 0.0, None, low_inclusive=False)
    x, upstream, standard = _standard_draws(check_int(width, "width", 1), check_int(batch, "batch", 1), seed)
    forward, backward = ACTIVATION_LAYERS[activation]
    derivative = ACTIVATIONS[activation][1]
    no_bias = np.zeros(width)
    h, caches, stds, dfactor = x, [], np.empty(depth), np.empty(depth)
    for layer in range(depth):
        z, linear_cache = linear_forward(h, standard[layer] * (gain / np.sqrt(width)), no_bias)
        h, activation_cache = forward(z)
        caches.append((linear_cache, activation_cache))
        stds[layer] = h.std()
        dfactor[layer] = np.sqrt(np.mean(derivative(z) ** 2))
    grad_W, delta_norm = np.empty(depth), np.empty(depth)
    dh = upstream
    for layer in reversed(range(depth)):
        linear_cache, activation_cache = caches[layer]
        delta = backward(dh, activation_cache)
        dh, dW, _ = linear_backward(delta, linear_cache)
        grad_W[layer], delta_norm[layer] = np.linalg.norm(dW), np.linalg.norm(delta)
    factors = gain * dfactor
    # delta_l ~ delta_depth * prod_{k=l}^{depth-1} gain * rms f'(z_k): W_{k+1} and f'(z_k) for every step down
    above = np.concatenate((np.cumprod(factors[-2::-1])[::-1], [1.0]))
    result = {"grad_W": grad_W, "delta": delta_norm, "activation_std": stds, "dfactor": dfactor,
              "predicted": delta_norm[-1] * above}
    for array in result.values():
        array.flags.writeable = False
    return result


def _compute_depth(activation: str, depth: int, gain: float, compare: bool) -> dict[str, Any]:
    with one_blas_thread():
        others = {name: gradient_depth(name, depth, gain)["grad_W"]
                  for name in _COMPARED if compare and name != activation}
        return {"main": gradient_depth(activation, depth, gain), "others": others}


def _label_ends(ax: Any, x: float, ends: dict[str, float]) -> None:
    """Names at the right end of the grey curves, nudged apart on the log axis so they do not overlap."""
    names = sorted(ends, key=ends.get)
    logs = np.log10([ends[n] for n in names])
    low, high = np.log10(ax.get_ylim())
    gap = (high - low) / 25  # about one line of 7-pt text on this axis
    for i in range(1, len(logs)):
        logs[i] = max(logs[i], logs[i - 1] + gap)
    for name, log in zip(names, logs, strict=True):
        ax.text(x, 10.0**log, name, fontsize=7, color="0.4", va="center")


def draw_gradient_depth(figure: Figure, data: dict[str, Any], activation: str, depth: int, gain: float,
                        compare: bool) -> None:
    """Left: gradient norms per layer (log scale).  Right: the per-layer factor gain * rms f'(z_l)."""
    fixed_margins(figure, left=0.07, right=0.99, bottom=0.12, top=0.88, wspace=0.2)
    grad_ax, factor_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    main = data["main"]
    layers = np.arange(1, depth + 1)
    tiny = np.finfo(np.float64).tiny  # a norm of exactly 0 (all units dead) cannot go on a log axis
    for grad_W in data["others"].values():
        grad_ax.plot(layers, np.maximum(grad_W, tiny), color="0.7", lw=1)
    grad_ax.plot(layers, np.maximum(main["grad_W"], tiny), color=PALETTE["vermillion"], lw=2.2,
                 label="‖∂L/∂W_l‖ (what the optimizer sees)")
    grad_ax.plot(layers, np.maximum(main["delta"], tiny), "-.", color=PALETTE["blue"], lw=1.2,
                 label="‖∂L/∂z_l‖ (backward signal)")
    grad_ax.plot(layers, np.maximum(main["predicted"], tiny), "--", color="k", lw=1,
                 label="top value × product of the factors on the right")
    grad_ax.set_yscale("log")
    # Few ticks and no minor ones: over 60 decades matplotlib's default tick objects cost more than the rest;
    # within two decades ticks at 1, 2 and 5 so that the axis still has numbers.
    low, high = np.log10(grad_ax.get_ylim())
    narrow = high - low < 2
    grad_ax.yaxis.set_major_locator(LogLocator(numticks=7, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
    # plain-text labels (1e-08): matplotlib's default $10^{-8}$ is mathtext, ~5 ms a label
    grad_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
    grad_ax.yaxis.set_minor_locator(NullLocator())
    if data["others"]:
        _label_ends(grad_ax, depth + 0.3, {name: max(g[-1], tiny) for name, g in data["others"].items()})
    ratio = main["grad_W"][0] / max(main["grad_W"][-1], tiny)
    grad_ax.set_title(f"{activation}, {depth} layers, gain {gain:.2f}: first/last layer gradient = {ratio:.2g}",
                      fontsize=10.5)
    grad_ax.set_xlabel("layer l (input side → output side)")
    grad_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    factor_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grad_ax.set_ylabel("gradient norm")
    grad_ax.set_xlim(0.5, depth + (4 if compare else 0.5))
    grad_ax.grid(alpha=0.3)
    grad_ax.legend(fontsize=8, loc="lower right")
    factors = gain * main["dfactor"]
    # One LineCollection instead of a bar per layer: 50 Rectangle artists cost ~20 ms per update.
    factor_ax.vlines(layers, 0, factors, colors=np.where(factors < 1, PALETTE["vermillion"], PALETTE["blue"]),
                     lw=max(1.5, 180 / depth))
    factor_ax.axhline(1.0, color="k", lw=1, ls="--")
    factor_ax.set_title("per-layer factor gain · rms f′(z_l)\n(< 1 vermillion: the gradient shrinks)",
                        fontsize=10.5)
    factor_ax.set_xlabel("layer l")
    factor_ax.set_ylim(0, max(1.6, 1.1 * factors.max()))
    factor_ax.grid(alpha=0.3, axis="y")


def describe_gradient_depth(data: dict[str, Any], activation: str, depth: int, gain: float, compare: bool) -> str:
    """The figure in words: the gradient at the first and the last layer, and the per-layer factors."""
    main = data["main"]
    grad_W, factors = main["grad_W"], gain * main["dfactor"]
    words = (f"Gradient norm per layer of a {depth}-layer {activation} network at initialization, weight gain "
             f"{number(gain)} (left, log scale): ‖∂L/∂W‖ is {number(grad_W[0])} at layer 1 and "
             f"{number(grad_W[-1])} at layer {depth}, a ratio first/last of "
             f"{number(grad_W[0] / max(grad_W[-1], np.finfo(np.float64).tiny), 2)}. Right: the per-layer factor "
             f"gain · rms f′(z), from {number(factors.min())} to {number(factors.max())}; below 1 (the gradient "
             f"shrinks) at {int(np.sum(factors < 1))} of {depth} layers.")
    if data["others"]:
        words += " Grey, ‖∂L/∂W‖ at layer 1 of the other activations: " + ", ".join(
            f"{name} {number(g[0], 2)}" for name, g in data["others"].items()) + "."
    return words


@register
def gradient_depth_explorer(activation: str = "sigmoid", depth: int = 20, gain: float = 1.0,
                            compare: bool = False) -> Explorer:
    """Gradient norm per layer of a deep network at initialization, for a chosen activation and depth.

    A batch of 64 Gaussian inputs goes through ``depth`` square layers of
    width 64 (weights gain * N(0, 1/64), no biases) and back.  Controls: the
    activation, the depth (1-50), the weight gain, and whether to draw the
    curves of sigmoid, tanh, relu, leaky_relu, elu, gelu and selu in grey.

    Update time: median 95 ms, max 119 ms over the 14 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    The compute is cached per (activation, depth, gain) and runs BLAS on one thread; all seven
    activations compared at a new depth 50 take about 170 ms.
    """
    _import_erf_now()
    style = {"continuous_update": False, "style": {"description_width": "initial"}}
    controls = {
        "activation": widgets.Dropdown(options=tuple(ACTIVATIONS), value=activation, description="activation"),
        "depth": widgets.IntSlider(value=depth, min=1, max=_MAX_DEPTH, description="depth (layers)", **style),
        "gain": widgets.FloatSlider(value=gain, min=0.25, max=3.0, step=0.05,
                                    description="init gain (std = gain/√width)", **style),
        "compare": widgets.Checkbox(value=compare, description="compare all activations"),
    }
    return Explorer(controls, _compute_depth, draw_gradient_depth, figsize=(10.5, 4.2),
                    description="Vanishing gradients: every layer multiplies the gradient by its weights and f′(z)",
                    describe=describe_gradient_depth)
