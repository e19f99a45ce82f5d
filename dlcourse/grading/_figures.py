"""Drawing a failed check's :class:`~dlcourse.grading._picture.Picture` as a small PNG.

:func:`png` is the only entry point: plain ``matplotlib.figure.Figure`` and
the Agg canvas (no pyplot, no global state, nothing shown anywhere), imported
when the first picture is drawn, so importing ``dlcourse.grading`` never
pays for matplotlib.  One figure of :data:`SIZE` inches at :data:`DPI`
(425 x 221 pixels, about 20 KB): small enough to sit under the feedback
without pushing it out of view.  ``python benchmarks/bench_feedback_figure.py``
times it.

Colours: the reference in blue (solid), the student's output in red
(dashed, or bars), what differs in red; the first difference a grey
dotted line.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from dlcourse.grading._picture import EXPECTED, OBTAINED, Picture

SIZE = (5.0, 2.6)  # inches
DPI = 85
_EXPECTED_COLOR, _OBTAINED_COLOR, _MARK_COLOR = "#1f77b4", "#d62728", "#555555"
_MANY = 60  # more points than this: lines without markers


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _robust_limits(axes, expected: np.ndarray, obtained: np.ndarray) -> None:
    """Y limits that show the whole reference and the bulk of the student's values.

    One wild value (dx / dout where dout is nearly 0) would otherwise flatten
    both curves into lines.
    """
    expected, obtained = expected[np.isfinite(expected)], obtained[np.isfinite(obtained)]
    if not expected.size:
        return
    low, high = float(expected.min()), float(expected.max())
    if obtained.size:
        low, high = min(low, float(np.percentile(obtained, 2))), max(high, float(np.percentile(obtained, 98)))
    pad = 0.08 * (high - low) or 0.08 * max(abs(high), 1e-300)
    axes.set_ylim(low - pad, high + pad)


def _trajectory(axes, picture: Picture) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    marker = "o" if len(picture.x) <= _MANY else None
    axes.plot(picture.x, _finite(picture.expected), color=_EXPECTED_COLOR, linewidth=2.2, alpha=0.75,
              marker=marker, markersize=4, label=picture.expected_label)
    axes.plot(picture.x, _finite(picture.obtained), color=_OBTAINED_COLOR, linewidth=1.3, linestyle="--",
              marker=marker, markersize=3, label=picture.obtained_label)


def _function(axes, picture: Picture) -> None:
    expected, obtained = _finite(picture.expected), _finite(picture.obtained)
    few = len(picture.x) <= _MANY  # a few inputs: show them, a line between them is only a guide
    if picture.curve_x is not None and picture.curve_y is not None:  # the reference's curve, the inputs on it
        axes.plot(picture.curve_x, _finite(picture.curve_y), color=_EXPECTED_COLOR, linewidth=2.2, alpha=0.75,
                  label=picture.expected_label)
        if few:
            axes.plot(picture.x, expected, color=_EXPECTED_COLOR, linestyle="none", marker="o", markersize=4)
    else:
        axes.plot(picture.x, expected, color=_EXPECTED_COLOR, linewidth=2.2, alpha=0.75,
                  marker="o" if few else None, markersize=4, label=picture.expected_label)
    axes.plot(picture.x, obtained, color=_OBTAINED_COLOR, linewidth=1.3, linestyle="--", marker="." if few else None,
              markersize=4, label=picture.obtained_label)
    wrong = picture.wrong if picture.wrong is not None else np.zeros(len(picture.x), dtype=bool)
    if wrong.any():
        axes.fill_between(picture.x, expected, obtained, where=wrong, color=_OBTAINED_COLOR, alpha=0.18,
                          linewidth=0, label="where they differ")
        shown = np.flatnonzero(wrong)[:: max(1, int(wrong.sum()) // 150)]  # at most ~150 markers
        axes.plot(picture.x[shown], obtained[shown], linestyle="none", marker="x", markersize=3.5,
                  color=_OBTAINED_COLOR)
    _robust_limits(axes, expected, obtained)


def _histogram(axes, picture: Picture) -> None:
    edges = picture.edges
    axes.stairs(picture.obtained, edges, fill=True, color=_OBTAINED_COLOR, alpha=0.45, label=picture.obtained_label)
    if picture.kind == "density":
        axes.plot(picture.x, picture.expected, color=_EXPECTED_COLOR, linewidth=2.0, label=picture.expected_label)
    else:  # a discrete law: its atoms as stems
        axes.vlines(picture.x, 0, picture.expected, color=_EXPECTED_COLOR, linewidth=2.5,
                    label=picture.expected_label)
        axes.plot(picture.x, picture.expected, linestyle="none", marker="o", markersize=5, color=_EXPECTED_COLOR)
    axes.set_ylim(bottom=0)


_DRAW = {"trajectory": _trajectory, "function": _function, "density": _histogram, "masses": _histogram}


def png(picture: Picture) -> bytes:
    """The PNG bytes of ``picture``: title, axis labels, expected (reference) and your output, the marks."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI)
    axes = figure.add_axes((0.13, 0.17, 0.84, 0.71))
    _DRAW[picture.kind](axes, picture)
    for mark in picture.marks:
        at = f"step {mark:.0f}" if picture.kind == "trajectory" else f"{picture.xlabel} = {mark:.4g}"
        axes.axvline(mark, color=_MARK_COLOR, linestyle=":", linewidth=1.2, label=f"first difference: {at}")
    axes.set_title(picture.title, fontsize=9, y=1.0, pad=4)  # a fixed place: no search for one (~10 ms)
    axes.set_xlabel(picture.xlabel, fontsize=8, labelpad=1)
    axes.set_ylabel(picture.ylabel, fontsize=8, labelpad=2)
    axes.tick_params(labelsize=7, pad=1.5)
    axes.yaxis.get_offset_text().set_fontsize(7)
    axes.grid(alpha=0.25, linewidth=0.6)
    handles, labels = axes.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: (not labels[i].startswith(EXPECTED),
                                                      not labels[i].startswith(OBTAINED)))
    axes.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=6.5, loc="best", framealpha=0.85)
    return figure_png(figure)


def figure_png(figure: Any) -> bytes:
    """The PNG bytes of a matplotlib ``Figure`` drawn on the Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


__all__ = ["DPI", "SIZE", "png"]
