"""Widgets for the SGD lecture: step sizes, schedules, cliffs and clipping, hard loss surfaces.

* ``learning_rate_explorer``: gradient descent on a quadratic; too small,
  oscillating and diverging learning rates, with the 2/L limit marked.
* ``schedule_explorer``: the learning-rate schedules of ``dlcourse.schedules``
  with and without warm-up, and the two sums of Robbins & Monro.
* ``clipping_cliff_explorer``: a loss with a cliff; an unclipped step is thrown
  far away, a clipped one is not (``clip_grad_value`` / ``clip_grad_norm``).
* ``surface_gd_explorer``: gradient descent and noisy "SGD" on the 2-D
  surfaces of ``dlcourse.surfaces``: saddles, plateaus, ravines, local minima.

``minibatch_gradient_spread`` measures the mean and variance of minibatch
gradients for the lecture's batch-size experiment.

Lectures: SDU summer school 'Gradient-Based Learning' (steepest descent, SGD,
stationary points, cliffs and exploding gradients, inexact gradients, decaying
learning rates); VU Amsterdam DLVU lecture 4 'Tools of the trade' (warm-up,
cooldown, gradient clipping, Robbins-Monro); Georgia Tech CS 4644/7643
'Optimization' (noisy gradients, saddle points, poor conditioning).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from dlcourse import schedules
from dlcourse._checks import as_float_array, check_choice, check_int, check_range, check_rng
from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import SURFACES, Surface, get_surface
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import plain_log_ticks, without_layout_engine

__all__ = [
    "QUADRATICS", "QuadraticRun", "quadratic_descent", "learning_rate_explorer",
    "SCHEDULES", "make_schedule", "ScheduleCurves", "schedule_curves", "schedule_explorer",
    "CLIFF", "CLIPPING", "ClippedRun", "clipped_descent", "clipping_cliff_explorer",
    "SurfaceRuns", "noisy_descent", "surface_gd_explorer", "log_axis", "fixed_grid",
    "minibatch_gradient_spread",
]

# Beyond this distance a run counts as diverged: drawing it is pointless and
# squaring it would overflow.
_ESCAPE = 1e6


def log_axis(ax, which: str = "y") -> None:
    """Log scale on ``ax``'s x or y axis with plain tick labels and no minor ticks."""
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    plain_log_ticks(ax.yaxis if which == "y" else ax.xaxis)


def fixed_grid(figure: Figure, nrows: int, ncols: int, *, top: float = 0.86, **spacing: float):
    """A gridspec with fixed margins and no layout engine (see ``_plotting.fixed_margins``)."""
    without_layout_engine(figure)
    margins = {"left": 0.06, "right": 0.985, "bottom": 0.13, "wspace": 0.25, "hspace": 0.35} | spacing
    return figure.add_gridspec(nrows, ncols, top=top, **margins)


def _descend(start: np.ndarray, lr: float, steps: int, grad_fn) -> tuple[np.ndarray, np.ndarray, list]:
    """Gradient descent with ``dlcourse.optim.sgd_step`` from a point (shape (d,)) or a stack of points (r, d).

    ``grad_fn(theta, t) -> (g, recorded)`` gives the gradient used by step t and a number per
    point to record (say the norm of the exact gradient).  A point that leaves |theta| < 1e6
    or turns non-finite is stopped: its later rows are nan (as in ``dlcourse.surfaces.run``).

    Returns ``(trajectory (steps + 1, *start.shape), recorded (steps, *start.shape[:-1]),
    stopped)``, with ``stopped[i]`` the first escaped row of point i, or None.
    """
    theta, state = start, sgd_init(start)
    trajectory = np.full((steps + 1, *start.shape), np.nan)
    recorded = np.full((steps, *start.shape[:-1]), np.nan)
    trajectory[0] = start
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run must not warn
        for t in range(steps):
            g, recorded[t] = grad_fn(theta, t)
            theta, state = sgd_step(theta, g, state, lr=lr)
            theta[~np.all(np.abs(theta) < _ESCAPE, axis=-1)] = np.nan  # also catches nan
            trajectory[t + 1] = theta
    alive = np.isfinite(trajectory[..., 0]).reshape(steps + 1, -1)
    stopped = [None if column.all() else int(column.argmin()) for column in alive.T]
    recorded[~alive[:-1].reshape(recorded.shape)] = np.nan
    return trajectory, recorded, stopped


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
    trajectory, _, (stopped,) = _descend(np.array(start), lr, steps, lambda theta, t: (curvatures * theta, 0.0))
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


# ---------------------------------------------------------------- schedules

SCHEDULES = ("constant", "step decay", "linear decay to tau", "cosine")
_DROPS = 3  # step decay: three equal drops reach final_fraction * lr at decay_steps


def make_schedule(name: str, lr: float, warmup_steps: int, decay_steps: int,
                  final_fraction: float) -> schedules.Schedule:
    """One of ``SCHEDULES`` from ``dlcourse.schedules``, decaying from lr to final_fraction * lr.

    * constant: lr;
    * step decay: lr * gamma^floor(k / step_size) with step_size = decay_steps // 3 and
      gamma = final_fraction^(1/3): three drops reach final_fraction * lr;
    * linear decay to tau: tau = decay_steps, final_lr = final_fraction * lr (Goodfellow et al. 8.3.1);
    * cosine: total_steps = decay_steps, min_lr = final_fraction * lr;

    each preceded by a linear warm-up from 0 over ``warmup_steps`` steps (0 = none).

    Args:
        name: a key of ``SCHEDULES``.
        lr: peak learning rate > 0.
        warmup_steps: >= 0.
        decay_steps: length of the decay, >= 3.
        final_fraction: in (0, 1].
    """
    check_choice(name, "name", SCHEDULES)
    decay_steps = check_int(decay_steps, "decay_steps", _DROPS)
    final_fraction = check_range(final_fraction, "final_fraction", 0.0, 1.0, low_inclusive=False)
    if name == "constant":
        schedule = schedules.constant(lr)
    elif name == "step decay":
        schedule = schedules.step_decay(lr, decay_steps // _DROPS, final_fraction ** (1 / _DROPS))
    elif name == "linear decay to tau":
        schedule = schedules.linear_decay(lr, final_fraction * lr, decay_steps)
    else:
        schedule = schedules.cosine(lr, decay_steps, final_fraction * lr)
    return schedules.linear_warmup(schedule, warmup_steps) if warmup_steps else schedule


@dataclass(frozen=True)
class ScheduleCurves:
    """lr_k of every schedule over ``steps`` and the Robbins-Monro partial sums of the chosen one."""

    steps: np.ndarray  # (horizon,)
    curves: dict[str, np.ndarray]  # name -> (horizon,) learning rates
    sum_lr: np.ndarray  # (horizon,) sum_{j <= k} lr_j of the chosen schedule
    sum_lr_squared: np.ndarray  # (horizon,) sum_{j <= k} lr_j^2


def schedule_curves(schedule: str, lr: float, warmup_steps: int, decay_steps: int, final_fraction: float,
                    horizon: int = 1200) -> ScheduleCurves:
    """Evaluate every schedule of ``SCHEDULES`` (``make_schedule``) on steps 0..horizon-1.

    Returns the curves and, for ``schedule``, the partial sums of lr_k and lr_k^2:
    Robbins & Monro ask the first to grow without bound (the iterate can travel
    anywhere) and the second to stay finite (the injected noise stays bounded).
    """
    check_choice(schedule, "schedule", SCHEDULES)
    steps = np.arange(check_int(horizon, "horizon", 1))
    curves = {name: make_schedule(name, lr, warmup_steps, decay_steps, final_fraction)(steps) for name in SCHEDULES}
    chosen = curves[schedule]
    return ScheduleCurves(steps, curves, np.cumsum(chosen), np.cumsum(chosen**2))


def _draw_schedules(figure: Figure, data: ScheduleCurves, schedule: str, lr: float, warmup_steps: int,
                    decay_steps: int, final_fraction: float) -> None:
    grid = fixed_grid(figure, 1, 2, width_ratios=(1.6, 1.0), top=0.9, wspace=0.15)
    ax_lr, ax_sums = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    for name, curve in data.curves.items():
        if name != schedule:
            ax_lr.plot(data.steps, curve, color="0.75", linewidth=1)
    ax_lr.plot(data.steps, data.curves[schedule], color="C0", linewidth=2.5, label=schedule)
    if warmup_steps:
        ax_lr.axvspan(0, warmup_steps, color="C1", alpha=0.12, label=f"warm-up ({warmup_steps} steps)")
    if schedule != "constant":
        ax_lr.axvline(warmup_steps + decay_steps, color="C2", linestyle="--", label="end of the decay")
    ax_lr.axhline(final_fraction * lr, color="C2", linestyle=":", linewidth=1, label=f"{final_fraction:.3g} × lr")
    ax_lr.set(xlabel="step k", ylabel="learning rate", ylim=(0, 1.08 * lr), xlim=(0, data.steps[-1]),
              title=f"{schedule} (gray: the other schedules with the same settings)")
    ax_lr.legend(fontsize=8, loc="upper right")
    ax_sums.plot(data.steps, data.sum_lr / data.sum_lr[-1], label=r"$\sum_{j\leq k} \eta_j$ (distance budget)")
    ax_sums.plot(data.steps, data.sum_lr_squared / data.sum_lr_squared[-1],
                 label=r"$\sum_{j\leq k} \eta_j^2$ (noise budget)")
    ax_sums.set(xlabel="step k", title="Robbins-Monro sums (scaled to end at 1)", ylim=(0, 1.05))
    ax_sums.text(0.97, 0.04, f"totals: {data.sum_lr[-1]:.3g} and {data.sum_lr_squared[-1]:.3g}",
                 transform=ax_sums.transAxes, ha="right", fontsize=8)
    ax_sums.legend(fontsize=8, loc="upper left")


@register
def schedule_explorer(schedule: str = "cosine", lr: float = 0.1, warmup_steps: int = 100,
                      decay_steps: int = 900, final_fraction: float = 0.01) -> Explorer:
    """Pick a schedule, its warm-up and its decay: lr versus step (``dlcourse.schedules``).

    Args (initial control values): schedule in ``SCHEDULES``; lr (peak) in [1e-3, 1];
    warmup_steps in [0, 200] (0 = no warm-up); decay_steps in [30, 1000];
    final_fraction in [1e-3, 1].

    Timing: median 80 ms, max 140 ms over 18 updates (every control moved 3-4 times) on a
    2-core machine shared with other jobs, measured via ``Explorer.update_times``;
    a gen-2 garbage collection during an update adds about 130 ms (max 227 ms seen).
    """
    controls = {
        "schedule": widgets.Dropdown(options=SCHEDULES, value=schedule, description="schedule"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1, description="peak lr",
                                     readout_format=".3g"),
        "warmup_steps": widgets.IntSlider(value=warmup_steps, min=0, max=200, step=10, description="warm-up"),
        "decay_steps": widgets.IntSlider(value=decay_steps, min=30, max=1000, step=10, description="decay steps"),
        "final_fraction": widgets.FloatLogSlider(value=final_fraction, base=10, min=-3, max=0, step=0.1,
                                                 description="final / peak", readout_format=".3g"),
    }
    return Explorer(controls, schedule_curves, _draw_schedules, figsize=(12.0, 3.8),
                    description="Learning-rate schedules: warm-up, decay, cooldown")


# ---------------------------------------------------------------- a cliff, and clipping

# f = (0.1 x^2 + y^2) / 2 + 20 (1 + u / sqrt(1 + u^2)),  u = 10 (n . (x, y) - 1),  n at 20 degrees:
# a smooth step of height 40 along the line n . (x, y) = 1, whose slope peaks at 200 (the gentle
# slopes around it are below 1).  Arithmetic only, so CLIFF.f also runs on torch tensors.
_NORMAL = np.array([np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))])


def _cliff_f(xy):
    u = 10.0 * (_NORMAL[0] * xy[..., 0] + _NORMAL[1] * xy[..., 1] - 1.0)
    return 0.5 * (0.1 * xy[..., 0] ** 2 + xy[..., 1] ** 2) + 20.0 * (1 + u / (1 + u**2) ** 0.5)


def _cliff_grad(xy):
    u = 10.0 * (xy @ _NORMAL - 1.0)
    return np.stack((0.1 * xy[..., 0], xy[..., 1]), axis=-1) + (200.0 * (1 + u**2) ** -1.5)[..., None] * _NORMAL


CLIFF = Surface("cliff", _cliff_f, _cliff_grad, minima=(), bounds=((-7.0, 5.0), (-3.5, 3.0)), default_start=(4.0, 2.0),
                description="a gentle plateau that ends in a cliff of height 40 (Pascanu et al. 2013, fig. 6)")
CLIPPING = ("off", "by value", "by norm")


@dataclass(frozen=True)
class ClippedRun:
    """Gradient descent on ``CLIFF`` with and without clipping (see ``clipped_descent``)."""

    trajectory: np.ndarray  # (steps + 1, 2)
    grad_norms: np.ndarray  # (steps,) norm of the gradient BEFORE clipping, per step
    step_lengths: np.ndarray  # (steps,) |theta_{t+1} - theta_t|
    losses: np.ndarray  # (steps + 1,)
    unclipped: np.ndarray  # (steps + 1, 2) the same run without clipping, for comparison


def clipped_descent(clipping: str, threshold: float, lr: float = 0.1, steps: int = 150,
                    start: tuple[float, float] = CLIFF.default_start) -> ClippedRun:
    """Gradient descent on the ``CLIFF`` loss, clipping each gradient before the step.

        g = grad f(theta);   g <- clip(g);   theta <- theta - lr g

    "by value": g_i <- min(max(g_i, -threshold), threshold) (``dlcourse.schedules.clip_grad_value``);
    "by norm": g <- g * min(1, threshold / (|g| + 1e-6)) (``clip_grad_norm``, as torch).
    Near the edge the gradient is up to 200 times larger than on the plateau, so one
    unclipped step throws the parameters far across the valley.

    Args:
        clipping: a value of ``CLIPPING``.
        threshold: clip value or max norm, > 0.
        lr: learning rate > 0.
        steps: number of steps >= 1.
        start: starting point (x, y).

    Returns:
        A ``ClippedRun`` (the run without clipping included for comparison).

    Source: Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent
    neural networks", ICML 2013 (figure 6); Goodfellow et al., *Deep Learning*
    section 8.2.4; SDU summer school 'Gradient-Based Learning'.
    """
    check_choice(clipping, "clipping", CLIPPING)
    threshold = check_range(threshold, "threshold", 0.0, None, low_inclusive=False)
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    steps = check_int(steps, "steps", 1)
    start = as_float_array(start, "start")
    clip = {
        "off": lambda g: g,
        "by value": lambda g: schedules.clip_grad_value(g, threshold)[0],
        "by norm": lambda g: schedules.clip_grad_norm(g, threshold)[0][0],
    }[clipping]

    def descend(clip):
        return _descend(start, lr, steps, lambda theta, t: (clip(g := CLIFF.grad(theta)), np.linalg.norm(g)))[:2]

    trajectory, grad_norms = descend(clip)
    unclipped = trajectory if clipping == "off" else descend(lambda g: g)[0]
    step_lengths = np.linalg.norm(np.diff(trajectory, axis=0), axis=1)
    return ClippedRun(trajectory, grad_norms, step_lengths, CLIFF.f(trajectory), unclipped)


@functools.lru_cache(maxsize=None)
def _contour_grid(surface_name: str, bounds: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    surface = CLIFF if surface_name == "cliff" else get_surface(surface_name)
    (x0, x1), (y0, y1) = bounds
    x, y = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 120))
    with np.errstate(over="ignore", invalid="ignore"):
        return x, y, surface.f(np.stack((x, y), axis=-1))


def _draw_cliff(figure: Figure, run: ClippedRun, clipping: str, threshold: float) -> None:
    grid = fixed_grid(figure, 1, 2, width_ratios=(1.4, 1.0), top=0.92, wspace=0.15)
    ax_path, ax_steps = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    (x0, x1), (y0, y1) = CLIFF.bounds
    x, y, z = _contour_grid("cliff", CLIFF.bounds)
    levels = np.linspace(0, 45, 19)
    ax_path.contourf(x, y, z, levels=levels, cmap="Greys", alpha=0.6)
    ax_path.contour(x, y, z, levels=levels, colors="0.4", linewidths=0.4)
    runs = [(run.unclipped, "firebrick", "no clipping")]
    if clipping != "off":
        runs.append((run.trajectory, "C0", f"clipping {clipping} at {threshold:.3g}"))
    unclipped_steps = np.linalg.norm(np.diff(run.unclipped, axis=0), axis=1)
    for (path, color, label), lengths in zip(runs, (unclipped_steps, run.step_lengths)):
        ax_path.plot(path[:, 0], path[:, 1], "-", marker=".", markersize=4, color=color, label=label,
                     linewidth=1.2, alpha=0.8)
        k = int(np.argmax(lengths))  # the longest step, drawn as an arrow
        ax_path.annotate("", path[k + 1], path[k], arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
        ax_steps.plot(lengths, color=color, label=f"step length, {label} (longest {lengths[k]:.3g})")
    ax_path.plot(*CLIFF.default_start, "o", color="k")
    ax_path.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y",
                title="plateau (dark, right), cliff, valley (left); lr = 0.1")
    ax_path.legend(fontsize=8, loc="lower right")
    log_axis(ax_steps)
    ax_steps.plot(run.grad_norms, color="0.4", linestyle=":", label="|gradient| before clipping")
    active = clipping != "off"
    ax_steps.axhline(threshold, color="C1", linestyle="--" if active else ":", linewidth=1,
                     label=f"threshold {threshold:.3g}" + ("" if active else " (clipping off)"))
    ax_steps.set(xlabel="step", ylim=(1e-3, 1e3))
    ax_steps.grid(True, alpha=0.3)
    ax_steps.legend(fontsize=7.5, loc="upper right")


@register
def clipping_cliff_explorer(clipping: str = "by norm", threshold: float = 1.0) -> Explorer:
    """Gradient descent over a cliff with clipping off, by value or by norm, and a threshold slider.

    ``clipped_descent`` with lr = 0.1 and 150 steps from (4, 2): without clipping,
    step 64 lands on the cliff face and is thrown 8 units across the valley.

    Args (initial control values): clipping in ``CLIPPING``; threshold in [0.1, 100].

    Timing: median 90 ms, max 150 ms over 11 updates (every control moved 5 times) on a
    2-core machine shared with other jobs, measured via ``Explorer.update_times``.
    """
    controls = {
        "clipping": widgets.ToggleButtons(options=CLIPPING, value=clipping, description="clipping"),
        "threshold": widgets.FloatLogSlider(value=threshold, base=10, min=-1, max=2, step=0.1,
                                            description="threshold", readout_format=".3g"),
    }
    return Explorer(controls, clipped_descent, _draw_cliff, figsize=(11.0, 4.0),
                    description="A cliff throws an unclipped step far away; a clipped step stays")


# ---------------------------------------------------------------- hard surfaces, exact and noisy gradients

# Starting points for the widget: the surfaces' own, except that the saddle's
# tiny offset 1e-3 is below a slider's resolution.
_STARTS = {name: surface.default_start for name, surface in SURFACES.items()} | {"saddle": (-1.8, 0.01)}


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

    trajectory, grad_norms, stopped = _descend(np.repeat(start[None], runs + 1, axis=0), lr, steps, noisy_grad)
    trajectories = trajectory.transpose(1, 0, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        losses = surface.f(trajectories)
    return SurfaceRuns(trajectories, losses, grad_norms.T, tuple(stopped))


def _window(surface: Surface, start: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The surface's plotting window, grown to contain the start."""
    return tuple((min(low, s - 0.1 * (high - low)), max(high, s + 0.1 * (high - low)))
                 for (low, high), s in zip(surface.bounds, start))


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
    x, y, z = _contour_grid(surface, bounds)
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
    for r, (path, loss, norm) in enumerate(zip(data.trajectories, data.losses, data.grad_norms)):
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
def surface_gd_explorer(surface: str = "saddle", lr: float = 0.05, noise: float = 0.0, steps: int = 150,
                        start: tuple[float, float] | None = None) -> Explorer:
    """Gradient descent and noisy SGD on a selectable 2-D surface: saddles, plateaus, ravines, local minima.

    Suggested learning rates: saddle, monkey_saddle 0.05; quadratic, ravine 0.1-1;
    himmelblau 0.01; beale 0.003; rosenbrock 0.001 (with steps 500).

    Args (initial control values): surface in ``dlcourse.surfaces.SURFACES``;
    lr in [1e-4, 1]; noise (gradient noise std) in [0, 20]; steps in [10, 500];
    start (x, y) in [-5, 5]^2, default the surface's instructive start.

    Timing: median 85 ms, max 180 ms over 27 updates (every control moved 5 times) on a
    2-core machine shared with other jobs, measured via ``Explorer.update_times``;
    a gen-2 garbage collection during an update adds about 130 ms (max 245 ms seen).
    """
    start = _STARTS[check_choice(surface, "surface", tuple(SURFACES))] if start is None else start

    def coordinate(value: float, name: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(value=value, min=-5, max=5, step=0.01, description=name,
                                   continuous_update=False)

    controls = {
        "surface": widgets.Dropdown(options=list(SURFACES), value=surface, description="surface"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, description="lr",
                                     readout_format=".3g", continuous_update=False),
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


# ---------------------------------------------------------------- minibatch gradients

def minibatch_gradient_spread(per_example_grads: np.ndarray, batch_sizes: tuple[int, ...], n_batches: int,
                              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Mean and spread of minibatch gradients, measured and predicted, for several batch sizes.

    A minibatch gradient averages B per-example gradients drawn without
    replacement from the n examples; here the batches are those of shuffled
    epochs (a new permutation split into n // B batches of B), as in training.  It is
    unbiased, E[g_B] = g (the full gradient), and its total variance is

        E |g_B - g|^2 = tr(Sigma) / B * (n - B) / (n - 1),

    with tr(Sigma) = mean_i |g_i - g|^2: about 1/B for B << n, and 0 at B = n.

    Args:
        per_example_grads: (n, P) one flattened gradient per example.
        batch_sizes: batch sizes in 1..n.
        n_batches: minibatches drawn per batch size, >= 2.
        rng: numpy Generator.

    Returns:
        dict of arrays over ``batch_sizes``: "batch_size"; "variance", the mean
        of |g_B - g|^2 over the drawn batches; "predicted", the formula above;
        "bias", |mean of the drawn g_B - g| (-> 0 as n_batches grows).
    """
    grads = as_float_array(per_example_grads, "per_example_grads")
    if grads.ndim != 2:
        raise ValueError(f"per_example_grads must have shape (n, P), got {grads.shape}")
    n = len(grads)
    sizes = np.array([check_int(b, "batch_sizes[i]", 1) for b in batch_sizes])
    if sizes.max() > n:
        raise ValueError(f"batch_sizes must be at most n = {n}, got {sizes.max()}")
    n_batches, rng = check_int(n_batches, "n_batches", 2), check_rng(rng)
    full = grads.mean(axis=0)
    trace = np.mean(np.sum((grads - full) ** 2, axis=1))
    variance, bias = np.empty(len(sizes)), np.empty(len(sizes))
    for i, b in enumerate(sizes):
        per_epoch, batch_grads = n // b, []
        while sum(map(len, batch_grads)) < n_batches:  # the batches of shuffled epochs, as in training
            order = rng.permutation(n)[: per_epoch * b]
            batch_grads.append(grads[order].reshape(per_epoch, b, -1).mean(axis=1))
        batch_grads = np.concatenate(batch_grads)[:n_batches]
        variance[i] = np.mean(np.sum((batch_grads - full) ** 2, axis=1))
        bias[i] = np.linalg.norm(batch_grads.mean(axis=0) - full)
    predicted = trace / sizes * (n - sizes) / max(n - 1, 1)
    return {"batch_size": sizes, "variance": variance, "predicted": predicted, "bias": bias}
