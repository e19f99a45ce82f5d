"""The shared Explorer, and every registered widget: controls really redraw the figure within budget."""

import ipywidgets as widgets
import numpy as np
import pytest

from dlcourse.widgets import Explorer, widget_builders


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


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_control_of_every_widget_redraws(name):
    explorer = BUILDERS[name]()
    assert isinstance(explorer, Explorer)
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    for control_name, control in explorer.controls.items():
        before = bytes(explorer.image.value)
        count = len(explorer.update_times)
        control.value = another_value(control)
        assert len(explorer.update_times) == count + 1, f"{name}: moving {control_name} did not update"
        assert bytes(explorer.image.value) != before, f"{name}: moving {control_name} did not change the figure"


def test_the_lectures_widgets_are_registered():
    expected = {
        "computation_graph_explorer", "activation_explorer", "gradient_depth_explorer", "init_depth_explorer",
        "learning_rate_explorer", "schedule_explorer", "clipping_cliff_explorer", "surface_gd_explorer",
        "momentum_explorer", "optimizer_race", "bias_correction_explorer", "batchnorm_training_explorer",
        "regularization_explorer", "lr_sweep_explorer", "broadcasting_explorer", "newton_explorer",
    }
    assert expected <= set(BUILDERS)
