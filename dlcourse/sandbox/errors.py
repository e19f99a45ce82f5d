"""What can go wrong when the grader asks the sandboxed worker to run student code.

* :class:`SandboxTimeout`: a request ran past the wall-clock limit; the worker was killed.
* :class:`SandboxCrashed`: the worker exited or died (a limit, ``os._exit``, a segfault);
  :func:`crash_error` says which, from its exit status.
* :class:`StudentError`: the worker answered with a :class:`~dlcourse.sandbox.messages.Failure`
  (the student's code raised, was stopped by the worker's own timer, modified an input, ...).
* :class:`SandboxError`: their base, also raised for a malformed message or a sandbox that cannot start.
"""

from __future__ import annotations

import signal

from dlcourse.sandbox.messages import Failure


class SandboxError(Exception):
    """The sandbox could not run the request (timeout, crash, protocol violation)."""


class SandboxTimeout(SandboxError):
    """A request ran past the wall-clock limit; the worker was killed."""


class SandboxCrashed(SandboxError):
    """The worker exited or was killed by a signal (a limit, os._exit, sys.exit, a segfault)."""


class StudentError(SandboxError):
    """The worker's Failure reply: the student's code raised, timed out, modified an input, or returned unsendable data.

    ``kind``, ``type`` (the exception's class name), ``detail`` (the message),
    ``traceback`` and ``output`` come from the :class:`Failure`.
    """

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        self.kind = failure.kind
        self.type = failure.exception
        self.detail = failure.message
        self.traceback = failure.traceback
        self.output = failure.output
        head = f"{self.type}: {self.detail}" if self.type else self.detail
        super().__init__(head + (f"\n  where it happened:\n{self.traceback}" if self.traceback else ""))


_SIGNAL_HINTS = {
    "SIGXCPU": "the CPU-time limit was reached",
    "SIGKILL": "it was killed (memory or CPU limit, or the grader stopped it)",
    "SIGSEGV": "a segmentation fault",
    "SIGXFSZ": "it wrote more than the file-size limit",
    "SIGABRT": "it aborted (often: out of memory in C code)",
}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def crash_error(returncode: int, via_bwrap: bool, stderr_tail: str) -> SandboxCrashed:
    """The error for a worker that ended with ``returncode``, naming the signal or exit status and its likely cause."""
    code = returncode
    if via_bwrap and code > 128:
        code = 128 - code  # bwrap reports its child's death by signal N as status 128 + N
    if code < 0:
        name = _signal_name(-code)
        what = f"was killed by {name}" + (f" ({_SIGNAL_HINTS[name]})" if name in _SIGNAL_HINTS else "")
    elif code == 1 and via_bwrap and "bwrap:" in stderr_tail:
        what = "could not be started by bwrap"
    else:
        what = (f"exited with status {code} (the code called sys.exit/exit/os._exit, or the worker hit a "
                f"limit it could not report)")
    return SandboxCrashed(f"the sandboxed worker {what}"
                          + (f"\n  its last error output:\n{stderr_tail[-800:]}" if stderr_tail else ""))


__all__ = ["SandboxCrashed", "SandboxError", "SandboxTimeout", "StudentError", "crash_error"]
