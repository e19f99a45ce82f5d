"""The shared Explorer, and every registered widget: controls really redraw the figure, rewrite its text,
show their labels whole, and the figure draws only with the colour-blind-safe palette."""

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.colors import ListedColormap, to_rgba, to_rgba_array
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from dlcourse.widgets import Explorer, widget_builders
from dlcourse.widgets._base import CONTROL_STYLE, fit_label, setting_text
from dlcourse.widgets._plotting import COLORMAPS, PALETTE


def make_explorer():
    def compute(frequency, wave):
        x = np.linspace(0, 1, 200)
        return x, (np.sin if wave == "sin" else np.cos)(2 * np.pi * frequency * x)

    def draw(figure, data, frequency, wave):
        figure.add_subplot().plot(*data)

    return Explorer(
        {
            "frequency": widgets.FloatSlider(value=1.0, min=0.5, max=5.0),
            "wave": widgets.Dropdown(options=["sin", "cos"]),
        },
        compute,
        draw,
    )


def test_explorer_draws_on_creation_and_on_every_change():
    explorer = make_explorer()
    first_png, first_data = bytes(explorer.image.value), explorer.data
    assert bytes(first_png).startswith(b"\x89PNG") and len(explorer.update_times) == 1
    explorer.controls["frequency"].value = 3.0
    assert bytes(explorer.image.value) != first_png
    assert not np.allclose(explorer.data[1], first_data[1])
    explorer.controls["wave"].value = "cos"
    assert len(explorer.update_times) == 3


def test_explorer_text_is_the_described_figure_and_the_settings():
    def describe(data, frequency, wave):
        return f"A {wave} wave of frequency {frequency:g}; its largest value is {data[1].max():.2f}."

    explorer = make_explorer()
    assert explorer.text.startswith("Settings: frequency = 1, wave = sin")  # no describe: the description (empty)
    explorer.describe = describe
    explorer.controls["frequency"].value = 2.5
    assert explorer.text == ("A sin wave of frequency 2.5; its largest value is 1.00. "
                             "Settings: frequency = 2.5, wave = sin.")
    assert explorer.image.tooltip == "Figure: " + explorer.text
    assert 'aria-live="polite"' in explorer.caption.value and "A sin wave of frequency 2.5" in explorer.caption.value
    assert "Settings" not in explorer.caption.value  # the caption is the numbers; the controls show the settings
    assert len(explorer.update_cpu_times) == len(explorer.update_times) == 2


def test_settings_in_words():
    lr = widgets.FloatLogSlider(value=0.3, min=-3, max=0, description="learning rate")
    assert setting_text("lr", lr) == "learning rate = 0.3"
    assert setting_text("x_max", widgets.FloatSlider(value=5.0, description="x range ±")) == "x range ± 5"
    assert setting_text("compare", widgets.Checkbox(value=True)) == "compare = on"
    init = widgets.Dropdown(options=[("He/Kaiming normal", "he_normal")], value="he_normal", description="init")
    assert setting_text("init", init) == "init = He/Kaiming normal"
    racing = widgets.SelectMultiple(options=["sgd", "adam", "lion"], value=("sgd", "lion"), description="racing")
    assert setting_text("optimizers", racing) == "racing = sgd, lion"
    assert setting_text("r", widgets.FloatRangeSlider(value=(-3.5, 1.0), min=-4, max=1)) == "r = -3.5 to 1"


def test_every_label_is_shown_whole():
    """The shared style sizes the label to its text, and a long label widens its control instead of squeezing it."""
    short = fit_label(widgets.IntSlider(description="depth"))
    long = fit_label(widgets.FloatSlider(description="negative slope (leaky_relu, prelu a)"))
    explicit = fit_label(widgets.Dropdown(options=["a"], description="a rather long description",
                                          layout=widgets.Layout(width="380px")))
    assert short.style.description_width == long.style.description_width == CONTROL_STYLE["description_width"]
    assert short.layout.width is None
    assert int(long.layout.width.removesuffix("px")) >= 7.5 * len(long.description) + 200
    assert explicit.layout.width == "380px"


def another_value(control):
    """A valid value different from the current one, for any kind of control."""
    if isinstance(control, (widgets.Dropdown, widgets.ToggleButtons, widgets.RadioButtons, widgets.SelectionSlider)):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return next(o for o in options if o != control.value)
    if isinstance(control, (widgets.Checkbox, widgets.ToggleButton)):
        return not control.value
    if isinstance(control, (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider, widgets.BoundedIntText,
                            widgets.BoundedFloatText)):
        return control.max if control.value != control.max else control.min
    if isinstance(control, (widgets.IntRangeSlider, widgets.FloatRangeSlider)):
        low, high = control.value
        return (control.min, high) if low != control.min else (low, control.max)
    if isinstance(control, widgets.SelectMultiple):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return tuple(options[:1]) if tuple(control.value) != tuple(options[:1]) else tuple(options[-1:])
    raise TypeError(f"no rule for a {type(control).__name__}")


BUILDERS = widget_builders()
_ALLOWED = {tuple(np.round(to_rgba(color)[:3], 3)) for color in PALETTE.values()}


def _allowed(rgba) -> bool:
    r, g, b, a = rgba
    return a == 0 or (abs(r - g) < 1e-6 and abs(g - b) < 1e-6) or tuple(np.round((r, g, b), 3)) in _ALLOWED


def colour_problems(figure) -> list[str]:
    """Every colour drawn: a palette colour or a grey, or a colour map of ``COLORMAPS`` (or of greys)."""
    problems = []
    for artist in figure.findobj():
        if getattr(artist, "get_array", lambda: None)() is not None and hasattr(artist, "get_cmap"):
            cmap = artist.get_cmap()
            greys = isinstance(cmap, ListedColormap) and all(map(_allowed, to_rgba_array(cmap.colors)))
            if cmap.name not in COLORMAPS and not greys:
                problems.append(f"{artist}: colour map {cmap.name}")
            continue
        if isinstance(artist, Line2D):
            colours = [artist.get_color(), artist.get_markerfacecolor(), artist.get_markeredgecolor()]
        elif isinstance(artist, Text):
            colours = [artist.get_color()] if artist.get_text() else []
        elif isinstance(artist, Patch):
            colours = [artist.get_facecolor()] if artist.get_fill() else []
            colours += [artist.get_edgecolor()] if artist.get_linewidth() else []
        elif hasattr(artist, "get_facecolor") and hasattr(artist, "get_edgecolor"):  # collections
            colours = [*to_rgba_array(artist.get_facecolor()), *to_rgba_array(artist.get_edgecolor())]
        else:
            continue
        problems += [f"{artist}: colour {c}" for c in colours
                     if not (isinstance(c, str) and c == "none") and not _allowed(to_rgba(c))]
    return problems


def style_problems(figure) -> list[str]:
    """Series in a legend differ by more than colour: no two labelled lines of an axes share line style, marker
    and weight (hairline below 1 point, normal, thick from 2 points)."""
    problems = []
    for ax in figure.axes:
        seen = {}
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            marker = line.get_marker() if line.get_marker() not in ("", " ", None) else "None"
            key = (line.get_linestyle(), marker, int(line.get_linewidth() >= 1) + int(line.get_linewidth() >= 2))
            if key in seen and to_rgba(seen[key].get_color()) != to_rgba(line.get_color()):
                problems.append(f"'{seen[key].get_label()}' and '{line.get_label()}' differ only in colour")
            seen.setdefault(key, line)
    return problems


def check_readable(name, explorer, after):
    assert not colour_problems(explorer.figure), (name, after, colour_problems(explorer.figure)[:5])
    assert not style_problems(explorer.figure), (name, after, style_problems(explorer.figure))
    words = explorer.caption.value
    assert explorer.describe is not None and any(ch.isdigit() for ch in words), (name, after, words)
    assert explorer.image.tooltip == f"Figure: {explorer.text}" and explorer.text.endswith(f"{explorer.settings()}.")
    for control in explorer.controls.values():
        assert control.style.description_width == CONTROL_STYLE["description_width"], (name, control.description)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_control_of_every_widget_redraws_and_rewrites_its_text(name):
    explorer = BUILDERS[name]()
    assert isinstance(explorer, Explorer)
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    check_readable(name, explorer, "on creation")
    for control_name, control in explorer.controls.items():
        before, words = bytes(explorer.image.value), explorer.caption.value
        count = len(explorer.update_times)
        control.value = another_value(control)
        assert len(explorer.update_times) == count + 1, f"{name}: moving {control_name} did not update"
        assert bytes(explorer.image.value) != before, f"{name}: moving {control_name} did not change the figure"
        assert explorer.caption.value != words, f"{name}: moving {control_name} did not change the figure's text"
        check_readable(name, explorer, f"after moving {control_name}")
    if explorer.keep_axes:  # its axes, emptied and drawn again, show what a new figure shows
        fresh = Explorer(explorer.controls, explorer.compute, explorer.draw, explorer.figsize)
        assert bytes(fresh.image.value) == bytes(explorer.image.value), f"{name}: the kept axes draw differently"


def test_the_lectures_widgets_are_registered():
    expected = {
        "computation_graph_explorer", "activation_explorer", "gradient_depth_explorer", "init_depth_explorer",
        "learning_rate_explorer", "schedule_explorer", "clipping_cliff_explorer", "surface_gd_explorer",
        "momentum_explorer", "optimizer_race", "bias_correction_explorer", "batchnorm_training_explorer",
        "regularization_explorer", "lr_sweep_explorer", "broadcasting_explorer", "newton_explorer",
    }
    assert expected <= set(BUILDERS)
