"""The widgets' palette: Okabe & Ito's eight colours, the series styles, and ``use_palette`` for notebooks."""

from __future__ import annotations

import matplotlib as mpl
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from dlcourse.widgets import PALETTE as EXPORTED
from dlcourse.widgets import use_palette as exported_use_palette
from dlcourse.widgets._plotting import LINESTYLES, MARKERS, PALETTE, SERIES, number, series_style, use_palette

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
