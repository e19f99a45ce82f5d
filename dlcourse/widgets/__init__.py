"""Interactive figures for the lectures: one call in a notebook cell builds one.

Every widget is an :class:`~dlcourse.widgets._base.Explorer` (controls above
a figure) built by a function in one of the topic modules listed in
``WIDGET_MODULES``, over a pure compute function that the tests call without
any widget.  A builder is marked with ``@register`` where it is defined;
``widget_builders()`` imports the listed modules and returns ``WIDGETS``, the
map from each widget's name to its builder (``tests/test_widgets_base.py``
moves every control of every one; ``benchmarks/bench_lectures.py`` times every
update against the 200 ms budget).

Every figure reads in words too (its text alternative: the image's name for a
screen reader and the line under it), shows its controls' labels whole, and
draws with ``PALETTE``, Okabe & Ito's colour-blind-safe colours.  A lecture's
own matplotlib figures use the same colours after one line::

    from dlcourse.widgets import use_palette; use_palette()
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from dlcourse.widgets._base import UPDATE_BUDGET_SECONDS, Explorer
from dlcourse.widgets._plotting import PALETTE, use_palette

__all__ = [
    "PALETTE", "UPDATE_BUDGET_SECONDS", "WIDGETS", "WIDGET_MODULES", "Explorer", "register", "use_palette",
    "widget_builders",
]

# Every module that defines widgets, in the order of the lectures.  A new widget module is added here.
WIDGET_MODULES = (
    "dlcourse.widgets.backprop",         # lecture 01
    "dlcourse.widgets.activations",      # 02
    "dlcourse.widgets.init",             # 03
    "dlcourse.widgets.sgd",              # 04
    "dlcourse.widgets.schedules",        # 04
    "dlcourse.widgets.clipping",         # 04
    "dlcourse.widgets.momentum",         # 05
    "dlcourse.widgets.optimizers",       # 06
    "dlcourse.widgets.bias_correction",  # 06
    "dlcourse.widgets.normalization",    # 07
    "dlcourse.widgets.regularization",   # 08
    "dlcourse.widgets.lr_sweep",         # 09
    "dlcourse.widgets.broadcasting",     # 09
    "dlcourse.widgets.theory",           # 10
)

WIDGETS: dict[str, Callable[..., Explorer]] = {}


def register(builder: Callable[..., Explorer]) -> Callable[..., Explorer]:
    """Decorator for a widget builder: adds it to ``WIDGETS`` under its function name."""
    WIDGETS[builder.__name__] = builder
    return builder


def widget_builders() -> dict[str, Callable[..., Explorer]]:
    """Every registered widget builder, importing the modules of ``WIDGET_MODULES`` first."""
    for module_name in WIDGET_MODULES:
        importlib.import_module(module_name)
    return dict(WIDGETS)
