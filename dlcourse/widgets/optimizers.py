"""Adaptive optimizers: a race on 2-D surfaces, Adam's bias correction, and a digits benchmark.

* ``optimizer_race``: any of eleven ``dlcourse.optim`` optimizers on a 2-D
  surface of ``dlcourse.surfaces``, each at its own learning rate;
* ``bias_correction_explorer``: Adam's moving averages m and v with and
  without bias correction over the first steps;
* ``train_on_digits``: a lecture helper that trains ``dlcourse.layers.MLP`` on
  the 8x8 digits with one optimizer and returns its loss curve.

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (Adam, bias
correction, practical advice); SDU summer school 'Gradient-Based Learning'
(Adagrad, RMSProp, Adadelta, Adam, Adamax, Nadam); Univ. of Macau 'Modern
Techniques'; J. Adamczyk, Deep learning lecture notes (Lion).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.data import load_digits, minibatches, train_val_test_split
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import OPTIMIZERS, Optimizer
from dlcourse.optim._common import check_decay
from dlcourse.surfaces import get_surface, run
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import plain_log_ticks, sparse_ticks
from dlcourse.widgets.momentum import (
    draw_surface,
    fixed_layout,
    loss_gap,
    plot_loss_curves,
    set_initial_values,
)

__all__ = [
    "RACE_SURFACES",
    "RACE_OPTIMIZERS",
    "TUNED_LR",
    "START_POINTS",
    "race",
    "draw_race",
    "optimizer_race",
    "adam_moments",
    "GRADIENTS",
    "bias_correction_data",
    "draw_bias_correction",
    "bias_correction_explorer",
    "train_on_digits",
]

RACE_SURFACES = ("rosenbrock", "beale", "himmelblau", "saddle", "ravine", "quadratic")
RACE_OPTIMIZERS = (
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam", "lion",
)
_DEFAULT_RACERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "lion")
_COLORS = dict(zip(RACE_OPTIMIZERS, (
    "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
    "tab:pink", "navy", "tab:olive", "tab:cyan", "black",
)))

#: Learning rate of each optimizer on each surface (all other hyperparameters at
#: torch's defaults).  From a sweep over the grid 10^(k/4) from the default
#: start: the rate with the lowest mean log10(f - f*) over 200 steps among the
#: runs that stay inside the plotted window (grown by 10%).  The saddle has no
#: minimum: its rates were picked by hand so that every optimizer escapes within
#: about 100 steps.
TUNED_LR: dict[str, dict[str, float]] = {
    "rosenbrock": dict(sgd=5.6e-3, momentum=1.8e-3, nesterov=1.8e-3, adagrad=1.8, rmsprop=0.18, adadelta=32.0,
                       adam=0.56, adamw=0.56, adamax=1.8, nadam=0.18, lion=1.8e-2),
    "beale": dict(sgd=3.2e-2, momentum=3.2e-3, nesterov=3.2e-3, adagrad=1.8, rmsprop=0.18, adadelta=32.0,
                  adam=0.56, adamw=0.56, adamax=1.0, nadam=0.56, lion=0.1),
    "himmelblau": dict(sgd=1.8e-2, momentum=1.8e-2, nesterov=1e-2, adagrad=1.8, rmsprop=0.1, adadelta=100.0,
                       adam=1.0, adamw=3.2, adamax=3.2, nadam=0.32, lion=0.1),
    "saddle": dict(sgd=5e-2, momentum=2e-2, nesterov=2e-2, adagrad=0.1, rmsprop=1e-2, adadelta=1.0,
                   adam=5e-2, adamw=5e-2, adamax=5e-2, nadam=5e-2, lion=2e-2),
    "ravine": dict(sgd=0.56, momentum=0.18, nesterov=0.56, adagrad=1.8, rmsprop=0.1, adadelta=32.0,
                   adam=1.0, adamw=1.8, adamax=1.0, nadam=0.32, lion=0.18),
    "quadratic": dict(sgd=0.18, momentum=3.2e-2, nesterov=0.1, adagrad=3.2, rmsprop=0.18, adadelta=56.0,
                      adam=0.56, adamw=3.2, adamax=1.0, nadam=0.56, lion=0.1),
}

#: Start points: the surface's own default, or a corner of its plotted window
#: as fractions (x, y) of the window's width and height.
START_POINTS: dict[str, tuple[float, float] | None] = {
    "default": None, "upper left": (0.1, 0.9), "upper right": (0.9, 0.9),
    "lower left": (0.1, 0.1), "lower right": (0.9, 0.1),
}
_STEPS_MAX = 500
# Runs are cached at the first of these lengths that covers the requested steps,
# so the steps slider usually only slices a cached run, and a new surface or
# start at the default 200 steps costs 200 steps per optimizer, not 500.
_RUN_LENGTHS = (100, 200, _STEPS_MAX)
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
    path = run(step_fn, init_fn, surface, np.array(start), length, lr=lr)
    path.setflags(write=False)
    return path


def race(
    surface: str = "rosenbrock",
    optimizers: Sequence[str] = _DEFAULT_RACERS,
    steps: int = 200,
    start: str = "default",
    lr_factors: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Run several optimizers from the same start on a 2-D surface.

    Each optimizer uses ``TUNED_LR[surface][name] * lr_factors.get(name, 1)``
    and torch's defaults for every other hyperparameter.

    Args:
        surface: one of ``RACE_SURFACES``.
        optimizers: names from ``RACE_OPTIMIZERS`` (any subset, in any order).
        steps: number of steps, ``1 <= steps <= 500``.
        start: a key of ``START_POINTS``.
        lr_factors: name -> factor ``> 0`` on the tuned learning rate.

    Returns:
        dict with ``surface``, ``start`` (x, y), ``lrs`` (learning rate of all
        eleven optimizers), ``trajectories`` and ``losses`` (f - f*, or f on the
        saddle) of the racing ones, ``scores`` (final f - f*, or on the saddle
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
    length = next(n for n in _RUN_LENGTHS if steps <= n)
    trajectories = {o: _race_run(name, o, lrs[o], point, length)[: steps + 1] for o in optimizers}
    losses = {o: loss_gap(name, path) for o, path in trajectories.items()}
    saddle = not get_surface(name).minima
    scores = {o: (_escape_step(loss) if saddle else _final(loss)) for o, loss in losses.items()}
    return {
        "surface": name, "start": point, "steps": steps, "lrs": lrs, "trajectories": trajectories,
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
    ax_path, ax_loss, ax_score = fixed_layout(figure, 3, (1.1, 1.0, 0.7), left=0.05, right=0.885, wspace=0.25)
    draw_surface(ax_path, data["surface"])
    for o, path in data["trajectories"].items():
        width = 2.2 if o == tune else 1.0
        ax_path.plot(path[:, 0], path[:, 1], ".-", color=_COLORS[o], markersize=2, linewidth=width, label=o)
    ax_path.plot(*data["start"], "ko", markersize=5)
    ax_path.set_title(f"{data['surface']}, {data['steps']} steps", fontsize=10)
    if data["trajectories"]:
        ax_path.legend(fontsize=7.5, loc="best")
    saddle = data["score_label"].startswith("step")
    plot_loss_curves(ax_loss, data["losses"], _COLORS, log=not saddle)
    ax_loss.set_ylabel("f" if saddle else "f - f*")
    if saddle:
        ax_loss.set_ylim(_ESCAPED - 0.5, 4.5)
    ax_loss.set_title("loss (x: diverged)", fontsize=10)
    _draw_scoreboard(ax_score, data, tune, log=not saddle)


def _draw_scoreboard(ax: Any, data: dict[str, Any], tune: str, log: bool) -> None:
    """One row per optimizer, labelled with its learning rate; a bar for each racing one."""
    rows = np.arange(len(RACE_OPTIMIZERS))[::-1]
    floor, ceiling = 1e-16, 1e8  # as the loss curves: beyond these, bars would squash the others
    scores = {o: (min(max(s, floor), ceiling) if log else s) for o, s in data["scores"].items() if s is not None}
    for row, o in zip(rows, RACE_OPTIMIZERS):
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
    for row, o in zip(rows, RACE_OPTIMIZERS):
        ax.text(1.03, row, f"{o}  lr={data['lrs'][o]:.2g}", transform=ax.get_yaxis_transform(), va="center",
                fontsize=8, color=_COLORS[o] if o in data["trajectories"] else "0.6",
                fontweight="bold" if o == tune else "normal")
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
    scoreboard the rate in use).

    Speed: median 115 ms, max 170 ms per update over 130 updates (every control
    moved to several values, twice) on an otherwise idle 2-core machine,
    measured via ``Explorer.update_times`` (the same with torch imported).
    Runs are cached, so moving one learning rate reruns one optimizer.
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

    def show_tuned_slider(_: Any = None) -> None:
        for o in RACE_OPTIMIZERS:
            slider = controls[f"lr_{o}"]
            slider.description = f"lr {TUNED_LR[controls['surface'].value][o]:.2g} x"
            slider.layout.display = None if o == controls["tune"].value else "none"

    show_tuned_slider()
    controls["tune"].observe(show_tuned_slider, names="value")
    controls["surface"].observe(show_tuned_slider, names="value")
    return Explorer(controls, _race_from_controls, draw_race, figsize=(13.0, 4.6),
                    description="Optimizer race: each optimizer at a learning rate tuned for the surface, "
                                "times the factor of its slider")


# ---------------------------------------------------------- bias correction
def adam_moments(
    gradients: np.ndarray, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> dict[str, np.ndarray]:
    """Adam's moving averages for a sequence of scalar gradients, with and without bias correction.

    Equations (t = 1, 2, ...; m_0 = v_0 = 0)::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t       m_hat_t = m_t / (1 - beta1^t)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2     v_hat_t = v_t / (1 - beta2^t)

    Args:
        gradients: 1-D float array g_1, ..., g_T.
        beta1, beta2: decays in [0, 1).
        eps: ``> 0``, added outside the root as in torch.

    Returns:
        dict of arrays of length T: ``m``, ``v``, ``m_hat``, ``v_hat``,
        ``step`` = m_hat / (sqrt(v_hat) + eps) (Adam's step per unit of lr),
        ``step_uncorrected`` = m / (sqrt(v) + eps).

    Notes:
        Because m and v start at 0, E[m_t] = (1 - beta1^t) E[g] and
        E[v_t] = (1 - beta2^t) E[g^2]: the raw averages are biased toward zero.
        The uncorrected step is (1 - beta1^t) / sqrt(1 - beta2^t) times too
        large (about 3.2 at t = 1 with the default betas): v is more biased
        than m because beta2 is closer to 1.

    Source:
        Kingma & Ba (2015), "Adam: a method for stochastic optimization",
        section 3; torch.optim.Adam.  Lecture: VU Amsterdam DLVU lecture 4
        'Tools of the trade' (bias correction).
    """
    g = np.asarray(gradients, dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"gradients must be a non-empty 1-D array, got shape {g.shape}")
    beta1, beta2 = check_decay(beta1, "beta1"), check_decay(beta2, "beta2")
    eps = check_range(eps, "eps", 0.0, low_inclusive=False)
    m, v = _moving_average(g, beta1), _moving_average(g * g, beta2)
    t = np.arange(1, g.size + 1)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return {"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat,
            "step": m_hat / (np.sqrt(v_hat) + eps), "step_uncorrected": m / (np.sqrt(v) + eps)}


def _moving_average(values: np.ndarray, beta: float) -> np.ndarray:
    """a_t = beta a_{t-1} + (1 - beta) x_t from a_0 = 0 (a recursion: a short Python loop over scalars)."""
    averages = np.empty_like(values)
    average = 0.0
    for t, value in enumerate(values.tolist()):
        average = beta * average + (1.0 - beta) * value
        averages[t] = average
    return averages


#: Gradient sequences of the bias-correction widget: name -> (mean, standard deviation).
GRADIENTS = {"constant g = 1": (1.0, 0.0), "noisy g ~ N(1, 2^2)": (1.0, 2.0)}


@functools.lru_cache(maxsize=8)
def _noise(steps: int) -> np.ndarray:
    noise = np.random.default_rng(0).standard_normal(steps)
    noise.setflags(write=False)
    return noise


def bias_correction_data(gradient: str = "constant g = 1", beta1: float = 0.9, beta2: float = 0.999,
                         steps: int = 1000) -> dict[str, Any]:
    """Adam's moments for ``steps`` gradients of the kind ``gradient`` (a key of ``GRADIENTS``, seeded noise).

    Returns ``adam_moments``'s arrays plus ``t``, ``g``, ``mean`` = E[g] and
    ``mean_square`` = E[g^2] of the distribution.
    """
    mean, std = GRADIENTS[check_choice(gradient, "gradient", tuple(GRADIENTS))]
    steps = check_int(steps, "steps", 1)
    g = mean + std * _noise(steps)
    return {**adam_moments(g, beta1, beta2), "t": np.arange(1, steps + 1), "g": g,
            "mean": mean, "mean_square": mean**2 + std**2}


def draw_bias_correction(figure: Figure, data: dict[str, Any], beta1: float = 0.9, beta2: float = 0.999,
                         **values: Any) -> None:
    """m and m_hat (left), sqrt(v) and sqrt(v_hat) (middle), the step with and without correction (right)."""
    axes = fixed_layout(figure, 3, (1, 1, 1), left=0.05, right=0.98, wspace=0.25)
    # At most ~800 log-spaced steps are drawn: on the log axis the rest would
    # land on the same pixels and only cost time.
    shown = np.unique(np.geomspace(1, data["t"][-1], 800).round().astype(int)) - 1
    data = {key: value[shown] if isinstance(value, np.ndarray) else value for key, value in data.items()}
    t = data["t"]
    noisy = bool(np.ptp(data["g"]) > 0)
    panels = (
        (data["m"], data["m_hat"], data["mean"], "first moment", "m", "m_hat", "E[g]"),
        (np.sqrt(data["v"]), np.sqrt(data["v_hat"]), np.sqrt(data["mean_square"]), "root of the second moment",
         "sqrt(v)", "sqrt(v_hat)", "sqrt(E[g^2])"),
        (data["step_uncorrected"], data["step"], data["mean"] / np.sqrt(data["mean_square"]),
         "step / lr", "m / sqrt(v)", "m_hat / (sqrt(v_hat) + eps)", "E[g] / sqrt(E[g^2])"),
    )
    for ax, (raw, corrected, target, title, raw_label, corrected_label, target_label) in zip(axes, panels):
        if noisy and ax is axes[0]:
            ax.plot(t, data["g"], color="0.85", linewidth=0.6, label="g")
        ax.plot(t, raw, color="tab:red", linestyle="--", label=f"{raw_label} (biased)")
        ax.plot(t, corrected, color="tab:blue", label=corrected_label)
        ax.axhline(target, color="black", linestyle=":", label=target_label)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        sparse_ticks(ax.yaxis)
        ax.set(xlabel="step t", title=title)
        ax.title.set_fontsize(10)
        ax.legend(fontsize=7.5, loc="best")
        ax.grid(True, alpha=0.3)
    if noisy:
        axes[0].set_ylim(-1.5, 3.5)
    factor = (1 - beta1) / np.sqrt(1 - beta2)
    axes[2].set_title(f"step / lr; at t = 1 the uncorrected step is {factor:.2g}x", fontsize=10)


@register
def bias_correction_explorer(**initial: Any) -> Explorer:
    """Adam's m and v with and without bias correction, for a constant or a noisy gradient.

    Controls (keyword arguments set their initial values): ``gradient`` (a key
    of ``GRADIENTS``), ``beta1`` (0..0.99), ``beta2`` (0.9, 0.99, 0.999,
    0.9999), ``steps`` (10..5000, log axis).

    Speed: median 100 ms, max 115 ms per update over 30 updates (every control
    moved to several values, twice) on an otherwise idle 2-core machine,
    measured via ``Explorer.update_times`` (the same with torch imported).
    """
    controls = {
        "gradient": widgets.Dropdown(options=tuple(GRADIENTS), value="constant g = 1", description="gradient"),
        "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1",
                                     continuous_update=False),
        "beta2": widgets.SelectionSlider(options=(0.9, 0.99, 0.999, 0.9999), value=0.999, description="beta2",
                                         continuous_update=False),
        "steps": widgets.IntSlider(value=1000, min=10, max=5000, step=10, description="steps",
                                   continuous_update=False),
    }
    set_initial_values(controls, initial, "bias_correction_explorer")
    return Explorer(controls, bias_correction_data, draw_bias_correction, figsize=(13.0, 4.2),
                    description="Adam's bias correction: the moving averages start at 0")


# ------------------------------------------------------------- digits helper
@functools.lru_cache(maxsize=1)
def _digits_split() -> Any:
    X, y = load_digits()
    return train_val_test_split(X, y, rng=np.random.default_rng(0))


def train_on_digits(
    optimizer: str, epochs: int = 5, *, seed: int = 0, hidden: int = 64, batch_size: int = 32, **hyperparameters: Any
) -> dict[str, np.ndarray]:
    """Train a 64-hidden-10 ReLU MLP on the 8x8 digits with one optimizer; return its learning curves.

    The split is ``train_val_test_split(load_digits(), rng=default_rng(0))``.
    ``rng = default_rng(seed)`` draws the He-normal initial weights
    (``MLP(..., rng=rng)``) and then each epoch's shuffle
    (``minibatches(..., rng=rng)``), so the same seed gives every optimizer the
    same start and the same batches.  Loss: softmax cross-entropy (mean).

    Args:
        optimizer: a name in ``dlcourse.optim.OPTIMIZERS``.
        epochs: passes over the training set, ``>= 1``.
        seed: the run's seed.
        hidden: width of the hidden layer, ``>= 1``.
        batch_size: ``>= 1``.
        **hyperparameters: passed to the step function (``lr=...``).

    Returns:
        dict with ``loss`` (the minibatch loss at every step), ``train_loss``
        (mean loss of each epoch's minibatches) and ``val_accuracy`` (after
        each epoch).
    """
    check_choice(optimizer, "optimizer", tuple(OPTIMIZERS))
    epochs, hidden = check_int(epochs, "epochs", 1), check_int(hidden, "hidden", 1)
    split = _digits_split()
    rng = np.random.default_rng(seed)
    model = MLP([split.X_train.shape[1], hidden, 10], activation="relu", init="he_normal", rng=rng)
    step = Optimizer(model.params, optimizer, **hyperparameters).step
    losses, train_loss, val_accuracy = [], [], []
    for _ in range(epochs):
        epoch_losses = []
        for X_batch, y_batch in minibatches(split.X_train, split.y_train, batch_size, rng=rng):
            loss, dlogits = softmax_cross_entropy(model.forward(X_batch), y_batch)
            model.backward(dlogits)
            step(model.grads)
            epoch_losses.append(loss)
        losses += epoch_losses
        train_loss.append(np.mean(epoch_losses))
        val_accuracy.append(np.mean(model.forward(split.X_val).argmax(axis=1) == split.y_val))
    return {"loss": np.array(losses), "train_loss": np.array(train_loss), "val_accuracy": np.array(val_accuracy)}
