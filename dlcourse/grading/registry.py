"""Where check targets are registered and looked up by their ``against=`` name.

Each topic module under ``dlcourse.grading.topics`` calls :func:`register`
for the targets it defines; they are imported on first use so that
``import dlcourse.grading`` stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil

from dlcourse.grading._core import Target
from dlcourse.grading._report import GradingError

_TARGETS: dict[str, Target] = {}
_loaded = False


def register(*new: Target) -> None:
    for target in new:
        if target.name in _TARGETS:
            raise ValueError(f"check target {target.name!r} is registered twice")
        _TARGETS[target.name] = target


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    package = importlib.import_module("dlcourse.grading.topics")

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def targets() -> list[str]:
    """Every ``against=`` name, sorted."""
    _load()
    return sorted(_TARGETS)


def get_target(name: str) -> Target:
    _load()
    if name not in _TARGETS:
        close = [t for t in _TARGETS if name.split(".")[-1] in t]
        hint = f" Did you mean {', '.join(repr(c) for c in close[:5])}?" if close else ""
        raise GradingError(f"there is no check called {name!r}.{hint} dlcourse.grading.topics() lists them all.")
    return _TARGETS[name]
