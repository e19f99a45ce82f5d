"""What grading one notebook needs besides the student's cells: limits, the setup names, torch, the tests' names.

* :class:`Limits`: the resource limits of one notebook.
* :func:`setup_context`: the instructor's setup cells (the code cells before
  the first solution cell) run here, in the trusted grading process, once per
  process; :class:`SetupContext` holds their namespace and the
  :class:`~dlcourse.sandbox.messages.Provide` request that gives the worker
  the names solutions may use: numpy and standard-library modules, plain
  data, numpy stand-ins for the helpers in :data:`STAND_INS` and the data of
  the functions in :data:`FIXED_DATA`.  Other names (``check``, ``plt``)
  stay here.
* :func:`needs_torch`: whether the notebook's sandbox gets torch.
* :func:`names_used`: the names a test cell reads (bound to proxies of the student's functions).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import importlib
import io
import types
from dataclasses import dataclass, field
from typing import Any

from dlcourse.class_grading.notebooks import SourceNotebook
from dlcourse.grading.registry import get_target
from dlcourse.sandbox.messages import Provide
from dlcourse.sandbox.protocol import sendable


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook.

    Attributes:
        cell_s: seconds each solution cell may run while the cells load.
        call_s: wall-clock seconds for one call into the worker (a target's
            own time limit, when shorter, is enforced inside the worker).
        notebook_s: wall-clock budget for the whole notebook.
        cpu_s: CPU seconds of the worker over its life (RLIMIT_CPU).
        memory_mb: the worker's address space (RLIMIT_AS).
        output_bytes: printed output kept per notebook.
        restarts: how many times a worker that died may be replaced.
    """

    cell_s: float = 60.0
    call_s: float = 30.0
    notebook_s: float = 300.0
    cpu_s: int = 300
    memory_mb: int = 2048
    output_bytes: int = 65536
    restarts: int = 2


# ------------------------------------------------------------------ setup names

# Setup objects the worker replaces by a numpy stand-in, by import path -> name in dlcourse.sandbox.provided.HELPERS.
STAND_INS: dict[str, str] = {
    "scipy.special.erf": "erf",
    "tqdm.tqdm": "tqdm",
    "tqdm.trange": "trange",
    "tqdm.auto.tqdm": "tqdm",
    "tqdm.auto.trange": "trange",
}
# Setup functions of no arguments that only hand out fixed data: the worker gets a function returning a copy of it.
FIXED_DATA: tuple[str, ...] = ("dlcourse.training.digits_split",)


def _imported(path: str) -> Any:
    """The object at the import path ``package.module.name``, or None when it cannot be imported here."""
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return module.__dict__.get(name)


@functools.cache
def _known_objects() -> tuple[tuple[tuple[Any, str], ...], tuple[Any, ...]]:
    """(setup object, stand-in name) pairs of :data:`STAND_INS` and the functions of :data:`FIXED_DATA`, as objects."""
    stand_ins = tuple((obj, helper) for path, helper in STAND_INS.items() if (obj := _imported(path)) is not None)
    fixed = tuple(obj for path in FIXED_DATA if (obj := _imported(path)) is not None)
    return stand_ins, fixed


def _fixed_data_spec(value: Any) -> dict[str, Any]:
    """How the worker rebuilds ``value`` (``provided.returning``): a namedtuple by its fields, else as it is."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"value": list(value), "fields": list(value._fields), "type_name": type(value).__name__}
    return {"value": value}


@dataclass(frozen=True)
class SetupContext:
    """The setup cells' namespace (trusted, for the test cells) and the request giving the worker its share of it."""

    setup: tuple[str, ...]
    namespace: dict[str, Any] = field(compare=False)
    provide: Provide = field(compare=False)


@functools.lru_cache(maxsize=32)
def _setup_context(setup: tuple[str, ...]) -> SetupContext:
    namespace: dict[str, Any] = {"__name__": "__grader__", "__builtins__": builtins}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for index, source in enumerate(setup):
            exec(compile(source, f"<setup cell {index}>", "exec"), namespace)
    stand_ins, fixed = _known_objects()
    modules, values, helpers, returns = {}, {}, {}, {}
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        helper = next((helper for obj, helper in stand_ins if value is obj), None)
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
        elif helper is not None:
            helpers[name] = helper
        elif any(value is function for function in fixed):
            returns[name] = _fixed_data_spec(value())
        elif not callable(value) and sendable(value):
            values[name] = value
    return SetupContext(setup, namespace, Provide(modules, values, helpers, returns))


def setup_context(source: SourceNotebook) -> SetupContext:
    """The setup of ``source``, run once per process for every notebook with the same setup cells."""
    return _setup_context(tuple(source.setup))


# ------------------------------------------------------------------ the test cells


def _targets_checked(source: str) -> list[str]:
    """The ``against=`` names of the checks in a test cell."""
    return [keyword.value.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            for keyword in node.keywords
            if keyword.arg == "against" and isinstance(keyword.value, ast.Constant)
            and isinstance(keyword.value.value, str)]


def needs_torch(source: SourceNotebook) -> bool:
    """Whether the worker gets torch: only when every check of the notebook is on a target that allows torch."""
    names = [name for test in source.tests for name in _targets_checked(test.source)]
    return bool(names) and all("torch" in get_target(name).allowed for name in names)


@functools.lru_cache(maxsize=256)
def names_used(source: str) -> tuple[str, ...]:
    """The names a test cell reads (parsed once per process: every student runs the same cells)."""
    tree = ast.parse(source)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return tuple(sorted(names))


__all__ = ["FIXED_DATA", "STAND_INS", "Limits", "SetupContext", "names_used", "needs_torch", "setup_context"]
