"""Where a notebook's answer cells run, and the sandboxes a batch starts ahead.

* :class:`SandboxedAnswers`: the answer cells in a sandbox, restarted with the
  same cells if it dies (``dlcourse grade``, ``dlcourse check``).
* :class:`InProcessAnswers`: the answer cells in this process, only for a
  student's own ``dlcourse check`` where no sandbox exists.
* :class:`SparePool`: one sandbox per kind of notebook (:class:`SandboxKind`)
  started ahead, so that its start-up (torch's import for the debugging
  notebook: ~1.5 s) runs on an idle core while the previous notebook grades.

Both kinds of answers offer ``start()`` (run the cells: a
:class:`~dlcourse.sandbox.messages.Loaded`), ``bindings(names)`` (what the
test cells' names refer to), ``alive``, ``mode``, ``printed`` and ``close()``.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field
from typing import Any

from dlcourse.class_grading.environment import Limits, SetupContext
from dlcourse.class_grading.proxy import RemoteFunction
from dlcourse.sandbox import Sandbox, SandboxCrashed, SandboxTimeout, StudentError
from dlcourse.sandbox.messages import Failure, LoadCells, Loaded, Provide

# torch.optim's first import (it pulls in torch._dynamo) costs as much as torch's own; more warm-up (a first
# backward pass) would only move work from grading to the spare, whose start then becomes the bottleneck.
_TORCH_WARM_UP = "__import__('torch.optim')"
_START_S = 120.0  # wall clock for a new sandbox's setup (and torch's import) to be done


@dataclass(frozen=True)
class SandboxKind:
    """What makes two sandboxes interchangeable before any student code ran: limits, isolation, torch, the setup."""

    limits: Limits
    use_bwrap: bool | None
    allow_torch: bool
    setup: tuple[str, ...]
    provide: Provide = field(compare=False)

    def start(self) -> Sandbox:
        """A started sandbox with the setup names (and torch's import) posted, not collected: it works while we do."""
        limits = self.limits
        sandbox = Sandbox(timeout_s=limits.call_s, cpu_s=limits.cpu_s, memory_mb=limits.memory_mb,
                          max_output_bytes=limits.output_bytes, use_bwrap=self.use_bwrap, allow_torch=self.allow_torch)
        sandbox.start()
        sandbox.post(self.provide)
        if self.allow_torch:
            sandbox.post(LoadCells([("warm-up", _TORCH_WARM_UP)], time_limit=_START_S))
        return sandbox


class SparePool:
    """Sandboxes started ahead, one per :class:`SandboxKind`; a context manager that stops them when closed.

    A spare has only ever received the instructor's setup: no student code.
    """

    def __init__(self) -> None:
        self._spares: dict[SandboxKind, Sandbox] = {}

    def __len__(self) -> int:
        return len(self._spares)

    def __enter__(self) -> SparePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def take(self, kind: SandboxKind) -> Sandbox:
        """The spare of this kind (a new sandbox if there is none or it died), and the next spare started at once."""
        sandbox = self._spares.pop(kind, None)
        if sandbox is None or not sandbox.alive:
            if sandbox is not None:
                sandbox.close()
            sandbox = kind.start()
        self._spares[kind] = kind.start()
        return sandbox

    def close(self) -> None:
        """Stop every spare."""
        while self._spares:
            self._spares.popitem()[1].close()


class SandboxedAnswers:
    """The notebook's answer cells in a sandbox, restarted with the same cells if it dies.

    Answer cells load one request each, so a cell that kills the worker
    (``os._exit``, a CPU limit, a hang that ignores the in-worker alarm) is
    known: it is recorded as that cell's error and skipped when the worker is
    started again with the other cells, as a notebook run goes on after a
    failing cell.  ``spares`` (a batch's pool) provides sandboxes started ahead.
    """

    def __init__(self, kind: SandboxKind, cells: list[tuple[str, str]], deadline: float,
                 spares: SparePool | None = None) -> None:
        self.kind, self.cells, self.deadline, self.spares = kind, cells, deadline, spares
        self.sandbox: Sandbox | None = None
        self.starts = 0
        self.fatal: dict[str, str] = {}  # answer cells that stopped the worker, and how
        self.loaded = Loaded([], [], [], [])
        self.printed = ""

    @property
    def mode(self) -> str:
        return self.sandbox.mode if self.sandbox is not None else ""

    @property
    def alive(self) -> bool:
        return self.sandbox is not None and self.sandbox.alive

    def _launch(self) -> Sandbox:
        """A fresh sandbox with the setup names given (the pool's spare, if any), its start-up replies collected."""
        self.close()
        self.starts += 1
        sandbox = self.spares.take(self.kind) if self.spares is not None else self.kind.start()
        sandbox.deadline = self.deadline
        self.sandbox = sandbox
        for reply in sandbox.collect_pending(_START_S):
            if isinstance(reply, Failure):
                raise StudentError(reply)
        return sandbox

    def start(self) -> Loaded:
        """A fresh worker with every answer cell loaded (except cells that stopped a worker before)."""
        cell_s = self.kind.limits.cell_s
        while True:
            sandbox = self._launch()
            functions: list[str] = []
            classes: list[str] = []
            names: list[str] = []
            errors: list[dict[str, str]] = []
            try:
                for label, source in self.cells:
                    if label in self.fatal:
                        continue
                    current = label
                    loaded = sandbox.load_cells([(label, source)], time_limit=cell_s, timeout_s=cell_s + 5.0)
                    functions, classes, names = loaded.functions, loaded.classes, loaded.names
                    errors += loaded.errors
            except (SandboxCrashed, SandboxTimeout) as error:
                if time.monotonic() >= self.deadline or self.starts > len(self.cells) + self.kind.limits.restarts:
                    raise
                kind = "did not finish and was stopped" if isinstance(error, SandboxTimeout) else "stopped the worker"
                self.fatal[current] = f"the cell {kind}: {str(error).splitlines()[0]}"
                continue
            errors += [{"cell": label, "type": "WorkerStopped", "message": message, "traceback": ""}
                       for label, message in self.fatal.items()]
            self.loaded = Loaded(functions, classes, names, errors)
            self.printed = sandbox.output
            return self.loaded

    def bindings(self, names: list[str]) -> dict[str, Any]:
        """Proxies for the student's functions and classes, values of the student's variables, among ``names``."""
        found: dict[str, Any] = {}
        for name in names:
            if name in self.loaded.functions or name in self.loaded.classes:
                found[name] = RemoteFunction(self.sandbox, name, is_class=name in self.loaded.classes)
        wanted = [name for name in names if name in self.loaded.names]
        if wanted:
            found.update(self.sandbox.get(wanted))
        return found

    def close(self) -> None:
        if self.sandbox is not None:
            self.printed = self.sandbox.output or self.printed
            self.sandbox.close()
            self.sandbox = None


class InProcessAnswers:
    """Answer cells run in this process: only for a student's own ``dlcourse check`` where no sandbox exists.

    The student checks their own work on their own machine (on Windows,
    where the sandbox's process limits do not exist); grading never uses this.
    """

    mode = "in-process"
    alive = True
    starts = 1

    def __init__(self, context: SetupContext, cells: list[tuple[str, str]], deadline: float) -> None:
        self.context, self.cells, self.deadline = context, cells, deadline
        self.namespace: dict[str, Any] = {}
        self.printed = ""

    def start(self) -> Loaded:
        self.namespace = dict(self.context.namespace)
        errors, printed = [], io.StringIO()
        for label, source in self.cells:
            try:
                with contextlib.redirect_stdout(printed):
                    exec(compile(source, f"<solution cell {label}>", "exec"), self.namespace)
            except (Exception, SystemExit) as error:
                errors.append({"cell": label, "type": type(error).__name__, "message": str(error)[:2000],
                               "traceback": ""})
        self.printed = printed.getvalue()
        return Loaded([], [], [], errors)

    def bindings(self, names: list[str]) -> dict[str, Any]:
        return {name: self.namespace[name] for name in names if name in self.namespace}

    def close(self) -> None:
        return None


__all__ = ["InProcessAnswers", "SandboxKind", "SandboxedAnswers", "SparePool"]
