"""The widgets' colours, and small drawing helpers shared by the widget modules.

Colours: ``PALETTE`` is Okabe & Ito's colour-blind-safe palette, the only
colours the widgets draw with besides greys and a few colour maps
(``COLORMAPS``).  ``SERIES`` is its order for several series of one plot, and
``LINESTYLES`` / ``MARKERS`` tell series apart for whoever cannot tell the
colours apart (or prints in grey).  ``use_palette()`` makes the palette
matplotlib's default colour cycle, for a notebook's own figures.

The other helpers each exist to keep a widget update inside its 200 ms budget:

- ``fixed_margins``: with a layout engine (constrained or tight layout, even
  the placeholder ``"none"``) ``savefig`` draws the figure twice, measuring
  every label; the widgets' figures never change size, so fixed margins do
  the same job in one draw (the Explorer's figures have no layout engine).
- ``fixed_grid``: a gridspec with fixed margins, for the same reason.
- ``plain_log_ticks`` / ``sparse_ticks`` / ``log_axis``: every tick is a group
  of artists measured at each render, and mathtext labels ($10^{-4}$) cost
  ~100 ms a figure; a few plain-text ticks cost almost nothing.
- ``grid_axes``: a figure that keeps its axes from one update to the next
  (``Explorer(..., keep_axes=True)``) does not build them and their ticks
  again (about a third of the time of a figure of six small axes).
- ``ticks_in_view``: matplotlib builds a tick (two lines, two labels, a grid
  line: ~1 ms) for every location its locator returns, also the one or two
  beyond each end of the axis that are never drawn (a third of them).

Running BLAS on one thread, the other speed-up of the digits widgets, lives
in the library, ``dlcourse.training.one_blas_thread`` (the training loop uses
it); it is imported here for the widget modules that import it from here.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import AutoLocator, FuncFormatter, Locator, LogLocator, MaxNLocator, NullLocator

from dlcourse.training import one_blas_thread

__all__ = [
    "COLORMAPS", "LINESTYLES", "MARKERS", "PALETTE", "SERIES", "fixed_grid", "fixed_margins", "grid_axes", "log_axis",
    "number", "one_blas_thread", "plain_log_ticks", "series_style", "sparse_ticks", "ticks_in_view", "use_palette",
    "without_layout_engine",
]

#: Okabe & Ito's eight colours, by short name (their names: black, orange, sky blue, bluish green, yellow,
#: blue, vermillion, reddish purple).  Distinguishable with every common form of colour blindness.
#: Source: M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures and presentations that
#: are friendly to colorblind people" (2002/2008), https://jfly.uni-koeln.de/color/
PALETTE: Mapping[str, str] = MappingProxyType({
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "black": "#000000", "yellow": "#F0E442",
})
#: The order for several series of one plot (matplotlib's colour cycle after ``use_palette()``).  Yellow is
#: left out: on white it is too light for a line; use it for a filled marker with a dark edge.
SERIES: tuple[str, ...] = tuple(PALETTE[name] for name in ("blue", "orange", "green", "vermillion", "purple", "sky",
                                                           "black"))
#: Line styles and markers that go with ``SERIES`` (series i: colour i % 7, line style i % 4, marker i % 11).
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")
#: The colour maps the widgets use: perceptually ordered, readable with colour blindness.
COLORMAPS: tuple[str, ...] = ("viridis", "cividis", "Greys", "Greys_r", "gray", "gray_r", "Blues", "Oranges",
                              "Greens", "RdBu", "RdBu_r", "PuOr", "PuOr_r")


def series_style(i: int) -> dict[str, str]:
    """Colour, line style and marker of series ``i`` (>= 0): ``ax.plot(x, y, **series_style(i))``.

    Consecutive series differ in colour AND line style AND marker, so a plot stays readable in grey.
    """
    return {"color": SERIES[i % len(SERIES)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def number(value: float, digits: int = 3) -> str:
    """A number for a figure's text: ``digits`` significant digits, no "-0", "nan" for a missing value."""
    value = float(value)
    return "nan" if value != value else f"{value + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0


def use_palette(linestyles: bool = False) -> None:
    """Make ``SERIES`` matplotlib's default colour cycle, for a notebook's own figures.

    One line at the top of a notebook (after importing matplotlib)::

        from dlcourse.widgets import use_palette; use_palette()

    Every later ``plt.plot`` / ``ax.plot`` without an explicit colour then takes
    the next Okabe-Ito colour (``"C0"``, ``"C1"``, ... too).  With
    ``linestyles=True`` the cycle also steps through solid, dashed, dash-dot
    and dotted lines, so that series differ by more than their colour.  It
    changes ``matplotlib.rcParams["axes.prop_cycle"]`` (the whole kernel, from
    the next axes created on); ``matplotlib.rcdefaults()`` undoes it.

    Args:
        linestyles: also cycle the line style (bool).
    """
    if not isinstance(linestyles, bool):
        raise TypeError(f"linestyles must be a bool, got {type(linestyles).__name__}")
    import matplotlib as mpl
    from cycler import cycler

    cycle = cycler(color=SERIES)
    if linestyles:
        cycle += cycler(linestyle=[LINESTYLES[i % len(LINESTYLES)] for i in range(len(SERIES))])
    mpl.rcParams["axes.prop_cycle"] = cycle


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


class _InView(Locator):
    """Another locator's tick locations, only those inside the axis's view interval."""

    def __init__(self, inner: Locator) -> None:
        self.inner = inner

    def set_axis(self, axis: Axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def __call__(self) -> Any:
        locations = np.asarray(self.inner(), dtype=float)
        low, high = sorted(self.axis.get_view_interval())
        slack = 1e-9 * (high - low)
        return locations[(locations >= low - slack) & (locations <= high + slack)]

    def tick_values(self, vmin: float, vmax: float) -> Any:
        return self.inner.tick_values(vmin, vmax)

    def view_limits(self, vmin: float, vmax: float) -> Any:
        return self.inner.view_limits(vmin, vmax)

    def nonsingular(self, v0: float, v1: float) -> Any:
        return self.inner.nonsingular(v0, v1)

    def set_params(self, **kwargs: Any) -> None:
        self.inner.set_params(**kwargs)


def ticks_in_view(figure: Figure) -> None:
    """On every axis of ``figure``: at most 6 ticks where matplotlib's default locator is still set as it
    comes (``sparse_ticks``), and ticks only where they are drawn, inside the view (call it after drawing)."""
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, set_ in ((axis.get_major_locator, axis.set_major_locator),
                              (axis.get_minor_locator, axis.set_minor_locator)):
                locator = get()
                if type(locator) is AutoLocator and getattr(locator, "_nbins", None) == "auto":  # untouched
                    locator = MaxNLocator(5, steps=[1, 2, 2.5, 5, 10])
                if not isinstance(locator, (_InView, NullLocator)):
                    set_(_InView(locator))


# The grid each figure's axes were made as, by ``grid_axes``.
_GRIDS: weakref.WeakKeyDictionary[Figure, tuple] = weakref.WeakKeyDictionary()


def grid_axes(figure: Figure, nrows: int, ncols: int, **gridspec_kw: Any) -> np.ndarray:
    """An (nrows, ncols) array of axes on ``figure``: its own if they were made here with the same arguments,
    else new ones (``figure.subplots``).

    Axes used again are emptied first: every line, collection, patch, text, image
    and legend is removed, titles and axis labels cleared, autoscaling turned
    back on; their scales, locators and ticks stay, so a draw function using
    this must set them the same way at every update.
    """
    key = (nrows, ncols, tuple(sorted(gridspec_kw.items())))
    if _GRIDS.get(figure) == key and len(figure.axes) == nrows * ncols:
        for ax in figure.axes:
            for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
                artist.remove()
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            for loc in ("left", "center", "right"):
                ax.set_title("", loc=loc)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.relim()
            ax.set_autoscale_on(True)
        return np.array(figure.axes).reshape(nrows, ncols)
    for ax in list(figure.axes):
        figure.delaxes(ax)
    _GRIDS[figure] = key
    return np.asarray(figure.subplots(nrows, ncols, squeeze=False, gridspec_kw=gridspec_kw))


def fixed_grid(figure: Figure, nrows: int, ncols: int, *, top: float = 0.86, **spacing: Any) -> GridSpec:
    """A gridspec with fixed margins and no layout engine (see ``fixed_margins``)."""
    without_layout_engine(figure)
    margins = {"left": 0.06, "right": 0.985, "bottom": 0.13, "wspace": 0.25, "hspace": 0.35} | spacing
    return figure.add_gridspec(nrows, ncols, top=top, **margins)
