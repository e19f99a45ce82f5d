"""The process inside the sandbox: runs the student's solution cells and answers the grader's requests.

Requests arrive on stdin and replies leave on stdout as
:mod:`messages` dataclasses (the table of requests and replies is there),
framed by :mod:`protocol`.  Each request type has one handler in
:data:`OPERATIONS`.  Before any student code runs, the worker keeps a private
copy of the reply pipe and points file descriptor 1 at stderr, and replaces
``sys.stdout``/``sys.stderr`` with capped buffers, so nothing the student
prints can corrupt the protocol; what was printed comes back, capped, in the
reply's ``output``.  ``sys.stdin`` is emptied.

A result (or part of one) that cannot be sent as plain data, such as an
instance of a student's class or a namedtuple used as a backward cache, stays
in the worker and is replaced by a :class:`protocol.Handle`; a handle sent
back as an argument is replaced by its object.  An argument may name one of
the grader's test functions (``protocol.NamedFunction``), looked up in
:mod:`test_functions`.  Generators arrive as their state and the reply carries
every Generator's advanced state.

This file imports only numpy and the standard library; inside the sandbox it
is imported as the top-level module ``worker``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

if __package__:
    from dlcourse.sandbox import messages, protocol, provided, seccomp, test_functions, torch_observe
    from dlcourse.sandbox.messages import Failure, Instance, Loaded, Reply, Value
    from dlcourse.sandbox.purity import changed_path, snapshot
else:  # inside the sandbox: the modules sit side by side, dlcourse is absent
    import messages  # type: ignore[no-redef]
    import protocol  # type: ignore[no-redef]
    import provided  # type: ignore[no-redef]
    import seccomp  # type: ignore[no-redef]
    import test_functions  # type: ignore[no-redef]
    import torch_observe  # type: ignore[no-redef]
    from messages import Failure, Instance, Loaded, Reply, Value  # type: ignore[no-redef]
    from purity import changed_path, snapshot  # type: ignore[no-redef]

_OWN_MODULES = ("worker", "protocol", "messages", "provided", "test_functions", "torch_observe", "purity",
                "seccomp")
STUDENT_FILENAME_PREFIX = "<solution cell "
MAX_ITEMS = 100_000  # largest list a generator's result is materialized into


class _Timeout(BaseException):
    """Raised in student code that ran past its time limit (BaseException: `except Exception` does not catch it)."""

    def __init__(self, limit: float) -> None:
        super().__init__(limit)
        self.limit = limit


class _Refused(Exception):
    """The call finished but its result is refused (an input modified in place, nothing to iterate)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


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
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if frame.filename.startswith(STUDENT_FILENAME_PREFIX)]
    return "".join(traceback.format_list(frames[-3:]))


def _resolve(value: Any, handles: dict[int, Any]) -> Any:
    """Replace ``NamedFunction`` markers by the grader's test function, handles by the objects they stand for."""
    if isinstance(value, protocol.NamedFunction):
        if value.name not in test_functions.TEST_FUNCTIONS:
            raise protocol.ProtocolError(f"unknown grader function {value.name!r}")
        return test_functions.TEST_FUNCTIONS[value.name]
    if isinstance(value, protocol.Handle):
        if value.number not in handles:
            raise protocol.ProtocolError(f"no object with handle {value.number}")
        return handles[value.number]
    if isinstance(value, list):
        return [_resolve(item, handles) for item in value]
    if type(value) is tuple:
        return tuple(_resolve(item, handles) for item in value)
    if isinstance(value, dict):
        return {key: _resolve(item, handles) for key, item in value.items()}
    return value


# How a call's result is shaped inside the timed call (a generator's body runs only when it is iterated).

def _as_is(result: Any) -> Any:
    return result


def _iterators_listed(result: Any) -> Any:
    if isinstance(result, Iterator) and not isinstance(result, (list, tuple, dict, str, np.ndarray)):
        return _take(result)
    return result


def _listed(result: Any) -> Any:
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        text = repr(result)
        shown = text[:80] + "..." if len(text) > 80 else text
        raise _Refused(Failure("not_iterable", f"{type(result).__name__} {shown}"))
    return _take(result)


def _take(iterable: Iterable) -> list:
    items = []
    for item in iterable:
        if len(items) >= MAX_ITEMS:
            raise RuntimeError(f"the result yielded more than {MAX_ITEMS} items")
        items.append(item)
    return items


def _timed(limit: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` stopped by a timer signal after ``limit`` seconds (0: no limit)."""
    if limit <= 0:
        return fn()

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Timeout(limit)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Trial:
    """The parts of a grading trial an observation reads."""

    def __init__(self, label: str, args: list, extra: dict[str, Any]) -> None:
        self.label, self.args, self.extra = label, args, extra


class Worker:
    """The solution cells' namespace, the objects kept for the grader (by handle), and the captured output."""

    def __init__(self, max_output_chars: int) -> None:
        self.namespace: dict[str, Any] = {"__name__": "__student__", "__builtins__": builtins}
        self.handles: dict[int, Any] = {}
        self.next_handle = 1
        self.output = CappedText(max_output_chars)

    def handle(self, request: messages.Request) -> Reply:
        """The reply to one request; the student's errors become Failures, never exceptions."""
        try:
            return OPERATIONS[type(request)](self, request)
        except _Timeout as timeout:
            return Failure("timeout", f"did not finish within {timeout.limit:g} s")
        except _Refused as refused:
            return refused.failure
        except protocol.ProtocolError as error:
            return Failure("protocol", str(error))
        except SystemExit as exc:  # exit() in a solution must not end the worker
            return Failure("exception", f"the code called exit() or sys.exit({exc.code!r}); a solution must not end "
                           f"the program", exception="SystemExit", traceback=_student_traceback(exc))
        except MemoryError as exc:
            return Failure("exception", str(exc) or "out of memory", exception="MemoryError",
                           traceback=_student_traceback(exc))
        except Exception as exc:  # the student's error (RecursionError too), reported as feedback
            return Failure("exception", str(exc), exception=type(exc).__name__, traceback=_student_traceback(exc))

    # ---------------------------------------------------------- operations (see OPERATIONS)

    def ping(self, request: messages.Ping) -> Reply:
        return Value(None)

    def provide(self, request: messages.Provide) -> Reply:
        missing = []
        for alias, module in request.modules.items():
            try:
                self.namespace[alias] = __import__(module, fromlist=["_"])
            except ImportError:
                missing.append(module)
        self.namespace.update(request.values)
        for name, helper in request.helpers.items():
            if helper not in provided.HELPERS:
                raise protocol.ProtocolError(f"unknown helper {helper!r}")
            self.namespace[name] = provided.HELPERS[helper]
        for name, spec in request.returns.items():
            self.namespace[name] = provided.returning(name, spec)
        return Value(missing)

    def load_cells(self, request: messages.LoadCells) -> Reply:
        errors = []
        for label, source in request.cells:
            try:
                code = compile(source, f"{STUDENT_FILENAME_PREFIX}{label}>", "exec")
                _timed(request.time_limit, lambda code=code: exec(code, self.namespace))
            except _Timeout:
                errors.append({"cell": label, "type": "Timeout",
                               "message": f"the cell did not finish within {request.time_limit:g} s"})
            except (Exception, SystemExit) as exc:  # the student's error; the next cell still runs
                errors.append({"cell": label, "type": type(exc).__name__, "message": str(exc)[:2000],
                               "traceback": _student_traceback(exc)})
        functions, classes, names = [], [], []
        for key, value in self.namespace.items():
            if key.startswith("__"):
                continue
            (classes if isinstance(value, type) else functions if callable(value) else names).append(key)
        return Loaded(sorted(functions), sorted(classes), sorted(names), errors)

    def get(self, request: messages.Get) -> Reply:
        return Value({name: self._keep(self.namespace[name]) for name in request.names if name in self.namespace})

    def call(self, request: messages.Call) -> Reply:
        shape = _listed if request.as_list else _iterators_listed
        return Value(self._keep(self._invoke(self._lookup(request.name), request, shape)))

    def construct(self, request: messages.Construct) -> Reply:
        instance = self._invoke(self._lookup(request.name), request, _as_is)
        handle = self._kept(instance)
        methods = sorted(name for name in dir(type(instance))
                         if not name.startswith("_") and callable(getattr(instance, name, None)))
        return Instance(handle.number, type(instance).__name__, methods)

    def method(self, request: messages.Method) -> Reply:
        if request.handle not in self.handles:
            raise protocol.ProtocolError(f"no object with handle {request.handle}")
        method = getattr(self.handles[request.handle], request.method, None)
        if not callable(method):
            return Failure("missing", f"method {request.method!r} is missing")
        return Value(self._keep(self._invoke(method, request, _iterators_listed)))

    def observe(self, request: messages.Observe) -> Reply:
        """Run a torch observation on the student's function; reply its observables."""
        if request.observer not in torch_observe.OBSERVERS:
            raise protocol.ProtocolError(f"unknown observation {request.observer!r}")
        observer = torch_observe.OBSERVERS[request.observer]
        function = self._lookup(request.name)
        trial = _Trial(request.label, list(request.args), request.extra)

        def call(role: str, args: Any = (), kwargs: dict[str, Any] | None = None) -> Any:
            return _timed(request.time_limit, lambda: function(*(value for _, value in args), **(kwargs or {})))

        try:
            return Value(observer(call, trial))
        except torch_observe.ObservationError as error:
            return Failure("observation", str(error))

    def release(self, request: messages.Release) -> Reply:
        self.handles.pop(request.handle, None)
        return Value(None)

    # ---------------------------------------------------------- helpers

    def _lookup(self, name: str) -> Any:
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined in the solution cells")
        return self.namespace[name]

    def _invoke(self, fn: Any, request: messages.Invocation, shape: Callable[[Any], Any]) -> Any:
        """``shape(fn(*args, **kwargs))`` within the request's time limit; _Refused if ``pure`` and an input changed."""
        args = _resolve(request.args, self.handles)
        kwargs = _resolve(request.kwargs, self.handles)
        before = snapshot((args, kwargs)) if request.pure else None
        result = _timed(request.time_limit, lambda: shape(fn(*args, **kwargs)))
        if request.pure:
            names = request.arg_names or [f"argument {i + 1}" for i in range(len(args))]
            for name, value, old in zip(names, args, before[0], strict=False):  # arg_names may name fewer
                path = changed_path(old, value, name)
                if path:
                    raise _Refused(Failure("impure", f"modified its input {path} in place", path=path))
            for name, value in kwargs.items():
                path = changed_path(before[1][name], value, name)
                if path:
                    raise _Refused(Failure("impure", f"modified its keyword argument {path} in place", path=path))
        return result

    def _kept(self, value: Any) -> protocol.Handle:
        number = self.next_handle
        self.handles[number] = value
        self.next_handle += 1
        return protocol.Handle(number, type(value).__name__)

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
        return self._kept(value)


# One handler per request type (the requests are listed in messages.REQUESTS).
OPERATIONS: dict[type, Callable[[Worker, Any], Reply]] = {
    messages.Ping: Worker.ping,
    messages.Provide: Worker.provide,
    messages.LoadCells: Worker.load_cells,
    messages.Call: Worker.call,
    messages.Construct: Worker.construct,
    messages.Method: Worker.method,
    messages.Observe: Worker.observe,
    messages.Get: Worker.get,
    messages.Release: Worker.release,
}


def _reap() -> None:
    """Kill every other process of this PID namespace (only ever called inside bwrap's own namespace)."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)  # kill(-1) spares the caller and the namespace's init
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
    options = dict(zip(argv[::2], argv[1::2], strict=False))  # flags without a value (--reap) fall off the end
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
    # before any student code: no namespaces of its own (the filter also binds every process it starts); fails
    # closed, as a worker that cannot start, where the kernel refuses the filter
    seccomp.forbid_new_namespaces()
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
            request, generators = messages.decode_request(parts)
            reply = worker.handle(request)
        except protocol.ProtocolError as error:
            reply = Failure("protocol", str(error))
        output = worker.output.take()
        if "--reap" in argv:
            _reap()
        replies.write(messages.encode_reply(reply, output, generators, max_bytes))
        replies.flush()


__all__ = ["OPERATIONS", "CappedText", "Worker", "main"]

if __name__ == "__main__":
    main()
