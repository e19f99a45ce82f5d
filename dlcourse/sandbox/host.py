"""What the grading machine allows the bubblewrap sandbox, read from a filesystem root so that tests can fake any host.

:class:`Host` reads what decides whether bwrap can build the sandbox of
:mod:`dlcourse.sandbox.isolation`: the kernel's settings for unprivileged user
namespaces, the container the grader runs in (Docker, Podman, Kubernetes),
the process's seccomp mode and capabilities, and the cores and memory it may
use (affinity, cgroup v2 limits, Slurm's allocation).  Every file is read
under ``Host.root`` and every variable from ``Host.environ``, so a test builds
a fake ``proc/`` and ``sys/`` tree and a fake ``bwrap`` script instead of
needing a machine that fails.

:func:`explain_bwrap_error` turns bubblewrap's stderr into a cause and the
exact fixes.  ``BWRAP_ERRORS`` and the ``FIX_*`` texts are the one copy of
these facts: ``dlcourse doctor`` prints them and ``docs/grading.md`` points here.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.sandbox.isolation import namespace_args

CAP_SYS_ADMIN = 21  # bit of CapEff in /proc/self/status (linux/capability.h)
SYSCTL_FILE = "/etc/sysctl.d/60-dlcourse-userns.conf"  # where a sysctl fix is kept across reboots

FIX_INSTALL = "apt-get install -y bubblewrap    (Debian and Ubuntu package)"
FIX_APPARMOR = (
    "Ubuntu 23.10+ lets only programs with an AppArmor profile create user namespaces; load AppArmor's bwrap "
    "profile: apt-get install -y apparmor-profiles && ln -s /usr/share/apparmor/extra-profiles/bwrap-userns-restrict "
    "/etc/apparmor.d/ && apparmor_parser -r /etc/apparmor.d/bwrap-userns-restrict",
    f"or lift the restriction: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 and, to keep it, the line "
    f"kernel.apparmor_restrict_unprivileged_userns=0 in {SYSCTL_FILE}",
    "or grade as root (then no user namespace is made)",
)
FIX_USERNS_CLONE = (
    f"sysctl -w kernel.unprivileged_userns_clone=1 and, to keep it, the line kernel.unprivileged_userns_clone=1 in "
    f"{SYSCTL_FILE}",
    "or grade as root (then no user namespace is made)",
)
FIX_MAX_USERNS = (
    f"sysctl -w user.max_user_namespaces=15000 and, to keep it, the line user.max_user_namespaces=15000 in "
    f"{SYSCTL_FILE}",
    "or grade as root (then no user namespace is made)",
)
FIX_DOCKER_SECCOMP = ("Docker: docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined "
                      "(the default seccomp profile refuses namespaces to a process without CAP_SYS_ADMIN)")
FIX_KUBERNETES_SECCOMP = ("Kubernetes: in the container's securityContext, seccompProfile: {type: Unconfined} and "
                          "appArmorProfile: {type: Unconfined}")
FIX_ROOT_WITHOUT_SYS_ADMIN = (
    "run dlcourse grade as a non-root user: bwrap then makes a user namespace of its own (docker run --user 1000, "
    "Kubernetes securityContext.runAsUser: 1000)",
    "or give the container CAP_SYS_ADMIN: docker run --cap-add SYS_ADMIN --security-opt seccomp=unconfined "
    "--security-opt apparmor=unconfined; Kubernetes securityContext.capabilities.add: [SYS_ADMIN]",
)
FIX_PROC = (
    "the container masks parts of /proc, and the kernel then refuses a new /proc to a user namespace: "
    "Podman: podman run --security-opt unmask=ALL; Kubernetes: securityContext.procMount: Unmasked "
    "(needs spec.hostUsers: false)",
    "or grade as root with CAP_SYS_ADMIN (no user namespace: the mask does not apply)",
)


@dataclass(frozen=True)
class BwrapError:
    """One of bubblewrap's error messages: the text it contains, what causes it, and the kind of fix."""

    marker: str
    cause: str
    remedy: str  # "apparmor", "userns", "max_userns", "root_caps", "proc", "container"


# Checked in order: the first marker found in bwrap's stderr names the cause.
BWRAP_ERRORS = (
    BwrapError("setting up uid map", "the user namespace was made but its uid map refused: AppArmor's "
               "restriction of unprivileged user namespaces (Ubuntu 23.10+)", "apparmor"),
    BwrapError("RTM_NEWADDR", "the new network namespace may not be configured: AppArmor's restriction of "
               "unprivileged user namespaces (Ubuntu 23.10+)", "apparmor"),
    BwrapError("No permissions to creat", "the kernel, AppArmor or the container's seccomp profile refuses "
               "unprivileged user namespaces", "userns"),
    BwrapError("No space left on device", "user.max_user_namespaces is 0 (or the namespace nesting limit is "
               "reached)", "max_userns"),
    BwrapError("ENOSPC", "user.max_user_namespaces is 0 (or the namespace nesting limit is reached)", "max_userns"),
    BwrapError("Creating new namespace failed: Operation not permitted", "namespaces may not be created here: as root "
               "without CAP_SYS_ADMIN (a container), or refused by seccomp", "root_caps"),
    BwrapError("Can't mount proc", "a new /proc may not be mounted: the container masks parts of its /proc",
               "proc"),
    BwrapError("Failed to make / slave", "mounts are refused: the container's seccomp or AppArmor profile",
               "container"),
)


@dataclass(frozen=True)
class Host:
    """The grading machine as far as the sandbox cares: files under ``root``, an euid, an environment, bwrap.

    Args:
        root: the filesystem root to read ``proc/``, ``sys/``, ``etc/`` and
            ``.dockerenv`` under: ``/`` for this machine, a fake tree in tests.
        euid: the effective uid ``dlcourse grade`` runs as (0: no user namespace).
        environ: the environment (``container``, ``KUBERNETES_SERVICE_HOST``, ``SLURM_*``).
        bwrap: the bwrap executable, or None when it is not installed.
        affinity: the cores this process may run on (``os.sched_getaffinity``);
            None to count ``cpu_count``.
        cpu_count: the machine's cores (``os.cpu_count()``).

    Example::

        >>> host = Host.current()
        >>> host.usable_cores()        # doctest: +SKIP
        (2, 'the cores this process may use')
    """

    root: Path = Path("/")
    euid: int = 0
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    bwrap: str | None = None
    affinity: int | None = None
    cpu_count: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.euid, int) or self.euid < 0:
            raise ValueError(f"euid must be a non-negative int, got {self.euid!r}")
        if not isinstance(self.cpu_count, int) or self.cpu_count < 1:
            raise ValueError(f"cpu_count must be a positive int, got {self.cpu_count!r}")
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def current(cls) -> Host:
        """This machine, as ``dlcourse grade`` would see it (bwrap found on PATH as the sandbox finds it)."""
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        return cls(Path("/"), os.geteuid(), dict(os.environ), shutil.which("bwrap"), affinity, os.cpu_count() or 1)

    @property
    def as_root(self) -> bool:
        return self.euid == 0

    def read(self, path: str) -> str | None:
        """The text of ``path`` (absolute, read under ``root``), or None when it is missing or unreadable."""
        try:
            return (self.root / path.lstrip("/")).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def _number(self, path: str) -> int | None:
        text = self.read(path)
        try:
            return int(text.split()[0]) if text and text.split() else None
        except ValueError:
            return None

    def sysctl(self, name: str) -> int | None:
        """A numeric sysctl (``"kernel.unprivileged_userns_clone"``) from ``/proc/sys``; None when absent."""
        return self._number("/proc/sys/" + name.replace(".", "/"))

    def status(self, key: str) -> str | None:
        """A field of ``/proc/self/status`` (``"Seccomp"``, ``"CapEff"``), as text."""
        for line in (self.read("/proc/self/status") or "").splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return value.strip()
        return None

    def has_sys_admin(self) -> bool | None:
        """Whether CAP_SYS_ADMIN is in the effective capabilities; None when unknown."""
        value = self.status("CapEff")
        try:
            return bool(int(value, 16) >> CAP_SYS_ADMIN & 1) if value else None
        except ValueError:
            return None

    def seccomp_mode(self) -> int | None:
        """0 (none), 1 (strict) or 2 (a filter, as containers set); None when unknown."""
        value = self.status("Seccomp")
        return int(value) if value and value.isdigit() else None

    def container(self) -> str | None:
        """"kubernetes", "podman", "docker", another runtime's name, or None outside a container (as far as seen)."""
        if self.environ.get("KUBERNETES_SERVICE_HOST"):
            return "kubernetes"
        if self.read("/run/.containerenv") is not None:
            return "podman"
        if (self.root / ".dockerenv").exists():
            return "docker"
        if self.environ.get("container"):
            return self.environ["container"]
        cgroups = self.read("/proc/1/cgroup") or ""
        for name in ("kubepods", "docker", "libpod", "containerd", "lxc"):
            if name in cgroups:
                return "kubernetes" if name == "kubepods" else "podman" if name == "libpod" else name
        return None

    def bwrap_is_setuid(self) -> bool:
        """A setuid-root bwrap needs no unprivileged user namespaces (older RHEL, some distributions)."""
        try:
            return bool(self.bwrap) and bool(os.stat(self.bwrap).st_mode & stat.S_ISUID)
        except OSError:
            return False

    def bwrap_version(self) -> str:
        """``bwrap --version``'s answer, or why there is none."""
        if not self.bwrap:
            return "not installed"
        try:
            done = subprocess.run([self.bwrap, "--version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"does not run ({error})"
        return (done.stdout.strip() or done.stderr.strip() or f"exit status {done.returncode}").splitlines()[0]

    def probe_command(self) -> list[str]:
        """The smallest bwrap command with the sandbox's namespaces, /proc, /dev and dropped capabilities."""
        if not self.bwrap:
            raise ValueError("no bwrap to probe (Host.bwrap is None)")
        return [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL", *namespace_args(self.as_root), "true"]

    def probe(self, timeout_s: float = 20.0) -> tuple[bool, str]:
        """Run :meth:`probe_command`: (whether bwrap built the sandbox, its stderr or why it did not run)."""
        try:
            done = subprocess.run(self.probe_command(), capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False, f"bwrap did not finish within {timeout_s:g} s"
        except OSError as error:
            return False, f"bwrap could not be run: {error}"
        return done.returncode == 0, done.stderr.strip()

    # ------------------------------------------------------------------ resources

    def _cgroup_dirs(self, controller: str) -> list[str]:
        """This process's cgroup directories that hold ``controller``'s files, its own first, then its ancestors
        (a limit applies all the way down): cgroup v2's one hierarchy (``0::/path``) and the v1 hierarchy that
        has the controller (``4:memory:/path``, mounted at ``/sys/fs/cgroup/memory``).  In a container without
        a cgroup namespace the path is the host's; the walk up still reaches the mount's root, the container's
        own cgroup."""
        found = []
        for line in (self.read("/proc/self/cgroup") or "").splitlines():
            number, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if number == "0" and not controllers:
                mount = "/sys/fs/cgroup"
            elif controller in controllers.split(","):
                mount = "/sys/fs/cgroup/" + controllers
            else:
                continue
            parts = [part for part in path.strip().split("/") if part]
            found += ["/".join([mount, *parts[:depth]]) for depth in range(len(parts), -1, -1)]
        return found

    def cgroup_cores(self) -> float | None:
        """The tightest CPU quota of this process's cgroups, in cores (None: no quota): cgroup v2's ``cpu.max``
        (``"quota period"`` or ``"max period"``), v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none)."""
        quotas = []
        for directory in self._cgroup_dirs("cpu"):
            v2 = (self.read(directory + "/cpu.max") or "").split()
            v1 = [self._number(directory + "/cpu.cfs_quota_us"), self._number(directory + "/cpu.cfs_period_us")]
            quota, period = v2 if len(v2) == 2 else v1
            with contextlib.suppress(TypeError, ValueError, ZeroDivisionError):  # "max", -1 or a malformed file
                if int(quota) > 0:
                    quotas.append(int(quota) / int(period))
        return min(quotas) if quotas else None

    def cgroup_memory_mb(self) -> int | None:
        """The tightest memory limit of this process's cgroups minus what that cgroup already uses, in MB (None:
        no limit): cgroup v2's ``memory.max`` and ``memory.current``, v1's ``memory.limit_in_bytes`` and
        ``memory.usage_in_bytes`` (v1 writes "no limit" as a number near 2**63)."""
        limits = []
        for directory in self._cgroup_dirs("memory"):
            for limit_file, usage_file in (("memory.max", "memory.current"),
                                           ("memory.limit_in_bytes", "memory.usage_in_bytes")):
                limit = self._number(f"{directory}/{limit_file}")
                if limit is not None and limit < 2**60:
                    used = self._number(f"{directory}/{usage_file}") or 0
                    limits.append(max(limit - used, 0) // 2**20)
        return min(limits) if limits else None

    def slurm_cores(self) -> int | None:
        """Cores Slurm gave this job (``SLURM_CPUS_PER_TASK``, else ``SLURM_CPUS_ON_NODE``)."""
        for name in ("SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"):
            value = self.environ.get(name, "")
            if value.isdigit() and int(value) > 0:
                return int(value)
        return None

    def usable_cores(self) -> tuple[int, str]:
        """The cores grading can really use and what limits them: affinity, a cgroup quota or Slurm."""
        found = [(self.affinity or self.cpu_count, "the cores this process may use")]
        quota = self.cgroup_cores()
        if quota is not None:
            found.append((max(1, math.floor(quota)), f"the cgroup's CPU quota ({quota:g} cores)"))
        slurm = self.slurm_cores()
        if slurm is not None:
            found.append((slurm, "Slurm's allocation (SLURM_CPUS_PER_TASK/SLURM_CPUS_ON_NODE)"))
        return min(found, key=lambda pair: pair[0])

    def usable_memory_mb(self) -> tuple[int | None, str]:
        """The memory grading may use, in MB, and what limits it: MemAvailable, the cgroup or Slurm."""
        found = []
        for line in (self.read("/proc/meminfo") or "").splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) // 1024, "MemAvailable"))
        cgroup = self.cgroup_memory_mb()
        if cgroup is not None:
            found.append((cgroup, "the cgroup's memory limit"))
        per_node = self.environ.get("SLURM_MEM_PER_NODE", "")
        per_cpu = self.environ.get("SLURM_MEM_PER_CPU", "")
        if per_node.isdigit() and int(per_node) > 0:  # Slurm gives MB
            found.append((int(per_node), "Slurm's SLURM_MEM_PER_NODE"))
        elif per_cpu.isdigit() and int(per_cpu) > 0:
            found.append((int(per_cpu) * (self.slurm_cores() or 1), "Slurm's SLURM_MEM_PER_CPU x cores"))
        return min(found, key=lambda pair: pair[0]) if found else (None, "unknown")


def usable_cores() -> int:
    """How many cores this process may really use (affinity, cgroup quota, Slurm): ``dlcourse grade``'s default.

    ``os.cpu_count()`` counts the machine's cores even when a container, a
    cgroup quota or a Slurm job allows fewer; that many grading processes
    would then share the allowed ones and the sandboxes' time limits fire.
    """
    return Host.current().usable_cores()[0]


def explain_bwrap_error(stderr: str, host: Host) -> tuple[str, list[str]]:
    """The cause of bwrap's failure and the fixes that apply on ``host``, from bwrap's stderr.

    Args:
        stderr: what bwrap printed (e.g. ``"bwrap: setting up uid map: Permission denied"``).
        host: the machine, for the fixes that depend on it (root or not, which container).

    Returns:
        ``(cause, fixes)``; an unknown message gives a generic cause and a pointer to the probe.
    """
    if not isinstance(stderr, str):
        raise TypeError(f"stderr must be str, got {type(stderr).__name__}")
    known = next((error for error in BWRAP_ERRORS if error.marker in stderr), None)
    if known is None:
        return ("bwrap failed with a message dlcourse does not know", [
            "run the probe by hand (dlcourse doctor --json shows its command) and see bubblewrap's issues: "
            "https://github.com/containers/bubblewrap/issues"])
    container = host.container()
    container_fixes = ([FIX_KUBERNETES_SECCOMP] if container == "kubernetes"
                       else [FIX_DOCKER_SECCOMP] if container else [])
    remedy = known.remedy
    if remedy == "apparmor":
        fixes = list(FIX_APPARMOR)
    elif remedy == "proc":
        fixes = list(FIX_PROC)
    elif remedy == "max_userns":
        fixes = list(FIX_MAX_USERNS)
    elif remedy == "root_caps" and host.as_root:
        # a seccomp filter also refuses namespaces (to a non-root user too); without one its fix would not help
        fixes = [*FIX_ROOT_WITHOUT_SYS_ADMIN, *(container_fixes if host.seccomp_mode() != 0 else [])]
    elif remedy == "container":
        fixes = container_fixes or [FIX_DOCKER_SECCOMP, FIX_KUBERNETES_SECCOMP]
    else:  # "userns", or "root_caps" as another user: a user namespace was refused
        fixes = list(container_fixes)
        if host.sysctl("kernel.apparmor_restrict_unprivileged_userns") == 1:
            fixes += FIX_APPARMOR
        if host.sysctl("kernel.unprivileged_userns_clone") == 0:
            fixes += FIX_USERNS_CLONE
        if host.sysctl("user.max_user_namespaces") == 0:
            fixes += FIX_MAX_USERNS
        if not fixes:
            fixes = [FIX_DOCKER_SECCOMP, FIX_KUBERNETES_SECCOMP, *FIX_USERNS_CLONE]
    return known.cause, list(dict.fromkeys(fixes))  # a fix named twice is shown once


__all__ = ["BWRAP_ERRORS", "CAP_SYS_ADMIN", "FIX_APPARMOR", "FIX_DOCKER_SECCOMP", "FIX_INSTALL",
           "FIX_KUBERNETES_SECCOMP", "FIX_MAX_USERNS", "FIX_PROC", "FIX_ROOT_WITHOUT_SYS_ADMIN", "FIX_USERNS_CLONE",
           "SYSCTL_FILE", "BwrapError", "Host", "explain_bwrap_error", "usable_cores"]
