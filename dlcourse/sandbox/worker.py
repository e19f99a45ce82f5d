"""The process inside the sandbox: runs the student's solution cells and answers calls.

Requests arrive on stdin and replies leave on stdout as :mod:`protocol`
messages.  Before any student code runs, the worker keeps a private copy of
the reply pipe and points file descriptor 1 at stderr, and replaces
``sys.stdout``/``sys.stderr`` with capped buffers, so nothing the student
prints can corrupt the protocol; what was printed comes back, capped, in the
reply's ``output``.  ``sys.stdin`` is emptied.

Operations (``op`` of the request):

* ``load``: ``cells`` (list of source strings) executed in order in one fresh
  namespace; replies with the names of the callables defined.
* ``call``: ``name``, ``args``, ``kwargs``, optional ``arg_names``, ``pure``,
  ``time_limit``; the result, or the student's error with the traceback
  lines in the student's cells.  A result that is an iterator (a generator)
  is materialized into a list inside the call (capped at ``max_items``).
* ``call_listed``: like ``call`` but always ``list(result)`` (capped); a
  result that is not iterable comes back as ``not_iterable``.
* ``construct``: ``name`` (a class), ``args``, ``kwargs`` -> ``handle``.
* ``method``: ``handle``, ``method``, ``args``, ``kwargs`` -> result.
* ``release``: forget a handle.  ``ping``: nothing.
* ``provide``: names the instructor's setup cells define, made available to
  the solution cells: ``modules`` (``{alias: module}``, imported here, so only
  numpy and the standard library work), ``values`` (plain data), ``helpers``
  (``{name: helper}`` from :mod:`provided`, e.g. a numpy ``erf``) and
  ``returns`` (``{name: value}``: a function of no arguments returning a copy
  of value, e.g. the course's fixed data split).
* ``load_cells``: ``cells`` (``[{"label", "source"}]``) each executed on its
  own, in order, in the one namespace; an error in one cell is recorded and
  the next cell still runs (as in a notebook run with errors allowed).  Replies
  with ``functions``, ``classes``, ``names`` (every other global) and
  ``errors`` (``[{"cell", "type", "message", "traceback"}]``).
* ``get``: ``names`` -> ``{name: value}`` for globals of the solution cells
  (values that cannot be sent come back as handles).

A result (or part of one) that cannot be sent as plain data, such as an
instance of a student's class or a namedtuple used as a backward cache, stays
in the worker and is replaced by a :class:`protocol.Handle`; a handle sent
back as an argument is replaced by its object.

Arguments may name one of the grader's test functions (``{"__function__":
name}``), looked up in :mod:`test_functions`.  Generators arrive as their
state and the reply carries every Generator's advanced state in
``rng_states``.

This file imports only numpy and the standard library; inside the sandbox it
is imported as the top-level module ``worker``.
"""

from __future__ import annotations

import builtins
import io
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

if __package__:
    from dlcourse.sandbox import protocol, provided, test_functions, torch_observe
    from dlcourse.sandbox.purity import changed_path, snapshot
else:  # inside the sandbox: the modules sit side by side, dlcourse is absent
    import protocol  # type: ignore[no-redef]
    import provided  # type: ignore[no-redef]
    import test_functions  # type: ignore[no-redef]
    import torch_observe  # type: ignore[no-redef]
    from purity import changed_path, snapshot  # type: ignore[no-redef]

_OWN_MODULES = ("worker", "protocol", "provided", "test_functions", "torch_observe", "purity")

import numpy as np

STUDENT_FILENAME_PREFIX = "<solution cell "
DEFAULT_MAX_ITEMS = 100_000


class _Timeout(BaseException):
    """Raised in student code that ran past its time limit (BaseException: `except Exception` does not catch it)."""


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output were dropped]"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text


def _student_traceback(exc: BaseException) -> str:
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename.startswith(STUDENT_FILENAME_PREFIX)]
    return "".join(traceback.format_list(frames[-3:]))


def _resolve_functions(value: Any, handles: dict[int, Any] | None = None) -> Any:
    """Replace ``NamedFunction`` markers by the worker's copy of the grader's test function, handles by their objects."""
    if isinstance(value, protocol.NamedFunction):
        if value.name not in test_functions.TEST_FUNCTIONS:
            raise protocol.ProtocolError(f"unknown grader function {value.name!r}")
        return test_functions.TEST_FUNCTIONS[value.name]
    if isinstance(value, protocol.Handle):
        if handles is None or value.number not in handles:
            raise protocol.ProtocolError(f"no object with handle {value.number}")
        return handles[value.number]
    if isinstance(value, list):
        return [_resolve_functions(item, handles) for item in value]
    if type(value) is tuple:
        return tuple(_resolve_functions(item, handles) for item in value)
    if isinstance(value, dict):
        return {key: _resolve_functions(item, handles) for key, item in value.items()}
    return value


class Worker:
    def __init__(self, max_output_chars: int) -> None:
        self.namespace: dict[str, Any] = {"__name__": "__student__", "__builtins__": builtins}
        self.handles: dict[int, Any] = {}
        self.next_handle = 1
        self.output = CappedText(max_output_chars)

    # ---------------------------------------------------------- operations

    def op_ping(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"value": None}

    def op_provide(self, request: dict[str, Any]) -> dict[str, Any]:
        missing = []
        for alias, module in request.get("modules", {}).items():
            try:
                self.namespace[alias] = __import__(module, fromlist=["_"])
            except ImportError:
                missing.append(module)
        self.namespace.update(request.get("values", {}))
        for name, helper in request.get("helpers", {}).items():
            if helper not in provided.HELPERS:
                raise protocol.ProtocolError(f"unknown helper {helper!r}")
            self.namespace[name] = provided.HELPERS[helper]
        for name, value in request.get("returns", {}).items():
            self.namespace[name] = provided.returning(name, value)
        return {"value": {"missing_modules": missing}}

    def op_load_cells(self, request: dict[str, Any]) -> dict[str, Any]:
        errors = []
        for cell in request["cells"]:
            label = str(cell["label"])
            try:
                code = compile(str(cell["source"]), f"{STUDENT_FILENAME_PREFIX}{label}>", "exec")
                self._timed(request, lambda: exec(code, self.namespace))
            except _Timeout:
                errors.append({"cell": label, "type": "Timeout",
                               "message": f"the cell did not finish within {request.get('time_limit'):g} s"})
            except (Exception, SystemExit) as exc:  # the student's error; the next cell still runs
                errors.append({"cell": label, "type": type(exc).__name__, "message": str(exc)[:2000],
                               "traceback": _student_traceback(exc)})
        functions, classes, names = [], [], []
        for key, value in self.namespace.items():
            if key.startswith("__"):
                continue
            (classes if isinstance(value, type) else functions if callable(value) else names).append(key)
        return {"value": {"functions": sorted(functions), "classes": sorted(classes), "names": sorted(names),
                          "errors": errors}}

    def op_get(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"value": {name: self._keep(self.namespace[name]) for name in request["names"] if name in self.namespace}}

    def op_observe(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a torch observation (``torch_observe.OBSERVERS``) on the student's function; reply its observables."""
        observer = torch_observe.OBSERVERS[request["observer"]]
        function = self._lookup(request["name"])
        trial = _Trial(request.get("label", ""), [tuple(pair) for pair in request.get("args", [])],
                       request.get("extra") or {})

        def call(role: str, args: Any = (), kwargs: dict[str, Any] | None = None) -> Any:
            return self._timed(request, lambda: function(*(value for _, value in args), **(kwargs or {})))

        try:
            return {"value": observer(call, trial)}
        except torch_observe.ObservationError as error:
            return {"error": "observation", "message": str(error)}

    def op_load(self, request: dict[str, Any]) -> dict[str, Any]:
        for index, source in enumerate(request["cells"]):
            code = compile(source, f"{STUDENT_FILENAME_PREFIX}{index}>", "exec")
            self._timed(request, lambda: exec(code, self.namespace))
        names = sorted(k for k, v in self.namespace.items() if callable(v) and not k.startswith("__"))
        return {"value": names}

    def _lookup(self, name: str) -> Any:
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined in the solution cells")
        return self.namespace[name]

    def op_call(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._invoke(self._lookup(request["name"]), request)

    def op_call_listed(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._invoke(self._lookup(request["name"]), request, listed=True)

    def op_method(self, request: dict[str, Any]) -> dict[str, Any]:
        handle = request["handle"]
        if handle not in self.handles:
            raise KeyError(f"no object with handle {handle}")
        method = getattr(self.handles[handle], request["method"], None)
        if not callable(method):
            return {"missing": True}
        return self._invoke(method, request)

    def op_construct(self, request: dict[str, Any]) -> dict[str, Any]:
        reply = self._invoke(self._lookup(request["name"]), request, keep=True)
        if "error" in reply:
            return reply
        obj = reply.pop("value")
        self.handles[self.next_handle] = obj
        methods = sorted(name for name in dir(type(obj)) if not name.startswith("_") and callable(getattr(obj, name, None)))
        reply["value"] = {"handle": self.next_handle, "type_name": type(obj).__name__, "methods": methods}
        self.next_handle += 1
        return reply

    def op_release(self, request: dict[str, Any]) -> dict[str, Any]:
        self.handles.pop(request["handle"], None)
        return {"value": None}

    # ---------------------------------------------------------- helpers

    def _timed(self, request: dict[str, Any], fn: Any) -> Any:
        limit = float(request.get("time_limit") or 0)
        if limit <= 0:
            return fn()

        def on_alarm(signum: int, frame: Any) -> None:
            raise _Timeout

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _keep(self, value: Any, depth: int = 0) -> Any:
        """``value`` with every part that cannot be sent replaced by a handle to it."""
        if protocol.sendable(value):
            return value
        if depth < protocol.MAX_DEPTH:
            if type(value) is list:
                return [self._keep(item, depth + 1) for item in value]
            if type(value) is tuple:
                return tuple(self._keep(item, depth + 1) for item in value)
            if type(value) is dict and all(isinstance(key, str) for key in value):
                return {key: self._keep(item, depth + 1) for key, item in value.items()}
        number = self.next_handle
        self.handles[number] = value
        self.next_handle += 1
        return protocol.Handle(number, type(value).__name__)

    def _invoke(self, fn: Any, request: dict[str, Any], listed: bool = False, keep: bool = False) -> dict[str, Any]:
        args = _resolve_functions(request.get("args", []), self.handles)
        kwargs = _resolve_functions(request.get("kwargs", {}), self.handles)
        names = request.get("arg_names") or [f"argument {i + 1}" for i in range(len(args))]
        pure = request.get("pure", False)
        before = snapshot((args, kwargs)) if pure else None
        max_items = int(request.get("max_items", DEFAULT_MAX_ITEMS))

        def run() -> Any:
            result = fn(*args, **kwargs)
            if keep:
                return result
            if listed:
                if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
                    return _NotIterable(result)
                return _take(result, max_items)
            if isinstance(result, Iterator) and not isinstance(result, (list, tuple, dict, str, np.ndarray)):
                return _take(result, max_items)
            return result

        result = self._timed(request, run)
        if pure:
            for name, value, old in zip(names, args, before[0]):
                path = changed_path(old, value, name)
                if path:
                    return {"error": "impure", "message": f"modified its input {path} in place", "path": path}
            for name, value in kwargs.items():
                path = changed_path(before[1][name], value, name)
                if path:
                    return {"error": "impure", "message": f"modified its keyword argument {path} in place", "path": path}
        if isinstance(result, _NotIterable):
            return {"value": None, "not_iterable": _describe(result.value)}
        return {"value": result if keep else self._keep(result)}

    # ---------------------------------------------------------- loop

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        method = getattr(self, f"op_{op}", None)
        if method is None:
            return {"error": "protocol", "message": f"unknown operation {op!r}"}
        try:
            return method(request)
        except _Timeout:
            return {"error": "timeout", "message": f"did not finish within {request.get('time_limit'):g} s"}
        except SystemExit as exc:  # exit() in a solution must not end the worker
            return {"error": "exception", "type": "SystemExit",
                    "message": f"the code called exit() or sys.exit({exc.code!r}); a solution must not end the program",
                    "traceback": _student_traceback(exc)}
        except RecursionError as exc:
            return {"error": "exception", "type": "RecursionError", "message": str(exc),
                    "traceback": _student_traceback(exc)}
        except MemoryError as exc:
            return {"error": "exception", "type": "MemoryError", "message": str(exc) or "out of memory",
                    "traceback": _student_traceback(exc)}
        except Exception as exc:  # the student's error, reported as feedback
            return {"error": "exception", "type": type(exc).__name__, "message": str(exc),
                    "traceback": _student_traceback(exc)}


class _Trial:
    """The parts of a grading trial an observation reads."""

    def __init__(self, label: str, args: list, extra: dict[str, Any]) -> None:
        self.label, self.args, self.extra = label, args, extra


class _NotIterable:
    def __init__(self, value: Any) -> None:
        self.value = value


def _take(iterable: Iterable, max_items: int) -> list:
    items = []
    for item in iterable:
        if len(items) >= max_items:
            raise RuntimeError(f"the result yielded more than {max_items} items")
        items.append(item)
    return items


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80] + '...' if len(text) > 80 else text}"


def _reply(out: Any, reply: dict[str, Any], generators: list, max_bytes: int) -> None:
    reply["rng_states"] = protocol.generator_states(generators)
    try:
        data, _ = protocol.encode_message(reply, max_bytes)
    except protocol.ProtocolError as error:
        data, _ = protocol.encode_message({"error": "result", "message": str(error), "output": reply.get("output", ""),
                                           "rng_states": reply["rng_states"]}, max_bytes)
    out.write(data)
    out.flush()


def _reap() -> None:
    """Kill every other process of this PID namespace (only ever called inside bwrap's own namespace)."""
    try:
        os.kill(-1, signal.SIGKILL)  # kill(-1) spares the caller and the namespace's init
    except OSError:
        pass
    deadline = time.monotonic() + 1.0
    try:  # collect our own killed children (a SIGKILLed process exits at once; bounded all the same)
        while time.monotonic() < deadline:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.001)
    except ChildProcessError:
        pass


def main(argv: list[str] | None = None) -> None:
    """Serve requests until stdin closes.  ``--drop-uid N`` switches to uid/gid N first (run as root in bwrap)."""
    try:
        _serve(argv)
    except BaseException:  # a worker bug (not student code): leave its traceback in the real stderr
        os.write(2, traceback.format_exc().encode(errors="replace"))
        os._exit(70)


def _serve(argv: list[str] | None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    options = dict(zip(argv[::2], argv[1::2]))
    if "--grader-path" in options:
        # The student's code gets neither an import path to these modules nor the loaded ones: patching the
        # worker or the torch observations would then take frame or gc walking, which the integrity report flags.
        while options["--grader-path"] in sys.path:
            sys.path.remove(options["--grader-path"])
        for name in _OWN_MODULES:
            sys.modules.pop(name, None)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # C-level writes to fd 1 go to stderr, never into the reply pipe
    os.close(devnull)
    if "--drop-uid" in options:
        uid = int(options["--drop-uid"])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    max_bytes = int(options.get("--max-message-bytes", protocol.DEFAULT_MAX_MESSAGE_BYTES))
    worker = Worker(int(options.get("--max-output-chars", 65536)))
    sys.stdin = io.StringIO("")
    sys.stdout = sys.stderr = worker.output
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    while True:
        try:
            parts = protocol.read_parts(requests, max_bytes)
        except protocol.PeerClosed:
            return
        generators: list = []
        try:
            request, generators = protocol.decode_message(parts)
            reply = worker.handle(request)
        except protocol.ProtocolError as error:
            reply = {"error": "protocol", "message": str(error)}
        reply["output"] = worker.output.take()
        if "--reap" in argv:
            _reap()
        _reply(replies, reply, generators, max_bytes)


__all__ = ["main", "Worker", "CappedText"]

if __name__ == "__main__":
    main()
