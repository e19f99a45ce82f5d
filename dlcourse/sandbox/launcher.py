"""The sandboxed worker as a process: start it, send it requests, collect its replies within limits.

:class:`Sandbox` starts the worker (:mod:`dlcourse.sandbox.isolation` builds
its command line: bubblewrap, or a restricted subprocess without it) and
exchanges :mod:`dlcourse.sandbox.messages` with it over two pipes.  Requests
can be posted without waiting (the worker starts on them while the grader
does other work) and their replies collected later, in order; the sandbox
itself counts what is outstanding (:attr:`Sandbox.pending`).

Limits: ``RLIMIT_CPU`` (cpu_s), ``RLIMIT_AS`` (memory_mb), ``RLIMIT_NPROC``,
``RLIMIT_FSIZE``, no core dumps; a wall-clock timeout per request after which
the worker (and its process group) is killed and :class:`SandboxTimeout`
raised; a worker that exits or crashes raises :class:`SandboxCrashed`, never
hangs; printed output and messages are capped.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from dlcourse.sandbox import protocol
from dlcourse.sandbox.errors import SandboxCrashed, SandboxError, SandboxTimeout, StudentError, crash_error
from dlcourse.sandbox.isolation import ENVIRONMENT, ResourceLimits, WorkerCommand, find_bwrap
from dlcourse.sandbox.messages import (
    Call,
    Failure,
    Get,
    Instance,
    LoadCells,
    Loaded,
    Ping,
    Reply,
    Request,
    Value,
    decode_reply,
    encode_request,
)


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
        self.max_output_bytes = max_output_bytes
        self.max_message_bytes = max_message_bytes
        self.limits = ResourceLimits(cpu_s=cpu_s, memory_mb=memory_mb, nproc=nproc, file_size_mb=file_size_mb)
        self.command = WorkerCommand(max_output_bytes, max_message_bytes, allow_torch)
        self.bwrap = find_bwrap(use_bwrap)
        self.mode = "bwrap" if self.bwrap else "subprocess"
        self.output = ""  # everything printed so far (capped at max_output_bytes)
        self.deadline: float | None = None  # time.monotonic() after which no request may run
        self.process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._buffer = bytearray()  # reply bytes read but not yet parsed
        self._outgoing = bytearray()  # request bytes not yet written
        self._pending: list[list] = []  # per posted request, in order: its Generators (updated from the reply)

    # ---------------------------------------------------------- lifecycle

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pending(self) -> int:
        """How many posted requests still wait for :meth:`collect`."""
        return len(self._pending)

    def start(self) -> None:
        if self.process is not None:
            raise SandboxError("this sandbox was already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="dlcourse-sandbox-")
        root = Path(self._tmp.name)
        self._stderr_path = root / "stderr"
        command, cwd = self.command.bwrap(self.bwrap) if self.bwrap else self.command.plain(root)
        with open(self._stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                            cwd=None if self.bwrap else cwd, env=ENVIRONMENT | {"HOME": cwd},
                                            start_new_session=True, preexec_fn=self.limits.apply, close_fds=True)
        os.set_blocking(self.process.stdout.fileno(), False)
        os.set_blocking(self.process.stdin.fileno(), False)

    def kill(self) -> None:
        """Stop the worker and everything it started, at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Stop the worker at once and remove the temporary files.

        The worker keeps nothing worth a clean exit, and an interpreter that
        imported torch takes ~0.4 s to shut down, so it is killed outright.
        """
        if self.process is not None:
            self.kill()
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ---------------------------------------------------------- messaging

    def post(self, request: Request) -> None:
        """Queue a request without waiting: the worker starts on it while this process does other work.

        Each posted request gets its reply, in order, from :meth:`collect`.
        """
        if self.process is None:
            self.start()
        if not self.alive:
            raise SandboxCrashed("the sandboxed worker is no longer running (it was stopped after an earlier error)")
        data, generators = encode_request(request, self.max_message_bytes)
        self._outgoing += data
        self._pending.append(generators)
        self._flush()

    def collect(self, timeout_s: float | None = None) -> Reply:
        """The reply to the oldest posted request; the Generators it was given are advanced as the worker's were.

        Raises SandboxTimeout (the worker is killed), SandboxCrashed, or
        SandboxError for a malformed or oversized reply.
        """
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
            reply, rng_states = decode_reply(parts)
            protocol.update_generators(generators, rng_states)
        except protocol.ProtocolError as error:
            self.kill()
            raise SandboxError(f"the sandboxed worker sent a bad reply: {error}") from None
        if reply.output and len(self.output) < self.max_output_bytes:
            self.output = (self.output + reply.output)[: self.max_output_bytes]
        return reply

    def collect_pending(self, timeout_s: float | None = None) -> list[Reply]:
        """The replies to every request posted and not yet collected, in order (each within ``timeout_s``)."""
        return [self.collect(timeout_s) for _ in range(self.pending)]

    def request(self, request: Request, timeout_s: float | None = None) -> Reply:
        """Send one request and return its reply (see :meth:`collect` for the errors)."""
        self.post(request)
        return self.collect(timeout_s)

    def answer(self, request: Request, timeout_s: float | None = None) -> Value | Loaded | Instance:
        """The reply to ``request``; StudentError if it is a Failure (the student's code failed)."""
        reply = self.request(request, timeout_s)
        if isinstance(reply, Failure):
            raise StudentError(reply)
        return reply

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

    def _next_reply(self) -> list[bytes] | None:
        """The parts of one complete reply in the buffer, or None if more bytes are needed."""
        try:
            return self._parse_reply()
        except protocol.ProtocolError as error:
            self.kill()
            raise SandboxError(f"the sandboxed worker sent a bad reply: {error}") from None

    def _parse_reply(self) -> list[bytes] | None:
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
        return crash_error(self.process.returncode, bool(self.bwrap), self._stderr_tail())

    # ---------------------------------------------------------- conveniences

    def load(self, cells: list[str], timeout_s: float | None = None) -> list[str]:
        """Run the sources as cells ``0``, ``1``, ...; the callables they define; StudentError for the first error."""
        loaded = self.load_cells([(str(index), source) for index, source in enumerate(cells)], 0.0,
                                 self.timeout_s if timeout_s is None else timeout_s)
        if loaded.errors:
            error = loaded.errors[0]
            raise StudentError(Failure("exception", error["message"], exception=error["type"],
                                       traceback=error.get("traceback", ""), output=loaded.output))
        return sorted(loaded.functions + loaded.classes)

    def load_cells(self, cells: list[tuple[str, str]], time_limit: float, timeout_s: float | None = None) -> Loaded:
        """Run ``(label, source)`` cells one by one (an error does not stop the next); see :class:`messages.Loaded`.

        ``time_limit`` bounds each cell inside the worker; ``timeout_s`` (default:
        every cell's limit plus a margin) is the wall clock after which the worker is killed.
        """
        wall = time_limit * max(1, len(cells)) + 5.0 if timeout_s is None else timeout_s
        return self.answer(LoadCells(list(cells), time_limit), wall)

    def get(self, names: list[str]) -> dict[str, Any]:
        """The values of globals of the solution cells (unsendable ones as handles); absent names are left out."""
        return self.answer(Get(list(names))).value

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)`` in the worker; StudentError if it raises."""
        return self.answer(Call(name, args=list(args), kwargs=kwargs)).value


def isolation_check(use_bwrap: bool | None = None) -> str:
    """The sandbox mode grading will use ("bwrap" or "subprocess"), after starting one worker to prove it works.

    With ``use_bwrap=None`` an installed bwrap that cannot start (a container
    whose seccomp profile forbids namespaces, say) raises SandboxError
    instead of silently grading with the weaker fallback.
    """
    sandbox = Sandbox(timeout_s=30.0, use_bwrap=use_bwrap)
    try:
        sandbox.request(Ping())
    except SandboxError as error:
        if sandbox.mode == "bwrap":
            raise SandboxError(
                f"bubblewrap is installed but could not start the sandbox ({error}). Run `dlcourse doctor` on this "
                f"machine: it names the cause (kernel setting, AppArmor, container seccomp or capabilities) and the "
                f"exact fix. --no-bwrap grades with the weaker plain-subprocess sandbox (development only; see "
                f"docs/grading.md)") from None
        raise
    finally:
        sandbox.close()
    return sandbox.mode


__all__ = ["Sandbox", "isolation_check"]
