"""Grade one submitted notebook: its solution cells run in the sandbox, the instructor's tests run here.

For each notebook of an assignment:

1. The instructor's setup cells (the code cells before the first solution
   cell) run in this trusted process, once per process; the names they define
   that solutions may use are given to the worker (numpy and standard-library
   modules, plain data, numpy stand-ins for a few helpers such as scipy's
   ``erf``, and the course's fixed data split; see :mod:`dlcourse.sandbox.provided`).
2. The submission's solution cells (by grade id, nothing else of the
   notebook) run in a fresh :class:`~dlcourse.sandbox.Sandbox`, each cell on
   its own with a time limit; an error in one cell is recorded and the next
   cell still runs, as in a notebook executed with errors allowed.
3. Each of the instructor's test cells (with the hidden tests) runs here, in
   a namespace holding the setup names and, for every other name the cell
   uses, a proxy to the student's function or the value of the student's
   variable.  A cell that finishes earns its points; one that raises earns 0
   and its error is the feedback, as in ``nbgrader autograde``.

If the worker dies during a test cell (``os._exit``, a limit), that part
fails and the worker is restarted with the same cells for the next part,
at most ``Limits.restarts`` times.  Every notebook has a wall-clock budget;
when it is used up the remaining parts get 0 and the status is ``timeout``.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import contextlib
import functools
import io
import time
import types
from dataclasses import asdict, dataclass
from typing import Any

from dlcourse.class_grading.integrity import notebook_flags
from dlcourse.class_grading.notebooks import SourceNotebook, Unreadable, read_submission, solution_cells
from dlcourse.sandbox.launcher import Sandbox, SandboxCrashed, SandboxError, SandboxTimeout, StudentError
from dlcourse.sandbox.protocol import sendable
from dlcourse.sandbox.proxy import RemoteFunction

FEEDBACK_CHARS = 4000


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


def _helper_names() -> dict[int, str]:
    """``id(object) -> helper`` for the setup imports the worker replaces with :mod:`dlcourse.sandbox.provided`."""
    known: dict[int, str] = {}
    with contextlib.suppress(ImportError):
        from scipy.special import erf

        known[id(erf)] = "erf"
    with contextlib.suppress(ImportError):
        import tqdm
        import tqdm.auto

        for module in (tqdm, tqdm.auto):
            known[id(module.tqdm)] = "tqdm"
            known[id(module.trange)] = "trange"
    return known


def _returning_specs() -> dict[int, Any]:
    """``id(function) -> how to rebuild it in the worker`` for setup functions that only hand out fixed data."""
    from dlcourse.training import digits_split

    def digits() -> dict[str, Any]:
        split = digits_split()
        return {"value": list(split), "fields": list(split._fields), "type_name": type(split).__name__}

    return {id(digits_split): digits}


@dataclass
class SetupContext:
    """The setup cells' namespace (trusted) and what of it the worker receives."""

    setup: tuple[str, ...]
    namespace: dict[str, Any]
    modules: dict[str, str]
    values: dict[str, Any]
    helpers: dict[str, str]
    returns: dict[str, Any]


@functools.lru_cache(maxsize=32)
def _setup_context(key: tuple[str, ...]) -> SetupContext:
    namespace: dict[str, Any] = {"__name__": "__grader__", "__builtins__": builtins}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for index, source in enumerate(key):
            exec(compile(source, f"<setup cell {index}>", "exec"), namespace)
    helper_ids, returning = _helper_names(), _returning_specs()
    modules, values, helpers, returns = {}, {}, {}, {}
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
        elif id(value) in helper_ids:
            helpers[name] = helper_ids[id(value)]
        elif id(value) in returning:
            returns[name] = returning[id(value)]()
        elif not callable(value) and sendable(value):
            values[name] = value
    return SetupContext(key, namespace, modules, values, helpers, returns)


def setup_context(source: SourceNotebook) -> SetupContext:
    return _setup_context(tuple(source.setup))


def _targets_checked(source: str) -> list[str]:
    """The ``against=`` names of the checks in a test cell."""
    return [keyword.value.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            for keyword in node.keywords
            if keyword.arg == "against" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str)]


def needs_torch(source: SourceNotebook) -> bool:
    """Whether the worker gets torch: only when every check of the notebook is on a target that allows torch."""
    from dlcourse.grading.registry import get_target

    names = [name for test in source.tests for name in _targets_checked(test.source)]
    return bool(names) and all("torch" in get_target(name).allowed for name in names)


@functools.lru_cache(maxsize=256)
def _names_used(source: str) -> tuple[str, ...]:
    """The names a test cell reads (parsed once per process: every student runs the same cells)."""
    tree = ast.parse(source)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return tuple(sorted(names))


# ------------------------------------------------------------------ grading


@dataclass
class Part:
    grade_id: str
    max_score: float
    score: float = 0.0
    passed: bool = False
    feedback: str = ""
    output: str = ""


# torch.optim's first import (it pulls in torch._dynamo) costs as much as torch's own; more warm-up (a first
# backward pass) would only move work from grading to the spare, whose start then becomes the bottleneck.
_TORCH_WARM_UP = "__import__('torch.optim')"
_SPARES: dict[tuple, Sandbox] = {}  # per kind of notebook, one sandbox started ahead (see _Worker._launch)


@atexit.register
def close_spares() -> None:
    """Stop the sandboxes started ahead (at exit, or when a batch is done)."""
    while _SPARES:
        _SPARES.popitem()[1].close()


class _Worker:
    """The notebook's sandbox, restarted with the same cells if it dies.

    Answer cells load one request each, so a cell that kills the worker
    (``os._exit``, a CPU limit, a hang that ignores the in-worker alarm) is
    known: it is recorded as that cell's error and skipped when the worker is
    started again with the other cells, as a notebook run goes on after a
    failing cell.
    """

    def __init__(self, context: SetupContext, cells: list[tuple[str, str]], limits: Limits, deadline: float,
                 use_bwrap: bool | None, allow_torch: bool = False, prewarm: bool = False) -> None:
        self.context, self.cells, self.limits, self.deadline = context, cells, limits, deadline
        self.use_bwrap, self.allow_torch, self.prewarm = use_bwrap, allow_torch, prewarm
        self.sandbox: Sandbox | None = None
        self.starts = 0
        self.fatal: dict[str, str] = {}  # answer cells that stopped the worker, and how
        self.loaded: dict[str, Any] = {}
        self.printed = ""

    @property
    def mode(self) -> str:
        return self.sandbox.mode if self.sandbox is not None else ""

    @property
    def alive(self) -> bool:
        return self.sandbox is not None and self.sandbox.alive

    def _new_sandbox(self) -> Sandbox:
        """A started sandbox with the setup names posted (not yet collected): it works while we do."""
        limits = self.limits
        sandbox = Sandbox(timeout_s=limits.call_s, cpu_s=limits.cpu_s, memory_mb=limits.memory_mb,
                          max_output_bytes=limits.output_bytes, use_bwrap=self.use_bwrap, allow_torch=self.allow_torch)
        sandbox.start()
        context = self.context
        sandbox.post_provide(context.modules, context.values, context.helpers, context.returns)
        if self.allow_torch:
            sandbox.post_load_cells([("warm-up", _TORCH_WARM_UP)], time_limit=120)
        return sandbox

    def _launch(self) -> Sandbox:
        """A fresh sandbox with the setup names given: the spare started earlier, if there is one.

        With ``prewarm``, the next sandbox of this kind is started at once, so
        its imports (torch: ~1.5 s) run on an idle core while this one grades.
        A spare has only ever received the instructor's setup: no student code.
        """
        self.close()
        self.starts += 1
        key = (self.use_bwrap, self.allow_torch, self.limits, self.context.setup)
        sandbox = _SPARES.pop(key, None) if self.prewarm else None
        if sandbox is None or not sandbox.alive:
            if sandbox is not None:
                sandbox.close()
            sandbox = self._new_sandbox()
        if self.prewarm:
            _SPARES[key] = self._new_sandbox()
        sandbox.deadline = self.deadline
        self.sandbox = sandbox
        for _ in range(2 if self.allow_torch else 1):
            sandbox.collect_value(timeout_s=120.0)
        return sandbox

    def start(self) -> dict[str, Any]:
        """A fresh worker with every answer cell loaded (except cells that stopped a worker before)."""
        while True:
            sandbox = self._launch()
            loaded: dict[str, Any] = {"functions": [], "classes": [], "names": [], "errors": []}
            try:
                for label, source in self.cells:
                    if label in self.fatal:
                        continue
                    current = label
                    reply = sandbox.load_cells([(label, source)], time_limit=self.limits.cell_s,
                                               timeout_s=self.limits.cell_s + 5.0)
                    loaded.update(functions=reply["functions"], classes=reply["classes"], names=reply["names"])
                    loaded["errors"] += reply["errors"]
            except (SandboxCrashed, SandboxTimeout) as error:
                if time.monotonic() >= self.deadline or self.starts > len(self.cells) + self.limits.restarts:
                    raise
                kind = "did not finish and was stopped" if isinstance(error, SandboxTimeout) else "stopped the worker"
                self.fatal[current] = f"the cell {kind}: {str(error).splitlines()[0]}"
                continue
            loaded["errors"] += [{"cell": label, "type": "WorkerStopped", "message": message, "traceback": ""}
                                 for label, message in self.fatal.items()]
            self.loaded = loaded
            self.printed = sandbox.output
            return loaded

    def bindings(self, names: list[str]) -> dict[str, Any]:
        """Proxies for the student's functions and classes, values of the student's variables, among ``names``."""
        found: dict[str, Any] = {}
        for name in names:
            if name in self.loaded["functions"] or name in self.loaded["classes"]:
                found[name] = RemoteFunction(self.sandbox, name, is_class=name in self.loaded["classes"])
        wanted = [name for name in names if name in self.loaded["names"]]
        if wanted:
            found.update(self.sandbox.get(wanted))
        return found

    def close(self) -> None:
        if self.sandbox is not None:
            self.printed = self.sandbox.output or self.printed
            self.sandbox.close()
            self.sandbox = None


class _InProcess:
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

    def start(self) -> dict[str, Any]:
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
        return {"errors": errors}

    def bindings(self, names: list[str]) -> dict[str, Any]:
        return {name: self.namespace[name] for name in names if name in self.namespace}

    def close(self) -> None:
        return None


def _feedback(error: BaseException) -> str:
    text = str(error) if isinstance(error, AssertionError) and str(error) else f"{type(error).__name__}: {error}"
    if isinstance(error, NameError):
        text += ("\n  The graded code is the answer cells only: define it there (a cell you added is not run), and "
                 "check that the answer cell runs without an error.")
    return text[:FEEDBACK_CHARS]


def _run_test(test_source: str, grade_id: str, namespace: dict[str, Any]) -> tuple[bool, str, str]:
    """Execute one trusted test cell; (passed, feedback, printed output)."""
    printed = io.StringIO()
    try:
        code = compile(test_source, f"<test cell {grade_id}>", "exec")
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            exec(code, namespace)
    except (Exception, SystemExit) as error:  # the checks' verdict (GradingError) or an error the student caused
        return False, _feedback(error), printed.getvalue()[:FEEDBACK_CHARS]
    return True, "", printed.getvalue()[:FEEDBACK_CHARS]


def grade_notebook(source: SourceNotebook, data: bytes | None, limits: Limits = Limits(),
                   use_bwrap: bool | None = None, sandboxed: bool = True, prewarm: bool = False) -> dict[str, Any]:
    """The result of one submitted notebook (``data`` None: not submitted), as JSON-ready data.

    Keys: ``notebook``, ``status`` (``graded``, ``missing``, ``unreadable``,
    ``timeout``, ``crashed``), ``score``, ``max_score``, ``parts`` (one per
    test cell: ``grade_id``, ``score``, ``max_score``, ``passed``,
    ``feedback``, ``output``), ``cell_errors``, ``flags``, ``printed``,
    ``sandbox`` and ``seconds``.  ``sandboxed=False`` (a student's own
    check where no sandbox exists) runs the answer cells in this process.
    ``prewarm`` (a batch) starts the next notebook's sandbox ahead of time.
    """
    started = time.monotonic()
    parts = [Part(test.grade_id, test.points) for test in source.tests]
    result: dict[str, Any] = {"notebook": source.name, "status": "graded", "cell_errors": [], "flags": [],
                              "printed": "", "sandbox": ""}

    def finish(status: str | None = None, message: str = "") -> dict[str, Any]:
        if status:
            result["status"] = status
            for part in parts:
                if not part.passed and not part.feedback:
                    part.feedback = message
        result["parts"] = [asdict(part) for part in parts]
        result["score"] = float(sum(part.score for part in parts))
        result["max_score"] = source.max_points
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    if data is None:
        return finish("missing", "the notebook was not submitted")
    try:
        notebook = read_submission(data)
    except Unreadable as error:
        result["flags"] = [{"kind": "structure", "cell": "", "detail": f"notebook cannot be read: {error}"}]
        return finish("unreadable", f"the notebook could not be read: {error}")
    result["flags"] = [flag.as_dict() for flag in notebook_flags(notebook, source.notebook)]
    context = setup_context(source)
    deadline = time.monotonic() + limits.notebook_s
    if sandboxed:
        worker: _Worker | _InProcess = _Worker(context, solution_cells(notebook, source), limits, deadline, use_bwrap,
                                               allow_torch=needs_torch(source), prewarm=prewarm)
    else:
        worker = _InProcess(context, solution_cells(notebook, source), deadline)
    try:
        try:
            loaded = worker.start()
        except SandboxTimeout:
            return finish("timeout", f"the solution cells did not finish within the notebook's {limits.notebook_s:g} s")
        except (SandboxCrashed, SandboxError) as error:
            return finish("crashed", f"the solution cells stopped the sandboxed worker: {error}")
        result["sandbox"] = worker.mode
        result["cell_errors"] = loaded["errors"]
        restarts = 0
        for part, test in zip(parts, source.tests):
            if time.monotonic() >= worker.deadline:
                return finish("timeout", f"not graded: the notebook used up its {limits.notebook_s:g} s budget")
            if not worker.alive:
                restarts += 1
                if restarts > limits.restarts:
                    return finish("crashed", "not graded: the sandboxed worker kept dying")
                try:
                    worker.start()
                except SandboxError as error:
                    return finish("crashed", f"not graded: the sandboxed worker could not be restarted ({error})")
            namespace = dict(context.namespace)
            wanted = [name for name in _names_used(test.source) if name not in namespace and not hasattr(builtins, name)]
            try:
                namespace.update(worker.bindings(wanted))
            except StudentError as error:
                part.feedback = f"a variable of the solution cells could not be read: {error}"
                continue
            except SandboxError as error:
                part.feedback = f"the sandboxed worker failed: {error}"
                continue
            part.passed, part.feedback, part.output = _run_test(test.source, test.grade_id, namespace)
            part.score = part.max_score if part.passed else 0.0
        return finish()
    finally:
        worker.close()
        result["printed"] = worker.printed[:FEEDBACK_CHARS]


__all__ = ["Limits", "Part", "SetupContext", "close_spares", "grade_notebook", "setup_context"]
