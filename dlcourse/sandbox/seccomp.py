"""A seccomp filter the worker installs before any student code runs: no new namespaces from inside the sandbox.

Why: bubblewrap builds the sandbox's namespaces, but the code inside could
still make a user namespace of its own (``unshare(CLONE_NEWUSER)``, allowed to
any user where the host allows unprivileged user namespaces) and, inside it,
gain every capability over new mount, network and PID namespaces: the kernel
surface behind most container escapes, and nothing a numpy exercise needs.
bwrap's own ``--disable-userns`` exists only with a user namespace, which the
root-mode sandbox does not make (:mod:`dlcourse.sandbox.isolation`); this
filter works in both modes and in the plain-subprocess fallback alike.

The filter (classic BPF over ``struct seccomp_data``):

- ``unshare(flags)`` and ``clone(flags, ...)`` with any ``CLONE_NEW*`` bit in
  ``flags`` fail with ``EPERM``; without one (threads, ``fork``) they run;
- ``clone3`` fails with ``ENOSYS``, so the C library falls back to ``clone``
  (glibc does so for threads and ``posix_spawn``), whose flags the filter can
  read (``clone3`` passes them in memory, out of a filter's reach);
- on x86_64, the x32 ABI's system calls fail with ``ENOSYS``;
- every other system call runs.

It is installed with ``no_new_privs`` (required to install a filter without
CAP_SYS_ADMIN) and cannot be removed by the process or its children.  Only
x86_64 and aarch64 are known; elsewhere :func:`forbid_new_namespaces`
returns False and installs nothing.  This module runs inside the sandbox: it
imports only the standard library.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
# CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
CLONE_NEW_ANY = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
X32_SYSCALL_BIT = 0x40000000


# (AUDIT_ARCH, unshare, clone, clone3) from linux/audit.h and each architecture's unistd.h
ARCHITECTURES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}

# classic BPF opcodes (linux/bpf_common.h)
_LOAD_WORD = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JUMP_EQUAL = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JUMP_GREATER_EQUAL = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JUMP_ANY_BIT = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RETURN = 0x06  # BPF_RET | BPF_K
# offsets in struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian: the low
# 32 bits of args[0], which hold every CLONE_NEW* flag, are at 16)
_NR, _ARCH, _ARG0_LOW = 0, 4, 16


def filter_program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` (``os.uname().machine``) as (code, jump if true, jump if false, k) instructions.

    A jump's targets count the instructions to skip after it.

    Example::

        >>> len(filter_program("x86_64"))
        13
    """
    if machine not in ARCHITECTURES:
        raise ValueError(f"machine must be one of {sorted(ARCHITECTURES)}, got {machine!r}")
    audit_arch, unshare, clone, clone3 = ARCHITECTURES[machine]
    allow = (_RETURN, 0, 0, SECCOMP_RET_ALLOW)
    eperm = (_RETURN, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)
    enosys = (_RETURN, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS)
    return [
        (_LOAD_WORD, 0, 0, _ARCH),
        (_JUMP_EQUAL, 1, 0, audit_arch),         # another ABI (i386 on x86_64, arm32 on aarch64):
        enosys,                                  # refused whole, so that its numbers need no filter of their own
        (_LOAD_WORD, 0, 0, _NR),
        (_JUMP_GREATER_EQUAL, 7, 0, X32_SYSCALL_BIT),  # x32 -> ENOSYS
        (_JUMP_EQUAL, 6, 0, clone3),                   # -> ENOSYS
        (_JUMP_EQUAL, 1, 0, unshare),                  # -> check the flags
        (_JUMP_EQUAL, 0, 2, clone),                    # -> check the flags, else allow
        (_LOAD_WORD, 0, 0, _ARG0_LOW),
        (_JUMP_ANY_BIT, 1, 0, CLONE_NEW_ANY),          # a namespace flag -> EPERM
        allow,
        eperm,
        enosys,
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_new_namespaces() -> bool:
    """Install the filter on this process (and every process it starts): True, or False where it is not known.

    Raises OSError when the kernel refuses it (a Linux without seccomp).
    """
    if not sys.platform.startswith("linux"):
        return False
    machine = os.uname().machine  # what platform.machine() reads, without importing platform
    if machine not in ARCHITECTURES:
        return False
    program = filter_program(machine)
    packed = ctypes.create_string_buffer(b"".join(struct.pack("<HBBI", *instruction) for instruction in program))
    fprog = _SockFprog(len(program), ctypes.cast(packed, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"installing the seccomp filter failed: {errno.errorcode.get(code, code)}")
    return True


__all__ = ["ARCHITECTURES", "CLONE_NEW_ANY", "filter_program", "forbid_new_namespaces"]
