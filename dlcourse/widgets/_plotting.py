"""Small drawing and threading helpers shared by the widget modules.

Each exists to keep a widget update inside its 250 ms budget:

- ``fixed_margins``: with a layout engine (the Explorer's figure starts with
  constrained layout) ``savefig`` draws the figure twice, measuring every
  label; the widgets' figures never change size, so fixed margins do the
  same job in one draw.
- ``plain_log_ticks`` / ``sparse_ticks``: every tick is a group of artists
  measured at each render, and mathtext labels ($10^{-4}$) cost ~100 ms a
  figure; a few plain-text ticks cost almost nothing.
- ``one_blas_thread``: the matrices of these small networks are far too small
  to split over threads; on a busy 2-core machine OpenBLAS's threads made a
  64 x 128 product 10-50x slower (92 ms vs 6.6 ms per digits epoch).
"""

from __future__ import annotations

import functools
from typing import Any

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

__all__ = ["without_layout_engine", "fixed_margins", "plain_log_ticks", "sparse_ticks", "one_blas_thread"]


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


@functools.cache
def _blas_controller() -> Any:
    # inspecting the loaded libraries costs a few ms: do it once
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context manager running BLAS on one thread (threadpoolctl, which comes with scikit-learn)."""
    return _blas_controller().limit(limits=1, user_api="blas")
