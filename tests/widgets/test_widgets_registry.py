"""The widget registry is explicit: WIDGET_MODULES lists every module that defines a widget, and no other."""

from __future__ import annotations

import importlib
import pkgutil

import dlcourse.widgets as package
from dlcourse.widgets import WIDGET_MODULES, widget_builders

# modules that only re-export builders defined elsewhere, for the lectures' older import lines
REEXPORTING = {"dlcourse.widgets.practice": ("broadcasting_explorer", "lr_sweep_explorer"),
               "dlcourse.widgets.sgd": ("schedule_explorer", "clipping_cliff_explorer"),
               "dlcourse.widgets.optimizers": ("bias_correction_explorer",)}


def test_every_registered_builder_is_defined_in_a_listed_module():
    builders = widget_builders()
    assert {builder.__module__ for builder in builders.values()} == set(WIDGET_MODULES)
    for name, builder in builders.items():
        assert builder.__name__ == name


def test_no_widget_module_is_missing_from_the_list():
    modules = {f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
               if not info.name.startswith("_")}
    # practice only re-exports; surface_tour is lecture 04's table of settings for a widget, shown as text
    assert set(WIDGET_MODULES) == modules - {"dlcourse.widgets.practice", "dlcourse.widgets.surface_tour"}
    for module_name, names in REEXPORTING.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(module, name) is widget_builders()[name], f"{module_name}.{name}"
