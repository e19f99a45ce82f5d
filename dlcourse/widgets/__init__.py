"""Interactive figures for the lectures: one call in a notebook cell builds one.

Every widget is an :class:`~dlcourse.widgets._base.Explorer` (controls above
a figure) built by a function in one of the topic modules below, over a pure
compute function that the tests call without any widget.  ``WIDGETS`` maps
each widget's name to its builder; ``benchmarks/bench_lectures.py`` times every
update against the 250 ms budget.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from dlcourse.widgets._base import UPDATE_BUDGET_SECONDS, Explorer

__all__ = ["Explorer", "UPDATE_BUDGET_SECONDS", "WIDGETS", "widget_builders"]

WIDGETS: dict[str, Callable[..., Explorer]] = {}


def register(builder: Callable[..., Explorer]) -> Callable[..., Explorer]:
    """Decorator for a widget builder: adds it to ``WIDGETS`` under its function name."""
    WIDGETS[builder.__name__] = builder
    return builder


def widget_builders() -> dict[str, Callable[..., Explorer]]:
    """Every registered widget builder, importing all topic modules first."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(WIDGETS)
