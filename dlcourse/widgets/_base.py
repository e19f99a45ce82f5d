"""The one widget shape every interactive figure of the course uses.

An :class:`Explorer` is a row of ipywidgets controls above a matplotlib figure
rendered to a PNG ``ipywidgets.Image``, and a line of text under it.  Moving a
control calls

1. ``compute(**values)``: a pure function of the control values returning the
   data to draw (tested headless, no widgets involved), then
2. ``draw(figure, data, **values)``: draws that data on an empty figure,
3. ``describe(data, **values)``: the same data in words, the figure's text
   alternative (what it shows and the numbers it conveys),

and replaces the image and the text.  The figure is a new
``matplotlib.figure.Figure`` at each update (``figure``: the last one), with
the Agg canvas, not pyplot, so nothing is drawn twice in a notebook and no
global state is touched; it has no layout engine (each draw function places
its axes with fixed margins, ``_plotting.fixed_margins``), because a layout
engine makes every ``savefig`` lay the figure out in a second pass; and an
axis left with matplotlib's default tick locator gets at most 6 ticks, every
axis ticks only inside its view (``_plotting.ticks_in_view``).

Readable for everyone:

- the text alternative is the image's accessible name (the ``<img>``'s
  ``title``, which a screen reader reads) and, without the settings, the
  line under the figure (``role="status"``, ``aria-live="polite"``: a screen
  reader announces the new numbers after a control moves).  ipywidgets'
  ``HTML`` replaces its content at each update, so that live region is a new
  element each time; screen readers that only announce changes inside a
  region that was already there still find the text in the image's name and
  in the line itself;
- every control's description is shown whole (``CONTROL_STYLE``: the label
  is as wide as its text, and the control wide enough for label and slider);
- colours come from ``_plotting.PALETTE`` (colour-blind safe).

``data`` holds the last computed result, ``text`` the last text alternative,
``update_times`` the wall-clock seconds each update took (compute + draw +
PNG + text) and ``update_cpu_times`` the process CPU seconds, which is how
the widgets' 200 ms budget is measured (``benchmarks/bench_lectures.py``).
"""

from __future__ import annotations

import gc
import html
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from traitlets import Unicode

from dlcourse.widgets._plotting import ticks_in_view, without_layout_engine

__all__ = ["CONTROL_STYLE", "UPDATE_BUDGET_SECONDS", "Explorer", "fit_label", "setting_text"]

UPDATE_BUDGET_SECONDS = 0.2
_DPI = 80
# Settings while a figure is drawn and rendered.  A title at a fixed height (1.0: just above the axes,
# where the widgets' titles are anyway) is not moved clear of the tick labels at every render, which
# measured every tick label once more (~10-20 ms per axes); unhinted glyphs render ~10% faster.
_RC = {"axes.titley": 1.0, "text.hinting": "no_hinting"}

#: Every control's style: the description label as wide as its text (ipywidgets' default cuts it at
#: 80 px with an ellipsis: "learning r...").
CONTROL_STYLE = {"description_width": "initial"}
# Room for the slider (or the box) next to the label, and a generous estimate of the label's width
# (JupyterLab's widget font is 13 px: at most ~7.5 px per character), to size a control that has
# a long description instead of squeezing its slider.
_CONTROL_PX, _LABEL_PX_PER_CHAR, _DEFAULT_CONTROL_PX = 220, 7.5, 300
# Controls whose description is a label to their left, in a row of fixed width.
_LABELLED_ROW = (widgets.widget_int._Int, widgets.widget_float._Float, widgets.widget_selection._Selection,
                 widgets.widget_selection._MultipleSelection, widgets.widget_string._String)


def fit_label(control: widgets.Widget) -> widgets.Widget:
    """Give ``control`` the shared ``CONTROL_STYLE`` and, for a long description, the width to show it whole.

    The control keeps an explicit ``layout.width`` its builder set.  Returns the control.
    """
    style = getattr(control, "style", None)
    if style is not None and "description_width" in style.keys:
        style.description_width = CONTROL_STYLE["description_width"]
    description = getattr(control, "description", "") or ""
    if isinstance(control, _LABELLED_ROW) and not isinstance(control, widgets.ToggleButtons) \
            and not control.layout.width:
        needed = round(_LABEL_PX_PER_CHAR * len(description)) + _CONTROL_PX
        if needed > _DEFAULT_CONTROL_PX:
            control.layout.width = f"{needed}px"
    return control


def setting_text(name: str, control: widgets.ValueWidget) -> str:
    """A control's setting in words, e.g. ``"learning rate = 0.3"``, ``"x range ± 5"``, ``"compare = on"``."""
    label = (getattr(control, "description", "") or name).strip()
    value = control.value
    if isinstance(control, (widgets.widget_selection._Selection, widgets.widget_selection._MultipleSelection)):
        # the option labels (ipywidgets' ``label`` trait can be stale: "" for a first option 0.0)
        labels = [option[0] if isinstance(option, tuple) else str(option) for option in control.options]
        index = control.index
        text = (", ".join(labels[i] for i in index) or "none") if isinstance(index, tuple) else labels[index]
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, float):
        text = f"{value:.3g}"
    elif isinstance(value, tuple):
        text = " to ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in value)
    else:
        text = str(value)
    return f"{label} {text}" if label[-1:] in "<>=±×" else f"{label} = {text}"


def _new_figure(figsize: tuple[float, float]) -> Figure:
    figure = Figure(figsize=figsize, dpi=_DPI)
    without_layout_engine(figure)
    FigureCanvasAgg(figure)
    return figure


class _FigureImage(widgets.Image):
    """The figure's PNG, named for screen readers by its ``tooltip`` (the ``<img>``'s title).

    ipywidgets' front end (8.1) copies ``tooltip`` to the element's ``title``
    only when the widget's ``description`` is empty, and an ``Image`` has no
    ``description`` at all, so the check fails in the browser and no title is
    set: this synced empty ``description`` makes the title appear.
    (``tests/test_browser.py`` checks it in JupyterLab.)
    """

    description = Unicode("").tag(sync=True)


class Explorer(widgets.VBox):
    """Controls above a figure and its text; every change recomputes, redraws and rewrites.

    Args:
        controls: name -> ipywidgets control; the names are the keyword
            arguments of ``compute``, ``draw`` and ``describe``.
        compute: ``compute(**values) -> data``, pure.
        draw: ``draw(figure, data, **values)``; the figure arrives empty,
            without a layout engine.
        figsize: figure size in inches (80 dpi).
        description: a line of text shown above the controls.
        describe: ``describe(data, **values) -> str``, pure: the figure in
            words, what it shows and the key numbers it conveys (every
            registered widget has one; without it the text is ``description``).
        keep_axes: give ``draw`` the previous update's figure, whose axes
            ``draw`` gets with ``_plotting.grid_axes`` (emptied, not built
            again with their ticks: faster for a figure of many axes).
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[..., None],
        figsize: tuple[float, float] = (9.0, 4.0),
        description: str = "",
        describe: Callable[..., str] | None = None,
        keep_axes: bool = False,
    ) -> None:
        self.controls = {name: fit_label(control) for name, control in controls.items()}
        self.compute = compute
        self.draw = draw
        self.describe = describe
        self.description = description
        self.figsize = figsize
        self.keep_axes = keep_axes
        self.figure = _new_figure(figsize)
        self.image = _FigureImage(format="png")
        self.caption = widgets.HTML(layout=widgets.Layout(max_width=f"{round(figsize[0] * _DPI)}px"))
        self.data: Any = None
        self.text = ""
        self.update_times: list[float] = []
        self.update_cpu_times: list[float] = []
        header = [widgets.HTML(f"<b>{html.escape(description)}</b>")] if description else []
        control_box = widgets.Box(
            list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap", grid_gap="4px 16px")
        )
        super().__init__([*header, control_box, self.image, self.caption])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def settings(self) -> str:
        """The shown controls' values in words: ``"learning rate = 0.3, batch size = 64"``."""
        return ", ".join(setting_text(name, control) for name, control in self.controls.items()
                         if control.layout.display != "none")

    def _on_change(self, change: Any) -> None:
        self.update()

    def update(self) -> None:
        """Recompute, redraw, replace the image and its text (what a control change does)."""
        start, start_cpu = time.perf_counter(), time.process_time()
        # A full garbage collection of a notebook kernel's heap takes ~130 ms;
        # matplotlib's allocations trigger one now and then.  Defer it to after
        # the redraw, when nobody is waiting for the figure.
        collecting = gc.isenabled()
        gc.disable()
        try:
            values = self.values()
            self.data = self.compute(**values)
            # a new figure takes 0.1 ms; Figure.clear() clears every axes first (~3 ms each)
            figure = self.figure if self.keep_axes else _new_figure(self.figsize)
            buffer = io.BytesIO()
            with mpl.rc_context(_RC):
                self.draw(figure, self.data, **values)
                ticks_in_view(figure)
                figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # 6, the default: +25%
            self.figure = figure
            words = self.describe(self.data, **values) if self.describe is not None else self.description
            self.text = " ".join(filter(None, (words, f"Settings: {self.settings()}.")))
            self.image.value = buffer.getvalue()
            self.image.tooltip = f"Figure: {self.text}"
            self.caption.value = (
                '<div class="dlcourse-figure-text" role="status" aria-live="polite" aria-atomic="true" '
                f'style="font-size: 0.9em; line-height: 1.35">{html.escape(words)}</div>'
            )
        finally:
            if collecting:
                gc.enable()
        self.update_cpu_times.append(time.process_time() - start_cpu)
        self.update_times.append(time.perf_counter() - start)
