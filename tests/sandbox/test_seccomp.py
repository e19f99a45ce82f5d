"""The worker's seccomp filter: student code cannot make namespaces of its own, and everything else still runs.

The filter is checked three ways: its BPF program run by a small interpreter on the system calls it decides
(every path of the program), installed in a child process here, and in real sandboxes (bubblewrap as the
grader runs it, and the plain-subprocess fallback)."""

import errno
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlcourse.sandbox import Sandbox
from dlcourse.sandbox.seccomp import ARCHITECTURES, CLONE_NEW_ANY, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, filter_program

CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
FORK_FLAGS = 0x01200011  # glibc's fork: CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
THREAD_FLAGS = 0x003D0F00  # glibc's pthread_create
KNOWN = platform.machine() in ARCHITECTURES and sys.platform.startswith("linux")


def run_filter(program, arch, nr, arg0=0):
    """What the kernel would return for this system call: a classic BPF interpreter for the opcodes we use."""
    data = {0: nr, 4: arch, 16: arg0}
    accumulator, pc = 0, 0
    while True:
        code, jump_true, jump_false, k = program[pc]
        if code == 0x20:
            accumulator = data[k]
        elif code == 0x06:
            return k
        else:
            taken = {0x15: accumulator == k, 0x35: accumulator >= k, 0x45: bool(accumulator & k)}[code]
            pc += jump_true if taken else jump_false
        pc += 1


@pytest.mark.parametrize("machine", sorted(ARCHITECTURES))
def test_the_program_refuses_namespaces_and_allows_the_rest(machine):
    program = filter_program(machine)
    arch, unshare, clone, clone3 = ARCHITECTURES[machine]
    eperm, enosys = SECCOMP_RET_ERRNO | errno.EPERM, SECCOMP_RET_ERRNO | errno.ENOSYS
    for flag in (CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEW_ANY, CLONE_NEWUSER | FORK_FLAGS):
        assert run_filter(program, arch, unshare, flag) == eperm
        assert run_filter(program, arch, clone, flag) == eperm
    for flags in (FORK_FLAGS, THREAD_FLAGS, 0):
        assert run_filter(program, arch, clone, flags) == SECCOMP_RET_ALLOW
    assert run_filter(program, arch, unshare, 0x00000400) == SECCOMP_RET_ALLOW  # CLONE_FILES: no namespace
    assert run_filter(program, arch, clone3) == enosys  # its flags are out of reach: the C library falls back
    assert run_filter(program, arch, 0) == run_filter(program, arch, 1, CLONE_NEWUSER) == SECCOMP_RET_ALLOW
    assert run_filter(program, 0x40000003, unshare, CLONE_NEWUSER) == enosys  # i386/arm32 ABI: refused whole
    if machine == "x86_64":
        assert run_filter(program, arch, 0x40000000 + unshare, CLONE_NEWUSER) == enosys  # x32 ABI


def test_an_unknown_machine_is_refused():
    with pytest.raises(ValueError, match="machine"):
        filter_program("riscv64")


PROBE = """
import ctypes, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
refused = [libc.unshare(flag) == -1 and ctypes.get_errno() == 1 for flag in (0x10000000, 0x00020000, 0x40000000)]
pid = os.fork()
if pid == 0:
    os._exit(7)
forked = os.waitpid(pid, 0)[1] >> 8 == 7
box = []
thread = threading.Thread(target=box.append, args=(1,))
thread.start(); thread.join()
spawned = subprocess.run(["/bin/sh", "-c", "exit 5"]).returncode == 5
"""


@pytest.mark.skipif(not KNOWN, reason="the filter knows x86_64 and aarch64 Linux")
def test_installed_it_refuses_namespaces_to_root_too_and_keeps_fork_threads_and_subprocesses(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text("import sys\nsys.path.insert(0, sys.argv[1])\nimport seccomp\n"
                      "assert seccomp.forbid_new_namespaces()\n" + PROBE +
                      "print(refused, forked, box, spawned)\n")
    done = subprocess.run([sys.executable, str(script), str(Path(__file__).parents[2] / "dlcourse" / "sandbox")],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[0] == "[True, True, True] True [1] True", done.stderr


@pytest.mark.parametrize("use_bwrap", [
    pytest.param(True, marks=pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
                 id="bwrap"),
    pytest.param(False, id="subprocess")])
@pytest.mark.skipif(not KNOWN, reason="the filter knows x86_64 and aarch64 Linux")
def test_student_code_in_the_sandbox_cannot_make_namespaces(use_bwrap):
    with Sandbox(use_bwrap=use_bwrap, timeout_s=20) as sandbox:
        sandbox.load([PROBE + "def outcome():\n    return refused, forked, box, spawned\n"])
        refused, forked, threaded, spawned = sandbox.call("outcome")
        assert list(refused) == [True, True, True] and forked and list(threaded) == [1] and spawned
