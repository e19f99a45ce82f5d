"""Host probing on fake filesystem trees: capabilities, containers, cgroup and Slurm limits, bwrap's errors."""


import pytest

from dlcourse.sandbox.host import SYSCTL_FILE, Host, explain_bwrap_error
from dlcourse.sandbox.isolation import namespace_args

DOCKER_DEFAULT_CAPS = "00000000a80425fb"  # Docker's default set: no CAP_SYS_ADMIN (bit 21)


def tree(tmp_path, files):
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_capabilities_and_seccomp_are_read_from_proc_self_status(tmp_path):
    root = tree(tmp_path, {"proc/self/status": f"Name:\tx\nCapEff:\t{DOCKER_DEFAULT_CAPS}\nSeccomp:\t2\n"})
    host = Host(root, euid=0)
    assert host.has_sys_admin() is False and host.seccomp_mode() == 2
    assert Host(tree(tmp_path / "b", {"proc/self/status": "CapEff:\t000001ffffffffff\n"})).has_sys_admin() is True
    assert Host(tmp_path / "empty").has_sys_admin() is None


@pytest.mark.parametrize("files, environ, expected", [
    ({".dockerenv": ""}, {}, "docker"),
    ({"run/.containerenv": ""}, {}, "podman"),
    ({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "kubernetes"),
    ({}, {"container": "lxc"}, "lxc"),
    ({"proc/1/cgroup": "0::/kubepods/burstable/pod1/abc\n"}, {}, "kubernetes"),
    ({"proc/1/cgroup": "0::/init.scope\n"}, {}, None),
])
def test_containers_are_recognised(tmp_path, files, environ, expected):
    assert Host(tree(tmp_path, files), environ=environ).container() == expected


def test_cgroup_v1_quota_and_memory_limit_count(tmp_path):
    # a Docker container (--cpus 1.5 --memory 4g) on a cgroup v1 host, without a cgroup namespace: the host's path
    # in /proc/self/cgroup, the container's own cgroup mounted at each controller's root
    root = tree(tmp_path, {
        "proc/self/cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000\n",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": str(4 * 2**30),
        "sys/fs/cgroup/memory/memory.usage_in_bytes": str(2**30),
        "proc/meminfo": "MemTotal: 25165824 kB\nMemAvailable: 20971520 kB\n"})
    host = Host(root, affinity=8, cpu_count=8)
    assert host.cgroup_cores() == 1.5
    assert host.usable_cores() == (1, "the cgroup's CPU quota (1.5 cores)")
    assert host.usable_memory_mb() == (3 * 1024, "the cgroup's memory limit")


def test_cgroup_v1_without_limits_is_no_limit(tmp_path):
    # this machine's kind: v1 hierarchies with quota -1 and v1's "no limit", 2**63 rounded down to a page
    root = tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/process_api/1c29\n1:cpu:/\n0::/\n",
        "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        "sys/fs/cgroup/memory/process_api/1c29/memory.limit_in_bytes": "9223372036854771712\n",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"})
    host = Host(root, affinity=2, cpu_count=2)
    assert host.cgroup_cores() is None and host.cgroup_memory_mb() is None
    assert host.usable_cores() == (2, "the cores this process may use")


def test_cgroup_quota_of_the_own_cgroup_and_its_parents_counts(tmp_path):
    root = tree(tmp_path, {"proc/self/cgroup": "0::/job/step\n", "sys/fs/cgroup/job/cpu.max": "300000 100000\n",
                           "sys/fs/cgroup/job/step/cpu.max": "max 100000\n",
                           "sys/fs/cgroup/job/memory.max": str(6 * 2**30), "sys/fs/cgroup/job/memory.current":
                           str(2**30), "proc/meminfo": "MemAvailable:   33554432 kB\n"})
    host = Host(root, affinity=16, cpu_count=16)
    assert host.usable_cores() == (3, "the cgroup's CPU quota (3 cores)")
    assert host.usable_memory_mb() == (5 * 1024, "the cgroup's memory limit")


def test_slurm_allocation_limits_cores_and_memory(tmp_path):
    root = tree(tmp_path, {"proc/meminfo": "MemAvailable:   33554432 kB\n"})
    host = Host(root, environ={"SLURM_CPUS_PER_TASK": "2", "SLURM_MEM_PER_CPU": "1500"}, affinity=64, cpu_count=64)
    assert host.usable_cores()[0] == 2
    assert host.usable_memory_mb() == (3000, "Slurm's SLURM_MEM_PER_CPU x cores")


def test_probe_uses_the_sandboxs_namespaces(tmp_path):
    assert set(namespace_args(True)) <= set(Host(tmp_path, euid=0, bwrap="/usr/bin/bwrap").probe_command())
    assert "--unshare-all" in Host(tmp_path, euid=1000, bwrap="/usr/bin/bwrap").probe_command()
    with pytest.raises(ValueError, match="no bwrap"):
        Host(tmp_path).probe_command()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="euid"):
        Host(tmp_path, euid=-1)
    with pytest.raises(TypeError, match="stderr"):
        explain_bwrap_error(None, Host(tmp_path))


def test_a_refused_user_namespace_names_the_blocking_sysctl_and_the_file_that_keeps_it(tmp_path):
    host = Host(tree(tmp_path, {"proc/sys/kernel/unprivileged_userns_clone": "0\n"}), euid=1000)
    cause, fixes = explain_bwrap_error("bwrap: No permissions to create new namespace, likely because ...", host)
    assert "unprivileged user namespaces" in cause
    assert any("kernel.unprivileged_userns_clone=1" in fix and SYSCTL_FILE in fix for fix in fixes)


def test_an_unknown_message_points_to_the_probe(tmp_path):
    cause, fixes = explain_bwrap_error("bwrap: something new", Host(tmp_path))
    assert "does not know" in cause and "bubblewrap/issues" in fixes[0]
