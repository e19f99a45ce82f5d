"""Where check targets are looked up by their ``against=`` name.

Each topic module under ``dlcourse.grading.topics`` declares its targets in
one literal table, ``TARGETS``, with every full name (``"optim.adam"``)
written where the target is defined, so grepping a name found in a test cell
leads to its trials and mistakes.  The topic modules are listed below, by
name, and imported on first use so that ``import dlcourse.grading`` stays
cheap.
"""

from __future__ import annotations

import importlib

from dlcourse.grading import siblings
from dlcourse.grading._core import Target
from dlcourse.grading._report import GradingError

# Every topic module, in the order of the course.  A new topic module is added here.
TOPIC_MODULES = (
    "dlcourse.grading.topics.backprop",
    "dlcourse.grading.topics.gradcheck",
    "dlcourse.grading.topics.activations",
    "dlcourse.grading.topics.layers",
    "dlcourse.grading.topics.losses",
    "dlcourse.grading.topics.dropout",
    "dlcourse.grading.topics.two_layer_net",
    "dlcourse.grading.topics.init",
    "dlcourse.grading.topics.experiments",
    "dlcourse.grading.topics.optim",
    "dlcourse.grading.topics.schedules",
    "dlcourse.grading.topics.norm",
    "dlcourse.grading.topics.regularization",
    "dlcourse.grading.topics.data",
    "dlcourse.grading.topics.debugging",
)

_TARGETS: dict[str, Target] = {}


def _load() -> dict[str, Target]:
    if not _TARGETS:
        loaded: dict[str, Target] = {}
        for module_name in TOPIC_MODULES:
            for target in importlib.import_module(module_name).TARGETS:
                if target.name in loaded:
                    raise ValueError(f"check target {target.name!r} is defined twice")
                loaded[target.name] = target
        siblings.attach(loaded)
        _TARGETS.update(loaded)
    return _TARGETS


def targets() -> list[str]:
    """Every ``against=`` name, sorted."""
    return sorted(_load())


def get_target(name: str) -> Target:
    """The target called ``name`` (``"optim.adam"``); a :class:`GradingError` suggesting close names otherwise."""
    known = _load()
    if name not in known:
        close = [t for t in known if name.split(".")[-1] in t]
        hint = f" Did you mean {', '.join(repr(c) for c in close[:5])}?" if close else ""
        raise GradingError(f"there is no check called {name!r}.{hint} dlcourse.grading.targets() lists them all.")
    return known[name]
