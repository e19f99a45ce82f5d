"""The one widget shape every interactive figure of the course uses.

An :class:`Explorer` is a row of ipywidgets controls above a matplotlib figure
rendered to a PNG ``ipywidgets.Image``.  Moving a control calls

1. ``compute(**values)``: a pure function of the control values returning the
   data to draw (tested headless, no widgets involved), then
2. ``draw(figure, data, **values)``: draws that data on a cleared figure,

and replaces the image.  The figure is a ``matplotlib.figure.Figure`` with the
Agg canvas, not pyplot, so nothing is drawn twice in a notebook and no global
state is touched.  ``data`` holds the last computed result and
``update_times`` the seconds each update took (compute + draw + PNG), which
is how the widgets' 250 ms budget is measured (``benchmarks/bench_lectures.py``).
"""

from __future__ import annotations

import gc
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["UPDATE_BUDGET_SECONDS", "Explorer"]

UPDATE_BUDGET_SECONDS = 0.25
_DPI = 80


class Explorer(widgets.VBox):
    """Controls above a figure; every change recomputes and redraws.

    Args:
        controls: name -> ipywidgets control; the names are the keyword
            arguments of ``compute`` and ``draw``.
        compute: ``compute(**values) -> data``, pure.
        draw: ``draw(figure, data, **values)``; the figure arrives cleared.
        figsize: figure size in inches.
        description: a line of text shown above the controls.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[..., None],
        figsize: tuple[float, float] = (9.0, 4.0),
        description: str = "",
    ) -> None:
        self.controls = dict(controls)
        self.compute = compute
        self.draw = draw
        self.figure = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.image = widgets.Image(format="png")
        self.data: Any = None
        self.update_times: list[float] = []
        header = [widgets.HTML(f"<b>{description}</b>")] if description else []
        control_box = widgets.Box(
            list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap", grid_gap="4px 16px")
        )
        super().__init__([*header, control_box, self.image])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change: Any) -> None:
        self.update()

    def update(self) -> None:
        """Recompute, redraw and replace the image (what a control change does)."""
        start = time.perf_counter()
        # A full garbage collection of a notebook kernel's heap takes ~130 ms;
        # matplotlib's allocations trigger one now and then.  Defer it to after
        # the redraw, when nobody is waiting for the figure.
        collecting = gc.isenabled()
        gc.disable()
        try:
            values = self.values()
            self.data = self.compute(**values)
            self.figure.clear()
            self.draw(self.figure, self.data, **values)
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png")
            self.image.value = buffer.getvalue()
        finally:
            if collecting:
                gc.enable()
        self.update_times.append(time.perf_counter() - start)
