"""Start the worker in a sandbox and talk to it with limits on time, CPU, memory and output.

Two modes, chosen automatically (``Sandbox(use_bwrap=None)``):

**bubblewrap** (``shutil.which("bwrap")``; Debian package ``bubblewrap``).
The worker sees a read-only ``/usr`` (system libraries), the Python
installation (its ``site-packages`` hidden under an empty tmpfs), numpy's own
directory and the three worker modules under ``/sandbox/lib``, a fresh tmpfs
``/tmp`` and working directory, a private ``/dev`` and ``/proc``, and nothing
else: no course directory, no ``dlcourse``, no torch, no home directory.  It
runs in new IPC, PID, network (no interfaces: no network access), UTS and
cgroup namespaces, with every capability dropped, a cleared environment, and
dies with the grader.  When the grader runs as root, bwrap cannot create a
user namespace that maps another uid, so no user namespace is made; instead
the worker keeps only CAP_SETUID/CAP_SETGID and switches to an unused uid
of its own (from ``SANDBOX_UIDS``) before reading the first request, which
drops those too and makes ``RLIMIT_NPROC`` effective per sandbox (the kernel
never applies it to uid 0).  After every request the worker kills every other
process in its PID namespace, so nothing a student started keeps running
while the grader is not waiting for an answer.

**plain subprocess** (fallback without bwrap).  The interpreter runs with
``-I -S`` (no environment variables, no user or system site-packages) and
``sys.path`` holds only the standard library and a temporary directory with
a link to numpy and copies of the worker modules, so ``import dlcourse`` and
``import torch`` fail, and the same rlimits apply.  It does NOT protect:
reading any file the grader's user can read (the solution key, other
students' work), writing files, the network, or other processes of the same
user; a student who knows the paths can put them back on ``sys.path``.  Run as
root, ``RLIMIT_NPROC`` is ignored by the kernel (fork bombs are then only
bounded by the per-request timeout, which kills the worker's whole process
group).  Use it for development only; grade untrusted work with bwrap.

Both modes: ``RLIMIT_CPU`` (cpu_s), ``RLIMIT_AS`` (memory_mb), ``RLIMIT_NPROC``,
``RLIMIT_FSIZE``, no core dumps; one thread for BLAS; a wall-clock timeout
per request after which the worker (and its process group) is killed and
:class:`SandboxTimeout` raised; a worker that exits or crashes raises
:class:`SandboxCrashed`, never hangs; printed output is capped.
"""

from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.sandbox import protocol

_HERE = Path(__file__).resolve().parent
WORKER_MODULES = ("worker.py", "protocol.py", "test_functions.py", "purity.py", "provided.py", "torch_observe.py")
# What `import torch` (CPU build) loads from site-packages; mounted only with allow_torch=True.
TORCH_PACKAGES = ("torch", "torchgen", "functorch", "typing_extensions.py", "sympy", "mpmath", "filelock", "fsspec",
                  "jinja2", "markupsafe", "networkx")
SANDBOX_LIB = "/sandbox/lib"  # numpy (and torch): on the student's sys.path
SANDBOX_GRADER = "/sandbox/grader"  # the worker modules: taken off sys.path once the worker has loaded them
SANDBOX_WORK = "/sandbox/work"
# Run as root, each worker becomes a uid of its own from this range, so RLIMIT_NPROC (counted per uid) of one
# sandbox is never used up by another's fork storm.  No account needs to exist for these uids.
SANDBOX_UIDS = range(200_000, 260_000)
_uid_counter = itertools.count()


def _next_uid() -> int:
    # distinct within a process; processes start at different offsets
    return SANDBOX_UIDS[(os.getpid() * 997 + next(_uid_counter)) % len(SANDBOX_UIDS)]
_BOOT = "import sys; sys.path[:0] = [{lib!r}, {grader!r}]; import worker; worker.main()"


class SandboxError(Exception):
    """The sandbox could not run the request (timeout, crash, protocol violation)."""


class SandboxTimeout(SandboxError):
    """A request ran past the wall-clock limit; the worker was killed."""


class SandboxCrashed(SandboxError):
    """The worker exited or was killed by a signal (a limit, os._exit, sys.exit, a segfault)."""


class StudentError(SandboxError):
    """The student's code raised, timed out inside the worker, modified an input, or returned unsendable data."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.kind = reply.get("error", "")
        self.type = reply.get("type", "")
        self.detail = reply.get("message", "")
        self.traceback = reply.get("traceback", "")
        self.output = reply.get("output", "")
        head = f"{self.type}: {self.detail}" if self.type else self.detail
        super().__init__(head + (f"\n  where it happened:\n{self.traceback}" if self.traceback else ""))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_SIGNAL_HINTS = {
    "SIGXCPU": "the CPU-time limit was reached",
    "SIGKILL": "it was killed (memory or CPU limit, or the grader stopped it)",
    "SIGSEGV": "a segmentation fault",
    "SIGXFSZ": "it wrote more than the file-size limit",
    "SIGABRT": "it aborted (often: out of memory in C code)",
}


class Sandbox:
    """A worker process running student code, as a context manager.

    Args:
        timeout_s: wall-clock seconds per request before the worker is killed.
        cpu_s: CPU seconds for the worker's whole life (RLIMIT_CPU).
        memory_mb: address-space limit (RLIMIT_AS); numpy alone needs ~100 MB.
        max_output_bytes: printed output kept per request (and in total in ``output``).
        max_message_bytes: largest request or reply.
        nproc: RLIMIT_NPROC (processes of the worker's user).
        file_size_mb: RLIMIT_FSIZE.
        use_bwrap: True, False, or None for "when bwrap is installed".
        allow_torch: also give the worker torch (read-only), for exercises
            about torch code; the course's reference library stays out.
    """

    def __init__(self, timeout_s: float = 10.0, cpu_s: int = 60, memory_mb: int = 1024,
                 max_output_bytes: int = 65536, max_message_bytes: int = protocol.DEFAULT_MAX_MESSAGE_BYTES,
                 nproc: int = 64, file_size_mb: int = 16, use_bwrap: bool | None = None,
                 allow_torch: bool = False) -> None:
        self.timeout_s = timeout_s
        self.cpu_s = cpu_s
        self.memory_mb = memory_mb
        self.max_output_bytes = max_output_bytes
        self.max_message_bytes = max_message_bytes
        self.nproc = nproc
        self.file_size_mb = file_size_mb
        self.allow_torch = allow_torch
        bwrap = shutil.which("bwrap")
        if use_bwrap and not bwrap:
            raise SandboxError("use_bwrap=True but bwrap is not installed (apt-get install -y bubblewrap)")
        self.bwrap = bwrap if use_bwrap is not False else None
        self.mode = "bwrap" if self.bwrap else "subprocess"
        self.output = ""
        self.deadline: float | None = None  # time.monotonic() after which no request may run
        self.process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._buffer = bytearray()  # reply bytes read but not yet parsed
        self._outgoing = bytearray()  # request bytes not yet written
        self._pending: list[list] = []  # per posted request, its Generators (updated from the reply)

    # ---------------------------------------------------------- lifecycle

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.process is not None:
            raise SandboxError("this sandbox was already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="dlcourse-sandbox-")
        root = Path(self._tmp.name)
        self._stderr_path = root / "stderr"
        stderr = open(self._stderr_path, "wb")
        command, cwd = self._bwrap_command() if self.bwrap else self._plain_command(root)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "HOME": cwd}
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                            cwd=None if self.bwrap else cwd, env=env, start_new_session=True,
                                            preexec_fn=self._limits, close_fds=True)
        finally:
            stderr.close()
        os.set_blocking(self.process.stdout.fileno(), False)
        os.set_blocking(self.process.stdin.fileno(), False)

    def _limits(self) -> None:
        """Runs in the child before exec (bwrap or python); the limits are inherited by the worker."""
        import resource  # POSIX only: imported here so that dlcourse check can still run on Windows
        megabyte = 1024 * 1024
        for limit, value in ((resource.RLIMIT_CPU, self.cpu_s), (resource.RLIMIT_AS, self.memory_mb * megabyte),
                             (resource.RLIMIT_NPROC, self.nproc), (resource.RLIMIT_FSIZE, self.file_size_mb * megabyte),
                             (resource.RLIMIT_CORE, 0)):
            hard = value + 1 if limit == resource.RLIMIT_CPU else value  # CPU: SIGXCPU first, then SIGKILL
            resource.setrlimit(limit, (value, hard))

    def _library_dirs(self) -> list[Path]:
        """What the worker may import besides the standard library: numpy, and torch if allowed."""
        numpy_dir = Path(np.__file__).resolve().parent
        found = [numpy_dir.parent / name for name in (numpy_dir.name, numpy_dir.name + ".libs")]
        if self.allow_torch:
            import importlib.util

            spec = importlib.util.find_spec("torch")
            if spec is None or spec.origin is None:
                raise SandboxError("allow_torch=True but torch is not installed")
            site = Path(spec.origin).resolve().parent.parent
            found += [site / name for name in TORCH_PACKAGES]
        return [path for path in found if path.exists()]

    def _worker_args(self, lib: str, grader: str) -> list[str]:
        return ["-I", "-S", "-c", _BOOT.format(lib=lib, grader=grader), "--grader-path", grader,
                "--max-output-chars", str(self.max_output_bytes), "--max-message-bytes", str(self.max_message_bytes)]

    def _plain_command(self, root: Path) -> tuple[list[str], str]:
        lib, grader, work = root / "lib", root / "grader", root / "work"
        for folder in (lib, grader, work):
            folder.mkdir()
        for path in self._library_dirs():
            (lib / path.name).symlink_to(path)
        for name in WORKER_MODULES:
            shutil.copy(_HERE / name, grader / name)
        return [os.path.realpath(sys.executable), *self._worker_args(str(lib), str(grader))], str(work)

    def _bwrap_command(self) -> tuple[list[str], str]:
        python = os.path.realpath(sys.executable)
        base = os.path.realpath(sys.base_prefix)
        args = [self.bwrap, "--ro-bind", "/usr", "/usr"]
        for name in ("lib", "lib64", "bin", "lib32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        # directories bwrap creates for mount points default to 0700: the worker runs as an unprivileged uid
        for directory in [*reversed(Path(base).parents), *reversed(Path(SANDBOX_LIB).parents), Path(SANDBOX_LIB),
                          Path(SANDBOX_GRADER)]:
            if str(directory) != "/" and not str(directory).startswith("/usr"):
                args += ["--perms", "0755", "--dir", str(directory)]
        if not base.startswith("/usr/"):
            args += ["--ro-bind", base, base]
        site_dirs = {sysconfig.get_paths(vars={"base": base, "platbase": base})[key] for key in ("purelib", "platlib")}
        for site in sorted(site_dirs):
            if os.path.isdir(site):
                args += ["--tmpfs", site]  # the interpreter's own packages stay out of reach
        for path in self._library_dirs():
            args += ["--ro-bind", str(path), f"{SANDBOX_LIB}/{path.name}"]
        for name in WORKER_MODULES:
            args += ["--ro-bind", str(_HERE / name), f"{SANDBOX_GRADER}/{name}"]
        args += ["--dev", "/dev", "--proc", "/proc", "--perms", "01777", "--tmpfs", "/tmp", "--perms", "0777", "--tmpfs", SANDBOX_WORK,
                 "--chdir", SANDBOX_WORK, "--die-with-parent", "--new-session", "--clearenv",
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_WORK, "--setenv", "LANG", "C.UTF-8",
                 "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1", "--cap-drop", "ALL"]
        worker_args = self._worker_args(SANDBOX_LIB, SANDBOX_GRADER)
        if os.geteuid() == 0:
            # no user namespace (it could only map uid 0): keep setuid/setgid just long enough to drop them
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                     "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            worker_args += ["--drop-uid", str(_next_uid())]
        else:
            args += ["--unshare-all"]
        # in its own PID namespace the worker may kill every other process of the sandbox after each request
        worker_args += ["--reap"]
        return [*args, python, *worker_args], SANDBOX_WORK

    def kill(self) -> None:
        """Stop the worker and everything it started, at once."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        self.process.wait()

    def close(self) -> None:
        """Stop the worker at once and remove the temporary files.

        The worker keeps nothing worth a clean exit, and an interpreter that
        imported torch takes ~0.4 s to shut down, so it is killed outright.
        """
        if self.process is not None:
            self.kill()
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ---------------------------------------------------------- requests

    def _stderr_tail(self) -> str:
        try:
            with open(self._stderr_path, "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - 2000))
                return file.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def _crashed(self) -> SandboxCrashed:
        self.kill()
        code = self.process.returncode
        if self.bwrap and code > 128:
            code = 128 - code  # bwrap reports its child's death by signal N as status 128 + N
        if code < 0:
            name = _signal_name(-code)
            what = f"was killed by {name}" + (f" ({_SIGNAL_HINTS[name]})" if name in _SIGNAL_HINTS else "")
        elif code == 1 and self.bwrap and "bwrap:" in self._stderr_tail():
            what = "could not be started by bwrap"
        else:
            what = (f"exited with status {code} (the code called sys.exit/exit/os._exit, or the worker hit a "
                    f"limit it could not report)")
        tail = self._stderr_tail()
        return SandboxCrashed(f"the sandboxed worker {what}" + (f"\n  its last error output:\n{tail[-800:]}" if tail else ""))

    def _parse_reply(self) -> list[bytes] | None:
        """The parts of one complete reply in the buffer, or None if more bytes are needed."""
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        (count,) = struct.unpack_from(">I", buffer, 0)
        if not 1 <= count <= protocol.MAX_PARTS:
            raise protocol.ProtocolError(f"malformed reply: {count} parts")
        offset, parts = 4, []
        for _ in range(count):
            if len(buffer) < offset + 8:
                return None
            (length,) = struct.unpack_from(">Q", buffer, offset)
            if offset + 8 + length > self.max_message_bytes:
                raise protocol.ProtocolError(f"reply exceeds the limit of {self.max_message_bytes} bytes")
            if len(buffer) < offset + 8 + length:
                return None
            parts.append(bytes(buffer[offset + 8:offset + 8 + length]))
            offset += 8 + length
        del buffer[:offset]
        return parts

    def request(self, message: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """Send one request and return the reply; Generators in ``message`` are advanced as the worker's were.

        Raises SandboxTimeout (the worker is killed), SandboxCrashed, or
        SandboxError for a malformed or oversized message.
        """
        self.post(message)
        return self.collect(timeout_s)

    def post(self, message: dict[str, Any]) -> None:
        """Queue a request without waiting: the worker starts on it while this process does other work.

        Each posted request gets its reply, in order, from :meth:`collect`.
        """
        if self.process is None:
            self.start()
        if not self.alive:
            raise SandboxCrashed("the sandboxed worker is no longer running (it was stopped after an earlier error)")
        data, generators = protocol.encode_message(message, self.max_message_bytes)
        self._outgoing += data
        self._pending.append(generators)
        self._flush()

    def _flush(self) -> None:
        """Write as much of the queued requests as the pipe takes now, without blocking."""
        while self._outgoing:
            try:
                written = os.write(self.process.stdin.fileno(), self._outgoing[:1 << 20])
            except BlockingIOError:
                return
            except BrokenPipeError:
                raise self._crashed() from None
            del self._outgoing[:written]

    def collect(self, timeout_s: float | None = None) -> dict[str, Any]:
        """The reply to the oldest posted request (see :meth:`request` for the errors)."""
        if not self._pending:
            raise SandboxError("no request is waiting for a reply")
        limit = self.timeout_s if timeout_s is None else timeout_s
        if self.deadline is not None:
            limit = min(limit, self.deadline - time.monotonic())
        deadline = time.monotonic() + limit
        stdin, stdout = self.process.stdin.fileno(), self.process.stdout.fileno()
        parts = self._next_reply()
        while parts is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise SandboxTimeout(f"the sandboxed code did not answer within {limit:g} s and was stopped")
            readable, writable, _ = select.select([stdout], [stdin] if self._outgoing else [], [], remaining)
            if writable:
                self._flush()
            if readable:
                chunk = os.read(stdout, 1 << 20)
                if not chunk:
                    raise self._crashed()
                self._buffer += chunk
                parts = self._next_reply()
        generators = self._pending.pop(0)
        try:
            reply, _ = protocol.decode_message(parts)
            protocol.update_generators(generators, reply.pop("rng_states", []))
        except protocol.ProtocolError as error:
            self.kill()
            raise SandboxError(f"the sandboxed worker sent a bad reply: {error}") from None
        printed = reply.get("output", "")
        if printed and len(self.output) < self.max_output_bytes:
            self.output = (self.output + printed)[: self.max_output_bytes]
        return reply

    def _next_reply(self) -> list[bytes] | None:
        try:
            return self._parse_reply()
        except protocol.ProtocolError as error:
            self.kill()
            raise SandboxError(f"the sandboxed worker sent a bad reply: {error}") from None

    def _value(self, message: dict[str, Any], timeout_s: float | None = None) -> Any:
        self.post(message)
        return self.collect_value(timeout_s)

    def collect_value(self, timeout_s: float | None = None) -> Any:
        """The value of the oldest posted request's reply; StudentError if the student's code failed."""
        reply = self.collect(timeout_s)
        if "error" in reply:
            raise StudentError(reply)
        return reply.get("value")

    def load(self, cells: list[str], timeout_s: float | None = None) -> list[str]:
        """Execute the solution cells in one fresh namespace; return the names of the callables defined."""
        return self._value({"op": "load", "cells": list(cells)}, timeout_s)

    def post_provide(self, modules: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                     helpers: dict[str, str] | None = None, returns: dict[str, Any] | None = None) -> None:
        """Post: make setup names available to the solution cells (``worker.op_provide``); :meth:`collect` the reply.

        The reply's value lists the modules the worker could not import.
        """
        self.post({"op": "provide", "modules": dict(modules or {}), "values": dict(values or {}),
                   "helpers": dict(helpers or {}), "returns": dict(returns or {})})

    def post_load_cells(self, cells: list[tuple[str, str]], time_limit: float) -> None:
        """Post: run ``(label, source)`` cells one by one (``worker.op_load_cells``); :meth:`collect` the reply."""
        self.post({"op": "load_cells", "cells": [{"label": label, "source": source} for label, source in cells],
                   "time_limit": time_limit})

    def load_cells(self, cells: list[tuple[str, str]], time_limit: float, timeout_s: float | None = None) -> dict[str, Any]:
        """Run ``(label, source)`` cells one by one (an error does not stop the next); see ``worker.op_load_cells``.

        ``time_limit`` bounds each cell inside the worker; ``timeout_s`` (default:
        every cell's limit plus a margin) is the wall clock after which the worker is killed.
        """
        self.post_load_cells(cells, time_limit)
        return self.collect_value(time_limit * max(1, len(cells)) + 5.0 if timeout_s is None else timeout_s)

    def get(self, names: list[str]) -> dict[str, Any]:
        """The values of globals of the solution cells (unsendable ones as handles); absent names are left out."""
        return self._value({"op": "get", "names": list(names)})

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)`` in the worker; StudentError if it raises."""
        return self._value({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})

    def call_listed(self, name: str, *args: Any, **kwargs: Any) -> list:
        """``list(name(*args, **kwargs))`` materialized inside the worker."""
        reply = self.request({"op": "call_listed", "name": name, "args": list(args), "kwargs": kwargs})
        if "error" in reply:
            raise StudentError(reply)
        if "not_iterable" in reply:
            raise StudentError({"error": "not_iterable", "message": f"{name} returned {reply['not_iterable']}, not an iterable"})
        return reply["value"]


def isolation_check(use_bwrap: bool | None = None) -> str:
    """The sandbox mode grading will use ("bwrap" or "subprocess"), after starting one worker to prove it works.

    With ``use_bwrap=None`` an installed bwrap that cannot start (a container
    whose seccomp profile forbids namespaces, say) raises SandboxError
    instead of silently grading with the weaker fallback.
    """
    sandbox = Sandbox(timeout_s=30.0, use_bwrap=use_bwrap)
    try:
        sandbox.request({"op": "ping"})
    except SandboxError as error:
        if sandbox.mode == "bwrap":
            raise SandboxError(
                f"bubblewrap is installed but could not start the sandbox ({error}). Allow unprivileged user "
                f"namespaces (for a container: a seccomp profile that permits unshare/clone), or pass --no-bwrap to "
                f"grade with the weaker plain-subprocess sandbox (see docs/grading.md)") from None
        raise
    finally:
        sandbox.close()
    return sandbox.mode


__all__ = ["Sandbox", "SandboxError", "SandboxTimeout", "SandboxCrashed", "StudentError", "isolation_check"]
