"""Small drawing and threading helpers shared by the widget modules.

Each exists to keep a widget update inside its 250 ms budget:

- ``fixed_margins``: with a layout engine (the Explorer's figure starts with
  constrained layout) ``savefig`` draws the figure twice, measuring every
  label; the widgets' figures never change size, so fixed margins do the
  same job in one draw.
- ``fixed_grid``: a gridspec with fixed margins, for the same reason.
- ``plain_log_ticks`` / ``sparse_ticks`` / ``log_axis``: every tick is a group
  of artists measured at each render, and mathtext labels ($10^{-4}$) cost
  ~100 ms a figure; a few plain-text ticks cost almost nothing.

Running BLAS on one thread, the other speed-up of the digits widgets, lives
in the library, ``dlcourse.training.one_blas_thread`` (the training loop uses
it); it is imported here for the widget modules that import it from here.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from dlcourse.training import one_blas_thread

__all__ = [
    "fixed_grid", "fixed_margins", "log_axis", "one_blas_thread", "plain_log_ticks", "sparse_ticks",
    "without_layout_engine",
]


def without_layout_engine(figure: Figure) -> None:
    """Remove the figure's layout engine (not even the placeholder ``"none"`` leaves one that redraws)."""
    figure.set_layout_engine(None)
    if figure.get_layout_engine() is not None:  # rcParams may ask for one
        figure.set_layout_engine("none")


def fixed_margins(figure: Figure, **margins: float) -> None:
    """No layout engine; subplots placed with ``left/right/bottom/top/wspace/hspace`` (figure fractions)."""
    without_layout_engine(figure)
    figure.subplotpars.update(**margins)


def plain_log_ticks(axis: Axis, numticks: int = 6) -> None:
    """At most ``numticks`` major ticks labelled in plain text (0.0001, 0.01, 10), no minor ticks."""
    axis.set_major_locator(LogLocator(numticks=numticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_locator(NullLocator())


def sparse_ticks(*axes: Axis) -> None:
    """At most 6 major ticks on each linear axis."""
    for axis in axes:
        axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))


def log_axis(ax: Axes, which: str = "y") -> None:
    """Log scale on ``ax``'s x or y axis with plain tick labels and no minor ticks."""
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    plain_log_ticks(ax.yaxis if which == "y" else ax.xaxis)


def fixed_grid(figure: Figure, nrows: int, ncols: int, *, top: float = 0.86, **spacing: Any) -> GridSpec:
    """A gridspec with fixed margins and no layout engine (see ``fixed_margins``)."""
    without_layout_engine(figure)
    margins = {"left": 0.06, "right": 0.985, "bottom": 0.13, "wspace": 0.25, "hspace": 0.35} | spacing
    return figure.add_gridspec(nrows, ncols, top=top, **margins)
