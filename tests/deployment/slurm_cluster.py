"""A one-node Slurm cluster in a temporary directory, for the tests: munged, slurmctld and slurmd as child processes.

Nothing of the system's own munge or Slurm is used: the key, the socket, the
``slurm.conf``, the state, the spool, the logs and the pid files all live
under the directory given to :func:`slurm_cluster`, the daemons listen on
free ports, and every command reaches this cluster through ``SLURM_CONF``.
Everything runs as root (``SlurmUser=root``, jobs of the submitting root),
which is what a container running the tests is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from local_servers import free_port

DAEMONS = ("mungekey", "munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel")
CPUS = 2


def missing_requirements() -> str:
    """Why a test cluster cannot start here ("" if it can): root and the Slurm and munge programs are needed."""
    if os.geteuid() != 0:
        return "the Slurm test cluster runs slurmd, which needs root (run the tests as root, e.g. in a container)"
    missing = [name for name in DAEMONS + CLIENTS if shutil.which(name) is None
               and not Path("/usr/sbin", name).exists()]
    if missing:
        return (f"Slurm or munge is not installed (missing: {', '.join(missing)}); on Debian: "
                f"apt-get install slurmctld slurmd slurm-client munge")
    return ""


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _memory_mb() -> int:
    """This machine's memory in MB, a little below what slurmd measures (a larger RealMemory drains the node)."""
    total_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:"))
    return int(total_kb / 1024 * 0.95)


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    env: dict[str, str]
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *args: str, cwd: Path | None = None, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
        """A Slurm command (or any other) against this cluster."""
        result = subprocess.run(list(args), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=60,
                                input=input)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                               f"{self.logs()}")
        return result

    def queue(self) -> list[tuple[str, str, str]]:
        """The jobs still known to squeue: (job id, e.g. ``7_3`` for an array task, state, reason)."""
        out = self.run("squeue", "--noheader", "--array", "--format=%i %T %r").stdout
        return [tuple(line.split(maxsplit=2)) for line in out.splitlines() if line.strip()]

    def start(self, daemon: str, *args: str) -> None:
        """Start ``daemon`` as a child process; what it prints goes to ``log/DAEMON.stderr.log``."""
        with open(self.root / "log" / f"{daemon}.stderr.log", "wb") as printed:
            self.daemons[daemon] = subprocess.Popen([_program(daemon), *args], env=self.env, stdout=printed,
                                                    stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        """True while every daemon runs; raises, with the logs, once one has exited."""
        exited = [name for name, process in self.daemons.items() if process.poll() is not None]
        if exited:
            raise RuntimeError(f"{', '.join(exited)} exited\n{self.logs()}")
        return True

    def logs(self, tail: int = 4000) -> str:
        """The daemons' logs (their ends), for failure messages."""
        parts = []
        for path in sorted((self.root / "log").glob("*.log")):
            parts.append(f"--- {path.name} (last {tail} characters) ---\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)


def _write_conf(root: Path, node: str) -> Path:
    conf = root / "slurm.conf"
    conf.write_text(f"""\
ClusterName=dlcourse-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root / 'munge' / 'munge.socket'}
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}
SlurmdPidFile={root / 'run' / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
NodeName={node} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP
""")
    return conf


def wait_for(condition: Callable[[], bool], seconds: float, what: str, cluster: SlurmCluster) -> None:
    """Poll ``condition`` until it holds; after ``seconds``, fail with ``what`` and the daemons' logs."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}\n{cluster.logs()}")
        time.sleep(0.2)


def _node_idle(cluster: SlurmCluster) -> bool:
    result = cluster.run("sinfo", "--noheader", "--Node", "--format=%t", check=False)
    return result.returncode == 0 and result.stdout.strip() == "idle"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def slurm_cluster(root: Path) -> Iterator[SlurmCluster]:
    """A running one-node cluster under ``root``; on exit its jobs are cancelled and every daemon is stopped."""
    for folder in ("munge", "state", "spool", "log", "run"):
        (root / folder).mkdir(parents=True, mode=0o700)
    node = socket.gethostname().split(".")[0]
    env = dict(os.environ, SLURM_CONF=str(_write_conf(root, node)))
    cluster = SlurmCluster(root, Path(env["SLURM_CONF"]), env)
    munge = root / "munge"
    try:
        cluster.run(_program("mungekey"), "--create", f"--keyfile={munge / 'munge.key'}")
        # --force: munged otherwise refuses a socket under a world-writable /tmp ancestor
        cluster.start("munged", "--foreground", "--force", f"--socket={munge / 'munge.socket'}",
                      f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
                      f"--seed-file={munge / 'munged.seed'}", f"--log-file={root / 'log' / 'munged.log'}")
        wait_for(lambda: cluster.alive() and (munge / "munge.socket").exists(), 20, "munged's socket", cluster)
        # -D: in the foreground, so that they are our children
        cluster.start("slurmctld", "-D")
        cluster.start("slurmd", "-D")
        wait_for(lambda: cluster.alive() and _node_idle(cluster), 60, "the node to be idle in sinfo", cluster)
        yield cluster
    finally:
        if "slurmctld" in cluster.daemons and cluster.daemons["slurmctld"].poll() is None:
            cluster.run("scancel", "--full", f"--user={os.getuid()}", check=False)
            with contextlib.suppress(RuntimeError):
                wait_for(lambda: not cluster.queue(), 30, "the cancelled jobs to end", cluster)
        for name in ("slurmd", "slurmctld", "munged"):
            if name in cluster.daemons:
                _stop(cluster.daemons[name])
        _kill_leftovers(cluster.conf)


def _kill_leftovers(conf: Path) -> None:
    """Kill what this cluster started and survived its daemons (slurmstepd, job scripts): they carry its SLURM_CONF."""
    mark = f"SLURM_CONF={conf}".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if mark in (proc / "environ").read_bytes().split(b"\0"):
                    os.kill(int(proc.name), signal.SIGKILL)


__all__ = ["SlurmCluster", "missing_requirements", "slurm_cluster", "wait_for"]
