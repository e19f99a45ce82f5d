"""The gradient-clipping widget of the SGD lecture: a loss with a cliff, and descent with and without clipping.

``clipping_cliff_explorer`` runs gradient descent over ``dlcourse.surfaces.CLIFF``
(a gentle plateau that ends in a cliff of height 40): an unclipped step on the
cliff face is thrown far across the valley, a clipped one
(``dlcourse.schedules.clip_grad_value`` / ``clip_grad_norm``) is not.

Lectures: SDU summer school 'Gradient-Based Learning' (cliffs and exploding
gradients); VU Amsterdam DLVU lecture 4 'Tools of the trade' (gradient
clipping); Pascanu, Mikolov & Bengio, ICML 2013 (figure 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse import schedules
from dlcourse._checks import as_float_array, check_choice, check_int, check_range
from dlcourse.surfaces import CLIFF
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._descent import contour_grid, descend
from dlcourse.widgets._plotting import PALETTE, fixed_grid, log_axis, number

__all__ = ["CLIPPING", "ClippedRun", "clipped_descent", "clipping_cliff_explorer", "describe_cliff"]

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

    def run_with(clip):
        return descend(start, lr, steps, lambda theta, t: (clip(g := CLIFF.grad(theta)), np.linalg.norm(g)))[:2]

    trajectory, grad_norms = run_with(clip)
    unclipped = trajectory if clipping == "off" else run_with(lambda g: g)[0]
    step_lengths = np.linalg.norm(np.diff(trajectory, axis=0), axis=1)
    return ClippedRun(trajectory, grad_norms, step_lengths, CLIFF.f(trajectory), unclipped)


def _draw_cliff(figure: Figure, run: ClippedRun, clipping: str, threshold: float) -> None:
    grid = fixed_grid(figure, 1, 2, width_ratios=(1.4, 1.0), top=0.92, wspace=0.15)
    ax_path, ax_steps = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    (x0, x1), (y0, y1) = CLIFF.bounds
    x, y, z = contour_grid("cliff", CLIFF.bounds)
    levels = np.linspace(0, 45, 19)
    ax_path.contourf(x, y, z, levels=levels, cmap="Greys", alpha=0.6)
    ax_path.contour(x, y, z, levels=levels, colors="0.4", linewidths=0.4)
    runs = [(run.unclipped, PALETTE["vermillion"], "-", "no clipping")]
    if clipping != "off":
        runs.append((run.trajectory, PALETTE["blue"], "--", f"clipping {clipping} at {threshold:.3g}"))
    unclipped_steps = np.linalg.norm(np.diff(run.unclipped, axis=0), axis=1)
    # one run when clipping is off: zip stops after it
    for (path, color, style, label), lengths in zip(runs, (unclipped_steps, run.step_lengths), strict=False):
        ax_path.plot(path[:, 0], path[:, 1], style, marker=".", markersize=4, color=color, label=label,
                     linewidth=1.2, alpha=0.8)
        k = int(np.argmax(lengths))  # the longest step, drawn as an arrow
        ax_path.annotate("", path[k + 1], path[k], arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
        ax_steps.plot(lengths, style, color=color, label=f"step length, {label} (longest {lengths[k]:.3g})")
    ax_path.plot(*CLIFF.default_start, "o", color="k")
    ax_path.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y",
                title="plateau (dark, right), cliff, valley (left); lr = 0.1")
    ax_path.legend(fontsize=8, loc="lower right")
    log_axis(ax_steps)
    ax_steps.plot(run.grad_norms, color="0.4", linestyle=":", label="|gradient| before clipping")
    active = clipping != "off"
    ax_steps.axhline(threshold, color=PALETTE["orange"], linestyle="-.", linewidth=1.5 if active else 1,
                     label=f"threshold {threshold:.3g}" + ("" if active else " (clipping off)"))
    ax_steps.set(xlabel="step", ylim=(1e-3, 1e3))
    ax_steps.grid(True, alpha=0.3)
    ax_steps.legend(fontsize=7.5, loc="upper right")


def describe_cliff(run: ClippedRun, clipping: str, threshold: float) -> str:
    """The figure in words: the longest step with and without clipping, and where each run ends."""
    unclipped_steps = np.linalg.norm(np.diff(run.unclipped, axis=0), axis=1)
    k = int(np.argmax(unclipped_steps))

    def end(path: np.ndarray) -> str:
        return f"({number(path[-1, 0])}, {number(path[-1, 1])}), loss {number(CLIFF.f(path[-1]))}"

    words = (f"Left: contours of a plateau that ends in a cliff, and gradient descent with lr 0.1 from (4, 2). "
             f"Without clipping the longest step, {number(unclipped_steps[k])}, is step {k}, and the run ends "
             f"at {end(run.unclipped)}.")
    if clipping != "off":
        j = int(np.argmax(run.step_lengths))
        words += (f" Clipping {clipping} at {number(threshold)}: the longest step is {number(run.step_lengths[j])} "
                  f"(step {j}), and the run ends at {end(run.trajectory)}.")
    return words + (f" Right, log scale: the step lengths and the gradient norm before clipping, largest "
                    f"{number(np.nanmax(run.grad_norms))}, against the threshold {number(threshold)}"
                    + (" (clipping off)." if clipping == "off" else "."))


@register
def clipping_cliff_explorer(clipping: str = "by norm", threshold: float = 1.0) -> Explorer:
    """Gradient descent over a cliff with clipping off, by value or by norm, and a threshold slider.

    ``clipped_descent`` with lr = 0.1 and 150 steps from (4, 2): without clipping,
    step 64 lands on the cliff face and is thrown 8 units across the valley.

    Args (initial control values): clipping in ``CLIPPING``; threshold in [0.1, 100].

    Update time: median 92 ms, max 94 ms over the 7 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "clipping": widgets.ToggleButtons(options=CLIPPING, value=clipping, description="clipping"),
        "threshold": widgets.FloatLogSlider(value=threshold, base=10, min=-1, max=2, step=0.1,
                                            description="threshold", readout_format=".3g"),
    }
    return Explorer(controls, clipped_descent, _draw_cliff, figsize=(11.0, 4.0),
                    description="A cliff throws an unclipped step far away; a clipped step stays",
                    describe=describe_cliff)
