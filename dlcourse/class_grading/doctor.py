"""``dlcourse doctor``: will ``dlcourse grade`` run sandboxed on this machine, and is the course gradeable?

Run on the grading machine before the deadline (or as a cluster job's first
line).  Each check is a short function returning a :class:`Finding`; they run
in the order of the literal ``CHECKS`` table:

1. ``bubblewrap``: installed, and its version;
2. ``user-namespaces``: the kernel settings for unprivileged user namespaces
   (they matter only when grading as another user than root);
3. ``container``: Docker, Podman or Kubernetes, seccomp, root without CAP_SYS_ADMIN;
4. ``sandbox``: bwrap run with the sandbox's own namespaces; a failure's
   stderr is explained (:func:`dlcourse.sandbox.host.explain_bwrap_error`);
5. ``worker``: one real sandboxed worker started (``isolation_check``);
6. ``cores`` and ``memory``: what grading may use against ``--workers`` x ``--memory``;
7. ``course`` and ``assignment``: nbgrader_config.py, the sources, the gradebook.

The fixes' texts live in :mod:`dlcourse.sandbox.host` (one copy, which
``docs/grading.md`` points to).  Every probe goes through a
:class:`~dlcourse.sandbox.host.Host`, so tests simulate each failure with a
fake filesystem tree, an euid, an environment and a fake ``bwrap`` script.
"""

from __future__ import annotations

import functools
import json
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlcourse.sandbox import SandboxError, isolation_check
from dlcourse.sandbox.host import (
    FIX_APPARMOR,
    FIX_DOCKER_SECCOMP,
    FIX_INSTALL,
    FIX_KUBERNETES_SECCOMP,
    FIX_MAX_USERNS,
    FIX_ROOT_WITHOUT_SYS_ADMIN,
    FIX_USERNS_CLONE,
    Host,
    explain_bwrap_error,
)

STATUSES = ("ok", "warn", "fail")
SANDBOX_CHECKS = ("bubblewrap", "user-namespaces", "container", "sandbox", "worker")
COURSE_CHECKS = ("course", "assignment")
INSTRUCTOR_TOOLS = 'pip install "dlcourse[instructor]"'


@dataclass(frozen=True)
class Finding:
    """The result of one check of ``dlcourse doctor``.

    Attributes:
        check: the check's id (``"bubblewrap"``, ``"sandbox"``, ``"memory"``, ...).
        status: ``"ok"``, ``"warn"`` (grading runs, but see the fix) or
            ``"fail"`` (grading will not run sandboxed, or the course is not gradeable).
        detail: what was found, in one line.
        fix: the exact commands or settings that fix it, one per line; empty when there is nothing to do.
    """

    check: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not self.check or not isinstance(self.check, str):
            raise ValueError(f"check must be a non-empty str, got {self.check!r}")


@dataclass
class Setup:
    """What the checks look at: the machine, the course, and the ``dlcourse grade`` options to be used.

    Args:
        host: the machine (``Host.current()``; a fake one in tests).
        course: the course directory (the one with ``nbgrader_config.py``).
        assignment: also check that this assignment can be graded (optional).
        workers: the ``--workers`` grading will use; None for ``dlcourse grade``'s default.
        memory_mb: the ``--memory`` grading will use (MB per sandbox).
        start_worker: starts one real sandboxed worker and returns its mode
            (default ``isolation_check(True)``); tests pass a stand-in.
    """

    host: Host
    course: Path = Path(".")
    assignment: str | None = None
    workers: int | None = None
    memory_mb: int = 2048
    start_worker: Callable[[], str] = field(default=functools.partial(isolation_check, True))

    def __post_init__(self) -> None:
        if not isinstance(self.host, Host):
            raise TypeError(f"host must be a dlcourse.sandbox.host.Host, got {type(self.host).__name__}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ValueError(f"workers must be a positive int or None, got {self.workers!r}")
        if not isinstance(self.memory_mb, int) or self.memory_mb < 1:
            raise ValueError(f"memory_mb must be a positive int, got {self.memory_mb!r}")
        self.course = Path(self.course)

    @functools.cached_property
    def probe(self) -> tuple[bool, str]:
        """bwrap run once with the sandbox's namespaces: (it worked, its stderr); (False, "") without bwrap."""
        return self.host.probe() if self.host.bwrap else (False, "")

    @functools.cached_property
    def course_settings(self) -> tuple[dict[str, str] | None, Finding | None]:
        """The course's nbgrader settings, or the Finding saying why there are none (read once per run)."""
        return _course(self.course.resolve())

    @functools.cached_property
    def gradebook(self) -> tuple[list[str], Exception | None]:
        """The assignments the gradebook knows, or the error reading it ([] and None without settings)."""
        settings, _ = self.course_settings
        if settings is None:
            return [], None
        try:
            return gradebook_assignments(settings["db_url"]), None
        except Exception as error:  # whatever the database driver raises: a wrong URL, a server down, no table
            return [], error


def _fixes(*lines: str) -> str:
    return "\n".join(dict.fromkeys(line for line in lines if line))


def check_bubblewrap(setup: Setup) -> Finding:
    """bwrap on PATH, and what ``bwrap --version`` says."""
    host = setup.host
    if not host.bwrap:
        return Finding("bubblewrap", "fail", "bwrap is not on PATH: dlcourse grade would use the plain subprocess, "
                       "which does not isolate files, network or processes", FIX_INSTALL)
    return Finding("bubblewrap", "ok", f"{host.bwrap} ({host.bwrap_version()})")


def check_user_namespaces(setup: Setup) -> Finding:
    """The kernel's settings for unprivileged user namespaces, which bwrap needs when not run as root."""
    host = setup.host
    restrict = host.sysctl("kernel.apparmor_restrict_unprivileged_userns")
    clone = host.sysctl("kernel.unprivileged_userns_clone")
    maximum = host.sysctl("user.max_user_namespaces")
    values = ", ".join(f"{name}={'absent' if value is None else value}" for name, value in (
        ("kernel.apparmor_restrict_unprivileged_userns", restrict), ("kernel.unprivileged_userns_clone", clone),
        ("user.max_user_namespaces", maximum)))
    if host.as_root:
        return Finding("user-namespaces", "ok", f"not needed: as root the sandbox makes no user namespace "
                       f"({values}; these matter only when grading as another user)")
    if host.bwrap_is_setuid():
        return Finding("user-namespaces", "ok", f"not needed: bwrap is setuid root ({values})")
    blocking, fixes = [], []
    if clone == 0:
        blocking.append("kernel.unprivileged_userns_clone=0 forbids them")
        fixes += FIX_USERNS_CLONE
    if maximum == 0:
        blocking.append("user.max_user_namespaces=0 allows none")
        fixes += FIX_MAX_USERNS
    if blocking:
        return Finding("user-namespaces", "fail", "; ".join(blocking), _fixes(*fixes))
    if restrict == 1:
        probe_ok = setup.probe[0]
        if probe_ok:
            return Finding("user-namespaces", "ok", f"AppArmor restricts them, but bwrap is allowed ({values})")
        return Finding("user-namespaces", "warn", "kernel.apparmor_restrict_unprivileged_userns=1: only programs "
                       "with an AppArmor profile that allows userns may create user namespaces",
                       _fixes(*FIX_APPARMOR))
    return Finding("user-namespaces", "ok", f"allowed ({values})")


def check_container(setup: Setup) -> Finding:
    """Docker, Podman or Kubernetes; seccomp mode; root without CAP_SYS_ADMIN (the root-mode sandbox needs it)."""
    host = setup.host
    name = host.container()
    seccomp = host.seccomp_mode()
    seccomp_text = {0: "seccomp off", 1: "seccomp strict", 2: "seccomp filter"}.get(seccomp, "seccomp unknown")
    if name is None:
        return Finding("container", "ok", f"not in a container ({seccomp_text})")
    container_fix = FIX_KUBERNETES_SECCOMP if name == "kubernetes" else FIX_DOCKER_SECCOMP
    probe_ok = setup.probe[0]
    if host.as_root and host.has_sys_admin() is False and not probe_ok:
        return Finding("container", "fail", f"root in a {name} container without CAP_SYS_ADMIN: the namespaces of "
                       f"the root-mode sandbox cannot be created ({seccomp_text})",
                       # a seccomp filter refuses namespaces too (to a non-root user as well): fix it with the rest
                       _fixes(*FIX_ROOT_WITHOUT_SYS_ADMIN, container_fix if seccomp != 0 else ""))
    if seccomp == 2 and not probe_ok:
        return Finding("container", "warn", f"in a {name} container with a seccomp filter, which may refuse "
                       f"namespaces (the sandbox line says whether it does)", container_fix)
    who = "root with CAP_SYS_ADMIN" if host.as_root and host.has_sys_admin() else f"uid {host.euid}"
    return Finding("container", "ok", f"in a {name} container, {who}, {seccomp_text}")


def check_sandbox(setup: Setup) -> Finding:
    """bwrap with the sandbox's namespaces; a failure's stderr turned into its cause and fix."""
    host = setup.host
    if not host.bwrap:
        return Finding("sandbox", "fail", "not tried: bubblewrap is not installed", FIX_INSTALL)
    works, stderr = setup.probe
    mode = ("as root: new IPC, PID, network, UTS and cgroup namespaces, no user namespace" if host.as_root
            else "as a user: --unshare-all, with a user namespace")
    if works:
        return Finding("sandbox", "ok", f"bwrap builds the sandbox's namespaces ({mode})")
    cause, fixes = explain_bwrap_error(stderr, host)
    first = stderr.splitlines()[0] if stderr else "no message"
    return Finding("sandbox", "fail", f"bwrap fails ({mode}): {first!r}: {cause}", _fixes(*fixes))


def check_worker(setup: Setup) -> Finding:
    """One real sandboxed worker started and answering, as ``dlcourse grade`` starts them."""
    if not setup.host.bwrap or not setup.probe[0]:
        return Finding("worker", "fail", "not started: bwrap cannot build the sandbox (see above)",
                       "fix the lines above; --no-bwrap grades without isolation (development only)")
    try:
        mode = setup.start_worker()
    except SandboxError as error:
        return Finding("worker", "fail", f"the sandboxed worker did not start: {error}",
                       "run the worker by hand: python -c 'from dlcourse.sandbox import isolation_check; "
                       "print(isolation_check(True))'")
    if mode != "bwrap":
        return Finding("worker", "fail", f"the worker ran in mode {mode!r}, not bubblewrap", FIX_INSTALL)
    return Finding("worker", "ok", "a sandboxed worker started and answered")


def _planned_workers(setup: Setup) -> int:
    return setup.workers or setup.host.usable_cores()[0]  # dlcourse grade's default: the usable cores


def check_cores(setup: Setup) -> Finding:
    """The cores grading may use (affinity, cgroup quota, Slurm) against ``--workers``."""
    cores, limit = setup.host.usable_cores()
    workers = _planned_workers(setup)
    detail = f"{cores} usable (limited by {limit}; the machine has {setup.host.cpu_count}), --workers {workers}"
    if workers > cores:
        return Finding("cores", "warn", f"{detail}: the grading processes would share the cores and the sandboxes' "
                       f"time limits fire sooner", f"dlcourse grade ASSIGNMENT --workers {cores}")
    return Finding("cores", "ok", detail)


def check_memory(setup: Setup) -> Finding:
    """The memory grading may use (MemAvailable, cgroup, Slurm) against ``--workers`` x ``--memory``."""
    available, limit = setup.host.usable_memory_mb()
    workers = _planned_workers(setup)
    needed = workers * setup.memory_mb
    if available is None:
        return Finding("memory", "warn", f"unknown (no /proc/meminfo); grading may use up to {needed} MB "
                       f"(--workers {workers} x --memory {setup.memory_mb})")
    detail = (f"{available} MB available ({limit}); up to {needed} MB needed "
              f"(--workers {workers} x --memory {setup.memory_mb} MB of address space per sandbox)")
    if needed <= available:
        return Finding("memory", "ok", detail)
    fewer = available // setup.memory_mb
    fixes = [f"dlcourse grade ASSIGNMENT --workers {fewer}"] if fewer >= 1 else []
    if available // workers >= 512:  # numpy alone takes ~100 MB of address space; below 512 exercises fail
        fixes.append(f"or dlcourse grade ASSIGNMENT --memory {available // workers}")
    return Finding("memory", "warn", f"{detail}: the machine may run out of memory and kill grading processes",
                   _fixes(*fixes) or f"grade on a machine with more than {setup.memory_mb} MB available")


def _source_assignments(source: Path) -> list[str]:
    return sorted(path.name for path in source.iterdir() if path.is_dir() and any(path.glob("*.ipynb")))


def gradebook_assignments(db_url: str) -> list[str]:
    """The assignments nbgrader's gradebook at ``db_url`` knows (read only; a missing sqlite file raises)."""
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
        raise FileNotFoundError(f"there is no gradebook at {db_url[len('sqlite:///'):]}")
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return sorted(row[0] for row in connection.execute(sqlalchemy.text("SELECT name FROM assignment")))
    finally:
        engine.dispose()


def _course(course: Path) -> tuple[dict[str, str] | None, Finding | None]:
    """The course's nbgrader settings, or the Finding saying why there are none."""
    if not (course / "nbgrader_config.py").is_file():
        return None, Finding("course", "fail", f"no nbgrader_config.py in {course}",
                             "run dlcourse doctor in the course directory, or pass --course DIR")
    try:
        from dlcourse.class_grading.gradebook import course_settings

        return course_settings(course), None
    except ImportError:
        return None, Finding("course", "fail", "nbgrader is not installed", INSTRUCTOR_TOOLS)
    except Exception as error:  # a broken config file raises whatever its code raises
        return None, Finding("course", "fail", f"nbgrader_config.py does not load: {type(error).__name__}: {error}",
                             f"fix {course / 'nbgrader_config.py'} (nbgrader reads it the same way: "
                             f"`nbgrader db assignment list` shows the same error)")


def check_course(setup: Setup) -> Finding:
    """nbgrader_config.py loads, the source folder holds assignments, the gradebook knows them."""
    course = setup.course.resolve()
    settings, problem = setup.course_settings
    if problem is not None:
        return problem
    source = course / settings["source"]
    assignments = _source_assignments(source) if source.is_dir() else []
    if not assignments:
        return Finding("course", "fail", f"no assignment (a folder with notebooks) in {source}",
                       f"put each assignment's instructor notebooks in {source}/NAME/")
    known, error = setup.gradebook
    if isinstance(error, FileNotFoundError):
        return Finding("course", "fail", f"{error}", f"nbgrader generate_assignment {assignments[0]}    "
                       f"(in {course}; it creates the gradebook and records the assignment)")
    if error is not None:
        return Finding("course", "fail", f"the gradebook {settings['db_url']} cannot be read: {error}",
                       "check c.CourseDirectory.db_url in nbgrader_config.py, or pass --db to dlcourse grade")
    unknown = [name for name in assignments if name not in known]
    detail = (f"{course}: {len(assignments)} assignment(s) in {settings['source']}/, "
              f"{len(known)} in the gradebook ({settings['db_url']})")
    if unknown and len(unknown) == len(assignments):
        return Finding("course", "fail", f"{detail}; none of the sources is in the gradebook",
                       _fixes(*(f"nbgrader generate_assignment {name}" for name in unknown)))
    if unknown:
        return Finding("course", "warn", f"{detail}; not in the gradebook (cannot be graded yet): "
                       f"{', '.join(unknown)}", _fixes(*(f"nbgrader generate_assignment {name}" for name in unknown)))
    return Finding("course", "ok", detail)


def check_assignment(setup: Setup) -> Finding | None:
    """``--assignment NAME``: its sources exist and the gradebook knows it (None when no assignment was asked)."""
    name = setup.assignment
    if name is None:
        return None
    settings, problem = setup.course_settings
    if problem is not None:
        return Finding("assignment", "fail", f"{name}: the course cannot be read (see above)", problem.fix)
    source = setup.course.resolve() / settings["source"] / name
    if not source.is_dir() or not any(source.glob("*.ipynb")):
        return Finding("assignment", "fail", f"{name}: no notebooks in {source}",
                       f"check the name, or put its instructor notebooks in {source}/")
    known, error = setup.gradebook
    if error is not None:
        return Finding("assignment", "fail", f"{name}: the gradebook cannot be read: {error}",
                       f"nbgrader generate_assignment {name}")
    if name not in known:
        return Finding("assignment", "fail", f"{name} is not in the gradebook", f"nbgrader generate_assignment {name}")
    return Finding("assignment", "ok", f"{name}: sources in {settings['source']}/{name}/ and in the gradebook")


# The checks in the order they run and are printed (each reads the Setup; the probe runs once, cached).
CHECKS: tuple[Callable[[Setup], Finding | None], ...] = (
    check_bubblewrap, check_user_namespaces, check_container, check_sandbox, check_worker, check_cores,
    check_memory, check_course, check_assignment)


@dataclass(frozen=True)
class Report:
    """Every check's :class:`Finding`, and what they add up to."""

    findings: tuple[Finding, ...]

    def _failed(self, checks: tuple[str, ...]) -> list[Finding]:
        return [finding for finding in self.findings if finding.check in checks and finding.status == "fail"]

    @property
    def sandboxed(self) -> bool:
        """Whether ``dlcourse grade`` will run the students' code in bubblewrap."""
        return not self._failed(SANDBOX_CHECKS)

    @property
    def gradeable(self) -> bool:
        """Whether the course (and the assignment asked for) can be graded."""
        return not self._failed(COURSE_CHECKS)

    @property
    def exit_status(self) -> int:
        """0 when grading will run sandboxed and the course is gradeable, else 1."""
        return 0 if self.sandboxed and self.gradeable else 1

    def verdict(self) -> str:
        if not self.sandboxed:
            first = self._failed(SANDBOX_CHECKS)[0]
            return f"dlcourse grade will NOT run sandboxed: {first.check}: {first.detail}"
        if not self.gradeable:
            first = self._failed(COURSE_CHECKS)[0]
            return f"dlcourse grade will run sandboxed (bubblewrap), but the course is not ready: {first.detail}"
        return "dlcourse grade will run sandboxed (bubblewrap)"

    def text(self, width: int | None = None) -> str:
        """One line per check, its fixes indented under it, then the verdict; wrapped at ``width`` columns
        (default: the terminal's, 100 when not a terminal) with words and command flags kept whole."""
        width = width or shutil.get_terminal_size((100, 24)).columns
        name_width = max(len(finding.check) for finding in self.findings)
        indent = " " * (name_width + 8)
        lines, shown = [], {}  # a fix already printed under an earlier check is named, not repeated

        def wrapped(first: str, text: str, hanging: str) -> list[str]:
            return textwrap.wrap(text, max(width, 60), initial_indent=first, subsequent_indent=hanging,
                                 break_long_words=False, break_on_hyphens=False)

        for finding in self.findings:
            lines += wrapped(f"{finding.status.upper():<5} {finding.check:<{name_width}}  ", finding.detail, indent)
            fixes = finding.fix.splitlines()
            repeated = [fix for fix in fixes if fix in shown]
            for fix in fixes:
                if fix not in shown:
                    lines += wrapped(indent + "fix: ", fix, indent + "     ")
            if repeated:
                lines.append(f"{indent}fix: as under {', '.join(dict.fromkeys(shown[fix] for fix in repeated))} above")
            shown.update({fix: finding.check for fix in fixes if fix not in shown})
        return "\n".join([*lines, "", *wrapped("", self.verdict(), "")])

    def as_dict(self) -> dict:
        """For ``--json``: the findings, the two conclusions, the verdict and the exit status."""
        return {"findings": [asdict(finding) for finding in self.findings], "sandboxed": self.sandboxed,
                "gradeable": self.gradeable, "verdict": self.verdict(), "exit_status": self.exit_status}

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def run_doctor(setup: Setup) -> Report:
    """Run every check of ``CHECKS`` on ``setup``.

    Args:
        setup: the machine, the course and the grading options to check.

    Returns:
        A :class:`Report`; ``report.exit_status`` is ``dlcourse doctor``'s.

    Example::

        >>> report = run_doctor(Setup(Host.current(), course=Path("course")))   # doctest: +SKIP
        >>> print(report.text())                                                # doctest: +SKIP
        OK    bubblewrap       /usr/bin/bwrap (bubblewrap 0.8.0)
        ...
    """
    if not isinstance(setup, Setup):
        raise TypeError(f"setup must be a Setup, got {type(setup).__name__}")
    findings = (check(setup) for check in CHECKS)
    return Report(tuple(finding for finding in findings if finding is not None))


__all__ = ["CHECKS", "Finding", "Report", "Setup", "check_assignment", "check_bubblewrap", "check_container",
           "check_cores", "check_course", "check_memory", "check_sandbox", "check_user_namespaces", "check_worker",
           "gradebook_assignments", "run_doctor"]
