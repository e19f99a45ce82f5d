"""dlcourse doctor: each failure simulated on a fake host (a filesystem tree, an euid, an environment, a fake bwrap
script printing bubblewrap's own message), plus one real run on this machine."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcourse import cli
from dlcourse.class_grading.doctor import Finding, Report, Setup, run_doctor
from dlcourse.sandbox import SandboxError
from dlcourse.sandbox.host import SYSCTL_FILE, Host

REPO = Path(__file__).resolve().parents[2]
ALL_CAPS = "000001ffffffffff"
DOCKER_DEFAULT_CAPS = "00000000a80425fb"  # no CAP_SYS_ADMIN
BASE = {"proc/self/status": f"CapEff:\t{ALL_CAPS}\nSeccomp:\t0\n", "proc/meminfo": "MemAvailable:   16777216 kB\n",
        "proc/sys/user/max_user_namespaces": "15000\n", "proc/self/cgroup": "0::/\n"}


def fake_bwrap(tmp_path, stderr="", status=0):
    script = tmp_path / "bin" / "bwrap"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "bubblewrap 0.9.0"; exit 0; fi\n'
                      f"printf '%s\\n' {json.dumps(stderr)} >&2\nexit {status}\n")
    script.chmod(0o755)
    return str(script)


def fake_host(tmp_path, files=(), euid=1000, environ=None, bwrap_stderr=None, cores=8):
    root = tmp_path / "root"
    for relative, text in {**BASE, **dict(files)}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    bwrap = None if bwrap_stderr is None else fake_bwrap(tmp_path, bwrap_stderr, 1 if bwrap_stderr else 0)
    return Host(root, euid, environ or {}, bwrap, cores, cores)


def fake_course(tmp_path, gradebook=("ps1",)):
    course = tmp_path / "course"
    (course / "solutions" / "ps1").mkdir(parents=True)
    (course / "solutions" / "ps1" / "ps1.ipynb").write_text("{}")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n')
    if gradebook is not None:
        with sqlite3.connect(course / "gradebook.db") as db:
            db.execute("CREATE TABLE assignment (name TEXT)")
            db.executemany("INSERT INTO assignment VALUES (?)", [(name,) for name in gradebook])
    return course


def diagnose(host, course=None, **options):
    options.setdefault("start_worker", lambda: "bwrap")
    return run_doctor(Setup(host, course or Path("/nonexistent"), **options))


def finding(report, check):
    return next(found for found in report.findings if found.check == check)


def test_without_bwrap_grading_is_not_sandboxed(tmp_path):
    report = diagnose(fake_host(tmp_path))
    assert finding(report, "bubblewrap").status == "fail"
    assert "apt-get install -y bubblewrap" in finding(report, "bubblewrap").fix
    assert finding(report, "worker").status == "fail" and report.exit_status == 1
    assert report.verdict().startswith("dlcourse grade will NOT run sandboxed: bubblewrap")


def test_ubuntu_apparmor_restriction_uid_map(tmp_path):
    host = fake_host(tmp_path, {"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"},
                     bwrap_stderr="bwrap: setting up uid map: Permission denied")
    report = diagnose(host)
    userns, sandbox = finding(report, "user-namespaces"), finding(report, "sandbox")
    assert userns.status == "warn" and "bwrap-userns-restrict" in userns.fix
    assert sandbox.status == "fail" and "AppArmor" in sandbox.detail
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in sandbox.fix and SYSCTL_FILE in sandbox.fix
    assert finding(report, "worker").status == "fail" and report.exit_status == 1


def test_ubuntu_apparmor_restriction_loopback(tmp_path):
    host = fake_host(tmp_path, {"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"},
                     bwrap_stderr="bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted")
    assert "apparmor_parser -r /etc/apparmor.d/bwrap-userns-restrict" in finding(diagnose(host), "sandbox").fix


def test_debian_unprivileged_userns_clone_0(tmp_path):
    host = fake_host(tmp_path, {"proc/sys/kernel/unprivileged_userns_clone": "0\n"}, bwrap_stderr=(
        "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged "
        "user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'."))
    report = diagnose(host)
    for check in ("user-namespaces", "sandbox"):
        assert finding(report, check).status == "fail"
        assert "sysctl -w kernel.unprivileged_userns_clone=1" in finding(report, check).fix
    assert report.exit_status == 1


def test_max_user_namespaces_0(tmp_path):
    host = fake_host(tmp_path, {"proc/sys/user/max_user_namespaces": "0\n"},
                     bwrap_stderr="bwrap: Creating new namespace failed: No space left on device")
    report = diagnose(host)
    assert finding(report, "user-namespaces").status == "fail"
    assert "user.max_user_namespaces=15000" in finding(report, "sandbox").fix


def test_as_root_the_user_namespace_settings_do_not_matter(tmp_path):
    host = fake_host(tmp_path, {"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n",
                                "proc/sys/kernel/unprivileged_userns_clone": "0\n"}, euid=0, bwrap_stderr="")
    userns = finding(diagnose(host), "user-namespaces")
    assert userns.status == "ok" and "as root" in userns.detail and not userns.fix


def test_root_in_docker_without_cap_sys_admin(tmp_path):
    host = fake_host(tmp_path, {".dockerenv": "", "proc/self/status": f"CapEff:\t{DOCKER_DEFAULT_CAPS}\nSeccomp:\t2\n"},
                     euid=0, bwrap_stderr="bwrap: Creating new namespace failed: Operation not permitted")
    report = diagnose(host)
    container, sandbox = finding(report, "container"), finding(report, "sandbox")
    assert container.status == "fail" and "CAP_SYS_ADMIN" in container.detail
    assert "non-root user" in container.fix and "--cap-add SYS_ADMIN" in container.fix
    assert sandbox.status == "fail" and "--security-opt seccomp=unconfined" in sandbox.fix
    assert report.exit_status == 1
    # the sandbox line's fixes were all printed under container: named once, not repeated
    text = report.text(width=1000)
    assert text.count("--cap-add SYS_ADMIN") == 1 and "fix: as under container above" in text


def test_without_a_seccomp_filter_its_fix_is_not_offered(tmp_path):
    host = fake_host(tmp_path, {".dockerenv": "", "proc/self/status": f"CapEff:\t{DOCKER_DEFAULT_CAPS}\nSeccomp:\t0\n"},
                     euid=0, bwrap_stderr="bwrap: Creating new namespace failed: Operation not permitted")
    report = diagnose(host)
    for check in ("container", "sandbox"):
        assert "non-root user" in finding(report, check).fix
        assert "Docker: docker run --security-opt" not in finding(report, check).fix


def test_non_root_in_docker_with_the_default_seccomp_profile(tmp_path):
    host = fake_host(tmp_path, {".dockerenv": "", "proc/self/status": "CapEff:\t0\nSeccomp:\t2\n"},
                     bwrap_stderr="bwrap: No permissions to create new namespace, likely because the kernel does not "
                                  "allow non-privileged user namespaces.")
    report = diagnose(host)
    assert finding(report, "container").status == "warn"
    assert "docker run --security-opt seccomp=unconfined" in finding(report, "sandbox").fix


def test_kubernetes_pod_refusing_user_namespaces(tmp_path):
    host = fake_host(tmp_path, {"proc/self/status": "CapEff:\t0\nSeccomp:\t2\n"},
                     environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1"},
                     bwrap_stderr="bwrap: No permissions to create new namespace")
    sandbox = finding(diagnose(host), "sandbox")
    assert "seccompProfile: {type: Unconfined}" in sandbox.fix and "docker run" not in sandbox.fix


def test_masked_proc_in_a_pod(tmp_path):
    host = fake_host(tmp_path, environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1"},
                     bwrap_stderr="bwrap: Can't mount proc on /newroot/proc: Operation not permitted")
    sandbox = finding(diagnose(host), "sandbox")
    assert sandbox.status == "fail" and "procMount: Unmasked" in sandbox.fix and "hostUsers: false" in sandbox.fix


def test_an_unknown_bwrap_error(tmp_path):
    sandbox = finding(diagnose(fake_host(tmp_path, bwrap_stderr="bwrap: a new way to fail")), "sandbox")
    assert sandbox.status == "fail" and "'bwrap: a new way to fail'" in sandbox.detail
    assert "bubblewrap/issues" in sandbox.fix


def test_a_worker_that_does_not_start(tmp_path):
    def broken():
        raise SandboxError("worker exited")

    report = diagnose(fake_host(tmp_path, bwrap_stderr=""), start_worker=broken)
    assert finding(report, "sandbox").status == "ok"
    assert finding(report, "worker").status == "fail" and "worker exited" in finding(report, "worker").detail
    assert report.exit_status == 1


def test_more_workers_than_the_cgroup_quota_allows(tmp_path):
    host = fake_host(tmp_path, {"sys/fs/cgroup/cpu.max": "150000 100000\n"}, bwrap_stderr="")
    assert finding(diagnose(host), "cores").status == "ok"  # the default --workers follows the quota
    cores = finding(diagnose(host, workers=8), "cores")
    assert cores.status == "warn" and "CPU quota" in cores.detail and "--workers 1" in cores.fix


def test_more_workers_than_slurm_gave(tmp_path):
    host = fake_host(tmp_path, environ={"SLURM_CPUS_PER_TASK": "2"}, bwrap_stderr="")
    assert "--workers 2" in finding(diagnose(host, workers=8), "cores").fix


def test_memory_below_workers_times_memory(tmp_path):
    host = fake_host(tmp_path, {"sys/fs/cgroup/memory.max": str(4 * 2**30)}, bwrap_stderr="")
    memory = finding(diagnose(host, workers=4, memory_mb=2048), "memory")
    assert memory.status == "warn" and "memory limit" in memory.detail
    assert "--workers 2" in memory.fix and "--memory 1024" in memory.fix


def test_slurm_memory_per_node(tmp_path):
    host = fake_host(tmp_path, environ={"SLURM_MEM_PER_NODE": "3000"}, bwrap_stderr="")
    assert "--workers 1" in finding(diagnose(host, workers=2), "memory").fix


def test_no_course_here(tmp_path):
    course = finding(diagnose(fake_host(tmp_path, bwrap_stderr=""), tmp_path), "course")
    assert course.status == "fail" and "nbgrader_config.py" in course.detail and "--course" in course.fix


def test_no_gradebook_yet(tmp_path):
    report = diagnose(fake_host(tmp_path, bwrap_stderr=""), fake_course(tmp_path, gradebook=None))
    assert finding(report, "course").status == "fail" and "nbgrader generate_assignment ps1" in finding(
        report, "course").fix
    assert report.exit_status == 1 and "course is not ready" in report.verdict()


def test_an_assignment_missing_from_the_gradebook(tmp_path):
    course = fake_course(tmp_path, gradebook=("other",))
    report = diagnose(fake_host(tmp_path, bwrap_stderr=""), course, assignment="ps1")
    assert finding(report, "course").status == "fail"
    assignment = finding(report, "assignment")
    assert assignment.status == "fail" and assignment.fix == "nbgrader generate_assignment ps1"
    ok = diagnose(fake_host(tmp_path / "b", bwrap_stderr=""), fake_course(tmp_path / "b"), assignment="ps1")
    assert ok.exit_status == 0 and finding(ok, "assignment").status == "ok"


def test_setup_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="workers"):
        Setup(fake_host(tmp_path), workers=0)
    with pytest.raises(TypeError, match="Host"):
        Setup("localhost")
    with pytest.raises(ValueError, match="status"):
        Finding("sandbox", "maybe", "")


def test_output_is_aligned_with_fixes_indented_then_the_verdict():
    report = Report((Finding("bubblewrap", "ok", "/usr/bin/bwrap"),
                     Finding("sandbox", "fail", "bwrap fails", "first fix\nor second")))
    assert report.text().splitlines() == [
        "OK    bubblewrap  /usr/bin/bwrap",
        "FAIL  sandbox     bwrap fails",
        "                  fix: first fix",
        "                  fix: or second",
        "",
        "dlcourse grade will NOT run sandboxed: sandbox: bwrap fails"]


def test_long_lines_wrap_under_their_column_with_flags_kept_whole():
    fix = "docker run --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined"
    report = Report((Finding("sandbox", "fail", "bwrap fails " + "because of a long reason " * 4, fix),))
    lines = report.text(width=70).splitlines()
    assert all(len(line) <= 70 for line in lines)
    detail_column = len("FAIL  sandbox  ")
    assert lines[1].startswith(" " * detail_column) and lines[1][detail_column] != " "
    fix_lines = [line for line in lines if "fix:" in line or line.startswith(" " * (detail_column + 5))]
    assert fix_lines[0].startswith(" " * detail_column + "fix: docker run")
    assert fix_lines[1][detail_column + 5] != " "  # continued under the fix's text
    assert " ".join(line.strip() for line in fix_lines).removeprefix("fix: ") == fix


def test_cli_json_and_usage_errors(tmp_path, monkeypatch, capsys):
    host = fake_host(tmp_path, bwrap_stderr="")
    monkeypatch.setattr(Host, "current", classmethod(lambda cls: host))
    monkeypatch.setattr(Setup, "start_worker", staticmethod(lambda: "bwrap"))
    status = cli.main(["doctor", "--course", str(fake_course(tmp_path)), "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert status == answer["exit_status"] == 0 and answer["sandboxed"] and answer["gradeable"]
    assert [found["check"] for found in answer["findings"]][:4] == ["bubblewrap", "user-namespaces", "container",
                                                                      "sandbox"]
    with pytest.raises(SystemExit) as usage:
        cli.main(["doctor", "--workers", "0"])
    assert usage.value.code == 2


def test_exit_1_without_bwrap_on_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli.main(["doctor", "--course", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  bubblewrap" in out and "will NOT run sandboxed" in out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_real_run_on_this_machine(tmp_path, capsys):
    from dlcourse.class_grading.demo import make_course

    course = make_course(tmp_path / "course", REPO, ["ps1_backprop"])
    started = time.monotonic()
    status = cli.main(["doctor", "--course", str(course), "--assignment", "ps1_backprop"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.rstrip().endswith("dlcourse grade will run sandboxed (bubblewrap)")
    assert time.monotonic() - started < 30


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv")
                         and shutil.which("bwrap")), reason="needs root, setpriv (util-linux) and bubblewrap")
def test_root_without_cap_sys_admin_really_fails_with_the_non_root_fix(tmp_path):
    # a real failure, not a fake tree: the root-mode sandbox's namespaces need CAP_SYS_ADMIN, which setpriv takes
    # away as a container's default capabilities do; bwrap itself then refuses
    dlcourse = str(Path(sys.executable).parent / "dlcourse")
    done = subprocess.run(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", dlcourse, "doctor",
                           "--json", "--course", str(tmp_path)], capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    findings = {finding["check"]: finding for finding in report["findings"]}
    assert done.returncode == 1 and report["sandboxed"] is False
    assert findings["sandbox"]["status"] == "fail"
    assert "Creating new namespace failed: Operation not permitted" in findings["sandbox"]["detail"]
    assert "non-root user" in findings["sandbox"]["fix"]
    assert findings["worker"]["status"] == "fail"
