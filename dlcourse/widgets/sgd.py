"""Widgets for the SGD lecture: step sizes on a quadratic, and gradient descent on hard loss surfaces.

* ``learning_rate_explorer``: gradient descent on a quadratic; too small,
  oscillating and diverging learning rates, with the 2/L limit marked.
* ``surface_gd_explorer``: gradient descent and noisy "SGD" on the 2-D
  surfaces of ``dlcourse.surfaces``: saddles, plateaus, ravines, local minima.

The explorer's guided tour (the lecture's table of settings, each measured
from its run) is ``dlcourse.widgets.surface_tour``.  The lecture's other
widgets live in their own modules and are importable from here too:
``schedule_explorer`` (``dlcourse.widgets.schedules``) and ``clipping_cliff_explorer``
(``dlcourse.widgets.clipping``).  The batch-size experiment's ``minibatch_gradient_spread`` is in
``dlcourse.gradient_noise``.

Lectures: SDU summer school 'Gradient-Based Learning' (steepest descent, SGD,
stationary points, inexact gradients); Georgia Tech CS 4644/7643
'Optimization' (noisy gradients, saddle points, poor conditioning).
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from dlcourse._checks import as_float_array, check_choice, check_int, check_range
from dlcourse.surfaces import SURFACES, Surface, get_surface
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._descent import contour_grid, descend
from dlcourse.widgets._plotting import PALETTE, SERIES, fixed_grid, log_axis, number
from dlcourse.widgets.clipping import clipping_cliff_explorer
from dlcourse.widgets.schedules import schedule_explorer

__all__ = [
    "GD_SURFACES", "LR_SLIDER", "QUADRATICS", "QuadraticRun", "SurfaceRuns", "clipping_cliff_explorer",
    "describe_quadratic", "describe_surface_runs", "learning_rate_explorer", "noisy_descent", "quadratic_descent",
    "schedule_explorer", "surface_gd_explorer",
]


# ---------------------------------------------------------------- learning rate on a quadratic

# name -> curvatures as a function of the largest one, L; and the start
QUADRATICS = {
    "1-D quadratic": (lambda L: (L,), (2.5,)),
    "2-D ill-conditioned quadratic": (lambda L: (1.0, L), (-3.5, 1.5)),
}


@dataclass(frozen=True)
class QuadraticRun:
    """Gradient descent on f(theta) = sum_i h_i theta_i^2 / 2 (see ``quadratic_descent``)."""

    trajectory: np.ndarray  # (steps + 1, d), nan after divergence
    losses: np.ndarray  # (steps + 1,)
    curvatures: np.ndarray  # (d,) the Hessian's eigenvalues h_i
    contraction: np.ndarray  # (d,) |1 - lr h_i|: the factor each coordinate is multiplied by per step
    stable_limit: float  # 2 / L: gradient descent diverges for larger learning rates
    diverged_at: int | None  # first step whose iterate escaped, or None


def quadratic_descent(lr: float, curvature: float, problem: str = "1-D quadratic", steps: int = 30) -> QuadraticRun:
    """Run gradient descent theta <- theta - lr * grad f(theta) on a quadratic.

        f(theta) = sum_i h_i theta_i^2 / 2,   grad f = h * theta,
        theta_i <- (1 - lr h_i) theta_i   (so theta_i(t) = (1 - lr h_i)^t theta_i(0))

    Each coordinate shrinks iff |1 - lr h_i| < 1, i.e. 0 < lr < 2 / h_i: slowly for
    lr << 1/h_i, in one step at lr = 1/h_i, oscillating for 1/h_i < lr < 2/h_i,
    diverging beyond 2/h_i.  The largest curvature L sets the limit 2/L for all.

    Args:
        lr: learning rate > 0.
        curvature: the largest curvature L > 0. "1-D quadratic": f = L x^2 / 2;
            "2-D ill-conditioned quadratic": f = (x^2 + L y^2) / 2 (condition number L,
            ``dlcourse.surfaces.ill_conditioned_quadratic(L)``).
        problem: a key of ``QUADRATICS``.
        steps: number of steps >= 1.

    Returns:
        A ``QuadraticRun``; the steps are ``dlcourse.optim.sgd_step`` calls.

    Source: SDU summer school 'Gradient-Based Learning' (steepest descent, the
    learning rate); Georgia Tech CS 4644/7643 'Optimization' (poor conditioning).
    """
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    curvature = check_range(curvature, "curvature", 0.0, None, low_inclusive=False)
    curvatures_of, start = QUADRATICS[check_choice(problem, "problem", tuple(QUADRATICS))]
    steps = check_int(steps, "steps", 1)
    curvatures = np.array(curvatures_of(curvature))
    trajectory, _, (stopped,) = descend(np.array(start), lr, steps, lambda theta, t: (curvatures * theta, 0.0))
    losses = 0.5 * (curvatures * trajectory**2).sum(axis=1)
    return QuadraticRun(trajectory, losses, curvatures, np.abs(1 - lr * curvatures), 2.0 / curvatures.max(), stopped)


def _draw_quadratic(figure: Figure, run: QuadraticRun, lr: float, curvature: float, problem: str,
                    steps: int) -> None:
    grid = fixed_grid(figure, 1, 3, width_ratios=(1.3, 1.0, 1.0), wspace=0.28)
    ax_path, ax_loss, ax_factor = (figure.add_subplot(grid[0, i]) for i in range(3))
    path = run.trajectory[np.isfinite(run.trajectory[:, 0])]
    if len(run.curvatures) == 1:
        x = np.linspace(-3, 3, 200)
        ax_path.plot(x, 0.5 * curvature * x**2, color="0.6")
        shown = np.clip(path[:, 0], -3, 3)
        ax_path.plot(shown, 0.5 * curvature * shown**2, "-", color=PALETTE["blue"], alpha=0.4)
        ax_path.scatter(shown, 0.5 * curvature * shown**2, c=np.arange(len(shown)), cmap="viridis", s=18, zorder=3)
        ax_path.set(xlim=(-3.1, 3.1), ylim=(-0.05 * 4.5 * curvature, 4.6 * curvature), xlabel="x",
                    title=f"f(x) = {curvature:g} x² / 2")
    else:
        x, y = np.meshgrid(np.linspace(-4, 4, 120), np.linspace(-2, 2, 80))
        ax_path.contour(x, y, 0.5 * (x**2 + curvature * y**2), levels=12, colors="0.7", linewidths=0.8)
        shown = np.clip(path, (-4, -2), (4, 2))
        ax_path.plot(shown[:, 0], shown[:, 1], "-", color=PALETTE["blue"], alpha=0.5)
        ax_path.scatter(shown[:, 0], shown[:, 1], c=np.arange(len(shown)), cmap="viridis", s=14, zorder=3)
        ax_path.set(xlim=(-4, 4), ylim=(-2, 2), xlabel="x", ylabel="y", title=f"f = (x² + {curvature:g} y²) / 2")
    ax_path.plot(0, 0, "*", color="k", markersize=10)

    losses = run.losses[np.isfinite(run.losses)]
    color = PALETTE["vermillion"] if run.diverged_at is not None or losses[-1] > losses[0] else PALETTE["blue"]
    ax_loss.plot(np.arange(len(losses)), np.maximum(losses, 1e-300), "o-", markersize=3, color=color)
    log_axis(ax_loss)
    ax_loss.set(xlabel="step", title="loss f(θ_t)", xlim=(-0.5, steps + 0.5))
    ax_loss.grid(True, alpha=0.3)
    if run.diverged_at is not None:
        ax_loss.set_title(f"loss: diverged (|θ| > 1e6 at step {run.diverged_at})", color=PALETTE["vermillion"])

    rates = np.logspace(-3, 0, 300)
    for i, h in enumerate(run.curvatures):
        ax_factor.plot(rates, np.abs(1 - rates * h), color=SERIES[i + 1], linestyle=("-", "-.")[i],
                       label=f"curvature {h:g}")
    log_axis(ax_factor, "x")
    log_axis(ax_factor, "y")
    ax_factor.axhline(1, color="0.4", linewidth=0.8)
    ax_factor.axvline(run.stable_limit, color=PALETTE["vermillion"], linestyle="--",
                      label=f"2/L = {run.stable_limit:.3g}")
    ax_factor.axvline(run.stable_limit / 2, color="0.5", linestyle=":", label=f"1/L = {run.stable_limit / 2:.3g}")
    ax_factor.axvspan(run.stable_limit, 1.0, color=PALETTE["vermillion"], alpha=0.1)
    ax_factor.axvline(lr, color="k", linewidth=2, label=f"lr = {lr:.3g}")
    ax_factor.set(xlabel="learning rate", ylim=(1e-3, 1e1), title="factor |1 - lr·h| per step")
    ax_factor.legend(fontsize=8, loc="lower left")
    figure.suptitle(f"{problem}, lr = {lr:.3g}: {_verdict(run, lr)} (slowest factor {run.contraction.max():.3g})",
                    fontsize=11)


def _verdict(run: QuadraticRun, lr: float) -> str:
    return ("diverges" if lr > run.stable_limit else "oscillates" if lr > run.stable_limit / 2
            else "converges slowly" if run.contraction.max() > 0.9 else "converges")


def describe_quadratic(run: QuadraticRun, lr: float, curvature: float, problem: str, steps: int) -> str:
    """The figure in words: the verdict, the loss at the start and the end, the factors per step, 2/L."""
    function = (f"f(x) = {number(curvature)} x² / 2" if len(run.curvatures) == 1
                else f"f = (x² + {number(curvature)} y²) / 2")
    losses = run.losses[np.isfinite(run.losses)]
    end = (f"diverged: |θ| passed 1e6 at step {run.diverged_at}" if run.diverged_at is not None
           else f"{number(losses[-1])} after {steps} steps")
    factors = ", ".join(f"{number(c)} along curvature {number(h)}" for h, c in zip(run.curvatures, run.contraction,
                                                                                     strict=True))
    return (f"Gradient descent on {function} with lr = {number(lr)}: it {_verdict(run, lr)}. Left: the path of "
            f"the iterates from the start to the minimum at 0. Middle, log scale: the loss, {number(losses[0])} at "
            f"the start, {end}. Right: the factor |1 − lr·h| by which each step multiplies the distance to the "
            f"minimum, against the learning rate: here {factors}; below 1 means shrinking. Limit 2/L = "
            f"{number(run.stable_limit)}, 1/L = {number(run.stable_limit / 2)}.")


@register
def learning_rate_explorer(lr: float = 0.02, curvature: float = 10.0, problem: str = "1-D quadratic",
                           steps: int = 30) -> Explorer:
    """Gradient descent on a quadratic with a log-scale learning-rate slider; 2/L marked.

    Args (initial control values): lr in [1e-3, 1], curvature L in [1, 20],
    problem a key of ``QUADRATICS``, steps in [5, 100].

    Update time: median 78 ms, max 83 ms over the 14 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.05, description="lr",
                                     readout_format=".3g"),
        "curvature": widgets.FloatSlider(value=curvature, min=1, max=20, step=0.5, description="curvature L"),
        "problem": widgets.Dropdown(options=list(QUADRATICS), value=problem, description="problem"),
        "steps": widgets.IntSlider(value=steps, min=5, max=100, description="steps"),
    }
    return Explorer(controls, quadratic_descent, _draw_quadratic, figsize=(12.0, 3.8),
                    description="Learning rates that are too small, just right, and too large",
                    describe=describe_quadratic)


# ---------------------------------------------------------------- hard surfaces, exact and noisy gradients

#: The learning-rate slider of ``surface_gd_explorer``: lr = 10**e, e = -4, -3.9, ..., 0, 0.1.
LR_SLIDER = {"base": 10, "min": -4.0, "max": 0.1, "step": 0.1}
# The noisy runs' colours: every series colour but the exact run's vermillion (and yellow, too light).
_NOISY_COLORS = tuple(c for c in SERIES if c not in (PALETTE["vermillion"], PALETTE["yellow"]))

#: The surfaces of the descent widget (the cliff has a widget of its own, ``dlcourse.widgets.clipping``).
GD_SURFACES = ("quadratic", "ravine", "saddle", "monkey_saddle", "rosenbrock", "beale", "himmelblau")
# Starting points for the widget: the surfaces' own, except that the saddle's
# tiny offset 1e-3 is below a slider's resolution.
_STARTS = {name: get_surface(name).default_start for name in GD_SURFACES} | {"saddle": (-1.8, 0.01)}


@dataclass(frozen=True)
class SurfaceRuns:
    """Exact gradient descent (run 0) and noisy runs on a surface (see ``noisy_descent``)."""

    trajectories: np.ndarray  # (runs + 1, steps + 1, 2), nan after a run diverged
    losses: np.ndarray  # (runs + 1, steps + 1)
    grad_norms: np.ndarray  # (runs + 1, steps) norm of the exact gradient at each iterate
    diverged_at: tuple[int | None, ...]  # per run: first step that escaped, or None


def noisy_descent(surface: str, lr: float, noise: float, steps: int, start: tuple[float, float],
                  runs: int = 5, seed: int = 0) -> SurfaceRuns:
    """Gradient descent with exact gradients (run 0) and with noisy gradients (runs 1..runs).

        theta_r <- theta_r - lr (grad f(theta_r) + noise * xi_{t,r}),   xi_{t,r} ~ N(0, I), xi_{t,0} = 0

    The added noise stands in for the minibatch error of SGD: an unbiased
    gradient estimate with standard deviation ``noise`` per coordinate.  The
    draws are ``np.random.default_rng(seed).standard_normal((steps, runs, 2))``.

    Args:
        surface: a name in ``dlcourse.surfaces.SURFACES``.
        lr: learning rate > 0.
        noise: standard deviation of the gradient noise, >= 0.
        steps: number of steps >= 1.
        start: the common starting point (x, y).
        runs: number of noisy runs >= 0.
        seed: seeds the noise.

    Returns:
        A ``SurfaceRuns``; a run that leaves |theta| < 1e6 or meets a non-finite
        gradient is stopped (nan afterwards), as ``dlcourse.surfaces.run`` does.

    Source: Georgia Tech CS 4644/7643 'Optimization' (noisy gradients, saddle
    points, poor conditioning); SDU summer school 'Gradient-Based Learning'
    (stationary points, inexact gradients).
    """
    surface = get_surface(check_choice(surface, "surface", tuple(SURFACES)))
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    noise = check_range(noise, "noise", 0.0)
    steps, runs = check_int(steps, "steps", 1), check_int(runs, "runs", 0)
    start = as_float_array(start, "start")
    xi = np.random.default_rng(seed).standard_normal((steps, runs, 2))

    def noisy_grad(theta: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        grad = surface.grad(theta)
        norms = np.linalg.norm(grad, axis=1)
        grad[1:] += noise * xi[t]
        return grad, norms

    trajectory, grad_norms, stopped = descend(np.repeat(start[None], runs + 1, axis=0), lr, steps, noisy_grad)
    trajectories = trajectory.transpose(1, 0, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        losses = surface.f(trajectories)
    return SurfaceRuns(trajectories, losses, grad_norms.T, tuple(stopped))


def _window(surface: Surface, start: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The surface's plotting window, grown to contain the start."""
    return tuple((min(low, s - 0.1 * (high - low)), max(high, s + 0.1 * (high - low)))
                 for (low, high), s in zip(surface.bounds, start, strict=True))


def _lowest_value(surf: Surface) -> float | None:
    return min(float(surf.f(np.array(m))) for m in surf.minima) if surf.minima else None


def _draw_surface_runs(figure: Figure, data: SurfaceRuns, surface: str, lr: float, noise: float, steps: int,
                       start_x: float, start_y: float) -> None:
    surf = get_surface(surface)
    grid = fixed_grid(figure, 2, 2, width_ratios=(1.3, 1.0), top=0.9, wspace=0.2, hspace=0.08)
    ax_path = figure.add_subplot(grid[:, 0])
    ax_loss = figure.add_subplot(grid[0, 1])
    ax_grad = figure.add_subplot(grid[1, 1], sharex=ax_loss)
    bounds = _window(surf, (start_x, start_y))
    x, y, z = contour_grid(surface, bounds)
    lowest = _lowest_value(surf)
    if lowest is not None:  # log-spaced levels above the minimum show both the walls and the flat floor
        gap = z - lowest + 1e-3
        ax_path.contourf(x, y, gap, levels=np.logspace(-3, np.log10(np.nanmax(gap)), 20), norm=LogNorm(),
                         cmap="Greys_r", alpha=0.6)
        ax_path.plot(*np.array(surf.minima).T, "*", color=PALETTE["yellow"], markeredgecolor="k", markersize=12)
        log_axis(ax_loss)
        ax_loss.set(ylabel="loss - minimum")
    else:  # unbounded below: show the loss only over the values the window holds
        ax_path.contourf(x, y, z, levels=20, cmap="Greys_r", alpha=0.6)
        ax_loss.set(ylabel="loss", ylim=(np.nanmin(z), np.nanmax(z)))
    for r, (path, loss, norm) in enumerate(zip(data.trajectories, data.losses, data.grad_norms, strict=True)):
        exact = r == 0
        style = {"color": PALETTE["vermillion"] if exact else _NOISY_COLORS[(r - 1) % len(_NOISY_COLORS)],
                 "linewidth": 2.0 if exact else 0.9,
                 "alpha": 1.0 if exact else 0.7, "zorder": 3 if exact else 2}
        if exact or noise > 0:
            ax_path.plot(path[:, 0], path[:, 1], ".-" if exact else "-", markersize=3, **style)
            ax_loss.plot(loss if lowest is None else np.maximum(loss - lowest, 1e-12), **style)
            ax_grad.plot(np.maximum(norm, 1e-12), **style)
    ax_path.plot(start_x, start_y, "o", color="k")
    ax_path.set(xlim=bounds[0], ylim=bounds[1], xlabel="x", ylabel="y")
    ax_path.set_title(surf.description, fontsize=9)
    log_axis(ax_grad)
    ax_grad.set(ylabel="|gradient|", xlabel="step", xlim=(0, steps))
    ax_loss.tick_params(labelbottom=False)
    for ax in (ax_loss, ax_grad):
        ax.grid(True, alpha=0.3)
    what = "gradient descent (thick)" + (f" and 5 runs with gradient noise {noise:g} (thin)" if noise > 0 else "")
    if data.diverged_at[0] is not None:
        what += (f"; ran off to -infinity at step {data.diverged_at[0]} (unbounded below)" if not surf.minima
                 else f"; DIVERGED at step {data.diverged_at[0]}: lower the learning rate")
    figure.suptitle(f"{surface}, lr = {lr:.3g}: {what}", fontsize=10,
                    color=PALETTE["vermillion"] if data.diverged_at[0] is not None else "k")


def describe_surface_runs(data: SurfaceRuns, surface: str, lr: float, noise: float, steps: int, start_x: float,
                          start_y: float) -> str:
    """The figure in words: where gradient descent (and the noisy runs) end, their loss and gradient there."""
    surf = get_surface(surface)
    lowest = _lowest_value(surf)
    gap = "loss − minimum" if lowest is not None else "loss"
    words = [f"Contours of the {surf.description} (left), with gradient descent at lr = {number(lr)} for "
             f"{steps} steps from ({number(start_x)}, {number(start_y)})."]
    finite = np.isfinite(data.trajectories[0, :, 0])
    last = int(np.flatnonzero(finite)[-1])
    x, y = data.trajectories[0, last]
    loss = data.losses[0, last] - (lowest or 0.0)
    if data.diverged_at[0] is not None:
        words.append(f"It diverged at step {data.diverged_at[0]}; its last point is ({number(x)}, {number(y)}).")
    else:
        words.append(f"It ends at ({number(x)}, {number(y)}) with {gap} {number(loss)} and |gradient| "
                     f"{number(data.grad_norms[0, -1])} (right, against the step).")
    if noise > 0:
        ends = data.losses[1:, -1] - (lowest or 0.0)
        diverged = sum(d is not None for d in data.diverged_at[1:])
        words.append(f"{len(ends)} runs with gradient noise of std {number(noise)} end with {gap} from "
                     f"{number(np.nanmin(ends)) if np.isfinite(ends).any() else 'nan'} to "
                     f"{number(np.nanmax(ends)) if np.isfinite(ends).any() else 'nan'}"
                     + (f"; {diverged} diverged." if diverged else "."))
    return " ".join(words)


@register
def surface_gd_explorer(surface: str = "saddle", lr: float = 10**-1.3, noise: float = 0.0, steps: int = 150,
                        start: tuple[float, float] | None = None) -> Explorer:
    """Gradient descent and noisy SGD on a selectable 2-D surface: saddles, plateaus, ravines, local minima.

    Suggested settings: ``SURFACE_TOUR`` (the lecture's guided tour, every value on the sliders' grid).

    Args (initial control values): surface in ``GD_SURFACES``;
    lr in [1e-4, 1.26] (``LR_SLIDER``: a log scale, 10 steps a decade, one step past 1 so that the
    ravine's divergence beyond 2/L = 1 can be set); noise (gradient noise std) in [0, 20]; steps in [10, 500];
    start (x, y) in [-5, 5]^2, default the surface's instructive start.

    Update time: median 82 ms, max 94 ms over the 25 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    start = _STARTS[check_choice(surface, "surface", GD_SURFACES)] if start is None else start

    def coordinate(value: float, name: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(value=value, min=-5, max=5, step=0.01, description=name,
                                   continuous_update=False)

    controls = {
        "surface": widgets.Dropdown(options=list(GD_SURFACES), value=surface, description="surface"),
        "lr": widgets.FloatLogSlider(value=lr, **LR_SLIDER, description="lr", readout_format=".3g",
                                     continuous_update=False),
        "noise": widgets.FloatSlider(value=noise, min=0, max=20, step=0.5, description="noise",
                                     continuous_update=False),
        "steps": widgets.IntSlider(value=steps, min=10, max=500, step=10, description="steps",
                                   continuous_update=False),
        "start_x": coordinate(start[0], "start x"),
        "start_y": coordinate(start[1], "start y"),
    }

    def compute(surface: str, lr: float, noise: float, steps: int, start_x: float, start_y: float) -> SurfaceRuns:
        return noisy_descent(surface, lr, noise, steps, (start_x, start_y))

    return Explorer(controls, compute, _draw_surface_runs, figsize=(11.0, 4.6),
                    description="Saddles, plateaus, ill-conditioning and local minima, with exact and noisy gradients",
                    describe=describe_surface_runs)
