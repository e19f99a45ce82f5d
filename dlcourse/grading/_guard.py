"""Calling student code under watch: purity, forbidden code, time limit.

Every call from a check into a student's function goes through
:func:`guarded_call`, and only with plain data (numpy arrays, Python numbers,
strings, and tuples/lists/dicts of these).  That single entry point is what a
sandboxed grader replaces with a proxy into another process.

Forbidden code is detected by watching which code actually runs during the
call (a profile hook sees every Python and builtin function call and the
module it belongs to), not by looking up names: ``from dlcourse.optim import
adam_step as helper`` is caught like a direct call.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dlcourse.grading._report import GradingError, describe_value
from dlcourse.sandbox.purity import changed_path, snapshot

# Module prefixes a student function may not reach unless a check allows them:
# the reference itself (dlcourse.grading included: its catalogue holds working
# variants), and the libraries that would do the exercise for you.
DEFAULT_FORBIDDEN = ("dlcourse", "torch")

# Grader code that runs inside the watch on purpose: this module's own frames
# and wrappers registered with :func:`grader_code` (e.g. one that iterates a
# student's generator under the same guard).
_EXEMPT_CODE: set[Any] = set()

# What a student reads when their function changed an input, here and in the class grader's proxies.
MODIFIES_INPUT = "modifies_input"
PURE = ("The function must be pure: leave the inputs untouched and return new arrays (write `theta = theta - "
        "step`, not `theta -= step`; copy an array before changing it).")


def grader_code(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` (a grader wrapper around student code) as allowed inside the watch."""
    _EXEMPT_CODE.add(fn.__code__)
    return fn


class StudentTimeout(BaseException):
    """Raised inside a student function that ran past its time limit.

    A BaseException, so that ``except Exception`` in student code does not
    swallow it.
    """


def _module_matches(module: str, prefixes: Sequence[str]) -> str | None:
    """The longest prefix in ``prefixes`` that ``module`` is, or is inside of."""
    best = None
    for prefix in prefixes:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def is_forbidden(module: str | None, forbidden: Sequence[str], allowed: Sequence[str]) -> bool:
    if not module:
        return False
    bad = _module_matches(module, forbidden)
    if bad is None:
        return False
    good = _module_matches(module, allowed)
    return good is None or len(good) < len(bad)


def _builtin_module(function: Any) -> str | None:
    module = getattr(function, "__module__", None)
    if module:
        return module
    owner = getattr(function, "__self__", None)
    return type(owner).__module__ if owner is not None else None


class _Watcher:
    """A profile hook recording the first call into a forbidden module."""

    def __init__(self, forbidden: Sequence[str], allowed: Sequence[str]) -> None:
        self.forbidden, self.allowed = tuple(forbidden), tuple(allowed)
        self.offence: str | None = None

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if self.offence is not None:
            return
        if event == "call":
            module = frame.f_globals.get("__name__")
            if module == __name__ or frame.f_code in _EXEMPT_CODE:
                return
            if is_forbidden(module, self.forbidden, self.allowed):
                self.offence = f"{module}.{frame.f_code.co_name}"
        elif event == "c_call":
            module = _builtin_module(arg)
            if is_forbidden(module, self.forbidden, self.allowed):
                self.offence = f"{module}.{getattr(arg, '__name__', repr(arg))}"


@contextlib.contextmanager
def _watching(watcher: _Watcher) -> Iterator[None]:
    previous_thread_profile = threading.getprofile() if hasattr(threading, "getprofile") else None
    threading.setprofile(watcher)
    sys.setprofile(watcher)
    try:
        yield
    finally:
        still_ours = sys.getprofile() is watcher
        sys.setprofile(None)
        threading.setprofile(previous_thread_profile)
        if not still_ours and watcher.offence is None:
            watcher.offence = "sys.setprofile (the function removed the grader's watch)"


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`StudentTimeout` in this thread after ``seconds``.

    In the main thread a real-time timer signal also interrupts blocking calls
    (``time.sleep``); elsewhere a watchdog thread raises the exception
    asynchronously, which stops Python-level loops.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum: int, frame: Any) -> None:
            raise StudentTimeout

        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        return

    target = threading.get_ident()
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(seconds):
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(StudentTimeout))

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _student_traceback(exc: BaseException) -> str:
    """The traceback lines that are in the student's code, not the grader's."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if "dlcourse/grading" not in frame.filename.replace("\\", "/")
    ]
    return "".join(traceback.format_list(frames[-3:]))


def guarded_call(
    fn: Callable[..., Any],
    fn_name: str,
    args: Sequence[tuple[str, Any]],
    kwargs: dict[str, Any] | None = None,
    *,
    pure: bool = True,
    forbidden: Sequence[str] = DEFAULT_FORBIDDEN,
    allowed: Sequence[str] = (),
    time_limit: float = 10.0,
) -> Any:
    """Call ``fn(*values, **kwargs)`` as a student function and return its result.

    ``args`` pairs each positional argument with its name, so that feedback
    can say which input was modified.  Raises :class:`GradingError` (an
    ``AssertionError``) when the function raises, runs past ``time_limit``
    seconds, reaches a forbidden module, or (with ``pure``) modifies an input.
    """
    remote_call = getattr(type(fn), "remote_call", None)
    if remote_call is not None:
        # a proxy into the sandbox (dlcourse.class_grading.proxy): the worker applies these rules
        return fn.remote_call(fn_name, args, kwargs, pure=pure, time_limit=time_limit)
    kwargs = dict(kwargs or {})
    values = [value for _, value in args]
    before = snapshot((values, kwargs)) if pure else None
    watcher = _Watcher(forbidden, allowed)
    try:
        # a warning (overflow in exp) is shown, never turned into an error that zeroes an answer
        with warnings.catch_warnings(), _time_limit(time_limit), _watching(watcher):
            warnings.simplefilter("default")
            result = fn(*values, **kwargs)
    except StudentTimeout:
        raise GradingError(
            f"{fn_name} did not finish within {time_limit:g} s and was stopped. Look for a loop that never "
            f"ends (a while loop whose condition never changes) or work that grows with every call."
        ) from None
    except GradingError:  # already feedback (e.g. from a proxy into a sandboxed worker)
        raise
    except Exception as exc:  # the student's bug, reported as feedback
        where = _student_traceback(exc)
        raise GradingError(
            f"{fn_name} raised {type(exc).__name__}: {exc}\n"
            + (f"  where it happened:\n{where}" if where else "")
        ) from None
    if watcher.offence is not None:
        raise GradingError(
            f"{fn_name} called {watcher.offence} while it ran. This exercise asks you to implement it "
            f"yourself with numpy: the reference library and torch do it for you, so they are not allowed here."
        )
    if pure:
        for (name, _), value, old in zip(args, values, before[0], strict=True):
            path = changed_path(old, value, name)
            if path:
                raise GradingError(f"{fn_name} modified its input {path} in place. {PURE}", mistake=MODIFIES_INPUT)
        for name, value in kwargs.items():
            path = changed_path(before[1][name], value, name)
            if path:
                raise GradingError(f"{fn_name} modified its keyword argument {path} in place. {PURE}",
                                   mistake=MODIFIES_INPUT)
    return result


def describe_args(args: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{name}={describe_value(value)}" for name, value in args)
