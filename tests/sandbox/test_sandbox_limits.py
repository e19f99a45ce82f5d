"""What the sandboxed worker cannot do, and how runaway student code is stopped without hanging the grader."""

import os
import shutil
import sysconfig
import time

import numpy as np
import pytest

from dlcourse.sandbox import Sandbox, SandboxCrashed, SandboxTimeout, StudentError
from dlcourse.sandbox.messages import Call

HAS_BWRAP = shutil.which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP,
                                 reason="bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap")
MODES = [pytest.param(True, marks=needs_bwrap, id="bwrap"), pytest.param(False, id="subprocess")]


@pytest.fixture(scope="module")
def jail():
    with Sandbox(use_bwrap=True, timeout_s=5) if HAS_BWRAP else _skip() as sandbox:
        yield sandbox


def _skip():
    pytest.skip("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap")


def _fails(sandbox, source, match):
    with pytest.raises(StudentError, match=match):
        sandbox.load([source])


@pytest.mark.parametrize("module", ["dlcourse", "torch", "sklearn", "IPython"])
def test_only_numpy_and_the_standard_library_import(jail, module):
    _fails(jail, f"import {module}", f"No module named '{module}'")
    assert jail.load(["import numpy, math, json, collections"]) == []


def test_the_interpreters_site_packages_cannot_be_put_back(jail):
    site = sysconfig.get_paths(vars={"base": os.path.realpath(os.sys.base_prefix)})["purelib"]
    _fails(jail, f"import sys; sys.path.append({site!r}); sys.path.append('/work/main'); import IPython", "IPython")


@pytest.mark.parametrize("path", ["/work/main/README.md", os.path.abspath(__file__), "/etc/passwd", "/root/.bashrc"])
def test_files_outside_the_sandbox_cannot_be_read(jail, path):
    _fails(jail, f"open({path!r}).read()", "FileNotFoundError|PermissionError")


def test_no_network(jail):
    _fails(jail, "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('1.1.1.1', 80))",
           "unreachable|OSError|PermissionError")


def test_runs_unprivileged_without_capabilities(jail):
    jail.load(["import os\nprint(os.getuid() if os.getuid() else 'root', "
               "open('/proc/self/status').read().split('CapEff:')[1].split()[0])"])
    uid, capabilities = jail.output.split()[-2:]
    assert uid != "root" and int(capabilities, 16) == 0


@pytest.mark.parametrize("use_bwrap", MODES)
def test_infinite_loop_times_out_within_the_wall_limit(use_bwrap):
    with Sandbox(use_bwrap=use_bwrap, timeout_s=1.0) as sandbox:
        sandbox.load(["def spin():\n    while True:\n        pass"])
        start = time.monotonic()
        with pytest.raises(SandboxTimeout, match="within 1 s"):
            sandbox.call("spin")
        assert time.monotonic() - start < 2.0
        assert not sandbox.alive
        with pytest.raises(SandboxCrashed, match="no longer running"):
            sandbox.call("spin")


def test_the_workers_own_time_limit_keeps_it_alive(jail):
    jail.load(["def slow():\n    while True: pass"])
    with pytest.raises(StudentError, match=r"did not finish within 0\.2 s"):
        jail.answer(Call("slow", time_limit=0.2))
    assert jail.load(["def ok(): return 1"]) and jail.call("ok") == 1


@pytest.mark.parametrize("use_bwrap", MODES)
def test_memory_bomb_is_an_error(use_bwrap):
    with Sandbox(use_bwrap=use_bwrap, memory_mb=400) as sandbox:
        sandbox.load(["import numpy as np\ndef bomb():\n    return np.ones((1 << 40,))\n"
                      "def grow():\n    x = []\n    while True: x.append(bytearray(1 << 24))"])
        with pytest.raises(StudentError, match=r"MemoryError|Unable to allocate"):
            sandbox.call("bomb")
        with pytest.raises((StudentError, SandboxCrashed), match=r"MemoryError|memory"):
            sandbox.call("grow")


def test_fork_bomb_is_limited():
    with Sandbox(use_bwrap=HAS_BWRAP, nproc=8, timeout_s=5) as sandbox:
        sandbox.load(["import os\ndef bomb():\n    children = 0\n    try:\n        while True:\n"
                      "            pid = os.fork()\n"
                      "            if pid == 0:\n                import time; time.sleep(30); os._exit(0)\n"
                      "            children += 1\n"
                      "    except OSError as error:\n        return children, str(error)"])
        if not HAS_BWRAP and os.geteuid() == 0:
            pytest.skip("RLIMIT_NPROC does not apply to root and bwrap is unavailable (the fallback relies on the "
                        "timeout)")
        children, error = sandbox.call("bomb")
        assert children < 8 and "Resource temporarily unavailable" in error


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("source, match", [
    ("import os\ndef f(): os._exit(3)", "status 3"),
    ("import os, signal\ndef f(): os.kill(os.getpid(), signal.SIGSEGV)", "SIGSEGV"),
    ("import ctypes\ndef f(): ctypes.string_at(0)", "SIGSEGV"),
])
def test_exiting_or_crashing_worker_is_a_clear_error(use_bwrap, source, match):
    with Sandbox(use_bwrap=use_bwrap, timeout_s=5) as sandbox:
        sandbox.load([source])
        with pytest.raises(SandboxCrashed, match=match):
            sandbox.call("f")


@pytest.mark.parametrize("source", ["import sys\ndef f(): sys.exit(0)", "def f(): raise SystemExit(5)"])
def test_sys_exit_is_a_student_error_and_the_worker_survives(jail, source):
    jail.load([source])
    with pytest.raises(StudentError, match="SystemExit: the code called exit"):
        jail.call("f")
    assert jail.alive


def test_huge_print_is_capped_and_the_protocol_survives(jail):
    jail.load(["import os, sys\ndef loud(x):\n    print('x' * 10_000_000)\n    sys.stdout.write('y' * 1000)\n"
               "    sys.__stdout__.write('z' * 1000)\n    os.write(1, b'not protocol' * 1000)\n    return x * 2"])
    assert jail.call("loud", np.array([1.0])) == np.array([2.0])
    reply = jail.request(Call("loud", args=[1.0]))
    assert reply.value == 2.0
    assert len(reply.output) < jail.max_output_bytes + 200 and "more characters of output were dropped" in reply.output


def test_reading_the_protocol_pipe_finds_nothing(jail):
    jail.load(["import sys\ndef peek():\n    return sys.stdin.read() + input.__name__"])
    assert jail.call("peek") == "input"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_sandbox_is_always_cleaned_up(use_bwrap):
    sandbox = Sandbox(use_bwrap=use_bwrap, timeout_s=1)
    with pytest.raises(SandboxTimeout), sandbox:
        tmp = sandbox._tmp.name
        pid = sandbox.process.pid
        sandbox.load(["def spin():\n    while True: pass"])
        sandbox.call("spin")
    assert not os.path.exists(tmp) and sandbox.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(ZeroDivisionError), Sandbox(use_bwrap=use_bwrap) as other:
        tmp, process = other._tmp.name, other.process
        raise ZeroDivisionError("an error inside the with block")
    assert not os.path.exists(tmp) and process.poll() is not None


@needs_bwrap
def test_processes_a_student_starts_do_not_outlive_the_request():
    with Sandbox(use_bwrap=True) as sandbox:
        sandbox.load(["import os, time\nif os.fork() == 0:\n    while True:\n        time.sleep(0.01)\n",
                      "import os\nos.makedirs('/tmp/x', exist_ok=True)"])
        sandbox.load(["import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"])
        alive = eval(sandbox.output.strip().splitlines()[-1])
        assert len(alive) <= 2, f"only the namespace's init and the worker should be left: {alive}"


@needs_bwrap
def test_each_sandbox_has_its_own_uid():
    # RLIMIT_NPROC counts per uid: a fork storm in one sandbox must not use up another's processes
    with Sandbox(use_bwrap=True) as first, Sandbox(use_bwrap=True) as second:
        first.load(["import os\nprint(os.getuid())"])
        second.load(["import os\nprint(os.getuid())"])
        assert first.output.split()[-1] != second.output.split()[-1]
