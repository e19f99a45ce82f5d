"""The widgets' palette (Okabe & Ito's colours, series styles, ``use_palette``) and drawing helpers."""

from __future__ import annotations

import matplotlib as mpl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from dlcourse.widgets import PALETTE as EXPORTED
from dlcourse.widgets import use_palette as exported_use_palette
from dlcourse.widgets._plotting import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    SERIES,
    grid_axes,
    number,
    series_style,
    ticks_in_view,
    use_palette,
)

# Okabe & Ito, "Color Universal Design", as RGB 0-255 (https://jfly.uni-koeln.de/color/)
OKABE_ITO = {"black": (0, 0, 0), "orange": (230, 159, 0), "sky": (86, 180, 233), "green": (0, 158, 115),
             "yellow": (240, 228, 66), "blue": (0, 114, 178), "vermillion": (213, 94, 0), "purple": (204, 121, 167)}


def test_the_palette_is_okabe_ito():
    assert {name: tuple(int(PALETTE[name][i:i + 2], 16) for i in (1, 3, 5)) for name in PALETTE} == OKABE_ITO
    assert EXPORTED is PALETTE and exported_use_palette is use_palette
    assert set(SERIES) == set(PALETTE.values()) - {PALETTE["yellow"]}  # too light for a line


def test_series_styles_differ_by_more_than_colour():
    styles = [series_style(i) for i in range(len(MARKERS))]
    assert len({(s["color"], s["linestyle"], s["marker"]) for s in styles}) == len(styles)
    assert len({(s["linestyle"], s["marker"]) for s in styles}) == len(styles)  # also in grey
    assert [s["linestyle"] for s in styles[:4]] == list(LINESTYLES)


@pytest.fixture
def restore_rc():
    with mpl.rc_context():
        yield


def test_use_palette_sets_matplotlibs_colour_cycle(restore_rc):
    use_palette()
    ax = Figure().add_subplot()
    lines = [ax.plot([0, 1])[0] for _ in range(len(SERIES) + 1)]
    assert [to_hex(line.get_color()) for line in lines] == [c.lower() for c in (*SERIES, SERIES[0])]
    assert {line.get_linestyle() for line in lines} == {"-"}
    assert to_hex(mpl.colors.to_rgba("C1")) == PALETTE["orange"].lower()


def test_use_palette_with_line_styles(restore_rc):
    use_palette(linestyles=True)
    ax = Figure().add_subplot()
    lines = [ax.plot([0, 1])[0] for _ in range(5)]
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-.", ":", "-"]
    with pytest.raises(TypeError, match="linestyles must be a bool, got str"):
        use_palette("yes")


def test_numbers_in_words():
    assert number(-0.0) == "0" and number(2.0) == "2" and number(1 / 3) == "0.333" and number(1234.5) == "1.23e+03"
    assert number(float("nan")) == "nan" and number(0.123456, 2) == "0.12"


def test_grid_axes_empties_and_keeps_the_same_grid():
    figure = Figure()
    axes = grid_axes(figure, 1, 2, wspace=0.3)
    axes[0, 0].plot([0, 1], [5, 6], label="a")
    axes[0, 0].legend()
    axes[0, 1].set(title="t", xlabel="x", ylim=(0, 1))
    again = grid_axes(figure, 1, 2, wspace=0.3)
    assert again.shape == (1, 2) and [*again.flat] == [*axes.flat]
    assert not again[0, 0].lines and again[0, 0].get_legend() is None
    assert again[0, 1].get_title() == again[0, 1].get_xlabel() == "" and again[0, 1].get_autoscaley_on()
    other = grid_axes(figure, 2, 1)
    assert other.shape == (2, 1) and len(figure.axes) == 2 and not set(other.flat) & set(axes.flat)


def test_ticks_only_in_view():
    def drawn(wrap):
        figure = Figure()
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.plot([0.05, 0.95], [0.0, 7.0])
        ax.yaxis.get_major_locator().set_params(nbins=3)  # set by a widget: kept
        if wrap:
            ticks_in_view(figure)
        figure.canvas.draw()
        return ax

    ax, plain = drawn(True), drawn(False)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert all(x0 <= x <= x1 for x in ax.get_xticks()) and all(y0 <= y <= y1 for y in ax.get_yticks())
    assert len(ax.get_xticks()) <= 6 and len(ax.get_yticks()) <= 4
    # a tick is built for every location, drawn or not: only those in view now
    in_view = len(ax.get_xticks()) + len(ax.get_yticks())
    assert len(ax.xaxis.majorTicks) + len(ax.yaxis.majorTicks) == in_view
    assert len(plain.xaxis.majorTicks) + len(plain.yaxis.majorTicks) > in_view
