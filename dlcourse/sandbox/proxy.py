"""Proxies that let the grader's checks call functions living in the sandboxed worker.

:func:`remote_functions` gives one :class:`RemoteFunction` per student
function; they are ordinary callables, so ``run_check(target, functions)``
runs unchanged: its ``Caller``/``guarded_call`` call them as if they were
local.  A proxy call switches off the guard's profile hook while it waits
for the worker (the student's code is not in this process, and the hook
would otherwise flag the proxy's own ``dlcourse.sandbox`` frames as
forbidden) and puts it back before returning.  Purity and the per-call time
limit are checked inside the worker; forbidden modules cannot be imported
there at all (bwrap mode).

:class:`RemoteCaller` has ``Caller``'s interface (``__call__(role, args,
kwargs)``, ``trusted``, ``target``, ``functions``) and reports failures as
:class:`GradingError` with the same wording as the in-process guard, for a
grader that builds its callers itself.

A class (a backprop gate) is proxied by a :class:`RemoteFunction` whose call
constructs the object in the worker and returns a :class:`RemoteObject`
whose methods are remote calls on that instance.  A generator result is
materialized into a list inside the worker (``call_listed``).  An argument
that is one of the grader's test functions
(``dlcourse.grading.topics.gradcheck.TEST_FUNCTIONS``) is sent by name.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

from dlcourse.grading._guard import grader_code
from dlcourse.grading._report import GradingError
from dlcourse.sandbox.launcher import Sandbox, SandboxCrashed, SandboxError, SandboxTimeout, StudentError
from dlcourse.sandbox.protocol import NamedFunction

_TIMEOUT_MARGIN_S = 2.0  # the worker reports its own time limit; the hard kill comes this much later


@functools.lru_cache(maxsize=1)
def _grader_functions() -> dict[int, str]:
    from dlcourse.grading.topics.gradcheck import TEST_FUNCTIONS

    return {id(fn): name for name, fn in TEST_FUNCTIONS.items()}


def _ship(value: Any, known: dict[int, str]) -> Any:
    """``value`` with the grader's test functions replaced by their names."""
    if callable(value) and id(value) in known:
        return NamedFunction(known[id(value)])
    if type(value) is list:
        return [_ship(item, known) for item in value]
    if type(value) is tuple:
        return tuple(_ship(item, known) for item in value)
    if type(value) is dict:
        return {key: _ship(item, known) for key, item in value.items()}
    return value


def feedback(name: str, error: SandboxError, time_limit: float | None) -> GradingError:
    """The GradingError a student sees, worded as :func:`dlcourse.grading._guard.guarded_call` words it."""
    if isinstance(error, StudentError):
        if error.kind == "exception":
            where = f"  where it happened:\n{error.traceback}" if error.traceback else ""
            return GradingError(f"{name} raised {error.type}: {error.detail}\n{where}")
        if error.kind == "timeout":
            error = SandboxTimeout(str(error))
        elif error.kind == "impure":
            return GradingError(
                f"{name} {error.detail}. The function must be pure: leave the inputs untouched and return new arrays "
                f"(write `theta = theta - step`, not `theta -= step`; copy an array before changing it)."
            )
        else:
            return GradingError(f"{name}: {error.detail}")
    if isinstance(error, SandboxTimeout):
        limit = f"{time_limit:g} s" if time_limit else "the time limit"
        return GradingError(
            f"{name} did not finish within {limit} and was stopped. Look for a loop that never ends (a while loop "
            f"whose condition never changes) or work that grows with every call."
        )
    if isinstance(error, SandboxCrashed):
        return GradingError(f"{name} stopped the grading process: {error}. Do not call exit(), sys.exit() or "
                            f"os._exit() in a solution, and keep memory use reasonable.")
    return GradingError(f"{name} could not be graded: {error}")


class _Remote:
    """What every proxy shares: the sandbox, the guard settings, and how to make one request."""

    def __init__(self, sandbox: Sandbox, name: str, pure: bool = True, time_limit: float | None = None) -> None:
        self.sandbox = sandbox
        self.name = name  # in the worker's namespace
        self.label = name  # in feedback
        self.__name__ = name
        self.pure = pure
        self.time_limit = time_limit

    def _request(self, message: dict[str, Any], args: Sequence[Any], kwargs: dict[str, Any],
                 arg_names: Sequence[str] | None = None) -> Any:
        known = _grader_functions()
        message.update(args=_ship(list(args), known), kwargs=_ship(dict(kwargs), known), pure=self.pure)
        if arg_names is not None:
            message["arg_names"] = list(arg_names)
        wall = None
        if self.time_limit:
            message["time_limit"] = self.time_limit
            wall = self.time_limit + _TIMEOUT_MARGIN_S
        try:
            reply = self.sandbox.request(message, wall)
        except BaseException:
            # interrupted mid-request (the guard's own timer, Ctrl-C): the pipe is out of step, stop the worker
            if self.sandbox.alive and sys.exc_info()[0] is not None and not isinstance(sys.exc_info()[1], SandboxError):
                self.sandbox.kill()
            raise
        if "error" in reply:
            raise StudentError(reply)
        if reply.get("missing"):
            raise StudentError({"error": "missing", "message": f"method {message.get('method')!r} is missing"})
        return reply

    def _call_remote(self, message: dict[str, Any], args: Sequence[Any], kwargs: dict[str, Any],
                     arg_names: Sequence[str] | None = None) -> Any:
        try:
            return self._request(message, args, kwargs, arg_names)
        except SandboxError as error:
            raise feedback(self.label, error, self.time_limit) from None


class RemoteObject:
    """An instance living in the worker; its methods are remote calls (see :func:`_object_class`)."""

    def __init__(self, sandbox: Sandbox, handle: int, type_name: str, methods: Sequence[str],
                 pure: bool, time_limit: float | None) -> None:
        self._sandbox, self._handle, self._type_name = sandbox, handle, type_name
        self._methods = set(methods)
        self._pure, self._time_limit = pure, time_limit

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_") or method not in self.__dict__.get("_methods", ()):
            raise AttributeError(method)
        return RemoteMethod(self, method)

    def __repr__(self) -> str:
        return f"<{self._type_name} object in the sandbox, handle {self._handle}>"


def _object_class(type_name: str) -> type:
    """A RemoteObject subclass named like the student's class, so feedback says ``MultiplyGate.forward``."""
    return type(type_name if type_name.isidentifier() else "RemoteObject", (RemoteObject,), {})


class _GuardedRemote:
    """``remote_call``: how :func:`dlcourse.grading._guard.guarded_call` calls a proxy.

    The guard's own checks cannot see into the worker, so it hands over the
    call with the target's settings: the worker checks purity and the time
    limit, and failures come back as the guard's GradingError wording with
    the role name.
    """

    @grader_code
    def remote_call(self, role: str, args: Sequence[tuple[str, Any]], kwargs: dict[str, Any] | None,
                    pure: bool, time_limit: float | None) -> Any:
        profile = sys.getprofile()
        sys.setprofile(None)
        saved = (self.label, self.pure, self.time_limit)
        self.label, self.pure, self.time_limit = role, pure, time_limit
        try:
            return self.call_named([name for name, _ in args], [value for _, value in args], dict(kwargs or {}))
        finally:
            self.label, self.pure, self.time_limit = saved
            sys.setprofile(profile)


class RemoteMethod(_Remote, _GuardedRemote):
    def __init__(self, obj: RemoteObject, method: str) -> None:
        super().__init__(obj._sandbox, f"{obj._type_name}.{method}", obj._pure, obj._time_limit)
        self.handle, self.method = obj._handle, method

    def call_named(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        message = {"op": "method", "handle": self.handle, "method": self.method}
        return self._call_remote(message, args, kwargs, arg_names)["value"]

    @grader_code
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        profile = sys.getprofile()
        sys.setprofile(None)  # first thing: the guard's hook must not see this process's grader frames
        try:
            reply = self._call_remote({"op": "method", "handle": self.handle, "method": self.method}, args, kwargs)
        finally:
            sys.setprofile(profile)
        return reply["value"]


class RemoteFunction(_Remote, _GuardedRemote):
    """A student function (or class) in the worker, callable from the grader."""

    def __init__(self, sandbox: Sandbox, name: str, pure: bool = True, time_limit: float | None = None,
                 is_class: bool = False) -> None:
        super().__init__(sandbox, name, pure, time_limit)
        self.is_class = is_class

    @grader_code
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        profile = sys.getprofile()
        sys.setprofile(None)  # first thing: the guard's hook must not see this process's grader frames
        try:
            return self.call_named(None, args, kwargs)
        finally:
            sys.setprofile(profile)

    def call_named(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """The call, with the argument names used in messages about modified inputs."""
        if self.is_class:
            reply = self._call_remote({"op": "construct", "name": self.name}, args, kwargs, arg_names)
            info = reply["value"]
            return _object_class(info["type_name"])(self.sandbox, info["handle"], info["type_name"],
                                                     info.get("methods", ()), self.pure, self.time_limit)
        return self._call_remote({"op": "call", "name": self.name}, args, kwargs, arg_names)["value"]

    @grader_code
    def remote_observe(self, observer: str, role: str, trial: Any, pure: bool = True,
                       time_limit: float | None = None) -> dict[str, Any]:
        """A torch observation (``dlcourse.sandbox.torch_observe``) run in the worker on this function.

        Only the observables (numbers, arrays) come back; the sandbox must
        have been started with ``allow_torch=True``.
        """
        profile = sys.getprofile()
        sys.setprofile(None)
        message = {"op": "observe", "observer": observer, "name": self.name, "label": trial.label,
                   "args": [list(pair) for pair in trial.args], "extra": trial.extra, "time_limit": time_limit or 0}
        calls = len(trial.extra.get("batches", ())) or 1
        try:
            reply = self.sandbox.request(message, (time_limit or self.sandbox.timeout_s) * (calls + 1) + _TIMEOUT_MARGIN_S)
            if reply.get("error") == "observation":
                raise GradingError(reply.get("message", ""))
            if "error" in reply:
                raise StudentError(reply)
            return reply["value"]
        except SandboxError as error:
            raise feedback(role, error, time_limit) from None
        finally:
            sys.setprofile(profile)

    def listed(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> list:
        """``list(function(...))`` materialized in the worker; GradingError if the result is not iterable."""
        reply = self._call_remote({"op": "call_listed", "name": self.name}, args, kwargs, arg_names)
        if "not_iterable" in reply:
            raise GradingError(
                f"{self.label} should yield the batches (X_batch, y_batch) (write a generator with `yield`, or return "
                f"a list of pairs), but it returned {reply['not_iterable']}"
            )
        return reply["value"]


def remote_functions(sandbox: Sandbox, names: Sequence[str], target: Any = None,
                     classes: Sequence[str] = (), labels: Sequence[str] | None = None) -> list[RemoteFunction]:
    """One proxy per name, with ``target``'s purity and time limit (or pure, the sandbox's limit).

    ``labels`` (default: the names) are what feedback calls the functions, e.g. the target's roles.
    """
    pure = True if target is None else target.pure
    limit = None if target is None else target.time_limit
    proxies = []
    for name, label in zip(names, labels or names):
        proxy = RemoteFunction(sandbox, name, pure, limit, is_class=name in classes)
        proxy.label = label
        proxies.append(proxy)
    return proxies


class RemoteCaller:
    """``dlcourse.grading._core.Caller`` for functions in the sandbox.

    ``RemoteCaller(sandbox, names, roles, target)``: ``names`` are the
    functions' names in the solution cells, in the order of ``roles``.
    Student code is always untrusted, so ``target`` is required.
    """

    def __init__(self, sandbox: Sandbox, names: Sequence[str], roles: Sequence[str], target: Any,
                 classes: Sequence[str] = ()) -> None:
        self.sandbox = sandbox
        self.target = target
        self.functions = dict(zip(roles, remote_functions(sandbox, names, target, classes, labels=roles)))

    @property
    def trusted(self) -> bool:
        return False

    def __call__(self, role: str, args: Sequence[tuple[str, Any]] = (), kwargs: dict[str, Any] | None = None) -> Any:
        function = self.functions[role]
        return function.call_named([name for name, _ in args], [value for _, value in args], dict(kwargs or {}))

    def call_listed(self, role: str, args: Sequence[tuple[str, Any]] = (), kwargs: dict[str, Any] | None = None) -> list:
        function = self.functions[role]
        return function.listed([name for name, _ in args], [value for _, value in args], dict(kwargs or {}))


__all__ = ["RemoteCaller", "RemoteFunction", "RemoteMethod", "RemoteObject", "remote_functions", "feedback"]
