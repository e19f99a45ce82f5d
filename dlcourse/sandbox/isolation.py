"""What the sandboxed worker can see and do: its command line (bubblewrap or a plain subprocess) and its rlimits.

Two modes, chosen by :func:`find_bwrap` (``Sandbox(use_bwrap=None)``: bwrap when installed):

**bubblewrap** (``shutil.which("bwrap")``; Debian package ``bubblewrap``).
The worker sees a read-only ``/usr`` (system libraries), the Python
installation (its ``site-packages`` hidden under an empty tmpfs), numpy's own
directory under ``/sandbox/lib`` (and torch's, for torch exercises), the
worker modules under ``/sandbox/grader``, a fresh tmpfs ``/tmp`` and working
directory, a private ``/dev`` and ``/proc``, and nothing else: no course
directory, no ``dlcourse``, no home directory.  It runs in new IPC, PID,
network (no interfaces: no network access), UTS and cgroup namespaces, with
every capability dropped, a cleared environment, and dies with the grader.
When the grader runs as root, bwrap cannot create a user namespace that maps
another uid, so no user namespace is made; instead the worker keeps only
CAP_SETUID/CAP_SETGID and switches to an unused uid of its own (from
``SANDBOX_UIDS``) before reading the first request, which drops those too and
makes ``RLIMIT_NPROC`` effective per sandbox (the kernel never applies it to
uid 0).  After every request the worker kills every other process in its PID
namespace, so nothing a student started keeps running while the grader is
not waiting for an answer.

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

Both modes: ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_NPROC``, ``RLIMIT_FSIZE``,
no core dumps (:class:`ResourceLimits`); one thread for BLAS; and, installed
by the worker before any student code, a seccomp filter that refuses new
namespaces (:mod:`dlcourse.sandbox.seccomp`).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcourse.sandbox.errors import SandboxError

_HERE = Path(__file__).resolve().parent
# The modules the worker runs, copied or mounted beside each other: they import only the standard library, numpy
# and (torch_observe, lazily) torch.
WORKER_MODULES = ("worker.py", "protocol.py", "messages.py", "test_functions.py", "purity.py", "provided.py",
                  "seccomp.py", "torch_observe.py")
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
_BOOT = "import sys; sys.path[:0] = [{lib!r}, {grader!r}]; import worker; worker.main()"
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}


def _next_uid() -> int:
    # distinct within a process; processes start at different offsets
    return SANDBOX_UIDS[(os.getpid() * 997 + next(_uid_counter)) % len(SANDBOX_UIDS)]


def namespace_args(as_root: bool) -> list[str]:
    """bwrap's namespace (and capability) options of the sandbox; ``dlcourse doctor``'s probe uses the same.

    As root no user namespace is made (it could only map uid 0): new IPC, PID,
    network, UTS and cgroup namespaces, keeping setuid/setgid just long enough
    for the worker to drop to an unused uid.  As another user ``--unshare-all``,
    which includes a user namespace (so the kernel must allow unprivileged ones).
    """
    if as_root:
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-all"]


def find_bwrap(use_bwrap: bool | None) -> str | None:
    """The bwrap executable to use: None for the plain subprocess (``use_bwrap=False``, or None and not installed)."""
    bwrap = shutil.which("bwrap")
    if use_bwrap and not bwrap:
        raise SandboxError("use_bwrap=True but bwrap is not installed (apt-get install -y bubblewrap)")
    return bwrap if use_bwrap is not False else None


@dataclass(frozen=True)
class ResourceLimits:
    """The worker's rlimits: CPU seconds over its life, address space and file size in MB, processes of its user."""

    cpu_s: int = 60
    memory_mb: int = 1024
    nproc: int = 64
    file_size_mb: int = 16

    def apply(self) -> None:
        """Set the limits (run in the child before exec: bwrap or python; the worker inherits them)."""
        import resource  # POSIX only: imported here so that dlcourse check can still run on Windows

        megabyte = 1024 * 1024
        for limit, value in ((resource.RLIMIT_CPU, self.cpu_s), (resource.RLIMIT_AS, self.memory_mb * megabyte),
                             (resource.RLIMIT_NPROC, self.nproc), (resource.RLIMIT_FSIZE, self.file_size_mb * megabyte),
                             (resource.RLIMIT_CORE, 0)):
            hard = value + 1 if limit == resource.RLIMIT_CPU else value  # CPU: SIGXCPU first, then SIGKILL
            resource.setrlimit(limit, (value, hard))


@dataclass(frozen=True)
class WorkerCommand:
    """The command line that starts the worker, with its output and message caps and whether torch is mounted."""

    max_output_chars: int
    max_message_bytes: int
    allow_torch: bool = False

    def library_dirs(self) -> list[Path]:
        """What the worker may import besides the standard library: numpy, and torch if allowed."""
        numpy_dir = Path(np.__file__).resolve().parent
        found = [numpy_dir.parent / name for name in (numpy_dir.name, numpy_dir.name + ".libs")]
        if self.allow_torch:
            spec = importlib.util.find_spec("torch")
            if spec is None or spec.origin is None:
                raise SandboxError("allow_torch=True but torch is not installed")
            site = Path(spec.origin).resolve().parent.parent
            found += [site / name for name in TORCH_PACKAGES]
        return [path for path in found if path.exists()]

    def _worker_args(self, lib: str, grader: str) -> list[str]:
        return ["-I", "-S", "-c", _BOOT.format(lib=lib, grader=grader), "--grader-path", grader,
                "--max-output-chars", str(self.max_output_chars), "--max-message-bytes", str(self.max_message_bytes)]

    def plain(self, root: Path) -> tuple[list[str], str]:
        """The fallback's command line and working directory; its library and module folders are made in ``root``."""
        lib, grader, work = root / "lib", root / "grader", root / "work"
        for folder in (lib, grader, work):
            folder.mkdir()
        for path in self.library_dirs():
            (lib / path.name).symlink_to(path)
        for name in WORKER_MODULES:
            shutil.copy(_HERE / name, grader / name)
        return [os.path.realpath(sys.executable), *self._worker_args(str(lib), str(grader))], str(work)

    def bwrap(self, bwrap: str) -> tuple[list[str], str]:
        """bwrap's command line (see the module docstring) and the worker's working directory inside it."""
        python = os.path.realpath(sys.executable)
        base = os.path.realpath(sys.base_prefix)
        args = [bwrap, "--ro-bind", "/usr", "/usr"]
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
        for path in self.library_dirs():
            args += ["--ro-bind", str(path), f"{SANDBOX_LIB}/{path.name}"]
        for name in WORKER_MODULES:
            args += ["--ro-bind", str(_HERE / name), f"{SANDBOX_GRADER}/{name}"]
        args += ["--dev", "/dev", "--proc", "/proc", "--perms", "01777", "--tmpfs", "/tmp", "--perms", "0777",
                 "--tmpfs", SANDBOX_WORK, "--chdir", SANDBOX_WORK, "--die-with-parent", "--new-session", "--clearenv",
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_WORK, "--setenv", "LANG", "C.UTF-8",
                 "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1", "--cap-drop", "ALL"]
        worker_args = self._worker_args(SANDBOX_LIB, SANDBOX_GRADER)
        as_root = os.geteuid() == 0
        args += namespace_args(as_root)
        if as_root:
            worker_args += ["--drop-uid", str(_next_uid())]
        # in its own PID namespace the worker may kill every other process of the sandbox after each request
        worker_args += ["--reap"]
        return [*args, python, *worker_args], SANDBOX_WORK


__all__ = ["ENVIRONMENT", "SANDBOX_UIDS", "TORCH_PACKAGES", "WORKER_MODULES", "ResourceLimits", "WorkerCommand",
           "find_bwrap", "namespace_args"]
