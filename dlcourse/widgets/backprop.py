"""Widgets for lecture 01 (backpropagation): the worked example as a live computation graph.

``computation_graph_explorer`` draws f(x1, x2) = x1 x2 + sin(x2) as a graph of
gates with the forward value and the adjoint on every edge, and shows on the
right why the two paths into x2 are summed: the slope of f along x2 is the
slope of sin(x2) plus the slope of x1 x2.  All numbers come from
``dlcourse.backprop.worked_example`` (the gate-by-gate reference).

Source: Georgia Tech CS 4644/7643 'Optimization' (worked example,
"gradients from multiple paths summed").
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.backprop import worked_example
from dlcourse.widgets import register
from dlcourse.widgets._base import Explorer
from dlcourse.widgets._plotting import PALETTE, fixed_margins, number

__all__ = ["computation_graph", "computation_graph_explorer", "describe_computation_graph", "draw_computation_graph"]

PASSES = ("forward", "backward", "both")
_X2_RANGE = (-np.pi, np.pi)  # the x2 slider's range: the slope curves stay put while the point moves

# Node layout of the graph (data coordinates of the left axes) and its labels.
_NODES = {
    "x1": ((0.0, 1.0), "x₁"),
    "x2": ((0.0, -1.0), "x₂"),
    "a2": ((2.2, 0.6), "×"),
    "a1": ((2.2, -1.4), "sin"),
    "a3": ((4.2, -0.4), "+"),
}
# (source, target, forward value, adjoint sent back to the source along this edge, path into x2 or 0)
_EDGES = (
    ("x1", "a2", "x1", "x1bar", 0),
    ("x2", "a2", "x2", "x2bar_path2", 2),
    ("x2", "a1", "x2", "x2bar_path1", 1),
    ("a2", "a3", "a2", "abar2", 0),
    ("a1", "a3", "a1", "abar1", 0),
)
# Adjoint colours: vermillion, except the two paths into x2 (orange through sin, green through the product);
# in the slope panel the three curves also differ in line style.
_FORWARD_COLOR, _BACKWARD_COLOR = PALETTE["blue"], PALETTE["vermillion"]
_PATH_COLORS = {0: _BACKWARD_COLOR, 1: PALETTE["orange"], 2: PALETTE["green"]}
_PATH_STYLES = {0: "-", 1: "--", 2: "-."}


def computation_graph(x1: float, x2: float, n_points: int = 201) -> dict[str, Any]:
    """Every forward value and adjoint of f = x1 x2 + sin(x2), per node and per edge.

    Forward: a1 = sin(x2), a2 = x1 x2, a3 = a1 + a2 = f.  Backward, with
    adjoints abar = df/da: abar3 = 1; abar1 = abar2 = abar3; x1bar = abar2 x2;
    x2 gets abar1 cos(x2) along the path through sin and abar2 x1 along the
    path through the product, and x2bar is their sum.

    Args:
        x1, x2: the input values (any finite reals).
        n_points: number of points of the slope curves, which span [-pi, pi]
            widened to keep x2 at least 0.5 inside (>= 2).

    Returns:
        dict with ``example`` (the ``WorkedExample``), ``values`` (node ->
        forward value), ``edges`` (list of (source, target, forward value,
        adjoint sent back along the edge, path): path is 1 or 2 on the two
        edges out of x2 and 0 elsewhere),
        ``adjoints`` (node -> df/dnode), and for the slope panel ``x2_grid``,
        ``sin_curve`` = sin(x2_grid), ``product_curve`` = x1 x2_grid and
        ``f_curve`` = their sum.

    Source: Georgia Tech CS 4644/7643 'Optimization'.
    """
    x1 = check_range(x1, "x1")
    x2 = check_range(x2, "x2")
    example = worked_example(x1, x2)
    values = {name: float(getattr(example, name)) for name in ("x1", "x2", "a1", "a2", "a3")}
    adjoint_of = {name: float(getattr(example, name)) for name in
                  ("x1bar", "x2bar", "x2bar_path1", "x2bar_path2", "abar1", "abar2", "abar3")}
    edges = [(src, dst, values[fwd], adjoint_of[adj], path) for src, dst, fwd, adj, path in _EDGES]
    adjoints = {"x1": adjoint_of["x1bar"], "x2": adjoint_of["x2bar"], "a1": adjoint_of["abar1"],
                "a2": adjoint_of["abar2"], "a3": adjoint_of["abar3"]}
    grid = np.linspace(min(_X2_RANGE[0], x2 - 0.5), max(_X2_RANGE[1], x2 + 0.5), check_int(n_points, "n_points", 2))
    sin_curve, product_curve = np.sin(grid), x1 * grid
    return {
        "example": example, "values": values, "edges": edges, "adjoints": adjoints,
        "x2_grid": grid, "sin_curve": sin_curve, "product_curve": product_curve,
        "f_curve": sin_curve + product_curve,
    }


def _fmt(value: float) -> str:
    return f"{value + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0


def _sum_text(first: float, second: float) -> str:
    """'a + b = c', written 'a - |b| = c' when b is negative."""
    sign = "-" if second < 0 else "+"
    return f"{_fmt(first)} {sign} {_fmt(abs(second))} = {_fmt(first + second)}"


def _draw_graph(ax: Any, data: dict[str, Any], show: str) -> None:
    forward, backward = show in ("forward", "both"), show in ("backward", "both")
    values, adjoints = data["values"], data["adjoints"]
    for src, dst, value, adjoint, path in data["edges"]:
        (x0, y0), (x1, y1) = _NODES[src][0], _NODES[dst][0]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.35", "lw": 1.4, "shrinkA": 19, "shrinkB": 19})
        mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        if forward:
            ax.text(mx, my + 0.16, f"{_fmt(value)} →", color=_FORWARD_COLOR, ha="center", fontsize=10)
        if backward:
            ax.text(mx, my - 0.3, f"← {_fmt(adjoint)}", color=_PATH_COLORS[path], ha="center", fontsize=10,
                    fontweight="bold")
    # Plain text with Unicode sub/overscripts: mathtext would double the time of an update.
    names = {"x1": "x₁", "x2": "x₂", "a1": "a₁", "a2": "a₂", "a3": "a₃"}
    for node, ((x, y), label) in _NODES.items():
        ax.add_patch(Circle((x, y), 0.3, facecolor="white", edgecolor="0.2", lw=1.5, zorder=2))
        ax.text(x, y, label, ha="center", va="center", fontsize=12)
        lines = []
        if forward:
            lines.append((f"{names[node]} = {_fmt(values[node])}", _FORWARD_COLOR))
        if backward:
            lines.append((f"{names[node][0]}\u0304{names[node][1]} = {_fmt(adjoints[node])}", _BACKWARD_COLOR))
        for i, (text, color) in enumerate(lines):
            ax.text(x, y - 0.42 - 0.27 * i, text, ha="center", va="top", color=color, fontsize=10)
    example = data["example"]
    if backward:
        ax.text(-0.5, -2.55,
                f"x\u0304₂ = ā₁·cos x₂ + ā₂·x₁ = "
                f"{_sum_text(float(example.x2bar_path1), float(example.x2bar_path2))}   (paths summed)",
                fontsize=10, color=_BACKWARD_COLOR)
    if forward:
        ax.text(-0.5, 1.7, f"f = x₁·x₂ + sin x₂ = {_fmt(float(example.f))}", fontsize=10, color=_FORWARD_COLOR)
    ax.set_xlim(-0.7, 4.9)
    ax.set_ylim(-2.7, 2.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title({"forward": "forward pass: values flow right",
                  "backward": "backward pass: adjoints flow left",
                  "both": "forward values (blue, above), adjoints (vermillion, below)"}[show], fontsize=11)


def _draw_slopes(ax: Any, data: dict[str, Any]) -> None:
    example, grid = data["example"], data["x2_grid"]
    x2 = float(example.x2)
    half = 0.5  # half-length of the tangent segments, in x2 units
    curves = (
        (data["sin_curve"], float(example.a1), float(example.x2bar_path1), 1, "a₁ = sin x₂, slope cos x₂"),
        (data["product_curve"], float(example.a2), float(example.x2bar_path2), 2, "a₂ = x₁·x₂, slope x₁"),
        (data["f_curve"], float(example.a3), float(example.x2bar), 0, "f = a₁ + a₂, slope = the sum"),
    )
    for curve, value, slope, path, label in curves:
        color = _PATH_COLORS[path]
        ax.plot(grid, curve, color=color, lw=1.5, ls=_PATH_STYLES[path], label=label)
        ax.plot([x2 - half, x2 + half], [value - half * slope, value + half * slope], color=color, lw=3.5, alpha=0.5)
        ax.plot([x2], [value], "o", color=color, ms=5)
    ax.axvline(x2, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("x₂ (x₁ fixed)")
    ax.set_title(f"∂f/∂x₂ = {_sum_text(float(example.x2bar_path1), float(example.x2bar_path2))}: the slopes add",
                 fontsize=11)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    ax.grid(alpha=0.3)


def draw_computation_graph(figure: Figure, data: dict[str, Any], x1: float, x2: float, show: str) -> None:
    """Left: the graph with values/adjoints on every edge.  Right: f, sin x2 and x1 x2 along x2 with tangents."""
    check_choice(show, "show", PASSES)
    fixed_margins(figure, left=0.01, right=0.985, bottom=0.11, top=0.92, wspace=0.1)
    graph_ax, slope_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
    _draw_graph(graph_ax, data, show)
    _draw_slopes(slope_ax, data)


def describe_computation_graph(data: dict[str, Any], x1: float, x2: float, show: str) -> str:
    """The figure in words: the values and adjoints shown on the graph, and the slopes that add up at x2."""
    example = data["example"]
    path1, path2, total = (number(getattr(example, name)) for name in ("x2bar_path1", "x2bar_path2", "x2bar"))
    words = ["Left: the computation graph of f = x1·x2 + sin(x2) at x1 = "
             f"{number(example.x1)}, x2 = {number(example.x2)}."]
    if show in ("forward", "both"):
        words.append(f"Forward values: a1 = sin(x2) = {number(example.a1)}, a2 = x1·x2 = {number(example.a2)}, "
                     f"f = a1 + a2 = {number(example.f)}.")
    if show in ("backward", "both"):
        words.append(f"Adjoints flowing back: df/da1 = df/da2 = 1, df/dx1 = x2 = {number(example.x1bar)}, and "
                     f"df/dx2 = {total}, the sum of the path through sin, cos(x2) = {path1}, and the path "
                     f"through the product, x1 = {path2}.")
    words.append(f"Right: sin(x2), x1·x2 and f against x2, with tangents of slopes {path1}, {path2} and their "
                 f"sum {total}.")
    return " ".join(words)


@register
def computation_graph_explorer(x1: float = 2.0, x2: float = 1.0, show: str = "both") -> Explorer:
    """The worked example f(x1, x2) = x1 x2 + sin(x2) as a graph with values and adjoints.

    Controls: the inputs x1 and x2, and which pass to show (forward values,
    backward adjoints, or both).  The right panel shows that df/dx2 is the sum
    of the slopes along the two paths.

    Update time: median 87 ms, max 95 ms over the 11 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    slider = {"continuous_update": False, "readout_format": ".2f", "style": {"description_width": "initial"}}
    controls = {
        "x1": widgets.FloatSlider(value=x1, min=-3.0, max=3.0, step=0.05, description="x1", **slider),
        "x2": widgets.FloatSlider(value=x2, min=-np.pi, max=np.pi, step=0.05, description="x2", **slider),
        "show": widgets.ToggleButtons(options=PASSES, value=show, description="show"),
    }
    return Explorer(
        controls,
        lambda x1, x2, show: computation_graph(x1, x2),
        draw_computation_graph,
        figsize=(11.0, 4.6),
        describe=describe_computation_graph,
        description="f(x1, x2) = x1·x2 + sin(x2): values flow forward, adjoints flow back and add up at x2",
    )
