"""Widgets for the SGD lecture: step sizes on a quadratic, and gradient descent on hard loss surfaces.

* ``learning_rate_explorer``: gradient descent on a quadratic; too small,
  oscillating and diverging learning rates, with the 2/L limit marked.
* ``surface_gd_explorer``: gradient descent and noisy "SGD" on the 2-D
  surfaces of ``dlcourse.surfaces``: saddles, plateaus, ravines, local minima.

The lecture's other widgets live in their own modules and are importable from
here too: ``schedule_explorer`` (``dlcourse.widgets.schedules``) and
``clipping_cliff_explorer`` (``dlcourse.widgets.clipping``).  The batch-size
experiment's ``minibatch_gradient_spread`` is in ``dlcourse.gradient_noise``.

Lectures: SDU summer school 'Gradient-Based Learning' (steepest descent, SGD,
stationary points, inexact gradients); Georgia Tech CS 4644/7643
'Optimization' (noisy gradients, saddle points, poor conditioning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from dlcourse._checks import as_float_array, check_choice, check_int, check_range
from dlcourse.newton import hessian
from dlcourse.surfaces import SURFACES, Surface, get_surface
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._descent import contour_grid, descend
from dlcourse.widgets._plotting import fixed_grid, log_axis
from dlcourse.widgets.clipping import clipping_cliff_explorer
from dlcourse.widgets.schedules import schedule_explorer

__all__ = [
    "GD_SURFACES", "LR_SLIDER", "QUADRATICS", "SURFACE_TOUR", "QuadraticRun", "SurfaceRuns", "TourStop",
    "clipping_cliff_explorer", "learning_rate_explorer", "lr_on_grid", "noisy_descent", "quadratic_descent",
    "schedule_explorer", "surface_gd_explorer", "surface_tour", "tour_facts",
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
        ax_path.plot(shown, 0.5 * curvature * shown**2, "-", color="C0", alpha=0.4)
        ax_path.scatter(shown, 0.5 * curvature * shown**2, c=np.arange(len(shown)), cmap="viridis", s=18, zorder=3)
        ax_path.set(xlim=(-3.1, 3.1), ylim=(-0.05 * 4.5 * curvature, 4.6 * curvature), xlabel="x",
                    title=f"f(x) = {curvature:g} x² / 2")
    else:
        x, y = np.meshgrid(np.linspace(-4, 4, 120), np.linspace(-2, 2, 80))
        ax_path.contour(x, y, 0.5 * (x**2 + curvature * y**2), levels=12, colors="0.7", linewidths=0.8)
        shown = np.clip(path, (-4, -2), (4, 2))
        ax_path.plot(shown[:, 0], shown[:, 1], "-", color="C0", alpha=0.5)
        ax_path.scatter(shown[:, 0], shown[:, 1], c=np.arange(len(shown)), cmap="viridis", s=14, zorder=3)
        ax_path.set(xlim=(-4, 4), ylim=(-2, 2), xlabel="x", ylabel="y", title=f"f = (x² + {curvature:g} y²) / 2")
    ax_path.plot(0, 0, "*", color="k", markersize=10)

    losses = run.losses[np.isfinite(run.losses)]
    color = "firebrick" if run.diverged_at is not None or losses[-1] > losses[0] else "C0"
    ax_loss.plot(np.arange(len(losses)), np.maximum(losses, 1e-300), "o-", markersize=3, color=color)
    log_axis(ax_loss)
    ax_loss.set(xlabel="step", title="loss f(θ_t)", xlim=(-0.5, steps + 0.5))
    ax_loss.grid(True, alpha=0.3)
    if run.diverged_at is not None:
        ax_loss.set_title(f"loss: diverged (|θ| > 1e6 at step {run.diverged_at})", color="firebrick")

    rates = np.logspace(-3, 0, 300)
    for i, h in enumerate(run.curvatures):
        ax_factor.plot(rates, np.abs(1 - rates * h), color=f"C{i + 1}", label=f"curvature {h:g}")
    log_axis(ax_factor, "x")
    log_axis(ax_factor, "y")
    ax_factor.axhline(1, color="0.4", linewidth=0.8)
    ax_factor.axvline(run.stable_limit, color="firebrick", linestyle="--", label=f"2/L = {run.stable_limit:.3g}")
    ax_factor.axvline(run.stable_limit / 2, color="0.5", linestyle=":", label=f"1/L = {run.stable_limit / 2:.3g}")
    ax_factor.axvspan(run.stable_limit, 1.0, color="firebrick", alpha=0.08)
    ax_factor.axvline(lr, color="k", linewidth=2, label=f"lr = {lr:.3g}")
    ax_factor.set(xlabel="learning rate", ylim=(1e-3, 1e1), title="factor |1 - lr·h| per step")
    ax_factor.legend(fontsize=8, loc="lower left")
    verdict = ("diverges" if lr > run.stable_limit else "oscillates" if lr > run.stable_limit / 2
               else "converges slowly" if run.contraction.max() > 0.9 else "converges")
    figure.suptitle(f"{problem}, lr = {lr:.3g}: {verdict} (slowest factor {run.contraction.max():.3g})", fontsize=11)


@register
def learning_rate_explorer(lr: float = 0.02, curvature: float = 10.0, problem: str = "1-D quadratic",
                           steps: int = 30) -> Explorer:
    """Gradient descent on a quadratic with a log-scale learning-rate slider; 2/L marked.

    Args (initial control values): lr in [1e-3, 1], curvature L in [1, 20],
    problem a key of ``QUADRATICS``, steps in [5, 100].

    Timing: median 110 ms, max 170 ms over 17 updates (every control moved 4 times) on a
    2-core machine shared with other jobs, measured via ``Explorer.update_times``;
    a gen-2 garbage collection during an update adds about 130 ms (max 230 ms seen).
    """
    controls = {
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.05, description="lr",
                                     readout_format=".3g"),
        "curvature": widgets.FloatSlider(value=curvature, min=1, max=20, step=0.5, description="curvature L"),
        "problem": widgets.Dropdown(options=list(QUADRATICS), value=problem, description="problem"),
        "steps": widgets.IntSlider(value=steps, min=5, max=100, description="steps"),
    }
    return Explorer(controls, quadratic_descent, _draw_quadratic, figsize=(12.0, 3.8),
                    description="Learning rates that are too small, just right, and too large")


# ---------------------------------------------------------------- hard surfaces, exact and noisy gradients

#: The learning-rate slider of ``surface_gd_explorer``: lr = 10**e, e = -4, -3.9, ..., 0, 0.1.
LR_SLIDER = {"base": 10, "min": -4.0, "max": 0.1, "step": 0.1}

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
        ax_path.plot(*np.array(surf.minima).T, "*", color="gold", markeredgecolor="k", markersize=12)
        log_axis(ax_loss)
        ax_loss.set(ylabel="loss - minimum")
    else:  # unbounded below: show the loss only over the values the window holds
        ax_path.contourf(x, y, z, levels=20, cmap="Greys_r", alpha=0.6)
        ax_loss.set(ylabel="loss", ylim=(np.nanmin(z), np.nanmax(z)))
    for r, (path, loss, norm) in enumerate(zip(data.trajectories, data.losses, data.grad_norms, strict=True)):
        exact = r == 0
        style = {"color": "C3" if exact else f"C{r - 1}", "linewidth": 2.0 if exact else 0.9,
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
    what = "gradient descent (red)" + (f" and 5 runs with gradient noise {noise:g} (thin)" if noise > 0 else "")
    if data.diverged_at[0] is not None:
        what += (f"; ran off to -infinity at step {data.diverged_at[0]} (unbounded below)" if not surf.minima
                 else f"; DIVERGED at step {data.diverged_at[0]}: lower the learning rate")
    figure.suptitle(f"{surface}, lr = {lr:.3g}: {what}", fontsize=10,
                    color="firebrick" if data.diverged_at[0] is not None else "k")


@register
def surface_gd_explorer(surface: str = "saddle", lr: float = 10**-1.3, noise: float = 0.0, steps: int = 150,
                        start: tuple[float, float] | None = None) -> Explorer:
    """Gradient descent and noisy SGD on a selectable 2-D surface: saddles, plateaus, ravines, local minima.

    Suggested settings: ``SURFACE_TOUR`` (the lecture's guided tour, every value on the sliders' grid).

    Args (initial control values): surface in ``GD_SURFACES``;
    lr in [1e-4, 1.26] (``LR_SLIDER``: a log scale, 10 steps a decade, one step past 1 so that the
    ravine's divergence beyond 2/L = 1 can be set); noise (gradient noise std) in [0, 20]; steps in [10, 500];
    start (x, y) in [-5, 5]^2, default the surface's instructive start.

    Timing: median 85 ms, max 180 ms over 27 updates (every control moved 5 times) on a
    2-core machine shared with other jobs, measured via ``Explorer.update_times``;
    a gen-2 garbage collection during an update adds about 130 ms (max 245 ms seen).
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
                    description="Saddles, plateaus, ill-conditioning and local minima, with exact and noisy gradients")


# ---------------------------------------------------------------- the guided tour of surface_gd_explorer

@dataclass(frozen=True)
class TourStop:
    """One setting of the explorer's guided tour, and what its run shows.

    ``lr`` is written as the slider's readout shows it (``LR_SLIDER``'s grid, 3 digits);
    ``start`` None is the surface's start in the explorer.  ``text`` is Markdown with fields
    filled from ``tour_facts`` of the run; ``expect`` maps some of those facts to an inclusive
    (low, high) range that the run must satisfy (checked when the tour is shown, and by the tests).
    """

    lr: float
    text: str
    steps: int = 150
    start: tuple[float, float] | None = None
    noise: float = 0.0
    expect: tuple[tuple[str, float, float], ...] = ()


_NEVER = -1  # diverged_at of a run that did not diverge, in ``tour_facts``

#: The lecture's guided tour (04, section 7): surface -> (what it is, its stops). One literal table, read by
#: ``surface_tour`` (the text the lecture shows) and by tests/widgets/test_widgets_sgd.py (on the grid; the runs).
SURFACE_TOUR: dict[str, tuple[str, tuple[TourStop, ...]]] = {
    "saddle": ("$x^2 - y^2$", (
        TourStop(0.0501, "the path runs toward $(0, 0)$ and the gradient drops from {grad0:.1f} to {min_grad:.2f} "
                 "(step {min_grad_step}, the dip on the right); only the tiny $y$ offset, growing by a factor "
                 "$1 + 2\\eta$ = {factor_low:.2f} per step, lets it escape", start=(-1.8, 0.01),
                 expect=(("diverged_at", _NEVER, _NEVER), ("final_distance", 100, 1e6))),
        TourStop(0.0501, "gradient descent converges to the saddle point and stays there, at "
                 "{final} after {steps} steps", start=(-1.8, 0.0), expect=(("final_distance", 0, 1e-5),)),
        TourStop(0.0501, "{noisy_apart} of the 5 noisy runs escape", start=(-1.8, 0.0),
                 noise=2.0, expect=(("noisy_apart", 5, 5),)),
    )),
    "monkey_saddle": ("$x^3 - 3xy^2$", (
        TourStop(0.0501, "gradient and curvature both vanish at the origin (the Hessian there is 0, so each "
                 "factor $|1 - \\eta\\lambda_i|$ is {factor_high:.0f}), and the gradient fades like the squared "
                 "distance: it drops from {grad0:.1f} to {min_grad:.2f} (step {min_grad_step}), then the iterate "
                 "turns away and runs off (stopped at step {diverged_at}; both saddles are unbounded below)",
                 start=(1.2, 0.01), expect=(("diverged_at", 1, 150),)),
    )),
    "ravine": ("$(x+y)^2/40 + (y-x)^2/2$: curvatures 0.1 along the valley, 2 across, so $2/L = 1$", (
        TourStop(0.794, "zig-zag between the walls: across the valley each step flips the sign and multiplies "
                 "by {factor_high:.3f}, along the floor by {factor_low:.3f}; $f - f^\\star$ = {gap:.1e} after "
                 "{steps} steps", expect=(("diverged_at", _NEVER, _NEVER),)),
        TourStop(1.0, "the factor across is exactly {factor_high:.3f}: the zig-zag keeps its width forever "
                 "while the iterate walks down the floor; $f - f^\\star$ = {gap:.3f} after {steps} steps "
                 "is the width that stays", expect=(("gap", 0.5, 2.0),)),
        TourStop(1.26, "diverges: the factor across is {factor_high:.2f} > 1 (stopped at step {diverged_at})",
                 expect=(("diverged_at", 1, 150),)),
        TourStop(0.501, "removes the steep direction almost in one step (factor {factor_high:.3f}) and then "
                 "walks down the valley floor at a factor {factor_low:.3f} per step", expect=(("gap", 0, 1e-5),)),
        TourStop(0.1, "crawls: a factor {factor_low:.3f} per step along the floor, $f - f^\\star$ = {gap:.3f} "
                 "after {steps} steps", expect=(("gap", 1e-2, 1.0),)),
    )),
    "rosenbrock": ("$(1 - x)^2 + 100(y - x^2)^2$, minimum at $(1, 1)$", (
        TourStop(0.001, "the iterate drops into the curved valley quickly, then creeps along its flat floor: "
                 "after {steps} steps it is at {final}, $f - f^\\star$ = {gap:.2f} (a plateau)", steps=500,
                 expect=(("gap", 0.5, 10),)),
        TourStop(0.00501, "gets further: {final}, $f - f^\\star$ = {gap:.2f}", steps=500,
                 expect=(("gap", 0.01, 0.5),)),
        TourStop(0.00794, "diverges at once (stopped at step {diverged_at}): the walls are steep, the first "
                 "gradient has length {grad0:.0f}", steps=500, expect=(("diverged_at", 1, 10),)),
    )),
    "beale": ("a plateau with steep walls, minimum at $(3, 0.5)$", (
        TourStop(0.00316, "slow progress across the plateau: at {final} after {steps} steps, "
                 "$f - f^\\star$ = {gap:.2f}", expect=(("gap", 0.1, 2),)),
        TourStop(0.0316, "nearly arrives: {final}, $f - f^\\star$ = {gap:.4f}", expect=(("gap", 0, 0.01),)),
        TourStop(0.0501, "diverges (stopped at step {diverged_at})", expect=(("diverged_at", 1, 5),)),
    )),
    "himmelblau": ("four equally good minima; which one you reach depends on the start", (
        TourStop(0.01, "ends at {final}", start=(0.0, 0.0)),
        TourStop(0.01, "ends at {final}", start=(-1.0, 0.0)),
        TourStop(0.01, "ends at {final}", start=(0.0, -1.0)),
        TourStop(0.01, "ends at {final}", start=(-1.0, -1.0)),
        TourStop(0.01, "next to the local maximum at about $(-0.27, -0.92)$: the 5 noisy "
                 "runs end in {noisy_minima} different minima", start=(-0.3, -0.9), noise=10.0,
                 expect=(("noisy_minima", 2, 4),)),
    )),
}


def lr_on_grid(lr: float) -> float:
    """The value of the lr slider (``LR_SLIDER``) nearest to ``lr``: 10**e with e on the slider's grid."""
    k = round((np.log10(lr) - LR_SLIDER["min"]) / LR_SLIDER["step"])
    return float(LR_SLIDER["base"] ** (LR_SLIDER["min"] + k * LR_SLIDER["step"]))


def tour_facts(surface: str, stop: TourStop) -> dict:
    """Run a tour stop (``noisy_descent`` at the slider value of its lr) and measure what its text names.

    Facts: grad0, min_grad, min_grad_step (the exact run's gradient norm: first, smallest, where);
    diverged_at (-1 if it did not); final (the end point, as text) and final_distance (its distance
    from the start's stationary point: the first minimum, or (0, 0)); gap (f - f* at the end);
    factor_low, factor_high (|1 - lr h| for the lowest and highest eigenvalue h of the Hessian there); noisy_apart
    (noisy runs that end more than 1 away from the exact run); noisy_minima (distinct minima nearest
    to the noisy runs' ends).
    """
    surf = get_surface(surface)
    lr = lr_on_grid(stop.lr)
    result = noisy_descent(surface, lr, stop.noise, stop.steps, _STARTS[surface] if stop.start is None else stop.start)
    path, norms = result.trajectories[0], result.grad_norms[0]
    end = path[np.isfinite(path[:, 0])][-1]
    point = np.array(surf.minima[0] if surf.minima else (0.0, 0.0))
    factors = np.abs(1 - lr * np.linalg.eigvalsh(hessian(surf, point)))   # lowest curvature first
    lowest = _lowest_value(surf)
    noisy_ends = result.trajectories[1:, -1]
    nearest = {int(np.argmin(np.linalg.norm(np.array(surf.minima) - e, axis=1)))
               for e in noisy_ends if np.all(np.isfinite(e))} if surf.minima else set()
    return {
        "lr": lr, "steps": stop.steps, "grad0": norms[0], "min_grad": np.nanmin(norms),
        "min_grad_step": int(np.nanargmin(norms)),
        "diverged_at": _NEVER if result.diverged_at[0] is None else result.diverged_at[0],
        "final": f"({end[0]:.3g}, {end[1]:.3g})", "final_distance": float(np.linalg.norm(end - point)),
        "gap": float(surf.f(end) - lowest) if lowest is not None else float("nan"),
        "factor_low": factors[0], "factor_high": factors[-1],
        "noisy_apart": int(np.sum(~(np.linalg.norm(noisy_ends - end, axis=1) <= 1))), "noisy_minima": len(nearest),
    }


def surface_tour(tour: dict = SURFACE_TOUR) -> Any:
    """The guided tour as Markdown (shown by a notebook cell), every number measured from its run.

    Raises ``AssertionError`` if a run no longer shows what its stop expects.
    """
    from IPython.display import Markdown

    lines = []
    for surface, (what, stops) in tour.items():
        lines.append(f"- **{surface}**, {what}:")
        for stop in stops:
            facts = tour_facts(surface, stop)
            for name, low, high in stop.expect:
                assert low <= facts[name] <= high, f"{surface}, lr {stop.lr}: {name} = {facts[name]}"
            settings = [] if stop.start is None else [f"start ({stop.start[0]:g}, {stop.start[1]:g})"]
            settings += [f"noise {stop.noise:g}"] * (stop.noise > 0) + [f"steps {stop.steps}"] * (stop.steps != 150)
            lines.append(f"  - lr **{stop.lr:.3g}**{''.join(', ' + x for x in settings)}: {stop.text.format(**facts)}.")
    return Markdown("\n".join(lines))
