"""Lecture 10, 'Why it works at all': the Newton widget.

``newton_explorer``: Newton's method against gradient descent on 2-D
surfaces (quadratic, ravine, Rosenbrock, saddle), with the Hessian by central
differences of the surfaces' analytic gradients (``dlcourse.newton``).  On the
saddle, Newton walks straight INTO the saddle point; damping that makes
H + lambda I positive definite turns it back into a descent method.

The lecture's experiments are library code: ``dlcourse.landscape`` (loss
along lines, permutation symmetry, Choromanska et al.), ``dlcourse.memorization``
(Zhang et al.) and ``dlcourse.lottery`` (Frankle & Carbin).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (Newton's method);
Univ. of Macau 'Modern Techniques' (optimization is hard).
"""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as widgets
import numpy as np

from dlcourse._checks import check_choice
from dlcourse.newton import hessian, newton_path
from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import get_surface, run
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, fixed_margins, number, plain_log_ticks

__all__ = ["NEWTON_SURFACES", "describe_newton", "draw_newton", "newton_explorer", "newton_view"]

_GD, _NEWTON = PALETTE["blue"], PALETTE["vermillion"]

NEWTON_SURFACES = ("quadratic", "ravine", "rosenbrock", "saddle")
# Off the saddle's attracting axis, so gradient descent visibly escapes while Newton does not.
_STARTS = {"saddle": (-1.5, 0.6)}


@functools.lru_cache(maxsize=len(NEWTON_SURFACES))
def _contour_grid(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    surface = get_surface(name)
    (x0, x1), (y0, y1) = surface.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
    Z = surface.f(np.stack((X, Y), axis=-1))
    for array in (X, Y, Z):
        array.flags.writeable = False
    return X, Y, Z


def newton_view(surface: str, steps: int, lr: float, damping: float) -> dict[str, Any]:
    """Gradient descent (learning rate ``lr``) and damped Newton (step 1) from the same start.

    Returns:
        dict with gd and newton trajectories (steps + 1, 2), their losses, the
        Hessian eigenvalues at the start and at Newton's last finite point
        (newton_end) and the gradient norm there, the start, the surface's
        minima and bounds, and the contour grid (X, Y, Z).
    """
    surface = get_surface(check_choice(surface, "surface", NEWTON_SURFACES))
    start = np.array(_STARTS.get(surface.name, surface.default_start))
    gd = run(sgd_step, sgd_init, surface, start=start, steps=steps, lr=lr)
    newton = newton_path(surface, start, steps, damping=damping)
    last = newton[np.isfinite(newton[:, 0])][-1]
    with np.errstate(all="ignore"):
        losses = {name: surface.f(path) for name, path in (("gd", gd), ("newton", newton))}
    return {
        "gd": gd, "newton": newton, "gd_loss": losses["gd"], "newton_loss": losses["newton"], "start": start,
        "eig_start": np.linalg.eigvalsh(hessian(surface, start)), "eig_end": np.linalg.eigvalsh(hessian(surface, last)),
        "newton_end": last, "newton_end_grad_norm": float(np.linalg.norm(surface.grad(last))),
        "minima": surface.minima, "grid": _contour_grid(surface.name), "bounds": surface.bounds,
    }


def draw_newton(figure: Any, data: dict[str, Any], surface: str, steps: int, lr: float, damping: float) -> None:
    """Trajectories on the contours (left) and the loss per step (right)."""
    fixed_margins(figure, left=0.06, right=0.98, bottom=0.11, top=0.88, wspace=0.22)
    path_ax, loss_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    eig_start, eig_end = data["eig_start"], data["eig_end"]
    X, Y, Z = data["grid"]
    if surface == "saddle":
        path_ax.contour(X, Y, Z, levels=np.linspace(-4, 4, 17), cmap="RdBu_r", linewidths=0.8)
        path_ax.plot(0, 0, "kP", ms=10, label="saddle point (0, 0)")
    else:
        path_ax.contour(X, Y, Z, levels=np.geomspace(max(Z.min(), 1e-3), Z.max(), 18), cmap="viridis", linewidths=0.8)
        path_ax.plot(*np.array(data["minima"]).T, "k*", ms=12, label="minimum")
    path_ax.plot(*data["gd"].T, ".-", color=_GD, ms=4, lw=1.2, label=f"gradient descent, lr = {lr:.3g}")
    path_ax.plot(*data["newton"].T, "o--", color=_NEWTON, ms=4, lw=1.5,
                 label="Newton" + (f", damping {damping:.2g}" if damping else ""))
    path_ax.plot(*data["start"], "ks", ms=7, label="start")
    (x0, x1), (y0, y1) = data["bounds"]
    path_ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=f"{surface}: {steps} steps each")
    path_ax.legend(fontsize=8, loc="lower right" if surface == "rosenbrock" else "upper right")
    # Exact zeros would fall off a log axis, and a run that leaves (diverges, or runs down the saddle)
    # would squash everything else: values beyond +-limit are cut and the exit is marked with an x.
    floor = -np.inf if surface == "saddle" else 1e-16
    limit = 1e4 * max(abs(float(data["gd_loss"][0])), 1.0)
    for name, color, label in (("gd_loss", _GD, "gradient descent"), ("newton_loss", _NEWTON, "Newton")):
        loss = np.maximum(data[name], floor)
        inside = np.isfinite(loss) & (np.abs(loss) <= limit)
        loss_ax.plot(np.arange(steps + 1), np.where(inside, loss, np.nan), ".-" if name == "gd_loss" else "o--",
                     color=color, ms=4, label=label)
        if not inside.all():
            exit_step = int(np.argmin(inside))
            sign = np.sign(loss[exit_step]) if np.isfinite(loss[exit_step]) else 1.0
            loss_ax.plot(exit_step, sign * limit, "x", color=color, ms=10, mew=2)
    if surface == "saddle":  # unbounded below
        loss_ax.set_yscale("symlog", linthresh=1e-2)
    else:
        loss_ax.set_yscale("log")
    plain_log_ticks(loss_ax.yaxis)
    if _at_saddle(data):  # stationary, and not a minimum
        path_ax.annotate("Newton converged\nto a SADDLE point", data["newton_end"], (0.5, 0.15), color=_NEWTON,
                         textcoords="axes fraction", fontsize=10, arrowprops={"arrowstyle": "->", "color": _NEWTON})
    loss_ax.set(xlabel="step", ylabel="f(x, y)   (x: left the plot)",
                title=f"Hessian eigenvalues: at the start {eig_start[0]:.3g}, {eig_start[1]:.3g};\n"
                      f"at Newton's last point {eig_end[0]:.3g}, {eig_end[1]:.3g}")
    loss_ax.title.set_fontsize(10)  # no second legend: the colours are those of the left panel


def _at_saddle(data: dict[str, Any]) -> bool:
    """Newton stopped at a stationary point that is not a minimum."""
    eig_end = data["eig_end"]
    return bool(eig_end[0] < 0 < eig_end[1] and data["newton_end_grad_norm"] < 1e-8)


def describe_newton(data: dict[str, Any], surface: str, steps: int, lr: float, damping: float) -> str:
    """The figure in words: where both methods end and their loss, and the Hessian's eigenvalues."""

    def end(path: np.ndarray, loss: np.ndarray) -> str:
        finite = np.flatnonzero(np.isfinite(path[:, 0]) & np.isfinite(loss))
        last = int(finite[-1])
        stopped = f" (its last finite point, step {last})" if last < steps else ""
        return f"ends at ({number(path[last, 0])}, {number(path[last, 1])}){stopped} with f = {number(loss[last])}"

    (a, b), (c, d) = data["eig_start"], data["eig_end"]
    x, y = data["start"]
    return (f"Left: contours of the {surface} surface and {steps} steps from ({number(x)}, {number(y)}) of "
            f"gradient descent, lr = {number(lr)}, and of Newton's method, damping {number(damping)}. Gradient "
            f"descent {end(data['gd'], data['gd_loss'])}; Newton {end(data['newton'], data['newton_loss'])}, "
            f"gradient norm {number(data['newton_end_grad_norm'])} there"
            + (": Newton converged to a saddle point." if _at_saddle(data) else ".")
            + f" Right: f against the step for both. Hessian eigenvalues at the start {number(a)} and {number(b)}, "
              f"at Newton's last point {number(c)} and {number(d)}.")


@register
def newton_explorer(surface: str = "quadratic", steps: int = 20, lr: float = 0.05, damping: float = 0.0) -> Explorer:
    """Newton's method vs gradient descent on 2-D surfaces: one step on a quadratic, drawn into saddles.

    Update time: median 77 ms, max 92 ms over the 16 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "surface": widgets.Dropdown(options=list(NEWTON_SURFACES), value=surface, description="surface"),
        "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.25, description="GD lr",
                                     readout_format=".2g"),
        "damping": widgets.FloatSlider(value=damping, min=0.0, max=5.0, step=0.1, description="damping"),
    }
    return Explorer(controls, newton_view, draw_newton, figsize=(10.5, 4.4),
                    description="Newton's method x <- x - (H + damping I)^-1 grad f "
                                "vs gradient descent x <- x - lr grad f", describe=describe_newton)
