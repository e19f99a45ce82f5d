"""The learning-rate schedule widget of the SGD lecture: warm-up, decay, cooldown, and the Robbins-Monro sums.

``schedule_explorer`` draws the schedules of ``dlcourse.schedules`` (constant,
step decay, linear decay to tau, cosine) with and without a linear warm-up,
and the partial sums of lr_k and lr_k^2 of the chosen one.

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (warm-up, cooldown,
Robbins-Monro); SDU summer school 'Gradient-Based Learning' (decaying learning
rates); Goodfellow et al., *Deep Learning* section 8.3.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse import schedules
from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, fixed_grid, number

__all__ = ["SCHEDULES", "ScheduleCurves", "describe_schedules", "make_schedule", "schedule_curves", "schedule_explorer"]


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
    ax_lr.plot(data.steps, data.curves[schedule], color=PALETTE["blue"], linewidth=2.5, label=schedule)
    if warmup_steps:
        ax_lr.axvspan(0, warmup_steps, color=PALETTE["orange"], alpha=0.15, label=f"warm-up ({warmup_steps} steps)")
    if schedule != "constant":
        ax_lr.axvline(warmup_steps + decay_steps, color=PALETTE["green"], linestyle="--", label="end of the decay")
    ax_lr.axhline(final_fraction * lr, color=PALETTE["green"], linestyle=":", linewidth=1,
                  label=f"{final_fraction:.3g} × lr")
    ax_lr.set(xlabel="step k", ylabel="learning rate", ylim=(0, 1.08 * lr), xlim=(0, data.steps[-1]),
              title=f"{schedule} (gray: the other schedules with the same settings)")
    ax_lr.legend(fontsize=8, loc="upper right")
    # plain-text labels: mathtext costs ~10 ms a label
    ax_sums.plot(data.steps, data.sum_lr / data.sum_lr[-1], color=PALETTE["blue"],
                 label="Σ η_j over j ≤ k (distance budget)")
    ax_sums.plot(data.steps, data.sum_lr_squared / data.sum_lr_squared[-1], "--", color=PALETTE["orange"],
                 label="Σ η_j² over j ≤ k (noise budget)")
    ax_sums.set(xlabel="step k", title="Robbins-Monro sums (scaled to end at 1)", ylim=(0, 1.05))
    ax_sums.text(0.97, 0.04, f"totals: {data.sum_lr[-1]:.3g} and {data.sum_lr_squared[-1]:.3g}",
                 transform=ax_sums.transAxes, ha="right", fontsize=8)
    ax_sums.legend(fontsize=8, loc="upper left")


def describe_schedules(data: ScheduleCurves, schedule: str, lr: float, warmup_steps: int, decay_steps: int,
                       final_fraction: float) -> str:
    """The figure in words: the chosen schedule's learning rate at its turning points, and the two sums."""
    curve, last = data.curves[schedule], int(data.steps[-1])
    points = sorted({0, min(warmup_steps, last), min(warmup_steps + decay_steps, last), last})
    values = ", ".join(f"{number(curve[k])} at step {k}" for k in points)
    return (f"Left: the {schedule} schedule's learning rate against the step k (the other schedules in grey), "
            f"peak {number(lr)}, warm-up {warmup_steps} steps, decay over {decay_steps} steps to "
            f"{number(final_fraction * lr)}: lr = {values}. Right: the running sums of η_j and of η_j², each scaled "
            f"to end at 1; after {last + 1} steps they are {number(data.sum_lr[-1])} and "
            f"{number(data.sum_lr_squared[-1])}.")


@register
def schedule_explorer(schedule: str = "cosine", lr: float = 0.1, warmup_steps: int = 100,
                      decay_steps: int = 900, final_fraction: float = 0.01) -> Explorer:
    """Pick a schedule, its warm-up and its decay: lr versus step (``dlcourse.schedules``).

    Args (initial control values): schedule in ``SCHEDULES``; lr (peak) in [1e-3, 1];
    warmup_steps in [0, 200] (0 = no warm-up); decay_steps in [30, 1000];
    final_fraction in [1e-3, 1].

    Update time: median 71 ms, max 104 ms over the 20 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
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
                    description="Learning-rate schedules: warm-up, decay, cooldown", describe=describe_schedules)
