"""Momentum on 2-D loss surfaces: SGD vs heavy ball vs Nesterov, and momentum's other formulations.

The widget ``momentum_explorer`` races plain SGD, heavy-ball momentum and
Nesterov momentum (``dlcourse.optim``, torch's forms) from the same start at
the same learning rate, on the diagonal ravine or the axis-aligned
ill-conditioned quadratic of ``dlcourse.surfaces``.

Momentum is written three ways in the literature; with ``show_forms`` the
widget also runs the other two (``dlcourse.optim.ema_momentum_step`` and
``sutskever_momentum_step``, see ``dlcourse.optim.momentum_forms``) and
Nesterov's look-ahead form (``lookahead_nesterov_run``, here), whose
look-ahead points are torch's Nesterov iterates, and shows that they visit the
same points once the learning rate is rescaled.

The surface-plotting helpers here (``surface_grid``, ``draw_surface``,
``loss_gap``) are shared with ``dlcourse.widgets.optimizers``.

Lectures: Georgia Tech CS 4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4
'Tools of the trade'; SDU summer school 'Gradient-Based Learning'; Univ. of
Macau 'Modern Techniques'.
"""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.optim import (
    ema_momentum_init,
    ema_momentum_step,
    momentum_init,
    momentum_step,
    nesterov_init,
    nesterov_step,
    sgd_init,
    sgd_step,
    sutskever_momentum_init,
    sutskever_momentum_step,
)
from dlcourse.optim._common import check_decay, check_lr
from dlcourse.surfaces import Surface, get_surface, run
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, fixed_margins, number, plain_log_ticks, sparse_ticks

__all__ = [
    "MOMENTUM_SURFACES",
    "describe_momentum_comparison",
    "draw_momentum_comparison",
    "draw_surface",
    "fixed_layout",
    "lookahead_nesterov_run",
    "loss_gap",
    "momentum_comparison",
    "momentum_explorer",
    "plot_loss_curves",
    "set_initial_values",
    "surface_grid",
]

#: Surfaces of the momentum widget: the diagonal ravine and the axis-aligned quadratic.
MOMENTUM_SURFACES = ("ravine", "quadratic")

_METHOD_COLORS = {"SGD": PALETTE["blue"], "heavy ball": PALETTE["orange"], "Nesterov": PALETTE["green"]}
_METHOD_STYLES = {"SGD": "-", "heavy ball": "--", "Nesterov": "-."}  # line styles
_LOSS_FLOOR = 1e-16  # f - f* below this is drawn at the floor of the log axis
_LOSS_CEILING = 1e8  # and above this at the ceiling


# ------------------------------------------------------------ look-ahead Nesterov
def lookahead_nesterov_run(
    surface: str | Surface, start: Any = None, steps: int = 100, *, lr: float = 1e-2, momentum: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Nesterov momentum as the slides write it: the gradient is taken at the look-ahead point.

    Equations (Sutskever's sign convention, v_0 = 0)::

        phi   =  theta + momentum * v            (where momentum alone would carry us)
        v     <- momentum * v - lr * grad f(phi)
        theta <- theta + v

    Args:
        surface: a ``dlcourse.surfaces.Surface`` or a name in ``SURFACES``.
        start: (x, y) starting point; None uses ``surface.default_start``.
        steps: number of steps, ``>= 0``.
        lr: learning rate, ``>= 0``.
        momentum: ``0 <= momentum < 1``.

    Returns:
        ``(theta, lookahead)``, each of shape (steps + 1, 2): the iterates
        theta_t and the look-ahead points phi_t = theta_t + momentum * v_t
        (phi_0 = theta_0).  After a non-finite value the rows are nan, as in
        ``dlcourse.surfaces.run``.

    Source:
        Nesterov (1983); Sutskever et al. (2013); Georgia Tech CS 4644/7643
        'Optimization'; SDU summer school 'Gradient-Based Learning'.

    Notes:
        A training loop only has the gradient at the current parameters, so
        torch (``SGD(nesterov=True)``, after Bengio et al. 2013) keeps phi as
        *the* parameters: torch's iterates are the ``lookahead`` rows returned
        here.  Georgia Tech's slide writes the look-ahead as ``w + beta v``
        next to torch's sign convention ``w <- w - alpha v``; with that
        convention the look-ahead point is ``w - alpha * beta * v``.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    lr, momentum = check_lr(lr), check_decay(momentum, "momentum")
    steps = check_int(steps, "steps", 0)
    theta = np.array(surface.default_start if start is None else start, dtype=np.float64)
    if theta.shape != (2,) or not np.isfinite(theta).all():
        raise ValueError(f"start must be a finite point (x, y) of shape (2,), got {start!r}")
    thetas = np.full((steps + 1, 2), np.nan)
    lookaheads = np.full((steps + 1, 2), np.nan)
    thetas[0] = lookaheads[0] = theta
    velocity = np.zeros(2)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            velocity = momentum * velocity - lr * surface.grad(theta + momentum * velocity)
            theta = theta + velocity
            lookahead = theta + momentum * velocity
            if not (np.isfinite(theta).all() and np.isfinite(lookahead).all()):
                break
            thetas[t], lookaheads[t] = theta, lookahead
    return thetas, lookaheads


# ------------------------------------------------------------ surface plotting
@functools.lru_cache(maxsize=16)
def surface_grid(name: str, resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, Z, levels)`` for contouring the surface ``name`` over its plotting window.

    ``levels`` are quantiles of Z at squared-uniform fractions: lines are dense
    near the minimum and sparse on the steep walls, on any surface.  Cached
    (read-only arrays): the grid does not depend on any control.
    """
    surface = get_surface(name)
    (x_low, x_high), (y_low, y_high) = surface.bounds
    X, Y = np.meshgrid(np.linspace(x_low, x_high, resolution), np.linspace(y_low, y_high, resolution))
    Z = surface.f(np.stack((X, Y), axis=-1))
    levels = np.unique(np.quantile(Z, np.linspace(0.0, 1.0, 25) ** 2))
    for array in (X, Y, Z, levels):
        array.setflags(write=False)
    return X, Y, Z, levels


def fixed_layout(figure: Figure, ncols: int, width_ratios: tuple[float, ...], **margins: float) -> list[Axes]:
    """``ncols`` axes in one row with fixed margins (fractions of the figure); see ``_plotting.fixed_margins``."""
    fixed_margins(figure, **{"left": 0.06, "right": 0.98, "bottom": 0.12, "top": 0.91, "wspace": 0.22, **margins})
    return list(figure.subplots(1, ncols, width_ratios=width_ratios))


def draw_surface(ax: Axes, name: str) -> None:
    """Grey contour lines of surface ``name``, its minima as black stars, limits and axis labels."""
    X, Y, Z, levels = surface_grid(name)
    ax.contour(X, Y, Z, levels=levels, colors="0.78", linewidths=0.7)
    for minimum in get_surface(name).minima:
        ax.plot(*minimum, "k*", markersize=11, zorder=5)
    (x_low, x_high), (y_low, y_high) = get_surface(name).bounds
    ax.set(xlim=(x_low, x_high), ylim=(y_low, y_high), xlabel="x", ylabel="y")
    sparse_ticks(ax.xaxis, ax.yaxis)


def loss_gap(surface: str | Surface, trajectory: np.ndarray) -> np.ndarray:
    """``f(trajectory) - f*`` (f* the lowest value at the surface's minima); plain ``f`` for a saddle.

    Rows of nan (a diverged run) stay nan.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's last points overflow to inf
        loss = surface.f(trajectory)
    if surface.minima:
        loss = loss - min(float(surface.f(np.array(m))) for m in surface.minima)
    return loss


def plot_loss_curves(ax: Axes, losses: dict[str, np.ndarray], colors: dict[str, str], log: bool = True,
                     styles: dict[str, dict[str, Any]] | None = None) -> None:
    """Loss (gap) against step for each run; a diverged run ends with an x at its last finite step.

    ``styles``: label -> more keyword arguments of ``ax.plot`` (``linestyle``, ``marker``: a marker is
    drawn at 8 points of the curve), so that the runs differ by more than their colour.
    """
    for label, loss in losses.items():
        # Clipped: a diverging run reaches 1e300, and the axis must stay readable.
        shown = np.clip(loss, _LOSS_FLOOR, _LOSS_CEILING) if log else np.clip(loss, -_LOSS_CEILING, _LOSS_CEILING)
        ax.plot(shown, **{"color": colors[label], "linewidth": 1.4, "label": label, "markersize": 4,
                          "markevery": max(1, len(loss) // 8), **(styles or {}).get(label, {})})
        finite = np.isfinite(loss)
        if not finite.all() and finite.any():
            last = np.flatnonzero(finite)[-1]
            ax.plot(last, shown[last], "x", color=colors[label], markersize=9, markeredgewidth=2)
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    else:
        sparse_ticks(ax.yaxis)
    sparse_ticks(ax.xaxis)
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)


# ---------------------------------------------------------------- the widget
def set_initial_values(controls: dict[str, widgets.ValueWidget], initial: dict[str, Any], builder: str) -> None:
    """Set the builder's keyword arguments as the controls' initial values, refusing unknown names."""
    unknown = sorted(set(initial) - set(controls))
    if unknown:
        raise TypeError(f"{builder}() got unknown control(s) {unknown}; its controls are {sorted(controls)}")
    for name, value in initial.items():
        try:
            controls[name].value = value
        except Exception as error:  # traitlets raises TraitError for a value outside the options
            raise ValueError(
                f"{builder}(): {name}={value!r} is not a valid value for that control ({error})"
            ) from error


def momentum_comparison(
    surface: str = "ravine", lr: float = 0.1, momentum: float = 0.9, steps: int = 100, show_forms: bool = False
) -> dict[str, Any]:
    """SGD, heavy-ball and Nesterov momentum from the surface's default start, at the same learning rate.

    Args:
        surface: "ravine" (a valley along the diagonal, condition number 20) or
            "quadratic" ((x^2 + 10 y^2)/2, condition number 10).
        lr: learning rate of all three methods, ``> 0``.
        momentum: mu of heavy ball and Nesterov, ``0 <= mu < 1``.  At mu = 0
            Nesterov is plain SGD (torch rejects ``nesterov=True`` with 0).
        steps: number of steps, ``>= 1``.
        show_forms: also run momentum's other two formulations (the moving
            average with ``lr / (1 - mu)``, Sutskever's with ``lr``) and Nesterov's
            look-ahead form, and measure how far they are from torch's iterates.

    Returns:
        dict with ``trajectories`` and ``losses`` (f - f*) keyed by "SGD",
        "heavy ball", "Nesterov"; ``effective_lr`` = lr / (1 - mu), the step
        per unit gradient on a constant slope; and, if ``show_forms``,
        ``forms``: label -> (trajectory, max |difference from torch's form|).

    Source:
        Polyak (1964); Nesterov (1983); Sutskever et al. (2013).  Lectures:
        Georgia Tech CS 4644/7643 'Optimization' (momentum, Nesterov, poor
        conditioning); VU Amsterdam DLVU lecture 4 'Tools of the trade'.
    """
    name = check_choice(surface, "surface", MOMENTUM_SURFACES)
    lr = check_range(lr, "lr", 0.0, low_inclusive=False)
    momentum = check_decay(momentum, "momentum")
    steps = check_int(steps, "steps", 1)
    heavy_ball = run(momentum_step, momentum_init, name, None, steps, lr=lr, momentum=momentum)
    sgd = run(sgd_step, sgd_init, name, None, steps, lr=lr)
    nesterov = run(nesterov_step, nesterov_init, name, None, steps, lr=lr, momentum=momentum) if momentum > 0 else sgd
    trajectories = {"SGD": sgd, "heavy ball": heavy_ball, "Nesterov": nesterov}
    data: dict[str, Any] = {
        "surface": name,
        "trajectories": trajectories,
        "losses": {label: loss_gap(name, path) for label, path in trajectories.items()},
        "effective_lr": lr / (1.0 - momentum),
    }
    if show_forms:
        ema = run(ema_momentum_step, ema_momentum_init, name, None, steps, lr=lr / (1.0 - momentum), beta=momentum)
        sutskever = run(sutskever_momentum_step, sutskever_momentum_init, name, None, steps, lr=lr, momentum=momentum)
        _, lookahead = lookahead_nesterov_run(name, None, steps, lr=lr, momentum=momentum)
        data["forms"] = {
            "EMA form, lr/(1-mu)": (ema, _max_difference(ema, heavy_ball)),
            "Sutskever form, lr": (sutskever, _max_difference(sutskever, heavy_ball)),
            "look-ahead points": (lookahead, _max_difference(lookahead, nesterov)),
        }
    return data


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| over the rows where both are finite (nan if there are none)."""
    both = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else float("nan")


def draw_momentum_comparison(figure: Figure, data: dict[str, Any], **values: Any) -> None:
    """Trajectories on the contour plot (left) and f - f* against step (right)."""
    ax_path, ax_loss = fixed_layout(figure, 2, (1.15, 1))
    draw_surface(ax_path, data["surface"])
    for label, path in data["trajectories"].items():
        ax_path.plot(path[:, 0], path[:, 1], marker=".", linestyle=_METHOD_STYLES[label], color=_METHOD_COLORS[label],
                     markersize=3, linewidth=1.1, label=label)
    start = data["trajectories"]["SGD"][0]
    ax_path.plot(*start, "ko", markersize=5)
    ax_path.set_title(f"{data['surface']}: lr = {values['lr']:.3g}, mu = {values['momentum']:.2f}", fontsize=10)
    plot_loss_curves(ax_loss, data["losses"], _METHOD_COLORS,
                     styles={label: {"linestyle": style} for label, style in _METHOD_STYLES.items()})
    for (label, (path, difference)), style in zip(data.get("forms", {}).items(), ("s", "D", "x"), strict=False):
        target = "Nesterov" if label.startswith("look") else "heavy ball"
        ax_path.plot(path[:, 0], path[:, 1], style, markersize=6, markerfacecolor="none",
                     color=_METHOD_COLORS[target], markevery=3, label=f"{label}: max diff {difference:.0e}")
    ax_path.legend(fontsize=7.5, loc="lower right")
    ax_loss.set(ylabel="f - f*", title=f"effective step on a constant slope: lr/(1-mu) = {data['effective_lr']:.3g}")
    ax_loss.title.set_fontsize(10)
    ax_loss.legend(fontsize=8)


def _loss_words(loss: np.ndarray) -> str:
    """The last loss of a run, or the step at which it diverged."""
    finite = np.isfinite(loss)
    return number(loss[-1]) if finite.all() else f"diverged at step {int(np.argmin(finite))}"


def describe_momentum_comparison(data: dict[str, Any], lr: float, momentum: float, steps: int,
                                 **values: Any) -> str:
    """The figure in words: the three runs' final f - f*, and the other formulations' distance from torch's."""
    start = data["trajectories"]["SGD"][0]
    finals = ", ".join(f"{label} {_loss_words(loss)}" for label, loss in data["losses"].items())
    words = (f"Left: contours of the {data['surface']} with the paths of SGD, heavy ball and Nesterov momentum, "
             f"lr = {number(lr)}, mu = {number(momentum)}, {steps} steps from ({number(start[0])}, "
             f"{number(start[1])}). Right, log scale: f − f* against the step; after {steps} steps: {finals}. "
             f"Effective step on a constant slope lr/(1 − mu) = {number(data['effective_lr'])}.")
    if "forms" in data:
        words += " Other formulations, largest distance from torch's iterates: " + ", ".join(
            f"{label} {number(difference, 2)}" for label, (_, difference) in data["forms"].items()) + "."
    return words


@register
def momentum_explorer(**initial: Any) -> Explorer:
    """SGD vs heavy-ball vs Nesterov momentum on the ravine or the ill-conditioned quadratic.

    Controls (keyword arguments set their initial values): ``surface``
    ("ravine", "quadratic"), ``lr`` (log slider 1e-3..1.5), ``momentum``
    (0..0.99), ``steps`` (10..300), ``show_forms`` (overlay the moving-average
    form at lr/(1-mu), Sutskever's form and Nesterov's look-ahead points).

    Update time: median 86 ms, max 105 ms over the 16 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "surface": widgets.Dropdown(options=MOMENTUM_SURFACES, value="ravine", description="surface"),
        "lr": widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0.2, step=0.05, description="lr",
                                     readout_format=".3g", continuous_update=False),
        "momentum": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum mu",
                                        continuous_update=False),
        "steps": widgets.IntSlider(value=100, min=10, max=300, step=10, description="steps", continuous_update=False),
        "show_forms": widgets.Checkbox(value=False, description="show the other formulations"),
    }
    set_initial_values(controls, initial, "momentum_explorer")
    return Explorer(controls, momentum_comparison, draw_momentum_comparison, figsize=(10.5, 4.4),
                    description="Momentum: SGD vs heavy ball vs Nesterov at the same learning rate",
                    describe=describe_momentum_comparison)
