"""Proxies that let the grader's checks call functions living in the sandboxed worker.

:func:`remote_functions` gives one :class:`RemoteFunction` per student
function; they are ordinary callables, so ``run_check(target, functions)``
runs unchanged: its ``Caller``/``guarded_call`` call them as if they were
local.  A proxy call switches off the guard's profile hook while it waits
for the worker (the student's code is not in this process, and the hook
would otherwise flag the proxy's own ``dlcourse`` frames as forbidden) and
puts it back before returning.  Purity and the per-call time limit are
checked inside the worker; forbidden modules cannot be imported there at all
(bwrap mode).

:class:`RemoteCaller` has ``Caller``'s interface (``__call__(role, args,
kwargs)``, ``trusted``, ``target``, ``functions``) and reports failures as
:class:`GradingError` with the same wording as the in-process guard, for a
grader that builds its callers itself.

A class (a backprop gate) is proxied by a :class:`RemoteFunction` whose call
constructs the object in the worker and returns a :class:`RemoteObject`
whose methods are remote calls on that instance.  A generator result is
materialized into a list inside the worker.  An argument that is one of the
grader's test functions (:data:`dlcourse.sandbox.test_functions.TEST_FUNCTIONS`)
is sent by its name in that table.

The proxies join the two layers below them: the checks (``dlcourse.grading``:
the guard's ``grader_code``, ``GradingError``) and the sandbox.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from typing import Any

from dlcourse.grading._guard import MODIFIES_INPUT, PURE, grader_code
from dlcourse.grading._report import GradingError
from dlcourse.sandbox import Sandbox, SandboxCrashed, SandboxError, SandboxTimeout, StudentError
from dlcourse.sandbox.messages import Call, Construct, Failure, Invocation, Method, Observe, Reply
from dlcourse.sandbox.protocol import NamedFunction
from dlcourse.sandbox.test_functions import TEST_FUNCTIONS

_TIMEOUT_MARGIN_S = 2.0  # the worker reports its own time limit; the hard kill comes this much later
_SHIPPED_BY_NAME = {function: name for name, function in TEST_FUNCTIONS.items()}


def _ship(value: Any) -> Any:
    """``value`` with the grader's test functions replaced by their names in ``TEST_FUNCTIONS``."""
    if type(value) is types.FunctionType and value in _SHIPPED_BY_NAME:
        return NamedFunction(_SHIPPED_BY_NAME[value])
    if type(value) is list:
        return [_ship(item) for item in value]
    if type(value) is tuple:
        return tuple(_ship(item) for item in value)
    if type(value) is dict:
        return {key: _ship(item) for key, item in value.items()}
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
            return GradingError(f"{name} {error.detail}. {PURE}", mistake=MODIFIES_INPUT)
        elif error.kind == "not_iterable":
            return GradingError(
                f"{name} should yield the batches (X_batch, y_batch) (write a generator with `yield`, or return "
                f"a list of pairs), but it returned {error.detail}"
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

    def _invocation(self, args: Sequence[Any], kwargs: dict[str, Any],
                    arg_names: Sequence[str] | None) -> dict[str, Any]:
        """The :class:`Invocation` fields of a call with these arguments and this proxy's settings."""
        return {"args": _ship(list(args)), "kwargs": _ship(dict(kwargs)),
                "arg_names": None if arg_names is None else list(arg_names), "pure": self.pure,
                "time_limit": float(self.time_limit or 0.0)}

    def _ask(self, request: Invocation | Observe, wall: float | None) -> Reply:
        """The worker's reply; StudentError for a Failure."""
        try:
            reply = self.sandbox.request(request, wall)
        except BaseException as error:
            # interrupted mid-request (the guard's own timer, Ctrl-C): the pipe is out of step, stop the worker
            if self.sandbox.alive and not isinstance(error, SandboxError):
                self.sandbox.kill()
            raise
        if isinstance(reply, Failure):
            raise StudentError(reply)
        return reply

    def _call_remote(self, request: Invocation) -> Reply:
        """The reply to a call into student code; its failure as the GradingError the student sees."""
        wall = self.time_limit + _TIMEOUT_MARGIN_S if self.time_limit else None
        try:
            return self._ask(request, wall)
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
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A direct call (a test cell calling the student's function by name)."""
        profile = sys.getprofile()
        sys.setprofile(None)  # first thing: the guard's hook must not see this process's grader frames
        try:
            return self.call_named(None, args, kwargs)
        finally:
            sys.setprofile(profile)

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
    """A method of an instance kept in the worker, callable from the grader."""

    def __init__(self, obj: RemoteObject, method: str) -> None:
        super().__init__(obj._sandbox, f"{obj._type_name}.{method}", obj._pure, obj._time_limit)
        self.handle, self.method = obj._handle, method

    def call_named(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """The call, with the argument names used in messages about modified inputs."""
        request = Method(self.handle, self.method, **self._invocation(args, kwargs, arg_names))
        return self._call_remote(request).value


class RemoteFunction(_Remote, _GuardedRemote):
    """A student function (or class) in the worker, callable from the grader."""

    def __init__(self, sandbox: Sandbox, name: str, pure: bool = True, time_limit: float | None = None,
                 is_class: bool = False) -> None:
        super().__init__(sandbox, name, pure, time_limit)
        self.is_class = is_class

    def call_named(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """The call, with the argument names used in messages about modified inputs."""
        invocation = self._invocation(args, kwargs, arg_names)
        if self.is_class:
            instance = self._call_remote(Construct(self.name, **invocation))
            return _object_class(instance.type_name)(self.sandbox, instance.handle, instance.type_name,
                                                     instance.methods, self.pure, self.time_limit)
        return self._call_remote(Call(self.name, **invocation)).value

    def listed(self, arg_names: Sequence[str] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> list:
        """``list(function(...))`` materialized in the worker; GradingError if the result is not iterable."""
        return self._call_remote(Call(self.name, as_list=True, **self._invocation(args, kwargs, arg_names))).value

    @grader_code
    def remote_observe(self, observer: str, role: str, trial: Any, pure: bool = True,
                       time_limit: float | None = None) -> dict[str, Any]:
        """A torch observation (``dlcourse.sandbox.torch_observe``) run in the worker on this function.

        Only the observables (numbers, arrays) come back; the sandbox must
        have been started with ``allow_torch=True``.
        """
        profile = sys.getprofile()
        sys.setprofile(None)
        request = Observe(observer, self.name, trial.label, [tuple(pair) for pair in trial.args], trial.extra,
                          float(time_limit or 0.0))
        calls = len(trial.extra.get("batches", ())) or 1
        wall = (time_limit or self.sandbox.timeout_s) * (calls + 1) + _TIMEOUT_MARGIN_S
        try:
            return self._ask(request, wall).value
        except StudentError as error:
            if error.kind == "observation":
                raise GradingError(error.detail) from None
            raise feedback(role, error, time_limit) from None
        except SandboxError as error:
            raise feedback(role, error, time_limit) from None
        finally:
            sys.setprofile(profile)


def remote_functions(sandbox: Sandbox, names: Sequence[str], target: Any = None,
                     classes: Sequence[str] = (), labels: Sequence[str] | None = None) -> list[RemoteFunction]:
    """One proxy per name, with ``target``'s purity and time limit (or pure, the sandbox's limit).

    ``labels`` (default: the names) are what feedback calls the functions, e.g. the target's roles.
    """
    pure = True if target is None else target.pure
    limit = None if target is None else target.time_limit
    proxies = []
    for name, label in zip(names, labels or names, strict=True):
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
        self.functions = dict(zip(roles, remote_functions(sandbox, names, target, classes, labels=roles), strict=True))

    @property
    def trusted(self) -> bool:
        return False

    def __call__(self, role: str, args: Sequence[tuple[str, Any]] = (), kwargs: dict[str, Any] | None = None) -> Any:
        function = self.functions[role]
        return function.call_named([name for name, _ in args], [value for _, value in args], dict(kwargs or {}))

    def call_listed(self, role: str, args: Sequence[tuple[str, Any]] = (),
                    kwargs: dict[str, Any] | None = None) -> list:
        function = self.functions[role]
        return function.listed([name for name, _ in args], [value for _, value in args], dict(kwargs or {}))


__all__ = ["RemoteCaller", "RemoteFunction", "RemoteMethod", "RemoteObject", "feedback", "remote_functions"]
