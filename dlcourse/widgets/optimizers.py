"""Adaptive optimizers racing on 2-D surfaces, each at its own learning rate.

``optimizer_race``: any of eleven ``dlcourse.optim`` optimizers on a 2-D
surface of ``dlcourse.surfaces``, each at a learning rate tuned for the
surface times the factor of its slider.  The lecture's other widget,
``bias_correction_explorer`` (``dlcourse.widgets.bias_correction``), is
importable from here too; its digits benchmark is
``dlcourse.training.train_on_digits``.

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (Adam, practical
advice); SDU summer school 'Gradient-Based Learning' (Adagrad, RMSProp,
Adadelta, Adam, Adamax, Nadam); Univ. of Macau 'Modern Techniques'; J.
Adamczyk, Deep learning lecture notes (Lion).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.optim import OPTIMIZERS
from dlcourse.surfaces import get_surface, run
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import number, plain_log_ticks, series_style, sparse_ticks
from dlcourse.widgets.bias_correction import bias_correction_explorer
from dlcourse.widgets.momentum import (
    draw_surface,
    fixed_layout,
    loss_gap,
    plot_loss_curves,
    set_initial_values,
)

__all__ = [
    "RACE_HYPERPARAMETERS", "RACE_OPTIMIZERS", "RACE_SURFACES", "START_POINTS", "TUNED_LR", "bias_correction_explorer",
    "describe_race",
    "draw_race", "optimizer_race", "race",
]

RACE_SURFACES = ("rosenbrock", "beale", "himmelblau", "saddle", "ravine", "quadratic")
RACE_OPTIMIZERS = (
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam", "lion",
)
_DEFAULT_RACERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "lion")
# Colour, line style and marker of each optimizer: no two share all three (eleven runs, seven colours);
# the default racers come first, so that they also have seven different colours.
_STYLES = {o: series_style(i) for i, o in enumerate(_DEFAULT_RACERS + tuple(o for o in RACE_OPTIMIZERS
                                                                            if o not in _DEFAULT_RACERS))}
_COLORS = {o: style["color"] for o, style in _STYLES.items()}

#: Learning rate of each optimizer on each surface (all other hyperparameters at
#: torch's defaults).  From a sweep over the grid 10^(k/4) from the default
#: start: the rate with the lowest mean log10(f - f*) over 200 steps among the
#: runs that stay inside the plotted window (grown by 10%).  The saddle has no
#: minimum: its rates were picked by hand so that every optimizer escapes within
#: about 100 steps.
TUNED_LR: dict[str, dict[str, float]] = {
    "rosenbrock": {
        "sgd": 5.6e-3, "momentum": 1.8e-3, "nesterov": 1.8e-3, "adagrad": 1.8, "rmsprop": 0.18, "adadelta": 32.0,
        "adam": 0.56, "adamw": 0.56, "adamax": 1.8, "nadam": 0.18, "lion": 1.8e-2,
    },
    "beale": {
        "sgd": 3.2e-2, "momentum": 3.2e-3, "nesterov": 3.2e-3, "adagrad": 1.8, "rmsprop": 0.18, "adadelta": 32.0,
        "adam": 0.56, "adamw": 0.56, "adamax": 1.0, "nadam": 0.56, "lion": 0.1,
    },
    "himmelblau": {
        "sgd": 1.8e-2, "momentum": 1.8e-2, "nesterov": 1e-2, "adagrad": 1.8, "rmsprop": 0.1, "adadelta": 100.0,
        "adam": 1.0, "adamw": 3.2, "adamax": 3.2, "nadam": 0.32, "lion": 0.1,
    },
    "saddle": {
        "sgd": 5e-2, "momentum": 2e-2, "nesterov": 2e-2, "adagrad": 0.1, "rmsprop": 1e-2, "adadelta": 1.0,
        "adam": 5e-2, "adamw": 5e-2, "adamax": 5e-2, "nadam": 5e-2, "lion": 2e-2,
    },
    "ravine": {
        "sgd": 0.56, "momentum": 0.18, "nesterov": 0.56, "adagrad": 1.8, "rmsprop": 0.1, "adadelta": 32.0,
        "adam": 1.0, "adamw": 1.8, "adamax": 1.0, "nadam": 0.32, "lion": 0.18,
    },
    "quadratic": {
        "sgd": 0.18, "momentum": 3.2e-2, "nesterov": 0.1, "adagrad": 3.2, "rmsprop": 0.18, "adadelta": 56.0,
        "adam": 0.56, "adamw": 3.2, "adamax": 1.0, "nadam": 0.56, "lion": 0.1,
    },
}

#: Hyperparameters besides the learning rate that change a racer's update: passed to its step
#: function and shown on the scoreboard next to its rate (``dlcourse.optim``'s defaults, written
#: out: AdamW's decay is torch's default, a pull toward the origin that Adam does not have).
#: Every other hyperparameter (betas, eps, ...) is at torch's default.
RACE_HYPERPARAMETERS: dict[str, dict[str, float]] = {
    "momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9}, "adamw": {"weight_decay": 1e-2},
}
_SYMBOLS = {"momentum": "\u03bc", "weight_decay": "\u03bb"}  # mu and lambda, as in docs/notation.md

#: Start points: the surface's own default, or a corner of its plotted window
#: as fractions (x, y) of the window's width and height.
START_POINTS: dict[str, tuple[float, float] | None] = {
    "default": None, "upper left": (0.1, 0.9), "upper right": (0.9, 0.9),
    "lower left": (0.1, 0.1), "lower right": (0.9, 0.1),
}
_STEPS_MAX = 500
# Runs are cached at the first of these lengths that covers the requested steps,
# so the steps slider usually only slices a cached run, and a new surface or
# start at the default 200 steps costs 200 steps per optimizer, not 500.  A longer
# run already computed is sliced instead (``_LONGEST``: (surface, optimizer, lr,
# start) -> the longest length computed).
_RUN_LENGTHS = (100, 200, _STEPS_MAX)
_LONGEST: dict[tuple, int] = {}
_ESCAPED = -4.0  # the lowest value of the saddle x^2 - y^2 inside its window [-2, 2]^2


# --------------------------------------------------------------------- the race
def _start_point(surface: str, start: str) -> tuple[float, float]:
    fractions = START_POINTS[check_choice(start, "start", tuple(START_POINTS))]
    s = get_surface(surface)
    if fractions is None:
        return tuple(float(c) for c in s.default_start)
    (x_low, x_high), (y_low, y_high) = s.bounds
    return x_low + fractions[0] * (x_high - x_low), y_low + fractions[1] * (y_high - y_low)


@functools.lru_cache(maxsize=1024)
def _race_run(surface: str, optimizer: str, lr: float, start: tuple[float, float], length: int) -> np.ndarray:
    """``length`` steps of one optimizer (read-only, cached: moving one lr reruns one optimizer)."""
    init_fn, step_fn = OPTIMIZERS[optimizer]
    path = run(step_fn, init_fn, surface, np.array(start), length, lr=lr, **RACE_HYPERPARAMETERS.get(optimizer, {}))
    path.setflags(write=False)
    key = (surface, optimizer, lr, start)
    _LONGEST[key] = max(_LONGEST.get(key, 0), length)
    return path


def race(
    surface: str = "rosenbrock",
    optimizers: Sequence[str] = _DEFAULT_RACERS,
    steps: int = 200,
    start: str = "default",
    lr_factors: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Run several optimizers from the same start on a 2-D surface.

    Each optimizer uses ``TUNED_LR[surface][name] * lr_factors.get(name, 1)``,
    the hyperparameters of ``RACE_HYPERPARAMETERS`` (momentum 0.9, AdamW's
    weight decay 1e-2) and torch's defaults for every other one.

    Args:
        surface: one of ``RACE_SURFACES``.
        optimizers: names from ``RACE_OPTIMIZERS`` (any subset, in any order).
        steps: number of steps, ``1 <= steps <= 500``.
        start: a key of ``START_POINTS``.
        lr_factors: name -> factor ``> 0`` on the tuned learning rate.

    Returns:
        dict with ``surface``, ``start`` (x, y), ``lrs`` (learning rate of all
        eleven optimizers), ``hyperparameters`` (name -> the keywords its
        step function is given: ``lr`` and ``RACE_HYPERPARAMETERS``),
        ``trajectories`` and ``losses`` (f - f*, or f on the saddle) of the
        racing ones, ``scores`` (final f - f*, or on the saddle
        the step at which f fell below -4, the window's lowest value; None if
        diverged or not escaped) and ``score_label``.

    Source:
        Lectures: Georgia Tech CS 4644/7643 'Optimization' and SDU summer
        school 'Gradient-Based Learning' (saddles, ill-conditioning); DLVU
        lecture 4 'Tools of the trade'.

    Notes:
        Learning rates do not carry over between optimizers: Adam's step is
        about ``lr`` per coordinate, SGD's is ``lr`` times the gradient, and
        Adadelta's is torch's ``lr`` times the paper's update (whose first steps
        are only about sqrt(eps / (1 - rho)) = 0.003), hence its large tuned
        rates.  AdamW runs with torch's default ``weight_decay=1e-2``, a pull
        toward the origin that Adam does not have.
    """
    name = check_choice(surface, "surface", RACE_SURFACES)
    optimizers = tuple(check_choice(o, "optimizers", RACE_OPTIMIZERS) for o in optimizers)
    steps = check_int(steps, "steps", 1)
    if steps > _STEPS_MAX:
        raise ValueError(f"steps must be at most {_STEPS_MAX}, got {steps}")
    factors = dict(lr_factors or {})
    for optimizer, factor in factors.items():
        check_choice(optimizer, "lr_factors key", RACE_OPTIMIZERS)
        check_range(factor, f"lr_factors[{optimizer!r}]", 0.0, low_inclusive=False)
    point = _start_point(name, start)
    lrs = {o: TUNED_LR[name][o] * factors.get(o, 1.0) for o in RACE_OPTIMIZERS}
    needed = next(n for n in _RUN_LENGTHS if steps <= n)
    trajectories = {o: _race_run(name, o, lrs[o], point, max(needed, _LONGEST.get((name, o, lrs[o], point), 0)))
                    [: steps + 1] for o in optimizers}
    losses = {o: loss_gap(name, path) for o, path in trajectories.items()}
    saddle = not get_surface(name).minima
    scores = {o: (_escape_step(loss) if saddle else _final(loss)) for o, loss in losses.items()}
    return {
        "surface": name, "start": point, "steps": steps, "lrs": lrs,
        "hyperparameters": {o: {"lr": lrs[o], **RACE_HYPERPARAMETERS.get(o, {})} for o in RACE_OPTIMIZERS},
        "trajectories": trajectories,
        "losses": losses, "scores": scores,
        "score_label": "step at which f < -4 (escaped)" if saddle else f"f - f* after {steps} steps",
    }


def _final(loss: np.ndarray) -> float | None:
    return float(loss[-1]) if np.isfinite(loss[-1]) else None


def _escape_step(loss: np.ndarray) -> float | None:
    below = np.flatnonzero(loss < _ESCAPED)
    return float(below[0]) if below.size else None


def draw_race(figure: Figure, data: dict[str, Any], tune: str = "adam", **values: Any) -> None:
    """Trajectories (left), loss curves (middle) and a scoreboard of all eleven learning rates (right)."""
    ax_path, ax_loss, ax_score = fixed_layout(figure, 3, (1.1, 1.0, 0.7), left=0.05, right=0.885, wspace=0.32)
    draw_surface(ax_path, data["surface"])
    for o, path in data["trajectories"].items():
        width = 2.2 if o == tune else 1.0
        ax_path.plot(path[:, 0], path[:, 1], **_STYLES[o], markersize=4, markevery=max(1, data["steps"] // 8),
                     linewidth=width, label=o)
    ax_path.plot(*data["start"], "ko", markersize=5)
    ax_path.set_title(f"{data['surface']}, {data['steps']} steps", fontsize=10)
    if data["trajectories"]:
        ax_path.legend(fontsize=7.5, loc="best")
    saddle = data["score_label"].startswith("step")
    plot_loss_curves(ax_loss, data["losses"], _COLORS, log=not saddle, styles=_STYLES)
    ax_loss.set_ylabel("f" if saddle else "f - f*")
    if saddle:
        ax_loss.set_ylim(_ESCAPED - 0.5, 4.5)
    ax_loss.set_title("loss (x: diverged)", fontsize=10)
    _draw_scoreboard(ax_score, data, tune, log=not saddle)


def _draw_scoreboard(ax: Any, data: dict[str, Any], tune: str, log: bool) -> None:
    """One row per optimizer, labelled with its hyperparameters; a bar for each racing one."""
    rows = np.arange(len(RACE_OPTIMIZERS))[::-1]
    floor, ceiling = 1e-16, 1e8  # as the loss curves: beyond these, bars would squash the others
    scores = {o: (min(max(s, floor), ceiling) if log else s) for o, s in data["scores"].items() if s is not None}
    for row, o in zip(rows, RACE_OPTIMIZERS, strict=True):
        if o in scores:
            ax.barh(row, scores[o], color=_COLORS[o], height=0.7)
            ax.text(scores[o] * 1.4 if log else scores[o] + 3, row, f"{data['scores'][o]:.1g}" if log else
                    f"{scores[o]:.0f}", va="center", fontsize=7.5, color=_COLORS[o])
        elif o in data["scores"]:
            ax.text(0.03, row, "diverged" if log else "not escaped", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=7.5, color=_COLORS[o])
    # Row labels as plain texts right of the axes (clear of the loss panel):
    # eleven ticks would cost more to lay out than the whole scoreboard.
    ax.set_yticks([])
    for row, o in zip(rows, RACE_OPTIMIZERS, strict=True):
        settings = "  ".join(f"{_SYMBOLS[k]}={v:g}" for k, v in data["hyperparameters"][o].items() if k != "lr")
        ax.text(1.03, row, f"{o}  lr={data['lrs'][o]:.2g}" + (f"\n    {settings}" if settings else ""),
                transform=ax.get_yaxis_transform(), va="center", fontsize=8, linespacing=1.0,
                color=_COLORS[o] if o in data["trajectories"] else "0.6", fontweight="bold" if o == tune else "normal")
    if log:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, numticks=4)  # plain labels (0.0001) are wide: fewer of them
        ax.set_xlim(min(scores.values(), default=1.0) / 10, max(max(scores.values(), default=1.0) * 100, 1.0))
    else:
        ax.set_xlim(0, data["steps"] * 1.1)
        sparse_ticks(ax.xaxis)
    ax.set_ylim(-0.6, len(RACE_OPTIMIZERS) - 0.4)
    ax.set_title(data["score_label"], fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)


def describe_race(data: dict[str, Any], tune: str = "adam", **values: Any) -> str:
    """The figure in words: the racers ranked by their score, and every optimizer's learning rate."""
    saddle = data["score_label"].startswith("step")
    scores = data["scores"]
    ranked = sorted((o for o in scores if scores[o] is not None), key=scores.get)
    failed = [o for o in scores if scores[o] is None]
    x, y = data["start"]
    words = (f"Left: contours of the {data['surface']} surface with the paths of {len(scores)} optimizers, "
             f"{data['steps']} steps from ({number(x)}, {number(y)}), {tune}'s path bold. Middle: the loss against "
             "the step. Right: " + ("the step at which f < −4 (escaped): " if saddle
                                    else f"f − f* after {data['steps']} steps, best first: ")
             + (", ".join(f"{o} {number(scores[o], 2)}" for o in ranked) or "none"))
    if failed:
        words += ("; not escaped: " if saddle else "; diverged: ") + ", ".join(failed)
    return words + ". Learning rates: " + ", ".join(f"{o} {number(data['lrs'][o], 2)}" for o in RACE_OPTIMIZERS) + "."


def _race_from_controls(surface: str, optimizers: Sequence[str], tune: str, steps: int, start: str,
                        **lr_controls: float) -> dict[str, Any]:
    # ``tune`` only changes the drawing (which path is bold, which slider is shown)
    return race(surface, optimizers, steps, start, {key.removeprefix("lr_"): v for key, v in lr_controls.items()})


@register
def optimizer_race(**initial: Any) -> Explorer:
    """Race up to eleven optimizers on a 2-D surface, each at its own learning rate.

    Controls (keyword arguments set their initial values): ``surface``
    (``RACE_SURFACES``), ``optimizers`` (a multi-select of ``RACE_OPTIMIZERS``),
    ``tune`` (the optimizer whose learning-rate slider is shown and whose path
    is drawn bold), ``steps`` (10..500), ``start`` (``START_POINTS``) and one
    ``lr_NAME`` per optimizer: a factor on its tuned rate ``TUNED_LR[surface]``
    (log slider 0.01..100; the slider's label shows the tuned rate, the
    scoreboard the rate in use and the ``RACE_HYPERPARAMETERS``: momentum mu,
    AdamW's weight decay lambda).

    Update time: median 121 ms, max 143 ms over the 65 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    Runs are cached (the first view's at 500 steps), so moving one learning rate reruns one
    optimizer; the slowest case, all eleven optimizers on a new surface at 500 steps, computes
    5500 optimizer steps and takes about 300 ms.
    """
    controls: dict[str, widgets.ValueWidget] = {
        "surface": widgets.Dropdown(options=RACE_SURFACES, value="rosenbrock", description="surface"),
        "optimizers": widgets.SelectMultiple(options=RACE_OPTIMIZERS, value=_DEFAULT_RACERS, rows=6,
                                             description="racing"),
        "tune": widgets.Dropdown(options=RACE_OPTIMIZERS, value="adam", description="tune lr of"),
        "steps": widgets.IntSlider(value=200, min=10, max=_STEPS_MAX, step=10, description="steps",
                                   continuous_update=False),
        "start": widgets.Dropdown(options=tuple(START_POINTS), value="default", description="start"),
    }
    for o in RACE_OPTIMIZERS:
        controls[f"lr_{o}"] = widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.125,
                                                     readout_format=".3g", continuous_update=False)
    set_initial_values(controls, initial, "optimizer_race")
    # the longest runs of the first view, so that the steps slider only slices them (~70 ms, once)
    race(controls["surface"].value, controls["optimizers"].value, _STEPS_MAX, controls["start"].value,
         {o: controls[f"lr_{o}"].value for o in RACE_OPTIMIZERS})

    def show_tuned_slider(_: Any = None) -> None:
        for o in RACE_OPTIMIZERS:
            slider = controls[f"lr_{o}"]
            slider.description = f"lr {TUNED_LR[controls['surface'].value][o]:.2g} ×"
            slider.layout.display = None if o == controls["tune"].value else "none"

    show_tuned_slider()
    controls["tune"].observe(show_tuned_slider, names="value")
    controls["surface"].observe(show_tuned_slider, names="value")
    return Explorer(controls, _race_from_controls, draw_race, figsize=(13.0, 4.6),
                    description="Optimizer race: each optimizer at a learning rate tuned for the surface, "
                                "times the factor of its slider", describe=describe_race)
